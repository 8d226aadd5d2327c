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

from asielplan.errors import ConfigError, InputError

if TYPE_CHECKING:
    from asielplan.api import PlacementRun, ReceptionRun
    from asielplan.config import RunConfig
    from asielplan.solvers.highs import Status

app = typer.Typer(
    name="asielplan",
    help="Optimisation for the Dutch asylum chain (status holders and reception).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
MAX_ISSUES_SHOWN = 200


def print_issues(error: InputError) -> None:
    """One line per problem: where (file, row, line, column), the rule, and what is wrong."""
    err_console.print(f"[bold red]{len(error.issues)} problem(s)[/] in {escape(error.source)}:")
    for issue in error.issues[:MAX_ISSUES_SHOWN]:
        err_console.print(
            f"  {escape(issue.location())}: [bold]{escape(issue.rule)}[/]: {escape(issue.message)}",
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
            err_console.print(
                f"[bold red]configuration error[/]\n{escape(str(exc))}\nNothing was written."
            )
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
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
TimeLimitOpt = Annotated[float | None, typer.Option(help="Override solver.time_limit (seconds).")]


def with_time_limit(cfg: RunConfig, time_limit: float | None) -> RunConfig:
    """``cfg`` with the solver's time limit replaced, when one is given."""
    if time_limit is None:
        return cfg
    return cfg.model_copy(
        update={"solver": cfg.solver.model_copy(update={"time_limit": time_limit})}
    )


def instance_path(instance: Path | None) -> Path:
    """The given instance folder, or the embedded default (synthetic) instance."""
    from asielplan.data.instance import default_instance_path

    return instance if instance is not None else default_instance_path()


@app.command()
@friendly_errors
def validate(instance: InstanceArg = None) -> None:
    """Check an instance: every table's schema and every cross-table rule."""
    from asielplan.data.instance import read_instance

    inst = read_instance(instance_path(instance))
    parts = [f"{len(inst.municipalities)} municipalities", f"{len(inst.sites)} sites"]
    if "households" in inst.meta.tables:
        hh = inst.households
        parts.append(f"{len(hh)} households ({int(hh['persons'].sum())} persons)")
    if inst.cohorts is not None and inst.meta.reception is not None:
        scenarios = inst.cohorts["scenario"].dropna().unique() if "scenario" in inst.cohorts else []
        parts.append(
            f"{len(inst.cohorts)} cohorts over {inst.meta.reception.periods} periods"
            + (f" (scenarios: {', '.join(map(str, scenarios))})" if len(scenarios) else "")
        )
    if inst.meta.synthetic:
        parts.append("synthetic")
    console.print(f"[green]OK[/] {inst.meta.name} ({inst.meta.period}): {', '.join(parts)}")


@app.command()
@friendly_errors
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the instance to.")],
    seed: Annotated[int, typer.Option(help="Seed (required): same seed, same bytes.")],
    households: Annotated[int, typer.Option(min=1, help="Number of households.")] = 300,
    synthetic: Annotated[
        int | None, typer.Option(help="Make a fictional country of this many municipalities.")
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
) -> None:
    """Generate an instance with seeded synthetic households.

    Municipalities come from the CBS files (--cbs-csv and --cbs-geometry) or from a
    fictional country of --synthetic N municipalities (40 when neither is given).
    """
    from asielplan.data.cbs import load_cbs_municipalities
    from asielplan.data.generator import (
        DEFAULT_MUNICIPALITIES,
        generate_instance,
        synthetic_municipalities,
    )
    from asielplan.data.instance import write_instance
    from asielplan.manifest import build_manifest, input_hashes, write_manifest

    inputs: list[Path] = []
    if cbs_csv is not None or cbs_geometry is not None:
        if cbs_csv is None or cbs_geometry is None:
            raise ConfigError("--cbs-csv and --cbs-geometry go together")
        cbs = load_cbs_municipalities(cbs_csv, cbs_geometry, indicators)
        for note in cbs.notes:
            console.print(f"[dim]{note}[/]")
        inputs += [p for p in (cbs_csv, cbs_geometry, indicators) if p is not None]
        source = "CBS via " + ", ".join(p.name for p in inputs)
        inst = generate_instance(
            cbs.table,
            households,
            seed,
            name=name or "cbs-generated",
            period=period,
            national=national,
            municipality_source=source,
        )
    else:
        n_muni = synthetic or DEFAULT_MUNICIPALITIES
        inst = generate_instance(
            synthetic_municipalities(n_muni, seed),
            households,
            seed,
            name=name or f"synthetic-{n_muni}",
            period=period,
            national=national,
        )
    write_instance(inst, out)
    write_manifest(out, build_manifest("generate", seed=seed, inputs=input_hashes(inputs)))
    hh = inst.households
    console.print(
        f"[green]wrote[/] {out}: {len(inst.municipalities)} municipalities, "
        f"{len(inst.sites)} sites, {len(hh)} households "
        f"({int(hh['persons'].sum())} persons), seed {seed}"
    )


@app.command()
@friendly_errors
def taakstelling(
    out: Annotated[Path, typer.Option(help="Folder for taakstelling.csv/.parquet.")],
    instance: InstanceArg = None,
    national: Annotated[
        int | None, typer.Option(help="National number (default: from instance.toml).")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Registered rule name.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Split the national taakstelling over municipalities, plus achterstand."""
    from asielplan.config import load_config
    from asielplan.data.instance import read_instance
    from asielplan.io import atomic_output_dir, write_table
    from asielplan.manifest import (
        build_manifest,
        input_hashes,
        instance_files,
        write_manifest,
    )
    from asielplan.model.taakstelling import RULES, compute_taakstelling

    cfg = load_config(config)
    instance = instance_path(instance)
    inst = read_instance(instance)
    spec = inst.meta.taakstelling
    n = national if national is not None else (spec.national if spec else None)
    if n is None:
        raise ConfigError(
            "no national number: pass --national or set [taakstelling] national in instance.toml"
        )
    rule_name = rule or (spec.rule if spec else "population")
    if rule_name not in RULES:
        raise ConfigError(f"unknown rule {rule_name!r}; registered: {', '.join(sorted(RULES))}")
    result = compute_taakstelling(inst.municipalities, n, rule_name, inst.achterstand)
    with atomic_output_dir(out) as staging:
        write_table(staging, "taakstelling", result, cfg.output.formats)
        write_manifest(
            staging,
            build_manifest(
                "taakstelling",
                seed=inst.meta.seed,
                config=cfg.model_dump(mode="json"),
                inputs=input_hashes(instance_files(instance), instance),
                extra={"national": n, "rule": rule_name},
            ),
        )
    top = result.sort_values("taakstelling", ascending=False).head(10)
    table = Table(title=f"taakstelling {inst.meta.period}: {n} persons, rule {rule_name!r}")
    for column in ("municipality", "name", "share", "achterstand", "taakstelling"):
        table.add_column(
            column, justify="right" if column not in ("municipality", "name") else "left"
        )
    for row in top.itertuples(index=False):
        table.add_row(
            row.municipality, row.name, str(row.share), str(row.achterstand), str(row.taakstelling)
        )
    console.print(table)
    console.print(
        f"total {int(result['taakstelling'].sum())} over {len(result)} "
        f"municipalities; written to {out}"
    )


EXIT_INFEASIBLE = 2
EXIT_NO_SOLUTION = 3


def _progress(status: Any) -> Callable[[str], None]:
    """Show progress messages on the spinner and in the log."""

    def progress(message: str) -> None:
        status.update(escape(message))
        logging.getLogger("asielplan").info(message)

    return progress


def _exit_on_status(status: Status) -> None:
    """Exit 2 when infeasible (diagnosis written), 3 when no solution was found."""
    from asielplan.solvers.highs import Status

    if status == Status.INFEASIBLE:
        raise typer.Exit(EXIT_INFEASIBLE)
    if not status.has_solution:
        raise typer.Exit(EXIT_NO_SOLUTION)


@app.command()
@friendly_errors
def place(
    instance: InstanceArg = None,
    config: ConfigOpt = None,
    scenario: Annotated[str | None, typer.Option(help="Named scenario in the config.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path(
        "out/placement"
    ),
    time_limit: TimeLimitOpt = None,
) -> None:
    """Place households of status holders in municipalities (the koppeling).

    Writes households, municipalities, regions, kpis, outcomes_by_size and
    outcomes_by_gender (CSV and Parquet), plus timings.json and manifest.json. Exits 2
    when the quotas cannot be met (diagnosis.csv says which and by how much) and 3 when
    the time limit passed before any solution was found.
    """
    from asielplan.api import place as run_place
    from asielplan.api import write_placement
    from asielplan.config import load_config

    cfg = with_time_limit(load_config(config, scenario), time_limit)
    with console.status("placing households ...") as status:
        run = run_place(instance_path(instance), cfg, _progress(status))
    write_placement(run, out)
    print_placement_summary(run, out)
    _exit_on_status(run.solution.status)


def print_placement_summary(run: PlacementRun, out: Path) -> None:
    """A short summary of a placement run on the terminal."""
    kpi = run.tables["kpis"].iloc[0]
    sol = run.solution
    inst = run.instance
    label = " (SYNTHETIC)" if inst.meta.synthetic else ""
    table = Table(title=f"placement {inst.meta.name}{label}: {sol.status.value}")
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
        ("taakstelling deviation (persons)", fmt(kpi["total_abs_deviation"], ",.0f")),
        ("objective", fmt(sol.objective)),
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
    if sol.diagnosis is not None and len(sol.diagnosis):
        diag = Table(title="cannot be met (persons)")
        for column in ("family", "constraint", "bound", "value", "violation"):
            diag.add_column(column)
        for row in sol.diagnosis.head(20).itertuples(index=False):
            diag.add_row(*(escape(str(v)) for v in row))
        console.print(diag)
    if sol.message:
        console.print(escape(sol.message))
    console.print(f"written to {out}")


@app.command()
@friendly_errors
def reception(
    instance: InstanceArg = None,
    scenario: Annotated[
        str | None, typer.Option(help="Inflow scenario of the cohorts table (default: first).")
    ] = None,
    robust: Annotated[
        bool,
        typer.Option(
            "--robust",
            help="Decide sites once against every inflow scenario; compare with the plan "
            "for --scenario alone (buffer cost against emergency cost avoided).",
        ),
    ] = False,
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the result tables.")] = Path(
        "out/reception"
    ),
    time_limit: TimeLimitOpt = None,
) -> None:
    """Plan reception: asylum seekers in reception sites over time.

    Writes occupancy (site x period), moves, moves_by_class, costs, business_cases,
    emergency, regions, kpis (CSV and Parquet), occupancy.png (and regions.png with
    region targets), timings.json and manifest.json; with --robust also robust. Exits
    2 when people are left without a bed or a site cannot reach its minimum
    (diagnosis.csv says when and how many) and 3 when the time limit passed before any
    plan was found.
    """
    from asielplan.api import plan_reception, write_reception
    from asielplan.config import load_config

    cfg = with_time_limit(load_config(config), time_limit)
    if scenario is not None:
        cfg = cfg.model_copy(
            update={"reception": cfg.reception.model_copy(update={"scenario": scenario})}
        )
    with console.status("planning reception ...") as status:
        run = plan_reception(
            instance_path(instance), cfg, robust=robust, progress=_progress(status)
        )
    write_reception(run, out)
    print_reception_summary(run, out)
    _exit_on_status(run.solution.status)


def print_reception_summary(run: ReceptionRun, out: Path) -> None:
    """A short summary of a reception plan on the terminal."""
    sol = run.solution
    inst = run.instance
    label = " (SYNTHETIC)" if inst.meta.synthetic else ""
    table = Table(title=f"reception {inst.meta.name}{label}: {sol.status.value}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    if sol.status.has_solution:
        kpi = run.tables["kpis"].iloc[0]
        share = kpi["share_in_home_region"]
        rows = [
            ("scenarios", str(kpi["scenarios"])),
            ("bed cost (EUR)", f"{kpi['cost_beds']:,.0f}"),
            ("site cost: fixed + opening (EUR)", f"{kpi['cost_fixed']:,.0f}"),
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
                "in a home region (second line)",
                "-" if share is None or share != share else f"{100 * share:.1f}%",
            ),
            ("objective", f"{sol.objective:,.0f}"),
            ("gap", "-" if sol.gap is None else f"{100 * sol.gap:.3f}%"),
        ]
    else:
        rows = []
    rows.append(
        (
            "seconds (build / solve / total)",
            f"{sol.timings.get('build_s', 0):.1f} / {sol.timings.get('solve_s', 0):.1f} / "
            f"{run.timings['total_s']:.1f}",
        )
    )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if "robust" in run.tables:
        robust = run.tables["robust"].iloc[0]
        console.print(
            f"robust plan: buffer cost {robust['buffer_cost']:,.0f} EUR against "
            f"{robust['emergency_cost_avoided']:,.0f} EUR expected emergency cost avoided"
        )
    if not sol.diagnosis.empty:
        diag = Table(title="cannot be met")
        for column in sol.diagnosis.columns:
            diag.add_column(column)
        for row in sol.diagnosis.head(20).itertuples(index=False):
            diag.add_row(*(escape(str(v)) for v in row))
        console.print(diag)
    console.print(f"written to {out}")


if __name__ == "__main__":
    app()
