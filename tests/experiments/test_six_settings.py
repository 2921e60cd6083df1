"""``experiments/six_settings.toml`` (arXiv 2212.13111): the shipped config at both sizes, and a
tiny smoke run through ``run`` and ``report`` (the quick size itself is left to the slow
``test_quick_experiment_runs_and_reports``)."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from jaxnn_nonconv import experiments
from jaxnn_nonconv.experiments import report, store
from jaxnn_nonconv.experiments.report import _six

PATH = Path(__file__).resolve().parents[2] / "experiments" / "six_settings.toml"


def test_six_settings_config_quick_and_full():
    quick, full = experiments.load(PATH), experiments.load(PATH, full=True)
    for exp in (quick, full):
        labels = [c["setting"]["label"] for c in exp.cells()]
        assert sorted({lab.split(":")[0] for lab in labels}) == ["1", "2", "3", "4", "5", "6"]
    cfgs = [full.cell_config(c) for c in full.cells()]
    assert full.trials == 300 and all(c.steps == 10_000 and c.batch_size == 1024 for c in cfgs)
    # parameter snapshots for the distance figures at both sizes (300 x 20 x 3001 floats at most)
    assert all(quick.cell_config(c).n_snapshots == 20 for c in quick.cells())
    assert all(c.n_snapshots == 20 for c in cfgs)
    by = {c["setting"]["label"]: full.cell_config(c) for c in full.cells()}
    assert by["1: relu b1 H=100"].trainable == ("b1",)
    assert by["2: clip b H=1000"].activation == "clip" and by["2: clip b H=1000"].arch[1] == 1000
    assert by["3: N(0,1) sin(3x) H=32"].schedule == "power"
    # settings 1, 2 and 5: the paper's initializations, halving schedules and widths, both sizes
    for exp in (quick, full):
        cfg_of = {c["setting"]["label"]: exp.cell_config(c) for c in exp.cells()}
        for h in (5, 20, 100):
            one = cfg_of[f"1: relu b1 H={h}"]
            assert one.init == "width_power: W = H^(-4/15) |N|, b = H^(-9/10) N"
            assert one.learning_rate == 0.1 and one.schedule == "step"
            assert dict(one.schedule_kw) == {"factor": 0.5, "every": 500, "offset": 1}
        for h in (10, 100, 1000):
            two = cfg_of[f"2: clip b H={h}"]
            assert two.init == (
                "width_power: W1 = H^(3) |N|, b1 = H^(3) N, W2 = H^(-7/8) |N|, b2 = H^(0) N"
            )
            assert two.learning_rate == 0.01 and two.trainable == ("b1", "b2")
            assert dict(two.schedule_kw) == {"factor": 0.5, "every": 150, "offset": 1}
        for h in (5, 20, 150):
            five = cfg_of[f"5: Xavier-like H={h}"]
            assert five.init == "width_power: W = H^(-1/7) |N|, b = H^(-1/2) N"
            assert not five.zero_bias and five.schedule == "constant" and five.trainable is None


def test_six_settings_tiny_run_reports(tmp_path):
    exp = experiments.load(PATH)
    tiny = tuple(
        {**s, "steps": 6, "batch_size": 8, "eval_size": 64, "n_record": 4, "n_snapshots": 4}
        for s in dict(exp.sweep)["setting"]
        if s["label"] == "2: clip b H=10"  # masks, clip and exact risk at once
    )
    exp = dataclasses.replace(exp, sweep=(("setting", tiny),), trials=3, chunk_size=4, levels=None)
    out = experiments.run_experiment(exp, tmp_path / "six", progress=False)
    summary = report.report(out, formats=("png",))
    assert summary["complete"]
    assert summary["figures"] == [
        "figures/six_settings_2.png",
        "figures/six_settings_2_distance.png",
    ]
    cells = summary["extra"]["cells"]
    assert [c["label"] for c in cells] == ["2: clip b H=10"]
    assert all(c["risk_exact"] and c["trials"] == 3 for c in cells)
    json.loads((out / "summary.json").read_text())
    # The curve of the report against a brute-force loop over the stored snapshots.
    stored = store.ResultStore(out, store.read_manifest(out)).load("cell-000")
    traj, final = stored["param_traj"], stored["params"]  # float32, as trained
    assert traj.shape[:2] == (3, 4)
    np.testing.assert_array_equal(traj[:, -1], final)  # the last snapshot is theta_N, exactly
    steps = [1, 2, 3, 6]  # snapshot_steps(6, 4): round(geomspace(1, 6, 4))
    want = [
        math.sqrt(
            sum(
                sum((float(a) - float(b)) ** 2 for a, b in zip(traj[m, k], final[m]))
                for m in range(3)
            )
            / 3
        )
        for k in range(4)
    ]
    curve = cells[0]["rms_distance_to_last"]
    assert curve["steps"] == steps
    np.testing.assert_allclose(curve["rms"], want, rtol=1e-12)
    assert curve["rms"][-1] == 0.0 and curve["rms"][0] > 0


def test_rms_distance_to_last_against_a_loop():
    """:func:`_six.rms_distance_to_last` against one run and one snapshot at a time, diverged runs
    left out; all runs diverged gives NaN."""
    rng = np.random.default_rng(1)
    traj = rng.normal(size=(7, 5, 4))
    diverged = np.array([0, 1, 0, 0, 1, 0, 0], bool)
    kept = [m for m in range(7) if not diverged[m]]
    want = []
    for k in range(5):
        sq = [sum((traj[m, k, j] - traj[m, 4, j]) ** 2 for j in range(4)) for m in kept]
        want.append(math.sqrt(sum(sq) / len(kept)))
    np.testing.assert_allclose(_six.rms_distance_to_last(traj, diverged), want, rtol=1e-12)
    assert np.isnan(_six.rms_distance_to_last(traj, np.ones(7, bool))).all()


def test_classes_cover_every_run_once():
    rng = np.random.default_rng(0)
    levels = [1.0, 0.4, 0.1, 0.05]
    risk = rng.uniform(0.0, 1.2, 500)
    diverged = rng.uniform(size=500) < 0.05
    masks = _six.classify_runs(risk, diverged, levels)
    total = sum(masks[k].astype(int) for k in _six.CLASSES)
    assert np.all(total == 1)
    assert not np.any(masks["at_R_H"] & diverged)
