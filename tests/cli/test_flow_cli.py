"""``flow`` and ``levels`` on the command line: the JSON contracts, ``--save`` (the saved nets'
risk against brute-force quadrature), and bad input (one line, exit code 2)."""

import json

import numpy as np
import pytest
from scipy import integrate

from jaxnn_nonconv import cli

pytest.importorskip("diffrax")

FLOW_KEYS = {
    "trials",
    "method",
    "limits",
    "rate",
    "bounded_fraction",
    "invariant_drift_max",
    "risk_final",
    "grad_norm_final",
}


def _quad_risk(theta, h):
    """E (N(X) - X^2)^2 for X ~ U[0, 2] by adaptive quadrature between the kinks."""
    w, b, v, c = theta[:h], theta[h : 2 * h], theta[2 * h : 3 * h], theta[-1]
    kinks = [-bj / wj for wj, bj in zip(w, b) if wj != 0 and 0 < -bj / wj < 2]
    pts = sorted([0.0, *kinks, 2.0])

    def g(x):
        return (c + np.sum(v * np.maximum(w * x + b, 0.0)) - x * x) ** 2

    total = sum(
        integrate.quad(g, u, t, epsabs=1e-15, epsrel=1e-13)[0] for u, t in zip(pts, pts[1:])
    )
    return total / 2.0


def test_flow_json_keys_and_saved_nets(tmp_path, capsys):
    argv = ["flow", "--arch", "1,2,1", "--target", "x^2", "--box", "0:2", "--trials", "3"]
    argv += ["--method", "gd", "--step", "0.01", "--t-max", "2", "--json", "--save", str(tmp_path)]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == FLOW_KEYS
    assert out["trials"] == 3 and out["method"] == "gd"
    assert sum(lim["count"] for lim in out["limits"]) == 3
    assert all(set(lim) == {"name", "risk", "count"} for lim in out["limits"])
    assert 0.0 <= out["bounded_fraction"] <= 1.0
    saved = np.load(tmp_path / "flow.npz")
    assert set(saved.files) == {"params0", "params", "risk_final", "grad_norm_final", "t_final"}
    assert saved["params"].shape == (3, 7) and saved["params0"].shape == (3, 7)
    np.testing.assert_array_equal(saved["t_final"], 2.0)
    want = [_quad_risk(t, 2) for t in saved["params"]]
    np.testing.assert_allclose(saved["risk_final"], want, rtol=1e-10)
    assert out["risk_final"]["min"] == pytest.approx(saved["risk_final"].min(), rel=1e-15)


def test_levels_json_least_squares_closed_form(capsys):
    argv = ["levels", "--max-width", "2", "--no-search", "--lsq-starts", "1", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [lv["width"] for lv in out["levels"]] == [0, 1, 2]
    assert all(set(lv) == {"width", "risk", "method"} for lv in out["levels"])
    assert [lv["method"] for lv in out["levels"]] == ["exact", "least_squares", "least_squares"]
    # x^2 on [0, 2]: R_H = Var f / (2H + 1)^4 (tests/exact/test_lsq.py)
    want = [64 / 45 / (2 * k + 1) ** 4 for k in range(3)]
    np.testing.assert_allclose([lv["risk"] for lv in out["levels"]], want, rtol=1e-9)


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["flow", "--box", "0:1,0:1"], "d = 1"),
        (["flow", "--arch", "2,4,1"], "--arch"),
        (["flow", "--method", "rk4"], "invalid choice"),
        (["flow", "--step", "0"], "--step"),
        (["flow", "--t-max", "nan"], "--t-max"),
        (["flow", "--trials", "0"], "--trials"),
        (["flow", "--target", "x^3"], "unknown target"),
        (["levels", "--max-width", "0"], "--max-width"),
        (["levels", "--target", "x^(1/4)", "--box=-1:1"], "inside"),
    ],
)
def test_bad_input_is_one_line(argv, phrase, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err, err
