"""``check`` of ``clip`` and ``repu:P`` nets: which activation, and their frozen neurons.

* :func:`resolve`: the activation a check uses: the one given (``--activation``), else the one the
  model states (:attr:`~jaxnn_nonconv.models.Model.activation`), else ``relu`` (said in the notes).
  A given activation that contradicts the model's own is refused.
* :func:`classify`: per hidden layer, the detector's certificates for these activations
  (:func:`jaxnn_nonconv.detector.classify_activation`: interval bounds on a sub-box grid, float
  witnesses, sound for the float network) and the interval bounds of every pre-activation.
* :func:`permanent_and_frozen`: the neurons no gradient training on the box can change and the
  parameters with zero gradient from now on. A **dead** ``clip`` neuron (``z <= 0`` on the box)
  outputs 0: its incoming weights, its bias and its outgoing weights get zero gradient, as for
  ReLU. A **saturated** one (``z >= 1`` on the box) outputs the constant 1: its incoming weights
  and bias get zero gradient (the derivative of ``clip`` is 0 there) but its outgoing weights
  still train (their gradient is the constant 1 times the downstream error). A first-layer frozen
  neuron stays frozen (its input, the data, never changes); so does a frozen neuron just after an
  entirely frozen layer (everything upstream has zero gradient), and a deeper dead one whose
  incoming weights and bias are all ``<= 0`` (its inputs are ``>= 0``).

Source: arXiv 2402.05155 (Cor. 3.15, Sec. 4: the related activations), 2212.13111 (setting 2, the
clipping activation); docs/theory.md sec. 3b.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector
from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import _loaders as loaders


def resolve(model: loaders.Model, given: str | None) -> tuple[str, tuple[str, ...]]:
    """``(activation, notes)`` of a check of ``model``: ``given`` if not ``None``, else the
    model's stated activation, else ``relu``; the notes replace the model's ("ReLU was assumed"
    becomes the activation given, when the model states none).

    Raises:
      ModelError: ``given`` is not ``relu``, ``clip`` or ``repu:P`` (``P >= 2``), or contradicts
        the model's stated activation.

    >>> m = loaders.build([("0", np.ones((2, 1)), None), ("1", np.ones((1, 2)), None)], "npz")
    >>> resolve(m, None)[0]
    'relu'
    >>> resolve(m, "clip")
    ('clip', ('the model states no activation: clip as given',))
    >>> resolve(m.__class__(m.params, m.layer_names, "npz", activation="relu"), "clip")
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.errors.ModelError: --activation clip contradicts the model's own activation relu (npz)
    """
    notes = tuple(model.notes)
    if given is None:
        return model.activation or "relu", notes
    name = loaders.stored_activation(given, "--activation")
    if model.activation is not None and name != model.activation:
        raise ModelError(
            f"--activation {name} contradicts the model's own activation {model.activation} "
            f"({model.source})"
        )
    if model.activation is None:
        notes = tuple(n for n in notes if n != loaders.RELU_ASSUMED)
        notes += (f"the model states no activation: {name} as given",)
    return name, notes


@functools.lru_cache(maxsize=8)
def _compiled(grid: int, activation: str):
    def run(params, lo, hi, sample, probe):
        st = detector.classify_activation(params, lo, hi, sample, probe, grid, activation)
        return st, detector.ibp_bounds(params, lo, hi, grid, activation)

    return jax.jit(run)


def classify(params, lo, hi, sample, probe, settings: detector.DetectorSettings, activation: str):
    """Certificates and bounds of one ``clip`` / ``repu:P`` net (any depth) on the box.

    Args:
      params: one network (JAX pairs of the check's dtype).
      lo, hi: ``(d,)`` box bounds; sample, probe: points of the box (witnesses).
      settings: its ``grid`` (default :func:`jaxnn_nonconv.detector.default_grid`) is the IBP
        grid; the mode does not matter (interval bounds whatever it is).
      activation: ``clip`` or ``repu:P``.

    Returns:
      ``(status, lower, upper)``: a :class:`jaxnn_nonconv.detector.ActivationStatus` of NumPy
      masks and, per hidden layer, ``(l_k,)`` float64 certified bounds of the pre-activations.
    """
    grid = settings.grid or detector.default_grid(int(np.shape(lo)[0]))
    args = (jnp.asarray(lo), jnp.asarray(hi), jnp.asarray(sample), jnp.asarray(probe))
    st, (low, up) = _compiled(int(grid), activation)(params, *args)
    st = jax.tree.map(np.asarray, st)
    return st, [np.asarray(v, np.float64) for v in low], [np.asarray(v, np.float64) for v in up]


def permanent_and_frozen(params, inactive, saturated, sign_dead):
    """Permanent dead and saturated neurons, and the number of parameters that can no longer
    change (module docstring).

    Args:
      params: one network, NumPy or JAX pairs.
      inactive, saturated, sign_dead: per hidden layer ``(l_k,)`` bool certificates.

    Returns:
      ``(permanent_dead, permanent_saturated, n_frozen)``: per hidden layer ``(l_k,)`` masks, and
      the count of parameters with zero gradient from now on.

    >>> params = ((np.ones((2, 1)), np.zeros(2)), (np.ones((1, 2)), np.zeros(1)))
    >>> d, s, n = permanent_and_frozen(
    ...     params, [np.array([True, False])], [np.array([False, True])], [np.zeros(2, bool)])
    >>> d[0].tolist(), s[0].tolist(), n  # dead: weight, bias, outgoing; saturated: weight, bias
    ([True, False], [False, True], 5)
    """
    dead = [np.asarray(m, bool) for m in inactive]
    sat = [np.asarray(m, bool) for m in saturated]
    frozen_layers = [k for k, (a, b) in enumerate(zip(dead, sat)) if (a | b).all()]
    last = max(frozen_layers, default=-2)  # 0-based; -2: none
    perm_dead, perm_sat = [], []
    for k, (a, b) in enumerate(zip(dead, sat)):
        keep = k == 0 or last >= k - 1
        perm_dead.append(a & (keep | np.asarray(sign_dead[k], bool)))
        perm_sat.append(b & keep)
    frozen_w = [np.zeros(np.shape(w), bool) for w, _ in params]
    frozen_b = [np.zeros(np.shape(b), bool) for _, b in params]
    for k, (a, b) in enumerate(zip(perm_dead, perm_sat)):
        frozen_w[k][a | b, :] = True
        frozen_b[k][a | b] = True
        frozen_w[k + 1][:, a] = True  # a saturated neuron's outgoing weights still train
    for k in range(last + 1):  # zero gradient up to an entirely frozen layer
        frozen_w[k][:] = True
        frozen_b[k][:] = True
    return perm_dead, perm_sat, int(sum(m.sum() for m in frozen_w + frozen_b))
