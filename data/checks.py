"""Cross-table rules of an instance: one named ``check_*`` function per rule.

Each check takes an :class:`~asielplan.data.instance.Instance` whose tables passed (or
partly passed) their own schemas, and returns the list of issues it finds; it never
raises. Checks skip columns that are missing, since the schema already reported them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asielplan.data.chain import check_chain
from asielplan.data.instance import capacity_matrix, household_needs
from asielplan.data.schemas import BUILTIN_DIMENSIONS, MODALITIES, WORKING_AGE
from asielplan.errors import Issue

if TYPE_CHECKING:
    from asielplan.data.instance import Instance

Check = Callable[["Instance"], list[Issue]]


def _has(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is not None and all(c in frame.columns for c in columns)


def _rows(mask: pd.Series) -> Iterable[int]:
    return (int(i) + 1 for i in np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool)))


def _unknown_refs(
    inst: Instance, table: str, column: str, known: set[str] | None, what: str, rule: str
) -> list[Issue]:
    """Rows of ``table`` whose ``column`` is not in ``known`` (None: the reference table
    could not be read, so there is nothing to compare with)."""
    frame = inst.table(table)
    if known is None or table not in inst.loaded or not _has(frame, column):
        return []
    assert frame is not None
    values = frame[column]
    mask = values.notna() & ~values.isin(list(known))
    return [
        Issue(
            inst.files.get(table, table),
            row,
            column,
            rule,
            f"{values.iloc[row - 1]!r} is not a known {what}",
        )
        for row in _rows(mask)
    ]


def _known(inst: Instance, table: str, column: str) -> set[str] | None:
    frame = inst.table(table)
    if table not in inst.loaded or not _has(frame, column):
        return None
    assert frame is not None
    return set(frame[column].dropna())


def _municipality_codes(inst: Instance) -> set[str] | None:
    return _known(inst, "municipalities", "code")


def _unknown_municipalities(
    inst: Instance, table: str, column: str = "municipality", rule: str = "unknown municipality"
) -> list[Issue]:
    """Rows of ``table`` whose ``column`` names no municipality of the instance."""
    return _unknown_refs(inst, table, column, _municipality_codes(inst), "municipality code", rule)


def _household_ids(inst: Instance) -> set[str] | None:
    return _known(inst, "households", "household_id")


def check_tables_not_empty(inst: Instance) -> list[Issue]:
    """The municipalities, and households or cohorts when declared, have at least one
    row (a file with only its header has none)."""
    issues = []
    for table in ("municipalities", "households", "cohorts"):
        frame = inst.table(table)
        if table in inst.loaded and frame is not None and frame.empty:
            issues.append(
                Issue(inst.files.get(table, table), None, None, "rows", "the table has no rows")
            )
    return issues


def check_located(inst: Instance) -> list[Issue]:
    """Coordinates come as lat and lon together; without them a tie cannot reach beyond
    its own municipality; a taakstelling needs the population."""
    muni = inst.municipalities
    file = inst.files.get("municipalities", "municipalities")
    issues = []
    if _has(muni, "code") and ("lat" in muni) != ("lon" in muni):
        given, missing = ("lat", "lon") if "lat" in muni else ("lon", "lat")
        issues.append(
            Issue(file, None, missing, "coordinates", f"{given} is given without {missing}")
        )
    hh = inst.households
    if _has(muni, "code") and "lat" not in muni and _has(hh, "tie_radius_km"):
        households = inst.files.get("households", "households")
        issues += [
            Issue(
                households,
                row,
                "tie_radius_km",
                "coordinates",
                "a tie radius needs the municipalities' lat and lon",
            )
            for row in _rows(hh["tie_radius_km"].fillna(0) > 0)
        ]
    if inst.meta.taakstelling is not None and _has(muni, "code") and "population" not in muni:
        issues.append(
            Issue(
                file,
                None,
                "population",
                "population",
                "a taakstelling needs the municipalities' population (Huisvestingswet 2014 "
                "art. 29)",
            )
        )
    return issues


def check_region_levels(inst: Instance) -> list[Issue]:
    """Every declared region level is a column of the municipality table, with no gaps."""
    issues = []
    file = inst.files.get("municipalities", "municipalities")
    for level in inst.meta.region_levels:
        if level not in inst.municipalities.columns:
            issues.append(
                Issue(
                    file,
                    None,
                    level,
                    "region level",
                    f"instance.toml declares region level '{level}' but the "
                    "municipality table has no such column",
                )
            )
            continue
        codes = inst.municipalities[level].astype("string").str.strip()
        issues += [
            Issue(file, row, level, "region level", "the region code is missing")
            for row in _rows(codes.isna() | (codes == ""))
        ]
    return issues


def check_site_municipalities(inst: Instance) -> list[Issue]:
    """Every reception site lies in a known municipality."""
    return _unknown_municipalities(inst, "sites")


def check_household_sites(inst: Instance) -> list[Issue]:
    """Every household's current site is a known reception site."""
    return _unknown_refs(
        inst,
        "households",
        "site_id",
        _known(inst, "sites", "site_id"),
        "reception site",
        "unknown site",
    )


