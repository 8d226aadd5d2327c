"""The planner's report: one self-contained HTML file for a run folder.

:func:`build_report` reads a run folder (its ``manifest.json`` says the kind of run and
the instance it used) and renders, with ``templates/report/report.html.j2``:

- a placement: headline figures; maps of each municipality's fulfilment (placed against
  target, diverging around 100%; in a weekly batch also the share of the period's
  taakstelling realised) and of the labour score per placed person; the moves from
  reception sites to the COA regions as lines; outcomes by gender composition and by
  household size; the region table and the objective's parts;
- a reception plan: headline figures; occupancy against open capacity per line and tier
  over time (with dates when the instance names the first period, business-case
  openings marked); emergency and crisis place-nights per period; a map of the sites by
  modality sized by peak occupancy; the business cases with their reason; the inflows
  side by side;
- a scheme comparison, a front, a sweep, a fairness study or a batch: its chart and
  tables, and for schemes a map of each scheme's target minus the population key;
- a taakstelling: its map and table;
- a chain plan: the stocks of every inflow over time and occupancy by tier against the
  places open, the taakstelling per half-year, the stages of the solve, the site
  decisions and the levers per period.

Maps are drawn in RD New from the shapes of the run's instance (:mod:`.maps`); without
them (an instance moved, changed since the run, or without shapes) the report says so
and shows the rest. Images are PNG inlined as data URIs: the file makes no request to
any network. Only aggregates are shown: no household, no personal attribute; outcome
groups suppressed in the run's tables stay suppressed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.data.instance import read_instance
from asielplan.errors import ConfigError, InputError, Issue
from asielplan.experiments import maps
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.sections import (
    REPORT_FILE,
    Figure,
    Section,
    Shapes,
    cell,
    figure,
    run_image,
    study_sections,
    table,
)
from asielplan.experiments.studies import STUDIES
from asielplan.io import atomic_write_text, sha256_file
from asielplan.model.labour_fit import MAXIMUM_LIKELIHOOD

TEMPLATES = Path(__file__).parent / "templates" / "report"


# --------------------------------------------------------------------------- the instance


def run_instance(run: RunFolder, given: Path | None) -> Shapes:
    """The instance a run used (``given``, else the folder its manifest names), checked
    against the SHA-256 of its files in the manifest, with its shapes for the maps."""
    named = run.manifest.get("instance_path")
    path = given or (Path(named) if named else None)
    if path is None:
        return Shapes(None, None, "the run does not name its instance: pass --instance")
    try:
        inst = read_instance(path)
    except InputError as exc:
        return Shapes(None, None, f"the instance {path} cannot be read ({exc.issues[0]})")
    changed = [
        name
        for name, digest in run.manifest.get("inputs_sha256", {}).items()
        if (path / name).is_file() and sha256_file(path / name) != digest
    ]
    if changed:
        return Shapes(
            inst,
            None,
            f"the instance {path} has changed since the run ({', '.join(changed)}): "
            "no maps, as they could show other numbers than the run's",
        )
    if inst.geometry is None:
        return Shapes(
            inst, None, "the instance has no municipality shapes (.geojson or .gpkg): no maps"
        )
    return Shapes(inst, maps.map_frame(inst.geometry, inst.municipalities), "")


# --------------------------------------------------------------------------- content


def _kpi_reader(run: RunFolder) -> Callable[[str], Any] | None:
    """A reader of the run's one row of KPIs (None for a missing or empty value), or
    None when the run has no KPIs."""
    kpis = run.table("kpis")
    if kpis is None or kpis.empty:
        return None
    row = kpis.iloc[0]

    def get(name: str) -> Any:
        return row[name] if name in row and pd.notna(row[name]) else None

    return get


def _headline(pairs: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(label, cell(value)) for label, value in pairs if value is not None]


# --------------------------------------------------------------------------- placement


def placement_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    municipalities = run.table("municipalities")
    households = run.table("households")
    sections: list[Section] = []
    maps_section = Section("Maps")
    if shapes.frame is None:
        maps_section.notes.append(f"Maps left out: {shapes.note}.")
    elif municipalities is not None:
        measures = municipality_measures(municipalities).reindex(shapes.frame["code"])
        maps_section.figures.append(
            figure(
                maps.choropleth(
                    shapes.frame,
                    measures["fulfilment"],
                    "Fulfilment: persons placed against the target",
                    "placed / target (%)",
                    centre=100.0,
                    missing="no target",
                ),
                "map of fulfilment per municipality",
            )
        )
        if "realised" in measures:
            maps_section.figures.append(
                figure(
                    maps.choropleth(
                        shapes.frame,
                        measures["realised"],
                        "Share of the period's taakstelling realised after this batch",
                        "(placed before + placed now) / taakstelling (%)",
                        cmap="YlGn",
                        missing="no taakstelling",
                    ),
                    "map of the share of the taakstelling realised",
                )
            )
        maps_section.figures.append(
            figure(
                maps.choropleth(
                    shapes.frame,
                    measures["labour_per_person"],
                    "Labour score per placed person",
                    "expected employed per placed person",
                    cmap="viridis",
                    missing="nobody placed",
                ),
                "map of the labour score per placed person",
            )
        )
        moves = _moves_map(households, municipalities, shapes)
        if moves is not None:
            maps_section.figures.append(moves)
        else:
            maps_section.notes.append(
                "No map of moves: the households have no reception site (from_site)."
            )
    sections.append(maps_section)
    sections.append(_group_section(run))
    trace = run.table("trace")
    if trace is not None and len(trace):
        sections.append(_search_section(trace))
    tables = Section("Tables")
    regions = run.table("regions")
    if regions is not None:
        tables.tables.append(table(regions, "Regions: persons placed against targets and bands"))
    objective = run.table("objective")
    if objective is not None:
        tables.tables.append(
            table(objective, "The objective's parts (weights and euros in their own columns)")
        )
    if municipalities is not None:
        tables.tables.append(table(municipalities, "Municipalities"))
    sections.append(tables)
    return sections


def _search_section(trace: pd.DataFrame) -> Section:
    """The incumbent and the proven bound over the search's seconds (trace.csv)."""
    plt = pyplot()
    section = Section("The search: plan and bound over time")
    fig, ax = plt.subplots(figsize=(8, 3.4))
    end = float(trace["seconds"].max())
    for column, colour, label in (
        ("objective", "#1f5f8b", "best plan found (incumbent)"),
        ("bound", "#C44E52", "proven bound"),
    ):
        known = trace[["seconds", column]].dropna()
        if len(known):
            x = [*known["seconds"], end]
            y = [*known[column], known[column].iloc[-1]]
            ax.step(x, y, where="post", color=colour, label=label)
    ax.set_xlabel("seconds since the search began")
    ax.set_ylabel("objective (maximised)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    section.figures.append(figure(fig, "incumbent and bound over time"))
    last = trace.iloc[-1]
    if pd.notna(last["gap"]):
        section.notes.append(
            f"At {cell(float(last['seconds']))} s the gap between the plan and the bound "
            f"was {float(last['gap']):.4%} ({len(trace)} events in trace.csv)."
        )
    return section


def municipality_measures(municipalities: pd.DataFrame) -> pd.DataFrame:
    """What the placement maps show, per municipality code: ``fulfilment``, placed
    persons as % of the target (missing without a target); ``labour_per_person``, the
    labour score per placed person (missing when nobody is placed); in a weekly batch
    ``realised``, % of the period's taakstelling realised after it."""
    table = municipalities.set_index("municipality")
    target = table["target"].to_numpy(dtype=float)
    placed = table["placed_persons"].to_numpy(dtype=float)
    labour = table["labour_score"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "fulfilment": np.where(target > 0, 100 * placed / target, np.nan),
                "labour_per_person": np.where(placed > 0, labour / placed, np.nan),
            },
            index=table.index,
        )
    if "realised" in table:
        out["realised"] = 100 * table["realised"].to_numpy(dtype=float)
    return out


