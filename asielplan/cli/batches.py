"""``asielplan batch``: plan, run and follow a batch of runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

if TYPE_CHECKING:
    pass

from asielplan.cli.common import (
    EXIT_BATCH_FAILED,
    PlainTable,
    batch_app,
    cell_text,
    console,
    err_console,
    friendly_errors,
)

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
        values = [
            run.id,
            *(cell_text(v) for v in run.labels.values()),
            "yes" if run.id in done else "",
        ]
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
