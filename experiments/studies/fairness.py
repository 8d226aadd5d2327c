"""Group fairness and its price: floors on groups' mean employment probability set by a
rule, and the tables that compare the plans.

Rules (the floors they give each group :math:`G`, as a mean employment probability):

- ``absolute``: the same floor ``level`` for every group;
- ``proportional``: ``level`` times the group's own optimum, the mean it reaches when
  the plan is made for it alone (the "proportionally optimised" rule of Freund, Lykouris,
  Paulson, Sturt & Weng, EC 2023);
- ``maxmin``: the highest common floor every group can reach together, found by
  bisection between the lowest group mean of the unconstrained plan and the lowest own
  optimum (``MAXMIN_STEPS`` halvings); its runs start from the plan of the last probe
  that reached the floor.

The **price of fairness** of a rule is ``1 - labour / unconstrained labour`` (Bertsimas,
Farias & Trichakis 2011): the share of the labour score the floors cost. The study
(:func:`fairness`) runs the unconstrained plan and one plan per rule under both
aggregations of the labour score, and writes its tables, plot and runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from asielplan.config import RunConfig, with_overrides
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError
from asielplan.experiments.outputs import GAP, RUN_ID, STATUS, Column, Output, Table, in_order
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.runs import (
    InstanceLike,
    Run,
    check,
    check_all,
    load_instance,
    place,
    placement_solution,
    write_study,
)
from asielplan.experiments.sections import Section, Shapes, study_sections
from asielplan.experiments.studies.study import Study
from asielplan.io import comma_list
from asielplan.model.groups import (
    GROUP_LABELS,
    group_expectations,
    group_outcomes,
    parse_families,
)
from asielplan.model.labour import household_scores, labour_model, run_probabilities
from asielplan.model.placement import GroupFloorRow, PlacementData
from asielplan.solvers.highs import Progress
from asielplan.solvers.placement import solve_placement

Rule = Literal["absolute", "proportional", "maxmin"]
RULES: tuple[Rule, ...] = ("absolute", "proportional", "maxmin")
AGGREGATIONS = ("sum", "at_least_one")
MAXMIN_STEPS = 6  # bisection halvings of the common floor

SUMMARY_COLUMNS = [
    "aggregation",
    "rule",
    "level",
    "status",
    "gap",
    "labour_score",
    "expected_employed",
    "price_of_fairness",
    "run_id",
]
GROUP_COLUMNS = [
    "aggregation",
    "rule",
    "group",
    "label",
    "members",
    "floor",
    "mean",
    "unconstrained_mean",
    "own_optimum",
    "change",
    "suppressed",
]


def parse_rules(text: str, option: str = "--rule") -> list[Rule]:
    """``"proportional,maxmin"`` as rules (ValueError when unknown, ConfigError naming
    ``option`` for an empty or repeated name)."""
    names = comma_list(text, option)
    unknown = [name for name in names if name not in RULES]
    if unknown or not names:
        raise ValueError(
            f"unknown rule {', '.join(unknown) or repr(text)}; rules: {', '.join(RULES)}"
        )
    return [rule for rule in RULES if rule in names]


def rule_floors(
    rule: Rule, level: float, own: dict[str, float], groups: list[str]
) -> dict[str, float]:
    """The floors of ``absolute`` and ``proportional`` (``maxmin`` is searched)."""
    if rule == "absolute":
        return {group: level for group in groups}
    if rule == "proportional":
        return {group: level * own[group] for group in groups}
    raise ValueError(f"rule {rule!r} has no closed-form floors")


def price_of_fairness(labour: float, unconstrained: float) -> float:
    """``1 - labour / unconstrained`` (NaN when the unconstrained score is 0)."""
    return 1.0 - labour / unconstrained if unconstrained else float("nan")


@dataclass
class Outcome:
    """One plan of the study: its rule, floors, status, gap, run id and scores."""

    aggregation: str
    rule: str
    level: float
    floors: dict[str, float]
    status: str
    gap: float | None
    labour: float
    expected_employed: float
    means: dict[str, float]
    run_id: str


def summary_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per aggregation and rule (``none``: unconstrained) with the price."""
    base = {o.aggregation: o.labour for o in outcomes if o.rule == "none"}
    rows = [
        {
            "aggregation": o.aggregation,
            "rule": o.rule,
            "level": o.level,
            "status": o.status,
            "gap": o.gap,
            "labour_score": o.labour,
            "expected_employed": o.expected_employed,
            "price_of_fairness": price_of_fairness(o.labour, base[o.aggregation]),
            "run_id": o.run_id,
        }
        for o in outcomes
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def group_table(
    outcomes: list[Outcome],
    own: dict[str, dict[str, float]],
    sizes: dict[str, int],
    min_cell: int,
) -> pd.DataFrame:
    """One row per aggregation, rule and group: the floor, the group's mean, its mean
    unconstrained and its own optimum; a group of fewer than ``min_cell`` members keeps
    its count but shows no values."""
    base = {o.aggregation: o.means for o in outcomes if o.rule == "none"}
    rows = []
    for o in outcomes:
        for group, mean in o.means.items():
            before = base[o.aggregation][group]
            rows.append(
                {
                    "aggregation": o.aggregation,
                    "rule": o.rule,
                    "group": group,
                    "label": GROUP_LABELS[group],
                    "members": sizes[group],
                    "floor": o.floors.get(group, np.nan),
                    "mean": mean,
                    "unconstrained_mean": before,
                    "own_optimum": own[o.aggregation].get(group, np.nan),
                    "change": mean - before,
                    "suppressed": sizes[group] < min_cell,
                }
            )
    table = pd.DataFrame(rows, columns=GROUP_COLUMNS)
    values = ["floor", "mean", "unconstrained_mean", "own_optimum", "change"]
    table.loc[table["suppressed"], values] = np.nan
    return table


def plot_groups(groups: pd.DataFrame, summary: pd.DataFrame, path: Path, title: str) -> None:
    """Each group's mean employment probability per rule, one panel per aggregation; a
    rule whose plan has no solution keeps its place, marked with its status."""
    plt = pyplot()

    aggregations = list(dict.fromkeys(groups["aggregation"]))
    fig, axes = plt.subplots(
        1, len(aggregations), figsize=(6.5 * len(aggregations), 4.2), squeeze=False, sharey=True
    )
    for ax, aggregation in zip(axes[0], aggregations, strict=True):
        part = groups[groups["aggregation"] == aggregation]
        table = part.pivot_table(index="group", columns="rule", values="mean", sort=False)
        rules = list(dict.fromkeys(part["rule"]))
        width = 0.8 / max(len(rules), 1)
        x = np.arange(len(table.index))
        status = summary[summary["aggregation"] == aggregation].set_index("rule")["status"]
        for k, rule in enumerate(rules):
            solved = str(status.get(rule, "")) in ("optimal", "feasible")
            label = rule if solved else f"{rule}: no plan ({status.get(rule, 'not run')})"
            values = table[rule].to_numpy() if rule in table else np.full(len(x), np.nan)
            ax.bar(x + k * width, np.nan_to_num(values), width, label=label)
            if not solved:
                for position in x + k * width:
                    ax.text(
                        position,
                        0.0,
                        "no plan",
                        rotation=90,
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color="#C44E52",
                    )
        ax.set_xticks(x + width * (len(rules) - 1) / 2)
        ax.set_xticklabels(table.index, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"labour score: {aggregation}")
        ax.set_ylabel("mean employment probability")
        ax.grid(alpha=0.3, axis="y")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- the runs


@dataclass
class FairnessStudy:
    """Plans under group floors set by rules, under both aggregations of the labour
    score: ``summary`` (aggregation x rule: labour score, expected employed adults, price
    of fairness, status, gap, run id), ``groups`` (aggregation x rule x group: floor,
    mean, unconstrained mean, own optimum), and the runs by ``aggregation/rule``
    (without their data: :meth:`~asielplan.experiments.runs.Run.without_data`)."""

    instance: Instance
    config: RunConfig
    groups: list[str]
    summary: pd.DataFrame
    table: pd.DataFrame
    runs: dict[str, Run]


def fairness(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    families: str = "gender,size",
    rules: str = "proportional,maxmin",
    level: float = 0.95,
    floor: float | None = None,
    progress: Progress | None = None,
) -> FairnessStudy:
    """Group fairness and its price (docs/tradeoffs.md): for each aggregation of the
    labour score (``sum``, ``at_least_one``) the unconstrained plan and one plan per
    rule (``absolute`` floors every group at ``floor``; ``proportional`` at ``level``
    times the group's own optimum; ``maxmin`` at the highest common floor)."""
    config = config or RunConfig()
    say = progress or (lambda message: None)
    try:
        groups = parse_families(families)
        chosen = parse_rules(rules)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if "absolute" in chosen and floor is None:
        raise ConfigError("the absolute rule needs --floor (a mean employment probability)")
    if floor is not None and not 0 <= floor <= 1:
        raise ConfigError(f"--floor {floor}: a mean employment probability, 0 to 1")
    if not 0 < level <= 1:
        raise ConfigError(f"--level {level}: a share of the own optimum, above 0 and at most 1")
    inst = load_instance(instance)
    if inst.members is None:
        raise ConfigError("fairness: groups are formed from members; this instance has none")

    def configured(aggregation: str, floors: dict[str, float]) -> RunConfig:
        overrides = {"placement.aggregation": aggregation, "placement.group_floors": floors}
        return with_overrides(config, overrides, f"fairness ({aggregation})")

    probe = {group: 0.0 for group in groups}
    check_all(inst, [configured(a, probe) for a in AGGREGATIONS])
    check(inst, config, "place")
    # the run's one model of outcomes (checked above: members, and no scores table)
    p = run_probabilities(inst, labour_model(config.labour.coefficients))
    assert p is not None
    expectations = group_expectations(inst.households, inst.members, p, groups)
    sizes = {g.group: g.members for g in expectations}
    employed = household_scores(inst.households, inst.members, p, "sum")

    outcomes: list[Any] = []
    runs: dict[str, Run] = {}

    def record(
        aggregation: str,
        rule: str,
        lvl: float,
        floors: dict[str, float],
        start: np.ndarray | None = None,
    ) -> Run:
        say(f"fairness: {aggregation}, {rule}")
        run = place(inst, configured(aggregation, floors), progress, start=start)
        solution = placement_solution(run)
        has = solution.status.has_solution
        a = solution.assignment
        placed = np.flatnonzero(a >= 0)
        parts = solution.objective_parts
        outcomes.append(
            Outcome(
                aggregation,
                rule,
                lvl,
                floors,
                str(solution.status),
                solution.gap,
                parts["labour"].quantity if has else np.nan,
                float(employed[placed, a[placed]].sum()) if has else np.nan,
                group_outcomes(expectations, a) if has else dict.fromkeys(groups, np.nan),
                run.spec.id,
            )
        )
        runs[f"{aggregation}/{rule}"] = run.without_data()
        return run

    base = record("sum", "none", np.nan, {})
    base_solution = placement_solution(base)
    if not base_solution.status.has_solution:
        raise ConfigError(
            f"fairness: the plan without floors is {base_solution.status}; "
            "run asielplan place for its diagnosis"
        )
    data = base.data
    assert isinstance(data, PlacementData)
    own: dict[str, float] = {}
    for g in expectations:
        say(f"fairness: the own optimum of {g.group}")
        alone = replace(data, score=g.expected)
        solved = solve_placement(alone, config.solver, progress, diagnose=False)
        own[g.group] = (
            group_outcomes([g], solved.assignment)[g.group]
            if solved.status.has_solution
            else np.nan
        )
    common, reaching = None, None
    if "maxmin" in chosen:
        common, reaching = _maxmin_floor(
            data, config, expectations, own, outcomes[0].means, base_solution.assignment, say
        )
    del base, data  # the model's arrays go before the other runs (the study keeps base's)
    for aggregation in AGGREGATIONS:
        if aggregation != "sum":
            record(aggregation, "none", np.nan, {})
        for rule in chosen:
            if rule == "maxmin":
                assert common is not None
                # from the plan that reached the floor (it meets the floors under either
                # aggregation): the run goes on from where the bisection's probe stopped
                record(aggregation, rule, common, dict.fromkeys(groups, common), reaching)
            else:
                lvl = floor if rule == "absolute" else level
                assert lvl is not None
                record(aggregation, rule, lvl, rule_floors(rule, lvl, own, groups))
    own_by_aggregation = {a: own for a in AGGREGATIONS}
    return FairnessStudy(
        inst,
        config,
        groups,
        summary_table(outcomes),
        group_table(outcomes, own_by_aggregation, sizes, config.output.min_cell),
        runs,
    )


def _maxmin_floor(
    data: PlacementData,
    config: RunConfig,
    expectations: list[Any],
    own: dict[str, float],
    unconstrained: dict[str, float],
    plan: np.ndarray,
    say: Progress,
) -> tuple[float, np.ndarray]:
    """The highest common floor all groups reach together, by bisection, and a plan
    that reaches it: the lowest group mean of the unconstrained ``plan`` is reachable,
    none is above the lowest own optimum; a probe that ends without a plan counts as
    unreachable, one that ends with a plan gives the plan."""

    low = min(unconstrained.values())
    high = min(value for value in own.values() if np.isfinite(value))
    for step in range(1, MAXMIN_STEPS + 1):
        middle = (low + high) / 2
        floors = [GroupFloorRow(g.group, g.members, middle, g.expected) for g in expectations]
        probe = replace(data, group_floors=floors)
        solved = solve_placement(probe, config.solver, None, diagnose=False)
        reached = solved.status.has_solution
        say(
            f"fairness: max-min probe {step}/{MAXMIN_STEPS}: floor {middle:.4f} "
            + ("reached" if reached else "not reached")
        )
        if reached:
            low, plan = middle, solved.assignment
        else:
            high = middle
    return low, plan


def write_fairness(result: FairnessStudy, out: str | Path) -> Path:
    """``fairness`` (the summary) and ``groups`` (CSV/Parquet), ``fairness.png``, a
    manifest and each plan's run (``runs/AGGREGATION/RULE``), atomically."""

    def draw(folder: Path) -> None:
        title = result.instance.meta.name
        plot_groups(result.table, result.summary, folder / "fairness.png", title)

    tables = {"fairness": result.summary, "groups": result.table}
    extra = {"groups": result.groups}
    return write_study(
        out, "fairness", result.instance, result.config, tables, result.runs, draw, extra
    )


# --------------------------------------------------------------------------- its files

FAIRNESS_TABLE = Table(
    "fairness",
    "One row per aggregation of the labour score and rule (none: no floors): the price "
    "of fairness.",
    in_order(
        SUMMARY_COLUMNS,
        Column("aggregation", "text", "", "sum or at_least_one (placement.aggregation)."),
        Column("rule", "text", "", "none, absolute, proportional or maxmin."),
        Column(
            "level",
            "number",
            "see meaning",
            "The rule's level: the floor (absolute; a probability), the share of each "
            "group's own optimum (proportional) or the common floor found (maxmin); empty "
            "for none.",
        ),
        STATUS,
        GAP,
        Column("labour_score", "number", "labour score", "The plan's labour score, summed."),
        Column(
            "expected_employed",
            "number",
            "persons",
            "Expected employed members where placed (whatever the aggregation).",
        ),
        Column(
            "price_of_fairness",
            "number",
            "share",
            "1 - labour_score / labour_score of the rule none.",
        ),
        RUN_ID,
    ),
)
GROUPS_TABLE = Table(
    "groups",
    "One row per aggregation, rule and group of adult members (18-64): the floor and the "
    f"group's mean employment probability. Groups: {', '.join(GROUP_LABELS)}.",
    in_order(
        GROUP_COLUMNS,
        Column("aggregation", "text", "", "sum or at_least_one."),
        Column("rule", "text", "", "none, absolute, proportional or maxmin."),
        Column("group", "text", "", "The group."),
        Column("label", "text", "", "The group in words."),
        Column("members", "integer", "persons", "Adult members in the group."),
        Column("floor", "number", "probability", "The floor on the group's mean; empty if none."),
        Column("mean", "number", "probability", "The group's mean employment probability."),
        Column(
            "unconstrained_mean",
            "number",
            "probability",
            "Its mean in the plan without floors.",
        ),
        Column(
            "own_optimum",
            "number",
            "probability",
            "Its mean in the plan made for the group alone.",
        ),
        Column("change", "number", "probability", "mean - unconstrained_mean."),
        Column(
            "suppressed",
            "true-false",
            "",
            "Fewer than output.min_cell members: values blank.",
        ),
    ),
)
FAIRNESS = Output(
    "fairness",
    ("asielplan fairness",),
    "Group floors on the mean employment probability by rule, under both aggregations of "
    "the labour score (docs/tradeoffs.md).",
    (FAIRNESS_TABLE, GROUPS_TABLE),
    runs=((("runs/<aggregation>/<rule>/",), ("place",)),),
)


def fairness_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    return study_sections(
        run,
        "fairness.png",
        [
            ("fairness", "The price of fairness per rule"),
            ("groups", "Each group's outcome before and after"),
        ],
        "The study wrote no plot.",
    )


STUDY = Study("fairness", "Group fairness", FAIRNESS, fairness_sections)
