"""Reception plans for several inflows side by side (``asielplan reception-compare``).

One plan per inflow of the cohorts table (and, with ``robust``, one plan whose sites are
decided once against all of them), made by the API; this module turns their tables into
the comparison: per plan the money (euros) and the weights apart, emergency and crisis
place-nights, the sites opened and their places (``comparison``); which sites open,
where and when (``openings``); and per region the extra places each plan needs beyond
the sites open before it: the places it opens and its peak in emergency and crisis
places (``extra_places``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asielplan.experiments.plots import pyplot

ROBUST = "robust"  # the plan name of the robust plan (sites decided against every inflow)

# comparison column -> kpis column of the plan's run
FROM_KPIS = {
    "cost_eur": "cost_eur",
    "cost_beds_eur": "cost_beds",
    "cost_sites_eur": "cost_fixed",
    "weighted": "weighted",
    "moves": "moves",
    "emergency_place_nights": "emergency_place_nights",
    "crisis_place_nights": "crisis_place_nights",
    "peak_emergency_places": "peak_emergency_places",
    "without_bed_person_periods": "without_bed_person_periods",
    "sites_opened": "sites_opened",
    "sites_closed": "sites_closed",
    "business_cases_accepted": "business_cases_accepted",
}
COMPARISON_COLUMNS = ["plan", "inflows", "status", "gap", *FROM_KPIS, "places_opened"]


def comparison_table(plans: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per plan (an inflow's name, or ``robust``): its status and gap, money
    and weights apart, place-nights, and the sites and places it opens. A plan without
    a solution keeps its row with its status, its figures blank."""
    rows = []
    for plan, tables in plans.items():
        kpi = tables["kpis"].iloc[0]
        row: dict[str, object] = {
            "plan": plan,
            "inflows": kpi.get("inflows", plan),
            "status": kpi["status"],
            "gap": kpi.get("gap"),
        }
        for column, source in FROM_KPIS.items():
            row[column] = kpi.get(source, np.nan)
        if "site_decisions" in tables:  # a robust plan's openings hold for every inflow
            opened = opened_sites(tables).drop_duplicates("site_id")
            row["places_opened"] = int(opened["capacity"].sum())
        else:
            row["places_opened"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def opened_sites(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The sites a plan opens (``site_decisions`` rows with decision opened)."""
    decisions = tables.get("site_decisions")
    if decisions is None:
        return pd.DataFrame(columns=["site_id", "inflow", "tier", "capacity", "period"])
    return decisions[decisions["decision"] == "opened"]


def openings_table(plans: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per plan, inflow and site it opens: the site's region, tier and places,
    and the period it opens in."""
    frames = []
    for plan, tables in plans.items():
        opened = opened_sites(tables)
        occupancy = tables.get("occupancy")
        regions = (
            occupancy.drop_duplicates("site_id").set_index("site_id")["region"]
            if occupancy is not None
            else pd.Series(dtype=object)
        )
        frames.append(
            pd.DataFrame(
                {
                    "plan": plan,
                    "inflow": opened["inflow"].to_numpy(),
                    "site_id": opened["site_id"].to_numpy(),
                    "region": opened["site_id"].map(regions).to_numpy(),
                    "tier": opened["tier"].to_numpy(),
                    "capacity": opened["capacity"].to_numpy(),
                    "period": opened["period"].to_numpy(),
                }
            )
        )
    columns = ["plan", "inflow", "site_id", "region", "tier", "capacity", "period"]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def extra_places_table(plans: dict[str, dict[str, pd.DataFrame]]) -> pd.DataFrame:
    """One row per plan, inflow and region: the places of the sites the plan opens
    there, and its peak in persons in emergency and crisis sites there (one period):
    together the extra places the inflow needs in the region beyond what was open."""
    rows = []
    for plan, tables in plans.items():
        occupancy = tables.get("occupancy")
        if occupancy is None:
            continue
        opened = opened_sites(tables)
        for inflow, part in occupancy.groupby("inflow", sort=True):
            region = part["region"].fillna("(none)")
            urgent = part[part["tier"].isin(["emergency", "crisis"])]
            peak = (
                urgent.assign(region=region)
                .groupby(["region", "period"])["persons"]
                .sum()
                .groupby(level="region")
                .max()
            )
            here = opened[opened["inflow"] == inflow]
            sites = part.drop_duplicates("site_id").set_index("site_id")["region"].fillna("(none)")
            places = (
                here.assign(region=here["site_id"].map(sites)).groupby("region")["capacity"].sum()
            )
            for name in sorted(set(region)):
                opened_places = int(places.get(name, 0))
                urgent_peak = float(peak.get(name, 0.0))
                rows.append(
                    {
                        "plan": plan,
                        "inflow": inflow,
                        "region": name,
                        "places_opened": opened_places,
                        "peak_emergency_crisis": round(urgent_peak, 6),
                        "extra_places": round(opened_places + urgent_peak, 6),
                    }
                )
    columns = [
        "plan",
        "inflow",
        "region",
        "places_opened",
        "peak_emergency_crisis",
        "extra_places",
    ]
    return pd.DataFrame(rows, columns=columns)


def plot_comparison(comparison: pd.DataFrame, path: Path, title: str) -> None:
    """Side by side per plan: money (EUR), emergency and crisis place-nights, and the
    places opened; a plan without a solution keeps its place, marked."""
    plt = pyplot()

    panels = [
        ("cost_eur", "money (EUR)"),
        ("emergency_place_nights", "emergency place-nights"),
        ("crisis_place_nights", "crisis place-nights"),
        ("places_opened", "places in sites opened"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    plans = comparison["plan"].astype(str).tolist()
    solved = comparison["status"].isin(["optimal", "feasible"]).to_numpy()
    for ax, (column, label) in zip(axes[0], panels, strict=True):
        values = pd.to_numeric(comparison[column], errors="coerce").fillna(0.0).to_numpy()
        ax.bar(plans, values, color=np.where(solved, "#4C72B0", "#dddddd"))
        for k, ok in enumerate(solved):
            if not ok:
                ax.text(k, 0, "no plan", rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{title}: reception plans per inflow")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