def placement_headline(run: RunFolder) -> list[tuple[str, str]]:
    get = _kpi_reader(run)
    if get is None:
        return []
    return _headline(
        [
            (
                "households placed",
                f"{cell(get('placed_households'))} of {cell(get('households'))}",
            ),
            ("persons", get("persons")),
            ("expected employed", get("expected_employed")),
            ("mean distance (km)", get("mean_distance_km")),
            ("households leaving their COA region", get("left_coa_region")),
            ("total deviation from targets (persons)", get("total_abs_deviation")),
            ("unplaced persons", get("unplaced_persons")),
            ("households placed elsewhere than before", get("changes")),
        ]
    )


def _moves_map(
    households: pd.DataFrame | None, municipalities: pd.DataFrame, shapes: Shapes
) -> Figure | None:
    """Persons moving from each reception site to each COA region, as one line per
    (site, region) from the site's municipality to the persons-weighted centre of the
    municipalities they go to in that region."""
    inst = shapes.instance
    if households is None or inst is None or inst.sites is None or inst.sites.empty:
        return None
    moving = households[households["placed"].astype(bool) & households["from_site"].notna()]
    if moving.empty:
        return None
    levels = [lvl for lvl in ("coa_region", *inst.region_levels) if lvl in municipalities]
    level = levels[0] if levels else "municipality"
    region = municipalities.set_index("municipality")[level]
    site_place = inst.sites.set_index("site_id")["municipality"]
    centres = shapes.centroids()
    frame = pd.DataFrame(
        {
            "site": moving["from_site"].astype(str).to_numpy(),
            "region": moving["municipality"].map(region).to_numpy(),
            "persons": moving["persons"].to_numpy(dtype=float),
            "x": centres["x"].reindex(moving["municipality"]).to_numpy(),
            "y": centres["y"].reindex(moving["municipality"]).to_numpy(),
        }
    )
    frame = frame[frame["site"].isin(site_place.index)]
    frame["wx"], frame["wy"] = frame["x"] * frame["persons"], frame["y"] * frame["persons"]
    lines = frame.groupby(["site", "region"], sort=True)[["persons", "wx", "wy"]].sum()
    lines = lines.reset_index()
    origin = centres.reindex(site_place.reindex(lines["site"]).to_numpy())
    lines = lines.assign(
        x0=origin["x"].to_numpy(),
        y0=origin["y"].to_numpy(),
        x1=lines["wx"] / lines["persons"],
        y1=lines["wy"] / lines["persons"],
    ).dropna(subset=["x0", "y0"])
    sites = origin.dropna().drop_duplicates()
    name = "COA region" if level == "coa_region" else level
    return figure(
        maps.flows(
            shapes.frame,
            lines,
            f"Moves: persons from each reception site to each {name} ({len(lines)} lines)",
            sites,
        ),
        "map of moves from reception sites",
    )


