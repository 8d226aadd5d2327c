"""Read a placement solution back into tables, and summarise it.

Tables (each written as CSV and/or Parquet), besides the ``objective`` and ``duals`` of
every run (:mod:`asielplan.experiments.results`):

- ``households``: per household the municipality, the labour score and its components
  (person part, regional effect), distance, whether it left its COA region, whether a
  lock or a hard criterion bound the choice (not which criterion);
- ``municipalities``: target, placed persons, deviation, the period's taakstelling; in a
  weekly batch (``placement.targets`` remaining or batch_share) also the persons placed
  before the batch and the share realised after it;
- ``regions``: totals per region level against the band (or the summed target);
- ``capacities``: per municipality and capacity dimension the capacity and its use,
  when the instance gives capacities;
- ``kpis``: one row of key figures, among them the contribution of every objective part
  (``objective_<part>``);
- ``outcomes_by_size`` and ``outcomes_by_gender``: aggregates per household size and per
  gender composition of the adults, and the mean employment probability of adult women
  and men (the bias GeoMatch was criticised for);
- ``explanations``: why each household goes where it goes (:mod:`.explanations`), and
  ``changes`` in a re-solve against a previous plan: who moved and why;
- ``diagnosis`` when infeasible: the quotas and capacities that cannot be met.

Outputs hold pseudonymous ids and aggregates only, no personal attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from asielplan.data.instance import Instance
from asielplan.data.schemas import WORKING_AGE
from asielplan.experiments.results import (
    contract_kpis,
    diagnosis_frame,
    duals_table,
    objective_table,
)
from asielplan.experiments.results.explanations import change_table, explanation_table
from asielplan.model.labour import (
    aggregate,
    household_rows,
    member_probabilities_at,
    run_probabilities,
)
from asielplan.model.placement import (
    PlacementData,
    band_limits,
    capacity_used,
    placed_persons,
    placed_so_far,
)
from asielplan.solvers.placement import PlacementSolution
from asielplan.solvers.prices import Prices, national_pace


def household_table(inst: Instance, d: PlacementData, sol: PlacementSolution) -> pd.DataFrame:
    a = sol.assignment
    placed = a >= 0
    h = np.arange(d.n_households)
    m = np.maximum(a, 0)
    score = np.where(placed, d.score[h, m], np.nan)
    person_part = np.full(d.n_households, np.nan)
    if inst.members is not None and inst.scores is None and inst.predictions is None:
        # the split into a person part and a regional effect is the built-in model's
        rows = household_rows(inst.households, inst.members)
        _, average = member_probabilities_at(inst.members, inst.municipalities, a[rows], d.labour)
        person_part = aggregate(rows, average, d.n_households, d.config.aggregation)
    allowed_scores = np.where(d.allowed, d.score, np.nan)
    hh = inst.households
    table = pd.DataFrame(
        {
            "household_id": d.household_ids,
            "persons": d.persons,
            "adults": hh["adults"].to_numpy(),
            "children": hh["children"].to_numpy(),
            "placed": placed,
            "municipality": np.where(placed, d.municipality_codes[m], None),
            "municipality_name": np.where(placed, d.municipality_names[m], None),
            "locked": d.lock >= 0,
            # whether a hard criterion bound the choice; its kind (e.g. medical) is
            # special-category data and stays out of the outputs
            "hard_criterion": hh["tie_kind"].notna().to_numpy() if "tie_kind" in hh else False,
            "from_site": hh["site_id"].to_numpy(),
            "score": score,
            "score_person_part": np.where(placed, person_part, np.nan),
            "score_regional_effect": np.where(placed, score - person_part, np.nan),
            "score_best_allowed": np.nanmax(allowed_scores, axis=1),
            "score_mean_allowed": np.nanmean(allowed_scores, axis=1),
            "distance_km": np.where(placed, d.distance(h, m), np.nan),
            "left_coa_region": placed & d.leaves_region(h, m),
            "value": np.where(placed, d.value(h, m), np.nan),
        }
    )
    return table


def municipality_table(inst: Instance, d: PlacementData, sol: PlacementSolution) -> pd.DataFrame:
    placed = placed_persons(d, sol.assignment)
    a = sol.assignment
    households = np.bincount(a[a >= 0], minlength=d.n_municipalities)
    h = np.flatnonzero(a >= 0)
    labour = np.bincount(a[h], weights=d.score[h, a[h]], minlength=d.n_municipalities)
    table = pd.DataFrame(
        {
            "municipality": d.municipality_codes,
            "name": d.municipality_names,
            "target": d.target if d.target is not None else np.nan,
            "placed_persons": placed,
            "placed_households": households,
            "deviation": placed - d.target if d.target is not None else np.nan,
            "labour_score": labour,
        }
    )
    if d.target is not None and d.config.target_mode == "band":
        lower, upper = band_limits(d)
        table["band_lower"], table["band_upper"] = lower, upper
    if d.scheme is not None:
        period = d.scheme.table["taakstelling"].to_numpy(dtype=np.int64)
        table["taakstelling"] = period
    if d.config.targets != "taakstelling" and d.scheme is not None:
        # a weekly batch: where this period's taakstelling stands after the batch
        before = placed_so_far(inst)
        table["placed_before"] = before
        table["realised"] = np.where(period > 0, (before + placed) / np.maximum(period, 1), np.nan)
    for level in inst.region_levels:
        table[level] = inst.municipalities[level].to_numpy()
    return table


def capacity_table(d: PlacementData, sol: PlacementSolution) -> pd.DataFrame:
    """One row per capacity a municipality has in a dimension: the capacity and the
    units the plan uses of it."""
    used = capacity_used(d, sol.assignment)
    k, m = np.nonzero(np.isfinite(d.capacity))
    return pd.DataFrame(
        {
            "municipality": d.municipality_codes[m],
            "dimension": np.array(d.capacity_dimensions, dtype=object)[k],
            "capacity": d.capacity[k, m].astype(np.int64),
            "used": used[k, m],
            "free": d.capacity[k, m] - used[k, m],
        }
    )


def region_table(inst: Instance, d: PlacementData, sol: PlacementSolution) -> pd.DataFrame:
    """Totals per region for every region level (banded or not)."""
    placed = placed_persons(d, sol.assignment)
    banded = {(r.level, r.code): r for r in d.regions}
    rows: list[dict[str, Any]] = []
    for level in inst.region_levels:
        codes = inst.municipalities[level].to_numpy()
        for code in sorted(set(codes)):
            members = codes == code
            band = banded.get((level, str(code)))
            rows.append(
                {
                    "level": level,
                    "region": str(code),
                    "target": int(d.target[members].sum()) if d.target is not None else None,
                    "placed_persons": int(placed[members].sum()),
                    "band_lower": band.lower if band else None,
                    "band_upper": band.upper if band else None,
                    "within_band": (band.lower <= placed[members].sum() <= band.upper)
                    if band
                    else None,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "level",
            "region",
            "target",
            "placed_persons",
            "band_lower",
            "band_upper",
            "within_band",
        ],
    )


def member_outcomes(
    inst: Instance, d: PlacementData, sol: PlacementSolution
) -> pd.DataFrame | None:
    """Every member's household, sex, whether aged 18-64 (the groups' adults) and
    employment probability where the plan places the household (0 unplaced), by the
    run's one model (None without members' outcomes: no members, or a scores table)."""
    p = run_probabilities(inst, d.labour)
    if inst.members is None or p is None:
        return None
    rows = household_rows(inst.households, inst.members)
    where = sol.assignment[rows]
    at = np.where(where >= 0, p[np.arange(len(rows)), np.maximum(where, 0)], 0.0)
    return pd.DataFrame(
        {
            "household": rows,
            "sex": inst.members["sex"].to_numpy(),
            "adult": inst.members["age_band"].isin(WORKING_AGE).to_numpy(),
            "p": at,
        }
    )


GROUP_OUTCOMES = ("p_adult_women", "p_adult_men", "score_one_adult", "score_4plus")


def group_kpis(
    members: pd.DataFrame | None, households: pd.DataFrame, min_cell: int
) -> dict[str, float]:
    """Outcomes of groups, for comparisons: the mean employment probability of placed
    adult women and of placed adult men, and the mean labour score of one-adult
    households and of households of 4 or more persons, all by the run's one model (NaN
    where a group has fewer than ``min_cell`` households, and for the women and men when
    a scores table scores households, not members: ``members`` is None)."""
    out = dict.fromkeys(GROUP_OUTCOMES, float("nan"))
    placed = households["placed"].to_numpy(dtype=bool)
    if members is not None:
        adults = members[members["adult"] & placed[members["household"].to_numpy()]]
        for sex, key in (("F", "p_adult_women"), ("M", "p_adult_men")):
            group = adults[adults["sex"] == sex]
            if group["household"].nunique() >= min_cell:
                out[key] = float(group["p"].mean())
    score = households["score"]
    one_adult = placed & (households["adults"].to_numpy() == 1)
    large = placed & (households["persons"].to_numpy() >= 4)
    if one_adult.sum() >= min_cell:
        out["score_one_adult"] = float(score[one_adult].mean())
    if large.sum() >= min_cell:
        out["score_4plus"] = float(score[large].mean())
    return out


def kpi_table(
    inst: Instance,
    d: PlacementData,
    sol: PlacementSolution,
    households: pd.DataFrame,
    municipalities: pd.DataFrame,
    members: pd.DataFrame | None,
    min_cell: int,
) -> pd.DataFrame:
    """One row of key figures, among them the burden of the plan (persons placed per
    1,000 inhabitants) and the group outcomes (:func:`group_kpis`), so that a batch
    has them per run; ``members``: :func:`member_outcomes`."""
    placed = households["placed"].to_numpy()
    expected_employed = (
        float(members["p"].sum()) if members is not None else float(households["score"].sum())
    )
    deviation = municipalities["deviation"].to_numpy(dtype=float)
    row = {
        **contract_kpis(sol),
        "lp_bound": sol.lp_bound,
        "households": d.n_households,
        "persons": int(d.persons.sum()),
        "placed_households": int(placed.sum()),
        "unplaced_households": int((~placed).sum()),
        "unplaced_persons": int(d.persons[~placed].sum()),
        "total_labour_score": float(np.nansum(households["score"])),
        "expected_employed": expected_employed,
        "moves": int(placed.sum()),
        "total_distance_km": float(np.nansum(households["distance_km"])),
        "mean_distance_km": float(np.nanmean(households["distance_km"])) if placed.any() else 0.0,
        "left_coa_region": int(households["left_coa_region"].sum()),
        "changes": int(((d.previous >= 0) & (sol.assignment != d.previous)).sum())
        if d.has_previous
        else np.nan,
        "total_abs_deviation": float(np.nansum(np.abs(deviation))),
        "shortfall_persons": float(np.nansum(np.clip(-deviation, 0, None))),
        "excess_persons": float(np.nansum(np.clip(deviation, 0, None))),
        **shortfall_shares(d, municipalities),
        **plan_burden(inst, municipalities),
        **group_kpis(members, households, min_cell),
        **{f"objective_{p.name}": p.contribution for p in sol.objective_parts.values()},
    }
    return pd.DataFrame([row])


def plan_burden(inst: Instance, municipalities: pd.DataFrame) -> dict[str, float]:
    """:func:`burden` of the persons placed per 1,000 inhabitants (NaN without
    populations, as in the generic shape)."""
    population = inst.municipalities.get("population")
    if population is None or not (population.fillna(0) > 0).any():
        return dict.fromkeys(BURDEN, float("nan"))
    per_1000 = 1000 * municipalities["placed_persons"].to_numpy(dtype=float)
    return burden(per_1000 / np.maximum(population.fillna(0).to_numpy(dtype=float), 1))


def shortfall_shares(d: PlacementData, municipalities: pd.DataFrame) -> dict[str, float]:
    """How a shortfall against the period's taakstelling is spread: the national share
    short and the largest share any municipality is short (both NaN in a weekly batch or
    without a taakstelling)."""
    if d.scheme is None or d.config.targets != "taakstelling":
        return {"national_shortfall_share": np.nan, "largest_relative_shortfall": np.nan}
    period = municipalities["taakstelling"].to_numpy(dtype=float)
    placed = municipalities["placed_persons"].to_numpy(dtype=float)
    owed = period > 0
    short = np.clip(period - placed, 0, None)
    national = max(period.sum() - placed.sum(), 0.0) / period.sum() if owed.any() else np.nan
    largest = float((short[owed] / period[owed]).max()) if owed.any() else np.nan
    return {"national_shortfall_share": national, "largest_relative_shortfall": largest}


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal)."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    ranks = np.arange(1, len(x) + 1)
    return float((2 * (ranks * x).sum() / (len(x) * x.sum())) - (len(x) + 1) / len(x))


BURDEN = ("burden_gini", "burden_max_min", "burden_p90_p10")


def burden(per_1000: np.ndarray, basis: str = "") -> dict[str, float]:
    """Fairness of a burden, persons per 1,000 inhabitants per municipality (a
    scheme's targets or a plan's placed persons; ``basis`` suffixes the names): the Gini
    over every municipality, and the ratios max/min and p90/p10 over those above 0."""
    per_1000 = np.asarray(per_1000, dtype=float)
    positive = per_1000[per_1000 > 0]
    names = [f"{name}_{basis}" if basis else name for name in BURDEN]
    if not len(positive):
        return dict(zip(names, (0.0, float("nan"), float("nan")), strict=True))
    p90, p10 = np.percentile(positive, [90, 10])
    values = (gini(per_1000), float(positive.max() / positive.min()), float(p90 / p10))
    return dict(zip(names, values, strict=True))


SIZE_BANDS = ("1", "2", "3", "4", "5+")


def outcomes_by_size(households: pd.DataFrame) -> pd.DataFrame:
    """Outcomes per household size (1, 2, 3, 4, 5 or more persons)."""
    size = np.minimum(households["persons"].to_numpy(), 5).astype(str)
    frame = households.assign(
        size=pd.Categorical(np.where(size == "5", "5+", size), categories=SIZE_BANDS)
    )
    table = frame.groupby("size", observed=False).agg(
        households=("household_id", "size"),
        persons=("persons", "sum"),
        placed=("placed", "sum"),
        total_score=("score", "sum"),
        mean_score=("score", "mean"),
        mean_distance_km=("distance_km", "mean"),
        share_left_coa_region=("left_coa_region", "mean"),
    )
    table["score_per_person"] = table["total_score"] / table["persons"].where(table["persons"] > 0)
    return table.reset_index()


def outcomes_by_gender(members: pd.DataFrame | None, households: pd.DataFrame) -> pd.DataFrame:
    """Per gender composition of the adults: household outcomes, and the mean employment
    probability of adult women and of adult men where they were placed (``members``:
    :func:`member_outcomes`; no rows without them)."""
    if members is None:
        return pd.DataFrame(columns=["composition", "households"])
    adults = members[members["adult"]]
    women = adults["sex"].eq("F").groupby(adults["household"]).sum()
    men = adults["sex"].eq("M").groupby(adults["household"]).sum()
    idx = np.arange(len(households))
    w = women.reindex(idx, fill_value=0).to_numpy()
    m = men.reindex(idx, fill_value=0).to_numpy()
    composition = np.select(
        [(w == 0) & (m == 1), (w == 1) & (m == 0), (w >= 1) & (m >= 1), w >= 2, m >= 2],
        ["single man", "single woman", "women and men", "women only", "men only"],
        default="other",
    )
    frame = households.assign(composition=composition, household=idx)
    p_women = adults[adults["sex"] == "F"].groupby("household")["p"].mean()
    p_men = adults[adults["sex"] == "M"].groupby("household")["p"].mean()
    frame["p_adult_women"] = p_women.reindex(idx).to_numpy()
    frame["p_adult_men"] = p_men.reindex(idx).to_numpy()
    table = frame.groupby("composition").agg(
        households=("household_id", "size"),
        persons=("persons", "sum"),
        placed=("placed", "sum"),
        mean_score=("score", "mean"),
        mean_distance_km=("distance_km", "mean"),
        mean_p_adult_women=("p_adult_women", "mean"),
        mean_p_adult_men=("p_adult_men", "mean"),
    )
    return table.reset_index()


def suppress_small_cells(table: pd.DataFrame, key: str, min_cell: int) -> pd.DataFrame:
    """Blank every value of the rows (cells) that aggregate fewer than ``min_cell``
    households, keep their count, and say which rows were suppressed."""
    small = table["households"] < min_cell
    values = [c for c in table.columns if c not in (key, "households")]
    out = table.copy()
    out[values] = out[values].astype(float)
    out.loc[small, values] = np.nan
    out["suppressed"] = small.to_numpy()
    return out


def placement_tables(
    inst: Instance, d: PlacementData, sol: PlacementSolution, min_cell: int
) -> dict[str, pd.DataFrame]:
    """All output tables of a placement run, keyed by file name (without extension)."""
    households = household_table(inst, d, sol)
    municipalities = municipality_table(inst, d, sol)
    members = member_outcomes(inst, d, sol)  # the members' outcomes, once for every table
    tables = {
        "households": households,
        "municipalities": municipalities,
        "regions": region_table(inst, d, sol),
        "kpis": kpi_table(inst, d, sol, households, municipalities, members, min_cell),
        "objective": objective_table(sol),
        "duals": duals_table(sol),
        "outcomes_by_size": suppress_small_cells(outcomes_by_size(households), "size", min_cell),
        "outcomes_by_gender": suppress_small_cells(
            outcomes_by_gender(members, households), "composition", min_cell
        ),
    }
    if np.isfinite(d.capacity).any():
        tables["capacities"] = capacity_table(d, sol)
    if sol.status.has_solution:
        tables["explanations"] = explanation_table(d, sol, households)
        if d.has_previous:
            tables["changes"] = change_table(d, sol)
    if sol.violations is not None:
        tables["diagnosis"] = diagnosis(sol.violations)
    return tables


def diagnosis(violations: pd.DataFrame) -> pd.DataFrame:
    """The constraints an infeasible placement cannot meet, in persons."""
    rows = [
        {**{str(k): v for k, v in row.items()}, "unit": "persons"}
        for row in violations.to_dict("records")
    ]
    return diagnosis_frame(rows)


def price_table(d: PlacementData, prices: Prices, sol: PlacementSolution) -> pd.DataFrame:
    """One row per municipality: the remaining taakstelling, the persons this batch
    places there, and the price of one place (value per person) from the sampled
    futures: their mean, which the batch pays, and the lowest and highest."""
    batch: np.ndarray = np.zeros(d.n_municipalities)
    if sol.assignment is not None:
        placed = sol.assignment >= 0
        batch = np.bincount(
            sol.assignment[placed], weights=d.persons[placed], minlength=d.n_municipalities
        )
    per_future = prices.per_future
    pace = {} if d.pace is None else {"pace_price": d.pace}
    return pd.DataFrame(
        {
            "municipality": d.municipality_codes,
            "name": d.municipality_names,
            "remaining": np.asarray(d.target, dtype=np.int64),
            "batch_persons": batch.astype(np.int64),
            "price": prices.price,
            "price_lowest": per_future.min(axis=0) if len(per_future) else np.nan,
            "price_highest": per_future.max(axis=0) if len(per_future) else np.nan,
            **pace,
        }
    )


def pace_table(
    d: PlacementData, period: np.ndarray, placed: np.ndarray, sol: PlacementSolution
) -> pd.DataFrame:
    """A weekly batch against the pro-rata path, one row per municipality, those
    furthest behind first: its taakstelling, placed before this batch, this batch's
    persons, placed after it, the pro-rata target to date (the national pace times its
    taakstelling: :func:`~asielplan.solvers.prices.national_pace`) and how far it is
    behind that (negative: ahead)."""
    batch = np.zeros(d.n_municipalities, dtype=np.int64)
    if sol.assignment is not None:
        done = sol.assignment >= 0
        persons = np.bincount(
            sol.assignment[done], weights=d.persons[done], minlength=d.n_municipalities
        )
        batch = persons.astype(np.int64)
    pace = national_pace(period, placed, int(batch.sum()))
    after = placed + batch
    pro_rata = np.round(pace * period.astype(float), 2)
    table = pd.DataFrame(
        {
            "municipality": d.municipality_codes,
            "name": d.municipality_names,
            "taakstelling": period.astype(np.int64),
            "placed_before": placed.astype(np.int64),
            "batch_persons": batch,
            "placed_after": after.astype(np.int64),
            "pro_rata": pro_rata,
            "behind": np.round(pro_rata - after, 2),
        }
    )
    return table.sort_values(["behind", "municipality"], ascending=[False, True]).reset_index(
        drop=True
    )
