"""Solving the reception model and reading the solution back.

The Pyomo model is compiled to matrix form and solved by HiGHS in one MIP run (other
Pyomo solvers by name get the model itself). Values are read back into plain tables.
People without a bed (the virtual ``UNHOUSED`` site) or sites below their minimum
occupancy make the plan infeasible: the status says so and ``diagnosis`` lists per
period what is missing and by how much.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from asielplan.config import SolverConfig
from asielplan.model.reception import (
    OPEN,
    UNHOUSED,
    Index,
    ReceptionData,
    build_reception_model,
    objective_terms,
)
from asielplan.solvers.highs import HighsSession, Status, compile_model, solve_with_pyomo

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
TOLERANCE = 1e-6


@dataclass
class ReceptionSolution:
    """A solved reception plan as tables (values rounded to 1e-6)."""

    status: Status
    objective: float | None
    bound: float | None
    occupancy: pd.DataFrame  # scenario, class, type, stage, site, period, persons and flows
    flows: pd.DataFrame  # scenario, type_id, from, to, period, persons
    decisions: pd.DataFrame  # site_id, period, open (1/0), started (1/0)
    costs: dict[str, float]  # expected cost split by objective part
    diagnosis: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return max(0.0, self.objective - self.bound) / max(abs(self.objective), 1e-9)


def solve_reception(
    data: ReceptionData,
    config: SolverConfig,
    progress: Progress | None = None,
    fixed: pd.DataFrame | None = None,
) -> ReceptionSolution:
    """Build, solve and read back. ``fixed`` (site_id, period, open, started) fixes the
    site decisions, e.g. to evaluate another plan's openings under other scenarios."""
    say = progress or (lambda message: log.info(message))
    t0 = time.perf_counter()
    say("building the reception model")
    model, idx = build_reception_model(data)
    if fixed is not None:
        _fix_decisions(model, data, fixed)
    t1 = time.perf_counter()
    stats = {
        "variables": model.nvariables(),
        "constraints": model.nconstraints(),
        "binaries": sum(1 for v in model.component_data_objects(pyo.Var) if v.is_binary()),
    }
    say(f"solving ({stats['variables']:,} variables, {stats['binaries']:,} binaries)")
    if config.name == "highs":
        compiled = compile_model(model)
        t_compiled = time.perf_counter()
        session = HighsSession(compiled, config, relax=False)
        outcome = session.solve()
        if outcome.x is not None:
            for var, value in zip(compiled.columns, outcome.x, strict=True):
                var.set_value(float(value), skip_validation=True)
        compile_s = t_compiled - t1
    else:
        outcome = solve_with_pyomo(model, config)
        compile_s = 0.0
    t2 = time.perf_counter()
    if not outcome.status.has_solution:
        empty = pd.DataFrame()
        return ReceptionSolution(
            outcome.status,
            None,
            None,
            empty,
            empty,
            empty,
            {},
            empty,
            {"build_s": t1 - t0, "compile_s": compile_s, "solve_s": t2 - t1},
            stats,
            outcome.message,
        )
    say("reading the plan back")
    occupancy, flows, decisions = _read_back(model, data, idx)
    costs = {
        name: float(sum(pyo.value(term) for term in parts))
        for name, parts in objective_terms(model, data, idx).items()
    }
    diagnosis = _diagnosis(model, data, idx, occupancy)
    status = outcome.status if diagnosis.empty else Status.INFEASIBLE
    t3 = time.perf_counter()
    return ReceptionSolution(
        status=status,
        objective=outcome.objective,
        bound=outcome.bound,
        occupancy=occupancy,
        flows=flows,
        decisions=decisions,
        costs=costs,
        diagnosis=diagnosis,
        timings={
            "build_s": t1 - t0,
            "compile_s": compile_s,
            "solve_s": t2 - t1 - compile_s,
            "read_s": t3 - t2,
        },
        stats=stats,
        message=outcome.message,
    )


