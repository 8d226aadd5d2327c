"""Input that real spreadsheets produce: every accepted form reads back into exactly the
instance the plain CSV gives (the Dutch dialect declared or detected, Windows-1252
text, a byte-order mark, CRLF line ends, reordered and extra columns, a BOM in
instance.toml), and an instance's table outside its folder is hashed when allowed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from asielplan.data.instance import Instance, read_instance
from asielplan.data.schemas import TABLES

from .placement_helpers import FIXTURES

TINY = FIXTURES / "tiny"
FILES = ("municipalities.csv", "sites.csv", "households.csv", "members.csv")


def copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(TINY, folder)
    return folder


def same(a: Instance, b: Instance) -> None:
    """The tables of two instances are equal, value for value and type for type."""
    for name in TABLES:
        left, right = a.table(name), b.table(name)
        if left is None or right is None:
            assert left is None and right is None, name
            continue
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True), right[list(left.columns)].reset_index(drop=True)
        )


def to_dutch(text: str) -> str:
    """Comma-separated text as a Dutch Excel writes it: ';' between fields, decimal
    commas, '.' between thousands in whole numbers of five digits or more."""
    import re

    lines = []
    for line in text.splitlines():
        fields = []
        for value in line.split(","):
            if re.fullmatch(r"\d+\.\d+", value):
                value = value.replace(".", ",")
            elif re.fullmatch(r"\d{5,}", value):
                value = f"{int(value):,}".replace(",", ".")
            fields.append(value)
        lines.append(";".join(fields))
    return "\n".join(lines) + "\n"


def test_the_dutch_dialect_reads_as_the_plain_csv(tmp_path: Path) -> None:
    """Semicolons, decimal commas and 60.000 inhabitants, declared as csv_dialect = "nl":
    the same instance as the plain CSV."""
    folder = copy(tmp_path, "nl")
    for name in FILES:
        (folder / name).write_text(to_dutch((TINY / name).read_text()))
    assert "60.000" in (folder / "municipalities.csv").read_text()
    toml = (
        (folder / "instance.toml")
        .read_text()
        .replace("seed = 0\n", 'seed = 0\ncsv_dialect = "nl"\n')
    )
    (folder / "instance.toml").write_text(toml)
    inst = read_instance(folder)
    same(read_instance(TINY), inst)
    assert inst.warnings == []


def test_an_undeclared_dutch_dialect_is_read_and_reported(tmp_path: Path) -> None:
    """The same files without the declaration: unambiguous (a ';' and no ',' in the
    header), so they are read as Dutch, with a warning per file."""
    folder = copy(tmp_path, "detected")
    for name in FILES:
        (folder / name).write_text(to_dutch((TINY / name).read_text()))
    inst = read_instance(folder)
    same(read_instance(TINY), inst)
    assert {w.rule for w in inst.warnings} == {"csv dialect"} and len(inst.warnings) == 4


def test_windows_text_bom_crlf_and_columns(tmp_path: Path) -> None:
    """Windows-1252 (declared), a BOM and CRLF line ends, columns in another order and an
    extra column: the same instance."""
    folder = copy(tmp_path, "windows")
    municipalities = pd.read_csv(TINY / "municipalities.csv")
    reordered = municipalities[list(reversed(municipalities.columns))].assign(remark="notitie")
    (folder / "municipalities.csv").write_bytes(
        reordered.to_csv(index=False, lineterminator="\r\n").encode("cp1252")
    )
    (folder / "sites.csv").write_bytes(b"\xef\xbb\xbf" + (TINY / "sites.csv").read_bytes())
    toml = (
        (folder / "instance.toml")
        .read_text()
        .replace("seed = 0\n", 'seed = 0\nencoding = "cp1252"\n')
    )
    (folder / "instance.toml").write_bytes(b"\xef\xbb\xbf" + toml.encode())
    same(read_instance(TINY), read_instance(folder))


def test_windows_text_keeps_its_accents(tmp_path: Path) -> None:
    """'Súdwest-Fryslân' saved by Excel in Windows-1252, declared: read back exactly."""
    folder = copy(tmp_path, "fryslan")
    text = (TINY / "municipalities.csv").read_text().replace("Deveen", "Súdwest-Fryslân")
    (folder / "municipalities.csv").write_bytes(text.encode("cp1252"))
    toml = (
        (folder / "instance.toml")
        .read_text()
        .replace("seed = 0\n", 'seed = 0\nencoding = "cp1252"\n')
    )
    (folder / "instance.toml").write_text(toml)
    assert read_instance(folder).municipalities["name"].iloc[3] == "Súdwest-Fryslân"


def test_an_allowed_outside_table_is_read_and_hashed(tmp_path: Path) -> None:
    """A table outside the folder, allowed explicitly: read, and its SHA-256 is among the
    run's inputs (keyed by its full path)."""
    from asielplan.api import instance_inputs

    folder = copy(tmp_path, "outside")
    shutil.move(folder / "sites.csv", tmp_path / "shared-sites.csv")
    toml = (folder / "instance.toml").read_text()
    toml = toml.replace('path = "sites.csv"', 'path = "../shared-sites.csv"')
    toml = toml.replace("seed = 0\n", "seed = 0\nallow_outside_paths = true\n")
    (folder / "instance.toml").write_text(toml)
    inst = read_instance(folder)
    same(read_instance(TINY), inst)
    assert str((tmp_path / "shared-sites.csv").resolve()) in instance_inputs(inst)


@pytest.mark.parametrize("text", ["21.000", "1.234.567", "2,1e4"])
def test_whole_numbers_are_never_guessed(tmp_path: Path, text: str) -> None:
    """A population written as 21.000, 1.234.567 or 2,1e4 in the standard dialect is
    refused with the text as written, never read as 21 or 1.234 (21000.0 is read as
    21000: a decimal point is no guess)."""
    from asielplan.errors import InputError

    folder = copy(tmp_path, "guess")
    csv = (
        (folder / "municipalities.csv")
        .read_text()
        .replace("GM0004,Deveen,5000", f'GM0004,Deveen,"{text}"')
    )
    (folder / "municipalities.csv").write_text(csv)
    with pytest.raises(InputError) as error:
        read_instance(folder)
    messages = [str(i) for i in error.value.issues if i.column == "population"]
    assert len(messages) == 1 and repr(text) in messages[0]


def test_an_xlsx_table_reads_as_its_csv(tmp_path: Path) -> None:
    """The tiny instance's sites as the first sheet of a workbook (numbers typed as
    numbers, a second sheet that is ignored) read back into the same instance as the
    CSV."""
    folder = copy(tmp_path, "xlsx")
    sites = pd.read_csv(folder / "sites.csv")
    with pd.ExcelWriter(folder / "sites.xlsx") as writer:
        sites.to_excel(writer, sheet_name="sites", index=False)
        pd.DataFrame({"note": ["not read"]}).to_excel(writer, sheet_name="notes", index=False)
    (folder / "sites.csv").unlink()
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(toml.replace('path = "sites.csv"', 'path = "sites.xlsx"'))
    same(read_instance(folder), read_instance(TINY))
