"""Quota schemes compared side by side: the same households, seed and configuration
placed under each scheme's targets, and what differs.

This module runs them (:func:`compare_schemes`) and turns their results into the
comparison: one tidy table (scheme x metric, with each run's status and gap), the
targets per municipality and scheme, the burden's fairness (places per 1,000
inhabitants), notes where a difference between two schemes is smaller than the solver
gap (solver noise, not the scheme), plots, its files, report section and batch row, and
the fit of a scheme against published numbers (the Spreidingswet's indicative municipal
numbers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from asielplan.config import RunConfig, Strict, check_count, with_overrides
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError, InputError
from asielplan.experiments import maps
from asielplan.experiments.outputs import (
    GAP,
    MUNICIPALITY,
    MUNICIPALITY_NAME,
    STATUS,
    Column,
    Output,
    Table,
    listed,
)
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.results.placement import BURDEN, GROUP_OUTCOMES, burden
from asielplan.experiments.runs import (
    InstanceLike,
    Run,
    check_output,
    instance_path,
    load_instance,
    place,
    placement_solution,
    write_run_files,
    write_run_tables,
)
from asielplan.experiments.sections import Section, Shapes, figure, study_sections, table
from asielplan.experiments.studies.study import BatchStudy, Study, StudyRow
from asielplan.io import atomic_output_dir, atomic_write_text, check_listed, safe_names
from asielplan.manifest import build_manifest, write_manifest
from asielplan.model.checks import check_run
from asielplan.model.placement import PlacementData
from asielplan.model.schemes import SchemeResult, check_scheme
from asielplan.solvers.highs import Progress
from asielplan.solvers.placement import PlacementSolution

# metric -> (unit, basis): what it describes, the scheme's targets or the run's plan
METRICS: dict[str, tuple[str, str]] = {
    "objective": ("weight (the run's objective, maximised)", "plan"),
    "labour_score": ("expected employed persons", "plan"),
    "expected_employed": ("persons", "plan"),
    "persons_placed": ("persons", "plan"),
    "persons_unplaced": ("persons", "plan"),
    "moves": ("households", "plan"),
    "total_km": ("km", "plan"),
    "left_coa_region": ("households", "plan"),
    "total_abs_deviation": ("persons off the scheme's taakstelling", "plan"),
    "shortfall": ("persons below the scheme's taakstelling", "plan"),
    "excess": ("persons above the scheme's taakstelling", "plan"),
    "largest_relative_shortfall": ("share of the taakstelling", "plan"),
    "municipalities_none_placed": ("municipalities with a target above 0", "plan"),
    "burden_gini_targets": ("Gini of targets per 1,000 inhabitants", "targets"),
    "burden_max_min_targets": ("ratio of targets per 1,000 inhabitants", "targets"),
    "burden_p90_p10_targets": ("ratio of targets per 1,000 inhabitants", "targets"),
    "burden_gini_plan": ("Gini of persons placed per 1,000 inhabitants", "plan"),
    "burden_max_min_plan": ("ratio of persons placed per 1,000 inhabitants", "plan"),
    "burden_p90_p10_plan": ("ratio of persons placed per 1,000 inhabitants", "plan"),
    "p_adult_women": ("mean employment probability of placed women aged 18-64", "plan"),
    "p_adult_men": ("mean employment probability of placed men aged 18-64", "plan"),
    "score_one_adult": ("mean labour score", "plan"),
    "score_4plus": ("mean labour score", "plan"),
}
BASES = ("targets", "plan")
# how a metric's interval [low, high] is known (docs/schemes.md, "Noise"):
# exact: the targets' metrics, no solver in them; gap: the objective, whose optimum lies
# between the plan's value and the solver's bound; seeds: the spread over the main run
# and its re-solves with other solver seeds (--noise-seeds); not measured: a plan metric
# without re-solves, whose difference between two schemes is never certified; no value:
# the metric is blank (a group under output.min_cell, a run without a plan)
NOISE_KINDS = ("exact", "gap", "seeds", "not measured", "no value")


def scheme_metrics(
    result: SchemeResult, sol: PlacementSolution, tables: dict[str, pd.DataFrame]
) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one scheme's run, from its tables (the group
    outcomes as its kpis have them: blank under output.min_cell households)."""
    kpi = tables["kpis"].iloc[0]
    municipalities = tables["municipalities"]
    placed = municipalities["placed_persons"].to_numpy(dtype=float)
    target = result.table["taakstelling"].to_numpy(dtype=float)
    out = {
        "objective": float(sol.objective) if sol.objective is not None else float("nan"),
        "labour_score": float(kpi["total_labour_score"]),
        "expected_employed": float(kpi["expected_employed"]),
        "persons_placed": float(kpi["persons"] - kpi["unplaced_persons"]),
        "persons_unplaced": float(kpi["unplaced_persons"]),
        "moves": float(kpi["moves"]),
        "total_km": float(kpi["total_distance_km"]),
        "left_coa_region": float(kpi["left_coa_region"]),
        "total_abs_deviation": float(np.abs(placed - target).sum()),
        "shortfall": float(np.clip(target - placed, 0, None).sum()),
        "excess": float(np.clip(placed - target, 0, None).sum()),
        "largest_relative_shortfall": float(kpi["largest_relative_shortfall"]),
        "municipalities_none_placed": float(((target > 0) & (placed == 0)).sum()),
        **burden(result.table["per_1000"].to_numpy(dtype=float), "targets"),
        **{f"{name}_plan": float(kpi[name]) for name in BURDEN},
        **{name: float(kpi[name]) for name in GROUP_OUTCOMES},
    }
    return out


