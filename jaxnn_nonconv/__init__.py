"""jaxnn_nonconv: how likely is gradient training of a ReLU network to fail, and why?

This module is the table of contents: the public API is re-exported here (``docs/api.md`` lists
it). Modules, in the direction data flows (each imports only those below it):

* :mod:`~jaxnn_nonconv.cli`: the command line ``jaxnn-nonconv``.
* :mod:`~jaxnn_nonconv.report`, :mod:`~jaxnn_nonconv.experiments`, :mod:`~jaxnn_nonconv.store`:
  config-driven experiments, their resumable results store, tables and figures.
* :mod:`~jaxnn_nonconv.failure`: train and estimate P(failure), optionally to a precision target.
* :mod:`~jaxnn_nonconv.estimate`: failure probabilities with intervals, at init and after training.
* :mod:`~jaxnn_nonconv.rare`, :mod:`~jaxnn_nonconv.rates`: tiny probabilities by splitting over
  depth (``rare_event``), their exponential rates and the initializations they demand;
  :mod:`~jaxnn_nonconv.rare_summary`: their JSON entries and tables.
* :mod:`~jaxnn_nonconv.inactive`: the inactive-neuron detector (certificates, never wrong).
* :mod:`~jaxnn_nonconv.levels`: risk levels ``R_k`` and the level a trained net reached.
* :mod:`~jaxnn_nonconv.train`: vmapped, jit-compiled training of many independent nets.
* :mod:`~jaxnn_nonconv.exact_risk`: exact risk of ``d = 1`` nets (Gauss-Legendre on linear pieces).
* :mod:`~jaxnn_nonconv.nets`, :mod:`~jaxnn_nonconv.inits`: networks and initializations.
* :mod:`~jaxnn_nonconv.problems`, :mod:`~jaxnn_nonconv.optim`, :mod:`~jaxnn_nonconv.theory`:
  targets and boxes, the nine optimizers, the papers' closed forms and bounds.
* :mod:`~jaxnn_nonconv.results`, :mod:`~jaxnn_nonconv.precision`: typed results, formatting,
  precision targets.
* :mod:`~jaxnn_nonconv.config`: validated input.

Your own network and data (``jaxnn-nonconv check`` / ``advise``, docs/your-model.md):

* :mod:`~jaxnn_nonconv.loaders`: PyTorch state dicts and modules, safetensors, npz, Flax, Equinox.
* :mod:`~jaxnn_nonconv.domain`: a box, or the box of a data file, and per-neuron firing rates.
* :mod:`~jaxnn_nonconv.check`: certified dead / alive / unknown neurons of one network.
* :mod:`~jaxnn_nonconv.monitor`: dead-neuron counts inside JAX/Optax and PyTorch training loops.
* :mod:`~jaxnn_nonconv.advise`: init families ranked by P(dead neuron at init).
"""

from importlib import metadata as _metadata


def _version() -> str:
    try:
        return _metadata.version("jaxnn_nonconv")
    except _metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _version()

from jaxnn_nonconv.check import CheckResult  # noqa: E402
from jaxnn_nonconv.config import ConfigError, RunOptions  # noqa: E402
from jaxnn_nonconv.domain import Domain  # noqa: E402
from jaxnn_nonconv.estimate import (  # noqa: E402
    FailureEstimate,
    InitSummary,
    Tally,
    counts_at_init,
    counts_of_params,
    estimate_at_init,
    failure_after_training,
    summarize,
)
from jaxnn_nonconv.failure import TrainFailure, train_failure  # noqa: E402
from jaxnn_nonconv.inactive import Counts, classify, detect_flat, make_detector  # noqa: E402
from jaxnn_nonconv.loaders import Model, ModelError  # noqa: E402
from jaxnn_nonconv.loaders import load as load_model  # noqa: E402
from jaxnn_nonconv.monitor import TorchMonitor, make_monitor  # noqa: E402
from jaxnn_nonconv.nets import (  # noqa: E402
    float_dtype,
    from_flat,
    init_params,
    num_params,
    realization,
    to_flat,
)
from jaxnn_nonconv.precision import Precision  # noqa: E402
from jaxnn_nonconv.problems import Problem, reference_levels  # noqa: E402
from jaxnn_nonconv.rare import RareEventResult, rare_event  # noqa: E402
from jaxnn_nonconv.results import (  # noqa: E402
    ProbabilityEstimate,
    bracketed,
    format_probability,
    proportion,
)
from jaxnn_nonconv.train import TrainConfig, TrialResult, fit, run, trial_key  # noqa: E402

__all__ = [
    "CheckResult",
    "ConfigError",
    "Counts",
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
