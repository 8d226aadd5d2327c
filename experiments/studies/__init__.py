"""The studies: each strings runs of the run pipeline together for one question and has
one module here that declares its options, runs, writes its tables and plots, and gives
its report section and (where a batch can run it) its batch row.

- :mod:`.schemes`: quota schemes compared on the same households;
- :mod:`.front`: an epsilon-constraint trade-off front;
- :mod:`.sweep`: one placement per value of one or two numeric settings;
- :mod:`.fairness`: group floors by rule and their price;
- :mod:`.simulate`: weekly placement simulated against hindsight;
- :mod:`.reception_compare`: reception plans per inflow side by side.

:data:`STUDIES` lists them by the command their manifest names; the report, the output
dictionary and the batch find a study there. A new study is one module ending in its
:class:`~.study.Study` and one line below.
"""

from __future__ import annotations

from asielplan.experiments.studies import (
    fairness,
    front,
    reception_compare,
    schemes,
    simulate,
    sweep,
)
from asielplan.experiments.studies.study import BatchStudy, Study

STUDIES: dict[str, Study] = {
    study.kind: study
    for study in (
        schemes.STUDY,
        front.STUDY,
        sweep.STUDY,
        fairness.STUDY,
        reception_compare.STUDY,
        simulate.STUDY,
    )
}

# the studies a batch can run, by their kind in a batch file
BATCH_STUDIES: dict[str, BatchStudy] = {
    study.batch.kind: study.batch for study in STUDIES.values() if study.batch is not None
}
