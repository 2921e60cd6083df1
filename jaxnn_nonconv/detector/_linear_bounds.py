"""Backward linear bounds (CROWN) of every hidden pre-activation over a box, sound in floats.

For one network and one box ``[lo, hi]`` this gives, per hidden layer ``k``, lower and upper
bounds of each pre-activation ``y_k = W_k h_{k-1} + b_k`` over the box, valid for the FLOAT
network that training evaluates (not only for exact arithmetic). It is the linear relaxation of
Zhang et al., "Efficient neural network robustness certification with general activation
functions" (CROWN, arXiv 1811.00866), written here because no maintained JAX library provides it.

Method, for a target layer ``k`` (rows ``+W_k`` for upper and ``-W_k`` for lower bounds): a row
``mu`` of coefficients on ``h_m = relu(y_m)`` is replaced, neuron by neuron, by a line
``nu_j y_j + tau_j >= mu_j relu(y_j)`` valid on the earlier bounds ``[l_j, u_j]``: the chord slope
``u/(u-l)`` for ``mu_j >= 0`` and slope 0 or 1 for ``mu_j < 0`` (CROWN's choice). Then
``nu . y_m = (nu W_m) h_{m-1} + nu . b_m`` moves the row one layer down. At the input,
``max_x mu_0 . x`` over the box is attained at a corner.

Soundness in floating point. Whatever float value the slope ``nu_j`` has, the intercept is computed
as ``tau_j = max_{y in {l, clip(0, l, u), u}} (mu_j relu(y) - nu_j y)``, the exact maximum of a
piecewise-linear function with its kink at 0, so every relaxation is valid. The float network's own
rounding is an additive error ``|e_m| <= gamma (|W_m| h_max + |b_m|)`` per layer (``h_max`` a sound
upper bound of ``h_{m-1}``), added with the coefficients' absolute values. The rounding of every
product and sum of the backward pass is covered by widening the result by ``3 gamma_total`` times
the sum of the absolute values of all terms (``gamma``: :func:`jaxnn_nonconv.core.rounding_gamma`,
``2 (n + 2) eps``, generous, as in the IBP code). Intermediate bounds are also intersected with
interval bounds and, when given, with prior bounds (those of a box containing this one, e.g. the
parent in input splitting): an intersection of sound bounds is sound.

:func:`crown_upper` reruns the backward pass for chosen neurons with each row's own lower slopes
(alpha-CROWN, Xu et al., arXiv 2011.13824): since the intercept is the exact maximum for any
slope and the rounding is covered the same way, the bound is sound for every slope, so the slopes
can be optimized freely.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import nets, rounding_gamma


class Bounds(NamedTuple):
    """Sound bounds of every hidden pre-activation over one box (one network, no trial axis).

    Attributes:
      lower, upper: per hidden layer ``k``, ``(l_k,)``: ``lower <= y_k(x) <= upper`` for every
        ``x`` in the box, for the float network.
      corner: per hidden layer, ``(l_k, d)``: the box corner maximizing the linear upper bound of
        each neuron (a good place to look for an ``active`` witness).
    """

    lower: tuple[jax.Array, ...]
    upper: tuple[jax.Array, ...]
    corner: tuple[jax.Array, ...]


def _relu_lines(mu: jax.Array, low: jax.Array, up: jax.Array, alpha: jax.Array | None = None):
    """Per row and neuron, a valid line ``nu y + tau >= mu relu(y)`` on ``[low, up]``.

    Args:
      mu: ``(r, n)`` coefficients on ``relu(y)``.
      low, up: ``(n,)`` sound bounds of ``y``.
      alpha: optional ``(r, n)`` lower slopes of the unstable neurons for the rows' ``mu < 0``
        entries (CROWN's 0 or 1 without); any value gives a valid line, since ``tau`` is the
        exact maximum whatever the slope.

    Returns:
      ``(nu, tau, mag)``, each ``(r, n)``: slope, intercept, and a bound on the magnitude of the
      terms of ``tau`` (for the rounding widening).
    """
    low, up = jnp.minimum(low, up), jnp.maximum(low, up)
    span = up - low
    chord = jnp.where(span > 0, jnp.maximum(up, 0) / jnp.where(span > 0, span, 1.0), 0.0)
    chord = jnp.clip(jnp.where(low >= 0, 1.0, jnp.where(up <= 0, 0.0, chord)), 0.0, 1.0)
    lower_slope = jnp.where(up > -low, 1.0, 0.0)  # CROWN's adaptive lower line
    lower_slope = jnp.where(low >= 0, 1.0, jnp.where(up <= 0, 0.0, lower_slope))
    if alpha is not None:
        lower_slope = jnp.where(low >= 0, 1.0, jnp.where(up <= 0, 0.0, alpha))
    nu = jnp.where(mu >= 0, mu * chord[None, :], mu * jnp.atleast_2d(lower_slope))
    # The max of mu relu(y) - nu y over [low, up] is at low, 0 or up (a kink at 0 only).
    pts = jnp.stack([low, jnp.clip(jnp.zeros_like(low), low, up), up])  # (3, n)
    vals = mu[None] * jax.nn.relu(pts)[:, None, :] - nu[None] * pts[:, None, :]  # (3, r, n)
    tau = jnp.max(vals, axis=0)
    big = jnp.maximum(jnp.abs(low), jnp.abs(up))[None, :]
    mag = (jnp.abs(mu) + jnp.abs(nu)) * big
    return nu, tau, mag


def _relax(rows, const, mag, low, up, w, b, noise, h_max, alpha=None):
    """One backward step: ``rows . relu(y_m) <= (nu W_m) h_{m-1} + const`` (see ``_backward``)."""
    nu, tau, tmag = _relu_lines(rows, low, up, alpha)
    const = const + jnp.sum(tau, axis=1) + nu @ b + jnp.abs(nu) @ noise
    # ``|nu| |W| h_max`` covers the rounding of ``nu @ w`` as seen by the later terms.
    mag = (
        mag
        + jnp.sum(tmag, axis=1)
        + jnp.abs(nu) @ (jnp.abs(b) + noise)
        + (jnp.abs(nu) @ jnp.abs(w)) @ h_max
    )
    return nu @ w, const, mag


def _at_input(rows, const, mag, lo, hi, gamma_total):
    """Maximum over the box of ``rows . x + const``, widened; and the maximizing corners."""
    corner = jnp.where(rows > 0, hi[None, :], lo[None, :])
    lin = jnp.maximum(rows * lo[None, :], rows * hi[None, :])
    const = const + jnp.sum(lin, axis=1)
    mag = mag + jnp.abs(rows) @ jnp.maximum(jnp.abs(lo), jnp.abs(hi))
    return const + 3.0 * gamma_total * mag, corner


def _backward(
    rows: jax.Array,
    const: jax.Array,
    mag: jax.Array,
    hidden: nets.Params,
    lows: list[jax.Array],
    ups: list[jax.Array],
    noise: list[jax.Array],
    lo: jax.Array,
    hi: jax.Array,
    gamma_total: float,
):
    """Upper bound of ``rows . h_{m} + const`` over the box, ``m = len(lows)`` (``h_0 = x``).

    Args:
      rows: ``(r, l_m)`` coefficients on the post-activations of layer ``m``.
      const, mag: ``(r,)`` constant so far and the magnitude of its terms.
      hidden: the first ``m`` layers' ``(W, b)``.
      lows, ups: sound bounds of the pre-activations of layers ``1..m``.
      noise: per layer ``1..m``, ``(l_j,)`` bound on the float network's rounding of ``y_j``.
      lo, hi: ``(d,)`` the box.
      gamma_total: rounding factor for the final widening.

    Returns:
      ``(bound: (r,), corner: (r, d))``: a sound upper bound and the maximizing box corner.
    """
    for m in range(len(lows) - 1, -1, -1):
        w, b = hidden[m]
        h_max = jax.nn.relu(ups[m - 1]) if m > 0 else jnp.maximum(jnp.abs(lo), jnp.abs(hi))
        rows, const, mag = _relax(rows, const, mag, lows[m], ups[m], w, b, noise[m], h_max)
    return _at_input(rows, const, mag, lo, hi, gamma_total)


def _interval(w, b, h_low, h_up, h_max, dt):
    """Interval bounds of ``y = W h + b`` and the float network's rounding bound ``e`` of it."""
    g = rounding_gamma(w.shape[1] + 1, dt)
    absmag = jnp.abs(w) @ h_max + jnp.abs(b)
    e = g * absmag
    wp, wn = jnp.maximum(w, 0), jnp.minimum(w, 0)
    i_up = wp @ h_up + wn @ h_low + b + e + 2 * g * absmag
    i_low = wp @ h_low + wn @ h_up + b - e - 2 * g * absmag
    return i_low, i_up, e


def _start_rows(w, b, e, h_max):
    rows = jnp.concatenate([w, -w])
    const = jnp.concatenate([b + e, -b + e])
    mag = jnp.concatenate([jnp.abs(b) + e, jnp.abs(b) + e]) + (jnp.abs(rows) @ h_max)
    return rows, const, mag


def _tighten(low, up, p_low, p_up):
    """``[low, up]`` intersected with the prior ``[p_low, p_up]`` (a NaN prior is ignored)."""
    return jnp.where(p_low > low, p_low, low), jnp.where(p_up < up, p_up, up)


def _deep_scan(hidden, lows, ups, noise, lo, hi, gamma_total, p_lows, p_ups):
    """Layers ``3..L`` of equal width ``n`` as one ``lax.scan`` (compile time independent of L).

    ``lows``, ``ups``, ``noise`` hold layers 1 and 2; ``p_lows``, ``p_ups`` the prior bounds of
    layers ``3..L``, stacked ``(L - 2, n)``; returns the bounds of layers ``3..L`` and their
    corners, stacked ``(L - 2, n)`` and ``(L - 2, n, d)``.
    """
    n = hidden[1][0].shape[0]
    n_layers = len(hidden)
    dt = lows[0].dtype
    ws = jnp.stack([w for w, _ in hidden[2:]])  # W_3..W_L: (L - 2, n, n)
    bs = jnp.stack([b for _, b in hidden[2:]])
    dlow = jnp.zeros((n_layers + 1, n), dt).at[2].set(lows[1])
    dup = jnp.zeros((n_layers + 1, n), dt).at[2].set(ups[1])
    dnoise = jnp.zeros((n_layers + 1, n), dt).at[2].set(noise[1])
    (w2, b2), (w1, b1) = hidden[1], hidden[0]
    big_x = jnp.maximum(jnp.abs(lo), jnp.abs(hi))

    def layer(carry, xs):
        dlow, dup, dnoise = carry
        k, w, b, p_low, p_up = xs
        h_up = jax.nn.relu(dup[k - 1])
        i_low, i_up, e = _interval(w, b, jax.nn.relu(dlow[k - 1]), h_up, h_up, dt)
        rows, const, mag = _start_rows(w, b, e, h_up)

        def down(i, c):
            m = k - 1 - i  # layers k-1 .. 3
            rows, const, mag = c
            return _relax(
                rows,
                const,
                mag,
                dlow[m],
                dup[m],
                ws[m - 3],
                bs[m - 3],
                dnoise[m],
                jax.nn.relu(dup[m - 1]),
            )

        rows, const, mag = jax.lax.fori_loop(0, k - 3, down, (rows, const, mag))
        rows, const, mag = _relax(
            rows, const, mag, dlow[2], dup[2], w2, b2, dnoise[2], jax.nn.relu(ups[0])
        )
        rows, const, mag = _relax(rows, const, mag, lows[0], ups[0], w1, b1, noise[0], big_x)
        bound, corner = _at_input(rows, const, mag, lo, hi, gamma_total)
        i_up = jnp.minimum(i_up, bound[:n])
        i_low = jnp.maximum(i_low, -bound[n:])
        i_low, i_up = _tighten(i_low, i_up, p_low, p_up)
        carry = (dlow.at[k].set(i_low), dup.at[k].set(i_up), dnoise.at[k].set(e))
        return carry, (i_low, i_up, corner[:n])

    ks = jnp.arange(3, n_layers + 1)
    _, out = jax.lax.scan(layer, (dlow, dup, dnoise), (ks, ws, bs, p_lows, p_ups))
    return out


def crown_bounds(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    prior: tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]] | None = None,
) -> Bounds:
    """Sound lower and upper bounds of every hidden pre-activation of one network over a box.

    Layer 1 gets its exact interval (the corner formula) widened by rounding; layer ``k >= 2``
    gets backward linear bounds through layers ``k-1, ..., 1`` (see the module docstring),
    intersected with interval bounds. Cost: ``O(L^2)`` matrix products for ``L`` hidden layers;
    hidden layers ``3..L`` of one width run as a ``lax.scan`` with an inner ``fori_loop``, so
    compile time does not grow with depth.

    With ``prior``, each layer's bounds are intersected with the prior ones before the later
    layers are relaxed on them, so every later bound is at least as tight. Sound when the prior
    bounds hold for the float network on a box containing ``[lo, hi]`` (e.g. the bounds of a
    parent box, as in input splitting); both then contain every float pre-activation on the box,
    so their intersection does too. A NaN or infinite prior bound changes nothing.

    Args:
      params: one network, ``((W_1, b_1), ..., (W_{L+1}, b_{L+1}))`` (the output layer is
        ignored).
      lo, hi: ``(d,)`` box bounds, ``lo <= hi``, of the parameters' dtype.
      prior: optional ``(lower, upper)``, per hidden layer ``(l_k,)`` arrays (the fields of a
        :class:`Bounds`), sound bounds of the pre-activations over a box containing
        ``[lo, hi]``.

    Returns:
      A :class:`Bounds`.

    Source: CROWN, Zhang et al., arXiv 1811.00866 (the relaxation); the rounding terms are ours.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2 is 0.5 - |x|, max 0.5 at x = 0
    >>> b = crown_bounds(params, jnp.array([0.0]), jnp.array([1.0]))
    >>> [round(float(v), 4) for v in (b.lower[1][0], b.upper[1][0])]
    [-0.5, 0.5]
    >>> parent = crown_bounds(params, jnp.array([-1.0]), jnp.array([1.0]))
    >>> b = crown_bounds(params, jnp.array([0.0]), jnp.array([0.25]),
    ...                  (parent.lower, parent.upper))  # [0, 0.25] lies in [-1, 1]
    >>> [round(float(v), 4) for v in (b.lower[1][0], b.upper[1][0])]
    [0.25, 0.5]
    """
    hidden = params[:-1]
    dt = hidden[0][0].dtype
    lo, hi = lo.astype(dt), hi.astype(dt)
    big_x = jnp.maximum(jnp.abs(lo), jnp.abs(hi))
    widths = [w.shape[0] for w, _ in hidden]
    gamma_total = rounding_gamma(sum(widths) + lo.shape[0] + 4 * len(hidden) + 4, dt)
    lows, ups, noise, corners = [], [], [], []
    h_low, h_up = lo, hi  # interval of the layer's inputs
    h_max = big_x
    # Hidden layers 3..L of one width run as a scan (compile time independent of depth).
    scan = len(hidden) >= 4 and len(set(widths[1:])) == 1
    if prior is None:
        p_lows = tuple(jnp.full(n, -jnp.inf, dt) for n in widths)
        p_ups = tuple(jnp.full(n, jnp.inf, dt) for n in widths)
    else:
        p_lows = tuple(jnp.asarray(v, dt) for v in prior[0])
        p_ups = tuple(jnp.asarray(v, dt) for v in prior[1])
    for k, (w, b) in enumerate(hidden[:2] if scan else hidden):
        i_low, i_up, e = _interval(w, b, h_low, h_up, h_max, dt)
        if k == 0:
            corner = jnp.where(w > 0, hi[None, :], lo[None, :])
        else:
            rows, const, mag = _start_rows(w, b, e, h_max)
            bound, corner2 = _backward(
                rows, const, mag, hidden[:k], lows, ups, noise, lo, hi, gamma_total
            )
            n = w.shape[0]
            i_up = jnp.minimum(i_up, bound[:n])
            i_low = jnp.maximum(i_low, -bound[n:])
            corner = corner2[:n]
        i_low, i_up = _tighten(i_low, i_up, p_lows[k], p_ups[k])
        lows.append(i_low)
        ups.append(i_up)
        noise.append(e)
        corners.append(corner)
        h_low, h_up = jax.nn.relu(i_low), jax.nn.relu(i_up)
        h_max = h_up
    if scan:
        s_low, s_up, s_corner = _deep_scan(
            hidden,
            lows,
            ups,
            noise,
            lo,
            hi,
            gamma_total,
            jnp.stack(p_lows[2:]),
            jnp.stack(p_ups[2:]),
        )
        lows.extend(s_low[i] for i in range(s_low.shape[0]))
        ups.extend(s_up[i] for i in range(s_up.shape[0]))
        corners.extend(s_corner[i] for i in range(s_corner.shape[0]))
    return Bounds(tuple(lows), tuple(ups), tuple(corners))


