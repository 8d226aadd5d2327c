"""Real CBS data from ../shared/data: the loader's totals and a national generated instance.

These run in CI (CI=true), where the data is present; elsewhere they skip with a reason.
"""

from __future__ import annotations

from pathlib import Path

from asielplan.data.cbs import load_cbs_municipalities
from asielplan.data.generator import generate_instance
from asielplan.data.instance import read_instance, write_instance


def _load(shared: Path, with_indicators: bool = True):
    return load_cbs_municipalities(
        shared / "nl_gemeenten_2024.csv",
        shared / "nl_gemeenten_2024.geojson",
        shared / "nl_gemeenten_2022_kwb_indicators_tmap.csv" if with_indicators else None,
    )


def test_cbs_municipalities_totals(shared_data: Path) -> None:
    """342 municipalities, 17,942,942 inhabitants, 12 provinces, 35 labour-market regions,
    5 COA regions, 40 COROP regions; every centroid lies in the Netherlands."""
    cbs = _load(shared_data)
    table = cbs.table
    assert len(table) == 342
    assert int(table["population"].sum()) == 17_942_942
    assert table["province"].nunique() == 12
    assert table["amr"].nunique() == 35
    assert table["coa_region"].nunique() == 5
    assert table["corop"].nunique() == 40
    assert table["lat"].between(50.7, 53.6).all() and table["lon"].between(3.3, 7.3).all()
    amsterdam = table.set_index("code").loc["GM0363"]
    assert amsterdam["coa_region"] == "COA-FUN" and amsterdam["province"] == "PV27"
    assert cbs.population_date == "2024-01-01"  # from the column population_2024_01_01


def test_employment_rate_joined_and_imputed(shared_data: Path) -> None:
    """The 2022 employment rate joins on the code; Voorne aan Zee (formed 2023) is imputed
    from its labour-market region and flagged."""
    cbs = _load(shared_data)
    table = cbs.table.set_index("code")
    assert table["employment_rate"].notna().all()
    assert table.loc["GM1992", "employment_rate_imputed"]
    assert int(table["employment_rate_imputed"].sum()) == 1
    assert any("GM1992" in note for note in cbs.notes)


def test_national_instance_from_real_municipalities(shared_data: Path, tmp_path: Path) -> None:
    """10,000 generated households on the 342 real municipalities validate; written and
    read back, the instance keeps the population's date and says that its
    municipalities are real and its households synthetic."""
    from asielplan.data.instance import is_synthetic

    cbs = _load(shared_data)
    inst = generate_instance(
        cbs.table,
        10_000,
        7,
        name="national",
        region_levels=("province", "coa_region", "corop", "amr"),
        municipality_source="CBS",
        population_date=cbs.population_date,
    )
    write_instance(inst, tmp_path / "nat")
    back = read_instance(tmp_path / "nat")
    assert back.meta.taakstelling is not None
    assert back.meta.taakstelling.population_date == "2024-01-01"
    assert not is_synthetic(back.meta, "municipalities") and is_synthetic(back.meta, "households")
    assert len(back.households) == 10_000 and len(back.municipalities) == 342
    assert back.region_levels == ("province", "coa_region", "corop", "amr")
