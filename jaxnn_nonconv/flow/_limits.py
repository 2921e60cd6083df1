"""Where trajectories stop: the ladder of known critical values, fitted rates, boundedness, and
the summary the ``flow`` command prints.

The ladder of a ``d = 1`` problem (arXiv 2402.05155 Sec. 3.6, Prop. 2.10): ``var_f`` (the best
constant, ``R_0``), ``affine`` (the best affine risk) and, for a shallow ``[1, H, 1]`` net, the
levels ``R_1..R_H`` (least squares over the output layer, minimum over kinks:
:func:`jaxnn_nonconv.exact.lsq.lsq_levels`). A final risk sits at a rung when it is within
``frac`` times the smaller of the gap to the nearest other rung and the rung itself (the rule of
:func:`jaxnn_nonconv.estimation.levels.tolerances`); otherwise it is ``other`` (clustered by value:
a non-optimal critical point off the ladder) when ``||grad R|| <= CRITICAL_GRAD`` at the end,
``not_converged`` when the gradient is larger, ``diverged`` when the trajectory diverged.

Rates: on the recorded times ``t`` in ``[t_max / 100, t_final]`` (the last two decades) the
exponents ``alpha`` of ``R(theta_t) - R_inf ~ t^alpha`` and ``||grad R(theta_t)|| ~ t^beta``
are least-squares slopes in log-log coordinates, with 95% t-intervals from their standard errors.
``R_inf`` is the rung the trajectory reached (its final risk when ``other``); points with
``R - R_inf <= 1e-13 max(1, R_inf)`` (rounding) are left out, and at least 4 points are needed.
"""

from __future__ import annotations

import math

import numpy as np
import scipy

from jaxnn_nonconv.core import problems
from jaxnn_nonconv.flow import _dynamics

LIMIT_FRAC = 0.01
CRITICAL_GRAD = 1e-6  # an end off the ladder with a smaller gradient counts as a critical point
FIT_DECADES = 2.0
QUANTILES = {
    "min": 0.0,
    "q05": 0.05,
    "q25": 0.25,
    "median": 0.5,
    "q75": 0.75,
    "q95": 0.95,
    "max": 1.0,
}


def ladder(
    problem: problems.Problem, arch, *, starts: int = 2, seed: int = 0
) -> list[tuple[str, float]]:
    """``[(name, value), ...]``: ``var_f``, ``affine`` and (shallow nets) ``R_1..R_H``.

    Raises:
      ValueError: no exact risk for ``problem``.
    """
    from jaxnn_nonconv.exact import lsq

    problem, arch = _dynamics.check_problem(problem, arch)
    ref = problems.reference_levels(problem)
    rungs = [("var_f", float(ref.constant)), ("affine", float(ref.affine))]
    if len(arch) == 3:
        found = lsq.lsq_levels(problem, arch[1], starts=starts, maxiter=300, seed=seed)
        rungs += [(f"R_{lv.width}", lv.risk + problem.noise**2) for lv in found]
    return merge_equal(rungs)


def merge_equal(rungs, tol: float = 1e-12) -> list[tuple[str, float]]:
    """Rungs with equal values (within ``tol (1 + |value|)``) merged into one named
    ``a=b`` (e.g. ``var_f=affine`` for a symmetric target, ``R_2=R_3`` once ``R_2`` is the
    global minimum): a risk cannot tell them apart.

    >>> merge_equal([("var_f", 1.0), ("affine", 1.0), ("R_1", 0.5), ("R_2", 0.0), ("R_3", 0.0)])
    [('var_f=affine', 1.0), ('R_1', 0.5), ('R_2=R_3', 0.0)]
    """
    out: list[tuple[str, float]] = []
    for name, value in rungs:
        for i, (n, v) in enumerate(out):
            if abs(v - value) <= tol * (1 + abs(value)):
                out[i] = (f"{n}={name}", v)
                break
        else:
            out.append((name, value))
    return out


