"""Plots of a run: reception occupancy over time and regional fill against targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.model.reception import ReceptionData


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files, no display): the one place that
    chooses the backend, for every plot and map of the package. Math text is off: a
    name from the data with ``$`` in it is drawn as written, never parsed as TeX."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def plot_occupancy(
    data: ReceptionData, tables: dict[str, pd.DataFrame], path: Path, title: str
) -> None:
    """Occupancy by tier against open capacity over time, one panel per inflow."""
    plt = pyplot()

    occupancy = tables["occupancy"]
    emergency = tables["emergency"]
    inflows = list(data.inflows)
    fig, axes = plt.subplots(
        len(inflows), 1, figsize=(9, 3.2 * len(inflows)), squeeze=False, sharex=True
    )
    for ax, inflow in zip(axes[:, 0], inflows, strict=True):
        em = emergency[emergency["inflow"] == inflow].sort_values("period")
        cap = occupancy[occupancy["inflow"] == inflow].pivot_table(
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
        ax.set_title(f"{title}: {inflow}")
        ax.set_ylabel("persons")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"period ({data.nights} nights)")
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_region_targets(tables: dict[str, pd.DataFrame], path: Path, title: str) -> bool:
    """Bars of persons against target and open capacity per region, in the last period
    with targets (first inflow). Returns False when the plan has no region targets."""
    regions = tables.get("regions")
    if regions is None or "target" not in regions or regions["target"].isna().all():
        return False
    plt = pyplot()

    with_target = regions[regions["target"].notna()]
    first = with_target["inflow"].iloc[0]
    last = with_target[with_target["inflow"] == first]
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


def plot_chain(tables: dict[str, pd.DataFrame], path: Path, title: str) -> None:
    """The chain over time with dates: above, the stocks (in reception, in the
    procedure, status holders waiting) of every inflow as a fan; below, one panel per
    inflow with occupancy by tier stacked against the open places."""
    plt = pyplot()

    chain = tables["chain"].copy()
    chain["date"] = pd.to_datetime(chain["period_start"])
    inflows = list(dict.fromkeys(chain["inflow"]))
    fig, axes = plt.subplots(
        1 + len(inflows), 1, figsize=(9, 3.0 * (1 + len(inflows))), squeeze=False, sharex=True
    )
    top = axes[0, 0]
    styles = {"in_reception": "-", "in_procedure": "--", "waiting": ":"}
    labels = {
        "in_reception": "in reception",
        "in_procedure": "in the procedure",
        "waiting": "status holders waiting",
    }
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, inflow in enumerate(inflows):
        rows = chain[chain["inflow"] == inflow]
        for column, style in styles.items():
            top.plot(
                rows["date"],
                rows[column],
                style,
                color=colours[i % len(colours)],
                label=f"{inflow}: {labels[column]}",
            )
    top.set_ylabel("persons")
    top.set_title(f"{title}: the chain per inflow")
    top.legend(fontsize=7, ncol=max(1, len(inflows)))
    for ax, inflow in zip(axes[1:, 0], inflows, strict=True):
        rows = chain[chain["inflow"] == inflow]
        ax.stackplot(
            rows["date"],
            rows["regular"],
            rows["emergency"],
            rows["crisis"],
            labels=["regular", "emergency", "crisis"],
            colors=["#4c72b0", "#dd8452", "#c44e52"],
        )
        ax.step(
            rows["date"],
            rows["regular_places"],
            where="post",
            color="black",
            label="regular places open",
        )
        ax.step(
            rows["date"],
            rows["regular_places"] + rows["emergency_places"],
            where="post",
            color="grey",
            linestyle="--",
            label="all places open",
        )
        ax.set_ylabel("persons")
        ax.set_title(f"inflow {inflow}: occupancy by tier")
        ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
