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
    # Per-run references (both the cell's groups and b2 alone), stored, then read by the report.
    from jaxnn_nonconv.experiments import _bias

    paths = _bias.compute_bias_references(out, starts=1, maxiter=30)
    paths += _bias.compute_bias_references(out, starts=1, maxiter=30, trainable=("b2",))
    assert [p.name for p in paths] == ["bias-cell-000-b1_b2.json", "bias-cell-000-b2.json"]
    both, b2 = (_bias.load_bias_reference(out, 0, g) for g in (("b1", "b2"), ("b2",)))
    det = store.ResultStore(out, store.read_manifest(out)).load("cell-000-inactive")
    np.testing.assert_allclose(both.end, det["risk_exact"], rtol=1e-12)
    assert np.all(both.best <= both.end) and np.all(both.best <= both.local)
    np.testing.assert_array_equal(b2.end, both.end)  # the same end points
    assert np.all(b2.best <= b2.end) and b2.trainable == ("b2",)
    summary = report.report(out, formats=("png",))
    assert summary["complete"]
    refs = summary["extra"]["cells"][0]["bias_reference"]
    assert sorted(refs) == ["b1_b2", "b2"]
    assert all(sum(r[k]["count"] for k in _six.BIAS_CLASSES) == 3 for r in refs.values())
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


def test_bounded_classes_against_the_definition():
    """:func:`_six.classify_bounded` against a loop over runs and levels: above ``1.1 R_K``
    only, a bad critical value is some ``R_k`` (deep: ``R_0``) within ``tol_k``."""
    rng = np.random.default_rng(2)
    levels = [1.0, 0.4, 0.1, 0.05]
    tol = [0.06, 0.03, 0.005, 0.005]  # tolerances(levels): 0.1 min(gap, level)
    risk = np.concatenate([rng.uniform(0.0, 1.2, 400), [0.4, 1.0, 0.055, 0.0551, 0.1049]])
    diverged = np.zeros(risk.size, bool)
    diverged[:20] = True
    for deep in (False, True):
        masks = _six.classify_bounded(risk, diverged, levels, deep)
        total = sum(masks[k].astype(int) for k in _six.CLASSES)
        assert np.all(total == 1) and not masks["at_R_H"].any() and not masks["good_band"].any()
        for m, r in enumerate(risk):
            if diverged[m]:
                assert masks["between"][m]
                continue
            if r <= 1.1 * levels[-1]:  # (1 + LEVEL_TOL) R_K
                assert masks["unclassified"][m], r
                continue
            ks = [0] if deep else range(len(levels))
            bad = any(abs(r - levels[k]) <= tol[k] + 1e-15 for k in ks)
            assert masks["bad_critical"][m] == bad and masks["between"][m] == (not bad), r


def test_deep_and_wider_nets_realize_narrower_ones():
    """The two facts behind the bounds: a ``[1, k, 1]`` net is a ``[1, k+1, 1]`` net with a dead
    neuron, and a ``[1, l_1, l_2, 1]`` net with ``l_1 > k`` (one first-layer neuron dead) realizes
    it on the box (second layer: one neuron holding the shallow output plus a constant that keeps
    it positive); exact risks agree to float64 rounding."""
    from jaxnn_nonconv.core import problems
    from jaxnn_nonconv.exact import risk as exact_risk

    problem = problems.Problem("x^2+2x", ((0.0, 1.0),)).validate()
    rng = np.random.default_rng(5)
    k = 3
    w1, b1, v = (rng.normal(size=k) for _ in range(3))
    c = rng.normal()
    shallow = np.concatenate([w1, b1, v, [c]])
    wider = np.concatenate([w1, [1.0], b1, [-2.0], v, [rng.normal()], [c]])  # dead: x - 2 < 0
    l1, l2 = k + 2, 3
    shift = np.abs(v).sum() * (np.abs(w1).max() + np.abs(b1).max()) + abs(c) + 1.0
    W1 = np.concatenate([w1, [1.0, 0.5]]).reshape(l1, 1)
    B1 = np.concatenate([b1, [-2.0, -0.7]])  # neuron k dead on [0, 1], neuron k+1 moving
    W2 = np.zeros((l2, l1))
    W2[0, :k] = v  # the other second-layer neurons: weight 0, bias -1 (dead)
    B2 = np.array([c + shift, -1.0, -1.0])
    W3, B3 = np.array([[1.0, 7.0, -3.0]]), np.array([-shift])
    deep = np.concatenate([W1.ravel(), B1, W2.ravel(), B2, W3.ravel(), B3])
    r = [
        exact_risk.risks_of_params(t[None], a, problem)[0][0]
        for t, a in ((shallow, (1, k, 1)), (wider, (1, k + 1, 1)), (deep, (1, l1, l2, 1)))
    ]
    np.testing.assert_allclose(r, r[0], rtol=1e-12)


def test_bound_levels_reads_the_narrower_cache(tmp_path):
    """``bound_levels``: a deep cell and a shallow cell wider than ``max_width`` get the cached
    levels of the problem, truncated to ``min(max_width, l_1 - 1)``; fully trained narrow cells,
    masked cells and cells of another problem get none."""
    from jaxnn_nonconv.estimation import levels as risk_levels
    from jaxnn_nonconv.experiments.report import _levels as report_levels

    exp = experiments.load(PATH)
    settings, max_width = experiments._spec.level_settings(exp)
    by = {c["setting"]["label"]: exp.cell_config(c) for c in exp.cells()}
    problem = by["6: [1,50,50,1] SGD"].problem
    fake = risk_levels.RiskLevels(
        problem={},
        settings={},
        levels=tuple(1.0 / (k + 1) ** 4 for k in range(max_width + 1)),
        spread=(0.0,) * (max_width + 1),
        best=((0.0,),) * (max_width + 1),
        affine=0.5,
        params=((0.0,),) * max_width,
        wall_s=(0.0,) * (max_width + 1),
    )
    path = (
        tmp_path
        / experiments.LEVELS_DIR
        / f"levels-{risk_levels.cache_key(problem, settings)}.json"
    )
    path.parent.mkdir()
    path.write_text(json.dumps(fake.to_dict()))
    for label, width in (("6: [1,50,50,1] Adam", max_width), ("5: Xavier-like H=20", max_width)):
        got = report_levels.bound_levels(exp, by[label], tmp_path)
        assert got is not None and got.width == width and got.levels == fake.levels[: width + 1]
    for label in ("4: He H=8", "5: Xavier-like H=5", "1: relu b1 H=100", "3: N(0,1) sin(3x) H=8"):
        assert report_levels.bound_levels(exp, by[label], tmp_path) is None
    narrow = dataclasses.replace(by["6: [1,50,50,1] SGD"], arch=(1, 4, 50, 1))
    assert report_levels.bound_levels(exp, narrow, tmp_path).width == 3  # l_1 - 1
