"""Training many independent networks at once: one jit-compiled, vmapped ``lax.scan`` program.

Two levels:

* :func:`fit` trains one network on given batches (``xs: (steps, batch, d)``), the building block,
  vmappable and jittable; it matches a PyTorch training loop step for step.
* :func:`run` trains ``n_trials`` networks of one :class:`TrainConfig`, trial ``i`` drawing all its
  randomness from ``fold_in(key(seed), i)``. Trials are computed in chunks of one fixed shape
  (``chunk_size``, the last chunk padded), and with several devices each device computes whole
  chunks, so trial ``i``'s result is bit-identical whatever the number of trials, the resume point or
  the device count. (XLA may sum in another order when a vmapped batch changes size, so results
  across *different* chunk sizes agree only to float tolerance.)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn_nonconv.core import inits, nets, optim, problems
from jaxnn_nonconv.engine import _distributed as distributed
from jaxnn_nonconv.exact import risk as exact_risk

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
DEFAULT_CHUNK = 1024
_EVAL_BLOCK = 8  # trials evaluated at once in a chunk (see _compiled_chunk)
DRAW_BLOCK = 64  # a block of steps whose batches are drawn at once may always be this long
# ... or longer while a chunk's block holds at most this many samples (chunk x steps x batch): one
# trial draws the batches of 1000 steps at once, as the per-trial loop does (see block_limit).
DRAW_SAMPLES = 1 << 16
# How a trial's numbers are computed from its key; stores record it and refuse to resume another.
# 1: batches drawn step by step inside the training loop. 2: drawn a block of steps at once (same
# random numbers, but XLA fuses the loss differently, which changes the last bits of the results).
# 3: chunks of fewer than 1024 samples per step draw longer blocks (block_limit), 1.1-1.4x faster
# at one trial; the noise of a longer block may differ in its last bit.
STREAM_VERSION = 3


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One Monte Carlo training setting; every trial of a run shares it.

    Attributes:
      arch: ``(d, l_1, ..., l_L, 1)``.
      init, zero_bias, init_scale: initialization (:mod:`jaxnn_nonconv.core.inits`).
      activation: hidden activation (:data:`jaxnn_nonconv.core.nets.ACTIVATIONS`).
      problem: target, input box and noise.
      optimizer, learning_rate, hyper: optimizer (:mod:`jaxnn_nonconv.core.optim`); ``hyper`` is a tuple
        of ``(name, value)`` overrides, kept as a tuple so the config stays hashable.
      schedule, schedule_kw: learning-rate schedule and its ``(name, value)`` parameters.
      steps: number of optimizer steps.
      batch_size: samples per step.
      data_size: ``None`` for online training (a fresh batch every step, as in the papers'
        numerics); else empirical risk minimization on one fixed data set of that size per trial,
        with batches drawn from it (full-batch gradient descent when ``batch_size >= data_size``).
      eval_size: fresh samples on which the initial and final risks are estimated.
      n_record: number of log-spaced steps at which the minibatch loss and gradient norm are kept.
      dtype: ``float32`` or ``float64`` (the latter needs ``jax_enable_x64``).
      diverge_threshold: a trial whose final risk is not finite or exceeds this is ``diverged``.
    """

    arch: tuple[int, ...] = (1, 32, 1)
    init: str = "pytorch"
    zero_bias: bool = False
    init_scale: float = 1.0
    activation: str = "relu"
    problem: problems.Problem = problems.Problem("x^2", ((0.0, 2.0),))
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    hyper: tuple[tuple[str, float], ...] = ()
    schedule: str = "constant"
    schedule_kw: tuple[tuple[str, float], ...] = ()
    steps: int = 1000
    batch_size: int = 64
    data_size: int | None = None
    eval_size: int = 8192
    n_record: int = 16
    dtype: str = "float32"
    diverge_threshold: float = 1e6

    def validate(self) -> TrainConfig:
        """Check every field once, at the edge; return a normalized copy. Raises ``ValueError``."""
        arch = nets.check_arch(self.arch)
        problem = self.problem.validate()
        if problem.dim != arch[0]:
            raise ValueError(
                f"box has {problem.dim} coordinate(s) but the architecture's input dimension is "
                f"{arch[0]}"
            )
        if self.init not in inits.INITS:
            raise ValueError(f"unknown init {self.init!r}; valid: {', '.join(inits.INITS)}")
        if self.activation not in nets.ACTIVATIONS:
            valid = ", ".join(nets.ACTIVATIONS)
            raise ValueError(f"unknown activation {self.activation!r}; valid: {valid}")
        _check_positive(self.init_scale, "init_scale")
        _check_positive(self.learning_rate, "learning_rate")
        _check_positive(self.diverge_threshold, "diverge_threshold")
        # make() and schedule() raise for unknown names and parameters.
        optim.make(self.optimizer, self.learning_rate, **dict(self.hyper))
        optim.schedule(self.schedule, **dict(self.schedule_kw))
        for name in ("steps", "batch_size", "eval_size", "n_record"):
            check_count(getattr(self, name), name)
        if self.data_size is not None:
            check_count(self.data_size, "data_size")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; valid: {', '.join(DTYPES)}")
        return dataclasses.replace(
            self,
            arch=arch,
            problem=problem,
            hyper=tuple(sorted(dict(self.hyper).items())),
            schedule_kw=tuple(sorted(dict(self.schedule_kw).items())),
        )

    def to_dict(self) -> dict:
        """JSON-friendly view (a callable target is shown by its name)."""
        out = dataclasses.asdict(self)
        target = self.problem.target
        out["problem"] = {
            "target": target if isinstance(target, str) else getattr(target, "__name__", "custom"),
            "box": [list(ab) for ab in self.problem.box],
            "noise": self.problem.noise,
        }
        out["arch"] = list(self.arch)
        out["hyper"] = dict(self.hyper)
        out["schedule_kw"] = dict(self.schedule_kw)
        return out


