"""Batches of runs on Dask: a batch file, its expansion into RunSpecs, execution on a
local or remote Dask cluster, resume, and one tidy table of every run.

A batch file (TOML) names the instances, a base configuration with named scenarios, and
the axes whose cartesian product is the batch::

    kinds = ["place", "reception", "schemes", "front"]  # also: weekly
    instances = ["default"]           # folders relative to this file; "default" is embedded
    scenarios = ["base", "tight"]     # "base" or a [config.scenarios.NAME]
    seeds = [1, 2, 3]                 # solver.seed
    draws = [1, 2, 3]                 # household draws: the households generated anew
    schemes = ["population"]          # placement.scheme (optional)
    inflows = ["steady"]              # reception.inflow (optional)

    [values]                          # any numeric configuration key, a list of values
    "placement.penalty_shortfall" = [10, 40]

    [compare]                         # kind "schemes": as asielplan schemes compare
    schemes = ["population", "spreidingswet"]

    [front]                           # kind "front": as asielplan front
    problem = "placement"
    axes = ["labour", "distance"]
    points = 5

    [config]                          # the base configuration, as a configuration file
    solver.time_limit = 20
    [config.scenarios.tight]
    placement.target_mode = "band"

An axis applies to the kinds that read its setting: ``schemes`` (placement.scheme) to
place, weekly and placement fronts, ``inflows`` (reception.inflow) to reception and
reception fronts; a ``schemes`` run compares the schemes of ``[compare]`` itself. An
axis no kind reads is refused.

Every run is a RunSpec whose id hashes its kind, its instance's contents, its
effective configuration and a study's options; its result goes to ``OUT/runs/<id>/``
(written atomically, with its manifest). A folder with a manifest is a finished run:
running the batch again skips it, so a changed scenario reruns only its own runs. At
the end the rows of every run (its axes, status, KPIs, timings, and the message of a run
that failed) are gathered into ``OUT/runs.parquet`` and ``OUT/runs.csv``, in the batch's
order; a study's row holds its headline numbers (:func:`_study_row`). With a ``draws``
axis, ``OUT/draws.parquet`` and ``OUT/draws.csv`` hold every number's mean over the
draws with its 95% interval (:func:`draw_summary`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from asielplan.config import (
    RunConfig,
    Strict,
    check_count,
    config_from_dict,
    weekly_config,
    with_overrides,
)
from asielplan.data.instance import Instance, default_instance_path, read_instance
from asielplan.errors import ConfigError, InputError, OutputError
from asielplan.experiments.studies import BATCH_STUDIES, STUDIES
from asielplan.experiments.studies.front import FrontOptions, parse_axes
from asielplan.experiments.studies.schemes import CompareOptions
from asielplan.experiments.studies.study import StudyRow
from asielplan.io import (
    atomic_write_bytes,
    check_listed,
    csv_bytes,
    remove_stale_staging,
)
from asielplan.manifest import build_manifest, input_hashes, write_manifest
from asielplan.runspec import Kind, RunSpec

if TYPE_CHECKING:
    from dask.distributed import Client, LocalCluster

    from asielplan.experiments.results.folder import RunFolder

RUNS = "runs"
TABLE = "runs"


class BatchFile(Strict):
    """A batch file: the axes of the batch, its base configuration and the options of
    its studies."""

    kinds: tuple[Literal["place", "reception", "weekly", "schemes", "front"], ...] = Field(
        default=("place",),
        min_length=1,
        description="Kinds of run: place, reception, weekly (a batch against the remaining "
        "taakstelling with [config.weekly]; the instance holds its progress table), "
        "schemes (the schemes of [compare] placed and compared) and front (the front of "
        "[front]).",
    )
    instances: tuple[str, ...] = Field(
        default=("default",),
        min_length=1,
        description="Instance folders, relative to the batch file; 'default' is the embedded one.",
    )
    scenarios: tuple[str, ...] = Field(
        default=("base",),
        min_length=1,
        description="Scenarios of the configuration: 'base' or a [config.scenarios.NAME].",
    )
    seeds: tuple[int, ...] = Field(
        default=(0,), min_length=1, description="Solver seeds (solver.seed)."
    )
    draws: tuple[int, ...] = Field(
        default=(),
        description="Household draws: for each seed, the instance's households and members "
        "generated anew (as many, on its municipalities and sites); empty: its own "
        "households. Read by the kinds that place households.",
    )
    schemes: tuple[str, ...] = Field(
        default=(), description="Quota schemes (placement.scheme); empty: the configuration's."
    )
    inflows: tuple[str, ...] = Field(
        default=(), description="Inflows (reception.inflow); empty: the configuration's."
    )
    values: dict[str, tuple[float, ...]] = Field(
        default_factory=dict,
        description="Numeric configuration keys, each with the list of values to run.",
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The base configuration with its [config.scenarios.NAME], as in a "
        "configuration file.",
    )
    compare: CompareOptions | None = Field(
        default=None, description="What a schemes run compares (needed by kind schemes)."
    )
    front: FrontOptions | None = Field(
        default=None,
        description="The front of a front run; without it, the defaults of FrontOptions.",
    )

    @model_validator(mode="after")
    def _axes(self) -> BatchFile:
        for name in ("kinds", "instances", "scenarios", "seeds"):
            check_listed(name, getattr(self, name))
        for name in ("schemes", "inflows", "draws"):
            if getattr(self, name):
                check_listed(name, getattr(self, name))
        for key, values in self.values.items():
            check_listed(f"values.{key}", values)
        return self

    def count(self) -> int:
        """The runs of the cartesian product, counted before anything is expanded."""
        return math.prod(
            [
                len(self.kinds),
                len(self.instances),
                len(self.scenarios),
                len(self.seeds),
                len(self.draws) or 1,
                len(self.schemes) or 1,
                len(self.inflows) or 1,
                *(len(values) for values in self.values.values()),
            ]
        )


@dataclass(frozen=True)
class BatchRun:
    """One run of a batch: its place on the axes and its RunSpec."""

    labels: dict[str, Any]
    spec: RunSpec

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Batch:
    """A batch file expanded: every run in the batch's order (duplicates, same id,
    kept once)."""

    path: Path
    runs: list[BatchRun]
    instances: dict[str, Instance] = field(repr=False, default_factory=dict)

    def done(self, out: Path) -> set[str]:
        """Ids of the runs whose result folder in ``out`` is complete and intact: its
        manifest names this run id and every file matches the manifest's SHA-256. Any
        other folder is redone, not trusted."""
        return {run.id for run in self.runs if intact(out / RUNS / run.id, run.id)}


def intact(folder: Path, run_id: str) -> bool:
    """Whether ``folder`` holds the finished run ``run_id`` as its manifest wrote it."""
    from asielplan.manifest import check_outputs

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("run_id") != run_id:
        return False
    return not check_outputs(folder, manifest)


def read_batch(path: str | Path) -> Batch:
    """Read and expand a batch file; every problem (unknown key, unknown scenario, bad
    value, unreadable instance) is reported at once."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"batch file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: TOML syntax: {exc}") from None
    try:
        spec = BatchFile.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{path.name}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    return expand(spec, path)


