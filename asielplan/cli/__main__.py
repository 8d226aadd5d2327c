"""``python -m asielplan.cli``: the ``asielplan`` command."""

from asielplan.cli import main

main()
