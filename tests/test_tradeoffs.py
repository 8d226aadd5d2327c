"""Trade-offs: epsilon-constraint fronts, weight sweeps and group fairness, each
checked against brute force or a hand computation on a tiny instance."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from asielplan.api import (
    fairness,
    front,
    place,
    plan_reception,
    sweep,
    write_fairness,
    write_front,
    write_run,
    write_sweep,
)
from asielplan.cli import app
from asielplan.config import RunConfig
from asielplan.errors import ConfigError
from asielplan.experiments.report import build_report
from asielplan.experiments.runs import quantities
from asielplan.experiments.studies import front as fronts
from asielplan.model.families import constraint_violations
from asielplan.model.labour import DEFAULT_MODEL, member_probabilities
from asielplan.model.placement import bounded_quantities

from .placement_helpers import FIXTURES, prepared
from .reception_helpers import write_reception_instance

EXACT = {"solver": {"mip_gap": 1e-9, "time_limit": 20}}


def exact(**placement: object) -> RunConfig:
    return RunConfig.model_validate({**EXACT, "placement": placement})


def feasible_points(cfg: RunConfig) -> pd.DataFrame:
    """(labour, distance) of every assignment of the tiny instance that breaks no rule."""
    _, d = prepared(FIXTURES / "tiny", cfg)
    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    rows = []
    for combo in itertools.product(*options):
        a = np.array(combo)
        if len(constraint_violations(d, a)):
            continue
        q = bounded_quantities(d, a)
        rows.append((q["labour"], q["distance"], q["deviation"], q["leave_coa_region"]))
    return pd.DataFrame(rows, columns=["labour", "distance", "deviation", "leave_coa_region"])


def test_front_is_the_hand_computed_set_of_non_dominated_points() -> None:
    """Labour against distance on the tiny instance, with the other parts priced at zero
    so that the two axes are the whole trade-off: every front point is non-dominated
    among all feasible assignments (brute force), and the front holds exactly the
    non-dominated points the method can reach: for each grid bound the best labour
    within it (ties to the shorter distance)."""
    cfg = exact(penalty_shortfall=0.0, penalty_excess=0.0, weight_leave_coa_region=0.0)
    result = front("tests/fixtures/tiny", cfg, "labour,distance", points=5)
    all_points = feasible_points(cfg)
    axes = fronts.parse_axes("labour,distance")
    pareto = all_points[fronts.non_dominated(all_points, axes)]
    on_front = result.points[result.points["on_front"]]
    found = sorted(zip(on_front["labour"].round(9), on_front["distance"].round(6), strict=True))
    for labour, km in found:
        assert ((pareto["labour"].round(9) == labour) & (pareto["distance"].round(6) == km)).any()
    ideal_km, nadir_km = pareto["distance"].min(), pareto["distance"].max()
    expected = set()
    for bound in np.linspace(ideal_km, nadir_km, 5):
        within = all_points[all_points["distance"] <= bound + 1e-9]
        best = within.sort_values(["labour", "distance"], ascending=[False, True]).iloc[0]
        expected.add((round(best["labour"], 9), round(best["distance"], 6)))
    assert set(found) == expected
    assert result.points["status"].eq("optimal").all()
    # the distance optimum only sets the range: a quarter of the time limit
    limits = [result.runs[k].config.solver.time_limit for k in range(3)]
    assert limits == [20, 5, 20]
    assert int(result.points["knee"].sum()) == 1
    assert result.points.loc[result.points["knee"], "on_front"].all()


def test_front_writes_tables_plot_and_runs(tmp_path: Path) -> None:
    """A written front has the points, the tidy front (point x part, with run ids that
    are run folders' ids), the plot and a manifest; the CLI prints the points."""
    out = tmp_path / "front"
    result = front("tests/fixtures/tiny", exact(), "labour,distance,deviation", points=4)
    # three ideals and a 2 x 2 grid but its loose corner (the first axis's own optimum)
    assert len(result.points) == 3 + 3
    assert result.points["role"].tolist()[:3] == [
        "ideal labour",
        "ideal distance",
        "ideal deviation",
    ]
    write_front(result, out)
    points = pd.read_csv(out / "points.csv")
    tidy = pd.read_csv(out / "front.csv")
    assert set(tidy["point"]) == set(points.loc[points["on_front"], "point"])
    assert {"labour", "distance", "deviation"} <= set(tidy["part"])
    for point, run_id in zip(points["point"], points["run_id"], strict=True):
        manifest = (out / "runs" / f"point-{point}" / "manifest.json").read_text()
        assert run_id in manifest
    assert (out / "front.png").stat().st_size > 10_000
    page = build_report(out)  # the report shows the plot and every point's run id
    assert 'alt="front.png"' in page
    assert all(run_id in page for run_id in points["run_id"])
    cli = CliRunner().invoke(
        app, ["front", "tests/fixtures/tiny", "--axes", "labour,km", "--out", str(tmp_path / "x")]
    )
    assert cli.exit_code == 1 and "unknown axis km" in cli.output


def test_studies_keep_their_placement_runs_without_the_models_data(tmp_path: Path) -> None:
    """A front keeps its runs and its default run without their placement data (arrays
    of households x municipalities; ``Run.without_data``), the plans whole; the default
    run's quantities are a plain run's of the same configuration; a run without its
    data writes the same files as the run whole, and the run it came from keeps its
    data; a reception run keeps its data (its plots read them). Fairness, scheme
    comparisons and sweeps keep theirs so too (their tests)."""
    cfg = exact()
    result = front("tests/fixtures/tiny", cfg, "labour,distance", points=3)
    assert len(result.runs) >= 2  # the two axes' own optima at least
    assert all(run.data is None for run in [*result.runs.values(), result.default])
    plain = place("tests/fixtures/tiny", cfg)
    assert result.default_values == pytest.approx(quantities(plain))
    assert result.default.solution.assignment.tolist() == (  # type: ignore[union-attr]
        plain.solution.assignment.tolist()  # type: ignore[union-attr]
    )
    light = plain.without_data()
    assert light.data is None and plain.data is not None
    whole, slim = write_run(plain, tmp_path / "whole"), write_run(light, tmp_path / "slim")
    names = sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file())
    assert names and names == sorted(
        p.relative_to(slim).as_posix() for p in slim.rglob("*") if p.is_file()
    )
    assert all((whole / name).read_bytes() == (slim / name).read_bytes() for name in names)
    reception = plan_reception(write_reception_instance(tmp_path / "r"), cfg)
    assert reception.without_data() is reception and reception.data is not None


