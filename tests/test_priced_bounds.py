"""The search with binding part bounds and group floors priced
(asielplan.solvers.placement): the priced model's pair values, and its plan on a bound or
a floor that binds tightly."""

from __future__ import annotations

import numpy as np
import pytest

from asielplan.config import SearchConfig, SolverConfig
from asielplan.data.instance import default_instance_path, read_instance
from asielplan.model.families import evaluate_assignment
from asielplan.model.placement import bounded_quantities, prepare_placement
from asielplan.solvers.placement import bounds_priced, floors_priced, solve_placement

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


def test_a_binding_group_floor_moves_into_the_scores_at_its_dual() -> None:
    """The pair instance (a man and a woman, two municipalities; labour weight 100):
    free, the woman goes to the weaker municipality; a floor at her chance in the
    stronger one binds in the LP (dual about -141.8). Priced, the floor's row is gone,
    every pair's score is the original plus factor x 141.8 / 100 x her expected
    employment there, and the priced model's optimum is the floored one (the woman in
    the stronger municipality); at the dual itself the two plans tie. No floor is priced
    at a dual of 0, or when labour is bounded too (its row would read the changed
    scores)."""
    from asielplan.model.labour import DEFAULT_MODEL, member_probabilities
    from asielplan.solvers.placement import PlacementSolution, _key_duals, _Search

    big = {"penalty_shortfall": 1000.0, "penalty_excess": 1000.0}
    inst, free = prepared(FIXTURES / "pair", config(**big))
    p = member_probabilities(inst.members, inst.municipalities, DEFAULT_MODEL)
    cfg = config(**big, group_floors={"women": float(p[1, 0]) - 1e-6})
    _, d = prepared(FIXTURES / "pair", cfg)
    found = _Search(d, cfg.solver, lambda message: None, False, 20.0).column_generation()
    assert not isinstance(found, PlacementSolution)
    outcome, _, _, maps = found
    assert outcome.row_duals is not None
    y = _key_duals(outcome.row_duals, maps)["group"]
    assert y.tolist() == pytest.approx([-141.808], abs=1e-3)
    priced = floors_priced(d, y, FACTOR)
    assert priced is not None and priced.group_floors == []
    raised = FACTOR * -y[0] / d.weight("labour") * d.group_floors[0].expected
    assert np.allclose(priced.score, d.score + raised)
    assert solve_placement(free, cfg.solver).assignment.tolist() == [0, 1]
    assert solve_placement(d, cfg.solver).assignment.tolist() == [1, 0]
    assert solve_placement(priced, cfg.solver).assignment.tolist() == [1, 0]
    # at the dual itself (factor 1) the floored plan and the free one tie in the priced
    # model: the floor's price makes up exactly what the free plan gains (sign and scale)
    at_dual = floors_priced(d, y, 1.0)
    assert at_dual is not None
    tie = [evaluate_assignment(at_dual, np.array(a), elastic=False) for a in ([1, 0], [0, 1])]
    assert tie[0] == pytest.approx(tie[1], abs=1e-3)
    assert floors_priced(d, np.zeros(1), FACTOR) is None
    floors = {"women": float(p[1, 0]) - 1e-6}
    labour = config(**big, group_floors=floors, part_bounds={"labour": {"lower": 0.1}})
    _, d_labour = prepared(FIXTURES / "pair", labour)
    assert floors_priced(d_labour, y, FACTOR) is None
