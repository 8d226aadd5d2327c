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

from dataclasses import dataclass

import pandas as pd

from asielplan.config import RunConfig, SolverConfig
from asielplan.data.instance import Instance
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.solvers.highs import Progress
from asielplan.solvers.reception import ReceptionSolution, decision_frame, solve_reception

SITE_PARTS = ("fixed", "opening")
EMERGENCY_PENALTIES = ("emergency_penalty", "crisis_penalty", "unhoused_penalty")


@dataclass
class RobustResult:
    """The robust plan, the single-inflow plan evaluated on all inflows, and the
    comparison table."""

    data: ReceptionData
    robust: ReceptionSolution
    single: ReceptionSolution
    evaluated: ReceptionSolution
    comparison: pd.DataFrame


def emergency_bed_cost(data: ReceptionData, sol: ReceptionSolution) -> float:
    """Expected cost in euros of the emergency and crisis beds themselves."""
    occ = sol.occupancy.merge(data.sites[["site_id", "tier", "cost_per_night"]], on="site_id")
    occ = occ[occ["tier"].isin(["emergency", "crisis"])]
    weight = occ["inflow"].astype(object).map(data.weights).astype(float)
    return float((occ["persons"] * occ["cost_per_night"] * weight).sum() * data.nights)


def _summary(label: str, data: ReceptionData, sol: ReceptionSolution) -> dict[str, object]:
    parts = sol.objective_parts
    return {
        "plan": label,
        "status": sol.status.value,
        "inflows": ";".join(data.inflows),
        "inflow_weights": ";".join(f"{w}={data.weights[w]:g}" for w in data.inflows),
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
    """Plan once against ``inflows`` and compare with the plan made for ``base``."""
    solver = solver or config.solver
    say = progress or (lambda message: None)
    data = prepare_reception(inst, config.reception, inflows, config.schemes)
    say(f"robust plan over {', '.join(inflows)}")
    robust = solve_reception(data, solver, progress)
    say(f"plan for {base} only")
    single_data = prepare_reception(inst, config.reception, [base], config.schemes)
    single = solve_reception(single_data, solver, progress)
    say(f"the {base} plan's sites under every inflow")
    evaluated = solve_reception(data, solver, progress, fixed=decision_frame(single))
    robust_row = _summary("robust", data, robust)
    fixed_row = _summary(f"{base} plan, sites fixed", data, evaluated)
    comparison = pd.DataFrame([robust_row, fixed_row])

    def saved(column: str) -> float:
        """How much less of ``column`` the robust plan has than the fixed one."""
        return round(float(fixed_row[column]) - float(robust_row[column]), 2)  # type: ignore[arg-type]

    comparison["buffer_cost_eur"] = [-saved("site_cost_eur"), 0.0]
    comparison["emergency_cost_avoided_eur"] = [saved("emergency_bed_cost_eur"), 0.0]
    comparison["emergency_penalty_avoided"] = [saved("emergency_penalty"), 0.0]
    return RobustResult(data, robust, single, evaluated, comparison)
