"""Reception data: site defaults, the transfer graph and the cohort tables.

The Dutch conventions live here, as defaults of the data layer (the model reads only
columns): which line and tier a modality has when the sites table leaves it empty, and
the chain of allowed transfers (arrival -> COL/GVL -> second line -> municipality or
departure). An instance can replace the chain with ``[reception].transfers``.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from asielplan.data.instance import Instance, ReceptionSpec

ARRIVAL = "arrival"
EXIT = "exit"
BASE_INFLOW = "base"

LINE_BY_MODALITY = {
    "COL": "first",
    "POL": "first",
    "GVL": "first",
    "noodopvang": "both",
    "crisisnoodopvang": "both",
    "CAO": "both",
}
TIER_BY_MODALITY = {"noodopvang": "emergency", "crisisnoodopvang": "crisis"}

# The default chain (ACVZ, "Pieken en dalen", 2017, https://acvz.org, and the cabinet's
# reaction of 14 November 2018, Kamerstukken II). Arrivals enter at the central
# reception (COL) or a GVL, or in emergency places when those are full; the procedure
# runs in the first line; second-line sites take people whose track is decided; people
# leave for a municipality (or depart) from the line they are in at the end.
_FIRST = ("COL", "POL", "GVL")
_SECOND = ("AZC", "KWV", "gezinslocatie")
_EMERGENCY = ("noodopvang", "crisisnoodopvang")
DEFAULT_TRANSFERS: tuple[tuple[str, str], ...] = (
    *((ARRIVAL, m) for m in ("COL", "GVL", *_EMERGENCY)),
    ("COL", "POL"),
    ("COL", "GVL"),
    ("POL", "GVL"),
    *((f, m) for f in _FIRST for m in (*_SECOND, *_EMERGENCY)),
    *((e, m) for e in _EMERGENCY for m in (*_FIRST, *_SECOND, *_EMERGENCY) if e != m),
    *((s, m) for s in _SECOND for m in (*_SECOND, *_EMERGENCY)),
    *((m, EXIT) for m in (*_FIRST, *_SECOND, *_EMERGENCY)),
    (ARRIVAL, "CAO"),
    ("CAO", "CAO"),
    ("CAO", EXIT),
)


def transfer_graph(spec: ReceptionSpec) -> nx.DiGraph:
    """Directed graph of allowed transfers between modalities, from ``arrival`` to
    ``exit``. Reception planning makes one flow variable per edge, cohort type and
    period, so an edge that is absent is a move that cannot happen."""
    graph = nx.DiGraph()
    graph.add_nodes_from((ARRIVAL, EXIT))
    graph.add_edges_from(spec.transfers if spec.transfers is not None else DEFAULT_TRANSFERS)
    return graph


def reception_sites(inst: Instance) -> pd.DataFrame:
    """The sites table with every reception column present and its defaults filled in,
    plus the site's region at ``[reception].region_level`` (None without a level)."""
    spec = inst.meta.reception
    assert spec is not None
    sites = inst.sites.copy()
    horizon = spec.periods
    modality = sites["modality"]

    def column(name: str, default: object) -> pd.Series:
        if name not in sites.columns:
            return pd.Series([default] * len(sites), index=sites.index, dtype=object)
        return sites[name].astype(object).where(sites[name].notna(), default)

    line_default = modality.map(LINE_BY_MODALITY).fillna("second")
    tier_default = modality.map(TIER_BY_MODALITY).fillna("regular")
    sites["line"] = column("line", None).fillna(line_default)
    sites["tier"] = column("tier", None).fillna(tier_default)
    sites["state"] = column("state", "open").astype(str)
    costs = {str(tier): cost for tier, cost in spec.cost_per_night.items()}
    tier_cost = sites["tier"].map(lambda t: costs.get(str(t), spec.average_cost_price))
    sites["cost_per_night"] = column("cost_per_night", None).fillna(tier_cost).astype(float)
    for name, default in (("fixed_cost", 0.0), ("opening_cost", 0.0)):
        sites[name] = column(name, default).astype(float)
    for name, default in (
        ("min_occupancy", 0),
        ("earliest_open", 1),
        ("contract_periods", 1),
        ("contract_end", horizon),
        ("takes_amv", 0),
        ("amv_only", 0),
    ):
        sites[name] = column(name, default).astype(int)
    region = None
    if spec.region_level is not None and spec.region_level in inst.municipalities.columns:
        region = inst.municipalities.set_index("code")[spec.region_level]
    sites["region"] = sites["municipality"].map(region) if region is not None else None
    return sites.reset_index(drop=True)


def reception_cohorts(inst: Instance) -> pd.DataFrame:
    """The cohorts table with every optional column present. An empty ``inflow``
    means the cohort belongs to every inflow (e.g. the people in reception now)."""
    cohorts = inst.cohorts
    assert cohorts is not None
    out = cohorts.copy()
    for name in ("inflow", "destination", "preferred", "site_id"):
        if name not in out.columns:
            out[name] = None
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out.reset_index(drop=True)


def preferred_regions(value: object) -> tuple[str, ...]:
    """The preferred regions of a cohort, from ``a;b`` (empty: none), sorted."""
    if not isinstance(value, str):
        return ()
    return tuple(sorted({p.strip() for p in value.split(";") if p.strip()}))


def inflows_of(inst: Instance) -> list[str]:
    """Inflows named in the cohorts table, in order of first appearance;
    ``["base"]`` when no cohort names one."""
    named = [s for s in reception_cohorts(inst)["inflow"] if s is not None]
    return list(dict.fromkeys(named)) or [BASE_INFLOW]
