"""The data set on the command line: ``train --data`` (JSON contract, ``--save``), the ``[data]``
table of a config file, ``estimate --data``, ``advise --data``, and bad data refused in one line
with exit code 2."""

import numpy as np
import pytest

from jaxnn_nonconv.core import data, nets
from tests import helpers

RNG = np.random.default_rng(11)
X = RNG.uniform(-1, 1, size=(30, 2))
Y = np.abs(X[:, 0]) - X[:, 1] ** 2
TRAIN = ["--arch", "2,4,1", "--steps", "20", "--batch-size", "8", "--trials", "6"]
DATA_CRITERIA = ("inactive_on_data_at_init", "inactive_on_data_at_end", "constant_on_data_at_end")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_data")
    rows = "\n".join(f"{a!r},{b!r},{y!r}" for (a, b), y in zip(X.tolist(), Y.tolist()))
    (d / "d.csv").write_text("u,v,y\n" + rows + "\n")
    (d / "bad.csv").write_text("u,v,y\n1,a,2\n3,4,5\n")
    (d / "one.csv").write_text("u,v,y\n1,2,3\n")
    (d / "nan.csv").write_text("u,v,y\n1,2,3\n4,nan,6\n")
    return d


@pytest.fixture(scope="module")
def trained(folder):
    argv = ["train", *TRAIN, "--data", folder / "d.csv", "--target-column", "y"]
    out = helpers.cli_json([*argv, "--test-fraction", "0.2", "--json", "--save", folder / "s"])
    return out, dict(np.load(folder / "s" / "trials.npz"))


def test_train_json_has_the_data_contract(trained):
    out, _ = trained
    for name in ("risk_gap", "inactive_at_end", "constant_at_end", "inactive_at_init"):
        assert name in out["failure"]
    for name in DATA_CRITERIA:
        entry = out["failure"][name]
        assert {"estimate", "ci", "ci_wilson", "bound"} <= set(entry) and entry["n"] == 6
    for key in ("empirical_risk", "test_risk"):
        assert set(out[key]) == {"min", "q05", "median", "q95", "max"}
    assert out["config"]["data"]["n"] == 24 and out["config"]["data"]["n_test"] == 6
    # inactive on the data is implied by inactive on its bounding box
    for when in ("init", "end"):
        box, on = (
            out["failure"][f"inactive_at_{when}"],
            out["failure"][f"inactive_on_data_at_{when}"],
        )
        assert on["count_bracket"][1] >= box["count_bracket"][0]


def test_saved_trials_give_the_empirical_risks_in_numpy(trained):
    out, saved = trained
    assert {"params0", "params", "empirical_risk", "trial"} <= set(saved)
    ds = data.split(data.from_arrays(X, Y), 0.2)
    for i in saved["trial"]:
        (w1, b1), (w2, b2) = (
            (np.asarray(w, np.float64), np.asarray(b, np.float64))
            for w, b in nets.from_flat(saved["params"][i], (2, 4, 1))
        )
        pred = np.maximum(ds.x @ w1.T + b1, 0) @ w2.T + b2
        assert saved["empirical_risk"][i] == pytest.approx(
            np.mean((pred[:, 0] - ds.y) ** 2), rel=1e-5
        )
    assert out["empirical_risk"]["min"] == pytest.approx(float(saved["empirical_risk"].min()))


def test_a_config_file_data_table_is_the_flags(folder, trained):
    (folder / "c.toml").write_text(
        "[train]\narch = [2, 4, 1]\nsteps = 20\nbatch_size = 8\n[run]\ntrials = 6\n"
        '[data]\npath = "d.csv"\ntarget_column = "y"\ntest_fraction = 0.2\n'
    )
    out = helpers.cli_json(["train", folder / "c.toml", "--json"])
    assert out["failure"] == trained[0]["failure"]


@pytest.mark.slow
def test_estimate_and_advise_on_the_data(folder):
    """Slow (compiles the box detectors of two commands); the fast test of the same numbers is
    tests/estimation/test_on_data.py::test_first_layer_on_the_data_is_the_closed_form_on_min_max."""
    out = helpers.cli_json(
        [
            "estimate",
            "--arch",
            "2,4,1",
            "--data",
            folder / "d.csv",
            "--trials",
            "64",
            "--mode",
            "ibp",
            "--json",
        ]
    )
    assert out["any_inactive"]["n"] == 64 and out["on_data"]["n_points"] == 30
    assert out["config"]["problem"]["box"] == [
        [float(a), float(b)] for a, b in zip(X.min(0), X.max(0))
    ]
    adv = helpers.cli_json(
        [
            "advise",
            "--arch",
            "2,4,1",
            "--data",
            folder / "d.csv",
            "--trials",
            "32",
            "--inits",
            "normal",
            "--mode",
            "ibp",
            "--json",
        ]
    )
    assert adv["n_points"] == 30 and "any_inactive_on_data" in adv["rows"][0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--data", "missing.csv"], "no such data file"),
        (["--data", "bad.csv"], "column 'v' is not numeric"),
        (["--data", "one.csv"], "need at least 2 training rows"),
        (["--data", "nan.csv"], "NaN value in data at row 1, column 'v'"),
        (["--data", "d.csv", "--target-column", "w"], "no target column 'w'"),
        (["--data", "d.csv", "--features", "u,w"], "no feature column 'w'"),
        (["--target-column", "y"], "need --data"),
        (["--data", "d.csv", "--box", "0:1"], "box does not apply to a data set"),
        (["--data", "d.csv", "--test-fraction", "1.5"], "test_fraction must be a number in (0, 1)"),
        (["--data", "d.csv", "--features", "u"], "input dimension is 2"),
    ],
)
def test_bad_data_exit_2_in_one_line(folder, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(folder)
    line = helpers.usage_error(["train", *TRAIN, *args], capsys)
    assert needle in line
