"""Reception planning: hand-checked optima, flows re-derived, business cases, contracts,
the Calais example and the embedded default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asielplan.api import plan_reception, write_run
from asielplan.config import RunConfig
from asielplan.data.instance import read_instance
from asielplan.data.reception_generator import SNAPSHOT_LEVELS, levels_from_snapshots
from asielplan.experiments.results.reception import reception_tables
from asielplan.model.reception import UNHOUSED, prepare_reception
from asielplan.solvers.reception import ReceptionSolution, solve_reception
from asielplan.solvers.result import Status

from .reception_helpers import COHORTS, SITES, with_candidates, write_reception_instance

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def _solve(root: Path, config: RunConfig | None = None) -> ReceptionSolution:
    config = config or RunConfig()
    data = prepare_reception(read_instance(root), config.reception)
    return solve_reception(data, config.solver)


def _persons(sol: ReceptionSolution, site: str, period: int) -> float:
    occ = sol.occupancy
    return float(occ[(occ["site_id"] == site) & (occ["period"] == period)]["persons"].sum())


def test_cheaper_site_fills_first_and_peak_needs_exactly_three_emergency_places(
    tmp_path: Path,
) -> None:
    """8 arrive in period 1, 15 more in period 2; A1 (70/night) and A2 (80) have 10 beds
    each. Period 1: all 8 in A1. Period 2: 23 people, 20 regular beds, so exactly 3 in
    noodopvang. Cost (1 night per period): 8*70 + 10*70 + 10*80 + 3*(190 + 100) = 2930."""
    sol = _solve(write_reception_instance(tmp_path / "i"))
    assert sol.status == Status.OPTIMAL
    assert _persons(sol, "A1", 1) == 8 and _persons(sol, "A2", 1) == 0
    assert (_persons(sol, "A1", 2), _persons(sol, "A2", 2), _persons(sol, "N1", 2)) == (10, 10, 3)
    assert sol.objective == pytest.approx(2930.0)
    assert sol.objective_parts["emergency_penalty"].contribution == pytest.approx(300.0)


def test_buffer_norm_keeps_places_free_and_moves_the_rest_to_emergency(tmp_path: Path) -> None:
    """With a 90% norm only 18 of the 20 regular beds may be used in period 2: 5 people
    go to noodopvang instead of 3."""
    sol = _solve(write_reception_instance(tmp_path / "i", reception={"buffer_norm": 0.9}))
    assert _persons(sol, "N1", 2) == pytest.approx(5.0)
    assert _persons(sol, "A1", 2) + _persons(sol, "A2", 2) == pytest.approx(18.0)


def test_no_bed_is_reported_as_infeasible_with_the_missing_number(tmp_path: Path) -> None:
    """Without the noodopvang, 3 people have no bed in period 2: infeasible, and the
    diagnosis says 3 in period 2."""
    root = write_reception_instance(tmp_path / "i", sites=SITES.iloc[:2])
    sol = _solve(root)
    assert sol.status == Status.INFEASIBLE
    data = prepare_reception(read_instance(root), RunConfig().reception)
    diagnosis = reception_tables(data, sol)["diagnosis"]
    assert diagnosis[["period", "violation"]].values.tolist() == [[2, 3.0]]


def test_flows_balance_in_every_site_and_period_of_the_default_plan() -> None:
    """Re-derive y[t] = y[t-1] + entered - left - exited - promoted_out + promoted_in
    from the written tables for every class, site and period of the embedded default
    (steady); every promotion out of the procedure arrives somewhere; the total in
    reception equals the cohorts' count in every period; no site is over capacity."""
    config = RunConfig()
    inst = read_instance(Path(__file__).resolve().parents[1] / "data" / "default")
    data = prepare_reception(inst, config.reception)
    sol = solve_reception(data, config.solver)
    assert sol.status == Status.OPTIMAL
    occ = sol.occupancy.set_index(["class_id", "site_id", "period"])
    value = occ.to_dict("index")
    keys = {(c, s) for c, s, _ in occ.index} | {
        (data.classes["class_id"][c], data.sites["site_id"][s])
        for c, s in zip(*np.nonzero(data.stock[0]), strict=True)
    }
    c_pos = {cid: c for c, cid in enumerate(data.classes["class_id"])}
    s_pos = {sid: s for s, sid in enumerate(data.sites["site_id"])}
    columns = ("persons", "entered", "left", "exited", "promoted_out", "promoted_in")
    empty = dict.fromkeys(columns, 0.0)
    checked = 0
    for cls, site in keys:
        before = float(data.stock[0, c_pos[cls], s_pos[site]])
        for t in data.periods:
            row = value.get((cls, site, t), empty)
            change = row["entered"] - row["left"] - row["exited"]
            change += row["promoted_in"] - row["promoted_out"]
            assert row["persons"] == pytest.approx(before + change, abs=1e-5), (cls, site, t)
            before = row["persons"]
            checked += 1
    assert checked > 500
    promoted = sol.occupancy["promoted_out"].sum()
    assert promoted == pytest.approx(data.promotions[0, :, 1:].sum(), abs=1e-4)
    total = sol.occupancy.groupby("period")["persons"].sum()
    assert total.to_numpy() == pytest.approx(data.persons[0].sum(axis=0)[1:], abs=1e-4)
    table = reception_tables(data, sol)["occupancy"]
    assert (table["persons"] <= table["open_capacity"] + 1e-6).all()


