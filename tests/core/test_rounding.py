"""The shared rounding bound (``core.rounding_gamma``) against exact rational arithmetic.

References: the unit roundoff ``2^-p`` from each format's precision ``p`` (IEEE 754 / bfloat16),
Higham's ``gamma_n = n u / (1 - n u)`` in fractions, and float32 dot products whose exact value
is computed in fractions.
"""

from fractions import Fraction

import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.core import rounding_gamma, unit_roundoff

PRECISION = {jnp.float16: 11, jnp.bfloat16: 8, jnp.float32: 24, jnp.float64: 53}


def higham_gamma(n: int, u: Fraction) -> Fraction:
    return n * u / (1 - n * u)


@pytest.mark.parametrize("dtype", list(PRECISION))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 1000])
def test_rounding_gamma_is_exact_and_at_least_twice_highams_gamma(dtype, n):
    u = Fraction(1, 2 ** PRECISION[dtype])
    assert Fraction(unit_roundoff(dtype)) == u
    g = Fraction(rounding_gamma(n, dtype))
    assert g == 4 * (n + 2) * u  # exact: no rounding in the float result
    if (n + 2) * u <= Fraction(1, 2):  # where the bound is meaningful at all
        assert g >= 2 * higham_gamma(n + 2, u)


@pytest.mark.parametrize("n", [1, 4, 32, 256])
def test_rounding_gamma_bounds_float32_dot_products(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.normal(size=n).astype(np.float32)
        y = rng.normal(size=n).astype(np.float32) * np.float32(10.0) ** rng.integers(-3, 4, n)
        acc = np.float32(0.0)
        for xi, yi in zip(x, y, strict=True):  # products then sums, every step rounded
            acc = np.float32(acc + np.float32(xi * yi))
        exact = sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(x, y, strict=True))
        scale = sum(abs(Fraction(float(a)) * Fraction(float(b))) for a, b in zip(x, y, strict=True))
        err = abs(Fraction(float(acc)) - exact)
        assert err <= higham_gamma(n, Fraction(unit_roundoff(jnp.float32))) * scale
        assert err <= Fraction(rounding_gamma(n, jnp.float32)) / 2 * scale
