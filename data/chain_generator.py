"""A synthetic chain: a weekly forecast with low, middle and high inflows, a site list
with dates and a ``[chain]`` section, for the embedded default and for benchmarks.

Volumes are national and follow published orders of magnitude (docs/chain.md shows them
beside the public figures): the inflows span the 2026 range of the chain's Meerjaren
Productie Prognose (39,000 to 67,100 asylum requests a year, middle 53,000), grant shares
of 40 to 60%, and about 66,000 people in reception at the start. Everything generated is
SYNTHETIC; the sites are not real places.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from asielplan.data.instance import ChainSpec, Instance, TableRef
from asielplan.data.reception_generator import SYNTHETIC_LABEL

START = date(2027, 1, 4)  # a Monday
YEARLY_ARRIVALS = {"low": 39_000.0, "middle": 53_000.0, "high": 67_100.0}
GRANT_SHARE = {"low": 0.40, "middle": 0.50, "high": 0.60}
# national capacity the sites add up to (persons), whatever their number
REGULAR_OPEN, EMERGENCY_OPEN = 45_000.0, 28_000.0
REGULAR_CANDIDATES, EMERGENCY_CANDIDATES = 8_000.0, 4_000.0


def chain_forecast(weeks: int, start: date = START) -> pd.DataFrame:
    """The synthetic forecast: per week and inflow the arrivals (the year's number with
    a seasonal wave, highest in autumn) and the grant share."""
    week = np.arange(weeks)
    wave = 1.0 + 0.25 * np.sin(2 * np.pi * (week - 26) / 52)
    rows: list[dict[str, object]] = []
    for inflow, yearly in YEARLY_ARRIVALS.items():
        arrivals = yearly / 52 * wave
        for t in range(weeks):
            rows.append(
                {
                    "period_start": (start + timedelta(weeks=t)).isoformat(),
                    "inflow": inflow,
                    "arrivals": round(float(arrivals[t]), 1),
                    "grant_share": GRANT_SHARE[inflow],
                }
            )
    return pd.DataFrame(rows)


def chain_sites(
    municipalities: pd.DataFrame, n_sites: int, seed: int, weeks: int, start: date = START
) -> pd.DataFrame:
    """A synthetic site list of ``n_sites`` sites: a third regular and open, almost half
    emergency and open (a third of those closing within the year), the rest candidates
    (two thirds regular business cases, a third emergency contracts), in municipalities
    drawn by population."""
    rng = np.random.default_rng([seed, 31])
    kinds = ["regular open"] * round(n_sites / 3) + ["emergency open"] * round(0.47 * n_sites)
    rest = n_sites - len(kinds)
    kinds += ["regular candidate"] * (rest - rest // 3) + ["emergency candidate"] * (rest // 3)
    totals = {
        "regular open": REGULAR_OPEN,
        "emergency open": EMERGENCY_OPEN,
        "regular candidate": REGULAR_CANDIDATES,
        "emergency candidate": EMERGENCY_CANDIDATES,
    }
    population = municipalities["population"].to_numpy(dtype=float)
    codes = municipalities["code"].astype(str).to_numpy()
    rows: list[dict[str, object]] = []
    for kind in totals:
        count = kinds.count(kind)
        if not count:
            continue
        share = rng.dirichlet(np.full(count, 4.0))
        capacity = np.maximum(np.round(share * totals[kind] / 10) * 10, 20).astype(int)
        tier, state = kind.split()
        for i in range(count):
            number = len(rows) + 1
            where = codes[rng.choice(len(codes), p=population / population.sum())]
            regular = tier == "regular"
            cost = float(rng.uniform(62, 82) if regular else rng.uniform(150, 230))
            row: dict[str, object] = {
                "site_id": f"CS{number:03d}",
                "name": f"{'AZC' if regular else 'Noodopvang'} {number:03d} (synthetic)",
                "municipality": where,
                "modality": "AZC" if regular else "noodopvang",
                "capacity": int(capacity[i]),
                "state": state,
                "opens": None,
                "closes": None,
                "contract_weeks": None,
                "cost_per_night": round(cost, 2),
                "fixed_cost_per_week": round(float(capacity[i]) * 7 * (8.0 if regular else 15.0)),
                "opening_cost": None,
            }
            if state == "candidate":
                row["opens"] = (start + timedelta(weeks=int(rng.integers(6, 30)))).isoformat()
                row["contract_weeks"] = 260 if regular else 52
                row["opening_cost"] = round(float(capacity[i]) * (2_500.0 if regular else 800.0))
            elif not regular and rng.random() < 1 / 3:
                closes = start + timedelta(weeks=int(rng.integers(8, max(weeks, 9))))
                row["state"] = "closing"
                row["closes"] = closes.isoformat()
            rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("contract_weeks",):
        frame[column] = frame[column].astype("Int64")
    return frame


def add_chain(inst: Instance, seed: int, *, n_sites: int = 60, weeks: int = 52) -> Instance:
    """Add a synthetic chain (forecast, site list, ``[chain]``) to ``inst``."""
    generated = f"{SYNTHETIC_LABEL} (seed {seed})"
    inst.forecast = chain_forecast(weeks)
    inst.site_list = chain_sites(inst.municipalities, n_sites, seed, weeks)
    inst.meta = inst.meta.model_copy(
        update={
            "chain": ChainSpec(
                in_procedure=40_000.0,
                waiting=18_000.0,
                departing=8_000.0,
                decisions_per_week=1_000.0,
                decision_lag_weeks=4,
                departure_weeks=26.0,
                realisation_share=0.9,
                national={"2027-I": 16_000.0},
            ),
            "tables": {
                **inst.meta.tables,
                "forecast": TableRef(path="forecast.csv", source=generated),
                "site_list": TableRef(path="site_list.csv", source=generated),
            },
        }
    )
    inst.files = {k: v.path for k, v in inst.meta.tables.items()}
    return inst
