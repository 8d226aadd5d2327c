"""Documentation stays true to the code."""

from __future__ import annotations

import re
from pathlib import Path

from asielplan.data.dictionary import render

ROOT = Path(__file__).parents[1]


def test_data_dictionary_is_generated_from_the_schemas() -> None:
    """docs/data-dictionary.md equals what the schemas render (regenerate if this fails)."""
    assert (ROOT / "docs" / "data-dictionary.md").read_text() == render()


REFERENCE = re.compile(r"`\[?([a-z_]+)\]?\.([a-z_]+)`")
CONTINUATION = re.compile(r"`\.([a-z_]+)`")
FILE = re.compile(r"`([a-z_]+)\.(csv|png|parquet|txt)`")
# dotted names in the docs that are not tables or settings: modules, files, expressions
NOT_TABLES = {"asielplan", "model", "data", "solvers", "experiments", "instance", "dask"}
SHARED_FILES = {"coa_opvang_landelijk_snapshots", "taakstelling_vergunninghouders_landelijk"}
PLOTS = {"shares"}  # plots named after no table: the simulation's shares of hindsight


def namespaces(tmp_path: Path) -> dict[str, set[str]]:
    """Every table a run writes with its columns (from real runs on the embedded default
    and a robust tiny plan), every input table, and every configuration and
    instance.toml section, with their fields."""
    from asielplan.api import (
        compare_reception,
        compare_schemes,
        fairness,
        front,
        letters,
        place,
        plan_chain,
        plan_reception,
        scheme_tables,
        simulate,
        sweep,
        taakstelling,
        weekly,
        with_previous_plan,
        with_table,
        write_run,
    )
    from asielplan.config import RunConfig
    from asielplan.data.instance import ChainSpec, ReceptionSpec, TaakstellingSpec
    from asielplan.data.schemas import STANDALONE, TABLES
    from asielplan.experiments.results import DIAGNOSIS_COLUMNS

    from .reception_helpers import COHORTS, write_reception_instance

    out: dict[str, set[str]] = {}

    def add(name: str, columns: object) -> None:
        out.setdefault(name, set()).update(str(c) for c in columns)  # type: ignore[attr-defined]

    fast = RunConfig.model_validate({"solver": {"time_limit": 5}})
    robust = RunConfig.model_validate({"reception": {"robust": True}})
    two = COHORTS.assign(inflow=["a", "b"])
    first = place(None, fast)
    write_run(first, tmp_path / "first")
    runs = [
        first,
        place(with_previous_plan(None, tmp_path / "first"), fast),
        plan_reception(None, fast),
        plan_reception(write_reception_instance(tmp_path / "r", cohorts=two), robust),
        plan_chain(None, fast),
    ]
    for run in runs:
        for name, table in run.tables.items():
            add(name, table.columns)
    add("diagnosis", DIAGNOSIS_COLUMNS)
    tiny = Path(__file__).parent / "fixtures" / "tiny"
    regional = RunConfig.model_validate(
        {
            "schemes": {
                "with_regions": {
                    "rule": "spreidingswet",
                    "column": "employment_rate",
                    "region_level": "province",
                    "region_totals": {"P1": 8, "P2": 3},
                    "amv_share": 0.1,
                }
            }
        }
    )
    for scheme in (taakstelling(None), taakstelling(tiny, 11, "with_regions", regional)):
        for name, table in scheme_tables(scheme).items():
            add(name, table.columns)
    add("letters", letters("2026-I", tiny, national=11).table.columns)
    made = front(tiny, fast, "labour,distance", points=2)
    add("points", made.points.columns)
    add("front", made.front.columns)
    add("sweep", sweep(tiny, fast, ["placement.penalty_shortfall=5,10"]).table.columns)
    study = fairness(tiny.parent / "pair", fast, "gender", "proportional")
    add("fairness", study.summary.columns)
    add("groups", study.table.columns)
    progress = tmp_path / "progress.csv"
    progress.write_text("municipality,placed\nGM0001,5\nGM0002,0\nGM0003,0\nGM0004,0\n")
    with_progress = with_table(tiny, "progress", progress)
    batch = weekly(with_progress, fast)
    for name in ("prices", "pace"):
        add(name, batch.tables[name].columns)
    simulated = simulate(tiny, fast, weeks=2, seeds=1, policies=("greedy", "prices"))
    for name in ("runs", "summary", "balance"):
        add(name, getattr(simulated.result, name).columns)
    compared = compare_schemes(["population", "exact_total"], tiny, fast)
    add("comparison", compared.comparison.columns)
    from asielplan.batch import FIXED

    add("runs", [*FIXED, "kind", "instance", "scenario", "seed", "scheme", "inflow"])
    add("targets", compared.targets.columns)
    inflows = compare_reception(["a", "b"], tmp_path / "r", fast, robust=True)
    for name in ("comparison", "openings", "extra_places"):
        add(name, getattr(inflows, name).columns)
    from asielplan.data.generator import synthetic_municipalities
    from asielplan.experiments.labour_card import fit_labour
    from asielplan.io import csv_bytes
    from asielplan.model.labour_fit import synthetic_history

    history, _ = synthetic_history(synthetic_municipalities(40, 1), 1_500, 2)
    (tmp_path / "history.csv").write_bytes(csv_bytes(history))
    for name, table in fit_labour(tmp_path / "history.csv", fast, compare=True).tables.items():
        add(name, table.columns)
    from asielplan.store.plan import PROGRESS_COLUMNS, PROPOSAL_COLUMNS

    add("proposals", PROPOSAL_COLUMNS)  # plan export
    from asielplan.solvers.placement import TRACE_COLUMNS

    add("trace", TRACE_COLUMNS)  # a clock record of every placement run
    from asielplan.batch import DRAW_COLUMNS

    add("draws", DRAW_COLUMNS)  # a batch with household draws
    add("progress", PROGRESS_COLUMNS)
    for name, spec in {**TABLES, **STANDALONE}.items():
        add(name, spec.schema.columns)
    for name, field in RunConfig.model_fields.items():
        add(name, getattr(field.annotation, "model_fields", {}))
    add("reception", ReceptionSpec.model_fields)
    add("chain", ChainSpec.model_fields)
    add("taakstelling", TaakstellingSpec.model_fields)
    return out


