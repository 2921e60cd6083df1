"""Empirical risk levels of shallow ``d = 1`` nets on ``n`` points, and P(not reaching them).

The minimum empirical risk ``R^n_H = min_theta (1/n) sum_i (N_theta(x_i) - y_i)^2`` over
``[1, H, 1]`` ReLU nets (the data-driven setting of arXiv 2410.10533; the population levels of
arXiv 2402.05155 sec. 3.6 are :mod:`jaxnn_nonconv.estimation.levels`). It is bracketed, not
guessed:

* lower bound (:func:`segmented_lower`): a ``[1, H, 1]`` net is continuous and piecewise linear with
  at most ``H`` breakpoints, so the sorted points split into at most ``H + 1`` contiguous groups on
  each of which it is affine; the best separate least-squares line per group, minimized over the
  splits by dynamic programming (exact, ``O(H n^2)``), is at most its empirical risk.
* upper bound (:func:`empirical_levels`): the risk of nets that exist: the best constant
  (``Var y``, any ``H``), the best affine fit (``H >= 1``: one neuron active on all points), an
  interpolant (``0`` when ``H >= m - 1`` for ``m`` distinct ``x``, the interpolating regime the
  theorems exclude), and the best risk any trained trial reached.

A trial reached the minimum when its final empirical risk is at most ``R^n_H + tol``: certainly
when at most ``lower + tol``, certainly not when above ``upper + tol``; the probability of not
reaching it is bracketed between the two (:func:`not_reaching`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxnn_nonconv.stats import DEFAULT_CONFIDENCE, bracketed


def _group_sse(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sse[i, j]``: residual sum of squares of the least-squares line through points
    ``i..j-1`` (sorted by ``x``), ``(n + 1, n + 1)``, ``inf`` below the diagonal."""
    n = len(x)
    x = x - x.mean()
    y = y - y.mean()
    c = [np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones(n), x, y, x * x, x * y, y * y)]
    s1, sx, sy, sxx, sxy, syy = (a[None, :] - a[:, None] for a in c)  # sums over i..j-1
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(s1 > 0, s1, 1.0)
        cxx = sxx - sx * sx / m
        cxy = sxy - sx * sy / m
        cyy = syy - sy * sy / m
        # A group whose x are (numerically) equal gets its mean only: a smaller bound, still valid.
        flat = cxx <= 1e-12 * np.maximum(sxx, 1e-300)
        sse = np.where(flat, cyy, cyy - cxy * cxy / np.where(flat, 1.0, cxx))
    sse = np.maximum(sse, 0.0)
    return np.where(s1 > 0, sse, np.where(s1 == 0, 0.0, np.inf))


def segmented_lower(x: Any, y: Any, width: int) -> float:
    """Lower bound of the minimum empirical risk of ``[1, width, 1]`` nets on the points ``(x, y)``
    (module docstring): the best fit by ``width + 1`` separate lines on contiguous groups.

    >>> x = np.array([0.0, 1.0, 2.0, 3.0]); y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> segmented_lower(x, y, 0), segmented_lower(x, y, 1), segmented_lower(x, y, 3)
    (0.2, 0.0, 0.0)
    """
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    n = len(x)
    sse = _group_sse(x, y)
    best = sse[0].copy()  # one group: points 0..j-1
    for _ in range(width):
        best = np.minimum(best, np.min(best[:, None] + sse, axis=0))
    return float(best[n] / n)


def empirical_levels(
    x: Any, y: Any, width: int, best_found: float | None = None
) -> dict[str, float]:
    """``lower`` and ``upper`` bounds of the minimum empirical risk of ``[1, width, 1]`` nets on
    the points (module docstring); ``best_found``: the lowest empirical risk a trained net
    reached (an upper bound too).

    >>> x = np.linspace(0, 1, 5); lv = empirical_levels(x, x**2, 4)
    >>> lv["lower"], lv["upper"]
    (0.0, 0.0)
    """
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    upper = float(np.var(y))
    if width >= 1:
        design = np.column_stack([np.ones_like(x), x])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        upper = min(upper, float(np.mean((y - design @ coef) ** 2)))
        xs = np.unique(x)
        if width >= len(xs) - 1 and len(xs) == len(x):  # distinct x: a net interpolates them
            upper = 0.0
    if best_found is not None and np.isfinite(best_found):
        upper = min(upper, float(best_found))
    lower = min(segmented_lower(x, y, width), upper)
    return {"lower": lower, "upper": upper}


def not_reaching(
    risk: Any,
    diverged: Any,
    levels: dict[str, float],
    tol: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Any]:
    """P(a trial's final empirical risk is above the minimum ``+ tol``), bracketed between
    ``P(risk > upper + tol)`` (certain failures) and ``P(risk > lower + tol)``; a diverged trial
    fails. Returns the JSON entry (``estimate``, ``bracket``, ``ci``, ...).

    >>> out = not_reaching([0.0, 0.5, 1.0], [False, False, True], {"lower": 0.0, "upper": 0.4}, 0.1)
    >>> out["count_bracket"]  # 1.0: diverged; 0.5: above lower + tol only
    [1, 2]
    """
    risk = np.asarray(risk, np.float64)
    diverged = np.asarray(diverged, bool)
    certain = diverged | ~(risk <= levels["upper"] + tol)
    possible = diverged | ~(risk <= levels["lower"] + tol)
    est = bracketed(int(certain.sum()), int(possible.sum()), len(risk), confidence)
    return est.to_dict()
