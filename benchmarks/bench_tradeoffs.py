"""Benchmark of the trade-off tools (a script, not a test).

1. A 9-point labour-distance front on the embedded default, and with ``--data`` on
   10,000 generated households over the real municipalities (seed 7): total seconds,
   each run's status and gap, and whether every front point is within the gap asked
   (``--gap``, default 0.5%).
2. Explanations: the seconds ``explanation_table`` adds to a 10,000-household run.
3. Stability on the embedded default: a plan, then the same with two households
   locked elsewhere, re-solved without and with the previous plan: how many
   households change municipality.

    python benchmarks/bench_tradeoffs.py [--data ../shared/data] [--gap 0.005]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from asielplan.api import front, place, with_previous_plan, write_run
from asielplan.config import RunConfig
from asielplan.data.instance import default_instance_path

sys.path.insert(0, str(Path(__file__).parent))
from bench_placement import national_instance


def show_front(label: str, instance: object, gap: float, time_limit: float) -> None:
    cfg = RunConfig.model_validate({"solver": {"mip_gap": gap, "time_limit": time_limit}})
    t0 = time.perf_counter()
    result = front(instance, cfg, "labour,distance", 9)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    points = result.points
    on = points[points["on_front"]]
    within = bool((on["gap"] <= gap + 1e-12).all())
    print(f"\n{label}: {seconds:.1f} s for {len(points)} runs (+ the default run)")
    print(points[["point", "role", "labour", "distance", "status", "gap", "on_front"]].to_string())
    print(f"front points: {len(on)}; every front point within {gap:.2%}: {within}")


def stability() -> None:
    cfg = RunConfig.model_validate({"solver": {"time_limit": 30}})
    first = place(None, cfg)
    households = first.tables["households"]
    locked = households.head(2)[["household_id", "municipality"]].copy()
    codes = sorted(set(households["municipality"]))
    locked["municipality"] = [
        next(c for c in codes if c != m) for m in locked["municipality"].tolist()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_run(first, root / "first")
        shutil.copytree(default_instance_path(), root / "inst")
        locked.to_csv(root / "inst" / "locks.csv", index=False)
        toml = (root / "inst" / "instance.toml").read_text()
        (root / "inst" / "instance.toml").write_text(
            toml + '\n[tables.locks]\npath = "locks.csv"\n'
        )
        plain = place(root / "inst", cfg)
        again = place(with_previous_plan(root / "inst", root / "first"), cfg)
    before = first.tables["households"].set_index("household_id")["municipality"]
    for label, run in (("without the previous plan", plain), ("with it", again)):
        after = run.tables["households"].set_index("household_id")["municipality"]
        changed = int((after.reindex(before.index) != before).sum())
        print(f"two households locked, re-solved {label}: {changed} of {len(before)} changed")
    changes = again.tables["changes"]
    print(changes["reason"].value_counts().to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="folder with the CBS files (SOURCES.md)")
    parser.add_argument("--gap", type=float, default=0.005)
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    show_front("embedded default", None, args.gap, 20.0)
    stability()
    if args.data is not None:
        inst = national_instance(args.data, 10_000)
        show_front("10,000 national households", inst, args.gap, 40.0)
        run = place(inst, RunConfig.model_validate({"solver": {"time_limit": 60}}))
        print(f"\nexplanations for 10,000 households: {run.timings.get('report_s', 0):.2f} s")


if __name__ == "__main__":
    main()
