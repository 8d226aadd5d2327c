"""The chain plan's tables, read back from the solved model.

Stocks are at the end of each period; flows are within it. Per inflow and period the
stocks and flows balance: the change of ``in_reception`` is ``arrivals - housed -
departed`` (``tests/test_chain.py`` re-derives it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from asielplan.experiments.results import contract_kpis
from asielplan.model.chain import (
    CLOSED,
    CRISIS_TOLERANCE,
    KEPT,
    NOT_OPENED,
    OPENED,
    REJECTED,
    ChainData,
    is_open,
    whole,
)
from asielplan.solvers.chain import STAGE_COLUMNS, ChainSolution

CHAIN_COLUMNS = (
    "inflow",
    "period",
    "period_start",
    "days",
    "arrivals",
    "decisions",
    "granted",
    "rejected",
    "housed",
    "departed",
    "in_procedure",
    "waiting",
    "departing",
    "in_reception",
    "regular",
    "emergency",
    "crisis",
    "regular_places",
    "emergency_places",
)
LEVER_COLUMNS = (
    "period",
    "period_start",
    "half_year",
    "national",
    "national_source",
    "housing_capacity",
    "decision_capacity",
    "added_decisions",
    "regular_places_open",
    "emergency_places_open",
    "places_opened",
)
HALF_YEAR_COLUMNS = (
    "half_year",
    "inflow",
    "national",
    "national_source",
    "housed",
    "realised_share",
)
SITE_DECISION_COLUMNS = (
    "site_id",
    "name",
    "municipality",
    "inflow",
    "state",
    "tier",
    "capacity",
    "decision",
    "period",
    "period_start",
    "periods_open",
    "peak_persons",
    "place_nights",
    "reason",
)


def _value(x: Any) -> float:
    return float(pyo.value(x))


def occupancy_of(data: ChainData, m: pyo.ConcreteModel) -> np.ndarray:
    """[W, S, T] persons at each site in the plan."""
    occupancy = np.zeros((len(data.inflows), len(data.sites), data.periods))
    for w, s, t in m.y_index:
        occupancy[w, s, t] = m.y[w, s, t].value or 0.0
    return occupancy


def open_matrix(data: ChainData, m: pyo.ConcreteModel) -> np.ndarray:
    """[S, T] 1 where a site is open in the plan."""
    S, T = len(data.sites), data.periods
    out = np.zeros((S, T))
    for s in range(S):
        for t in range(T):
            if data.can_open(s, t):
                out[s, t] = round(_value(is_open(m, data, s, t)))
    return out


def chain_table(
    data: ChainData, m: pyo.ConcreteModel, opened: np.ndarray, occupancy: np.ndarray
) -> pd.DataFrame:
    """One row per inflow and period: arrivals, decisions, stocks, occupancy by tier."""
    spec = data.input.spec
    tier = data.sites["tier"].to_numpy()
    capacity = data.sites["capacity"].to_numpy(dtype=float)
    rows = []
    for w, inflow in enumerate(data.inflows):
        departing_before = spec.departing
        for t in range(data.periods):
            decisions = m.decisions[w, t].value or 0.0
            granted = float(data.grant[w, t]) * decisions
            departing = m.departing[w, t].value or 0.0
            rows.append(
                {
                    "inflow": inflow,
                    "period": t + 1,
                    "period_start": data.input.starts[t].isoformat(),
                    "days": int(data.days[t]),
                    "arrivals": float(data.arrivals[w, t]),
                    "decisions": decisions,
                    "granted": granted,
                    "rejected": decisions - granted,
                    "housed": m.housed[w, t].value or 0.0,
                    "departed": float(data.leave[t]) * departing_before,
                    "in_procedure": m.in_procedure[w, t].value or 0.0,
                    "waiting": m.waiting[w, t].value or 0.0,
                    "departing": departing,
                    "in_reception": (m.in_procedure[w, t].value or 0.0)
                    + (m.waiting[w, t].value or 0.0)
                    + departing,
                    "regular": float(occupancy[w, tier == "regular", t].sum()),
                    "emergency": float(occupancy[w, tier == "emergency", t].sum()),
                    "crisis": m.crisis[w, t].value or 0.0,
                    "regular_places": float((capacity * opened[:, t])[tier == "regular"].sum()),
                    "emergency_places": float((capacity * opened[:, t])[tier == "emergency"].sum()),
                }
            )
            departing_before = departing
    return _clean(pd.DataFrame(rows, columns=list(CHAIN_COLUMNS)))


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Solver noise (|x| < 1e-6) written as 0, numbers rounded to 1e-6."""
    for column in frame.select_dtypes("float").columns:
        values = frame[column].to_numpy(dtype=float, copy=True)
        values[np.abs(values) < 1e-6] = 0.0
        frame[column] = np.round(values, 6)
    return frame


