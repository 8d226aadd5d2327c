"""Run configuration: strict pydantic models loadable from TOML.

Unknown keys are rejected, every field is documented, and models are frozen. A TOML file
holds a base configuration plus named scenarios, each a partial override of the base:

.. code-block:: toml

    [solver]
    time_limit = 60

    [scenarios.tight]
    placement.target_mode = "band"
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from asielplan.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SearchConfig(Strict):
    """Settings of the placement search (docs/formulation/placement.md, "How it is
    solved"): its work per phase, the share of the time left a phase may take, and the
    pricing of bounds. The defaults are the ones measured in benchmarks/bench_placement.py;
    every one is in the manifest, as part of the configuration."""

    initial_columns: int = Field(
        default=6, ge=1, description="Best municipalities per household in the first LP."
    )
    target_cover: float = Field(
        default=1.5,
        gt=0,
        description="Initial households per municipality, in multiples of its target.",
    )
    cover_uses: int = Field(
        default=2,
        ge=0,
        description="In the first LP's cover of each municipality's target, a household "
        "already in this many covers comes after every household in fewer (the covers of "
        "the largest targets first); 0: each cover by regret alone.",
    )
    add_per_round: int = Field(
        default=4,
        ge=1,
        description="Pairs of most negative reduced cost added per household per LP round.",
    )
    max_rounds: int = Field(default=200, ge=1, description="Most column-generation rounds.")
    lagrange_rounds: int = Field(
        default=40, ge=0, description="Subgradient rounds of the bound over whole households."
    )
    aim_share: float = Field(
        default=0.005,
        gt=0,
        lt=1,
        description="Each subgradient step aims this share below the best bound so far.",
    )
    pattern_rounds: int = Field(
        default=200,
        ge=0,
        description="Most rounds of column generation over municipality patterns (the exact "
        "Lagrangian dual) after the subgradient rounds; 0: none.",
    )
    pattern_min_gain: float = Field(
        default=0.001,
        ge=0,
        description="Pattern rounds run only when the subgradient rounds lowered the LP "
        "bound by at least this share of it (whole households then cost the LP's bound "
        "enough for the exact dual to matter).",
    )
    patterns_first_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Pattern rounds run before the restricted MIP when at least this many "
        "seconds are left after the subgradient rounds (their pairs guide its first "
        "rounds); with less, after its first neighbourhood rounds, so that a short run "
        "has its plan first.",
    )
    pattern_box: float = Field(
        default=0.05,
        gt=0,
        description="Pattern rounds keep the master's duals within this share of their size "
        "around the best so far (the box step; doubled when it binds and nothing prices in).",
    )
    plan_every: int = Field(
        default=5,
        ge=1,
        description="Subgradient rounds between plans from the municipalities' choices.",
    )
    mip_columns: int = Field(
        default=5,
        ge=1,
        description="Pairs per household (lowest reduced cost) in the restricted MIP.",
    )
    mip_per_municipality: int = Field(
        default=40,
        ge=0,
        description="Households per municipality (lowest reduced cost) in the restricted MIP.",
    )
    full_mip_pairs: int = Field(
        default=100_000,
        ge=0,
        description="Up to this many compatible pairs, the last MIP takes them all.",
    )
    lns_rounds: int = Field(
        default=8, ge=0, description="Large-neighbourhood rounds before the full restricted MIP."
    )
    lns_nodes: int = Field(
        default=500,
        ge=1,
        description="Branch-and-bound nodes per neighbourhood round (work: the same on any "
        "machine, and the same under any time limit, which only cuts it).",
    )
    mip_pool: int | None = Field(
        default=None,
        ge=1,
        description="HiGHS's soft limit on the cut and conflict pools of the restricted "
        "MIP's runs (its mip_pool_soft_limit); None: HiGHS's own (10,000). 1,000 keeps a "
        "large neighbourhood's memory and time down (25,000 households) but starves the "
        "small ones of cuts (1,000 households).",
    )
    block_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="A neighbourhood round that would repeat an earlier one (the same "
        "plan, the same households free) frees instead the households placed in this "
        "share of the municipalities, drawn from the run's seed.",
    )
    neighbourhood_gap_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Rounds after the first stop at this share of the requested gap.",
    )
    first_pass_nodes: int = Field(
        default=2_000,
        ge=1,
        description="Nodes of the small problems' first restricted pass (work, cut only by "
        "the time limit).",
    )
    widen_min_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Widen the restricted MIP only with this share of the time limit left.",
    )
    widen_all_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Widen to all pairs once a step would take this share of them.",
    )
    final_mip_min_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Large problems: the whole restricted MIP only with this share of the "
        "time limit left.",
    )
    priced_share: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description="Most of the time left the solve with priced bounds and floors may take.",
    )
    priced_gap_share: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="The solve with priced bounds and floors stops at this share of the gap asked.",
    )
    bound_price_factor: float = Field(
        default=1.05,
        ge=1,
        description="A bound's or group floor's price in the priced solve: its dual times this.",
    )
    elastic_min_seconds: float = Field(
        default=3.0,
        gt=0,
        description="The diagnosis of an infeasible model gets at least this long.",
    )


class SolverConfig(Strict):
    """How the MIP solver is called."""

    name: str = Field(default="highs", description="Pyomo solver name; HiGHS by default.")
    time_limit: float = Field(default=60.0, gt=0, description="Wall-clock limit (seconds).")
    mip_gap: float = Field(default=1e-3, ge=0, description="Relative gap to stop at (0.001).")
    exact_up_to: int = Field(
        default=500,
        ge=0,
        description="A placement of at most this many households on an instance without "
        "a taakstelling (the generic resettlement shape) is proven exactly (mip_gap 0), as "
        "a researcher expects of a small instance; 0: always mip_gap.",
    )
    threads: int = Field(default=2, ge=1, description="Solver threads.")
    seed: int = Field(default=0, ge=0, description="Solver random seed.")
    log: bool = Field(default=False, description="Send the solver's log to the logger.")
    reception_method: Literal["auto", "mip", "lp_round"] = Field(
        default="auto",
        description="Reception: HiGHS branch and bound (mip), the LP bound with rounded "
        "site decisions (lp_round), or lp_round for models over 50,000 columns (auto).",
    )
    crossover: bool = Field(
        default=True,
        description="Reception: end the plan's LP in crossover, so the plan is a vertex "
        "(fewer fractional people) and its duals are those of a basis.",
    )
    search: SearchConfig = Field(
        default_factory=SearchConfig, description="Settings of the placement search."
    )


class OutputConfig(Strict):
    """What a run writes."""

    formats: tuple[Literal["csv", "parquet", "xlsx"], ...] = Field(
        default=("csv", "parquet"),
        description="Table formats to write: csv and parquet per table, xlsx one workbook "
        "(tables.xlsx) with a sheet per table.",
    )
    csv_dialect: Literal["standard", "nl"] = Field(
        default="standard",
        description="CSV dialect: standard (comma, decimal point, UTF-8) or nl (semicolon, "
        "decimal comma, UTF-8 with a byte-order mark: what a Dutch Excel opens as columns).",
    )
    min_cell: int = Field(
        default=5,
        ge=1,
        description="Aggregates over fewer households than this are suppressed (their "
        "values left blank, the count kept) in every table of outcomes by group, so that "
        "no single household's figures can be read from them.",
    )


class RegionBand(Strict):
    """Band on a region's placed persons, relative to the region's summed taakstelling."""

    level: str = Field(description="Region level (a column named in instance.toml).")
    lower: float = Field(default=0.9, ge=0, description="Lower bound as a share of target.")
    upper: float = Field(default=1.1, ge=0, description="Upper bound as a share of target.")

    @model_validator(mode="after")
    def _ordered(self) -> RegionBand:
        if self.lower > self.upper:
            raise ValueError(f"lower ({self.lower}) > upper ({self.upper})")
        return self


class PartBound(Strict):
    """An epsilon bound on a named part of the placement objective, in the part's unit."""

    lower: float | None = Field(default=None, description="Least value of the part.")
    upper: float | None = Field(default=None, description="Largest value of the part.")

    @model_validator(mode="after")
    def _ordered(self) -> PartBound:
        if self.lower is None and self.upper is None:
            raise ValueError("give lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower ({self.lower}) > upper ({self.upper})")
        return self


class PlacementConfig(Strict):
    """Weights and switches of the status-holder placement model (docs/formulation)."""

    aggregation: Literal["sum", "at_least_one"] = Field(
        default="sum",
        description="Household labour score: expected employed members (sum) or "
        "P(at least one member works).",
    )
    assignment: Literal["exactly_once", "at_most_once"] = Field(
        default="exactly_once", description="Must every household be placed?"
    )
    unplaced_penalty: float = Field(
        default=100.0, ge=0, description="Objective cost per unplaced person (at_most_once)."
    )
    scheme: str | None = Field(
        default=None,
        description="Quota scheme of the targets (asielplan schemes list); empty: the "
        "instance's [taakstelling].scheme (the law, population, by default).",
    )
    targets: Literal["taakstelling", "remaining", "batch_share"] = Field(
        default="taakstelling",
        description="Targets: the period's taakstelling; for weekly batches the remaining "
        "taakstelling (minus progress.placed), or the batch's persons split in proportion "
        "to it (batch_share).",
    )
    shortfall_sharing: Literal["proportional", "objective"] = Field(
        default="proportional",
        description="When the persons to place differ from the taakstelling's sum "
        "(placement.targets = taakstelling; the law rounds every number up): "
        "proportional scales the targets to the persons by largest remainder, so every "
        "municipality carries its share of a shortfall or an excess; objective keeps the "
        "taakstelling and lets the difference land where the objective finds it cheapest.",
    )
    target_mode: Literal["soft", "band"] = Field(
        default="soft", description="Taakstelling as penalised target or as hard band."
    )
    band_lower: float = Field(default=0.95, ge=0, description="Band mode: lower share.")
    band_upper: float = Field(default=1.05, ge=0, description="Band mode: upper share.")
    band_slack_persons: int = Field(
        default=6,
        ge=0,
        description="Band mode: extra persons on both sides, since households are whole.",
    )
    weight_labour: float = Field(
        default=100.0, ge=0, description="Objective value of one expected employed person."
    )
    weight_distance: float = Field(
        default=0.05, ge=0, description="Cost per km moved per household."
    )
    weight_leave_coa_region: float = Field(
        default=5.0, ge=0, description="Extra cost when a household leaves its COA region."
    )
    weight_change: float = Field(
        default=10.0,
        ge=0,
        description="Cost per household placed in another municipality than in the "
        "previous plan (a run with --previous); a hard limit on the number of changes is "
        "part_bounds.changes.upper.",
    )
    coa_region_level: str = Field(
        default="coa_region", description="Region level used as the COA region."
    )
    penalty_shortfall: float = Field(
        default=20.0, ge=0, description="Cost per person below the taakstelling."
    )
    penalty_excess: float = Field(
        default=20.0, ge=0, description="Cost per person above the taakstelling."
    )
    region_bands: tuple[RegionBand, ...] = Field(
        default=(), description="Bands on region totals (hard; elastic when infeasible)."
    )
    part_bounds: dict[str, PartBound] = Field(
        default_factory=dict,
        description="Bounds on named parts of the objective (labour, distance, "
        "leave_coa_region, shortfall, excess, unplaced, changes) or on deviation "
        "(shortfall + excess), in their units: the epsilon constraints of a trade-off "
        "front.",
    )

    group_floors: dict[str, float] = Field(
        default_factory=dict,
        description="Floors on groups' mean employment probability (0-1; groups: women, "
        "men, size_1, size_2_3, size_4_plus, one_adult, two_plus_adults, age_18-24 ... "
        "age_55-64; adult members 18-64, an unplaced member counts 0): hard rows; "
        "'asielplan fairness' sets them by rule.",
    )

    @model_validator(mode="after")
    def _floors_are_probabilities(self) -> PlacementConfig:
        for group, floor in self.group_floors.items():
            if not 0 <= floor <= 1:
                raise ValueError(f"group_floors.{group} = {floor}: a mean probability, 0 to 1")
        return self

    @model_validator(mode="after")
    def _band_ordered(self) -> PlacementConfig:
        if self.band_lower > self.band_upper:
            raise ValueError("band_lower > band_upper")
        return self


class ChainConfig(Strict):
    """Levers, weights and questions of the chain plan (docs/formulation/chain.md).

    Crisis reception is the last resort: the plan first makes its crisis place-nights as
    few as possible, then weighs money and weights with that number held."""

    inflow: str | None = Field(
        default=None,
        description="Inflow of the forecast to plan for; empty: middle, else the first.",
    )
    robust: bool = Field(
        default=False,
        description="Decide sites, the taakstelling and decision capacity once against "
        "every inflow of the forecast (operations per inflow).",
    )
    national: float | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="The national taakstelling (persons) of every half-year not yet "
        "announced; empty: the last announced one, unless choose_national.",
    )
    choose_national: bool = Field(
        default=False,
        description="Let the plan choose the taakstelling of the half-years not yet "
        "announced (national_min to national_max, at national_weight a person).",
    )
    national_by_half_year: dict[str, float] = Field(
        default_factory=dict,
        description="The national taakstelling per half-year (e.g. '2027-II' = 18000), "
        "announced ones included (a what-if); before national.",
    )
    national_min: float = Field(
        default=0.0, ge=0, description="Lowest taakstelling the plan may choose (persons)."
    )
    national_max: float = Field(
        default=60_000.0, ge=0, description="Highest taakstelling the plan may choose (persons)."
    )
    national_weight: float = Field(
        default=2_000.0,
        ge=0,
        description="Weight per person of a taakstelling the plan chooses: what a planner "
        "would pay to ask municipalities to house one person more.",
    )
    smallest_national: Literal["off", "constant", "per-half-year"] = Field(
        default="off",
        description="The question 'which taakstelling keeps crisis reception as low as it "
        "can be': constant (one number for every half-year not announced) or "
        "per-half-year (their sum as small as it can be); off: no question.",
    )
    lead_weeks: int = Field(
        default=13,
        ge=0,
        le=520,
        description="Weeks before a half-year starts by which its taakstelling is announced "
        "(Huisvestingswet 2014 art. 28): earlier half-years keep [chain].national of the instance.",
    )
    realisation_share: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Share of the taakstelling municipalities house; empty: the instance's.",
    )
    extra_decisions_per_week: float = Field(
        default=300.0,
        ge=0,
        description="Most first decisions per week the IND can add to its capacity.",
    )
    extra_decision_cost: float = Field(
        default=2_500.0,
        ge=0,
        description="Cost of one decision of added capacity (EUR), used or not.",
    )
    buffer_norm: float = Field(
        default=0.96,
        gt=0,
        le=1,
        description="Highest share of open regular places that may be occupied.",
    )
    emergency_penalty: float = Field(
        default=100.0,
        ge=0,
        description="Penalty per place-night in an emergency site, on top of its cost.",
    )


