"""``jax_loop``: the naive JAX baseline, one jitted :func:`~jaxnn_nonconv.engine.fit` per trial.

It trains on the same random streams as the engine (so the two agree trial by trial), called once per
trial from Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jaxnn_nonconv.bench._measure import time_per_trial
from jaxnn_nonconv.bench._workload import Spec, engine_config


def engine_batches(cfg, seed: int, index):
    """The online batches of engine trial ``index``: ``(xs: (steps, batch, d), ys: (steps, batch))``,
    batch ``n`` drawn from ``fold_in(data_key, n)`` as in :func:`jaxnn_nonconv.engine.make_trial`."""
    import jax
    import jax.numpy as jnp

    from jaxnn_nonconv import engine
    from jaxnn_nonconv.core import problems

    k_data = jax.random.fold_in(engine.trial_key(seed, index), 1)
    return jax.vmap(
        lambda n: problems.sample(
            jax.random.fold_in(k_data, n), cfg.problem, cfg.batch_size, engine.DTYPES[cfg.dtype]
        )
    )(jnp.arange(cfg.steps))


def make_jax_trial(cfg, seed: int) -> Callable:
    """The naive JAX baseline: a jitted ``index -> (theta, losses)`` training one network of ``cfg``
    with :func:`~jaxnn_nonconv.engine.fit` (one ``lax.scan``), on engine trial ``index``'s initial
    parameters and batches. Called once per trial from Python."""
    import jax

    from jaxnn_nonconv import engine
    from jaxnn_nonconv.core import nets, optim

    opt = optim.make(cfg.optimizer, cfg.learning_rate)

    @jax.jit
    def one(index):
        params0 = engine.init_trial_params(cfg, engine.trial_key(seed, index))
        xs, ys = engine_batches(cfg, seed, index)
        final, losses = engine.fit(params0, opt, xs, ys, cfg.activation)
        return nets.to_flat(final), losses

    return one


def measure_jax_loop(spec: Spec) -> dict:
    import jax

    cfg = engine_config(spec.optimizer, spec.steps)
    jax.clear_caches()
    one = make_jax_trial(cfg, spec.seed)

    def run_one(i: int) -> float:
        _, losses = one(np.uint32(i))
        return float(losses[-1])  # a user keeps each trial's result: waits for it

    return {**time_per_trial(run_one, spec), "backend": jax.default_backend()}
