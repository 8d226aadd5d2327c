"""Batches on Dask: the batch file's expansion, a real LocalCluster run, resume, and a
failing run recorded while the batch goes on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from asielplan.batch import read_batch, run_batch
from asielplan.cli import app
from asielplan.errors import ConfigError
from asielplan.experiments.report import build_report

from .placement_helpers import FIXTURES

BATCH = """
kinds = ["place"]
instances = ["tiny"]
scenarios = ["base", "banded"]
seeds = [1, 2]

[config.solver]
time_limit = 20
mip_gap = 1e-6

[config.scenarios.banded]
placement.region_bands = [{ level = "province", lower = 3.0, upper = 4.0 }]
"""


def batch_folder(tmp_path: Path, text: str = BATCH) -> Path:
    shutil.copytree(FIXTURES / "tiny", tmp_path / "tiny")
    (tmp_path / "batch.toml").write_text(text)
    return tmp_path / "batch.toml"


def test_batch_file_expands_to_the_product_of_its_axes(tmp_path: Path) -> None:
    """2 scenarios x 2 seeds = 4 runs in the batch's order, each with its own id; the
    shipped example expands to 3 seeds x 2 scenarios."""
    batch = read_batch(batch_folder(tmp_path))
    labels = [(r.labels["scenario"], r.labels["seed"]) for r in batch.runs]
    assert labels == [("base", 1), ("base", 2), ("banded", 1), ("banded", 2)]
    assert len({r.id for r in batch.runs}) == 4
    assert [r.spec.config.solver.seed for r in batch.runs] == [1, 2, 1, 2]
    example = Path(__file__).parents[1] / "data" / "examples" / "batch-seeds.toml"
    assert len(read_batch(example).runs) == 6


def test_an_axis_applies_to_the_kinds_that_read_its_setting(tmp_path: Path) -> None:
    """Place and reception runs over two schemes and two inflows: a placement per scheme
    (not per inflow), a reception plan per inflow (not per scheme): 4 runs, not 8. An
    inflows axis in a batch of placements only is refused."""
    text = BATCH.replace('kinds = ["place"]', 'kinds = ["place", "reception"]')
    axes = 'seeds = [1]\nschemes = ["population", "exact_total"]\ninflows = ["steady", "peak"]'
    text = text.replace("seeds = [1, 2]", axes).replace('"base", "banded"', '"base"')
    batch = read_batch(batch_folder(tmp_path, text))
    labels = [(r.labels["kind"], r.labels["scheme"], r.labels["inflow"]) for r in batch.runs]
    assert labels == [
        ("place", "population", None),
        ("place", "exact_total", None),
        ("reception", None, "steady"),
        ("reception", None, "peak"),
    ]
    assert [r.spec.config.reception.inflow for r in batch.runs] == [None, None, "steady", "peak"]
    only_place = text.replace('kinds = ["place", "reception"]', 'kinds = ["place"]')
    (tmp_path / "batch.toml").write_text(only_place)
    with pytest.raises(ConfigError, match="inflows: no kind of this batch plans reception"):
        read_batch(tmp_path / "batch.toml")


def test_the_batch_file_of_the_docs_expands_as_they_say(tmp_path: Path) -> None:
    """The example of docs/batch.md is a valid batch file of 84 runs: placements 2
    scenarios x 3 seeds x 2 schemes x 2 values = 24, reception plans (per inflow, not
    per scheme) 24, comparisons 2 x 3 x 2 = 12, placement fronts 24."""
    import re

    docs = (Path(__file__).parents[1] / "docs" / "batch.md").read_text()
    example = re.search(r"```toml\n(.*?)```", docs, re.S)
    assert example is not None
    (tmp_path / "batch.toml").write_text(example.group(1))
    kinds = [run.labels["kind"] for run in read_batch(tmp_path / "batch.toml").runs]
    counts = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    assert counts == {"place": 24, "reception": 24, "schemes": 12, "front": 24}


def test_batch_file_problems_are_reported_together(tmp_path: Path) -> None:
    """A misspelt key, an unknown scenario and a missing instance: one error naming all."""
    text = BATCH.replace("seeds =", "seed =").replace('"banded"]', '"banded", "tight"]')
    text = text.replace('["tiny"]', '["tiny", "missing"]')
    with pytest.raises(ConfigError) as error:
        read_batch(batch_folder(tmp_path, text))
    assert "seed" in str(error.value)
    text = BATCH.replace('"banded"]', '"banded", "tight"]').replace(
        '["tiny"]', '["tiny", "missing"]'
    )
    (tmp_path / "batch.toml").write_text(text)
    with pytest.raises(ConfigError) as error:
        read_batch(tmp_path / "batch.toml")
    assert "unknown scenario 'tight'" in str(error.value)
    assert "instance 'missing'" in str(error.value)


def test_batch_runs_on_dask_resumes_and_records_failures(tmp_path: Path) -> None:
    """On a real LocalCluster of one worker (one run at a time, as the progress says):
    the base runs are optimal, the banded runs infeasible (recorded with status and the
    batch goes on; each has its diagnosis);
    runs.parquet has one row per run in the batch's order. Run again: nothing reruns.
    A new seed: only its two runs run."""
    path = batch_folder(tmp_path)
    out = tmp_path / "out"
    seen: list[dict[str, int]] = []
    result = run_batch(read_batch(path), out, workers=1, progress=seen.append)
    table = pd.read_parquet(out / "runs.parquet")
    assert table["status"].tolist() == ["optimal", "optimal", "infeasible", "infeasible"]
    assert table["run_id"].tolist() == [r.id for r in read_batch(path).runs]
    assert result.failed == 2 and result.ran == 4 and seen[-1]["done"] == 4
    assert [c["running"] for c in seen] == [1, 1, 1, 1, 0]  # one worker: one at a time
    for run_id in table.loc[table["status"] == "infeasible", "run_id"]:
        assert (out / "runs" / run_id / "diagnosis.csv").is_file()
    assert pd.read_csv(out / "runs.csv")["status"].tolist() == table["status"].tolist()
    again = run_batch(read_batch(path), out, workers=1)
    assert again.ran == 0 and again.skipped == 4
    pd.testing.assert_frame_equal(again.table[["run_id", "status"]], table[["run_id", "status"]])
    page = build_report(out)  # the batch's report: runs by status and every run
    assert "<td>infeasible</td>" in page and 'alt="objective and seconds per run"' in page
    path.write_text(BATCH.replace("seeds = [1, 2]", "seeds = [1, 2, 3]"))
    more = run_batch(read_batch(path), out, workers=1)
    assert more.ran == 2 and more.skipped == 4 and len(more.table) == 6


def test_batch_cli_plans_and_exits_with_the_number_failed(tmp_path: Path) -> None:
    """``batch plan`` lists the runs and how many are done; ``batch run`` exits 64 + the
    number of failed runs; ``batch status`` lists the finished run folders."""
    path = batch_folder(tmp_path)
    runner = CliRunner()
    planned = runner.invoke(app, ["batch", "plan", str(path)])
    assert planned.exit_code == 0 and "4 runs, 0 already done" in planned.output
    out = tmp_path / "out"
    ran = runner.invoke(app, ["batch", "run", str(path), "--out", str(out), "--workers", "1"])
    assert ran.exit_code == 64 + 2, ran.output
    shown = runner.invoke(app, ["batch", "status", str(out)])
    assert shown.exit_code == 0 and "4 finished runs" in shown.output
    planned = runner.invoke(app, ["batch", "plan", str(path), "--out", str(out)])
    assert "4 runs, 4 already done" in planned.output


def test_a_batch_gives_the_kpis_of_its_runs_made_one_by_one_and_the_same_table_again(
    tmp_path: Path,
) -> None:
    """Two seeds of the tiny instance as a batch on a real LocalCluster of two workers,
    twice into two folders: runs.parquet is the same apart from its seconds column, and
    every row's KPIs are the kpis table of the same run made in this process."""
    from asielplan.api import place
    from asielplan.config import with_overrides

    path = batch_folder(tmp_path, BATCH.replace('"base", "banded"', '"base"'))
    batch = read_batch(path)
    first = run_batch(batch, tmp_path / "one", workers=2).table
    second = run_batch(read_batch(path), tmp_path / "two", workers=2).table
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), second.drop(columns="seconds"))
    assert first["status"].tolist() == ["optimal", "optimal"]
    for run, row in zip(batch.runs, first.to_dict("records"), strict=True):
        config = with_overrides(run.spec.config, {"solver.threads": 1}, "test")
        kpis = place(tmp_path / "tiny", config).tables["kpis"].iloc[0]
        expected = kpis.drop(["status", "stop"])
        got = pd.Series({k: row[k] for k in expected.index}, name=expected.name)
        pd.testing.assert_series_equal(got, expected, check_dtype=False)


