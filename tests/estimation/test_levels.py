"""Risk levels R_k, classification of trained nets, and the not_global criterion."""

import json

import numpy as np
import pytest

from jaxnn_nonconv import engine, estimation
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.estimation import levels
from jaxnn_nonconv.exact import risk as exact_risk

X2 = problems.Problem("x^2", ((0.0, 2.0),))
SIN = problems.Problem("sin(3x)", ((0.0, 1.0),))
SMALL = levels.LevelSettings(restarts=4, steps=300, polish=2, warm_starts=2, maxiter=200)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("levels")


@pytest.fixture(scope="module")
def x2_levels(cache):
    return levels.load_or_compute(X2, 3, SMALL, cache)


def _embed(theta_k: np.ndarray, k: int, width: int) -> np.ndarray:
    """A [1, k, 1] net as a [1, width, 1] net whose extra neurons are dead on [0, 2]."""
    w1, b1, w2, c = theta_k[:k], theta_k[k : 2 * k], theta_k[2 * k : 3 * k], theta_k[-1:]
    dead = width - k
    return np.concatenate(
        [w1, -np.ones(dead), b1, -np.ones(dead), w2, np.full(dead, 5.0), c]  # -x - 1 < 0
    )


def test_r0_and_affine_match_reference_levels(x2_levels):
    ref = problems.reference_levels(X2)
    assert x2_levels.levels[0] == ref.constant
    assert x2_levels.affine == ref.affine
    # One neuron with its kink at the box's end is affine, so R_1 <= best affine risk.
    assert x2_levels.levels[1] <= ref.affine * (1 + 1e-9)


def test_levels_decrease_and_match_their_nets(x2_levels):
    lv = np.array(x2_levels.levels)
    assert np.all(np.diff(lv) < 0), lv
    for k in range(1, 4):
        theta = np.array(x2_levels.params[k - 1])[None]
        r, _ = exact_risk.risks_of_params(theta, (1, k, 1), X2)
        assert r[0] == pytest.approx(lv[k], rel=1e-12)


def test_cache_serves_smaller_widths_and_is_reused(x2_levels, cache):
    files = list(cache.glob("levels-*.json"))
    assert len(files) == 1
    two = levels.load_or_compute(X2, 2, SMALL, cache)
    assert two.levels == x2_levels.levels[:3]
    assert levels.cached(X2, 5, SMALL, cache) is None  # not enough levels stored
    other = levels.LevelSettings(restarts=5)
    assert levels.cache_key(X2, other) != levels.cache_key(X2, SMALL)
    assert json.loads(files[0].read_text())["levels"] == list(x2_levels.levels)


def test_hand_built_nets_are_classified_at_their_level(x2_levels):
    """Nets of width 3 with k = 0..3 live neurons built from the level nets: level k, and the
    detector certifies k active neurons."""
    width = 3
    rows = [np.concatenate([-np.ones(6), np.zeros(3), [4.0 / 3.0]])]  # all dead, output E f(X)
    rows += [_embed(np.array(x2_levels.params[k - 1]), k, width) for k in range(1, width + 1)]
    theta = np.array(rows)
    risk, _ = exact_risk.risks_of_params(theta, (1, width, 1), X2)
    out = levels.classify_levels(risk, x2_levels.levels)
    assert out["level"].tolist() == [0, 1, 2, 3]
    assert out["reached_global"].tolist() == [False, False, False, True]
    counts = estimation.counts_of_params(theta.astype(np.float32), (1, width, 1), X2.box)
    assert (width - counts["inactive"][:, 0]).tolist() == [0, 1, 2, 3]
    # Between two levels: nothing.
    mid = np.array([(x2_levels.levels[1] + x2_levels.levels[2]) / 2])
    assert levels.classify_levels(mid, x2_levels.levels)["level"].tolist() == [-1]


def test_tolerances_never_overlap():
    lv = np.array([1.0, 0.3, 0.29, 0.01])
    tol = levels.tolerances(lv, 0.49)
    assert np.all(lv[:-1] - tol[:-1] > lv[1:] + tol[1:])


