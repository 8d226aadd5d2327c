"""The public entry points, one facade: check and generate instances, split the
taakstelling and write its letters, place, plan reception and the chain, run the
studies, explain and report.

Nothing is done here: a run is :mod:`asielplan.experiments.runs` (read, check, prepare,
build and solve, read back, write), a study is its module in
:mod:`asielplan.experiments.studies` (found in its registry,
:data:`~asielplan.experiments.studies.STUDIES`), and the command line
(:mod:`asielplan.cli`), the batch and the workbench call them through these names.
"""

from __future__ import annotations

from asielplan.experiments.generate import (
    Generated,
    ReceptionParts,
    generate,
    write_generated,
    write_history,
)
from asielplan.experiments.labour_card import LabourFitStudy, fit_labour, write_labour_fit
from asielplan.experiments.report import write_report as report
from asielplan.experiments.results.explanations import (
    MunicipalityExplanation,
    explain_household,
    explain_municipality,
    read_explanations,
)
from asielplan.experiments.runs import (
    CONTRACT_TABLES,
    InstanceLike,
    Run,
    check,
    check_output,
    holds_valid_plan,
    instance_inputs,
    load_instance,
    place,
    plan_chain,
    plan_reception,
    run_spec,
    spec_inputs,
    summary_of,
    validate,
    weekly,
    with_previous_plan,
    with_table,
    write_run,
    write_run_files,
    write_run_tables,
)
from asielplan.experiments.studies import STUDIES
from asielplan.experiments.studies.fairness import FairnessStudy, fairness, write_fairness
from asielplan.experiments.studies.front import Front, front, write_front
from asielplan.experiments.studies.reception_compare import (
    ReceptionComparison,
    compare_reception,
    write_reception_comparison,
)
from asielplan.experiments.studies.schemes import (
    SchemeComparison,
    compare_schemes,
    write_comparison,
)
from asielplan.experiments.studies.simulate import SimulationStudy, simulate, write_simulation
from asielplan.experiments.studies.sweep import Sweep, sweep, write_sweep
from asielplan.experiments.taakstelling import (
    LETTER_SCHEMES,
    check_population_date,
    letters,
    scheme_tables,
    taakstelling,
    write_letters,
    write_taakstelling,
)

__all__ = [
    "CONTRACT_TABLES",
    "LETTER_SCHEMES",
    "STUDIES",
    "FairnessStudy",
    "Front",
    "Generated",
    "InstanceLike",
    "LabourFitStudy",
    "MunicipalityExplanation",
    "ReceptionComparison",
    "ReceptionParts",
    "Run",
    "SchemeComparison",
    "SimulationStudy",
    "Sweep",
    "check",
    "check_output",
    "check_population_date",
    "compare_reception",
    "compare_schemes",
    "explain_household",
    "explain_municipality",
    "fairness",
    "fit_labour",
    "front",
    "generate",
    "holds_valid_plan",
    "instance_inputs",
    "letters",
    "load_instance",
    "place",
    "plan_chain",
    "plan_reception",
    "read_explanations",
    "report",
    "run_spec",
    "scheme_tables",
    "simulate",
    "spec_inputs",
    "summary_of",
    "sweep",
    "taakstelling",
    "validate",
    "weekly",
    "with_previous_plan",
    "with_table",
    "write_comparison",
    "write_fairness",
    "write_front",
    "write_generated",
    "write_history",
    "write_labour_fit",
    "write_letters",
    "write_reception_comparison",
    "write_run",
    "write_run_files",
    "write_run_tables",
    "write_simulation",
    "write_sweep",
    "write_taakstelling",
]
