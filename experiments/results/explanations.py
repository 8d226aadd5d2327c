"""Why each household goes where it goes: the ``explanations`` table of a placement run,
and the ``changes`` table of a re-solve against a previous plan.

Every number is re-derived from the formulation (:func:`asielplan.model.placement.
single_moves`): the change of the objective if the household alone moved, the rest of
the plan fixed. Prices come from the final linear program's duals (the run's
``duals`` table). Nothing here names a personal attribute or the kind of a hard
criterion: a criterion that rules a municipality out is "a hard criterion applies".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asielplan.errors import InputError, Issue
from asielplan.experiments.results.folder import RunFolder
from asielplan.model.families import (
    MOVE_BLOCKS,
    MOVE_CRITERION,
    MOVE_GROUP_FLOOR,
    MOVE_LOCKED,
    MOVE_OK,
    SingleMoves,
    single_moves,
)
from asielplan.model.placement import PARTS, PlacementData, capacity_label
from asielplan.solvers.placement import PlacementSolution

CHUNK = 2048  # households explained at once (bounds the memory of the move matrices)
OPEN = (MOVE_OK, MOVE_LOCKED)  # moves with a meaningful objective change

EXPLANATION_COLUMNS = [
    "household_id",
    "placed",
    "municipality",
    "score",
    "score_person_part",
    "score_regional_effect",
    "value",
    "next_best",
    "next_best_delta",
    "next_best_value_change",
    "next_best_penalty_change",
    "top_scoring",
    "top_score",
    "top_reason",
    "top_delta",
    "top_taakstelling_dual",
    "binding",
    "locked",
    "lock_cost",
    "lock_breaks_criterion",
    "previous",
    "changed",
    "future_price",
    "next_best_future_price",
    "text",
]
# what keeps a household from its top-scoring municipality when no hard rule does: the
# objective parts that a move there would cost, by name in the outputs
COST_REASONS = {
    "distance": "distance cost",
    "leave_coa_region": "leaving the COA region",
    "changes": "change from the previous plan",
    "future_price": "its places are worth more to later weeks",
    "pace_price": "ahead of the national pace",
    "penalty_to": "taakstelling filled",
    "penalty_from": "its current municipality's taakstelling",
}
# a move to the top-scoring municipality that would not lower the objective: the plan
# is optimal only within the requested gap (or a joint move is needed)
WITHIN_GAP = "no cost: within the solver's gap"


def block_text(code: int) -> str:
    """The words for a blocked move. A group floor reads as a hard criterion: naming it
    would tell that the household has a member of the group (a sex or an age band)."""
    return MOVE_BLOCKS[MOVE_CRITERION if code == MOVE_GROUP_FLOOR else code]


def explanation_table(
    d: PlacementData, sol: PlacementSolution, households: pd.DataFrame
) -> pd.DataFrame:
    """One row per household: see the module docstring and ``docs/tradeoffs.md``."""
    frames = [
        _explain_rows(d, sol, households, np.arange(start, min(start + CHUNK, d.n_households)))
        for start in range(0, d.n_households, CHUNK)
    ]
    return pd.concat(frames, ignore_index=True) if frames else _empty()


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=EXPLANATION_COLUMNS)


def _explain_rows(
    d: PlacementData, sol: PlacementSolution, households: pd.DataFrame, rows: np.ndarray
) -> pd.DataFrame:
    a = sol.assignment
    moves = single_moves(d, a, rows)
    codes = d.municipality_codes
    R = len(rows)
    idx = np.arange(R)
    cur = a[rows]
    placed = cur >= 0
    open_delta = np.where(moves.blocked == MOVE_OK, moves.delta, -np.inf)
    next_best = np.argmax(open_delta, axis=1)
    has_next = np.isfinite(open_delta[idx, next_best])
    top = np.argmax(d.score[rows], axis=1)
    top_delta = moves.delta[idx, top]
    top_block = moves.blocked[idx, top]
    top_chosen = placed & (top == cur)
    reasons = _top_reasons(d, a, moves, top, top_block, top_chosen)
    lock_open = np.where(moves.blocked == MOVE_LOCKED, moves.delta, -np.inf)
    locked = d.lock[rows] >= 0
    lock_cost = np.where(locked, np.clip(lock_open.max(axis=1), 0, None), np.nan)
    lock_cost = np.where(np.isfinite(lock_cost) | ~locked, lock_cost, 0.0)
    target_dual = _dual(sol, "taakstelling", codes)
    previous = d.previous[rows]
    table = pd.DataFrame(
        {
            "household_id": d.household_ids[rows],
            "placed": placed,
            "municipality": np.where(placed, codes[np.maximum(cur, 0)], None),
            "score": households["score"].to_numpy()[rows],
            "score_person_part": households["score_person_part"].to_numpy()[rows],
            "score_regional_effect": households["score_regional_effect"].to_numpy()[rows],
            "value": households["value"].to_numpy()[rows],
            "next_best": np.where(has_next, codes[next_best], None),
            "next_best_delta": np.where(has_next, moves.delta[idx, next_best], np.nan),
            "next_best_value_change": np.where(
                has_next, moves.value_change[idx, next_best], np.nan
            ),
            "next_best_penalty_change": np.where(
                has_next, -moves.penalty_change[idx, next_best], np.nan
            ),
            "top_scoring": codes[top],
            "top_score": d.score[rows, top],
            "top_reason": reasons,
            "top_delta": np.where(
                top_chosen, 0.0, np.where(np.isin(top_block, OPEN), top_delta, np.nan)
            ),
            "top_taakstelling_dual": target_dual[top],
            "binding": _binding(d, sol, cur),
            "locked": locked,
            "lock_cost": lock_cost,
            "lock_breaks_criterion": locked & d.by_criterion[rows, np.maximum(d.lock[rows], 0)],
            "previous": np.where(previous >= 0, codes[np.maximum(previous, 0)], None),
            "changed": (previous >= 0) & (cur != previous),
            "future_price": (
                np.where(placed, d.prices[np.maximum(cur, 0)], np.nan)
                if d.prices is not None
                else np.nan
            ),
            "next_best_future_price": (
                np.where(has_next, d.prices[next_best], np.nan) if d.prices is not None else np.nan
            ),
        }
    )
    names = dict(zip(codes, d.municipality_names, strict=True))
    records = [{str(k): v for k, v in row.items()} for row in table.to_dict("records")]
    table["text"] = [_sentence(names, row) for row in records]
    if not d.has_previous:
        table = table.drop(columns=["previous", "changed"])
    if d.prices is None:
        table = table.drop(columns=["future_price", "next_best_future_price"])
    return table


def _dual(sol: PlacementSolution, family: str, labels: np.ndarray) -> np.ndarray:
    """The final LP's dual of ``family`` per label (NaN where the run kept none)."""
    series = sol.duals.get(family)
    if series is None:
        return np.full(len(labels), np.nan)
    return series.reindex([str(label) for label in labels]).to_numpy(dtype=float)