def test_not_global_criterion_in_failure_after_training(x2_levels):
    cfg = engine.TrainConfig(
        arch=(1, 3, 1), problem=X2, optimizer="adam", steps=200, eval_size=256
    ).validate()
    res = engine.run(cfg, 16, chunk_size=16, exact=True)
    assert res["risk_exact"].shape == (16,) and res["risk0_exact"].shape == (16,)
    out = estimation.failure_after_training(cfg, res, levels=x2_levels.levels)
    ng = out["criteria"]["not_global"]
    cls = levels.classify_levels(res["risk_exact"], x2_levels.levels)
    assert ng["count"] == int((~cls["reached_global"] | res["diverged"]).sum())
    # Levels far above / below every risk: nobody / everybody fails.
    high = [10.0, 9.0, 8.0, 7.0]
    low = [1.0, 1e-20, 1e-21, 1e-22]
    none = estimation.failure_after_training(cfg, res, levels=high)["criteria"]["not_global"]
    every = estimation.failure_after_training(cfg, res, levels=low)["criteria"]["not_global"]
    assert none["count"] == int(res["diverged"].sum()) and every["count"] == 16
    with pytest.raises(ValueError, match="levels must be"):
        estimation.failure_after_training(cfg, res, levels=high[:3])
    # The risk-gap criterion now reads the exact risk.
    assert out["best_risk"] == pytest.approx(np.nanmin(res["risk_exact"]), rel=1e-12)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="d = 1"):
        levels.compute_levels(problems.Problem("x^2", ((0, 1), (0, 1))), 2)
    with pytest.raises(ValueError, match="width"):
        levels.compute_levels(X2, 0)


@pytest.mark.slow
@pytest.mark.parametrize("problem", [X2, SIN], ids=["x^2 on [0,2]", "sin(3x) on [0,1]"])
def test_levels_strictly_decrease_up_to_8(problem, tmp_path):
    settings = levels.LevelSettings(restarts=16, steps=1500, polish=3, maxiter=500)
    lv = levels.load_or_compute(problem, 8, settings, tmp_path)
    assert np.all(np.diff(lv.levels) < 0), lv.levels


TINY_EXP = """
[experiment]
kind = "risk_levels"
trials = 12
chunk_size = 12
tolerance = 1e-4
levels = { restarts = 4, steps = 300, polish = 2, warm_starts = 2, maxiter = 200 }  # SMALL: its programs

[train]
target = "x^2"
box = "0:2"
optimizer = "adam"
steps = 100
batch_size = 32
eval_size = 256

[sweep]
width = [2]
"""


def test_experiment_stores_exact_risks_and_reports_not_global(tmp_path, capsys):
    from jaxnn_nonconv import cli, experiments

    path = tmp_path / "tiny.toml"
    path.write_text(TINY_EXP)
    out = tmp_path / "run"
    assert cli.main(["run", str(path), "--out", str(out), "--no-report"]) == 0
    assert len(list((out / experiments.LEVELS_DIR).glob("levels-*.json"))) == 1
    capsys.readouterr()
    assert cli.main(["report", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    row = summary["rows"][0]
    assert row["trials"] == 12 and row["not_global"]["n"] == 12 - row["not_global_unsure"]
    assert sum(row["level_counts"].values()) == 12 - row["diverged"] - row["not_global_unsure"]
    assert row["mechanism_bound"] == pytest.approx(1 - (1 - row["theory_p"]) ** 2)
    assert "figures/risk_levels_exact.png" in summary["figures"]
    assert summary["extra"]["not_global_table"][0]["width"] == 2


def test_bad_levels_table_is_a_config_error(tmp_path):
    from jaxnn_nonconv import experiments
    from jaxnn_nonconv.experiments import config

    path = tmp_path / "bad.toml"
    path.write_text(TINY_EXP.replace("restarts = 4", "restart = 4"))
    with pytest.raises(config.ConfigError, match="levels"):
        experiments.load(path)
