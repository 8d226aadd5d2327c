"""Solving the placement model at national scale.

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
3. **A restricted MIP** over each household's lowest-reduced-cost pairs, first solved in
   neighbourhoods (everything fixed but a part), then whole. Any solution that uses a
   pair of reduced cost :math:`\bar c` costs at least :math:`z_{LP} + \bar c`; when every
   pair left out has :math:`\bar c` above the incumbent's gap, the restricted MIP's bound
   holds for the full problem. Otherwise the bound is :math:`z_{LP}`. Either way the
   reported gap is a gap for the full problem.

Every number is in the minimisation form of the compiled model; the reported objective
and bound are in the model's own (maximisation) sense. When the model is infeasible the
same steps run on the elastic model and the violated quotas or capacities are reported.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import SolverConfig
from asielplan.model.placement import (
    Pairs,
    PlacementData,
    band_limits,
    build_placement_model,
    constraint_violations,
    evaluate_assignment,
    pair_terms,
)
from asielplan.solvers.heuristics import (
    assignment_from_x,
    improve_by_moves,
    neighbourhood,
    round_lp,
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

INITIAL_COLUMNS = 6  # best municipalities per household in the first LP
TARGET_COVER = 1.5  # initial households per municipality, in multiples of its target
MIP_COLUMNS = 5  # pairs per household (lowest reduced cost) in the restricted MIP
MIP_PER_MUNICIPALITY = 40  # households per municipality (lowest reduced cost) in the MIP
LNS_ROUNDS = 8  # large-neighbourhood rounds before the full restricted MIP
FULL_MIP_PAIRS = 100_000  # up to this many compatible pairs, the last MIP takes them all
WIDEN_MIN_SHARE = 0.3  # widen the restricted MIP only with this share of the time left
FINAL_MIP_MIN_SHARE = 0.2  # large problems: the whole restricted MIP only with this much left
MIN_RUN_SECONDS = 0.05  # shortest time limit handed to one HiGHS run
SMALL_FIRST_PASS_SHARE = 0.3  # time share of the restricted pass before the full one
LNS_SHARE = 0.15  # at most this share of the time limit per neighbourhood round
ADD_PER_ROUND = 4  # most negative reduced costs added per household per round
PRICE_TOLERANCE = 1e-7
CHUNK = 2048  # households priced at once
MAX_ROUNDS = 200
ROW_COMPONENTS = ("assign", "target", "capacity", "region")


@dataclass
class PlacementSolution:
    """The outcome of a placement solve, in the model's maximisation sense."""

    status: Status
    assignment: np.ndarray  # municipality index per household, -1 when unplaced
    objective: float | None
    bound: float | None  # proven upper bound for the full problem (all pairs)
    lp_bound: float | None
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    diagnosis: pd.DataFrame | None = None
    message: str = ""

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        # in min form: (-objective) - (-bound)
        return relative_gap(-self.objective, -self.bound)


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
    d: PlacementData, config: SolverConfig, progress: Progress | None = None
) -> PlacementSolution:
    """Solve the placement model; on infeasibility return the elastic diagnosis."""
    say = progress or (lambda message: log.info(message))
    if config.name != "highs":
        return _solve_full_with_pyomo(d, config, say)
    solution = _solve(d, config, say, elastic=False)
    if solution.status != Status.INFEASIBLE:
        return solution
    say("model infeasible: solving the elastic model to find what cannot be met")
    elastic = _solve(d, config, say, elastic=True)
    diagnosis = constraint_violations(d, elastic.assignment)
    return PlacementSolution(
        Status.INFEASIBLE,
        elastic.assignment,
        None,
        None,
        None,
        timings={k: solution.timings.get(k, 0) + v for k, v in elastic.timings.items()},
        stats=elastic.stats,
        diagnosis=diagnosis,
        message="infeasible: the diagnosis lists the quotas and capacities that cannot be met",
    )


