"""File output that never leaves half a result behind, and content hashing.

Every writer here writes to a temporary file (or directory) next to the target and
renames it into place only when complete, so a crash or an error leaves either the
old result or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

FLOAT_FORMAT = "%.10g"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_text(obj: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV bytes, with a fixed float format so output is byte-stable."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow", compression="zstd")
    return buffer.getvalue()


def write_table(directory: Path, name: str, frame: pd.DataFrame, formats: tuple[str, ...]) -> None:
    """Write ``frame`` as ``name.csv`` and/or ``name.parquet`` in ``directory``."""
    for fmt in formats:
        if fmt == "csv":
            atomic_write_bytes(directory / f"{name}.csv", csv_bytes(frame))
        elif fmt == "parquet":
            atomic_write_bytes(directory / f"{name}.parquet", parquet_bytes(frame))
        else:
            raise ValueError(f"unknown table format {fmt!r} (use 'csv' or 'parquet')")


@contextlib.contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``target`` only on success.

    Files already in ``target`` that the run does not write are kept: on success the
    new files are moved over the old ones one by one (each move is atomic), after
    all of them were written completely. On failure nothing in ``target`` changes.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(staging.rglob("*")):
            if item.is_dir():
                continue
            destination = target / item.relative_to(staging)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
