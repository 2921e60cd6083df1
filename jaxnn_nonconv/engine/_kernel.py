"""The training kernel: one network, one trial, pure functions to vmap and jit.

* :func:`step` and :func:`fit` train one network on given batches (``xs: (steps, batch, d)``),
  the building block, vmappable and jittable; it matches a PyTorch training loop step for step.
* :func:`make_trial` is trial ``i`` of a :class:`~jaxnn_nonconv.engine.TrainConfig`: its initial
  network, its batches and its training, all drawn from ``trial_key(seed, i) =
  fold_in(key(seed), i)``; the batches of a block of :func:`draw_block` steps are drawn at once.

The driver that runs many trials in chunks is :mod:`jaxnn_nonconv.engine._driver`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn_nonconv.core import nets, optim, problems
from jaxnn_nonconv.engine._config import DTYPES, TrainConfig

DRAW_BLOCK = 64  # a block of steps whose batches are drawn at once may always be this long


# ... or longer while a chunk's block holds at most this many samples (chunk x steps x batch): one
# trial draws the batches of 1000 steps at once, as the per-trial loop does (see block_limit).
DRAW_SAMPLES = 1 << 16


def mse(params: nets.Params, x: jax.Array, y: jax.Array, activation: str = "relu") -> jax.Array:
    """Empirical risk: mean of ``(N_theta(x) - y)^2``. ``x: (batch, d)``, ``y: (batch,)``."""
    return _mean_squared_error(nets.realization(params, x, activation), y)


def _mean_squared_error(pred: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((pred - y) ** 2)


def step(
    params: nets.Params,
    opt_state: optax.OptState,
    x: jax.Array,
    y: jax.Array,
    optimizer: optax.GradientTransformation,
    activation: str = "relu",
    trainable: tuple[str, ...] | None = None,
) -> tuple[nets.Params, optax.OptState, jax.Array, nets.Params]:
    """One optimizer step on the batch ``(x, y)``.

    ``trainable``: the parameter groups that train (``None``: all). The optimizer must then be
    masked the same way (``optim.make(..., trainable=...)``); the frozen groups are returned
    unchanged, bit for bit (:func:`jaxnn_nonconv.core.optim.keep_frozen`).

    Returns:
      ``(new_params, new_opt_state, loss, grads)``; ``loss`` and ``grads`` are taken at ``params``.
    """
    loss, grads = jax.value_and_grad(mse)(params, x, y, activation)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    new = optim.keep_frozen(optax.apply_updates(params, updates), params, trainable)
    return new, opt_state, loss, grads


def trainable_norm(grads: nets.Params, trainable: tuple[str, ...] | None = None) -> jax.Array:
    """Euclidean norm of the gradient restricted to the trainable groups (all when ``None``)."""
    if trainable is None:
        return optax.tree.norm(grads)
    labels = optim.group_labels(grads, trainable)
    kept = [g for g, lab in zip(jax.tree.leaves(grads), jax.tree.leaves(labels)) if lab == "train"]
    return optax.tree.norm(kept)


def fit(
    params: nets.Params,
    optimizer: optax.GradientTransformation,
    xs: jax.Array,
    ys: jax.Array,
    activation: str = "relu",
    trainable: tuple[str, ...] | None = None,
) -> tuple[nets.Params, jax.Array]:
    """Train one network on the given batches.

    Args:
      params: initial parameters of one network.
      optimizer: e.g. ``optim.make("adam", 1e-3)``.
      xs: ``(steps, batch, d)`` inputs, one batch per step.
      ys: ``(steps, batch)`` targets.
      activation: hidden activation.
      trainable: parameter groups that train, as :func:`step` (the optimizer masked alike).

    Returns:
      ``(final_params, losses)`` with ``losses: (steps,)``, the batch loss before each step.

    >>> arch = (1, 4, 1)
    >>> params = nets.init_params(jax.random.key(0), arch)
    >>> xs = jax.random.uniform(jax.random.key(1), (200, 16, 1))
    >>> final, losses = fit(params, optim.make("adam", 0.01), xs, xs[..., 0] ** 2)
    >>> losses.shape, bool(losses[-20:].mean() < losses[:20].mean())
    ((200,), True)
    """

    def body(carry, batch):
        p, s = carry
        p, s, loss, _ = step(p, s, *batch, optimizer, activation, trainable)
        return (p, s), loss

    (params, _), losses = jax.lax.scan(body, (params, optimizer.init(params)), (xs, ys))
    return params, losses


def record_steps(steps: int, n_record: int) -> np.ndarray:
    """Log-spaced 0-based step indices at which trajectories are recorded (first and last included).

    >>> record_steps(1000, 5).tolist()
    [0, 5, 31, 177, 999]
    >>> record_steps(5, 16).tolist()  # every step when n_record >= steps
    [0, 1, 2, 3, 4]
    """
    if n_record >= steps:  # rounding the geomspace would drop steps (5 -> [0, 1, 2, 4])
        return np.arange(steps, dtype=np.int64)
    points = np.unique(np.round(np.geomspace(1, steps, min(n_record, steps))).astype(np.int64))
    return points - 1


def snapshot_steps(steps: int, n_snapshots: int) -> np.ndarray:
    """The numbers of optimizer steps after which the parameters are kept (``n_snapshots`` of
    :class:`~jaxnn_nonconv.engine.TrainConfig`): :func:`record_steps` ``+ 1``, log-spaced from 1
    to ``steps`` (the last snapshot is the final network); empty when ``n_snapshots == 0``.

    >>> snapshot_steps(1000, 5).tolist(), snapshot_steps(1000, 0).tolist()
    ([1, 6, 32, 178, 1000], [])
    """
    if n_snapshots == 0:
        return np.zeros(0, np.int64)
    return record_steps(steps, n_snapshots) + 1


def draw_block(steps: int, most: int = DRAW_BLOCK) -> int:
    """Steps whose batches are drawn at once: the largest divisor of ``steps`` up to ``most``.

    A divisor, so that one loop body serves every step (no remainder loop to compile). The random
    bits of each batch do not depend on it (each is drawn from its own key), but the floats made
    from them may: XLA may compute a transcendental (the normal noise) of a differently shaped
    block to another last bit, so the block is part of the stream (:data:`STREAM_VERSION`).

    >>> draw_block(1000), draw_block(200), draw_block(37), draw_block(67)  # 67: a prime > 64
    (50, 50, 37, 1)
    >>> draw_block(1000, most=block_limit(1, 64))  # one trial: all its steps at once
    1000
    """
    return max(b for b in range(1, min(most, steps) + 1) if steps % b == 0)


def block_limit(chunk_size: int, batch_size: int) -> int:
    """The longest block of steps :func:`_compiled_chunk` draws at once for chunks of
    ``chunk_size`` trials: :data:`DRAW_BLOCK`, or more while the block holds at most
    :data:`DRAW_SAMPLES` samples. Small chunks then run few, long inner loops: at one trial the
    per-block costs (the drawing call, the outer loop) took 10-30% of a 1000-step run. Larger
    chunks keep short blocks, which stay in cache (blocks of 125 steps ran 10% slower than 50 at
    512 trials).

    >>> block_limit(1024, 64), block_limit(16, 64), block_limit(1, 64), block_limit(1, 4096)
    (64, 64, 1024, 64)
    """
    return max(DRAW_BLOCK, DRAW_SAMPLES // (chunk_size * batch_size))


class TrialResult(NamedTuple):
    """What one trial records (``P = nets.num_params(arch)``, ``R = len(record_steps)``)."""

    params0: jax.Array  # (P,) initial flat theta
    params: jax.Array  # (P,) final flat theta
    risk0: jax.Array  # () risk at initialization, on the evaluation sample
    risk: jax.Array  # () final risk, on the evaluation sample
    loss_traj: jax.Array  # (R,) minibatch loss at the recorded steps
    grad_norm_traj: jax.Array  # (R,) Euclidean gradient norm at the recorded steps
    diverged: jax.Array  # () bool


def trial_key(seed: int, index) -> jax.Array:
    """The key of trial ``index``: ``fold_in(key(seed), index)``."""
    return jax.random.fold_in(jax.random.key(seed), index)


def init_trial_stacks(
    cfg: TrainConfig, key: jax.Array, spreads: Sequence | None = None, *, zero_bias=None
) -> nets.LayerStacks:
    """Initial parameters of the trial with key ``key``, as :data:`jaxnn_nonconv.core.nets.LayerStacks`.

    The single definition of "the net at initialization", shared by :func:`make_trial` and the
    inactive-neuron estimates, so both see the same networks: drawn from ``fold_in(key, 0)``.
    ``spreads`` (one per layer stack, possibly traced) replace the spreads of ``cfg.init`` and
    ``cfg.init_scale`` (:func:`jaxnn_nonconv.core.nets.init_stacks`); ``zero_bias`` (possibly a
    traced boolean) replaces ``cfg.zero_bias``: the weights are the same either way.
    """
    return nets.init_stacks(
        jax.random.fold_in(key, 0),
        cfg.arch,
        cfg.init,
        cfg.zero_bias if zero_bias is None else zero_bias,
        scale=cfg.init_scale,
        dtype=DTYPES[cfg.dtype],
        spreads=spreads,
    )


def init_trial_params(cfg: TrainConfig, key: jax.Array) -> nets.Params:
    """:func:`init_trial_stacks` one ``(W_k, b_k)`` pair per layer.

    >>> cfg = TrainConfig(arch=(1, 4, 1)).validate()
    >>> [w.shape for w, _ in init_trial_params(cfg, trial_key(0, 3))]
    [(4, 1), (1, 4)]
    """
    return nets.unstack_layers(init_trial_stacks(cfg, key))


def trial_optimizer(cfg: TrainConfig, learning_rate) -> optax.GradientTransformation:
    """The Optax optimizer of one trial of ``cfg``: its schedule, hyperparameters and trainable
    mask (frozen groups get zero updates, :func:`jaxnn_nonconv.core.optim.masked`)."""
    schedule = None
    if cfg.schedule != "constant":
        schedule = optim.schedule(cfg.schedule, **dict(cfg.schedule_kw))
    return optim.make(
        cfg.optimizer, learning_rate, schedule=schedule, trainable=cfg.trainable, **dict(cfg.hyper)
    )


def make_trial(cfg: TrainConfig) -> Callable[[jax.Array, jax.Array], TrialResult]:
    """A pure function ``(key, learning_rate) -> TrialResult`` training one network of ``cfg``.

    ``cfg`` must be validated. The key is split by ``fold_in`` into init (0), data (1) and
    evaluation (2) streams; online batch ``n`` uses ``fold_in(data_key, n)``. Parameter
    snapshots (``cfg.n_snapshots``) are returned by the driver (:func:`~jaxnn_nonconv.engine.run`),
    not here.
    """
    parts = _trial_parts(cfg)

    def trial(key: jax.Array, learning_rate: jax.Array) -> TrialResult:
        k_eval, params0, params, loss_traj, gn_traj, _ = parts.train(key, learning_rate)
        x_eval, y_eval = parts.sample_eval(k_eval)
        pred0 = nets.realization(params0, x_eval, cfg.activation)
        pred = nets.realization(params, x_eval, cfg.activation)
        return parts.finish(params0, params, pred0, pred, y_eval, loss_traj, gn_traj)

    return trial


class _TrialParts(NamedTuple):
    """:func:`make_trial` in pieces, so that :func:`_compiled_chunk` can evaluate in blocks."""

    train: Callable  # (key, lr) -> (k_eval, params0, params, loss_traj, gn_traj, param_traj)
    sample_eval: Callable  # k_eval -> (x_eval: (eval_size, d), y_eval: (eval_size,))
    finish: Callable  # (params0, params, pred0, pred, y_eval, loss_traj, gn_traj) -> TrialResult


def _trial_parts(cfg: TrainConfig, most: int = DRAW_BLOCK) -> _TrialParts:
    """The pieces of :func:`make_trial`; between ``sample_eval`` and ``finish`` come the
    realizations of ``params0`` and ``params`` on the evaluation sample. ``most``: the longest
    block of steps whose batches are drawn at once (:func:`draw_block`)."""
    dtype = DTYPES[cfg.dtype]
    problem = cfg.problem
    slots = np.full(cfg.steps, cfg.n_record, np.int32)  # n_record = "not recorded": dropped
    rec = record_steps(cfg.steps, cfg.n_record)
    slots[rec] = np.arange(len(rec))
    n_rec = len(rec)
    online = cfg.data_size is None
    full_batch = not online and cfg.batch_size >= cfg.data_size
    n_block = draw_block(cfg.steps, most)
    snap = snapshot_steps(cfg.steps, cfg.n_snapshots) - 1  # 0-based index of the step taken
    snap_slots = np.full(cfg.steps, len(snap), np.int32)  # len(snap) = "not kept": dropped
    snap_slots[snap] = np.arange(len(snap))

    def train(key: jax.Array, learning_rate: jax.Array) -> tuple:
        _, k_data, k_eval = (jax.random.fold_in(key, i) for i in range(3))
        params0 = init_trial_params(cfg, key)
        opt = trial_optimizer(cfg, learning_rate)
        if not online:
            data_x, data_y = problems.sample(k_data, problem, cfg.data_size, dtype)

        def batch(n):
            kn = jax.random.fold_in(k_data, n)
            if online:
                return problems.sample(kn, problem, cfg.batch_size, dtype)
            if full_batch:
                return data_x, data_y
            idx = jax.random.randint(kn, (cfg.batch_size,), 0, cfg.data_size)
            return data_x[idx], data_y[idx]

        def body(carry, step_batch):
            p, s, loss_traj, gn_traj, *kept = carry
            n, x, y = step_batch
            p, s, loss, grads = step(p, s, x, y, opt, cfg.activation, cfg.trainable)
            gnorm = trainable_norm(grads, cfg.trainable)
            slot = jnp.asarray(slots)[n]
            loss_traj = loss_traj.at[slot].set(loss, mode="drop")
            gn_traj = gn_traj.at[slot].set(gnorm, mode="drop")
            if kept:  # parameter snapshots (n_snapshots > 0): theta after this step
                theta = nets.to_flat(p)
                kept = [kept[0].at[jnp.asarray(snap_slots)[n]].set(theta, mode="drop")]
            return (p, s, loss_traj, gn_traj, *kept), None

        def block(carry, ns):
            # The batches of a block of steps drawn at once: the same keys fold_in(k_data, n), so
            # the same numbers as drawn step by step, in fewer and larger random-number operations.
            return jax.lax.scan(body, carry, (ns, *jax.vmap(batch)(ns)))[0], None

        def fixed(carry, n):  # full batch: nothing to draw
            return body(carry, (n, data_x, data_y))

        empty = jnp.full((n_rec,), jnp.nan, dtype)
        carry = (params0, opt.init(params0), empty, empty)
        if len(snap):  # off: the carry, hence the program, is the one without the option
            carry += (jnp.full((len(snap), nets.num_params(cfg.arch)), jnp.nan, dtype),)
        if full_batch:
            carry, _ = jax.lax.scan(fixed, carry, jnp.arange(cfg.steps))
        else:
            ns = jnp.arange(cfg.steps).reshape(-1, n_block)
            carry, _ = jax.lax.scan(block, carry, ns)
        params, _, loss_traj, gn_traj, *kept = carry
        return k_eval, params0, params, loss_traj, gn_traj, (kept[0] if kept else None)

    def sample_eval(k_eval: jax.Array) -> tuple[jax.Array, jax.Array]:
        return problems.sample(k_eval, problem, cfg.eval_size, dtype)

    def finish(params0, params, pred0, pred, y_eval, loss_traj, gn_traj) -> TrialResult:
        risk0 = _mean_squared_error(pred0, y_eval)
        risk = _mean_squared_error(pred, y_eval)
        theta = nets.to_flat(params)
        diverged = ~(jnp.isfinite(risk) & jnp.all(jnp.isfinite(theta)))
        diverged = diverged | (risk > cfg.diverge_threshold)
        return TrialResult(nets.to_flat(params0), theta, risk0, risk, loss_traj, gn_traj, diverged)

    return _TrialParts(train, sample_eval, finish)
