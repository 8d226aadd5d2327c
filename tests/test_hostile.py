"""The hostile-input corpus of the commands (tests/hostile/CASES.toml): letters,
templates, report, weekly, simulate, batch, front, schemes, taakstelling, sweep,
fairness and workbooks. Each case runs a command on a copy of the tiny instance with one
deliberate fault and must exit non-zero with a clear message (the expected words: the
option, file, row or rule), no traceback, nothing written outside its own folder and the
previous result in ``--out`` untouched."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from asielplan.cli import app

from .conftest import TESTS, TINY

CASES_FILE = TESTS / "hostile" / "CASES.toml"
CASES: dict[str, dict[str, Any]] = tomllib.loads(CASES_FILE.read_text(encoding="utf-8"))
runner = CliRunner()


def test_the_corpus_covers_every_surface() -> None:
    """At least 60 cases, each surface of the newer commands with several."""
    surfaces = [case["surface"] for case in CASES.values()]
    assert len(CASES) >= 60
    for surface in (
        "letters",
        "template",
        "report",
        "weekly",
        "simulate",
        "batch",
        "front",
        "schemes",
        "taakstelling",
        "xlsx",
    ):
        assert surfaces.count(surface) >= 2, surface


@pytest.fixture(scope="module")
def placement_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A placement run of the tiny instance, damaged in copies by the report cases."""
    out = tmp_path_factory.mktemp("run") / "placement"
    result = runner.invoke(app, ["place", str(TINY), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (links not followed) with a file's bytes."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        out[key] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return out


def _prepare(case: dict[str, Any], root: Path, placement_run: Path) -> dict[str, str]:
    """The case's folder: ``inst`` (a copy of tiny with the case's files), ``template``
    (a copy of the shipped templates with the case's files), ``run`` (a copy of a
    placement run with the case's damage), ``files`` beside them, links, and ``out``
    holding an earlier result."""
    from asielplan.experiments.letters import TEMPLATES

    inst = root / "inst"
    shutil.copytree(TINY, inst)
    for name, text in case.get("instance", {}).items():
        (inst / name).write_text(text, encoding="utf-8")
    template = root / "template"
    if "template" in case:
        shutil.copytree(TEMPLATES, template)
        for name, text in case["template"].items():
            (template / name).write_text(text, encoding="utf-8")
    run = root / "run"
    if "run" in case:
        shutil.copytree(placement_run, run)
        for name, text in case["run"].items():
            target = run / name
            if text == "<delete>":
                target.unlink()
            elif text.startswith("<truncate>"):
                target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
            else:
                target.write_text(text, encoding="utf-8")
    for name, text in case.get("files", {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(bytes(text))
    for name, target in case.get("links", {}).items():
        link = root / name
        link.unlink(missing_ok=True)
        os.symlink(target.replace("{root}", str(root)), link)
    out = root / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"command": "place", "earlier": true}\n')
    (out / "households.csv").write_text("household_id,municipality\nH1,GM0001\n")
    return {
        "inst": str(inst),
        "template": str(template),
        "run": str(run),
        "out": str(out),
        "root": str(root),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_case_is_refused_clearly(name: str, tmp_path: Path, placement_run: Path) -> None:
    """The case exits with its code (1 unless stated), names what its ``expect`` lists,
    shows no traceback, writes nothing outside ``--out`` and leaves the earlier result
    in ``--out`` as it was."""
    case = CASES[name]
    root = tmp_path / "case"
    root.mkdir()
    places = _prepare(case, root, placement_run)
    args = [str(arg).format(**places) for arg in case["args"]]
    before = _tree(root)
    result = runner.invoke(app, args, input=case.get("stdin"))
    output = result.output
    assert result.exit_code == case.get("exit", 1), output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in output
    flat = " ".join(output.split())
    for words in case["expect"]:
        assert words in flat, f"{words!r} not in {flat!r}"
    after = _tree(root)
    assert after == before, sorted(set(after) ^ set(before))
    assert not list(tmp_path.parent.glob("*escaped*"))
