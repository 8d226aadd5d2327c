"""The weekly placement simulated over a half-year: policies against hindsight.

Households arrive week by week (generated from a seed on the instance's municipalities
and sites, or drawn from a given arrivals instance); each online policy places each
week's batch in turn against what is left of the taakstelling, and ``hindsight`` places
all arrivals at once. Every policy's half-year plan is scored with the same objective,
the placement model of all arrivals against the period's taakstelling, so the shares of
hindsight compare like with like (docs/weekly.md).

Balance over time (Bansak and Paulson, Operations Research 2024): after week ``w`` a
municipality should hold its taakstelling times the share of the half-year's persons
arrived so far; the balance of a week is the sum over municipalities of the absolute
difference, as a share of the taakstelling.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from asielplan.config import RunConfig, check_count, check_priced
from asielplan.data.generator import generate_households
from asielplan.data.instance import Instance
from asielplan.errors import ConfigError
from asielplan.experiments.outputs import Column, Output, Table
from asielplan.experiments.plots import pyplot
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.runs import (
    InstanceLike,
    check,
    check_output,
    instance_inputs,
    instance_path,
    load_instance,
    write_run_tables,
)
from asielplan.experiments.sections import Section, Shapes, run_image, study_sections
from asielplan.experiments.studies.study import Study
from asielplan.io import atomic_output_dir
from asielplan.manifest import build_manifest, write_manifest
from asielplan.model.families import evaluate_assignment
from asielplan.model.placement import PlacementData, prepare_placement
from asielplan.runspec import RunSpec
from asielplan.solvers.highs import Progress
from asielplan.solvers.placement import PlacementSolution, solve_placement
from asielplan.solvers.prices import HouseholdFutures, look_ahead

POLICIES = ("greedy", "prices", "balanced", "hindsight")


@dataclass(frozen=True)
class Simulation:
    """The tables of a simulation: one row per policy and seed (``runs``), their
    summary over seeds with 95% confidence intervals, and balance week by week."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    balance: pd.DataFrame


