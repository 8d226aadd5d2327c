"""The plan store on SQLite and PostgreSQL: the migrated schema, a period begun on the
tiny instance, intake, proposals, decisions and the progress derived from them, users,
and the commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from typer.testing import CliRunner

from asielplan import api
from asielplan.cli import app
from asielplan.errors import ConfigError, InputError
from asielplan.store import plan
from asielplan.store.db import open_store, session
from asielplan.store.tables import Audit, Base, Household, Municipality
from asielplan.store.users import LoginRefused, add_user, authenticate, disable_user

from .conftest import TINY
from .store_helpers import BACKENDS, store_url

runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path)


@pytest.fixture
def begun(url: str):
    """A store with period 2026-I begun on the tiny instance (national 11)."""
    engine = open_store(url)
    plan.init_period(engine, "2026-I", 11, TINY)
    return engine


def states(engine) -> pd.DataFrame:
    with session(engine) as s:
        return plan.household_states(s, plan.active_period(s)).set_index("household_id")


def test_the_migrated_schema_is_the_models(url: str) -> None:
    """Alembic's migrations give exactly the tables of the SQLAlchemy models; opening
    again is a no-op."""
    engine = open_store(url)
    open_store(url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_period_holds_the_taakstelling_and_the_households(begun) -> None:
    """The municipalities hold the scheme's taakstelling (recomputed by the API), the five
    households of the tiny instance are the first intake, all open."""
    expected = api.taakstelling(TINY, 11).table.set_index("municipality")["taakstelling"]
    with session(begun) as s:
        rows = s.scalars(select(Municipality)).all()
        assert {m.code: m.taakstelling for m in rows} == expected.to_dict()
        assert s.scalar(select(func.count()).select_from(Household)) == 5
    assert set(states(begun)["state"]) == {"open"}
    with pytest.raises(ConfigError, match="already holds period"):
        plan.init_period(begun, "2026-I", 11, TINY)


def test_the_weekly_cycle(begun) -> None:
    """Propose, accept one, refuse one (forbidden there from then on), house one (the
    progress is its persons), withdraw one (back to the pool); re-propose: the accepted
    one stays, the refused one goes elsewhere, the housed one is not in the run."""
    first = plan.propose(begun, "greedy", 10)
    assert first.state == "done" and first.status == "optimal"
    before = states(begun)
    assert set(before["state"]) == {"proposed"}
    h2, h3 = before.loc["H2", "municipality"], before.loc["H3", "municipality"]
    decisions = pd.DataFrame(
        {
            "household_id": ["H1", "H2", "H3", "H5"],
            "decision": ["accepted", "refused", "housed", "withdrawn"],
            "reason": ["", "no_housing", "", ""],
            "date": ["", "", "2026-02-02", ""],
        }
    )
    assert plan.decide(begun, decisions, "tester") == 4
    after = states(begun)
    assert after.loc["H1", "state"] == "accepted"
    assert after.loc["H2", "state"] == "open" and after.loc["H2", "refused_by"] == h2
    assert after.loc["H3", "state"] == "housed"
    assert after.loc["H5", "state"] == "open"
    with session(begun) as s:
        table = plan.progress(s, plan.active_period(s)).set_index("municipality")
    assert table.loc[h3, "housed"] == 3 and table["housed"].sum() == 3
    assert table.loc[h3, "remaining"] == table.loc[h3, "taakstelling"] - 3
    second = plan.propose(begun, "greedy", 10)
    assert second.state == "done"
    again = states(begun)
    assert again.loc["H1", "state"] == "accepted"
    assert again.loc["H1", "municipality"] == before.loc["H1", "municipality"]
    assert again.loc["H2", "state"] == "proposed" and again.loc["H2", "municipality"] != h2
    assert again.loc["H3", "state"] == "housed"
    with session(begun) as s:
        files = plan.run_files(s, second.id)
        latest = plan.latest_proposals(s, plan.active_period(s))
        proposed = set(latest.index[latest["run_pk"] == second.id])
    assert "manifest.json" in files and "households.csv" in files
    assert "H3" not in proposed and {"H1", "H2", "H5"} <= proposed


def test_decisions_are_checked_all_at_once(begun) -> None:
    """Unknown household, unknown decision, a refusal without a reason, a housing without
    a date, an unknown municipality: every row's problem, nothing stored."""
    plan.propose(begun, "greedy", 10)
    bad = pd.DataFrame(
        {
            "household_id": ["NOPE", "H1", "H2", "H3", "H4"],
            "decision": ["accepted", "maybe", "refused", "housed", "accepted"],
            "municipality": ["", "", "", "", "GM9999"],
            "reason": ["", "", "", "", ""],
            "date": ["", "", "", "tomorrow", ""],
        }
    )
    with pytest.raises(InputError) as error:
        plan.decide(begun, bad, "tester", "d.csv")
    assert [(i.row, i.column) for i in error.value.issues] == [
        (1, "household_id"),
        (2, "decision"),
        (3, "reason"),
        (4, "date"),
        (5, "municipality"),
    ]
    assert set(states(begun)["state"]) == {"proposed"}


