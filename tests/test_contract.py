"""The result contract: both problems return the same fields (status, why the solve
stopped, objective, bound, gap, named objective parts, duals per constraint family,
timings with the same keys), the duals mean what they say, a bounded objective part
holds in the full solve, and gaps are judged with one tolerance."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from asielplan.api import place, plan_reception
from asielplan.config import RunConfig, SolverConfig
from asielplan.data.instance import read_instance
from asielplan.model.families import build_placement_model
from asielplan.model.placement import Pairs, PlacementData, prepare_placement
from asielplan.solvers.highs import HighsSession, compile_model
from asielplan.solvers.placement import PlacementSolution, _Search
from asielplan.solvers.reception import ReceptionSolution
from asielplan.solvers.result import TIMING_KEYS, Result, Status, proof_target, within_gap

from .placement_helpers import FIXTURES, all_pairs, config
from .reception_helpers import write_reception_instance
from .test_layers import package_modules

TINY = FIXTURES / "tiny"


def tiny_with(tmp_path: Path, national: int, achterstand: dict[str, int] | None = None) -> Path:
    """The tiny instance with another national number and an optional achterstand."""
    label = "-".join(f"{code}{value}" for code, value in (achterstand or {}).items())
    folder = tmp_path / f"tiny-{national}-{label}"
    if folder.exists():
        return folder
    shutil.copytree(TINY, folder)
    toml = (folder / "instance.toml").read_text().replace("national = 11", f"national = {national}")
    if achterstand:
        rows = "".join(f"{code},{value}\n" for code, value in achterstand.items())
        (folder / "achterstand.csv").write_text("municipality,achterstand\n" + rows)
        toml += '\n[tables.achterstand]\npath = "achterstand.csv"\n'
    (folder / "instance.toml").write_text(toml)
    return folder


def full_lp(path: Path, cfg: RunConfig) -> float:
    """The LP relaxation over all compatible pairs, solved directly (maximisation)."""
    d = prepare_placement(read_instance(path), cfg)
    compiled = compile_model(build_placement_model(d, all_pairs(d), relax=True))
    outcome = HighsSession(compiled, cfg.solver, relax=True).solve()
    assert outcome.objective is not None
    return -outcome.objective


def test_both_problems_return_the_one_contract(tmp_path: Path) -> None:
    """Placement and reception results are both a Result: the parts add up to the
    objective, the timing keys are the same, and each keeps its duals by family."""
    placement = place(TINY, config())
    reception = plan_reception(write_reception_instance(tmp_path / "r"))
    assert isinstance(placement.solution, PlacementSolution)
    assert isinstance(reception.solution, ReceptionSolution)
    for run in (placement, reception):
        sol = run.solution
        assert isinstance(sol, Result) and sol.status == Status.OPTIMAL and sol.proven
        assert sol.objective is not None
        total = sum(part.contribution for part in sol.objective_parts.values())
        assert total == pytest.approx(sol.objective, rel=1e-9)
        assert set(TIMING_KEYS) <= set(sol.timings)
        assert run.tables["objective"]["part"].tolist() == list(sol.objective_parts)
    assert set(placement.timings) == set(reception.timings)
    assert set(placement.solution.duals) == {"assignment", "taakstelling"}
    assert set(reception.solution.duals) == {"capacity", "flow_balance"}  # no buffer: norm 1
    assert placement.solution.duals["taakstelling"].index.tolist() == [
        "GM0001",
        "GM0002",
        "GM0003",
        "GM0004",
    ]


def test_placement_objective_parts_are_named_with_units() -> None:
    """Labour, distance, leaving the COA region, shortfall and excess: each with its
    unit and weight, and each in the KPIs; money is no part of placement."""
    run = place(TINY, config())
    table = run.tables["objective"].set_index("part")
    assert table.index.tolist() == ["labour", "distance", "leave_coa_region", "shortfall", "excess"]
    assert table.loc["labour", "unit"] == "expected employed persons"
    assert table.loc["distance", "unit"] == "km" and table.loc["distance", "weight"] == 0.05
    assert (table["money_eur"] == 0).all()
    kpis = run.tables["kpis"].iloc[0]
    assert kpis["objective_labour"] == pytest.approx(100 * kpis["total_labour_score"])
    assert kpis["objective_distance"] == pytest.approx(-0.05 * kpis["total_distance_km"])


def test_taakstelling_dual_is_the_change_of_the_lp_optimum(tmp_path: Path) -> None:
    """With a national number of 13 for 11 persons (targets 8, 2, 2, 1), the dual of
    Aastad's (GM0001) taakstelling row is the change of the LP optimum over all pairs
    when its target is raised by one person, and when it is lowered by one: the row is
    not at a kink, so the dual is the one rate of change (about -19.86: one more person
    short, less the value of moving another). The row's right-hand side is the target
    itself (placement.shortfall_sharing = objective), so raising the target raises it."""
    cfg = config(shortfall_sharing="objective")
    run = place(tiny_with(tmp_path, 13), cfg)
    dual = float(run.solution.duals["taakstelling"]["GM0001"])
    base = full_lp(tiny_with(tmp_path, 13), cfg)
    assert run.solution.lp_bound == pytest.approx(base, rel=1e-9)
    raised = full_lp(tiny_with(tmp_path, 13, {"GM0001": 1}), cfg)
    lowered = full_lp(tiny_with(tmp_path, 13, {"GM0001": -1}), cfg)
    assert dual == pytest.approx(raised - base, abs=1e-6)
    assert dual == pytest.approx(base - lowered, abs=1e-6)
    assert -20 < dual < -19


def test_the_reported_duals_price_every_compatible_pair() -> None:
    """The final LP's duals as reported (the assignment dual of each household, the
    taakstelling dual of each municipality: the rows a pair enters on the tiny
    instance) are optimal over all pairs, a pair's reduced cost being its value less
    its household's dual less its persons times the municipality's dual: the LP places
    every household (a pair at 1 has a reduced cost of at least 0, one between 0 and 1
    of 0), and every pair at 0 has one of at most 0; so each household's best pair has
    at least 0 and all its others at most 0. A dual reported with the wrong sign or on
    the wrong row breaks this."""
    run = place(TINY, config())
    sol = run.solution
    assert isinstance(sol, PlacementSolution) and isinstance(run.data, PlacementData)
    d = run.data
    assign = sol.duals["assignment"].to_numpy()
    target = sol.duals["taakstelling"].to_numpy()
    for h in range(d.n_households):
        ms = np.flatnonzero(d.allowed[h])
        value = d.value(np.full(len(ms), h), ms)
        reduced = np.sort(value - assign[h] - d.persons[h] * target[ms])[::-1]
        assert reduced[0] >= -1e-7
        assert (reduced[1:] <= 1e-7).all()


def test_a_bounded_part_holds_in_the_full_solve() -> None:
    """A distance cap 25% below the free optimum's distance, set by name in the
    configuration, holds in the column-generation solve (15 municipalities: pairs are
    priced in against the cap's row): the placement's km are within it, the bound's
    dual is kept, and the objective is lower. The targets are the taakstelling as is
    (placement.shortfall_sharing = objective): there the cap binds in the LP too, so
    its dual is above 0 (with shared targets the LP meets the cap with room to spare)."""
    from asielplan.data.generator import generate_instance, synthetic_municipalities

    inst = generate_instance(synthetic_municipalities(15, 4), 40, 4, name="bounded")

    def run_with(**placement: object) -> Result:
        cfg = RunConfig.model_validate(
            {
                "solver": {"time_limit": 10, "mip_gap": 1e-3},
                "placement": {"shortfall_sharing": "objective", **placement},
            }
        )
        return place(inst, cfg).solution

    free = run_with()
    km = free.objective_parts["distance"].quantity
    capped = run_with(part_bounds={"distance": {"upper": 0.75 * km}})
    assert capped.status.has_solution and capped.stats["lp_rounds"] >= 2
    assert capped.objective_parts["distance"].quantity <= 0.75 * km + 1e-6
    assert capped.objective is not None and free.objective is not None
    assert capped.objective < free.objective
    assert capped.duals["part_bounds"].index.tolist() == ["distance"]
    assert capped.duals["part_bounds"]["distance"] > 0  # one more km allowed is worth more


def test_elastic_lp_finds_columns_when_the_first_pairs_cannot_meet_a_band() -> None:
    """Starting column generation from pairs that send every household to province P1
    (Aastad; Bedorp for H4, its family tie) cannot meet province P2's band (at least 1
    person): the first restricted LP is infeasible, but the model is not. The LP goes on
    with that band elastic, prices the missing pairs in and ends at the LP optimum over
    all pairs (not 'infeasible'), without phase 1. A band no plan can meet (P2 at least
    twice its target) leaves the elastic LP broken: phase 1 then proves the model
    infeasible over all pairs."""
    from asielplan.config import RegionBand

    said: list[str] = []
    for lower, upper in ((0.8, 1.2), (2.0, 3.0)):
        cfg = config(region_bands=(RegionBand(level="province", lower=lower, upper=upper),))
        d = prepare_placement(read_instance(TINY), cfg)
        first_allowed = d.allowed.argmax(axis=1)  # Aastad, or Bedorp for H4 (its tie)
        assert set(first_allowed) == {0, 1}
        start = Pairs(np.arange(d.n_households), first_allowed)
        search = _Search(d, cfg.solver, said.append, False, cfg.solver.time_limit)
        found = search.column_generation(start)
        if lower < 1:
            assert not isinstance(found, PlacementSolution), found
            assert "phase_one_rounds" not in search.stats
            assert any(m.endswith("cannot meet every hard rule: those rows elastic") for m in said)
            assert search.z_lp is not None and -search.z_lp == pytest.approx(full_lp(TINY, cfg))
        else:
            assert isinstance(found, PlacementSolution)
            assert found.status == Status.INFEASIBLE
            assert search.stats["phase_one_rounds"] >= 1
            assert any(m.endswith("the elastic LP still breaks a hard rule: phase 1") for m in said)


def test_an_lp_stopped_at_its_most_rounds_gives_no_bound() -> None:
    """Column generation from pairs that need pricing, allowed one round
    (``solver.search.max_rounds`` 1): the LP over the first pairs is no bound for the
    model, so the search stops without one (and says why) instead of taking it."""
    cfg = config()
    d = prepare_placement(read_instance(TINY), cfg)
    start = Pairs(np.arange(d.n_households), d.allowed.argmax(axis=1))
    one = cfg.solver.model_copy(
        update={"search": cfg.solver.search.model_copy(update={"max_rounds": 1})}
    )
    search = _Search(d, one, lambda message: None, False, one.time_limit)
    found = search.column_generation(start)
    assert isinstance(found, PlacementSolution)
    assert found.bound is None and search.z_lp is None
    assert found.message == "LP relaxation stopped: 1 rounds"
    # with the default rounds the same start converges to the LP over all pairs
    search = _Search(d, cfg.solver, lambda message: None, False, cfg.solver.time_limit)
    assert not isinstance(search.column_generation(start), PlacementSolution)
    assert -search.z_lp == pytest.approx(full_lp(TINY, cfg))  # type: ignore[operator]


def test_gap_is_judged_with_one_tolerance() -> None:
    """An incumbent equal to its bound up to rounding is within a requested gap of 0;
    a real gap is not; the requested gap itself counts as proven."""
    assert within_gap(100.0, 100.0 - 1e-9, 0.0)
    assert not within_gap(100.0, 99.0, 0.0)
    assert within_gap(100.0, 99.9, 1e-3)
    assert not within_gap(100.0, 99.8, 1e-3)


def test_the_proof_target_is_the_highest_objective_within_the_gap() -> None:
    """Against a bound of -1,000 (min form) a gap of 1% proves -990.099 (1,000 / 1.01)
    and not -989.9; against 99.9 a gap of 0.1% proves 100 and not 100.02; with a gap of
    0, half the absolute tolerance (1e-6) above the bound."""
    target = proof_target(-1000.0, 0.01)
    assert target == pytest.approx(-1000.0 / 1.01)
    assert within_gap(target, -1000.0, 0.01) and not within_gap(-989.9, -1000.0, 0.01)
    target = proof_target(99.9, 1e-3)
    assert target == pytest.approx(100.0)
    assert within_gap(target, 99.9, 1e-3) and not within_gap(100.02, 99.9, 1e-3)
    # a gap of 0 proves a plan within the absolute tolerance: half of it above the bound
    assert proof_target(-50.0, 0.0) == pytest.approx(-50.0 + 5e-7, abs=1e-12)
    assert within_gap(proof_target(-50.0, 0.0), -50.0, 0.0)


def test_a_mip_stops_at_its_first_plan_as_good_as_the_target() -> None:
    """A knapsack of 60 seeded items: solved, the optimum; with a target 1% short of it,
    HiGHS stops at its first plan that good, before the optimum, as feasible and says
    why (the search's MIPs stop so once a plan proves the run)."""
    rng = np.random.default_rng(1)
    weight = rng.integers(10, 100, 60)
    value = weight + rng.integers(0, 10, 60)
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(60), domain=pyo.Binary)
    m.cap = pyo.Constraint(
        expr=sum(int(weight[i]) * m.x[i] for i in range(60)) <= weight.sum() // 2
    )
    m.obj = pyo.Objective(expr=sum(int(value[i]) * m.x[i] for i in range(60)), sense=pyo.maximize)
    session = HighsSession(compile_model(m), SolverConfig(mip_gap=0.0), relax=False)
    best = session.solve()
    assert best.status == Status.OPTIMAL and best.objective == pytest.approx(-1851.0)
    stopped = session.solve(target=0.99 * -1851.0)
    assert stopped.status == Status.FEASIBLE and stopped.message == "kObjectiveTarget"
    assert stopped.objective is not None and -1851.0 < stopped.objective <= 0.99 * -1851.0