def classify(
    risk: np.ndarray, diverged: np.ndarray, rungs, grad=None, frac: float = LIMIT_FRAC
) -> np.ndarray:
    """The rung name of each final risk, ``other``, ``not_converged`` (off the ladder with final
    gradient norm above ``CRITICAL_GRAD``; needs ``grad``) or ``diverged``: ``(M,)`` objects.

    >>> classify(np.array([1.0, 0.5001, 0.7, 0.8, 2.0]), np.array([0, 0, 0, 0, 1], bool),
    ...          [("var_f", 1.0), ("R_1", 0.5)], np.array([0, 0, 0, 1e-3, 0])).tolist()
    ['var_f', 'R_1', 'other', 'not_converged', 'diverged']
    """
    names = [n for n, _ in rungs]
    values = np.array([v for _, v in rungs], np.float64)
    out = np.full(len(risk), "other", dtype=object)
    for i, r in enumerate(np.asarray(risk, np.float64)):
        if diverged[i] or not np.isfinite(r):
            out[i] = "diverged"
            continue
        others = np.abs(values[:, None] - values[None, :])
        np.fill_diagonal(others, np.inf)
        nearest = others.min(axis=1)
        tol = frac * np.where(values > 0, np.minimum(nearest, values), nearest)
        hit = np.flatnonzero(np.abs(r - values) <= tol)
        if hit.size:
            out[i] = names[hit[np.argmin(np.abs(r - values[hit]))]]
        elif grad is not None and not grad[i] <= CRITICAL_GRAD:
            out[i] = "not_converged"
    return out


def limits(risk, names, rungs, rel: float = 1e-4) -> list[dict]:
    """``[{name, risk, count}, ...]``: the rungs reached (their value), then the ``other`` final
    risks clustered within ``rel`` relative (the cluster's median), then ``not_converged`` (the
    median of those risks) and ``diverged`` (``risk: None``)."""
    risk = np.asarray(risk, np.float64)
    out = []
    for name, value in rungs:
        n = int(np.sum(names == name))
        if n:
            out.append({"name": name, "risk": float(value), "count": n})
    other = np.sort(risk[names == "other"])[::-1]
    start = 0
    for i in range(1, len(other) + 1):
        if i == len(other) or abs(other[i] - other[start]) > rel * max(abs(other[start]), 1e-300):
            cluster = other[start:i]
            out.append({"name": "other", "risk": float(np.median(cluster)), "count": len(cluster)})
            start = i
    moving = risk[names == "not_converged"]
    if moving.size:
        out.append(
            {"name": "not_converged", "risk": float(np.median(moving)), "count": moving.size}
        )
    n_div = int(np.sum(names == "diverged"))
    if n_div:
        out.append({"name": "diverged", "risk": None, "count": n_div})
    return out


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope of ``log y`` on ``log t`` and its 95% interval; NaNs with fewer than 4 points."""
    if len(t) < 4:
        return math.nan, math.nan, math.nan
    x, z = np.log(t), np.log(y)
    res = scipy.stats.linregress(x, z)
    half = scipy.stats.t.ppf(0.975, len(t) - 2) * res.stderr
    return float(res.slope), float(res.slope - half), float(res.slope + half)


def rates(result: dict, r_inf: np.ndarray, t_max: float) -> dict[str, np.ndarray]:
    """Per trajectory: ``risk_exponent``, ``risk_lo``, ``risk_hi``, ``grad_exponent``,
    ``grad_lo``, ``grad_hi`` (``(M,)`` each, NaN where not fittable; module docstring)."""
    m = len(result["risk_final"])
    out = {
        k: np.full(m, np.nan) for k in ("risk", "risk_lo", "risk_hi", "grad", "grad_lo", "grad_hi")
    }
    ts = np.asarray(result["ts"], np.float64)
    for i in range(m):
        window = (ts >= t_max * 10**-FIT_DECADES) & (ts <= result["t_final"][i]) & (ts > 0)
        if result["diverged"][i]:
            continue
        gap = result["risk_traj"][i] - r_inf[i]
        keep = window & (gap > 1e-13 * max(1.0, abs(r_inf[i])))
        out["risk"][i], out["risk_lo"][i], out["risk_hi"][i] = _fit(ts[keep], gap[keep])
        g = result["grad_traj"][i]
        keep = window & (g > 0) & np.isfinite(g)
        out["grad"][i], out["grad_lo"][i], out["grad_hi"][i] = _fit(ts[keep], g[keep])
    return {
        "risk_exponent": out["risk"],
        "risk_lo": out["risk_lo"],
        "risk_hi": out["risk_hi"],
        "grad_exponent": out["grad"],
        "grad_lo": out["grad_lo"],
        "grad_hi": out["grad_hi"],
    }


def median_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median of the finite values and a distribution-free interval for it (order statistics of
    the binomial); NaNs when empty."""
    x = np.sort(np.asarray(x, np.float64)[np.isfinite(x)])
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    lo = int(scipy.stats.binom.ppf((1 - level) / 2, n, 0.5))
    hi = int(scipy.stats.binom.isf((1 - level) / 2, n, 0.5))
    return float(np.median(x)), float(x[max(lo - 1, 0)]), float(x[min(hi, n - 1)])


