"""Bad input on the command line or in a TOML file: one clear line on stderr, exit code 2.

Every case runs :func:`jaxnn_nonconv.cli.main` in-process with training (and the inactive-neuron
estimate) disabled, so an error that is raised only once computing has started fails the test; the
input errors are checked for both subcommands that take a setting, ``train`` and ``estimate``, and
the unwritable output directory for ``run --out``. A Hypothesis test feeds arbitrary command lines
(good and bad values of every flag, random text) and checks that each one is either accepted or
refused in one line. Three cases run the installed entry point to check the real exit status and
that no traceback is printed.
"""

import contextlib
import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

import jax
import pytest
from hypothesis import event, given, settings, strategies as st

from jaxnn_nonconv import cli, engine, estimation
from jaxnn_nonconv.core import optim, problems
from jaxnn_nonconv.engine import _driver
from jaxnn_nonconv.estimation import _counting, _init_summary
from jaxnn_nonconv.experiments import _trials, config
from tests import helpers

PREFIX = "jaxnn-nonconv: error: "


class TrainingStarted(Exception):
    pass


@pytest.fixture
def no_training(monkeypatch):
    """Training entry points raise: validation must happen before them."""

    def started(*args, **kwargs):
        raise TrainingStarted

    # The public names, and the ones their own modules call (validated configs go to the private
    # loops directly).
    for module in (engine, _driver):
        monkeypatch.setattr(module, "run", started)
        monkeypatch.setattr(module, "iter_chunks", started)
    monkeypatch.setattr(_driver, "_iter_chunks", started)
    monkeypatch.setattr(_trials, "run_trials", started)
    monkeypatch.setattr(_trials, "_run_trials", started)
    for module in (estimation, _init_summary):
        monkeypatch.setattr(module, "estimate_at_init", started)
    for module in (estimation, _counting):
        monkeypatch.setattr(module, "counts_at_init", started)
        monkeypatch.setattr(module, "iter_init_counts", started)
    for module in (_counting, _init_summary):
        monkeypatch.setattr(module, "_iter_init_counts", started)
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")  # no persistent-cache side effect


def usage_error(argv, capsys) -> str:
    """:func:`tests.helpers.usage_error`, and the line starts with the program's error prefix."""
    line = helpers.usage_error(argv, capsys)
    assert line.startswith(PREFIX), line
    return line


SETTING_COMMANDS = ("train", "estimate")


@pytest.mark.parametrize("command", SETTING_COMMANDS)
def test_valid_input_reaches_training(command, no_training):
    """The control case: the fixture really does catch a run that gets past validation."""
    with pytest.raises(TrainingStarted):
        cli.main([command, "--arch", "1,4,1", "--trials", "2"])


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
        ("--seed -1", "seed must be an integer in [0, 2**32), got -1"),
        ("--seed 4294967296", "seed must be an integer in [0, 2**32), got 4294967296"),
        ("--trials 2147483649", "trials must be at most 2**31 = 2147483648, got 2147483649"),
        ("--chunk-size 99999999999", "chunk_size must be at most 2**24 = 16777216"),
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


