"""Neurons inactive on every training point: the certificate of empirical risk minimization.

Under empirical risk minimization a hidden neuron whose pre-activation is ``<= 0`` on every
training point gets zero gradient from every minibatch: it is frozen (for a first-layer neuron,
for good), whatever happens on the rest of the input box (arXiv 2410.10533, the data-driven
setting). On a finite set of points this is decidable up to rounding: :func:`data_bounds` bounds,
at each point, every hidden pre-activation of the floating-point network evaluated in any order,
with the rounding bound of :func:`jaxnn_nonconv.core.rounding.rounding_gamma` (the interval
arithmetic of :func:`~jaxnn_nonconv.detector.ibp_upper` on one-point boxes). A neuron is

* ``inactive`` on the data when its upper bound is ``<= 0`` at every point,
* ``active`` when its lower bound is ``> 0`` at some point,
* ``unknown`` otherwise (never counted as either: estimates are bracketed).

The points must be given in the dtype the network is trained in (they are cast once, then exact).
In ``d = 1`` the first layer's pre-activation ``w x + b`` is monotone, so it is inactive on the
points exactly when it is inactive on ``[min x, max x]``, and the closed forms of
:mod:`jaxnn_nonconv.stats.theory` on that interval apply (a test).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import nets, rounding_gamma


class DataCounts(NamedTuple):
    """Per-net inactivity on the data (one net; batched: ``(M, ...)``).

    Attributes:
      inactive: ``(L,)`` int, neurons per hidden layer certified inactive on every point.
      unknown: ``(L,)`` int, neither certified inactive nor certified active.
      dead_layer: ``()`` bool, some hidden layer entirely inactive: the net is constant on the
        data.
      dead_layer_possible: ``()`` bool, some hidden layer has no certified active neuron.
    """

    inactive: jax.Array
    unknown: jax.Array
    dead_layer: jax.Array
    dead_layer_possible: jax.Array


def _point_bounds(params: nets.Params, x: jax.Array) -> list[tuple[jax.Array, jax.Array]]:
    """``(lower, upper)`` of every hidden pre-activation at the point ``x: (d,)``, valid for the
    float network evaluated in any order (the rounding of computing the bounds included)."""
    out = []
    low, up = x, x
    for w, b in params[:-1]:
        wp, wn = jnp.maximum(w, 0), jnp.minimum(w, 0)
        gamma = rounding_gamma(2 * w.shape[1] + 1, w.dtype)
        mag = jnp.sum(jnp.abs(w) * jnp.maximum(jnp.abs(low), jnp.abs(up))[None, :], 1) + abs(b)
        z_up = jnp.sum(wp * up[None, :] + wn * low[None, :], 1) + b + gamma * mag
        z_lo = jnp.sum(wp * low[None, :] + wn * up[None, :], 1) + b - gamma * mag
        out.append((z_lo, z_up))
        low, up = jax.nn.relu(z_lo), jax.nn.relu(z_up)
    return out


def data_bounds(
    params: nets.Params, x: jax.Array
) -> tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]]:
    """Per hidden layer ``(l_k,)``: the largest lower bound and the largest upper bound over the
    points ``x: (n, d)`` of each pre-activation (module docstring).

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, -2.0])), (jnp.ones((1, 2)), jnp.zeros(1)))
    >>> lo, up = data_bounds(params, jnp.array([[-1.0], [1.0]]))
    >>> [round(float(v), 4) for v in up[0]], bool(lo[0][0] > 0), bool(up[0][1] <= 0)
    ([1.0, -1.0], True, True)
    """
    per_point = jax.vmap(lambda p: _point_bounds(params, p))(x)
    return (
        tuple(jnp.max(lo, axis=0) for lo, _ in per_point),
        tuple(jnp.max(up, axis=0) for _, up in per_point),
    )


def classify_on_data(params: nets.Params, x: jax.Array) -> DataCounts:
    """:class:`DataCounts` of one network on the points ``x: (n, d)`` (in the net's dtype)."""
    lo, up = data_bounds(params, x)
    inactive = [u <= 0 for u in up]
    active = [v > 0 for v in lo]
    unknown = [~(i | a) for i, a in zip(inactive, active)]
    return DataCounts(
        inactive=jnp.stack([jnp.sum(i) for i in inactive]),
        unknown=jnp.stack([jnp.sum(u) for u in unknown]),
        dead_layer=jnp.any(jnp.stack([jnp.all(i) for i in inactive])),
        dead_layer_possible=jnp.any(jnp.stack([~jnp.any(a) for a in active])),
    )
