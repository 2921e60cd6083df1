"""Exact completion of undecided neurons by a mixed-integer program per neuron (small nets only).

For a deep neuron ``j`` of hidden layer ``k >= 2`` that the bounds and the witness search left
undecided, :func:`complete` maximizes its pre-activation over the box with the standard big-M
encoding of the ReLUs of layers ``1..k-1`` (Tjeng, Xiao & Tedrake, arXiv 1711.07356, sec. 4):
with certified bounds ``[L_i, U_i]`` of each earlier pre-activation ``y_i``, ``h_i = 0`` when
``U_i <= 0``, ``h_i = y_i`` when ``L_i >= 0``, and otherwise ``h_i >= y_i``, ``h_i >= 0``,
``h_i <= y_i - L_i (1 - a_i)``, ``h_i <= U_i a_i`` with a binary ``a_i``. The program is solved
by SciPy's HiGHS (``scipy.optimize.milp``) within a time limit per neuron.

A solver's answer is used only in two ways:

* **inactive**, when the solver's *dual* bound on the maximum (valid whatever point it found) is
  ``<= -margin``. The margin (:func:`margin`) covers the solver's tolerances (a constraint may be
  violated by :data:`SOLVER_TOL`, a binary may sit :data:`SOLVER_TOL` away from an integer, so
  ``h_i`` may be off by ``SOLVER_TOL (1 + max(|L_i|, |U_i|))``) propagated through the layers by
  the weights' row norms, and the float network's rounding (:func:`jaxnn_nonconv.core.rounding_gamma`
  per dot product, propagated the same way), all times a safety factor of 10. A maximum within
  the margin of 0 stays undecided.
* **active**, when the float network evaluated at the solver's maximizer (clipped to the box) is
  ``> 0``: a witness like any other.

Anything else (a time-out without a good enough bound, a solver failure) leaves the neuron
undecided. Layers are done in order, and each solved neuron's upper bound becomes
``min(U, bound + margin)`` for the programs of later layers (fewer binaries, smaller big-M): the
bound tightening of Tjeng et al., with the same margin.
"""

from __future__ import annotations

import numpy as np

from jaxnn_nonconv.core import rounding_gamma

SOLVER_TOL = 1e-6  # HiGHS' default MIP feasibility / integrality tolerances are at most this
SAFETY = 10.0
MAX_NEURONS = 2000  # hidden neurons above which no completion is attempted
TIME_LIMIT = 5.0  # seconds per neuron


def margin(params, box_max, lower, upper, k: int, j: int) -> float:
    """Slack for neuron ``j`` of hidden layer ``k`` (0-based) covering solver tolerances and float
    rounding (see the module docstring).

    Args:
      params: one network.
      box_max: ``(d,)`` the largest ``|x_i|`` on the box.
      lower, upper: per hidden layer certified bounds.

    >>> p = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))]
    >>> lo, up = [-np.ones(2), -np.ones(1)], [np.ones(2), 2 * np.ones(1)]
    >>> 0 < margin(p, np.ones(2), lo, up, 1, 0) < 1e-3
    True
    """
    dtype = np.asarray(params[0][0]).dtype
    delta = 0.0  # bound on |h_m(solver) - h_m(exact)| + float error, layer by layer
    for m in range(k):
        w, b = (np.asarray(a, np.float64) for a in params[m])
        big = float(np.max(np.maximum(np.abs(lower[m]), np.abs(upper[m])), initial=0.0))
        h_max = np.asarray(box_max, np.float64) if m == 0 else np.maximum(upper[m - 1], 0)
        row = float(np.max(np.abs(w).sum(1)))
        rounding = rounding_gamma(w.shape[1], dtype) * float(
            np.max(np.abs(w) @ np.abs(h_max) + np.abs(b))
        )
        delta = row * delta + SOLVER_TOL * (1 + big) + rounding
    w, b = (np.asarray(a, np.float64) for a in params[k])
    h_max = np.maximum(upper[k - 1], 0)
    rounding = rounding_gamma(w.shape[1], dtype) * float(np.abs(w[j]) @ h_max + abs(b[j]))
    return SAFETY * (float(np.abs(w[j]).sum()) * delta + SOLVER_TOL + rounding)