# The flags `estimate` shares with `train` (it has no optimizer, target or step flags).
@pytest.mark.parametrize(
    "flags, phrase",
    [
        ("--arch 1,0,1", "every layer width must be a positive integer, got (1, 0, 1)"),
        ("--arch 1,-3,1", "every layer width must be a positive integer, got (1, -3, 1)"),
        ("--arch 2,4,1,3", "output dimension must be 1"),
        ("--box 1:0", "need a < b in every 'a:b' (empty or reversed box)"),
        ("--box=2:-2", "need a < b in every 'a:b' (empty or reversed box)"),
        (
            "--arch 3,4,1 --box 0:1,0:1",
            "box has 2 coordinate(s) but the architecture's input dimension is 3",
        ),
        ("--box -1:1", "write a value that starts with '-' as --flag=VALUE, e.g. --box=-1:1"),
        ("--trials 0", "trials must be a positive integer, got 0"),
        ("--trials -5", "trials must be a positive integer, got -5"),
        ("--chunk-size 0", "chunk_size must be a positive integer"),
        ("--seed -1", "seed must be an integer in [0, 2**32)"),
        ("--init-scale -2", "init_scale must be a finite number > 0, got -2.0"),
        ("--init-scale inf", "init_scale must be a finite number > 0, got inf"),
        # estimate's own options
        ("--confidence 1", "confidence must be in (0, 1), got 1.0"),
        ("--confidence nan", "confidence must be in (0, 1), got nan"),
        ("--grid 0", "--grid must be a positive integer"),
        ("--sample-size -3", "--sample-size must be a positive integer"),
        ("--mode exact --arch 3,4,1", "--mode exact needs input dimension 1 or 2, got 3"),
        ("--mode fast", "argument --mode: invalid choice: 'fast'"),
        ("--lr 0.1", "unrecognized arguments: --lr"),
    ],
)
def test_bad_flag_estimate(flags, phrase, capsys, no_training):
    assert phrase in usage_error(["estimate", *shlex.split(flags)], capsys)


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


@pytest.mark.parametrize(
    "key, bad, close, valid",
    [
        ("optimizer", "nesterv", "nesterov", optim.OPTIMIZERS),
        ("init", "glorot_unifrom", "glorot_uniform", ("pytorch", "glorot_uniform", "rai")),
        ("target", "sin(3 x)", "sin(3x)", problems.TARGETS),
        ("schedule", "stepp", "step", optim.SCHEDULES),
    ],
)
@pytest.mark.parametrize("command", SETTING_COMMANDS)
def test_unknown_name_in_toml(command, key, bad, close, valid, tmp_path, capsys, no_training):
    """The same message from a TOML file, with its line, for both subcommands (``estimate`` reads
    the whole ``[train]`` table, so a typo there is reported even though it trains nothing)."""
    path = tmp_path / "exp.toml"
    path.write_text(f'[train]\narch = [1, 4, 1]\n{key} = "{bad}"\n')
    line = usage_error([command, str(path)], capsys)
    assert line.startswith(f"{PREFIX}{path}:3: unknown {key} {bad!r}; did you mean {close!r}?")
    assert "(valid: " + ", ".join(valid[:1]) in line or all(name in line for name in valid)
    assert all(name in line for name in valid)


