"""Exact d = 1 risk against closed forms, an independent brute-force quadrature and Monte Carlo."""

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize

from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk

CASES = [
    ("x^2", (0.0, 2.0)),
    ("x^2+2x", (-1.0, 1.0)),
    ("sin(3x)", (0.0, 1.0)),
    ("x^4 sin(x)", (-1.0, 2.0)),
    ("x^(1/4)", (0.0, 2.0)),
    ("|x|", (-1.0, 1.5)),
    ("step", (-1.0, 1.0)),
]
ARCHS = [(1, 5, 1), (1, 4, 3, 1), (1, 3, 3, 3, 1), (1, 3, 2, 3, 2, 1)]


def _np_params(theta, arch):
    return nets.from_flat(np.asarray(theta, np.float64), arch)  # NumPy slices, float64 kept


def _np_forward(params, x):
    """Realization and every hidden pre-activation, in NumPy float64. ``x: (n,)``."""
    h, pre = x[:, None], []
    for w, b in params[:-1]:
        z = h @ w.T + b
        pre.append(z)
        h = np.maximum(z, 0.0)
    w, b = params[-1]
    return (h @ w.T + b)[:, 0], pre


def _kinks(params, a, b, n=20_001):
    """Sign changes of every hidden pre-activation: dense grid, then Brent's method."""
    grid = np.linspace(a, b, n)
    _, pre = _np_forward(params, grid)
    out = []
    for k, z in enumerate(pre):
        for j in range(z.shape[1]):
            s = np.sign(z[:, j])
            for i in np.nonzero(s[:-1] * s[1:] < 0)[0]:
                f = lambda x, k=k, j=j: _np_forward(params, np.array([x]))[1][k][0, j]  # noqa: E731
                out.append(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-16, rtol=1e-15))
    return sorted(out)


def _brute_force(params, target, box):
    a, b = box
    g = problems._TARGETS[target]
    pts = [a, *_kinks(params, a, b), *([0.0] if a < 0 < b else []), b]
    pts = sorted(pts)

    def integrand(x):
        return (_np_forward(params, np.array([x]))[0][0] - g(x, np)) ** 2

    total = 0.0
    for u, v in zip(pts[:-1], pts[1:]):
        if v > u:
            total += integrate.quad(integrand, u, v, epsabs=1e-15, epsrel=1e-14, limit=200)[0]
    return total / (b - a)


@pytest.fixture(scope="module")
def x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"depth{len(a) - 2}")
@pytest.mark.parametrize("target,box", CASES, ids=[c[0] for c in CASES])
def test_exact_risk_equals_brute_force_quadrature(target, box, arch):
    prob = problems.Problem(target, (box,))
    rng = np.random.default_rng(zlib.crc32(f"{target}{arch}".encode()))  # fixed nets
    theta = rng.normal(size=(2, nets.num_params(arch)))
    got, ovf = exact_risk.risks_of_params(theta, arch, prob)
    assert not ovf.any()
    for i in range(2):
        want = _brute_force(_np_params(theta[i], arch), target, box)
        assert got[i] == pytest.approx(want, rel=1e-12, abs=1e-12), (i, got[i], want)


def test_closed_forms_constant_and_affine_nets_on_x2():
    """Constant c: E(c - X^2)^2 = c^2 - 2c E X^2 + E X^4; affine alpha + beta x likewise, X ~ U[0, 2]."""
    prob = problems.Problem("x^2", ((0.0, 2.0),))
    m = [2.0**k / (k + 1) for k in range(5)]  # E X^k on [0, 2]
    arch = (1, 2, 1)
    rows, want = [], []
    for c, alpha, beta in [(0.7, 0.0, 0.0), (-1.3, 0.0, 0.0), (0.2, -0.5, 1.75)]:
        # hidden: relu(x) (active on [0, 2]) and a dead neuron; output beta relu(x) + c
        rows.append([1.0, -1.0, 0.0, -1.0, beta, alpha, c])
        rows[-1] = [1.0, -1.0, 0.0, -1.0, beta, 0.0, c]
        want.append(
            c * c + 2 * c * beta * m[1] + beta**2 * m[2] - 2 * c * m[2] - 2 * beta * m[3] + m[4]
        )
    got, _ = exact_risk.risks_of_params(np.array(rows), arch, prob)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


