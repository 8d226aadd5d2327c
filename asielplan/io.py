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
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.errors import ConfigError, OutputError

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


def comma_list(text: str, option: str) -> list[str]:
    """The names of a comma list (``"gender, size"``: an option's or a setting's),
    stripped. An empty list or item (``"a,,b"``, a trailing comma) or a name given twice
    is a :class:`ConfigError` naming ``option``, the option or setting it came from."""
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise ConfigError(f"{option} {text!r}: an empty item; give names separated by commas")
    twice = repeated(names)
    if twice:
        raise ConfigError(f"{option} {text!r}: {', '.join(twice)} given more than once")
    return names


def repeated(values: Sequence[Any]) -> list[str]:
    """The values given more than once (as text, sorted): a list option or an axis
    names each thing once, so a repeat is refused, never merged silently."""
    return sorted({str(v) for v in values if values.count(v) > 1})


def check_listed(name: str, values: Sequence[Any]) -> None:
    """A list of a configuration or batch file (an axis of runs, the schemes compared):
    not empty, no empty name, no value twice (a run is never silently dropped or merged);
    a ValueError says which."""
    if not values:
        raise ValueError(f"{name} is empty; give at least one value or leave it out")
    if any(isinstance(v, str) and not v.strip() for v in values):
        raise ValueError(f"{name} has an empty name")
    twice = repeated(values)
    if twice:
        raise ValueError(f"{name}: {', '.join(twice)} given more than once")


SAFE_NAME_LENGTH = 80  # characters of a file or folder name made from a value
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10))} | {
    f"LPT{i}" for i in range(10)
}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_name(value: object, max_length: int = SAFE_NAME_LENGTH) -> str:
    """A file or folder name made from a value of the data or the configuration (a
    municipality's name, a province code, a scheme name): accents dropped, then every
    run of characters outside ``A-Z a-z 0-9 _ . -`` becomes one ``-``; no separator, no
    leading dot or hyphen, never empty, never a Windows device name. A name longer than
    ``max_length`` is cut and ends in ``~`` and eight hex digits of its value's SHA-256,
    so it stays stable and distinct. Values never become paths any other way."""
    import unicodedata

    text = str(value)
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("-", plain)
    name = re.sub(r"[-.]*-[-.]*", "-", name)  # "../" and "-.-" become one hyphen
    name = re.sub(r"\.{2,}", ".", name).strip(".-")
    if not name:
        name = f"x~{_digest(text)}"
    if name.split(".")[0].upper() in _WINDOWS_DEVICES:
        name = f"_{name}"
    if len(name) > max_length:
        name = f"{name[: max_length - 9].rstrip('.-')}~{_digest(text)}"
    return name


def safe_names(values: list[str], max_length: int = SAFE_NAME_LENGTH) -> dict[str, str]:
    """:func:`safe_name` of each value, made unique: values whose names coincide
    (also when only their case differs, as on Windows and macOS) all get ``~`` and eight
    hex digits of their own SHA-256, whatever their order."""
    names = {value: safe_name(value, max_length) for value in dict.fromkeys(values)}
    folded: dict[str, list[str]] = {}
    for value, name in names.items():
        folded.setdefault(name.casefold(), []).append(value)
    for clash in folded.values():
        if len(clash) > 1:
            for value in clash:
                base = names[value][: max_length - 9]
                names[value] = f"{base}~{_digest(value)}"
    return names


