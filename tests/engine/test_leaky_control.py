"""Leaky ReLU, the negative control of docs/results.md sec. 4b: a first-layer neuron that is
negative on the whole box is frozen for ReLU (zero gradient, its ``W1, b1`` never move) but not for
leaky ReLU (gradient ``0.01 v x r``), so a leaky net that starts with such a neuron still fits an
affine target, where the ReLU net stays at the best constant ``R_0 = Var f(X)``.

By hand (``jax.grad`` of the empirical risk of a constructed ``[1, 1, 1]`` net) and through the
engine (the trials whose neuron is inactive on the box at initialization).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk

BOX = (0.0, 2.0)
# |x| is x on [0, 2]: affine, so one neuron of either activation fits it exactly (risk 0).
PROBLEM = problems.Problem("|x|", (BOX,))


def _risk(params, activation):
    x = jnp.linspace(*BOX, 201)[:, None]
    return jnp.mean((nets.realization(params, x, activation) - x[:, 0]) ** 2)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_gradient_of_a_neuron_negative_on_the_box(activation):
    # w x + b = x - 3 < 0 on [0, 2]; output weight 1, output bias 0.
    params = ((jnp.array([[1.0]]), jnp.array([-3.0])), (jnp.array([[1.0]]), jnp.array([0.0])))
    (gw, gb), (gv, _) = jax.grad(_risk)(params, activation)
    first = np.abs(np.concatenate([np.ravel(gw), np.ravel(gb), np.ravel(gv)]))
    if activation == "relu":
        assert np.all(first == 0.0)
    else:
        assert np.all(first > 1e-3)


def _inactive(theta):
    """``[1, 1, 1]`` flat ``theta = (w, b, v, c)``: the neuron is ``<= 0`` on the whole box."""
    w, b = theta[:, 0], theta[:, 1]
    return np.maximum(w * BOX[0] + b, w * BOX[1] + b) <= 0


@pytest.mark.slow  # two training programs; the fast test of the property is the gradient test above
def test_inactive_at_init_frozen_for_relu_trained_for_leaky():
    runs = {}
    for act in ("relu", "leaky_relu"):
        cfg = engine.TrainConfig(
            arch=(1, 1, 1),
            init="pytorch",
            activation=act,
            problem=PROBLEM,
            optimizer="adam",
            learning_rate=0.01,
            steps=1500,
            batch_size=64,
            eval_size=64,
        )
        res = engine.run(cfg, 24, seed=0, chunk_size=24)
        ex, _ = exact_risk.risks_of_params(res["params"], cfg.arch, PROBLEM, activation=act)
        runs[act] = (res["params0"], res["params"], ex)
    np.testing.assert_array_equal(runs["relu"][0], runs["leaky_relu"][0])  # same initial nets
    dead = _inactive(runs["relu"][0])
    assert 3 <= dead.sum() <= 15  # p = 0.3125 for this init and box
    p0, p1, ex = runs["relu"]
    np.testing.assert_array_equal(p1[dead, :2], p0[dead, :2])  # W1, b1 never move
    np.testing.assert_allclose(ex[dead], 1 / 3, rtol=1e-2)  # stuck near Var X = 1/3
    p0, p1, ex = runs["leaky_relu"]
    assert np.all(np.abs(p1[dead, :2] - p0[dead, :2]).max(1) > 0.1)
    assert np.all(ex[dead] < 1e-2)  # the same starts fit the affine target
