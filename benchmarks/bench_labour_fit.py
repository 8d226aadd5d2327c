"""Fitting the labour model (issue 32's bar): recovery of known coefficients and
calibration on synthetic histories of 20,000 adults (seeds 1-5), and the seconds a fit of
100,000 adults takes, with and without --compare.

    python benchmarks/bench_labour_fit.py [--large 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from asielplan.data.generator import synthetic_municipalities
from asielplan.experiments import labour_audit as audit
from asielplan.experiments.labour_card import recovered_share
from asielplan.model.labour import TERMS, design_matrix
from asielplan.model.labour_fit import fit_history, synthetic_history


def truth_gap(history: pd.DataFrame, truth: pd.DataFrame, predicted: np.ndarray) -> float:
    """Largest gap per decile between the fit's mean probability and the true one."""
    beta = truth.set_index("term")["value"].reindex(list(TERMS)).to_numpy()
    true = 1 / (1 + np.exp(-(design_matrix(history) @ beta)))
    decile = pd.qcut(pd.Series(predicted).rank(method="first"), 10, labels=False)
    by = pd.DataFrame({"fit": predicted, "true": true, "d": decile}).groupby("d").mean()
    return float((by["fit"] - by["true"]).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    municipalities = synthetic_municipalities(40, 1)
    print("adults  seed  in_interval  max_decile_gap_observed  max_decile_gap_truth  seconds")
    shares = []
    for seed in range(1, 6):
        history, truth = synthetic_history(municipalities, 20_000, seed)
        start = time.perf_counter()
        fit = fit_history(history, seed=seed, truth=truth)
        seconds = time.perf_counter() - start
        calibration = audit.calibration_table(history, fit, 5)
        observed = calibration.loc[calibration["basis"] == "decile", "gap"].abs().max()
        shares.append(recovered_share(fit.coefficients))
        print(
            f"{20_000:6,}  {seed:4}  {shares[-1]:11.1%}  {observed:23.2%}  "
            f"{truth_gap(history, truth, fit.predicted):20.2%}  {seconds:7.2f}"
        )
    print(f"pooled share of true coefficients in their 95% interval: {np.mean(shares):.1%}")
    history, truth = synthetic_history(municipalities, args.large, 11)
    for compare in (False, True):
        start = time.perf_counter()
        fit = fit_history(history, seed=0, compare=compare, truth=truth)
        seconds = time.perf_counter() - start
        print(
            f"{args.large:,} adults, compare={compare}: fit and 5-fold cross-fitting "
            f"{seconds:.1f} s, {recovered_share(fit.coefficients):.0%} in interval"
        )
    start = time.perf_counter()
    groups = audit.groups_of(history)
    audit.calibration_table(history, fit, 5)
    audit.performance_table(history, fit)
    audit.audit_table(history, fit, groups, 5)
    audit.gap_table(history, fit, groups, 5)
    audit.score_gain_table(history, fit, groups, 5)
    print(f"{args.large:,} adults: the audit's tables {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
