"""The taakstelling and its letters: a national number split over the municipalities by
a quota scheme (``asielplan taakstelling``), and the letters to the municipalities of a
half-year (``asielplan letters``: one per municipality, an overview per province and the
table of every number printed; the rendering is :mod:`.letters`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd

from asielplan.config import RunConfig
from asielplan.data.checks import missing_municipalities
from asielplan.data.instance import Instance, read_standalone_table
from asielplan.data.schemas import PREVIOUS_PERIOD
from asielplan.errors import InputError, Issue
from asielplan.experiments.letters import (
    LetterError,
    LetterSet,
    Renderer,
    letter_rows,
    make_letters,
    parse_period,
)
from asielplan.experiments.runs import (
    InstanceLike,
    check_output,
    instance_inputs,
    instance_path,
    load_instance,
    write_run_tables,
)
from asielplan.io import atomic_output_dir, atomic_write_bytes, write_table
from asielplan.manifest import build_manifest, write_manifest
from asielplan.model.schemes import SchemeError, SchemeResult, compute_scheme
from asielplan.model.taakstelling import peildatum


def taakstelling(
    instance: InstanceLike = None,
    national: int | None = None,
    scheme: str | None = None,
    config: RunConfig | None = None,
    population_date_differs: bool = False,
) -> SchemeResult:
    """Split the national number (default: the instance's, or the scheme's own) over the
    municipalities of ``instance`` by a quota scheme (default: the instance's
    ``[taakstelling].scheme``, the law), plus achterstand; raises :class:`InputError`
    with every reason it cannot. By the law, populations of another date than the
    period's peildatum are refused unless ``population_date_differs``
    (:func:`check_population_date`)."""
    config = config or RunConfig()
    inst = load_instance(instance)
    spec = inst.meta.taakstelling
    name = scheme or (spec.scheme if spec else "population")
    legal = peildatum(inst.meta.period)
    if name == "population" and legal is not None:
        check_population_date(inst, legal, inst.meta.period, population_date_differs)
    try:
        given_as = "--scheme" if scheme is not None else None
        return compute_scheme(inst, name, national, config.schemes, given_as)
    except SchemeError as exc:
        raise InputError(exc.issues, str(inst.root or inst.meta.name)) from None


def scheme_tables(result: SchemeResult) -> dict[str, pd.DataFrame]:
    """The tables of a scheme's numbers: ``taakstelling`` (per municipality), ``basis``
    (rule, period, peildatum, national number and population, rounding, total, and the
    labels of stand-in data) and ``region_totals`` when the scheme has them."""
    basis = result.basis.table().assign(
        scheme=result.name, labels="; ".join(result.labels), source=result.spec.source
    )
    tables = {"taakstelling": result.table, "basis": basis}
    if result.region_totals is not None:
        tables["region_totals"] = result.region_totals
    return tables


def write_taakstelling(
    result: SchemeResult, instance: Instance, config: RunConfig, out: str | Path
) -> Path:
    """Write the scheme's tables (:func:`scheme_tables`) and a manifest, atomically."""
    out = Path(out)
    check_output(out, instance)
    inputs = instance_inputs(instance) if instance.root else {}
    with atomic_output_dir(out) as staging:
        output = config.output
        write_run_tables(staging, scheme_tables(result), output)
        manifest = build_manifest(
            "taakstelling",
            seed=instance.meta.seed,
            config=config.model_dump(mode="json"),
            inputs=inputs,
            extra={
                "national": result.basis.national,
                "scheme": result.name,
                "instance": instance.meta.name,
                "instance_path": instance_path(instance),
            },
        )
        write_manifest(staging, manifest)
    return out


LETTER_SCHEMES = ("population", "spreidingswet")  # the schemes a letter can cite as law


