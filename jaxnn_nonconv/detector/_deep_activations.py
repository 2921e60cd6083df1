"""Deep ``clip`` and ``repu:P`` nets: per-neuron certificates from interval bounds on a sub-box grid.

The ReLU detector's deep certificates (breakpoints, linear bounds, vertices) model ``max(z, 0)``
only. For ``repu:P`` (``max(z, 0)^P``) and ``clip`` (``min(max(z, 0), 1)``) nets with more than one
hidden layer this module certifies every neuron from interval bound propagation (IBP) instead:

* **Bounds.** Both activations are monotone non-decreasing, so an interval ``[l, u]`` of a
  pre-activation maps to ``[act(l), act(u)]``. ``clip`` is exact in floats (a comparison); the
  float network computes ``max(z, 0)^P`` by at most ``P - 1`` roundings, so the post-activation
  bounds are widened by the relative bound of :func:`jaxnn_nonconv.core.rounding_gamma` (and one
  smallest normal, for underflow). Each pre-activation interval is widened by the worst rounding
  of its dot product, as in :func:`jaxnn_nonconv.detector.ibp_upper`: the bounds hold for the
  float network. They are computed on each of the ``grid^d`` sub-boxes
  (:func:`jaxnn_nonconv.detector.grid_cells`) and combined (max of the upper, min of the lower).
  A non-finite bound (an overflow) certifies nothing: every comparison with NaN is false.
* **Verdicts, per neuron.** *Inactive* (dead): the upper bound is ``<= 0``, or the sign argument
  (:func:`jaxnn_nonconv.detector.dead_inputs_closure`: both activations are exactly 0 on
  ``z <= 0`` and ``>= 0`` everywhere, so it carries over). *Saturated* (``clip`` only): the lower
  bound is ``>= 1``. *Active*: the float network's pre-activation is ``> 0`` at a probe point of
  the box; *below one*: ``< 1`` at a probe point. A ``clip`` neuron that is active and below one
  is *moving*: the float network's pre-activation is continuous in the input, so it is neither
  dead nor saturated, the exact complement of frozen. Nothing else is claimed: the rest is
  ``unknown``.
* The first layer is affine in the input: its exact tests
  (:func:`jaxnn_nonconv.detector.first_layer_inactive` and
  :func:`jaxnn_nonconv.detector.first_layer_saturated`, and their active counterparts) are used,
  as for ReLU, so first-layer verdicts are ReLU's for both activations.

Source: arXiv 2402.05155 (Cor. 3.15 and Sec. 4, the "related activations"); interval bounds:
Gowal et al., arXiv 1810.12715; docs/theory.md sec. 3b and docs/detector.md.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import nets, rounding_gamma
from jaxnn_nonconv.detector._activations import first_layer_below_one, first_layer_saturated
from jaxnn_nonconv.detector._first_layer import first_layer_active, first_layer_inactive
from jaxnn_nonconv.detector._intervals import (
    dead_inputs_closure,
    grid_cells,
    ibp_affine,
    sign_dead,
)


class ActivationStatus(NamedTuple):
    """Per hidden layer ``k = 1..L``, one ``(l_k,)`` bool mask per field.

    ``saturated`` and ``below_one`` concern ``clip`` (for ``repu:P`` they are all ``False`` and
    all ``True``); a ``clip`` neuron is frozen when ``inactive | saturated`` and moving when
    ``active & below_one``.
    """

    inactive: tuple[jax.Array, ...]  # certified: pre-activation <= 0 on the whole box
    active: tuple[jax.Array, ...]  # witnessed: > 0 at a point of the box
    saturated: tuple[jax.Array, ...]  # certified: >= 1 on the whole box (clip)
    below_one: tuple[jax.Array, ...]  # witnessed: < 1 at a point of the box
    sign_dead: tuple[jax.Array, ...]
    empirical_inactive: tuple[jax.Array, ...]  # never > 0 on the random sample


def post_interval(z_lo: jax.Array, z_up: jax.Array, activation: str) -> tuple[jax.Array, jax.Array]:
    """Sound bounds of the float activation's output for float inputs in ``[z_lo, z_up]``.

    Args:
      z_lo, z_up: bounds of the pre-activations (any shape).
      activation: ``relu``, ``clip`` or ``repu:P``.

    Returns:
      ``(lower, upper)`` of the float ``act(z)`` for every float ``z`` in the interval.

    >>> lo, up = post_interval(jnp.array([-1.0, 0.5]), jnp.array([0.5, 3.0]), "clip")
    >>> lo.tolist(), up.tolist()
    ([0.0, 0.5], [0.5, 1.0])
    >>> lo, up = post_interval(jnp.array([2.0]), jnp.array([3.0]), "repu:2")
    >>> bool(lo[0] <= 4.0 < 9.0 <= up[0])
    True
    """
    if activation == "clip":
        return nets.clip(z_lo), nets.clip(z_up)
    power = nets.repu_power(activation)
    lo, up = jax.nn.relu(z_lo), jax.nn.relu(z_up)
    if power is None:  # relu: exact in floats
        return lo, up
    # The float network's x^P: at most P - 1 roundings, each within a relative u; the bound's own
    # x^P rounds too, hence the generous gamma (twice the bound); tiny covers underflow.
    g = rounding_gamma(power, z_lo.dtype)
    tiny = float(jnp.finfo(z_lo.dtype).smallest_normal)
    low = jax.lax.integer_pow(lo, power) * (1 - g) - tiny
    high = jax.lax.integer_pow(up, power) * (1 + g) + tiny
    return jnp.maximum(low, 0), high


def _ibp_cell(
    params: nets.Params, lo: jax.Array, hi: jax.Array, activation: str
) -> tuple[list[jax.Array], list[jax.Array]]:
    """Sound ``(lower, upper)`` of every hidden pre-activation over one box (lists of ``(l_k,)``),
    as :func:`jaxnn_nonconv.detector._intervals._ibp_cell` with the activation's intervals."""
    lows, ups = [], []
    low, up = lo, hi
    for w, b in params[:-1]:
        z_lo, z_up = ibp_affine(w, b, low, up)
        lows.append(z_lo)
        ups.append(z_up)
        low, up = post_interval(z_lo, z_up, activation)
    return lows, ups


