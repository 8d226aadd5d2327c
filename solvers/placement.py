"""Solving the placement model at national scale.

All compatible pairs (10,000 households x 342 municipalities is 3.4 million) are too
many to hand to a MIP solver, and almost none can be in an optimal solution. The solve
therefore runs in three steps, each with a proof attached:

1. **Column generation on the LP relaxation.** Start from each household's best few
   municipalities; solve the LP; price *every* compatible pair with the LP duals,
   vectorised (:math:`\\bar c_{hm} = c_{hm} - a_{hm}^\\top y`); add the pairs with negative
   reduced cost; repeat until none is left. The LP optimum :math:`z_{LP}` is then the LP
   optimum over all pairs: a valid bound for the full MIP.
2. **Rounding** the LP solution gives an incumbent :math:`z_I`.
3. **The MIP on the pairs that can matter.** Any solution that uses a pair of reduced cost
   :math:`\\bar c` costs at least :math:`z_{LP} + \\bar c`, so pairs with
   :math:`\\bar c > z_I - z_{LP}` cannot be in a solution better than the incumbent. The
   MIP over the remaining pairs is exactly the full problem, and its bound is a bound
   for the full problem.

Every number is in the minimisation form of the compiled model; the reported objective
and bound are in the model's own (maximisation) sense. When the model is infeasible the
same steps run on the elastic model and the violated quotas or capacities are reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
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
    placed_persons,
)
from asielplan.solvers.highs import (
    Compiled,
    HighsSession,
    Outcome,
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
LNS_SHARE = 0.15  # at most this share of the time limit per neighbourhood round
ADD_PER_ROUND = 4  # most negative reduced costs added per household per round
PRICE_TOLERANCE = 1e-7
CHUNK = 2048  # households priced at once
MAX_ROUNDS = 200
ROW_COMPONENTS = ("assign", "target", "capacity", "region")

Progress = Callable[[str], None]


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


def _assignment_from(d: PlacementData, pairs: Pairs, x: np.ndarray) -> np.ndarray:
    """Round a (possibly fractional) solution: each household to its largest x."""
    assignment = np.full(d.n_households, -1, dtype=np.int64)
    best = np.zeros(d.n_households)
    order = np.argsort(x, kind="stable")
    h, m, xv = pairs.h[order], pairs.m[order], x[order]
    assignment[h] = m  # the last write per household is its largest x
    best[h] = xv
    if d.config.assignment == "at_most_once":
        assignment[best < 0.5] = -1
    return assignment


def _solve(
    d: PlacementData, config: SolverConfig, say: Progress, *, elastic: bool
) -> PlacementSolution:
    clock = _Clock(config.time_limit)
    stats: dict[str, int] = {"compatible_pairs": int(d.allowed.sum())}
    if not elastic and _trivially_infeasible(d):
        return PlacementSolution(Status.INFEASIBLE, np.full(d.n_households, -1), None, None, None)

    # 1. column generation on the LP relaxation
    pairs = initial_pairs(d)
    t = time.perf_counter()
    model = build_placement_model(d, pairs, relax=True, elastic=elastic)
    compiled = compile_model(model)
    session = HighsSession(compiled, config, relax=True)
    clock.build += time.perf_counter() - t
    maps = _row_maps(model, compiled)
    in_set = np.zeros((d.n_households, d.n_municipalities), dtype=bool)
    in_set[pairs.h, pairs.m] = True
    col_pair_h = list(pairs.h)
    col_pair_m = list(pairs.m)
    pair_cols = _pair_columns(compiled, model)
    n_base = len(compiled.columns)

    outcome: Outcome | None = None
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        t = time.perf_counter()
        outcome = session.solve(time_limit=max(clock.left(), 1.0))
        clock.solve += time.perf_counter() - t
        if outcome.status == Status.INFEASIBLE:
            return PlacementSolution(
                Status.INFEASIBLE,
                np.full(d.n_households, -1),
                None,
                None,
                None,
                timings=_timings(clock),
                stats=stats,
            )
        if outcome.status != Status.OPTIMAL or outcome.row_duals is None:
            return PlacementSolution(
                outcome.status,
                np.full(d.n_households, -1),
                None,
                None,
                None,
                timings=_timings(clock),
                stats=stats,
                message=f"LP relaxation stopped: {outcome.message}",
            )
        t = time.perf_counter()
        new_h, new_m = _price(d, outcome.row_duals, maps, in_set)
        clock.pricing += time.perf_counter() - t
        say(
            f"LP round {rounds}: {len(col_pair_h):,} pairs, objective "
            f"{-outcome.objective:,.2f}, {len(new_h):,} pairs priced in"
        )  # type: ignore[operator]
        if not len(new_h):
            break
        t = time.perf_counter()
        starts, index, value = _column_entries(d, new_h, new_m, maps)
        session.add_columns(-d.value(new_h, new_m), starts, index, value)
        clock.build += time.perf_counter() - t
        in_set[new_h, new_m] = True
        col_pair_h += list(new_h)
        col_pair_m += list(new_m)
    assert outcome is not None and outcome.objective is not None
    z_lp = outcome.objective
    duals = outcome.row_duals
    assert duals is not None
    stats.update(lp_rounds=rounds, lp_pairs=len(col_pair_h))

    # 2. rounding the LP solution, with a greedy repair of the fractional households
    lp_pairs = Pairs(np.asarray(col_pair_h), np.asarray(col_pair_m))
    assert outcome.x is not None
    x_pairs = np.zeros(len(lp_pairs))
    base = pair_cols >= 0
    x_pairs[pair_cols[base]] = outcome.x[:n_base][base]
    x_pairs[len(pairs) :] = outcome.x[n_base:]
    fractional = np.zeros(d.n_households, dtype=bool)
    fractional[lp_pairs.h[(x_pairs > 1e-6) & (x_pairs < 1 - 1e-6)]] = True
    best_assignment = round_lp(d, lp_pairs, x_pairs)
    if not elastic:
        best_assignment = improve_by_moves(d, lp_pairs, best_assignment)
    best_obj = _min_objective(d, best_assignment, elastic)
    say(
        f"LP bound {-z_lp:,.2f}; rounded solution "
        + ("breaks a hard constraint" if best_obj is None else f"{-best_obj:,.2f}")
    )

    # 3. the MIP over each household's lowest-reduced-cost pairs, widened until the gap
    #    to the LP bound over all pairs is closed or time runs out
    best_bound = z_lp
    status = Status.FEASIBLE if best_obj is not None else Status.NO_SOLUTION
    per_household = MIP_COLUMNS
    while clock.left() > 1.0:
        if best_obj is not None and relative_gap(best_obj, best_bound) <= config.mip_gap:
            break
        mip_pairs, excluded_rc = _mip_pairs(d, duals, maps, per_household, best_assignment)
        stats["mip_pairs"] = len(mip_pairs)
        say(f"MIP over {len(mip_pairs):,} pairs ({per_household} per household)")
        t = time.perf_counter()
        mip_model = build_placement_model(d, mip_pairs, relax=False, elastic=elastic)
        mip_compiled = compile_model(mip_model)
        mip_session = HighsSession(mip_compiled, config, relax=False)
        clock.build += time.perf_counter() - t
        cols = _pair_columns(mip_compiled, mip_model)
        x_cols = np.flatnonzero(cols >= 0)
        pair_h, pair_m = mip_pairs.h[cols[x_cols]], mip_pairs.m[cols[x_cols]]

        def read(result: Outcome) -> None:
            nonlocal best_assignment, best_obj
            if result.x is None:
                return
            x = np.zeros(len(mip_pairs))
            x[cols[x_cols]] = result.x[x_cols]
            candidate = _assignment_from(d, mip_pairs, x)
            value = _min_objective(d, candidate, elastic)
            if value is not None and (best_obj is None or value < best_obj - 1e-9):
                best_assignment, best_obj = candidate, value

        lns_round = 0
        while best_obj is not None and lns_round < LNS_ROUNDS and clock.left() > 2.0:
            # large-neighbourhood search: fix every household except those in or near the
            # municipalities that miss their target, and the smallest households; re-solve
            lns_round += 1
            before = best_obj
            free = _neighbourhood(d, best_assignment, mip_pairs, lns_round, fractional)
            fixed_mask = ~free[pair_h]
            fixed = x_cols[fixed_mask]
            on = (best_assignment[pair_h[fixed_mask]] == pair_m[fixed_mask]).astype(float)
            mip_session.set_bounds(fixed, on, on)
            # single persons form a transportation problem around the fixed households:
            # its LP optimum is integral, so they need no branching
            singles = x_cols[(d.persons[pair_h] == 1) & ~fixed_mask]
            mip_session.set_integer(singles, False)
            t = time.perf_counter()
            read(
                mip_session.solve(
                    time_limit=max(min(clock.left() - 1.0, LNS_SHARE * config.time_limit), 1.0),
                    start=_start(x_cols, pair_h, pair_m, best_assignment),
                )
            )
            clock.solve += time.perf_counter() - t
            mip_session.set_bounds(fixed, np.zeros(len(fixed)), np.ones(len(fixed)))
            mip_session.set_integer(singles, True)
            if not elastic:
                moved = improve_by_moves(d, mip_pairs, best_assignment)
                moved_obj = _min_objective(d, moved, elastic)
                if moved_obj is not None and moved_obj < best_obj - 1e-9:  # type: ignore[operator]
                    best_assignment, best_obj = moved, moved_obj
            say(
                f"neighbourhood {lns_round} ({int(free.sum()):,} households free): {-best_obj:,.2f}"
            )  # type: ignore[operator]
            if relative_gap(best_obj, best_bound) <= config.mip_gap:  # type: ignore[arg-type]
                break
            if best_obj >= before - 1e-6 * abs(before) and lns_round >= 3:  # type: ignore[operator]
                break
        if best_obj is not None and relative_gap(best_obj, best_bound) <= config.mip_gap:
            break
        start = None if best_obj is None else _start(x_cols, pair_h, pair_m, best_assignment)
        t = time.perf_counter()
        result = mip_session.solve(time_limit=max(clock.left(), 1.0), start=start)
        clock.solve += time.perf_counter() - t
        if result.status == Status.INFEASIBLE and best_obj is None and not elastic:
            per_household *= 2  # the restriction may be what is infeasible
            if per_household > d.n_municipalities:
                return PlacementSolution(
                    Status.INFEASIBLE,
                    best_assignment,
                    None,
                    None,
                    None,
                    timings=_timings(clock),
                    stats=stats,
                )
            continue
        read(result)
        if best_obj is not None and result.bound is not None and best_obj - z_lp <= excluded_rc:
            # every pair left out costs more than the incumbent's gap: the restricted MIP's
            # bound holds for the full problem
            best_bound = max(z_lp, min(result.bound, best_obj))
        if (
            result.status == Status.OPTIMAL
            and best_obj is not None
            and (relative_gap(best_obj, best_bound) > config.mip_gap)
        ):
            per_household *= 2  # optimal on the restriction but not proven overall
            if per_household > d.n_municipalities:
                break
            continue
        break
    if best_obj is not None:
        status = (
            Status.OPTIMAL
            if relative_gap(best_obj, best_bound) <= config.mip_gap + 1e-12
            else Status.FEASIBLE
        )
    stats["lp_pairs"] = len(lp_pairs)
    return PlacementSolution(
        status,
        best_assignment,
        None if best_obj is None else -best_obj,
        -best_bound,
        -z_lp,
        timings=_timings(clock),
        stats=stats,
    )


def improve_by_moves(
    d: PlacementData, pairs: Pairs, assignment: np.ndarray, max_passes: int = 500
) -> np.ndarray:
    """Local search: move households to other candidate municipalities while that raises
    the objective (pair value plus the change in target penalties), never breaking a
    capacity, band or regional limit that the current assignment keeps.

    Each pass evaluates every candidate move at once and applies the best improving moves
    that touch distinct municipalities; it stops when no move improves.
    """
    a = assignment.copy()
    value = d.value(pairs.h, pairs.m)
    n = d.persons[pairs.h].astype(float)
    upper = d.capacity.copy()
    lower = np.zeros(d.n_municipalities)
    soft = d.target is not None and d.config.target_mode == "soft"
    if d.target is not None and not soft:
        band_low, band_high = band_limits(d)
        upper = np.minimum(upper, band_high)
        lower = band_low.astype(float)

    def penalty(m: np.ndarray, load: np.ndarray) -> np.ndarray:
        if not soft:
            return np.zeros(len(m))
        target = d.target[m]  # type: ignore[index]
        c = d.config
        return c.penalty_shortfall * np.clip(target - load, 0, None) + c.penalty_excess * np.clip(
            load - target, 0, None
        )

    for _ in range(max_passes):
        load = placed_persons(d, a).astype(float)
        current = a[pairs.h]
        movable = (current >= 0) & (current != pairs.m)
        if not movable.any():
            break
        cur = np.where(movable, current, 0)
        here = np.where(movable, d.value(pairs.h, cur), 0.0)
        delta = (
            value
            - here
            + penalty(cur, load[cur])
            - penalty(cur, load[cur] - n)
            + penalty(pairs.m, load[pairs.m])
            - penalty(pairs.m, load[pairs.m] + n)
        )
        legal = (load[pairs.m] + n <= upper[pairs.m] + 1e-9) & (
            load[cur] - n >= np.minimum(lower[cur], load[cur]) - 1e-9
        )
        legal &= _regions_allow(d, load, cur, pairs.m, n)
        candidates = np.flatnonzero(movable & legal & (delta > 1e-7))
        if not len(candidates):
            break
        touched = np.zeros(d.n_municipalities, dtype=bool)
        moved = np.zeros(d.n_households, dtype=bool)
        applied = 0
        for k in candidates[np.argsort(-delta[candidates], kind="stable")]:
            h, m_from, m_to = pairs.h[k], cur[k], pairs.m[k]
            if touched[m_from] or touched[m_to] or moved[h]:
                continue
            a[h] = m_to
            touched[m_from] = touched[m_to] = moved[h] = True
            applied += 1
        if not applied:
            break
    return a


def _regions_allow(
    d: PlacementData, load: np.ndarray, m_from: np.ndarray, m_to: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Whether moving ``n`` persons keeps every regional total within its band (or does
    not take a total that is inside its band out of it)."""
    ok = np.ones(len(m_to), dtype=bool)
    for level, rows in d.region_index.items():
        del level
        totals = np.array([load[r.members].sum() for r in d.regions])
        lo = np.array([r.lower for r in d.regions], dtype=float)
        hi = np.array([r.upper for r in d.regions], dtype=float)
        src, dst = rows[m_from], rows[m_to]
        same = src == dst
        ok &= same | (
            (totals[dst] + n <= np.maximum(hi[dst], totals[dst]) + 1e-9)
            & (totals[src] - n >= np.minimum(lo[src], totals[src]) - 1e-9)
        )
    return ok


