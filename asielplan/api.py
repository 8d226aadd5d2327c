"""The public entry points: check, generate, split the taakstelling, place, plan
reception, and write a run's outputs.

Read, check, prepare, build and solve, read back and write are separate steps
(``data``, ``model``, ``solvers``, ``experiments.results``); this module strings them
together and is the only place that does. The command line (``asielplan.cli``) parses,
calls these and prints.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from asielplan.config import RunConfig
from asielplan.data.instance import (
    Instance,
    attach_table,
    default_instance_path,
    read_instance,
)
from asielplan.data.reception import inflows_of
from asielplan.errors import AsielplanWarning, ConfigError, InputError, Issue
from asielplan.experiments.letters import LetterSet
from asielplan.experiments.plots import plot_occupancy, plot_region_targets
from asielplan.experiments.results.placement import placement_tables
from asielplan.experiments.results.reception import reception_tables
from asielplan.experiments.robust import RobustResult, robust_plan
from asielplan.io import (
    atomic_output_dir,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    json_text,
    write_table,
)
from asielplan.manifest import build_manifest, input_hashes, instance_files, write_manifest
from asielplan.model.checks import check_run
from asielplan.model.placement import PlacementData, prepare_placement
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.model.schemes import SchemeError, SchemeResult, compute_scheme
from asielplan.runspec import Kind, RunSpec
from asielplan.solvers.highs import Progress, solver_problem
from asielplan.solvers.placement import PlacementSolution, solve_placement
from asielplan.solvers.reception import ReceptionSolution, solve_reception
from asielplan.solvers.result import Status

InstanceLike = Instance | str | Path | None


@dataclass
class Run:
    """A finished run: what was run (``spec``), its inputs, the solution (the result
    contract of ``asielplan.solvers.result``) and the output tables. ``timings`` has
    the same keys for every kind of run."""

    spec: RunSpec
    instance: Instance
    data: PlacementData | ReceptionData
    solution: PlacementSolution | ReceptionSolution
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[Issue] = field(default_factory=list)
    robust: RobustResult | None = None

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def config(self) -> RunConfig:
        return self.spec.config


# --------------------------------------------------------------------------- checks


def load_instance(instance: InstanceLike) -> Instance:
    """An instance from a folder (read and checked), as given, or the embedded default."""
    if isinstance(instance, Instance):
        return instance
    return read_instance(default_instance_path() if instance is None else instance)


def with_previous_plan(instance: InstanceLike, previous: str | Path) -> Instance:
    """``instance`` with a previous plan attached (``previous``: a placement run's
    folder, whose households table is read, or a table file with ``household_id`` and
    ``municipality``): a re-solve then pays ``placement.weight_change`` per household it
    places elsewhere and writes the ``changes`` table. The file's hash joins the run id."""
    return attach_table(load_instance(instance), "previous_plan", previous)


def check(inst: Instance, config: RunConfig, kind: Kind) -> list[Issue]:
    """Instance x configuration checks for a run of ``kind``: raises
    :class:`InputError` with every problem, returns the warnings (also emitted as
    :class:`AsielplanWarning`). A solver that is not installed is a
    :class:`ConfigError`."""
    problem = solver_problem(config.solver)
    if problem is not None:
        raise ConfigError(f"configuration: {problem}")
    issues = inst.warnings + check_run(inst, config, kind)
    errors = [issue for issue in issues if not issue.is_warning]
    if errors:
        raise InputError(issues, str(inst.root or inst.meta.name))
    found = [issue for issue in issues if issue.is_warning]
    for issue in found:
        warnings.warn(str(issue), AsielplanWarning, stacklevel=3)
    return found


def validate(instance: InstanceLike = None, config: RunConfig | None = None) -> Instance:
    """Read and check an instance, and check it against ``config`` for every kind of run
    it has data for; raises :class:`InputError` with every problem found."""
    config = config or RunConfig()
    inst = load_instance(instance)
    issues = list(inst.warnings)
    kinds: list[Kind] = []
    if "households" in inst.meta.tables:
        kinds.append("place")
    if inst.cohorts is not None:
        kinds.append("reception")
    for kind in kinds:
        issues += check_run(inst, config, kind)
    if any(not issue.is_warning for issue in issues):
        raise InputError(issues, str(inst.root or inst.meta.name))
    inst.warnings = sorted(set(issues))
    return inst


