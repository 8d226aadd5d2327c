"""The one place where a solver is called.

A Pyomo model is compiled to matrix form (Pyomo's ``LinearStandardFormCompiler``) and
handed to HiGHS through ``highspy``. Going through the matrix keeps the Pyomo model the
single statement of the formulation while giving what large runs need: columns added to
a live LP (column generation), row duals, warm starts, time limits and progress.

Other solvers are reached by name through Pyomo's ``SolverFactory`` (see
:func:`solve_with_pyomo`). Either way the outcome is normalised into
:class:`~asielplan.solvers.result.Status`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.dependencies import scipy_available
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from asielplan.config import SolverConfig
from asielplan.solvers.result import Status, relative_gap, within_gap

log = logging.getLogger(__name__)
Progress = Callable[[str], None]  # a callback that shows a progress message

# Pyomo imports SciPy (scipy.stats too, about 2 s) on the first compile; doing it here
# keeps that out of every solve's time limit. Imported directly first: Pyomo's deferred
# import would swallow an interrupt (Ctrl-C, SIGTERM) arriving during it and call SciPy
# missing.
import scipy.sparse  # noqa: E402
import scipy.stats  # noqa: E402

assert scipy_available, "the matrix form needs scipy"


@dataclass
class Outcome:
    """What a solve returned, in the minimisation form of the compiled model."""

    status: Status
    objective: float | None  # incumbent (min form, offset included)
    bound: float | None  # best proven lower bound (min form)
    seconds: float
    x: np.ndarray | None = None
    row_duals: np.ndarray | None = None
    col_duals: np.ndarray | None = None
    message: str = ""

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return relative_gap(self.objective, self.bound)


@dataclass
class Compiled:
    """A Pyomo model in matrix form, minimisation sense, one row per constraint."""

    A: Any  # scipy.sparse.csc_array, rows x columns
    row_lower: np.ndarray
    row_upper: np.ndarray
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    columns: list[Any]  # Pyomo VarData per column
    row_of: dict[int, int] = field(default_factory=dict)  # id(ConstraintData) -> row

    def row(self, constraint: Any) -> int:
        """The row of a constraint, or -1 when the compiler dropped it (no variable)."""
        return self.row_of.get(id(constraint), -1)

    def duals(self, component: Any, row_duals: np.ndarray, sense: str) -> pd.Series:
        """The dual of every row of a Pyomo constraint component, keyed by its index, as
        the change of the objective in the model's ``sense`` per unit increase of the
        right-hand side (0 for a row the compiler dropped)."""
        sign = -1.0 if sense == "max" else 1.0  # the compiled model minimises
        keys = list(component.keys())
        rows = np.array([self.row(component[k]) for k in keys], dtype=np.int64)
        values = np.where(rows >= 0, row_duals[np.maximum(rows, 0)], 0.0) * sign
        return pd.Series(values + 0.0, index=pd.Index(keys), dtype=float)


def compile_model(model: pyo.ConcreteModel) -> Compiled:
    """Matrix form of ``model`` (minimisation: a maximised objective is negated)."""
    repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)
    if repn.eliminated_vars:
        raise ValueError("the compiled model eliminated variables; use mixed form bounds")
    A = repn.A.tocsr()
    first: dict[int, int] = {}
    lower: list[float] = []
    upper: list[float] = []
    keep: list[int] = []
    for i, (con, bound_type) in enumerate(repn.rows):
        key = id(con)
        if key not in first:
            first[key] = len(keep)
            keep.append(i)
            lower.append(-np.inf)
            upper.append(np.inf)
        j = first[key]
        rhs = float(repn.rhs[i])
        if bound_type == 0:
            lower[j] = upper[j] = rhs
        elif bound_type == 1:
            upper[j] = rhs
        else:
            lower[j] = rhs
    columns = list(repn.columns)
    col_lower = np.array([-np.inf if v.lb is None else v.lb for v in columns], dtype=float)
    col_upper = np.array([np.inf if v.ub is None else v.ub for v in columns], dtype=float)
    integer = np.array([v.is_integer() or v.is_binary() for v in columns], dtype=bool)
    cost = np.asarray(repn.c.toarray()).ravel() if hasattr(repn.c, "toarray") else repn.c
    return Compiled(
        A=A[keep].tocsc(),
        row_lower=np.array(lower),
        row_upper=np.array(upper),
        cost=np.asarray(cost, dtype=float).ravel(),
        offset=float(np.asarray(repn.c_offset).ravel()[0]) if len(repn.c_offset) else 0.0,
        col_lower=col_lower,
        col_upper=col_upper,
        integer=integer,
        columns=columns,
        row_of=first,
    )


def matrix_model(
    A: Any,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> Compiled:
    """A continuous minimisation model given directly in matrix form (no Pyomo model
    behind it): for LPs built and grown column by column, such as a future's prices."""
    return Compiled(
        A=scipy.sparse.csc_array(A),
        row_lower=np.asarray(row_lower, dtype=float),
        row_upper=np.asarray(row_upper, dtype=float),
        cost=np.asarray(cost, dtype=float),
        offset=0.0,
        col_lower=np.asarray(col_lower, dtype=float),
        col_upper=np.asarray(col_upper, dtype=float),
        integer=np.zeros(A.shape[1], dtype=bool),
        columns=[],
    )


