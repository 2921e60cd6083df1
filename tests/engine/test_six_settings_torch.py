"""Settings 1 and 2 of arXiv 2212.13111 (``experiments/six_settings.toml``), re-implemented in
PyTorch at small ``M`` and fed the same initial parameters and batches as the engine.

Setting 1: ReLU, only the inner biases ``b1`` trained, target ``x^4 sin(x)``; setting 2: clipping,
only the biases ``b1, b2`` trained, target ``x^(1/4)``; both ``N(0, 1)`` init, ``X ~ U(0, 1)``,
online SGD. The engine trains ``M = 3`` trials in float64 (``engine.run``); the PyTorch side redraws
trial ``i``'s batches from the engine's keys (``fold_in(fold_in(trial_key, 1), n)``, documented in
:func:`jaxnn_nonconv.engine.make_trial`), starts from its ``params0`` and trains with
``torch.optim.SGD`` over the trainable tensors only. Final parameters agree to float tolerance,
frozen ones bit for bit; the final risks of the PyTorch nets (Monte Carlo, ``2^16`` fresh samples)
agree with the engine's exact risks within Monte Carlo error (4 standard errors).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk

torch = pytest.importorskip("torch")

M, STEPS, BATCH = 3, 60, 32
SETTINGS = {
    "1": dict(arch=(1, 5, 1), activation="relu", trainable=("b1",), target="x^4 sin(x)"),
    "2": dict(arch=(1, 10, 1), activation="clip", trainable=("b1", "b2"), target="x^(1/4)"),
}


def _config(setting: str) -> engine.TrainConfig:
    s = SETTINGS[setting]
    return engine.TrainConfig(
        arch=s["arch"],
        init="normal",
        activation=s["activation"],
        trainable=s["trainable"],
        problem=problems.Problem(s["target"], ((0.0, 1.0),)),
        optimizer="sgd",
        learning_rate=0.05,
        steps=STEPS,
        batch_size=BATCH,
        eval_size=256,
        dtype="float64",
    ).validate()


@functools.cache
def _draw(problem):
    """Jitted ``(k_data, ns) -> (xs, ys)``: the online batches ``fold_in(k_data, n)``."""

    def draw(k_data, ns):
        return jax.vmap(
            lambda n: problems.sample(jax.random.fold_in(k_data, n), problem, BATCH, jnp.float64)
        )(ns)

    return jax.jit(draw)


def _act(activation):
    if activation == "clip":
        return lambda z: torch.where(z <= 0, 0.0, torch.where(z >= 1, 1.0, z))
    return torch.relu


def _torch_trial(cfg, key, theta0):
    k_data = jax.random.fold_in(key, 1)
    params = nets.from_flat(jnp.asarray(theta0), cfg.arch)
    tensors = [
        (
            torch.tensor(np.asarray(w), requires_grad=f"W{k}" in cfg.trainable),
            torch.tensor(np.asarray(b), requires_grad=f"b{k}" in cfg.trainable),
        )
        for k, (w, b) in enumerate(params, start=1)
    ]
    opt = torch.optim.SGD([t for wb in tensors for t in wb if t.requires_grad], lr=0.05)
    act = _act(cfg.activation)

    def forward(x):
        h = x
        for w, b in tensors[:-1]:
            h = act(h @ w.T + b)
        w, b = tensors[-1]
        return (h @ w.T + b)[:, 0]

    xs, ys = (np.array(a) for a in _draw(cfg.problem)(k_data, jnp.arange(STEPS)))
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss = torch.mean((forward(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2)
        loss.backward()
        opt.step()
    theta = np.concatenate(
        [np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]) for w, b in tensors]
    )
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**30)))
    x = rng.uniform(0.0, 1.0, size=(2**16, 1))
    y = np.asarray(problems.target_fn(cfg.problem)(jnp.asarray(x)))
    with torch.no_grad():
        err = (forward(torch.from_numpy(x)).numpy() - y) ** 2
    return theta, err.mean(), err.std() / np.sqrt(err.size)


@pytest.mark.usefixtures("torch_float64")
@pytest.mark.parametrize("setting", [pytest.param("1", marks=pytest.mark.slow), "2"])
def test_settings_1_and_2_match_pytorch(setting):
    """Setting 2 runs by default (clip, two trained groups); setting 1 is ``slow`` (its ReLU
    bias-only masks are also covered by ``test_masks.test_masked_fit_matches_torch...``)."""
    cfg = _config(setting)
    with jax.enable_x64(True):
        res = engine.run(cfg, M, seed=3, chunk_size=M)
        exact, _ = exact_risk.risks_of_params(
            res["params"], cfg.arch, cfg.problem, activation=cfg.activation
        )
        frozen = np.ones(nets.num_params(cfg.arch), bool)
        pos = 0
        for k, (n_in, n_out) in enumerate(zip(cfg.arch[:-1], cfg.arch[1:]), start=1):
            frozen[pos : pos + n_in * n_out] = f"W{k}" not in cfg.trainable
            pos += n_in * n_out
            frozen[pos : pos + n_out] = f"b{k}" not in cfg.trainable
            pos += n_out
        for i in range(M):
            theta, risk_mc, se = _torch_trial(cfg, engine.trial_key(3, i), res["params0"][i])
            np.testing.assert_allclose(res["params"][i], theta, rtol=1e-10, atol=1e-12)
            assert res["params"][i][frozen].tobytes() == res["params0"][i][frozen].tobytes()
            assert np.any(res["params"][i][~frozen] != res["params0"][i][~frozen])
            assert abs(exact[i] - risk_mc) <= 4 * se + 1e-12, (exact[i], risk_mc, se)
