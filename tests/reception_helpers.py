"""Tiny reception instances written from Python, for hand-checked tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

MUNICIPALITIES = pd.DataFrame(
    {
        "code": ["GM9001", "GM9002"],
        "name": ["Aastad", "Beedorp"],
        "population": [50000, 30000],
        "lat": [52.0, 52.5],
        "lon": [5.0, 6.0],
        "province": ["PA", "PB"],
    }
)

# Two regular AZC sites (70 and 80 per night, 10 beds each) and one noodopvang.
SITES = pd.DataFrame(
    {
        "site_id": ["A1", "A2", "N1"],
        "municipality": ["GM9001", "GM9002", "GM9001"],
        "modality": ["AZC", "AZC", "noodopvang"],
        "capacity": [10, 10, 100],
        "cost_per_night": [70.0, 80.0, 190.0],
    }
)

# One cohort type, straight into the second line (no procedure stage): 8 arrive in
# period 1 and 15 in period 2, each staying 2 periods.
COHORTS = pd.DataFrame(
    {
        "cohort_id": ["c1", "c2"],
        "arrival_period": [1, 2],
        "persons": [8, 15],
        "household_type": ["single", "single"],
        "track": ["high", "high"],
        "stay_periods": [2, 2],
        "first_line_periods": [0, 0],
    }
)

TRANSFERS = [
    ["arrival", "AZC"],
    ["arrival", "noodopvang"],
    ["AZC", "AZC"],
    ["AZC", "noodopvang"],
    ["noodopvang", "AZC"],
    ["AZC", "exit"],
    ["noodopvang", "exit"],
]


def write_reception_instance(
    root: Path,
    *,
    sites: pd.DataFrame = SITES,
    cohorts: pd.DataFrame = COHORTS,
    region_targets: pd.DataFrame | None = None,
    reception: dict[str, Any] | None = None,
    municipalities: pd.DataFrame = MUNICIPALITIES,
) -> Path:
    """Write an instance folder with one night per period and no buffer by default."""
    root.mkdir(parents=True, exist_ok=True)
    tables = {"municipalities": municipalities, "sites": sites, "cohorts": cohorts}
    if region_targets is not None:
        tables["region_targets"] = region_targets
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    spec: dict[str, Any] = {
        "periods": 2,
        "nights_per_period": 1,
        "buffer_norm": 1.0,
        "region_level": "province",
        "transfers": TRANSFERS,
    }
    spec.update(reception or {})
    meta = {
        "name": "reception-tiny",
        "period": "test",
        "seed": 0,
        "region_levels": ["province"],
        "reception": spec,
        "tables": {name: {"path": f"{name}.csv"} for name in tables},
    }
    (root / "instance.toml").write_text(tomli_w.dumps(meta), encoding="utf-8")
    return root


def with_candidates(base: pd.DataFrame, **columns: list[Any]) -> pd.DataFrame:
    """``base`` plus candidate AZC sites (10 beds each, in GM9002) with the given
    columns; ``site_id`` names them."""
    n = len(columns["site_id"])
    candidates = pd.DataFrame(
        {
            "municipality": ["GM9002"] * n,
            "modality": ["AZC"] * n,
            "capacity": [10] * n,
            "state": ["candidate"] * n,
            **columns,
        }
    )
    return pd.concat([base, candidates], ignore_index=True)
