"""Run configuration: strict keys, scenarios as named overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from asielplan.config import RunConfig, load_config
from asielplan.errors import ConfigError

TOML = """
[solver]
time_limit = 30
seed = 4
[placement]
penalty_shortfall = 50
[scenarios.band]
placement.target_mode = "band"
solver.time_limit = 5
"""


def test_defaults_without_file() -> None:
    """No file gives the documented defaults: HiGHS, 0.1% gap."""
    cfg = load_config(None)
    assert cfg.solver.name == "highs" and cfg.solver.mip_gap == 1e-3


def test_scenario_overrides_base(tmp_path: Path) -> None:
    """A scenario changes only what it names; the rest comes from the base."""
    path = tmp_path / "run.toml"
    path.write_text(TOML)
    base = load_config(path)
    band = load_config(path, "band")
    assert (base.solver.time_limit, base.placement.target_mode) == (30, "soft")
    assert (band.solver.time_limit, band.placement.target_mode) == (5, "band")
    assert band.placement.penalty_shortfall == 50 and band.solver.seed == 4
    assert band.scenario == "band"


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    """A typo is an error naming the key, never silently ignored."""
    path = tmp_path / "run.toml"
    path.write_text("[solver]\ntime_limt = 3\n")
    with pytest.raises(ConfigError, match=r"solver\.time_limt"):
        load_config(path)


def test_unknown_scenario_lists_defined_ones(tmp_path: Path) -> None:
    """Asking for a scenario that is not defined names the ones that are."""
    path = tmp_path / "run.toml"
    path.write_text(TOML)
    with pytest.raises(ConfigError, match="defined: band"):
        load_config(path, "peak")


def test_config_is_frozen() -> None:
    """A configuration cannot be changed after validation."""
    cfg = RunConfig()
    with pytest.raises(Exception, match="frozen"):
        cfg.scenario = "other"  # type: ignore[misc]


def test_every_scenario_is_checked_whether_chosen_or_not(tmp_path: Path) -> None:
    """A scenario that is not a table and a misspelt key in a scenario nobody chose are
    both errors, reported together, even when the base is run."""
    path = tmp_path / "run.toml"
    path.write_text("[scenarios]\nfoo = 3\n[scenarios.tight.solver]\ntime_limt = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "[scenarios.foo] must be a table" in message
    assert "[scenarios.tight]: solver.time_limt" in message


def test_the_search_settings_are_configuration_and_change_the_run_id(tmp_path: Path) -> None:
    """[solver.search] holds the placement search's choices: validated (a share above 1
    is refused with its key), recorded in the manifest, and part of the run id; a
    setting changes what the search does (no subgradient rounds: none is reported)."""
    from asielplan.api import place, write_run

    with pytest.raises(ValidationError, match="aim_share"):
        RunConfig.model_validate({"solver": {"search": {"aim_share": 1.5}}})
    base = RunConfig.model_validate({"solver": {"time_limit": 20}})
    plain = place(None, base)
    changed = RunConfig.model_validate(
        {"solver": {"time_limit": 20, "search": {"lagrange_rounds": 0}}}
    )
    other = place(None, changed)
    assert plain.spec.id != other.spec.id
    write_run(other, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["config"]["solver"]["search"]["lagrange_rounds"] == 0
    assert plain.solution.stats["lagrange_rounds"] > 0
    assert other.solution.stats.get("lagrange_rounds", 0) == 0
