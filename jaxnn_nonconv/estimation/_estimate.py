"""Failure probabilities from M trials, with Wilson and Clopper-Pearson intervals (``docs/theory.md``
sec. 4; arXiv 2402.05155, 2410.10533, 2006.07075).

* :func:`iter_init_counts` draws the initial networks of trials ``0..M-1`` exactly as
  :func:`jaxnn_nonconv.engine.run` does (:func:`~jaxnn_nonconv.engine.init_trial_params` of
  ``engine.trial_key(seed, i)``) and classifies their neurons with the jit-compiled, vmapped
  detector of :mod:`jaxnn_nonconv.detector`, in padded chunks of one fixed shape, so trial ``i``'s
  result does not depend on ``M``. :func:`counts_at_init` collects them per trial;
  :func:`counts_of_params` does the same for given flat parameters (e.g. ``engine.run``'s
  ``params0`` and ``params``).
* :func:`tally` reduces per-trial counts to the sums every estimate needs (a :class:`Tally`), so
  :func:`estimate_at_init` keeps memory flat in the number of trials: each chunk is reduced as it
  arrives and per-trial arrays are kept only when asked (``keep_counts=True``).
* :func:`summarize` turns a tally (or per-trial counts) into an :class:`InitSummary`: typed
  :class:`~jaxnn_nonconv.stats.results.ProbabilityEstimate` objects with both intervals and the
  predictions of :mod:`jaxnn_nonconv.stats.theory`; ``to_dict()`` is the JSON of ``jaxnn-nonconv estimate``.
* :func:`failure_after_training` estimates P(failure) of trained nets by several criteria
  (a :class:`FailureEstimate`).

Interval conventions: see :mod:`jaxnn_nonconv.stats.results`. Per-layer neuron probabilities: first-layer
neurons of one net are independent (different rows), so their pooled count is Binomial(M l_1, p).
Deeper neurons of one net are dependent; their interval uses one neuron per trial (neuron
``i mod l_k`` of trial ``i``), a Bernoulli sample of the same probability by exchangeability,
while the point estimate pools all neurons.

Chunk sizes: a run of ``M`` trials uses chunks of :func:`default_chunk` ``(M)`` trials unless told
otherwise, a power of two between :data:`MIN_CHUNK` and :data:`DEFAULT_CHUNK` (a fixed ladder of
shapes, recorded as ``chunk_size`` in the results), so 10 trials cost like 256, not like 16384.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector, engine, rare
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.estimation import _levels as risk_levels
from jaxnn_nonconv.exact import breakpoints as exact1d
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.stats import (
    DEFAULT_CONFIDENCE,
    Precision,
    ProbabilityEstimate,
    bracketed,
    complement_shown,
    format_bound,
    format_probability,
    format_value,
    progress_line,
    proportion,
    theory,
    to_json,
)

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_CONFIDENCE",
    "FailureEstimate",
    "InitSummary",
    "ProbabilityEstimate",
    "Tally",
    "bracketed",
    "counts_at_init",
    "counts_of_params",
    "default_chunk",
    "estimate_at_init",
    "failure_after_training",
    "iter_init_counts",
    "print_summary",
    "proportion",
    "rare_event",
    "summarize",
    "tally",
]

rare_event = rare.rare_event  # splitting over depth for tiny probabilities (arXiv 2006.07075)

DEFAULT_CHUNK = 2**14
MIN_CHUNK = 2**8


def default_chunk(n_trials: int, largest: int = DEFAULT_CHUNK, smallest: int = MIN_CHUNK) -> int:
    """The chunk shape for ``n_trials`` trials: the next power of two, within ``[smallest, largest]``.

    >>> default_chunk(10), default_chunk(1000), default_chunk(10**6)
    (256, 1024, 16384)
    """
    return int(min(largest, max(smallest, 1 << max(int(n_trials) - 1, 0).bit_length())))


def _detector_kw(mode, grid, n_probe, max_points) -> dict:
    return {"mode": mode, "grid": grid, "n_probe": n_probe, "max_points": max_points}


@functools.lru_cache(maxsize=32)
def _compiled_init_chunk(cfg: engine.TrainConfig, detector_kw: tuple) -> Any:
    """Jitted ``(base_key, indices: (chunk,)) -> (Counts, runs)`` for the initial nets of ``cfg``.

    ``runs`` are the nets (batched :data:`jaxnn_nonconv.core.nets.Runs`), kept for the trials that
    are redone at a larger breakpoint capacity. ``base_key`` is ``jax.random.key(seed)``, made
    outside so that any seed :func:`engine.run` accepts gives the same keys: ``fold_in(base_key, i)``
    is ``engine.trial_key(seed, i)``.
    """
    detect = _detector(cfg, detector_kw)

    def chunk(base_key, indices):
        runs = jax.vmap(lambda i: engine.init_trial_runs(cfg, jax.random.fold_in(base_key, i)))(
            indices
        )
        # Without the barrier XLA fuses the random draws into the detector and recomputes them.
        runs = jax.lax.optimization_barrier(runs)
        return detect(runs, indices), runs

    return jax.jit(chunk)


def _detector(cfg: engine.TrainConfig, detector_kw: tuple):
    """The jitted detector of ``cfg``'s box and dtype on batched :data:`nets.Runs`."""
    return detector.make_detector(cfg.problem.box, dtype=cfg.dtype, runs=True, **dict(detector_kw))


