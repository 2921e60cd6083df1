"""The results store: atomic chunk files, resume, refusal of foreign directories, kill -9 safety."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from jaxnn_nonconv import __version__, engine
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import run_trials, store

# The kill test's run: 12 chunks of 8 trials, small enough to compile and run in seconds.
KILL_CFG = dict(arch=(1, 4, 1), steps=300, eval_size=256)
KILL_TRIALS, KILL_CHUNK, KILL_SEED = 96, 8, 3

CHILD = r"""
import json, os, sys, time
import jax
jax.config.update("jax_num_cpu_devices", 1)
from jaxnn_nonconv import engine
from jaxnn_nonconv.experiments import run_trials, store

out, delay, kw, n, chunk, seed = sys.argv[1:]
if float(delay):  # stretch every rename so that the parent can kill us in the middle of the run
    real_replace = os.replace
    def slow_replace(src, dst):
        time.sleep(float(delay))
        real_replace(src, dst)
    os.replace = slow_replace
cfg = engine.TrainConfig(**json.loads(kw))
st = store.open_run(out, {"config": cfg.to_dict()})
run_trials(st, "cell-000", cfg, int(n), seed=int(seed), chunk_size=int(chunk))
st.finish()
"""


def _child(out, delay):
    args = [str(out), str(delay), json.dumps(KILL_CFG), str(KILL_TRIALS), str(KILL_CHUNK)]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-c", CHILD, *args, str(KILL_SEED)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _chunk_names(part_dir):
    return sorted(p.name for p in part_dir.glob("chunk-*.npz")) if part_dir.is_dir() else []


def _assert_same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=True), k


@pytest.mark.slow
def test_kill_minus_nine_then_resume_is_bit_identical(tmp_path):
    """SIGKILL a run after its first chunk file appears, re-run it: same bits as no interruption.
    Slow (a subprocess compiles a training run twice); the default suite covers crash-safety end
    to end by tests/experiments/test_experiments.py::
    test_kill_minus_nine_then_rerun_same_command_is_bit_identical."""
    cfg = engine.TrainConfig(**KILL_CFG)
    manifest = {"config": cfg.to_dict()}
    out = tmp_path / "killed"
    part_dir = out / "parts" / "cell-000"
    proc = _child(out, 0.1)
    deadline = time.monotonic() + 90
    try:
        while not _chunk_names(part_dir):
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no chunk file after 90 s"
            time.sleep(0.005)
        # While the child runs, the directory is locked against a second writer.
        with pytest.raises(ConfigError, match="another running process"):
            store.open_run(out, manifest)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    killed = _chunk_names(part_dir)
    assert 1 <= len(killed) < 12, killed  # the run really was interrupted
    first = part_dir / killed[0]
    stamp = (first.stat().st_ino, first.stat().st_mtime_ns)

    resume = _child(out, 0)
    _, err = resume.communicate(timeout=120)
    assert resume.returncode == 0, err.decode()[-2000:]
    assert _chunk_names(part_dir) == [f"chunk-{i:06d}.npz" for i in range(12)]
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == stamp  # kept, not recomputed
    assert not list(part_dir.glob(".tmp-*")) and not list(out.glob(".tmp-*"))
    manifest_on_disk = store.read_manifest(out)
    assert manifest_on_disk["status"] == "complete"
    assert [h["event"] for h in manifest_on_disk["history"]] == ["created", "resumed"]
    assert manifest_on_disk["parts"]["cell-000"]["complete"] is True

    # References: the same run uninterrupted in a fresh directory, and the engine itself without
    # any store (1 device like the child; the engine's tests cover other device counts).
    with store.open_run(tmp_path / "fresh", manifest) as fresh:
        fresh_res = run_trials(
            fresh, "cell-000", cfg, KILL_TRIALS, seed=KILL_SEED, chunk_size=KILL_CHUNK, n_devices=1
        )
    with store.open_run(out, manifest) as st:
        assert st.resumed
        resumed = st.load("cell-000")
    direct = engine.run(cfg, KILL_TRIALS, seed=KILL_SEED, chunk_size=KILL_CHUNK, n_devices=1)
    record_steps = direct.pop("record_steps")
    assert np.array_equal(fresh_res.pop("record_steps"), record_steps)
    _assert_same(resumed, fresh_res)
    _assert_same(resumed, direct)
    assert resumed["trial"].tolist() == list(range(KILL_TRIALS))


def test_config_hash_is_sha256_of_canonical_json():
    obj = {"b": [1, 2.5, None], "a": {"y": "é", "x": True}}
    canonical = '{"a":{"x":true,"y":"\\u00e9"},"b":[1,2.5,null]}'
    assert store.config_hash(obj) == hashlib.sha256(canonical.encode()).hexdigest()
    assert store.config_hash({"a": {"x": True, "y": "é"}, "b": (1, 2.5, None)}) == (
        store.config_hash(obj)
    )
    assert store.config_hash({**obj, "b": [1, 2.5, 0]}) != store.config_hash(obj)
    with pytest.raises(ValueError):
        store.config_hash({"x": float("nan")})


def test_open_run_writes_manifest(tmp_path):
    out = tmp_path / "a" / "b"  # parents are created
    with store.open_run(out, {"config": {"k": 1}, "note": "hi"}) as st:
        on_disk = json.loads((out / "manifest.json").read_text())
        assert on_disk == st.manifest == store.read_manifest(out)
        assert on_disk["config_hash"] == store.config_hash({"k": 1})
        assert on_disk["package_version"] == __version__
        assert on_disk["status"] == "running" and on_disk["note"] == "hi"
        for key in ("jax_version", "numpy_version", "device", "created"):
            assert on_disk[key]
        assert "cpu" in on_disk["device"]
        assert not st.resumed and st.warning is None
        st.update(progress=3)
        assert store.read_manifest(out)["progress"] == 3
        st.finish(wall_s=1.5)
        done = store.read_manifest(out)
        assert done["status"] == "complete" and done["wall_s"] == 1.5 and done["finished"]


def test_resume_same_config_keeps_chunks(tmp_path):
    with store.open_run(tmp_path, {"config": {"k": 1}}) as st:
        st.write_chunk("cell-000", 0, {"x": np.arange(3)})
        st.finish()
        created = st.manifest["created"]
    with store.open_run(tmp_path, {"config": {"k": 1}, "extra": 2}) as st:
        assert st.resumed and st.warning is None
        assert st.done("cell-000") == {0}
        assert st.manifest["created"] == created
        assert st.manifest["status"] == "running" and "finished" not in st.manifest
        assert st.manifest["extra"] == 2
        assert st.parts() == ["cell-000"]


def test_different_config_is_refused_unless_overwrite(tmp_path):
    with store.open_run(tmp_path, {"config": {"k": 1}}) as st:
        st.write_chunk("cell-000", 0, {"x": np.arange(3)})
    old, new = store.config_hash({"k": 1}), store.config_hash({"k": 2})
    with pytest.raises(ConfigError, match="different config") as e:
        store.open_run(tmp_path, {"config": {"k": 2}})
    assert old[:12] in str(e.value) and new[:12] in str(e.value) and "--overwrite" in str(e.value)
    assert store.read_manifest(tmp_path)["config_hash"] == old  # untouched
    with store.open_run(tmp_path, {"config": {"k": 2}}, overwrite=True) as st:
        assert not st.resumed
        assert st.done("cell-000") == set() and st.parts() == []
        assert store.read_manifest(tmp_path)["config_hash"] == new


def test_foreign_nonempty_directory_is_never_cleared(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(ConfigError, match="not empty"):
            store.open_run(tmp_path, {"config": {}}, overwrite=overwrite)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


def test_corrupt_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text('{"config": ')
    with pytest.raises(ConfigError, match="corrupt manifest"):
        store.read_manifest(tmp_path)
    with pytest.raises(ConfigError, match=r"corrupt manifest.*--overwrite"):
        store.open_run(tmp_path, {"config": {}})
    with store.open_run(tmp_path, {"config": {}}, overwrite=True) as st:
        assert st.manifest["status"] == "running"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"holds no manifest\.json"):
        store.read_manifest(tmp_path / "empty")
    with pytest.raises(ConfigError, match="no such directory"):
        store.read_manifest(tmp_path / "missing")


def test_unwritable_directory_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for out in (blocker, blocker / "sub"):  # a file, and a directory under a file
        with pytest.raises(ConfigError, match=f"cannot write to {out}"):
            store.open_run(out, {"config": {}})


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_directory_is_a_config_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="cannot write to"):
            store.open_run(ro, {"config": {}})
    finally:
        ro.chmod(0o700)


def test_version_warning(tmp_path):
    assert store.check_version({"package_version": __version__}) is None
    warning = store.check_version({"package_version": "0.0.0"})
    assert "0.0.0" in warning and __version__ in warning
    # Resuming under another version: the store says so, and so does the manifest afterwards.
    with store.open_run(tmp_path, {"config": {}}) as st:
        st.update(package_version="0.0.0", history=[{"package_version": "0.0.0"}])
    with store.open_run(tmp_path, {"config": {}}) as st:
        assert "0.0.0" in st.warning
    manifest = store.read_manifest(tmp_path)
    assert manifest["package_version"] == __version__
    assert "0.0.0" in store.check_version(manifest)


def test_write_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    with store.open_run(tmp_path, {"config": {}}) as st:
        part_dir = tmp_path / "parts" / "cell-000"

        def broken_replace(src, dst):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="No space"):
            st.write_chunk("cell-000", 0, {"x": np.arange(1000.0)})
        assert st.done("cell-000") == set() and st.load("cell-000") == {}
        assert list(part_dir.iterdir()) == []  # no chunk, and the temp file is gone too
        monkeypatch.undo()
        st.write_chunk("cell-000", 0, {"x": np.arange(1000.0)})
        assert st.done("cell-000") == {0}
        assert np.array_equal(st.load("cell-000")["x"], np.arange(1000.0))


def test_leftover_temp_file_is_ignored_and_cleaned(tmp_path):
    with store.open_run(tmp_path, {"config": {}}) as st:
        st.write_chunk("cell-000", 0, {"x": np.arange(4)})
    part_dir = tmp_path / "parts" / "cell-000"
    # What a kill in the middle of np.savez leaves: a truncated temp file.
    data = (part_dir / "chunk-000000.npz").read_bytes()
    (part_dir / ".tmp-chunk-000001.npz.abc123").write_bytes(data[: len(data) // 2])
    (tmp_path / ".tmp-manifest.json.xyz").write_text("{")
    with store.open_run(tmp_path, {"config": {}}) as st:
        assert st.resumed and st.done("cell-000") == {0}
        assert sorted(p.name for p in part_dir.iterdir()) == ["chunk-000000.npz"]
        assert not list(tmp_path.glob(".tmp-*"))


def test_load_concatenates_in_index_order(tmp_path):
    with store.open_run(tmp_path, {"config": {}}) as st:
        for i in reversed(range(12)):  # written out of order; 10 and 11 sort before 2 as text
            st.write_chunk("p", i, {"t": np.arange(2 * i, 2 * i + 2), "m": np.full((2, 3), i)})
        res = st.load("p")
        assert res["t"].tolist() == list(range(24))
        assert res["m"].shape == (24, 3) and res["m"][:, 0].tolist() == sorted(list(range(12)) * 2)
        (tmp_path / "parts" / "p" / "chunk-000004.npz").unlink()
        with pytest.raises(ConfigError, match=r"chunk\(s\) \[4\] missing"):
            st.load("p")
        with pytest.raises(ValueError, match="part name"):
            st.write_chunk("../evil", 0, {"t": np.arange(2)})


def test_loading_never_unpickles(tmp_path):
    with store.open_run(tmp_path, {"config": {}}) as st:
        with pytest.raises(TypeError, match="dtype object"):
            st.write_chunk("p", 0, {"x": np.array([{"a": 1}], dtype=object)})
        assert st.done("p") == set()
        # A chunk file holding a pickled object array (made by hand) is refused, not unpickled.
        part_dir = tmp_path / "parts" / "p"
        part_dir.mkdir(parents=True)
        np.savez(part_dir / "chunk-000000.npz", x=np.array([{"a": 1}], dtype=object))
        with pytest.raises(ConfigError, match=r"chunk-000000\.npz.*pickle"):
            st.load("p")
        # A damaged file is reported with its name and what to do.
        with zipfile.ZipFile(part_dir / "chunk-000000.npz", "w") as z:
            z.writestr("x.npy", b"garbage")
        with pytest.raises(ConfigError, match=r"corrupt chunk file .*re-run"):
            st.load("p")


def test_run_trials_refuses_other_chunk_size(tmp_path):
    cfg = engine.TrainConfig(arch=(1, 2, 1), steps=5, eval_size=16)
    with store.open_run(tmp_path, {"config": {}}) as st:
        res = run_trials(st, "cell-000", cfg, 6, seed=0, chunk_size=4)
        assert res["trial"].tolist() == list(range(6))
        assert st.manifest["parts"]["cell-000"]["chunk_size"] == 4
        assert st.manifest["parts"]["cell-000"]["complete"] is True
        with pytest.raises(ConfigError, match="chunk_size=4, now 2"):
            run_trials(st, "cell-000", cfg, 6, seed=0, chunk_size=2)
        with pytest.raises(ConfigError, match="seed=0, now 1"):
            run_trials(st, "cell-000", cfg, 6, seed=1, chunk_size=4)
        again = run_trials(st, "cell-000", cfg, 6, seed=0, chunk_size=4)  # nothing to do
        _assert_same(res, again)
