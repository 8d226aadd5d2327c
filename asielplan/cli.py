"""The ``asielplan`` command line.

Input problems are printed as a table (file, row, column, rule, message) and the command
exits with status 1; nothing is written. Outputs are written atomically with a manifest.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from asielplan.errors import ConfigError, InputError, Issue, OutputError
from asielplan.io import comma_list

if TYPE_CHECKING:
    import pandas as pd

    from asielplan.api import Run
    from asielplan.config import RunConfig
    from asielplan.model.schemes import SchemeResult
    from asielplan.solvers.result import Status

app = typer.Typer(
    name="asielplan",
    help="Optimisation for the Dutch asylum chain (status holders and reception).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # paragraphs reflowed, [brackets] kept as written
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


class PlainTable(Table):
    """A table whose title and cells are plain text: a name from the data is never read
    as console markup (``[bold]``, ``[/]``). Markup goes only in fixed strings, with
    every value passed through ``escape``."""

    def __init__(self, title: str, **options: Any) -> None:
        super().__init__(title=Text(title), **options)

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **options)


MAX_ISSUES_SHOWN = 200


def print_issues(error: InputError) -> None:
    """One line per problem: where (file, row, line, column), the rule, and what is wrong."""
    err_console.print(f"[bold red]{len(error.issues)} problem(s)[/] in {escape(error.source)}:")
    for issue in error.issues[:MAX_ISSUES_SHOWN]:
        kind = "[yellow]warning[/] " if issue.is_warning else ""
        err_console.print(
            f"  {kind}{escape(issue.location())}: [bold]{escape(issue.rule)}[/]: "
            f"{escape(issue.message)}",
            soft_wrap=True,
        )
    if len(error.issues) > MAX_ISSUES_SHOWN:
        err_console.print(f"  ... and {len(error.issues) - MAX_ISSUES_SHOWN} more.")
    err_console.print("Nothing was written.")


def friendly_errors(fn: F) -> F:
    """Turn input and configuration problems into a readable report and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            print_issues(exc)
        except ConfigError as exc:
            what = "output folder" if isinstance(exc, OutputError) else "configuration error"
            err_console.print(
                f"[bold red]{what}[/]\n{escape(str(exc))}\nNothing was written.", soft_wrap=True
            )
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


@app.callback()
def common_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


InstanceArg = Annotated[
    Path | None,
    typer.Argument(help="Instance folder (with instance.toml); default: the embedded one."),
]
ConfigOpt = Annotated[Path | None, typer.Option(help="Run configuration (TOML).")]
ScenarioOpt = Annotated[
    str | None, typer.Option(help="Named scenario of the configuration: [scenarios.NAME].")
]
TimeLimitOpt = Annotated[float | None, typer.Option(help="Override solver.time_limit (seconds).")]
PreviousOpt = Annotated[
    Path | None,
    typer.Option(
        help="A previous placement run (its folder) or plan (a table with household_id "
        "and municipality): each household placed elsewhere costs placement.weight_change."
    ),
]

EXIT_INFEASIBLE = 2
EXIT_NO_SOLUTION = 3


def run_config(
    config: Path | None,
    scenario: str | None,
    instance: Path | None,
    overrides: dict[str, Any],
) -> RunConfig:
    """The configuration of a run: the file's base, the scenario's overrides, then the
    command-line overrides, validated as a whole. A scenario name that is an inflow of
    the instance gets an error that names ``--inflow``."""
    from asielplan.config import load_config, with_overrides

    try:
        cfg = load_config(config, scenario)
    except ConfigError as exc:
        hint = _inflow_hint(scenario, instance)
        raise ConfigError(f"{exc}{hint}") from None
    given = {key: value for key, value in overrides.items() if value is not None}
    return with_overrides(cfg, given, "command line") if given else cfg


def _inflow_hint(scenario: str | None, instance: Path | None) -> str:
    from asielplan.api import load_instance
    from asielplan.data.reception import inflows_of

    if scenario is None:
        return ""
    try:
        inst = load_instance(instance)
    except InputError:
        return ""
    if inst.cohorts is not None and scenario in inflows_of(inst):
        return (
            f"\n{scenario!r} is an inflow of the cohorts table: choose it with "
            f"--inflow {scenario} (a scenario is a named override of the configuration)"
        )
    return ""


def print_warnings(found: list[Issue]) -> None:
    for issue in found:
        err_console.print(f"[yellow]warning[/] {escape(str(issue))}", soft_wrap=True)


@app.command()
@friendly_errors
def validate(instance: InstanceArg = None, config: ConfigOpt = None) -> None:
    """Check an instance: every table's schema, every cross-table rule, and the
    instance against the run configuration."""
    from asielplan import api

    cfg = run_config(config, None, instance, {})
    inst = api.validate(instance, cfg)
    print_warnings(inst.warnings)
    info = api.summary_of(inst)
    parts = [f"{info['municipalities']} municipalities", f"{info['sites']} sites"]
    if "households" in info:
        parts.append(f"{info['households']} households ({info['persons']} persons)")
    if "cohorts" in info:
        parts.append(
            f"{info['cohorts']} cohorts over {info['periods']} periods"
            f" (inflows: {', '.join(map(str, info['inflows']))})"
        )
    if info["synthetic"]:
        parts.append("synthetic")
    said = f"{info['name']} ({info['period']}): {', '.join(parts)}"
    console.print(f"[green]OK[/] {escape(said)}")


