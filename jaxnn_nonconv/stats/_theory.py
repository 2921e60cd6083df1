"""Closed forms and bounds of docs/theory.md sec. 3 and 4, shown next to the engine's estimates.

Pure Python / NumPy; no JAX. Probabilities are per neuron unless the name says otherwise.

Notation: ``p`` is the probability that a first-layer neuron is inactive on the box,
``q_k`` the probability that a neuron of hidden layer ``k >= 2`` is sign-dead (all incoming weights
and the bias ``<= 0``). For the symmetric init families (all but ``rai``) a layer's weights and bias
are i.i.d. with one symmetric continuous law, so ``p`` depends only on the family's shape
(normal or uniform), the box and ``zero_bias``, not on the scale or the fan-in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NORMAL_FAMILIES = frozenset({"normal", "he_normal", "glorot_normal"})
UNIFORM_FAMILIES = frozenset({"pytorch", "he_uniform", "glorot_uniform"})
SYMMETRIC_FAMILIES = NORMAL_FAMILIES | UNIFORM_FAMILIES

Box = Sequence[tuple[float, float]]


def p_normal_1d(a: float, b: float) -> float:
    """First-layer ``p`` on ``[a, b]`` for ``w, c ~ N(0, s^2)`` (same ``s``).

    ``(c + a w, c + b w)`` is centered Gaussian with correlation
    ``rho = (ab + 1) / sqrt((a^2+1)(b^2+1))``; both ``<= 0`` with probability
    ``1/2 - arccos(rho) / (2 pi)``.

    >>> p_normal_1d(0, 1), p_normal_1d(-1, 1)
    (0.375, 0.25)
    """
    rho = (a * b + 1) / math.sqrt((a * a + 1) * (b * b + 1))
    return 0.5 - math.acos(max(-1.0, min(1.0, rho))) / (2 * math.pi)


def _uniform_g(t: float) -> float:
    """``E_u clip((1 - t u) / 2, 0, 1)`` for ``u ~ U(0, 1)``: P(c <= -t u) for ``c ~ U(-1, 1)``."""
    if abs(t) <= 1:
        return 0.5 - t / 4
    if t > 1:
        return 1 / (4 * t)
    return 1 - 1 / (4 * abs(t))


def p_uniform_1d(a: float, b: float) -> float:
    """First-layer ``p`` on ``[a, b]`` for ``w, c ~ U(-B, B)`` (PyTorch's default for ``d = 1``).

    ``p = (G(b) + G(-a)) / 2`` with ``G(t) = 1/2 - t/4`` (``|t| <= 1``), ``1/(4t)`` (``t > 1``),
    ``1 - 1/(4|t|)`` (``t < -1``). On ``[0, b]`` this is docs/theory.md's ``1/2 - b/8`` (``b <= 1``),
    ``1/4 + 1/(8b)`` (``b >= 1``); on ``[-c, c]`` ``1/2 - c/4`` (``c <= 1``), ``1/(4c)``
    (``c >= 1``).

    >>> p_uniform_1d(0, 1), p_uniform_1d(0, 2), p_uniform_1d(-2, 2)
    (0.375, 0.3125, 0.125)
    """
    return (_uniform_g(b) + _uniform_g(-a)) / 2


def p_uniform_unit_cube(d: int) -> float:
    """First-layer ``p`` on ``[0, 1]^d``, uniform weights and bias.

    ``p = 2^(-d-1) sum_k C(d,k)/(k+1)!``: given ``k`` positive weights, P(``-c >= `` a sum of ``k``
    uniforms) is ``1/(2 (k+1)!)``.

    >>> p_uniform_unit_cube(1), round(p_uniform_unit_cube(2), 6)
    (0.375, 0.270833)
    """
    return 2.0 ** (-d - 1) * sum(math.comb(d, k) / math.factorial(k + 1) for k in range(d + 1))


def p_uniform_symmetric_cube(d: int) -> float:
    """First-layer ``p`` on ``[-1, 1]^d``, uniform weights and bias: ``1 / (2 (d+1)!)``.

    >>> p_uniform_symmetric_cube(1), p_uniform_symmetric_cube(3)
    (0.25, 0.020833333333333332)
    """
    return 1.0 / (2 * math.factorial(d + 1))


def first_layer_p(init: str, box: Box, zero_bias: bool = False) -> float | None:
    """Closed-form ``p`` = P(a first-layer neuron is inactive on ``box``), or None if not known.

    Known: any symmetric family with zero bias when every coordinate interval contains 0 (then the
    max ``sum_j max(a_j w_j, b_j w_j)`` is a sum of terms ``>= 0``, all 0 iff every ``w_j`` has the
    sign that makes its term 0: ``2^-d`` when 0 is an endpoint of every interval, 0 when it is inside
    one), and on any ``d = 1`` box (``1/2`` when ``0`` is outside ``[a, b]``: inactive iff ``w`` has
    the sign of ``-a``); normal families on any ``d = 1`` box; uniform families (``pytorch``,
    ``he_uniform``, ``glorot_uniform``) on any ``d = 1`` box, on ``[0, 1]^d`` and on ``[-1, 1]^d``.

    >>> first_layer_p("normal", [(0, 1)]), first_layer_p("pytorch", [(-1, 1)] * 2)
    (0.375, 0.08333333333333333)
    >>> first_layer_p("he_normal", [(0, 1)] * 3, zero_bias=True), first_layer_p("rai", [(0, 1)])
    (0.125, None)
    >>> first_layer_p("normal", [(1, 2)], zero_bias=True), first_layer_p("normal", [(-1, 1)], True)
    (0.5, 0.0)
    """
    box = [(float(a), float(b)) for a, b in box]
    d = len(box)
    if init not in SYMMETRIC_FAMILIES:
        return None
    if zero_bias:
        if all(a <= 0 <= b for a, b in box):
            return 0.0 if any(a < 0 < b for a, b in box) else 2.0**-d
        if d == 1:
            return 0.5  # 0 outside [a, b]: a w and b w share the sign of w (times sign a)
        return None
    if d == 1:
        ((a, b),) = box
        return p_normal_1d(a, b) if init in NORMAL_FAMILIES else p_uniform_1d(a, b)
    if init in UNIFORM_FAMILIES:
        if all((a, b) == (0.0, 1.0) for a, b in box):
            return p_uniform_unit_cube(d)
        if all((a, b) == (-1.0, 1.0) for a, b in box):
            return p_uniform_symmetric_cube(d)
    return None


def sign_dead_q(fan_in: int, init: str, zero_bias: bool = False) -> float | None:
    """P(a neuron of a layer ``k >= 2`` with ``fan_in = l_{k-1}`` inputs is sign-dead).

    ``2^-(fan_in + 1)`` for symmetric continuous weights and bias, ``2^-fan_in`` with zero bias,
    0 for ``rai`` (one entry of every row is a positive Beta draw), None for unknown families.

    >>> sign_dead_q(3, "pytorch"), sign_dead_q(3, "normal", zero_bias=True), sign_dead_q(3, "rai")
    (0.0625, 0.125, 0.0)
    """
    if init == "rai":
        return 0.0
    if init not in SYMMETRIC_FAMILIES:
        return None
    return 2.0 ** -(fan_in if zero_bias else fan_in + 1)


def shallow_success_upper_bound(p: float, width: int) -> float:
    """Shallow nets (001, Thm 4.2): ``P(converge to a global minimizer) <= (1 - p)^H``.

    Also the exact probability that none of ``H`` first-layer neurons is inactive.

    >>> shallow_success_upper_bound(0.25, 2)
    0.5625
    """
    return (1.0 - p) ** width


def no_inactive_upper_bound(
    arch: Sequence[int], init: str, zero_bias: bool = False, p: float | None = None
) -> float | None:
    """Deep product bound (000): P(no permanently inactive neuron) upper bound.

    ``P(no permanently inactive neuron) <= (1-p)^l_1 prod_{k=2..L} (1-q_k)^l_k``.

    ``p`` is the first-layer probability (:func:`first_layer_p`); with ``p`` None the first-layer
    factor is dropped (a weaker but still valid bound). None when some ``q_k`` is unknown.

    >>> no_inactive_upper_bound((1, 2, 2, 1), "pytorch", p=0.5)  # 0.25 * (7/8)^2
    0.19140625
    """
    arch = tuple(arch)
    bound = 1.0 if p is None else (1.0 - p) ** arch[1]
    for k in range(2, len(arch) - 1):
        q = sign_dead_q(arch[k - 1], init, zero_bias)
        if q is None:
            return None
        bound *= (1.0 - q) ** arch[k]
    return bound


def log_no_inactive(arch, init, zero_bias, p) -> float | None:
    """``log`` of :func:`no_inactive_upper_bound`, summed with ``log1p`` (accurate for tiny ``p``)."""
    arch = tuple(arch)
    total = 0.0 if p is None else _times_log1p(arch[1], -p)
    for k in range(2, len(arch) - 1):
        q = sign_dead_q(arch[k - 1], init, zero_bias)
        if q is None:
            return None
        total += _times_log1p(arch[k], -q)
    return total


def _times_log1p(n: int, x: float) -> float:
    """``n log(1 + x)`` for ``x >= -1`` (``-inf`` at ``x = -1``)."""
    return -math.inf if x <= -1 else n * math.log1p(x)


def any_inactive_lower_bound(
    arch: Sequence[int], init: str, zero_bias: bool = False, p: float | None = None
) -> float | None:
    """``P(at least one permanently inactive neuron) >= 1 -`` :func:`no_inactive_upper_bound`.

    For a shallow net with known ``p`` it is the exact value ``1 - (1-p)^H``. None when nothing is
    known (unknown ``q_k``, or a shallow net with unknown ``p``).

    >>> round(any_inactive_lower_bound((1, 32, 1), "pytorch", p=0.3125), 7)
    0.9999938
    """
    arch = tuple(arch)
    if p is None and len(arch) == 3:
        return None
    log_upper = log_no_inactive(arch, init, zero_bias, p)
    return None if log_upper is None else -math.expm1(log_upper)


def constant_network_lower_bound(
    arch: Sequence[int], init: str, zero_bias: bool = False, p: float | None = None
) -> float | None:
    """Dead-layer bound (003): ``P(constant net) >= 1 - (1 - p^l_1) prod_{k>=2} (1 - q_k^l_k)``.

    A hidden layer that is entirely inactive makes the realization constant; the layers' events are
    independent. With width ``N`` in every layer ``k >= 2`` this is docs/theory.md's
    ``1 - (1 - 2^-(N(N+1)))^(L-1)`` (plus the first layer's share ``p^l_1`` when ``p`` is given).

    >>> round(constant_network_lower_bound((1, 2, 2, 2, 1), "normal"), 15)  # 1 - (1 - 2^-6)^2
    0.031005859375
    """
    arch = tuple(arch)
    log_stay = 0.0 if p is None else _times_log1p(1, -(p ** arch[1]))
    for k in range(2, len(arch) - 1):
        q = sign_dead_q(arch[k - 1], init, zero_bias)
        if q is None:
            return None
        log_stay += _times_log1p(1, -(q ** arch[k]))
    return -math.expm1(log_stay)  # 1 - stay without cancellation when stay is close to 1


def initializations_needed(p_constant: float, delta: float = 0.5) -> float:
    """Least ``K`` with ``p_constant^K <= delta``: fewer independent initializations leave
    ``P(all K constant) >= p_constant^K > delta``. Infinite when ``p_constant = 1``.

    >>> initializations_needed(0.5, 0.01)
    7
    >>> initializations_needed(0.0)
    1
    """
    if p_constant <= 0:
        return 1
    if p_constant >= 1:
        return math.inf
    return max(1, math.ceil(math.log(delta) / math.log(p_constant) - 1e-12))


def summary(arch: Sequence[int], init: str, box: Box, zero_bias: bool = False) -> dict:
    """Every prediction of this module for one setting, as a JSON-friendly dict (None = unknown).

    >>> s = summary((1, 4, 1), "pytorch", [(0, 2)])
    >>> s["first_layer_p"], round(s["any_inactive_lower_bound"], 6)
    (0.3125, 0.776596)
    """
    arch = tuple(arch)
    p = first_layer_p(init, box, zero_bias)
    q = [sign_dead_q(arch[k - 1], init, zero_bias) for k in range(2, len(arch) - 1)]
    const = constant_network_lower_bound(arch, init, zero_bias, p)
    return {
        "first_layer_p": p,
        "sign_dead_q": [None, *q],
        "shallow_success_upper_bound": None if p is None else (1 - p) ** arch[1],
        "no_inactive_upper_bound": no_inactive_upper_bound(arch, init, zero_bias, p),
        "any_inactive_lower_bound": any_inactive_lower_bound(arch, init, zero_bias, p),
        "constant_network_lower_bound": const,
        "initializations_needed_for_half": None
        if const is None or const >= 1
        else initializations_needed(const, 0.5),
    }
