"""Empirical levels of [1, H, 1] nets on n points: the dynamic program equals brute force over all
splits, lies below the empirical risk of any net, and the interpolating regime is exactly 0."""

import itertools

import numpy as np
import pytest

from jaxnn_nonconv.estimation import empirical_levels as el


def _brute_lower(x, y, width):
    order = np.argsort(x)
    x, y = x[order], y[order]
    n, best = len(x), np.inf
    for k in range(min(width, n - 1) + 1):
        for cuts in itertools.combinations(range(1, n), k):
            edges = (0, *cuts, n)
            sse = 0.0
            for a, b in zip(edges[:-1], edges[1:]):
                if b - a >= 2:
                    coef = np.polyfit(x[a:b], y[a:b], 1)
                    sse += np.sum((np.polyval(coef, x[a:b]) - y[a:b]) ** 2)
            best = min(best, sse / n)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_dynamic_program_is_brute_force(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1, 1, 8), rng.normal(size=8)
    for width in (0, 1, 2, 3):
        assert el.segmented_lower(x, y, width) == pytest.approx(
            _brute_lower(x, y, width), abs=1e-12
        )


def test_lower_bound_is_below_every_net():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-1, 1, 12), rng.normal(size=12)
    for width in (1, 2, 4):
        lower = el.segmented_lower(x, y, width)
        for _ in range(200):
            w, b, v = rng.normal(size=(3, width)) * 3
            pred = np.maximum(np.outer(x, w) + b, 0) @ v + rng.normal()
            assert np.mean((pred - y) ** 2) >= lower - 1e-12


def test_interpolating_regime_and_bracket():
    x = np.linspace(-1, 1, 6)
    y = np.sin(3 * x)
    assert el.empirical_levels(x, y, 5) == {"lower": 0.0, "upper": 0.0}
    lv = el.empirical_levels(x, y, 1, best_found=0.05)
    assert lv["lower"] <= lv["upper"] <= 0.05
    out = el.not_reaching([0.0, 1.0], [False, False], {"lower": 0.0, "upper": 0.0}, 1e-3)
    assert out["count_bracket"] == [1, 1]
