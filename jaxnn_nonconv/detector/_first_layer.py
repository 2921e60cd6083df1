"""The first hidden layer on the input box: its exact maximum and sound inactive/active tests.

The first layer is affine in the input, so its maximum over the box ``[a, b]`` is
``c + sum_j max(a_j w_j, b_j w_j)``, attained at a corner (docs/theory.md sec. 3). The float
network computes ``w.x + c`` with rounding (a fused multiply-add on some backends, products then
sums on others), so the certificates account for it: in ``d = 1`` the sign of the real maximum is
decided exactly (an error-free product), in ``d > 1`` with a rounding margin. Re-exported by
:mod:`jaxnn_nonconv.detector`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import nets, rounding_gamma


def first_layer_max(params: nets.Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """Maximum over the box of each first-layer pre-activation: ``c + sum_j max(a_j w_j, b_j w_j)``.

    Args:
      params: one network.
      lo, hi: ``(d,)`` box bounds.

    Returns:
      ``(l_1,)``.

    >>> params = ((jnp.array([[1.0], [-2.0]]), jnp.array([-1.5, 1.0])),
    ...           (jnp.ones((1, 2)), jnp.zeros(1)))
    >>> first_layer_max(params, jnp.array([0.0]), jnp.array([1.0]))
    Array([-0.5,  1. ], dtype=float32)
    """
    w, c = params[0]
    return c + jnp.sum(jnp.maximum(w * lo[None, :], w * hi[None, :]), axis=1)


def _first_layer_bound(params: nets.Params, lo: jax.Array, hi: jax.Array, side: float):
    """``c + sum_j m_j`` with ``m_j = max(a_j w_j, b_j w_j)``, moved by ``side`` times a bound on
    the float network's rounding (``side = 1``: upper bound, ``-1``: lower bound at the corner).

    The float network computes ``w.x + c`` with rounding (a fused multiply-add on some backends,
    products then sums on others), within ``g (sum_j |w_j x_j| + |c|)`` of the real value; as
    ``t + g |t|`` increases with ``t``, its max over the box is at the same corner as ``w.x``.
    ``g`` is twice the rounding bound, so the rounding of this bound itself is covered too.
    """
    w, c = params[0]
    m = jnp.maximum(w * lo[None, :], w * hi[None, :])
    g = side * rounding_gamma(w.shape[1] + 1, w.dtype)
    return (c + g * jnp.abs(c)) + jnp.sum(m + g * jnp.abs(m), axis=1)


def _product_error(a: jax.Array, b: jax.Array, p: jax.Array) -> jax.Array:
    """``a b - p`` exactly, for ``p = fl(a b)`` (Dekker's two-product, no overflow/underflow).

    The halves come from ``lax.reduce_precision``, so every partial product is exact, also when
    the compiler fuses a product and a sum into one multiply-add.
    """
    info = jnp.finfo(a.dtype)
    half = (info.nmant + 1) // 2 - 1  # stored mantissa bits of the high half

    def split(v):
        v_hi = jax.lax.reduce_precision(v, exponent_bits=info.nexp, mantissa_bits=half)
        return v_hi, v - v_hi

    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    return ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _first_layer_sign_1d(params: nets.Params, lo: jax.Array, hi: jax.Array):
    """``d = 1``: ``(s, e)``, ``s = fl(fl(w x*) + c)`` at the maximizing end ``x*`` and the exact
    rounding error ``e = w x* - fl(w x*)`` of its product.

    ``s < 0`` iff the real max is ``< 0``, ``s > 0`` iff it is ``> 0`` (rounding is monotone and
    ``-c`` is a float); ``s = 0`` means ``fl(w x*) = -c`` and the real max is ``e``. Every float
    evaluation of ``w x + c`` (with or without a fused multiply-add) is then ``<= 0`` on the box
    iff the real max is ``<= 0``, and ``> 0`` at ``x*`` when ``s > 0``.
    """
    w, c = params[0][0][:, 0], params[0][1]
    x = jnp.where(w > 0, hi[0], lo[0])
    p = w * x
    return p + c, _product_error(w, x, p)


def first_layer_inactive(params: nets.Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """First-layer test: ``(l_1,)`` bool, the float network is ``<= 0`` at every input of the box.

    ``d = 1``: exactly, the real max :func:`first_layer_max` is ``<= 0`` (decided without
    rounding error, :func:`_first_layer_sign_1d`). ``d > 1``: the max plus the float network's
    worst rounding is ``<= 0`` (a float sum of several products may round either way; an exact
    0, e.g. a zero bias with weights ``<= 0`` on ``[0, 1]^d``, stays 0).

    >>> params = nets.init_params(jax.random.key(0), (2, 5, 1), zero_bias=True)
    >>> dead = first_layer_inactive(params, jnp.zeros(2), jnp.ones(2))
    >>> bool(jnp.all(dead == jnp.all(params[0][0] <= 0, axis=1)))  # zero bias on [0,1]^2
    True
    """
    if params[0][0].shape[1] == 1:
        s, e = _first_layer_sign_1d(params, lo, hi)
        return (s < 0) | ((s == 0) & (e <= 0))
    return _first_layer_bound(params, lo, hi, 1.0) <= 0


def first_layer_active(params: nets.Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """First-layer active certificate: ``(l_1,)`` bool, the float network is ``> 0`` at the
    maximizing corner (``d = 1``: the real max is ``> 0`` with ``fl(fl(w x*) + c) > 0``; ``d > 1``:
    the max minus the worst rounding is ``> 0``). Neurons at a float tie are neither active nor
    inactive (unknown): ``d = 1``, ``fl(w x*) = -c`` while ``w x* > -c``, where a fused
    multiply-add gives ``> 0`` and separate operations give 0; ``d > 1``, within rounding of 0.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([-1.0, 0.0])),
    ...           (jnp.ones((1, 2)), jnp.zeros(1)))  # x - 1 (max 0, exactly) and -x on [0, 1]
    >>> lo, hi = jnp.array([0.0]), jnp.array([1.0])
    >>> first_layer_active(params, lo, hi).tolist(), first_layer_inactive(params, lo, hi).tolist()
    ([False, False], [True, True])
    """
    if params[0][0].shape[1] == 1:
        return _first_layer_sign_1d(params, lo, hi)[0] > 0
    return _first_layer_bound(params, lo, hi, -1.0) > 0
