"""Exact risk for ``clip`` (piecewise linear, kinks at 0 and 1) and ``repu:P`` (piecewise
polynomial, one hidden layer) against an independent NumPy integration: kinks solved in closed
form, 60 Gauss-Legendre nodes per piece (``x = t^4`` substituted for ``x^(1/4)``)."""

import jax
import numpy as np
import pytest

from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk

NODES = np.polynomial.legendre.leggauss(60)
TARGETS = {"x^2": np.square, "x^(1/4)": lambda x: x**0.25, "sin(3x)": lambda x: np.sin(3 * x)}


def numpy_act(activation):
    if activation == "clip":
        return lambda z: np.clip(z, 0.0, 1.0)
    power = nets.repu_power(activation)
    return lambda z: np.maximum(z, 0.0) ** power


CASES = [("clip", "x^2", (0.0, 2.0)), ("repu:2", "x^(1/4)", (0.0, 1.0))]
SLOW_CASES = [("clip", "sin(3x)", (-1.0, 1.0)), ("repu:3", "sin(3x)", (-1.0, 1.0))]


@pytest.mark.parametrize(
    "activation, target, box",
    CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_CASES],
)
def test_exact_risk_matches_quadrature(activation, target, box):
    arch = (1, 4, 1)
    problem = problems.Problem(target, (box,))
    theta = np.stack(
        [
            np.asarray(
                nets.to_flat(nets.init_params(jax.random.key(i), arch, "normal")), np.float64
            )
            for i in range(3)
        ]
    )
    got, overflow = exact_risk.risks_of_params(theta, arch, problem, activation=activation)
    assert not overflow.any()
    act, f = numpy_act(activation), TARGETS[target]
    a, b = box
    for t, r in zip(theta, got):
        (w1, b1), (w2, b2) = [(np.asarray(w), np.asarray(c)) for w, c in nets.from_flat(t, arch)]
        kinks = np.concatenate([-b1 / w1[:, 0], (1 - b1) / w1[:, 0]])
        pts = np.unique(np.clip(np.concatenate([[a, b], kinks]), a, b))

        def g(x, w1=w1, b1=b1, w2=w2, b2=b2):
            n = act(np.outer(x, w1[:, 0]) + b1) @ w2[0] + b2[0]
            return (n - f(x)) ** 2

        p = 4 if target == "x^(1/4)" else 1
        xi, wi = NODES
        want = 0.0
        for u, v in zip(pts[:-1] ** (1 / p), pts[1:] ** (1 / p)):
            t, wt = (u + v) / 2 + (v - u) / 2 * xi, (v - u) / 2 * wi
            want += np.sum(g(t**p) * wt * p * t ** (p - 1))
        want /= b - a
        assert abs(r - want) <= 1e-9 * max(1.0, want), (r, want)


def test_repu_deep_not_supported():
    problem = problems.Problem("x^2", ((0.0, 1.0),))
    assert exact_risk.supported(problem, "repu:2", (1, 3, 1))
    assert not exact_risk.supported(problem, "repu:2", (1, 3, 3, 1))
    assert exact_risk.supported(problem, "clip", (1, 3, 3, 1))
    with pytest.raises(ValueError, match="one hidden layer"):
        exact_risk.risks_of_params(np.zeros((1, 22)), (1, 3, 3, 1), problem, activation="repu:2")
