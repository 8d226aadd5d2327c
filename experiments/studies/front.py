"""Trade-off fronts by the epsilon-constraint method (weight sweeps: :mod:`.sweep`).

A front over axes ``(a_1, a_2[, a_3])`` (named quantities of the placement or the
reception objective, :data:`AXES`) optimises ``a_1`` while the others are bounded
(``placement.part_bounds``, ``reception.part_bounds``) on a grid between their ideal
and nadir values (Haimes, Lasdon & Wismer 1971; the augmented form of Mavrotas 2009:
the bounded axes keep a small weight so that a point is not weakly dominated). This
module holds the whole study: the configurations of the payoff table and the grid, the
runs, the dominance filter, the knee, the tables, the plot, its files, its report section
and its row in a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from asielplan.config import RunConfig, Strict, check_count, with_overrides
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError
from asielplan.experiments.outputs import (
    GAP,
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
    plan_reception,
    quantities,
    write_study,
)
from asielplan.experiments.sections import Section, Shapes, study_sections
from asielplan.experiments.studies.study import BatchStudy, Study, StudyRow
from asielplan.io import comma_list
from asielplan.model.checks import Problem as RunProblem
from asielplan.model.reception import COST_PARTS
from asielplan.solvers.highs import Progress
from asielplan.solvers.result import Status

# the bounded axes' weights in the grid runs, as a share of their configured weight: a
# tie-breaker between plans equal in the first axis (the augmented epsilon-constraint)
AUGMENT = 1e-3
# the share of solver.time_limit of a bounded axis's own optimum (it only sets the range)
RANGE_SHARE = 0.25
# a point is dominated only when another is better by more than this (relative) in an axis
DOMINANCE_TOLERANCE = 1e-9


Problem = Literal["placement", "reception"]


@dataclass(frozen=True)
class Axis:
    """A quantity a front can trade: its name (a bounded quantity of the problem's
    ``part_bounds``), whether more is better, its unit and the settings that weigh it
    in the objective."""

    name: str
    sense: Literal["max", "min"]
    unit: str
    weights: tuple[str, ...]


AXES: dict[Problem, dict[str, Axis]] = {
    "placement": {
        axis.name: axis
        for axis in (
            Axis("labour", "max", "expected employed persons", ("weight_labour",)),
            Axis("distance", "min", "km", ("weight_distance",)),
            Axis("leave_coa_region", "min", "households", ("weight_leave_coa_region",)),
            Axis("deviation", "min", "persons", ("penalty_shortfall", "penalty_excess")),
            Axis("unplaced", "min", "persons", ("unplaced_penalty",)),
            Axis("changes", "min", "households", ("weight_change",)),
        )
    },
    "reception": {
        axis.name: axis
        for axis in (
            Axis("money", "min", "EUR", ("money_weight",)),
            Axis("moves", "min", "moves", ("move_cost",)),
            Axis("emergency", "min", "place-nights", ("emergency_penalty",)),
            Axis("crisis", "min", "place-nights", ("crisis_penalty",)),
        )
    },
}


# the axes of a front when none are given (the CLI's and a batch's default)
DEFAULT_AXES: dict[Problem, str] = {"placement": "labour,distance", "reception": "money,emergency"}


def parse_axes(text: str, problem: Problem = "placement", option: str = "--axes") -> list[Axis]:
    """``"labour,distance"`` as axes of ``problem``; two or three, distinct, known."""
    known = AXES[problem]
    names = comma_list(text, option)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown axis {', '.join(unknown)}; {problem} axes: {', '.join(known)}")
    if not 2 <= len(names) <= 3:  # distinct already (comma_list)
        raise ValueError(f"give two or three distinct axes, not {text!r}")
    return [known[name] for name in names]


def objective_overrides(
    section: BaseModel, problem: Problem, axes: list[Axis], optimised: Axis
) -> dict[str, Any]:
    """Weights for optimising ``optimised``: its own as configured (1 when configured
    zero), the other axes' at :data:`AUGMENT` of theirs; parts that are no axis keep
    theirs. ``section``: the problem's configuration section."""
    out: dict[str, Any] = {}
    for axis in axes:
        for key in axis.weights:
            weight = float(getattr(section, key))
            if axis is optimised:
                out[f"{problem}.{key}"] = weight if weight > 0 else 1.0
            else:
                out[f"{problem}.{key}"] = AUGMENT * weight
    return out