def comparison_table(
    metrics: dict[str, dict[str, float]],
    solutions: dict[str, PlacementSolution],
    spread: dict[str, list[dict[str, float]]] | None = None,
) -> pd.DataFrame:
    """Tidy: one row per scheme and metric, with the metric's unit, its basis (the
    scheme's targets or the run's plan), its interval and how it is known
    (:data:`NOISE_KINDS`), whether its difference from every other scheme is certified,
    and the run's status and gap. ``spread``: per scheme the metrics of its re-solves
    with other solver seeds (none: plan metrics other than the objective are not
    measured)."""
    rows = []
    for scheme, values in metrics.items():
        sol = solutions[scheme]
        others = (spread or {}).get(scheme, [])
        for metric, (unit, basis) in METRICS.items():
            value = values[metric]
            low, high, noise = _interval(metric, basis, value, sol, others)
            rows.append(
                {
                    "scheme": scheme,
                    "metric": metric,
                    "basis": basis,
                    "value": value,
                    "low": low,
                    "high": high,
                    "noise": noise,
                    "unit": unit,
                    "status": sol.status.value,
                    "gap": sol.gap,
                }
            )
    table = pd.DataFrame(rows, columns=[*COMPARISON_COLUMNS[:-1]])
    table["certified"] = _certified(table)
    return table[COMPARISON_COLUMNS]


COMPARISON_COLUMNS = [
    "scheme",
    "metric",
    "basis",
    "value",
    "low",
    "high",
    "noise",
    "unit",
    "status",
    "gap",
    "certified",
]


def _interval(
    metric: str,
    basis: str,
    value: float,
    sol: PlacementSolution,
    others: list[dict[str, float]],
) -> tuple[float, float, str]:
    """Where a metric's value may lie, and how that is known (:data:`NOISE_KINDS`)."""
    if not np.isfinite(value):
        return float("nan"), float("nan"), "no value"
    if basis == "targets":
        return value, value, "exact"
    if metric == "objective":
        bound = sol.bound if sol.bound is not None else float("nan")
        return value, max(value, float(bound)), "gap"
    seen = [value, *(o[metric] for o in others if np.isfinite(o[metric]))]
    if len(seen) > 1:
        return float(min(seen)), float(max(seen)), "seeds"
    return float("nan"), float("nan"), "not measured"


def _certified(table: pd.DataFrame) -> list[bool]:
    """Per row: its scheme's interval on the metric is apart from every other scheme's
    (an exact metric: its value differs from every other), so every difference of this
    scheme on this metric is certified; never with a metric not measured."""
    low = table["low"].to_numpy(dtype=float)
    high = table["high"].to_numpy(dtype=float)
    measured = ~table["noise"].isin(["not measured", "no value"]).to_numpy()
    metric = table["metric"].to_numpy()
    out = []
    for i in range(len(table)):
        others = np.flatnonzero((metric == metric[i]) & (np.arange(len(table)) != i))
        apart = measured[i] and all(
            measured[j] and (high[j] < low[i] or high[i] < low[j]) for j in others
        )
        out.append(bool(apart))
    return out


