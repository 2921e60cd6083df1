"""The training engine: reproducibility (trial count, devices, chunk size), per-trial learning rates,
divergence, online vs ERM, recorded trajectories, all against independent re-computations with
``kernel.fit`` and the documented random streams of ``kernel.make_trial``.

Float tolerances: results of one trial computed in a different batch shape (another chunk size, or
unbatched through ``kernel.fit``) may differ by float32 rounding of the reductions (XLA may sum in
another order); over 30 steps of a tiny net that stays below ``RTOL = 1e-5`` relative (``ATOL =
1e-6`` absolute). Where the design promises bit-identity (fixed chunk size; device count; per-trial
learning rates) the comparison is exact.
"""

import dataclasses
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.core import nets, optim, problems
from jaxnn_nonconv.engine import _config as config, _driver as driver, _kernel as kernel

RTOL, ATOL = 1e-5, 1e-6
CHUNK = 64
FIELDS = kernel.TrialResult._fields
CFG = config.TrainConfig(
    arch=(1, 4, 1),
    problem=problems.Problem("x^2", ((0.0, 2.0),)),
    optimizer="sgd",
    learning_rate=0.05,
    steps=30,
    batch_size=16,
    eval_size=64,
    n_record=8,
)


def _same(a: dict, b: dict, rows=slice(None)) -> None:
    """Bit-identical in every per-trial field (NaN equal to NaN)."""
    for k in (*FIELDS, "trial", "learning_rate"):
        np.testing.assert_array_equal(a[k][rows], b[k][rows], err_msg=k)


@pytest.fixture(scope="module")
def big():
    """2500 trials, chunk 64, on the 4 simulated devices (the default)."""
    return driver.run(CFG, 2500, chunk_size=CHUNK)


# ---------------------------------------------------------------- reproducibility


def test_trial_results_do_not_depend_on_number_of_trials(big):
    small = driver.run(CFG, 10, chunk_size=CHUNK)
    mid = driver.run(CFG, 1000, chunk_size=CHUNK)
    assert small["trial"].tolist() == list(range(10))
    assert len(mid["risk"]) == 1000 and len(big["risk"]) == 2500
    _same(small, big, slice(0, 10))
    _same(mid, big, slice(0, 1000))
    # The trials are distinct networks, not copies.
    assert len(np.unique(big["params0"], axis=0)) == 2500
    assert not np.any(big["diverged"])


def test_bit_identical_across_device_counts(big):
    one = driver.run(CFG, 300, chunk_size=CHUNK, n_devices=1)
    two = driver.run(CFG, 300, chunk_size=CHUNK, n_devices=2)
    _same(one, big, slice(0, 300))
    _same(two, big, slice(0, 300))


SINGLE_DEVICE_CHILD = """
import sys, jax, numpy as np
jax.config.update("jax_num_cpu_devices", 1)
from jaxnn_nonconv import train
cfg = config.TrainConfig(arch=(1, 1, 1), steps=200, batch_size=32, eval_size=512)
np.save(sys.argv[1], driver.run(cfg, 40, seed=1, chunk_size=16)["params"])
"""


@pytest.mark.slow  # device counts: test_train_properties.py
def test_one_device_process_equals_four_device_process(tmp_path, all_devices):
    """A process with 1 device and this one (4 simulated devices, all used) give the same bits.
    A ``[1, 1, 1]`` net is the setting where a mesh-partitioned program (``shard_map``) differed
    in the last bits, 4e-7 after 300 steps."""
    path = tmp_path / "one.npy"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", SINGLE_DEVICE_CHILD, str(path)], check=True, env=env)
    cfg = config.TrainConfig(arch=(1, 1, 1), steps=200, batch_size=32, eval_size=512)
    assert jax.local_device_count() == 4
    np.testing.assert_array_equal(
        np.load(path), driver.run(cfg, 40, seed=1, chunk_size=16)["params"]
    )