def letters(
    period: str,
    instance: InstanceLike = None,
    national: int | None = None,
    scheme: str | None = None,
    progress: str | Path | None = None,
    template: str | Path | None = None,
    letter_date: date | None = None,
    publication: str | None = None,
    config: RunConfig | None = None,
    population_date_differs: bool = False,
) -> LetterSet:
    """The taakstelling letters of ``period`` (``YYYY-I`` / ``YYYY-II``): one per
    municipality, an overview per province and the table of every number printed. By
    the law (scheme ``population``), or the Spreidingswet's variant for reception places
    (``spreidingswet``); research schemes are refused (a letter cites the law).

    ``progress``: the previous half-year per municipality (taakstelling, placed on the
    check date), whose difference is carried as achterstand (positive) or voorsprong
    (negative); without it the instance's achterstand table. ``template``: a folder of
    templates overriding the shipped ones. ``letter_date``: default 13 weeks before the
    half-year starts. The law takes the populations of the period's peildatum: data of
    another date (``[taakstelling] population_date``) is refused unless
    ``population_date_differs``, and then every letter prints the data's date and says
    that it is not the peildatum. Every problem is an :class:`InputError`."""
    config = config or RunConfig()
    inst = load_instance(instance)
    where = str(inst.root or inst.meta.name)
    try:
        when = parse_period(period)
        renderer = Renderer(Path(template) if template is not None else None)
    except LetterError as exc:
        raise InputError(exc.issues, where) from None
    spec = inst.meta.taakstelling
    name = scheme or "population"
    if name == "population":  # the Spreidingswet's letter names no peildatum
        check_population_date(inst, when.peildatum, period, population_date_differs)
    if name not in LETTER_SCHEMES:
        raise InputError(
            [
                Issue(
                    "--scheme",
                    None,
                    None,
                    "letter scheme",
                    f"letters follow the law ({', '.join(LETTER_SCHEMES)}); {name!r} is a "
                    "research scheme: use asielplan schemes show for its numbers",
                )
            ],
            where,
        )
    read_as: list[Issue] = []
    if progress is not None:
        previous, read_as = read_standalone_table(progress, PREVIOUS_PERIOD)
        inst = _with_previous_period(inst, previous, Path(progress).name)
    try:
        result = compute_scheme(inst, name, national, config.schemes, "--scheme")
    except SchemeError as exc:
        raise InputError(exc.issues, where) from None
    text = publication or (spec.publication if spec and spec.publication else None)
    rows = letter_rows(
        inst,
        result,
        when,
        letter_date=letter_date or when.letter_date,
        publication=text or "bekendgemaakt in de Staatscourant",
    )
    try:
        made = make_letters(inst, result, rows, when, renderer)
    except LetterError as exc:
        raise InputError(exc.issues, where) from None
    made.notes += [f"{issue.file}: {issue.message}" for issue in read_as]
    stated = spec.population_date if spec else None
    if stated is None:
        made.notes.append(
            "the date of municipalities.population is not stated ([taakstelling] "
            "population_date): the letters say so instead of naming a date"
        )
    elif stated != when.peildatum.isoformat() and name == "population":
        made.notes.append(
            f"the population is of {stated}, not of the peildatum "
            f"{when.peildatum.isoformat()} of {period}: every letter says so"
        )
    return made


def check_population_date(inst: Instance, legal: date, period: str, differs: bool) -> None:
    """Refuse populations of another date than the law's peildatum of ``period`` (art.
    29(1): 1 January of the year before), naming both dates, unless ``differs`` (the
    output then says it)."""
    spec = inst.meta.taakstelling
    stated = spec.population_date if spec else None
    if stated is None or stated == legal.isoformat() or differs:
        return
    issue = Issue(
        "instance.toml",
        None,
        "taakstelling.population_date",
        "population on the peildatum",
        f"the population is of {stated}, but the law takes that of {legal.isoformat()} for "
        f"{period} (Huisvestingswet 2014 art. 29(1)); give the population of "
        f"{legal.isoformat()}, or --population-date-differs to print the data's date and "
        "say that it is not the peildatum",
    )
    raise InputError([issue], str(inst.root or inst.meta.name))


def _with_previous_period(inst: Instance, previous: pd.DataFrame, file: str) -> Instance:
    """``inst`` with its achterstand replaced by the previous half-year's taakstelling
    minus what was placed (a voorsprong is negative)."""
    known = set(inst.municipalities["code"])
    unknown = [
        Issue(file, int(i) + 1, "municipality", "unknown municipality", f"{code!r} is not known")
        for i, code in enumerate(previous["municipality"])
        if code not in known
    ]
    unknown += missing_municipalities(inst, previous["municipality"], file)
    if unknown:
        raise InputError(unknown, file)
    achterstand = pd.DataFrame(
        {
            "municipality": previous["municipality"].astype(str),
            "achterstand": (previous["taakstelling"] - previous["placed"]).astype("int64"),
        }
    )
    return replace(inst, achterstand=achterstand)


def write_letters(made: LetterSet, instance: Instance, out: str | Path) -> Path:
    """``municipalities/*.pdf``, ``provinces/*.pdf``, ``letters.csv`` (every number
    printed) and a manifest, atomically."""
    out = Path(out)
    check_output(out, instance)
    with atomic_output_dir(out) as staging:
        for folder, pdfs in (
            ("municipalities", made.municipalities),
            ("provinces", made.provinces),
        ):
            (staging / folder).mkdir()
            for name, pdf in pdfs.items():
                atomic_write_bytes(staging / folder / name, pdf)
        write_table(staging, "letters", made.table, ("csv",))
        inputs = instance_inputs(instance) if instance.root else {}
        manifest = build_manifest(
            "letters",
            seed=instance.meta.seed,
            inputs=inputs,
            extra={
                "letters": len(made.municipalities),
                "overviews": len(made.provinces),
                "notes": made.notes,
            },
        )
        write_manifest(staging, manifest)
    return out