def _instance_folder(name: str, base: Path) -> Path:
    return default_instance_path() if name == "default" else (base / name)


def expand(spec: BatchFile, path: Path) -> Batch:
    """The runs of a batch file: the cartesian product of its axes, in the order
    kinds x instances x scenarios x seeds x draws x schemes x inflows x values."""
    from asielplan.data.generator import redraw_households

    errors = _kind_errors(spec, path)
    configs: dict[str, RunConfig] = {}
    for scenario in spec.scenarios:
        try:
            configs[scenario] = config_from_dict(
                spec.config, scenario, f"{path.name} [config]", base=path.parent
            )
        except ConfigError as exc:
            errors.append(str(exc))
    if configs:
        check_count(spec.count(), path.name, next(iter(configs.values())).limits)
    instances: dict[str, Instance] = {}
    for name in spec.instances:
        try:
            instances[name] = read_instance(_instance_folder(name, path.parent))
        except InputError as exc:
            errors.append(f"{path.name}: instance {name!r}: {exc}")
    drawn: dict[tuple[str, int | None], Instance] = {}
    for name, inst in instances.items():
        drawn[(name, None)] = inst
        for each in spec.draws:
            try:
                drawn[(name, each)] = redraw_households(inst, each)
            except ValueError as error:
                errors.append(f"{path.name}: draws: instance {name!r}: {error}")
    if errors:
        raise ConfigError("\n".join(dict.fromkeys(errors)))
    keys = list(spec.values)
    runs: list[BatchRun] = []
    seen: set[str] = set()
    draws: tuple[int | None, ...] = spec.draws or (None,)
    product = itertools.product(
        spec.kinds,
        spec.instances,
        spec.scenarios,
        spec.seeds,
        draws,
        spec.schemes or (None,),
        spec.inflows or (None,),
        itertools.product(*(spec.values[k] for k in keys)),
    )
    for kind, instance, scenario, seed, draw, scheme, inflow, values in product:
        reads = _problems(spec, kind)
        if kind == "schemes" or "placement" not in reads:
            scheme = None  # a comparison sets placement.scheme per scheme itself
        if "reception" not in reads:
            inflow = None
        if "placement" not in reads and kind != "schemes":
            draw = None  # a reception plan has no households to draw
        overrides: dict[str, Any] = {"solver.seed": seed, **dict(zip(keys, values, strict=True))}
        if scheme is not None:
            overrides["placement.scheme"] = scheme
        if inflow is not None:
            overrides["reception.inflow"] = inflow
        try:
            config = with_overrides(configs[scenario], overrides, f"{path.name}")
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        inst = drawn[(instance, draw)]
        if kind == "weekly":
            config = weekly_config(config)  # as asielplan weekly runs it: the same id
        # HiGHS at one thread per run (the workers are the parallelism), and in the id:
        # the run's manifest says the same id as its folder
        config = with_overrides(config, {"solver.threads": 1}, "batch")
        run_spec = RunSpec(kind, inst.root, config, _inputs(inst), _options(spec, kind))
        labels = {
            "kind": kind,
            "instance": instance,
            "scenario": scenario,
            "seed": seed,
            "draw": draw,
            "scheme": scheme,
            "inflow": inflow,
            **dict(zip(keys, values, strict=True)),
        }
        if run_spec.id not in seen:
            seen.add(run_spec.id)
            runs.append(BatchRun(labels, run_spec))
    if errors:
        raise ConfigError("\n".join(dict.fromkeys(errors)))
    return Batch(path, runs, instances)


