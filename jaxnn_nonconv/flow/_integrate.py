"""Gradient flow on the exact ``d = 1`` risk, and full-batch gradient descent as its Euler
discretization, for many initializations at once.

* ``method="ode"``: ``d theta / dt = -grad R(theta)`` integrated by diffrax (Tsit5, adaptive steps
  under a PID controller with ``rtol``/``atol``), stopped by an event when ``||grad R|| < grad_tol``
  or at ``t_max``.
* ``method="gd"``: ``theta_{n+1} = theta_n - eta grad R(theta_n)`` (full-batch GD on the exact
  risk), ``n <= t_max / eta``, stopped at the first ``n`` with ``||grad R(theta_n)|| < grad_tol``;
  step ``n`` sits at time ``t = n eta``, so GD at ``eta, eta/2, eta/4`` converges to the flow at
  equal times (first order in ``eta``).

Both record ``R`` and ``||grad R||`` at ``n_save`` times (``0`` and a geometric grid up to
``t_max``: what the rates are fitted on), the largest drift of the conserved quantities
(:func:`jaxnn_nonconv.flow.dynamics.invariants`) relative to their scale at ``t = 0``, and the
largest ``||theta||``. A trajectory diverges when its risk stops being finite or ``||theta||``
exceeds ``DIVERGE_NORM``.

Trials: trial ``i`` starts from the engine's initialization with key
``fold_in(key(seed), i)`` (:func:`jaxnn_nonconv.engine.init_trial_params`), its output bias
shifted by ``output_offset`` (to start above ``Var f``, arXiv 2402.05155 Sec. 5). They are
computed vmapped in padded chunks of one fixed size, so trial ``i``'s result is bit-identical
whatever the number of trials or the chunk size. diffrax is imported here only (the ``flow``
extra). Source: arXiv 2112.09684 (gradient flow), 2402.05155 Sec. 5 (GD).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.flow import _dynamics

METHODS = ("ode", "gd")
DIVERGE_NORM = 1e8


@dataclasses.dataclass(frozen=True)
class FlowSettings:
    """How trajectories are started, integrated and recorded.

    Attributes:
      method: ``ode`` (gradient flow, diffrax) or ``gd`` (full-batch gradient descent).
      step: GD step ``eta``.
      t_max: end time (GD: ``round(t_max / eta)`` steps).
      grad_tol: stop when ``||grad R|| < grad_tol``.
      rtol, atol: the ODE controller's tolerances.
      max_steps: the ODE solver's step cap (a trajectory that hits it is cut there).
      n_save: recorded times (``0`` and a geometric grid from ``t_max * 1e-4`` to ``t_max``).
      init, init_scale: the initialization family and its scale (:mod:`jaxnn_nonconv.core.inits`).
      output_offset: added to the output bias at ``t = 0``.
      seed: trial ``i`` uses ``fold_in(key(seed), i)``.
      chunk_size: trials per compiled call.
    """

    method: str = "ode"
    step: float = 0.005
    t_max: float = 200.0
    grad_tol: float = 1e-10
    rtol: float = 1e-10
    atol: float = 1e-12
    max_steps: int = 100_000
    n_save: int = 48
    init: str = "pytorch"
    init_scale: float = 1.0
    output_offset: float = 0.0
    seed: int = 0
    chunk_size: int = 64

    def validate(self) -> FlowSettings:
        """Raises ``ValueError`` naming the bad field."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("step", "t_max", "grad_tol", "rtol", "atol", "init_scale"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if not math.isfinite(self.output_offset):
            raise ValueError(f"output_offset must be finite, got {self.output_offset!r}")
        for name, least in (("max_steps", 1), ("n_save", 2), ("chunk_size", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
        if self.method == "gd" and self.t_max / self.step > 1e8:
            raise ValueError(f"t_max / step = {self.t_max / self.step:.3g} GD steps is too many")
        return self


def save_times(settings: FlowSettings) -> np.ndarray:
    """``(n_save,)`` recorded times: ``0`` and a geometric grid up to ``t_max`` (GD: rounded to
    multiples of ``eta``).

    >>> save_times(FlowSettings(t_max=100.0, n_save=3)).tolist()
    [0.0, 0.01, 100.0]
    """
    s = settings
    ts = np.concatenate([[0.0], np.geomspace(s.t_max * 1e-4, s.t_max, s.n_save - 1)])
    if s.method == "gd":
        ts = np.round(ts / s.step) * s.step
    return ts


@functools.lru_cache(maxsize=16)
def _init_fn(arch: tuple[int, ...], problem: problems.Problem, init: str, init_scale: float):
    cfg = engine.TrainConfig(
        arch=arch, init=init, init_scale=init_scale, problem=problem, dtype="float64"
    ).validate()

    def one(seed, i):
        return nets.to_flat(engine.init_trial_params(cfg, engine.trial_key(seed, i)))

    return jax.jit(jax.vmap(one, (None, 0)))


def initial_params(
    arch, problem: problems.Problem, settings: FlowSettings, trials: np.ndarray
) -> np.ndarray:
    """``(len(trials), P)`` float64 flat starting points of the given trial indices: the engine's
    initialization with key ``fold_in(key(seed), i)``, output bias plus ``output_offset``."""
    fn = _init_fn(tuple(arch), problem, settings.init, float(settings.init_scale))
    trials = np.asarray(trials)
    chunk, parts = settings.chunk_size, []
    for lo in range(0, len(trials), chunk):  # padded chunks: one compiled shape
        idx = trials[np.minimum(np.arange(lo, lo + chunk), len(trials) - 1)]
        parts.append(np.asarray(fn(settings.seed, jnp.asarray(idx, jnp.uint32)), np.float64))
    theta = np.concatenate(parts)[: len(trials)] if parts else np.zeros((0, 0))
    theta[:, -1] += settings.output_offset
    return theta


def _record(vg, arch, theta, inv0, scale0):
    r, g = vg(theta)
    drift = jnp.max(jnp.abs(_dynamics.invariants(theta, arch) - inv0)) / scale0
    return r, jnp.linalg.norm(g), drift, jnp.linalg.norm(theta)


def _gd_one(vg, arch, theta0, eta, steps_at, ts, t_max, tol):
    """GD from one start with step ``eta``; ``steps_at: (n_save,)`` step counts at which to
    record (``ts``, ``t_max`` unused: the signature of :func:`_ode_one`)."""
    inv0 = _dynamics.invariants(theta0, arch)
    scale0 = _dynamics.invariant_scale(theta0, arch)

    def body(c):
        theta, n, done, bad, top = c
        r, g = vg(theta)
        gn = jnp.linalg.norm(g)
        norm = jnp.linalg.norm(theta)
        bad = ~jnp.isfinite(r) | ~(norm < DIVERGE_NORM)
        done = bad | (gn < tol)
        theta = jnp.where(done, theta, theta - eta * g)
        return theta, jnp.where(done, n, n + 1), done, bad, jnp.maximum(top, norm)

    def segment(c, n_k):
        c = jax.lax.while_loop(lambda c: (c[1] < n_k) & ~c[2], body, c)
        theta = c[0]
        return c, (*_record(vg, arch, theta, inv0, scale0), c[1])

    start = (theta0, jnp.zeros((), jnp.int64), jnp.zeros((), bool), jnp.zeros((), bool), 0.0)
    (theta, n, _, bad, top), (risk, gnorm, drift, norm, n_at) = jax.lax.scan(
        segment, start, steps_at
    )
    r_end, g_end, _, _ = _record(vg, arch, theta, inv0, scale0)
    return {
        "params": theta,
        "risk_final": r_end,
        "grad_norm_final": g_end,
        "t_final": n.astype(theta.dtype) * eta,
        "risk_traj": risk,
        "grad_traj": gnorm,
        "t_traj": n_at.astype(theta.dtype) * eta,
        "drift": jnp.max(jnp.where(jnp.isfinite(drift), drift, jnp.inf)),
        "norm_max": jnp.maximum(top, jnp.max(norm)),
        "diverged": bad,
        "steps": n,
    }


def _ode_one(vg, arch, settings: FlowSettings, theta0, eta, steps_at, ts, t_max, tol):
    """Gradient flow from one start by diffrax, recorded at ``ts: (n_save,)``; the state is held
    after the stop (``eta``, ``steps_at`` unused: the signature of :func:`_gd_one`)."""
    import diffrax

    s = settings
    inv0 = _dynamics.invariants(theta0, arch)
    scale0 = _dynamics.invariant_scale(theta0, arch)

    def field(t, y, args):
        return -vg(y)[1]

    def stop(t, y, args, **kwargs):
        r, g = vg(y)
        return (jnp.linalg.norm(g) < tol) | ~jnp.isfinite(r)

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        t0=0.0,
        t1=t_max,
        dt0=jnp.minimum(1e-3, t_max),
        y0=theta0,
        saveat=diffrax.SaveAt(ts=ts, t1=True),
        stepsize_controller=diffrax.PIDController(rtol=s.rtol, atol=s.atol),
        event=diffrax.Event(stop),
        max_steps=s.max_steps,
        throw=False,
    )
    # After an event (or the step cap) diffrax puts the stopping state at the first unreached
    # save slot and fills the rest with inf: hold the last finite state on the grid instead.
    ok = jnp.isfinite(sol.ts)
    last = jnp.max(jnp.where(ok, jnp.arange(ok.shape[0]), 0))
    theta = sol.ys[last]
    t_final = sol.ts[last]
    ys = jnp.where(ok[:, None], sol.ys, theta[None, :])[:-1]
    t_traj = jnp.minimum(ts, t_final)
    risk, gnorm, drift, norm = jax.vmap(lambda y: _record(vg, arch, y, inv0, scale0))(ys)
    r_end, g_end, d_end, n_end = _record(vg, arch, theta, inv0, scale0)
    # A stop between two grid times: record the stopping state at the grid times after it.
    after = ts > t_final
    risk = jnp.where(after, r_end, risk)
    gnorm = jnp.where(after, g_end, gnorm)
    bad = ~jnp.isfinite(r_end) | ~(jnp.max(norm) < DIVERGE_NORM)
    return {
        "params": theta,
        "risk_final": r_end,
        "grad_norm_final": g_end,
        "t_final": t_final,
        "risk_traj": risk,
        "grad_traj": gnorm,
        "t_traj": t_traj,
        "drift": jnp.maximum(jnp.max(drift), d_end),
        "norm_max": jnp.maximum(jnp.max(norm), n_end),
        "diverged": bad,
        "steps": sol.stats["num_steps"],
    }


@functools.lru_cache(maxsize=16)
def _compiled(problem: problems.Problem, arch: tuple[int, ...], settings: FlowSettings):
    """One compiled, vmapped trajectory function per problem, architecture, method, ODE
    tolerances and record length; the step, the times and ``grad_tol`` are arguments."""
    vg = _dynamics.risk_and_grad(problem, arch)
    if settings.method == "gd":
        one = functools.partial(_gd_one, vg, arch)
    else:
        one = functools.partial(_ode_one, vg, arch, settings)
    return jax.jit(jax.vmap(one, (0, None, None, None, None, None)))


def _compile_key(settings: FlowSettings) -> FlowSettings:
    """``settings`` with what is passed at run time (or not used by the kernel) set to fixed
    values: GD at several steps, or flows to several end times, share one compilation."""
    kw = dict(step=1.0, t_max=1.0, grad_tol=1.0, init="pytorch", init_scale=1.0, seed=0)
    kw.update(output_offset=0.0, chunk_size=1)
    if settings.method == "gd":
        kw.update(rtol=1.0, atol=1.0, max_steps=1)
    return dataclasses.replace(settings, **kw)


def integrate(
    theta0: np.ndarray,
    arch,
    problem: problems.Problem,
    settings: FlowSettings = FlowSettings(),
) -> dict[str, np.ndarray]:
    """Run gradient flow (or GD) from given starting points, in padded chunks.

    Args:
      theta0: ``(M, P)`` flat starts (converted to float64).
      arch: ``(1, l_1, ..., l_L, 1)``.
      problem: ``d = 1`` with a built-in target.
      settings: method, step, times, tolerances; ``chunk_size`` fixes the compiled shape.

    Returns:
      Per trial (leading axis ``M``): ``params`` ``(M, P)``, ``t_final``, ``risk_final``,
      ``grad_norm_final``, ``drift`` (largest relative drift of the invariants), ``norm_max``,
      ``diverged``, ``steps`` (solver steps or GD steps), ``risk_traj`` / ``grad_traj`` /
      ``t_traj`` ``(M, n_save)`` (times held at ``t_final`` after a stop); and ``ts``
      ``(n_save,)``, the grid.

    Raises:
      ValueError: a bad problem, architecture or setting, or ``theta0`` of the wrong shape.
    """
    problem, arch = _dynamics.check_problem(problem, arch)
    settings = settings.validate()
    theta0 = np.asarray(theta0, np.float64)
    if theta0.ndim != 2 or theta0.shape[1] != nets.num_params(arch):
        raise ValueError(f"theta0 must be (M, {nets.num_params(arch)}), got {theta0.shape}")
    m, chunk = theta0.shape[0], settings.chunk_size
    parts = []
    with jax.enable_x64(True):
        fn = _compiled(problem, arch, _compile_key(settings))
        ts = save_times(settings)
        args = (
            jnp.asarray(settings.step, jnp.float64),
            jnp.asarray(np.round(ts / settings.step).astype(np.int64)),
            jnp.asarray(ts),
            jnp.asarray(settings.t_max, jnp.float64),
            jnp.asarray(settings.grad_tol, jnp.float64),
        )
        for lo in range(0, m, chunk):
            rows = np.minimum(np.arange(lo, lo + chunk), m - 1)  # padded: one compiled shape
            out = fn(jnp.asarray(theta0[rows]), *args)
            parts.append({k: np.asarray(v)[: min(chunk, m - lo)] for k, v in out.items()})
    res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    res["params0"] = theta0
    res["ts"] = save_times(settings)
    return res


def run_flow(
    arch,
    problem: problems.Problem,
    trials: int,
    settings: FlowSettings = FlowSettings(),
) -> dict[str, np.ndarray]:
    """:func:`integrate` from the initializations of trials ``0..trials-1``
    (:func:`initial_params`); same keys, ``params0`` included.

    Raises:
      ValueError: as :func:`integrate`, or ``trials < 1``.
    """
    problem, arch = _dynamics.check_problem(problem, arch)
    settings = settings.validate()
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be an integer >= 1, got {trials!r}")
    with jax.enable_x64(True):
        theta0 = initial_params(arch, problem, settings, np.arange(trials))
    return integrate(theta0, arch, problem, settings)
