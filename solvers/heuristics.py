"""Primal heuristics for the placement model: rounding, local moves, neighbourhoods.

They turn the LP optimum into good integral assignments quickly; the MIP then improves
and proves. Every assignment they produce is re-evaluated from the formulation
(:func:`asielplan.model.placement.evaluate_assignment`) before it is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from asielplan.model.families import MOVE_FAMILIES, RowState
from asielplan.model.placement import (
    Pairs,
    PlacementData,
    band_limits,
    placed_persons,
)

# the most pairs a repair adds to reach municipalities whose own rows stay broken
WIDEN_PAIRS = 200_000


def assignment_from_x(d: PlacementData, pairs: Pairs, x: np.ndarray) -> np.ndarray:
    """Round a (possibly fractional) solution: each household to its largest x."""
    assignment = np.full(d.n_households, -1, dtype=np.int64)
    best = np.zeros(d.n_households)
    order = np.lexsort((x, pairs.h))  # per household, its largest x last
    last = _last_of_each(pairs.h[order])
    h, m, xv = pairs.h[order][last], pairs.m[order][last], x[order][last]
    assignment[h] = m
    best[h] = xv
    if d.config.assignment == "at_most_once":
        assignment[best < 0.5] = -1
    return assignment


class _Moves:
    """Every single move of a pass: household ``pairs.h`` from its municipality ``cur``
    to ``pairs.m``, its objective change ``delta`` (pair value and target penalties),
    and the rows the move changes (:class:`~asielplan.model.families.MoveBatch`):
    ``legal`` where it keeps every row that belongs to one municipality (taakstelling
    band, capacity; a pass touches each municipality once), while the rows moves share
    (``shared``: region bands, bounded parts, group floors) are checked move by move as
    the pass applies them."""

    def __init__(self, d: PlacementData, pairs: Pairs, a: np.ndarray, value: np.ndarray) -> None:
        n = d.persons[pairs.h].astype(float)
        load = placed_persons(d, a).astype(float)
        current = a[pairs.h]
        self.movable = (current >= 0) & (current != pairs.m)
        cur = np.where(self.movable, current, 0)
        here = np.where(self.movable, d.value(pairs.h, cur), 0.0)
        penalty = d.target_penalty
        self.delta = (
            value
            - here
            + penalty(cur, load[cur])
            - penalty(cur, load[cur] - n)
            + penalty(pairs.m, load[pairs.m])
            - penalty(pairs.m, load[pairs.m] + n)
        )
        self.cur = cur
        self.state = RowState(d, a)
        self.batch = self.state.batch(pairs.h, current, pairs.m)
        self.legal = np.ones(len(pairs), dtype=bool)
        for f in self.state.positions(per_municipality=True):
            self.legal &= ~self.batch.breaks(f)
        self.shared = self.state.positions(per_municipality=False)


def improve_by_moves(
    d: PlacementData,
    pairs: Pairs,
    assignment: np.ndarray,
    max_passes: int = 100,
) -> np.ndarray:
    """Local search: move households to other candidate municipalities while that raises
    the objective (pair value plus the change in target penalties), never breaking a
    capacity, band, regional limit, bounded part or group floor that the current
    assignment keeps.

    Each pass evaluates every candidate move at once and applies the best improving moves
    that touch distinct municipalities; it stops when no move improves, after
    ``max_passes`` passes: bounded by work, not by the clock, so that it does the same
    on a loaded machine as on an idle one.
    """
    a = assignment.copy()
    value = d.value(pairs.h, pairs.m)
    for _ in range(max_passes):
        moves = _Moves(d, pairs, a, value)
        candidates = np.flatnonzero(moves.movable & moves.legal & (moves.delta > 1e-7))
        if not len(candidates):
            break
        order = candidates[np.argsort(-moves.delta[candidates], kind="stable")]
        if not _apply(d, pairs, a, moves, order):
            break
    return a


def repair_bounds(
    d: PlacementData, pairs: Pairs, assignment: np.ndarray, max_passes: int = 100
) -> np.ndarray:
    """Bring every row a move can break back within its sides (a rounded LP solution
    may break them): each pass moves households towards the sides of every broken row
    that belongs to one municipality (taakstelling band, capacity), or, when none of
    those can be helped, of the most violated row moves share (region band, bounded
    part, group floor), by the moves that bring them nearest at the least loss of
    objective per unit, each municipality once a pass; moves keep every other limit.
    Where a municipality's own rows stay broken, once more with every compatible move
    into and out of those municipalities added to ``pairs`` (at most
    :data:`WIDEN_PAIRS` pairs more). Bounded by work."""
    a = _repair(d, pairs, assignment, max_passes)
    broken = RowState(d, a).broken_municipalities()
    if len(broken):  # once more, with every move into and out of them
        a = _repair(d, _with_moves_at(d, pairs, a, broken), a, max_passes)
    return a


def _repair(d: PlacementData, pairs: Pairs, assignment: np.ndarray, max_passes: int) -> np.ndarray:
    a = assignment.copy()
    value = d.value(pairs.h, pairs.m)
    for _ in range(max_passes):
        moves = _Moves(d, pairs, a, value)
        if not (_repair_local(d, pairs, a, moves) or _repair_shared(d, pairs, a, moves)):
            break
    return a


def _with_moves_at(
    d: PlacementData, pairs: Pairs, assignment: np.ndarray, municipalities: np.ndarray
) -> Pairs:
    """``pairs`` and every compatible pair into ``municipalities`` (sorted) or of a
    household placed in one of them: as many of ``municipalities``, in their order, as
    keep the pairs added within :data:`WIDEN_PAIRS`, and at least one."""
    held = np.flatnonzero(np.isin(assignment, municipalities))
    out = np.bincount(
        np.searchsorted(municipalities, assignment[held]),
        weights=d.allowed[held].sum(axis=1),
        minlength=len(municipalities),
    )
    added = np.cumsum(d.allowed[:, municipalities].sum(axis=0) + out)
    municipalities = municipalities[: max(1, int(np.searchsorted(added, WIDEN_PAIRS, "right")))]
    into_h, j = np.nonzero(d.allowed[:, municipalities])
    there = np.flatnonzero(np.isin(assignment, municipalities))
    out_i, out_m = np.nonzero(d.allowed[there])
    h = np.concatenate([pairs.h, into_h, there[out_i]])
    m = np.concatenate([pairs.m, municipalities[j], out_m])
    keys = np.unique(h.astype(np.int64) * d.n_municipalities + m)
    return Pairs(keys // d.n_municipalities, keys % d.n_municipalities)


def _repair_local(d: PlacementData, pairs: Pairs, a: np.ndarray, moves: _Moves) -> int:
    """One pass of moves that bring the broken rows that belong to one municipality
    (band, capacity) nearer their sides, summed over the rows a move touches, each in
    its own unit; the number applied (0: none broken, or none helps)."""
    helps = np.zeros(len(pairs))
    for f in moves.state.positions(per_municipality=True):
        helps += moves.batch.brings_in(f)
    return _apply_helping(d, pairs, a, moves, helps, 1e-9)


def _repair_shared(d: PlacementData, pairs: Pairs, a: np.ndarray, moves: _Moves) -> int:
    """One pass of moves that bring the most violated shared row (region band, bounded
    part, group floor) back within its sides; the number applied."""
    if not moves.shared:
        return 0
    off, f, key = max(moves.state.violation(moves.shared), key=lambda v: v[0])
    if off <= 1e-9:
        return 0
    direction = 1.0 if moves.state.now[f][key] < moves.state.rows[f].lower[key] else -1.0
    helps = direction * moves.batch.change(f, key)
    return _apply_helping(d, pairs, a, moves, helps, 1e-12, repairing=(f, key))


def _apply_helping(
    d: PlacementData,
    pairs: Pairs,
    a: np.ndarray,
    moves: _Moves,
    helps: np.ndarray,
    least: float,
    repairing: tuple[int, int] | None = None,
) -> int:
    """Apply (:func:`_apply`) the legal moves that help by more than ``least``, the
    least loss of objective per unit of help first; the number applied."""
    candidates = np.flatnonzero(moves.movable & moves.legal & (helps > least))
    if not len(candidates):
        return 0
    ratio = moves.delta[candidates] / helps[candidates]
    order = candidates[np.argsort(-ratio, kind="stable")]
    return _apply(d, pairs, a, moves, order, repairing=repairing)


def _apply(
    d: PlacementData,
    pairs: Pairs,
    a: np.ndarray,
    moves: _Moves,
    order: np.ndarray,
    repairing: tuple[int, int] | None = None,
) -> int:
    """Apply the moves in ``order`` that touch distinct municipalities and households
    and keep the shared rows; when ``repairing`` a row (family position, key), that row
    is not checked and the pass stops once it holds."""
    touched = np.zeros(d.n_municipalities, dtype=bool)
    moved = np.zeros(d.n_households, dtype=bool)
    batch, state = moves.batch, moves.state
    applied = 0
    for k in order:
        h, m_from, m_to = pairs.h[k], moves.cur[k], pairs.m[k]
        if touched[m_from] or touched[m_to] or moved[h]:
            continue
        if moves.shared and not batch.accepts(k, moves.shared, exempt=repairing):
            continue
        a[h] = m_to
        touched[m_from] = touched[m_to] = moved[h] = True
        applied += 1
        batch.apply(k)
        if repairing is not None and state.off(*repairing) <= 1e-9:
            break
    return applied


def round_lp(d: PlacementData, pairs: Pairs, x: np.ndarray) -> np.ndarray:
    """An integral assignment from an LP solution.

    Households whose LP value is integral keep it; the fractional ones, largest first, go
    to whichever of their LP municipalities adds the most value given the persons
    already placed there (the penalty of the target, capacity and bands included).
    """
    assignment = assignment_from_x(d, pairs, x)
    whole = np.zeros(d.n_households, dtype=bool)
    whole[pairs.h[x >= 1 - 1e-6]] = True
    if d.config.assignment == "at_most_once":
        placed_mass = np.bincount(pairs.h, weights=x, minlength=d.n_households)
        whole |= placed_mass <= 1e-6
    fractional = np.flatnonzero(~whole)
    if not len(fractional):
        return assignment
    assignment[fractional] = -1
    candidates: dict[int, list[int]] = {}
    for h, m, xv in zip(pairs.h, pairs.m, x, strict=True):
        if xv > 1e-9 and not whole[h]:
            candidates.setdefault(int(h), []).append(int(m))
    return _insert(d, assignment, fractional, lambda h: np.array(candidates.get(h, []), dtype=int))


def plan_from_choices(d: PlacementData, h: np.ndarray, m: np.ndarray, pairs: Pairs) -> np.ndarray:
    """A plan from the municipalities' own choices of households (``h`` chosen by ``m``:
    the knapsacks of the Lagrangian bound). A household chosen once goes there; one
    chosen by several goes where it is worth most; one chosen by none is inserted,
    largest first, where it adds most among its compatible municipalities. Then
    :func:`repair_and_improve` over ``pairs`` and the plan's own pairs."""
    assignment = np.full(d.n_households, -1, dtype=np.int64)
    order = np.lexsort((d.value(h, m), h))  # per household, its most valuable choice last
    last = _last_of_each(h[order])
    assignment[h[order][last]] = m[order][last]
    left = np.flatnonzero(assignment < 0)
    plan = _insert(d, assignment, left, lambda i: np.flatnonzero(d.allowed[i]))
    placed = plan >= 0
    moves = Pairs(
        np.concatenate([pairs.h, np.flatnonzero(placed)]),
        np.concatenate([pairs.m, plan[placed]]),
    )
    return repair_and_improve(d, moves, plan)


