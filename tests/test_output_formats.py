"""Output formats: an Excel workbook per run and the Dutch CSV dialect, read back into
the same tables."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from asielplan.api import place, write_run
from asielplan.config import RunConfig
from asielplan.io import XLSX_EPOCH, xlsx_bytes


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A placement of the tiny instance written as CSV (Dutch dialect), Parquet and xlsx."""
    cfg = RunConfig.model_validate(
        {"output": {"formats": ["csv", "parquet", "xlsx"], "csv_dialect": "nl"}}
    )
    out = tmp_path_factory.mktemp("formats") / "run"
    write_run(place("tests/fixtures/tiny", cfg), out)
    return out


def test_workbook_reads_back_into_the_same_tables(written: Path) -> None:
    """Every table is a sheet of tables.xlsx that pandas reads back into the Parquet
    table's values (numbers as numbers, text as text), under a frozen header."""
    from openpyxl import load_workbook

    book = pd.read_excel(written / "tables.xlsx", sheet_name=None)
    parquet = {p.stem: pd.read_parquet(p) for p in written.glob("*.parquet")}
    assert set(book) == set(parquet)
    for name, frame in parquet.items():
        sheet = book[name]
        assert list(sheet.columns) == list(frame.columns), name
        for column in frame.columns:
            left, right = sheet[column], frame[column]
            if pd.api.types.is_numeric_dtype(right) and not pd.api.types.is_bool_dtype(right):
                assert left.to_numpy(float) == pytest.approx(right.to_numpy(float), nan_ok=True), (
                    name,
                    column,
                )
            else:
                assert [_text(v) for v in left] == [_text(v) for v in right], (name, column)
    households = load_workbook(written / "tables.xlsx")["households"]
    assert households.freeze_panes == "A2"
    header = [cell.value for cell in households[1]]
    persons = households.cell(row=2, column=header.index("persons") + 1)
    assert persons.data_type == "n" and persons.number_format == "#,##0"


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def test_dutch_csv_reads_back_with_semicolons_and_decimal_commas(written: Path) -> None:
    """A Dutch-dialect CSV starts with the UTF-8 byte-order mark and reads back with
    sep=';' and decimal=',' into the Parquet table's numbers."""
    raw = (written / "municipalities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(written / "municipalities.csv", sep=";", decimal=",", encoding="utf-8-sig")
    frame = pd.read_parquet(written / "municipalities.parquet")
    assert list(back.columns) == list(frame.columns)
    for column in frame.select_dtypes("number").columns:
        assert back[column].to_numpy(float) == pytest.approx(
            frame[column].to_numpy(float), nan_ok=True
        ), column
    assert "," in (written / "kpis.csv").read_text(encoding="utf-8-sig")  # decimal commas


def test_workbook_text_is_never_a_formula_and_bytes_are_stable() -> None:
    """A text cell that starts with '=' is stored as text; the same tables give the same
    bytes (fixed dates in the archive and the document properties, also the "modified"
    date openpyxl stamps when it saves); sheet names are cut to 31 characters and kept
    apart."""
    from openpyxl import load_workbook

    tables = {
        "a" * 40: pd.DataFrame({"x": ["=1+1", "Súdwest-Fryslân"], "n": [1, 2]}),
        "a" * 41: pd.DataFrame({"y": [0.5, 1.25]}),
    }
    first, second = xlsx_bytes(tables), xlsx_bytes(tables)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    import io

    book = load_workbook(io.BytesIO(first))
    # saving stamps the clock into the properties: the written ones are the fixed dates
    assert book.properties.modified == book.properties.created == datetime(*XLSX_EPOCH)
    names = book.sheetnames
    assert len(names) == 2 and len(set(names)) == 2 and all(len(n) <= 31 for n in names)
    cell = book[names[0]]["A2"]
    assert cell.value == "=1+1" and cell.data_type == "s"
    assert book[names[0]]["A3"].value == "Súdwest-Fryslân"


def test_workbook_shows_shares_as_percentages(written: Path) -> None:
    """Columns declared a share (docs/output-dictionary.md: unit share) are stored as the
    fraction and shown as a percentage (kpis.gap, kpis.requested_gap);
    other numbers keep their number format (kpis.objective)."""
    from openpyxl import load_workbook

    book = load_workbook(written / "tables.xlsx")

    def cell(sheet: str, column: str) -> Any:
        """The column's first cell with a value (a suppressed cell is empty)."""
        rows = book[sheet]
        header = [c.value for c in rows[1]]
        number = header.index(column) + 1
        return next(
            rows.cell(row=r, column=number)
            for r in range(2, rows.max_row + 1)
            if rows.cell(row=r, column=number).value is not None
        )

    gap = cell("kpis", "gap")
    kpis = pd.read_parquet(written / "kpis.parquet")
    assert gap.number_format == "0.00%" and gap.value == pytest.approx(kpis["gap"].iloc[0])
    assert cell("kpis", "requested_gap").number_format == "0.00%"
    assert cell("kpis", "objective").number_format == "#,##0.####"
