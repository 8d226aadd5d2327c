"""The command line's shared parts: the app and its sub-apps, the consoles, how input
problems are printed (a table of file, row, column, rule, message; exit status 1;
nothing written), the options every command shares, the exit codes and the helpers that
print a run's end.
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

if TYPE_CHECKING:
    import pandas as pd

    from asielplan.api import Run
    from asielplan.config import RunConfig
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


def say_progress(status: Any) -> Callable[[str], None]:
    """Show progress messages on the spinner and in the log."""

    def progress(message: str) -> None:
        status.update(escape(message))
        logging.getLogger("asielplan").info(message)

    return progress


def exit_on_status(status: Status) -> None:
    """Exit 2 when infeasible (diagnosis written), 3 when no solution was found."""
    from asielplan.solvers.result import Status

    if status == Status.INFEASIBLE:
        raise typer.Exit(EXIT_INFEASIBLE)
    if not status.has_solution:
        raise typer.Exit(EXIT_NO_SOLUTION)


def exit_on_plans_without_solution(plans: pd.DataFrame, consequence: str) -> None:
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


def say_kept(out: Path, written: Path) -> None:
    """Say so when a run without a plan was written beside a valid one."""
    if written != out:
        console.print(
            f"[yellow]the valid plan in {escape(str(out))} is kept; this run (no valid plan) "
            f"is in {escape(str(written))}[/]",
            soft_wrap=True,
        )


def print_stop_line(run: Run) -> None:
    """Whether the requested gap was proven or the time limit stopped the solve."""
    from asielplan.solvers.result import Status

    colour = "green" if run.solution.status == Status.OPTIMAL else "yellow"
    console.print(f"[{colour}]{escape(run.solution.stop)}[/]")


EXIT_BAD_INPUT = 1


EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)


EXIT_TERMINATED = 143  # SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: unwind like an interrupt (every temporary folder is removed)."""


def on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def gap_text(value: Any) -> str:
    return "-" if value is None or value != value else f"{100 * value:.3f}%"


def cell_text(value: Any) -> str:
    """A table cell: numbers with two decimals, blanks for missing values."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)
