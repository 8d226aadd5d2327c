"""Instance x configuration checks: what a valid instance and a valid configuration can
still get wrong together, found before any model is built.

Each ``check_*`` function takes the instance, the run configuration and the kind of
run (``place`` or ``reception``) and returns issues; it never raises. Issues with
``severity="warning"`` are legal input that is probably not meant (the run goes on and
says so). :func:`check_run` runs them all; ``asielplan validate`` and every run call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from asielplan.config import RunConfig
from asielplan.data.checks import households_without_a_place
from asielplan.data.instance import META_FILE, Instance
from asielplan.data.reception import inflows_of
from asielplan.errors import Issue
from asielplan.model.groups import GROUPS
from asielplan.model.labour import NO_MEMBER_OUTCOMES, term_problems
from asielplan.model.placement import BOUNDABLE, TARGET_GAPS, haversine_km
from asielplan.model.reception import BOUNDABLE as RECEPTION_BOUNDABLE
from asielplan.model.schemes import check_scheme, schemes_of

Problem = Literal["place", "reception", "chain"]  # which model a run checks against
RunCheck = Callable[[Instance, RunConfig, Problem], list[Issue]]
CONFIG = "configuration"


def check_problem_tables(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Placement needs households; reception needs cohorts and ``[reception]``; the
    chain plan a forecast and ``[chain]``."""
    if kind == "place" and "households" not in inst.meta.tables:
        return [Issue(META_FILE, None, None, "required table", "placement needs households")]
    if kind == "reception" and (inst.cohorts is None or inst.meta.reception is None):
        return [
            Issue(
                META_FILE,
                None,
                None,
                "reception data",
                "reception planning needs [reception] and a cohorts table",
            )
        ]
    if kind == "chain" and (inst.forecast is None or inst.meta.chain is None):
        return [
            Issue(
                META_FILE,
                None,
                None,
                "chain data",
                "the chain plan needs [chain] and a forecast table",
            )
        ]
    return []


