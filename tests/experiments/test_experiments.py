"""Experiments end to end: `run` then `report`, at tiny sizes (the quick sizes are `slow`).

Each check compares the stored per-trial results with something independent of the report code:
theory's closed forms (within a 99.9% interval), an invariant of the mechanism (a first-layer
neuron dead at init is dead at the end, and a net with a dead neuron cannot reach the best risk),
a brute-force evaluation of the stored networks, or an uninterrupted run (kill -9 and resume).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, experiments
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.experiments import report, store
from jaxnn_nonconv.stats import results, theory

ROOT = Path(__file__).resolve().parents[2]

SHALLOW = """
[experiment]
kind = "shallow_width"
claim = "tiny shallow width sweep"
trials = 96
seed = 1
chunk_size = 32
tolerance = 1e-3

[train]
arch = [1, 2, 1]
init = "pytorch"
target = "x^2"
box = "0:2"
optimizer = "sgd"
learning_rate = 0.02
steps = 300
batch_size = 32
eval_size = 1024

[sweep]
width = [1, 3]
"""

DEPTH = """
[experiment]
kind = "depth_width"
claim = "tiny depth x width sweep"
trials = 2000
seed = 0
chunk_size = 1000
max_points = 64

[train]
arch = [1, 2, 1]
init = "normal"
box = "0:1"

