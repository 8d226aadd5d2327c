"""The primal heuristics keep the rows a move can break: bounded objective parts and
group floors (local search), and bring a plan that breaks them, or a municipality's
band or capacity, back (repair)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from asielplan.model.families import constraint_violations
from asielplan.model.placement import Pairs, bounded_quantities
from asielplan.model.placement import group_floor_values as floor_values
from asielplan.solvers.heuristics import improve_by_moves, repair_bounds

from .placement_helpers import FIXTURES, all_pairs, config, generated, prepared, school_places


def test_local_search_never_leaves_a_distance_bound() -> None:
    """From every feasible plan of the tiny instance under a distance bound, the moves
    end at a plan that still meets the bound and is at least as good."""
    from asielplan.model.families import evaluate_assignment

    unbounded = prepared(FIXTURES / "tiny", config())[1]
    pairs = all_pairs(unbounded)
    options = [np.flatnonzero(unbounded.allowed[h]).tolist() for h in range(5)]
    km = [
        bounded_quantities(unbounded, np.array(c))["distance"] for c in itertools.product(*options)
    ]
    bound = float(np.median(km))
    _, d = prepared(FIXTURES / "tiny", config(part_bounds={"distance": {"upper": bound}}))
    checked = 0
    for combo in itertools.product(*options):
        a = np.array(combo)
        if len(constraint_violations(d, a)):
            continue
        after = improve_by_moves(d, pairs, a)
        assert not len(constraint_violations(d, after))
        assert (
            evaluate_assignment(d, after, elastic=False)
            >= evaluate_assignment(d, a, elastic=False) - 1e-9
        )
        checked += 1
    assert checked > 10


def test_repair_brings_a_plan_back_within_distance_bound_and_group_floor() -> None:
    """The labour optimum of the pair instance gives the woman the weaker municipality;
    under a floor of 0.2 on women's mean (above her chance there, below it in the
    stronger one) repair moves her to the stronger one and the floor holds. On the tiny
    instance the farthest plan is brought within a distance bound it breaks."""
    floored = config(penalty_shortfall=1000.0, penalty_excess=1000.0, group_floors={"women": 0.2})
    _, d = prepared(FIXTURES / "pair", floored)
    pairs = all_pairs(d)
    start = np.array([0, 1])  # the man in Aastad, the woman in Bedorp
    assert floor_values(d, start)[0] < d.group_floors[0].lower
    repaired = repair_bounds(d, pairs, start)
    assert repaired[1] == 0
    assert floor_values(d, repaired)[0] >= d.group_floors[0].lower

    _, free = prepared(FIXTURES / "tiny", config())
    options = [np.flatnonzero(free.allowed[h]).tolist() for h in range(5)]
    plans = [np.array(c) for c in itertools.product(*options)]
    km = [bounded_quantities(free, a)["distance"] for a in plans]
    far = plans[int(np.argmax(km))]
    bound = float(np.min(km)) + 0.25 * (max(km) - min(km))
    _, d2 = prepared(FIXTURES / "tiny", config(part_bounds={"distance": {"upper": bound}}))
    assert bounded_quantities(d2, far)["distance"] > bound
    fixed = repair_bounds(d2, all_pairs(d2), far)
    assert bounded_quantities(d2, fixed)["distance"] <= bound + 1e-9


def test_repair_brings_municipalities_back_within_their_bands() -> None:
    """The tiny instance in band mode (90-110% of the targets 7 / 2 / 2 / 0, one person
    of slack): every one of the 233 plans that breaks a band is repaired to a plan that
    breaks none (a rounded LP solution in band mode breaks bands; before, the repair
    left them), also when given no pairs but the plan's own (it adds the moves into and
    out of the broken municipalities). With no slack, where single moves cannot always
    reach the bands, a repair never adds to the persons outside them nor breaks another
    row."""
    for slack, lower, upper in ((1, 0.9, 1.1), (0, 0.8, 1.2)):
        settings = config(
            target_mode="band", band_slack_persons=slack, band_lower=lower, band_upper=upper
        )
        _, d = prepared(FIXTURES / "tiny", settings)
        assert d.target.tolist() == [7, 2, 2, 0]
        pairs = all_pairs(d)
        options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
        broken = repaired = unaided = 0
        for combo in itertools.product(*options):
            a = np.array(combo)
            before = constraint_violations(d, a)
            if not len(before):
                continue
            broken += 1
            after = constraint_violations(d, repair_bounds(d, pairs, a))
            assert set(after["family"]) <= {"taakstelling band"}
            assert after["violation"].sum() <= before["violation"].sum()
            repaired += not len(after)
            # given only the plan's own pairs (no move), the repair adds every move into
            # and out of the broken municipalities
            own = Pairs(np.arange(d.n_households), a)
            alone = constraint_violations(d, repair_bounds(d, own, a))
            assert alone["violation"].sum() <= before["violation"].sum()
            unaided += not len(alone)
        if slack:
            assert (broken, repaired, unaided) == (233, 233, 233)
        else:
            assert (broken, repaired, unaided) == (248, 184, 184)


def test_repair_widens_to_as_many_broken_municipalities_as_its_cap_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given only the plan's own pairs, the tiny instance in band mode (one person of
    slack): with no room for pairs beyond them (``WIDEN_PAIRS`` 0) the repair still
    takes the moves into and out of one broken municipality, which repairs 125 of the
    233 plans that break a band; with the default room, all of them."""
    from asielplan.solvers import heuristics

    settings = config(target_mode="band", band_slack_persons=1, band_lower=0.9, band_upper=1.1)
    _, d = prepared(FIXTURES / "tiny", settings)
    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    plans = [np.array(c) for c in itertools.product(*options)]
    broken = [a for a in plans if len(constraint_violations(d, a))]

    def repaired() -> int:
        own = [repair_bounds(d, Pairs(np.arange(d.n_households), a), a) for a in broken]
        return sum(not len(constraint_violations(d, a)) for a in own)

    assert (len(broken), repaired()) == (233, 233)
    monkeypatch.setattr(heuristics, "WIDEN_PAIRS", 0)
    assert repaired() == 125


