"""Gradient flow and GD on the exact risk against closed forms (Var f, best affine risk,
(best affine)/16 for x^2 on [0, 2]), the conserved quantities, scipy's Radau and each other.

One ODE compilation and one GD compilation serve the whole module (module-scoped fixtures).
"""

import numpy as np
import pytest

pytest.importorskip("diffrax")

import jax
import jax.numpy as jnp
from scipy import integrate as sp_integrate

from jaxnn_nonconv import flow
from jaxnn_nonconv.core import problems

ARCH = (1, 4, 1)
PROB = problems.Problem("x^2", ((0.0, 2.0),))
VAR_F, AFFINE = 64 / 45, 4 / 45
T_MAX = 60.0


def _net(w, b, v, c):
    return np.concatenate([w, b, v, [c]]).astype(np.float64)


DEAD = (
    [1.0, 1.0, 1.0],
    [-3.0, -3.5, -4.0],
    [0.3, -0.2, 0.5],
)  # kinks right of the box, facing right
# Constant: every neuron dead; the flow moves the output bias to E f only.
CONSTANT = _net([1.0, *DEAD[0]], [-5.0, *DEAD[1]], [0.7, *DEAD[2]], 0.0)
# Affine: one neuron active on the whole box (kink at -1), near 2x - 2/3.
AFFINE_START = _net([2.0, *DEAD[0]], [2.0, *DEAD[1]], [1.03, *DEAD[2]], -2.6)
# One interior kink at the midpoint: x - 1/6 + 2 relu(x - 1), perturbed; risk (best affine)/16.
KNOT = _net([1.0, 1.0, 1.0, 1.0], [1.0, -1.02, -3.0, -3.5], [1.0, 2.05, 0.3, -0.2], -7 / 6)


@pytest.fixture(scope="module")
def ode():
    """Three closed-form starts and three random inits, gradient flow to ``T_MAX``."""
    s = flow.FlowSettings(method="ode", t_max=T_MAX, chunk_size=6, n_save=6)
    with jax.enable_x64(True):
        rand = flow.integrate_mod.initial_params(ARCH, PROB, s, np.arange(3))
    starts = np.stack([CONSTANT, AFFINE_START, KNOT, *rand])
    return starts, flow.integrate(starts, ARCH, PROB, s)


@pytest.fixture(scope="module")
def short():
    """Random inits to ``t = 1``: the flow and GD at three steps (one GD compilation)."""
    base = flow.FlowSettings(t_max=1.0, chunk_size=6, n_save=6, grad_tol=1e-14)
    with jax.enable_x64(True):
        starts = flow.integrate_mod.initial_params(ARCH, PROB, base, np.arange(4))
    out = {"starts": starts, "ode": flow.integrate(starts, ARCH, PROB, base)}
    for eta in (0.02, 0.01, 0.005):
        gd = flow.FlowSettings(method="gd", step=eta, t_max=1.0, chunk_size=6, n_save=6)
        out[eta] = flow.integrate(starts, ARCH, PROB, gd)
    return out


def test_flow_ends_at_the_closed_form_critical_values(ode):
    _, res = ode
    np.testing.assert_allclose(res["risk_final"][:2], [VAR_F, AFFINE], rtol=1e-12)
    assert np.all(res["grad_norm_final"][:2] < 1e-8), res["grad_norm_final"][:2]
    # the kink's direction is slow: (best affine)/16 is approached to 1e-6 relative by T_MAX
    assert abs(res["risk_final"][2] / (AFFINE / 16) - 1) < 1e-6
    assert res["grad_norm_final"][2] < 1e-4
    # the constant start moved only its output bias, to E f = 4/3
    moved = np.flatnonzero(res["params"][0] != CONSTANT)
    assert moved.tolist() == [len(CONSTANT) - 1] and abs(res["params"][0, -1] - 4 / 3) < 1e-8


def test_risk_decreases_along_the_flow(ode):
    _, res = ode
    assert np.all(np.diff(res["risk_traj"], axis=1) <= 1e-13)
    assert np.all(res["risk_final"] <= res["risk_traj"][:, 0])


def test_invariants_are_conserved_by_the_flow_not_by_gd(ode, short):
    starts, res = ode
    assert np.all(res["drift"] < 1e-6), res["drift"]
    inv0 = np.stack([np.asarray(flow.dynamics.invariants(jnp.asarray(t), ARCH)) for t in starts])
    inv1 = np.stack(
        [np.asarray(flow.dynamics.invariants(jnp.asarray(t), ARCH)) for t in res["params"]]
    )
    np.testing.assert_allclose(inv1, inv0, atol=1e-6 * np.abs(inv0).max())
    # GD's drift is first order in the step: halving eta about halves it.
    d = [short[eta]["drift"] for eta in (0.02, 0.01, 0.005)]
    assert np.all(d[0] > 100 * short["ode"]["drift"])
    ratio = d[2] / d[1]
    assert np.all((ratio > 0.3) & (ratio < 0.7)), ratio