def national_values(data: ChainData, m: pyo.ConcreteModel) -> dict[str, float]:
    """The taakstelling of every half-year in the plan: fixed ones and chosen ones."""
    out = dict(data.national)
    for h in data.levers:
        out[h] = float(whole(m.national[h].value or 0.0))
    return out


def lever_table(data: ChainData, m: pyo.ConcreteModel, opened: np.ndarray) -> pd.DataFrame:
    """One row per period: the taakstelling in force and the housing it allows, the
    decision capacity and what the plan adds, places open and opened."""
    national = national_values(data, m)
    tier = data.sites["tier"].to_numpy()
    capacity = data.sites["capacity"].to_numpy(dtype=float)
    started = np.zeros((len(data.sites), data.periods))
    for s, t in m.start_index:
        started[s, t] = round(m.start[s, t].value or 0.0)
    rows = []
    for t in range(data.periods):
        h = data.half_years[data.half_year_of[t]]
        rows.append(
            {
                "period": t + 1,
                "period_start": data.input.starts[t].isoformat(),
                "half_year": h,
                "national": national[h],
                "national_source": data.national_source[h],
                "housing_capacity": data.realisation * float(data.housing_share[t]) * national[h],
                "decision_capacity": float(data.capacity[t]),
                "added_decisions": m.extra[t].value or 0.0,
                "regular_places_open": float((capacity * opened[:, t])[tier == "regular"].sum()),
                "emergency_places_open": float(
                    (capacity * opened[:, t])[tier == "emergency"].sum()
                ),
                "places_opened": float((capacity * started[:, t]).sum()),
            }
        )
    return _clean(pd.DataFrame(rows, columns=list(LEVER_COLUMNS)))


def half_year_table(data: ChainData, chain: pd.DataFrame, m: pyo.ConcreteModel) -> pd.DataFrame:
    """One row per half-year and inflow: the taakstelling, where it came from, and the
    persons housed in the plan's part of the half-year."""
    national = national_values(data, m)
    half = chain.assign(
        half_year=[data.half_years[i] for i in data.half_year_of] * len(data.inflows)
    )
    housed = half.groupby(["half_year", "inflow"], sort=False)["housed"].sum()
    rows = []
    for h in data.half_years:
        for inflow in data.inflows:
            value = float(housed[h, inflow])
            rows.append(
                {
                    "half_year": h,
                    "inflow": inflow,
                    "national": national[h],
                    "national_source": data.national_source[h],
                    "housed": value,
                    "realised_share": value / national[h] if national[h] > 0 else None,
                }
            )
    return _clean(pd.DataFrame(rows, columns=list(HALF_YEAR_COLUMNS)))


