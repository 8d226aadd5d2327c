r"""The exact Lagrangian dual of the placement model: column generation over municipality
patterns (Dantzig-Wolfe).

The subgradient rounds of :mod:`asielplan.solvers.lagrange` lower the bound at fixed
prices of the coupling rows and stall short of the least :math:`L(\lambda, \mu)`. Its
least value is the optimum of the *master* LP over patterns, a pattern :math:`k` of a
municipality :math:`m` being a set :math:`S_k` of households it could hold whole (the
knapsack's feasible sets):

.. math:: \max \sum_{m,k} c_{mk} z_{mk} - \sum_h \pi n_h u_h \quad\text{s.t.}\quad
    \sum_{m,k: h \in S_k} z_{mk} + u_h = 1 \;(\lambda_h), \quad
    \sum_k z_{mk} = 1 \;(\sigma_m), \quad
    l_r \le \sum_{m,k} a_{r,mk} z_{mk} \le u_r \;(\mu_r), \quad z, u \ge 0

with :math:`c_{mk} = \sum_{h \in S_k} v_{hm} + f_m(\sum_{h \in S_k} n_h)` (the pair values
and the municipality's target term, as in :mod:`~asielplan.solvers.lagrange`), the
unplaced column :math:`u_h` only when a household may stay unplaced, and the coupling
rows those the Lagrangian relaxes (region bands, bounded pair-linear parts, group floors,
capacities other than persons). Its dual is the Lagrangian dual: the master over *all*
patterns has the value :math:`\min_{\lambda,\mu} L(\lambda, \mu)`, at least as strong as
the LP bound and any subgradient round.

Column generation: solve the master over the patterns found so far; at its duals the
knapsack of each municipality (:func:`~asielplan.solvers.lagrange.subproblems`) returns
its best pattern and, with them, :math:`L(\lambda, \mu)` (a valid bound at any duals);
patterns of positive reduced value join the master. Without the box's columns (below) the
master's value is never above the least :math:`L` found (it is a restriction of the
Lagrangian dual's primal); when the two meet, the bound is the exact Lagrangian dual.

The duals of a master over few patterns swing wildly (a household in one pattern may take
any price), and a knapsack at such prices wants every household. The duals are kept in a
box around the best so far (the box step: two columns per row, whose values are the
box's sides): a round whose bound is lower moves the box there; when no pattern prices in
but the box binds, it widens; when no pattern prices in and the box does not bind, the
master's value is the least :math:`L`: the Lagrangian dual is exact.

The first master holds the incumbent's patterns (a plan that keeps every hard rule, so
the master is feasible), the empty pattern of each municipality that may stay empty, and
the subgradient's choices; the box's first centre is the subgradient's best multipliers
(without them, the first master's duals). :math:`L` is valid at whatever duals the
knapsacks are solved at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from asielplan.model.families import coupling_sides, pair_terms
from asielplan.model.placement import TARGET_GAPS, Pairs, PlacementData
from asielplan.solvers.highs import new_highs, scheduler_for
from asielplan.solvers.lagrange import (
    Knapsacks,
    coupling_prices,
    gaps_priced,
    lagrangian_applies,
    lagrangian_total,
    pair_values,
    penalties,
    subproblems,
)

# a first centre: a bound and the assignment rows' and coupling rows' multipliers it was
# found at (as lagrangian_bound and coupling_prices take them)
Centre = tuple[float, np.ndarray, dict[str, np.ndarray]]
REDUCED_TOLERANCE = 1e-7  # a pattern joins the master when its reduced value is above this
CLOSED_SHARE = 1e-7  # the master meets the bound within this share: the dual is exact


@dataclass(frozen=True)
class PatternBound:
    """The least :math:`L(\\lambda, \\mu)` found over the rounds (maximisation sense; inf
    when none could be computed), the master's last value (None when it was not solved),
    the rounds taken, whether the master met the bound (the Lagrangian dual is then
    exact), the patterns in the master, and the last master's solution over pairs (the
    pairs of the patterns it uses and each pair's share)."""

    bound: float
    master: float | None
    rounds: int
    closed: bool
    patterns: int
    pairs: Pairs
    share: np.ndarray


