"""Weekly placement that looks ahead: prices from sampled futures, the weekly command
and the simulation against hindsight (docs/weekly.md)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from asielplan import api
from asielplan.config import PlacementConfig, RunConfig, SolverConfig, WeeklyConfig
from asielplan.errors import ConfigError
from asielplan.experiments.report import build_report
from asielplan.solvers.prices import (
    FutureLP,
    FutureSolver,
    pace_prices,
    sample_future,
    solve_future,
)

TINY = Path(__file__).parent / "fixtures" / "tiny"
MUNICIPALITIES = """code,name,population,lat,lon,province,coa_region,urbanity,employment_rate
GM0001,Aastad,10000,52.0,5.0,P1,C1,1,76
GM0002,Bedorp,20000,52.1,5.1,P1,C1,5,58
"""
TOML = """name = "{name}"
period = "2025-I"
seed = 0
synthetic = true
description = "Hand-made weekly test instance; fictional places."
region_levels = ["province", "coa_region"]

[taakstelling]
national = 3
scheme = "exact_total"

[tables.municipalities]
path = "municipalities.csv"
source = "hand-made"

[tables.sites]
path = "sites.csv"
source = "hand-made"

[tables.households]
path = "households.csv"
source = "hand-made"

[tables.scores]
path = "scores.csv"
source = "hand-made"
"""
# a flexible household (Aastad 1.0, Bedorp 0.9) and specialists (Aastad 1.0, Bedorp 0)
SCORES = {"flexible": (1.0, 0.9), "specialist": (1.0, 0.0)}


def tiny(tmp_path: Path, name: str, households: dict[str, str], placed: tuple[int, int]) -> Path:
    """An instance of one batch (household id -> kind) on Aastad (taakstelling 1) and
    Bedorp (2), with the persons placed so far as its progress table."""
    folder = tmp_path / name
    folder.mkdir()
    toml = TOML.format(name=name)
    rows = "".join(f"{h},1,1,0,S1,,,\n" for h in households)
    (folder / "households.csv").write_text(
        "household_id,persons,adults,children,site_id,tie_kind,tie_municipality,tie_radius_km\n"
        + rows
    )
    (folder / "municipalities.csv").write_text(MUNICIPALITIES)
    (folder / "sites.csv").write_text("site_id,municipality,modality,capacity\nS1,GM0001,AZC,100\n")
    scores = "household_id,municipality,score\n" + "".join(
        f"{h},GM0001,{SCORES[kind][0]}\n{h},GM0002,{SCORES[kind][1]}\n"
        for h, kind in households.items()
    )
    (folder / "scores.csv").write_text(scores)
    if placed is not None:
        (folder / "progress.csv").write_text(
            f"municipality,placed\nGM0001,{placed[0]}\nGM0002,{placed[1]}\n"
        )
        toml += '\n[tables.progress]\npath = "progress.csv"\nsource = "hand-made"\n'
    (folder / "instance.toml").write_text(toml)
    return folder


def hand_config(policy: str) -> RunConfig:
    """Value = 10 x score; no distance or region costs; shortfall and excess 20."""
    return RunConfig(
        solver=SolverConfig(mip_gap=1e-9, threads=1),
        placement=PlacementConfig(
            weight_labour=10.0, weight_distance=0.0, weight_leave_coa_region=0.0
        ),
        weekly=WeeklyConfig(policy=policy),  # type: ignore[arg-type]
    )


# two one-person types (values 10 and 4, 6 and 5 per person), one place in each of two
# municipalities, shortfall and excess 20 per person
HAND_LP = FutureLP(
    cost=-np.array([[10.0, 4.0], [6.0, 5.0]]),
    supply=np.array([1.0, 1.0]),
    target=np.array([1.0, 1.0]),
    shortfall=20.0,
    excess=20.0,
    unplaced=None,
)


def placed_in(run: api.Run) -> dict[str, str]:
    table = run.tables["households"]
    return dict(zip(table["household_id"], table["municipality"], strict=True))


def test_prices_are_the_smallest_optimal_duals_of_a_hand_lp() -> None:
    """Two one-person types, Aastad and Bedorp one place each, penalties 20. The optimum
    puts type 1 (values 10, 4) in Aastad and type 2 (6, 5) in Bedorp: 15. Optimal
    duals: lambda_A - lambda_B in [1, 6], each in [-20, 20]; the smallest are
    lambda_B = -20 (one more place: one more short) and lambda_A = -19."""
    lp = HAND_LP
    solved = solve_future(lp, SolverConfig(threads=1))
    assert solved.value == pytest.approx(15.0)
    assert solved.price == pytest.approx([-19.0, -20.0])
    assert solved.flow == pytest.approx(np.array([[1.0, 0.0], [0.0, 1.0]]))


def _smallest_prices_by_lp(lp: FutureLP) -> tuple[float, np.ndarray]:
    """The same LP and its dual written out whole for scipy: the optimum, then the dual
    solution of least total price among those reaching it."""
    n_types, n_muni = lp.cost.shape
    t, m = np.nonzero(np.isfinite(lp.cost))
    n_flow, n_left = len(t), n_types if lp.unplaced is not None else 0
    n = n_flow + 2 * n_muni + n_left
    A = np.zeros((n_types + n_muni, n))
    c = np.zeros(n)
    A[t, np.arange(n_flow)] = 1
    A[n_types + m, np.arange(n_flow)] = 1
    c[:n_flow] = lp.cost[t, m]
    A[n_types + np.arange(n_muni), n_flow + np.arange(n_muni)] = 1
    c[n_flow : n_flow + n_muni] = lp.shortfall
    A[n_types + np.arange(n_muni), n_flow + n_muni + np.arange(n_muni)] = -1
    c[n_flow + n_muni : n_flow + 2 * n_muni] = lp.excess
    if n_left:
        A[np.arange(n_types), n_flow + 2 * n_muni + np.arange(n_types)] = 1
        c[n_flow + 2 * n_muni :] = lp.unplaced
    b = np.concatenate([lp.supply, lp.target])
    primal = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    # dual: y free with A'y <= c and b'y >= optimum; the least sum of prices
    # (lambda = -pi) is the greatest sum of pi, so minimise -sum(pi)
    objective = np.concatenate([np.zeros(n_types), -np.ones(n_muni)])
    a_ub = np.vstack([A.T, -b[None, :]])
    b_ub = np.concatenate([c, [-primal.fun + 1e-9]])
    dual = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(None, None), method="highs")
    return -primal.fun, -dual.x[n_types:]


def test_prices_match_a_separate_least_price_dual_lp() -> None:
    """On 40 seeded random futures (some types barred from some municipalities, half
    with unplaced persons allowed) the prices from the residual graph equal the duals
    of least total price found by a second, separate LP over the whole dual."""
    rng = np.random.default_rng(3)
    for trial in range(40):
        n_types, n_muni = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        cost = -rng.integers(1, 20, size=(n_types, n_muni)).astype(float)
        cost[rng.random((n_types, n_muni)) < 0.2] = np.inf
        cost[np.isinf(cost).all(axis=1), 0] = -1.0
        lp = FutureLP(
            cost=cost,
            supply=rng.integers(1, 6, size=n_types).astype(float),
            target=rng.integers(0, 8, size=n_muni).astype(float),
            shortfall=float(rng.integers(1, 30)),
            excess=float(rng.integers(1, 30)),
            unplaced=None if trial % 2 else float(rng.integers(1, 30)),
        )
        solved = solve_future(lp, SolverConfig(threads=1))
        value, price = _smallest_prices_by_lp(lp)
        assert solved.value == pytest.approx(value, abs=1e-6)
        assert solved.price == pytest.approx(price, abs=1e-6)


def test_one_model_of_futures_over_the_weeks_prices_as_a_fresh_model_does() -> None:
    """A model of futures kept over eight weeks, as the simulation keeps it (a sliding
    pool of types, those out of the pool dropped, the targets changing every future),
    gives every future the value and the prices of a fresh model of that future alone,
    under exactly-once and under at-most-once; dropped types leave the model."""
    rng = np.random.default_rng(5)
    n_types, n_muni = 40, 6
    for unplaced in (None, 12.0):
        cost = -rng.integers(1, 20, size=(n_types, n_muni)).astype(float)
        cost[rng.random((n_types, n_muni)) < 0.2] = np.inf
        cost[np.isinf(cost).all(axis=1), 0] = -1.0
        lp = FutureLP(cost, np.zeros(n_types), np.zeros(n_muni), 25.0, 15.0, unplaced)
        shared = FutureSolver(lp, SolverConfig(threads=1))
        for week in range(8):
            pool = np.arange(4 * week, 4 * week + 12)
            shared.keep_only(pool)
            assert set(np.flatnonzero(shared.row_of >= 0)) <= set(pool)
            for _ in range(3):
                supply = np.zeros(n_types)
                drawn = rng.choice(pool, size=8)
                supply[drawn] = rng.integers(1, 5, size=8)
                target = rng.integers(0, 10, size=n_muni).astype(float)
                got = shared.solve(supply, target)
                fresh = solve_future(
                    replace(lp, supply=supply, target=target), SolverConfig(threads=1)
                )
                assert got.value == pytest.approx(fresh.value, abs=1e-6)
                assert got.price == pytest.approx(fresh.price, abs=1e-6)


def test_a_future_draws_households_until_its_persons_are_reached() -> None:
    """The bootstrap stops at the draw that reaches the persons asked for."""
    persons = np.array([1, 2, 5])
    counts = sample_future(persons, 40, np.random.default_rng(0))
    drawn = int((counts * persons).sum())
    assert 40 <= drawn < 45
    assert sample_future(persons, 0, np.random.default_rng(0)).sum() == 0


def test_prices_find_the_hindsight_optimum_where_greedy_does_not(tmp_path: Path) -> None:
    """Week 1 brings a flexible household (value 10 in Aastad, 9 in Bedorp), week 2 two
    specialists (10 in Aastad, 0 in Bedorp); Aastad owes 1 person, Bedorp 2. By hand,
    hindsight puts the flexible one in Bedorp and a specialist in Aastad: 19. Greedy
    takes Aastad in week 1 (10 > 9) and ends at 10. With futures drawn from recent
    arrivals (specialists), the future LP of two specialists prices Aastad at -10 and
    Bedorp at -20, so the flexible household goes to Bedorp (9 + 20 > 10 + 10), and
    week 2 completes the hindsight optimum."""
    history = tiny(tmp_path, "history", {"S1": "specialist", "S2": "specialist"}, (0, 0))
    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, (0, 0))
    first = api.weekly(week1, hand_config("prices"), arrivals=history)
    prices = first.tables["prices"].set_index("municipality")
    assert prices["price"].to_dict() == pytest.approx({"GM0001": -10.0, "GM0002": -20.0})
    assert placed_in(first) == {"F1": "GM0002"}
    greedy = api.weekly(week1, hand_config("greedy"))
    assert placed_in(greedy) == {"F1": "GM0001"}
    assert "prices" not in greedy.tables

    week2_prices = tiny(tmp_path, "week2p", {"S3": "specialist", "S4": "specialist"}, (0, 1))
    week2_greedy = tiny(tmp_path, "week2g", {"S3": "specialist", "S4": "specialist"}, (1, 0))
    after_prices = placed_in(api.weekly(week2_prices, hand_config("prices"), arrivals=history))
    after_greedy = placed_in(api.weekly(week2_greedy, hand_config("greedy")))
    assert sorted(after_prices.values()) == ["GM0001", "GM0002"]
    assert after_greedy == {"S3": "GM0002", "S4": "GM0002"}
    value = {("flexible", "GM0001"): 10, ("flexible", "GM0002"): 9}
    value |= {("specialist", "GM0001"): 10, ("specialist", "GM0002"): 0}
    total_prices = value[("flexible", "GM0002")] + sum(
        value[("specialist", m)] for m in after_prices.values()
    )
    total_greedy = value[("flexible", "GM0001")] + sum(
        value[("specialist", m)] for m in after_greedy.values()
    )
    assert (total_prices, total_greedy) == (19, 10)


def test_the_pace_price_of_the_balanced_policy_by_hand(tmp_path: Path) -> None:
    """Taakstelling 10 and 30, 5 placed in each, a batch of 4: the national pace is
    (10 + 4) / 40 = 0.35, so the first is 1.5 persons ahead (price 200 x 1.5 / 10 = 30
    per person) and the second behind (no price, no credit). A balanced weekly run
    carries it as the objective part pace_price and in prices.csv."""
    assert pace_prices(np.array([10, 30]), np.array([5, 5]), 4, 200.0) == pytest.approx([30.0, 0.0])
    history = tiny(tmp_path, "history", {"S1": "specialist", "S2": "specialist"}, (0, 0))
    week = tiny(tmp_path, "week", {"F1": "flexible"}, (1, 0))  # Aastad (T 1) is full
    run = api.weekly(week, hand_config("balanced"), arrivals=history)
    pace = run.tables["prices"].set_index("municipality")["pace_price"]
    # pace (1 + 1) / 3: Aastad 1 - 2/3 ahead (200 x 1/3 per person), Bedorp behind
    assert pace.to_dict() == pytest.approx({"GM0001": 200 / 3, "GM0002": 0.0})
    assert placed_in(run) == {"F1": "GM0002"}
    parts = run.tables["objective"].set_index("part")
    assert parts.loc["pace_price", "quantity"] == pytest.approx(0.0)


def test_prices_refuse_a_taakstelling_band(tmp_path: Path) -> None:
    """Prices are duals of a penalised taakstelling: with placement.target_mode = band
    the weekly command and the simulation say so and name the way out."""
    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, (0, 0))
    banded = hand_config("prices")
    banded = banded.model_copy(
        update={"placement": banded.placement.model_copy(update={"target_mode": "band"})}
    )
    with pytest.raises(ConfigError, match=r"set placement\.target_mode = 'soft'"):
        api.weekly(week1, banded)
    with pytest.raises(ConfigError, match="the prices policy"):
        api.simulate(TINY, banded, weeks=2, seeds=1, policies=("greedy", "prices"))


def test_weekly_without_progress_refuses(tmp_path: Path) -> None:
    """No progress table: the weekly command says why and places nothing."""
    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs the progress of the half-year"):
        api.weekly(week1, hand_config("prices"))


def test_the_price_enters_the_objective_and_the_explanations(tmp_path: Path) -> None:
    """The objective table has the future price as a part (persons x price), and it
    adds up: the batch's persons in Bedorp times -20 is -20."""
    history = tiny(tmp_path, "history", {"S1": "specialist", "S2": "specialist"}, (0, 0))
    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, (0, 0))
    run = api.weekly(week1, hand_config("prices"), arrivals=history)
    objective = run.tables["objective"].set_index("part")
    assert objective.loc["future_price", "quantity"] == pytest.approx(-20.0)
    assert objective.loc["future_price", "weighted"] == pytest.approx(20.0)
    explained = run.tables["explanations"].set_index("household_id")
    assert explained.loc["F1", "future_price"] == pytest.approx(-20.0)
    assert explained.loc["F1", "next_best_future_price"] == pytest.approx(-10.0)
    assert "priced -20.00 per person for later weeks" in explained.loc["F1", "text"]
    prices = run.tables["prices"]
    assert prices["batch_persons"].tolist() == [0, 1]
    assert prices["remaining"].tolist() == [1, 2]


