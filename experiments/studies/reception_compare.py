"""Reception plans for several inflows side by side (``asielplan reception-compare``).

One plan per inflow of the cohorts table (and, with ``robust``, one plan whose sites are
decided once against all of them), made here (:func:`compare_reception`) and turned into
the comparison: per plan the money (euros) and the weights apart, emergency and crisis
place-nights, the sites opened and their places (``comparison``); which sites open,
where and when (``openings``); and per region the extra places each plan needs beyond
the sites open before it: the places it opens and its peak in emergency and crisis
places (``extra_places``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from asielplan.config import RunConfig, with_overrides
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError
from asielplan.experiments.outputs import GAP, INFLOW, SITE, STATUS, Column, Output, Table
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.runs import (
    InstanceLike,
    Run,
    check_all,
    load_instance,
    plan_reception,
    write_study,
)
from asielplan.experiments.sections import Section, Shapes, study_sections
from asielplan.experiments.studies.study import Study
from asielplan.io import safe_names
from asielplan.solvers.highs import Progress

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


# --------------------------------------------------------------------------- the runs


@dataclass
class ReceptionComparison:
    """Reception plans for several inflows side by side (``asielplan
    reception-compare``): ``comparison`` (one row per plan), ``openings`` (the sites
    each plan opens, where and when), ``extra_places`` (per plan, inflow and region the
    places opened and the peak in emergency and crisis places), and the runs by plan:
    each inflow's name, and ``robust`` for the plan whose sites are decided once
    against every inflow."""

    instance: Instance
    config: RunConfig
    inflows: list[str]
    runs: dict[str, Run]
    comparison: pd.DataFrame
    openings: pd.DataFrame
    extra_places: pd.DataFrame


def compare_reception(
    inflows: list[str],
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    robust: bool = False,
    progress: Progress | None = None,
) -> ReceptionComparison:
    """Plan reception for each of ``inflows`` (the cohorts table's inflows, two or more)
    and, with ``robust``, once against all of them, and compare (docs/formulation/
    reception.md). Every plan is checked before the first solve."""
    config = config or RunConfig()
    say = progress or (lambda message: None)
    inst = load_instance(instance)
    if len(inflows) < 2:
        raise ConfigError("--inflows needs two or more different inflows of the cohorts table")
    single = {"reception.robust": False}
    configs = {
        name: with_overrides(config, {**single, "reception.inflow": name}, f"inflow {name}")
        for name in inflows
    }
    if robust:
        overrides = {"reception.robust": True, "reception.inflow": inflows[0]}
        configs[ROBUST] = with_overrides(config, overrides, "robust")
    if robust and ROBUST in inflows:
        raise ConfigError(f"an inflow named {ROBUST!r} would be the robust plan's name")
    check_all(inst, list(configs.values()), "reception")
    runs: dict[str, Run] = {}
    for number, (name, cfg) in enumerate(configs.items(), start=1):
        say(f"reception plan {number}/{len(configs)}: {name}")
        runs[name] = plan_reception(inst, cfg, progress)
    plans = {name: run.tables for name, run in runs.items()}
    return ReceptionComparison(
        inst,
        config,
        list(inflows),
        runs,
        comparison_table(plans),
        openings_table(plans),
        extra_places_table(plans),
    )


def write_reception_comparison(result: ReceptionComparison, out: str | Path) -> Path:
    """``comparison``, ``openings`` and ``extra_places`` (CSV/Parquet),
    ``comparison.png``, a manifest and each plan's run (``runs/<plan>``, the plan's name
    made a safe folder name: an inflow's name is never a path), atomically."""

    def draw(folder: Path) -> None:
        title = result.instance.meta.name
        plot_comparison(result.comparison, folder / "comparison.png", title)

    folders = safe_names(list(result.runs))
    runs = {folders[name]: run for name, run in result.runs.items()}
    tables = {
        "comparison": result.comparison,
        "openings": result.openings,
        "extra_places": result.extra_places,
    }
    extra = {"inflows": result.inflows, "run_folders": {n: f"runs/{f}" for n, f in folders.items()}}
    return write_study(
        out, "reception compare", result.instance, result.config, tables, runs, draw, extra
    )


# --------------------------------------------------------------------------- its files

PLAN_NAME = Column(
    "plan", "text", "", "The plan: an inflow's name, or robust (sites decided against all)."
)
RECEPTION_COMPARE = Output(
    "reception compare",
    ("asielplan reception-compare",),
    "Reception plans for several inflows side by side (and, with --robust, the plan whose "
    "sites are decided once against all of them).",
    (
        Table(
            "comparison",
            "One row per plan: money and weights apart, place-nights, the sites and places "
            "it opens; a plan without a solution keeps its row, its figures blank.",
            (
                PLAN_NAME,
                Column("inflows", "text", "", "The inflows it is planned for (; between)."),
                STATUS,
                GAP,
                Column("cost_eur", "number", "EUR", "Money: beds, fixed and opening costs."),
                Column("cost_beds_eur", "number", "EUR", "Of it, beds."),
                Column("cost_sites_eur", "number", "EUR", "Of it, fixed and opening costs."),
                Column("weighted", "number", "weight", "The weights: moves and penalties."),
                Column("moves", "number", "moves", "Transfers between sites (expected)."),
                Column(
                    "emergency_place_nights",
                    "number",
                    "place-nights",
                    "In noodopvang (expected over the inflows of a robust plan).",
                ),
                Column("crisis_place_nights", "number", "place-nights", "In crisisnoodopvang."),
                Column(
                    "peak_emergency_places",
                    "number",
                    "persons",
                    "The most persons in emergency and crisis places in one period.",
                ),
                Column(
                    "without_bed_person_periods",
                    "number",
                    "person-periods",
                    "Persons without a bed (an infeasible plan).",
                ),
                Column("sites_opened", "integer", "sites", "Sites it opens (site_decisions)."),
                Column("sites_closed", "integer", "sites", "Sites it closes."),
                Column(
                    "business_cases_accepted",
                    "integer",
                    "business cases",
                    "Business cases accepted on budget and opened.",
                ),
                Column("places_opened", "integer", "places", "Places of the sites it opens."),
            ),
        ),
        Table(
            "openings",
            "One row per plan, inflow and site it opens.",
            (
                PLAN_NAME,
                INFLOW,
                SITE,
                Column("region", "text", "", "The site's region ([reception] region_level)."),
                Column("tier", "text", "", "regular, emergency or crisis."),
                Column("capacity", "integer", "places", "Its places."),
                Column("period", "integer", "period", "The first period it is open."),
            ),
        ),
        Table(
            "extra_places",
            "One row per plan, inflow and region: the extra places the inflow needs there "
            "beyond the sites open before the plan.",
            (
                PLAN_NAME,
                INFLOW,
                Column("region", "text", "", "The region; (none) for sites without one."),
                Column("places_opened", "integer", "places", "Places of the sites opened here."),
                Column(
                    "peak_emergency_crisis",
                    "number",
                    "persons",
                    "The most persons in emergency and crisis sites here in one period.",
                ),
                Column(
                    "extra_places",
                    "number",
                    "places",
                    "places_opened + peak_emergency_crisis.",
                ),
            ),
        ),
    ),
    runs=((("runs/<plan>/",), ("reception",)),),
)


def reception_compare_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    return study_sections(
        run,
        "comparison.png",
        [
            ("comparison", "Each plan: money and weights apart, place-nights, sites opened"),
            ("openings", "The sites each plan opens, where and when"),
            ("extra_places", "Extra places per plan, inflow and region"),
        ],
        "The comparison wrote no plot.",
    )


STUDY = Study(
    "reception compare",
    "Reception plans per inflow",
    RECEPTION_COMPARE,
    reception_compare_sections,
    maps=True,
)