def repair_and_improve(d: PlacementData, pairs: Pairs, assignment: np.ndarray) -> np.ndarray:
    """``assignment`` brought within the rows a move can break (:func:`repair_bounds`,
    over ``pairs`` and, where a municipality's rows stay broken, moves into and out of
    it), then improved by moves (:func:`improve_by_moves`) over ``pairs``: how every
    heuristic plan is finished."""
    return improve_by_moves(d, pairs, repair_bounds(d, pairs, assignment))


def _last_of_each(keys: np.ndarray) -> np.ndarray:
    """Mask of the last entry of each run of equal ``keys`` (sorted)."""
    return np.append(keys[1:] != keys[:-1], True) if len(keys) else np.zeros(0, dtype=bool)


def _insert(
    d: PlacementData,
    assignment: np.ndarray,
    households: np.ndarray,
    options: Callable[[int], np.ndarray],
) -> np.ndarray:
    """Place ``households`` one by one, largest first, each in whichever of its
    ``options`` adds the most value given the persons already placed (the target
    penalty included; a large loss where it would break a row of one municipality, a
    band or a capacity); under at-most-once a household stays unplaced when that costs
    less."""
    load = placed_persons(d, assignment).astype(float)
    local = tuple(f for f in MOVE_FAMILIES if f.per_municipality)
    state = RowState(d, assignment, families=local)
    for h in sorted(households, key=lambda i: (-d.persons[i], i)):
        ms = options(int(h))
        if not len(ms):
            continue
        n = d.persons[h]
        batch = state.batch(np.full(len(ms), h), np.full(len(ms), -1), ms)
        gain = d.value(np.full(len(ms), h), ms)
        gain += d.target_penalty(ms, load[ms]) - d.target_penalty(ms, load[ms] + n)
        blocked = np.zeros(len(ms), dtype=bool)
        for f in range(len(state.families)):
            blocked |= batch.breaks(f)
        gain[blocked] -= 1e9
        if d.config.assignment == "at_most_once" and gain.max() < -(
            d.config.unplaced_penalty * d.persons[h]
        ):
            continue
        j = int(np.argmax(gain))
        assignment[h] = ms[j]
        load[ms[j]] += n
        batch.apply(j)
    return assignment


def neighbourhood(
    d: PlacementData, assignment: np.ndarray, pairs: Pairs, round_no: int, lp: Pairs, x: np.ndarray
) -> np.ndarray:
    """Households left free in a neighbourhood round (single persons are always free).

    Round 1 frees the households the LP optimum (pairs ``lp``, values ``x``) does not
    place whole where the plan has them: those it splits between municipalities, places
    elsewhere or leaves unplaced (where the plan and the LP disagree). Later rounds free
    the households placed in a municipality that misses its target (or band) and those
    with a candidate pair into one.
    """
    free = d.persons == 1
    free |= assignment < 0
    if round_no == 1:
        held = np.zeros(d.n_households)
        at_plan = lp.m == assignment[lp.h]
        held[lp.h[at_plan]] = x[at_plan]
        return free | (held < 1 - 1e-6)
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
