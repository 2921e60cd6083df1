"""The piecewise-linear 1-D kernel: sign changes between breakpoints and fixed-capacity compaction.

A ReLU network restricted to a segment (``d = 1``: the input interval; in general: an edge of a
polygonal curve) is linear between consecutive *breakpoints*, so each layer's pre-activations
``z: (P, n)`` at ``P`` consecutive points are linear along each of the ``P - 1`` cells between them.
A neuron changes sign strictly inside a cell iff its end values have strictly opposite signs
(:func:`sign_change`); its zero is at the fraction ``t = z_0 / (z_0 - z_1)`` of the cell
(:func:`crossings`). The new points are gathered into a static number of slots, with an overflow
count, by one cumulative sum (:func:`compact`), never a global sort. :func:`refine` does both for
sorted points on the real line.

Users: the exact ``d = 1`` detector analysis (:mod:`jaxnn_nonconv.exact.breakpoints`, which adds
float error bounds for the interpolation), the exact risk's linear pieces
(:mod:`jaxnn_nonconv.exact.risk`) and the image curves of the splitting estimator
(``jaxnn_nonconv/rare/_splitting.py``). Every function is jittable and vmappable; shapes are static.
The rounding bound the certificates use is :func:`jaxnn_nonconv.core.rounding_gamma`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

SMALL_SORT = 8  # cells with up to this many crossings are sorted by a sorting network


def sign_change(z0: jax.Array, z1: jax.Array) -> jax.Array:
    """Whether a linear function with end values ``z0``, ``z1`` has a zero strictly inside.

    Strictly opposite signs: an end value of 0 (or NaN) is no sign change.

    >>> sign_change(jnp.array([-1.0, 1.0, 0.0, 2.0]), jnp.array([2.0, -0.5, 1.0, 3.0])).tolist()
    [True, True, False, False]
    """
    return ((z0 < 0) & (z1 > 0)) | ((z0 > 0) & (z1 < 0))


def crossings(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The zero crossings of ``z`` between consecutive points.

    Args:
      z: ``(P, n)`` values of ``n`` functions at ``P`` consecutive points, each linear in between.

    Returns:
      ``(cross, t)``, both ``(P - 1, n)``: ``cross`` the :func:`sign_change` of each cell, ``t =
      z_m / (z_m - z_{m+1})`` the position of the zero as a fraction of the cell (in ``[0, 1]``
      up to rounding); where ``cross`` is False, ``t`` is ``z_m`` (meaningless, but finite when
      ``z`` is).

    >>> cross, t = crossings(jnp.array([[-1.0, 2.0], [3.0, 2.0]]))
    >>> cross.tolist(), t.tolist()
    ([[True, False]], [[0.25, 2.0]])
    """
    z0, z1 = z[:-1], z[1:]
    cross = sign_change(z0, z1)
    return cross, z0 / jnp.where(cross, z0 - z1, 1.0)


def compact(keep: jax.Array, cap: int, fill) -> tuple[jax.Array, jax.Array]:
    """Indices of the kept entries, in order, in ``cap`` slots (one cumsum and one scatter).

    Args:
      keep: ``(K,)`` bool.
      cap: static number of slots.
      fill: index for the slots past the kept entries (an int or ``()`` int array).

    Returns:
      ``(src, count)``: ``src: (cap,)`` int, ``src[i]`` the index of the ``i``-th kept entry for
      ``i < min(count, cap)`` and ``fill`` after; ``count: ()`` int, the number of kept entries
      (``count > cap``: overflow, the entries after the ``cap``-th kept one are dropped).

    >>> src, count = compact(jnp.array([True, False, True, True]), 5, -1)
    >>> src.tolist(), int(count)
    ([0, 2, 3, -1, -1], 3)
    >>> src, count = compact(jnp.array([True, False, True, True]), 2, -1)
    >>> src.tolist(), int(count)
    ([0, 2], 3)
    """
    pos = jnp.cumsum(keep) - 1
    slot = jnp.where(keep, pos, cap)  # out of range: dropped
    src = jnp.full((cap,), fill).at[slot].set(jnp.arange(keep.shape[0]), mode="drop")
    return src, pos[-1] + 1