def _problems(spec: BatchFile, kind: Kind) -> set[str]:
    """The configuration sections whose problem a kind's runs solve: ``placement``
    (they read placement.scheme) or ``reception`` (reception.inflow)."""
    if kind == "front":
        return {(spec.front or FrontOptions()).problem}
    return {"reception"} if kind == "reception" else {"placement"}


def _kind_errors(spec: BatchFile, path: Path) -> list[str]:
    """A study kind without its options, options without their kind, unknown front
    axes, and a schemes or inflows axis that no kind of the batch reads."""
    errors = []
    reads = {p for kind in spec.kinds if kind != "schemes" for p in _problems(spec, kind)}
    if spec.schemes and "placement" not in reads:
        errors.append(f"{path.name}: schemes: no kind of this batch places with a scheme")
    if spec.inflows and "reception" not in reads:
        errors.append(f"{path.name}: inflows: no kind of this batch plans reception")
    if spec.draws and "placement" not in reads and "schemes" not in spec.kinds:
        errors.append(f"{path.name}: draws: no kind of this batch places households")
    if "schemes" in spec.kinds and spec.compare is None:
        errors.append(f'{path.name}: kind "schemes" needs [compare] schemes = [...]')
    if spec.compare is not None and "schemes" not in spec.kinds:
        errors.append(f'{path.name}: [compare] is for kind "schemes", which kinds does not name')
    if spec.front is not None:
        if "front" not in spec.kinds:
            errors.append(f'{path.name}: [front] is for kind "front", which kinds does not name')
        try:
            parse_axes(",".join(spec.front.chosen()), spec.front.problem)
        except ValueError as error:
            errors.append(f"{path.name}: front.axes: {error}")
    return errors


def _options(spec: BatchFile, kind: Kind) -> dict[str, Any]:
    """A study's options, part of its run id, as the study reads them from its section
    of the batch file (:class:`~asielplan.experiments.studies.study.BatchStudy`); none
    for a single run."""
    study = BATCH_STUDIES.get(kind)
    return {} if study is None else study.options(getattr(spec, study.section))


