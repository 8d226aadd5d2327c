"""Reception planning: asylum seekers in reception sites over time (Problem B).

Where do people stay from arrival until they leave reception, which sites open or
close, which business cases are accepted, and what does it cost in money, moves and
emergency places. ``build_reception_model`` reads like the table of contents of the
formulation (``docs/formulation/reception.md``); each ``add_*`` function adds one
constraint family and states its math.

People are counted per cohort *type* (household type, track, home regions, the line
they leave from), not per arrival cohort: the number of each type in the first and the
second line in every period follows from the cohorts' arrival periods and stay times
(:func:`stage_counts`), and the model decides where they stay. The model is a fluid
one: people of a type are interchangeable, so it does not follow one person's path.

Two-stage (robust) planning is the same model over several inflow scenarios: site
decisions (``open``, ``start``) are shared, everything else is per scenario, and the
objective weighs the scenarios.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import ReceptionConfig
from asielplan.data.instance import Instance, ReceptionSpec
from asielplan.data.reception import (
    ARRIVAL,
    EXIT,
    home_regions,
    reception_cohorts,
    reception_sites,
    scenarios_of,
    transfer_graph,
)
from asielplan.errors import InputError, Issue

UNHOUSED = "UNHOUSED"  # virtual site: people without a bed (the elastic part)
UNHOUSED_PENALTY = 10_000.0  # per person-night; any use means the plan is infeasible
MIN_OCCUPANCY_PENALTY = 10_000.0  # per missing person-night at a site below its minimum
OPEN, CLOSED, DECIDE = 1, 0, -1


@dataclass
class BusinessCase:
    """A candidate site judged on budget only: cost per place-night against the budget."""

    site_id: str
    cost_per_place_night: float
    budget: float

    @property
    def eligible(self) -> bool:
        return self.cost_per_place_night <= self.budget + 1e-9


@dataclass
class ReceptionData:
    """Everything the model needs, as plain arrays and tables.

    Arrays over types ``k``, sites ``s`` and periods ``t`` use positions; period arrays
    have length ``T + 1`` with index 0 the state before period 1.
    """

    spec: ReceptionSpec
    config: ReceptionConfig
    scenarios: list[str]
    weights: dict[str, float]
    sites: pd.DataFrame  # usable sites; the last row is the virtual UNHOUSED site
    cases: list[BusinessCase]
    types: pd.DataFrame  # type_id, household_type, track, home, exit_line
    arrivals: np.ndarray  # [w, k, t] persons arriving in period t
    first: np.ndarray  # [w, k, t] persons in the first-line stage in period t
    second: np.ndarray  # [w, k, t] persons in the second-line stage in period t
    exits: np.ndarray  # [w, k, t] persons leaving reception at the start of period t
    stock: np.ndarray  # [w, k, s] persons at each site before period 1
    graph: nx.DiGraph
    targets: pd.DataFrame  # region, period, target (one row per region and period)
    status: np.ndarray  # [s, t] OPEN, CLOSED or DECIDE (t = 1..T in columns 1..T)
    allowed: list[tuple[int, int]]  # (type, site) pairs that may hold people
    exit_sites: dict[int, list[int]] = field(default_factory=dict)  # type -> sites

    @property
    def periods(self) -> range:
        return range(1, self.spec.periods + 1)

    @property
    def nights(self) -> int:
        return self.spec.nights_per_period

    @property
    def budget(self) -> float:
        return self.spec.budget_per_night or self.spec.average_cost_price

    def night_cost(self, s: int, k: int) -> float:
        """Objective coefficient of one person of type k at site s for one night: the
        site's cost, its tier penalty, and the outside-region penalty."""
        site = self.sites.iloc[s]
        if site["site_id"] == UNHOUSED:
            return UNHOUSED_PENALTY
        cost = float(site["cost_per_night"])
        if site["tier"] == "emergency":
            cost += self.config.emergency_penalty
        elif site["tier"] == "crisis":
            cost += self.config.crisis_penalty
        if self.outside_home(s, k):
            cost += self.config.outside_region_penalty
        return cost

    def outside_home(self, s: int, k: int) -> bool:
        """True when a type with home regions stays in the second line elsewhere."""
        home = self.types.iloc[k]["home"]
        site = self.sites.iloc[s]
        return bool(home) and site["line"] != "first" and site["region"] not in home