def check_household_composition(inst: Instance) -> list[Issue]:
    """adults + children = persons, and every household has at least one adult unless
    the data mark it a household of unaccompanied minors (``unaccompanied_minors`` = 1,
    then with no adult)."""
    hh = inst.households
    if not _has(hh, "persons", "adults", "children"):
        return []
    file = inst.files.get("households", "households")
    issues = [
        Issue(
            file,
            row,
            "persons",
            "composition",
            f"adults ({hh['adults'].iloc[row - 1]}) + children "
            f"({hh['children'].iloc[row - 1]}) != persons ({hh['persons'].iloc[row - 1]})",
        )
        for row in _rows(hh["adults"] + hh["children"] != hh["persons"])
    ]
    minors = (
        hh["unaccompanied_minors"].fillna(0).astype(int) == 1
        if "unaccompanied_minors" in hh
        else pd.Series(False, index=hh.index)
    )
    issues += [
        Issue(
            file,
            row,
            "adults",
            "composition",
            "a household needs at least one adult, unless it is a household of "
            "unaccompanied minors (unaccompanied_minors = 1)",
        )
        for row in _rows((hh["adults"] < 1) & ~minors)
    ]
    issues += [
        Issue(
            file,
            row,
            "unaccompanied_minors",
            "composition",
            f"a household of unaccompanied minors has no adult, not {hh['adults'].iloc[row - 1]}",
        )
        for row in _rows((hh["adults"] > 0) & minors)
    ]
    return issues


def check_ties(inst: Instance) -> list[Issue]:
    """A hard-criterion tie names a known municipality, and a kind goes with a place."""
    hh = inst.households
    issues = _unknown_municipalities(inst, "households", "tie_municipality", "tie to unknown place")
    if _has(hh, "tie_kind", "tie_municipality"):
        file = inst.files.get("households", "households")
        issues += [
            Issue(
                file,
                row,
                "tie_municipality",
                "tie complete",
                f"tie_kind {hh['tie_kind'].iloc[row - 1]!r} needs a tie_municipality",
            )
            for row in _rows(hh["tie_kind"].notna() & hh["tie_municipality"].isna())
        ]
        issues += [
            Issue(
                file,
                row,
                "tie_kind",
                "tie complete",
                "tie_municipality is set but tie_kind is empty",
            )
            for row in _rows(hh["tie_kind"].isna() & hh["tie_municipality"].notna())
        ]
    return issues


