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

# the most pairs a repair adds to reach the municipalities where broken rows can be helped
WIDEN_PAIRS = 200_000
# the most ejections (two moves at once) of each kind a pass of the local search weighs,
# and the most it tries to apply (each a check of every row)
EJECTIONS = 1_000_000
EJECTION_TRIES = 5_000


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
        self.delta = (
            value
            - here
            + d.target_penalty_change(cur, load[cur], -n)
            + d.target_penalty_change(pairs.m, load[pairs.m], n)
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
    *,
    eject: bool = True,
    stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Local search: move households to other candidate municipalities while that raises
    the objective (pair value plus the change in target penalties), never breaking a
    capacity, band, regional limit, bounded part or group floor that the current
    assignment keeps.

    Each pass evaluates every candidate move at once and applies the best improving moves
    that touch distinct municipalities; when no single move improves and ``eject``, a
    pass of ejections (two moves at once, :func:`_eject`). It stops when neither
    improves, after ``max_passes`` passes: bounded by work, not by the clock, so that it
    does the same on a loaded machine as on an idle one; ``stop`` (the search's time
    limit) is asked before each pass.
    """
    a = assignment.copy()
    value = d.value(pairs.h, pairs.m)
    for _ in range(max_passes):
        if stop is not None and stop():
            break
        moves = _Moves(d, pairs, a, value)
        candidates = np.flatnonzero(moves.movable & moves.legal & (moves.delta > 1e-7))
        if len(candidates):
            order = candidates[np.argsort(-moves.delta[candidates], kind="stable")]
            if _apply(d, pairs, a, moves, order):
                continue
        if not (eject and _eject(d, pairs, value, a)):
            break
    return a


def _eject(d: PlacementData, pairs: Pairs, value: np.ndarray, a: np.ndarray) -> int:
    """One pass of ejections, two moves at once: household h1 from municipality m1 to m2
    (a pair of ``pairs``), ejecting a household h2 of m2 to m3, where together they
    raise the objective: m3 is m1 (a swap, by any compatible pair) or, in soft mode, a
    municipality short of its target while m1 holds more than its own (a chain, by a
    pair of ``pairs``). With households of different sizes they move persons where
    single moves cannot, every municipality near its target; of one size, they trade
    places where neither move alone pays. The best first, each household once a pass,
    each weighed again at the persons the pass has left in its municipalities and kept
    only when together its moves take no row further out of its sides
    (:meth:`~asielplan.model.families.RowState.keep_together`, all at once as the pass
    starts; :meth:`~asielplan.model.families.RowState.apply_if_kept`, as each applies),
    at most :data:`EJECTION_TRIES` tried. The number applied."""
    h1, h2, m1, m2, m3, values, gain = _ejections(d, pairs, value, a)
    state = RowState(d, a)
    # every row checked for every ejection at once, against the rows as the pass starts
    # (near full bands or a binding bound most break one); each kept one checked again
    # as it applies, against the rows the pass has left
    kept = state.keep_together((h1, m1, m2), (h2, m2, m3), tuple(range(len(state.families))))
    load = state.placed  # kept up to date by the state as ejections apply
    moved = np.zeros(d.n_households, dtype=bool)
    changed = np.zeros(d.n_municipalities, dtype=bool)
    n = d.persons.astype(float)
    applied = tries = 0
    for k in np.argsort(-gain, kind="stable"):
        if moved[h1[k]] or moved[h2[k]] or not kept[k]:
            continue
        ms = np.array([m1[k], m2[k], m3[k]])
        if changed[ms].any():  # the gain again, at the persons the pass has left there
            ms = ms[:2] if m3[k] == m1[k] else ms
            change = np.array([n[h2[k]] - n[h1[k]], n[h1[k]] - n[h2[k]], n[h2[k]]])
            if len(ms) == 3:
                change[0] = -n[h1[k]]
            penalty = d.target_penalty_change(ms, load[ms], change[: len(ms)])
            if values[k] + penalty.sum() <= 1e-7:
                continue
        if tries == EJECTION_TRIES:
            break
        tries += 1
        hs, src, dst = np.array([h1[k], h2[k]]), np.array([m1[k], m2[k]]), np.array([m2[k], m3[k]])
        if not state.apply_if_kept(hs, src, dst):
            continue
        a[hs] = dst
        moved[hs] = changed[ms] = True
        applied += 1
    return applied


def _ejections(
    d: PlacementData, pairs: Pairs, value: np.ndarray, a: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The ejections of :func:`_eject` that raise the objective (``value``: the pairs'
    values): (h1, h2, m1, m2, m3, the change in pair values, gain). At most
    :data:`EJECTIONS` swaps and as many chains are weighed: the swaps of the first moves
    out of a municipality off its target first, then of the most valuable first moves;
    the chains of the first moves whose best chain could raise the objective."""
    src = a[pairs.h]
    moves = np.flatnonzero((src >= 0) & (src != pairs.m))
    placed = np.flatnonzero(a >= 0)
    now = np.zeros(d.n_households)  # each household's value where it is
    now[placed] = d.value(placed, a[placed])
    load = placed_persons(d, a).astype(float)
    src_m, dst_m, h_m = src[moves], pairs.m[moves], pairs.h[moves]
    worth = value[moves] - now[h_m]
    shift = _Shift(d, load)
    size = d.persons[h_m]
    # swaps: first moves with every household of m2 compatible with m1
    off = np.zeros(len(moves), dtype=bool)
    if d.soft_targets:
        assert d.target is not None
        off = load[src_m] != d.target[src_m]
    order = np.lexsort((-worth, ~off))
    held = placed[np.argsort(a[placed], kind="stable")]
    i, k = _joined(a[held], dst_m[order])
    i, h2 = order[i], held[k]
    ok = d.allowed[h2, src_m[i]]
    i, h2 = i[ok], h2[ok]
    found = [(i, h2, src_m[i], d.value(h2, src_m[i]))]
    if d.soft_targets:
        assert d.target is not None
        # chains: out of a municipality over its target, h2 on to one short of its own
        over = np.flatnonzero(load[src_m] > d.target[src_m])
        on = np.flatnonzero(load[dst_m] < d.target[dst_m])
        on = on[np.argsort(src_m[on], kind="stable")]
        could = (
            worth[over]
            + _best_in(src_m[on], worth[on], dst_m[over])
            + shift.most(dst_m[over], size[over], -1)
            + shift(src_m[over], -size[over])
            + shift.table.max()
        )
        i, j = _joined(src_m[on], dst_m[over], could > 1e-7)
        i, j = over[i], on[j]
        found.append((i, h_m[j], dst_m[j], value[moves[j]]))
    first, h2, m3, v2 = (np.concatenate(x) for x in zip(*found, strict=True))
    h1, m1, m2 = h_m[first], src_m[first], dst_m[first]
    n1, n2 = d.persons[h1], d.persons[h2]
    swap = m3 == m1
    gain = (
        worth[first]
        + v2
        - now[h2]
        + shift(m2, n1 - n2)
        + np.where(swap, shift(m1, n2 - n1), shift(m1, -n1) + shift(m3, n2))
    )
    keep = gain > 1e-7
    return (
        h1[keep],
        h2[keep],
        m1[keep],
        m2[keep],
        m3[keep],
        worth[first][keep] + v2[keep] - now[h2][keep],
        gain[keep],
    )


def _best_in(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per ``wanted`` key, the largest of ``values`` whose ``keys`` (sorted) are that key
    (-inf: none)."""
    if not len(keys):
        return np.full(len(wanted), -np.inf)
    starts = np.flatnonzero(np.r_[True, _last_of_each(keys)[:-1]])
    best = np.maximum.reduceat(values, starts)
    at = np.clip(np.searchsorted(keys[starts], wanted), 0, len(starts) - 1)
    return np.where(keys[starts][at] == wanted, best[at], -np.inf)


def _joined(
    keys: np.ndarray, wanted: np.ndarray, use: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``keys[j] == wanted[i]`` (``keys`` sorted) for the i where ``use``
    (all by default), in the order of i, as many of them as keep the pairs within
    :data:`EJECTIONS`."""
    lo = np.searchsorted(keys, wanted, "left")
    many = np.searchsorted(keys, wanted, "right") - lo
    if use is not None:
        many = np.where(use, many, 0)
    i = np.flatnonzero((np.cumsum(many) <= EJECTIONS) & (many > 0))
    j, offset = _expand(many[i])
    return i[j], lo[i][j] + offset


class _Shift:
    """``shift(m, n)``: by how much the target penalty of municipalities ``m`` falls when
    ``n`` persons (negative: leave) join the ``load`` they hold; from a table."""

    def __init__(self, d: PlacementData, load: np.ndarray) -> None:
        self.size = int(d.persons.max()) if d.n_households else 0
        n = np.arange(-2 * self.size, 2 * self.size + 1)
        m = np.arange(d.n_municipalities)
        change = d.target_penalty_change(
            np.repeat(m, len(n)), np.repeat(load, len(n)), np.tile(n, len(m))
        )
        self.table = change.reshape(len(m), len(n))

    def __call__(self, m: np.ndarray, n: np.ndarray) -> np.ndarray:
        return self.table[m, n + 2 * self.size]

    def most(self, m: np.ndarray, n: np.ndarray, sign: int) -> np.ndarray:
        """The most ``shift(m, n + sign * n2)`` over households of any size n2 (one of
        size n2 leaves, -1, or comes, 1, with the ``n`` persons)."""
        out = np.full(len(m), -np.inf)
        for n2 in range(1, self.size + 1):
            out = np.maximum(out, self(m, n + sign * n2))
        return out


def _expand(many: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position ``j`` repeated ``many[j]`` times, with its count 0..many[j]-1."""
    j = np.repeat(np.arange(len(many)), many)
    return j, np.arange(len(j)) - np.repeat(np.cumsum(many) - many, many)


def repair_bounds(
    d: PlacementData,
    pairs: Pairs,
    assignment: np.ndarray,
    max_passes: int = 100,
    *,
    widen: bool = True,
) -> np.ndarray:
    """Bring every row a move can break back within its sides (a rounded LP solution
    may break them): each pass moves households towards the sides of every broken row
    that belongs to one municipality (taakstelling band, capacity), or, when none of
    those can be helped, of the most violated row moves share (region band, bounded
    part, group floor), by the moves that bring them nearest at the least loss of
    objective per unit, each municipality once a pass; moves keep every other limit.
    Where rows stay broken, once more with every compatible move into and out of the
    municipalities where moves can bring them back added to ``pairs``
    (:meth:`~asielplan.model.families.RowState.repair_municipalities`: a municipality's
    own rows, a region band's members, every municipality off its target for a bound on
    a target gap; at most :data:`WIDEN_PAIRS` pairs more), unless not ``widen``. Bounded
    by work."""
    a = _repair(d, pairs, assignment, max_passes)
    if not widen:
        return a
    broken = RowState(d, a).repair_municipalities()
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
    """``pairs`` and every compatible pair into ``municipalities`` (distinct, in the
    order the caller ranks them) or of a household placed in one of them: as many of
    ``municipalities``, in their order, as keep the pairs added within
    :data:`WIDEN_PAIRS`, and at least one."""
    held = np.flatnonzero(np.isin(assignment, municipalities))
    position = np.zeros(d.n_municipalities, dtype=np.int64)
    position[municipalities] = np.arange(len(municipalities))
    out = np.bincount(
        position[assignment[held]],
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


def plan_from_choices(
    d: PlacementData, h: np.ndarray, m: np.ndarray, pairs: Pairs, *, widen: bool
) -> np.ndarray:
    """A plan from the municipalities' own choices of households (``h`` chosen by ``m``:
    the knapsacks of the Lagrangian bound). A household chosen once goes there; one
    chosen by several goes where it is worth most; one chosen by none is inserted,
    largest first, where it adds most among its compatible municipalities. Then
    :func:`repair_and_improve` over ``pairs`` and the plan's own pairs, without ejections
    (a plan every few subgradient rounds: there they cost more than they gain), and
    with the widened repair only when ``widen`` (the callers: while the search has no
    plan; a plan from choices can lie thousands of persons off a bound on a target gap,
    and its widened repair then took seconds for a plan no better than the incumbent)."""
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
    return repair_and_improve(d, moves, plan, eject=False, widen=widen)


def repair_and_improve(
    d: PlacementData,
    pairs: Pairs,
    assignment: np.ndarray,
    *,
    eject: bool = True,
    widen: bool = True,
    stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """``assignment`` brought within the rows a move can break (:func:`repair_bounds`,
    over ``pairs`` and, where rows stay broken, moves into and out of the municipalities
    where they can be helped, when ``widen``), then improved by moves
    (:func:`improve_by_moves`, with ejections when ``eject``, until ``stop``) over
    ``pairs``: how every heuristic plan is finished."""
    plan = repair_bounds(d, pairs, assignment, widen=widen)
    return improve_by_moves(d, pairs, plan, eject=eject, stop=stop)


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
        gain += d.target_penalty_change(ms, load[ms], n)
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
    """Households left free in a neighbourhood round (single persons and unplaced
    households are always free).

    Round 1 frees the households the LP optimum (pairs ``lp``, values ``x``) does not
    place whole where the plan has them: those it splits between municipalities, places
    elsewhere or leaves unplaced (where the plan and the LP disagree). Later rounds free
    the households placed in a municipality that misses its target (or band) and those
    with a candidate pair into one.
    """
    free = _always_free(d, assignment)
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
    free |= _placed_in(assignment, off)
    free[pairs.h[off[pairs.m]]] = True
    return free


def block_neighbourhood(
    d: PlacementData, assignment: np.ndarray, share: float, rng: np.random.Generator
) -> np.ndarray:
    """Households left free in a block round: those placed in ``share`` of the
    municipalities (at least one), drawn from ``rng``, with the single persons and the
    unplaced households as in every round. Used instead of :func:`neighbourhood` where
    its rule would free the same households as an earlier round on the same plan."""
    drawn = np.zeros(d.n_municipalities, dtype=bool)
    count = max(1, round(share * d.n_municipalities))
    drawn[rng.choice(d.n_municipalities, count, replace=False)] = True
    return _always_free(d, assignment) | _placed_in(assignment, drawn)


def _always_free(d: PlacementData, assignment: np.ndarray) -> np.ndarray:
    """Single persons and unplaced households: free in every neighbourhood round."""
    return (d.persons == 1) | (assignment < 0)


def _placed_in(assignment: np.ndarray, municipalities: np.ndarray) -> np.ndarray:
    """The households placed in a municipality of the mask ``municipalities``."""
    return (assignment >= 0) & municipalities[np.maximum(assignment, 0)]
