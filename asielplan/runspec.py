"""RunSpec: one run, named by the content of what it runs.

A run is a kind (``place``, ``reception``, ``weekly``, or a study of several runs:
``schemes``, as ``asielplan schemes compare``, and ``front``), an instance (a folder, or
one made in memory), a configuration with its scenario's overrides applied (the inflow,
the solver seed and the quota scheme are settings of the configuration) and, for a
study, its options (the schemes compared; a front's problem, axes and points). Its id
is a content hash: the same kind, the same instance contents (``inputs``: SHA-256 per
file), the same effective configuration and the same options give the same id on any
machine and at any path, so batches can key results and resume on it. The id is written
into the manifest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from asielplan.config import RunConfig
from asielplan.io import json_text

Kind = Literal["place", "reception", "weekly", "schemes", "front", "simulate", "chain"]
# settings that do not change a result (the scenario's name is a label; logging; limits)
NOT_IN_ID = {("scenario",), ("solver", "log"), ("limits",)}


@dataclass(frozen=True)
class RunSpec:
    """What to run (``kind``), on what (``instance``: its folder, None when made in
    memory; ``inputs``: the SHA-256 of its contents), how (``config``, and a study's
    ``options``)."""

    kind: Kind
    instance: Path | None
    config: RunConfig
    inputs: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def inflow(self) -> str | None:
        return self.config.reception.inflow

    @property
    def seed(self) -> int:
        return self.config.solver.seed

    def effective_config(self) -> dict[str, Any]:
        """The configuration as it changes results (labels and logging left out)."""
        raw = self.config.model_dump(mode="json")
        for path in NOT_IN_ID:
            target = raw
            for key in path[:-1]:
                target = target[key]
            target.pop(path[-1], None)
        return raw

    @property
    def id(self) -> str:
        """16 hex digits of the SHA-256 of kind, instance contents, configuration and
        (a study's) options."""
        content = {"kind": self.kind, "inputs": self.inputs, "config": self.effective_config()}
        if self.options:
            content["options"] = self.options
        return hashlib.sha256(json_text(content).encode("utf-8")).hexdigest()[:16]