def _with_candidates(tmp_path: Path, cost_c1: float, cost_c2: float) -> Path:
    sites = with_candidates(
        SITES,
        site_id=["C1", "C2"],
        cost_per_night=[cost_c1, cost_c2],
        fixed_cost=[100.0, 0.0],
    )
    return write_reception_instance(tmp_path / "c", sites=sites)


def test_business_case_below_budget_is_accepted_when_it_saves_money(tmp_path: Path) -> None:
    """C1 costs 60 a night + 100 per period for 10 places: 60 + 100/10 = 70 per
    place-night <= 83, and it replaces 3 noodopvang places in period 2 (3*290 = 870 >
    100 + 3*60), so it opens. C2 at 90 > 83 is rejected on budget alone, though it
    would also be cheaper than noodopvang."""
    run = plan_reception(_with_candidates(tmp_path, 60.0, 90.0))
    cases = run.tables["business_cases"].set_index("site_id")
    assert cases.loc["C1", "cost_per_place_night"] == pytest.approx(70.0)
    assert cases.loc["C1", "decision"] == "accepted"
    assert cases.loc["C2", "decision"] == "rejected"
    assert "90.00 per place-night > budget 83.00" in cases.loc["C2", "reason"]
    occ = run.tables["occupancy"]
    assert occ[occ["site_id"] == "C2"].empty
    assert run.tables["emergency"]["emergency_places"].sum() == pytest.approx(0.0)


def test_business_case_above_budget_is_never_accepted_even_in_an_emergency(
    tmp_path: Path,
) -> None:
    """With only candidates above the budget, the peak goes to noodopvang."""
    run = plan_reception(_with_candidates(tmp_path, 84.0, 90.0))
    assert set(run.tables["business_cases"]["decision"]) == {"rejected"}
    assert run.tables["emergency"]["emergency_places"].sum() == pytest.approx(3.0)


def test_contract_length_is_respected(tmp_path: Path) -> None:
    """A candidate with a 3-period contract, needed only in period 2 of 4, stays open 3
    periods in a row once opened, and opens only once."""
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["c1", "c2"],
            "arrival_period": [1, 2],
            "persons": [8, 15],
            "household_type": ["single", "single"],
            "track": ["high", "high"],
            "stay_periods": [3, 1],
            "first_line_periods": [0, 0],
        }
    )
    sites = with_candidates(
        SITES, site_id=["C1"], cost_per_night=[60.0], fixed_cost=[10.0], contract_periods=[3]
    )
    root = write_reception_instance(
        tmp_path / "k", sites=sites, cohorts=cohorts, reception={"periods": 4}
    )
    run = plan_reception(root)
    open_periods = run.solution.decisions.query("site_id == 'C1' and open == 1")["period"]
    assert len(open_periods) >= 3
    assert list(open_periods) == list(
        range(open_periods.min(), open_periods.min() + len(open_periods))
    )
    assert run.solution.decisions.query("site_id == 'C1'")["started"].sum() == 1


