"""``train`` answers "how likely did training fail?": the ``failure`` JSON against an independent
recount from the trained parameters, precision targets stopping at the first chunk count that meets
them, and small runs costing like small runs.

Independent references: the first-layer inactivity of a shallow net recounted in NumPy from the
flat parameters of :func:`engine.run` (corner formula ``c + max(a w, b w) <= 0``, docs/theory.md
sec. 3), the risk-gap failures recounted from the risks, and prefix recomputation of the estimates
for the precision targets.
"""

import shlex
import time
import tracemalloc

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, estimation
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.stats import Precision, results
from tests import helpers

ARGV = shlex.split(
    "train --arch 1,6,1 --box 0:2 --target x^2 --init pytorch --optimizer sgd "
    "--lr 0.05 --steps 40 --batch-size 16 --eval-size 128 --trials 37 --chunk-size 16 --seed 3 "
    "--tol 0.01"
)
CFG = engine.TrainConfig(
    arch=(1, 6, 1),
    problem=problems.Problem("x^2", ((0.0, 2.0),)),
    learning_rate=0.05,
    steps=40,
    batch_size=16,
    eval_size=128,
).validate()
TRIALS, SEED, CHUNK, TOL = 37, 3, 16, 0.01


def first_layer_inactive(theta: np.ndarray, width: int, a: float, b: float) -> np.ndarray:
    """``(M, width)`` bool, recounted in NumPy: ``c + max(a w, b w) <= 0`` (d = 1)."""
    w, c = theta[:, :width].astype(np.float64), theta[:, width : 2 * width].astype(np.float64)
    return c + np.maximum(a * w, b * w) <= 0


@pytest.fixture(scope="module")
def direct():
    return engine.run(CFG, TRIALS, seed=SEED, chunk_size=CHUNK)


@pytest.fixture(scope="module")
def cli_json():
    return helpers.cli_json([*ARGV, "--json"])


def test_failure_json_against_recount(cli_json, direct):
    s = cli_json
    assert set(s["failure"]) == {
        "risk_gap",
        "inactive_at_end",
        "constant_at_end",
        "inactive_at_init",
    }
    for entry in s["failure"].values():
        assert {"estimate", "ci", "ci_wilson", "bracket", "count", "n"} <= set(entry)
        assert entry["n"] == TRIALS
        assert entry["ci"][0] <= entry["bracket"][0] <= entry["bracket"][1] <= entry["ci"][1]
    diverged = direct["diverged"]
    end = first_layer_inactive(np.nan_to_num(direct["params"]), 6, 0.0, 2.0)
    init = first_layer_inactive(direct["params0"], 6, 0.0, 2.0)
    # Shallow d = 1: the detector is exact, so every count is a plain number.
    assert s["failure"]["inactive_at_init"]["count"] == int(init.any(1).sum())
    assert s["failure"]["inactive_at_end"]["count"] == int((end.any(1) | diverged).sum())
    assert s["failure"]["constant_at_end"]["count"] == int((end.all(1) | diverged).sum())
    # d = 1 and x^2: the criteria use the exact risk (Gauss-Legendre on the linear pieces).
    assert s["risk_source"] == "exact"
    exact = exact_risk.add_exact(CFG.validate(), direct)["risk_exact"]
    risk = np.where(np.isfinite(exact), exact, direct["risk"].astype(np.float64))
    best = risk[~diverged].min()
    gap = diverged | ~(risk <= best + TOL)
    assert s["failure"]["risk_gap"]["count"] == int(gap.sum())
    assert s["failure"]["risk_gap"]["tol"] == TOL and s["best_risk"] == pytest.approx(best)
    # Permanence (docs/theory.md sec. 3): inactive at init => inactive at the end.
    assert np.all(end[init])
    # the theory bound next to it: 1 - (1 - p)^6 with p = 0.3125 on [0, 2]
    bound = s["failure"]["inactive_at_init"]["bound"]
    assert bound == pytest.approx(1 - (1 - 0.3125) ** 6)
    assert s["failure"]["risk_gap"]["bound"] is None
    # the risk quantiles of today are still there
    assert s["risk_exact"]["median"] == pytest.approx(float(np.quantile(risk[~diverged], 0.5)))
    mc = direct["risk"].astype(np.float64)[~diverged]
    assert s["risk"]["median"] == pytest.approx(float(np.quantile(mc, 0.5)))
    assert (s["trials"], s["seed"], s["chunk_size"]) == (TRIALS, SEED, CHUNK)


