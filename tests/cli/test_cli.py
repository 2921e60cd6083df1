"""The ``train`` subcommand end to end: its JSON summary against :func:`engine.run` called directly.

The CLI is run in-process (``cli.main``) on a small setting; the reference is built here from
:class:`engine.TrainConfig` and :func:`problems.reference_levels`, without going through
:mod:`jaxnn_nonconv.experiments.config`, so a flag that reached the wrong field, a seed or chunk size that was
not passed on, or a summary computed over the wrong trials all show as a mismatch. Both sides run
the same compiled program (same config, seed and device count), so the risks are bit-identical and
the quantiles are compared exactly.
"""

import json
import shlex

import jax
import numpy as np
import pytest

from jaxnn_nonconv import cli, engine
from jaxnn_nonconv.core import problems

ARGV = shlex.split(
    "train --arch 1,6,1 --box 0:1 --target x^2+2x --init he_uniform --optimizer momentum "
    "--lr 0.02 --steps 40 --batch-size 16 --eval-size 128 --trials 37 --chunk-size 16 --seed 5"
)
CFG = engine.TrainConfig(
    arch=(1, 6, 1),
    init="he_uniform",
    problem=problems.Problem("x^2+2x", ((0.0, 1.0),)),
    optimizer="momentum",
    learning_rate=0.02,
    steps=40,
    batch_size=16,
    eval_size=128,
)
TRIALS, SEED, CHUNK = 37, 5, 16
QUANTILES = {"min": 0.0, "q05": 0.05, "median": 0.5, "q95": 0.95, "max": 1.0}


@pytest.fixture(scope="module")
def direct():
    return engine.run(CFG, TRIALS, seed=SEED, chunk_size=CHUNK)


def _cli_json(argv, capsys, monkeypatch) -> dict:
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")  # no persistent-cache side effect
    assert cli.main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


def test_train_json_equals_train_run(direct, capsys, monkeypatch):
    s = _cli_json(ARGV, capsys, monkeypatch)
    assert s["config"] == CFG.validate().to_dict()
    assert (s["trials"], s["seed"], s["chunk_size"]) == (TRIALS, SEED, CHUNK)
    assert s["wall_s"] > 0
    ok = ~direct["diverged"]
    assert s["diverged"] == int(direct["diverged"].sum()) == 0
    risk = direct["risk"][ok]
    assert len(risk) == TRIALS
    # Quantiles interpolated in float64 (np.quantile of float32 data at a scalar q would
    # interpolate in float32 and differ in the 8th digit).
    risk64 = risk.astype(np.float64)
    assert s["risk"] == {k: float(np.quantile(risk64, q)) for k, q in QUANTILES.items()}
    assert s["risk"]["min"] == float(risk.min()) and s["risk"]["max"] == float(risk.max())
    levels = problems.reference_levels(CFG.problem)
    assert s["levels"] == {"constant": levels.constant, "affine": levels.affine}
    assert s["levels"]["constant"] == pytest.approx(34 / 45, abs=1e-12)  # docs/theory.md sec. 2
    frac = float(np.mean(risk <= levels.constant))
    assert s["fraction_at_or_below_constant_level"] == frac
    assert 0 < frac <= 1  # the check has content: some trials are below Var f(X)


def test_same_seed_same_quantiles_other_seed_differs(direct, capsys, monkeypatch):
    """Repeating the command gives the same numbers; another seed gives other networks."""
    first = _cli_json(ARGV, capsys, monkeypatch)
    again = _cli_json(ARGV, capsys, monkeypatch)
    assert again["risk"] == first["risk"]
    other_argv = [*ARGV[:-1], "6"]
    assert other_argv[-2] == "--seed"
    other = _cli_json(other_argv, capsys, monkeypatch)
    other_direct = engine.run(CFG, TRIALS, seed=6, chunk_size=CHUNK)
    assert other["risk"]["median"] == float(np.median(other_direct["risk"].astype(np.float64)))
    assert other["risk"] != first["risk"]


def test_config_file_with_flag_override(tmp_path, direct, capsys, monkeypatch):
    """A TOML file holding the setting, with the flags overriding two of its values, gives the
    same run as the flags alone."""
    path = tmp_path / "setting.toml"
    path.write_text(
        "[train]\n"
        "arch = [1, 6, 1]\n"
        'box = "0:1"\n'
        'target = "x^2+2x"\n'
        'init = "he_uniform"\n'
        'optimizer = "momentum"\n'
        "learning_rate = 0.5\n"  # overridden by --lr
        "steps = 40\n"
        "batch_size = 16\n"
        "eval_size = 128\n"
        "[run]\n"
        "trials = 37\n"
        "chunk_size = 16\n"
        "seed = 1\n"  # overridden by --seed
    )
    s = _cli_json(["train", str(path), "--lr", "0.02", "--seed", "5"], capsys, monkeypatch)
    assert s["config"]["learning_rate"] == 0.02 and s["seed"] == SEED
    assert s["risk"]["median"] == float(np.median(direct["risk"].astype(np.float64)))


def test_table_output(direct, capsys, monkeypatch):
    """Without --json: a table with the same numbers (6 significant digits)."""
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    monkeypatch.setenv("COLUMNS", "120")
    assert cli.main(ARGV) == 0
    out = capsys.readouterr().out
    assert "37 trained nets [1, 6, 1], he_uniform init, momentum lr=0.02" in out
    assert "How likely did training fail?" in out
    for name, q in QUANTILES.items():
        assert f"final risk {name}" in out
        assert f"{np.quantile(direct['risk'].astype(np.float64), q):.6g}" in out
    assert f"{34 / 45:.6g}" in out and "diverged trials" in out


@pytest.fixture
def restore_x64():
    """``--float64`` switches 64-bit mode on for the process; switch it back afterwards."""
    old = jax.config.jax_enable_x64
    yield
    jax.config.update("jax_enable_x64", old)


def test_float64_flag(restore_x64, capsys, monkeypatch):
    argv = "train --arch 1,3,1 --steps 10 --eval-size 32 --trials 4 --chunk-size 4 --float64"
    s = _cli_json(shlex.split(argv), capsys, monkeypatch)
    assert s["config"]["dtype"] == "float64"
    cfg = engine.TrainConfig(arch=(1, 3, 1), steps=10, eval_size=32, dtype="float64")
    res = engine.run(cfg, 4, chunk_size=4)  # 64-bit mode is still on
    assert res["risk"].dtype == np.float64
    assert s["risk"]["median"] == float(np.median(res["risk"]))