def _sort_rows(v: jax.Array) -> jax.Array:
    """``jnp.sort(v, axis=1)``; by odd-even transposition (elementwise min/max) for narrow rows.

    XLA's CPU code for many tiny sorts under ``vmap`` dispatches per trial; the sorting network is
    elementwise and fuses (measured in ``docs/detector.md``).

    >>> _sort_rows(jnp.array([[3.0, 1.0, 2.0], [jnp.inf, -1.0, 0.0]])).tolist()
    [[1.0, 2.0, 3.0], [-1.0, 0.0, inf]]
    """
    n = v.shape[1]
    if n > SMALL_SORT:
        return jnp.sort(v, axis=1)
    cols = [v[:, i] for i in range(n)]
    for r in range(n):
        for i in range(r % 2, n - 1, 2):
            cols[i], cols[i + 1] = (
                jnp.minimum(cols[i], cols[i + 1]),
                jnp.maximum(cols[i], cols[i + 1]),
            )
    return jnp.stack(cols, axis=1)


class Refined(NamedTuple):
    """Result of :func:`refine`.

    Attributes:
      points: ``(cap,)`` sorted distinct points (the old ones and the crossings), padded with the
        last old point.
      parent: ``(cap,)`` int, index of the old point at or left of each new point (its cell).
      is_cross: ``(cap,)`` bool, the new point is a crossing (else an old point).
      overflow: ``()`` bool, points were dropped for lack of capacity.
    """

    points: jax.Array
    parent: jax.Array
    is_cross: jax.Array
    overflow: jax.Array


def refine(
    pts: jax.Array,
    z: jax.Array,
    cap: int,
    root: jax.Array | None = None,
    use_root: jax.Array | bool = False,
) -> Refined:
    """Insert the zero crossings of ``z`` into the sorted points ``pts``, in ``cap`` slots.

    A crossing is interpolated linearly, ``x = p_m + (p_{m+1} - p_m) t`` (or, where ``use_root``,
    taken from ``root``), and kept only when it lies strictly inside its cell; equal crossings of
    a cell and repeated points (the padding) are kept once. Cell ``m`` contributes ``[p_m, its
    sorted crossings]``, already in order, so one :func:`compact` gives the sorted result.

    Args:
      pts: ``(P,)`` sorted points (repeats allowed, e.g. padding at the end).
      z: ``(P, n)`` values at ``pts`` of ``n`` functions linear between consecutive points.
      cap: static number of output slots.
      root: ``(n,)`` optional zero of each function, computed directly (e.g. ``-c / w`` for an
        affine ``w x + c``: exactly 0 for a zero bias, where interpolation is off by rounding).
      use_root: ``()`` bool, use ``root`` instead of interpolating (a traced flag, so that one
        traced step serves both cases).

    Returns:
      A :class:`Refined`; the kept points are the ``cap`` smallest when it overflows.

    >>> r = refine(jnp.array([-1.0, 1.0, 1.0]), jnp.array([[-1.0], [3.0], [3.0]]), 4)
    >>> r.points.tolist(), r.parent.tolist(), r.is_cross.tolist(), bool(r.overflow)
    ([-1.0, -0.5, 1.0, 1.0], [0, 0, 1, 2], [False, True, False, False], False)
    """
    n_cells, n = z.shape[0] - 1, z.shape[1]
    x0, x1 = pts[:-1, None], pts[1:, None]
    cross, t = crossings(z)
    xc = x0 + (x1 - x0) * t
    if root is not None:
        xc = jnp.where(use_root, root[None, :], xc)
    xs = _sort_rows(jnp.where(cross & (xc > x0) & (xc < x1), xc, jnp.inf))
    first = jnp.ones((n_cells, 1), bool)
    keep_c = jnp.isfinite(xs) & jnp.concatenate([first, xs[:, 1:] != xs[:, :-1]], axis=1)
    keep_p = jnp.concatenate([jnp.ones((1,), bool), pts[1:] > pts[:-1]])
    cand_x = jnp.concatenate([jnp.concatenate([x0, xs], axis=1).reshape(-1), pts[-1:]])
    keep = jnp.concatenate(
        [jnp.concatenate([keep_p[:-1, None], keep_c], axis=1).reshape(-1), keep_p[-1:]]
    )
    parent = jnp.concatenate([jnp.repeat(jnp.arange(n_cells), n + 1), jnp.array([n_cells])])
    is_cross = jnp.concatenate([jnp.tile(jnp.arange(n + 1) > 0, n_cells), jnp.zeros((1,), bool)])
    src, count = compact(keep, cap, cand_x.shape[0] - 1)
    return Refined(cand_x[src], parent[src], is_cross[src], count > cap)
