"""How an output is declared (its files, the commands that write it, what one row is,
and per column its type, unit and meaning), the columns outputs share, and the
declarations of every command that is not a study (runs, taakstelling, letters, batch,
labour fit, chain); each study declares its own in its module
(:mod:`asielplan.experiments.studies`).

:data:`asielplan.experiments.dictionary.OUTPUTS` gathers them all;
``python -m asielplan.experiments.dictionary > docs/output-dictionary.md`` renders them
as the output data dictionary; ``tests/test_output_dictionary.py`` runs the commands and
fails when a table or a column is written that is not declared, in the declared order
(or when a declared one is never written). Column names that the code keeps as
constants (:data:`~asielplan.experiments.results.DIAGNOSIS_COLUMNS`, the explanation,
fairness and group columns) are taken from there, so their order cannot drift.

Outputs hold pseudonymous household ids and aggregates only: no column names a personal
attribute or the kind of a hard criterion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from asielplan.experiments.results import DIAGNOSIS_COLUMNS
from asielplan.experiments.results.chain import (
    CHAIN_COLUMNS,
    HALF_YEAR_COLUMNS,
    LEVER_COLUMNS,
    SITE_DECISION_COLUMNS,
)
from asielplan.experiments.results.explanations import EXPLANATION_COLUMNS
from asielplan.experiments.results.placement import SIZE_BANDS
from asielplan.experiments.sections import REPORT_FILE
from asielplan.io import WORKBOOK
from asielplan.model.families import COLUMN_FAMILIES
from asielplan.model.placement import PARTS, SUMS_OF_PARTS, VIOLATION
from asielplan.model.reception import COST_PARTS
from asielplan.solvers.chain import STAGE_COLUMNS
from asielplan.solvers.chain import UNITS as CHAIN_PART_UNITS
from asielplan.solvers.placement import TRACE_COLUMNS
from asielplan.solvers.reception import DUAL_FAMILIES

Kind = Literal["integer", "number", "text", "true-false"]
KINDS: tuple[Kind, ...] = ("integer", "number", "text", "true-false")
# every unit a column may have (an empty unit: ids, text and plain counts), for the page
UNITS: dict[str, str] = {
    "persons": "a number of people (fractional in a reception plan: its model is a fluid one)",
    "households": "a number of households",
    "units": "units of a capacity dimension: persons, cases (households), or what a named "
    "dimension counts (a school place, a large-family slot)",
    "places": "reception beds",
    "km": "kilometres, great-circle between municipality centroids",
    "EUR": "euros: money only, never added to a weight",
    "EUR per place-night": "euros for one bed for one night",
    "weight": "the planner's weights in the objective (a weight per unit times a quantity); "
    "never money",
    "objective": "the model's own objective: in a placement a weight (maximised), in a "
    "reception plan euros (times reception.money_weight) plus weights (minimised); "
    "objective.csv keeps them apart",
    "labour score": "a household's expected employed members (placement.aggregation = sum), "
    "or the chance that at least one works (at_least_one), or the score of a scores table",
    "probability": "an employment probability, 0 to 1",
    "share": "a fraction, 0 to 1",
    "period": "a planning period, 1 = the first",
    "periods": "a number of planning periods",
    "sites": "a number of reception sites",
    "place-nights": "one bed used for one night",
    "person-periods": "one person for one period",
    "moves": "transfers of one person from one site to another",
    "moves per person": "moves divided by persons",
    "persons per 1,000 inhabitants": "persons for every 1,000 inhabitants",
    "business cases": "a number of business cases",
    "date": "a date written as text, YYYY-MM-DD",
    "days": "a number of days",
    "decisions": "first decisions of the IND on asylum requests",
    "weight per person": "a dual: the change of the objective per person more on the row",
    "weight per row unit": "a dual: the change of the objective (a weight) per unit more on "
    "the row's right-hand side (a person for taakstelling, capacity and region rows)",
    "objective per row unit": "a dual: the change of the objective per unit more on the "
    "row's right-hand side (a place, a person)",
    "per unit of quantity": "EUR for a money part, a weight for a weight part",
    "see unit": "the unit named in the row's own unit column",
    "see meaning": "the unit the meaning names",
    "seconds": "wall-clock seconds",
    "log-odds": "a coefficient of the labour model: a change in the log of the odds of work",
    "adults": "a number of adults (18-64) of a history",
    "expected employed adults": "a sum of employment probabilities",
}


@dataclass(frozen=True)
class Column:
    """One column: its name, type (:data:`KINDS`), unit (empty for text and counts of
    nothing in particular) and meaning. ``when`` is empty for a column every table of
    its kind has, else when it is written. A name with ``<...>`` stands for several
    columns (one per region level, per objective part, ...): ``choices`` lists the
    names the placeholder takes, or is None when they come from the run (an instance's
    region levels, the schemes compared, the settings swept)."""

    name: str
    kind: Kind
    unit: str
    meaning: str
    when: str = ""
    choices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: type {self.kind!r} is not one of {KINDS}")
        if self.unit and self.unit not in UNITS:
            raise ValueError(f"column {self.name}: unit {self.unit!r} is not in UNITS")
        if self.choices is not None and self.placeholder is None:
            raise ValueError(f"column {self.name}: choices without a <placeholder> in the name")

    @property
    def placeholder(self) -> str | None:
        """``part`` for ``objective_<part>``; None for a plain column name."""
        if "<" not in self.name:
            return None
        return self.name[self.name.index("<") + 1 : self.name.index(">")]

    def names(self, values: Sequence[str]) -> list[str]:
        """The column names the placeholder stands for with ``values``."""
        head, rest = self.name.split("<", 1)
        tail = rest.split(">", 1)[1]
        return [f"{head}{value}{tail}" for value in values]

    def matches(self, name: str) -> bool:
        """Whether a written column ``name`` is (one of) this column."""
        if self.placeholder is None:
            return name == self.name
        head, rest = self.name.split("<", 1)
        tail = rest.split(">", 1)[1]
        if not (name.startswith(head) and name.endswith(tail)):
            return False
        value = name[len(head) : len(name) - len(tail)]
        return bool(value) and (self.choices is None or value in self.choices)


@dataclass(frozen=True)
class Table:
    """One table, written as ``NAME.csv`` and ``NAME.parquet`` (``output.formats``):
    what one row is, its columns in order, and when it is written (empty: always)."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    when: str = ""
    formats: tuple[str, ...] = ("csv", "parquet")


@dataclass(frozen=True)
class Output:
    """What one command writes into its output folder: ``key`` is the command as the
    folder's ``manifest.json`` names it; ``commands`` the command lines that write it;
    ``runs`` the sub-folders that hold whole runs (folder patterns, the keys of the
    outputs they hold); ``extends`` an output whose tables this one writes as well."""

    key: str
    commands: tuple[str, ...]
    meaning: str
    tables: tuple[Table, ...]
    runs: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    extends: Output | None = None

    def table(self, name: str) -> Table | None:
        """The declared table ``name`` (None when the command declares none)."""
        own = next((t for t in self.tables if t.name == name), None)
        if own is None and self.extends is not None:
            return self.extends.table(name)
        return own


def in_order(names: Sequence[str], *columns: Column) -> tuple[Column, ...]:
    """``columns`` in the order of the code's constant ``names``; an error (on import)
    when the two do not name the same columns."""
    by_name = {c.name: c for c in columns}
    if set(by_name) != set(names) or len(by_name) != len(columns):
        missing = sorted(set(names) - set(by_name))
        extra = sorted(set(by_name) - set(names))
        raise ValueError(f"declared columns differ from the code: missing {missing}, extra {extra}")
    return tuple(by_name[name] for name in names)


def listed(items: Mapping[str, str]) -> str:
    """``name (unit), ...`` for a meaning."""
    return ", ".join(f"{name} ({unit})" if unit else name for name, unit in items.items())


# --------------------------------------------------------------------------- shared columns

PLACEMENT_PARTS = (*PARTS, VIOLATION)
PLACEMENT_QUANTITIES = (*PARTS, *SUMS_OF_PARTS)

STATUS = Column(
    "status",
    "text",
    "",
    "How the solve ended: optimal (proven within the requested gap), feasible (stopped by "
    "the time limit with a plan), infeasible, unbounded, no_solution or error.",
)
STOP = Column("stop", "text", "", "Why the solve ended, in words (the gap proven, the time limit).")
GAP = Column(
    "gap",
    "number",
    "share",
    "Relative gap between the plan's objective and the proven bound; empty without both.",
)
GAP_VARIABLE = Column(
    "gap_variable",
    "number",
    "share",
    "The same gap on the objective without its constant term (objective_constant): in a "
    "placement with a taakstelling the shortfall were nobody placed, which makes the gap "
    "of a weekly batch against what is still owed look tiny; equal to gap without a "
    "constant.",
)
REQUESTED_GAP = Column(
    "requested_gap", "number", "share", "The gap the solve had to prove (solver.mip_gap)."
)
RUN_ID = Column(
    "run_id",
    "text",
    "",
    "The run's id: a hash of its kind, its instance files and its effective "
    "configuration (its manifest.json says the same).",
)
INFLOW = Column("inflow", "text", "", "The inflow (a column of the cohorts table) planned for.")
PERIOD = Column("period", "integer", "period", "Planning period, 1 = the first.")
MUNICIPALITY = Column("municipality", "text", "", "Municipality code (e.g. GM0363).")
MUNICIPALITY_NAME = Column("name", "text", "", "Municipality name.")