def _fix_decisions(model: pyo.ConcreteModel, data: ReceptionData, fixed: pd.DataFrame) -> None:
    site_pos = {sid: s for s, sid in enumerate(data.sites["site_id"])}
    row: Any
    for row in fixed.itertuples(index=False):
        s = site_pos.get(str(row.site_id))
        if s is None:
            continue
        key = (s, int(row.period))
        if key in model.open:
            model.open[key].fix(int(row.open))
        if key in model.start:
            model.start[key].fix(int(row.started))


def _value(var: Any) -> float:
    value = var.value
    return 0.0 if value is None else round(float(value), 6) + 0.0


def _read_back(
    model: pyo.ConcreteModel, data: ReceptionData, idx: Index
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    scenario = data.scenarios
    class_id = data.classes["class_id"].tolist()
    type_id = [data.types["type_id"][k] for k in data.classes["type"]]
    stage = data.classes["stage"].tolist()
    kind = data.classes["type"].tolist()
    site_id = data.sites["site_id"].tolist()
    exits = set(idx.exits)
    rows = []
    for key in idx.occupancy:
        w, c, s, t = key
        promoted = (w, kind[c], s, t)
        row = (
            scenario[w],
            class_id[c],
            type_id[c],
            stage[c],
            site_id[s],
            t,
            _value(model.y[key]),
            _value(model.inn[key]),
            _value(model.out[key]),
            _value(model.ex[key]) if key in exits else 0.0,
            _value(model.pr[promoted]) if stage[c] == 1 and promoted in model.pr else 0.0,
        )
        if any(row[6:]):
            rows.append(row)
    occupancy = pd.DataFrame(
        rows,
        columns=[
            "scenario",
            "class_id",
            "type_id",
            "stage",
            "site_id",
            "period",
            "persons",
            "entered",
            "left",
            "exited",
            "promoted",
        ],
    )
    flow_rows = []
    for w, c, u, v, t in idx.flows:
        value = _value(model.f[w, c, u, v, t])
        if value > TOLERANCE:
            flow_rows.append((scenario[w], class_id[c], type_id[c], u, v, t, value))
    flows = pd.DataFrame(
        flow_rows, columns=["scenario", "class_id", "type_id", "from", "to", "period", "persons"]
    )
    decisions = []
    for s, sid in enumerate(site_id):
        if sid == UNHOUSED:
            continue
        for t in data.periods:
            if (s, t) in model.open:
                is_open = round(_value(model.open[s, t]))
            else:
                is_open = int(data.status[s, t] == OPEN)
            started = round(_value(model.start[s, t])) if (s, t) in model.start else 0
            decisions.append((sid, t, int(is_open), int(started)))
    return (
        occupancy,
        flows,
        pd.DataFrame(decisions, columns=["site_id", "period", "open", "started"]),
    )


def _diagnosis(
    model: pyo.ConcreteModel, data: ReceptionData, idx: Index, occupancy: pd.DataFrame
) -> pd.DataFrame:
    """What cannot be met: people without a bed per scenario, period and line, and
    sites below their minimum occupancy."""
    rows: list[tuple[str, str, int, str, float]] = []
    unhoused = occupancy[(occupancy["site_id"] == UNHOUSED) & (occupancy["persons"] > TOLERANCE)]
    for (scenario, period), group in unhoused.groupby(["scenario", "period"], sort=True):
        rows.append(
            (
                str(scenario),
                "capacity",
                int(period),
                "persons without a bed (all sites full or closed)",
                round(float(group["persons"].sum()), 6),
            )
        )
    site_id = data.sites["site_id"].tolist()
    minimum = data.sites["min_occupancy"].tolist()
    for w, s, t in idx.min_occupancy:
        short = _value(model.short[w, s, t])
        if short > TOLERANCE:
            rows.append(
                (
                    data.scenarios[w],
                    "min_occupancy",
                    t,
                    f"site {site_id[s]} below its minimum of {minimum[s]}",
                    short,
                )
            )
    return pd.DataFrame(rows, columns=["scenario", "family", "period", "what", "missing"])


def decision_frame(solution: ReceptionSolution) -> pd.DataFrame:
    """The site decisions of a plan, to fix them in another run."""
    return solution.decisions[["site_id", "period", "open", "started"]].copy()
