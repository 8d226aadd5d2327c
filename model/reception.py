"""Reception planning: asylum seekers in reception sites over time (Problem B).

Where do people stay from arrival until they leave reception, which sites open or
close, which business cases are accepted, and what does it cost in money, moves and
emergency places. ``build_reception_model`` reads like the table of contents of the
formulation (``docs/formulation/reception.md``); each ``add_*`` function adds one
constraint family and states its math.

People are counted per cohort *type* (track, destination region, preferred regions,
the line they leave from: what a constraint or a cost depends on), not per arrival
cohort or household type: the number of each type in the first and the
second line in every period follows from the cohorts' arrival periods and stay times
(:func:`stage_counts`), and the model decides where they stay. The model is a fluid
one: people of a type are interchangeable, so it does not follow one person's path.

Two-stage (robust) planning is the same model over several inflows: site
decisions (``open``, ``start``) are shared, everything else is per inflow, and the
objective weighs the inflows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import ReceptionConfig
from asielplan.data.instance import Instance, ReceptionSpec
from asielplan.data.reception import (
    ARRIVAL,
    EXIT,
    inflows_of,
    preferred_regions,
    reception_cohorts,
    reception_sites,
    transfer_graph,
)
from asielplan.model.schemes import Schemes, compute_scheme

UNHOUSED = "UNHOUSED"  # virtual site: people without a bed (the elastic part)
UNHOUSED_PENALTY = 10_000.0  # per person-night; any use means the plan is infeasible
MIN_OCCUPANCY_PENALTY = 10_000.0  # per missing person-night at a site below its minimum
OPEN, CLOSED, DECIDE = 1, 0, -1


@dataclass
class BusinessCase:
    """A candidate site judged on budget only: cost per place-night against the budget."""

    site_id: str
    capacity: int
    cost_per_place_night: float
    budget: float

    @property
    def eligible(self) -> bool:
        return self.cost_per_place_night <= self.budget + 1e-9


@dataclass
class ReceptionData:
    """Everything the model needs, as plain arrays and tables.

    People are grouped in *classes*: stage 1 is the procedure in the first line (one
    class for AMV, one for everyone else: no rule there depends on the type), stage 2
    the time after it, one class per type k. Arrays use positions; period
    arrays have length ``T + 1`` with index 0 the state before period 1.
    """

    spec: ReceptionSpec
    config: ReceptionConfig
    inflows: list[str]
    weights: dict[str, float]
    sites: pd.DataFrame  # usable sites; the last row is the virtual UNHOUSED site
    cases: list[BusinessCase]
    types: pd.DataFrame  # type_id, track, destination, preferred, exit_line, household_types
    classes: pd.DataFrame  # class_id, type (stage 2; -1 in the procedure), stage, amv
    arrivals: np.ndarray  # [w, c, t] persons arriving into class c in period t
    persons: np.ndarray  # [w, c, t] persons in class c in period t
    exits: np.ndarray  # [w, c, t] persons of class c leaving reception in period t
    promotions: np.ndarray  # [w, k, t] persons of type k moving from stage 1 to 2
    stock: np.ndarray  # [w, c, s] persons at each site before period 1
    graph: nx.DiGraph
    targets: pd.DataFrame  # region, period, target (one row per region and period)
    status: np.ndarray  # [s, t] OPEN, CLOSED or DECIDE (t = 1..T in columns 1..T)
    allowed: list[tuple[int, int]]  # (class, site) pairs that may hold people

    @property
    def periods(self) -> range:
        return range(1, self.spec.periods + 1)

    @property
    def nights(self) -> int:
        return self.spec.nights_per_period

    def procedure_class(self, k: int) -> int | None:
        """The stage-1 class that type k goes through (None without a procedure)."""
        return self._class_of[0].get(k)

    def after_class(self, k: int) -> int | None:
        """The stage-2 class of type k (None when it leaves from the procedure)."""
        return self._class_of[1].get(k)

    def outside_preferred(self, s: int, c: int) -> bool:
        """True when a class in its second stage, whose type has preferred regions,
        stays outside them."""
        return bool(self._outside_preferred[s, c])

    @cached_property
    def _class_of(self) -> tuple[dict[int, int], dict[int, int]]:
        """Per type: its procedure class and its class after the procedure."""
        stage = self.classes["stage"].to_numpy()
        amv = self.classes["amv"].to_numpy()
        kind = self.classes["type"].to_numpy()
        procedure: dict[int, int] = {}
        after: dict[int, int] = {}
        for k, track in enumerate(self.types["track"]):
            first = np.flatnonzero((stage == 1) & (amv == (track == "amv")))
            second = np.flatnonzero((stage == 2) & (kind == k))
            if len(first):
                procedure[k] = int(first[0])
            if len(second):
                after[k] = int(second[0])
        return procedure, after

    @cached_property
    def _outside_preferred(self) -> np.ndarray:
        """[site, class]: a second-stage class with preferred regions at a site outside
        them."""
        region = self.sites["region"].tolist()
        real = (self.sites["site_id"] != UNHOUSED).to_numpy()
        out = np.zeros((len(self.sites), len(self.classes)), dtype=bool)
        for c, (stage, k) in enumerate(
            zip(self.classes["stage"], self.classes["type"], strict=True)
        ):
            preferred = self.types["preferred"].iloc[int(k)] if stage == 2 else ()
            if preferred:
                out[:, c] = real & np.array([r not in preferred for r in region])
        return out


def stage_counts(cohorts: pd.DataFrame, horizon: int) -> dict[str, np.ndarray]:
    """Per cohort row and period t = 0..T: arrivals into stage 1 and into stage 2,
    persons in stage 1 and in stage 2, promotions (stage 1 -> 2) and exits.

    A cohort of p persons arriving in period a with first-line time F and stay L is in
    stage 1 in periods a .. a+F-1, in stage 2 in a+F .. a+L-1, is promoted at the start
    of a+F (when 0 < F < L), and leaves reception at the start of period a+L."""
    t = np.arange(horizon + 1)[None, :]
    a = cohorts["arrival_period"].to_numpy(dtype=int)[:, None]
    f = cohorts["first_line_periods"].to_numpy(dtype=int)[:, None]
    stay = cohorts["stay_periods"].to_numpy(dtype=int)[:, None]
    p = cohorts["persons"].to_numpy(dtype=float)[:, None]
    arrive = (t == a) & (t >= 1)
    return {
        "arrive1": p * (arrive & (f > 0)),
        "arrive2": p * (arrive & (f == 0)),
        "stage1": p * ((t >= a) & (t < a + f)),
        "stage2": p * ((t >= a + f) & (t < a + stay)),
        "promote": p * ((t == a + f) & (f > 0) & (f < stay) & (t >= 1)),
        "exit": p * ((t == a + stay) & (t >= 1)),
    }


def business_cases(sites: pd.DataFrame, spec: ReceptionSpec, budget: float) -> list[BusinessCase]:
    """Regular candidate sites with their cost per place-night: the cost of an occupied
    bed-night plus the fixed cost per period and the opening cost (spread over the
    contract) per available place-night."""
    cases = []
    nights = spec.nights_per_period
    site: Any
    for site in sites.itertuples(index=False):
        if site.state != "candidate" or site.tier != "regular":
            continue
        places = max(int(site.capacity), 1) * nights
        per_night = (
            float(site.cost_per_night)
            + float(site.fixed_cost) / places
            + float(site.opening_cost) / (places * int(site.contract_periods))
        )
        cases.append(
            BusinessCase(str(site.site_id), int(site.capacity), round(per_night, 6), budget)
        )
    return cases


def prepare_reception(
    inst: Instance,
    config: ReceptionConfig,
    inflows: list[str] | None = None,
    schemes: Schemes | None = None,
) -> ReceptionData:
    """Turn a validated instance into model data for the given inflows (default:
    ``config.inflow``, or the first inflow of the cohorts table)."""
    spec = inst.meta.reception
    # checked before (asielplan.model.checks): [reception], cohorts, a known inflow
    assert spec is not None and inst.cohorts is not None, "reception needs cohorts"
    known = inflows_of(inst)
    if inflows is None:
        inflows = [config.inflow or known[0]]
    assert set(inflows) <= set(known), f"unknown inflow in {inflows}"
    budget = spec.budget_per_night or spec.average_cost_price
    all_sites = reception_sites(inst)
    cases = business_cases(all_sites, spec, budget)
    rejected = {c.site_id for c in cases if not c.eligible}
    sites = all_sites[~all_sites["site_id"].isin(list(rejected))].reset_index(drop=True)
    sites = pd.concat([sites, _unhoused_row(sites)], ignore_index=True)

    cohorts = reception_cohorts(inst)
    cohorts["preferred"] = cohorts["preferred"].map(preferred_regions)
    cohorts["destination"] = cohorts["destination"].fillna("")
    cohorts["exit_line"] = np.where(
        cohorts["stay_periods"] > cohorts["first_line_periods"], "second", "first"
    )
    key = ["track", "destination", "preferred", "exit_line"]
    types = cohorts[key].drop_duplicates().sort_values(key, key=_sort_key).reset_index(drop=True)
    types.insert(0, "type_id", [f"K{i + 1:02d}" for i in range(len(types))])
    type_of = {row: i for i, row in enumerate(types[key].itertuples(index=False, name=None))}
    cohorts["type"] = [type_of[tuple(row[key])] for _, row in cohorts.iterrows()]
    types["household_types"] = [
        ";".join(sorted(set(cohorts.loc[cohorts["type"] == k, "household_type"])))
        for k in range(len(types))
    ]

    horizon = spec.periods
    counts = stage_counts(cohorts, horizon)
    k_of_row = cohorts["type"].to_numpy()
    amv_type = (types["track"] == "amv").to_numpy()
    in_procedure = (cohorts["first_line_periods"] > 0).to_numpy()
    after_procedure = (cohorts["stay_periods"] > cohorts["first_line_periods"]).to_numpy()
    # stage 1: one class per AMV flag (no rule in the procedure depends on the type);
    # stage 2: one class per type
    class_rows: list[tuple[int, int, bool]] = [
        (-1, 1, flag)
        for flag in (False, True)
        if (in_procedure & (amv_type[k_of_row] == flag)).any()
    ]
    class_rows += [
        (k, 2, bool(amv_type[k])) for k in range(len(types)) if after_procedure[k_of_row == k].any()
    ]
    classes = pd.DataFrame(class_rows, columns=["type", "stage", "amv"])
    classes.insert(
        0,
        "class_id",
        [
            ("procedure-amv" if flag else "procedure") if stage == 1 else types["type_id"][k]
            for k, stage, flag in class_rows
        ],
    )
    class_pos = {
        (k if stage == 2 else ("procedure", flag)): c
        for c, (k, stage, flag) in enumerate(class_rows)
    }
    stage_at_start = np.where(cohorts["arrival_period"] + cohorts["first_line_periods"] > 0, 1, 2)
    exit_stage = np.where(cohorts["exit_line"] == "second", 2, 1)

    n_w, n_c, n_s = len(inflows), len(classes), len(sites)
    shape = (n_w, n_c, horizon + 1)
    arrivals, persons, exits = (np.zeros(shape) for _ in range(3))
    promotions = np.zeros((n_w, len(types), horizon + 1))
    stock = np.zeros((n_w, n_c, n_s))
    site_pos = {sid: i for i, sid in enumerate(sites["site_id"])}
    c1 = np.array([class_pos.get(("procedure", bool(amv_type[k])), -1) for k in k_of_row])
    c2 = np.array([class_pos.get(k, -1) for k in k_of_row])
    c_exit = np.where(exit_stage == 2, c2, c1)
    for w, inflow in enumerate(inflows):
        rows = (cohorts["inflow"].isna() | (cohorts["inflow"] == inflow)).to_numpy()
        for target, name, cls in (
            (arrivals, "arrive1", c1),
            (arrivals, "arrive2", c2),
            (persons, "stage1", c1),
            (persons, "stage2", c2),
            (exits, "exit", c_exit),
        ):
            use = rows & (cls >= 0)
            np.add.at(target[w], cls[use], counts[name][use])
        np.add.at(promotions[w], k_of_row[rows], counts["promote"][rows])
        held = rows & (cohorts["arrival_period"] <= 0).to_numpy()
        for i in np.flatnonzero(held):
            c = c1[i] if stage_at_start[i] == 1 else c2[i]
            stock[w, c, site_pos[str(cohorts["site_id"][i])]] += float(cohorts["persons"][i])

    weights = inflow_weights(spec, inflows)

    graph = transfer_graph(spec)
    graph.add_edges_from([(ARRIVAL, UNHOUSED), (UNHOUSED, EXIT)])
    for node in list(graph.nodes):
        if node not in (ARRIVAL, EXIT, UNHOUSED):
            graph.add_edges_from([(node, UNHOUSED), (UNHOUSED, node)])

    procedure = pd.Series({"track": "", "destination": ""})
    allowed = [
        (c, s)
        for c, (k, stage, flag) in enumerate(class_rows)
        for s in range(n_s)
        if _may_hold(types.iloc[k] if stage == 2 else procedure, stage, flag, sites.iloc[s])
        or stock[:, c, s].any()
    ]
    return ReceptionData(
        spec=spec,
        config=config,
        inflows=list(inflows),
        weights=weights,
        sites=sites,
        cases=cases,
        types=types,
        classes=classes,
        arrivals=arrivals,
        persons=persons,
        exits=exits,
        promotions=promotions,
        stock=stock,
        graph=graph,
        targets=(
            scheme_targets(inst, config.target_scheme, persons, schemes)
            if config.target_scheme
            else _expand_targets(inst.region_targets, horizon)
        ),
        status=_site_status(sites, horizon),
        allowed=allowed,
    )


SCHEME_SPLIT = 1_000_000  # a scheme splits this many places; only its regional shares are used


def scheme_targets(
    inst: Instance, name: str, persons: np.ndarray, schemes: Schemes | None = None
) -> pd.DataFrame:
    """Region place targets from quota scheme ``name``: each region's share of the
    scheme's numbers (at ``[reception].region_level``) times the persons in reception in
    each period (the mean over the planned inflows)."""
    spec = inst.meta.reception
    assert spec is not None and spec.region_level is not None
    numbers = compute_scheme(inst, name, SCHEME_SPLIT, schemes).table
    region = inst.municipalities[spec.region_level].astype(str).to_numpy()
    share = numbers.groupby(region)["taakstelling"].sum()
    share = share / share.sum()
    in_reception = persons.sum(axis=1).mean(axis=0)  # [t]
    rows = [
        (str(r), t, round(float(share[r] * in_reception[t]), 6))
        for r in share.index
        for t in range(1, len(in_reception))
    ]
    return pd.DataFrame(rows, columns=["region", "period", "target"])


def inflow_weights(spec: ReceptionSpec, inflows: list[str]) -> dict[str, float]:
    """Weights of the planned inflows, summing to 1: ``[reception].inflow_weights``
    (an inflow it does not name weighs 0), or equal weights when it names none of
    them (e.g. a single inflow)."""
    raw = {w: spec.inflow_weights.get(w, 0.0) for w in inflows}
    total = sum(raw.values())
    if total <= 0:
        return dict.fromkeys(inflows, 1.0 / len(inflows))
    return {w: v / total for w, v in raw.items()}


def _sort_key(column: pd.Series) -> pd.Series:
    return column.map(lambda v: ";".join(v) if isinstance(v, tuple) else str(v))


def _unhoused_row(sites: pd.DataFrame) -> pd.DataFrame:
    row: dict[str, Any] = {column: None for column in sites.columns}
    row.update(
        site_id=UNHOUSED,
        municipality=None,
        modality=UNHOUSED,
        capacity=0,
        line="both",
        tier="unhoused",
        state="open",
        min_occupancy=0,
        cost_per_night=0.0,
        fixed_cost=0.0,
        opening_cost=0.0,
        earliest_open=1,
        contract_periods=1,
        contract_end=10**9,
        takes_amv=1,
        amv_only=0,
        region=None,
    )
    return pd.DataFrame([row])


def _may_hold(kind: pd.Series, stage: int, amv: bool, site: pd.Series) -> bool:
    """Stage 1 in first-line sites, stage 2 in second-line sites (``both`` takes
    either); after the procedure, a type with a destination region stays in that
    region (crisis places anywhere as the last resort); AMV only where the site takes
    them; AMV-only sites take nobody else."""
    if site["site_id"] == UNHOUSED:
        return True
    if site["line"] != "both" and site["line"] != ("first", "second")[stage - 1]:
        return False
    elsewhere = kind["destination"] and site["region"] != kind["destination"]
    if stage == 2 and elsewhere and site["tier"] != "crisis":
        return False
    if amv:
        return bool(site["takes_amv"])
    return not bool(site["amv_only"])


def _site_status(sites: pd.DataFrame, horizon: int) -> np.ndarray:
    """OPEN / CLOSED / DECIDE per site and period (column 0 is before period 1).

    open: open up to its contract end, then decided (it may close, never reopen);
    closing: open up to its contract end, closed after; candidate: closed before its
    earliest period, decided from then on."""
    status = np.full((len(sites), horizon + 1), CLOSED)
    t = np.arange(horizon + 1)
    site: Any
    for s, site in enumerate(sites.itertuples(index=False)):
        if site.state == "candidate":
            status[s] = np.where(t >= int(site.earliest_open), DECIDE, CLOSED)
            status[s, 0] = CLOSED
        elif site.state == "closing":
            status[s] = np.where(t <= int(site.contract_end), OPEN, CLOSED)
        else:
            status[s] = np.where(t <= int(site.contract_end), OPEN, DECIDE)
    return status


def _expand_targets(targets: pd.DataFrame | None, horizon: int) -> pd.DataFrame:
    """One row per (region, period): a target without a period holds in every period."""
    columns = ["region", "period", "target"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=columns)
    rows: list[tuple[str, int, float]] = []
    row: Any
    for row in targets.itertuples(index=False):
        period = getattr(row, "period", None)
        periods = range(1, horizon + 1) if period is None or period != period else [int(period)]
        rows.extend((str(row.region), t, float(row.target)) for t in periods)
    frame = pd.DataFrame(rows, columns=columns)
    return frame.drop_duplicates(["region", "period"], keep="last").reset_index(drop=True)


# --------------------------------------------------------------------------- the model


@dataclass
class Index:
    """Index sets of the model, built once from the data."""

    occupancy: list[tuple[int, int, int, int]]  # (w, c, s, t)
    exits: list[tuple[int, int, int, int]]  # (w, c, s, t) at sites people may leave from
    promote_move: list[tuple[int, int, int, int]]  # (w, c1, s, t) promoted who must move
    promote_stay: list[tuple[int, int, int, int]]  # (w, k, s, t) promoted staying at s
    promote_out: list[tuple[int, int, str, int]]  # (w, k, modality, t) movers by type
    flows: list[tuple[int, int, str, str, int]]  # (w, c, from, to, t) on graph edges
    decide: list[tuple[int, int]]  # (s, t) with an open/close decision
    starts: list[tuple[int, int]]  # (s, t) a candidate may open in
    min_occupancy: list[tuple[int, int, int]]  # (w, s, t)
    targets: list[tuple[int, str, int]]  # (w, region, t)


def model_index(data: ReceptionData) -> Index:
    """The index sets: which (inflow, class, site, period) can hold people, where
    people can leave or be promoted, which graph edges carry which class, which sites
    have decisions."""
    n_w = len(data.inflows)
    periods = list(data.periods)
    modality = data.sites["modality"].astype(str).tolist()
    sites_of: dict[int, list[int]] = defaultdict(list)
    for c, s in data.allowed:
        sites_of[c].append(s)
    occupancy = [(w, c, s, t) for w in range(n_w) for c, s in data.allowed for t in periods]
    exits_from = set()  # classes people leave reception from
    promoted_types: dict[int, list[int]] = defaultdict(list)  # c1 -> types promoted out of it
    for k, line in enumerate(data.types["exit_line"]):
        c1, c2 = data.procedure_class(k), data.after_class(k)
        exit_class = c2 if line == "second" else c1
        if exit_class is not None:
            exits_from.add(exit_class)
        if c1 is not None and c2 is not None:
            promoted_types[c1].append(k)
    exits = [
        (w, c, s, t)
        for w in range(n_w)
        for c, s in data.allowed
        if c in exits_from and data.graph.has_edge(modality[s], EXIT)
        for t in periods
    ]
    promote_move = [
        (w, c1, s, t)
        for w in range(n_w)
        for c1 in sorted(promoted_types)
        for s in sites_of[c1]
        for t in periods
    ]
    promote_stay = []
    promote_out = []
    sources: dict[int, set[str]] = defaultdict(set)  # stage-2 class -> modalities promoted from
    for c1, kinds in sorted(promoted_types.items()):
        here = {modality[s] for s in sites_of[c1]}
        for k in kinds:
            c2 = data.after_class(k)
            assert c2 is not None
            both = sorted(set(sites_of[c1]) & set(sites_of[c2]))
            promote_stay += [(w, k, s, t) for w in range(n_w) for s in both for t in periods]
            promote_out += [
                (w, k, node, t) for w in range(n_w) for node in sorted(here) for t in periods
            ]
            sources[c2] |= here
    flows: list[tuple[int, int, str, str, int]] = []
    for c in range(len(data.classes)):
        held = {modality[s] for s in sites_of[c]}
        start = held | sources[c]
        for u, v in sorted(data.graph.edges):
            if v in held and (u == ARRIVAL or u in start):
                flows.extend((w, c, u, v, t) for w in range(n_w) for t in periods)
    decide = [(int(s), int(t)) for s, t in zip(*np.nonzero(data.status == DECIDE), strict=True)]
    candidates = set(np.flatnonzero(data.sites["state"] == "candidate"))
    min_occupancy = [
        (w, int(s), t)
        for w in range(n_w)
        for s in np.flatnonzero(data.sites["min_occupancy"].to_numpy() > 0)
        for t in periods
        if data.status[s, t] != CLOSED
    ]
    regions = set(data.sites["region"].dropna())
    targets = [
        (w, str(r), int(t))
        for w in range(n_w)
        for r, t in zip(data.targets["region"], data.targets["period"], strict=True)
        if r in regions
    ]
    return Index(
        occupancy=occupancy,
        exits=exits,
        promote_move=promote_move,
        promote_stay=promote_stay,
        promote_out=promote_out,
        flows=flows,
        decide=decide,
        starts=[(s, t) for s, t in decide if s in candidates],
        min_occupancy=min_occupancy,
        targets=targets,
    )


def open_expr(m: pyo.ConcreteModel, data: ReceptionData, s: int, t: int) -> Any:
    """Whether site s is open in period t: a constant, or the decision ``open[s, t]``."""
    state = data.status[s, t]
    return m.open[s, t] if state == DECIDE else float(state == OPEN)


def add_variables(m: pyo.ConcreteModel, data: ReceptionData, idx: Index, relax: bool) -> None:
    """Occupancy ``y``, entries ``inn``, departures ``out`` and exits ``ex`` per
    (inflow, class, site, period); promotions (``pm`` who must move, ``ps`` who stay,
    ``pg`` movers per type and modality); flows ``f`` on the edges of the transfer
    graph; ``open`` and ``start`` decisions; slacks of the soft families."""
    binary = pyo.UnitInterval if relax else pyo.Binary
    nn = pyo.NonNegativeReals
    m.y = pyo.Var(idx.occupancy, within=nn)
    m.inn = pyo.Var(idx.occupancy, within=nn)
    m.out = pyo.Var(idx.occupancy, within=nn)
    m.ex = pyo.Var(idx.exits, within=nn)
    m.pm = pyo.Var(idx.promote_move, within=nn)
    m.ps = pyo.Var(idx.promote_stay, within=nn)
    m.pg = pyo.Var(idx.promote_out, within=nn)
    m.f = pyo.Var(idx.flows, within=nn)
    m.open = pyo.Var(idx.decide, within=binary)
    m.start = pyo.Var(idx.starts, within=binary)
    m.short = pyo.Var(idx.min_occupancy, within=nn)
    m.under = pyo.Var(idx.targets, within=nn)
    m.over = pyo.Var(idx.targets, within=nn)


def _promotion_terms(
    m: pyo.ConcreteModel, data: ReceptionData, idx: Index
) -> tuple[dict[tuple[int, int, int, int], list[Any]], dict[tuple[int, int, int, int], Any]]:
    """Per (w, c, s, t): promotions leaving a stage-1 class, and joining a stage-2 class
    in place."""
    leaving: dict[tuple[int, int, int, int], list[Any]] = defaultdict(list)
    joining: dict[tuple[int, int, int, int], Any] = {}
    for w, c, s, t in idx.promote_move:
        leaving[w, c, s, t].append(m.pm[w, c, s, t])
    for w, k, s, t in idx.promote_stay:
        c1, c2 = data.procedure_class(k), data.after_class(k)
        assert c1 is not None and c2 is not None
        leaving[w, c1, s, t].append(m.ps[w, k, s, t])
        joining[w, c2, s, t] = m.ps[w, k, s, t]
    return leaving, joining


def add_flow_balance(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Flow balance per inflow, class, site and period:

    .. math::
        y_{wcst} = y_{wcs,t-1} + \mathit{inn}_{wcst} - \mathit{out}_{wcst}
        - \mathit{ex}_{wcst} - \mathit{pm}_{wcst} - \sum_k \mathit{ps}_{wkst}
        \ [c \text{ in the procedure}] + \mathit{ps}_{wkst}\ [c \text{ of type } k]

    with :math:`y_{wcs0}` the people at the site before period 1 (cohorts with
    ``arrival_period <= 0``). Promotions leave the procedure class: ``pm`` must move
    on, ``ps`` stay where they are (sites that hold both stages). People leave a site
    (move, exit or promotion) only after a period there:

    .. math::
        \mathit{out}_{wcst} + \mathit{ex}_{wcst} + \mathit{pm}_{wcst}
        + \sum_k \mathit{ps}_{wkst} \le y_{wcs,t-1} + \mathit{ps}_{wkst}\ [c = k]
    """
    exits = set(idx.exits)
    leaving, joining = _promotion_terms(m, data, idx)

    def parts(w: int, c: int, s: int, t: int) -> tuple[Any, Any, Any]:
        before = m.y[w, c, s, t - 1] if t > 1 else float(data.stock[w, c, s])
        gone = m.out[w, c, s, t] + pyo.quicksum(leaving.get((w, c, s, t), []))
        if (w, c, s, t) in exits:
            gone += m.ex[w, c, s, t]
        came = joining.get((w, c, s, t), 0.0)
        return before, gone, came

    def balance(_: Any, w: int, c: int, s: int, t: int) -> Any:
        before, gone, came = parts(w, c, s, t)
        return m.y[w, c, s, t] == before + m.inn[w, c, s, t] + came - gone

    def departures(_: Any, w: int, c: int, s: int, t: int) -> Any:
        before, gone, came = parts(w, c, s, t)
        return gone <= before + came

    m.flow_balance = pyo.Constraint(idx.occupancy, rule=balance)
    m.departures = pyo.Constraint(idx.occupancy, rule=departures)


