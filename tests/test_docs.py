"""Documentation stays true to the code."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from asielplan.data.dictionary import render
from asielplan.experiments.outputs import Column

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


class Namespaces:
    """Every table a command writes with its columns, as the output dictionary declares
    them (tests/test_output_dictionary.py runs every command and holds the declarations
    to what is written; a placeholder column matches the names it stands for, by
    :meth:`Column.matches`), the tables that are not a command's (a batch's, the search
    trace, the plan store's exports), every input table, and every configuration and
    instance.toml section, with their fields."""

    def __init__(self) -> None:
        from asielplan.batch import DRAW_COLUMNS, FIXED
        from asielplan.config import RunConfig
        from asielplan.data.instance import ChainSpec, ReceptionSpec, TaakstellingSpec
        from asielplan.data.schemas import STANDALONE, TABLES
        from asielplan.experiments.dictionary import OUTPUTS
        from asielplan.solvers.placement import TRACE_COLUMNS
        from asielplan.store.plan import PROGRESS_COLUMNS, PROPOSAL_COLUMNS

        self.declared: dict[str, list[Column]] = {}
        self.names: dict[str, set[str]] = {}
        for output in OUTPUTS.values():
            for table in output.tables:
                self.declared.setdefault(table.name, []).extend(table.columns)
        self.add("runs", [*FIXED, "kind", "instance", "scenario", "seed", "scheme", "inflow"])
        self.add("proposals", PROPOSAL_COLUMNS)  # plan export
        self.add("trace", TRACE_COLUMNS)  # a clock record of every placement run
        self.add("draws", DRAW_COLUMNS)  # a batch with household draws
        self.add("progress", PROGRESS_COLUMNS)
        for name, spec in {**TABLES, **STANDALONE}.items():
            self.add(name, spec.schema.columns)
        for name, field in RunConfig.model_fields.items():
            self.add(name, getattr(field.annotation, "model_fields", {}))
        self.add("reception", ReceptionSpec.model_fields)
        self.add("chain", ChainSpec.model_fields)
        self.add("taakstelling", TaakstellingSpec.model_fields)

    def add(self, name: str, columns: Iterable[object]) -> None:
        self.names.setdefault(name, set()).update(str(c) for c in columns)

    @property
    def tables(self) -> set[str]:
        return {*self.declared, *self.names}

    def has(self, table: str, column: str) -> bool:
        return column in self.names.get(table, set()) or any(
            c.matches(column) for c in self.declared.get(table, [])
        )


def test_docs_name_only_tables_and_columns_that_exist() -> None:
    """Every `table.column` (and `.column` after it on the same line), every
    `[section].key` and every `name.csv` in the README and docs/ names a table a run
    writes or reads, a column it has, or a setting that exists."""
    known = Namespaces()
    files = {"manifest", "timings", "notes", "metrics", *known.tables, *SHARED_FILES, *PLOTS}
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
                if not known.has(name, column):
                    missing.append(f"{where}: {name}.{column}")
            for match in CONTINUATION.finditer(line):
                if table is not None and not known.has(table, match.group(1)):
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
