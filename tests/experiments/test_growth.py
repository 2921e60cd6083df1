"""LayerStacks grow: more trials resume a stored run and compute only the new chunks, the first trials
stay bit-identical; fewer trials are refused. Checked against a fresh run of the small size and by
counting the chunks the engine is asked to compute."""

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, experiments
from jaxnn_nonconv.engine import _driver
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import run_trials, store
from jaxnn_nonconv.stats import Precision, proportion

CFG = engine.TrainConfig(arch=(1, 3, 1), steps=10, eval_size=32).validate()


@pytest.fixture
def spy(monkeypatch):
    """Records the chunk indices engine.iter_chunks yields (the chunks actually computed)."""
    seen = []
    real = engine.iter_chunks

    def iter_chunks(*args, **kw):
        for c, res in real(*args, **kw):
            seen.append(c)
            yield c, res

    monkeypatch.setattr(engine, "iter_chunks", iter_chunks)
    monkeypatch.setattr(_driver, "iter_chunks", iter_chunks)
    return seen


def test_store_grows_256_to_512(tmp_path, spy):
    small = tmp_path / "small"
    st = store.open_run(small, {"config": {"trials": 256, "x": 1}})
    ref = run_trials(st, "p", CFG, 256, seed=2, chunk_size=128)
    st.close()
    grown = tmp_path / "grown"
    st = store.open_run(grown, {"config": {"trials": 256, "x": 1}})
    run_trials(st, "p", CFG, 256, seed=2, chunk_size=128)
    st.close()
    spy.clear()
    st = store.open_run(grown, {"config": {"trials": 512, "x": 1}})
    assert st.resumed
    out = run_trials(st, "p", CFG, 512, seed=2, chunk_size=128)
    assert spy == [2, 3]  # only the new chunks
    assert out["trial"].tolist() == list(range(512))
    for key in ("params", "params0", "risk", "loss_traj"):
        np.testing.assert_array_equal(out[key][:256], ref[key])
    assert st.manifest["parts"]["p"]["n_trials"] == 512
    st.close()


def test_store_grows_from_a_partial_chunk(tmp_path, spy):
    st = store.open_run(tmp_path, {"config": {"trials": 200}})
    run_trials(st, "p", CFG, 200, seed=2, chunk_size=128)
    spy.clear()
    out = run_trials(st, "p", CFG, 300, seed=2, chunk_size=128)
    assert spy == [1, 2]  # chunk 1 held only 72 trials: recomputed, then the new one
    ref = engine.run(CFG, 300, seed=2, chunk_size=128)
    np.testing.assert_array_equal(out["params"], ref["params"])
    st.close()


def test_shrinking_is_refused(tmp_path):
    st = store.open_run(tmp_path, {"config": {"trials": 128}})
    run_trials(st, "p", CFG, 128, seed=2, chunk_size=128)
    with pytest.raises(ConfigError, match="never shrink"):
        run_trials(st, "p", CFG, 64, seed=2, chunk_size=128)
    st.close()
    with pytest.raises(ConfigError, match="holds trials = 128; 64 would drop"):
        store.open_run(tmp_path, {"config": {"trials": 64}})
    with pytest.raises(ConfigError, match="different config"):
        store.open_run(tmp_path, {"config": {"trials": 128, "other": 1}})


EXP = """
[experiment]
kind = "shallow_width"
trials = 64
seed = 1
chunk_size = 32

[train]
arch = [1, 2, 1]
box = "0:2"
steps = 20
batch_size = 16
eval_size = 64

[sweep]
width = [2]
"""


def test_cli_run_grows_with_trials(tmp_path, spy, capsys):
    path = tmp_path / "exp.toml"
    path.write_text(EXP)
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--no-report"]) == 0
    small = store.ResultStore(out, store.read_manifest(out)).load("cell-000-inactive")
    spy.clear()
    argv = ["run", str(path), "--out", str(out), "--no-report", "--trials", "128"]
    assert cli.main(argv) == 0
    assert spy == [2, 3]
    st = store.ResultStore(out, store.read_manifest(out))
    det = st.load("cell-000-inactive")
    assert len(det["end_inactive"]) == 128
    for k, v in small.items():
        np.testing.assert_array_equal(det[k][:64], v)
    assert store.read_manifest(out)["config"]["trials"] == 128
    assert cli.main([*argv[:-1], "32"]) == 2
    assert "never shrink" in capsys.readouterr().err


def test_experiment_precision_target_stops_at_first_chunk_count(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(EXP)
    exp = experiments.load(path)
    precision = Precision("inactive_at_init", ci_width=0.3, max_trials=256)
    experiments.run_experiment(exp, tmp_path / "out", precision=precision, progress=False)
    st = store.ResultStore(tmp_path / "out", store.read_manifest(tmp_path / "out"))
    det = st.load("cell-000-inactive")
    n = len(det["init_inactive"])
    hits = (det["init_inactive"].sum(1) > 0).astype(int)
    for k in range(1, n // 32):
        est = proportion(int(hits[: 32 * k].sum()), 32 * k)
        assert not precision.met(est)  # no earlier chunk count met the target
    assert precision.met(proportion(int(hits.sum()), n)) or n == 256
