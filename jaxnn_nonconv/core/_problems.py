"""Supervised learning problems: ``X ~ Uniform(box)``, ``Y = f(X) (+ noise)`` (docs/theory.md sec. 2).

Built-in targets act on each coordinate and are summed over coordinates, ``f(x) = sum_j g(x_j)``;
for ``d = 1`` that is ``g`` itself. Because the coordinates of ``X`` are independent, the reference
risk levels of a built-in target reduce to one-dimensional integrals, computed here by adaptive
quadrature to about 1e-12. A user-supplied target is any jnp function ``(batch, d) -> (batch,)``;
its levels are estimated by Monte Carlo.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy

from jaxnn_nonconv.core import _distributions as distributions
from jaxnn_nonconv.core._random import flat_draw

# g(x, xp): one coordinate's target, written once for numpy and jax.numpy (xp).
_TARGETS: dict[str, Callable[[Any, Any], Any]] = {
    "x^2": lambda x, xp: x * x,
    "x^2+2x": lambda x, xp: x * x + 2 * x,
    "sin(3x)": lambda x, xp: xp.sin(3 * x),
    "x^4 sin(x)": lambda x, xp: x**4 * xp.sin(x),
    "x^(1/4)": lambda x, xp: xp.power(x, 0.25),
    "|x|": lambda x, xp: xp.abs(x),
    # 1 for x > 0, else 0: discontinuous, a negative control for existence (arXiv 2112.09684).
    "step": lambda x, xp: xp.heaviside(x, 0.0),
}
TARGETS: tuple[str, ...] = tuple(_TARGETS)
# Targets defined only for x >= 0.
_NONNEGATIVE_DOMAIN = frozenset({"x^(1/4)"})

Box = tuple[tuple[float, float], ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """A regression problem.

    Attributes:
      target: a name from :data:`TARGETS`, or a jnp function ``(batch, d) -> (batch,)``.
      box: one ``(a_j, b_j)`` per input coordinate, ``a_j < b_j``.
      noise: standard deviation of additive Gaussian noise on ``Y``.
      distribution: the law of ``X`` (:mod:`jaxnn_nonconv.core.distributions`), ``None`` for
        uniform on the box; a piecewise-polynomial density sets the box to its support.
    """

    target: str | Callable[[jax.Array], jax.Array] = "x^2"
    box: Box = ((0.0, 1.0),)
    noise: float = 0.0
    distribution: Any = None

    @property
    def dim(self) -> int:
        return len(self.box)

    def validate(self) -> Problem:
        """Check the fields; return a copy with a normalized box. Raises ``ValueError``."""
        box = tuple((float(a), float(b)) for a, b in self.box)
        dist = self.distribution
        if isinstance(dist, distributions.PiecewisePolynomial):
            dist = dist.validate()
            box = dist.box
        elif dist is not None:
            if not isinstance(dist, distributions.Normal):
                raise ValueError(f"unknown input distribution {dist!r}")
            dist = dist.validate(box)
        if not box:
            raise ValueError("box must have at least one coordinate")
        for j, (a, b) in enumerate(box):
            if not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError(f"box coordinate {j}: bounds must be finite, got [{a}, {b}]")
            if not a < b:
                raise ValueError(
                    f"box coordinate {j}: need a < b, got [{a}, {b}] (empty or reversed)"
                )
        if isinstance(self.target, str):
            if self.target not in _TARGETS:
                raise ValueError(f"unknown target {self.target!r}; valid: {', '.join(TARGETS)}")
            if self.target in _NONNEGATIVE_DOMAIN and min(a for a, _ in box) < 0:
                raise ValueError(f"target {self.target!r} needs a box inside [0, inf)")
        elif not callable(self.target):
            raise ValueError(f"target must be a name or a callable, got {self.target!r}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0, got {self.noise}")
        return dataclasses.replace(self, box=box, distribution=dist)


def target_fn(problem: Problem) -> Callable[[jax.Array], jax.Array]:
    """The target ``f: (batch, d) -> (batch,)`` as a jnp function.

    >>> f = target_fn(Problem("x^2+2x", ((0.0, 1.0),)))
    >>> f(jnp.array([[1.0], [2.0]]))
    Array([3., 8.], dtype=float32)
    """
    if callable(problem.target):
        return problem.target
    g = _TARGETS[problem.target]
    return lambda x: jnp.sum(g(x, jnp), axis=-1)


def box_arrays(box: Box, dtype=None) -> tuple[jax.Array, jax.Array]:
    """``(lower, upper)``, each ``(d,)``."""
    lo, hi = np.asarray(box, dtype=np.float64).T
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64) if dtype is None else dtype
    return jnp.asarray(lo, dtype), jnp.asarray(hi, dtype)


def sample_x(key: jax.Array, box: Box, n: int, dtype=None) -> jax.Array:
    """``n`` inputs uniform on ``box``: ``(n, d)``."""
    lo, hi = box_arrays(box, dtype)
    return flat_draw(jax.random.uniform, key, (n, len(box)), lo.dtype, minval=lo, maxval=hi)


def sample(key: jax.Array, problem: Problem, n: int, dtype=None) -> tuple[jax.Array, jax.Array]:
    """Draw ``n`` samples: ``x: (n, d)``, ``y: (n,)``.

    >>> x, y = sample(jax.random.key(0), Problem("x^2", ((0.0, 2.0),)), 5)
    >>> x.shape, y.shape, bool(jnp.allclose(y, x[:, 0] ** 2))
    ((5, 1), (5,), True)
    """
    kx, kn = jax.random.split(key)
    if problem.distribution is None:
        x = sample_x(kx, problem.box, n, dtype)
    else:
        dt = jax.dtypes.canonicalize_dtype(jnp.float64) if dtype is None else dtype
        x = problem.distribution.sample(kx, n, dt)
    y = target_fn(problem)(x).astype(x.dtype)
    if problem.noise:
        y = y + problem.noise * jax.random.normal(kn, (n,), x.dtype)
    return x, y


class Levels(NamedTuple):
    """Reference risk levels of a problem (noise variance included).

    Attributes:
      constant: best risk of a constant predictor, ``Var f(X) + noise^2``.
      affine: best risk of an affine predictor.
      stderr: Monte Carlo standard error of both (0 for exact quadrature).
    """

    constant: float
    affine: float
    stderr: float = 0.0


def _moments_1d(g: Callable, a: float, b: float) -> tuple[float, float, float]:
    """``E g(X), E g(X)^2, Cov(X, g(X))`` for ``X ~ U(a, b)`` by adaptive quadrature."""
    # 0 is a kink or jump of |x| and step: split there so quad does not chase it.
    opts = dict(epsabs=1e-14, epsrel=1e-13, limit=500, points=[0.0] if a < 0 < b else None)
    width = b - a
    mean_g = scipy.integrate.quad(lambda t: g(t, np), a, b, **opts)[0] / width
    mean_g2 = scipy.integrate.quad(lambda t: g(t, np) ** 2, a, b, **opts)[0] / width
    mid = (a + b) / 2
    cov = scipy.integrate.quad(lambda t: (t - mid) * g(t, np), a, b, **opts)[0] / width
    return mean_g, mean_g2, cov


def reference_levels(problem: Problem, n_mc: int = 2**22, seed: int = 0) -> Levels:
    """Best constant and best affine risk of ``problem`` (docs/theory.md sec. 2).

    For built-in targets exact up to quadrature error (~1e-12); for a callable target a Monte Carlo
    estimate on ``n_mc`` float64-free samples, with its standard error.

    >>> lv = reference_levels(Problem("x^2+2x", ((0.0, 1.0),)))
    >>> round(lv.constant * 45, 9), round(lv.affine * 180, 9)
    (34.0, 1.0)
    """
    problem = problem.validate()
    noise_var = problem.noise**2
    if isinstance(problem.target, str):
        g = _TARGETS[problem.target]
        const = affine = 0.0
        for j, (a, b) in enumerate(problem.box):
            if problem.distribution is None:
                mean_g, mean_g2, cov = _moments_1d(g, a, b)
                var_x = (b - a) ** 2 / 12
            else:  # the law's own moments (docs/data.md)
                mean_g, mean_g2, cov, var_x = problem.distribution.moments(g, j)
            var_g = mean_g2 - mean_g**2
            const += var_g
            affine += var_g - cov**2 / var_x
        # Cancellation can leave -1e-17 for targets that are exactly affine.
        return Levels(const + noise_var, max(affine, 0.0) + noise_var)
    return _mc_levels(problem, n_mc, seed)


def _mc_levels(problem: Problem, n: int, seed: int) -> Levels:
    """Monte Carlo levels of a callable target: plain moments and a least-squares affine fit."""
    x, y = sample(jax.random.key(seed), dataclasses.replace(problem, noise=0.0), n)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    const = float(np.var(y))
    design = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid2 = (y - design @ coef) ** 2
    affine = float(np.mean(resid2))
    stderr = float(max(np.std((y - y.mean()) ** 2), np.std(resid2)) / math.sqrt(n))
    noise_var = problem.noise**2
    return Levels(const + noise_var, affine + noise_var, stderr)
