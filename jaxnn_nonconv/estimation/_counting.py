"""Counting inactive neurons of many networks in chunks of one fixed, padded shape.

* :func:`iter_init_counts` draws the initial networks of trials ``0..M-1`` exactly as
  :func:`jaxnn_nonconv.engine.run` does (:func:`~jaxnn_nonconv.engine.init_trial_params` of
  ``engine.trial_key(seed, i)``) and classifies their neurons with the jit-compiled, vmapped
  detector of :mod:`jaxnn_nonconv.detector`, in padded chunks of one fixed shape, so trial ``i``'s
  result does not depend on ``M``. :func:`counts_at_init` collects them per trial;
  :func:`counts_of_params` does the same for given flat parameters (e.g. ``engine.run``'s
  ``params0`` and ``params``).

Chunk sizes: a run of ``M`` trials uses chunks of :func:`default_chunk` ``(M)`` trials unless told
otherwise, a power of two between :data:`MIN_CHUNK` and :data:`DEFAULT_CHUNK` (a fixed ladder of
shapes, recorded as ``chunk_size`` in the results), so 10 trials cost like 256, not like 16384.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import inits, nets
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.exact import breakpoints

DEFAULT_CHUNK = 2**14


MIN_CHUNK = 2**8


def default_chunk(n_trials: int, largest: int = DEFAULT_CHUNK, smallest: int = MIN_CHUNK) -> int:
    """The chunk shape for ``n_trials`` trials: the next power of two, within ``[smallest, largest]``.

    >>> default_chunk(10), default_chunk(1000), default_chunk(10**6)
    (256, 1024, 16384)
    """
    return int(min(largest, max(smallest, 1 << max(int(n_trials) - 1, 0).bit_length())))


def _compiled_init_draws(cfg: engine.TrainConfig) -> Any:
    """Jitted ``(base_key, indices: (chunk,)) -> stacks``: the initial nets of ``cfg``'s trials
    ``indices`` (batched :data:`jaxnn_nonconv.core.nets.LayerStacks`). ``base_key`` is
    ``jax.random.key(seed)``, made outside so that any seed :func:`engine.run` accepts gives the
    same keys: ``fold_in(base_key, i)`` is ``engine.trial_key(seed, i)``.

    Families of one :func:`~jaxnn_nonconv.core.inits.draw_kind`, with and without zero biases,
    share one compiled program with the layers' spreads and the zero-bias switch as arguments
    (the same numbers as a program per family: tested); the random draws are most of its compile
    time, so ``advise`` compiles three draw programs for its 14 rows, not six."""
    kind = inits.draw_kind(cfg.init)
    if kind == "width_power":  # no single spread, no zero-bias switch: a program of its own
        return _draws_program(cfg)
    spreads = None
    if kind == "rai":  # no spread: init_scale multiplies the normal part inside the program
        shared = dataclasses.replace(cfg, zero_bias=False)
    else:
        shared = dataclasses.replace(cfg, init=_KIND_INIT[kind], init_scale=1.0, zero_bias=False)
        dtype = engine.DTYPES[cfg.dtype]
        spreads = tuple(
            jnp.asarray(inits.layer_spread(cfg.init, n_in, n_out, cfg.init_scale), dtype)
            for _, n_in, n_out in nets.layer_stacks(cfg.arch)
        )
    zero_bias = jnp.asarray(cfg.zero_bias)
    return functools.partial(_draws_program(shared), spreads=spreads, zero_bias=zero_bias)


_KIND_INIT = {"uniform": "pytorch", "normal": "normal"}  # the family that stands for its kind


@functools.lru_cache(maxsize=32)
def _draws_program(cfg: engine.TrainConfig) -> Any:
    """The jitted draws of :func:`_compiled_init_draws`; ``spreads`` and ``zero_bias`` (keywords,
    optional) as in :func:`engine.init_trial_stacks`."""

    def draws(base_key, indices, spreads=None, zero_bias=None):
        return jax.vmap(
            lambda i: engine.init_trial_stacks(
                cfg, jax.random.fold_in(base_key, i), spreads, zero_bias=zero_bias
            )
        )(indices)

    return jax.jit(draws)


def _compiled_init_chunk(cfg: engine.TrainConfig, settings: detector.DetectorSettings) -> Any:
    """``(base_key, indices: (chunk,)) -> (Counts, stacks)`` for the initial nets of ``cfg``.

    ``stacks`` are the nets (batched :data:`jaxnn_nonconv.core.nets.LayerStacks`), kept for the
    trials that are redone at a larger breakpoint capacity. Two compiled programs: the draws, one
    per init family (small), and the detector, one per box, settings, dtype and shape, shared by
    every family (``advise`` compiles it once, not once per family; compiling it is most of a
    short run's time). Separate programs also keep XLA from fusing the random draws into the
    detector and recomputing them.
    """
    draws, detect = _compiled_init_draws(cfg), _detector(cfg, settings)

    def chunk(base_key, indices):
        stacks = draws(base_key, indices)
        return detect(stacks, indices), stacks

    return chunk


def _detector(cfg: engine.TrainConfig, settings: detector.DetectorSettings):
    """The jitted detector of ``cfg``'s box and dtype on batched :data:`nets.LayerStacks`."""
    return detector.make_detector(
        cfg.problem.box, settings, dtype=cfg.dtype, stacks=True, activation=cfg.activation
    )


def _take(tree, rows: np.ndarray):
    """Rows ``rows`` of every leaf of ``tree`` (batched on the leading axis)."""
    pos = jnp.asarray(rows)
    return jax.tree.map(lambda v: v[pos], tree)


def _host(counts: detector.Counts) -> dict[str, np.ndarray]:
    """A device :class:`~jaxnn_nonconv.detector.Counts` as NumPy arrays."""
    return {k: np.asarray(v) for k, v in counts._asdict().items()}


def require_hidden(arch: Sequence[int], command: str = "the inactive-neuron estimate") -> None:
    """Refuse an architecture without a hidden layer (``(1, 1)``): such a net is affine and has no
    ReLU neuron, so "inactive" and "constant on the box" are not defined.

    Raises:
      ConfigError: ``arch`` has fewer than three widths (``train`` still accepts it: a linear
        model trains).
    """
    if len(arch) < 3:
        widths = ",".join(str(v) for v in arch)
        raise ConfigError(
            f"{command} counts inactive ReLU neurons, but the architecture {widths} has no hidden "
            f"layer (an affine net); give hidden widths, e.g. {arch[0]},32,1"
        )


def iter_init_counts(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    chunks: Sequence[int] | None = None,
    settings: detector.DetectorSettings | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Yield ``(chunk_index, counts)`` for the initial nets of trials ``0..n_trials-1``, chunk by chunk.

    Each ``counts`` holds NumPy arrays of the chunk's real trials (padding removed): the fields of
    :class:`~jaxnn_nonconv.detector.Counts` plus ``trial``. Only one chunk is held at a time.
    ``chunk_size=None`` is :func:`default_chunk` ``(n_trials)``. ``chunks`` restricts the run to
    those chunk indices (e.g. this process's share under ``jax.distributed``). ``settings`` as in
    :func:`counts_at_init`.
    """
    cfg = cfg.validate()
    settings = (settings or detector.DetectorSettings()).validate(cfg.arch[0])
    return _iter_init_counts(cfg, n_trials, seed, chunk_size, chunks, settings)


def _iter_init_counts(
    cfg: engine.TrainConfig,
    n_trials: int,
    seed: int,
    chunk_size: int | None,
    chunks: Sequence[int] | None,
    settings: detector.DetectorSettings,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """:func:`iter_init_counts` of a validated ``cfg`` and ``settings`` (not checked again)."""
    require_hidden(cfg.arch)
    if reason := detector.not_applicable(cfg.activation, cfg.arch):
        raise ValueError(f"inactive-neuron estimates: {reason}")
    settings = detector.for_activation(settings, cfg.activation, cfg.arch)  # deep clip: ibp
    engine.check_dtype_enabled(cfg)
    engine.check_count(n_trials, "n_trials")
    chunk_size = default_chunk(n_trials) if chunk_size is None else chunk_size
    engine.check_count(chunk_size, "chunk_size")
    ladder = detector.capacities(cfg.arch, settings.mode, settings.max_points)
    n_chunks = -(-n_trials // chunk_size)
    base_key = jax.random.key(seed)  # as engine.trial_key: every int seed, not only uint32 ones

    first = _compiled_init_chunk(cfg, dataclasses.replace(settings, max_points=ladder[0]))

    for c in range(n_chunks) if chunks is None else chunks:
        idx = np.arange(c * chunk_size, (c + 1) * chunk_size)
        n_real = min(chunk_size, n_trials - c * chunk_size)
        counts, stacks = first(base_key, jnp.asarray(idx, jnp.uint32))

        def run(cap, sel, stacks=stacks, start=idx[0]):
            # Exact d = 1 mode: the trials that overflowed, redone at capacity ``cap`` on the
            # nets already drawn (only the detector is compiled per capacity).
            detect = _detector(cfg, dataclasses.replace(settings, max_points=cap))
            return _host(detect(_take(stacks, sel - start), jnp.asarray(sel, jnp.uint32)))

        out = breakpoints.refine_overflow(run, idx, _host(counts), ladder, chunk_size)
        out = {k: v[:n_real] for k, v in out.items()}
        out["trial"] = idx[:n_real]
        yield c, out


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def counts_at_init(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    settings: detector.DetectorSettings | None = None,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Per-trial :class:`~jaxnn_nonconv.detector.Counts` of the initial nets of trials ``0..M-1``.

    Args:
      cfg: the setting (only arch, init, zero_bias, init_scale, box and dtype matter).
      n_trials: ``M``.
      seed: trial ``i`` uses ``engine.trial_key(seed, i)``, as in :func:`engine.run`.
      chunk_size: trials per compiled call (the last chunk is padded); default
        :func:`default_chunk` ``(M)``.
      settings: a :class:`~jaxnn_nonconv.detector.DetectorSettings` (default
        ``DetectorSettings()``), checked for ``cfg``'s input dimension here.
      progress: rich progress bar (default: when stderr is a terminal).

    Returns:
      Dict of NumPy arrays with leading axis ``M``: the fields of ``Counts`` plus ``trial``.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1)).validate()
    >>> c = counts_at_init(cfg, 5, chunk_size=4)
    >>> c["inactive"].shape, c["trial"].tolist()
    ((5, 1), [0, 1, 2, 3, 4])
    """
    cfg = cfg.validate()
    settings = (settings or detector.DetectorSettings()).validate(cfg.arch[0])
    size = default_chunk(n_trials) if chunk_size is None else chunk_size
    mine = distributed.my_chunks(range(-(-n_trials // size)))  # all of them with one process
    chunks = _iter_init_counts(cfg, n_trials, seed, size, mine, settings)
    parts = list(engine.progress_iter(chunks, len(mine), progress, "init chunks"))
    return distributed.merge_chunks(parts)


def counts_of_params(
    theta: np.ndarray | jax.Array,
    arch,
    box,
    *,
    trials: np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    settings: detector.DetectorSettings | None = None,
    activation: str = "relu",
) -> dict[str, np.ndarray]:
    """Per-trial counts of ``M`` networks given as flat parameters ``theta: (M, P)``.

    Computes in ``theta``'s own float dtype.

    Args:
      theta: e.g. ``engine.run(...)["params"]`` (final) or ``["params0"]`` (initial).
      arch: the architecture.
      box: ``((a_1, b_1), ...)``, e.g. ``cfg.problem.box``.
      trials: ``(M,)`` trial indices (pick the sampled neuron); default ``0..M-1``.
      chunk_size, settings: as in :func:`counts_at_init`.
      activation: the nets' hidden activation (``relu``, ``clip``, ``repu:P``; deep ``clip`` and
        ``repu:P`` nets are certified by interval bounds, :func:`jaxnn_nonconv.detector.for_activation`).

    Raises:
      ValueError: ``theta`` is not ``(M, P)``, or is ``float64`` while 64-bit JAX is off (it would
        be rounded to ``float32`` and could be certified inactive wrongly).

    >>> theta = np.zeros((3, nets.num_params((1, 4, 1))), np.float32)
    >>> counts_of_params(theta, (1, 4, 1), ((0.0, 1.0),))["inactive"][:, 0].tolist()
    [4, 4, 4]
    """
    theta = np.asarray(nets.float_input(theta, "theta"))
    arch = nets.check_arch(arch)
    if theta.ndim != 2 or theta.shape[0] == 0:
        raise ValueError(f"theta must have shape (M, P) with M >= 1, got {theta.shape}")
    m = theta.shape[0]
    trials = np.arange(m) if trials is None else np.asarray(trials)
    box = tuple((float(a), float(b)) for a, b in box)
    settings = (settings or detector.DetectorSettings()).validate(arch[0])
    settings = detector.for_activation(settings, activation, arch)
    chunk_size = min(chunk_size, max(m, 1))
    parts = []
    for lo in range(0, m, chunk_size):
        rows = np.arange(lo, lo + chunk_size)
        rows = np.minimum(rows, m - 1)  # pad with the last trial; dropped below
        counts = detector.detect_flat(
            theta[rows], arch, box, trials=trials[rows], settings=settings, activation=activation
        )
        parts.append(_host(counts))
    out = {k: v[:m] for k, v in _concat(parts).items()}
    out["trial"] = trials
    return out
