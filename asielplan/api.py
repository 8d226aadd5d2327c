"""The public entry points: check, generate, split the taakstelling, place, plan
reception, and write a run's outputs.

Read, check, prepare, build and solve, read back and write are separate steps
(``data``, ``model``, ``solvers``, ``experiments.results``); this module strings them
together and is the only place that does. The command line (``asielplan.cli``) parses,
calls these and prints.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.config import OutputConfig, RunConfig, check_count, check_priced, weekly_config
from asielplan.data.chain import chain_input
from asielplan.data.instance import (
    Instance,
    attach_table,
    default_instance_path,
    read_instance,
)
from asielplan.data.reception import inflows_of
from asielplan.errors import AsielplanWarning, ConfigError, InputError, Issue
from asielplan.experiments import fronts
from asielplan.experiments.labour_card import LabourFitStudy as LabourFitStudy
from asielplan.experiments.labour_card import fit_labour as fit_labour
from asielplan.experiments.labour_card import write_labour_fit as write_labour_fit
from asielplan.experiments.letters import LetterSet
from asielplan.experiments.plots import plot_chain, plot_occupancy, plot_region_targets
from asielplan.experiments.results.chain import chain_tables
from asielplan.experiments.results.placement import pace_table, placement_tables, price_table
from asielplan.experiments.results.reception import reception_tables
from asielplan.experiments.robust import RobustResult, robust_plan
from asielplan.experiments.simulate import (
    POLICIES,
    Simulation,
    plot_balance,
    plot_shares,
    with_arrivals,
)
from asielplan.experiments.simulate import simulate as run_simulation
from asielplan.io import (
    atomic_output_dir,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    csv_bytes,
    json_text,
    safe_names,
    write_table,
    write_tables,
)
from asielplan.manifest import (
    TIMINGS,
    TRACE,
    build_manifest,
    input_hashes,
    instance_files,
    write_manifest,
)
from asielplan.model.chain import ChainData, prepare_chain
from asielplan.model.checks import Problem, check_run
from asielplan.model.placement import (
    PlacementData,
    bounded_quantities,
    placed_so_far,
    prepare_placement,
)
from asielplan.model.reception import COST_PARTS, ReceptionData, prepare_reception
from asielplan.model.reception import bounded_values as reception_bounded_values
from asielplan.model.schemes import SchemeError, SchemeResult, check_scheme, compute_scheme
from asielplan.model.taakstelling import peildatum
from asielplan.runspec import Kind, RunSpec
from asielplan.solvers.chain import ChainSolution, solve_chain
from asielplan.solvers.highs import Progress, solver_problem
from asielplan.solvers.placement import PlacementSolution, solve_placement
from asielplan.solvers.prices import HouseholdFutures, look_ahead
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
    data: PlacementData | ReceptionData | ChainData
    solution: PlacementSolution | ReceptionSolution | ChainSolution
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
    return with_table(instance, "previous_plan", previous)


def with_table(instance: InstanceLike, name: str, path: str | Path) -> Instance:
    """``instance`` with table ``name`` (e.g. ``progress``) read from the file ``path``
    and checked with it; the file's hash joins the run id."""
    return attach_table(load_instance(instance), name, path)


def check(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
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
    kinds: list[Problem] = []
    if "households" in inst.meta.tables:
        kinds.append("place")
    if inst.cohorts is not None:
        kinds.append("reception")
    if inst.forecast is not None:
        kinds.append("chain")
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
    return RunSpec(kind, inst.root, config, spec_inputs(inst))


def spec_inputs(inst: Instance) -> dict[str, str]:
    """What a run id hashes of its instance: the folder's files and the tables attached
    from outside it (``--previous``, a batch's household draw), or (for an instance made
    in memory) its tables."""
    if inst.root is not None:
        attached = {f"attached:{name}": sha for name, sha in sorted(inst.attached.items())}
        return {**instance_inputs(inst), **attached}
    return _table_hashes(inst)


def instance_inputs(inst: Instance) -> dict[str, str]:
    """SHA-256 of every file of an instance: those in its folder and every registered
    table, wherever it lies."""
    assert inst.root is not None
    root = inst.root
    tables = [root / ref.path for ref in inst.meta.tables.values() if (root / ref.path).is_file()]
    return input_hashes(instance_files(root) + tables, root)


def _instance_path(inst: Instance) -> str | None:
    """Where the instance's folder is (for the report's maps); None when made in memory."""
    return str(inst.root.resolve()) if inst.root is not None else None


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
    start: np.ndarray | None = None,
) -> Run:
    """Place the households of ``instance`` (a folder, an Instance, or the embedded
    default when None) under ``config``; ``start`` (a municipality index per household,
    -1 unplaced) is offered to the solver as a first incumbent."""
    config = config or RunConfig()
    clock = _Timer()
    inst = load_instance(instance)
    clock.lap("read_s")
    found = check(inst, config, "place")
    spec = run_spec("place", inst, config)
    clock.lap("check_s")
    data = prepare_placement(inst, config)
    clock.lap("prepare_s")
    solution = solve_placement(data, config.solver, progress, start)
    clock.add(solution.timings)
    tables = placement_tables(inst, data, solution, config.output.min_cell)
    clock.lap("report_s")
    return Run(spec, inst, data, solution, tables, clock.done(), found)


