"""Per-neuron results of ``check``: certified bounds, float-verified witnesses, stably active neurons.

For one network on one box (in the network's input units and dtype):

* **bounds**: sound lower and upper bounds of every hidden pre-activation over the box, for the
  float network: backward linear bounds (:func:`jaxnn_nonconv.detector.crown_bounds`) on each
  cell of a grid of sub-boxes (about :data:`CELLS` cells; a zero-width coordinate is not split),
  the minimum of the lower and the maximum of the upper bounds over the cells. Neighbouring cells
  share their float edge and the outer edges are the box's, so the cells cover the box.
* **witnesses**: a point of the box where the float network's pre-activation is ``> 0``. The
  search (Jentzen & Riekert, arXiv 2402.05155, define inactivity on the box; a witness refutes it)
  evaluates the float network at the given points (probe points, data), a fixed uniform sample
  whose size adapts to the input dimension (:func:`sample_size`: more points when there are few
  inputs) and the corner that maximizes each neuron's linear upper bound on its worst cell; then,
  for every neuron not yet positive, a projected sign-gradient ascent (:data:`ASCENT_STEPS`
  steps, shrinking) starts from its best point. A witness is kept only where the float network,
  evaluated again at that point, is ``> 0``: it is an ``active`` certificate whatever the search.
* **always active**: a neuron whose certified lower bound is ``> 0``: positive on the whole box
  (a stable ReLU in the verification literature, e.g. Tjeng et al., arXiv 1711.07356).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets

CELLS = 256  # sub-boxes of the bounds grid (about)
ASCENT_STEPS = 48
MAX_ASCENT_NEURONS = 4096  # above this, no local ascent (one (N, d) point set per neuron)
CHUNK = 8192  # points per forward pass


class NeuronInfo(NamedTuple):
    """Per hidden neuron, all layers concatenated (``N`` neurons), NumPy.

    Attributes:
      lower, upper: ``(N,)`` certified bounds of the pre-activation over the box.
      value: ``(N,)`` the float network's largest pre-activation found at a point of the box.
      point: ``(N, d)`` that point (a witness where ``value > 0``).
    """

    lower: np.ndarray
    upper: np.ndarray
    value: np.ndarray
    point: np.ndarray


def sample_size(d: int) -> int:
    """Points of the fixed uniform sample of the witness search: ``2^16`` for ``d <= 8`` (few inputs:
    a dense sample is cheap and finds neurons alive on a small part of the box), ``2^12`` else.

    >>> sample_size(5), sample_size(784)
    (65536, 4096)
    """
    return 2**16 if d <= 8 else 2**12


def grid_edges(lo: np.ndarray, hi: np.ndarray, cells: int = CELLS) -> list[np.ndarray]:
    """Per coordinate the cell edges (in ``lo``'s dtype): ``g`` equal parts of each coordinate of
    nonzero width with ``g^{d'} <= cells`` (``d'`` such coordinates), one part for a zero-width one.

    >>> [e.tolist() for e in grid_edges(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 4)]
    [[0.0, 0.25, 0.5, 0.75, 1.0], [1.0, 1.0]]
    """
    wide = hi > lo
    g = detector.default_grid(max(1, int(wide.sum())), cells)
    out = []
    for a, b, w in zip(lo, hi, wide, strict=True):
        n = g if w else 1
        e = np.linspace(np.float64(a), np.float64(b), n + 1).astype(lo.dtype)
        e[0], e[-1] = a, b  # the outer edges are the box's exactly
        out.append(np.maximum.accumulate(e))
    return out


def grid_boxes(lo: np.ndarray, hi: np.ndarray, cells: int = CELLS):
    """``(cells_lo, cells_hi)``, each ``(C, d)``: the grid of :func:`grid_edges`.

    >>> clo, chi = grid_boxes(np.zeros(3), np.array([1.0, 0.0, 0.0]), 2)
    >>> clo.tolist(), chi.tolist()
    ([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]], [[0.5, 0.0, 0.0], [1.0, 0.0, 0.0]])
    """
    edges = grid_edges(lo, hi, cells)
    split = [j for j, e in enumerate(edges) if len(e) > 2]  # at most log2(cells) coordinates
    if not split:
        return lo[None, :].copy(), hi[None, :].copy()
    idx = np.indices([len(edges[j]) - 1 for j in split]).reshape(len(split), -1)
    clo = np.broadcast_to(lo, (idx.shape[1], lo.shape[0])).copy()
    chi = np.broadcast_to(hi, (idx.shape[1], hi.shape[0])).copy()
    for j, i in zip(split, idx, strict=True):
        clo[:, j], chi[:, j] = edges[j][i], edges[j][i + 1]
    return clo, chi


def _flat(zs) -> jax.Array:
    return jnp.concatenate(list(zs), axis=-1)


@functools.partial(jax.jit, static_argnames=("batch",))
def _bounds(params, clo, chi, batch: int = 16):
    """Min lower / max upper over the cells, and each neuron's corner on its worst cell."""

    def one(cell):
        b = detector.crown_bounds(params, cell[0], cell[1])
        return _flat(b.lower), _flat(b.upper), jnp.concatenate(b.corner, axis=0)

    lower, upper, corner = jax.lax.map(one, (clo, chi), batch_size=batch)
    upper = jnp.where(jnp.isnan(upper), jnp.inf, upper)
    lower = jnp.where(jnp.isnan(lower), -jnp.inf, lower)
    worst = jnp.argmax(upper, axis=0)
    pick = corner[worst, jnp.arange(corner.shape[1])]
    return jnp.min(lower, axis=0), jnp.max(upper, axis=0), pick


