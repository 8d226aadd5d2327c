"""The chain plan: stocks and flows by hand on a tiny chain, the taakstelling's effect on
crisis and emergency reception on the embedded default, the smallest taakstelling
against a sweep, the site list's rules and the command's files."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from asielplan import api
from asielplan.config import ChainConfig, RunConfig, SolverConfig
from asielplan.data.chain import chain_input
from asielplan.data.instance import default_instance_path, read_instance
from asielplan.errors import InputError
from asielplan.model.chain import CRISIS_TOLERANCE, prepare_chain
from asielplan.solvers.chain import solve_chain
from tests.reception_helpers import MUNICIPALITIES

FORECAST = pd.DataFrame(
    {
        "period_start": ["2027-01-04", "2027-01-11", "2027-01-18", "2027-01-25"],
        "inflow": ["middle"] * 4,
        "arrivals": [5.0, 5.0, 0.0, 0.0],
        "grant_share": [0.5] * 4,
    }
)
SITE_LIST = pd.DataFrame(
    {
        "site_id": ["A1"],
        "municipality": ["GM9001"],
        "modality": ["AZC"],
        "capacity": [100],
        "cost_per_night": [70.0],
    }
)
# 2027-I has 181 days: a taakstelling of 181 houses 7 a week at a realisation of 1
SPEC = {
    "in_procedure": 10.0,
    "waiting": 4.0,
    "departing": 2.0,
    "decisions_per_week": 6.0,
    "decision_lag_weeks": 0,
    "departure_weeks": 1.0,
    "realisation_share": 1.0,
    "national": {"2027-I": 181.0},
}


def write_chain_instance(
    root: Path,
    forecast: pd.DataFrame = FORECAST,
    sites: pd.DataFrame | None = SITE_LIST,
    spec: dict | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """A chain instance folder: two municipalities, a forecast, a site list, [chain]."""
    root.mkdir(parents=True, exist_ok=True)
    MUNICIPALITIES.to_csv(root / "municipalities.csv", index=False)
    tables = {
        "municipalities": {"path": "municipalities.csv", "source": "hand-made"},
        "forecast": {"path": "forecast.csv", "source": "hand-made"},
    }
    forecast.to_csv(root / "forecast.csv", index=False)
    if sites is not None:
        sites.to_csv(root / "site_list.csv", index=False)
        tables["site_list"] = {"path": "site_list.csv", "source": "hand-made"}
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    meta = {
        "name": "tiny chain",
        "period": "2027-I",
        "seed": 0,
        "region_levels": ["province"],
        "chain": spec or SPEC,
        "tables": tables,
    }
    (root / "instance.toml").write_text(tomli_w.dumps(meta))
    return root


def hand_config(**chain: object) -> RunConfig:
    """No decision capacity to add, no buffer: every number can be followed by hand."""
    settings = {"extra_decisions_per_week": 0.0, "buffer_norm": 1.0, **chain}
    return RunConfig(chain=ChainConfig(**settings), solver=SolverConfig(time_limit=30))


def test_tiny_chain_by_hand(tmp_path: Path) -> None:
    """Week 1: 15 may be decided, the capacity decides 6 (3 granted, 3 rejected); 7 of the
    4 + 3 waiting can be housed (181 x 7 / 181), so all 7 are; of the 2 departing,
    1 - e^-1 leave; everyone else stays in the one site."""
    run = api.plan_chain(write_chain_instance(tmp_path / "tiny"), hand_config())
    chain = run.tables["chain"].set_index("period")
    first = chain.loc[1]
    left = 2 * (1 - math.exp(-1))
    assert first["decisions"] == pytest.approx(6)
    assert first["granted"] == pytest.approx(3)
    assert first["housed"] == pytest.approx(7)
    assert first["waiting"] == pytest.approx(0)
    assert first["in_procedure"] == pytest.approx(9)
    assert first["departed"] == pytest.approx(left, abs=1e-6)
    assert first["departing"] == pytest.approx(2 - left + 3, abs=1e-6)
    assert first["regular"] == pytest.approx(9 + 2 - left + 3, abs=1e-6)
    assert run.tables["kpis"].iloc[0]["crisis_place_nights"] == 0
    assert run.solution.status.value == "optimal"


def test_stocks_and_flows_balance_in_every_period_and_inflow() -> None:
    """In the robust plan on the default, for every inflow and period: the change of the
    persons in reception is arrivals - housed - departed, each stock is its own balance
    (procedure: + arrivals - decisions; waiting: + granted - housed; departing: +
    rejected - departed), and the persons in reception are in a site or in crisis."""
    run = api.plan_chain(None, RunConfig(chain=ChainConfig(robust=True)))
    chain = run.tables["chain"]
    spec = read_instance(default_instance_path()).meta.chain
    assert spec is not None
    assert set(chain["inflow"]) == {"low", "middle", "high"}
    for _, rows in chain.groupby("inflow"):
        rows = rows.sort_values("period")
        start = spec.in_procedure + spec.waiting + spec.departing
        before = np.r_[start, rows["in_reception"].to_numpy()[:-1]]
        change = rows["in_reception"].to_numpy() - before
        flows = (rows["arrivals"] - rows["housed"] - rows["departed"]).to_numpy()
        assert np.allclose(change, flows, atol=1e-4)
        for stock, initial, inflow, outflow in (
            ("in_procedure", spec.in_procedure, "arrivals", "decisions"),
            ("waiting", spec.waiting, "granted", "housed"),
            ("departing", spec.departing, "rejected", "departed"),
        ):
            level = rows[stock].to_numpy()
            previous = np.r_[initial, level[:-1]]
            assert np.allclose(level - previous, rows[inflow] - rows[outflow], atol=1e-4)
        placed = rows["regular"] + rows["emergency"] + rows["crisis"]
        assert np.allclose(placed, rows["in_reception"], atol=1e-4)
        assert (rows["regular"] <= 0.96 * rows["regular_places"] + 1e-4).all()
    # the levers are shared: one row per period
    assert len(run.tables["levers"]) == chain["period"].nunique()


def _outcome(chain: object, national: float | None, question: str = "off") -> tuple:
    config = ChainConfig(inflow="high", national=national, smallest_national=question)
    data = prepare_chain(chain, config)  # type: ignore[arg-type]
    solution = solve_chain(data, SolverConfig(time_limit=60))
    m = solution.model
    assert m is not None
    days = data.days
    crisis = sum(days[t] * (m.crisis[0, t].value or 0.0) for t in range(data.periods))
    tier = data.sites["tier"].to_numpy()
    emergency = sum(
        days[t] * (m.y[w, s, t].value or 0.0) for w, s, t in m.y_index if tier[s] == "emergency"
    )
    chosen = {h: m.national[h].value for h in data.levers}
    return crisis, emergency, chosen


@pytest.fixture(scope="module")
def default_chain() -> object:
    return chain_input(read_instance(default_instance_path()))


GRID = (1000, 3000, 6000, 12000, 20000, 30000)


@pytest.fixture(scope="module")
def swept(default_chain: object) -> dict[int, tuple]:
    """Crisis and emergency place-nights on the default, inflow high, for each
    taakstelling of 2027-II on the grid."""
    return {value: _outcome(default_chain, value)[:2] for value in GRID}


def test_raising_the_taakstelling_never_adds_emergency_or_crisis(swept: dict[int, tuple]) -> None:
    """Embedded default, inflow high: with the taakstelling of 2027-II at 1,000, 3,000,
    6,000, 12,000, 20,000 and 30,000, the crisis and the emergency place-nights never
    grow as it rises (and crisis falls from a large number to none)."""
    crisis = [swept[v][0] for v in GRID]
    emergency = [swept[v][1] for v in GRID]
    assert all(b <= a + 1.0 for a, b in pairwise(crisis))
    assert all(b <= a + 1.0 for a, b in pairwise(emergency))
    assert crisis[0] > 100_000 and crisis[-1] <= CRISIS_TOLERANCE


def test_smallest_taakstelling_equals_a_sweep(
    default_chain: object, swept: dict[int, tuple]
) -> None:
    """The model's smallest constant taakstelling that keeps crisis at zero under the
    high inflow is the sweep's answer: the grid brackets it (crisis at the grid value
    below, none at the one above; crisis never grows with the taakstelling, the test
    above), and with the taakstelling fixed, one person fewer brings crisis back while
    the model's number keeps it away."""
    _, _, chosen = _outcome(default_chain, None, "constant")
    (found,) = chosen.values()
    free = [v for v in GRID if swept[v][0] <= CRISIS_TOLERANCE]
    below = [v for v in GRID if swept[v][0] > CRISIS_TOLERANCE]
    assert max(below) < found <= min(free)
    assert _outcome(default_chain, float(found))[0] <= CRISIS_TOLERANCE
    assert _outcome(default_chain, float(found) - 1)[0] > CRISIS_TOLERANCE


