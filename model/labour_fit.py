"""Fitting the labour model (:mod:`asielplan.model.labour`) to a history of outcomes.

The fit estimates the model's own terms (:data:`~asielplan.model.labour.TERMS`) by
maximum likelihood (statsmodels' logit), with Wald standard errors and 95% intervals.
Every figure of the audit is computed on *cross-fitted* predictions: each adult's
probability comes from the model fitted on the other folds, so calibration and
discrimination are out of sample. With ``compare`` an L2-regularised logit (its
penalty chosen by inner cross-validation) and a gradient-boosted classifier are scored
on the same folds; the coefficients come from the form with the lower cross-validated
log loss among the two the placement can use (the logits); the boosted trees are a
yardstick of what the model's fixed form leaves out.

A synthetic history (:func:`synthetic_history`) draws outcomes from a known model, so
that a fit can be checked against the truth.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from asielplan.data.generator import generate_households, generate_sites
from asielplan.data.schemas import WORKING_AGE
from asielplan.model.labour import (
    DEFAULT_MODEL,
    FACTORS,
    TERMS,
    LabourModel,
    design_matrix,
    model_from_terms,
    model_terms,
)

Z95 = 1.959963984540054
MAXIMUM_LIKELIHOOD = "maximum likelihood"
USABLE = (MAXIMUM_LIKELIHOOD, "l2")  # the forms the placement can use (the model's terms)
HISTORY_FIRST_YEAR, HISTORY_LAST_YEAR = 2016, 2022
MONTHS_RANGE = (12, 60)
REGION_COLUMN = "amr"  # the region a synthetic history records, when the instance has it


class FitError(ValueError):
    """The history cannot be fitted (no variation in the outcome, a singular design)."""


def _probability(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def synthetic_history(
    municipalities: pd.DataFrame, adults: int, seed: int, model: LabourModel = DEFAULT_MODEL
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``adults`` adults (18-64) of synthetic households placed in ``municipalities``
    (each household in one, drawn in proportion to population) with outcomes drawn from
    ``model``; and the truth: the model's coefficients by term (``term, value``)."""
    for column in ("employment_rate", "urbanity", "population"):
        if column not in municipalities:
            raise ValueError(f"a synthetic history needs municipalities.{column}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4A15]))
    sites = generate_sites(municipalities, seed)
    households = max(16, int(adults * 0.75) + 16)
    while True:
        hh, members = generate_households(municipalities, sites, households, seed)
        working = members[members["age_band"].isin(WORKING_AGE)]
        if len(working) >= adults:
            break
        households *= 2
    working = working.iloc[:adults].reset_index(drop=True)
    hh = hh.set_index("household_id")
    population = municipalities["population"].to_numpy(dtype=float)
    where = rng.choice(len(municipalities), size=len(hh), p=population / population.sum())
    place = pd.Series(where, index=hh.index)[working["household_id"]].to_numpy()
    muni = municipalities.iloc[place].reset_index(drop=True)
    history = pd.DataFrame(
        {
            "person_id": working["household_id"] + "-" + working["member"].astype(str),
            "household_id": working["household_id"],
            "household_persons": hh.loc[working["household_id"], "persons"].to_numpy(),
            "household_adults": hh.loc[working["household_id"], "adults"].to_numpy(),
            "sex": working["sex"],
            "age_band": working["age_band"],
            "education": working["education"],
            "work_experience": working["work_experience"],
            "dutch_level": working["dutch_level"],
            "municipality": muni["code"].to_numpy(),
            "employment_rate": muni["employment_rate"].to_numpy(dtype=float),
            "urbanity": muni["urbanity"].to_numpy(dtype=np.int64),
        }
    )
    if REGION_COLUMN in muni:
        history["region"] = muni[REGION_COLUMN].astype(str).to_numpy()
    placed_in = rng.integers(HISTORY_FIRST_YEAR, HISTORY_LAST_YEAR + 1, size=len(hh))
    history["placed_in"] = pd.Series(placed_in, index=hh.index)[working["household_id"]].to_numpy()
    history["months"] = rng.integers(MONTHS_RANGE[0], MONTHS_RANGE[1] + 1, size=len(history))
    truth = model_terms(model)
    beta = np.array([truth[term] for term in TERMS])
    p = _probability(design_matrix(history, model.employment_rate_mean) @ beta)
    history["employed"] = (rng.random(len(history)) < p).astype(np.int64)
    truth_table = pd.DataFrame({"term": list(TERMS), "value": beta})
    return history, truth_table


@dataclass
class LabourFit:
    """A fitted labour model and how it was found.

    ``coefficients``: one row per term (estimate, std_error, lower, upper, identified;
    ``true`` and ``true_in_interval`` with a truth). ``predicted``: each adult's
    cross-fitted probability (from the fit on the other folds). ``comparison``: the
    forms' cross-validated log loss (with ``compare``)."""

    method: str
    coefficients: pd.DataFrame
    model: LabourModel
    predicted: np.ndarray
    comparison: pd.DataFrame | None
    folds: int
    seed: int


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of outcomes ``y`` (0/1) under probabilities ``p``."""
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log1p(-q)))


def fold_of(n: int, folds: int, seed: int) -> np.ndarray:
    """The fold (0 .. folds-1) of each of ``n`` rows: a seeded shuffle, cut evenly."""
    order = np.random.default_rng(np.random.SeedSequence([seed, 0xF01D])).permutation(n)
    fold = np.empty(n, dtype=np.int64)
    for k, part in enumerate(np.array_split(order, folds)):
        fold[part] = k
    return fold


def _identified(x: np.ndarray) -> np.ndarray:
    """Columns the history can estimate: the intercept, and every other column that
    varies (a level no one has, or a regional term that never changes, cannot be)."""
    varies = x.std(axis=0) > 0
    varies[0] = True
    return varies


def _logit(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum likelihood of a logit: coefficients and their standard errors."""
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and convergence are checked below
        try:
            result = sm.Logit(y, x).fit(method="newton", maxiter=100, disp=False)
        except np.linalg.LinAlgError:
            raise FitError(
                "the design is singular: some terms cannot be told apart in this history"
            ) from None
    if not result.mle_retvals.get("converged", False):
        raise FitError("the likelihood did not converge (a term separates the outcomes)")
    se = np.asarray(result.bse, dtype=float)
    if not np.isfinite(se).all():
        raise FitError("standard errors are not finite: some terms cannot be told apart")
    return np.asarray(result.params, dtype=float), se


L2_STRENGTHS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)  # the inverse penalties C tried


