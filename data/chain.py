"""The chain plan's inputs: the forecast's periods (dates), inflows and grant shares, and
the site list with dates, as arrays and one normalised table.

A period runs from its ``period_start`` to the next one's; the last lasts as long as the
one before it (7 days for a forecast of one period). A taakstelling half-year (2027-I,
2027-II) holds the periods that start in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from asielplan.data.instance import TIER_COSTS, ChainSpec, Instance
from asielplan.data.schemas import DATE_PATTERN
from asielplan.errors import Issue

FORECAST_FILE = "forecast"
SITE_LIST_FILE = "site_list"
TIER_OF_MODALITY = {"noodopvang": "emergency", "crisisnoodopvang": "emergency"}
DEFAULT_INFLOW = "middle"


def parse_date(text: object) -> date | None:
    """A YYYY-MM-DD text as a date; None when empty or not a date of the calendar."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return None
    value = str(text)
    if not re.match(DATE_PATTERN, value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # not a day of the calendar (30 February)
        return None


def half_year(day: date) -> str:
    """The taakstelling half-year a day lies in: 2027-I (January-June) or 2027-II."""
    return f"{day.year}-{'I' if day.month <= 6 else 'II'}"


def half_year_span(name: str) -> tuple[date, date]:
    """First day and the day after the last of a half-year ('2027-II': 1 July 2027 and
    1 January 2028)."""
    year, half = name.split("-")
    if half == "I":
        return date(int(year), 1, 1), date(int(year), 7, 1)
    return date(int(year), 7, 1), date(int(year) + 1, 1, 1)


@dataclass(frozen=True)
class ChainInput:
    """The forecast and the sites as the chain model reads them. Arrays are indexed
    [inflow, period] with periods 0..T-1 (the model's periods 1..T)."""

    spec: ChainSpec
    starts: tuple[date, ...]  # first day of each period
    days: np.ndarray  # [T] days in each period
    inflows: tuple[str, ...]
    arrivals: np.ndarray  # [W, T] persons
    grant: np.ndarray  # [W, T] share of decisions granted
    sites: pd.DataFrame  # normalise_sites: one row per site
    tier_costs: dict[str, float]  # EUR per place-night by tier
    budget: float  # EUR per place-night a regular candidate is judged on

    @property
    def periods(self) -> int:
        return len(self.starts)

    @property
    def half_years(self) -> tuple[str, ...]:
        """The half-year of every period."""
        return tuple(half_year(day) for day in self.starts)

    @property
    def end(self) -> date:
        """The day after the last period."""
        return self.starts[-1] + timedelta(days=int(self.days[-1]))

    def period_of(self, day: date) -> int:
        """Index (0-based) of the first period that starts on or after ``day``
        (``periods`` when none does)."""
        return int(
            np.searchsorted(np.array(self.starts, dtype="datetime64[D]"), np.datetime64(day))
        )


def forecast_periods(forecast: pd.DataFrame) -> tuple[tuple[date, ...], np.ndarray]:
    """The periods' first days (sorted) and their lengths in days."""
    starts = tuple(sorted({d for d in (parse_date(v) for v in forecast["period_start"]) if d}))
    if not starts:
        return (), np.zeros(0)
    gaps = [(b - a).days for a, b in pairwise(starts)]
    days = np.array([*gaps, gaps[-1] if gaps else 7], dtype=float)
    return starts, days


def chain_input(inst: Instance) -> ChainInput:
    """The chain's inputs from a checked instance (``check_chain`` found no error)."""
    assert inst.forecast is not None and inst.meta.chain is not None
    forecast = inst.forecast
    starts, days = forecast_periods(forecast)
    inflows = tuple(dict.fromkeys(str(v) for v in forecast["inflow"]))
    position = {day: i for i, day in enumerate(starts)}
    arrivals = np.zeros((len(inflows), len(starts)))
    grant = np.zeros((len(inflows), len(starts)))
    for w, name in enumerate(inflows):
        rows = forecast[forecast["inflow"] == name]
        at = [position[parse_date(v)] for v in rows["period_start"]]  # type: ignore[index]
        arrivals[w, at] = rows["arrivals"].to_numpy(dtype=float)
        grant[w, at] = rows["grant_share"].to_numpy(dtype=float)
    reception = inst.meta.reception
    costs = reception.cost_per_night if reception else TIER_COSTS
    tier_costs = {str(tier): float(cost) for tier, cost in costs.items()}
    budget = (
        (reception.budget_per_night or reception.average_cost_price)
        if reception
        else tier_costs["regular"]
    )
    site_list = inst.site_list if inst.site_list is not None else _empty_sites()
    return ChainInput(
        spec=inst.meta.chain,
        starts=starts,
        days=days,
        inflows=inflows,
        arrivals=arrivals,
        grant=grant,
        sites=normalise_sites(site_list, tier_costs),
        tier_costs=tier_costs,
        budget=float(budget),
    )


def _empty_sites() -> pd.DataFrame:
    return pd.DataFrame(columns=["site_id", "municipality", "modality", "capacity"])


def normalise_sites(sites: pd.DataFrame, tier_costs: dict[str, float]) -> pd.DataFrame:
    """The site list with every default filled in: tier (emergency for noodopvang and
    crisisnoodopvang, else regular), state (open), cost per night (the tier's), fixed
    and opening costs (0), opens / closes as dates (None when empty), contract_weeks
    (None: to the horizon)."""

    def column(name: str, default: object) -> pd.Series:
        if name not in sites.columns:
            return pd.Series([default] * len(sites), index=sites.index, dtype=object)
        return sites[name].astype(object).where(sites[name].notna(), default)

    out = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str),
            "name": column("name", ""),
            "municipality": sites["municipality"].astype(str),
            "modality": sites["modality"].astype(str),
            "capacity": sites["capacity"].astype(int),
            "state": column("state", "open"),
            "opens": [parse_date(v) for v in column("opens", None)],
            "closes": [parse_date(v) for v in column("closes", None)],
            "contract_weeks": column("contract_weeks", None),
            "fixed_cost_per_week": column("fixed_cost_per_week", 0.0).astype(float),
            "opening_cost": column("opening_cost", 0.0).astype(float),
        }
    )
    out["tier"] = [TIER_OF_MODALITY.get(m, "regular") for m in out["modality"]]
    given = column("cost_per_night", None)
    out["cost_per_night"] = [
        float(tier_costs[tier]) if cost is None else float(cost)
        for cost, tier in zip(given, out["tier"], strict=True)
    ]
    return out.reset_index(drop=True)