@jax.jit
def _best(params, points, value, point):
    """Update each neuron's best value and point with a chunk of points."""
    z = _flat(nets.hidden_preactivations(params, points))  # (P, N)
    i = jnp.argmax(z, axis=0)
    v = z[i, jnp.arange(z.shape[1])]
    better = v > value
    return jnp.where(better, v, value), jnp.where(better[:, None], points[i], point)


@functools.partial(jax.jit, static_argnames=("steps",))
def _ascend(params, lo, hi, x0, steps: int = ASCENT_STEPS):
    """Per neuron ``j``, projected sign-gradient ascent of its pre-activation from ``x0[j]``."""
    n = x0.shape[0]
    width = hi - lo

    def objective(x):
        z = _flat(nets.hidden_preactivations(params, x))  # (N, N)
        return z[jnp.arange(n), jnp.arange(n)]

    def step(t, carry):
        x, best_v, best_x = carry
        g = jax.grad(lambda y: jnp.sum(objective(y)))(x)
        size = (0.25 * (0.85**t)).astype(x.dtype)
        x = jnp.clip(x + size * width[None, :] * jnp.sign(g), lo[None, :], hi[None, :])
        v = objective(x)
        better = v > best_v
        return x, jnp.where(better, v, best_v), jnp.where(better[:, None], x, best_x)

    v0 = objective(x0)
    _, v, x = jax.lax.fori_loop(0, steps, step, (x0, v0, x0))
    return v, x


def analyse(params, lo: np.ndarray, hi: np.ndarray, points: np.ndarray) -> NeuronInfo:
    """Bounds and witnesses of every hidden neuron (see the module docstring).

    Args:
      params: one network (JAX or NumPy pairs of the network's dtype).
      lo, hi: ``(d,)`` the box in the network's dtype (rounded outward by the caller).
      points: ``(P, d)`` extra points of the box (probe points, data) for the witness search.

    Returns:
      A :class:`NeuronInfo`; ``value`` and ``point`` come from float evaluations of the network.
    """
    with jax.default_matmul_precision("highest"):  # full-precision products on GPUs too
        return _analyse(params, lo, hi, points)


def _analyse(params, lo, hi, points) -> NeuronInfo:
    dt = np.dtype(lo.dtype)
    params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    clo, chi = grid_boxes(lo, hi)
    lower, upper, corner = _bounds(params, jnp.asarray(clo), jnp.asarray(chi))
    n = int(lower.shape[0])
    sample = detector.sample_points(lo, hi, sample_size(lo.shape[0]))
    cand = np.concatenate([np.asarray(points, np.float64), sample]).astype(dt)
    cand = np.clip(cand, lo[None, :], hi[None, :])
    value = jnp.full((n,), -jnp.inf, dt)
    point = jnp.broadcast_to(jnp.asarray(lo), (n, lo.shape[0]))
    for start in range(0, cand.shape[0], CHUNK):  # fixed chunk shape: one compilation
        chunk = cand[start : start + CHUNK]
        if chunk.shape[0] < CHUNK:
            chunk = np.concatenate(
                [chunk, np.broadcast_to(chunk[-1:], (CHUNK - len(chunk), len(lo)))]
            )
        value, point = _best(params, jnp.asarray(chunk), value, point)
    value, point = _best(params, jnp.clip(corner, lo[None, :], hi[None, :]), value, point)
    if n <= MAX_ASCENT_NEURONS:
        _, x = _ascend(params, jnp.asarray(lo), jnp.asarray(hi), point)
        # Keep an ascent point only where the float network, evaluated again there, is larger.
        z = _flat(nets.hidden_preactivations(params, x))[jnp.arange(n), jnp.arange(n)]
        better = z > value
        value, point = jnp.where(better, z, value), jnp.where(better[:, None], x, point)
    return NeuronInfo(*(np.asarray(a) for a in (lower, upper, value, point)))


