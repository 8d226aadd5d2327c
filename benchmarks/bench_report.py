"""Benchmark of ``asielplan report`` (a script, not a test).

Writes a placement run of 10,000 generated households over the 342 real municipalities
(seed 7, CBS shapes; with ``--data``) and of the embedded default, a reception plan of
the embedded default, then times ``asielplan report`` on each as a CLI process (start
of Python included) and prints the seconds and the size of the HTML file. The bar for
the national placement: at most 15 s and 5 MB.

    python benchmarks/bench_report.py [--data ../shared/data] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asielplan import api
from asielplan.config import RunConfig, SolverConfig


def time_report(label: str, run_dir: Path) -> None:
    out = run_dir.parent / f"{run_dir.name}.html"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "asielplan.cli", "report", str(run_dir), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - t0
    print(f"{label:<40} {seconds:6.1f} s  {out.stat().st_size / 1e6:5.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    config = RunConfig(solver=SolverConfig(time_limit=args.time_limit))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs: list[tuple[str, Path]] = []
        api.write_run(api.place(None, config), root / "default-place")
        runs.append(("placement, embedded default", root / "default-place"))
        api.write_run(api.plan_reception(None, config), root / "default-reception")
        runs.append(("reception, embedded default", root / "default-reception"))
        if args.data is not None:
            d = args.data
            generated = api.generate(
                seed=7,
                households=10_000,
                cbs_csv=d / "nl_gemeenten_2024.csv",
                cbs_geometry=d / "nl_gemeenten_2024.geojson",
                indicators=d / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
                name="national-10000",
            )
            api.write_generated(generated, root / "national", seed=7)
            run = api.place(root / "national", config)
            api.write_run(run, root / "national-place")
            print(f"national placement: {run.solution.status.value}, {run.solution.stop}")
            runs.append(("placement, 10,000 households national", root / "national-place"))
        for label, folder in runs:
            time_report(label, folder)


if __name__ == "__main__":
    main()