def _top_reasons(
    d: PlacementData,
    a: np.ndarray,
    moves: SingleMoves,
    top: np.ndarray,
    block: np.ndarray,
    chosen: np.ndarray,
) -> np.ndarray:
    """Why the top-scoring municipality is not the household's: the hard rule a move
    there breaks, else the objective part that costs the most in such a move."""
    rows = moves.rows
    out = np.array([block_text(code) for code in block], dtype=object)
    out[chosen] = "chosen"
    free = ~chosen & (block == MOVE_OK)
    if not free.any():
        return out
    r, to = rows[free], top[free]
    cur = a[r]
    has = cur >= 0
    here = np.maximum(cur, 0)
    parts: dict[str, np.ndarray] = {}
    for part in d.pair_parts():
        if part == "labour":
            continue
        now = np.where(has, d.pair_part(part, r, here), 0.0)
        change = d.pair_part(part, r, to) - now
        parts[part] = PARTS[part].sign * d.weight(part) * change
    if d.soft_targets:
        placed = np.bincount(a[a >= 0], weights=d.persons[a >= 0], minlength=d.n_municipalities)
        n = d.persons[r].astype(float)
        parts["penalty_to"] = d.target_penalty_change(to, placed[to], n)
        parts["penalty_from"] = np.where(has, d.target_penalty_change(here, placed[here], -n), 0)
    if not parts:
        out[free] = WITHIN_GAP
        return out
    names = list(parts)
    costs = np.vstack([parts[name] for name in names])  # objective changes, < 0 = a cost
    worst = np.argmin(costs, axis=0)
    gaining = moves.delta[np.flatnonzero(free), top[free]] >= -1e-9
    labels = np.array([COST_REASONS[names[k]] for k in worst], dtype=object)
    labels[gaining] = WITHIN_GAP
    out[free] = labels
    return out