def weekly(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    arrivals: InstanceLike | str | Path = None,
    progress: Progress | None = None,
) -> Run:
    """Place this week's batch (the households of ``instance``) against the remaining
    half-year taakstelling, looking ahead (docs/weekly.md): under the ``prices`` and
    ``balanced`` policies every household's value is reduced by its persons times its
    municipality's price, the smallest optimal dual of the remaining taakstelling in
    the LP of ``config.weekly.futures`` sampled futures (households drawn from
    ``arrivals``, an instance folder of recent arrivals, else from this batch), averaged.

    The instance must hold its progress (persons housed so far this period, the
    ``progress`` table); without it the run is refused, as the full taakstelling would
    silently stand in for what is left. Adds the ``prices`` table to the run's tables.
    """
    config = config or RunConfig()
    inst = load_instance(instance)
    if inst.progress is None:
        raise ConfigError(
            "a weekly batch needs the progress of the half-year (persons housed so far per "
            "municipality: the progress table, or --progress FILE); without it the full "
            "taakstelling would stand in for what is left"
        )
    if inst.meta.taakstelling is None:
        raise ConfigError("a weekly batch needs a taakstelling ([taakstelling] in instance.toml)")
    cfg = weekly_config(config)
    check_priced(cfg, (cfg.weekly.policy,))
    clock = _Timer()
    found = check(inst, cfg, "place")
    spec = run_spec("weekly", inst, cfg)
    clock.lap("check_s")
    data = prepare_placement(inst, cfg)
    clock.lap("prepare_s")
    # checked above: a taakstelling and a progress table, so the targets are what is
    # left of the period's taakstelling (the scheme's)
    assert data.scheme is not None
    period = data.scheme.table["taakstelling"].to_numpy(dtype=np.int64)
    futures, pool = None, np.zeros(0, dtype=np.int64)
    if cfg.weekly.policy != "greedy":
        households = _arrival_pool(inst, arrivals, cfg)
        futures, pool = HouseholdFutures(households, cfg.solver), np.arange(households.n_households)
        if progress is not None:
            progress(f"pricing places over {cfg.weekly.futures} futures")
    data, prices = look_ahead(
        data, futures, pool, period, placed_so_far(inst), cfg.weekly, cfg.weekly.seed
    )
    clock.lap("prices_s")
    solution = solve_placement(data, cfg.solver, progress)
    clock.add(solution.timings)
    tables = placement_tables(inst, data, solution, cfg.output.min_cell)
    tables["pace"] = pace_table(data, period, placed_so_far(inst), solution)
    if prices is not None:
        tables["prices"] = price_table(data, prices, solution)
        solution.stats["futures"] = cfg.weekly.futures
        solution.stats["future_persons"] = prices.future_persons
    clock.lap("report_s")
    return Run(spec, inst, data, solution, tables, clock.done(), found)


def _arrival_pool(
    inst: Instance, arrivals: InstanceLike | str | Path, cfg: RunConfig
) -> PlacementData:
    """The households futures are drawn from: the recent arrivals (an instance folder's
    households, members and scores or predictions, checked against this instance's
    municipalities and sites), or this batch when none are given; without this batch's
    locks and pair tables, which are about these households only."""
    source = inst if arrivals is None else load_instance(arrivals)
    pool = replace(
        inst,
        households=source.households,
        members=source.members,
        scores=source.scores,
        predictions=source.predictions,
        locks=None,
        allowed=None,
        forbidden=None,
        previous_plan=None,
    )
    check(pool, cfg, "place")
    remaining = cfg.placement.model_copy(update={"targets": "remaining"})
    return prepare_placement(pool, cfg, remaining)


@dataclass
class SimulationStudy:
    """A simulation of weekly placement (``asielplan simulate``) and what it ran on."""

    instance: Instance
    config: RunConfig
    weeks: int
    seeds: list[int]
    policies: tuple[str, ...]
    result: Simulation
    arrivals: Instance | None = None
    workers: int = 1


def simulate(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    weeks: int = 26,
    seeds: int = 20,
    policies: tuple[str, ...] = ("greedy", "prices", "hindsight"),
    arrivals: InstanceLike | str | Path = None,
    progress: Progress | None = None,
    workers: int = 1,
    on_seed: Callable[[int, int], None] | None = None,
) -> SimulationStudy:
    """Simulate weekly placement over a half-year of ``weeks`` weeks for seeds 1 ..
    ``seeds`` and compare ``policies`` (greedy, prices, balanced, hindsight) with the
    hindsight optimum (asielplan.experiments.simulate, docs/weekly.md). Arrivals are
    generated from each seed on the instance's municipalities and sites until their
    persons reach the national taakstelling, or are the households of ``arrivals`` (an
    instance folder), split into weeks in a seeded order. ``workers`` > 1 runs each seed
    under each policy as its own task in that many processes, each solve on one thread
    (``solver.threads`` = 1);
    ``on_seed(done, total)`` is called as each seed ends."""
    config = config or RunConfig()
    inst = load_instance(instance)
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ConfigError(
            f"policies: {', '.join(unknown) or 'none given'}; choose from {', '.join(POLICIES)}"
        )
    if "hindsight" not in policies:
        policies = (*policies, "hindsight")
    if weeks < 1 or seeds < 1:
        raise ConfigError("--weeks and --seeds must be at least 1")
    check_count(weeks * seeds * len(policies), f"--weeks {weeks} --seeds {seeds:,}", config.limits)
    if inst.meta.taakstelling is None:
        raise ConfigError("a simulation needs a taakstelling ([taakstelling] in instance.toml)")
    cfg = config.model_copy(
        update={"placement": config.placement.model_copy(update={"targets": "taakstelling"})}
    )
    if workers > 1:
        cfg = cfg.model_copy(update={"solver": cfg.solver.model_copy(update={"threads": 1})})
    check_priced(cfg, policies)
    check(inst, cfg, "place")
    if cfg.placement.region_bands or cfg.placement.group_floors or cfg.placement.part_bounds:
        raise ConfigError(
            "a simulation places weekly batches without region bands, group floors or part "
            "bounds; remove them from the configuration"
        )
    past = load_instance(arrivals) if arrivals is not None else None
    if past is None and inst.sites.empty:
        raise ConfigError(
            "a simulation generates arrivals at the instance's reception sites and it has "
            "none: give the half-year's arrivals with --arrivals"
        )
    if past is not None:
        check(with_arrivals(inst, past, past.households, past.members), cfg, "place")
    numbers = list(range(1, seeds + 1))
    result = run_simulation(inst, cfg, weeks, numbers, policies, past, progress, workers, on_seed)
    return SimulationStudy(inst, cfg, weeks, numbers, policies, result, past, workers)