def add_transfers(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Transfers follow the edges of the modality graph :math:`G = (M, E)`.

    Entries into the sites of modality :math:`m` come over edges into :math:`m`;
    departures from its sites, and people of type k promoted there who must move
    (:math:`\mathit{pg}_{wkmt}`), leave over edges out of :math:`m`; arrivals come over
    edges from ``arrival``; exits equal the number leaving reception:

    .. math::
        \sum_{s \in m} \mathit{inn}_{wcst} = \sum_{(u,m) \in E} f_{wcumt}, \quad
        \sum_{s \in m} \mathit{out}_{wcst} + \mathit{pg}_{wkmt}\,[c = k]
        = \sum_{(m,v) \in E} f_{wcmvt}, \quad
        \sum_{(\mathrm{arrival},m) \in E} f_{wc,\mathrm{arrival},m,t} = A_{wct}, \quad
        \sum_{s} \mathit{ex}_{wcst} = X_{wct}
    """
    modality = data.sites["modality"].astype(str).tolist()
    into: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    outof: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    arrive: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, c, u, v, t in idx.flows:
        into[w, c, v, t].append(m.f[w, c, u, v, t])
        if u == ARRIVAL:
            arrive[w, c, t].append(m.f[w, c, u, v, t])
        else:
            outof[w, c, u, t].append(m.f[w, c, u, v, t])
    site_in: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    site_out: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    for w, c, s, t in idx.occupancy:
        site_in[w, c, modality[s], t].append(m.inn[w, c, s, t])
        site_out[w, c, modality[s], t].append(m.out[w, c, s, t])
    for w, k, node, t in idx.promote_out:
        c2 = data.after_class(k)
        assert c2 is not None
        site_out[w, c2, node, t].append(m.pg[w, k, node, t])

    m.transfers_in = pyo.Constraint(
        sorted(site_in),
        rule=lambda _, w, c, node, t: (
            pyo.quicksum(site_in[w, c, node, t]) == pyo.quicksum(into.get((w, c, node, t), []))
        ),
    )
    m.transfers_out = pyo.Constraint(
        sorted(site_out),
        rule=lambda _, w, c, node, t: (
            pyo.quicksum(site_out[w, c, node, t]) == pyo.quicksum(outof.get((w, c, node, t), []))
        ),
    )
    periods = list(data.periods)
    n_w, n_c = len(data.inflows), len(data.classes)
    every = [(w, c, t) for w in range(n_w) for c in range(n_c) for t in periods]
    m.arrivals = pyo.Constraint(
        [key for key in every if key in arrive or data.arrivals[key]],
        rule=lambda _, w, c, t: pyo.quicksum(arrive[w, c, t]) == float(data.arrivals[w, c, t]),
    )
    leaving: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, c, s, t in idx.exits:
        leaving[w, c, t].append(m.ex[w, c, s, t])
    m.exits = pyo.Constraint(
        [key for key in every if key in leaving or data.exits[key]],
        rule=lambda _, w, c, t: pyo.quicksum(leaving[w, c, t]) == float(data.exits[w, c, t]),
    )


def add_lines(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""First line vs second line. The procedure classes only have variables at
    first-line and ``both`` sites, the classes after it at second-line and ``both``
    sites (so the line rule is in the index sets). The procedure ends for
    :math:`P_{wkt}` people of type k in period t; at each site the promoted either stay
    (``ps``, where the site holds both stages) or must move (``pm``), and the movers of
    each type leave over the edges out of the site's modality (``pg``):

    .. math::
        \sum_m \mathit{pg}_{wkmt} + \sum_s \mathit{ps}_{wkst} = P_{wkt}, \qquad
        \sum_{s \in m} \mathit{pm}_{wcst} = \sum_{k \in c} \mathit{pg}_{wkmt}
    """
    total: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    movers: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    for w, k, node, t in idx.promote_out:
        total[w, k, t].append(m.pg[w, k, node, t])
        c1 = data.procedure_class(k)
        assert c1 is not None
        movers[w, c1, node, t].append(m.pg[w, k, node, t])
    for w, k, s, t in idx.promote_stay:
        total[w, k, t].append(m.ps[w, k, s, t])
    m.promotion = pyo.Constraint(
        sorted(total),
        rule=lambda _, w, k, t: pyo.quicksum(total[w, k, t]) == float(data.promotions[w, k, t]),
    )
    modality = data.sites["modality"].astype(str).tolist()
    moving: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    for w, c1, s, t in idx.promote_move:
        moving[w, c1, modality[s], t].append(m.pm[w, c1, s, t])
    m.promotion_moves = pyo.Constraint(
        sorted(set(moving) | set(movers)),
        rule=lambda _, w, c, node, t: (
            pyo.quicksum(moving.get((w, c, node, t), []))
            == pyo.quicksum(movers.get((w, c, node, t), []))
        ),
    )


def _site_totals(m: pyo.ConcreteModel, idx: Index) -> dict[tuple[int, int, int], list[Any]]:
    totals: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, c, s, t in idx.occupancy:
        totals[w, s, t].append(m.y[w, c, s, t])
    return totals


def add_capacity(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Site capacity, only while open: :math:`\sum_c y_{wcst} \le K_s \, o_{st}`."""
    totals = _site_totals(m, idx)
    capacity = data.sites["capacity"].astype(float).tolist()
    unhoused = len(data.sites) - 1
    keys = [key for key in sorted(totals) if key[1] != unhoused]
    m.capacity = pyo.Constraint(
        keys,
        rule=lambda _, w, s, t: (
            pyo.quicksum(totals[w, s, t]) <= capacity[s] * open_expr(m, data, s, t)
        ),
    )


def add_min_occupancy(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Minimum occupancy of an open site (elastic: a shortfall is reported as
    infeasible): :math:`\sum_c y_{wcst} + \mathit{short}_{wst} \ge \ell_s \, o_{st}`."""
    totals = _site_totals(m, idx)
    minimum = data.sites["min_occupancy"].astype(float).tolist()
    m.min_occupancy = pyo.Constraint(
        idx.min_occupancy,
        rule=lambda _, w, s, t: (
            pyo.quicksum(totals.get((w, s, t), [])) + m.short[w, s, t]
            >= minimum[s] * open_expr(m, data, s, t)
        ),
    )


def add_buffer(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Buffer: at most a share :math:`\beta` (the planning norm, 96%) of the open
    regular places is occupied, so the rest is kept free for short peaks:

    .. math:: \sum_{s \in R} \sum_c y_{wcst} \le \beta \sum_{s \in R} K_s \, o_{st}
    """
    norm = data.spec.buffer_norm
    if norm >= 1.0:
        return
    regular = [int(s) for s in np.flatnonzero(data.sites["tier"] == "regular")]
    is_regular = set(regular)
    used: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for w, c, s, t in idx.occupancy:
        if s in is_regular:
            used[w, t].append(m.y[w, c, s, t])
    capacity = data.sites["capacity"].astype(float).tolist()
    m.buffer = pyo.Constraint(
        sorted(used),
        rule=lambda _, w, t: (
            pyo.quicksum(used[w, t])
            <= norm * pyo.quicksum(capacity[s] * open_expr(m, data, s, t) for s in regular)
        ),
    )


def add_site_decisions(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Opening and closing with contract length, no yo-yo.

    A candidate opens at most once (:math:`\sum_t \sigma_{st} \le 1`), can only become
    open by starting (:math:`o_{st} - o_{s,t-1} \le \sigma_{st}`), and stays open for
    its contract of :math:`D_s` periods (:math:`\sum_{\tau=t-D_s+1}^{t} \sigma_{s\tau}
    \le o_{st}`). An open site past its contract end may close and never reopens
    (:math:`o_{st} \le o_{s,t-1}`). Business cases above the budget were removed
    before the model (:func:`business_cases`)."""
    starts: dict[int, list[int]] = defaultdict(list)
    for s, t in idx.starts:
        starts[s].append(t)
    m.one_start = pyo.Constraint(
        sorted(starts), rule=lambda _, s: pyo.quicksum(m.start[s, t] for t in starts[s]) <= 1
    )

    def switch(_: Any, s: int, t: int) -> Any:
        before = open_expr(m, data, s, t - 1)
        if s in starts:
            return m.open[s, t] - before <= m.start[s, t]
        return m.open[s, t] <= before

    m.open_switch = pyo.Constraint(idx.decide, rule=switch)
    length = data.sites["contract_periods"].astype(int).tolist()

    def contract(_: Any, s: int, t: int) -> Any:
        window = [tau for tau in starts[s] if t - length[s] < tau <= t]
        return pyo.quicksum(m.start[s, tau] for tau in window) <= m.open[s, t]

    m.contract = pyo.Constraint(idx.starts, rule=contract)


def add_region_targets(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Regional place targets (soft): people in the sites of region r against its
    target :math:`P_{rt}`, deviations penalised:

    .. math:: \sum_{s \in r} \sum_c y_{wcst} + u_{wrt} - v_{wrt} = P_{rt}
    """
    region = data.sites["region"].tolist()
    in_region: dict[tuple[int, str, int], list[Any]] = defaultdict(list)
    for w, c, s, t in idx.occupancy:
        if region[s] is not None:
            in_region[w, str(region[s]), t].append(m.y[w, c, s, t])
    target = {(r, int(t)): v for r, t, v in data.targets.itertuples(index=False)}
    m.region_target = pyo.Constraint(
        idx.targets,
        rule=lambda _, w, r, t: (
            pyo.quicksum(in_region.get((w, r, t), [])) + m.under[w, r, t] - m.over[w, r, t]
            == target[r, t]
        ),
    )


@dataclass(frozen=True)
class CostPart:
    """A named part of the reception objective: the unit of its quantity, and whether
    it is money (euros) or a planner's weight; the two are reported apart."""

    unit: str
    kind: Literal["money", "weight"]


COST_PARTS = {
    "beds": CostPart("place-nights", "money"),
    "fixed": CostPart("site-periods open", "money"),
    "opening": CostPart("sites opened", "money"),
    "moves": CostPart("moves", "weight"),
    "emergency_penalty": CostPart("emergency place-nights", "weight"),
    "crisis_penalty": CostPart("crisis place-nights", "weight"),
    "outside_preferred_penalty": CostPart("place-nights outside preferred regions", "weight"),
    "target_penalty": CostPart("person-nights off a region target", "weight"),
    "unhoused_penalty": CostPart("person-nights without a bed", "weight"),
    "min_occupancy_penalty": CostPart("person-nights below a site minimum", "weight"),
}


MONEY = tuple(name for name, part in COST_PARTS.items() if part.kind == "money")
# what a reception front can trade and bound (reception.part_bounds): money in euros,
# the others as the quantity of their part
BOUNDABLE = {
    "money": MONEY,
    "moves": ("moves",),
    "emergency": ("emergency_penalty",),
    "crisis": ("crisis_penalty",),
}
BOUND_UNITS = {
    "money": "EUR",
    "moves": "moves",
    "emergency": "place-nights",
    "crisis": "place-nights",
}


def bound_terms(terms: dict[str, list[tuple[float, Any]]], name: str) -> list[tuple[float, Any]]:
    """The (coefficient, quantity) terms of a boundable quantity: money in euros
    (cost x quantity), the others their part's quantity."""
    if name == "money":
        return [(cost, q) for part in MONEY for cost, q in terms[part]]
    return [(1.0, q) for _, q in terms[BOUNDABLE[name][0]]]


def bounded_values(parts: dict[str, Any]) -> dict[str, float]:
    """The boundable quantities of a solved plan from its objective parts."""
    out = {"money": float(sum(parts[name].contribution for name in MONEY))}
    for name in ("moves", "emergency", "crisis"):
        out[name] = float(parts[BOUNDABLE[name][0]].quantity)
    return out


def objective_terms(
    m: pyo.ConcreteModel, data: ReceptionData, idx: Index
) -> dict[str, list[tuple[float, Any]]]:
    """The objective's parts (:data:`COST_PARTS`) as lists of (cost per unit, quantity)
    terms; quantities are expected values over the inflow weights (also used to report
    the cost split)."""
    nights = float(data.nights)
    config = data.config
    weight = [data.weights[w] for w in data.inflows]
    tier = data.sites["tier"].tolist()
    cost = data.sites["cost_per_night"].astype(float).tolist()
    parts: dict[str, list[tuple[float, Any]]] = defaultdict(list)
    for w, c, s, t in idx.occupancy:
        y = weight[w] * nights * m.y[w, c, s, t]
        if tier[s] == "unhoused":
            parts["unhoused_penalty"].append((UNHOUSED_PENALTY, y))
            continue
        parts["beds"].append((cost[s], y))
        if tier[s] == "emergency":
            parts["emergency_penalty"].append((config.emergency_penalty, y))
        elif tier[s] == "crisis":
            parts["crisis_penalty"].append((config.crisis_penalty, y))
        if config.outside_preferred_penalty and data.outside_preferred(s, c):
            parts["outside_preferred_penalty"].append((config.outside_preferred_penalty, y))
    parts["moves"] = [
        (config.move_cost, weight[w] * m.f[w, c, u, v, t])
        for w, c, u, v, t in idx.flows
        if u != ARRIVAL
    ]
    fixed_cost = data.sites["fixed_cost"].astype(float).tolist()
    parts["fixed"] = [
        (fixed_cost[s], open_expr(m, data, s, t))
        for s in range(len(data.sites))
        for t in data.periods
        if fixed_cost[s] and data.status[s, t] != CLOSED
    ]
    opening_cost = data.sites["opening_cost"].astype(float).tolist()
    parts["opening"] = [(opening_cost[s], m.start[s, t]) for s, t in idx.starts if opening_cost[s]]
    parts["target_penalty"] = [
        (config.target_penalty, weight[w] * nights * (m.under[w, r, t] + m.over[w, r, t]))
        for w, r, t in idx.targets
    ]
    parts["min_occupancy_penalty"] = [
        (MIN_OCCUPANCY_PENALTY, weight[w] * nights * m.short[w, s, t])
        for w, s, t in idx.min_occupancy
    ]
    return {name: parts.get(name, []) for name in COST_PARTS}


def add_objective(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Minimise the expected cost over inflows w with weights :math:`\pi_w`:

    .. math::
        \sum_{s,t} \phi_s o_{st} + \sum_{s,t} \kappa_s \sigma_{st}
        + \sum_w \pi_w \Big[ n \sum_{c,s,t} (c_s + p_s + q_{cs}) y_{wcst}
        + \mu \sum_{c,(u,v),t:\ u \ne \mathrm{arrival}} f_{wcuvt}
        + n \rho \sum_{r,t} (u_{wrt} + v_{wrt}) + \text{elastic terms} \Big]

    with n nights per period, c the bed-night cost, p the emergency or crisis penalty,
    q the outside-region penalty, :math:`\mu` the weight of a move (every transfer
    counts), :math:`\phi` the fixed cost per period and :math:`\kappa` the opening cost.
    """
    terms = objective_terms(m, data, idx)
    scale = {name: data.config.money_weight if name in MONEY else 1.0 for name in terms}
    m.objective = pyo.Objective(
        expr=pyo.quicksum(
            scale[name] * cost * quantity
            for name, parts in terms.items()
            for cost, quantity in parts
        ),
        sense=pyo.minimize,
    )


def add_part_bounds(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Bounds on named quantities (``reception.part_bounds``), expected over the
    inflows: the epsilon constraints of a trade-off front.

    .. math:: \ell_k \le \sum_{(a, q) \in k} a\, q \le u_k

    with money the euros of beds, fixed and opening costs, and moves, emergency and
    crisis the quantities of their parts (see :func:`objective_terms`). A quantity the
    instance cannot have (no crisis sites) gives no row.
    """
    bounds = data.config.part_bounds
    if not bounds:
        return
    terms = objective_terms(m, data, idx)
    rows = {name: bound_terms(terms, name) for name in sorted(bounds)}
    names = [name for name, row in rows.items() if row]

    def rule(mdl: pyo.ConcreteModel, name: str) -> Any:
        bound = bounds[name]
        body = pyo.quicksum(a * q for a, q in rows[name])
        return pyo.inequality(bound.lower, body, bound.upper)

    m.part_bound = pyo.Constraint(names, rule=rule)


FAMILIES = {
    "flow_balance": add_flow_balance,
    "transfers": add_transfers,
    "lines": add_lines,
    "capacity": add_capacity,
    "min_occupancy": add_min_occupancy,
    "buffer": add_buffer,
    "site_decisions": add_site_decisions,
    "region_targets": add_region_targets,
    "part_bounds": add_part_bounds,
}


def build_reception_model(
    data: ReceptionData, *, relax: bool = False
) -> tuple[pyo.ConcreteModel, Index]:
    """The reception model: variables, one constraint family per function, objective."""
    idx = model_index(data)
    m = pyo.ConcreteModel(name="reception")
    add_variables(m, data, idx, relax)
    for add_family in FAMILIES.values():
        add_family(m, data, idx)
    add_objective(m, data, idx)
    return m, idx
