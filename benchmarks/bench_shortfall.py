"""Benchmark of sharing a shortfall (a script, not a test): how the difference between the
taakstelling and the persons to place spreads over the municipalities under each rule of
``placement.shortfall_sharing``, and what the proportional rule costs in labour score.

On households generated on the real 2024 municipalities (CBS files from a path you give;
10,000 households, seed 7 by default), one placement per rule. Per rule it prints the
status and gap, the national shortfall share, the largest relative shortfall of a
municipality, the municipalities further below their taakstelling than the national share
plus one large household (8 persons), and the expected employed persons; then the price of
the proportional rule in labour score against the objective rule.

    python benchmarks/bench_shortfall.py --data ../shared/data --households 10000
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

import numpy as np

from asielplan.config import PlacementConfig, RunConfig, SolverConfig

LARGE_HOUSEHOLD = 8  # persons: the bar's allowance for whole households
RULES: tuple[Literal["objective", "proportional"], ...] = ("objective", "proportional")


def main(argv: list[str] | None = None) -> None:
    from bench_placement import national_instance

    from asielplan.api import place

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data", help="folder with the CBS files")
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    inst = national_instance(Path(args.data), args.households, seed=args.seed)
    labour: dict[str, float] = {}
    for rule in RULES:
        cfg = RunConfig(
            solver=SolverConfig(time_limit=args.time_limit),
            placement=PlacementConfig(shortfall_sharing=rule),
        )
        run = place(inst, cfg)
        muni = run.tables["municipalities"]
        kpis = run.tables["kpis"].iloc[0]
        period = muni["taakstelling"].to_numpy(dtype=float)
        short = np.clip(period - muni["placed_persons"].to_numpy(dtype=float), 0, None)
        allowed = kpis["national_shortfall_share"] * period + LARGE_HOUSEHOLD
        beyond = muni.loc[short > allowed + 1e-9, ["name", "taakstelling", "placed_persons"]]
        labour[rule] = float(kpis["total_labour_score"])
        print(
            f"{rule:>12}: {kpis['status']}, gap {kpis['gap']:.3%}; taakstelling "
            f"{int(period.sum()):,}, persons {int(kpis['persons']):,}; national shortfall "
            f"{kpis['national_shortfall_share']:.2%}; largest relative shortfall "
            f"{kpis['largest_relative_shortfall']:.2%}; beyond the national share + "
            f"{LARGE_HOUSEHOLD} persons: {len(beyond)}; labour score {labour[rule]:,.2f}"
        )
        for row in beyond.head(10).itertuples():
            print(f"{'':>14}{row.name}: {row.placed_persons} of {row.taakstelling}")
    price = 1 - labour["proportional"] / labour["objective"]
    print(f"price of the proportional rule: {price:.3%} of the labour score")


if __name__ == "__main__":
    main()