def test_smallest_per_half_year_cannot_be_lowered(tmp_path: Path) -> None:
    """Per half-year over 2027-II and 2028-I (2027-I announced): the sum is as small as
    it can be, so lowering either by one person brings crisis back."""
    weeks = 52 + 26
    start = pd.Timestamp("2027-01-04")
    forecast = pd.DataFrame(
        {
            "period_start": [
                (start + pd.Timedelta(weeks=t)).date().isoformat() for t in range(weeks)
            ],
            "inflow": "middle",
            "arrivals": np.where(np.arange(weeks) < 40, 10.0, 30.0),
            "grant_share": 1.0,
        }
    )
    spec = {
        **SPEC,
        "in_procedure": 0.0,
        "waiting": 0.0,
        "departing": 0.0,
        "decisions_per_week": 50.0,
    }
    sites = SITE_LIST.assign(capacity=[200])
    folder = write_chain_instance(tmp_path / "long", forecast, sites, spec)
    run = api.plan_chain(folder, hand_config(smallest_national="per-half-year"))
    chosen = dict(
        item.split("=") for item in run.tables["kpis"].iloc[0]["chosen_national"].split(";")
    )
    assert set(chosen) == {"2027-II", "2028-I"}
    assert run.tables["kpis"].iloc[0]["crisis_place_nights"] == 0
    for half in chosen:
        lowered = {h: float(v) - (1 if h == half else 0) for h, v in chosen.items()}
        again = api.plan_chain(folder, hand_config(national_by_half_year=lowered))
        assert again.tables["kpis"].iloc[0]["crisis_place_nights"] > 0, half


