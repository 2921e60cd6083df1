"""Per-run references of partly trained cells (:mod:`jaxnn_nonconv.estimation._bias_reference`),
against closed forms and brute force."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.estimation import bias_references, first_layer_frozen, trainable_index
from jaxnn_nonconv.exact import risk as exact_risk

UNIT = ((0.0, 1.0),)


def _risk_grid(fn, n=200_001):
    """Mean of ``fn(x)`` on ``[0, 1]`` by the composite trapezoid rule on ``n`` points."""
    x = np.linspace(0.0, 1.0, n)
    y = fn(x)
    return float(np.sum((y[1:] + y[:-1]) / 2) / (n - 1))


def test_trainable_index_matches_the_flat_layout():
    arch = (1, 3, 2, 1)
    params = tuple(
        (jnp.full((o, i), 10.0 * k + 1), jnp.full(o, 10.0 * k + 2))
        for k, (i, o) in enumerate(zip(arch[:-1], arch[1:]))
    )
    flat = np.asarray(nets.to_flat(params))
    for group, want in (("W1", 1.0), ("b1", 2.0), ("W2", 11.0), ("b2", 12.0), ("b3", 22.0)):
        idx = trainable_index(arch, (group,))
        assert idx.size == {"W1": 3, "b1": 3, "W2": 6, "b2": 2, "b3": 1}[group]
        assert np.all(flat[idx] == want)


@pytest.mark.parametrize("activation", ["relu", "clip"])
def test_first_layer_frozen_against_a_grid(activation):
    rng = np.random.default_rng(0)
    h = 6
    theta = rng.normal(size=(200, 3 * h + 1)) * 2
    got = first_layer_frozen(theta, (1, h, 1), activation, UNIT)
    x = np.linspace(0.0, 1.0, 1001)
    z = theta[:, None, :h] * x[None, :, None] + theta[:, None, h : 2 * h]  # (M, x, H)
    frozen = (z <= 0).all(axis=1)
    if activation == "clip":
        frozen |= (z >= 1).all(axis=1)
    np.testing.assert_array_equal(got, frozen.sum(axis=1))
    assert 0 < got.sum() < 200 * h  # both kinds occur


@pytest.mark.parametrize("activation", ["relu", "clip"])
def test_a_frozen_neuron_has_zero_gradient(activation):
    """The bias (and weights) of a dead, or for clip saturated, neuron have derivative exactly 0:
    training and L-BFGS-B leave it where it is, so a frozen neuron is a critical direction."""
    problem = problems.Problem("x^2", UNIT).validate()
    rule = exact_risk.rule_for(problem)
    # neuron 0 dead (z = x - 3 < 0), neuron 1 moving (kink at 0.4), neuron 2: clip-saturated
    # (z = x + 2 >= 1) or, for relu, fully active
    theta = jnp.array([1.0, 1.0, 1.0, -3.0, -0.4, 2.0, 0.7, 1.3, 0.5, 0.1])

    def f(t):
        p = nets.from_flat(t, (1, 3, 1))
        return exact_risk.risk(p, problem, rule, activation=activation)[0]

    with jax.enable_x64(True):
        g = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(theta, jnp.float64)))
    assert g[3] == 0.0 and g[0] == 0.0  # dead: W1_0, b1_0
    assert g[4] != 0.0
    if activation == "clip":
        assert g[5] == 0.0 and g[2] == 0.0
    else:
        assert g[5] != 0.0


def test_bias_reference_of_the_output_bias_is_the_closed_form():
    """Only ``b2`` trains: the best is ``Var(N - f)`` (the best constant shift), for every run."""
    problem = problems.Problem("x^2", UNIT).validate()
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(3, 10))
    ref = bias_references(theta, rng.normal(size=(2, 10)), (1, 3, 1), problem, "relu", ("b2",))
    for m in range(3):
        p = nets.from_flat(jnp.asarray(theta[m]), (1, 3, 1))
        net = lambda x, p=p: np.asarray(nets.realization(p, jnp.asarray(x[:, None])))  # noqa: E731
        mean = _risk_grid(lambda x, net=net: net(x) - x**2)
        second = _risk_grid(lambda x, net=net: (net(x) - x**2) ** 2)
        np.testing.assert_allclose(ref.best[m], second - mean**2, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(ref.end[m], second, rtol=1e-7, atol=1e-10)
        assert ref.local[m] == pytest.approx(ref.best[m], rel=1e-8)


def test_bias_reference_of_one_inner_bias_against_brute_force():
    """``N = relu(x + b)`` (two more neurons with output weight 0, so with zero gradient), only
    ``b1`` trains, target ``x^2``: the minimum of the risk over a fine grid of ``b`` matches the
    reference. The end point ``b = -2`` is dead: L-BFGS-B cannot move it (``local`` is the risk of
    the zero net, ``E X^4 = 1/5``, a critical value) while a draw finds the minimum."""
    problem = problems.Problem("x^2", UNIT).validate()
    idle = [0.5, 0.5]  # the idle neurons: w = 1, b = 0.5 (active), v = 0
    theta_end = np.array([[1.0, 1.0, 1.0, b, *idle, 1.0, 0.0, 0.0, 0.0] for b in (-2.0, 0.3)])
    draws = np.zeros((2, 10))
    draws[:, 3] = (-0.2, 0.5)
    draws[:, 4:6] = idle
    ref = bias_references(theta_end, draws, (1, 3, 1), problem, "relu", ("b1",))

    def risk_of(b):  # E (relu(X + b) - X^2)^2, X ~ U(0, 1)
        return _risk_grid(lambda x: (np.maximum(x + b, 0.0) - x**2) ** 2, 20_001)

    grid = np.linspace(-1.5, 0.5, 2001)
    brute = min(risk_of(b) for b in grid)
    np.testing.assert_allclose(ref.best, brute, rtol=1e-4)
    assert np.all(ref.best <= brute + 1e-9)
    assert ref.local[0] == pytest.approx(0.2, rel=1e-12) and ref.frozen_local.tolist() == [1, 0]
    assert ref.best[0] < 0.2 / 10  # the run's own problem has a far better point
    assert ref.frozen_end.tolist() == [1, 0]
    assert ref.local[1] == pytest.approx(brute, rel=1e-4)