class ReceptionConfig(Strict):
    """Weights of the reception planning model (docs/formulation/reception.md).

    Costs are in euros; the weights say what a planner would pay to avoid one move,
    one emergency place-night, and so on."""

    move_cost: float = Field(
        default=250.0, ge=0, description="Weight of one transfer between sites (EUR)."
    )
    emergency_penalty: float = Field(
        default=100.0,
        ge=0,
        description="Penalty per person-night in noodopvang (emergency tier), on top of "
        "its cost: what one avoided emergency place-night is worth.",
    )
    crisis_penalty: float = Field(
        default=400.0,
        ge=0,
        description="Penalty per person-night in crisisnoodopvang (crisis tier), on top "
        "of its cost.",
    )
    outside_preferred_penalty: float = Field(
        default=10.0,
        ge=0,
        description="Penalty per person-night after the procedure outside the cohort's "
        "preferred regions (a destination region is a hard rule).",
    )
    target_penalty: float = Field(
        default=20.0,
        ge=0,
        description="Penalty per person-night below or above a region's place target.",
    )
    inflow: str | None = Field(
        default=None,
        description="Inflow (of the cohorts table) to plan for; empty: the first one.",
    )
    robust: bool = Field(
        default=False,
        description="Decide sites once against every inflow of the cohorts table, and "
        "compare with the plan for `inflow` alone (buffer cost against emergency cost).",
    )
    target_scheme: str | None = Field(
        default=None,
        description="Region place targets from a quota scheme (e.g. spreidingswet): each "
        "region's share of the scheme's numbers times the persons in reception in each "
        "period; instead of the region_targets table.",
    )
    money_weight: float = Field(
        default=1.0,
        ge=0,
        description="Multiplies the money parts (beds, fixed, opening) in the objective; "
        "1 in a plan. A trade-off front lowers it to optimise another axis; reports show "
        "euros whatever it is.",
    )
    part_bounds: dict[str, PartBound] = Field(
        default_factory=dict,
        description="Bounds on money (EUR: beds, fixed and opening costs), moves, "
        "emergency and crisis (place-nights), expected over the inflows: the epsilon "
        "constraints of a trade-off front.",
    )