def test_bad_forecast_and_site_list_are_told_all_at_once(tmp_path: Path) -> None:
    """A day not in the calendar, a period twice, an inflow missing a period, a site in
    an unknown municipality and an open site with an opening date: five problems, one
    error, each with its file, row and column."""
    forecast = pd.concat(
        [
            FORECAST,
            pd.DataFrame(
                {
                    "period_start": ["2027-02-30", "2027-01-04"],
                    "inflow": ["middle", "high"],
                    "arrivals": [1.0, 1.0],
                    "grant_share": [0.5, 0.5],
                }
            ),
            FORECAST.iloc[:1],
        ],
        ignore_index=True,
    )
    sites = pd.concat(
        [
            SITE_LIST,
            SITE_LIST.assign(site_id=["B1"], municipality=["GM0000"], opens=["2027-02-01"]),
        ],
        ignore_index=True,
    )
    with pytest.raises(InputError) as caught:
        read_instance(write_chain_instance(tmp_path / "bad", forecast, sites))
    told = {(i.file, i.row, i.column) for i in caught.value.issues}
    assert ("forecast.csv", 5, "period_start") in told  # 30 February
    assert ("forecast.csv", 7, "period_start") in told  # 2027-01-04 twice for middle
    assert ("forecast.csv", None, "period_start") in told  # high lacks periods
    assert ("site_list.csv", 2, "municipality") in told
    assert ("site_list.csv", 2, "opens") in told


def test_an_announced_half_year_needs_its_taakstelling(tmp_path: Path) -> None:
    """Without [chain].national for 2027-I (it starts before the lead time ends), the
    plan refuses to guess one and says which half-year and where to give it."""
    folder = write_chain_instance(tmp_path / "unannounced", spec={**SPEC, "national": {}})
    with pytest.raises(InputError) as caught:
        api.plan_chain(folder, hand_config())
    assert [i.column for i in caught.value.issues] == ["chain.national.2027-I"]


def test_candidates_open_on_budget_and_close_on_their_date(tmp_path: Path) -> None:
    """A regular candidate within the budget opens when it is needed (and no earlier
    than its first day); one over the budget is rejected with its numbers; a closing
    site closes on its day."""
    forecast = FORECAST.assign(arrivals=[0.0, 60.0, 60.0, 0.0])
    sites = pd.DataFrame(
        {
            "site_id": ["A1", "C1", "C2", "N1"],
            "municipality": ["GM9001", "GM9002", "GM9002", "GM9001"],
            "modality": ["AZC", "AZC", "AZC", "noodopvang"],
            "capacity": [40, 100, 100, 100],
            "state": ["open", "candidate", "candidate", "closing"],
            "opens": [None, "2027-01-11", "2027-01-04", None],
            "closes": [None, None, None, "2027-01-18"],
            "cost_per_night": [70.0, 60.0, 120.0, 190.0],
        }
    )
    spec = {**SPEC, "decisions_per_week": 1.0}
    run = api.plan_chain(
        write_chain_instance(tmp_path / "sites", forecast, sites, spec), hand_config()
    )
    decisions = run.tables["site_decisions"].set_index("site_id")
    assert decisions.loc["C1", "decision"] == "opened"
    assert decisions.loc["C1", "period_start"] == "2027-01-11"
    assert decisions.loc["C2", "decision"] == "rejected on budget"
    assert "120.00 EUR per place-night over the budget of 83.00" in decisions.loc["C2", "reason"]
    assert decisions.loc["N1", "decision"] == "closed"
    assert decisions.loc["N1", "period"] == 3
    assert decisions.loc["A1", "decision"] == "kept"