def test_docs_name_only_tables_and_columns_that_exist(tmp_path: Path) -> None:
    """Every `table.column` (and `.column` after it on the same line), every
    `[section].key` and every `name.csv` in the README and docs/ names a table a run
    writes or reads, a column it has, or a setting that exists."""
    known = namespaces(tmp_path)
    files = {"manifest", "timings", "notes", "metrics", *known, *SHARED_FILES, *PLOTS}
    missing = []
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            where = f"{page.relative_to(ROOT)}:{number}"
            table = None
            for match in REFERENCE.finditer(line):
                name, column = match.groups()
                if name in NOT_TABLES or column in (
                    "csv",
                    "png",
                    "parquet",
                    "json",
                    "toml",
                    "py",
                    "txt",
                    "xlsx",
                    "geojson",
                    "html",
                ):
                    continue
                table = name
                if column not in known.get(name, set()):
                    missing.append(f"{where}: {name}.{column}")
            for match in CONTINUATION.finditer(line):
                if table is not None and match.group(1) not in known[table]:
                    missing.append(f"{where}: {table}.{match.group(1)}")
            for match in FILE.finditer(line):
                if match.group(1) not in files:
                    missing.append(f"{where}: {match.group(0)}")
    assert not missing, "named in the docs but not in the code:\n" + "\n".join(missing)


def test_readme_configuration_example_is_valid(tmp_path: Path) -> None:
    """The configuration shown in the README loads, with its scenario."""
    from asielplan.config import load_config

    text = (ROOT / "README.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.toml"
    path.write_text(block)
    config = load_config(path, "strict")
    assert config.placement.target_mode == "band" and config.reception.inflow == "peak"
    assert config.placement.part_bounds["distance"].upper == 50000


def test_no_docstring_holds_a_control_character() -> None:
    """LaTeX in a docstring that is not raw turns ``\\alpha`` into a bell and ``\\beta``
    into a backspace: no docstring of the package holds such a character."""
    import ast

    found = []
    for folder in ("asielplan", "data", "model", "solvers", "experiments"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                    doc = ast.get_docstring(node, clean=False) or ""
                    if any(c in doc for c in "\a\b\f\r\t\v"):
                        found.append(f"{path.relative_to(ROOT)}: {getattr(node, 'name', '')}")
    assert not found, found
