"""The bound over municipality patterns (asielplan.solvers.patterns): column generation
reaches the master over every pattern, the exact Lagrangian dual, and it lies below the
subgradient's bound where whole households matter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from asielplan.config import RegionBand, SearchConfig
from asielplan.model.families import coupling_sides, pair_terms
from asielplan.model.placement import PlacementData
from asielplan.solvers.heuristics import repair_and_improve, round_lp
from asielplan.solvers.lagrange import pair_values, penalties
from asielplan.solvers.patterns import pattern_bound, patterns_of
from asielplan.solvers.placement import PlacementSolution, _Search, solve_placement
from asielplan.solvers.result import Status

from .placement_helpers import config, generated

BOX = SearchConfig().pattern_box


def every_pattern_master(d: PlacementData) -> float:
    """The master LP over every feasible pattern of every municipality, enumerated
    (each subset of its compatible households whose persons its target term allows),
    solved by scipy's HiGHS: the exact Lagrangian dual, computed without column
    generation."""
    values = pair_values(d)
    top = int(d.persons.sum())
    term = penalties(d, np.arange(top + 1))
    H, M = d.n_households, d.n_municipalities
    sides = {
        name: np.flatnonzero(~np.isnan(lo) & ~np.isnan(up) & (np.isfinite(lo) | np.isfinite(up)))
        for name, (lo, up) in coupling_sides(d).items()
    }
    coupled = [(name, int(key)) for name, keys in sides.items() for key in keys]
    columns, worth = [], []
    for m in range(M):
        allowed = np.flatnonzero(d.allowed[:, m])
        for size in range(len(allowed) + 1):
            for chosen in itertools.combinations(allowed, size):
                hs = np.array(chosen, dtype=np.int64)
                value = term[m, int(d.persons[hs].sum())] + float(values[hs, m].sum())
                if not np.isfinite(value):
                    continue
                column = np.zeros(H + M + len(coupled))
                column[hs] = 1.0
                column[H + m] = 1.0
                for name, keys, coefs in pair_terms(d, hs, np.full(len(hs), m)):
                    for key, coef in zip(keys, coefs, strict=True):
                        if (name, int(key)) in coupled:
                            column[H + M + coupled.index((name, int(key)))] += coef
                columns.append(column)
                worth.append(value)
    if d.config.assignment == "at_most_once":  # a household may stay unplaced
        for h in range(H):
            column = np.zeros(H + M + len(coupled))
            column[h] = 1.0
            columns.append(column)
            worth.append(-d.config.unplaced_penalty * float(d.persons[h]))
    A = np.array(columns).T
    lower = np.concatenate([[coupling_sides(d)[n][0][k] for n, k in coupled]]) if coupled else []
    upper = np.concatenate([[coupling_sides(d)[n][1][k] for n, k in coupled]]) if coupled else []
    A_ub = np.vstack([A[H + M :], -A[H + M :]]) if coupled else None
    b_ub = np.concatenate([upper, -np.asarray(lower)]) if coupled else None
    if A_ub is not None:  # an open side is no row
        keep = np.isfinite(b_ub)
        A_ub, b_ub = A_ub[keep], b_ub[keep]
    found = linprog(-np.array(worth), A_ub=A_ub, b_ub=b_ub, A_eq=A[: H + M], b_eq=np.ones(H + M))
    assert found.status == 0, found.message
    return float(-found.fun)


CASES = {
    "soft": {},
    "band": {"target_mode": "band", "band_slack_persons": 1},
    "unplaced": {"assignment": "at_most_once", "unplaced_penalty": 15.0},
    "coupled": {
        "region_bands": (RegionBand(level="province", lower=0.8, upper=1.2),),
        "part_bounds": {"distance": {"upper": 900.0}},
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_column_generation_reaches_the_master_over_every_pattern(case: str) -> None:
    """On 12 generated households and 5 municipalities (soft targets; bands of one
    person; households that may stay unplaced at 15 a person; a province band and a
    bound on distance, rows the master keeps), column generation from the solver's plan
    alone ends exact and its bound is the value of the master over every pattern
    enumerated (to 1e-6), which is at least the plan's objective."""
    cfg = config(**CASES[case])
    d = generated(5, 12, 3, cfg)
    plan = solve_placement(d, cfg.solver)
    assert plan.status.has_solution and plan.objective is not None
    found = pattern_bound(d, plan.assignment, [], 500, lambda bound: False, lambda: 60.0, box=BOX)
    assert found.closed
    exact = every_pattern_master(d)
    assert found.bound == pytest.approx(exact, rel=1e-6)
    assert found.master == pytest.approx(exact, rel=1e-6)
    assert found.bound >= plan.objective - 1e-6