def test_chain_command_writes_its_files_and_report(tmp_path: Path) -> None:
    """`asielplan chain --robust` on the default: exit 0, the tables, the plot, a
    manifest of kind chain with its stages, and a report that shows the plot."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    out = tmp_path / "chain"
    result = CliRunner().invoke(app, ["chain", "--robust", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("chain", "levers", "half_years", "site_decisions", "stages", "objective", "kpis"):
        assert (out / f"{name}.csv").is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "chain"
    assert [s["stage"] for s in manifest["stats"]["stages"]] == ["crisis", "cost"]
    html = api.report(out)
    assert html.is_file() and "Chain plan" in html.read_text()


def test_a_site_list_workbook_with_date_cells_plans_like_its_csv(tmp_path: Path) -> None:
    """The candidates' test as an xlsx site list whose opens and closes are date cells,
    attached with --sites: the same site decisions as from the CSV."""
    from datetime import date

    forecast = FORECAST.assign(arrivals=[0.0, 60.0, 60.0, 0.0])
    folder = write_chain_instance(
        tmp_path / "book", forecast, SITE_LIST, {**SPEC, "decisions_per_week": 1.0}
    )
    sites = pd.DataFrame(
        {
            "site_id": ["A1", "C1", "N1"],
            "municipality": ["GM9001", "GM9002", "GM9001"],
            "modality": ["AZC", "AZC", "noodopvang"],
            "capacity": [40, 100, 100],
            "state": ["open", "candidate", "closing"],
            "opens": [None, date(2027, 1, 11), None],
            "closes": [None, None, date(2027, 1, 18)],
            "cost_per_night": [70.0, 60.0, 190.0],
        }
    )
    book = tmp_path / "sites.xlsx"
    sites.to_excel(book, index=False)
    csv = tmp_path / "sites.csv"
    sites.assign(opens=["", "2027-01-11", ""], closes=["", "", "2027-01-18"]).to_csv(
        csv, index=False
    )
    runs = [
        api.plan_chain(api.with_table(folder, "site_list", f), hand_config()) for f in (book, csv)
    ]
    left, right = (r.tables["site_decisions"] for r in runs)
    pd.testing.assert_frame_equal(left, right)
    assert left.set_index("site_id").loc["C1", "period_start"] == "2027-01-11"
    assert left.set_index("site_id").loc["N1", "decision"] == "closed"


def test_national_by_half_year_file_is_read_and_checked(tmp_path: Path) -> None:
    """--national-by-period reads a table of half-years: a good one sets 2027-I (a
    what-if on an announced half-year, said as given); a bad one is refused with every
    problem (a half-year written wrongly, a negative number) and nothing written."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    folder = write_chain_instance(tmp_path / "tiny")
    good = tmp_path / "national.csv"
    good.write_text("half_year,national\n2027-I,90\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["chain", str(folder), "--national-by-period", str(good), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    half = pd.read_csv(out / "half_years.csv").iloc[0]
    assert (half["national"], half["national_source"]) == (90, "given")
    bad = tmp_path / "bad.csv"
    bad.write_text("half_year,national\n2027-3,90\n2027-II,-5\n")
    refused = tmp_path / "refused"
    result = CliRunner().invoke(
        app, ["chain", str(folder), "--national-by-period", str(bad), "--out", str(refused)]
    )
    assert result.exit_code == 1
    assert "2027-3" in result.output and "national" in result.output
    assert not refused.exists()


def test_monthly_periods_take_their_days(tmp_path: Path) -> None:
    """Months as periods: January has 31 days, February 28; housing per month is the
    half-year's taakstelling x its days / 181, and the place-nights count the days."""
    forecast = pd.DataFrame(
        {
            "period_start": ["2027-01-01", "2027-02-01", "2027-03-01"],
            "inflow": "middle",
            "arrivals": [0.0, 0.0, 0.0],
            "grant_share": 1.0,
        }
    )
    spec = {**SPEC, "in_procedure": 0.0, "waiting": 1000.0, "departing": 0.0}
    run = api.plan_chain(
        write_chain_instance(tmp_path / "months", forecast, spec=spec), hand_config()
    )
    chain = run.tables["chain"].set_index("period")
    assert list(chain["days"]) == [31, 28, 28]  # the last as long as the one before
    assert chain.loc[1, "housed"] == pytest.approx(31.0)
    assert chain.loc[2, "housed"] == pytest.approx(28.0)