_STATUS_MAP = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnbounded": Status.UNBOUNDED,
    "kUnboundedOrInfeasible": Status.INFEASIBLE,
}


class HighsSession:
    """A live HiGHS model built from a :class:`Compiled` model; columns can be added."""

    def __init__(
        self,
        compiled: Compiled,
        config: SolverConfig,
        *,
        relax: bool,
        mip_pool: int | None = None,
    ) -> None:
        """``mip_pool``: HiGHS's soft limit on the cut and conflict pools of the MIP runs
        (None: HiGHS's default)."""
        import highspy

        self._hs = highspy
        self.config = config
        self.relax = relax
        self.mip_pool = mip_pool
        self.h = h = self._new_highs()
        A = compiled.A
        n_col = A.shape[1]
        inf = highspy.kHighsInf
        h.addVars(n_col, _finite(compiled.col_lower, inf), _finite(compiled.col_upper, inf))
        h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), compiled.cost)
        csr = A.tocsr()
        self.add_rows(
            _finite(compiled.row_lower, inf),
            _finite(compiled.row_upper, inf),
            csr.indptr[:-1],
            csr.indices,
            csr.data,
        )
        h.changeObjectiveOffset(compiled.offset)
        if not relax and compiled.integer.any():
            idx = np.flatnonzero(compiled.integer).astype(np.int32)
            h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))

    def _new_highs(self) -> Any:
        config = self.config
        h = new_highs(int(config.threads), int(config.seed))
        h.setOptionValue("output_flag", bool(config.log))
        h.setOptionValue("mip_rel_gap", float(config.mip_gap))
        if self.mip_pool is not None:
            h.setOptionValue("mip_pool_soft_limit", int(self.mip_pool))
        if config.log:
            h.cbLogging.subscribe(self._forward_log)
        return h

    @staticmethod
    def _forward_log(event: Any) -> None:
        message = getattr(event, "message", None) or str(event)
        for line in str(message).rstrip().splitlines():
            log.info("HiGHS: %s", line)

    def add_columns(
        self,
        cost: np.ndarray,
        starts: np.ndarray,
        index: np.ndarray,
        value: np.ndarray,
        upper: float = 1.0,
    ) -> None:
        """Add continuous columns in [0, upper], given in compressed-column form."""
        n = len(cost)
        if n == 0:
            return
        self.h.addCols(
            n,
            np.asarray(cost, dtype=float),
            np.zeros(n),
            np.full(n, upper),
            len(index),
            np.asarray(starts, dtype=np.int32),
            np.asarray(index, dtype=np.int32),
            np.asarray(value, dtype=float),
        )

    @property
    def n_cols(self) -> int:
        return int(self.h.getNumCol())

    @property
    def n_rows(self) -> int:
        return int(self.h.getNumRow())

    def add_empty_rows(self, n: int) -> None:
        """Add ``n`` rows with no entries yet, bounds [0, 0] (columns fill them)."""
        self.add_rows(
            np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int32), np.zeros(0), np.zeros(0)
        )

    def add_rows(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        starts: np.ndarray,
        index: np.ndarray,
        value: np.ndarray,
    ) -> None:
        """Add rows with bounds [``lower``, ``upper``] and entries in compressed-row
        form (``starts`` per row into ``index`` (columns) and ``value``)."""
        n = len(lower)
        if n:
            self.h.addRows(
                n,
                np.asarray(lower, dtype=float),
                np.asarray(upper, dtype=float),
                len(index),
                np.asarray(starts, dtype=np.int32),
                np.asarray(index, dtype=np.int32),
                np.asarray(value, dtype=float),
            )

    def delete_rows(self, index: np.ndarray) -> None:
        """Delete rows ``index``; later rows move up (HiGHS keeps the basis of the rest)."""
        if len(index):
            self.h.deleteRows(len(index), np.asarray(index, dtype=np.int32))

    def delete_columns(self, index: np.ndarray) -> None:
        """Delete columns ``index``; later columns move left."""
        if len(index):
            self.h.deleteCols(len(index), np.asarray(index, dtype=np.int32))

    def set_costs(self, cost: np.ndarray) -> None:
        """Replace the cost of every column (e.g. for a phase-1 objective)."""
        n = len(cost)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(cost, dtype=float))

    def set_bounds(self, index: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change the bounds of columns ``index`` (e.g. to fix them)."""
        if len(index):
            self.h.changeColsBounds(
                len(index),
                np.asarray(index, dtype=np.int32),
                np.asarray(lower, dtype=float),
                np.asarray(upper, dtype=float),
            )

    def set_row_bounds(self, index: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Change the bounds of rows ``index`` (e.g. a new right-hand side)."""
        if len(index):
            self.h.changeRowsBounds(
                len(index),
                np.asarray(index, dtype=np.int32),
                np.asarray(lower, dtype=float),
                np.asarray(upper, dtype=float),
            )

    def set_integer(self, index: np.ndarray, integer: bool) -> None:
        """Make columns ``index`` integer or continuous."""
        if len(index):
            kind = self._hs.HighsVarType.kInteger if integer else self._hs.HighsVarType.kContinuous
            self.h.changeColsIntegrality(
                len(index), np.asarray(index, dtype=np.int32), np.full(len(index), kind)
            )

    def solve(
        self,
        time_limit: float | None = None,
        start: tuple[np.ndarray, np.ndarray] | None = None,
        node_limit: int | None = None,
        gap: float | None = None,
        target: float | None = None,
    ) -> Outcome:
        """Run HiGHS; ``start`` is a (column index, value) warm start, completed by HiGHS;
        ``gap``: a MIP's relative gap for this run (default: the configuration's);
        ``target``: a MIP stops at its first plan better than this objective (HiGHS's
        ``objective_target``; status feasible, message ``kObjectiveTarget``).

        An LP is re-solved in place (its basis warm-starts the next run; HiGHS's clock
        runs on over runs, so the limit is set past the time used so far). A MIP runs on
        a fresh copy of the current model, as its clock restarts at every run;
        ``node_limit`` bounds its branch and bound by work (the same on any machine),
        where the time limit is only a safety net.
        """
        limit = self.config.time_limit if time_limit is None else time_limit
        if self.relax:
            h = self.h
            h.setOptionValue("time_limit", float(h.getRunTime() + max(limit, 0.01)))
        else:
            h = self._new_highs()
            h.passModel(self.h.getLp())
            h.setOptionValue("time_limit", float(max(limit, 0.01)))
            if node_limit is not None:
                h.setOptionValue("mip_max_nodes", int(node_limit))
            if gap is not None:
                h.setOptionValue("mip_rel_gap", float(gap))
            if target is not None and np.isfinite(target):
                h.setOptionValue("objective_target", float(target))
        if start is not None:
            index, values = start
            h.setSolution(
                len(index), np.asarray(index, dtype=np.int32), np.asarray(values, dtype=float)
            )
        scheduler_for(int(self.config.threads))
        t0 = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - t0
        model_status = h.getModelStatus()
        name = str(model_status).split(".")[-1]
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        status = _STATUS_MAP.get(name)
        if status is None:
            status = (
                Status.FEASIBLE
                if has_solution
                else (
                    Status.NO_SOLUTION
                    if name in ("kTimeLimit", "kInterrupt", "kIterationLimit", "kSolutionLimit")
                    else Status.ERROR
                )
            )
        objective = info.objective_function_value if has_solution else None
        is_mip = not self.relax and info.mip_node_count >= 0
        if is_mip:
            bound = info.mip_dual_bound if np.isfinite(info.mip_dual_bound) else None
        else:
            bound = objective if status == Status.OPTIMAL else None
        x = row_duals = col_duals = None
        if has_solution:
            solution = h.getSolution()
            x = np.asarray(solution.col_value)
            if solution.dual_valid:
                row_duals = np.asarray(solution.row_dual)
                col_duals = np.asarray(solution.col_dual)
        # HiGHS stops at its own tolerance; the requested gap is judged here
        if status == Status.OPTIMAL and is_mip and objective is not None and bound is not None:
            status = (
                Status.OPTIMAL
                if within_gap(objective, bound, self.config.mip_gap)
                else Status.FEASIBLE
            )
        return Outcome(status, objective, bound, seconds, x, row_duals, col_duals, name)


def new_highs(threads: int, seed: int) -> Any:
    """A silent HiGHS instance (no banner, no log) with its threads and random seed."""
    import highspy

    with _quiet_stdout():  # HiGHS prints a banner on construction
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", seed)
    return h


_SCHEDULER: dict[str, int] = {}  # the thread count HiGHS's scheduler runs with here


def scheduler_for(threads: int) -> None:
    """HiGHS starts one thread scheduler per process, at its first run, with that run's
    thread count, and refuses a later run asking for another count: restart it when
    the count changes (e.g. a one-thread batch after a two-thread run in one session)."""
    import highspy

    started = _SCHEDULER.get("threads")
    if started is not None and started != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _SCHEDULER["threads"] = threads


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level output on file descriptor 1 for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _finite(values: np.ndarray, inf: float) -> np.ndarray:
    return np.clip(np.asarray(values, dtype=float), -inf, inf)


def _pyomo_solver(name: str) -> Any | None:
    """Pyomo's solver of that name when it is installed, else None (quietly: Pyomo logs
    a traceback for a name it cannot find)."""
    pyomo_log = logging.getLogger("pyomo")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.CRITICAL)
    try:
        solver = pyo.SolverFactory(name)
        available = solver is not None and solver.available(exception_flag=False)
    except Exception:  # an unknown name or a broken installation: not available
        available = False
    finally:
        pyomo_log.setLevel(level)
    return solver if available else None


