"""A week in the workbench, in a real headless Chromium (Playwright with the system
Chromium), on a national instance (the 342 municipalities of 2024 with generated
households), on SQLite and PostgreSQL: log in, a bad intake refused with its rows, a good
one taken in, propose, accept, refuse with a reason, mark housed, re-propose (the refused
household goes elsewhere), export a municipality's proposals and open the workbook, and
a municipality user who sees only its own. A screenshot of each page is saved (in the
test's folder, or in $ASIELPLAN_SCREENSHOTS)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import uvicorn

from asielplan import api
from asielplan.store import plan
from asielplan.store.db import open_store, session
from asielplan.store.users import add_user
from asielplan.web.app import create_app

from .store_helpers import BACKENDS, store_url

PASSWORD = "correct horse battery"
HOUSEHOLDS = 300  # the first intake (the instance's); the walk takes in 20 more


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed (.ci/run installs the Debian package 'chromium')")


@pytest.fixture(scope="module")
def national(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated households on the real municipalities of 2024, as an instance folder;
    and an intake file of 20 more households (and its members), in the same folder."""
    folder = tmp_path_factory.mktemp("national")
    made = api.generate(
        seed=11,
        households=HOUSEHOLDS + 20,
        cbs_csv=shared_data / "nl_gemeenten_2024.csv",
        cbs_geometry=shared_data / "nl_gemeenten_2024.geojson",
        indicators=shared_data / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
    )
    inst = made.instance
    later = inst.households.iloc[HOUSEHOLDS:]
    keep = inst.households.iloc[:HOUSEHOLDS]
    assert inst.members is not None
    members = inst.members
    later_members = members[members["household_id"].isin(later["household_id"])]
    first = dataclasses.replace(
        inst, households=keep, members=members[members["household_id"].isin(keep["household_id"])]
    )
    api.write_generated(dataclasses.replace(made, instance=first), folder / "instance", 11)
    later.to_csv(folder / "intake.csv", index=False)
    later_members.to_csv(folder / "intake_members.csv", index=False)
    bad = later.head(3).astype(object).copy()
    bad.loc[bad.index[0], "persons"] = "many"
    bad.loc[bad.index[1], "site_id"] = "NO-SUCH-SITE"
    bad.to_csv(folder / "bad.csv", index=False)
    return folder


