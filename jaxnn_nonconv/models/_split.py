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
bound on the leaf and accounts for float rounding) from the per-neuron stage's certified bounds as
prior bounds. Every leaf keeps the lower and upper bounds of all its neurons. A round:

* scores each leaf by ``max_j u_j(leaf) / max_leaves u_j`` over the open neurons ``j`` with
  ``u_j > 0`` there (each open neuron's worst leaf scores 1, so every open neuron gets its share)
  and splits the :data:`BATCH` best leaves in half across the side of largest ``|g_i| w_i``
  (``g`` the float network's gradient of the leaf's worst open neuron at the leaf's center,
  ``w`` the side widths; a zero-width side is never split; on ACAS Xu this closed about five
  times more neurons in the same time than halving the relatively widest side, and more than
  trying every side and keeping the best split);
* bounds the children from their parent's bounds: each layer's bounds are intersected with the
  parent's before the later layers are relaxed on them (``crown_bounds(..., prior)``; both are
  sound, the child lies in the parent), so the tightening compounds down the layers and the
  generations (on ACAS Xu at 8192 sub-boxes a small gain, see docs/your-model.md);
* optionally (``alpha_steps > 0``, off by default) tightens the open neurons' upper bounds on each
  child by a few projected sign-gradient steps on their own lower slopes
  (:func:`jaxnn_nonconv.detector.crown_upper`, alpha-CROWN, Xu et al., arXiv 2011.13824; every
  slope is sound, the smallest bound seen is kept): on ACAS Xu net 2_2, property 1, 2048
  sub-boxes, 6 steps closed 19 instead of 14 of 82 open neurons but took 11 times as long on
  the CPU, where the same time spent on more sub-boxes closes more;
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

import functools
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
ALPHA_STEPS = 0  # steps of optimized lower slopes per sub-box (off: ~11x the time, see below)
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


def _per_layer(params, lower, upper):
    """Flat ``(N,)`` bounds of every hidden neuron as per-layer tuples (the inverse of
    ``neurons._flat``), as :func:`jaxnn_nonconv.detector.crown_bounds` takes them."""
    cuts = np.cumsum([w.shape[0] for w, _ in params[:-2]])
    return tuple(jnp.split(lower, cuts)), tuple(jnp.split(upper, cuts))


@jax.jit
def _bound(params, clo, chi, plow, pup):
    """Lower and upper bounds ``(C, N)`` of every hidden pre-activation on each leaf, given sound
    prior bounds ``plow, pup: (C, N)`` on a box containing it (the parent's), and the corners
    ``(C, N, d)`` maximizing each neuron's linear upper bound."""

    def one(cell):
        b = detector.crown_bounds(params, cell[0], cell[1], _per_layer(params, cell[2], cell[3]))
        return neurons._flat(b.lower), neurons._flat(b.upper), jnp.concatenate(b.corner, axis=0)

    lower, upper, corner = jax.vmap(one)((clo, chi, plow, pup))
    nan = jnp.isnan(lower) | jnp.isnan(upper)
    return jnp.where(nan, -jnp.inf, lower), jnp.where(nan, jnp.inf, upper), corner


@functools.partial(jax.jit, static_argnames=("steps",))
def _alpha_bound(params, clo, chi, plow, pup, layer, index, steps: int):
    """Upper bounds ``(C, r)`` of the target neurons ``(layer, index)`` on each leaf with
    optimized lower slopes (alpha-CROWN), given sound bounds ``plow, pup: (C, N)`` of every
    neuron on the leaf: ``steps`` projected sign-gradient steps on the slopes from CROWN's choice,
    the smallest bound seen kept (every one is sound, see
    :func:`jaxnn_nonconv.detector.crown_upper`); NaN counts as ``+inf``."""
    r = layer.shape[0]

    def one(a, b, lw, u):
        bounds = _per_layer(params, lw, u)
        start = detector.adaptive_slopes(*bounds)
        slopes = tuple(jnp.broadcast_to(v, (r, v.shape[0])) for v in start)

        def f(sl):
            return detector.crown_upper(params, a, b, bounds, layer, index, sl)

        def step(i, carry):
            sl, best = carry
            v, pull = jax.vjp(f, sl)
            best = jnp.minimum(best, jnp.where(jnp.isnan(v), jnp.inf, v))
            (g,) = pull(jnp.where(jnp.isfinite(v), 1.0, 0.0).astype(v.dtype))
            rate = 0.5 * 0.6 ** i.astype(v.dtype)
            sl = tuple(
                jnp.clip(s - rate * jnp.sign(jnp.where(jnp.isfinite(gi), gi, 0.0)), 0.0, 1.0)
                for s, gi in zip(sl, g, strict=True)
            )
            return sl, best

        best = jnp.full(r, jnp.inf, u.dtype)
        sl, best = jax.lax.fori_loop(0, steps, step, (slopes, best))
        v = f(sl)
        return jnp.minimum(best, jnp.where(jnp.isnan(v), jnp.inf, v))

    return jax.vmap(one)(clo, chi, plow, pup)


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
    alpha_steps: int = ALPHA_STEPS,
    inherit: bool = True,
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
      alpha_steps: optimization steps of the open neurons' lower slopes on each sub-box (0: CROWN's
        slopes only).
      inherit: bound each sub-box from its parent's bounds of every neuron (``False``: each
        sub-box from nothing, kept for comparison; unlike the code before inheritance, a child's
        bound is then not capped by its parent's).

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
    >>> inf = np.full(3, np.inf)
    >>> info = neurons.NeuronInfo(-inf, inf, -np.ones(3), np.zeros((3, 1)))
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
        run = (boxes, batch, max_leaves, alpha_steps, inherit)
        return _refine(params, lo, hi, info, open_idx, run, t0)


