"""The audit of a fitted labour model: calibration, discrimination, the same per group,
the groups' calibration gaps per region, and what the two household scores do to
women and to large households (docs/labour.md). Every figure is computed on the fit's
cross-fitted predictions; cells of fewer than ``min_cell`` adults are blanked.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.stats import norm

from asielplan.model.labour import aggregate, household_rows, member_probabilities
from asielplan.model.labour_fit import LabourFit, log_loss

DECILES = 10
SEX_LABELS = {"F": "women", "M": "men", "X": "X"}
SIZE_BANDS = ((1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 10_000, "5+"))
ALPHA = 0.05
ALL = "all"


def wilson(
    successes: np.ndarray, n: np.ndarray, z: float = 1.959963984540054
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a share (``successes`` of ``n``), elementwise."""
    n = np.asarray(n, dtype=float)
    share = np.divide(successes, n, out=np.full_like(n, np.nan), where=n > 0)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (the chance a random employed adult has the higher
    probability than a random adult without work; ties count half); NaN with one class."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def groups_of(history: pd.DataFrame, extra: tuple[str, ...] = ()) -> dict[str, pd.Series]:
    """The audit's groups, each a label per adult: sex (women, men), household size,
    age band, one-adult households, and the ``extra`` columns of the history."""
    size = history["household_persons"].to_numpy()
    size_band = np.select(
        [(size >= lo) & (size <= hi) for lo, hi, _ in SIZE_BANDS],
        [label for _, _, label in SIZE_BANDS],
        default="",
    )
    out = {
        "sex": history["sex"].map(SEX_LABELS),
        "household_size": pd.Series(size_band, index=history.index),
        "age_band": history["age_band"].astype(str),
        "one_adult": pd.Series(
            np.where(history["household_adults"] == 1, "one adult", "two or more adults"),
            index=history.index,
        ),
    }
    for column in extra:
        out[column] = history[column].astype(str)
    return out


def _cells(history: pd.DataFrame, labels: pd.Series) -> Iterator[tuple[str, str, np.ndarray]]:
    """(region, level, rows) of every level of ``labels``, over all regions and per
    region of the history (when it has the column)."""
    regions = [ALL]
    if "region" in history:
        regions += sorted(history["region"].astype(str).unique())
    for region in regions:
        inside = (
            np.ones(len(history), dtype=bool)
            if region == ALL
            else (history["region"].astype(str) == region).to_numpy()
        )
        for level in sorted(labels.unique()):
            yield region, level, inside & (labels == level).to_numpy()