def _check_positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def check_count(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


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
) -> tuple[nets.Params, optax.OptState, jax.Array, nets.Params]:
    """One optimizer step on the batch ``(x, y)``.

    Returns:
      ``(new_params, new_opt_state, loss, grads)``; ``loss`` and ``grads`` are taken at ``params``.
    """
    loss, grads = jax.value_and_grad(mse)(params, x, y, activation)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, grads


def fit(
    params: nets.Params,
    optimizer: optax.GradientTransformation,
    xs: jax.Array,
    ys: jax.Array,
    activation: str = "relu",
) -> tuple[nets.Params, jax.Array]:
    """Train one network on the given batches.

    Args:
      params: initial parameters of one network.
      optimizer: e.g. ``optim.make("adam", 1e-3)``.
      xs: ``(steps, batch, d)`` inputs, one batch per step.
      ys: ``(steps, batch)`` targets.
      activation: hidden activation.

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
        p, s, loss, _ = step(p, s, *batch, optimizer, activation)
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


def init_trial_runs(cfg: TrainConfig, key: jax.Array) -> nets.Runs:
    """Initial parameters of the trial with key ``key``, as :data:`jaxnn_nonconv.core.nets.Runs`.

    The single definition of "the net at initialization", shared by :func:`make_trial` and the
    inactive-neuron estimates, so both see the same networks: drawn from ``fold_in(key, 0)``.
    """
    return nets.init_runs(
        jax.random.fold_in(key, 0),
        cfg.arch,
        cfg.init,
        cfg.zero_bias,
        scale=cfg.init_scale,
        dtype=DTYPES[cfg.dtype],
    )


def init_trial_params(cfg: TrainConfig, key: jax.Array) -> nets.Params:
    """:func:`init_trial_runs` one ``(W_k, b_k)`` pair per layer.

    >>> cfg = TrainConfig(arch=(1, 4, 1)).validate()
    >>> [w.shape for w, _ in init_trial_params(cfg, trial_key(0, 3))]
    [(4, 1), (1, 4)]
    """
    return nets.unstack_runs(init_trial_runs(cfg, key))


def make_trial(cfg: TrainConfig) -> Callable[[jax.Array, jax.Array], TrialResult]:
    """A pure function ``(key, learning_rate) -> TrialResult`` training one network of ``cfg``.

    ``cfg`` must be validated. The key is split by ``fold_in`` into init (0), data (1) and
    evaluation (2) streams; online batch ``n`` uses ``fold_in(data_key, n)``.
    """
    parts = _trial_parts(cfg)

    def trial(key: jax.Array, learning_rate: jax.Array) -> TrialResult:
        k_eval, params0, params, loss_traj, gn_traj = parts.train(key, learning_rate)
        x_eval, y_eval = parts.sample_eval(k_eval)
        pred0 = nets.realization(params0, x_eval, cfg.activation)
        pred = nets.realization(params, x_eval, cfg.activation)
        return parts.finish(params0, params, pred0, pred, y_eval, loss_traj, gn_traj)

    return trial


class _TrialParts(NamedTuple):
    """:func:`make_trial` in pieces, so that :func:`_compiled_chunk` can evaluate in blocks."""

    train: Callable  # (key, lr) -> (k_eval, params0, params, loss_traj, grad_norm_traj)
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

    def train(key: jax.Array, learning_rate: jax.Array) -> tuple:
        _, k_data, k_eval = (jax.random.fold_in(key, i) for i in range(3))
        params0 = init_trial_params(cfg, key)
        opt = optim.make(
            cfg.optimizer,
            learning_rate,
            schedule=None
            if cfg.schedule == "constant"
            else optim.schedule(cfg.schedule, **dict(cfg.schedule_kw)),
            **dict(cfg.hyper),
        )
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
            p, s, loss_traj, gn_traj = carry
            n, x, y = step_batch
            p, s, loss, grads = step(p, s, x, y, opt, cfg.activation)
            gnorm = optax.tree.norm(grads)
            slot = jnp.asarray(slots)[n]
            loss_traj = loss_traj.at[slot].set(loss, mode="drop")
            gn_traj = gn_traj.at[slot].set(gnorm, mode="drop")
            return (p, s, loss_traj, gn_traj), None

        def block(carry, ns):
            # The batches of a block of steps drawn at once: the same keys fold_in(k_data, n), so
            # the same numbers as drawn step by step, in fewer and larger random-number operations.
            return jax.lax.scan(body, carry, (ns, *jax.vmap(batch)(ns)))[0], None

        def fixed(carry, n):  # full batch: nothing to draw
            return body(carry, (n, data_x, data_y))

        empty = jnp.full((n_rec,), jnp.nan, dtype)
        carry = (params0, opt.init(params0), empty, empty)
        if full_batch:
            carry, _ = jax.lax.scan(fixed, carry, jnp.arange(cfg.steps))
        else:
            ns = jnp.arange(cfg.steps).reshape(-1, n_block)
            carry, _ = jax.lax.scan(block, carry, ns)
        params, _, loss_traj, gn_traj = carry
        return k_eval, params0, params, loss_traj, gn_traj

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


@functools.lru_cache(maxsize=32)
def _compiled_chunk(cfg: TrainConfig, chunk_size: int) -> Callable:
    """``(base_key, indices: (chunk_size,), lrs: (chunk_size,)) -> TrialResult`` batched, jitted.

    ``base_key`` is ``jax.random.key(seed)``, an argument so that a new seed reuses the compiled
    program; trial ``i``'s key is ``fold_in(base_key, i)``, i.e. :func:`trial_key`.

    Several devices run this same program, each on its own chunk (the inputs' device picks where
    it runs). Partitioning one program over a mesh instead (``shard_map``) lets XLA optimize the
    per-device code differently, which was measured to change the last bits of some settings
    (a ``[1, 1, 1]`` net); one program per chunk keeps a trial's arithmetic independent of the
    device count.
    """
    parts = _trial_parts(cfg, block_limit(chunk_size, cfg.batch_size))

    def predict(params, x):
        # vmap(make_trial(cfg)), except that the realizations on the evaluation sample run in
        # blocks of _EVAL_BLOCK trials: the whole chunk's (chunk, eval_size, l_1) activations would
        # take 1 GiB for 1024 trials of width 32 (and run ~1.5x slower for it on CPU). Measured
        # bit-identical to the vmapped evaluation (XLA computes each trial's product alike).
        return jax.lax.map(
            lambda a: nets.realization(*a, cfg.activation), (params, x), batch_size=_EVAL_BLOCK
        )

    def chunk(base_key, indices, lrs):
        keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(indices)
        k_eval, params0, params, loss_traj, gn_traj = jax.vmap(parts.train)(keys, lrs)
        x_eval, y_eval = jax.vmap(parts.sample_eval)(k_eval)
        pred0, pred = predict(params0, x_eval), predict(params, x_eval)
        return jax.vmap(parts.finish)(params0, params, pred0, pred, y_eval, loss_traj, gn_traj)

    return jax.jit(chunk)


def _validated(cfg: TrainConfig) -> TrainConfig:
    """``cfg.validate()``, remembered: :func:`run` and :func:`iter_chunks` validate at every call,
    which costs as much as a one-trial run's device transfers. A config that cannot be hashed
    (``hyper`` given as a dict) is validated afresh."""
    try:
        hash(cfg)
    except TypeError:
        return cfg.validate()
    return _validated_cached(cfg)


@functools.lru_cache(maxsize=32)
def _validated_cached(cfg: TrainConfig) -> TrainConfig:
    return cfg.validate()


@functools.lru_cache(maxsize=64)
def _device_key(seed: int, device, impl: str) -> jax.Array:
    """``jax.random.key(seed)`` (of the PRNG ``impl``, JAX's default) committed to ``device``: it
    places each call of the compiled chunk there and the NumPy arguments follow it, with no
    ``device_put`` per call (those and the key cost a tenth of a one-trial, 1000-step run)."""
    return jax.device_put(jax.random.key(seed), device)


def check_dtype_enabled(cfg: TrainConfig) -> None:
    if cfg.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(
            "dtype float64 needs 64-bit JAX: call jax.config.update('jax_enable_x64', True) "
            "before creating any array (the CLI's --float64 does this)"
        )


def iter_chunks(
    cfg: TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK,
    learning_rates: Sequence[float] | np.ndarray | None = None,
    start_chunk: int = 0,
    n_devices: int | None = None,
    chunks: Sequence[int] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Train trials ``0..n_trials-1`` chunk by chunk; yield ``(chunk_index, results)``.

    Each yielded dict holds NumPy arrays of the chunk's real trials (padding removed), with keys
    ``trial`` and the fields of :class:`TrialResult`, plus ``learning_rate``. A step of ``D``
    devices computes ``D`` chunks at once. ``start_chunk`` skips chunks already stored (resume);
    ``chunks`` (default ``start_chunk..n_chunks-1``) lists the chunk indices to compute instead,
    e.g. one process's share (:func:`.distributed.my_chunks`).
    """
    cfg = _validated(cfg)
    check_dtype_enabled(cfg)
    check_count(n_trials, "n_trials")
    check_count(chunk_size, "chunk_size")
    lrs = _learning_rates(cfg, n_trials, learning_rates)
    devices = jax.local_devices()[: n_devices or jax.local_device_count()]
    fn = _compiled_chunk(cfg, chunk_size)
    keys = [_device_key(seed, d, jax.config.jax_default_prng_impl) for d in devices]
    n_chunks = -(-n_trials // chunk_size)
    lr_dtype = DTYPES[cfg.dtype]
    todo = list(range(start_chunk, n_chunks)) if chunks is None else [int(c) for c in chunks]
    if any(not 0 <= c < n_chunks for c in todo):
        raise ValueError(f"chunk indices must be in 0..{n_chunks - 1}")
    for first in range(0, len(todo), len(devices)):
        group = todo[first : first + len(devices)]
        pending = []
        for c, key in zip(group, keys):
            # Every call has the same shape: the last chunk is padded, its padding dropped below.
            idx = np.arange(c * chunk_size, (c + 1) * chunk_size)
            lr = np.resize(lrs, max(len(lrs), idx[-1] + 1))[idx]
            # Dispatch is asynchronous: the devices run together.
            pending.append((c, lr, fn(key, idx.astype(np.uint32), lr.astype(lr_dtype))))
        for c, lr, out in pending:
            n_real = min(chunk_size, n_trials - c * chunk_size)
            res = {k: np.asarray(v)[:n_real] for k, v in out._asdict().items()}
            res["trial"] = np.arange(c * chunk_size, c * chunk_size + n_real)
            res["learning_rate"] = lr[:n_real]
            yield c, res


def _learning_rates(cfg: TrainConfig, n_trials: int, learning_rates) -> np.ndarray:
    if learning_rates is None:
        return np.full(n_trials, cfg.learning_rate)
    lrs = np.asarray(learning_rates, np.float64)
    if lrs.shape != (n_trials,):
        raise ValueError(f"learning_rates must have shape ({n_trials},), got {lrs.shape}")
    if not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError("every learning rate must be a finite number > 0")
    return lrs


def run(
    cfg: TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK,
    learning_rates: Sequence[float] | np.ndarray | None = None,
    n_devices: int | None = None,
    progress: bool | None = None,
    exact: bool = False,
) -> dict[str, np.ndarray]:
    """Train ``n_trials`` independent networks of ``cfg``; return per-trial NumPy arrays.

    Args:
      cfg: the setting.
      n_trials: number of trials ``M``.
      seed: trial ``i`` uses ``fold_in(key(seed), i)``.
      chunk_size: trials per compiled call (per device); fixes the arithmetic, keep it constant
        to get bit-identical trials across runs.
      learning_rates: optional ``(M,)`` per-trial learning rates (one compilation for a sweep).
      n_devices: devices to shard over (default: all local devices).
      progress: show a progress bar (default: when stderr is a terminal).
      exact: add ``risk0_exact`` and ``risk_exact``, the exact float64 risks of ``d = 1`` nets
        (:func:`jaxnn_nonconv.exact.risk.add_exact`; nothing for unsupported problems).

    Under ``jax.distributed`` each process trains its share of the chunks and every process returns
    all ``M`` trials (:mod:`.distributed`), bit-identical to one process.

    Returns:
      Dict of arrays with leading axis ``M``: ``trial``, ``learning_rate``, ``params0``, ``params``
      (flat theta), ``risk0``, ``risk``, ``loss_traj``, ``grad_norm_traj``, ``diverged``; plus
      ``record_steps`` ``(R,)``.

    >>> cfg = TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64)
    >>> res = run(cfg, 3, chunk_size=2)
    >>> res["risk"].shape, res["params"].shape, res["trial"].tolist()
    ((3,), (3, 13), [0, 1, 2])
    """
    cfg = _validated(cfg)
    mine = distributed.my_chunks(range(-(-n_trials // chunk_size)))  # all, with one process
    chunks = iter_chunks(
        cfg,
        n_trials,
        seed=seed,
        chunk_size=chunk_size,
        learning_rates=learning_rates,
        n_devices=n_devices,
        chunks=mine,
    )
    out = distributed.merge_chunks(list(progress_iter(chunks, len(mine), progress)))
    out["record_steps"] = record_steps(cfg.steps, cfg.n_record)
    if exact:
        out.update(exact_risk.add_exact(cfg, out))
    return out


def progress_iter(it, total: int, enabled: bool | None = None, label: str = "chunks"):
    """Wrap ``it`` in a rich progress bar when ``enabled`` (default: stderr is a TTY)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield from it
        return
    from rich.progress import track

    yield from track(it, total=total, description=label, transient=True)