@pytest.mark.slow
def test_agrees_with_monte_carlo_within_sampling_error():
    """Slow (a large Monte Carlo sample); by default the exact risk is checked against an
    independent brute-force quadrature (test_exact_risk_equals_brute_force_quadrature) and the
    noise term by test_noise_adds_its_variance."""
    arch = (1, 8, 1)
    rng = np.random.default_rng(5)
    theta = rng.normal(size=(4, nets.num_params(arch)))
    for target, box in CASES:
        prob = problems.Problem(target, (box,), noise=0.1)
        got, _ = exact_risk.risks_of_params(theta, arch, prob)
        x, y = problems.sample(jax.random.key(1), prob, 2**16)
        for i in range(4):
            pred = nets.realization(nets.from_flat(jnp.asarray(theta[i], jnp.float32), arch), x)
            sq = np.asarray((pred - y) ** 2, np.float64)
            se = sq.std() / np.sqrt(sq.size)
            assert abs(got[i] - sq.mean()) < 5 * se + 1e-6 * got[i], (target, i)


def test_noise_adds_its_variance():
    arch = (1, 4, 1)
    theta = np.random.default_rng(0).normal(size=(2, nets.num_params(arch)))
    base, _ = exact_risk.risks_of_params(theta, arch, problems.Problem("sin(3x)", ((0.0, 1.0),)))
    noisy, _ = exact_risk.risks_of_params(
        theta, arch, problems.Problem("sin(3x)", ((0.0, 1.0),), noise=0.3)
    )
    np.testing.assert_allclose(noisy, base + 0.09, rtol=1e-15)


def test_overflow_gives_nan_never_a_number(x64):
    arch = (1, 6, 6, 1)
    prob = problems.Problem("x^2", ((-3.0, 3.0),))
    theta = np.random.default_rng(2).normal(size=nets.num_params(arch))
    params = nets.from_flat(jnp.asarray(theta), arch)
    rule = exact_risk.rule_for(prob)
    full, ovf = jax.jit(lambda p: exact_risk.risk(p, prob, rule))(params)
    assert not bool(ovf) and np.isfinite(float(full))
    small, ovf = jax.jit(lambda p: exact_risk.risk(p, prob, rule, cap=4))(params)
    assert bool(ovf) and np.isnan(float(small))


def test_results_do_not_depend_on_batch_size_and_nonfinite_rows_are_nan():
    arch = (1, 6, 1)
    prob = problems.Problem("x^2", ((0.0, 2.0),))
    theta = np.random.default_rng(3).normal(size=(5, nets.num_params(arch)))
    theta[2, 0] = np.nan
    a, _ = exact_risk.risks_of_params(theta, arch, prob, chunk_size=4)
    b, _ = exact_risk.risks_of_params(theta[:2], arch, prob, chunk_size=4)
    assert np.isnan(a[2]) and np.all(np.isfinite(np.delete(a, 2)))
    np.testing.assert_array_equal(a[:2], b)


def test_gradient_matches_finite_differences(x64):
    arch = (1, 4, 1)
    prob = problems.Problem("sin(3x)", ((0.0, 1.0),))
    rule = exact_risk.rule_for(prob)
    theta = jnp.asarray(np.random.default_rng(4).normal(size=nets.num_params(arch)))

    @jax.jit
    def f(t):
        return exact_risk.risk(nets.from_flat(t, arch), prob, rule)[0]

    g = jax.grad(f)(theta)
    eps = 1e-6
    fd = [
        (f(theta.at[i].add(eps)) - f(theta.at[i].add(-eps))) / (2 * eps) for i in range(theta.size)
    ]
    np.testing.assert_allclose(np.asarray(g), np.asarray(fd), rtol=1e-5, atol=1e-7)


def test_unsupported_problems_are_refused():
    assert exact_risk.rule_for(problems.Problem("x^2", ((0.0, 1.0), (0.0, 1.0)))) is None
    assert exact_risk.rule_for(problems.Problem(lambda x: x[:, 0], ((0.0, 1.0),))) is None
    with pytest.raises(ValueError, match="d = 1"):
        exact_risk.risks_of_params(
            np.zeros((1, 7)), (2, 1, 1), problems.Problem("x^2", ((0, 1), (0, 1)))
        )
    with pytest.raises(ValueError, match="piecewise linear"):
        exact_risk.risks_of_params(
            np.zeros((1, 7)), (1, 2, 1), problems.Problem("x^2"), activation="softplus"
        )
