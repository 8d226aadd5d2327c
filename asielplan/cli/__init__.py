"""The ``asielplan`` command line.

Input problems are printed as a table (file, row, column, rule, message) and the command
exits with status 1; nothing is written. Outputs are written atomically with a manifest.
The commands live in the modules of this package by what they work on (:mod:`.data`,
:mod:`.runs`, :mod:`.studies`, :mod:`.batches`, :mod:`.store`), on the app of
:mod:`.common`; importing the package registers them all.
"""

from __future__ import annotations

import typer

from asielplan.cli import batches, data, runs, store, studies
from asielplan.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    app,
    err_console,
    on_sigterm,
)

__all__ = ["app", "batches", "data", "main", "runs", "store", "studies"]


def main() -> None:
    """The ``asielplan`` command. Exit codes, the same for every command: 0 done, 1 bad
    input, configuration or usage, 2 infeasible (with a diagnosis), 3 no solution within
    the time limit, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); on an interrupt
    nothing is written and the previous result is kept."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, on_sigterm)
    interrupted = "[bold red]interrupted[/]: the run was stopped; nothing was written"
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:  # typer turns Ctrl-C into Exit(130)
        if exc.exit_code == EXIT_INTERRUPTED:
            err_console.print(interrupted)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print(interrupted)
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        err_console.print("[bold red]terminated[/]: the run was stopped; nothing was written")
        sys.exit(EXIT_TERMINATED)
    except Exception as exc:
        # a usage error of the command line parser (click, vendored by typer or not)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(EXIT_BAD_INPUT)
        raise
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:  # typer returns Ctrl-C as the exit code 130
        err_console.print(interrupted)
    sys.exit(code)
