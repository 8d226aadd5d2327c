"""The result contract: what every solve returns, whatever the problem.

Placement and reception both return a :class:`Result` (subclassed with the solution
itself: an assignment, or occupancy and flows). The studies built on runs (scheme
comparisons, fronts, explanations, weekly prices, batches, reports) read only these
fields:

- ``status``, normalised over solvers (:class:`Status`), and ``stop``: why the solve
  ended (the requested gap proven, the time limit, ...);
- ``objective`` and ``bound`` in the model's own sense (``sense``), and ``gap``, computed
  here and nowhere else (:func:`relative_gap`, :func:`within_gap`);
- ``objective_parts``: the objective split into named parts (quantity, unit, weight,
  contribution), whose contributions add up to the objective;
- ``duals``: per named constraint family, the dual value of every row, as the change
  of the objective (in the model's sense) per unit increase of the row's right-hand
  side, from the final linear program of the solve;
- ``timings`` with the keys of :data:`TIMING_KEYS`, and solver ``stats``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import pandas as pd

GAP_TOLERANCE = 1e-9  # relative slack when comparing a gap with the requested one
ABS_TOLERANCE = 1e-6  # objective units: incumbent and bound this close are equal
TIMING_KEYS = ("build_s", "solve_s", "read_back_s")


class Status(StrEnum):
    """Termination of a solve, normalised over solvers."""

    OPTIMAL = "optimal"  # proven within the requested gap
    FEASIBLE = "feasible"  # stopped (time limit) with a solution and a gap
    INFEASIBLE = "infeasible"  # with a diagnosis of what cannot be met
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped before any solution was found
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


def relative_gap(objective: float, bound: float) -> float:
    """Gap of a minimisation incumbent to its lower bound, relative to the incumbent:
    ``max(0, objective - bound) / max(|objective|, 1e-9)`` (as HiGHS reports it)."""
    return max(0.0, objective - bound) / max(abs(objective), 1e-9)


def within_gap(objective: float, bound: float, requested: float) -> bool:
    """Whether a minimisation incumbent is proven within the ``requested`` relative gap
    of its bound, with the tolerances of this module (an incumbent equal to its bound is
    within a requested gap of 0)."""
    slack = objective - bound
    return slack <= ABS_TOLERANCE or slack <= (requested + GAP_TOLERANCE) * max(
        abs(objective), 1e-9
    )


def proof_target(bound: float, requested: float) -> float:
    """A minimisation objective that :func:`within_gap` proves within the ``requested``
    relative gap of ``bound``: the highest by the relative gap alone (its tolerance
    left out, so a little on the safe side), and at least half the absolute tolerance
    above the bound (a requested gap of 0, a bound near 0). A MIP of the search may
    stop at its first plan better than this (HiGHS's ``objective_target``), as no better
    plan is needed to prove the run."""
    if bound < 0:
        relative = bound / (1.0 + requested)
    else:
        relative = bound / (1.0 - requested) if requested < 1.0 else float("inf")
    return max(relative, bound + ABS_TOLERANCE / 2)


@dataclass(frozen=True)
class ObjectivePart:
    """One named part of an objective: how much of something, and what it weighs.

    ``contribution`` is what the part adds to the objective in the model's own sense
    (negative for a cost in a maximisation). ``kind`` says whether the part is money
    (euros, ``money``) or a planner's weight (``weight``); the two are never added up as
    one amount of money.
    """

    name: str
    quantity: float
    unit: str
    weight: float
    contribution: float
    kind: Literal["money", "weight"] = "weight"


@dataclass(kw_only=True)
class Result:
    """What a solve returns; see the module docstring for the meaning of each field."""

    problem: Literal["placement", "reception", "chain"]
    status: Status
    sense: Literal["max", "min"]
    objective: float | None
    bound: float | None
    requested_gap: float
    time_limit: float
    objective_parts: dict[str, ObjectivePart] = field(default_factory=dict)
    duals: dict[str, pd.Series] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    constant: float = 0.0  # the objective's constant term, in the model's sense

    def _min_form(self) -> tuple[float, float] | None:
        if self.objective is None or self.bound is None:
            return None
        sign = -1.0 if self.sense == "max" else 1.0
        return sign * self.objective, sign * self.bound

    @property
    def gap(self) -> float | None:
        """Relative gap between the incumbent and the proven bound (None without both)."""
        pair = self._min_form()
        return None if pair is None else relative_gap(*pair)

    @property
    def gap_variable(self) -> float | None:
        """The same gap on the objective without its constant term (:attr:`constant`;
        a placement's shortfall were nobody placed, which makes a weekly batch's gap look
        tiny); equal to :attr:`gap` when the objective has no constant."""
        pair = self._min_form()
        if pair is None:
            return None
        sign = -1.0 if self.sense == "max" else 1.0
        shift = sign * self.constant
        return relative_gap(pair[0] - shift, pair[1] - shift)

    @property
    def proven(self) -> bool:
        """Whether the incumbent is proven within the requested gap."""
        pair = self._min_form()
        return pair is not None and within_gap(*pair, self.requested_gap)

    @property
    def stop(self) -> str:
        """Why the solve ended, in words a planner can read."""
        requested = f"{100 * self.requested_gap:.4g}%"
        if self.status == Status.OPTIMAL:
            gap = self.gap or 0.0
            if gap <= GAP_TOLERANCE:
                return "optimal: the incumbent equals the proven bound"
            return (
                f"proven within the requested gap of {requested} (gap {100 * gap:.4g}%"
                f"{self._variable_note()})"
            )
        if self.status == Status.FEASIBLE:
            shown = "unknown" if self.gap is None else f"{100 * self.gap:.4g}%"
            return (
                f"stopped by the time limit of {self.time_limit:g} s at gap {shown} "
                f"(requested {requested}{self._variable_note()})"
            )
        if self.status == Status.NO_SOLUTION:
            return f"no solution found within the time limit of {self.time_limit:g} s"
        if self.status == Status.INFEASIBLE:
            return "infeasible: the diagnosis lists what cannot be met and by how much"
        return f"{self.status.value}: {self.message}"

    def _variable_note(self) -> str:
        """'; X% without the constant' when the objective has a constant term."""
        variable = self.gap_variable
        if self.constant == 0 or variable is None:
            return ""
        return f"; {100 * variable:.4g}% on the objective without its constant"

    def parts_table(self) -> pd.DataFrame:
        """The objective parts as a table: one row per part, money and weights in
        separate columns (``money_eur``, ``weighted``)."""
        rows = [
            {
                "part": p.name,
                "quantity": p.quantity,
                "unit": p.unit,
                "weight": p.weight,
                "money_eur": p.contribution if p.kind == "money" else 0.0,
                "weighted": p.contribution if p.kind == "weight" else 0.0,
            }
            for p in self.objective_parts.values()
        ]
        columns = ["part", "quantity", "unit", "weight", "money_eur", "weighted"]
        return pd.DataFrame(rows, columns=columns)

    def duals_table(self) -> pd.DataFrame:
        """Every kept dual as a tidy table: family, constraint (row label), dual."""
        frames = [
            pd.DataFrame({"family": name, "constraint": series.index.astype(str), "dual": series})
            for name, series in self.duals.items()
        ]
        columns = ["family", "constraint", "dual"]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]
