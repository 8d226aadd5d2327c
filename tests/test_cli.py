"""The command line: generate, validate, taakstelling, with manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from asielplan.cli import app

runner = CliRunner()


def test_generate_then_validate(tmp_path: Path) -> None:
    """generate writes a valid instance plus a manifest with its seed."""
    out = tmp_path / "inst"
    result = runner.invoke(
        app,
        ["generate", "--seed", "5", "--synthetic", "12", "--households", "40", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0 and "12 municipalities" in result.output


def test_taakstelling_command(tiny_path: Path, tmp_path: Path) -> None:
    """taakstelling writes CSV and Parquet with exact totals and a manifest of inputs."""
    out = tmp_path / "t"
    result = runner.invoke(app, ["taakstelling", str(tiny_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "taakstelling.csv")
    assert table["taakstelling"].tolist() == [7, 2, 2, 0]
    assert pd.read_parquet(out / "taakstelling.parquet")["taakstelling"].sum() == 11
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["inputs_sha256"]) >= {"households.csv", "instance.toml"}
    assert manifest["national"] == 11 and manifest["versions"]["pyomo"]


def test_bad_config_writes_nothing(tiny_path: Path, tmp_path: Path) -> None:
    """An unknown configuration key exits 1 and creates no output folder."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[output]\nformat = ['csv']\n")
    out = tmp_path / "never"
    result = runner.invoke(
        app, ["taakstelling", str(tiny_path), "--out", str(out), "--config", str(cfg)]
    )
    assert result.exit_code == 1
    assert "output.format" in result.output
    assert not out.exists()


def test_reception_command_writes_plan_and_exits_2_without_beds(tmp_path: Path) -> None:
    """reception writes its tables, plot and manifest (exit 0); with the noodopvang
    removed 3 people lack a bed: exit 2, diagnosis.csv says period 2, 3 persons, and
    an unknown inflow is an input error (exit 1) that writes nothing."""
    from .reception_helpers import SITES, write_reception_instance

    root = write_reception_instance(tmp_path / "ok")
    out = tmp_path / "out"
    result = runner.invoke(app, ["reception", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("occupancy.csv", "moves.parquet", "business_cases.csv", "kpis.csv"):
        assert (out / name).is_file()
    assert (out / "occupancy.png").stat().st_size > 5_000
    assert json.loads((out / "manifest.json").read_text())["command"] == "reception"

    short = write_reception_instance(tmp_path / "short", sites=SITES.iloc[:2])
    result = runner.invoke(app, ["reception", str(short), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    diagnosis = pd.read_csv(tmp_path / "s" / "diagnosis.csv")
    assert diagnosis[["period", "violation"]].values.tolist() == [[2, 3.0]]

    result = runner.invoke(
        app, ["reception", str(root), "--inflow", "nope", "--out", str(tmp_path / "n")]
    )
    assert result.exit_code == 1 and "no inflow 'nope'" in result.output
    assert not (tmp_path / "n").exists()