def _inputs(inst: Instance) -> dict[str, str]:
    from asielplan.api import spec_inputs

    return spec_inputs(inst)


# --------------------------------------------------------------------------- one run


def run_one(
    kind: Kind,
    folder_of_instance: str,
    config: dict[str, Any],
    options: dict[str, Any],
    folder: str,
    draw: int | None = None,
) -> dict[str, Any]:
    """Run one RunSpec and write its folder (atomically); the row of the batch table:
    status, the stop text, KPIs and timings; a run that raises is a row with status
    ``error`` and its message. Runs in a Dask worker: pure from its arguments (``draw``:
    the households drawn anew from this seed, as :func:`expand` drew them)."""
    from asielplan import api
    from asielplan.data.generator import redraw_households

    start = time.perf_counter()
    cfg = RunConfig.model_validate(config)
    instance: str | Instance = folder_of_instance
    try:
        if draw is not None:
            instance = redraw_households(read_instance(folder_of_instance), draw)
        if kind in BATCH_STUDIES:
            BATCH_STUDIES[kind].run(instance, cfg, options, Path(folder))
        elif kind == "weekly":
            api.write_run(api.weekly(instance, cfg), folder)
        elif kind == "reception":
            api.write_run(api.plan_reception(instance, cfg), folder)
        else:
            api.write_run(api.place(instance, cfg), folder)
    except Exception as exc:  # a failed run is a row of the batch, which goes on
        message = f"{type(exc).__name__}: {exc}"
        return {"status": "error", "message": message, "seconds": time.perf_counter() - start}
    row = _row_of(Path(folder))
    row["seconds"] = time.perf_counter() - start
    return row


def _row_of(folder: Path) -> dict[str, Any]:
    """The batch row of a finished run folder: status, stop and its KPIs; a study's:
    :func:`_study_row`."""
    from asielplan.experiments.results.folder import RunFolder

    run = RunFolder.open(folder)
    study = STUDIES.get(run.kind)
    if study is not None and study.batch is not None:
        return _study_row(run, study.batch.row(run))
    row: dict[str, Any] = {"status": run.manifest.get("status"), "stop": run.manifest.get("stop")}
    kpis = run.table("kpis")
    if kpis is not None and len(kpis):
        first = kpis.iloc[0]
        row.update({str(k): v for k, v in first.items() if k not in ("status", "stop")})
    return row


def _worst(statuses: list[str]) -> str:
    """A study's status: optimal when all its runs are, else feasible when all have a
    plan, else the first other status."""
    others = [s for s in statuses if s not in ("optimal", "feasible")]
    return others[0] if others else ("feasible" if "feasible" in statuses else "optimal")


def _study_row(run: RunFolder, found: StudyRow | None) -> dict[str, Any]:
    """The batch row of a study: its status (:func:`_worst` over its runs), a stop text
    with the largest gap, and its headline numbers (the study's own: a comparison's
    every metric per scheme, ``labour_score.population``; a front's runs, points on the
    front and the knee's value of each axis, ``knee.labour``)."""
    if found is None:  # a folder written by hand or by another version
        return {"status": "error", "message": f"{run.path}: the study's table is missing"}
    row = dict(found.numbers)
    largest = pd.Series(found.gaps, dtype="float64").max()
    row["status"] = _worst(found.statuses)
    row["gap"] = float(largest) if pd.notna(largest) else None
    if row["gap"] is not None:
        row["stop"] += f", largest gap {row['gap']:.4%}"
    return row


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    table: pd.DataFrame
    ran: int
    skipped: int

    @property
    def failed(self) -> int:
        return int((~self.table["status"].isin(["optimal", "feasible"])).sum())


# the local cluster's bookkeeping kept from the runs' cores and GIL: no statistical
# profiler sampling the run's thread every 10 ms (it serves the dashboard, which a batch
# does not open), the event loop's health tick, the nanny's memory check and the system
# monitor at seconds instead of 20 ms, 100 ms and 500 ms (measured on 16 placements with
# two workers: 3% more run time than on one worker alone, against 6-9% with defaults)
LOCAL_DASK = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


