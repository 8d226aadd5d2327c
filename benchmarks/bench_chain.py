"""Benchmark of the chain plan (prints figures; not a test).

    python benchmarks/bench_chain.py [--data ../shared/data] [--sites 300] [--weeks 52]
        [--repeat 3] [--time-limit 120] [--sweep]

1. The robust plan at national scale: a synthetic site list of ``--sites`` sites on the
   real 2024 municipalities (``--data``; else 342 fictional ones), ``--weeks`` weekly
   periods, the low, middle and high inflows; per repeat (solver seeds 0, 1, ...) the
   seconds, status, gap and peak memory, then the median.
2. ``--sweep``: on the embedded default with the high inflow, crisis and emergency
   place-nights for a taakstelling of 1,000 to 40,000 for 2027-II, and the smallest
   constant taakstelling that keeps crisis at zero as the model finds it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

from asielplan.config import ChainConfig, SolverConfig
from asielplan.data.chain import chain_input
from asielplan.data.chain_generator import add_chain
from asielplan.data.generator import generate_instance, synthetic_municipalities
from asielplan.data.instance import default_instance_path, read_instance
from asielplan.model.chain import prepare_chain
from asielplan.solvers.chain import solve_chain


def national(data: Path | None, sites: int, weeks: int, seed: int = 2027) -> object:
    if data is not None:
        from asielplan.data.cbs import load_cbs_municipalities

        muni = load_cbs_municipalities(
            data / "nl_gemeenten_2024.csv", data / "nl_gemeenten_2024.geojson"
        ).table
    else:
        muni = synthetic_municipalities(342, seed)
    inst = generate_instance(muni, 10, seed, name="national chain (synthetic sites)")
    return chain_input(add_chain(inst, seed, n_sites=sites, weeks=weeks))


def place_nights(data: object, solution: object) -> tuple[float, float]:
    m = solution.model  # type: ignore[attr-defined]
    days = data.days  # type: ignore[attr-defined]
    tier = data.sites["tier"].to_numpy()  # type: ignore[attr-defined]
    crisis = sum(days[t] * (m.crisis[w, t].value or 0.0) for w, t in m.crisis)
    emergency = sum(
        days[t] * (m.y[w, s, t].value or 0.0) for w, s, t in m.y_index if tier[s] == "emergency"
    )
    return crisis, emergency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    if args.data is None and os.environ.get("CI") == "true":
        args.data = Path(__file__).resolve().parents[2] / "shared" / "data"

    chain = national(args.data, args.sites, args.weeks)
    print(f"robust chain plan: {args.sites} sites, {args.weeks} weeks, low/middle/high")
    seconds = []
    for seed in range(args.repeat):
        data = prepare_chain(chain, ChainConfig(robust=True))  # type: ignore[arg-type]
        t0 = time.perf_counter()
        solution = solve_chain(data, SolverConfig(time_limit=args.time_limit, seed=seed))
        total = time.perf_counter() - t0
        seconds.append(total)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stages = ", ".join(
            f"{s['stage']} {s['status']} gap {100 * (s['gap'] or 0):.3f}% {s['seconds']:.1f} s"
            for s in solution.stages
        )
        print(
            f"  seed {seed}: {total:.1f} s, {solution.status.value}, gap "
            f"{100 * (solution.gap or 0):.3f}%, {solution.stats['variables']:,} variables, "
            f"{solution.stats['binaries']:,} binaries, peak {peak:,.0f} MiB; {stages}"
        )
    print(f"  median {statistics.median(seconds):.1f} s")

    if args.sweep:
        default = chain_input(read_instance(default_instance_path()))
        print("embedded default, inflow high: taakstelling of 2027-II against crisis")
        for value in (1_000, 3_000, 6_000, 12_000, 20_000, 30_000, 40_000):
            data = prepare_chain(default, ChainConfig(inflow="high", national=value))
            crisis, emergency = place_nights(data, solve_chain(data, SolverConfig()))
            print(
                f"  {value:>6,}: crisis {crisis:>12,.0f} place-nights, emergency "
                f"{emergency:>12,.0f}"
            )
        data = prepare_chain(default, ChainConfig(inflow="high", smallest_national="constant"))
        solution = solve_chain(data, SolverConfig())
        found = {h: solution.model.national[h].value for h in data.levers}  # type: ignore[union-attr]
        print(f"  smallest taakstelling without crisis (the model): {found}")


if __name__ == "__main__":
    main()
