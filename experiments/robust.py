"""Robust reception planning: buffer capacity against emergency cost (ACVZ advice 6b).

A two-stage plan decides site openings and closings (the buffer) once, for all inflow
scenarios together, with the allocation per scenario. It is compared with the plan
made for one scenario only (the base, e.g. steady inflow) whose site decisions are then
held fixed while each scenario plays out. The difference in site cost is the cost of
the buffer; the difference in emergency cost (emergency and crisis beds, their
penalties, people without a bed) is what the buffer avoids.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from asielplan.config import RunConfig, SolverConfig
from asielplan.data.instance import Instance
from asielplan.model.reception import ReceptionData, prepare_reception
from asielplan.solvers.highs import Progress
from asielplan.solvers.reception import (
    ReceptionSolution,
    decision_frame,
    solve_reception,
)

SITE_PARTS = ("fixed", "opening")
EMERGENCY_PARTS = ("emergency_penalty", "unhoused_penalty")


@dataclass
class RobustResult:
    """The robust plan, the single-scenario plan evaluated on all scenarios, and the
    comparison table."""

    data: ReceptionData
    robust: ReceptionSolution
    single: ReceptionSolution
    evaluated: ReceptionSolution
    comparison: pd.DataFrame


def emergency_bed_cost(data: ReceptionData, sol: ReceptionSolution) -> float:
    """Expected cost of the emergency and crisis beds themselves (without penalties)."""
    occ = sol.occupancy.merge(data.sites[["site_id", "tier", "cost_per_night"]], on="site_id")
    occ = occ[occ["tier"].isin(["emergency", "crisis"])]
    weight = occ["scenario"].astype(object).map(data.weights).astype(float)
    return float((occ["persons"] * occ["cost_per_night"] * weight).sum() * data.nights)


def _summary(label: str, data: ReceptionData, sol: ReceptionSolution) -> dict[str, object]:
    site_cost = sum(sol.costs[p] for p in SITE_PARTS)
    emergency = emergency_bed_cost(data, sol) + sum(sol.costs[p] for p in EMERGENCY_PARTS)
    return {
        "plan": label,
        "status": sol.status.value,
        "site_cost": round(site_cost, 2),
        "expected_emergency_cost": round(emergency, 2),
        "expected_total": round(sol.objective or 0.0, 2),
        "gap": sol.gap,
    }


def robust_plan(
    inst: Instance,
    config: RunConfig,
    base: str,
    scenarios: list[str],
    solver: SolverConfig | None = None,
    progress: Progress | None = None,
) -> RobustResult:
    """Plan once against ``scenarios`` and compare with the plan made for ``base``."""
    solver = solver or config.solver
    say = progress or (lambda message: None)
    data = prepare_reception(inst, config.reception, scenarios)
    say(f"robust plan over {', '.join(scenarios)}")
    robust = solve_reception(data, solver, progress)
    say(f"plan for {base} only")
    single_data = prepare_reception(inst, config.reception, [base])
    single = solve_reception(single_data, solver, progress)
    say(f"the {base} plan's sites under every scenario")
    evaluated = solve_reception(data, solver, progress, fixed=decision_frame(single))
    rows = [
        _summary("robust", data, robust),
        _summary(f"{base} plan, sites fixed", data, evaluated),
    ]
    comparison = pd.DataFrame(rows)
    buffer_cost = rows[0]["site_cost"] - rows[1]["site_cost"]  # type: ignore[operator]
    avoided = rows[1]["expected_emergency_cost"] - rows[0]["expected_emergency_cost"]  # type: ignore[operator]
    comparison["buffer_cost"] = [round(buffer_cost, 2), 0.0]
    comparison["emergency_cost_avoided"] = [round(avoided, 2), 0.0]
    return RobustResult(data, robust, single, evaluated, comparison)