def check_taakstelling_scheme(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """The quota scheme of the targets (``placement.scheme``, else the instance's
    ``[taakstelling].scheme``) is known and can be computed on this instance."""
    spec = inst.meta.taakstelling
    if spec is None or kind != "place":
        if spec is not None and spec.scheme not in schemes_of(config.schemes):
            return [_unknown_scheme(spec.scheme, config)]
        return []
    name = config.placement.scheme or spec.scheme
    if name not in schemes_of(config.schemes):
        return [_unknown_scheme(name, config)]
    return check_scheme(inst, name, config.schemes)


def _unknown_scheme(name: str, config: RunConfig) -> Issue:
    return Issue(
        META_FILE,
        None,
        "taakstelling.scheme",
        "known scheme",
        f"no scheme {name!r}; known: {', '.join(sorted(schemes_of(config.schemes)))}",
    )


def check_region_bands(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """A region band names a region level of the instance, and needs a taakstelling
    (its band is a share of the region's summed targets)."""
    if kind != "place":
        return []
    issues = []
    levels = inst.region_levels
    for band in config.placement.region_bands:
        if band.level not in levels or band.level not in inst.municipalities.columns:
            issues.append(
                Issue(
                    CONFIG,
                    None,
                    "placement.region_bands.level",
                    "known region level",
                    f"{band.level!r} is not a region level of the instance "
                    f"(region_levels: {', '.join(levels) or 'none'})",
                )
            )
        if inst.meta.taakstelling is None:
            issues.append(
                Issue(
                    CONFIG,
                    None,
                    "placement.region_bands",
                    "bands need targets",
                    f"a band on {band.level!r} is a share of the summed taakstelling, but "
                    "the instance has no [taakstelling]",
                )
            )
    return issues


def check_weekly_targets(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Weekly targets (``remaining``, ``batch_share``) need a progress table (without
    one they would silently be the full taakstelling); a progress table that the
    targets do not use is probably a mistake."""
    if kind != "place" or inst.meta.taakstelling is None:
        return []
    targets = config.placement.targets
    if targets in ("remaining", "batch_share") and inst.progress is None:
        return [
            Issue(
                CONFIG,
                None,
                "placement.targets",
                "progress needed",
                f"targets = {targets!r} subtract what was placed so far this period, but "
                "the instance has no progress table",
            )
        ]
    if targets == "taakstelling" and inst.progress is not None:
        return [
            Issue(
                CONFIG,
                None,
                "placement.targets",
                "progress unused",
                "the instance has a progress table, but targets = 'taakstelling' places "
                "against the full half-year number (use 'remaining' for a weekly batch)",
                severity="warning",
            )
        ]
    return []


def check_part_bounds(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Bounds name quantities the model has (reception: money, moves, emergency,
    crisis); placement: shortfall, excess and deviation need soft
    targets, unplaced needs ``assignment = 'at_most_once'``, changes a previous plan."""
    if kind == "reception":
        return [
            Issue(
                CONFIG,
                None,
                f"reception.part_bounds.{name}",
                "known quantity",
                f"not a quantity a bound can hold; quantities: {', '.join(RECEPTION_BOUNDABLE)}",
            )
            for name in sorted(config.reception.part_bounds)
            if name not in RECEPTION_BOUNDABLE
        ]
    if kind != "place":
        return []
    c = config.placement
    has_targets = inst.meta.taakstelling is not None and c.target_mode == "soft"
    issues = []
    for name in sorted(c.part_bounds):
        if name not in BOUNDABLE:
            reason = f"not a part of the objective; parts: {', '.join(BOUNDABLE)}"
        elif name in TARGET_GAPS and not has_targets:
            reason = "the model has it only with a taakstelling as soft target"
        elif name == "unplaced" and c.assignment != "at_most_once":
            reason = "the model has it only with assignment = 'at_most_once'"
        elif name == "changes" and inst.previous_plan is None:
            reason = "the model has it only against a previous plan (--previous)"
        else:
            continue
        issues.append(Issue(CONFIG, None, f"placement.part_bounds.{name}", "known part", reason))
    return issues


def check_group_floors(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Floors name known groups, and the instance has members to form them."""
    if kind != "place":
        return []
    issues = []
    for group in sorted(config.placement.group_floors):
        if group not in GROUPS:
            reason = f"not a group; groups: {', '.join(GROUPS)}"
        elif inst.members is None:
            reason = "groups are formed from the members table, which this instance lacks"
        elif inst.scores is not None:
            reason = NO_MEMBER_OUTCOMES
        else:
            continue
        issues.append(Issue(CONFIG, None, f"placement.group_floors.{group}", "known group", reason))
    return issues


def check_group_outcomes(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """A placement scored by a scores table (households) has no members' outcomes: a
    warning that the group outcomes stay empty, and why (floors on groups are refused
    by :func:`check_group_floors`)."""
    if kind != "place" or inst.scores is None or inst.members is None:
        return []
    file = inst.files.get("scores", "scores")
    message = (
        f"outcomes_by_gender and the women's and men's outcomes stay empty: {NO_MEMBER_OUTCOMES}"
    )
    return [Issue(file, None, None, "group outcomes", message, severity="warning")]


def check_labour_model(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """The configuration's labour coefficients name every term and only terms, and are
    the run's one model: not beside a scores or predictions table, which would replace
    them."""
    coefficients = config.labour.coefficients
    if kind != "place" or not coefficients:
        return []
    issues = [
        Issue(CONFIG, None, "labour.coefficients", "every term", problem)
        for problem in term_problems(coefficients)
    ]
    for table in ("scores", "predictions"):
        if getattr(inst, table) is not None:
            reason = (
                f"the instance's {table} table replaces the labour model: give the fitted "
                f"model or the {table} table, not both"
            )
            issues.append(Issue(CONFIG, None, "labour", "one model", reason))
    return issues


def check_coa_region_level(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Households leave from reception sites, but the COA region level is missing, so
    leaving it costs nothing."""
    level = config.placement.coa_region_level
    has_sites = "site_id" in inst.households.columns and inst.households["site_id"].notna().any()
    if kind != "place" or not has_sites or level in inst.municipalities.columns:
        return []
    return [
        Issue(
            CONFIG,
            None,
            "placement.coa_region_level",
            "known region level",
            f"the municipality table has no column {level!r}: leaving the COA region is "
            "not counted",
            severity="warning",
        )
    ]


def check_inflow(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """The inflow to plan for is one of the cohorts table."""
    inflow = config.reception.inflow
    if kind != "reception" or inflow is None or inst.cohorts is None:
        return []
    known = inflows_of(inst)
    if inflow in known:
        return []
    return [
        Issue(
            CONFIG,
            None,
            "reception.inflow",
            "known inflow",
            f"no inflow {inflow!r}; known: {', '.join(known)}",
        )
    ]


def check_target_scheme(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Region targets from a quota scheme need a region level, a scheme that can be
    computed here, and no region_targets table beside them."""
    name = config.reception.target_scheme
    if kind != "reception" or name is None:
        return []
    spec = inst.meta.reception
    issues = []
    if spec is None or spec.region_level is None:
        issues.append(
            Issue(
                CONFIG,
                None,
                "reception.target_scheme",
                "region level",
                "region targets need [reception].region_level",
            )
        )
    if inst.region_targets is not None:
        issues.append(
            Issue(
                CONFIG,
                None,
                "reception.target_scheme",
                "one source of targets",
                "the instance has a region_targets table: use it or the scheme, not both",
            )
        )
    return issues + check_scheme(inst, name, config.schemes)


def check_households_have_a_place(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """A household compatible with no municipality (an allowed row with an empty
    municipality, or every place forbidden) cannot be placed: an error when every
    household must be (exactly once), a warning that it stays unplaced otherwise."""
    if kind != "place" or "household_id" not in inst.households:
        return []
    blocked = households_without_a_place(inst)
    if not blocked:
        return []
    hh = inst.households
    file = inst.files.get("households", "households")
    must = config.placement.assignment == "exactly_once"
    rows = np.flatnonzero(hh["household_id"].isin(blocked).to_numpy()) + 1
    return [
        Issue(
            file,
            int(row),
            "household_id",
            "has a place",
            f"household {hh['household_id'].iloc[row - 1]!r} is compatible with no "
            "municipality (allowed and forbidden tables): "
            + (
                "it cannot be placed exactly once; with placement.assignment = "
                "'at_most_once' it stays unplaced"
                if must
                else "it stays unplaced"
            ),
            "error" if must else "warning",
        )
        for row in rows
    ]


TIE_WORDS = {"family": "a first-degree family tie", "medical": "a medical tie"}


def check_locks_keep_criteria(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """A lock to a municipality that the household's hard criterion excludes (a family or
    medical tie: within its radius of the tie's municipality) is refused, unless its
    row in the locks table says ``override = true``: then it is a warning that names
    the broken criterion."""
    locks, hh, muni = inst.locks, inst.households, inst.municipalities
    if kind != "place" or locks is None or not len(locks) or "tie_municipality" not in hh:
        return []
    ties = hh.set_index("household_id")
    where = dict(zip(muni["code"], range(len(muni)), strict=True))
    located = "lat" in muni and "lon" in muni
    file = inst.files.get("locks", "locks")
    issues = []
    for row, lock in enumerate(locks.to_dict("records"), start=1):
        household, target = lock["household_id"], lock["municipality"]
        if household not in ties.index or target not in where:
            continue  # named by the table checks
        tie = ties.loc[household]
        place = tie.get("tie_municipality")
        if place is None or (isinstance(place, float) and np.isnan(place)) or place not in where:
            continue
        radius = float(tie.get("tie_radius_km") or 0.0)
        radius = 0.0 if np.isnan(radius) else radius
        if located:
            a, b = where[place], where[target]
            lat, lon = muni["lat"].to_numpy(float), muni["lon"].to_numpy(float)
            km = float(haversine_km(lat[[a]], lon[[a]], lat[[b]], lon[[b]])[0, 0])
        else:
            km = 0.0 if place == target else float("inf")
        if km <= radius + 1e-9:
            continue
        what = TIE_WORDS.get(str(tie.get("tie_kind")), f"a {tie.get('tie_kind')} tie")
        criterion = f"{what} requires a place within {radius:g} km of {place}"
        override = lock.get("override") == "true"
        issues.append(
            Issue(
                file,
                row,
                "municipality",
                "lock keeps the hard criterion",
                f"the lock of {household!r} to {target} breaks its hard criterion: {criterion} "
                f"({km:,.0f} km away)"
                + (
                    "; kept, as the lock overrides it"
                    if override
                    else "; set override = true in the lock's row to keep it anyway"
                ),
                "warning" if override else "error",
            )
        )
    return issues


RUN_CHECKS: tuple[RunCheck, ...] = (
    check_problem_tables,
    check_households_have_a_place,
    check_locks_keep_criteria,
    check_taakstelling_scheme,
    check_region_bands,
    check_weekly_targets,
    check_part_bounds,
    check_group_floors,
    check_group_outcomes,
    check_labour_model,
    check_coa_region_level,
    check_inflow,
    check_target_scheme,
)


def check_run(inst: Instance, config: RunConfig, kind: Problem) -> list[Issue]:
    """Every instance x configuration check for a run of ``kind``; problems and
    warnings together."""
    issues: list[Issue] = []
    for check in RUN_CHECKS:
        issues.extend(check(inst, config, kind))
    return issues