[sweep]
width = [2]
depth = [1, 6]
"""


def _write(tmp_path, name, text):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _report_json(out, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["report", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def shallow(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shallow")
    cfg_path = _write(tmp, "shallow", SHALLOW)
    out = tmp / "out"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "--no-report"]) == 0
    return cfg_path, out


def test_shallow_width_against_theory_and_mechanism(shallow, capsys):
    _, out = shallow
    summary = _report_json(out, capsys)
    assert summary["complete"] and summary["cells_done"] == summary["cells_total"] == 2
    _, exp, cells = report.load_cells(out)
    p = theory.first_layer_p("pytorch", ((0.0, 2.0),))
    for c, row in zip(cells, summary["rows"], strict=True):
        width = c["cfg"].arch[1]
        n = len(c["risk"])
        dead0 = c["init_inactive"][:, 0]
        # Measured P(some first-layer neuron dead at init) vs 1 - (1 - p)^H, 99.9% interval.
        k = int((dead0 > 0).sum())
        lo, hi = results.proportion(k, n, confidence=0.999)["ci"]
        assert lo <= 1 - (1 - p) ** width <= hi
        assert row["first_layer_inactive_at_init"]["estimate"] == k / n
        # Dead first-layer neurons never recover (docs/theory.md sec. 3).
        assert np.all(c["end_inactive"][:, 0] >= dead0)
        ok = ~c["diverged"]
        success = ok & (c["risk"] <= row["best_risk_found"] + exp.tolerance)
        if width == 1:
            # A [1,1,1] net whose neuron is dead is constant, so its risk is at least the
            # variance of f, far above what a live neuron reaches: success needs no dead neuron.
            # (For wider nets this needs training long enough to separate the risk levels.)
            assert not np.any(success & (dead0 > 0))
            assert success.sum() > 0
        assert row["success"]["estimate"] == success.sum() / n
        lo, hi = row["success"]["ci"]  # the figures' Wilson interval brackets the estimate
        assert lo <= row["success"]["estimate"] <= hi


def test_report_regenerates_figures_without_running(shallow, capsys):
    _, out = shallow
    first = _report_json(out, capsys)
    for f in first["figures"]:
        (out / f).unlink()
    parts = sorted(p.stat().st_mtime_ns for p in (out / "parts").rglob("*.npz"))
    second = _report_json(out, capsys)
    assert second == first
    assert {Path(f).suffix for f in second["figures"]} == {".png", ".svg"}
    for f in second["figures"]:
        assert (out / f).stat().st_size > 1000
    assert sorted(p.stat().st_mtime_ns for p in (out / "parts").rglob("*.npz")) == parts


def test_kill_minus_nine_then_rerun_same_command_is_bit_identical(shallow, tmp_path):
    """`jaxnn-nonconv run` killed mid-way, then re-run: the stored arrays equal an uninterrupted
    run's bit for bit."""
    cfg_path, reference = shallow
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "jaxnn_nonconv.cli", "run", str(cfg_path), "--out", str(out)]
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAXNN_NONCONV_CACHE": ""}
    proc = subprocess.Popen([*cmd, "--no-report"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not list((out / "parts").glob("cell-000/chunk-*.npz")):
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no chunk file after 120 s"
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert store.read_manifest(out).get("status") != "complete"
    done = subprocess.run([*cmd, "--no-report"], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    manifest = store.read_manifest(out)
    assert manifest["status"] == "complete"
    a = store.ResultStore(out, manifest)
    b = store.ResultStore(reference, store.read_manifest(reference))
    assert sorted(a.parts()) == sorted(b.parts())
    for part in a.parts():
        x, y = a.load(part), b.load(part)
        assert sorted(x) == sorted(y)
        for key in x:
            assert np.array_equal(x[key], y[key], equal_nan=True), (part, key)


def test_other_config_in_same_directory_is_refused(shallow, tmp_path, capsys):
    _, out = shallow
    other = _write(tmp_path, "other", SHALLOW.replace("trials = 96", "trials = 64"))
    assert cli.main(["run", str(other), "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "overwrite" in err and len(err.strip().splitlines()) == 1


def test_depth_width_constant_nets_brute_force_and_bound(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(_write(tmp_path, "d", DEPTH)), "--out", str(out)]) == 0
    summary = _report_json(out, capsys)
    _, exp, cells = report.load_cells(out)
    rows = {(r["width"], r["depth"]): r for r in summary["rows"]}
    assert sorted(rows) == [(2, 1), (2, 6)]  # one width: two programs, not four
    xs = np.linspace(0.0, 1.0, 2001)[:, None]
    for c in cells:
        cfg = c["cfg"]
        r = rows[(cfg.arch[1], len(cfg.arch) - 2)]
        dead = c["init_dead_layer"]
        # exact d = 1 mode decides every neuron but those within float rounding of 0
        assert c["init_unknown"].sum() <= 1e-3 * len(dead) * sum(cfg.arch[1:-1])
        assert r["constant_at_init"]["ci_clopper_pearson"][1] >= r["theory_constant_lower_bound"]
        # Brute force on the stored trials: regenerate each initial net and evaluate it densely.
        for i in range(40):
            theta = engine.init_trial_params(cfg, engine.trial_key(exp.seed, i))
            y = np.asarray(nets.realization(theta, xs))
            if dead[i]:
                assert np.ptp(y) == 0.0  # a dead hidden layer makes the net exactly constant
            else:
                assert np.ptp(y) > 0.0 or np.all(c["init_inactive"][i] < cfg.arch[1:-1])
    # Deeper nets of the same width are constant more often (2000 trials: a large gap).
    for width in (2,):
        shallow_p = rows[(width, 1)]["constant_at_init"]
        deep_p = rows[(width, 6)]["constant_at_init"]
        assert deep_p["ci"][0] > shallow_p["ci"][1]
    k_needed = summary["extra"]["K"][0]
    assert k_needed["width"] == 2 and len(k_needed["K_measured"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", experiments.KINDS)
def test_quick_experiment_runs_and_reports(name, tmp_path, capsys):
    """Every shipped config at its quick size: runs, and `report` writes every figure."""
    path = ROOT / "experiments" / f"{name}.toml"
    out = tmp_path / name
    assert cli.main(["run", str(path), "--out", str(out), "--no-report"]) == 0
    summary = _report_json(out, capsys)
    assert summary["complete"] and summary["cells_done"] == summary["cells_total"]
    assert summary["figures"] and all((out / f).is_file() for f in summary["figures"])
    assert summary["warning"] is None