def check_output(out: str | Path, instance: InstanceLike) -> None:
    """Refuse, before any work, an output folder that cannot or must not be written
    (see :func:`asielplan.io.check_output_dir`); the instance folder is never one."""
    protect: tuple[Path, ...] = ()
    if isinstance(instance, Instance) and instance.root is not None:
        protect = (instance.root,)
    elif isinstance(instance, (str, Path)):
        protect = (Path(instance),)
    check_output_dir(Path(out), protect)


def run_spec(kind: Kind, inst: Instance, config: RunConfig) -> RunSpec:
    """The RunSpec of a run on ``inst``: its id hashes the instance folder's files and
    the tables attached from outside it (``--previous``), or (for an instance made in
    memory) its tables."""
    if inst.root is not None:
        attached = {f"attached:{name}": sha for name, sha in sorted(inst.attached.items())}
        return RunSpec(kind, inst.root, config, {**instance_inputs(inst), **attached})
    return RunSpec(kind, None, config, _table_hashes(inst))


def instance_inputs(inst: Instance) -> dict[str, str]:
    """SHA-256 of every file of an instance: those in its folder and every registered
    table, wherever it lies."""
    assert inst.root is not None
    root = inst.root
    tables = [root / ref.path for ref in inst.meta.tables.values() if (root / ref.path).is_file()]
    return input_hashes(instance_files(root) + tables, root)


def _table_hashes(inst: Instance) -> dict[str, str]:
    import hashlib

    from asielplan.data.schemas import TABLES
    from asielplan.io import csv_bytes

    out = {"instance.toml": hashlib.sha256(json_text(inst.meta.model_dump()).encode()).hexdigest()}
    for name in TABLES:
        frame = inst.table(name)
        if frame is not None:
            out[name] = hashlib.sha256(csv_bytes(frame)).hexdigest()
    return out


# --------------------------------------------------------------------------- runs


def place(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
) -> Run:
    """Place the households of ``instance`` (a folder, an Instance, or the embedded
    default when None) under ``config``."""
    config = config or RunConfig()
    clock = _Timer()
    inst = load_instance(instance)
    clock.lap("read_s")
    found = check(inst, config, "place")
    spec = run_spec("place", inst, config)
    clock.lap("check_s")
    data = prepare_placement(inst, config.placement, config.schemes)
    clock.lap("prepare_s")
    solution = solve_placement(data, config.solver, progress)
    clock.add(solution.timings)
    tables = placement_tables(inst, data, solution, config.output.min_cell)
    clock.lap("report_s")
    return Run(spec, inst, data, solution, tables, clock.done(), found)


def plan_reception(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
) -> Run:
    """Plan reception for ``instance`` (default: the embedded one) under ``config``.

    With ``reception.robust`` the site decisions are made once against every inflow of
    the cohorts table and compared with the plan for ``reception.inflow`` (or the first
    inflow) alone."""
    config = config or RunConfig()
    clock = _Timer()
    inst = load_instance(instance)
    clock.lap("read_s")
    found = check(inst, config, "reception")
    spec = run_spec("reception", inst, config)
    clock.lap("check_s")
    result = None
    if config.reception.robust:
        inflows = inflows_of(inst)
        base = config.reception.inflow or inflows[0]
        clock.lap("prepare_s")
        result = robust_plan(inst, config, base, inflows, progress=progress)
        data, solution = result.data, result.robust
        clock.add(result.timings)  # the three solves; their preparation is in solve_s
        clock.lap("solve_s")
    else:
        data = prepare_reception(inst, config.reception, schemes=config.schemes)
        clock.lap("prepare_s")
        solution = solve_reception(data, config.solver, progress)
        clock.add(solution.timings)
    tables = reception_tables(data, solution)
    if result is not None:
        tables["robust"] = result.comparison
    clock.lap("report_s")
    return Run(spec, inst, data, solution, tables, clock.done(), found, result)


