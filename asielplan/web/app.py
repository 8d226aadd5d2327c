"""The workbench: the planner's week in a browser (docs/workbench.md).

Every page but ``/healthz`` and ``/login`` needs a login; pages answer 303 to ``/login``
without one, ``/api/...`` 401, and a role that may not see a thing 403. Sessions are
signed cookies (HttpOnly, SameSite=Lax, Secure behind TLS); every state-changing request
carries the session's CSRF token; every page is rendered with escaping and served with a
Content-Security-Policy that allows no inline script. Queries go through SQLAlchemy
(parameterised). Proposal runs work in a separate process that a planner can cancel.
"""

from __future__ import annotations

import hmac
import secrets
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware

from asielplan.errors import ConfigError, InputError
from asielplan.io import csv_bytes, safe_name, spreadsheet_safe, xlsx_bytes
from asielplan.store import plan
from asielplan.store.db import open_store, session
from asielplan.store.tables import Audit, Municipality, Run, User
from asielplan.store.users import LoginRefused, authenticate
from asielplan.web.worker import RunWorker

HERE = Path(__file__).parent
UPLOAD_LIMIT = 5 * 1024 * 1024  # bytes of one uploaded file
UPLOAD_TYPES = (".csv", ".xlsx")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
TABLE_LIMIT = 500  # rows of a table shown on a page (the export has them all)


class NotLoggedIn(Exception):
    pass


class Forbidden(Exception):
    pass


class BadToken(Exception):
    pass


