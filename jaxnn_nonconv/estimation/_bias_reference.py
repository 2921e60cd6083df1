"""Per-run reference risks of cells that train only some parameter groups (e.g. biases).

With frozen groups (``trainable`` in :class:`jaxnn_nonconv.engine.TrainConfig`) every run of a
cell solves its own problem: the frozen weights are those of its random initialization, so the
levels ``R_k`` of fully trained nets do not apply. :func:`bias_references` gives each run
``R*_run(found)``: the lowest exact float64 risk over the trainable coordinates, the frozen ones held
at the run's values, found by deterministic L-BFGS-B (``scipy.optimize``) from the run's end point
and from the trainable coordinates of ``starts`` other draws of the init law. Every value is the
risk of an explicit net, so ``R*_run(found)`` is an upper bound on that run's global minimum (not
the minimum itself). It also keeps ``local``, the value reached from the end point alone (a
critical value of the run's problem when L-BFGS-B converged), and the frozen first-layer neurons
at the end and at that polished point (:func:`first_layer_frozen`).

A first-layer bias ``b_i`` of a ``d = 1`` shallow net is optimized in units of its kink position
(``u_i = b_i / |w_i|``, a diagonal rescaling): with the clip init of arXiv 2212.13111 setting 2
(``w ~ H^3``) the risk moves on the scale of ``b_i / w_i``, not of ``b_i``. A dead (or, for clip,
saturated) neuron has zero partial derivatives in its own parameters (its pre-activation is off the
activation's sloped part on the whole box), so L-BFGS-B never moves it: the polished point keeps it
frozen, and its value is a critical value of the run's problem with that neuron frozen (docs/
theory.md sec. 5b).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy

from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk


@dataclasses.dataclass(frozen=True)
class BiasReference:
    """Per-run references of one cell (``M`` runs).

    Attributes:
      best: ``(M,)`` ``R*_run(found)``: the lowest polished exact risk over all starts (and the
        end point's own risk), an upper bound on the run's global minimum.
      local: ``(M,)`` the polished risk from the run's end point alone.
      end: ``(M,)`` the exact float64 risk of the end point.
      frozen_end: ``(M,)`` frozen first-layer neurons at the end point.
      frozen_local: ``(M,)`` frozen first-layer neurons at the point polished from the end.
      trainable: the groups optimized (e.g. ``("b1",)``).
      starts: draws of the init law per run (besides the end point).
      maxiter: L-BFGS-B iterations per start.
    """

    best: np.ndarray
    local: np.ndarray
    end: np.ndarray
    frozen_end: np.ndarray
    frozen_local: np.ndarray
    trainable: tuple[str, ...]
    starts: int
    maxiter: int

    def to_dict(self) -> dict:
        return {
            k: v.tolist() if isinstance(v, np.ndarray) else v
            for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, d: dict) -> BiasReference:
        arrays = {"best", "local", "end", "frozen_end", "frozen_local"}
        return cls(
            **{k: np.asarray(v) if k in arrays else v for k, v in d.items()}
            | {"trainable": tuple(d["trainable"])}
        )


def trainable_index(arch, trainable) -> np.ndarray:
    """Positions in the flat ``theta`` (:func:`jaxnn_nonconv.core.nets.to_flat`) of the groups.

    >>> trainable_index((1, 3, 1), ("b1", "b2")).tolist()
    [3, 4, 5, 9]
    """
    out, pos = [], 0
    for layer, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:]), start=1):
        for kind, size in (("W", n_in * n_out), ("b", n_out)):
            if f"{kind}{layer}" in set(trainable):
                out += range(pos, pos + size)
            pos += size
    return np.asarray(out, np.int64)


def first_layer_frozen(theta, arch, activation: str, box) -> np.ndarray:
    """Frozen first-layer neurons of ``d = 1`` nets: ReLU dead (pre-activation ``<= 0`` on the
    box), clip dead or saturated (``>= 1`` on it), from the pre-activation at the box's two ends
    in float64 (it is affine in ``x``).

    Args:
      theta: ``(M, P)`` flat parameters.
      arch: ``(1, l_1, ..., 1)``.
      activation: ``relu`` or ``clip``.
      box: ``((a, b),)``.

    Returns:
      ``(M,)`` int counts.

    >>> th = np.array([[1.0, -1.0, -2.0, 0.5, 0.5, 1.0, 1.0, 0.0]])  # w = (1,-1), b = (-2, .5)
    >>> first_layer_frozen(th, (1, 2, 1), "relu", ((0.0, 1.0),)).tolist()  # x - 2 < 0 on [0,1]
    [1]
    """
    theta = np.asarray(theta, np.float64)
    h = arch[1]
    w, b = theta[:, :h], theta[:, h : 2 * h]
    (lo, hi) = box[0]
    z_lo, z_hi = w * lo + b, w * hi + b
    z_max, z_min = np.maximum(z_lo, z_hi), np.minimum(z_lo, z_hi)
    frozen = z_max <= 0
    if activation == "clip":
        frozen |= z_min >= 1
    elif activation != "relu":
        raise ValueError(f"first_layer_frozen: relu or clip, got {activation!r}")
    return frozen.sum(axis=1)


@functools.lru_cache(maxsize=16)
def _value_and_grad(problem: problems.Problem, arch: tuple[int, ...], activation: str):
    rule = exact_risk.rule_for(problem, exact_risk.degree(activation))
    kinks = 2 if activation == "clip" else 1
    cap = exact_risk.capacity(arch, len(rule.splits), exact_risk.DEFAULT_MAX_POINTS, kinks)

    def f(t):
        return exact_risk.risk(nets.from_flat(t, arch), problem, rule, cap, activation)[0]

    return jax.jit(jax.value_and_grad(f))


def _scales(theta: np.ndarray, arch, index: np.ndarray) -> np.ndarray:
    """``|w_i|`` for first-layer biases of a ``d = 1`` net (kink units), 1 for the others."""
    h = arch[1]
    scale = np.ones(index.size)
    is_b1 = (index >= h) & (index < 2 * h)
    w = np.abs(theta[index[is_b1] - h])
    scale[is_b1] = np.where(w > 0, w, 1.0)
    return scale


def polish(theta, index, problem, arch, activation: str, maxiter: int) -> tuple[float, np.ndarray]:
    """L-BFGS-B on the exact float64 risk over ``theta[index]`` (the rest held fixed).

    Args:
      theta: ``(P,)`` the start (its other coordinates are the frozen values).
      index: positions that move (:func:`trainable_index`).
      problem: ``d = 1`` with an exact rule.
      arch: ``(1, l_1, ..., 1)``.
      activation: ``relu`` or ``clip``.
      maxiter: L-BFGS-B iterations.

    Returns:
      ``(risk, theta)``: the lower of the start and the polished point (non-finite: ``inf``).
    """
    vg = _value_and_grad(problem.validate(), tuple(arch), activation)
    base = np.asarray(theta, np.float64).copy()
    scale = _scales(base, arch, index)
    with jax.enable_x64(True):

        def full(u):
            t = base.copy()
            t[index] = u * scale
            return t

        def fun(u):
            v, g = vg(jnp.asarray(full(u)))
            v, g = float(v), np.asarray(g, np.float64)[index] * scale
            if not np.isfinite(v):
                return np.inf, np.zeros_like(g)
            return v, g

        u0 = base[index] / scale
        start = fun(u0)[0]
        res = scipy.optimize.minimize(
            fun,
            u0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30},
        )
        end = fun(res.x)[0]
    if end <= start:
        return end, full(res.x)
    return start, base


def bias_references(
    theta_end,
    draws,
    arch,
    problem: problems.Problem,
    activation: str,
    trainable,
    *,
    maxiter: int = 300,
) -> BiasReference:
    """``R*_run(found)`` and the polished end point of each run of a partly trained cell.

    Args:
      theta_end: ``(M, P)`` the runs' final flat parameters (frozen groups as initialized).
      draws: ``(S, P)`` draws of the cell's init law; their ``trainable`` coordinates are the
        other starts of every run (the same ``S`` starts for each run).
      arch: ``(1, H, 1)``.
      problem: ``d = 1`` with an exact rule.
      activation: ``relu`` or ``clip``.
      trainable: the groups to optimize.
      maxiter: L-BFGS-B iterations per start.

    Returns:
      A :class:`BiasReference`.
    """
    arch = tuple(arch)
    if len(arch) != 3 or arch[0] != 1:
        raise ValueError(f"bias_references needs a shallow d = 1 net, got arch {arch}")
    problem = problem.validate()
    theta_end = np.asarray(theta_end, np.float64)
    draws = np.asarray(draws, np.float64)
    index = trainable_index(arch, trainable)
    end, _ = exact_risk.risks_of_params(theta_end, arch, problem, activation=activation)
    best, local, polished = [], [], []
    for theta in theta_end:
        r_loc, t_loc = polish(theta, index, problem, arch, activation, maxiter)
        values = [r_loc]
        for d in draws:
            start = theta.copy()
            start[index] = d[index]
            values.append(polish(start, index, problem, arch, activation, maxiter)[0])
        local.append(r_loc)
        polished.append(t_loc)
        best.append(min(values))
    best = np.minimum(np.asarray(best), np.where(np.isfinite(end), end, np.inf))
    return BiasReference(
        best=best,
        local=np.asarray(local),
        end=end,
        frozen_end=first_layer_frozen(theta_end, arch, activation, problem.box),
        frozen_local=first_layer_frozen(np.asarray(polished), arch, activation, problem.box),
        trainable=tuple(trainable),
        starts=len(draws),
        maxiter=maxiter,
    )