def round_lp(d: PlacementData, pairs: Pairs, x: np.ndarray) -> np.ndarray:
    """An integral assignment from an LP solution.

    Households whose LP value is integral keep it; the fractional ones, largest first, go
    to whichever of their LP municipalities adds the most value given the persons
    already placed there (the penalty of the target, capacity and bands included).
    """
    assignment = _assignment_from(d, pairs, x)
    whole = np.zeros(d.n_households, dtype=bool)
    whole[pairs.h[x >= 1 - 1e-6]] = True
    if d.config.assignment == "at_most_once":
        placed_mass = np.bincount(pairs.h, weights=x, minlength=d.n_households)
        whole |= placed_mass <= 1e-6
    fractional = np.flatnonzero(~whole)
    if not len(fractional):
        return assignment
    assignment[fractional] = -1
    load = placed_persons(d, assignment).astype(float)
    candidates: dict[int, list[int]] = {}
    for h, m, xv in zip(pairs.h, pairs.m, x, strict=True):
        if xv > 1e-9 and not whole[h]:
            candidates.setdefault(int(h), []).append(int(m))
    for h in sorted(fractional, key=lambda i: (-d.persons[i], i)):
        options = candidates.get(int(h), [])
        if not options:
            continue
        ms = np.array(options)
        gain = d.value(np.full(len(ms), h), ms) + _load_gain(d, load, ms, d.persons[h])
        if d.config.assignment == "at_most_once" and gain.max() < -(
            d.config.unplaced_penalty * d.persons[h]
        ):
            continue
        best = int(ms[np.argmax(gain)])
        assignment[h] = best
        load[best] += d.persons[h]
    return assignment