def check_members(inst: Instance) -> list[Issue]:
    """Members belong to known households; their count and adults match the household."""
    members = inst.members
    if not _has(members, "household_id", "age_band"):
        return []
    assert members is not None
    issues = _unknown_refs(
        inst, "members", "household_id", _household_ids(inst), "household", "unknown household"
    )
    hh = inst.households
    if not _has(hh, "household_id", "persons", "adults"):
        return issues
    counts = members.groupby("household_id").size()
    adults = (members["age_band"] != "0-17").groupby(members["household_id"]).sum()
    file = inst.files.get("households", "households")
    n_members = hh["household_id"].map(counts).fillna(0).astype(int)
    n_adults = hh["household_id"].map(adults).fillna(0).astype(int)
    issues += [
        Issue(
            file,
            row,
            "persons",
            "members match",
            f"household {hh['household_id'].iloc[row - 1]!r} has persons="
            f"{hh['persons'].iloc[row - 1]} but {n_members.iloc[row - 1]} member row(s)",
        )
        for row in _rows(n_members != hh["persons"])
    ]
    issues += [
        Issue(
            file,
            row,
            "adults",
            "members match",
            f"household {hh['household_id'].iloc[row - 1]!r} has adults="
            f"{hh['adults'].iloc[row - 1]} but {n_adults.iloc[row - 1]} adult member(s)",
        )
        for row in _rows((n_members == hh["persons"]) & (n_adults != hh["adults"]))
    ]
    return issues


def check_pair_tables(inst: Instance) -> list[Issue]:
    """Score, allowed, forbidden and lock rows name known households and municipalities."""
    issues: list[Issue] = []
    for table in ("scores", "allowed", "forbidden", "locks"):
        issues += _unknown_refs(
            inst, table, "household_id", _household_ids(inst), "household", "unknown household"
        )
        issues += _unknown_municipalities(inst, table)
    return issues


def check_locks(inst: Instance) -> list[Issue]:
    """A household has at most one lock, never to a forbidden or disallowed place."""
    locks = inst.locks
    if not _has(locks, "household_id", "municipality"):
        return []
    assert locks is not None
    file = inst.files.get("locks", "locks")
    issues = [
        Issue(
            file,
            row,
            "household_id",
            "one lock",
            f"household {locks['household_id'].iloc[row - 1]!r} is locked more than once",
        )
        for row in _rows(locks["household_id"].duplicated(keep="first"))
    ]
    pairs = pd.MultiIndex.from_frame(locks[["household_id", "municipality"]])
    if _has(inst.forbidden, "household_id", "municipality"):
        assert inst.forbidden is not None
        forbidden = pd.MultiIndex.from_frame(inst.forbidden[["household_id", "municipality"]])
        issues += [
            Issue(
                file,
                row,
                "municipality",
                "lock vs forbid",
                "this pair is also in the forbidden table",
            )
            for row in _rows(pd.Series(pairs.isin(forbidden)))
        ]
    if _has(inst.allowed, "household_id", "municipality"):
        assert inst.allowed is not None
        allowed = pd.MultiIndex.from_frame(inst.allowed[["household_id", "municipality"]])
        restricted = locks["household_id"].isin(set(inst.allowed["household_id"]))
        issues += [
            Issue(
                file,
                row,
                "municipality",
                "lock vs allowed",
                "this household has an allowed list that does not include this municipality",
            )
            for row in _rows(restricted & ~pd.Series(pairs.isin(allowed)))
        ]
    return issues


def households_without_a_place(inst: Instance) -> set[str]:
    """Households compatible with no municipality: an allowed row with an empty
    municipality, every municipality forbidden, or only forbidden allowed ones. Whether
    that is an error depends on the run (``placement.assignment``)."""
    allowed = inst.allowed if _has(inst.allowed, "household_id", "municipality") else None
    forbidden = inst.forbidden if _has(inst.forbidden, "household_id", "municipality") else None
    blocked: set[str] = set()
    restricted: set[str] = set()
    if forbidden is not None:
        forbidden = forbidden.drop_duplicates(["household_id", "municipality"])
    if allowed is not None:
        restricted = set(allowed["household_id"])
        listed = allowed[allowed["municipality"].notna()]
        if forbidden is not None:
            keys = listed.set_index(["household_id", "municipality"]).index
            gone = forbidden.set_index(["household_id", "municipality"]).index
            listed = listed[~keys.isin(gone)]
        blocked |= restricted - set(listed["household_id"])
    if forbidden is not None:
        n_muni = len(_municipality_codes(inst) or ())
        free = forbidden[~forbidden["household_id"].isin(restricted)]
        per_household = free.groupby("household_id").size()
        blocked |= set(per_household[per_household >= n_muni].index)
    return blocked