def test_repair_widens_to_the_municipalities_off_target_for_a_broken_deviation_bound() -> None:
    """The tiny instance (targets 7, 2, 2, 0; households of 1, 2, 3, 1 and 4 persons)
    with the total deviation from the targets at most 4 or 2 persons: of its 256 plans,
    234 and 249 break the bound. Given only each plan's own pairs (no move at all), the
    repair adds the moves into and out of every municipality off its target and brings
    all 234, and 134 of the 249, back within every rule (none without the widened
    moves); it widens to every municipality off its target, the furthest off first."""
    from asielplan.model.families import RowState
    from asielplan.model.placement import bounded_quantities, placed_persons

    for bound, expected in ((4.0, (234, 234)), (2.0, (249, 134))):
        _, d = prepared(FIXTURES / "tiny", config(part_bounds={"deviation": {"upper": bound}}))
        assert d.target is not None and d.target.tolist() == [7, 2, 2, 0]
        options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
        plans = [np.array(c) for c in itertools.product(*options)]
        broken = [a for a in plans if len(constraint_violations(d, a))]
        own = [repair_bounds(d, Pairs(np.arange(d.n_households), a), a) for a in broken]
        kept = [a for a in own if not len(constraint_violations(d, a))]
        assert (len(broken), len(kept)) == expected
        assert all(bounded_quantities(d, a)["deviation"] <= bound for a in kept)
        narrow = [
            repair_bounds(d, Pairs(np.arange(d.n_households), a), a, widen=False) for a in broken
        ]
        assert not any(not len(constraint_violations(d, a)) for a in narrow)  # none unwidened
        for a in broken:  # every municipality off its target, the furthest off first
            widened = RowState(d, a).repair_municipalities()
            off = np.abs(placed_persons(d, a) - d.target)
            assert set(widened.tolist()) == set(np.flatnonzero(off > 0).tolist())
            assert (np.diff(off[widened]) <= 0).all()