def _contract(objective_unit: str, objective: str) -> tuple[Column, ...]:
    """The KPI columns every run has (``experiments.results.contract_kpis``)."""
    return (
        STATUS,
        STOP,
        Column("objective", "number", objective_unit, f"The plan's objective: {objective}."),
        Column(
            "bound",
            "number",
            objective_unit,
            "The proven bound on the objective (an upper bound when it is maximised, a "
            "lower bound when minimised).",
        ),
        Column(
            "objective_constant",
            "number",
            objective_unit,
            "The objective's constant term, which no decision changes: in a placement with "
            "a taakstelling -penalty_shortfall x the targets' sum (the shortfall were "
            "nobody placed); else 0.",
        ),
        GAP,
        GAP_VARIABLE,
        REQUESTED_GAP,
    )


def _objective_table(parts: Mapping[str, str], sense: str, when: str = "") -> Table:
    return Table(
        "objective",
        f"One row per named part of the objective ({sense}); the contributions add up to the "
        "objective, money and weights in separate columns, never added up as money. Parts: "
        f"{listed(parts)}.",
        (
            Column("part", "text", "", "The part's name."),
            Column("quantity", "number", "see unit", "How much of it the plan has."),
            Column("unit", "text", "", "The unit of quantity."),
            Column(
                "weight",
                "number",
                "per unit of quantity",
                "What one unit weighs: EUR for a money part, a weight otherwise (an average "
                "over the plan where sites differ).",
            ),
            Column(
                "money_eur",
                "number",
                "EUR",
                "The part's contribution when it is money (0 for a weight).",
            ),
            Column(
                "weighted",
                "number",
                "weight",
                "The part's contribution when it is a weight (0 for money).",
            ),
        ),
        when=when,
    )


def _duals_table(families: Sequence[str], unit: str, when: str = "") -> Table:
    return Table(
        "duals",
        "One row per row of each kept constraint family of the final linear program "
        f"(families: {', '.join(families)}).",
        (
            Column("family", "text", "", "The constraint family."),
            Column(
                "constraint",
                "text",
                "",
                "The row: a household, a municipality, region, part or group, or "
                "inflow:site:period and the like.",
            ),
            Column(
                "dual",
                "number",
                unit,
                "Change of the objective (in the model's own sense) per unit more on the "
                "row's right-hand side (the shadow price).",
            ),
        ),
        when=when,
    )


DIAGNOSIS = Table(
    "diagnosis",
    "What cannot be met and by how much: one row per broken constraint (the same shape "
    "for both problems).",
    in_order(
        DIAGNOSIS_COLUMNS,
        Column("family", "text", "", "The constraint family (capacity, region band, ...)."),
        Column("constraint", "text", "", "Which row: a municipality, region, site, ..."),
        Column("inflow", "text", "", "The inflow (reception only; empty for a placement)."),
        Column("period", "integer", "period", "The period (reception only)."),
        Column("bound", "text", "", "The bound, in words (e.g. '>= 27')."),
        Column("value", "text", "", "The value the elastic plan reaches, in words."),
        Column("violation", "number", "persons", "By how much the bound is broken."),
        Column("unit", "text", "", "The unit of violation (persons)."),
    ),
    when="the run is infeasible",
)

# --------------------------------------------------------------------------- place

