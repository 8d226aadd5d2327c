r"""The placement model's constraint families, each described once.

A family (:class:`Family`) is one object that knows its rows: how many keys it has,
their lower and upper sides (:class:`Rows`), the entries a pair's column has in them
(:meth:`Family.terms`), each row's value under an integral assignment
(:meth:`Family.activity`), how a single move changes the rows
(:meth:`Family.move_entries`), the elastic model's slack variables of its rows
(:meth:`Family.slacks`) and the persons one unit of them stands for
(:meth:`Family.unit`), and the Pyomo components that state it (:meth:`Family.add`).
Every use of a family is derived from that one object:

- the Pyomo model (:func:`build_placement_model`);
- the matrix columns the search appends and prices (:func:`pair_terms`, :func:`row_counts`);
- the infeasibility diagnosis (:func:`constraint_violations`, :func:`violation_persons`);
- the local moves and repairs of the heuristics and the single-move explanations
  (:class:`RowState`, :func:`single_moves`);
- the rows the Lagrangian bound and the pattern master relax (:func:`coupling_sides`).

==========================  =====================================  ==========================
family                      object                                 Pyomo components
==========================  =====================================  ==========================
compatible pairs            :func:`~asielplan.model.placement.     index set of ``x``
                            allowed_pairs`,
                            :class:`CompatiblePairs`
assignment                  :class:`Assignment`                    ``assign``, ``unplaced``
municipal taakstelling      :class:`Taakstelling`                  ``target``, ``short``,
                                                                   ``excess``
capacity                    :class:`Capacity`                      ``capacity``
regional bands              :class:`RegionBands`                   ``region``
planner locks               :class:`Locks`                         ``lock``
bounds on objective parts   :class:`PartBounds`                    ``part_bound``,
                                                                   ``part_value``
group floors                :class:`GroupFloors`                   ``group``
objective                   :func:`add_objective`                  ``objective``
==========================  =====================================  ==========================

``docs/formulation/placement.md`` states the same model in LaTeX.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from asielplan.model.groups import GROUP_LABELS
from asielplan.model.placement import (
    ELASTIC_PENALTY,
    PAIR_PARTS,
    TARGET_GAPS,
    VIOLATION,
    Pairs,
    PlacementData,
    Terms,
    band_limits,
    bound_unit,
    bounded_quantities,
    capacity_label,
    part_contributions,
    part_quantities,
    placed_persons,
    target_gap,
)

TOLERANCE = 1e-9  # a row's value within this of its side keeps it

# why a single move is not possible (0: it is); the names are those of the outputs
MOVE_BLOCKS = (
    "",
    "same municipality",
    "a hard criterion applies",
    "excluded by the allowed or forbidden table",
    "locked elsewhere",
    "capacity full",
    "taakstelling band",
    "region band",
    "part bound",
    "group floor",
)
(
    MOVE_OK,
    MOVE_SAME,
    MOVE_CRITERION,
    MOVE_EXCLUDED,
    MOVE_LOCKED,
    MOVE_CAPACITY,
    MOVE_BAND,
    MOVE_REGION,
    MOVE_PART_BOUND,
    MOVE_GROUP_FLOOR,
) = range(len(MOVE_BLOCKS))

# a single move's change to one term of a family: (key it leaves, coefficient there,
# key it enters, coefficient there), arrays over the moves
Entry = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Rows:
    """A family's hard rows: per key its lower and upper side (-inf / inf when open; a
    key open on both sides is no hard row)."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def hard(self) -> np.ndarray:
        return np.isfinite(self.lower) | np.isfinite(self.upper)

    def outside(self, value: np.ndarray, keys: Any = slice(None)) -> np.ndarray:
        """By how much each row's ``value`` lies outside its sides (0 inside); ``keys``:
        the rows ``value`` holds (all by default)."""
        lower, upper = self.lower[keys], self.upper[keys]
        return np.clip(lower - value, 0, None) + np.clip(value - upper, 0, None)

    def breaks(self, keys: Any, now: Any, after: Any) -> Any:
        """Whether rows ``keys`` moving from ``now`` to ``after`` go further out of their
        sides: beyond a side they kept, or further beyond one they already broke (arrays,
        or one row's key and values)."""
        lower, upper = self.lower[keys], self.upper[keys]
        return ((after > upper + TOLERANCE) & (after > now)) | (
            (after < lower - TOLERANCE) & (after < now)
        )


def _number(value: float, spec: str) -> str:
    """A whole number as an integer, any other in ``spec``."""
    return str(int(value)) if float(value).is_integer() else format(value, spec)


# --------------------------------------------------------------------------- Pyomo helpers


