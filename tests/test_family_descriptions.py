"""Each constraint family is described once (``asielplan.model.families``); these tests
build every family both ways on every fixture and compare: the Pyomo rows against the
family's sides and row values, the compiled matrix against the pair columns' entries,
the elastic model's optimum against the diagnosis, and the rows after a move against
the move check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

from asielplan.config import RegionBand
from asielplan.model.families import (
    ASSIGNMENT,
    COLUMN_FAMILIES,
    FAMILIES,
    MOVE_CRITERION,
    MOVE_EXCLUDED,
    MOVE_LOCKED,
    MOVE_OK,
    MOVE_SAME,
    PART_BOUNDS,
    RowState,
    build_placement_model,
    constraint_violations,
    evaluate_assignment,
    pair_terms,
    single_moves,
    violation_persons,
)
from asielplan.model.placement import (
    Pairs,
    PlacementData,
    band_limits,
    bounded_quantities,
    capacity_used,
    group_floor_values,
    placed_persons,
)
from asielplan.solvers.highs import HighsSession, compile_model
from asielplan.solvers.result import Status

from .placement_helpers import (
    FIXTURES,
    all_pairs,
    config,
    generated,
    prepared,
    school_places,
    variant,
)

PROVINCES = (RegionBand(level="province", lower=0.5, upper=1.5),)


def tiny_parts(tmp_path: Path) -> PlacementData:
    """Soft targets with bounds on a pair-linear part, a target gap and the labour."""
    bounds = {"distance": {"upper": 40.0}, "deviation": {"upper": 4}, "labour": {"lower": 1.5}}
    return prepared(FIXTURES / "tiny", config(part_bounds=bounds))[1]


def tiny_band(tmp_path: Path) -> PlacementData:
    """Band targets, province bands, households that may stay unplaced (a bound on them)."""
    cfg = config(
        target_mode="band",
        band_slack_persons=0,
        region_bands=PROVINCES,
        assignment="at_most_once",
        part_bounds={"unplaced": {"upper": 2}},
    )
    return prepared(FIXTURES / "tiny", cfg)[1]


def tiny_locks(tmp_path: Path) -> PlacementData:
    """A lock and an allowed list beside the family tie."""
    folder = variant(
        tmp_path,
        "tiny",
        {
            "allowed": "household_id,municipality\nH1,GM0001\nH1,GM0003\n",
            "locks": "household_id,municipality\nH3,GM0002\n",
        },
    )
    return prepared(folder, config(target_mode="band", band_slack_persons=1))[1]


def resettle_school(tmp_path: Path) -> PlacementData:
    """Capacities in persons and in a named dimension only one household needs."""
    folder = school_places(tmp_path, "L1,school_places,1\nL2,school_places,0\n")
    return prepared(folder, config())[1]


def generated_floors(tmp_path: Path) -> PlacementData:
    """Generated households on 8 municipalities: a group floor, province bands and a
    bound on households leaving their COA region."""
    cfg = config(
        group_floors={"women": 0.3},
        region_bands=(RegionBand(level="province", lower=0.8, upper=1.2),),
        part_bounds={"leave_coa_region": {"upper": 6}},
    )
    return generated(8, 30, 11, cfg)


CASES: dict[str, Callable[[Path], PlacementData]] = {
    "tiny_parts": tiny_parts,
    "tiny_band": tiny_band,
    "tiny_locks": tiny_locks,
    "resettle_school": resettle_school,
    "generated_floors": generated_floors,
}


def assignments(
    d: PlacementData, seed: int, count: int = 6, *, keep_locks: bool = False
) -> list[np.ndarray]:
    """Seeded assignments over compatible pairs, about one household in six unplaced
    (``keep_locks``: a locked household at its lock)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = np.array([rng.choice(np.flatnonzero(d.allowed[h])) for h in range(d.n_households)])
        a[rng.random(d.n_households) < 1 / 6] = -1
        if keep_locks:
            a = np.where(d.lock >= 0, d.lock, a)
        out.append(a)
    return out