def adaptive_slopes(lower: tuple[jax.Array, ...], upper: tuple[jax.Array, ...]):
    """CROWN's lower slopes per hidden layer: 1 where ``u > -l``, else 0 (``(l_k,)`` each).

    The starting point of optimized slopes (:func:`crown_upper`); any slope is sound there.

    Args:
      lower, upper: per hidden layer, bounds of the pre-activations (fields of :class:`Bounds`).

    Returns:
      A tuple of ``(l_k,)`` arrays of 0.0 and 1.0.
    """
    return tuple(jnp.where(u > -lw, 1.0, 0.0).astype(u.dtype) for lw, u in zip(lower, upper))


def crown_upper(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    bounds: tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]],
    layer: jax.Array,
    index: jax.Array,
    slopes: tuple[jax.Array, ...] | None = None,
) -> jax.Array:
    """Sound upper bounds of chosen neurons over a box, given bounds of every neuron on it.

    Target ``r`` is neuron ``index[r]`` of hidden layer ``layer[r]`` (0-based). One backward pass
    from the last hidden layer down: a target's row enters at its layer as in
    :func:`crown_bounds` (``W`` row, bias, rounding), earlier it is zero, which adds nothing. The
    relaxation of each unstable ReLU below a target uses the row's own lower slope
    ``slopes[m][r]`` where given (alpha-CROWN's optimizable slopes, Xu et al., arXiv 2011.13824);
    any slope gives a valid line because the intercept is the exact maximum (see
    ``_relu_lines``), and the rounding is covered exactly as in :func:`crown_bounds`, so the
    result is sound for every ``slopes`` and is a differentiable function of them.

    Args:
      params: one network, ``((W_1, b_1), ..., (W_{L+1}, b_{L+1}))``.
      lo, hi: ``(d,)`` the box, of the parameters' dtype.
      bounds: ``(lower, upper)``, per hidden layer ``(l_k,)``: sound bounds of the
        pre-activations on the box (e.g. from :func:`crown_bounds`).
      layer, index: ``(r,)`` integer targets.
      slopes: optional, per hidden layer ``(r, l_k)`` lower slopes (CROWN's adaptive choice
        without; see :func:`adaptive_slopes`).

    Returns:
      ``(r,)`` upper bounds of the targets' pre-activations over the box (float network).

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))
    >>> lo, hi = jnp.array([-1.0]), jnp.array([1.0])
    >>> b = crown_bounds(params, lo, hi)
    >>> u = crown_upper(params, lo, hi, (b.lower, b.upper), jnp.array([1, 0]), jnp.array([0, 1]))
    >>> [round(float(v), 3) for v in u]  # 0.5 - |x| <= 0.5 (plus rounding); x <= 1
    [0.5, 1.0]
    """
    hidden = params[:-1]
    dt = hidden[0][0].dtype
    lo, hi = lo.astype(dt), hi.astype(dt)
    lower, upper = bounds
    big_x = jnp.maximum(jnp.abs(lo), jnp.abs(hi))
    widths = [w.shape[0] for w, _ in hidden]
    gamma_total = rounding_gamma(sum(widths) + lo.shape[0] + 4 * len(hidden) + 4, dt)
    h_maxs = [big_x] + [jax.nn.relu(u) for u in upper[:-1]]
    noise = [_interval(w, b, h, h, h, dt)[2] for (w, b), h in zip(hidden, h_maxs)]
    r = layer.shape[0]
    rows = jnp.zeros((r, widths[-1]), dt)
    const = jnp.zeros(r, dt)
    mag = jnp.zeros(r, dt)
    for m in range(len(hidden) - 1, -1, -1):
        w, b = hidden[m]
        j = jnp.clip(index, 0, w.shape[0] - 1)
        start, c0, m0 = _start_rows(w[j], b[j], noise[m][j], h_maxs[m])
        enter = layer == m
        rows = jnp.where(enter[:, None], rows + start[:r], rows)
        const = jnp.where(enter, const + c0[:r], const)
        mag = jnp.where(enter, mag + m0[:r], mag)
        if m > 0:
            alpha = None if slopes is None else slopes[m - 1]
            rows, const, mag = _relax(
                rows,
                const,
                mag,
                lower[m - 1],
                upper[m - 1],
                *hidden[m - 1],
                noise[m - 1],
                h_maxs[m - 1],
                alpha,
            )
    return _at_input(rows, const, mag, lo, hi, gamma_total)[0]
