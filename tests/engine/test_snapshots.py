"""Parameter snapshots along the trajectory (``TrainConfig.n_snapshots``): off, the run is the one
without the option, bit for bit; on, the snapshots are the parameters of an independent
step-by-step loop, the last one the final parameters exactly, and the other results unchanged."""

import dataclasses

import jax
import numpy as np
import pytest

from jaxnn_nonconv.core import data as datasets, nets, problems
from jaxnn_nonconv.engine import _config as config, _driver as driver, _kernel as kernel
from jaxnn_nonconv.experiments import store

CFG = config.TrainConfig(
    arch=(1, 5, 1), steps=67, batch_size=8, eval_size=32, n_record=5, learning_rate=0.05
)
MASKED = config.TrainConfig(
    arch=(1, 6, 1),
    steps=40,
    batch_size=8,
    eval_size=32,
    trainable=("b1",),
    optimizer="adam",
    learning_rate=1e-3,
)
FULL_BATCH = dataclasses.replace(CFG, data_size=16, batch_size=16, steps=30)
N_SNAP = 7


# Each setting compiles two programs (~7 s on a loaded 2-core machine), so only "sgd" runs by
# default; the full-batch loop and the masked Adam setting are slow, their properties (the same
# tests) covered fast by "sgd" (the full-batch loop shares its step body with it).
SLOW = pytest.mark.slow


@pytest.fixture(
    scope="module",
    params=[CFG, pytest.param(FULL_BATCH, marks=SLOW), pytest.param(MASKED, marks=SLOW)],
    ids=["sgd", "full", "b1-adam"],
)
def pair(request):
    """The same 5 trials (chunks of 4) without and with snapshots."""
    cfg = request.param
    off = driver.run(cfg, 5, chunk_size=4, seed=3)
    on = driver.run(dataclasses.replace(cfg, n_snapshots=N_SNAP), 5, chunk_size=4, seed=3)
    return cfg, off, on


def test_off_adds_nothing_and_keeps_the_config_hash():
    d = CFG.validate().to_dict()
    assert "n_snapshots" not in d  # runs stored before the option keep their hash
    on = dataclasses.replace(CFG, n_snapshots=3).validate().to_dict()
    assert on["n_snapshots"] == 3 and store.config_hash(on) != store.config_hash(d)


def test_snapshots_leave_every_other_result_bit_identical(pair):
    _, off, on = pair
    assert set(off) == {*kernel.TrialResult._fields, "trial", "learning_rate", "record_steps"}
    assert set(on) - set(off) == {"param_traj", "snapshot_steps"}
    for k in off:
        np.testing.assert_array_equal(on[k], off[k], err_msg=k)


def test_last_snapshot_is_the_final_parameters_exactly(pair):
    cfg, _, on = pair
    steps = kernel.snapshot_steps(cfg.steps, N_SNAP)
    np.testing.assert_array_equal(on["snapshot_steps"], steps)
    assert steps[-1] == cfg.steps
    assert on["param_traj"].shape == (5, len(steps), nets.num_params(cfg.arch))
    np.testing.assert_array_equal(on["param_traj"][:, -1], on["params"])


def test_snapshots_match_a_step_by_step_loop(pair):
    """An independent Python loop, one jitted step at a time, batch ``n`` drawn from
    ``fold_in(data_key, n)``: theta after the snapshot steps (float tolerance: XLA fuses the
    scanned program differently)."""
    cfg, _, on = pair
    cfg = cfg.validate()
    opt = kernel.trial_optimizer(cfg, cfg.learning_rate)
    step = jax.jit(lambda p, s, x, y: kernel.step(p, s, x, y, opt, "relu", cfg.trainable)[:2])
    keep = set(kernel.snapshot_steps(cfg.steps, N_SNAP).tolist())
    for i in (0, 4):
        key = kernel.trial_key(3, i)
        k_data = jax.random.fold_in(key, 1)
        params = kernel.init_trial_params(cfg, key)
        state = opt.init(params)
        if cfg.data_size is not None:
            xy = problems.sample(k_data, cfg.problem, cfg.data_size)
        thetas = []
        for n in range(cfg.steps):
            if cfg.data_size is None:
                xy = problems.sample(jax.random.fold_in(k_data, n), cfg.problem, cfg.batch_size)
            params, state = step(params, state, *xy)
            if n + 1 in keep:
                thetas.append(np.asarray(nets.to_flat(params)))
        np.testing.assert_allclose(on["param_traj"][i], np.array(thetas), rtol=2e-5, atol=1e-6)


def test_snapshots_do_not_depend_on_the_number_of_trials(pair):
    cfg, _, on = pair
    few = driver.run(dataclasses.replace(cfg, n_snapshots=N_SNAP), 2, chunk_size=4, seed=3)
    np.testing.assert_array_equal(few["param_traj"], on["param_traj"][:2])


@pytest.mark.parametrize(("steps", "n"), [(1000, 20), (67, 7), (5, 16), (1, 3), (10_000, 20)])
def test_snapshot_steps_are_log_spaced_and_end_at_the_last_step(steps, n):
    s = kernel.snapshot_steps(steps, n)
    assert s[0] == 1 and s[-1] == steps and len(s) <= n and np.all(np.diff(s) > 0)
    assert kernel.snapshot_steps(steps, 0).shape == (0,)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_n_snapshots_is_refused(bad):
    with pytest.raises(ValueError, match="n_snapshots"):
        dataclasses.replace(CFG, n_snapshots=bad).validate()


def test_snapshots_with_a_data_set_are_refused():
    x = np.linspace(0, 1, 8)[:, None]
    data = datasets.Dataset(x, x[:, 0] ** 2, ("x",))
    cfg = dataclasses.replace(CFG, data=data, n_snapshots=3, problem=CFG.problem)
    with pytest.raises(ValueError, match="data set"):
        cfg.validate()
