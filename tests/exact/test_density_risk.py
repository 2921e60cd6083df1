"""Exact d = 1 risk, least-squares levels and search levels under a piecewise-polynomial input
density, against scipy.integrate.quad, the uniform special case and a fine-grid weighted least
squares."""

import numpy as np
import pytest
from scipy import integrate, optimize

from jaxnn_nonconv.core import distributions, nets, problems
from jaxnn_nonconv.estimation import levels as risk_levels
from jaxnn_nonconv.exact import lsq, risk as exact_risk

# a skewed quadratic-then-linear density on [-1, 2] and a cubic one on [0, 2]
SKEW = distributions.PiecewisePolynomial((-1.0, 0.3, 2.0), ((1.0, 0.5, 0.2), (0.4, 1.0)))
CUBIC = distributions.PiecewisePolynomial(
    (0.0, 0.5, 1.2, 2.0), ((0.1, 0.0, 0.0, 3.0), (1.0,), (2.0, -0.9))
)
CASES = [  # target, density, architecture (one deep net: kinks of the second layer)
    ("x^2", SKEW, (1, 4, 3, 1)),
    ("x^2+2x", CUBIC, (1, 5, 1)),
    ("sin(3x)", SKEW, (1, 5, 1)),
    ("x^4 sin(x)", CUBIC, (1, 5, 1)),
    ("|x|", SKEW, (1, 5, 1)),
    ("step", SKEW, (1, 5, 1)),
    ("x^(1/4)", CUBIC, (1, 5, 1)),
]


def _forward(params, x):
    """Realization and hidden pre-activations in NumPy float64, ``x: (n,)``."""
    h, pre = x[:, None], []
    for w, b in params[:-1]:
        z = h @ np.asarray(w).T + np.asarray(b)
        pre.append(z)
        h = np.maximum(z, 0.0)
    w, b = params[-1]
    return (h @ np.asarray(w).T + np.asarray(b))[:, 0], pre


def _kinks(params, a, b, n=20_001):
    grid = np.linspace(a, b, n)
    _, pre = _forward(params, grid)
    out = []
    for k, z in enumerate(pre):
        for j in range(z.shape[1]):
            s = np.sign(z[:, j])
            for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
                f = lambda x, k=k, j=j: _forward(params, np.array([x]))[1][k][0, j]  # noqa: E731
                out.append(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-16, rtol=1e-15))
    return out


def _quad_risk(theta, arch, target, law):
    """``int (N - f)^2 p`` by scipy's adaptive quadrature between every kink and edge."""
    law = law.validate()
    params = nets.from_flat(np.asarray(theta, np.float64), arch)
    a, b = law.box[0]
    g = problems._TARGETS[target]
    pts = sorted({a, b, *law.edges, *_kinks(params, a, b), *([0.0] if a < 0 < b else [])})
    total = 0.0
    for u, v in zip(pts[:-1], pts[1:]):
        total += integrate.quad(
            lambda t: (_forward(params, np.array([t]))[0][0] - g(t, np)) ** 2 * law.pdf(t),
            u,
            v,
            epsabs=1e-15,
            epsrel=1e-13,
            limit=200,
        )[0]
    return total


@pytest.mark.parametrize("target,law,arch", CASES)
def test_exact_risk_under_a_density_matches_scipy_quad(target, law, arch):
    rng = np.random.default_rng(sum(map(ord, target)))
    theta = rng.normal(size=(3, nets.num_params(arch)))
    prob = problems.Problem(target, distribution=law)
    got, ovf = exact_risk.risks_of_params(theta, arch, prob)
    assert not ovf.any()
    want = [_quad_risk(t, arch, target, law) for t in theta]
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("target", ["sin(3x)", "x^(1/4)"])
def test_a_constant_density_is_the_uniform_law(target):
    box = (0.0, 2.0) if target == "x^(1/4)" else (-1.0, 2.0)
    flat = distributions.PiecewisePolynomial((box[0], 0.7, box[1]), ((5.0,), (5.0,)))
    arch = (1, 5, 1)
    theta = np.random.default_rng(3).normal(size=(4, nets.num_params(arch)))
    got, _ = exact_risk.risks_of_params(theta, arch, problems.Problem(target, distribution=flat))
    want, _ = exact_risk.risks_of_params(theta, arch, problems.Problem(target, (box,)))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_normal_law_has_no_exact_rule():
    law = distributions.Normal((0.0,), (1.0,))
    prob = problems.Problem("x^2", ((-1.0, 1.0),), distribution=law)
    assert exact_risk.rule_for(prob) is None and not exact_risk.supported(prob)


