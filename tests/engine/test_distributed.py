"""Multi-process runs (``jax.distributed``): two CPU processes on 127.0.0.1 against one process.

The two-process results must be bit-identical to this test process's own (which simulates 4 CPU
devices, so device count and process count both differ from the reference).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, estimation, experiments
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.experiments import store

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """
[experiment]
kind = "shallow_width"
claim = "tiny two-process run"
trials = 7
seed = 3
chunk_size = 2

[train]
arch = [1, 2, 1]
target = "x^2"
box = "0:2"
optimizer = "sgd"
learning_rate = 0.02
steps = 20
batch_size = 16
eval_size = 64

[sweep]
width = [2]
"""
CFG = engine.TrainConfig(arch=(1, 3, 1), steps=15, batch_size=8, eval_size=32)

# Each process: engine.run, estimation.counts_at_init and experiments.run_experiment, then save what it holds.
WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from jaxnn_nonconv import engine, estimation, experiments
    from jaxnn_nonconv.engine import distributed

    port, pid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    assert distributed.initialize(f"127.0.0.1:{port}", 2, pid)
    cfg = engine.TrainConfig(arch=(1, 3, 1), steps=15, batch_size=8, eval_size=32)
    res = engine.run(cfg, 7, seed=5, chunk_size=2)
    counts = estimation.counts_at_init(cfg, 9, seed=2, chunk_size=4)
    experiments.run_experiment(experiments.load(f"{out}/exp.toml"), f"{out}/store")
    np.savez(f"{out}/p{pid}.npz", **{f"train/{k}": v for k, v in res.items()},
             **{f"counts/{k}": v for k, v in counts.items()}, process_count=[distributed.process_count()])
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    env["JAXNN_NONCONV_CACHE"] = ""
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    return env


def _launch(args_of, timeout: float = 240) -> list[subprocess.CompletedProcess]:
    """Run ``args_of(port, i)`` for processes ``i = 0, 1`` at once; return both results."""
    port = _free_port()
    procs = [
        subprocess.Popen(
            args_of(port, i), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    for r in out:
        assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def two_process(tmp_path_factory):
    """The worker's files after one launch of two processes."""
    out = tmp_path_factory.mktemp("two")
    (out / "exp.toml").write_text(EXPERIMENT)
    script = out / "worker.py"
    script.write_text(WORKER)
    _launch(lambda port, i: [sys.executable, str(script), str(port), str(i), str(out)])
    return out


def test_two_processes_train_bit_identical(two_process):
    ref = engine.run(CFG, 7, seed=5, chunk_size=2)
    for pid in (0, 1):  # both processes hold every trial
        with np.load(two_process / f"p{pid}.npz") as z:
            assert int(z["process_count"][0]) == 2
            for k, v in ref.items():
                np.testing.assert_array_equal(z[f"train/{k}"], v, err_msg=k, strict=True)


def test_two_processes_counts_bit_identical(two_process):
    ref = estimation.counts_at_init(CFG, 9, seed=2, chunk_size=4)
    with np.load(two_process / "p1.npz") as z:
        for k, v in ref.items():
            np.testing.assert_array_equal(z[f"counts/{k}"], v, err_msg=k, strict=True)


