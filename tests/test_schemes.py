"""Quota schemes: the law on a hand-computed case and on the real 2024 municipalities,
swaps and population overrides, every shipped scheme on the hand-checkable tiny
municipalities (60k / 20k / 15k / 5k inhabitants), the Spreidingswet's provincial
totals, regional pooling in a placement, a comparison ranked by hand, and bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from asielplan.api import compare_schemes, place, taakstelling
from asielplan.config import RunConfig
from asielplan.data.instance import Instance, read_instance
from asielplan.errors import InputError
from asielplan.model.schemes import SPREIDINGSWET_PROVINCES, compute_scheme

from .placement_helpers import FIXTURES, variant

TINY = FIXTURES / "tiny"
# a pool of the provinces with exact totals: municipal numbers free inside them
POOL = {
    "rule": "regional_pool",
    "region_level": "province",
    "municipal": "free",
    "region_band": [1.0, 1.0],
}


def tiny_for_schemes() -> Instance:
    """The tiny instance with the columns the keys use: WOZ value (k EUR) 300, 200,
    400, 100; residents of non-European origin 20%, 5%, 10%, 2%; SES 0.2, -0.2, 0,
    0.5. Its sites give reception places 500 (Aastad) and 300 (Ceburg)."""
    inst = read_instance(TINY)
    inst.municipalities = inst.municipalities.assign(
        woz_value=[300.0, 200.0, 400.0, 100.0],
        pct_origin_outside_europe=[20.0, 5.0, 10.0, 2.0],
        ses_score=[0.2, -0.2, 0.0, 0.5],
    )
    return inst


def numbers(name: str, national: int, config: RunConfig | None = None) -> list[int]:
    schemes = config.schemes if config is not None else None
    result = compute_scheme(tiny_for_schemes(), name, national, schemes)
    return result.table["taakstelling"].tolist()


def test_the_law_on_the_hand_computed_case() -> None:
    """vg = 11: 6.6, 2.2, 1.65, 0.55 rounded up: 7, 3, 2, 1 (13 in all); the basis says
    the rounding, the national number and population, and the peildatum of 2025-I."""
    result = compute_scheme(read_instance(TINY), "population", 11)
    assert result.table["taakstelling"].tolist() == [7, 3, 2, 1]
    basis = result.basis
    assert (basis.national, basis.national_population, basis.total) == (11, 100_000, 13)
    assert "rounded up" in basis.rounding or "up to a whole person" in basis.rounding
    assert basis.peildatum is not None and basis.peildatum.isoformat() == "2024-01-01"


def test_a_swap_keeps_the_sum(tmp_path: Path) -> None:
    """Aastad takes 2 fewer and Bedorp 2 more (art. 29(2)): the law's 7, 3, 2, 1 become
    5, 5, 2, 1, still 13; the same agreement does not touch a research scheme."""
    folder = variant(
        tmp_path, "tiny", {"swaps": "agreement,municipality,change\nA1,GM0001,-2\nA1,GM0002,2\n"}
    )
    inst = read_instance(folder)
    law = compute_scheme(inst, "population", 11).table
    assert law["taakstelling"].tolist() == [5, 5, 2, 1] and int(law["swap"].sum()) == 0
    assert compute_scheme(inst, "exact_total", 11).table["taakstelling"].tolist() == [7, 2, 2, 0]


def test_a_population_override_replaces_the_population(tmp_path: Path) -> None:
    """Deveen merged: the province sets 15,000 inhabitants (art. 30). iN becomes 110,000,
    and vg = 11 gives 6, 2, 1.5, 1.5 rounded up: 6, 2, 2, 2."""
    folder = variant(
        tmp_path, "tiny", {"population_override": "municipality,population\nGM0004,15000\n"}
    )
    result = compute_scheme(read_instance(folder), "population", 11)
    assert result.table["taakstelling"].tolist() == [6, 2, 2, 2]
    assert result.basis.national_population == 110_000


def test_labour_market_key_by_hand() -> None:
    """Employed (rate x population) 42,000 / 13,000 / 9,000 / 3,100; population shares
    .6/.2/.15/.05; earlier reception, inverse to places per inhabitant (500/60k, 0,
    300/15k, 0 from the sites; highest rate .02): 700, 400, 0, 100. Key = .43 employed +
    .37 population + .20 inverse reception = .6078, .2240, .1132, .0550; vg = 100 gives
    60.78, 22.40, 11.32, 5.50 -> largest remainder 61, 22, 11, 6."""
    assert numbers("labour_market", 100) == [61, 22, 11, 6]


def test_denmark_key_by_hand() -> None:
    """p = .6/.2/.15/.05; non-European residents 12,000 / 1,000 / 1,500 / 100, so
    m = .8219/.0685/.1027/.0068; 2p - m = .3781, .3315, .1973, .0932 (none negative);
    vg = 100 -> 37.81, 33.15, 19.73, 9.32 -> 38, 33, 20, 9."""
    assert numbers("denmark", 100) == [38, 33, 20, 9]


def test_denmark_sets_negative_shares_to_zero() -> None:
    """With 90% non-European residents in Deveen (600, 200, 150, 4,500 of 5,450: m4 =
    .83 > 2 p4 = .1) its 2p - m is negative: Deveen gets 0 and the others share the
    whole number."""
    inst = tiny_for_schemes()
    inst.municipalities["pct_origin_outside_europe"] = [1.0, 1.0, 1.0, 90.0]
    table = compute_scheme(inst, "denmark", 100).table
    assert table["taakstelling"].iloc[3] == 0 and int(table["taakstelling"].sum()) == 100


def test_koenigstein_key_by_hand() -> None:
    """Tax base (population x WOZ) 18M, 4M, 6M, 0.5M of 28.5M; key = 2/3 of that +
    1/3 population share = .6211, .1602, .1904, .0284; vg = 100 -> 62, 16, 19, 3."""
    assert numbers("koenigstein", 100) == [62, 16, 19, 3]


def test_spreidingswet_rule_by_hand() -> None:
    """population x (1 + SES): 72,000, 16,000, 15,000, 7,500. With provincial totals
    P1 = 70, P2 = 30 (binding): P1 splits 57.27 / 12.73 -> 57, 13; P2 20 / 10. The AMV
    part (8,140 / 96,000 of 100 = 8) by largest remainder: 4, 1, 2, 1."""
    config = RunConfig.model_validate(
        {
            "schemes": {
                "spreiding_tiny": {
                    "rule": "spreidingswet",
                    "column": "ses_score",
                    "region_level": "province",
                    "region_totals": {"P1": 70, "P2": 30},
                    "amv_share": 8140 / 96000,
                }
            }
        }
    )
    result = compute_scheme(tiny_for_schemes(), "spreiding_tiny", 100, config.schemes)
    assert result.table["taakstelling"].tolist() == [57, 13, 20, 10]
    assert result.table["amv"].tolist() == [4, 1, 2, 1]
    assert result.region_totals is not None
    assert result.region_totals.set_index("region")["total"].to_dict() == {"P1": 70, "P2": 30}


def test_regional_pool_totals_by_population() -> None:
    """Regions by population key (P1 80,000, P2 20,000): vg = 100 gives 80 and 20; inside
    a region the indicative split is the population key: 60, 20, 15, 5."""
    config = RunConfig.model_validate(
        {
            "schemes": {
                "pool": {"rule": "regional_pool", "region_level": "province", "municipal": "free"}
            }
        }
    )
    result = compute_scheme(tiny_for_schemes(), "pool", 100, config.schemes)
    assert result.table["taakstelling"].tolist() == [60, 20, 15, 5]
    assert result.region_totals is not None
    assert result.region_totals["total"].tolist() == [80, 20]


def test_regional_pool_keeps_the_region_totals_and_frees_the_split(tmp_path: Path) -> None:
    """Placing the tiny households (11 persons) under a pool of the two provinces with
    exact totals (9 and 2 by the population key): every region gets exactly its total,
    while the municipalities inside P1 get a split other than their indicative 7 and 2
    (the model goes where households do best)."""
    config = RunConfig.model_validate(
        {
            "solver": {"time_limit": 20, "mip_gap": 1e-6},
            "placement": {"scheme": "pool"},
            "schemes": {"pool": POOL},
        }
    )
    run = place(TINY, config)
    assert run.solution.status.has_solution
    regions = run.tables["regions"]
    province = regions[regions["level"] == "province"].set_index("region")["placed_persons"]
    assert province.to_dict() == {"P1": 9, "P2": 2}
    municipalities = run.tables["municipalities"].set_index("municipality")
    assert municipalities["target"].tolist() == [7, 2, 2, 0]
    assert municipalities.loc[["GM0001", "GM0002"], "placed_persons"].tolist() != [7, 2]
    assert run.data.config.penalty_shortfall == 0  # type: ignore[union-attr]


def test_comparison_ranks_the_shortfall_as_computed_by_hand() -> None:
    """The law's numbers add up to 13 for 11 persons: at least 2 persons short of the
    taakstelling; the exact total's 11 can be met. With the taakstelling as the targets
    (placement.shortfall_sharing = objective) the plan is 2 short, the least there is,
    so on shortfall exact_total (0) ranks before the law (2), and the comparison says
    so, with a run folder per scheme."""
    config = {
        "solver": {"time_limit": 20, "mip_gap": 1e-6},
        "placement": {"shortfall_sharing": "objective"},
    }
    result = compare_schemes(["population", "exact_total"], TINY, RunConfig.model_validate(config))
    table = result.comparison.set_index(["scheme", "metric"])["value"]
    assert table[("population", "shortfall")] == 2
    assert table[("exact_total", "shortfall")] == 0
    assert result.targets[["population", "exact_total"]].sum().tolist() == [13, 11]
    assert set(result.runs) == {"population", "exact_total"}


def test_bad_schemes_are_reported_together() -> None:
    """A key on an unknown column, and region totals that name a region the instance
    does not have and miss one it has: every problem at once."""
    config = RunConfig.model_validate(
        {
            "schemes": {
                "odd": {"rule": "key", "key": [{"column": "happiness", "weight": 1}]},
                "wrong_regions": {
                    "rule": "spreidingswet",
                    "column": "ses_score",
                    "region_level": "province",
                    "region_totals": {"P1": 5, "P9": 6},
                },
            }
        }
    )
    with pytest.raises(InputError) as error:
        taakstelling(TINY, 11, "odd", config)
    assert [i.rule for i in error.value.issues] == ["scheme column"]
    with pytest.raises(InputError) as error:
        taakstelling(TINY, 11, "wrong_regions", config)
    assert {i.rule for i in error.value.issues} == {"scheme column", "totals per region"}
    with pytest.raises(Exception, match="add up to 11, not the national 12"):
        RunConfig.model_validate(
            {
                "schemes": {
                    "x": {
                        "rule": "spreidingswet",
                        "column": "ses_score",
                        "region_level": "province",
                        "region_totals": {"P1": 5, "P2": 6},
                        "national": 12,
                    }
                }
            }
        )


def test_an_all_zero_key_column_is_refused() -> None:
    """A key term whose column adds up to 0 has no shares: a clear error."""
    inst = tiny_for_schemes()
    inst.municipalities["woz_value"] = 0.0
    with pytest.raises(Exception, match="adds up to 0"):
        compute_scheme(inst, "koenigstein", 100)


# --------------------------------------------------------------------------- real data


def real(shared: Path) -> Instance:
    from asielplan.data.cbs import load_cbs_municipalities
    from asielplan.data.generator import generate_instance

    cbs = load_cbs_municipalities(
        shared / "nl_gemeenten_2024.csv",
        shared / "nl_gemeenten_2024.geojson",
        shared / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
    )
    return generate_instance(cbs.table, 10, 7, name="national", national=21_200)


def test_the_law_on_the_real_2024_municipalities(shared_data: Path) -> None:
    """vg = 21,200 over the 342 municipalities of 2024: every number is ceil(vg iG / iN)
    computed here with exact fractions; the largest remainder differs for 177 of them."""
    inst = real(shared_data)
    law = compute_scheme(inst, "population", 21_200).table
    population = inst.municipalities["population"].astype(int).tolist()
    total = sum(population)
    by_hand = [
        -(-Fraction(21_200 * p, total).numerator // Fraction(21_200 * p, total).denominator)
        for p in population
    ]
    assert law["taakstelling"].tolist() == by_hand
    assert int(law["taakstelling"].sum()) >= 21_200
    exact = compute_scheme(inst, "exact_total", 21_200).table
    assert int(exact["taakstelling"].sum()) == 21_200
    assert int((law["taakstelling"] != exact["taakstelling"]).sum()) == 177


def test_spreidingswet_totals_on_the_real_municipalities(shared_data: Path) -> None:
    """The shipped provincial totals are those of the shared table and add up to 96,000;
    each province's municipal split adds up to its total; the SES proxy is labelled; the
    fit to the published indicative numbers is reported."""
    from asielplan.experiments.studies.schemes import fit_to_published

    published = pd.read_csv(shared_data / "spreidingswet_2024_opgave_provincies.csv")
    assert (
        dict(zip(published["province_code"], published["opgave_places_2025_07_01"], strict=True))
        == SPREIDINGSWET_PROVINCES
    )
    assert sum(SPREIDINGSWET_PROVINCES.values()) == 96_000
    result = compute_scheme(real(shared_data), "spreidingswet")
    table = result.table
    assert int(table["taakstelling"].sum()) == 96_000
    assert table.groupby("region")["taakstelling"].sum().to_dict() == SPREIDINGSWET_PROVINCES
    assert int(table["amv"].sum()) == 8_140
    assert any("proxy" in label for label in result.labels)
    indicative = pd.read_csv(shared_data / "spreidingswet_2024_indicatie_gemeenten_partial.csv")
    fit = fit_to_published(
        result,
        indicative.rename(columns={"gm_code": "municipality", "indicative_places": "published"}),
    )
    assert len(fit) == len(indicative) and fit["scheme"].notna().all()
    assert 0 <= fit.attrs["mape"] < 1


def test_reception_targets_from_a_scheme(tmp_path: Path) -> None:
    """reception.target_scheme: each region's share of the scheme's numbers (exact_total:
    PA 50,000 and PB 30,000 inhabitants, 5/8 and 3/8) times the persons in reception
    (8 in period 1, 23 in period 2): PA 5 and 14.375, PB 3 and 8.625."""
    from asielplan.model.reception import prepare_reception

    from .reception_helpers import write_reception_instance

    root = write_reception_instance(tmp_path / "r")
    config = RunConfig.model_validate({"reception": {"target_scheme": "exact_total"}})
    data = prepare_reception(read_instance(root), config.reception)
    targets = data.targets.set_index(["region", "period"])["target"].to_dict()
    assert targets == {("PA", 1): 5.0, ("PA", 2): 14.375, ("PB", 1): 3.0, ("PB", 2): 8.625}


def test_generate_writes_reception_headed_where_people_will_be_housed(tmp_path: Path) -> None:
    """generate --reception adds sites and cohorts with three inflows; the high-chance
    arrivals of each COA region are in proportion to the law's taakstelling there
    (within the rounding of whole persons); the instance validates and plans."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    out = tmp_path / "g"
    args = [
        "generate",
        "--seed",
        "4",
        "--synthetic",
        "12",
        "--households",
        "40",
        "--reception",
        "--reception-level",
        "2000",
        "--reception-sites",
        "14",
        "--periods",
        "4",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    inst = read_instance(out)
    assert inst.cohorts is not None and set(inst.cohorts["inflow"].dropna()) == {
        "steady",
        "peak",
        "trough",
    }
    law = compute_scheme(inst, "population").table
    share = law.groupby(inst.municipalities["coa_region"].to_numpy())["taakstelling"].sum()
    share = share / share.sum()
    high = inst.cohorts[(inst.cohorts["track"] == "high") & (inst.cohorts["inflow"] == "steady")]
    arrived = high.groupby("destination")["persons"].sum()
    assert (arrived / arrived.sum() - share).abs().max() < 0.02
    run = CliRunner().invoke(app, ["reception", str(out), "--out", str(tmp_path / "plan")])
    assert run.exit_code == 0, run.output


def test_caps_and_credit_by_hand() -> None:
    """A tax-base key (shares .6316, .1404, .2105, .0175 of vg = 100) with a cap of 1.2
    per 1,000 inhabitants: Ceburg's 21.05 is capped at 18 and the 3.05 goes to the
    others in proportion (65.60, 14.58, 1.82) -> 66, 14, 18, 2. The population key of
    1,000 with the reception places credited (500 and 300): 600 - 500, 200, 150 - 300
    (never below 0), 50 -> 100, 200, 0, 50."""
    config = RunConfig.model_validate(
        {
            "schemes": {
                "capped": {
                    "rule": "key",
                    "key": [{"column": "woz_value", "weight": 1, "per_capita": True}],
                    "cap_per_1000": 1.2,
                },
                "credited": {
                    "rule": "key",
                    "key": [{"column": "population", "weight": 1}],
                    "credit_column": "reception_places",
                },
            }
        }
    )
    assert numbers("capped", 100, config) == [66, 14, 18, 2]
    assert numbers("credited", 1000, config) == [100, 200, 0, 50]


def test_comparison_metrics_say_their_basis_and_the_burden_exists_for_both() -> None:
    """The population key against a pool of the provinces (municipal numbers free): the
    targets' burden Gini is the Gini of the scheme's numbers per 1,000 inhabitants, the
    plan's of the persons placed per 1,000, both recomputed here from the run's tables;
    under the pool the plan is less even than its targets, which the targets' Gini
    cannot show. Every metric has a basis, targets or plan."""
    from asielplan.experiments.results.placement import gini
    from asielplan.experiments.studies.schemes import METRICS

    config = RunConfig.model_validate(
        {
            "solver": {"time_limit": 20, "mip_gap": 1e-6},
            "schemes": {"pool": POOL},
        }
    )
    result = compare_schemes(["population", "pool"], TINY, config)
    table = result.comparison
    assert set(table["basis"]) == {"targets", "plan"}
    assert table.groupby("metric")["basis"].first().to_dict() == {
        m: basis for m, (_, basis) in METRICS.items()
    }
    values = table.set_index(["scheme", "metric"])["value"]
    for scheme, run in result.runs.items():
        assert run.data is None  # kept without its data
        municipalities = run.tables["municipalities"]
        inhabitants = result.targets["inhabitants"].to_numpy(dtype=float)
        targets = result.targets[scheme].to_numpy(dtype=float)
        placed = municipalities["placed_persons"].to_numpy(dtype=float)
        assert values[(scheme, "burden_gini_targets")] == pytest.approx(
            gini(1000 * targets / inhabitants), abs=1e-6
        )
        assert values[(scheme, "burden_gini_plan")] == pytest.approx(
            gini(1000 * placed / inhabitants)
        )
        empty = int(((targets > 0) & (placed == 0)).sum())
        assert values[(scheme, "municipalities_none_placed")] == empty
    # the pool's targets 7, 2, 2, 0 are placed as 8, 1, 2, 0: a plan less even than
    # its targets, which only the plan's Gini shows
    pooled = values.xs("pool", level="scheme")
    placed = result.runs["pool"].tables["municipalities"]["placed_persons"].tolist()
    assert (result.targets["pool"].tolist(), placed) == ([7, 2, 2, 0], [8, 1, 2, 0])
    assert pooled["burden_gini_plan"] > pooled["burden_gini_targets"]


def test_comparison_certifies_differences_only_where_the_intervals_are_apart(
    tmp_path: Path,
) -> None:
    """Without re-solves a plan metric is not measured and never certified, the targets'
    burden is exact, and the objective's interval is the plan's value to the bound.
    With two re-solves per scheme every plan metric has an interval holding its value;
    a row is certified exactly when its interval is apart from the other scheme's, and
    the terminal marks the rest with ~."""
    from typer.testing import CliRunner

    from asielplan.cli import app

    config = RunConfig.model_validate({"solver": {"time_limit": 20, "mip_gap": 1e-6}})
    plain = compare_schemes(["population", "exact_total"], TINY, config)
    by = plain.comparison.set_index(["scheme", "metric"])
    assert by.loc[("population", "labour_score"), "noise"] == "not measured"
    assert not by.loc[("population", "labour_score"), "certified"]
    assert by.loc[("population", "burden_gini_targets"), "noise"] == "exact"
    assert by.loc[("population", "burden_gini_targets"), "certified"]  # 0.111 vs 0.298
    runs = plain.runs
    objective = by.loc[("population", "objective")]
    assert objective["noise"] == "gap"
    assert objective["low"] == pytest.approx(runs["population"].solution.objective)
    assert objective["high"] == pytest.approx(
        max(objective["low"], runs["population"].solution.bound)
    )

    measured = compare_schemes(["population", "exact_total"], TINY, config, noise_seeds=2)
    table = measured.comparison
    seeds = table[table["noise"] == "seeds"]
    assert len(seeds) > 0 and (seeds["low"] <= seeds["value"]).all()
    assert (seeds["value"] <= seeds["high"]).all()
    for metric, part in table.groupby("metric"):
        if len(part) != 2 or part["noise"].isin(["not measured", "no value"]).any():
            assert not part["certified"].any()
            continue
        a, b = part.iloc[0], part.iloc[1]
        apart = a["high"] < b["low"] or b["high"] < a["low"]
        assert part["certified"].tolist() == [apart, apart], metric
    assert len(measured.noise_run_ids["population"]) == 2

    args = ["schemes", "compare", str(TINY), "--schemes", "population,exact_total"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "~2.4" in result.output  # the labour score: not measured, so not certified
    notes = (tmp_path / "out" / "notes.txt").read_text()
    assert "not certified (no re-solves): " in notes and "labour_score" in notes