@contextmanager
def _dask_logs(level: int) -> Iterator[None]:
    """Dask's and tornado's loggers at ``level`` at least (the cluster logs its start
    and close at INFO), as they were afterwards."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        for logger, old in zip(loggers, before, strict=True):
            logger.setLevel(old)


def local_cluster(workers: int) -> LocalCluster:
    """A Dask LocalCluster of ``workers`` processes of one thread each, without a
    dashboard, its workers started with :data:`LOCAL_DASK`."""
    import dask.config
    from dask.distributed import LocalCluster

    with dask.config.set(LOCAL_DASK):  # the nannies pass it on to their workers
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


CONNECT_TIMEOUT_S = 10  # how long a scheduler address may take to answer


def connect(scheduler: str) -> Client:
    """A client of the Dask scheduler at ``scheduler``; a :class:`ConfigError` naming the
    address when it does not answer within :data:`CONNECT_TIMEOUT_S` seconds."""
    from dask.distributed import Client

    try:
        with _dask_logs(logging.CRITICAL):
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"--scheduler {scheduler}: the scheduler does not answer within "
            f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}); start it or give another address"
        ) from None


def run_batch(
    batch: Batch,
    out: str | Path,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> BatchResult:
    """Run every run of ``batch`` not yet done in ``out`` on Dask (a LocalCluster of
    ``workers`` processes of one thread, HiGHS at one thread per run; or the cluster at
    ``scheduler``), then write ``runs.parquet`` and ``runs.csv``. Ctrl-C cancels what
    runs; finished runs stay, and the next call resumes."""
    from dask.distributed import Client, as_completed

    out = Path(out)
    check_batch_folder(out)
    remote = None if scheduler is None else connect(scheduler)  # before anything is written
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out / RUNS)
    done = batch.done(out)
    todo = [run for run in batch.runs if run.id not in done]
    rows: dict[str, dict[str, Any]] = {
        run.id: _row_of(out / RUNS / run.id) for run in batch.runs if run.id in done
    }
    counts = {"done": len(done), "running": 0, "failed": 0, "total": len(batch.runs)}
    if not todo and remote is not None:
        remote.close()
    if todo:
        with _dask_logs(logging.ERROR):
            cluster = local_cluster(workers) if remote is None else None
            client = remote if remote is not None else Client(cluster)
        try:
            futures = {}
            for run in todo:
                future = client.submit(
                    run_one,
                    run.spec.kind,
                    str(run.spec.instance),
                    run.spec.config.model_dump(mode="json"),
                    run.spec.options,
                    str(out / RUNS / run.id),
                    run.labels.get("draw"),
                    key=f"run-{run.id}",
                    pure=False,
                )
                futures[future] = run.id
            slots = max(1, sum(client.nthreads().values()))  # runs that run at once
            left = len(todo)
            counts["running"] = min(slots, left)
            if progress is not None:
                progress(dict(counts))
            for future in as_completed(list(futures)):
                run_id = futures[future]
                rows[run_id] = future.result()
                left -= 1
                counts["running"] = min(slots, left)
                counts["done"] += 1
                if rows[run_id]["status"] not in ("optimal", "feasible"):
                    counts["failed"] += 1
                if progress is not None:
                    progress(dict(counts))
        finally:
            with _dask_logs(logging.CRITICAL):  # every result is in: closing is no news
                client.close()
                if cluster is not None:
                    cluster.close()
            remove_stale_staging(out / RUNS)
    table = _table(batch, rows)
    _write_table(out, table, TABLE)
    if any(run.labels.get("draw") is not None for run in batch.runs):
        labels = list(batch.runs[0].labels)
        _write_table(out, draw_summary(table, labels), DRAWS)
    manifest = build_manifest(
        "batch",
        seed=0,
        config={},
        inputs=input_hashes([batch.path]),
        extra={
            "run_ids": [run.id for run in batch.runs],
            "statuses": {str(k): int(v) for k, v in table["status"].value_counts().items()},
        },
    )
    write_manifest(out, manifest, outputs=False)  # each run records its own files
    return BatchResult(table, len(todo), len(done))


DRAWS = "draws"  # the table of means over the household draws
BATCH_FILES = {
    RUNS,
    f"{TABLE}.csv",
    f"{TABLE}.parquet",
    f"{DRAWS}.csv",
    f"{DRAWS}.parquet",
    "manifest.json",
}


def check_batch_folder(out: Path) -> None:
    """Refuse, before any work, an output folder that is not new, empty or a batch
    folder (one whose manifest says ``batch``, or a first batch stopped early)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"--out {out} is a file; give a folder for the batch")
    others = sorted(p.name for p in out.iterdir() if p.name not in BATCH_FILES)
    if others:
        raise OutputError(
            f"--out {out} holds other files than a batch's ({', '.join(others[:5])}); "
            "give a new or empty folder, or an earlier batch's folder"
        )
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            command = json.loads(manifest.read_text(encoding="utf-8")).get("command")
        except (ValueError, UnicodeDecodeError):
            command = None
        if command != "batch":
            raise OutputError(f"--out {out} holds the result of '{command}', not of a batch")


