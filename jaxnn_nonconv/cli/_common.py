"""What every subcommand shares: the one-line error parser, JAX setup, the training-setting
flags and their validation, precision and multi-process flags, and the one output path.

Bad input raises :class:`~jaxnn_nonconv.errors.ConfigError` (argparse's own errors included, see
:class:`_Parser`), which :func:`jaxnn_nonconv.cli.main` turns into one line on stderr and exit
code 2; results go through :func:`emit` (JSON or a table, printed by process 0 only).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import data as datasets, inits, nets, optim, problems
from jaxnn_nonconv.experiments import config

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line: raises :class:`ConfigError` instead of printing the
    usage and exiting, so :func:`main` reports every bad input the same way. Subcommand parsers
    inherit the class."""

    def error(self, message: str):
        if "expected one argument" in message:
            message += " (write a value that starts with '-' as --flag=VALUE, e.g. --box=-1:1)"
        raise config.ConfigError(f"{message} (see '{self.prog} --help')")


def cache_dir() -> str | None:
    """The persistent compilation cache of every command: ``$JAXNN_NONCONV_CACHE`` when set (the
    empty string turns the cache off: ``None``), else ``$XDG_CACHE_HOME/jaxnn_nonconv`` or
    ``~/.cache/jaxnn_nonconv``. ``bench`` does not use it: it measures compilation.
    """
    if "JAXNN_NONCONV_CACHE" in os.environ:
        return os.environ["JAXNN_NONCONV_CACHE"] or None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "jaxnn_nonconv")


def setup_jax(float64: bool, args=None) -> None:
    """Global JAX settings, and ``jax.distributed`` when ``args`` asks for it or the environment
    is a multi-process job; must run before any array exists.

    The persistent compilation cache (:func:`cache_dir`) is on by default: a second run of the
    same shapes loads its programs instead of compiling them (``benchmarks/cli_startup.py``
    measures it); every program is cached, however quick its compilation, since a command
    compiles many small ones."""
    import jax

    if args is not None and hasattr(args, "num_processes"):
        from jaxnn_nonconv.engine import distributed

        distributed.initialize(
            args.coordinator,
            args.num_processes,
            args.process_id,
            timeout=getattr(args, "peer_timeout", distributed.PEER_TIMEOUT),
        )
    if float64:
        jax.config.update("jax_enable_x64", True)
    if cache := cache_dir():
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def one_of(names) -> str:
    """``"one of a, b, c"``: every valid value of a flag, for its ``--help``."""
    return "one of " + ", ".join(names)


def _add_init_flags(g) -> None:
    """The network and its initialization: shared by ``train`` and ``estimate``."""
    g.add_argument("--arch", help="widths, e.g. 1,32,1 (default 1,32,1)")
    g.add_argument(
        "--init",
        help=f"initialization family: {one_of(inits.INITS)} (default pytorch), or a width-power "
        "spec (arXiv 2212.13111), e.g. 'width_power: W = H^(-1/7) |N|, b = H^(-1/2) N' "
        "(H = first hidden width; groups W, b, W1, b1, ...)",
    )
    g.add_argument("--zero-bias", action="store_true", default=None, help="all biases zero")
    g.add_argument("--init-scale", type=float, help="multiplies the init's standard deviation")


def _add_setting_flags(p: argparse.ArgumentParser) -> None:
    """Flags that mirror the ``[train]`` keys of a TOML config; unset flags keep the file's value."""
    g = p.add_argument_group("training setting (override the config file)")
    _add_init_flags(g)
    g.add_argument("--activation", help=f"{one_of(nets.ACTIVATION_NAMES)} (default relu)")
    g.add_argument("--target", help=f"target function: {one_of(problems.TARGETS)} (default x^2)")
    g.add_argument("--box", help="input box a:b or a1:b1,a2:b2,... (default 0:2; --box=-1:1)")
    g.add_argument("--noise", type=float, help="std of additive label noise (default 0)")
    g.add_argument(
        "--input-dist",
        help="law of X: uniform (default), normal:MEAN,STD[;MEAN,STD...] (one pair per "
        "coordinate), piecewise:E0,...,Em:P1;...;Pm (d = 1; Pi = c0,c1,... on piece i; "
        "support = the box)",
    )
    g.add_argument("--optimizer", help=f"{one_of(optim.OPTIMIZERS)} (default sgd)")
    g.add_argument("--lr", dest="learning_rate", type=float, help="learning rate (default 0.01)")
    g.add_argument("--schedule", help=f"{one_of(optim.SCHEDULES)} (default constant)")
    g.add_argument("--steps", type=int, help="optimizer steps (default 1000)")
    g.add_argument("--batch-size", type=int, help="samples per step (default 64)")
    g.add_argument("--data-size", type=int, help="fixed data set size (ERM); default: online")
    g.add_argument("--eval-size", type=int, help="samples for the final risk (default 8192)")
    g.add_argument("--float64", action="store_true", help="train in float64")
    g.add_argument(
        "--trainable", help="parameter groups that train, e.g. b1 or b1,W2 (default: all)"
    )
    add_data_flags(p)
    r = p.add_argument_group("run")
    r.add_argument("--trials", type=int, help="number of independent networks M (default 1000)")
    r.add_argument("--seed", type=int, help="trial i uses fold_in(key(seed), i) (default 0)")
    r.add_argument("--chunk-size", type=int, help="trials per compiled call (default 1024)")