@pytest.mark.slow  # a tolerance check; bit identity at a fixed chunk: test_train_properties.py
def test_chunk_sizes_agree_to_float_tolerance(big):
    other = driver.run(CFG, 300, chunk_size=100)
    # Initial parameters involve no reduction: identical.
    np.testing.assert_array_equal(other["params0"], big["params0"][:300])
    for k in ("params", "risk0", "risk", "loss_traj", "grad_norm_traj"):
        np.testing.assert_allclose(other[k], big[k][:300], rtol=RTOL, atol=ATOL, err_msg=k)


# ---------------------------------------------------------------- independent re-computation


def _streams(cfg, seed, i):
    key = kernel.trial_key(seed, i)
    return tuple(jax.random.fold_in(key, j) for j in range(3))  # init, data, eval


def _online_batches(cfg, seed, i):
    """Batch ``n`` of trial ``i``: ``problems.sample(fold_in(data_key, n))`` (make_trial's doc)."""
    _, k_data, _ = _streams(cfg, seed, i)
    return jax.vmap(
        lambda n: problems.sample(
            jax.random.fold_in(k_data, n), cfg.problem, cfg.batch_size, config.DTYPES[cfg.dtype]
        )
    )(jnp.arange(cfg.steps))


def _fit_trials(cfg, params0, xs, ys, lrs):
    """``kernel.fit`` of each trial (its own ``optim.make`` with its learning rate), one compile."""
    sched = None
    if cfg.schedule != "constant":
        sched = optim.schedule(cfg.schedule, **dict(cfg.schedule_kw))

    def one(p, xs, ys, lr):
        opt = optim.make(cfg.optimizer, lr, schedule=sched, **dict(cfg.hyper))
        return kernel.fit(p, opt, xs, ys, cfg.activation)

    return jax.jit(jax.vmap(one))(params0, xs, ys, lrs)


def _check_against_fit(cfg, res, seed, trials, batches, rtol=RTOL, atol=ATOL):
    """Trial ``i`` of ``res`` equals ``kernel.fit`` from its ``params0`` on ``batches(cfg, seed, i)``:
    the loss at every recorded step and the final parameters."""
    rec = kernel.record_steps(cfg.steps, cfg.n_record)
    np.testing.assert_array_equal(res["record_steps"], rec)
    rows = [int(np.flatnonzero(res["trial"] == i)[0]) for i in trials]
    params0 = jax.vmap(lambda t: nets.from_flat(t, cfg.arch))(jnp.asarray(res["params0"][rows]))
    xs, ys = (jnp.stack(a) for a in zip(*(batches(cfg, seed, i) for i in trials)))
    lrs = jnp.asarray(res["learning_rate"][rows], config.DTYPES[cfg.dtype])
    final, losses = _fit_trials(cfg, params0, xs, ys, lrs)
    np.testing.assert_allclose(res["loss_traj"][rows], np.asarray(losses)[:, rec], rtol=rtol)
    theta = np.asarray(jax.vmap(nets.to_flat)(final))
    np.testing.assert_allclose(res["params"][rows], theta, rtol=rtol, atol=atol)


def test_online_run_equals_fit_on_the_documented_batches(big):
    """Each trial of ``run`` is ``fit`` from its ``params0`` on batches ``fold_in(data_key, n)``."""
    _check_against_fit(CFG, big, 0, [0, 1, 777, 2499], _online_batches)
    for i in (0, 2499):
        k_init, _, _ = _streams(CFG, 0, i)
        p0 = nets.init_params(k_init, CFG.arch, CFG.init, CFG.zero_bias, scale=CFG.init_scale)
        np.testing.assert_array_equal(big["params0"][i], np.asarray(nets.to_flat(p0)))


