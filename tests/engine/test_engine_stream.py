"""The engine's data stream: batches drawn a block of steps at once, and the stream version that
stores record so that results computed another way are never mixed into a resumed run."""

import dataclasses

import jax
import numpy as np
import pytest

from jaxnn_nonconv.core import nets, optim, problems
from jaxnn_nonconv.engine import _config as config, _driver as driver, _kernel as kernel
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import store

# Chunks of 2 trials and batches of 8 draw blocks of up to 4096 steps (block_limit): 67 steps (a
# prime above DRAW_BLOCK) and 60 steps are each one block; make_trial draws 67 blocks of 1.
CFGS = [
    config.TrainConfig(arch=(1, 5, 1), steps=67, batch_size=8, eval_size=32),
    config.TrainConfig(
        arch=(2, 4, 1),
        steps=60,
        batch_size=8,
        eval_size=32,
        optimizer="adam",
        learning_rate=1e-3,
        problem=problems.Problem("x^2", ((0, 1), (-1, 1)), 0.1),
    ),
]


@pytest.mark.parametrize("steps", [1, 2, 7, 37, 60, 64, 100, 1000, 4096])
def test_draw_block_divides_the_steps(steps):
    b = kernel.draw_block(steps)
    assert steps % b == 0 and 1 <= b <= kernel.DRAW_BLOCK
    assert all(steps % c for c in range(b + 1, min(steps, kernel.DRAW_BLOCK) + 1))


@pytest.mark.parametrize(("chunk", "batch"), [(1, 64), (2, 8), (15, 64), (16, 64), (1024, 64)])
def test_small_chunks_draw_longer_blocks_within_the_sample_budget(chunk, batch):
    most = kernel.block_limit(chunk, batch)
    assert most >= kernel.DRAW_BLOCK
    if most > kernel.DRAW_BLOCK:  # the longest block that stays within the budget
        assert most * chunk * batch <= kernel.DRAW_SAMPLES < (most + 1) * chunk * batch
    else:
        assert (kernel.DRAW_BLOCK + 1) * chunk * batch > kernel.DRAW_SAMPLES


@pytest.mark.parametrize("cfg", CFGS, ids=["prime-steps", "adam-2d-noise"])
def test_block_drawn_training_equals_a_step_by_step_loop(cfg):
    """An independent loop drawing batch n from fold_in(data_key, n) at each step, one Python step
    at a time, ends at the engine's parameters (float tolerance: XLA fuses differently)."""
    cfg = cfg.validate()
    res = driver.run(cfg, 2, seed=4, chunk_size=2)
    opt = optim.make(cfg.optimizer, cfg.learning_rate)
    step = jax.jit(lambda p, s, x, y: kernel.step(p, s, x, y, opt)[:3])
    for i in range(2):
        key = kernel.trial_key(4, i)
        k_data = jax.random.fold_in(key, 1)
        params = kernel.init_trial_params(cfg, key)
        state = opt.init(params)
        losses = []
        for n in range(cfg.steps):
            x, y = problems.sample(jax.random.fold_in(k_data, n), cfg.problem, cfg.batch_size)
            params, state, loss = step(params, state, x, y)
            losses.append(float(loss))
        np.testing.assert_allclose(nets.to_flat(params), res["params"][i], rtol=2e-5, atol=1e-6)
        rec = kernel.record_steps(cfg.steps, cfg.n_record)
        np.testing.assert_allclose(res["loss_traj"][i], np.array(losses)[rec], rtol=2e-5)


def test_a_new_seed_reuses_the_compiled_chunk():
    """The seed is an argument of the compiled program, not a constant in it; trial ``i`` of seed
    ``s`` is still the trial of key ``fold_in(key(s), i)`` (:func:`kernel.make_trial`, unbatched)."""
    cfg = CFGS[0].validate()
    fn = driver._compiled_chunk(cfg, 2)
    first = driver.run(cfg, 2, seed=1, chunk_size=2)
    compiled = fn._cache_size()
    other = driver.run(cfg, 2, seed=2, chunk_size=2)
    assert fn._cache_size() == compiled
    assert not np.array_equal(first["params"], other["params"])
    alone = kernel.make_trial(cfg)(kernel.trial_key(2, 1), cfg.learning_rate)
    np.testing.assert_allclose(other["params"][1], alone.params, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(other["risk"][1], alone.risk, rtol=2e-5)


def test_store_records_the_stream_version(tmp_path):
    with store.open_run(tmp_path, {"config": {"k": 1}}) as st:
        assert st.manifest["stream_version"] == driver.STREAM_VERSION
        assert st.manifest["history"][0]["stream_version"] == driver.STREAM_VERSION


@pytest.mark.parametrize("old_version", [None, 1, 2])  # None: a store from before it was recorded
def test_resume_of_another_stream_version_is_refused(tmp_path, old_version):
    with store.open_run(tmp_path, {"config": {"k": 1}}) as st:
        st.write_chunk("cell-000", 0, {"x": np.arange(3)})
        manifest = dict(st.manifest)
    if old_version is None:
        manifest.pop("stream_version")
    else:
        manifest["stream_version"] = old_version
    store._write_json(tmp_path / store.MANIFEST, manifest)
    match = f"stream version {old_version or 1}, this is version"
    with pytest.raises(ConfigError, match=match) as e:
        store.open_run(tmp_path, {"config": {"k": 1}})
    assert "--overwrite" in str(e.value) and "\n" not in str(e.value)
    assert store.ResultStore(tmp_path, manifest).done("cell-000") == {0}  # untouched
    with store.open_run(tmp_path, {"config": {"k": 1}}, overwrite=True) as st:
        assert not st.resumed and st.done("cell-000") == set()
        assert st.manifest["stream_version"] == driver.STREAM_VERSION


def test_a_config_with_unhashable_fields_still_runs():
    """``hyper`` given as a dict (normalized by ``validate``) is validated afresh at each call, and
    trains the same nets as the normalized config."""
    cfg = dataclasses.replace(CFGS[1], hyper={})  # the program compiled above serves it
    res = driver.run(cfg, 2, seed=4, chunk_size=2)
    same = driver.run(cfg.validate(), 2, seed=4, chunk_size=2)
    for k in kernel.TrialResult._fields:
        np.testing.assert_array_equal(res[k], same[k], err_msg=k)