def initial_pairs(d: PlacementData, k: int = INITIAL_COLUMNS) -> Pairs:
    """A first candidate set that lets every row be met: each household's ``k`` best
    municipalities, and for every municipality the households that lose least by going
    there instead of to their best place (regret), until they add up to
    ``TARGET_COVER`` times its target (or one household when there is no target)."""
    hs, ms = [], []
    regret = np.empty((d.n_households, d.n_municipalities))
    for start in range(0, d.n_households, CHUNK):
        rows = np.arange(start, min(start + CHUNK, d.n_households))
        value = np.where(d.allowed[rows], d.value_rows(rows), -np.inf)
        kk = min(k, d.n_municipalities)
        best = np.argpartition(-value, kk - 1, axis=1)[:, :kk]
        ok = np.isfinite(np.take_along_axis(value, best, axis=1))
        hs.append(np.repeat(rows, kk)[ok.ravel()])
        ms.append(best.ravel()[ok.ravel()])
        regret[rows] = value.max(axis=1, keepdims=True) - value
    need = (
        np.ones(d.n_municipalities)
        if d.target is None
        else TARGET_COVER * d.target + d.persons.max(initial=1)
    )
    for m in range(d.n_municipalities):
        column = regret[:, m]
        order = np.argsort(column, kind="stable")
        order = order[np.isfinite(column[order])]
        upto = int(np.searchsorted(np.cumsum(d.persons[order]), need[m])) + 1
        hs.append(order[:upto])
        ms.append(np.full(min(upto, len(order)), m))
    return _unique_pairs(np.concatenate(hs), np.concatenate(ms), d.n_municipalities)