def bound_overrides(
    section: Any, problem: Problem, axes: list[Axis], eps: dict[str, float]
) -> dict[str, Any]:
    """``PROBLEM.part_bounds`` with each bounded axis at its grid value: an upper bound
    for an axis to minimise, a lower one for an axis to maximise (bounds already in the
    configuration on other quantities stay)."""
    bounds = {name: bound.model_dump() for name, bound in section.part_bounds.items()}
    for axis in axes[1:]:
        side = "upper" if axis.sense == "min" else "lower"
        bounds[axis.name] = {side: float(eps[axis.name])}
    return {f"{problem}.part_bounds": bounds}


def range_time_limit(limit: float, range_only: bool) -> dict[str, Any]:
    """The time limit of a payoff run: a bounded axis's own optimum only sets the grid's
    range (no front point stands on it), so it gets :data:`RANGE_SHARE` of the limit."""
    return {"solver.time_limit": max(RANGE_SHARE * limit, 1.0)} if range_only else {}


def grid(
    ideal: dict[str, float], nadir: dict[str, float], axes: list[Axis], points: int
) -> list[dict[str, float]]:
    """The epsilon values of the grid runs, from tight (the ideal) to loose (the nadir:
    the first axis's own optimum meets it), so that an earlier run's plan meets a later
    run's bounds and starts it; over three axes a serpentine, each run beside the one
    before. Two axes: ``points`` values; three: the square root of ``points`` (rounded
    up) per bounded axis."""
    bounded = axes[1:]
    steps = points if len(bounded) == 1 else max(2, math.ceil(math.sqrt(points)))
    values = {a.name: np.linspace(ideal[a.name], nadir[a.name], steps) for a in bounded}
    out = []
    for i, first in enumerate(values[bounded[0].name]):
        if len(bounded) == 1:
            out.append({bounded[0].name: float(first)})
            continue
        seconds = values[bounded[1].name]
        for second in seconds if i % 2 == 0 else seconds[::-1]:
            out.append({bounded[0].name: float(first), bounded[1].name: float(second)})
    return out


def meets(values: dict[str, float], eps: dict[str, float], axes: list[Axis]) -> bool:
    """Whether a run's axis values meet a grid run's bounds."""
    for axis in axes[1:]:
        if axis.name not in values:
            return False
        if axis.sense == "min" and values[axis.name] > eps[axis.name]:
            return False
        if axis.sense == "max" and values[axis.name] < eps[axis.name]:
            return False
    return True


def oriented(table: pd.DataFrame, axes: list[Axis]) -> np.ndarray:
    """The axes' values with every axis turned to 'less is better'."""
    return np.column_stack(
        [table[a.name].to_numpy(float) * (-1.0 if a.sense == "max" else 1.0) for a in axes]
    )


def non_dominated(table: pd.DataFrame, axes: list[Axis]) -> np.ndarray:
    """Which rows no other row dominates (at least as good in every axis, better in one);
    of rows equal in every axis only the first is kept."""
    values = oriented(table, axes)
    scale = np.maximum(np.abs(values).max(axis=0), 1.0) * DOMINANCE_TOLERANCE
    keep = np.ones(len(values), dtype=bool)
    for i in range(len(values)):
        for j in range(len(values)):
            if i == j:
                continue
            no_worse = np.all(values[j] <= values[i] + scale)
            better = np.any(values[j] < values[i] - scale)
            if no_worse and (better or j < i):
                keep[i] = False
                break
    return keep