def check_allowed_nothing_alone(inst: Instance) -> list[Issue]:
    """An allowed row with an empty municipality (compatible with nothing) is the
    household's only allowed row."""
    allowed = inst.allowed
    if not _has(allowed, "household_id", "municipality"):
        return []
    assert allowed is not None
    nothing = allowed["municipality"].isna()
    both = set(allowed.loc[nothing, "household_id"]) & set(allowed.loc[~nothing, "household_id"])
    file = inst.files.get("allowed", "allowed")
    return [
        Issue(
            file,
            row,
            "municipality",
            "compatible with nothing",
            "an empty municipality says this household may go nowhere, but it has other "
            "allowed rows",
        )
        for row in _rows(nothing & allowed["household_id"].isin(both))
    ]


def check_capacities(inst: Instance) -> list[Issue]:
    """Capacity rows name known municipalities; need rows name known households and a
    named dimension that has capacities (persons and cases are needed by size and as one
    case, never given); a named dimension nobody needs is probably misspelt (warning)."""
    issues = _unknown_municipalities(inst, "capacities")
    issues += _unknown_refs(
        inst, "needs", "household_id", _household_ids(inst), "household", "unknown household"
    )
    capacities, needs = inst.capacities, inst.needs
    named: set[str] = set()
    if capacities is not None and "capacities" in inst.loaded:
        named = set(capacities["dimension"]) - set(BUILTIN_DIMENSIONS)
    if needs is not None and "needs" in inst.loaded:
        file = inst.files.get("needs", "needs")
        builtin = needs["dimension"].isin(list(BUILTIN_DIMENSIONS))
        issues += [
            Issue(
                file,
                row,
                "dimension",
                "named dimension",
                f"{needs['dimension'].iloc[row - 1]!r} is needed by every household by its "
                "size (persons) or as one case (cases); give no need rows for it",
            )
            for row in _rows(builtin)
        ]
        issues += [
            Issue(
                file,
                row,
                "dimension",
                "dimension with capacities",
                f"no municipality has a capacity in {needs['dimension'].iloc[row - 1]!r}: "
                "add its rows to the capacities table",
            )
            for row in _rows(~builtin & ~needs["dimension"].isin(list(named)))
        ]
        named -= set(needs.loc[needs["need"] > 0, "dimension"])
    issues += [
        Issue(
            inst.files.get("capacities", "capacities"),
            None,
            "dimension",
            "a dimension someone needs",
            f"no household needs any {name!r} (needs table): its capacities bind nothing",
            severity="warning",
        )
        for name in sorted(named)
    ]
    return issues


def check_capacity_fits(inst: Instance) -> list[Issue]:
    """When municipalities have capacities, each household fits in at least one of them:
    in every dimension, its need is at most the largest capacity (a municipality without
    a row for the dimension is unbounded in it)."""
    hh, capacities = inst.households, inst.capacities
    if (
        capacities is None
        or "capacities" not in inst.loaded
        or not _has(hh, "household_id", "persons")
        or (inst.needs is not None and "needs" not in inst.loaded)
    ):
        return []
    codes = _municipality_codes(inst)
    if codes is None:
        return []
    needs = household_needs(inst)
    room = capacity_matrix(inst, sorted(codes), [str(name) for name in needs.columns])
    need = needs.to_numpy(dtype=float).reshape(len(needs), room.shape[0])
    fits = np.zeros(len(hh), dtype=bool)
    for m in range(room.shape[1]):  # a municipality at a time: H x dimensions in memory
        fits |= (need <= room[:, m]).all(axis=1)
    file = inst.files.get("households", "households")
    return [
        Issue(
            file,
            row,
            "household_id",
            "fits a capacity",
            f"household {hh['household_id'].iloc[row - 1]!r} fits no municipality's capacity "
            f"({_needs_text(needs.iloc[row - 1])})",
        )
        for row in _rows(pd.Series(~fits))
    ]


