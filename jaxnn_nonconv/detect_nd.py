"""The ``d > 1`` deep-layer detector modes ``exact`` (``d = 2``) and ``crown``.

Combines the exact layer-2 analysis of :mod:`jaxnn_nonconv.exact_2d` (``d = 2``) with branch and
bound over sub-boxes (:mod:`jaxnn_nonconv.bab`) for every deep neuron not yet decided. Called by
:func:`jaxnn_nonconv.inactive.classify`, which handles layer 1 (exact in every mode), the
sign test and the sample/probe witnesses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import bab, exact_2d, nets

ND_MODES: tuple[str, ...] = ("exact", "crown")


def classify_deep(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    mode: str,
    witnessed: list[jax.Array] | tuple[jax.Array, ...],
    dead_sign: list[jax.Array] | tuple[jax.Array, ...],
    *,
    pool: int = bab.DEFAULT_POOL,
    rounds: int = bab.DEFAULT_ROUNDS,
) -> tuple[list[jax.Array], list[jax.Array]]:
    """``inactive`` and ``active`` masks of hidden layers ``2..L`` of one network.

    Args:
      params: one network with ``d >= 2`` inputs and at least two hidden layers.
      lo, hi: ``(d,)`` the box.
      mode: ``exact`` (``d = 2``: layer 2 by vertex enumeration, deeper layers by branch and
        bound) or ``crown`` (branch and bound with backward linear bounds for every deep layer).
      witnessed, dead_sign: per hidden layer ``(l_k,)`` masks: positive at a sample/probe point
        (an ``active`` certificate), sign-dead (an ``inactive`` certificate).
      pool, rounds: branch-and-bound budget (:func:`jaxnn_nonconv.bab.decide`).

    Returns:
      ``(inactive, active)``: lists of ``(l_k,)`` bool masks for ``k = 2..L``.

    Raises:
      ValueError: for an unknown mode, or ``exact`` with ``d != 2``.

    >>> params = nets.init_params(jax.random.key(0), (2, 3, 4, 1), "normal")
    >>> z = [jnp.zeros(3, bool), jnp.zeros(4, bool)]
    >>> ins, act = classify_deep(params, -jnp.ones(2), jnp.ones(2), "exact", z, z)
    >>> bool(jnp.all(ins[0] ^ act[0]))  # every layer-2 neuron decided
    True
    """
    hidden = params[:-1]
    d = lo.shape[0]
    if mode not in ND_MODES or (mode == "exact" and d != 2):
        raise ValueError(f"mode {mode!r} is not a d > 1 mode for d = {d}")
    widths = [w.shape[0] for w, _ in hidden[1:]]
    ins = jnp.concatenate(list(dead_sign[1:]))
    act = jnp.concatenate(list(witnessed[1:]))
    if mode == "exact":
        n2 = widths[0]
        r = exact_2d.layer2_max(params, lo, hi)
        ins = ins.at[:n2].set(ins[:n2] | (r.upper <= 0))
        act = act.at[:n2].set(act[:n2] | (r.value > 0))
    if mode == "crown" or len(hidden) > 2:
        dec = bab.decide(params, lo, hi, ins | act, pool=pool, rounds=rounds)
        ins, act = ins | dec.inactive, act | dec.active
    cuts = np.cumsum(widths)[:-1].tolist()
    return list(jnp.split(ins, cuts)), list(jnp.split(act, cuts))
