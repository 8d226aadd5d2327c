"""The Lagrangian bound over whole households (asielplan.solvers.lagrange): a valid
upper bound for any multipliers, and a proof where the LP bound cannot give one."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pytest

from asielplan.config import RunConfig, SearchConfig
from asielplan.model.placement import Pairs
from asielplan.solvers.lagrange import (
    gaps_priced,
    lagrangian_bound,
    pair_values,
    penalties,
    subproblems,
)
from asielplan.solvers.placement import solve_placement
from asielplan.solvers.result import Status

from .placement_helpers import FIXTURES, brute_force, config, generated, prepared

AIM = SearchConfig().aim_share


def test_whole_households_prove_what_the_lp_cannot() -> None:
    """Two municipalities with a target of 3 persons each and three households of 2:
    the LP splits a household and meets both targets (210, no penalty), whole
    households leave one municipality a person short and the other one over (by hand:
    A -> L1 (90), C -> L2 (70), B beside either, 40 or 60, less 2 x 20 = 180 at best).
    The Lagrangian bound is that 180: the run is proven optimal below its LP bound."""
    cfg = config()
    _, d = prepared(FIXTURES / "resettle", cfg)
    d = dataclasses.replace(
        d,
        persons=np.array([2, 2, 2]),
        target=np.array([3, 3]),
        capacity=np.zeros((0, 2)),
        capacity_dimensions=(),
        need=np.zeros((3, 0)),
    )
    best, _ = brute_force(d)
    assert best == pytest.approx(180.0)
    solution = solve_placement(d, cfg.solver)
    assert solution.lp_bound == pytest.approx(210.0)
    assert solution.bound == pytest.approx(180.0)
    assert solution.status == Status.OPTIMAL
    assert solution.stats["lagrange_rounds"] >= 1


@pytest.mark.parametrize("mode", ["soft", "band"])
def test_the_bound_holds_for_any_multipliers(mode: str) -> None:
    """On the tiny instance (a taakstelling, a family tie) the value L(lambda) is at
    least the brute-force optimum for 50 seeded random multipliers, with a soft target
    and with a band."""
    cfg = config(target_mode=mode, band_slack_persons=1)
    _, d = prepared(FIXTURES / "tiny", cfg)
    best, _ = brute_force(d)
    rng = np.random.default_rng(5)
    for _ in range(50):
        lam = rng.normal(0, 60, d.n_households)
        value = lagrangian_bound(d, lam, -np.inf, rounds=1, aim_share=AIM).bound  # L(lam) itself
        assert np.isfinite(value) and value >= best - 1e-6


def test_coupling_rows_priced_by_any_duals_keep_the_bound() -> None:
    """With a region band, a bound on distance and ones on the shortfall and the
    deviation (priced into the target penalties where the sign's side is bounded and the
    penalties stay positive), L(lambda) with random multipliers on the coupling rows
    (any sign: the sign picks the side) stays at least the brute-force optimum; the solver's
    bound with all this is still at least the optimum it proves; and at the LP's own
    duals (the distance bound binds: its dual is not 0) L lies between the optimum and
    the LP bound."""
    from asielplan.config import RegionBand

    cfg = config(
        region_bands=(RegionBand(level="province", lower=0.9, upper=1.1),),
        part_bounds={
            "distance": {"upper": 170.0},
            "shortfall": {"upper": 4},
            "deviation": {"lower": 1, "upper": 6},
        },
    )
    _, d = prepared(FIXTURES / "tiny", cfg)
    best, _ = brute_force(d)
    rng = np.random.default_rng(9)
    gaps = 0
    for _ in range(50):
        lam = rng.normal(0, 60, d.n_households)
        duals = {
            "region": rng.normal(0, 20, len(d.regions)),
            "part_bound": rng.normal(0, 5, len(d.bounded_parts)),
        }
        value = lagrangian_bound(d, lam, -np.inf, rounds=1, duals=duals, aim_share=AIM).bound
        assert np.isfinite(value) and value >= best - 1e-6
        gaps += gaps_priced(d, duals["part_bound"])[0] is not d
    assert gaps >= 10  # of the 50, so many with a target gap priced
    solution = solve_placement(d, cfg.solver)
    assert solution.objective == pytest.approx(best)
    assert solution.bound is not None and solution.bound >= best - 1e-6
    # at the final LP's own duals the relaxation is no weaker than the LP (a wrong sign
    # on a coupling row's price would lift it above)
    lp = solution.duals
    lam = lp["assignment"].reindex(d.household_ids.astype(str)).to_numpy(float)
    regions = [f"{r.level}:{r.code}" for r in d.regions]
    duals = {
        "region": lp["region_bands"].reindex(regions).fillna(0).to_numpy(float),
        "part_bound": lp["part_bounds"]
        .reindex([row.part for row in d.bounded_parts])
        .fillna(0)
        .to_numpy(float),
    }
    assert np.abs(duals["region"]).max() + np.abs(duals["part_bound"]).max() > 1e-6
    at_lp = lagrangian_bound(d, lam, -np.inf, rounds=1, duals=duals, aim_share=AIM).bound
    assert best - 1e-6 <= at_lp <= solution.lp_bound + 1e-6


def test_a_binding_deviation_bound_is_priced_into_the_knapsacks() -> None:
    """A generated instance (30 households, 8 municipalities, seed 3, penalties of 0.3
    per person) whose plans leave 68 persons off target, with the deviation at most 48:
    solved to a gap of 0 (1,135.29) below its LP bound (1,138.29). From the LP's duals
    (the bound's is not 0) the Lagrangian bound lies between the two, at 1,136.32: the
    relaxation keeps the bound in its penalties. Left out, it lies above the LP bound
    (about 1,147); without the bound's constant, below the optimum (about 1,097)."""
    cfg = config(
        penalty_shortfall=0.3, penalty_excess=0.3, part_bounds={"deviation": {"upper": 48}}
    )
    cfg = cfg.model_copy(
        update={"solver": cfg.solver.model_copy(update={"mip_gap": 0.0, "time_limit": 60})}
    )
    d = generated(8, 30, 3, cfg)
    solution = solve_placement(d, cfg.solver)
    assert solution.status == Status.OPTIMAL and solution.objective is not None
    assert solution.objective == pytest.approx(1135.289, abs=1e-3)
    assert solution.lp_bound == pytest.approx(1138.293, abs=1e-3)
    lp = solution.duals
    lam = lp["assignment"].reindex(d.household_ids.astype(str)).to_numpy(float)
    duals = {"part_bound": lp["part_bounds"].reindex(["deviation"]).to_numpy(float)}
    assert duals["part_bound"][0] > 0.5
    bound = lagrangian_bound(d, lam, -np.inf, rounds=300, duals=duals, aim_share=AIM).bound
    assert solution.objective - 1e-6 <= bound <= solution.lp_bound - 1.0
    assert bound == pytest.approx(1136.318, abs=1e-3)


@pytest.mark.parametrize("mode", ["soft", "band"])
def test_each_municipality_gets_its_best_set_of_whole_households(mode: str) -> None:
    """The knapsack over household sizes is exact: on the tiny instance, for 20 seeded
    random multipliers, each municipality's value equals the best over every subset of
    its compatible households (brute force: sum of value less multiplier, plus the
    target penalty of the persons taken), and the households it reports chosen realise
    that value."""
    cfg = config(target_mode=mode, band_slack_persons=1)
    _, d = prepared(FIXTURES / "tiny", cfg)
    values = pair_values(d)
    rng = np.random.default_rng(11)
    n = d.persons
    top = int(n.sum())
    penalty = penalties(d, np.arange(top + 1))
    for _ in range(20):
        lam = rng.normal(40, 60, d.n_households)
        found = subproblems(d, lam, values)
        assert found is not None
        value = found.value
        # the chosen pairs realise each municipality's value
        for m in range(d.n_municipalities):
            picked = found.h[found.m == m]
            total = float((values[picked, m] - lam[picked]).sum())
            assert total + penalty[m, int(n[picked].sum())] == pytest.approx(value[m], abs=1e-9)
            assert len(set(picked.tolist())) == len(picked)  # each household once
        assert d.allowed[found.h, found.m].all()
        assert np.array_equal(found.count, np.bincount(found.h, minlength=d.n_households))
        for m in range(d.n_municipalities):
            allowed = np.flatnonzero(d.allowed[:, m])
            best = -np.inf
            for size in range(len(allowed) + 1):
                for chosen in itertools.combinations(allowed, size):
                    picked = list(chosen)
                    total = float((values[picked, m] - lam[picked]).sum())
                    best = max(best, total + penalty[m, int(n[picked].sum())])
            assert value[m] == pytest.approx(best, abs=1e-9)


def at_lp_optimum(cfg: RunConfig) -> tuple[Any, Any, tuple[Any, Pairs, np.ndarray, Any]]:
    """A search on households generated on 20 synthetic municipalities (80 households,
    targets of a few persons), after column generation: the data, the search and its
    LP optimum (outcome, pairs, values, row maps)."""
    from asielplan.solvers.placement import PlacementSolution, _Search

    d = generated(20, 80, 5, cfg)
    search = _Search(d, cfg.solver, lambda message: None, False, 20.0)
    found = search.column_generation()
    assert not isinstance(found, PlacementSolution)
    return d, search, found


def test_the_knapsacks_choices_become_a_plan_and_join_the_mip() -> None:
    """On a generated instance (80 households, 20 municipalities, targets of a few
    persons) the bound's rounds offer plans from the municipalities' choices: after
    ``tighten_bound`` from the rounded LP improved by single moves (as those plans are
    finished; with ejections too, the search's own first incumbent, the rounded LP is
    as good as they are here), the incumbent is a plan that breaks no rule and is
    better. The chosen
    pairs are handed to the restricted MIP's pair set (wiring: they are among its pairs
    even at one pair per household)."""
    from asielplan.model.families import constraint_violations
    from asielplan.solvers.heuristics import repair_and_improve, round_lp
    from asielplan.solvers.placement import _mip_pairs

    d, search, (outcome, lp, x, maps) = at_lp_optimum(config())
    assert search.offer(repair_and_improve(d, lp, round_lp(d, lp, x), eject=False))
    rounded = search.objective
    search.tighten_bound(outcome.row_duals, maps, lp)
    assert search.objective is not None and rounded is not None
    assert search.objective < rounded - 1e-6  # min form: a better plan
    assert constraint_violations(d, search.assignment).empty
    chosen = search.knapsack_pairs
    assert chosen is not None and len(chosen) > 0
    per_municipality = SearchConfig().mip_per_municipality
    pairs, _ = _mip_pairs(
        d, outcome.row_duals, maps, 1, search.assignment, chosen, per_municipality
    )
    keys = set(zip(pairs.h.tolist(), pairs.m.tolist(), strict=True))
    assert set(zip(chosen.h.tolist(), chosen.m.tolist(), strict=True)) <= keys


def test_the_knapsacks_give_a_plan_where_the_rounded_lp_breaks_a_band() -> None:
    """Band mode (3 persons of slack) on a generated instance: the rounded LP breaks a
    band, so there is no incumbent yet; the bound's rounds still run and the
    municipalities' choices give a plan that keeps every band."""
    from asielplan.model.families import constraint_violations
    from asielplan.solvers.heuristics import round_lp

    d, search, (outcome, lp, x, maps) = at_lp_optimum(
        config(target_mode="band", band_slack_persons=3)
    )
    rounded = round_lp(d, lp, x)
    assert not constraint_violations(d, rounded).empty
    assert not search.offer(rounded) and search.objective is None
    search.tighten_bound(outcome.row_duals, maps, lp)
    assert search.objective is not None
    assert constraint_violations(d, search.assignment).empty
    assert search.stats["lagrange_rounds"] >= 5
