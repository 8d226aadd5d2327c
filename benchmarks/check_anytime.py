"""Checks that the placement search is anytime (a check, not a test: minutes).

    python benchmarks/check_anytime.py --data ../shared/data [--sizes 1000,5000,10000]
        [--limits 10,20,60]

For each size (households generated on the real 2024 municipalities), solves with each
limit, each in its own process, and compares every shorter run with the longest one: the
shorter run's final plan against the longest run's best plan at that moment (its
trace), and the gaps, which must not get worse as the limit grows. Prints one line per
run and a verdict per size; exits 1 when a shorter run ends worse than the longer run
had reached at that moment (beyond 0.01% of the objective) or a longer limit ends at a
worse gap.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_placement import national_instance

TOLERANCE = 1e-4  # relative: timing noise between processes


def one(data: Path, households: int, limit: float) -> None:
    from asielplan.api import place
    from asielplan.config import RunConfig, SolverConfig

    run = place(
        national_instance(data, households), RunConfig(solver=SolverConfig(time_limit=limit))
    )
    sol = run.solution
    trace = getattr(sol, "trace", None)
    print(
        json.dumps(
            {
                "status": sol.status.value,
                "objective": sol.objective,
                "gap": sol.gap,
                "seconds": run.timings.get("total_s"),
                "solve_seconds": run.timings.get("solve_s"),
                "trace": [] if trace is None else trace.to_dict("records"),
            }
        )
    )


def best_at(trace: list[dict[str, Any]], seconds: float) -> float | None:
    """The best (largest: placement maximises) incumbent the trace had at ``seconds``."""
    values = [
        row["objective"]
        for row in trace
        if row["seconds"] <= seconds
        and row["objective"] == row["objective"]  # not NaN
        and row["objective"] is not None
    ]
    return max(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--limits", default="10,20,60")
    parser.add_argument("--one", nargs=2, default=None)
    args = parser.parse_args()
    if args.one is not None:
        one(args.data, int(args.one[0]), float(args.one[1]))
        return
    limits = sorted(float(v) for v in args.limits.split(","))
    failed = False
    for size in (int(v) for v in args.sizes.split(",")):
        runs = {}
        for limit in limits:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.check_anytime",
                    "--data",
                    str(args.data),
                    "--one",
                    str(size),
                    str(limit),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
            if not lines:
                print(f"{size} households, {limit:g} s: failed: {done.stderr.strip()[-300:]}")
                failed = True
                continue
            runs[limit] = json.loads(lines[-1])
            r = runs[limit]
            gap = "-" if r["gap"] is None else f"{100 * r['gap']:.3f}%"
            print(
                f"{size:>6} households, limit {limit:>4g} s: {r['status']:<9} gap {gap:>8} "
                f"objective {r['objective']:,.2f} in {r['solve_seconds']:.1f} s of solve"
            )
        longest = runs.get(limits[-1])
        if longest is None:
            continue
        for limit in limits[:-1]:
            short = runs.get(limit)
            if short is None or short["objective"] is None:
                continue
            reached = best_at(longest["trace"], limit)  # the search's clock, like its limit
            worse_plan = reached is not None and short["objective"] < reached - TOLERANCE * abs(
                reached
            )
            worse_gap = (
                longest["gap"] is not None
                and short["gap"] is not None
                and longest["gap"] > short["gap"] + 1e-9
            )
            verdict = "ok"
            if worse_plan:
                verdict = f"WORSE: the {limits[-1]:g} s run had {reached:,.2f} at that moment"
            if worse_gap:
                verdict = "WORSE GAP with the longer limit"
            failed = failed or worse_plan or worse_gap
            print(f"        {limit:g} s against {limits[-1]:g} s: {verdict}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
