"""Proposal runs out of the web server's process: one warm worker process (the package
imported once, so a click starts solving at once) does the runs one at a time; cancelling
a run ends that process and starts a fresh one."""

from __future__ import annotations

import multiprocessing
from multiprocessing.process import BaseProcess
from typing import Any


def _serve(db: str, jobs: Any) -> None:
    """The worker: open the store, import what a run needs, then do runs as they come
    (None ends it)."""
    import asielplan.api  # noqa: F401  (imported before the first click, not after it)
    from asielplan.store import plan
    from asielplan.store.db import open_store

    engine = open_store(db)
    while True:
        run_pk = jobs.get()
        if run_pk is None:
            return
        plan.execute_run(engine, run_pk)


class RunWorker:
    """A warm process for proposal runs (spawned: no state shared with the server)."""

    def __init__(self, db: str, warm: bool = True) -> None:
        """``warm``: start the process now (a server), else at the first run (tests)."""
        self.db = db
        self.context = multiprocessing.get_context("spawn")
        self.process: BaseProcess | None = None
        if warm:
            self.start()

    def start(self) -> None:
        self.jobs = self.context.Queue()
        self.process = self.context.Process(target=_serve, args=(self.db, self.jobs), daemon=True)
        self.process.start()

    def submit(self, run_pk: int) -> None:
        if self.process is None or not self.process.is_alive():
            self.start()
        self.jobs.put(run_pk)

    def cancel(self) -> None:
        """End the run under way (and any queued); a fresh worker starts with the next."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        self.process = None