def _grouped(keys: np.ndarray, n_rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """For each row key 0..n_rows-1 the positions of the pairs that enter it."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n_rows + 1))
    for r in range(n_rows):
        yield r, order[bounds[r] : bounds[r + 1]]


def _linear(
    xs: list[Any],
    positions: np.ndarray,
    coefs: np.ndarray,
    extra: list[tuple[float, Any]] | None = None,
) -> LinearExpression:
    r""":math:`\sum_i coefs_i \, x_{positions_i}` plus the ``extra`` (coef, var) terms."""
    extra = extra or []
    return LinearExpression(
        constant=0.0,
        linear_coefs=[float(c) for c in coefs] + [c for c, _ in extra],
        linear_vars=[xs[i] for i in positions] + [v for _, v in extra],
    )


def _row(
    model: pyo.ConcreteModel, body: dict[int, Any], k: int, lower: float | None, upper: float | None
) -> Any:
    """Constraint ``lower <= body[k] <= upper``. A row no variable enters is left out;
    when 0 lies outside its bounds the model is trivially infeasible, and
    ``model.empty_infeasible_rows`` counts it (a restricted model whose pairs miss a row
    that needs persons; the full model's such rows are found before building, see
    ``asielplan.solvers.placement``)."""
    expr = body.get(k)
    if expr is None or not expr.linear_vars:
        if (lower is not None and lower > 0) or (upper is not None and upper < 0):
            model.empty_infeasible_rows += 1
        return pyo.Constraint.Skip
    if lower is not None and lower == upper:
        return expr == lower
    return pyo.inequality(lower, expr, upper)


def _side(value: Any) -> float | None:
    """A row side for Pyomo: None when open."""
    return float(value) if np.isfinite(value) else None


def _bodies(
    model: pyo.ConcreteModel,
    pairs: Pairs,
    terms: Terms,
    n_rows: int,
    extra: Any = None,
    keep: np.ndarray | None = None,
) -> dict[int, LinearExpression]:
    """Each row's sum over the pairs' entries (``terms``), with the ``extra(key)``
    (coef, var) terms. With ``keep`` (capacity): only rows ``keep``, over the entries
    that are not 0 (a pair that needs nothing of a dimension does not enter its row).
    A row no pair and no extra term enters is left out."""
    xs = list(model.x.values())
    keys = np.concatenate([k for _, k, _ in terms]) if terms else np.zeros(0, dtype=np.int64)
    coefs = np.concatenate([c for _, _, c in terms]) if terms else np.zeros(0)
    positions = np.tile(np.arange(len(pairs)), len(terms))
    if keep is not None:
        enters = coefs != 0
        keys, coefs, positions = keys[enters], coefs[enters], positions[enters]
    body = {}
    for key, idx in _grouped(keys, n_rows):
        if keep is not None and not keep[key]:
            continue
        more = extra(key) if extra is not None else []
        if len(idx) or more:
            body[key] = _linear(xs, positions[idx], coefs[idx], more)
    return body


# --------------------------------------------------------------------------- families


class Family:
    """One constraint family of the placement model, described once (module docstring).

    ``name`` names it in the diagnosis, ``component`` is its Pyomo constraint and the
    row component of the pair columns (``duals`` the family its duals are reported
    under), ``block`` the single-move code when a move breaks one of its rows (MOVE_OK:
    it does not bound moves), ``elastic`` whether the elastic model softens it,
    ``per_municipality`` whether each of its rows belongs to one municipality (moves
    that touch distinct municipalities then never share a row), ``in_columns`` whether
    pair columns enter its rows."""

    name = ""
    component = ""
    duals = ""
    block = MOVE_OK
    elastic = True
    per_municipality = False
    in_columns = True
    number = "g"  # how the diagnosis writes its bounds and values
    integral = True  # whether its violations are whole persons
    slack_vars: tuple[str, ...] = ()  # the elastic model's slack variables, indexed by key

    def count(self, d: PlacementData) -> int:
        """How many keys (rows) the family can have."""
        raise NotImplementedError

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        """The (component, row key, coefficient) entries of the columns of pairs (h, m)."""
        return []

    def rows(self, d: PlacementData) -> Rows:
        """The hard sides of every key."""
        raise NotImplementedError

    def names(self, d: PlacementData) -> np.ndarray:
        """The name of every key (the duals' index)."""
        raise NotImplementedError

    def labels(self, d: PlacementData) -> np.ndarray:
        """Every key as the diagnosis names it (its ``constraint``): its name."""
        return self.names(d)

    def unit(self, d: PlacementData) -> np.ndarray:
        """Persons one unit of each key's elastic slack stands for."""
        return np.ones(self.count(d))

    def slacks(self, d: PlacementData) -> tuple[str, ...]:
        """The Pyomo variables (indexed by key) by which the elastic model breaks the
        family's rows at ``ELASTIC_PENALTY`` per unit."""
        return self.slack_vars

    def repair_municipalities(
        self, d: PlacementData, keys: np.ndarray, placed: np.ndarray
    ) -> np.ndarray:
        """The municipalities where moves (into or out of them) bring rows ``keys`` back
        within their sides, the persons placed as ``placed``: a row of one municipality
        its own (``per_municipality``: keyed dimension by dimension, ``k * M + m``); none
        where a move anywhere may help (a repair then widens nothing for it)."""
        if self.per_municipality:
            return keys % d.n_municipalities
        return np.zeros(0, dtype=np.int64)

    def activity(self, d: PlacementData, assignment: np.ndarray) -> np.ndarray:
        """Every row's value under an integral assignment (-1 = unplaced): the sum of its
        entries over the assignment's pairs."""
        h = np.flatnonzero(assignment >= 0)
        out = np.zeros(self.count(d))
        for _, keys, coefs in self.terms(d, h, assignment[h]):
            out += np.bincount(keys, weights=coefs, minlength=len(out))
        return out

    def move_entries(
        self, d: PlacementData, h: np.ndarray, src: np.ndarray, dst: np.ndarray, placed: np.ndarray
    ) -> list[Entry]:
        """What moving households ``h`` alone from ``src`` (-1: unplaced) to ``dst`` does
        to the rows, the others placed as now (``placed``: persons per municipality):
        one :data:`Entry` per term of the pair columns."""
        has = src >= 0
        leave = self.terms(d, h, np.maximum(src, 0))
        enter = self.terms(d, h, dst)
        return [
            (ks, np.where(has, cs, 0.0), kd, cd)
            for (_, ks, cs), (_, kd, cd) in zip(leave, enter, strict=True)
        ]

    def coupling(self, d: PlacementData) -> tuple[np.ndarray, np.ndarray] | None:
        """The sides of the rows the Lagrangian relaxation prices (NaN for a key it does
        not price); None when the family does not couple municipalities."""
        return None

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        """The family's Pyomo components over candidate pairs ``pairs``."""
        raise NotImplementedError

    def describe(
        self,
        d: PlacementData,
        assignment: np.ndarray,
        key: int,
        value: float,
        limit: float,
        below: bool,
    ) -> tuple[str, str]:
        """The diagnosis's ``bound`` and ``value`` of a broken row."""
        sign = ">=" if below else "<="
        return f"{sign} {_number(limit, self.number)}", _number(value, self.number)

    def violations(self, d: PlacementData, assignment: np.ndarray) -> list[dict[str, Any]]:
        """Every row of the family the assignment breaks, as diagnosis records."""
        rows = self.rows(d)
        value = self.activity(d, assignment)
        below = value < rows.lower - TOLERANCE
        above = value > rows.upper + TOLERANCE
        broken = np.flatnonzero(below | above)
        if not len(broken):
            return []
        names, unit = self.labels(d), self.unit(d)
        out = []
        for key in broken:
            limit = rows.lower[key] if below[key] else rows.upper[key]
            amount = abs(value[key] - limit) * unit[key]
            bound, shown = self.describe(
                d, assignment, int(key), float(value[key]), limit, bool(below[key])
            )
            out.append(
                dict(
                    family=self.name,
                    constraint=str(names[key]),
                    bound=bound,
                    value=shown,
                    violation=round(float(amount)) if self.integral else float(amount),
                )
            )
        return out


class CompatiblePairs(Family):
    """Compatible pairs: a household goes only where no hard criterion, table or lock
    rules it out. The index set of ``x`` (:func:`~asielplan.model.placement.allowed_pairs`)
    states it; there are no rows, so the elastic model cannot break it."""

    name = "compatibility"
    elastic = False
    in_columns = False

    def count(self, d: PlacementData) -> int:
        return d.n_households

    def rows(self, d: PlacementData) -> Rows:
        placed = np.ones(d.n_households)
        return Rows(placed, placed)

    def names(self, d: PlacementData) -> np.ndarray:
        return d.household_ids

    def unit(self, d: PlacementData) -> np.ndarray:
        return d.persons.astype(float)

    def activity(self, d: PlacementData, assignment: np.ndarray) -> np.ndarray:
        """1 where the household is unplaced or at a compatible pair, else 0."""
        here = np.maximum(assignment, 0)
        ok = (assignment < 0) | d.allowed[np.arange(d.n_households), here]
        return ok.astype(float)

    def describe(
        self,
        d: PlacementData,
        assignment: np.ndarray,
        key: int,
        value: float,
        limit: float,
        below: bool,
    ) -> tuple[str, str]:
        return "allowed pair", str(d.municipality_codes[assignment[key]])

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        """Nothing to add: ``pairs`` holds compatible pairs only."""


class Assignment(Family):
    """Each household is placed exactly once (or at most once), never split.

    .. math::

        \\sum_{m:(h,m)\\in P} x_{hm} + u_h = 1 \\quad \\forall h \\in H

    with :math:`u_h \\ge 0` the unplaced indicator, present only when
    ``assignment='at_most_once'`` (or in the elastic model, where it is the slack of a
    household that must be placed, worth its persons). Since :math:`x` is binary, a
    household goes whole to one municipality.
    """

    name = "assignment"
    component = "assign"
    duals = "assignment"

    def count(self, d: PlacementData) -> int:
        return d.n_households

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        return [("assign", h, np.ones(len(h)))]

    def rows(self, d: PlacementData) -> Rows:
        lower = 0.0 if d.config.assignment == "at_most_once" else 1.0
        return Rows(np.full(d.n_households, lower), np.ones(d.n_households))

    def names(self, d: PlacementData) -> np.ndarray:
        return d.household_ids

    def unit(self, d: PlacementData) -> np.ndarray:
        return d.persons.astype(float)

    def slacks(self, d: PlacementData) -> tuple[str, ...]:
        """The unplaced indicator, a slack when every household must be placed (else a
        part of the objective)."""
        return ("unplaced",) if d.config.assignment == "exactly_once" else ()

    def describe(
        self,
        d: PlacementData,
        assignment: np.ndarray,
        key: int,
        value: float,
        limit: float,
        below: bool,
    ) -> tuple[str, str]:
        return "placed = 1", "unplaced"

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        open_ended = d.config.assignment == "at_most_once" or elastic
        if open_ended:
            model.unplaced = pyo.Var(
                range(d.n_households), domain=pyo.NonNegativeReals, bounds=(0, 1)
            )
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            d.n_households,
            (lambda h: [(1.0, model.unplaced[h])]) if open_ended else None,
        )
        model.assign = pyo.Constraint(
            range(d.n_households), rule=lambda mdl, h: _row(mdl, body, h, 1, 1)
        )


class Taakstelling(Family):
    """Municipal taakstelling, in persons: a penalised target (soft) or a band (hard).

    Soft (default), with shortfall :math:`s^-_m` and excess :math:`s^+_m`, parts of the
    objective (no hard row):

    .. math:: \\sum_{h} n_h x_{hm} + s^-_m - s^+_m = T_m \\quad \\forall m

    Band: :math:`\\lfloor \\ell T_m \\rfloor - b \\le \\sum_h n_h x_{hm} \\le
    \\lceil u T_m \\rceil + b` with shares :math:`\\ell, u` and slack :math:`b` persons
    (households are whole). In the elastic model the band gets penalised slacks.
    """

    name = "taakstelling band"
    component = "target"
    duals = "taakstelling"
    block = MOVE_BAND
    per_municipality = True

    def count(self, d: PlacementData) -> int:
        return d.n_municipalities

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        if d.target is None:
            return []
        return [("target", m, d.persons[h].astype(float))]

    def rows(self, d: PlacementData) -> Rows:
        M = d.n_municipalities
        if d.target is None or d.config.target_mode != "band":
            return Rows(np.full(M, -np.inf), np.full(M, np.inf))
        lower, upper = band_limits(d)
        return Rows(lower.astype(float), upper.astype(float))

    def names(self, d: PlacementData) -> np.ndarray:
        return d.municipality_codes

    def slacks(self, d: PlacementData) -> tuple[str, ...]:
        """Shortfall and excess, slacks of a band (parts of the objective when soft)."""
        return () if d.soft_targets else ("short", "excess")

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        if d.target is None:
            return
        M = d.n_municipalities
        soft = d.config.target_mode == "soft"
        if soft or elastic:
            model.short = pyo.Var(range(M), domain=pyo.NonNegativeReals)
            model.excess = pyo.Var(range(M), domain=pyo.NonNegativeReals)
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            M,
            (lambda m: [(1.0, model.short[m]), (-1.0, model.excess[m])])
            if soft or elastic
            else None,
        )
        rows, target = self.rows(d), d.target

        def rule(mdl: Any, m: int) -> Any:
            if soft:
                return _row(mdl, body, m, float(target[m]), float(target[m]))
            return _row(mdl, body, m, _side(rows.lower[m]), _side(rows.upper[m]))

        model.target = pyo.Constraint(range(M), rule=rule)


