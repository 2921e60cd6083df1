"""Exact maximum of the layer-2 pre-activations of a ``d = 2`` ReLU network, by vertex enumeration.

In the plane, every first-layer neuron ``j`` switches on the line ``w_j . x + c_j = 0``. On each
cell of the arrangement of these lines (cut by the box), every layer-2 pre-activation
``y_i(x) = sum_j V_ij relu(w_j . x + c_j) + b_i`` is affine, so its maximum over the box is
attained at a vertex of the arrangement: a box corner, a line/edge intersection or a line/line
intersection (at most ``4 + 4 l_1 + l_1 (l_1 - 1) / 2`` points). This is the exact analysis behind
the closed form ``(2^d0 + 1) / 4^(d0 + 1)`` of Brownlowe et al. (arXiv 2412.06829) for layer 2 of
``[2, 3, ...]`` nets on large boxes.

Soundness in floating point. Vertices are computed in the parameters' dtype with an error bound:
each coordinate is a quotient ``num / den`` of two short sums of products, whose rounding is at
most ``gamma`` times the sum of the absolute products; then the computed vertex is within ``delta``
(per coordinate) of the true one, and ``y_i`` moves by at most ``Lip_i delta`` with ``Lip_i = sum_j
|V_ij| |w_j|_1`` over the neurons ``j`` that can be on within ``delta``. Computed vertices within
``delta`` of the box are clipped into it (clipping never moves a point farther from an inside
point). Intersections of lines whose determinant is not distinguishable from 0 make the analysis
``unreliable`` (the caller then certifies nothing from it). The float network's own rounding at an
input ``x`` is bounded as in the IBP code by a function affine in ``|x|`` on each side of the
coordinate axes; the axes are added to the arrangement, so the bound plus ``y_i`` also peaks at a
vertex. A neuron is certified inactive only when the computed maximum plus all these margins is
``<= 0``, and active only when the float network is ``> 0`` at a clipped vertex (a point of the
box).

What generalizes: for ``d`` inputs the vertices are the intersections of ``d`` hyperplanes among
the ``l_1`` first-layer hyperplanes and the ``2 d`` box facets, ``O((l_1 + 2d)^d)`` points, each a
``d x d`` solve; for layers ``k >= 3`` the pieces are bounded by bent hyperplanes, and
:mod:`jaxnn_nonconv.detector` decides those neurons instead.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.detector import _linear_bounds as linear_bounds


class Layer2Max(NamedTuple):
    """Result of :func:`layer2_max` (one network, no trial axis).

    Attributes:
      value: ``(l_2,)`` the largest float layer-2 pre-activation at a vertex (a lower bound of the
        float network's maximum: the vertex is a point of the box).
      upper: ``(l_2,)`` sound upper bound of the float network's maximum over the box
        (``value`` plus all rounding margins; ``+inf`` when ``unreliable``).
      unreliable: ``()`` bool, two first-layer lines are numerically parallel.
      vertices: ``(V, 2)`` the clipped vertices (rows of invalid candidates repeat a corner).
    """

    value: jax.Array
    upper: jax.Array
    unreliable: jax.Array
    vertices: jax.Array


def _pairs(n: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), 2)), dtype=np.int32).reshape(-1, 2)


def vertices(w: jax.Array, c: jax.Array, lo: jax.Array, hi: jax.Array):
    """Candidate vertices of the arrangement of the lines ``w_j . x + c_j = 0`` in the box.

    Args:
      w: ``(n, 2)`` line normals; c: ``(n,)`` offsets.
      lo, hi: ``(2,)`` the box.

    Returns:
      ``(pts: (V, 2), delta: (V,), valid: (V,), unreliable: ())``: clipped candidate points, the
      per-coordinate error bound of each, which candidates are (within ``delta`` of) inside the
      box, and whether some line pair had an undecidable determinant.
    """
    dt = w.dtype
    eps = float(jnp.finfo(dt).eps)
    g2 = linear_bounds.rounding_gamma(2, dt)
    corners = jnp.stack(
        [jnp.stack([lo[0], lo[1]]), jnp.stack([lo[0], hi[1]]), jnp.stack([hi[0], lo[1]]), hi]
    )
    pts, deltas, valids = [corners], [jnp.zeros(4, dt)], [jnp.ones(4, bool)]
    # Line j meets edge x_a = e (a in {0, 1}) at x_o = -(c_j + w_ja e) / w_jo, o = 1 - a.
    for a in (0, 1):
        o = 1 - a
        for e in (lo[a], hi[a]):
            num = -(c + w[:, a] * e)
            num_err = g2 * (jnp.abs(c) + jnp.abs(w[:, a] * e))
            den = w[:, o]
            ok = jnp.abs(den) > 0
            safe = jnp.where(ok, den, 1.0)
            xo = num / safe
            delta = (num_err / jnp.abs(safe)) * (1 + 4 * eps) + 4 * eps * jnp.abs(xo)
            p = jnp.zeros((w.shape[0], 2), dt).at[:, a].set(e).at[:, o].set(xo)
            pts.append(p)
            deltas.append(jnp.where(ok, delta, 0.0))
            valids.append(ok & jnp.isfinite(xo))
    unreliable = jnp.zeros((), bool)
    pairs = _pairs(w.shape[0])
    if pairs.shape[0]:
        i, j = pairs[:, 0], pairs[:, 1]
        a1, b1, c1 = w[i, 0], w[i, 1], c[i]
        a2, b2, c2 = w[j, 0], w[j, 1], c[j]
        det = a1 * b2 - a2 * b1
        det_err = g2 * (jnp.abs(a1 * b2) + jnp.abs(a2 * b1))
        # a1 x + b1 y = -c1, a2 x + b2 y = -c2 (Cramer's rule).
        nx = b1 * c2 - b2 * c1
        ny = a2 * c1 - a1 * c2
        nx_err = g2 * (jnp.abs(b1 * c2) + jnp.abs(b2 * c1))
        ny_err = g2 * (jnp.abs(a2 * c1) + jnp.abs(a1 * c2))
        exact_zero = (det == 0) & (det_err == 0)  # exactly parallel: no vertex (or same line)
        ok = jnp.abs(det) > 2 * det_err
        unreliable = jnp.any(~ok & ~exact_zero)
        safe = jnp.where(ok, det, 1.0)
        x, y = nx / safe, ny / safe
        # |num'/det' - num/det| <= (|dnum| + |x'| |ddet|) / (|det'| - |ddet|), plus the division.
        den_low = jnp.abs(safe) - det_err
        dx = (nx_err + jnp.abs(x) * det_err) / den_low * (1 + 8 * eps) + 4 * eps * jnp.abs(x)
        dy = (ny_err + jnp.abs(y) * det_err) / den_low * (1 + 8 * eps) + 4 * eps * jnp.abs(y)
        pts.append(jnp.stack([x, y], axis=1))
        deltas.append(jnp.where(ok, jnp.maximum(dx, dy), 0.0))
        valids.append(ok & jnp.isfinite(x) & jnp.isfinite(y))
    pts = jnp.concatenate(pts)
    delta = jnp.concatenate(deltas)
    valid = jnp.concatenate(valids)
    inside = jnp.all((pts >= lo[None] - delta[:, None]) & (pts <= hi[None] + delta[:, None]), 1)
    valid = valid & inside
    pts = jnp.where(valid[:, None], jnp.clip(pts, lo[None], hi[None]), corners[:1])
    return pts, jnp.where(valid, delta, 0.0), valid, unreliable


def layer2_max(params: nets.Params, lo: jax.Array, hi: jax.Array) -> Layer2Max:
    """Maximum over the box ``[lo, hi]`` (``d = 2``) of every layer-2 pre-activation.

    Args:
      params: one network with input dimension 2 and at least 2 hidden layers.
      lo, hi: ``(2,)`` box bounds in the parameters' dtype.

    Returns:
      A :class:`Layer2Max`: ``value <= max <= upper`` for the float network's maximum.

    Raises:
      ValueError: if the input dimension is not 2 or there is no second hidden layer.

    Source: the vertex argument of Brownlowe et al., arXiv 2412.06829 (layer 2 is affine on the
    cells of the first-layer arrangement); the rounding margins are ours.

    >>> params = ((jnp.array([[1.0, 0.0], [-1.0, 0.0]]), jnp.zeros(2)),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: 0.5 - |x_1|
    >>> r = layer2_max(params, jnp.array([-1.0, -1.0]), jnp.array([1.0, 1.0]))
    >>> float(r.value[0]), bool(r.upper[0] < 0.5001), bool(r.unreliable)
    (0.5, True, False)
    """
    hidden = params[:-1]
    if hidden[0][0].shape[1] != 2 or len(hidden) < 2:
        raise ValueError("layer2_max needs input dimension 2 and at least two hidden layers")
    (w, c), (v, b) = hidden[0], hidden[1]
    dt = w.dtype
    lo, hi = lo.astype(dt), hi.astype(dt)
    # The coordinate axes join the arrangement: the rounding bound below is affine in |x| on
    # each of its cells, so its sum with y_i also peaks at a vertex.
    axes_w = jnp.concatenate([w, jnp.eye(2, dtype=dt)])
    axes_c = jnp.concatenate([c, jnp.zeros(2, dt)])
    pts, delta, valid, unreliable = vertices(axes_w, axes_c, lo, hi)
    z1, z = nets.hidden_preactivations(params[:2] + params[-1:], pts)  # float network, (V, l_2)
    value = jnp.max(jnp.where(valid[:, None], z, -jnp.inf), axis=0)
    # Float vs real near each vertex, twice (the evaluation above and the network anywhere).
    g1 = linear_bounds.rounding_gamma(3, dt)
    g2 = linear_bounds.rounding_gamma(w.shape[0] + 1, dt)
    reach = jnp.abs(pts) + delta[:, None]  # (V, 2)
    h_abs = reach @ jnp.abs(w).T + jnp.abs(c)[None, :]  # (V, l_1)
    err1 = g1 * h_abs
    err2 = err1 @ jnp.abs(v).T + g2 * ((h_abs + err1) @ jnp.abs(v).T + jnp.abs(b)[None, :])
    # Moving a vertex by delta (per coordinate) moves y_i by at most sum_j |V_ij| |w_j|_1 delta,
    # over the first-layer neurons j that can be on within delta of it.
    w1 = jnp.sum(jnp.abs(w), axis=1)  # (l_1,)
    near_on = z1 + w1[None, :] * delta[:, None] + 2 * err1 > 0  # (V, l_1)
    lip = (near_on * w1[None, :]) @ jnp.abs(v).T  # (V, l_2)
    margin = lip * delta[:, None] * (1 + 4 * g2) + 2.0 * err2 * (1 + 4 * g2)
    upper = jnp.max(jnp.where(valid[:, None], z + margin, -jnp.inf), axis=0)
    upper = jnp.where(unreliable, jnp.inf, upper)
    return Layer2Max(value, upper, unreliable, pts)
