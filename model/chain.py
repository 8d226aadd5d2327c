"""The chain plan: arrivals, the procedure, status holders waiting for a house and
reception places over time, in one model (docs/formulation/chain.md).

People are stocks and flows per inflow scenario ``w`` and period ``t`` (a fluid model:
numbers are continuous). Arrivals enter the procedure; the IND decides at most its
decision capacity (plus capacity the plan adds, at a cost), only for people who arrived
at least the decision lag before; a share is granted and waits in reception for a
house, the rest leaves through departure at its own rate; municipalities house the
waiting status holders at the pace of the national taakstelling of the half-year times
the realisation share. Everyone in reception has a place: in an open regular site
(under the buffer norm), in an emergency site, or, as the last resort, in crisis
reception. The levers (which candidate sites open when, the taakstelling of each
half-year not yet announced, the added decision capacity) are shared by the inflows
of a robust plan; everything else is per inflow.

``build_chain_model`` reads like the formulation's table of contents: one ``add_*``
function per constraint family (``FAMILIES``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.config import ChainConfig
from asielplan.data.chain import (
    DEFAULT_INFLOW,
    ChainInput,
    announced_half_years,
    half_year_span,
)
from asielplan.errors import InputError, Issue

CRISIS_TOLERANCE = 0.01  # place-nights: a crisis figure this small counts as zero
OPENED, KEPT, CLOSED, NOT_OPENED, REJECTED = (
    "opened",
    "kept",
    "closed",
    "not opened",
    "rejected on budget",
)


@dataclass
class ChainData:
    """Everything the model needs, as arrays over inflows ``w``, periods ``t``
    (0-based) and sites ``s``."""

    input: ChainInput
    config: ChainConfig
    inflows: list[str]  # the inflows planned for (one, or every one in a robust plan)
    weights: np.ndarray  # [W] sums to 1
    arrivals: np.ndarray  # [W, T]
    grant: np.ndarray  # [W, T]
    decidable: np.ndarray  # [W, T] persons that may have had a decision by the end of t
    capacity: np.ndarray  # [T] decisions at the current capacity
    extra_max: np.ndarray  # [T] decisions the plan may add
    leave: np.ndarray  # [T] share of the departing stock that leaves in t
    housing_share: np.ndarray  # [T] share of its half-year's taakstelling housed in t
    realisation: float
    half_years: list[str]  # in order
    half_year_of: np.ndarray  # [T] index into half_years
    national: dict[str, float]  # half-years with a fixed taakstelling
    national_source: dict[str, str]  # announced, given, last announced or chosen
    sites: pd.DataFrame  # normalised sites plus starts (candidates), open (fixed sites)
    open_fixed: np.ndarray  # [S, T] 1 where a site that is not a candidate is open
    starts: dict[int, list[int]]  # candidate -> periods it may start in
    ends: dict[tuple[int, int], int]  # (candidate, start) -> last period open

    @property
    def periods(self) -> int:
        return len(self.capacity)

    @property
    def days(self) -> np.ndarray:
        return self.input.days

    @property
    def levers(self) -> list[str]:
        """The half-years whose taakstelling the plan chooses."""
        return [h for h in self.half_years if h not in self.national]

    def can_open(self, s: int, t: int) -> bool:
        """Whether site ``s`` can be open in period ``t``."""
        if self.open_fixed[s, t]:
            return True
        return any(start <= t <= self.ends[s, start] for start in self.starts.get(s, ()))


def prepare_chain(chain: ChainInput, config: ChainConfig) -> ChainData:
    """The model's arrays from the inputs and the configuration; an InputError names
    every setting that does not fit the forecast (an unknown inflow, a half-year
    without an announced taakstelling)."""
    issues: list[Issue] = []
    spec = chain.spec
    names = list(chain.inflows)
    if config.robust:
        inflows = names
    else:
        chosen = config.inflow or (DEFAULT_INFLOW if DEFAULT_INFLOW in names else names[0])
        if chosen not in names:
            issues.append(
                Issue(
                    "config",
                    None,
                    "chain.inflow",
                    "an inflow of the forecast",
                    f"no inflow {chosen!r} in the forecast ({', '.join(names)})",
                )
            )
            chosen = names[0]
        inflows = [chosen]
    rows = [names.index(w) for w in inflows]
    given = np.array([spec.inflow_weights.get(w, 1.0) for w in inflows], dtype=float)
    if given.sum() <= 0:
        issues.append(
            Issue(
                "instance.toml",
                None,
                "chain.inflow_weights",
                "a positive weight",
                "the inflows planned for weigh 0 together",
            )
        )
        given = np.ones(len(inflows))
    weights = given / given.sum()

    T = chain.periods
    days = chain.days
    starts = np.array(chain.starts, dtype="datetime64[D]")
    lag = np.timedelta64(7 * spec.decision_lag_weeks, "D")
    # arrivals of period tau may be decided from the first period starting >= start + lag
    decidable_from = np.searchsorted(starts, starts + lag)
    arrivals = chain.arrivals[rows]
    decidable = np.zeros_like(arrivals)
    for tau in range(T):
        if decidable_from[tau] < T:
            decidable[:, decidable_from[tau] :] += arrivals[:, [tau]]
    decidable += spec.in_procedure

    half_years = list(dict.fromkeys(chain.half_years))
    half_year_of = np.array([half_years.index(h) for h in chain.half_years])
    housing_share = np.array(
        [
            days[t] / (half_year_span(h)[1] - half_year_span(h)[0]).days
            for t, h in enumerate(chain.half_years)
        ]
    )
    national: dict[str, float] = {}
    source: dict[str, str] = {}
    announced_values = [
        spec.national[h]
        for h in announced_half_years(chain.starts, config.lead_weeks)
        if h in spec.national
    ]
    for h in announced_half_years(chain.starts, config.lead_weeks):
        if h in spec.national:
            national[h], source[h] = spec.national[h], "announced"
    for h in half_years:
        if h in config.national_by_half_year:
            national[h], source[h] = config.national_by_half_year[h], "given"
        elif h not in national and config.national is not None:
            national[h], source[h] = config.national, "given"
        elif h not in national and (config.choose_national or config.smallest_national != "off"):
            source[h] = "chosen"
        elif h not in national and announced_values:
            national[h], source[h] = announced_values[-1], "last announced"
    announced = announced_half_years(chain.starts, config.lead_weeks)
    for h in announced:
        if h not in national:
            issues.append(
                Issue(
                    "instance.toml",
                    None,
                    f"chain.national.{h}",
                    "an announced taakstelling",
                    f"{h} starts within the lead time of {config.lead_weeks} weeks of "
                    f"{chain.starts[0]}: its taakstelling is announced; give it in "
                    "[chain].national",
                )
            )
    for h in config.national_by_half_year:
        if h not in half_years:
            issues.append(
                Issue(
                    "config",
                    None,
                    f"chain.national_by_half_year.{h}",
                    "a half-year of the forecast",
                    f"the forecast covers {', '.join(half_years)}",
                )
            )
    if config.national_min > config.national_max:
        issues.append(
            Issue(
                "config",
                None,
                "chain.national_min",
                "at most national_max",
                f"{config.national_min:g} > {config.national_max:g}",
            )
        )
    if issues:
        raise InputError(issues, "the chain plan's settings")

    sites = chain.sites.copy()
    S = len(sites)
    open_fixed = np.zeros((S, T), dtype=bool)
    start_options: dict[int, list[int]] = {}
    ends: dict[tuple[int, int], int] = {}
    horizon_end = chain.end
    eligible = []
    cost_per_place_night = []
    for s, site in enumerate(sites.to_dict("records")):
        if site["state"] != "candidate":
            closes = site["closes"]
            last = T if closes is None else chain.period_of(closes)  # periods before it
            open_fixed[s, :last] = True
            eligible.append(True)
            cost_per_place_night.append(np.nan)
            continue
        first = 0 if site["opens"] is None else chain.period_of(site["opens"])
        weeks = site["contract_weeks"]
        options = []
        for t in range(first, T):
            if weeks is None:
                end = T - 1
            else:
                stop = chain.starts[t] + timedelta(weeks=int(weeks))
                end = chain.period_of(stop) - 1
            options.append(t)
            ends[s, t] = max(end, t)
        nights = (
            7 * float(weeks)
            if weeks is not None
            else float((horizon_end - chain.starts[min(first, T - 1)]).days)
        )
        capacity = max(int(site["capacity"]), 1)
        unit = (
            site["cost_per_night"]
            + site["fixed_cost_per_week"] / (7 * capacity)
            + site["opening_cost"] / (capacity * max(nights, 1.0))
        )
        ok = site["tier"] != "regular" or unit <= chain.budget + 1e-9
        eligible.append(ok)
        cost_per_place_night.append(unit)
        if ok and options:
            start_options[s] = options
    sites["business_case"] = (sites["state"] == "candidate") & (sites["tier"] == "regular")
    sites["eligible"] = eligible
    sites["cost_per_place_night"] = cost_per_place_night

    leave = 1.0 - np.exp(-days / (7.0 * spec.departure_weeks))
    realisation = (
        spec.realisation_share if config.realisation_share is None else config.realisation_share
    )
    return ChainData(
        input=chain,
        config=config,
        inflows=inflows,
        weights=weights,
        arrivals=arrivals,
        grant=chain.grant[rows],
        decidable=decidable,
        capacity=spec.decisions_per_week * days / 7.0,
        extra_max=config.extra_decisions_per_week * days / 7.0,
        leave=leave,
        housing_share=housing_share,
        realisation=float(realisation),
        half_years=half_years,
        half_year_of=half_year_of,
        national=national,
        national_source=source,
        sites=sites,
        open_fixed=open_fixed,
        starts=start_options,
        ends=ends,
    )


# --------------------------------------------------------------------------- the model


def build_chain_model(data: ChainData) -> pyo.ConcreteModel:
    """The chain plan as a Pyomo model, minimising money and weights; the crisis
    place-nights (``m.crisis_nights``) and the chosen taakstelling
    (``m.national_total``) are expressions the solver makes lexicographic stages of."""
    m = pyo.ConcreteModel(name="chain")
    m.W = pyo.RangeSet(0, len(data.inflows) - 1)
    m.T = pyo.RangeSet(0, data.periods - 1)
    for family in FAMILIES.values():
        family(m, data)
    return m


def add_procedure(m: pyo.ConcreteModel, data: ChainData) -> None:
    """Stocks of the procedure, the waiting status holders and the departing, and the
    decisions between them (``procedure``, ``waiting``, ``departing``, ``decided``,
    ``decision_capacity``)."""
    spec = data.input.spec
    m.extra = pyo.Var(m.T, bounds=lambda _, t: (0.0, float(data.extra_max[t])))
    m.decisions = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)
    m.housed = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)
    m.in_procedure = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)
    m.waiting = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)
    m.departing = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)

    def before(var: pyo.Var, w: int, t: int, start: float) -> Any:
        return start if t == 0 else var[w, t - 1]

    m.procedure = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            m.in_procedure[w, t]
            == before(m.in_procedure, w, t, spec.in_procedure)
            + float(data.arrivals[w, t])
            - m.decisions[w, t]
        ),
    )
    m.waiting_balance = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            m.waiting[w, t]
            == before(m.waiting, w, t, spec.waiting)
            + float(data.grant[w, t]) * m.decisions[w, t]
            - m.housed[w, t]
        ),
    )
    m.departing_balance = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            m.departing[w, t]
            == (1.0 - float(data.leave[t])) * before(m.departing, w, t, spec.departing)
            + (1.0 - float(data.grant[w, t])) * m.decisions[w, t]
        ),
    )
    m.decided = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            sum(m.decisions[w, tau] for tau in range(t + 1)) <= float(data.decidable[w, t])
        ),
    )
    m.decision_capacity = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: m.decisions[w, t] <= float(data.capacity[t]) + m.extra[t],
    )


def add_housing(m: pyo.ConcreteModel, data: ChainData) -> None:
    """Municipalities house at the pace of the half-year's taakstelling times the
    realisation share (``housing``); the taakstelling of a half-year not announced or
    given is a lever (``national``, whole persons)."""
    levers = data.levers
    m.H = pyo.Set(initialize=levers, ordered=True)
    bounds = (data.config.national_min, data.config.national_max)
    m.national = pyo.Var(m.H, within=pyo.NonNegativeIntegers, bounds=bounds)
    if data.config.smallest_national == "constant" and len(levers) > 1:
        first = levers[0]
        m.same_national = pyo.Constraint(
            levers[1:], rule=lambda m, h: m.national[h] == m.national[first]
        )

    def taakstelling(h: str) -> Any:
        return data.national[h] if h in data.national else m.national[h]

    m.housing = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            m.housed[w, t]
            <= data.realisation
            * float(data.housing_share[t])
            * taakstelling(data.half_years[data.half_year_of[t]])
        ),
    )
    m.national_total = pyo.Expression(expr=sum(m.national[h] for h in levers))


def add_sites(m: pyo.ConcreteModel, data: ChainData) -> None:
    """Candidates start at most once, from their first day, and stay open for their
    contract (``one_start``); open sites are open until they close."""
    m.start_index = pyo.Set(
        initialize=[(s, t) for s, options in data.starts.items() for t in options], dimen=2
    )
    m.start = pyo.Var(m.start_index, within=pyo.Binary)
    m.one_start = pyo.Constraint(
        list(data.starts), rule=lambda m, s: sum(m.start[s, t] for t in data.starts[s]) <= 1
    )


def is_open(m: pyo.ConcreteModel, data: ChainData, s: int, t: int) -> Any:
    """1 for a site open in t that is not a candidate, else its started contracts
    covering t (an expression, 0 when none can)."""
    if data.open_fixed[s, t]:
        return 1.0
    return sum(
        m.start[s, start] for start in data.starts.get(s, ()) if start <= t <= data.ends[s, start]
    )


def add_occupancy(m: pyo.ConcreteModel, data: ChainData) -> None:
    """Everyone in reception has a place (``places``): in an open site (``site_capacity``),
    regular sites under the buffer norm (``buffer``), else in crisis reception."""
    sites = data.sites
    usable = [(s, t) for s in range(len(sites)) for t in range(data.periods) if data.can_open(s, t)]
    m.y_index = pyo.Set(
        initialize=[(w, s, t) for w in range(len(data.inflows)) for s, t in usable], dimen=3
    )
    m.y = pyo.Var(m.y_index, within=pyo.NonNegativeReals)
    m.crisis = pyo.Var(m.W, m.T, within=pyo.NonNegativeReals)
    at: dict[int, list[int]] = {t: [] for t in range(data.periods)}
    for s, t in usable:
        at[t].append(s)
    m.places = pyo.Constraint(
        m.W,
        m.T,
        rule=lambda m, w, t: (
            sum(m.y[w, s, t] for s in at[t]) + m.crisis[w, t]
            == m.in_procedure[w, t] + m.waiting[w, t] + m.departing[w, t]
        ),
    )
    capacity = sites["capacity"].to_numpy(dtype=float)
    m.site_capacity = pyo.Constraint(
        m.y_index,
        rule=lambda m, w, s, t: m.y[w, s, t] <= capacity[s] * is_open(m, data, s, t),
    )
    regular = set(np.flatnonzero(sites["tier"].to_numpy() == "regular").tolist())
    norm = data.config.buffer_norm
    if norm < 1:

        def buffer(m: pyo.ConcreteModel, w: int, t: int) -> Any:
            mine = [s for s in at[t] if s in regular]
            if not mine:
                return pyo.Constraint.Skip
            return sum(m.y[w, s, t] for s in mine) <= norm * sum(
                capacity[s] * is_open(m, data, s, t) for s in mine
            )

        m.buffer = pyo.Constraint(m.W, m.T, rule=buffer)


def add_objective(m: pyo.ConcreteModel, data: ChainData) -> None:
    """Money (beds, crisis beds, fixed and opening costs, added decisions) plus
    weights (emergency place-nights, the chosen taakstelling); the crisis place-nights
    as an expression of their own."""
    parts = objective_parts(m, data)
    m.crisis_nights = pyo.Expression(expr=parts["crisis_nights"][0])
    m.cost = pyo.Objective(
        expr=sum(
            weight * quantity
            for name, (quantity, weight, _) in parts.items()
            if name != "crisis_nights"
        ),
        sense=pyo.minimize,
    )


def objective_parts(m: pyo.ConcreteModel, data: ChainData) -> dict[str, tuple[Any, float, str]]:
    """Every part of the objective: (quantity as an expression, weight per unit,
    kind money|weight). Quantities over inflows are expected values."""
    sites = data.sites
    days = data.days
    pi = data.weights
    tier = sites["tier"].to_numpy()
    cost = sites["cost_per_night"].to_numpy(dtype=float)
    fixed = sites["fixed_cost_per_week"].to_numpy(dtype=float)
    opening = sites["opening_cost"].to_numpy(dtype=float)
    costs = data.input.tier_costs

    def nights(kind: str) -> Any:
        return sum(
            pi[w] * days[t] * cost[s] * m.y[w, s, t] for w, s, t in m.y_index if tier[s] == kind
        )

    def place_nights(kind: str) -> Any:
        return sum(pi[w] * days[t] * m.y[w, s, t] for w, s, t in m.y_index if tier[s] == kind)

    crisis_nights = sum(pi[w] * days[t] * m.crisis[w, t] for w in m.W for t in m.T)
    fixed_cost = sum(
        fixed[s] * days[t] / 7.0 * is_open(m, data, s, t)
        for s in range(len(sites))
        for t in range(data.periods)
        if data.can_open(s, t)
    )
    return {
        "regular_beds": (nights("regular"), 1.0, "money"),
        "emergency_beds": (nights("emergency"), 1.0, "money"),
        "crisis_beds": (crisis_nights, float(costs["crisis"]), "money"),
        "site_fixed": (fixed_cost, 1.0, "money"),
        "site_opening": (
            sum(opening[s] * m.start[s, t] for s, t in m.start_index),
            1.0,
            "money",
        ),
        "added_decisions": (sum(m.extra[t] for t in m.T), data.config.extra_decision_cost, "money"),
        "emergency_penalty": (place_nights("emergency"), data.config.emergency_penalty, "weight"),
        "national": (
            sum(m.national[h] for h in data.levers),
            0.0 if data.config.smallest_national != "off" else data.config.national_weight,
            "weight",
        ),
        "crisis_nights": (crisis_nights, 0.0, "weight"),
    }


FAMILIES = {
    "procedure": add_procedure,
    "housing": add_housing,
    "sites": add_sites,
    "occupancy": add_occupancy,
    "objective": add_objective,
}


def whole(value: float) -> int:
    """A taakstelling read back from the solver: the nearest whole number."""
    return math.floor(value + 0.5)
