"""Exact risk of a ``d = 1`` ReLU network: Gauss-Legendre quadrature on its linear pieces.

Also for the clipping activation (kinks where a pre-activation crosses 0 or 1) and, with one
hidden layer, for power ReLU ``repu:P`` (a polynomial of degree ``P`` on each piece; the rules
below get more nodes, :func:`rule_for`).

For ``X ~ U[a, b]`` the risk ``L(theta) = E[(N_theta(X) - f(X))^2]`` (plus the noise variance
``noise^2``) of a ReLU (or leaky ReLU) network with input dimension 1 is an integral of
``(N_theta - f)^2`` over ``[a, b]``. ``N_theta`` is continuous and piecewise linear in ``x``: its
kinks are the points where some hidden pre-activation changes sign. :func:`pieces` finds them layer
by layer (between two consecutive known points every pre-activation of the next layer is linear, so
its sign changes are found by linear interpolation), in a fixed-capacity array with an overflow
flag (the shared kernel :func:`jaxnn_nonconv.exact.pieces.refine`). On each piece the integrand is
``(linear - f)^2`` and :func:`risk` integrates it with an ``n``-point Gauss-Legendre rule, chosen
per target (:func:`rule_for`):

================  ==========================================================================
target            rule (and its error)
================  ==========================================================================
``x^2``           3 nodes per piece: the integrand has degree 4 <= 2n - 1 = 5, exact.
``x^2+2x``        3 nodes per piece, exact (degree 4).
``|x|``           0 added as a fixed split; then the integrand has degree 2: 2 nodes, exact.
``step``          0 (the jump) as a fixed split; the integrand has degree 2: 2 nodes, exact.
``x^(1/4)``       substitution ``x = t^4`` on each piece (box inside ``[0, inf)``): the integrand
                  becomes ``(alpha + beta t^4 - t)^2 4 t^3``, a polynomial of degree 11 in
                  ``t``: 6 nodes, exact (no singularity left at ``x = 0``).
``sin(3x)``,      12 nodes per piece, pieces split further by a uniform grid of ``G`` cells so
``x^4 sin(x)``    that the Gauss-Legendre remainder bound (below) is at most ``1e-14``.
================  ==========================================================================

Error bound for smooth targets: on ``[u, v]`` the ``n``-point rule errs by
``(v - u)^(2n+1) (n!)^4 / ((2n+1) ((2n)!)^3) g^(2n)(xi)``; summed over pieces of length
``<= h`` and divided by ``b - a`` the risk errs by at most ``h^(2n) c_n max |g^(2n)|`` with
``c_n = (n!)^4 / ((2n+1) ((2n)!)^3)``. For ``g = (N - f)^2`` with ``N`` linear on the piece,
``g^(m) = (f^2)^(m) - 2 N f^(m) - 2 m N' f^(m-1)`` (``m >= 3``); :func:`smooth_error_bound`
bounds it with ``|N|, |N'| <= NET_BOUND`` on the box (1e4: far above any trained net here) and the
targets' derivative bounds (``|sin(3x)^(m)| <= 3^m``, ``|(sin^2 3x)^(m)| <= 6^m / 2``, Leibniz'
rule for ``x^4 sin x``). ``sin(3x)`` on ``[0, 1]`` needs ``G = 1`` (bound 2e-20).

Under a piecewise-polynomial input density ``p`` (``d = 1``, arXiv 2112.09684's assumption;
:class:`~jaxnn_nonconv.core.distributions.PiecewisePolynomial`) the risk is
``int (N - f)^2 p``: ``p``'s edges join the fixed splits, the weights are ``p`` at the nodes
instead of ``1 / (b - a)``, and the rules get the nodes for ``p``'s degree (:func:`rule_for`), so
it stays exact. A normal law has no exact rule (Monte Carlo risk).

Everything is jittable and vmappable; pass float64 parameters under ``jax.enable_x64(True)`` for
float64 results (:func:`risks_of_params` does). A callable (user) target or ``d > 1`` has no exact
rule: :func:`rule_for` returns ``None`` and callers keep the Monte Carlo risk. Overflow of the
breakpoint capacity gives ``NaN``, never a wrong number. Source: the risk of arXiv 2402.05155
(Sec. 2) for ``X ~ U[a, b]``; theory in ``docs/theory.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import distributions, nets, problems
from jaxnn_nonconv.exact import _pieces

DEFAULT_MAX_POINTS = 2048  # breakpoint capacity cap (the exact need is used when smaller)
DEFAULT_CHUNK = 1024  # nets per compiled call in risks_of_params (fixed: bit-identical results)
NET_BOUND = 1e4  # assumed bound of |N| and |N'| on the box in the smooth-target error bound
SMOOTH_TOL = 1e-14  # target bound of the quadrature error of the risk for smooth targets
SMOOTH_NODES = 12
PIECEWISE_LINEAR = frozenset({"relu", "leaky_relu", "clip"})


def degree(activation: str) -> int:
    """Polynomial degree of the activation on its pieces: ``P`` for ``repu:P``, else 1.

    >>> degree("relu"), degree("repu:3")
    (1, 3)
    """
    return nets.repu_power(activation) or 1


def _check_activation(activation: str, arch: Sequence[int] | None) -> None:
    """Exact risk needs a piecewise linear activation, or ``repu:P`` with one hidden layer (the
    net is then a piecewise polynomial whose pieces are the first layer's zero crossings; deeper,
    the kinks are roots of polynomials, which linear interpolation does not find)."""
    if activation in PIECEWISE_LINEAR:
        return
    if nets.repu_power(activation) is not None and (arch is None or len(arch) == 3):
        return
    raise ValueError(
        f"exact risk needs a piecewise linear activation (relu, leaky_relu, clip), or repu:P with "
        f"one hidden layer; got {activation!r}"
        + (f" with arch {tuple(arch)}" if arch is not None else "")
    )


class Rule(NamedTuple):
    """How to integrate one target exactly (or to a stated bound) on the net's pieces.

    Attributes:
      nodes: Gauss-Legendre nodes per piece.
      splits: fixed interior points (kinks of the target, grid of the error bound), sorted.
      power: substitution ``x = t^power`` on each piece (1: none).
      error_bound: bound of the quadrature error of the risk (0.0: exact up to rounding).
    """

    nodes: int
    splits: tuple[float, ...]
    power: int
    error_bound: float


def _c(n: int) -> float:
    return math.factorial(n) ** 4 / ((2 * n + 1) * math.factorial(2 * n) ** 3)


def _deriv_bound(target: str, m: int, r: float) -> tuple[float, float]:
    """Bounds of ``|f^(m)|`` and ``|(f^2)^(m)|`` on ``|x| <= r`` (``m >= 9``; for ``m < 9`` the
    sums below still bound them, term by term)."""
    if target == "sin(3x)":
        return 3.0**m, 6.0**m / 2
    # x^4 sin x and x^8 sin^2 x = x^8 / 2 - x^8 cos(2x) / 2, by Leibniz' rule.
    f = sum(math.comb(m, k) * math.perm(4, k) * r ** (4 - k) for k in range(5))
    f2 = sum(math.comb(m, k) * math.perm(8, k) * r ** (8 - k) * 2.0 ** (m - k) for k in range(9))
    return f, f2 / 2


def _integrand_bound(target: str, m: int, r: float, power: int) -> float:
    """Bound of ``|g^(m)|``, ``g = (N - f)^2``, ``m > 2 power`` (:func:`smooth_error_bound`)."""
    _, f2_m = _deriv_bound(target, m, r)
    mixed = sum(math.comb(m, j) * _deriv_bound(target, m - j, r)[0] for j in range(power + 1))
    return f2_m + 2 * NET_BOUND * mixed


def smooth_error_bound(
    target: str,
    box: tuple[float, float],
    cells: int,
    nodes: int,
    power: int = 1,
    density: distributions.PiecewisePolynomial | None = None,
) -> float:
    """Bound of the risk's quadrature error for ``sin(3x)`` / ``x^4 sin(x)`` (module docstring).

    ``power``: the degree ``P`` of the net on a piece (``repu:P``); then
    ``g^(m) = (f^2)^(m) - 2 sum_{j <= P} C(m, j) N^(j) f^(m-j)`` for ``m > 2P``, bounded with
    ``|N^(j)| <= NET_BOUND`` (for ``P = 1`` the bound of the module docstring).

    ``density``: a piecewise-polynomial density ``p`` of degree ``q`` (its edges are among the
    pieces): the integrand is ``g p``, ``(g p)^(m) = sum_{j <= q} C(m, j) g^(m-j) p^(j)``
    (Leibniz), and the pieces of length ``<= h`` sum to ``b - a``:
    ``(b - a) h^(2n) c_n max |(g p)^(2n)|`` (for ``p = 1 / (b - a)`` the uniform bound).

    >>> smooth_error_bound("sin(3x)", (0.0, 1.0), 1, 12) < 1e-14
    True
    """
    a, b = box
    r = max(abs(a), abs(b))
    h = (b - a) / cells
    m = 2 * nodes
    q = 0 if density is None else density.degree
    if m - q <= 2 * power:
        return math.inf
    if density is None:
        return h**m * _c(nodes) * _integrand_bound(target, m, r, power)
    leibniz = sum(
        math.comb(m, j) * _integrand_bound(target, m - j, r, power) * density.derivative_bound(j)
        for j in range(q + 1)
    )
    return (b - a) * h**m * _c(nodes) * leibniz


def rule_for(problem: problems.Problem, degree: int = 1) -> Rule | None:
    """The quadrature rule of ``problem``'s target (``None``: no exact risk, e.g. ``d > 1``).

    ``degree``: the net's polynomial degree on a piece (``P`` for ``repu:P``, else 1): with
    ``n`` nodes a Gauss-Legendre rule is exact up to degree ``2n - 1``, so ``x^2`` needs
    ``max(P, 2) + 1`` nodes, ``|x|`` ``P + 1``, ``x^(1/4)`` (after ``x = t^4``, the integrand
    ``(N(t^4) - t)^2 4 t^3`` has degree ``8P + 3``) ``4P + 2``.

    >>> rule_for(problems.Problem("x^2", ((0.0, 2.0),)))
    Rule(nodes=3, splits=(), power=1, error_bound=0.0)
    >>> rule_for(problems.Problem("|x|", ((-1.0, 1.0),))).splits
    (0.0,)
    >>> rule_for(problems.Problem("x^(1/4)", ((0.0, 1.0),)), degree=2).nodes
    10

    A piecewise-polynomial density ``p`` of degree ``q`` (``problem.distribution``) multiplies
    the integrand: its edges join the splits (``p`` is a polynomial on each piece) and the rule
    gets the nodes for ``q`` more degrees (``4 q`` more after ``x = t^4``). A normal law has no
    rule (its density is not a polynomial: callers keep the Monte Carlo risk).

    >>> tent = distributions.PiecewisePolynomial((0.0, 1.0, 2.0), ((0.0, 1.0), (2.0, -1.0)))
    >>> rule_for(problems.Problem("x^2", distribution=tent))
    Rule(nodes=3, splits=(1.0,), power=1, error_bound=0.0)
    """
    problem = problem.validate()
    dist = problem.distribution
    if problem.dim != 1 or not isinstance(problem.target, str):
        return None
    if dist is not None and not isinstance(dist, distributions.PiecewisePolynomial):
        return None  # the normal density is not a polynomial on pieces: Monte Carlo
    q = 0 if dist is None else dist.degree
    edges = () if dist is None else tuple(dist.edges[1:-1])
    (a, b), target = problem.box[0], problem.target

    def with_edges(splits):
        return tuple(sorted(set(splits) | set(edges)))

    def gauss(deg: int) -> int:  # nodes for exactness up to degree ``deg``: 2 n - 1 >= deg
        return (deg + 2) // 2

    if target in ("x^2", "x^2+2x"):
        return Rule(gauss(2 * max(degree, 2) + q), with_edges(()), 1, 0.0)
    if target in ("|x|", "step"):
        return Rule(gauss(2 * degree + q), with_edges((0.0,) if a < 0 < b else ()), 1, 0.0)
    if target == "x^(1/4)":
        return Rule(gauss(8 * degree + 3 + 4 * q), with_edges(()), 4, 0.0)
    if target in ("sin(3x)", "x^4 sin(x)"):
        nodes = SMOOTH_NODES + degree - 1 + (q + 1) // 2

        def bound(cells):
            return smooth_error_bound(target, (a, b), cells, nodes, degree, dist)

        cells = 1
        while bound(cells) > SMOOTH_TOL:
            cells *= 2
        splits = tuple(a + (b - a) * i / cells for i in range(1, cells))
        return Rule(nodes, with_edges(splits), 1, bound(cells))
    return None


def density_weights(problem: problems.Problem, x: jax.Array) -> jax.Array:
    """The density of ``X`` at the quadrature nodes ``x``: ``1 / (b - a)`` for the uniform law,
    ``p(x)`` for a piecewise-polynomial one (``x`` never on an edge: edges are splits)."""
    dist = problem.distribution
    if dist is None:
        (a, b) = problem.box[0]
        return jnp.full_like(x, 1.0 / (b - a))
    return dist.pdf_jnp(x)


def capacity(
    arch: Sequence[int],
    n_splits: int = 0,
    max_points: int = DEFAULT_MAX_POINTS,
    kinks: int = 1,
) -> int:
    """Points needed for ``a``, ``b``, ``n_splits`` fixed splits and every possible kink.

    Each hidden neuron adds at most ``kinks`` kinks per current piece (2 for ``clip``: at
    pre-activation 0 and 1). Capped at ``max_points``.

    >>> capacity((1, 32, 1)), capacity((1, 32, 1), kinks=2)
    (34, 66)
    """
    need = 2 + n_splits
    for width in arch[1:-1]:
        need += (need - 1) * width * kinks
        if need >= max_points:
            return int(max_points)
    return int(need)


def pieces(
    params: nets.Params,
    a: float,
    b: float,
    splits: Sequence[float] = (),
    cap: int | None = None,
    activation: str = "relu",
) -> tuple[jax.Array, jax.Array]:
    """Sorted points of ``[a, b]`` between which ``N_theta`` is linear.

    Args:
      params: one network with input dimension 1 and a piecewise linear activation (or
        ``repu:P`` with one hidden layer: its pieces are those of ReLU).
      a, b: the box, ``a < b``.
      splits: fixed interior points to include (the target's kinks, a grid).
      cap: static size of the point array (default :func:`capacity`).
      activation: ``relu``, ``leaky_relu``, ``clip`` or (one hidden layer) ``repu:P``.

    Returns:
      ``(pts, overflow)``: ``pts: (cap,)`` sorted, starting at ``a``, padded with ``b``;
      ``overflow: ()`` bool, True when kinks were dropped for lack of capacity.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([-0.5, 0.25])),
    ...           (jnp.ones((1, 2)), jnp.zeros(1)))
    >>> pts, ovf = pieces(params, 0.0, 1.0)
    >>> pts.tolist(), bool(ovf)
    ([0.0, 0.25, 0.5, 1.0], False)
    """
    act = nets.activation_fn(activation)
    arch = nets.arch_of(params)
    kinks = 2 if activation == "clip" else 1
    cap = cap or capacity(arch, len(splits), kinks=kinks)
    dtype = params[0][0].dtype
    fixed = sorted(float(s) for s in splits if a < s < b)
    start = np.concatenate([[a], fixed, np.full(max(cap - 1 - len(fixed), 1), b)])[:cap]
    pts = jnp.asarray(start, dtype)
    overflow = jnp.asarray(len(fixed) + 2 > cap)  # the fixed points alone do not fit
    for k in range(len(params) - 1):
        h = pts[:, None]
        for w, bias in params[:k]:
            h = act(h @ w.T + bias[None, :])
        w, bias = params[k]
        z = h @ w.T + bias[None, :]  # (cap, l_k), linear in x between consecutive points
        if kinks == 2:  # clip bends where the pre-activation crosses 0 and where it crosses 1
            z = jnp.concatenate([z, z - 1], axis=1)
        pts, _, _, dropped = _pieces.refine(pts, z, cap)
        overflow = overflow | dropped
    return pts, overflow


def risk(
    params: nets.Params,
    problem: problems.Problem,
    rule: Rule,
    cap: int | None = None,
    activation: str = "relu",
) -> tuple[jax.Array, jax.Array]:
    """Exact risk ``E[(N_theta(X) - f(X))^2] + noise^2`` of one ``d = 1`` network.

    The piece boundaries are held fixed under differentiation (``stop_gradient``): the integrand
    is continuous across kinks, so the gradient is the integral of the pointwise gradient, which
    the same rule integrates exactly on the same pieces.

    Args:
      params: one network, input dimension 1.
      problem: a validated problem with a :func:`rule_for` rule.
      rule: ``rule_for(problem, degree(activation))``.
      cap: breakpoint capacity (default :func:`capacity`).
      activation: ``relu``, ``leaky_relu``, ``clip``, or ``repu:P`` with one hidden layer.

    Returns:
      ``(risk, overflow)``, both ``()``; ``risk`` is NaN when ``overflow``.

    >>> p = ((jnp.zeros((1, 1)), jnp.zeros(1)), (jnp.zeros((1, 1)), jnp.array([1.0])))
    >>> prob = problems.Problem("x^2", ((0.0, 2.0),))
    >>> r, _ = risk(p, prob, rule_for(prob))  # E(1 - X^2)^2 = 1 - 8/3 + 16/5
    >>> round(float(r), 5)
    1.53333
    """
    _check_activation(activation, nets.arch_of(params))
    (a, b) = problem.box[0]
    pts, overflow = pieces(params, a, b, rule.splits, cap, activation)
    pts = jax.lax.stop_gradient(pts)
    dtype = pts.dtype
    xi, wi = np.polynomial.legendre.leggauss(rule.nodes)
    xi, wi = jnp.asarray(xi, dtype), jnp.asarray(wi, dtype)
    p = rule.power
    t = pts if p == 1 else pts ** (1.0 / p)
    tu, tv = t[:-1, None], t[1:, None]
    tn = (tu + tv) / 2 + (tv - tu) / 2 * xi[None, :]  # (cap - 1, nodes)
    wn = (tv - tu) / 2 * wi[None, :]
    if p != 1:
        xn, wn = tn**p, wn * p * tn ** (p - 1)
    else:
        xn = tn
    x = xn.reshape(-1, 1)
    err = nets.realization(params, x, activation) - problems.target_fn(problem)(x).astype(dtype)
    if problem.distribution is None:  # the uniform law (its historical form, bit for bit)
        value = jnp.sum(err**2 * wn.reshape(-1)) / (b - a) + problem.noise**2
    else:
        dens = density_weights(problem, x[:, 0])
        value = jnp.sum(err**2 * wn.reshape(-1) * dens) + problem.noise**2
    return jnp.where(overflow, jnp.nan, value), overflow


@functools.lru_cache(maxsize=32)
def _compiled(problem: problems.Problem, arch: tuple[int, ...], activation: str, max_points: int):
    rule = rule_for(problem, degree(activation))
    cap = capacity(arch, len(rule.splits), max_points, 2 if activation == "clip" else 1)

    def one(theta):
        return risk(nets.from_flat(theta, arch), problem, rule, cap, activation)

    return jax.jit(jax.vmap(one))


def risks_of_params(
    theta: np.ndarray | jax.Array,
    arch: Sequence[int],
    problem: problems.Problem,
    *,
    activation: str = "relu",
    float64: bool = True,
    chunk_size: int = DEFAULT_CHUNK,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact risks of ``M`` networks given as flat parameters ``theta: (M, P)``.

    Computed in padded chunks of one fixed size, so net ``i``'s result does not depend on ``M``;
    with ``float64`` the parameters are widened (exactly) and integrated under
    ``jax.enable_x64(True)``.

    Args:
      theta: e.g. ``train.run(...)["params"]``; non-finite rows give NaN.
      arch: ``(1, l_1, ..., l_L, 1)``.
      problem: a problem with a :func:`rule_for` rule.
      activation: ``relu``, ``leaky_relu``, ``clip``, or ``repu:P`` with one hidden layer.
      float64: integrate in float64 (default) rather than in ``theta``'s dtype.
      chunk_size: nets per compiled call.
      max_points: breakpoint capacity cap.

    Returns:
      ``(risk_exact, overflow)``: ``(M,)`` float64 and ``(M,)`` bool. NaN where overflowed.

    Raises:
      ValueError: no exact rule for ``problem`` (``d > 1`` or a callable target), or the
        activation is not piecewise linear.

    >>> prob = problems.Problem("x^2", ((0.0, 2.0),))
    >>> r, _ = risks_of_params(np.zeros((2, 10), np.float32), (1, 3, 1), prob)
    >>> r.round(6).tolist()  # E X^4 = 16/5
    [3.2, 3.2]
    """
    problem = problem.validate()
    arch = nets.check_arch(arch)
    if rule_for(problem) is None:
        raise ValueError(
            "exact risk needs d = 1, a built-in target and a uniform or piecewise-polynomial law"
        )
    _check_activation(activation, arch)
    theta = np.asarray(theta)
    if theta.ndim != 2 or theta.shape[1] != nets.num_params(arch):
        raise ValueError(f"theta must have shape (M, {nets.num_params(arch)}), got {theta.shape}")
    m = theta.shape[0]
    finite = np.all(np.isfinite(theta), axis=1)
    theta = np.where(finite[:, None], theta, 0.0).astype(np.float64 if float64 else theta.dtype)
    chunk_size = min(chunk_size, max(m, 1))
    outs, ovfs = [], []
    with jax.enable_x64(bool(float64) or jax.config.jax_enable_x64):
        fn = _compiled(problem, arch, activation, int(max_points))
        for lo in range(0, m, chunk_size):
            rows = np.minimum(np.arange(lo, lo + chunk_size), m - 1)
            r, o = fn(jnp.asarray(theta[rows]))
            outs.append(np.asarray(r, np.float64))
            ovfs.append(np.asarray(o))
    out = np.concatenate(outs)[:m] if outs else np.zeros(0)
    ovf = np.concatenate(ovfs)[:m] if ovfs else np.zeros(0, bool)
    return np.where(finite, out, np.nan), ovf


def supported(
    problem: problems.Problem, activation: str = "relu", arch: Sequence[int] | None = None
) -> bool:
    """Whether :func:`risks_of_params` applies: ``d = 1``, a built-in target, and ReLU, leaky
    ReLU, clip, or ``repu:P`` with one hidden layer (``arch`` must then be given)."""
    if rule_for(problem) is None:
        return False
    if nets.repu_power(activation) is not None and arch is None:
        return False
    try:
        _check_activation(activation, arch)
    except ValueError:
        return False
    return True


def add_exact(cfg, result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``risk0_exact`` and ``risk_exact`` (float64, ``(M,)``) of a training result, if supported.

    Args:
      cfg: the validated ``train.TrainConfig`` of ``result``.
      result: per-trial arrays with ``params0`` and ``params`` (as from ``train.run``).

    Returns:
      A dict with the two keys (NaN for diverged or overflowed trials), or ``{}`` when
      :func:`supported` is False.
    """
    if not supported(cfg.problem, cfg.activation, cfg.arch):
        return {}
    return {
        name: risks_of_params(result[key], cfg.arch, cfg.problem, activation=cfg.activation)[0]
        for name, key in (("risk0_exact", "params0"), ("risk_exact", "params"))
    }
