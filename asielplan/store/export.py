"""Exports of the plan store: the standing proposals per municipality (a workbook and a
CSV in the Dutch dialect each), all of them, and the progress table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from asielplan.io import (
    atomic_output_dir,
    atomic_write_bytes,
    check_output_dir,
    csv_bytes,
    safe_name,
    spreadsheet_safe,
    xlsx_bytes,
)
from asielplan.store.db import session
from asielplan.store.plan import (
    HOUSEHOLD_COLUMNS,
    active_period,
    base_files,
    household_states,
    progress,
    proposals_of,
    write_instance_folder,
)


def export(engine: Engine, out: str | Path, municipality: str | None = None) -> list[str]:
    """Write ``progress.csv``, ``proposals.csv`` and per municipality (or only
    ``municipality``) ``municipalities/CODE.xlsx`` and ``municipalities/CODE.csv`` (Dutch
    dialect: semicolons, decimal commas), atomically; returns the files written."""
    out = Path(out)
    check_output_dir(out)
    with session(engine) as s:
        period = active_period(s)
        table = progress(s, period)
        proposals = proposals_of(s, period, municipality)
    codes = [municipality] if municipality is not None else sorted(set(proposals["municipality"]))
    written = []
    with atomic_output_dir(out) as staging:
        atomic_write_bytes(staging / "progress.csv", csv_bytes(spreadsheet_safe(table)))
        atomic_write_bytes(staging / "proposals.csv", csv_bytes(spreadsheet_safe(proposals)))
        written += ["progress.csv", "proposals.csv"]
        (staging / "municipalities").mkdir()
        for code in codes:
            own = proposals[proposals["municipality"] == code].reset_index(drop=True)
            name = safe_name(code)
            atomic_write_bytes(
                staging / "municipalities" / f"{name}.xlsx", xlsx_bytes({"voorstellen": own})
            )
            atomic_write_bytes(
                staging / "municipalities" / f"{name}.csv",
                csv_bytes(spreadsheet_safe(own), "nl"),
            )
            written += [f"municipalities/{name}.xlsx", f"municipalities/{name}.csv"]
    return written


def letters_zip(engine: Engine) -> bytes:
    """The taakstelling letters of the active period (the law's, with the period's
    national number, on its base instance) as one ZIP: ``municipalities/*.pdf``,
    ``provinces/*.pdf`` and ``letters.csv`` with every number printed. Same store, same
    bytes. :class:`InputError` when the letters cannot be made (e.g. populations of
    another date than the period's peildatum)."""
    import io
    import tempfile
    import zipfile

    from asielplan import api

    with session(engine) as s:
        period = active_period(s)
        files = base_files(s, period)
        # an instance holds households (the letters do not read them)
        households = household_states(s, period)[["household_id", *HOUSEHOLD_COLUMNS]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "instance"
        write_instance_folder(folder, files, {"households": households})
        made = api.letters(period.name, folder, national=period.national)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        members = {
            **{f"municipalities/{n}": c for n, c in made.municipalities.items()},
            **{f"provinces/{n}": c for n, c in made.provinces.items()},
            "letters.csv": csv_bytes(spreadsheet_safe(made.table)),
        }
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()
