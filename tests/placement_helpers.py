"""Helpers for the placement tests: instances with small changes, and brute force."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np

from asielplan.config import PlacementConfig, RunConfig, SolverConfig
from asielplan.data.instance import Instance, read_instance
from asielplan.model.families import evaluate_assignment
from asielplan.model.placement import Pairs, PlacementData, prepare_placement

FIXTURES = Path(__file__).parent / "fixtures"


def variant(
    tmp_path: Path,
    base: str,
    extra_tables: dict[str, str],
    replace: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """Copy fixture ``base`` to tmp_path, add tables (name -> CSV text), edit files."""
    folder = tmp_path / base
    shutil.copytree(FIXTURES / base, folder)
    toml = (folder / "instance.toml").read_text()
    for name, text in extra_tables.items():
        (folder / f"{name}.csv").write_text(text)
        toml += f'\n[tables.{name}]\npath = "{name}.csv"\n'
    (folder / "instance.toml").write_text(toml)
    for file, (old, new) in (replace or {}).items():
        path = folder / file
        content = path.read_text()
        assert old in content, f"{old!r} not in {file}"
        path.write_text(content.replace(old, new))
    return folder


def school_places(tmp_path: Path, places: str) -> Path:
    """The resettle fixture with a named capacity dimension, school places: household C
    (one child) needs one, and ``places`` (CSV rows ``L1,school_places,1``) are the
    locations' capacities in it."""
    return variant(
        tmp_path,
        "resettle",
        {"needs": "household_id,dimension,need\nC,school_places,1\n"},
        {"capacities.csv": ("L2,persons,2\n", "L2,persons,2\n" + places)},
    )


def config(**placement: object) -> RunConfig:
    return RunConfig(
        solver=SolverConfig(time_limit=20, mip_gap=1e-6),
        placement=PlacementConfig(**placement),  # type: ignore[arg-type]
    )


def brute_force(d: PlacementData) -> tuple[float, np.ndarray]:
    """The best objective over every assignment that breaks no hard rule (tiny only)."""
    from asielplan.model.families import constraint_violations

    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    best, best_a = -np.inf, None
    for combo in itertools.product(*options):
        a = np.array(combo)
        if len(constraint_violations(d, a)):
            continue
        value = evaluate_assignment(d, a, elastic=False)
        if value > best + 1e-9:
            best, best_a = value, a
    assert best_a is not None
    return best, best_a


def prepared(path: Path, cfg: RunConfig) -> tuple[Instance, PlacementData]:
    inst = read_instance(path)
    return inst, prepare_placement(inst, cfg)


def generated(municipalities: int, households: int, seed: int, cfg: RunConfig) -> PlacementData:
    """Households generated on synthetic municipalities (4 provinces), prepared."""
    from asielplan.data.generator import generate_instance, synthetic_municipalities

    inst = generate_instance(
        synthetic_municipalities(municipalities, 4), households, seed, name="generated"
    )
    return prepare_placement(inst, cfg)


def all_pairs(d: PlacementData) -> Pairs:
    """Every compatible pair of ``d``."""
    h, m = np.nonzero(d.allowed)
    return Pairs(h, m)
