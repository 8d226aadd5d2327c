"""A history of labour outcomes (the ``history`` table of the data dictionary): read and
checked like an instance table, then against itself (households hold together)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asielplan.data.instance import read_standalone_table
from asielplan.data.schemas import HISTORY
from asielplan.errors import Issue

GROUP_VALUES_MAX = 20  # a group column of the audit has at most this many values
HOUSEHOLD_COLUMNS = ("household_persons", "household_adults", "municipality")


def read_history(
    path: str | Path, groups: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, list[Issue]]:
    """The history at ``path`` and the warnings of reading it; :class:`InputError` with
    every problem: the schema's, a household with more adults than persons or more rows
    than adults, a household placed in two municipalities or told two sizes, and a
    ``groups`` column that is missing or has more than :data:`GROUP_VALUES_MAX` values."""
    return read_standalone_table(
        Path(path), HISTORY, lambda frame, file: check_history(frame, file, groups)
    )


def _rows(mask: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def check_history(frame: pd.DataFrame, file: str, groups: tuple[str, ...] = ()) -> list[Issue]:
    """The rules of a history beyond each column's own (see :func:`read_history`)."""
    issues = [
        Issue(file, row, "household_adults", "adults <= persons", "more adults than persons")
        for row in _rows(
            (frame["household_adults"] > frame["household_persons"])
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    ]
    by_household = frame.groupby("household_id", sort=False)
    for column in HOUSEHOLD_COLUMNS:
        differs = by_household[column].transform("nunique").to_numpy() > 1
        issues += [
            Issue(
                file,
                row,
                column,
                "one household, one value",
                f"household {frame['household_id'].iloc[row - 1]!r} has more than one {column}",
            )
            for row in _rows(differs)
        ]
    rows = by_household["person_id"].transform("size")
    too_many = (rows > frame["household_adults"]).fillna(False).to_numpy(dtype=bool)
    issues += [
        Issue(
            file,
            row,
            "household_id",
            "rows <= adults",
            f"household {frame['household_id'].iloc[row - 1]!r} has {rows.iloc[row - 1]} rows "
            f"but {frame['household_adults'].iloc[row - 1]} adults",
        )
        for row in _rows(too_many)
    ]
    for group in groups:
        if group not in frame:
            issues.append(Issue(file, None, group, "group column", "no such column"))
        elif frame[group].nunique(dropna=False) > GROUP_VALUES_MAX:
            issues.append(
                Issue(
                    file,
                    None,
                    group,
                    "group column",
                    f"{frame[group].nunique(dropna=False)} values; a group of the audit has "
                    f"at most {GROUP_VALUES_MAX}",
                )
            )
    return issues
