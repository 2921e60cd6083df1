"""The closed forms and bounds of :mod:`jaxnn_nonconv.stats.theory` against independent computations.

Every formula is compared with something that does not share its derivation: numerical
integration (``scipy.integrate.quad``) of the defining probability, plain Monte Carlo with NumPy
(checked with a 99.9% Clopper-Pearson interval), a brute-force loop, or docs/theory.md's own
piecewise formulas as written there. Nothing here uses JAX.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from jaxnn_nonconv.stats import theory

CONF = 0.999
BOXES_1D = [(0, 1), (0, 2), (0, 0.5), (-1, 1), (-2, 2), (-0.5, 0.5), (-0.5, 2), (1, 3), (-3, -1)]
BOXES_1D += [(-2, 0), (0.3, 0.4), (-10, 0.1)]


def in_ci(k: int, n: int, p: float, confidence: float = CONF) -> bool:
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence, method="exact")
    return ci.low <= p <= ci.high


def first_layer_mc(draw, box, n, rng, zero_bias=False):
    """MC estimate of P(max over box of w.x + c <= 0) by checking all 2^d corners (brute force)."""
    box = np.asarray(box, float)
    d = box.shape[0]
    w = draw(rng, (n, d))
    c = np.zeros(n) if zero_bias else draw(rng, (n,))
    corners = np.array(np.meshgrid(*box, indexing="ij")).reshape(d, -1).T  # (2^d, d)
    zmax = np.max(w @ corners.T, axis=1) + c
    return int(np.sum(zmax <= 0)), n


def normal(rng, shape):
    return rng.standard_normal(shape)


def uniform(rng, shape):
    return rng.uniform(-1.0, 1.0, shape)


@pytest.mark.parametrize("box", BOXES_1D)
def test_p_normal_1d_by_quadrature(box):
    """P(c <= -max(a w, b w)) with w, c ~ N(0,1): integrate Phi(-max(a w, b w)) phi(w) dw."""
    a, b = box
    val, _ = integrate.quad(
        lambda w: stats.norm.pdf(w) * stats.norm.cdf(-max(a * w, b * w)), -np.inf, np.inf
    )
    assert theory.p_normal_1d(a, b) == pytest.approx(val, abs=1e-9)


@pytest.mark.parametrize("box", BOXES_1D)
def test_p_uniform_1d_by_quadrature(box):
    """w, c ~ U(-1, 1): integrate P(c <= -max(a w, b w)) = clip((1 - m) / 2, 0, 1) over w."""
    a, b = box
    val, _ = integrate.quad(
        lambda w: 0.5 * min(1.0, max(0.0, (1 - max(a * w, b * w)) / 2)),
        -1,
        1,
        points=[0.0, *(s / t for t in (a, b) for s in (-1, 1) if t != 0 and abs(1 / t) < 1)],
        limit=200,
    )
    assert theory.p_uniform_1d(a, b) == pytest.approx(val, abs=1e-9)


@pytest.mark.parametrize("b", [0.1, 0.5, 1.0, 1.5, 2.0, 7.0])
def test_p_uniform_1d_matches_theory_md_pieces(b):
    """docs/theory.md sec. 3, PyTorch default: [0, b] and [-b, b] piecewise formulas."""
    zero_b = 0.5 - b / 8 if b <= 1 else 0.25 + 1 / (8 * b)
    sym = 0.5 - b / 4 if b <= 1 else 1 / (4 * b)
    assert theory.p_uniform_1d(0, b) == pytest.approx(zero_b, rel=1e-12)
    assert theory.p_uniform_1d(-b, b) == pytest.approx(sym, rel=1e-12)


def test_p_normal_1d_theory_md_values():
    assert theory.p_normal_1d(0, 1) == pytest.approx(3 / 8)
    assert theory.p_normal_1d(-1, 1) == pytest.approx(1 / 4)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_uniform_cubes_by_monte_carlo(d):
    rng = np.random.default_rng(d)
    n = 400_000
    k, _ = first_layer_mc(uniform, [(0, 1)] * d, n, rng)
    assert in_ci(k, n, theory.p_uniform_unit_cube(d))
    k, _ = first_layer_mc(uniform, [(-1, 1)] * d, n, rng)
    assert in_ci(k, n, theory.p_uniform_symmetric_cube(d))


def test_uniform_unit_square_by_quadrature():
    """d = 2 on [0,1]^2: integrate P(c <= -(w1^+ + w2^+)) over (w1, w2) ~ U(-1,1)^2."""

    def f(w2, w1):
        m = max(w1, 0) + max(w2, 0)
        return 0.25 * min(1.0, max(0.0, (1 - m) / 2))  # density 1/4 times P(c <= -m)

    val, _ = integrate.dblquad(f, -1, 1, -1, 1)
    assert theory.p_uniform_unit_cube(2) == pytest.approx(val, abs=1e-7)
    assert theory.p_uniform_unit_cube(2) == pytest.approx(13 / 48)


BOXES_ZERO_BIAS = [
    [(0, 1)],
    [(1, 2)],
    [(-3, -1)],
    [(-1, 1)],
    [(-2, 0)],
    [(0, 1)] * 2,
    [(0, 1), (-2, 0)],
    [(0, 1)] * 3,
    [(-1, 0), (0, 2), (0, 5)],
    [(-1, 1), (0, 1)],
    [(-1, 1), (-2, 3), (-0.5, 0.5)],
]


@pytest.mark.parametrize("box", BOXES_ZERO_BIAS, ids=str)
@pytest.mark.parametrize("init", ["normal", "pytorch"])
def test_first_layer_p_zero_bias_by_monte_carlo(box, init):
    p = theory.first_layer_p(init, box, zero_bias=True)
    assert p is not None
    rng = np.random.default_rng(7)
    n = 100_000
    k, _ = first_layer_mc(normal if init == "normal" else uniform, box, n, rng, zero_bias=True)
    assert in_ci(k, n, p)


def test_first_layer_p_zero_bias_unknown_box():
    """Zero bias on a box not containing 0 in every coordinate (d > 1): no closed form."""
    assert theory.first_layer_p("normal", [(1, 2), (0, 1)], zero_bias=True) is None


@pytest.mark.parametrize(
    "init,box",
    [
        ("normal", [(0, 1)]),
        ("he_normal", [(-0.5, 2)]),
        ("glorot_normal", [(1, 3)]),
        ("pytorch", [(0, 2)]),
        ("he_uniform", [(-2, 2)]),
        ("glorot_uniform", [(-3, -1)]),
        ("pytorch", [(0, 1)] * 3),
        ("he_uniform", [(-1, 1)] * 2),
    ],
)
def test_first_layer_p_dispatch_by_monte_carlo(init, box):
    """``first_layer_p`` picks the right formula for the family (scale-free: any std works)."""
    p = theory.first_layer_p(init, box)
    draw = normal if init in theory.NORMAL_FAMILIES else uniform
    rng = np.random.default_rng(11)
    n = 200_000
    k, _ = first_layer_mc(draw, box, n, rng)
    assert in_ci(k, n, p)


def test_first_layer_p_unknown():
    assert theory.first_layer_p("rai", [(0, 1)]) is None
    assert theory.first_layer_p("normal", [(0, 1)] * 2) is None  # no normal closed form for d > 1
    assert theory.first_layer_p("pytorch", [(0, 2)] * 2) is None


@pytest.mark.parametrize("fan_in", [1, 2, 3, 5])
@pytest.mark.parametrize("zero_bias", [False, True])
def test_sign_dead_q_by_monte_carlo(fan_in, zero_bias):
    rng = np.random.default_rng(fan_in)
    n = 200_000
    w = rng.standard_normal((n, fan_in))
    b = np.zeros(n) if zero_bias else rng.uniform(-1, 1, n)
    k = int(np.sum(np.all(w <= 0, axis=1) & (b <= 0)))
    q = theory.sign_dead_q(fan_in, "normal", zero_bias)
    assert q == theory.sign_dead_q(fan_in, "pytorch", zero_bias)
    assert in_ci(k, n, q)
    assert theory.sign_dead_q(fan_in, "rai", zero_bias) == 0.0
    assert theory.sign_dead_q(fan_in, "nonsense") is None


@pytest.mark.parametrize("p,width", [(0.25, 1), (0.3125, 32), (0.02, 100), (0.5, 3)])
def test_shallow_bound_is_binomial_zero(p, width):
    assert theory.shallow_success_upper_bound(p, width) == pytest.approx(
        stats.binom.pmf(0, width, p), rel=1e-12
    )
    assert theory.any_inactive_lower_bound((1, width, 1), "pytorch", p=p) == pytest.approx(
        stats.binom.sf(0, width, p), rel=1e-12
    )


def test_any_inactive_lower_bound_tiny_p_has_no_cancellation():
    # 1 - (1 - 1e-12)^3 is 3e-12 up to 1e-24; a naive 1 - x loses about 4 digits here.
    assert theory.any_inactive_lower_bound((1, 3, 1), "normal", p=1e-12) == pytest.approx(
        3e-12, rel=1e-9
    )
    assert theory.constant_network_lower_bound((1, 32, 1), "pytorch", p=0.3125) == pytest.approx(
        0.3125**32, rel=1e-9
    )


ARCHS_DEEP = [(1, 2, 2, 1), (1, 3, 2, 2, 1), (2, 2, 3, 1), (1, 1, 1, 1, 1, 1)]


def simulate_sign_events(arch, p, zero_bias, n, rng):
    """Per trial, with independent layers: (some first-layer inactive or some neuron sign-dead,
    first layer all inactive or some layer k >= 2 all sign-dead). First-layer events: Bernoulli(p)."""
    first = rng.random((n, arch[1])) < p
    any_event = first.any(axis=1)
    all_event = first.all(axis=1)
    for k in range(2, len(arch) - 1):
        w = rng.standard_normal((n, arch[k], arch[k - 1]))
        b = np.zeros((n, arch[k])) if zero_bias else rng.standard_normal((n, arch[k]))
        dead = np.all(w <= 0, axis=2) & (b <= 0)
        any_event |= dead.any(axis=1)
        all_event |= dead.all(axis=1)
    return int(any_event.sum()), int(all_event.sum())


@pytest.mark.parametrize("arch", ARCHS_DEEP)
@pytest.mark.parametrize("zero_bias", [False, True])
def test_deep_bounds_are_exact_probabilities_of_sign_events(arch, zero_bias):
    """The product bounds are the exact probabilities of the events they are built from."""
    p = 0.3
    rng = np.random.default_rng(len(arch) + 10 * zero_bias)
    n = 100_000
    k_any, k_all = simulate_sign_events(arch, p, zero_bias, n, rng)
    assert in_ci(k_any, n, theory.any_inactive_lower_bound(arch, "normal", zero_bias, p))
    assert in_ci(k_all, n, theory.constant_network_lower_bound(arch, "normal", zero_bias, p))
    upper = theory.no_inactive_upper_bound(arch, "normal", zero_bias, p)
    assert upper == pytest.approx(1 - theory.any_inactive_lower_bound(arch, "normal", zero_bias, p))


@pytest.mark.parametrize("width,depth", [(1, 2), (2, 3), (3, 5), (2, 10)])
def test_constant_bound_matches_theory_md_formula(width, depth):
    """docs/theory.md sec. 4: width N in layers 2..L, ``1 - (1 - 2^-(N(N+1)))^(L-1)``."""
    arch = (1, *([width] * depth), 1)
    expected = 1 - (1 - 2.0 ** -(width * (width + 1))) ** (depth - 1)
    got = theory.constant_network_lower_bound(arch, "normal")
    assert got == pytest.approx(expected, rel=1e-12)
    # zero bias: q = 2^-N per neuron
    expected_zb = 1 - (1 - 2.0 ** -(width * width)) ** (depth - 1)
    assert theory.constant_network_lower_bound(arch, "he_normal", True) == pytest.approx(
        expected_zb, rel=1e-12
    )


def test_bounds_unknown_for_unknown_families():
    assert theory.no_inactive_upper_bound((1, 2, 2, 1), "nonsense") is None
    assert theory.constant_network_lower_bound((1, 2, 2, 1), "nonsense") is None
    assert theory.any_inactive_lower_bound((1, 4, 1), "rai") is None  # shallow, p unknown
    # rai: never sign-dead, so deep layers add nothing
    assert theory.constant_network_lower_bound((1, 2, 2, 1), "rai") == 0.0


@pytest.mark.parametrize("p_const", [1e-9, 0.01, 0.3, 0.5, 0.9, 0.999, 0.9999])
@pytest.mark.parametrize("delta", [0.5, 0.1, 1e-3])
def test_initializations_needed_by_brute_force(p_const, delta):
    k = 1
    while p_const**k > delta:
        k += 1
    assert theory.initializations_needed(p_const, delta) == k


def test_initializations_needed_edges():
    assert theory.initializations_needed(0.0) == 1
    assert theory.initializations_needed(1.0) == math.inf
    assert theory.initializations_needed(0.5, 0.5) == 1  # 0.5^1 <= 0.5: exact power, no rounding


def test_summary_keys_and_values():
    s = theory.summary((1, 3, 2, 1), "pytorch", [(0, 2)])
    assert set(s) == {
        "first_layer_p",
        "sign_dead_q",
        "shallow_success_upper_bound",
        "no_inactive_upper_bound",
        "any_inactive_lower_bound",
        "constant_network_lower_bound",
        "initializations_needed_for_half",
    }
    p = 0.3125
    assert s["first_layer_p"] == p
    assert s["sign_dead_q"] == [None, 2.0**-4]
    assert s["shallow_success_upper_bound"] == pytest.approx((1 - p) ** 3)
    assert s["no_inactive_upper_bound"] == pytest.approx((1 - p) ** 3 * (1 - 2.0**-4) ** 2)
    const = 1 - (1 - p**3) * (1 - 2.0**-8)
    assert s["constant_network_lower_bound"] == pytest.approx(const)
    assert s["initializations_needed_for_half"] == math.ceil(math.log(0.5) / math.log(const))
    unknown = theory.summary((2, 4, 1), "rai", [(0, 1), (0, 1)])
    assert unknown["first_layer_p"] is None and unknown["any_inactive_lower_bound"] is None
