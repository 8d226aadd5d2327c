"""Status-holder placement (koppeling): the mixed-integer model.

Households :math:`h \\in H` (persons :math:`n_h`) go to municipalities :math:`m \\in M`
through pair variables :math:`x_{hm} \\in \\{0,1\\}`, one per pair in the candidate set
:math:`P \\subseteq H \\times M`. The model is built from one function per constraint
family; :func:`build_placement_model` reads like the table of contents:

==========================  =====================================  ==========================
family                      function                               Pyomo components
==========================  =====================================  ==========================
compatible pairs            :func:`allowed_pairs`                  index set of ``x``
assignment                  :func:`add_assignment`                 ``assign``, ``unplaced``
municipal taakstelling      :func:`add_taakstelling`               ``target``, ``short``,
                                                                   ``excess``
capacity                    :func:`add_capacity`                   ``capacity``
regional bands              :func:`add_region_bands`               ``region``
planner locks               :func:`add_locks`                      ``lock``
bounds on objective parts   :func:`add_part_bounds`                ``part_bound``,
                                                                   ``part_value``
group floors                :func:`add_group_floors`               ``group``
objective                   :func:`add_objective`                  ``objective``
==========================  =====================================  ==========================

The objective is a sum of named parts (:data:`PARTS`: labour, distance, leaving the COA
region, shortfall, excess, unplaced, changes), each a quantity in its own unit times its weight;
:func:`part_quantities` measures them for an assignment, and a part can be bounded by
name (``placement.part_bounds``), which is how trade-off fronts are built.

``docs/formulation/placement.md`` states the same model in LaTeX. The candidate set
:math:`P` may be all compatible pairs or a subset chosen by column generation
(``asielplan.solvers.placement``); the functions ``*_terms`` give, per family, the rows
a pair's column enters and with which coefficient, so new columns can be priced and
added without rebuilding the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from asielplan.config import PlacementConfig, RegionBand, RunConfig
from asielplan.data.instance import Instance, capacity_matrix, household_needs
from asielplan.model.groups import GROUP_LABELS, group_expectations
from asielplan.model.labour import (
    LabourModel,
    household_scores,
    labour_model,
    outcome_probabilities,
    run_probabilities,
)
from asielplan.model.schemes import SchemeResult, Schemes, compute_scheme
from asielplan.model.taakstelling import largest_remainder

EARTH_RADIUS_KM = 6371.0088
ELASTIC_PENALTY = 1e5  # per person of violated hard constraint in the elastic model


# --------------------------------------------------------------------------- data


@dataclass
class RegionRow:
    """One regional band: persons placed in ``members`` within [lower, upper]."""

    level: str
    code: str
    members: np.ndarray  # bool over municipalities
    target: int
    lower: int
    upper: int


@dataclass(frozen=True)
class PartSpec:
    """A named part of the placement objective: its unit, whether it adds to the
    objective (+1, a gain) or is subtracted (-1, a cost), and its weight's setting."""

    name: str
    unit: str
    sign: int
    weight_key: str


PARTS = {
    spec.name: spec
    for spec in (
        PartSpec("labour", "expected employed persons", +1, "weight_labour"),
        PartSpec("distance", "km", -1, "weight_distance"),
        PartSpec("leave_coa_region", "households", -1, "weight_leave_coa_region"),
        PartSpec("shortfall", "persons", -1, "penalty_shortfall"),
        PartSpec("excess", "persons", -1, "penalty_excess"),
        PartSpec("unplaced", "persons", -1, "unplaced_penalty"),
        PartSpec("changes", "households", -1, "weight_change"),
        PartSpec("future_price", "persons x price", -1, ""),
        PartSpec("pace_price", "persons x price", -1, ""),
    )
}
# quantities that may be bounded without being a part of the objective: the sum of parts
SUMS_OF_PARTS = {"deviation": ("shortfall", "excess")}
# weekly runs only: the places' prices from sampled futures, and the balanced policy's
# price for keeping pace
PRICED = ("future_price", "pace_price")
BOUNDABLE = (*(part for part in PARTS if part not in PRICED), *SUMS_OF_PARTS)
TARGET_GAPS = ("shortfall", "excess", "deviation")
# linear in the pair variables ("changes" only against a previous plan, the prices only
# in a weekly run with them)
PAIR_PARTS = ("labour", "distance", "leave_coa_region", "changes", *PRICED)
VIOLATION = "violation"  # elastic model only: persons of broken hard constraints


@dataclass(frozen=True)
class PartBoundRow:
    """One bounded objective part: ``lower <= quantity <= upper`` (None: open)."""

    part: str
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class GroupFloorRow:
    """A floor on a group's mean employment probability, as expected employed members:
    ``sum expected[h, m] x_hm >= lower`` (``lower`` = floor x members)."""

    group: str
    members: int
    floor: float  # mean employment probability
    expected: np.ndarray  # (H, M) expected employed group members per pair

    @property
    def lower(self) -> float:
        return self.floor * self.members