class Capacity(Family):
    """Capacity of a location in each of its dimensions, where the instance gives one
    (``capacities``): persons, cases, or a named dimension whose need per household
    :math:`q_{hk}` the ``needs`` table gives (:math:`q_{h,\\mathrm{persons}} = n_h`,
    :math:`q_{h,\\mathrm{cases}} = 1`). Rows keyed :math:`k M + m`.

    .. math:: \\sum_h q_{hk} x_{hm} \\le K_{km} \\; (+\\, o_{km} \\text{ elastic}) \\quad
        \\forall k, m : K_{km} < \\infty
    """

    name = "capacity"
    component = "capacity"
    duals = "capacity"
    block = MOVE_CAPACITY
    slack_vars = ("over_capacity",)
    per_municipality = True

    def count(self, d: PlacementData) -> int:
        return len(d.capacity_dimensions) * d.n_municipalities

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        M = d.n_municipalities
        return [
            ("capacity", k * M + m, d.need[h, k])
            for k in range(len(d.capacity_dimensions))
            if np.isfinite(d.capacity[k]).any()
        ]

    def rows(self, d: PlacementData) -> Rows:
        upper = d.capacity.ravel().astype(float)
        return Rows(np.full(len(upper), -np.inf), upper)

    def names(self, d: PlacementData) -> np.ndarray:
        return np.array(
            [
                capacity_label(d, k, m)
                for k in range(len(d.capacity_dimensions))
                for m in range(d.n_municipalities)
            ],
            dtype=object,
        )

    def coupling(self, d: PlacementData) -> tuple[np.ndarray, np.ndarray] | None:
        """Every capacity but persons, which the knapsacks keep."""
        rows = self.rows(d)
        lower, upper = rows.lower.copy(), rows.upper.copy()
        if "persons" in d.capacity_dimensions:
            M = d.n_municipalities
            k = d.capacity_dimensions.index("persons")
            lower[k * M : (k + 1) * M] = upper[k * M : (k + 1) * M] = np.nan
        return lower, upper

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        rows = self.rows(d)
        keys = np.flatnonzero(rows.hard)
        if not len(keys):
            return
        if elastic:
            model.over_capacity = pyo.Var(keys.tolist(), domain=pyo.NonNegativeReals)
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            len(rows.upper),
            (lambda key: [(-1.0, model.over_capacity[key])]) if elastic else None,
            keep=rows.hard,
        )
        model.capacity = pyo.Constraint(
            keys.tolist(), rule=lambda mdl, key: _row(mdl, body, key, None, _side(rows.upper[key]))
        )


