"""Taakstelling arithmetic: the law's rounding up, the largest remainder, achterstand and
voorsprong, and rules that need code registered by name."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from asielplan.config import RunConfig
from asielplan.data.instance import read_instance
from asielplan.model.schemes import KEYS, compute_scheme, register_key
from asielplan.model.taakstelling import largest_remainder, peildatum, round_up_share

from .conftest import TINY


def test_largest_remainder_hand_computed() -> None:
    """Populations 60k/20k/15k/5k, N=11: quotas 6.6, 2.2, 1.65, 0.55; floors 6, 2, 1, 0
    give 9; the 2 persons left go to the largest remainders, .65 and .6 -> [7, 2, 2, 0]."""
    result = largest_remainder(pd.Series([60_000, 20_000, 15_000, 5_000]), 11)
    assert result.tolist() == [7, 2, 2, 0]


def test_the_law_rounds_up() -> None:
    """Art. 29(1), the same populations and vg = 11: 6.6, 2.2, 1.65, 0.55 rounded up are
    7, 3, 2, 1, adding up to 13 (more than vg, as the law allows)."""
    result = round_up_share(pd.Series([60_000, 20_000, 15_000, 5_000]), 11)
    assert result.tolist() == [7, 3, 2, 1] and int(result.sum()) == 13


def test_a_whole_quota_is_not_rounded_up() -> None:
    """An exact whole quota stays as it is (integer arithmetic, no float drift):
    vg = 100 over 60k/20k/15k/5k is exactly 60, 20, 15, 5."""
    assert round_up_share(pd.Series([60_000, 20_000, 15_000, 5_000]), 100).tolist() == [
        60,
        20,
        15,
        5,
    ]


def test_peildatum_is_the_first_of_january_of_the_year_before() -> None:
    """2026-I and 2026-II both take the population of 1 January 2025; other period
    labels have none."""
    assert peildatum("2026-I") == peildatum("2026-II") == date(2025, 1, 1)
    assert peildatum("2025-W01") is None


def test_largest_remainder_tie_goes_to_first() -> None:
    """Equal remainders are broken by table order, so the result is deterministic."""
    assert largest_remainder(pd.Series([1, 1, 1]), 2).tolist() == [1, 1, 0]


def test_compute_taakstelling_totals_and_achterstand(tiny_path) -> None:
    """Shares add to N; achterstand adds, voorsprong subtracts and never goes below 0
    (the exact_total scheme of the tiny instance)."""
    inst = read_instance(tiny_path)
    inst.achterstand = pd.DataFrame({"municipality": ["GM0001", "GM0004"], "achterstand": [3, -2]})
    result = compute_scheme(inst, "exact_total", 11).table
    assert result["share"].tolist() == [7, 2, 2, 0]
    assert result["taakstelling"].tolist() == [10, 2, 2, 0]
    assert result["carried_voorsprong"].tolist() == [0, 0, 0, 2]
    assert int(result["share"].sum()) == 11


def test_national_scale_total_is_exact() -> None:
    """Over many unequal municipalities the total is still exactly N."""
    pops = pd.Series(range(1_000, 343_000, 1_000))
    for national in (0, 1, 13_000, 21_200, 23_000):
        assert int(largest_remainder(pops, national).sum()) == national


def test_rules_that_need_code_are_pluggable(tiny_path) -> None:
    """A rule registered in code is used by a scheme declared in the configuration, by
    name; an unregistered rule is refused with the registered ones listed."""
    from asielplan.model.schemes import check_scheme

    @register_key("equal_test")
    def equal(spec, muni, vg, labels):  # type: ignore[no-untyped-def]
        key = pd.Series(1.0 / len(muni), index=muni.index)
        return key, key * vg, largest_remainder(key, vg), None

    try:
        config = RunConfig.model_validate(
            {"schemes": {"equal": {"rule": "equal_test"}, "odd": {"rule": "nonexistent"}}}
        )
        inst = read_instance(tiny_path)
        result = compute_scheme(inst, "equal", 7, config.schemes)
        assert result.table["taakstelling"].tolist() == [2, 2, 2, 1]
        issues = check_scheme(inst, "odd", config.schemes)
        assert [issue.rule for issue in issues] == ["known rule"]
        assert "equal_test" in issues[0].message
    finally:
        KEYS.pop("equal_test")
    with pytest.raises(Exception, match="greater than 0"):
        RunConfig.model_validate(
            {"schemes": {"bad": {"rule": "key", "key": [{"column": "population", "weight": -1}]}}}
        )


def test_populations_of_another_date_are_refused_or_said(tmp_path: Path) -> None:
    """tiny's period 2025-I takes the population of 1 January 2024; data of 2020-01-01
    is refused naming both dates, and --population-date-differs accepts it and says so."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(
        toml.replace('scheme = "exact_total"', 'population_date = "2020-01-01"')
    )
    runner = CliRunner()
    refused = runner.invoke(app, ["taakstelling", str(folder), "--out", str(tmp_path / "a")])
    flat = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "population is of 2020-01-01" in flat
    assert "takes that of 2024-01-01" in flat and not (tmp_path / "a").exists()
    said = runner.invoke(
        app,
        ["taakstelling", str(folder), "--out", str(tmp_path / "b"), "--population-date-differs"],
    )
    assert said.exit_code == 0, said.output
    assert "the population is of 2020-01-01, not of the peildatum" in " ".join(said.output.split())