@dataclass
class PlacementData:
    """Everything the model needs, as arrays indexed by household and municipality."""

    config: PlacementConfig
    household_ids: np.ndarray
    persons: np.ndarray  # (H,) int
    municipality_codes: np.ndarray
    municipality_names: np.ndarray
    score: np.ndarray  # (H, M) labour score
    site_of: np.ndarray  # (H,) index into site rows, -1 if none
    site_distance_km: np.ndarray  # (S, M)
    site_leaves: np.ndarray  # (S, M) bool: leaves the COA region
    allowed: np.ndarray  # (H, M) bool
    lock: np.ndarray  # (H,) municipality index or -1
    previous: np.ndarray  # (H,) municipality index in the previous plan, or -1
    by_criterion: np.ndarray  # (H, M) bool: pairs a hard criterion rules out
    unlocked: np.ndarray  # (H, M) bool: compatible pairs were the locks lifted
    target: np.ndarray | None  # (M,) persons, None when the instance has no taakstelling
    capacity: np.ndarray  # (K, M) units of each capacity dimension, inf when unbounded
    capacity_dimensions: tuple[str, ...]  # (K,) persons, cases or a named dimension
    need: np.ndarray  # (H, K) units of each dimension a household uses where it goes
    regions: list[RegionRow]
    region_index: dict[str, np.ndarray]  # level -> (M,) row in ``regions`` for that level
    bounded_parts: list[PartBoundRow]
    labour: LabourModel  # the run's labour model (the configuration's [labour])
    scheme: SchemeResult | None = None  # the quota scheme of the targets
    group_floors: list[GroupFloorRow] = field(default_factory=list)
    prices: np.ndarray | None = None  # (M,) value of one place, per person (weekly runs)
    pace: np.ndarray | None = None  # (M,) pace price per person (balanced weekly runs)

    @property
    def soft_targets(self) -> bool:
        """Whether the taakstelling is a penalised target (shortfall and excess parts)."""
        return self.target is not None and self.config.target_mode == "soft"

    @property
    def has_previous(self) -> bool:
        """Whether a previous plan places any of these households."""
        return bool((self.previous >= 0).any())

    def pair_parts(self) -> tuple[str, ...]:
        """The pair-linear parts this model has (changes only against a previous plan,
        the future price only with prices)."""
        return tuple(
            part
            for part in PAIR_PARTS
            if (part != "changes" or self.has_previous)
            and (part != "future_price" or self.prices is not None)
            and (part != "pace_price" or self.pace is not None)
        )

    def parts(self) -> list[str]:
        """The objective parts this model has (shortfall and excess only with soft
        targets, unplaced only when a household may stay unplaced, changes only against
        a previous plan)."""
        names = list(self.pair_parts())
        if self.soft_targets:
            names += ["shortfall", "excess"]
        if self.config.assignment == "at_most_once":
            names.append("unplaced")
        return names

    def weight(self, part: str) -> float:
        """The weight of one unit of ``part`` in the objective (1 for the future price,
        already in the objective's unit)."""
        key = PARTS[part].weight_key
        return float(getattr(self.config, key)) if key else 1.0

    def pair_part(self, part: str, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        """The quantity of a pair-linear part that pairs (h, m) bring."""
        if part == "labour":
            return self.score[h, m]
        if part == "distance":
            return self.distance(h, m)
        if part == "leave_coa_region":
            return self.leaves_region(h, m).astype(float)
        if part == "changes":
            before = self.previous[h]
            return ((before >= 0) & (m != before)).astype(float)
        if part == "future_price" and self.prices is not None:
            return self.persons[h] * self.prices[m]
        if part == "pace_price" and self.pace is not None:
            return self.persons[h] * self.pace[m]
        raise ValueError(f"{part!r} is not linear in the pairs")

    @property
    def n_households(self) -> int:
        return len(self.household_ids)

    @property
    def n_municipalities(self) -> int:
        return len(self.municipality_codes)

    def distance(self, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        site = self.site_of[h]
        out = np.zeros(len(h))
        has = site >= 0
        out[has] = self.site_distance_km[site[has], m[has]]
        return out

    def leaves_region(self, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        site = self.site_of[h]
        out = np.zeros(len(h), dtype=bool)
        has = site >= 0
        out[has] = self.site_leaves[site[has], m[has]]
        return out

    def value(self, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Objective value of pairs: :math:`v_{hm} = w_L s_{hm} - w_d d_{hm} - w_c c_{hm}`,
        the pair-linear parts with their signs and weights."""
        out = np.zeros(len(h))
        for part in self.pair_parts():
            out += PARTS[part].sign * self.weight(part) * self.pair_part(part, h, m)
        return out

    def target_penalty(self, m: np.ndarray, placed: np.ndarray) -> np.ndarray:
        r"""Soft-mode penalty :math:`\alpha (T_m - p)^+ + \beta (p - T_m)^+` of municipalities
        ``m`` holding ``placed`` persons; zero without targets or in band mode."""
        if self.target is None or self.config.target_mode != "soft":
            return np.zeros(len(m))
        target = self.target[m]
        return self.config.penalty_shortfall * np.clip(
            target - placed, 0, None
        ) + self.config.penalty_excess * np.clip(placed - target, 0, None)

    def target_penalty_rows(self, placed: np.ndarray) -> np.ndarray:
        """:meth:`target_penalty` of every municipality for rows of placed persons
        (any shape ending in M)."""
        if self.target is None or self.config.target_mode != "soft":
            return np.zeros(placed.shape)
        return self.config.penalty_shortfall * np.clip(
            self.target - placed, 0, None
        ) + self.config.penalty_excess * np.clip(placed - self.target, 0, None)

    def band_upper(self) -> np.ndarray:
        """Most persons each municipality may take by its band (band mode; inf else)."""
        if self.target is not None and self.config.target_mode == "band":
            return band_limits(self)[1].astype(float)
        return np.full(self.n_municipalities, np.inf)

    def fits(self, used: np.ndarray, h: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Whether household ``h`` still fits in municipality ``m`` in every capacity
        dimension, with ``used`` (K x M) already taken there."""
        ok = np.ones(len(h), dtype=bool)
        for k in range(len(self.capacity_dimensions)):
            ok &= used[k, m] + self.need[h, k] <= self.capacity[k, m] + 1e-9
        return ok

    def pair_part_rows(self, part: str, rows: np.ndarray) -> np.ndarray:
        """:meth:`pair_part` for every municipality, for households ``rows``
        (len(rows) x M)."""
        if part == "labour":
            return self.score[rows]
        out = np.zeros((len(rows), self.n_municipalities))
        site = self.site_of[rows]
        has = site >= 0
        if part == "distance":
            out[has] = self.site_distance_km[site[has]]
        elif part == "leave_coa_region":
            out[has] = self.site_leaves[site[has]]
        elif part == "changes":
            before = self.previous[rows]
            out = (before[:, None] >= 0) & (np.arange(self.n_municipalities) != before[:, None])
            return out.astype(float)
        elif part == "future_price" and self.prices is not None:
            return self.persons[rows, None] * self.prices[None, :]
        elif part == "pace_price" and self.pace is not None:
            return self.persons[rows, None] * self.pace[None, :]
        else:
            raise ValueError(f"{part!r} is not linear in the pairs")
        return out

    def subset(self, rows: np.ndarray, target: np.ndarray | None) -> PlacementData:
        """The same model for households ``rows`` only, against ``target`` (e.g. a weekly
        batch of a half-year's arrivals and what is left of the taakstelling). Region
        bands, group floors and part bounds are per run and not carried over."""
        if self.regions or self.group_floors or self.bounded_parts:
            raise ValueError("region bands, group floors and part bounds are set per run")
        return dataclasses.replace(
            self,
            household_ids=self.household_ids[rows],
            persons=self.persons[rows],
            need=self.need[rows],
            score=self.score[rows],
            site_of=self.site_of[rows],
            allowed=self.allowed[rows],
            lock=self.lock[rows],
            previous=self.previous[rows],
            by_criterion=self.by_criterion[rows],
            unlocked=self.unlocked[rows],
            target=None if target is None else np.asarray(target, dtype=np.int64),
            prices=None,
            pace=None,
        )

    def value_rows(self, rows: np.ndarray) -> np.ndarray:
        """:math:`v_{hm}` for every municipality, for households ``rows`` (len(rows) x M)."""
        out = np.zeros((len(rows), self.n_municipalities))
        for part in self.pair_parts():
            out += PARTS[part].sign * self.weight(part) * self.pair_part_rows(part, rows)
        return out


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km between every point 1 and every point 2 (matrix)."""
    p1, p2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dphi = p2 - p1
    dlmb = np.radians(lon2)[None, :] - np.radians(lon1)[:, None]
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def placement_targets(
    inst: Instance, config: PlacementConfig, schemes: Schemes | None = None
) -> tuple[np.ndarray | None, SchemeResult | None]:
    """Persons each municipality should receive in this run (None without a
    taakstelling), and the quota scheme they come from.

    The scheme is ``placement.scheme``, else the instance's ``[taakstelling].scheme``
    (the law by default), for the instance's national number; ``schemes``: the run
    configuration's own. Then, by ``placement.targets``:

    - ``taakstelling``: the scheme's taakstelling (its number plus achterstand); when the
      households hold another number of persons (the law rounds every municipality's
      number up, so a half-year's households fall a little short), with
      ``placement.shortfall_sharing = "proportional"`` the taakstelling scaled to the
      persons by largest remainder, so the difference is shared in proportion to it;
    - ``remaining`` (weekly runs): the taakstelling minus ``progress.placed``, what is
      left to house this period; a small batch then fills the municipalities where its
      households do best, up to what they still owe;
    - ``batch_share`` (weekly runs, paced): the batch's persons split in proportion to
      the remaining taakstelling by largest remainder, so every municipality keeps pace.
    """
    spec = inst.meta.taakstelling
    if spec is None:
        return None, None
    scheme = compute_scheme(inst, config.scheme or spec.scheme, spec.national, schemes)
    period = scheme.table["taakstelling"].to_numpy(dtype=np.int64)
    if config.targets == "taakstelling":
        return shared_targets(period, inst, config), scheme
    remaining = np.clip(period - placed_so_far(inst), 0, None)
    if config.targets == "remaining":
        return remaining, scheme
    batch = int(inst.households["persons"].sum())
    if remaining.sum() == 0:
        return np.zeros(len(period), dtype=np.int64), scheme
    shares = largest_remainder(pd.Series(remaining), batch).to_numpy(dtype=np.int64)
    return shares, scheme


def shared_targets(period: np.ndarray, inst: Instance, config: PlacementConfig) -> np.ndarray:
    """The taakstelling ``period`` with a difference to the households' persons shared
    in proportion to it (``placement.shortfall_sharing``), else as it is."""
    persons = int(inst.households["persons"].sum())
    if config.shortfall_sharing == "objective" or persons == int(period.sum()) or not period.any():
        return period
    return largest_remainder(pd.Series(period), persons).to_numpy(dtype=np.int64)


def placed_so_far(inst: Instance) -> np.ndarray:
    """Persons each municipality housed so far this period (``progress.placed``; 0
    without a progress table or a row)."""
    if inst.progress is None:
        return np.zeros(len(inst.municipalities), dtype=np.int64)
    lookup = inst.progress.set_index("municipality")["placed"]
    return inst.municipalities["code"].map(lookup).fillna(0).to_numpy(dtype=np.int64)


def effective_config(config: PlacementConfig, scheme: SchemeResult | None) -> PlacementConfig:
    """The placement configuration a scheme asks for: with municipal numbers free inside
    the region totals (regional pooling), the municipal targets carry no penalty and the
    region totals are a hard band (``region_band`` of the scheme)."""
    if scheme is None or scheme.spec.municipal != "free":
        return config
    assert scheme.spec.region_level is not None
    lower, upper = scheme.spec.region_band
    band = RegionBand(level=scheme.spec.region_level, lower=lower, upper=upper)
    return config.model_copy(
        update={
            "penalty_shortfall": 0.0,
            "penalty_excess": 0.0,
            "region_bands": (*config.region_bands, band),
        }
    )


@dataclass
class Compatibility:
    """The compatible pairs (``allowed``), each household's lock (-1 if none), the pairs
    a hard criterion rules out (``by_criterion``; which criterion stays out of every
    output) and the pairs compatible were the locks lifted (``unlocked``)."""

    allowed: np.ndarray  # (H, M) bool
    lock: np.ndarray  # (H,) municipality index or -1
    by_criterion: np.ndarray  # (H, M) bool
    unlocked: np.ndarray  # (H, M) bool


def allowed_pairs(inst: Instance, muni_distance: np.ndarray) -> Compatibility:
    """Compatibility family: which (household, municipality) pairs exist at all.

    .. math::

        P^{all} = \\{(h, m) : m \\in A_h\\} \\setminus F, \\qquad
        A_h = \\{m : \\mathrm{dist}(t_h, m) \\le r_h\\} \\cap L_h \\cap S_h

    with :math:`t_h, r_h` the hard-criterion tie (place and radius; all of :math:`M` when
    none), :math:`L_h` the ``allowed`` list (all when absent; empty when its one row has
    an empty municipality: compatible with nothing), :math:`S_h` the pairs with a
    score when a score table is given, and :math:`F` the forbidden pairs. A lock
    restricts :math:`A_h` to the locked municipality.
    """
    hh, muni = inst.households, inst.municipalities
    H, M = len(hh), len(muni)
    code_index = pd.Series(np.arange(M), index=muni["code"].to_numpy())
    hh_index = pd.Series(np.arange(H), index=hh["household_id"].to_numpy())
    allowed = np.ones((H, M), dtype=bool)
    by_criterion = np.zeros((H, M), dtype=bool)

    if "tie_municipality" in hh:
        tied = hh["tie_municipality"].notna().to_numpy()
        if tied.any():
            rows = np.flatnonzero(tied)
            place = code_index[hh["tie_municipality"].to_numpy()[rows]].to_numpy()
            radius = (
                hh["tie_radius_km"].to_numpy(dtype=float)[rows]
                if "tie_radius_km" in hh
                else np.zeros(len(rows))
            )
            radius = np.nan_to_num(radius, nan=0.0)
            allowed[rows] = muni_distance[place] <= radius[:, None] + 1e-9
            allowed[rows, place] = True
            by_criterion[rows] = ~allowed[rows]

    def pair_index(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return (
            hh_index[frame["household_id"].to_numpy()].to_numpy(),
            code_index[frame["municipality"].to_numpy()].to_numpy(),
        )

    for table in (inst.allowed, inst.scores):
        if table is not None and len(table):
            restricted = np.zeros(H, dtype=bool)
            restricted[hh_index[table["household_id"].to_numpy()].to_numpy()] = True
            named = table[table["municipality"].notna()]  # empty: compatible with nothing
            h, m = pair_index(named)
            listed = np.zeros((H, M), dtype=bool)
            listed[h, m] = True
            allowed[restricted] &= listed[restricted]
    if inst.forbidden is not None and len(inst.forbidden):
        h, m = pair_index(inst.forbidden)
        allowed[h, m] = False
    lock = np.full(H, -1, dtype=np.int64)
    unlocked = allowed.copy()
    if inst.locks is not None and len(inst.locks):
        h, m = pair_index(inst.locks)
        lock[h] = m
        allowed[h] = False
        allowed[h, m] = True
    return Compatibility(allowed, lock, by_criterion, unlocked)


def prepare_placement(
    inst: Instance, run: RunConfig, placement: PlacementConfig | None = None
) -> PlacementData:
    """Turn a validated instance and a run configuration into :class:`PlacementData`
    (``placement``: a placement section in place of ``run.placement``, e.g. a weekly
    batch's; the quota schemes and the labour model are the run's)."""
    config = run.placement if placement is None else placement
    schemes = run.schemes
    labour = labour_model(run.labour.coefficients)
    target, scheme = placement_targets(inst, config, schemes)
    config = effective_config(config, scheme)
    hh, muni, sites = inst.households, inst.municipalities, inst.sites
    located = "lat" in muni and "lon" in muni
    if located:
        lat, lon = muni["lat"].to_numpy(float), muni["lon"].to_numpy(float)
        muni_distance = haversine_km(lat, lon, lat, lon)
    else:  # no coordinates: a tie holds to its own municipality only, no distance cost
        muni_distance = np.where(np.eye(len(muni), dtype=bool), 0.0, np.inf)
    code_index = pd.Series(np.arange(len(muni)), index=muni["code"].to_numpy())

    if inst.scores is not None and len(inst.scores):
        score = np.zeros((len(hh), len(muni)))
        h = pd.Series(np.arange(len(hh)), index=hh["household_id"].to_numpy())
        score[
            h[inst.scores["household_id"].to_numpy()].to_numpy(),
            code_index[inst.scores["municipality"].to_numpy()].to_numpy(),
        ] = inst.scores["score"].to_numpy(float)
    elif inst.members is not None:
        p = outcome_probabilities(inst.members, muni, inst.predictions, labour)
        score = household_scores(hh, inst.members, p, config.aggregation)
    else:
        score = np.zeros((len(hh), len(muni)))

    if len(sites):
        site_muni = code_index[sites["municipality"].to_numpy()].to_numpy()
        site_row = pd.Series(np.arange(len(sites)), index=sites["site_id"].to_numpy())
        site_of = site_row.reindex(hh["site_id"].to_numpy()).fillna(-1).to_numpy(np.int64)
        site_distance = muni_distance[site_muni] if located else np.zeros((len(sites), len(muni)))
        level = config.coa_region_level
        if level in muni:
            region = muni[level].to_numpy()
            site_leaves = region[site_muni][:, None] != region[None, :]
        else:
            site_leaves = np.zeros_like(site_distance, dtype=bool)
    else:
        site_of = np.full(len(hh), -1, dtype=np.int64)
        site_distance = np.zeros((0, len(muni)))
        site_leaves = np.zeros((0, len(muni)), dtype=bool)

    compatible = allowed_pairs(inst, muni_distance)
    capacity, dimensions, need = _capacities(inst, code_index)
    regions, region_index = _region_rows(muni, target, config)
    previous = np.full(len(hh), -1, dtype=np.int64)
    plan = inst.previous_plan
    if plan is not None and len(plan):
        row = pd.Series(np.arange(len(hh)), index=hh["household_id"].to_numpy())
        placed = plan[plan["municipality"].notna() & plan["household_id"].isin(row.index)]
        previous[row[placed["household_id"].to_numpy()].to_numpy()] = code_index[
            placed["municipality"].to_numpy()
        ].to_numpy()
    return PlacementData(
        config=config,
        household_ids=hh["household_id"].to_numpy(),
        persons=hh["persons"].to_numpy(np.int64),
        municipality_codes=muni["code"].to_numpy(),
        municipality_names=muni["name"].to_numpy(),
        score=score,
        site_of=site_of,
        site_distance_km=site_distance,
        site_leaves=site_leaves,
        allowed=compatible.allowed,
        lock=compatible.lock,
        previous=previous,
        by_criterion=compatible.by_criterion,
        unlocked=compatible.unlocked,
        target=target,
        capacity=capacity,
        capacity_dimensions=dimensions,
        need=need,
        regions=regions,
        region_index=region_index,
        bounded_parts=[
            PartBoundRow(name, bound.lower, bound.upper)
            for name, bound in sorted(config.part_bounds.items())
        ],
        labour=labour,
        scheme=scheme,
        group_floors=_group_floor_rows(inst, config, labour),
    )


def _group_floor_rows(
    inst: Instance, config: PlacementConfig, labour: LabourModel
) -> list[GroupFloorRow]:
    """The configured group floors with each group's expected employed members per pair
    (the members' probabilities of the run's one model; checked: the instance has
    members and no scores table)."""
    p = run_probabilities(inst, labour)
    if not config.group_floors or inst.members is None or p is None:
        return []
    groups = sorted(config.group_floors)
    found = group_expectations(inst.households, inst.members, p, groups)
    return [
        GroupFloorRow(g.group, g.members, float(config.group_floors[g.group]), g.expected)
        for g in found
    ]


def _capacities(
    inst: Instance, code_index: pd.Series
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Capacity per dimension and municipality (K x M, inf where a municipality has no
    row), the dimensions' names, and every household's need in each (H x K)."""
    needs = household_needs(inst)
    dimensions = tuple(str(name) for name in needs.columns)
    capacity = capacity_matrix(inst, list(code_index.index), list(dimensions))
    return capacity, dimensions, needs.to_numpy(dtype=float).reshape(len(needs), len(dimensions))


def _region_rows(
    muni: pd.DataFrame, target: np.ndarray | None, config: PlacementConfig
) -> tuple[list[RegionRow], dict[str, np.ndarray]]:
    rows: list[RegionRow] = []
    index: dict[str, np.ndarray] = {}
    if not config.region_bands:
        return rows, index
    # checked before building (asielplan.model.checks): a taakstelling and known levels
    assert target is not None, "region bands need a taakstelling"
    for band in config.region_bands:
        codes = muni[band.level].to_numpy()
        level_rows = np.full(len(muni), -1, dtype=np.int64)
        for code in sorted(set(codes)):
            members = codes == code
            total = int(target[members].sum())
            level_rows[members] = len(rows)
            rows.append(
                RegionRow(
                    band.level,
                    str(code),
                    members,
                    total,
                    int(np.floor(band.lower * total)),
                    int(np.ceil(band.upper * total)),
                )
            )
        index[band.level] = level_rows
    return rows, index


# --------------------------------------------------------------------------- model


@dataclass
class Pairs:
    """The candidate set :math:`P`: parallel arrays of household and municipality index."""

    h: np.ndarray
    m: np.ndarray

    def __len__(self) -> int:
        return len(self.h)


Terms = list[tuple[str, np.ndarray, np.ndarray]]  # (component, row key, coefficient)


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


def assignment_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    return [("assign", h, np.ones(len(h)))]


def add_assignment(model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
    """Each household is placed exactly once (or at most once), never split.

    .. math::

        \\sum_{m:(h,m)\\in P} x_{hm} + u_h = 1 \\quad \\forall h \\in H

    with :math:`u_h \\ge 0` the unplaced indicator, present only when
    ``assignment='at_most_once'`` (or in the elastic model). Since :math:`x` is binary,
    a household goes whole to one municipality.
    """
    open_ended = d.config.assignment == "at_most_once" or elastic
    if open_ended:
        model.unplaced = pyo.Var(range(d.n_households), domain=pyo.NonNegativeReals, bounds=(0, 1))
    xs = list(model.x.values())
    ((_, keys, coefs),) = assignment_terms(d, pairs.h, pairs.m)
    body = {}
    for h, idx in _grouped(keys, d.n_households):
        extra = [(1.0, model.unplaced[h])] if open_ended else []
        body[h] = _linear(xs, idx, coefs[idx], extra)
    model.assign = pyo.Constraint(
        range(d.n_households), rule=lambda mdl, h: _row(mdl, body, h, 1, 1)
    )


def taakstelling_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    if d.target is None:
        return []
    return [("target", m, d.persons[h].astype(float))]


def add_taakstelling(
    model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool
) -> None:
    """Municipal taakstelling, in persons: a penalised target (soft) or a band (hard).

    Soft (default), with shortfall :math:`s^-_m` and excess :math:`s^+_m`:

    .. math:: \\sum_{h} n_h x_{hm} + s^-_m - s^+_m = T_m \\quad \\forall m

    Band: :math:`\\lfloor \\ell T_m \\rfloor - b \\le \\sum_h n_h x_{hm} \\le
    \\lceil u T_m \\rceil + b` with shares :math:`\\ell, u` and slack :math:`b` persons
    (households are whole). In the elastic model the band gets penalised slacks.
    """
    if d.target is None:
        return
    M = d.n_municipalities
    xs = list(model.x.values())
    ((_, keys, coefs),) = taakstelling_terms(d, pairs.h, pairs.m)
    soft = d.config.target_mode == "soft"
    if soft or elastic:
        model.short = pyo.Var(range(M), domain=pyo.NonNegativeReals)
        model.excess = pyo.Var(range(M), domain=pyo.NonNegativeReals)
    lower, upper = band_limits(d)
    body = {}
    for m, idx in _grouped(keys, M):
        extra = [(1.0, model.short[m]), (-1.0, model.excess[m])] if soft or elastic else []
        body[m] = _linear(xs, idx, coefs[idx], extra)

    def rule(mdl: Any, m: int) -> Any:
        if soft:
            target = float(d.target[m])  # type: ignore[index]
            return _row(mdl, body, m, target, target)
        return _row(mdl, body, m, float(lower[m]), float(upper[m]))

    model.target = pyo.Constraint(range(M), rule=rule)


def band_limits(d: PlacementData) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper persons per municipality in band mode."""
    assert d.target is not None
    c = d.config
    lower = np.maximum(np.floor(c.band_lower * d.target) - c.band_slack_persons, 0)
    upper = np.ceil(c.band_upper * d.target) + c.band_slack_persons
    return lower, upper


def capacity_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    """Entries in ``capacity`` rows, one per dimension :math:`k`, keyed
    :math:`k M + m` (a municipality unbounded in a dimension has no row)."""
    M = d.n_municipalities
    return [
        ("capacity", k * M + m, d.need[h, k])
        for k in range(len(d.capacity_dimensions))
        if np.isfinite(d.capacity[k]).any()
    ]


def add_capacity(model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
    """Capacity of a location in each of its dimensions, where the instance gives one
    (``capacities``): persons, cases, or a named dimension whose need per household
    :math:`q_{hk}` the ``needs`` table gives (:math:`q_{h,\\mathrm{persons}} = n_h`,
    :math:`q_{h,\\mathrm{cases}} = 1`).

    .. math:: \\sum_h q_{hk} x_{hm} \\le K_{km} \\; (+\\, o_{km} \\text{ elastic}) \\quad
        \\forall k, m : K_{km} < \\infty
    """
    flat = d.capacity.ravel()
    rows = np.flatnonzero(np.isfinite(flat))
    if not len(rows):
        return
    xs = list(model.x.values())
    if elastic:
        model.over_capacity = pyo.Var(rows.tolist(), domain=pyo.NonNegativeReals)
    terms = capacity_terms(d, pairs.h, pairs.m)
    keys = np.concatenate([k for _, k, _ in terms])
    coefs = np.concatenate([c for _, _, c in terms])
    positions = np.tile(np.arange(len(pairs)), len(terms))
    enters = coefs != 0
    keys, coefs, positions = keys[enters], coefs[enters], positions[enters]
    body = {}
    for key, idx in _grouped(keys, len(flat)):
        if np.isfinite(flat[key]):
            extra = [(-1.0, model.over_capacity[key])] if elastic else []
            body[key] = _linear(xs, positions[idx], coefs[idx], extra)
    model.capacity = pyo.Constraint(
        rows.tolist(), rule=lambda mdl, key: _row(mdl, body, key, None, float(flat[key]))
    )


def region_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    coef = d.persons[h].astype(float)
    return [("region", d.region_index[level][m], coef) for level in d.region_index]


def add_region_bands(
    model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool
) -> None:
    """Regional totals within bands, for every configured region level.

    .. math:: L_r \\le \\sum_{m \\in r} \\sum_h n_h x_{hm} \\le U_r \\quad \\forall r,

    with :math:`L_r = \\lfloor \\ell_r T_r \\rfloor`, :math:`U_r = \\lceil u_r T_r \\rceil`
    and :math:`T_r = \\sum_{m\\in r} T_m`. The elastic model adds penalised slacks.
    """
    if not d.regions:
        return
    R = len(d.regions)
    xs = list(model.x.values())
    if elastic:
        model.region_short = pyo.Var(range(R), domain=pyo.NonNegativeReals)
        model.region_excess = pyo.Var(range(R), domain=pyo.NonNegativeReals)
    terms = region_terms(d, pairs.h, pairs.m)  # one entry per level
    keys = np.concatenate([k for _, k, _ in terms])
    coefs = np.concatenate([c for _, _, c in terms])
    positions = np.tile(np.arange(len(pairs)), len(terms))
    body = {}
    for r, idx in _grouped(keys, R):
        extra = [(1.0, model.region_short[r]), (-1.0, model.region_excess[r])] if elastic else []
        body[r] = _linear(xs, positions[idx], coefs[idx], extra)
    model.region = pyo.Constraint(
        range(R),
        rule=lambda mdl, r: _row(
            mdl, body, r, float(d.regions[r].lower), float(d.regions[r].upper)
        ),
    )


def add_locks(model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool) -> None:
    """A planner's lock fixes a household to a municipality.

    .. math:: x_{h\\lambda(h)} = 1 \\quad \\forall h \\text{ with a lock } \\lambda(h)

    (the compatibility family already leaves only that pair for the household).
    """
    locked = np.flatnonzero(d.lock >= 0)
    if not len(locked):
        return
    position = {(int(h), int(m)): k for k, (h, m) in enumerate(zip(pairs.h, pairs.m, strict=True))}
    model.lock = pyo.Constraint(
        locked.tolist(), rule=lambda mdl, h: mdl.x[position[(int(h), int(d.lock[h]))]] == 1
    )


def part_bound_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    """Entries in ``part_bound`` rows: a pair's quantity of each bounded pair-linear part."""
    return [
        ("part_bound", np.full(len(h), k), d.pair_part(row.part, h, m))
        for k, row in enumerate(d.bounded_parts)
        if row.part in PAIR_PARTS
    ]


def group_floor_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    """Entries in ``group`` rows: a pair's expected employed members of each group."""
    return [
        ("group", np.full(len(h), k), row.expected[h, m]) for k, row in enumerate(d.group_floors)
    ]


def add_group_floors(
    model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool
) -> None:
    r"""Floors on groups' mean employment probability (``placement.group_floors``), as
    expected employed members of the group :math:`G` (:mod:`asielplan.model.groups`):

    .. math:: \sum_{(h,m)\in P} e^G_{hm} x_{hm} \ge \underline{p}_G \, |G|

    with :math:`e^G_{hm} = \sum_{i \in h \cap G} p_{im}` and :math:`|G|` the group's
    adult members (an unplaced member counts 0). The row's dual is what one more
    expected employed member of the group is worth. In the elastic model the row may
    fall short at a penalised cost (``group_short``).
    """
    if not d.group_floors:
        return
    K = range(len(d.group_floors))
    xs = list(model.x.values())
    everyone = np.arange(len(pairs))
    extra: dict[int, list[tuple[float, Any]]] = {k: [] for k in K}
    if elastic:
        model.group_short = pyo.Var(K, domain=pyo.NonNegativeReals)
        extra = {k: [(1.0, model.group_short[k])] for k in K}
    coefs = [c for _, _, c in group_floor_terms(d, pairs.h, pairs.m)]
    body = {k: _linear(xs, everyone, coefs[k], extra[k]) for k in K}
    lower = [row.lower for row in d.group_floors]
    model.group = pyo.Constraint(K, rule=lambda mdl, k: _row(mdl, body, k, lower[k], None))


def add_part_bounds(
    model: pyo.ConcreteModel, d: PlacementData, pairs: Pairs, elastic: bool
) -> None:
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
    if not d.bounded_parts:
        return
    K = range(len(d.bounded_parts))
    lower = [row.lower for row in d.bounded_parts]
    upper = [row.upper for row in d.bounded_parts]
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
    xs = list(model.x.values())
    everyone = np.arange(len(pairs))
    nobody = np.zeros(0, dtype=np.int64)
    pair_rows = [k for k, row in enumerate(d.bounded_parts) if row.part in PAIR_PARTS]
    coefs = dict(
        zip(pair_rows, (c for _, _, c in part_bound_terms(d, pairs.h, pairs.m)), strict=True)
    )
    body = {}
    for k, row in enumerate(d.bounded_parts):
        extra: list[tuple[float, Any]] = [(-1.0, model.part_value[k])]
        if k in coefs:
            body[k] = _linear(xs, everyone, coefs[k], extra)
        elif row.part in TARGET_GAPS:
            slacks = [model.short, model.excess]
            if row.part != "deviation":
                slacks = [model.short if row.part == "shortfall" else model.excess]
            terms = [(1.0, v) for slack in slacks for v in slack.values()]
            body[k] = _linear(xs, nobody, nobody, terms + extra)
        else:  # unplaced
            persons = [(float(d.persons[h]), v) for h, v in model.unplaced.items()]
            body[k] = _linear(xs, nobody, nobody, persons + extra)
    model.part_bound = pyo.Constraint(K, rule=lambda _, k: body[k] == 0)


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
    """The slack variables of the elastic model with the persons one unit of each
    stands for: unplaced households (when every household must be placed), the band of
    the taakstelling, capacities, regional bands and bounded parts. Empty for a model
    built without ``elastic``."""
    out: list[tuple[Any, float]] = []
    if d.config.assignment == "exactly_once" and hasattr(model, "unplaced"):
        out += [(var, float(d.persons[h])) for h, var in model.unplaced.items()]
    names = [
        "over_capacity",
        "region_short",
        "region_excess",
        "part_short",
        "part_excess",
        "group_short",
    ]
    if not d.soft_targets:
        names = ["short", "excess", *names]
    for name in names:
        if hasattr(model, name):
            out += [(var, 1.0) for var in getattr(model, name).values()]
    return out


FAMILIES = (
    add_assignment,
    add_taakstelling,
    add_capacity,
    add_region_bands,
    add_locks,
    add_part_bounds,
    add_group_floors,
)
TERMS = (
    assignment_terms,
    taakstelling_terms,
    capacity_terms,
    region_terms,
    part_bound_terms,
    group_floor_terms,
)


def row_counts(d: PlacementData) -> dict[str, int]:
    """How many rows (keys) each row component of the pair columns can have."""
    return {
        "assign": d.n_households,
        "target": d.n_municipalities,
        "capacity": len(d.capacity_dimensions) * d.n_municipalities,
        "region": len(d.regions),
        "part_bound": len(d.bounded_parts),
        "group": len(d.group_floors),
    }


def build_placement_model(
    d: PlacementData, pairs: Pairs, *, relax: bool = False, elastic: bool = False
) -> pyo.ConcreteModel:
    """The placement model over candidate pairs ``pairs``.

    ``relax`` makes :math:`x` continuous (the LP relaxation); ``elastic`` softens every
    hard constraint with penalised slacks, for the infeasibility diagnosis.
    """
    model = pyo.ConcreteModel(name="placement")
    model.empty_infeasible_rows = 0
    model.x = pyo.Var(
        range(len(pairs)), domain=pyo.NonNegativeReals if relax else pyo.Binary, bounds=(0, 1)
    )
    for add_family in FAMILIES:
        add_family(model, d, pairs, elastic)
    add_objective(model, d, pairs, elastic)
    return model


CHUNK = 2048  # households whose pairs are built at once (CHUNK x municipalities pairs)


def household_chunks(n_households: int) -> Iterator[np.ndarray]:
    """The household indices in consecutive blocks of :data:`CHUNK`: arrays over all
    (household, municipality) pairs are built a block at a time."""
    for start in range(0, n_households, CHUNK):
        yield np.arange(start, min(start + CHUNK, n_households))


def pair_terms(d: PlacementData, h: np.ndarray, m: np.ndarray) -> Terms:
    """All (component, row key, coefficient) entries of the columns of pairs (h, m)."""
    out: Terms = []
    for terms in TERMS:
        out += terms(d, h, m)
    return out


# --------------------------------------------------------------------------- read back


def placed_persons(d: PlacementData, assignment: np.ndarray) -> np.ndarray:
    """Persons placed per municipality by an assignment (-1 = unplaced)."""
    placed = assignment >= 0
    return np.bincount(
        assignment[placed], weights=d.persons[placed], minlength=d.n_municipalities
    ).astype(np.int64)


def capacity_used(d: PlacementData, assignment: np.ndarray) -> np.ndarray:
    """Units of every capacity dimension an assignment uses per municipality (K x M)."""
    placed = np.flatnonzero(assignment >= 0)
    used = np.zeros((len(d.capacity_dimensions), d.n_municipalities))
    for k in range(len(d.capacity_dimensions)):
        used[k] = np.bincount(
            assignment[placed], weights=d.need[placed, k], minlength=d.n_municipalities
        )
    return used


def part_quantities(d: PlacementData, assignment: np.ndarray) -> dict[str, float]:
    """The quantity of every objective part of the model (:meth:`PlacementData.parts`)
    for an integral assignment (-1 = unplaced), in the part's unit."""
    h = np.flatnonzero(assignment >= 0)
    m = assignment[h]
    out = {part: float(d.pair_part(part, h, m).sum()) for part in d.pair_parts()}
    if d.soft_targets:
        assert d.target is not None
        placed = placed_persons(d, assignment)
        out["shortfall"] = float(np.clip(d.target - placed, 0, None).sum())
        out["excess"] = float(np.clip(placed - d.target, 0, None).sum())
    if d.config.assignment == "at_most_once":
        out["unplaced"] = float(d.persons[assignment < 0].sum())
    return out


def bound_unit(name: str) -> str:
    """The unit of a boundable quantity."""
    return PARTS[SUMS_OF_PARTS.get(name, (name,))[0]].unit


def bounded_quantities(d: PlacementData, assignment: np.ndarray) -> dict[str, float]:
    """The quantity of every bounded part (``placement.part_bounds``) of an assignment,
    the sums of parts (:data:`SUMS_OF_PARTS`) included."""
    quantities = part_quantities(d, assignment)
    for name, parts in SUMS_OF_PARTS.items():
        if all(part in quantities for part in parts):
            quantities[name] = sum(quantities[part] for part in parts)
    return quantities


def part_contributions(d: PlacementData, quantities: dict[str, float]) -> dict[str, float]:
    """What each part adds to the objective (maximisation sense): sign x weight x
    quantity; the ``violation`` of the elastic model weighs ``ELASTIC_PENALTY``."""
    out = {}
    for part, quantity in quantities.items():
        if part == VIOLATION:
            out[part] = -ELASTIC_PENALTY * quantity
        else:
            out[part] = PARTS[part].sign * d.weight(part) * quantity + 0.0
    return out


def capacity_label(d: PlacementData, k: int, m: int) -> str:
    """The name of capacity row (k, m): the municipality code, and the dimension unless
    it is persons (``GM0363``, ``L1 (cases)``)."""
    dimension = d.capacity_dimensions[k]
    code = str(d.municipality_codes[m])
    return code if dimension == "persons" else f"{code} ({dimension})"


def violation_persons(d: PlacementData, assignment: np.ndarray) -> float:
    """Persons (units, for a capacity dimension) by which an assignment breaks the hard
    constraints the elastic model softens (each counted as the elastic model's slacks
    count it)."""
    placed = placed_persons(d, assignment)
    total = 0.0
    if d.config.assignment == "exactly_once":
        total += float(d.persons[assignment < 0].sum())
    if d.target is not None and d.config.target_mode == "band":
        lower, upper = band_limits(d)
        total += float(
            np.clip(lower - placed, 0, None).sum() + np.clip(placed - upper, 0, None).sum()
        )
    over = np.clip(capacity_used(d, assignment) - d.capacity, 0, None)
    total += float(over.sum())
    for region in d.regions:
        value = placed[region.members].sum()
        total += float(max(region.lower - value, 0) + max(value - region.upper, 0))
    quantities = bounded_quantities(d, assignment)
    for row in d.bounded_parts:
        q = quantities[row.part]
        total += max((row.lower if row.lower is not None else q) - q, 0.0)
        total += max(q - (row.upper if row.upper is not None else q), 0.0)
    for floor, value in zip(d.group_floors, group_floor_values(d, assignment), strict=True):
        total += max(floor.lower - value, 0.0)
    return total


def group_floor_values(d: PlacementData, assignment: np.ndarray) -> list[float]:
    """Expected employed members of each floored group under ``assignment``."""
    h = np.flatnonzero(assignment >= 0)
    return [float(row.expected[h, assignment[h]].sum()) for row in d.group_floors]


def evaluate_assignment(d: PlacementData, assignment: np.ndarray, *, elastic: bool) -> float:
    """Objective value (maximisation sense) of an integral assignment, recomputed from the
    formulation: the sum of its parts' contributions (and, in the elastic model, the
    penalised violations)."""
    quantities = part_quantities(d, assignment)
    if elastic:
        quantities[VIOLATION] = violation_persons(d, assignment)
    return float(sum(part_contributions(d, quantities).values()))


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
    objective change equals ``evaluate_assignment`` after the move minus before."""
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
    used = capacity_used(d, assignment)
    for k in range(len(d.capacity_dimensions)):
        into = used[k][None, :] + d.need[rows, k][:, None] > d.capacity[k][None, :] + 1e-9
        mark(into, MOVE_CAPACITY)
    arriving = placed[None, :] + n[:, None]
    if d.target is not None and d.config.target_mode == "band":
        lower, upper = band_limits(d)
        leaving_short = has & (placed[here] - n < lower[here] - 1e-9)
        mark((arriving > upper[None, :] + 1e-9) | leaving_short[:, None], MOVE_BAND)
    totals = np.array([placed[r.members].sum() for r in d.regions], dtype=float)
    lower_r = np.array([r.lower for r in d.regions], dtype=float)
    upper_r = np.array([r.upper for r in d.regions], dtype=float)
    for index in d.region_index.values():  # one region row per municipality and level
        crosses = index[None, :] != np.where(has, index[here], -1)[:, None]
        into = totals[index][None, :] + n[:, None] > upper_r[index][None, :] + 1e-9
        out_of = has & (totals[index[here]] - n < lower_r[index[here]] - 1e-9)
        mark(crosses & (into | out_of[:, None]), MOVE_REGION)
    if d.bounded_parts or d.group_floors:
        part, floor = _breaks_bound_rows(d, assignment, rows, placed)
        mark(part, MOVE_PART_BOUND)
        mark(floor, MOVE_GROUP_FLOOR)
    # last: a move blocked by nothing but the household's lock (what the lock costs)
    mark((d.lock[rows] >= 0)[:, None] & ~same, MOVE_LOCKED)
    return SingleMoves(rows, delta, value_change, penalty_change, blocked)


def target_gap(name: str, placed: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Persons below (shortfall), above (excess) or off (deviation) the target."""
    if name == "shortfall":
        return np.clip(target - placed, 0, None)
    if name == "excess":
        return np.clip(placed - target, 0, None)
    return np.abs(target - placed)


@dataclass(frozen=True)
class BoundRows:
    """The rows a single move can break beyond capacity and bands: every bounded part
    (``placement.part_bounds``, in name order), then every group floor, with their
    bounds (-inf / inf when open) and their values under an assignment."""

    lower: np.ndarray
    upper: np.ndarray
    now: np.ndarray
    is_floor: np.ndarray  # bool: a group floor, not a bounded part

    def __len__(self) -> int:
        return len(self.now)


def bound_rows(d: PlacementData, assignment: np.ndarray) -> BoundRows:
    """The bounded parts and group floors of ``d`` with their values under ``assignment``."""
    quantities = bounded_quantities(d, assignment) if d.bounded_parts else {}
    lower = [-np.inf if row.lower is None else row.lower for row in d.bounded_parts]
    upper = [np.inf if row.upper is None else row.upper for row in d.bounded_parts]
    now = [quantities[row.part] for row in d.bounded_parts]
    lower += [floor.lower for floor in d.group_floors]
    upper += [np.inf] * len(d.group_floors)
    now += group_floor_values(d, assignment)
    is_floor = np.arange(len(now)) >= len(d.bounded_parts)
    return BoundRows(np.array(lower), np.array(upper), np.array(now, dtype=float), is_floor)


def bound_row_changes(
    d: PlacementData, h: np.ndarray, src: np.ndarray, dst: np.ndarray, placed: np.ndarray
) -> np.ndarray:
    """How each row of :func:`bound_rows` changes when household ``h`` alone moves from
    ``src`` (-1: unplaced) to ``dst``, the others placed as in ``placed`` (persons per
    municipality): an array (rows x moves)."""
    has = src >= 0
    here = np.maximum(src, 0)
    n = d.persons[h].astype(float)
    changes = []
    for row in d.bounded_parts:
        if row.part in PAIR_PARTS:
            now = np.where(has, d.pair_part(row.part, h, here), 0.0)
            changes.append(d.pair_part(row.part, h, dst) - now)
        elif row.part in TARGET_GAPS:
            assert d.target is not None
            t = d.target.astype(float)
            gap = row.part
            to = target_gap(gap, placed[dst] + n, t[dst]) - target_gap(gap, placed[dst], t[dst])
            leave = target_gap(gap, placed[here] - n, t[here]) - target_gap(
                gap, placed[here], t[here]
            )
            changes.append(to + np.where(has, leave, 0.0))
        else:  # unplaced: a placed household stays placed; an unplaced one is placed
            changes.append(np.where(has, 0.0, -n))
    for floor in d.group_floors:
        now = np.where(has, floor.expected[h, here], 0.0)
        changes.append(floor.expected[h, dst] - now)
    return np.array(changes).reshape(len(changes), len(h))


def _breaks_bound_rows(
    d: PlacementData, assignment: np.ndarray, rows: np.ndarray, placed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which single moves of ``rows`` (rows x municipalities) take a bounded part out
    of its bounds, and which take a group below its floor."""
    M = d.n_municipalities
    bounds = bound_rows(d, assignment)
    h = np.repeat(rows, M)
    dst = np.tile(np.arange(M), len(rows))
    changes = bound_row_changes(d, h, assignment[h], dst, placed.astype(float))
    after = bounds.now[:, None] + changes
    broken = (after < bounds.lower[:, None] - 1e-9) | (after > bounds.upper[:, None] + 1e-9)
    broken = broken.reshape(len(bounds), len(rows), M)
    part = broken[~bounds.is_floor].any(axis=0)
    floor = broken[bounds.is_floor].any(axis=0)
    return part, floor


def constraint_violations(d: PlacementData, assignment: np.ndarray) -> pd.DataFrame:
    """Every hard constraint the assignment breaks, re-derived from the data.

    Columns: ``family, constraint, bound, value, violation`` (persons). Empty when the
    assignment is feasible. Used for the infeasibility diagnosis and by the tests.
    """
    rows: list[dict[str, Any]] = []
    placed = placed_persons(d, assignment)
    codes = d.municipality_codes
    if d.config.assignment == "exactly_once":
        for h in np.flatnonzero(assignment < 0):
            rows.append(
                dict(
                    family="assignment",
                    constraint=str(d.household_ids[h]),
                    bound="placed = 1",
                    value="unplaced",
                    violation=int(d.persons[h]),
                )
            )
    bad_pair = (assignment >= 0) & ~d.allowed[np.arange(d.n_households), np.maximum(assignment, 0)]
    for h in np.flatnonzero(bad_pair):
        rows.append(
            dict(
                family="compatibility",
                constraint=str(d.household_ids[h]),
                bound="allowed pair",
                value=str(codes[assignment[h]]),
                violation=int(d.persons[h]),
            )
        )
    for h in np.flatnonzero((d.lock >= 0) & (assignment != d.lock)):
        rows.append(
            dict(
                family="lock",
                constraint=str(d.household_ids[h]),
                bound=f"= {codes[d.lock[h]]}",
                value=str(codes[assignment[h]] if assignment[h] >= 0 else "unplaced"),
                violation=int(d.persons[h]),
            )
        )
    if d.target is not None and d.config.target_mode == "band":
        lower, upper = band_limits(d)
        for m in np.flatnonzero((placed < lower) | (placed > upper)):
            below = placed[m] < lower[m]
            rows.append(
                dict(
                    family="taakstelling band",
                    constraint=str(codes[m]),
                    bound=f">= {int(lower[m])}" if below else f"<= {int(upper[m])}",
                    value=str(int(placed[m])),
                    violation=int(lower[m] - placed[m] if below else placed[m] - upper[m]),
                )
            )
    used = capacity_used(d, assignment)
    for k, m in zip(*np.nonzero(used > d.capacity + 1e-9), strict=True):
        rows.append(
            dict(
                family="capacity",
                constraint=capacity_label(d, int(k), int(m)),
                bound=f"<= {int(d.capacity[k, m])}",
                value=f"{used[k, m]:g}",
                violation=int(used[k, m] - d.capacity[k, m]),
            )
        )
    for region in d.regions:
        value = int(placed[region.members].sum())
        if value < region.lower or value > region.upper:
            below = value < region.lower
            rows.append(
                dict(
                    family="region band",
                    constraint=f"{region.level}:{region.code}",
                    bound=f">= {region.lower}" if below else f"<= {region.upper}",
                    value=str(value),
                    violation=region.lower - value if below else value - region.upper,
                )
            )
    if d.bounded_parts:
        quantities = bounded_quantities(d, assignment)
        for row in d.bounded_parts:
            q = quantities[row.part]
            below = row.lower is not None and q < row.lower - 1e-9
            above = row.upper is not None and q > row.upper + 1e-9
            if below or above:
                limit = row.lower if below else row.upper
                assert limit is not None
                rows.append(
                    dict(
                        family="part bound",
                        constraint=f"{row.part} ({bound_unit(row.part)})",
                        bound=f"{'>=' if below else '<='} {limit:g}",
                        value=f"{q:g}",
                        violation=abs(q - limit),
                    )
                )
    for floor, reached in zip(d.group_floors, group_floor_values(d, assignment), strict=True):
        if reached < floor.lower - 1e-9:
            rows.append(
                dict(
                    family="group floor",
                    constraint=f"{GROUP_LABELS[floor.group]} (expected employed members)",
                    bound=f">= {floor.lower:.4g}",
                    value=f"{reached:.4g}",
                    violation=floor.lower - reached,
                )
            )
    return pd.DataFrame(rows, columns=["family", "constraint", "bound", "value", "violation"])