def json_text(obj: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def csv_bytes(frame: pd.DataFrame, dialect: str = "standard") -> bytes:
    """A table as CSV bytes, with a fixed float format so output is byte-stable.
    ``dialect = "nl"``: what a Dutch Excel opens as columns: ``;`` between cells,
    decimal commas and a UTF-8 byte-order mark."""
    buffer = io.StringIO()
    if dialect == "nl":
        frame.to_csv(
            buffer,
            index=False,
            sep=";",
            decimal=",",
            float_format=FLOAT_FORMAT,
            lineterminator="\n",
        )
        return buffer.getvalue().encode("utf-8-sig")
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


def write_table(
    directory: Path,
    name: str,
    frame: pd.DataFrame,
    formats: tuple[str, ...],
    dialect: str = "standard",
) -> None:
    """Write ``frame`` as ``name.csv`` (in ``dialect``) and/or ``name.parquet`` in
    ``directory``. The CSV is made spreadsheet-safe (:func:`spreadsheet_safe`); Parquet
    keeps the text as is. ``xlsx`` is a workbook of several tables: :func:`write_tables`.
    ``name`` must be a safe name (:func:`safe_name`): a value is never a path."""
    if name != safe_name(name):
        raise ValueError(f"table name {name!r} is not a safe file name")
    for fmt in formats:
        if fmt == "csv":
            data = csv_bytes(spreadsheet_safe(frame), dialect)
            atomic_write_bytes(directory / f"{name}.csv", data)
        elif fmt == "parquet":
            atomic_write_bytes(directory / f"{name}.parquet", parquet_bytes(frame))
        elif fmt != "xlsx":
            raise ValueError(f"unknown table format {fmt!r} (use 'csv', 'parquet' or 'xlsx')")


WORKBOOK = "tables.xlsx"  # the workbook of a run's tables (output.formats with xlsx)


def write_tables(
    directory: Path,
    tables: dict[str, pd.DataFrame],
    formats: tuple[str, ...],
    dialect: str = "standard",
    percent: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Write every table (:func:`write_table`) and, with ``xlsx`` in ``formats``, one
    workbook ``tables.xlsx`` with a sheet per table (:func:`xlsx_bytes`; ``percent``: the
    columns per table, shares 0 to 1, that it shows as percentages)."""
    for name, frame in tables.items():
        write_table(directory, name, frame, formats, dialect)
    if "xlsx" in formats and tables:
        atomic_write_bytes(directory / WORKBOOK, xlsx_bytes(tables, percent))


XLSX_EPOCH = (1980, 1, 1, 0, 0, 0)  # every date in the workbook: its bytes are stable


def xlsx_bytes(
    tables: dict[str, pd.DataFrame], percent: Mapping[str, Sequence[str]] | None = None
) -> bytes:
    """A workbook with one sheet per table (named after it, cut to Excel's 31
    characters): a frozen header row, numbers stored as numbers (whole numbers with a
    thousands separator, shares named in ``percent`` as percentages with two decimals,
    others with up to four decimals), text stored as text (never run as a formula),
    columns as wide as their content (at most 60)."""
    import datetime
    import zipfile

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.xml.functions import tostring

    book = Workbook()
    book.remove(book.active)
    fixed = datetime.datetime(*XLSX_EPOCH)
    book.properties.created = book.properties.modified = fixed
    used: set[str] = set()
    for name, frame in tables.items():
        title = name[:31]
        k = 1
        while title in used:
            k += 1
            title = f"{name[: 31 - len(str(k)) - 1]}~{k}"
        used.add(title)
        sheet = book.create_sheet(title=title)
        shares = set((percent or {}).get(name, ()))
        for col_number, column in enumerate(frame.columns, start=1):
            header = sheet.cell(row=1, column=col_number)
            header.value = str(column)
            header.data_type = "s"  # a header is text, never a formula
        widths = [len(str(c)) for c in frame.columns]
        for row_number, values in enumerate(frame.itertuples(index=False), start=2):
            for col_number, value in enumerate(values, start=1):
                cell = sheet.cell(row=row_number, column=col_number)
                if value is None or (isinstance(value, float) and value != value):
                    continue
                if isinstance(value, bool | np.bool_):
                    cell.value = bool(value)
                elif isinstance(value, int | np.integer):
                    cell.value = int(value)
                    cell.number_format = "#,##0"
                elif isinstance(value, float | np.floating):
                    cell.value = float(value)
                    shown_as_share = str(frame.columns[col_number - 1]) in shares
                    cell.number_format = "0.00%" if shown_as_share else "#,##0.####"
                else:
                    cell.value = str(value)
                    cell.data_type = "s"
                widths[col_number - 1] = max(widths[col_number - 1], len(str(value)))
        for col_number, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(col_number)].width = min(width + 2, 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    # rewrite the archive with fixed member dates and the document properties with the
    # fixed dates (saving sets "modified" to the clock), so that the same tables give
    # the same bytes
    book.properties.modified = fixed
    core = tostring(book.properties.to_tree())
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            member = zipfile.ZipInfo(info.filename, date_time=XLSX_EPOCH)
            member.compress_type = zipfile.ZIP_DEFLATED
            data = core if info.filename == "docProps/core.xml" else source.read(info.filename)
            target.writestr(member, data)
    return out.getvalue()


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


def remove_stale_staging(parent: Path) -> None:
    """Remove the temporary folders :func:`atomic_output_dir` left in ``parent`` when its
    process was killed before it could clean up (e.g. a batch worker)."""
    for path in parent.glob(".*.tmp"):
        shutil.rmtree(path, ignore_errors=True)


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