def test_estimate_unknown_init_flag(capsys, no_training):
    line = usage_error(["estimate", "--init", "he_normall"], capsys)
    assert "unknown init 'he_normall'; did you mean 'he_normal'?" in line
    assert all(name in line for name in ("pytorch", "he_normal", "rai"))


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
        ("[train]\nsteps = 3\n[plot]\n", 3, "unknown table [plot] (valid: train, run, data)"),
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
        ("[run]\nseed = 100000000000000000000\n", 2, "seed must be an integer in [0, 2**32)"),
        ("[run]\nseed = 4294967296\n", 2, "seed must be an integer in [0, 2**32)"),
        ("[run]\ntrials = -3\n", 2, "trials must be a positive integer, got -3"),
        ("[run]\n\nchunk_size = 0\n", 3, "chunk_size must be a positive integer, got 0"),
        ("[train]\nsteps = -2\n", 2, "steps must be a positive integer, got -2"),
        ("[train]\nsteps = 1.5\n", 2, "steps must be a positive integer, got 1.5"),
        ("[train]\nlearning_rate = nan\n", 2, "learning_rate must be a finite number > 0, got nan"),
        ("[train]\nlearning_rate = -inf\n", 2, "learning_rate must be a finite number > 0"),
        ("[train]\nlearning_rate = 0\n", 2, "learning_rate must be a finite number > 0, got 0"),
        ('[train]\nlearning_rate = "0.1"\n', 2, "learning_rate must be a number, got '0.1'"),
        ("[train]\nnoise = inf\n", 2, "noise must be a finite number >= 0, got inf"),
        ("[train]\nbox = 5\n", 2, "expected 'a:b' or a list of [a, b] pairs"),
        ("[train]\nbox = [[0, 1, 2]]\n", 2, "expected 'a:b' or a list of [a, b] pairs"),
        ("[train]\nbox = [[1, 0]]\n", 2, "empty or reversed box"),
        ("[train]\narch = [1, 4, 1]\nbox = [[0, 1], [0, 1]]\n", 3, "box has 2 coordinate(s)"),
        ("[train]\narch = 5\n", 2, "arch must be a list of integers"),
        ('[train]\narch = "1,0,1"\n', 2, "every layer width must be a positive integer"),
        ("[train]\nhyper = 3\n", 2, "hyper must be a table of name = number"),
        (
            '[train]\noptimizer = "momentum"\nhyper = {momentum = nan}\n',
            3,
            "hyper: 'momentum' must be finite",
        ),
        (
            '[train]\noptimizer = "sgd"\nhyper = {momentum = 0.5}\n',
            2,  # the optimizer named in the message is on line 2
            "optimizer 'sgd' has no hyperparameter 'momentum'; valid: none",
        ),
        (
            '[train]\nschedule = "step"\nschedule_kw = {factor = -1}\n',
            3,
            "factor must be a finite number > 0, got -1.0",
        ),
        (
            '[train]\nschedule = "power"\nschedule_kw = {gama = 0.5}\n',
            2,
            "schedule 'power' takes no parameter 'gama'; valid: gamma",
        ),
        # A key in the wrong table says where it belongs.
        ("[train]\narch = [1, 4, 1]\ntrials = 5\n", 3, "unknown key 'trials': it is a run option"),
        ("[run]\ntrials = 3\nsteps = 4\n", 3, "unknown key 'steps' in [run]: it is a [train] key"),
        ("steps = 3\n", 1, "unknown table [steps] (valid: train, run, data)"),
        ("[train]\nlearning_rate = 0.1\n[train]\n", 3, "malformed TOML"),
    ],
)
@pytest.mark.parametrize("command", SETTING_COMMANDS)
def test_bad_toml(command, text, line, phrase, tmp_path, capsys, no_training):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    msg = usage_error([command, str(path)], capsys)
    assert msg.startswith(f"{PREFIX}{path}:{line}: "), msg
    assert phrase in msg


@pytest.mark.parametrize("command", SETTING_COMMANDS)
def test_toml_that_is_not_utf8(command, tmp_path, capsys, no_training):
    path = tmp_path / "exp.toml"
    path.write_bytes(b"[train]\nsteps = 3 # \xff\xfe\n")
    msg = usage_error([command, str(path)], capsys)
    assert (
        msg
        == f"{PREFIX}{path}:2: not UTF-8 text (invalid start byte at byte 20); TOML must be UTF-8"
    )


@pytest.mark.parametrize(
    "flags, phrase",
    [
        ("--lr nan", "learning_rate must be a finite number > 0, got nan"),
        ("--steps 0", "steps must be a positive integer, got 0"),
        ("--trials 0", "trials must be a positive integer, got 0"),
        ("--optimizer adma", "unknown optimizer 'adma'; did you mean 'adam'?"),
        ("--box 0:1,0:1", "box has 2 coordinate(s) but the architecture's input dimension is 1"),
    ],
)
def test_bad_flag_is_not_blamed_on_the_file(flags, phrase, tmp_path, capsys, no_training):
    """A bad flag that overrides a *valid* value of the file is reported without the file's line:
    pointing at ``learning_rate = 0.1`` for a bad ``--lr`` would send the user to the wrong place."""
    path = tmp_path / "ok.toml"
    path.write_text(
        '[train]\narch = [1, 4, 1]\nbox = "0:1"\nlearning_rate = 0.1\nsteps = 5\n'
        'optimizer = "sgd"\n[run]\ntrials = 3\n'
    )
    with pytest.raises(TrainingStarted):
        cli.main(["train", str(path)])
    capsys.readouterr()
    msg = usage_error(["train", str(path), *shlex.split(flags)], capsys)
    assert msg.startswith(PREFIX + phrase), msg
    assert str(path) not in msg