def test_recorded_trajectory_starts_at_the_initial_loss(big):
    """``loss_traj[0]`` is the loss of ``params0`` on the first batch, ``grad_norm_traj[0]`` the norm
    of its gradient; ``risk0``/``risk`` are the loss of ``params0``/``params`` on the eval sample."""
    for i in (0, 5, 1234):
        params0 = nets.from_flat(jnp.asarray(big["params0"][i]), CFG.arch)
        params = nets.from_flat(jnp.asarray(big["params"][i]), CFG.arch)
        xs, ys = _online_batches(CFG, 0, i)
        x0, y0 = np.asarray(xs[0], np.float64), np.asarray(ys[0], np.float64)
        # Loss by hand in float64.
        w1, b1, w2, b2 = (np.asarray(a, np.float64) for layer in params0 for a in layer)
        pred = np.maximum(x0 @ w1.T + b1, 0) @ w2[0] + b2[0]
        np.testing.assert_allclose(big["loss_traj"][i, 0], np.mean((pred - y0) ** 2), rtol=1e-5)
        g = jax.grad(kernel.mse)(params0, xs[0], ys[0])
        gnorm = np.sqrt(sum(np.sum(np.asarray(a, np.float64) ** 2) for a in jax.tree.leaves(g)))
        np.testing.assert_allclose(big["grad_norm_traj"][i, 0], gnorm, rtol=1e-5)
        _, _, k_eval = _streams(CFG, 0, i)
        xe, ye = problems.sample(k_eval, CFG.problem, CFG.eval_size)
        np.testing.assert_allclose(big["risk0"][i], kernel.mse(params0, xe, ye), rtol=RTOL)
        np.testing.assert_allclose(big["risk"][i], kernel.mse(params, xe, ye), rtol=RTOL)


def test_online_adam_with_schedule_equals_fit():
    cfg = dataclasses.replace(
        CFG,
        optimizer="adam",
        learning_rate=0.02,
        schedule="step",
        schedule_kw=(("factor", 0.5), ("every", 10)),
        n_record=30,
    )
    res = driver.run(cfg, 6, chunk_size=8, n_devices=1)
    _check_against_fit(cfg, res, 0, range(6), _online_batches)


def _full_batches(cfg, seed, i):
    """ERM data set of trial ``i``, drawn from the data stream, repeated every step."""
    _, k_data, _ = _streams(cfg, seed, i)
    x, y = problems.sample(k_data, cfg.problem, cfg.data_size, config.DTYPES[cfg.dtype])
    return (
        jnp.broadcast_to(x, (cfg.steps, *x.shape)),
        jnp.broadcast_to(y, (cfg.steps, *y.shape)),
    )


def test_erm_full_batch_equals_full_batch_gd_by_fit():
    """``data_size`` with ``batch_size >= data_size``: full-batch GD on one fixed data set."""
    cfg = dataclasses.replace(CFG, data_size=32, batch_size=32, n_record=30)
    res = driver.run(cfg, 5, chunk_size=8, n_devices=1)
    _check_against_fit(cfg, res, 0, range(5), _full_batches)
    # A batch larger than the data set is still the full data set, every step.
    res_big = driver.run(dataclasses.replace(cfg, batch_size=1000), 5, chunk_size=8, n_devices=1)
    _same(res_big, res)


# ---------------------------------------------------------------- learning rates, divergence


def test_learning_rate_sweep_equals_separate_runs_bit_for_bit(big):
    """One compiled program for a sweep; trial ``i`` with rate ``lr_i`` is the trial ``i`` of a run
    whose config has ``learning_rate = lr_i``."""
    rates = (0.01, CFG.learning_rate, 0.2)
    n = 30
    lrs = np.array([rates[i % 3] for i in range(n)])
    fn = driver._compiled_chunk(CFG.validate(), CHUNK)
    compiled = fn._cache_size()
    sweep = driver.run(CFG, n, chunk_size=CHUNK, learning_rates=lrs)
    assert fn._cache_size() == compiled  # the sweep reused the program compiled for `big`
    np.testing.assert_array_equal(sweep["learning_rate"], lrs)
    for j, lr in enumerate(rates):
        alone = driver.run(dataclasses.replace(CFG, learning_rate=lr), n, chunk_size=CHUNK)
        _same(sweep, alone, slice(j, n, 3))
    # Different rates really give different results.
    assert not np.array_equal(sweep["params"][0], big["params"][0])