def write_simulation(study: SimulationStudy, out: str | Path) -> Path:
    """``runs``, ``summary`` and ``balance`` (CSV/Parquet), ``shares.png``,
    ``balance.png`` and a manifest, atomically."""
    out = Path(out)
    check_output(out, study.instance)
    title = study.instance.meta.name
    result = study.result
    tables = {"runs": result.runs, "summary": result.summary, "balance": result.balance}
    with atomic_output_dir(out) as staging:
        write_run_tables(staging, tables, study.config.output)
        plot_shares(result.runs, staging / "shares.png", title)
        plot_balance(result.balance, staging / "balance.png", title)
        inputs = instance_inputs(study.instance)
        if study.arrivals is not None:
            inputs |= {f"arrivals/{k}": v for k, v in instance_inputs(study.arrivals).items()}
        options = {"weeks": study.weeks, "seeds": study.seeds, "policies": list(study.policies)}
        spec = RunSpec("simulate", study.instance.root, study.config, inputs, options)
        manifest = build_manifest(
            "simulate",
            seed=study.config.weekly.seed,
            config=study.config.model_dump(mode="json"),
            inputs=inputs,
            extra={
                "run_id": spec.id,
                "weeks": study.weeks,
                "seeds": study.seeds,
                "policies": list(study.policies),
                "workers": study.workers,
                "instance": study.instance.meta.name,
                "instance_path": _instance_path(study.instance),
            },
        )
        write_manifest(staging, manifest)
    return out


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


def plan_chain(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
) -> Run:
    """Plan the chain for ``instance`` (default: the embedded one) under ``config``:
    arrivals, decisions, status holders waiting and housed, reception places over the
    forecast's periods (``[chain]``: one inflow, or with ``chain.robust`` every one)."""
    config = config or RunConfig()
    clock = _Timer()
    inst = load_instance(instance)
    clock.lap("read_s")
    found = check(inst, config, "chain")
    spec = run_spec("chain", inst, config)
    clock.lap("check_s")
    data = prepare_chain(chain_input(inst), config.chain)
    clock.lap("prepare_s")
    solution = solve_chain(data, config.solver, progress)
    clock.add(solution.timings)
    tables = chain_tables(data, solution)
    clock.lap("report_s")
    return Run(spec, inst, data, solution, tables, clock.done(), found)


CONTRACT_TABLES = ("kpis", "objective", "duals", "diagnosis", "stages")  # every run's own tables


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


def write_run_tables(folder: Path, tables: dict[str, pd.DataFrame], output: OutputConfig) -> None:
    """Tables of a run or study in ``output``'s formats and CSV dialect; a workbook shows
    the columns declared a share (docs/output-dictionary.md) as percentages."""
    from asielplan.experiments.outputs import share_columns

    percent = share_columns({name: list(frame.columns) for name, frame in tables.items()})
    write_tables(folder, tables, output.formats, output.csv_dialect, percent)


def write_run_files(run: Run, folder: Path) -> None:
    """A run's files in ``folder`` (a staging folder: see :func:`write_run`)."""
    inst = run.instance
    folder.mkdir(parents=True, exist_ok=True)
    status = run.solution.status
    output = run.config.output
    kept = {n: t for n, t in run.tables.items() if n in CONTRACT_TABLES or status.has_solution}
    write_run_tables(folder, kept, output)
    if not status.has_solution and status == Status.INFEASIBLE:
        # the elastic plan: it breaks what cannot be met
        elastic = {n: t for n, t in run.tables.items() if n not in kept}
        (folder / "elastic").mkdir(exist_ok=True)
        write_run_tables(folder / "elastic", elastic, output)
    if isinstance(run.data, ReceptionData) and run.solution.status.has_solution:
        label = f"{inst.meta.name}{' (SYNTHETIC)' if inst.meta.synthetic else ''}"
        plot_occupancy(run.data, run.tables, folder / "occupancy.png", label)
        plot_region_targets(run.tables, folder / "regions.png", label)
    if isinstance(run.data, ChainData) and run.solution.status.has_solution:
        label = f"{inst.meta.name}{' (SYNTHETIC)' if inst.meta.synthetic else ''}"
        plot_chain(run.tables, folder / "chain.png", label)
    atomic_write_text(folder / TIMINGS, json_text(run.timings))
    trace = getattr(run.solution, "trace", None)
    if trace is not None and len(trace):  # a clock record, like the timings: not hashed
        atomic_write_bytes(folder / TRACE, csv_bytes(trace))
    manifest = build_manifest(
        run.kind,
        seed=run.spec.seed,
        config=run.config.model_dump(mode="json"),
        inputs=run.spec.inputs,
        extra={
            "run_id": run.spec.id,
            "instance": inst.meta.name,
            "instance_path": _instance_path(inst),
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
        synthetic_shapes,
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
            geometry=cbs.shapes,
            population_date=cbs.population_date,
        )
        notes += cbs.notes
    else:
        n_muni = synthetic or DEFAULT_MUNICIPALITIES
        municipalities = synthetic_municipalities(n_muni, seed)
        inst = generate_instance(
            municipalities,
            households,
            seed,
            name=name or f"synthetic-{n_muni}",
            period=period,
            national=national,
            geometry=synthetic_shapes(municipalities),
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


def write_history(
    generated: Generated, out: str | Path, adults: int, seed: int
) -> tuple[Path, pd.DataFrame]:
    """A synthetic history of ``adults`` adults on the generated instance's
    municipalities, outcomes drawn from the built-in labour model: ``history.csv``, the
    model's coefficients beside it (``history.truth.csv``) and a manifest, atomically
    (docs/labour.md)."""
    from asielplan.experiments.labour_card import truth_path
    from asielplan.io import atomic_output_dir, atomic_write_bytes, csv_bytes
    from asielplan.model.labour_fit import synthetic_history

    out = Path(out)
    check_output(out, None)
    try:
        history, truth = synthetic_history(generated.instance.municipalities, adults, seed)
    except ValueError as error:
        raise ConfigError(f"--history: {error}") from None
    with atomic_output_dir(out) as staging:
        atomic_write_bytes(staging / "history.csv", csv_bytes(history))
        atomic_write_bytes(truth_path(staging / "history.csv"), csv_bytes(truth))
        manifest = build_manifest(
            "generate",
            seed=seed,
            inputs=input_hashes(generated.inputs),
            extra={"history_adults": adults, "synthetic": True},
        )
        write_manifest(staging, manifest)
    return out, history


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
                "instance_path": _instance_path(instance),
            },
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
    noise_run_ids: dict[str, list[str]] = field(default_factory=dict)


def compare_schemes(
    schemes: list[str],
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
    noise_seeds: int = 0,
) -> SchemeComparison:
    """Place the households of ``instance`` under each scheme's targets (the same
    households, seed and configuration; ``placement.scheme`` set per run) and compare.
    Every scheme is checked before the first run. ``noise_seeds``: re-solves of each
    scheme with the solver seeds after the configured one, whose spread certifies (or
    not) the differences of the plan metrics (docs/schemes.md)."""
    from asielplan.config import with_overrides
    from asielplan.experiments import schemes as study

    config = config or RunConfig()
    say = progress or (lambda message: None)
    inst = load_instance(instance)
    unknown = [  # named by the option, before the checks of each scheme's run
        issue
        for name in schemes
        for issue in check_scheme(inst, name, config.schemes, "--schemes")
        if issue.rule == "known scheme"
    ]
    if unknown:
        raise InputError(unknown, str(inst.root or inst.meta.name))
    if noise_seeds < 0:
        raise ConfigError(f"--noise-seeds {noise_seeds}: a number of re-solves, 0 or more")
    check_count(
        len(schemes) * (1 + noise_seeds),
        f"--schemes ({len(schemes)}) x (1 + --noise-seeds {noise_seeds})",
        config.limits,
    )
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
        name: study.scheme_metrics(results[name], solutions[name], run.tables)
        for name, run in runs.items()
    }
    spread: dict[str, list[dict[str, float]]] = {name: [] for name in schemes}
    noise_ids: dict[str, list[str]] = {name: [] for name in schemes}
    for name in schemes:
        for k in range(1, noise_seeds + 1):
            seed = config.solver.seed + k
            say(f"scheme {name}: re-solve {k}/{noise_seeds} (solver seed {seed})")
            again = with_overrides(configs[name], {"solver.seed": seed}, f"scheme {name}")
            rerun = place(inst, again, progress)
            noise_ids[name].append(rerun.spec.id)
            spread[name].append(
                study.scheme_metrics(results[name], _placement_solution(rerun), rerun.tables)
            )
    comparison = study.comparison_table(metrics, solutions, spread)
    notes = study.noise_notes(comparison, noise_seeds)
    notes += [label for result in results.values() for label in result.labels]
    return SchemeComparison(
        inst,
        config,
        runs,
        comparison,
        study.targets_table(results),
        list(dict.fromkeys(notes)),
        noise_ids,
    )