def _l2_fitted(y: np.ndarray, x: np.ndarray, strength: float) -> np.ndarray:
    """An L2-regularised logit with inverse penalty ``strength``; the intercept (column
    0) is not penalised."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=strength, max_iter=1000).fit(x[:, 1:], y)
    return np.concatenate([model.intercept_, model.coef_[0]])


def l2_strength(y: np.ndarray, x: np.ndarray, seed: int) -> float:
    """The inverse penalty of :data:`L2_STRENGTHS` with the lowest log loss in a 3-fold
    cross-validation on the whole history (chosen once, then used in every fold)."""
    inner = fold_of(len(y), 3, seed + 1)

    def loss(strength: float) -> float:
        total = 0.0
        for k in range(3):
            beta = _l2_fitted(y[inner != k], x[inner != k], strength)
            total += log_loss(y[inner == k], _probability(x[inner == k] @ beta))
        return total

    return min(L2_STRENGTHS, key=loss)


def _better(y: np.ndarray, challenger: np.ndarray, incumbent: np.ndarray) -> bool:
    """Whether predictions ``challenger`` have a lower log loss than ``incumbent`` by more
    than one standard error of the paired per-adult difference."""

    def losses(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, 1e-12, 1 - 1e-12)
        return -(y * np.log(q) + (1 - y) * np.log1p(-q))

    difference = losses(incumbent) - losses(challenger)
    return bool(difference.mean() > difference.std(ddof=1) / np.sqrt(len(y)))


def _boosted_features(history: pd.DataFrame) -> np.ndarray:
    codes = [
        pd.Categorical(history[column], categories=list(levels)).codes
        for _, column, levels in FACTORS
    ]
    return np.column_stack(
        [
            *codes,
            history["employment_rate"].to_numpy(dtype=float),
            history["urbanity"].to_numpy(dtype=float),
        ]
    )


def _boosted(history: pd.DataFrame, y: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold probabilities of a gradient-boosted classifier on the same features."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = _boosted_features(history)
    categorical = [True] * len(FACTORS) + [False, False]
    model = HistGradientBoostingClassifier(
        categorical_features=categorical, random_state=seed, max_iter=200, early_stopping=False
    )
    model.fit(features[train], y[train])
    return np.asarray(model.predict_proba(features[~train])[:, 1])


def fit_history(
    history: pd.DataFrame,
    folds: int = 5,
    seed: int = 0,
    compare: bool = False,
    truth: pd.DataFrame | None = None,
) -> LabourFit:
    """Fit the labour model to ``history`` (a checked history table). Raises
    :class:`FitError` when it cannot."""
    y = history["employed"].to_numpy(dtype=float)
    if len(y) < 2 * folds or y.min() == y.max():
        raise FitError(
            f"a fit needs employed and not employed adults, and at least {2 * folds} rows "
            f"for {folds} folds ({len(y)} rows, {int(y.sum())} employed)"
        )
    centre = DEFAULT_MODEL.employment_rate_mean
    x = design_matrix(history, centre)
    used = _identified(x)
    estimate, se = np.zeros(len(TERMS)), np.full(len(TERMS), np.nan)
    estimate[used], se[used] = _logit(y, x[:, used])
    fold = fold_of(len(y), folds, seed)
    forms: dict[str, np.ndarray] = {MAXIMUM_LIKELIHOOD: np.zeros(len(y))}
    strength = 1.0
    if compare:
        forms["l2"] = np.zeros(len(y))
        forms["gradient boosting"] = np.zeros(len(y))
        strength = l2_strength(y, x[:, used], seed)
    for k in range(folds):
        test = fold == k
        train = ~test
        cols = used & _identified(x[train])
        beta = np.zeros(len(TERMS))
        try:
            beta[cols] = _logit(y[train], x[train][:, cols])[0]
        except FitError as error:
            raise FitError(
                f"fold {k + 1} of {folds}: {error}; the history is too small for some "
                "term (fewer folds, or a larger history)"
            ) from None
        forms[MAXIMUM_LIKELIHOOD][test] = _probability(x[test] @ beta)
        if compare:
            l2 = np.zeros(len(TERMS))
            l2[cols] = _l2_fitted(y[train], x[train][:, cols], strength)
            forms["l2"][test] = _probability(x[test] @ l2)
            forms["gradient boosting"][test] = _boosted(history, y, train, seed)
    losses = {name: log_loss(y, p) for name, p in forms.items()}
    # the penalised logit replaces maximum likelihood (and its standard errors) only when
    # it predicts better by more than the noise of the comparison
    better = compare and _better(y, forms["l2"], forms[MAXIMUM_LIKELIHOOD])
    method = "l2" if better else MAXIMUM_LIKELIHOOD
    if method == "l2":
        estimate = np.zeros(len(TERMS))
        estimate[used] = _l2_fitted(y, x[:, used], strength)
        se = np.full(len(TERMS), np.nan)  # a penalised fit has no Wald errors
    table = pd.DataFrame(
        {
            "term": list(TERMS),
            "estimate": estimate,
            "std_error": se,
            "lower": estimate - Z95 * se,
            "upper": estimate + Z95 * se,
            "identified": used,
        }
    )
    if truth is not None:
        true = truth.set_index("term")["value"].reindex(list(TERMS)).to_numpy(dtype=float)
        table["true"] = true
        inside = (table["lower"] <= true) & (true <= table["upper"])
        # a term the history cannot estimate, or an l2 fit, has no interval for the truth
        has = table["identified"] & table["std_error"].notna()
        table["true_in_interval"] = inside.astype(object).where(has, None)
    comparison = None
    if compare:
        comparison = pd.DataFrame(
            {
                "method": list(losses),
                "cv_log_loss": list(losses.values()),
                "usable": [name in USABLE for name in losses],
                "chosen": [name == method for name in losses],
            }
        )
        comparison["l2_strength"] = [strength if name == "l2" else np.nan for name in losses]
    model = model_from_terms(dict(zip(TERMS, estimate.tolist(), strict=True)))
    return LabourFit(method, table, model, forms[method], comparison, folds, seed)
