"""Commands of one run: ``place``, ``weekly``, ``reception``, ``chain``, and reading a run
back: ``explain``, ``report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from asielplan.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from asielplan.api import Run

from asielplan.cli.common import (
    ConfigOpt,
    InstanceArg,
    PlainTable,
    PreviousOpt,
    ScenarioOpt,
    TimeLimitOpt,
    app,
    cell_text,
    console,
    exit_on_status,
    friendly_errors,
    gap_text,
    print_stop_line,
    print_warnings,
    run_config,
    say_kept,
    say_progress,
)


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
        run = api.place(inst, cfg, say_progress(status))
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
    say_kept(out, written)
    exit_on_status(run.solution.status)


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
        run = api.weekly(inst, cfg, arrivals, say_progress(status))
    _finish_placement(run, out, behind=True)


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
    print_stop_line(run)
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
        run = api.plan_reception(instance, cfg, say_progress(status))
    written = api.write_run(run, out)
    print_warnings(run.warnings)
    print_reception_summary(run, written)
    say_kept(out, written)
    exit_on_status(run.solution.status)


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
        run = api.plan_chain(inst, cfg, say_progress(status))
    written = api.write_run(run, out)
    print_warnings(run.warnings)
    print_chain_summary(run, written)
    say_kept(out, written)
    exit_on_status(run.solution.status)


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
        table.add_row(header, gap_text(value) if column == "gap" else cell_text(value))
    console.print(table)
    console.print(escape(run.solution.stop))
    console.print(f"written to {escape(str(out))}")


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
    print_stop_line(run)
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
                table.add_row(key, cell_text(value))
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
            table.add_row(*(cell_text(v) for v in values))
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