def write_comparison(comparison: SchemeComparison, out: str | Path) -> Path:
    """``comparison`` and ``targets`` (CSV/Parquet), ``metrics.png``, ``targets.png``,
    ``notes.txt``, a manifest, and each scheme's run in its own folder under ``runs/``
    (named by :func:`~asielplan.io.safe_names`: a scheme's name is never a path; the
    manifest's ``run_folders`` maps each scheme to its folder), atomically."""
    from asielplan.experiments import schemes as study

    out = Path(out)
    check_output(out, comparison.instance)
    names = list(comparison.runs)
    folders = {name: f"runs/{safe}" for name, safe in safe_names(names).items()}
    with atomic_output_dir(out) as staging:
        tables = {"comparison": comparison.comparison, "targets": comparison.targets}
        write_run_tables(staging, tables, comparison.config.output)
        title = comparison.instance.meta.name
        study.plot_metrics(comparison.comparison, staging / "metrics.png", title)
        study.plot_targets(comparison.targets, names, staging / "targets.png", title)
        atomic_write_text(staging / "notes.txt", "".join(f"{n}\n" for n in comparison.notes))
        for name, run in comparison.runs.items():
            write_run_files(run, staging / folders[name])
        manifest = build_manifest(
            "schemes compare",
            seed=comparison.config.solver.seed,
            config=comparison.config.model_dump(mode="json"),
            inputs=next(iter(comparison.runs.values())).spec.inputs,
            extra={
                "schemes": names,
                "run_ids": {n: r.spec.id for n, r in comparison.runs.items()},
                "noise_run_ids": comparison.noise_run_ids,
                "run_folders": folders,
                "instance": title,
                "instance_path": _instance_path(comparison.instance),
            },
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
    from dataclasses import replace

    from asielplan.data.checks import missing_municipalities

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
    # its name and numbers: the run's target and persons placed; for a weekly batch its
    # taakstelling, housed before the batch, this batch and what remains after it
    facts: dict[str, Any]


def read_explanations(run_dir: str | Path) -> pd.DataFrame:
    """The ``explanations`` table of a placement run folder."""
    from asielplan.experiments.results.folder import RunFolder

    run = RunFolder.open(run_dir)
    table = run.table("explanations")
    if table is None:
        issue = Issue(
            str(run_dir),
            None,
            None,
            "placement run",
            "has no explanations table (a placement run with a plan writes one)",
        )
        raise InputError([issue], str(run_dir))
    return table


def report(
    run_dir: str | Path, out: str | Path | None = None, instance: str | Path | None = None
) -> Path:
    """Write the HTML report of the run in ``run_dir`` (:mod:`asielplan.experiments.report`)
    to ``out`` (default ``RUN_DIR/report.html``), atomically; ``instance``: where the
    run's instance is now, when it has moved. Returns the file written."""
    from asielplan.experiments.report import REPORT_FILE, build_report

    target = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {target}: a report is an .html file")
    if target.is_dir():
        raise ConfigError(f"--out {target} is a folder; give a file name ending in .html")
    try:
        html = build_report(run_dir, instance)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError) as exc:
        # a run folder edited by hand, or written by another version: said, not a traceback
        issue = Issue(
            str(run_dir), None, None, "readable run folder", f"{type(exc).__name__}: {exc}"
        )
        raise InputError([issue], str(run_dir)) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, html)
    return target


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
    from asielplan.experiments.results.folder import RunFolder

    folder = RunFolder.open(run_dir)
    municipalities = folder.table("municipalities")
    names: dict[str, str] = {}
    facts: dict[str, Any] = {}
    if municipalities is not None:
        names = dict(zip(municipalities["municipality"], municipalities["name"], strict=True))
        row = municipalities.set_index("municipality").loc[code].to_dict()
        facts = {"name": names.get(code, ""), "target": row["target"]}
        facts["placed_persons"] = row["placed_persons"]
    pace = folder.table("pace")
    if pace is not None:
        week = pace.set_index("municipality").loc[code].to_dict()
        facts.update(
            taakstelling=int(week["taakstelling"]),
            placed_before=int(week["placed_before"]),
            this_batch=int(week["batch_persons"]),
            remaining=max(int(week["taakstelling"]) - int(week["placed_after"]), 0),
        )
    columns = ["household_id", "score", "value", "next_best", "next_best_delta"]
    placed = table.loc[table["municipality"] == code, columns].sort_values("household_id")
    placed.insert(4, "next_best_name", placed["next_best"].map(names))
    near = table.loc[
        (table["next_best"] == code) & (table["municipality"] != code),
        ["household_id", "municipality", "score", "next_best_delta"],
    ]
    near.insert(2, "municipality_name", near["municipality"].map(names))
    near = near.sort_values(["next_best_delta", "household_id"], ascending=[False, True])
    return MunicipalityExplanation(
        code, placed.reset_index(drop=True), near.head(almost).reset_index(drop=True), facts
    )