CONTRACT_TABLES = ("kpis", "objective", "duals", "diagnosis")  # every run's own tables


def write_run(run: Run, out: str | Path) -> Path:
    """Write every table, the plots, ``timings.json`` and ``manifest.json`` to ``out``,
    which then holds this run's files only (written atomically: an error leaves the
    previous result as it was). A run without a valid plan (infeasible, or no solution)
    never replaces a valid plan: it is written beside it, to ``OUT-<status>``. Returns
    the folder written."""
    out = Path(out)
    check_output(out, run.instance)
    target = out
    if not run.solution.status.has_solution and holds_valid_plan(out):
        target = out.with_name(f"{out.name}-{run.solution.status.value}")
        check_output(target, run.instance)
    with atomic_output_dir(target) as staging:
        write_run_files(run, staging)
    return target


def holds_valid_plan(folder: Path) -> bool:
    """Whether ``folder`` holds the result of a run that ended with a plan."""
    import json

    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        status = json.loads(manifest.read_text(encoding="utf-8")).get("status")
    except (ValueError, UnicodeDecodeError):
        return False
    return status in ("optimal", "feasible")


def write_run_files(run: Run, folder: Path) -> None:
    """A run's files in ``folder`` (a staging folder: see :func:`write_run`)."""
    inst = run.instance
    folder.mkdir(parents=True, exist_ok=True)
    status = run.solution.status
    for name, table in run.tables.items():
        if name in CONTRACT_TABLES or status.has_solution:
            write_table(folder, name, table, run.config.output.formats)
        elif status == Status.INFEASIBLE:  # the elastic plan: it breaks what cannot be met
            (folder / "elastic").mkdir(exist_ok=True)
            write_table(folder / "elastic", name, table, run.config.output.formats)
    if isinstance(run.data, ReceptionData) and run.solution.status.has_solution:
        label = f"{inst.meta.name}{' (SYNTHETIC)' if inst.meta.synthetic else ''}"
        plot_occupancy(run.data, run.tables, folder / "occupancy.png", label)
        plot_region_targets(run.tables, folder / "regions.png", label)
    atomic_write_text(folder / "timings.json", json_text(run.timings))
    manifest = build_manifest(
        run.kind,
        seed=run.spec.seed,
        config=run.config.model_dump(mode="json"),
        inputs=run.spec.inputs,
        extra={
            "run_id": run.spec.id,
            "instance": inst.meta.name,
            "synthetic": inst.meta.synthetic,
            "status": run.solution.status.value,
            "stop": run.solution.stop,
            "stats": run.solution.stats,
            "warnings": [str(issue) for issue in run.warnings],
        },
    )
    write_manifest(folder, manifest)


