"""Status-holder placement (koppeling): the data of the mixed-integer model.

Households :math:`h \\in H` (persons :math:`n_h`) go to municipalities :math:`m \\in M`
through pair variables :math:`x_{hm} \\in \\{0,1\\}`, one per pair in the candidate set
:math:`P \\subseteq H \\times M`. This module prepares the model's data
(:func:`prepare_placement`: targets, compatible pairs, capacities, region bands, part
bounds, group floors) and measures an assignment's objective parts; the constraint
families, each described once, and the Pyomo model built from them are in
:mod:`asielplan.model.families`.

The objective is a sum of named parts (:data:`PARTS`: labour, distance, leaving the COA
region, shortfall, excess, unplaced, changes), each a quantity in its own unit times its weight;
:func:`part_quantities` measures them for an assignment, and a part can be bounded by
name (``placement.part_bounds``), which is how trade-off fronts are built.

``docs/formulation/placement.md`` states the same model in LaTeX.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from asielplan.config import PlacementConfig, RegionBand, RunConfig
from asielplan.data.instance import Instance, capacity_matrix, household_needs
from asielplan.model.groups import group_expectations
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

    def target_penalty_change(
        self, m: np.ndarray, placed: np.ndarray, persons: np.ndarray | float
    ) -> np.ndarray:
        """By how much the :meth:`target_penalty` of municipalities ``m`` holding
        ``placed`` persons falls when ``persons`` join them (negative: leave); what a move
        gains on the targets. The one place every move's penalty change is computed."""
        return self.target_penalty(m, placed) - self.target_penalty(m, placed + persons)

    def target_penalty_rows(self, placed: np.ndarray) -> np.ndarray:
        """:meth:`target_penalty` of every municipality for rows of placed persons
        (any shape ending in M)."""
        if self.target is None or self.config.target_mode != "soft":
            return np.zeros(placed.shape)
        return self.config.penalty_shortfall * np.clip(
            self.target - placed, 0, None
        ) + self.config.penalty_excess * np.clip(placed - self.target, 0, None)

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
    if not config.group_floors:
        return []  # before the probabilities: a run without floors does not need them
    p = run_probabilities(inst, labour)
    if inst.members is None or p is None:
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


# --------------------------------------------------------------------------- pairs


@dataclass
class Pairs:
    """The candidate set :math:`P`: parallel arrays of household and municipality index."""

    h: np.ndarray
    m: np.ndarray

    def __len__(self) -> int:
        return len(self.h)


Terms = list[tuple[str, np.ndarray, np.ndarray]]  # (component, row key, coefficient)


def band_limits(d: PlacementData) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper persons per municipality in band mode."""
    assert d.target is not None
    c = d.config
    lower = np.maximum(np.floor(c.band_lower * d.target) - c.band_slack_persons, 0)
    upper = np.ceil(c.band_upper * d.target) + c.band_slack_persons
    return lower, upper


CHUNK = 2048  # households whose pairs are built at once (CHUNK x municipalities pairs)


def household_chunks(n_households: int) -> Iterator[np.ndarray]:
    """The household indices in consecutive blocks of :data:`CHUNK`: arrays over all
    (household, municipality) pairs are built a block at a time."""
    for start in range(0, n_households, CHUNK):
        yield np.arange(start, min(start + CHUNK, n_households))


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


def group_floor_values(d: PlacementData, assignment: np.ndarray) -> list[float]:
    """Expected employed members of each floored group under ``assignment``."""
    h = np.flatnonzero(assignment >= 0)
    return [float(row.expected[h, assignment[h]].sum()) for row in d.group_floors]


def target_gap(name: str, placed: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Persons below (shortfall), above (excess) or off (deviation) the target."""
    if name == "shortfall":
        return np.clip(target - placed, 0, None)
    if name == "excess":
        return np.clip(placed - target, 0, None)
    return np.abs(target - placed)
