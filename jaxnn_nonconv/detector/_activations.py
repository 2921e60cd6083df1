"""Which activations the detector certifies, and the clipping activation's frozen neurons.

* ``relu``: the whole detector (every layer, every mode).
* ``repu:P`` (``max(z, 0)^P``): it and its derivative vanish exactly where ``z <= 0``, so a neuron
  is inactive for ``repu:P`` exactly when it is for ReLU. The first layer's pre-activations do not
  depend on the activation, so the first-layer certificates (and every count of a net with one
  hidden layer) are ReLU's. Deeper layers see ``max(z, 0)^P`` instead of ``max(z, 0)``, which the
  ReLU deep certificates (breakpoints, linear bounds, vertices) do not model: deeper layers are
  certified by interval bounds on a sub-box grid instead
  (:mod:`~jaxnn_nonconv.detector._deep_activations`; :func:`for_activation` picks the mode).
* ``clip`` (``min(max(z, 0), 1)``): derivative 1 on ``(0, 1)``, 0 elsewhere. A neuron is *dead* when
  ``z <= 0`` on the whole box (the ReLU certificate, "inactive") and *saturated* when ``z >= 1`` on
  it; either way it is *frozen*: zero gradient for its incoming weights and its bias, for every
  trainable mask (a frozen first-layer neuron stays frozen, since its input ``x`` never changes).
  A dead neuron's outgoing weights get zero gradient too; a saturated one outputs the constant 1,
  so its outgoing weights still train. :func:`first_layer_saturated` certifies the second case
  soundly in floating point; :func:`first_layer_frozen` combines both. Deeper layers: interval
  bounds, as for ``repu``.
* ``leaky_relu``, ``softplus``: a nonzero derivative everywhere; nothing is ever inactive.

Source: arXiv 2402.05155 (Cor. 3.15 and Sec. 4, the "related activations"); docs/theory.md sec. 3b.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import nets, rounding_gamma
from jaxnn_nonconv.detector._first_layer import first_layer_active, first_layer_inactive
from jaxnn_nonconv.detector._settings import DetectorSettings
from jaxnn_nonconv.errors import ConfigError

NEVER_INACTIVE = frozenset({"leaky_relu", "softplus"})


def not_applicable(activation: str, arch: Sequence[int] | None = None) -> str | None:
    """Why inactive-neuron criteria do not apply to a hidden ``activation``; ``None`` when they do.

    ``relu``, ``repu:P`` and ``clip`` apply at any depth (``arch`` is accepted for callers that
    pass it; deep ``repu:P`` and ``clip`` nets are certified by interval bounds,
    :func:`for_activation`).

    >>> not_applicable("relu") is None, not_applicable("softplus")[:40]
    (True, "activation 'softplus' has a nonzero deri")
    >>> not_applicable("repu:2", (1, 8, 1)) is None, not_applicable("clip", (1, 8, 8, 1)) is None
    (True, True)
    """
    del arch  # every depth applies
    if activation in NEVER_INACTIVE:
        return (
            f"activation {activation!r} has a nonzero derivative everywhere: no neuron is ever "
            "inactive and no hidden layer makes the net constant (inactive-neuron criteria apply "
            "to relu, repu:P and clip)"
        )
    return None


def uses_intervals(activation: str, arch: Sequence[int]) -> bool:
    """Whether the deep layers of ``activation`` nets of ``arch`` are certified by interval
    bounds (:mod:`~jaxnn_nonconv.detector._deep_activations`): ``clip`` and ``repu:P`` with more
    than one hidden layer.

    >>> uses_intervals("clip", (1, 8, 8, 1)), uses_intervals("clip", (1, 8, 1))
    (True, False)
    """
    return activation != "relu" and len(tuple(arch)) > 3


def for_activation(
    settings: DetectorSettings, activation: str, arch: Sequence[int]
) -> DetectorSettings:
    """The detector settings that apply to ``activation`` nets of ``arch``: unchanged for ReLU and
    for one hidden layer; ``ibp`` for deeper ``clip`` and ``repu:P`` nets (``auto`` becomes
    ``ibp``).

    Raises:
      ConfigError: ``exact`` or ``crown`` asked for a deep ``clip`` or ``repu:P`` net (those model
        ``max(z, 0)`` only).

    >>> for_activation(DetectorSettings(), "clip", (1, 8, 8, 1)).mode
    'ibp'
    >>> for_activation(DetectorSettings(), "repu:2", (1, 8, 1)).mode
    'auto'
    """
    if not uses_intervals(activation, arch):
        return settings
    if settings.mode not in ("auto", "ibp"):
        raise ConfigError(
            f"detector mode {settings.mode!r} models ReLU only; {activation} nets with more than "
            "one hidden layer are certified with interval bounds (mode 'ibp' or 'auto')"
        )
    return dataclasses.replace(settings, mode="ibp")


def _min_bound(params: nets.Params, lo: jax.Array, hi: jax.Array, side: float) -> jax.Array:
    """``c + sum_j min(a_j w_j, b_j w_j)`` moved by ``side`` times the float network's rounding
    bound (``side = -1``: a lower bound of the float pre-activation on the whole box; ``+1``: an
    upper bound of it at the minimizing corner). As in
    :func:`jaxnn_nonconv.detector._first_layer._first_layer_bound`, ``t + g |t|`` is monotone in
    ``t``, so the minimum is at the same corner, and ``g`` is twice the rounding bound so that the
    rounding of this bound itself is covered."""
    w, c = params[0]
    m = jnp.minimum(w * lo[None, :], w * hi[None, :])
    g = side * rounding_gamma(w.shape[1] + 1, w.dtype)
    return (c + g * jnp.abs(c)) + jnp.sum(m + g * jnp.abs(m), axis=1)


def first_layer_saturated(params: nets.Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """``(l_1,)`` bool: the float first-layer pre-activation is ``>= 1`` at every input of the box
    (a ``clip`` neuron saturated there), certified with a rounding margin.

    >>> params = ((jnp.array([[1.0], [1.0], [-1.0]]), jnp.array([1.5, 0.5, 3.0])),
    ...           (jnp.ones((1, 3)), jnp.zeros(1)))  # on [0, 1]: 1.5 + x, 0.5 + x, 3 - x
    >>> first_layer_saturated(params, jnp.array([0.0]), jnp.array([1.0])).tolist()
    [True, False, True]
    """
    return _min_bound(params, lo, hi, -1.0) >= 1


def first_layer_below_one(params: nets.Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """``(l_1,)`` bool: certified NOT saturated, the float pre-activation is ``< 1`` at the
    minimizing corner (by more than rounding)."""
    return _min_bound(params, lo, hi, 1.0) < 1


def first_layer_frozen(
    params: nets.Params, lo: jax.Array, hi: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``(frozen, moving)``, each ``(l_1,)`` bool, for a ``clip`` first layer.

    ``frozen``: certified dead (:func:`~jaxnn_nonconv.detector.first_layer_inactive`) or saturated
    (:func:`first_layer_saturated`). ``moving``: certified active (some input with ``z > 0``) and
    not saturated (some input with ``z < 1``): the pre-activation is affine in ``x`` on the box,
    so it lies in ``(0, 1)`` on a set of positive measure, where the gradient is nonzero. Neither:
    within rounding of a threshold (unknown).

    >>> params = ((jnp.array([[1.0], [-1.0], [0.5]]), jnp.array([1.5, -0.5, 0.25])),
    ...           (jnp.ones((1, 3)), jnp.zeros(1)))  # on [0, 1]: saturated, dead, moving
    >>> f, m = first_layer_frozen(params, jnp.array([0.0]), jnp.array([1.0]))
    >>> f.tolist(), m.tolist()
    ([True, True, False], [False, False, True])
    """
    frozen = first_layer_inactive(params, lo, hi) | first_layer_saturated(params, lo, hi)
    moving = first_layer_active(params, lo, hi) & first_layer_below_one(params, lo, hi)
    return frozen, moving
