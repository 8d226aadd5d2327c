"""Commands of the studies (:mod:`asielplan.experiments.studies`): ``schemes compare``,
``front``, ``sweep``, ``fairness``, ``simulate``, ``reception-compare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from asielplan.errors import ConfigError
from asielplan.io import comma_list

if TYPE_CHECKING:
    pass

from asielplan.cli.common import (
    ConfigOpt,
    InstanceArg,
    PlainTable,
    ScenarioOpt,
    TimeLimitOpt,
    app,
    cell_text,
    console,
    err_console,
    exit_on_plans_without_solution,
    exit_on_status,
    friendly_errors,
    gap_text,
    run_config,
    say_progress,
    schemes_app,
)


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
        result = api.compare_schemes(names, instance, cfg, say_progress(status), noise_seeds)
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
        result = api.compare_reception(names, instance, cfg, robust, say_progress(status))
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
        table.add_row(*(cell_text(row[column]) for _, column in shown))
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    exit_on_plans_without_solution(result.comparison, "their figures are blank")


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
        result = api.front(inst, cfg, chosen, points, say_progress(status), problem)  # type: ignore[arg-type]
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
            *(cell_text(row[name]) for name in names),
            row["status"],
            gap_text(row["gap"]),
            mark,
        )
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    if not result.points["on_front"].any():
        from asielplan.solvers.result import Status

        exit_on_status(Status(result.points["status"].iloc[-1]))


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
        result = api.sweep(instance, cfg, sweep, say_progress(status))
    api.write_sweep(result, out)
    shown = [*result.keys, "status", "gap", *result.metrics]
    table = PlainTable(title=f"sweep on {result.instance.meta.name}")
    for column in shown:
        table.add_column(column, justify="left" if column == "status" else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            *(
                gap_text(row[c])
                if c == "gap"
                else str(row[c])
                if c == "status"
                else cell_text(row[c])
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
        result = api.fairness(instance, cfg, groups, rule, level, floor, say_progress(status))
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
            gap_text(row["gap"]),
            cell_text(row["labour_score"]),
            f"{100 * row['price_of_fairness']:.2f}%",
        )
    console.print(table)
    console.print(f"written to {escape(str(out))}")
    # a rule without a plan: the study cannot give its price
    plans = result.summary.assign(plan=result.summary["aggregation"] + "/" + result.summary["rule"])
    exit_on_plans_without_solution(plans, "their price of fairness and group means are not known")