@app.command()
@friendly_errors
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the instance to.")],
    seed: Annotated[int, typer.Option(min=0, help="Seed (required): same seed, same bytes.")],
    households: Annotated[int, typer.Option(min=1, help="Number of households.")] = 300,
    synthetic: Annotated[
        int | None,
        typer.Option(min=4, help="Make a fictional country of this many municipalities (>= 4)."),
    ] = None,
    cbs_csv: Annotated[
        Path | None, typer.Option(help="CBS municipal table, e.g. nl_gemeenten_2024.csv.")
    ] = None,
    cbs_geometry: Annotated[
        Path | None, typer.Option(help="Municipal shapes, e.g. nl_gemeenten_2024.geojson.")
    ] = None,
    indicators: Annotated[
        Path | None, typer.Option(help="CBS KWB indicator table with employment_rate.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Instance name.")] = None,
    period: Annotated[str, typer.Option(help="Planning period.")] = "2025-I",
    national: Annotated[
        int | None, typer.Option(help="National taakstelling (default: persons generated).")
    ] = None,
    reception: Annotated[
        bool,
        typer.Option("--reception", help="Also write reception sites and cohorts (three inflows)."),
    ] = False,
    reception_level: Annotated[
        float, typer.Option(min=1, help="--reception: persons in reception at steady inflow.")
    ] = 50_000.0,
    reception_sites: Annotated[
        int, typer.Option(min=1, help="--reception: reception sites.")
    ] = 220,
    periods: Annotated[
        int, typer.Option(min=1, help="--reception: two-week planning periods.")
    ] = 26,
    history: Annotated[
        int | None,
        typer.Option(
            min=10,
            max=10_000_000,
            help="Write a synthetic history of this many adults instead of an instance: "
            "history.csv, outcomes drawn from the built-in labour model, and its "
            "coefficients beside it (docs/labour.md).",
        ),
    ] = None,
) -> None:
    """Generate an instance with seeded synthetic households (or, with --history, a
    synthetic history of labour outcomes).

    Municipalities come from the CBS files (--cbs-csv and --cbs-geometry) or from a
    fictional country of --synthetic N municipalities (40 when neither is given).
    """
    from asielplan import api

    api.check_output(out, None)
    if history is not None and reception:
        raise ConfigError("--history writes a history, not an instance: drop --reception")
    made = api.generate(
        seed=seed,
        households=households,
        synthetic=synthetic,
        cbs_csv=cbs_csv,
        cbs_geometry=cbs_geometry,
        indicators=indicators,
        name=name,
        period=period,
        national=national,
        reception=api.ReceptionParts(reception_level, reception_sites, periods)
        if reception
        else None,
    )
    for note in made.notes:
        console.print(f"[dim]{escape(note)}[/]")
    if history is not None:
        _, written = api.write_history(made, out, history, seed)
        console.print(
            f"[green]wrote[/] {escape(str(out))}: history.csv, {len(written):,} adults in "
            f"{written['household_id'].nunique():,} households, "
            f"{written['employed'].mean():.1%} employed (synthetic), seed {seed}"
        )
        return
    api.write_generated(made, out, seed)
    inst = made.instance
    hh = inst.households
    console.print(
        f"[green]wrote[/] {escape(str(out))}: {len(inst.municipalities)} municipalities, "
        f"{len(inst.sites)} sites, {len(hh)} households "
        f"({int(hh['persons'].sum())} persons), seed {seed}"
    )


PopulationDateOpt = Annotated[
    bool,
    typer.Option(
        "--population-date-differs",
        help="Accept populations of another date than the period's peildatum (art. 29(1)); "
        "the output names the data's date and says it is not the peildatum.",
    ),
]
NationalOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        max=10_000_000,  # MAX_NATIONAL of asielplan.data.instance
        help="National number (default: the instance's, or the scheme's own).",
    ),
]


@app.command()
@friendly_errors
def taakstelling(
    out: Annotated[Path, typer.Option(help="Folder for the taakstelling tables.")],
    instance: InstanceArg = None,
    national: NationalOpt = None,
    scheme: Annotated[
        str | None,
        typer.Option(help="Quota scheme (default: the instance's; the law, 'population')."),
    ] = None,
    rule: Annotated[str | None, typer.Option(hidden=True)] = None,
    config: ConfigOpt = None,
    population_date_differs: PopulationDateOpt = False,
) -> None:
    """Split the national taakstelling over municipalities by a quota scheme (by default
    the law: Huisvestingswet 2014 art. 29, rounded up), plus achterstand; writes
    taakstelling, basis (what a letter cites) and, for schemes with them, region_totals."""
    from asielplan import api

    if rule is not None:
        raise ConfigError("--rule was renamed: use --scheme (asielplan schemes list)")
    cfg = run_config(config, None, instance, {})
    api.check_output(out, instance)
    inst = api.load_instance(instance)
    result = api.taakstelling(inst, national, scheme, cfg, population_date_differs)
    api.write_taakstelling(result, inst, cfg, out)
    print_scheme(result, title=f"taakstelling {inst.meta.period}")
    stated = inst.meta.taakstelling.population_date if inst.meta.taakstelling else None
    legal = result.basis.peildatum
    if stated is not None and legal is not None and stated != legal.isoformat():
        console.print(
            f"[yellow]the population is of {escape(stated)}, not of the peildatum[/]",
            soft_wrap=True,
        )
    console.print(f"written to {escape(str(out))}")


def print_scheme(result: SchemeResult, title: str) -> None:
    """The ten largest numbers of a scheme, its basis and its labels."""
    basis = result.basis
    top = result.table.sort_values("taakstelling", ascending=False, kind="stable").head(10)
    table = PlainTable(title=f"{title}: scheme {result.name!r}, national {basis.national:,}")
    columns = ("municipality", "name", "population", "share", "achterstand", "taakstelling")
    for column in columns:
        table.add_column(column, justify="left" if column in ("municipality", "name") else "right")
    for row in top.itertuples(index=False):
        table.add_row(*(str(getattr(row, c)) for c in columns))
    console.print(table)
    peil = "not stated" if basis.peildatum is None else basis.peildatum.isoformat()
    console.print(
        f"total {basis.total:,} over {len(result.table)} municipalities (national "
        f"{basis.national:,}); population {basis.national_population:,} (peildatum {peil}); "
        f"rounding: {basis.rounding}"
    )
    for label in result.labels:
        console.print(f"[yellow]{escape(label)}[/]")


@app.command()
@friendly_errors
def letters(
    period: Annotated[str, typer.Option(help="Half-year: YYYY-I or YYYY-II.")],
    out: Annotated[Path, typer.Option(help="Folder for the letters.")],
    instance: InstanceArg = None,
    national: NationalOpt = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            help="Quota scheme (default: the instance's, the law; spreidingswet: "
            "the reception-places variant)."
        ),
    ] = None,
    progress: Annotated[
        Path | None,
        typer.Option(
            help="The previous half-year: municipality, taakstelling, placed on the "
            "check date (achterstand = taakstelling - placed)."
        ),
    ] = None,
    template: Annotated[
        Path | None, typer.Option(help="A folder of templates overriding the shipped ones.")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            help="Date of the letters, YYYY-MM-DD (default: 13 weeks before the half-year starts)."
        ),
    ] = None,
    publication: Annotated[
        str | None, typer.Option(help="Where the national number was published.")
    ] = None,
    config: ConfigOpt = None,
    population_date_differs: PopulationDateOpt = False,
) -> None:
    """Taakstelling letters in Dutch: one PDF per municipality (municipalities/), an
    overview per province (provinces/) and letters.csv with every number printed."""
    import datetime as dt

    from asielplan import api

    cfg = run_config(config, None, instance, {})
    try:
        day = dt.date.fromisoformat(date) if date is not None else None
    except ValueError:
        raise ConfigError(f"--date {date!r} is not a date (YYYY-MM-DD)") from None
    api.check_output(out, instance)
    inst = api.load_instance(instance)
    with console.status("writing letters ..."):
        made = api.letters(
            period,
            inst,
            national,
            scheme,
            progress,
            template,
            day,
            publication,
            cfg,
            population_date_differs,
        )
    api.write_letters(made, inst, out)
    total = int(made.table["taakstelling"].sum())
    console.print(
        f"[green]{len(made.municipalities)} letters[/] and {len(made.provinces)} province "
        f"overviews for {escape(period)} (total {total:,}); written to {escape(str(out))}"
    )
    for note in made.notes:
        console.print(f"[yellow]{escape(note)}[/]", soft_wrap=True)


