"""Config-driven experiments that reproduce the papers' claims, resumable, with their reports.

* :mod:`config <jaxnn_nonconv.experiments._config>`: configuration at the edge: TOML files and
  command-line strings to a validated :class:`~jaxnn_nonconv.engine.TrainConfig`.
* :mod:`~jaxnn_nonconv.experiments._spec`: experiment files (``experiments/*.toml``), their cells,
  and :func:`run` (resumable: re-run to continue, ask for more trials to grow).
* :mod:`~jaxnn_nonconv.experiments._splitting`: splitting sweeps inside experiments.
* :mod:`store <jaxnn_nonconv.experiments._store>`: the crash-safe results directory and the
  resumable trial loop.
* :mod:`report <jaxnn_nonconv.experiments.report>`: tables and figures from stored results.
"""

from jaxnn_nonconv.experiments import _config as config
from jaxnn_nonconv.experiments import _store as store
from jaxnn_nonconv.experiments import report as report
from jaxnn_nonconv.experiments._config import RunOptions as RunOptions
from jaxnn_nonconv.experiments._spec import (
    KINDS as KINDS,
)
from jaxnn_nonconv.experiments._spec import (
    LEVELS_DIR as LEVELS_DIR,
)
from jaxnn_nonconv.experiments._spec import (
    PRECISION_OF as PRECISION_OF,
)
from jaxnn_nonconv.experiments._spec import (
    Experiment as Experiment,
)
from jaxnn_nonconv.experiments._spec import (
    load as load,
)
from jaxnn_nonconv.experiments._spec import (
    run as run,
)

__all__ = [
    "KINDS",
    "LEVELS_DIR",
    "PRECISION_OF",
    "Experiment",
    "RunOptions",
    "config",
    "load",
    "report",
    "run",
    "store",
]
