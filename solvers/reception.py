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
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
from asielplan.solvers.highs import (
    Compiled,
    HighsSession,
    Outcome,
    Progress,
    Status,
    compile_model,
    relative_gap,
    solve_with_pyomo,
)

log = logging.getLogger(__name__)
TOLERANCE = 1e-6
LARGE_MODEL_COLUMNS = 50_000


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
    method: str = "auto",
) -> ReceptionSolution:
    """Build, solve and read back. ``fixed`` (site_id, period, open, started) fixes the
    site decisions, e.g. to evaluate another plan's openings under other scenarios.

    ``method``: ``mip`` runs HiGHS's branch and bound; ``lp_round`` solves the LP
    relaxation (its optimum is the reported bound), rounds the site decisions
    (:func:`round_site_decisions`) and solves the LP with them fixed (the reported
    plan); ``auto`` takes ``lp_round`` for models over ``LARGE_MODEL_COLUMNS``
    columns, where the MIP's simplex root alone outlasts the time limit."""
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
        large = len(compiled.columns) > LARGE_MODEL_COLUMNS and compiled.integer.any()
        use_rounding = method == "lp_round" or (method == "auto" and large)
        stats["method"] = "lp_round" if use_rounding else "mip"
        if use_rounding:
            say("solving the LP relaxation (interior point), then rounding site decisions")
            outcome = _solve_lp_round(model, data, idx, compiled, config)
        else:
            outcome = HighsSession(compiled, config, relax=False).solve()
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


def round_site_decisions(
    data: ReceptionData, idx: Index, open_value: dict[tuple[int, int], float]
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """Whole site decisions from LP values that keep every rule of
    :func:`~asielplan.model.reception.add_site_decisions`.

    A candidate opens in the first period its LP value reaches 1/2, stays open for its
    contract, then while the LP keeps it at 1/2 or more, and never reopens. A site past
    its contract stays open while its LP value is 1/2 or more, then closes for good."""
    periods: dict[int, list[int]] = {}
    for s, t in idx.decide:
        periods.setdefault(s, []).append(t)
    candidates = {s for s, _ in idx.starts}
    length = data.sites["contract_periods"].astype(int).tolist()
    opened: dict[tuple[int, int], int] = {}
    started: dict[tuple[int, int], int] = dict.fromkeys(idx.starts, 0)
    for s, ts in periods.items():
        ts = sorted(ts)
        wants = {t: open_value.get((s, t), 0.0) >= 0.5 for t in ts}
        if s in candidates:
            start = next((t for t in ts if wants[t]), None)
            if start is None:
                opened.update(dict.fromkeys(((s, t) for t in ts), 0))
                continue
            started[s, start] = 1
            keep = [t < start + length[s] or wants[t] for t in ts if t >= start]
            kept = keep.index(False) if False in keep else len(keep)
            open_until = start + kept  # first period closed for good
            opened.update({(s, t): int(start <= t < open_until) for t in ts})
        else:
            closes = next((t for t in ts if not wants[t]), None)
            opened.update({(s, t): int(closes is None or t < closes) for t in ts})
    return opened, started


def _solve_lp_round(
    model: pyo.ConcreteModel,
    data: ReceptionData,
    idx: Index,
    compiled: Compiled,
    config: SolverConfig,
) -> Outcome:
    """LP relaxation for the bound, rounded site decisions, LP for the plan."""
    started_at = time.perf_counter()
    session = HighsSession(compiled, config, relax=True)
    session.h.setOptionValue("solver", "ipm")
    import os

    session.h.setOptionValue("run_crossover", os.environ.get("XOVER", "off"))
    relaxed = session.solve()
    log.info("LP relaxation %.1f s", time.perf_counter() - started_at)
    if os.environ.get("XOVER") == "on":
        session.h.setOptionValue("solver", "simplex")
    if relaxed.status != Status.OPTIMAL or relaxed.x is None:
        return relaxed
    column = {id(var): i for i, var in enumerate(compiled.columns)}
    open_value = {
        key: float(relaxed.x[column[id(model.open[key])]])
        for key in idx.decide
        if id(model.open[key]) in column
    }
    opened, started = round_site_decisions(data, idx, open_value)
    fix = [(column[id(model.open[k])], v) for k, v in opened.items() if id(model.open[k]) in column]
    fix += [
        (column[id(model.start[k])], v) for k, v in started.items() if id(model.start[k]) in column
    ]
    if fix:
        cols, values = zip(*fix, strict=True)
        session.set_bounds(np.array(cols), np.array(values, float), np.array(values, float))
    left = config.time_limit - (time.perf_counter() - started_at)
    session.h.setOptionValue("run_crossover", "on")  # a vertex: whole numbers of people
    plan = session.solve(time_limit=max(left, 1.0))
    if not plan.status.has_solution or plan.objective is None:
        return plan
    bound = relaxed.objective
    gap = relative_gap(plan.objective, bound) if bound is not None else None
    status = Status.OPTIMAL if gap is not None and gap <= config.mip_gap else Status.FEASIBLE
    return Outcome(
        status,
        plan.objective,
        bound,
        time.perf_counter() - started_at,
        plan.x,
        message=f"LP bound, rounded site decisions ({len(fix)} fixed)",
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
    type_id = [data.types["type_id"][k] if k >= 0 else "" for k in data.classes["type"]]
    stage = data.classes["stage"].tolist()
    site_id = data.sites["site_id"].tolist()
    exits = set(idx.exits)
    promoted_out: dict[tuple[int, int, int, int], float] = defaultdict(float)
    promoted_in: dict[tuple[int, int, int, int], float] = {}
    for key in idx.promote_move:
        promoted_out[key] += _value(model.pm[key])
    for w, k, s, t in idx.promote_stay:
        c1, c2 = data.procedure_class(k), data.after_class(k)
        assert c1 is not None and c2 is not None
        value = _value(model.ps[w, k, s, t])
        promoted_out[w, c1, s, t] += value
        promoted_in[w, c2, s, t] = value
    rows = []
    for key in idx.occupancy:
        w, c, s, t = key
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
            round(promoted_out.get(key, 0.0), 6),
            promoted_in.get(key, 0.0),
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
            "promoted_out",
            "promoted_in",
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
