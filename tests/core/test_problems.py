"""Problems and their reference risk levels (docs/theory.md sec. 2) against closed forms, mpmath and
Monte Carlo."""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import stats

from jaxnn_nonconv.core import problems

UNIT = ((0.0, 1.0),)

# docs/theory.md sec. 2, as printed: (best constant risk, best affine risk, absolute precision printed).
TABLE = {
    "x^2+2x": (34 / 45, 1 / 180, 0.0),
    "sin(3x)": (0.0832768, 0.0809208, 5e-8),
    "x^4 sin(x)": (0.0465452, 0.0144010, 5e-8),
    "x^(1/4)": (2 / 75, 2 / 675, 0.0),
}
MP_G = {
    "x^2+2x": lambda x: x**2 + 2 * x,
    "sin(3x)": lambda x: mpmath.sin(3 * x),
    "x^4 sin(x)": lambda x: x**4 * mpmath.sin(x),
    "x^(1/4)": lambda x: mpmath.root(x, 4),
}


def _mp_levels(g, a: float, b: float) -> tuple[float, float]:
    """Levels of ``g(X)``, ``X ~ U(a, b)``, by 30-digit mpmath quadrature (independent of SciPy)."""
    with mpmath.workdps(30):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        w = b - a
        m1 = mpmath.quad(g, [a, b]) / w
        m2 = mpmath.quad(lambda t: g(t) ** 2, [a, b]) / w
        mx = (a + b) / 2
        cov = mpmath.quad(lambda t: (t - mx) * g(t), [a, b]) / w
        var = m2 - m1**2
        return float(var), float(var - cov**2 / (w**2 / 12))


@pytest.mark.parametrize("target", list(TABLE))
def test_reference_levels_reproduce_theory_table(target):
    """To 1e-6 as asked, and to the precision printed (exact fractions to 1e-12)."""
    const, affine, printed = TABLE[target]
    lv = problems.reference_levels(problems.Problem(target, UNIT))
    assert lv.stderr == 0.0
    for got, want in ((lv.constant, const), (lv.affine, affine)):
        assert abs(got - want) <= 1e-6
        assert abs(got - want) <= max(printed, 1e-12)


@pytest.mark.parametrize("target", list(TABLE))
@pytest.mark.parametrize("box", [(0.0, 1.0), (0.5, 3.0)])
def test_reference_levels_match_mpmath(target, box):
    """Independent 30-digit quadrature, also off the unit interval."""
    lv = problems.reference_levels(problems.Problem(target, (box,)))
    const, affine = _mp_levels(MP_G[target], *box)
    assert lv.constant == pytest.approx(const, rel=1e-10, abs=1e-13)
    assert lv.affine == pytest.approx(affine, rel=1e-9, abs=1e-12)


def test_sin3x_closed_form():
    """``sin(3x)`` on U(0,1) by hand: E g = (1 - cos 3)/3, E g^2 = 1/2 - sin 6/12,
    Cov(X, g) = sin 3/9 - cos 3/3 - (1 - cos 3)/6."""
    m1 = (1 - math.cos(3)) / 3
    m2 = 0.5 - math.sin(6) / 12
    cov = math.sin(3) / 9 - math.cos(3) / 3 - (1 - math.cos(3)) / 6
    lv = problems.reference_levels(problems.Problem("sin(3x)", UNIT))
    assert lv.constant == pytest.approx(m2 - m1**2, abs=1e-13)
    assert lv.affine == pytest.approx(m2 - m1**2 - 12 * cov**2, abs=1e-13)


def _mc_levels_numpy(g, box, n: int, seed: int, noise: float = 0.0):
    """Plain NumPy Monte Carlo in float64: variance and least-squares affine residual of ``Y``."""
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(box).T
    x = rng.uniform(lo, hi, size=(n, len(box)))
    y = g(x) + noise * rng.normal(size=n)
    design = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    r2 = (y - design @ coef) ** 2
    d2 = (y - y.mean()) ** 2
    return d2.mean(), r2.mean(), d2.std() / math.sqrt(n), r2.std() / math.sqrt(n)