class RegionBands(Family):
    """Regional totals within bands, for every configured region level.

    .. math:: L_r \\le \\sum_{m \\in r} \\sum_h n_h x_{hm} \\le U_r \\quad \\forall r,

    with :math:`L_r = \\lfloor \\ell_r T_r \\rfloor`, :math:`U_r = \\lceil u_r T_r \\rceil`
    and :math:`T_r = \\sum_{m\\in r} T_m`. The elastic model adds penalised slacks.
    """

    name = "region band"
    component = "region"
    duals = "region_bands"
    block = MOVE_REGION
    slack_vars = ("region_short", "region_excess")

    def count(self, d: PlacementData) -> int:
        return len(d.regions)

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        coef = d.persons[h].astype(float)
        return [("region", d.region_index[level][m], coef) for level in d.region_index]

    def rows(self, d: PlacementData) -> Rows:
        return Rows(
            np.array([r.lower for r in d.regions], dtype=float),
            np.array([r.upper for r in d.regions], dtype=float),
        )

    def names(self, d: PlacementData) -> np.ndarray:
        return np.array([f"{r.level}:{r.code}" for r in d.regions], dtype=object)

    def coupling(self, d: PlacementData) -> tuple[np.ndarray, np.ndarray] | None:
        rows = self.rows(d)
        return rows.lower, rows.upper

    def repair_municipalities(
        self, d: PlacementData, keys: np.ndarray, placed: np.ndarray
    ) -> np.ndarray:
        """A band's region: its members."""
        members = (np.flatnonzero(d.regions[k].members) for k in keys)
        return np.concatenate([np.zeros(0, np.int64), *members])

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        if not d.regions:
            return
        R = len(d.regions)
        if elastic:
            model.region_short = pyo.Var(range(R), domain=pyo.NonNegativeReals)
            model.region_excess = pyo.Var(range(R), domain=pyo.NonNegativeReals)
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            R,
            (lambda r: [(1.0, model.region_short[r]), (-1.0, model.region_excess[r])])
            if elastic
            else None,
        )
        rows = self.rows(d)
        model.region = pyo.Constraint(
            range(R),
            rule=lambda mdl, r: _row(mdl, body, r, _side(rows.lower[r]), _side(rows.upper[r])),
        )


class Locks(Family):
    """A planner's lock fixes a household to a municipality.

    .. math:: x_{h\\lambda(h)} = 1 \\quad \\forall h \\text{ with a lock } \\lambda(h)

    (the compatibility family already leaves only that pair for the household). A
    single move of a locked household is what the lock prevents (``MOVE_LOCKED``,
    marked apart, last).
    """

    name = "lock"
    component = "lock"
    elastic = False
    in_columns = False

    def count(self, d: PlacementData) -> int:
        return d.n_households

    def rows(self, d: PlacementData) -> Rows:
        locked = d.lock >= 0
        return Rows(np.where(locked, 1.0, -np.inf), np.where(locked, 1.0, np.inf))

    def names(self, d: PlacementData) -> np.ndarray:
        return d.household_ids

    def unit(self, d: PlacementData) -> np.ndarray:
        return d.persons.astype(float)

    def activity(self, d: PlacementData, assignment: np.ndarray) -> np.ndarray:
        """1 where the household is at its lock, else 0."""
        return (assignment == d.lock).astype(float)

    def describe(
        self,
        d: PlacementData,
        assignment: np.ndarray,
        key: int,
        value: float,
        limit: float,
        below: bool,
    ) -> tuple[str, str]:
        at = assignment[key]
        return f"= {d.municipality_codes[d.lock[key]]}", str(
            d.municipality_codes[at] if at >= 0 else "unplaced"
        )

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        locked = np.flatnonzero(d.lock >= 0)
        if not len(locked):
            return
        position = {
            (int(h), int(m)): k for k, (h, m) in enumerate(zip(pairs.h, pairs.m, strict=True))
        }
        model.lock = pyo.Constraint(
            locked.tolist(), rule=lambda mdl, h: mdl.x[position[(int(h), int(d.lock[h]))]] == 1
        )