def test_mip_gap_zero_proves_the_optimum() -> None:
    """With mip_gap = 0 the hand-checked optimum (220) is 'optimal', and the run says
    the incumbent equals its bound."""
    run = place(
        FIXTURES / "resettle",
        config().model_copy(update={"solver": SolverConfig(time_limit=20, mip_gap=0.0)}),
    )
    assert run.solution.status == Status.OPTIMAL
    assert run.solution.objective == pytest.approx(220.0)
    assert run.solution.stop.startswith("optimal: the incumbent equals the proven bound")


def test_a_time_limit_stop_says_so() -> None:
    """A run stopped by its time limit reports it in words, with the requested gap."""
    result = Result(
        problem="placement",
        status=Status.FEASIBLE,
        sense="max",
        objective=98.0,
        bound=100.0,
        requested_gap=1e-3,
        time_limit=30.0,
    )
    assert result.gap == pytest.approx(2 / 98)
    assert not result.proven
    assert result.stop == "stopped by the time limit of 30 s at gap 2.041% (requested 0.1%)"


def test_no_module_reads_an_environment_variable() -> None:
    """Every setting that changes a result is in the configuration: no module of the
    package reads os.environ or os.getenv (the solve method and crossover were an
    environment variable once)."""
    readers = []
    for name, path in package_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                readers.append(f"{name}:{node.lineno}")
    assert not readers