schemes_app = typer.Typer(
    help="Quota schemes: list them, compute one, compare them on the same households.",
    no_args_is_help=True,
)
app.add_typer(schemes_app, name="schemes")

labour_app = typer.Typer(
    help="The labour outcome model: fit it to a history and audit it (docs/labour.md).",
    no_args_is_help=True,
)
app.add_typer(labour_app, name="labour")

plan_app = typer.Typer(
    help="The plan store: a planning period's households, proposals and decisions "
    "(docs/workbench.md).",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="plan")
users_app = typer.Typer(help="Users of the workbench and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
DbOpt = Annotated[
    str,
    typer.Option(
        "--db", help="The store: sqlite:///FILE (the default) or postgresql://USER@HOST/DB."
    ),
]
DEFAULT_DB = "sqlite:///asielplan.sqlite"

batch_app = typer.Typer(
    help="Batches of runs on Dask: preview, run (locally or on a cluster), status.",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch")
EXIT_BATCH_FAILED = 64  # plus the number of failed runs (at most 63)
BatchArg = Annotated[Path, typer.Argument(help="The batch file (TOML).")]


@batch_app.command("plan")
@friendly_errors
def batch_plan(
    batch_file: BatchArg,
    out: Annotated[Path | None, typer.Option(help="The batch's output folder.")] = None,
) -> None:
    """The runs a batch would do, each with its id, and which are already done in OUT."""
    from asielplan.batch import read_batch

    batch = read_batch(batch_file)
    done = batch.done(out) if out is not None else set()
    table = PlainTable(title=f"{len(batch.runs)} runs, {len(done)} already done")
    labels = list(batch.runs[0].labels) if batch.runs else []
    for column in ["run_id", *labels, "done"]:
        table.add_column(column)
    for run in batch.runs:
        values = [run.id, *(_cell(v) for v in run.labels.values()), "yes" if run.id in done else ""]
        table.add_row(*(str(v) for v in values))
    console.print(table)


@batch_app.command("run")
@friendly_errors
def batch_run(
    batch_file: BatchArg,
    out: Annotated[Path, typer.Option(help="The batch's output folder.")],
    workers: Annotated[int, typer.Option(min=1, help="Local Dask worker processes.")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="An existing Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
) -> None:
    """Run every run of the batch not yet done in OUT on Dask (one thread per worker and
    per HiGHS run), then write OUT/runs.parquet and OUT/runs.csv. Exit status 0, or 64
    plus the number of runs that failed (at most 127)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from asielplan.batch import read_batch, run_batch

    batch = read_batch(batch_file)
    with Progress(
        TextColumn("batch"),
        BarColumn(),
        TextColumn(
            "{task.completed}/{task.total} done, {task.fields[running]} running, "
            "{task.fields[failed]} failed"
        ),
        TimeRemainingColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task("batch", total=len(batch.runs), running=0, failed=0)

        def show(counts: dict[str, int]) -> None:
            bar.update(
                task, completed=counts["done"], running=counts["running"], failed=counts["failed"]
            )

        result = run_batch(batch, out, workers=workers, scheduler=scheduler, progress=show)
    summary = PlainTable(title=f"batch: {result.ran} run now, {result.skipped} already done")
    for column in ("status", "runs"):
        summary.add_column(column)
    for name, count in result.table["status"].value_counts().sort_index().items():
        summary.add_row(str(name), str(count))
    console.print(summary)
    for row in result.table[result.table["status"] == "error"].itertuples():
        err_console.print(f"[red]{row.run_id}[/]: {escape(str(row.message))}", soft_wrap=True)
    console.print(f"written to {escape(str(out))}/runs.parquet and runs.csv")
    if result.failed:
        raise typer.Exit(EXIT_BATCH_FAILED + min(result.failed, 63))


@batch_app.command("status")
@friendly_errors
def batch_status(out: Annotated[Path, typer.Argument(help="A batch's output folder.")]) -> None:
    """The finished runs in a batch folder (one running elsewhere, or interrupted)."""
    from asielplan.batch import status

    found = status(out)
    table = PlainTable(title=f"{len(found)} finished runs in {out}")
    for column in ("run_id", "status", "stop"):
        table.add_column(column)
    for row in found.itertuples():
        table.add_row(str(row.run_id), str(row.status), str(row.stop))
    console.print(table)


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


@labour_app.command("fit")
@friendly_errors
def labour_fit(
    history: Annotated[
        Path, typer.Argument(help="History table: CSV or Parquet (docs/data-dictionary.md).")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the fit and its model card.")],
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the folds (required): same seed, same bytes.")
    ],
    folds: Annotated[int, typer.Option(min=2, max=20, help="Folds of the cross-fitting.")] = 5,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also score an L2-regularised logit and gradient-boosted trees on the same "
            "folds; the coefficients come from the better logit.",
        ),
    ] = False,
    group: Annotated[
        list[str] | None,
        typer.Option(help="A column of the history to audit as a group (repeatable)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Fit the labour model to a history of outcomes; write its coefficients, its audit
    by group, labour.toml (the fragment that makes a run use it) and model_card.html."""
    from asielplan import api
    from asielplan.experiments.labour_card import recovered_share

    cfg = run_config(config, None, None, {})
    api.check_output(out, history.parent)
    study = api.fit_labour(history, cfg, folds, seed, compare, tuple(group or ()))
    print_warnings(study.warnings)
    api.write_labour_fit(study, out)
    summary = study.tables["summary"].set_index("measure")["value"]
    deciles = study.tables["calibration"]
    deciles = deciles[deciles["basis"] == "decile"]
    gaps = study.tables["group_gaps"]
    flagged = int(gaps["flagged"].eq(True).sum()) if len(gaps) else 0
    table = PlainTable(title=f"labour fit ({study.fit.method})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("adults", f"{int(summary['adults']):,}")
    table.add_row("cross-validated log loss", f"{summary['log_loss']:.4f}")
    table.add_row("AUC", f"{summary['auc']:.3f}")
    table.add_row("largest decile gap", f"{deciles['gap'].abs().max():.2%}")
    table.add_row("group gaps flagged", f"{flagged} of {len(gaps)}")
    share = recovered_share(study.fit.coefficients)
    if study.truth is not None and share == share:  # an l2 fit has no intervals
        table.add_row("true terms in their 95% interval", f"{share:.0%}")
    console.print(table)
    console.print(f"written to {escape(str(out))} (model_card.html, labour.toml)")


@schemes_app.command("list")
@friendly_errors
def schemes_list(config: ConfigOpt = None) -> None:
    """The shipped quota schemes (and the configuration's own), with their sources."""
    from asielplan.model.schemes import schemes_of

    cfg = run_config(config, None, None, {})
    table = PlainTable(title="quota schemes (docs/schemes.md)")
    for column in ("scheme", "rule", "what", "source"):
        table.add_column(column)
    for name, spec in schemes_of(cfg.schemes).items():
        table.add_row(name, spec.rule, spec.description, spec.source)
    console.print(table)


@schemes_app.command("show")
@friendly_errors
def schemes_show(
    scheme: Annotated[str, typer.Option(help="The quota scheme (asielplan schemes list).")],
    out: Annotated[Path, typer.Option(help="Folder for the scheme's tables.")],
    instance: InstanceArg = None,
    national: NationalOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One scheme's numbers per municipality: taakstelling, basis and region totals."""
    from asielplan import api

    cfg = run_config(config, None, instance, {})
    api.check_output(out, instance)
    inst = api.load_instance(instance)
    result = api.taakstelling(inst, national, scheme, cfg)
    api.write_taakstelling(result, inst, cfg, out)
    print_scheme(result, title=f"{inst.meta.name}")
    console.print(f"written to {escape(str(out))}")


@schemes_app.command("compare")
@friendly_errors
def schemes_compare(
    schemes: Annotated[str, typer.Option(help="Comma-separated schemes to compare.")],
    out: Annotated[Path, typer.Option(help="Folder for the comparison.")],
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
    noise_seeds: Annotated[
        int,
        typer.Option(
            min=0,
            help="Re-solves of each scheme with other solver seeds: their spread certifies "
            "(or not) the differences in the plan metrics (0: not measured, never "
            "certified).",
        ),
    ] = 0,
) -> None:
    """Place the same households under each scheme's targets and compare: writes
    comparison (scheme x metric, each with its basis, interval and certification),
    targets (municipality x scheme), metrics.png, targets.png, notes.txt and each
    scheme's run folder."""
    from asielplan import api
    from asielplan.experiments.studies.schemes import summary_rows

    names = comma_list(schemes, "--schemes")  # distinct, none empty
    if len(names) < 2:
        raise ConfigError("--schemes needs two or more different scheme names")
    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    with console.status("comparing schemes ...") as status:
        result = api.compare_schemes(names, instance, cfg, _progress(status), noise_seeds)
    api.write_comparison(result, out)
    table = PlainTable(
        title=f"schemes on {result.instance.meta.name} (~: difference not certified)"
    )
    columns = ("scheme", "status", "gap", "labour_score", "total_km")
    for column in (*columns, "burden Gini: targets", "burden Gini: plan"):
        table.add_column(column, justify="left" if column in ("scheme", "status") else "right")

    def shown(cell: tuple[float, bool], digits: str) -> str:
        value, certified = cell
        return ("" if certified else "~") + format(value, digits)

    for row in summary_rows(result.comparison):
        table.add_row(
            row["scheme"],
            row["status"],
            "-" if row["gap"] != row["gap"] or row["gap"] is None else f"{100 * row['gap']:.3f}%",
            shown(row["labour_score"], ",.1f"),
            shown(row["total_km"], ",.0f"),
            shown(row["burden_gini_targets"], ".3f"),
            shown(row["burden_gini_plan"], ".3f"),
        )
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
    console.print(f"written to {escape(str(out))}")


def _progress(status: Any) -> Callable[[str], None]:
    """Show progress messages on the spinner and in the log."""

    def progress(message: str) -> None:
        status.update(escape(message))
        logging.getLogger("asielplan").info(message)

    return progress


def _exit_on_status(status: Status) -> None:
    """Exit 2 when infeasible (diagnosis written), 3 when no solution was found."""
    from asielplan.solvers.result import Status

    if status == Status.INFEASIBLE:
        raise typer.Exit(EXIT_INFEASIBLE)
    if not status.has_solution:
        raise typer.Exit(EXIT_NO_SOLUTION)


@app.command()
@friendly_errors
def place(
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path(
        "out/placement"
    ),
    time_limit: TimeLimitOpt = None,
    previous: PreviousOpt = None,
    max_changes: Annotated[
        int | None,
        typer.Option(
            min=0, help="With --previous: place at most this many households elsewhere (hard)."
        ),
    ] = None,
) -> None:
    """Place households of status holders in municipalities (the koppeling).

    Writes households, municipalities, regions, kpis, objective, duals, explanations
    (why each household goes where it goes), outcomes_by_size and outcomes_by_gender
    (CSV and Parquet), plus timings.json and manifest.json; with --previous also changes
    (who moved and why). Exits 2 when the quotas cannot be met (diagnosis.csv says which
    and by how much) and 3 when the time limit passed before any solution was found.
    """
    from asielplan import api

    if max_changes is not None and previous is None:
        raise ConfigError("--max-changes needs --previous (the plan changes are counted against)")
    bound = {"upper": max_changes} if max_changes is not None else None
    cfg = run_config(
        config,
        scenario,
        instance,
        {"solver.time_limit": time_limit, "placement.part_bounds.changes": bound},
    )
    api.check_output(out, instance)
    inst = api.with_previous_plan(instance, previous) if previous is not None else instance
    with console.status("placing households ...") as status:
        run = api.place(inst, cfg, _progress(status))
    _finish_placement(run, out)


def _finish_placement(run: Run, out: Path, behind: bool = False) -> None:
    """Write a placement run, say what it found (with ``behind``: the municipalities
    furthest behind the pro-rata path) and exit with its status."""
    from asielplan import api

    written = api.write_run(run, out)
    print_warnings(run.warnings)
    if behind:
        print_behind(run.tables["pace"])
    print_placement_summary(run, written)
    _kept(out, written)
    _exit_on_status(run.solution.status)


@app.command()
@friendly_errors
def weekly(
    instance: InstanceArg = None,
    progress: Annotated[
        Path | None,
        typer.Option(
            help="The half-year so far: a table with municipality and placed (persons "
            "housed this period); required unless the instance holds it."
        ),
    ] = None,
    arrivals: Annotated[
        Path | None,
        typer.Option(help="Recent arrivals (an instance folder) to draw futures from."),
    ] = None,
    policy: Annotated[
        str | None, typer.Option(help="prices (default), greedy or balanced: weekly.policy.")
    ] = None,
    futures: Annotated[
        int | None, typer.Option(min=1, help="Sampled futures (weekly.futures, 5).")
    ] = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path("out/weekly"),
    time_limit: TimeLimitOpt = None,
    previous: PreviousOpt = None,
) -> None:
    """Place this week's batch against the remaining half-year taakstelling, looking
    ahead: each municipality's places are priced by the smallest optimal duals of
    sampled futures' LPs (docs/weekly.md).

    Writes the tables of asielplan place plus prices (per municipality: remaining
    taakstelling, this batch's persons, the price); with --previous (last week's proposal)
    also changes, as asielplan place writes them. Refuses without the progress table.
    """
    from asielplan import api

    cfg = run_config(
        config,
        scenario,
        instance,
        {"solver.time_limit": time_limit, "weekly.policy": policy, "weekly.futures": futures},
    )
    api.check_output(out, instance)
    inst = api.load_instance(instance)
    if progress is not None:
        inst = api.with_table(inst, "progress", progress)
    if previous is not None:
        inst = api.with_previous_plan(inst, previous)
    with console.status("placing the weekly batch ...") as status:
        run = api.weekly(inst, cfg, arrivals, _progress(status))
    _finish_placement(run, out, behind=True)


@app.command()
@friendly_errors
def simulate(
    out: Annotated[Path, typer.Option(help="Folder for the simulation.")],
    instance: InstanceArg = None,
    weeks: Annotated[int, typer.Option(min=1, help="Weeks in the half-year.")] = 26,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 1 .. N.")] = 20,
    policies: Annotated[
        str, typer.Option(help="Comma list of greedy, prices, balanced, hindsight.")
    ] = "greedy,prices,hindsight",
    arrivals: Annotated[
        Path | None,
        typer.Option(help="Arrivals of the half-year (an instance folder); else generated."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes for the seeds (each solve on one thread).")
    ] = 1,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
) -> None:
    """Simulate weekly placement over a half-year: every policy places each week's batch
    in turn, hindsight places all at once; writes runs (per policy and seed: share of
    the hindsight optimum, expected employed, deviation at the end, balance), summary
    (means with 95% intervals), balance (week by week), shares.png and balance.png."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from asielplan import api

    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    chosen = tuple(comma_list(policies, "--policies"))
    with Progress(
        TextColumn("simulation"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} seeds"),
        TimeRemainingColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task("seeds", total=seeds)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done)

        study = api.simulate(
            instance, cfg, weeks, seeds, chosen, arrivals, None, workers, on_seed=show
        )
    api.write_simulation(study, out)
    summary = study.result.summary
    table = PlainTable(title=f"simulation on {study.instance.meta.name}: {weeks} weeks")
    for column in ("policy", "seeds", "share of hindsight (95% CI)", "deviation at end", "balance"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in summary.to_dict("records"):
        low, high = row["share_of_hindsight_low"], row["share_of_hindsight_high"]
        interval = f"{100 * row['share_of_hindsight']:.2f}% ({100 * low:.2f}-{100 * high:.2f})"
        table.add_row(
            str(row["policy"]),
            str(row["seeds"]),
            interval,
            f"{row['deviation_end']:,.0f}",
            f"{100 * row['balance_mean']:.2f}%",
        )
    console.print(table)
    runs = study.result.runs
    hindsight = runs[runs["policy"] == "hindsight"]
    proven = int((hindsight["status"] == "optimal").sum())
    console.print(
        f"hindsight (every share's denominator): {proven} of {len(hindsight)} seeds proven "
        f"within solver.mip_gap; largest gap {100 * hindsight['gap'].max():.3f}%"
    )
    console.print(f"written to {escape(str(out))}")


def _exit_on_plans_without_solution(plans: pd.DataFrame, consequence: str) -> None:
    """A study whose plans (columns ``plan``, ``status``) include some without a solution
    cannot answer its question: name them with ``consequence`` and exit 3."""
    failed = plans[~plans["status"].isin(["optimal", "feasible"])]
    if not len(failed):
        return
    listed = ", ".join(
        f"{escape(str(r['plan']))}: {escape(str(r['status']))}" for r in failed.to_dict("records")
    )
    err_console.print(
        f"[bold red]{len(failed)} plan(s) of the study have no solution[/] ({listed}): "
        f"{consequence}",
        soft_wrap=True,
    )
    raise typer.Exit(EXIT_NO_SOLUTION)


def _kept(out: Path, written: Path) -> None:
    """Say so when a run without a plan was written beside a valid one."""
    if written != out:
        console.print(
            f"[yellow]the valid plan in {escape(str(out))} is kept; this run (no valid plan) "
            f"is in {escape(str(written))}[/]",
            soft_wrap=True,
        )


def _stop_line(run: Run) -> None:
    """Whether the requested gap was proven or the time limit stopped the solve."""
    from asielplan.solvers.result import Status

    colour = "green" if run.solution.status == Status.OPTIMAL else "yellow"
    console.print(f"[{colour}]{escape(run.solution.stop)}[/]")


def deviation_row(run: Run, kpi: Any) -> tuple[str, str]:
    """How far the plan is from its targets: a weekly batch against the pro-rata path to
    date (its persons behind it, summed over the municipalities behind), never against
    the whole half-year; a run's total deviation from its taakstelling otherwise."""
    pace = run.tables.get("pace")
    if pace is not None:
        behind = float(pace["behind"].clip(lower=0).sum())
        return ("behind the pro-rata path to date (persons)", f"{behind:,.0f}")
    value = kpi["total_abs_deviation"]
    return (
        "taakstelling deviation (persons)",
        "-" if value is None or value != value else f"{value:,.0f}",
    )


def print_behind(pace: Any, shown: int = 10) -> None:
    """The municipalities furthest behind the pro-rata path after a weekly batch."""
    table = PlainTable(title=f"furthest behind the pro-rata path (of {len(pace)}; pace.csv)")
    columns = ("municipality", "name", "taakstelling", "placed_after", "pro_rata", "behind")
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:2] else "right")
    for row in pace.head(shown).to_dict("records"):
        table.add_row(
            row["municipality"],
            row["name"],
            f"{row['taakstelling']:,}",
            f"{row['placed_after']:,}",
            f"{row['pro_rata']:,.1f}",
            f"{row['behind']:+,.1f}",
        )
    console.print(table)


# the weekly look-ahead parts of the objective, as the summary names them: what each adds
# to the objective (negative: the batch pays for places later weeks need)
LOOK_AHEAD = {"future_price": "look-ahead prices", "pace_price": "pace prices"}


def print_placement_summary(run: Run, out: Path) -> None:
    """A short summary of a placement run on the terminal."""
    kpi = run.tables["kpis"].iloc[0]
    sol = run.solution
    inst = run.instance
    label = " (SYNTHETIC)" if inst.meta.synthetic else ""
    table = PlainTable(title=f"placement {inst.meta.name}{label}: {sol.status.value}")
    table.add_column("figure")
    table.add_column("value", justify="right")

    def fmt(value: Any, spec: str = ",.2f") -> str:
        return "-" if value is None or value != value else format(value, spec)

    rows = [
        ("households placed", f"{int(kpi['placed_households']):,} / {int(kpi['households']):,}"),
        ("persons", f"{int(kpi['persons']):,}"),
        ("expected employed", fmt(kpi["expected_employed"], ",.1f")),
        ("total distance (km)", fmt(kpi["total_distance_km"], ",.0f")),
        ("left COA region", f"{int(kpi['left_coa_region']):,}"),
        deviation_row(run, kpi),
        ("objective (weight units)", fmt(sol.objective)),
        *(
            (f"of it, {LOOK_AHEAD[name]} (weight units)", fmt(part.contribution))
            for name, part in sol.objective_parts.items()
            if name in LOOK_AHEAD
        ),
        ("bound", fmt(sol.bound)),
        ("gap", "-" if sol.gap is None else f"{100 * sol.gap:.3f}%"),
        (
            "seconds (build / solve / total)",
            f"{run.timings.get('build_s', 0):.1f} / {run.timings.get('solve_s', 0):.1f} / "
            f"{run.timings['total_s']:.1f}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    _print_diagnosis(run)
    _stop_line(run)
    console.print(f"written to {escape(str(out))}")


def _print_diagnosis(run: Run) -> None:
    diagnosis = run.tables.get("diagnosis")
    if diagnosis is None or diagnosis.empty:
        return
    shown = ["family", "constraint", "inflow", "period", "bound", "value", "violation"]
    columns = [c for c in shown if diagnosis[c].notna().any()]
    table = PlainTable(title="cannot be met")
    for column in columns:
        table.add_column(column)
    for row in diagnosis[columns].head(20).itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)


@app.command()
@friendly_errors
def reception(
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    inflow: Annotated[
        str | None,
        typer.Option(help="Inflow of the cohorts table to plan for (default: the first)."),
    ] = None,
    robust: Annotated[
        bool | None,
        typer.Option(
            "--robust",
            help="Decide sites once against every inflow; compare with the plan for "
            "--inflow alone (buffer cost against emergency cost avoided).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path(
        "out/reception"
    ),
    time_limit: TimeLimitOpt = None,
) -> None:
    """Plan reception: asylum seekers in reception sites over time.

    Writes occupancy (site x period), occupancy_by_class, moves, moves_by_class,
    objective (the cost split), duals, business_cases, emergency, regions, kpis (CSV
    and Parquet), occupancy.png (and regions.png with region targets), timings.json and
    manifest.json; with --robust also robust. Exits 2 when people are left without a
    bed or a site cannot reach its minimum (diagnosis.csv says when and how many) and 3
    when the time limit passed before any plan was found.
    """
    from asielplan import api

    overrides = {
        "solver.time_limit": time_limit,
        "reception.inflow": inflow,
        "reception.robust": robust,
    }
    cfg = run_config(config, scenario, instance, overrides)
    api.check_output(out, instance)
    with console.status("planning reception ...") as status:
        run = api.plan_reception(instance, cfg, _progress(status))
    written = api.write_run(run, out)
    print_warnings(run.warnings)
    print_reception_summary(run, written)
    _kept(out, written)
    _exit_on_status(run.solution.status)


@app.command()
@friendly_errors
def chain(
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    inflow: Annotated[
        str | None,
        typer.Option(help="Inflow of the forecast to plan for (default: middle, else the first)."),
    ] = None,
    robust: Annotated[
        bool | None,
        typer.Option(
            "--robust",
            help="Decide sites, taakstelling and decision capacity once against every inflow.",
        ),
    ] = None,
    national: Annotated[
        float | None,
        typer.Option(help="The national taakstelling of every half-year not yet announced."),
    ] = None,
    national_by_period: Annotated[
        Path | None,
        typer.Option(help="Table (half_year, national) of the taakstelling per half-year."),
    ] = None,
    choose_national: Annotated[
        bool | None,
        typer.Option(
            "--choose-national",
            help="Let the plan choose the taakstelling of the half-years not yet announced.",
        ),
    ] = None,
    smallest_national: Annotated[
        str | None,
        typer.Option(
            help="Ask for the smallest taakstelling that keeps crisis reception as low as "
            "it can be: constant or per-half-year."
        ),
    ] = None,
    realisation: Annotated[
        float | None,
        typer.Option(help="Share of the taakstelling municipalities house (what-if)."),
    ] = None,
    forecast: Annotated[
        Path | None, typer.Option(help="A forecast table to plan with instead of the instance's.")
    ] = None,
    sites: Annotated[
        Path | None, typer.Option(help="A site list (CSV or xlsx) instead of the instance's.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path("out/chain"),
    time_limit: TimeLimitOpt = None,
) -> None:
    """Plan the chain: arrivals, decisions, status holders waiting and housed, and
    reception places over the forecast's periods (docs/chain.md).

    Writes chain (per inflow and period), levers (per period), half_years, site_decisions,
    stages, objective, kpis (CSV and Parquet), chain.png, timings.json and manifest.json.
    Exits 3 when the time limit passed before any plan was found."""
    from asielplan import api
    from asielplan.data.chain import read_national_by_half_year

    overrides: dict[str, Any] = {
        "solver.time_limit": time_limit,
        "chain.inflow": inflow,
        "chain.robust": robust,
        "chain.national": national,
        "chain.choose_national": choose_national,
        "chain.smallest_national": smallest_national,
        "chain.realisation_share": realisation,
    }
    if national_by_period is not None:
        overrides["chain.national_by_half_year"] = read_national_by_half_year(national_by_period)
    cfg = run_config(config, scenario, instance, overrides)
    api.check_output(out, instance)
    inst: Any = instance
    for name, path in (("forecast", forecast), ("site_list", sites)):
        if path is not None:
            inst = api.with_table(inst, name, path)
    with console.status("planning the chain ...") as status:
        run = api.plan_chain(inst, cfg, _progress(status))
    written = api.write_run(run, out)
    print_warnings(run.warnings)
    print_chain_summary(run, written)
    _kept(out, written)
    _exit_on_status(run.solution.status)


def print_chain_summary(run: Run, out: Path) -> None:
    """The chain plan's headline figures on the terminal: money and weights apart."""
    inst = run.instance
    label = " (SYNTHETIC)" if inst.meta.synthetic else ""
    table = PlainTable(title=f"chain {inst.meta.name}{label}: {run.solution.status.value}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    kpis = run.tables["kpis"].iloc[0]
    shown = (
        ("inflows", "inflows"),
        ("money (EUR)", "cost_eur"),
        ("weights", "weighted"),
        ("crisis place-nights", "crisis_place_nights"),
        ("emergency place-nights", "emergency_place_nights"),
        ("peak in reception", "peak_in_reception"),
        ("peak status holders waiting", "peak_waiting"),
        ("housed", "housed"),
        ("decisions added", "added_decisions"),
        ("sites opened", "sites_opened"),
        ("taakstelling chosen", "chosen_national"),
        ("gap", "gap"),
    )
    for header, column in shown:
        value = kpis.get(column, None)
        if value is None or value != value or value == "":  # missing, NaN or empty text
            continue
        table.add_row(header, _gap(value) if column == "gap" else _cell(value))
    console.print(table)
    console.print(escape(run.solution.stop))
    console.print(f"written to {escape(str(out))}")


@app.command("reception-compare")
@friendly_errors
def reception_compare(
    inflows: Annotated[
        str, typer.Option(help="Comma-separated inflows of the cohorts table to compare.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the comparison.")],
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    robust: Annotated[
        bool,
        typer.Option(
            "--robust", help="Also the plan whose sites are decided once against every inflow."
        ),
    ] = False,
    time_limit: TimeLimitOpt = None,
) -> None:
    """Plan reception for each inflow (and with --robust once against all) and compare
    side by side: writes comparison (per plan money and weights apart, emergency and
    crisis place-nights, sites and places opened), openings (which sites open, where,
    when), extra_places (per region the places opened and the emergency and crisis
    peak), comparison.png and each plan's run folder. Exits 3 when a plan has no
    solution."""
    from asielplan import api

    names = comma_list(inflows, "--inflows")  # distinct, none empty
    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    with console.status("comparing inflows ...") as status:
        result = api.compare_reception(names, instance, cfg, robust, _progress(status))
    api.write_reception_comparison(result, out)
    table = PlainTable(title=f"reception plans on {result.instance.meta.name}")
    shown = (
        ("plan", "plan"),
        ("status", "status"),
        ("money (EUR)", "cost_eur"),
        ("weights", "weighted"),
        ("emergency place-nights", "emergency_place_nights"),
        ("crisis place-nights", "crisis_place_nights"),
        ("sites opened", "sites_opened"),
        ("places opened", "places_opened"),
    )
    for header, _ in shown:
        table.add_column(header, justify="left" if header in ("plan", "status") else "right")
    for row in result.comparison.to_dict("records"):
        table.add_row(*(_cell(row[column]) for _, column in shown))
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    _exit_on_plans_without_solution(result.comparison, "their figures are blank")


def print_reception_summary(run: Run, out: Path) -> None:
    """A short summary of a reception plan on the terminal: money and weights apart."""
    sol = run.solution
    inst = run.instance
    label = " (SYNTHETIC)" if inst.meta.synthetic else ""
    table = PlainTable(title=f"reception {inst.meta.name}{label}: {sol.status.value}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = []
    if sol.status.has_solution or sol.status.value == "infeasible":
        kpi = run.tables["kpis"].iloc[0]
        share = kpi["share_in_home_region"]
        rows = [
            ("inflows (weights)", str(kpi["inflow_weights"])),
            ("money: bed cost (EUR)", f"{kpi['cost_beds']:,.0f}"),
            ("money: site cost, fixed + opening (EUR)", f"{kpi['cost_fixed']:,.0f}"),
            ("money: total (EUR)", f"{kpi['cost_eur']:,.0f}"),
            ("weights: moves, penalties", f"{kpi['weighted']:,.0f}"),
            ("moves between sites", f"{kpi['moves']:,.0f}"),
            (
                "emergency / crisis place-nights",
                f"{kpi['emergency_place_nights']:,.0f} / {kpi['crisis_place_nights']:,.0f}",
            ),
            (
                "business cases accepted / rejected",
                f"{kpi['business_cases_accepted']} / {kpi['business_cases_rejected']}",
            ),
            (
                "sites opened / closed during the plan",
                f"{kpi['sites_opened']} / {kpi['sites_closed']}",
            ),
            (
                "in a home region (second line)",
                "-" if share is None or share != share else f"{100 * share:.1f}%",
            ),
            ("objective (money + weights)", f"{sol.objective:,.0f}"),
            ("gap", "-" if sol.gap is None else f"{100 * sol.gap:.3f}%"),
        ]
    rows.append(
        (
            "seconds (build / solve / total)",
            f"{run.timings.get('build_s', 0):.1f} / {run.timings.get('solve_s', 0):.1f} / "
            f"{run.timings['total_s']:.1f}",
        )
    )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if "robust" in run.tables:
        _print_robust(run.tables["robust"])
    _print_diagnosis(run)
    _stop_line(run)
    console.print(f"written to {escape(str(out))}")


def _print_robust(comparison: pd.DataFrame) -> None:
    """The robust plan's buffer cost against the emergency cost it avoids, or why there
    is no comparison (a plan without a solution)."""
    robust = comparison.iloc[0]
    over = f"robust plan over {escape(str(robust['inflow_weights']))}"
    if robust["buffer_cost_eur"] != robust["buffer_cost_eur"]:  # NaN: not compared
        plans = ", ".join(
            f"{escape(str(p))}: {escape(str(s))}"
            for p, s in zip(comparison["plan"], comparison["status"], strict=True)
        )
        console.print(f"{over}: no comparison, a plan was not found ({plans})")
        return
    console.print(
        f"{over}: buffer cost "
        f"EUR {robust['buffer_cost_eur']:,.0f} against EUR "
        f"{robust['emergency_cost_avoided_eur']:,.0f} expected emergency bed cost avoided "
        f"(and {robust['emergency_penalty_avoided']:,.0f} of emergency penalty weight)"
    )


EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_TERMINATED = 143  # SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind like an interrupt (every temporary folder is removed)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


@app.command()
@friendly_errors
def explain(
    run_dir: Annotated[Path, typer.Argument(help="A placement run's output folder.")],
    household: Annotated[str | None, typer.Option(help="Explain this household.")] = None,
    municipality: Annotated[
        str | None,
        typer.Option(help="Who was placed in this municipality, and who almost was."),
    ] = None,
) -> None:
    """Why a household went where it went, or who went to a municipality (from the
    run's explanations table: every number is the change of the objective if that
    household alone moved, the rest of the plan fixed)."""
    from asielplan import api

    if (household is None) == (municipality is None):
        raise ConfigError("give --household or --municipality (one of them)")
    if household is not None:
        row = api.explain_household(run_dir, household)
        console.print(escape(str(row["text"])), soft_wrap=True)
        table = PlainTable(title=f"household {household}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in row.items():
            if key != "text":
                table.add_row(key, _cell(value))
        console.print(table)
        return
    assert municipality is not None
    found = api.explain_municipality(run_dir, municipality)
    facts = found.facts
    if facts:
        said = [f"{found.code} {facts['name']}"]
        if "taakstelling" in facts:  # a weekly batch
            said.append(
                f"taakstelling {facts['taakstelling']:,}, placed before this batch "
                f"{facts['placed_before']:,}, this batch {facts['this_batch']:,}, "
                f"remaining {facts['remaining']:,}"
            )
        else:
            said.append(f"target {facts['target']:,}, placed {facts['placed_persons']:,} persons")
        console.print(escape(": ".join(said)), soft_wrap=True)
    for title, frame in (
        (f"placed in {found.code}", found.placed),
        (f"almost placed in {found.code} (next best, smallest loss first)", found.almost),
    ):
        table = PlainTable(title=title)
        for column in frame.columns:
            table.add_column(column, justify="right" if column != "household_id" else "left")
        for values in frame.itertuples(index=False):
            table.add_row(*(_cell(v) for v in values))
        console.print(table)


@app.command()
@friendly_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder.")],
    out: Annotated[
        Path | None, typer.Option(help="The HTML file to write (default RUN_DIR/report.html).")
    ] = None,
    instance: Annotated[
        Path | None,
        typer.Option(help="The run's instance, when it has moved since the run (for the maps)."),
    ] = None,
) -> None:
    """One self-contained HTML report of a run (placement, reception, scheme comparison,
    front, sweep, fairness, taakstelling, batch): headline figures, maps in RD New, plots and
    tables; no request to any network."""
    from asielplan import api

    written = api.report(run_dir, out, instance)
    size = written.stat().st_size / 1e6
    console.print(f"report written to {escape(str(written))} ({size:.1f} MB)")


@app.command()
@friendly_errors
def front(
    out: Annotated[Path, typer.Option(help="Folder for the front.")],
    instance: InstanceArg = None,
    problem: Annotated[
        str,
        typer.Option(help="placement or reception (its axes: money, moves, emergency, crisis)."),
    ] = "placement",
    axes: Annotated[
        str | None,
        typer.Option(
            help="Two or three axes, the first optimised, the others bounded: placement "
            "labour, distance, leave_coa_region, deviation, unplaced, changes (with "
            "--previous); reception money, moves, emergency, crisis. Default: "
            "labour,distance or money,emergency."
        ),
    ] = None,
    points: Annotated[int, typer.Option(min=2, help="Grid points (about; 3 axes: squared).")] = 9,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
    previous: Annotated[
        Path | None, typer.Option(help="A previous plan, for the changes axis.")
    ] = None,
) -> None:
    """The trade-off front of the placement or the reception plan by the
    epsilon-constraint method: writes
    points (every run: role, bounds, axis values, status, gap, run id, on_front, knee),
    front (tidy: point x part of the non-dominated points), front.png with the default
    run marked and the knee named, and each point's run under runs/."""
    from asielplan import api

    if problem not in ("placement", "reception"):
        raise ConfigError(f"--problem {problem!r}: placement or reception")
    if previous is not None and problem != "placement":
        raise ConfigError("--previous is a placement plan: it needs --problem placement")
    from asielplan.experiments.studies.front import DEFAULT_AXES

    chosen = axes or DEFAULT_AXES[problem]  # type: ignore[index]
    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    inst = api.with_previous_plan(instance, previous) if previous is not None else instance
    with console.status("computing the front ...") as status:
        result = api.front(inst, cfg, chosen, points, _progress(status), problem)  # type: ignore[arg-type]
    api.write_front(result, out)
    names = [axis.name for axis in result.axes]
    table = PlainTable(title=f"front {' / '.join(names)} on {result.instance.meta.name}")
    for column in ("point", "role", *names, "status", "gap", "front"):
        table.add_column(column, justify="left" if column in ("role", "status") else "right")
    for row in result.points.to_dict("records"):
        mark = ("knee" if row["knee"] else "yes") if row["on_front"] else ""
        table.add_row(
            str(row["point"]),
            row["role"],
            *(_cell(row[name]) for name in names),
            row["status"],
            _gap(row["gap"]),
            mark,
        )
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    if not result.points["on_front"].any():
        from asielplan.solvers.result import Status

        _exit_on_status(Status(result.points["status"].iloc[-1]))


@app.command()
@friendly_errors
def sweep(
    out: Annotated[Path, typer.Option(help="Folder for the sweep.")],
    instance: InstanceArg = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            help="KEY=v1,v2,... over a numeric setting (once or twice), e.g. "
            "placement.penalty_shortfall=5,10,20,40.",
        ),
    ] = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
) -> None:
    """Weight sensitivity: one placement per value (the cartesian product of two keys),
    written as sweep (the values, status, gap, the objective's parts and the households
    moved against the run before), sweep.png and each run under runs/."""
    from asielplan import api

    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    with console.status("sweeping ...") as status:
        result = api.sweep(instance, cfg, sweep, _progress(status))
    api.write_sweep(result, out)
    shown = [*result.keys, "status", "gap", *result.metrics]
    table = PlainTable(title=f"sweep on {result.instance.meta.name}")
    for column in shown:
        table.add_column(column, justify="left" if column == "status" else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            *(
                _gap(row[c]) if c == "gap" else str(row[c]) if c == "status" else _cell(row[c])
                for c in shown
            )
        )
    console.print(table)
    console.print(f"written to {escape(str(out))}")


@app.command()
@friendly_errors
def fairness(
    out: Annotated[Path, typer.Option(help="Folder for the study.")],
    instance: InstanceArg = None,
    groups: Annotated[
        str, typer.Option(help="Group families: gender, size, adults, age (comma-separated).")
    ] = "gender,size",
    rule: Annotated[
        str, typer.Option(help="Rules: absolute, proportional, maxmin (comma-separated).")
    ] = "proportional,maxmin",
    level: Annotated[
        float, typer.Option(help="proportional: the share of each group's own optimum.")
    ] = 0.95,
    floor: Annotated[
        float | None,
        typer.Option(help="absolute: the floor on every group's mean employment probability."),
    ] = None,
    config: ConfigOpt = None,
    scenario: ScenarioOpt = None,
    time_limit: TimeLimitOpt = None,
) -> None:
    """Group fairness and its price: the plan without floors and one per rule, under
    both aggregations of the labour score (sum, at_least_one); writes fairness (labour
    score and price of fairness per rule), groups (each group's mean employment
    probability before and after, its floor and own optimum), fairness.png and the runs."""
    from asielplan import api

    cfg = run_config(config, scenario, instance, {"solver.time_limit": time_limit})
    api.check_output(out, instance)
    with console.status("fairness ...") as status:
        result = api.fairness(instance, cfg, groups, rule, level, floor, _progress(status))
    api.write_fairness(result, out)
    table = PlainTable(title=f"price of fairness on {result.instance.meta.name}")
    columns = ("aggregation", "rule", "status", "gap", "labour_score", "price_of_fairness")
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for row in result.summary.to_dict("records"):
        table.add_row(
            row["aggregation"],
            row["rule"],
            row["status"],
            _gap(row["gap"]),
            _cell(row["labour_score"]),
            f"{100 * row['price_of_fairness']:.2f}%",
        )
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    # a rule without a plan: the study cannot give its price
    plans = result.summary.assign(plan=result.summary["aggregation"] + "/" + result.summary["rule"])
    _exit_on_plans_without_solution(plans, "their price of fairness and group means are not known")


def _gap(value: Any) -> str:
    return "-" if value is None or value != value else f"{100 * value:.3f}%"


def _cell(value: Any) -> str:
    """A table cell: numbers with two decimals, blanks for missing values."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def main() -> None:
    """The ``asielplan`` command. Exit codes, the same for every command: 0 done, 1 bad
    input, configuration or usage, 2 infeasible (with a diagnosis), 3 no solution within
    the time limit, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); on an interrupt
    nothing is written and the previous result is kept."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, _on_sigterm)
    interrupted = "[bold red]interrupted[/]: the run was stopped; nothing was written"
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:  # typer turns Ctrl-C into Exit(130)
        if exc.exit_code == EXIT_INTERRUPTED:
            err_console.print(interrupted)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print(interrupted)
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        err_console.print("[bold red]terminated[/]: the run was stopped; nothing was written")
        sys.exit(EXIT_TERMINATED)
    except Exception as exc:
        # a usage error of the command line parser (click, vendored by typer or not)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        raise
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:  # typer returns Ctrl-C as the exit code 130
        err_console.print(interrupted)
    sys.exit(code)


if __name__ == "__main__":
    main()
