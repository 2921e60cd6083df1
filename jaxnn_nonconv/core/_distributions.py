"""Input distributions beyond the uniform box: a normal law and a piecewise-polynomial density.

A :class:`~jaxnn_nonconv.core.problems.Problem` draws ``X`` uniformly on its box unless it holds a
``distribution``:

* :class:`Normal`: independent coordinates ``X_j ~ N(mean_j, std_j^2)``. The box stays the domain
  of the inactivity certificates (the normal law has no bounded support; a neuron certified
  inactive on the box may fire on the mass outside it, ``P(X not in box)`` is
  :meth:`Normal.mass_outside`).
* :class:`PiecewisePolynomial` (``d = 1``): a density ``p(x) = sum_k c_ik x^k`` on each piece
  ``[e_i, e_(i+1)]`` of ``[e_0, e_m]``, the assumption on the input law of arXiv 2112.09684; its
  support is the box, so the box certificates are exactly "inactive on the support". It is
  normalized when validated; sampling inverts its exact CDF by bisection (fixed iteration count,
  to full float precision).
* the empirical law of a data set is :class:`~jaxnn_nonconv.core.data.Dataset` (``TrainConfig.data``).

Each gives the moments of one coordinate for the problem's reference levels (quadrature, about
1e-12). Under the piecewise-polynomial density the ``d = 1`` risk of a net and the levels ``R_k``
are exact too (:mod:`jaxnn_nonconv.exact.risk` puts the density's edges among its pieces and
weights by :meth:`PiecewisePolynomial.pdf_jnp`); under the normal law the risk is Monte Carlo.
Both are frozen and hashable (they are part of a training config).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy
from numpy.polynomial import polynomial as P

from jaxnn_nonconv.core._random import flat_draw

_QUAD = dict(epsabs=1e-14, epsrel=1e-13, limit=500)


@dataclasses.dataclass(frozen=True)
class Normal:
    """Independent normal coordinates; ``mean`` and ``std`` have one entry per coordinate."""

    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    @property
    def dim(self) -> int:
        return len(self.mean)

    def validate(self, box) -> Normal:
        """Check the fields against the problem's ``box``. Raises ``ValueError``."""
        mean = tuple(float(m) for m in self.mean)
        std = tuple(float(s) for s in self.std)
        if len(mean) != len(std) or len(mean) != len(box):
            raise ValueError(
                f"normal law: {len(mean)} means and {len(std)} stds for {len(box)} coordinate(s)"
            )
        if not all(math.isfinite(m) for m in mean):
            raise ValueError("normal law: means must be finite")
        if not all(math.isfinite(s) and s > 0 for s in std):
            raise ValueError("normal law: stds must be finite numbers > 0")
        return Normal(mean, std)

    def sample(self, key: jax.Array, n: int, dtype) -> jax.Array:
        """``(n, d)`` draws."""
        z = flat_draw(jax.random.normal, key, (n, self.dim), dtype)
        return jnp.asarray(self.mean, dtype)[None, :] + jnp.asarray(self.std, dtype)[None, :] * z

    def moments(self, g: Callable, j: int) -> tuple[float, float, float, float]:
        """``E g(X_j), E g(X_j)^2, Cov(X_j, g(X_j)), Var X_j`` by quadrature on the real line."""
        m, s = self.mean[j], self.std[j]
        pdf = scipy.stats.norm(m, s).pdf
        mean_g = scipy.integrate.quad(lambda t: g(t, np) * pdf(t), -np.inf, np.inf, **_QUAD)[0]
        mean_g2 = scipy.integrate.quad(lambda t: g(t, np) ** 2 * pdf(t), -np.inf, np.inf, **_QUAD)[
            0
        ]
        cov = scipy.integrate.quad(lambda t: (t - m) * g(t, np) * pdf(t), -np.inf, np.inf, **_QUAD)[
            0
        ]
        return mean_g, mean_g2, cov, s * s

    def mass_outside(self, box) -> float:
        """``P(X not in box)``.

        >>> round(Normal((0.0,), (1.0,)).mass_outside(((-1.96, 1.96),)), 4)
        0.05
        """
        inside = 1.0
        for (a, b), m, s in zip(box, self.mean, self.std):
            inside *= scipy.stats.norm(m, s).cdf(b) - scipy.stats.norm(m, s).cdf(a)
        return float(1.0 - inside)


