"""jaxnn_nonconv: how likely is gradient training of a ReLU network to fail, and why?

This module is the table of contents: the public API is re-exported here (``docs/api.md`` lists
it). Subpackages, in the direction data flows (each imports only those above it in this list;
``tests/test_layout.py`` checks it):

* :mod:`~jaxnn_nonconv.errors`: the two errors a user sees (:class:`ConfigError`,
  :class:`ModelError`).
* :mod:`~jaxnn_nonconv.core`: networks, initializations, problems, the nine optimizers.
* :mod:`~jaxnn_nonconv.stats`: typed estimates with intervals, precision targets, the papers'
  closed forms and rates.
* :mod:`~jaxnn_nonconv.exact`: exact breakpoints and exact risks of ``d = 1`` networks.
* :mod:`~jaxnn_nonconv.engine`: vmapped, jit-compiled training of many independent nets,
  across devices and processes.
* :mod:`~jaxnn_nonconv.detector`: the inactive-neuron detector (certificates, never wrong).
* :mod:`~jaxnn_nonconv.rare`: tiny probabilities by splitting over depth.
* :mod:`~jaxnn_nonconv.estimation`: failure probabilities at init and after training, risk
  levels.
* :mod:`~jaxnn_nonconv.models`: your own network and data: loaders, domains, ``check``, the
  training monitor, ``advise``.
* :mod:`~jaxnn_nonconv.experiments`: config-driven, resumable experiments and their reports.
* :mod:`~jaxnn_nonconv.bench`: the benchmark of ``jaxnn-nonconv bench``.
* :mod:`~jaxnn_nonconv.cli`: the command line ``jaxnn-nonconv``.
"""

from jaxnn_nonconv.core import (
    Problem,
    float_dtype,
    from_flat,
    init_params,
    num_params,
    realization,
    reference_levels,
    to_flat,
)
from jaxnn_nonconv.detector import (
    Counts,
    DetectorSettings,
    classify_neurons as classify,  # the top level keeps its name
    detect_flat,
    make_detector,
)
from jaxnn_nonconv.engine import TrainConfig, TrialResult, fit, run, trial_key
from jaxnn_nonconv.errors import ConfigError, ModelError
from jaxnn_nonconv.estimation import (
    FailureEstimate,
    InitSummary,
    Tally,
    TrainFailure,
    counts_at_init,
    counts_of_params,
    estimate_at_init,
    failure_after_training,
    summarize,
    train_failure,
)
from jaxnn_nonconv.experiments import RunOptions
from jaxnn_nonconv.models import (
    CheckResult,
    Domain,
    Model,
    TorchMonitor,
    load as load_model,
    make_monitor,
)
from jaxnn_nonconv.rare import RareEventResult, rare_event
from jaxnn_nonconv.stats import (
    Precision,
    ProbabilityEstimate,
    bracketed,
    format_probability,
    proportion,
)
from jaxnn_nonconv.version import __version__

__all__ = [
    "CheckResult",
    "ConfigError",
    "Counts",
    "DetectorSettings",
    "Domain",
    "FailureEstimate",
    "InitSummary",
    "Model",
    "ModelError",
    "Precision",
    "ProbabilityEstimate",
    "Problem",
    "RareEventResult",
    "RunOptions",
    "Tally",
    "TorchMonitor",
    "TrainConfig",
    "TrainFailure",
    "TrialResult",
    "__version__",
    "bracketed",
    "classify",
    "counts_at_init",
    "counts_of_params",
    "detect_flat",
    "estimate_at_init",
    "failure_after_training",
    "fit",
    "float_dtype",
    "format_probability",
    "from_flat",
    "init_params",
    "load_model",
    "make_detector",
    "make_monitor",
    "num_params",
    "proportion",
    "rare_event",
    "realization",
    "reference_levels",
    "run",
    "summarize",
    "to_flat",
    "train_failure",
    "trial_key",
]
