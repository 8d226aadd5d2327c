"""Primal heuristics for the placement model: rounding, local moves, neighbourhoods.

They turn the LP optimum into good integral assignments quickly; the MIP then improves
and proves. Every assignment they produce is re-evaluated from the formulation
(:func:`asielplan.model.placement.evaluate_assignment`) before it is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from asielplan.model.placement import (
    Pairs,
    PlacementData,
    band_limits,
    bound_row_changes,
    bound_rows,
    capacity_used,
    placed_persons,
)


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
    to ``pairs.m``, its objective change ``delta`` (pair value and target penalties), and
    whether it keeps the capacity, band and regional limits (``legal``)."""

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
        upper = d.band_upper()
        lower = np.zeros(d.n_municipalities)
        if d.target is not None and d.config.target_mode == "band":
            lower = band_limits(d)[0].astype(float)
        legal = (load[pairs.m] + n <= upper[pairs.m] + 1e-9) & (
            load[cur] - n >= np.minimum(lower[cur], load[cur]) - 1e-9
        )
        legal &= d.fits(capacity_used(d, a), pairs.h, pairs.m)
        self.legal = legal & _regions_allow(d, load, cur, pairs.m, n)
        self.cur = cur
        self.rows = _BoundRows(d, pairs, a, load)


class _BoundRows:
    """The rows a move can break beyond capacity and bands (:func:`bound_rows`: bounded
    objective parts and group floors), each with its value now and the change every move
    of the pass would make (valid within a pass, in which no municipality is touched
    twice)."""

    def __init__(self, d: PlacementData, pairs: Pairs, a: np.ndarray, load: np.ndarray) -> None:
        rows = bound_rows(d, a)
        self.lower, self.upper, self.now = rows.lower, rows.upper, rows.now
        self.change = bound_row_changes(d, pairs.h, a[pairs.h], pairs.m, load)

    def __len__(self) -> int:
        return len(self.now)

    def violation(self) -> np.ndarray:
        return np.clip(self.lower - self.now, 0, None) + np.clip(self.now - self.upper, 0, None)

    def accepts(self, k: int, exempt: int | None = None) -> bool:
        """Whether move ``k`` keeps every row within its bounds (a row already outside
        may not move further out); ``exempt``: a row not checked."""
        after = self.now + self.change[:, k]
        ok = ((after >= self.lower - 1e-9) | (after >= self.now)) & (
            (after <= self.upper + 1e-9) | (after <= self.now)
        )
        if exempt is not None:
            ok[exempt] = True
        return bool(ok.all())

    def apply(self, k: int) -> None:
        self.now = self.now + self.change[:, k]


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
    """Bring bounded parts and group floors back within their bounds (a rounded LP
    solution may break them): each pass takes the most violated row and applies the
    moves that reduce it at the least loss of objective per unit, over distinct
    municipalities, until it holds; moves keep every other limit. Bounded by work."""
    a = assignment.copy()
    value = d.value(pairs.h, pairs.m)
    for _ in range(max_passes):
        moves = _Moves(d, pairs, a, value)
        rows = moves.rows
        if not len(rows):
            break
        violation = rows.violation()
        if violation.max() <= 1e-9:
            break
        k = int(np.argmax(violation))
        direction = 1.0 if rows.now[k] < rows.lower[k] else -1.0
        helps = direction * rows.change[k]
        candidates = np.flatnonzero(moves.movable & moves.legal & (helps > 1e-12))
        if not len(candidates):
            break
        ratio = moves.delta[candidates] / helps[candidates]
        order = candidates[np.argsort(-ratio, kind="stable")]
        if not _apply(d, pairs, a, moves, order, repairing=k):
            break
    return a


def _apply(
    d: PlacementData,
    pairs: Pairs,
    a: np.ndarray,
    moves: _Moves,
    order: np.ndarray,
    repairing: int | None = None,
) -> int:
    """Apply the moves in ``order`` that touch distinct municipalities and households
    and that the bound rows accept; when ``repairing`` a row, stop once it holds."""
    touched = np.zeros(d.n_municipalities, dtype=bool)
    moved = np.zeros(d.n_households, dtype=bool)
    rows = moves.rows
    applied = 0
    for k in order:
        h, m_from, m_to = pairs.h[k], moves.cur[k], pairs.m[k]
        if touched[m_from] or touched[m_to] or moved[h]:
            continue
        if len(rows) and not rows.accepts(k, exempt=repairing):
            continue
        a[h] = m_to
        touched[m_from] = touched[m_to] = moved[h] = True
        applied += 1
        if len(rows):
            rows.apply(k)
            if repairing is not None and rows.violation()[repairing] <= 1e-9:
                break
    return applied


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
    """``assignment`` brought within bounded parts and group floors
    (:func:`repair_bounds`), then improved by moves (:func:`improve_by_moves`), both over
    ``pairs``: how every heuristic plan is finished."""
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
    ``options`` adds the most value given the persons already placed (target penalty,
    capacity and bands included); under at-most-once a household stays unplaced when
    that costs less."""
    load = placed_persons(d, assignment).astype(float)
    used = capacity_used(d, assignment)
    for h in sorted(households, key=lambda i: (-d.persons[i], i)):
        ms = options(int(h))
        if not len(ms):
            continue
        gain = d.value(np.full(len(ms), h), ms) + _load_gain(d, load, used, int(h), ms)
        if d.config.assignment == "at_most_once" and gain.max() < -(
            d.config.unplaced_penalty * d.persons[h]
        ):
            continue
        best = int(ms[np.argmax(gain)])
        assignment[h] = best
        load[best] += d.persons[h]
        used[:, best] += d.need[h]
    return assignment


def _load_gain(
    d: PlacementData, load: np.ndarray, used: np.ndarray, h: int, ms: np.ndarray
) -> np.ndarray:
    """Change in the penalty terms when household ``h`` goes to each of ``ms`` (a large
    loss where it breaks a band or does not fit)."""
    n = d.persons[h]
    gain = d.target_penalty(ms, load[ms]) - d.target_penalty(ms, load[ms] + n)
    gain[(load[ms] + n > d.band_upper()[ms]) | ~d.fits(used, np.full(len(ms), h), ms)] -= 1e9
    return gain


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
