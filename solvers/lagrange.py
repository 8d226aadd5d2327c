r"""A Lagrangian bound for the placement model that knows households are whole.

The LP bound over all pairs is weak where targets are a few persons: the LP splits a
household between municipalities and meets every target exactly, which whole
households of 2 to 6 persons cannot. Relaxing the assignment rows with multipliers
:math:`\lambda_h` (and dropping every row that couples municipalities: region bands,
bounded parts, group floors, capacities other than persons, locks) leaves one problem
per municipality, solved exactly over whole households by a knapsack on persons:

.. math:: L(\lambda) = \sum_h \lambda_h + \sum_h \max(0, -\pi n_h - \lambda_h)
    + \sum_m \max_{S \subseteq H_m} \Big[ \sum_{h \in S} (v_{hm} - \lambda_h)
    + f_m\big(\textstyle\sum_{h \in S} n_h\big) \Big]

with :math:`f_m(p) = -\alpha (T_m - p)^+ - \beta (p - T_m)^+` for a soft target (0
within the band and :math:`-\infty` outside in band mode, 0 without a target,
:math:`-\infty` above a person capacity), and the unplaced term only when a household
may stay unplaced (penalty :math:`\pi` per person). Every :math:`L(\lambda)` is an upper
bound of the placement optimum (a relaxation), and at the final LP's duals it is at
most the LP bound (the knapsack over whole households is worth at most its linear
relaxation), so the search starts there and lowers it by subgradient steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asielplan.model.placement import PlacementData, band_limits

AIM_SHARE = 0.005  # each subgradient step aims this share below the best bound so far
MAX_CELLS = 30_000_000  # household x municipality x persons cells of the knapsack tables


@dataclass(frozen=True)
class LagrangianBound:
    """The least :math:`L(\\lambda)` found (maximisation sense; inf when none could be
    computed) and the rounds taken."""

    bound: float
    rounds: int


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
    if d.target is not None and d.config.target_mode == "soft":
        worth = candidate & (d.config.penalty_excess * n[:, None] < C)
        top = np.maximum(d.target + n.max(initial=1), n @ worth)
    else:
        top = n @ candidate
    if d.target is not None and d.config.target_mode == "band":
        top = np.minimum(top, band_limits(d)[1])
    if "persons" in d.capacity_dimensions:
        top = np.minimum(top, d.capacity[d.capacity_dimensions.index("persons")])
    return np.ceil(top).astype(np.int64)


def _penalty(d: PlacementData, persons: np.ndarray) -> np.ndarray:
    """:math:`f_m(p)` for every municipality (rows) and persons ``persons`` (columns)."""
    p = persons[None, :].astype(float)
    M = d.n_municipalities
    out = np.zeros((M, len(persons)))
    if d.target is not None:
        t = d.target.astype(float)[:, None]
        if d.config.target_mode == "soft":
            out = -d.config.penalty_shortfall * np.clip(t - p, 0, None)
            out -= d.config.penalty_excess * np.clip(p - t, 0, None)
        else:
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


def subproblems(
    d: PlacementData, lam: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each municipality's best value over whole households given multipliers ``lam``
    (the bracket of :math:`L`), and how often each household is chosen (0 or more);
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
    # municipalities of similar reach share one table (its width their largest reach)
    group = np.ceil(np.log2(reach + 1)).astype(np.int64)
    sizes = []
    for g in np.unique(group):
        ms = np.flatnonzero(group == g)
        rows = np.flatnonzero(candidate[:, ms].any(axis=1))
        sizes.append((ms, rows, int(reach[ms].max()) + 1))
    if sum(len(ms) * len(rows) * width for ms, rows, width in sizes) > MAX_CELLS:
        return None
    value = np.empty(M)
    count = np.zeros(H)
    for ms, rows, width in sizes:
        value[ms] = _knapsack(d, C, candidate, reach, ms, rows, width, count)
    return value, count


def _knapsack(
    d: PlacementData,
    C: np.ndarray,
    candidate: np.ndarray,
    reach: np.ndarray,
    ms: np.ndarray,
    rows: np.ndarray,
    width: int,
    count: np.ndarray,
) -> np.ndarray:
    """The 0-1 knapsack over whole households of municipalities ``ms`` (households
    ``rows``, persons up to ``width`` - 1): best value by exact persons, plus
    :math:`f_m`; adds the chosen households to ``count``; returns each one's value."""
    n = d.persons
    best = np.full((len(ms), width), -np.inf)
    best[:, 0] = 0.0
    keep = np.zeros((len(rows), len(ms), width), dtype=bool)
    for i, h in enumerate(rows):
        k = int(n[h])
        if k >= width:
            continue
        gain = np.where(candidate[h, ms], C[h, ms], -np.inf)
        offer = best[:, :-k] + gain[:, None]
        better = offer > best[:, k:]
        best[:, k:] = np.where(better, offer, best[:, k:])
        keep[i, :, k:] = better
    total = best + _penalty(d, np.arange(width))[ms]
    total[np.arange(width)[None, :] > reach[ms][:, None]] = -np.inf
    chosen_persons = np.argmax(total, axis=1)
    for j in range(len(ms)):
        p = int(chosen_persons[j])
        for i in range(len(rows) - 1, -1, -1):
            if p <= 0:
                break
            if keep[i, j, p]:
                count[rows[i]] += 1
                p -= int(n[rows[i]])
    return total[np.arange(len(ms)), chosen_persons]