def test_reference_levels_two_dimensional_monte_carlo():
    """``d = 2``: ``f(x) = sin(3 x_1) + sin(3 x_2)`` on a non-square box, with noise."""
    box = ((0.0, 1.0), (-1.0, 2.0))
    noise = 0.1
    lv = problems.reference_levels(problems.Problem("sin(3x)", box, noise))
    c, a, sc, sa = _mc_levels_numpy(
        lambda x: np.sin(3 * x).sum(axis=1), box, 2_000_000, seed=0, noise=noise
    )
    assert abs(lv.constant - c) < 5 * sc
    assert abs(lv.affine - a) < 5 * sa
    # And the sum decomposition, against mpmath per coordinate.
    per = [_mp_levels(MP_G["sin(3x)"], *ab) for ab in box]
    assert lv.constant == pytest.approx(sum(p[0] for p in per) + noise**2, rel=1e-10)
    assert lv.affine == pytest.approx(sum(p[1] for p in per) + noise**2, rel=1e-9)


def test_reference_levels_callable_target_monte_carlo():
    """A callable target ``x_1 x_2`` on [0,1]^2: Var = 1/9 - 1/16 = 7/144 and best affine risk
    7/144 - 2 (1/24)^2 / (1/12) = 1/144 (closed form), within 5 reported standard errors."""

    def prod(x):
        return x[:, 0] * x[:, 1]

    lv = problems.reference_levels(problems.Problem(prod, UNIT * 2), n_mc=2**20, seed=1)
    assert 0 < lv.stderr < 1e-3
    assert abs(lv.constant - 7 / 144) < 5 * lv.stderr
    assert abs(lv.affine - 1 / 144) < 5 * lv.stderr
    # A 1-d callable equal to a built-in target agrees with the quadrature.
    lv1 = problems.reference_levels(
        problems.Problem(lambda x: x[:, 0] ** 2 + 2 * x[:, 0], UNIT), n_mc=2**20
    )
    assert abs(lv1.constant - 34 / 45) < 5 * lv1.stderr
    assert abs(lv1.affine - 1 / 180) < 5 * lv1.stderr


def test_sample_laws(strict_dtypes):
    """``X`` uniform on each coordinate's interval (KS), ``Y = sum_j g(X_j) + noise`` with
    Gaussian noise of the stated std (KS on the residual)."""
    box = ((-1.0, 2.0), (0.0, 0.5))
    prob = problems.Problem("x^2+2x", box, noise=0.3)
    x, y = problems.sample(jax.random.key(0), prob, 20000)
    assert x.shape == (20000, 2) and y.shape == (20000,)
    assert x.dtype == y.dtype == jnp.float32
    x = np.asarray(x, np.float64)
    for j, (a, b) in enumerate(box):
        assert np.all((x[:, j] >= a) & (x[:, j] <= b))
        assert stats.kstest(x[:, j], "uniform", args=(a, b - a)).pvalue > 1e-3
    clean = (x**2 + 2 * x).sum(axis=1)
    resid = np.asarray(y, np.float64) - clean
    assert stats.kstest(resid, "norm", args=(0.0, 0.3)).pvalue > 1e-3
    assert stats.kstest(resid, "norm", args=(0.0, 0.3 * math.sqrt(2))).pvalue < 1e-6


@pytest.mark.parametrize("target", problems.TARGETS)
def test_target_fn_sums_coordinates(target, strict_dtypes):
    g = {
        "x^2": lambda x: x**2,
        "x^2+2x": lambda x: x**2 + 2 * x,
        "sin(3x)": lambda x: np.sin(3 * x),
        "x^4 sin(x)": lambda x: x**4 * np.sin(x),
        "x^(1/4)": lambda x: x**0.25,
        "|x|": np.abs,
        "step": lambda x: np.heaviside(x, 0.0),
    }[target]
    x = np.random.default_rng(0).uniform(0.0, 2.0, size=(50, 3)).astype(np.float32)
    f = problems.target_fn(problems.Problem(target, ((0.0, 2.0),) * 3))
    np.testing.assert_allclose(
        np.asarray(f(jnp.asarray(x))), g(x.astype(np.float64)).sum(axis=1), rtol=2e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"box": ((1.0, 0.0),)}, "a < b"),
        ({"box": ()}, "at least one"),
        ({"target": "x^3"}, "unknown target"),
        ({"target": "x^(1/4)", "box": ((-1.0, 1.0),)}, "inside"),
        ({"noise": -0.1}, "noise"),
        ({"box": ((0.0, math.inf),)}, "finite"),
    ],
)
def test_validate_rejects(kw, match):
    with pytest.raises(ValueError, match=match):
        problems.Problem(**kw).validate()