def test_front_refuses_bad_axes_before_any_run() -> None:
    """One axis, a repeated axis, or the changes axis without a previous plan are refused."""
    with pytest.raises(ConfigError, match="two or three"):
        front("tests/fixtures/tiny", exact(), "labour")
    with pytest.raises(ConfigError, match="--axes 'labour,labour': labour given more than once"):
        front("tests/fixtures/tiny", exact(), "labour,labour")
    with pytest.raises(Exception, match="previous plan"):
        front("tests/fixtures/tiny", exact(), "labour,changes")


def test_sweep_runs_the_grid_and_shows_where_the_decision_flips(tmp_path: Path) -> None:
    """A sweep of the shortfall penalty on the tiny instance: one run per value with the
    same parts as a plain run at that value; the shortfall never grows as its penalty
    does; the households moved against the run before are counted from the plans."""
    values = [0, 5, 40]
    result = sweep(
        "tests/fixtures/tiny",
        exact(),
        ["placement.penalty_shortfall=" + ",".join(map(str, values))],
    )
    table = result.table
    assert table["placement.penalty_shortfall"].tolist() == values
    assert table["shortfall"].is_monotonic_decreasing
    plans = [result.runs[k].solution.assignment for k in range(3)]  # type: ignore[union-attr]
    assert all(run.data is None for run in result.runs.values())  # kept without their data
    assert np.isnan(table["moved"].iloc[0])
    assert table["moved"].iloc[1:].tolist() == [
        float((plans[k] != plans[k - 1]).sum()) for k in (1, 2)
    ]
    write_sweep(result, tmp_path / "sweep")
    back = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    assert back["shortfall"].tolist() == pytest.approx(table["shortfall"].tolist())
    page = build_report(tmp_path / "sweep")
    assert 'alt="sweep.png"' in page and "One row per value" in page
    assert (tmp_path / "sweep" / "sweep.png").exists()
    with pytest.raises(ConfigError, match="not a numeric setting"):
        sweep("tests/fixtures/tiny", exact(), ["placement.aggregation=1,2"])
    with pytest.raises(ConfigError, match="not a setting"):
        sweep("tests/fixtures/tiny", exact(), ["placement.penalty_shortfal=1,2"])
    with pytest.raises(ConfigError, match="not a number"):
        sweep("tests/fixtures/tiny", exact(), ["placement.penalty_shortfall=1,2x"])


