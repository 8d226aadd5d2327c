"""Result tables and the occupancy plot of a reception plan.

Tables: ``occupancy`` (site x period against capacity), ``moves`` (transfers per class,
edge and period), ``moves_by_class``, ``costs`` (the cost split), ``business_cases`` (accepted or
rejected, with the reason in numbers), ``emergency`` (emergency and crisis places per
period), ``regions`` (fill against targets, share in home regions), ``kpis`` and, when
something cannot be met, ``diagnosis``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asielplan.model.reception import UNHOUSED, ReceptionData
from asielplan.solvers.reception import ReceptionSolution


def occupancy_table(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """Persons per site and period with the site's open state and capacity."""
    sites = data.sites[data.sites["site_id"] != UNHOUSED]
    grid = sol.decisions.merge(
        sites[["site_id", "municipality", "modality", "line", "tier", "region", "capacity"]],
        on="site_id",
    )
    frames = []
    for scenario in data.scenarios:
        occ = sol.occupancy[sol.occupancy["scenario"] == scenario]
        persons = occ.groupby(["site_id", "period"])["persons"].sum().rename("persons")
        frame = grid.merge(persons, on=["site_id", "period"], how="left")
        frame.insert(0, "scenario", scenario)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["persons"] = table["persons"].fillna(0.0).round(6)
    table["open_capacity"] = table["capacity"] * table["open"]
    table["utilisation"] = np.where(
        table["open_capacity"] > 0, table["persons"] / table["open_capacity"], np.nan
    ).round(6)
    return table.sort_values(["scenario", "site_id", "period"], ignore_index=True)


def moves_table(sol: ReceptionSolution) -> pd.DataFrame:
    """Transfers per class, modality edge and period (arrivals not counted). Moves in
    the procedure belong to the procedure class; the move at the end of the procedure
    and later ones to the cohort type."""
    flows = sol.flows[sol.flows["from"] != "arrival"]
    return (
        flows.groupby(["scenario", "class_id", "from", "to", "period"], as_index=False)["persons"]
        .sum()
        .rename(columns={"persons": "moves"})
        .sort_values(["scenario", "class_id", "period", "from", "to"], ignore_index=True)
    )


