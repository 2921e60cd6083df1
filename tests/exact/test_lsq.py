"""Least-squares levels: exact Gram matrices against adaptive quadrature, the projection risk
against closed forms, the levels against the risk of their own nets and against the search."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from jaxnn_nonconv.core import problems
from jaxnn_nonconv.exact import lsq, risk as exact_risk

CASES = [  # a polynomial, the power substitution, a jump at a fixed split
    ("x^2", (0.0, 2.0)),
    ("x^(1/4)", (0.0, 2.0)),
    ("step", (-1.0, 1.0)),
]


@pytest.mark.parametrize("target,box", CASES, ids=[c[0] for c in CASES])
def test_gram_and_moments_match_adaptive_quadrature(target, box):
    prob = problems.Problem(target, (box,)).validate()
    a, b = box
    kinks = np.array([a + 0.3 * (b - a), a + 0.71 * (b - a), b + 1.0])
    signs = np.array([1.0, -1.0, 1.0])
    with jax.enable_x64(True):
        g, m, f2 = lsq.gram_moments(
            jnp.asarray(kinks), jnp.asarray(signs), prob, exact_risk.rule_for(prob)
        )
    f = problems._TARGETS[target]
    t = np.clip(kinks, a, b)
    pts = sorted({a, b, *t, *([0.0] if a < 0 < b else [])})

    def phi(x):
        return np.concatenate([[1.0], np.maximum(signs * (x - t), 0.0)])

    def quad(h):
        return sum(
            integrate.quad(h, u, v, epsabs=1e-14, epsrel=1e-13)[0] for u, v in zip(pts, pts[1:])
        ) / (b - a)

    for i in range(4):
        np.testing.assert_allclose(m[i], quad(lambda x, i=i: phi(x)[i] * f(x, np)), atol=1e-12)
        for j in range(4):
            want = quad(lambda x, i=i, j=j: phi(x)[i] * phi(x)[j])
            np.testing.assert_allclose(g[i, j], want, atol=1e-12)
    np.testing.assert_allclose(f2, quad(lambda x: f(x, np) ** 2), rtol=1e-12)


def test_projection_risk_drops_dependent_features():
    # features 1, x, 2x on [0, 1]: the third is dependent; f = x^2 -> best affine risk 1/180
    mom = np.array([1, 1 / 2, 1 / 3, 1 / 4])  # E X^k
    gram = np.array([[1, 1 / 2, 1], [1 / 2, 1 / 3, 2 / 3], [1, 2 / 3, 4 / 3]])
    r, coef = lsq.projection_risk(gram, np.array([mom[2], mom[3], 2 * mom[3]]), 1 / 5)
    assert r == pytest.approx(1 / 180, rel=1e-10)
    assert gram @ coef == pytest.approx(np.array([mom[2], mom[3], 2 * mom[3]]), rel=1e-10)


@pytest.fixture(scope="module")
def x2_levels():
    # uniform and warm starts only (no random ones): enough for x^2, and fast
    return lsq.lsq_levels(problems.Problem("x^2", ((0.0, 2.0),)), 3, starts=0, maxiter=300)


def test_levels_of_x2_have_the_closed_form(x2_levels):
    """x^2 on [0, 2]: R_H = Var f / (2H + 1)^4 = (64/45) / (2H + 1)^4, kinks 2 (2j - 1) / (2H + 1)
    facing right (a flat piece of half a cell, then H cells: x^2's best fit on each)."""
    for lv in x2_levels:
        h = lv.width
        assert lv.risk == pytest.approx(64 / 45 / (2 * h + 1) ** 4, rel=1e-9)
        np.testing.assert_allclose(
            sorted(lv.kinks), 2 * (2 * np.arange(1, h + 1) - 1) / (2 * h + 1), atol=1e-5
        )


def test_each_level_is_the_exact_risk_of_its_net(x2_levels):
    prob = problems.Problem("x^2", ((0.0, 2.0),))
    for lv in x2_levels:
        r, _ = exact_risk.risks_of_params(lsq.net_of(lv)[None], (1, lv.width, 1), prob)
        assert r[0] == pytest.approx(lv.risk, rel=1e-9, abs=1e-15)


@pytest.mark.slow
def test_least_squares_and_search_agree_for_x2_up_to_width_6():
    """Covered fast by ``test_levels_of_x2_have_the_closed_form`` (H <= 3)."""
    from jaxnn_nonconv.estimation import levels

    prob = problems.Problem("x^2", ((0.0, 2.0),))
    both = levels.levels_both(prob, 6, levels.LevelSettings(), lsq_starts=2)
    for k in range(1, 7):
        s, q = both["search"][k], both["least_squares"][k]
        assert abs(s - q) <= 1e-6 * q, (k, s, q)