def row_values(model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, a: np.ndarray) -> Any:
    """Every Pyomo row's body at assignment ``a``: x from ``a``; a part bound's quantity
    variable at 0 and the taakstelling's slacks and the unplaced indicators at what
    ``a`` implies when a part bound reads them, else at 0 (the row's own value)."""
    x = (a[pairs.h] == pairs.m).astype(float)
    position = {id(var): k for k, var in enumerate(model.x.values())}
    implied: dict[int, float] = {}
    if d.target is not None and hasattr(model, "short"):
        placed = np.bincount(a[a >= 0], weights=d.persons[a >= 0], minlength=d.n_municipalities)
        for m in range(d.n_municipalities):
            implied[id(model.short[m])] = max(float(d.target[m] - placed[m]), 0.0)
            implied[id(model.excess[m])] = max(float(placed[m] - d.target[m]), 0.0)
    if hasattr(model, "unplaced"):
        for h, var in model.unplaced.items():
            implied[id(var)] = float(a[h] < 0)

    def value(component: str, con: Any) -> float:
        repn = generate_standard_repn(con.body)
        total = float(repn.constant or 0.0)
        for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            if id(var) in position:
                total += coef * x[position[id(var)]]
            elif component == "part_bound":
                total += coef * implied.get(id(var), 0.0)
        return total

    return {
        family.component: {key: value(family.component, con) for key, con in comp.items()}
        for family in FAMILIES
        if (comp := getattr(model, family.component, None)) is not None
    }