def _take(tree, rows: np.ndarray):
    """Rows ``rows`` of every leaf of ``tree`` (batched on the leading axis)."""
    pos = jnp.asarray(rows)
    return jax.tree.map(lambda v: v[pos], tree)


def _host(counts: detector.Counts) -> dict[str, np.ndarray]:
    """A device :class:`~jaxnn_nonconv.detector.Counts` as NumPy arrays."""
    return {k: np.asarray(v) for k, v in counts._asdict().items()}


def iter_init_counts(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    chunks: Sequence[int] | None = None,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = detector.DEFAULT_PROBES,
    max_points: int = detector.DEFAULT_MAX_POINTS,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Yield ``(chunk_index, counts)`` for the initial nets of trials ``0..n_trials-1``, chunk by chunk.

    Each ``counts`` holds NumPy arrays of the chunk's real trials (padding removed): the fields of
    :class:`~jaxnn_nonconv.detector.Counts` plus ``trial``. Only one chunk is held at a time.
    ``chunk_size=None`` is :func:`default_chunk` ``(n_trials)``. ``chunks`` restricts the run to
    those chunk indices (e.g. this process's share under ``jax.distributed``).
    """
    cfg = cfg.validate()
    if reason := detector.not_applicable(cfg.activation):
        raise ValueError(f"inactive-neuron estimates: {reason}")
    engine.check_dtype_enabled(cfg)
    engine.check_count(n_trials, "n_trials")
    chunk_size = default_chunk(n_trials) if chunk_size is None else chunk_size
    engine.check_count(chunk_size, "chunk_size")
    kw = _detector_kw(mode, grid, n_probe, max_points)
    ladder = detector.capacities(cfg.arch, mode, max_points)
    n_chunks = -(-n_trials // chunk_size)
    base_key = jax.random.key(seed)  # as engine.trial_key: every int seed, not only uint32 ones

    first = _compiled_init_chunk(cfg, tuple({**kw, "max_points": ladder[0]}.items()))

    for c in range(n_chunks) if chunks is None else chunks:
        idx = np.arange(c * chunk_size, (c + 1) * chunk_size)
        n_real = min(chunk_size, n_trials - c * chunk_size)
        counts, runs = first(base_key, jnp.asarray(idx, jnp.uint32))

        def run(cap, sel, runs=runs, start=idx[0]):
            # Exact d = 1 mode: the trials that overflowed, redone at capacity ``cap`` on the
            # nets already drawn (only the detector is compiled per capacity).
            detect = _detector(cfg, tuple({**kw, "max_points": cap}.items()))
            return _host(detect(_take(runs, sel - start), jnp.asarray(sel, jnp.uint32)))

        out = exact1d.refine_overflow(run, idx, _host(counts), ladder, chunk_size)
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
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = detector.DEFAULT_PROBES,
    max_points: int = detector.DEFAULT_MAX_POINTS,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Per-trial :class:`~jaxnn_nonconv.detector.Counts` of the initial nets of trials ``0..M-1``.

    Args:
      cfg: the setting (only arch, init, zero_bias, init_scale, box and dtype matter).
      n_trials: ``M``.
      seed: trial ``i`` uses ``engine.trial_key(seed, i)``, as in :func:`engine.run`.
      chunk_size: trials per compiled call (the last chunk is padded); default
        :func:`default_chunk` ``(M)``.
      mode, grid, n_probe, max_points: detector settings (:func:`detector.make_detector`).
      progress: rich progress bar (default: when stderr is a terminal).

    Returns:
      Dict of NumPy arrays with leading axis ``M``: the fields of ``Counts`` plus ``trial``.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1)).validate()
    >>> c = counts_at_init(cfg, 5, chunk_size=4)
    >>> c["inactive"].shape, c["trial"].tolist()
    ((5, 1), [0, 1, 2, 3, 4])
    """
    size = default_chunk(n_trials) if chunk_size is None else chunk_size
    mine = distributed.my_chunks(range(-(-n_trials // size)))  # all of them with one process
    chunks = iter_init_counts(
        cfg,
        n_trials,
        seed=seed,
        chunk_size=size,
        chunks=mine,
        mode=mode,
        grid=grid,
        n_probe=n_probe,
        max_points=max_points,
    )
    parts = list(engine.progress_iter(chunks, len(mine), progress, "init chunks"))
    return distributed.merge_chunks(parts)


def counts_of_params(
    theta: np.ndarray | jax.Array,
    arch,
    box,
    *,
    trials: np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = detector.DEFAULT_PROBES,
    max_points: int = detector.DEFAULT_MAX_POINTS,
) -> dict[str, np.ndarray]:
    """Per-trial counts of ``M`` networks given as flat parameters ``theta: (M, P)``.

    Computes in ``theta``'s own float dtype.

    Args:
      theta: e.g. ``engine.run(...)["params"]`` (final) or ``["params0"]`` (initial).
      arch: the architecture.
      box: ``((a_1, b_1), ...)``, e.g. ``cfg.problem.box``.
      trials: ``(M,)`` trial indices (pick the sampled neuron); default ``0..M-1``.
      chunk_size, mode, grid, n_probe, max_points: as in :func:`counts_at_init`.

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
    kw = _detector_kw(mode, grid, n_probe, max_points)
    chunk_size = min(chunk_size, max(m, 1))
    parts = []
    for lo in range(0, m, chunk_size):
        rows = np.arange(lo, lo + chunk_size)
        rows = np.minimum(rows, m - 1)  # pad with the last trial; dropped below
        counts = detector.detect_flat(theta[rows], arch, box, trials=trials[rows], **kw)
        parts.append(_host(counts))
    out = {k: v[:m] for k, v in _concat(parts).items()}
    out["trial"] = trials
    return out


# ---------------------------------------------------------------------------------------------
# Reduction: per-trial counts -> sums


class Tally(NamedTuple):
    """The sums of per-trial counts that every estimate at initialization needs.

    Adding two tallies (``a + b``) pools their trials, so a run is reduced chunk by chunk and its
    memory does not grow with the number of trials. Per hidden layer (``(L,)`` int64 arrays):
    ``inactive``, ``unknown``, ``sign_dead``, ``empirical`` (neuron counts) and
    ``sampled_inactive``, ``sampled_possible`` (trials whose sampled neuron is certified / possibly
    inactive). Per run: ``trials``, ``any_inactive``, ``any_possible``, ``dead_layer``,
    ``dead_layer_possible``, ``overflow`` (trial counts).
    """

    trials: int
    inactive: np.ndarray
    unknown: np.ndarray
    sign_dead: np.ndarray
    empirical: np.ndarray
    sampled_inactive: np.ndarray
    sampled_possible: np.ndarray
    any_inactive: int
    any_possible: int
    dead_layer: int
    dead_layer_possible: int
    overflow: int

    def __add__(self, other: Tally) -> Tally:  # type: ignore[override]
        return Tally(*(a + b for a, b in zip(self, other, strict=True)))


def tally(counts: Mapping[str, np.ndarray]) -> Tally:
    """Reduce per-trial counts (:func:`counts_at_init`, leading axis ``M``) to a :class:`Tally`.

    >>> c = {"inactive": np.array([[1, 0], [0, 0]]), "unknown": np.array([[0, 1], [0, 0]]),
    ...      "sign_dead": np.zeros((2, 2), int), "empirical": np.zeros((2, 2), int),
    ...      "sampled_inactive": np.zeros((2, 2), bool), "sampled_unknown": np.zeros((2, 2), bool),
    ...      "dead_layer": np.array([False, False]), "dead_layer_possible": np.array([True, False]),
    ...      "overflow": np.array([False, False])}
    >>> t = tally(c)
    >>> t.trials, t.any_inactive, t.any_possible, t.dead_layer_possible
    (2, 1, 1, 1)
    """
    inact = np.asarray(counts["inactive"], np.int64)
    unk = np.asarray(counts["unknown"], np.int64)
    s_in = np.asarray(counts["sampled_inactive"], bool)
    s_unk = np.asarray(counts["sampled_unknown"], bool)
    return Tally(
        trials=int(inact.shape[0]),
        inactive=inact.sum(0),
        unknown=unk.sum(0),
        sign_dead=np.asarray(counts["sign_dead"], np.int64).sum(0),
        empirical=np.asarray(counts["empirical"], np.int64).sum(0),
        sampled_inactive=s_in.sum(0, dtype=np.int64),
        sampled_possible=(s_in | s_unk).sum(0, dtype=np.int64),
        any_inactive=int((inact.sum(1) > 0).sum()),
        any_possible=int(((inact + unk).sum(1) > 0).sum()),
        dead_layer=int(np.asarray(counts["dead_layer"]).sum()),
        dead_layer_possible=int(np.asarray(counts["dead_layer_possible"]).sum()),
        overflow=int(np.asarray(counts["overflow"]).sum()),
    )


# ---------------------------------------------------------------------------------------------
# Typed summaries

# The probabilities of an InitSummary, in table order: name -> (event, complementary event).
EVENTS = {
    "first_layer_neuron_inactive": (
        "P(first-layer neuron inactive)",
        "P(first-layer neuron active)",
    ),
    "any_inactive": ("P(some neuron inactive)", "P(no inactive neuron)"),
    "constant_network": ("P(network constant on the box)", "P(network not constant)"),
}


@dataclasses.dataclass(frozen=True)
class InitSummary:
    """Estimates at initialization: what ``jaxnn-nonconv estimate`` prints.

    Attributes:
      trials: ``M``.
      confidence: interval level.
      probabilities: name -> :class:`ProbabilityEstimate`: ``first_layer_neuron_inactive`` (with
        ``theory``), ``any_inactive`` (with theory's lower ``bound``), ``constant_network`` (with
        ``lower_bound``); further estimates are added under their own names.
      layers: one :class:`ProbabilityEstimate` per hidden layer (``layer``, ``width``, ``theory``,
        ``sign_dead``, ``empirical`` in its ``extra``).
      unknown_fraction: fraction of hidden neurons neither certified inactive nor active.
      overflow_trials: trials on which the exact detector ran out of breakpoint capacity.
      theory: :func:`jaxnn_nonconv.stats.theory.summary` of the setting.
      meta: run facts shown first in the JSON (``config``, ``seed``, ``chunk_size``, ``detector``).
      wall_s: seconds of the run (``None`` when not timed).
      counts: per-trial arrays, only when asked for (never in the JSON).
    """

    trials: int
    confidence: float
    probabilities: Mapping[str, ProbabilityEstimate]
    layers: tuple[ProbabilityEstimate, ...]
    unknown_fraction: float
    overflow_trials: int
    theory: Mapping[str, Any]
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    wall_s: float | None = None
    counts: Mapping[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)

    def __getattr__(self, name: str) -> ProbabilityEstimate:
        # summary.any_inactive etc.: the probabilities by name
        probs = self.__dict__.get("probabilities", {})
        if name in probs:
            return probs[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``jaxnn-nonconv estimate`` (keys ``config``, ``trials``,
        ``first_layer_neuron_inactive``, ``any_inactive``, ``constant_network``,
        ``inactive_fraction_per_layer``, ``unknown_fraction``, ..., and ``method`` (``"mc"``),
        ``not_constant``, ``no_inactive`` with log10 values as for ``--method splitting``)."""
        out = {k: to_json(v) for k, v in self.meta.items()}
        out.update(trials=self.trials, confidence=self.confidence)
        out.update({k: v.to_dict() for k, v in self.probabilities.items()})
        out["inactive_fraction_per_layer"] = [e.to_dict() for e in self.layers]
        out["unknown_fraction"] = self.unknown_fraction
        out["overflow_trials"] = self.overflow_trials
        out["theory"] = to_json(self.theory)
        out["method"] = "mc"
        # not_constant / no_inactive: the complements, with log10 values (shared with splitting)
        out.update(rare.mc_entries(out))
        if self.wall_s is not None:
            out["wall_s"] = self.wall_s
        return out

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def summarize(
    cfg: engine.TrainConfig,
    counts: Mapping[str, np.ndarray] | Tally,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> InitSummary:
    """Probabilities, intervals and theory from per-trial counts (:func:`counts_at_init`) or a
    :class:`Tally` of them.

    >>> from jaxnn_nonconv import problems
    >>> box01 = problems.Problem("x^2", ((0.0, 1.0),))
    >>> cfg = engine.TrainConfig(arch=(1, 8, 1), init="normal", problem=box01).validate()
    >>> s = summarize(cfg, counts_at_init(cfg, 2000, chunk_size=1024))
    >>> s.first_layer_neuron_inactive.extra["theory"]
    0.375
    >>> lo, hi = s.first_layer_neuron_inactive.ci
    >>> bool(lo < 0.375 < hi)
    True
    """
    t = counts if isinstance(counts, Tally) else tally(counts)
    widths = cfg.arch[1:-1]
    m = t.trials
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    first = proportion(t.inactive[0], m * widths[0], confidence).with_extra(
        theory=th["first_layer_p"]
    )
    layers = []
    for k, width in enumerate(widths):
        if k == 0:
            entry = first
            extra = {}
        else:
            entry = bracketed(t.sampled_inactive[k], t.sampled_possible[k], m, confidence)
            lo = float(t.inactive[k] / (m * width))
            hi = float((t.inactive[k] + t.unknown[k]) / (m * width))
            entry = dataclasses.replace(
                entry, estimate=lo if lo == hi else (lo, hi), bracket=(lo, hi)
            )
            sign_dead = proportion(t.sign_dead[k], m * width, confidence)
            extra = {
                "interval_from": "one neuron per trial",
                "sign_dead": sign_dead.with_extra(theory=th["sign_dead_q"][k]),
            }
        entry = dataclasses.replace(entry, extra={})
        layers.append(
            entry.with_extra(
                **extra,
                layer=k + 1,
                width=int(width),
                theory=th["first_layer_p"] if k == 0 else None,
                empirical=float(t.empirical[k] / (m * width)),
            )
        )
    probabilities = {
        "first_layer_neuron_inactive": first,
        "any_inactive": bracketed(t.any_inactive, t.any_possible, m, confidence).with_extra(
            bound=th["any_inactive_lower_bound"]
        ),
        "constant_network": bracketed(
            t.dead_layer, t.dead_layer_possible, m, confidence
        ).with_extra(lower_bound=th["constant_network_lower_bound"]),
    }
    return InitSummary(
        trials=m,
        confidence=confidence,
        probabilities=probabilities,
        layers=tuple(layers),
        unknown_fraction=float(t.unknown.sum() / (m * sum(widths))),
        overflow_trials=int(t.overflow),
        theory=th,
    )


def _pool_processes(total: Tally | None) -> Tally:
    """The sum of every process's :class:`Tally` (``total`` itself with one process)."""
    if distributed.process_count() == 1:
        return total
    local = (
        [] if total is None else [(0, {f: np.asarray(v)[None] for f, v in total._asdict().items()})]
    )
    merged = distributed.merge_chunks(local)
    return Tally(**{f: (int(v.sum()) if v.ndim == 1 else v.sum(0)) for f, v in merged.items()})


def estimate_at_init(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = detector.DEFAULT_PROBES,
    max_points: int = detector.DEFAULT_MAX_POINTS,
    progress: bool | None = None,
    precision: Precision | None = None,
    keep_counts: bool = False,
) -> InitSummary:
    """What ``jaxnn-nonconv estimate`` prints: :func:`summarize` of the initial nets of ``n_trials``
    trials, plus ``config``, ``seed``, ``chunk_size``, ``detector`` and ``wall_s``.

    Each chunk is reduced to a :class:`Tally` as it arrives: memory does not depend on
    ``n_trials`` beyond one chunk (per-trial arrays are kept only with ``keep_counts``).

    Args:
      cfg, seed, mode, grid, n_probe, max_points: as in :func:`counts_at_init`.
      n_trials: ``M``; with ``precision``, ignored in favour of ``precision.max_trials``.
      chunk_size: trials per compiled call; default :func:`default_chunk` of the trial count.
      confidence: interval level.
      progress: progress bar (or, with ``precision``, a line per chunk) on stderr; default: when
        stderr is a terminal.
      precision: stop at the first chunk count whose ``precision.of`` estimate (a key of
        :data:`EVENTS`) meets the target, or at ``precision.max_trials``.
      keep_counts: also return the per-trial counts (``summary.counts``).

    >>> cfg = engine.TrainConfig(arch=(1, 4, 4, 1)).validate()
    >>> s = estimate_at_init(cfg, 64, chunk_size=32)
    >>> s.trials, len(s.layers), s.unknown_fraction
    (64, 2, 0.0)
    """
    cfg = cfg.validate()
    if precision is not None:
        if precision.of not in EVENTS:
            raise ValueError(
                f"precision target of {precision.of!r}: estimate has {', '.join(EVENTS)}"
            )
        n_trials = precision.max_trials
    chunk_size = default_chunk(n_trials) if chunk_size is None else chunk_size
    t0 = time.perf_counter()
    n_chunks = -(-n_trials // chunk_size)
    # Under jax.distributed each process tallies its share of the chunks (a precision target needs
    # the chunks in order, so there every process computes all of them).
    mine = distributed.my_chunks(range(n_chunks)) if precision is None else None
    chunks = iter_init_counts(
        cfg,
        n_trials,
        seed=seed,
        chunk_size=chunk_size,
        chunks=mine,
        mode=mode,
        grid=grid,
        n_probe=n_probe,
        max_points=max_points,
    )
    total, kept, stopped = None, [], None
    if precision is None:
        chunks = engine.progress_iter(chunks, len(mine), progress, "init chunks")
    show = sys.stderr.isatty() if progress is None else progress
    for c, part in chunks:
        total = tally(part) if total is None else total + tally(part)
        if keep_counts:
            kept.append((c, part))
        if precision is not None:
            est = summarize(cfg, total, confidence=confidence).probabilities[precision.of]
            if show:
                print(progress_line(precision, est, total.trials), file=sys.stderr)
            if precision.met(est):
                stopped = "target met"
                break
    if precision is not None and stopped is None:
        stopped = "max_trials reached"
    if precision is None:
        total = _pool_processes(total)
    wall = time.perf_counter() - t0
    d = cfg.arch[0]
    resolved = detector.resolve_mode(mode, d)
    meta = {
        "config": cfg.to_dict(),
        "seed": seed,
        "chunk_size": chunk_size,
        "detector": {
            "mode": resolved,
            "grid": (grid or detector.default_grid(d)) if resolved == "ibp" else None,
            "n_probe": n_probe,
            "max_points": max_points if resolved == "exact" and d == 1 else None,
        },
    }
    if precision is not None:
        meta["precision"] = {**precision.to_dict(), "stopped": stopped}
    return dataclasses.replace(
        summarize(cfg, total, confidence=confidence),
        meta=meta,
        wall_s=wall,
        counts=distributed.merge_chunks(kept) if keep_counts else None,
    )


# ---------------------------------------------------------------------------------------------
# After training


@dataclasses.dataclass(frozen=True)
class FailureEstimate:
    """P(failure) of trained nets by several criteria (:func:`failure_after_training`).

    Attributes:
      trials: ``M``.
      tol: tolerance of ``risk_gap``.
      best_risk: lowest final risk of the non-diverged trials.
      diverged: number of diverged trials.
      criteria: criterion name -> :class:`ProbabilityEstimate` (with theory's lower ``bound`` of
        the probability where one applies, else ``None``).
      theory: :func:`jaxnn_nonconv.stats.theory.summary` of the setting.
      risk_source: ``"exact"`` when the criteria used exact ``d = 1`` risks, else ``"monte_carlo"``.
      level_tol: the tolerance above ``R_H`` of ``not_global`` (only with ``levels``).
    """

    trials: int
    tol: float
    best_risk: float
    diverged: int
    criteria: Mapping[str, ProbabilityEstimate]
    theory: Mapping[str, Any]
    risk_source: str = "monte_carlo"
    level_tol: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "trials": self.trials,
            "tol": self.tol,
            "risk_source": self.risk_source,
            "best_risk": self.best_risk,
            "diverged": self.diverged,
            "criteria": {k: v.to_dict() for k, v in self.criteria.items()},
            "theory": to_json(self.theory),
        }
        if self.level_tol is not None:
            out["level_tol"] = self.level_tol
        return out

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def _any_inactive(c: Mapping[str, np.ndarray], fails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = (c["inactive"].sum(1) > 0) | fails
    hi = ((c["inactive"] + c["unknown"]).sum(1) > 0) | fails
    return lo, hi


def failure_flags(
    end: Mapping[str, np.ndarray] | None,
    init: Mapping[str, np.ndarray] | None,
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-trial ``(certain, possible)`` failure flags of every criterion.

    Args:
      end, init: per-trial counts of the final and the initial nets (:func:`counts_of_params`);
        ``None`` gives the ``risk_gap`` flags only.
      risk: ``(M,)`` final risks; diverged: ``(M,)`` bool; tol: tolerance of ``risk_gap``.
    """
    diverged = np.asarray(diverged, bool)
    risk = np.asarray(risk, np.float64)
    best = float(np.min(risk[~diverged])) if np.any(~diverged) else float("nan")
    fail_risk = diverged | ~(risk <= best + tol)
    if end is None:  # no detection (non-ReLU nets): only the risk criterion
        return {"risk_gap": (fail_risk, fail_risk)}
    return {
        "risk_gap": (fail_risk, fail_risk),
        "inactive_at_end": _any_inactive(end, diverged),
        "constant_at_end": (
            np.asarray(end["dead_layer"], bool) | diverged,
            np.asarray(end["dead_layer_possible"], bool) | diverged,
        ),
        "inactive_at_init": _any_inactive(init, np.zeros(len(risk), bool)),
    }


def failure_of_flags(
    flags: Mapping[str, tuple[np.ndarray, np.ndarray]],
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
    th: Mapping[str, Any],
    confidence: float = DEFAULT_CONFIDENCE,
) -> FailureEstimate:
    """:class:`FailureEstimate` from :func:`failure_flags`."""
    diverged = np.asarray(diverged, bool)
    risk = np.asarray(risk, np.float64)
    m = len(risk)
    best = float(np.min(risk[~diverged])) if np.any(~diverged) else float("nan")
    bounds = {
        # Inactivity at init of first-layer and sign-dead neurons is permanent (their parameters
        # get zero gradient), and so is a dead layer: theory's lower bounds at init bound the
        # probabilities at the end too. risk_gap has none: "within tol of the best found" is
        # not "at a global minimum" (arXiv 2402.05155 Thm 4.2 bounds the latter).
        "inactive_at_end": th["any_inactive_lower_bound"],
        "constant_at_end": th["constant_network_lower_bound"],
        "risk_gap": None,
        "inactive_at_init": th["any_inactive_lower_bound"],
        # A net with an inactive first-layer neuron cannot reach R_H when the levels strictly
        # decrease (arXiv 2402.05155 sec. 3.6), so the same bound holds for not_global.
        "not_global": th["any_inactive_lower_bound"],
    }
    criteria = {}
    for name, (lo, hi) in flags.items():
        est = bracketed(int(lo.sum()), int(hi.sum()), m, confidence).with_extra(
            bound=bounds.get(name)
        )
        if name == "risk_gap":
            est = est.with_extra(tol=tol, best_risk=best)
        criteria[name] = est
    return FailureEstimate(m, tol, best, int(diverged.sum()), criteria, th)


def failure_after_training(
    cfg: engine.TrainConfig,
    result: Mapping[str, np.ndarray],
    *,
    tol: float = 1e-3,
    confidence: float = DEFAULT_CONFIDENCE,
    chunk_size: int = DEFAULT_CHUNK,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = detector.DEFAULT_PROBES,
    max_points: int = detector.DEFAULT_MAX_POINTS,
    levels: Sequence[float] | None = None,
    level_tol: float = risk_levels.LEVEL_TOL,
) -> FailureEstimate:
    """P(failure) of trained nets by several criteria, from :func:`engine.run`'s output.

    The exact ``d = 1`` risk ``risk_exact`` (:mod:`jaxnn_nonconv.exact.risk`) replaces the Monte
    Carlo ``risk`` wherever it is finite: it is taken from ``result`` or computed here when the
    problem has an exact rule (``risk_source`` says which was used).

    Criteria (a diverged trial fails by every one but ``inactive_at_init``):
      ``risk_gap``: final risk above the best final risk of all trials plus ``tol``.
      ``inactive_at_end``: some neuron of the final net inactive on the box (bracketed if unknown).
      ``constant_at_end``: some hidden layer of the final net entirely inactive.
      ``inactive_at_init``: some neuron of the initial net inactive (first-layer ones are
      permanent, so for shallow nets this predicts ``inactive_at_end``).
      ``not_global`` (with ``levels`` ``R_0..R_H`` and exact risks): exact risk above
      ``R_H + level_tol min(R_(H-1) - R_H, R_H)`` (:func:`jaxnn_nonconv.estimation.levels.classify`); a
      trial whose exact risk overflowed is counted only in the upper end of the bracket.
      For ``leaky_relu`` and ``softplus`` nets the three inactive-based criteria are ``not
      applicable``: their entries have ``estimate: None`` and the reason in ``not_applicable``.

    Each comes with both intervals and theory's lower ``bound`` where one applies
    (:func:`jaxnn_nonconv.stats.theory.summary`; for a shallow net ``any_inactive_lower_bound`` bounds
    P(failure) when the target's best risk strictly decreases with every extra neuron,
    arXiv 2402.05155 Thm 4.2).

    Raises:
      ValueError: float64 parameters while 64-bit JAX is off.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64).validate()
    >>> out = failure_after_training(cfg, engine.run(cfg, 8, chunk_size=8))
    >>> sorted(out.criteria)
    ['constant_at_end', 'inactive_at_end', 'inactive_at_init', 'risk_gap']
    """
    cfg = cfg.validate()
    if levels is not None and len(levels) != cfg.arch[1] + 1:
        raise ValueError(f"levels must be R_0..R_H for width H = {cfg.arch[1]}, got {len(levels)}")
    if detector.not_applicable(cfg.activation):
        return not_applicable_failure(cfg, result["risk"], result["diverged"], tol, confidence)
    kw = dict(
        trials=result.get("trial"),
        chunk_size=chunk_size,
        mode=mode,
        grid=grid,
        n_probe=n_probe,
        max_points=max_points,
    )
    theta = nets.float_input(result["params"], "params")
    theta = np.nan_to_num(np.asarray(theta), nan=0.0, posinf=0.0, neginf=0.0)  # diverged trials
    end = counts_of_params(theta, cfg.arch, cfg.problem.box, **kw)
    init = counts_of_params(result["params0"], cfg.arch, cfg.problem.box, **kw)
    risk = np.asarray(result["risk"], np.float64)
    exact = result.get("risk_exact")
    if exact is None and exact_risk.supported(cfg.problem, cfg.activation):
        exact = exact_risk.risks_of_params(
            result["params"], cfg.arch, cfg.problem, activation=cfg.activation
        )[0]
    if exact is not None:
        exact = np.asarray(exact, np.float64)
        risk = np.where(np.isfinite(exact), exact, risk)
    flags = failure_flags(end, init, risk, result["diverged"], tol)
    level_tol_h = None
    if levels is not None and exact is not None:
        flags["not_global"] = not_global_flags(exact, result["diverged"], levels, level_tol)
        level_tol_h = float(risk_levels.tolerances(levels, level_tol)[-1])
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    out = failure_of_flags(flags, risk, result["diverged"], tol, th, confidence)
    return dataclasses.replace(
        out, risk_source="monte_carlo" if exact is None else "exact", level_tol=level_tol_h
    )


INACTIVE_CRITERIA = ("inactive_at_end", "constant_at_end", "inactive_at_init")


def not_applicable_failure(
    cfg: engine.TrainConfig,
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> FailureEstimate:
    """:class:`FailureEstimate` of a net whose activation has no inactive neurons (leaky ReLU,
    softplus): ``risk_gap`` only; the inactive-based criteria have ``estimate: None`` and the
    reason in ``not_applicable`` (never a ReLU verdict for a non-ReLU net)."""
    reason = detector.not_applicable(cfg.activation)
    m = len(risk)
    flags = {"risk_gap": failure_flags(None, None, risk, diverged, tol)["risk_gap"]}
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    out = failure_of_flags(flags, risk, diverged, tol, th, confidence)
    na = ProbabilityEstimate(None, None, None, None, None, m, confidence)
    na = na.with_extra(not_applicable=reason)
    return dataclasses.replace(
        out, criteria={**out.criteria, **dict.fromkeys(INACTIVE_CRITERIA, na)}
    )


def not_global_flags(
    exact: np.ndarray, diverged: np.ndarray, levels: Sequence[float], level_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(certain, possible)`` flags of ``not_global``: diverged, or exact risk above ``R_H`` plus
    its tolerance (:func:`jaxnn_nonconv.estimation.levels.classify`); a trial whose exact risk overflowed
    (NaN) is only possibly failed."""
    exact, diverged = np.asarray(exact, np.float64), np.asarray(diverged, bool)
    reached = risk_levels.classify(exact, levels, level_tol)["reached_global"]
    unsure = ~np.isfinite(exact) & ~diverged
    certain = (diverged | ~reached) & ~unsure
    return certain, certain | unsure


# ---------------------------------------------------------------------------------------------
# Printing


def _row(table, label: tuple[str, str], entry, theory_value, relation: str) -> None:
    flip = complement_shown(entry)
    table.add_row(
        label[1] if flip else label[0],
        format_probability(entry, complement=flip),
        format_bound(theory_value, relation, complement=flip),
    )


def print_summary(summary: InitSummary | Mapping[str, Any], console: Any = None) -> None:
    """Rich table of :func:`estimate_at_init`'s summary: measured (Clopper-Pearson interval) next
    to theory's closed form or bound (``docs/theory.md``). A probability above 1/2 is shown as its
    complement (``P(no inactive neuron) 6.2e-06``), so that it can be read."""
    from rich.console import Console
    from rich.table import Table

    s = summary.to_dict() if hasattr(summary, "to_dict") else summary
    c = s["config"]
    box = ",".join(f"{a:g}:{b:g}" for a, b in c["problem"]["box"])
    zb = ", zero bias" if c["zero_bias"] else ""
    stop = s.get("precision", {}).get("stopped")
    t = Table(
        title=f"{s['trials']} initializations of {c['arch']}, {c['init']}{zb}, box {box}",
        caption=f"{s['confidence']:.0%} Clopper-Pearson intervals; a probability above 1/2 is "
        f"shown through its complement; detector {s['detector']['mode']}; {s['wall_s']:.2f} s"
        + (f"; {stop}" if stop else ""),
    )
    t.add_column("quantity")
    t.add_column("measured (interval)", justify="right")
    t.add_column("theory", justify="right")
    first = s["first_layer_neuron_inactive"]
    _row(t, EVENTS["first_layer_neuron_inactive"], first, first["theory"], "= ")
    for layer in s["inactive_fraction_per_layer"][1:]:
        k = layer["layer"]
        label = (f"P(layer {k} neuron inactive)", f"P(layer {k} neuron not inactive)")
        _row(t, label, layer, layer["sign_dead"]["theory"], ">= ")
    anyi = s["any_inactive"]
    shallow = len(s["inactive_fraction_per_layer"]) == 1  # then the bound is exact
    _row(t, EVENTS["any_inactive"], anyi, anyi["bound"], "= " if shallow else ">= ")
    const = s["constant_network"]
    _row(t, EVENTS["constant_network"], const, const["lower_bound"], ">= ")
    t.add_row("fraction of neurons unknown", format_value(s["unknown_fraction"]), "")
    (console or Console()).print(t)
