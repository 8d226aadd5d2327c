"""Prices of the remaining taakstelling from sampled futures (the weekly look-ahead).

The method is the dynamic version of Annie MOORE (Ahani, Gölz, Procaccia, Teytelboym
and Trapp, *Dynamic placement in refugee resettlement*, Operations Research 2024): a
place used now is a place a later household cannot have, so each municipality's
remaining places get a price, the dual of its row in the linear programme of a
sampled future, and the batch is placed with every household's value reduced by its
persons times that price.

A future is a bag of households drawn from a pool (recent arrivals), with a count per
distinct household (a *type*). Its LP, in persons (``f_tm``: persons of type ``t`` in
municipality ``m``; ``c_tm = -v_tm / n_t`` the cost per person), is

.. math::

    \\min \\sum_{tm} c_{tm} f_{tm} + \\alpha \\sum_m s_m + \\beta \\sum_m e_m
          + u \\sum_t g_t
    \\quad\\text{s.t.}\\quad
    \\sum_m f_{tm} + g_t = b_t \\;(y_t), \\qquad
    \\sum_t f_{tm} + s_m - e_m = R_m \\;(\\pi_m),

with ``b_t`` the type's persons, ``R_m`` the remaining taakstelling, ``alpha`` and
``beta`` the shortfall and excess penalties and ``g_t`` (only under at-most-once) the
unplaced persons at ``u`` each. It is a transportation problem, solved by column
generation (the cheapest municipalities per type first, then every column with a
negative reduced cost) on HiGHS.

The price of a place in ``m`` is the value the future loses when its target is one
person lower, :math:`\\lambda_m = -\\pi_m`. The LP's optimal duals are not unique; as
published, the smallest optimal price is taken. Optimal duals are the potentials ``p``
(``p_Z = 0`` for the shortfall and excess node ``Z``, :math:`\\pi_m = p_m`,
:math:`y_t = -p_t`) with :math:`p_j \\le p_i + w_{ij}` on every arc of the optimal
flow's residual graph; the largest ``p_m`` is the shortest path from ``Z`` to ``m``,
found by Dijkstra on the arc weights reduced by the LP's own duals. So
:math:`\\lambda_m = -d(Z, m)`, exact, with no second LP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from asielplan.config import SolverConfig, WeeklyConfig
from asielplan.model.placement import PlacementData
from asielplan.solvers.highs import Compiled, HighsSession, matrix_model
from asielplan.solvers.result import Status

FIRST_COLUMNS = 8  # cheapest municipalities per type in the first restricted LP
ADDED_COLUMNS = 5  # most negative reduced costs added per type and round
TOLERANCE = 1e-7
PRICE_DECIMALS = 9  # a price is rounded to 1e-9 per person


@dataclass(frozen=True)
class FutureLP:
    """One sampled future: per type its cost per person in every municipality
    (``inf`` where not allowed) and its persons; the remaining targets and penalties."""

    cost: np.ndarray  # (T, M) cost per person, min form; inf: not allowed
    supply: np.ndarray  # (T,) persons of each type in this future
    target: np.ndarray  # (M,) remaining taakstelling, persons
    shortfall: float  # alpha, per person below the target
    excess: float  # beta, per person above the target
    unplaced: float | None  # per unplaced person under at-most-once; None: exactly once


@dataclass(frozen=True)
class FuturePrices:
    """The LP of one future solved (a solve that does not end optimal raises): its
    optimal value (max form), the smallest optimal price per municipality, the flow."""

    value: float
    price: np.ndarray  # (M,) value of one place, per person
    flow: np.ndarray  # (T, M) persons per type and municipality


class FutureSolver:
    """The LPs of futures drawn from one set of household types, in one HiGHS model: a
    row per municipality (its remaining target, set per future) and a row per type in
    the model (its supply, 0 in a future that did not draw it). A type enters the
    model, with its cheapest columns, when a future first draws it, and leaves when
    ``keep_only`` drops it (HiGHS keeps the basis of what remains). Columns found for
    one future stay for the next, and each re-solve starts from the last basis: the
    futures of one week share a model, and so do the weeks of a simulation, whose pools
    of recent arrivals overlap. The prices do not depend on the basis (the smallest
    optimal duals are unique)."""

    def __init__(self, lp: FutureLP, config: SolverConfig) -> None:
        self.lp = lp
        self.config = config
        self.allowed = np.isfinite(lp.cost)
        self.fits = self.allowed.any(axis=1)
        self.session = HighsSession(_base_model(lp), config, relax=True)
        n_types, n_muni = lp.cost.shape
        self.row_of = np.full(n_types, -1, dtype=np.int64)  # a type's row; -1: not in
        self.have = np.zeros((n_types, n_muni), dtype=bool)  # flow columns in the model
        # the type and municipality of each column after the 2M penalty columns; a
        # municipality of -1 marks the type's unplaced column (at-most-once)
        self.col_t = np.zeros(0, dtype=np.int64)
        self.col_m = np.zeros(0, dtype=np.int64)
        self.pi = np.zeros(n_muni)  # the municipalities' duals of the last solve

    def _enter(self, types: np.ndarray) -> None:
        """Rows for ``types`` (with their unplaced columns) and their cheapest columns."""
        n_muni = self.lp.cost.shape[1]
        first_row = n_muni + int((self.row_of >= 0).sum())
        self.session.add_empty_rows(len(types))
        self.row_of[types] = first_row + np.arange(len(types))
        if self.lp.unplaced is not None:
            self._columns(types, np.full(len(types), -1), np.full(len(types), self.lp.unplaced))
        # cheapest at the last solve's municipality duals (their reduced costs)
        cost = self.lp.cost[types] - self.pi[None, :]
        t, m = _per_type(_cheapest(cost, FIRST_COLUMNS), self.allowed[types])
        self._add(types[t], m)

    def _add(self, t: np.ndarray, m: np.ndarray) -> None:
        self.have[t, m] = True
        self._columns(t, m, self.lp.cost[t, m])

    def _columns(self, t: np.ndarray, m: np.ndarray, cost: np.ndarray) -> None:
        """Columns of persons of type ``t`` placed in ``m`` (``m`` = -1: left unplaced)."""
        flows = m >= 0
        per_column = 1 + flows.astype(np.int64)  # the type's row, and m's row for a flow
        starts = np.concatenate([[0], np.cumsum(per_column)])
        index = np.empty(int(starts[-1]), dtype=np.int64)
        index[starts[:-1]] = self.row_of[t]
        index[starts[:-1][flows] + 1] = m[flows]
        self.session.add_columns(cost, starts, index, np.ones(len(index)), np.inf)
        self.col_t = np.concatenate([self.col_t, t])
        self.col_m = np.concatenate([self.col_m, m])

    def keep_only(self, types: np.ndarray) -> None:
        """Drop from the model every type not in ``types``, with its columns."""
        keep = np.zeros(len(self.row_of), dtype=bool)
        keep[types] = True
        leave = np.flatnonzero((self.row_of >= 0) & ~keep)
        if not len(leave):
            return
        n_muni = self.lp.cost.shape[1]
        gone = np.isin(self.col_t, leave)
        self.session.delete_columns(2 * n_muni + np.flatnonzero(gone))
        self.session.delete_rows(np.sort(self.row_of[leave]))
        self.col_t, self.col_m = self.col_t[~gone], self.col_m[~gone]
        self.have[leave] = False
        order = np.argsort(self.row_of, kind="stable")  # rows keep their order
        self.row_of[leave] = -1
        staying = order[self.row_of[order] >= 0]
        self.row_of[staying] = n_muni + np.arange(len(staying))

    def solve(self, supply: np.ndarray, target: np.ndarray | None = None) -> FuturePrices:
        """The LP with ``supply`` persons per type against ``target`` (default: the
        targets it was built with), and its smallest prices."""
        target = self.lp.target if target is None else np.asarray(target, dtype=float)
        lp = replace(self.lp, supply=np.asarray(supply, dtype=float), target=target)
        n_types, n_muni = lp.cost.shape
        drawn = lp.supply > 0
        if lp.unplaced is None and (drawn & ~self.fits).any():
            raise ValueError(
                f"{int((drawn & ~self.fits).sum())} future household types fit nowhere"
            )
        fresh = np.flatnonzero(drawn & (self.row_of < 0))
        if len(fresh):
            self._enter(fresh)
        inside = np.flatnonzero(self.row_of >= 0)
        self.session.set_row_bounds(np.arange(n_muni), target, target)
        self.session.set_row_bounds(self.row_of[inside], lp.supply[inside], lp.supply[inside])
        rows = np.flatnonzero(drawn)
        while True:
            outcome = self.session.solve(time_limit=self.config.time_limit)
            if outcome.status != Status.OPTIMAL or outcome.row_duals is None or outcome.x is None:
                raise RuntimeError(f"a future's LP ended {outcome.status.value}: {outcome.message}")
            pi = self.pi = outcome.row_duals[:n_muni]
            y = outcome.row_duals[self.row_of[rows]]
            open_ = self.allowed[rows] & ~self.have[rows]
            reduced = np.where(open_, lp.cost[rows] - y[:, None] - pi[None, :], np.inf)
            negative = reduced < -TOLERANCE
            if not negative.any():
                break
            t, m = _per_type(_cheapest(reduced, ADDED_COLUMNS), negative)
            self._add(rows[t], m)
        x = outcome.x
        s, e, rest = x[:n_muni], x[n_muni : 2 * n_muni], x[2 * n_muni :]
        flows = self.col_m >= 0
        flow = np.zeros((n_types, n_muni))
        flow[self.col_t[flows], self.col_m[flows]] = rest[flows]
        g = None
        if lp.unplaced is not None:
            g = np.zeros(n_types)
            g[self.col_t[~flows]] = rest[~flows]
            g = g[rows]
        # a type not drawn has no flow and is unreachable from Z: the paths skip it
        drawn_lp = replace(lp, cost=lp.cost[rows], supply=lp.supply[rows])
        potential = _largest_potentials(drawn_lp, flow[rows], s, e, g, y, pi)
        value = -float(outcome.objective or 0.0)
        return FuturePrices(value, -potential + 0.0, flow)


class HouseholdFutures(FutureSolver):
    """The futures of a set of households, each household a type (its values,
    compatibility and persons) under the configuration's penalties; a future draws from
    a pool of them (``weekly_prices``), its supplies and targets set per future."""

    def __init__(self, households: PlacementData, config: SolverConfig) -> None:
        settings = households.config
        if settings.target_mode != "soft":
            raise ValueError(
                "prices need the taakstelling as a penalised target (target_mode soft)"
            )
        rows = np.arange(households.n_households)
        per_person = households.value_rows(rows) / households.persons[:, None]
        unplaced = settings.unplaced_penalty if settings.assignment == "at_most_once" else None
        lp = FutureLP(
            cost=np.where(households.allowed, -per_person, np.inf),
            supply=np.zeros(households.n_households),
            target=np.zeros(households.n_municipalities),
            shortfall=settings.penalty_shortfall,
            excess=settings.penalty_excess,
            unplaced=unplaced,
        )
        super().__init__(lp, config)
        self.persons = households.persons.astype(np.int64)


def solve_future(lp: FutureLP, config: SolverConfig) -> FuturePrices:
    """Solve one future's LP by column generation and return its smallest prices."""
    return FutureSolver(lp, config).solve(lp.supply)


