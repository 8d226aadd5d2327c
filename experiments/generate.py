"""``asielplan generate``: an instance of seeded synthetic households on real CBS
municipalities or a fictional country, optionally with reception sites and cohorts, and
a synthetic labour history beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from asielplan.data.instance import Instance, write_instance
from asielplan.errors import ConfigError
from asielplan.experiments.runs import check_output
from asielplan.io import atomic_output_dir, atomic_write_bytes, csv_bytes
from asielplan.manifest import build_manifest, input_hashes, write_manifest
from asielplan.model.schemes import compute_scheme


@dataclass
class Generated:
    """An instance made by :func:`generate`, and notes on how its data were completed."""

    instance: Instance
    notes: list[str]
    inputs: list[Path]


@dataclass(frozen=True)
class ReceptionParts:
    """What ``generate`` adds for reception planning: sites up to ``sites`` around a
    steady occupancy of ``level`` persons, cohorts of the steady, peak and trough inflows
    over ``periods`` two-week periods."""

    level: float = 50_000.0
    sites: int = 220
    periods: int = 26


def generate(
    *,
    seed: int,
    households: int = 300,
    synthetic: int | None = None,
    cbs_csv: Path | None = None,
    cbs_geometry: Path | None = None,
    indicators: Path | None = None,
    name: str | None = None,
    period: str = "2025-I",
    national: int | None = None,
    reception: ReceptionParts | None = None,
) -> Generated:
    """An instance with seeded synthetic households, on real CBS municipalities
    (``cbs_csv`` with ``cbs_geometry``, optionally the KWB ``indicators``) or on a
    fictional country of ``synthetic`` municipalities (the default's 40 when neither is
    given). With ``reception`` it also gets reception sites and cohorts whose
    high-chance arrivals are headed for the COA regions in proportion to the law's
    taakstelling there."""
    from asielplan.data.cbs import load_cbs_municipalities
    from asielplan.data.generator import (
        DEFAULT_MUNICIPALITIES,
        generate_instance,
        synthetic_municipalities,
        synthetic_shapes,
    )
    from asielplan.data.reception_generator import add_reception

    if (cbs_csv is None) != (cbs_geometry is None):
        raise ConfigError("--cbs-csv and --cbs-geometry go together")
    notes: list[str] = []
    inputs: list[Path] = []
    if cbs_csv is not None and cbs_geometry is not None:
        cbs = load_cbs_municipalities(cbs_csv, cbs_geometry, indicators)
        inputs = [p for p in (cbs_csv, cbs_geometry, indicators) if p is not None]
        inst = generate_instance(
            cbs.table,
            households,
            seed,
            name=name or "cbs-generated",
            period=period,
            national=national,
            municipality_source="CBS via " + ", ".join(p.name for p in inputs),
            geometry=cbs.shapes,
            population_date=cbs.population_date,
        )
        notes += cbs.notes
    else:
        n_muni = synthetic or DEFAULT_MUNICIPALITIES
        municipalities = synthetic_municipalities(n_muni, seed)
        inst = generate_instance(
            municipalities,
            households,
            seed,
            name=name or f"synthetic-{n_muni}",
            period=period,
            national=national,
            geometry=synthetic_shapes(municipalities),
        )
    if reception is not None:
        law = compute_scheme(inst, "population").table
        level = "coa_region"
        weights = law.groupby(inst.municipalities[level].to_numpy())["taakstelling"].sum()
        inst = add_reception(
            inst,
            seed,
            level=reception.level,
            n_sites=reception.sites,
            periods=reception.periods,
            region_level=level,
            destination_weights=weights,
        )
        cohorts = 0 if inst.cohorts is None else len(inst.cohorts)
        notes.append(
            f"reception: {len(inst.sites)} sites and {cohorts} cohorts "
            f"(SYNTHETIC); high-chance arrivals headed for the {level} regions in proportion "
            "to the law's taakstelling there"
        )
    return Generated(inst, notes, inputs)


def write_generated(generated: Generated, out: str | Path, seed: int) -> Path:
    """Write a generated instance with its manifest (seed, inputs), atomically."""
    manifest = build_manifest("generate", seed=seed, inputs=input_hashes(generated.inputs))
    return write_instance(generated.instance, out, manifest=manifest)


def write_history(
    generated: Generated, out: str | Path, adults: int, seed: int
) -> tuple[Path, pd.DataFrame]:
    """A synthetic history of ``adults`` adults on the generated instance's
    municipalities, outcomes drawn from the built-in labour model: ``history.csv``, the
    model's coefficients beside it (``history.truth.csv``) and a manifest, atomically
    (docs/labour.md)."""
    from asielplan.experiments.labour_card import truth_path
    from asielplan.model.labour_fit import synthetic_history

    out = Path(out)
    check_output(out, None)
    try:
        history, truth = synthetic_history(generated.instance.municipalities, adults, seed)
    except ValueError as error:
        raise ConfigError(f"--history: {error}") from None
    with atomic_output_dir(out) as staging:
        atomic_write_bytes(staging / "history.csv", csv_bytes(history))
        atomic_write_bytes(truth_path(staging / "history.csv"), csv_bytes(truth))
        manifest = build_manifest(
            "generate",
            seed=seed,
            inputs=input_hashes(generated.inputs),
            extra={"history_adults": adults, "synthetic": True},
        )
        write_manifest(staging, manifest)
    return out, history