def test_intake_is_checked_and_nothing_stored_on_a_problem(begun, tmp_path: Path) -> None:
    """A households file with a bad cell, an unknown site and a known id: every problem
    by row and column, nothing stored; a good file (and a workbook) is taken in."""
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "household_id,persons,adults,children,site_id\n"
        "N1,2,1,1,S1\n"
        "N2,two,1,1,S1\n"
        "H1,1,1,0,S1\n"
        "N3,1,1,0,NOSITE\n"
    )
    with pytest.raises(InputError) as error:
        plan.import_intake(begun, bad)
    found = {(i.row, i.column) for i in error.value.issues}
    assert (2, "persons") in found
    with session(begun) as s:
        assert s.scalar(select(func.count()).select_from(Household)) == 5
    good = tmp_path / "good.csv"
    good.write_text("household_id,persons,adults,children,site_id\nN1,2,1,1,S1\nN2,1,1,0,S2\n")
    members = tmp_path / "members.csv"
    members.write_text(
        "household_id,member,sex,age_band,education,work_experience,dutch_level\n"
        "N1,1,F,25-34,secondary,some,A2\nN1,2,M,0-17,none,none,A0\nN2,1,M,35-44,primary,none,A1\n"
    )
    assert plan.import_intake(begun, good, members) == 2
    with pytest.raises(InputError, match="is in the store"):
        plan.import_intake(begun, good, members)
    book = tmp_path / "intake.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame(
            {
                "household_id": ["X1"],
                "persons": [1],
                "adults": [1],
                "children": [0],
                "site_id": ["S1"],
            }
        ).to_excel(writer, sheet_name="households", index=False)
        pd.DataFrame(
            {
                "household_id": ["X1"],
                "member": [1],
                "sex": ["F"],
                "age_band": ["18-24"],
                "education": ["tertiary"],
                "work_experience": ["none"],
                "dutch_level": ["B1"],
            }
        ).to_excel(writer, sheet_name="members", index=False)
    assert plan.import_intake(begun, book) == 1
    assert len(states(begun)) == 8


def test_users_roles_passwords_and_the_rate_limit(begun) -> None:
    """Argon2 hashes (never the password), a municipality role names a known code, a
    wrong password is refused, five failures lock the name for the window, a disabled
    user cannot log in."""
    add_user(begun, "pia", "planner", "correct horse battery")
    add_user(begun, "gm1", "municipality:GM0001", "correct horse battery")
    with pytest.raises(ConfigError, match="not in the store"):
        add_user(begun, "gm9", "municipality:GM9999", "correct horse battery")
    with pytest.raises(ConfigError, match="at least 10"):
        add_user(begun, "short", "viewer", "abc")
    user = authenticate(begun, "pia", "correct horse battery")
    assert user is not None and user.password_hash.startswith("$argon2")
    assert authenticate(begun, "gm1", "wrong") is None
    for _ in range(4):
        authenticate(begun, "gm1", "wrong")
    with pytest.raises(LoginRefused):
        authenticate(begun, "gm1", "correct horse battery")
    disable_user(begun, "pia")
    assert authenticate(begun, "pia", "correct horse battery") is None
    with session(begun) as s:
        actions = [a.action for a in s.scalars(select(Audit))]
    assert actions.count("user add") == 2 and "user disable" in actions


def test_the_plan_commands(url: str, tmp_path: Path) -> None:
    """plan init, propose, decide, status and export from the command line; a bad
    decisions file exits 1 and stores nothing."""

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--db", url])
        assert result.exit_code == 0, result.output
        return result.output

    run("plan", "init", "--period", "2026-I", "--national", "11", "--instance", str(TINY))
    assert "proposed" in run("plan", "propose", "--policy", "greedy", "--time-limit", "10")
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("household_id,decision,date\nH3,housed,2026-02-02\n")
    assert "1 decisions" in run("plan", "decide", str(decisions))
    bad = tmp_path / "bad.csv"
    bad.write_text("household_id,decision\nH9,housed\n")
    result = runner.invoke(app, ["plan", "decide", str(bad), "--db", url])
    assert result.exit_code == 1 and "H9" in result.output
    status = run("plan", "status")
    assert "housed 1" in status
    out = tmp_path / "export"
    run("plan", "export", "--out", str(out))
    progress = pd.read_csv(out / "progress.csv")
    assert progress["housed"].sum() == 3
    proposals = pd.read_csv(out / "proposals.csv")
    assert set(proposals["household_id"]) == {"H1", "H2", "H4", "H5"}
    for code in set(proposals["municipality"]):
        own = pd.read_excel(out / "municipalities" / f"{code}.xlsx")
        assert set(own["household_id"]) == set(
            proposals.loc[proposals["municipality"] == code, "household_id"]
        )
        assert (
            (out / "municipalities" / f"{code}.csv")
            .read_text(encoding="utf-8-sig")
            .startswith("household_id;")
        )
    result = runner.invoke(
        app,
        ["users", "add", "pia", "--role", "planner", "--password-stdin", "--db", url],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