class WeeklyConfig(Strict):
    """The weekly look-ahead of ``asielplan weekly`` and ``asielplan simulate``
    (docs/weekly.md): prices of the remaining taakstelling from sampled futures."""

    policy: Literal["prices", "greedy", "balanced"] = Field(
        default="prices",
        description="prices: the batch against the remaining taakstelling, each household's "
        "value reduced by persons x its municipality's price from sampled futures; greedy: "
        "the same without prices; balanced: prices plus a pace price that keeps households "
        "away from municipalities ahead of the national pace.",
    )
    futures: int = Field(default=5, ge=1, description="Sampled futures whose prices are averaged.")
    seed: int = Field(default=0, ge=0, description="Seed of the sampled futures.")
    history_weeks: int = Field(
        default=2,
        ge=1,
        description="asielplan simulate: the futures of a week are drawn from the arrivals "
        "of the last this many weeks, this one included.",
    )
    future_persons: int | None = Field(
        default=None,
        ge=0,
        description="Persons expected in the rest of the half-year (after this batch); "
        "empty: the remaining taakstelling minus this batch's persons.",
    )
    balance_weight: float = Field(
        default=200.0,
        ge=0,
        description="balanced policy: the pace price per person of a municipality one whole "
        "taakstelling ahead of the national pace (in proportion for less; 0 when behind): "
        "the marginal cost of a quadratic penalty on running ahead of the pace.",
    )


