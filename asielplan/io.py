"""File output that never leaves half a result behind, and content hashing.

Every writer here writes to a temporary file (or directory) next to the target and
renames it into place only when complete, so a crash or an error leaves either the
old result or the new one, never a mixture. An output folder holds exactly one run:
a new run replaces the folder as a whole, and only a folder that is empty or holds an
earlier result (a ``manifest.json``) is ever replaced. Files and folders get the
permissions the user's umask gives (colleagues on a shared drive can read them).
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

from asielplan.errors import OutputError

FLOAT_FORMAT = "%.10g"
MANIFEST = "manifest.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _open_up(path: Path) -> None:
    """Give a file or folder made by ``tempfile`` (0600 / 0700) the umask's permissions."""
    base = 0o777 if path.is_dir() else 0o666
    os.chmod(path, base & ~_umask())


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
        _open_up(Path(tmp))
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula (one
    starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: the OWASP rule
    for CSV injection) prefixed with a single quote, so Excel shows it as text. Numbers
    are left alone; only text columns are touched."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
            continue
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if risky.any():
            if out is frame:
                out = frame.copy()
            out[column] = values.mask(risky, "'" + values.astype(str))
    return out


def write_table(directory: Path, name: str, frame: pd.DataFrame, formats: tuple[str, ...]) -> None:
    """Write ``frame`` as ``name.csv`` and/or ``name.parquet`` in ``directory``. The CSV
    is made spreadsheet-safe (:func:`spreadsheet_safe`); Parquet keeps the text as is."""
    for fmt in formats:
        if fmt == "csv":
            atomic_write_bytes(directory / f"{name}.csv", csv_bytes(spreadsheet_safe(frame)))
        elif fmt == "parquet":
            atomic_write_bytes(directory / f"{name}.parquet", parquet_bytes(frame))
        else:
            raise ValueError(f"unknown table format {fmt!r} (use 'csv' or 'parquet')")


def check_output_dir(target: Path, protect: tuple[Path, ...] = ()) -> None:
    """Refuse, before any work, an output folder that cannot or must not be replaced:
    a file, a folder that holds something other than an earlier result, a folder that
    is or holds one of ``protect`` (e.g. the instance the run reads), or a place that
    cannot be written."""
    target = Path(target)
    resolved = target.resolve()
    for path in protect:
        inner = Path(path).resolve()
        if resolved == inner or inner.is_relative_to(resolved):
            raise OutputError(
                f"--out {target} would replace the input folder {path}; choose another folder"
            )
    if target.exists() and not target.is_dir():
        raise OutputError(f"--out {target} is a file; give a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise OutputError(
            f"--out {target} holds files that are not an asielplan result (no {MANIFEST}); "
            "give a new or empty folder, or an earlier result folder to replace"
        )
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK) or (target.is_dir() and not os.access(target, os.W_OK)):
        raise OutputError(f"--out {target}: no permission to write there")


@contextlib.contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``target`` as a whole on success.

    ``target`` must pass :func:`check_output_dir`. On failure (or an interrupt) nothing
    in ``target`` changes and the temporary folder is removed."""
    target = Path(target)
    check_output_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = target.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    old: Path | None = None
    try:
        yield staging
        for folder in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
            _open_up(folder)
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / target.name)
        try:
            os.replace(staging, target)
        except BaseException:
            if old is not None:  # put the previous result back
                os.replace(old / target.name, target)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