def test_patterns_lower_the_bound_below_the_subgradient() -> None:
    """On 150 generated households and 30 municipalities (soft targets of a few persons)
    the subgradient's bound at the LP optimum stops above the exact Lagrangian dual:
    from the same start, the pattern rounds end exact, strictly below it and still at
    least the plan a full search finds (to the default gap)."""
    cfg = config()
    d = generated(30, 150, 1, cfg)
    bounds = {}
    for rounds in (0, 500):
        solver = cfg.solver.model_copy(
            update={"mip_gap": 1e-9, "search": SearchConfig(pattern_rounds=rounds)}
        )
        search = _Search(d, solver, lambda message: None, False, 60.0)
        found = search.column_generation()
        assert not isinstance(found, PlacementSolution)
        outcome, lp, x, maps = found
        search.offer(repair_and_improve(d, lp, round_lp(d, lp, x)))
        search.tighten_bound(outcome.row_duals, maps, lp)
        assert search.bound is not None
        bounds[rounds] = -search.bound
        if rounds:
            assert search.stats["pattern_dual_exact"] == 1
            assert search.stats["pattern_rounds"] >= 1
    assert bounds[500] < bounds[0] - 1.0
    best = solve_placement(d, cfg.solver.model_copy(update={"mip_gap": 1e-3}))
    assert best.status == Status.OPTIMAL and best.objective is not None
    assert bounds[500] >= best.objective - 1e-6


def test_a_short_run_puts_the_pattern_rounds_after_its_first_plans() -> None:
    """With less time left than ``patterns_first_seconds`` after the subgradient rounds
    (here: always, 10^6 s), the pattern rounds wait for the restricted MIP's first
    neighbourhood rounds, then run, end exact and prove the run (the same instance as
    above, gap 1e-4 asked, which the first plans do not prove): the last bound of the
    trace is the run's and came with its final plan already found."""
    cfg = config()
    d = generated(30, 150, 1, cfg)
    search = SearchConfig(patterns_first_seconds=1e6)
    solver = cfg.solver.model_copy(update={"mip_gap": 1e-4, "time_limit": 40, "search": search})
    later = solve_placement(d, solver)
    assert later.status == Status.OPTIMAL
    assert later.stats["pattern_rounds"] >= 1
    assert later.stats["pattern_dual_exact"] == 1
    assert later.trace is not None and later.bound is not None
    last = later.trace[later.trace["event"] == "bound"].iloc[-1]
    assert last["bound"] == pytest.approx(later.bound)
    assert last["objective"] == pytest.approx(later.objective)
    first_plan = later.trace[later.trace["event"] == "incumbent"].iloc[0]
    assert first_plan["objective"] < later.objective - 1e-6


def test_a_plan_becomes_one_pattern_per_municipality() -> None:
    """``patterns_of`` groups a plan's pairs by municipality, households sorted: the
    plan (0 -> 2, 1 -> 0, 2 -> 2, 3 unplaced) is the patterns (0, [1]) and (2, [0, 2])."""
    plan = np.array([2, 0, 2, -1])
    placed = plan >= 0
    patterns = patterns_of(np.flatnonzero(placed), plan[placed])
    assert [(m, hs.tolist()) for m, hs in patterns] == [(0, [1]), (2, [0, 2])]
