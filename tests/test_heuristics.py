"""The primal heuristics keep the rows a move can break: bounded objective parts and
group floors (local search), and bring a plan that breaks them back (repair)."""

from __future__ import annotations

import itertools

import numpy as np

from asielplan.model.placement import Pairs, bounded_quantities, constraint_violations
from asielplan.model.placement import group_floor_values as floor_values
from asielplan.solvers.heuristics import improve_by_moves, repair_bounds

from .placement_helpers import FIXTURES, config, prepared


def all_pairs(d: object) -> Pairs:
    h, m = np.nonzero(d.allowed)  # type: ignore[attr-defined]
    return Pairs(h, m)


def test_local_search_never_leaves_a_distance_bound() -> None:
    """From every feasible plan of the tiny instance under a distance bound, the moves
    end at a plan that still meets the bound and is at least as good."""
    from asielplan.model.placement import evaluate_assignment

    unbounded = prepared(FIXTURES / "tiny", config())[1]
    pairs = all_pairs(unbounded)
    options = [np.flatnonzero(unbounded.allowed[h]).tolist() for h in range(5)]
    km = [
        bounded_quantities(unbounded, np.array(c))["distance"] for c in itertools.product(*options)
    ]
    bound = float(np.median(km))
    _, d = prepared(FIXTURES / "tiny", config(part_bounds={"distance": {"upper": bound}}))
    checked = 0
    for combo in itertools.product(*options):
        a = np.array(combo)
        if len(constraint_violations(d, a)):
            continue
        after = improve_by_moves(d, pairs, a)
        assert not len(constraint_violations(d, after))
        assert (
            evaluate_assignment(d, after, elastic=False)
            >= evaluate_assignment(d, a, elastic=False) - 1e-9
        )
        checked += 1
    assert checked > 10


def test_repair_brings_a_plan_back_within_distance_bound_and_group_floor() -> None:
    """The labour optimum of the pair instance gives the woman the weaker municipality;
    under a floor of 0.2 on women's mean (above her chance there, below it in the
    stronger one) repair moves her to the stronger one and the floor holds. On the tiny
    instance the farthest plan is brought within a distance bound it breaks."""
    floored = config(penalty_shortfall=1000.0, penalty_excess=1000.0, group_floors={"women": 0.2})
    _, d = prepared(FIXTURES / "pair", floored)
    pairs = all_pairs(d)
    start = np.array([0, 1])  # the man in Aastad, the woman in Bedorp
    assert floor_values(d, start)[0] < d.group_floors[0].lower
    repaired = repair_bounds(d, pairs, start)
    assert repaired[1] == 0
    assert floor_values(d, repaired)[0] >= d.group_floors[0].lower

    _, free = prepared(FIXTURES / "tiny", config())
    options = [np.flatnonzero(free.allowed[h]).tolist() for h in range(5)]
    plans = [np.array(c) for c in itertools.product(*options)]
    km = [bounded_quantities(free, a)["distance"] for a in plans]
    far = plans[int(np.argmax(km))]
    bound = float(np.min(km)) + 0.25 * (max(km) - min(km))
    _, d2 = prepared(FIXTURES / "tiny", config(part_bounds={"distance": {"upper": bound}}))
    assert bounded_quantities(d2, far)["distance"] > bound
    fixed = repair_bounds(d2, all_pairs(d2), far)
    assert bounded_quantities(d2, fixed)["distance"] <= bound + 1e-9