def _group_section(run: RunFolder) -> Section:
    plt = pyplot()

    section = Section("Outcomes by group")
    gender, size = run.table("outcomes_by_gender"), run.table("outcomes_by_size")
    if gender is None or size is None:
        section.notes.append("The run has no outcome tables.")
        return section
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    shown = gender[~gender["suppressed"].astype(bool)]
    axes[0].barh(shown["composition"], shown["mean_score"], color="#4C72B0")
    axes[0].set_xlabel("mean labour score per household")
    axes[0].set_title("by gender composition of the adults", fontsize=9)
    women = shown["mean_p_adult_women"].to_numpy(dtype=float)
    men = shown["mean_p_adult_men"].to_numpy(dtype=float)
    y = np.arange(len(shown))
    axes[1].barh(y - 0.2, women, height=0.4, color="#DD8452", label="adult women")
    axes[1].barh(y + 0.2, men, height=0.4, color="#55A868", label="adult men")
    axes[1].set_yticks(y, shown["composition"])
    axes[1].set_xlabel("mean employment probability")
    axes[1].set_title("adult women and men", fontsize=9)
    axes[1].legend(fontsize=7)
    visible = size[~size["suppressed"].astype(bool)]
    axes[2].bar(visible["size"].astype(str), visible["score_per_person"], color="#4C72B0")
    axes[2].set_xlabel("household size (persons)")
    axes[2].set_ylabel("labour score per person")
    axes[2].set_title("by household size", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    section.figures.append(figure(fig, "outcomes by group"))
    hidden = int((~size["households"].eq(0) & size["suppressed"].astype(bool)).sum()) + int(
        (~gender["households"].eq(0) & gender["suppressed"].astype(bool)).sum()
    )
    if hidden:
        section.notes.append(
            f"{hidden} group(s) of fewer households than output.min_cell are counted but not shown."
        )
    section.tables.append(table(gender, "Outcomes by gender composition"))
    section.tables.append(table(size, "Outcomes by household size"))
    return section


# --------------------------------------------------------------------------- reception


def period_axis(shapes: Shapes) -> tuple[Callable[[np.ndarray], Any], str]:
    """Period numbers to x values: dates when the instance names a first period that is
    a date, else the numbers themselves."""
    inst = shapes.instance
    spec = inst.meta.reception if inst is not None else None
    if spec is not None and spec.first_period:
        try:
            first = date.fromisoformat(spec.first_period)
        except ValueError:
            first = None
        if first is not None:
            nights = spec.nights_per_period

            def dates(periods: np.ndarray) -> Any:
                return [first + timedelta(days=int(nights * (p - 1))) for p in periods]

            return dates, "date (start of the period)"
    label = "period" if spec is None else f"period ({spec.nights_per_period} nights)"
    return (lambda periods: periods), label


def reception_headline(run: RunFolder) -> list[tuple[str, str]]:
    get = _kpi_reader(run)
    if get is None:
        return []
    return _headline(
        [
            ("cost (euros)", get("cost_eur")),
            ("moves", get("moves")),
            ("emergency place-nights", get("emergency_place_nights")),
            ("crisis place-nights", get("crisis_place_nights")),
            ("peak emergency places", get("peak_emergency_places")),
            ("person-periods without a bed", get("without_bed_person_periods")),
            ("business cases accepted", get("business_cases_accepted")),
            ("business cases rejected", get("business_cases_rejected")),
            ("sites opened during the plan", get("sites_opened")),
            ("sites closed during the plan", get("sites_closed")),
        ]
    )


def reception_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    plt = pyplot()

    occupancy, emergency = run.table("occupancy"), run.table("emergency")
    cases, decisions = run.table("business_cases"), run.table("site_decisions")
    sections: list[Section] = []
    if occupancy is None or emergency is None:
        return [Section("Plan", notes=["The run has no occupancy tables (no plan)."])]
    to_x, xlabel = period_axis(shapes)
    inflows = list(dict.fromkeys(emergency["inflow"]))
    judged = set() if cases is None else set(cases["site_id"].astype(str))
    changed = pd.DataFrame(columns=["site_id", "decision"])
    if decisions is not None:
        changed = decisions[decisions["decision"].isin(["opened", "closed"])]
    over_time = Section("Occupancy over time")
    fig, axes = plt.subplots(
        len(inflows), 1, figsize=(11, 3.4 * len(inflows)), squeeze=False, sharex=True
    )
    for ax, inflow in zip(axes[:, 0], inflows, strict=True):
        part = occupancy[occupancy["inflow"] == inflow].copy()
        part["group"] = part["line"].fillna("").astype(str) + " / " + part["tier"].astype(str)
        part["group"] = part["group"].str.replace(r"^ / ", "", regex=True)
        persons = part.pivot_table(
            index="period", columns="group", values="persons", aggfunc="sum", fill_value=0
        )
        regular = part[part["tier"] == "regular"]
        capacity = regular.groupby("period")["open_capacity"].sum()
        x = to_x(persons.index.to_numpy())
        ax.stackplot(x, persons.T.to_numpy(), labels=list(persons.columns), alpha=0.85)
        ax.plot(to_x(capacity.index.to_numpy()), capacity.to_numpy(), "k--", lw=1.2)
        ax.plot([], [], "k--", lw=1.2, label="open regular capacity")
        here = changed[changed["inflow"] == inflow] if len(changed) else changed
        for site_id, decision, period in here[["site_id", "decision", "period"]].itertuples(
            index=False
        ):
            (at,) = to_x(np.array([period]))
            kind = "business case" if str(site_id) in judged else "site"
            verb = "opens" if decision == "opened" else "closes"
            ax.axvline(at, color="#C44E52", lw=1, ls=":")
            ax.text(
                at,
                0.97,
                f"{kind} {site_id} {verb}",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                color="#C44E52",
                rotation=90,
                va="top",
                ha="right",
            )
        ax.set_title(f"inflow {inflow}: persons by line and tier", fontsize=9)
        ax.set_ylabel("persons")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    axes[-1, 0].set_xlabel(xlabel)
    if xlabel.startswith("date"):
        fig.autofmt_xdate()
    fig.tight_layout()
    over_time.figures.append(figure(fig, "occupancy against capacity over time"))
    spec = shapes.instance.meta.reception if shapes.instance is not None else None
    nights = spec.nights_per_period if spec is not None else None
    fig, axes = plt.subplots(
        len(inflows), 1, figsize=(11, 2.8 * len(inflows)), squeeze=False, sharex=True
    )
    unit = "place-nights" if nights else "places (per night)"
    for ax, inflow in zip(axes[:, 0], inflows, strict=True):
        part = emergency[emergency["inflow"] == inflow].sort_values("period")
        scale = float(nights or 1)
        x = np.arange(len(part))
        ax.bar(x, part["emergency_places"] * scale, color="#DD8452", label="noodopvang")
        ax.bar(
            x,
            part["crisis_places"] * scale,
            bottom=part["emergency_places"] * scale,
            color="#C44E52",
            label="crisisnoodopvang",
        )
        labels = to_x(part["period"].to_numpy())
        ax.set_xticks(x, [str(v) for v in labels], rotation=90, fontsize=6)
        ax.set_title(f"inflow {inflow}: emergency and crisis {unit} per period", fontsize=9)
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    over_time.figures.append(figure(fig, "emergency and crisis place-nights per period"))
    sections.append(over_time)
    sites = Section("Sites")
    if shapes.frame is None:
        sites.notes.append(f"Map left out: {shapes.note}.")
    else:
        sites.figures.append(_sites_map(occupancy, shapes))
    if len(changed):
        sites.tables.append(
            table(changed, "Sites the plan opens or closes: when, and why in numbers")
        )
    if cases is not None and len(cases):
        sites.tables.append(table(cases, "Business cases: the decision and its reason in numbers"))
    sections.append(sites)
    sections.append(_inflow_section(run, emergency, occupancy, nights))
    return sections


def _sites_map(occupancy: pd.DataFrame, shapes: Shapes) -> Figure:
    """Sites at their municipality (several in one municipality on a small ring around
    it), coloured by modality, sized by the peak number of persons over every period
    and inflow."""
    peak = occupancy.groupby("site_id", sort=True).agg(
        size=("persons", "max"),
        category=("modality", "first"),
        municipality=("municipality", "first"),
    )
    centres = shapes.centroids().reindex(peak["municipality"].to_numpy())
    rank = peak.groupby("municipality").cumcount().to_numpy()
    count = peak.groupby("municipality")["size"].transform("size").to_numpy()
    angle = 2 * np.pi * rank / np.maximum(count, 1)
    radius = np.where(count > 1, 4000.0, 0.0)
    sites = pd.DataFrame(
        {
            "x": centres["x"].to_numpy() + radius * np.cos(angle),
            "y": centres["y"].to_numpy() + radius * np.sin(angle),
            "size": peak["size"].to_numpy(dtype=float),
            "category": peak["category"].astype(str).to_numpy(),
        }
    ).dropna(subset=["x", "y"])
    return figure(
        maps.points(
            shapes.frame,
            sites,
            f"Reception sites by modality ({len(sites)}), sized by peak occupancy",
            "peak persons",
        ),
        "map of reception sites",
    )


def _inflow_section(
    run: RunFolder, emergency: pd.DataFrame, occupancy: pd.DataFrame, nights: int | None
) -> Section:
    section = Section("Inflows side by side")
    scale = float(nights or 1)
    per_period = occupancy.groupby(["inflow", "period"])["persons"].sum()
    summary = pd.DataFrame(
        {
            "peak persons in reception": per_period.groupby("inflow").max(),
            "emergency place-nights": emergency.groupby("inflow")["emergency_places"].sum() * scale,
            "crisis place-nights": emergency.groupby("inflow")["crisis_places"].sum() * scale,
            "person-periods without a bed": emergency.groupby("inflow")["without_bed"].sum(),
        }
    )
    order = list(dict.fromkeys(emergency["inflow"]))
    section.tables.append(
        table(summary.loc[order].rename_axis("inflow").reset_index(), "Per inflow")
    )
    robust = run.table("robust")
    if robust is not None:
        section.tables.append(
            table(robust, "Robust plan against each inflow's own plan (euros and weights apart)")
        )
    objective = run.table("objective")
    if objective is not None:
        section.tables.append(
            table(objective, "The objective's parts (weights and euros in their own columns)")
        )
    return section


# --------------------------------------------------------------------------- studies


def chain_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    return study_sections(
        run,
        "chain.png",
        [
            ("kpis", "Key figures (expected over the inflows of a robust plan)"),
            ("half_years", "The taakstelling per half-year and the persons housed"),
            ("stages", "The solve's stages: crisis first, then money and weights"),
            ("objective", "The objective's parts: money and weights apart"),
            ("site_decisions", "Every site: opened, kept, closed, not opened, and why"),
            ("levers", "Per period: taakstelling, decision capacity, places open and opened"),
        ],
        "The plan has no solution: no plot.",
    )


def taakstelling_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    numbers = next(
        (run.table(n) for n in ("taakstelling", "municipalities") if run.table(n) is not None),
        None,
    )
    section = Section("Taakstelling")
    if numbers is None:
        section.notes.append("The run has no taakstelling table.")
        return [section]
    code = "municipality" if "municipality" in numbers else "code"
    if shapes.frame is None:
        section.notes.append(f"Map left out: {shapes.note}.")
    elif "taakstelling" in numbers:
        values = numbers.set_index(code)["taakstelling"].reindex(shapes.frame["code"])
        section.figures.append(
            figure(
                maps.choropleth(
                    shapes.frame, values.reset_index(drop=True), "Taakstelling", "persons"
                ),
                "map of the taakstelling",
            )
        )
    section.tables.append(table(numbers, "Per municipality"))
    return [section]


def batch_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    """A batch: how its runs ended, and each run's objective and seconds (one bar per
    run in the batch's order, coloured by status)."""
    plt = pyplot()

    runs = run.table("runs")
    section = Section("Runs")
    if runs is None or runs.empty:
        section.notes.append("The batch folder has no runs table yet.")
        return [section]
    counts = runs["status"].value_counts().rename_axis("status").reset_index(name="runs")
    section.tables.append(table(counts.sort_values("status"), "Runs by status"))
    panels = [c for c in ("objective", "seconds") if c in runs and runs[c].notna().any()]
    if panels:
        palette = {"optimal": "#55A868", "feasible": "#DD8452"}
        colours = [palette.get(str(s), "#C44E52") for s in runs["status"]]
        fig, axes = plt.subplots(
            len(panels), 1, figsize=(11, 2.6 * len(panels)), squeeze=False, sharex=True
        )
        x = np.arange(len(runs))
        for ax, column in zip(axes[:, 0], panels, strict=True):
            ax.bar(x, pd.to_numeric(runs[column], errors="coerce"), color=colours)
            ax.set_ylabel(column)
            ax.grid(axis="y", alpha=0.3)
        axes[-1, 0].set_xlabel(
            "run, in the batch's order (green optimal, orange feasible, red other)"
        )
        fig.tight_layout()
        section.figures.append(figure(fig, "objective and seconds per run"))
    section.tables.append(table(runs, "Every run: its axes, status, KPIs and seconds"))
    return [section]


def _measure(summary: pd.DataFrame, name: str) -> Any:
    found = summary.loc[summary["measure"] == name, "value"]
    return None if found.empty or pd.isna(found.iloc[0]) else found.iloc[0]


def labour_fit_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    """The model card of a labour fit: data, intended use, performance overall and by
    group, the household scores' effect on groups, and known limits; every number from
    the fit's tables."""
    facts = run.manifest.get("card", {})
    summary = run.table("summary")
    coefficients = run.table("coefficients")
    assert summary is not None and coefficients is not None
    say = {name: cell(_measure(summary, name)) for name in summary["measure"]}
    share = _measure(summary, "employed_share")
    card = Section("Model card")
    years = (
        f" in {say['first_year'].replace(',', '')}-{say['last_year'].replace(',', '')}"
        if "first_year" in say
        else " (the history records no year of placement)"
    )
    card.notes += [
        f"Data: {say['adults']} adults in {say['households']} households, placed in "
        f"{say['municipalities']} municipalities{years}; outcomes observed "
        f"{say['months_min']} to {say['months_max']} months after placement; "
        f"{share:.1%} of them employed (file {facts.get('history', '')}).",
        "Intended use: to rank municipalities by a household's labour prospects in "
        "asielplan's placement. Not a prognosis for a person, not a decision about a "
        "person, and not the causal effect of a municipality: the regional terms describe "
        "who found work where in this history.",
        f"Method: {facts.get('method', '')} logit of the labour model's terms; every figure "
        f"of calibration, discrimination and the groups comes from {say['folds']}-fold "
        f"cross-fitted predictions (seed {facts.get('fit_seed', '')}). Cells of fewer than "
        f"{facts.get('min_cell', '')} adults are blanked.",
    ]
    held = coefficients.get("true_in_interval", pd.Series(dtype=object)).dropna()
    if len(held):
        card.notes.append(
            f"Synthetic history: {int(held.astype(bool).sum())} of {len(held)} estimated "
            f"terms hold the true value in their 95% interval (the truth from "
            f"{facts.get('truth', '')})."
        )
    plot = run_image(run, "calibration.png")
    if plot is not None:
        card.figures.append(plot)
    card.tables.append(table(summary, "The history and the fit's performance"))
    card.tables.append(table(coefficients, "Coefficients (log-odds) with 95% intervals"))
    comparison = run.table("model_comparison")
    if comparison is not None:
        card.tables.append(table(comparison, "Forms compared by cross-validated log loss"))
    groups = Section("By group")
    audit_rows = run.table("audit")
    gaps = run.table("group_gaps")
    if audit_rows is not None:
        overall = audit_rows[audit_rows["region"].astype(str) == "all"]
        groups.tables.append(table(overall, "Calibration and AUC per group"))
    if gaps is not None and len(gaps):
        flagged = gaps[gaps["flagged"].astype(str) == "True"]
        groups.notes.append(
            f"{len(flagged)} of {len(gaps)} comparisons of a group's calibration with its "
            "reference level differ beyond their interval (widened for the number of "
            "comparisons)"
            + (": the model predicts these groups less well there." if len(flagged) else ".")
        )
        shown = pd.concat([flagged, gaps.drop(flagged.index)])
        groups.tables.append(table(shown, "Calibration gap between groups, per region"))
    calibration = run.table("calibration")
    if calibration is not None:
        groups.tables.append(table(calibration, "Calibration by decile, region and urbanity"))
    scores = Section("What the household scores do to groups")
    gains = run.table("score_gains")
    if gains is not None:
        scores.notes.append(
            "Each household goes where its score is highest (sum: expected employed "
            "adults; at_least_one: the chance someone works); a member's gain is its "
            "probability there minus its mean over the municipalities."
        )
        scores.tables.append(table(gains, "Share of the gain per group and score"))
    limits = Section("Known limits")
    limits.notes.append(
        f"The model has no term for the time since placement: outcomes observed after "
        f"{say['months_min']} to {say['months_max']} months are pooled."
    )
    unknown = facts.get("not_identified") or []
    if unknown:
        limits.notes.append(
            f"Not in the history, so not estimated (set to the reference level): "
            f"{', '.join(unknown)}."
        )
    if comparison is not None:
        by = dict(zip(comparison["method"], comparison["cv_log_loss"], strict=True))
        if "gradient boosting" in by:
            boosted, own = by["gradient boosting"], by[facts.get("method", MAXIMUM_LIKELIHOOD)]
            verdict = (
                "what the fixed form of the model leaves out (the placement uses only the "
                "fixed form)"
                if boosted < own
                else "on this history the fixed form loses nothing to them that "
                "cross-validation can see"
            )
            limits.notes.append(
                f"Gradient-boosted trees on the same features reach a cross-validated log "
                f"loss of {cell(boosted)} against {cell(own)}: {verdict}."
            )
    limits.notes.append(
        "Associations, not causes: a history of past placements carries the choices "
        "made then (who was placed where), and outcomes recorded differently for some "
        "groups are learnt as such; the group audit shows where."
    )
    return [card, groups, scores, limits]


Sections = Callable[[RunFolder, Shapes], list[Section]]
# the reports of runs and of the commands that are not studies: title, sections, and
# whether the report reads the run's instance (for maps)
RUN_KINDS: dict[str, tuple[str, Sections, bool]] = {
    "place": ("Placement of status holders", placement_sections, True),
    "weekly": ("Weekly placement batch", placement_sections, True),
    "reception": ("Reception plan", reception_sections, True),
    "taakstelling": ("Taakstelling", taakstelling_sections, True),
    "batch": ("Batch of runs", batch_sections, False),
    "labour fit": ("Labour model card", labour_fit_sections, False),
    "chain": ("Chain plan: from arrival to a house", chain_sections, False),
}
KINDS: dict[str, tuple[str, Sections, bool]] = {
    **RUN_KINDS,
    **{kind: (study.title, study.sections, study.maps) for kind, study in STUDIES.items()},
}


# --------------------------------------------------------------------------- the page


def build_report(folder: str | Path, instance: str | Path | None = None) -> str:
    """The report of the run in ``folder`` as one HTML page (``instance``: where the
    run's instance is now, when it has moved)."""
    run = RunFolder.open(folder)
    if run.kind not in KINDS:
        known = ", ".join(KINDS)
        raise InputError(
            [
                Issue(
                    "manifest.json",
                    None,
                    "command",
                    "known kind of run",
                    f"no report for a '{run.kind}' run (reports exist for: {known})",
                )
            ],
            str(folder),
        )
    title, sections_of, needs_instance = KINDS[run.kind]
    shapes = (
        run_instance(run, Path(instance) if instance else None)
        if needs_instance
        else Shapes(None, None, "")
    )
    headline = {
        "place": placement_headline,
        "weekly": placement_headline,
        "reception": reception_headline,
    }.get(run.kind)
    m = run.manifest
    context = {
        "title": title,
        "instance": m.get("instance") or (shapes.instance.meta.name if shapes.instance else ""),
        "synthetic": bool(
            m.get("synthetic") or (shapes.instance is not None and shapes.instance.meta.synthetic)
        ),
        "command": run.kind,
        "run_id": m.get("run_id", ""),
        "status": m.get("status", ""),
        "stop": m.get("stop", ""),
        "headline": headline(run) if headline else [],
        "sections": sections_of(run, shapes),
        "version": m.get("versions", {}).get("asielplan", ""),
        "runs": len(m.get("run_ids", ())),
    }
    return _render(context)


def _render(context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(
    run_dir: str | Path, out: str | Path | None = None, instance: str | Path | None = None
) -> Path:
    """Write the HTML report of the run in ``run_dir`` (:mod:`asielplan.experiments.report`)
    to ``out`` (default ``RUN_DIR/report.html``), atomically; ``instance``: where the
    run's instance is now, when it has moved. Returns the file written."""
    target = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {target}: a report is an .html file")
    if target.is_dir():
        raise ConfigError(f"--out {target} is a folder; give a file name ending in .html")
    try:
        html = build_report(run_dir, instance)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, OSError) as exc:
        # a run folder edited by hand, or written by another version: said, not a traceback
        issue = Issue(
            str(run_dir), None, None, "readable run folder", f"{type(exc).__name__}: {exc}"
        )
        raise InputError([issue], str(run_dir)) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, html)
    return target
