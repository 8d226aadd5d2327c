"""Result tables of a reception plan.

Besides the ``objective`` (the cost split: money and weights in separate columns) and
``duals`` of every run (:mod:`asielplan.experiments.results`): ``occupancy`` (site x
period against capacity, with the site decisions ``open`` and ``started``),
``occupancy_by_class`` (persons and flows per class, site and period: the model's
variables), ``moves`` (transfers per class, edge and period), ``moves_by_class``,
``business_cases`` (accepted or rejected on budget, with the reason in numbers),
``site_decisions`` (every site opened, closed, kept or not opened, when and why, in
numbers), ``emergency``
(emergency and crisis places per period), ``regions`` (fill against targets, share in
home regions), ``kpis`` and, when something cannot be met, ``diagnosis``. With several
inflows (a robust plan) the tables are per inflow and the KPIs expected values over the
inflow weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from asielplan.experiments.results import (
    contract_kpis,
    diagnosis_frame,
    duals_table,
    objective_table,
)
from asielplan.model.reception import OPEN, UNHOUSED, ReceptionData
from asielplan.solvers.reception import ReceptionSolution


def occupancy_table(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """Persons per site and period with the site's open state and capacity."""
    sites = data.sites[data.sites["site_id"] != UNHOUSED]
    grid = sol.decisions.merge(
        sites[["site_id", "municipality", "modality", "line", "tier", "region", "capacity"]],
        on="site_id",
    )
    frames = []
    for inflow in data.inflows:
        occ = sol.occupancy[sol.occupancy["inflow"] == inflow]
        persons = occ.groupby(["site_id", "period"])["persons"].sum().rename("persons")
        frame = grid.merge(persons, on=["site_id", "period"], how="left")
        frame.insert(0, "inflow", inflow)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["persons"] = table["persons"].fillna(0.0).round(6)
    table["open_capacity"] = table["capacity"] * table["open"]
    table["utilisation"] = np.where(
        table["open_capacity"] > 0, table["persons"] / table["open_capacity"], np.nan
    ).round(6)
    return table.sort_values(["inflow", "site_id", "period"], ignore_index=True)


def moves_table(sol: ReceptionSolution) -> pd.DataFrame:
    """Transfers per class, modality edge and period (arrivals not counted). Moves in
    the procedure belong to the procedure class; the move at the end of the procedure
    and later ones to the cohort type."""
    flows = sol.flows[sol.flows["from"] != "arrival"]
    keys = ["inflow", "class_id", "from", "to", "period"]
    table = flows.groupby(keys, as_index=False).agg(moves=("persons", "sum"))
    return table.sort_values(["inflow", "class_id", "period", "from", "to"], ignore_index=True)


