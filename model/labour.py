"""Labour potential: a transparent score per (household, municipality).

Each adult member (18-64) gets an employment probability from a logistic model:

.. math::

    \\operatorname{logit} p_{im} = \\beta_0 + \\beta_{age(i)} + \\beta_{edu(i)} + \\beta_{work(i)}
        + \\beta_{dutch(i)} + \\beta_{sex(i)}
        + \\gamma_{emp}\\,(e_m - \\bar e) + \\gamma_{urb}\\,(3 - u_m)
        + \\delta_{tert}\\,[edu(i)=tertiary]\\,(3 - u_m)
        + \\delta_{skill}\\,[work(i)=skilled]\\,(e_m - \\bar e)

with :math:`e_m` the municipal employment rate (percent) and :math:`u_m` the urbanity class
(1 very urban ... 5 rural). The first line is the *person* part, the rest the *regional*
part; both are reported. Members under 18 and over 64 have :math:`p = 0`.

A household's score is either the expected number of employed members
(``sum``, as Annie MOORE) or the probability that at least one member works
(``at_least_one``, as GeoMatch). The coefficients are parameters, not estimates from
microdata (none are published per region): they are set so that about 30% of adults work
after some years, as in the CBS cohort figures, and so that an adult's chance is about
1.35 times higher at 76% municipal employment than at 58% (urbanity adds to that), in the
range of CPB's finding that the best labour-market regions give about 1.5 times the chance
of the weakest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asielplan.data.schemas import (
    AGE_BANDS,
    DUTCH_LEVELS,
    EDUCATION_LEVELS,
    SEXES,
    WORK_EXPERIENCE_LEVELS,
)

if TYPE_CHECKING:
    from asielplan.data.instance import Instance


@dataclass(frozen=True)
class LabourModel:
    """Coefficients of the logistic member model (log-odds units)."""

    intercept: float = -0.95
    age: dict[str, float] = field(
        default_factory=lambda: {
            "18-24": 0.10,
            "25-34": 0.30,
            "35-44": 0.15,
            "45-54": -0.25,
            "55-64": -0.90,
        }
    )
    education: dict[str, float] = field(
        default_factory=lambda: {
            "none": -0.50,
            "primary": -0.20,
            "secondary": 0.15,
            "tertiary": 0.45,
        }
    )
    work_experience: dict[str, float] = field(
        default_factory=lambda: {"none": -0.30, "some": 0.10, "skilled": 0.40}
    )
    dutch: dict[str, float] = field(
        default_factory=lambda: {"A0": -0.40, "A1": -0.10, "A2": 0.20, "B1": 0.55}
    )
    sex: dict[str, float] = field(default_factory=lambda: {"M": 0.25, "F": -0.25, "X": 0.0})
    employment_rate_mean: float = 67.0
    gamma_employment: float = 0.022  # per percentage point of municipal employment
    gamma_urbanity: float = 0.03  # per urbanity class more urban than 3
    delta_tertiary_urban: float = 0.12  # tertiary education pays more in cities
    delta_skilled_employment: float = 0.02  # skilled work pays more in strong markets

    def __post_init__(self) -> None:
        for name, levels, table in (
            ("age", AGE_BANDS[1:-1], self.age),
            ("education", EDUCATION_LEVELS, self.education),
            ("work_experience", WORK_EXPERIENCE_LEVELS, self.work_experience),
            ("dutch", DUTCH_LEVELS, self.dutch),
            ("sex", SEXES, self.sex),
        ):
            missing = set(levels) - set(table)
            if missing:
                raise ValueError(f"LabourModel.{name} lacks levels {sorted(missing)}")


DEFAULT_MODEL = LabourModel()
WORKING_AGE = set(AGE_BANDS[1:-1])  # 18-24 .. 55-64

# The model's terms in an identified form (the form a fit estimates): every factor has a
# reference level (the first of its schema order) folded into the intercept.
FACTORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (term prefix, members column, levels)
    ("age", "age_band", AGE_BANDS[1:-1]),
    ("education", "education", EDUCATION_LEVELS),
    ("work_experience", "work_experience", WORK_EXPERIENCE_LEVELS),
    ("dutch", "dutch_level", DUTCH_LEVELS),
    ("sex", "sex", SEXES),
)
REGIONAL_TERMS = (
    "employment_rate",  # gamma_employment: per percentage point above the mean
    "urbanity",  # gamma_urbanity: per class more urban than 3
    "tertiary_x_urbanity",  # delta_tertiary_urban
    "skilled_x_employment_rate",  # delta_skilled_employment
)
TERMS: tuple[str, ...] = (
    "intercept",
    *(f"{prefix}[{level}]" for prefix, _, levels in FACTORS for level in levels[1:]),
    *REGIONAL_TERMS,
)
_REGIONAL_FIELDS = (
    "gamma_employment",
    "gamma_urbanity",
    "delta_tertiary_urban",
    "delta_skilled_employment",
)


def model_terms(model: LabourModel) -> dict[str, float]:
    """The model's coefficients as :data:`TERMS` (reference levels folded into the
    intercept): the same probabilities, one value per identified term."""
    out = {"intercept": model.intercept}
    for prefix, _, levels in FACTORS:
        table = getattr(model, prefix)
        out["intercept"] += table[levels[0]]
        for level in levels[1:]:
            out[f"{prefix}[{level}]"] = table[level] - table[levels[0]]
    for term, name in zip(REGIONAL_TERMS, _REGIONAL_FIELDS, strict=True):
        out[term] = getattr(model, name)
    return {term: float(out[term]) for term in TERMS}


def term_problems(terms: dict[str, float]) -> list[str]:
    """What keeps ``terms`` from being a model: unknown and missing terms."""
    unknown = sorted(set(terms) - set(TERMS))
    missing = [term for term in TERMS if term not in terms]
    problems = []
    if unknown:
        problems.append(f"unknown terms {', '.join(unknown)} (known: {', '.join(TERMS)})")
    if missing:
        problems.append(f"missing terms {', '.join(missing)}")
    return problems


def model_from_terms(terms: dict[str, float]) -> LabourModel:
    """The model with coefficients ``terms`` (every one of :data:`TERMS`); the reference
    levels are 0. Raises ValueError naming unknown and missing terms."""
    problems = term_problems(terms)
    if problems:
        raise ValueError("; ".join(problems))
    tables: dict[str, object] = {}
    for prefix, _, levels in FACTORS:
        tables[prefix] = {
            levels[0]: 0.0,
            **{lv: float(terms[f"{prefix}[{lv}]"]) for lv in levels[1:]},
        }
    regional = {
        name: float(terms[term])
        for term, name in zip(REGIONAL_TERMS, _REGIONAL_FIELDS, strict=True)
    }
    return LabourModel(intercept=float(terms["intercept"]), **tables, **regional)  # type: ignore[arg-type]


def labour_model(coefficients: dict[str, float]) -> LabourModel:
    """The run's labour model: the configuration's coefficients (``[labour]``), or the
    built-in :data:`DEFAULT_MODEL` when it gives none."""
    return model_from_terms(coefficients) if coefficients else DEFAULT_MODEL


def design_matrix(
    people: pd.DataFrame, centre: float = DEFAULT_MODEL.employment_rate_mean
) -> np.ndarray:
    """One row per person (columns age_band, education, work_experience, dutch_level, sex,
    employment_rate, urbanity: the person's and the municipality's features), one column
    per term of :data:`TERMS`: ``design_matrix(x) @ coefficients`` is the log-odds of
    :func:`member_probabilities` (``centre``: the model's ``employment_rate_mean``)."""
    columns = [np.ones(len(people))]
    for _, column, levels in FACTORS:
        values = people[column].to_numpy()
        columns += [(values == level).astype(float) for level in levels[1:]]
    emp = people["employment_rate"].to_numpy(dtype=float) - centre
    urb = 3.0 - people["urbanity"].to_numpy(dtype=float)
    tertiary = (people["education"] == "tertiary").to_numpy(dtype=float)
    skilled = (people["work_experience"] == "skilled").to_numpy(dtype=float)
    columns += [emp, urb, tertiary * urb, skilled * emp]
    return np.column_stack(columns)


def _municipal_features(
    municipalities: pd.DataFrame, model: LabourModel
) -> tuple[np.ndarray, np.ndarray]:
    """Centred employment rate and urbanity term (3 - u) per municipality.

    Municipalities without the columns get the national mean (no regional effect).
    """
    n = len(municipalities)
    if "employment_rate" in municipalities:
        emp = municipalities["employment_rate"].to_numpy(dtype=float) - model.employment_rate_mean
    else:
        emp = np.zeros(n)
    if "urbanity" in municipalities:
        urb = 3.0 - municipalities["urbanity"].to_numpy(dtype=float)
    else:
        urb = np.zeros(n)
    return np.nan_to_num(emp), np.nan_to_num(urb)


def person_terms(members: pd.DataFrame, model: LabourModel) -> pd.DataFrame:
    """Log-odds contribution of each person feature, one row per member.

    Columns: ``intercept, age, education, work_experience, dutch, sex, person_logit`` and
    ``in_labour_force`` (18-64).
    """
    terms = pd.DataFrame(
        {
            "intercept": model.intercept,
            "age": members["age_band"].map(model.age).fillna(0.0),
            "education": members["education"].map(model.education),
            "work_experience": members["work_experience"].map(model.work_experience),
            "dutch": members["dutch_level"].map(model.dutch),
            "sex": members["sex"].map(model.sex),
        },
        index=members.index,
    ).astype(float)
    terms["person_logit"] = terms.sum(axis=1)
    terms["in_labour_force"] = members["age_band"].isin(WORKING_AGE).to_numpy()
    return terms


def _probability(
    person_logit: np.ndarray,
    tertiary: np.ndarray,
    skilled: np.ndarray,
    emp: np.ndarray,
    urb: np.ndarray,
    in_force: np.ndarray,
    model: LabourModel,
) -> np.ndarray:
    """The logistic model, broadcasting member arrays against municipality arrays."""
    logit = (
        person_logit
        + model.gamma_employment * emp
        + model.gamma_urbanity * urb
        + model.delta_tertiary_urban * tertiary * urb
        + model.delta_skilled_employment * skilled * emp
    )
    return np.where(in_force, 1.0 / (1.0 + np.exp(-logit)), 0.0)


def _member_arrays(members: pd.DataFrame, model: LabourModel) -> tuple[np.ndarray, ...]:
    terms = person_terms(members, model)
    return (
        terms["person_logit"].to_numpy(),
        (members["education"] == "tertiary").to_numpy(dtype=float),
        (members["work_experience"] == "skilled").to_numpy(dtype=float),
        terms["in_labour_force"].to_numpy(dtype=bool),
    )


def member_probabilities(
    members: pd.DataFrame, municipalities: pd.DataFrame, model: LabourModel
) -> np.ndarray:
    """Employment probability of every member in every municipality (members x municipalities)."""
    logit, tertiary, skilled, in_force = _member_arrays(members, model)
    emp, urb = _municipal_features(municipalities, model)
    return _probability(
        logit[:, None],
        tertiary[:, None],
        skilled[:, None],
        emp[None, :],
        urb[None, :],
        in_force[:, None],
        model,
    )


def member_probabilities_at(
    members: pd.DataFrame,
    municipalities: pd.DataFrame,
    where: np.ndarray,
    model: LabourModel,
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's probability in municipality ``where[i]`` (row index; -1 = none) and in
    an average municipality (no regional effect): the person part of the score."""
    logit, tertiary, skilled, in_force = _member_arrays(members, model)
    emp, urb = _municipal_features(municipalities, model)
    idx = np.maximum(where, 0)
    placed = where >= 0
    at = _probability(logit, tertiary, skilled, emp[idx], urb[idx], in_force & placed, model)
    zero = np.zeros(len(members))
    average = _probability(logit, tertiary, skilled, zero, zero, in_force, model)
    return at, average


def aggregate(
    household_of: np.ndarray, p: np.ndarray, n_households: int, aggregation: str
) -> np.ndarray:
    """Household scores from member probabilities (``sum`` or ``at_least_one``)."""
    out = np.zeros((n_households, *p.shape[1:]))
    if aggregation == "sum":
        np.add.at(out, household_of, p)
        return out
    if aggregation == "at_least_one":
        np.add.at(out, household_of, np.log1p(-np.minimum(p, 1 - 1e-12)))
        return -np.expm1(out)
    raise ValueError(f"unknown aggregation {aggregation!r}: use 'sum' or 'at_least_one'")


def outcome_probabilities(
    members: pd.DataFrame,
    municipalities: pd.DataFrame,
    predictions: pd.DataFrame | None,
    model: LabourModel,
) -> np.ndarray:
    """The one model of labour outcomes a run uses: every member's employment
    probability in every municipality (members x municipalities), from the user's
    ``predictions`` table when given (checked: a row for every member aged 18-64 in every
    municipality; a member outside 18-64 without rows counts 0, as in the built-in model),
    else from the built-in model. Scores, group outcomes, floors and explanations all
    read it."""
    if predictions is None:
        return member_probabilities(members, municipalities, model)
    member_row = pd.Series(
        np.arange(len(members)),
        index=pd.MultiIndex.from_arrays(
            [members["household_id"].to_numpy(), members["member"].to_numpy(dtype=np.int64)]
        ),
    )
    code_row = pd.Series(np.arange(len(municipalities)), index=municipalities["code"].to_numpy())
    keys = pd.MultiIndex.from_arrays(
        [predictions["household_id"].to_numpy(), predictions["member"].to_numpy(dtype=np.int64)]
    )
    p = np.zeros((len(members), len(municipalities)))
    p[
        member_row.reindex(keys).to_numpy(dtype=np.int64),
        code_row.reindex(predictions["municipality"].to_numpy()).to_numpy(dtype=np.int64),
    ] = predictions["probability"].to_numpy(dtype=float)
    return p


NO_MEMBER_OUTCOMES = (
    "the scores table scores households, not members, so group outcomes (women, men, "
    "household sizes, age bands) cannot be computed from the run's model; give a "
    "predictions table (a probability per member and municipality) instead"
)


def run_probabilities(inst: Instance, model: LabourModel) -> np.ndarray | None:
    """:func:`outcome_probabilities` of an instance, or None when its run has no
    members' outcomes: no members table, or a scores table (household scores: the
    built-in model's members' outcomes would be another model; see
    :data:`NO_MEMBER_OUTCOMES`)."""
    if inst.members is None or inst.scores is not None:
        return None
    return outcome_probabilities(inst.members, inst.municipalities, inst.predictions, model)


def household_scores(
    households: pd.DataFrame, members: pd.DataFrame, p: np.ndarray, aggregation: str = "sum"
) -> np.ndarray:
    """Labour score of every household in every municipality (households x
    municipalities) from the members' probabilities ``p`` (:func:`outcome_probabilities`).

    ``aggregation='sum'``: expected employed members; ``'at_least_one'``: probability that
    at least one member works, :math:`1 - \\prod_i (1 - p_{im})`.
    """
    return aggregate(household_rows(households, members), p, len(households), aggregation)


def household_rows(households: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Row of each member's household in ``households``."""
    position = pd.Series(np.arange(len(households)), index=households["household_id"].to_numpy())
    return position.reindex(members["household_id"].to_numpy()).to_numpy()


def explain(
    household_id: str,
    municipality: str,
    members: pd.DataFrame,
    municipalities: pd.DataFrame,
    model: LabourModel,
) -> pd.DataFrame:
    """Every term behind one household's score in one municipality, one row per member.

    The log-odds columns add up to ``logit``; ``p`` is the member's probability.
    """
    mem = members[members["household_id"] == household_id].reset_index(drop=True)
    muni = municipalities[municipalities["code"] == municipality].reset_index(drop=True)
    if mem.empty or muni.empty:
        raise KeyError(f"unknown household {household_id!r} or municipality {municipality!r}")
    terms = person_terms(mem, model)
    emp, urb = _municipal_features(muni, model)
    terms["region_employment"] = model.gamma_employment * emp[0]
    terms["region_urbanity"] = model.gamma_urbanity * urb[0]
    terms["tertiary_x_urban"] = (
        model.delta_tertiary_urban * (mem["education"] == "tertiary").astype(float) * urb[0]
    )
    terms["skilled_x_employment"] = (
        model.delta_skilled_employment
        * (mem["work_experience"] == "skilled").astype(float)
        * emp[0]
    )
    regional = ["region_employment", "region_urbanity", "tertiary_x_urban", "skilled_x_employment"]
    terms["logit"] = terms["person_logit"] + terms[regional].sum(axis=1)
    terms["p"] = np.where(terms["in_labour_force"], 1 / (1 + np.exp(-terms["logit"])), 0.0)
    terms.insert(0, "member", mem["member"].to_numpy())
    terms.insert(0, "household_id", household_id)
    return terms
