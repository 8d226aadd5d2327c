"""Atomic output: a failed run leaves the previous result untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from asielplan.io import atomic_output_dir, atomic_write_text


def test_failure_leaves_old_result_and_no_temp_files(tmp_path: Path) -> None:
    """An exception while writing keeps the old file and removes the staging folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}\n")
    (out / "result.csv").write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output_dir(out) as staging:
        atomic_write_text(staging / "result.csv", "new\n")
        raise RuntimeError("solver crashed")
    assert (out / "result.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_success_replaces_files(tmp_path: Path) -> None:
    """On success the new files are in place and nothing else is left behind."""
    out = tmp_path / "out"
    with atomic_output_dir(out) as staging:
        atomic_write_text(staging / "a.csv", "1\n")
        atomic_write_text(staging / "sub" / "b.csv", "2\n")
    assert (out / "a.csv").read_text() == "1\n" and (out / "sub" / "b.csv").read_text() == "2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