# --------------------------------------------------------------------------- trade-offs


@dataclass
class Front:
    """An epsilon-constraint front: ``points`` (one row per run: its role, the grid's
    bounds, the axes' values, status, gap, run id, whether it is on the front and the
    knee), ``parts`` (tidy: point x part quantity), the runs by point, and the default
    run (the configuration as given) for comparison."""

    instance: Instance
    config: RunConfig
    axes: list[fronts.Axis]
    points: pd.DataFrame
    parts: pd.DataFrame
    runs: dict[int, Run]
    default: Run

    @property
    def front(self) -> pd.DataFrame:
        return fronts.front_table(self.points, self.parts)


def _quantities(run: Run) -> dict[str, float]:
    """The boundable quantities of a run's plan (empty without a plan)."""
    if not run.solution.status.has_solution:
        return {}
    if isinstance(run.solution, ReceptionSolution):
        values = {name: part.quantity for name, part in run.solution.objective_parts.items()}
        return {**values, **reception_bounded_values(run.solution.objective_parts)}
    assert isinstance(run.data, PlacementData)
    return bounded_quantities(run.data, _placement_solution(run).assignment)


def _checked_all(inst: Instance, configs: list[RunConfig], kind: Problem = "place") -> None:
    """Every configuration of a study checked before its first run (all problems at once)."""
    issues = [issue for cfg in configs for issue in check_run(inst, cfg, kind)]
    if any(not issue.is_warning for issue in issues):
        raise InputError(list(dict.fromkeys(issues)), str(inst.root or inst.meta.name))


def front(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    axes: str = "labour,distance",
    points: int = 9,
    progress: Progress | None = None,
    problem: fronts.Problem = "placement",
) -> Front:
    """The trade-off front of the placement or the reception plan over ``axes`` (the
    first optimised, the others bounded on a grid of about ``points`` values between
    their ideal and nadir); each placement grid run starts from the best earlier plan
    that meets its bounds. See docs/tradeoffs.md."""
    from asielplan.config import with_overrides

    config = config or RunConfig()
    say = progress or (lambda message: None)
    try:
        chosen = fronts.parse_axes(axes, problem)
    except ValueError as error:
        raise ConfigError(f"--axes: {error}") from None
    if points < 2:
        raise ConfigError("--points: a front needs at least 2 points")
    # the grid and each axis's own optimum
    check_count(points ** (len(chosen) - 1) + len(chosen), f"--points {points:,}", config.limits)
    kind: Problem = "place" if problem == "placement" else "reception"
    if kind == "reception" and config.reception.robust:
        raise ConfigError("a reception front plans one inflow: set reception.robust = false")
    inst = load_instance(instance)
    check(inst, config, kind)
    section = getattr(config, problem)
    payoff_configs = {
        axis.name: with_overrides(
            config,
            {
                **fronts.objective_overrides(section, problem, chosen, axis),
                **fronts.range_time_limit(config.solver.time_limit, axis is not chosen[0]),
            },
            f"front: optimise {axis.name}",
        )
        for axis in chosen
    }
    base = payoff_configs[chosen[0].name]
    probe = fronts.bound_overrides(section, problem, chosen, {a.name: 0.0 for a in chosen})
    probing = with_overrides(base, probe, "front: bounds")
    _checked_all(inst, [*payoff_configs.values(), probing], kind)

    def solve(cfg: RunConfig, start: np.ndarray | None = None) -> Run:
        if kind == "reception":
            return plan_reception(inst, cfg, progress)
        return place(inst, cfg, progress, start=start)

    rows: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    runs: dict[int, Run] = {}
    units = {name: axis.unit for name, axis in fronts.AXES[problem].items()}
    units.update(
        {name: spec.unit for name, spec in COST_PARTS.items()} if kind == "reception" else {}
    )

    def record(run: Run, role: str, eps: dict[str, float]) -> dict[str, float]:
        point = len(rows)
        runs[point] = run
        values = _quantities(run)
        row: dict[str, Any] = {"point": point, "role": role}
        for axis in chosen[1:]:
            row[f"bound_{axis.name}"] = eps.get(axis.name, np.nan)
        for axis in chosen:
            row[axis.name] = values.get(axis.name, np.nan)
        row.update(
            run_id=run.spec.id,
            status=str(run.solution.status),
            gap=run.solution.gap,
            objective=run.solution.objective,
        )
        rows.append(row)
        for part, quantity in values.items():
            parts.append(
                {"point": point, "part": part, "unit": units.get(part, ""), "quantity": quantity}
            )
        return values

    say("front: the default run")
    default = solve(config)
    ideal: dict[str, float] = {}
    payoff: list[dict[str, float]] = []
    for number, axis in enumerate(chosen, start=1):
        say(f"front: optimising {axis.name} alone ({number}/{len(chosen)})")
        cfg = payoff_configs[axis.name]
        run = solve(cfg)
        cut_short = cfg.solver.time_limit < config.solver.time_limit  # a range-only run
        if run.solution.status == Status.NO_SOLUTION and cut_short:
            say(f"front: no plan in {cfg.solver.time_limit:g} s; again with the full limit")
            limit = {"solver.time_limit": config.solver.time_limit}
            run = solve(with_overrides(cfg, limit, f"front: optimise {axis.name}"))
        values = record(run, f"ideal {axis.name}", {})
        if not values:
            break
        ideal[axis.name] = values[axis.name]
        payoff.append(values)
    if len(payoff) == len(chosen):
        nadir = {
            axis.name: (min if axis.sense == "max" else max)(p[axis.name] for p in payoff)
            for axis in chosen
        }
        grid = fronts.grid(ideal, nadir, chosen, points)
        for number, eps in enumerate(grid, start=1):
            if all(eps[a.name] == nadir[a.name] for a in chosen[1:]):
                continue  # the first axis's own optimum meets these bounds
            bounds = fronts.bound_overrides(section, problem, chosen, eps)
            cfg = with_overrides(base, bounds, "front: grid")
            shown = ", ".join(f"{name} {value:,.4g}" for name, value in eps.items())
            say(f"front: point {number}/{len(grid)} ({shown})")
            start = _best_start(runs, rows, eps, chosen) if kind == "place" else None
            record(solve(cfg, start), "grid", eps)
    table = pd.DataFrame(rows)
    # the bounded axes' own optima only set the grid's range: the grid's tight end, the
    # first axis optimised within their value, stands for them
    candidates = table["role"].isin(["grid", f"ideal {chosen[0].name}"])
    solved = candidates & table["status"].isin([str(s) for s in Status if s.has_solution])
    table["on_front"] = False
    if solved.any():
        keep = fronts.non_dominated(table[solved], chosen)
        table.loc[table.index[solved][keep], "on_front"] = True
    knee = fronts.knee(table[table["on_front"]], chosen)
    table["knee"] = table.index == knee if knee is not None else False
    say(f"front: {int(table['on_front'].sum())} non-dominated points of {len(table)} runs")
    return Front(inst, config, chosen, table, pd.DataFrame(parts), runs, default)


