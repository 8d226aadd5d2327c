"""Maps of a run in RD New (EPSG:28992), drawn with geopandas and matplotlib.

Every map starts from the instance's municipality shapes (:func:`map_frame`: simplified
to 50 m, which keeps a national map light and leaves the shapes recognisable) and
returns a matplotlib figure; :mod:`asielplan.experiments.report` inlines it as a PNG.
Municipalities without a value are grey and say so in the legend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from asielplan.experiments.plots import pyplot

RD_NEW = "EPSG:28992"
SIMPLIFY_M = 50.0
NO_VALUE = "#d9d9d9"


def map_frame(geometry: Any, municipalities: pd.DataFrame) -> Any:
    """The municipalities with their shapes in RD New (code, name, region columns and
    the geometry), in the order of the instance's table."""
    import geopandas as gpd

    shapes = geometry.to_crs(RD_NEW).set_index("code").geometry.simplify(SIMPLIFY_M)
    frame = municipalities.reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=shapes.loc[frame["code"]].to_numpy(), crs=RD_NEW)


def _axes(title: str, size: tuple[float, float] = (6.0, 6.6)) -> tuple[Any, Any]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    return fig, ax


def _no_value_note(ax: Any, count: int, what: str) -> None:
    if count:
        ax.text(
            0.0,
            0.0,
            f"grey: {what} ({count})",
            transform=ax.transAxes,
            fontsize=7,
            color="#555555",
        )


def choropleth(
    shapes: Any,
    values: pd.Series,
    title: str,
    label: str,
    *,
    centre: float | None = None,
    cmap: str = "viridis",
    missing: str = "no value",
) -> Any:
    """Municipalities coloured by ``values`` (aligned with ``shapes``); with ``centre``
    a diverging scale around it (red below, blue above)."""
    from matplotlib.colors import Normalize, TwoSlopeNorm

    plt = pyplot()
    fig, ax = _axes(title)
    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(data)
    if not known.all():
        shapes[~known].plot(ax=ax, color=NO_VALUE, edgecolor="#9a9a9a", linewidth=0.25)
    if known.any():
        low, high = float(data[known].min()), float(data[known].max())
        norm: Normalize
        if centre is not None:
            spread = max(abs(low - centre), abs(high - centre), 1e-9)
            norm = TwoSlopeNorm(vcenter=centre, vmin=centre - spread, vmax=centre + spread)
            cmap = "RdBu"
        else:
            norm = Normalize(vmin=low, vmax=high if high > low else low + 1.0)
        shapes[known].assign(value=data[known]).plot(
            ax=ax, column="value", cmap=cmap, norm=norm, edgecolor="#9a9a9a", linewidth=0.25
        )
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6)
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    _no_value_note(ax, int((~known).sum()), missing)
    fig.tight_layout()
    return fig


def flows(shapes: Any, lines: pd.DataFrame, title: str, sites: pd.DataFrame | None = None) -> Any:
    """Lines from (x0, y0) to (x1, y1) in RD New, as wide as their ``persons``, over
    the municipalities in grey; ``sites`` (x, y) are marked."""
    fig, ax = _axes(title)
    shapes.plot(ax=ax, color="#eeeeee", edgecolor="white", linewidth=0.3)
    if len(lines):
        top = float(lines["persons"].max())
        ordered = lines.sort_values("persons", kind="stable")
        for persons, x0, y0, x1, y1 in ordered[["persons", "x0", "y0", "x1", "y1"]].to_numpy(
            dtype=float
        ):
            width = 0.4 + 5.0 * persons / top
            ax.plot(
                [x0, x1],
                [y0, y1],
                color="#4C72B0",
                alpha=0.55,
                linewidth=width,
                solid_capstyle="round",
            )
        ax.plot([], [], color="#4C72B0", linewidth=5.4, label=f"{top:,.0f} persons")
        ax.plot([], [], color="#4C72B0", linewidth=0.4 + 5.0 / 4, label=f"{top / 4:,.0f} persons")
    if sites is not None and len(sites):
        ax.scatter(sites["x"], sites["y"], s=12, color="#C44E52", zorder=3, label="site")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def points(shapes: Any, sites: pd.DataFrame, title: str, size_label: str) -> Any:
    """Sites at (x, y) coloured by ``category`` and sized by ``size``."""
    plt = pyplot()
    fig, ax = _axes(title)
    shapes.plot(ax=ax, color="#eeeeee", edgecolor="white", linewidth=0.3)
    top = max(float(sites["size"].max()), 1.0) if len(sites) else 1.0
    palette = plt.get_cmap("tab10")
    for index, (category, group) in enumerate(sites.groupby("category", sort=True)):
        ax.scatter(
            group["x"],
            group["y"],
            s=10 + 400 * group["size"] / top,
            color=palette(index % 10),
            alpha=0.7,
            edgecolor="black",
            linewidth=0.3,
            label=str(category),
        )
    legend = ax.legend(loc="lower right", fontsize=7, title="modality", title_fontsize=7)
    ax.text(
        0.0,
        0.0,
        f"area: {size_label} (largest {top:,.0f})",
        transform=ax.transAxes,
        fontsize=7,
        color="#555555",
    )
    ax.add_artist(legend)
    fig.tight_layout()
    return fig


def small_multiples(
    shapes: Any, values: pd.DataFrame, title: str, label: str, *, columns: int = 3
) -> Any:
    """One diverging map per column of ``values`` (aligned with ``shapes``), one shared
    scale centred on zero."""
    from matplotlib.colors import TwoSlopeNorm

    plt = pyplot()
    names = list(values.columns)
    cols = min(columns, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.8 * rows), squeeze=False)
    spread = max(float(np.nanmax(np.abs(values.to_numpy(dtype=float)))), 1e-9)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-spread, vmax=spread)
    for ax, name in zip(axes.ravel(), names, strict=False):
        shapes.assign(value=values[name].to_numpy(dtype=float)).plot(
            ax=ax, column="value", cmap="RdBu", norm=norm, edgecolor="white", linewidth=0.15
        )
        ax.set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_axis_off()
        ax.set_aspect("equal")
    bar = fig.colorbar(
        plt.cm.ScalarMappable(norm=norm, cmap="RdBu"), ax=axes.ravel().tolist(), shrink=0.6
    )
    bar.set_label(label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
