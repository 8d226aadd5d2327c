"""The public entry points: run a placement or a reception plan and write its outputs.

Build, solve, read back and report are separate steps (``model``, ``solvers``,
``experiments``); this module only strings them together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from asielplan.config import RunConfig
from asielplan.data.instance import Instance, default_instance_path, read_instance
from asielplan.data.reception import scenarios_of
from asielplan.errors import InputError, Issue
from asielplan.experiments.placement_report import placement_tables
from asielplan.experiments.reception_report import (
    plot_occupancy,
    plot_region_targets,
    reception_tables,
)
from asielplan.experiments.robust import RobustResult, robust_plan
from asielplan.io import atomic_output_dir, atomic_write_text, json_text, write_table
from asielplan.manifest import build_manifest, input_hashes, instance_files, write_manifest
from asielplan.model.placement import PlacementData, prepare_placement
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.solvers.highs import Progress
from asielplan.solvers.placement import PlacementSolution, solve_placement
from asielplan.solvers.reception import ReceptionSolution, solve_reception


@dataclass
class PlacementRun:
    """A finished placement run: its inputs, the solution and the output tables."""

    instance: Instance
    config: RunConfig
    data: PlacementData
    solution: PlacementSolution
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)


def place(
    instance: Instance | str | Path | None = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
) -> PlacementRun:
    """Place the households of ``instance`` (a folder, an Instance, or the embedded
    default when None) under ``config``."""
    config = config or RunConfig()
    t0 = time.perf_counter()
    inst = _instance(instance)
    if "households" not in inst.meta.tables:
        raise InputError(
            [Issue("instance.toml", None, None, "required table", "placement needs households")],
            str(inst.root or inst.meta.name),
        )
    t1 = time.perf_counter()
    data = prepare_placement(inst, config.placement)
    t2 = time.perf_counter()
    solution = solve_placement(data, config.solver, progress)
    t3 = time.perf_counter()
    tables = placement_tables(inst, data, solution)
    t4 = time.perf_counter()
    timings = {
        "read_s": t1 - t0,
        "prepare_s": t2 - t1,
        **solution.timings,
        "solve_total_s": t3 - t2,
        "report_s": t4 - t3,
        "total_s": t4 - t0,
    }
    return PlacementRun(inst, config, data, solution, tables, timings)


def write_placement(run: PlacementRun, out: str | Path) -> Path:
    """Write every table, ``timings.json`` and ``manifest.json`` to ``out`` atomically."""
    out = Path(out)
    with atomic_output_dir(out) as staging:
        for name, table in run.tables.items():
            write_table(staging, name, table, run.config.output.formats)
        atomic_write_text(staging / "timings.json", json_text(run.timings))
        _write_run_manifest(
            staging,
            "place",
            run.config,
            run.instance,
            run.solution.status.value,
            run.solution.stats,
        )
    return out


@dataclass
class ReceptionRun:
    """A finished reception run: inputs, the plan and the output tables."""

    instance: Instance
    config: RunConfig
    data: ReceptionData
    solution: ReceptionSolution
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)
    robust: RobustResult | None = None


def plan_reception(
    instance: Instance | str | Path | None = None,
    config: RunConfig | None = None,
    *,
    robust: bool = False,
    progress: Progress | None = None,
) -> ReceptionRun:
    """Plan reception for ``instance`` (default: the embedded one) under ``config``.

    With ``robust`` the site decisions are made once against every inflow scenario and
    compared with the plan for the configured (or first) scenario alone."""
    config = config or RunConfig()
    t0 = time.perf_counter()
    inst = _instance(instance)
    t1 = time.perf_counter()
    result = None
    if robust:
        scenarios = scenarios_of(inst)
        base = config.reception.scenario or scenarios[0]
        result = robust_plan(inst, config, base, scenarios, progress=progress)
        data, solution = result.data, result.robust
    else:
        data = prepare_reception(inst, config.reception)
        solution = solve_reception(data, config.solver, progress)
    t2 = time.perf_counter()
    tables = reception_tables(data, solution)
    if result is not None:
        tables["robust"] = result.comparison
    t3 = time.perf_counter()
    timings = {
        "read_s": t1 - t0,
        **solution.timings,
        "plan_total_s": t2 - t1,
        "report_s": t3 - t2,
        "total_s": t3 - t0,
    }
    return ReceptionRun(inst, config, data, solution, tables, timings, result)


def write_reception(run: ReceptionRun, out: str | Path) -> Path:
    """Write the tables, the occupancy plot (and the regional fill when the instance has
    region targets), ``timings.json`` and ``manifest.json``."""
    out = Path(out)
    inst = run.instance
    with atomic_output_dir(out) as staging:
        for name, table in run.tables.items():
            write_table(staging, name, table, run.config.output.formats)
        if run.solution.status.has_solution:
            label = f"{inst.meta.name}{' (SYNTHETIC)' if inst.meta.synthetic else ''}"
            plot_occupancy(run.data, run.tables, staging / "occupancy.png", label)
            plot_region_targets(run.tables, staging / "regions.png", label)
        atomic_write_text(staging / "timings.json", json_text(run.timings))
        _write_run_manifest(
            staging, "reception", run.config, inst, run.solution.status.value, run.solution.stats
        )
    return out


def _instance(instance: Instance | str | Path | None) -> Instance:
    if isinstance(instance, Instance):
        return instance
    return read_instance(default_instance_path() if instance is None else instance)


def _write_run_manifest(
    staging: Path,
    command: str,
    config: RunConfig,
    inst: Instance,
    status: str,
    stats: dict[str, object],
) -> None:
    inputs = input_hashes(instance_files(inst.root), inst.root) if inst.root else {}
    write_manifest(
        staging,
        build_manifest(
            command,
            seed=config.solver.seed,
            config=config.model_dump(mode="json"),
            inputs=inputs,
            extra={
                "instance": inst.meta.name,
                "synthetic": inst.meta.synthetic,
                "status": status,
                "stats": stats,
            },
        ),
    )
