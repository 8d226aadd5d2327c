"""Instance x configuration checks, before any model is built: every problem reported
at once (exit 1, no traceback), warnings for legal input that is probably not meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from asielplan.api import place, validate
from asielplan.cli import app
from asielplan.config import RunConfig
from asielplan.errors import AsielplanWarning, InputError

from .placement_helpers import FIXTURES, variant

runner = CliRunner()


def rules(error: pytest.ExceptionInfo[InputError]) -> set[str]:
    return {issue.rule for issue in error.value.issues}


def test_configuration_problems_are_reported_together() -> None:
    """A band on a level the instance lacks, a bound on an unknown part and weekly
    targets without a progress table: three problems, one report."""
    config = RunConfig.model_validate(
        {
            "placement": {
                "region_bands": [{"level": "gemeenschap"}],
                "part_bounds": {"happiness": {"lower": 1}},
                "targets": "remaining",
            }
        }
    )
    with pytest.raises(InputError) as error:
        validate(FIXTURES / "tiny", config)
    assert rules(error) == {"known region level", "known part", "progress needed"}
    columns = {issue.column for issue in error.value.issues}
    assert "placement.part_bounds.happiness" in columns


def test_bands_need_a_taakstelling_and_parts_need_their_model() -> None:
    """The generic shape has no taakstelling: a region band is refused, and so is a
    bound on the shortfall (a part only soft targets have)."""
    config = RunConfig.model_validate(
        {
            "placement": {
                "region_bands": [{"level": "province"}],
                "part_bounds": {"shortfall": {"upper": 1}, "unplaced": {"upper": 0}},
            }
        }
    )
    with pytest.raises(InputError) as error:
        place(FIXTURES / "resettle", config)
    assert rules(error) >= {"bands need targets", "known part"}
    parts = {i.column for i in error.value.issues if i.rule == "known part"}
    assert parts == {"placement.part_bounds.shortfall", "placement.part_bounds.unplaced"}


def test_an_unused_progress_table_is_a_warning(tmp_path: Path) -> None:
    """A progress table with targets = 'taakstelling' is legal but probably not meant:
    the run warns (and goes on)."""
    progress = "municipality,placed\nGM0001,5\nGM0002,0\nGM0003,0\nGM0004,0\n"
    folder = variant(tmp_path, "tiny", {"progress": progress})
    with pytest.warns(AsielplanWarning, match="progress unused"):
        run = place(folder, RunConfig.model_validate({"solver": {"time_limit": 10}}))
    assert run.solution.status.has_solution
    assert [issue.rule for issue in run.warnings] == ["progress unused"]


def test_a_negative_time_limit_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """--time-limit -1 is validated like the configuration: exit 1, nothing written."""
    out = tmp_path / "o"
    result = runner.invoke(app, ["place", "--time-limit", "-1", "--out", str(out)])
    assert result.exit_code == 1 and "solver.time_limit" in result.output
    assert not out.exists()


def test_a_lock_that_breaks_a_hard_criterion_is_refused_unless_it_overrides(
    tmp_path: Path,
) -> None:
    """H4 has a first-degree family tie to GM0002 (radius 0). A lock of H4 to GM0001 is
    refused by validate and by the run, naming the criterion and the distance; with
    override = true it is a warning, the plan keeps the lock, and H4's explanation says
    that the lock overrides its hard criterion (without saying which one)."""
    refused = variant(tmp_path / "a", "tiny", {"locks": "household_id,municipality\nH4,GM0001\n"})
    result = runner.invoke(app, ["validate", str(refused)])
    flat = " ".join(result.output.split())
    assert result.exit_code == 1 and "lock keeps the hard criterion" in flat
    assert "a first-degree family tie requires a place within 0 km of GM0002" in flat
    with pytest.raises(InputError, match="breaks its hard criterion"):
        place(refused, RunConfig.model_validate({"solver": {"time_limit": 10}}))
    kept = variant(
        tmp_path / "b", "tiny", {"locks": "household_id,municipality,override\nH4,GM0001,true\n"}
    )
    with pytest.warns(AsielplanWarning, match="kept, as the lock overrides it"):
        run = place(kept, RunConfig.model_validate({"solver": {"time_limit": 10}}))
    table = run.tables["explanations"].set_index("household_id")
    assert table.loc["H4", "municipality"] == "GM0001"
    assert bool(table.loc["H4", "lock_breaks_criterion"])
    assert not table.drop(index="H4")["lock_breaks_criterion"].any()
    assert "The lock overrides its hard criterion" in table.loc["H4", "text"]
    assert "family" not in table.loc["H4", "text"]