def test_simulation_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    """Two simulations of the tiny instance with the same seeds, one in this process
    and one with the seeds in two worker processes, write the same tables, byte for
    byte; hindsight is 100% of itself and no policy beats it."""
    cfg = RunConfig(solver=SolverConfig(threads=1))
    outs = []
    for workers in (1, 2):
        study = api.simulate(
            TINY, cfg, weeks=3, seeds=2, policies=("greedy", "prices"), workers=workers
        )
        outs.append(api.write_simulation(study, tmp_path / f"sim{workers}"))
    for name in ("runs.csv", "summary.csv", "balance.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    runs = pd.read_csv(outs[0] / "runs.csv")
    assert runs["seed"].tolist() == [1, 1, 1, 2, 2, 2]
    hindsight = runs[runs["policy"] == "hindsight"]
    assert hindsight["share_of_hindsight"].tolist() == pytest.approx([1.0, 1.0])
    assert (runs["share_of_hindsight"] <= 1.0 + 1e-9).all()
    # every run says how well its solves are proven: hindsight one solve, a policy one
    # per week, all proven on the tiny instance
    assert hindsight["solves"].tolist() == [1, 1]
    assert set(runs.loc[runs["policy"] != "hindsight", "solves"]) == {3}
    assert set(runs["status"]) == {"optimal"}
    assert (runs["gap"] <= cfg.solver.mip_gap + 1e-12).all()
    manifests = [json.loads((out / "manifest.json").read_text()) for out in outs]
    assert manifests[0]["run_id"] == manifests[1]["run_id"]
    assert len(manifests[0]["run_id"]) == 16
    balance = pd.read_csv(outs[0] / "balance.csv")
    assert sorted(set(balance["week"])) == [1, 2, 3]
    page = build_report(outs[0])  # the report shows both plots and the summary
    assert page.count("<img") == 2 and "share_of_hindsight_low" in page


def test_runs_with_other_thread_counts_follow_each_other_in_one_process() -> None:
    """HiGHS keeps one thread scheduler per process; a one-thread solve after a
    two-thread one (and back) still solves."""
    lp = HAND_LP
    for threads in (2, 1, 2):
        assert solve_future(lp, SolverConfig(threads=threads)).value == pytest.approx(15.0)


def test_a_batch_runs_weekly_batches_under_their_own_id(tmp_path: Path) -> None:
    """A batch file with kinds place and weekly on an instance with its progress expands
    to two runs with different ids; the weekly run writes its prices and its manifest
    names the batch's id (so resume finds it)."""
    import json

    from asielplan.batch import read_batch, run_one

    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, (0, 0))
    path = tmp_path / "batch.toml"
    path.write_text(
        'kinds = ["place", "weekly"]\ninstances = ["week1"]\n'
        "[config.placement]\nweight_labour = 10.0\nweight_distance = 0.0\n"
    )
    batch = read_batch(path)
    assert [run.labels["kind"] for run in batch.runs] == ["place", "weekly"]
    assert batch.runs[0].id != batch.runs[1].id
    weekly = batch.runs[1]
    folder = tmp_path / "out" / weekly.id
    config = weekly.spec.config.model_dump(mode="json")
    row = run_one("weekly", str(week1), config, weekly.spec.options, str(folder))
    assert row["status"] == "optimal"
    assert (folder / "prices.csv").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run_id"] == weekly.id and manifest["command"] == "weekly"