def quantiles(x: np.ndarray) -> dict[str, float | None]:
    """``min, q05, q25, median, q75, q95, max`` of the finite values (``None`` when none)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    return {k: (float(np.quantile(x, q)) if x.size else None) for k, q in QUANTILES.items()}


def _none(v):
    return None if v is None or not math.isfinite(v) else float(v)


def summarize(
    result: dict,
    arch,
    problem: problems.Problem,
    settings,
    rungs,
    *,
    slope_bound: float = 1e3,
    frac: float = LIMIT_FRAC,
) -> dict:
    """The ``flow`` command's JSON: ``trials``, ``method``, ``limits``, ``rate``,
    ``bounded_fraction``, ``invariant_drift_max``, ``risk_final``, ``grad_norm_final``.

    ``rate`` has the median per-trajectory exponents with distribution-free 95% intervals
    (:func:`median_interval`); ``bounded_fraction`` is the fraction of trajectories that did not
    diverge and end with realization slope factor (:func:`jaxnn_nonconv.flow.dynamics.max_slope`)
    at most ``slope_bound``. NaN and infinities are written as ``None``.
    """
    names = classify(
        result["risk_final"], result["diverged"], rungs, result["grad_norm_final"], frac
    )
    value = dict(rungs)
    r_inf = np.array(
        [value.get(n, r) for n, r in zip(names, result["risk_final"])], dtype=np.float64
    )
    fit = rates(result, r_inf, settings.t_max)
    slope = _dynamics.max_slope(result["params"], arch)
    bounded = ~result["diverged"] & np.isfinite(slope) & (slope <= slope_bound)
    a, a_lo, a_hi = median_interval(fit["risk_exponent"])
    b, b_lo, b_hi = median_interval(fit["grad_exponent"])
    drift = result["drift"][~result["diverged"]]
    return {
        "trials": len(result["risk_final"]),
        "method": settings.method,
        "limits": limits(result["risk_final"], names, rungs),
        "rate": {
            "risk_exponent": _none(a),
            "risk_interval": [_none(a_lo), _none(a_hi)],
            "grad_exponent": _none(b),
            "grad_interval": [_none(b_lo), _none(b_hi)],
            "fitted": int(np.sum(np.isfinite(fit["risk_exponent"]))),
        },
        "bounded_fraction": float(np.mean(bounded)),
        "invariant_drift_max": _none(float(drift.max())) if drift.size else None,
        "risk_final": quantiles(result["risk_final"]),
        "grad_norm_final": quantiles(result["grad_norm_final"]),
    }