def _program(params, lo, hi, lower, upper, k: int, j: int):
    """``(c, integrality, bounds, constraints)`` for ``scipy.optimize.milp``: max ``y_kj``."""
    from scipy.optimize import Bounds, LinearConstraint

    d = lo.shape[0]
    # Variable layout: x (d), then per layer m < k: h_m (l_m), then a_m (l_m) (unused ones fixed).
    sizes = [w.shape[0] for w, _ in params[:k]]
    n = d + 2 * sum(sizes)
    var_lo, var_hi = np.full(n, -np.inf), np.full(n, np.inf)
    integ = np.zeros(n)
    var_lo[:d], var_hi[:d] = lo, hi
    rows, r_lo, r_hi = [], [], []
    prev, at = slice(0, d), d
    for m in range(k):
        w, b = (np.asarray(a, np.float64) for a in params[m])
        lm = w.shape[0]
        h, a = slice(at, at + lm), slice(at + lm, at + 2 * lm)
        at += 2 * lm
        integ[a] = 1
        var_lo[a], var_hi[a] = 0.0, 1.0
        var_lo[h], var_hi[h] = 0.0, np.maximum(upper[m], 0)
        for i in range(lm):
            L, U = float(lower[m][i]), float(upper[m][i])
            hi_ = h.start + i
            ai = a.start + i
            if U <= 0:  # h = 0 (bounds), a fixed
                var_hi[hi_] = 0.0
                var_hi[ai] = 0.0
                continue
            y = np.zeros(n)
            y[prev] = w[i]
            if L >= 0:  # h = y
                row = -y.copy()
                row[hi_] += 1
                rows.append(row), r_lo.append(b[i]), r_hi.append(b[i])
                var_hi[ai] = 0.0
                continue
            row = -y.copy()  # h - y >= b
            row[hi_] += 1
            rows.append(row), r_lo.append(b[i]), r_hi.append(np.inf)
            row = -y.copy()  # h - y + L (1 - a) <= b  ->  h - y - L a <= b - L
            row[hi_] += 1
            row[ai] -= L
            rows.append(row), r_lo.append(-np.inf), r_hi.append(b[i] - L)
            row = np.zeros(n)  # h - U a <= 0
            row[hi_] = 1
            row[ai] = -U
            rows.append(row), r_lo.append(-np.inf), r_hi.append(0.0)
        prev = h
    w, b = (np.asarray(a, np.float64) for a in params[k])
    c = np.zeros(n)
    c[prev] = -w[j]  # minimize -y_kj (the constant b_kj is added back)
    cons = LinearConstraint(np.array(rows), r_lo, r_hi) if rows else ()
    return c, float(b[j]), integ, Bounds(var_lo, var_hi), cons


def max_preactivation(params, lo, hi, lower, upper, k: int, j: int, time_limit=TIME_LIMIT):
    """``(dual_upper_bound, maximizer_x or None)`` of ``y_kj`` over the box by HiGHS; the bound is
    ``inf`` when the solver gives none."""
    from scipy.optimize import milp

    c, const, integ, bounds, cons = _program(params, lo, hi, lower, upper, k, j)
    try:
        res = milp(
            c,
            integrality=integ,
            bounds=bounds,
            constraints=cons,
            options={"time_limit": float(time_limit), "mip_rel_gap": 0.0},
        )
    except Exception:  # a solver failure decides nothing
        return np.inf, None
    dual = getattr(res, "mip_dual_bound", None)
    bound = np.inf if dual is None or not np.isfinite(dual) else const - float(dual)
    x = None if res.x is None else np.clip(np.asarray(res.x[: lo.shape[0]]), lo, hi)
    return bound, x


def complete(params, lo, hi, lower, upper, undecided, *, time_limit=TIME_LIMIT, forward=None):
    """Try to decide the ``undecided`` deep neurons exactly.

    Args:
      params: one network, NumPy pairs.
      lo, hi: ``(d,)`` the box (float64 values of the network's box).
      lower, upper: per hidden layer certified bounds.
      undecided: per hidden layer ``(l_k,)`` bool masks.
      time_limit: seconds per neuron.
      forward: ``x: (n, d) -> list of (n, l_k)`` float pre-activations of the network (the
        witness check).

    Returns:
      ``(inactive, witness)``: per hidden layer a bool mask of neurons proved inactive and a
      dict ``neuron -> x`` of float-verified witnesses.
    """
    inactive = [np.zeros_like(u) for u in undecided]
    witness: list[dict[int, np.ndarray]] = [{} for _ in undecided]
    upper = [np.array(u, np.float64) for u in upper]  # tightened layer by layer below
    box_max = np.maximum(np.abs(lo), np.abs(hi))
    for k in range(1, len(undecided)):
        for j in np.flatnonzero(undecided[k]):
            bound, x = max_preactivation(params, lo, hi, lower, upper, k, int(j), time_limit)
            slack = margin(params, box_max, lower, upper, k, int(j))
            if np.isfinite(bound):  # a tighter upper bound (margin included) for later layers
                upper[k][j] = min(upper[k][j], bound + slack)
            if bound <= -slack:
                inactive[k][j] = True
            elif x is not None and forward is not None:
                z = forward(x[None, :])[k][0, j]
                if z > 0:
                    witness[k][int(j)] = x
    return inactive, witness