def test_file_value_that_conflicts_with_a_flag_is_located(tmp_path, capsys, no_training):
    """The other way round: a flag makes a value *of the file* wrong; the file's line is named."""
    path = tmp_path / "ok.toml"
    path.write_text('[train]\narch = [2, 4, 1]\nbox = "0:1,0:2"\n')
    msg = usage_error(["train", str(path), "--arch", "3,4,1"], capsys)
    assert msg == (
        f"{PREFIX}{path}:3: box has 2 coordinate(s) but the architecture's input dimension is 3"
    )


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


@pytest.mark.parametrize(
    "error, shown",
    [
        (
            MemoryError("Unable to allocate 745. GiB for an array with shape (99999999999,)"),
            "Unable to allocate 745. GiB for an array with shape (99999999999,)",
        ),
        (
            jax.errors.JaxRuntimeError(
                "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 549755813888 bytes.\n"
                "BufferAssignment OOM Debugging."
            ),
            "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 549755813888 bytes.",
        ),
    ],
)
def test_out_of_memory_is_one_line(error, shown, capsys, monkeypatch):
    """A chunk that does not fit in (host or device) memory is reported as bad input, in one line
    that says what to do."""

    def oom(*args, **kwargs):
        raise error

    monkeypatch.setattr(engine, "iter_chunks", oom)
    monkeypatch.setattr(_driver, "iter_chunks", oom)
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    line = usage_error(["train", "--chunk-size", "16777216"], capsys)
    assert line == f"{PREFIX}out of memory ({shown}); use a smaller --chunk-size"


@pytest.mark.parametrize(
    "error", [RuntimeError("a bug"), jax.errors.JaxRuntimeError("INTERNAL: a bug in XLA")]
)
def test_other_exceptions_are_not_swallowed(error, monkeypatch):
    """Only bad input becomes exit code 2: a bug still raises (and shows its traceback)."""

    def bug(*args, **kwargs):
        raise error

    monkeypatch.setattr(engine, "iter_chunks", bug)
    monkeypatch.setattr(_driver, "iter_chunks", bug)
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    with pytest.raises(type(error), match="a bug"):
        cli.main(["train", "--trials", "2"])


# ---------------------------------------------------------------- any input at all

