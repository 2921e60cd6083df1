"""The vector field of gradient flow on the exact ``d = 1`` risk, its conserved quantities, and
what a parameter vector realizes (slopes and kinks).

Gradient flow is ``d theta / dt = -grad R(theta)`` with ``R`` the exact risk of
:func:`jaxnn_nonconv.exact.risk.risk` (Gauss-Legendre on the linear pieces, float64) and the ReLU
convention ``relu'(0) = 0`` of the papers (arXiv 2112.09684, 2402.05155 Sec. 2).

Conserved quantities (Du, Hu and Lee, arXiv 1806.00900, Thm 2.1, with biases): for hidden neuron
``j`` of layer ``k`` let ``in_j = (W_k[j, :], b_k[j])`` (its incoming weights and bias) and
``out_j = W_{k+1}[:, j]`` (its outgoing weights). ReLU is positively homogeneous,
``relu'(z) z = relu(z)`` for every ``z`` (``z = 0`` included with ``relu'(0) = 0``), so
``<in_j, grad_in_j R> = <out_j, grad_out_j R>`` and gradient flow conserves

    ``I_j(theta) = ||out_j||^2 - ||in_j||^2``

(for a shallow net: ``v_j^2 - w_j^2 - b_j^2``). :func:`invariants` returns every ``I_j``;
their drift along a numerical trajectory measures the integration error. Gradient descent does
not conserve them (the drift is ``O(eta)`` per unit time), which is itself a check.

Realization of a shallow ``[1, H, 1]`` net ``N(x) = c + sum_j v_j relu(w_j x + b_j)``: neuron
``j`` contributes a kink at ``-b_j / w_j`` and slope ``|v_j w_j|``; ``max_j |v_j| |w_j|`` bounds
the realization's slope changes and, unlike ``||theta||``, does not move under the rescaling
symmetry ``(w_j, b_j, v_j) -> (s w_j, s b_j, v_j / s)``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk


def check_problem(problem: problems.Problem, arch: Sequence[int]) -> tuple:
    """Validate a flow problem; returns ``(problem, arch)``.

    Raises:
      ValueError: no exact risk (``d > 1``, a callable target) or ``arch`` is not ``(1, ..., 1)``.
    """
    problem = problem.validate()
    arch = nets.check_arch(arch)
    if arch[0] != 1 or not exact_risk.supported(problem):
        raise ValueError(
            "gradient flow on the exact risk needs d = 1, a built-in target and arch (1, ..., 1)"
        )
    if len(arch) < 3:
        raise ValueError(f"arch needs at least one hidden layer, got {arch}")
    return problem, arch


@functools.lru_cache(maxsize=32)
def risk_and_grad(problem: problems.Problem, arch: tuple[int, ...]):
    """``theta: (P,) -> (R(theta), grad R(theta))`` of one net (flat layout of
    :func:`jaxnn_nonconv.core.nets.to_flat`), unjitted (callers jit/vmap it).

    Overflow of the breakpoint capacity cannot happen here: the capacity is the exact need.
    """
    rule = exact_risk.rule_for(problem)
    cap = exact_risk.capacity(arch, len(rule.splits), max_points=1 << 20)

    def f(theta):
        return exact_risk.risk(nets.from_flat(theta, arch), problem, rule, cap)[0]

    return jax.value_and_grad(f)


def invariants(theta: jax.Array, arch: Sequence[int]) -> jax.Array:
    """``I_j = ||out_j||^2 - ||in_j||^2`` for every hidden neuron (module docstring).

    Args:
      theta: ``(P,)`` one flat net.
      arch: its architecture.

    Returns:
      ``(sum of hidden widths,)``, layer by layer.

    >>> theta = jnp.array([2.0, 1.0, 3.0, 0.5])  # [1,1,1]: w=2, b=1, v=3, c=0.5
    >>> invariants(theta, (1, 1, 1)).tolist()  # 9 - 4 - 1
    [4.0]
    """
    params = nets.from_flat(theta, tuple(arch))
    out = []
    for (w, b), (w_next, _) in zip(params[:-1], params[1:]):
        out.append(jnp.sum(w_next**2, axis=0) - jnp.sum(w**2, axis=1) - b**2)
    return jnp.concatenate(out)


def invariant_scale(theta: jax.Array, arch: Sequence[int]) -> jax.Array:
    """``max_j (||out_j||^2 + ||in_j||^2)``: the scale the drift of :func:`invariants` is
    measured against (relative drift), at least 1."""
    params = nets.from_flat(theta, tuple(arch))
    out = []
    for (w, b), (w_next, _) in zip(params[:-1], params[1:]):
        out.append(jnp.sum(w_next**2, axis=0) + jnp.sum(w**2, axis=1) + b**2)
    return jnp.maximum(jnp.max(jnp.concatenate(out)), 1.0)


def shallow_shape(theta: np.ndarray, arch: Sequence[int]) -> dict[str, np.ndarray]:
    """Slopes and kinks of shallow nets ``[1, H, 1]`` (NumPy, any leading axes).

    Args:
      theta: ``(..., P)`` flat nets.
      arch: ``(1, H, 1)``.

    Returns:
      ``slope: (..., H)`` ``|v_j w_j|``; ``kink: (..., H)`` ``-b_j / w_j`` (``nan`` when
      ``w_j = 0``); ``max_slope: (...)``.

    Raises:
      ValueError: ``arch`` is not shallow with ``d = 1``.

    >>> out = shallow_shape(np.array([2.0, -1.0, 3.0, 0.5]), (1, 1, 1))
    >>> out["slope"].tolist(), out["kink"].tolist()
    ([6.0], [0.5])
    """
    arch = tuple(arch)
    if len(arch) != 3 or arch[0] != 1:
        raise ValueError(f"shallow_shape needs arch (1, H, 1), got {arch}")
    h = arch[1]
    theta = np.asarray(theta, np.float64)
    w, b, v = theta[..., :h], theta[..., h : 2 * h], theta[..., 2 * h : 3 * h]
    slope = np.abs(v * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        kink = np.where(w != 0, -b / np.where(w != 0, w, 1.0), np.nan)
    return {"slope": slope, "kink": kink, "max_slope": slope.max(axis=-1)}


def max_slope(theta: np.ndarray, arch: Sequence[int]) -> np.ndarray:
    """Largest realization slope factor of each net: ``max_j |v_j| |w_j|`` for shallow nets;
    for deep nets the product over layers of the largest row norms (an upper bound of the
    realization's Lipschitz constant). ``theta: (..., P)``.

    >>> float(max_slope(np.array([2.0, -1.0, 3.0, 0.5]), (1, 1, 1)))
    6.0
    """
    arch = tuple(arch)
    theta = np.asarray(theta, np.float64)
    if len(arch) == 3:
        return shallow_shape(theta, arch)["max_slope"]
    lead = theta.shape[:-1]
    flat = theta.reshape(-1, theta.shape[-1])
    out = np.ones(flat.shape[0])
    for i, row in enumerate(flat):
        for w, _ in nets.from_flat(row, arch):
            out[i] *= np.sqrt((np.asarray(w) ** 2).sum(axis=1)).max()
    return out.reshape(lead)