class KeyTerm(Strict):
    """One weighted share of a distribution key: ``weight`` x the municipality's share of
    ``column`` (times its population when ``per_capita``: a rate such as the employment
    rate becomes a count). With ``inverse`` a municipality with more of the rate gets
    less: the share of population x (highest rate - its rate)."""

    column: str = Field(description="A numeric column of the municipality table.")
    weight: float = Field(gt=0, description="Weight of this share in the key.")
    per_capita: bool = Field(default=False, description="The column is a rate per inhabitant.")
    inverse: bool = Field(default=False, description="More of it means a smaller share.")


class SchemeSpec(Strict):
    """A quota scheme: a rule (registered in ``asielplan.model.schemes``) and its data.
    Declared in the run configuration as ``[schemes.NAME]``; see docs/schemes.md."""

    rule: str = Field(
        description="How the key is computed: law, exact_total, key, spreidingswet, "
        "denmark, regional_pool, or a rule registered in code (asielplan.model.schemes)."
    )
    description: str = Field(default="", description="What the scheme is.")
    source: str = Field(default="", description="Where it comes from.")
    unverified: str = Field(default="", description="What in it is an assumption.")
    key: tuple[KeyTerm, ...] = Field(
        default=(), description="rule 'key': the weighted shares whose sum is the key."
    )
    column: str | None = Field(
        default=None,
        description="rule 'spreidingswet': the SES score column; rule 'denmark': the share "
        "of residents of non-European origin (percent).",
    )
    rounding: Literal["up", "largest_remainder"] = Field(
        default="largest_remainder",
        description="Whole numbers: each rounded up, or largest remainder (exact total).",
    )
    region_level: str | None = Field(
        default=None, description="Region level of region_totals or of the regional pool."
    )
    region_totals: dict[str, int] = Field(
        default_factory=dict,
        description="Hard totals per region (scaled to the national number when it differs "
        "from their sum); the municipal split is the key's within each region.",
    )
    municipal: Literal["target", "free"] = Field(
        default="target",
        description="Municipal numbers are targets of the placement, or free within the "
        "region totals (regional pooling: the region decides the split).",
    )
    region_band: tuple[float, float] = Field(
        default=(0.98, 1.02),
        description="With municipal = 'free': the band on each region's total (shares).",
    )
    floor_per_1000: float | None = Field(
        default=None, ge=0, description="Least number per 1,000 inhabitants."
    )
    cap_per_1000: float | None = Field(
        default=None, gt=0, description="Largest number per 1,000 inhabitants."
    )
    credit_column: str | None = Field(
        default=None,
        description="A column of places already provided, credited against the number "
        "(never below 0).",
    )
    amv_share: float | None = Field(
        default=None, ge=0, le=1, description="Share of the number for unaccompanied minors."
    )
    national: int | None = Field(
        default=None, ge=0, description="The scheme's own national number (e.g. 96,000)."
    )
    proxy: str = Field(
        default="", description="When a column is a stand-in for the real one, what it is."
    )

    @model_validator(mode="after")
    def _complete(self) -> SchemeSpec:
        if self.rule == "key" and not self.key:
            raise ValueError("rule 'key' needs key terms")
        if self.rule in ("spreidingswet", "denmark") and self.column is None:
            raise ValueError(f"rule {self.rule!r} needs a column")
        if (self.region_totals or self.rule == "regional_pool") and self.region_level is None:
            raise ValueError("region totals and regional pooling need a region_level")
        if any(total < 0 for total in self.region_totals.values()):
            raise ValueError("region totals must be >= 0")
        if self.region_totals and self.national is not None:
            total = sum(self.region_totals.values())
            if total != self.national:
                raise ValueError(
                    f"the region totals add up to {total}, not the national {self.national}"
                )
        if (
            self.floor_per_1000 is not None
            and self.cap_per_1000 is not None
            and self.floor_per_1000 > self.cap_per_1000
        ):
            raise ValueError("floor_per_1000 > cap_per_1000")
        return self


NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")  # a name the user gives a thing
# columns of the scheme comparison's targets table, beside one column per scheme
RESERVED_SCHEME_NAMES = ("municipality", "name", "inhabitants", "population_key")


class LimitsConfig(Strict):
    """How large a study or batch may grow before it is refused, counted before anything
    is expanded or solved (a typo of a few zeros should not start a million solves)."""

    max_runs: int = Field(
        default=2_000,
        ge=1,
        description="Most solves one command may start: a batch's runs, a front's points, "
        "a sweep's grid, a simulation's weeks x seeds x policies.",
    )


def check_count(count: int, what: str, limits: LimitsConfig) -> None:
    """Refuse ``count`` runs above ``limits.max_runs``, stating both numbers."""
    if count > limits.max_runs:
        raise ConfigError(
            f"{what} would start {count:,} runs, above limits.max_runs = "
            f"{limits.max_runs:,}; make it smaller or raise limits.max_runs"
        )


class LabourConfig(Strict):
    """The labour model of a run (docs/labour.md): the built-in coefficients, or those of
    a fit (``asielplan labour fit``), named by its folder or given inline."""

    model: str | None = Field(
        default=None,
        description="Folder of a fit (its coefficients.csv), relative to the configuration "
        "file; read when the configuration is loaded, into coefficients.",
    )
    coefficients: dict[str, float] = Field(
        default_factory=dict,
        description="Coefficients by term (intercept, age[25-34], ..., employment_rate, "
        "urbanity, tertiary_x_urbanity, skilled_x_employment_rate: every term of "
        "docs/labour.md); empty: the built-in model.",
    )
    sha256: str | None = Field(
        default=None,
        description="SHA-256 of the fit's coefficients.csv: filled in when model is read; "
        "when given, the file must match it.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LabourConfig:
        if self.model is not None and not self.coefficients:
            raise ValueError("labour.model was not read; load the configuration from its file")
        return self


COEFFICIENTS_FILE = "coefficients.csv"


def _read_labour_model(raw: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    """``raw`` with ``labour.model`` (a fit's folder, relative to ``base``) read into
    ``labour.coefficients`` and ``labour.sha256``; a ConfigError says what is wrong."""
    import csv
    import hashlib

    labour = raw.get("labour")
    if not isinstance(labour, dict) or labour.get("model") is None:
        return raw
    if labour.get("coefficients"):
        raise ConfigError(f"{where}: labour: give model (a fit's folder) or coefficients, not both")
    folder = base / str(labour["model"])
    file = folder / COEFFICIENTS_FILE
    try:
        data = file.read_bytes()
    except OSError:
        raise ConfigError(
            f"{where}: labour.model: {folder} has no {COEFFICIENTS_FILE} (write one with "
            "`asielplan labour fit`)"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    pinned = labour.get("sha256")
    if pinned is not None and pinned != digest:
        raise ConfigError(
            f"{where}: labour.sha256: {file} has SHA-256 {digest}, not the pinned {pinned}"
        )
    coefficients: dict[str, float] = {}
    problems = []
    text = data.decode("utf-8-sig", errors="replace").splitlines()
    dutch = bool(text) and ";" in text[0]  # output.csv_dialect = "nl": ';' and decimal ','
    rows = csv.DictReader(text, delimiter=";" if dutch else ",")
    for row_no, row in enumerate(rows, start=2):
        term, estimate = row.get("term"), str(row.get("estimate"))
        try:
            coefficients[str(term)] = float(estimate.replace(",", ".") if dutch else estimate)
        except ValueError:
            problems.append(f"{file}: row {row_no}: estimate {estimate!r} is not a number")
    if problems or not coefficients:
        raise ConfigError("\n".join(problems) or f"{file}: no term,estimate rows")
    return {**raw, "labour": {**labour, "coefficients": coefficients, "sha256": digest}}


class RunConfig(Strict):
    """One run: the base configuration with at most one scenario applied."""

    scenario: str = Field(default="base", description="Name of the applied scenario.")
    solver: SolverConfig = SolverConfig()
    output: OutputConfig = OutputConfig()
    limits: LimitsConfig = LimitsConfig()
    placement: PlacementConfig = PlacementConfig()
    reception: ReceptionConfig = ReceptionConfig()
    chain: ChainConfig = ChainConfig()
    weekly: WeeklyConfig = WeeklyConfig()
    labour: LabourConfig = LabourConfig()
    schemes: dict[str, SchemeSpec] = Field(
        default_factory=dict,
        description="Quota schemes of this configuration, besides the shipped ones; a "
        "name is a letter then letters, digits, '_' or '-' (at most 40).",
    )

    @field_validator("schemes")
    @classmethod
    def _scheme_names(cls, schemes: dict[str, SchemeSpec]) -> dict[str, SchemeSpec]:
        """A scheme's name labels columns, plots and run folders: a plain word only."""
        for name in schemes:
            if not NAME_PATTERN.fullmatch(name) or name in RESERVED_SCHEME_NAMES:
                raise ValueError(
                    f"scheme name {name!r}: use a letter then letters, digits, '_' or '-' "
                    f"(at most 40), not one of {', '.join(RESERVED_SCHEME_NAMES)}"
                )
        return schemes


PRICED_POLICIES = ("prices", "balanced")


def check_priced(config: RunConfig, policies: tuple[str, ...]) -> None:
    """Prices come from the duals of a penalised taakstelling: refuse a band."""
    priced = [policy for policy in policies if policy in PRICED_POLICIES]
    if priced and config.placement.target_mode != "soft":
        raise ConfigError(
            f"the {' and '.join(priced)} policy prices the remaining taakstelling as a "
            "penalised target: set placement.target_mode = 'soft', or use the greedy policy"
        )


def weekly_config(config: RunConfig) -> RunConfig:
    """The run configuration of a weekly batch: the remaining taakstelling as targets."""
    placement = config.placement.model_copy(update={"targets": "remaining"})
    return config.model_copy(update={"placement": placement})


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


RENAMED = {
    ("reception", "scenario"): "reception.inflow (the cohorts' inflow); a scenario is a "
    "named override of the configuration, [scenarios.NAME]",
}


def _renamed(raw: dict[str, Any], where: str) -> list[str]:
    return [
        f"{where}: {section}.{key} was renamed: use {new}"
        for (section, key), new in RENAMED.items()
        if isinstance(raw.get(section), dict) and key in raw[section]
    ]


def _suggest(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """' (did you mean ...?)' for an unknown key, from the fields of its section."""
    target: Any = model
    for part in loc[:-1]:
        field_info = getattr(target, "model_fields", {}).get(part)
        annotation = getattr(field_info, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        target = annotation
    known = list(getattr(target, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _validated(
    raw: dict[str, Any], where: str, base: Path | None = None, read: bool = True
) -> RunConfig:
    """``raw`` as a RunConfig (``read``: read ``labour.model``; False for a configuration
    that was validated before, whose model is read already)."""
    renamed = _renamed(raw, where)
    if renamed:
        raise ConfigError("\n".join(renamed))
    if read:
        raw = _read_labour_model(raw, Path.cwd() if base is None else base, where)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            hint = _suggest(RunConfig, loc) if err["type"] == "extra_forbidden" else ""
            lines.append(f"{where}: {'.'.join(str(p) for p in loc)}: {err['msg']}{hint}")
        raise ConfigError("\n".join(lines)) from None


def config_from_dict(
    raw: dict[str, Any],
    scenario: str | None = None,
    where: str = "config",
    base: Path | None = None,
) -> RunConfig:
    """Validate a configuration mapping and apply the named scenario, if any (``base``:
    the folder paths in it are relative to; the working folder by default)."""
    raw = dict(raw)
    scenarios = raw.pop("scenarios", {})
    if not isinstance(scenarios, dict):
        raise ConfigError(f"{where}: 'scenarios' must be a table of named overrides")
    base_config = _validated(raw, where, base)
    # every scenario is checked, the chosen one or not, and all errors are reported at once
    checked: dict[str, RunConfig] = {}
    errors = []
    for name, override in scenarios.items():
        if not isinstance(override, dict):
            errors.append(f"{where}: [scenarios.{name}] must be a table of overrides")
            continue
        try:
            checked[name] = _validated(
                {**_merge(raw, override), "scenario": name},
                f"{where} [scenarios.{name}]",
                base,
            )
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    if scenario is None or scenario == "base":
        return base_config
    if scenario not in checked:
        known = ", ".join(sorted(scenarios)) or "none"
        raise ConfigError(f"{where}: unknown scenario {scenario!r} (defined: {known})")
    return checked[scenario]


def with_overrides(config: RunConfig, overrides: dict[str, Any], where: str) -> RunConfig:
    """``config`` with dotted keys replaced (``{"solver.time_limit": 20}``), validated
    like a file: a value out of range or an unknown key is a :class:`ConfigError`."""
    raw = config.model_dump(mode="python")
    for dotted, value in overrides.items():
        *sections, key = dotted.split(".")
        target = raw
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{where}: {dotted}: {section} is not a section")
        target[key] = value
    return _validated(raw, where, read=False)


def load_config(path: str | Path | None = None, scenario: str | None = None) -> RunConfig:
    """Read a TOML configuration (or the defaults when ``path`` is None)."""
    if path is None:
        if scenario not in (None, "base"):
            raise ConfigError(f"scenario {scenario!r} needs a configuration file")
        return RunConfig()
    path = Path(path)
    return config_from_dict(_read_toml(path), scenario, where=path.name, base=path.parent)


def _read_toml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ConfigError(f"configuration {path} is a folder; give a TOML file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (as Windows editors write) is fine
        return tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: TOML syntax: {exc}") from None
