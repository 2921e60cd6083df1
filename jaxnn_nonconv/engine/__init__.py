"""The training engine: many independent networks trained at once by one jit-compiled program.

* :mod:`~jaxnn_nonconv.engine._train`: :class:`TrainConfig`, the kernel (:func:`step`,
  :func:`fit`, :func:`make_trial`: one ``lax.scan`` per trial, vmapped over trials) and the
  driver (:func:`iter_chunks`, :func:`run`: fixed-shape chunks, trial ``i`` keyed
  ``fold_in(key(seed), i)``, bit-identical whatever the number of trials or devices).
* :mod:`distributed <jaxnn_nonconv.engine._distributed>`: many processes, one run
  (``jax.distributed``): which chunks are mine, gathering them, leader-first steps.
"""

from jaxnn_nonconv.engine import _distributed as distributed
from jaxnn_nonconv.engine._train import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
)
from jaxnn_nonconv.engine._train import (
    DTYPES as DTYPES,
)
from jaxnn_nonconv.engine._train import (
    STREAM_VERSION as STREAM_VERSION,
)
from jaxnn_nonconv.engine._train import (
    TrainConfig as TrainConfig,
)
from jaxnn_nonconv.engine._train import (
    TrialResult as TrialResult,
)
from jaxnn_nonconv.engine._train import (
    check_count as check_count,
)
from jaxnn_nonconv.engine._train import (
    check_dtype_enabled as check_dtype_enabled,
)
from jaxnn_nonconv.engine._train import (
    fit as fit,
)
from jaxnn_nonconv.engine._train import (
    init_trial_params as init_trial_params,
)
from jaxnn_nonconv.engine._train import (
    init_trial_runs as init_trial_runs,
)
from jaxnn_nonconv.engine._train import (
    iter_chunks as iter_chunks,
)
from jaxnn_nonconv.engine._train import (
    make_trial as make_trial,
)
from jaxnn_nonconv.engine._train import (
    mse as mse,
)
from jaxnn_nonconv.engine._train import (
    progress_iter as progress_iter,
)
from jaxnn_nonconv.engine._train import (
    record_steps as record_steps,
)
from jaxnn_nonconv.engine._train import (
    run as run,
)
from jaxnn_nonconv.engine._train import (
    step as step,
)
from jaxnn_nonconv.engine._train import (
    trial_key as trial_key,
)

__all__ = [
    "DEFAULT_CHUNK",
    "DTYPES",
    "STREAM_VERSION",
    "TrainConfig",
    "TrialResult",
    "check_count",
    "check_dtype_enabled",
    "distributed",
    "fit",
    "init_trial_params",
    "init_trial_runs",
    "iter_chunks",
    "make_trial",
    "mse",
    "progress_iter",
    "record_steps",
    "run",
    "step",
    "trial_key",
]