def stage_counts(
    cohorts: pd.DataFrame, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrivals, first-line stage, second-line stage and exits per cohort row and period.

    A cohort of p persons arriving in period a with first-line time F and stay L is in
    the first line in periods a .. a+F-1, in the second line in a+F .. a+L-1, and leaves
    at the start of period a+L. Returns four arrays [row, t] for t = 0..T."""
    t = np.arange(horizon + 1)[None, :]
    a = cohorts["arrival_period"].to_numpy(dtype=int)[:, None]
    f = cohorts["first_line_periods"].to_numpy(dtype=int)[:, None]
    stay = cohorts["stay_periods"].to_numpy(dtype=int)[:, None]
    p = cohorts["persons"].to_numpy(dtype=float)[:, None]
    arrivals = p * ((t == a) & (t >= 1))
    first = p * ((t >= a) & (t < a + f))
    second = p * ((t >= a + f) & (t < a + stay))
    exits = p * ((t == a + stay) & (t >= 1))
    return arrivals, first, second, exits


def business_cases(sites: pd.DataFrame, spec: ReceptionSpec, budget: float) -> list[BusinessCase]:
    """Regular candidate sites with their cost per place-night: the cost of an occupied
    bed-night plus the fixed cost per period and the opening cost (spread over the
    contract) per available place-night."""
    cases = []
    nights = spec.nights_per_period
    for site in sites.itertuples(index=False):
        if site.state != "candidate" or site.tier != "regular":
            continue
        places = max(int(site.capacity), 1) * nights
        per_night = (
            float(site.cost_per_night)
            + float(site.fixed_cost) / places
            + float(site.opening_cost) / (places * int(site.contract_periods))
        )
        cases.append(BusinessCase(str(site.site_id), round(per_night, 6), budget))
    return cases


def prepare_reception(
    inst: Instance, config: ReceptionConfig, scenarios: list[str] | None = None
) -> ReceptionData:
    """Turn a validated instance into model data for the given inflow scenarios (default:
    ``config.scenario``, or the first scenario of the cohorts table)."""
    spec = inst.meta.reception
    problems = []
    if spec is None or inst.cohorts is None:
        problems.append(
            Issue(
                "instance.toml",
                None,
                None,
                "reception data",
                "reception planning needs [reception] and a cohorts table",
            )
        )
    if problems:
        raise InputError(problems, str(inst.root or inst.meta.name))
    assert spec is not None
    known = scenarios_of(inst)
    if scenarios is None:
        scenarios = [config.scenario or known[0]]
    unknown = [w for w in scenarios if w not in known]
    if unknown:
        raise InputError(
            [
                Issue(
                    "cohorts",
                    None,
                    "scenario",
                    "known scenario",
                    f"no scenario {', '.join(map(repr, unknown))}; known: {', '.join(known)}",
                )
            ],
            str(inst.root or inst.meta.name),
        )
    budget = spec.budget_per_night or spec.average_cost_price
    all_sites = reception_sites(inst)
    cases = business_cases(all_sites, spec, budget)
    rejected = {c.site_id for c in cases if not c.eligible}
    sites = all_sites[~all_sites["site_id"].isin(list(rejected))].reset_index(drop=True)
    sites = pd.concat([sites, _unhoused_row(sites)], ignore_index=True)

    cohorts = reception_cohorts(inst)
    cohorts["home"] = [home_regions(row) for _, row in cohorts.iterrows()]
    cohorts["exit_line"] = np.where(
        cohorts["stay_periods"] > cohorts["first_line_periods"], "second", "first"
    )
    key = ["household_type", "track", "home", "exit_line"]
    types = cohorts[key].drop_duplicates().sort_values(key, key=_sort_key).reset_index(drop=True)
    types.insert(0, "type_id", [f"K{i + 1:02d}" for i in range(len(types))])
    type_of = {tuple(row[key]): i for i, row in types.iterrows()}
    cohorts["type"] = [type_of[tuple(row[key])] for _, row in cohorts.iterrows()]

    horizon = spec.periods
    n_w, n_k, n_s = len(scenarios), len(types), len(sites)
    shape = (n_w, n_k, horizon + 1)
    arrivals, first, second, exits = (np.zeros(shape) for _ in range(4))
    stock = np.zeros((n_w, n_k, n_s))
    site_pos = {sid: i for i, sid in enumerate(sites["site_id"])}
    per_row = stage_counts(cohorts, horizon)
    for w, scenario in enumerate(scenarios):
        rows = (cohorts["scenario"].isna() | (cohorts["scenario"] == scenario)).to_numpy()
        for target, source in zip((arrivals, first, second, exits), per_row, strict=True):
            np.add.at(target[w], cohorts["type"].to_numpy()[rows], source[rows])
        held = cohorts[rows & (cohorts["arrival_period"] <= 0).to_numpy()]
        for row in held.itertuples(index=False):
            stock[w, int(row.type), site_pos[str(row.site_id)]] += float(row.persons)

    weights_raw = {w: spec.scenario_weights.get(w, 1.0) for w in scenarios}
    if spec.scenario_weights:
        weights_raw = {w: spec.scenario_weights.get(w, 0.0) for w in scenarios}
    total = sum(weights_raw.values()) or 1.0
    weights = {w: v / total for w, v in weights_raw.items()}

    graph = transfer_graph(spec)
    graph.add_edges_from([(ARRIVAL, UNHOUSED), (UNHOUSED, EXIT)])
    for node in list(graph.nodes):
        if node not in (ARRIVAL, EXIT, UNHOUSED):
            graph.add_edges_from([(node, UNHOUSED), (UNHOUSED, node)])

    status = _site_status(sites, horizon)
    allowed = [
        (k, s)
        for k in range(n_k)
        for s in range(n_s)
        if _may_hold(types.iloc[k], sites.iloc[s]) or stock[:, k, s].any()
    ]
    exit_sites: dict[int, list[int]] = defaultdict(list)
    for k, s in allowed:
        site = sites.iloc[s]
        line_ok = site["line"] in (types.iloc[k]["exit_line"], "both")
        if line_ok and graph.has_edge(site["modality"], EXIT):
            exit_sites[k].append(s)

    targets = _expand_targets(inst.region_targets, horizon)
    return ReceptionData(
        spec=spec,
        config=config,
        scenarios=list(scenarios),
        weights=weights,
        sites=sites,
        cases=cases,
        types=types,
        arrivals=arrivals,
        first=first,
        second=second,
        exits=exits,
        stock=stock,
        graph=graph,
        targets=targets,
        status=status,
        allowed=allowed,
        exit_sites=dict(exit_sites),
    )


def _sort_key(column: pd.Series) -> pd.Series:
    return column.map(lambda v: ";".join(v) if isinstance(v, tuple) else str(v))


def _unhoused_row(sites: pd.DataFrame) -> pd.DataFrame:
    row = {column: None for column in sites.columns}
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


def _may_hold(kind: pd.Series, site: pd.Series) -> bool:
    """AMV only where the site takes them; AMV-only sites take nobody else."""
    if site["site_id"] == UNHOUSED:
        return True
    if kind["track"] == "amv":
        return bool(site["takes_amv"])
    return not bool(site["amv_only"])


def _site_status(sites: pd.DataFrame, horizon: int) -> np.ndarray:
    """OPEN / CLOSED / DECIDE per site and period (column 0 is before period 1).

    open: open up to its contract end, then decided (it may close, never reopen);
    closing: open up to its contract end, closed after; candidate: closed before its
    earliest period, decided from then on."""
    status = np.full((len(sites), horizon + 1), CLOSED)
    t = np.arange(horizon + 1)
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
    rows = []
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

    occupancy: list[tuple[int, int, int, int]]  # (w, k, s, t)
    exits: list[tuple[int, int, int, int]]  # (w, k, s, t) at exit sites
    flows: list[tuple[int, int, str, str, int]]  # (w, k, from, to, t) on graph edges
    nodes: dict[str, list[int]]  # modality -> sites
    decide: list[tuple[int, int]]  # (s, t) with an open/close decision
    starts: list[tuple[int, int]]  # (s, t) a candidate may open in
    min_occupancy: list[tuple[int, int, int]]  # (w, s, t)
    targets: list[tuple[int, str, int]]  # (w, region, t)
    sites_of_type: dict[int, list[int]] = field(default_factory=dict)
    types_at_site: dict[int, list[int]] = field(default_factory=dict)


def model_index(data: ReceptionData) -> Index:
    """The index sets: which (scenario, type, site, period) can hold people, which edges
    of the transfer graph carry which type, which sites have decisions."""
    n_w = len(data.scenarios)
    periods = list(data.periods)
    sites_of_type: dict[int, list[int]] = defaultdict(list)
    types_at_site: dict[int, list[int]] = defaultdict(list)
    for k, s in data.allowed:
        sites_of_type[k].append(s)
        types_at_site[s].append(k)
    nodes: dict[str, list[int]] = defaultdict(list)
    for s, modality in enumerate(data.sites["modality"]):
        nodes[str(modality)].append(s)
    occupancy = [(w, k, s, t) for w in range(n_w) for k, s in data.allowed for t in periods]
    exits = [
        (w, k, s, t)
        for w in range(n_w)
        for k, sites in sorted(data.exit_sites.items())
        for s in sites
        for t in periods
    ]
    flows = []
    for k in range(len(data.types)):
        reachable = {str(data.sites.iloc[s]["modality"]) for s in sites_of_type[k]}
        for u, v in sorted(data.graph.edges):
            if v == EXIT or v not in reachable or (u != ARRIVAL and u not in reachable):
                continue
            flows.extend((w, k, u, v, t) for w in range(n_w) for t in periods)
    decide = [(s, t) for s, t in zip(*np.nonzero(data.status == DECIDE), strict=True)]
    candidates = set(np.flatnonzero(data.sites["state"] == "candidate"))
    starts = [(s, t) for s, t in decide if s in candidates]
    min_occupancy = [
        (w, s, t)
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
        flows=flows,
        nodes=dict(nodes),
        decide=[(int(s), int(t)) for s, t in decide],
        starts=[(int(s), int(t)) for s, t in starts],
        min_occupancy=[(int(w), int(s), int(t)) for w, s, t in min_occupancy],
        targets=targets,
        sites_of_type=dict(sites_of_type),
        types_at_site=dict(types_at_site),
    )


def open_expr(m: pyo.ConcreteModel, data: ReceptionData, s: int, t: int) -> Any:
    """Whether site s is open in period t: a constant, or the decision ``open[s, t]``."""
    state = data.status[s, t]
    return m.open[s, t] if state == DECIDE else float(state == OPEN)


def add_variables(m: pyo.ConcreteModel, data: ReceptionData, idx: Index, relax: bool) -> None:
    """Occupancy ``y``, entries ``inn``, departures ``out`` and exits ``ex`` per
    (scenario, type, site, period); flows ``f`` on the edges of the transfer graph;
    ``open`` and ``start`` decisions; slacks of the soft families."""
    binary = pyo.UnitInterval if relax else pyo.Binary
    nn = pyo.NonNegativeReals
    m.y = pyo.Var(idx.occupancy, within=nn)
    m.inn = pyo.Var(idx.occupancy, within=nn)
    m.out = pyo.Var(idx.occupancy, within=nn)
    m.ex = pyo.Var(idx.exits, within=nn)
    m.f = pyo.Var(idx.flows, within=nn)
    m.open = pyo.Var(idx.decide, within=binary)
    m.start = pyo.Var(idx.starts, within=binary)
    m.short = pyo.Var(idx.min_occupancy, within=nn)
    m.under = pyo.Var(idx.targets, within=nn)
    m.over = pyo.Var(idx.targets, within=nn)


def add_flow_balance(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Flow balance per scenario, type, site and period:

    .. math:: y_{wkst} = y_{wks,t-1} + \mathit{inn}_{wkst} - \mathit{out}_{wkst} - \mathit{ex}_{wkst}

    with :math:`y_{wks0}` the people at the site before period 1 (cohorts with
    ``arrival_period <= 0``)."""
    exits = set(idx.exits)

    def rule(_: Any, w: int, k: int, s: int, t: int) -> Any:
        before = m.y[w, k, s, t - 1] if t > 1 else float(data.stock[w, k, s])
        leave = m.ex[w, k, s, t] if (w, k, s, t) in exits else 0.0
        return m.y[w, k, s, t] == before + m.inn[w, k, s, t] - m.out[w, k, s, t] - leave

    m.flow_balance = pyo.Constraint(idx.occupancy, rule=rule)


def add_transfers(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Transfers follow the edges of the modality graph :math:`G = (M, E)`.

    Entries into the sites of modality :math:`m` come over edges into :math:`m`; the
    departures from its sites leave over edges out of :math:`m`; arrivals enter over
    edges from ``arrival``; exits (to a municipality or departure) equal the exogenous
    number leaving, from sites whose line fits and whose modality has an edge to
    ``exit``:

    .. math::
        \sum_{s \in m} \mathit{inn}_{wkst} = \sum_{(u,m) \in E} f_{wkumt}, \quad
        \sum_{s \in m} \mathit{out}_{wkst} = \sum_{(m,v) \in E} f_{wkmvt}, \quad
        \sum_{(\mathrm{arrival},m) \in E} f_{wk,\mathrm{arrival},m,t} = A_{wkt}, \quad
        \sum_{s} \mathit{ex}_{wkst} = X_{wkt}
    """
    into: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    outof: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    arrive: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, k, u, v, t in idx.flows:
        into[w, k, v, t].append(m.f[w, k, u, v, t])
        if u == ARRIVAL:
            arrive[w, k, t].append(m.f[w, k, u, v, t])
        else:
            outof[w, k, u, t].append(m.f[w, k, u, v, t])
    site_in: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    site_out: dict[tuple[int, int, str, int], list[Any]] = defaultdict(list)
    modality = data.sites["modality"].astype(str).tolist()
    for w, k, s, t in idx.occupancy:
        site_in[w, k, modality[s], t].append(m.inn[w, k, s, t])
        site_out[w, k, modality[s], t].append(m.out[w, k, s, t])

    m.transfers_in = pyo.Constraint(
        sorted(site_in),
        rule=lambda _, w, k, node, t: (
            pyo.quicksum(site_in[w, k, node, t]) == pyo.quicksum(into.get((w, k, node, t), []))
        ),
    )
    m.transfers_out = pyo.Constraint(
        sorted(site_out),
        rule=lambda _, w, k, node, t: (
            pyo.quicksum(site_out[w, k, node, t]) == pyo.quicksum(outof.get((w, k, node, t), []))
        ),
    )
    periods = list(data.periods)
    n_w, n_k = len(data.scenarios), len(data.types)
    m.arrivals = pyo.Constraint(
        [(w, k, t) for w in range(n_w) for k in range(n_k) for t in periods],
        rule=lambda _, w, k, t: (
            pyo.quicksum(arrive.get((w, k, t), [])) == float(data.arrivals[w, k, t])
        ),
    )
    leaving: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, k, s, t in idx.exits:
        leaving[w, k, t].append(m.ex[w, k, s, t])
    m.exits = pyo.Constraint(
        [(w, k, t) for w in range(n_w) for k in range(n_k) for t in periods],
        rule=lambda _, w, k, t: (
            pyo.quicksum(leaving.get((w, k, t), [])) == float(data.exits[w, k, t])
        ),
    )


def add_lines(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""First line vs second line. People of type k in their procedure (first-line
    stage, :math:`F_{wkt}`) may be in first-line or ``both`` sites; after it
    (:math:`S_{wkt}`) in second-line or ``both`` sites:

    .. math::
        \sum_{s:\ \mathrm{line}_s = \mathrm{first}} y_{wkst} \le F_{wkt}, \qquad
        \sum_{s:\ \mathrm{line}_s = \mathrm{second}} y_{wkst} \le S_{wkt}
    """
    line = data.sites["line"].tolist()
    first: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    second: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, k, s, t in idx.occupancy:
        if line[s] == "first":
            first[w, k, t].append(m.y[w, k, s, t])
        elif line[s] == "second":
            second[w, k, t].append(m.y[w, k, s, t])
    m.first_line = pyo.Constraint(
        sorted(first),
        rule=lambda _, w, k, t: pyo.quicksum(first[w, k, t]) <= float(data.first[w, k, t]),
    )
    m.second_line = pyo.Constraint(
        sorted(second),
        rule=lambda _, w, k, t: pyo.quicksum(second[w, k, t]) <= float(data.second[w, k, t]),
    )


def _site_totals(m: pyo.ConcreteModel, idx: Index) -> dict[tuple[int, int, int], list[Any]]:
    totals: dict[tuple[int, int, int], list[Any]] = defaultdict(list)
    for w, k, s, t in idx.occupancy:
        totals[w, s, t].append(m.y[w, k, s, t])
    return totals


def add_capacity(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Site capacity, only while open: :math:`\sum_k y_{wkst} \le c_s \, o_{st}`."""
    totals = _site_totals(m, idx)
    capacity = data.sites["capacity"].astype(float).tolist()
    keys = [key for key in sorted(totals) if data.sites.iloc[key[1]]["site_id"] != UNHOUSED]
    m.capacity = pyo.Constraint(
        keys,
        rule=lambda _, w, s, t: (
            pyo.quicksum(totals[w, s, t]) <= capacity[s] * open_expr(m, data, s, t)
        ),
    )


def add_min_occupancy(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Minimum occupancy of an open site (elastic: a shortfall is reported as
    infeasible): :math:`\sum_k y_{wkst} + \mathit{short}_{wst} \ge \ell_s \, o_{st}`."""
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

    .. math:: \sum_{s \in R} \sum_k y_{wkst} \le \beta \sum_{s \in R} c_s \, o_{st}
    """
    norm = data.spec.buffer_norm
    if norm >= 1.0:
        return
    regular = set(np.flatnonzero(data.sites["tier"] == "regular"))
    used: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for w, k, s, t in idx.occupancy:
        if s in regular:
            used[w, t].append(m.y[w, k, s, t])
    capacity = data.sites["capacity"].astype(float).tolist()
    m.buffer = pyo.Constraint(
        sorted(used),
        rule=lambda _, w, t: (
            pyo.quicksum(used[w, t])
            <= norm * pyo.quicksum(capacity[s] * open_expr(m, data, s, t) for s in sorted(regular))
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
    starts = defaultdict(list)
    for s, t in idx.starts:
        starts[s].append(t)
    m.one_start = pyo.Constraint(
        sorted(starts), rule=lambda _, s: pyo.quicksum(m.start[s, t] for t in starts[s]) <= 1
    )
    decide = [(s, t) for s, t in idx.decide]
    is_candidate = set(starts)

    def switch(_: Any, s: int, t: int) -> Any:
        before = open_expr(m, data, s, t - 1)
        if s in is_candidate:
            return m.open[s, t] - before <= m.start[s, t]
        return m.open[s, t] <= before

    m.open_switch = pyo.Constraint(decide, rule=switch)
    length = data.sites["contract_periods"].astype(int).tolist()

    def contract(_: Any, s: int, t: int) -> Any:
        window = [tau for tau in starts[s] if t - length[s] < tau <= t]
        if not window:
            return pyo.Constraint.Skip
        return pyo.quicksum(m.start[s, tau] for tau in window) <= m.open[s, t]

    m.contract = pyo.Constraint(idx.starts, rule=contract)


def add_region_targets(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Regional place targets (soft): people in the sites of region r against its
    target :math:`P_{rt}`, deviations penalised:

    .. math:: \sum_{s \in r} \sum_k y_{wkst} + u_{wrt} - v_{wrt} = P_{rt}
    """
    region = data.sites["region"].tolist()
    in_region: dict[tuple[int, str, int], list[Any]] = defaultdict(list)
    for w, k, s, t in idx.occupancy:
        if region[s] is not None:
            in_region[w, str(region[s]), t].append(m.y[w, k, s, t])
    target = {(r, int(t)): v for r, t, v in data.targets.itertuples(index=False)}
    m.region_target = pyo.Constraint(
        idx.targets,
        rule=lambda _, w, r, t: (
            pyo.quicksum(in_region.get((w, r, t), [])) + m.under[w, r, t] - m.over[w, r, t]
            == target[r, t]
        ),
    )


def objective_terms(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> dict[str, Any]:
    """The objective's parts as expressions (also used to report the cost split)."""
    nights = float(data.nights)
    weight = [data.weights[w] for w in data.scenarios]
    tier = data.sites["tier"].tolist()
    cost = data.sites["cost_per_night"].astype(float).tolist()
    beds, emergency, outside, unhoused = [], [], [], []
    for w, k, s, t in idx.occupancy:
        y = m.y[w, k, s, t]
        if tier[s] == "unhoused":
            unhoused.append(weight[w] * nights * UNHOUSED_PENALTY * y)
            continue
        beds.append(weight[w] * nights * cost[s] * y)
        if tier[s] == "emergency":
            emergency.append(weight[w] * nights * data.config.emergency_penalty * y)
        elif tier[s] == "crisis":
            emergency.append(weight[w] * nights * data.config.crisis_penalty * y)
        if data.config.outside_region_penalty and data.outside_home(s, k):
            outside.append(weight[w] * nights * data.config.outside_region_penalty * y)
    moves = [
        weight[w] * data.config.move_cost * m.f[w, k, u, v, t]
        for w, k, u, v, t in idx.flows
        if u != ARRIVAL
    ]
    fixed_cost = data.sites["fixed_cost"].astype(float).tolist()
    fixed = [
        fixed_cost[s] * open_expr(m, data, s, t)
        for s in range(len(data.sites))
        for t in data.periods
        if fixed_cost[s] and data.status[s, t] != CLOSED
    ]
    opening_cost = data.sites["opening_cost"].astype(float).tolist()
    opening = [opening_cost[s] * m.start[s, t] for s, t in idx.starts if opening_cost[s]]
    targets = [
        weight[w] * nights * data.config.target_penalty * (m.under[w, r, t] + m.over[w, r, t])
        for w, r, t in idx.targets
    ]
    short = [
        weight[w] * nights * MIN_OCCUPANCY_PENALTY * m.short[w, s, t]
        for w, s, t in idx.min_occupancy
    ]
    return {
        "beds": beds,
        "fixed": fixed,
        "opening": opening,
        "moves": moves,
        "emergency_penalty": emergency,
        "outside_region_penalty": outside,
        "target_penalty": targets,
        "unhoused_penalty": unhoused,
        "min_occupancy_penalty": short,
    }


def add_objective(m: pyo.ConcreteModel, data: ReceptionData, idx: Index) -> None:
    r"""Minimise the expected cost over scenarios w with weights :math:`\pi_w`:

    .. math::
        \sum_s \sum_t \phi_s o_{st} + \sum_s \kappa_s \sigma_s
        + \sum_w \pi_w \Big[ n \sum_{k,s,t} (c_s + p_s + q_{ks}) y_{wkst}
        + \mu \sum_{k,(u,v),t:\ u \ne \mathrm{arrival}} f_{wkuvt}
        + n \rho \sum_{r,t} (u_{wrt} + v_{wrt}) + \text{elastic terms} \Big]

    with n nights per period, c the bed-night cost, p the emergency or crisis penalty,
    q the outside-region penalty, :math:`\mu` the weight of a move (every transfer
    counts), :math:`\phi` the fixed cost per period and :math:`\kappa` the opening cost.
    """
    terms = objective_terms(m, data, idx)
    m.objective = pyo.Objective(
        expr=pyo.quicksum(pyo.quicksum(parts) for parts in terms.values() if parts),
        sense=pyo.minimize,
    )


FAMILIES = {
    "flow_balance": add_flow_balance,
    "transfers": add_transfers,
    "lines": add_lines,
    "capacity": add_capacity,
    "min_occupancy": add_min_occupancy,
    "buffer": add_buffer,
    "site_decisions": add_site_decisions,
    "region_targets": add_region_targets,
}


def build_reception_model(
    data: ReceptionData, *, relax: bool = False
) -> tuple[pyo.ConcreteModel, Index]:
    """The reception model: variables, one constraint family per function, objective."""
    idx = model_index(data)
    m = pyo.ConcreteModel(name="reception")
    add_variables(m, data, idx, relax)
    add_flow_balance(m, data, idx)
    add_transfers(m, data, idx)
    add_lines(m, data, idx)
    add_capacity(m, data, idx)
    add_min_occupancy(m, data, idx)
    add_buffer(m, data, idx)
    add_site_decisions(m, data, idx)
    add_region_targets(m, data, idx)
    add_objective(m, data, idx)
    return m, idx