class PartBounds(Family):
    r"""Bounds on named parts of the objective (``placement.part_bounds``): the epsilon
    constraints of a trade-off front. Each bounded part k gets a variable
    :math:`q_k \in [\ell_k, u_k]` holding its quantity:

    .. math:: \sum_{(h,m)\in P} a^k_{hm} x_{hm} - q_k = 0 \quad
        \text{(labour, distance, leaving the COA region)}

    and likewise :math:`\sum_m s^-_m`, :math:`\sum_m s^+_m` (shortfall, excess), their sum
    (deviation, a bound only) and
    :math:`\sum_h n_h u_h` (unplaced). The row's dual is the price of the bound. In the
    elastic model :math:`q_k` may leave its bounds at a penalised cost.
    """

    name = "part bound"
    component = "part_bound"
    duals = "part_bounds"
    block = MOVE_PART_BOUND
    slack_vars = ("part_short", "part_excess")
    integral = False

    def count(self, d: PlacementData) -> int:
        return len(d.bounded_parts)

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        """A pair's quantity of each bounded pair-linear part."""
        return [
            ("part_bound", np.full(len(h), k), d.pair_part(row.part, h, m))
            for k, row in enumerate(d.bounded_parts)
            if row.part in PAIR_PARTS
        ]

    def rows(self, d: PlacementData) -> Rows:
        parts = d.bounded_parts
        return Rows(
            np.array([-np.inf if r.lower is None else r.lower for r in parts], dtype=float),
            np.array([np.inf if r.upper is None else r.upper for r in parts], dtype=float),
        )

    def names(self, d: PlacementData) -> np.ndarray:
        return np.array([row.part for row in d.bounded_parts], dtype=object)

    def activity(self, d: PlacementData, assignment: np.ndarray) -> np.ndarray:
        """Each bounded part's quantity (the sums of parts included)."""
        if not d.bounded_parts:
            return np.zeros(0)
        quantities = bounded_quantities(d, assignment)
        return np.array([quantities[row.part] for row in d.bounded_parts], dtype=float)

    def move_entries(
        self, d: PlacementData, h: np.ndarray, src: np.ndarray, dst: np.ndarray, placed: np.ndarray
    ) -> list[Entry]:
        """Pair-linear parts from the pairs' entries; a target gap from the persons
        placed at both ends; the unplaced persons fall when an unplaced household is
        placed."""
        out = super().move_entries(d, h, src, dst, placed)
        has = src >= 0
        here = np.maximum(src, 0)
        n = d.persons[h].astype(float)
        for k, row in enumerate(d.bounded_parts):
            if row.part in PAIR_PARTS:
                continue
            if row.part in TARGET_GAPS:
                assert d.target is not None
                t = d.target.astype(float)
                gap = row.part
                enter = target_gap(gap, placed[dst] + n, t[dst]) - target_gap(
                    gap, placed[dst], t[dst]
                )
                leave = target_gap(gap, placed[here] - n, t[here]) - target_gap(
                    gap, placed[here], t[here]
                )
                change = np.where(src == dst, 0.0, enter + np.where(has, leave, 0.0))
            else:  # unplaced: a placed household stays placed; an unplaced one is placed
                change = np.where(has, 0.0, -n)
            key = np.full(len(h), k)
            out.append((key, np.zeros(len(h)), key, change))
        return out

    def repair_municipalities(
        self, d: PlacementData, keys: np.ndarray, placed: np.ndarray
    ) -> np.ndarray:
        """A bound on a target gap: every municipality off its target (persons move out
        of those above it and into those below), the furthest off first; a pair-linear
        part's or the unplaced persons' bound: none (a move anywhere may help)."""
        gaps = [k for k in keys if d.bounded_parts[k].part in TARGET_GAPS]
        if not gaps or d.target is None:
            return np.zeros(0, dtype=np.int64)
        off = np.abs(placed - d.target)
        return np.flatnonzero(off > 0)[np.argsort(-off[off > 0], kind="stable")]

    def coupling(self, d: PlacementData) -> tuple[np.ndarray, np.ndarray] | None:
        """The bounds on pair-linear parts (those on target gaps are no pair's: see
        :func:`~asielplan.solvers.lagrange.gaps_priced`)."""
        rows = self.rows(d)
        linear = np.array([row.part in PAIR_PARTS for row in d.bounded_parts], dtype=bool)
        return np.where(linear, rows.lower, np.nan), np.where(linear, rows.upper, np.nan)

    def labels(self, d: PlacementData) -> np.ndarray:
        """The part with its unit (``distance (km)``)."""
        return np.array([f"{r.part} ({bound_unit(r.part)})" for r in d.bounded_parts], dtype=object)

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        if not d.bounded_parts:
            return
        K = range(len(d.bounded_parts))
        rows = self.rows(d)
        lower = [_side(v) for v in rows.lower]
        upper = [_side(v) for v in rows.upper]
        if elastic:
            model.part_value = pyo.Var(K, domain=pyo.Reals)
            model.part_short = pyo.Var(K, domain=pyo.NonNegativeReals)
            model.part_excess = pyo.Var(K, domain=pyo.NonNegativeReals)
            model.part_band = pyo.Constraint(
                K,
                rule=lambda mdl, k: pyo.inequality(
                    lower[k],
                    mdl.part_value[k] + mdl.part_short[k] - mdl.part_excess[k],
                    upper[k],
                ),
            )
        else:
            model.part_value = pyo.Var(K, bounds=lambda _, k: (lower[k], upper[k]))
        nobody = np.zeros(0, dtype=np.int64)
        xs = list(model.x.values())
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            len(K),
            lambda k: [(-1.0, model.part_value[k])],
        )
        for k, row in enumerate(d.bounded_parts):
            if row.part in TARGET_GAPS:
                slacks = [model.short, model.excess]
                if row.part != "deviation":
                    slacks = [model.short if row.part == "shortfall" else model.excess]
                terms = [(1.0, v) for slack in slacks for v in slack.values()]
                body[k] = _linear(xs, nobody, nobody, [*terms, (-1.0, model.part_value[k])])
            elif row.part not in PAIR_PARTS:  # unplaced
                persons = [(float(d.persons[h]), v) for h, v in model.unplaced.items()]
                body[k] = _linear(xs, nobody, nobody, [*persons, (-1.0, model.part_value[k])])
        model.part_bound = pyo.Constraint(K, rule=lambda _, k: body[k] == 0)


