"""``asielplan labour fit``: fit the labour model to a history, audit it, and write its
tables, its configuration fragment and its model card (docs/labour.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.config import COEFFICIENTS_FILE, RunConfig
from asielplan.data.history import read_history
from asielplan.errors import InputError, Issue
from asielplan.experiments import labour_audit as audit
from asielplan.experiments.dictionary import share_columns
from asielplan.experiments.plots import pyplot
from asielplan.io import atomic_output_dir, atomic_write_text, check_output_dir, write_tables
from asielplan.manifest import build_manifest, input_hashes, write_manifest
from asielplan.model.labour_fit import FitError, LabourFit, fit_history

COMMAND = "labour fit"
TRUTH_SUFFIX = ".truth.csv"  # beside a synthetic history: the coefficients it was drawn from
FRAGMENT = "labour.toml"
CARD = "model_card.html"
CALIBRATION_PLOT = "calibration.png"


def truth_path(history: Path) -> Path:
    """Where a synthetic history records the model it was drawn from."""
    return history.with_name(history.stem + TRUTH_SUFFIX)


@dataclass
class LabourFitStudy:
    """A fit and its audit: ``tables`` by file name (without extension)."""

    history_path: Path
    history: pd.DataFrame
    fit: LabourFit
    tables: dict[str, pd.DataFrame]
    config: RunConfig
    groups: tuple[str, ...]
    truth: Path | None
    warnings: list[Issue] = field(default_factory=list)


def _read_truth(path: Path) -> pd.DataFrame:
    try:
        truth = pd.read_csv(path, dtype={"term": str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError([Issue(path.name, None, None, "readable", str(exc))], str(path)) from None
    if list(truth.columns) != ["term", "value"] or not pd.api.types.is_numeric_dtype(
        truth["value"]
    ):
        issue = Issue(path.name, None, None, "term,value", "a truth file has columns term, value")
        raise InputError([issue], str(path))
    return truth


def summary_table(history: pd.DataFrame, fit: LabourFit) -> pd.DataFrame:
    """The data and the overall performance, one row per measure: what the card says
    about the history and the fit."""
    rows = [
        ("households", float(history["household_id"].nunique()), "households in the history"),
        ("municipalities", float(history["municipality"].nunique()), "municipalities placed in"),
        ("months_min", float(history["months"].min()), "fewest months placement-outcome"),
        ("months_max", float(history["months"].max()), "most months placement-outcome"),
    ]
    if "placed_in" in history:
        rows += [
            ("first_year", float(history["placed_in"].min()), "first year of placement"),
            ("last_year", float(history["placed_in"].max()), "last year of placement"),
        ]
    own = pd.DataFrame(rows, columns=["measure", "value", "meaning"])
    return pd.concat([audit.performance_table(history, fit), own], ignore_index=True)


def fit_labour(
    history: str | Path,
    config: RunConfig | None = None,
    folds: int = 5,
    seed: int = 0,
    compare: bool = False,
    groups: tuple[str, ...] = (),
) -> LabourFitStudy:
    """Fit the labour model to the history file and audit it (cells of fewer than
    ``config.output.min_cell`` adults blanked). :class:`InputError` for a history that
    breaks a rule or cannot be fitted."""
    config = config or RunConfig()
    path = Path(history)
    frame, warnings = read_history(path, groups)
    truth_file = truth_path(path)
    truth = _read_truth(truth_file) if truth_file.is_file() else None
    try:
        fit = fit_history(frame, folds=folds, seed=seed, compare=compare, truth=truth)
    except FitError as error:
        issue = Issue(path.name, None, None, "can be fitted", str(error))
        raise InputError([issue], str(path)) from None
    labels = audit.groups_of(frame, groups)
    cell = config.output.min_cell
    tables = {"coefficients": fit.coefficients}
    if fit.comparison is not None:
        tables["model_comparison"] = fit.comparison
    tables |= {
        "summary": summary_table(frame, fit),
        "calibration": audit.calibration_table(frame, fit, cell),
        "audit": audit.audit_table(frame, fit, labels, cell),
        "group_gaps": audit.gap_table(frame, fit, labels, cell),
        "score_gains": audit.score_gain_table(frame, fit, labels, cell),
    }
    return LabourFitStudy(
        path,
        frame,
        fit,
        tables,
        config,
        groups,
        truth_file if truth is not None else None,
        warnings,
    )


def plot_calibration(calibration: pd.DataFrame, path: Path) -> None:
    """Observed against predicted employment per decile, with the observed share's 95%
    interval, on the diagonal of perfect calibration."""
    plt = pyplot()
    deciles = calibration[(calibration["basis"] == "decile") & ~calibration["suppressed"]]
    fig, ax = plt.subplots(figsize=(5, 5))
    top = float(max(deciles["observed_upper"].max(), deciles["predicted"].max(), 0.1)) * 1.05
    ax.plot([0, top], [0, top], color="#999", lw=1, label="perfect calibration")
    ax.errorbar(
        deciles["predicted"],
        deciles["observed"],
        yerr=[
            deciles["observed"] - deciles["observed_lower"],
            deciles["observed_upper"] - deciles["observed"],
        ],
        fmt="o",
        color="#1f5f8b",
        capsize=3,
        label="decile (95% interval)",
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted employment (cross-fitted)")
    ax.set_ylabel("observed employment")
    ax.set_title("Calibration per decile")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def fragment_text(sha256: str) -> str:
    """The configuration fragment that makes a run use this fit: its folder (``.``, the
    fragment's own) pinned by the SHA-256 of its coefficients."""
    return (
        "# The labour model of `asielplan labour fit`: give this file as --config, or copy\n"
        "# the section into a configuration with model = the path of this folder.\n"
        "[labour]\n"
        'model = "."\n'
        f'sha256 = "{sha256}"\n'
    )


def card_facts(study: LabourFitStudy) -> dict[str, Any]:
    """What the manifest records for the card besides the tables."""
    coefficients = study.fit.coefficients
    return {
        "history": study.history_path.name,
        "method": study.fit.method,
        "folds": study.fit.folds,
        "fit_seed": study.fit.seed,
        "groups": list(study.groups),
        "not_identified": coefficients.loc[~coefficients["identified"], "term"].tolist(),
        "truth": study.truth.name if study.truth is not None else None,
        "min_cell": study.config.output.min_cell,
    }


def write_labour_fit(study: LabourFitStudy, out: str | Path) -> Path:
    """The fit's tables, ``calibration.png``, ``labour.toml``, ``model_card.html`` and
    a manifest (the history's SHA-256, the settings), atomically."""
    from asielplan.experiments.report import build_report
    from asielplan.io import sha256_file

    out = Path(out)
    check_output_dir(out, (study.history_path.parent,))
    inputs = [study.history_path] + ([study.truth] if study.truth is not None else [])
    with atomic_output_dir(out) as staging:
        output = study.config.output
        percent = share_columns({n: list(t.columns) for n, t in study.tables.items()})
        write_tables(staging, study.tables, output.formats, output.csv_dialect, percent)
        plot_calibration(study.tables["calibration"], staging / CALIBRATION_PLOT)
        atomic_write_text(
            staging / FRAGMENT, fragment_text(sha256_file(staging / COEFFICIENTS_FILE))
        )
        manifest = build_manifest(
            COMMAND,
            seed=study.fit.seed,
            config=study.config.model_dump(mode="json"),
            inputs=input_hashes(inputs),
            extra={"card": card_facts(study)},
        )
        write_manifest(staging, manifest)
        atomic_write_text(staging / CARD, build_report(staging))
        write_manifest(staging, manifest)
    return out


def recovered_share(coefficients: pd.DataFrame) -> float:
    """Share of the terms with an interval (estimated, with a standard error) whose 95%
    interval holds the true value; NaN when none has one (an l2 fit)."""
    held = coefficients["true_in_interval"].dropna()
    return float(np.mean(held.astype(bool))) if len(held) else float("nan")
