"""The instance format: a folder with ``instance.toml`` and one file per table.

``read_instance`` reads and validates everything and either returns a typed
:class:`Instance` or raises :class:`~asielplan.errors.InputError` listing every problem
found (file, row, column, rule), never only the first one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from asielplan.data.schemas import BUILTIN_DIMENSIONS, FLOAT, INT, STR, TABLES, column_kind
from asielplan.errors import InputError, Issue
from asielplan.io import atomic_output_dir, atomic_write_bytes, csv_bytes, json_text

META_FILE = "instance.toml"
# names of earlier versions of the format: (table, old column) -> new column
RENAMED_COLUMNS = {("cohorts", "scenario"): "inflow"}
# (table, column) -> where its meaning lives now, for a column that left its table
MOVED_COLUMNS = {
    ("municipalities", "capacity"): "the capacities table (municipality, dimension = persons, "
    "capacity)",
}
RENAMED_KEYS = {
    ("reception", "scenario_weights"): "reception.inflow_weights",
    ("taakstelling", "rule"): "taakstelling.scheme",
}
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".gpkg", ".geojson")
GEOMETRY_SUFFIXES = (".gpkg", ".geojson")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TableRef(_Strict):
    """Where a table lives (relative to the instance folder) and where it came from."""

    path: str = Field(description="File of the table: .csv, .xlsx, .parquet, .gpkg or .geojson.")
    source: str = Field(default="", description="Provenance: publisher, vintage, licence.")
    synthetic: bool | None = Field(
        default=None,
        description="Whether the table's values are made up (generated); empty: as the "
        "instance's synthetic flag says.",
    )


def is_synthetic(meta: InstanceMeta, table: str) -> bool:
    """Whether ``table``'s values are made up: its own ``synthetic`` flag, else the
    instance's (a generated instance on real CBS municipalities has real municipalities
    and synthetic households)."""
    ref = meta.tables.get(table)
    return meta.synthetic if ref is None or ref.synthetic is None else ref.synthetic


HALF_YEAR = re.compile(r"^[0-9]{4}-(I|II)$")  # a taakstelling period: 2027-I, 2027-II
MAX_NATIONAL = 10_000_000  # persons a half-year: far above any real number, and vg * iG fits


class TaakstellingSpec(_Strict):
    """The national half-year number and the quota scheme that splits it."""

    national: int = Field(
        ge=0,
        le=MAX_NATIONAL,
        description="National taakstelling for the period (persons).",
    )
    scheme: str = Field(
        default="population",
        description="Quota scheme of the taakstelling: population (the law, Huisvestingswet "
        "2014 art. 29) unless a study names another (asielplan schemes list).",
    )
    population_date: str | None = Field(
        default=None,
        description="Date of municipalities.population (YYYY-MM-DD); the law takes 1 "
        "January of the year before the period's year.",
    )
    publication: str | None = Field(
        default=None,
        description="Where the national number was published (e.g. the Staatscourant "
        "notice), for the letters.",
    )


TIER_COSTS = {"regular": 83.0, "emergency": 190.0, "crisis": 100.0}  # EUR per place-night, below


def _non_negative_weights(value: dict[str, float]) -> dict[str, float]:
    """Inflow weights (of a reception plan or the chain) are >= 0."""
    if any(weight < 0 for weight in value.values()):
        raise ValueError("inflow weights must be >= 0")
    return value


class ReceptionSpec(_Strict):
    """The ``[reception]`` section: horizon and cost parameters of reception planning.

    Cost defaults: COA's average cost price per resident per year (COA, Jaarverslag 2023,
    https://www.coa.nl: regular EUR 30,400, about 83 per night; noodopvang EUR 69,400,
    about 190) and crisisnoodopvang reimbursed at EUR 100 per person per day (the
    Rijk-VNG arrangement of 2015-2016 as reported; unverified)."""

    periods: int = Field(ge=1, description="Number of planning periods.")
    nights_per_period: int = Field(default=14, ge=1, description="Nights in one period.")
    first_period: str = Field(default="", description="Label of period 1, e.g. a date.")
    average_cost_price: float = Field(
        default=83.0, gt=0, description="Average cost price per resident-night (EUR)."
    )
    budget_per_night: float | None = Field(
        default=None,
        gt=0,
        description="Budget per place-night a business case is judged on; "
        "empty: the average cost price.",
    )
    buffer_norm: float = Field(
        default=0.96,
        gt=0,
        le=1,
        description="Highest share of open regular places that may be occupied "
        "(COA plans at 96%); 1 switches the buffer off.",
    )
    region_level: str | None = Field(
        default=None,
        description="Region level (a column of municipalities) of destinations, "
        "preferences and region targets.",
    )
    cost_per_night: dict[Literal["regular", "emergency", "crisis"], float] = Field(
        default_factory=lambda: dict(TIER_COSTS),  # type: ignore[arg-type]
        description="Default cost per occupied bed-night by tier (EUR): regular, "
        "emergency, crisis; a tier left out keeps its default.",
    )
    inflow_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of each inflow (of the cohorts table) in a robust plan; empty: equal.",
    )
    transfers: list[tuple[str, str]] | None = Field(
        default=None,
        description="Allowed transfers as [from, to] modality pairs, with 'arrival' and "
        "'exit' as the ends of the chain; empty: the default Dutch chain.",
    )

    @field_validator("cost_per_night")
    @classmethod
    def _tier_costs(cls, value: dict[str, float]) -> dict[str, float]:
        if any(cost < 0 for cost in value.values()):
            raise ValueError("costs per night must be >= 0")
        return {**TIER_COSTS, **value}

    @field_validator("inflow_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _non_negative_weights(value)


class ChainSpec(_Strict):
    """The ``[chain]`` section: the asylum chain's state on the forecast's first date and
    its observed rates (docs/chain.md says where each figure is published)."""

    in_procedure: float = Field(
        ge=0, description="Asylum seekers in reception awaiting a first decision (persons)."
    )
    waiting: float = Field(
        ge=0, description="Status holders in reception waiting for a house (persons)."
    )
    departing: float = Field(
        default=0.0, ge=0, description="Rejected asylum seekers in reception (persons)."
    )
    decisions_per_week: float = Field(
        gt=0, description="First decisions the IND makes per week (behandelcapaciteit)."
    )
    decision_lag_weeks: int = Field(
        default=4,
        ge=0,
        le=520,
        description="Weeks from arrival before a first decision can be made.",
    )
    departure_weeks: float = Field(
        default=26.0,
        gt=0,
        description="Mean weeks a rejected asylum seeker stays in reception.",
    )
    realisation_share: float = Field(
        default=0.9,
        ge=0,
        le=2,
        description="Share of a half-year's national taakstelling that municipalities "
        "house in that half-year.",
    )
    national: dict[str, float] = Field(
        default_factory=dict,
        description="The national taakstelling (persons) announced per half-year, e.g. "
        "'2027-I' = 16000: every half-year that starts within the lead time of the "
        "forecast's first date needs one.",
    )
    inflow_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of each inflow of the forecast in a robust plan; empty: equal.",
    )

    @field_validator("national")
    @classmethod
    def _half_years(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if not HALF_YEAR.match(name):
                raise ValueError(f"{name!r} is not a half-year such as 2027-I or 2027-II")
            if not 0 <= number <= 1_000_000:
                raise ValueError(f"{name}: a taakstelling between 0 and 1,000,000 persons")
        return value

    @field_validator("inflow_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _non_negative_weights(value)


class InstanceMeta(_Strict):
    """Contents of ``instance.toml``."""

    name: str = Field(description="Short name of the instance.")
    period: str = Field(description="Planning period, e.g. '2025-I' for the first half-year.")
    seed: int = Field(description="Seed the instance was generated with (0 for real data).")
    synthetic: bool = Field(default=False, description="True when households are generated.")
    description: str = Field(default="", description="Free text shown in reports.")
    region_levels: tuple[str, ...] = Field(
        default=(), description="Columns of the municipality table that hold region codes."
    )
    csv_dialect: Literal["standard", "nl"] = Field(
        default="standard",
        description="CSV tables: standard (comma-separated, decimal point) or nl "
        "(semicolon-separated, decimal comma, '.' between thousands, as a Dutch Excel "
        "writes them).",
    )
    encoding: Literal["utf-8", "cp1252"] = Field(
        default="utf-8",
        description="Text encoding of the CSV tables: utf-8, or cp1252 (Windows Excel).",
    )
    allow_outside_paths: bool = Field(
        default=False,
        description="Allow table paths outside the instance folder (they are hashed in the "
        "manifest like the others).",
    )
    taakstelling: TaakstellingSpec | None = None
    reception: ReceptionSpec | None = None
    chain: ChainSpec | None = None
    tables: dict[str, TableRef]


@dataclass
class Instance:
    """A validated instance. Tables use plain numpy dtypes; optional tables may be None."""

    meta: InstanceMeta
    municipalities: pd.DataFrame
    households: pd.DataFrame
    sites: pd.DataFrame
    members: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    allowed: pd.DataFrame | None = None
    forbidden: pd.DataFrame | None = None
    locks: pd.DataFrame | None = None
    capacities: pd.DataFrame | None = None
    needs: pd.DataFrame | None = None
    achterstand: pd.DataFrame | None = None
    progress: pd.DataFrame | None = None
    cohorts: pd.DataFrame | None = None
    region_targets: pd.DataFrame | None = None
    forecast: pd.DataFrame | None = None
    site_list: pd.DataFrame | None = None
    swaps: pd.DataFrame | None = None
    population_override: pd.DataFrame | None = None
    previous_plan: pd.DataFrame | None = None
    geometry: Any = None  # geopandas.GeoDataFrame of municipality shapes, when given
    root: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    loaded: frozenset[str] = frozenset()  # tables read successfully (cross checks need them)
    attached: dict[str, str] = field(default_factory=dict)  # table -> SHA-256, read from
    # outside the instance for one run (e.g. --previous); the run id hashes them too
    warnings: list[Issue] = field(default_factory=list)  # legal, but probably not meant

    def table(self, name: str) -> pd.DataFrame | None:
        frame: pd.DataFrame | None = getattr(self, name)
        return frame

    @property
    def region_levels(self) -> tuple[str, ...]:
        return self.meta.region_levels


def household_needs(inst: Instance) -> pd.DataFrame:
    """What every household needs of every capacity dimension the capacities table
    names (households x dimensions): its persons in ``persons``, 1 in ``cases``, its
    needs-table rows (0 where it has none) in a named dimension."""
    hh, capacities = inst.households, inst.capacities
    dimensions = sorted(set(capacities["dimension"])) if capacities is not None else []
    dimensions.sort(key=lambda name: (name not in BUILTIN_DIMENSIONS, name))
    out = pd.DataFrame(index=pd.Index(hh["household_id"].to_numpy(), name="household_id"))
    needs = inst.needs
    for dimension in dimensions:
        if dimension == "persons":
            out[dimension] = hh["persons"].to_numpy(dtype=float)
        elif dimension == "cases":
            out[dimension] = 1.0
        else:
            rows = needs[needs["dimension"] == dimension] if needs is not None else None
            given = (
                rows.drop_duplicates("household_id").set_index("household_id")["need"]
                if rows is not None
                else pd.Series(dtype=float)
            )
            out[dimension] = given.astype(float).reindex(out.index).fillna(0.0).to_numpy()
    return out


def capacity_matrix(inst: Instance, codes: list[str], dimensions: list[str]) -> np.ndarray:
    """Capacity per dimension (rows, in the order of ``dimensions``: the columns of
    :func:`household_needs`) and municipality (columns, in the order of ``codes``): inf
    where a municipality has no row for a dimension (unbounded in it); rows naming other
    municipalities or dimensions left out (their checks report them)."""
    capacity = np.full((len(dimensions), len(codes)), np.inf)
    rows = inst.capacities
    if rows is None or not dimensions or not codes:
        return capacity
    k = pd.Series(np.arange(len(dimensions)), index=dimensions)
    m = pd.Series(np.arange(len(codes)), index=codes)
    dimension = k.reindex(rows["dimension"].to_numpy()).to_numpy()
    municipality = m.reindex(rows["municipality"].to_numpy()).to_numpy()
    known = ~(np.isnan(dimension) | np.isnan(municipality))
    values = rows["capacity"].to_numpy(dtype=float)[known]
    capacity[dimension[known].astype(int), municipality[known].astype(int)] = values
    return capacity


# --------------------------------------------------------------------------- reading


def read_instance(path: str | Path) -> Instance:
    """Read and validate the instance folder at ``path``.

    Raises :class:`InputError` with every problem found; returns a typed instance.
    """
    from asielplan.data.checks import run_checks

    root = Path(path)
    issues: list[Issue] = []
    meta = _read_meta(root, issues)
    if meta is None:
        raise InputError(issues, str(root))

    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    geometry = None
    for name, spec in TABLES.items():
        ref = meta.tables.get(name)
        if ref is None:
            if spec.required:
                issues.append(
                    Issue(
                        META_FILE,
                        None,
                        None,
                        "required table",
                        f"table '{name}' is required: add [tables.{name}] with a path",
                    )
                )
            continue
        files[name] = ref.path
        raw = _read_table_file(root, ref.path, issues, meta)
        if raw is None:
            continue
        if name == "municipalities" and Path(ref.path).suffix.lower() in GEOMETRY_SUFFIXES:
            raw, geometry = _split_geometry(raw)
        issues += [
            Issue(
                ref.path,
                None,
                old,
                "renamed column",
                f"the column '{old}' is now called '{new}'",
            )
            for (table, old), new in RENAMED_COLUMNS.items()
            if table == name and old in raw.columns and new not in raw.columns
        ]
        issues += [
            Issue(
                ref.path,
                None,
                column,
                "moved column",
                f"the column '{column}' is no longer read here: give it in {place}",
            )
            for (table, column), place in MOVED_COLUMNS.items()
            if table == name and column in raw.columns
        ]
        frames[name] = _coerce_and_validate(raw, spec.schema, ref.path, issues)

    if not {"households", "cohorts", "forecast"} & set(meta.tables):
        issues.append(
            Issue(
                META_FILE,
                None,
                None,
                "required table",
                "declare [tables.households] (placement), [tables.cohorts] (reception) or "
                "[tables.forecast] (the chain plan), or several",
            )
        )
    for name in meta.tables:
        if name not in TABLES:
            issues.append(
                Issue(
                    META_FILE,
                    None,
                    None,
                    "unknown table",
                    f"table '{name}' is not part of the format; known: {', '.join(TABLES)}",
                )
            )

    issues += _unregistered_files(root, meta)
    instance = Instance(
        meta=meta,
        municipalities=frames.get("municipalities", _empty(TABLES["municipalities"].schema)),
        households=frames.get("households", _empty(TABLES["households"].schema)),
        sites=frames.get("sites", _empty(TABLES["sites"].schema)),
        members=frames.get("members"),
        scores=frames.get("scores"),
        predictions=frames.get("predictions"),
        allowed=frames.get("allowed"),
        forbidden=frames.get("forbidden"),
        locks=frames.get("locks"),
        capacities=frames.get("capacities"),
        needs=frames.get("needs"),
        achterstand=frames.get("achterstand"),
        progress=frames.get("progress"),
        cohorts=frames.get("cohorts"),
        region_targets=frames.get("region_targets"),
        forecast=frames.get("forecast"),
        site_list=frames.get("site_list"),
        swaps=frames.get("swaps"),
        population_override=frames.get("population_override"),
        previous_plan=frames.get("previous_plan"),
        geometry=geometry,
        root=root,
        files=files,
        loaded=frozenset(frames),
    )
    issues.extend(run_checks(instance))
    errors = [issue for issue in issues if not issue.is_warning]
    if errors:
        raise InputError(issues, str(root))
    instance.warnings = [issue for issue in issues if issue.is_warning]
    return _to_numpy_dtypes(instance)


def _unregistered_files(root: Path, meta: InstanceMeta) -> list[Issue]:
    """Table files in the instance folder that instance.toml does not register: an
    error when the name is a table of the format that is not registered at all (e.g. a
    ``locks.csv`` that would otherwise be ignored), a warning otherwise (another file of
    a registered table, or a name the format does not know)."""
    registered = {(root / ref.path).resolve() for ref in meta.tables.values()}
    issues = []
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in TABLE_SUFFIXES or path.resolve() in registered:
            continue
        known = path.stem in TABLES and path.stem not in meta.tables
        issues.append(
            Issue(
                path.name,
                None,
                None,
                "unregistered table",
                f"not read: instance.toml has no [tables.{path.stem}] with path = "
                f"'{path.name}'"
                + ("" if known else f" ({path.stem!r} is not a table of the format)"),
                severity="error" if known else "warning",
            )
        )
    return issues


def read_table_file(
    path: str | Path,
    schema: pa.DataFrameSchema,
    checks: Callable[[pd.DataFrame, str], list[Issue]] | None = None,
) -> tuple[pd.DataFrame | None, list[Issue]]:
    """A table file outside an instance, read and checked like an instance table, then by
    ``checks`` (the table's rules across rows, run on the read values even when some
    cells broke their column's rules, so that every problem is told at once): the table
    as read (None when the file could not be read) and every problem and warning."""
    path = Path(path)
    issues: list[Issue] = []
    raw = _read_table_file(path.parent, path.name, issues)
    frame = None if raw is None else _coerce_and_validate(raw, schema, path.name, issues)
    required = {name for name, column in schema.columns.items() if column.required}
    if frame is not None and checks is not None and required <= set(frame.columns):
        issues += checks(frame, path.name)
    return frame, issues


def read_standalone_table(
    path: str | Path,
    schema: pa.DataFrameSchema,
    checks: Callable[[pd.DataFrame, str], list[Issue]] | None = None,
) -> tuple[pd.DataFrame, list[Issue]]:
    """:func:`read_table_file` (e.g. the previous half-year's progress for the letters);
    :class:`InputError` with every problem, else the table and the warnings of reading
    it (dialect, encoding)."""
    frame, issues = read_table_file(path, schema, checks)
    if frame is None or any(not issue.is_warning for issue in issues):
        raise InputError(issues, str(path))
    return frame, issues


def attach_table(inst: Instance, name: str, path: str | Path) -> Instance:
    """``inst`` with table ``name`` read from ``path`` (a file, or a run folder holding
    ``name``'s source: a run's ``households`` table for ``previous_plan``), checked with
    the instance like its own tables. The file's SHA-256 is kept in ``attached`` for
    the run id. Refused when the instance registers that table itself, unless it is
    one a run may replace (:data:`REPLACEABLE`: the chain plan's forecast and site
    list, a what-if on other inputs)."""
    import dataclasses

    from asielplan.data.checks import run_checks
    from asielplan.io import sha256_file

    path = Path(path)
    if path.is_dir():
        source = ATTACH_SOURCES[name]
        found = [path / f"{source}{suffix}" for suffix in (".csv", ".parquet")]
        found = [file for file in found if file.is_file()]
        if not found:
            issue = Issue(str(path), None, None, "run folder", f"has no {source}.csv or .parquet")
            raise InputError([issue], str(path))
        path = found[0]
    if name in inst.meta.tables and name not in REPLACEABLE:
        issue = Issue(
            str(path),
            None,
            None,
            "one source",
            f"the instance registers its own {name} table; give one or the other",
        )
        raise InputError([issue], str(path))
    frame, read_as = read_standalone_table(path, TABLES[name].schema)
    attached = dataclasses.replace(
        inst,
        files={**inst.files, name: str(path)},
        loaded=inst.loaded | {name},
        attached={**inst.attached, name: sha256_file(path)},
    )
    setattr(attached, name, frame)
    found_issues = [i for i in run_checks(attached) if i.file == str(path)]
    if any(not issue.is_warning for issue in found_issues):
        raise InputError(found_issues, str(path))
    attached.warnings = [*inst.warnings, *read_as, *found_issues]
    return _to_numpy_dtypes(attached)


ATTACH_SOURCES = {"previous_plan": "households"}  # table -> its file in a run folder
REPLACEABLE = frozenset({"forecast", "site_list"})  # tables a run may take from elsewhere


def _read_meta(root: Path, issues: list[Issue]) -> InstanceMeta | None:
    if not root.is_dir():
        issues.append(
            Issue(
                str(root),
                None,
                None,
                "instance folder",
                "not a folder; an instance is a folder with instance.toml",
            )
        )
        return None
    meta_path = root / META_FILE
    if not meta_path.is_file():
        issues.append(
            Issue(
                META_FILE,
                None,
                None,
                "instance.toml",
                f"missing: every instance folder needs {META_FILE}",
            )
        )
        return None
    try:
        raw = tomllib.loads(meta_path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        issues.append(Issue(META_FILE, None, None, "TOML syntax", str(exc)))
        return None
    renamed = [
        Issue(META_FILE, None, f"{section}.{key}", "renamed key", f"{section}.{key} is now {new}")
        for (section, key), new in RENAMED_KEYS.items()
        if isinstance(raw.get(section), dict) and key in raw[section]
    ]
    if renamed:
        issues.extend(renamed)
        return None
    try:
        return InstanceMeta.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"])
            issues.append(Issue(META_FILE, None, where, "instance.toml field", err["msg"]))
        return None


def _read_table_file(
    root: Path,
    relative: str,
    issues: list[Issue],
    meta: InstanceMeta | None = None,
) -> pd.DataFrame | None:
    """Read one table file as text columns (CSV, the first sheet of an xlsx workbook)
    or typed columns (Parquet, GeoPackage, GeoJSON). Refused, with the reason: a path
    outside the instance folder (unless ``allow_outside_paths``), a folder, an
    unsupported type, text that is not in the declared encoding, a NUL byte, a
    duplicated column name."""
    path = root / relative
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        issues.append(
            Issue(
                relative,
                None,
                None,
                "file type",
                f"unsupported file type '{suffix}'; use {', '.join(TABLE_SUFFIXES)}",
            )
        )
        return None
    outside = Path(relative).is_absolute() or not path.resolve().is_relative_to(root.resolve())
    if outside and not (meta is not None and meta.allow_outside_paths):
        issues.append(
            Issue(
                relative,
                None,
                None,
                "inside the instance",
                "the path leads outside the instance folder (a '..', an absolute path or a "
                "link); move the file in, or set allow_outside_paths = true",
            )
        )
        return None
    if path.is_dir():
        issues.append(Issue(relative, None, None, "file exists", "a folder, not a table file"))
        return None
    if not path.is_file():
        issues.append(Issue(relative, None, None, "file exists", f"file not found: {path}"))
        return None
    try:
        if suffix == ".csv":
            frame = _read_csv(path, relative, issues, meta)
            if frame is None:
                return None
        elif suffix == ".xlsx":
            frame = _read_xlsx(path)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            import geopandas as gpd

            frame = gpd.read_file(path)
    except Exception as exc:  # any parser failure is an input problem, reported, not raised
        issues.append(
            Issue(
                relative,
                None,
                None,
                "readable file",
                f"cannot be read: {type(exc).__name__}: {exc}",
            )
        )
        return None
    names = [str(c).strip() for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        issues.append(
            Issue(
                relative,
                None,
                duplicated[0],
                "unique column names",
                f"column name(s) {', '.join(map(repr, duplicated))} occur more than once",
            )
        )
        return None
    frame.columns = names
    return frame.reset_index(drop=True)


def _read_csv(
    path: Path, relative: str, issues: list[Issue], meta: InstanceMeta | None
) -> pd.DataFrame | None:
    """A CSV table as text columns, in the instance's dialect and encoding. The Dutch
    dialect (';' between columns) is taken without being declared only when the header
    is unambiguous (a ';' and no ','), and then reported as a warning."""

    data = path.read_bytes()
    encoding = meta.encoding if meta is not None else "utf-8"
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        issues.append(Issue(relative, None, None, "text file", f"a NUL byte on line {line}"))
        return None
    bom = data.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark: UTF-8, whatever declared
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" or bom else encoding)
    except UnicodeDecodeError as exc:
        if meta is None:  # a file given on its own: a Windows export is read, and said so
            text = data.decode("cp1252", errors="replace")
            issues.append(
                Issue(
                    relative,
                    None,
                    None,
                    "encoding",
                    f"not UTF-8 (byte 0x{data[exc.start]:02x}): read as Windows-1252 (cp1252)",
                    severity="warning",
                )
            )
            return _parse_csv(text, relative, issues, None)
        line = data[: exc.start].count(b"\n") + 1
        issues.append(
            Issue(
                relative,
                line - 1 if line > 1 else None,
                None,
                "encoding",
                f"not {encoding} text (byte 0x{data[exc.start]:02x} on line {line}); save it "
                f"as UTF-8, or set encoding = 'cp1252' in instance.toml for a Windows export",
            )
        )
        return None
    return _parse_csv(text, relative, issues, meta)


def _parse_csv(
    text: str, relative: str, issues: list[Issue], meta: InstanceMeta | None
) -> pd.DataFrame | None:
    """Decoded CSV text as text columns. The Dutch dialect (';' between columns) is
    taken without being declared only when the header is unambiguous (a ';' and no
    ','), and then reported as a warning."""
    import csv
    import io

    dialect = meta.csv_dialect if meta is not None else "standard"
    header = text.splitlines()[0] if text.strip() else ""
    if dialect == "standard" and ";" in header and "," not in header:
        dialect = "nl"
        advice = "declare csv_dialect = 'nl' in instance.toml" if meta is not None else "fine"
        issues.append(
            Issue(
                relative,
                None,
                None,
                "csv dialect",
                f"read as the Dutch dialect (';' between columns, decimal commas): {advice}",
                severity="warning",
            )
        )
    separator = ";" if dialect == "nl" else ","
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    rows = list(reader)
    if not rows:
        issues.append(Issue(relative, None, None, "header row", "the file is empty"))
        return None
    header_row, body = rows[0], rows[1:]
    width = len(header_row)
    for number, row in enumerate(body, start=1):
        if row and len(row) != width:
            issues.append(
                Issue(
                    relative,
                    number,
                    None,
                    "columns",
                    f"{len(row)} fields where the header has {width}",
                )
            )
    if any(i.file == relative and i.rule == "columns" for i in issues):
        return None
    body = [row for row in body if row]
    frame = pd.DataFrame(body, columns=[h.strip() for h in header_row], dtype=object)
    frame = frame.map(lambda v: v.strip() if isinstance(v, str) else v)
    frame = frame.replace({"": None})
    frame.attrs["dialect"] = dialect
    return frame


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet of a workbook as text columns, like a CSV: the cells' stored
    values (a formula is never evaluated: its last saved value is read), a date as
    YYYY-MM-DD, a whole number without '.0', empty cells and empty rows left out."""
    from datetime import date, datetime

    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            is_day = value.time() == datetime.min.time()
            return value.date().isoformat() if is_day else value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        stripped = str(value).strip()
        return stripped or None

    if not rows:
        return pd.DataFrame()
    header = [text(v) or "" for v in rows[0]]
    while header and not header[-1]:
        header.pop()
    body = [[text(v) for v in row[: len(header)]] for row in rows[1:]]
    body = [
        row + [None] * (len(header) - len(row)) for row in body if any(v is not None for v in row)
    ]
    return pd.DataFrame(body, columns=header, dtype=object)


def _split_geometry(frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """Take the geometry off a municipality layer; fill lat/lon from centroids if absent."""
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(frame)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    if "lat" not in gdf.columns or "lon" not in gdf.columns:
        # centroids in an equal-area projection, then back to WGS84
        centroids = gdf.geometry.to_crs("EPSG:3035").centroid.to_crs("EPSG:4326")
        gdf["lat"] = centroids.y.round(6)
        gdf["lon"] = centroids.x.round(6)
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    shapes = gdf[[c for c in ("code",) if c in gdf.columns] + [gdf.geometry.name]]
    return table, shapes.to_crs("EPSG:4326")


INTEGER = re.compile(r"^[+-]?\d+$")
DUTCH_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")
LARGEST_INTEGER = 2**53  # whole numbers beyond this are not exact as floats


def _coerce_column(
    series: pd.Series,
    dtype: str,
    file: str,
    column: str,
    issues: list[Issue],
    dialect: str = "typed",
) -> pd.Series:
    """A column in its declared kind (text, whole number, number), every value that does
    not fit reported with the text the user wrote: a Dutch thousands separator or a
    decimal comma in the wrong dialect, a fraction in a whole-number column, a value that
    is not finite or out of range, a date in a number column."""
    if dtype == STR:
        text = series.astype("string").str.strip()
        return text.mask(text == "")
    kind = "a whole number" if dtype == INT else "a number"
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_bool_dtype(
        series.dtype
    ):
        issues.append(
            Issue(file, None, column, "type", f"a column of {series.dtype} values, not {kind}")
        )
        return pd.Series(pd.NA, index=series.index, dtype="Float64" if dtype == FLOAT else "Int64")
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype("string").str.strip()
        original = text.mask(text == "")
        normal = original.map(lambda v: _normal_number(v, dialect, dtype), na_action="ignore")
        numbers = pd.to_numeric(normal, errors="coerce")
    else:
        original = series.astype("string")
        numbers = pd.to_numeric(series, errors="coerce")

    def report(mask: pd.Series, why: str) -> None:
        """One type issue per row of ``mask``: ``why`` after the value as written."""
        for idx in np.flatnonzero(mask.fillna(False).to_numpy()):
            issues.append(
                Issue(file, int(idx) + 1, column, "type", f"{original.iloc[idx]!r} {why}")
            )

    for idx in np.flatnonzero((original.notna() & numbers.isna()).to_numpy()):
        issues.append(
            Issue(file, int(idx) + 1, column, "type", _why_not(original.iloc[idx], kind, dialect))
        )
    values = numbers.astype("Float64")
    infinite = values.notna() & ~np.isfinite(values.fillna(0.0).to_numpy(dtype=float))
    report(infinite, "is not a finite number")
    values = values.mask(infinite)
    if dtype == FLOAT:
        return values
    fractional = values.notna() & (values % 1 != 0)
    huge = values.notna() & (values.abs() > LARGEST_INTEGER)
    report(fractional, "is not a whole number")
    report(huge, "is out of range for a whole number")
    return values.mask(fractional.fillna(False) | huge.fillna(False)).astype("Int64")


def _normal_number(text: str, dialect: str, dtype: str) -> str | None:
    """The text of a number in Python's notation, or None when it cannot be one in this
    dialect (so that it is reported, never guessed). In the standard dialect a whole
    number has digits only: ``21.000`` there is a Dutch thousands separator or a decimal,
    and neither may be guessed."""
    if dialect == "nl":
        if DUTCH_THOUSANDS.match(text):
            text = text.replace(".", "")
        elif "." in text:
            return None
        return text.replace(",", ".")
    if "," in text or (dtype == INT and DUTCH_THOUSANDS.match(text)):
        return None
    return text


def _why_not(text: str, kind: str, dialect: str) -> str:
    if dialect == "nl" and "." in text:
        return (
            f"{text!r} is not {kind} in the Dutch dialect ('.' only between thousands, a "
            "comma before the decimals)"
        )
    if dialect != "nl" and DUTCH_THOUSANDS.match(text) and "," not in text:
        return (
            f"{text!r} is not {kind}: it looks like a Dutch thousands separator; write "
            f"{text.replace('.', '')}, or declare csv_dialect = 'nl' in instance.toml"
        )
    if dialect != "nl" and re.match(r"^[+-]?\d+,\d+$", text):
        return (
            f"{text!r} is not {kind}: a decimal comma; write it with a point, or declare "
            "csv_dialect = 'nl' in instance.toml"
        )
    return f"{text!r} is not {kind}"


def _coerce_and_validate(
    raw: pd.DataFrame, schema: pa.DataFrameSchema, file: str, issues: list[Issue]
) -> pd.DataFrame:
    frame = raw.copy()
    before = len(issues)
    _check_characters(frame, file, issues)
    for column, col_schema in schema.columns.items():
        if column in frame.columns:
            frame[column] = _coerce_column(
                frame[column],
                column_kind(col_schema.dtype),
                file,
                column,
                issues,
                raw.attrs.get("dialect", "typed"),
            )
    already = {(i.row, i.column) for i in issues[before:]}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        issues.extend(_schema_issues(exc.failure_cases, file, already))
    return frame


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _check_characters(frame: pd.DataFrame, file: str, issues: list[Issue]) -> None:
    """Text with a control character (a tab, a line break or another of U+0000-U+001F,
    U+007F inside a cell) cannot be written to a workbook, breaks a letter's line and
    hides in a table: an input error at its row and column, found before any solve."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
            continue
        text = values.map(lambda v: v if isinstance(v, str) else "")
        found = text.str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(dtype=bool)
        for position in np.flatnonzero(found):
            value = str(text.iloc[position])
            match = CONTROL_CHARACTERS.search(value)
            assert match is not None
            issues.append(
                Issue(
                    file,
                    int(position) + 1,
                    str(column),
                    "text characters",
                    f"a control character (U+{ord(match.group()):04X}) in {value!r}",
                )
            )


def _schema_issues(
    cases: pd.DataFrame, file: str, already: set[tuple[int | None, Any]]
) -> list[Issue]:
    out: list[Issue] = []
    seen_multi: set[int] = set()
    for case in cases.to_dict("records"):
        check = str(case["check"])
        column = None if pd.isna(case["column"]) else str(case["column"])
        row = None if pd.isna(case["index"]) else int(case["index"]) + 1
        value = case["failure_case"]
        if (row, column) in already:
            continue
        if not isinstance(value, str) and hasattr(value, "item"):
            value = value.item()  # numpy scalar -> plain Python for a readable message
        if check == "column_in_dataframe":
            out.append(Issue(file, None, str(value), "required column", "the column is missing"))
        elif check == "not_nullable":
            out.append(Issue(file, row, column, "required value", "the value is missing"))
        elif check == "field_uniqueness":
            out.append(Issue(file, row, column, "unique", f"{value!r} occurs more than once"))
        elif check == "multiple_fields_uniqueness":
            if row is None or row in seen_multi:
                continue
            seen_multi.add(row)
            out.append(
                Issue(
                    file,
                    row,
                    None,
                    "unique",
                    "this combination of key columns occurs more than once",
                )
            )
        elif check.startswith("dtype("):
            continue  # reported by the coercion step with the offending text
        else:
            out.append(Issue(file, row, column, "value", f"{value!r} is not allowed: {check}"))
    return out


def _empty(schema: pa.DataFrameSchema) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: pd.Series(dtype=column_kind(col.dtype))
            for name, col in schema.columns.items()
            if col.required
        }
    )


def _to_numpy_dtypes(instance: Instance) -> Instance:
    """Nullable pandas dtypes -> numpy ints/floats and object strings with None."""
    for name in TABLES:
        frame = instance.table(name)
        if frame is None:
            continue
        converted = {}
        for column in frame.columns:
            series = frame[column]
            kind = column_kind(series.dtype)
            if kind == INT:
                converted[column] = (
                    series.astype("int64") if not series.isna().any() else series.astype("float64")
                )
            elif kind == FLOAT:
                converted[column] = series.astype("float64")
            elif pd.api.types.is_string_dtype(series.dtype):
                converted[column] = series.astype(object).where(series.notna(), None)
            else:
                converted[column] = series
        setattr(instance, name, pd.DataFrame(converted, index=frame.index))
    return instance


# --------------------------------------------------------------------------- writing


def write_instance(
    instance: Instance, directory: str | Path, manifest: dict[str, Any] | None = None
) -> Path:
    """Write ``instance`` as a folder of CSV tables plus ``instance.toml`` (and the
    ``manifest.json`` of what made it, when given), atomically."""
    target = Path(directory)
    tables = {}
    with atomic_output_dir(target) as staging:
        for name in TABLES:
            frame = instance.table(name)
            if frame is None or (name in ("sites", "households") and frame.empty):
                continue
            ref = instance.meta.tables.get(name)
            entry: dict[str, Any] = {"source": ref.source if ref else ""}
            if ref is not None and ref.synthetic is not None:
                entry["synthetic"] = ref.synthetic
            if name == "municipalities" and instance.geometry is not None:
                path = staging / f"{name}.geojson"
                _write_geojson(frame, instance.geometry, path)
            else:
                path = staging / f"{name}.csv"
                atomic_write_bytes(path, csv_bytes(frame))
            tables[name] = {"path": path.name, **entry}
        meta = instance.meta.model_dump(exclude_none=True)
        # the tables are written as standard UTF-8 CSV inside the folder
        for key in ("csv_dialect", "encoding", "allow_outside_paths"):
            meta.pop(key)
        meta["tables"] = tables
        meta["region_levels"] = list(instance.meta.region_levels)
        atomic_write_bytes(staging / META_FILE, tomli_w.dumps(meta).encode("utf-8"))
        if manifest is not None:
            atomic_write_bytes(staging / "manifest.json", json_text(manifest).encode("utf-8"))
    return target


def _write_geojson(frame: pd.DataFrame, geometry: Any, path: Path) -> None:
    """The municipality table with its shapes as one GeoJSON layer (WGS84), the
    columns in the table's order; read back by :func:`read_instance` into the same
    table and :attr:`Instance.geometry`."""
    import geopandas as gpd

    shapes = geometry.set_index("code").geometry.to_crs("EPSG:4326")
    missing = sorted(set(frame["code"]) - set(shapes.index))
    if missing:
        raise ValueError(f"no shape for municipalities {', '.join(missing[:5])}")
    layer = gpd.GeoDataFrame(
        frame.reset_index(drop=True),
        geometry=shapes.loc[frame["code"]].to_numpy(),
        crs="EPSG:4326",
    )
    layer.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})


# --------------------------------------------------------------------------- embedded default


def default_instance_path() -> Path:
    """Folder of the embedded default instance shipped inside the package (synthetic)."""
    return Path(str(resources.files("asielplan.data") / "default"))


def load_default_instance() -> Instance:
    return read_instance(default_instance_path())
