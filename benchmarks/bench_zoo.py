"""The placement variants users run, as a benchmark (prints figures; not a test).

    python benchmarks/bench_zoo.py --data ../shared/data [--sizes 1000,5000]
        [--variants default,band,...] [--seeds 7] [--set KEY=VALUE ...] [--out zoo.csv]

Households are generated on the real 2024 municipalities. Each variant runs at the time
limit a user gives at that size (10 s at 1,000 households, 30 s at 5,000 and 10,000,
120 s at 25,000), in its own process (so its peak memory is its own), and prints, per
run, the status, the gap, the seconds and the peak memory; at the end the share of runs
proven within their bar (0.1%, 0.5% for front points) per variant and size. A front's
runs of a bounded axis's own optimum only set the grid's range (they get a quarter of
the limit and no point of the front stands on them): printed, not counted.

Variants (``VARIANTS``): the default; every shipped quota scheme's targets (as
``schemes compare`` runs them); band mode (each municipality within 95-105% of its
target); COA-region and province bands of +-5%; soft targets with cheap penalties; the
at_least_one aggregation; a labour-distance and a labour-deviation front of three points;
fairness floors by gender (proportional and max-min); user-given scores (a scores table,
up to 10,000 households); a late weekly batch (remaining targets of a few persons); the
generic score-only shape with capacities in persons, cases and school places.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LIMITS = {1_000: 10.0, 5_000: 30.0, 10_000: 30.0, 25_000: 120.0}
BAR, FRONT_BAR = 0.001, 0.005
SCORES_UP_TO = 10_000

sys.path.insert(0, str(Path(__file__).parent))
from bench_placement import housed_so_far, national_instance  # noqa: E402


def _row(label: str, run: Any, bar: float | None) -> dict[str, Any]:
    """One run's row; ``bar`` None for a run the share proven does not count."""
    sol = run.solution
    return {
        "run": label,
        "status": sol.status.value,
        "gap": sol.gap,
        "bar": bar,
        "proven": None
        if bar is None
        else sol.gap is not None and sol.status.has_solution and sol.gap <= bar + 1e-12,
    }


def _place(overrides: dict[str, Any]) -> Callable[[Any, Any], list[dict[str, Any]]]:
    def run(inst: Any, cfg: Any) -> list[dict[str, Any]]:
        from asielplan.api import place
        from asielplan.config import with_overrides

        return [_row("plan", place(inst, with_overrides(cfg, overrides, "zoo")), BAR)]

    return run


def _front(axes: str) -> Callable[[Any, Any], list[dict[str, Any]]]:
    def run(inst: Any, cfg: Any) -> list[dict[str, Any]]:
        from asielplan.api import front

        made = front(inst, cfg, axes, points=3)
        roles = made.points.set_index("point")["role"]
        first = f"ideal {axes.split(',')[0]}"
        # a bounded axis's own optimum only sets the grid's range (a quarter of the
        # limit, no point of the front): printed, not counted
        return [
            _row(
                f"point {k} ({roles[k]})",
                r,
                FRONT_BAR if roles[k] in ("grid", first) else None,
            )
            for k, r in sorted(made.runs.items())
        ]

    return run


def _fairness(inst: Any, cfg: Any) -> list[dict[str, Any]]:
    from asielplan.api import fairness

    study = fairness(inst, cfg, "gender", "proportional,maxmin")
    return [_row(name, r, BAR) for name, r in sorted(study.runs.items())]


def _scores(inst: Any, cfg: Any) -> list[dict[str, Any]]:
    """A scores table of the user's own predictions: the built-in model's household
    scores with noise, for every household and municipality."""
    import dataclasses

    from asielplan.api import place
    from asielplan.model.placement import prepare_placement

    data = prepare_placement(inst, cfg)
    rng = np.random.default_rng(11)
    score = np.asarray(data.score, dtype=float)
    noisy = np.clip(score * rng.lognormal(0.0, 0.2, size=score.shape), 0, None)
    households, municipalities = data.household_ids, data.municipality_codes
    table = pd.DataFrame(
        {
            "household_id": np.repeat(households, len(municipalities)),
            "municipality": np.tile(municipalities, len(households)),
            "score": noisy.ravel(),
        }
    )
    given = dataclasses.replace(inst, scores=table, loaded=inst.loaded | {"scores"})
    return [_row("plan", place(given, cfg), BAR)]


def _late_weekly(inst: Any, cfg: Any) -> list[dict[str, Any]]:
    """A late weekly batch: the half-year's taakstelling is ten times the batch's
    persons and each municipality has housed a seeded 85-95% of its own, so the
    remaining targets the batch is placed against are a few persons each."""
    from asielplan.api import place
    from asielplan.config import with_overrides

    national = 10 * int(inst.households["persons"].sum())
    inst = housed_so_far(inst, national, (0.85, 0.95), 13)
    late = with_overrides(cfg, {"placement.targets": "remaining"}, "zoo")
    return [_row("plan", place(inst, late), BAR)]