_DATA_FLAGS = {
    "path": "data",
    "features": "features",
    "target_column": "target_column",
    "test_fraction": "test_fraction",
    "test_path": "test_data",
}


def add_data_flags(p: argparse.ArgumentParser, test: bool = True) -> None:
    """``--data FILE``, ``--features a,b,c``, ``--target-column y`` and (with ``test``)
    ``--test-fraction F`` / ``--test-data FILE``: the ``[data]`` table of a config file."""
    g = p.add_argument_group("data set shared by all trials (the [data] table; docs/data.md)")
    g.add_argument("--data", help="training data: .npy, .npz, .csv with a header, .parquet")
    g.add_argument("--features", help="input columns, e.g. age,bmi (default: all but the target)")
    g.add_argument("--target-column", help="the target column (default: the last one)")
    if test:
        g.add_argument("--test-fraction", type=float, help="hold out this fraction as test set")
        g.add_argument("--test-data", help="test file with the training file's columns")


def data_values(args, table: dict | None = None) -> dict | None:
    """The ``[data]`` table overridden by the data flags, or ``None`` when neither gives data."""
    values = dict(table or {})
    for key, flag in _DATA_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            values[key] = value
    if not values:
        return None
    if "path" not in values:
        raise config.ConfigError("--features, --target-column and --test-* need --data FILE")
    return values


def _setting_from_args(args) -> tuple:
    """``(TrainConfig, RunOptions)`` from an optional ``--config`` file overridden by flags."""
    train_values, run_values, data_table, base = {}, {}, None, None
    if getattr(args, "config", None):
        data, text = config.load(args.config, tables=("train", "run", "data"))
        train_values, run_values = dict(data.get("train", {})), dict(data.get("run", {}))
        data_table, base = data.get("data"), Path(args.config).parent
    flagged = set()  # keys whose value came from a flag, not from the file
    for key in config.TRAIN_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            train_values[key] = value
            flagged.add(key)
    if args.float64:
        train_values["dtype"] = "float64"
        flagged.add("dtype")
    for key in config.RUN_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            run_values[key] = value
            flagged.add(key)
    try:
        dv = data_values(args, data_table)
        if dv is not None and "path" in (data_table or {}) and getattr(args, "data", None):
            base = None  # a --data flag is relative to the working directory
        dataset = None if dv is None else config.data_from(dv, base)
        return config.build(train_values, run_values, data=dataset)
    except datasets.DataError:
        raise  # about the data file, not the config file's lines
    except config.ConfigError as e:
        # Point into the file only when the error is about the file's values: a bad --lr must not
        # be reported at the line of the file's (valid, overridden) learning_rate.
        if getattr(args, "config", None) and not flagged & set(config.named_keys(e)):
            raise config.with_line(e, args.config, text) from None
        raise


def _chunk_size(args, opts, n_trials: int, largest: int, smallest: int) -> int:
    """The chunk size given by flag or config file, else the smallest power of two in
    ``[smallest, largest]`` that holds ``n_trials`` (a fixed ladder of shapes: 10 trials must not
    cost like thousands)."""
    given = getattr(args, "chunk_size", None) is not None
    if not given and getattr(args, "config", None):
        given = "chunk_size" in config.load(args.config)[0].get("run", {})
    if given:
        return opts.chunk_size
    from jaxnn_nonconv import estimation

    return estimation.default_chunk(n_trials, largest, smallest)


