"""The best output layer by least squares, and the levels ``R_H`` of ``[1, H, 1]`` nets as a
minimum over kinks: an independent way to the levels of :mod:`jaxnn_nonconv.estimation.levels`.

A shallow net ``N(x) = c + sum_j v_j relu(w_j x + b_j)`` with ``w_j != 0`` is, on the box,
``c + sum_j v_j |w_j| relu(s_j (x - t_j))`` with orientation ``s_j = sign(w_j)`` and kink
``t_j = -b_j / w_j``. For fixed kinks and orientations the risk is a quadratic in the output layer
``(c, v)``; its minimum is the projection of ``f`` on ``span{1, phi_1..phi_H}``,
``phi_j(x) = relu(s_j (x - t_j))`` (arXiv 2402.05155 Sec. 2, Prop. 2.10's argument):

    ``R(t, s) = E f(X)^2 - m^T G^+ m``, ``G = E[phi phi^T]``, ``m = E[phi f(X)]``

(:func:`projection_risk`: any Gram matrix, e.g. an empirical one from data). ``G`` and ``m`` are
exact here: Gauss-Legendre on the pieces between the kinks and the target's fixed splits, with
the rule of :func:`jaxnn_nonconv.exact.risk.rule_for` (every integrand is the same kind of
polynomial times target on a piece as in the exact risk; under a piecewise-polynomial density
``p`` the expectations are weighted by ``p``, whose edges are splits of the rule). Kinks outside
the box give features that are 0 or affine on it, the same span as a kink at the nearer end, so
the kinks range over ``[a, b]`` and ``R_H = min over s of min over t in [a, b]^H of R(t, s)``
(:func:`lsq_levels`: L-BFGS-B on ``t`` with exact JAX gradients from several starts for every
number of left-facing neurons). Each value returned is the exact risk of an explicit net
(:func:`net_of`), hence an upper bound of the true level.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy

from jaxnn_nonconv.core import problems
from jaxnn_nonconv.exact import _risk

RIDGE = 1e-13  # relative ridge of the Gram matrix inside the optimizer only (smooth gradients)


def nodes_and_weights(points: jax.Array, rule: _risk.Rule) -> tuple[jax.Array, jax.Array]:
    """Gauss-Legendre nodes and weights on every piece between sorted ``points``.

    Args:
      points: ``(n,)`` sorted piece boundaries, ``a`` first and ``b`` last.
      rule: a :class:`jaxnn_nonconv.exact.risk.Rule` (its ``power`` substitution included).

    Returns:
      ``(x, w)``, each ``((n - 1) * nodes,)``: ``sum w g(x) = int_a^b g`` for the integrands
      the rule is exact for.
    """
    xi, wi = np.polynomial.legendre.leggauss(rule.nodes)
    xi, wi = jnp.asarray(xi, points.dtype), jnp.asarray(wi, points.dtype)
    p = rule.power
    t = points if p == 1 else points ** (1.0 / p)
    tu, tv = t[:-1, None], t[1:, None]
    tn = (tu + tv) / 2 + (tv - tu) / 2 * xi[None, :]
    wn = (tv - tu) / 2 * wi[None, :]
    if p != 1:
        wn = wn * p * tn ** (p - 1)
        tn = tn**p
    return tn.reshape(-1), wn.reshape(-1)


def features(x: jax.Array, kinks: jax.Array, signs: jax.Array) -> jax.Array:
    """``(n, H + 1)``: the constant 1 and ``relu(s_j (x - t_j))`` at ``x: (n,)``."""
    phi = jax.nn.relu(signs[None, :] * (x[:, None] - kinks[None, :]))
    return jnp.concatenate([jnp.ones_like(x)[:, None], phi], axis=1)


def gram_moments(
    kinks: jax.Array, signs: jax.Array, problem: problems.Problem, rule: _risk.Rule
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Exact ``G = E[phi phi^T]``, ``m = E[phi f(X)]`` and ``E f(X)^2`` for ``X ~ U[a, b]``, or
    ``X`` with the problem's piecewise-polynomial density (its edges are among the rule's splits).

    Args:
      kinks: ``(H,)`` kink positions (clipped to the box).
      signs: ``(H,)`` orientations ``+1`` (facing right) or ``-1``.
      problem: a validated ``d = 1`` problem with a rule.
      rule: ``rule_for(problem)``.

    Returns:
      ``G: (H + 1, H + 1)``, ``m: (H + 1,)``, ``E f^2: ()`` (feature 0 is the constant).

    >>> prob = problems.Problem("x^2", ((0.0, 1.0),)).validate()
    >>> g, m, f2 = gram_moments(jnp.zeros(1), jnp.ones(1), prob, _risk.rule_for(prob))
    >>> np.asarray(g * 12).round(4).tolist(), np.asarray(m * 12).round(4).tolist()
    ([[12.0, 6.0], [6.0, 4.0]], [4.0, 3.0])
    """
    (a, b) = problem.box[0]
    dtype = kinks.dtype
    t = jnp.clip(kinks, a, b)
    fixed = jnp.asarray([a, *rule.splits, b], dtype)
    points = jnp.sort(jnp.concatenate([fixed, t]))
    x, w = nodes_and_weights(points, rule)
    # the law of X: 1 / (b - a) (uniform), or the density p, a polynomial on every piece
    w = w / (b - a) if problem.distribution is None else w * _risk.density_weights(problem, x)
    phi = features(x, t, signs.astype(dtype))
    f = problems.target_fn(problem)(x[:, None]).astype(dtype)
    return phi.T @ (phi * w[:, None]), phi.T @ (w * f), jnp.sum(w * f * f)


