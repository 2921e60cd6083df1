"""Training on a data set shared by every trial: epochs of per-trial shuffled minibatches.

The data-driven setting of arXiv 2410.10533: trial ``i`` minimizes the empirical risk
``(1/n) sum_j (N(x_j) - y_j)^2`` of the config's :class:`~jaxnn_nonconv.core.data.Dataset`. Its
initial network is the one of every other config (:func:`init_trial_params` of its key); epoch
``e`` visits the points in the order ``permutation(fold_in(fold_in(key, 1), e), n)``, cut into
``n // batch_size`` minibatches (the last ``n mod batch_size`` points of the order are left out of
that epoch, so every step has one shape); with ``batch_size >= n`` every step is full batch.

:func:`compiled_data_chunk` is the driver's chunk program for such a config: the data set is an
argument of the compiled program (not a constant baked into it), put on the device once.
Each chunk returns the fields of :class:`~jaxnn_nonconv.engine.TrialResult`, with ``risk0`` and
``risk`` the empirical risks, plus ``empirical_risk0`` and ``empirical_risk`` (the same numbers
under the names of the data contract) and, with a test set, ``test_risk0`` and ``test_risk``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.engine._config import DTYPES, TrainConfig
from jaxnn_nonconv.engine._kernel import init_trial_params, record_steps, step, trial_optimizer

_EVAL_BLOCK = 8  # trials evaluated at once on the data (as the driver's evaluation)


def epoch_shape(n: int, batch_size: int) -> tuple[int, int]:
    """``(batches per epoch, points per batch)``: ``(1, n)`` (full batch) when
    ``batch_size >= n``, else ``(n // batch_size, batch_size)``.

    >>> epoch_shape(442, 32), epoch_shape(10, 64)
    ((13, 32), (1, 10))
    """
    if batch_size >= n:
        return 1, n
    return n // batch_size, batch_size


def make_data_train(cfg: TrainConfig) -> Callable:
    """``(key, learning_rate, x: (n, d), y: (n,)) -> (params0, params, loss_traj, gn_traj)``:
    one trial of a data config (module docstring), pure, to vmap over trials."""
    n = cfg.data.n
    n_batches, size = epoch_shape(n, cfg.batch_size)
    full = size == n
    n_epochs, rest = divmod(cfg.steps, n_batches)
    slots = np.full(cfg.steps, cfg.n_record, np.int32)  # n_record = "not recorded": dropped
    rec = record_steps(cfg.steps, cfg.n_record)
    slots[rec] = np.arange(len(rec))
    dtype = DTYPES[cfg.dtype]

    def train(key, learning_rate, x, y):
        k_data = jax.random.fold_in(key, 1)
        params0 = init_trial_params(cfg, key)
        opt = trial_optimizer(cfg, learning_rate)

        def body(carry, step_batch):
            p, s, loss_traj, gn_traj = carry
            t, xb, yb = step_batch
            p, s, loss, grads = step(p, s, xb, yb, opt, cfg.activation, cfg.trainable)
            slot = jnp.asarray(slots)[t]
            loss_traj = loss_traj.at[slot].set(loss, mode="drop")
            gn_traj = gn_traj.at[slot].set(optax.tree.norm(grads), mode="drop")
            return (p, s, loss_traj, gn_traj), None

        def epoch_batches(e, count):
            # The order of epoch e, cut into `count` minibatches of `size` points.
            order = jax.random.permutation(jax.random.fold_in(k_data, e), n)
            idx = order[: count * size].reshape(count, size)
            return e * n_batches + jnp.arange(count), x[idx], y[idx]

        def epoch(carry, e):
            return jax.lax.scan(body, carry, epoch_batches(e, n_batches))[0], None

        empty = jnp.full((len(rec),), jnp.nan, dtype)
        carry = (params0, opt.init(params0), empty, empty)
        if full:
            carry, _ = jax.lax.scan(lambda c, t: body(c, (t, x, y)), carry, jnp.arange(cfg.steps))
        else:
            carry, _ = jax.lax.scan(epoch, carry, jnp.arange(n_epochs))
            if rest:  # the last, partial epoch
                carry, _ = jax.lax.scan(body, carry, epoch_batches(n_epochs, rest))
        params, _, loss_traj, gn_traj = carry
        return params0, params, loss_traj, gn_traj

    return train


def device_data(cfg: TrainConfig) -> tuple[jax.Array, ...]:
    """``(x, y)`` and, with a test set, ``(x_test, y_test)`` in the config's dtype."""
    dtype = DTYPES[cfg.dtype]
    d = cfg.data
    arrays = (d.x, d.y) + (() if d.x_test is None else (d.x_test, d.y_test))
    return tuple(jnp.asarray(a, dtype) for a in arrays)


def compiled_data_chunk(cfg: TrainConfig, chunk_size: int) -> Callable:
    """``(base_key, indices: (chunk_size,), lrs: (chunk_size,)) -> dict`` of per-trial arrays
    (module docstring) for a validated data config, jitted, the data bound as arguments."""
    train = make_data_train(cfg)

    def risks(params, x, y):
        # Mean squared error of each trial's net on (x, y), _EVAL_BLOCK trials at a time: the
        # activations of a whole chunk on a large data set would not fit.
        return jax.lax.map(
            lambda p: jnp.mean((nets.realization(p, x, cfg.activation) - y) ** 2),
            params,
            batch_size=_EVAL_BLOCK,
        )

    def chunk(base_key, indices, lrs, x, y, *test):
        keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(indices)
        params0, params, loss_traj, gn_traj = jax.vmap(train, in_axes=(0, 0, None, None))(
            keys, lrs, x, y
        )
        emp0, emp = risks(params0, x, y), risks(params, x, y)
        theta = jax.vmap(nets.to_flat)(params)
        diverged = ~(jnp.isfinite(emp) & jnp.all(jnp.isfinite(theta), axis=1))
        diverged = diverged | (emp > cfg.diverge_threshold)
        out = {
            "params0": jax.vmap(nets.to_flat)(params0),
            "params": theta,
            "risk0": emp0,
            "risk": emp,
            "loss_traj": loss_traj,
            "grad_norm_traj": gn_traj,
            "diverged": diverged,
            "empirical_risk0": emp0,
            "empirical_risk": emp,
        }
        if test:
            out["test_risk0"], out["test_risk"] = risks(params0, *test), risks(params, *test)
        return out

    jitted = jax.jit(chunk)
    arrays = device_data(cfg)
    return lambda base_key, indices, lrs: jitted(base_key, indices, lrs, *arrays)