def _best_start(
    runs: dict[int, Run], rows: list[dict[str, Any]], eps: dict[str, float], axes: list[Any]
) -> np.ndarray | None:
    """The plan of an earlier grid run (or the ideals) that meets ``eps`` with the best
    first axis: a feasible first incumbent for the next run."""
    first = axes[0]
    best: tuple[float, int] | None = None
    for row in rows:
        values = {a.name: row[a.name] for a in axes if np.isfinite(row[a.name])}
        if first.name in values and fronts.meets(values, eps, axes):
            score = values[first.name] * (1.0 if first.sense == "max" else -1.0)
            if best is None or score > best[0]:
                best = (score, row["point"])
    return None if best is None else _placement_solution(runs[best[1]]).assignment


def write_front(result: Front, out: str | Path) -> Path:
    """``points`` and ``front`` (CSV/Parquet), ``front.png``, a manifest and each point's
    run (``runs/point-N``, ``runs/default``), atomically."""

    def draw(folder: Path) -> None:
        if result.points["on_front"].any():
            default = _quantities(result.default)
            title = result.instance.meta.name
            fronts.plot_front(
                result.points, result.axes, default, folder / "front.png", title, result.parts
            )

    runs = {f"point-{point}": run for point, run in result.runs.items()}
    return _write_study(
        out,
        "front",
        result.instance,
        result.config,
        {"points": result.points, "front": result.front},
        {**runs, "default": result.default},
        draw,
        {"axes": [axis.name for axis in result.axes]},
    )


def _write_study(
    out: str | Path,
    command: str,
    instance: Instance,
    config: RunConfig,
    tables: dict[str, pd.DataFrame],
    runs: dict[str, Run],
    draw: Callable[[Path], None],
    extra: dict[str, Any],
) -> Path:
    """A study of several runs, atomically: its tables (CSV/Parquet), its plots
    (``draw`` into the folder), each run under ``runs/NAME`` and a manifest with every
    run's id."""
    out = Path(out)
    check_output(out, instance)
    with atomic_output_dir(out) as staging:
        write_run_tables(staging, tables, config.output)
        draw(staging)
        for name, run in runs.items():
            write_run_files(run, staging / "runs" / name)
        manifest = build_manifest(
            command,
            seed=config.solver.seed,
            config=config.model_dump(mode="json"),
            inputs=next(iter(runs.values())).spec.inputs,
            extra={
                **extra,
                "run_ids": {name: run.spec.id for name, run in runs.items()},
                "instance": instance.meta.name,
                "instance_path": _instance_path(instance),
            },
        )
        write_manifest(staging, manifest)
    return out


@dataclass
class Sweep:
    """Runs over a grid of one or two numeric configuration keys: ``table`` has one row
    per run (the keys' values, status, gap, run id, the objective's part quantities and
    the households placed elsewhere than in the run before)."""

    instance: Instance
    config: RunConfig
    keys: list[str]
    table: pd.DataFrame
    runs: dict[int, Run]

    @property
    def metrics(self) -> list[str]:
        fixed = {"point", "run_id", "status", "gap", *self.keys}
        return [c for c in self.table.columns if c not in fixed]


def _numeric_setting(config: RunConfig, key: str) -> None:
    """``key`` names a numeric setting of the configuration (a ConfigError otherwise)."""
    value: Any = config.model_dump(mode="python")
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"--sweep: {key} is not a setting of the configuration")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"--sweep: {key} is not a numeric setting (it is {value!r})")


