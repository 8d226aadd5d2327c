"""The workbench's access and security, route by route, on SQLite and PostgreSQL: logins,
roles, CSRF, escaping, parameterised queries, the login rate limit, headers and uploads
(the browser walk of a week is in test_workbench_browser.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from asielplan.store import plan
from asielplan.store.db import open_store, session
from asielplan.store.users import add_user
from asielplan.web.app import create_app

from .conftest import TINY
from .store_helpers import BACKENDS, store_url

PASSWORD = "correct horse battery"
PAGES = ["/", "/week", "/proposals", "/intake", "/municipality", "/audit", "/runs/1/report"]
EXPORTS = ["/export/progress.csv", "/export/municipality/GM0001.xlsx"]
API = ["/api/proposals", "/api/progress"]
POSTS = ["/propose", "/decide", "/intake", "/runs/1/cancel", "/logout"]


@pytest.fixture(params=BACKENDS)
def workbench(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, TestClient]:
    """A store on the tiny instance with a finished proposal run and a planner, a viewer
    and two municipality users; a client of its workbench (municipalities may decide)."""
    url = store_url(request.param, tmp_path)
    engine = open_store(url)
    plan.init_period(engine, "2026-I", 11, TINY)
    plan.propose(engine, "greedy", 10)
    add_user(engine, "pia", "planner", PASSWORD)
    add_user(engine, "vic", "viewer", PASSWORD)
    for code in ("GM0001", "GM0002", "GM0003", "GM0004"):
        add_user(engine, f"m{code}", f"municipality:{code}", PASSWORD)
    app = create_app(url, municipalities_decide=True)
    return url, TestClient(app, follow_redirects=False)


def csrf(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> int:
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf(client)}
    )
    return response.status_code


def own_municipality(url: str) -> dict[str, str]:
    """Household -> its proposed municipality."""
    with session(open_store(url)) as s:
        states = plan.household_states(s, plan.active_period(s))
    return dict(zip(states["household_id"], states["municipality"], strict=True))


def test_without_login_pages_redirect_and_the_api_answers_401(workbench) -> None:
    """Every page and export answers 303 to /login, every API route 401, every form 303
    or 403 (no token), /healthz 200."""
    _, client = workbench
    assert client.get("/healthz").json() == {"status": "ok"}
    for path in PAGES + EXPORTS:
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    for path in API:
        assert client.get(path).status_code == 401, path
    for path in POSTS:
        assert client.post(path, data={}).status_code in (303, 403), path


def test_roles(workbench) -> None:
    """A viewer reads but may not propose, decide or take in; a municipality user sees
    only its own municipality (a page, an export or the API of another answers 403) and
    may decide only on its own households."""
    url, client = workbench
    assert login(client, "vic") == 303
    assert client.get("/week").status_code == 200
    token = csrf(client, "/week")
    assert client.post("/propose", data={"csrf": token}).status_code == 403
    assert (
        client.post(
            "/decide", data={"csrf": token, "household_id": "H1", "decision": "accepted"}
        ).status_code
        == 403
    )
    assert client.get("/intake").status_code == 403
    client.post("/logout", data={"csrf": token})

    where = own_municipality(url)
    mine = where["H1"]
    other = next(code for code in ("GM0001", "GM0002", "GM0003", "GM0004") if code != mine)
    assert login(client, f"m{mine}") == 303
    assert client.get("/week").status_code == 403
    assert client.get("/proposals").status_code == 403
    page = client.get("/municipality")
    assert page.status_code == 200 and "H1" in page.text
    others = [h for h, code in where.items() if code != mine]
    assert not any(f"<td>{h}</td>" in page.text for h in others)
    assert client.get(f"/municipality?code={other}").status_code == 403
    assert client.get(f"/export/municipality/{other}.xlsx").status_code == 403
    assert client.get(f"/api/proposals?municipality={other}").status_code == 403
    assert {r["household_id"] for r in client.get("/api/proposals").json()} == {
        h for h, code in where.items() if code == mine
    }
    assert [r["municipality"] for r in client.get("/api/progress").json()] == [mine]
    token = csrf(client, "/municipality")
    if others:
        response = client.post(
            "/decide", data={"csrf": token, "household_id": others[0], "decision": "accepted"}
        )
        assert response.status_code == 403
    response = client.post(
        "/decide",
        data={"csrf": token, "household_id": "H1", "decision": "housed", "date": "2026-01-01"},
    )
    assert response.status_code == 403
    response = client.post(
        "/decide", data={"csrf": token, "household_id": "H1", "decision": "accepted"}
    )
    assert response.status_code == 303


def test_csrf_is_checked_on_every_form(workbench) -> None:
    """A missing or forged token is refused (403) and nothing happens."""
    url, client = workbench
    assert login(client, "pia") == 303
    for token in ("", "forged"):
        data = {"csrf": token, "household_id": "H1", "decision": "accepted"}
        assert client.post("/decide", data=data).status_code == 403
        assert client.post("/propose", data={"csrf": token}).status_code == 403
        assert client.post("/logout", data={"csrf": token}).status_code == 403
    assert own_municipality(url)["H1"] is not None
    with session(open_store(url)) as s:
        assert (
            plan.household_states(s, plan.active_period(s))
            .set_index("household_id")
            .loc["H1", "state"]
            == "proposed"
        )
    response = client.post("/login", data={"name": "pia", "password": PASSWORD})
    assert response.status_code == 403


def test_hostile_text_is_stored_and_shown_as_text(workbench, tmp_path: Path) -> None:
    """SQL metacharacters in the login name are a wrong login, not an error; a note with
    <script> is stored as written and shown escaped; an upload with <script> in a cell
    comes back as an escaped problem."""
    url, client = workbench
    assert login(client, "pia' OR '1'='1") == 401
    assert login(client, "pia") == 303
    token = csrf(client, "/proposals")
    script = "<script>alert('x')</script>'; DROP TABLE decision; --"
    response = client.post(
        "/decide",
        data={
            "csrf": token,
            "household_id": "H2",
            "decision": "refused",
            "reason": "other",
            "note": script,
        },
    )
    assert response.status_code == 303
    audit = client.get("/audit").text
    assert "<script>alert" not in audit
    with session(open_store(url)) as s:
        from sqlalchemy import select

        from asielplan.store.tables import Decision

        notes = [d.note for d in s.scalars(select(Decision))]
    assert notes == [script]
    upload = "household_id,persons,adults,children,site_id\n<script>x</script>,1,1,0,S1\n"
    response = client.post(
        "/intake",
        data={"csrf": token},
        files={"households": ("h.csv", upload.encode(), "text/csv")},
    )
    assert response.status_code == 400
    assert (
        "<script>x</script>" not in response.text
        and "&lt;script&gt;x&lt;/script&gt;" in response.text
    )


def test_uploads_are_limited_in_size_and_type(workbench) -> None:
    """A file of another type, or larger than the limit, is refused before reading."""
    _, client = workbench
    assert login(client, "pia") == 303
    token = csrf(client, "/intake")
    response = client.post(
        "/intake",
        data={"csrf": token},
        files={"households": ("h.exe", b"MZ", "application/octet-stream")},
    )
    assert response.status_code == 400 and "at most" in response.text
    big = b"household_id,persons\n" + b"H,1\n" * (2 * 1024 * 1024)
    response = client.post(
        "/intake", data={"csrf": token}, files={"households": ("h.csv", big, "text/csv")}
    )
    assert response.status_code == 400 and "at most" in response.text


def test_wrong_passwords_are_rate_limited(workbench) -> None:
    """Five wrong passwords for a name, then even the right one answers 429."""
    _, client = workbench
    for _ in range(5):
        assert login(client, "pia", "wrong password") == 401
    assert login(client, "pia") == 429


def test_headers_and_cookie(workbench) -> None:
    """Every page has a CSP without inline script and X-Frame-Options DENY; the session
    cookie is HttpOnly and SameSite=Lax."""
    _, client = workbench
    response = client.get("/login")
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    secure = TestClient(create_app(workbench[0], secure=True), base_url="https://testserver")
    assert "secure" in secure.get("/login").headers["set-cookie"].lower()


def test_a_proposal_run_from_the_page(workbench) -> None:
    """A planner starts a run from the page: it works in another process, the page shows
    it until done, its report opens with its own policy."""
    _, client = workbench
    assert login(client, "pia") == 303
    token = csrf(client, "/week")
    assert (
        client.post(
            "/propose", data={"csrf": token, "policy": "greedy", "time_limit": "10"}
        ).status_code
        == 303
    )
    assert (
        client.post(
            "/propose", data={"csrf": token, "policy": "greedy", "time_limit": "10"}
        ).status_code
        == 409
    )
    for _ in range(120):
        page = client.get("/week").text
        if "queued" not in page and "running" not in page:
            break
        time.sleep(0.5)
    assert page.count('<td class="state">done</td>') == 2
    report = client.get("/runs/2/report")
    assert report.status_code == 200 and "Weekly placement batch" in report.text
    assert "unsafe-inline" in report.headers["content-security-policy"]


def test_the_letters_of_the_period(workbench) -> None:
    """The week page's letters link gives a ZIP with a PDF per municipality, an overview
    per province and letters.csv, whose taakstelling per municipality is the law's for
    the period's national number; the same store gives the same bytes."""
    import io
    import zipfile

    import pandas as pd

    from asielplan import api

    _, client = workbench
    assert login(client, "vic") == 303
    response = client.get("/export/letters.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert sum(n.startswith("municipalities/") for n in names) == 4
    assert sum(n.startswith("provinces/") for n in names) == 2
    assert all(archive.read(n).startswith(b"%PDF") for n in names if n.endswith(".pdf"))
    table = pd.read_csv(archive.open("letters.csv")).set_index("municipality")
    law = api.letters("2026-I", TINY, national=11).table.set_index("municipality")
    assert table["taakstelling"].to_dict() == law["taakstelling"].to_dict()
    assert client.get("/export/letters.zip").content == response.content


def test_a_run_can_be_cancelled(workbench) -> None:
    """A planner cancels a running proposal: it is said cancelled, stores no proposal, and
    the next run can start."""
    url, client = workbench
    assert login(client, "pia") == 303
    token = csrf(client, "/week")
    client.post("/propose", data={"csrf": token, "policy": "prices", "time_limit": "600"})
    assert client.post("/runs/2/cancel", data={"csrf": token}).status_code == 303
    page = client.get("/week").text
    assert page.count('<td class="state">cancelled</td>') == 1
    with session(open_store(url)) as s:
        latest = plan.latest_proposals(s, plan.active_period(s))
    assert set(latest["run_pk"]) == {1}
    response = client.post("/propose", data={"csrf": token, "policy": "greedy", "time_limit": "10"})
    assert response.status_code == 303


def test_the_week_ranks_by_the_pro_rata_path(workbench) -> None:
    """On 1 April 2026, 90 of the 181 days of 2026-I have passed: each municipality's
    path is its taakstelling times 90/181, and the list starts with the one furthest
    behind it; a date that is not one is refused."""
    url, client = workbench
    assert login(client, "vic") == 303
    page = client.get("/week?on=2026-04-01").text
    assert "On 2026-04-01, 49.7% of the half-year" in page
    with session(open_store(url)) as s:
        table = plan.progress(s, plan.active_period(s))
    behind = table["taakstelling"] * 90 / 181 - table["housed"]
    first = table.loc[behind.idxmax(), "municipality"]
    rows = page[page.index('id="behind"') :]
    assert rows.index(f">{first}</a>") == min(
        rows.index(f">{c}</a>") for c in table["municipality"]
    )
    assert f"{behind.max():.1f}" in rows
    assert client.get("/week?on=yesterday").status_code == 400
