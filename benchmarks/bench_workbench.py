"""The workbench's speed (issue 30's bar): with 25,000 households and 20 weeks of history
(runs, proposals, decisions) in a SQLite store, the median time of every page over 10
requests; then a proposal for a week of 300 waiting households, from the click to the
proposal on the page.

    python benchmarks/bench_workbench.py [--households 25000] [--weeks 20] [--db URL]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from asielplan import api
from asielplan.store import plan
from asielplan.store.db import open_store, session
from asielplan.store.tables import Decision, Household, Proposal, Run
from asielplan.store.users import add_user
from asielplan.web.app import create_app

PASSWORD = "correct horse battery"
WAITING = 300


def fill(url: str, households: int, weeks: int, folder: Path) -> None:
    """A period on generated households, with ``weeks`` weeks of history: each week a run
    proposing that week's households, most of them accepted and then housed."""
    made = api.generate(seed=5, households=households, national=households * 3)
    api.write_generated(made, folder / "instance", 5)
    engine = open_store(url)
    plan.init_period(engine, "2025-I", households * 3, folder / "instance")
    add_user(engine, "pia", "planner", PASSWORD)
    with session(engine) as s:
        period = plan.active_period(s)
        rows = s.scalars(select(Household).where(Household.period_id == period.id)).all()
        codes = [m for m in plan.progress(s, period)["municipality"]]
        ids = [h.household_id for h in rows]
    week_size = (len(ids) - WAITING) // weeks
    start = date(2025, 1, 6)
    for week in range(weeks):
        chunk = ids[week * week_size : (week + 1) * week_size]
        with session(engine) as s:
            run = Run(
                period_id=period.id,
                policy="prices",
                time_limit=60,
                state="done",
                progress="done",
                run_id=f"bench{week:02d}",
                status="optimal",
                gap=0.0,
                message="",
                user="pia",
                started_at=plan.now(),
                finished_at=plan.now(),
            )
            s.add(run)
            s.flush()
            proposals = [
                Proposal(
                    run_pk=run.id,
                    period_id=period.id,
                    household_id=h,
                    municipality=codes[(i * 7 + week) % len(codes)],
                    score=0.5,
                    reason="the best value among the municipalities it may go to",
                )
                for i, h in enumerate(chunk)
            ]
            s.add_all(proposals)
            s.flush()
            day = start + timedelta(weeks=week)
            for i, p in enumerate(proposals):
                kinds = ["accepted", "housed"] if i % 10 else ["refused"]
                for kind in kinds:
                    s.add(
                        Decision(
                            period_id=period.id,
                            household_id=p.household_id,
                            proposal_id=p.id,
                            kind=kind,
                            municipality=str(p.municipality),
                            reason="no_housing" if kind == "refused" else None,
                            note="",
                            housed_on=day if kind == "housed" else None,
                            user="pia",
                            at=plan.now(),
                        )
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=25_000)
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        start = time.perf_counter()
        fill(url, args.households, args.weeks, Path(tmp))
        print(
            f"store filled: {args.households:,} households, {args.weeks} weeks of history, "
            f"{time.perf_counter() - start:.0f} s"
        )
        client = TestClient(create_app(url, warm=True), follow_redirects=False)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login", data={"name": "pia", "password": PASSWORD, "csrf": token.group(1)})
        pages = [
            "/week",
            "/proposals",
            "/proposals?state=open",
            "/intake",
            "/municipality?code=GM9001",
            "/audit",
            "/export/progress.csv",
            "/export/municipality/GM9001.xlsx",
            "/api/progress",
            "/api/proposals?municipality=GM9001",
        ]
        print("page                                   median ms   max ms")
        for path in pages:
            times = []
            for _ in range(10):
                begin = time.perf_counter()
                response = client.get(path)
                times.append(1000 * (time.perf_counter() - begin))
                assert response.status_code == 200, (path, response.status_code)
            print(f"{path:38} {statistics.median(times):9.0f} {max(times):8.0f}")
        page = client.get("/week").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        begin = time.perf_counter()
        client.post(
            "/propose", data={"csrf": token.group(1), "policy": "prices", "time_limit": "60"}
        )
        while True:
            page = client.get("/week").text
            state = re.search(r'<td class="state">(\w+)</td>', page)
            if state is not None and state.group(1) not in ("queued", "running"):
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - begin
        proposals = client.get("/proposals?state=proposed").text.count("<tr id=")
        print(
            f"proposal for the {WAITING} waiting households: {state.group(1)} in {seconds:.1f} s "
            f"from the click to the page ({proposals} proposed shown)"
        )


if __name__ == "__main__":
    main()