def sweep(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    sweeps: list[str] | None = None,
    progress: Progress | None = None,
) -> Sweep:
    """Place the households once per value (``"placement.penalty_shortfall=5,10,20"``;
    one or two keys, their cartesian product) and tabulate the results side by side.
    Every configuration is checked before the first run."""
    from asielplan.config import with_overrides

    config = config or RunConfig()
    say = progress or (lambda message: None)
    if not sweeps or len(sweeps) > 2:
        raise ConfigError("--sweep: give one or two settings to sweep")
    parsed = []
    for text in sweeps:
        try:
            parsed.append(fronts.parse_sweep(text))
        except ValueError as error:
            raise ConfigError(f"--sweep: {error}") from None
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ConfigError("--sweep: a setting is swept twice")
    for key in keys:
        _numeric_setting(config, key)
    check_count(math.prod(len(values) for _, values in parsed), "--sweep", config.limits)
    inst = load_instance(instance)
    grid = fronts.sweep_grid(parsed)
    configs = [
        with_overrides(
            config, values, "sweep " + ", ".join(f"{k}={v:g}" for k, v in values.items())
        )
        for values in grid
    ]
    check(inst, config, "place")
    _checked_all(inst, configs)
    rows, runs = [], {}
    before: np.ndarray | None = None
    for point, (values, cfg) in enumerate(zip(grid, configs, strict=True)):
        say(
            f"sweep: run {point + 1}/{len(grid)} ("
            + ", ".join(f"{k}={v:g}" for k, v in values.items())
            + ")"
        )
        run = place(inst, cfg, progress)
        runs[point] = run
        solution = _placement_solution(run)
        row: dict[str, Any] = {"point": point, **values}
        row.update(
            run_id=run.spec.id,
            status=str(solution.status),
            gap=solution.gap,
            objective=solution.objective,
        )
        row.update(_quantities(run))
        has = solution.status.has_solution
        row["moved"] = (
            float((solution.assignment != before).sum()) if has and before is not None else np.nan
        )
        if has:
            before = solution.assignment
        rows.append(row)
    return Sweep(inst, config, keys, pd.DataFrame(rows), runs)


def write_sweep(result: Sweep, out: str | Path) -> Path:
    """``sweep`` (CSV/Parquet), ``sweep.png``, a manifest and each run
    (``runs/point-N``), atomically."""

    def draw(folder: Path) -> None:
        title = result.instance.meta.name
        fronts.plot_sweep(result.table, result.keys, result.metrics, folder / "sweep.png", title)

    runs = {f"point-{point}": run for point, run in result.runs.items()}
    tables = {"sweep": result.table}
    extra = {"keys": result.keys}
    return _write_study(out, "sweep", result.instance, result.config, tables, runs, draw, extra)


@dataclass
class FairnessStudy:
    """Plans under group floors set by rules, under both aggregations of the labour
    score: ``summary`` (aggregation x rule: labour score, expected employed adults, price
    of fairness, status, gap, run id), ``groups`` (aggregation x rule x group: floor,
    mean, unconstrained mean, own optimum), and the runs by ``aggregation/rule``."""

    instance: Instance
    config: RunConfig
    groups: list[str]
    summary: pd.DataFrame
    table: pd.DataFrame
    runs: dict[str, Run]


def fairness(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    families: str = "gender,size",
    rules: str = "proportional,maxmin",
    level: float = 0.95,
    floor: float | None = None,
    progress: Progress | None = None,
) -> FairnessStudy:
    """Group fairness and its price (docs/tradeoffs.md): for each aggregation of the
    labour score (``sum``, ``at_least_one``) the unconstrained plan and one plan per
    rule (``absolute`` floors every group at ``floor``; ``proportional`` at ``level``
    times the group's own optimum; ``maxmin`` at the highest common floor)."""
    from asielplan.config import with_overrides
    from asielplan.experiments import fairness as study
    from asielplan.model.groups import group_expectations, group_outcomes, parse_families
    from asielplan.model.labour import household_scores, labour_model, run_probabilities

    config = config or RunConfig()
    say = progress or (lambda message: None)
    try:
        groups = parse_families(families)
        chosen = study.parse_rules(rules)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if "absolute" in chosen and floor is None:
        raise ConfigError("the absolute rule needs --floor (a mean employment probability)")
    if floor is not None and not 0 <= floor <= 1:
        raise ConfigError(f"--floor {floor}: a mean employment probability, 0 to 1")
    if not 0 < level <= 1:
        raise ConfigError(f"--level {level}: a share of the own optimum, above 0 and at most 1")
    inst = load_instance(instance)
    if inst.members is None:
        raise ConfigError("fairness: groups are formed from members; this instance has none")

    def configured(aggregation: str, floors: dict[str, float]) -> RunConfig:
        overrides = {"placement.aggregation": aggregation, "placement.group_floors": floors}
        return with_overrides(config, overrides, f"fairness ({aggregation})")

    probe = {group: 0.0 for group in groups}
    _checked_all(inst, [configured(a, probe) for a in study.AGGREGATIONS])
    check(inst, config, "place")
    # the run's one model of outcomes (checked above: members, and no scores table)
    p = run_probabilities(inst, labour_model(config.labour.coefficients))
    assert p is not None
    expectations = group_expectations(inst.households, inst.members, p, groups)
    sizes = {g.group: g.members for g in expectations}
    employed = household_scores(inst.households, inst.members, p, "sum")

    outcomes: list[Any] = []
    runs: dict[str, Run] = {}

    def record(aggregation: str, rule: str, lvl: float, floors: dict[str, float]) -> Run:
        say(f"fairness: {aggregation}, {rule}")
        run = place(inst, configured(aggregation, floors), progress)
        solution = _placement_solution(run)
        has = solution.status.has_solution
        a = solution.assignment
        placed = np.flatnonzero(a >= 0)
        parts = solution.objective_parts
        outcomes.append(
            study.Outcome(
                aggregation,
                rule,
                lvl,
                floors,
                str(solution.status),
                solution.gap,
                parts["labour"].quantity if has else np.nan,
                float(employed[placed, a[placed]].sum()) if has else np.nan,
                group_outcomes(expectations, a) if has else dict.fromkeys(groups, np.nan),
                run.spec.id,
            )
        )
        runs[f"{aggregation}/{rule}"] = run
        return run

    base = record("sum", "none", np.nan, {})
    base_solution = _placement_solution(base)
    if not base_solution.status.has_solution:
        raise ConfigError(
            f"fairness: the plan without floors is {base_solution.status}; "
            "run asielplan place for its diagnosis"
        )
    data = base.data
    assert isinstance(data, PlacementData)
    own: dict[str, float] = {}
    for g in expectations:
        say(f"fairness: the own optimum of {g.group}")
        alone = replace(data, score=g.expected)
        solved = solve_placement(alone, config.solver, progress, diagnose=False)
        own[g.group] = (
            group_outcomes([g], solved.assignment)[g.group]
            if solved.status.has_solution
            else np.nan
        )
    common = None
    if "maxmin" in chosen:
        common = _maxmin_floor(data, config, expectations, own, outcomes[0].means, say)
    for aggregation in study.AGGREGATIONS:
        if aggregation != "sum":
            record(aggregation, "none", np.nan, {})
        for rule in chosen:
            if rule == "maxmin":
                assert common is not None
                record(aggregation, rule, common, dict.fromkeys(groups, common))
            else:
                lvl = floor if rule == "absolute" else level
                assert lvl is not None
                record(aggregation, rule, lvl, study.rule_floors(rule, lvl, own, groups))
    own_by_aggregation = {a: own for a in study.AGGREGATIONS}
    return FairnessStudy(
        inst,
        config,
        groups,
        study.summary_table(outcomes),
        study.group_table(outcomes, own_by_aggregation, sizes, config.output.min_cell),
        runs,
    )


