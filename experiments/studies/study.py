"""What a study is to the rest of the program: its kind (the command in its manifest),
its report title and sections, its files (for the output dictionary) and, for a study a
batch can run, how it runs and what its row in the batch's table says.

A study module (one per study in this package) runs the run pipeline
(:mod:`asielplan.experiments.runs`) several times for one question, writes its tables
and plots, and ends with its :class:`Study`; :data:`asielplan.experiments.studies.STUDIES`
lists them. The report, the output dictionary and the batch find studies there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asielplan.config import RunConfig
from asielplan.data.instance import Instance
from asielplan.experiments.outputs import Output
from asielplan.experiments.results.folder import RunFolder
from asielplan.experiments.sections import Section, Shapes


@dataclass(frozen=True)
class StudyRow:
    """A study's row in a batch's table: its headline numbers (with ``stop``, a text
    saying what it found), and the status and gap of each of its runs."""

    numbers: dict[str, Any]
    statuses: list[str]
    gaps: list[float]


@dataclass(frozen=True)
class BatchStudy:
    """How a batch runs a study: its kind in a batch file; the section of the batch file
    that holds its options (a model the batch file declares, see ``options``) and how
    they become the run's options (part of its run id; the section may be missing when
    the study has defaults); the run (instance, the run's configuration, those options,
    the folder to write); and its row, read back from the folder it wrote."""

    kind: str
    section: str
    options: Callable[[Any], dict[str, Any]]
    run: Callable[[str | Instance, RunConfig, dict[str, Any], Path], None]
    row: Callable[[RunFolder], StudyRow | None]


@dataclass(frozen=True)
class Study:
    """A study: ``kind`` is the command its manifest names; ``title`` and ``sections``
    make its report; ``output`` declares its files; ``maps`` says whether its report
    draws maps of the run's instance; ``batch`` is set when a batch can run it."""

    kind: str
    title: str
    output: Output
    sections: Callable[[RunFolder, Shapes], list[Section]]
    maps: bool = False
    batch: BatchStudy | None = None
