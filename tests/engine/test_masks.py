"""Trainable-parameter masks (``trainable = ["b1", "W2"]``) for all nine optimizers.

Independent reference: a PyTorch training loop whose optimizer is given only the trainable
tensors (``requires_grad`` off for the others), from the same initial weights and batches, in
float64. Frozen groups must stay bit-identical to their initial values on our side, the trainable
ones must match PyTorch to float tolerance. The optimizer settings that make ``torch.optim`` the
same algorithm as ours are those of ``test_torch_equivalence`` (``EQUIVALENT``).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, optim
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import config

torch = pytest.importorskip("torch")
from tests.engine.test_torch_equivalence import EQUIVALENT, LR, torch_optimizer  # noqa: E402

NINE = list(optim.OPTIMIZERS)
ARCH = (1, 6, 1)
STEPS, BATCH = 40, 16
TRAINABLE = ("b1", "W2")
RTOL = 1e-12


def _data(activation: str):
    rng = np.random.default_rng(7)
    xs = rng.uniform(0.0, 2.0, size=(STEPS, BATCH, 1))
    params = nets.init_params(jax.random.key(3), ARCH, "pytorch", dtype="float32")
    params = [(np.array(w, np.float64), np.array(b, np.float64)) for w, b in params]
    return params, xs, np.sin(3 * xs[..., 0])


@functools.cache
def jax_fit(name: str, activation: str = "relu", trainable: tuple = TRAINABLE):
    params, xs, ys = _data(activation)
    with jax.enable_x64(True):
        p0 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tuple(params))
        opt = optim.make(name, LR[name], trainable=trainable, **EQUIVALENT[name])
        fit = jax.jit(lambda p, x, y: engine.fit(p, opt, x, y, activation, trainable))
        final, losses = fit(p0, jnp.asarray(xs), jnp.asarray(ys))
        return [tuple(np.asarray(a) for a in wb) for wb in final], np.asarray(losses)


def torch_act(activation: str):
    if activation == "clip":
        return lambda z: torch.where(z <= 0, 0.0, torch.where(z >= 1, 1.0, z))
    if activation.startswith("repu:"):
        power = int(activation[5:])
        return lambda z: torch.relu(z) ** power
    return torch.relu


def torch_fit(name, params, xs, ys, activation="relu", trainable=TRAINABLE, make_opt=None):
    """A plain PyTorch loop; only the tensors of ``trainable`` go to the optimizer."""
    tensors = []
    for k, (w, b) in enumerate(params, start=1):
        tw = torch.tensor(w, dtype=torch.float64, requires_grad=f"W{k}" in trainable)
        tb = torch.tensor(b, dtype=torch.float64, requires_grad=f"b{k}" in trainable)
        tensors.append((tw, tb))
    chosen = [t for wb in tensors for t in wb if t.requires_grad]
    opt = (make_opt or (lambda p: torch_optimizer(name, p, LR[name])))(chosen)
    act = torch_act(activation)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        h = torch.from_numpy(x)
        for w, b in tensors[:-1]:
            h = act(h @ w.T + b)
        w, b = tensors[-1]
        loss = torch.mean(((h @ w.T + b)[:, 0] - torch.from_numpy(y)) ** 2)
        loss.backward()
        opt.step()
    return [(w.detach().numpy(), b.detach().numpy()) for w, b in tensors]


@pytest.mark.usefixtures("torch_float64")
@pytest.mark.parametrize("name", NINE)
def test_masked_fit_matches_torch_and_freezes_bit_identically(name):
    params, xs, ys = _data("relu")
    final, losses = jax_fit(name)
    want = torch_fit(name, params, xs, ys)
    for k, ((w0, b0), (w, b), (tw, tb)) in enumerate(zip(params, final, want), start=1):
        for group, start, got, ref in (("W", w0, w, tw), ("b", b0, b, tb)):
            if f"{group}{k}" in TRAINABLE:
                np.testing.assert_allclose(got, ref, rtol=RTOL, atol=1e-14)
                assert not np.array_equal(got, start), f"{group}{k} did not train"
            else:  # frozen: bit for bit, on both sides
                assert got.tobytes() == start.tobytes(), f"{group}{k} moved"
                assert ref.tobytes() == start.tobytes()
    assert losses[-5:].mean() < losses[:5].mean()


@pytest.mark.usefixtures("torch_float64")
@pytest.mark.parametrize("activation", ["clip", "repu:2"])
def test_new_activations_match_torch(activation):
    """``clip`` and ``repu:2`` through training (Adam, all groups and biases only) against
    PyTorch: the same function, the same derivative convention (0 at the kinks)."""
    params, xs, ys = _data(activation)
    for trainable in (("W1", "b1", "W2", "b2"), ("b1", "b2")):
        final, _ = jax_fit("adam", activation, trainable)
        want = torch_fit("adam", params, xs, ys, activation, trainable)
        for got, ref in zip(jax.tree.leaves(final), jax.tree.leaves(want)):
            np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-13)


@pytest.mark.slow
def test_engine_trials_keep_frozen_groups():
    """Through ``engine.run`` (float32, online SGD): ``W1, W2, b2`` bit-identical to the init,
    ``b1`` trained; ``trainable`` naming every group is the unmasked config. Slow: the fast
    ``test_six_settings_torch`` checks frozen groups bit for bit through ``engine.run`` too."""
    cfg = engine.TrainConfig(
        arch=(1, 5, 1), steps=30, batch_size=8, eval_size=64, trainable=("b1",)
    ).validate()
    res = engine.run(cfg, 6, seed=1, chunk_size=8)
    theta0, theta = res["params0"], res["params"]
    b1 = np.zeros(nets.num_params(cfg.arch), bool)
    b1[5:10] = True
    assert theta[:, ~b1].tobytes() == theta0[:, ~b1].tobytes()
    assert np.all(np.any(theta[:, b1] != theta0[:, b1], axis=1) | np.all(theta0[:, b1] == 0, 1))
    full = dict(cfg.to_dict())
    assert full["trainable"] == ["b1"]
    every = engine.TrainConfig(arch=(1, 5, 1), trainable=("W1", "b1", "W2", "b2")).validate()
    assert every.trainable is None and "trainable" not in every.to_dict()


def test_trainable_parsing_and_errors():
    cfg, _ = config.build({"arch": [1, 4, 4, 1], "trainable": "b1, W3"})
    assert cfg.trainable == ("b1", "W3")
    cfg, _ = config.build({"trainable": ["W2", "b1"]})
    assert cfg.trainable == ("b1", "W2")
    for bad, words in (
        ("b3", "the net has 2 layers"),
        ("x1", "W<k> or b<k>"),
        ("b1,b1", "twice"),
        ("", "at least one"),
        (3, "list of group names"),
    ):
        with pytest.raises(ConfigError, match=words):
            config.build({"trainable": bad})