def _load_gain(d: PlacementData, load: np.ndarray, ms: np.ndarray, n: int) -> np.ndarray:
    """Change in the penalty terms when ``n`` more persons go to each of ``ms``."""
    gain = np.zeros(len(ms))
    if d.target is not None and d.config.target_mode == "soft":
        c = d.config

        def penalty(placed: np.ndarray) -> np.ndarray:
            target = d.target[ms]  # type: ignore[index]
            return c.penalty_shortfall * np.clip(
                target - placed, 0, None
            ) + c.penalty_excess * np.clip(placed - target, 0, None)

        gain -= penalty(load[ms] + n) - penalty(load[ms])
    hard_upper = d.capacity[ms].copy()
    if d.target is not None and d.config.target_mode == "band":
        hard_upper = np.minimum(hard_upper, band_limits(d)[1][ms])
    gain[load[ms] + n > hard_upper] -= 1e9
    return gain


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
    per_muni = min(MIP_PER_MUNICIPALITY, d.n_households)
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


def _neighbourhood(
    d: PlacementData, assignment: np.ndarray, pairs: Pairs, round_no: int, fractional: np.ndarray
) -> np.ndarray:
    """Households left free in a neighbourhood round (single persons are always free).

    Round 1 frees the households the LP split between municipalities: every other
    household is whole in the LP optimum already. Later rounds free the households
    placed in a municipality that misses its target (or band) and those with a candidate
    pair into one.
    """
    free = d.persons == 1
    free |= assignment < 0
    if round_no == 1:
        return free | fractional
    if d.target is None:
        return free
    placed = placed_persons(d, assignment)
    if d.config.target_mode == "soft":
        off = placed != d.target
    else:
        low, high = band_limits(d)
        off = (placed <= low) | (placed >= high)
    free |= (assignment >= 0) & off[np.maximum(assignment, 0)]
    free[pairs.h[off[pairs.m]]] = True
    return free


def _start(
    x_cols: np.ndarray, pair_h: np.ndarray, pair_m: np.ndarray, assignment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment as values of the x columns (HiGHS completes the other columns)."""
    return x_cols, (assignment[pair_h] == pair_m).astype(float)


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
    assignment = _assignment_from(d, pairs, x)
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
