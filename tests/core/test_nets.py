"""Tests of :mod:`jaxnn_nonconv.core.nets` against hand-built examples and a NumPy forward pass."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.core import inits, nets

ARCHS = [(1, 5, 1), (3, 4, 6, 1), (2, 1), (2, 3, 3, 3, 1)]


def _random_params(seed: int, arch) -> nets.Params:
    """Parameters with entries of both signs (independent of any init family)."""
    rng = np.random.default_rng(seed)
    return tuple(
        (
            jnp.asarray(rng.normal(size=(n_out, n_in)), jnp.float32),
            jnp.asarray(rng.normal(size=n_out), jnp.float32),
        )
        for n_in, n_out in zip(arch[:-1], arch[1:])
    )


def _np_forward(params, x: np.ndarray, activation: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Textbook forward pass in float64: ``x_k = act(W_k x_{k-1} + b_k)``, affine output."""
    act = {
        "relu": lambda z: np.maximum(z, 0.0),
        "leaky_relu": lambda z: np.where(z >= 0, z, 0.01 * z),
        "softplus": lambda z: np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0),
    }[activation]
    layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in params]
    h = np.asarray(x, np.float64)
    pre = []
    for w, b in layers[:-1]:
        # One neuron at a time, as the formula reads: (W h)_j = sum_i W_ji h_i.
        z = np.stack([h @ w[j] + b[j] for j in range(w.shape[0])], axis=1)
        pre.append(z)
        h = act(z)
    w, b = layers[-1]
    return h @ w[0] + b[0], pre


# ---------------------------------------------------------------- relu'(0) = 0 through realization


def _one_neuron(w1: float, b1: float) -> nets.Params:
    """``N(x) = 2 relu(w1 x + b1) + 0.5``."""
    return (
        (jnp.array([[w1]], jnp.float32), jnp.array([b1], jnp.float32)),
        (jnp.array([[2.0]], jnp.float32), jnp.array([0.5], jnp.float32)),
    )


def test_relu_derivative_at_zero_is_zero_through_realization(strict_dtypes):
    """At a pre-activation of exactly 0, ``jax.grad`` of the realization uses relu'(0) = 0.

    ``jnp.maximum(z, 0)`` would give 1/2 there and ``z > 0``-style masks with ``>=`` would give 1;
    the bias gradient ``2 relu'(w x + b)`` distinguishes all three.
    """
    x = jnp.array([[0.0]], jnp.float32)

    def out(params, x):
        return nets.realization(params, x)[0]

    g = jax.grad(out)(_one_neuron(1.0, 0.0), x)
    (gw1, gb1), (gw2, gb2) = g
    assert float(gb1[0]) == 0.0
    assert float(gw1[0, 0]) == 0.0
    assert float(gw2[0, 0]) == 0.0  # relu(0) = 0 feature
    assert float(gb2[0]) == 1.0
    # Input gradient at the kink as well.
    assert float(jax.grad(lambda x: out(_one_neuron(1.0, 0.0), x))(x)[0, 0]) == 0.0
    # Control: just right of the kink the derivative is 1, so the test can tell them apart.
    g_pos = jax.grad(out)(_one_neuron(1.0, 1e-3), x)
    assert float(g_pos[0][1][0]) == 2.0
    # And jnp.maximum really would differ (documents why jax.nn.relu is used).
    assert float(jax.grad(lambda z: jnp.maximum(z, 0.0))(0.0)) == 0.5


def test_relu_derivative_at_zero_in_a_deeper_layer(strict_dtypes):
    """A second-layer neuron with pre-activation exactly 0 passes no gradient to anything below."""
    params = (
        (jnp.array([[1.0]], jnp.float32), jnp.array([0.0], jnp.float32)),  # h1 = relu(x) = 1 at x=1
        (jnp.array([[1.0]], jnp.float32), jnp.array([-1.0], jnp.float32)),  # z2 = h1 - 1 = 0
        (jnp.array([[3.0]], jnp.float32), jnp.array([0.0], jnp.float32)),
    )
    x = jnp.array([[1.0]], jnp.float32)
    g = jax.grad(lambda p: nets.realization(p, x)[0])(params)
    flat = np.asarray(nets.to_flat(g))
    # Only the output bias gets gradient 1; everything through the kink is 0.
    np.testing.assert_array_equal(flat, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0])


