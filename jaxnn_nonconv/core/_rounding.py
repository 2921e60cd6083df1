"""Float rounding bounds shared by every float-sound certificate (detector, exact, rare).

Higham's bound (N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM
2002, Lemma 3.1 and eq. (3.5)): with unit roundoff ``u`` (half the machine epsilon of the
dtype) and ``n u < 1``, a float sum of ``n`` products, evaluated in any order, obeys

    ``|fl(x . y) - x . y| <= gamma_n |x| . |y|``,  ``gamma_n = n u / (1 - n u)``.

The certificates use one generous, order-free stand-in, :func:`rounding_gamma`: for ``n`` terms it
is ``4 (n + 2) u = 2 (n + 2) eps``. As ``gamma_m <= 2 m u`` whenever ``m u <= 1/2``, it is at least
``2 gamma_{n+2}``: twice the bound for the ``n`` terms plus a bias plus one spare, so that the
rounding of evaluating a bound built from it is covered too. It is an exact float (a small integer
times a power of two), so every module that uses it gets the same bits.
"""

from __future__ import annotations

import jax.numpy as jnp


def unit_roundoff(dtype) -> float:
    """Unit roundoff ``u = eps / 2`` of a float dtype (round to nearest).

    >>> unit_roundoff(jnp.float32) == 2.0**-24, unit_roundoff(jnp.float64) == 2.0**-53
    (True, True)
    """
    return float(jnp.finfo(dtype).eps) / 2


def rounding_gamma(n_terms: int, dtype) -> float:
    """Generous relative bound on the rounding error of a float sum of ``n_terms`` products.

    ``2 (n_terms + 2) eps``: at least twice Higham's ``gamma_{n_terms + 2}`` (module docstring),
    valid for any order of summation and with or without fused multiply-adds.

    Args:
      n_terms: number of products in the sum (``>= 0``).
      dtype: the float dtype the sum is computed in.

    Returns:
      The bound as a Python float (exact: an integer times a power of two).

    >>> from fractions import Fraction
    >>> rounding_gamma(2, jnp.float32) == 8 * float(jnp.finfo(jnp.float32).eps)
    True
    >>> n, u = 5, Fraction(unit_roundoff(jnp.float32))
    >>> Fraction(rounding_gamma(n, jnp.float32)) >= 2 * (n + 2) * u / (1 - (n + 2) * u)
    True
    """
    return 2.0 * (n_terms + 2) * float(jnp.finfo(dtype).eps)