def site_decision_table(data: ChainData, opened: np.ndarray, occupancy: np.ndarray) -> pd.DataFrame:
    """One row per site and inflow: opened, kept, closed, not opened or rejected on
    budget, when, and why in numbers."""
    rows = []
    starts = data.input.starts
    for s, site in enumerate(data.sites.to_dict("records")):
        row_open = opened[s]
        first = int(np.argmax(row_open)) if row_open.any() else None
        if site["state"] != "candidate":
            shut = int(np.argmin(row_open)) if not row_open.all() else None
            decision = CLOSED if shut is not None else KEPT
            period = shut
            reason = (
                f"closes on {site['closes'].isoformat()}"
                if shut is not None
                else "open throughout the plan"
            )
        elif not site["eligible"]:
            decision, period = REJECTED, None
            reason = (
                f"{site['cost_per_place_night']:.2f} EUR per place-night over the budget of "
                f"{data.input.budget:.2f}"
            )
        elif first is not None:
            decision, period = OPENED, first
            cost = site["cost_per_place_night"]
            reason = f"opened on {starts[first].isoformat()}" + (
                f"; {cost:.2f} EUR per place-night within the budget of {data.input.budget:.2f}"
                if site["business_case"]
                else ""
            )
        else:
            decision, period = NOT_OPENED, None
            reason = (
                "the plan is cheaper without it"
                if s in data.starts
                else "it cannot open within the horizon"
            )
        for w, inflow in enumerate(data.inflows):
            nights = float((occupancy[w, s] * data.days).sum())
            rows.append(
                {
                    "site_id": site["site_id"],
                    "name": site["name"],
                    "municipality": site["municipality"],
                    "inflow": inflow,
                    "state": site["state"],
                    "tier": site["tier"],
                    "capacity": int(site["capacity"]),
                    "decision": decision,
                    "period": None if period is None else period + 1,
                    "period_start": None if period is None else starts[period].isoformat(),
                    "periods_open": int(row_open.sum()),
                    "peak_persons": float(occupancy[w, s].max()) if data.periods else 0.0,
                    "place_nights": nights,
                    "reason": reason,
                }
            )
    frame = pd.DataFrame(rows, columns=list(SITE_DECISION_COLUMNS))
    frame["period"] = frame["period"].astype("Int64")
    return _clean(frame)


def chain_tables(data: ChainData, sol: ChainSolution) -> dict[str, pd.DataFrame]:
    """All output tables of a chain plan; KPIs over inflows are expected values."""
    stages = pd.DataFrame(
        [{k: s[k] for k in STAGE_COLUMNS if k != "seconds"} for s in sol.stages],
        columns=[c for c in STAGE_COLUMNS if c != "seconds"],
    )
    if sol.model is None:
        return {"kpis": pd.DataFrame([contract_kpis(sol)]), "stages": stages}
    m = sol.model
    opened = open_matrix(data, m)
    occupancy = occupancy_of(data, m)
    chain = chain_table(data, m, opened, occupancy)
    levers = lever_table(data, m, opened)
    objective = sol.parts_table()
    decisions = site_decision_table(data, opened, occupancy)
    weights = dict(zip(data.inflows, data.weights, strict=True))

    def expected(column: str, per_night: bool = True) -> float:
        values = chain[column] * (chain["days"] if per_night else 1.0)
        sums = values.groupby(chain["inflow"]).sum()
        return float(sum(weights[str(w)] * v for w, v in sums.items()))

    crisis_nights = expected("crisis")
    chosen = [h for h in data.half_years if data.national_source[h] == "chosen"]
    national = national_values(data, m)
    first = decisions.drop_duplicates("site_id")
    kpis = {
        **contract_kpis(sol),
        "inflows": ";".join(data.inflows),
        "inflow_weights": ";".join(f"{w}={weights[w]:g}" for w in data.inflows),
        "cost_eur": float(objective["money_eur"].sum()),
        "weighted": float(objective["weighted"].sum()),
        "crisis_place_nights": crisis_nights if crisis_nights > CRISIS_TOLERANCE else 0.0,
        "emergency_place_nights": expected("emergency"),
        "peak_in_reception": float(chain["in_reception"].max()),
        "peak_waiting": float(chain["waiting"].max()),
        "peak_crisis": float(chain["crisis"].max()),
        "housed": expected("housed", per_night=False),
        "added_decisions": float(levers["added_decisions"].sum()),
        "sites_opened": int((first["decision"] == OPENED).sum()),
        "places_opened": float(first.loc[first["decision"] == OPENED, "capacity"].sum()),
        "chosen_national": ";".join(f"{h}={national[h]:g}" for h in chosen),
    }
    return {
        "kpis": _clean(pd.DataFrame([kpis])),
        "objective": objective,
        "stages": stages,
        "chain": chain,
        "levers": levers,
        "half_years": half_year_table(data, chain, m),
        "site_decisions": decisions,
    }