def test_the_gap_is_also_reported_without_the_objective_constant(tmp_path: Path) -> None:
    """A maximised objective of -1000 against a bound of -990 is 1% off; without its
    constant -1100 it is 100 against 110, 10% off. A weekly batch reports its constant,
    -20 x the remaining taakstelling (1 + 2 persons)."""
    from asielplan.solvers.result import Result, Status

    result = Result(
        problem="placement",
        status=Status.FEASIBLE,
        sense="max",
        objective=-1000.0,
        bound=-990.0,
        requested_gap=1e-3,
        time_limit=1.0,
        constant=-1100.0,
    )
    assert result.gap == pytest.approx(0.01)
    assert result.gap_variable == pytest.approx(0.10)
    assert "10% on the objective without its constant" in result.stop
    week1 = tiny(tmp_path, "week1", {"F1": "flexible"}, (0, 0))
    kpis = api.weekly(week1, hand_config("greedy")).tables["kpis"].iloc[0]
    assert kpis["objective_constant"] == pytest.approx(-60.0)


def test_simulate_on_the_command_line_shows_its_seeds_and_summary(tmp_path: Path) -> None:
    """asielplan simulate through the CLI: exit 0, the summary per policy on the screen,
    the tables written."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    out = tmp_path / "sim"
    args = ["simulate", str(TINY), "--weeks", "2", "--seeds", "2", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--policies", "greedy,prices"])
    assert result.exit_code == 0, result.output
    assert "hindsight" in result.output and "100.00%" in result.output
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(set(runs["policy"])) == ["greedy", "hindsight", "prices"]


def test_a_simulation_without_sites_asks_for_the_arrivals(tmp_path: Path) -> None:
    """Arrivals are generated at the instance's reception sites: an instance without
    sites gets a message naming --arrivals, not a traceback."""
    import shutil

    folder = tmp_path / "nosites"
    shutil.copytree(TINY, folder)
    (folder / "sites.csv").unlink()
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(
        toml.replace('[tables.sites]\npath = "sites.csv"\nsource = "hand-made"\n', "")
    )
    households = (folder / "households.csv").read_text()
    (folder / "households.csv").write_text(households.replace(",S1,", ",,").replace(",S2,", ",,"))
    with pytest.raises(ConfigError, match="--arrivals"):
        api.simulate(folder, RunConfig(), weeks=2, seeds=1, policies=("greedy",))


def test_a_simulation_takes_the_arrivals_scores(tmp_path: Path) -> None:
    """Arrivals given as an instance with a scores table and no members: the simulation
    scores the households with that table (it scored every pair 0 before). One score per
    household, the same in every municipality (0.1 x its number: 1.5 in all), so every
    plan of all five households expects 1.5 employed persons."""
    import shutil

    folder = tmp_path / "arrivals"
    shutil.copytree(TINY, folder)
    (folder / "members.csv").unlink()
    toml = (folder / "instance.toml").read_text()
    toml = toml.replace('[tables.members]\npath = "members.csv"\nsource = "hand-made"\n', "")
    rows = [
        f"H{h},{code},{0.1 * h:.1f}"
        for h in range(1, 6)
        for code in ("GM0001", "GM0002", "GM0003", "GM0004")
    ]
    (folder / "scores.csv").write_text("household_id,municipality,score\n" + "\n".join(rows) + "\n")
    (folder / "instance.toml").write_text(toml + '\n[tables.scores]\npath = "scores.csv"\n')
    study = api.simulate(TINY, RunConfig(), weeks=2, seeds=1, policies=("greedy",), arrivals=folder)
    runs = study.result.runs.set_index("policy")
    assert runs.loc["hindsight", "expected_employed"] == pytest.approx(1.5)
    assert runs.loc["greedy", "expected_employed"] == pytest.approx(1.5)


def test_weekly_replans_against_last_weeks_proposal(tmp_path: Path) -> None:
    """weekly --previous, as place has it (and its summary reads as a week: behind the
    pro-rata path, not a deviation from the half-year): against its own proposal nothing changes
    (changes.csv is empty); against a proposal with household H1 elsewhere, changes.csv
    lists exactly the households whose municipality differs from that proposal."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    runner = CliRunner()
    progress = tmp_path / "progress.csv"
    progress.write_text("municipality,placed\nGM0001,0\nGM0002,0\nGM0003,0\nGM0004,0\n")
    base = ["weekly", str(TINY), "--progress", str(progress), "--policy", "greedy"]
    first = tmp_path / "week1"
    week = runner.invoke(app, [*base, "--out", str(first)])
    assert week.exit_code == 0, week.output
    said = " ".join(week.output.split())  # a week's summary, not the half-year's deviation
    assert "behind the pro-rata path to date (persons)" in said
    assert "taakstelling deviation" not in said and "furthest behind the pro-rata path" in said
    aastad = pd.read_csv(first / "pace.csv").set_index("municipality").loc["GM0001"]
    explained = runner.invoke(app, ["explain", str(first), "--municipality", "GM0001"])
    assert (
        f"GM0001 Aastad: taakstelling 7, placed before this batch 0, this batch "
        f"{aastad['batch_persons']}, remaining {7 - aastad['placed_after']}"
    ) in " ".join(explained.output.split())
    again = tmp_path / "again"
    result = runner.invoke(app, [*base, "--previous", str(first), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(again / "changes.csv").empty
    plan = pd.read_csv(first / "households.csv")[["household_id", "municipality"]]
    moved = plan.copy()
    moved.loc[moved["household_id"] == "H1", "municipality"] = "GM0004"
    moved.to_csv(tmp_path / "proposal.csv", index=False)
    other = tmp_path / "other"
    result = runner.invoke(
        app, [*base, "--previous", str(tmp_path / "proposal.csv"), "--out", str(other)]
    )
    assert result.exit_code == 0, result.output
    now = pd.read_csv(other / "households.csv").set_index("household_id")["municipality"]
    before = dict(zip(moved["household_id"], moved["municipality"], strict=True))
    differ = sorted(h for h, m in before.items() if now[h] != m)
    assert sorted(pd.read_csv(other / "changes.csv")["household_id"]) == differ


def test_the_pace_table_lists_who_is_furthest_behind_by_hand(tmp_path: Path) -> None:
    """tiny's taakstelling is 7, 2, 2, 0 (national 11); 2 persons were housed in Aastad
    before the batch. With B persons in this batch the national pace is (2 + B) / 11,
    each pro-rata target that pace times the taakstelling, and 'behind' the target minus
    what is housed after the batch; the table is sorted from furthest behind."""
    progress = tmp_path / "progress.csv"
    progress.write_text("municipality,placed\nGM0001,2\nGM0002,0\nGM0003,0\nGM0004,0\n")
    inst = api.with_table(TINY, "progress", progress)
    cfg = RunConfig(weekly=WeeklyConfig(policy="greedy"))
    run = api.weekly(inst, cfg)
    pace = run.tables["pace"]
    placed = run.tables["households"].query("placed")
    batch = placed.groupby("municipality")["persons"].sum()
    total = int(batch.sum())
    rows = pace.set_index("municipality")
    for code, target, before in (("GM0001", 7, 2), ("GM0002", 2, 0), ("GM0003", 2, 0)):
        after = before + int(batch.get(code, 0))
        pro_rata = round((2 + total) / 11 * target, 2)
        assert rows.loc[code, ["taakstelling", "placed_before", "placed_after"]].tolist() == [
            target,
            before,
            after,
        ]
        assert rows.loc[code, "pro_rata"] == pytest.approx(pro_rata)
        assert rows.loc[code, "behind"] == pytest.approx(pro_rata - after)
    assert pace["behind"].is_monotonic_decreasing


def test_a_three_week_cycle_on_the_national_instance(shared_data: Path, tmp_path: Path) -> None:
    """Three weeks on the 342 real municipalities (national 15,000), small batches, as a
    planner runs them. Week 1 proposes batch A. Week 2 re-plans A against week 1's
    proposal (--previous) with one household locked elsewhere and one forbidden where it
    was proposed: only those two and households worth more than the change weight (or
    moved with them) change, each with its reason. Week 3 houses A as week 2 proposed
    (the progress table) and places batch B: its pace table starts from that progress."""
    from typer.testing import CliRunner

    from asielplan.cli import app
    from asielplan.data.instance import write_instance

    runner = CliRunner()
    made = api.generate(
        seed=7,
        households=40,
        national=15_000,
        cbs_csv=shared_data / "nl_gemeenten_2024.csv",
        cbs_geometry=shared_data / "nl_gemeenten_2024.geojson",
    ).instance
    base = tmp_path / "base"
    write_instance(made, base)
    households = pd.read_csv(base / "households.csv", dtype=str)
    members = pd.read_csv(base / "members.csv", dtype=str)
    codes = made.municipalities["code"]

    def week(name: str, ids: list[str], extra: dict[str, pd.DataFrame]) -> Path:
        folder = tmp_path / name
        shutil.copytree(base, folder)
        households[households["household_id"].isin(ids)].to_csv(
            folder / "households.csv", index=False
        )
        members[members["household_id"].isin(ids)].to_csv(folder / "members.csv", index=False)
        toml = (folder / "instance.toml").read_text()
        for table, frame in extra.items():
            frame.to_csv(folder / f"{table}.csv", index=False)
            toml += f'\n[tables.{table}]\npath = "{table}.csv"\n'
        (folder / "instance.toml").write_text(toml)
        return folder

    def run(folder: Path, out: Path, *more: str) -> pd.DataFrame:
        result = runner.invoke(
            app, ["weekly", str(folder), "--policy", "greedy", "--out", str(out), *more]
        )
        assert result.exit_code == 0, result.output
        return pd.read_csv(out / "households.csv", dtype={"household_id": str})

    batch_a = list(households["household_id"][:20])
    batch_b = list(households["household_id"][20:35])
    nothing = pd.DataFrame({"municipality": codes, "placed": 0})
    first = run(week("w1", batch_a, {"progress": nothing}), tmp_path / "out1")
    proposed = first.set_index("household_id")["municipality"]
    free = first[~first["hard_criterion"]]["household_id"].tolist()
    locked, forbidden = free[0], free[1]
    elsewhere = next(c for c in codes if c != proposed[locked])
    extra = {
        "progress": nothing,
        "locks": pd.DataFrame({"household_id": [locked], "municipality": [elsewhere]}),
        "forbidden": pd.DataFrame(
            {"household_id": [forbidden], "municipality": [proposed[forbidden]]}
        ),
    }
    second = run(
        week("w2", batch_a, extra), tmp_path / "out2", "--previous", str(tmp_path / "out1")
    )
    now = second.set_index("household_id")["municipality"]
    assert now[locked] == elsewhere and now[forbidden] != proposed[forbidden]
    changes = pd.read_csv(tmp_path / "out2" / "changes.csv", dtype={"household_id": str})
    moved = {h for h in batch_a if now[h] != proposed[h]}
    assert set(changes["household_id"]) == moved
    reasons = changes.set_index("household_id")["reason"]
    assert reasons[locked] == "locked"
    assert reasons[forbidden].startswith("moving back breaks a rule")
    others = reasons.drop(index=[locked, forbidden])
    assert others.isin(["worth more than the change weight", "changed with others"]).all()
    housed = second.groupby("municipality")["persons"].sum()
    progress = pd.DataFrame({"municipality": codes, "placed": codes.map(housed).fillna(0)})
    progress["placed"] = progress["placed"].astype(int)
    run(week("w3", batch_b, {"progress": progress}), tmp_path / "out3")
    pace = pd.read_csv(tmp_path / "out3" / "pace.csv").set_index("municipality")
    assert (pace.loc[housed.index, "placed_before"] == housed).all()
    assert int(pace["placed_before"].sum()) == int(housed.sum())
    assert pace["behind"].is_monotonic_decreasing


def test_weekly_and_the_simulation_share_one_look_ahead(tmp_path: Path) -> None:
    """look_ahead is the weekly step of both: it prices a batch over weekly.futures
    futures of weekly.future_persons persons when given (else the remaining
    taakstelling minus the batch's persons), adds the pace price under balanced and
    nothing under greedy; the same seed gives the same prices. The simulation's week
    seeds come from weekly.seed (which the simulation used to ignore) and differ per
    seed and week."""
    from asielplan.config import weekly_config
    from asielplan.data.instance import read_instance
    from asielplan.experiments.studies.simulate import week_seed
    from asielplan.model.placement import prepare_placement
    from asielplan.solvers.prices import HouseholdFutures, look_ahead

    week1 = tiny(tmp_path, "week1", {"F1": "flexible", "S1": "specialist"}, (0, 0))
    inst = read_instance(week1)
    cfg = hand_config("balanced")
    batch = prepare_placement(inst, weekly_config(cfg))
    futures = HouseholdFutures(batch, cfg.solver)
    pool = np.arange(batch.n_households)
    period, placed = np.array([1, 2]), np.array([0, 0])
    given = cfg.weekly.model_copy(update={"future_persons": 5})
    priced, prices = look_ahead(batch, futures, pool, period, placed, given, 3)
    assert prices is not None and prices.future_persons == 5
    assert prices.per_future.shape == (cfg.weekly.futures, 2)
    assert priced.pace is not None and priced.prices is not None
    fresh = HouseholdFutures(batch, cfg.solver)
    _, same = look_ahead(batch, fresh, pool, period, placed, given, 3)
    assert same is not None and np.array_equal(same.price, prices.price)
    _, derived = look_ahead(batch, futures, pool, period, placed, cfg.weekly, 3)
    assert derived is not None and derived.future_persons == 1  # 1 + 2 left, 2 in the batch
    greedy = cfg.weekly.model_copy(update={"policy": "greedy"})
    plain, none = look_ahead(batch, None, pool, period, placed, greedy, 3)
    assert none is None and plain is batch
    seeds = {week_seed(w, s, k) for w in (0, 1) for s in (1, 2) for k in (0, 1)}
    assert len(seeds) == 8


def test_the_weekly_summary_states_the_look_ahead_part_with_one_sign(tmp_path: Path) -> None:
    """weekly --policy balanced: the summary lists what the look-ahead and pace prices
    add to the objective, each as the objective table's weighted value (one sign:
    negative when the batch pays for places later weeks need)."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    week1 = tiny(tmp_path, "week1", {"F1": "flexible", "S1": "specialist"}, (0, 0))
    config = tmp_path / "c.toml"
    config.write_text(
        "[solver]\nmip_gap = 1e-9\nthreads = 1\n[placement]\nweight_labour = 10.0\n"
        "weight_distance = 0.0\nweight_leave_coa_region = 0.0\n"
    )
    out = tmp_path / "out"
    args = ["weekly", str(week1), "--policy", "balanced", "--config", str(config)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    objective = pd.read_csv(out / "objective.csv").set_index("part")["weighted"]
    said = " ".join(result.output.split())
    for part, label in (("future_price", "look-ahead prices"), ("pace_price", "pace prices")):
        assert f"of it, {label} (weight units) │ {objective[part]:,.2f}" in said
