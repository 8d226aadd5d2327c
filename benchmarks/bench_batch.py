"""Benchmark of batches on Dask (a script, not a test).

40 weekly-size placements (300 generated households over 40 fictional municipalities,
solver seeds 1..40, HiGHS at one thread) run three ways: in this process one after the
other, as a batch on a LocalCluster of 1 worker, and of 2 workers. Prints the seconds,
the speed-up of 2 workers over 1 and the overhead per run of the batch against the
in-process calls (cluster start included).

    python benchmarks/bench_batch.py [--runs 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from asielplan import api
from asielplan.batch import read_batch, run_batch
from asielplan.config import RunConfig

BATCH = """
kinds = ["place"]
instances = ["weekly"]
seeds = [{seeds}]

[config.solver]
time_limit = 30
threads = 1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        api.write_generated(api.generate(seed=11, households=300), root / "weekly", seed=11)
        seeds = ", ".join(str(s) for s in range(1, args.runs + 1))
        (root / "batch.toml").write_text(BATCH.format(seeds=seeds))
        batch = read_batch(root / "batch.toml")
        t0 = time.perf_counter()
        for run in batch.runs:
            cfg = RunConfig.model_validate(run.spec.config.model_dump(mode="json"))
            api.write_run(api.place(root / "weekly", cfg), root / "inproc" / run.id)
        inproc = time.perf_counter() - t0
        seconds = {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            result = run_batch(batch, root / f"out-{workers}", workers=workers)
            seconds[workers] = time.perf_counter() - t0
            assert result.failed == 0, result.table["status"].value_counts()
        n = len(batch.runs)
        print(f"{n} placements of 300 households")
        print(f"in process, one after the other: {inproc:6.1f} s ({inproc / n:.2f} s per run)")
        for workers, s in seconds.items():
            print(f"batch, {workers} worker(s):           {s:6.1f} s")
        print(f"speed-up of 2 workers over 1:    {seconds[1] / seconds[2]:6.2f}x")
        print(f"overhead per run (1 worker):     {(seconds[1] - inproc) / n:6.2f} s")


if __name__ == "__main__":
    main()
