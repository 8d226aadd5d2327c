"""Read-back tables of a run, for both problems: one home that the run pipeline and the
studies import (layer ``results``, below them in ``asielplan.experiments``).

Every run writes, whatever its problem:

- ``kpis``: one row of key figures, with ``status``, ``stop`` (why the solve ended),
  ``objective``, ``bound``, ``gap`` and ``requested_gap``;
- ``objective``: the objective split into named parts (:func:`objective_table`);
- ``duals``: the final linear program's dual per row of each kept constraint family
  (:func:`duals_table`);
- ``diagnosis`` when the run is infeasible: what cannot be met and by how much, in the
  shape of :data:`DIAGNOSIS_COLUMNS` for both problems.

The problem-specific tables are built in :mod:`.placement` and :mod:`.reception`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from asielplan.solvers.result import Result

DIAGNOSIS_COLUMNS = [
    "family",
    "constraint",
    "inflow",
    "period",
    "bound",
    "value",
    "violation",
    "unit",
]


def diagnosis_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A diagnosis table from rows with (some of) :data:`DIAGNOSIS_COLUMNS`."""
    return pd.DataFrame(rows, columns=DIAGNOSIS_COLUMNS)


def objective_table(result: Result) -> pd.DataFrame:
    """One row per objective part: quantity and unit, weight per unit, and what it adds
    to the objective, as money (``money_eur``) or as a weight (``weighted``)."""
    return result.parts_table()


def duals_table(result: Result) -> pd.DataFrame:
    """family, constraint, dual: the change of the objective (in the model's sense) per
    unit more on the row's right-hand side."""
    return result.duals_table()


def contract_kpis(result: Result) -> dict[str, Any]:
    """The KPI columns every run has: status, why it stopped, objective, bound, gaps."""
    return {
        "status": result.status.value,
        "stop": result.stop,
        "objective": result.objective,
        "bound": result.bound,
        "objective_constant": result.constant,
        "gap": result.gap,
        "gap_variable": result.gap_variable,
        "requested_gap": result.requested_gap,
    }