# ---------------------------------------------------------------- realization vs NumPy


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "softplus"])
@pytest.mark.parametrize("arch", ARCHS)
def test_realization_matches_numpy_forward(arch, activation, strict_dtypes):
    params = _random_params(sum(arch), arch)
    x = np.random.default_rng(7).uniform(-2, 2, size=(33, arch[0])).astype(np.float32)
    want, want_pre = _np_forward(params, x, activation)
    got = nets.realization(params, jnp.asarray(x), activation)
    assert got.shape == (33,) and got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    got_pre = nets.hidden_preactivations(params, jnp.asarray(x), activation)
    assert len(got_pre) == len(arch) - 2
    for a, b in zip(got_pre, want_pre):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=1e-5)


def test_realization_of_hand_built_net_is_abs_plus_half(strict_dtypes):
    """``relu(x) + relu(-x) + 1/2 = |x| + 1/2`` on a grid."""
    params = (
        (jnp.array([[1.0], [-1.0]], jnp.float32), jnp.zeros(2, jnp.float32)),
        (jnp.array([[1.0, 1.0]], jnp.float32), jnp.array([0.5], jnp.float32)),
    )
    x = np.linspace(-3, 3, 61, dtype=np.float32)[:, None]
    np.testing.assert_allclose(
        np.asarray(nets.realization(params, jnp.asarray(x))), np.abs(x[:, 0]) + 0.5, rtol=1e-6
    )


# ---------------------------------------------------------------- flat theta


def test_to_flat_layout_on_hand_built_example(strict_dtypes):
    """docs/theory.md sec. 1: layer by layer, ``W_k`` row-major then ``b_k``."""
    w1 = jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], jnp.float32)  # (l_1=3, d=2)
    b1 = jnp.array([7.0, 8.0, 9.0], jnp.float32)
    w2 = jnp.array([[10.0, 11.0, 12.0]], jnp.float32)
    b2 = jnp.array([13.0], jnp.float32)
    theta = nets.to_flat(((w1, b1), (w2, b2)))
    np.testing.assert_array_equal(np.asarray(theta), np.arange(1.0, 14.0))
    back = nets.from_flat(theta, (2, 3, 1))
    np.testing.assert_array_equal(np.asarray(back[0][0]), np.asarray(w1))
    np.testing.assert_array_equal(np.asarray(back[1][1]), np.asarray(b2))


@pytest.mark.parametrize("arch", ARCHS)
def test_flat_round_trip(arch, strict_dtypes):
    params = _random_params(3, arch)
    theta = nets.to_flat(params)
    p = sum(n_out * (n_in + 1) for n_in, n_out in zip(arch[:-1], arch[1:]))
    assert theta.shape == (p,) == (nets.num_params(arch),)
    back = nets.from_flat(theta, arch)
    assert nets.arch_of(back) == arch
    for (w, b), (w2, b2) in zip(params, back):
        np.testing.assert_array_equal(np.asarray(w), np.asarray(w2))
        np.testing.assert_array_equal(np.asarray(b), np.asarray(b2))
    # And the other way: theta -> params -> theta.
    t = jnp.asarray(np.random.default_rng(1).normal(size=p), jnp.float32)
    np.testing.assert_array_equal(np.asarray(nets.to_flat(nets.from_flat(t, arch))), np.asarray(t))


def test_from_flat_rejects_wrong_length():
    with pytest.raises(ValueError, match="needs"):
        nets.from_flat(jnp.zeros(12), (1, 4, 1))


@pytest.mark.parametrize("arch", [(0, 3, 1), (1, 3, 2), (1,)])
def test_check_arch_rejects(arch):
    with pytest.raises(ValueError):
        nets.check_arch(arch)


def test_init_params_draws_layer_k_with_fold_in_k(strict_dtypes):
    """The documented key derivation: layer ``k`` is ``inits.init_layer(fold_in(key, k), ...)``."""
    key = jax.random.key(5)
    arch = (2, 4, 3, 1)
    params = nets.init_params(key, arch, "he_normal")
    assert nets.arch_of(params) == arch
    for k, (w, b) in enumerate(params):
        w2, b2 = inits.init_layer(jax.random.fold_in(key, k), "he_normal", arch[k], arch[k + 1])
        np.testing.assert_array_equal(np.asarray(w), np.asarray(w2))
        np.testing.assert_array_equal(np.asarray(b), np.asarray(b2))