def patterns_of(h: np.ndarray, m: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The (municipality, households) patterns of pairs ``(h, m)``: the households each
    municipality holds (a plan's, or the knapsacks' choices of one round)."""
    if not len(h):
        return []
    order = np.lexsort((h, m))
    h, m = h[order], m[order]
    cuts = np.flatnonzero(np.diff(m)) + 1
    return [(int(ms[0]), hs) for hs, ms in zip(np.split(h, cuts), np.split(m, cuts), strict=True)]


class _Master:
    """The master LP (min form in HiGHS: cost :math:`-c`), its rows laid out as the
    households' assignment rows, the municipalities' convexity rows, then the coupling
    rows (:func:`~asielplan.model.families.coupling_sides` with a finite side)."""

    def __init__(self, d: PlacementData, values: np.ndarray, threads: int, seed: int) -> None:
        import highspy

        self.d, self.values, self.threads = d, values, int(threads)
        H, M = d.n_households, d.n_municipalities
        # per coupling component: the master row of each key (-1: not in the master)
        self.row_of: dict[str, np.ndarray] = {}
        lower_parts, upper_parts = [np.ones(H + M)], [np.ones(H + M)]
        first = H + M
        for name, (lower, upper) in coupling_sides(d).items():
            keep = np.flatnonzero(
                ~np.isnan(lower) & ~np.isnan(upper) & (np.isfinite(lower) | np.isfinite(upper))
            )
            self.row_of[name] = np.full(len(lower), -1, dtype=np.int64)
            self.row_of[name][keep] = first + np.arange(len(keep))
            lower_parts.append(lower[keep])
            upper_parts.append(upper[keep])
            first += len(keep)
        self.n_rows = first
        row_lower, row_upper = np.concatenate(lower_parts), np.concatenate(upper_parts)
        self.h = h = new_highs(int(threads), int(seed))
        h.setOptionValue("simplex_strategy", 4)  # primal: the basis stays feasible as columns join
        inf = highspy.kHighsInf
        h.addRows(
            self.n_rows,
            np.where(np.isfinite(row_lower), row_lower, -inf),
            np.where(np.isfinite(row_upper), row_upper, inf),
            0,
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        self.n_cols = 0
        self.box_columns = np.zeros(0, dtype=np.int64)
        self.seen: set[tuple[int, bytes]] = set()
        self.members: list[tuple[int, np.ndarray]] = []  # per column: its pattern, or (-1, [])
        if d.config.assignment == "at_most_once":
            unplaced = -d.config.unplaced_penalty * d.persons.astype(float)
            rows = np.arange(H)
            self._add(
                unplaced, rows[:, None], np.ones((H, 1)), [(-1, rows[i : i + 1]) for i in rows]
            )

    def _add(
        self,
        value: np.ndarray,
        index: np.ndarray | list[np.ndarray],
        coefs: np.ndarray | list[np.ndarray],
        members: list[tuple[int, np.ndarray]],
    ) -> None:
        starts = np.cumsum([0] + [len(i) for i in index[:-1]]).astype(np.int32)
        flat_index = np.concatenate(list(index)).astype(np.int32)
        flat_coefs = np.concatenate(list(coefs)).astype(float)
        n = len(value)
        self.h.addCols(
            n,
            -np.asarray(value, dtype=float),
            np.zeros(n),
            np.full(n, np.inf),
            len(flat_index),
            starts,
            flat_index,
            flat_coefs,
        )
        self.n_cols += n
        self.members += members

    def columns(
        self, patterns: Iterable[tuple[int, np.ndarray]]
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[tuple[int, np.ndarray]]]:
        """The value and the entries (rows, coefficients) of each new, feasible pattern."""
        d = self.d
        fresh = []
        for mk, hs in patterns:
            held = np.sort(hs).astype(np.int64)
            key = (mk, held.tobytes())
            if key not in self.seen:
                self.seen.add(key)
                fresh.append((mk, held))
        if not fresh:
            return np.zeros(0), [], [], []
        persons = np.array([int(d.persons[hs].sum()) for _, hs in fresh])
        ms = np.array([mk for mk, _ in fresh])
        terms = penalties(d, persons)[ms, np.arange(len(fresh))]
        pattern_of = np.repeat(np.arange(len(fresh)), [len(hs) for _, hs in fresh])
        h = np.concatenate([hs for _, hs in fresh]) if pattern_of.size else np.zeros(0, np.int64)
        muni = ms[pattern_of]
        value = terms + np.bincount(pattern_of, self.values[h, muni], minlength=len(fresh))
        # coupling coefficients summed per (pattern, row)
        rows, cols, coefs = [], [], []
        for name, keys, c in pair_terms(d, h, muni):
            if name not in self.row_of:
                continue
            row = self.row_of[name][keys]
            keep = (row >= 0) & (c != 0)
            rows.append(row[keep])
            cols.append(pattern_of[keep])
            coefs.append(c[keep])
        # per pattern: its coupling rows and their coefficients, sorted by pattern
        coupled_rows: np.ndarray = np.zeros(0, dtype=np.int64)
        coupled_coefs: np.ndarray = np.zeros(0)
        bounds = np.zeros(len(fresh) + 1, dtype=np.int64)
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if len(r):
            col, v = np.concatenate(cols), np.concatenate(coefs)
            order = np.lexsort((r, col))
            r, col, v = r[order], col[order], v[order]
            first = np.r_[True, (np.diff(r) != 0) | (np.diff(col) != 0)]
            coupled_rows, coupled_coefs = r[first], np.bincount(np.cumsum(first) - 1, v)
            bounds = np.searchsorted(col[first], np.arange(len(fresh) + 1))
        out_value: list[float] = []
        out_index: list[np.ndarray] = []
        out_coefs: list[np.ndarray] = []
        members: list[tuple[int, np.ndarray]] = []
        H = d.n_households
        for k, (mk, hs) in enumerate(fresh):
            if not np.isfinite(value[k]):
                continue  # not a feasible pattern of its municipality
            extra = slice(bounds[k], bounds[k + 1])
            extra_rows, extra_coefs = coupled_rows[extra], coupled_coefs[extra]
            out_value.append(value[k])
            out_index.append(np.concatenate([hs, [H + mk], extra_rows]))
            out_coefs.append(np.concatenate([np.ones(len(hs) + 1), extra_coefs]))
            members.append((mk, hs))
        return np.array(out_value), out_index, out_coefs, members

    @property
    def n_patterns(self) -> int:
        """Patterns in the master (the box's and the unplaced columns are none)."""
        return sum(1 for mk, _ in self.members if mk >= 0)

    def add(self, patterns: Iterable[tuple[int, np.ndarray]], duals: np.ndarray | None) -> int:
        """Add the new feasible patterns (only those of positive reduced value at the
        master's ``duals``, maximisation sense, when given); returns how many joined."""
        value, index, coefs, members = self.columns(patterns)
        if duals is not None and len(value):
            reduced = value - np.array(
                [float(duals[i] @ c) for i, c in zip(index, coefs, strict=True)]
            )
            keep = np.flatnonzero(reduced > REDUCED_TOLERANCE)
            for k in np.flatnonzero(reduced <= REDUCED_TOLERANCE):
                self.seen.discard((members[k][0], members[k][1].tobytes()))
            value = value[keep]
            index = [index[k] for k in keep]
            coefs = [coefs[k] for k in keep]
            members = [members[k] for k in keep]
        if len(value):
            self._add(value, index, coefs, members)
        return len(value)

    def solve(self, seconds: float) -> tuple[float, np.ndarray, np.ndarray] | None:
        """The master's value, its row duals and column values (maximisation sense), or
        None when HiGHS does not end optimal within ``seconds``."""
        h = self.h
        h.setOptionValue("time_limit", float(h.getRunTime() + max(seconds, 0.01)))
        scheduler_for(self.threads)
        h.run()
        if str(self.h.getModelStatus()).split(".")[-1] != "kOptimal":
            return None
        solution = self.h.getSolution()
        value = -float(self.h.getInfo().objective_function_value)
        return value, -np.asarray(solution.row_dual), np.asarray(solution.col_value)

    def add_box(self) -> None:
        """Two columns per assignment and coupling row (:math:`+e_r` and :math:`-e_r`),
        their values set by :meth:`box`: with them the master's duals stay in the box."""
        rows = np.concatenate(
            [
                np.arange(self.d.n_households),
                np.arange(self.d.n_households + self.d.n_municipalities, self.n_rows),
            ]
        )
        self.boxed_rows = rows
        first = self.n_cols
        index = np.concatenate([rows, rows])[:, None]
        coefs = np.concatenate([np.ones(len(rows)), -np.ones(len(rows))])[:, None]
        self._add(np.zeros(len(index)), index, coefs, [(-1, np.zeros(0, np.int64))] * len(index))
        self.box_columns = first + np.arange(len(index))

    def box(self, centre: np.ndarray, share: float) -> None:
        """Keep the duals within :math:`c_r \\pm \\delta_r` of the centre ``centre``,
        :math:`\\delta_r` = ``share`` x (:math:`|c_r|` + the assignment rows' mean
        :math:`|c|`): the column :math:`+e_r` is worth :math:`c_r - \\delta_r`, the column
        :math:`-e_r` is worth :math:`-(c_r + \\delta_r)`."""
        c = centre[self.boxed_rows]
        typical = (
            float(np.abs(centre[: self.d.n_households]).mean()) if self.d.n_households else 1.0
        )
        delta = share * (np.abs(c) + max(typical, 1e-6))
        value = np.concatenate([c - delta, -(c + delta)])
        self.h.changeColsCost(len(value), self.box_columns.astype(np.int32), -value)

    def box_active(self, x: np.ndarray) -> bool:
        """Whether the master's solution ``x`` uses a box column (none before
        :meth:`add_box`)."""
        return bool((x[self.box_columns] > 1e-9).any())

    def dual_vector(self, lam: np.ndarray, coupled: dict[str, np.ndarray]) -> np.ndarray:
        """A row vector of the master from the assignment rows' multipliers and the
        coupling rows' per component and key (the convexity rows' 0: the knapsacks do
        not use them)."""
        out = np.zeros(self.n_rows)
        out[: self.d.n_households] = lam
        for name, rows in self.row_of.items():
            if name in coupled and len(coupled[name]):
                kept = rows >= 0
                out[rows[kept]] = coupled[name][kept]
        return out

    def multipliers(self, duals: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The assignment rows' multipliers and the coupling rows' per component and key."""
        coupled = {
            name: np.where(rows >= 0, duals[np.maximum(rows, 0)], 0.0)
            for name, rows in self.row_of.items()
        }
        return duals[: self.d.n_households].copy(), coupled

    def used_pairs(self, x: np.ndarray) -> tuple[Pairs, np.ndarray]:
        """The pairs of the patterns the master's solution ``x`` uses, each once, with
        its share: the sum of the values of the patterns that hold it (the master's
        solution over pairs, as an LP's)."""
        h, m, w = [], [], []
        for j in np.flatnonzero(x > 1e-9):
            mk, hs = self.members[j]
            if mk >= 0 and len(hs):
                h.append(hs)
                m.append(np.full(len(hs), mk))
                w.append(np.full(len(hs), x[j]))
        if not h:
            return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64)), np.zeros(0)
        M = self.d.n_municipalities
        key = np.concatenate(h) * M + np.concatenate(m)
        unique, position = np.unique(key, return_inverse=True)
        share = np.bincount(position, np.concatenate(w))
        return Pairs(unique // M, unique % M), share


def pattern_bound(
    d: PlacementData,
    plan: np.ndarray,
    first: Iterable[tuple[int, np.ndarray]],
    rounds: int,
    enough: Callable[[float], bool],
    seconds_left: Callable[[], float],
    *,
    box: float,
    centre: Centre | None = None,
    threads: int = 1,
    seed: int = 0,
    on_round: Callable[[Knapsacks], None] | None = None,
) -> PatternBound:
    """Column generation over patterns from the patterns of ``plan`` (the incumbent: a
    municipality index per household, -1 unplaced; it keeps every hard rule) and
    ``first`` (the subgradient's choices), at most ``rounds`` rounds, stopping when the
    master meets the bound (exact), when ``enough(bound)`` (the incumbent is proven, or
    the run's time is up), when the master is not solved in ``seconds_left()`` or when
    the knapsack tables would be too large.
    ``box`` is the first half-width of the box around the centre, a share of the
    multipliers' size (:meth:`_Master.box`); ``centre`` the first centre (a bound and
    the multipliers it was found at, as
    :func:`~asielplan.solvers.lagrange.lagrangian_bound` and
    :func:`~asielplan.solvers.lagrange.coupling_prices` take them). ``on_round`` sees
    each round's knapsacks. Bounds on target gaps stay at the centre's prices, in the
    patterns' target penalties (:func:`~asielplan.solvers.lagrange.gaps_priced`); the
    bound is then never called exact. Deterministic: rounds and HiGHS's simplex, no
    clock of its own."""
    empty = Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    if not lagrangian_applies(d):
        return PatternBound(np.inf, None, 0, False, 0, empty, np.zeros(0))
    # bounds on target gaps stay priced at the centre's duals (or left out), in the
    # patterns' values: then the bound is the Lagrangian dual at those prices, never
    # called exact
    fixed_prices = any(row.part in TARGET_GAPS for row in d.bounded_parts)
    d, gaps = gaps_priced(d, None if centre is None else centre[2].get("part_bound"))
    base = pair_values(d)
    master = _Master(d, base, threads, seed)
    M = d.n_municipalities
    placed = plan >= 0
    start = [(m, np.zeros(0, dtype=np.int64)) for m in range(M)]
    start += patterns_of(np.flatnonzero(placed), plan[placed])
    master.add([*start, *first], None)
    best, best_duals = np.inf, None
    if centre is not None:
        best, best_duals = centre[0], master.dual_vector(centre[1], centre[2])
        master.add_box()
        master.box(best_duals, box)
    value: float | None = None
    x = np.zeros(0)
    taken = 0
    closed = False
    width = box
    for _ in range(rounds):
        solved = master.solve(seconds_left())
        if solved is None:
            break
        value, duals, x = solved
        if best_duals is None:  # no centre given: the first master's duals
            best_duals = duals
            master.add_box()
            master.box(best_duals, width)
            continue
        lam, coupled = master.multipliers(duals)
        price, constant = coupling_prices(d, coupled)
        found = subproblems(d, lam, base - price)
        if found is None:
            break
        taken += 1
        if on_round is not None:
            on_round(found)
        bound = lagrangian_total(d, lam, found.value) + constant + gaps
        if bound < best - CLOSED_SHARE * max(1.0, abs(bound)):
            best, best_duals = bound, duals  # a serious step: the box moves here
            master.box(best_duals, width)
        added = master.add(patterns_of(found.h, found.m), duals)
        boxed = master.box_active(x)
        if not added and not boxed:
            # no pattern prices in and the box does not bind: exact
            closed = not fixed_prices
            break
        if not added:
            width *= 2  # the box binds: widen it
            master.box(best_duals, width)
        if enough(best):
            break
    master_value = None if value is None else value + gaps
    return PatternBound(best, master_value, taken, closed, master.n_patterns, *master.used_pairs(x))
