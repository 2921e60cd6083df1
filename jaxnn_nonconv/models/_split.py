"""Adaptive input-splitting branch and bound for the neurons ``check`` leaves undecided.

Runs after the per-neuron stage (:mod:`jaxnn_nonconv.models._neurons`) of one network on one box,
for the neurons that are neither certified inactive nor witnessed active, on a budget of bounded
sub-boxes (``check --bab-boxes N``: a count, not seconds, so that the certificates of one network on
one box are the same on every machine). Unlike the detector's branch and bound (a fixed pool of 32
sub-boxes, :mod:`jaxnn_nonconv.detector`), the pool of sub-boxes ("leaves") here grows as needed
(up to :data:`MAX_LEAVES`) and lives on the host; only the bounding is batched in JAX, with fixed
shapes (one compilation per network shape).

Start: the grid of :func:`jaxnn_nonconv.models._neurons.grid_boxes`, each leaf bounded by backward
linear bounds (:func:`jaxnn_nonconv.detector.crown_bounds`, which recomputes every intermediate
bound on the leaf and accounts for float rounding). A round:

* scores each leaf by ``max_j u_j(leaf) / max_leaves u_j`` over the open neurons ``j`` with
  ``u_j > 0`` there (each open neuron's worst leaf scores 1, so every open neuron gets its share)
  and splits the :data:`BATCH` best leaves in half across the side of largest ``|g_i| w_i``
  (``g`` the float network's gradient of the leaf's worst open neuron at the leaf's center,
  ``w`` the side widths; a zero-width side is never split; on ACAS Xu this closed about five
  times more neurons in the same time than halving the relatively widest side, and more than
  trying every side and keeping the best split);
* bounds the children; a child's upper bound is the minimum of its own and its parent's (both
  sound, the child lies in the parent);
* evaluates the float network at the children's centers and, per open neuron, at the corner
  maximizing its linear upper bound on its worst child (candidate witnesses);
* closes neurons: ``active`` when the float network is ``> 0`` at one of those points (all in the
  box), ``inactive`` when its upper bound is ``<= 0`` on every leaf; drops the leaves on which
  every open neuron is ``<= 0``.

Soundness: the two halves of a split share the float midpoint, so the leaves, the dropped leaves
and the split ones always cover the box. A neuron leaves the open set only by a float witness or
by a bound ``<= 0`` on every leaf; a leaf is dropped only when every open neuron is ``<= 0`` on it,
so every leaf that ever held a certified neuron's positive bound is still in the pool. A bound
that overflowed to NaN counts as ``+inf``. Neither: the neuron stays undecided, reported with the
largest upper bound over the leaves (sound too).

Source: input splitting as in ReluVal (Wang et al., arXiv 1804.10829) and the branch and bound of
Beta-CROWN (arXiv 2103.06624); CROWN bounds from arXiv 1811.00866.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.models import _neurons as neurons

DEFAULT_BOXES = 8192  # sub-boxes per network and box (ACAS Xu: ~300 per second on 2 loaded cores)
BATCH = 32  # leaves split per round (2 BATCH children bounded at once)
MAX_LEAVES = 200_000  # the pool stops growing here
MAX_DIM = 16  # more box sides of nonzero width: the stage is skipped (halving does not scale)


class SplitStats(NamedTuple):
    """What one :func:`refine` run did.

    Attributes:
      opened: neurons undecided when the stage started.
      inactive: of those, certified inactive here.
      active: of those, witnessed active here.
      rounds: split rounds run.
      leaves: leaves in the pool at the end.
      bounded: sub-boxes bounded (the budget's unit).
      seconds: wall time of the stage.
    """

    opened: int
    inactive: int
    active: int
    rounds: int
    leaves: int
    bounded: int
    seconds: float


@jax.jit
def _bound(params, clo, chi):
    """Upper bounds ``(C, N)`` of every hidden pre-activation on each leaf, and the corners
    ``(C, N, d)`` maximizing each neuron's linear upper bound."""

    def one(cell):
        b = detector.crown_bounds(params, cell[0], cell[1])
        return neurons._flat(b.upper), jnp.concatenate(b.corner, axis=0)

    upper, corner = jax.vmap(one)((clo, chi))
    return jnp.where(jnp.isnan(upper), jnp.inf, upper), corner


@jax.jit
def _evaluate(params, points):
    """Each neuron's largest float pre-activation over ``points`` and the point attaining it."""
    z = neurons._flat(nets.hidden_preactivations(params, points))
    i = jnp.argmax(z, axis=0)
    return z[i, jnp.arange(z.shape[1])], points[i]


@jax.jit
def _gradients(params, points, which):
    """Per point ``p``, the gradient of the float pre-activation of neuron ``which[p]``."""

    def one(x, j):
        return jax.grad(
            lambda y: neurons._flat(nets.hidden_preactivations(params, y[None, :]))[0, j]
        )(x)

    return jax.vmap(one)(points, which)


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    if a.shape[0] >= size:
        return a
    return np.concatenate([a, np.broadcast_to(a[-1:], (size - a.shape[0], *a.shape[1:]))])


def refine(
    params,
    lo: np.ndarray,
    hi: np.ndarray,
    status,
    info: neurons.NeuronInfo,
    boxes: int = DEFAULT_BOXES,
    *,
    batch: int = BATCH,
    max_leaves: int = MAX_LEAVES,
) -> tuple[neurons.NeuronInfo, SplitStats]:
    """Decide undecided neurons by input splitting (see the module docstring).

    Args:
      params: one ReLU network (JAX pairs of the network's dtype).
      lo, hi: ``(d,)`` the box in the network's dtype (rounded outward by the caller).
      status: the detector's :class:`~jaxnn_nonconv.detector.Status` (NumPy).
      info: the per-neuron stage's :class:`~jaxnn_nonconv.models._neurons.NeuronInfo`.
      boxes: sub-boxes to bound at most (the starting grid included; the last round may pass it
        by ``2 batch``); ``<= 0`` returns ``info`` unchanged,
        as does a box with more than :data:`MAX_DIM` sides of nonzero width (halving sides does
        not get far in many dimensions).
      batch: leaves split per round.
      max_leaves: the pool stops growing at this size (the run then ends).

    Returns:
      ``(info, stats)``: ``info`` with upper bound ``min(upper, largest leaf bound)`` for the
      neurons still open or certified here (``<= 0`` for the certified ones) and the value and
      point of the float witnesses found; ``stats`` a :class:`SplitStats`.

    Raises:
      ValueError: ``lo`` and ``hi`` of different shapes.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.2])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: 0.2 - |x|, > 0 near 0 only
    >>> lo, hi = np.array([0.3]), np.array([1.0])
    >>> st = detector.Status(inactive=(np.zeros(2, bool), np.zeros(1, bool)),
    ...     active=(np.ones(2, bool), np.zeros(1, bool)), sign_dead=(),
    ...     empirical_inactive=(), overflow=False)
    >>> info = neurons.NeuronInfo(np.zeros(3), np.ones(3), -np.ones(3), np.zeros((3, 1)))
    >>> new, stats = refine(params, lo, hi, st, info, 512)
    >>> bool(new.upper[2] <= 0), stats.inactive
    (True, 1)
    """
    t0 = time.perf_counter()
    lo, hi = np.asarray(lo), np.asarray(hi)
    if lo.shape != hi.shape:
        raise ValueError(f"lo and hi differ in shape: {lo.shape} vs {hi.shape}")
    ina = np.concatenate(status.inactive) | (info.upper <= 0)
    act = np.concatenate(status.active) | (info.value > 0)
    open_idx = np.flatnonzero(~ina & ~act)
    if boxes <= 0 or open_idx.size == 0 or int(np.sum(hi > lo)) > MAX_DIM:
        return info, SplitStats(int(open_idx.size), 0, 0, 0, 0, 0, time.perf_counter() - t0)
    with jax.default_matmul_precision("highest"):
        return _refine(params, lo, hi, info, open_idx, boxes, batch, max_leaves, t0)


def _refine(params, lo, hi, info, open_idx, boxes, batch, max_leaves, t0):
    dt = lo.dtype
    size = 2 * batch  # children bounded per call
    upper, value, point = info.upper.copy(), info.value.copy(), info.point.copy()
    wide = hi > lo
    opened = int(open_idx.size)
    n_ina = n_act = rounds = bounded = 0

    def witness(corner_rows, centers):
        nonlocal value, point
        pts = np.clip(np.concatenate([centers, corner_rows]).astype(dt), lo, hi)
        v, x = _evaluate(params, jnp.asarray(pts))
        v, x = np.asarray(v), np.asarray(x)
        better = v > value
        value, point = np.where(better, v, value), np.where(better[:, None], x, point)

    def bound(clo, chi):
        """Bounds of the open neurons on each leaf, in chunks of ``size`` (fixed shape)."""
        nonlocal bounded
        bounded += clo.shape[0]
        outs = []
        for s in range(0, clo.shape[0], size):
            a, b = clo[s : s + size], chi[s : s + size]
            u, c = _bound(params, jnp.asarray(_pad(a, size)), jnp.asarray(_pad(b, size)))
            u, c = np.asarray(u)[: a.shape[0]], np.asarray(c)[: a.shape[0]]
            worst = np.argmax(u, axis=0)  # per neuron, its worst leaf's maximizing corner
            witness(c[worst, np.arange(u.shape[1])], (a + b) / 2)
            outs.append(u)
        return np.concatenate(outs)

    leaf_lo, leaf_hi = neurons.grid_boxes(lo, hi)
    leaf_ub = bound(leaf_lo, leaf_hi)[:, open_idx]
    while True:
        # Close what is decided; drop the leaves where every open neuron is <= 0.
        worst = leaf_ub.max(axis=0) if leaf_ub.shape[0] else np.full(open_idx.size, -np.inf)
        is_act = value[open_idx] > 0
        is_ina = ~is_act & (worst <= 0)
        upper[open_idx] = np.minimum(upper[open_idx], worst)
        n_act, n_ina = n_act + int(is_act.sum()), n_ina + int(is_ina.sum())
        keep = ~is_act & ~is_ina
        open_idx, leaf_ub = open_idx[keep], leaf_ub[:, keep]
        hard = np.any(leaf_ub > 0, axis=1)
        leaf_lo, leaf_hi, leaf_ub = leaf_lo[hard], leaf_hi[hard], leaf_ub[hard]
        elapsed = time.perf_counter() - t0
        if open_idx.size == 0 or bounded >= boxes or leaf_ub.shape[0] + batch > max_leaves:
            break
        # Split the best-scored leaves.
        scale = np.maximum(leaf_ub.max(axis=0), np.finfo(dt).tiny)
        rel = np.where(leaf_ub > 0, leaf_ub / scale[None, :], -np.inf)
        score = rel.max(axis=1)
        k = min(batch, leaf_ub.shape[0])
        pick = np.argpartition(-score, k - 1)[:k]
        p_lo, p_hi, p_ub = leaf_lo[pick], leaf_hi[pick], leaf_ub[pick]
        which = open_idx[np.argmax(rel[pick], axis=1)]
        centers = (p_lo + p_hi) / 2
        g = np.asarray(
            _gradients(params, jnp.asarray(_pad(centers, batch)), jnp.asarray(_pad(which, batch)))
        )[:k]
        width = p_hi - p_lo
        spread = np.abs(g) * width
        # Fall back to the relatively widest side when the gradient is flat (a dead point).
        rel_w = width / np.where(wide, hi - lo, 1.0)[None, :]
        spread = np.where(spread.max(axis=1, keepdims=True) > 0, spread, rel_w)
        spread = np.where((width > 0) & wide[None, :], spread, -1.0)
        dim = np.argmax(spread, axis=1)
        rows = np.arange(k)
        mid = np.clip((p_lo[rows, dim] + p_hi[rows, dim]) / 2, p_lo[rows, dim], p_hi[rows, dim])
        a_hi, b_lo = p_hi.copy(), p_lo.copy()
        a_hi[rows, dim], b_lo[rows, dim] = mid, mid
        c_lo, c_hi = np.concatenate([p_lo, b_lo]), np.concatenate([a_hi, p_hi])
        c_ub = np.minimum(bound(c_lo, c_hi)[:, open_idx], np.concatenate([p_ub, p_ub]))
        rest = np.ones(leaf_ub.shape[0], bool)
        rest[pick] = False
        leaf_lo = np.concatenate([leaf_lo[rest], c_lo])
        leaf_hi = np.concatenate([leaf_hi[rest], c_hi])
        leaf_ub = np.concatenate([leaf_ub[rest], c_ub])
        rounds += 1
    new = info._replace(upper=upper, value=value, point=point.astype(info.point.dtype))
    stats = SplitStats(opened, n_ina, n_act, rounds, int(leaf_ub.shape[0]), bounded, elapsed)
    return new, stats
