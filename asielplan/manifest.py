"""The run manifest: what produced a set of outputs, written next to them.

It holds the command, the configuration, the seed, the package versions and a SHA-256
of every input file, so a result can be traced and reproduced. It holds no clock time:
the clock lives in ``timings.json`` (seconds per step) and ``trace.csv`` (the search's
plan and bound over its seconds), the outputs that differ between runs (:data:`CLOCK`).
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from asielplan.io import atomic_write_text, json_text, sha256_file

PACKAGES = (
    "asielplan",
    "pyomo",
    "highspy",
    "pandas",
    "numpy",
    "pandera",
    "pydantic",
    "networkx",
    "geopandas",
)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def code_version() -> dict[str, str | None]:
    """The version of the code that ran: the package's version and, when it runs from a
    git checkout, the commit checked out (read from ``.git``, no git program needed;
    None outside a checkout). Edits not committed are not seen."""
    root = Path(__file__).resolve().parents[1]
    return {"version": versions()["asielplan"], "commit": _git_commit(root / ".git")}


def _git_commit(git: Path) -> str | None:
    """The commit HEAD names in the repository folder ``git`` (a loose or packed ref, or
    a detached HEAD), or None."""
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head.removeprefix("ref: ")
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip() or None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    except OSError:
        return None
    return None


def input_hashes(paths: list[Path], root: Path | None = None) -> dict[str, str]:
    """SHA-256 per input file, keyed by the path relative to ``root`` when given (the
    resolved path for a file outside it)."""
    out = {}
    for path in sorted(set(paths)):
        if root is None:
            key = path.name
        elif path.resolve().is_relative_to(root.resolve()):
            key = str(path.resolve().relative_to(root.resolve()))
        else:
            key = str(path.resolve())
        out[key] = sha256_file(path)
    return out


def instance_files(root: Path) -> list[Path]:
    return [
        p
        for p in sorted(root.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"
    ]


def build_manifest(
    command: str,
    *,
    seed: int,
    config: dict[str, Any] | None = None,
    inputs: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "command": command,
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],
        "seed": seed,
        "config": config or {},
        "inputs_sha256": inputs or {},
        "versions": versions(),
        "code": code_version(),
        **(extra or {}),
    }


TIMINGS = "timings.json"
TRACE = "trace.csv"
CLOCK = (TIMINGS, TRACE)  # the outputs that hold clock times: they differ, never hashed


def write_manifest(directory: Path, manifest: dict[str, Any], outputs: bool = True) -> None:
    """``manifest.json`` in ``directory``, with (``outputs``) the SHA-256 of every file
    written there before it (``outputs_sha256``, by path in the folder; not the clock):
    a reader can tell a run's files from ones changed, cut short or swapped since."""
    if outputs:
        manifest = {**manifest, "outputs_sha256": output_hashes(directory)}
    atomic_write_text(directory / "manifest.json", json_text(manifest))


def output_hashes(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
        and path.name not in CLOCK
        and path.relative_to(directory).as_posix() != "manifest.json"
    }


def check_outputs(directory: Path, manifest: dict[str, Any]) -> list[str]:
    """The files of ``directory`` that do not match its manifest's ``outputs_sha256``
    (missing, or changed since the run), each as ``name: why``; empty when all match or
    the manifest predates the record."""
    recorded = manifest.get("outputs_sha256")
    if recorded is None:
        return []
    if not isinstance(recorded, dict):
        return ["manifest.json: outputs_sha256 is not a table of files"]
    problems = []
    for name, digest in sorted(recorded.items()):
        path = directory / str(name)
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: changed since the run (its SHA-256 differs)")
    return problems