def knee(table: pd.DataFrame, axes: list[Axis]) -> int | None:
    """The front's knee: the point closest (Euclidean) to the ideal point once every
    axis is scaled to [0, 1] between its best and worst value on the front. None for a
    front of one point."""
    if len(table) < 2:
        return None
    values = oriented(table, axes)
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    distance = np.sqrt((((values - low) / span) ** 2).sum(axis=1))
    return int(table.index[int(np.argmin(distance))])


def front_table(points: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    """The tidy front: one row per non-dominated point and quantity (``part``), with
    the point's run id, status and gap."""
    on_front = points.loc[points["on_front"], ["point", "run_id", "status", "gap"]]
    return on_front.merge(parts, on="point").sort_values(["point", "part"], kind="stable")


def off_axis_parts(
    parts: pd.DataFrame, points: pd.DataFrame, axes: list[Axis], default: dict[str, float]
) -> list[str]:
    """The default run's parts that are no axis of the front and lie outside the range
    the front's points have on them (e.g. crisis place-nights on a money/emergency
    front): there the default is not comparable with the front on its axes alone, one
    line per part with both."""
    shown = {axis.name for axis in axes}
    on_front = parts[parts["point"].isin(points.loc[points["on_front"], "point"])]
    lines = []
    for key, values in on_front.groupby("part", sort=True)["quantity"]:
        part = str(key)
        if part in shown or part not in default:
            continue
        low, high = float(values.min()), float(values.max())
        value = float(default[part])
        if not low - 1e-6 * max(1.0, abs(low)) <= value <= high + 1e-6 * max(1.0, abs(high)):
            lines.append(f"{part}: default {value:,.4g}, front {low:,.4g} to {high:,.4g}")
    return lines


def plot_front(
    points: pd.DataFrame,
    axes: list[Axis],
    default: dict[str, float],
    path: Path,
    title: str,
    parts: pd.DataFrame,
) -> None:
    """The front in the first two axes (the third, if any, as colour), the dominated
    points faint, the default run as a star and the knee named. Where the default run
    differs from every front point on a part that is no axis (:func:`off_axis_parts`),
    the star says so and those parts are printed beside it: the front's axes alone do
    not compare them."""
    plt = pyplot()

    x, y = axes[1], axes[0]
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    front = points[points["on_front"]].sort_values(x.name)
    other = points[~points["on_front"] & points["status"].isin(["optimal", "feasible"])]
    if len(other):
        ax.scatter(other[x.name], other[y.name], c="#bbbbbb", s=18, label="dominated")
    if len(axes) == 3:
        z = axes[2]
        shown = ax.scatter(
            front[x.name], front[y.name], c=front[z.name], cmap="viridis", s=40, zorder=3
        )
        fig.colorbar(shown, ax=ax, label=f"{z.name} ({z.unit})")
    else:
        ax.plot(front[x.name], front[y.name], "o-", color="#4C72B0", zorder=3, label="front")
    elsewhere = off_axis_parts(parts, points, axes, default)
    ax.scatter(
        [default[x.name]],
        [default[y.name]],
        marker="*",
        s=220,
        c="#C44E52",
        zorder=4,
        label="default run" + (" (differs off these axes)" if elsewhere else ""),
    )
    if elsewhere:
        ax.annotate(
            "default run, off the front's axes:\n" + "\n".join(elsewhere),
            (default[x.name], default[y.name]),
            xytext=(14, 14),
            textcoords="offset points",
            fontsize=7,
            color="#C44E52",
            arrowprops={"arrowstyle": "->", "color": "#C44E52"},
        )
    knees = front[front["knee"]]
    for _, row in knees.iterrows():
        ax.annotate(
            f"knee (point {int(row['point'])})",
            (row[x.name], row[y.name]),
            xytext=(12, -14),
            textcoords="offset points",
            arrowprops={"arrowstyle": "->"},
        )
    ax.set_xlabel(f"{x.name} ({x.unit})")
    ax.set_ylabel(f"{y.name} ({y.unit})")
    ax.set_title(f"{title}: {y.name} against {x.name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- the runs


@dataclass
class Front:
    """An epsilon-constraint front: ``points`` (one row per run: its role, the grid's
    bounds, the axes' values, status, gap, run id, whether it is on the front and the
    knee), ``parts`` (tidy: point x part quantity), the runs by point and the default
    run (the configuration as given), both without their data
    (:meth:`~asielplan.experiments.runs.Run.without_data`), and the default run's
    quantities, for comparison."""

    instance: Instance
    config: RunConfig
    axes: list[Axis]
    points: pd.DataFrame
    parts: pd.DataFrame
    runs: dict[int, Run]
    default: Run
    default_values: dict[str, float]

    @property
    def front(self) -> pd.DataFrame:
        return front_table(self.points, self.parts)


def front(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    axes: str = "labour,distance",
    points: int = 9,
    progress: Progress | None = None,
    problem: Problem = "placement",
) -> Front:
    """The trade-off front of the placement or the reception plan over ``axes`` (the
    first optimised, the others bounded on a grid of about ``points`` values between
    their ideal and nadir); each placement grid run starts from the best earlier plan
    that meets its bounds. See docs/tradeoffs.md."""

    config = config or RunConfig()
    say = progress or (lambda message: None)
    try:
        chosen = parse_axes(axes, problem)
    except ValueError as error:
        raise ConfigError(f"--axes: {error}") from None
    if points < 2:
        raise ConfigError("--points: a front needs at least 2 points")
    # the grid and each axis's own optimum
    check_count(points ** (len(chosen) - 1) + len(chosen), f"--points {points:,}", config.limits)
    kind: RunProblem = "place" if problem == "placement" else "reception"
    if kind == "reception" and config.reception.robust:
        raise ConfigError("a reception front plans one inflow: set reception.robust = false")
    inst = load_instance(instance)
    check(inst, config, kind)
    section = getattr(config, problem)
    payoff_configs = {
        axis.name: with_overrides(
            config,
            {
                **objective_overrides(section, problem, chosen, axis),
                **range_time_limit(config.solver.time_limit, axis is not chosen[0]),
            },
            f"front: optimise {axis.name}",
        )
        for axis in chosen
    }
    base = payoff_configs[chosen[0].name]
    probe = bound_overrides(section, problem, chosen, {a.name: 0.0 for a in chosen})
    probing = with_overrides(base, probe, "front: bounds")
    check_all(inst, [*payoff_configs.values(), probing], kind)

    def solve(cfg: RunConfig, start: np.ndarray | None = None) -> Run:
        if kind == "reception":
            return plan_reception(inst, cfg, progress)
        return place(inst, cfg, progress, start=start)

    rows: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    runs: dict[int, Run] = {}
    units = {name: axis.unit for name, axis in AXES[problem].items()}
    units.update(
        {name: spec.unit for name, spec in COST_PARTS.items()} if kind == "reception" else {}
    )

    def record(run: Run, role: str, eps: dict[str, float]) -> dict[str, float]:
        point = len(rows)
        values = quantities(run)
        runs[point] = run.without_data()
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
    default_values = quantities(default)
    default = default.without_data()

    def own_optimum(axis: Axis) -> Run:
        cfg = payoff_configs[axis.name]
        run = solve(cfg)
        cut_short = cfg.solver.time_limit < config.solver.time_limit  # a range-only run
        if run.solution.status == Status.NO_SOLUTION and cut_short:
            say(f"front: no plan in {cfg.solver.time_limit:g} s; again with the full limit")
            limit = {"solver.time_limit": config.solver.time_limit}
            run = solve(with_overrides(cfg, limit, f"front: optimise {axis.name}"))
        return run

    ideal: dict[str, float] = {}
    payoff: list[dict[str, float]] = []
    for number, axis in enumerate(chosen, start=1):
        say(f"front: optimising {axis.name} alone ({number}/{len(chosen)})")
        values = record(own_optimum(axis), f"ideal {axis.name}", {})
        if not values:
            break
        ideal[axis.name] = values[axis.name]
        payoff.append(values)
    if len(payoff) == len(chosen):
        nadir = {
            axis.name: (min if axis.sense == "max" else max)(p[axis.name] for p in payoff)
            for axis in chosen
        }
        eps_grid = grid(ideal, nadir, chosen, points)
        for number, eps in enumerate(eps_grid, start=1):
            if all(eps[a.name] == nadir[a.name] for a in chosen[1:]):
                continue  # the first axis's own optimum meets these bounds
            bounds = bound_overrides(section, problem, chosen, eps)
            cfg = with_overrides(base, bounds, "front: grid")
            shown = ", ".join(f"{name} {value:,.4g}" for name, value in eps.items())
            say(f"front: point {number}/{len(eps_grid)} ({shown})")
            start = _best_start(runs, rows, eps, chosen) if kind == "place" else None
            record(solve(cfg, start), "grid", eps)
    table = pd.DataFrame(rows)
    # the bounded axes' own optima only set the grid's range: the grid's tight end, the
    # first axis optimised within their value, stands for them
    candidates = table["role"].isin(["grid", f"ideal {chosen[0].name}"])
    solved = candidates & table["status"].isin([str(s) for s in Status if s.has_solution])
    table["on_front"] = False
    if solved.any():
        keep = non_dominated(table[solved], chosen)
        table.loc[table.index[solved][keep], "on_front"] = True
    knee_at = knee(table[table["on_front"]], chosen)
    table["knee"] = table.index == knee_at if knee_at is not None else False
    say(f"front: {int(table['on_front'].sum())} non-dominated points of {len(table)} runs")
    return Front(inst, config, chosen, table, pd.DataFrame(parts), runs, default, default_values)


def _best_start(
    runs: dict[int, Run], rows: list[dict[str, Any]], eps: dict[str, float], axes: list[Any]
) -> np.ndarray | None:
    """The plan of an earlier grid run (or the ideals) that meets ``eps`` with the best
    first axis: a feasible first incumbent for the next run."""
    first = axes[0]
    best: tuple[float, int] | None = None
    for row in rows:
        values = {a.name: row[a.name] for a in axes if np.isfinite(row[a.name])}
        if first.name in values and meets(values, eps, axes):
            score = values[first.name] * (1.0 if first.sense == "max" else -1.0)
            if best is None or score > best[0]:
                best = (score, row["point"])
    return None if best is None else placement_solution(runs[best[1]]).assignment


def write_front(result: Front, out: str | Path) -> Path:
    """``points`` and ``front`` (CSV/Parquet), ``front.png``, a manifest and each point's
    run (``runs/point-N``, ``runs/default``), atomically."""

    def draw(folder: Path) -> None:
        if result.points["on_front"].any():
            default = result.default_values
            title = result.instance.meta.name
            plot_front(
                result.points, result.axes, default, folder / "front.png", title, result.parts
            )

    runs = {f"point-{point}": run for point, run in result.runs.items()}
    return write_study(
        out,
        "front",
        result.instance,
        result.config,
        {"points": result.points, "front": result.front},
        {**runs, "default": result.default},
        draw,
        {"axes": [axis.name for axis in result.axes]},
    )


# --------------------------------------------------------------------------- its files

ALL_AXES = tuple(dict.fromkeys(name for axes in AXES.values() for name in axes))
AXIS_UNITS = {name: axis.unit for axes in AXES.values() for name, axis in axes.items()}
POINTS = Table(
    "points",
    "One row per run of the front: the payoff runs and the grid.",
    (
        Column("point", "integer", "", "The run's number (its folder runs/point-<n>)."),
        Column("role", "text", "", "ideal <axis> (an axis optimised alone) or grid."),
        Column(
            "bound_<axis>",
            "number",
            "see meaning",
            "The grid's bound on each bounded axis (upper for one to minimise, lower for "
            "one to maximise); empty for a payoff run.",
            choices=ALL_AXES,
        ),
        Column(
            "<axis>",
            "number",
            "see meaning",
            f"The plan's value on each axis: {listed(AXIS_UNITS)}; empty without a plan.",
            choices=ALL_AXES,
        ),
        RUN_ID,
        STATUS,
        GAP,
        Column(
            "objective",
            "number",
            "objective",
            "The run's objective (placement: a weight; reception: euros plus weights).",
        ),
        Column("on_front", "true-false", "", "The point is on the front (non-dominated)."),
        Column("knee", "true-false", "", "The point is the front's knee."),
    ),
)
FRONT_TABLE = Table(
    "front",
    "Tidy: one row per point on the front and quantity of its plan.",
    (
        Column("point", "integer", "", "The point (points.point)."),
        RUN_ID,
        STATUS,
        GAP,
        Column("part", "text", "", "The quantity: an objective part or a bounded sum of parts."),
        Column("unit", "text", "", "Its unit (empty where the front does not know it)."),
        Column("quantity", "number", "see unit", "The plan's quantity."),
    ),
)
FRONT = Output(
    "front",
    ("asielplan front",),
    "An epsilon-constraint trade-off front of the placement or the reception plan "
    "(docs/tradeoffs.md).",
    (POINTS, FRONT_TABLE),
    runs=((("runs/point-<n>/", "runs/default/"), ("place", "reception")),),
)


def front_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    return study_sections(
        run,
        "front.png",
        [("points", "Every point: its bounds, status, gap and run id"), ("front", "The front")],
        "No point on the front: no plot.",
    )


# --------------------------------------------------------------------------- in a batch


class FrontOptions(Strict):
    """``[front]`` of a batch file: the front a ``front`` run computes."""

    problem: Problem = Field(default="placement", description="placement or reception.")
    axes: tuple[str, ...] = Field(
        default=(),
        description="Two or three axes, the first optimised (as --axes of asielplan front); "
        "empty: labour, distance (placement) or money, emergency (reception).",
    )
    points: int = Field(default=9, ge=2, description="Grid points (about; 3 axes: squared).")

    def chosen(self) -> tuple[str, ...]:
        return self.axes or tuple(comma_list(DEFAULT_AXES[self.problem], "front.axes"))


def _batch_options(section: FrontOptions | None) -> dict[str, Any]:
    """The front's problem, axes and points (without [front]: the defaults)."""
    front = section or FrontOptions()
    return {"problem": front.problem, "axes": list(front.chosen()), "points": front.points}


def _run_in_batch(
    instance: str | Instance, config: RunConfig, options: dict[str, Any], folder: Path
) -> None:
    axes = ",".join(options["axes"])
    made = front(instance, config, axes, options["points"], problem=options["problem"])
    write_front(made, folder)


def _batch_row(run: RunFolder) -> StudyRow | None:
    """How many runs and points on the front, and the knee's value of each axis
    (``knee.labour``)."""
    table = run.table("points")
    if table is None:
        return None
    on_front = table[table["on_front"].astype(bool)]
    points = f"{len(on_front)} point{'' if len(on_front) == 1 else 's'}"
    numbers: dict[str, Any] = {"stop": f"{points} on the front of {len(table)} runs"}
    numbers.update(runs=len(table), on_front=len(on_front))
    knee = table[table["knee"].astype(bool)]
    for axis in run.manifest.get("axes", []):
        numbers[f"knee.{axis}"] = float(knee[axis].iloc[0]) if len(knee) else None
    gaps = pd.to_numeric(table["gap"], errors="coerce").tolist()
    return StudyRow(numbers, table["status"].astype(str).tolist(), gaps)


STUDY = Study(
    "front",
    "Trade-off front",
    FRONT,
    front_sections,
    batch=BatchStudy("front", "front", _batch_options, _run_in_batch, _batch_row),
)
