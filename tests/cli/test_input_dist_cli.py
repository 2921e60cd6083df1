"""``--input-dist`` on ``train`` and ``levels`` and ``input_dist`` in a config's ``[train]`` table:
the law reaches the problem (closed-form levels of a tent density), the exact risk under a
piecewise-polynomial density is reported (``risk_source: exact``) and agrees with scipy's
quadrature of a saved net, a normal law keeps Monte Carlo, and bad specs exit 2 in one line."""

import numpy as np
import pytest
from scipy import integrate

from jaxnn_nonconv.core import distributions, nets
from jaxnn_nonconv.experiments import config
from tests import helpers

TENT = "piecewise:0,1,2:0,1;2,-1"  # p(x) = x on [0, 1], 2 - x on [1, 2]
# X ~ tent on [0, 2], f = x^2: E X = 1, E X^2 = 7/6, E X^3 = 3/2, E X^4 = 31/15, so
# Var X = 1/6 and Cov(X, X^2) = 3/2 - 7/6 = 1/3
TENT_VAR_F = 31 / 15 - (7 / 6) ** 2
TENT_AFFINE = TENT_VAR_F - (1 / 3) ** 2 / (1 / 6)
TRAIN = ["train", "--arch", "1,3,1", "--trials", "4", "--steps", "5", "--batch-size", "8"]
TRAIN += ["--eval-size", "64"]


@pytest.fixture(scope="module")
def tent_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("input_dist")
    out = helpers.cli_json([*TRAIN, "--input-dist", TENT, "--json", "--save", d])
    return out, dict(np.load(d / "trials.npz"))


def test_train_with_a_piecewise_density_reports_exact_risks_and_its_levels(tent_run):
    out, _ = tent_run
    assert out["risk_source"] == "exact"
    assert out["levels"]["constant"] == pytest.approx(TENT_VAR_F, rel=1e-10)
    assert out["levels"]["affine"] == pytest.approx(TENT_AFFINE, rel=1e-9)
    law = out["config"]["problem"]["distribution"]
    assert law["law"] == "PiecewisePolynomial" and law["edges"] == [0.0, 1.0, 2.0]


def test_the_reported_exact_risk_is_the_density_weighted_integral(tent_run):
    out, saved = tent_run
    pdf = lambda t: t if t < 1 else 2 - t  # noqa: E731
    risks = []
    for theta in saved["params"].astype(np.float64):
        (w, b), (v, c) = nets.from_flat(theta, (1, 3, 1))
        w, b, v, c = (np.asarray(a) for a in (w[:, 0], b, v[0], c[0]))
        kinks = [k for k in -b / np.where(w == 0, np.inf, w) if 0 < k < 2]

        def err2(t, w=w, b=b, v=v, c=c):
            return (v @ np.maximum(w * t + b, 0) + c - t * t) ** 2

        risks.append(
            integrate.quad(lambda t: err2(t) * pdf(t), 0, 2, points=[1.0, *kinks], epsrel=1e-12)[0]
        )
    assert out["risk_exact"]["min"] == pytest.approx(min(risks), rel=1e-9)
    assert out["risk_exact"]["max"] == pytest.approx(max(risks), rel=1e-9)


@pytest.mark.slow
def test_train_with_a_normal_law_keeps_monte_carlo():
    """Slow (a training run, about 10 s); the fast tests/exact/test_density_risk.py::
    test_normal_law_has_no_exact_rule covers why the risk stays Monte Carlo."""
    out = helpers.cli_json([*TRAIN, "--box=-1:1", "--input-dist", "normal:0,0.5", "--json"])
    # the Monte Carlo risk samples the law; the exact rules integrate against polynomials only
    assert out["risk_source"] == "monte_carlo" and "risk_exact" not in out
    assert out["config"]["problem"]["distribution"] == {
        "law": "Normal",
        "mean": [0.0],
        "std": [0.5],
    }
    # X ~ N(0, 1/4), f = x^2: Var X^2 = 2 s^4 = 1/8 (the box does not cut the law)
    assert out["levels"]["constant"] == pytest.approx(0.125, rel=1e-9)


def test_input_dist_in_a_config_file(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(f'[train]\narch = [1, 3, 1]\ninput_dist = "{TENT}"\n')
    cfg, _ = config.load_train(path)
    law = cfg.problem.distribution
    assert isinstance(law, distributions.PiecewisePolynomial)
    assert law.edges == (0.0, 1.0, 2.0) and law.coeffs == ((0.0, 1.0), (2.0, -1.0))
    # the flag overrides the file's (valid) value, and its error does not point into the file
    line = helpers.usage_error(["train", path, "--input-dist", "normal:0"], capsys)
    assert "MEAN,STD pairs" in line and "c.toml" not in line


def test_a_bad_input_dist_in_a_config_file_names_its_line(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text('[train]\narch = [1, 3, 1]\ninput_dist = "piecewise:0,1:1"\n')
    line = helpers.usage_error(["train", path, "--trials", "4"], capsys)
    assert "c.toml:3:" in line and "support [0, 1] is not the box [0, 2]" in line


@pytest.mark.parametrize(
    "spec,words",
    [
        ("piecewise:0,1:1", "support [0, 1] is not the box [0, 2]"),
        ("piecewise:0,1,2:1", "need 2 finite coefficient tuples"),
        ("piecewise:0,1,2:1;-3", "negative"),
        ("piecewise:0,2", "expected piecewise:"),
        ("piecewise:0,1,2:1;x", "numbers"),
        ("piecewise:2,1,0:1;1", "edges must increase"),
        ("normal:0,1;0,1", "2 means and 2 stds for 1 coordinate"),
        ("normal:0,-1", "stds must be"),
        ("normal:0,inf", "finite"),
        ("normal:0", "MEAN,STD pairs"),
        ("gauss:0,1", "unknown law 'gauss'"),
        ("uniform:3", "takes no parameters"),
    ],
)
def test_bad_specs_exit_2_in_one_line(spec, words, capsys):
    line = helpers.usage_error([*TRAIN, "--input-dist", spec], capsys)
    assert words in line and "input_dist" in line


def test_piecewise_needs_d_1_and_a_data_set_has_its_own_law(tmp_path, capsys):
    line = helpers.usage_error(
        ["train", "--arch", "2,3,1", "--box", "0:2,0:2", "--input-dist", TENT], capsys
    )
    assert "needs d = 1" in line
    (tmp_path / "d.csv").write_text("u,y\n0.1,1\n0.5,2\n0.9,3\n")
    line = helpers.usage_error([*TRAIN, "--data", tmp_path / "d.csv", "--input-dist", TENT], capsys)
    assert "input_dist does not apply to a data set" in line


def test_levels_under_a_density():
    argv = ["levels", "--max-width", "1", "--no-search", "--lsq-starts", "1", "--json"]
    tent = helpers.cli_json([*argv, "--input-dist", TENT])
    uniform = helpers.cli_json(argv)
    assert tent["levels"][0]["risk"] == pytest.approx(TENT_VAR_F, rel=1e-10)
    assert uniform["levels"][0]["risk"] == pytest.approx(64 / 45, rel=1e-10)  # Var X^2, U[0, 2]
    assert tent["levels"][1]["risk"] < TENT_AFFINE  # one kink beats the best affine fit


def test_levels_refuse_a_normal_law(capsys):
    line = helpers.usage_error(["levels", "--input-dist", "normal:0,1"], capsys)
    assert "normal law" in line
