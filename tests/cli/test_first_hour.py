"""A newcomer's first hour (issue 24): each case once crashed, hung or said something unusable.

Every test here failed on the code before the fix: all-diverged ``train`` (``KeyError`` in the
table, ``NaN`` in the JSON), ``estimate --arch 1,1`` (``IndexError``), Ctrl-C during ``run`` (a
traceback), equal ``advise`` estimates with different ranks, ``--help`` without the choices, two
names for one quantity, and a scikit-learn ``(in, out)`` weight without a hint.
"""

import json
import math

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, estimation, experiments, models
from jaxnn_nonconv.core import inits, nets, optim, problems
from jaxnn_nonconv.errors import ConfigError, ModelError
from jaxnn_nonconv.stats import Precision, dumps_json

DIVERGING = ["train", "--arch", "1,3,1", "--optimizer", "sgd", "--lr", "3", "--trials", "4"]
DIVERGING += ["--steps", "50", "--eval-size", "256", "--batch-size", "16"]


def _strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_all_trials_diverged_table_and_json(capsys):
    assert cli.main([*DIVERGING, "--json"]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert data["diverged"] == 4 and data["best_risk"] is None
    assert cli.main(DIVERGING) == 0
    assert "all diverged" in capsys.readouterr().out


def test_json_never_holds_nan_or_inf():
    text = dumps_json(
        {"a": math.nan, "b": [np.float32(np.inf), -math.inf, 1.5], "c": (np.int64(2),)}
    )
    assert _strict_json(text) == {"a": None, "b": [None, None, 1.5], "c": [2]}


@pytest.mark.parametrize("command", [["estimate", "--arch", "1,1"], ["advise", "--arch", "2,1"]])
def test_no_hidden_layer_is_one_line_exit_2(command, capsys):
    assert cli.main([*command, "--box", "0:1" if command[0] == "estimate" else "0:1,0:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no hidden layer" in err


def test_no_hidden_layer_from_python():
    """The library refuses ``(1, 1)`` with a ConfigError before counting (it used to raise
    IndexError in ``summarize``), and so does ``advise``."""
    cfg = engine.TrainConfig(arch=(1, 1)).validate()
    with pytest.raises(ConfigError, match="no hidden layer"):
        estimation.estimate_at_init(cfg, 4)
    with pytest.raises(ConfigError, match="no hidden layer"):
        models.advise((2, 1), [(0.0, 1.0)] * 2, trials=4)


def test_ctrl_c_during_run(monkeypatch, tmp_path, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run_experiment", interrupted)
    out = tmp_path / "runs"
    assert cli.main(["run", "experiments/shallow_width.toml", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resume" in err and str(out) in err


def test_equal_estimates_share_a_rank():
    # With zero biases on [0, 1] a first-layer neuron is inactive iff its weight is <= 0, and the
    # normal families scale the same normal draws: their estimates are exactly equal.
    fam = (("normal", True), ("he_normal", True))
    out = models.advise((1, 2, 1), ((0.0, 1.0),), trials=32, families=fam)
    keys = {json.dumps(r["any_inactive"]) + json.dumps(r["constant_network"]) for r in out["rows"]}
    assert len(keys) == 1
    assert [r["rank"] for r in out["rows"]] == [1, 1]
    assert models.shared_ranks([1, 2, 2, 3]) == [1, 2, 2, 4]


def _help(capsys, *command) -> str:
    with pytest.raises(SystemExit):
        cli.main([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_help_lists_every_choice(capsys):
    train = _help(capsys, "train")
    for names in (
        inits.INITS,
        problems.TARGETS,
        optim.OPTIMIZERS,
        optim.SCHEDULES,
        nets.ACTIVATIONS,
    ):
        for name in names:
            assert name in train, name
    for command in ("estimate", "advise"):
        text = _help(capsys, command)
        assert all(name in text for name in inits.INITS), command
    assert "Rank initialization families" in _help(capsys, "advise")
    assert "inactive_at_end" in _help(capsys, "run") and "any_inactive_end" not in _help(
        capsys, "run"
    )


def test_one_name_per_quantity(monkeypatch, tmp_path):
    assert {"inactive_at_end", "inactive_at_init", "constant_at_end"} <= set(
        experiments.PRECISION_OF
    )

    def stop(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(experiments._spec.store, "open_run", stop)
    exp = experiments.load("experiments/shallow_width.toml")
    with pytest.warns(FutureWarning, match="inactive_at_end"), pytest.raises(RuntimeError):
        experiments.run_experiment(
            exp, tmp_path, precision=Precision("any_inactive_end", ci_width=0.5)
        )


def test_sklearn_orientation_hint(tmp_path):
    # MLPRegressor.coefs_ are (in, out); saved as they are, the loader must say so.
    path = tmp_path / "sk.npz"
    np.savez(path, W0=np.ones((2, 16)), b0=np.zeros(16), W1=np.ones((16, 1)), b1=np.zeros(1))
    with pytest.raises(ModelError, match=r"transposed.*\(in, out\) = \(2, 16\).*transpose W"):
        models.load(path)


def test_missing_peer_says_whom_and_gives_up():
    # Process 1 of 2 whose coordinator (process 0) never starts: it waited forever, silently.
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "jaxnn_nonconv.cli", "estimate", "--arch", "1,2,1"]
    cmd += ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", "1"]
    proc = subprocess.run(
        [*cmd, "--peer-timeout", "2"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "waiting up to 2 s for process(es) 0" in lines[0]
    assert lines[-1].startswith("jaxnn-nonconv: error: gave up after 2 s") and len(lines) == 2


def test_cli_import_leaves_heavy_modules_for_later():
    """A first contact (``--help``, a second run from the compilation cache) pays for JAX, not for
    SciPy's statistics, quadrature and optimizers, plotting or tables: those load on first use."""
    import subprocess
    import sys

    heavy = ("scipy.stats", "scipy.integrate", "scipy.optimize", "scipy.special", "matplotlib")
    heavy += ("pandas", "pyarrow", "rich", "onnx", "torch")
    code = "import sys, jaxnn_nonconv.cli; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "jaxnn_nonconv.cli" in loaded
    assert sorted(loaded.intersection(heavy)) == []