def _score_only(inst: Any, cfg: Any) -> list[dict[str, Any]]:
    """The generic score-only shape (no taakstelling): as many cases as the size's
    households on 60 locations, a seeded score for every pair, and capacities in three
    dimensions (``generate_generic_instance``'s default room: persons 10% above the
    persons in all, cases and school places 20% above)."""
    import tempfile

    from asielplan.api import place
    from asielplan.data.generator import generate_generic_instance
    from asielplan.data.instance import write_instance

    generic = generate_generic_instance(len(inst.households), 60, 17, name="score-only")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_instance(generic, Path(tmp) / "score-only")
        return [_row("plan", place(folder, cfg), BAR)]


def variants() -> dict[str, Callable[[Any, Any], list[dict[str, Any]]]]:
    from asielplan.model.schemes import schemes_of

    out: dict[str, Callable[[Any, Any], list[dict[str, Any]]]] = {"default": _place({})}
    for name in schemes_of({}):
        out[f"scheme {name}"] = _place({"placement.scheme": name})
    band = {"lower": 0.95, "upper": 1.05}
    out["band"] = _place({"placement.target_mode": "band"})
    out["coa bands"] = _place({"placement.region_bands": [{"level": "coa_region", **band}]})
    out["province bands"] = _place({"placement.region_bands": [{"level": "province", **band}]})
    out["cheap penalties"] = _place(
        {"placement.penalty_shortfall": 1.0, "placement.penalty_excess": 0.5}
    )
    out["at_least_one"] = _place({"placement.aggregation": "at_least_one"})
    out["front labour-distance"] = _front("labour,distance")
    out["front labour-deviation"] = _front("labour,deviation")
    out["fairness gender"] = _fairness
    out["scores"] = _scores
    out["late weekly"] = _late_weekly
    out["score-only"] = _score_only
    return out


def one(data: Path, name: str, households: int, seed: int, settings: list[str]) -> None:
    """Run one variant at one size in this process and print its rows as JSON;
    ``settings`` are ``key=value`` overrides of the configuration (TOML values)."""
    import tomllib

    from asielplan.config import RunConfig, SolverConfig, with_overrides

    inst = national_instance(data, households, seed)
    cfg = RunConfig(solver=SolverConfig(time_limit=LIMITS[households]))
    if settings:
        given = {k: tomllib.loads(f"v = {v}")["v"] for k, v in (s.split("=", 1) for s in settings)}
        cfg = with_overrides(cfg, given, "--set")
    t0 = time.perf_counter()
    rows = variants()[name](inst, cfg)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row.update(variant=name, households=households, seed=seed, seconds=seconds, peak_mib=peak)
        print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--variants", default="")
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--one", nargs=3, metavar=("VARIANT", "SIZE", "SEED"), default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a configuration override for every run, e.g. solver.search.pattern_rounds=0",
    )
    args = parser.parse_args()
    if args.one is not None:
        one(args.data, args.one[0], int(args.one[1]), int(args.one[2]), args.set)
        return
    names = [v for v in args.variants.split(",") if v] or list(variants())
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            for name in names:
                if name == "scores" and size > SCORES_UP_TO:
                    continue
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--data",
                        str(args.data),
                        "--one",
                        name,
                        str(size),
                        str(seed),
                        *(f"--set={setting}" for setting in args.set),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
                if done.returncode != 0 or not lines:
                    tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                    lines = [
                        {
                            "variant": name,
                            "households": size,
                            "seed": seed,
                            "run": "-",
                            "status": "error",
                            "gap": None,
                            "bar": BAR,
                            "proven": False,
                            "seconds": None,
                            "peak_mib": None,
                            "error": tail[0],
                        }
                    ]
                for row in lines:
                    gap = "-" if row["gap"] is None else f"{100 * row['gap']:.3f}%"
                    print(
                        f"{size:>6} {name:<24} {row['run']:<30} {row['status']:<9} "
                        f"gap {gap:>8}  {row['seconds'] or 0:6.1f} s  "
                        f"{row['peak_mib'] or 0:6.0f} MiB{'  ' + row.get('error', '')}",
                        flush=True,
                    )
                rows.extend(lines)
    table = pd.DataFrame(rows)
    if args.out is not None:
        table.to_csv(args.out, index=False)
    print("\nshare proven within the bar (0.1%; front points 0.5%; range-only runs not counted):")
    table = table[table["proven"].notna()].astype({"proven": bool})
    summary = table.groupby(["households", "variant"], sort=False)["proven"].agg(["sum", "count"])
    for key, row in summary.iterrows():
        size, name = key  # type: ignore[misc]
        print(f"{size:>6} {name:<24} {int(row['sum'])}/{int(row['count'])}")
    total = table["proven"].mean()
    print(f"all: {table['proven'].sum()}/{len(table)} = {100 * total:.0f}%")


if __name__ == "__main__":
    main()
