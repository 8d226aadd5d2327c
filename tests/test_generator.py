"""The seeded generator: byte-identical output, realistic mixes, the embedded default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asielplan.data.generator import (
    build_default_instance,
    generate_generic_instance,
    generate_instance,
    synthetic_municipalities,
)
from asielplan.data.instance import default_instance_path, read_instance, write_instance


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _make(seed: int, folder: Path) -> dict[str, bytes]:
    muni = synthetic_municipalities(30, seed)
    write_instance(generate_instance(muni, 500, seed, name="t"), folder)
    return _bytes(folder)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    """Two runs with one seed write identical files; another seed writes different ones."""
    first = _make(11, tmp_path / "a")
    assert first == _make(11, tmp_path / "b")
    assert first["households.csv"] != _make(12, tmp_path / "c")["households.csv"]


def test_embedded_default_matches_its_generator(tmp_path: Path) -> None:
    """The shipped default instance is exactly what build_default_instance() writes."""
    write_instance(build_default_instance(), tmp_path / "default")
    shipped = _bytes(default_instance_path())
    assert _bytes(tmp_path / "default") == shipped


def test_calais_example_matches_its_generator(tmp_path: Path) -> None:
    """The shipped Calais example is exactly what generate_calais(2016) writes: 7,000
    people, 450 centres, 11 regions whose targets sum to the people."""
    from asielplan.data.reception_generator import generate_calais

    inst = generate_calais(2016)
    write_instance(inst, tmp_path / "calais")
    shipped = default_instance_path().parent / "examples" / "calais"
    assert _bytes(tmp_path / "calais") == _bytes(shipped)
    assert inst.cohorts is not None and inst.region_targets is not None
    assert int(inst.cohorts["persons"].sum()) == 7000
    assert len(inst.sites) == 450
    assert int(inst.region_targets["target"].sum()) == 7000


def test_generated_instance_validates_and_mixes_are_realistic(tmp_path: Path) -> None:
    """5,000 households: valid, about half single, 2.2-2.6 persons each, ties about 9%."""
    muni = synthetic_municipalities(60, 3)
    write_instance(generate_instance(muni, 5_000, 3, name="mix"), tmp_path / "mix")
    inst = read_instance(tmp_path / "mix")
    hh = inst.households
    assert 0.47 < (hh["persons"] == 1).mean() < 0.53
    assert 2.2 < hh["persons"].mean() < 2.6
    assert 0.07 < hh["tie_kind"].notna().mean() < 0.11
    singles = inst.members[
        inst.members["household_id"].isin(hh.loc[hh["persons"] == 1, "household_id"])
    ]
    assert 0.68 < (singles["sex"] == "M").mean() < 0.76
    assert np.isclose(inst.meta.taakstelling.national, hh["persons"].sum())


def test_generic_instance_has_room_in_every_dimension(tmp_path: Path) -> None:
    """The generic score-only shape: written and read back it validates; each
    dimension's capacity in all is at least its room times the need in all (persons 1.1
    x the persons, cases 1.2 x the cases, school places 1.2 x the children), every child
    needs one school place, every pair has a score in [0, 1]; the same seed writes the
    same bytes."""
    first = write_instance(generate_generic_instance(80, 7, 4), tmp_path / "a")
    again = write_instance(generate_generic_instance(80, 7, 4), tmp_path / "b")
    assert _bytes(first) == _bytes(again)
    inst = read_instance(first)
    households, capacities = inst.households, inst.capacities
    assert inst.needs is not None and inst.scores is not None and capacities is not None
    in_all = capacities.groupby("dimension")["capacity"].sum()
    assert in_all["persons"] >= 1.1 * households["persons"].sum()
    assert in_all["cases"] >= 1.2 * len(households)
    assert in_all["school"] >= 1.2 * households["children"].sum()
    children = households.set_index("household_id")["children"]
    need = inst.needs.set_index("household_id")["need"]
    assert need.to_dict() == children[children > 0].to_dict()
    assert len(inst.scores) == 80 * 7 and inst.scores["score"].between(0, 1).all()
