"""P(inactive neurons at initialization) from per-trial counts, with both intervals and theory.

* :func:`tally` reduces per-trial counts to the sums every estimate needs (a :class:`Tally`), so
  :func:`estimate_at_init` keeps memory flat in the number of trials: each chunk is reduced as it
  arrives and per-trial arrays are kept only when asked (``keep_counts=True``).
* :func:`summarize` turns a tally (or per-trial counts) into an :class:`InitSummary`: typed
  :class:`~jaxnn_nonconv.stats.ProbabilityEstimate` objects with both intervals and the
  predictions of :mod:`jaxnn_nonconv.stats.theory`; ``to_dict()`` is the JSON of
  ``jaxnn-nonconv estimate``; :func:`print_summary` is its table.

Interval conventions: see :mod:`jaxnn_nonconv.stats.results`. Per-layer neuron probabilities:
first-layer neurons of one net are independent (different rows), so their pooled count is
Binomial(M l_1, p). Deeper neurons of one net are dependent; their interval uses one neuron per
trial (neuron ``i mod l_k`` of trial ``i``), a Bernoulli sample of the same probability by
exchangeability, while the point estimate pools all neurons (docs/theory.md sec. 4; arXiv
2402.05155, 2410.10533, 2006.07075).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from jaxnn_nonconv import detector, engine, rare
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.estimation._counting import _iter_init_counts, default_chunk
from jaxnn_nonconv.estimation._frozen import first_layer_frozen_estimate
from jaxnn_nonconv.stats import (
    DEFAULT_CONFIDENCE,
    TEST_HEADER,
    Precision,
    ProbabilityEstimate,
    UntilPrecise,
    bracketed,
    consistency_notation,
    format_value,
    midpoint,
    notation,
    print_table,
    probability_cells,
    proportion,
    theory,
    to_json,
    undecided_note,
)


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


# The probabilities of an InitSummary, in table order: name -> (event, complementary event).
EVENTS = {
    "first_layer_neuron_inactive": (
        "P(first-layer neuron inactive)",
        "P(first-layer neuron active)",
    ),
    "any_inactive": ("P(some neuron inactive)", "P(no inactive neuron)"),
    "constant_network": ("P(network constant on the box)", "P(network not constant)"),
}
# clip nets only (estimation._frozen): dead or saturated on the whole box
FROZEN_EVENT = ("P(first-layer neuron frozen)", "P(first-layer neuron moving)")


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

    >>> from jaxnn_nonconv.core import problems
    >>> from jaxnn_nonconv.estimation import counts_at_init
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
            # point value: the midpoint of the pooled bracket (docs/api.md, JSON contracts)
            entry = dataclasses.replace(entry, estimate=midpoint(lo, hi), bracket=(lo, hi))
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
    settings: detector.DetectorSettings | None = None,
    progress: bool | None = None,
    precision: Precision | None = None,
    keep_counts: bool = False,
) -> InitSummary:
    """What ``jaxnn-nonconv estimate`` prints: :func:`summarize` of the initial nets of ``n_trials``
    trials, plus ``config``, ``seed``, ``chunk_size``, ``detector`` and ``wall_s``.

    Each chunk is reduced to a :class:`Tally` as it arrives: memory does not depend on
    ``n_trials`` beyond one chunk (per-trial arrays are kept only with ``keep_counts``).

    Args:
      cfg, seed, settings: as in :func:`counts_at_init`.
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
    settings = (settings or detector.DetectorSettings()).validate(cfg.arch[0])
    settings = detector.for_activation(settings, cfg.activation, cfg.arch)  # deep clip: ibp
    if precision is not None:
        precision.check_of(EVENTS, "estimate")
        n_trials = precision.max_trials
    chunk_size = default_chunk(n_trials) if chunk_size is None else chunk_size
    t0 = time.perf_counter()
    n_chunks = -(-n_trials // chunk_size)
    # Under jax.distributed each process tallies its share of the chunks (a precision target needs
    # the chunks in order, so there every process computes all of them).
    mine = distributed.my_chunks(range(n_chunks)) if precision is None else None
    chunks = _iter_init_counts(cfg, n_trials, seed, chunk_size, mine, settings)
    total, kept = None, []
    if precision is None:
        chunks = engine.progress_iter(chunks, len(mine), progress, "init chunks")
    run = UntilPrecise(
        chunks,
        precision,
        lambda: (
            summarize(cfg, total, confidence=confidence).probabilities[precision.of],
            total.trials,
        ),
        show=progress,
    )
    for c, part in run:
        total = tally(part) if total is None else total + tally(part)
        if keep_counts:
            kept.append((c, part))
    if precision is None:
        total = _pool_processes(total)
    wall = time.perf_counter() - t0
    meta = {
        "config": cfg.to_dict(),
        "seed": seed,
        "chunk_size": chunk_size,
        "detector": settings.to_dict(cfg.arch[0]),
    }
    if precision is not None:
        meta["precision"] = {**precision.to_dict(), "stopped": run.stopped}
    summary = summarize(cfg, total, confidence=confidence)
    if cfg.activation == "clip":  # frozen = dead or saturated (docs/theory.md sec. 3b)
        frozen = first_layer_frozen_estimate(
            cfg, total.trials, seed=seed, chunk_size=chunk_size, confidence=confidence
        )
        probs = dict(summary.probabilities)
        probs = {
            "first_layer_neuron_inactive": probs.pop("first_layer_neuron_inactive"),
            "first_layer_neuron_frozen": frozen,
            **probs,
        }
        summary = dataclasses.replace(summary, probabilities=probs)
    return dataclasses.replace(
        summary,
        meta=meta,
        wall_s=wall,
        counts=distributed.merge_chunks(kept) if keep_counts else None,
    )


def print_summary(summary: InitSummary | Mapping[str, Any], console: Any = None) -> None:
    """Rich table of :func:`estimate_at_init`'s summary, 80 columns wide: measured (value above
    its Clopper-Pearson interval) next to theory's closed form or bound (``docs/theory.md``) and an
    exact binomial test against it (:func:`jaxnn_nonconv.stats.theory_test`). A probability above
    1/2 is shown as its complement (``P(no inactive neuron) 6.2e-06``), so that it can be read.
    A deeper layer's test uses its interval's count (one sampled neuron per trial, independent
    across trials), not the pooled neurons of one net, which are not independent."""
    s = summary.to_dict() if hasattr(summary, "to_dict") else summary
    c = s["config"]
    box = ",".join(f"{a:g}:{b:g}" for a, b in c["problem"]["box"])
    zb = ", zero bias" if c["zero_bias"] else ""
    stop = s.get("precision", {}).get("stopped")
    alpha = 1 - s["confidence"]
    caption = "; ".join(
        [
            notation(s["confidence"]),
            consistency_notation(alpha),
            "a probability above 1/2 is shown through its complement",
            undecided_note(s["unknown_fraction"], s["detector"]["mode"]),
            f"{s['wall_s']:.2f} s",
            *([stop] if stop else []),
        ]
    )
    first = s["first_layer_neuron_inactive"]
    label = EVENTS["first_layer_neuron_inactive"]
    rows = [probability_cells(label, first, first["theory"], "= ", alpha=alpha)]
    if "first_layer_neuron_frozen" in s:  # clip: dead or saturated
        fr = s["first_layer_neuron_frozen"]
        rows.append(probability_cells(FROZEN_EVENT, fr, fr["theory"], "= ", alpha=alpha))
    for layer in s["inactive_fraction_per_layer"][1:]:
        k = layer["layer"]
        label = (f"P(layer {k} neuron inactive)", f"P(layer {k} neuron not inactive)")
        theory_q = layer["sign_dead"]["theory"]  # sign-dead implies inactive: a lower bound
        rows.append(probability_cells(label, layer, theory_q, ">= ", alpha=alpha))
    anyi = s["any_inactive"]
    shallow = len(s["inactive_fraction_per_layer"]) == 1  # then the bound is exact
    rel = "= " if shallow else ">= "
    rows.append(probability_cells(EVENTS["any_inactive"], anyi, anyi["bound"], rel, alpha=alpha))
    const = s["constant_network"]
    rows.append(
        probability_cells(
            EVENTS["constant_network"], const, const["lower_bound"], ">= ", alpha=alpha
        )
    )
    rows.append(("fraction of neurons undecided", format_value(s["unknown_fraction"]), "", ""))
    print_table(
        f"{s['trials']} initializations of {c['arch']}, {c['init']}{zb}, box {box}",
        caption,
        ("quantity", "measured", "theory", TEST_HEADER),
        rows,
        console,
    )
