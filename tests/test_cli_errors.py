"""Bad input on the command line or in a TOML file: one clear line on stderr, exit code 2.

Every case runs :func:`jaxnn_nonconv.cli.main` in-process with training disabled, so an error that
is raised only once training has started fails the test; one case runs the installed entry point
to check the real exit status and that no traceback is printed.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from jaxnn_nonconv import cli, optim, problems, train

PREFIX = "jaxnn-nonconv: error: "


class TrainingStarted(Exception):
    pass


@pytest.fixture
def no_training(monkeypatch):
    """Training entry points raise: validation must happen before them."""

    def started(*args, **kwargs):
        raise TrainingStarted

    monkeypatch.setattr(train, "run", started)
    monkeypatch.setattr(train, "iter_chunks", started)
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")  # no persistent-cache side effect


def usage_error(argv, capsys) -> str:
    """Run the CLI; check exit code 2, nothing on stdout, one line on stderr; return that line."""
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith(PREFIX), err
    return lines[0]


def test_valid_input_reaches_training(no_training):
    """The control case: the fixture really does catch a run that gets past validation."""
    with pytest.raises(TrainingStarted):
        cli.main(["train", "--arch", "1,4,1", "--steps", "3", "--trials", "2"])


@pytest.mark.parametrize(
    "flags, phrase",
    [
        ("--arch 1,0,1", "every layer width must be a positive integer, got (1, 0, 1)"),
        ("--arch 1,-3,1", "every layer width must be a positive integer, got (1, -3, 1)"),
        ("--arch 1,a,1", "expected comma-separated integers like 1,32,1"),
        ("--arch 1,4,2", "output dimension must be 1"),
        ("--box 1:0", "need a < b in every 'a:b' (empty or reversed box)"),
        ("--box 1:1", "need a < b in every 'a:b' (empty or reversed box)"),
        ("--box 0:nan", "bounds must be finite"),
        ("--box 0", "each coordinate must be 'a:b'"),
        (
            "--arch 2,8,1 --box 0:1,0:1,0:1",
            "box has 3 coordinate(s) but the architecture's input dimension is 2",
        ),
        ("--box=-1:1 --target x^(1/4)", "needs a box inside [0, inf)"),
        ("--box -1:1", "write a value that starts with '-' as --flag=VALUE, e.g. --box=-1:1"),
        ("--trials 0", "trials must be a positive integer, got 0"),
        ("--trials -5", "trials must be a positive integer, got -5"),
        ("--steps 0", "steps must be a positive integer, got 0"),
        ("--steps -1", "steps must be a positive integer, got -1"),
        ("--steps 1.5", "argument --steps: invalid int value: '1.5'"),
        ("--chunk-size 0", "chunk_size must be a positive integer"),
        ("--batch-size 0", "batch_size must be a positive integer"),
        ("--seed -1", "seed must be an integer in [0, 2**63)"),
        ("--lr nan", "learning_rate must be a finite number > 0, got nan"),
        ("--lr inf", "learning_rate must be a finite number > 0, got inf"),
        ("--lr -1", "learning_rate must be a finite number > 0, got -1.0"),
        ("--lr 0", "learning_rate must be a finite number > 0, got 0.0"),
        ("--lr abc", "argument --lr: invalid float value: 'abc'"),
        ("--noise -1", "noise must be a finite number >= 0"),
        ("--init-scale nan", "init_scale must be a finite number > 0"),
        ("--bogus 3", "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flag(flags, phrase, capsys, no_training):
    assert phrase in usage_error(["train", *shlex.split(flags)], capsys)


@pytest.mark.parametrize(
    "flag, bad, close, valid",
    [
        ("--optimizer", "adma", "adam", optim.OPTIMIZERS),
        ("--optimizer", "SGD", "sgd", optim.OPTIMIZERS),
        ("--init", "he_normall", "he_normal", ("pytorch", "he_normal", "rai")),
        ("--target", "x^3", "x^2", problems.TARGETS),
        ("--schedule", "cosin", "cosine", optim.SCHEDULES),
        ("--activation", "rleu", "relu", ("relu", "leaky_relu", "softplus")),
    ],
)
def test_unknown_name_lists_valid_names_and_suggests(flag, bad, close, valid, capsys, no_training):
    line = usage_error(["train", flag, bad], capsys)
    kind = flag[2:]
    assert f"unknown {kind} {bad!r}; did you mean {close!r}?" in line
    assert all(name in line for name in valid)


def test_unknown_name_without_close_match(capsys, no_training):
    line = usage_error(["train", "--optimizer", "lbfgs"], capsys)
    assert "unknown optimizer 'lbfgs'" in line and "did you mean" not in line
    assert "(valid: sgd, momentum," in line


@pytest.mark.parametrize(
    "text, line, phrase",
    [
        ("[train]\nsteps = \n", 2, "malformed TOML"),
        ('[train]\narch = [1, 4, 1\noptimizer = "sgd"\n', 3, "malformed TOML"),
        (
            "[train]\narch = [1, 4, 1]\n\nstepz = 10\n",
            4,
            "unknown key 'stepz'; did you mean 'steps'?",
        ),
        ("[run]\ntrials = 3\nseeed = 1\n", 3, "unknown key 'seeed' in [run]; did you mean 'seed'?"),
        (
            "[train]\nsteps = 3\n\n[runn]\ntrials = 3\n",
            4,
            "unknown table [runn]; did you mean 'run'?",
        ),
        ("[train]\nsteps = 3\n[plot]\n", 3, "unknown table [plot] (valid: train, run)"),
        ('[train]\noptimizer = "adma"\n', 2, "did you mean 'adam'?"),
        ("[train]\narch = [1, 4, 1]\nlearning_rate = -1\n", 3, "learning_rate must be a finite"),
        ('[train]\narch = [1, 0, 1]\nbox = "0:1"\n', 2, "every layer width must be a positive"),
        ("[train]\narch = [1, 4.5, 1]\n", 2, "arch must be a list of integers like [1, 32, 1]"),
        ('[train]\nbox = "2:1"\n', 2, "empty or reversed box"),
        ('[train]\narch = [2, 8, 1]\nbox = "0:1,0:1,0:1"\n', 3, "box has 3 coordinate(s)"),
        ('[train]\nzero_bias = "yes"\n', 2, "zero_bias must be true or false"),
        ('[train]\nnoise = "a"\n', 2, "noise must be a number"),
        ('[train]\noptimizer = "momentum"\nhyper = {momentum = "x"}\n', 3, "must be a number"),
        ("[train]\nsteps = 0\n", 2, "steps must be a positive integer"),
        ('[run]\ntrials = "5"\n', 2, "trials must be a positive integer, got '5'"),
        ("[run]\nseed = 100000000000000000000\n", 2, "seed must be an integer in [0, 2**63)"),
    ],
)
def test_bad_toml(text, line, phrase, tmp_path, capsys, no_training):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    msg = usage_error(["train", str(path)], capsys)
    assert msg.startswith(f"{PREFIX}{path}:{line}: "), msg
    assert phrase in msg


@pytest.mark.parametrize("name", ["missing.toml", "."])
def test_unreadable_config_file(name, tmp_path, capsys, no_training):
    path = tmp_path / name
    line = usage_error(["train", str(path)], capsys)
    assert f"cannot read config {str(path)!r}" in line


def test_flag_errors_after_a_valid_file(tmp_path, capsys, no_training):
    path = tmp_path / "ok.toml"
    path.write_text("[train]\narch = [1, 4, 1]\n[run]\ntrials = 3\n")
    with pytest.raises(TrainingStarted):
        cli.main(["train", str(path)])
    capsys.readouterr()
    assert "learning_rate must be a finite" in usage_error(
        ["train", str(path), "--lr", "nan"], capsys
    )


def test_missing_subcommand(capsys):
    assert "required: command" in usage_error([], capsys)


def _entry_point() -> list[str]:
    exe = Path(sys.executable).parent / "jaxnn-nonconv"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jaxnn_nonconv.cli"]


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["train", "--optimizer", "adma"], "did you mean 'adam'?"),
        (["train", "--lr", "abc"], "invalid float value: 'abc'"),
    ],
)
def test_entry_point_exit_code_and_no_traceback(args, phrase, tmp_path):
    proc = subprocess.run(
        [*_entry_point(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JAXNN_NONCONV_CACHE": "", "JAX_PLATFORMS": "cpu"},
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX) and phrase in lines[0], proc.stderr
