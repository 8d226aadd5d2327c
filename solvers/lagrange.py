r"""A Lagrangian bound for the placement model that knows households are whole.

The LP bound over all pairs is weak where targets are a few persons: the LP splits a
household between municipalities and meets every target exactly, which whole
households of 2 to 6 persons cannot. Relaxing the assignment rows with multipliers
:math:`\lambda_h`, and every row that couples municipalities (region bands, bounded
pair-linear parts, group floors, capacities other than persons) with the final LP's
duals :math:`\mu_r` on the side the dual binds (:math:`\mu_r > 0`: its upper side
:math:`u_r`, else its lower side :math:`l_r`), leaves one problem per municipality,
solved exactly over whole households by a knapsack on persons:

.. math:: L(\lambda) = \sum_h \lambda_h + \sum_h \max(0, -\pi n_h - \lambda_h)
    + \sum_r \mu_r b_r
    + \sum_m \max_{S \subseteq H_m} \Big[ \sum_{h \in S} (v_{hm} - \lambda_h
    - \sum_r \mu_r a_{r,hm}) + f_m\big(\textstyle\sum_{h \in S} n_h\big) \Big]

with :math:`f_m(p) = -\alpha (T_m - p)^+ - \beta (p - T_m)^+` for a soft target (0
within the band and :math:`-\infty` outside in band mode, 0 without a target,
:math:`-\infty` above a person capacity), and the unplaced term only when a household
may stay unplaced (penalty :math:`\pi` per person), :math:`b_r` the bound on the side
of :math:`\mu_r`. A bound on a target gap (shortfall, excess, deviation: a function of
each municipality's persons) is priced into :math:`f_m` at its dual under soft targets
(:func:`gaps_priced`); rows left out altogether (locks, and a bound on a target gap
whose dual would make a penalty negative) only loosen it. Every :math:`L(\lambda)` is
an upper bound of the placement optimum (a relaxation), and at the final LP's duals it
is at most the LP bound (the knapsack over whole households is worth at most its linear
relaxation), so the search starts there and lowers it by subgradient steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asielplan.model.families import coupling_sides, pair_terms
from asielplan.model.placement import (
    PARTS,
    SUMS_OF_PARTS,
    TARGET_GAPS,
    PlacementData,
    band_limits,
    household_chunks,
)

STALL_ROUNDS, STALL_SHARE = 5, 1e-5  # stop when 5 rounds lowered the bound by < 0.001%
PRICE_TOLERANCE = 1e-7  # a dual (or reduced cost) this small prices nothing
MAX_CELLS = 30_000_000  # municipality x persons x (households tried) cells of the knapsack tables


@dataclass(frozen=True)
class Knapsacks:
    """The municipalities' problems solved at one set of multipliers: each
    municipality's best value (the bracket of :math:`L`), how often each household is
    chosen (0 or more), and the chosen pairs (household, municipality)."""

    value: np.ndarray
    count: np.ndarray
    h: np.ndarray
    m: np.ndarray


@dataclass(frozen=True)
class LagrangianBound:
    """The least :math:`L(\\lambda)` found (maximisation sense; inf when none could be
    computed), the multipliers :math:`\\lambda` it was found at (None with no bound) and
    the rounds taken."""

    bound: float
    multipliers: np.ndarray | None
    rounds: int


def coupling_prices(d: PlacementData, duals: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    r"""What the relaxed coupling rows charge every pair, :math:`\sum_r \mu_r a_{r,hm}`
    (H x M), and their constant :math:`\sum_r \mu_r b_r`, from the LP's duals per row
    component and key (maximisation sense: the objective's change per unit of the
    row's bound). A dual whose side is open is not a valid multiplier and counts 0."""
    multipliers: dict[str, np.ndarray] = {}
    constant = 0.0
    for name, (lower, upper) in coupling_sides(d).items():
        y = np.asarray(duals.get(name, np.zeros(len(lower))), dtype=float)
        side = np.where(y > 0, upper, lower)
        y = np.where(np.isfinite(side) & (y != 0), y, 0.0)
        constant += float((y * np.where(y != 0, side, 0.0)).sum())
        multipliers[name] = y
    H, M = d.n_households, d.n_municipalities
    price = np.zeros((H, M))
    if not any(y.any() for y in multipliers.values()):
        return price, constant
    for rows in household_chunks(H):
        h = np.repeat(rows, M)
        m = np.tile(np.arange(M), len(rows))
        charge = np.zeros(len(h))
        for name, keys, coefs in pair_terms(d, h, m):
            if name in multipliers and len(multipliers[name]):
                charge += multipliers[name][keys] * coefs
        price[rows] = charge.reshape(len(rows), M)
    return price, constant


def lagrangian_applies(d: PlacementData) -> bool:
    """Whether the knapsack bound can help: a target or a person capacity gives the
    municipalities' problems a shape the LP relaxes."""
    return d.target is not None or "persons" in d.capacity_dimensions


def _persons_range(d: PlacementData, C: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Per municipality, the most persons an optimal choice of its households can hold
    (exact, so that no better choice lies beyond the table): under a soft target, a
    choice above :math:`T_m + \\max n` holds only households worth more than their
    excess penalty (any other could leave without loss), so it is at most
    :math:`\\max(T_m + \\max n, \\text{their persons})`; without a target every
    candidate may be chosen; a band or a person capacity caps it."""
    n = d.persons.astype(float)
    if d.soft_targets:
        worth = candidate & (d.config.penalty_excess * n[:, None] < C)
        top = np.maximum(d.target + n.max(initial=1), n @ worth)
    else:
        top = n @ candidate
    if d.target is not None and d.config.target_mode == "band":
        top = np.minimum(top, band_limits(d)[1])
    if "persons" in d.capacity_dimensions:
        top = np.minimum(top, d.capacity[d.capacity_dimensions.index("persons")])
    return np.ceil(top).astype(np.int64)


def priced_weights(
    d: PlacementData, duals: np.ndarray | None, factor: float, *, gaps_only: bool = False
) -> tuple[dict[str, float], list[int]]:
    r"""The objective's weights with each binding bound on a weighted part moved in at
    its dual :math:`\mu_k` (maximisation sense, per unit of the bound, ``duals`` per
    bounded part): the part's signed weight :math:`s_p w_p` becomes
    :math:`s_p w_p - f \mu_k` (:math:`f` = ``factor``); a bound on a sum of parts
    (deviation: shortfall and excess) moves into each of its parts' weights. Weighted
    parts are the pair-linear ones (labour, distance, leaving the COA region, changes)
    and, under soft targets, shortfall and excess (only those with ``gaps_only``). A
    bound whose pricing would make a weight negative is not priced. Returns the new
    weights by configuration key and the bounds priced (positions in
    ``d.bounded_parts``)."""
    weights: dict[str, float] = {}
    priced: list[int] = []
    if duals is None:
        return weights, priced
    for k, row in enumerate(d.bounded_parts):
        parts = _weighted_parts(d, row.part)
        if not parts or (gaps_only and row.part not in TARGET_GAPS):
            continue
        if abs(duals[k]) <= PRICE_TOLERANCE:
            continue
        price = factor * float(duals[k])
        update = {
            PARTS[part].weight_key: weights.get(PARTS[part].weight_key, d.weight(part))
            - PARTS[part].sign * price
            for part in parts
        }
        if min(update.values()) >= 0:
            weights.update(update)
            priced.append(k)
    return weights, priced


def _weighted_parts(d: PlacementData, bounded: str) -> tuple[str, ...]:
    """The weighted parts of the objective a bound on ``bounded`` can be priced into:
    the part itself when pair-linear; shortfall and excess (a deviation: both) under
    soft targets; none otherwise."""
    if bounded in d.pair_parts():
        return (bounded,)
    parts = SUMS_OF_PARTS.get(bounded, (bounded,))
    return parts if d.soft_targets and set(parts) <= {"shortfall", "excess"} else ()


def gaps_priced(d: PlacementData, duals: np.ndarray | None) -> tuple[PlacementData, float]:
    r"""The model with the binding bounds on target gaps (shortfall, excess, deviation)
    priced into its target penalties at their duals :math:`\mu_k` (soft targets only:
    :func:`priced_weights`), and their constant :math:`\sum_k \mu_k b_k` (:math:`b_k` the
    bound on the side of :math:`\mu_k`). A gap is a function of a municipality's persons,
    so the knapsacks keep it exactly; the rows themselves the relaxation leaves out."""
    weights, priced = priced_weights(d, duals, 1.0, gaps_only=True)
    constant = 0.0
    for k in priced:
        assert duals is not None
        row = d.bounded_parts[k]
        side = row.upper if duals[k] > 0 else row.lower
        if side is None:  # an open side's dual is no valid multiplier
            return d, 0.0
        constant += float(duals[k]) * side
    if not weights:
        return d, 0.0
    return dataclasses.replace(d, config=d.config.model_copy(update=weights)), constant


def penalties(d: PlacementData, persons: np.ndarray) -> np.ndarray:
    """:math:`f_m(p)` for every municipality (rows) and persons ``persons`` (columns)."""
    p = persons[None, :].astype(float)
    M = d.n_municipalities
    # the model's own penalty of each municipality holding each number of persons
    out = -d.target_penalty_rows(np.repeat(p.T, M, axis=1)).T
    if d.target is not None and d.config.target_mode == "band":
        lower, upper = band_limits(d)
        out = np.where((p >= lower[:, None]) & (p <= upper[:, None]), 0.0, -np.inf)
    if "persons" in d.capacity_dimensions:
        k = d.capacity_dimensions.index("persons")
        out = np.where(p <= d.capacity[k][:, None], out, -np.inf)
    return out


def _steepest_gain(d: PlacementData) -> float:
    """The most one more person can raise :math:`f_m` (its steepest rising slope)."""
    if d.target is None:
        return 0.0
    if d.config.target_mode == "soft":
        return float(d.config.penalty_shortfall)
    return np.inf  # a band's lower end may need any household


def subproblems(d: PlacementData, lam: np.ndarray, values: np.ndarray) -> Knapsacks | None:
    """Each municipality's best choice of whole households given multipliers ``lam``;
    None when the knapsack tables would exceed ``MAX_CELLS``.

    ``values`` are the pair values :math:`v_{hm}` (-inf where a pair is not allowed).
    A household whose value less its multiplier is not positive even at the steepest
    slope of :math:`f_m` never raises the municipality's value and is left out.
    """
    H, M = d.n_households, d.n_municipalities
    n = d.persons
    C = values - lam[:, None]
    slope = _steepest_gain(d)
    candidate = np.isfinite(C) if np.isinf(slope) else C + slope * n[:, None] > 1e-12
    reach = _persons_range(d, C, candidate)
    by_size = {int(size): np.flatnonzero(n == size) for size in np.unique(n)}
    # municipalities of similar reach share one table (its width their largest reach)
    group = np.ceil(np.log2(reach + 1)).astype(np.int64)
    tables = []
    cells = 0
    for g in np.unique(group):
        ms = np.flatnonzero(group == g)
        width = int(reach[ms].max()) + 1
        steps = {
            size: min(int(candidate[hs][:, ms].sum(axis=0).max(initial=0)), (width - 1) // size)
            for size, hs in by_size.items()
        }
        cells += len(ms) * width * (1 + sum(steps.values()))
        tables.append((ms, width, steps))
    if cells > MAX_CELLS:
        return None
    value = np.empty(M)
    chosen: list[tuple[np.ndarray, np.ndarray]] = []
    for ms, width, steps in tables:
        value[ms] = _knapsack(d, C, candidate[:, ms], reach[ms], ms, width, steps, by_size, chosen)
    h = np.concatenate([pair[0] for pair in chosen]) if chosen else np.zeros(0, dtype=np.int64)
    m = np.concatenate([pair[1] for pair in chosen]) if chosen else np.zeros(0, dtype=np.int64)
    return Knapsacks(value, np.bincount(h, minlength=H).astype(float), h, m)


def _knapsack(
    d: PlacementData,
    C: np.ndarray,
    candidate: np.ndarray,
    reach: np.ndarray,
    ms: np.ndarray,
    width: int,
    steps: dict[int, int],
    by_size: dict[int, np.ndarray],
    chosen: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """The 0-1 knapsack over whole households of municipalities ``ms`` (their
    ``candidate`` households; persons up to ``width`` - 1): best value by exact persons,
    plus :math:`f_m`; appends the chosen (households, municipalities) to ``chosen``; returns each
    municipality's value. Households of one size take the same persons, so a choice of
    k of them is best with the k of highest value: the table steps over sizes, trying
    for each the best 0 .. ``steps[size]`` households of that size (``by_size``: the
    households of each size; all municipalities together)."""
    K = len(ms)
    best = np.full((K, width), -np.inf)
    best[:, 0] = 0.0
    across = np.arange(K)
    taken: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for size, most in steps.items():
        if most == 0:
            continue
        hs = by_size[size]
        gain = np.where(candidate[hs], C[hs][:, ms], -np.inf)
        order = np.argsort(-gain, axis=0, kind="stable")[:most]  # best first
        prefix = np.cumsum(np.take_along_axis(gain, order, axis=0), axis=0)
        choice = np.zeros((K, width), dtype=np.int32)
        table = best.copy()
        for k in range(1, most + 1):
            shift = size * k
            offer = best[:, : width - shift] + prefix[k - 1][:, None]
            better = offer > table[:, shift:]
            table[:, shift:] = np.where(better, offer, table[:, shift:])
            choice[:, shift:] = np.where(better, k, choice[:, shift:])
        best = table
        taken.append((size, hs, order, choice))
    columns = np.arange(width)[None, :]
    total = best + penalties(d, np.arange(width))[ms]
    total[columns > reach[:, None]] = -np.inf
    chosen_persons = np.argmax(total, axis=1)
    p = chosen_persons.copy()
    for size, hs, order, choice in reversed(taken):
        k = choice[across, p]
        for j in np.flatnonzero(k):
            households = hs[order[: k[j], j]]
            chosen.append((households, np.full(len(households), ms[j])))
        p -= size * k
    return total[across, chosen_persons]


def pair_values(d: PlacementData) -> np.ndarray:
    """The pair values :math:`v_{hm}` of every household (H x M), -inf where a pair is
    not allowed."""
    return np.where(d.allowed, d.value_rows(np.arange(d.n_households)), -np.inf)


def lagrangian_total(d: PlacementData, lam: np.ndarray, value: np.ndarray) -> float:
    """:math:`L` less the coupling rows' constant, from the multipliers ``lam`` and each
    municipality's best value ``value`` (:func:`subproblems`)."""
    out = float(lam.sum() + value.sum())
    if d.config.assignment == "at_most_once":
        out += float(np.clip(-d.config.unplaced_penalty * d.persons - lam, 0, None).sum())
    return out


def lagrangian_bound(
    d: PlacementData,
    lam: np.ndarray,
    incumbent: float,
    rounds: int,
    enough: Callable[[float], bool] = lambda bound: False,
    duals: dict[str, np.ndarray] | None = None,
    on_round: Callable[[Knapsacks], float] | None = None,
    *,
    aim_share: float,
) -> LagrangianBound:
    """The least :math:`L(\\lambda)` over at most ``rounds`` subgradient steps from
    ``lam`` (the final LP's assignment duals, maximisation sense), the coupling rows
    priced by ``duals`` (:func:`coupling_prices`). Steps are Polyak's,
    towards half a per cent below the best bound so far or the incumbent's objective
    (maximisation sense) when that is closer, halved whenever a step does not lower the
    bound. Stops early when ``enough(bound)`` (the incumbent is proven) or when
    ``STALL_ROUNDS`` rounds together lowered the bound by less than ``STALL_SHARE``
    of it. ``on_round`` sees each round's knapsacks (a plan may be built from their
    choices) and returns the incumbent's objective then, which the later steps aim at.
    Deterministic: rounds, no clock of its own (the caller's ``enough`` also says when
    the run's time is up)."""
    price, constant = coupling_prices(d, duals or {})
    d, gaps = gaps_priced(d, (duals or {}).get("part_bound"))
    constant += gaps
    values = pair_values(d) - price
    at_most_once = d.config.assignment == "at_most_once"
    unplaced_cost = d.config.unplaced_penalty * d.persons
    lam = lam.astype(float).copy()
    best = np.inf
    best_lam: np.ndarray | None = None
    scale = 1.0
    taken = 0
    history: list[float] = []
    for _ in range(rounds):
        found = subproblems(d, lam, values)
        if found is None:
            break
        taken += 1
        if on_round is not None:
            incumbent = max(incumbent, on_round(found))
        value, count = found.value, found.count
        current = lagrangian_total(d, lam, value) + constant
        if current < best - 1e-9:
            best, best_lam = current, lam.copy()
        else:
            scale /= 2
        history.append(best)
        stalled = len(history) > STALL_ROUNDS and history[
            -STALL_ROUNDS - 1
        ] - best <= STALL_SHARE * abs(best)
        if enough(best) or stalled:
            break
        # d L / d lambda_h = 1 - (times chosen) - (unplaced, when that pays)
        slope = 1.0 - count
        if at_most_once:
            slope -= (-unplaced_cost - lam > 0).astype(float)
        norm = float(slope @ slope)
        if norm == 0 or current - incumbent <= 1e-9 * max(1, abs(current)):
            break
        # aim aim_share (solver.search.aim_share) below the best bound, or at the incumbent
        aim = max(incumbent, best - aim_share * abs(best))
        lam -= scale * max(current - aim, 0.0) / norm * slope
    return LagrangianBound(best, best_lam, taken)