RUNS = 3  # placements of the embedded default in the batch: several seconds each


def start_batch_after_first_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """A real ``asielplan batch run`` process (one worker, RUNS placements of the
    embedded default, each proving 0.1%), returned once its first run folder is
    complete: the process, the batch file and the output folder."""
    path = tmp_path / "batch.toml"
    seeds = ", ".join(str(seed) for seed in range(1, RUNS + 1))
    path.write_text(
        f'instances = ["default"]\nseeds = [{seeds}]\n'
        "[config.solver]\ntime_limit = 20\nmip_gap = 0.001\n"
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "asielplan.cli", "batch", "run", str(path)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # as from a terminal: a process inherits an ignored SIGINT (a library in this
        # test process may ignore it), and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("runs/*/manifest.json")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    return process, path, out


def test_ctrl_c_keeps_finished_runs_leaves_no_half_folder_and_resumes(tmp_path: Path) -> None:
    """SIGINT to a running ``asielplan batch run`` (a real process with a real
    LocalCluster) once its first run is written: exit 130, the finished run kept, no
    temporary folder left; the next ``batch run`` skips the finished run and does the
    rest."""
    process, path, out = start_batch_after_first_run(tmp_path)
    os.kill(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    finished = [p.parent.name for p in out.glob("runs/*/manifest.json")]
    assert 1 <= len(finished) < RUNS
    assert not list((out / "runs").glob(".*"))  # no temporary folder
    assert not (out / "runs.parquet").exists()  # the table is written at the end
    again = run_batch(read_batch(path), out, workers=1)
    assert again.skipped == len(finished) and again.ran == RUNS - len(finished)
    assert set(again.table["status"]) == {"optimal"}


def test_a_worker_killed_mid_run_has_its_run_redone_and_nothing_duplicated(
    tmp_path: Path,
) -> None:
    """SIGKILL to a Dask worker process while it runs a placement: the nanny starts a
    new worker, the scheduler gives the run to it, and the batch ends with every run
    optimal, one folder per run and no temporary folder."""
    import psutil

    process, _, out = start_batch_after_first_run(tmp_path)
    # the worker is the process the nanny spawned (the other child tracks resources);
    # it is in its second run now (each takes several seconds proving 0.1%)
    children = psutil.Process(process.pid).children(recursive=True)
    workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 1, [p.cmdline() for p in children]
    os.kill(workers[0].pid, signal.SIGKILL)
    assert len(list(out.glob("runs/*/manifest.json"))) < RUNS  # a run was under way
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    table = pd.read_parquet(out / "runs.parquet")
    assert table["status"].tolist() == ["optimal"] * RUNS
    folders = sorted(p.name for p in (out / "runs").iterdir())
    assert folders == sorted(table["run_id"])  # one folder per run, none left over


def test_local_workers_start_with_the_quiet_bookkeeping() -> None:
    """The workers of a batch's local cluster (real processes) run with LOCAL_DASK: no
    statistical profiler and a one-second event-loop tick (Dask's defaults: on, 20 ms)."""
    import dask.config
    from dask.distributed import Client

    from asielplan.batch import local_cluster

    def settings() -> tuple[bool, str]:
        return (
            dask.config.get("distributed.worker.profile.enabled"),
            dask.config.get("distributed.admin.tick.interval"),
        )

    cluster = local_cluster(1)
    try:
        with Client(cluster) as client:
            seen = list(client.run(settings).values())
    finally:
        cluster.close()
    assert seen == [(False, "1s")]
    assert settings() == (True, "20ms")  # this process keeps Dask's own


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_batch_runs_on_an_existing_cluster_given_by_its_scheduler(tmp_path: Path) -> None:
    """A real Dask cluster started apart (a scheduler and one worker process, as on a
    cluster's nodes): the batch sent to its address runs every run there, with the same
    statuses as on the local cluster."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    start = [sys.executable, "-m"]
    where = ["--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    scheduler = subprocess.Popen(
        [*start, "distributed.cli.dask_scheduler", *where],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*start, "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        path = batch_folder(tmp_path, BATCH.replace('"base", "banded"', '"base"'))
        result = run_batch(read_batch(path), tmp_path / "out", scheduler=address)
        assert result.table["status"].tolist() == ["optimal", "optimal"]
        assert result.ran == 2
        for run_id in result.table["run_id"]:
            assert (tmp_path / "out" / "runs" / run_id / "manifest.json").is_file()
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


STUDIES = """
kinds = ["schemes", "front"]
instances = ["tiny"]
seeds = [1]
schemes = ["population", "exact_total"]

[compare]
schemes = ["population", "exact_total"]

[front]
axes = ["labour", "distance"]
points = 5

[config.solver]
time_limit = 20
mip_gap = 1e-9

[config.placement]
penalty_shortfall = 0.0
penalty_excess = 0.0
weight_leave_coa_region = 0.0
"""


def test_scheme_comparisons_and_fronts_are_kinds_of_run(tmp_path: Path) -> None:
    """A batch of a scheme comparison and fronts on a real LocalCluster: the comparison
    runs once (the schemes axis does not multiply it), a front per scheme; each study's
    folder is what ``schemes compare`` and ``front`` write, and its row in runs.parquet
    carries the numbers of the same study run in this process (every metric per scheme;
    the knee's labour and distance). Another number of points is another run id."""
    from asielplan.api import compare_schemes, front

    path = batch_folder(tmp_path, STUDIES)
    batch = read_batch(path)
    assert [(r.labels["kind"], r.labels["scheme"]) for r in batch.runs] == [
        ("schemes", None),
        ("front", "population"),
        ("front", "exact_total"),
    ]
    result = run_batch(batch, tmp_path / "out", workers=1)
    table = result.table.set_index("kind")
    assert result.failed == 0 and set(result.table["status"]) == {"optimal"}
    cfg = batch.runs[0].spec.config
    comparison = compare_schemes(["population", "exact_total"], tmp_path / "tiny", cfg)
    schemes_row = table.loc["schemes"]
    for row in comparison.comparison.to_dict("records"):
        column = f"{row['metric']}.{row['scheme']}"
        assert schemes_row[column] == pytest.approx(row["value"], nan_ok=True), column
    folder = tmp_path / "out" / "runs" / batch.runs[0].id
    assert (folder / "comparison.csv").is_file() and (folder / "runs" / "population").is_dir()
    made = front(tmp_path / "tiny", batch.runs[1].spec.config, "labour,distance", 5)
    knee = made.points[made.points["knee"]].iloc[0]
    front_row = result.table.iloc[1]
    assert front_row["on_front"] == int(made.points["on_front"].sum()) >= 2
    assert front_row["stop"].startswith(f"{int(front_row['on_front'])} points on the front of ")
    assert front_row["knee.labour"] == pytest.approx(knee["labour"])
    assert front_row["knee.distance"] == pytest.approx(knee["distance"])
    fewer = read_batch(batch_folder(tmp_path / "b", STUDIES.replace("points = 5", "points = 3")))
    assert fewer.runs[0].id == batch.runs[0].id and fewer.runs[1].id != batch.runs[1].id


def test_study_options_without_their_kind_or_kind_without_options_are_refused(
    tmp_path: Path,
) -> None:
    """Kind "schemes" without [compare], a [front] with no front kind and an unknown
    front axis: one error naming all three."""
    text = STUDIES.replace('kinds = ["schemes", "front"]', 'kinds = ["schemes"]')
    text = text.replace('[compare]\nschemes = ["population", "exact_total"]', "")
    text = text.replace('"distance"]', '"km"]')
    with pytest.raises(ConfigError) as error:
        read_batch(batch_folder(tmp_path, text))
    message = str(error.value)
    assert "[compare]" in message and "unknown axis km" in message
    assert '[front] is for kind "front"' in message


def test_a_batch_run_has_one_id_in_its_row_folder_and_manifest_and_standalone(
    tmp_path: Path,
) -> None:
    """The id of a batch run is computed once, from the configuration the run sees
    (HiGHS at one thread, the seed of its axis): runs.csv, the folder's name and the
    run's manifest.json carry it, and ``asielplan place`` with that configuration
    (solver.threads = 1, the seed) writes a manifest with the same id."""
    path = batch_folder(tmp_path, BATCH.replace("seeds = [1, 2]", "seeds = [2]"))
    out = tmp_path / "out"
    run_batch(read_batch(path), out, workers=1)
    table = pd.read_csv(out / "runs.csv")
    base = table[table["scenario"] == "base"].iloc[0]
    folder = out / "runs" / str(base["run_id"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run_id"] == base["run_id"] == folder.name
    config = tmp_path / "standalone.toml"
    config.write_text("[solver]\ntime_limit = 20\nmip_gap = 1e-6\nseed = 2\nthreads = 1\n")
    alone = tmp_path / "alone"
    result = CliRunner().invoke(
        app, ["place", str(tmp_path / "tiny"), "--config", str(config), "--out", str(alone)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((alone / "manifest.json").read_text())["run_id"] == base["run_id"]


def test_a_batch_table_holds_the_burden_and_group_outcomes_per_run(tmp_path: Path) -> None:
    """A batch over two schemes x two seeds is a tidy table for a paper: one row per
    run with its scheme and seed, the plan's burden (Gini of persons placed per 1,000
    inhabitants, recomputed here from the run's municipalities) and the group outcomes."""
    from asielplan.experiments.results.placement import gini

    text = BATCH.replace('scenarios = ["base", "banded"]', 'scenarios = ["base"]').replace(
        "seeds = [1, 2]", 'seeds = [1, 2]\nschemes = ["population", "exact_total"]'
    )
    path = batch_folder(tmp_path, text)
    out = tmp_path / "out"
    run_batch(read_batch(path), out, workers=1)
    table = pd.read_csv(out / "runs.csv")
    assert sorted(zip(table["scheme"], table["seed"], strict=True)) == [
        ("exact_total", 1),
        ("exact_total", 2),
        ("population", 1),
        ("population", 2),
    ]
    for column in ("burden_gini", "burden_max_min", "p_adult_women", "score_4plus"):
        assert column in table.columns
    population = pd.read_csv(tmp_path / "tiny" / "municipalities.csv")["population"]
    for row in table.to_dict("records"):
        placed = pd.read_csv(out / "runs" / row["run_id"] / "municipalities.csv")
        per_1000 = 1000 * placed["placed_persons"].to_numpy() / population.to_numpy()
        assert row["burden_gini"] == pytest.approx(gini(per_1000))


def test_household_draws_are_an_axis_with_means_and_intervals(tmp_path: Path) -> None:
    """draws = [1, 2, 3]: each run places households drawn anew from its seed (as many as
    the instance's, recomputed here with redraw_households), its manifest says the same
    id as its row (the draw is in it), and draws.csv holds each number's mean over the
    three draws with its 95% t interval, recomputed from runs.csv. A draw on an instance
    with locks is refused, and so is a draws axis no kind reads."""
    from scipy.stats import t

    from asielplan.data.generator import redraw_households
    from asielplan.data.instance import read_instance

    text = BATCH.replace('scenarios = ["base", "banded"]', 'scenarios = ["base"]').replace(
        "seeds = [1, 2]", "seeds = [1]\ndraws = [1, 2, 3]"
    )
    path = batch_folder(tmp_path, text)
    out = tmp_path / "out"
    run_batch(read_batch(path), out, workers=1)
    table = pd.read_csv(out / "runs.csv")
    assert table["draw"].tolist() == [1, 2, 3] and table["run_id"].nunique() == 3
    tiny = read_instance(tmp_path / "tiny")
    for row in table.to_dict("records"):
        folder = out / "runs" / row["run_id"]
        assert json.loads((folder / "manifest.json").read_text())["run_id"] == row["run_id"]
        drawn = redraw_households(tiny, int(row["draw"])).households
        placed = pd.read_csv(folder / "households.csv")
        assert placed["household_id"].tolist() == drawn["household_id"].tolist()
        assert placed["persons"].tolist() == drawn["persons"].tolist()
    persons = [
        pd.read_csv(out / "runs" / r / "households.csv")["persons"].sum() for r in table["run_id"]
    ]
    assert len(set(persons)) > 1  # the draws differ
    draws = pd.read_csv(out / "draws.csv")
    row = draws[draws["measure"] == "expected_employed"].iloc[0]
    values = table["expected_employed"]
    half = t.ppf(0.975, 2) * values.std(ddof=1) / 3**0.5
    assert row["draws"] == row["with_plan"] == 3
    assert row["mean"] == pytest.approx(values.mean())
    assert (row["lower"], row["upper"]) == pytest.approx(
        (values.mean() - half, values.mean() + half)
    )
    locked = tmp_path / "tiny" / "locks.csv"
    locked.write_text("household_id,municipality\nH1,GM0001\n")
    toml = (tmp_path / "tiny" / "instance.toml").read_text()
    (tmp_path / "tiny" / "instance.toml").write_text(
        toml + '\n[tables.locks]\npath = "locks.csv"\n'
    )
    with pytest.raises(ConfigError, match="name its own households"):
        read_batch(path)
    (tmp_path / "reception.toml").write_text('kinds = ["reception"]\ndraws = [1]\n')
    with pytest.raises(ConfigError, match="no kind of this batch places households"):
        read_batch(tmp_path / "reception.toml")
