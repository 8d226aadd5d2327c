"""Determinism: the same input and seed give the same bytes, on an idle machine and on
a loaded one (the heuristics are bounded by work, not by the clock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from asielplan.manifest import CLOCK

BUSY = "import time\nend = time.time() + 120\nwhile time.time() < end:\n    pass\n"


def run(command: str, out: Path, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asielplan.cli", command, *extra, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def tables(folder: Path) -> dict[str, bytes]:
    """Every output file but the clock records (timings, trace) and the manifest (which
    holds the out path)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (*CLOCK, "manifest.json")
    }


def test_place_and_reception_write_the_same_bytes_under_load(tmp_path: Path) -> None:
    """asielplan place and asielplan reception on the embedded default, twice idle and
    once while two CPU-bound processes keep both cores busy: byte-identical tables."""
    for command, extra in (("place", ()), ("reception", ("--inflow", "peak"))):
        run(command, tmp_path / f"{command}-1", *extra)
        run(command, tmp_path / f"{command}-2", *extra)
        hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
        try:
            run(command, tmp_path / f"{command}-loaded", *extra)
        finally:
            for hog in hogs:
                hog.kill()
        first = tables(tmp_path / f"{command}-1")
        assert len(first) > 10
        assert tables(tmp_path / f"{command}-2") == first
        assert tables(tmp_path / f"{command}-loaded") == first
