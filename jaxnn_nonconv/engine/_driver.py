"""The training driver: many independent networks at once, one jit-compiled, vmapped program.

:func:`run` (and :func:`iter_chunks`, chunk by chunk) trains ``n_trials`` networks of one
:class:`~jaxnn_nonconv.engine.TrainConfig`, trial ``i`` drawing all its randomness from
``fold_in(key(seed), i)`` (the kernel, :mod:`jaxnn_nonconv.engine._kernel`). Trials are computed in
chunks of one fixed shape (``chunk_size``, the last chunk padded), and with several devices each
device computes whole chunks, so trial ``i``'s result is bit-identical whatever the number of
trials, the resume point or the device count. (XLA may sum in another order when a vmapped batch
changes size, so results across *different* chunk sizes agree only to float tolerance.)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence

import jax
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.engine import _distributed as distributed
from jaxnn_nonconv.engine._config import DTYPES, TrainConfig, check_count
from jaxnn_nonconv.engine._data_train import compiled_data_chunk
from jaxnn_nonconv.engine._kernel import (
    _trial_parts,
    block_limit,
    record_steps,
    snapshot_steps,
)
from jaxnn_nonconv.exact import risk as exact_risk

DEFAULT_CHUNK = 1024


_EVAL_BLOCK = 8  # trials evaluated at once in a chunk (see _compiled_chunk)


# How a trial's numbers are computed from its key; stores record it and refuse to resume another.
# 1: batches drawn step by step inside the training loop. 2: drawn a block of steps at once (same
# random numbers, but XLA fuses the loss differently, which changes the last bits of the results).
# 3: chunks of fewer than 1024 samples per step draw longer blocks (block_limit), 1.1-1.4x faster
# at one trial; the noise of a longer block may differ in its last bit.
STREAM_VERSION = 3


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
    if cfg.data is not None:  # a data set shared by all trials (engine._data_train)
        return compiled_data_chunk(cfg, chunk_size)
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
        k_eval, params0, params, loss_traj, gn_traj, kept = jax.vmap(parts.train)(keys, lrs)
        x_eval, y_eval = jax.vmap(parts.sample_eval)(k_eval)
        pred0, pred = predict(params0, x_eval), predict(params, x_eval)
        out = jax.vmap(parts.finish)(params0, params, pred0, pred, y_eval, loss_traj, gn_traj)
        if kept is None:
            return out
        return {**out._asdict(), "param_traj": kept}  # (chunk, S, P) snapshots

    return jax.jit(chunk)


def clear_compiled() -> None:
    """Forget the compiled chunk programs, so that the next :func:`run` compiles afresh (the
    benchmark times compilation this way)."""
    _compiled_chunk.cache_clear()


def _validated(cfg: TrainConfig) -> TrainConfig:
    """``cfg.validate()``, remembered. The public entry points :func:`run` and :func:`iter_chunks`
    validate once per call (then pass the validated config down to :func:`_iter_chunks`, which
    trusts it); validating costs as much as a one-trial run's device transfers, so repeated calls
    with one config reuse the first result. A config that cannot be hashed (``hyper`` given as a
    dict) is validated afresh."""
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
    return _iter_chunks(
        cfg, n_trials, seed, chunk_size, learning_rates, start_chunk, n_devices, chunks
    )


def _iter_chunks(
    cfg: TrainConfig,
    n_trials: int,
    seed: int,
    chunk_size: int,
    learning_rates: Sequence[float] | np.ndarray | None,
    start_chunk: int,
    n_devices: int | None,
    chunks: Sequence[int] | None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """:func:`iter_chunks` of a validated ``cfg`` (not checked again)."""
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
            fields = out if isinstance(out, dict) else out._asdict()  # dict: a data config
            res = {k: np.asarray(v)[:n_real] for k, v in fields.items()}
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
      ``record_steps`` ``(R,)``. With ``cfg.n_snapshots > 0`` also ``param_traj: (M, S, P)``,
      theta after each of the ``snapshot_steps`` ``(S,)`` steps (also returned; the last row is
      ``params`` exactly).

    >>> cfg = TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64)
    >>> res = run(cfg, 3, chunk_size=2)
    >>> res["risk"].shape, res["params"].shape, res["trial"].tolist()
    ((3,), (3, 13), [0, 1, 2])
    """
    cfg = _validated(cfg)
    mine = distributed.my_chunks(range(-(-n_trials // chunk_size)))  # all, with one process
    chunks = _iter_chunks(cfg, n_trials, seed, chunk_size, learning_rates, 0, n_devices, mine)
    out = distributed.merge_chunks(list(progress_iter(chunks, len(mine), progress)))
    out["record_steps"] = record_steps(cfg.steps, cfg.n_record)
    if cfg.n_snapshots:
        out["snapshot_steps"] = snapshot_steps(cfg.steps, cfg.n_snapshots)
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