class _Timer:
    """Wall-clock laps of a run, with the solver's own split added in."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, key: str) -> None:
        now = time.perf_counter()
        self.timings[key] = self.timings.get(key, 0.0) + now - self.last
        self.last = now

    def add(self, solver: dict[str, float]) -> None:
        """The solver's build, solve and read-back seconds, counted as spent since the
        last lap; the next :meth:`lap` gets the rest, so the keys add up to the total."""
        for key, seconds in solver.items():
            self.timings[key] = self.timings.get(key, 0.0) + seconds
        self.last += sum(solver.values())

    def done(self) -> dict[str, float]:
        self.timings["total_s"] = time.perf_counter() - self.start
        return self.timings


# --------------------------------------------------------------------------- data


@dataclass
class Generated:
    """An instance made by :func:`generate`, and notes on how its data were completed."""

    instance: Instance
    notes: list[str]
    inputs: list[Path]


@dataclass(frozen=True)
class ReceptionParts:
    """What ``generate`` adds for reception planning: sites up to ``sites`` around a
    steady occupancy of ``level`` persons, cohorts of the steady, peak and trough inflows
    over ``periods`` two-week periods."""

    level: float = 50_000.0
    sites: int = 220
    periods: int = 26


def generate(
    *,
    seed: int,
    households: int = 300,
    synthetic: int | None = None,
    cbs_csv: Path | None = None,
    cbs_geometry: Path | None = None,
    indicators: Path | None = None,
    name: str | None = None,
    period: str = "2025-I",
    national: int | None = None,
    reception: ReceptionParts | None = None,
) -> Generated:
    """An instance with seeded synthetic households, on real CBS municipalities
    (``cbs_csv`` with ``cbs_geometry``, optionally the KWB ``indicators``) or on a
    fictional country of ``synthetic`` municipalities (the default's 40 when neither is
    given). With ``reception`` it also gets reception sites and cohorts whose
    high-chance arrivals are headed for the COA regions in proportion to the law's
    taakstelling there."""
    from asielplan.data.cbs import load_cbs_municipalities
    from asielplan.data.generator import (
        DEFAULT_MUNICIPALITIES,
        generate_instance,
        synthetic_municipalities,
    )
    from asielplan.data.reception_generator import add_reception

    if (cbs_csv is None) != (cbs_geometry is None):
        raise ConfigError("--cbs-csv and --cbs-geometry go together")
    notes: list[str] = []
    inputs: list[Path] = []
    if cbs_csv is not None and cbs_geometry is not None:
        cbs = load_cbs_municipalities(cbs_csv, cbs_geometry, indicators)
        inputs = [p for p in (cbs_csv, cbs_geometry, indicators) if p is not None]
        inst = generate_instance(
            cbs.table,
            households,
            seed,
            name=name or "cbs-generated",
            period=period,
            national=national,
            municipality_source="CBS via " + ", ".join(p.name for p in inputs),
        )
        notes += cbs.notes
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
    if reception is not None:
        law = compute_scheme(inst, "population").table
        level = "coa_region"
        weights = law.groupby(inst.municipalities[level].to_numpy())["taakstelling"].sum()
        inst = add_reception(
            inst,
            seed,
            level=reception.level,
            n_sites=reception.sites,
            periods=reception.periods,
            region_level=level,
            destination_weights=weights,
        )
        cohorts = 0 if inst.cohorts is None else len(inst.cohorts)
        notes.append(
            f"reception: {len(inst.sites)} sites and {cohorts} cohorts "
            f"(SYNTHETIC); high-chance arrivals headed for the {level} regions in proportion "
            "to the law's taakstelling there"
        )
    return Generated(inst, notes, inputs)


def write_generated(generated: Generated, out: str | Path, seed: int) -> Path:
    """Write a generated instance with its manifest (seed, inputs), atomically."""
    from asielplan.data.instance import write_instance

    manifest = build_manifest("generate", seed=seed, inputs=input_hashes(generated.inputs))
    return write_instance(generated.instance, out, manifest=manifest)


def taakstelling(
    instance: InstanceLike = None,
    national: int | None = None,
    scheme: str | None = None,
    config: RunConfig | None = None,
) -> SchemeResult:
    """Split the national number (default: the instance's, or the scheme's own) over the
    municipalities of ``instance`` by a quota scheme (default: the instance's
    ``[taakstelling].scheme``, the law), plus achterstand; raises :class:`InputError`
    with every reason it cannot."""
    config = config or RunConfig()
    inst = load_instance(instance)
    spec = inst.meta.taakstelling
    name = scheme or (spec.scheme if spec else "population")
    try:
        return compute_scheme(inst, name, national, config.schemes)
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
        for name, table in scheme_tables(result).items():
            write_table(staging, name, table, config.output.formats)
        manifest = build_manifest(
            "taakstelling",
            seed=instance.meta.seed,
            config=config.model_dump(mode="json"),
            inputs=inputs,
            extra={"national": result.basis.national, "scheme": result.name},
        )
        write_manifest(staging, manifest)
    return out


@dataclass
class SchemeComparison:
    """Placement runs of the same households under several quota schemes, and the
    comparison of :mod:`asielplan.experiments.schemes`."""

    instance: Instance
    config: RunConfig
    runs: dict[str, Run]
    comparison: pd.DataFrame
    targets: pd.DataFrame
    notes: list[str]


def compare_schemes(
    schemes: list[str],
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
) -> SchemeComparison:
    """Place the households of ``instance`` under each scheme's targets (the same
    households, seed and configuration; ``placement.scheme`` set per run) and compare.
    Every scheme is checked before the first run."""
    from asielplan.config import with_overrides
    from asielplan.experiments import schemes as study

    config = config or RunConfig()
    say = progress or (lambda message: None)
    inst = load_instance(instance)
    configs = {
        name: with_overrides(config, {"placement.scheme": name}, f"scheme {name}")
        for name in schemes
    }
    issues = [issue for name in schemes for issue in check_run(inst, configs[name], "place")]
    if any(not issue.is_warning for issue in issues):
        raise InputError(issues, str(inst.root or inst.meta.name))
    runs: dict[str, Run] = {}
    for number, name in enumerate(schemes, start=1):
        say(f"scheme {number}/{len(schemes)}: {name}")
        runs[name] = place(inst, configs[name], progress)
    results = {name: _scheme_of(run) for name, run in runs.items()}
    solutions = {name: _placement_solution(run) for name, run in runs.items()}
    metrics = {
        name: study.scheme_metrics(
            inst, results[name], solutions[name], run.tables, config.output.min_cell
        )
        for name, run in runs.items()
    }
    comparison = study.comparison_table(metrics, solutions)
    notes = study.noise_notes(comparison)
    notes += [label for result in results.values() for label in result.labels]
    return SchemeComparison(
        inst, config, runs, comparison, study.targets_table(results), list(dict.fromkeys(notes))
    )


def write_comparison(comparison: SchemeComparison, out: str | Path) -> Path:
    """``comparison`` and ``targets`` (CSV/Parquet), ``metrics.png``, ``targets.png``,
    ``notes.txt``, a manifest, and each scheme's run in its own folder, atomically."""
    from asielplan.experiments import schemes as study

    out = Path(out)
    check_output(out, comparison.instance)
    formats = comparison.config.output.formats
    names = list(comparison.runs)
    with atomic_output_dir(out) as staging:
        write_table(staging, "comparison", comparison.comparison, formats)
        write_table(staging, "targets", comparison.targets, formats)
        title = comparison.instance.meta.name
        study.plot_metrics(comparison.comparison, staging / "metrics.png", title)
        study.plot_targets(comparison.targets, names, staging / "targets.png", title)
        atomic_write_text(staging / "notes.txt", "".join(f"{n}\n" for n in comparison.notes))
        for name, run in comparison.runs.items():
            write_run_files(run, staging / name)
        manifest = build_manifest(
            "schemes compare",
            seed=comparison.config.solver.seed,
            config=comparison.config.model_dump(mode="json"),
            inputs=next(iter(comparison.runs.values())).spec.inputs,
            extra={"schemes": names, "run_ids": {n: r.spec.id for n, r in comparison.runs.items()}},
        )
        write_manifest(staging, manifest)
    return out