def targets_table(results: dict[str, SchemeResult]) -> pd.DataFrame:
    """Municipality x scheme: each scheme's taakstelling (the targets the runs placed
    against; one column per scheme, named after it), beside the inhabitants and the
    exact population-key quota (``population_key``) for reference."""
    first = next(iter(results.values())).table
    table = pd.DataFrame(
        {
            "municipality": first["municipality"],
            "name": first["name"],
            "inhabitants": first["population"],
            "population_key": first["population_quota"],
        }
    )
    for name, result in results.items():
        table[name] = result.table["taakstelling"].to_numpy()
    return table


def noise_notes(comparison: pd.DataFrame, noise_seeds: int) -> list[str]:
    """Per plan metric, the pairs of schemes whose intervals overlap: their difference
    may be the solver's, not the scheme's; and which metrics were not measured."""
    notes = []
    unmeasured = sorted(set(comparison.loc[comparison["noise"] == "not measured", "metric"]))
    if unmeasured:
        notes.append(
            f"not certified (no re-solves): {', '.join(unmeasured)}; a difference between "
            "schemes in these may be solver noise (measure it with --noise-seeds N: N "
            "re-solves per scheme with other solver seeds)"
        )
    for metric in dict.fromkeys(comparison["metric"]):
        rows = comparison[(comparison["metric"] == metric) & (comparison["noise"] != "exact")]
        rows = rows[~rows["noise"].isin(["not measured", "no value"])].set_index("scheme")
        pairs = [
            f"{a}/{b}"
            for a, b in itertools.combinations(rows.index, 2)
            if rows.loc[a, "low"] <= rows.loc[b, "high"]
            and rows.loc[b, "low"] <= rows.loc[a, "high"]
        ]
        if pairs:
            how = "the solver gaps" if metric == "objective" else "the spread over solver seeds"
            notes.append(
                f"{metric}: {len(pairs)} pair(s) of schemes within {how} of each other, not "
                "certified: " + ", ".join(pairs)
            )
    return notes


def fit_to_published(result: SchemeResult, published: pd.DataFrame) -> pd.DataFrame:
    """A scheme's numbers against published ones (columns ``municipality``,
    ``published``): per municipality the difference and the absolute percentage error;
    ``fit.attrs['mape']`` is their mean."""
    numbers = result.table.set_index("municipality")["taakstelling"]
    fit = published[["municipality", "published"]].copy()
    fit["scheme"] = fit["municipality"].map(numbers)
    fit["difference"] = fit["scheme"] - fit["published"]
    fit["ape"] = (fit["difference"].abs() / fit["published"]).round(6)
    fit.attrs["mape"] = float(fit["ape"].mean())
    return fit


