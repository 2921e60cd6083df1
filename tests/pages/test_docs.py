"""The ``python`` blocks of docs/tutorial.md run, in order and in one namespace, print what the
page shows (tests/pages/pagerun.py), and their results agree with the theory (docs/theory.md
sec. 3, 4) and the reproducibility claims of the page."""

import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import python_blocks, within
from tests.pages import pagerun

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "docs" / "tutorial.md"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Execute every block in a scratch directory that sees the repository's experiments/."""
    return pagerun.run_page(TUTORIAL, tmp_path_factory.mktemp("tutorial"))


@pytest.fixture(scope="module")
def ns(run):
    return run.namespace


def test_there_are_blocks():
    assert len(python_blocks(TUTORIAL)) >= 8


def test_shown_outputs_are_the_run_s(run):
    """Every output the page shows is what its block prints now (numbers within the page's
    tolerance); `make docs-outputs` rewrites them."""
    assert sum(b.output is not None for b in run.blocks) >= 10
    assert pagerun.differences(run) == []


def test_estimate_at_init_matches_closed_form(ns):
    p = ns["s"]["first_layer_neuron_inactive"]
    assert p["theory"] == 0.3125
    assert within(p["theory"], p["ci"]), p
    # Also within 4 standard errors (a check that does not rest on one 95% interval).
    n = p["n"]
    assert abs(p["estimate"] - 0.3125) < 4 * math.sqrt(0.3125 * 0.6875 / n)
    assert ns["s"]["unknown_fraction"] < 1e-4  # only ties within float rounding of 0
    assert ns["s"]["any_inactive"]["estimate"] >= ns["s"]["any_inactive"]["bound"] - 0.01


def test_counts_and_summarize_in_two_dimensions(ns):
    s2 = ns["s2"]
    p = ns["theory"].p_uniform_unit_cube(2)
    assert s2["first_layer_neuron_inactive"]["theory"] == p
    assert within(p, s2["first_layer_neuron_inactive"]["ci"])
    exact = 1 - (1 - p) ** 8  # shallow: the bound is the exact probability
    assert math.isclose(s2["any_inactive"]["bound"], exact)
    assert within(exact, s2["any_inactive"]["ci"])


def test_failure_after_training(ns):
    res, out = ns["res"], ns["out"]
    assert res["params"].shape == (1000, 13)
    crit = out["criteria"]
    assert sorted(crit) == ["constant_at_end", "inactive_at_end", "inactive_at_init", "risk_gap"]
    bound = out["theory"]["any_inactive_lower_bound"]
    assert math.isclose(bound, 1 - (1 - 0.3125) ** 4)
    assert within(bound, crit["inactive_at_init"]["ci"])
    # First-layer inactivity is permanent: every net inactive at init is inactive at the end.
    assert crit["inactive_at_end"]["count"] >= crit["inactive_at_init"]["count"]
    for e in crit.values():
        assert 0 <= e["estimate"] <= 1 and within(e["estimate"], e["ci"])


def test_single_fit(ns):
    losses, levels = ns["losses"], ns["problems"].reference_levels(ns["problem"])
    assert math.isclose(levels.constant, 34 / 45, rel_tol=1e-9)
    assert float(losses[-100:].mean()) < float(losses[:100].mean())
    assert float(losses[-100:].mean()) < levels.constant
    dead0, dead = np.asarray(ns["dead0"]), np.asarray(ns["dead"])
    assert np.all(dead[dead0])  # inactive stays inactive
    w0, w = np.asarray(ns["params"][0][0]), np.asarray(ns["final"][0][0])
    np.testing.assert_array_equal(w[dead0], w0[dead0])
    assert ns["theta"].shape == (ns["nets"].num_params((1, 16, 1)),)


def test_experiment_from_python(ns):
    summary, path = ns["summary"], ns["_work"] / ns["path"]
    assert (path / "summary.json").is_file()
    assert all((path / f).is_file() for f in summary["figures"])
    rows = summary["rows"]
    assert [r["width"] for r in rows] == [1, 4]
    for r in rows:
        assert r["theory_p"] == 0.3125 and r["trials"] == 64
        assert within(1 - (1 - 0.3125) ** r["width"], r["inactive_at_init"]["ci"])


def test_reproducibility(ns):
    a, b, c = ns["a"], ns["b"], ns["c"]
    for key in ("params", "params0", "risk", "loss_traj"):
        np.testing.assert_array_equal(a[key], b[key][:6])
    np.testing.assert_array_equal(a["params0"], c["params0"])
    np.testing.assert_allclose(a["params"], c["params"], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ns["theta3"], a["params0"][3])


def test_float64(ns):
    r64 = ns["r64"]
    assert r64["params"].dtype == np.float64
    assert np.all(np.isfinite(r64["risk"]))


def test_precision_target(ns):
    sp = ns["sp"]
    assert sp.trials % 5000 == 0 and sp.meta["precision"]["stopped"] == "target met"
    assert sp.first_layer_neuron_inactive.rel_error() <= 0.006
    # the first chunk count that meets it: one chunk fewer does not
    est, problems, engine = ns["estimation"], ns["problems"], ns["engine"]
    cfg = engine.TrainConfig(
        arch=(1, 16, 16, 1), problem=problems.Problem("x^2", ((0.0, 2.0),))
    ).validate()
    fewer = est.counts_at_init(cfg, sp.trials - 5000, chunk_size=5000)
    assert est.summarize(cfg, fewer).first_layer_neuron_inactive.rel_error() > 0.006


def test_train_failure_equals_failure_after_training(ns):
    assert ns["same"].to_dict() == ns["out"].to_dict()
