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
    """adults + children = persons, and every household has at least one adult."""
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
    issues += [
        Issue(
            file,
            row,
            "adults",
            "composition",
            "a household needs at least one adult (unaccompanied minors are not placed "
            "by this model)",
        )
        for row in _rows(hh["adults"] < 1)
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


def check_every_household_has_a_place(inst: Instance) -> list[Issue]:
    """No household has all municipalities forbidden (or only forbidden allowed ones)."""
    if not _has(inst.forbidden, "household_id", "municipality"):
        return []
    assert inst.forbidden is not None
    n_muni = len(_municipality_codes(inst) or ())
    forbidden = inst.forbidden.drop_duplicates(["household_id", "municipality"])
    per_household = forbidden.groupby("household_id").size()
    if _has(inst.allowed, "household_id", "municipality"):
        assert inst.allowed is not None
        allowed_keys = inst.allowed.set_index(["household_id", "municipality"]).index
        still = inst.allowed[
            ~allowed_keys.isin(forbidden.set_index(["household_id", "municipality"]).index)
        ]
        left = still.groupby("household_id").size()
        blocked = set(inst.allowed["household_id"]) - set(left.index)
    else:
        blocked = set(per_household[per_household >= n_muni].index)
    hh = inst.households
    if not blocked or not _has(hh, "household_id"):
        return []
    file = inst.files.get("households", "households")
    return [
        Issue(
            file,
            row,
            "household_id",
            "has a place",
            f"household {hh['household_id'].iloc[row - 1]!r} has no municipality left "
            "after the forbidden pairs",
        )
        for row in _rows(hh["household_id"].isin(blocked))
    ]


def check_capacity_fits(inst: Instance) -> list[Issue]:
    """When municipalities have capacities, each household fits in at least one of them."""
    muni, hh = inst.municipalities, inst.households
    if not _has(muni, "capacity") or not _has(hh, "persons") or muni["capacity"].isna().all():
        return []
    largest = muni["capacity"].astype("Float64").fillna(np.inf).max()
    file = inst.files.get("households", "households")
    return [
        Issue(
            file,
            row,
            "persons",
            "fits a capacity",
            f"{hh['persons'].iloc[row - 1]} persons is more than every municipality's "
            f"capacity (largest {largest:g})",
        )
        for row in _rows(hh["persons"] > largest)
    ]


def check_scores_cover_pairs(inst: Instance) -> list[Issue]:
    """A score table, when given, scores every household at least once."""
    scores = inst.scores
    if not _has(scores, "household_id") or not _has(inst.households, "household_id"):
        return []
    assert scores is not None
    hh = inst.households
    file = inst.files.get("households", "households")
    return [
        Issue(
            file,
            row,
            "household_id",
            "scored",
            f"household {hh['household_id'].iloc[row - 1]!r} has no row in the score table",
        )
        for row in _rows(~hh["household_id"].isin(set(scores["household_id"])))
    ]


def check_municipality_tables(inst: Instance) -> list[Issue]:
    """Achterstand and progress rows name known municipalities."""
    return _unknown_municipalities(inst, "achterstand") + _unknown_municipalities(inst, "progress")


def check_taakstelling_rule(inst: Instance) -> list[Issue]:
    """The taakstelling rule named in instance.toml is registered."""
    from asielplan.model.taakstelling import RULES

    spec = inst.meta.taakstelling
    if spec is None or spec.rule in RULES:
        return []
    return [
        Issue(
            "instance.toml",
            None,
            "taakstelling.rule",
            "known rule",
            f"unknown rule {spec.rule!r}; registered: {', '.join(sorted(RULES))}",
        )
    ]


CHECKS: tuple[Check, ...] = (
    check_region_levels,
    check_site_municipalities,
    check_household_sites,
    check_household_composition,
    check_ties,
    check_members,
    check_pair_tables,
    check_locks,
    check_every_household_has_a_place,
    check_capacity_fits,
    check_scores_cover_pairs,
    check_municipality_tables,
    check_taakstelling_rule,
)


def run_checks(inst: Instance) -> list[Issue]:
    """Run every cross-table check and collect all issues."""
    issues: list[Issue] = []
    for check in CHECKS:
        issues.extend(check(inst))
    return issues