def _refine(params, lo, hi, info, open_idx, run, t0):
    boxes, batch, max_leaves, alpha_steps, inherit = run
    dt = lo.dtype
    size = 2 * batch  # children bounded per call
    upper, value, point = info.upper.copy(), info.value.copy(), info.point.copy()
    wide = hi > lo
    offsets = np.concatenate([[0], np.cumsum([w.shape[0] for w, _ in params[:-1]])])
    opened = int(open_idx.size)
    n_ina = n_act = rounds = bounded = 0

    def witness(corner_rows, centers):
        nonlocal value, point
        pts = np.clip(np.concatenate([centers, corner_rows]).astype(dt), lo, hi)
        v, x = _evaluate(params, jnp.asarray(pts))
        v, x = np.asarray(v), np.asarray(x)
        better = v > value
        value, point = np.where(better, v, value), np.where(better[:, None], x, point)

    def bound(clo, chi, plow, pup):
        """Bounds of every neuron on each leaf given the prior ones, in chunks of ``size``
        (fixed shape)."""
        nonlocal bounded
        bounded += clo.shape[0]
        if not inherit:
            plow, pup = np.full(plow.shape, -np.inf, dt), np.full(pup.shape, np.inf, dt)
        if alpha_steps > 0:  # the targets: the open neurons, padded to a power of two
            rows = _pad(open_idx, max(16, 1 << int(open_idx.size - 1).bit_length()))
            k = np.searchsorted(offsets, rows, side="right") - 1
        lows, ups = [], []
        for s in range(0, clo.shape[0], size):
            a, b = clo[s : s + size], chi[s : s + size]
            args = [_pad(v[s : s + size], size) for v in (clo, chi, plow, pup)]
            lw, u, c = _bound(params, *(jnp.asarray(v) for v in args))
            n = a.shape[0]
            if alpha_steps > 0:
                ua = _alpha_bound(
                    params,
                    *(jnp.asarray(v) for v in (*args[:2], lw, u, k, rows - offsets[k])),
                    alpha_steps,
                )
                u = u.at[:, open_idx].min(ua[:, : open_idx.size])
            lw, u, c = np.asarray(lw)[:n], np.asarray(u)[:n], np.asarray(c)[:n]
            worst = np.argmax(u, axis=0)  # per neuron, its worst leaf's maximizing corner
            witness(c[worst, np.arange(u.shape[1])], (a + b) / 2)
            lows.append(lw)
            ups.append(u)
        return np.concatenate(lows), np.concatenate(ups)

    leaf_lo, leaf_hi = neurons.grid_boxes(lo, hi)
    # Every leaf keeps all its bounds: its children start from them (prior bounds).
    root = [np.broadcast_to(v, (leaf_lo.shape[0], v.size)) for v in (info.lower, info.upper)]
    leaf_l, leaf_u = bound(leaf_lo, leaf_hi, *root)
    while True:
        # Close what is decided; drop the leaves where every open neuron is <= 0.
        leaf_ub = leaf_u[:, open_idx]  # the open neurons' upper bounds on each leaf
        worst = leaf_ub.max(axis=0) if leaf_ub.shape[0] else np.full(open_idx.size, -np.inf)
        is_act = value[open_idx] > 0
        is_ina = ~is_act & (worst <= 0)
        upper[open_idx] = np.minimum(upper[open_idx], worst)
        n_act, n_ina = n_act + int(is_act.sum()), n_ina + int(is_ina.sum())
        keep = ~is_act & ~is_ina
        open_idx, leaf_ub = open_idx[keep], leaf_ub[:, keep]
        hard = np.any(leaf_ub > 0, axis=1)
        leaf_lo, leaf_hi, leaf_ub = leaf_lo[hard], leaf_hi[hard], leaf_ub[hard]
        leaf_l, leaf_u = leaf_l[hard], leaf_u[hard]
        elapsed = time.perf_counter() - t0
        if open_idx.size == 0 or bounded >= boxes or leaf_ub.shape[0] + batch > max_leaves:
            break
        # Split the best-scored leaves.
        scale = np.maximum(leaf_ub.max(axis=0), np.finfo(dt).tiny)
        rel = np.where(leaf_ub > 0, leaf_ub / scale[None, :], -np.inf)
        score = rel.max(axis=1)
        k = min(batch, leaf_ub.shape[0])
        pick = np.argpartition(-score, k - 1)[:k]
        p_lo, p_hi = leaf_lo[pick], leaf_hi[pick]
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
        p_l, p_u = leaf_l[pick], leaf_u[pick]
        c_l, c_u = bound(c_lo, c_hi, np.concatenate([p_l, p_l]), np.concatenate([p_u, p_u]))
        rest = np.ones(leaf_ub.shape[0], bool)
        rest[pick] = False
        leaf_lo = np.concatenate([leaf_lo[rest], c_lo])
        leaf_hi = np.concatenate([leaf_hi[rest], c_hi])
        leaf_l = np.concatenate([leaf_l[rest], c_l])
        leaf_u = np.concatenate([leaf_u[rest], c_u])
        rounds += 1
    new = info._replace(upper=upper, value=value, point=point.astype(info.point.dtype))
    stats = SplitStats(opened, n_ina, n_act, rounds, int(leaf_u.shape[0]), bounded, elapsed)
    return new, stats
