"""Closed forms for the clipping activation at initialization: P(first-layer neuron frozen).

A ``clip`` neuron (``min(max(z, 0), 1)``) is *frozen* on the box when its pre-activation is ``<= 0``
everywhere (dead, probability ``p`` of :func:`jaxnn_nonconv.stats.theory.first_layer_p`) or ``>= 1``
everywhere (saturated); both give zero gradient to its incoming weights, its bias and its outgoing
weight (docs/theory.md sec. 3b). Unlike ``p``, the saturated probability depends on the scale:
the threshold 1 is not invariant under scaling ``(w, c)``. ``d = 1``, box ``[a, b]``, first-layer
weight ``w`` and bias ``c`` i.i.d. with standard deviation ``s`` (:func:`layer_spread`):

* normal: ``(c + w a, c + w b)`` is bivariate normal with variances ``s^2 (1 + a^2)``,
  ``s^2 (1 + b^2)`` and correlation ``rho = (1 + a b) / sqrt((1 + a^2)(1 + b^2))``; saturated is
  the upper orthant beyond ``(1, 1)``, given by Owen's ``T`` function (:func:`p_saturated`).
* uniform ``U(-h, h)``: with ``u = w/h, v = c/h`` uniform on ``[-1, 1]``, saturated iff
  ``v >= 1/h - min(u a, u b)``, a clamped linear function of ``u`` on each sign of ``u``:
  ``P = (I(alpha, a/2) + I(alpha, -b/2)) / 2`` with ``alpha = (1 - 1/h)/2`` and
  ``I(alpha, beta) = int_0^1 clamp(alpha + beta u, 0, 1) du`` (:func:`_mean_clamped`).
* zero bias: ``min(w a, w b) >= 1`` needs ``0 < a`` (then ``w >= 1/a``) or ``b < 0`` (then
  ``w <= 1/b``); impossible when ``a <= 0 <= b``.

Power ReLU ``repu:P`` is inactive exactly when ReLU is (``max(z, 0)^P`` and its derivative vanish
exactly where ``z <= 0``), so its closed forms are ReLU's. Source: arXiv 2402.05155 (Cor. 3.15,
Sec. 4: the "related activations"); derivation in docs/theory.md sec. 3b (ours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import scipy

from jaxnn_nonconv.core import inits
from jaxnn_nonconv.stats._theory import NORMAL_FAMILIES, UNIFORM_FAMILIES, first_layer_p


def layer_spread(init: str, fan_in: int, fan_out: int, scale: float = 1.0) -> float:
    """The first layer's spread: the standard deviation (normal families) or the half-width
    ``sqrt(3)`` std (uniform families) of one weight and one bias.

    >>> layer_spread("pytorch", 1, 8), layer_spread("normal", 1, 8)
    (1.0, 1.0)
    """
    std = inits.layer_std(init, fan_in, fan_out, scale)
    return std * math.sqrt(3.0) if init in UNIFORM_FAMILIES else std


def _ramp_integral(x: float) -> float:
    """``int_{-inf}^x clamp(y, 0, 1) dy``."""
    if x <= 0:
        return 0.0
    if x <= 1:
        return x * x / 2
    return x - 0.5


def _mean_clamped(alpha: float, beta: float) -> float:
    """``int_0^1 clamp(alpha + beta u, 0, 1) du``.

    >>> _mean_clamped(0.5, 0.0), _mean_clamped(0.0, 1.0), _mean_clamped(-1.0, 4.0)
    (0.5, 0.5, 0.625)
    """
    if beta == 0:
        return min(max(alpha, 0.0), 1.0)
    return (_ramp_integral(alpha + beta) - _ramp_integral(alpha)) / beta


def _upper_orthant(h: float, k: float, rho: float) -> float:
    """``P(X > h, Y > k)`` for standard bivariate normal ``(X, Y)`` with correlation ``rho``,
    ``h, k > 0``, ``|rho| < 1`` (Owen 1956: ``Phi(-h)/2 + Phi(-k)/2 - T(h, a_h) - T(k, a_k)``)."""
    r = math.sqrt(1 - rho * rho)
    a_h, a_k = (k - rho * h) / (h * r), (h - rho * k) / (k * r)
    value = (scipy.special.ndtr(-h) + scipy.special.ndtr(-k)) / 2
    return float(value - scipy.special.owens_t(h, a_h) - scipy.special.owens_t(k, a_k))


def p_saturated(
    init: str,
    box: Sequence[tuple[float, float]],
    zero_bias: bool = False,
    *,
    width: int = 1,
    scale: float = 1.0,
) -> float | None:
    """P(a first-layer neuron's pre-activation is ``>= 1`` on the whole box) at initialization.

    Args:
      init: a symmetric init family (normal or uniform); ``rai`` has no closed form (``None``).
      box: ``((a, b),)``: ``d = 1`` only (``None`` otherwise).
      zero_bias: all biases 0.
      width: ``l_1`` (the Glorot families' spread depends on it).
      scale: the init's ``scale``.

    >>> p_saturated("pytorch", [(0.0, 2.0)])  # U(-1, 1): c + w x >= 1 at x = 0 needs c >= 1
    0.0
    >>> round(p_saturated("he_uniform", [(-0.5, 1.0)]), 6)  # U(-sqrt 6, sqrt 6)
    0.129209
    >>> p_saturated("normal", [(-1.0, 1.0)], zero_bias=True)
    0.0
    """
    if len(box) != 1 or init not in NORMAL_FAMILIES | UNIFORM_FAMILIES:
        return None
    (a, b), s = box[0], layer_spread(init, 1, width, scale)
    normal = init in NORMAL_FAMILIES
    if zero_bias:
        if a <= 0 <= b:
            return 0.0
        t = 1.0 / (a if a > 0 else -b)  # w >= 1/a (a > 0) or -w >= 1/|b| (b < 0)
        return float(scipy.special.ndtr(-t / s)) if normal else max(0.0, 1.0 - t / s) / 2
    if normal:
        sx, sy = s * math.sqrt(1 + a * a), s * math.sqrt(1 + b * b)
        rho = (1 + a * b) / math.sqrt((1 + a * a) * (1 + b * b))
        return _upper_orthant(1.0 / sx, 1.0 / sy, rho)
    alpha = (1.0 - 1.0 / s) / 2
    return (_mean_clamped(alpha, a / 2) + _mean_clamped(alpha, -b / 2)) / 2


def p_frozen(
    init: str,
    box: Sequence[tuple[float, float]],
    zero_bias: bool = False,
    *,
    width: int = 1,
    scale: float = 1.0,
) -> float | None:
    """P(a first-layer ``clip`` neuron is frozen at initialization) = ``p`` (dead) + saturated
    (disjoint: dead needs the maximum ``<= 0``, saturated the minimum ``>= 1``).

    >>> round(p_frozen("normal", [(0.0, 1.0)]), 6)  # p = 3/8 plus saturated 0.108068
    0.483068
    """
    dead = first_layer_p(init, box, zero_bias)
    sat = p_saturated(init, box, zero_bias, width=width, scale=scale)
    return None if dead is None or sat is None else dead + sat
