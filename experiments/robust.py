"""Robust reception planning: buffer capacity against emergency cost (ACVZ advice 6b).

A two-stage plan decides site openings and closings (the buffer) once, for all inflows
together, with the allocation per inflow. It is compared with the plan made for one
inflow only (the base, e.g. steady inflow) whose site decisions are then held fixed
while each inflow plays out. The difference in site cost is the cost of the buffer; the
difference in emergency cost is what the buffer avoids. Money (euros: site costs, the
emergency and crisis beds themselves) and the planner's weights (the penalties on
emergency and crisis place-nights and on people without a bed) are reported in separate
columns, never added up as money; expected values use the inflow weights, which the
table states.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from asielplan.config import RunConfig, SolverConfig
from asielplan.data.instance import Instance
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.solvers.highs import Progress
from asielplan.solvers.reception import ReceptionSolution, decision_frame, solve_reception

SITE_PARTS = ("fixed", "opening")
ROBUST_SHARE = 0.6  # of the time limit left, for the robust plan and then the base plan
EMERGENCY_PENALTIES = ("emergency_penalty", "crisis_penalty", "unhoused_penalty")


@dataclass
class RobustResult:
    """The robust plan, the single-inflow plan and its evaluation on all inflows (None
    when not solved: the robust plan found no solution, or the single plan none), and
    the comparison table (one row per plan solved)."""

    data: ReceptionData
    robust: ReceptionSolution
    single: ReceptionSolution | None
    evaluated: ReceptionSolution | None
    comparison: pd.DataFrame

    @property
    def timings(self) -> dict[str, float]:
        """Seconds of the solves together, per key."""
        out: dict[str, float] = {}
        for sol in (self.robust, self.single, self.evaluated):
            for key, seconds in (sol.timings if sol is not None else {}).items():
                out[key] = out.get(key, 0.0) + seconds
        return out


def emergency_bed_cost(data: ReceptionData, sol: ReceptionSolution) -> float:
    """Expected cost in euros of the emergency and crisis beds themselves."""
    occ = sol.occupancy.merge(data.sites[["site_id", "tier", "cost_per_night"]], on="site_id")
    occ = occ[occ["tier"].isin(["emergency", "crisis"])]
    weight = occ["inflow"].astype(object).map(data.weights).astype(float)
    return float((occ["persons"] * occ["cost_per_night"] * weight).sum() * data.nights)


# what the robust plan buys against the plan for the base inflow alone (blank without both)
COMPARISON_FIGURES = ("buffer_cost_eur", "emergency_cost_avoided_eur", "emergency_penalty_avoided")


def _summary(label: str, data: ReceptionData, sol: ReceptionSolution) -> dict[str, object]:
    """One row of the comparison; its figures are blank (NaN) when the solve found no
    plan (its status says why)."""
    row: dict[str, object] = {
        "plan": label,
        "status": sol.status.value,
        "inflows": ";".join(data.inflows),
        "inflow_weights": ";".join(f"{w}={data.weights[w]:g}" for w in data.inflows),
    }
    if not sol.status.has_solution:
        figures = ("site_cost_eur", "emergency_bed_cost_eur", "emergency_penalty")
        return {**row, **dict.fromkeys((*figures, "expected_objective"), float("nan")), "gap": None}
    parts = sol.objective_parts
    return {
        **row,
        "site_cost_eur": round(sum(parts[p].contribution for p in SITE_PARTS), 2),
        "emergency_bed_cost_eur": round(emergency_bed_cost(data, sol), 2),
        "emergency_penalty": round(sum(parts[p].contribution for p in EMERGENCY_PENALTIES), 2),
        "expected_objective": round(sol.objective or 0.0, 2),
        "gap": sol.gap,
    }


def robust_plan(
    inst: Instance,
    config: RunConfig,
    base: str,
    inflows: list[str],
    solver: SolverConfig | None = None,
    progress: Progress | None = None,
) -> RobustResult:
    """Plan once against ``inflows`` and compare with the plan made for ``base``.

    The three solves share the time limit: the robust plan gets ``ROBUST_SHARE`` of it,
    the plan for ``base`` alone ``ROBUST_SHARE`` of what is left, and the evaluation of
    that plan under every inflow the rest (each at least a second). When the robust
    plan has no solution, the others are not solved."""
    solver = solver or config.solver
    say = progress or (lambda message: None)
    started = time.perf_counter()

    def budget(share: float) -> SolverConfig:
        left = solver.time_limit - (time.perf_counter() - started)
        return solver.model_copy(update={"time_limit": max(share * left, 1.0)})

    data = prepare_reception(inst, config.reception, inflows, config.schemes)
    say(f"robust plan over {', '.join(inflows)}")
    robust = solve_reception(data, budget(ROBUST_SHARE), progress)
    robust_row = _summary("robust", data, robust)
    if not robust.status.has_solution:  # nothing to compare: the run's answer is its status
        nothing = dict.fromkeys(COMPARISON_FIGURES, float("nan"))
        return RobustResult(data, robust, None, None, pd.DataFrame([{**robust_row, **nothing}]))
    say(f"plan for {base} only")
    single_data = prepare_reception(inst, config.reception, [base], config.schemes)
    single = solve_reception(single_data, budget(ROBUST_SHARE), progress)
    evaluated = None
    if single.status.has_solution:
        say(f"the {base} plan's sites under every inflow")
        evaluated = solve_reception(data, budget(1.0), progress, fixed=decision_frame(single))
    # without a plan for the base inflow alone, its row carries that plan's status
    fixed_row = _summary(f"{base} plan, sites fixed", data, evaluated or single)
    comparison = pd.DataFrame([robust_row, fixed_row])

    def saved(column: str) -> float:
        """How much less of ``column`` the robust plan has than the fixed one."""
        return round(float(fixed_row[column]) - float(robust_row[column]), 2)  # type: ignore[arg-type]

    reference = 0.0 if evaluated is not None and evaluated.status.has_solution else float("nan")
    figures = (-saved("site_cost_eur"), saved("emergency_bed_cost_eur"), saved("emergency_penalty"))
    for column, figure in zip(COMPARISON_FIGURES, figures, strict=True):
        comparison[column] = [figure, reference]
    return RobustResult(data, robust, single, evaluated, comparison)
