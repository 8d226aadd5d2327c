"""Table schemas of an instance: one pandera schema per table, the single source of truth.

Each column carries its type, its rules, a unit and a meaning; ``docs/data-dictionary.md``
is generated from these schemas (``python -m asielplan.data.dictionary``) and a test keeps
the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.pandas as pa

# Reception modalities (ACVZ, "Pieken en dalen", 2017, https://acvz.org); CAO is the French
# centre of the Calais case.
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
LINES = ("first", "second", "both")
TIERS = ("regular", "emergency", "crisis")
SITE_STATES = ("open", "candidate", "closing")
TRACKS = ("high", "low", "amv")
TIE_KINDS = ("family", "medical", "job", "study")
SEXES = ("F", "M", "X")
AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
WORKING_AGE = AGE_BANDS[1:-1]  # 18-24 .. 55-64: the labour force of the labour model
EDUCATION_LEVELS = ("none", "primary", "secondary", "tertiary")
WORK_EXPERIENCE_LEVELS = ("none", "some", "skilled")
DUTCH_LEVELS = ("A0", "A1", "A2", "B1")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
# sanity limits on money: beyond these a number is a typing error, and it would swamp the
# objective (1e308 as a fixed cost overflowed it)
MAX_EUR_PER_NIGHT = 100_000.0
MAX_EUR = 1e10

INT = "Int64"
FLOAT = "Float64"
STR = "string"


def column_kind(dtype: object) -> str:
    """Our three column kinds from a schema dtype: INT, FLOAT or STR."""
    text = str(dtype)
    return text if text in (INT, FLOAT) else STR


def _id(
    description: str, *, unique: bool = False, nullable: bool = False, required: bool = True
) -> pa.Column:
    return pa.Column(
        STR,
        pa.Check.str_matches(ID_PATTERN, error="an id: letters, digits, '_', '.', ':', '-'"),
        unique=unique,
        nullable=nullable,
        required=required,
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
        "population": _col(
            INT,
            "Inhabitants on the reference date; needed with a [taakstelling] (the law's key "
            "and the other schemes), optional otherwise (e.g. resettlement locations).",
            "persons",
            [pa.Check.gt(0)],
            required=False,
        ),
        "lat": _col(
            FLOAT,
            "Latitude of the centroid (WGS84); used for distances. Without lat and lon the "
            "distance terms are off and a tie holds to its own municipality only.",
            "degrees",
            [pa.Check.in_range(-90, 90)],
            required=False,
        ),
        "lon": _col(
            FLOAT,
            "Longitude of the centroid (WGS84); used for distances (with lat).",
            "degrees",
            [pa.Check.in_range(-180, 180)],
            required=False,
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
        "pct_origin_outside_europe": _col(
            FLOAT,
            "Share of residents of non-European origin (CBS); used by the denmark scheme.",
            "percent",
            [pa.Check.in_range(0, 100)],
            required=False,
        ),
        "woz_value": _col(
            FLOAT,
            "Mean WOZ value of dwellings (CBS KWB); the koenigstein scheme's stand-in for "
            "tax revenue per inhabitant.",
            "thousand EUR",
            [pa.Check.ge(0)],
            required=False,
        ),
        "ses_score": _col(
            FLOAT,
            "CBS SES-WOA score (socio-economic status); used by the spreidingswet scheme.",
            "score",
            [pa.Check.in_range(-5, 5)],
            required=False,
        ),
        "ses_proxy": _col(
            FLOAT,
            "Stand-in for ses_score made from KWB indicators (data.cbs.ses_proxy); the "
            "spreidingswet scheme uses it, labelled, when ses_score is absent.",
            "score",
            [pa.Check.in_range(-5, 5)],
            required=False,
        ),
        "reception_places": _col(
            FLOAT,
            "Reception places in the municipality (earlier reception); empty column: the "
            "capacity of the instance's sites there.",
            "places",
            [pa.Check.ge(0)],
            required=False,
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
        # The columns below are read by reception planning only; empty cells take the
        # defaults named in their descriptions (see data/reception.py).
        "line": _col(
            STR,
            "Reception line: first (procedure), second (after the track is decided) or "
            "both. Empty: by modality (COL, POL, GVL first; noodopvang, crisisnoodopvang, "
            "CAO both; others second).",
            "category",
            [_in(LINES)],
            required=False,
            nullable=True,
        ),
        "tier": _col(
            STR,
            "regular, emergency or crisis; emergency and crisis places carry a penalty. "
            "Empty: by modality (noodopvang emergency, crisisnoodopvang crisis).",
            "category",
            [_in(TIERS)],
            required=False,
            nullable=True,
        ),
        "state": _col(
            STR,
            "open, candidate (a business case) or closing. Empty: open.",
            "category",
            [_in(SITE_STATES)],
            required=False,
            nullable=True,
        ),
        "min_occupancy": _col(
            INT,
            "Persons a site needs while open. Empty: 0.",
            "persons",
            [pa.Check.ge(0)],
            required=False,
            nullable=True,
        ),
        "cost_per_night": _col(
            FLOAT,
            "Cost per occupied bed-night. Empty: the tier default in [reception].",
            "EUR",
            [pa.Check.in_range(0, MAX_EUR_PER_NIGHT)],
            required=False,
            nullable=True,
        ),
        "fixed_cost": _col(
            FLOAT,
            "Cost per period the site is open (rent, staff, security). Empty: 0.",
            "EUR per period",
            [pa.Check.in_range(0, MAX_EUR)],
            required=False,
            nullable=True,
        ),
        "opening_cost": _col(
            FLOAT,
            "One-off cost of opening a candidate site. Empty: 0.",
            "EUR",
            [pa.Check.in_range(0, MAX_EUR)],
            required=False,
            nullable=True,
        ),
        "earliest_open": _col(
            INT,
            "Candidate: first period it can open. Empty: 1.",
            "period",
            [pa.Check.ge(1)],
            required=False,
            nullable=True,
        ),
        "contract_periods": _col(
            INT,
            "Candidate: periods it stays open once opened (contract length). Empty: 1.",
            "periods",
            [pa.Check.ge(1)],
            required=False,
            nullable=True,
        ),
        "contract_end": _col(
            INT,
            "Open or closing site: last period under contract. A closing site closes "
            "after it; an open site may close after it (and never reopens). Empty: the "
            "horizon.",
            "period",
            [pa.Check.ge(0)],
            required=False,
            nullable=True,
        ),
        "takes_amv": _col(
            INT,
            "1 if the site may house unaccompanied minors (AMV). Empty: 0.",
            "0/1",
            [pa.Check.isin([0, 1])],
            required=False,
            nullable=True,
        ),
        "amv_only": _col(
            INT,
            "1 if the site houses unaccompanied minors only (e.g. KWV). Empty: 0.",
            "0/1",
            [pa.Check.isin([0, 1])],
            required=False,
            nullable=True,
        ),
    },
    name="sites",
    strict=False,
)

COHORTS = pa.DataFrameSchema(
    {
        "cohort_id": _id("Cohort id.", unique=True),
        "inflow": _col(
            STR,
            "Inflow the cohort belongs to (e.g. steady, peak, trough). Empty: every inflow "
            "(e.g. the people in reception now).",
            "name",
            required=False,
            nullable=True,
        ),
        "arrival_period": _col(
            INT,
            "Period of arrival; 0 or less: already in reception at the start (then "
            "site_id says where).",
            "period",
        ),
        "persons": _col(INT, "Persons in the cohort.", "persons", [pa.Check.gt(0)]),
        "household_type": _col(
            STR, "Household type or queue, e.g. single, family, vulnerable, minor.", "category"
        ),
        "track": _col(
            STR,
            "high or low chance of a permit, or amv (unaccompanied minors).",
            "category",
            [_in(TRACKS)],
        ),
        "stay_periods": _col(
            INT, "Periods in reception from arrival until leaving.", "periods", [pa.Check.ge(1)]
        ),
        "first_line_periods": _col(
            INT,
            "Of those, periods in the first line (procedure); the rest in the second line.",
            "periods",
            [pa.Check.ge(0)],
        ),
        "destination": _col(
            STR,
            "Region (at [reception].region_level) where the cohort will be housed; "
            "second-line reception elsewhere is penalised.",
            "id",
            required=False,
            nullable=True,
        ),
        "preferred": _col(
            STR,
            "Preferred regions, separated by ';' (the Calais case: two per person); "
            "reception elsewhere is penalised like a missed destination.",
            "ids",
            required=False,
            nullable=True,
        ),
        "site_id": _id(
            "Site where a cohort already in reception stays now.", nullable=True, required=False
        ),
    },
    name="cohorts",
    strict=False,
)

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _date(description: str, *, required: bool = True, nullable: bool = False) -> pa.Column:
    """A calendar date written YYYY-MM-DD (the chain's periods and sites); that the
    date exists (no 31 June) is checked with the table (``data.chain``)."""
    return _col(
        STR,
        description,
        "date",
        [pa.Check.str_matches(DATE_PATTERN, error="a date written YYYY-MM-DD")],
        required=required,
        nullable=nullable,
    )


# The chain's forecast: the shape of the chain's Meerjaren Productie Prognose (ranges of
# asylum requests per year, a grant share), one row per period and inflow scenario.
FORECAST = pa.DataFrameSchema(
    {
        "period_start": _date(
            "First day of the period; a period lasts until the next period's first day "
            "(the last one as long as the one before it)."
        ),
        "inflow": _id("Inflow scenario, e.g. low, middle, high."),
        "arrivals": _col(
            FLOAT,
            "Asylum requests in the period that enter reception.",
            "persons",
            [pa.Check.in_range(0, 10_000_000)],
        ),
        "grant_share": _col(
            FLOAT,
            "Share of the period's decisions that grant a residence permit.",
            "share",
            [pa.Check.in_range(0, 1)],
        ),
    },
    name="forecast",
    strict=False,
)

# A real site list for the chain plan (the template of docs/chain.md).
SITE_LIST = pa.DataFrameSchema(
    {
        "site_id": _id("Site id.", unique=True),
        "name": _col(
            STR, "Site name, as the planner knows it.", "text", required=False, nullable=True
        ),
        "municipality": _id("Code of the municipality the site lies in."),
        "modality": _col(STR, "Reception modality.", "category", [_in(MODALITIES)]),
        "capacity": _col(INT, "Places.", "persons", [pa.Check.in_range(0, 1_000_000)]),
        "state": _col(
            STR,
            "open (open from the start, until closes), closing (the same, closes is its "
            "end) or candidate (may open from opens, for contract_weeks). Empty: open.",
            "category",
            [_in(SITE_STATES)],
            required=False,
            nullable=True,
        ),
        "opens": _date(
            "Candidate: first day it can open. Open site: empty. Empty candidate: the start.",
            required=False,
            nullable=True,
        ),
        "closes": _date(
            "Open or closing site: the day it closes. Empty: after the horizon.",
            required=False,
            nullable=True,
        ),
        "contract_weeks": _col(
            INT,
            "Candidate: weeks it stays open once opened. Empty: to the horizon.",
            "weeks",
            [pa.Check.in_range(1, 10_000)],
            required=False,
            nullable=True,
        ),
        "cost_per_night": _col(
            FLOAT,
            "Cost per occupied place-night. Empty: the tier's cost in [reception].",
            "EUR",
            [pa.Check.in_range(0, MAX_EUR_PER_NIGHT)],
            required=False,
            nullable=True,
        ),
        "fixed_cost_per_week": _col(
            FLOAT,
            "Cost per week the site is open (rent, staff, security). Empty: 0.",
            "EUR per week",
            [pa.Check.in_range(0, MAX_EUR)],
            required=False,
            nullable=True,
        ),
        "opening_cost": _col(
            FLOAT,
            "Candidate: one-off cost of opening it. Empty: 0.",
            "EUR",
            [pa.Check.in_range(0, MAX_EUR)],
            required=False,
            nullable=True,
        ),
    },
    name="site_list",
    strict=False,
)

REGION_TARGETS = pa.DataFrameSchema(
    {
        "region": _id("Region code at [reception].region_level."),
        "target": _col(
            INT, "Persons the region is to receive (soft target).", "persons", [pa.Check.ge(0)]
        ),
        "period": _col(
            INT,
            "Period the target applies to. Empty: every period.",
            "period",
            [pa.Check.ge(1)],
            required=False,
            nullable=True,
        ),
    },
    name="region_targets",
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
        "unaccompanied_minors": _col(
            INT,
            "1 for a household of unaccompanied minors (AMV) with no adult, placed as such; "
            "empty or 0: the household has at least one adult.",
            "0/1",
            [pa.Check.isin([0, 1])],
            required=False,
            nullable=True,
        ),
        "site_id": _id(
            "Current reception site; empty if none (e.g. resettlement from abroad).", nullable=True
        ),
        "tie_kind": _col(
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

PREDICTIONS = pa.DataFrameSchema(
    {
        "household_id": _id("Household of the member."),
        "member": _col(
            INT, "Member number within the household (members.member).", "count", [pa.Check.ge(1)]
        ),
        "municipality": _id("Municipality code."),
        "probability": _col(
            FLOAT,
            "The member's employment probability if the household is placed in the "
            "municipality: the user's own prediction, which replaces the built-in model "
            "for every score, group outcome, floor and explanation.",
            "probability",
            [pa.Check.ge(0), pa.Check.le(1)],
        ),
    },
    name="predictions",
    strict=False,
    unique=["household_id", "member", "municipality"],
)

# Capacity dimensions every instance has: a household needs its persons in ``persons``
# and one in ``cases``; any other named dimension takes its needs from the needs table.
BUILTIN_DIMENSIONS = ("persons", "cases")

CAPACITIES = pa.DataFrameSchema(
    {
        "municipality": _id("Municipality (any location) code."),
        "dimension": _id(
            "What is counted: persons, cases (households), or any named dimension "
            "(e.g. school_places, large_family_slots) whose needs the needs table gives."
        ),
        "capacity": _col(
            INT,
            "Most units of the dimension the municipality takes; a municipality without a "
            "row for a dimension is unbounded in it.",
            "units of the dimension",
            [pa.Check.ge(0)],
        ),
    },
    name="capacities",
    strict=False,
    unique=["municipality", "dimension"],
)

NEEDS = pa.DataFrameSchema(
    {
        "household_id": _id("Household."),
        "dimension": _id(
            "A named capacity dimension of the capacities table (not persons "
            "or cases, which every household needs by its size and as one case)."
        ),
        "need": _col(
            INT,
            "Units of the dimension the household uses where it is placed; a household "
            "without a row needs none.",
            "units of the dimension",
            [pa.Check.ge(0)],
        ),
    },
    name="needs",
    strict=False,
    unique=["household_id", "dimension"],
)


def _pairs(name: str, meaning: str, nullable: bool = False) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "household_id": _id("Household."),
            "municipality": _id(meaning, nullable=nullable),
        },
        name=name,
        strict=False,
        unique=["household_id", "municipality"],
    )


ALLOWED = _pairs(
    "allowed",
    "A municipality this household may go to; others are excluded. Empty: the household "
    "is compatible with no municipality (it stays unplaced under "
    "placement.assignment = at_most_once).",
    nullable=True,
)
FORBIDDEN = _pairs("forbidden", "A municipality this household must not go to.")
LOCKS = pa.DataFrameSchema(
    {
        "household_id": _id("Household."),
        "municipality": _id("The municipality a planner fixed this household to."),
        "override": _col(
            STR,
            "true when the lock may break the household's hard criterion (a family or "
            "medical tie); otherwise such a lock is refused.",
            "",
            [_in(("true", "false"))],
            nullable=True,
            required=False,
        ),
    },
    name="locks",
    strict=False,
    unique=["household_id", "municipality"],
)

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


SWAPS = pa.DataFrameSchema(
    {
        "agreement": _id("Id of an agreement between two or more municipalities."),
        "municipality": _id("Municipality code."),
        "change": _col(
            INT,
            "Persons this municipality takes more (negative: fewer) under the agreement; "
            "the changes of one agreement add up to 0 (Huisvestingswet 2014 art. 29(2)).",
            "persons",
        ),
    },
    name="swaps",
    strict=False,
    unique=["agreement", "municipality"],
)

POPULATION_OVERRIDE = pa.DataFrameSchema(
    {
        "municipality": _id("Municipality code.", unique=True),
        "population": _col(
            INT,
            "Population the province set for a municipality merged on 1 January of the "
            "period's year (Huisvestingswet 2014 art. 30); replaces municipalities.population.",
            "persons",
            [pa.Check.gt(0)],
        ),
    },
    name="population_override",
    strict=False,
)


PREVIOUS_PLAN = pa.DataFrameSchema(
    {
        "household_id": _id("Household id, as in households.", unique=True),
        "municipality": _col(
            STR,
            "Municipality of the household in the previous plan (empty: not placed).",
            "id",
            nullable=True,
        ),
    },
    name="previous_plan",
    strict=False,
)


PREVIOUS_PERIOD = pa.DataFrameSchema(
    {
        "municipality": _id("Municipality code.", unique=True),
        "taakstelling": _col(
            INT,
            "The municipality's taakstelling of the previous half-year (with its own achterstand).",
            "persons",
            [pa.Check.ge(0)],
        ),
        "placed": _col(
            INT,
            "Status holders housed on the check date (1 January or 1 July).",
            "persons",
            [pa.Check.ge(0)],
        ),
    },
    name="previous_period",
    strict=False,
)


HISTORY = pa.DataFrameSchema(
    {
        "person_id": _id("Pseudonymous id of the adult.", unique=True),
        "household_id": _id("Pseudonymous id of the adult's household at placement."),
        "household_persons": _col(
            INT, "Persons in the household at placement.", "persons", [pa.Check.ge(1)]
        ),
        "household_adults": _col(
            INT, "Adults in the household at placement.", "persons", [pa.Check.ge(1)]
        ),
        # the members' columns, as the labour model reads them (age and Dutch at placement)
        "sex": MEMBERS.columns["sex"],
        "age_band": _col(STR, "Age band at placement (18-64).", "years", [_in(WORKING_AGE)]),
        "education": MEMBERS.columns["education"],
        "work_experience": MEMBERS.columns["work_experience"],
        "dutch_level": _col(
            STR, "Dutch language level (CEFR) at placement.", "category", [_in(DUTCH_LEVELS)]
        ),
        "municipality": _id("Municipality of placement (code)."),
        "employment_rate": _col(
            FLOAT,
            "The municipality's employment rate when the adult was placed (CBS KWB).",
            "percent",
            [pa.Check.in_range(0, 100)],
        ),
        "urbanity": _col(
            INT,
            "The municipality's urbanity class when the adult was placed (1-5).",
            "class 1-5",
            [pa.Check.in_range(1, 5)],
        ),
        "region": _col(
            STR,
            "A region of the municipality (e.g. the arbeidsmarktregio): calibration and the "
            "group audit are also reported per region.",
            "id",
            required=False,
        ),
        "placed_in": _col(
            INT, "Year of placement.", "year", [pa.Check.in_range(1990, 2100)], required=False
        ),
        "months": _col(
            INT,
            "Months from placement to the observation of the outcome.",
            "months",
            [pa.Check.in_range(0, 600)],
        ),
        "employed": _col(
            INT,
            "1 when the adult was in paid work at the observation, else 0.",
            "0/1",
            [pa.Check.isin([0, 1], error="0 or 1")],
        ),
    },
    name="history",
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
        TableSpec(
            "sites",
            SITES,
            False,
            "Reception sites: where households stay now, and what reception planning plans.",
        ),
        TableSpec(
            "households",
            HOUSEHOLDS,
            False,
            "One row per household of status holders to be placed (needed by placement).",
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
            "Labour score per (household, municipality), overriding the built-in model: "
            "every household needs a row, and goes only to the municipalities it has a score "
            "for (a pair without one is not allowed; the run warns how many pairs that "
            "leaves out). Household scores carry no group outcomes: for those, predictions.",
        ),
        TableSpec(
            "predictions",
            PREDICTIONS,
            False,
            "Employment probability per (member, municipality), overriding the built-in "
            "model: a row for every member aged 18-64 in every municipality (others count "
            "0, as in the built-in model); needs the members table, excludes scores.",
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
            "capacities",
            CAPACITIES,
            False,
            "Capacity of municipalities per dimension: persons, cases or a named one.",
        ),
        TableSpec(
            "needs",
            NEEDS,
            False,
            "Per household, what it needs of each named capacity dimension.",
        ),
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
        TableSpec(
            "cohorts",
            COHORTS,
            False,
            "Asylum seekers by arrival period, type and track (needed by reception).",
        ),
        TableSpec(
            "forecast",
            FORECAST,
            False,
            "Arrivals and grant share per period (dates) and inflow scenario (needed by "
            "the chain plan).",
        ),
        TableSpec(
            "site_list",
            SITE_LIST,
            False,
            "Reception sites with dates for the chain plan: open ones, their closing "
            "dates, candidates and their contracts.",
        ),
        TableSpec(
            "region_targets",
            REGION_TARGETS,
            False,
            "Reception place targets per region (e.g. set by a prefect or a province).",
        ),
        TableSpec(
            "swaps",
            SWAPS,
            False,
            "Agreements between municipalities to shift taakstelling (art. 29(2)).",
        ),
        TableSpec(
            "population_override",
            POPULATION_OVERRIDE,
            False,
            "The province's population for merged municipalities (art. 30).",
        ),
        TableSpec(
            "previous_plan",
            PREVIOUS_PLAN,
            False,
            "A previous plan (e.g. a run's households table): a re-solve pays "
            "placement.weight_change for every household it places elsewhere.",
        ),
    )
}

# Tables read from a file a command names, not from an instance folder.
NATIONAL_BY_HALF_YEAR = pa.DataFrameSchema(
    {
        "half_year": _col(
            STR,
            "A taakstelling half-year: 2027-I (January-June) or 2027-II.",
            "half-year",
            [pa.Check.str_matches(r"^[0-9]{4}-(I|II)$", error="a half-year such as 2027-II")],
        ),
        "national": _col(
            FLOAT,
            "The national taakstelling of the half-year.",
            "persons",
            [pa.Check.in_range(0, 1_000_000)],
        ),
    },
    name="national_by_half_year",
    strict=False,
    unique=["half_year"],
)


STANDALONE: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "history",
            HISTORY,
            True,
            "`asielplan labour fit HISTORY`: one row per adult placed in the past, with the "
            "labour model's features, the municipality's at placement, and the outcome "
            "(docs/labour.md). Any other column with at most 20 values can be named as a "
            "group of the audit (--group). Real histories are read from the user's path, "
            "never shipped; `asielplan generate --history N` writes a synthetic one.",
        ),
        TableSpec(
            "previous_period",
            PREVIOUS_PERIOD,
            True,
            "`asielplan letters --progress FILE`: the previous half-year's taakstelling "
            "and persons housed per municipality (achterstand = taakstelling - placed).",
        ),
        TableSpec(
            "national_by_half_year",
            NATIONAL_BY_HALF_YEAR,
            True,
            "`asielplan chain --national-by-period FILE`: the national taakstelling per "
            "half-year the chain plan takes as given (docs/chain.md).",
        ),
    )
}
