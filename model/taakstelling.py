"""Municipal taakstelling: the law's arithmetic (Huisvestingswet 2014, art. 28-30).

Art. 29(1): municipality G gets ``vg * iG / iN`` **rounded up** to a whole number, with
``vg`` the national number for the half-year and ``iG``, ``iN`` the CBS population of the
municipality and of the Netherlands on 1 January of the calendar year before the
half-year's year (the *peildatum*); the municipal numbers therefore add up to at least
``vg``. Art. 29(2): two or more municipalities may agree to shift numbers between them
as long as their sum is unchanged (the ``swaps`` table). Art. 30: for municipalities
merged on 1 January of the half-year's year the province sets the population (the
``population_override`` table). The achterstand (positive) or voorsprong (negative) of
the previous half-year is added outside the formula; a voorsprong larger than the
number is carried on.

This module holds the arithmetic (rounding up exactly, the largest remainder, the
peildatum, the :class:`Basis` a letter cites); the law and the other quota schemes are
computed by :mod:`asielplan.model.schemes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

# a half-year: four ASCII digits (not any Unicode digit), a hyphen, I or II
PERIOD = re.compile(r"(?P<year>[0-9]{4})-(?P<half>I|II)")
YEARS = range(2000, 2100)  # the years a period may name


def peildatum(period: str) -> date | None:
    """1 January of the calendar year before the half-year's year (art. 29(1)): the date of
    the populations ``iG`` and ``iN``; None when ``period`` is not ``YYYY-I``/``YYYY-II``."""
    match = PERIOD.fullmatch(period)
    if match is None or int(match["year"]) not in YEARS:
        return None
    return date(int(match["year"]) - 1, 1, 1)


def round_up_share(populations: pd.Series, national: int) -> pd.Series:
    """``ceil(vg * iG / iN)`` per municipality, in exact integer arithmetic (no float
    rounding can push a whole number up)."""
    pops = populations.astype("int64").to_numpy()
    total = int(pops.sum())
    if total <= 0:
        raise ValueError("the national population must be above 0")
    return pd.Series(
        [-(-national * int(p) // total) for p in pops], index=populations.index, dtype="int64"
    )


def largest_remainder(weights: pd.Series, total: int) -> pd.Series:
    """Whole numbers proportional to ``weights`` that add up to exactly ``total``.

    Hamilton's method: everyone gets the floor of their exact quota, and the units left
    over go to the largest remainders. Ties are broken by the index (ascending), so the
    result is deterministic.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    w = weights.astype(float)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be >= 0 and not all zero")
    # exact quotas in integer arithmetic where possible, to avoid float ties
    if np.allclose(w, np.round(w)):
        wi = w.round().astype("int64").to_numpy()
        numerators = wi * total
        denominator = int(wi.sum())
        floors = numerators // denominator
        remainders = numerators - floors * denominator
    else:
        exact = w.to_numpy() * total / w.sum()
        floors = np.floor(exact + 1e-9).astype("int64")
        # remainders equal up to float noise are ties, broken by table order
        remainders = np.round(exact - floors, 9)
    left = int(total - floors.sum())
    order = np.lexsort((np.arange(len(w)), -remainders))
    result = floors.copy()
    result[order[:left]] += 1
    return pd.Series(result, index=weights.index, dtype="int64")


@dataclass(frozen=True)
class Basis:
    """What a taakstelling was computed from, for a letter to cite: the rule, the
    period and its peildatum, ``vg``, ``iN``, the rounding and the total."""

    rule: str
    period: str
    peildatum: date | None
    national: int
    national_population: int
    rounding: str
    total: int

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "rule": self.rule,
                    "period": self.period,
                    "peildatum": "" if self.peildatum is None else self.peildatum.isoformat(),
                    "national": self.national,
                    "national_population": self.national_population,
                    "rounding": self.rounding,
                    "total": self.total,
                }
            ]
        )