def test_smooth_rule_bound_covers_the_density():
    rule = exact_risk.rule_for(problems.Problem("sin(3x)", distribution=CUBIC))
    assert rule.error_bound <= exact_risk.SMOOTH_TOL
    assert {0.5, 1.2} <= set(rule.splits)


def _grid_lsq(kinks, signs, target, law, n=400_000):
    """Weighted least squares of the target on the features, midpoint rule on a fine grid."""
    law = law.validate()
    a, b = law.box[0]
    x = a + (b - a) * (np.arange(n) + 0.5) / n
    w = np.empty(n)
    for i, (u, v) in enumerate(zip(law.edges[:-1], law.edges[1:])):
        inside = (x >= u) & (x < v)
        w[inside] = np.polynomial.polynomial.polyval(x[inside], law.coeffs[i])
    w *= (b - a) / n
    phi = np.maximum(np.asarray(signs)[None, :] * (x[:, None] - np.asarray(kinks)[None, :]), 0)
    phi = np.concatenate([np.ones((n, 1)), phi], axis=1)
    f = problems._TARGETS[target](x, np)
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(phi * sw[:, None], f * sw, rcond=None)[0]
    return float(np.sum(w * (phi @ coef - f) ** 2))


@pytest.fixture(scope="module")
def skew_levels():
    prob = problems.Problem("x^2", distribution=SKEW).validate()
    return prob, lsq.lsq_levels(prob, 2, starts=1, maxiter=100)


def test_lsq_levels_under_a_density_match_grid_least_squares(skew_levels):
    prob, levels = skew_levels
    for lv in levels:
        assert lv.risk == pytest.approx(_grid_lsq(lv.kinks, lv.signs, "x^2", SKEW), rel=1e-6)
        # the level's explicit net has that exact risk
        got, _ = exact_risk.risks_of_params(lsq.net_of(lv)[None], (1, lv.width, 1), prob)
        assert got[0] == pytest.approx(lv.risk, rel=1e-9, abs=1e-14)
    # the density matters: the uniform law on the same box gives another R_1
    uniform = lsq.lsq_levels(problems.Problem("x^2", ((-1.0, 2.0),)), 1, starts=1, maxiter=100)
    assert abs(uniform[0].risk - levels[0].risk) > 1e-3


@pytest.mark.slow
def test_search_levels_under_a_density_are_exact_risks_of_their_nets():
    """Slow (about 20 s: training restarts); the fast
    test_lsq_levels_under_a_density_match_grid_least_squares covers the levels' exact risks."""
    prob = problems.Problem("x^2", distribution=SKEW).validate()
    settings = risk_levels.LevelSettings(restarts=4, steps=200, polish=2, warm_starts=1, maxiter=50)
    found = risk_levels.compute_levels(prob, 2, settings, progress=False)
    assert found.problem["distribution"]["law"] == "PiecewisePolynomial"
    assert found.levels[0] == pytest.approx(problems.reference_levels(prob).constant, rel=1e-12)
    for k in (1, 2):
        theta = np.asarray(found.params[k - 1])
        assert found.levels[k] == pytest.approx(_quad_risk(theta, (1, k, 1), "x^2", SKEW), rel=1e-9)
