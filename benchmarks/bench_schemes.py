"""Benchmark of the quota schemes on the real 2024 municipalities (prints figures; not a
test).

    python benchmarks/bench_schemes.py --data ../shared/data [--households 10000]
        [--time-limit 50] [--out out/bench-schemes]

1. Computes every shipped scheme for the 342 municipalities (vg = 21,200, the 2023-I
   number; the Spreidingswet at its own 96,000) and prints the seconds per scheme, the
   law's total and how many municipalities the law and the largest remainder disagree on.
2. Prints the Spreidingswet's fit against the published indicative numbers of 19
   municipalities (per municipality and the mean absolute percentage error), with the
   SES proxy labelled.
3. Generates households on the real municipalities (the national number: the persons
   generated) and compares all six schemes on them (``asielplan schemes compare``): total
   seconds, and per scheme status and gap.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from asielplan.api import compare_schemes, write_comparison
from asielplan.config import RunConfig
from asielplan.data.cbs import load_cbs_municipalities
from asielplan.data.generator import generate_instance
from asielplan.experiments.studies.schemes import fit_to_published, summary_rows
from asielplan.model.schemes import BUILT_IN, compute_scheme

SIX = ("population", "spreidingswet", "labour_market", "regional_pool", "denmark", "koenigstein")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--time-limit", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("out/bench-schemes"))
    args = parser.parse_args()
    data = args.data
    cbs = load_cbs_municipalities(
        data / "nl_gemeenten_2024.csv",
        data / "nl_gemeenten_2024.geojson",
        data / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
    )
    inst = generate_instance(cbs.table, args.households, args.seed, name="national schemes")

    print("scheme          seconds  total    national")
    results = {}
    for name in BUILT_IN:
        t0 = time.perf_counter()
        result = compute_scheme(inst, name, None if name == "spreidingswet" else 21_200)
        seconds = time.perf_counter() - t0
        results[name] = result
        print(f"{name:15s} {seconds:7.3f}  {result.basis.total:7,d}  {result.basis.national:,}")
    law, exact = results["population"].table, results["exact_total"].table
    differ = int((law["taakstelling"] != exact["taakstelling"]).sum())
    print(f"law vs largest remainder: {differ} of {len(law)} municipalities differ")

    indicative = pd.read_csv(data / "spreidingswet_2024_indicatie_gemeenten_partial.csv")
    published = indicative.rename(
        columns={"gm_code": "municipality", "indicative_places": "published"}
    )
    fit = fit_to_published(results["spreidingswet"], published)
    print("\nSpreidingswet against the published indicative numbers:")
    print(
        fit.merge(indicative[["gm_code", "gm_name"]], left_on="municipality", right_on="gm_code")
        .drop(columns="gm_code")
        .to_string(index=False)
    )
    print(f"mean absolute percentage error: {100 * fit.attrs['mape']:.1f}%")
    for label in results["spreidingswet"].labels:
        print(f"note: {label}")

    config = RunConfig.model_validate({"solver": {"time_limit": args.time_limit}})
    t0 = time.perf_counter()
    comparison = compare_schemes(list(SIX), inst, config, progress=None)
    seconds = time.perf_counter() - t0
    write_comparison(comparison, args.out)
    print(f"\n{args.households:,} households under {len(SIX)} schemes: {seconds:.1f} s")
    for row in summary_rows(comparison.comparison):
        gap = row["gap"]
        shown = "-" if gap is None or gap != gap else f"{100 * gap:.3f}%"
        print(
            f"{row['scheme']:15s} {row['status']:9s} gap {shown:>8s}  labour "
            f"{row['labour_score'][0]:,.1f}  km {row['total_km'][0]:,.0f}  burden Gini of the "
            f"targets {row['burden_gini_targets'][0]:.3f}, of the plan "
            f"{row['burden_gini_plan'][0]:.3f}"
        )
    for note in comparison.notes:
        print(f"note: {note}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
