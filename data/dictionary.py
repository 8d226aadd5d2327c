"""Generate ``docs/data-dictionary.md`` from the table schemas and ``InstanceMeta``.

Run ``python -m asielplan.data.dictionary > docs/data-dictionary.md``; a test fails when
the committed page and the schemas disagree.
"""

from __future__ import annotations

from asielplan.data.instance import InstanceMeta, TaakstellingSpec, TableRef
from asielplan.data.schemas import STANDALONE, TABLES, TableSpec, column_kind

HEADER = """# Data dictionary

An instance is a folder with `instance.toml` and one file per table (`.csv` with a header
row, `.xlsx` (its first sheet, read as text like a CSV; dates as dates, formulas by their
saved value), `.parquet`, or for municipalities also `.gpkg` / `.geojson`, whose shapes
give the centroids when `lat`/`lon` are absent). Empty cells are missing values. Extra columns
are kept and ignored. `asielplan validate FOLDER` checks everything below and lists every
problem with its file, row, column and rule. The tables the commands write are in the
[output dictionary](output-dictionary.md).

This page is generated from the schemas in `data/schemas.py`
(`python -m asielplan.data.dictionary > docs/data-dictionary.md`).
"""

TYPE_NAMES = {"Int64": "integer", "Float64": "number", "string": "text"}


def _meta_section() -> str:
    lines = ["## `instance.toml`", "", "| key | meaning |", "| --- | --- |"]
    for name, fld in InstanceMeta.model_fields.items():
        if name == "taakstelling":
            for sub, sf in TaakstellingSpec.model_fields.items():
                lines.append(f"| `taakstelling.{sub}` | {sf.description} |")
        elif name == "tables":
            for sub, sf in TableRef.model_fields.items():
                lines.append(f"| `tables.<name>.{sub}` | {sf.description} |")
        else:
            lines.append(f"| `{name}` | {fld.description} |")
    return "\n".join(lines)


def _rules(column: object) -> str:
    parts = []
    for check in getattr(column, "checks", []):
        parts.append(check.error or check.name)
    if getattr(column, "unique", False):
        parts.append("unique")
    if not getattr(column, "nullable", False):
        parts.append("not empty")
    return "; ".join(parts)


def _columns(spec: TableSpec) -> str:
    schema = spec.schema
    rows = ["| column | type | unit | rules | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, col in schema.columns.items():
        kind = TYPE_NAMES[column_kind(col.dtype)]
        opt = "" if col.required else " (optional column)"
        unit = (col.metadata or {}).get("unit", "")
        rows.append(f"| `{name}`{opt} | {kind} | {unit} | {_rules(col)} | {col.description} |")
    if schema.unique:
        rows.append(f"\nKey: the combination ({', '.join(schema.unique)}) is unique.")
    return "\n".join(rows)


def render() -> str:
    out = [HEADER, _meta_section()]
    for spec in TABLES.values():
        needed = "required" if spec.required else "optional"
        out.append(f"## `{spec.name}` ({needed})\n\n{spec.description}\n")
        out.append(_columns(spec))
    out.append(
        "## Files a command reads\n\nThese tables are not part of an instance: a command "
        "reads them from the file it is given, checked like an instance's tables."
    )
    for spec in STANDALONE.values():
        out.append(f"### `{spec.name}`\n\n{spec.description}\n")
        out.append(_columns(spec))
    out.append(
        "## Region levels\n\nAny column of `municipalities` named in `region_levels` holds "
        "region codes (province, COA region, COROP, arbeidsmarktregio, ...). Region bands in "
        "the run configuration refer to these names."
    )
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
