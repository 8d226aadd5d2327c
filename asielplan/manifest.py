"""The run manifest: what produced a set of outputs, written next to them.

It holds the command, the configuration, the seed, the package versions and a SHA-256
of every input file, so a result can be traced and reproduced. It holds no clock time:
timings live in ``timings.json``, which is the one output that differs between runs.
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
        **(extra or {}),
    }


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(directory / "manifest.json", json_text(manifest))