def projection_risk(gram, moments, second_moment, rcond: float = 1e-12):
    """``E f^2 - m^T G^+ m`` and the coefficients ``G^+ m``: the risk of the best linear
    combination of the features whose Gram matrix is ``G`` (any features, any measure).

    Args:
      gram: ``(K, K)`` symmetric positive semidefinite.
      moments: ``(K,)``.
      second_moment: ``E f^2``.
      rcond: eigenvalues below ``rcond * max eigenvalue`` are dropped (dependent features).

    Returns:
      ``(risk, coef)``; ``risk`` is clipped at 0 (cancellation).

    >>> r, c = projection_risk(np.array([[1.0, 0.5], [0.5, 1 / 3]]), np.array([0.5, 1 / 3]), 1 / 3)
    >>> round(float(r), 12), np.round(c, 9).tolist()[1]  # f(x) = x on [0, 1] is in the span
    (0.0, 1.0)
    """
    gram, moments = np.asarray(gram, np.float64), np.asarray(moments, np.float64)
    lam, vec = np.linalg.eigh((gram + gram.T) / 2)
    keep = lam > rcond * max(lam.max(), 0.0)
    proj = vec[:, keep].T @ moments
    coef = vec[:, keep] @ (proj / lam[keep])
    return max(float(second_moment) - float(proj @ (proj / lam[keep])), 0.0), coef


@dataclasses.dataclass(frozen=True)
class LsqLevel:
    """The best ``[1, H, 1]`` net found by least squares.

    Attributes:
      width: ``H``.
      risk: its exact risk (projection risk of the kinks below).
      kinks, signs: ``(H,)`` each.
      coef: ``(H + 1,)`` output layer, constant first.
    """

    width: int
    risk: float
    kinks: tuple[float, ...]
    signs: tuple[float, ...]
    coef: tuple[float, ...]


def net_of(level: LsqLevel) -> np.ndarray:
    """The flat ``theta`` (engine layout, ``[w, b, v, c]``) of a :class:`LsqLevel`'s net:
    ``w_j = s_j``, ``b_j = -s_j t_j``, ``v_j = coef_j``, ``c = coef_0``."""
    s, t = np.asarray(level.signs), np.asarray(level.kinks)
    return np.concatenate([s, -s * t, np.asarray(level.coef[1:]), [level.coef[0]]])


@functools.lru_cache(maxsize=32)
def _objective(problem: problems.Problem, width: int):
    rule = _risk.rule_for(problem)

    def f(t, s):
        g, m, f2 = gram_moments(t, s, problem, rule)
        ridge = RIDGE * jnp.trace(g) * jnp.eye(g.shape[0], dtype=g.dtype)
        return f2 - m @ jnp.linalg.solve(g + ridge, m)

    return jax.jit(jax.value_and_grad(f)), jax.jit(lambda t, s: gram_moments(t, s, problem, rule))


