"""Municipal taakstelling: splitting a national half-year number over municipalities.

A *rule* maps the municipality table and the national number ``N`` to whole persons per
municipality that add up to exactly ``N``. Rules are registered by name so a new quota
scheme is a new function, not a change to the model:

.. code-block:: python

    @register_rule("my_key")
    def my_key(municipalities: pd.DataFrame, national: int) -> pd.Series: ...

The taakstelling of a period is the rule's share plus the achterstand carried from the
previous period (a voorsprong is a negative achterstand). It never goes below zero; a
voorsprong larger than the share is carried on to the next period.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Rule = Callable[[pd.DataFrame, int], pd.Series]
RULES: dict[str, Rule] = {}


def register_rule(name: str) -> Callable[[Rule], Rule]:
    def decorator(rule: Rule) -> Rule:
        RULES[name] = rule
        return rule

    return decorator


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
        floors = np.floor(exact).astype("int64")
        remainders = exact - floors
    left = int(total - floors.sum())
    order = np.lexsort((np.arange(len(w)), -remainders))
    result = floors.copy()
    result[order[:left]] += 1
    return pd.Series(result, index=weights.index, dtype="int64")


@register_rule("population")
def population_key(municipalities: pd.DataFrame, national: int) -> pd.Series:
    """The current Dutch key: proportional to population (largest remainder)."""
    return largest_remainder(municipalities["population"], national)


def compute_taakstelling(
    municipalities: pd.DataFrame,
    national: int,
    rule: str | Rule = "population",
    achterstand: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per municipality: the rule's share, the achterstand, and the resulting taakstelling.

    Returns columns ``municipality, name, population, population_quota, share, achterstand,
    taakstelling, carried_voorsprong`` in the order of the municipality table.
    ``population_quota`` is the exact (fractional) population-key quota, for reference
    whatever the rule; ``carried_voorsprong`` is the part of a voorsprong not used up.
    """
    fn = RULES[rule] if isinstance(rule, str) else rule
    muni = municipalities.reset_index(drop=True)
    share = fn(muni, national).reset_index(drop=True).astype("int64")
    if int(share.sum()) != national:
        raise ValueError(f"rule gives {int(share.sum())} persons, not the national {national}")
    carried = pd.Series(0, index=muni.index, dtype="int64")
    if achterstand is not None and len(achterstand):
        lookup = achterstand.set_index("municipality")["achterstand"]
        carried = muni["code"].map(lookup).fillna(0).astype("int64")
    raw = share + carried
    pop = muni["population"].astype(float)
    return pd.DataFrame(
        {
            "municipality": muni["code"],
            "name": muni["name"],
            "population": muni["population"].astype("int64"),
            "population_quota": pop * national / pop.sum(),
            "share": share,
            "achterstand": carried,
            "taakstelling": raw.clip(lower=0),
            "carried_voorsprong": (-raw).clip(lower=0),
        }
    )