def reference(d: PlacementData, a: np.ndarray) -> dict[str, tuple[Any, Any, Any]]:
    """Per family (by its name): row values, lower and upper sides read from the data
    directly, not through the families (persons placed, capacity used, regional totals,
    part quantities, expected employed group members)."""
    placed = placed_persons(d, a).astype(float)
    H, M = d.n_households, d.n_municipalities
    inf = np.full(M, np.inf)
    band = (-inf, inf)
    if d.target is not None and d.config.target_mode == "band":
        band = band_limits(d)
    quantities = bounded_quantities(d, a)
    parts = d.bounded_parts
    return {
        "compatibility": (
            ((a < 0) | d.allowed[np.arange(H), np.maximum(a, 0)]).astype(float),
            np.ones(H),
            np.ones(H),
        ),
        "assignment": (
            (a >= 0).astype(float),
            np.full(H, 0.0 if d.config.assignment == "at_most_once" else 1.0),
            np.ones(H),
        ),
        # without a taakstelling there are no target rows (and no pair enters one)
        "taakstelling band": (placed if d.target is not None else np.zeros(M), *band),
        "capacity": (
            capacity_used(d, a).ravel(),
            np.full(d.capacity.size, -np.inf),
            d.capacity.ravel(),
        ),
        "region band": (
            np.array([placed[r.members].sum() for r in d.regions]),
            np.array([r.lower for r in d.regions]),
            np.array([r.upper for r in d.regions]),
        ),
        "lock": (
            (a == d.lock).astype(float),
            np.where(d.lock >= 0, 1.0, -np.inf),
            np.where(d.lock >= 0, 1.0, np.inf),
        ),
        "part bound": (
            np.array([quantities[r.part] for r in parts]),
            np.array([-np.inf if r.lower is None else r.lower for r in parts]),
            np.array([np.inf if r.upper is None else r.upper for r in parts]),
        ),
        "group floor": (
            np.array(group_floor_values(d, a)),
            np.array([g.lower for g in d.group_floors]),
            np.full(len(d.group_floors), np.inf),
        ),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_families_read_the_data(case: str, tmp_path: Path) -> None:
    """Every family's row values at six assignments (all households, some unplaced,
    some at pairs the model does not have) and its sides are what the data says, read
    without the families."""
    d = CASES[case](tmp_path)
    rng = np.random.default_rng(1)
    for a in assignments(d, seed=2):
        stray = rng.random(d.n_households) < 0.2
        a = np.where(stray, rng.integers(0, d.n_municipalities, d.n_households), a)
        expected = reference(d, a)
        assert set(expected) == {f.name for f in FAMILIES}
        for family in FAMILIES:
            value, lower, upper = expected[family.name]
            rows = family.rows(d)
            assert family.activity(d, a) == pytest.approx(value, abs=1e-9), family.name
            assert np.array_equal(rows.lower, lower) and np.array_equal(rows.upper, upper)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pyomo_rows_are_the_families_rows(case: str, tmp_path: Path) -> None:
    """Every Pyomo row of a family has the family's sides (a part bound's through its
    quantity variable; a soft target is no hard row) and, at six assignments, the
    family's row value; a hard row the model leaves out is one no pair enters."""
    d = CASES[case](tmp_path)
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    checked = 0
    for a in assignments(d, seed=3):
        values = row_values(model, d, pairs, a)
        for family in FAMILIES:
            activity = family.activity(d, a)
            rows = family.rows(d)
            component = getattr(model, family.component, None) if family.component else None
            present = values.get(family.component, {}) if component is not None else {}
            for key, value in present.items():
                assert value == pytest.approx(activity[key], abs=1e-9), (family.name, key)
                checked += 1
                con = component[key]  # type: ignore[index]
                if family is PART_BOUNDS:
                    lower, upper = model.part_value[key].lb, model.part_value[key].ub
                elif family.name == "taakstelling band" and not rows.hard[key]:
                    assert d.soft_targets  # a target with penalised slacks: no hard row
                    continue
                elif family is ASSIGNMENT and d.config.assignment == "at_most_once":
                    # sum x + u = 1 with the unplaced indicator u in [0, 1]: 0 <= sum x <= 1
                    assert con.lb == con.ub == 1 and (rows.lower[key], rows.upper[key]) == (0, 1)
                    continue
                else:
                    lower, upper = con.lb, con.ub
                assert (-np.inf if lower is None else lower) == rows.lower[key]
                assert (np.inf if upper is None else upper) == rows.upper[key]
            missing = [k for k in np.flatnonzero(rows.hard) if k not in present]
            if family.component and family.in_columns:
                assert (activity[missing] == 0).all(), (family.name, missing)
    assert checked > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_columns_are_the_pair_terms(case: str, tmp_path: Path) -> None:
    """The compiled model's column of every pair holds exactly the entries
    ``pair_terms`` gives it (the entries the search uses for columns it appends)."""
    d = CASES[case](tmp_path)
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    compiled = compile_model(model)
    key_of = {}
    for family in COLUMN_FAMILIES:
        for key, con in getattr(model, family.component, {}).items():
            key_of[compiled.row(con)] = (family.component, key)
    column = {id(var): j for j, var in enumerate(compiled.columns)}
    A = compiled.A.tocsc()
    for k, var in enumerate(model.x.values()):
        j = column[id(var)]
        start, end = A.indptr[j], A.indptr[j + 1]
        found = {
            key_of[int(r)]: float(v)
            for r, v in zip(A.indices[start:end], A.data[start:end], strict=True)
            if int(r) in key_of
        }
        terms = pair_terms(d, pairs.h[k : k + 1], pairs.m[k : k + 1])
        wanted = {(name, int(keys[0])): float(c[0]) for name, keys, c in terms if c[0] != 0}
        assert found == pytest.approx(wanted), (int(pairs.h[k]), int(pairs.m[k]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_elastic_model_at_an_assignment_is_the_diagnosis(case: str, tmp_path: Path) -> None:
    """With x fixed at an assignment, the elastic model's optimum (its slacks as small
    as the rows allow) equals the objective recomputed with the diagnosis's violated
    persons (``violation_persons``), and those persons are the sum of the diagnosis's
    rows of the families the elastic model softens (locks it keeps)."""
    d = CASES[case](tmp_path)
    pairs = all_pairs(d)
    broken = 0
    for a in assignments(d, seed=5, count=4, keep_locks=True):
        model = build_placement_model(d, pairs, elastic=True, relax=True)
        for k, var in enumerate(model.x.values()):
            v = float(a[pairs.h[k]] == pairs.m[k])
            var.setlb(v)
            var.setub(v)
        compiled = compile_model(model)
        outcome = HighsSession(compiled, config().solver, relax=True).solve()
        assert outcome.status == Status.OPTIMAL and outcome.objective is not None
        expected = evaluate_assignment(d, a, elastic=True)
        assert -outcome.objective == pytest.approx(expected, rel=1e-9, abs=1e-6)
        table = constraint_violations(d, a)
        softened = {f.name for f in FAMILIES if f.elastic}
        persons = float(table[table.family.isin(softened)].violation.sum())
        assert violation_persons(d, a) == pytest.approx(persons, abs=1e-6)
        broken += len(table)
    assert broken > 0  # the random assignments break some rows


def test_compatibility_and_locks_are_diagnosed_but_not_softened(tmp_path: Path) -> None:
    """A household at an incompatible pair and a locked one elsewhere are diagnosed
    (their persons) while the elastic model, which keeps both, counts neither."""
    d = tiny_locks(tmp_path)
    a = np.array([1, 0, 0, 1, 0])  # H1 at GM0002 (not on its list), H3 not at its lock
    table = constraint_violations(d, a)
    rows = {(r.family, r.constraint): (r.bound, r.value, r.violation) for r in table.itertuples()}
    assert rows[("compatibility", "H1")] == ("allowed pair", "GM0002", int(d.persons[0]))
    assert rows[("lock", "H3")] == ("= GM0002", "GM0001", int(d.persons[2]))
    softened = table[table.family.isin({f.name for f in FAMILIES if f.elastic})]
    assert violation_persons(d, a) == pytest.approx(float(softened.violation.sum()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_move_checks_are_the_rows_after_the_move(case: str, tmp_path: Path) -> None:
    """For every single move from six assignments, the move check says a family's row
    goes further out of its sides exactly when the Pyomo rows after the move say so, its
    change of each row is the rows' difference, how much nearer their sides it brings
    them is the rows' too, and ``single_moves`` names the first such family (after the
    pair's own rules; a lock last)."""
    d = CASES[case](tmp_path)
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs)
    M = d.n_municipalities
    seen_break = 0
    for a in assignments(d, seed=7, count=6):
        before = row_values(model, d, pairs, a)
        state = RowState(d, a)
        h = np.repeat(np.arange(d.n_households), M)
        dst = np.tile(np.arange(M), d.n_households)
        batch = state.batch(h, a[h], dst)
        moves = single_moves(d, a, np.arange(d.n_households))
        for i in range(len(h)):
            b = a.copy()
            b[h[i]] = dst[i]
            after = row_values(model, d, pairs, b) if d.allowed[h[i], dst[i]] else None
            first = None
            for f, family in enumerate(state.families):
                rows = family.rows(d)
                if after is None:  # not a pair of the model: the family's own values
                    now, then = family.activity(d, a), family.activity(d, b)
                else:
                    keys = range(family.count(d))
                    now = np.array([before.get(family.component, {}).get(k, 0.0) for k in keys])
                    then = np.array([after.get(family.component, {}).get(k, 0.0) for k in keys])
                truth = bool(rows.breaks(np.arange(len(now)), now, then).any())
                assert bool(batch.breaks(f)[i]) == truth, (family.name, int(h[i]), int(dst[i]))
                for key in range(len(now)):
                    change = batch.change(f, key)[i]
                    assert change == pytest.approx(then[key] - now[key], abs=1e-9)
                nearer = rows.outside(now).sum() - rows.outside(then).sum()
                assert batch.brings_in(f)[i] == pytest.approx(nearer, abs=1e-9)
                if truth and first is None:
                    first = family.block
                seen_break += truth
            code = moves.blocked[h[i], dst[i]]
            if code in (MOVE_SAME, MOVE_CRITERION, MOVE_EXCLUDED):
                continue
            expected = first if first is not None else MOVE_OK
            if expected == MOVE_OK and d.lock[h[i]] >= 0:
                expected = MOVE_LOCKED
            assert code == expected, (int(h[i]), int(dst[i]))
    assert seen_break > 0