def moves_by_class(data: ReceptionData, sol: ReceptionSolution) -> pd.DataFrame:
    """Per scenario and class: who it is, people who entered it (arrivals, or
    promotions for the classes after the procedure), moves and moves per person."""
    moves = moves_table(sol).groupby(["scenario", "class_id"])["moves"].sum()
    rows = []
    for w, scenario in enumerate(data.scenarios):
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
            moved = float(moves.get((scenario, cls["class_id"]), 0.0))
            rows.append(
                (
                    scenario,
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
            "scenario",
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


def emergency_table(occupancy: pd.DataFrame, sol: ReceptionSolution) -> pd.DataFrame:
    """Emergency and crisis places used, and people without a bed, per period."""
    by_tier = occupancy.pivot_table(
        index=["scenario", "period"],
        columns="tier",
        values="persons",
        aggfunc="sum",
        fill_value=0.0,
    )
    for tier in ("regular", "emergency", "crisis"):
        if tier not in by_tier.columns:
            by_tier[tier] = 0.0
    unhoused = sol.occupancy[sol.occupancy["site_id"] == UNHOUSED]
    without = unhoused.groupby(["scenario", "period"])["persons"].sum()
    table = by_tier[["regular", "emergency", "crisis"]].copy()
    table["without_bed"] = without.reindex(table.index).fillna(0.0)
    table.columns = ["regular_places", "emergency_places", "crisis_places", "without_bed"]
    return table.reset_index().round(6)


def regions_table(data: ReceptionData, occupancy: pd.DataFrame) -> pd.DataFrame:
    """Per region and period: persons, open capacity, target (if any) and the share of
    second-stage persons of the region who stay in one of their home regions."""
    if occupancy["region"].isna().all():
        return pd.DataFrame(columns=["scenario", "region", "period", "persons"])
    table = occupancy.groupby(["scenario", "region", "period"], as_index=False)[
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
    """Sum of ``column`` per scenario, weighted by the scenario weights (one scenario:
    the plain sum)."""
    per_scenario = table.groupby("scenario")[column].sum()
    return round(float(sum(data.weights[w] * v for w, v in per_scenario.items())), 6)


def reception_tables(data: ReceptionData, sol: ReceptionSolution) -> dict[str, pd.DataFrame]:
    """All output tables of a solved plan. With several scenarios (a robust plan) the
    KPIs are expected values over the scenario weights; the tables are per scenario."""
    if not sol.status.has_solution:
        return {"diagnosis": sol.diagnosis}
    occupancy = occupancy_table(data, sol)
    moves = moves_table(sol)
    emergency = emergency_table(occupancy, sol)
    cases = business_case_table(data, sol)
    costs = pd.DataFrame(
        [(name, round(value, 2)) for name, value in sol.costs.items()], columns=["part", "eur"]
    )
    nights = data.nights
    kpis = {
        "status": sol.status.value,
        "scenarios": ";".join(data.scenarios),
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "cost_beds": sol.costs["beds"],
        "cost_fixed": sol.costs["fixed"] + sol.costs["opening"],
        "moves": expected(data, moves, "moves"),
        "emergency_place_nights": expected(data, emergency, "emergency_places") * nights,
        "crisis_place_nights": expected(data, emergency, "crisis_places") * nights,
        "peak_emergency_places": float(
            (emergency["emergency_places"] + emergency["crisis_places"]).max()
        ),
        "without_bed_person_periods": expected(data, emergency, "without_bed"),
        "business_cases_accepted": int((cases["decision"] == "accepted").sum()),
        "business_cases_rejected": int((cases["decision"] == "rejected").sum()),
        "share_in_home_region": home_share(data, sol),
    }
    tables = {
        "occupancy": occupancy,
        "moves": moves,
        "moves_by_class": moves_by_class(data, sol),
        "costs": costs,
        "business_cases": cases,
        "emergency": emergency,
        "regions": regions_table(data, occupancy),
        "kpis": pd.DataFrame([kpis]),
    }
    if not sol.diagnosis.empty:
        tables["diagnosis"] = sol.diagnosis
    return tables


def plot_occupancy(
    data: ReceptionData, tables: dict[str, pd.DataFrame], path: Path, title: str
) -> None:
    """Occupancy by tier against open capacity over time, one panel per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    occupancy = tables["occupancy"]
    emergency = tables["emergency"]
    scenarios = list(data.scenarios)
    fig, axes = plt.subplots(
        len(scenarios), 1, figsize=(9, 3.2 * len(scenarios)), squeeze=False, sharex=True
    )
    for ax, scenario in zip(axes[:, 0], scenarios, strict=True):
        em = emergency[emergency["scenario"] == scenario].sort_values("period")
        cap = occupancy[occupancy["scenario"] == scenario].pivot_table(
            index="period", columns="tier", values="open_capacity", aggfunc="sum", fill_value=0
        )
        periods = em["period"].to_numpy()
        ax.stackplot(
            periods,
            em["regular_places"],
            em["emergency_places"],
            em["crisis_places"],
            em["without_bed"],
            labels=["regular", "noodopvang", "crisisnoodopvang", "without a bed"],
            colors=["#4C72B0", "#DD8452", "#C44E52", "#000000"],
            alpha=0.85,
        )
        if "regular" in cap:
            ax.plot(cap.index, cap["regular"], "k--", lw=1.2, label="open regular capacity")
            ax.plot(
                cap.index,
                cap["regular"] * data.spec.buffer_norm,
                "k:",
                lw=1,
                label=f"buffer norm ({data.spec.buffer_norm:.0%})",
            )
        ax.set_title(f"{title}: {scenario}")
        ax.set_ylabel("persons")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"period ({data.nights} nights)")
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_region_targets(tables: dict[str, pd.DataFrame], path: Path, title: str) -> bool:
    """Bars of persons against target and open capacity per region, in the last period
    with targets (first scenario). Returns False when the plan has no region targets."""
    regions = tables.get("regions")
    if regions is None or "target" not in regions or regions["target"].isna().all():
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_target = regions[regions["target"].notna()]
    first = with_target["scenario"].iloc[0]
    last = with_target[with_target["scenario"] == first]
    last = last[last["period"] == last["period"].max()].sort_values("region")
    x = np.arange(len(last))
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(last)), 4))
    ax.bar(x - 0.2, last["persons"], width=0.4, label="persons", color="#4C72B0")
    ax.bar(x + 0.2, last["open_capacity"], width=0.4, label="open capacity", color="#BBBBBB")
    ax.scatter(x, last["target"], marker="_", s=400, color="#C44E52", label="target", zorder=3)
    ax.set_xticks(x, last["region"], rotation=45, ha="right")
    ax.set_ylabel("persons")
    ax.set_title(f"{title}: regional fill, period {int(last['period'].iloc[0])}")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return True
