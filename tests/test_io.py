"""Atomic output: a failed run leaves the previous result untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from asielplan.errors import ConfigError
from asielplan.io import atomic_output_dir, atomic_write_text, comma_list, spreadsheet_safe


def test_failure_leaves_old_result_and_no_temp_files(tmp_path: Path) -> None:
    """An exception while writing keeps the old file and removes the staging folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}\n")
    (out / "result.csv").write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output_dir(out) as staging:
        atomic_write_text(staging / "result.csv", "new\n")
        raise RuntimeError("solver crashed")
    assert (out / "result.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_success_replaces_files(tmp_path: Path) -> None:
    """On success the new files are in place and nothing else is left behind."""
    out = tmp_path / "out"
    with atomic_output_dir(out) as staging:
        atomic_write_text(staging / "a.csv", "1\n")
        atomic_write_text(staging / "sub" / "b.csv", "2\n")
    assert (out / "a.csv").read_text() == "1\n" and (out / "sub" / "b.csv").read_text() == "2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_formulas_in_names_are_neutralised_in_every_csv(tmp_path: Path) -> None:
    """A municipality called ``=HYPERLINK(...)`` and one called ``@SUM(1)``: every CSV of
    the run shows them with a leading quote (Excel reads text, runs nothing), the
    Parquet tables keep the names as given, and negative numbers stay numbers."""
    import pandas as pd

    from asielplan.api import place, write_run

    from .placement_helpers import config, variant

    evil = '=HYPERLINK("http://example.org","x")'
    quoted = '"' + evil.replace('"', '""') + '"'
    folder = variant(
        tmp_path,
        "tiny",
        {},
        {"municipalities.csv": ("GM0001,Aastad,", f"GM0001,{quoted},")},
    )
    text = (folder / "municipalities.csv").read_text().replace("GM0002,Bedorp,", "GM0002,@SUM(1),")
    (folder / "municipalities.csv").write_text(text)
    out = write_run(place(folder, config()), tmp_path / "out")
    written = {p.name: p.read_text() for p in out.glob("*.csv")}
    for name, content in written.items():
        for line in content.splitlines():
            cells = [c.strip('"') for c in line.split(",")]
            assert not any(c.startswith(("=", "@")) for c in cells), (name, line)
    municipalities = pd.read_csv(out / "municipalities.csv")
    assert set(municipalities["name"]) >= {"'" + evil, "'@SUM(1)"}
    raw = pd.read_parquet(out / "municipalities.parquet")
    assert set(raw["name"]) >= {evil, "@SUM(1)"}
    safe = spreadsheet_safe(pd.DataFrame({"n": [-1.5, 2.0], "t": ["-x", "a-b"]}))
    assert safe["n"].tolist() == [-1.5, 2.0] and safe["t"].tolist() == ["'-x", "a-b"]


def test_a_comma_list_is_its_stripped_names_and_refuses_blanks_and_repeats() -> None:
    """``--groups " gender, size"`` names two families; an empty item, an empty option or
    a name given twice is an error that names the option."""
    assert comma_list(" gender, size", "--groups") == ["gender", "size"]
    for text, why in ((" gender, ,size", "empty item"), ("", "empty item"), ("a,b,a", "a given")):
        with pytest.raises(ConfigError, match=f"--groups.*{why}"):
            comma_list(text, "--groups")


def test_safe_names_stay_inside_their_folder_and_are_unique() -> None:
    """Hostile values become plain file names: no separator, no leading dot, accents
    dropped, cut to 80 characters with a stable suffix, and distinct values (also ones
    differing only in case) get distinct names."""
    from asielplan.io import safe_name, safe_names

    assert safe_name("GM1900-Súdwest-Fryslân") == "GM1900-Sudwest-Fryslan"
    assert safe_name("../../../x") == "x" and safe_name("P1/Noord") == "P1-Noord"
    assert safe_name("..").startswith("x~") and safe_name("").startswith("x~")
    assert safe_name("CON") == "_CON" and safe_name(".hidden") == "hidden"
    long = safe_name("a" * 300)
    assert len(long) == 80 and long == safe_name("a" * 300) and long[-9] == "~"
    names = safe_names(["A/b", "A-b", "a-B", "c"])
    assert len(set(names.values())) == 4 and names["c"] == "c"
    assert all("/" not in n and not n.startswith(".") for n in names.values())


def test_the_manifest_records_the_code_version_and_the_checked_out_commit(
    tmp_path: Path,
) -> None:
    """A manifest says which code ran: the package version, and the commit HEAD names in
    a git folder, as a loose ref, a packed ref or a detached HEAD; None without one."""
    from importlib import metadata

    from asielplan.manifest import _git_commit, build_manifest

    code = build_manifest("place", seed=1)["code"]
    assert code["version"] == metadata.version("asielplan")
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    assert _git_commit(git) is None
    (git / "packed-refs").write_text(f"# pack-refs\n{'a' * 40} refs/heads/main\n")
    assert _git_commit(git) == "a" * 40
    (git / "refs" / "heads" / "main").write_text(f"{'b' * 40}\n")
    assert _git_commit(git) == "b" * 40
    (git / "HEAD").write_text(f"{'c' * 40}\n")
    assert _git_commit(git) == "c" * 40
    assert _git_commit(tmp_path / "no-git") is None