def test_fairness_floor_moves_the_woman_and_reports_its_price(tmp_path: Path) -> None:
    """On the pair instance (a man and a woman, Aastad better for both, the man more so)
    the best plan gives the woman Bedorp. By hand: an absolute floor of 0.2 on adult
    women's mean is above her chance in Bedorp, so it swaps them; the labour score
    drops from p_MA + p_FB to p_MB + p_FA, a price of 1 - (p_MB + p_FA) / (p_MA + p_FB);
    proportional at level 0.7 (her own optimum is p_FA, his p_MA, and
    p_FB < 0.7 p_FA, 0.7 p_MA < p_MB) and max-min (the best of the two plans' lowest mean
    is p_FA) give the same swap; the max-min runs start from it, the plan of the last
    probe that reached their floor. Proportional at level 1 asks both their own optimum:
    both go to Aastad, paying the target penalties."""
    cfg = RunConfig.model_validate(
        {
            **EXACT,
            "placement": {"penalty_shortfall": 1000.0, "penalty_excess": 1000.0},
            "output": {"min_cell": 1},
        }
    )
    study = fairness(
        "tests/fixtures/pair", cfg, "gender", "absolute,proportional,maxmin", level=0.7, floor=0.2
    )
    inst = study.instance
    p = member_probabilities(inst.members, inst.municipalities, DEFAULT_MODEL)  # type: ignore[arg-type]
    (p_ma, p_mb), (p_fa, p_fb) = p
    assert p_fb < 0.2 < p_fa and p_ma + p_fb > p_mb + p_fa
    assert p_fb < 0.7 * p_fa and 0.7 * p_ma < p_mb
    summary = study.summary.set_index(["aggregation", "rule"])
    assert summary.loc[("sum", "none"), "labour_score"] == pytest.approx(p_ma + p_fb)
    price = 1 - (p_mb + p_fa) / (p_ma + p_fb)
    for rule in ("absolute", "proportional", "maxmin"):
        assert summary.loc[("sum", rule), "labour_score"] == pytest.approx(p_mb + p_fa)
        assert summary.loc[("sum", rule), "price_of_fairness"] == pytest.approx(price)
    groups = study.table.set_index(["aggregation", "rule", "group"])
    assert groups.loc[("sum", "none", "women"), "mean"] == pytest.approx(p_fb)
    assert groups.loc[("sum", "absolute", "women"), "mean"] == pytest.approx(p_fa)
    assert groups.loc[("sum", "absolute", "men"), "mean"] == pytest.approx(p_mb)
    assert groups.loc[("sum", "proportional", "women"), "own_optimum"] == pytest.approx(p_fa)
    common = summary.loc[("sum", "maxmin"), "level"]
    assert p_fb < common <= p_fa and common == pytest.approx(p_fa, abs=(p_fa - p_fb) / 2**5)
    # the max-min runs go on from the swap, the plan of the probe that reached the
    # floor: it is their first incumbent, before any bound; the others start with a bound
    for name, run in study.runs.items():
        assert run.data is None  # kept without its data
        first = run.solution.trace.iloc[0]
        if name.endswith("/maxmin"):
            assert first["event"] == "incumbent"
            assert first["objective"] == pytest.approx(run.solution.objective)
        else:
            assert first["event"] == "bound"
    # at least one member works: a single's score is his or her own chance, so the same
    assert summary.loc[("at_least_one", "absolute"), "price_of_fairness"] == pytest.approx(price)
    explained = study.runs["sum/absolute"].tables["explanations"].astype(str)
    words = " ".join(" ".join(explained[c]) for c in ("top_reason", "binding", "text"))
    assert "group floor" not in words and "women" not in words  # membership stays hidden
    both = fairness("tests/fixtures/pair", cfg, "gender", "proportional", level=1.0)
    labour = both.summary.set_index(["aggregation", "rule"]).loc[("sum", "proportional")]
    assert labour["labour_score"] == pytest.approx(p_ma + p_fa)
    write_fairness(study, tmp_path / "fair")
    back = pd.read_csv(tmp_path / "fair" / "fairness.csv")
    assert back["price_of_fairness"].max() == pytest.approx(price)
    assert (tmp_path / "fair" / "fairness.png").exists()
    text = (tmp_path / "fair" / "groups.csv").read_text()
    assert "H1" not in text and "H2" not in text  # aggregates only
    page = build_report(tmp_path / "fair")
    assert 'alt="fairness.png"' in page and "<td>H1</td>" not in page


