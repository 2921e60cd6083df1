"""Branch and bound on input sub-boxes with backward linear bounds, on a fixed budget.

Decides deep neurons (layers ``k >= 2``) that one bound over the whole box leaves open. A fixed
pool of ``pool`` sub-boxes starts as a ``2^d`` grid of the box. Each round bounds every
pre-activation on every sub-box (:func:`jaxnn_nonconv.detector.crown_bounds`) and evaluates
the float network at the sub-box centers and at the corner maximizing each open neuron's linear
upper bound on its worst sub-box (candidate ``active`` witnesses). A neuron is *open* while it is
neither witnessed active nor bounded ``<= 0`` on every sub-box. Sub-boxes on which every open
neuron's bound is ``<= 0`` are dropped (they can no longer matter); of the rest, those with the
largest bound of an open neuron are split in half across their relatively widest side, into the
free slots. Only sub-boxes that hold a hard neuron are split, and the work stops after ``rounds``
rounds, when nothing is open, or when the pool is full, so shapes are static for ``jit``/``vmap``
(a batched ``while_loop`` runs until every trial of the chunk has stopped).

Certificates: ``inactive`` iff the neuron's upper bound is ``<= 0`` on every sub-box still in the
pool (the dropped ones were ``<= 0`` for it when dropped: a neuron never leaves the open set
except by being witnessed ``active``; a bound that overflowed to NaN counts as ``+inf``, so it
keeps its sub-box); ``active`` iff the float network is ``> 0`` at one of the
evaluated points, all of which lie in the box. Neither: unknown, reported with the largest
remaining upper bound.

Source: branch and bound over input splits as in Wang et al., "Beta-CROWN" (arXiv 2103.06624),
simplified to input splitting; CROWN bounds from arXiv 1811.00866.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.detector import _linear_bounds as linear_bounds

DEFAULT_POOL = 32  # sub-boxes held at once
DEFAULT_ROUNDS = 24  # split rounds at most


class Decision(NamedTuple):
    """Per deep neuron (layers ``2..L`` concatenated, one network): the outcome of :func:`decide`.

    Attributes:
      inactive: ``(N,)`` bool, certified ``<= 0`` on the whole box (float network).
      active: ``(N,)`` bool, the float network is ``> 0`` at some evaluated point of the box.
      upper: ``(N,)`` the largest sound upper bound over the final sub-boxes.
      rounds: ``()`` int, rounds used.
    """

    inactive: jax.Array
    active: jax.Array
    upper: jax.Array
    rounds: jax.Array


def _deep(values: tuple[jax.Array, ...]) -> jax.Array:
    return jnp.concatenate(values[1:], axis=-1)


def decide(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    known: jax.Array,
    *,
    pool: int = DEFAULT_POOL,
    rounds: int = DEFAULT_ROUNDS,
) -> Decision:
    """Branch and bound for the deep neurons of one network (see the module docstring).

    Args:
      params: one network with at least two hidden layers.
      lo, hi: ``(d,)`` the box, in the parameters' dtype.
      known: ``(N,)`` bool, neurons already decided elsewhere: never open, never certified
        ``inactive`` here (``active`` still reports witnesses).
      pool: sub-boxes held at once (the start is a ``2^d`` grid when ``2^d <= pool`` and
        ``d <= 5``, else the whole box).
      rounds: split rounds at most; ``0`` bounds the starting sub-boxes once.

    Returns:
      A :class:`Decision`.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([-0.01])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: -0.01 - |x| < 0
    >>> dec = decide(params, jnp.array([-1.0]), jnp.array([1.0]), jnp.zeros(1, bool))
    >>> bool(dec.inactive[0]), bool(dec.active[0])
    (True, False)
    """
    hidden = params[:-1]
    if len(hidden) < 2:
        raise ValueError("branch and bound needs at least two hidden layers")
    dt = hidden[0][0].dtype
    lo, hi = lo.astype(dt), hi.astype(dt)
    d = lo.shape[0]
    width0 = jnp.where(hi > lo, hi - lo, 1.0)
    start = 2 if (2**d <= pool and d <= 5) else 1
    n0 = start**d
    if start == 1:  # the box itself (np.indices supports at most 64 dimensions)
        first_lo, first_hi = lo[None, :], hi[None, :]
    else:  # its 2^d halves
        t = jnp.array([0.0, 0.5, 1.0], dt)
        edges = lo[:, None] + (hi - lo)[:, None] * t[None, :]
        edges = edges.at[:, 0].set(lo).at[:, 2].set(hi)
        idx = np.indices((start,) * d).reshape(d, -1)
        dims = np.arange(d)[:, None]
        first_lo, first_hi = edges[dims, idx].T, edges[dims, idx + 1].T
    box_lo = jnp.zeros((pool, d), dt).at[:n0].set(first_lo)
    box_hi = jnp.zeros((pool, d), dt).at[:n0].set(first_hi)
    box_lo = box_lo.at[n0:].set(lo)
    box_hi = box_hi.at[n0:].set(hi)
    valid = jnp.arange(pool) < n0

    bound_all = jax.vmap(lambda a, b: linear_bounds.crown_bounds(params, a, b))

    def evaluate(box_lo, box_hi, valid):
        bnd = bound_all(box_lo, box_hi)
        upper = _deep(bnd.upper)  # (P, N)
        # A bound that overflowed to NaN (e.g. 0 * inf) says nothing: +inf keeps the neuron open
        # and its sub-box in the pool (NaN > 0 is False, which would drop the sub-box).
        upper = jnp.where(jnp.isnan(upper), jnp.inf, upper)
        upper = jnp.where(valid[:, None], upper, -jnp.inf)
        return bnd, upper

    def witnesses(bnd, upper, box_lo, box_hi, valid, open_):
        # Centers of the sub-boxes and, per open neuron, the maximizing corner of its worst box.
        centers = jnp.where(valid[:, None], (box_lo + box_hi) / 2, lo[None, :])
        corners = jnp.concatenate(bnd.corner[1:], axis=1)  # (P, N, d)
        worst = jnp.argmax(upper, axis=0)  # (N,)
        pick = corners[worst, jnp.arange(corners.shape[1])]  # (N, d)
        pick = jnp.where(open_[:, None], pick, lo[None, :])
        pts = jnp.clip(jnp.concatenate([centers, pick]), lo[None, :], hi[None, :])
        z = _deep(tuple(nets.hidden_preactivations(params, pts)))  # (P + N, N)
        return jnp.any(z > 0, axis=0)

    def step(state):
        box_lo, box_hi, valid, active, r = state
        bnd, upper = evaluate(box_lo, box_hi, valid)
        open_ = ~known & ~active & jnp.any(upper > 0, axis=0)
        active = active | witnesses(bnd, upper, box_lo, box_hi, valid, open_)
        open_ = open_ & ~active
        hard = valid & jnp.any((upper > 0) & open_[None, :], axis=1)  # (P,)
        valid = hard  # boxes where every open neuron is <= 0 are dropped
        score = jnp.where(hard, jnp.max(jnp.where(open_[None, :], upper, -jnp.inf), 1), -jnp.inf)
        order = jnp.argsort(-score)  # hard boxes first, worst first
        free = jnp.argsort(valid)  # free slots first (stable)
        n_split = jnp.minimum(jnp.sum(hard), pool - jnp.sum(valid))
        do = jnp.arange(pool) < n_split
        src_lo, src_hi = box_lo[order], box_hi[order]
        dim = jnp.argmax((src_hi - src_lo) / width0[None, :], axis=1)
        onehot = jax.nn.one_hot(dim, d, dtype=bool)
        mid = (src_lo + src_hi) / 2
        a_hi = jnp.where(onehot, mid, src_hi)
        b_lo = jnp.where(onehot, mid, src_lo)
        tgt_a = jnp.where(do, order, pool)
        tgt_b = jnp.where(do, free, pool)
        box_hi = box_hi.at[tgt_a].set(a_hi, mode="drop").at[tgt_b].set(src_hi, mode="drop")
        box_lo = box_lo.at[tgt_b].set(b_lo, mode="drop")
        valid = valid.at[tgt_b].set(True, mode="drop")
        progress = (n_split > 0) & jnp.any(open_)
        return (box_lo, box_hi, valid, active, r + 1), progress

    def body(carry):
        state, _ = carry
        return step(state)

    def cond(carry):
        state, progress = carry
        return progress & (state[4] < rounds)

    n = sum(w.shape[0] for w, _ in hidden[1:])
    state = (box_lo, box_hi, valid, jnp.zeros(n, bool), jnp.zeros((), jnp.int32))
    if rounds > 0:
        state, _ = jax.lax.while_loop(cond, body, (state, jnp.ones((), bool)))
    box_lo, box_hi, valid, active, r = state
    bnd, upper = evaluate(box_lo, box_hi, valid)
    open_ = ~known & ~active & jnp.any(upper > 0, axis=0)
    active = active | witnesses(bnd, upper, box_lo, box_hi, valid, open_)
    worst = jnp.max(upper, axis=0)
    inactive = ~known & ~active & (worst <= 0)
    return Decision(inactive, active, worst, r)
