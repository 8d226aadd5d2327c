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


def test_an_output_folder_holds_exactly_one_run(tmp_path: Path) -> None:
    """A plan written over an infeasible one in the same folder leaves no stale
    diagnosis.csv: the folder holds the new run's files and nothing else."""
    from .reception_helpers import SITES, write_reception_instance

    out = tmp_path / "out"
    short = write_reception_instance(tmp_path / "short", sites=SITES.iloc[:2])
    assert runner.invoke(app, ["reception", str(short), "--out", str(out)]).exit_code == 2
    assert (out / "diagnosis.csv").is_file()
    ok = write_reception_instance(tmp_path / "ok")
    assert runner.invoke(app, ["reception", str(ok), "--out", str(out)]).exit_code == 0
    fresh = tmp_path / "fresh"
    assert runner.invoke(app, ["reception", str(ok), "--out", str(fresh)]).exit_code == 0
    assert not (out / "diagnosis.csv").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in fresh.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "ok", "out", "short"]


def test_outputs_follow_the_umask(tiny_path: Path, tmp_path: Path) -> None:
    """Files and folders get the permissions of the user's umask (not 0600 / 0700), so
    colleagues on a shared drive can read them."""
    import os
    import stat

    old = os.umask(0o027)
    try:
        out = tmp_path / "t"
        result = runner.invoke(app, ["taakstelling", str(tiny_path), "--out", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o640}


def test_out_never_replaces_the_input_or_a_foreign_folder(tiny_path: Path, tmp_path: Path) -> None:
    """--out at the instance folder, or at a folder with other files, is refused
    before any work (exit 1); nothing in either folder changes."""
    import shutil

    folder = tmp_path / "inst"
    shutil.copytree(tiny_path, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = runner.invoke(app, ["place", str(folder), "--out", str(folder)])
    assert result.exit_code == 1 and "would replace the input folder" in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me\n")
    result = runner.invoke(app, ["place", str(folder), "--out", str(foreign)])
    assert result.exit_code == 1 and "not an asielplan result" in result.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_old_names_give_errors_that_name_the_new_ones(tmp_path: Path) -> None:
    """'scenario' is a named override of the configuration; the cohorts' inflow is
    chosen with --inflow. An inflow passed as --scenario, or the old configuration key
    reception.scenario, is an error (exit 1) that names the new option or key."""
    result = runner.invoke(app, ["reception", "--scenario", "peak", "--out", str(tmp_path / "a")])
    assert result.exit_code == 1 and "--inflow peak" in result.output
    cfg = tmp_path / "old.toml"
    cfg.write_text('[reception]\nscenario = "peak"\n')
    result = runner.invoke(app, ["reception", "--config", str(cfg), "--out", str(tmp_path / "b")])
    assert result.exit_code == 1 and "reception.inflow" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_manifest_holds_the_run_id_and_every_setting(tmp_path: Path) -> None:
    """The RunSpec id is a content hash: the same instance at another path and the same
    configuration give the same id; another time limit gives another. The manifest
    holds every setting, the reception solve method and crossover included."""
    import shutil

    from .placement_helpers import FIXTURES

    copy = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "resettle", copy)
    ids = []
    for name, folder, extra in (
        ("a", FIXTURES / "resettle", []),
        ("b", copy, []),
        ("c", copy, ["--time-limit", "7"]),
    ):
        out = tmp_path / name
        result = runner.invoke(app, ["place", str(folder), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text())
        ids.append(manifest["run_id"])
    assert ids[0] == ids[1] != ids[2] and len(ids[0]) == 16
    solver = manifest["config"]["solver"]
    assert solver["time_limit"] == 7 and solver["reception_method"] == "auto"
    assert solver["crossover"] is True
