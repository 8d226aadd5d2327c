"""The output data dictionary stays true to the code: the committed page is what the
declarations render, and every command, run for real on the small fixtures, writes
exactly the declared tables, their columns in the declared order and of the declared
types, and every declared table and column is written by one of these runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from asielplan.cli import app
from asielplan.data.generator import synthetic_municipalities
from asielplan.data.instance import read_instance
from asielplan.experiments.dictionary import OUTPUTS, render
from asielplan.experiments.outputs import Column, Table, expected_columns, match_columns
from asielplan.experiments.studies.schemes import METRICS
from asielplan.io import csv_bytes
from asielplan.model.labour_fit import synthetic_history

from .placement_helpers import FIXTURES, variant
from .reception_helpers import (
    COHORTS,
    SITES,
    TRANSFERS,
    with_candidates,
    write_reception_instance,
)

ROOT = Path(__file__).parents[1]
TINY = FIXTURES / "tiny"
PAIR = FIXTURES / "pair"
RESETTLE = FIXTURES / "resettle"

FAST = "[solver]\ntime_limit = 20\nmip_gap = 1e-6\n"
CONFIGS = {
    "fast": FAST,
    # the shipped spreidingswet on the tiny instance's provinces (same name: it replaces it)
    "spreiding": FAST
    + '[schemes.spreidingswet]\nrule = "spreidingswet"\ncolumn = "employment_rate"\n'
    'region_level = "province"\nregion_totals = { P1 = 8, P2 = 3 }\namv_share = 0.1\n',
    # province bands of 3x-4x the target: infeasible (tests/test_placement.py)
    "region_bands": FAST
    + '[[placement.region_bands]]\nlevel = "province"\nlower = 3.0\nupper = 4.0\n',
    "band_mode": FAST + '[placement]\ntarget_mode = "band"\n',
    "batch": FAST + '[placement]\ntargets = "remaining"\n',
}


COMPARED = ["population", "exact_total"]  # the schemes compared by the batch's study


def batch_file(out: Path) -> Path:
    """A batch of the tiny instance: a placement, a scheme comparison and a front of two
    points, each for a [values] axis (one value: its column is what is checked) and two
    household draws (the means and intervals of draws.csv)."""
    folder = out.parent / "batch-input"
    folder.mkdir(exist_ok=True)
    path = folder / "batch.toml"
    path.write_text(
        f'kinds = ["place", "schemes", "front"]\ninstances = ["{TINY}"]\ndraws = [1, 2]\n'
        '[values]\n"placement.penalty_excess" = [50]\n'
        f"[compare]\nschemes = {json.dumps(COMPARED)}\n[front]\npoints = 2\n"
        "[config.solver]\ntime_limit = 20\nmip_gap = 1e-6\n"
    )
    return path


@dataclass
class Case:
    """One command line run for the test: its output folder, the names its placeholder
    columns take (region levels, schemes, swept settings) and the exit code it must end
    with."""

    name: str
    args: list[str]
    bindings: dict[str, list[str]] = field(default_factory=dict)
    exit_code: int = 0
    folder: Path = Path()


def levels(instance: Path) -> dict[str, list[str]]:
    """The names of the ``<level>`` columns of a run on ``instance``."""
    return {"level": list(read_instance(instance).meta.region_levels)}


def robust_parts() -> dict[str, Any]:
    """A reception instance with everything in it: a procedure in a GVL before the AZCs
    (moves, procedure classes), two business cases (one over budget), a region target,
    and a steady and a peak inflow (a robust plan)."""
    gvl = pd.DataFrame(
        {
            "site_id": ["G1"],
            "municipality": ["GM9001"],
            "modality": ["GVL"],
            "capacity": [40],
            "cost_per_night": [60.0],
        }
    )
    candidates = with_candidates(
        SITES, site_id=["C1", "C2"], cost_per_night=[72.0, 90.0], fixed_cost=[100.0, 0.0]
    )
    cohorts = pd.concat(
        [
            COHORTS.assign(inflow="steady", cohort_id=["s1", "s2"]),
            COHORTS.assign(inflow="peak", cohort_id=["p1", "p2"], persons=[8, 18]),
        ]
    ).assign(first_line_periods=1, stay_periods=3)
    into_gvl = [["arrival", "GVL"], ["GVL", "AZC"], ["GVL", "noodopvang"]]
    return {
        "sites": pd.concat([candidates, gvl], ignore_index=True),
        "cohorts": cohorts,
        "region_targets": pd.DataFrame({"region": ["PB"], "target": [5], "period": [2]}),
        "reception": {"periods": 3, "transfers": TRANSFERS + into_gvl},
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """Every command that writes tables, through the command line on the tiny fixtures
    and reception instances written here, with the variants that write the rare tables
    and columns: a re-solve with --previous (changes), infeasible runs (diagnosis,
    elastic/), band mode, a weekly batch (with prices), a simulation, capacities and a
    scores table, a robust plan (:func:`robust_parts`), a scheme with region totals and
    AMV places, and Spreidingswet letters."""
    root = tmp_path_factory.mktemp("outputs")
    for name, text in CONFIGS.items():
        (root / f"{name}.toml").write_text(text)
    cfg = {name: str(root / f"{name}.toml") for name in CONFIGS}
    fast, spreiding = cfg["fast"], cfg["spreiding"]
    batch = variant(
        root, "tiny", {"progress": "municipality,placed\nGM0001,5\nGM0002,0\nGM0003,2\nGM0004,0\n"}
    )
    short = write_reception_instance(root / "short", sites=SITES.iloc[:2])
    robust = write_reception_instance(root / "robust", **robust_parts())
    line = write_reception_instance(root / "line")
    tiny, out = str(TINY), root / "out"
    place = levels(TINY)
    history, truth = synthetic_history(synthetic_municipalities(40, 1), 1_500, 2)
    (root / "history").mkdir()
    (root / "history" / "history.csv").write_bytes(csv_bytes(history))
    (root / "history" / "history.truth.csv").write_bytes(csv_bytes(truth))
    fitted = str(root / "history" / "history.csv")
    cases = [
        Case("place", ["place", tiny, "--config", fast], place),
        Case(
            "previous",
            ["place", tiny, "--config", fast, "--previous", str(out / "place")],
            place,
        ),
        Case("infeasible", ["place", tiny, "--config", cfg["region_bands"]], place, 2),
        Case("band", ["place", tiny, "--config", cfg["band_mode"]], place),
        Case("batch", ["place", str(batch), "--config", cfg["batch"]], place),
        Case("weekly", ["weekly", str(batch), "--config", fast], place),
        Case(
            "weekly-balanced",
            ["weekly", str(batch), "--policy", "balanced", "--config", fast],
            place,
        ),
        Case(
            "simulate",
            [
                *("simulate", tiny, "--weeks", "2", "--seeds", "2", "--config", fast),
                *("--policies", "greedy,prices,balanced"),
            ],
        ),
        Case("resettle", ["place", str(RESETTLE), "--config", fast], levels(RESETTLE)),
        Case("short", ["reception", str(short), "--config", fast], exit_code=2),
        Case("robust", ["reception", str(robust), "--config", fast, "--robust"]),
        Case("reception", ["reception", str(robust), "--config", fast, "--inflow", "peak"]),
        Case(
            "reception-compare",
            [
                *("reception-compare", str(robust), "--inflows", "steady,peak"),
                *("--robust", "--config", fast),
            ],
        ),
        Case("taakstelling", ["taakstelling", tiny]),
        Case("show", ["schemes", "show", tiny, "--scheme", "spreidingswet", "--config", spreiding]),
        Case(
            "compare",
            ["schemes", "compare", tiny, "--schemes", "population,exact_total", "--config", fast],
            {**place, "scheme": ["population", "exact_total"]},
        ),
        Case(
            "front",
            ["front", tiny, "--axes", "labour,distance", "--points", "2", "--config", fast],
            place,
        ),
        Case(
            "front-reception",
            [
                "front",
                str(line),
                "--problem",
                "reception",
                "--axes",
                "money,emergency",
                "--points",
                "2",
                "--config",
                fast,
            ],
        ),
        Case(
            "sweep",
            ["sweep", tiny, "--sweep", "placement.penalty_excess=5,50", "--config", fast],
            {**place, "setting": ["placement.penalty_excess"]},
        ),
        Case(
            "fairness",
            [
                "fairness",
                str(PAIR),
                "--groups",
                "gender",
                "--rule",
                "proportional",
                "--config",
                fast,
            ],
            levels(PAIR),
        ),
        Case(
            "batch-run",
            ["batch", "run", str(batch_file(out)), "--workers", "1"],
            {
                **place,
                "setting": ["placement.penalty_excess"],
                "scheme": COMPARED,
                "metric.scheme": [f"{m}.{s}" for s in COMPARED for m in METRICS],
            },
        ),
        Case("letters", ["letters", tiny, "--period", "2026-I", "--national", "11"]),
        Case("labour", ["labour", "fit", fitted, "--seed", "0", "--compare"]),
        Case("chain", ["chain", "--robust", "--choose-national"]),
        Case(
            "spreiding-letters",
            [
                "letters",
                tiny,
                "--period",
                "2026-I",
                "--national",
                "11",
                "--scheme",
                "spreidingswet",
                "--config",
                spreiding,
            ],
        ),
    ]
    runner = CliRunner()
    for case in cases:
        case.folder = out / case.name
        result = runner.invoke(app, [*case.args, "--out", str(case.folder)])
        assert result.exit_code == case.exit_code, f"{case.name}: {result.output}"
    return {case.name: case for case in cases}


@dataclass
class Found:
    """A table file written, the output declaration of its folder and its declaration
    (None when undeclared)."""

    path: Path
    output: str
    table: Table | None


def tables_written(folder: Path) -> list[Found]:
    """Every CSV and Parquet file under ``folder``, with the output of the nearest
    folder above it that has a manifest (a run folder inside a study has its own)."""
    out = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".csv", ".parquet"):
            continue
        owner = path.parent
        while not (owner / "manifest.json").is_file():
            assert owner != folder.parent, f"{path}: no manifest.json above it"
            owner = owner.parent
        command = json.loads((owner / "manifest.json").read_text())["command"]
        assert command in OUTPUTS, f"{path}: command {command!r} declares no outputs"
        out.append(Found(path, command, OUTPUTS[command].table(path.stem)))
    return out


def written_columns(path: Path) -> list[str]:
    """The header of a written table."""
    if path.suffix == ".parquet":
        return list(pq.read_schema(path).names)
    return [str(c) for c in pd.read_csv(path, nrows=0).columns]


def read_table(path: Path) -> pd.DataFrame:
    """A written table, with the types its file keeps (a CSV's as pandas reads them)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)


def fits(kind: str, values: pd.Series) -> bool:
    """Whether the written values are of the declared type (missing values aside; a
    whole-number column with a missing value is stored as floats)."""
    present = values.dropna()
    if present.empty:
        return True
    if isinstance(present.dtype, pd.CategoricalDtype):
        present = present.astype(object)
    items = present.tolist()
    if kind == "text":
        return all(isinstance(v, str) for v in items)
    if kind == "true-false":
        return all(isinstance(v, bool | np.bool_) for v in items)
    if any(isinstance(v, bool | np.bool_ | str) for v in items):
        return False
    if kind == "integer":
        return all(float(v).is_integer() for v in items)
    return all(isinstance(v, int | float | np.integer | np.floating) for v in items)


def test_output_dictionary_is_generated_from_the_declarations() -> None:
    """docs/output-dictionary.md equals what the declarations render (regenerate with
    python -m asielplan.experiments.dictionary > docs/output-dictionary.md)."""
    assert (ROOT / "docs" / "output-dictionary.md").read_text() == render()


def test_every_table_written_is_declared_with_its_columns_in_order(
    written: dict[str, Case],
) -> None:
    """Every CSV and Parquet table any command wrote (in its own folder, in the run
    folders of a study and in elastic/) is declared for that command, in a declared
    format, and its columns are the declared ones in the declared order: a new table, a
    new column or a column moved fails here until experiments/outputs.py says what it
    is."""
    problems = []
    for case in written.values():
        for found in tables_written(case.folder):
            where = found.path.relative_to(case.folder.parent)
            if found.table is None:
                problems.append(f"{where}: {found.output} declares no table {found.path.stem!r}")
                continue
            if found.path.suffix.lstrip(".") not in found.table.formats:
                problems.append(f"{where}: not a declared format of {found.table.name}")
            columns = written_columns(found.path)
            if match_columns(found.table, columns, case.bindings) is None:
                declared = expected_columns(found.table, case.bindings)
                problems.append(f"{where}: columns {columns}\n  declared {declared}")
    assert not problems, "\n".join(problems)


def test_every_column_written_has_the_declared_type(written: dict[str, Case]) -> None:
    """The values of every column written are of its declared type (text, true-false,
    integer or number; missing values aside), read back from the Parquet file (from the
    CSV where a table is CSV only)."""
    problems = []
    for case in written.values():
        for found in tables_written(case.folder):
            table = found.table
            if table is None or (found.path.suffix == ".csv" and "parquet" in table.formats):
                continue  # undeclared (another test says so), or read from its Parquet file
            frame = read_table(found.path)
            declared = match_columns(table, list(frame.columns), case.bindings) or []
            for name, column in zip(frame.columns, declared, strict=False):
                if not fits(column.kind, frame[name]):
                    sample = frame[name].dropna().head(3).tolist()
                    where = found.path.relative_to(case.folder.parent)
                    problems.append(f"{where}: {name} is declared {column.kind}: {sample}")
    assert not problems, "\n".join(problems)


def test_every_declared_table_and_column_is_written(written: dict[str, Case]) -> None:
    """The runs of the fixture write every declared output, table and column (each
    placeholder column at least once): a table or column the code no longer writes
    cannot stay in the dictionary."""
    seen: set[tuple[str, str, str]] = set()
    for case in written.values():
        for found in tables_written(case.folder):
            if found.table is None:
                continue
            columns = written_columns(found.path)
            declared: list[Column] = match_columns(found.table, columns, case.bindings) or []
            output = OUTPUTS[found.output]
            while found.table not in output.tables and output.extends is not None:
                output = output.extends  # a table the output takes from the one it extends
            seen.add((output.key, found.table.name, ""))
            seen |= {(output.key, found.table.name, column.name) for column in declared}
    missing = [
        f"{key}: {table.name}" + (f".{column}" if column else "")
        for key, output in OUTPUTS.items()
        for table in output.tables
        for column in ["", *(c.name for c in table.columns)]
        if (key, table.name, column) not in seen
    ]
    assert not missing, "declared but never written:\n" + "\n".join(missing)