def merge(status, info: NeuronInfo):
    """The detector's :class:`~jaxnn_nonconv.detector.Status` with the certificates of ``info``
    added, and per hidden layer the :class:`~jaxnn_nonconv.models._check.LayerCheck` fields
    ``lower``, ``upper``, ``witness``, ``always_active``.

    Inactive: the detector's, or a certified upper bound ``<= 0``. Active: the detector's, or a
    float-verified witness. Both are sound, so they never meet; the reported upper bound of an
    inactive neuron is at most 0 (its certificate).
    """
    widths = [m.shape[0] for m in status.inactive]
    cuts = np.cumsum(widths)[:-1]
    ina = np.concatenate(status.inactive) | (info.upper <= 0)
    witnessed = info.value > 0
    act = (np.concatenate(status.active) | witnessed) & ~ina
    upper = np.where(ina, np.minimum(info.upper, 0), info.upper)
    always = info.lower > 0
    status = status._replace(inactive=tuple(np.split(ina, cuts)), active=tuple(np.split(act, cuts)))
    per = []
    for k, sl in enumerate(np.split(np.arange(ina.size), cuts)):
        per.append(
            {
                "lower": tuple(info.lower[sl].tolist()),
                "upper": tuple(upper[sl].tolist()),
                "witness": tuple(
                    tuple(info.point[j].tolist()) if witnessed[j] and act[j] else None for j in sl
                ),
                "always_active": tuple(np.flatnonzero(always[sl]).tolist()),
            }
        )
        del k
    return status, per


def constant_on(params, points: np.ndarray) -> bool:
    """Whether the float network's output is one value on every point (e.g. a hidden layer that
    fires on none of them): the data-set symptom of a dead network.

    >>> p = ((np.array([[1.0]]), np.array([-5.0])), (np.ones((1, 1)), np.zeros(1)))
    >>> constant_on(p, np.array([[0.0], [1.0]])), constant_on(p, np.array([[0.0], [9.0]]))
    (True, False)
    """
    params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    dt = params[0][0].dtype
    first, same = None, True
    for start in range(0, points.shape[0], CHUNK):
        x = jnp.asarray(points[start : start + CHUNK], dt)
        h = jax.nn.relu(nets.hidden_preactivations(params, x)[-1])
        y = np.asarray(h @ params[-1][0].T + params[-1][1][None, :])
        first = y[0] if first is None else first
        same = same and bool(np.all(y == first[None, :]))
    return same


def complete(params, lo, hi, status, info: NeuronInfo, time_limit: float) -> NeuronInfo:
    """``info`` with the neurons that :mod:`~jaxnn_nonconv.models._milp` decides: upper bound 0 for
    those proved inactive, the witness for those found active (float-verified). Nets with more
    than :data:`~jaxnn_nonconv.models._milp.MAX_NEURONS` hidden neurons are returned as they are.
    """
    from jaxnn_nonconv.models import _milp as milp

    widths = [m.shape[0] for m in status.inactive]
    if sum(widths) > milp.MAX_NEURONS:
        return info
    cuts = np.cumsum(widths)[:-1]
    ina = np.concatenate(status.inactive) | (info.upper <= 0)
    act = np.concatenate(status.active) | (info.value > 0)
    undecided = np.split(~ina & ~act, cuts)
    if not any(u.any() for u in undecided[1:]):
        return info
    pj = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    dt = pj[0][0].dtype

    def forward(x):
        with jax.default_matmul_precision("highest"):
            zs = nets.hidden_preactivations(pj, jnp.asarray(x, dt))
        return [np.asarray(z) for z in zs]

    np_params = [(np.asarray(w), np.asarray(b)) for w, b in params]
    lower, upper = np.split(info.lower, cuts), np.split(info.upper, cuts)
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    dead, found = milp.complete(
        np_params, lo64, hi64, lower, upper, undecided, time_limit=time_limit, forward=forward
    )
    new_upper, value, point = info.upper.copy(), info.value.copy(), info.point.copy()
    offsets = np.concatenate([[0], np.cumsum(widths)])
    for k in range(len(widths)):
        idx = offsets[k] + np.flatnonzero(dead[k])
        new_upper[idx] = np.minimum(new_upper[idx], 0.0)
        for j, x in found[k].items():
            z = forward(x[None, :])[k][0, j]
            value[offsets[k] + j], point[offsets[k] + j] = z, np.asarray(x, dt)
    return info._replace(upper=new_upper, value=value, point=point)