def test_repair_widens_to_a_broken_region_bands_members() -> None:
    """Generated households (400 on 40 municipalities in 4 provinces, seed 3) with
    province bands of +-5%; 20 seeded plans, each household at a random compatible
    municipality, all break a band. The municipalities a repair widens to are the broken
    provinces' members, and given only each plan's own pairs the repair brings all 20
    back within every rule."""
    from asielplan.config import RegionBand
    from asielplan.model.families import RegionBands, RowState

    band = RegionBand(level="province", lower=0.95, upper=1.05)
    d = generated(40, 400, 3, config(region_bands=(band,)))
    rng = np.random.default_rng(1)
    broken_plans = repaired = 0
    for _ in range(20):
        a = np.array([rng.choice(np.flatnonzero(d.allowed[h])) for h in range(d.n_households)])
        state = RowState(d, a)
        f = next(i for i, fam in enumerate(state.families) if isinstance(fam, RegionBands))
        off = np.flatnonzero(state.rows[f].outside(state.now[f]) > 1e-9)
        members = {int(m) for k in off for m in np.flatnonzero(d.regions[k].members)}
        assert set(state.repair_municipalities().tolist()) == members
        broken_plans += bool(len(constraint_violations(d, a)))
        plan = repair_bounds(d, Pairs(np.arange(d.n_households), a), a)
        repaired += not len(constraint_violations(d, plan))
    assert (broken_plans, repaired) == (20, 20)


def test_a_widened_repair_keeps_the_municipalities_in_the_order_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no room for pairs beyond them (``WIDEN_PAIRS`` 0) the widening takes the
    first municipality of its list, in the order given (3 before 0), not the lowest
    index: on the tiny instance, from the plan's own pairs, every compatible pair into
    municipality 3 or of a household placed there joins, and none into 0."""
    from asielplan.solvers import heuristics

    _, d = prepared(FIXTURES / "tiny", config())
    a = np.array([np.flatnonzero(d.allowed[h])[0] for h in range(d.n_households)])
    own = Pairs(np.arange(d.n_households), a)
    monkeypatch.setattr(heuristics, "WIDEN_PAIRS", 0)
    wide = heuristics._with_moves_at(d, own, a, np.array([3, 0]))
    added = {(int(h), int(m)) for h, m in zip(wide.h, wide.m, strict=True)} - {
        (h, int(a[h])) for h in range(d.n_households)
    }
    into = {(int(h), 3) for h in np.flatnonzero(d.allowed[:, 3])}
    out = {(int(h), int(m)) for h in np.flatnonzero(a == 3) for m in np.flatnonzero(d.allowed[h])}
    assert added == (into | out) - {(h, int(a[h])) for h in range(d.n_households)}
    assert added and not any(m == 0 and a[h] != 0 for h, m in added)


def test_repair_brings_a_plan_back_within_capacities(tmp_path: Path) -> None:
    """The resettle fixture with school places (L1: 3 persons and 1 school place, L2: 2
    and 0; A 2 persons, B 1, C 2 with a child who needs a school place): all in L1
    (5 persons) and A, B in L2 (3 persons) are repaired by one move to the only plan
    within every capacity, A in L2 and B, C in L1; C in L2 (no school place there) needs
    two moves at once and stays; no repair adds to a capacity's overrun."""
    _, d = prepared(school_places(tmp_path, "L1,school_places,1\nL2,school_places,0\n"), config())
    pairs = all_pairs(d)
    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    for combo in itertools.product(*options):
        a = np.array(combo)
        before = constraint_violations(d, a)
        after = constraint_violations(d, repair_bounds(d, pairs, a))
        assert after["violation"].sum() <= before["violation"].sum()
    assert repair_bounds(d, pairs, np.array([0, 0, 0])).tolist() == [1, 0, 0]
    assert repair_bounds(d, pairs, np.array([1, 1, 0])).tolist() == [1, 0, 0]
    assert repair_bounds(d, pairs, np.array([0, 0, 1])).tolist() == [0, 0, 1]


def test_plan_from_choices_takes_the_best_choice_and_inserts_the_unchosen() -> None:
    """On the tiny instance: H2, chosen by two municipalities, goes to the one where its
    value is higher; H3 and H5 keep their only choice; H4 keeps its family tie; H1,
    chosen by none, is inserted where the whole plan's objective is highest (with no
    candidate moves, the plan is not changed afterwards)."""
    from asielplan.model.families import evaluate_assignment
    from asielplan.solvers.heuristics import plan_from_choices

    _, d = prepared(FIXTURES / "tiny", config())
    h = np.array([1, 1, 2, 3, 4])
    m = np.array([0, 2, 2, 1, 3])
    plan = plan_from_choices(
        d, h, m, Pairs(np.zeros(0, dtype=int), np.zeros(0, dtype=int)), widen=True
    )
    better = (
        0
        if d.value(np.array([1]), np.array([0]))[0] > d.value(np.array([1]), np.array([2]))[0]
        else 2
    )
    assert plan[1] == better
    assert plan[2] == 2 and plan[3] == 1 and plan[4] == 3
    options = np.flatnonzero(d.allowed[0])
    values = []
    for option in options:
        trial = plan.copy()
        trial[0] = option
        values.append(evaluate_assignment(d, trial, elastic=False))
    assert plan[0] == options[int(np.argmax(values))]