def test_diverging_trial_is_flagged_and_others_finish(big):
    n = 20
    lrs = np.full(n, CFG.learning_rate)
    lrs[7] = 1e8
    res = driver.run(CFG, n, chunk_size=CHUNK, learning_rates=lrs)
    assert res["diverged"].tolist() == [i == 7 for i in range(n)]
    assert not np.isfinite(res["risk"][7]) or res["risk"][7] > CFG.diverge_threshold
    others = np.arange(n) != 7
    assert np.all(np.isfinite(res["risk"][others]))
    for k in FIELDS:
        np.testing.assert_array_equal(res[k][others], big[k][:n][others], err_msg=k)


def test_diverge_threshold_flags_exactly_the_trials_above_it(big):
    threshold = float(np.median(big["risk"][:100]))
    res = driver.run(dataclasses.replace(CFG, diverge_threshold=threshold), 100, chunk_size=CHUNK)
    np.testing.assert_array_equal(res["risk"], big["risk"][:100])
    np.testing.assert_array_equal(res["diverged"], big["risk"][:100] > threshold)


# ---------------------------------------------------------------- record steps, dtype, validation


@pytest.mark.parametrize("steps, n_record", [(1000, 5), (30, 8), (5, 16), (1, 3), (10000, 16)])
def test_record_steps(steps, n_record):
    rec = kernel.record_steps(steps, n_record)
    assert rec[0] == 0 and rec[-1] == steps - 1
    assert np.all(np.diff(rec) > 0) and len(rec) <= n_record
    if steps <= n_record:
        assert rec.tolist() == list(range(steps))
    else:
        # Log-spaced: consecutive 1-based indices grow by about the common ratio.
        ratio = steps ** (1 / (n_record - 1))
        assert np.all((rec[1:] + 1) / (rec[:-1] + 1) <= ratio * 1.5 + 1)
    if (steps, n_record) == (1000, 5):
        assert rec.tolist() == [0, 5, 31, 177, 999]


def test_float64_run_needs_x64_and_equals_fit_in_float64():
    """In float64 the vmapped run and the unbatched ``fit`` agree to 1e-12 (only summation order
    differs). (The float64 random draws use 64 bits, so they are not the float32 trials.)"""
    cfg = dataclasses.replace(CFG, dtype="float64", n_record=30)
    with pytest.raises(ValueError, match="jax_enable_x64"):
        driver.run(cfg, 4, chunk_size=8)
    with jax.enable_x64(True):
        res = driver.run(cfg, 4, chunk_size=8, n_devices=1)
        assert res["params"].dtype == res["loss_traj"].dtype == np.float64
        _check_against_fit(cfg, res, 0, range(4), _online_batches, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"arch": (2, 4, 1)}, "coordinate"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"optimizer": "adamw"}, "optimizer"),
        ({"hyper": (("momentum", 0.5),)}, "hyperparameter"),
        ({"steps": 0}, "steps"),
        ({"data_size": 0}, "data_size"),
        ({"dtype": "float16"}, "dtype"),
        ({"init": "xavier"}, "init"),
    ],
)
def test_config_validation(changes, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(CFG, **changes).validate()


@pytest.mark.parametrize("lrs", [np.full(3, 0.1), np.array([0.1, -0.1, 0.1, 0.1])])
def test_learning_rates_checked(lrs):
    with pytest.raises(ValueError, match="learning"):
        driver.run(CFG, 4, chunk_size=CHUNK, learning_rates=lrs)
