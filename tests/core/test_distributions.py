"""Input laws beyond the uniform box: samples follow the law (Kolmogorov-Smirnov against scipy),
reference levels match closed forms, and training draws from the law."""

import jax
import numpy as np
import pytest
from scipy import stats

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import distributions, problems

TENT = distributions.PiecewisePolynomial((0.0, 1.0, 2.0), ((0.0, 1.0), (2.0, -1.0)))


def _tent_cdf(t):
    t = np.asarray(t)
    return np.where(t < 1, t**2 / 2, 1 - (2 - t) ** 2 / 2)


def test_piecewise_polynomial_samples_follow_its_cdf():
    x = np.asarray(TENT.validate().sample(jax.random.key(0), 4000, np.float32))[:, 0]
    assert x.min() >= 0 and x.max() <= 2
    assert stats.kstest(x, _tent_cdf).pvalue > 1e-3


def test_normal_samples_follow_the_law():
    law = distributions.Normal((1.0, -2.0), (0.5, 3.0)).validate(((0, 1), (0, 1)))
    x = np.asarray(law.sample(jax.random.key(1), 4000, np.float32))
    for j, (m, s) in enumerate(((1.0, 0.5), (-2.0, 3.0))):
        assert stats.kstest(x[:, j], stats.norm(m, s).cdf).pvalue > 1e-3


def test_levels_under_the_normal_law_are_the_closed_forms():
    # X ~ N(0, 1): Var X^2 = 2, Cov(X, X^2) = 0; g = x^2 + 2x: Var g = 6, Cov = 2, affine 6 - 4.
    law = distributions.Normal((0.0,), (1.0,))
    lv = problems.reference_levels(problems.Problem("x^2", ((-1.0, 1.0),), distribution=law))
    assert lv.constant == pytest.approx(2.0, abs=1e-9) and lv.affine == pytest.approx(2.0, abs=1e-9)
    lv = problems.reference_levels(problems.Problem("x^2+2x", ((-1.0, 1.0),), distribution=law))
    assert lv.constant == pytest.approx(6.0, abs=1e-9) and lv.affine == pytest.approx(2.0, abs=1e-9)


def test_levels_under_a_piecewise_polynomial_density():
    # a constant density is the uniform law: the same levels as the box
    flat = distributions.PiecewisePolynomial((0.0, 0.5, 2.0), ((3.0,), (3.0,)))
    for target in ("x^2", "sin(3x)"):
        got = problems.reference_levels(problems.Problem(target, distribution=flat))
        want = problems.reference_levels(problems.Problem(target, ((0.0, 2.0),)))
        assert got.constant == pytest.approx(want.constant, rel=1e-10)
        assert got.affine == pytest.approx(want.affine, rel=1e-10)
    # the tent on [0, 2], exactly: E X^2 = 7/6, E X^4 = 31/15, E X^3 = 3/2, Var X = 1/6
    lv = problems.reference_levels(problems.Problem("x^2", distribution=TENT))
    var_g = 31 / 15 - (7 / 6) ** 2
    cov = 3 / 2 - 1 * 7 / 6
    assert lv.constant == pytest.approx(var_g, rel=1e-10)
    assert lv.affine == pytest.approx(var_g - cov**2 / (1 / 6), rel=1e-9)


@pytest.mark.parametrize(
    ("law", "needle"),
    [
        (distributions.PiecewisePolynomial((0.0, 1.0), ((-1.0, 0.5),)), "negative"),
        (distributions.PiecewisePolynomial((1.0, 0.0), ((1.0,),)), "increase"),
        (distributions.Normal((0.0,), (0.0,)), "stds"),
        (distributions.Normal((0.0, 1.0), (1.0, 1.0)), "coordinate"),
    ],
)
def test_bad_laws_are_refused(law, needle):
    with pytest.raises(ValueError, match=needle):
        problems.Problem("x^2", ((0.0, 1.0),), distribution=law).validate()


@pytest.mark.slow
def test_training_draws_from_the_law():
    """Slow (compiles a training run); the law's sampling itself is checked by
    test_piecewise_polynomial_samples_follow_its_cdf."""
    cfg = engine.TrainConfig(
        arch=(1, 4, 1), problem=problems.Problem("x^2", distribution=TENT), steps=5, eval_size=64
    )
    res = engine.run(cfg, 2, chunk_size=2, exact=True)
    assert "risk_exact" not in res  # the exact rules are for the uniform law only
    assert cfg.validate().problem.box == ((0.0, 2.0),)
    assert cfg.validate().to_dict()["problem"]["distribution"]["law"] == "PiecewisePolynomial"
