r"""Solving the placement model at national scale.

All compatible pairs (10,000 households x 342 municipalities is 3.4 million) are too
many to hand to a MIP solver, and almost none can be in an optimal solution. The solve:

1. **Column generation on the LP relaxation.** Start from each household's best few
   municipalities and each municipality's least-regret households; solve the LP; price
   *every* compatible pair with the LP duals, vectorised
   (:math:`\bar c_{hm} = c_{hm} - a_{hm}^\top y`); add the pairs with negative reduced
   cost; repeat until none is left. The LP optimum :math:`z_{LP}` is then the LP optimum
   over all pairs: a valid bound for the full MIP.
2. **Rounding** the LP solution and local moves give a first incumbent
   (``asielplan.solvers.heuristics``).
3. **A bound over whole households** (``asielplan.solvers.lagrange``): subgradient
   rounds on a Lagrangian relaxation with one knapsack per municipality lower the LP
   bound where targets are a few persons. Every few rounds the municipalities' choices
   become a plan, offered as the incumbent; the pairs they chose join the MIP below.
   Where those rounds show that whole households cost the LP bound enough, column
   generation over municipality patterns (``asielplan.solvers.patterns``) takes the
   bound down to the exact Lagrangian dual, and its patterns' pairs join the MIP too.
4. **A restricted MIP** over each household's lowest-reduced-cost pairs, first solved in
   neighbourhoods (everything fixed but a part), then whole; after each, a polish keeps
   the plan's households per municipality and size and re-chooses which by an LP. Any
   solution that uses a pair of reduced cost :math:`\bar c` costs at least
   :math:`z_{LP} + \bar c`; when every pair left out has :math:`\bar c` above the
   incumbent's gap, the restricted MIP's bound holds for the full problem. Otherwise the
   bound is the best of :math:`z_{LP}` and step 3's. Either way the reported gap is a
   gap for the full problem.

When the first restricted LP is infeasible, that says nothing yet about the full model:
column generation goes on over the elastic model (each person of a broken hard row at
``ELASTIC_PENALTY``), whose duals price in the pairs that meet the rows; converged with
no slack left, its optimum is the LP's. Only when it converges with a row still broken
does **phase 1** minimise the persons by which the hard rows are broken, pricing every
pair against that, until either no pair can reduce it (infeasibility proven over all
pairs) or it reaches 0 (the pairs found make the LP feasible; column generation goes on
from them). Only a proven infeasibility is reported, with the elastic model's diagnosis.

Every number is in the minimisation form of the compiled model; the reported objective
and bound are in the model's own (maximisation) sense. The result
(:class:`PlacementSolution`, the contract of ``asielplan.solvers.result``) keeps the
final LP's duals per constraint family.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import SearchConfig, SolverConfig
from asielplan.model.families import (
    build_placement_model,
    column_family,
    constraint_violations,
    evaluate_assignment,
    pair_terms,
    row_counts,
    violation_persons,
    violation_vars,
)
from asielplan.model.placement import (
    ELASTIC_PENALTY,
    PAIR_PARTS,
    PARTS,
    VIOLATION,
    Pairs,
    PlacementData,
    band_limits,
    household_chunks,
    part_contributions,
    part_quantities,
)
from asielplan.solvers.heuristics import (
    assignment_from_x,
    block_neighbourhood,
    improve_by_moves,
    neighbourhood,
    plan_from_choices,
    repair_and_improve,
    round_lp,
)
from asielplan.solvers.highs import (
    Compiled,
    HighsSession,
    Outcome,
    Progress,
    compile_model,
    solve_with_pyomo,
)
from asielplan.solvers.lagrange import (
    PRICE_TOLERANCE,
    Knapsacks,
    lagrangian_applies,
    lagrangian_bound,
    priced_weights,
)
from asielplan.solvers.patterns import Centre, pattern_bound, patterns_of
from asielplan.solvers.result import (
    ObjectivePart,
    Result,
    Status,
    proof_target,
    relative_gap,
    within_gap,
)

log = logging.getLogger(__name__)

MIN_RUN_SECONDS = 0.05  # shortest time limit handed to one HiGHS run
NO_ROW, DROPPED_ROW = -1, -2  # in the row maps: no constraint; a constraint with no variable
PHASE_ONE_TOLERANCE = 1e-6  # persons: a phase-1 optimum above this proves infeasibility


@dataclass(kw_only=True)
class PlacementSolution(Result):
    """A placement solve: the result contract plus the assignment (municipality index per
    household, -1 when unplaced), the LP bound over all pairs, and, for an infeasible
    model, the constraints the elastic model breaks (``violations``: family,
    constraint, bound, value, violation in persons)."""

    assignment: np.ndarray
    lp_bound: float | None = None
    violations: pd.DataFrame | None = None
    trace: pd.DataFrame | None = None  # the incumbent and the bound over time (TRACE_COLUMNS)


TRACE_COLUMNS = ("seconds", "event", "objective", "bound", "gap")


class _Clock:
    def __init__(self, limit: float) -> None:
        self.start = time.perf_counter()
        self.limit = limit
        self.build = 0.0
        self.solve = 0.0
        self.pricing = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.start)


def solve_placement(
    d: PlacementData,
    config: SolverConfig,
    progress: Progress | None = None,
    start: np.ndarray | None = None,
    *,
    diagnose: bool = True,
) -> PlacementSolution:
    """Solve the placement model; when it is proven infeasible, solve the elastic model
    and report what it breaks (``violations``). ``start`` (a municipality index per
    household, -1 unplaced; a front's neighbouring plan) is offered as the first
    incumbent, kept when it is feasible, and its pairs join the first columns. Without
    ``diagnose`` an infeasible model is reported as such without the elastic solve (a
    feasibility probe)."""
    say = progress or (lambda message: log.info(message))
    config = requested(d, config)
    if config.name != "highs":
        return _solve_full_with_pyomo(d, config, say)
    started = time.perf_counter()
    solution = _solve(d, config, say, elastic=False, limit=config.time_limit, start=start)
    if solution.status != Status.INFEASIBLE or not diagnose:
        return solution
    # the diagnosis shares the run's time limit, with a few seconds at least
    left = config.time_limit - (time.perf_counter() - started)
    limit = max(left, min(config.search.elastic_min_seconds, config.time_limit))
    say(f"model infeasible: solving the elastic model ({limit:.0f} s) for what cannot be met")
    elastic = _solve(d, config, say, elastic=True, limit=limit)
    violations = constraint_violations(d, elastic.assignment)
    timings = {k: solution.timings.get(k, 0.0) + v for k, v in elastic.timings.items()}
    if violations.empty:
        # infeasible is only ever said with a diagnosis: an elastic solution that breaks
        # nothing is a feasible placement (without a proven bound)
        elastic.status = Status.FEASIBLE
        elastic.objective = evaluate_assignment(d, elastic.assignment, elastic=False)
        elastic.bound = None
        elastic.objective_parts = _parts(d, elastic.assignment, elastic=False)
        elastic.timings = timings
        elastic.message = "found by the elastic search; no bound was proven"
        return elastic
    return _solution(
        d,
        config,
        Status.INFEASIBLE,
        elastic.assignment,
        timings=timings,
        stats=elastic.stats,
        violations=violations,
        parts=_parts(d, elastic.assignment, elastic=True),
        message="infeasible: the diagnosis lists the quotas and capacities that cannot be met"
        + (
            ""
            if elastic.status == Status.OPTIMAL
            else " (the elastic search stopped at the time limit: these are the violations of"
            " the best plan it found, not proven the least)"
        ),
    )


def requested(d: PlacementData, config: SolverConfig) -> SolverConfig:
    """The solver settings of this placement: ``mip_gap`` 0 for one of at most
    ``exact_up_to`` households without a taakstelling (the gap it reports as requested)."""
    if d.target is None and d.n_households <= config.exact_up_to and config.mip_gap > 0:
        return config.model_copy(update={"mip_gap": 0.0})
    return config


def _parts(d: PlacementData, assignment: np.ndarray, *, elastic: bool) -> dict[str, ObjectivePart]:
    """The named objective parts of an assignment (and the elastic model's violation)."""
    quantities = part_quantities(d, assignment)
    if elastic:
        quantities[VIOLATION] = violation_persons(d, assignment)
    contributions = part_contributions(d, quantities)
    out = {}
    for name, quantity in quantities.items():
        if name == VIOLATION:
            unit, weight = "persons", ELASTIC_PENALTY
        else:
            unit, weight = PARTS[name].unit, d.weight(name)
        out[name] = ObjectivePart(name, quantity, unit, weight, contributions[name])
    return out


def _solution(
    d: PlacementData,
    config: SolverConfig,
    status: Status,
    assignment: np.ndarray,
    *,
    objective: float | None = None,
    bound: float | None = None,
    lp_bound: float | None = None,
    timings: dict[str, float] | None = None,
    stats: dict[str, Any] | None = None,
    duals: dict[str, pd.Series] | None = None,
    violations: pd.DataFrame | None = None,
    parts: dict[str, ObjectivePart] | None = None,
    message: str = "",
    trace: pd.DataFrame | None = None,
) -> PlacementSolution:
    return PlacementSolution(
        problem="placement",
        status=status,
        sense="max",
        objective=objective,
        bound=bound,
        requested_gap=config.mip_gap,
        time_limit=config.time_limit,
        objective_parts=parts or {},
        duals=duals or {},
        timings=timings or {},
        stats=stats or {},
        message=message,
        assignment=assignment,
        lp_bound=lp_bound,
        violations=violations,
        constant=objective_constant(d),
        trace=trace,
    )


def objective_constant(d: PlacementData) -> float:
    """The placement objective's constant term: with soft targets, the shortfall were
    nobody placed, :math:`-\\alpha \\sum_m T_m` (the objective adds back the shortfall
    each placed person removes); 0 otherwise."""
    if not d.soft_targets or d.target is None:
        return 0.0
    return -float(d.config.penalty_shortfall) * float(np.sum(d.target))


def initial_pairs(d: PlacementData, search: SearchConfig) -> Pairs:
    """A first candidate set that lets every row be met: each household's
    ``search.initial_columns`` best municipalities, and for every municipality the
    households that lose least by going there instead of to their best place (regret),
    until they add up to ``search.target_cover`` times its target (or one household when
    there is no target), each household in at most ``search.cover_uses`` such covers
    while others are left (:func:`target_covers`), and into every capacity row the
    household with the least regret that needs it."""
    hs, ms = [], []
    regret = np.empty((d.n_households, d.n_municipalities))
    for rows in household_chunks(d.n_households):
        value = np.where(d.allowed[rows], d.value_rows(rows), -np.inf)
        kk = min(search.initial_columns, d.n_municipalities)
        best = np.argpartition(-value, kk - 1, axis=1)[:, :kk]
        ok = np.isfinite(np.take_along_axis(value, best, axis=1))
        hs.append(np.repeat(rows, kk)[ok.ravel()])
        ms.append(best.ravel()[ok.ravel()])
        regret[rows] = value.max(axis=1, keepdims=True) - value
        # for every bounded pair-linear row (a part bound, a group floor) each
        # household's pair that helps it most, so that the first LP can meet it
        for coef, lower_side in _bounded_pair_rows(d, rows):
            helpful = np.where(d.allowed[rows], coef if lower_side else -coef, -np.inf)
            pick = np.argmax(helpful, axis=1)
            has = np.isfinite(helpful[np.arange(len(rows)), pick])
            hs.append(rows[has])
            ms.append(pick[has])
    need = (
        np.ones(d.n_municipalities)
        if d.target is None
        else search.target_cover * d.target + d.persons.max(initial=1)
    )
    for m, cover in enumerate(target_covers(d.persons, regret, need, search.cover_uses)):
        hs.append(cover)
        ms.append(np.full(len(cover), m))
    # every capacity row a compatible pair can enter gets one (a named dimension only
    # some households need): the household with the least regret among them
    for k in range(len(d.capacity_dimensions)):
        bounded = np.flatnonzero(np.isfinite(d.capacity[k]))
        needing = np.where((d.need[:, k] > 0)[:, None], regret[:, bounded], np.inf)
        if not needing.size:
            continue
        pick = np.argmin(needing, axis=0)
        has = np.isfinite(needing[pick, np.arange(len(bounded))])
        hs.append(pick[has])
        ms.append(bounded[has])
    return _unique_pairs(np.concatenate(hs), np.concatenate(ms), d.n_municipalities)


def target_covers(
    persons: np.ndarray, regret: np.ndarray, need: np.ndarray, cover_uses: int
) -> list[np.ndarray]:
    """Per municipality the households of its first cover: by least regret (``regret``,
    households x municipalities, inf where incompatible) until their persons reach its
    ``need`` (or they run out). With ``cover_uses`` > 0 the covers of the largest needs
    are drawn first and a household already in ``cover_uses`` covers comes after every
    household in fewer, so that the covers overlap less and the first LP can meet more
    targets at once (0: each cover by regret alone)."""
    uses = np.zeros(len(persons), dtype=np.int64)
    covers: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(need)
    for m in np.argsort(-need, kind="stable"):
        column = regret[:, m]
        finite = np.isfinite(column)
        worn = (uses >= cover_uses) & (cover_uses > 0)
        cover = _least_first(column, np.flatnonzero(finite & ~worn), persons, need[m])
        short = need[m] - persons[cover].sum()
        if short > 0 or len(cover) == 0:  # every fresh household is in: worn ones next
            cover = np.concatenate(
                [cover, _least_first(column, np.flatnonzero(finite & worn), persons, short)]
            )
        covers[m] = cover
        uses[cover] += 1
    return covers


def _least_first(
    value: np.ndarray, candidates: np.ndarray, persons: np.ndarray, need: float
) -> np.ndarray:
    """Of ``candidates`` (ascending indices), by least ``value`` (ties by index), those up
    to and including the first whose persons together reach ``need`` (all when they never
    do). Sorts only a few more than it takes: the selection grows until it reaches."""
    taken = min(len(candidates), 64)
    while True:
        values = value[candidates]
        if taken < len(candidates):
            cut = values[np.argpartition(values, taken - 1)[:taken]].max()
            pool = candidates[values <= cut]  # a prefix of the full order, ties and all
        else:
            pool = candidates
        order = pool[np.argsort(value[pool], kind="stable")]
        total = np.cumsum(persons[order])
        if taken >= len(candidates) or (len(total) and total[-1] >= need):
            return order[: int(np.searchsorted(total, need)) + 1]
        taken *= 4


def _bounded_pair_rows(d: PlacementData, rows: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """Coefficients (len(rows) x M) of every bounded pair-linear row, and whether it is
    bounded below (a row bounded on both sides counts by its upper bound)."""
    out = []
    for row in d.bounded_parts:
        if row.part in PAIR_PARTS:
            out.append((d.pair_part_rows(row.part, rows), row.upper is None))
    for floor in d.group_floors:
        out.append((floor.expected[rows], True))
    return out


def _unique_pairs(h: np.ndarray, m: np.ndarray, n_muni: int) -> Pairs:
    key = np.unique(h.astype(np.int64) * n_muni + m)
    return Pairs(key // n_muni, key % n_muni)


def _with_assignment(pairs: Pairs, assignment: np.ndarray, n_muni: int) -> Pairs:
    """``pairs`` and the pairs of ``assignment`` (its placed households), once each."""
    placed = np.flatnonzero(assignment >= 0)
    h = np.concatenate([pairs.h, placed])
    return _unique_pairs(h, np.concatenate([pairs.m, assignment[placed]]), n_muni)


def _row_maps(
    d: PlacementData, model: pyo.ConcreteModel, compiled: Compiled
) -> dict[str, np.ndarray]:
    """Per row component of the pair columns: the compiled row of every key (-1 where
    the component has no row for the key, or the compiler dropped an empty one)."""
    maps = {}
    for name, count in row_counts(d).items():
        component = getattr(model, name, None)
        if component is None:
            continue
        rows = np.full(count, NO_ROW, dtype=np.int64)
        for key, con in component.items():
            row = compiled.row(con)
            rows[key] = row if row >= 0 else DROPPED_ROW
        maps[name] = rows
    return maps


def _key_duals(duals: np.ndarray, maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The LP's row duals (min form) per row component and key, in the model's
    maximisation sense (0 for a key without a row)."""
    return {
        name: -np.where(rows >= 0, duals[np.maximum(rows, 0)], 0.0) + 0.0
        for name, rows in maps.items()
    }


def _column_entries(
    d: PlacementData, h: np.ndarray, m: np.ndarray, maps: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compressed-column form (starts, row index, value) of the columns of pairs (h, m)."""
    cols, rows, vals = [], [], []
    position = np.arange(len(h))
    for name, keys, coefs in pair_terms(d, h, m):
        mapped = maps[name][keys] if name in maps else np.full(len(keys), NO_ROW)
        # a row left out because no pair entered it when the LP was built would miss
        # this column: the initial pairs enter every row a compatible pair can enter
        assert not ((mapped == DROPPED_ROW) & (coefs != 0)).any(), name
        ok = mapped >= 0
        cols.append(position[ok])
        rows.append(mapped[ok])
        vals.append(coefs[ok])
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    order = np.argsort(col, kind="stable")
    starts = np.searchsorted(col[order], np.arange(len(h)))
    return starts, np.concatenate(rows)[order], np.concatenate(vals)[order]


def _append_pairs(
    session: HighsSession,
    d: PlacementData,
    pairs: Pairs,
    maps: dict[str, np.ndarray],
    cost: np.ndarray,
) -> np.ndarray:
    """Add the columns of ``pairs`` (min-form ``cost``, bounds [0, 1]) to a live model
    whose rows ``maps`` locates; returns their column indices."""
    first = session.n_cols
    starts, index, value = _column_entries(d, pairs.h, pairs.m, maps)
    session.add_columns(cost, starts, index, value)
    return first + np.arange(len(pairs))


def _reduced_costs(
    d: PlacementData,
    rows: np.ndarray,
    duals: np.ndarray,
    maps: dict[str, np.ndarray],
    *,
    phase_one: bool = False,
) -> np.ndarray:
    """Reduced cost (min form) of every pair of households ``rows`` (len(rows) x M); in
    phase 1 a pair costs nothing, so its reduced cost is the dual part alone."""
    M = d.n_municipalities
    h = np.repeat(rows, M)
    m = np.tile(np.arange(M), len(rows))
    rc = np.zeros(len(h)) if phase_one else -d.value_rows(rows).ravel()
    for name, keys, coefs in pair_terms(d, h, m):
        if name not in maps:
            continue
        mapped = maps[name][keys]
        rc -= np.where(mapped >= 0, duals[np.maximum(mapped, 0)], 0.0) * coefs
    return rc.reshape(len(rows), M)


def _row_complete(d: PlacementData, pairs: Pairs) -> tuple[Pairs, Pairs]:
    """``pairs`` split in two: a few that between them enter every row any of ``pairs``
    enters (per row key its first pair, and its first with a nonzero coefficient; a
    locked household's one pair is the first of its assignment row), and the rest.
    Pyomo builds the model over the few, whose rows are then the rows of the model
    over all, and the rest join as columns in matrix form (as priced columns do): the
    same model, without a Pyomo expression per entry."""
    core = np.zeros(len(pairs), dtype=bool)
    for _, keys, coefs in pair_terms(d, pairs.h, pairs.m):
        for entries in (np.arange(len(keys)), np.flatnonzero(coefs != 0)):
            _, first = np.unique(keys[entries], return_index=True)
            core[entries[first]] = True
    return Pairs(pairs.h[core], pairs.m[core]), Pairs(pairs.h[~core], pairs.m[~core])


def _pair_columns(compiled: Compiled, model: pyo.ConcreteModel) -> np.ndarray:
    """For each compiled column the pair index of ``model.x`` it is, or -1."""
    out = np.full(len(compiled.columns), -1, dtype=np.int64)
    for j, var in enumerate(compiled.columns):
        if var.parent_component() is model.x:
            out[j] = var.index()
    return out


class _Search:
    """One solve of the (elastic or plain) model: column generation, rounding, MIP.

    Holds the incumbent; every candidate assignment goes through :meth:`offer`, which
    recomputes its objective from the formulation and keeps it only if it is better.
    """

    def __init__(
        self, d: PlacementData, config: SolverConfig, say: Progress, elastic: bool, limit: float
    ) -> None:
        self.d, self.config, self.elastic = d, config, elastic
        self.clock = _Clock(limit)
        self.say = lambda message: say(f"[{self.clock.elapsed():5.1f} s] {message}")
        self.stats: dict[str, int] = {"compatible_pairs": int(d.allowed.sum())}
        self.assignment = np.full(d.n_households, -1, dtype=np.int64)
        self.objective: float | None = None  # min form
        self.z_lp: float | None = None
        self._bound: float | None = None
        # (seconds, event, objective, bound) in min form, at every new incumbent or bound
        self.events: list[tuple[float, str, float | None, float | None]] = []
        self.lp_duals: np.ndarray | None = None  # row duals of the final LP (min form)
        self.knapsack_pairs: Pairs | None = None  # pairs the Lagrangian knapsacks chose
        # (choices, LP pairs, centre) of pattern rounds to run after the first MIP rounds
        self.patterns_pending: tuple[list[Pairs], Pairs, Centre] | None = None
        self.maps: dict[str, np.ndarray] = {}
        # the neighbourhoods' free sets tried on the incumbent (cleared when it changes)
        # and the draws of block rounds, from the run's seed
        self.tried: list[np.ndarray] = []
        self.block_draws = np.random.default_rng(config.seed)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def bound(self) -> float | None:
        """The proven bound (min form); every change is recorded in :attr:`events`."""
        return self._bound

    @bound.setter
    def bound(self, value: float | None) -> None:
        if value is not None and value != self._bound:
            self.events.append((self.clock.elapsed(), "bound", self.objective, value))
        self._bound = value

    def offer(self, assignment: np.ndarray) -> bool:
        value = _min_objective(self.d, assignment, self.elastic)
        if value is None or (self.objective is not None and value >= self.objective - 1e-9):
            return False
        first = self.objective is None
        self.assignment, self.objective = assignment, value
        self.tried = []
        self.events.append((self.clock.elapsed(), "incumbent", value, self._bound))
        if first and not self.elastic:  # an elastic plan may break hard rules: no plan
            self.say(
                f"first plan {-value:,.2f}"
                + (
                    ""
                    if self._bound is None
                    else f", gap {relative_gap(value, self._bound):.3%} to the bound"
                )
            )
        return True

    def trace(self) -> pd.DataFrame:
        """The incumbent and the bound over time, in the model's maximisation sense, with
        the gap between them at each event (:func:`relative_gap`, empty without both)."""
        rows = []
        for seconds, event, objective, bound in self.events:
            gap = (
                relative_gap(objective, bound)
                if objective is not None and bound is not None
                else None
            )
            rows.append((round(seconds, 3), event, _negated(objective), _negated(bound), gap))
        return pd.DataFrame(rows, columns=list(TRACE_COLUMNS))

    def reserve(self) -> float:
        """Seconds kept back for building and reading results: 5% of the limit, <= 1 s."""
        return min(1.0, 0.05 * self.clock.limit)

    def out_of_time(self) -> bool:
        """Whether the time left is only the reserve (what ends a phase)."""
        return self.clock.left() <= self.reserve()

    def proven(self) -> bool:
        return (
            self.objective is not None
            and self.bound is not None
            and within_gap(self.objective, self.bound, self.config.mip_gap)
        )

    def result(self, status: Status | None = None, message: str = "") -> PlacementSolution:
        if status is None:
            status = (
                Status.NO_SOLUTION
                if self.objective is None
                else Status.OPTIMAL
                if self.proven()
                else Status.FEASIBLE
            )
        has = self.objective is not None
        return _solution(
            self.d,
            self.config,
            status,
            self.assignment,
            objective=_negated(self.objective),
            bound=_negated(self.bound),
            lp_bound=_negated(self.z_lp),
            timings=_timings(self.clock),
            stats=self.stats,
            duals=self._duals(),
            parts=_parts(self.d, self.assignment, elastic=self.elastic) if has else {},
            message=message,
            trace=self.trace(),
        )

    def _duals(self) -> dict[str, pd.Series]:
        """The final LP's duals per constraint family, in the model's maximisation
        sense."""
        if self.lp_duals is None:
            return {}
        d, y = self.d, self.lp_duals
        duals = {}
        for name, values in _key_duals(y, self.maps).items():
            keep = self.maps[name] != NO_ROW
            family = column_family(name)
            names = np.asarray(family.names(d), dtype=object)[keep].astype(str)
            duals[family.duals] = pd.Series(values[keep], index=pd.Index(names), dtype=float)
        return duals

    def _timed_solve(
        self,
        session: HighsSession,
        limit: float,
        start: tuple[np.ndarray, np.ndarray] | None = None,
        node_limit: int | None = None,
        gap: float | None = None,
        *,
        integral: bool = True,
    ) -> Outcome:
        # a MIP stops at its first plan that proves the run against the bound so far;
        # not where columns left continuous may take fractional values (``integral``
        # False), as HiGHS would judge the fractional objective, not the plan read back
        target = (
            None
            if session.relax or self.bound is None or not integral
            else proof_target(self.bound, self.config.mip_gap)
        )
        t = time.perf_counter()
        outcome = session.solve(
            time_limit=max(limit, MIN_RUN_SECONDS),
            start=start,
            node_limit=node_limit,
            gap=gap,
            target=target,
        )
        self.clock.solve += time.perf_counter() - t
        if outcome.message == "kObjectiveTarget":
            self.stats["target_stops"] = self.stats.get("target_stops", 0) + 1
        return outcome

    # ------------------------------------------------------------------ 1. LP
    def column_generation(
        self, start: Pairs | None = None
    ) -> tuple[Outcome, Pairs, np.ndarray, dict[str, np.ndarray]] | PlacementSolution:
        """Column generation to the LP optimum over all compatible pairs, from ``start``
        (default: :func:`initial_pairs`). When those pairs cannot meet the hard rows, the
        LP goes on with them elastic (each person of a broken row at the elastic
        penalty), so that pricing brings in the pairs that meet them; only when it
        converges with a row still broken does phase 1 decide."""
        d = self.d
        lp = _LP(
            self, initial_pairs(d, self.config.search) if start is None else start, phase_one=False
        )
        if lp.model.empty_infeasible_rows:  # a row needs persons but no pair enters it
            outcome = Outcome(Status.INFEASIBLE, None, None, 0.0, message="empty rows")
        else:
            outcome = self._timed_solve(lp.session, self.clock.left())
        if outcome.status == Status.INFEASIBLE and not self.elastic:
            self.say("the first pairs cannot meet every hard rule: those rows elastic")
            lp = _LP(self, lp.pairs(), phase_one=False, elastic=True)
            done = self._rounds(lp, self._timed_solve(lp.session, self.clock.left()))
            if isinstance(done, PlacementSolution):
                return done
            if lp.violation(done) <= PHASE_ONE_TOLERANCE:
                return self._optimum(lp, done)
            self.say("the elastic LP still breaks a hard rule: phase 1")
            found = self.phase_one(lp.pairs())
            if isinstance(found, PlacementSolution):
                return found
            lp = _LP(self, found, phase_one=False)
            outcome = self._timed_solve(lp.session, self.clock.left())
        done = self._rounds(lp, outcome)
        return done if isinstance(done, PlacementSolution) else self._optimum(lp, done)

    def _rounds(self, lp: _LP, outcome: Outcome) -> Outcome | PlacementSolution:
        """Price and add pairs to ``lp`` (solved: ``outcome``) until none is left; at
        most ``search.max_rounds`` rounds for each LP (``stats["lp_rounds"]`` and the
        rounds' messages count over the run's LPs). An LP stopped before pricing
        converged gives no bound: the incumbent, if any, without one."""
        for rounds in range(1, self.config.search.max_rounds + 1):
            if rounds > 1:
                outcome = self._timed_solve(lp.session, self.clock.left())
            if outcome.status != Status.OPTIMAL or outcome.row_duals is None:
                # the LP stopped (time limit): the incumbent, if any, without a bound
                kept = outcome.status in (Status.ERROR, Status.UNBOUNDED)
                return self.result(
                    outcome.status if kept else None, f"LP relaxation stopped: {outcome.message}"
                )
            assert outcome.objective is not None
            new_h, new_m = lp.price(outcome.row_duals)
            self.say(
                f"LP round {self.stats.get('lp_rounds', 0) + 1}: {lp.n_pairs:,} pairs, "
                f"objective {-outcome.objective:,.2f}, {len(new_h):,} pairs priced in"
            )
            self.stats["lp_rounds"] = self.stats.get("lp_rounds", 0) + 1
            if not len(new_h):
                return outcome
            lp.add(new_h, new_m)
        return self.result(None, f"LP relaxation stopped: {self.config.search.max_rounds} rounds")

    def _optimum(
        self, lp: _LP, outcome: Outcome
    ) -> tuple[Outcome, Pairs, np.ndarray, dict[str, np.ndarray]]:
        """The LP optimum over all pairs: its bound, duals and solution over pairs (an
        elastic LP's only when it breaks no hard row: then it is the LP's optimum too)."""
        self.stats["lp_pairs"] = lp.n_pairs
        self.z_lp = self.bound = outcome.objective
        self.lp_duals, self.maps = outcome.row_duals, lp.maps
        return outcome, lp.pairs(), lp.values(outcome), lp.maps

    def phase_one(self, pairs: Pairs) -> Pairs | PlacementSolution:
        """Minimise the persons by which the hard rows are broken, pricing every pair,
        until nothing can reduce it. Returns the pairs that make the LP feasible, or the
        infeasible result when the minimum is above 0 over all pairs (proven)."""
        lp = _LP(self, pairs, phase_one=True)
        for rounds in range(1, self.config.search.max_rounds + 1):
            outcome = self._timed_solve(lp.session, self.clock.left())
            if outcome.status != Status.OPTIMAL or outcome.row_duals is None:
                return self.result(Status.NO_SOLUTION, f"phase 1 stopped: {outcome.message}")
            assert outcome.objective is not None
            new_h, new_m = lp.price(outcome.row_duals)
            self.say(
                f"phase 1 round {rounds}: {lp.n_pairs:,} pairs, "
                f"{outcome.objective:,.2f} persons short"
            )
            if outcome.objective <= PHASE_ONE_TOLERANCE:
                self.stats["phase_one_rounds"] = rounds
                return lp.pairs()
            if not len(new_h):
                break
            lp.add(new_h, new_m)
        self.stats["phase_one_rounds"] = rounds
        return self.result(
            Status.INFEASIBLE,
            f"over all compatible pairs the hard rules are broken by at least "
            f"{outcome.objective:,.2f} persons",
        )

    def tighten_bound(self, duals: np.ndarray, maps: dict[str, np.ndarray], lp: Pairs) -> None:
        """Lower the LP bound with the Lagrangian bound over whole households
        (:mod:`asielplan.solvers.lagrange`), from the final LP's duals (the assignment
        rows' as the first multipliers, the coupling rows' as their fixed prices), unless
        the incumbent is proven already. Every ``search.plan_every`` rounds (every round while
        there is no incumbent: the rounded LP often breaks a band) the municipalities'
        own choices of households become a plan (:func:`plan_from_choices`, brought
        within every row a move can break and improved by moves over the LP's pairs),
        offered as the incumbent; every pair a municipality chose joins the
        restricted MIP."""
        d = self.d
        if self.proven() or not lagrangian_applies(d):
            return
        by_key = _key_duals(duals, maps)
        lam = by_key.pop("assign")
        started = time.perf_counter()
        chosen: list[Pairs] = []

        def incumbent() -> float:  # maximisation sense; -inf without one
            return -np.inf if self.objective is None else -self.objective

        def on_round(knapsacks: Knapsacks) -> float:
            chosen.append(Pairs(knapsacks.h, knapsacks.m))
            if self.objective is None or len(chosen) % self.config.search.plan_every == 0:
                self.offer(self._plan_from_choices(knapsacks, lp))
            return incumbent()

        found = lagrangian_bound(
            d,
            lam,
            incumbent(),
            self.config.search.lagrange_rounds,
            lambda bound: (
                (
                    self.objective is not None
                    and within_gap(self.objective, -bound, self.config.mip_gap)
                )
                # the time limit holds here too: a bound at any multipliers is valid
                or self.out_of_time()
            ),
            by_key,
            on_round,
            aim_share=self.config.search.aim_share,
        )
        self.clock.solve += time.perf_counter() - started
        self.stats["lagrange_rounds"] = found.rounds
        self._lower_bound(
            found.bound, f"Lagrangian bound over whole households ({found.rounds} rounds)"
        )
        # the exact dual where whole households cost the LP's bound a share worth proving
        lp_bound = -self.z_lp  # type: ignore[operator]
        gain = (lp_bound - found.bound) / max(1.0, abs(found.bound))
        if found.multipliers is not None and gain >= self.config.search.pattern_min_gain:
            centre = (found.bound, found.multipliers, by_key)
            if self.clock.left() >= self.config.search.patterns_first_seconds:
                self.pattern_bound(chosen, lp, centre)  # their pairs guide the first MIP
            else:  # a short run: plans first, after the first neighbourhood rounds
                self.patterns_pending = (chosen, lp, centre)
        self._keep_chosen(chosen)

    def _plan_from_choices(self, knapsacks: Knapsacks, lp: Pairs) -> np.ndarray:
        """:func:`plan_from_choices` over the LP's pairs, repaired with the widened moves
        only while the search has no plan (then any plan is worth the time)."""
        widen = self.objective is None
        return plan_from_choices(self.d, knapsacks.h, knapsacks.m, lp, widen=widen)

    def _keep_chosen(self, chosen: list[Pairs]) -> None:
        if chosen:
            self.knapsack_pairs = _unique_pairs(
                np.concatenate([p.h for p in chosen]),
                np.concatenate([p.m for p in chosen]),
                self.d.n_municipalities,
            )

    def pattern_bound(
        self,
        chosen: list[Pairs],
        lp: Pairs,
        centre: Centre,
    ) -> tuple[Pairs, np.ndarray] | None:
        """The exact Lagrangian dual by column generation over municipality patterns
        (:mod:`asielplan.solvers.patterns`), from the incumbent's patterns and the
        subgradient's choices (``chosen``, one entry per round) with its best multipliers
        as the first centre, unless the incumbent is proven already or there is none (the
        first master is its patterns); its knapsacks' choices join ``chosen`` (and become
        plans, as the subgradient's do), and so do the pairs of the patterns its last
        master uses. Returns the last master's solution over pairs (pairs and shares)."""
        d, search = self.d, self.config.search
        if (
            self.proven()
            or self.objective is None
            or search.pattern_rounds == 0
            or self.out_of_time()
        ):
            return None
        started = time.perf_counter()
        first = [pattern for pairs in chosen for pattern in patterns_of(pairs.h, pairs.m)]

        def on_round(knapsacks: Knapsacks) -> None:
            chosen.append(Pairs(knapsacks.h, knapsacks.m))
            if self.objective is None or len(chosen) % search.plan_every == 0:
                self.offer(self._plan_from_choices(knapsacks, lp))

        found = pattern_bound(
            d,
            self.assignment,
            first,
            search.pattern_rounds,
            lambda bound: (
                (
                    self.objective is not None
                    and within_gap(self.objective, -bound, self.config.mip_gap)
                )
                or self.out_of_time()
            ),
            lambda: self.clock.left() - self.reserve(),
            box=search.pattern_box,
            centre=centre,
            threads=self.config.threads,
            seed=self.config.seed,
            on_round=on_round,
        )
        chosen.append(found.pairs)
        guide = (found.pairs, found.share)
        self.clock.solve += time.perf_counter() - started
        self.stats["pattern_rounds"] = found.rounds
        self.stats["patterns"] = found.patterns
        self.stats["pattern_dual_exact"] = int(found.closed)
        self._lower_bound(
            found.bound,
            f"bound over municipality patterns ({found.rounds} rounds, {found.patterns:,} "
            + ("patterns, exact)" if found.closed else "patterns)"),
        )
        return guide

    def _lower_bound(self, bound: float, what: str) -> None:
        """Take ``bound`` (maximisation sense) when it is below the bound so far; a
        relaxation's bound is never below the incumbent (else a fault, not a proof)."""
        best = -np.inf if self.objective is None else -self.objective
        valid = not np.isfinite(best) or bound >= best - 1e-6 * max(1.0, abs(best))
        if np.isfinite(bound) and valid and self.bound is not None:
            self.bound = max(self.bound, -bound)
            self.say(
                f"{what}: {bound:,.2f}; LP bound {-self.z_lp:,.2f}; "  # type: ignore[operator]
                + (f"plan {best:,.2f}" if np.isfinite(best) else "no plan yet")
            )

    # ------------------------------------------------------------------ 1c. priced bounds
    def price_bounds(self, duals: np.ndarray, maps: dict[str, np.ndarray], pairs: Pairs) -> None:
        """A plan from the model with its binding bounds on weighted parts and its
        binding group floors priced at their LP duals instead of kept
        (:func:`bounds_priced`, :func:`floors_priced`), brought back within the bounds
        and floors by moves and offered as the incumbent. A bound or a floor makes the
        MIP hard where it binds tightly (a front's tight end, a max-min floor); priced,
        the model is a weighted sum like a default run, which the search solves quickly,
        and its plan lies near the bounds and floors. Runs when the incumbent is not yet
        proven."""
        d = self.d
        if self.proven() or not (d.bounded_parts or d.group_floors):
            return
        by_key, factor = _key_duals(duals, maps), self.config.search.bound_price_factor
        bounds = bounds_priced(d, by_key.get("part_bound"), factor)
        priced = floors_priced(d if bounds is None else bounds, by_key.get("group"), factor)
        priced = bounds if priced is None else priced
        limit = self.config.search.priced_share * (self.clock.left() - self.reserve())
        if priced is None or limit < MIN_RUN_SECONDS:
            return
        self.say(f"a search with the binding bounds and floors priced ({limit:.1f} s)")
        self.stats["priced_searches"] = 1
        start = self.assignment if self.objective is not None else None
        # the priced plan loses a little on its way back within the bounds: it is solved
        # to a tighter gap than the one asked
        config = self.config.model_copy(
            update={"mip_gap": self.config.search.priced_gap_share * self.config.mip_gap}
        )
        found = _solve(
            priced, config, lambda message: None, elastic=False, limit=limit, start=start
        )
        self.clock.build += found.timings.get("build_s", 0.0)
        self.clock.solve += found.timings.get("solve_s", 0.0)
        if found.stats.get("target_stops"):
            stops = self.stats.get("target_stops", 0) + found.stats["target_stops"]
            self.stats["target_stops"] = stops
        if not found.status.has_solution:
            return
        plan = found.assignment
        moves = _with_assignment(pairs, plan, d.n_municipalities)
        plan = repair_and_improve(d, moves, plan, stop=self.out_of_time)
        kept = self.offer(plan)
        self.stats["priced_plan_kept"] = int(kept)
        if kept:
            value = -self.objective  # type: ignore[operator]
            self.say(f"the priced search's plan, within the bounds and floors: {value:,.2f}")

    # ------------------------------------------------------------------ 2.-3. MIP
    def restricted_mip(
        self, duals: np.ndarray, maps: dict[str, np.ndarray], lp: Pairs, x: np.ndarray
    ) -> PlacementSolution | None:
        """The MIP over each household's lowest-reduced-cost pairs: neighbourhood rounds
        first (they find good solutions fast), then the whole restricted MIP. When the
        restriction is solved but the gap to the LP bound is not closed, widen it: small
        problems go straight to all compatible pairs, whose MIP bound is the full bound."""
        d, z_lp = self.d, self.z_lp
        assert z_lp is not None
        small = int(d.allowed.sum()) <= self.config.search.full_mip_pairs
        per_household = min(self.config.search.mip_columns, d.n_municipalities)
        first = True
        while self.clock.left() > self.reserve() and not self.proven():
            pairs, excluded_rc = _mip_pairs(
                d,
                duals,
                maps,
                per_household,
                self.assignment,
                self.knapsack_pairs,
                self.config.search.mip_per_municipality,
            )
            self.stats["mip_pairs"] = len(pairs)
            self.say(f"MIP over {len(pairs):,} pairs ({per_household} per household)")
            mip = _RestrictedMip(self, pairs)
            if first:
                self._neighbourhoods(mip, pairs, lp, x)
                mip.polish()
                first = False
            if self.proven():
                break
            if self.patterns_pending is not None:
                # the bound the short run put off; the master's solution over pairs then
                # guides new neighbourhood rounds, as the LP's did
                chosen, plp, centre = self.patterns_pending
                self.patterns_pending = None
                guide = self.pattern_bound(chosen, plp, centre)
                self._keep_chosen(chosen)
                if guide is not None and len(guide[0]):
                    lp, x = guide
                    first = True
                    continue
            widen_next = per_household < d.n_municipalities
            if (
                not small
                and self.clock.left() < self.config.search.final_mip_min_share * self.clock.limit
            ):
                break  # HiGHS may overrun a short limit on a large MIP: keep the incumbent
            first_pass = small and widen_next  # a quick incumbent before all pairs
            # work, not a share of the time: the path is the same under any limit
            nodes = self.config.search.first_pass_nodes if first_pass else None
            result = mip.solve_all(self.clock.left(), nodes)
            mip.polish()
            if result.status == Status.INFEASIBLE and self.objective is None:
                if not widen_next:
                    return self.result(Status.INFEASIBLE)
            elif (
                self.objective is not None
                and result.bound is not None
                and self.objective - z_lp <= excluded_rc
            ):
                # every pair left out costs more than the incumbent's gap: the restricted
                # MIP's bound holds for the full problem
                self.bound = max(self.bound or z_lp, min(result.bound, self.objective))
            if self.proven() or not widen_next:
                break
            if result.status != Status.OPTIMAL and not small:
                break  # the restriction is not solved yet: widening would not help
            if self.clock.left() < self.config.search.widen_min_share * self.clock.limit:
                break  # too little time left to build a wider model
            per_household = _widened(d, per_household, small, self.config.search)
        return None

    def _neighbourhoods(self, mip: _RestrictedMip, pairs: Pairs, lp: Pairs, x: np.ndarray) -> None:
        d, search = self.d, self.config.search
        for round_no in range(1, search.lns_rounds + 1):
            if self.objective is None or self.proven() or self.clock.left() <= 2 * self.reserve():
                return
            before = self.objective
            free = neighbourhood(d, self.assignment, pairs, round_no, lp, x)
            block = any(np.array_equal(free, earlier) for earlier in self.tried)
            if block:  # the same households on the same plan would repeat an earlier round
                free = block_neighbourhood(d, self.assignment, search.block_share, self.block_draws)
            self.tried.append(free)
            # later rounds start near the requested gap: each is solved to a fraction of
            # it, or it would stop at its root without improving the plan
            gap = None if round_no == 1 else search.neighbourhood_gap_share * self.config.mip_gap
            mip.solve_neighbourhood(free, gap=gap)
            if not self.elastic:
                # single moves only: ejections here lead the next MIPs astray (the
                # embedded default proven in 6.6 s without, 48 s with)
                self.offer(improve_by_moves(d, pairs, self.assignment, eject=False))
            self.say(
                f"neighbourhood {round_no} ({'block, ' if block else ''}"
                f"{int(free.sum()):,} households free): {-self.objective:,.2f}"
            )
            if round_no >= 3 and self.objective >= before - 1e-6 * abs(before):
                return


class _LP:
    """A live restricted LP over a growing set of pairs (columns added as priced).

    With ``elastic`` (and in the elastic search) the model is the elastic one, each
    hard row's slack at ``ELASTIC_PENALTY`` per person; in phase 1 too, but with every
    pair free of cost and each slack costing the persons it stands for."""

    def __init__(
        self, search: _Search, pairs: Pairs, *, phase_one: bool, elastic: bool = False
    ) -> None:
        d = search.d
        core, rest = _row_complete(d, pairs)
        self.search, self.phase_one, self.first = search, phase_one, core
        t = time.perf_counter()
        self.model = build_placement_model(
            d, core, relax=True, elastic=search.elastic or phase_one or elastic
        )
        self.compiled = compile_model(self.model)
        self.session = HighsSession(self.compiled, search.config, relax=True)
        # the persons each elastic slack column stands for (0 for every other column)
        persons = {id(var): n for var, n in violation_vars(self.model, d)}
        self.slack_persons = np.array([persons.get(id(var), 0.0) for var in self.compiled.columns])
        if phase_one:
            self.session.set_costs(self.slack_persons)
        search.clock.build += time.perf_counter() - t
        self.maps = _row_maps(d, self.model, self.compiled)
        self.in_set = np.zeros((d.n_households, d.n_municipalities), dtype=bool)
        self.in_set[core.h, core.m] = True
        self.hs, self.ms = [core.h], [core.m]
        self.n_pairs = len(core)
        self.add(rest.h, rest.m)

    def price(self, duals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = time.perf_counter()
        found = _price(
            self.search.d,
            duals,
            self.maps,
            self.in_set,
            phase_one=self.phase_one,
            per_round=self.search.config.search.add_per_round,
        )
        self.search.clock.pricing += time.perf_counter() - t
        return found

    def add(self, h: np.ndarray, m: np.ndarray) -> None:
        d = self.search.d
        t = time.perf_counter()
        cost = np.zeros(len(h)) if self.phase_one else -d.value(h, m)
        _append_pairs(self.session, d, Pairs(h, m), self.maps, cost)
        self.search.clock.build += time.perf_counter() - t
        self.in_set[h, m] = True
        self.hs.append(h)
        self.ms.append(m)
        self.n_pairs += len(h)

    def pairs(self) -> Pairs:
        return Pairs(np.concatenate(self.hs), np.concatenate(self.ms))

    def violation(self, outcome: Outcome) -> float:
        """Persons by which the LP solution breaks the hard rows (its elastic slacks)."""
        assert outcome.x is not None
        n = len(self.slack_persons)
        return float(self.slack_persons @ outcome.x[:n])

    def values(self, outcome: Outcome) -> np.ndarray:
        """LP values of the pairs in the order they were added (compiled columns first,
        then the added ones)."""
        assert outcome.x is not None
        cols = _pair_columns(self.compiled, self.model)
        base = cols >= 0
        x = np.zeros(self.n_pairs)
        x[cols[base]] = outcome.x[: len(cols)][base]
        x[len(self.first) :] = outcome.x[len(cols) :]
        return x


class _RestrictedMip:
    """The MIP over a restricted pair set, kept live in HiGHS across neighbourhoods."""

    def __init__(self, search: _Search, pairs: Pairs) -> None:
        d = search.d
        core, rest = _row_complete(d, pairs)
        self.search = search
        self.pairs = Pairs(np.concatenate([core.h, rest.h]), np.concatenate([core.m, rest.m]))
        t = time.perf_counter()
        model = build_placement_model(d, core, relax=False, elastic=search.elastic)
        self.empty_infeasible = bool(model.empty_infeasible_rows)
        compiled = compile_model(model)
        self.session = HighsSession(
            compiled, search.config, relax=False, mip_pool=search.config.search.mip_pool
        )
        maps = _row_maps(d, model, compiled)
        appended = _append_pairs(self.session, d, rest, maps, -d.value(rest.h, rest.m))
        self.session.set_integer(appended, True)
        search.clock.build += time.perf_counter() - t
        cols = _pair_columns(compiled, model)
        self.x_cols = np.concatenate([np.flatnonzero(cols >= 0), appended])
        self.pair_of = np.concatenate([cols[cols >= 0], len(core) + np.arange(len(rest))])
        self.h, self.m = self.pairs.h[self.pair_of], self.pairs.m[self.pair_of]
        self.polished: float | None = None  # the objective (min form) last polished

    def _start(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.search.objective is None:
            return None
        return self.x_cols, (self.search.assignment[self.h] == self.m).astype(float)

    def _read(self, outcome: Outcome) -> None:
        if outcome.x is None:
            return
        x = np.zeros(len(self.pairs))
        x[self.pair_of] = outcome.x[self.x_cols]
        self.search.offer(assignment_from_x(self.search.d, self.pairs, x))

    def solve_neighbourhood(self, free: np.ndarray, *, gap: float | None) -> None:
        """Fix every household outside ``free`` to the incumbent and re-solve the rest
        to relative ``gap`` (None: the requested gap).

        Single persons form a transportation problem around the fixed households, whose
        LP optimum is integral, so they are left continuous (no branching on them).
        """
        search, d = self.search, self.search.d
        fixed_mask = ~free[self.h]
        fixed = self.x_cols[fixed_mask]
        on = (search.assignment[self.h[fixed_mask]] == self.m[fixed_mask]).astype(float)
        singles = self.x_cols[(d.persons[self.h] == 1) & ~fixed_mask]
        start = self._start()
        self.session.set_bounds(fixed, on, on)
        self.session.set_integer(singles, False)
        settings = search.config.search
        # a round's budget is its nodes (work), never a share of the time limit: a run with
        # a shorter limit follows the same path until the limit cuts it (anytime)
        limit = search.clock.left() - search.reserve()
        try:
            outcome = search._timed_solve(
                self.session, limit, start, settings.lns_nodes, gap, integral=_singles_integral(d)
            )
        finally:
            self.session.set_bounds(fixed, np.zeros(len(fixed)), np.ones(len(fixed)))
            self.session.set_integer(singles, True)
        self._read(outcome)

    def polish(self) -> None:
        """Keep how many households of each size the incumbent places in every
        municipality and choose again which: with those counts fixed, the pair columns
        form one transportation problem per household size, whose LP optimum is
        integral when no other row mixes them. The LP is solved (pairs continuous) and
        its plan offered when it is integral (with bounded parts, group floors or named
        capacities it may not be)."""
        search, d = self.search, self.search.d
        if search.objective is None or search.proven() or search.objective == self.polished:
            return  # a polished plan is the LP optimum of its own counts already
        limit = search.clock.left() - search.reserve()
        if limit < MIN_RUN_SECONDS:
            return
        self.polished = search.objective
        plan = search.assignment
        sizes, size_of = np.unique(d.persons, return_inverse=True)
        key = self.m * len(sizes) + size_of[self.h]
        keys, row = np.unique(key, return_inverse=True)
        placed = plan >= 0
        held = np.bincount(
            plan[placed] * len(sizes) + size_of[placed],
            minlength=d.n_municipalities * len(sizes),
        )[keys].astype(float)
        order = np.argsort(row, kind="stable")
        starts = np.searchsorted(row[order], np.arange(len(keys)))
        session = self.session
        row0 = session.n_rows
        session.add_rows(held, held, starts, self.x_cols[order], np.ones(len(order)))
        session.set_integer(self.x_cols, False)
        try:
            outcome = search._timed_solve(session, limit, integral=False)
        finally:
            session.delete_rows(np.arange(row0, row0 + len(keys)))
            session.set_integer(self.x_cols, True)
        if outcome.x is None:
            return
        x = outcome.x[self.x_cols]
        if np.abs(x - np.round(x)).max(initial=0.0) <= 1e-6:
            before = search.objective
            self._read(outcome)
            if search.objective < before:
                search.say(
                    f"the plan's household sizes per municipality kept: {-search.objective:,.2f}"
                )

    def solve_all(self, limit: float, node_limit: int | None = None) -> Outcome:
        if self.empty_infeasible:
            return Outcome(Status.INFEASIBLE, None, None, 0.0, message="empty rows")
        outcome = self.search._timed_solve(self.session, limit, self._start(), node_limit)
        self._read(outcome)
        return outcome


def _solve(
    d: PlacementData,
    config: SolverConfig,
    say: Progress,
    *,
    elastic: bool,
    limit: float,
    start: np.ndarray | None = None,
) -> PlacementSolution:
    """One search of ``limit`` seconds (the plain or the elastic model), from ``start``."""
    search = _Search(d, config, say, elastic, limit)
    if not elastic and _trivially_infeasible(d):
        return search.result(Status.INFEASIBLE)
    first = None
    if start is not None:  # before the LP, so that a run stopped early keeps it
        base = initial_pairs(d, config.search)
        improved = improve_by_moves(d, base, start.astype(np.int64), stop=search.out_of_time)
        if search.offer(improved):
            say("the start assignment, improved by moves, is the incumbent")
        first = _with_assignment(base, start, d.n_municipalities)  # meets every row it meets
    lp = search.column_generation(first)
    if isinstance(lp, PlacementSolution):
        return lp
    outcome, lp_pairs, x, maps = lp
    assert outcome.row_duals is not None
    rounded = round_lp(d, lp_pairs, x)
    if not elastic:
        # a plan at once by single moves, then ejections unless it is proven already
        rounded = repair_and_improve(d, lp_pairs, rounded, eject=False)
    search.offer(rounded)
    if not elastic and not search.proven():
        search.offer(improve_by_moves(d, lp_pairs, rounded, stop=search.out_of_time))
    say(
        f"LP bound {-search.z_lp:,.2f}; rounded solution "  # type: ignore[operator]
        + ("breaks a hard constraint" if search.objective is None else f"{-search.objective:,.2f}")
    )
    if not elastic:
        search.tighten_bound(outcome.row_duals, maps, lp_pairs)
        search.price_bounds(outcome.row_duals, maps, lp_pairs)
    stopped = search.restricted_mip(outcome.row_duals, maps, lp_pairs, x)
    return stopped if stopped is not None else search.result()


def bounds_priced(
    d: PlacementData, duals: np.ndarray | None, factor: float
) -> PlacementData | None:
    r"""The model with each binding bound on a weighted part moved into the objective
    at its LP dual (:func:`~asielplan.solvers.lagrange.priced_weights`), the row's
    Lagrangian price a little raised (``factor``: ``solver.search.bound_price_factor``),
    and without those bounds' rows. Other bounds stay rows. None when no such bound
    binds (or pricing would make a weight negative)."""
    weights, priced = priced_weights(d, duals, factor)
    if not weights:
        return None
    kept = [row for k, row in enumerate(d.bounded_parts) if k not in priced]
    return dataclasses.replace(d, config=d.config.model_copy(update=weights), bounded_parts=kept)


def floors_priced(
    d: PlacementData, duals: np.ndarray | None, factor: float
) -> PlacementData | None:
    r"""The model with each binding group floor moved into the labour scores at its LP
    dual :math:`y_G < 0` (maximisation sense), raised by ``factor``
    (``solver.search.bound_price_factor``): every pair's score plus
    :math:`\text{factor} \cdot |y_G| \, e^G_{hm} / w_L`, so that its value rises by what
    the floor's row is worth, and without those floors' rows. Other floors stay rows.
    None when no floor binds, labour has no weight, or a bound on labour stays in the
    model (its row would read the changed scores)."""
    if not d.group_floors or duals is None:
        return None
    weight = d.weight("labour")
    if weight <= 0 or any(row.part == "labour" for row in d.bounded_parts):
        return None
    y = np.asarray(duals, dtype=float)
    binding = [k for k in range(len(d.group_floors)) if y[k] < -PRICE_TOLERANCE]
    if not binding:
        return None
    score = d.score.astype(float, copy=True)
    for k in binding:
        score += (factor * -y[k] / weight) * d.group_floors[k].expected
    kept = [floor for k, floor in enumerate(d.group_floors) if k not in binding]
    return dataclasses.replace(d, score=score, group_floors=kept)


def _singles_integral(d: PlacementData) -> bool:
    """Whether single persons left continuous around fixed households take whole values
    at the LP optimum: they form a transportation problem (per municipality and region
    sums of persons or cases) unless a bounded part, a group floor or another capacity
    couples them."""
    return (
        not d.bounded_parts
        and not d.group_floors
        and set(d.capacity_dimensions) <= {"persons", "cases"}
    )


def _timings(clock: _Clock) -> dict[str, float]:
    """The contract's timing keys; pricing is part of the solve."""
    return {"build_s": clock.build, "solve_s": clock.solve + clock.pricing, "read_back_s": 0.0}


def _trivially_infeasible(d: PlacementData) -> bool:
    """Infeasible by counting alone: a household with no compatible municipality (when
    every household must be placed); a municipality or a region with a lower band above
    the persons of the households compatible with it; or the lower bands of one level's
    regions (which do not overlap) together above all the persons there are."""
    persons = d.persons.astype(float)
    reachable_persons = persons @ d.allowed  # persons who may go to each municipality
    if d.config.assignment == "exactly_once" and not d.allowed.any(axis=1).all():
        return True
    if d.target is not None and d.config.target_mode == "band":
        lower, _ = band_limits(d)
        if (lower > reachable_persons + 1e-9).any():
            return True
    for r in d.regions:
        compatible = d.allowed[:, r.members].any(axis=1)
        if r.lower > persons[compatible].sum() + 1e-9:
            return True
    per_level: dict[str, int] = {}
    for r in d.regions:
        per_level[r.level] = per_level.get(r.level, 0) + r.lower
    return any(total > persons.sum() + 1e-9 for total in per_level.values())


def _price(
    d: PlacementData,
    duals: np.ndarray,
    maps: dict[str, np.ndarray],
    in_set: np.ndarray,
    *,
    phase_one: bool,
    per_round: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs with negative reduced cost not yet in the LP, at most ``per_round`` each
    (``solver.search.add_per_round``)."""
    hs, ms = [], []
    for rows in household_chunks(d.n_households):
        rc = _reduced_costs(d, rows, duals, maps, phase_one=phase_one)
        rc[~d.allowed[rows] | in_set[rows]] = np.inf
        k = min(per_round, d.n_municipalities)
        best = np.argpartition(rc, k - 1, axis=1)[:, :k]
        good = np.take_along_axis(rc, best, axis=1) < -PRICE_TOLERANCE
        hs.append(np.repeat(rows, k)[good.ravel()])
        ms.append(best.ravel()[good.ravel()])
    return np.concatenate(hs), np.concatenate(ms)


def _mip_pairs(
    d: PlacementData,
    duals: np.ndarray,
    maps: dict[str, np.ndarray],
    per_household: int,
    incumbent: np.ndarray,
    knapsack_pairs: Pairs | None,
    per_municipality: int,
) -> tuple[Pairs, float]:
    """The restricted MIP's pairs: each household's ``per_household`` compatible pairs of
    lowest reduced cost, each municipality's ``per_municipality`` households of lowest
    reduced cost (so that a rounding shortfall anywhere can be refilled), the incumbent's
    pairs, the locks and ``knapsack_pairs`` (those the Lagrangian knapsacks chose). Also
    returns the lowest reduced cost among the pairs left out of
    the per-household choice: a pair left out can only be in solutions that are worse
    than the LP bound by at least that much."""
    hs, ms = [], []
    excluded = np.inf
    # enough households per municipality to refill a shortfall, scaled to the batch size
    per_muni = int(
        min(
            per_municipality,
            d.n_households,
            max(10, np.ceil(10 * d.n_households / d.n_municipalities)),
        )
    )
    col_best = np.full((per_muni, d.n_municipalities), np.inf)
    col_who = np.full((per_muni, d.n_municipalities), -1, dtype=np.int64)
    k = min(per_household, d.n_municipalities)
    for rows in household_chunks(d.n_households):
        rc = _reduced_costs(d, rows, duals, maps)
        rc[~d.allowed[rows]] = np.inf
        order = np.argsort(rc, axis=1, kind="stable")
        chosen = order[:, :k]
        ok = np.isfinite(np.take_along_axis(rc, chosen, axis=1))
        hs.append(np.repeat(rows, k)[ok.ravel()])
        ms.append(chosen.ravel()[ok.ravel()])
        if k < d.n_municipalities:
            left_out = np.take_along_axis(rc, order[:, k : k + 1], axis=1)
            excluded = min(excluded, float(left_out.min()))
        # keep the per_muni best households per municipality seen so far
        both = np.vstack([col_best, rc])
        who = np.vstack([col_who, np.repeat(rows[:, None], d.n_municipalities, axis=1)])
        top = np.argsort(both, axis=0, kind="stable")[:per_muni]
        col_best = np.take_along_axis(both, top, axis=0)
        col_who = np.take_along_axis(who, top, axis=0)
    good = np.isfinite(col_best) & (col_who >= 0)
    hs.append(col_who[good])
    ms.append(np.broadcast_to(np.arange(d.n_municipalities), col_who.shape)[good])
    placed = incumbent >= 0
    hs.append(np.flatnonzero(placed))
    ms.append(incumbent[placed])
    locked = d.lock >= 0
    hs.append(np.flatnonzero(locked))
    ms.append(d.lock[locked])
    if knapsack_pairs is not None:
        hs.append(knapsack_pairs.h)
        ms.append(knapsack_pairs.m)
    return _unique_pairs(np.concatenate(hs), np.concatenate(ms), d.n_municipalities), excluded


def _widened(d: PlacementData, per_household: int, small: bool, search: SearchConfig) -> int:
    """Pairs per household in the next restricted MIP: four times as many, or all of
    them for a small problem or once four times as many would be at least
    ``search.widen_all_share`` of a household's compatible pairs on average (a step that takes
    nearly all pairs costs as much as all, without the full bound)."""
    wider = 4 * per_household
    share = search.widen_all_share
    if small or wider >= share * d.allowed.sum() / max(d.n_households, 1):
        return d.n_municipalities
    return min(wider, d.n_municipalities)


def _negated(value: float | None) -> float | None:
    """Min-form figures back in the model's maximisation sense."""
    return None if value is None else -value


def _min_objective(d: PlacementData, assignment: np.ndarray, elastic: bool) -> float | None:
    """Objective (min form) of an integral assignment, or None when it breaks a hard rule."""
    if not elastic and len(constraint_violations(d, assignment)):
        return None
    return -evaluate_assignment(d, assignment, elastic=elastic)


def _solve_full_with_pyomo(
    d: PlacementData, config: SolverConfig, say: Progress
) -> PlacementSolution:
    """Any other Pyomo solver: the full model over all compatible pairs, solved as is
    (no duals: a MIP solver through Pyomo returns none)."""
    clock = _Clock(config.time_limit)
    h, m = np.nonzero(d.allowed)
    pairs = Pairs(h, m)
    say(f"building the full model over {len(pairs):,} pairs for solver {config.name!r}")
    t = time.perf_counter()
    model = build_placement_model(d, pairs)
    clock.build = time.perf_counter() - t
    outcome = solve_with_pyomo(model, config)
    clock.solve = outcome.seconds
    if not outcome.status.has_solution:
        return _solution(
            d,
            config,
            outcome.status,
            np.full(d.n_households, -1),
            timings=_timings(clock),
            message=outcome.message,
        )
    x = np.array([pyo.value(model.x[k]) or 0.0 for k in range(len(pairs))])
    assignment = assignment_from_x(d, pairs, x)
    return _solution(
        d,
        config,
        outcome.status,
        assignment,
        objective=evaluate_assignment(d, assignment, elastic=False),
        bound=_negated(outcome.bound),
        timings=_timings(clock),
        stats={"mip_pairs": len(pairs)},
        parts=_parts(d, assignment, elastic=False),
        message=outcome.message,
    )