def test_first_neighbourhood_frees_where_plan_and_lp_disagree() -> None:
    """Round 1 frees the single persons and the households the LP does not place whole
    where the plan has them (split, or whole elsewhere); a household the LP places whole
    where the plan has it stays fixed."""
    from asielplan.solvers.heuristics import neighbourhood

    _, d = prepared(FIXTURES / "tiny", config())
    plan = np.array([0, 0, 2, 1, 3])
    # LP: H2 whole in GM0001 (as the plan), H3 whole in GM0004 (plan: GM0003),
    # H5 split between GM0004 (0.6, the plan's) and GM0003
    lp = Pairs(np.array([1, 2, 4, 4]), np.array([0, 3, 3, 2]))
    x = np.array([1.0, 1.0, 0.6, 0.4])
    free = neighbourhood(d, plan, lp, 1, lp, x)
    assert free.tolist() == [True, False, True, True, True]


def test_polish_keeps_the_sizes_per_municipality_and_reassigns_within_them() -> None:
    """With the households of each size per municipality kept, the polish re-chooses
    which household takes which place: on a generated instance (40 households, 15
    municipalities), from a deliberately poor plan, the polished plan has the same
    counts per municipality and size, and its pair value equals the optimum of one
    assignment problem per size (households to the plan's places, solved by scipy's
    Hungarian method); the target penalties do not change."""
    from scipy.optimize import linear_sum_assignment

    from asielplan.config import SolverConfig
    from asielplan.model.families import evaluate_assignment
    from asielplan.solvers.placement import _RestrictedMip, _Search

    d = generated(15, 40, 4, config())
    solver = SolverConfig(time_limit=20, mip_gap=1e-9)
    search = _Search(d, solver, lambda message: None, False, 20)
    value = np.where(d.allowed, d.value_rows(np.arange(d.n_households)), -np.inf)
    worst = np.where(d.allowed, value, np.inf).argmin(axis=1)  # each household's worst place
    assert search.offer(worst)
    before = evaluate_assignment(d, worst, elastic=False)
    mip = _RestrictedMip(search, all_pairs(d))
    mip.polish()
    after = search.assignment
    for size in np.unique(d.persons):
        of = d.persons == size
        assert np.array_equal(
            np.bincount(worst[of], minlength=d.n_municipalities),
            np.bincount(after[of], minlength=d.n_municipalities),
        )
    best = 0.0
    for size in np.unique(d.persons):
        households = np.flatnonzero(d.persons == size)
        places = worst[households]  # the plan's places for this size, one per household
        cost = -value[households][:, places]
        cost[~np.isfinite(cost)] = 1e9
        rows, cols = linear_sum_assignment(cost)
        best += -cost[rows, cols].sum()
    penalty = d.target_penalty(
        np.arange(d.n_municipalities),
        np.bincount(worst, weights=d.persons, minlength=d.n_municipalities),
    ).sum()
    assert evaluate_assignment(d, after, elastic=False) == pytest.approx(best - penalty, abs=1e-6)
    assert evaluate_assignment(d, after, elastic=False) > before


def _improving_left(d: object, a: np.ndarray) -> list[str]:
    """Every single move, swap and, in soft mode, chain (out of a municipality over its
    target, the ejected household on to one short of its own) that would give plan ``a``
    a higher objective within every row, found by trying each on the whole plan."""
    from asielplan.model.families import evaluate_assignment

    def better(plan: np.ndarray) -> bool:
        higher = evaluate_assignment(d, plan, elastic=False) > now + 1e-7  # type: ignore[arg-type]
        return higher and not len(constraint_violations(d, plan))  # type: ignore[arg-type]

    allowed, target = d.allowed, d.target  # type: ignore[attr-defined]
    soft = d.config.target_mode == "soft"  # type: ignore[attr-defined]
    now = evaluate_assignment(d, a, elastic=False)  # type: ignore[arg-type]
    load = np.bincount(a, weights=d.persons, minlength=len(target))  # type: ignore[attr-defined]
    found = []
    for h1, m2 in zip(*np.nonzero(allowed), strict=True):
        m1 = a[h1]
        if m1 == m2:
            continue
        moved = a.copy()
        moved[h1] = m2
        if better(moved):
            found.append(f"move {h1}->{m2}")
        ends = [m1, *np.flatnonzero(load < target)] if soft and load[m1] > target[m1] else [m1]
        for h2 in np.flatnonzero(a == m2):
            for m3 in ends:
                if m3 == m2 or not allowed[h2, m3]:
                    continue
                both = moved.copy()
                both[h2] = m3
                if better(both):
                    found.append(f"eject {h1}->{m2}, {h2}->{m3}")
    return found