def _needs_text(needs: pd.Series) -> str:
    return ", ".join(f"{value:g} {name}" for name, value in needs.items() if value > 0)


def check_scores_cover_pairs(inst: Instance) -> list[Issue]:
    """A score table, when given, scores every household at least once, except one
    compatible with nothing (its allowed row names no municipality). A household goes
    only where it has a score (the table is also its list of allowed municipalities):
    a warning counts the pairs that leaves out, so that a gap in the table is never
    read silently as a rule."""
    scores = inst.scores
    if not _has(scores, "household_id") or not _has(inst.households, "household_id"):
        return []
    assert scores is not None
    hh = inst.households
    file = inst.files.get("households", "households")
    nowhere = set()
    if _has(inst.allowed, "household_id", "municipality"):
        assert inst.allowed is not None
        nowhere = set(inst.allowed.loc[inst.allowed["municipality"].isna(), "household_id"])
    scored = set(scores["household_id"]) | nowhere
    codes = _municipality_codes(inst)
    warnings = []
    if codes is not None and _has(scores, "municipality"):
        listed = scores["household_id"].nunique() * len(codes)
        left_out = listed - len(scores.drop_duplicates(["household_id", "municipality"]))
        if left_out > 0:
            message = (
                f"{left_out:,} (household, municipality) pairs of the scored households have "
                "no score: a household goes only to the municipalities it has a score for"
            )
            warnings.append(
                Issue(
                    inst.files.get("scores", "scores"),
                    None,
                    "score",
                    "score per pair",
                    message,
                    severity="warning",
                )
            )
    return warnings + [
        Issue(
            file,
            row,
            "household_id",
            "scored",
            f"household {hh['household_id'].iloc[row - 1]!r} has no row in the score table",
        )
        for row in _rows(~hh["household_id"].isin(scored))
    ]


def check_predictions(inst: Instance) -> list[Issue]:
    """Per-member predictions name known members and municipalities, come with the
    members table and without a scores table (one model of outcomes per run), and give
    every member aged 18-64 a probability in every municipality (a missing one is never
    read as 0: it is an error, counted and the first listed)."""
    predictions = inst.predictions
    if not _has(predictions, "household_id", "member", "municipality"):
        return []
    assert predictions is not None
    file = inst.files.get("predictions", "predictions")
    if inst.members is None:
        message = "predictions are per member: the instance needs a members table"
        return [Issue(file, None, None, "members needed", message)]
    issues = _unknown_municipalities(inst, "predictions")
    if inst.scores is not None:
        message = (
            "a scores table and a predictions table are two models of labour outcomes; "
            "give one (predictions: per member, so that group outcomes can be computed)"
        )
        issues.append(Issue(file, None, None, "one model", message))
    members = inst.members
    if not _has(members, "household_id", "member", "age_band"):
        return issues
    key = ["household_id", "member"]
    known = pd.MultiIndex.from_frame(members[key].astype({"member": "int64"}))
    given = pd.MultiIndex.from_frame(predictions[key].astype({"member": "int64"}))
    for row in _rows(pd.Series(~given.isin(known))):
        household, member = given[row - 1]
        issues.append(
            Issue(file, row, "member", "known member", f"no member {member} of {household!r}")
        )
    codes = _municipality_codes(inst)
    if codes is None:
        return issues
    working = members[members["age_band"].isin(WORKING_AGE)][key]
    needed = pd.MultiIndex.from_product(
        [pd.MultiIndex.from_frame(working).to_flat_index(), sorted(codes)]
    )
    have = pd.MultiIndex.from_arrays(
        [given.to_flat_index(), predictions["municipality"].to_numpy()]
    )
    missing = needed[~needed.isin(have)]
    if len(missing):
        (household, member), code = missing[0]  # type: ignore[misc]
        issues.append(
            Issue(
                file,
                None,
                "probability",
                "every member aged 18-64 in every municipality",
                f"{len(missing):,} (member, municipality) pairs have no probability, the "
                f"first: member {member} of {household!r} in {code!r}",
            )
        )
    return issues