def _unique_pairs(h: np.ndarray, m: np.ndarray, n_muni: int) -> Pairs:
    key = np.unique(h.astype(np.int64) * n_muni + m)
    return Pairs(key // n_muni, key % n_muni)


def _row_maps(model: pyo.ConcreteModel, compiled: Compiled) -> dict[str, np.ndarray]:
    maps = {}
    for name in ROW_COMPONENTS:
        component = getattr(model, name, None)
        if component is None:
            continue
        keys = list(component.keys())
        rows = np.full(max(keys) + 1 if keys else 0, -1, dtype=np.int64)
        for key, con in component.items():
            rows[key] = compiled.row(con)
        maps[name] = rows
    return maps


def _column_entries(
    d: PlacementData, h: np.ndarray, m: np.ndarray, maps: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compressed-column form (starts, row index, value) of the columns of pairs (h, m)."""
    cols, rows, vals = [], [], []
    position = np.arange(len(h))
    for name, keys, coefs in pair_terms(d, h, m):
        mapped = maps[name][keys] if name in maps else np.full(len(keys), -1)
        ok = mapped >= 0
        cols.append(position[ok])
        rows.append(mapped[ok])
        vals.append(coefs[ok])
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    order = np.argsort(col, kind="stable")
    starts = np.searchsorted(col[order], np.arange(len(h)))
    return starts, np.concatenate(rows)[order], np.concatenate(vals)[order]


def _reduced_costs(
    d: PlacementData, rows: np.ndarray, duals: np.ndarray, maps: dict[str, np.ndarray]
) -> np.ndarray:
    """Reduced cost (min form) of every pair of households ``rows`` (len(rows) x M)."""
    M = d.n_municipalities
    h = np.repeat(rows, M)
    m = np.tile(np.arange(M), len(rows))
    rc = -d.value_rows(rows).ravel()
    for name, keys, coefs in pair_terms(d, h, m):
        if name not in maps:
            continue
        mapped = maps[name][keys]
        rc -= np.where(mapped >= 0, duals[np.maximum(mapped, 0)], 0.0) * coefs
    return rc.reshape(len(rows), M)


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
        self, d: PlacementData, config: SolverConfig, say: Progress, elastic: bool
    ) -> None:
        self.d, self.config, self.elastic = d, config, elastic
        self.clock = _Clock(config.time_limit)
        self.say = lambda message: say(f"[{self.clock.elapsed():5.1f} s] {message}")
        self.stats: dict[str, int] = {"compatible_pairs": int(d.allowed.sum())}
        self.assignment = np.full(d.n_households, -1, dtype=np.int64)
        self.objective: float | None = None  # min form
        self.z_lp: float | None = None
        self.bound: float | None = None

    # ------------------------------------------------------------------ bookkeeping
    def offer(self, assignment: np.ndarray) -> bool:
        value = _min_objective(self.d, assignment, self.elastic)
        if value is None or (self.objective is not None and value >= self.objective - 1e-9):
            return False
        self.assignment, self.objective = assignment, value
        return True

    def reserve(self) -> float:
        """Seconds kept back for building and reading results: 5% of the limit, <= 1 s."""
        return min(1.0, 0.05 * self.config.time_limit)

    def move_seconds(self) -> float:
        """Time the local search may take: a tenth of what is left."""
        return max(0.0, 0.1 * (self.clock.left() - self.reserve()))

    def proven(self) -> bool:
        return (
            self.objective is not None
            and self.bound is not None
            and relative_gap(self.objective, self.bound) <= self.config.mip_gap
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
        return PlacementSolution(
            status,
            self.assignment,
            _negated(self.objective),
            _negated(self.bound),
            _negated(self.z_lp),
            timings=_timings(self.clock),
            stats=self.stats,
            message=message,
        )

    def _timed_solve(
        self,
        session: HighsSession,
        limit: float,
        start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Outcome:
        t = time.perf_counter()
        outcome = session.solve(time_limit=max(limit, MIN_RUN_SECONDS), start=start)
        self.clock.solve += time.perf_counter() - t
        return outcome

    # ------------------------------------------------------------------ 1. LP
    def column_generation(
        self,
    ) -> tuple[Outcome, Pairs, np.ndarray, dict[str, np.ndarray]] | PlacementSolution:
        d = self.d
        pairs = initial_pairs(d)
        t = time.perf_counter()
        model = build_placement_model(d, pairs, relax=True, elastic=self.elastic)
        compiled = compile_model(model)
        session = HighsSession(compiled, self.config, relax=True)
        self.clock.build += time.perf_counter() - t
        maps = _row_maps(model, compiled)
        in_set = np.zeros((d.n_households, d.n_municipalities), dtype=bool)
        in_set[pairs.h, pairs.m] = True
        hs, ms = [pairs.h], [pairs.m]
        n_pairs = len(pairs)
        for rounds in range(1, MAX_ROUNDS + 1):
            outcome = self._timed_solve(session, self.clock.left())
            if outcome.status == Status.INFEASIBLE:
                return self.result(Status.INFEASIBLE)
            if outcome.status != Status.OPTIMAL or outcome.row_duals is None:
                return self.result(outcome.status, f"LP relaxation stopped: {outcome.message}")
            t = time.perf_counter()
            new_h, new_m = _price(d, outcome.row_duals, maps, in_set)
            self.clock.pricing += time.perf_counter() - t
            self.say(
                f"LP round {rounds}: {n_pairs:,} pairs, objective "
                f"{-outcome.objective:,.2f}, {len(new_h):,} pairs priced in"
            )
            if not len(new_h):
                break
            t = time.perf_counter()
            starts, index, value = _column_entries(d, new_h, new_m, maps)
            session.add_columns(-d.value(new_h, new_m), starts, index, value)
            self.clock.build += time.perf_counter() - t
            in_set[new_h, new_m] = True
            hs.append(new_h)
            ms.append(new_m)
            n_pairs += len(new_h)
        self.stats.update(lp_rounds=rounds, lp_pairs=n_pairs)
        self.z_lp = self.bound = outcome.objective
        # LP values in the order the pairs were added (compiled columns, then new ones)
        assert outcome.x is not None
        cols = _pair_columns(compiled, model)
        base = cols >= 0
        x = np.zeros(n_pairs)
        x[cols[base]] = outcome.x[: len(cols)][base]
        x[len(pairs) :] = outcome.x[len(cols) :]
        return outcome, Pairs(np.concatenate(hs), np.concatenate(ms)), x, maps

    # ------------------------------------------------------------------ 2.-3. MIP
    def restricted_mip(
        self, duals: np.ndarray, maps: dict[str, np.ndarray], fractional: np.ndarray
    ) -> PlacementSolution | None:
        """The MIP over each household's lowest-reduced-cost pairs: neighbourhood rounds
        first (they find good solutions fast), then the whole restricted MIP. When the
        restriction is solved but the gap to the LP bound is not closed, widen it: small
        problems go straight to all compatible pairs, whose MIP bound is the full bound."""
        d, z_lp = self.d, self.z_lp
        assert z_lp is not None
        small = int(d.allowed.sum()) <= FULL_MIP_PAIRS
        per_household = min(MIP_COLUMNS, d.n_municipalities)
        first = True
        while self.clock.left() > self.reserve() and not self.proven():
            pairs, excluded_rc = _mip_pairs(d, duals, maps, per_household, self.assignment)
            self.stats["mip_pairs"] = len(pairs)
            self.say(f"MIP over {len(pairs):,} pairs ({per_household} per household)")
            mip = _RestrictedMip(self, pairs)
            if first:
                self._neighbourhoods(mip, pairs, fractional)
                first = False
            if self.proven():
                break
            widen_next = per_household < d.n_municipalities
            if not small and self.clock.left() < FINAL_MIP_MIN_SHARE * self.config.time_limit:
                break  # HiGHS may overrun a short limit on a large MIP: keep the incumbent
            share = SMALL_FIRST_PASS_SHARE if small and widen_next else 1.0
            result = mip.solve_all(share * self.clock.left())
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
                self.bound = max(z_lp, min(result.bound, self.objective))
            if self.proven() or not widen_next:
                break
            if result.status != Status.OPTIMAL and not small:
                break  # the restriction is not solved yet: widening would not help
            if self.clock.left() < WIDEN_MIN_SHARE * self.config.time_limit:
                break  # too little time left to build a wider model
            per_household = (
                d.n_municipalities if small else min(4 * per_household, d.n_municipalities)
            )
        return None

    def _neighbourhoods(self, mip: _RestrictedMip, pairs: Pairs, fractional: np.ndarray) -> None:
        d = self.d
        for round_no in range(1, LNS_ROUNDS + 1):
            if self.objective is None or self.proven() or self.clock.left() <= 2 * self.reserve():
                return
            before = self.objective
            free = neighbourhood(d, self.assignment, pairs, round_no, fractional)
            mip.solve_neighbourhood(free)
            if not self.elastic:
                self.offer(improve_by_moves(d, pairs, self.assignment, self.move_seconds()))
            self.say(
                f"neighbourhood {round_no} ({int(free.sum()):,} households free): "
                f"{-self.objective:,.2f}"
            )
            if round_no >= 3 and self.objective >= before - 1e-6 * abs(before):
                return


class _RestrictedMip:
    """The MIP over a restricted pair set, kept live in HiGHS across neighbourhoods."""

    def __init__(self, search: _Search, pairs: Pairs) -> None:
        self.search, self.pairs = search, pairs
        d = search.d
        t = time.perf_counter()
        model = build_placement_model(d, pairs, relax=False, elastic=search.elastic)
        compiled = compile_model(model)
        self.session = HighsSession(compiled, search.config, relax=False)
        search.clock.build += time.perf_counter() - t
        cols = _pair_columns(compiled, model)
        self.x_cols = np.flatnonzero(cols >= 0)
        self.pair_of = cols[self.x_cols]
        self.h, self.m = pairs.h[self.pair_of], pairs.m[self.pair_of]

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

    def solve_neighbourhood(self, free: np.ndarray) -> None:
        """Fix every household outside ``free`` to the incumbent and re-solve the rest.

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
        limit = min(search.clock.left() - search.reserve(), LNS_SHARE * search.config.time_limit)
        outcome = search._timed_solve(self.session, limit, start)
        self.session.set_bounds(fixed, np.zeros(len(fixed)), np.ones(len(fixed)))
        self.session.set_integer(singles, True)
        self._read(outcome)

    def solve_all(self, limit: float) -> Outcome:
        outcome = self.search._timed_solve(self.session, limit, self._start())
        self._read(outcome)
        return outcome


def _solve(
    d: PlacementData, config: SolverConfig, say: Progress, *, elastic: bool
) -> PlacementSolution:
    search = _Search(d, config, say, elastic)
    if not elastic and _trivially_infeasible(d):
        return search.result(Status.INFEASIBLE)
    lp = search.column_generation()
    if isinstance(lp, PlacementSolution):
        return lp
    outcome, lp_pairs, x, maps = lp
    assert outcome.row_duals is not None
    fractional = np.zeros(d.n_households, dtype=bool)
    fractional[lp_pairs.h[(x > 1e-6) & (x < 1 - 1e-6)]] = True
    rounded = round_lp(d, lp_pairs, x)
    search.offer(
        improve_by_moves(d, lp_pairs, rounded, search.move_seconds()) if not elastic else rounded
    )
    say(
        f"LP bound {-search.z_lp:,.2f}; rounded solution "  # type: ignore[operator]
        + ("breaks a hard constraint" if search.objective is None else f"{-search.objective:,.2f}")
    )
    stopped = search.restricted_mip(outcome.row_duals, maps, fractional)
    return stopped if stopped is not None else search.result()


def _timings(clock: _Clock) -> dict[str, float]:
    return {"build_s": clock.build, "solve_s": clock.solve, "pricing_s": clock.pricing}


def _trivially_infeasible(d: PlacementData) -> bool:
    """A municipality with a band lower bound above 0 but no compatible household."""
    if d.target is None or d.config.target_mode == "soft":
        return False
    lower, _ = band_limits(d)
    return bool(((lower > 0) & ~d.allowed.any(axis=0)).any())


def _price(
    d: PlacementData, duals: np.ndarray, maps: dict[str, np.ndarray], in_set: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs with negative reduced cost not yet in the LP, at most ADD_PER_ROUND each."""
    hs, ms = [], []
    for start in range(0, d.n_households, CHUNK):
        rows = np.arange(start, min(start + CHUNK, d.n_households))
        rc = _reduced_costs(d, rows, duals, maps)
        rc[~d.allowed[rows] | in_set[rows]] = np.inf
        k = min(ADD_PER_ROUND, d.n_municipalities)
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
) -> tuple[Pairs, float]:
    """The restricted MIP's pairs: each household's ``per_household`` compatible pairs of
    lowest reduced cost, each municipality's ``MIP_PER_MUNICIPALITY`` households of lowest
    reduced cost (so that a rounding shortfall anywhere can be refilled), the incumbent's
    pairs and the locks. Also returns the lowest reduced cost among the pairs left out of
    the per-household choice: a pair left out can only be in solutions that are worse
    than the LP bound by at least that much."""
    hs, ms = [], []
    excluded = np.inf
    # enough households per municipality to refill a shortfall, scaled to the batch size
    per_muni = int(
        min(
            MIP_PER_MUNICIPALITY,
            d.n_households,
            max(10, np.ceil(10 * d.n_households / d.n_municipalities)),
        )
    )
    col_best = np.full((per_muni, d.n_municipalities), np.inf)
    col_who = np.full((per_muni, d.n_municipalities), -1, dtype=np.int64)
    k = min(per_household, d.n_municipalities)
    for start in range(0, d.n_households, CHUNK):
        rows = np.arange(start, min(start + CHUNK, d.n_households))
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
    return _unique_pairs(np.concatenate(hs), np.concatenate(ms), d.n_municipalities), excluded


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
    """Any other Pyomo solver: the full model over all compatible pairs, solved as is."""
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
        return PlacementSolution(
            outcome.status,
            np.full(d.n_households, -1),
            None,
            None,
            None,
            timings=_timings(clock),
            message=outcome.message,
        )
    x = np.array([pyo.value(model.x[k]) or 0.0 for k in range(len(pairs))])
    assignment = assignment_from_x(d, pairs, x)
    objective = evaluate_assignment(d, assignment, elastic=False)
    bound = None if outcome.bound is None else -outcome.bound
    return PlacementSolution(
        outcome.status,
        assignment,
        objective,
        bound,
        None,
        timings=_timings(clock),
        stats={"mip_pairs": len(pairs)},
        message=outcome.message,
    )
