"""The run pipeline: read and check an instance, run one placement, weekly batch,
reception plan or chain plan, and write a run's folder.

Read, check, prepare, build and solve, read back and write are separate steps
(``data``, ``model``, ``solvers``, ``experiments.results``); this module strings them
together for one run, and the studies (:mod:`asielplan.experiments.studies`) string
runs together. ``asielplan.api`` is the public facade over both.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.config import OutputConfig, RunConfig, check_priced, weekly_config
from asielplan.data.chain import chain_input
from asielplan.data.instance import (
    Instance,
    attach_table,
    default_instance_path,
    read_instance,
)
from asielplan.data.reception import inflows_of
from asielplan.errors import AsielplanWarning, ConfigError, InputError, Issue
from asielplan.experiments.plots import plot_chain, plot_occupancy, plot_region_targets
from asielplan.experiments.results.chain import chain_tables
from asielplan.experiments.results.placement import pace_table, placement_tables, price_table
from asielplan.experiments.results.reception import reception_tables
from asielplan.experiments.robust import RobustResult, robust_plan
from asielplan.io import (
    atomic_output_dir,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    csv_bytes,
    json_text,
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
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.model.reception import bounded_values as reception_bounded_values
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
    """A finished run: what was run (``spec``), its inputs, the model's data, the
    solution (the result contract of ``asielplan.solvers.result``) and the output
    tables. ``timings`` has the same keys for every kind of run. ``data`` is None only in
    a run :meth:`without_data` gave (as studies of several runs keep them)."""

    spec: RunSpec
    instance: Instance
    data: PlacementData | ReceptionData | ChainData | None
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

    def without_data(self) -> Run:
        """The run without a placement's data (arrays of households x municipalities:
        90-220 MiB a run at 25,000 households, which a study of several runs would
        otherwise hold for all its runs), as a study keeps it once it has read what it
        needs from the model; its files need none of it. Other kinds keep their data (a
        reception's plots read them). Shares everything else with this run."""
        if not isinstance(self.data, PlacementData):
            return self
        return replace(self, data=None)


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


def instance_path(inst: Instance) -> str | None:
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
    from asielplan.experiments.dictionary import share_columns

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
            "instance_path": instance_path(inst),
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


def placement_solution(run: Run) -> PlacementSolution:
    assert isinstance(run.solution, PlacementSolution)
    return run.solution


def quantities(run: Run) -> dict[str, float]:
    """The boundable quantities of a run's plan (empty without a plan); a placement run
    needs its data (not a run :meth:`Run.without_data` gave)."""
    if not run.solution.status.has_solution:
        return {}
    if isinstance(run.solution, ReceptionSolution):
        values = {name: part.quantity for name, part in run.solution.objective_parts.items()}
        return {**values, **reception_bounded_values(run.solution.objective_parts)}
    assert isinstance(run.data, PlacementData), "a placement run without its data"
    return bounded_quantities(run.data, placement_solution(run).assignment)


def check_all(inst: Instance, configs: list[RunConfig], kind: Problem = "place") -> None:
    """Every configuration of a study checked before its first run (all problems at once)."""
    issues = [issue for cfg in configs for issue in check_run(inst, cfg, kind)]
    if any(not issue.is_warning for issue in issues):
        raise InputError(list(dict.fromkeys(issues)), str(inst.root or inst.meta.name))


def write_study(
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
                "instance_path": instance_path(instance),
            },
        )
        write_manifest(staging, manifest)
    return out