def test_failure_after_training_is_typed(direct):
    fe = estimation.failure_after_training(CFG, direct, tol=TOL)
    assert isinstance(fe, estimation.FailureEstimate)
    crit = fe.criteria["inactive_at_init"]
    assert isinstance(crit, results.ProbabilityEstimate)
    assert crit.to_dict() == fe.to_dict()["criteria"]["inactive_at_init"]
    assert crit["ci"] == list(crit.ci)  # the mapping view reads the JSON layout


def test_train_table_shows_failure(capsys, monkeypatch):
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    assert cli.main(ARGV) == 0
    out = capsys.readouterr().out
    assert "How likely did training fail?" in out
    # the label wraps inside its 80-column cell: "P(no inactive neuron at" / "init)"
    assert "P(no inactive neuron at" in out and "│ init)" in out
    assert "final risk median" in out
    assert " 1  (" not in out  # never a bare 1 with an interval


def _first_meeting(prefix_estimate, n_max, chunk, precision):
    for k in range(1, -(-n_max // chunk) + 1):
        if precision.met(prefix_estimate(min(k * chunk, n_max))):
            return k
    return None


def test_estimate_precision_target_stops_at_first_chunk_count():
    cfg = engine.TrainConfig(arch=(1, 4, 1)).validate()
    precision = Precision("any_inactive", ci_width=0.06, max_trials=4096)
    got = estimation.estimate_at_init(cfg, 1, chunk_size=256, precision=precision, progress=False)
    counts = estimation.counts_at_init(cfg, 4096, chunk_size=256)

    def prefix(n):
        sub = {k: v[:n] for k, v in counts.items()}
        return estimation.summarize(cfg, sub).probabilities["any_inactive"]

    k = _first_meeting(prefix, 4096, 256, precision)
    assert k is not None and k > 1  # the target needs several chunks
    assert got.trials == 256 * k
    assert got.meta["precision"]["stopped"] == "target met"
    assert got.any_inactive == prefix(256 * k)


def test_train_precision_target_stops_at_first_chunk_count(direct):
    precision = Precision("inactive_at_init", ci_width=0.3, max_trials=TRIALS)
    got = estimation.train_failure(CFG, 0, seed=SEED, chunk_size=CHUNK, precision=precision)
    init = first_layer_inactive(direct["params0"], 6, 0.0, 2.0).any(1)

    def prefix(n):
        return results.proportion(int(init[:n].sum()), n)

    k = _first_meeting(prefix, TRIALS, CHUNK, precision)
    assert k is not None and k > 1
    assert got.meta["trials"] == min(CHUNK * k, TRIALS)
    assert got.failure.criteria["inactive_at_init"].count == int(init[: CHUNK * k].sum())


def test_precision_cap_is_respected():
    cfg = engine.TrainConfig(arch=(1, 4, 1)).validate()
    precision = Precision("any_inactive", rel_error=1e-6, max_trials=300)
    got = estimation.estimate_at_init(cfg, 1, chunk_size=256, precision=precision, progress=False)
    assert got.trials == 300 and got.meta["precision"]["stopped"] == "max_trials reached"


def test_small_estimate_costs_like_a_small_run():
    """``estimate --trials 10``: a 256-trial chunk (not 16384), well under a second once compiled,
    and memory that does not grow with the number of chunks (each is reduced as it arrives)."""
    cfg = engine.TrainConfig(arch=(1, 32, 1)).validate()
    first = estimation.estimate_at_init(cfg, 10)
    assert first.meta["chunk_size"] == 256 == estimation.default_chunk(10)
    t0 = time.process_time()
    again = estimation.estimate_at_init(cfg, 10)
    assert time.process_time() - t0 < 0.5
    assert again.to_dict()["any_inactive"] == first.to_dict()["any_inactive"]

    def peak(n):
        tracemalloc.start()
        estimation.estimate_at_init(cfg, n, chunk_size=256)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(512), peak(4096)
    assert large < 1.5 * small + 200_000, (small, large)


@pytest.mark.slow
def test_estimate_result_does_not_depend_on_ladder_rung():
    """Trial i's counts are the same under two rungs of the chunk ladder."""
    cfg = engine.TrainConfig(arch=(1, 4, 4, 1)).validate()
    a = estimation.counts_at_init(cfg, 300, chunk_size=256)
    b = estimation.counts_at_init(cfg, 300, chunk_size=512)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
