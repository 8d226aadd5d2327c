"""Validation: the broken-instance corpus, collection of all errors, and the valid fixtures."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asielplan.api import validate
from asielplan.cli import app
from asielplan.data.instance import default_instance_path, read_instance
from asielplan.errors import InputError

from .conftest import BROKEN, TINY

CASES = tomllib.loads((BROKEN / "CASES.toml").read_text())
runner = CliRunner()


def test_corpus_is_large_enough() -> None:
    """At least 80 deliberately broken instances, each listed with what it must report."""
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert len(CASES) >= 80
    assert folders == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_instance_is_reported(name: str) -> None:
    """Each broken instance raises InputError naming the expected file, rule, column, row
    (the checks of `asielplan validate`: the data, then the instance against the
    default configuration)."""
    with pytest.raises(InputError) as info:
        validate(BROKEN / name)
    issues = info.value.issues
    for expected in CASES[name]["expect"]:
        matches = [
            i
            for i in issues
            if i.file == expected["file"]
            and i.rule == expected["rule"]
            and i.column == expected.get("column", i.column)
            and i.row == expected.get("row", i.row)
        ]
        assert matches, f"{name}: expected {expected}, got {[str(i) for i in issues]}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_validate_exits_nonzero_without_traceback(name: str) -> None:
    """`asielplan validate` prints the problems, says nothing was written, exits 1."""
    result = runner.invoke(app, ["validate", str(BROKEN / name)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Nothing was written." in result.output
    first = CASES[name]["expect"][0]
    assert first["file"] in result.output and first["rule"] in result.output


def test_all_problems_are_collected_at_once() -> None:
    """Four faults in four files give four issues in one report, not one at a time."""
    with pytest.raises(InputError) as info:
        read_instance(BROKEN / "many_problems")
    assert {i.file for i in info.value.issues} == {
        "municipalities.csv",
        "sites.csv",
        "households.csv",
        "members.csv",
    }
    assert len(info.value.issues) == 4


def test_console_script_on_broken_instance_has_no_traceback() -> None:
    """The installed entry point, run as a real process, reports and exits 1."""
    proc = subprocess.run(
        [sys.executable, "-m", "asielplan.cli", "validate", str(BROKEN / "not_a_number")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "households.csv, row 2 (line 3), column 'persons'" in proc.stderr
    assert "'two' is not a whole number" in proc.stderr


def test_tiny_instance_is_valid_and_typed() -> None:
    """The tiny fixture reads back with plain numpy dtypes and the right totals."""
    inst = read_instance(TINY)
    assert list(inst.municipalities["code"]) == ["GM0001", "GM0002", "GM0003", "GM0004"]
    assert inst.households["persons"].dtype == "int64"
    assert int(inst.households["persons"].sum()) == 11
    assert inst.households.loc[3, "tie_municipality"] == "GM0002"
    assert inst.households.loc[0, "tie_municipality"] is None
    assert inst.region_levels == ("province", "coa_region", "amr")


def test_embedded_default_is_valid_and_labelled_synthetic() -> None:
    """The shipped default instance validates and says it is synthetic."""
    inst = read_instance(default_instance_path())
    assert inst.meta.synthetic
    assert "SYNTHETIC" in inst.meta.description
    assert len(inst.municipalities) == 40 and len(inst.households) == 1200


def test_parquet_tables_are_read(tmp_path: Path) -> None:
    """A table given as Parquet is read and validated like its CSV."""
    import shutil

    import pandas as pd

    folder = tmp_path / "inst"
    shutil.copytree(TINY, folder)
    pd.read_csv(folder / "households.csv").to_parquet(folder / "households.parquet")
    toml = (
        (folder / "instance.toml").read_text().replace('"households.csv"', '"households.parquet"')
    )
    (folder / "instance.toml").write_text(toml)
    inst = read_instance(folder)
    assert int(inst.households["persons"].sum()) == 11


MINORS = (
    "household_id,persons,adults,children,unaccompanied_minors,site_id,tie_kind,"
    "tie_municipality,tie_radius_km\n"
    "H1,1,1,0,,S1,,,\nH2,2,2,0,0,S1,,,\nH3,3,2,1,,S2,,,\nH4,1,1,0,,S2,family,GM0002,0\n"
    "H5,4,2,2,,S2,,,\nH6,2,{adults},{children},{flag},S1,,,\n"
)
MINOR_MEMBERS = "H6,1,M,0-17,none,none,A0\nH6,2,F,{age},none,none,A0\n"


def with_household_six(tmp_path: Path, adults: int, flag: str) -> Path:
    """The tiny instance with a sixth household of two: ``adults`` of them adults, and
    ``flag`` as its unaccompanied_minors cell."""
    import shutil

    folder = tmp_path / "minors"
    shutil.copytree(TINY, folder)
    text = MINORS.format(adults=adults, children=2 - adults, flag=flag)
    (folder / "households.csv").write_text(text)
    members = (folder / "members.csv").read_text()
    age = "25-34" if adults else "0-17"
    (folder / "members.csv").write_text(members + MINOR_MEMBERS.format(age=age))
    toml = (folder / "instance.toml").read_text().replace("national = 11", "national = 13")
    (folder / "instance.toml").write_text(toml)
    return folder


def test_a_household_of_unaccompanied_minors_is_placed_where_the_data_say_so(
    tmp_path: Path,
) -> None:
    """Two minors without an adult: refused unmarked (naming the column to set), placed
    when marked unaccompanied_minors = 1 (their labour score is 0: no adult works), and
    a marked household with an adult is refused."""
    from asielplan.api import place
    from asielplan.config import RunConfig, SolverConfig

    with pytest.raises(InputError, match="unaccompanied_minors = 1"):
        read_instance(with_household_six(tmp_path / "a", 0, ""))
    with pytest.raises(InputError, match="has no adult, not 1"):
        read_instance(with_household_six(tmp_path / "b", 1, "1"))
    run = place(with_household_six(tmp_path / "c", 0, "1"), RunConfig(solver=SolverConfig()))
    households = run.tables["households"].set_index("household_id")
    assert households.loc["H6", "placed"]
    assert households.loc["H6", "score"] == 0.0


def test_a_household_compatible_with_nothing_stays_unplaced(tmp_path: Path) -> None:
    """An allowed row with an empty municipality: validate warns under at_most_once and
    the run leaves that household unplaced, the others placed; under exactly_once it is
    an error naming the household; beside other allowed rows it is a contradiction."""
    import warnings

    from asielplan.api import place
    from asielplan.config import PlacementConfig, RunConfig

    from .placement_helpers import variant

    folder = variant(tmp_path / "a", "tiny", {"allowed": "household_id,municipality\nH3,\n"})
    with pytest.raises(InputError, match="'H3' is compatible with no municipality"):
        validate(folder)
    loose = RunConfig(placement=PlacementConfig(assignment="at_most_once"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate(folder, loose)
        run = place(folder, loose)
    assert any("it stays unplaced" in str(w.message) for w in caught)
    placed = run.tables["households"].set_index("household_id")["placed"].to_dict()
    assert placed == {"H1": True, "H2": True, "H3": False, "H4": True, "H5": True}
    both = variant(
        tmp_path / "b", "tiny", {"allowed": "household_id,municipality\nH3,\nH3,GM0001\n"}
    )
    with pytest.raises(InputError, match="compatible with nothing"):
        read_instance(both)


def test_population_and_coordinates_are_optional_where_nothing_needs_them(
    tmp_path: Path,
) -> None:
    """Without lat and lon the instance reads and a tie holds to its own municipality;
    a tie radius then is refused, as is lat without lon; without population the
    taakstelling is refused, naming the law."""
    import shutil

    folder = tmp_path / "bare"
    shutil.copytree(TINY, folder)
    muni = (folder / "municipalities.csv").read_text().splitlines()
    keep = [0, 1, 5, 6, 7, 8, 9]  # code, name, province ... employment_rate
    bare = [",".join(line.split(",")[k] for k in keep) for line in muni]
    (folder / "municipalities.csv").write_text("\n".join(bare) + "\n")
    with pytest.raises(InputError) as refused:
        read_instance(folder)
    rules = {(issue.column, issue.rule) for issue in refused.value.issues}
    assert rules == {("population", "population")}
    toml = (folder / "instance.toml").read_text()
    cut = toml.index("[taakstelling]")
    rest = toml[cut:].split("\n\n", 1)[1]
    (folder / "instance.toml").write_text(toml[:cut] + rest)
    inst = read_instance(folder)  # H4's tie has radius 0: fine without coordinates
    assert "lat" not in inst.municipalities
    (folder / "households.csv").write_text(
        (folder / "households.csv").read_text().replace("GM0002,0", "GM0002,10")
    )
    with pytest.raises(InputError, match="a tie radius needs the municipalities' lat and lon"):
        read_instance(folder)


def test_a_capacity_dimension_nobody_needs_is_warned(tmp_path: Path) -> None:
    """Capacities in a named dimension that no household needs bind nothing (probably a
    misspelt name in the needs table): read, with a warning naming the dimension."""
    from .placement_helpers import variant

    folder = variant(
        tmp_path,
        "resettle",
        {"needs": "household_id,dimension,need\nC,school_places,0\n"},
        {"capacities.csv": ("L2,persons,2\n", "L2,persons,2\nL1,school_places,1\n")},
    )
    inst = read_instance(folder)
    assert [w.rule for w in inst.warnings] == ["a dimension someone needs"]
    assert "no household needs any 'school_places'" in inst.warnings[0].message