PLACEMENT_PLAN = "the run has a plan (else in elastic/ when it is infeasible)"
PLACEMENT_OBJECTIVE = (
    "the weighted labour score minus the weighted costs and penalties (maximised; no money)"
)
HOUSEHOLDS = Table(
    "households",
    "One row per household: where it is placed and what that brings.",
    (
        Column("household_id", "text", "", "Pseudonymous household id, as in the instance."),
        Column("persons", "integer", "persons", "Household size."),
        Column("adults", "integer", "persons", "Members aged 18 or over."),
        Column("children", "integer", "persons", "Members under 18."),
        Column("placed", "true-false", "", "Placed in a municipality."),
        Column("municipality", "text", "", "Code of the municipality; empty when unplaced."),
        Column("municipality_name", "text", "", "Its name; empty when unplaced."),
        Column("locked", "true-false", "", "The planner locked the household (locks table)."),
        Column(
            "hard_criterion",
            "true-false",
            "",
            "A hard criterion (family, medical care, a job, study) limits where it may go; "
            "which one is never written.",
        ),
        Column("from_site", "text", "", "The reception site it leaves; empty if none."),
        Column("score", "number", "labour score", "Its labour score in its municipality."),
        Column(
            "score_person_part",
            "number",
            "labour score",
            "The score from the members' own employment probabilities (an average "
            "municipality: the built-in model's split); empty with a scores or predictions "
            "table or when unplaced.",
        ),
        Column(
            "score_regional_effect",
            "number",
            "labour score",
            "score minus score_person_part: what the municipality's labour market adds.",
        ),
        Column(
            "score_best_allowed",
            "number",
            "labour score",
            "Its highest score over the municipalities allowed for it.",
        ),
        Column(
            "score_mean_allowed",
            "number",
            "labour score",
            "Its mean score over the municipalities allowed for it.",
        ),
        Column(
            "distance_km",
            "number",
            "km",
            "Great-circle distance from its site's municipality to its municipality "
            "(centroids; 0 without a site); empty when unplaced.",
        ),
        Column(
            "left_coa_region",
            "true-false",
            "",
            "Placed outside the COA region of its site (placement.coa_region_level).",
        ),
        Column(
            "value",
            "number",
            "weight",
            "The pair's term in the objective: weighted score minus the weighted distance, "
            "region and change costs; empty when unplaced.",
        ),
    ),
    when=PLACEMENT_PLAN,
)
MUNICIPALITIES = Table(
    "municipalities",
    "One row per municipality: its target against the persons placed.",
    (
        MUNICIPALITY,
        MUNICIPALITY_NAME,
        Column(
            "target",
            "integer",
            "persons",
            "The placement target: the scheme's taakstelling (placement.scheme), scaled to "
            "the persons to place when placement.shortfall_sharing is proportional, or in a "
            "weekly batch what remains of it or the batch's share; empty without targets.",
        ),
        Column("placed_persons", "integer", "persons", "Persons placed here."),
        Column("placed_households", "integer", "households", "Households placed here."),
        Column(
            "deviation",
            "integer",
            "persons",
            "placed_persons minus target (negative: a shortfall); empty without targets.",
        ),
        Column("labour_score", "number", "labour score", "The placed households' scores, summed."),
        Column(
            "band_lower",
            "integer",
            "persons",
            "Fewest persons allowed: floor(placement.band_lower x target) minus "
            "placement.band_slack_persons, at least 0.",
            when="placement.target_mode is band",
        ),
        Column(
            "band_upper",
            "integer",
            "persons",
            "Most persons allowed: ceil(placement.band_upper x target) plus "
            "placement.band_slack_persons.",
            when="placement.target_mode is band",
        ),
        Column(
            "taakstelling",
            "integer",
            "persons",
            "The period's whole taakstelling by the scheme (target differs from it in a "
            "weekly batch, and when placement.shortfall_sharing shares a difference between "
            "the taakstelling and the persons to place).",
            when="the instance has a taakstelling",
        ),
        Column(
            "placed_before",
            "integer",
            "persons",
            "Persons placed in the period before this batch (the progress table).",
            when="a weekly batch",
        ),
        Column(
            "realised",
            "number",
            "share",
            "(placed_before + placed_persons) / taakstelling; empty for a taakstelling of 0.",
            when="a weekly batch",
        ),
        Column(
            "<level>",
            "text",
            "",
            "The municipality's region code at each region level of the instance "
            "(instance.toml region_levels), one column per level, named after it.",
        ),
    ),
    when=PLACEMENT_PLAN,
)
PLACEMENT_REGIONS = Table(
    "regions",
    "One row per region of every region level: persons placed against the summed target "
    "and the band (placement.region_bands).",
    (
        Column("level", "text", "", "The region level (a column of the municipality table)."),
        Column("region", "text", "", "The region's code."),
        Column(
            "target",
            "integer",
            "persons",
            "Its municipalities' targets, summed; empty without targets.",
        ),
        Column("placed_persons", "integer", "persons", "Persons placed in the region."),
        Column(
            "band_lower",
            "integer",
            "persons",
            "Fewest persons the region band allows; empty without a band on the level.",
        ),
        Column("band_upper", "integer", "persons", "Most persons the region band allows."),
        Column(
            "within_band",
            "true-false",
            "",
            "placed_persons lies within the band; empty without one.",
        ),
    ),
    when=PLACEMENT_PLAN,
)
PLACEMENT_CAPACITIES = Table(
    "capacities",
    "One row per municipality and capacity dimension it has a capacity in (the "
    "instance's capacities table): the capacity and what the plan uses of it.",
    (
        Column("municipality", "text", "", "Municipality (location) code."),
        Column(
            "dimension",
            "text",
            "",
            "What is counted: persons, cases (households) or a named dimension.",
        ),
        Column("capacity", "integer", "units", "The capacity in the dimension."),
        Column(
            "used",
            "number",
            "units",
            "What the plan's households need of it: persons, households, or their needs "
            "(needs table).",
        ),
        Column("free", "number", "units", "capacity - used."),
    ),
    when=PLACEMENT_PLAN + " and the instance gives capacities",
)
PLACEMENT_KPIS = Table(
    "kpis",
    "One row of key figures of the run.",
    (
        *_contract("weight", PLACEMENT_OBJECTIVE),
        Column(
            "lp_bound",
            "number",
            "weight",
            "The linear relaxation's bound over all (household, municipality) pairs.",
        ),
        Column("households", "integer", "households", "Households to place."),
        Column("persons", "integer", "persons", "Persons in them."),
        Column("placed_households", "integer", "households", "Households placed."),
        Column("unplaced_households", "integer", "households", "Households not placed."),
        Column("unplaced_persons", "integer", "persons", "Persons not placed."),
        Column(
            "total_labour_score", "number", "labour score", "The placed households' scores, summed."
        ),
        Column(
            "expected_employed",
            "number",
            "persons",
            "Expected employed members where placed (their employment probabilities, "
            "summed, whatever placement.aggregation: the built-in model's, or a predictions "
            "table's); with a scores table the scores summed.",
        ),
        Column(
            "moves",
            "integer",
            "households",
            "Households moved from reception to a municipality (the placed households).",
        ),
        Column(
            "total_distance_km", "number", "km", "distance_km of the placed households, summed."
        ),
        Column(
            "mean_distance_km", "number", "km", "Their mean distance_km (0 when none is placed)."
        ),
        Column(
            "left_coa_region",
            "integer",
            "households",
            "Households placed outside the COA region of their site.",
        ),
        Column(
            "changes",
            "integer",
            "households",
            "Households placed elsewhere than in the previous plan; empty without --previous.",
        ),
        Column(
            "total_abs_deviation",
            "number",
            "persons",
            "The absolute deviations of the municipalities, summed.",
        ),
        Column("shortfall_persons", "number", "persons", "Persons short of the targets, summed."),
        Column("excess_persons", "number", "persons", "Persons above the targets, summed."),
        Column(
            "national_shortfall_share",
            "number",
            "share",
            "(the taakstelling's sum minus the persons placed) / the taakstelling's sum, at "
            "least 0; empty in a weekly batch or without a taakstelling.",
        ),
        Column(
            "largest_relative_shortfall",
            "number",
            "share",
            "The largest (taakstelling minus placed persons) / taakstelling of a "
            "municipality with a taakstelling, at least 0; empty in a weekly batch or without "
            "a taakstelling.",
        ),
        Column(
            "burden_gini",
            "number",
            "",
            "Gini over the municipalities of the persons placed per 1,000 inhabitants (0: "
            "all alike); empty without populations.",
        ),
        Column(
            "burden_max_min",
            "number",
            "",
            "The largest over the smallest persons placed per 1,000 inhabitants, among "
            "the municipalities with any.",
        ),
        Column(
            "burden_p90_p10",
            "number",
            "",
            "The 90th over the 10th percentile of the same, among those with any.",
        ),
        Column(
            "p_adult_women",
            "number",
            "probability",
            "Mean employment probability of the placed women aged 18-64 (the run's one "
            "model); empty under output.min_cell households or with a scores table.",
        ),
        Column("p_adult_men", "number", "probability", "The same for the men."),
        Column(
            "score_one_adult",
            "number",
            "labour score",
            "Mean score of the placed one-adult households; empty under output.min_cell.",
        ),
        Column(
            "score_4plus",
            "number",
            "labour score",
            "Mean score of the placed households of 4 or more persons; empty under "
            "output.min_cell.",
        ),
        Column(
            "objective_<part>",
            "number",
            "weight",
            "What each objective part adds to the objective (negative for a cost), one "
            f"column per part of the model: {', '.join(PLACEMENT_PARTS)} (violation: the "
            "elastic plan of an infeasible run).",
            choices=PLACEMENT_PARTS,
        ),
    ),
)
PLACEMENT_UNITS = {name: spec.unit for name, spec in PARTS.items()} | {VIOLATION: "persons"}
OUTCOMES_BY_SIZE = Table(
    "outcomes_by_size",
    f"One row per household size ({', '.join(SIZE_BANDS)} persons); the values of a size "
    "with fewer than output.min_cell households are blank.",
    (
        Column("size", "text", "", "Household size band."),
        Column("households", "integer", "households", "Households of this size."),
        Column("persons", "integer", "persons", "Persons in them."),
        Column("placed", "integer", "households", "Of them placed."),
        Column("total_score", "number", "labour score", "The placed households' scores, summed."),
        Column("mean_score", "number", "labour score", "Mean score of the placed households."),
        Column("mean_distance_km", "number", "km", "Mean distance of the placed households."),
        Column(
            "share_left_coa_region",
            "number",
            "share",
            "Share of the size's households placed outside the COA region of their site.",
        ),
        Column("score_per_person", "number", "labour score", "total_score / persons."),
        Column(
            "suppressed", "true-false", "", "Fewer than output.min_cell households: values blank."
        ),
    ),
    when=PLACEMENT_PLAN,
)
OUTCOMES_BY_GENDER = Table(
    "outcomes_by_gender",
    "One row per gender composition of a household's adults (single man, single woman, "
    "women and men, women only, men only, other); the values of a composition with fewer "
    "than output.min_cell households are blank. Probabilities by the run's one model "
    "(the built-in one or a predictions table); no rows with a scores table (household "
    "scores carry no members' outcomes; the run warns).",
    (
        Column("composition", "text", "", "The composition of the adults (members aged 18-64)."),
        Column("households", "integer", "households", "Households of this composition."),
        Column(
            "persons",
            "integer",
            "persons",
            "Persons in them.",
            when="the instance has members (not with a scores table)",
        ),
        Column(
            "placed", "integer", "households", "Of them placed.", when="the instance has members"
        ),
        Column(
            "mean_score",
            "number",
            "labour score",
            "Mean score of the placed households.",
            when="the instance has members",
        ),
        Column(
            "mean_distance_km",
            "number",
            "km",
            "Mean distance of the placed households.",
            when="the instance has members",
        ),
        Column(
            "mean_p_adult_women",
            "number",
            "probability",
            "Mean over the households of their adult women's mean employment probability "
            "where placed (0 when unplaced).",
            when="the instance has members",
        ),
        Column(
            "mean_p_adult_men",
            "number",
            "probability",
            "The same for the adult men.",
            when="the instance has members",
        ),
        Column(
            "suppressed", "true-false", "", "Fewer than output.min_cell households: values blank."
        ),
    ),
    when=PLACEMENT_PLAN,
)
EXPLANATION_TEXT = "docs/tradeoffs.md"
WEEKLY_PRICED = "asielplan weekly with the prices or balanced policy"
EXPLANATIONS = Table(
    "explanations",
    "One row per household: why it goes where it goes, each cost the change of the "
    "objective if this household alone moved, the rest of the plan fixed "
    f"({EXPLANATION_TEXT}).",
    in_order(
        EXPLANATION_COLUMNS,
        Column("household_id", "text", "", "Pseudonymous household id."),
        Column("placed", "true-false", "", "Placed in a municipality."),
        Column("municipality", "text", "", "Code of its municipality; empty when unplaced."),
        Column("score", "number", "labour score", "Its labour score there."),
        Column(
            "score_person_part",
            "number",
            "labour score",
            "The score from the members' own employment probabilities.",
        ),
        Column(
            "score_regional_effect",
            "number",
            "labour score",
            "What the municipality's labour market adds to the score.",
        ),
        Column("value", "number", "weight", "The pair's term in the objective."),
        Column(
            "next_best",
            "text",
            "",
            "The best other municipality it may go to alone; empty when there is none.",
        ),
        Column(
            "next_best_delta",
            "number",
            "weight",
            "Change of the objective if it alone moved there (negative: a loss).",
        ),
        Column(
            "next_best_value_change",
            "number",
            "weight",
            "The part of that change in the pair's own value.",
        ),
        Column(
            "next_best_penalty_change",
            "number",
            "weight",
            "The part of that change in the target penalties of both municipalities.",
        ),
        Column("top_scoring", "text", "", "Its highest-scoring municipality."),
        Column("top_score", "number", "labour score", "Its score there."),
        Column(
            "top_reason",
            "text",
            "",
            "Why it is not placed there: chosen, the hard rule a move there breaks, or "
            "the objective part that costs most.",
        ),
        Column(
            "top_delta",
            "number",
            "weight",
            "Change of the objective if it alone moved there; empty when a hard rule forbids it.",
        ),
        Column(
            "top_taakstelling_dual",
            "number",
            "weight per person",
            "The dual of the top-scoring municipality's taakstelling row.",
        ),
        Column(
            "binding",
            "text",
            "",
            "The rows its pair enters whose dual is not zero (taakstelling, capacity, region "
            "bands, bounded parts), with their duals.",
        ),
        Column("locked", "true-false", "", "The planner locked it in its municipality."),
        Column(
            "lock_cost",
            "number",
            "weight",
            "What the lock costs: the gain of the best single move the lock forbids; empty "
            "when not locked.",
        ),
        Column(
            "lock_breaks_criterion",
            "true-false",
            "",
            "The lock places it where its hard criterion rules out (allowed only when the "
            "lock says override = true); which criterion is not said.",
        ),
        Column(
            "previous",
            "text",
            "",
            "Its municipality in the previous plan.",
            when="a re-solve with --previous",
        ),
        Column(
            "changed",
            "true-false",
            "",
            "Placed elsewhere than in the previous plan.",
            when="a re-solve with --previous",
        ),
        Column(
            "future_price",
            "number",
            "weight per person",
            "The price of a place in its municipality for later weeks (the mean smallest "
            "optimal dual of the sampled futures, docs/weekly.md); empty when unplaced.",
            when=WEEKLY_PRICED,
        ),
        Column(
            "next_best_future_price",
            "number",
            "weight per person",
            "The same price in the next-best municipality.",
            when=WEEKLY_PRICED,
        ),
        Column("text", "text", "", "The row in one English sentence."),
    ),
    when="the run has a plan",
)
PRICES = Table(
    "prices",
    "One row per municipality: what a weekly batch paid for its places (docs/weekly.md).",
    (
        Column("municipality", "text", "", "Municipality code."),
        Column("name", "text", "", "Municipality name."),
        Column("remaining", "integer", "persons", "Its taakstelling minus progress.placed."),
        Column("batch_persons", "integer", "persons", "Persons this batch places there."),
        Column(
            "price",
            "number",
            "weight per person",
            "Value of one place for later weeks, the mean over the sampled futures of the "
            "smallest optimal dual of its remaining taakstelling; each household placed "
            "there pays persons x price (the objective part future_price).",
        ),
        Column("price_lowest", "number", "weight per person", "The lowest future's price."),
        Column("price_highest", "number", "weight per person", "The highest future's price."),
        Column(
            "pace_price",
            "number",
            "weight per person",
            "The balanced policy's price for keeping pace: weekly.balance_weight x (persons "
            "ahead of the national pace) / taakstelling; 0 when behind (the objective part "
            "pace_price).",
            when="the balanced policy",
        ),
    ),
    when=WEEKLY_PRICED,
)
PACE = Table(
    "pace",
    "One row per municipality, those furthest behind the pro-rata path first: the "
    "weekly batch against the path to date (docs/weekly.md).",
    (
        Column("municipality", "text", "", "Municipality code."),
        Column("name", "text", "", "Municipality name."),
        Column("taakstelling", "integer", "persons", "Its taakstelling of the period."),
        Column("placed_before", "integer", "persons", "Housed before this batch (progress)."),
        Column("batch_persons", "integer", "persons", "Persons this batch places there."),
        Column("placed_after", "integer", "persons", "placed_before plus batch_persons."),
        Column(
            "pro_rata",
            "number",
            "persons",
            "The pro-rata target to date: the national pace (persons housed nationally, "
            "this batch included, over the national taakstelling) times its taakstelling.",
        ),
        Column(
            "behind",
            "number",
            "persons",
            "pro_rata minus placed_after: how far behind the path (negative: ahead).",
        ),
    ),
)
CHANGES = Table(
    "changes",
    "One row per household placed elsewhere than in the previous plan, and why.",
    (
        Column("household_id", "text", "", "Pseudonymous household id."),
        Column("previous", "text", "", "Its municipality in the previous plan."),
        Column("municipality", "text", "", "Its municipality now; empty when unplaced."),
        Column(
            "reason",
            "text",
            "",
            "locked, worth more than the change weight, changed with others, or moving back "
            "breaks a rule: ...",
        ),
        Column(
            "back_delta",
            "number",
            "weight",
            "Change of the objective if it alone moved back (negative: a loss); empty when "
            "a rule forbids the move.",
        ),
    ),
    when="a re-solve with --previous has a plan",
)
TRACE = Table(
    "trace",
    "One row per new incumbent or new bound of the placement search, in time order: "
    "whether and how fast the run closed its gap (docs/formulation/placement.md). A clock "
    "record like timings.json: it differs between runs, is not hashed in the manifest and "
    "is written as CSV only.",
    in_order(
        TRACE_COLUMNS,
        Column("seconds", "number", "seconds", "Seconds since the search began."),
        Column("event", "text", "", "incumbent (a better plan) or bound (a better bound)."),
        Column(
            "objective",
            "number",
            "objective",
            "The incumbent's objective (maximised); empty before the first plan.",
        ),
        Column("bound", "number", "objective", "The proven bound; empty before the first."),
        Column("gap", "number", "share", "Relative gap between them; empty without both."),
    ),
    "the search ran (not the exact model of a small instance without a taakstelling)",
    formats=("csv",),
)
PLACE = Output(
    "place",
    ("asielplan place",),
    "A placement run. A run without a plan writes kpis, objective, duals and diagnosis; "
    "the elastic plan of an infeasible run (which breaks what cannot be met) goes to its "
    "elastic/ folder with the other tables.",
    (
        HOUSEHOLDS,
        MUNICIPALITIES,
        PLACEMENT_REGIONS,
        PLACEMENT_CAPACITIES,
        PLACEMENT_KPIS,
        _objective_table(PLACEMENT_UNITS, "maximised; placement weighs, it has no money"),
        _duals_table(tuple(f.duals for f in COLUMN_FAMILIES), "weight per row unit"),
        OUTCOMES_BY_SIZE,
        OUTCOMES_BY_GENDER,
        EXPLANATIONS,
        CHANGES,
        TRACE,
        DIAGNOSIS,
    ),
)
WEEKLY = Output(
    "weekly",
    ("asielplan weekly",),
    "A weekly batch: every table of a placement run, the municipalities against the "
    "pro-rata path, and the prices of the places (docs/weekly.md).",
    (PACE, PRICES),
    extends=PLACE,
)

