"""Interval bound propagation (IBP) over a grid of sub-boxes, sign-dead rows, and probe samples.

* :func:`ibp_upper`: a sound upper bound of every hidden pre-activation over the box, from
  interval arithmetic on each of ``grid**d`` cells (:func:`grid_cells`), rounded outward.
* :func:`sign_dead`: neurons whose incoming weights and bias are all ``<= 0`` (deeper layers):
  inactive whatever the earlier layers, and forever (docs/theory.md sec. 3).
* :func:`probe_points`, :func:`sample_points`: fixed points of the box where a positive float
  pre-activation certifies a neuron active.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.detector._first_layer import (
    rounding_gamma,
)

DEFAULT_CELLS = 256  # sub-boxes of the IBP grid when ``grid`` is not given


DEFAULT_PROBES = 64  # size of the fixed random sample (a training batch's worth)


PROBE_SEED = 20240607  # the probe sample is fixed: a trial's status never depends on the run


def sign_dead(params: nets.Params) -> tuple[jax.Array, ...]:
    """Per hidden layer, ``(l_k,)`` bool: all incoming weights and the bias ``<= 0``.

    Defined for layers ``k >= 2`` (their inputs are ``>= 0``); layer 1 sees the raw input, which
    may be negative, and is always ``False`` here (its exact test is :func:`first_layer_inactive`).

    >>> params = ((jnp.ones((2, 1)), jnp.zeros(2)),
    ...           (jnp.array([[-1.0, 0.0], [1.0, -1.0]]), jnp.array([0.0, -1.0])),
    ...           (jnp.ones((1, 2)), jnp.zeros(1)))
    >>> [m.tolist() for m in sign_dead(params)]
    [[False, False], [True, False]]
    """
    hidden = params[:-1]
    return (jnp.zeros(hidden[0][1].shape, bool), *(_sign_dead_rows(w, b) for w, b in hidden[1:]))


def dead_inputs_closure(params: nets.Params, inactive) -> tuple[jax.Array, ...]:
    """``inactive`` widened by the exact sign argument on the live inputs, layer by layer: a neuron
    of layer ``k >= 2`` whose bias is ``<= 0`` and whose weights are ``<= 0`` on every input that
    is not certified inactive is inactive.

    Exact in floating point, whatever the order of the sums: an inactive input outputs exactly 0
    (``relu`` of a value ``<= 0``), so every product is ``<= 0`` or exactly 0, and a float sum of
    such terms and the bias is ``<= 0``. This decides exact zeros that no bound can: e.g. a
    zero-bias layer-2 neuron that is exactly 0 on the part of the box where every first-layer
    neuron is off (its maximum, 0, is attained on a whole region, and any rounding margin would
    leave it undecided). ``sign_dead`` is the case of no inactive input.

    Args:
      params: one network.
      inactive: per hidden layer, ``(l_k,)`` bool certificates (sound).

    Returns:
      The widened certificates, same shapes.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
    ...           (jnp.array([[-1.0, 2.0]]), jnp.zeros(1)),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # on [0, 1]: neuron 2 of layer 1 is off
    >>> out = dead_inputs_closure(params, (jnp.array([False, True]), jnp.array([False])))
    >>> out[1].tolist()
    [True]
    """
    out = [inactive[0]]
    for (w, b), ins in zip(params[1:-1], inactive[1:], strict=True):
        live_nonpos = jnp.all((w <= 0) | out[-1][None, :], axis=1) & (b <= 0)
        out.append(ins | live_nonpos)
    return tuple(out)


def _sign_dead_rows(w: jax.Array, b: jax.Array) -> jax.Array:
    """Neurons (last axis of ``b``) whose incoming weights and bias are all ``<= 0``; ``w`` and
    ``b`` may carry leading axes (a run of layers)."""
    return jnp.all(w <= 0, axis=-1) & (b <= 0)


def ibp_affine(
    w: jax.Array, b: jax.Array, low: jax.Array, up: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Sound ``(lower, upper)`` of the float ``w x + b`` over ``x`` in ``[low, up]``, each ``(l,)``:
    interval arithmetic widened by the dot product's worst-case rounding (``rounding_gamma``)."""
    wp, wn = jnp.maximum(w, 0), jnp.minimum(w, 0)
    up_terms = wp * up[None, :] + wn * low[None, :]
    lo_terms = wp * low[None, :] + wn * up[None, :]
    gamma = rounding_gamma(2 * w.shape[1] + 1, w.dtype)
    err_up = gamma * (jnp.sum(jnp.abs(wp * up[None, :]) + jnp.abs(wn * low[None, :]), 1) + abs(b))
    err_lo = gamma * (jnp.sum(jnp.abs(wp * low[None, :]) + jnp.abs(wn * up[None, :]), 1) + abs(b))
    z_up = jnp.sum(up_terms, axis=1) + b + err_up
    z_lo = jnp.sum(lo_terms, axis=1) + b - err_lo
    return z_lo, z_up


