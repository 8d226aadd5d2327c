"""The HTML report of a run: its numbers, its maps, and the page in a real headless
Chromium (a screenshot that is not blank, images present and sized, no network
request)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from asielplan import api
from asielplan.cli import app
from asielplan.config import RunConfig, SolverConfig
from asielplan.data.instance import default_instance_path
from asielplan.experiments.report import build_report, municipality_measures

IMAGE = re.compile(r'<img src="([^"]*)" width="(\d+)" height="(\d+)" alt="([^"]*)"')


def chromium() -> str:
    """The Chromium binary (the Debian package that .ci/run installs)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed (.ci/run installs the Debian package 'chromium')")


def browse(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            *args,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def placement_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A placement run of the embedded default (40 fictional polygons)."""
    out = tmp_path_factory.mktemp("report") / "placement"
    api.write_run(api.place(None, RunConfig(solver=SolverConfig(time_limit=30))), out)
    return out


@pytest.fixture(scope="module")
def reception_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reception plan of the embedded default."""
    out = tmp_path_factory.mktemp("report") / "reception"
    api.write_run(api.plan_reception(None, RunConfig(solver=SolverConfig(time_limit=30))), out)
    return out


def test_measures_on_the_maps_are_the_runs_own_numbers() -> None:
    """Fulfilment is placed / target in %, missing without a target; labour per placed
    person is the labour score over the persons placed, missing when nobody is placed;
    realised is the run's share in %."""
    table = pd.DataFrame(
        {
            "municipality": ["GM1", "GM2", "GM3"],
            "target": [4, 0, 5],
            "placed_persons": [5, 2, 0],
            "labour_score": [2.0, 0.5, 0.0],
            "realised": [0.5, np.nan, 1.0],
        }
    )
    measures = municipality_measures(table)
    assert measures["fulfilment"].tolist()[0::2] == [125.0, 0.0]
    assert np.isnan(measures.loc["GM2", "fulfilment"])
    assert measures.loc["GM1", "labour_per_person"] == pytest.approx(0.4)
    assert measures.loc["GM2", "labour_per_person"] == pytest.approx(0.25)
    assert np.isnan(measures.loc["GM3", "labour_per_person"])
    assert measures.loc["GM3", "realised"] == 100.0


def test_placement_report_holds_the_headline_maps_and_tables(placement_run: Path) -> None:
    """The report of a placement shows the run's KPIs (households placed of all,
    persons), five images (fulfilment, labour per person, moves, outcomes by group, the
    search's plan and bound over time), the region table with every region of the run,
    and no household id."""
    page = build_report(placement_run)
    kpis = pd.read_csv(placement_run / "kpis.csv").iloc[0]
    assert f"{int(kpis['placed_households']):,} of {int(kpis['households']):,}" in page
    assert f"{int(kpis['persons']):,}" in page
    alts = [m.group(4) for m in IMAGE.finditer(page)]
    assert alts == [
        "map of fulfilment per municipality",
        "map of the labour score per placed person",
        "map of moves from reception sites",
        "outcomes by group",
        "incumbent and bound over time",
    ]
    regions = pd.read_csv(placement_run / "regions.csv")
    for region in regions["region"]:
        assert f"<td>{region}</td>" in page
    text = re.sub(r"data:image/png;base64,[^\"]*", "", page)
    assert "H000001" not in text  # aggregates only: no household id
    assert "SYNTHETIC" in page


def test_report_is_byte_identical_and_self_contained(placement_run: Path) -> None:
    """Two reports of the same run are the same bytes; every image is a data URI and
    no URL of any network appears in the page."""
    first, second = build_report(placement_run), build_report(placement_run)
    assert first == second
    sources = [m.group(1) for m in IMAGE.finditer(first)]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"(https?|ftp|wss?):|//[a-z0-9.-]+\.[a-z]{2,}/", first, re.I)


