"""Group fairness and its price: floors on groups' mean employment probability set by a
rule, and the tables that compare the plans.

Rules (the floors they give each group :math:`G`, as a mean employment probability):

- ``absolute``: the same floor ``level`` for every group;
- ``proportional``: ``level`` times the group's own optimum, the mean it reaches when
  the plan is made for it alone (the "proportionally optimised" rule of Freund, Lykouris,
  Paulson, Sturt & Weng, EC 2023);
- ``maxmin``: the highest common floor every group can reach together, found by
  bisection between the lowest group mean of the unconstrained plan and the lowest own
  optimum (``MAXMIN_STEPS`` halvings).

The **price of fairness** of a rule is ``1 - labour / unconstrained labour`` (Bertsimas,
Farias & Trichakis 2011): the share of the labour score the floors cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from asielplan.experiments.plots import pyplot
from asielplan.io import comma_list
from asielplan.model.groups import GROUP_LABELS

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
