"""Runs ``asielplan place`` and ``asielplan reception`` on the embedded default ten times
each, five of them while two CPU-bound processes keep both cores busy, and prints whether
every run wrote the same tables (timings and the manifest's paths aside) and how long each
took. A check, not a test: it takes a few minutes.

    python benchmarks/check_determinism.py [--runs 10] [--out out/determinism]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path

BUSY = "import time\nend = time.time() + 600\nwhile time.time() < end:\n    pass\n"


def digest(folder: Path) -> str:
    """One hash over every output file but the timings and the manifest."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in ("timings.json", "manifest.json"):
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("out/determinism"))
    args = parser.parse_args()
    for command, extra in (("place", []), ("reception", ["--inflow", "peak"])):
        seen = []
        for run in range(args.runs):
            loaded = run >= args.runs // 2
            hogs = (
                [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)] if loaded else []
            )
            out = args.out / f"{command}-{run:02d}"
            t0 = time.perf_counter()
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "asielplan.cli", command, *extra, "--out", str(out)],
                    capture_output=True,
                    text=True,
                )
            finally:
                for hog in hogs:
                    hog.kill()
            if done.returncode != 0:
                sys.exit(f"{command} run {run + 1} failed ({done.returncode}):\n{done.stderr}")
            seconds = time.perf_counter() - t0
            seen.append(digest(out))
            state = "loaded" if loaded else "idle  "
            print(f"{command} run {run + 1:2d} {state} {seconds:5.1f} s {seen[-1]}")
        print(f"{command}: {len(set(seen))} distinct result(s) in {len(seen)} runs")


if __name__ == "__main__":
    main()
