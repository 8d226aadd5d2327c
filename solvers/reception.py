"""Solving the reception model and reading the solution back.

The Pyomo model is compiled to matrix form and solved by HiGHS (other Pyomo solvers by
name get the model itself), by branch and bound or, for large models, as the LP bound
with rounded site decisions (``solver.reception_method``). Either way the plan ends in
an LP with the site decisions fixed, whose duals are kept (capacity, buffer, flow
balance). Values are read back into plain tables. People without a bed (the virtual
``UNHOUSED`` site) or sites below their minimum occupancy make the plan infeasible: the
status says so, and the tables say when and how many (the diagnosis is built from them
in ``asielplan.experiments.results``).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import SolverConfig
from asielplan.model.reception import (
    COST_PARTS,
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
    compile_model,
    solve_with_pyomo,
)
from asielplan.solvers.result import ObjectivePart, Result, Status, within_gap

log = logging.getLogger(__name__)
TOLERANCE = 1e-6
LARGE_MODEL_COLUMNS = 50_000
DUAL_FAMILIES = ("capacity", "buffer", "flow_balance")  # constraint families with duals kept


@dataclass(kw_only=True)
class ReceptionSolution(Result):
    """A reception plan: the result contract plus the plan as tables (values rounded to
    1e-6): ``occupancy`` (inflow, class, type, stage, site, period, persons and flows),
    ``flows`` (inflow, class, type, from, to, period, persons), ``decisions`` (site,
    period, open, started) and ``below_minimum`` (inflow, site, period, persons short
    of the site's minimum occupancy)."""

    occupancy: pd.DataFrame
    flows: pd.DataFrame
    decisions: pd.DataFrame
    below_minimum: pd.DataFrame


def solve_reception(
    data: ReceptionData,
    config: SolverConfig,
    progress: Progress | None = None,
    fixed: pd.DataFrame | None = None,
) -> ReceptionSolution:
    """Build, solve and read back. ``fixed`` (site_id, period, open, started) fixes the
    site decisions, e.g. to evaluate another plan's openings under other inflows.

    ``config.reception_method``: ``mip`` runs HiGHS's branch and bound; ``lp_round``
    solves the LP relaxation (its optimum is the reported bound), rounds the site
    decisions (:func:`round_site_decisions`) and solves the LP with them fixed (the
    reported plan); ``auto`` takes ``lp_round`` for models over ``LARGE_MODEL_COLUMNS``
    columns, where the MIP's simplex root alone outlasts the time limit.

    ``config.time_limit`` counts from the start of the build, for every step."""
    say = progress or (lambda message: log.info(message))
    started = time.perf_counter()

    def left() -> float:
        return config.time_limit - (time.perf_counter() - started)

    say("building the reception model")
    model, idx = build_reception_model(data)
    if fixed is not None:
        _fix_decisions(model, data, fixed)
    modelled = time.perf_counter()
    stats: dict[str, Any] = {
        "variables": model.nvariables(),
        "constraints": model.nconstraints(),
        "binaries": sum(1 for v in model.component_data_objects(pyo.Var) if v.is_binary()),
    }
    say(f"solving ({stats['variables']:,} variables, {stats['binaries']:,} binaries)")
    duals: dict[str, pd.Series] = {}
    if config.name == "highs":
        compiled = compile_model(model)
        built = time.perf_counter()
        stats["compile_s"] = built - modelled
        large = len(compiled.columns) > LARGE_MODEL_COLUMNS and compiled.integer.any()
        method = config.reception_method
        use_rounding = method == "lp_round" or (method == "auto" and large)
        stats["method"] = "lp_round" if use_rounding else "mip"
        if use_rounding:
            say("solving the LP relaxation (interior point), then rounding site decisions")
            outcome = _solve_lp_round(model, data, idx, compiled, config, left)
        else:
            outcome = HighsSession(compiled, config, relax=False).solve(time_limit=max(left(), 1.0))
            if outcome.x is not None and compiled.integer.any():
                say("the plan's LP with its site decisions fixed, for the duals")
                before = time.perf_counter()
                outcome.row_duals = _fixed_lp_duals(compiled, config, outcome.x, left())
                stats["duals_s"] = time.perf_counter() - before
        if outcome.x is not None:
            for var, value in zip(compiled.columns, outcome.x, strict=True):
                var.set_value(float(value), skip_validation=True)
        if outcome.row_duals is not None:
            duals = _family_duals(model, data, idx, compiled, outcome.row_duals)
    else:
        built = time.perf_counter()
        outcome = solve_with_pyomo(model, config)
    solved = time.perf_counter()
    timings = {"build_s": built - started, "solve_s": solved - built}
    if not outcome.status.has_solution:
        empty = pd.DataFrame()
        return _solution(
            config,
            outcome.status,
            timings={**timings, "read_back_s": 0.0},
            stats=stats,
            tables=(empty, empty, empty, empty),
            message=outcome.message,
        )
    say("reading the plan back")
    occupancy, flows, decisions = _read_back(model, data, idx)
    below = _below_minimum(model, data, idx)
    unhoused = occupancy.loc[occupancy["site_id"] == UNHOUSED, "persons"].sum()
    infeasible = unhoused > TOLERANCE or not below.empty
    return _solution(
        config,
        Status.INFEASIBLE if infeasible else outcome.status,
        objective=outcome.objective,
        bound=outcome.bound,
        parts=_parts(model, data, idx),
        duals=duals,
        timings={**timings, "read_back_s": time.perf_counter() - solved},
        stats=stats,
        tables=(occupancy, flows, decisions, below),
        message=outcome.message,
    )


def _solution(
    config: SolverConfig,
    status: Status,
    *,
    tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    objective: float | None = None,
    bound: float | None = None,
    parts: dict[str, ObjectivePart] | None = None,
    duals: dict[str, pd.Series] | None = None,
    timings: dict[str, float] | None = None,
    stats: dict[str, Any] | None = None,
    message: str = "",
) -> ReceptionSolution:
    occupancy, flows, decisions, below = tables
    return ReceptionSolution(
        problem="reception",
        status=status,
        sense="min",
        objective=objective,
        bound=bound,
        requested_gap=config.mip_gap,
        time_limit=config.time_limit,
        objective_parts=parts or {},
        duals=duals or {},
        timings=timings or {},
        stats=stats or {},
        message=message,
        occupancy=occupancy,
        flows=flows,
        decisions=decisions,
        below_minimum=below,
    )


def _parts(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> dict[str, ObjectivePart]:
    """Quantity and contribution of every cost part, from the values in the model."""
    out = {}
    for name, terms in objective_terms(m, data, idx).items():
        quantity = sum(float(pyo.value(q)) for _, q in terms)
        contribution = sum(cost * float(pyo.value(q)) for cost, q in terms)
        spec = COST_PARTS[name]
        costs = {cost for cost, _ in terms}
        if len(costs) == 1:  # one weight for the whole part (a setting)
            weight = costs.pop()
        else:  # per site: the average over what the plan uses
            weight = contribution / quantity if abs(quantity) > TOLERANCE else float("nan")
        out[name] = ObjectivePart(
            name,
            round(quantity, 6) + 0.0,
            spec.unit,
            round(weight, 6) + 0.0,
            contribution,
            spec.kind,
        )
    return out


def _family_duals(
    m: pyo.ConcreteModel, data: ReceptionData, idx: Index, compiled: Compiled, y: np.ndarray
) -> dict[str, pd.Series]:
    """Row duals of the kept families, labelled ``inflow:site:period`` (capacity),
    ``inflow:period`` (buffer) and ``inflow:class:site:period`` (flow balance)."""
    inflow, site = data.inflows, data.sites["site_id"].tolist()
    cls = data.classes["class_id"].tolist()
    label = {
        "capacity": lambda k: f"{inflow[k[0]]}:{site[k[1]]}:{k[2]}",
        "buffer": lambda k: f"{inflow[k[0]]}:{k[1]}",
        "flow_balance": lambda k: f"{inflow[k[0]]}:{cls[k[1]]}:{site[k[2]]}:{k[3]}",
    }
    out = {}
    for name in DUAL_FAMILIES:
        component = getattr(m, name, None)
        if component is None:
            continue
        series = compiled.duals(component, y, "min")
        series.index = pd.Index([label[name](k) for k in series.index])
        out[name] = series.round(9) + 0.0
    return out


def _fixed_lp_duals(
    compiled: Compiled, config: SolverConfig, x: np.ndarray, seconds: float
) -> np.ndarray | None:
    """Row duals of the LP with every integer column fixed at its value in ``x`` (the
    plan's LP: what the duals of a MIP plan mean). None when it does not finish."""
    session = HighsSession(compiled, config, relax=True)
    session.h.setOptionValue("solver", "ipm")  # as the plan's LP of lp_round: fast here
    session.h.setOptionValue("run_crossover", "on" if config.crossover else "off")
    integer = np.flatnonzero(compiled.integer)
    values = np.round(x[integer])
    session.set_bounds(integer, values, values)
    outcome = session.solve(time_limit=max(seconds, 1.0))
    return outcome.row_duals if outcome.status == Status.OPTIMAL else None


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
    left: Callable[[], float],
) -> Outcome:
    """LP relaxation for the bound (interior point, no crossover: only its optimum is
    used), rounded site decisions, and the LP for the plan with them fixed (ended in
    crossover when ``config.crossover``: a vertex, fewer fractional people)."""
    started_at = time.perf_counter()
    session = HighsSession(compiled, config, relax=True)
    session.h.setOptionValue("solver", "ipm")
    session.h.setOptionValue("run_crossover", "off")
    relaxed = session.solve(time_limit=max(left(), 1.0))
    log.info("LP relaxation %.1f s", time.perf_counter() - started_at)
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
    session.h.setOptionValue("run_crossover", "on" if config.crossover else "off")
    plan = session.solve(time_limit=max(left(), 1.0))
    if not plan.status.has_solution or plan.objective is None:
        return plan
    bound = relaxed.objective
    proven = bound is not None and within_gap(plan.objective, bound, config.mip_gap)
    return Outcome(
        Status.OPTIMAL if proven else Status.FEASIBLE,
        plan.objective,
        bound,
        time.perf_counter() - started_at,
        plan.x,
        row_duals=plan.row_duals,
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
    inflow = data.inflows
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
            inflow[w],
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
            "inflow",
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
            flow_rows.append((inflow[w], class_id[c], type_id[c], u, v, t, value))
    flows = pd.DataFrame(
        flow_rows, columns=["inflow", "class_id", "type_id", "from", "to", "period", "persons"]
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


def _below_minimum(model: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> pd.DataFrame:
    """Open sites below their minimum occupancy: inflow, site, period, persons short."""
    site_id = data.sites["site_id"].tolist()
    rows = [
        (data.inflows[w], site_id[s], t, short)
        for w, s, t in idx.min_occupancy
        if (short := _value(model.short[w, s, t])) > TOLERANCE
    ]
    return pd.DataFrame(rows, columns=["inflow", "site_id", "period", "short"])


def decision_frame(solution: ReceptionSolution) -> pd.DataFrame:
    """The site decisions of a plan, to fix them in another run."""
    return solution.decisions[["site_id", "period", "open", "started"]].copy()
