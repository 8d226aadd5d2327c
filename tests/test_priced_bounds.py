"""The search with binding part bounds priced (asielplan.solvers.placement): the priced
model's pair values, and its plan on a bound that binds tightly."""

from __future__ import annotations

import numpy as np
import pytest

from asielplan.config import SearchConfig, SolverConfig
from asielplan.data.instance import default_instance_path, read_instance
from asielplan.model.families import evaluate_assignment
from asielplan.model.placement import bounded_quantities, prepare_placement
from asielplan.solvers.placement import bounds_priced, solve_placement

from .placement_helpers import FIXTURES, config, prepared

FACTOR = SearchConfig().bound_price_factor


def test_a_binding_bound_moves_into_the_weights_at_its_dual() -> None:
    """On the tiny instance with an upper bound on distance (dual 0.3, maximisation
    sense) and a lower bound on labour (dual -2): the priced model has no bound rows,
    and every pair's value is the original less 0.3 x factor per km and plus 2 x factor
    per expected employed person; with both duals 0 nothing is priced (None)."""
    cfg = config(part_bounds={"distance": {"upper": 170.0}, "labour": {"lower": 1.0}})
    _, d = prepared(FIXTURES / "tiny", cfg)
    rows = np.arange(d.n_households)
    order = [row.part for row in d.bounded_parts]
    duals = np.array([{"distance": 0.3, "labour": -2.0}[part] for part in order])
    priced = bounds_priced(d, duals, FACTOR)
    assert priced is not None and priced.bounded_parts == []
    km = d.pair_part_rows("distance", rows)
    score = d.pair_part_rows("labour", rows)
    expected = d.value_rows(rows) - 0.3 * FACTOR * km + 2 * FACTOR * score
    assert np.allclose(priced.value_rows(rows), expected)
    assert bounds_priced(d, np.zeros(len(order)), FACTOR) is None


def test_a_bound_on_target_gaps_moves_into_the_target_penalties() -> None:
    """On the tiny instance under soft targets, an upper bound on the deviation (dual
    0.5) and one on the shortfall (dual 0.2): the priced model has no bound rows, its
    shortfall penalty is the original plus (0.5 + 0.2) x factor and its excess penalty
    plus 0.5 x factor, so each municipality's target penalty at every number of persons
    is the original plus the priced gaps."""
    bounds = {"deviation": {"upper": 3.0}, "shortfall": {"upper": 2.0}}
    cfg = config(part_bounds=bounds)
    _, d = prepared(FIXTURES / "tiny", cfg)
    order = [row.part for row in d.bounded_parts]
    duals = np.array([{"deviation": 0.5, "shortfall": 0.2}[part] for part in order])
    priced = bounds_priced(d, duals, FACTOR)
    assert priced is not None and priced.bounded_parts == []
    alpha, beta = d.config.penalty_shortfall, d.config.penalty_excess
    assert priced.config.penalty_shortfall == pytest.approx(alpha + 0.7 * FACTOR)
    assert priced.config.penalty_excess == pytest.approx(beta + 0.5 * FACTOR)
    assert d.target is not None
    m = np.arange(d.n_municipalities)
    for persons in range(0, 12):
        p = np.full(d.n_municipalities, float(persons))
        short, over = np.clip(d.target - p, 0, None), np.clip(p - d.target, 0, None)
        gaps = FACTOR * (0.5 * (short + over) + 0.2 * short)
        assert np.allclose(priced.target_penalty(m, p), d.target_penalty(m, p) + gaps)


def test_a_tight_distance_bound_gets_a_priced_plan_within_it() -> None:
    """The embedded default with total distance at most 48,000 km (the fewest km are
    about 47,100; the labour-best plan moves about 116,000): the search prices the
    binding bound, keeps the priced plan (better than the rounded LP's) and ends with a
    plan, valued by the bounded model, whose distance (re-derived from its assignment)
    keeps the bound."""
    inst = read_instance(default_instance_path())
    cfg = config(part_bounds={"distance": {"upper": 48_000.0}})
    d = prepare_placement(inst, cfg)
    solution = solve_placement(d, SolverConfig(time_limit=10, mip_gap=0.005))
    assert solution.status.has_solution
    assert solution.stats["priced_searches"] == 1
    assert solution.stats["priced_plan_kept"] == 1
    assert bounded_quantities(d, solution.assignment)["distance"] <= 48_000.0 + 1e-6
    # the objective reported is the bounded model's, not the priced one's
    original = evaluate_assignment(d, solution.assignment, elastic=False)
    assert solution.objective == pytest.approx(original, rel=1e-12)
