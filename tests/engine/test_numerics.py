"""Numerical robustness: diverging trials stay contained; float32 agrees with float64.

The float64 half runs inside ``jax.enable_x64(True)``, a context manager in JAX 0.10, so 64-bit mode
does not leak into the rest of the test process.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import cli, engine
from jaxnn_nonconv.core import nets, optim

N_TRIALS, CHUNK = 8, 4
DIVERGING = [1, 6]  # trials given a huge learning rate; the others keep the default


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_diverging_trials_are_flagged_and_do_not_touch_the_others(optimizer):
    cfg = engine.TrainConfig(arch=(1, 8, 1), steps=200, eval_size=256, optimizer=optimizer)
    lrs = np.full(N_TRIALS, cfg.learning_rate)
    lrs[DIVERGING] = 50.0
    mixed = engine.run(cfg, N_TRIALS, seed=1, chunk_size=CHUNK, learning_rates=lrs)  # no exception
    calm = engine.run(cfg, N_TRIALS, seed=1, chunk_size=CHUNK)

    assert np.flatnonzero(mixed["diverged"]).tolist() == DIVERGING
    assert not calm["diverged"].any()
    bad = mixed["risk"][DIVERGING]
    assert np.all(~np.isfinite(bad) | (bad > cfg.diverge_threshold))
    # Same trial indices, same chunks: every other trial is bit-identical to the calm run.
    keep = np.setdiff1d(np.arange(N_TRIALS), DIVERGING)
    for key in mixed:
        if key not in ("record_steps", "learning_rate"):
            assert np.array_equal(mixed[key][keep], calm[key][keep]), key
            assert np.all(np.isfinite(mixed[key][keep])), key


def test_nan_trial_is_flagged_and_the_others_finish():
    """A learning rate of 1e30 overflows float32 within a few steps and ends in NaN (inf - inf):
    the NaN path itself, not just a large finite risk. Same program as the test above (the
    learning rate is a traced per-trial input), so nothing new is compiled."""
    cfg = engine.TrainConfig(arch=(1, 8, 1), steps=200, eval_size=256, optimizer="sgd")
    lrs = np.full(N_TRIALS, cfg.learning_rate)
    lrs[3] = 1e30
    mixed = engine.run(cfg, N_TRIALS, seed=1, chunk_size=CHUNK, learning_rates=lrs)
    calm = engine.run(cfg, N_TRIALS, seed=1, chunk_size=CHUNK)
    assert np.isnan(mixed["risk"][3]) and np.isnan(mixed["params"][3]).any()
    assert np.flatnonzero(mixed["diverged"]).tolist() == [3]
    keep = np.arange(N_TRIALS) != 3
    for key in ("params0", "params", "risk0", "risk", "loss_traj", "grad_norm_traj"):
        assert np.array_equal(mixed[key][keep], calm[key][keep]), key
        assert np.all(np.isfinite(mixed[key][keep])), key


def test_cli_summary_survives_all_trials_diverging(capsys, monkeypatch):
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    argv = "train --arch 1,4,1 --steps 50 --eval-size 64 --trials 4 --chunk-size 4 --lr 1000"
    assert cli.main([*argv.split(), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["diverged"] == 4
    assert summary["risk"] == {} and summary["fraction_at_or_below_constant_level"] is None


# Learning rates at which 500 steps train the net below 10% of its initial loss, every optimizer.
F64_LR = {
    "sgd": 0.01,
    "momentum": 0.005,
    "nesterov": 0.005,
    "adagrad": 0.03,
    "rmsprop": 0.001,
    "adam": 0.003,
    "adamax": 0.003,
    "amsgrad": 0.003,
    "nadam": 0.003,
}


def test_float64_table_covers_every_optimizer():
    assert tuple(F64_LR) == optim.OPTIMIZERS


@pytest.mark.parametrize("optimizer, lr", list(F64_LR.items()))
def test_float32_agrees_with_float64(optimizer, lr):
    """The same initial net and batches trained in float32 and in float64 (``engine.fit``).

    Tolerance: 1e-4 relative, for both the batch-loss trajectory and the final parameters. One
    float32 step rounds at ``eps = 1.2e-7`` relative; over 500 steps of a stable (non-chaotic)
    training these errors add up to about 1e-6 (measured: 1e-6 to 1e-5), and a ReLU switching
    side at a kink would show as a jump well above 1e-4. Measured for the nine optimizers: loss
    8e-7 to 9e-6, parameters 5e-7 to 2e-6. A real precision bug (a float32
    intermediate in the float64 path, an epsilon placed differently) would also show: the
    difference must be positive, which proves the two runs did not use the same precision.
    """
    arch = (1, 16, 1)
    params = nets.init_params(jax.random.key(0), arch)
    xs = jax.random.uniform(jax.random.key(1), (500, 32, 1), minval=0.0, maxval=2.0)
    ys = xs[..., 0] ** 2

    def fit(p, x, y):
        return engine.fit(p, optim.make(optimizer, lr), x, y)

    final32, loss32 = jax.jit(fit)(params, xs, ys)
    with jax.enable_x64(True):
        to64 = lambda a: jnp.asarray(a, jnp.float64)  # noqa: E731
        final64, loss64 = jax.jit(fit)(jax.tree.map(to64, params), to64(xs), to64(ys))
        assert loss64.dtype == jnp.float64 and nets.to_flat(final64).dtype == jnp.float64
        theta64, loss64 = np.asarray(nets.to_flat(final64)), np.asarray(loss64)
    theta32 = np.asarray(nets.to_flat(final32), np.float64)
    loss32 = np.asarray(loss32, np.float64)

    assert loss64[-1] < 0.1 * loss64[0]  # it did train
    loss_err = np.max(np.abs(loss32 - loss64) / np.abs(loss64))
    theta_err = np.max(np.abs(theta32 - theta64)) / np.max(np.abs(theta64))
    assert 0 < loss_err < 1e-4
    assert 0 < theta_err < 1e-4


def test_float64_engine_run():
    """The engine's float64 path (the CLI's ``--float64``): float64 results, nothing diverged."""
    cfg = engine.TrainConfig(arch=(1, 4, 1), steps=50, eval_size=64, dtype="float64")
    with pytest.raises(ValueError, match="jax_enable_x64"):
        engine.run(cfg, 2, chunk_size=2)
    with jax.enable_x64(True):
        res = engine.run(cfg, 4, chunk_size=2, n_devices=1)
    assert res["params"].dtype == np.float64 and res["risk"].dtype == np.float64
    assert not res["diverged"].any() and np.all(np.isfinite(res["risk"]))
