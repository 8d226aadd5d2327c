"""Table schemas of an instance: one pandera schema per table, the single source of truth.

Each column carries its type, its rules, a unit and a meaning; ``docs/data-dictionary.md``
is generated from these schemas (``python -m asielplan.data.dictionary``) and a test keeps
the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

# Reception modalities (BRIEF.md section 2); CAO is the French centre of the Calais case.
MODALITIES = (
    "COL",
    "POL",
    "GVL",
    "AZC",
    "KWV",
    "gezinslocatie",
    "noodopvang",
    "crisisnoodopvang",
    "CAO",
)
TIE_KINDS = ("family", "medical", "job", "study")
SEXES = ("F", "M", "X")
AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
EDUCATION_LEVELS = ("none", "primary", "secondary", "tertiary")
WORK_EXPERIENCE_LEVELS = ("none", "some", "skilled")
DUTCH_LEVELS = ("A0", "A1", "A2", "B1")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"

INT = "Int64"
FLOAT = "Float64"
STR = "string"


def column_kind(dtype: object) -> str:
    """Our three column kinds from a schema dtype: INT, FLOAT or STR."""
    text = str(dtype)
    return text if text in (INT, FLOAT) else STR


def _id(description: str, *, unique: bool = False, nullable: bool = False) -> pa.Column:
    return pa.Column(
        STR,
        pa.Check.str_matches(ID_PATTERN, error="an id: letters, digits, '_', '.', ':', '-'"),
        unique=unique,
        nullable=nullable,
        description=description,
        metadata={"unit": "id"},
    )


def _col(
    dtype: str,
    description: str,
    unit: str,
    checks: list[pa.Check] | None = None,
    *,
    required: bool = True,
    nullable: bool = False,
) -> pa.Column:
    return pa.Column(
        dtype,
        checks or [],
        required=required,
        nullable=nullable,
        description=description,
        metadata={"unit": unit},
    )


def _in(values: tuple[str, ...]) -> pa.Check:
    return pa.Check.isin(list(values), error=f"one of {', '.join(values)}")


MUNICIPALITIES = pa.DataFrameSchema(
    {
        "code": _id("Municipality code, e.g. the CBS code GM0363.", unique=True),
        "name": _col(STR, "Municipality name.", "text"),
        "population": _col(INT, "Inhabitants on the reference date.", "persons", [pa.Check.gt(0)]),
        "lat": _col(
            FLOAT,
            "Latitude of the centroid (WGS84); used for distances.",
            "degrees",
            [pa.Check.in_range(-90, 90)],
        ),
        "lon": _col(
            FLOAT,
            "Longitude of the centroid (WGS84); used for distances.",
            "degrees",
            [pa.Check.in_range(-180, 180)],
        ),
        "employment_rate": _col(
            FLOAT,
            "Share of inhabitants aged 15-75 in work (CBS KWB); drives labour potential.",
            "percent",
            [pa.Check.in_range(0, 100)],
            required=False,
        ),
        "urbanity": _col(
            INT,
            "CBS stedelijkheid: 1 very strongly urban ... 5 not urban.",
            "class 1-5",
            [pa.Check.in_range(1, 5)],
            required=False,
        ),
        "capacity": _col(
            INT,
            "Optional hard cap on persons placed here (generic resettlement shape).",
            "persons",
            [pa.Check.ge(0)],
            required=False,
            nullable=True,
        ),
    },
    name="municipalities",
    strict=False,
)

SITES = pa.DataFrameSchema(
    {
        "site_id": _id("Reception site id.", unique=True),
        "municipality": _id("Code of the municipality the site lies in."),
        "modality": _col(STR, "Reception modality.", "category", [_in(MODALITIES)]),
        "capacity": _col(INT, "Beds.", "persons", [pa.Check.ge(0)]),
    },
    name="sites",
    strict=False,
)

HOUSEHOLDS = pa.DataFrameSchema(
    {
        "household_id": _id("Pseudonymous household id (never a name or V-number).", unique=True),
        "persons": _col(
            INT, "Household size; a household is never split.", "persons", [pa.Check.ge(1)]
        ),
        "adults": _col(INT, "Members aged 18 or over.", "persons", [pa.Check.ge(0)]),
        "children": _col(INT, "Members under 18.", "persons", [pa.Check.ge(0)]),
        "site_id": _id(
            "Current reception site; empty if none (e.g. resettlement from abroad).", nullable=True
        ),
        "tiecolumn_kind": _col(
            STR,
            "Hard criterion: family, medical, job or study; empty if none.",
            "category",
            [_in(TIE_KINDS)],
            required=False,
            nullable=True,
        ),
        "tie_municipality": _col(
            STR,
            "Municipality the hard criterion points to (family, hospital, employer, school).",
            "id",
            required=False,
            nullable=True,
        ),
        "tie_radius_km": _col(
            FLOAT,
            "Allowed distance from the tie municipality; 0 means that municipality only.",
            "km",
            [pa.Check.ge(0)],
            required=False,
            nullable=True,
        ),
    },
    name="households",
    strict=False,
)

MEMBERS = pa.DataFrameSchema(
    {
        "household_id": _id("Household the member belongs to."),
        "member": _col(
            INT, "Member number within the household, from 1.", "count", [pa.Check.ge(1)]
        ),
        "sex": _col(STR, "Sex as registered.", "category", [_in(SEXES)]),
        "age_band": _col(STR, "Age band.", "years", [_in(AGE_BANDS)]),
        "education": _col(STR, "Highest education completed.", "category", [_in(EDUCATION_LEVELS)]),
        "work_experience": _col(
            STR, "Work experience before arrival.", "category", [_in(WORK_EXPERIENCE_LEVELS)]
        ),
        "dutch_level": _col(STR, "Dutch language level (CEFR).", "category", [_in(DUTCH_LEVELS)]),
    },
    name="members",
    strict=False,
    unique=["household_id", "member"],
)

SCORES = pa.DataFrameSchema(
    {
        "household_id": _id("Household."),
        "municipality": _id("Municipality code."),
        "score": _col(
            FLOAT,
            "Labour score supplied by the user; replaces the built-in model.",
            "expected employed persons",
            [pa.Check.ge(0)],
        ),
    },
    name="scores",
    strict=False,
    unique=["household_id", "municipality"],
)


def _pairs(name: str, meaning: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "household_id": _id("Household."),
            "municipality": _id(meaning),
        },
        name=name,
        strict=False,
        unique=["household_id", "municipality"],
    )


ALLOWED = _pairs("allowed", "A municipality this household may go to; others are excluded.")
FORBIDDEN = _pairs("forbidden", "A municipality this household must not go to.")
LOCKS = _pairs("locks", "The municipality a planner fixed this household to.")

ACHTERSTAND = pa.DataFrameSchema(
    {
        "municipality": _id("Municipality code.", unique=True),
        "achterstand": _col(
            INT,
            "Persons still owed from the previous period (negative: voorsprong).",
            "persons",
        ),
    },
    name="achterstand",
    strict=False,
)

PROGRESS = pa.DataFrameSchema(
    {
        "municipality": _id("Municipality code.", unique=True),
        "placed": _col(
            INT,
            "Persons already housed this period (for weekly batches).",
            "persons",
            [pa.Check.ge(0)],
        ),
    },
    name="progress",
    strict=False,
)


@dataclass(frozen=True)
class TableSpec:
    """A table of the instance format: its schema, whether it must be present, its role."""

    name: str
    schema: pa.DataFrameSchema
    required: bool
    description: str


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "municipalities",
            MUNICIPALITIES,
            True,
            "One row per municipality, with any number of region columns.",
        ),
        TableSpec("sites", SITES, False, "Reception sites where households stay now."),
        TableSpec(
            "households", HOUSEHOLDS, True, "One row per household of status holders to be placed."
        ),
        TableSpec(
            "members",
            MEMBERS,
            False,
            "One row per household member: the features behind labour potential.",
        ),
        TableSpec(
            "scores",
            SCORES,
            False,
            "Labour score per (household, municipality), overriding the built-in model.",
        ),
        TableSpec(
            "allowed",
            ALLOWED,
            False,
            "Compatibility: a household listed here may only go to its listed places.",
        ),
        TableSpec("forbidden", FORBIDDEN, False, "Pairs that must not be chosen."),
        TableSpec("locks", LOCKS, False, "Pairs a planner fixed; the model keeps them."),
        TableSpec(
            "achterstand",
            ACHTERSTAND,
            False,
            "Achterstand (positive) or voorsprong (negative) carried from the last period.",
        ),
        TableSpec(
            "progress",
            PROGRESS,
            False,
            "Persons placed so far this period; weekly batches aim at what remains.",
        ),
    )
}