def _shares(y: np.ndarray, p: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    n = int(rows.sum())
    employed = float(y[rows].sum())
    lower, upper = wilson(np.array([employed]), np.array([n]))
    predicted = float(p[rows].mean()) if n else float("nan")
    observed = employed / n if n else float("nan")
    return {
        "adults": n,
        "predicted": predicted,
        "observed": observed,
        "observed_lower": float(lower[0]),
        "observed_upper": float(upper[0]),
        "gap": observed - predicted,
    }


def _blank(table: pd.DataFrame, min_cell: int, count: str = "adults") -> pd.DataFrame:
    """Blank the values of rows of fewer than ``min_cell`` adults; say which."""
    small = (table[count] < min_cell).to_numpy()
    out = table.copy()
    for column in table.columns:
        values = table[column]
        if column == count:
            continue
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(object).where(~small, None)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype(float).where(~small, np.nan)
    out["suppressed"] = small
    return out


def calibration_table(history: pd.DataFrame, fit: LabourFit, min_cell: int) -> pd.DataFrame:
    """Predicted against observed employment by decile of the prediction, by region (when
    the history has one) and by urbanity class."""
    y = history["employed"].to_numpy(dtype=float)
    p = fit.predicted
    rows = []
    decile = pd.qcut(pd.Series(p).rank(method="first"), DECILES, labels=False).to_numpy()
    for k in range(DECILES):
        rows.append({"basis": "decile", "bin": str(k + 1), **_shares(y, p, decile == k)})
    if "region" in history:
        region = history["region"].astype(str).to_numpy()
        for value in sorted(set(region)):
            rows.append({"basis": "region", "bin": value, **_shares(y, p, region == value)})
    urbanity = history["urbanity"].to_numpy()
    for value in sorted(set(urbanity.tolist())):
        rows.append({"basis": "urbanity", "bin": str(value), **_shares(y, p, urbanity == value)})
    table = pd.DataFrame(rows)
    table["within"] = (table["observed_lower"] <= table["predicted"]) & (
        table["predicted"] <= table["observed_upper"]
    )
    return _blank(table, min_cell)


def audit_table(
    history: pd.DataFrame, fit: LabourFit, groups: dict[str, pd.Series], min_cell: int
) -> pd.DataFrame:
    """Calibration and discrimination per group level, over all and per region."""
    y = history["employed"].to_numpy(dtype=float)
    p = fit.predicted
    rows = []
    for group, labels in groups.items():
        for region, level, inside in _cells(history, labels):
            if not inside.any():
                continue
            rows.append(
                {
                    "group": group,
                    "level": level,
                    "region": region,
                    **_shares(y, p, inside),
                    "auc": auc(y[inside], p[inside]),
                }
            )
    return _blank(pd.DataFrame(rows), min_cell)


def gap_table(
    history: pd.DataFrame, fit: LabourFit, groups: dict[str, pd.Series], min_cell: int
) -> pd.DataFrame:
    """The gap between groups' calibration: per group, region and level, the level's
    (observed - predicted) minus the reference level's (the group's largest), with a 95%
    interval widened for the number of comparisons of the table (Bonferroni). A
    difference whose interval excludes 0 is ``flagged``: the model is calibrated for one
    group and not for the other there."""
    y = history["employed"].to_numpy(dtype=float)
    p = fit.predicted
    rows = []
    for group, labels in groups.items():
        reference = str(labels.value_counts().sort_index().idxmax())
        by_region: dict[str, dict[str, np.ndarray]] = {}
        for region, level, inside in _cells(history, labels):
            by_region.setdefault(region, {})[level] = inside
        for region, levels in by_region.items():
            base = levels.get(reference)
            if base is None or not base.any():
                continue
            for level, inside in levels.items():
                if level == reference or not inside.any():
                    continue
                gap = (y[inside] - p[inside]).mean() - (y[base] - p[base]).mean()
                variance = (p[inside] * (1 - p[inside])).sum() / inside.sum() ** 2 + (
                    p[base] * (1 - p[base])
                ).sum() / base.sum() ** 2
                rows.append(
                    {
                        "group": group,
                        "level": level,
                        "reference": reference,
                        "region": region,
                        "adults": int(min(inside.sum(), base.sum())),
                        "gap_difference": float(gap),
                        "standard_error": float(np.sqrt(variance)),
                    }
                )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    z = float(norm.ppf(1 - ALPHA / (2 * len(table))))
    table["lower"] = table["gap_difference"] - z * table["standard_error"]
    table["upper"] = table["gap_difference"] + z * table["standard_error"]
    table["flagged"] = (table["lower"] > 0) | (table["upper"] < 0)
    table = table.drop(columns="standard_error")
    return _blank(table, min_cell)


def score_gain_table(
    history: pd.DataFrame, fit: LabourFit, groups: dict[str, pd.Series], min_cell: int
) -> pd.DataFrame:
    """What each household score does to each group: every household of the history
    goes where its score (``sum``: expected employed adults, Annie MOORE; or
    ``at_least_one``: the chance that someone works, GeoMatch) is highest among the
    history's municipalities; an adult's gain is its probability there minus its mean
    over them (a placement at random). Per group level: its adults, their share, their
    gain and their share of the gain."""
    municipalities = (
        history.groupby("municipality", sort=True)
        .agg(employment_rate=("employment_rate", "mean"), urbanity=("urbanity", "median"))
        .reset_index()
        .rename(columns={"municipality": "code"})
    )
    households = pd.DataFrame({"household_id": history["household_id"].unique()})
    p = member_probabilities(history, municipalities, fit.model)
    rows_of = household_rows(households, history)
    mean = p.mean(axis=1)
    out = []
    for aggregation in ("sum", "at_least_one"):
        score = aggregate(rows_of, p, len(households), aggregation)
        best = score.argmax(axis=1)[rows_of]
        gain = p[np.arange(len(history)), best] - mean
        total = gain.sum()
        for group, labels in groups.items():
            if group not in ("sex", "household_size", "one_adult"):
                continue
            for level in sorted(labels.unique()):
                inside = (labels == level).to_numpy()
                out.append(
                    {
                        "aggregation": aggregation,
                        "group": group,
                        "level": level,
                        "adults": int(inside.sum()),
                        "share_of_adults": inside.mean(),
                        "gain": float(gain[inside].sum()),
                        "share_of_gain": float(gain[inside].sum() / total) if total else np.nan,
                    }
                )
    return _blank(pd.DataFrame(out), min_cell)


def performance_table(history: pd.DataFrame, fit: LabourFit) -> pd.DataFrame:
    """Overall figures of the cross-fitted predictions, one row per measure."""
    y = history["employed"].to_numpy(dtype=float)
    p = fit.predicted
    rows = [
        ("adults", float(len(y)), "adults in the history"),
        ("employed_share", float(y.mean()), "share of them employed at the observation"),
        ("predicted_share", float(p.mean()), "mean cross-fitted probability"),
        ("log_loss", log_loss(y, p), "mean negative log-likelihood (lower is better)"),
        ("brier", float(np.mean((p - y) ** 2)), "mean squared error of the probability"),
        ("auc", auc(y, p), "area under the ROC curve (0.5 is chance)"),
        ("folds", float(fit.folds), "folds of the cross-fitting"),
    ]
    return pd.DataFrame(rows, columns=["measure", "value", "meaning"])