def check_municipality_tables(inst: Instance) -> list[Issue]:
    """Achterstand, progress, swap and population rows name known municipalities."""
    issues: list[Issue] = []
    for table in ("achterstand", "progress", "swaps", "population_override"):
        issues += _unknown_municipalities(inst, table)
    progress = inst.progress
    if "progress" in inst.loaded and progress is not None and "municipality" in progress:
        issues += missing_municipalities(inst, progress["municipality"], inst.files["progress"])
    return issues


def missing_municipalities(inst: Instance, codes: pd.Series, file: str) -> list[Issue]:
    """A progress table names every municipality: one that is absent would silently count
    as "nothing placed" (or as no achterstand), a zero nobody measured."""
    given = set(codes)
    missing = [code for code in inst.municipalities["code"] if code not in given]
    if not missing:
        return []
    shown = ", ".join(missing[:10]) + (
        f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    )
    return [
        Issue(
            file,
            None,
            "municipality",
            "every municipality",
            f"{len(missing)} municipalit{'y is' if len(missing) == 1 else 'ies are'} missing "
            f"({shown}); give a row for each, with placed = 0 where nobody was placed",
        )
    ]


def check_previous_plan(inst: Instance) -> list[Issue]:
    """A previous plan names known municipalities; its households that this instance
    does not have (placed since, or another batch) are ignored, with a warning."""
    issues = _unknown_municipalities(inst, "previous_plan")
    known = _household_ids(inst)
    plan = inst.previous_plan
    if known is not None and plan is not None and "previous_plan" in inst.loaded:
        other = ~plan["household_id"].isin(list(known))
        if other.any():
            issues.append(
                Issue(
                    inst.files.get("previous_plan", "previous_plan"),
                    None,
                    "household_id",
                    "household of the instance",
                    f"{int(other.sum())} household(s) of the previous plan are not in this "
                    f"instance (e.g. {plan['household_id'][other].iloc[0]!r}); ignored",
                    severity="warning",
                )
            )
    return issues


def check_swaps(inst: Instance) -> list[Issue]:
    """Each swap agreement is between two or more municipalities and keeps their sum:
    its changes add up to 0 (Huisvestingswet 2014 art. 29(2))."""
    swaps = inst.swaps
    if "swaps" not in inst.loaded or not _has(swaps, "agreement", "municipality", "change"):
        return []
    assert swaps is not None
    file = inst.files.get("swaps", "swaps")
    issues = []
    for agreement, rows in swaps.groupby("agreement", sort=True):
        first = int(rows.index[0]) + 1
        total = int(rows["change"].sum())
        if total != 0:
            issues.append(
                Issue(
                    file,
                    first,
                    "change",
                    "swap keeps the sum",
                    f"agreement {agreement!r} changes the sum by {total:+d}; its changes must "
                    "add up to 0",
                )
            )
        if rows["municipality"].nunique() < 2:
            issues.append(
                Issue(
                    file,
                    first,
                    "municipality",
                    "swap between municipalities",
                    f"agreement {agreement!r} names one municipality; a swap needs two or more",
                )
            )
    return issues


# --------------------------------------------------------------------------- reception


def check_reception_section(inst: Instance) -> list[Issue]:
    """Cohorts need a ``[reception]`` section, and its region level must be declared."""
    spec = inst.meta.reception
    if "cohorts" not in inst.meta.tables:
        return []
    if spec is None:
        return [
            Issue(
                "instance.toml",
                None,
                "reception",
                "reception section",
                "cohorts are given but [reception] (periods, costs) is missing",
            )
        ]
    if spec.region_level is not None and spec.region_level not in inst.region_levels:
        return [
            Issue(
                "instance.toml",
                None,
                "reception.region_level",
                "known region level",
                f"{spec.region_level!r} is not in region_levels",
            )
        ]
    return []


