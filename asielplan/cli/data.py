"""Commands on instances and the taakstelling: ``validate``, ``generate``,
``taakstelling``, ``letters``, ``schemes list`` and ``schemes show``, ``labour fit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from asielplan.errors import ConfigError

if TYPE_CHECKING:
    from asielplan.model.schemes import SchemeResult

from asielplan.cli.common import (
    ConfigOpt,
    InstanceArg,
    NationalOpt,
    PlainTable,
    PopulationDateOpt,
    app,
    console,
    friendly_errors,
    labour_app,
    print_warnings,
    run_config,
    schemes_app,
)


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
