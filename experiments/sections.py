"""The parts a report page is made of: figures (inline PNG), tables (escaped HTML) and
sections, and the instance shapes the maps are drawn on. :mod:`.report` puts a run's
sections on the page; each study (:mod:`asielplan.experiments.studies`) gives its own.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from asielplan.data.instance import Instance
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder

REPORT_FILE = "report.html"  # a run folder's report, unless written elsewhere
DPI = 90


def run_image(run: RunFolder, name: str) -> Figure | None:
    """A plot the run wrote itself (e.g. ``front.png``), inlined as it is."""
    path = run.path / name
    if not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return Figure(base64.b64encode(path.read_bytes()).decode("ascii"), width, height, name)


@dataclass
class Shapes:
    """The instance of a run, as far as the report needs it, and why maps are absent."""

    instance: Instance | None
    frame: Any  # GeoDataFrame in RD New, or None
    note: str

    def centroids(self) -> pd.DataFrame:
        """x, y (RD New) of a point inside each municipality, indexed by code."""
        points = self.frame.geometry.representative_point()
        return pd.DataFrame(
            {"x": points.x.to_numpy(), "y": points.y.to_numpy()},
            index=self.frame["code"].to_numpy(),
        )


@dataclass
class Figure:
    png: str  # base64
    width: int
    height: int
    alt: str


@dataclass
class Table:
    caption: str
    html: str


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def figure(fig: Any, alt: str) -> Figure:
    """A matplotlib figure as an inline PNG (stable bytes: no software tag)."""
    plt = pyplot()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    width, height = (fig.get_size_inches() * DPI).round().astype(int)
    plt.close(fig)
    return Figure(base64.b64encode(buffer.getvalue()).decode("ascii"), width, height, alt)


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        number = float(value)
        if number == round(number) and abs(number) >= 1:
            return f"{number:,.0f}"
        return f"{number:,.4g}" if abs(number) < 1000 else f"{number:,.1f}"
    return str(value)


def table(frame: pd.DataFrame, caption: str) -> Table:
    """A table as HTML: thousands separators, no index, text escaped."""
    shown = frame.reset_index(drop=True).astype(object)
    shown = shown.map(cell) if len(shown) else shown
    html = shown.to_html(index=False, border=0, classes="data", escape=True, na_rep="")
    return Table(caption, html)


def study_sections(
    run: RunFolder, image: str, tables: list[tuple[str, str]], empty: str
) -> list[Section]:
    section = Section("Result")
    plot = run_image(run, image)
    if plot is not None:
        section.figures.append(plot)
    else:
        section.notes.append(empty)
    for name, caption in tables:
        frame = run.table(name)
        if frame is not None:
            section.tables.append(table(frame, caption))
    return [section]