def test_local_search_ends_where_no_move_swap_or_chain_pays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From every plan of the tiny instance and from seeded plans of a generated one
    (60 households, 12 municipalities), the local search ends at a plan no single move,
    swap or chain improves (each tried on the whole plan). On the tiny instance 131 of
    the 256 plans end at the optimum; by single moves alone 105, and 57 end where a swap
    or chain still pays."""
    from asielplan.model.families import evaluate_assignment
    from asielplan.solvers import heuristics

    _, tiny = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(tiny)
    options = [np.flatnonzero(tiny.allowed[h]).tolist() for h in range(tiny.n_households)]
    plans = [np.array(c) for c in itertools.product(*options)]
    ends = [improve_by_moves(tiny, pairs, a) for a in plans]
    assert all(not _improving_left(tiny, a) for a in ends)
    best = max(evaluate_assignment(tiny, a, elastic=False) for a in plans)

    def at_best(found: list[np.ndarray]) -> int:
        return sum(evaluate_assignment(tiny, a, elastic=False) >= best - 1e-9 for a in found)

    monkeypatch.setattr(heuristics, "_eject", lambda *args: 0)
    alone = [improve_by_moves(tiny, pairs, a) for a in plans]
    assert (len(plans), at_best(ends), at_best(alone)) == (256, 131, 105)
    assert sum(bool(_improving_left(tiny, a)) for a in alone) == 57
    monkeypatch.undo()

    d = generated(12, 60, 3, config())
    rng = np.random.default_rng(5)
    for _ in range(3):
        start = np.array([rng.choice(np.flatnonzero(row)) for row in d.allowed])
        end = improve_by_moves(d, all_pairs(d), start)
        assert not _improving_left(d, end)


def test_swaps_keep_full_bands() -> None:
    """The tiny instance in band mode (90-110% of the targets, one person of slack): from
    every plan within the bands the local search ends within them, no worse, where no
    single move or swap within the bands improves (bands 5-9, 0-4, 0-4, 0-1 persons).
    By hand, from H1 in GM0004, H2 and H5 in GM0001, H3 in GM0003, H4 in GM0002 (6, 1,
    3, 1 persons): H2 (2 persons) to GM0003 alone breaks its band (5), but swapped with
    H3 (3 persons) it keeps every band (7, 1, 2, 1) and is applied together
    (:meth:`RowState.apply_if_kept`); H5 (4) swapped with H1 (1) would put 4 in GM0004:
    not applied, the rows and persons as they were, in the arrays held before (the
    local search re-weighs ejections on the persons it holds: restored by rebinding, it
    weighed them on a refused ejection's persons)."""
    from asielplan.model.families import RowState, evaluate_assignment

    settings = config(target_mode="band", band_slack_persons=1, band_lower=0.9, band_upper=1.1)
    _, d = prepared(FIXTURES / "tiny", settings)
    pairs = all_pairs(d)
    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    feasible = [
        np.array(c)
        for c in itertools.product(*options)
        if not len(constraint_violations(d, np.array(c)))
    ]
    assert len(feasible) == 23  # by single moves alone, 20 of them end where a swap pays
    for a in feasible:
        end = improve_by_moves(d, pairs, a)
        assert not len(constraint_violations(d, end))
        assert (
            evaluate_assignment(d, end, elastic=False)
            >= evaluate_assignment(d, a, elastic=False) - 1e-9
        )
        assert not _improving_left(d, end)

    a = np.array([3, 0, 2, 1, 0])
    state = RowState(d, a)
    band = [f.name for f in state.families].index("taakstelling band")
    alone = state.batch(np.array([1]), np.array([0]), np.array([2]))
    assert alone.breaks(band).tolist() == [True]
    assert state.apply_if_kept(np.array([1, 2]), np.array([0, 2]), np.array([2, 0]))
    assert state.placed.tolist() == [7, 1, 2, 1]
    rows = [now.copy() for now in state.now]
    held = state.placed, state.now[band]  # arrays a caller keeps (the local search does)
    assert not state.apply_if_kept(np.array([4, 0]), np.array([0, 3]), np.array([3, 0]))
    assert state.placed.tolist() == [7, 1, 2, 1]
    assert all((was == now).all() for was, now in zip(rows, state.now, strict=True))
    assert held[0] is state.placed and held[1] is state.now[band]
    assert held[0].tolist() == [7, 1, 2, 1] and (held[1] == rows[band]).all()


def test_keep_together_is_the_rows_after_both_moves(tmp_path: Path) -> None:
    """For every pair of moves (h1 from m1 to m2, a household h2 of m2 on to any m3) of
    every tenth plan of the tiny instance in band mode (90-110%, no slack) and of every
    plan of the resettle fixture with school places (capacities in persons and school
    places): whether together they take no row of one municipality further out
    (:meth:`RowState.keep_together`, all pairs at once) is whether applying both to the
    rows does (:meth:`RowState.apply_if_kept`)."""
    from asielplan.model.families import MOVE_FAMILIES, RowState

    band = config(target_mode="band", band_slack_persons=0, band_lower=0.9, band_upper=1.1)
    cases = [(prepared(FIXTURES / "tiny", band)[1], 10)]
    places = school_places(tmp_path, "L1,school_places,1\nL2,school_places,0\n")
    cases.append((prepared(places, config())[1], 1))
    local = tuple(f for f in MOVE_FAMILIES if f.per_municipality)
    checked = broken = 0
    for d, every in cases:
        options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
        for a in [np.array(c) for c in itertools.product(*options)][::every]:
            pairs = [
                (h1, m2, h2, m3)
                for h1, m2 in zip(*np.nonzero(d.allowed), strict=True)
                if m2 != a[h1]
                for h2 in np.flatnonzero(a == m2)
                for m3 in np.flatnonzero(d.allowed[h2])
                if m3 != m2
            ]
            if not pairs:
                continue
            h1, m2, h2, m3 = (np.array(c) for c in zip(*pairs, strict=True))
            state = RowState(d, a, families=local)
            together = state.keep_together(
                (h1, a[h1], m2), (h2, m2, m3), state.positions(per_municipality=True)
            )
            for k in range(len(h1)):
                alone = RowState(d, a, families=local)
                hs = np.array([h1[k], h2[k]])
                kept = alone.apply_if_kept(hs, a[hs], np.array([m2[k], m3[k]]))
                assert kept == together[k]
                checked += 1
                broken += not kept
    assert (checked, broken) == (696, 558)


def test_local_search_stops_when_asked() -> None:
    """``stop`` is asked before each pass: stopping after the first pass ends every plan
    of the tiny instance where one pass ends it (the search's time limit cuts the local
    search between passes); of the 256 plans, 213 need more than one pass."""
    _, d = prepared(FIXTURES / "tiny", config())
    pairs = all_pairs(d)
    options = [np.flatnonzero(d.allowed[h]).tolist() for h in range(d.n_households)]
    longer = 0
    for combo in itertools.product(*options):
        a = np.array(combo)
        asked = itertools.count()
        once = improve_by_moves(d, pairs, a, max_passes=1)
        stopped = improve_by_moves(d, pairs, a, stop=lambda asked=asked: next(asked) >= 1)
        assert stopped.tolist() == once.tolist()
        longer += improve_by_moves(d, pairs, a).tolist() != once.tolist()
    assert longer == 213


def test_the_target_penalty_change_of_a_move_by_hand() -> None:
    """Soft targets of 5 persons, shortfall 2 and excess 3 a person (tiny instance's
    municipalities): 4 persons joining 3 fall from 2 short (4) to 2 over (6), a change
    of -2; 2 leaving 6 go from 1 over (3) to 1 short (2), +1; at the target nothing joins."""
    from dataclasses import replace

    _, d = prepared(FIXTURES / "tiny", config(penalty_shortfall=2.0, penalty_excess=3.0))
    d = replace(d, target=np.full(d.n_municipalities, 5.0))
    m = np.zeros(3, dtype=np.int64)
    change = d.target_penalty_change(m, np.array([3.0, 6.0, 5.0]), np.array([4.0, -2.0, 0.0]))
    assert change.tolist() == [-2.0, 1.0, 0.0]


def test_a_block_round_frees_the_households_of_the_drawn_municipalities() -> None:
    """A block round frees the single persons, the unplaced households and every
    household placed in one of the municipalities it draws (a quarter of them, at least
    one): on a generated instance (60 households, 20 municipalities), the free set is
    exactly that for three seeds, with 5 municipalities drawn; a share of 1 frees
    everyone, a tiny share one municipality's households."""
    from asielplan.solvers.heuristics import block_neighbourhood

    d = generated(20, 60, 5, config())
    rng = np.random.default_rng(3)
    plan = rng.integers(0, d.n_municipalities, d.n_households)
    plan[:4] = -1
    always = (d.persons == 1) | (plan < 0)
    for seed in (1, 2, 3):
        drawn = np.random.default_rng(seed).choice(d.n_municipalities, 5, replace=False)
        free = block_neighbourhood(d, plan, 0.25, np.random.default_rng(seed))
        assert free.tolist() == (always | np.isin(plan, drawn)).tolist()
        assert 0 < (free & ~always).sum() < (~always).sum()
    assert block_neighbourhood(d, plan, 1.0, np.random.default_rng(1)).all()
    one = block_neighbourhood(d, plan, 0.001, np.random.default_rng(1)) & ~always
    assert len(np.unique(plan[one])) == 1


def test_no_neighbourhood_round_repeats_an_earlier_one_on_the_same_plan() -> None:
    """From the optimal plan no neighbourhood round improves it, so every round whose
    rule frees the same households as an earlier round on that plan is a block round
    instead, drawn from the run's seed, and said so in the progress. On a generated
    instance (40 households, 15 municipalities, every municipality on target at the
    optimum) the rule frees the same 22 single persons in every round: round 1 runs the
    rule, rounds 2 and 3 are blocks; a second call of the rounds (as after the pattern
    rounds) runs blocks only, each freeing other households than every round before.
    A better plan clears the rounds tried."""
    from asielplan.config import SolverConfig
    from asielplan.solvers.heuristics import block_neighbourhood, neighbourhood
    from asielplan.solvers.placement import _RestrictedMip, _Search, solve_placement

    d = generated(15, 40, 4, config())
    solved = solve_placement(d, SolverConfig(time_limit=30, mip_gap=1e-9))
    assert solved.status.value == "optimal"
    optimum = solved.assignment
    solver = SolverConfig(time_limit=30, mip_gap=1e-9, search={"lns_rounds": 3})
    said: list[str] = []
    search = _Search(d, solver, said.append, False, 30)
    assert search.offer(optimum)
    search.bound = search.objective - 1_000.0  # far from a proof: every round runs
    pairs = all_pairs(d)
    lp = Pairs(np.arange(d.n_households), optimum)
    x = np.ones(d.n_households)
    mip = _RestrictedMip(search, pairs)
    search._neighbourhoods(mip, pairs, lp, x)
    search._neighbourhoods(mip, pairs, lp, x)
    assert search.assignment.tolist() == optimum.tolist()
    rounds = [m.split("] ")[-1] for m in said if "] neighbourhood" in m]
    draws = np.random.default_rng(solver.seed)
    expected, tried = [], []
    for round_no in (1, 2, 3, 1, 2, 3):
        free = neighbourhood(d, optimum, pairs, round_no, lp, x)
        block = any(np.array_equal(earlier, free) for earlier in tried)
        if block:
            free = block_neighbourhood(d, optimum, solver.search.block_share, draws)
            assert not any(np.array_equal(earlier, free) for earlier in tried)
        tried.append(free)
        expected.append(f"{'block, ' if block else ''}{int(free.sum())} households free")
    assert [m.split("(")[1].split(")")[0] for m in rounds] == expected
    assert [("block" in m) for m in rounds] == [False, True, True, True, True, True]
    assert expected[0] == "22 households free"
    assert len(search.tried) == 6
    search2 = _Search(d, solver, said.append, False, 30)
    search2.tried = [np.ones(d.n_households, dtype=bool)]
    assert search2.offer(optimum) and search2.tried == []