def moves_by_class(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """Per inflow and class: who it is, people who entered it (arrivals, or
    promotions for the classes after the procedure), moves and moves per person."""
    moves = moves_table(sol).groupby(["inflow", "class_id"])["moves"].sum()
    rows = []
    for w, inflow in enumerate(data.inflows):
        c: Any
        for c, cls in data.classes.iterrows():
            entered = float(data.arrivals[w, c, 1:].sum())
            if cls["stage"] == 2:
                kind = data.types.iloc[int(cls["type"])]
                entered += float(data.promotions[w, int(cls["type"]), 1:].sum())
                who = (
                    kind["track"],
                    kind["destination"],
                    ";".join(kind["preferred"]),
                    kind["household_types"],
                )
            else:
                who = ("amv" if cls["amv"] else "high;low", "", "", "procedure")
            moved = float(moves.get((inflow, cls["class_id"]), 0.0))
            rows.append(
                (
                    inflow,
                    cls["class_id"],
                    int(cls["stage"]),
                    *who,
                    entered,
                    moved,
                    round(moved / entered, 6) if entered else np.nan,
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "inflow",
            "class_id",
            "stage",
            "track",
            "destination",
            "preferred",
            "household_types",
            "entered",
            "moves",
            "moves_per_person",
        ],
    )


def business_case_table(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """Every business case with its decision and the reason in numbers."""
    rows = []
    opened = sol.decisions[sol.decisions["open"] == 1].groupby("site_id")["period"]
    first_open = opened.min() if len(sol.decisions) else pd.Series(dtype=int)
    periods_open = opened.size() if len(sol.decisions) else pd.Series(dtype=int)
    for case in data.cases:
        test = f"{case.cost_per_place_night:.2f} per place-night"
        if not case.eligible:
            decision = "rejected"
            reason = f"{test} > budget {case.budget:.2f}"
        elif case.site_id in first_open.index:
            decision = "accepted"
            reason = (
                f"{test} <= budget {case.budget:.2f}; opened in period "
                f"{int(first_open[case.site_id])} for {int(periods_open[case.site_id])} periods"
            )
        else:
            decision = "not needed"
            reason = f"{test} <= budget {case.budget:.2f}, but the plan is cheaper without it"
        rows.append(
            (
                case.site_id,
                case.capacity,
                case.cost_per_place_night,
                case.budget,
                decision,
                reason,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "capacity",
            "cost_per_place_night",
            "budget",
            "decision",
            "reason",
        ],
    )


SITE_DECISIONS = ("opened", "closed", "kept", "not opened")


def site_decision_table(
    data: ReceptionData, sol: ReceptionSolution, occupancy: pd.DataFrame
) -> pd.DataFrame:
    """One row per site and inflow: whether the plan opened it (a candidate), closed it
    (an open site), kept it as it was, or left it shut, in which period, and the reason
    in numbers (its use at the peak, its contract, a business case's budget test).
    Business cases rejected on budget are listed too: they never enter the model."""
    open_by_site = sol.decisions.pivot(index="site_id", columns="period", values="open")
    cases = {c.site_id: c for c in data.cases}
    sites = data.sites[data.sites["site_id"] != UNHOUSED].reset_index(drop=True)
    status = {sid: data.status[s] for s, sid in enumerate(data.sites["site_id"])}
    peaks = occupancy.groupby(["inflow", "site_id"])["persons"].max()
    nights = occupancy.groupby(["inflow", "site_id"])["persons"].sum() * data.nights
    rows = []
    for inflow in data.inflows:
        site: Any
        for site in sites.itertuples(index=False):
            sid = str(site.site_id)
            is_open = open_by_site.loc[sid].to_numpy(dtype=int)
            periods = open_by_site.columns.to_numpy(dtype=int)
            decision, period = _site_decision(bool(status[sid][0] == OPEN), is_open, periods)
            peak = float(peaks.get((inflow, sid), 0.0))
            used = f"at most {peak:,.1f} persons in its {int(site.capacity)} places"
            reason = _site_reason(site, decision, period, int(is_open.sum()), used)
            if sid in cases:
                case = cases[sid]
                reason += (
                    f"; {case.cost_per_place_night:.2f} per place-night <= budget {case.budget:.2f}"
                )
            rows.append(
                {
                    "site_id": sid,
                    "inflow": inflow,
                    "state": str(site.state),
                    "tier": str(site.tier),
                    "capacity": int(site.capacity),
                    "decision": decision,
                    "period": period,
                    "periods_open": int(is_open.sum()),
                    "peak_persons": round(peak, 6),
                    "place_nights": round(float(nights.get((inflow, sid), 0.0)), 6),
                    "reason": reason,
                }
            )
        for case in data.cases:
            if case.eligible:
                continue
            rows.append(
                {
                    "site_id": case.site_id,
                    "inflow": inflow,
                    "state": "candidate",
                    "tier": "regular",
                    "capacity": case.capacity,
                    "decision": "not opened",
                    "period": None,
                    "periods_open": 0,
                    "peak_persons": 0.0,
                    "place_nights": 0.0,
                    "reason": f"rejected on budget: {case.cost_per_place_night:.2f} per "
                    f"place-night > budget {case.budget:.2f}",
                }
            )
    table = pd.DataFrame(rows)
    table["period"] = table["period"].astype("Int64")
    return table.sort_values(["inflow", "site_id"], ignore_index=True)


def _site_decision(
    open_before: bool, is_open: np.ndarray, periods: np.ndarray
) -> tuple[str, int | None]:
    """The decision on one site and its period: a site open before the plan is closed
    in its first closed period or kept; a shut one opened in its first open period or
    not opened."""
    if open_before:
        shut = np.flatnonzero(is_open == 0)
        return ("closed", int(periods[shut[0]])) if len(shut) else ("kept", None)
    opened = np.flatnonzero(is_open == 1)
    return ("opened", int(periods[opened[0]])) if len(opened) else ("not opened", None)


def _periods(n: int) -> str:
    return f"{n} period" if n == 1 else f"{n} periods"


def _site_reason(site: Any, decision: str, period: int | None, periods_open: int, used: str) -> str:
    """The reason for a site decision in numbers."""
    contract = f"contract until period {int(site.contract_end)}"
    if decision == "opened":
        return (
            f"opened in period {period} for {_periods(periods_open)} (contract of "
            f"{_periods(int(site.contract_periods))}), {used}"
        )
    if decision == "closed":
        forced = (
            "its contract ended" if site.state == "closing" else "the plan is cheaper without it"
        )
        return f"closed from period {period} ({contract}; {forced}), {used} before"
    if decision == "kept":
        return f"open in all {_periods(periods_open)}, {used}"
    return "the plan is cheaper without it"


def emergency_table(occupancy: pd.DataFrame, sol: ReceptionSolution) -> pd.DataFrame:
    """Emergency and crisis places used, and people without a bed, per period."""
    by_tier = occupancy.pivot_table(
        index=["inflow", "period"],
        columns="tier",
        values="persons",
        aggfunc="sum",
        fill_value=0.0,
    )
    for tier in ("regular", "emergency", "crisis"):
        if tier not in by_tier.columns:
            by_tier[tier] = 0.0
    unhoused = sol.occupancy[sol.occupancy["site_id"] == UNHOUSED]
    without = unhoused.groupby(["inflow", "period"])["persons"].sum()
    table = by_tier[["regular", "emergency", "crisis"]].copy()
    table["without_bed"] = without.reindex(table.index).fillna(0.0)
    table.columns = ["regular_places", "emergency_places", "crisis_places", "without_bed"]
    return table.reset_index().round(6)


def regions_table(data: ReceptionData, occupancy: pd.DataFrame) -> pd.DataFrame:
    """Per region and period: persons, open capacity, target (if any) and the share of
    second-stage persons of the region who stay in one of their home regions."""
    if occupancy["region"].isna().all():
        return pd.DataFrame(columns=["inflow", "region", "period", "persons"])
    table = occupancy.groupby(["inflow", "region", "period"], as_index=False)[
        ["persons", "open_capacity"]
    ].sum()
    targets = data.targets.rename(columns={"target": "target"})
    table = table.merge(targets, on=["region", "period"], how="left")
    table["deviation"] = (table["persons"] - table["target"]).round(6)
    reachable = table["open_capacity"].where(
        table["target"].isna(), table[["target", "open_capacity"]].min(axis=1)
    )
    table["meets_target_where_capacity_allows"] = (table["persons"] + 1e-6 >= reachable).where(
        table["target"].notna()
    )
    return table


def home_share(data: ReceptionData, sol: ReceptionSolution) -> float | None:
    """Share of the person-periods after the procedure, of types with a destination or
    preferred regions, spent in one of those regions."""
    occ = sol.occupancy[(sol.occupancy["stage"] == 2) & (sol.occupancy["site_id"] != UNHOUSED)]
    kinds = data.types.set_index("type_id")
    home = {
        k: set(row["preferred"]) | ({row["destination"]} if row["destination"] else set())
        for k, row in kinds.iterrows()
    }
    occ = occ[occ["type_id"].map(lambda k: bool(home[k]))]
    if occ.empty or occ["persons"].sum() == 0:
        return None
    region = data.sites.set_index("site_id")["region"]
    inside = [region[s] in home[k] for s, k in zip(occ["site_id"], occ["type_id"], strict=True)]
    return round(float(occ.loc[inside, "persons"].sum() / occ["persons"].sum()), 6)


def expected(data: ReceptionData, table: pd.DataFrame, column: str) -> float:
    """Sum of ``column`` per inflow, weighted by the inflow weights (one inflow: the
    plain sum)."""
    per_inflow = table.groupby("inflow")[column].sum()
    return round(float(sum(data.weights[str(w)] * v for w, v in per_inflow.items())), 6)


def diagnosis(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """What cannot be met: people without a bed per inflow and period (all sites full or
    closed), and open sites below their minimum occupancy."""
    rows: list[dict[str, Any]] = []
    occ = sol.occupancy
    unhoused = occ[(occ["site_id"] == UNHOUSED) & (occ["persons"] > 1e-6)]
    key: Any
    for key, group in unhoused.groupby(["inflow", "period"], sort=True):
        inflow, period = key
        missing = round(float(group["persons"].sum()), 6)
        rows.append(
            {
                "family": "capacity",
                "constraint": "a bed for everyone in reception",
                "inflow": str(inflow),
                "period": int(period),
                "bound": "all sites full or closed",
                "value": f"{missing:g} persons without a bed",
                "violation": missing,
                "unit": "persons",
            }
        )
    minimum = data.sites.set_index("site_id")["min_occupancy"]
    row: Any
    for row in sol.below_minimum.itertuples(index=False):
        rows.append(
            {
                "family": "min_occupancy",
                "constraint": str(row.site_id),
                "inflow": str(row.inflow),
                "period": int(row.period),
                "bound": f">= {int(minimum[row.site_id])}",
                "value": f"{int(minimum[row.site_id]) - row.short:g}",
                "violation": float(row.short),
                "unit": "persons",
            }
        )
    return diagnosis_frame(rows)


def reception_tables(data: ReceptionData, sol: ReceptionSolution) -> dict[str, pd.DataFrame]:
    """All output tables of a solved plan. With several inflows (a robust plan) the
    KPIs are expected values over the inflow weights; the tables are per inflow."""
    if sol.occupancy.empty:
        return {"kpis": pd.DataFrame([contract_kpis(sol)])}
    occupancy = occupancy_table(data, sol)
    moves = moves_table(sol)
    emergency = emergency_table(occupancy, sol)
    cases = business_case_table(data, sol)
    decisions = site_decision_table(data, sol, occupancy)
    objective = objective_table(sol)
    parts = sol.objective_parts
    nights = data.nights
    kpis = {
        **contract_kpis(sol),
        "inflows": ";".join(data.inflows),
        "inflow_weights": ";".join(f"{w}={data.weights[w]:g}" for w in data.inflows),
        "cost_eur": float(objective["money_eur"].sum()),
        "weighted": float(objective["weighted"].sum()),
        "cost_beds": parts["beds"].contribution,
        "cost_fixed": parts["fixed"].contribution + parts["opening"].contribution,
        "moves": expected(data, moves, "moves"),
        "emergency_place_nights": expected(data, emergency, "emergency_places") * nights,
        "crisis_place_nights": expected(data, emergency, "crisis_places") * nights,
        "peak_emergency_places": float(
            (emergency["emergency_places"] + emergency["crisis_places"]).max()
        ),
        "without_bed_person_periods": expected(data, emergency, "without_bed"),
        "business_cases_accepted": int((cases["decision"] == "accepted").sum()),
        "business_cases_rejected": int((cases["decision"] == "rejected").sum()),
        **{
            f"sites_{decision}": int(decisions["decision"].eq(decision).sum()) // len(data.inflows)
            for decision in ("opened", "closed")
        },
        "share_in_home_region": home_share(data, sol),
    }
    tables = {
        "occupancy": occupancy,
        "occupancy_by_class": sol.occupancy,
        "moves": moves,
        "moves_by_class": moves_by_class(data, sol),
        "objective": objective,
        "duals": duals_table(sol),
        "business_cases": cases,
        "site_decisions": decisions,
        "emergency": emergency,
        "regions": regions_table(data, occupancy),
        "kpis": pd.DataFrame([kpis]),
    }
    problems = diagnosis(data, sol)
    if not problems.empty:
        tables["diagnosis"] = problems
    return tables