def add_detector_flags(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--mode``, ``--grid``, ``--sample-size``, ``--max-points`` (``estimate``, ``check``,
    ``advise``); returns their argument group."""
    d = p.add_argument_group("detector")
    d.add_argument(
        "--mode",
        choices=detector.MODES,
        default="auto",
        help="exact (d <= 2), crown (linear bounds + branch and bound) or ibp; auto picks "
        "exact for d <= 2, crown otherwise (default)",
    )
    d.add_argument("--grid", type=int, help="ibp sub-boxes per coordinate (default ~256 cells)")
    d.add_argument(
        "--sample-size",
        type=int,
        default=64,
        help="fixed random sample for the empirical check (default 64)",
    )
    d.add_argument(
        "--max-points",
        type=int,
        default=1024,
        help="breakpoint capacity of the exact mode; more breakpoints leave neurons unknown "
        "(default 1024)",
    )
    return d


def detector_settings(args) -> detector.DetectorSettings:
    """The flags of :func:`add_detector_flags` as a
    :class:`~jaxnn_nonconv.detector.DetectorSettings`, checked here with messages that name the
    flags (the input dimension is checked by each command)."""
    for name, least in (("grid", 1), ("sample_size", 1), ("max_points", 2)):
        value = getattr(args, name)
        if value is not None and value < least:
            need = "a positive integer" if least == 1 else f"an integer >= {least}"
            raise config.ConfigError(f"--{name.replace('_', '-')} must be {need}")
    return detector.DetectorSettings(
        mode=args.mode, grid=args.grid, n_probe=args.sample_size, max_points=args.max_points
    )


def _add_precision_flags(p, of: tuple[str, ...], default_max: int, deprecated=()) -> None:
    """``--rel-error``/``--ci-width`` with ``--max-trials`` and ``--precision-of`` (``deprecated``:
    old names still accepted, not listed in ``--help``)."""
    g = p.add_argument_group("precision target (instead of a fixed number of trials)")
    x = g.add_mutually_exclusive_group()
    x.add_argument(
        "--rel-error",
        type=float,
        help="add chunks until half the interval is at most this fraction of the estimate",
    )
    x.add_argument("--ci-width", type=float, help="add chunks until the interval is this narrow")
    g.add_argument(
        "--max-trials",
        type=int,
        default=default_max,
        help=f"cap on trials with a precision target (default {default_max})",
    )
    g.add_argument(
        "--precision-of",
        choices=(*of, *deprecated),
        metavar="{" + ",".join(of) + "}",
        default=of[0],
        help=f"the estimate the target applies to (default {of[0]})",
    )


def _precision(args):
    """A :class:`~jaxnn_nonconv.stats.precision.Precision` from the flags, or ``None``."""
    if getattr(args, "rel_error", None) is None and getattr(args, "ci_width", None) is None:
        return None
    from jaxnn_nonconv.stats import Precision

    for name in ("rel_error", "ci_width"):
        v = getattr(args, name)
        if v is not None and not (np.isfinite(v) and v > 0):
            raise config.ConfigError(f"--{name.replace('_', '-')} must be a number > 0, got {v}")
    if not 0 < args.max_trials <= config.MAX_TRIALS:
        raise config.ConfigError(f"--max-trials must be in [1, 2**31], got {args.max_trials}")
    return Precision(args.precision_of, args.rel_error, args.ci_width, args.max_trials)


def _check_confidence(args) -> None:
    if not 0 < args.confidence < 1:
        raise config.ConfigError(f"confidence must be in (0, 1), got {args.confidence}")


def _add_distributed_flags(p: argparse.ArgumentParser) -> None:
    """``--coordinator --num-processes --process-id`` (``run``, ``train``, ``estimate``)."""
    from jaxnn_nonconv.engine import distributed

    distributed.add_flags(p)


def _is_leader() -> bool:
    """Whether this process prints (process 0 under ``jax.distributed``, else always)."""
    from jaxnn_nonconv.engine import distributed

    return distributed.is_leader()


def emit(result, as_json: bool, table: Callable[[Any], None]) -> int:
    """The one output path of every subcommand: ``result`` as JSON on stdout (``--json``; an
    object with ``to_dict()`` or a JSON-ready mapping), else ``table(result)``; only process 0
    prints under ``jax.distributed``. Returns the exit code 0."""
    if not _is_leader():
        return 0
    if as_json:
        from jaxnn_nonconv.stats import dumps_json

        print(dumps_json(result, indent=2))  # NaN/inf as null: a diverged run stays valid JSON
    else:
        table(result)
    return 0
