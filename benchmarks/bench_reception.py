"""Benchmark of reception planning at national scale (prints figures; not a test).

    python benchmarks/bench_reception.py [--data ../shared/data] [--sites 220]
        [--periods 26] [--level 50000] [--inflow peak] [--time-limit 120]
        [--method auto|mip|lp_round]

Sites are generated on the real 2024 municipalities when ``--data`` is given (else on
342 fictional ones), about 220 sites over 26 two-week periods with 13 cohort types;
prints build, compile and solve seconds, status, gap and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from asielplan.config import RunConfig, SolverConfig
from asielplan.data.generator import generate_instance, synthetic_municipalities
from asielplan.data.instance import Instance
from asielplan.data.reception_generator import add_reception
from asielplan.model.reception import prepare_reception
from asielplan.solvers.reception import solve_reception


def national_instance(
    data: Path | None, sites: int, periods: int, level: float, seed: int
) -> Instance:
    if data is not None:
        from asielplan.data.cbs import load_cbs_municipalities

        muni = load_cbs_municipalities(
            data / "nl_gemeenten_2024.csv", data / "nl_gemeenten_2024.geojson"
        ).table
    else:
        muni = synthetic_municipalities(342, seed)
    inst = generate_instance(muni, 10, seed, name="national reception (synthetic sites)")
    inst.sites = inst.sites.iloc[:0]
    return add_reception(inst, seed, level=level, n_sites=sites, periods=periods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--sites", type=int, default=220)
    parser.add_argument("--periods", type=int, default=26)
    parser.add_argument("--level", type=float, default=50_000)
    parser.add_argument("--inflow", default="peak")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--method", default="auto", choices=("auto", "mip", "lp_round"), help="solve method"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    inst = national_instance(args.data, args.sites, args.periods, args.level, args.seed)
    data = prepare_reception(inst, RunConfig().reception, [args.inflow])
    t1 = time.perf_counter()
    solver = SolverConfig(time_limit=args.time_limit, mip_gap=0.005, reception_method=args.method)
    sol = solve_reception(data, solver)
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gap = "-" if sol.gap is None else f"{100 * sol.gap:.3f}%"
    print(
        f"sites {len(inst.sites)} ({sum(not c.eligible for c in data.cases)} business cases "
        f"over budget left out), periods {args.periods}, types {len(data.types)}, "
        f"classes {len(data.classes)}, inflow {args.inflow}, method "
        f"{sol.stats.get('method', args.method)}"
    )
    print(
        f"variables {sol.stats['variables']:,}, constraints {sol.stats['constraints']:,}, "
        f"binaries {sol.stats['binaries']:,}"
    )
    print(
        f"prepare {t1 - t0:.1f} s, build (with compile) {sol.timings['build_s']:.1f} s, compile "
        f"{sol.stats['compile_s']:.1f} s, solve {sol.timings['solve_s']:.1f} s, total "
        f"{total:.1f} s; status {sol.status.value}, gap {gap}, peak memory {peak:,.0f} MiB"
        + (
            f"; of the solve, the duals' LP after branch and bound {sol.stats['duals_s']:.1f} s"
            if "duals_s" in sol.stats
            else ""
        )
    )


if __name__ == "__main__":
    main()