# --------------------------------------------------------------------------- reception

RECEPTION_PLAN = "the solve has a plan (else in elastic/ when it is infeasible)"
PLAN_OR_INFEASIBLE = "the solve has a plan or is infeasible"
RECEPTION_OBJECTIVE = (
    "the plan's euros (times reception.money_weight) plus its weights (minimised); "
    "objective.csv keeps the two apart"
)
SITE = Column("site_id", "text", "", "Reception site id.")
OCCUPANCY = Table(
    "occupancy",
    "One row per inflow, site and period: persons against the site's capacity, with the "
    "site decisions.",
    (
        INFLOW,
        SITE,
        PERIOD,
        Column("open", "integer", "", "1 when the site is open in the period, else 0."),
        Column("started", "integer", "", "1 when the site opens in this period, else 0."),
        Column("municipality", "text", "", "The site's municipality."),
        Column("modality", "text", "", "COL, GVL, AZC, noodopvang, ..."),
        Column("line", "text", "", "first, second or both."),
        Column("tier", "text", "", "regular, emergency or crisis."),
        Column(
            "region",
            "text",
            "",
            "The site's region at [reception] region_level; empty without one.",
        ),
        Column("capacity", "integer", "places", "The site's places."),
        Column("persons", "number", "persons", "Persons at the site, over all classes."),
        Column("open_capacity", "integer", "places", "capacity when open, else 0."),
        Column("utilisation", "number", "share", "persons / open_capacity; empty when closed."),
    ),
    when=RECEPTION_PLAN,
)
OCCUPANCY_BY_CLASS = Table(
    "occupancy_by_class",
    "The model's variables: one row per inflow, class, site and period with anyone there "
    "or moving.",
    (
        INFLOW,
        Column(
            "class_id",
            "text",
            "",
            "The class: the procedure (procedure, procedure-amv) or a cohort type after it.",
        ),
        Column("type_id", "text", "", "The cohort type; empty for a procedure class."),
        Column("stage", "integer", "", "1 in the procedure, 2 after it."),
        SITE,
        PERIOD,
        Column("persons", "number", "persons", "Persons of the class at the site."),
        Column("entered", "number", "persons", "Persons who came to the site in the period."),
        Column("left", "number", "persons", "Persons who moved away from the site."),
        Column("exited", "number", "persons", "Persons who left reception from the site."),
        Column(
            "promoted_out",
            "number",
            "persons",
            "Persons whose procedure ended here (they leave the procedure class).",
        ),
        Column(
            "promoted_in",
            "number",
            "persons",
            "Persons who joined this class here from the procedure, staying at the site.",
        ),
    ),
    when=RECEPTION_PLAN,
)
MOVES = Table(
    "moves",
    "One row per inflow, class, edge between modalities and period: transfers (arrivals "
    "not counted). Moves in the procedure belong to the procedure class; the move at its "
    "end and later ones to the cohort type.",
    (
        INFLOW,
        Column("class_id", "text", "", "The class moved."),
        Column("from", "text", "", "The modality moved from."),
        Column("to", "text", "", "The modality moved to."),
        PERIOD,
        Column("moves", "number", "moves", "Persons moved (one move each)."),
    ),
    when=RECEPTION_PLAN,
)
MOVES_BY_CLASS = Table(
    "moves_by_class",
    "One row per inflow and class: who it is and how often its people move.",
    (
        INFLOW,
        Column("class_id", "text", "", "The class."),
        Column("stage", "integer", "", "1 in the procedure, 2 after it."),
        Column(
            "track",
            "text",
            "",
            "The cohort type's track (high, low); amv or high;low for a procedure class.",
        ),
        Column("destination", "text", "", "The type's destination region; empty if none."),
        Column("preferred", "text", "", "The type's preferred regions, ';' between."),
        Column(
            "household_types",
            "text",
            "",
            "The type's household types; procedure for a procedure class.",
        ),
        Column(
            "entered",
            "number",
            "persons",
            "Persons who entered the class in the plan's periods (arrivals; promotions too "
            "after the procedure).",
        ),
        Column("moves", "number", "moves", "Transfers of the class, summed."),
        Column("moves_per_person", "number", "moves per person", "moves / entered."),
    ),
    when=RECEPTION_PLAN,
)
BUSINESS_CASES = Table(
    "business_cases",
    "One row per business case (a candidate site): the decision and its reason in numbers.",
    (
        SITE,
        Column("capacity", "integer", "places", "Its places."),
        Column(
            "cost_per_place_night",
            "number",
            "EUR per place-night",
            "Its cost per place-night (the night cost plus its fixed cost per place).",
        ),
        Column("budget", "number", "EUR per place-night", "The budget it is judged against."),
        Column("decision", "text", "", "accepted, rejected (over budget) or not needed."),
        Column("reason", "text", "", "The reason, with the numbers."),
    ),
    when=RECEPTION_PLAN,
)
SITE_DECISIONS = Table(
    "site_decisions",
    "One row per site and inflow: whether the plan opened, closed or kept it or left it "
    "shut, in which period, and why in numbers (business cases rejected on budget "
    "included); business_cases holds the budget test alone.",
    (
        SITE,
        INFLOW,
        Column("state", "text", "", "Its state before the plan: open, closing or candidate."),
        Column("tier", "text", "", "regular, emergency or crisis."),
        Column("capacity", "integer", "places", "Its places."),
        Column(
            "decision",
            "text",
            "",
            "opened (a shut site opened during the plan), closed (an open site closed), "
            "kept (open throughout) or not opened.",
        ),
        Column(
            "period",
            "integer",
            "period",
            "The first period it is open (opened) or shut (closed); empty otherwise.",
        ),
        Column("periods_open", "integer", "periods", "Periods of the plan it is open."),
        Column("peak_persons", "number", "persons", "The most persons in it in one period."),
        Column("place_nights", "number", "place-nights", "Persons x nights in it, summed."),
        Column("reason", "text", "", "The reason, with the numbers."),
    ),
    when=RECEPTION_PLAN,
)
EMERGENCY = Table(
    "emergency",
    "One row per inflow and period: places used per tier and people without a bed.",
    (
        INFLOW,
        PERIOD,
        Column("regular_places", "number", "persons", "Persons in regular sites."),
        Column("emergency_places", "number", "persons", "Persons in noodopvang (emergency)."),
        Column("crisis_places", "number", "persons", "Persons in crisisnoodopvang (crisis)."),
        Column("without_bed", "number", "persons", "Persons without a bed (infeasible)."),
    ),
    when=RECEPTION_PLAN,
)
WITH_REGIONS = "the sites have regions ([reception] region_level)"
RECEPTION_REGIONS = Table(
    "regions",
    "One row per inflow, region and period: persons against the open capacity and the "
    "region's target.",
    (
        INFLOW,
        Column("region", "text", "", "The region's code."),
        PERIOD,
        Column("persons", "number", "persons", "Persons in the region's sites."),
        Column(
            "open_capacity", "integer", "places", "Places of its open sites.", when=WITH_REGIONS
        ),
        Column(
            "target",
            "integer",
            "persons",
            "The region's target (region_targets, or reception.region_scheme); empty without one.",
            when=WITH_REGIONS,
        ),
        Column("deviation", "number", "persons", "persons - target.", when=WITH_REGIONS),
        Column(
            "meets_target_where_capacity_allows",
            "true-false",
            "",
            "persons reach the target, or the open capacity where that is less; empty "
            "without a target.",
            when=WITH_REGIONS,
        ),
    ),
    when=RECEPTION_PLAN,
)
RECEPTION_KPIS = Table(
    "kpis",
    "One row of key figures; with several inflows (a robust plan) expected values over "
    "the inflow weights.",
    (
        *_contract("objective", RECEPTION_OBJECTIVE),
        Column(
            "inflows", "text", "", "The inflows planned for, ';' between.", when=PLAN_OR_INFEASIBLE
        ),
        Column(
            "inflow_weights",
            "text",
            "",
            "Each inflow's weight, as inflow=weight, ';' between.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column("cost_eur", "number", "EUR", "The money parts, summed.", when=PLAN_OR_INFEASIBLE),
        Column(
            "weighted",
            "number",
            "weight",
            "The weight parts (moves, penalties), summed; never money.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column("cost_beds", "number", "EUR", "Cost of the place-nights.", when=PLAN_OR_INFEASIBLE),
        Column(
            "cost_fixed",
            "number",
            "EUR",
            "Fixed cost of open sites plus the cost of opening sites.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column("moves", "number", "moves", "Transfers between sites.", when=PLAN_OR_INFEASIBLE),
        Column(
            "emergency_place_nights",
            "number",
            "place-nights",
            "Nights spent in noodopvang.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "crisis_place_nights",
            "number",
            "place-nights",
            "Nights spent in crisisnoodopvang.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "peak_emergency_places",
            "number",
            "persons",
            "Most persons in emergency and crisis places in one period (of any inflow).",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "without_bed_person_periods",
            "number",
            "person-periods",
            "Persons without a bed, summed over the periods.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "business_cases_accepted",
            "integer",
            "business cases",
            "Business cases accepted.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "business_cases_rejected",
            "integer",
            "business cases",
            "Business cases rejected on budget.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "sites_opened",
            "integer",
            "sites",
            "Sites shut before the plan that it opens (business cases and emergency "
            "candidates; site_decisions).",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "sites_closed",
            "integer",
            "sites",
            "Sites open before the plan that it closes.",
            when=PLAN_OR_INFEASIBLE,
        ),
        Column(
            "share_in_home_region",
            "number",
            "share",
            "Share of the person-periods after the procedure, of types with a destination "
            "or preferred regions, spent in one of those regions; empty when none applies.",
            when=PLAN_OR_INFEASIBLE,
        ),
    ),
)
ROBUST = Table(
    "robust",
    "The robust plan (site decisions made once for every inflow) against the plan for one "
    "inflow with its sites then fixed under every inflow: what the buffer costs and what "
    "it avoids, euros and weights apart (expected values over the inflow weights).",
    (
        Column(
            "plan",
            "text",
            "",
            "robust, or '<inflow> plan, sites fixed'.",
        ),
        STATUS,
        Column("inflows", "text", "", "The inflows, ';' between."),
        Column("inflow_weights", "text", "", "Each inflow's weight, as inflow=weight."),
        Column("site_cost_eur", "number", "EUR", "Fixed and opening cost of the sites."),
        Column(
            "emergency_bed_cost_eur",
            "number",
            "EUR",
            "Cost of the emergency and crisis beds themselves.",
        ),
        Column(
            "emergency_penalty",
            "number",
            "weight",
            "The penalties on emergency and crisis place-nights and on people without a bed.",
        ),
        Column(
            "expected_objective",
            "number",
            "objective",
            "The plan's objective: euros (times reception.money_weight) plus weights.",
        ),
        GAP,
        Column(
            "buffer_cost_eur",
            "number",
            "EUR",
            "Site cost of this plan minus that of the fixed plan (0 on the fixed row).",
            when="the robust plan was solved",
        ),
        Column(
            "emergency_cost_avoided_eur",
            "number",
            "EUR",
            "Emergency bed cost of the fixed plan minus this plan's.",
            when="the robust plan was solved",
        ),
        Column(
            "emergency_penalty_avoided",
            "number",
            "weight",
            "emergency_penalty of the fixed plan minus this plan's.",
            when="the robust plan was solved",
        ),
    ),
    when="--robust (reception.robust) and the plan was made",
)
RECEPTION = Output(
    "reception",
    ("asielplan reception",),
    "A reception plan for one inflow (or, robust, for all). A plan that leaves people "
    "without a bed is infeasible: kpis, objective, duals and diagnosis, the rest in "
    "elastic/. A solve without a plan writes the first six kpis only.",
    (
        OCCUPANCY,
        OCCUPANCY_BY_CLASS,
        MOVES,
        MOVES_BY_CLASS,
        _objective_table(
            {name: part.unit for name, part in COST_PARTS.items()},
            "minimised; money in euros and weights apart",
            PLAN_OR_INFEASIBLE,
        ),
        _duals_table(DUAL_FAMILIES, "objective per row unit", PLAN_OR_INFEASIBLE),
        BUSINESS_CASES,
        SITE_DECISIONS,
        EMERGENCY,
        RECEPTION_REGIONS,
        RECEPTION_KPIS,
        ROBUST,
        DIAGNOSIS,
    ),
)

# --------------------------------------------------------------------------- taakstelling

WITH_AMV = "the scheme has an amv_share (the spreidingswet)"
TAAKSTELLING_TABLE = Table(
    "taakstelling",
    "One row per municipality: the scheme's key, exact quota, whole number and taakstelling.",
    (
        MUNICIPALITY,
        MUNICIPALITY_NAME,
        Column(
            "region",
            "text",
            "",
            "The municipality's region at the scheme's region level.",
            when="the scheme has a region level",
        ),
        Column(
            "population",
            "integer",
            "persons",
            "Inhabitants used (the province's number for a merged municipality, art. 30).",
        ),
        Column(
            "population_quota",
            "number",
            "persons",
            "The exact population-key quota vg x iG / iN, for reference.",
        ),
        Column("key", "number", "share", "The municipality's share of the key (adding up to 1)."),
        Column("quota", "number", "persons", "The scheme's exact quota before rounding."),
        Column("share", "integer", "persons", "The whole number after the scheme's rounding."),
        Column("swap", "integer", "persons", "Agreed swap (art. 29(2), the law only)."),
        Column(
            "achterstand",
            "integer",
            "persons",
            "Carried from the previous period (negative: a voorsprong).",
        ),
        Column(
            "taakstelling",
            "integer",
            "persons",
            "share + swap + achterstand, at least 0.",
        ),
        Column(
            "carried_voorsprong",
            "integer",
            "persons",
            "The voorsprong larger than the number, carried on.",
        ),
        Column(
            "per_1000",
            "number",
            "persons per 1,000 inhabitants",
            "taakstelling per 1,000 inhabitants.",
        ),
        Column(
            "amv",
            "integer",
            "persons",
            "Of the share, places for unaccompanied minors (largest remainder).",
            when=WITH_AMV,
        ),
    ),
)
BASIS = Table(
    "basis",
    "One row: what the numbers were computed from, for a letter to cite.",
    (
        Column("rule", "text", "", "The scheme's name (the same as scheme)."),
        Column("period", "text", "", "The period (YYYY-I or YYYY-II)."),
        Column(
            "peildatum",
            "text",
            "date",
            "The populations' date, 1 January of the year before (YYYY-MM-DD); empty for "
            "another kind of period.",
        ),
        Column("national", "integer", "persons", "The national number vg."),
        Column("national_population", "integer", "persons", "The population iN, summed."),
        Column("rounding", "text", "", "How the quotas were rounded."),
        Column("total", "integer", "persons", "The taakstelling, summed."),
        Column("scheme", "text", "", "The scheme's name."),
        Column("labels", "text", "", "Stand-in data the numbers rest on, '; ' between."),
        Column("source", "text", "", "The scheme's source."),
    ),
)
REGION_TOTALS = Table(
    "region_totals",
    "One row per region whose total the scheme fixes (e.g. the Spreidingswet's provinces).",
    (
        Column("level", "text", "", "The region level."),
        Column("region", "text", "", "The region's code."),
        Column("total", "integer", "persons", "The region's total."),
        Column("binding", "true-false", "", "The total binds the split (always true)."),
    ),
    when="the scheme has region totals",
)
TAAKSTELLING = Output(
    "taakstelling",
    ("asielplan taakstelling", "asielplan schemes show"),
    "A quota scheme's numbers (by default the law, Huisvestingswet 2014 art. 29).",
    (TAAKSTELLING_TABLE, BASIS, REGION_TOTALS),
)

# --------------------------------------------------------------------------- letters

LETTERS_TABLE = Table(
    "letters",
    "One row per letter (municipality): every number it prints.",
    (
        MUNICIPALITY,
        MUNICIPALITY_NAME,
        Column("province", "text", "", "Province code (municipalities.province)."),
        Column("province_name", "text", "", "Province name (its code without one)."),
        Column("scheme", "text", "", "population (the law) or spreidingswet."),
        Column("period", "text", "", "The half-year, YYYY-I or YYYY-II."),
        Column(
            "peildatum",
            "text",
            "date",
            "The law's date of the populations for the period (YYYY-MM-DD, art. 29(1)).",
        ),
        Column(
            "population_date",
            "text",
            "date",
            "The date of the populations used, as the data states it; empty when it does not say.",
        ),
        Column("letter_date", "text", "date", "The letter's date."),
        Column("reference", "text", "", "The letter's reference (TVH- or SPW-period-code)."),
        Column("national", "integer", "persons", "The national number vg."),
        Column("publication", "text", "", "Where vg was published."),
        Column("population", "integer", "persons", "The municipality's population iG."),
        Column("national_population", "integer", "persons", "The national population iN."),
        Column("product", "integer", "", "vg x iG."),
        Column(
            "quotient", "number", "persons", "The law's exact quota vg x iG / iN, to 4 decimals."
        ),
        Column(
            "share",
            "integer",
            "persons",
            "The whole number: the quotient rounded up (the law), or the spreidingswet's.",
        ),
        Column("swap", "integer", "persons", "Agreed swap (art. 29(2))."),
        Column(
            "achterstand",
            "integer",
            "persons",
            "Carried from the previous half-year (negative: a voorsprong); empty when none "
            "was given (no progress or achterstand table).",
        ),
        Column("check_date", "text", "date", "The date the achterstand was checked."),
        Column("taakstelling", "integer", "persons", "The municipality's taakstelling."),
        Column(
            "carried_voorsprong",
            "integer",
            "persons",
            "The voorsprong larger than the number, carried on.",
        ),
        Column("province_total", "integer", "persons", "The province's taakstelling, summed."),
        Column(
            "population_share",
            "number",
            "share",
            "population / national_population (the province's overview prints it).",
        ),
        Column("province_population", "integer", "persons", "The province's populations, summed."),
        Column(
            "province_population_share",
            "number",
            "share",
            "province_population / national_population.",
        ),
        Column(
            "province_achterstand",
            "integer",
            "persons",
            "The province's achterstand, summed; empty when one was not given.",
        ),
        Column("key", "number", "share", "The municipality's share of the key."),
        Column(
            "province_share",
            "number",
            "share",
            "The municipality's key over its province's keys (as rounded in key): its "
            "part of the province's total.",
        ),
        Column(
            "amv",
            "integer",
            "persons",
            "Of the share, places for unaccompanied minors.",
            when=WITH_AMV,
        ),
        Column(
            "ses_score",
            "number",
            "",
            "The socio-economic score the Spreidingswet letter prints (the CBS SES-WOA score "
            "or its stand-in), to 4 decimals.",
            when="the scheme is the spreidingswet",
        ),
        Column("file", "text", "", "The letter's PDF in municipalities/."),
    ),
    formats=("csv",),
)
LETTERS = Output(
    "letters",
    ("asielplan letters",),
    "The taakstelling letters: one PDF per municipality, an overview per province, and "
    "the table of every number printed (CSV only).",
    (LETTERS_TABLE,),
)

# --------------------------------------------------------------------------- batch

BATCH_TABLE = Table(
    "runs",
    "One row per run of the batch, in the batch's order (docs/batch.md).",
    (
        Column(
            "kind",
            "text",
            "",
            "The kind of run: place, reception, weekly, schemes (a scheme comparison) or front.",
        ),
        Column("instance", "text", "", "The instance as the batch file names it."),
        Column("scenario", "text", "", "The scenario of the batch's configuration (base: none)."),
        Column("seed", "integer", "", "The solver seed (solver.seed)."),
        Column(
            "draw",
            "integer",
            "",
            "The household draw: the seed the instance's households were generated anew "
            "from; empty when the batch has no draws axis, and for a reception plan.",
        ),
        Column(
            "scheme",
            "text",
            "",
            "The quota scheme (placement.scheme); empty when the batch has no schemes axis, "
            "for a reception plan and for a schemes run (it compares the schemes of "
            "[compare]).",
        ),
        Column(
            "inflow",
            "text",
            "",
            "The inflow (reception.inflow); empty when the batch has no inflows axis, and "
            "for a placement.",
        ),
        Column(
            "<setting>",
            "number",
            "see meaning",
            "The value of each [values] key of the batch file, one column per key, named after it.",
            when="the batch file has [values]",
        ),
        RUN_ID,
        Column(
            "status",
            "text",
            "",
            "How the run ended: optimal, feasible, infeasible, no_solution (as in its "
            "manifest), error (the run raised: see message) or not run. A schemes or front "
            "run: optimal when all its runs are, feasible when all have a plan, else the "
            "first other status.",
        ),
        Column(
            "stop",
            "text",
            "",
            "Why the solve stopped, in words (the run's manifest); a schemes or front run: "
            "how many schemes or points, and its largest gap.",
        ),
        Column("message", "text", "", "The error of a run that raised; empty otherwise."),
        Column(
            "seconds",
            "number",
            "",
            "Wall-clock seconds of the run in its worker (empty for a run done before).",
        ),
        Column(
            "<metric.scheme>",
            "number",
            "see meaning",
            "A schemes run: each metric of its comparison table per scheme, named "
            "metric.scheme (labour_score.population; see the comparison table).",
            when="the batch has kind schemes",
        ),
        Column(
            "runs",
            "integer",
            "",
            "A front run: its runs (payoff and grid).",
            when="the batch has kind front",
        ),
        Column(
            "on_front",
            "integer",
            "",
            "A front run: its non-dominated points.",
            when="the batch has kind front",
        ),
        Column(
            "knee.<axis>",
            "number",
            "see meaning",
            "A front run: the knee's value of each axis (empty for a front of one point).",
            when="the batch has kind front",
        ),
        Column(
            "<kpi>",
            "number",
            "see meaning",
            "The run's key figures: the columns of its kpis table but status and stop "
            "(a placement's or a reception plan's, see there); a schemes or front run has "
            "gap, its runs' largest.",
        ),
    ),
)
DRAWS_TABLE = Table(
    "draws",
    "One row per combination of the batch's other axes and number of its runs' rows: the "
    "mean over the household draws with a 95% interval (docs/batch.md).",
    (
        *(c for c in BATCH_TABLE.columns if c.name in ("kind", "instance", "scenario", "seed")),
        *(c for c in BATCH_TABLE.columns if c.name in ("scheme", "inflow", "<setting>")),
        Column("measure", "text", "", "A number of the runs' rows: gap, a KPI, a headline."),
        Column("draws", "integer", "", "Runs of the combination (one per draw)."),
        Column("with_plan", "integer", "", "Of them, optimal or feasible: the mean's runs."),
        Column("mean", "number", "see meaning", "The mean over the runs with a plan."),
        Column(
            "lower",
            "number",
            "see meaning",
            "95% t interval of the mean, lower end (empty with fewer than two runs).",
        ),
        Column("upper", "number", "see meaning", "Its upper end."),
    ),
    "the batch file has draws",
)
BATCH = Output(
    "batch",
    ("asielplan batch run",),
    "A batch of runs on Dask: each run in its own folder, one table of all.",
    (BATCH_TABLE, DRAWS_TABLE),
    runs=((("runs/<id>/",), ("place", "reception", "weekly", "schemes compare", "front")),),
)

# --------------------------------------------------------------------------- labour fit

ADULTS = Column("adults", "integer", "adults", "Adults in the cell.")
LABOUR_SUPPRESSED = Column(
    "suppressed", "true-false", "", "Fewer than output.min_cell adults: values blank."
)
OBSERVED = (
    Column("predicted", "number", "probability", "Mean cross-fitted probability."),
    Column("observed", "number", "share", "Share employed."),
    Column("observed_lower", "number", "share", "95% Wilson interval of observed: lower."),
    Column("observed_upper", "number", "share", "Its upper end."),
    Column("gap", "number", "share", "observed - predicted."),
)
AUDIT_GROUP = Column(
    "group",
    "text",
    "",
    "sex, household_size, age_band, one_adult, or a column given with --group.",
)
AUDIT_REGION = Column("region", "text", "", "A region of the history, or all.")
LABOUR_FIT = Output(
    "labour fit",
    ("asielplan labour fit",),
    "The labour model fitted to a history of outcomes, its audit and its model card "
    "(docs/labour.md); every figure of the audit from cross-fitted predictions.",
    (
        Table(
            "coefficients",
            "One row per term of the labour model: the estimate and its 95% interval.",
            (
                Column("term", "text", "", "The term (docs/labour.md)."),
                Column("estimate", "number", "log-odds", "The estimate (0: not estimated)."),
                Column(
                    "std_error",
                    "number",
                    "log-odds",
                    "Its standard error (blank: not estimated, or an l2 fit).",
                ),
                Column("lower", "number", "log-odds", "95% interval, lower end."),
                Column("upper", "number", "log-odds", "95% interval, upper end."),
                Column(
                    "identified",
                    "true-false",
                    "",
                    "The history can estimate it (its column varies).",
                ),
                Column(
                    "true",
                    "number",
                    "log-odds",
                    "The value the synthetic history was drawn from.",
                    "the history has a .truth.csv beside it",
                ),
                Column(
                    "true_in_interval",
                    "true-false",
                    "",
                    "The interval holds the true value (blank: not estimated).",
                    "the history has a .truth.csv beside it",
                ),
            ),
        ),
        Table(
            "model_comparison",
            "One row per form: its cross-validated log loss, on the same folds.",
            (
                Column("method", "text", "", "maximum likelihood, l2 or gradient boosting."),
                Column("cv_log_loss", "number", "", "Mean negative log-likelihood out of fold."),
                Column("usable", "true-false", "", "A form the placement can use."),
                Column("chosen", "true-false", "", "The form whose coefficients are written."),
                Column(
                    "l2_strength",
                    "number",
                    "",
                    "l2: the inverse penalty C chosen by 3-fold cross-validation.",
                ),
            ),
            "--compare",
        ),
        Table(
            "summary",
            "One row per measure of the history and the fit.",
            (
                Column("measure", "text", "", "The measure."),
                Column("value", "number", "see meaning", "Its value."),
                Column("meaning", "text", "", "What it is."),
            ),
        ),
        Table(
            "calibration",
            "One row per decile of the prediction, region and urbanity class.",
            (
                Column("basis", "text", "", "decile, region or urbanity."),
                Column("bin", "text", "", "The decile (1 lowest), region or class."),
                ADULTS,
                *OBSERVED,
                Column("within", "true-false", "", "The interval holds the prediction."),
                LABOUR_SUPPRESSED,
            ),
        ),
        Table(
            "audit",
            "One row per group, level and region (all, and each region of the history).",
            (
                AUDIT_GROUP,
                Column("level", "text", "", "The level (women, men, 3-4, one adult, ...)."),
                AUDIT_REGION,
                ADULTS,
                *OBSERVED,
                Column("auc", "number", "probability", "Area under the ROC curve in the cell."),
                LABOUR_SUPPRESSED,
            ),
        ),
        Table(
            "group_gaps",
            "One row per group, level and region: its calibration gap minus the reference "
            "level's, with an interval widened for the table's number of comparisons.",
            (
                AUDIT_GROUP,
                Column("level", "text", "", "The level compared."),
                Column("reference", "text", "", "The group's largest level."),
                AUDIT_REGION,
                Column("adults", "integer", "adults", "The smaller of the two cells."),
                Column("gap_difference", "number", "share", "Gap of level - gap of reference."),
                Column("lower", "number", "share", "Interval, lower end (Bonferroni)."),
                Column("upper", "number", "share", "Interval, upper end."),
                Column("flagged", "true-false", "", "The interval excludes 0."),
                LABOUR_SUPPRESSED,
            ),
        ),
        Table(
            "score_gains",
            "One row per household score, group and level: the share of the gain of "
            "sending each household where its score is highest.",
            (
                Column("aggregation", "text", "", "sum (Annie MOORE) or at_least_one (GeoMatch)."),
                Column("group", "text", "", "sex, household_size or one_adult."),
                Column("level", "text", "", "The level."),
                ADULTS,
                Column("share_of_adults", "number", "share", "Its share of the adults."),
                Column(
                    "gain",
                    "number",
                    "expected employed adults",
                    "Probability where sent minus the mean over municipalities, summed.",
                ),
                Column("share_of_gain", "number", "share", "Its share of the whole gain."),
                LABOUR_SUPPRESSED,
            ),
        ),
    ),
)

# --------------------------------------------------------------------------- chain

CHAIN_PLAN = "the plan has a solution"
CHAIN_INFLOW = Column("inflow", "text", "", "The inflow of the forecast.")
CHAIN_PERIOD = Column("period", "integer", "period", "Period of the forecast, 1 = the first.")
PERIOD_START = Column("period_start", "text", "date", "First day of the period.")
HALF_YEAR = Column("half_year", "text", "", "Taakstelling half-year: 2027-I or 2027-II.")
NATIONAL = Column("national", "number", "persons", "The national taakstelling of the half-year.")
NATIONAL_SOURCE = Column(
    "national_source",
    "text",
    "",
    "Where it comes from: announced (the instance's, within the lead time), given (the "
    "configuration or --national), last announced (no other given) or chosen (the plan).",
)
CHAIN_TABLE = Table(
    "chain",
    "One row per inflow and period: flows within the period and stocks at its end. The "
    "change of in_reception is arrivals - housed - departed.",
    in_order(
        CHAIN_COLUMNS,
        CHAIN_INFLOW,
        CHAIN_PERIOD,
        PERIOD_START,
        Column("days", "integer", "days", "Days in the period."),
        Column("arrivals", "number", "persons", "Asylum requests of the forecast."),
        Column("decisions", "number", "decisions", "First decisions made."),
        Column("granted", "number", "persons", "Decisions that grant a permit."),
        Column("rejected", "number", "persons", "Decisions that refuse one."),
        Column("housed", "number", "persons", "Status holders housed by municipalities."),
        Column("departed", "number", "persons", "Rejected asylum seekers who left reception."),
        Column("in_procedure", "number", "persons", "In reception awaiting a first decision."),
        Column("waiting", "number", "persons", "Status holders in reception waiting for a house."),
        Column("departing", "number", "persons", "Rejected asylum seekers still in reception."),
        Column("in_reception", "number", "persons", "in_procedure + waiting + departing."),
        Column("regular", "number", "persons", "Persons in regular sites."),
        Column("emergency", "number", "persons", "Persons in emergency sites."),
        Column("crisis", "number", "persons", "Persons in crisis reception (no site)."),
        Column("regular_places", "number", "places", "Places of the regular sites open."),
        Column("emergency_places", "number", "places", "Places of the emergency sites open."),
    ),
    when=CHAIN_PLAN,
)
LEVERS = Table(
    "levers",
    "One row per period: the taakstelling in force and the housing it allows, the "
    "decision capacity and what the plan adds, places open and opened (shared by every "
    "inflow of a robust plan).",
    in_order(
        LEVER_COLUMNS,
        CHAIN_PERIOD,
        PERIOD_START,
        HALF_YEAR,
        NATIONAL,
        NATIONAL_SOURCE,
        Column(
            "housing_capacity",
            "number",
            "persons",
            "Status holders municipalities house at most in the period: realisation share "
            "x the taakstelling x the period's share of the half-year's days.",
        ),
        Column("decision_capacity", "number", "decisions", "Decisions at the current capacity."),
        Column("added_decisions", "number", "decisions", "Decision capacity the plan adds."),
        Column("regular_places_open", "number", "places", "Places of regular sites open."),
        Column("emergency_places_open", "number", "places", "Places of emergency sites open."),
        Column("places_opened", "number", "places", "Places of the candidates opened in it."),
    ),
    when=CHAIN_PLAN,
)
HALF_YEARS = Table(
    "half_years",
    "One row per half-year and inflow: the taakstelling, where it comes from, and the "
    "persons housed in the plan's part of the half-year.",
    in_order(
        HALF_YEAR_COLUMNS,
        HALF_YEAR,
        CHAIN_INFLOW,
        NATIONAL,
        NATIONAL_SOURCE,
        Column("housed", "number", "persons", "Status holders housed in the plan's part of it."),
        Column(
            "realised_share",
            "number",
            "share",
            "housed / national (a part of a half-year counts its part only); empty for 0.",
        ),
    ),
    when=CHAIN_PLAN,
)
CHAIN_SITE_DECISIONS = Table(
    "site_decisions",
    "One row per site and inflow: whether the plan opened it, kept it open, it closed, "
    "or it stayed shut (not opened, or a business case rejected on budget), when, and why "
    "in numbers. Site decisions are shared by the inflows of a robust plan.",
    in_order(
        SITE_DECISION_COLUMNS,
        SITE,
        Column("name", "text", "", "Its name in the site list."),
        MUNICIPALITY,
        CHAIN_INFLOW,
        Column("state", "text", "", "Its state in the site list: open, closing or candidate."),
        Column("tier", "text", "", "regular or emergency."),
        Column("capacity", "integer", "places", "Its places."),
        Column(
            "decision",
            "text",
            "",
            "opened, kept (open throughout), closed (on its closing date), not opened, or "
            "rejected on budget.",
        ),
        Column("period", "integer", "period", "The period it opens or closes; else empty."),
        Column("period_start", "text", "date", "That period's first day; else empty."),
        Column("periods_open", "integer", "periods", "Periods of the plan it is open."),
        Column("peak_persons", "number", "persons", "The most persons in it in one period."),
        Column("place_nights", "number", "place-nights", "Persons x nights in it, summed."),
        Column("reason", "text", "", "The reason, with the numbers and dates."),
    ),
    when=CHAIN_PLAN,
)
STAGES = Table(
    "stages",
    "One row per lexicographic stage of the solve: crisis (fewest crisis place-nights), "
    "national (the question's smallest taakstelling) and cost (money and weights with "
    "crisis held); the run is proven when every stage is.",
    in_order(
        tuple(c for c in STAGE_COLUMNS if c != "seconds"),
        Column("stage", "text", "", "crisis, national or cost."),
        STATUS,
        Column(
            "objective",
            "number",
            "see meaning",
            "The stage's objective: crisis "
            "place-nights, persons of taakstelling, or the objective (EUR and weights).",
        ),
        Column("bound", "number", "see meaning", "Its proven lower bound."),
        GAP,
    ),
)
CHAIN_KPIS = Table(
    "kpis",
    "One row of key figures; with several inflows (a robust plan) expected values over "
    "the inflow weights.",
    (
        *_contract("objective", "money (EUR) plus weights, with the crisis place-nights held"),
        Column("inflows", "text", "", "The inflows planned for, ';' between.", when=CHAIN_PLAN),
        Column(
            "inflow_weights", "text", "", "Each inflow's weight, as inflow=weight.", when=CHAIN_PLAN
        ),
        Column("cost_eur", "number", "EUR", "Money: the objective's money parts.", when=CHAIN_PLAN),
        Column("weighted", "number", "weight", "The objective's weight parts.", when=CHAIN_PLAN),
        Column(
            "crisis_place_nights",
            "number",
            "place-nights",
            "Persons x nights in crisis reception (0 below 0.01).",
            when=CHAIN_PLAN,
        ),
        Column(
            "emergency_place_nights",
            "number",
            "place-nights",
            "Persons x nights in emergency sites.",
            when=CHAIN_PLAN,
        ),
        Column(
            "peak_in_reception", "number", "persons", "Most persons in reception.", when=CHAIN_PLAN
        ),
        Column(
            "peak_waiting", "number", "persons", "Most status holders waiting.", when=CHAIN_PLAN
        ),
        Column(
            "peak_crisis", "number", "persons", "Most persons in crisis reception.", when=CHAIN_PLAN
        ),
        Column(
            "housed",
            "number",
            "persons",
            "Status holders housed over the horizon.",
            when=CHAIN_PLAN,
        ),
        Column(
            "added_decisions", "number", "decisions", "Decision capacity added.", when=CHAIN_PLAN
        ),
        Column("sites_opened", "integer", "sites", "Candidates opened.", when=CHAIN_PLAN),
        Column("places_opened", "number", "places", "Their places.", when=CHAIN_PLAN),
        Column(
            "chosen_national",
            "text",
            "",
            "The taakstelling the plan chose per half-year, as half_year=persons; empty "
            "when none was chosen.",
            when=CHAIN_PLAN,
        ),
    ),
)
CHAIN = Output(
    "chain",
    ("asielplan chain",),
    "A chain plan: arrivals, decisions, status holders waiting and housed, reception "
    "places, for one inflow of the forecast (or, robust, for all). A solve without a plan "
    "writes kpis and stages only.",
    (
        CHAIN_TABLE,
        LEVERS,
        HALF_YEARS,
        CHAIN_SITE_DECISIONS,
        STAGES,
        _objective_table(
            {name: unit for name, unit in CHAIN_PART_UNITS.items()},
            "minimised; money in euros and weights apart",
            CHAIN_PLAN,
        ),
        CHAIN_KPIS,
    ),
)


# the files that are not tables: (file names, where and what), for the page
OTHER_FILES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("manifest.json",),
        "every output folder, and every run folder inside a study: the command, the run id, "
        "the whole configuration, seed, SHA-256 of the inputs and of the files written "
        "(outputs_sha256), package versions, the code that ran (code: the version and, "
        "from a git checkout, the commit), status and why the solve stopped",
    ),
    (
        ("timings.json",),
        "every run folder: seconds per step (read, check, build, solve, ...); with trace.csv "
        "the clock records, which differ between runs and are not hashed",
    ),
    (
        (f"RUN_DIR/{REPORT_FILE}",),
        "asielplan report RUN_DIR: the HTML report of a run folder (or the file given by --out)",
    ),
    ((WORKBOOK,), "every folder with tables, when output.formats has xlsx: a sheet per table"),
    (
        ("occupancy.png", "regions.png"),
        "reception: occupancy over time; persons against the region targets (with targets)",
    ),
    (("metrics.png", "targets.png", "notes.txt"), "schemes compare: plots and notes"),
    (("comparison.png",), "reception-compare: money, place-nights and places opened per plan"),
    (
        ("calibration.png", "labour.toml", "model_card.html"),
        "labour fit: calibration per decile; the configuration fragment that makes a run use "
        "the fit; the model card",
    ),
    (("front.png", "sweep.png", "fairness.png"), "front, sweep and fairness: their plots"),
    (
        ("municipalities/*.pdf", "provinces/*.pdf"),
        "letters: a letter per municipality and an overview per province",
    ),
    (
        (),
        "generate writes an instance folder: the input tables of the data dictionary and a "
        "manifest.json",
    ),
)


# --------------------------------------------------------------------------- checking


def match_columns(
    table: Table, written: Sequence[str], bindings: Mapping[str, Sequence[str]] | None = None
) -> list[Column] | None:
    """The declared column of each of the ``written`` columns, in order, or None when
    they do not follow the declaration: every column without a condition present, the
    others there or not, all in the declared order. A placeholder column stands for the
    names ``bindings`` gives it (all of them, in that order), else for any run of names
    it matches (:meth:`Column.matches`)."""
    found = _match(table.columns, tuple(written), dict(bindings or {}))
    return None if found is None else list(found)


def _match(
    declared: tuple[Column, ...], written: tuple[str, ...], bindings: dict[str, Sequence[str]]
) -> tuple[Column, ...] | None:
    if not declared:
        return () if not written else None
    column, rest = declared[0], declared[1:]
    options: list[int] = []  # how many written columns this declaration takes
    if column.placeholder is None:
        if written and written[0] == column.name:
            options.append(1)
        elif column.when:
            options.append(0)
    elif column.placeholder in bindings:
        names = column.names(bindings[column.placeholder])
        if list(written[: len(names)]) == names:
            options.append(len(names))
        if column.when or not names:
            options.append(0)
    else:
        k = 0
        while k < len(written) and column.matches(written[k]):
            k += 1
        options.extend(range(k, -1, -1))
    for k in options:
        tail = _match(rest, written[k:], bindings)
        if tail is not None:
            return (column,) * k + tail
    return None


def expected_columns(table: Table, bindings: Mapping[str, Sequence[str]]) -> list[str]:
    """The declared column names, placeholders given by ``bindings`` (for messages)."""
    out: list[str] = []
    for column in table.columns:
        if column.placeholder is not None and column.placeholder in bindings:
            out += column.names(bindings[column.placeholder])
        else:
            out.append(column.name + (" (when " + column.when + ")" if column.when else ""))
    return out
