"""The ``d > 1`` deep-layer detector modes ``exact`` (``d = 2``) and ``crown``.

Combines the exact layer-2 analysis of :mod:`jaxnn_nonconv.detector` (``d = 2``) with branch and
bound over sub-boxes (:mod:`jaxnn_nonconv.detector`) for every deep neuron not yet decided. Called by
:func:`jaxnn_nonconv.detector.classify_neurons`, which handles layer 1 (exact in every mode), the
sign test and the sample/probe witnesses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.detector import _bab as bab, _vertices as exact_2d

ND_MODES: tuple[str, ...] = ("exact", "crown")
REFINE_SHARES = (16, 512)  # branch and bound runs on 1/16 of a batch's trials at a time, or on
# 1/512 when that many are left: the cost follows the number of hard networks


def refine_groups(m: int, backend: str | None = None) -> tuple[int, ...]:
    """Sizes of the groups of networks that :func:`refine` bounds at a time, for a batch of ``m``.

    On an accelerator, ``ceil(m / 16)`` and ``ceil(m / 512)`` (:data:`REFINE_SHARES`): the lanes
    of a group run in parallel, so large groups finish the hard networks in few passes. On a CPU
    the lanes run one after another, so a large group only adds its padding lanes and the rounds
    of its slowest network, and a second size compiles branch and bound twice (most of the
    detector's compile time): there only the small size is used. A network's result does not
    depend on its group (tested).

    Args:
      m: networks in the batch.
      backend: ``cpu``, ``gpu``, ...; default ``jax.default_backend()``.

    Returns:
      The sizes, ascending.

    >>> refine_groups(2000, "gpu"), refine_groups(2000, "cpu"), refine_groups(3, "gpu")
    ((4, 125), (4,), (1,))
    """
    backend = jax.default_backend() if backend is None else backend
    groups = sorted({max(1, -(-m // share)) for share in REFINE_SHARES})
    return tuple(groups[:1] if backend == "cpu" else groups)


def _start_pool(d: int) -> int:
    return 2**d if d <= 5 else 1


def bab_budget(n_hidden: int) -> tuple[int, int]:
    """Default ``(pool, rounds)`` of branch and bound for ``n_hidden`` hidden layers.

    One bound costs ``O(L^2)`` layer steps, so deep nets get a smaller budget (per hard network
    about the cost of the IBP mode's 256 cells).

    >>> bab_budget(3), bab_budget(16)
    ((32, 24), (8, 4))
    """
    if n_hidden <= 4:
        return bab.DEFAULT_POOL, bab.DEFAULT_ROUNDS
    return 8, 4


def uses_bab(mode: str, n_hidden: int) -> bool:
    """Whether :func:`classify_deep` bounds sub-boxes: always in ``crown`` mode; in ``exact`` mode
    only for layers ``k >= 3`` (layer 2 is exact, and its rare undecided neurons are within
    rounding of 0, where bounds cannot help).

    >>> uses_bab("exact", 2), uses_bab("exact", 3), uses_bab("crown", 2)
    (False, True, True)
    """
    return n_hidden > 1 and (mode == "crown" or n_hidden > 2)


def classify_deep(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    mode: str,
    witnessed: list[jax.Array] | tuple[jax.Array, ...],
    dead_sign: list[jax.Array] | tuple[jax.Array, ...],
    *,
    refine: bool = True,
    pool: int | None = None,
    rounds: int | None = None,
) -> tuple[list[jax.Array], list[jax.Array]]:
    """``inactive`` and ``active`` masks of hidden layers ``2..L`` of one network.

    Two stages. First, cheap: in ``exact`` mode (``d = 2``) layer 2 by vertex enumeration
    (:func:`jaxnn_nonconv.detector.layer2_max`); then every deep neuron not yet decided by one
    round of backward linear bounds on a ``2^d`` grid of sub-boxes. Second (``refine``), branch
    and bound (:func:`jaxnn_nonconv.detector.decide`) for the neurons still undecided;
    :func:`refine` runs the same second stage on a batch of networks, only on those that need it.

    Args:
      params: one network with at least two hidden layers.
      lo, hi: ``(d,)`` the box.
      mode: ``exact`` (``d = 2``) or ``crown`` (any ``d``).
      witnessed, dead_sign: per hidden layer ``(l_k,)`` masks: positive at a sample/probe point
        (an ``active`` certificate), sign-dead (an ``inactive`` certificate).
      refine: run the second stage.
      pool, rounds: its budget (:func:`jaxnn_nonconv.detector.decide`; default :func:`bab_budget`).

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
    default_pool, default_rounds = bab_budget(len(hidden))
    pool, rounds = pool or default_pool, default_rounds if rounds is None else rounds
    ins = jnp.concatenate(list(dead_sign[1:]))
    act = jnp.concatenate(list(witnessed[1:]))
    if mode == "exact":
        n2 = widths[0]
        r = exact_2d.layer2_max(params, lo, hi)
        ins = ins.at[:n2].set(ins[:n2] | (r.upper <= 0))
        act = act.at[:n2].set(act[:n2] | (r.value > 0))
    if uses_bab(mode, len(hidden)):
        dec = bab.decide(params, lo, hi, ins | act, pool=_start_pool(d), rounds=0)
        ins, act = ins | dec.inactive, act | dec.active
        if refine:
            dec = bab.decide(params, lo, hi, ins | act, pool=pool, rounds=rounds)
            ins, act = ins | dec.inactive, act | dec.active
    cuts = np.cumsum(widths)[:-1].tolist()
    return list(jnp.split(ins, cuts)), list(jnp.split(act, cuts))


def refine(
    params_batch: nets.Params,
    inactive: tuple[jax.Array, ...],
    active: tuple[jax.Array, ...],
    lo: jax.Array,
    hi: jax.Array,
    *,
    pool: int | None = None,
    rounds: int | None = None,
    events_only: bool = False,
) -> tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]]:
    """Second stage of :func:`classify_deep` on a batch, run only on networks that need it.

    Networks with an undecided deep neuron are gathered ``ceil(M / 16)`` at a time, or
    ``ceil(M / 512)`` when no more are left (on a CPU always ``ceil(M / 512)``:
    :func:`refine_groups`), and branch and bound runs on them (a ``while_loop`` over such
    groups), so the cost follows the number of hard networks.
    Each network's result is the same as with ``classify_deep(..., refine=True)``, whatever the
    batch.

    Args:
      params_batch: ``M`` networks (trial axis first).
      inactive, active: per hidden layer (all layers), ``(M, l_k)`` masks after the first stage.
      lo, hi: ``(d,)`` the box.
      pool, rounds: as in :func:`classify_deep`.
      events_only: refine only the networks whose events "some neuron inactive" (no neuron
        certified inactive yet) or "network constant" (no hidden layer certified all inactive,
        and some layer without a certified active neuron) are still undecided
        (``DetectorSettings.refine_for="events"``, what ``advise`` reads).

    Returns:
      The updated ``(inactive, active)``, same shapes.
    """
    widths = [m.shape[1] for m in inactive[1:]]
    default_pool, default_rounds = bab_budget(len(inactive))
    pool, rounds = pool or default_pool, default_rounds if rounds is None else rounds
    ins = jnp.concatenate(inactive[1:], axis=1)  # (M, N)
    act = jnp.concatenate(active[1:], axis=1)
    m = ins.shape[0]
    groups = refine_groups(m)
    todo = jnp.any(~ins & ~act, axis=1)
    if events_only:  # a net whose two events are decided needs no branch and bound
        some_dead = jnp.any(jnp.concatenate(inactive, axis=1), axis=1)
        const_known = jnp.any(jnp.stack([jnp.all(i, axis=1) for i in inactive]), axis=0)
        const_known |= jnp.all(jnp.stack([jnp.any(a, axis=1) for a in active]), axis=0)
        todo &= ~(some_dead & const_known)

    def one(params, known):
        return bab.decide(params, lo, hi, known, pool=pool, rounds=rounds)

    def run_group(group, carry):
        ins, act, todo = carry
        idx = jnp.nonzero(todo, size=group, fill_value=m)[0]
        safe = jnp.minimum(idx, m - 1)
        sub = jax.tree.map(lambda x: x[safe], params_batch)
        dec = jax.vmap(one)(sub, ins[safe] | act[safe])
        ins = ins.at[idx].set(ins[safe] | dec.inactive, mode="drop")
        act = act.at[idx].set(act[safe] | dec.active, mode="drop")
        return ins, act, todo.at[idx].set(False, mode="drop")

    def body(carry):
        if len(groups) == 1:
            return run_group(groups[0], carry)
        small = jnp.sum(carry[2]) <= groups[0]
        return jax.lax.cond(
            small, lambda c: run_group(groups[0], c), lambda c: run_group(groups[-1], c), carry
        )

    ins, act, _ = jax.lax.while_loop(lambda c: jnp.any(c[2]), body, (ins, act, todo))
    cuts = np.cumsum(widths)[:-1].tolist()
    split_ins = tuple(jnp.split(ins, cuts, axis=1))
    split_act = tuple(jnp.split(act, cuts, axis=1))
    return (inactive[0], *split_ins), (active[0], *split_act)