def _ibp_cell(params: nets.Params, lo: jax.Array, hi: jax.Array) -> list[jax.Array]:
    """Sound upper bounds of every hidden pre-activation over one box; list of ``(l_k,)``."""
    ups = []
    low, up = lo, hi
    for w, b in params[:-1]:
        z_lo, z_up = ibp_affine(w, b, low, up)
        ups.append(z_up)
        low, up = jax.nn.relu(z_lo), jax.nn.relu(z_up)
    return ups


def grid_cells(lo: jax.Array, hi: jax.Array, grid: int) -> tuple[jax.Array, jax.Array]:
    """The ``grid^d`` sub-boxes of the box: ``(cells_lo, cells_hi)``, each ``(grid^d, d)``.

    Neighbouring cells share their float boundary and the outer boundary is exactly ``lo, hi``,
    so the cells cover the box.

    >>> clo, chi = grid_cells(jnp.array([0.0, 0.0]), jnp.array([1.0, 2.0]), 2)
    >>> clo.tolist(), chi[-1].tolist()
    ([[0.0, 0.0], [0.0, 1.0], [0.5, 0.0], [0.5, 1.0]], [1.0, 2.0])
    """
    d = lo.shape[0]
    if grid == 1:  # the box itself (np.indices below supports at most 64 dimensions)
        return lo[None, :], hi[None, :]
    t = jnp.arange(grid + 1, dtype=lo.dtype) / grid  # (G+1,)
    edges = lo[:, None] + (hi - lo)[:, None] * t[None, :]  # (d, G+1)
    edges = edges.at[:, 0].set(lo).at[:, grid].set(hi)
    idx = np.indices((grid,) * d).reshape(d, -1)  # (d, G^d)
    dims = np.arange(d)[:, None]
    return edges[dims, idx].T, edges[dims, idx + 1].T


def ibp_upper(
    params: nets.Params, lo: jax.Array, hi: jax.Array, grid: int = 1
) -> tuple[jax.Array, ...]:
    """Sound upper bounds of every hidden pre-activation over the box, refined on a grid.

    Args:
      params: one network.
      lo, hi: ``(d,)`` box bounds.
      grid: sub-boxes per coordinate (``grid^d`` in all).

    Returns:
      Per hidden layer, ``(l_k,)``: max over sub-boxes of the interval bound (plus float rounding).

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: 0.5 - |x| on [-1, 1], max 0.5
    >>> [round(float(u[0]), 4) for u in ibp_upper(params, jnp.array([-1.0]), jnp.array([1.0]), 4)]
    [1.0, 0.5]
    """
    clo, chi = grid_cells(lo, hi, grid)
    per_cell = jax.vmap(lambda a, b: _ibp_cell(params, a, b))(clo, chi)
    return tuple(jnp.max(u, axis=0) for u in per_cell)


def probe_points(lo: np.ndarray, hi: np.ndarray, grid: int = 4) -> np.ndarray:
    """Structured probe points of the box: its corners (``d <= 10``) and grid-cell centers.

    Args:
      lo, hi: ``(d,)`` box bounds.
      grid: centers of a ``grid^d`` grid are included while ``grid^d <= 4096``.

    Returns:
      ``(P, d)`` float64 array.

    >>> probe_points(np.array([0.0]), np.array([1.0]), grid=2).ravel().tolist()
    [0.0, 1.0, 0.25, 0.75]
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    d = lo.shape[0]
    parts = [np.zeros((0, d))]
    if d <= 10:
        bits = np.indices((2,) * d).reshape(d, -1).T
        parts.append(np.where(bits == 1, hi[None, :], lo[None, :]))
    if grid > 0 and grid**d <= 4096:
        centers = (np.indices((grid,) * d).reshape(d, -1).T + 0.5) / grid
        parts.append(lo[None, :] + (hi - lo)[None, :] * centers)
    return np.concatenate(parts)


def sample_points(lo: np.ndarray, hi: np.ndarray, n: int = DEFAULT_PROBES) -> np.ndarray:
    """A fixed uniform sample of the box (from :data:`PROBE_SEED`), like one training batch.

    >>> x = sample_points(np.zeros(2), np.ones(2), 5)
    >>> x.shape, bool(np.all((x >= 0) & (x <= 1)))
    ((5, 2), True)
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    return np.random.default_rng(PROBE_SEED).uniform(lo, hi, size=(n, lo.shape[0]))


def default_grid(d: int, cells: int = DEFAULT_CELLS) -> int:
    """Largest ``G`` with ``G^d <= cells`` (at least 1).

    >>> default_grid(1), default_grid(2), default_grid(3), default_grid(9)
    (256, 16, 6, 1)
    """
    g = max(1, math.floor(cells ** (1.0 / d) + 1e-9))
    while (g + 1) ** d <= cells:
        g += 1
    return g