def plot_metrics(comparison: pd.DataFrame, path: Path, title: str) -> None:
    """Small multiples: one bar chart per metric, a bar per scheme; a value whose
    difference from the others is not certified is pale and hatched, and a measured
    interval (the gap, the spread over solver seeds) is drawn as an error bar."""
    plt = pyplot()

    metrics = [
        m for m in METRICS if comparison.loc[comparison["metric"] == m, "value"].notna().any()
    ]
    cols = 4
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        part = comparison[comparison["metric"] == metric]
        certified = part["certified"].to_numpy(dtype=bool)
        bars = ax.bar(
            part["scheme"],
            part["value"],
            color=np.where(certified, "#4C72B0", "#B8C7E0"),
            hatch=None,
        )
        for bar, sure in zip(bars, certified, strict=True):
            if not sure:
                bar.set_hatch("//")
        measured = part["low"].notna() & (part["noise"] != "exact")
        if measured.any():
            values = part.loc[measured, "value"].to_numpy(dtype=float)
            ax.errorbar(
                np.flatnonzero(measured.to_numpy()),
                values,
                yerr=[
                    values - part.loc[measured, "low"].to_numpy(dtype=float),
                    part.loc[measured, "high"].to_numpy(dtype=float) - values,
                ],
                fmt="none",
                ecolor="black",
                capsize=3,
                lw=1,
            )
        ax.set_title(f"{metric} ({METRICS[metric][1]})", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(f"{title} (hatched: difference not certified; bars: gap or seed spread)")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def plot_targets(targets: pd.DataFrame, schemes: list[str], path: Path, title: str) -> None:
    """Each scheme's targets against the population key quota, one panel per scheme."""
    plt = pyplot()

    cols = min(3, len(schemes))
    rows = int(np.ceil(len(schemes) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.6 * rows), squeeze=False)
    reference = targets["population_key"].to_numpy()
    top = max(float(reference.max()), float(targets[schemes].to_numpy().max()), 1.0)
    for ax, scheme in zip(axes.ravel(), schemes, strict=False):
        ax.scatter(reference, targets[scheme], s=8, alpha=0.6, color="#4C72B0")
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set_title(scheme, fontsize=9)
        ax.set_xlabel("population key (exact quota)", fontsize=8)
        ax.set_ylabel("target", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(schemes) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def summary_rows(comparison: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per scheme with its status, gap and headline metrics (the labour score,
    km, the burden's Gini of its targets and of its plan), each as ``(value,
    certified)``: a headline never ranks schemes by a difference that is not
    certified."""
    by = comparison.set_index(["scheme", "metric"])
    runs = comparison.drop_duplicates("scheme").set_index("scheme")
    headline = ("labour_score", "total_km", "burden_gini_targets", "burden_gini_plan")
    return [
        {
            "scheme": scheme,
            "status": runs.loc[scheme, "status"],
            "gap": runs.loc[scheme, "gap"],
            **{
                m: (float(by.loc[(scheme, m), "value"]), bool(by.loc[(scheme, m), "certified"]))
                for m in headline
            },
        }
        for scheme in runs.index
    ]


# --------------------------------------------------------------------------- the runs


@dataclass
class SchemeComparison:
    """Placement runs of the same households under several quota schemes (without
    their data: :meth:`~asielplan.experiments.runs.Run.without_data`), and the
    comparison of :mod:`asielplan.experiments.studies.schemes`."""

    instance: Instance
    config: RunConfig
    runs: dict[str, Run]
    comparison: pd.DataFrame
    targets: pd.DataFrame
    notes: list[str]
    noise_run_ids: dict[str, list[str]] = field(default_factory=dict)


def compare_schemes(
    schemes: list[str],
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    progress: Progress | None = None,
    noise_seeds: int = 0,
) -> SchemeComparison:
    """Place the households of ``instance`` under each scheme's targets (the same
    households, seed and configuration; ``placement.scheme`` set per run) and compare.
    Every scheme is checked before the first run. ``noise_seeds``: re-solves of each
    scheme with the solver seeds after the configured one, whose spread certifies (or
    not) the differences of the plan metrics (docs/schemes.md)."""
    config = config or RunConfig()
    say = progress or (lambda message: None)
    inst = load_instance(instance)
    unknown = [  # named by the option, before the checks of each scheme's run
        issue
        for name in schemes
        for issue in check_scheme(inst, name, config.schemes, "--schemes")
        if issue.rule == "known scheme"
    ]
    if unknown:
        raise InputError(unknown, str(inst.root or inst.meta.name))
    if noise_seeds < 0:
        raise ConfigError(f"--noise-seeds {noise_seeds}: a number of re-solves, 0 or more")
    check_count(
        len(schemes) * (1 + noise_seeds),
        f"--schemes ({len(schemes)}) x (1 + --noise-seeds {noise_seeds})",
        config.limits,
    )
    configs = {
        name: with_overrides(config, {"placement.scheme": name}, f"scheme {name}")
        for name in schemes
    }
    issues = [issue for name in schemes for issue in check_run(inst, configs[name], "place")]
    if any(not issue.is_warning for issue in issues):
        raise InputError(issues, str(inst.root or inst.meta.name))
    runs: dict[str, Run] = {}
    results: dict[str, SchemeResult] = {}
    for number, name in enumerate(schemes, start=1):
        say(f"scheme {number}/{len(schemes)}: {name}")
        run = place(inst, configs[name], progress)
        results[name] = _scheme_of(run)
        runs[name] = run = run.without_data()  # the model's arrays go before the next run
    solutions = {name: placement_solution(run) for name, run in runs.items()}
    metrics = {
        name: scheme_metrics(results[name], solutions[name], run.tables)
        for name, run in runs.items()
    }
    spread: dict[str, list[dict[str, float]]] = {name: [] for name in schemes}
    noise_ids: dict[str, list[str]] = {name: [] for name in schemes}
    for name in schemes:
        for k in range(1, noise_seeds + 1):
            seed = config.solver.seed + k
            say(f"scheme {name}: re-solve {k}/{noise_seeds} (solver seed {seed})")
            again = with_overrides(configs[name], {"solver.seed": seed}, f"scheme {name}")
            rerun = place(inst, again, progress)
            noise_ids[name].append(rerun.spec.id)
            spread[name].append(
                scheme_metrics(results[name], placement_solution(rerun), rerun.tables)
            )
            del rerun  # its model's arrays go before the next re-solve
    comparison = comparison_table(metrics, solutions, spread)
    notes = noise_notes(comparison, noise_seeds)
    notes += [label for result in results.values() for label in result.labels]
    notes += [f"source of {name}: {result.spec.source}" for name, result in results.items()]
    return SchemeComparison(
        inst,
        config,
        runs,
        comparison,
        targets_table(results),
        list(dict.fromkeys(notes)),
        noise_ids,
    )


def write_comparison(comparison: SchemeComparison, out: str | Path) -> Path:
    """``comparison`` and ``targets`` (CSV/Parquet), ``metrics.png``, ``targets.png``,
    ``notes.txt``, a manifest, and each scheme's run in its own folder under ``runs/``
    (named by :func:`~asielplan.io.safe_names`: a scheme's name is never a path; the
    manifest's ``run_folders`` maps each scheme to its folder), atomically."""
    out = Path(out)
    check_output(out, comparison.instance)
    names = list(comparison.runs)
    folders = {name: f"runs/{safe}" for name, safe in safe_names(names).items()}
    with atomic_output_dir(out) as staging:
        tables = {"comparison": comparison.comparison, "targets": comparison.targets}
        write_run_tables(staging, tables, comparison.config.output)
        title = comparison.instance.meta.name
        plot_metrics(comparison.comparison, staging / "metrics.png", title)
        plot_targets(comparison.targets, names, staging / "targets.png", title)
        atomic_write_text(staging / "notes.txt", "".join(f"{n}\n" for n in comparison.notes))
        for name, run in comparison.runs.items():
            write_run_files(run, staging / folders[name])
        manifest = build_manifest(
            "schemes compare",
            seed=comparison.config.solver.seed,
            config=comparison.config.model_dump(mode="json"),
            inputs=next(iter(comparison.runs.values())).spec.inputs,
            extra={
                "schemes": names,
                "run_ids": {n: r.spec.id for n, r in comparison.runs.items()},
                "noise_run_ids": comparison.noise_run_ids,
                "run_folders": folders,
                "instance": title,
                "instance_path": instance_path(comparison.instance),
            },
        )
        write_manifest(staging, manifest)
    return out


def _scheme_of(run: Run) -> SchemeResult:
    assert isinstance(run.data, PlacementData) and run.data.scheme is not None
    return run.data.scheme


# --------------------------------------------------------------------------- its files

COMPARISON = Table(
    "comparison",
    "One row per scheme and metric (tidy), with the scheme's run status and gap. "
    f"Metrics: {listed({name: f'{unit}; {basis}' for name, (unit, basis) in METRICS.items()})}.",
    (
        Column("scheme", "text", "", "The quota scheme."),
        Column("metric", "text", "", "The metric."),
        Column(
            "basis",
            "text",
            "",
            "What the metric describes: targets (the scheme's numbers, before any plan) or "
            "plan (the run's placement). The burden metrics exist for both.",
        ),
        Column(
            "value",
            "number",
            "see unit",
            "The metric's value in the scheme's run; empty for a group outcome over fewer "
            "than output.min_cell households.",
        ),
        Column(
            "low",
            "number",
            "see unit",
            "The lower end of where the value may lie, by noise; empty when not measured.",
        ),
        Column("high", "number", "see unit", "The upper end; empty when not measured."),
        Column(
            "noise",
            "text",
            "",
            "How the interval is known: exact (a metric of the targets: no solver in it), "
            "gap (the objective: its optimum lies between the plan's value and the bound), "
            "seeds (the spread over the run and its --noise-seeds re-solves), not measured "
            "(a plan metric without re-solves), no value (the value is blank: a group under "
            "output.min_cell, a run without a plan).",
        ),
        Column("unit", "text", "", "The metric's unit."),
        STATUS,
        GAP,
        Column(
            "certified",
            "true-false",
            "",
            "Whether the scheme's interval on the metric is apart from every other "
            "scheme's, so its every difference on it is certified; never when not "
            "measured or without a value.",
        ),
    ),
)
TARGETS = Table(
    "targets",
    "One row per municipality: each scheme's taakstelling, the targets its run placed against.",
    (
        MUNICIPALITY,
        MUNICIPALITY_NAME,
        Column("inhabitants", "integer", "persons", "Inhabitants (the population used)."),
        Column(
            "population_key",
            "number",
            "persons",
            "The exact population-key quota, for reference.",
        ),
        Column(
            "<scheme>",
            "integer",
            "persons",
            "The scheme's taakstelling, one column per scheme compared, named after it.",
        ),
    ),
)
SCHEMES_COMPARE = Output(
    "schemes compare",
    ("asielplan schemes compare",),
    "The same households placed under each scheme's targets, compared.",
    (COMPARISON, TARGETS),
    runs=((("<scheme>/",), ("place",)),),
)


def schemes_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    sections = study_sections(run, "metrics.png", [], "The comparison wrote no plot.")
    comparison = run.table("comparison")
    if comparison is not None:
        wide = comparison.pivot_table(
            index=["metric", "basis", "unit"], columns="scheme", values="value", sort=False
        )
        order = list(dict.fromkeys(comparison["scheme"]))
        wide.columns.name = None
        sections[0].tables.append(
            table(wide[order].reset_index(), "Metric x scheme (each run's status and gap below)")
        )
        status = comparison.drop_duplicates("scheme")[["scheme", "status", "gap"]]
        sections[0].tables.append(table(status, "Status and gap of each scheme's run"))
    notes = run.path / "notes.txt"
    if notes.is_file():  # noise warnings, proxy labels, sources (checked with the outputs)
        sections[0].notes += [n for n in notes.read_text(encoding="utf-8").splitlines() if n]
    targets = run.table("targets")
    schemes = [str(s) for s in run.manifest.get("schemes", [])]
    mapped = Section("Targets per scheme")
    if shapes.frame is None:
        mapped.notes.append(f"Map left out: {shapes.note}.")
    elif targets is not None and schemes:
        by_code = targets.set_index("municipality")
        key = by_code["population_key"]
        values = pd.DataFrame(
            {s: (by_code[s] - key).reindex(shapes.frame["code"]).to_numpy() for s in schemes}
        )
        mapped.figures.append(
            figure(
                maps.small_multiples(
                    shapes.frame,
                    values,
                    "Each scheme's target minus the population key",
                    "persons above (blue) or below (red) the population key",
                ),
                "maps of each scheme's target minus the population key",
            )
        )
    if targets is not None:
        mapped.tables.append(table(targets, "Targets per municipality and scheme"))
    return [*sections, mapped]


# --------------------------------------------------------------------------- in a batch


class CompareOptions(Strict):
    """``[compare]`` of a batch file: what a ``schemes`` run compares."""

    schemes: tuple[str, ...] = Field(
        min_length=2,
        description="The quota schemes placed and compared (as --schemes of "
        "asielplan schemes compare).",
    )

    @model_validator(mode="after")
    def _distinct(self) -> CompareOptions:
        check_listed("compare.schemes", self.schemes)
        return self


def _batch_options(section: CompareOptions | None) -> dict[str, Any]:
    """The schemes compared (the batch file refuses kind schemes without [compare])."""
    assert section is not None
    return {"schemes": list(section.schemes)}


def _run_in_batch(
    instance: str | Instance, config: RunConfig, options: dict[str, Any], folder: Path
) -> None:
    write_comparison(compare_schemes(options["schemes"], instance, config), folder)


def _batch_row(run: RunFolder) -> StudyRow | None:
    """Every metric per scheme (``labour_score.population``)."""
    comparison = run.table("comparison")
    if comparison is None:
        return None
    per_scheme = comparison.drop_duplicates("scheme")
    numbers: dict[str, Any] = {"stop": f"{len(per_scheme)} schemes compared"}
    for record in comparison.to_dict("records"):
        numbers[f"{record['metric']}.{record['scheme']}"] = record["value"]
    gaps = pd.to_numeric(per_scheme["gap"], errors="coerce").tolist()
    return StudyRow(numbers, per_scheme["status"].astype(str).tolist(), gaps)


STUDY = Study(
    "schemes compare",
    "Quota schemes compared",
    SCHEMES_COMPARE,
    schemes_sections,
    maps=True,
    batch=BatchStudy("schemes", "compare", _batch_options, _run_in_batch, _batch_row),
)
