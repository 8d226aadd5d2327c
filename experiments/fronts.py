"""Trade-off fronts by the epsilon-constraint method, and weight sweeps.

A front over axes ``(a_1, a_2[, a_3])`` (named quantities of the placement or the
reception objective, :data:`AXES`) optimises ``a_1`` while the others are bounded
(``placement.part_bounds``, ``reception.part_bounds``) on a grid between their ideal
and nadir values (Haimes, Lasdon & Wismer 1971; the augmented form of Mavrotas 2009:
the bounded axes keep a small weight so that a point is not weakly dominated). This
module holds the pure steps: the configurations of the payoff table and the grid, the
dominance filter, the knee and the tables and plots. The runs themselves are made by
``asielplan.api.front``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from asielplan.experiments.plots import pyplot
from asielplan.io import comma_list

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


# --------------------------------------------------------------------------- sweeps


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