def test_two_processes_one_store_bit_identical(two_process, tmp_path):
    """Both processes wrote chunks into one store; it equals a one-process run file for file."""
    exp = experiments.load(two_process / "exp.toml")
    experiments.run_experiment(exp, tmp_path / "one")
    two = store.read_manifest(two_process / "store")
    one = store.read_manifest(tmp_path / "one")
    assert two["status"] == one["status"] == "complete"
    assert two["parts"] == one["parts"]
    a, b = store.ResultStore(two_process / "store", two), store.ResultStore(tmp_path / "one", one)
    assert a.parts() == b.parts() and sorted(a.done("cell-000")) == [0, 1, 2, 3]
    for part in a.parts():
        got, want = a.load(part), b.load(part)
        assert sorted(got) == sorted(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{part}/{k}", strict=True)


@pytest.mark.slow
def test_two_process_cli_estimate_and_train_json(tmp_path):
    """The CLI flags end to end: process 0 prints the one-process JSON, process 1 prints nothing."""
    train_argv = ["train", "--arch", "1,3,1", "--steps", "10", "--trials", "5", "--json"]
    for argv in (
        ["estimate", "--arch", "1,8,1", "--trials", "5000", "--chunk-size", "1024", "--json"],
        [*train_argv, "--chunk-size", "2", "--eval-size", "32"],
    ):
        runs = _launch(
            lambda port, i, argv=argv: [
                *(sys.executable, "-m", "jaxnn_nonconv.cli", *argv),
                *("--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"),
                *("--process-id", str(i)),
            ]
        )
        one = subprocess.run(
            [sys.executable, "-m", "jaxnn_nonconv.cli", *argv],
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        got, want = json.loads(runs[0].stdout), json.loads(one.stdout)
        got.pop("wall_s"), want.pop("wall_s")
        assert got == want
        assert runs[1].stdout == ""


@pytest.mark.slow
def test_two_process_cli_run_then_report(tmp_path):
    """`run` with the flags: one store, process 0 prints the report, equal to one process's."""
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    runs = _launch(
        lambda port, i: [
            *(sys.executable, "-m", "jaxnn_nonconv.cli", "run", str(tmp_path / "exp.toml")),
            *("--out", str(tmp_path / "two"), "--coordinator", f"127.0.0.1:{port}"),
            *("--num-processes", "2", "--process-id", str(i)),
        ]
    )
    assert runs[1].stdout == "" and "1/1 cells" in runs[0].stdout
    experiments.run_experiment(experiments.load(tmp_path / "exp.toml"), tmp_path / "one")
    a = store.ResultStore(tmp_path / "two", store.read_manifest(tmp_path / "two"))
    b = store.ResultStore(tmp_path / "one", store.read_manifest(tmp_path / "one"))
    assert a.manifest["status"] == "complete" and a.manifest["parts"] == b.manifest["parts"]
    for part in b.parts():
        got, want = a.load(part), b.load(part)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{part}/{k}", strict=True)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--num-processes", "2"], "go together"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "--process-id"),
        (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
        (["--coordinator", "h:1", "--num-processes", "0", "--process-id", "0"], "positive"),
    ],
)
def test_bad_distributed_flags_exit_2(flags, message, capsys):
    assert cli.main(["estimate", "--trials", "10", *flags]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_one_process_helpers_are_identity():
    assert distributed.process_count() == 1 and distributed.is_leader()
    assert distributed.my_chunks(range(3)) == [0, 1, 2]
    parts = [(2, {"x": np.array([4.0])}), (0, {"x": np.array([0.5, 1.5])})]
    np.testing.assert_array_equal(distributed.merge_chunks(parts)["x"], [0.5, 1.5, 4.0])
    assert distributed.leader_first(lambda: 7) == 7
    assert not distributed.initialize()  # no flags, no multi-process environment


def test_auto_detection_environment():
    slurm = {"SLURM_JOB_ID": "5", "SLURM_STEP_NODELIST": "n[1-4]", "SLURM_PROCID": "0"}
    assert distributed._auto_detected({**slurm, "SLURM_NTASKS": "8"})
    assert not distributed._auto_detected({**slurm, "SLURM_NTASKS": "1"})
    assert not distributed._auto_detected({"SLURM_JOB_ID": "5", "SLURM_NTASKS": "8"})  # no srun
    assert distributed._auto_detected({"TPU_WORKER_HOSTNAMES": "t0,t1"})
    assert not distributed._auto_detected({"TPU_WORKER_HOSTNAMES": "t0"})
    assert distributed._auto_detected({"JAX_COORDINATOR_ADDRESS": "h:1"})
    off = {**slurm, "SLURM_NTASKS": "8", distributed.DISABLE_ENV: "1"}
    assert not distributed._auto_detected(off)
