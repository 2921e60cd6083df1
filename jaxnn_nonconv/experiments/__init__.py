"""Config-driven experiments that reproduce the papers' claims, resumable, with their reports.

* :mod:`config <jaxnn_nonconv.experiments._config>`: configuration at the edge: TOML files and
  command-line strings to a validated :class:`~jaxnn_nonconv.engine.TrainConfig`.
* :mod:`~jaxnn_nonconv.experiments._spec`: experiment files (``experiments/*.toml``), their cells,
  and :func:`run_experiment` (resumable: re-run to continue, ask for more trials to grow).
* :mod:`~jaxnn_nonconv.experiments._splitting`: splitting sweeps inside experiments.
* :mod:`~jaxnn_nonconv.experiments._bias`: per-run reference risks of the stored cells that train
  only some groups (:func:`~jaxnn_nonconv.experiments._bias.compute_bias_references`), cached in
  ``DIR/levels`` for the report.
* :mod:`store <jaxnn_nonconv.experiments._store>`: the crash-safe results directory (atomic
  chunk files, a manifest, a lock), knowing nothing of training.
* :mod:`~jaxnn_nonconv.experiments._export`: a run directory as one table, one row per trial
  (:func:`load_trials`, :func:`export`).
* :mod:`~jaxnn_nonconv.experiments._trials`: :func:`run_trials`, the resumable trial loop that
  fills a store chunk by chunk.
* :mod:`report <jaxnn_nonconv.experiments.report>`: tables and figures from stored results.
"""

from jaxnn_nonconv.experiments import _config as config, _store as store, report as report
from jaxnn_nonconv.experiments._config import RunOptions as RunOptions
from jaxnn_nonconv.experiments._export import export as export, load_trials as load_trials
from jaxnn_nonconv.experiments._spec import (
    DEPRECATED_PRECISION_OF as DEPRECATED_PRECISION_OF,
    KINDS as KINDS,
    LEVELS_DIR as LEVELS_DIR,
    PRECISION_OF as PRECISION_OF,
    Experiment as Experiment,
    load as load,
    run_experiment as run_experiment,
)
from jaxnn_nonconv.experiments._trials import run_trials as run_trials

__all__ = [
    "DEPRECATED_PRECISION_OF",
    "KINDS",
    "LEVELS_DIR",
    "PRECISION_OF",
    "Experiment",
    "RunOptions",
    "config",
    "export",
    "load",
    "load_trials",
    "report",
    "run_experiment",
    "run_trials",
    "store",
]
