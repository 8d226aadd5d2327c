"""The public entry points: run a placement and write its outputs.

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
from asielplan.experiments.placement_report import placement_tables
from asielplan.io import atomic_output_dir, atomic_write_text, json_text, write_table
from asielplan.manifest import build_manifest, input_hashes, instance_files, write_manifest
from asielplan.model.placement import PlacementData, prepare_placement
from asielplan.solvers.placement import PlacementSolution, Progress, solve_placement


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
    inst = (
        instance
        if isinstance(instance, Instance)
        else read_instance(default_instance_path() if instance is None else instance)
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
    inst = run.instance
    inputs = input_hashes(instance_files(inst.root), inst.root) if inst.root else {}
    with atomic_output_dir(out) as staging:
        for name, table in run.tables.items():
            write_table(staging, name, table, run.config.output.formats)
        atomic_write_text(staging / "timings.json", json_text(run.timings))
        write_manifest(
            staging,
            build_manifest(
                "place",
                seed=run.config.solver.seed,
                config=run.config.model_dump(mode="json"),
                inputs=inputs,
                extra={
                    "instance": inst.meta.name,
                    "synthetic": inst.meta.synthetic,
                    "status": run.solution.status.value,
                    "stats": run.solution.stats,
                },
            ),
        )
    return out