def check_cohort_periods(inst: Instance) -> list[Issue]:
    """First-line periods fit in the stay; arrivals fall in the horizon; a cohort already
    in reception (arrival <= 0) names its site and is still there in period 1; a cohort
    arriving later names no site."""
    cohorts, spec = inst.cohorts, inst.meta.reception
    if (
        spec is None
        or "cohorts" not in inst.loaded
        or not _has(cohorts, "arrival_period", "stay_periods", "first_line_periods")
    ):
        return []
    assert cohorts is not None
    file = inst.files.get("cohorts", "cohorts")
    issues = [
        Issue(file, row, "first_line_periods", "fits in stay", "longer than stay_periods")
        for row in _rows(cohorts["first_line_periods"] > cohorts["stay_periods"])
    ]
    issues += [
        Issue(file, row, "arrival_period", "in horizon", f"after the last period ({spec.periods})")
        for row in _rows(cohorts["arrival_period"] > spec.periods)
    ]
    stock = cohorts["arrival_period"] <= 0
    issues += [
        Issue(
            file,
            row,
            "stay_periods",
            "still in reception",
            "arrived before period 1 and left before it: arrival_period + stay_periods must be "
            ">= 1",
        )
        for row in _rows(stock & (cohorts["arrival_period"] + cohorts["stay_periods"] < 1))
    ]
    site = cohorts["site_id"] if "site_id" in cohorts.columns else pd.Series(None, cohorts.index)
    issues += [
        Issue(file, row, "site_id", "stock has a site", "already in reception: name its site")
        for row in _rows(stock & site.isna())
    ]
    issues += [
        Issue(file, row, "site_id", "arrivals have no site", "arrives later: leave site_id empty")
        for row in _rows(~stock & site.notna())
    ]
    return issues


def check_cohort_sites(inst: Instance) -> list[Issue]:
    """A cohort in reception now stays at a known site that is open at the start."""
    issues = _unknown_refs(
        inst, "cohorts", "site_id", _known(inst, "sites", "site_id"), "site", "known site"
    )
    cohorts, sites = inst.cohorts, inst.sites
    if issues or not _has(cohorts, "site_id") or not _has(sites, "state", "site_id"):
        return issues
    assert cohorts is not None
    candidates = set(sites.loc[sites["state"] == "candidate", "site_id"])
    file = inst.files.get("cohorts", "cohorts")
    return [
        Issue(file, row, "site_id", "open site", "a candidate site is not open at the start")
        for row in _rows(cohorts["site_id"].isin(list(candidates)))
    ]


def _region_codes(inst: Instance) -> set[str] | None:
    spec = inst.meta.reception
    if spec is None or spec.region_level is None or "municipalities" not in inst.loaded:
        return None
    if spec.region_level not in inst.municipalities.columns:
        return None
    return set(inst.municipalities[spec.region_level].dropna())


def check_cohort_regions(inst: Instance) -> list[Issue]:
    """Destinations, preferred regions and region targets name known regions (and need a
    ``[reception].region_level``)."""
    cohorts, targets = inst.cohorts, inst.region_targets
    known = _region_codes(inst)
    level = inst.meta.reception.region_level if inst.meta.reception else None
    issues: list[Issue] = []
    uses = [
        ("cohorts", cohorts, "destination"),
        ("cohorts", cohorts, "preferred"),
        ("region_targets", targets, "region"),
    ]
    for table, frame, column in uses:
        if table not in inst.loaded or not _has(frame, column):
            continue
        assert frame is not None
        file = inst.files.get(table, table)
        for row in _rows(frame[column].notna()):
            value = str(frame[column].iloc[row - 1])
            codes = [v.strip() for v in value.split(";")] if column == "preferred" else [value]
            if level is None:
                issues.append(
                    Issue(file, row, column, "region level", "set [reception].region_level first")
                )
                break
            unknown = [c for c in codes if known is not None and c not in known]
            if unknown:
                issues.append(
                    Issue(
                        file,
                        row,
                        column,
                        "known region",
                        f"{', '.join(map(repr, unknown))} is not a known {level}",
                    )
                )
    return issues