def test_report_in_chromium_is_drawn_sized_and_offline(placement_run: Path, tmp_path: Path) -> None:
    """A real headless Chromium opens the report: the screenshot is not blank (more than
    5% of pixels not white, many colours); every image is decoded at the size the page
    states and shown at least 200 px wide; the browser's own list of the resources the
    page fetched (Resource Timing) names no URL of any network."""
    page = tmp_path / "report.html"
    written = api.report(placement_run, page)
    assert written == page
    shot = tmp_path / "shot.png"
    browse(page, "--window-size=1280,2400", f"--screenshot={shot}")
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    not_white = (pixels < 245).any(axis=2).mean()
    assert not_white > 0.05
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    # measure in the browser: a probe script added to a copy of the page
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => { const p = "
        "document.createElement('pre'); p.id = 'probe'; p.textContent = JSON.stringify({"
        "images: [...document.images].map(i => [i.alt, i.naturalWidth, i.naturalHeight, "
        "Math.round(i.getBoundingClientRect().width)]), resources: performance"
        ".getEntriesByType('resource').map(r => r.name)}); document.body.appendChild(p); });"
        "</script></body>"
    )
    probe.write_text(page.read_text().replace("</body>", script))
    dom = browse(probe, "--window-size=1280,2400", "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found is not None, "the probe did not run"
    measured = json.loads(html.unescape(found.group(1)))
    stated = [
        (m.group(4), int(m.group(2)), int(m.group(3))) for m in IMAGE.finditer(page.read_text())
    ]
    assert len(stated) == 5  # four maps and plots, and the search trace
    assert [(alt, w, h) for alt, w, h, _ in measured["images"]] == stated
    assert all(shown >= 200 for *_, shown in measured["images"])
    assert [r for r in measured["resources"] if not r.startswith(("data:", "file:"))] == []


def test_reception_report_shows_time_sites_and_business_cases(reception_run: Path) -> None:
    """A reception report has occupancy over time, emergency place-nights per period,
    the map of sites, the business cases with each reason as the run wrote it, and the
    inflows side by side."""
    page = build_report(reception_run)
    alts = [m.group(4) for m in IMAGE.finditer(page)]
    assert alts == [
        "occupancy against capacity over time",
        "emergency and crisis place-nights per period",
        "map of reception sites",
    ]
    cases = pd.read_csv(reception_run / "business_cases.csv")
    for reason in cases["reason"]:
        assert html.escape(str(reason)) in page
    assert "Inflows side by side" in page


def test_changed_instance_gives_a_report_without_maps_and_says_why(
    placement_run: Path, tmp_path: Path
) -> None:
    """When the run's instance has changed since the run, the report leaves the maps
    out and names the changed file, instead of drawing other numbers than the run's."""
    moved = tmp_path / "instance"
    shutil.copytree(default_instance_path(), moved)
    toml = moved / "instance.toml"
    toml.write_text(toml.read_text().replace("national = 2931", "national = 2932"))
    page = build_report(placement_run, moved)
    assert "has changed since the run (instance.toml)" in page
    assert "map of fulfilment" not in page
    assert "outcomes by group" in page


def test_report_of_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    """``asielplan report`` on a folder without a manifest exits 1 and writes nothing."""
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "no manifest.json" in result.output
    assert list(tmp_path.iterdir()) == []


def test_scheme_comparison_report_maps_each_scheme_against_the_population_key(
    tmp_path: Path,
) -> None:
    """A scheme comparison's report shows its metrics chart (the PNG the comparison
    wrote, inlined byte for byte), one map per scheme of its target minus the population
    key, the targets table, and its notes with each scheme's source (the law's
    articles for the population key)."""
    import base64

    config = RunConfig.model_validate({"solver": {"time_limit": 15, "mip_gap": 0.01}})
    comparison = api.compare_schemes(["population", "exact_total"], None, config)
    out = api.write_comparison(comparison, tmp_path / "schemes")
    page = build_report(out)
    images = {html.unescape(m.group(4)): m.group(1) for m in IMAGE.finditer(page)}
    assert list(images) == [
        "metrics.png",
        "maps of each scheme's target minus the population key",
    ]
    inlined = images["metrics.png"].removeprefix("data:image/png;base64,")
    assert base64.b64decode(inlined) == (out / "metrics.png").read_bytes()
    assert "Targets per municipality and scheme" in page
    notes = (out / "notes.txt").read_text(encoding="utf-8").splitlines()
    for scheme in ("population", "exact_total"):
        (source,) = [n for n in notes if n.startswith(f"source of {scheme}: ")]
        assert source in html.unescape(page)
    assert "Huisvestingswet 2014, art. 28-30" in page


def test_reception_periods_become_dates_when_the_instance_names_its_first() -> None:
    """The Calais example starts on 2016-10-24 with one night per period: period 1 is
    that day and period 8 a week later; the default names no first period and keeps
    the period numbers."""
    from datetime import date

    from asielplan.data.instance import read_instance
    from asielplan.experiments.report import Shapes, period_axis

    calais = read_instance(default_instance_path().parent / "examples" / "calais")
    to_x, label = period_axis(Shapes(calais, None, ""))
    assert to_x(np.array([1, 8])) == [date(2016, 10, 24), date(2016, 10, 31)]
    assert label.startswith("date")
    to_x, label = period_axis(Shapes(read_instance(default_instance_path()), None, ""))
    assert list(to_x(np.array([1, 8]))) == [1, 8] and label == "period (14 nights)"