def _cheapest(cost: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` columns of least cost in every row (in no particular order)."""
    if cost.shape[1] <= k:
        return np.tile(np.arange(cost.shape[1]), (cost.shape[0], 1))
    return np.argpartition(cost, k - 1, axis=1)[:, :k]


def _per_type(columns: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(type, municipality) of the chosen columns that ``keep`` admits."""
    t = np.repeat(np.arange(columns.shape[0]), columns.shape[1])
    m = columns.ravel()
    ok = keep[t, m]
    return t[ok], m[ok]


def _base_model(lp: FutureLP) -> Compiled:
    """The municipalities' rows with their shortfall and excess columns; the types'
    rows and columns enter as futures draw them."""
    n_muni = lp.cost.shape[1]
    rows = np.concatenate([np.arange(n_muni), np.arange(n_muni)])
    vals = np.concatenate([np.ones(n_muni), -np.ones(n_muni)])
    cost = np.concatenate([np.full(n_muni, lp.shortfall), np.full(n_muni, lp.excess)])
    A = sp.csc_array((vals, (rows, np.arange(2 * n_muni))), shape=(n_muni, 2 * n_muni))
    rhs = lp.target.astype(float)
    return matrix_model(A, rhs, rhs, cost, np.zeros(2 * n_muni), np.full(2 * n_muni, np.inf))


def _largest_potentials(
    lp: FutureLP,
    flow: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    g: np.ndarray | None,
    y: np.ndarray,
    pi: np.ndarray,
) -> np.ndarray:
    """The largest optimal :math:`\\pi_m`: shortest paths from ``Z`` in the residual
    graph of the optimal flow, the arc weights reduced by the LP's duals."""
    n_types, n_muni = lp.cost.shape
    z, types, munis = 0, 1 + np.arange(n_types), 1 + n_types + np.arange(n_muni)
    potential = np.concatenate([[0.0], -y, pi])  # the LP's optimal potentials
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    weights: list[np.ndarray] = []

    def arcs(tail: np.ndarray, head: np.ndarray, weight: np.ndarray) -> None:
        tails.append(tail)
        heads.append(head)
        weights.append(weight)

    t, m = np.nonzero(np.isfinite(lp.cost))
    arcs(types[t], munis[m], lp.cost[t, m])  # place persons of t in m
    used = flow[t, m] > TOLERANCE
    arcs(munis[m[used]], types[t[used]], -lp.cost[t[used], m[used]])  # take them back
    # between Z and a municipality one arc each way, the lighter of two: one more
    # short (alpha) or one fewer in excess (-beta, when in excess); one more in excess
    # (beta) or one fewer short (-alpha, when short)
    arcs(np.full(n_muni, z), munis, np.where(e > TOLERANCE, -lp.excess, lp.shortfall))
    arcs(munis, np.full(n_muni, z), np.where(s > TOLERANCE, -lp.shortfall, lp.excess))
    if lp.unplaced is not None and g is not None:
        left = g > TOLERANCE  # one more unplaced (u), or one fewer when some are (-u)
        arcs(types, np.full(n_types, z), np.full(n_types, lp.unplaced))
        arcs(np.full(int(left.sum()), z), types[left], np.full(int(left.sum()), -lp.unplaced))
    tail, head, weight = (np.concatenate(a) for a in (tails, heads, weights))
    reduced = np.maximum(weight + potential[tail] - potential[head], 0.0)
    n_nodes = 1 + n_types + n_muni
    graph = sp.csr_array((reduced, (tail, head)), shape=(n_nodes, n_nodes))
    distance = dijkstra(graph, directed=True, indices=z)
    return (distance + potential - potential[z])[munis]


@dataclass(frozen=True)
class Prices:
    """The prices of a weekly batch: their mean over the futures, and each future's."""

    price: np.ndarray  # (M,) mean smallest optimal price per person
    per_future: np.ndarray  # (futures, M)
    future_persons: int  # persons in each sampled future


def pace_prices(
    period: np.ndarray, placed: np.ndarray, batch_persons: int, weight: float
) -> np.ndarray:
    """The balanced policy's price per person for keeping pace: with the national pace
    :math:`\\rho` = (persons placed so far + this batch) / the period's taakstelling, a
    municipality ``d_m = placed_m - \\rho T_m`` persons ahead pays
    :math:`w\\, d_m / T_m` per person it takes: the marginal cost of the penalty
    :math:`\\tfrac{w}{2} \\sum_m (d_m^+)^2 / T_m` on running ahead, at the batch's start.
    A municipality behind pays nothing and gets no credit: a credit, fixed for the whole
    batch, drew far more persons to a small municipality behind than it lacked (the
    price does not rise as the batch fills it), and left the balance worse."""
    if float(np.sum(period)) <= 0:
        return np.zeros(len(period))
    pace = national_pace(period, placed, batch_persons)
    ahead = np.asarray(placed, dtype=float) - pace * np.asarray(period, dtype=float)
    return weight * np.clip(ahead, 0.0, None) / np.maximum(np.asarray(period, dtype=float), 1.0)


def national_pace(period: np.ndarray, placed: np.ndarray, batch_persons: int) -> float:
    """The share of the period's taakstelling housed once this batch is: (persons placed
    so far + this batch) / the national taakstelling; a municipality on the pro-rata
    path has housed this share of its own taakstelling. 0 without a taakstelling."""
    total = float(np.sum(period))
    return 0.0 if total <= 0 else (float(np.sum(placed)) + batch_persons) / total


def sample_future(persons: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of the pool drawn uniformly with replacement until the drawn persons reach
    ``total`` (the bootstrap of recent arrivals); one count per pool row."""
    counts = np.zeros(len(persons), dtype=np.int64)
    if total <= 0 or len(persons) == 0:
        return counts
    drawn = 0
    while drawn < total:
        chunk = max(16, int(1.2 * (total - drawn) / max(persons.mean(), 1.0)))
        rows = rng.integers(0, len(persons), size=chunk)
        reach = np.cumsum(persons[rows]) + drawn
        stop = int(np.searchsorted(reach, total)) + 1  # the draw that reaches the total
        taken = rows[: min(stop, chunk)]
        np.add.at(counts, taken, 1)
        drawn += int(persons[taken].sum())
    return counts


def weekly_prices(
    households: HouseholdFutures,
    pool: np.ndarray,
    target: np.ndarray,
    future_persons: int,
    futures: int,
    seed: int,
) -> Prices:
    """Average smallest optimal prices over ``futures`` futures of ``future_persons``
    persons drawn from the households ``pool`` (indices into ``households``), against
    the remaining ``target``."""
    rng = np.random.default_rng([seed, 7919])
    pool = np.asarray(pool, dtype=np.int64)
    households.keep_only(pool)  # households out of the pool leave the model
    per_future = []
    for _ in range(futures):
        counts = sample_future(households.persons[pool], future_persons, rng)
        supply = np.zeros(len(households.persons))
        supply[pool] = counts * households.persons[pool]
        per_future.append(households.solve(supply, target).price)
    stacked = np.vstack(per_future) if per_future else np.zeros((0, len(target)))
    return Prices(
        # rounded: the float noise of the LPs' paths (1e-14) must not reach the plan
        price=np.round(stacked.mean(axis=0), PRICE_DECIMALS) + 0.0,
        per_future=stacked,
        future_persons=int(future_persons),
    )


def look_ahead(
    batch: PlacementData,
    futures: HouseholdFutures | None,
    pool: np.ndarray,
    period: np.ndarray,
    placed: np.ndarray,
    weekly: WeeklyConfig,
    seed: int,
) -> tuple[PlacementData, Prices | None]:
    """The weekly step's look-ahead, the one used by ``asielplan weekly`` and by the
    simulation: under the ``prices`` and ``balanced`` policies the batch's households
    pay their municipality's price, averaged over ``weekly.futures`` futures of
    ``weekly.future_persons`` persons (empty: the remaining taakstelling minus the
    batch's persons) drawn with ``seed`` from the households ``pool`` of ``futures``;
    under ``balanced`` also the pace price (:func:`pace_prices`) against the period's
    taakstelling ``period`` with ``placed`` persons housed so far. ``greedy``: the
    batch as it is. The batch's targets are the remaining taakstelling."""
    if weekly.policy == "greedy":
        return batch, None
    assert futures is not None and batch.target is not None
    remaining = batch.target
    persons = int(batch.persons.sum())
    future = weekly.future_persons
    if future is None:
        future = max(int(remaining.sum()) - persons, 0)
    prices = weekly_prices(futures, pool, remaining, future, weekly.futures, seed)
    batch = replace(batch, prices=prices.price)
    if weekly.policy == "balanced":
        pace = pace_prices(period, placed, persons, weekly.balance_weight)
        batch = replace(batch, pace=pace)
    return batch, prices