def _binding(d: PlacementData, sol: PlacementSolution, cur: np.ndarray) -> list[str]:
    """The rows the household's pair enters whose dual is not zero: its municipality's
    taakstelling, capacity and region bands, and the bounded objective parts."""
    codes = d.municipality_codes
    per_municipality: list[list[str]] = [[] for _ in range(d.n_municipalities)]
    for m, value in enumerate(_dual(sol, "taakstelling", codes)):
        if np.isfinite(value) and abs(value) > 1e-9:
            per_municipality[m].append(f"taakstelling {codes[m]} (dual {value:,.2f})")
    for k in range(len(d.capacity_dimensions)):
        labels = np.array([capacity_label(d, k, m) for m in range(d.n_municipalities)])
        for m, value in enumerate(_dual(sol, "capacity", labels)):
            if np.isfinite(value) and abs(value) > 1e-9:
                per_municipality[m].append(f"capacity {labels[m]} (dual {value:,.2f})")
    region_duals = sol.duals.get("region_bands")
    if region_duals is not None:
        for r in d.regions:
            value = float(region_duals.get(f"{r.level}:{r.code}", np.nan))
            if np.isfinite(value) and abs(value) > 1e-9:
                for m in np.flatnonzero(r.members).tolist():
                    per_municipality[m].append(
                        f"region band {r.level}:{r.code} (dual {value:,.2f})"
                    )
    parts = []
    part_duals = sol.duals.get("part_bounds")
    if part_duals is not None:
        for name, value in part_duals.items():
            if abs(float(value)) > 1e-9:
                parts.append(f"bound on {name} (dual {float(value):,.2f})")
    text = ["; ".join(items + parts) for items in per_municipality]
    return [text[m] if m >= 0 else "; ".join(parts) for m in cur]


def _sentence(names: dict[str, str], r: dict[str, Any]) -> str:
    """One plain sentence from a row's numbers (no personal attribute in it)."""

    def place(code: str) -> str:
        return f"{names[code]} ({code})"

    if r["placed"]:
        text = f"Placed in {place(r['municipality'])}: score {r['score']:.3f}"
        if np.isfinite(r["score_person_part"]):
            text += (
                f" (person part {r['score_person_part']:.3f}, regional effect "
                f"{r['score_regional_effect']:+.3f})"
            )
        text += "."
    else:
        text = "Not placed."
    price = r.get("future_price")
    if price is not None and np.isfinite(price):
        text += (
            f" A place there is priced {price:+,.2f} per person for later weeks (sampled futures)"
        )
        following = r.get("next_best_future_price")
        if following is not None and np.isfinite(following):
            text += f"; in {place(r['next_best'])} {following:+,.2f}"
        text += "."
    if r["locked"]:
        text += f" Locked by the planner; the lock costs {r['lock_cost']:,.2f}."
        if r["lock_breaks_criterion"]:
            text += (
                " The lock overrides its hard criterion: that criterion rules this "
                "municipality out."
            )
    if isinstance(r["next_best"], str):
        text += (
            f" Next best: {place(r['next_best'])}; moving there alone changes the objective "
            f"by {r['next_best_delta']:+,.2f} (value {r['next_best_value_change']:+,.2f}, "
            f"penalties {r['next_best_penalty_change']:+,.2f})."
        )
    else:
        text += " No other municipality is possible for this household alone."
    reason = r["top_reason"]
    if reason != "chosen":
        text += (
            f" Highest score: {place(r['top_scoring'])} ({r['top_score']:.3f}), "
            f"not chosen: {reason}"
        )
        if reason == COST_REASONS["penalty_to"] and np.isfinite(r["top_taakstelling_dual"]):
            text += f" (shadow price {r['top_taakstelling_dual']:,.2f})"
        if reason in COST_REASONS.values() or reason == WITHIN_GAP:
            text += f"; moving there alone changes the objective by {r['top_delta']:+,.2f}"
        text += "."
    return text