def solver_problem(config: SolverConfig) -> str | None:
    """Why ``config.name`` cannot be used (it is not installed), or None. Checked before
    a run starts."""
    if config.name == "highs" or _pyomo_solver(config.name) is not None:
        return None
    return (
        f"solver.name: solver {config.name!r} is not installed (the default, 'highs', "
        "comes with asielplan; any other must be a solver Pyomo can find)"
    )


def solve_with_pyomo(model: pyo.ConcreteModel, config: SolverConfig) -> Outcome:
    """Solve with any solver Pyomo knows by name; values are loaded into the model."""
    from pyomo.opt import SolverStatus, TerminationCondition

    solver = _pyomo_solver(config.name)
    if solver is None:
        return Outcome(
            Status.ERROR, None, None, 0.0, message=f"solver {config.name!r} is not installed"
        )
    options = {"time_limit": config.time_limit}
    t0 = time.perf_counter()
    try:
        result = solver.solve(
            model, tee=config.log, load_solutions=False, timelimit=options["time_limit"]
        )
    except Exception as exc:  # a solver crash becomes a status, not a traceback
        return Outcome(Status.ERROR, None, None, time.perf_counter() - t0, message=str(exc))
    seconds = time.perf_counter() - t0
    tc = result.solver.termination_condition
    if tc == TerminationCondition.optimal:
        status = Status.OPTIMAL
    elif tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        status = Status.INFEASIBLE
    elif tc == TerminationCondition.unbounded:
        status = Status.UNBOUNDED
    elif result.solver.status in (SolverStatus.ok, SolverStatus.aborted) and len(result.solution):
        status = Status.FEASIBLE
    else:
        status = Status.NO_SOLUTION
    objective = None
    if status.has_solution:
        model.solutions.load_from(result)
        obj = next(model.component_data_objects(pyo.Objective, active=True))
        objective = float(pyo.value(obj))
        if obj.sense == pyo.maximize:
            objective = -objective
    bound = objective if status == Status.OPTIMAL else None
    return Outcome(status, objective, bound, seconds, message=str(tc))
