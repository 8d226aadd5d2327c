"""One small test per constraint family of the placement model, each on a hand-made
instance; the last test fails when a family is added without a test of its own."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from asielplan.config import RegionBand
from asielplan.model import placement as pm
from asielplan.model.families import FAMILIES, build_placement_model, evaluate_assignment
from asielplan.model.placement import Pairs
from asielplan.solvers.highs import HighsSession, compile_model
from asielplan.solvers.result import Status

from .placement_helpers import FIXTURES, all_pairs, config, prepared, variant


def solve(model: pyo.ConcreteModel) -> float:
    """Solve a model with HiGHS and load the values into it; returns the objective."""
    compiled = compile_model(model)
    outcome = HighsSession(compiled, config().solver, relax=False).solve()
    assert outcome.status == Status.OPTIMAL and outcome.x is not None
    for var, value in zip(compiled.columns, outcome.x, strict=True):
        var.set_value(float(value), skip_validation=True)
    return -outcome.objective  # type: ignore[operator]


def x_matrix(model: pyo.ConcreteModel, d: pm.PlacementData, pairs: Pairs) -> np.ndarray:
    x = np.zeros((d.n_households, d.n_municipalities))
    for k in range(len(pairs)):
        x[pairs.h[k], pairs.m[k]] = pyo.value(model.x[k])
    return x


def test_family_compatible_pairs(tmp_path: Path) -> None:
    """Ties restrict to the radius, the allowed list restricts, forbids remove, locks
    leave only the locked pair; what the tie rules out and what a lock would leave are
    kept apart (for the explanations)."""
    folder = variant(
        tmp_path,
        "tiny",
        {
            "allowed": "household_id,municipality\nH1,GM0001\nH1,GM0003\n",
            "forbidden": "household_id,municipality\nH2,GM0004\n",
            "locks": "household_id,municipality\nH3,GM0002\n",
        },
    )
    _, d = prepared(folder, config())
    allowed = d.allowed
    assert allowed[0].tolist() == [True, False, True, False]  # H1: its allowed list
    assert allowed[1].tolist() == [True, True, True, False]  # H2: GM0004 forbidden
    assert allowed[2].tolist() == [False, True, False, False]  # H3: locked to GM0002
    assert allowed[3].tolist() == [False, True, False, False]  # H4: family tie, radius 0
    assert allowed[4].all()
    assert d.lock.tolist() == [-1, -1, 1, -1, -1]
    assert d.by_criterion[3].tolist() == [True, False, True, True]  # only H4 has a tie
    assert not d.by_criterion[[0, 1, 2, 4]].any()
    assert d.unlocked[2].all() and (d.unlocked[[0, 1, 3, 4]] == allowed[[0, 1, 3, 4]]).all()


def test_family_assignment() -> None:
    """Every household's x sums to exactly 1; with at_most_once an unplaced variable
    joins the row."""
    _, d = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    solve(model)
    assert np.allclose(x_matrix(model, d, pairs).sum(axis=1), 1.0)
    assert not hasattr(model, "unplaced")
    _, d2 = prepared(FIXTURES / "tiny", config(assignment="at_most_once"))
    model2 = build_placement_model(d2, all_pairs(d2))
    assert len(model2.unplaced) == 5
    assert "unplaced" in str(model2.assign[0].body)


def test_family_taakstelling() -> None:
    """Soft: placed + short - excess = target with short and excess the deviations
    (both > 0 never pays); band: lower <= placed <= upper."""
    _, d = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    solve(model)
    placed = x_matrix(model, d, pairs).T @ d.persons
    short = np.array([pyo.value(model.short[m]) for m in range(4)])
    excess = np.array([pyo.value(model.excess[m]) for m in range(4)])
    assert np.allclose(placed + short - excess, d.target)
    assert np.allclose(short * excess, 0.0)
    _, band = prepared(FIXTURES / "tiny", config(target_mode="band", band_slack_persons=2))
    banded = build_placement_model(band, all_pairs(band))
    assert not hasattr(banded, "short")
    lower, upper = pm.band_limits(band)
    assert pyo.value(banded.target[0].lower) == lower[0] == 4  # floor(.95*7) - 2
    assert pyo.value(banded.target[0].upper) == upper[0] == 10  # ceil(1.05*7) + 2


def test_family_capacity() -> None:
    """Locations with a capacity get a row; placed persons stay within it."""
    _, d = prepared(FIXTURES / "resettle", config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    assert sorted(model.capacity.keys()) == [0, 1]
    solve(model)
    placed = x_matrix(model, d, pairs).T @ d.persons
    assert (placed <= d.capacity + 1e-9).all()


def test_family_region_bands() -> None:
    """One row per region of each banded level, with floor/ceil of the shares."""
    cfg = config(region_bands=(RegionBand(level="province", lower=0.5, upper=1.5),))
    _, d = prepared(FIXTURES / "tiny", cfg)
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    assert len(model.region) == 2
    # P1 = Aastad + Bedorp, target 7 + 2 = 9 -> [4, 14]; P2 = 2 + 0 -> [1, 3]
    assert [(r.code, r.lower, r.upper) for r in d.regions] == [("P1", 4, 14), ("P2", 1, 3)]
    solve(model)
    placed = x_matrix(model, d, pairs).T @ d.persons
    for region in d.regions:
        assert region.lower <= placed[region.members].sum() <= region.upper


def test_family_locks(tmp_path: Path) -> None:
    """A lock is a row x = 1 on the locked pair, and the solution keeps it."""
    folder = variant(tmp_path, "tiny", {"locks": "household_id,municipality\nH5,GM0004\n"})
    _, d = prepared(folder, config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    assert list(model.lock.keys()) == [4]
    solve(model)
    assert x_matrix(model, d, pairs)[4, 3] == pytest.approx(1.0)


def test_family_part_bounds() -> None:
    """A bound on a named objective part is a row that holds the part's quantity: the
    free optimum's distance, capped 1 km lower, is met by the bounded optimum (which
    is worse); a bound on the shortfall (a part carried by slack variables) holds too."""
    _, d = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(d)
    free = build_placement_model(d, pairs)
    free_objective = solve(free)
    free_km = float(d.distance(pairs.h, pairs.m) @ x_matrix(free, d, pairs)[pairs.h, pairs.m])
    assert free_km > 1
    capped = config(part_bounds={"distance": {"upper": free_km - 1}, "shortfall": {"upper": 3}})
    _, d2 = prepared(FIXTURES / "tiny", capped)
    assert [row.part for row in d2.bounded_parts] == ["distance", "shortfall"]
    model = build_placement_model(d2, pairs)
    assert len(model.part_bound) == 2
    objective = solve(model)
    x = x_matrix(model, d2, pairs)[pairs.h, pairs.m]
    km = float(d2.distance(pairs.h, pairs.m) @ x)
    short = sum(pyo.value(model.short[m]) for m in range(4))
    assert km <= free_km - 1 + 1e-6 and km == pytest.approx(pyo.value(model.part_value[0]))
    assert short <= 3 + 1e-6 and short == pytest.approx(pyo.value(model.part_value[1]))
    assert objective < free_objective - 1e-6


def test_family_group_floors() -> None:
    """A floor on adult women's mean employment probability is a row over the pairs: on
    the pair instance the free optimum gives the woman the weaker municipality; a floor
    at her chance in the stronger one moves her there and the man out (the only other
    plan), the row holds at the optimum and its dual is reported as a price."""
    from asielplan.model.labour import DEFAULT_MODEL, member_probabilities

    big = {"penalty_shortfall": 1000.0, "penalty_excess": 1000.0}
    inst, d = prepared(FIXTURES / "pair", config(**big))
    p = member_probabilities(inst.members, inst.municipalities, DEFAULT_MODEL)
    pairs = all_pairs(d)
    free = build_placement_model(d, pairs)
    solve(free)
    assert x_matrix(free, d, pairs)[:, 0].tolist() == [1.0, 0.0]  # the man in Aastad
    floored = config(**big, group_floors={"women": float(p[1, 0]) - 1e-6})
    _, d2 = prepared(FIXTURES / "pair", floored)
    assert [(r.group, r.members) for r in d2.group_floors] == [("women", 1)]
    model = build_placement_model(d2, pairs)
    assert len(model.group) == 1
    objective = solve(model)
    x = x_matrix(model, d2, pairs)
    assert x[:, 0].tolist() == [0.0, 1.0]  # the woman in Aastad
    assert float((d2.group_floors[0].expected * x).sum()) == pytest.approx(p[1, 0])
    assert objective == pytest.approx(
        100 * (p[0, 1] + p[1, 0]) - 0.05 * float(d2.distance(np.array([0]), np.array([1]))[0])
    )


def test_family_objective() -> None:
    """The model's optimum equals the objective recomputed from the assignment: pair
    values minus the deviation penalties."""
    _, d = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    objective = solve(model)
    assignment = x_matrix(model, d, pairs).argmax(axis=1)
    assert objective == pytest.approx(evaluate_assignment(d, assignment, elastic=False))


def test_every_family_has_a_test() -> None:
    """Each constraint family (and the objective) has its own test here, named after
    its class (``RegionBands``: ``test_family_region_bands``)."""
    families = [snake(type(f).__name__) for f in FAMILIES] + ["objective"]
    module = sys.modules[__name__]
    missing = [f for f in families if not hasattr(module, f"test_family_{f}")]
    assert not missing, f"families without a test: {missing}"


def snake(name: str) -> str:
    """``RegionBands`` -> ``region_bands``."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