def change_table(d: PlacementData, sol: PlacementSolution) -> pd.DataFrame:
    """Households the re-solve placed elsewhere than the previous plan, and why:
    ``locked`` (a lock forces it), ``worth more than the
    change weight`` (moving back alone would lower the objective by ``back_delta``), or
    ``changed with others`` (moving back alone would not lower it: the change pays only
    together with other households' moves). A move back that a hard rule rules out
    says which rule (``moving back breaks a rule: ...``)."""
    a = sol.assignment
    prev = d.previous
    rows = np.flatnonzero((prev >= 0) & (a != prev))
    codes = d.municipality_codes
    columns = ["household_id", "previous", "municipality", "reason", "back_delta"]
    if not len(rows):
        return pd.DataFrame(columns=columns)
    moves = single_moves(d, a, rows)
    back = prev[rows]
    idx = np.arange(len(rows))
    block = moves.blocked[idx, back]
    delta = moves.delta[idx, back]
    reason = np.where(
        block == MOVE_LOCKED,
        "locked",
        np.where(
            block != MOVE_OK,
            np.array([f"moving back breaks a rule: {block_text(b)}" for b in block], object),
            np.where(delta < -1e-9, "worth more than the change weight", "changed with others"),
        ),
    )
    locked_here = (d.lock[rows] >= 0) & (d.lock[rows] == a[rows])
    reason = np.where(locked_here, "locked", reason)
    return pd.DataFrame(
        {
            "household_id": d.household_ids[rows],
            "previous": codes[back],
            "municipality": np.where(a[rows] >= 0, codes[np.maximum(a[rows], 0)], None),
            "reason": reason,
            "back_delta": np.where(block == MOVE_OK, delta, np.nan),
        }
    )


# --------------------------------------------------------------------------- read back


@dataclass
class MunicipalityExplanation:
    """Who a placement run placed in one municipality, and who almost went there: the
    households whose next-best municipality it is, closest first."""

    code: str
    placed: pd.DataFrame
    almost: pd.DataFrame
    # its name and numbers: the run's target and persons placed; for a weekly batch its
    # taakstelling, housed before the batch, this batch and what remains after it
    facts: dict[str, Any]


def read_explanations(run_dir: str | Path) -> pd.DataFrame:
    """The ``explanations`` table of a placement run folder."""
    run = RunFolder.open(run_dir)
    table = run.table("explanations")
    if table is None:
        issue = Issue(
            str(run_dir),
            None,
            None,
            "placement run",
            "has no explanations table (a placement run with a plan writes one)",
        )
        raise InputError([issue], str(run_dir))
    return table


def explain_household(run_dir: str | Path, household: str) -> dict[str, Any]:
    """The explanation of one household of a placement run."""
    table = read_explanations(run_dir)
    found = table[table["household_id"].astype(str) == household]
    if found.empty:
        issue = Issue(
            "explanations",
            None,
            "household_id",
            "known household",
            f"{household!r} is not a household of this run",
        )
        raise InputError([issue], str(run_dir))
    return {str(k): v for k, v in found.iloc[0].items()}


def explain_municipality(
    run_dir: str | Path, code: str, almost: int = 10
) -> MunicipalityExplanation:
    """Who was placed in municipality ``code`` and the ``almost`` households for whom it
    was the next best (the smallest loss first)."""
    table = read_explanations(run_dir)
    known = set(table["municipality"].dropna()) | set(table["top_scoring"].dropna())
    known |= set(table["next_best"].dropna())
    if code not in known:
        issue = Issue(
            "explanations",
            None,
            "municipality",
            "known municipality",
            f"{code!r} appears nowhere in this run's explanations",
        )
        raise InputError([issue], str(run_dir))
    folder = RunFolder.open(run_dir)
    municipalities = folder.table("municipalities")
    names: dict[str, str] = {}
    facts: dict[str, Any] = {}
    if municipalities is not None:
        names = dict(zip(municipalities["municipality"], municipalities["name"], strict=True))
        row = municipalities.set_index("municipality").loc[code].to_dict()
        facts = {"name": names.get(code, ""), "target": row["target"]}
        facts["placed_persons"] = row["placed_persons"]
    pace = folder.table("pace")
    if pace is not None:
        week = pace.set_index("municipality").loc[code].to_dict()
        facts.update(
            taakstelling=int(week["taakstelling"]),
            placed_before=int(week["placed_before"]),
            this_batch=int(week["batch_persons"]),
            remaining=max(int(week["taakstelling"]) - int(week["placed_after"]), 0),
        )
    columns = ["household_id", "score", "value", "next_best", "next_best_delta"]
    placed = table.loc[table["municipality"] == code, columns].sort_values("household_id")
    placed.insert(4, "next_best_name", placed["next_best"].map(names))
    near = table.loc[
        (table["next_best"] == code) & (table["municipality"] != code),
        ["household_id", "municipality", "score", "next_best_delta"],
    ]
    near.insert(2, "municipality_name", near["municipality"].map(names))
    near = near.sort_values(["next_best_delta", "household_id"], ascending=[False, True])
    return MunicipalityExplanation(
        code, placed.reset_index(drop=True), near.head(almost).reset_index(drop=True), facts
    )