class Server:
    """The workbench served by uvicorn in a thread on a free loopback port."""

    def __init__(self, url: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(url, municipalities_decide=True),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(100):
            if self.server.started:
                return f"http://127.0.0.1:{self.port}"
            time.sleep(0.1)
        raise RuntimeError("the workbench did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(params=BACKENDS)
def served(
    request: pytest.FixtureRequest, national: Path, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    url = store_url(request.param, tmp_path)
    engine = open_store(url)
    plan.init_period(engine, "2025-I", 2000, national / "instance")
    add_user(engine, "pia", "planner", PASSWORD)
    with Server(url) as address:
        yield url, address


def states(url: str) -> pd.DataFrame:
    with session(open_store(url)) as s:
        return plan.household_states(s, plan.active_period(s)).set_index("household_id")


def test_a_week_in_the_browser(served, national: Path, tmp_path: Path) -> None:
    """The whole week, page by page, in Chromium."""
    from playwright.sync_api import sync_playwright

    url, address = served
    shots = Path(os.environ.get("ASIELPLAN_SCREENSHOTS", tmp_path / "screens"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        offsite: list[str] = []
        page.on(
            "request",
            lambda r: (
                offsite.append(r.url)
                if not r.url.startswith(address) and not r.url.startswith("data:")
                else None
            ),
        )

        def shot(name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        def log_in(name: str) -> None:
            page.goto(f"{address}/login")
            page.fill("input[name=name]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")

        page.goto(f"{address}/week")
        assert page.url.endswith("/login")
        shot("login")
        log_in("pia")
        assert page.url.endswith("/week")
        shot("week")

        # intake: a bad file is refused with its rows, a good one taken in
        page.goto(f"{address}/intake")
        page.set_input_files("input[name=households]", str(national / "bad.csv"))
        page.click("#intake button[type=submit]")
        rows = page.locator("#problems tr").count() - 1
        assert rows >= 2
        problems = page.inner_text("#problems")
        assert "persons" in problems and "NO-SUCH-SITE" in problems
        shot("intake-refused")
        assert len(errors) == 1 and "400" in errors[0], errors  # the refused upload's answer
        errors.clear()
        page.set_input_files("input[name=households]", str(national / "intake.csv"))
        page.set_input_files("input[name=members]", str(national / "intake_members.csv"))
        page.click("#intake button[type=submit]")
        assert page.inner_text("#done") == "20 households taken in."
        shot("intake-taken")
        assert len(states(url)) == HOUSEHOLDS + 20

        def propose() -> None:
            page.goto(f"{address}/week")
            page.select_option("select[name=policy]", "greedy")
            page.fill("input[name=time_limit]", "20")
            page.click("#propose button[type=submit]")
            for _ in range(240):
                page.goto(f"{address}/week")
                first = page.locator("#runs td.state").first.inner_text()
                if first not in ("queued", "running"):
                    break
                time.sleep(0.5)
            assert page.locator("#runs td.state").first.inner_text() == "done"

        propose()
        shot("week-proposed")
        before = states(url)
        assert (before["state"] == "proposed").sum() == HOUSEHOLDS + 20
        ids = sorted(before.index)[:6]

        # decide on the proposals page: accept three, refuse one, house two of the accepted
        page.goto(f"{address}/proposals")
        shot("proposals")

        def decide(households: list[str], decision: str, reason: str = "") -> None:
            page.goto(f"{address}/proposals")
            for h in households:
                page.check(f"#row-{h} input[type=checkbox]")
            page.select_option("select[name=decision]", decision)
            if reason:
                page.select_option("select[name=reason]", reason)
            page.click("#decide button[type=submit]")
            assert page.url.endswith("/proposals"), page.inner_text("main")

        decide(ids[:3], "accepted")
        decide([ids[3]], "refused", "no_housing")
        decide(ids[:2], "housed")
        after = states(url)
        assert list(after.loc[ids[:2], "state"]) == ["housed", "housed"]
        assert after.loc[ids[2], "state"] == "accepted"
        assert after.loc[ids[3], "refused_by"] == before.loc[ids[3], "municipality"]
        shot("decided")

        propose()
        again = states(url)
        assert again.loc[ids[3], "state"] == "proposed"
        assert again.loc[ids[3], "municipality"] != before.loc[ids[3], "municipality"]
        assert again.loc[ids[2], "municipality"] == before.loc[ids[2], "municipality"]
        undecided = again.index.difference(ids[:4]).intersection(before.index)
        moved = again.loc[undecided, "municipality"] != before.loc[undecided, "municipality"]
        print(f"re-proposed: {int(moved.sum())} of {len(undecided)} undecided households moved")
        assert moved.mean() < 0.05

        # a municipality's proposals as a workbook
        code = str(again.loc[ids[2], "municipality"])
        page.goto(f"{address}/municipality?code={code}")
        shot("municipality-planner")
        with page.expect_download() as download:
            page.click(f"a[href='/export/municipality/{code}.xlsx']")
        saved = tmp_path / "export.xlsx"
        download.value.save_as(saved)
        sheet = openpyxl.load_workbook(saved).active
        exported = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
        own = set(
            again.index[
                (again["municipality"] == code) & again["state"].isin(["proposed", "accepted"])
            ]
        )
        assert exported == own and ids[2] in exported

        # the municipality sees only its own
        add_user(open_store(url), "gem", f"municipality:{code}", PASSWORD)
        page.click("header form button")
        log_in("gem")
        assert page.url.endswith("/municipality")
        shown = {t.strip() for t in page.locator("#own tr td:first-child").all_inner_texts()}
        assert shown == own
        shot("municipality-own")
        assert not errors, errors  # no script or resource error on any page so far
        other = next(c for c in again["municipality"].dropna() if c != code)
        response = page.goto(f"{address}/municipality?code={other}")
        assert response is not None and response.status == 403
        response = page.goto(f"{address}/week")
        assert response is not None and response.status == 403
        browser.close()
    assert len(errors) == 2 and all("403" in e for e in errors), errors
    assert not offsite, offsite
    assert len(list(shots.glob("*.png"))) >= 9
