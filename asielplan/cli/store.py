"""The plan store and the workbench: ``plan``, ``users`` and ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from asielplan.errors import ConfigError

if TYPE_CHECKING:
    pass

from asielplan.cli.common import (
    DEFAULT_DB,
    ConfigOpt,
    DbOpt,
    PlainTable,
    TimeLimitOpt,
    app,
    console,
    err_console,
    friendly_errors,
    plan_app,
    run_config,
    users_app,
)


def _store(db: str) -> Any:
    from asielplan.store.db import open_store

    return open_store(db)


@plan_app.command("init")
@friendly_errors
def plan_init(
    period: Annotated[str, typer.Option(help="The half-year, e.g. 2026-I.")],
    national: Annotated[int, typer.Option(min=0, help="The national number (vg).")],
    instance: Annotated[
        Path | None, typer.Option(help="Instance folder (default: the embedded one).")
    ] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Begin a planning period: the municipalities with their taakstelling by the law and
    achterstand, and the instance's households as the first intake."""
    from asielplan.store.plan import init_period

    engine = _store(db)
    init_period(engine, period, national, instance)
    console.print(f"[green]period[/] {escape(period)} begun in the store, national {national:,}")


@plan_app.command("import")
@friendly_errors
def plan_import(
    households: Annotated[
        Path, typer.Argument(help="Households: CSV (either dialect) or a workbook (.xlsx).")
    ],
    members: Annotated[Path | None, typer.Option(help="Their members (CSV).")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Take in households; every problem by row and column, nothing stored on any."""
    from asielplan.store.plan import import_intake

    count = import_intake(_store(db), households, members)
    console.print(f"[green]taken in[/] {count:,} households")


@plan_app.command("propose")
@friendly_errors
def plan_propose(
    policy: Annotated[str, typer.Option(help="prices or greedy.")] = "prices",
    time_limit: TimeLimitOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """A weekly run of the waiting households against the remaining taakstelling, stable
    against the standing proposals; its proposals are stored."""
    from asielplan.store.plan import propose

    cfg = run_config(config, None, None, {})
    limit = time_limit if time_limit is not None else cfg.solver.time_limit
    run = propose(_store(db), policy, limit, config=cfg)
    if run.state != "done":
        err_console.print(f"[bold red]{run.state}[/]: {escape(run.message)}")
        raise typer.Exit(1)
    gap = "" if run.gap is None else f", gap {run.gap:.4%}"
    console.print(f"[green]proposed[/]: run {escape(str(run.run_id))}, {run.status}{gap}")


@plan_app.command("decide")
@friendly_errors
def plan_decide(
    decisions: Annotated[
        Path,
        typer.Argument(help="CSV: household_id, decision, municipality, reason, note, date."),
    ],
    user: Annotated[str, typer.Option(help="Who decided (for the audit log).")] = "cli",
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Record decisions: accepted, refused (with a reason), housed (with its date),
    withdrawn; every row checked, nothing stored on any problem."""
    from asielplan.store.plan import decide, read_decisions

    count = decide(_store(db), read_decisions(decisions), user, decisions.name)
    console.print(f"[green]recorded[/] {count:,} decisions")


@plan_app.command("status")
@friendly_errors
def plan_status(db: DbOpt = DEFAULT_DB) -> None:
    """The period's progress per municipality (from the housed decisions) and its
    households by state."""
    from asielplan.store.db import session
    from asielplan.store.plan import active_period, household_states, progress

    with session(_store(db)) as s:
        period = active_period(s)
        table = progress(s, period)
        states = household_states(s, period)["state"].value_counts()
    shown = PlainTable(title=f"period {period.name}: national {period.national:,}")
    for column in table.columns:
        shown.add_column(column, justify="left" if column in ("municipality", "name") else "right")
    for row in table.itertuples(index=False):
        shown.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    console.print(shown)
    counts = ", ".join(f"{state} {int(n):,}" for state, n in states.items())
    console.print(f"households: {escape(counts)}")


@plan_app.command("export")
@friendly_errors
def plan_export(
    out: Annotated[Path, typer.Option(help="Folder for the exports.")],
    municipality: Annotated[str | None, typer.Option(help="Only this municipality.")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """The standing proposals per municipality (xlsx and Dutch CSV) and the progress."""
    from asielplan.store.export import export

    files = export(_store(db), out, municipality)
    console.print(f"written to {escape(str(out))}: {len(files)} files")


@users_app.command("add")
@friendly_errors
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[str, typer.Option(help="planner, viewer or municipality:CODE.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Add a user; the password (at least 10 characters) is read from standard input."""
    import sys

    from asielplan.store.users import add_user

    if not password_stdin:
        raise ConfigError("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\n")
    add_user(_store(db), name, role, password)
    console.print(f"[green]user[/] {escape(name)} added ({escape(role)})")


@users_app.command("disable")
@friendly_errors
def users_disable(name: Annotated[str, typer.Argument()], db: DbOpt = DEFAULT_DB) -> None:
    """Disable a user: no login from now on."""
    from asielplan.store.users import disable_user

    disable_user(_store(db), name)
    console.print(f"user {escape(name)} disabled")


@app.command()
@friendly_errors
def serve(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    secure: Annotated[
        bool, typer.Option("--secure", help="Behind TLS: session cookies only over HTTPS.")
    ] = False,
    municipalities_decide: Annotated[
        bool,
        typer.Option(
            "--municipalities-decide",
            help="A municipality user may accept and refuse its own proposals.",
        ),
    ] = False,
) -> None:
    """The workbench: the planner's week in a browser (docs/workbench.md)."""
    import uvicorn

    from asielplan.web.app import create_app

    app = create_app(db, secure=secure, municipalities_decide=municipalities_decide, warm=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