def test_gd_converges_to_the_flow_at_equal_times(short):
    ref = short["ode"]["params"]
    assert np.all(short["ode"]["t_final"] == 1.0)
    err = [np.abs(short[eta]["params"] - ref).max(axis=1) for eta in (0.02, 0.01, 0.005)]
    for eta in (0.02, 0.01, 0.005):
        assert np.all(short[eta]["t_final"] == 1.0) and short[eta]["steps"][0] == round(1 / eta)
    assert np.all(err[1] < 0.6 * err[0]) and np.all(err[2] < 0.6 * err[1]), err
    assert np.all(err[2] < 0.05)


def test_flow_matches_scipy_radau(short):
    vg = flow.dynamics.risk_and_grad(PROB.validate(), ARCH)
    with jax.enable_x64(True):
        grad = jax.jit(lambda t: vg(t)[1])
        sol = sp_integrate.solve_ivp(
            lambda t, y: -np.asarray(grad(jnp.asarray(y))),
            (0.0, 1.0),
            short["starts"][0],
            method="Radau",
            rtol=1e-9,
            atol=1e-11,
        )
    assert sol.success
    np.testing.assert_allclose(short["ode"]["params"][0], sol.y[:, -1], atol=1e-6)
    # and the two differ by more than that from the start: the comparison can fail
    assert np.abs(sol.y[:, -1] - short["starts"][0]).max() > 1e-2


def test_trials_are_bit_identical_whatever_the_chunking(short):
    s = flow.FlowSettings(method="gd", step=0.01, t_max=1.0, chunk_size=6, n_save=6)
    three = flow.run_flow(ARCH, PROB, 3, s)
    five = flow.run_flow(ARCH, PROB, 14, s)  # three chunks of six
    for key in ("params", "risk_final", "risk_traj", "drift"):
        np.testing.assert_array_equal(three[key], five[key][:3])
    np.testing.assert_array_equal(three["params0"], short["starts"][:3])
    np.testing.assert_array_equal(three["params"], short[0.01]["params"][:3])


def test_output_offset_shifts_the_start_above_var_f():
    s = flow.FlowSettings(output_offset=3.0, chunk_size=6)  # the fixtures' compiled init
    with jax.enable_x64(True):
        a = flow.integrate_mod.initial_params(
            ARCH, PROB, flow.FlowSettings(chunk_size=6), np.arange(2)
        )
        b = flow.integrate_mod.initial_params(ARCH, PROB, s, np.arange(2))
    np.testing.assert_array_equal(b[:, :-1], a[:, :-1])
    np.testing.assert_allclose(b[:, -1], a[:, -1] + 3.0)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"method": "euler"}, "method"),
        ({"step": 0.0}, "step"),
        ({"t_max": float("inf")}, "t_max"),
        ({"n_save": 1}, "n_save"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_settings_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        flow.FlowSettings(**kw).validate()


def test_problems_without_exact_risk_are_refused():
    with pytest.raises(ValueError, match="d = 1"):
        flow.run_flow((2, 4, 1), problems.Problem("x^2", ((0.0, 1.0),) * 2), 2)


@pytest.mark.slow
def test_deep_net_flow_conserves_the_layerwise_invariants():
    """Deep nets: the per-neuron invariants of every hidden layer are conserved by the flow and
    the risk decreases (fast coverage of the invariants: the shallow
    ``test_invariants_are_conserved_by_the_flow_not_by_gd``)."""
    arch = (1, 3, 3, 1)
    s = flow.FlowSettings(t_max=5.0, chunk_size=2, n_save=6)
    res = flow.run_flow(arch, PROB, 2, s)
    assert np.all(res["drift"] < 1e-6), res["drift"]
    assert np.all(np.diff(res["risk_traj"], axis=1) <= 1e-13)
    inv0 = np.stack(
        [np.asarray(flow.dynamics.invariants(jnp.asarray(t), arch)) for t in res["params0"]]
    )
    inv1 = np.stack(
        [np.asarray(flow.dynamics.invariants(jnp.asarray(t), arch)) for t in res["params"]]
    )
    assert inv0.shape == (2, 6)
    np.testing.assert_allclose(inv1, inv0, atol=1e-6 * max(1.0, np.abs(inv0).max()))