def test_fairness_suppresses_small_groups_and_refuses_unknown_ones() -> None:
    """Groups below output.min_cell keep their count but show no values; an unknown
    family or rule, or the absolute rule without a floor, is a configuration error."""
    cfg = RunConfig.model_validate({**EXACT, "output": {"min_cell": 5}})
    study = fairness("tests/fixtures/pair", cfg, "gender", "proportional")
    assert study.table["suppressed"].all() and study.table["mean"].isna().all()
    assert study.table["members"].tolist() == [1, 1] * 4
    with pytest.raises(ConfigError, match="unknown group family"):
        fairness("tests/fixtures/pair", cfg, "religion")
    with pytest.raises(ConfigError, match="unknown rule"):
        fairness("tests/fixtures/pair", cfg, "gender", "utilitarian")
    with pytest.raises(ConfigError, match="--floor"):
        fairness("tests/fixtures/pair", cfg, "gender", "absolute")


def test_reception_front_is_the_hand_computed_line(tmp_path: Path) -> None:
    """Reception, money against emergency place-nights: 8 people in period 1 and 23 in
    period 2 (one night per period), A1 at 70 a night (10 beds), A2 at 200 (10 beds),
    the noodopvang at 150. The cheapest plan puts 13 in the noodopvang in period 2
    (3,210 euros); each of them moved to A2 costs 50 euros and saves one emergency
    place-night, down to 3 (3,710). So every front point lies on
    money = 3,210 + 50 (13 - emergency), at the grid's bounds 3, 5.5, 8, 10.5 and 13."""
    from .reception_helpers import SITES

    sites = SITES.assign(cost_per_night=[70.0, 200.0, 150.0])
    root = write_reception_instance(tmp_path / "r", sites=sites)
    result = front(root, exact(), "money,emergency", points=5, problem="reception")
    on = result.points[result.points["on_front"]].sort_values("emergency")
    assert on["emergency"].tolist() == pytest.approx([3.0, 5.5, 8.0, 10.5, 13.0])
    assert on["money"].tolist() == pytest.approx([3210 + 50 * (13 - e) for e in on["emergency"]])
    with pytest.raises(ConfigError, match="reception axes"):
        front(root, exact(), "money,labour", problem="reception")


def test_cli_sweep_and_fairness_write_their_folders(tmp_path: Path) -> None:
    """The commands write their tables and exit 0; a bad --sweep exits 1 before any run
    and writes nothing."""
    runner = CliRunner()
    out = tmp_path / "sweep"
    done = runner.invoke(
        app,
        [
            "sweep",
            "tests/fixtures/tiny",
            "--sweep",
            "placement.penalty_excess=5,50",
            "--out",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(out / "sweep.csv")) == 2
    bad = runner.invoke(
        app,
        [
            "sweep",
            "tests/fixtures/tiny",
            "--sweep",
            "placement.nope=1",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert bad.exit_code == 1 and not (tmp_path / "b").exists()
    fair = tmp_path / "fair"
    done = runner.invoke(
        app,
        [
            "fairness",
            "tests/fixtures/pair",
            "--groups",
            "gender",
            "--rule",
            "maxmin",
            "--out",
            str(fair),
        ],
    )
    assert done.exit_code == 0, done.output
    assert set(pd.read_csv(fair / "fairness.csv")["rule"]) == {"none", "maxmin"}


def test_a_group_floor_reads_as_a_hard_criterion() -> None:
    """A move blocked by a group floor is explained in the words of a hard criterion,
    so that no explanation tells which group a household's members belong to."""
    from asielplan.experiments.results.explanations import block_text
    from asielplan.model.families import MOVE_CRITERION, MOVE_GROUP_FLOOR

    assert block_text(MOVE_GROUP_FLOOR) == block_text(MOVE_CRITERION) == "a hard criterion applies"


def test_a_default_run_that_differs_off_the_fronts_axes_says_so() -> None:
    """A money/emergency front whose two points have 0 and 10 crisis place-nights: a
    default run with 500 crisis place-nights can sit below and left of the front on its
    axes only by paying off them, so it is named with both ranges; one with 5 crisis
    place-nights is comparable and nothing is said."""
    from asielplan.experiments.studies.front import AXES, off_axis_parts

    axes = [AXES["reception"]["money"], AXES["reception"]["emergency"]]
    points = pd.DataFrame({"point": [0, 1, 2], "on_front": [True, True, False]})
    parts = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1, 2],
            "part": ["money", "emergency", "crisis", "money", "emergency", "crisis", "crisis"],
            "quantity": [100.0, 50.0, 0.0, 80.0, 70.0, 10.0, 900.0],
        }
    )
    far = {"money": 60.0, "emergency": 40.0, "crisis": 500.0}
    assert off_axis_parts(parts, points, axes, far) == ["crisis: default 500, front 0 to 10"]
    near = {"money": 90.0, "emergency": 60.0, "crisis": 5.0}
    assert off_axis_parts(parts, points, axes, near) == []
