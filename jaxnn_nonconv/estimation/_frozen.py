"""P(first-layer ``clip`` neuron frozen at initialization): dead or saturated, with theory.

The initial nets are those of :func:`jaxnn_nonconv.engine.init_trial_params` (trial ``i`` from
``engine.trial_key(seed, i)``), drawn in padded chunks of one fixed shape, so trial ``i``'s
verdict does not depend on the number of trials; each first-layer neuron is certified frozen or
moving by :func:`jaxnn_nonconv.detector.first_layer_frozen` (sound in floating point), and the
pooled count is bracketed by the neurons that stay undecided. Theory:
:func:`jaxnn_nonconv.stats.frozen.p_frozen` (docs/theory.md sec. 3b).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.stats import DEFAULT_CONFIDENCE, ProbabilityEstimate, bracketed, frozen


@functools.lru_cache(maxsize=16)
def _compiled(cfg: engine.TrainConfig):
    dt = engine.DTYPES[cfg.dtype]
    lo_np, hi_np = (np.array(v, np.float64) for v in zip(*cfg.problem.box, strict=True))

    def chunk(base_key, indices):
        lo, hi = jnp.asarray(lo_np, dt), jnp.asarray(hi_np, dt)

        def one(i):
            params = engine.init_trial_params(cfg, jax.random.fold_in(base_key, i))
            f, m = detector.first_layer_frozen(params, lo, hi)
            return jnp.sum(f, dtype=jnp.int32), jnp.sum(~m, dtype=jnp.int32)

        return jax.vmap(one)(indices)

    return jax.jit(chunk)


def first_layer_frozen_counts(
    cfg: engine.TrainConfig, n_trials: int, *, seed: int = 0, chunk_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Per trial, ``(frozen, possibly_frozen)``: first-layer neurons certified frozen, and those
    not certified moving. ``(M,)`` int arrays.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), activation="clip").validate()
    >>> f, p = first_layer_frozen_counts(cfg, 3, chunk_size=2)
    >>> f.shape, bool(np.all(f <= p))
    ((3,), True)
    """
    engine.check_dtype_enabled(cfg)
    fn = _compiled(cfg)
    base = jax.random.key(seed)
    outs_f, outs_p = [], []
    for start in range(0, n_trials, chunk_size):
        idx = np.arange(start, start + chunk_size)
        f, p = fn(base, jnp.asarray(idx, jnp.uint32))
        n = min(chunk_size, n_trials - start)
        outs_f.append(np.asarray(f)[:n])
        outs_p.append(np.asarray(p)[:n])
    return np.concatenate(outs_f), np.concatenate(outs_p)


def first_layer_frozen_estimate(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = 1024,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ProbabilityEstimate:
    """P(a first-layer neuron is frozen: dead or saturated) for a ``clip`` setting, pooled over the
    ``M l_1`` first-layer neurons (independent rows), next to ``theory``
    (:func:`jaxnn_nonconv.stats.frozen.p_frozen`; ``None`` where no closed form is known)."""
    f, p = first_layer_frozen_counts(cfg, n_trials, seed=seed, chunk_size=chunk_size)
    width = cfg.arch[1]
    total = int(n_trials) * width
    theory = frozen.p_frozen(
        cfg.init, cfg.problem.box, cfg.zero_bias, width=width, scale=cfg.init_scale
    )
    return bracketed(int(f.sum()), int(p.sum()), total, confidence).with_extra(theory=theory)


@functools.lru_cache(maxsize=16)
def _compiled_of_params(arch: tuple[int, ...], box, grid: int, dtype: str, n_probe: int):
    lo_np, hi_np = (np.array(v, np.float64) for v in zip(*box, strict=True))
    sample_np = detector.sample_points(lo_np, hi_np, n_probe)
    probe_np = detector.probe_points(lo_np, hi_np)
    dt = jnp.dtype(dtype)

    def chunk(theta):
        lo, hi = jnp.asarray(lo_np, dt), jnp.asarray(hi_np, dt)
        sample, probe = jnp.asarray(sample_np, dt), jnp.asarray(probe_np, dt)

        def one(t):
            params = nets.from_flat(t, arch)
            st = detector.classify_activation(params, lo, hi, sample, probe, grid, "clip")
            fr = jnp.concatenate([i | s for i, s in zip(st.inactive, st.saturated)])
            moving = jnp.concatenate([a & b for a, b in zip(st.active, st.below_one)])
            return jnp.sum(fr, dtype=jnp.int32), jnp.sum(~moving, dtype=jnp.int32)

        return jax.vmap(one)(theta)

    return jax.jit(chunk)


def frozen_counts_of_params(
    theta: np.ndarray,
    arch,
    box,
    *,
    settings: detector.DetectorSettings | None = None,
    chunk_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Per net, ``(frozen, possibly_frozen)``: hidden neurons of a ``clip`` net (every layer)
    certified frozen (dead or saturated on the box), and those not certified moving.

    Args:
      theta: ``(M, P)`` flat parameters (e.g. ``engine.run``'s ``params0`` or ``params``).
      arch, box: the architecture and the input box.
      settings: its ``grid`` (default :func:`jaxnn_nonconv.detector.default_grid`) and
        ``n_probe``: the interval bounds of deep layers and the witnesses
        (:func:`jaxnn_nonconv.detector.classify_activation`).
      chunk_size: nets per compiled call (the last chunk is padded with copies).

    Returns:
      Two ``(M,)`` int arrays.

    >>> theta = np.zeros((2, nets.num_params((1, 3, 1))), np.float32)  # zero nets: all dead
    >>> [v.tolist() for v in frozen_counts_of_params(theta, (1, 3, 1), ((0.0, 1.0),))]
    [[3, 3], [3, 3]]
    """
    theta = np.asarray(nets.float_input(theta, "theta"))
    settings = settings or detector.DetectorSettings()
    box = tuple((float(a), float(b)) for a, b in box)
    grid = settings.grid or detector.default_grid(len(box))
    fn = _compiled_of_params(tuple(arch), box, int(grid), str(theta.dtype), settings.n_probe)
    m = theta.shape[0]
    size = min(chunk_size, max(m, 1))
    outs_f, outs_p = [], []
    for start in range(0, m, size):
        rows = np.minimum(np.arange(start, start + size), m - 1)
        f, p = fn(jnp.asarray(theta[rows]))
        n = min(size, m - start)
        outs_f.append(np.asarray(f)[:n])
        outs_p.append(np.asarray(p)[:n])
    return np.concatenate(outs_f), np.concatenate(outs_p)


def any_frozen_bound(cfg: engine.TrainConfig) -> float | None:
    """Theory's lower bound of P(some neuron of a ``clip`` net frozen at initialization):
    ``1 - (1 - p_frozen)^H`` over the ``H`` independent first-layer neurons
    (:func:`jaxnn_nonconv.stats.frozen.p_frozen`, docs/theory.md sec. 3b); ``None`` where no
    closed form is known.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), activation="clip", init="normal").validate()
    >>> p = frozen.p_frozen("normal", cfg.problem.box)
    >>> any_frozen_bound(cfg) == 1 - (1 - p) ** 4
    True
    """
    width = cfg.arch[1]
    p = frozen.p_frozen(cfg.init, cfg.problem.box, cfg.zero_bias, width=width, scale=cfg.init_scale)
    return None if p is None else 1.0 - (1.0 - p) ** width