FIXED = ("run_id", "status", "stop", "message", "seconds")


def _table(batch: Batch, rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per run in the batch's order: its axes, then :data:`FIXED`, then the
    studies' own columns (in the order of
    :data:`~asielplan.experiments.studies.BATCH_STUDIES`), then the KPI columns (each group in the
    order the runs name them)."""
    records = []
    for run in batch.runs:
        row = rows.get(run.id, {"status": "not run"})
        records.append({**run.labels, "run_id": run.id, **row})
    table = pd.DataFrame.from_records(records)
    labels = list(batch.runs[0].labels) if batch.runs else []
    for column in FIXED:
        if column not in table:
            table[column] = None
    studies = [
        column
        for kind in BATCH_STUDIES
        for run in batch.runs
        if run.spec.kind == kind
        for column in rows.get(run.id, {})
        if column not in FIXED and column != "gap"  # a KPI of every kind
    ]
    rest = [c for c in table.columns if c not in labels and c not in FIXED]
    rest = list(dict.fromkeys([*studies, *rest]))
    return table[[*labels, *FIXED, *rest]]


def _write_table(out: Path, table: pd.DataFrame, name: str) -> None:
    import io as _io

    buffer = _io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(out / f"{name}.parquet", buffer.getvalue())
    atomic_write_bytes(out / f"{name}.csv", csv_bytes(table))


DRAW_COLUMNS = ("measure", "draws", "with_plan", "mean", "lower", "upper")


def draw_summary(table: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Over the household draws of every combination of the other axes: each number of
    the runs' rows (gap, KPIs, a study's headline numbers), its mean over the runs with a
    plan and the 95% t interval of that mean (empty with fewer than two); ``draws`` runs
    in the combination, ``with_plan`` of them optimal or feasible."""
    from scipy.stats import t

    keys = [c for c in labels if c != "draw"]
    numbers = [
        c
        for c in table.columns
        if c not in labels
        and c not in ("run_id", "status", "stop", "message")
        and pd.api.types.is_numeric_dtype(table[c])
        and not pd.api.types.is_bool_dtype(table[c])
    ]
    planned = table["status"].isin(["optimal", "feasible"])
    rows = []
    for key, group in table.groupby(keys, dropna=False, sort=False):
        where = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        good = group[planned.loc[group.index]]
        for column in numbers:
            values = pd.to_numeric(good[column], errors="coerce").dropna()
            n = len(values)
            mean = float(values.mean()) if n else float("nan")
            half = (
                float(t.ppf(0.975, n - 1) * values.std(ddof=1) / n**0.5) if n > 1 else float("nan")
            )
            rows.append(
                {
                    **where,
                    "measure": column,
                    "draws": len(group),
                    "with_plan": len(good),
                    "mean": mean,
                    "lower": mean - half,
                    "upper": mean + half,
                }
            )
    return pd.DataFrame(rows, columns=[*keys, *DRAW_COLUMNS])


def status(out: str | Path) -> pd.DataFrame:
    """What a batch folder holds: one row per finished run folder (id, status, stop)."""
    folder = Path(out) / RUNS
    rows = []
    for run_dir in sorted(p for p in folder.glob("*") if (p / "manifest.json").is_file()):
        rows.append({"run_id": run_dir.name, **_row_of(run_dir)})
    return pd.DataFrame.from_records(rows)