def lagrangian_value(d: PlacementData, lam: np.ndarray) -> float | None:
    """:math:`L(\\lambda)`: an upper bound of the placement optimum for any ``lam``
    (None when too large to compute)."""
    values = np.where(d.allowed, d.value_rows(np.arange(d.n_households)), -np.inf)
    found = subproblems(d, lam, values)
    return None if found is None else _total(d, lam, found[0])


def _total(d: PlacementData, lam: np.ndarray, value: np.ndarray) -> float:
    out = float(lam.sum() + value.sum())
    if d.config.assignment == "at_most_once":
        out += float(np.clip(-d.config.unplaced_penalty * d.persons - lam, 0, None).sum())
    return out


def lagrangian_bound(
    d: PlacementData, lam: np.ndarray, incumbent: float | None, rounds: int
) -> LagrangianBound:
    """The least :math:`L(\\lambda)` over ``rounds`` subgradient steps from ``lam`` (the
    final LP's assignment duals, maximisation sense). Steps are Polyak's, towards half
    a per cent below the best bound so far or the incumbent's objective (maximisation
    sense) when that is closer, halved whenever a step does not lower the bound.
    Deterministic: a fixed number of rounds, no clock."""
    values = np.where(d.allowed, d.value_rows(np.arange(d.n_households)), -np.inf)
    at_most_once = d.config.assignment == "at_most_once"
    unplaced_cost = d.config.unplaced_penalty * d.persons
    lam = lam.astype(float).copy()
    best = np.inf
    scale = 1.0
    taken = 0
    for _ in range(rounds):
        found = subproblems(d, lam, values)
        if found is None:
            break
        taken += 1
        value, count = found
        current = _total(d, lam, value)
        if current < best - 1e-9:
            best = current
        else:
            scale /= 2
        # d L / d lambda_h = 1 - (times chosen) - (unplaced, when that pays)
        slope = 1.0 - count
        if at_most_once:
            slope -= (-unplaced_cost - lam > 0).astype(float)
        norm = float(slope @ slope)
        if norm == 0 or incumbent is None or current - incumbent <= 1e-9 * max(1, abs(current)):
            break
        # aim half a per cent below the best bound, or at the incumbent when closer
        aim = max(incumbent, best - AIM_SHARE * abs(best))
        lam -= scale * max(current - aim, 0.0) / norm * slope
    return LagrangianBound(best, taken)
