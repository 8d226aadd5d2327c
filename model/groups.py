"""Groups of adult members for fairness: who is in a group, and what the group's
members expect in each municipality.

A group is a set of adult members (18-64, the labour force of the labour model): adult
women, adult men, the adults of households of a given size, of one-adult households,
or of an age band. Its **outcome** under a placement is the mean employment probability
of its members at the municipalities their households are placed in (an unplaced
member counts 0):

.. math:: \\bar p_G = \\frac{1}{|G|} \\sum_{i \\in G} p_{i, m(h(i))}

which is linear in the pair variables, so a floor on it is a linear row (see
:class:`asielplan.model.families.GroupFloors`). Only aggregates leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from asielplan.data.schemas import WORKING_AGE
from asielplan.io import comma_list
from asielplan.model.labour import household_rows

GROUP_FAMILIES: dict[str, tuple[str, ...]] = {
    "gender": ("women", "men"),
    "size": ("size_1", "size_2_3", "size_4_plus"),
    "adults": ("one_adult", "two_plus_adults"),
    "age": tuple(f"age_{band}" for band in WORKING_AGE),
}
GROUPS = tuple(group for family in GROUP_FAMILIES.values() for group in family)
GROUP_LABELS = {
    "women": "adult women",
    "men": "adult men",
    "size_1": "adults of 1-person households",
    "size_2_3": "adults of 2-3-person households",
    "size_4_plus": "adults of households of 4+ persons",
    "one_adult": "adults of one-adult households",
    "two_plus_adults": "adults of households with 2+ adults",
    **{f"age_{band}": f"adults aged {band}" for band in WORKING_AGE},
}


def parse_families(text: str, option: str = "--groups") -> list[str]:
    """``"gender,size"`` as the groups of those families (ValueError when unknown,
    ConfigError naming ``option`` for an empty or repeated name)."""
    names = comma_list(text, option)
    unknown = [name for name in names if name not in GROUP_FAMILIES]
    if unknown or not names:
        raise ValueError(
            f"unknown group family {', '.join(unknown) or repr(text)}; "
            f"families: {', '.join(GROUP_FAMILIES)}"
        )
    return [group for name in dict.fromkeys(names) for group in GROUP_FAMILIES[name]]


def membership(households: pd.DataFrame, members: pd.DataFrame) -> dict[str, np.ndarray]:
    """For every group a boolean mask over ``members``: adult members (18-64) in it."""
    adult = members["age_band"].isin(WORKING_AGE).to_numpy()
    rows = household_rows(households, members)
    persons = households["persons"].to_numpy()[rows]
    adults = np.bincount(rows[adult], minlength=len(households))[rows]
    sex = members["sex"].to_numpy()
    band = members["age_band"].to_numpy()
    masks = {
        "women": sex == "F",
        "men": sex == "M",
        "size_1": persons == 1,
        "size_2_3": (persons >= 2) & (persons <= 3),
        "size_4_plus": persons >= 4,
        "one_adult": adults == 1,
        "two_plus_adults": adults >= 2,
        **{f"age_{b}": band == b for b in WORKING_AGE},
    }
    return {group: adult & mask for group, mask in masks.items()}


@dataclass(frozen=True)
class GroupExpectation:
    """A group's size (adult members) and, per household and municipality, how many of
    its members the household is expected to bring into work there."""

    group: str
    members: int
    expected: np.ndarray  # (H, M) expected employed group members


def group_expectations(
    households: pd.DataFrame, members: pd.DataFrame, p: np.ndarray, groups: list[str]
) -> list[GroupExpectation]:
    """The expected employed members of each group per household and municipality, from
    the members' probabilities ``p`` (members x municipalities: the run's one model,
    :func:`asielplan.model.labour.run_probabilities`)."""
    masks = membership(households, members)
    rows = household_rows(households, members)
    out = []
    for group in groups:
        mask = masks[group]
        expected = np.zeros((len(households), p.shape[1]))
        np.add.at(expected, rows[mask], p[mask])
        out.append(GroupExpectation(group, int(mask.sum()), expected))
    return out


def group_outcomes(
    expectations: list[GroupExpectation], assignment: np.ndarray
) -> dict[str, float]:
    """Each group's mean employment probability under ``assignment`` (-1 unplaced)."""
    placed = np.flatnonzero(assignment >= 0)
    out = {}
    for g in expectations:
        total = g.expected[placed, assignment[placed]].sum()
        out[g.group] = float(total / g.members) if g.members else float("nan")
    return out
