"""Exact, float-sound inactive-neuron analysis of ``d = 1`` ReLU networks (the detector's exact mode).

For ``d = 1`` a ReLU network is piecewise linear in ``x``: every hidden pre-activation of layer
``k`` is linear between consecutive *breakpoints* of layers ``< k`` (inputs where an earlier neuron
changes sign), so its maximum over ``[a, b]`` is its maximum over ``a``, ``b`` and those
breakpoints. :func:`analyze` walks the layers once, keeping a sorted point array ``pts`` and every
current pre-activation at the points; each layer adds the zero crossings of the previous one
(linear interpolation inside a cell) and gets its own values by one matrix product at the points.

**Soundness in floating point.** Breakpoints and interpolated values carry rounding errors, so a
certificate built on the point values alone can be wrong (e.g. a narrow bump on a wide box whose
computed breakpoint lands one float32 spacing off its peak). :func:`analyze` therefore also carries,
per cell ``[p_m, p_{m+1}]`` and neuron, error bounds ``e_l, e_r`` at its two ends such that *both*
the real-arithmetic network and the float network evaluated at any float ``x`` of the cell lie
within the linear interpolation of ``e_l, e_r`` of the chord through the computed end values (a
linear bound keeps an exact 0, e.g. at ``x = 0`` of a zero-bias net, exact). Propagation, with
``g = 2 (2 n_in + 3) eps_mach`` a generous bound of the relative rounding error of a dot product of
``n_in`` terms plus a bias:

* layer 1: ``e = 2 g (|w| |p| + |c|)`` at each end ``p`` (the real function is linear, the
  rounding bound convex), at every point, its zeros ``-c / w`` included, computed directly (not
  interpolated): a zero bias gives the point ``x = 0`` with value and error exactly 0, so the
  exact zeros of a zero-bias net (every pre-activation at ``x = 0``) are decided, not ties;
* splitting a cell at an interpolated point adds the interpolation error ``8 eps_mach (|z_m| +
  |z_{m+1}|)``; a misplaced breakpoint only makes the next term larger, never wrong;
* ReLU: ``relu`` is 1-Lipschitz, and where the chord changes sign inside the cell ``relu(chord)``
  is within ``min(|z_m|, |z_{m+1}|)`` of the chord of the ``relu`` values (added at both ends);
  where ``max(z_m + e_l, z_{m+1} + e_r) <= 0`` the output is exactly 0 on the cell (error 0);
* affine layer, at each end: ``e' = ((1 + g) e_post + 2 g h) |W|^T + 2 g |b|``.

A neuron is certified inactive only when ``max_m max(z_m + e_l, z_{m+1} + e_r) <= 0`` (``upper``),
which then holds for the real network and for the float network at every float input of the box.
Active certificates are float evaluations: the network is run forward at the final points (which
include every breakpoint) exactly as :func:`jaxnn_nonconv.core.nets.hidden_preactivations` computes it,
and a neuron is active when some value is ``> 0``. A neuron within rounding of 0 can be neither:
``unknown``. (Worst-case margins on the active side too, i.e. ``z - e > 0``, would make the
certificate independent of the order of the float sums, but the bounds grow like ``(sum |w|)^depth``
and left a quarter to a half of the neurons of width-6 to 10, depth-32 nets unknown.)

**Speed.** The point array has a static capacity ``cap``. :func:`capacity_ladder` gives the
capacities to try (small first); a trial whose breakpoints overflow is redone at the next capacity
by :func:`refine_overflow`, so the work follows the breakpoints a net really has. The layers come
as stacks of equal shape (:data:`jaxnn_nonconv.core.nets.LayerStacks`), one ``lax.scan`` per
stack, and every result stays stacked per stack: tracing and compile time do not grow with
depth. Products with a contraction of at most :data:`SMALL_WIDTH` are unrolled multiply-adds
and the crossings of a cell are sorted by a sorting network (in
:func:`jaxnn_nonconv.exact.pieces.refine`): XLA's CPU code for batched tiny dots
and sorts dispatches per trial and was the bulk of the time (measured in ``docs/detector.md``).

Source: the exact-1D mode of the detector described in ``docs/detector.md``; the phenomenon is
that of Lu et al. (arXiv 1903.06733) and Shin & Karniadakis (arXiv 1911.08525).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets, rounding_gamma
from jaxnn_nonconv.exact import _pieces as pieces

START_CAPACITY = 16  # first rung of the capacity ladder
LADDER_FACTOR = 4  # each rung multiplies the capacity by this
REFINE_SPLIT = 16  # refine_overflow's small calls are this many times smaller than its large ones
SMALL_WIDTH = 16  # contractions up to this width are unrolled multiply-adds (see _matmul_t)


class Analysis(NamedTuple):
    """Result of :func:`analyze_stacks` for one network.

    Each field but ``points`` holds one entry per *block* of hidden layers: the first hidden layer
    (a block of 1), then one block per stack of the remaining hidden layers (:data:`nets.LayerStacks`).
    :func:`analyze` gives the same fields with one entry per hidden layer ``k = 1..L`` instead.

    Attributes:
      maxes: ``(k, l)`` per block: max of the computed values at the points (the real max up to
        rounding).
      upper: ``(k, l)`` sound upper bound of the pre-activation on ``[a, b]`` for the real and the
        float network (``+inf`` after an overflow).
      overflow: ``(k,)`` bool, breakpoints were dropped for lack of capacity at or before this layer
        (then ``upper`` is ``+inf``).
      points: ``(cap,)`` the final sorted points (padded with ``b``).
    """

    maxes: tuple[jax.Array, ...]
    upper: tuple[jax.Array, ...]
    overflow: tuple[jax.Array, ...]
    points: jax.Array


def _gamma(n_in: int, dtype) -> float:
    """Generous relative rounding bound of a dot product of ``n_in`` terms plus a bias.

    ``2 (2 n_in + 3) eps``: the IBP code's bound (``jaxnn_nonconv/detector/_intervals.py``, sums
    of ``2 n_in + 1`` terms), more than twice Higham's ``gamma_{n_in + 1}``.
    """
    return rounding_gamma(2 * n_in + 1, dtype)


def _matmul_t(h: jax.Array, w: jax.Array) -> jax.Array:
    """``h @ w.T`` for ``h: (p, n_in)``, ``w: (n_out, n_in)``; unrolled for ``n_in <= SMALL_WIDTH``.

    Under ``vmap`` a tiny ``dot`` becomes a batched dot that XLA's CPU backend runs as one small
    product per trial; the unrolled form is elementwise and fuses. (Its rounding differs from a
    ``dot``'s in the last bits; the error bounds here hold for any order of summation.)
    """
    if w.shape[1] > SMALL_WIDTH:
        return h @ w.T
    acc = h[:, :1] * w[None, :, 0]
    for i in range(1, w.shape[1]):
        acc = acc + h[:, i : i + 1] * w[None, :, i]
    return acc


def scan_stacks(step: Callable, carry, stacks: nets.LayerStacks) -> tuple:
    """Apply ``step(carry, (w, b)) -> (carry, out)`` to every layer of ``stacks``, one
    ``lax.scan`` per stack. Returns ``(carry, outs)``: per stack, ``out`` stacked along a leading layer
    axis."""
    outs = []
    for stack in stacks:
        if stack[0].shape[0] == 1:
            carry, out = step(carry, jax.tree.map(lambda v: v[0], stack))
            outs.append(jax.tree.map(lambda v: v[None], out))
        else:
            carry, out = jax.lax.scan(step, carry, stack)
            outs.append(out)
    return carry, outs


def point_bound(widths: Sequence[int], max_points: int) -> int:
    """Static capacity needed at most: ``a``, ``b`` and one crossing per neuron per cell.

    >>> point_bound((3, 3, 3), 1024)  # 2 -> 5 -> 17 points before the last layer
    17
    """
    bound = 2
    for width in widths[:-1]:
        bound += (bound - 1) * width
        if bound >= max_points:
            break
    return max(min(int(max_points), bound), 2)


def _cell_max(z: jax.Array, e_l: jax.Array, e_r: jax.Array) -> jax.Array:
    """``max_m max(z_m + e_l_m, z_{m+1} + e_r_m)``: the max of chord plus linear error bound.

    Shapes ``(cap, n)``, ``(cap-1, n)``, ``(cap-1, n)`` -> ``(n,)``.
    """
    return jnp.max(jnp.maximum(z[:-1] + e_l, z[1:] + e_r), axis=0)


def _first_error(first: tuple[jax.Array, jax.Array], x: jax.Array) -> jax.Array:
    """``(n, l_1)`` bound of the first layer's rounding at ``x: (n, 1)``, for two evaluations."""
    w0, b0 = first
    g1 = 2 * _gamma(1, w0.dtype)
    return g1 * (jnp.abs(w0[None, :, 0]) * jnp.abs(x) + jnp.abs(b0)[None, :])


def _next_error(e_post: jax.Array, h: jax.Array, w: jax.Array, bias: jax.Array) -> jax.Array:
    """The error bound after an affine layer: ``((1 + g) e + 2 g h) |W|^T + 2 g |b|``."""
    g = _gamma(w.shape[1], w.dtype)
    return _matmul_t((1 + g) * e_post + 2 * g * h, jnp.abs(w)) + 2 * g * jnp.abs(bias)[None, :]


def analyze_stacks(
    first: tuple[jax.Array, jax.Array],
    stacks: nets.LayerStacks,
    a: jax.Array,
    b: jax.Array,
    cap: int,
) -> Analysis:
    """Exact (up to rounding, with sound bounds) maxima of every hidden pre-activation on ``[a, b]``.

    Args:
      first: ``(W_1: (l_1, 1), b_1: (l_1,))``, the first hidden layer.
      stacks: the hidden layers ``2..L`` as :data:`jaxnn_nonconv.core.nets.LayerStacks` (may be empty).
      a, b: ``()`` box bounds, ``a < b``.
      cap: static capacity of the point array (see :func:`point_bound`).

    Returns:
      An :class:`Analysis` with one block for the first layer, then one per stack.

    Raises:
      ValueError: if the input dimension is not 1.
    """
    w0, b0 = first
    if w0.shape[1] != 1:
        raise ValueError("exact mode needs input dimension 1; use mode='ibp'")
    dt = w0.dtype
    cap = max(int(cap), 2)
    eps_mach = float(jnp.finfo(dt).eps)
    pts = jnp.full((cap,), b, dt).at[0].set(a)
    z = pts[:, None] * w0[None, :, 0] + b0[None, :]
    e_pts = _first_error(first, pts[:, None])
    e_left, e_right = e_pts[:-1], e_pts[1:]

    def e_at(e_l, e_r, frac):
        """The linear error bound of a cell at relative position ``frac``, rounded up."""
        mid = (e_l * (1 - frac) + e_r * frac) * (1 + 16 * eps_mach)
        mid = mid + 8 * eps_mach * jnp.maximum(e_l, e_r)
        return jnp.where(frac == 0, e_l, jnp.where(frac == 1, e_r, mid))

    # Layer 1 is affine in x: its zeros are ``-c / w`` (exactly 0 for a zero bias) and its values
    # and error bounds are computed at the new points directly, not interpolated, so an exact 0
    # (every pre-activation of a zero-bias net at x = 0) stays exact, with error 0. Only a step
    # whose input width is l_1 (static) can be the first; ``is_first`` (carried) says if it is.
    root = -b0 / jnp.where(w0[:, 0] != 0, w0[:, 0], 1.0)  # used only where the sign changes

    def layer(carry, wb):
        pts, z, e_l, e_r, overflow, is_first = carry
        w, bias = wb
        # 1. The zero crossings of ``z`` strictly inside each cell, merged into the points.
        if z.shape[1] == w0.shape[0]:
            new_pts, i, is_cross, dropped = pieces.refine(pts, z, cap, root, is_first)
        else:
            new_pts, i, is_cross, dropped = pieces.refine(pts, z, cap)
        overflow = overflow | dropped
        # 2. ``z`` at the new points by interpolation in their cell ``i``; the sub-cells inherit
        # the old cell's error plus the interpolation error at their ends.
        j = jnp.minimum(i + 1, cap - 1)
        width = pts[j] - pts[i]
        frac = jnp.where(
            is_cross & (width > 0), (new_pts - pts[i]) / jnp.where(width > 0, width, 1.0), 0.0
        )
        zi, zj = z[i], z[j]
        z_new = zi + (zj - zi) * frac[:, None]
        interp = jnp.where(frac[:, None] > 0, 8 * eps_mach * (jnp.abs(zi) + jnp.abs(zj)), 0.0)
        # Each sub-cell [q_m, q_{m+1}] lies in the old cell c_m of q_m; its end errors are the
        # old cell's (linear) error at q_m and q_{m+1} plus the interpolation errors there.
        cell = jnp.minimum(i, cap - 2)
        pos = jnp.where(i == cap - 1, 1.0, frac)  # position of each new point in its cell
        c = cell[:-1]
        pos_r = jnp.where(cell[1:] == c, pos[1:], 1.0)  # q_{m+1} is the old cell's right end
        el_sub = e_at(e_l[c], e_r[c], pos[:-1, None]) + interp[:-1]
        er_sub = e_at(e_l[c], e_r[c], pos_r[:, None]) + interp[1:]
        if z.shape[1] == w0.shape[0]:
            z_dir = new_pts[:, None] * w0[None, :, 0] + b0[None, :]
            e_dir = _first_error(first, new_pts[:, None])
            z_new = jnp.where(is_first, z_dir, z_new)
            el_sub = jnp.where(is_first, e_dir[:-1], el_sub)
            er_sub = jnp.where(is_first, e_dir[1:], er_sub)
        # 3. ReLU: where the chord changes sign inside a cell, relu(chord) leaves the chord of the
        # relu values by at most min(|z_m|, |z_{m+1}|).
        n0, n1 = z_new[:-1], z_new[1:]
        sign_change = pieces.sign_change(n0, n1)
        # A neuron certainly <= 0 on the cell outputs exactly 0 there: no error passes on.
        dead = jnp.maximum(n0 + el_sub, n1 + er_sub) <= 0
        mu = jnp.where(sign_change, jnp.minimum(jnp.abs(n0), jnp.abs(n1)), 0.0)
        el_post = jnp.where(dead, 0.0, el_sub + mu)
        er_post = jnp.where(dead, 0.0, er_sub + mu)
        h = jax.nn.relu(z_new)
        # 4. The affine layer at the points, and its error bound at both ends of every cell.
        z_next = _matmul_t(h, w) + bias[None, :]
        el_next = _next_error(el_post, h[:-1], w, bias)
        er_next = _next_error(er_post, h[1:], w, bias)
        upper = jnp.where(overflow, jnp.inf, _cell_max(z_next, el_next, er_next))
        carry = (new_pts, z_next, el_next, er_next, overflow, jnp.zeros((), bool))
        return carry, (jnp.max(z_next, axis=0), upper, overflow)

    no = jnp.zeros((), bool)
    carry, outs = scan_stacks(layer, (pts, z, e_left, e_right, no, jnp.ones((), bool)), stacks)
    head = (jnp.max(z, axis=0)[None], _cell_max(z, e_left, e_right)[None], no[None])
    blocks = [head, *outs]
    return Analysis(*(tuple(o[f] for o in blocks) for f in range(3)), points=carry[0])


def analyze(params: nets.Params, a: jax.Array, b: jax.Array, cap: int) -> Analysis:
    """:func:`analyze_stacks` of a network given per layer; results per hidden layer ``k = 1..L``.

    Args:
      params: one network with input dimension 1.
      a, b: ``()`` box bounds, ``a < b``.
      cap: static capacity of the point array (see :func:`point_bound`).

    Returns:
      An :class:`Analysis` with one ``(l_k,)`` entry (``()`` for ``overflow``) per hidden layer.

    Raises:
      ValueError: if the input dimension is not 1.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: 0.5 - |x|
    >>> r = analyze(params, jnp.array(-1.0), jnp.array(1.0), 8)
    >>> [m.tolist() for m in r.maxes], bool(r.upper[1][0] >= 0.5)
    ([[1.0, 1.0], [0.5]], True)
    """
    hidden = params[:-1]
    res = analyze_stacks(hidden[0], nets.stack_layers(hidden[1:]), a, b, cap)
    per_layer = [tuple(r for block in field for r in block) for field in res[:3]]
    return Analysis(*per_layer, points=res.points)


def forward_max_stacks(
    first: tuple[jax.Array, jax.Array],
    stacks: nets.LayerStacks,
    x: jax.Array,
    *,
    float_network: bool = False,
) -> tuple[jax.Array, ...]:
    """Per block of hidden layers (as :class:`Analysis`), ``(k, l)`` max over ``x: (n, 1)`` of the
    network's pre-activations.

    Args:
      first, stacks: as :func:`analyze_stacks`.
      x: ``(n, 1)`` points.
      float_network: compute exactly as :func:`jaxnn_nonconv.core.nets.hidden_preactivations` does
        (``@`` products: the float network whose positive values certify ``active``); else with
        unrolled products (faster under ``vmap``, possibly different in the last bits).
    """
    matmul = (lambda h, w: h @ w.T) if float_network else _matmul_t
    w0, b0 = first
    z = matmul(x, w0) + b0[None, :]

    def layer(z, wb):
        w, bias = wb
        z_next = matmul(jax.nn.relu(z), w) + bias[None, :]
        return z_next, jnp.max(z_next, axis=0)

    _, outs = scan_stacks(layer, z, stacks)
    return (jnp.max(z, axis=0)[None], *outs)


def capacity_ladder(max_points: int, bound: int, start: int = START_CAPACITY) -> tuple[int, ...]:
    """Capacities to try, smallest first: ``start, 4 start, ...``, ending at ``min(max_points,
    bound)`` (``bound``: :func:`point_bound`, the most points the architecture can have).

    >>> capacity_ladder(1024, 10**6), capacity_ladder(1024, 17), capacity_ladder(64, 10**6)
    ((16, 64, 256, 1024), (17,), (16, 64))
    """
    top = max(min(int(max_points), int(bound)), 2)
    caps, c = [], int(start)
    while 2 * c <= top:  # a rung within 2x of the top is skipped: the top costs little more
        caps.append(c)
        c *= LADDER_FACTOR
    return (*caps, top)


def refine_overflow(
    run: Callable[[int, np.ndarray], dict[str, np.ndarray]],
    indices: np.ndarray,
    first: dict[str, np.ndarray],
    ladder: Sequence[int],
    batch: int,
) -> dict[str, np.ndarray]:
    """Redo the trials that overflowed at ``ladder[0]`` at the next capacities, only those.

    Args:
      run: ``run(cap, idx)`` classifies the trials ``idx`` (a fixed-size ``(n,)`` array) at
        capacity ``cap`` and returns per-trial arrays with leading axis ``n`` (with ``overflow``).
      indices: ``(M,)`` the trials of ``first``.
      first: the result of ``run(ladder[0], indices)``.
      ladder: capacities (:func:`capacity_ladder`).
      batch: trials per call at ``ladder[0]``. Rung ``r`` calls ``run`` with one of two fixed sizes:
        ``batch * ladder[0] / ladder[r]`` (so memory stays that of the first call) while many
        trials remain, else a 16 times smaller one (a few overflowing trials cost little).

    Returns:
      ``first`` with the overflowing trials replaced by their result at the first capacity that
      holds them (or the last one). A trial's result does not depend on the other trials.
    """
    out = {k: np.array(v) for k, v in first.items()}
    for cap in ladder[1:]:
        todo = np.flatnonzero(out["overflow"])
        large = max(1, batch * ladder[0] // cap)
        small = max(1, large // REFINE_SPLIT)
        while todo.size:
            size = large if todo.size > large // 4 else small
            rows, todo = todo[:size], todo[size:]
            idx = indices[np.concatenate([rows, np.full(size - rows.size, rows[-1])])]
            res = run(cap, idx)
            for k in out:
                out[k][rows] = np.asarray(res[k])[: rows.size]
    return out
