"""Placement end to end: hand-checked optima, re-derived constraints, locks and forbids,
at-most-once, infeasibility diagnosis, determinism, and the column generation's proof."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asielplan.api import place, write_run
from asielplan.config import RegionBand, SearchConfig
from asielplan.data.instance import read_instance
from asielplan.errors import AsielplanWarning
from asielplan.model.families import (
    build_placement_model,
    constraint_violations,
    evaluate_assignment,
)
from asielplan.model.placement import Pairs, placed_persons
from asielplan.solvers.highs import HighsSession, compile_model
from asielplan.solvers.placement import (
    PlacementSolution,
    _pair_columns,
    _RestrictedMip,
    _row_complete,
    _Search,
    _singles_integral,
)
from asielplan.solvers.result import Status, proof_target, within_gap

from .placement_helpers import (
    FIXTURES,
    all_pairs,
    brute_force,
    config,
    generated,
    prepared,
    school_places,
    variant,
)

TINY = FIXTURES / "tiny"
RESETTLE = FIXTURES / "resettle"


def codes(run) -> dict[str, str | None]:
    table = run.tables["households"]
    return {
        h: (None if pd.isna(m) else m)
        for h, m in zip(table["household_id"], table["municipality"], strict=True)
    }


def test_generic_shape_hand_checked_optimum() -> None:
    """Two locations (3 and 2 persons), three households: A, B -> L1 and C -> L2 = 220."""
    run = place(RESETTLE, config())
    assert run.solution.status == Status.OPTIMAL
    assert codes(run) == {"A": "L1", "B": "L1", "C": "L2"}
    assert run.solution.objective == pytest.approx(220.0)
    assert run.solution.gap == pytest.approx(0.0, abs=1e-9)


def test_named_capacity_dimension_refuses_a_plan_that_fits_in_persons(tmp_path: Path) -> None:
    """A named dimension, school_places: C (one child) needs one; L1 has one school
    place, L2 none. The persons-only optimum (A, B -> L1, C -> L2: 220) fits in persons
    but not in school places, and is reported as breaking L2's school places by one.
    By hand, C must go to L1 (2 of its 3 persons), A (2 persons) then only fits L2, and
    B fits only beside C in L1: 80 + 50 + 60 = 190, the capacities table shows L1's
    school place used."""
    folder = school_places(tmp_path, "L1,school_places,1\nL2,school_places,0\n")
    cfg = config()
    run = place(folder, cfg)
    assert run.solution.status == Status.OPTIMAL
    assert codes(run) == {"A": "L2", "B": "L1", "C": "L1"}
    assert run.solution.objective == pytest.approx(190.0)
    _, d = prepared(folder, cfg)
    assert d.capacity_dimensions == ("persons", "school_places")
    persons_optimum = np.array([0, 0, 1])  # A, B -> L1, C -> L2
    broken = constraint_violations(d, persons_optimum)
    assert broken[["family", "constraint", "violation"]].values.tolist() == [
        ["capacity", "L2 (school_places)", 1]
    ]
    table = run.tables["capacities"].set_index(["municipality", "dimension"])
    assert table.loc[("L1", "school_places"), "used"] == 1
    assert table.loc[("L1", "school_places"), "free"] == 0
    assert table.loc[("L1", "persons"), "used"] == 3


def test_capacity_in_cases(tmp_path: Path) -> None:
    """Capacity in cases (households), none in persons: L1 takes one case, L2 two. By
    hand, L1's one case is worth most with A (90 + B 40 + C 70 = 200; B there 180, C
    there 170), and L2 then holds B and C, three persons (persons are not limited)."""
    folder = variant(
        tmp_path,
        "resettle",
        {},
        {
            "capacities.csv": (
                "L1,persons,3\nL2,persons,2\n",
                "L1,cases,1\nL2,cases,2\n",
            )
        },
    )
    run = place(folder, config())
    assert run.solution.status == Status.OPTIMAL
    assert codes(run) == {"A": "L1", "B": "L2", "C": "L2"}
    assert run.solution.objective == pytest.approx(200.0)
    municipalities = run.tables["municipalities"].set_index("municipality")
    assert municipalities.loc["L2", "placed_persons"] == 3
    used = run.tables["capacities"].set_index(["municipality", "dimension"])["used"]
    assert used.to_dict() == {("L1", "cases"): 1, ("L2", "cases"): 2}


def test_tiny_optimum_equals_brute_force() -> None:
    """On the 5-household tiny instance the solver's objective is the best of all 4^5
    assignments, each evaluated from the formulation."""
    cfg = config()
    _, d = prepared(TINY, cfg)
    best, _ = brute_force(d)
    run = place(TINY, cfg)
    assert run.solution.objective == pytest.approx(best, abs=1e-6)
    assert evaluate_assignment(d, run.solution.assignment, elastic=False) == pytest.approx(best)


def test_family_tie_is_respected() -> None:
    """H4 has a family tie to GM0002 with radius 0: it can only go there."""
    run = place(TINY, config())
    assert codes(run)["H4"] == "GM0002"


def test_every_hard_family_rederived_from_the_solution() -> None:
    """Band targets, region bands and the assignment, re-derived from the written tables."""
    cfg = config(
        target_mode="band",
        band_lower=0.5,
        band_upper=1.5,
        band_slack_persons=1,
        region_bands=(RegionBand(level="province", lower=0.8, upper=1.2),),
    )
    run = place(TINY, cfg)
    assert run.solution.status == Status.OPTIMAL
    d = run.data
    assert constraint_violations(d, run.solution.assignment).empty
    municipalities = run.tables["municipalities"]
    placed = run.tables["households"].groupby("municipality")["persons"].sum()
    for row in municipalities.itertuples():
        assert placed.get(row.municipality, 0) == row.placed_persons
        assert row.band_lower <= row.placed_persons <= row.band_upper
    regions = run.tables["regions"]
    province = regions[regions["level"] == "province"]
    assert province["within_band"].all()
    assert int(province["placed_persons"].sum()) == 11
    assert run.tables["households"]["placed"].all()


def test_lock_and_forbid_are_respected(tmp_path: Path) -> None:
    """Unconstrained, H1 goes to Bedorp (GM0002) and H2 to Ceburg (GM0003). A lock moves
    H1 to Deveen (GM0004) and a forbid keeps H2 out of Ceburg."""
    free = codes(place(TINY, config()))
    assert free["H1"] == "GM0002" and free["H2"] == "GM0003"
    folder = variant(
        tmp_path,
        "tiny",
        {
            "locks": "household_id,municipality\nH1,GM0004\n",
            "forbidden": "household_id,municipality\nH2,GM0003\n",
        },
    )
    run = place(folder, config())
    result = codes(run)
    assert result["H1"] == "GM0004"
    assert result["H2"] != "GM0003"
    assert bool(run.tables["households"].set_index("household_id").loc["H1", "locked"])


def test_at_most_once_leaves_households_unplaced(tmp_path: Path) -> None:
    """Capacity 2 + 2 for 5 persons and no unplaced penalty: A -> L1 (90), C -> L2 (70),
    B stays unplaced and is reported."""
    folder = variant(tmp_path, "resettle", {}, {"capacities.csv": ("persons,3\n", "persons,2\n")})
    run = place(folder, config(assignment="at_most_once", unplaced_penalty=0.0))
    assert codes(run) == {"A": "L1", "B": None, "C": "L2"}
    assert run.solution.objective == pytest.approx(160.0)
    kpis = run.tables["kpis"].iloc[0]
    assert kpis["unplaced_households"] == 1 and kpis["unplaced_persons"] == 1


def test_infeasible_capacity_is_diagnosed(tmp_path: Path) -> None:
    """Five persons, four places, everyone must be placed: infeasible, and the diagnosis
    says one person does not fit (a capacity overrun or an unplaced household)."""
    folder = variant(tmp_path, "resettle", {}, {"capacities.csv": ("persons,3\n", "persons,2\n")})
    run = place(folder, config())
    assert run.solution.status == Status.INFEASIBLE
    diagnosis = run.tables["diagnosis"]
    assert set(diagnosis["family"]) <= {"capacity", "assignment"}
    assert int(diagnosis["violation"].sum()) == 1


def test_infeasible_region_band_names_the_region_and_amount() -> None:
    """Province P2 (Ceburg + Deveen) has target 2; a band of 3x-4x asks for 6 to 8 persons
    although only households H3 and H5 (7 persons) could go; P1 then must take the rest.
    Hard bands on both provinces cannot hold at once; the diagnosis says by how much."""
    cfg = config(region_bands=(RegionBand(level="province", lower=3.0, upper=4.0),))
    run = place(TINY, cfg)
    assert run.solution.status == Status.INFEASIBLE
    diagnosis = run.tables["diagnosis"]
    assert (diagnosis["family"] == "region band").all()
    d = run.data
    placed = placed_persons(d, run.solution.assignment)
    p1 = next(r for r in d.regions if r.code == "P1")
    # P1's lower bound is 3 x 9 = 27 persons, more than the 11 that exist
    assert p1.lower == 27
    row = diagnosis[diagnosis["constraint"] == "province:P1"].iloc[0]
    assert int(row["violation"]) == 27 - int(placed[p1.members].sum())


def test_counting_proves_infeasibility_before_any_solve() -> None:
    """Tiny has 11 persons. Province bands of 3x-4x ask P1 for 27 and P2 for 6: more
    than there are, seen by counting alone (no LP needed, which at national scale may
    not finish in time); bands of 0.5x-4x (at least 5 + 1) are not refused by it."""
    from asielplan.solvers.placement import _trivially_infeasible

    tight = config(region_bands=(RegionBand(level="province", lower=3.0, upper=4.0),))
    _, d = prepared(TINY, tight)
    assert int(d.persons.sum()) == 11 and sum(r.lower for r in d.regions) == 33
    assert _trivially_infeasible(d)
    loose = config(region_bands=(RegionBand(level="province", lower=0.5, upper=4.0),))
    _, d = prepared(TINY, loose)
    assert not _trivially_infeasible(d)


def test_same_input_same_output_bytes(tmp_path: Path) -> None:
    """Two runs on one instance write byte-identical tables (the clock records, timings
    and trace, excluded); the trace is written and not hashed in the manifest."""
    from asielplan.manifest import CLOCK

    for name in ("a", "b"):
        write_run(place(TINY, config()), tmp_path / name)
    assert (tmp_path / "a" / "trace.csv").is_file()
    hashed = json.loads((tmp_path / "a" / "manifest.json").read_text())["outputs_sha256"]
    assert not set(hashed) & set(CLOCK)
    for file in sorted((tmp_path / "a").glob("*.csv")):
        if file.name not in CLOCK:
            assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes(), file.name


def test_column_generation_bound_equals_full_lp() -> None:
    """The LP bound after pricing equals the LP relaxation over all compatible pairs,
    solved directly: no pair was left out that could improve the LP."""
    from asielplan.data.generator import generate_instance, synthetic_municipalities

    inst = generate_instance(synthetic_municipalities(25, 4), 120, 4, name="cg")
    cfg = config()
    run = place(inst, cfg)
    d = run.data
    full = compile_model(build_placement_model(d, all_pairs(d), relax=True))
    outcome = HighsSession(full, cfg.solver, relax=True).solve()
    assert run.solution.lp_bound == pytest.approx(-outcome.objective, rel=1e-9)
    assert run.solution.objective <= run.solution.bound + 1e-6


def test_the_restricted_mip_widens_to_all_pairs_before_a_step_that_takes_most() -> None:
    """Widening multiplies the pairs per household by four, but goes straight to all
    municipalities once four times as many would be half a household's compatible
    pairs or more (and at once for a small problem)."""
    from asielplan.data.generator import generate_instance, synthetic_municipalities
    from asielplan.solvers.placement import _widened

    d = place(generate_instance(synthetic_municipalities(100, 4), 30, 4, name="w"), config()).data
    per_household = d.allowed.sum() / d.n_households
    assert 40 < per_household <= 100
    assert (
        _widened(d, 5, small=False, search=SearchConfig()) == 20
    )  # 20 < half of the compatible pairs
    assert (
        _widened(d, 20, small=False, search=SearchConfig()) == 100
    )  # 80 would be at least half: all
    assert _widened(d, 5, small=True, search=SearchConfig()) == 100


def _highs_columns(session: HighsSession, pair_at: dict[int, tuple[int, int]]) -> tuple:
    """A HiGHS model read back: its row bounds, each pair's column (cost, bounds,
    integrality, entries) by pair, and the other columns as a sorted list."""
    session.h.ensureColwise()
    lp = session.h.getLp()
    a = lp.a_matrix_
    integer = list(lp.integrality_) or [0] * lp.num_col_
    by_pair, others = {}, []
    for j in range(lp.num_col_):
        entries = tuple(
            (int(a.index_[k]), round(float(a.value_[k]), 12))
            for k in sorted(range(a.start_[j], a.start_[j + 1]), key=lambda k: a.index_[k])
        )
        column = (
            round(float(lp.col_cost_[j]), 12),
            float(lp.col_lower_[j]),
            float(lp.col_upper_[j]),
            str(integer[j]),
            entries,
        )
        if j in pair_at:
            by_pair[pair_at[j]] = column
        else:
            others.append(column)
    return list(lp.row_lower_), list(lp.row_upper_), by_pair, sorted(others)


@pytest.mark.parametrize(
    ("fixture", "placement"),
    [
        ("tiny", {"region_bands": (RegionBand(level="province", lower=0.5, upper=1.5),)}),
        ("tiny", {"part_bounds": {"distance": {"upper": 40.0}}, "assignment": "at_most_once"}),
        ("resettle", {}),
        ("pair", {"group_floors": {"women": 0.1}}),
        ("school", {}),
    ],
)
def test_the_searchs_mip_is_the_pyomo_model_over_all_pairs(
    tmp_path: Path, fixture: str, placement: dict
) -> None:
    """The restricted MIP the search builds (Pyomo over a few pairs that enter every
    row, the rest appended in matrix form) is the Pyomo model over the same pairs: the
    same rows and bounds, every pair's column with the same cost, bounds, integrality
    and entries, and the same other columns. ``school``: a named capacity dimension
    in L2 that only the last household needs (its row's first pairs enter it with 0,
    and that household's pair into L2 is the first of no other row). Its MIP runs use
    the search's pool setting (``solver.search.mip_pool``)."""
    from asielplan.solvers.placement import _RestrictedMip, _Search

    cfg = config(**placement)
    folder = FIXTURES / fixture
    if fixture == "school":
        folder = school_places(tmp_path, "L2,school_places,1\n")
    _, d = prepared(folder, cfg)
    h, m = np.nonzero(d.allowed)
    pairs = Pairs(h, m)
    model = build_placement_model(d, pairs)
    compiled = compile_model(model)
    full = HighsSession(compiled, cfg.solver, relax=False)
    pair_at = {
        j: (int(h[k]), int(m[k])) for j, k in enumerate(_pair_columns(compiled, model)) if k >= 0
    }
    search = _Search(d, cfg.solver, lambda message: None, False, 20.0)
    mip = _RestrictedMip(search, pairs)
    assert len(mip.pairs) == len(pairs) and len(_row_complete(d, pairs)[1]) > 0
    built_at = {int(j): (int(a), int(b)) for j, a, b in zip(mip.x_cols, mip.h, mip.m, strict=True)}
    expected = _highs_columns(full, pair_at)
    got = _highs_columns(mip.session, built_at)
    assert got[0] == expected[0] and got[1] == expected[1]
    assert got[2] == expected[2]
    assert got[3] == expected[3]
    # its MIP runs keep HiGHS's cut and conflict pools to the search's setting, when set
    assert mip.session._new_highs().getOptionValue("mip_pool_soft_limit")[1] == 10_000
    pooled = cfg.solver.model_copy(update={"search": SearchConfig(mip_pool=1000)})
    search = _Search(d, pooled, lambda message: None, False, 20.0)
    small = _RestrictedMip(search, pairs)
    assert small.session._new_highs().getOptionValue("mip_pool_soft_limit")[1] == 1000


def test_weekly_batch_targets_follow_remaining_taakstelling(tmp_path: Path) -> None:
    """batch_share: 11 persons split by what remains (taakstelling 7,2,2,0 minus placed
    5,0,2,0 = 2,2,0,0), so 11 * 2/4 -> 6 and 5 (largest remainder, ties to the first)."""
    from asielplan.model.placement import placement_targets

    folder = variant(
        tmp_path,
        "tiny",
        {
            "progress": "municipality,placed\nGM0001,5\nGM0002,0\nGM0003,2\nGM0004,0\n",
        },
    )
    inst, d = prepared(folder, config(targets="batch_share"))
    targets, _ = placement_targets(inst, d.config)
    assert targets is not None and targets.tolist() == [6, 5, 0, 0]


def test_weekly_batch_reports_where_the_taakstelling_stands() -> None:
    """A remaining-mode run lists per municipality the period's taakstelling (7,2,2,0),
    the persons placed before the batch (5,0,2,0) and the share realised after it:
    (before + placed) / taakstelling, re-derived from the table's own columns."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = variant(
            Path(tmp),
            "tiny",
            {"progress": "municipality,placed\nGM0001,5\nGM0002,0\nGM0003,2\nGM0004,0\n"},
        )
        run = place(folder, config(targets="remaining"))
    table = run.tables["municipalities"]
    assert table["taakstelling"].tolist() == [7, 2, 2, 0]
    assert table["placed_before"].tolist() == [5, 0, 2, 0]
    assert table["target"].tolist() == [2, 2, 0, 0]
    realised = (table["placed_before"] + table["placed_persons"]) / table["taakstelling"]
    assert np.allclose(table["realised"][:3], realised[:3])
    assert np.isnan(table["realised"].iloc[3])


def test_outcome_tables_add_up() -> None:
    """Outcomes by size and by gender composition count every household once."""
    run = place(TINY, config())
    by_size = run.tables["outcomes_by_size"]
    by_gender = run.tables["outcomes_by_gender"]
    assert int(by_size["households"].sum()) == 5 == int(by_gender["households"].sum())
    assert by_size.set_index("size").loc["1", "households"] == 2
    couples = by_gender.set_index("composition").loc["women and men", "households"]
    assert couples == 3  # H2, H3, H5
    kpis = run.tables["kpis"].iloc[0]
    assert kpis["expected_employed"] == pytest.approx(
        float(pd.to_numeric(run.tables["households"]["score"]).sum())
    )


def test_outcomes_of_fewer_than_min_cell_households_are_suppressed() -> None:
    """Privacy: a group of fewer than ``output.min_cell`` households shows its count but
    no outcome. Tiny has 2 one-person households and one each of 2, 3 and 4 persons; one
    single man, one single woman and 3 couples; so with min_cell 2 only the one-person
    row and the couples' row show outcomes. Group outcomes for the scheme comparison
    follow the same rule."""
    from asielplan.config import OutputConfig
    from asielplan.experiments.results.placement import (
        group_kpis,
        household_table,
        member_outcomes,
    )

    run = place(TINY, config().model_copy(update={"output": OutputConfig(min_cell=2)}))
    by_size = run.tables["outcomes_by_size"].set_index("size")
    assert by_size["households"].tolist() == [2, 1, 1, 1, 0]
    assert by_size["suppressed"].tolist() == [False, True, True, True, True]
    assert by_size.loc["1", "persons"] == 2 and not np.isnan(by_size.loc["1", "mean_score"])
    assert by_size.loc[["2", "3", "4"], ["persons", "mean_score"]].isna().all().all()
    by_gender = run.tables["outcomes_by_gender"].set_index("composition")
    assert by_gender["suppressed"].to_dict() == {
        "single man": True,
        "single woman": True,
        "women and men": False,
    }
    assert by_gender.loc["women and men", "persons"] == 9
    assert np.isnan(by_gender.loc["single man", "mean_score"])
    sol, d = run.solution, run.data
    households = household_table(run.instance, d, sol)
    members = member_outcomes(run.instance, run.data, sol)
    shown = group_kpis(members, households, min_cell=1)
    hidden = group_kpis(members, households, min_cell=6)
    assert not np.isnan(shown["score_one_adult"])
    assert all(np.isnan(v) for v in hidden.values())


def test_pricing_matches_the_solver_reduced_costs() -> None:
    """Reduced costs computed by the pricing (c - a'y over every family's terms) equal
    HiGHS's own column duals for the columns in the LP."""
    from asielplan.solvers.placement import _reduced_costs, _row_maps

    _, d = prepared(TINY, config())
    pairs = all_pairs(d)
    model = build_placement_model(d, pairs, relax=True)
    compiled = compile_model(model)
    outcome = HighsSession(compiled, config().solver, relax=True).solve()
    assert outcome.row_duals is not None and outcome.col_duals is not None
    rc = _reduced_costs(
        d, np.arange(d.n_households), outcome.row_duals, _row_maps(d, model, compiled)
    )
    for j, var in enumerate(compiled.columns):
        if var.parent_component() is model.x:
            k = var.index()
            assert rc[pairs.h[k], pairs.m[k]] == pytest.approx(outcome.col_duals[j], abs=1e-7)


def test_other_pyomo_solver_by_name() -> None:
    """solver.name picks any solver Pyomo knows (here Pyomo's own HiGHS interface); it
    gets the full model and finds the same hand-checked optimum."""
    from asielplan.config import RunConfig, SolverConfig

    run = place(RESETTLE, RunConfig(solver=SolverConfig(name="appsi_highs", time_limit=20)))
    assert run.solution.status == Status.OPTIMAL
    assert codes(run) == {"A": "L1", "B": "L1", "C": "L2"}
    assert run.solution.objective == pytest.approx(220.0)


def test_outputs_hold_no_special_category_data() -> None:
    """The household table says whether a hard criterion bound the choice, never which
    (a medical tie is health data); H4's family tie shows only as a flag."""
    table = place(TINY, config()).tables["households"].set_index("household_id")
    assert "tie_kind" not in table.columns
    assert bool(table.loc["H4", "hard_criterion"]) and not bool(table.loc["H1", "hard_criterion"])


@pytest.mark.parametrize("scored", [False, True])
def test_a_location_with_no_capacity_receives_nobody(tmp_path: Path, scored: bool) -> None:
    """A third location L3 with capacity 0: without score rows (no household may go
    there, and reading says so: 3 pairs without a score) or with the best scores of all
    (every household would like to), the run places A, B -> L1 and C -> L2 (220) and
    nobody in L3; it crashed before."""
    scores = "A,L3,0.99\nB,L3,0.99\nC,L3,0.99\n" if scored else ""
    folder = variant(
        tmp_path,
        "resettle",
        {},
        {
            "locations.csv": (
                "L2,Location two,1,41.0,-74.0\n",
                "L2,Location two,1,41.0,-74.0\nL3,Location three,1,42.0,-73.0\n",
            ),
            "capacities.csv": ("L2,persons,2\n", "L2,persons,2\nL3,persons,0\n"),
            "scores.csv": ("C,L2,0.7\n", "C,L2,0.7\n" + scores),
        },
    )
    if scored:
        run = place(folder, config())
    else:
        with pytest.warns(AsielplanWarning, match=r"3 \(household, municipality\) pairs"):
            run = place(folder, config())
    assert run.solution.status == Status.OPTIMAL
    assert codes(run) == {"A": "L1", "B": "L1", "C": "L2"}
    assert run.solution.objective == pytest.approx(220.0)
    municipalities = run.tables["municipalities"].set_index("municipality")
    assert municipalities.loc["L3", "placed_persons"] == 0


def test_the_shipped_score_only_example_reaches_its_hand_optimum() -> None:
    """data/examples/resettle with data/examples/score-only.toml: the optimum worked out
    in its instance.toml (A and B in L1, C in L2, D in L3: 2.8) exactly (gap 0), and
    case E, compatible with nothing, stays unplaced with a warning."""
    import warnings

    from asielplan.api import place
    from asielplan.config import load_config

    examples = Path(__file__).parents[1] / "data" / "examples"
    config = load_config(examples / "score-only.toml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = place(examples / "resettle", config)
    assert any("'E' is compatible with no municipality" in str(w.message) for w in caught)
    assert run.solution.objective == pytest.approx(2.8)
    assert run.solution.gap == pytest.approx(0.0, abs=1e-9)
    households = run.tables["households"].set_index("household_id")["municipality"]
    assert households.fillna("").to_dict() == {"A": "L1", "B": "L1", "C": "L2", "D": "L3", "E": ""}


def generic_instance(
    folder: Path, cases: int, locations: int, seed: int, room: dict[str, float] | None = None
) -> Path:
    """A seeded instance of the generic shape (``generate_generic_instance``) written to
    ``folder``: capacities in persons only, 10% above the persons in all, unless ``room``
    says otherwise."""
    from asielplan.data.generator import generate_generic_instance
    from asielplan.data.instance import write_instance

    inst = generate_generic_instance(cases, locations, seed, room=room or {"persons": 1.1})
    return write_instance(inst, folder)


def test_a_generic_instance_of_500_cases_ends_at_the_exact_optimum(tmp_path: Path) -> None:
    """The default configuration on 500 cases without a taakstelling asks for gap 0
    (solver.exact_up_to) and proves it (a gap below 1e-6); one more case than
    exact_up_to keeps the configured gap."""
    from asielplan.api import place
    from asielplan.config import RunConfig, SolverConfig
    from asielplan.solvers.placement import requested

    run = place(generic_instance(tmp_path / "g", 500, 40, seed=1), RunConfig())
    assert run.solution.status.value == "optimal"
    assert run.solution.requested_gap == 0.0
    assert run.solution.gap is not None and run.solution.gap < 1e-6
    assert requested(run.data, SolverConfig(exact_up_to=499)).mip_gap == pytest.approx(1e-3)


def test_column_generation_keeps_every_capacity_dimension(tmp_path: Path) -> None:
    """300 generated cases on 20 locations, capacity in persons, in cases and in a named
    dimension (school places, needed by each child; 20% fewer than the children, so
    they bind): the column-generation solve (restricted pairs) and the full model
    through Pyomo's own HiGHS interface reach the same proven optimum, and the plan is
    re-derived to keep every capacity in every dimension (a case may stay unplaced: the
    capacities are tight)."""
    from asielplan.config import PlacementConfig, RunConfig, SolverConfig
    from asielplan.model.placement import capacity_used

    room = {"persons": 1.1, "cases": 1.2, "school": 0.8}
    folder = generic_instance(tmp_path / "g", 300, 20, seed=3, room=room)
    placement = PlacementConfig(assignment="at_most_once")  # tight: a few stay unplaced
    ours = place(folder, RunConfig(placement=placement, solver=SolverConfig(mip_gap=0.0)))
    full = place(
        folder,
        RunConfig(placement=placement, solver=SolverConfig(name="appsi_highs", mip_gap=0.0)),
    )
    assert ours.solution.status == full.solution.status == Status.OPTIMAL
    assert ours.solution.objective == pytest.approx(full.solution.objective, abs=1e-6)
    d = ours.data
    assert d.capacity_dimensions == ("cases", "persons", "school")
    used = capacity_used(d, ours.solution.assignment)
    assert (used <= d.capacity + 1e-9).all()
    assert (used[2] >= d.capacity[2] - 1).any()  # school places bind somewhere


def test_a_shortfall_is_shared_in_proportion_to_the_taakstelling() -> None:
    """The tiny taakstelling by the law, 7, 3, 2, 1 (13: it rounds up), for 11 persons. Shared
    (the default): 11 x 7/13 = 5.92, 2.54, 1.69, 0.85 by largest remainder 6, 2, 2, 1,
    the targets the plan is measured against; the taakstelling stays beside them. With
    ``objective`` the targets are the taakstelling. The kpis report the national share
    short, 2/13, and the largest share a municipality is short, recomputed here."""
    shared = place(TINY, config(scheme="population"))
    municipalities = shared.tables["municipalities"]
    assert municipalities["target"].tolist() == [6, 2, 2, 1]
    assert municipalities["taakstelling"].tolist() == [7, 3, 2, 1]
    kpis = shared.tables["kpis"].iloc[0]
    assert kpis["national_shortfall_share"] == pytest.approx(2 / 13)
    period = municipalities["taakstelling"].to_numpy(dtype=float)
    short = np.clip(period - municipalities["placed_persons"].to_numpy(dtype=float), 0, None)
    assert kpis["largest_relative_shortfall"] == pytest.approx((short / period).max())
    kept = place(TINY, config(scheme="population", shortfall_sharing="objective")).tables[
        "municipalities"
    ]
    assert kept["target"].tolist() == [7, 3, 2, 1]
    # a weekly batch's targets are what remains, never scaled to the batch
    inst = read_instance(TINY)
    inst.progress = pd.DataFrame({"municipality": ["GM0001"], "placed": [2]})
    weekly = place(inst, config(scheme="population", targets="remaining")).tables
    assert weekly["municipalities"]["target"].tolist() == [5, 3, 2, 1]
    assert np.isnan(weekly["kpis"]["largest_relative_shortfall"].iloc[0])


def test_the_search_trace_tells_incumbent_and_bound_over_time() -> None:
    """trace (the incumbent and the bound at each change): seconds in order, every
    incumbent better than the one before, every bound tighter, each gap recomputed from
    its row, and its last plan and bound those of the solution. The progress tells the
    first plan once, with its value and gap as in the trace's first incumbent."""
    from asielplan.config import RunConfig
    from asielplan.solvers.result import relative_gap

    said: list[str] = []
    run = place(
        None, RunConfig.model_validate({"solver": {"time_limit": 10}}), progress=said.append
    )
    sol = run.solution
    trace = sol.trace
    assert trace is not None
    assert list(trace.columns) == ["seconds", "event", "objective", "bound", "gap"]
    assert trace["seconds"].is_monotonic_increasing
    incumbents = trace.loc[trace["event"] == "incumbent", "objective"]
    bounds = trace.loc[trace["event"] == "bound", "bound"]
    assert len(incumbents) >= 1 and len(bounds) >= 1
    assert incumbents.is_monotonic_increasing and bounds.is_monotonic_decreasing
    both = trace.dropna(subset=["objective", "bound"])
    for row in both.itertuples():
        assert row.gap == pytest.approx(relative_gap(-row.objective, -row.bound))
    assert incumbents.iloc[-1] == pytest.approx(sol.objective)
    assert trace["bound"].dropna().iloc[-1] == pytest.approx(sol.bound)
    firsts = [m for m in said if "first plan" in m]
    assert len(firsts) == 1
    first = trace[trace["event"] == "incumbent"].iloc[0]
    assert f"first plan {first.objective:,.2f}" in firsts[0]
    assert f"gap {first.gap:.3%} to the bound" in firsts[0]


def test_first_target_covers_overlap_less_with_cover_uses() -> None:
    """The first LP's target covers on 300 generated households and 20 municipalities
    (need 1.5 x the target plus the largest household): by regret alone (cover_uses 0)
    the households of least regret sit in many covers; with cover_uses 2 none is in
    more than two (the persons suffice for two covers each) and every cover still
    reaches its need."""
    from asielplan.solvers.placement import target_covers

    d = generated(20, 300, 2, config())
    assert d.target is not None
    value = np.where(d.allowed, d.value_rows(np.arange(d.n_households)), -np.inf)
    regret = value.max(axis=1, keepdims=True) - value
    need = 1.5 * d.target + d.persons.max()
    assert 2 * d.persons.sum() >= need.sum() + len(need) * d.persons.max()
    by_regret = target_covers(d.persons, regret, need, 0)
    spread = target_covers(d.persons, regret, need, 2)
    assert np.bincount(np.concatenate(by_regret)).max() > 2
    assert np.bincount(np.concatenate(spread)).max() <= 2
    for m, cover in enumerate(spread):
        assert d.persons[cover].sum() >= need[m]


def test_target_covers_take_households_in_the_order_of_one_full_sort() -> None:
    """Each cover is the prefix, up to the household whose persons reach the need, of
    one full sort of the compatible households by (already in cover_uses covers, regret,
    index): checked on 400 seeded households, 30 municipalities with regrets of few
    distinct values (many ties), a third incompatible, needs from 0 to all persons."""
    from asielplan.solvers.placement import target_covers

    rng = np.random.default_rng(11)
    persons = rng.integers(1, 6, 400)
    regret = rng.integers(0, 4, (400, 30)).astype(float)
    regret[rng.random((400, 30)) < 0.33] = np.inf
    need = rng.uniform(0, persons.sum() / 3, 30)
    need[:3] = [0.0, 1.0, float(persons.sum() + 1)]
    for cover_uses in (0, 1, 2):
        uses = np.zeros(400, dtype=np.int64)
        expected: list[np.ndarray] = [np.zeros(0, np.int64)] * 30
        for m in np.argsort(-need, kind="stable"):
            order = np.lexsort((regret[:, m], (uses >= cover_uses) & (cover_uses > 0)))
            order = order[np.isfinite(regret[order, m])]
            expected[m] = order[: int(np.searchsorted(np.cumsum(persons[order]), need[m])) + 1]
            uses[expected[m]] += 1
        got = target_covers(persons, regret, need, cover_uses)
        for m in range(30):
            assert got[m].tolist() == expected[m].tolist()
        assert len(got[2]) == int(np.isfinite(regret[:, 2]).sum())  # never reaches: all


def test_the_search_mips_stop_at_the_first_plan_that_proves_the_run() -> None:
    """A MIP of the search gets as its target the objective that the bound so far
    proves: on a generated instance (60 households, 12 municipalities, seed 3) with a gap of 2%,
    the MIP over all pairs, asked for a gap of 0, stops at its first plan within 2% of
    the LP bound (counted in the stats) where without the target it goes on to a better
    one, the optimum."""
    cfg = config()
    cfg = cfg.model_copy(update={"solver": cfg.solver.model_copy(update={"mip_gap": 0.02})})
    d = generated(12, 60, 3, cfg)
    search = _Search(d, cfg.solver, lambda message: None, False, 60.0)
    assert not isinstance(search.column_generation(), PlacementSolution)
    assert search.bound is not None
    mip = _RestrictedMip(search, all_pairs(d))
    stopped = search._timed_solve(mip.session, 60.0, gap=0.0)
    assert stopped.message == "kObjectiveTarget" and search.stats["target_stops"] == 1
    assert stopped.objective is not None
    assert stopped.objective <= proof_target(search.bound, 0.02)
    assert within_gap(stopped.objective, search.bound, 0.02)
    optimum = mip.session.solve(gap=0.0)
    assert optimum.status == Status.OPTIMAL and optimum.objective is not None
    assert optimum.objective < stopped.objective - 1.0


def test_neighbourhoods_stop_at_the_target_only_where_their_singles_stay_whole() -> None:
    """Neighbourhoods leave single persons continuous; their LP optimum is whole (a
    transportation problem) on the tiny instance as it is and with province bands, so
    those MIPs may stop at the proof target; a bound on distance couples the singles
    (HiGHS's objective would then be a fractional one, not the plan read back), so they
    do not."""
    assert _singles_integral(prepared(TINY, config())[1])
    bands = (RegionBand(level="province", lower=0.9, upper=1.1),)
    assert _singles_integral(prepared(TINY, config(region_bands=bands))[1])
    bounded = config(part_bounds={"distance": {"upper": 170.0}})
    assert not _singles_integral(prepared(TINY, bounded)[1])