# Flags of `train` and `estimate` with typical good and bad values; Hypothesis adds random text.
FUZZ_VALUES = {
    "--arch": ["1,4,1", "2,3,1", "1,0,1", "1,-2,1", "1,4,2", "1", "x", ""],
    "--box": ["0:1", "1:0", "0:1,0:2", "0:1,0:1,0:1", ":", "0:nan", "0:1e400", "=-1:1"],
    "--init": ["pytorch", "rai", "he", "PyTorch"],
    "--init-scale": ["1", "0", "-1", "nan", "inf", "x"],
    "--zero-bias": [],
    "--trials": ["1", "3", "0", "-1", "1.5", "2147483649", "x"],
    "--seed": ["0", "-1", "4294967296", "x"],
    "--chunk-size": ["2", "0", "16777217"],
    "--steps": ["2", "0", "-3"],
    "--lr": ["0.1", "0", "-1", "nan", "inf", "1e-400", "1e400"],
    "--optimizer": ["adam", "adma", "lbfgs", ""],
    "--target": ["x^2", "x^(1/4)", "x^3"],
    "--schedule": ["constant", "step", "cosin"],
    "--activation": ["relu", "rleu"],
    "--noise": ["0", "-0.1", "nan"],
    "--batch-size": ["4", "0"],
    "--data-size": ["8", "0"],
    "--eval-size": ["8", "-8"],
    "--confidence": ["0.9", "0", "1", "nan"],
    "--grid": ["2", "0"],
    "--mode": ["auto", "exact", "ibp", "fast"],
    "--sample-size": ["4", "0"],
    "--max-points": ["2", "1"],
    "--json": [],
}
_token = st.one_of(
    st.sampled_from(list(FUZZ_VALUES)).flatmap(
        lambda flag: (
            st.just([flag])
            if not FUZZ_VALUES[flag]
            else st.sampled_from(FUZZ_VALUES[flag]).map(
                lambda v, flag=flag: [flag + v] if v.startswith("=") else [flag, v]
            )
        )
    ),
    st.text(max_size=6).map(lambda t: [t]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    command=st.sampled_from(SETTING_COMMANDS),
    tokens=st.lists(_token, max_size=6).map(lambda ts: [t for pair in ts for t in pair]),
)
def test_any_command_line_is_validated_or_one_line_error(command, tokens):
    """Whatever the command line, ``main`` either gets to the computation (validation passed) or
    prints one ``error:`` line and returns 2; it never raises anything else."""
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()) as out:
        started = []

        def start(*args, **kwargs):
            started.append(True)
            raise TrainingStarted

        for module, name in [
            (engine, "run"),
            (_driver, "run"),
            (engine, "iter_chunks"),
            (_driver, "iter_chunks"),
            (estimation, "estimate_at_init"),
        ]:
            mp.setattr(module, name, start)
        mp.setenv("JAXNN_NONCONV_CACHE", "")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                rc = cli.main([command, *tokens])
            except TrainingStarted:
                rc = None
    event("validated" if started else "error")  # both occur: see --hypothesis-show-statistics
    if started:
        assert rc is None and err.getvalue() == ""
        return
    assert rc == 2, (tokens, err.getvalue())
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), err.getvalue()


# ---------------------------------------------------------------- run --out


EXPERIMENT = """
[experiment]
kind = "shallow_width"
trials = 2
chunk_size = 2

[train]
arch = [1, 2, 1]
steps = 2

[sweep]
width = [1]
"""


@pytest.fixture
def experiment(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(EXPERIMENT)
    return path


def test_run_with_writable_out_reaches_training(experiment, tmp_path, no_training):
    """Control for the cases below: a fresh --out gets past the store to the training."""
    with pytest.raises(TrainingStarted):
        cli.main(["run", str(experiment), "--out", str(tmp_path / "results")])
    assert config.read_toml(experiment)  # unchanged, still valid


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_run_out_unwritable(where, experiment, tmp_path, capsys, no_training):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = blocker if where == "file" else blocker / "results"
    line = usage_error(["run", str(experiment), "--out", str(out)], capsys)
    assert line == (
        f"{PREFIX}cannot write to {out}: a file of that name (or of a parent directory's name) "
        "exists"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_run_out_read_only(experiment, tmp_path, capsys, no_training):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        line = usage_error(["run", str(experiment), "--out", str(ro / "results")], capsys)
    finally:
        ro.chmod(0o700)
    assert line == f"{PREFIX}cannot write to {ro / 'results'}: Permission denied"


def test_run_out_not_a_results_directory(experiment, tmp_path, capsys, no_training):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    line = usage_error(["run", str(experiment), "--out", str(tmp_path / "mine")], capsys)
    assert "is not empty and holds no manifest.json" in line
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def _entry_point() -> list[str]:
    exe = Path(sys.executable).parent / "jaxnn-nonconv"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jaxnn_nonconv.cli"]


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["train", "--optimizer", "adma"], "did you mean 'adam'?"),
        (["train", "--lr", "abc"], "invalid float value: 'abc'"),
        (["estimate", "--box", "1:0"], "empty or reversed box"),
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


def test_config_path_with_a_nul_byte_is_one_line(capsys):
    """A config path the OS cannot name (found by the hypothesis test above) is bad input."""
    line = usage_error(["train", "bad\x00.toml"], capsys)
    assert "not a valid file name" in line
