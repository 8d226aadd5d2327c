"""Taakstelling: largest remainder, exact totals, achterstand and voorsprong, pluggable rules."""

from __future__ import annotations

import pandas as pd
import pytest

from asielplan.data.instance import read_instance
from asielplan.model.taakstelling import (
    RULES,
    compute_taakstelling,
    largest_remainder,
    register_rule,
)


def test_largest_remainder_hand_computed() -> None:
    """Populations 60k/20k/15k/5k, N=11: quotas 6.6, 2.2, 1.65, 0.55; floors 6, 2, 1, 0
    give 9; the 2 persons left go to the largest remainders, .65 and .6 -> [7, 2, 2, 0]."""
    result = largest_remainder(pd.Series([60_000, 20_000, 15_000, 5_000]), 11)
    assert result.tolist() == [7, 2, 2, 0]


def test_largest_remainder_tie_goes_to_first() -> None:
    """Equal remainders are broken by table order, so the result is deterministic."""
    assert largest_remainder(pd.Series([1, 1, 1]), 2).tolist() == [1, 1, 0]


def test_compute_taakstelling_totals_and_achterstand(tiny_path) -> None:
    """Shares add to N; achterstand adds, voorsprong subtracts and never goes below 0."""
    inst = read_instance(tiny_path)
    backlog = pd.DataFrame({"municipality": ["GM0001", "GM0004"], "achterstand": [3, -2]})
    result = compute_taakstelling(inst.municipalities, 11, "population", backlog)
    assert result["share"].tolist() == [7, 2, 2, 0]
    assert result["taakstelling"].tolist() == [10, 2, 2, 0]
    assert result["carried_voorsprong"].tolist() == [0, 0, 0, 2]
    assert int(result["share"].sum()) == 11


def test_national_scale_total_is_exact() -> None:
    """Over many unequal municipalities the total is still exactly N."""
    pops = pd.Series(range(1_000, 343_000, 1_000))
    for national in (0, 1, 13_000, 21_200, 23_000):
        assert int(largest_remainder(pops, national).sum()) == national


def test_rules_are_pluggable() -> None:
    """A registered rule is used by name; a rule that misses the total is refused."""

    @register_rule("equal_test")
    def equal(municipalities: pd.DataFrame, national: int) -> pd.Series:
        return largest_remainder(pd.Series(1, index=municipalities.index), national)

    muni = pd.DataFrame(
        {"code": ["A", "B", "C"], "name": ["a", "b", "c"], "population": [10, 20, 70]}
    )
    try:
        result = compute_taakstelling(muni, 7, "equal_test")
        assert result["taakstelling"].tolist() == [3, 2, 2]

        def broken(municipalities: pd.DataFrame, national: int) -> pd.Series:
            return pd.Series([1, 1, 1])

        with pytest.raises(ValueError, match="not the national"):
            compute_taakstelling(muni, 7, broken)
    finally:
        RULES.pop("equal_test")
