"""One small test per constraint family of the reception model, each on a hand-made
instance; the last test fails when a family is added without a test of its own."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from asielplan.config import RunConfig
from asielplan.data.instance import read_instance
from asielplan.model import reception as rm
from asielplan.solvers.reception import ReceptionSolution, solve_reception
from asielplan.solvers.result import Status

from .reception_helpers import COHORTS, SITES, TRANSFERS, write_reception_instance


def solve(root: Path, config: RunConfig | None = None) -> ReceptionSolution:
    config = config or RunConfig()
    data = rm.prepare_reception(read_instance(root), config.reception)
    solution = solve_reception(data, config.solver)
    assert solution.status.has_solution
    return solution


def persons(sol: ReceptionSolution, site: str, period: int) -> float:
    occ = sol.occupancy
    return float(occ[(occ["site_id"] == site) & (occ["period"] == period)]["persons"].sum())


# three people already in the noodopvang, staying until the start of period 3
STOCK = pd.DataFrame(
    {
        "cohort_id": ["s1"],
        "arrival_period": [0],
        "persons": [3],
        "household_type": ["single"],
        "track": ["high"],
        "stay_periods": [3],
        "first_line_periods": [0],
        "site_id": ["N1"],
    }
)


def test_family_flow_balance(tmp_path: Path) -> None:
    """Every row keeps y[t] = y[t-1] + entered - left - exited, and nobody leaves a site
    in the period they entered it: the 3 people in the noodopvang move in period 1
    (1 move each at 250 saves 2 periods x 220) and are gone at the start of period 3."""
    sol = solve(write_reception_instance(tmp_path / "i", cohorts=STOCK))
    assert (persons(sol, "N1", 1), persons(sol, "A1", 1), persons(sol, "A1", 2)) == (0, 3, 3)
    occ = sol.occupancy
    assert occ["exited"].sum() == 0  # leaving at the start of period 3, past the horizon
    row = occ[(occ["site_id"] == "A1") & (occ["period"] == 1)].iloc[0]
    assert row["entered"] == 3 and row["left"] == 0


def test_family_transfers(tmp_path: Path) -> None:
    """Without the edge noodopvang -> AZC the same people must stay where they are."""
    transfers = [edge for edge in TRANSFERS if edge != ["noodopvang", "AZC"]]
    root = write_reception_instance(
        tmp_path / "i", cohorts=STOCK, reception={"transfers": transfers}
    )
    sol = solve(root)
    assert (persons(sol, "N1", 1), persons(sol, "N1", 2)) == (3, 3)
    assert sol.flows[sol.flows["from"] != "arrival"].empty


def test_family_lines(tmp_path: Path) -> None:
    """A 1-period procedure in the GVL; in period 2 the 8 are promoted and must leave
    the first-line site (one move each); the 5 new arrivals take their place."""
    sites = pd.DataFrame(
        {
            "site_id": ["G1", "A1"],
            "municipality": ["GM9001", "GM9001"],
            "modality": ["GVL", "AZC"],
            "capacity": [50, 50],
            "cost_per_night": [95.0, 70.0],
        }
    )
    cohorts = COHORTS.assign(first_line_periods=[1, 1], persons=[8, 5], stay_periods=[3, 3])
    root = write_reception_instance(
        tmp_path / "g",
        sites=sites,
        cohorts=cohorts,
        reception={"transfers": [["arrival", "GVL"], ["GVL", "AZC"], ["AZC", "exit"]]},
    )
    sol = solve(root)
    assert (persons(sol, "G1", 2), persons(sol, "A1", 2)) == (5, 8)
    assert sol.occupancy["promoted_out"].sum() == 8
    assert sol.flows[sol.flows["from"] != "arrival"]["persons"].sum() == pytest.approx(8)


def test_family_capacity(tmp_path: Path) -> None:
    """A1 holds at most its 10 beds in period 2, though it is the cheapest site."""
    sol = solve(write_reception_instance(tmp_path / "i"))
    assert persons(sol, "A1", 2) == 10


def test_family_min_occupancy(tmp_path: Path) -> None:
    """A2 needs 5 people while open: in period 1 the 8 split 3 (A1) + 5 (A2)."""
    root = write_reception_instance(tmp_path / "i", sites=SITES.assign(min_occupancy=[0, 5, 0]))
    sol = solve(root)
    assert (persons(sol, "A1", 1), persons(sol, "A2", 1)) == (3, 5)
    assert sol.below_minimum.empty


def test_family_buffer(tmp_path: Path) -> None:
    """A 90% norm leaves 2 of the 20 regular beds free in period 2: 5 in noodopvang."""
    sol = solve(write_reception_instance(tmp_path / "i", reception={"buffer_norm": 0.9}))
    assert persons(sol, "N1", 2) == pytest.approx(5)


def test_family_site_decisions(tmp_path: Path) -> None:
    """An open site whose contract ends after period 1 closes when it is not needed
    (fixed cost 500 a period) and does not reopen."""
    sites = SITES.assign(fixed_cost=[0.0, 500.0, 0.0], contract_end=[None, 1, None])
    cohorts = COHORTS.assign(persons=[8, 1])
    sol = solve(write_reception_instance(tmp_path / "i", sites=sites, cohorts=cohorts))
    a2 = sol.decisions[sol.decisions["site_id"] == "A2"].set_index("period")["open"]
    assert a2.to_dict() == {1: 1, 2: 0}


def test_family_region_targets(tmp_path: Path) -> None:
    """A target of 5 in province PB (A2) in period 1 pulls 5 people there, although A1
    is 10 a night cheaper, as each person short costs 20."""
    targets = pd.DataFrame({"region": ["PB"], "target": [5], "period": [1]})
    sol = solve(write_reception_instance(tmp_path / "i", region_targets=targets))
    assert (persons(sol, "A1", 1), persons(sol, "A2", 1)) == (3, 5)


def test_family_part_bounds(tmp_path: Path) -> None:
    """Three people sit in the noodopvang until period 3; moving each to A1 in period 1
    pays (the flow balance test). With at most one move, one moves and two stay; a
    money bound below the free plan's 420 euros cannot be met."""
    free = solve(write_reception_instance(tmp_path / "free", cohorts=STOCK))
    assert (persons(free, "N1", 1), persons(free, "A1", 1)) == (0, 3)
    one = RunConfig.model_validate({"reception": {"part_bounds": {"moves": {"upper": 1}}}})
    sol = solve(write_reception_instance(tmp_path / "one", cohorts=STOCK), one)
    assert (persons(sol, "N1", 1), persons(sol, "A1", 1)) == (2, 1)
    assert rm.bounded_values(sol.objective_parts)["moves"] == pytest.approx(1.0)
    money = rm.bounded_values(free.objective_parts)["money"]
    assert money == pytest.approx(3 * 70 + 3 * 70)  # three in A1 for two periods
    # no plan houses them for less: a lower money bound is infeasible, with a diagnosis
    capped = RunConfig.model_validate({"reception": {"part_bounds": {"money": {"upper": 400}}}})
    root = write_reception_instance(tmp_path / "cap", cohorts=STOCK)
    data = rm.prepare_reception(read_instance(root), capped.reception)
    assert solve_reception(data, capped.solver).status == Status.INFEASIBLE


def test_family_add_objective(tmp_path: Path) -> None:
    """The optimum equals the cost recomputed by hand from the plan:
    8*70 + 10*70 + 10*80 + 3*(190 + 100) = 2930."""
    sol = solve(write_reception_instance(tmp_path / "i"))
    assert sol.objective == pytest.approx(2930.0)
    assert sum(p.contribution for p in sol.objective_parts.values()) == pytest.approx(2930.0)


def test_every_family_has_a_test() -> None:
    """Each constraint family (and the objective) has its own test here."""
    families = [*rm.FAMILIES, "add_objective"]
    module = sys.modules[__name__]
    missing = [f for f in families if not hasattr(module, f"test_family_{f}")]
    assert not missing, f"families without a test: {missing}"
