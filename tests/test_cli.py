"""The command line: generate, validate, taakstelling, with manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
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


def test_a_run_without_a_plan_never_replaces_a_valid_one(tmp_path: Path) -> None:
    """A valid plan in OUT, then an infeasible run into OUT: the valid plan stays as it
    was; the infeasible run is written beside it (OUT-infeasible) with its diagnosis,
    and its elastic plan, which breaks what cannot be met, only under elastic/. A run
    whose solver is not installed is refused before it starts (exit 1, nothing
    written)."""
    from .reception_helpers import SITES, write_reception_instance

    out = tmp_path / "plan"
    ok = write_reception_instance(tmp_path / "ok")
    assert runner.invoke(app, ["reception", str(ok), "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    short = write_reception_instance(tmp_path / "short", sites=SITES.iloc[:2])
    result = runner.invoke(app, ["reception", str(short), "--out", str(out)])
    assert result.exit_code == 2 and "is kept" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    beside = tmp_path / "plan-infeasible"
    assert (beside / "diagnosis.csv").is_file() and (beside / "elastic" / "occupancy.csv").is_file()
    assert not (beside / "occupancy.csv").exists()
    config = tmp_path / "missing-solver.toml"
    config.write_text('[solver]\nname = "no_such_solver"\n')
    fresh = tmp_path / "nosolver"
    result = runner.invoke(
        app, ["place", str(ok.parent / "ok"), "--config", str(config), "--out", str(fresh)]
    )
    assert result.exit_code == 1 and "'no_such_solver' is not installed" in result.output
    assert not fresh.exists()


def sigterm_caught(pid: int) -> bool:
    """Whether process ``pid`` has a handler for SIGTERM (Linux: /proc/PID/status)."""
    import signal

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def test_usage_errors_exit_1_and_interrupts_leave_nothing(tmp_path: Path) -> None:
    """Through the installed command: an unknown option or a negative seed is a usage
    error with exit 1 (2 means infeasible); SIGTERM during a run exits 143 with a message,
    writes no output folder and leaves no temporary folder."""
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "asielplan.cli"]
    for args in (["place", "--bogus"], ["generate", "--seed", "-1", "--out", str(tmp_path / "g")]):
        done = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 1, (args, done.stderr)
    out = tmp_path / "interrupted"
    # a front of the default takes about 30 s (a placement alone about 3 s, which a
    # signal two seconds after start could reach as the interpreter exits)
    process = subprocess.Popen(
        [*command, "front", "--axes", "labour,distance", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the command has installed its SIGTERM handler (the kernel's SigCgt
    # mask of the process), then a moment more so the run is under way
    deadline = time.monotonic() + 60
    while not sigterm_caught(process.pid):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143 and "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


HOSTILE_COMMAND_LINES = {
    "time limit zero": (["place", "--time-limit", "0"], "solver.time_limit"),
    "negative time limit": (["place", "--time-limit", "-1"], "solver.time_limit"),
    "time limit nan": (["place", "--time-limit", "nan"], "finite"),
    "config is a folder": (["place", "--config", "{tmp}"], "is a folder"),
    "config in cp1252": (["place", "--config", "{tmp}/cp1252.toml"], "not UTF-8"),
    "infinite weight": (["place", "--config", "{tmp}/inf.toml"], "weight_labour"),
    "out is a file": (["place", "--out", "{tmp}/cp1252.toml"], "is a file"),
    "three municipalities": (["generate", "--synthetic", "3"], "--synthetic"),
    "zero municipalities": (["generate", "--synthetic", "0"], "--synthetic"),
    "negative national": (["taakstelling", "--national", "-5"], "--national"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_COMMAND_LINES))
def test_hostile_command_lines_exit_1_with_a_message(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command line the configuration would refuse is refused before any work, by
    the ``asielplan`` command itself (usage errors included): exit 1, a message naming
    the option or key, no traceback and nothing written."""
    from asielplan.cli import main

    (tmp_path / "cp1252.toml").write_bytes('[solver]\nname = "h\xe9ghs"\n'.encode("cp1252"))
    (tmp_path / "inf.toml").write_text("[placement]\nweight_labour = inf\n")
    args, expected = HOSTILE_COMMAND_LINES[name]
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr("sys.argv", ["asielplan", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    output = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert stopped.value.code == 1, output
    assert expected in output and "Traceback" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_help_texts_are_whole_sentences(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's help shows each paragraph of its description on one line when the
    terminal is wide enough (never broken where the source breaks its lines), and
    bracketed text such as [scenarios.NAME] is shown, not read as console markup."""
    import re

    from typer.main import get_command

    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 2000)  # wide: a paragraph is one line

    def commands(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
        if hasattr(cmd, "commands"):  # a group (typer keeps its own click)
            return [c for n, s in cmd.commands.items() for c in commands(s, [*path, n])]
        return [(path, cmd)]

    found = commands(get_command(app), [])
    assert len(found) >= 19
    for path, cmd in found:
        out = runner.invoke(app, [*path, "--help"]).output
        lines = [line.strip() for line in out.splitlines()]
        for paragraph in re.split(r"\n\s*\n", cmd.help or ""):
            assert " ".join(paragraph.split()) in lines, (path, paragraph[:60])
    scenario = runner.invoke(app, ["place", "--help"]).output
    assert "Named scenario of the configuration: [scenarios.NAME]." in scenario