def announced_half_years(starts: tuple[date, ...], lead_weeks: int) -> list[str]:
    """The half-years of the horizon whose taakstelling is announced: those that start
    before the first period's day plus the lead time (the half-year the plan starts in
    among them)."""
    if not starts:
        return []
    cutoff = starts[0] + timedelta(weeks=lead_weeks)
    names = dict.fromkeys(half_year(day) for day in starts)
    return [name for name in names if half_year_span(name)[0] < cutoff]


def check_chain(inst: Instance) -> list[Issue]:
    """The forecast and the site list, with each other and with ``[chain]``: real dates,
    one row per period and inflow, the same periods for every inflow, a ``[chain]``
    section, a weight per inflow named, sites in known municipalities with dates in the
    right columns."""
    forecast = inst.forecast
    issues: list[Issue] = []
    if forecast is None or "forecast" not in inst.loaded:
        if inst.site_list is not None:
            issues.append(
                Issue(
                    "instance.toml",
                    None,
                    "site_list",
                    "forecast",
                    "a site list is read by the chain plan, which needs [tables.forecast]",
                )
            )
        return issues
    file = inst.files.get("forecast", FORECAST_FILE)
    for row, value in enumerate(forecast["period_start"], start=1):
        if parse_date(value) is None:
            issues.append(
                Issue(
                    file,
                    row,
                    "period_start",
                    "a date of the calendar",
                    f"{value!r} is not a day of the calendar",
                )
            )
    pairs = list(
        zip(forecast["period_start"].astype(str), forecast["inflow"].astype(str), strict=True)
    )
    seen: set[tuple[str, str]] = set()
    dates: dict[str, set[str]] = {}
    for row, (day, name) in enumerate(pairs, start=1):
        if (day, name) in seen:
            issues.append(
                Issue(
                    file,
                    row,
                    "period_start",
                    "one row per period and inflow",
                    f"{day} appears twice for inflow {name}",
                )
            )
        seen.add((day, name))
        dates.setdefault(name, set()).add(day)
    every: set[str] = set().union(*dates.values()) if dates else set()
    for name, have in sorted(dates.items()):
        missing = sorted(every - have)
        if missing:
            issues.append(
                Issue(
                    file,
                    None,
                    "period_start",
                    "the same periods for every inflow",
                    f"inflow {name} has no row for {', '.join(missing[:5])}"
                    + (" ..." if len(missing) > 5 else ""),
                )
            )
    spec = inst.meta.chain
    if spec is None:
        issues.append(
            Issue(
                "instance.toml",
                None,
                "chain",
                "chain section",
                "a forecast is given but [chain] (the chain's state and rates) is missing",
            )
        )
        return issues
    for name in spec.inflow_weights:
        if name not in dates:
            issues.append(
                Issue(
                    "instance.toml",
                    None,
                    f"chain.inflow_weights.{name}",
                    "an inflow of the forecast",
                    f"no inflow {name!r} in the forecast ({', '.join(sorted(dates))})",
                )
            )
    issues += _check_site_list(inst)
    return issues


