"""Weight sweeps: one placement per value of one or two numeric settings (their
cartesian product), side by side: each run's status, gap, objective, the quantities of
its plan's parts and the households placed elsewhere than in the run before.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.config import RunConfig, check_count, with_overrides
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError
from asielplan.experiments.outputs import (
    GAP,
    PLACEMENT_QUANTITIES,
    RUN_ID,
    STATUS,
    Column,
    Output,
    Table,
    listed,
)
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.runs import (
    InstanceLike,
    Run,
    check,
    check_all,
    load_instance,
    place,
    placement_solution,
    quantities,
    write_study,
)
from asielplan.experiments.sections import Section, Shapes, study_sections
from asielplan.experiments.studies.study import Study
from asielplan.model.placement import bound_unit
from asielplan.solvers.highs import Progress


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``"placement.penalty_shortfall=5,10,20"`` as a key and its values."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ValueError(f"give KEY=v1,v2,..., not {text!r}")
    out = []
    for value in values.split(","):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{key}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{key}: {value.strip()!r} is not a finite number")
        out.append(number)
    if len(set(out)) != len(out):
        raise ValueError(f"{key}: a value is given twice")
    return key, out


def sweep_grid(sweeps: list[tuple[str, list[float]]]) -> list[dict[str, float]]:
    """The cartesian product of one or two swept keys, the first varying slowest."""
    keys = [key for key, _ in sweeps]
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in sweeps))
    ]


def plot_sweep(
    table: pd.DataFrame, keys: list[str], metrics: list[str], path: Path, title: str
) -> None:
    """One panel per metric against the first swept key (a line per value of the
    second); a run without a plan is left out and marked on the axis."""
    plt = pyplot()

    columns = 2
    rows = math.ceil(len(metrics) / columns)
    fig, axs = plt.subplots(rows, columns, figsize=(10, 3.0 * rows), squeeze=False)
    groups = [(None, table)] if len(keys) == 1 else list(table.groupby(keys[1], sort=True))
    for ax, metric in zip(axs.ravel(), metrics, strict=False):
        for value, part in groups:
            shown = part[part["status"].isin(["optimal", "feasible"])]
            label = None if value is None else f"{keys[1]} = {float(value):g}"  # type: ignore[arg-type]
            ax.plot(shown[keys[0]], shown[metric], "o-", label=label)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel(keys[0])
        ax.grid(alpha=0.3)
        if len(keys) == 2:
            ax.legend(fontsize=7)
    for ax in axs.ravel()[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- the runs


@dataclass
class Sweep:
    """Runs over a grid of one or two numeric configuration keys: ``table`` has one row
    per run (the keys' values, status, gap, run id, the objective's part quantities and
    the households placed elsewhere than in the run before), and the runs by point
    (without their data: :meth:`~asielplan.experiments.runs.Run.without_data`)."""

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

    config = config or RunConfig()
    say = progress or (lambda message: None)
    if not sweeps or len(sweeps) > 2:
        raise ConfigError("--sweep: give one or two settings to sweep")
    parsed = []
    for text in sweeps:
        try:
            parsed.append(parse_sweep(text))
        except ValueError as error:
            raise ConfigError(f"--sweep: {error}") from None
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise ConfigError("--sweep: a setting is swept twice")
    for key in keys:
        _numeric_setting(config, key)
    check_count(math.prod(len(values) for _, values in parsed), "--sweep", config.limits)
    inst = load_instance(instance)
    grid = sweep_grid(parsed)
    configs = [
        with_overrides(
            config, values, "sweep " + ", ".join(f"{k}={v:g}" for k, v in values.items())
        )
        for values in grid
    ]
    check(inst, config, "place")
    check_all(inst, configs)
    rows, runs = [], {}
    before: np.ndarray | None = None
    for point, (values, cfg) in enumerate(zip(grid, configs, strict=True)):
        say(
            f"sweep: run {point + 1}/{len(grid)} ("
            + ", ".join(f"{k}={v:g}" for k, v in values.items())
            + ")"
        )
        run = place(inst, cfg, progress)
        solution = placement_solution(run)
        row: dict[str, Any] = {"point": point, **values}
        row.update(
            run_id=run.spec.id,
            status=str(solution.status),
            gap=solution.gap,
            objective=solution.objective,
        )
        row.update(quantities(run))
        runs[point] = run = run.without_data()  # the model's arrays go before the next run
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
        plot_sweep(result.table, result.keys, result.metrics, folder / "sweep.png", title)

    runs = {f"point-{point}": run for point, run in result.runs.items()}
    tables = {"sweep": result.table}
    extra = {"keys": result.keys}
    return write_study(out, "sweep", result.instance, result.config, tables, runs, draw, extra)


# --------------------------------------------------------------------------- its files

QUANTITY_UNITS = {name: bound_unit(name) for name in PLACEMENT_QUANTITIES}
SWEEP_TABLE = Table(
    "sweep",
    "One row per run of the sweep (the cartesian product of the swept values).",
    (
        Column("point", "integer", "", "The run's number (its folder runs/point-<n>)."),
        Column(
            "<setting>",
            "number",
            "see meaning",
            "The value of each swept setting, one column per setting, named after it "
            "(e.g. placement.penalty_excess).",
        ),
        RUN_ID,
        STATUS,
        GAP,
        Column("objective", "number", "weight", "The run's objective."),
        Column(
            "<quantity>",
            "number",
            "see meaning",
            f"The plan's quantity of each part of its model: {listed(QUANTITY_UNITS)}; "
            "empty without a plan.",
            choices=PLACEMENT_QUANTITIES,
        ),
        Column(
            "moved",
            "integer",
            "households",
            "Households placed elsewhere than in the run before with a plan; empty for the first.",
        ),
    ),
)
SWEEP = Output(
    "sweep",
    ("asielplan sweep",),
    "One placement per value of one or two numeric settings.",
    (SWEEP_TABLE,),
    runs=((("runs/point-<n>/",), ("place",)),),
)


def sweep_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    return study_sections(
        run, "sweep.png", [("sweep", "One row per value")], "The sweep wrote no plot."
    )


STUDY = Study("sweep", "Weight sensitivity", SWEEP, sweep_sections)
