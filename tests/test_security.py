"""Data is never code or a path: hostile names in every table stay inside ``--out``,
are drawn and printed as written, and templates render in the sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from asielplan.api import letters
from asielplan.cli import app

from .conftest import TINY

runner = CliRunner()

HOSTILE = {
    "GM0001": "../../../escaped-a",
    "GM0002": "P1/Noord $\\alpha$ [bold]x[/]",
    "GM0003": '=HYPERLINK("http://x")',
    "GM0004": "." * 300,
}


def hostile_instance(root: Path) -> Path:
    """The tiny instance whose every municipality name and province, COA-region and
    labour-market-region code is a path, markup or a formula."""
    folder = root / "inst"
    shutil.copytree(TINY, folder)
    muni = pd.read_csv(folder / "municipalities.csv", dtype=str)
    muni["name"] = muni["code"].map(HOSTILE)
    muni["province"] = ["../../../escaped-p", "../../../escaped-p", "P2/Zuid", "$x$"]
    muni["coa_region"] = ["../x", "../x", "[red]C2", "[red]C2"]
    muni.to_csv(folder / "municipalities.csv", index=False)
    return folder


def _outside(root: Path, out: Path) -> list[Path]:
    """Files under ``root``'s parent written by a command, other than in ``out``,
    the instance and the configuration."""
    return [
        p
        for p in root.parent.rglob("*")
        if p.is_file()
        and not p.is_relative_to(out)
        and not p.is_relative_to(root / "inst")
        and p.name != "cfg.toml"
    ]


def test_no_command_writes_outside_out_whatever_the_names(tmp_path: Path) -> None:
    """letters, taakstelling, place (with a workbook), schemes compare and report on an
    instance whose names and codes are ``../x``, ``P1/Noord``, markup, formulas and 300
    dots: every command exits 0, and every file it writes is inside its ``--out``."""
    root = tmp_path / "work"
    root.mkdir()
    inst = hostile_instance(root)
    cfg = root / "cfg.toml"
    cfg.write_text('[output]\nformats = ["csv", "parquet", "xlsx"]\n')
    commands = {
        "letters": ["letters", str(inst), "--period", "2026-I", "--national", "11"],
        "taakstelling": ["taakstelling", str(inst)],
        "place": ["place", str(inst), "--config", str(cfg)],
        "schemes": ["schemes", "compare", str(inst), "--schemes", "population,exact_total"],
    }
    for name, args in commands.items():
        out = root / "out" / name
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, (name, result.output)
        assert _outside(root, root / "out") == [], name
    letters_out = root / "out" / "letters"
    municipal = sorted(p.name for p in (letters_out / "municipalities").iterdir())
    assert len(municipal) == 4 and all(len(n) <= 84 and "/" not in n for n in municipal)
    provinces = sorted(p.name for p in (letters_out / "provinces").iterdir())
    assert provinces == sorted(["escaped-p-escaped-p.pdf", "P2-Zuid-P2-Zuid.pdf", "x-x.pdf"]), (
        provinces
    )
    assert (root / "out" / "schemes" / "runs" / "population" / "manifest.json").is_file()
    result = runner.invoke(app, ["report", str(root / "out" / "place")])
    assert result.exit_code == 0, result.output
    assert _outside(root, root / "out") == []
    assert all(p.is_relative_to(root / "out") for p in tmp_path.rglob("*escaped*"))


def test_markup_names_are_printed_as_written(tmp_path: Path) -> None:
    """A name holding rich markup (``[bold]x[/]``) is printed as it is, not styled and not
    a crash after the work (taakstelling prints its ten largest numbers with names)."""
    inst = hostile_instance(tmp_path)
    result = runner.invoke(app, ["taakstelling", str(inst), "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert "[bold]x[/]" in "".join(result.output.split())


def test_shipped_templates_render_in_the_sandbox() -> None:
    """The shipped templates render in Jinja2's immutable sandbox: every municipality's
    letter and every province's overview is a PDF."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from asielplan.experiments.letters import Renderer

    assert isinstance(Renderer().env, ImmutableSandboxedEnvironment)
    made = letters("2026-I", TINY, national=11)
    assert len(made.municipalities) == 4 and len(made.provinces) == 2
    assert all(pdf.startswith(b"%PDF") for pdf in [*made.municipalities.values()])


def test_a_dutch_progress_file_is_read_and_said(tmp_path: Path) -> None:
    """A progress file as a Dutch Excel saves it (``;``, Windows-1252, a name with an
    accent) is read for the letters, and the notes say how it was read."""
    progress = tmp_path / "voortgang.csv"
    text = (
        "municipality;name;taakstelling;placed\n"
        "GM0001;Aastad;10;7\nGM0002;Bédorp;2;2\nGM0003;Ceburg;1;1\nGM0004;Deveen;5;8\n"
    )
    progress.write_bytes(text.encode("cp1252"))
    made = letters("2026-I", TINY, national=11, progress=progress)
    table = made.table.set_index("municipality")
    assert table.loc["GM0001", "achterstand"] == 3 and table.loc["GM0004", "achterstand"] == -3
    notes = " ".join(made.notes)
    assert "Windows-1252" in notes and "Dutch dialect" in notes