def _maxmin_floor(
    data: PlacementData,
    config: RunConfig,
    expectations: list[Any],
    own: dict[str, float],
    unconstrained: dict[str, float],
    say: Progress,
) -> float:
    """The highest common floor all groups reach together, by bisection: the lowest
    group mean of the unconstrained plan is reachable, none is above the lowest own
    optimum; a probe that ends without a plan counts as unreachable."""
    from asielplan.experiments.fairness import MAXMIN_STEPS
    from asielplan.model.placement import GroupFloorRow

    low = min(unconstrained.values())
    high = min(value for value in own.values() if np.isfinite(value))
    for step in range(1, MAXMIN_STEPS + 1):
        middle = (low + high) / 2
        floors = [GroupFloorRow(g.group, g.members, middle, g.expected) for g in expectations]
        probe = replace(data, group_floors=floors)
        solved = solve_placement(probe, config.solver, None, diagnose=False)
        reached = solved.status.has_solution
        say(
            f"fairness: max-min probe {step}/{MAXMIN_STEPS}: floor {middle:.4f} "
            + ("reached" if reached else "not reached")
        )
        low, high = (middle, high) if reached else (low, middle)
    return low


def write_fairness(result: FairnessStudy, out: str | Path) -> Path:
    """``fairness`` (the summary) and ``groups`` (CSV/Parquet), ``fairness.png``, a
    manifest and each plan's run (``runs/AGGREGATION/RULE``), atomically."""
    from asielplan.experiments import fairness as study

    def draw(folder: Path) -> None:
        title = result.instance.meta.name
        study.plot_groups(result.table, result.summary, folder / "fairness.png", title)

    tables = {"fairness": result.summary, "groups": result.table}
    extra = {"groups": result.groups}
    return _write_study(
        out, "fairness", result.instance, result.config, tables, result.runs, draw, extra
    )


@dataclass
class ReceptionComparison:
    """Reception plans for several inflows side by side (``asielplan
    reception-compare``): ``comparison`` (one row per plan), ``openings`` (the sites
    each plan opens, where and when), ``extra_places`` (per plan, inflow and region the
    places opened and the peak in emergency and crisis places), and the runs by plan:
    each inflow's name, and ``robust`` for the plan whose sites are decided once
    against every inflow."""

    instance: Instance
    config: RunConfig
    inflows: list[str]
    runs: dict[str, Run]
    comparison: pd.DataFrame
    openings: pd.DataFrame
    extra_places: pd.DataFrame


def compare_reception(
    inflows: list[str],
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    robust: bool = False,
    progress: Progress | None = None,
) -> ReceptionComparison:
    """Plan reception for each of ``inflows`` (the cohorts table's inflows, two or more)
    and, with ``robust``, once against all of them, and compare (docs/formulation/
    reception.md). Every plan is checked before the first solve."""
    from asielplan.config import with_overrides
    from asielplan.experiments import inflows as study

    config = config or RunConfig()
    say = progress or (lambda message: None)
    inst = load_instance(instance)
    if len(inflows) < 2:
        raise ConfigError("--inflows needs two or more different inflows of the cohorts table")
    single = {"reception.robust": False}
    configs = {
        name: with_overrides(config, {**single, "reception.inflow": name}, f"inflow {name}")
        for name in inflows
    }
    if robust:
        overrides = {"reception.robust": True, "reception.inflow": inflows[0]}
        configs[study.ROBUST] = with_overrides(config, overrides, "robust")
    if robust and study.ROBUST in inflows:
        raise ConfigError(f"an inflow named {study.ROBUST!r} would be the robust plan's name")
    _checked_all(inst, list(configs.values()), "reception")
    runs: dict[str, Run] = {}
    for number, (name, cfg) in enumerate(configs.items(), start=1):
        say(f"reception plan {number}/{len(configs)}: {name}")
        runs[name] = plan_reception(inst, cfg, progress)
    plans = {name: run.tables for name, run in runs.items()}
    return ReceptionComparison(
        inst,
        config,
        list(inflows),
        runs,
        study.comparison_table(plans),
        study.openings_table(plans),
        study.extra_places_table(plans),
    )


def write_reception_comparison(result: ReceptionComparison, out: str | Path) -> Path:
    """``comparison``, ``openings`` and ``extra_places`` (CSV/Parquet),
    ``comparison.png``, a manifest and each plan's run (``runs/<plan>``, the plan's name
    made a safe folder name: an inflow's name is never a path), atomically."""
    from asielplan.experiments import inflows as study

    def draw(folder: Path) -> None:
        title = result.instance.meta.name
        study.plot_comparison(result.comparison, folder / "comparison.png", title)

    folders = safe_names(list(result.runs))
    runs = {folders[name]: run for name, run in result.runs.items()}
    tables = {
        "comparison": result.comparison,
        "openings": result.openings,
        "extra_places": result.extra_places,
    }
    extra = {"inflows": result.inflows, "run_folders": {n: f"runs/{f}" for n, f in folders.items()}}
    return _write_study(
        out, "reception compare", result.instance, result.config, tables, runs, draw, extra
    )
