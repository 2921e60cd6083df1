"""Exponential rates of success probabilities and the number of initializations they demand.

The theorems of arXiv 2006.07075, 2402.05155 and 2410.10533 say that P(not constant) and
P(no inactive neuron) decay exponentially in the depth ``L`` and the width ``H``. Given
measured ``log10 P`` (e.g. from :func:`jaxnn_nonconv.rare.rare_event`) along a sweep,
:func:`fit_rate` fits ``ln P ~ -rate * x + c`` with an interval for the rate, and
:func:`initializations_needed` turns a probability ``p`` of success per initialization into the
number ``K`` of independent initializations that gives a chance ``target`` that at least one
succeeds (2006.07075's point: ``K`` must grow exponentially in the depth).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy

LN10 = math.log(10.0)


def fit_rate(
    x: Sequence[float],
    log10_p: Sequence[float],
    log10_se: Sequence[float] | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Weighted least-squares fit of ``ln P = -rate * x + c`` with an interval for ``rate``.

    Args:
      x: ``(n,)`` depths or widths.
      log10_p: ``(n,)`` measured ``log10 P``.
      log10_se: optional ``(n,)`` standard errors of ``log10_p`` (weights ``1/se^2``). The
        slope's standard error is the larger of the one these imply and the one from the
        residuals (when ``n > 2``).
      confidence: interval level.

    Returns:
      ``{"rate", "rate_ci", "rate_log10", "intercept_log10", "n"}``: ``rate`` per unit of ``x``
      in natural-log units (``P ~ exp(-rate x)``), ``rate_log10`` in decades per unit.

    Raises:
      ValueError: fewer than 2 points, or fewer than 3 without ``log10_se``.

    >>> fit = fit_rate([10, 20, 30, 40], [-1.0, -2.0, -3.0, -4.0], [0.05] * 4)
    >>> round(fit["rate_log10"], 6), round(fit["rate"], 4)
    (0.1, 0.2303)
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(log10_p, np.float64)
    n = x.shape[0]
    if n < 2 or (log10_se is None and n < 3):
        raise ValueError(f"need >= 3 points (>= 2 with standard errors), got {n}")
    w = np.ones(n) if log10_se is None else 1.0 / np.maximum(np.asarray(log10_se), 1e-12) ** 2
    xm, ym = np.sum(w * x) / np.sum(w), np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    ses, dof = [], math.inf
    if log10_se is not None:
        ses.append(math.sqrt(1.0 / sxx))
    if n > 2:
        ses.append(math.sqrt(float(np.sum(w * resid**2)) / (n - 2) / sxx))
        dof = n - 2
    se = max(ses)
    q = (
        float(scipy.stats.t.ppf(0.5 + confidence / 2, dof))
        if math.isfinite(dof)
        else float(scipy.stats.norm.ppf(0.5 + confidence / 2))
    )
    rate10 = -slope
    return {
        "rate": rate10 * LN10,
        "rate_ci": [(rate10 - q * se) * LN10, (rate10 + q * se) * LN10],
        "rate_log10": rate10,
        "rate_log10_ci": [rate10 - q * se, rate10 + q * se],
        "intercept_log10": intercept,
        "n": n,
    }


def bound_rate_depth(width: int) -> float:
    """Rate in the depth of the upper bound ``P(not constant) <= (1 - 2^-(N(N+1)))^(L-1)``.

    A hidden layer ``k >= 2`` of width ``N`` with symmetric continuous weights and biases is
    entirely sign-dead with probability ``2^-(N(N+1))`` (arXiv 2006.07075), so the bound's rate is
    ``-ln(1 - 2^-(N(N+1)))`` per layer.

    >>> round(bound_rate_depth(2), 6)
    0.015748
    """
    return -math.log1p(-(2.0 ** -(width * (width + 1))))


def log10_initializations_needed(log10_p: float | None, target: float = 0.5) -> float | None:
    """``log10 K``: the fewest independent initializations with P(at least one succeeds) >= target.

    ``K = ln(1 - target) / ln(1 - p)`` (rounded up), computed in log10 so that ``p`` may be far
    below the smallest float. ``None`` when ``p = 0`` (``K`` infinite).

    >>> round(10 ** log10_initializations_needed(math.log10(0.5), 0.75), 6)
    2.0
    >>> round(log10_initializations_needed(-100.0), 3)  # ln 2 / 1e-100
    99.841
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be in (0, 1), got {target}")
    if log10_p is None:
        return None
    if log10_p >= 0:
        return 0.0
    p = 10.0**log10_p
    if p > 1e-8:
        k = math.ceil(math.log1p(-target) / math.log1p(-p) - 1e-12)
        return math.log10(max(k, 1))
    return math.log10(-math.log1p(-target)) - log10_p


def initializations_needed(entry: dict[str, Any], target: float = 0.5) -> dict[str, Any]:
    """``K`` with its interval from a probability entry (``log10_estimate``, ``log10_ci`` and,
    when present, ``log10_bracket``).

    A larger ``p`` needs fewer initializations, so the ends swap. As every point value of the
    JSON (docs/api.md), ``log10_K`` is a number (or ``None``), the value at the probability's
    estimate (the bracket's midpoint); ``log10_K_bracket`` holds the values at the bracket's ends.

    >>> e = {"log10_estimate": -2.0, "log10_ci": [-2.1, -1.9]}
    >>> k = initializations_needed(e)
    >>> round(k["log10_K"], 3), [round(v, 3) for v in k["log10_K_ci"]], k["log10_K_bracket"][0]
    (1.839, [1.74, 1.94], 1.8388490907372552)
    """
    est = entry["log10_estimate"]
    lo, hi = entry["log10_ci"]
    b_lo, b_hi = entry.get("log10_bracket") or (est, est)
    return {
        "target": target,
        "log10_K": log10_initializations_needed(est, target),
        "log10_K_bracket": [
            log10_initializations_needed(b_hi, target),
            log10_initializations_needed(b_lo, target),
        ],
        "log10_K_ci": [
            log10_initializations_needed(hi, target),
            log10_initializations_needed(lo, target),
        ],
    }