class GroupFloors(Family):
    r"""Floors on groups' mean employment probability (``placement.group_floors``), as
    expected employed members of the group :math:`G` (:mod:`asielplan.model.groups`):

    .. math:: \sum_{(h,m)\in P} e^G_{hm} x_{hm} \ge \underline{p}_G \, |G|

    with :math:`e^G_{hm} = \sum_{i \in h \cap G} p_{im}` and :math:`|G|` the group's
    adult members (an unplaced member counts 0). The row's dual is what one more
    expected employed member of the group is worth. In the elastic model the row may
    fall short at a penalised cost (``group_short``).
    """

    name = "group floor"
    component = "group"
    duals = "group_floors"
    block = MOVE_GROUP_FLOOR
    slack_vars = ("group_short",)
    number = ".4g"
    integral = False

    def count(self, d: PlacementData) -> int:
        return len(d.group_floors)

    def terms(self, d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
        """A pair's expected employed members of each group."""
        return [
            ("group", np.full(len(h), k), row.expected[h, m])
            for k, row in enumerate(d.group_floors)
        ]

    def rows(self, d: PlacementData) -> Rows:
        return Rows(
            np.array([g.lower for g in d.group_floors], dtype=float),
            np.full(len(d.group_floors), np.inf),
        )

    def names(self, d: PlacementData) -> np.ndarray:
        return np.array([row.group for row in d.group_floors], dtype=object)

    def coupling(self, d: PlacementData) -> tuple[np.ndarray, np.ndarray] | None:
        rows = self.rows(d)
        return rows.lower, rows.upper

    def labels(self, d: PlacementData) -> np.ndarray:
        """The group in words, with the row's unit."""
        return np.array(
            [f"{GROUP_LABELS[r.group]} (expected employed members)" for r in d.group_floors],
            dtype=object,
        )

    def add(self, model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
        if not d.group_floors:
            return
        K = range(len(d.group_floors))
        if elastic:
            model.group_short = pyo.Var(K, domain=pyo.NonNegativeReals)
        body = _bodies(
            model,
            pairs,
            self.terms(d, pairs.h, pairs.m),
            len(K),
            (lambda k: [(1.0, model.group_short[k])]) if elastic else None,
        )
        rows = self.rows(d)
        model.group = pyo.Constraint(
            K, rule=lambda mdl, k: _row(mdl, body, k, _side(rows.lower[k]), None)
        )


COMPATIBILITY = CompatiblePairs()
ASSIGNMENT = Assignment()
TAAKSTELLING = Taakstelling()
CAPACITY = Capacity()
REGION_BANDS = RegionBands()
LOCKS = Locks()
PART_BOUNDS = PartBounds()
GROUP_FLOORS = GroupFloors()
# in the order the model is built (and the diagnosis lists them)
FAMILIES: tuple[Family, ...] = (
    COMPATIBILITY,
    ASSIGNMENT,
    TAAKSTELLING,
    CAPACITY,
    REGION_BANDS,
    LOCKS,
    PART_BOUNDS,
    GROUP_FLOORS,
)
# the families whose rows a single move can break, in the order a move's block is named
MOVE_FAMILIES = tuple(sorted((f for f in FAMILIES if f.block != MOVE_OK), key=lambda f: f.block))
COLUMN_FAMILIES = tuple(f for f in FAMILIES if f.in_columns)


# --------------------------------------------------------------------------- the model


def add_objective(model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
    """Maximise labour value minus relocation cost minus deviation penalties.

    .. math::

        \\max \\sum_{(h,m)\\in P} \\big(w_L s_{hm} - w_d d_{hm} - w_c c_{hm}\\big) x_{hm}
        - \\sum_m (\\alpha s^-_m + \\beta s^+_m) - \\pi \\sum_h n_h u_h

    with :math:`s_{hm}` the labour score, :math:`d_{hm}` the distance in km from the
    current reception site, :math:`c_{hm}` = 1 when the move leaves the COA region. In
    the elastic model every slack of a hard constraint costs ``ELASTIC_PENALTY`` per
    person.
    """
    value = d.value(pairs.h, pairs.m)
    xs = list(model.x.values())
    coefs = list(value.astype(float))
    variables = list(xs)
    c = d.config
    if d.soft_targets:
        for m in range(d.n_municipalities):
            coefs += [-c.penalty_shortfall, -c.penalty_excess]
            variables += [model.short[m], model.excess[m]]
    if c.assignment == "at_most_once":
        for h in range(d.n_households):
            coefs.append(-c.unplaced_penalty * float(d.persons[h]))
            variables.append(model.unplaced[h])
    for var, persons in violation_vars(model, d):
        coefs.append(-ELASTIC_PENALTY * persons)
        variables.append(var)
    model.objective = pyo.Objective(
        expr=LinearExpression(constant=0.0, linear_coefs=coefs, linear_vars=variables),
        sense=pyo.maximize,
    )


def violation_vars(model: pyo.ConcreteModel, d: PlacementData) -> list[tuple[Any, float]]:
    """The slack variables of the elastic model (every family's :meth:`Family.slacks`)
    with the persons one unit of each stands for (:meth:`Family.unit`). Empty for a
    model built without ``elastic``."""
    out: list[tuple[Any, float]] = []
    for family in FAMILIES:
        unit = family.unit(d)
        for name in family.slacks(d):
            if hasattr(model, name):
                out += [(var, float(unit[key])) for key, var in getattr(model, name).items()]
    return out


def build_placement_model(
    d: PlacementData, pairs: Pairs, *, relax: bool = False, elastic: bool = False
) -> pyo.ConcreteModel:
    """The placement model over candidate pairs ``pairs``: every family's components
    (:data:`FAMILIES`) and the objective.

    ``relax`` makes :math:`x` continuous (the LP relaxation); ``elastic`` softens every
    hard constraint with penalised slacks, for the infeasibility diagnosis.
    """
    model = pyo.ConcreteModel(name="placement")
    model.empty_infeasible_rows = 0
    model.x = pyo.Var(
        range(len(pairs)), domain=pyo.NonNegativeReals if relax else pyo.Binary, bounds=(0, 1)
    )
    for family in FAMILIES:
        family.add(model, d, pairs, elastic)
    add_objective(model, d, pairs, elastic)
    return model


def pair_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    """All (component, row key, coefficient) entries of the columns of pairs (h, m)."""
    out: Terms = []
    for family in COLUMN_FAMILIES:
        out += family.terms(d, h, m)
    return out


def row_counts(d: PlacementData) -> dict[str, int]:
    """How many rows (keys) each row component of the pair columns can have."""
    return {family.component: family.count(d) for family in COLUMN_FAMILIES}


def column_family(component: str) -> Family:
    """The family of a row component of the pair columns."""
    return next(f for f in COLUMN_FAMILIES if f.component == component)


def coupling_sides(d: PlacementData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Lower and upper side of every row that couples municipalities, per row component
    and key (NaN for a row the Lagrangian relaxation does not price per pair: person
    capacities, which the knapsacks keep, and bounds on target gaps, which the knapsacks
    keep in their target penalties or leave out)."""
    out = {}
    for family in COLUMN_FAMILIES:
        sides = family.coupling(d)
        if sides is not None:
            out[family.component] = sides
    return out


# --------------------------------------------------------------------------- read back


def constraint_violations(d: PlacementData, assignment: np.ndarray) -> pd.DataFrame:
    """Every hard constraint the assignment breaks, from each family's rows.

    Columns: ``family, constraint, bound, value, violation`` (persons). Empty when the
    assignment is feasible. Used for the infeasibility diagnosis and by the tests.
    """
    rows: list[dict[str, Any]] = []
    for family in FAMILIES:
        rows += family.violations(d, assignment)
    return pd.DataFrame(rows, columns=["family", "constraint", "bound", "value", "violation"])


def violation_persons(d: PlacementData, assignment: np.ndarray) -> float:
    """Persons (units, for a capacity dimension) by which an assignment breaks the hard
    constraints the elastic model softens, each counted as its slack counts it."""
    total = 0.0
    for family in FAMILIES:
        if family.elastic and family.count(d):
            rows = family.rows(d)
            off = rows.outside(family.activity(d, assignment))
            total += float((off * family.unit(d))[rows.hard].sum())
    return total


def evaluate_assignment(d: PlacementData, assignment: np.ndarray, *, elastic: bool) -> float:
    """Objective value (maximisation sense) of an integral assignment, recomputed from the
    formulation: the sum of its parts' contributions (and, in the elastic model, the
    penalised violations)."""
    quantities = part_quantities(d, assignment)
    if elastic:
        quantities[VIOLATION] = violation_persons(d, assignment)
    return float(sum(part_contributions(d, quantities).values()))


# --------------------------------------------------------------------------- moves


@dataclass
class SingleMoves:
    """What moving each of households ``rows`` alone to each municipality would do, the
    rest of the assignment fixed (maximisation sense, len(rows) x M): ``delta`` the
    change of the objective, split into ``value_change`` (the pair-linear parts) and
    ``penalty_change`` (the taakstelling penalties of both municipalities, and the
    unplaced penalty a placed household no longer pays); ``blocked`` the first hard
    rule the move breaks (:data:`MOVE_BLOCKS`, 0 when none); a household's lock comes
    last, so ``MOVE_LOCKED`` marks the moves only its lock prevents."""

    rows: np.ndarray
    delta: np.ndarray
    value_change: np.ndarray
    penalty_change: np.ndarray
    blocked: np.ndarray


def single_moves(d: PlacementData, assignment: np.ndarray, rows: np.ndarray) -> SingleMoves:
    """Every single move of households ``rows``, re-derived from the formulation: the
    objective change equals ``evaluate_assignment`` after the move minus before, and a
    move is blocked by the first family (:data:`MOVE_FAMILIES`) one of whose rows it
    takes further out of its sides."""
    M = d.n_municipalities
    placed = placed_persons(d, assignment).astype(float)
    n = d.persons[rows].astype(float)
    cur = assignment[rows]
    has = cur >= 0
    here = np.maximum(cur, 0)
    values = d.value_rows(rows)
    current_value = np.where(has, values[np.arange(len(rows)), here], 0.0)
    value_change = values - current_value[:, None]
    penalty_change = np.zeros((len(rows), M))
    if d.soft_targets:
        to = d.target_penalty(np.arange(M), placed)
        gain_to = d.target_penalty_rows(placed[None, :] + n[:, None]) - to[None, :]
        stay = d.target_penalty(here, placed[here])
        leave = d.target_penalty(here, placed[here] - n)
        penalty_change = gain_to + np.where(has, leave - stay, 0.0)[:, None]
    if d.config.assignment == "at_most_once":
        penalty_change -= np.where(has, 0.0, d.config.unplaced_penalty * n)[:, None]
    same = has[:, None] & (np.arange(M)[None, :] == cur[:, None])
    penalty_change[same] = 0.0
    delta = value_change - penalty_change
    blocked = np.zeros((len(rows), M), dtype=np.int8)

    def mark(mask: np.ndarray, code: int) -> None:
        blocked[(blocked == MOVE_OK) & mask] = code

    mark(same, MOVE_SAME)
    mark(d.by_criterion[rows], MOVE_CRITERION)
    mark(~d.unlocked[rows], MOVE_EXCLUDED)
    state = RowState(d, assignment)
    batch = state.batch(np.repeat(rows, M), np.repeat(cur, M), np.tile(np.arange(M), len(rows)))
    for f, family in enumerate(state.families):
        mark(batch.breaks(f).reshape(len(rows), M), family.block)
    # last: a move blocked by nothing but the household's lock (what the lock costs)
    mark((d.lock[rows] >= 0)[:, None] & ~same, MOVE_LOCKED)
    return SingleMoves(rows, delta, value_change, penalty_change, blocked)


class MoveBatch:
    """Single moves (household ``h`` from ``src``, -1 unplaced, to ``dst``) against the
    rows of :attr:`RowState.families` as they stand: per family the entries each move
    changes (:meth:`Family.move_entries`, computed once for the batch, so valid while
    no two applied moves touch the same municipality)."""

    def __init__(self, state: RowState, h: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
        self.state = state
        self.h, self.src, self.dst = h, src, dst
        self.n = len(h)
        placed = state.placed
        self.entries = [
            family.move_entries(state.d, h, src, dst, placed) for family in state.families
        ]

    def breaks(self, family: int) -> np.ndarray:
        """Per move: whether it takes a row of family ``family`` (its position in
        :attr:`RowState.families`) further out of its sides."""
        rows, now = self.state.rows[family], self.state.now[family]
        out = np.zeros(self.n, dtype=bool)
        for ks, leave, kd, enter, _ in self._ends(family):
            out |= rows.breaks(kd, now[kd], enter) | rows.breaks(ks, now[ks], leave)
        return out

    def _ends(
        self, family: int
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per entry of family ``family``: the key each move leaves and that row's value
        after it, the key it enters and that row's value after it, and whether the two
        keys are one row (then both values are that row's)."""
        now = self.state.now[family]
        out = []
        for ks, cs, kd, cd in self.entries[family]:
            same = ks == kd
            enter = now[kd] + (cd - np.where(same, cs, 0.0))
            leave = now[ks] + (np.where(same, cd, 0.0) - cs)
            out.append((ks, leave, kd, enter, same))
        return out

    def brings_in(self, family: int) -> np.ndarray:
        """Per move: by how much it brings the rows of family ``family`` nearer their
        sides (the sum over its rows of how far outside, before minus after; negative
        when it takes them further out)."""
        rows, now = self.state.rows[family], self.state.now[family]
        out = np.zeros(self.n)
        for ks, leave, kd, enter, same in self._ends(family):
            out += rows.outside(now[kd], kd) - rows.outside(enter, kd)
            out += np.where(same, 0.0, rows.outside(now[ks], ks) - rows.outside(leave, ks))
        return out

    def change(self, family: int, key: int) -> np.ndarray:
        """Per move: how much row ``key`` of family ``family`` changes."""
        out = np.zeros(self.n)
        for ks, cs, kd, cd in self.entries[family]:
            out += np.where(kd == key, cd, 0.0) - np.where(ks == key, cs, 0.0)
        return out

    def accepts(self, k: int, families: tuple[int, ...], exempt: tuple[int, int] | None) -> bool:
        """Whether move ``k`` keeps every row of ``families`` (positions) from going
        further out of its sides; ``exempt``: one (family, key) row not checked."""
        for f in families:
            rows, now = self.state.rows[f], self.state.now[f]
            for ks, cs, kd, cd in self.entries[f]:
                a, b = int(ks[k]), int(kd[k])
                touched = ((a, -cs[k]), (b, cd[k])) if a != b else ((a, cd[k] - cs[k]),)
                for key, change in touched:
                    if exempt != (f, key) and rows.breaks(key, now[key], now[key] + change):
                        return False
        return True

    def apply(self, k: int) -> None:
        """Move ``k`` done: the rows' values and the persons placed follow it."""
        persons = float(self.state.d.persons[self.h[k]])
        if self.src[k] >= 0:
            self.state.placed[self.src[k]] -= persons
        self.state.placed[self.dst[k]] += persons
        for f, entries in enumerate(self.entries):
            now = self.state.now[f]
            for ks, cs, kd, cd in entries:
                now[ks[k]] -= cs[k]
                now[kd[k]] += cd[k]


class RowState:
    """The rows of the families that bound moves (:data:`MOVE_FAMILIES`, or
    ``families``) with their values under an assignment, kept up to date as moves of a
    :class:`MoveBatch` apply."""

    def __init__(
        self,
        d: PlacementData,
        assignment: np.ndarray,
        families: tuple[Family, ...] = MOVE_FAMILIES,
    ) -> None:
        self.d = d
        self.families = tuple(f for f in families if f.count(d))
        self.rows = [f.rows(d) for f in self.families]
        self.now = [f.activity(d, assignment) for f in self.families]
        self.placed = placed_persons(d, assignment).astype(float)

    def batch(self, h: np.ndarray, src: np.ndarray, dst: np.ndarray) -> MoveBatch:
        return MoveBatch(self, h, src, dst)

    def positions(self, *, per_municipality: bool) -> tuple[int, ...]:
        """The families (positions) whose rows each belong to one municipality, or not."""
        return tuple(
            i for i, f in enumerate(self.families) if f.per_municipality == per_municipality
        )

    def repair_municipalities(self) -> np.ndarray:
        """The municipalities where moves can bring a row that lies outside its sides
        back (:meth:`Family.repair_municipalities`), each once, in the order the families
        give them: those of a broken row of one municipality (band, capacity), a broken
        region band's members and, where a bound on a target gap is broken, every
        municipality off its target, the furthest off first."""
        found = [
            f.repair_municipalities(
                self.d, np.flatnonzero(rows.outside(now) > TOLERANCE), self.placed
            )
            for f, rows, now in zip(self.families, self.rows, self.now, strict=True)
        ]
        every = np.concatenate([np.zeros(0, dtype=np.int64), *found])
        _, first = np.unique(every, return_index=True)
        return every[np.sort(first)]

    def keep_together(
        self,
        first: tuple[np.ndarray, np.ndarray, np.ndarray],
        second: tuple[np.ndarray, np.ndarray, np.ndarray],
        positions: tuple[int, ...],
    ) -> np.ndarray:
        """Per pair of moves (the i-th move of ``first`` and of ``second``, each
        households, sources, destinations), whether together they take no row of the
        families ``positions`` further out of its sides: each move's entries as it does
        alone against the rows as they stand, summed where both touch one row. Exact for
        rows linear in the households (bands, capacities, bounds on pair-linear parts,
        group floors); a bound on a target gap, where both moves change one
        municipality's persons, is estimated: :meth:`apply_if_kept` is the check."""
        one, two = MoveBatch(self, *first), MoveBatch(self, *second)
        kept = np.ones(one.n, dtype=bool)
        for f in positions:
            rows, now = self.rows[f], self.now[f]
            ends = [
                end
                for batch in (one, two)
                for ks, cs, kd, cd in batch.entries[f]
                for end in ((ks, -cs), (kd, cd))
            ]
            for key, _ in ends:
                after = now[key] + sum(np.where(other == key, c, 0.0) for other, c in ends)
                kept &= ~rows.breaks(key, now[key], after)
        return kept

    def apply_if_kept(self, h: np.ndarray, src: np.ndarray, dst: np.ndarray) -> bool:
        """Apply the moves of households ``h`` (``src`` to ``dst``) together, one after
        the other against the rows as they then stand, when together they take no row
        further out of its sides (one move alone may: a swap of two households within
        full bands); else leave every row as it was. Whether they were applied."""
        before = [now.copy() for now in self.now]
        placed = self.placed.copy()
        for i in range(len(h)):
            MoveBatch(self, h[i : i + 1], src[i : i + 1], dst[i : i + 1]).apply(0)
        kept = not any(
            rows.breaks(slice(None), was, now).any()
            for rows, was, now in zip(self.rows, before, self.now, strict=True)
        )
        if not kept:  # in place: whoever holds the arrays sees them as they were
            for now, was in zip(self.now, before, strict=True):
                now[:] = was
            self.placed[:] = placed
        return kept

    def off(self, family: int, key: int) -> float:
        """How far row ``key`` of family ``family`` (position) lies outside its sides."""
        return float(self.rows[family].outside(self.now[family])[key])

    def violation(self, positions: tuple[int, ...]) -> list[tuple[float, int, int]]:
        """(how far outside, family position, key) of every row of ``positions``."""
        out = []
        for f in positions:
            off = self.rows[f].outside(self.now[f])
            out += [(float(off[key]), f, int(key)) for key in range(len(off))]
        return out