def _check_site_list(inst: Instance) -> list[Issue]:
    sites = inst.site_list
    if sites is None or "site_list" not in inst.loaded:
        return []
    file = inst.files.get("site_list", SITE_LIST_FILE)
    known = set(inst.municipalities["code"].astype(str))
    issues = []
    for row, record in enumerate(sites.to_dict("records"), start=1):
        if str(record["municipality"]) not in known:
            issues.append(
                Issue(
                    file,
                    row,
                    "municipality",
                    "a municipality of the instance",
                    f"{record['municipality']!r} is not in the municipalities table",
                )
            )
        for column in ("opens", "closes"):
            value = record.get(column)
            if value is not None and not pd.isna(value) and parse_date(value) is None:
                issues.append(
                    Issue(
                        file,
                        row,
                        column,
                        "a date of the calendar",
                        f"{value!r} is not a day of the calendar",
                    )
                )
        state = record.get("state")
        state = "open" if state is None or pd.isna(state) else str(state)
        opens = record.get("opens")
        if state != "candidate" and opens is not None and not pd.isna(opens):
            issues.append(
                Issue(
                    file,
                    row,
                    "opens",
                    "opens only for a candidate",
                    f"an {state} site is open from the start; a site that opens "
                    "later is a candidate",
                )
            )
        for column in ("contract_weeks", "opening_cost"):
            value = record.get(column)
            if state != "candidate" and value is not None and not pd.isna(value) and value:
                issues.append(
                    Issue(
                        file,
                        row,
                        column,
                        f"{column} only for a candidate",
                        f"an {state} site has no contract to start",
                    )
                )
        if state == "closing" and (record.get("closes") is None or pd.isna(record.get("closes"))):
            issues.append(
                Issue(
                    file,
                    row,
                    "closes",
                    "a closing site's closing date",
                    "a closing site needs the day it closes",
                )
            )
    return issues


def read_national_by_half_year(path: str | Path) -> dict[str, float]:
    """The national taakstelling per half-year from a table file (half_year, national),
    checked like every table: an InputError lists every problem."""
    from asielplan.data.instance import read_standalone_table
    from asielplan.data.schemas import STANDALONE

    frame, _ = read_standalone_table(path, STANDALONE["national_by_half_year"].schema)
    return {str(h): float(v) for h, v in zip(frame["half_year"], frame["national"], strict=True)}
