"""The training engine: many independent networks trained at once by one jit-compiled program.

Kernels apart from drivers, as in BlackJAX:

* :mod:`~jaxnn_nonconv.engine._config`: :class:`TrainConfig`, one training setting, validated
  once at the edge.
* :mod:`~jaxnn_nonconv.engine._kernel`: :func:`step`, :func:`fit` (one network, one
  ``lax.scan``) and :func:`make_trial` (trial ``i`` from ``trial_key(seed, i) =
  fold_in(key(seed), i)``): pure functions to vmap and jit.
* :mod:`~jaxnn_nonconv.engine._driver`: :func:`iter_chunks` and :func:`run`: trials in chunks of
  one fixed, padded shape over the local devices, so trial ``i``'s result is bit-identical
  whatever the number of trials, the resume point or the device count.
* :mod:`~jaxnn_nonconv.engine._data_train`: training on a data set shared by every trial
  (:func:`make_data_train`): epochs of minibatches, each epoch shuffled from the trial's key.
* :mod:`distributed <jaxnn_nonconv.engine._distributed>`: many processes, one run
  (``jax.distributed``): which chunks are mine, gathering them, leader-first steps.
"""

from jaxnn_nonconv.engine import _distributed as distributed
from jaxnn_nonconv.engine._config import (
    DTYPES as DTYPES,
    TrainConfig as TrainConfig,
    check_count as check_count,
)
from jaxnn_nonconv.engine._data_train import (
    epoch_shape as epoch_shape,
    make_data_train as make_data_train,
)
from jaxnn_nonconv.engine._driver import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
    STREAM_VERSION as STREAM_VERSION,
    check_dtype_enabled as check_dtype_enabled,
    clear_compiled as clear_compiled,
    iter_chunks as iter_chunks,
    progress_iter as progress_iter,
    run as run,
)
from jaxnn_nonconv.engine._kernel import (
    TrialResult as TrialResult,
    fit as fit,
    init_trial_params as init_trial_params,
    init_trial_stacks as init_trial_stacks,
    make_trial as make_trial,
    mse as mse,
    record_steps as record_steps,
    snapshot_steps as snapshot_steps,
    step as step,
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
    "clear_compiled",
    "distributed",
    "epoch_shape",
    "fit",
    "init_trial_params",
    "init_trial_stacks",
    "iter_chunks",
    "make_data_train",
    "make_trial",
    "mse",
    "progress_iter",
    "record_steps",
    "run",
    "snapshot_steps",
    "step",
    "trial_key",
]