def _exact(problem, width, t, s) -> tuple[float, np.ndarray]:
    gm = _objective(problem, width)[1]
    g, m, f2 = gm(jnp.asarray(t, jnp.float64), jnp.asarray(s, jnp.float64))
    return projection_risk(g, m, f2)


def _polish(problem, width, t0, s, maxiter) -> tuple[float, np.ndarray]:
    (a, b) = problem.box[0]
    vg = _objective(problem, width)[0]
    sj = jnp.asarray(s, jnp.float64)

    def fun(t):
        v, g = vg(jnp.asarray(t, jnp.float64), sj)
        return float(v), np.asarray(g, np.float64)

    res = scipy.optimize.minimize(
        fun,
        np.clip(np.asarray(t0, np.float64), a, b),
        jac=True,
        method="L-BFGS-B",
        bounds=[(a, b)] * width,
        options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-13},
    )
    return _exact(problem, width, res.x, s)[0], np.asarray(res.x)


def lsq_levels(
    problem: problems.Problem,
    width: int,
    *,
    starts: int = 6,
    maxiter: int = 500,
    seed: int = 0,
) -> list[LsqLevel]:
    """``R_1..R_width`` of ``[1, k, 1]`` nets by least squares over the output layer and
    L-BFGS-B over the kinks (module docstring).

    For each ``k`` and each number ``l = 0..k`` of left-facing neurons: uniform kinks, ``starts``
    uniformly random kinks, and the best ``k - 1`` kinks plus one new kink (``starts`` random
    positions, both orientations); the lowest exact projection risk wins. ``R_k <= R_(k-1)``
    holds by construction (a kink at the end facing out adds nothing).

    Args:
      problem: ``d = 1``, built-in target.
      width: the largest ``k``.
      starts: random starts per orientation pattern.
      maxiter: L-BFGS-B iterations per start.
      seed: seed of the random starts.

    Returns:
      One :class:`LsqLevel` per ``k = 1..width``.

    Raises:
      ValueError: no exact risk for ``problem``, ``width < 1`` or ``starts < 0``.
    """
    problem = problem.validate()
    if not _risk.supported(problem):
        raise ValueError("least-squares levels need d = 1 and a built-in target (exact risk)")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 0:
        raise ValueError(f"starts must be an integer >= 0, got {starts!r}")
    (a, b) = problem.box[0]
    rng = np.random.default_rng(seed)
    out: list[LsqLevel] = []
    with jax.enable_x64(True):
        for k in range(1, width + 1):
            cands = []
            for left in range(k + 1):
                s = np.array([-1.0] * left + [1.0] * (k - left))
                tries = [a + (b - a) * np.arange(1, k + 1) / (k + 1)]
                tries += [np.sort(rng.uniform(a, b, k)) for _ in range(starts)]
                for t0 in tries:
                    cands.append((*_polish(problem, k, t0, s, maxiter), s))
            if out:
                prev = out[-1]
                for _ in range(starts):
                    for sign in (-1.0, 1.0):
                        t0 = np.append(prev.kinks, rng.uniform(a, b))
                        s = np.append(prev.signs, sign)
                        cands.append((*_polish(problem, k, t0, s, maxiter), s))
                # the previous net with a kink at b facing right: a zero feature, same risk
                t_keep, s_keep = np.append(prev.kinks, b), np.append(prev.signs, 1.0)
                cands.append((_exact(problem, k, t_keep, s_keep)[0], t_keep, s_keep))
            _, t, s = min(cands, key=lambda c: c[0])
            r, coef = _exact(problem, k, t, s)
            out.append(
                LsqLevel(
                    k, float(r), tuple(map(float, t)), tuple(map(float, s)), tuple(map(float, coef))
                )
            )
    return out


def lsq_risk_of_kinks(problem: problems.Problem, kinks, signs) -> float:
    """The projection risk of given kinks and orientations (:func:`gram_moments`,
    :func:`projection_risk`); ``math.nan`` for an empty box rule."""
    problem = problem.validate()
    if not _risk.supported(problem):
        return math.nan
    with jax.enable_x64(True):
        return _exact(problem, len(kinks), np.asarray(kinks, float), np.asarray(signs, float))[0]
