"""Checks that every kind of run keeps its time limit (a check, not a test: minutes).

Runs, in this process, each with a time limit short enough to stop it: placement and
reception on the embedded default, the robust reception plan (three solves sharing one
limit), an infeasible placement (its diagnosis shares the limit), and, when the real
municipalities are at ``--data``, placement in band mode on 1,000 households,
placement and the infeasible placement on 10,000 households and reception over 220
sites nationally. Prints the wall time of the whole
run (reading, checks, model, solve, tables) against the limit, and the overrun.

    python benchmarks/check_time_limits.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from asielplan.api import Run, place, plan_reception
from asielplan.config import RunConfig, with_overrides

ALLOWED_OVERRUN_S = 5.0
IMPOSSIBLE_BANDS = {"placement.region_bands": [{"level": "province", "lower": 3.0, "upper": 4.0}]}


def measured(name: str, limit: float, job: Callable[[RunConfig], Run], **overrides: object) -> bool:
    config = with_overrides(RunConfig(), {"solver.time_limit": limit, **overrides}, "check")
    t0 = time.perf_counter()
    run = job(config)
    seconds = time.perf_counter() - t0
    over = seconds - limit
    ok = over <= ALLOWED_OVERRUN_S
    print(
        f"{name:<34} limit {limit:5.1f} s  took {seconds:6.1f} s  overrun {over:+5.1f} s  "
        f"{run.solution.status.value:<11} {'ok' if ok else 'TOO LONG'}",
        flush=True,
    )
    laps = ", ".join(f"{k[:-2]} {v:.1f}" for k, v in run.timings.items() if k != "total_s")
    print(f"    seconds: {laps}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    found = default_data if default_data.is_dir() else None
    parser.add_argument("--data", type=Path, default=found)
    args = parser.parse_args()
    results = [
        measured("place, default", 2.0, lambda c: place(None, c)),
        measured("place, default, infeasible", 2.0, lambda c: place(None, c), **IMPOSSIBLE_BANDS),
        measured("reception, default, peak", 2.0, lambda c: plan_reception(None, c)),
        measured(
            "reception, default, robust",
            4.0,
            lambda c: plan_reception(None, c),
            **{"reception.robust": True},
        ),
        measured(
            "reception, default, robust, 30 s",
            30.0,
            lambda c: plan_reception(None, c),
            **{"reception.robust": True},
        ),
    ]
    if args.data is None:
        print("no --data: the national checks are skipped")
    else:
        from bench_placement import national_instance
        from bench_reception import national_instance as national_reception

        thousand = national_instance(args.data, 1_000)
        households = national_instance(args.data, 10_000)
        sites = national_reception(args.data, 220, 26, 50_000, 7)
        results += [
            measured(
                "place, 1,000 households, band mode",
                10.0,
                lambda c: place(thousand, c),
                **{"placement.target_mode": "band"},
            ),
            measured("place, 10,000 households", 20.0, lambda c: place(households, c)),
            measured(
                "place, 10,000 households, infeasible",
                20.0,
                lambda c: place(households, c),
                **IMPOSSIBLE_BANDS,
            ),
            measured(
                "reception, national, peak",
                20.0,
                lambda c: plan_reception(sites, c),
                **{"reception.inflow": "peak"},
            ),
        ]
    print(f"{sum(results)} of {len(results)} runs within {ALLOWED_OVERRUN_S:.0f} s of the limit")


if __name__ == "__main__":
    main()
