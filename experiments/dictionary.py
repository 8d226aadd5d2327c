"""The output dictionary: every command's declared outputs gathered (those of
:mod:`asielplan.experiments.outputs` and each study's), the columns a workbook shows as
percentages, and ``docs/output-dictionary.md`` generated from them.

Run ``python -m asielplan.experiments.dictionary > docs/output-dictionary.md``; a test
fails when the committed page and the declarations disagree, and another when a command
writes a table or a column that is not declared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from asielplan.experiments.outputs import (
    BATCH,
    CHAIN,
    LABOUR_FIT,
    LETTERS,
    OTHER_FILES,
    PLACE,
    RECEPTION,
    TAAKSTELLING,
    UNITS,
    WEEKLY,
    Column,
    Output,
    Table,
)
from asielplan.experiments.studies import STUDIES

OUTPUTS: dict[str, Output] = {
    output.key: output
    for output in (
        PLACE,
        WEEKLY,
        RECEPTION,
        TAAKSTELLING,
        *(study.output for study in STUDIES.values()),
        LETTERS,
        BATCH,
        LABOUR_FIT,
        CHAIN,
    )
}


def share_columns(tables: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Per table (name -> its written column names), the columns declared a share (a
    number with unit ``share``, 0 to 1): a workbook shows them as percentages."""
    declared: dict[str, Table] = {}
    for output in OUTPUTS.values():
        for table in output.tables:
            declared.setdefault(table.name, table)
    shares = {
        name: [
            str(column)
            for column in columns
            if any(
                c.unit == "share" and c.kind == "number" and c.matches(str(column))
                for c in declared[name].columns
            )
        ]
        for name, columns in tables.items()
        if name in declared
    }
    return {name: found for name, found in shares.items() if found}


HEADER = """# Output dictionary

Every table a command writes, with its columns: type, unit and meaning. Tables are
written as CSV and Parquet (`output.formats`; add `xlsx` for one workbook per folder),
the CSV in the dialect of `output.csv_dialect`; an empty cell is a missing value. A
column whose meaning says "Only when" is left out otherwise; the other columns are
always there, in the order shown. Outputs hold pseudonymous household ids and
aggregates only. The input tables are in the [data dictionary](data-dictionary.md).

This page is generated from the declarations in `experiments/outputs.py` and the
studies' modules (`experiments/studies/`)
(`python -m asielplan.experiments.dictionary > docs/output-dictionary.md`);
`tests/test_output_dictionary.py` runs the commands and fails when a table or a column
is written that is not declared there, or in another order.
"""


def _units() -> str:
    rows = ["## Units", "", "| unit | meaning |", "| --- | --- |"]
    rows += [f"| {unit} | {meaning} |" for unit, meaning in UNITS.items()]
    return "\n".join(rows)


def _where(output: Output) -> str:
    """Which commands write ``output``'s folder, and where studies keep such runs."""
    text = " and ".join(f"`{command}`" for command in output.commands)
    inside = [
        f"`{command}` ({', '.join(f'`OUT/{folder}`' for folder in folders)})"
        for other in OUTPUTS.values()
        for folders, keys in other.runs
        if output.key in keys
        for command in other.commands
    ]
    line = f"Written by {text} to `OUT/`"
    if inside:
        line += "; also the run folders of " + ", ".join(inside)
    for folders, keys in output.runs:
        named = " and ".join(f"`OUT/{folder}`" for folder in folders)
        runs = " or ".join(f"`asielplan {key}`" for key in keys)
        line += f". {named} hold a run each, with the tables of {runs}"
    return line + "."


def _column(column: Column) -> str:
    meaning = column.meaning
    if column.when:
        meaning += f" Only when {column.when}."
    return f"| `{column.name}` | {column.kind} | {column.unit} | {meaning} |"


def _table(table: Table) -> str:
    files = ", ".join(f"`{table.name}.{fmt}`" for fmt in table.formats)
    written = f"Written when {table.when}." if table.when else "Always written."
    rows = [
        f"### `{table.name}`",
        "",
        f"{table.meaning} Files: {files}. {written}",
        "",
        "| column | type | unit | meaning |",
        "| --- | --- | --- | --- |",
    ]
    rows += [_column(column) for column in table.columns]
    return "\n".join(rows)


def render() -> str:
    out = [HEADER, _units()]
    for output in OUTPUTS.values():
        title = ", ".join(f"`{command}`" for command in output.commands)
        also = ""
        if output.extends is not None:
            parent = ", ".join(f"`{command}`" for command in output.extends.commands)
            also = f" Besides the tables below, every table of {parent}."
        out.append(f"## {title}\n\n{output.meaning} {_where(output)}{also}")
        out += [_table(table) for table in output.tables]
    files = ["## Files that are not tables", ""]
    for names, what in OTHER_FILES:
        named = ", ".join(f"`{name}`" for name in names)
        files.append(f"- {named}: {what}." if named else f"- {what[0].upper()}{what[1:]}.")
    out.append("\n".join(files))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