def test_amv_only_where_the_site_takes_them(tmp_path: Path) -> None:
    """Minors never stay at a site without takes_amv."""
    sites = SITES.assign(takes_amv=[0, 1, 0])
    cohorts = COHORTS.assign(track=["amv", "amv"], household_type=["minor", "minor"])
    sol = _solve(write_reception_instance(tmp_path / "a", sites=sites, cohorts=cohorts))
    used = set(sol.occupancy.loc[sol.occupancy["persons"] > 0, "site_id"])
    assert used <= {"A2", UNHOUSED}


def test_calais_example_meets_regional_targets_where_capacity_allows(tmp_path: Path) -> None:
    """The Calais example: every region reaches min(target, capacity) on the last day,
    nobody is without a bed, and most people stay in one of their preferred regions."""
    run = plan_reception(EXAMPLES / "calais")
    assert run.solution.status == Status.OPTIMAL
    regions = run.tables["regions"]
    last = regions[regions["period"] == 4]
    assert len(last) == 11
    assert last["meets_target_where_capacity_allows"].all()
    assert run.tables["emergency"]["without_bed"].sum() == 0
    assert run.tables["kpis"]["share_in_home_region"].iloc[0] > 0.8
    assert int(last["persons"].sum()) == 7000
    write_run(run, tmp_path / "out")
    assert (tmp_path / "out" / "occupancy.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "regions.png").stat().st_size > 10_000


def test_same_input_gives_identical_tables(tmp_path: Path) -> None:
    """Two runs of the tiny instance write byte-identical CSV tables."""
    root = _with_candidates(tmp_path, 60.0, 90.0)
    for name in ("one", "two"):
        write_run(plan_reception(root), tmp_path / name)
    for table in ("occupancy", "moves", "business_cases", "objective", "emergency"):
        assert (tmp_path / "one" / f"{table}.csv").read_bytes() == (
            tmp_path / "two" / f"{table}.csv"
        ).read_bytes()


def test_robust_plan_buys_buffer_against_the_peak(tmp_path: Path) -> None:
    """Steady (8 then 8) and peak (8 then 15) inflows, equal weights. C1 costs 72 a
    night + 100 per period (82 per place-night, within budget). Steady: 16 people fit
    in A1 + A2 for 10*70 + 6*80 = 1180, with C1 it would cost 1232, so the steady plan
    leaves it shut. Peak: 3 people in noodopvang cost 3*290 = 870, C1 saves that.
    Robust: open C1 in period 2 (buffer cost EUR 100) and avoid 0.5*870 = 435 of
    expected emergency cost: 0.5*3*190 = EUR 285 of beds (money) and 0.5*3*100 = 150
    of the emergency penalty (a weight, reported apart, never as euros)."""
    run = plan_reception(
        _steady_and_peak(tmp_path), RunConfig.model_validate({"reception": {"robust": True}})
    )
    robust = run.tables["robust"].set_index("plan")
    assert robust.loc["robust", "buffer_cost_eur"] == pytest.approx(100.0)
    avoided = robust.loc["robust", ["emergency_cost_avoided_eur", "emergency_penalty_avoided"]]
    assert avoided.tolist() == pytest.approx([285.0, 150.0])
    assert sum(avoided) == pytest.approx(435.0)
    assert robust.loc["robust", "expected_objective"] < robust.iloc[1]["expected_objective"]
    assert set(robust["inflow_weights"]) == {"steady=0.5;peak=0.5"}


def test_a_robust_plan_without_solutions_says_so(tmp_path: Path) -> None:
    """When the robust solve finds no plan (here: the solver is not installed; the API
    refuses that before a run, so the robust step itself is called), nothing else is
    solved and the comparison's one row carries that status, its figures blank."""
    from asielplan.config import SolverConfig
    from asielplan.data.instance import read_instance
    from asielplan.experiments.robust import robust_plan

    inst = read_instance(_steady_and_peak(tmp_path))
    missing = SolverConfig(name="no_such_solver")
    result = robust_plan(inst, RunConfig(), "steady", ["steady", "peak"], solver=missing)
    assert result.robust.status == Status.ERROR
    assert result.single is None and result.evaluated is None
    robust = result.comparison
    assert robust["status"].tolist() == ["error"]
    assert robust[["site_cost_eur", "expected_objective"]].isna().all().all()
    assert robust[["buffer_cost_eur", "emergency_cost_avoided_eur"]].isna().all().all()


def test_the_cli_says_a_robust_plan_without_solution_and_exits_with_its_status(
    tmp_path: Path,
) -> None:
    """``reception --robust`` whose robust plan cannot be made (money bounded to EUR 1,
    the beds cost more): exit 2 (infeasible), the diagnosis printed, and the comparison
    line says there is none and why, instead of a KeyError on the missing figures; the
    folder holds the diagnosis."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    config = tmp_path / "bounded.toml"
    config.write_text("[reception.part_bounds.money]\nupper = 1\n")
    root = _steady_and_peak(tmp_path)
    args = ["reception", str(root), "--robust", "--config", str(config)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "no comparison, a plan was not found (robust: infeasible)" in flat
    assert (tmp_path / "out" / "diagnosis.csv").is_file()


def _steady_and_peak(tmp_path: Path) -> Path:
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["s1", "s2", "p1", "p2"],
            "inflow": ["steady", "steady", "peak", "peak"],
            "arrival_period": [1, 2, 1, 2],
            "persons": [8, 8, 8, 15],
            "household_type": ["single"] * 4,
            "track": ["high"] * 4,
            "stay_periods": [2] * 4,
            "first_line_periods": [0] * 4,
        }
    )
    root = _with_candidates(tmp_path, 72.0, 90.0)
    cohorts.to_csv(root / "cohorts.csv", index=False)
    return root


def test_snapshot_levels_match_the_shared_data(shared_data: Path) -> None:
    """The scenario levels built into the generator are those of the COA snapshot table."""
    assert levels_from_snapshots(shared_data / "coa_opvang_landelijk_snapshots.csv") == (
        SNAPSHOT_LEVELS
    )


def test_embedded_default_has_three_inflow_scenarios_with_a_peak() -> None:
    """steady, peak and trough exist; the peak brings more arrivals than steady, the
    trough fewer, in proportion to the snapshot levels."""
    data = prepare_reception(
        read_instance(Path(__file__).resolve().parents[1] / "data" / "default"),
        RunConfig().reception,
        ["steady", "peak", "trough"],
    )
    arrivals = data.arrivals.sum(axis=(1, 2))
    assert arrivals[1] > arrivals[0] > arrivals[2]
    peak_ratio = data.arrivals[1].sum(axis=0).max() / data.arrivals[0].sum(axis=0).max()
    assert peak_ratio == pytest.approx(
        SNAPSHOT_LEVELS["peak"] / SNAPSHOT_LEVELS["steady"], rel=0.02
    )


def test_rounding_keeps_contracts_and_never_reopens(tmp_path: Path) -> None:
    """From fractional LP values: a candidate opens in the first period at 1/2 or more,
    stays open for its 3-period contract even where the LP dips, then closes for good
    at the first value below 1/2; an open site past its contract closes at its first
    value below 1/2 and stays closed."""
    from asielplan.model.reception import model_index
    from asielplan.solvers.reception import round_site_decisions

    sites = with_candidates(
        SITES.assign(contract_end=[None, 1, None]),
        site_id=["C1"],
        cost_per_night=[60.0],
        contract_periods=[3],
    )
    root = write_reception_instance(tmp_path / "r", sites=sites, reception={"periods": 6})
    data = prepare_reception(read_instance(root), RunConfig().reception)
    idx = model_index(data)
    a2, c1 = 1, 3  # positions in data.sites
    lp = {(c1, t): v for t, v in zip(range(1, 7), [0.2, 0.6, 0.1, 0.3, 0.4, 0.9], strict=True)}
    lp |= {(a2, t): v for t, v in zip(range(2, 7), [0.9, 0.4, 0.8, 0.8, 0.8], strict=True)}
    opened, started = round_site_decisions(data, idx, lp)
    assert [opened[c1, t] for t in range(1, 7)] == [0, 1, 1, 1, 0, 0]
    assert [started[c1, t] for t in range(1, 7)] == [0, 1, 0, 0, 0, 0]
    assert [opened[a2, t] for t in range(2, 7)] == [1, 0, 0, 0, 0]


def test_lp_rounding_matches_branch_and_bound_on_the_default_peak() -> None:
    """On the embedded default (peak) the LP-bound + rounding method finds a plan within
    0.5% of its LP bound, and its objective is within 0.5% of branch and bound's."""
    config = RunConfig()
    inst = read_instance(Path(__file__).resolve().parents[1] / "data" / "default")
    data = prepare_reception(inst, config.reception, ["peak"])
    rounded = solve_reception(
        data, config.solver.model_copy(update={"reception_method": "lp_round"})
    )
    exact = solve_reception(data, config.solver.model_copy(update={"reception_method": "mip"}))
    assert rounded.status.has_solution and exact.status.has_solution
    assert rounded.stats["method"] == "lp_round"
    assert rounded.gap is not None and rounded.gap < 0.005
    assert rounded.bound is not None and exact.objective is not None
    assert rounded.bound <= exact.objective + 1e-6
    assert rounded.objective == pytest.approx(exact.objective, rel=0.005)


def test_other_pyomo_solver_by_name_finds_the_same_optimum(tmp_path: Path) -> None:
    """The Pyomo model itself goes to a solver named in the configuration (here
    appsi_highs): the same hand-checked 2930."""
    config = RunConfig.model_validate({"solver": {"name": "appsi_highs"}})
    sol = _solve(write_reception_instance(tmp_path / "i"), config)
    assert sol.status == Status.OPTIMAL
    assert sol.objective == pytest.approx(2930.0)
    assert _persons(sol, "N1", 2) == pytest.approx(3.0)


def test_inflow_weights_are_normalised_and_never_all_zero() -> None:
    """Named weights are normalised over the planned scenarios; a scenario the weights
    do not name, planned alone, still weighs 1 (its costs count)."""
    from asielplan.data.instance import ReceptionSpec
    from asielplan.model.reception import inflow_weights

    spec = ReceptionSpec(periods=2, inflow_weights={"steady": 0.5, "peak": 0.25})
    assert inflow_weights(spec, ["steady", "peak"]) == {"steady": 2 / 3, "peak": 1 / 3}
    assert inflow_weights(spec, ["other"]) == {"other": 1.0}
    assert inflow_weights(ReceptionSpec(periods=2), ["a", "b"]) == {"a": 0.5, "b": 0.5}


def test_site_decisions_list_every_site_the_plan_opens_closes_or_keeps(tmp_path: Path) -> None:
    """A candidate noodopvang N2 (150 a night + 50 a period open against N1's 190; not a
    business case, it is not regular) and the business cases C1 (70 per place-night,
    accepted) and C2 (90, rejected on budget). Period 2 holds 23 persons for A1 + A2's
    20 beds: C1 opens in period 2 (its 60 a night beats A2's 80, so it fills: 10
    persons; the 3 left go to A2, cheaper than any noodopvang), so N2 stays shut; with
    C1 removed, N2 opens in period 2 for the 3 (3 x 150 + 50 < 3 x 190). Either way
    every site has its row: opened with its period, kept (A1, A2, N1, open throughout),
    not opened (C2: rejected on budget); ``sites_opened`` counts the openings,
    ``business_cases`` only the budget test."""
    emergency = pd.DataFrame(
        {
            "site_id": ["N2"],
            "municipality": ["GM9002"],
            "modality": ["noodopvang"],
            "capacity": [20],
            "cost_per_night": [150.0],
            "fixed_cost": [50.0],
            "state": ["candidate"],
        }
    )
    both = with_candidates(
        pd.concat([SITES, emergency], ignore_index=True),
        site_id=["C1", "C2"],
        cost_per_night=[60.0, 90.0],
        fixed_cost=[100.0, 0.0],
    )
    run = plan_reception(write_reception_instance(tmp_path / "both", sites=both))
    decisions = run.tables["site_decisions"].set_index("site_id")
    assert decisions["decision"].to_dict() == {
        "A1": "kept",
        "A2": "kept",
        "C1": "opened",
        "C2": "not opened",
        "N1": "kept",
        "N2": "not opened",
    }
    assert decisions.loc["C1", "period"] == 2
    assert decisions.loc["C1", "peak_persons"] == pytest.approx(10.0)
    assert "opened in period 2 for 1 period" in decisions.loc["C1", "reason"]
    assert "90.00 per place-night > budget 83.00" in decisions.loc["C2", "reason"]
    kpis = run.tables["kpis"].iloc[0]
    assert (kpis["sites_opened"], kpis["sites_closed"], kpis["business_cases_accepted"]) == (
        1,
        0,
        1,
    )

    only_emergency = both[both["site_id"] != "C1"]
    run = plan_reception(write_reception_instance(tmp_path / "n2", sites=only_emergency))
    decisions = run.tables["site_decisions"].set_index("site_id")
    assert decisions.loc["N2", "decision"] == "opened"
    assert decisions.loc["N2", "period"] == 2
    assert decisions.loc["N2", "place_nights"] == pytest.approx(3.0)
    assert "N2" not in set(run.tables["business_cases"]["site_id"])
    kpis = run.tables["kpis"].iloc[0]
    assert (kpis["sites_opened"], kpis["business_cases_accepted"]) == (1, 0)
    occupancy = run.tables["occupancy"]
    opened_somewhere = set(occupancy.loc[occupancy["open"] == 1, "site_id"])
    listed = set(decisions.index[decisions["decision"].isin(["opened", "kept", "closed"])])
    assert opened_somewhere == listed


def test_reception_compare_puts_the_inflows_plans_side_by_side(tmp_path: Path) -> None:
    """reception-compare on the steady (8 then 8) and peak (8 then 15) inflows with
    --robust. Steady: 8 in A1 (70) in period 1, then 10 in A1 and 6 in A2 (80): EUR
    560 + 700 + 480 = 1,740, nothing opened. Peak: C1 (72 a night, 100 a period) opens
    in period 2 and fills before A2: 560 + 700 + 720 + 3 x 80 = 2,220 of beds plus 100,
    EUR 2,320; its 10 places in region PB are the extra places the peak needs. The
    robust plan opens C1 in period 2 under both inflows. Written with each plan's run
    folder and a report."""
    from typer.testing import CliRunner

    from asielplan.cli import app
    from asielplan.experiments.report import build_report

    root = _steady_and_peak(tmp_path)
    out = tmp_path / "out"
    args = ["reception-compare", str(root), "--inflows", "steady,peak", "--robust"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = pd.read_csv(out / "comparison.csv").set_index("plan")
    assert comparison.index.tolist() == ["steady", "peak", "robust"]
    assert comparison["cost_eur"].tolist()[:2] == pytest.approx([1740.0, 2320.0])
    assert comparison.loc["peak", "cost_beds_eur"] == pytest.approx(2220.0)
    assert comparison["sites_opened"].tolist() == [0, 1, 1]
    assert comparison["places_opened"].tolist() == [0, 10, 10]
    openings = pd.read_csv(out / "openings.csv")
    assert openings[["plan", "inflow", "site_id", "period"]].values.tolist() == [
        ["peak", "peak", "C1", 2],
        ["robust", "peak", "C1", 2],
        ["robust", "steady", "C1", 2],
    ]
    extra = pd.read_csv(out / "extra_places.csv").set_index(["plan", "region"])
    assert extra.loc[("peak", "PB"), "extra_places"] == pytest.approx(10.0)
    assert extra.loc[("steady", "PB"), "extra_places"] == pytest.approx(0.0)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["peak", "robust", "steady"]
    assert "Reception plans per inflow" in build_report(out)
    unknown = CliRunner().invoke(
        app,
        ["reception-compare", str(root), "--inflows", "steady,storm", "--out", str(tmp_path / "x")],
    )
    assert unknown.exit_code == 1 and "storm" in unknown.output