@dataclasses.dataclass(frozen=True)
class PiecewisePolynomial:
    """A ``d = 1`` density, a polynomial on each piece (module docstring).

    Attributes:
      edges: ``e_0 < e_1 < ... < e_m``, the pieces; ``[e_0, e_m]`` is the support (the box).
      coeffs: ``m`` tuples ``(c_i0, c_i1, ...)``, the density ``sum_k c_ik x^k`` on piece ``i``
        (any positive multiple: :meth:`validate` normalizes it).

    >>> p = PiecewisePolynomial((0.0, 1.0, 2.0), ((0.0, 1.0), (2.0, -1.0))).validate()  # a tent
    >>> [round(c, 6) for c in p.coeffs[0]], p.box
    ([0.0, 1.0], ((0.0, 2.0),))
    """

    edges: tuple[float, ...] = (0.0, 1.0)
    coeffs: tuple[tuple[float, ...], ...] = ((1.0,),)

    dim = 1

    @property
    def box(self) -> tuple[tuple[float, float], ...]:
        return ((float(self.edges[0]), float(self.edges[-1])),)

    def _masses(self) -> np.ndarray:
        out = []
        for (a, b), c in zip(zip(self.edges[:-1], self.edges[1:]), self.coeffs):
            anti = P.polyint(np.asarray(c, np.float64))
            out.append(P.polyval(b, anti) - P.polyval(a, anti))
        return np.asarray(out)

    def validate(self, box=None) -> PiecewisePolynomial:
        """Check the pieces and the sign of the density; return it normalized. Raises
        ``ValueError`` (also when ``box`` is given and is not ``[e_0, e_m]``)."""
        edges = tuple(float(e) for e in self.edges)
        coeffs = tuple(tuple(float(v) for v in c) for c in self.coeffs)
        if len(edges) < 2 or not all(math.isfinite(e) for e in edges):
            raise ValueError("piecewise polynomial: need at least 2 finite edges")
        if not all(a < b for a, b in zip(edges[:-1], edges[1:])):
            raise ValueError("piecewise polynomial: edges must increase")
        if len(coeffs) != len(edges) - 1 or not all(
            c and all(map(math.isfinite, c)) for c in coeffs
        ):
            raise ValueError(
                f"piecewise polynomial: need {len(edges) - 1} finite coefficient tuples, one per piece"
            )
        for (a, b), c in zip(zip(edges[:-1], edges[1:]), coeffs):
            # the minimum of a polynomial on [a, b] is at an end or at a real critical point
            cp = np.asarray(c, np.float64)
            crit = P.polyroots(P.polyder(cp)) if len(cp) > 2 else np.array([])
            inner = [r.real for r in crit if abs(r.imag) < 1e-12 and a < r.real < b]
            if min(P.polyval(np.asarray([a, b, *inner]), cp)) < -1e-12:
                raise ValueError(f"piecewise polynomial: the density is negative on [{a}, {b}]")
        out = PiecewisePolynomial(edges, coeffs)
        total = float(out._masses().sum())
        if not total > 0:
            raise ValueError("piecewise polynomial: the density integrates to 0")
        out = PiecewisePolynomial(edges, tuple(tuple(v / total for v in c) for c in coeffs))
        if box is not None and tuple(tuple(map(float, ab)) for ab in box) != out.box:
            raise ValueError(
                f"piecewise polynomial: its support {out.box} is not the box {tuple(box)}"
            )
        return out

    def sample(self, key: jax.Array, n: int, dtype) -> jax.Array:
        """``(n, 1)`` draws: a piece by its mass, then the inverse of its CDF by bisection."""
        masses = self._masses()
        cum = np.concatenate([[0.0], np.cumsum(masses)])
        deg = max(len(c) for c in self.coeffs)
        c = np.zeros((len(self.coeffs), deg))
        for i, ci in enumerate(self.coeffs):
            c[i, : len(ci)] = ci
        anti = np.stack([P.polyint(ci) for ci in c])  # (m, deg + 1)
        lo_e, hi_e = np.asarray(self.edges[:-1]), np.asarray(self.edges[1:])
        u = jax.random.uniform(key, (n,), dtype) * jnp.asarray(cum[-1], dtype)
        piece = jnp.clip(
            jnp.searchsorted(jnp.asarray(cum[1:-1], dtype), u, side="right"), 0, len(masses) - 1
        )
        a, b = jnp.asarray(lo_e, dtype)[piece], jnp.asarray(hi_e, dtype)[piece]
        coef = jnp.asarray(anti, dtype)[piece]  # (n, deg + 1)
        target = u - jnp.asarray(cum[:-1], dtype)[piece]

        def cdf(x):  # mass of the piece to the left of x
            k = jnp.arange(anti.shape[1], dtype=dtype)[None, :]
            powers, pa = x[:, None] ** k, a[:, None] ** k
            return jnp.sum(coef * (powers - pa), axis=1)

        def step(_, ab):
            lo, hi = ab
            mid = (lo + hi) / 2
            left = cdf(mid) < target
            return jnp.where(left, mid, lo), jnp.where(left, hi, mid)

        lo, hi = jax.lax.fori_loop(0, 64, step, (a, b))
        return ((lo + hi) / 2)[:, None]

    @property
    def degree(self) -> int:
        """The largest polynomial degree of the pieces (0: piecewise constant)."""
        return max(len(c) for c in self.coeffs) - 1

    def coefficient_table(self) -> np.ndarray:
        """``(m, degree + 1)`` float64: piece ``i``'s coefficients, zero-padded."""
        out = np.zeros((len(self.coeffs), self.degree + 1))
        for i, c in enumerate(self.coeffs):
            out[i, : len(c)] = c
        return out

    def pdf_jnp(self, x: jax.Array) -> jax.Array:
        """The density at ``x`` (any shape, jittable): piece ``i`` is ``[e_i, e_(i+1))``, the
        last piece closed. At an interior edge the right piece's value is taken (callers that
        integrate put the edges among their piece boundaries, so they never evaluate there)."""
        table = jnp.asarray(self.coefficient_table(), x.dtype)
        inner = jnp.asarray(self.edges[1:-1], x.dtype)
        piece = jnp.searchsorted(inner, x, side="right")
        coef = table[piece]  # (..., degree + 1)
        k = jnp.arange(table.shape[1], dtype=x.dtype).reshape((1,) * x.ndim + (-1,))
        powers = x[..., None] ** k
        return jnp.sum(coef * powers, axis=-1)

    def derivative_bound(self, j: int) -> float:
        """A bound of ``|p^(j)|`` on the support: ``sum_k |c_ik| k!/(k-j)! r^(k-j)`` over the
        pieces, ``r = max(|e_0|, |e_m|)`` (0 for ``j > degree``)."""
        r = max(abs(self.edges[0]), abs(self.edges[-1]))
        return max(
            sum(abs(ck) * math.perm(k, j) * r ** (k - j) for k, ck in enumerate(c) if k >= j)
            for c in self.coeffs
        )

    def pdf(self, t: float) -> float:
        i = int(np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, len(self.coeffs) - 1))
        return float(P.polyval(t, self.coeffs[i]))

    def moments(self, g: Callable, j: int = 0) -> tuple[float, float, float, float]:
        """``E g(X), E g(X)^2, Cov(X, g(X)), Var X``: quadrature on each piece."""

        def integral(h):
            return sum(
                scipy.integrate.quad(lambda t, c=c: h(t) * P.polyval(t, c), a, b, **_QUAD)[0]
                for (a, b), c in zip(zip(self.edges[:-1], self.edges[1:]), self.coeffs)
            )

        mean_x = integral(lambda t: t)
        var_x = integral(lambda t: (t - mean_x) ** 2)
        mean_g = integral(lambda t: g(t, np))
        mean_g2 = integral(lambda t: g(t, np) ** 2)
        cov = integral(lambda t: (t - mean_x) * g(t, np))
        return mean_g, mean_g2, cov, var_x


Distribution = Normal | PiecewisePolynomial