def _scheme_of(run: Run) -> SchemeResult:
    assert isinstance(run.data, PlacementData) and run.data.scheme is not None
    return run.data.scheme


def _placement_solution(run: Run) -> PlacementSolution:
    assert isinstance(run.solution, PlacementSolution)
    return run.solution


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
) -> LetterSet:
    """The taakstelling letters of ``period`` (``YYYY-I`` / ``YYYY-II``): one per
    municipality, an overview per province and the table of every number printed. By
    the law (scheme ``population``), or the Spreidingswet's variant for reception places
    (``spreidingswet``); research schemes are refused (a letter cites the law).

    ``progress``: the previous half-year per municipality (taakstelling, placed on the
    check date), whose difference is carried as achterstand (positive) or voorsprong
    (negative); without it the instance's achterstand table. ``template``: a folder of
    templates overriding the shipped ones. ``letter_date``: default 13 weeks before the
    half-year starts. Every problem is an :class:`InputError`."""
    from asielplan.data.instance import read_standalone_table
    from asielplan.data.schemas import PREVIOUS_PERIOD
    from asielplan.experiments.letters import (
        LetterError,
        Renderer,
        letter_rows,
        make_letters,
        parse_period,
    )

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
    if progress is not None:
        previous = read_standalone_table(progress, PREVIOUS_PERIOD)
        inst = _with_previous_period(inst, previous, Path(progress).name)
    try:
        result = compute_scheme(inst, name, national, config.schemes)
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
    stated = spec.population_date if spec else None
    if stated is None:
        made.notes.append(
            f"the date of municipalities.population is not stated ([taakstelling] "
            f"population_date); the letters print it as the population on "
            f"{when.peildatum.isoformat()}"
        )
    elif stated != when.peildatum.isoformat():
        made.notes.append(
            f"the population is of {stated}, but the law takes {when.peildatum.isoformat()} "
            f"for {period}"
        )
    return made


