"""Benchmark of the weekly look-ahead (a script, not a test).

1. A weekly batch of 300 households on the real 2024 municipalities (national
   taakstelling 21,200, each municipality 30-100% housed), prices from 5 futures drawn
   from the batch, through the command line as a whole process: seconds, status, gap.
2. The NL-shaped simulation: 342 municipalities, 26 weeks, a half-year of about 21,200
   persons, greedy and prices against hindsight, for the seeds asked: share of
   hindsight per policy (mean and 95% interval) and the wall time.

    python benchmarks/bench_weekly.py --data ../shared/data --seeds 20
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_placement import national_instance, weekly_instance

from asielplan.config import RunConfig, SolverConfig


def weekly_cli(data: Path, history: int = 0) -> dict[str, object]:
    """The weekly command as a process; ``history`` households of recent arrivals (an
    instance folder given as --arrivals) to draw the futures from, else the batch."""
    from asielplan.data.instance import write_instance

    inst = weekly_instance(data, 300)
    progress = inst.progress
    assert progress is not None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "week"
        write_instance(dataclasses.replace(inst, progress=None), folder)  # given apart
        progress.to_csv(Path(tmp) / "progress.csv", index=False)
        command = [sys.executable, "-m", "asielplan.cli", "weekly", str(folder)]
        command += ["--progress", str(Path(tmp) / "progress.csv"), "--out", str(Path(tmp) / "out")]
        if history:
            write_instance(national_instance(data, history, seed=11), Path(tmp) / "history")
            command += ["--arrivals", str(Path(tmp) / "history")]
        t0 = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True)
        total = time.perf_counter() - t0
        if proc.returncode != 0:
            return {"exit": proc.returncode, "stderr": proc.stderr[-2000:], "stdout": proc.stdout}
        import pandas as pd

        kpis = pd.read_csv(Path(tmp) / "out" / "kpis.csv").iloc[0]
        timings = json.loads((Path(tmp) / "out" / "timings.json").read_text())
        return {
            "total_s": round(total, 2),
            "prices_s": round(timings.get("prices_s", float("nan")), 2),
            "solve_s": round(timings.get("solve_s", float("nan")), 2),
            "status": kpis["status"],
            "gap": kpis["gap"],
        }


def simulation(data: Path, seeds: int, weeks: int, policies: tuple[str, ...], workers: int) -> None:
    from asielplan.api import simulate
    from asielplan.data.instance import TaakstellingSpec

    inst = national_instance(data, 300)
    inst.meta = inst.meta.model_copy(update={"taakstelling": TaakstellingSpec(national=21_200)})
    cfg = RunConfig(solver=SolverConfig(threads=1))
    t0 = time.perf_counter()
    say = lambda message: print(f"  {message}", flush=True)  # noqa: E731
    study = simulate(inst, cfg, weeks, seeds, policies, progress=say, workers=workers)
    wall = time.perf_counter() - t0
    summary = study.result.summary
    print(
        f"simulation: {len(inst.municipalities)} municipalities, {weeks} weeks, {seeds} seeds, "
        f"{workers} worker(s), solver.mip_gap {cfg.solver.mip_gap}"
    )
    for row in summary.to_dict("records"):
        print(
            f"  {row['policy']:<10} share of hindsight {100 * row['share_of_hindsight']:.2f}% "
            f"(95% CI {100 * row['share_of_hindsight_low']:.2f}-"
            f"{100 * row['share_of_hindsight_high']:.2f}), balance {100 * row['balance_mean']:.2f}%"
        )
    print(f"  wall time {wall:.1f} s ({wall / seeds:.1f} s per seed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="../shared/data", help="folder with the CBS files")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--policies", default="greedy,prices,hindsight")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    if not args.skip_cli:
        for history in (0, 1_200):
            pool = f"{history:,} recent arrivals" if history else "the batch"
            figures = weekly_cli(data, history)
            print(f"weekly batch (300 households, 5 futures from {pool}, CLI process):", figures)
    simulation(data, args.seeds, args.weeks, tuple(args.policies.split(",")), args.workers)


if __name__ == "__main__":
    main()
