"""Training on a data set shared by all trials (engine._data_train): trials bit-identical whatever
the chunking, the epochs' minibatches equal to an independent loop over the same permutations,
and the recorded empirical and test risks equal to NumPy's on the saved parameters."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import data, nets, optim

RNG = np.random.default_rng(7)
X = RNG.uniform(-1, 1, size=(23, 2))
Y = X[:, 0] ** 2 - X[:, 1]
DS = data.split(data.from_arrays(X, Y), 0.2)  # 18 training points, 5 test points
# 18 // 5 = 3 batches per epoch; 13 steps = 4 epochs and a partial one.
CFG = engine.TrainConfig(
    arch=(2, 4, 1), data=DS, steps=13, batch_size=5, optimizer="adam", learning_rate=0.02
).validate()


@pytest.fixture(scope="module")
def runs():
    return {c: engine.run(CFG, 5, seed=3, chunk_size=c) for c in (2, 5)}


def _numpy_risk(theta, x, y):
    (w1, b1), (w2, b2) = nets.from_flat(jnp.asarray(theta), CFG.arch)
    x = x.astype(np.float64)
    h = np.maximum(x @ np.asarray(w1, np.float64).T + np.asarray(b1, np.float64), 0)
    pred = (h @ np.asarray(w2, np.float64).T + np.asarray(b2, np.float64))[:, 0]
    return np.mean((pred - y) ** 2)


def test_bit_identical_whatever_the_chunking(runs):
    a, b = runs[2], runs[5]
    for key in ("params0", "params", "empirical_risk", "test_risk", "loss_traj"):
        np.testing.assert_array_equal(a[key], b[key])
    more = engine.run(CFG, 7, seed=3, chunk_size=2)
    np.testing.assert_array_equal(more["params"][:5], a["params"])


def test_risks_equal_numpy_on_the_saved_parameters(runs):
    r = runs[2]
    np.testing.assert_array_equal(r["risk"], r["empirical_risk"])
    for i in range(5):
        for theta, key in (
            (r["params0"][i], "empirical_risk0"),
            (r["params"][i], "empirical_risk"),
        ):
            assert r[key][i] == pytest.approx(_numpy_risk(theta, DS.x, DS.y), rel=1e-5)
        assert r["test_risk"][i] == pytest.approx(
            _numpy_risk(r["params"][i], DS.x_test, DS.y_test), rel=1e-5
        )


def test_epochs_are_the_trial_keys_permutations(runs):
    """An independent loop: the batches built here from permutation(fold_in(fold_in(key, 1), e)),
    trained by the kernel's plain ``fit``."""
    i = 3
    key = engine.trial_key(3, i)
    k_data = jax.random.fold_in(key, 1)
    idx = []
    for e in range(5):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(k_data, e), DS.n))
        idx += [order[j * 5 : (j + 1) * 5] for j in range(3)]
    idx = np.stack(idx[:13])
    x, y = jnp.asarray(DS.x, jnp.float32), jnp.asarray(DS.y, jnp.float32)
    params0 = engine.init_trial_params(CFG, key)
    final, losses = engine.fit(params0, optim.make("adam", 0.02), x[idx], y[idx])
    np.testing.assert_allclose(runs[2]["params"][i], nets.to_flat(final), rtol=1e-5, atol=1e-6)
    rec = engine.record_steps(13, CFG.n_record)
    np.testing.assert_allclose(runs[2]["loss_traj"][i], np.asarray(losses)[rec], rtol=1e-5)


def test_full_batch_when_the_batch_holds_the_data():
    cfg = CFG.__class__(**{**CFG.__dict__, "batch_size": 64, "steps": 4})
    r = engine.run(cfg, 2, seed=1, chunk_size=2)
    key = engine.trial_key(1, 1)
    x, y = jnp.asarray(DS.x, jnp.float32), jnp.asarray(DS.y, jnp.float32)
    final, _ = engine.fit(
        engine.init_trial_params(cfg, key),
        optim.make("adam", 0.02),
        jnp.broadcast_to(x, (4, *x.shape)),
        jnp.broadcast_to(y, (4, *y.shape)),
    )
    np.testing.assert_allclose(r["params"][1], nets.to_flat(final), rtol=1e-5, atol=1e-6)


def test_a_data_config_is_checked():
    with pytest.raises(ValueError, match="2 feature"):
        engine.TrainConfig(arch=(3, 4, 1), data=DS).validate()
    with pytest.raises(ValueError, match="data_size"):
        engine.TrainConfig(arch=(2, 4, 1), data=DS, data_size=10).validate()
    assert CFG.problem.box == DS.box()
    assert CFG.to_dict()["data"]["n"] == 18


def test_frozen_groups_stay_bit_identical_on_data():
    """The trainable mask applies to training on a data set as to the box's problems: only
    ``b1`` moves (the box path's test per optimizer: tests/engine/test_masks.py)."""
    cfg = dataclasses.replace(CFG, trainable=("b1",)).validate()
    res = engine.run(cfg, 2, seed=3, chunk_size=2)
    for theta0, theta in zip(res["params0"], res["params"]):
        (w1, b1), (w2, b2) = nets.from_flat(jnp.asarray(theta), cfg.arch)
        (w10, b10), (w20, b20) = nets.from_flat(jnp.asarray(theta0), cfg.arch)
        for frozen, start in ((w1, w10), (w2, w20), (b2, b20)):
            np.testing.assert_array_equal(frozen, start)
        assert not np.array_equal(b1, b10)