def _with_previous_period(inst: Instance, previous: pd.DataFrame, file: str) -> Instance:
    """``inst`` with its achterstand replaced by the previous half-year's taakstelling
    minus what was placed (a voorsprong is negative)."""
    from dataclasses import replace

    known = set(inst.municipalities["code"])
    unknown = [
        Issue(file, int(i) + 1, "municipality", "unknown municipality", f"{code!r} is not known")
        for i, code in enumerate(previous["municipality"])
        if code not in known
    ]
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


def summary_of(inst: Instance) -> dict[str, Any]:
    """What an instance holds, for ``asielplan validate``."""
    out: dict[str, Any] = {
        "name": inst.meta.name,
        "period": inst.meta.period,
        "municipalities": len(inst.municipalities),
        "sites": len(inst.sites),
        "synthetic": inst.meta.synthetic,
    }
    if "households" in inst.meta.tables:
        out["households"] = len(inst.households)
        out["persons"] = int(inst.households["persons"].sum())
    if inst.cohorts is not None and inst.meta.reception is not None:
        out["cohorts"] = len(inst.cohorts)
        out["periods"] = inst.meta.reception.periods
        out["inflows"] = inflows_of(inst)
    return out


# --------------------------------------------------------------------------- explanations


@dataclass
class MunicipalityExplanation:
    """Who a placement run placed in one municipality, and who almost went there: the
    households whose next-best municipality it is, closest first."""

    code: str
    placed: pd.DataFrame
    almost: pd.DataFrame


def read_explanations(run_dir: str | Path) -> pd.DataFrame:
    """The ``explanations`` table of a placement run folder."""
    folder = Path(run_dir)
    for name in ("explanations.parquet", "explanations.csv"):
        if (folder / name).is_file():
            if name.endswith(".parquet"):
                return pd.read_parquet(folder / name)
            return pd.read_csv(folder / name, dtype={"household_id": str})
    issue = Issue(
        str(folder),
        None,
        None,
        "placement run",
        "has no explanations table (a placement run with a plan writes one)",
    )
    raise InputError([issue], str(folder))


def explain_household(run_dir: str | Path, household: str) -> dict[str, Any]:
    """The explanation of one household of a placement run."""
    table = read_explanations(run_dir)
    found = table[table["household_id"].astype(str) == household]
    if found.empty:
        issue = Issue(
            "explanations",
            None,
            "household_id",
            "known household",
            f"{household!r} is not a household of this run",
        )
        raise InputError([issue], str(run_dir))
    return {str(k): v for k, v in found.iloc[0].items()}


def explain_municipality(
    run_dir: str | Path, code: str, almost: int = 10
) -> MunicipalityExplanation:
    """Who was placed in municipality ``code`` and the ``almost`` households for whom it
    was the next best (the smallest loss first)."""
    table = read_explanations(run_dir)
    known = set(table["municipality"].dropna()) | set(table["top_scoring"].dropna())
    known |= set(table["next_best"].dropna())
    if code not in known:
        issue = Issue(
            "explanations",
            None,
            "municipality",
            "known municipality",
            f"{code!r} appears nowhere in this run's explanations",
        )
        raise InputError([issue], str(run_dir))
    columns = ["household_id", "score", "value", "next_best", "next_best_delta"]
    placed = table.loc[table["municipality"] == code, columns].sort_values("household_id")
    near = table.loc[
        (table["next_best"] == code) & (table["municipality"] != code),
        ["household_id", "municipality", "score", "next_best_delta"],
    ]
    near = near.sort_values(["next_best_delta", "household_id"], ascending=[False, True])
    return MunicipalityExplanation(
        code, placed.reset_index(drop=True), near.head(almost).reset_index(drop=True)
    )