def half_year_arrivals(
    inst: Instance, persons: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households (and members) arriving in the half-year: generated from ``seed`` on the
    instance's municipalities and sites until their persons reach ``persons``."""
    guess = max(8, int(persons / 2.0) + 8)
    households, members = generate_households(inst.municipalities, inst.sites, guess, seed)
    reach = households["persons"].cumsum().to_numpy()
    keep = int(np.searchsorted(reach, persons)) + 1
    households = households.iloc[:keep].reset_index(drop=True)
    members = members[members["household_id"].isin(households["household_id"])]
    return households, members.reset_index(drop=True)


def run_policies(
    inst: Instance,
    config: RunConfig,
    weeks: int,
    seeds: list[int],
    policies: tuple[str, ...],
    arrivals: Instance | None = None,
    say: Progress | None = None,
    workers: int = 1,
    on_seed: Callable[[int, int], None] | None = None,
) -> Simulation:
    """Simulate ``weeks`` weekly batches for every seed and policy (see the module);
    with ``workers`` > 1 the runs (a seed under a policy) go to that many processes
    (the tables are the same: each run depends on its seed and policy alone, and the
    runs are gathered in seed and policy order). ``on_seed(done, total)`` is called as
    each seed's last run ends."""
    tell = say or (lambda message: None)
    count = on_seed or (lambda done, total: None)
    done: dict[tuple[int, str], tuple[float, dict[str, object], pd.DataFrame]] = {}
    finished: list[int] = []

    def seed_done(seed: int) -> bool:
        return all((seed, policy) in done for policy in policies)

    if workers <= 1:
        for seed in seeds:
            tell(f"seed {seed} ({len(finished) + 1} of {len(seeds)})")
            for policy in policies:
                done[(seed, policy)] = one_run(inst, config, weeks, seed, policy, arrivals)
            finished.append(seed)
            count(len(finished), len(seeds))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            running = {
                pool.submit(one_run, inst, config, weeks, seed, policy, arrivals): (seed, policy)
                for seed in seeds
                for policy in policies
            }
            for future in as_completed(running):
                seed, policy = running[future]
                done[(seed, policy)] = future.result()
                if seed_done(seed):
                    finished.append(seed)
                    tell(f"seed {seed} done ({len(finished)} of {len(seeds)})")
                    count(len(finished), len(seeds))
    rows: list[dict[str, object]] = []
    curves: list[pd.DataFrame] = []
    for seed in seeds:
        best = done[(seed, "hindsight")][0] if "hindsight" in policies else np.nan
        for policy in policies:
            objective, row, curve = done[(seed, policy)]
            share = objective / best if best > 0 else np.nan
            rows.append({**row, "share_of_hindsight": share})
            curves.append(curve)
    runs = pd.DataFrame(rows)[RUN_COLUMNS]
    return Simulation(runs, _summary(runs), pd.concat(curves, ignore_index=True))


RUN_COLUMNS = [
    "policy",
    "seed",
    "households",
    "persons",
    "objective",
    "status",
    "solves",
    "gap",
    "share_of_hindsight",
    "expected_employed",
    "deviation_end",
    "balance_mean",
    "balance_worst",
]


def one_run(
    inst: Instance,
    config: RunConfig,
    weeks: int,
    seed: int,
    policy: str,
    arrivals: Instance | None,
) -> tuple[float, dict[str, object], pd.DataFrame]:
    """One seed's half-year under one policy: its objective, its row (without the
    share of hindsight, which needs the hindsight run) and its balance curve."""
    full, week_of = _half_year(inst, config, weeks, seed, arrivals)
    assert full.target is not None
    if policy == "hindsight":
        solution = solve_placement(full, config.solver)
        plan, solves = _assignment(solution), [solution]
    else:
        plan, solves = _online(full, week_of, weeks, policy, config, seed)
    curve = _balance(full, plan, week_of, weeks)
    curve.insert(0, "seed", seed)
    curve.insert(0, "policy", policy)
    placed = np.bincount(
        plan[plan >= 0], weights=full.persons[plan >= 0], minlength=full.n_municipalities
    )
    objective = evaluate_assignment(full, plan, elastic=False)
    row: dict[str, object] = {
        "policy": policy,
        "seed": seed,
        "households": full.n_households,
        "persons": int(full.persons.sum()),
        "objective": objective,
        **_solves_row(solves),
        "expected_employed": float(full.score[np.flatnonzero(plan >= 0), plan[plan >= 0]].sum()),
        "deviation_end": float(np.abs(placed - full.target).sum()),
        "balance_mean": float(curve["balance"].mean()),
        "balance_worst": float(curve["balance"].max()),
    }
    return objective, row, curve


def _half_year(
    inst: Instance, config: RunConfig, weeks: int, seed: int, arrivals: Instance | None
) -> tuple[PlacementData, np.ndarray]:
    """The model of all the half-year's arrivals against the period's taakstelling, and
    each household's week (0-based)."""
    spec = inst.meta.taakstelling
    if spec is None:
        raise ValueError("a simulation needs a taakstelling ([taakstelling] in instance.toml)")
    rng = np.random.default_rng([seed, 104729])
    members: pd.DataFrame | None
    if arrivals is None:
        households, members = half_year_arrivals(inst, spec.national, seed)
    else:
        households, members = arrivals.households, arrivals.members
    order = rng.permutation(len(households))
    households = households.iloc[order].reset_index(drop=True)
    week_of = np.zeros(len(households), dtype=np.int64)
    for week, part in enumerate(np.array_split(np.arange(len(households)), weeks)):
        week_of[part] = week
    whole = with_arrivals(inst, arrivals, households, members)
    placement = config.placement.model_copy(update={"targets": "taakstelling"})
    return prepare_placement(whole, config, placement), week_of


def with_arrivals(
    inst: Instance,
    arrivals: Instance | None,
    households: pd.DataFrame,
    members: pd.DataFrame | None,
) -> Instance:
    """The instance with the half-year's ``households`` in place of its own: their
    members, and from an ``arrivals`` instance also its scores or predictions, allowed,
    forbidden and needs tables (the instance's own tables name other households); no
    progress, locks or previous plan."""
    return replace(
        inst,
        households=households,
        members=members,
        scores=arrivals.scores if arrivals is not None else None,
        predictions=arrivals.predictions if arrivals is not None else None,
        allowed=arrivals.allowed if arrivals is not None else None,
        forbidden=arrivals.forbidden if arrivals is not None else None,
        needs=arrivals.needs if arrivals is not None else None,
        progress=None,
        locks=None,
        previous_plan=None,
    )


def _solves_row(solves: list[PlacementSolution]) -> dict[str, object]:
    """How well a run's solves are proven: the weakest status (optimal only when every
    solve proved its gap) and the largest gap (the hindsight run has one solve, an
    online policy one per week)."""
    statuses = {s.status.value for s in solves}
    gaps = [s.gap for s in solves if s.gap is not None]
    return {
        "status": "optimal" if statuses == {"optimal"} else "feasible",
        "solves": len(solves),
        "gap": max(gaps) if gaps else np.nan,
    }


def _assignment(solution: PlacementSolution) -> np.ndarray:
    """The plan of a simulated solve; a solve without one stops the simulation."""
    if not solution.status.has_solution:
        raise RuntimeError(f"a simulated placement ended without a plan ({solution.status})")
    return np.asarray(solution.assignment, dtype=np.int64)


def _online(
    full: PlacementData,
    week_of: np.ndarray,
    weeks: int,
    policy: str,
    config: RunConfig,
    seed: int,
) -> tuple[np.ndarray, list[PlacementSolution]]:
    """One online policy over the half-year: each week's batch placed in turn; the plan
    and the weeks' solves."""
    assert full.target is not None
    plan = np.full(full.n_households, -1, dtype=np.int64)
    placed = np.zeros(full.n_municipalities, dtype=np.int64)
    # one model of the futures for the half-year: the weeks' pools overlap
    futures = HouseholdFutures(full, config.solver) if policy != "greedy" else None
    solves: list[PlacementSolution] = []
    weekly = config.weekly.model_copy(update={"policy": policy})
    for week in range(weeks):
        batch = np.flatnonzero(week_of == week)
        if not len(batch):
            continue
        remaining = np.clip(full.target - placed, 0, None)
        recent = np.flatnonzero((week_of <= week) & (week_of > week - weekly.history_weeks))
        data, _ = look_ahead(
            full.subset(batch, remaining),
            futures,
            recent,
            full.target,
            placed,
            weekly,
            week_seed(weekly.seed, seed, week),
        )
        solution = solve_placement(data, config.solver)
        solves.append(solution)
        assignment = _assignment(solution)
        plan[batch] = assignment
        done = assignment >= 0
        placed += np.bincount(
            assignment[done], weights=data.persons[done], minlength=full.n_municipalities
        ).astype(np.int64)
    return plan, solves


def week_seed(weekly_seed: int, seed: int, week: int) -> int:
    """The seed of a simulated week's futures: from ``weekly.seed``, the simulation's
    seed and the week, so that each differs and a change of ``weekly.seed`` changes
    them all."""
    return int(np.random.SeedSequence([weekly_seed, seed, week]).generate_state(1)[0])


def _balance(
    full: PlacementData, plan: np.ndarray, week_of: np.ndarray, weeks: int
) -> pd.DataFrame:
    """Per week: persons placed so far against the pro-rata path, summed over
    municipalities, as a share of the taakstelling."""
    assert full.target is not None
    target = full.target.astype(float)
    total = float(full.persons.sum())
    records = []
    for week in range(weeks):
        upto = (week_of <= week) & (plan >= 0)
        held = np.bincount(plan[upto], weights=full.persons[upto], minlength=full.n_municipalities)
        arrived = float(full.persons[week_of <= week].sum())
        path = target * (arrived / total if total else 0.0)
        off = float(np.abs(held - path).sum())
        records.append(
            {
                "week": week + 1,
                "placed": float(held.sum()),
                "off_path_persons": off,
                "balance": off / target.sum() if target.sum() else np.nan,
            }
        )
    return pd.DataFrame(records)


SUMMARISED = ("share_of_hindsight", "expected_employed", "deviation_end", "balance_mean")


def _summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% confidence interval (Student's t over seeds) per policy."""
    records = []
    for policy, group in runs.groupby("policy", sort=False):
        record: dict[str, object] = {"policy": policy, "seeds": len(group)}
        for column in SUMMARISED:
            values = group[column].to_numpy(dtype=float)
            mean = float(np.mean(values))
            if len(values) > 1:
                half = float(
                    stats.t.ppf(0.975, len(values) - 1)
                    * np.std(values, ddof=1)
                    / np.sqrt(len(values))
                )
            else:
                half = np.nan
            record[column] = mean
            record[f"{column}_low"] = mean - half
            record[f"{column}_high"] = mean + half
        records.append(record)
    return pd.DataFrame(records)


def plot_shares(runs: pd.DataFrame, path: Path, title: str) -> None:
    """Each policy's share of the hindsight optimum, one dot per seed, with the mean."""
    plt = pyplot()

    policies = list(dict.fromkeys(runs["policy"]))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, policy in enumerate(policies):
        values = runs.loc[runs["policy"] == policy, "share_of_hindsight"].to_numpy(float)
        ax.scatter(np.full(len(values), k), 100 * values, alpha=0.6, color="tab:blue")
        ax.hlines(100 * np.nanmean(values), k - 0.25, k + 0.25, color="black")
    ax.set_xticks(range(len(policies)), policies)
    ax.set_ylabel("% of the hindsight optimum")
    ax.set_title(f"{title}: objective per policy and seed")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def plot_balance(balance: pd.DataFrame, path: Path, title: str) -> None:
    """Balance over time: persons off the pro-rata path per week (share of the
    taakstelling), each policy's mean over seeds."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 3.6))
    mean = balance.groupby(["policy", "week"], sort=False)["balance"].mean().reset_index()
    for policy, group in mean.groupby("policy", sort=False):
        ax.plot(group["week"], 100 * group["balance"], marker="o", ms=3, label=str(policy))
    ax.set_xlabel("week")
    ax.set_ylabel("% of the taakstelling off the pro-rata path")
    ax.set_title(f"{title}: balance over time")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- the study


@dataclass
class SimulationStudy:
    """A simulation of weekly placement (``asielplan simulate``) and what it ran on."""

    instance: Instance
    config: RunConfig
    weeks: int
    seeds: list[int]
    policies: tuple[str, ...]
    result: Simulation
    arrivals: Instance | None = None
    workers: int = 1


def simulate(
    instance: InstanceLike = None,
    config: RunConfig | None = None,
    weeks: int = 26,
    seeds: int = 20,
    policies: tuple[str, ...] = ("greedy", "prices", "hindsight"),
    arrivals: InstanceLike | str | Path = None,
    progress: Progress | None = None,
    workers: int = 1,
    on_seed: Callable[[int, int], None] | None = None,
) -> SimulationStudy:
    """Simulate weekly placement over a half-year of ``weeks`` weeks for seeds 1 ..
    ``seeds`` and compare ``policies`` (greedy, prices, balanced, hindsight) with the
    hindsight optimum (asielplan.experiments.studies.simulate, docs/weekly.md). Arrivals are
    generated from each seed on the instance's municipalities and sites until their
    persons reach the national taakstelling, or are the households of ``arrivals`` (an
    instance folder), split into weeks in a seeded order. ``workers`` > 1 runs each seed
    under each policy as its own task in that many processes, each solve on one thread
    (``solver.threads`` = 1);
    ``on_seed(done, total)`` is called as each seed ends."""
    config = config or RunConfig()
    inst = load_instance(instance)
    unknown = [p for p in policies if p not in POLICIES]
    if unknown or not policies:
        raise ConfigError(
            f"policies: {', '.join(unknown) or 'none given'}; choose from {', '.join(POLICIES)}"
        )
    if "hindsight" not in policies:
        policies = (*policies, "hindsight")
    if weeks < 1 or seeds < 1:
        raise ConfigError("--weeks and --seeds must be at least 1")
    check_count(weeks * seeds * len(policies), f"--weeks {weeks} --seeds {seeds:,}", config.limits)
    if inst.meta.taakstelling is None:
        raise ConfigError("a simulation needs a taakstelling ([taakstelling] in instance.toml)")
    cfg = config.model_copy(
        update={"placement": config.placement.model_copy(update={"targets": "taakstelling"})}
    )
    if workers > 1:
        cfg = cfg.model_copy(update={"solver": cfg.solver.model_copy(update={"threads": 1})})
    check_priced(cfg, policies)
    check(inst, cfg, "place")
    if cfg.placement.region_bands or cfg.placement.group_floors or cfg.placement.part_bounds:
        raise ConfigError(
            "a simulation places weekly batches without region bands, group floors or part "
            "bounds; remove them from the configuration"
        )
    past = load_instance(arrivals) if arrivals is not None else None
    if past is None and inst.sites.empty:
        raise ConfigError(
            "a simulation generates arrivals at the instance's reception sites and it has "
            "none: give the half-year's arrivals with --arrivals"
        )
    if past is not None:
        check(with_arrivals(inst, past, past.households, past.members), cfg, "place")
    numbers = list(range(1, seeds + 1))
    result = run_policies(inst, cfg, weeks, numbers, policies, past, progress, workers, on_seed)
    return SimulationStudy(inst, cfg, weeks, numbers, policies, result, past, workers)


def write_simulation(study: SimulationStudy, out: str | Path) -> Path:
    """``runs``, ``summary`` and ``balance`` (CSV/Parquet), ``shares.png``,
    ``balance.png`` and a manifest, atomically."""
    out = Path(out)
    check_output(out, study.instance)
    title = study.instance.meta.name
    result = study.result
    tables = {"runs": result.runs, "summary": result.summary, "balance": result.balance}
    with atomic_output_dir(out) as staging:
        write_run_tables(staging, tables, study.config.output)
        plot_shares(result.runs, staging / "shares.png", title)
        plot_balance(result.balance, staging / "balance.png", title)
        inputs = instance_inputs(study.instance)
        if study.arrivals is not None:
            inputs |= {f"arrivals/{k}": v for k, v in instance_inputs(study.arrivals).items()}
        options = {"weeks": study.weeks, "seeds": study.seeds, "policies": list(study.policies)}
        spec = RunSpec("simulate", study.instance.root, study.config, inputs, options)
        manifest = build_manifest(
            "simulate",
            seed=study.config.weekly.seed,
            config=study.config.model_dump(mode="json"),
            inputs=inputs,
            extra={
                "run_id": spec.id,
                "weeks": study.weeks,
                "seeds": study.seeds,
                "policies": list(study.policies),
                "workers": study.workers,
                "instance": study.instance.meta.name,
                "instance_path": instance_path(study.instance),
            },
        )
        write_manifest(staging, manifest)
    return out


# --------------------------------------------------------------------------- its files

POLICY = Column("policy", "text", "", "greedy, prices, balanced or hindsight.")
SIMULATED = "share_of_hindsight", "expected_employed", "deviation_end", "balance_mean"
SIMULATE = Output(
    "simulate",
    ("asielplan simulate",),
    "Weekly placement simulated over a half-year, every policy against hindsight (docs/weekly.md).",
    (
        Table(
            "runs",
            "One row per policy and seed: its half-year plan scored with the objective of "
            "all arrivals against the taakstelling.",
            (
                POLICY,
                Column("seed", "integer", "", "The seed of the arrivals and futures."),
                Column("households", "integer", "households", "Households arrived."),
                Column("persons", "integer", "persons", "Persons arrived."),
                Column("objective", "number", "objective", "The half-year plan's objective."),
                Column(
                    "status",
                    "text",
                    "",
                    "optimal when every solve of the run proved solver.mip_gap, else feasible "
                    "(a solve without a plan stops the simulation).",
                ),
                Column(
                    "solves",
                    "integer",
                    "",
                    "The run's solves: 1 for hindsight, one per week with arrivals for an "
                    "online policy.",
                ),
                Column(
                    "gap",
                    "number",
                    "share",
                    "The largest relative gap of the run's solves; the hindsight run's gap "
                    "bounds how far its objective, every share's denominator, is from the "
                    "optimum.",
                ),
                Column(
                    "share_of_hindsight",
                    "number",
                    "share",
                    "Objective over the hindsight optimum's (hindsight: 1).",
                ),
                Column("expected_employed", "number", "labour score", "Sum of the placed scores."),
                Column(
                    "deviation_end",
                    "number",
                    "persons",
                    "Sum over municipalities of |placed - target| at the end (the target: "
                    "the taakstelling, shared over the half-year's persons by "
                    "placement.shortfall_sharing).",
                ),
                Column(
                    "balance_mean",
                    "number",
                    "share",
                    "Mean over weeks of the persons off the pro-rata path, as a share of "
                    "the taakstelling (balance).",
                ),
                Column("balance_worst", "number", "share", "The worst week's balance."),
            ),
        ),
        Table(
            "summary",
            "One row per policy: the mean over seeds of each figure with its 95% confidence "
            "interval (Student's t; empty with one seed).",
            (
                POLICY,
                Column("seeds", "integer", "", "Seeds simulated."),
                *(
                    column
                    for name in SIMULATED
                    for column in (
                        Column(name, "number", "", f"Mean of {name} over the seeds."),
                        Column(f"{name}_low", "number", "", "Lower end of the 95% interval."),
                        Column(f"{name}_high", "number", "", "Upper end of the 95% interval."),
                    )
                ),
            ),
        ),
        Table(
            "balance",
            "One row per policy, seed and week: the persons placed so far against the "
            "pro-rata path (each municipality's taakstelling times the share of the "
            "half-year's persons arrived so far).",
            (
                POLICY,
                Column("seed", "integer", "", "The seed."),
                Column("week", "integer", "", "Week, 1 = the first."),
                Column("placed", "number", "persons", "Persons placed up to this week."),
                Column(
                    "off_path_persons",
                    "number",
                    "persons",
                    "Sum over municipalities of |placed so far - pro-rata path|.",
                ),
                Column("balance", "number", "share", "off_path_persons over the taakstelling."),
            ),
        ),
    ),
)


def simulate_sections(run: RunFolder, shapes: Shapes) -> list[Section]:
    sections = study_sections(
        run,
        "shares.png",
        [
            ("summary", "Per policy: means over the seeds with 95% intervals"),
            ("runs", "Per policy and seed"),
        ],
        "The simulation wrote no plot.",
    )
    balance = run_image(run, "balance.png")
    if balance is not None:
        sections[0].figures.append(balance)
    return sections


STUDY = Study(
    "simulate", "Weekly placement simulated against hindsight", SIMULATE, simulate_sections
)
