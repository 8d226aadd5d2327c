"""Solve the chain plan in lexicographic stages with HiGHS.

1. ``crisis``: the fewest crisis place-nights the levers allow (crisis reception is the
   last resort, never traded against money);
2. ``national`` (only for the question ``chain.smallest_national``): the smallest
   taakstelling that keeps crisis at that number, then fixed;
3. ``cost``: money plus weights, with the crisis place-nights held (within
   ``CRISIS_TOLERANCE``).

Every stage starts from the plan of the one before, so a stage stopped by the time
limit still leaves a plan; the run is proven only when every stage is. The time limit
counts from the start of the build, for all stages together.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from asielplan.config import SolverConfig
from asielplan.errors import InputError, Issue
from asielplan.model.chain import (
    CRISIS_TOLERANCE,
    ChainData,
    build_chain_model,
    objective_parts,
)
from asielplan.solvers.highs import Compiled, HighsSession, Outcome, Progress, compile_model
from asielplan.solvers.result import ObjectivePart, Result, Status

log = logging.getLogger(__name__)
STAGE_COLUMNS = ("stage", "status", "objective", "bound", "gap", "seconds")


@dataclass(kw_only=True)
class ChainSolution(Result):
    """A chain plan: the model with the plan's values (``model``), and per stage its
    status, objective, bound and seconds (``stages``)."""

    model: pyo.ConcreteModel | None = None
    stages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stop(self) -> str:
        unproven = [s["stage"] for s in self.stages if s["status"] != Status.OPTIMAL.value]
        base = super().stop
        if self.status.has_solution and unproven:
            return f"{base}; stage(s) not proven: {', '.join(unproven)}"
        return base


def _vector(expr: Any, compiled: Compiled) -> np.ndarray:
    """The coefficients of a linear expression per column of ``compiled``."""
    column = {id(var): j for j, var in enumerate(compiled.columns)}
    out = np.zeros(len(compiled.columns))
    repn = generate_standard_repn(expr, compute_values=True)
    for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        j = column.get(id(var))
        if j is not None:
            out[j] += float(coef)
    return out


def solve_chain(
    data: ChainData, config: SolverConfig, progress: Progress | None = None
) -> ChainSolution:
    """Build, solve the stages, and read the plan back into the model's variables."""
    if config.name != "highs":
        raise InputError(
            [
                Issue(
                    "config",
                    None,
                    "solver.name",
                    "highs for the chain plan",
                    f"the chain plan solves its stages with HiGHS, not {config.name!r}",
                )
            ],
            "configuration",
        )
    say = progress or (lambda message: log.info(message))
    started = time.perf_counter()

    def left() -> float:
        return max(config.time_limit - (time.perf_counter() - started), 0.01)

    say("building the chain model")
    m = build_chain_model(data)
    compiled = compile_model(m)
    built = time.perf_counter()
    stats: dict[str, Any] = {
        "variables": len(compiled.columns),
        "constraints": int(compiled.A.shape[0]),
        "binaries": int(compiled.integer.sum()),
    }
    session = HighsSession(compiled, config, relax=False)
    crisis = _vector(m.crisis_nights, compiled)
    stages: list[dict[str, Any]] = []
    start: tuple[np.ndarray, np.ndarray] | None = None
    last: Outcome | None = None

    def run(name: str, cost: np.ndarray, offset: float, limit: float) -> Outcome:
        nonlocal start, last
        say(
            f"stage {len(stages) + 1}: {name} ({stats['variables']:,} variables, "
            f"{stats['binaries']:,} binaries)"
        )
        session.set_costs(cost)
        session.h.changeObjectiveOffset(offset)
        outcome = session.solve(time_limit=limit, start=start)
        stages.append(
            {
                "stage": name,
                "status": outcome.status.value,
                "objective": outcome.objective,
                "bound": outcome.bound,
                "gap": outcome.gap,
                "seconds": outcome.seconds,
            }
        )
        if outcome.x is not None:
            start = (np.arange(len(outcome.x)), outcome.x)
            last = outcome
        return outcome

    first = run("crisis", crisis, 0.0, left() / 2)
    if first.x is not None:
        held = float(first.objective or 0.0) + CRISIS_TOLERANCE
        _add_row(session, crisis, held)
        if data.config.smallest_national != "off" and data.levers:
            national = _vector(m.national_total, compiled)
            found = run("national", national, 0.0, left() / 2)
            if found.x is not None:
                index = np.flatnonzero(national)
                values = np.round(found.x[index])
                session.set_bounds(index, values, values)
        run("cost", compiled.cost, compiled.offset, left())
    solved = time.perf_counter()
    timings = {"build_s": built - started, "solve_s": solved - built}
    stats["stages"] = stages  # with each stage's seconds, like the reception's compile_s
    final = stages[-1]
    proven = all(s["status"] == Status.OPTIMAL.value for s in stages)
    if last is None or last.x is None:
        status: Status = first.status if first.status != Status.OPTIMAL else Status.NO_SOLUTION
        return ChainSolution(
            problem="chain",
            status=status,
            sense="min",
            objective=None,
            bound=None,
            requested_gap=config.mip_gap,
            time_limit=config.time_limit,
            timings={**timings, "read_back_s": 0.0},
            stats=stats,
            message=first.message,
            stages=stages,
        )
    for var, value in zip(compiled.columns, last.x, strict=True):
        var.set_value(float(value), skip_validation=True)
    read = time.perf_counter()
    cost_stage = final["stage"] == "cost" and final["objective"] is not None
    status = Status.OPTIMAL if proven and cost_stage else Status.FEASIBLE
    parts = {
        name: ObjectivePart(
            name,
            float(pyo.value(quantity)),
            UNITS[name],
            weight,
            weight * float(pyo.value(quantity)),
            kind,  # type: ignore[arg-type]
        )
        for name, (quantity, weight, kind) in objective_parts(m, data).items()
        if name != "crisis_nights"  # the crisis_beds part's quantity, held by stage 1
    }
    objective = float(pyo.value(m.cost))
    bound = final["bound"] if cost_stage else None
    return ChainSolution(
        problem="chain",
        status=status,
        sense="min",
        objective=objective,
        bound=None if bound is None else min(float(bound), objective),
        requested_gap=config.mip_gap,
        time_limit=config.time_limit,
        objective_parts=parts,
        timings={**timings, "read_back_s": time.perf_counter() - read},
        stats=stats,
        model=m,
        stages=stages,
    )


def _add_row(session: HighsSession, row: np.ndarray, upper: float) -> None:
    index = np.flatnonzero(row)
    session.add_rows(np.array([-np.inf]), np.array([upper]), np.array([0]), index, row[index])


UNITS = {
    "regular_beds": "EUR",
    "emergency_beds": "EUR",
    "crisis_beds": "place-nights",
    "site_fixed": "EUR",
    "site_opening": "EUR",
    "added_decisions": "decisions",
    "emergency_penalty": "place-nights",
    "national": "persons",
}