def check_site_reception(inst: Instance) -> list[Issue]:
    """Minimum occupancy fits in capacity; AMV-only sites take AMV; every modality of a
    site and every AMV cohort has somewhere to go."""
    from asielplan.data.reception import ARRIVAL, EXIT, transfer_graph

    sites, spec = inst.sites, inst.meta.reception
    if spec is None or "sites" not in inst.loaded or not _has(sites, "capacity", "modality"):
        return []
    file = inst.files.get("sites", "sites")
    issues: list[Issue] = []
    if _has(sites, "min_occupancy"):
        issues += [
            Issue(file, row, "min_occupancy", "fits in capacity", "above the site's capacity")
            for row in _rows(sites["min_occupancy"] > sites["capacity"])
        ]
    if _has(sites, "amv_only", "takes_amv"):
        issues += [
            Issue(file, row, "takes_amv", "AMV-only takes AMV", "amv_only = 1 needs takes_amv = 1")
            for row in _rows((sites["amv_only"] == 1) & (sites["takes_amv"] != 1))
        ]
    graph = transfer_graph(spec)
    for node in graph.nodes:
        if node not in (ARRIVAL, EXIT) and node not in MODALITIES:
            issues.append(
                Issue(
                    "instance.toml",
                    None,
                    "reception.transfers",
                    "known modality",
                    f"{node!r} is not a modality",
                )
            )
    for row in _rows(~sites["modality"].isin(list(graph.nodes))):
        issues.append(
            Issue(
                file,
                row,
                "modality",
                "in the transfer chain",
                f"no transfer reaches or leaves {sites['modality'].iloc[row - 1]!r}",
            )
        )
    cohorts = inst.cohorts
    if _has(cohorts, "track") and "cohorts" in inst.loaded:
        assert cohorts is not None
        takes = sites["takes_amv"] == 1 if "takes_amv" in sites.columns else pd.Series(False)
        if (cohorts["track"] == "amv").any() and not takes.fillna(False).any():
            issues.append(
                Issue(
                    inst.files.get("cohorts", "cohorts"),
                    int(np.flatnonzero((cohorts["track"] == "amv").to_numpy())[0]) + 1,
                    "track",
                    "AMV has a place",
                    "AMV cohorts, but no site has takes_amv = 1",
                )
            )
    return issues


def check_inflow_weights(inst: Instance) -> list[Issue]:
    """Inflow weights name inflows of the cohorts table and are not all zero."""
    spec = inst.meta.reception
    if spec is None or not spec.inflow_weights or not _has(inst.cohorts, "inflow"):
        return []
    assert inst.cohorts is not None
    named = set(inst.cohorts["inflow"].dropna())
    issues = [
        Issue(
            "instance.toml",
            None,
            f"reception.inflow_weights.{name}",
            "known inflow",
            f"no cohort has inflow {name!r}",
        )
        for name in spec.inflow_weights
        if name not in named
    ]
    if any(w < 0 for w in spec.inflow_weights.values()) or not any(
        w > 0 for w in spec.inflow_weights.values()
    ):
        issues.append(
            Issue(
                "instance.toml",
                None,
                "reception.inflow_weights",
                "weights",
                "weights must be >= 0 and not all 0",
            )
        )
    return issues


CHECKS: tuple[Check, ...] = (
    check_tables_not_empty,
    check_located,
    check_region_levels,
    check_site_municipalities,
    check_household_sites,
    check_household_composition,
    check_ties,
    check_members,
    check_pair_tables,
    check_locks,
    check_allowed_nothing_alone,
    check_capacities,
    check_capacity_fits,
    check_scores_cover_pairs,
    check_predictions,
    check_municipality_tables,
    check_previous_plan,
    check_swaps,
    check_reception_section,
    check_cohort_periods,
    check_cohort_sites,
    check_cohort_regions,
    check_site_reception,
    check_inflow_weights,
    check_chain,
)


def run_checks(inst: Instance) -> list[Issue]:
    """Run every cross-table check and collect all issues."""
    issues: list[Issue] = []
    for check in CHECKS:
        issues.extend(check(inst))
    return issues