def create_app(
    db: str,
    secure: bool = False,
    municipalities_decide: bool = False,
    secret: str | None = None,
    warm: bool = False,
) -> FastAPI:
    """The workbench on the store at ``db``. ``secure``: cookies only over HTTPS (behind
    TLS). ``municipalities_decide``: a municipality user may accept and refuse its own
    proposals. ``secret`` signs the session cookies (a new random one by default, so a
    restart ends every session). ``warm``: start the run worker now (``serve``), not at
    the first run."""
    engine = open_store(db)
    _stale_runs(engine)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret or secrets.token_urlsafe(32),
        same_site="lax",
        https_only=secure,
        max_age=8 * 3600,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    worker = RunWorker(db, warm)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _: NotLoggedIn) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "not allowed for this role"}, status_code=403)
        return say(request, "Not allowed", "Your role may not see or do this.", 403)

    @app.exception_handler(BadToken)
    async def bad_token(request: Request, _: BadToken) -> Response:
        return say(
            request,
            "Refused",
            "The form's security token is missing or wrong: reload the page and try again.",
            403,
        )

    def user_of(request: Request) -> User:
        name = request.session.get("user")
        if not name:
            raise NotLoggedIn
        with session(engine) as s:
            user = s.scalars(select(User).where(User.name == name)).first()
        if user is None or user.disabled:
            request.session.clear()
            raise NotLoggedIn
        return user

    def allow(request: Request, *roles: str) -> User:
        user = user_of(request)
        if user.role not in roles:
            raise Forbidden
        return user

    def token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return str(request.session["csrf"])

    def check_token(request: Request, given: str) -> None:
        expected = request.session.get("csrf")
        if not expected or not hmac.compare_digest(str(expected), given or ""):
            raise BadToken

    def say(request: Request, title: str, text: str, status: int) -> Response:
        return page(request, "message.html", {"title": title, "text": text}, status)

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        user = request.session.get("user")
        role = request.session.get("role")
        return templates.TemplateResponse(
            request,
            name,
            {"user": user, "role": role, "csrf": token(request), **context},
            status_code=status,
        )

    # ------------------------------------------------------------------ login

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return page(request, "login.html", {"error": ""})

    @app.post("/login")
    def login(
        request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form("")
    ) -> Response:
        check_token(request, csrf)
        try:
            user = authenticate(engine, name, password)
        except LoginRefused:
            return page(
                request, "login.html", {"error": "Too many failed logins: wait 15 minutes."}, 429
            )
        if user is None:
            return page(request, "login.html", {"error": "Wrong name or password."}, 401)
        request.session.clear()
        request.session.update(
            {"user": user.name, "role": user.role, "csrf": secrets.token_urlsafe(32)}
        )
        with session(engine) as s:
            plan.audit(s, user.name, "login")
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        check_token(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/")
    def home(request: Request) -> Response:
        user = user_of(request)
        return RedirectResponse("/municipality" if user.role == "municipality" else "/week", 303)

    # ------------------------------------------------------------------ this week

    @app.get("/week", response_class=HTMLResponse)
    def week(request: Request, on: str = "") -> Response:
        user = allow(request, "planner", "viewer")
        try:
            day = date.fromisoformat(on) if on else date.today()
        except ValueError:
            return say(request, "Refused", "on: a date, YYYY-MM-DD", 400)
        with session(engine) as s:
            period = plan.active_period(s)
            states = plan.household_states(s, period)
            table = plan.progress(s, period, states)
            runs = s.scalars(
                select(Run).where(Run.period_id == period.id).order_by(Run.id.desc()).limit(10)
            ).all()
        counts = states["state"].value_counts().to_dict()
        ranked, share = plan.behind_path(table, period.name, day)
        busy = any(r.state in ("queued", "running") for r in runs)
        totals = table[["taakstelling", "housed", "remaining", "accepted", "proposed"]].sum()
        return page(
            request,
            "week.html",
            {
                "period": period,
                "behind": ranked.head(10).to_dict("records"),
                "day": day.isoformat(),
                "share": share,
                "totals": totals.to_dict(),
                "runs": [_run_view(r) for r in runs],
                "states": counts,
                "busy": busy,
                "planner": user.role == "planner",
            },
        )

    @app.post("/propose")
    def start(
        request: Request,
        csrf: str = Form(""),
        policy: str = Form("prices"),
        time_limit: float = Form(60.0),
    ) -> Response:
        check_token(request, csrf)
        user = allow(request, "planner")
        if policy not in ("prices", "greedy") or not 1 <= time_limit <= 3600:
            return say(
                request, "Refused", "policy prices or greedy; a time limit of 1 to 3600 s", 400
            )
        try:
            run_pk = plan.start_run(engine, policy, time_limit, user.name)
        except ConfigError as exc:
            return say(request, "Not started", str(exc), 409)
        worker.submit(run_pk)
        return RedirectResponse("/week", status_code=303)

    @app.post("/runs/{run_pk}/cancel")
    def cancel(request: Request, run_pk: int, csrf: str = Form("")) -> Response:
        check_token(request, csrf)
        user = allow(request, "planner")
        if plan.cancel_run(engine, run_pk, user.name):
            worker.cancel()
        return RedirectResponse("/week", status_code=303)

    @app.get("/runs/{run_pk}/report", response_class=HTMLResponse)
    def report(request: Request, run_pk: int) -> Response:
        allow(request, "planner", "viewer")
        from asielplan.experiments.report import build_report

        with session(engine) as s:
            run = s.get(Run, run_pk)
            period = plan.active_period(s)
            if run is None or run.period_id != period.id or run.state != "done":
                return say(request, "No report", "That run has no report.", 404)
            files = plan.run_files(s, run_pk)
        with tempfile.TemporaryDirectory() as tmp:
            for path, content in files.items():
                target = Path(tmp) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            html = build_report(tmp, Path(tmp) / "none")
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    # ------------------------------------------------------------------ proposals

    @app.get("/proposals", response_class=HTMLResponse)
    def proposals(request: Request, municipality: str = "", state: str = "") -> Response:
        user = allow(request, "planner", "viewer")
        with session(engine) as s:
            period = plan.active_period(s)
            states = plan.household_states(s, period)
            names = _names(s, period)
        if municipality:
            states = states[states["municipality"] == municipality]
        if state:
            states = states[states["state"] == state]
        rows = []
        for r in states.head(TABLE_LIMIT).to_dict("records"):
            others = (r["next_best"], r["top_scoring"])
            rows.append(
                {
                    **r,
                    "municipality_name": names.get(r["municipality"] or "", ""),
                    "alternatives": [c for c in dict.fromkeys(others) if isinstance(c, str)],
                    "hard_criterion": r["tie_kind"] is not None,
                }
            )
        return page(
            request,
            "proposals.html",
            {
                "rows": rows,
                "shown": len(rows),
                "total": len(states),
                "reasons": plan.REFUSAL_REASONS,
                "decisions": plan.DECISIONS,
                "planner": user.role == "planner",
                "filter_municipality": municipality,
                "filter_state": state,
                "today": date.today().isoformat(),
            },
        )

    @app.post("/decide")
    async def decide(request: Request) -> Response:
        form = await request.form()
        check_token(request, str(form.get("csrf", "")))
        user = user_of(request)
        households = [str(v) for v in form.getlist("household_id")]
        kind = str(form.get("decision", ""))
        if user.role == "municipality":
            if not municipalities_decide or kind not in ("accepted", "refused"):
                raise Forbidden
            with session(engine) as s:
                own = plan.proposals_of(s, plan.active_period(s), user.municipality)
            if not set(households) <= set(own["household_id"]):
                raise Forbidden
        elif user.role != "planner":
            raise Forbidden
        frame = pd.DataFrame(
            {
                "household_id": households,
                "decision": kind,
                "municipality": "" if user.role != "municipality" else user.municipality,
                "reason": str(form.get("reason", "")),
                "note": str(form.get("note", ""))[:2000],
                "date": str(form.get("date", "")),
            }
        )
        if frame.empty:
            return say(request, "Nothing decided", "Choose at least one household.", 400)
        try:
            plan.decide(engine, frame, user.name, "the form")
        except InputError as exc:
            return page(
                request, "problems.html", {"title": "Not recorded", "issues": exc.issues}, 400
            )
        back = "/municipality" if user.role == "municipality" else "/proposals"
        return RedirectResponse(back, status_code=303)

    # ------------------------------------------------------------------ intake

    @app.get("/intake", response_class=HTMLResponse)
    def intake_page(request: Request) -> Response:
        allow(request, "planner")
        return page(request, "intake.html", {"issues": [], "done": None})

    @app.post("/intake", response_class=HTMLResponse)
    async def intake(request: Request) -> Response:
        form = await request.form()
        check_token(request, str(form.get("csrf", "")))
        user = allow(request, "planner")
        households, members = form.get("households"), form.get("members")
        if not isinstance(households, UploadFile) or not households.filename:
            return page(
                request,
                "intake.html",
                {"issues": [], "done": None, "error": "Choose a households file."},
                400,
            )
        with tempfile.TemporaryDirectory() as tmp:
            paths: list[Path | None] = []
            for upload in (households, members):
                if not isinstance(upload, UploadFile) or not upload.filename:
                    paths.append(None)
                    continue
                suffix = Path(upload.filename).suffix.lower()
                data = await upload.read(UPLOAD_LIMIT + 1)
                if suffix not in UPLOAD_TYPES or len(data) > UPLOAD_LIMIT:
                    error = f"a .csv or .xlsx file of at most {UPLOAD_LIMIT // 1024 // 1024} MB"
                    return page(
                        request, "intake.html", {"issues": [], "done": None, "error": error}, 400
                    )
                name = "households" if upload is households else "members"
                path = Path(tmp) / f"{name}{suffix}"
                path.write_bytes(data)
                paths.append(path)
            assert paths[0] is not None
            try:
                count = plan.import_intake(engine, paths[0], paths[1], user.name)
            except (InputError, ConfigError) as exc:
                issues = exc.issues if isinstance(exc, InputError) else []
                error = "" if issues else str(exc)
                return page(
                    request, "intake.html", {"issues": issues, "done": None, "error": error}, 400
                )
        return page(request, "intake.html", {"issues": [], "done": count})

    # ------------------------------------------------------------------ municipality

    @app.get("/municipality", response_class=HTMLResponse)
    def municipality_view(request: Request, code: str = "") -> Response:
        user = user_of(request)
        if user.role == "municipality":
            if code and code != user.municipality:
                raise Forbidden
            code = str(user.municipality)
        elif not code:
            return RedirectResponse("/week", status_code=303)
        with session(engine) as s:
            period = plan.active_period(s)
            table = plan.progress(s, period)
            own = plan.proposals_of(s, period, code)
        row = table[table["municipality"] == code]
        if row.empty:
            return say(request, "Unknown", "No such municipality in this period.", 404)
        return page(
            request,
            "municipality.html",
            {
                "m": row.iloc[0].to_dict(),
                "rows": own.to_dict("records"),
                "reasons": plan.REFUSAL_REASONS,
                "may_decide": user.role == "planner"
                or (user.role == "municipality" and municipalities_decide),
                "code": code,
            },
        )

    # ------------------------------------------------------------------ exports and API

    @app.get("/export/municipality/{code}.{kind}")
    def export_municipality(request: Request, code: str, kind: str) -> Response:
        user = user_of(request)
        if user.role == "municipality" and code != user.municipality:
            raise Forbidden
        if kind not in ("xlsx", "csv"):
            return Response(status_code=404)
        with session(engine) as s:
            own = plan.proposals_of(s, plan.active_period(s), code)
        name = safe_name(code)
        if kind == "xlsx":
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            content = xlsx_bytes({"voorstellen": own})
        else:
            media, content = "text/csv", csv_bytes(spreadsheet_safe(own), "nl")
        disposition = f'attachment; filename="{name}.{kind}"'
        return Response(content, media_type=media, headers={"Content-Disposition": disposition})

    @app.get("/export/progress.csv")
    def export_progress(request: Request) -> Response:
        allow(request, "planner", "viewer")
        with session(engine) as s:
            table = plan.progress(s, plan.active_period(s))
        return Response(
            csv_bytes(spreadsheet_safe(table)),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="progress.csv"'},
        )

    @app.get("/export/letters.zip")
    def export_letters(request: Request) -> Response:
        allow(request, "planner", "viewer")
        from asielplan.store.export import letters_zip

        try:
            content = letters_zip(engine)
        except InputError as exc:
            return page(
                request, "problems.html", {"title": "No letters", "issues": exc.issues}, 400
            )
        with session(engine) as s:
            name = safe_name(f"letters-{plan.active_period(s).name}")
        disposition = f'attachment; filename="{name}.zip"'
        return Response(
            content, media_type="application/zip", headers={"Content-Disposition": disposition}
        )

    @app.get("/api/proposals")
    def api_proposals(request: Request, municipality: str | None = None) -> Response:
        user = user_of(request)
        if user.role == "municipality":
            if municipality not in (None, user.municipality):
                raise Forbidden
            municipality = user.municipality
        with session(engine) as s:
            own = plan.proposals_of(s, plan.active_period(s), municipality)
        return JSONResponse(own.to_dict("records"))

    @app.get("/api/progress")
    def api_progress(request: Request) -> Response:
        user = user_of(request)
        with session(engine) as s:
            table = plan.progress(s, plan.active_period(s))
        if user.role == "municipality":
            table = table[table["municipality"] == user.municipality]
        return JSONResponse(table.to_dict("records"))

    @app.get("/audit", response_class=HTMLResponse)
    def audit_log(request: Request) -> Response:
        allow(request, "planner")
        with session(engine) as s:
            rows = s.scalars(select(Audit).order_by(Audit.id.desc()).limit(TABLE_LIMIT)).all()
        return page(request, "audit.html", {"rows": rows})

    app.state.engine = engine
    app.state.worker = worker
    return app


def _names(s: Any, period: Any) -> dict[str, str]:
    rows = s.scalars(select(Municipality).where(Municipality.period_id == period.id))
    return {m.code: m.name for m in rows}


def _run_view(run: Run) -> dict[str, Any]:
    elapsed = 0.0
    if run.state == "running":
        elapsed = (plan.now() - run.started_at).total_seconds()
    return {
        "id": run.id,
        "state": run.state,
        "policy": run.policy,
        "time_limit": run.time_limit,
        "progress": run.progress,
        "percent": int(min(99, 100 * elapsed / max(run.time_limit, 1))),
        "run_id": run.run_id,
        "status": run.status,
        "gap": run.gap,
        "message": run.message,
        "user": run.user,
        "started_at": run.started_at,
    }


def _stale_runs(engine: Engine) -> None:
    """Runs left queued or running by a server that stopped: failed, said so."""
    with session(engine) as s:
        s.execute(
            update(Run)
            .where(Run.state.in_(("queued", "running")))
            .values(state="failed", message="the server stopped before the run ended")
        )