def ibp_bounds(
    params: nets.Params, lo: jax.Array, hi: jax.Array, grid: int, activation: str
) -> tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]]:
    """Sound lower and upper bounds of every hidden pre-activation of a ``relu``, ``clip`` or
    ``repu:P`` net over the box, refined on a grid of sub-boxes (valid for the float network).

    Args:
      params: one network.
      lo, hi: ``(d,)`` box bounds.
      grid: sub-boxes per coordinate (``grid^d`` in all).
      activation: the hidden activation.

    Returns:
      ``(lower, upper)``: per hidden layer, ``(l_k,)`` min over sub-boxes of the lower bounds and
      max over sub-boxes of the upper ones.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))  # layer 2: 0.5 - |x|^2 for repu:2
    >>> low, up = ibp_bounds(params, jnp.array([-1.0]), jnp.array([1.0]), 8, "repu:2")
    >>> round(float(low[1][0]), 3), round(float(up[1][0]), 3)
    (-0.5, 0.5)
    """
    clo, chi = grid_cells(lo, hi, grid)
    lows, ups = jax.vmap(lambda a, b: _ibp_cell(params, a, b, activation))(clo, chi)
    return tuple(jnp.min(v, axis=0) for v in lows), tuple(jnp.max(v, axis=0) for v in ups)


def classify_activation(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    sample: jax.Array,
    probe: jax.Array | None,
    grid: int,
    activation: str,
) -> ActivationStatus:
    """Three-valued status of every hidden neuron of one ``clip`` or ``repu:P`` net (module
    docstring), any depth.

    Args:
      params: one network.
      lo, hi: ``(d,)`` box bounds.
      sample: ``(S, d)`` points of the box: the empirical check, and witnesses.
      probe: optional ``(P, d)`` more points of the box, witnesses only.
      grid: IBP sub-boxes per coordinate.
      activation: ``clip`` or ``repu:P`` (``relu`` works too, with IBP's certificates).

    Returns:
      An :class:`ActivationStatus`.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
    ...           (jnp.array([[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0]]),
    ...            jnp.array([1.5, 0.1, 0.25])),
    ...           (jnp.ones((1, 3)), jnp.zeros(1)))  # layer 2: 1.5 + |x|, 0.1 - |x|, 0.25 + |x|
    >>> lo, hi = jnp.array([-1.0]), jnp.array([1.0])
    >>> st = classify_activation(params, lo, hi, jnp.array([[0.5], [0.0]]), None, 16, "clip")
    >>> st.saturated[1].tolist(), st.active[1].tolist(), st.below_one[1].tolist()
    ([True, False, False], [True, True, True], [False, True, True])
    """
    points = sample if probe is None else jnp.concatenate([sample, probe.astype(sample.dtype)])
    # Full-precision products: on GPUs JAX's default may use TF32 (see detector._detect).
    with jax.default_matmul_precision("highest"):
        z = nets.hidden_preactivations(params, points, activation)  # the float network
    n_sample = sample.shape[0]
    empirical = tuple(~jnp.any(v[:n_sample] > 0, axis=0) for v in z)
    witness_pos = [jnp.any(v > 0, axis=0) for v in z]
    witness_below = [jnp.any(v < 1, axis=0) for v in z]
    dead_sign = sign_dead(params)
    low, up = ibp_bounds(params, lo, hi, grid, activation)
    inactive = [first_layer_inactive(params, lo, hi)]
    active = [first_layer_active(params, lo, hi) | witness_pos[0]]
    saturated = [first_layer_saturated(params, lo, hi)]
    below = [first_layer_below_one(params, lo, hi) | witness_below[0]]
    for k in range(1, len(params) - 1):
        inactive.append((up[k] <= 0) | dead_sign[k])
        active.append(witness_pos[k])
        saturated.append(low[k] >= 1)
        below.append(witness_below[k])
    inactive = dead_inputs_closure(params, tuple(inactive))
    if activation != "clip":  # saturation is a clip verdict
        saturated = [jnp.zeros_like(s) for s in saturated]
        below = [jnp.ones_like(b) for b in below]
    return ActivationStatus(
        inactive, tuple(active), tuple(saturated), tuple(below), dead_sign, empirical
    )
