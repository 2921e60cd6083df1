"""Command-line interface ``jaxnn-nonconv``.

Each subcommand is an ``_add_<name>(subparsers)`` that declares its flags and a ``cmd_<name>(args)``
that runs it. Bad input raises :class:`~jaxnn_nonconv.errors.ConfigError` (or argparse's own
error), which :func:`main` turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from jaxnn_nonconv.cli import _models as cli_model
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


def setup_jax(float64: bool, args=None) -> None:
    """Global JAX settings, and ``jax.distributed`` when ``args`` asks for it or the environment
    is a multi-process job; must run before any array exists."""
    import jax

    if args is not None and hasattr(args, "num_processes"):
        from jaxnn_nonconv.engine import distributed

        distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    if float64:
        jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("JAXNN_NONCONV_CACHE", str(Path.home() / ".cache" / "jaxnn_nonconv"))
    if cache:  # the persistent compilation cache makes a repeated CLI call start in a second
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def _add_init_flags(g) -> None:
    """The network and its initialization: shared by ``train`` and ``estimate``."""
    g.add_argument("--arch", help="widths, e.g. 1,32,1 (default 1,32,1)")
    g.add_argument("--init", help="initialization family (default pytorch)")
    g.add_argument("--zero-bias", action="store_true", default=None, help="all biases zero")
    g.add_argument("--init-scale", type=float, help="multiplies the init's standard deviation")


def _add_setting_flags(p: argparse.ArgumentParser) -> None:
    """Flags that mirror the ``[train]`` keys of a TOML config; unset flags keep the file's value."""
    g = p.add_argument_group("training setting (override the config file)")
    _add_init_flags(g)
    g.add_argument("--activation", help="relu, leaky_relu or softplus (default relu)")
    g.add_argument("--target", help="target function, e.g. 'x^2' (default)")
    g.add_argument("--box", help="input box a:b or a1:b1,a2:b2,... (default 0:2; --box=-1:1)")
    g.add_argument("--noise", type=float, help="std of additive label noise (default 0)")
    g.add_argument("--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam, ...")
    g.add_argument("--lr", dest="learning_rate", type=float, help="learning rate (default 0.01)")
    g.add_argument("--schedule", help="constant, power, step or cosine")
    g.add_argument("--steps", type=int, help="optimizer steps (default 1000)")
    g.add_argument("--batch-size", type=int, help="samples per step (default 64)")
    g.add_argument("--data-size", type=int, help="fixed data set size (ERM); default: online")
    g.add_argument("--eval-size", type=int, help="samples for the final risk (default 8192)")
    g.add_argument("--float64", action="store_true", help="train in float64")
    r = p.add_argument_group("run")
    r.add_argument("--trials", type=int, help="number of independent networks M (default 1000)")
    r.add_argument("--seed", type=int, help="trial i uses fold_in(key(seed), i) (default 0)")
    r.add_argument("--chunk-size", type=int, help="trials per compiled call (default 1024)")


def _setting_from_args(args) -> tuple:
    """``(TrainConfig, RunOptions)`` from an optional ``--config`` file overridden by flags."""
    train_values, run_values = {}, {}
    if getattr(args, "config", None):
        data, text = config.load(args.config)
        train_values, run_values = dict(data.get("train", {})), dict(data.get("run", {}))
    flagged = set()  # keys whose value came from a flag, not from the file
    for key in config._TRAIN_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            train_values[key] = value
            flagged.add(key)
    if args.float64:
        train_values["dtype"] = "float64"
        flagged.add("dtype")
    for key in config._RUN_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            run_values[key] = value
            flagged.add(key)
    try:
        return config.build(train_values, run_values)
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


def _add_precision_flags(p, of: tuple[str, ...], default_max: int) -> None:
    """``--rel-error``/``--ci-width`` with ``--max-trials`` and ``--precision-of``."""
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
        choices=of,
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


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train", help="train M independent networks: P(training failed) by each criterion"
    )
    p.add_argument("config", nargs="?", help="TOML config with [train] and [run] tables")
    _add_setting_flags(p)
    f = p.add_argument_group("failure criteria")
    f.add_argument(
        "--tol",
        type=float,
        default=1e-3,
        help="risk_gap: a trial fails when its final risk exceeds the best found + tol "
        "(default 1e-3)",
    )
    f.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    _add_precision_flags(
        p, ("risk_gap", "inactive_at_end", "constant_at_end", "inactive_at_init"), 10**5
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    cfg, opts = _setting_from_args(args)
    _check_confidence(args)
    if not (np.isfinite(args.tol) and args.tol >= 0):
        raise config.ConfigError(f"--tol must be a finite number >= 0, got {args.tol}")
    precision = _precision(args)
    n = precision.max_trials if precision else opts.trials
    chunk = _chunk_size(args, opts, n, largest=1024, smallest=16)
    setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import estimation

    summary = estimation.train_failure(
        cfg,
        opts.trials,
        seed=opts.seed,
        chunk_size=chunk,
        tol=args.tol,
        confidence=args.confidence,
        precision=precision,
    )
    if not _is_leader():
        return 0
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        estimation.print_train(summary)
    return 0


def _add_estimate(sub) -> None:
    p = sub.add_parser(
        "estimate", help="P(inactive neurons) and P(constant net) at initialization, vs theory"
    )
    p.add_argument("config", nargs="?", help="TOML config with [train] and [run] tables")
    g = p.add_argument_group("setting (override the config file)")
    _add_init_flags(g)
    g.add_argument("--box", help="input box a:b or a1:b1,a2:b2,... (default 0:2; --box=-1:1)")
    g.add_argument("--float64", action="store_true", help="parameters in float64")
    g.add_argument("--trials", type=int, help="number of independent networks M (default 1000)")
    g.add_argument("--seed", type=int, help="trial i uses fold_in(key(seed), i) (default 0)")
    g.add_argument(
        "--chunk-size",
        type=int,
        help="trials per compiled call (default: a power of two from 256 to 16384 that holds "
        "the trials)",
    )
    d = p.add_argument_group("detector")
    d.add_argument(
        "--mode",
        choices=("auto", "exact", "ibp", "crown"),
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
    d.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    _add_precision_flags(
        p, ("any_inactive", "first_layer_neuron_inactive", "constant_network"), 10**7
    )
    m = p.add_argument_group("method")
    m.add_argument(
        "--method",
        choices=("mc", "splitting"),
        default="mc",
        help="mc: plain Monte Carlo (default); splitting: layer-by-layer splitting for tiny "
        "probabilities (--trials is then the number of particles per replicate)",
    )
    m.add_argument("--replicates", type=int, help="splitting: independent runs (default 8)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_estimate)


def cmd_estimate(args) -> int:
    cfg, opts = _setting_from_args(args)
    _check_confidence(args)
    precision = _precision(args)
    n = precision.max_trials if precision else opts.trials
    chunk = _chunk_size(args, opts, n, largest=2**14, smallest=2**8)
    for name, least in (("grid", 1), ("sample_size", 1), ("max_points", 2)):
        value = getattr(args, name)
        if value is not None and value < least:
            need = "a positive integer" if least == 1 else f"an integer >= {least}"
            raise config.ConfigError(f"--{name.replace('_', '-')} must be {need}")
    if args.mode == "exact" and cfg.arch[0] > 2:
        raise config.ConfigError(f"--mode exact needs input dimension 1 or 2, got {cfg.arch[0]}")
    if args.method == "splitting" and precision is not None:
        raise config.ConfigError(
            "--rel-error / --ci-width work with --method mc only; with splitting, raise --trials "
            "(particles) or --replicates instead"
        )
    if args.method == "splitting" or args.replicates is not None:
        return _estimate_splitting(args, cfg, opts)
    setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import detector, estimation

    if reason := detector.not_applicable(cfg.activation):
        raise config.ConfigError(f"estimate counts inactive ReLU neurons, but {reason}")
    summary = estimation.estimate_at_init(
        cfg,
        opts.trials,
        seed=opts.seed,
        chunk_size=chunk,
        confidence=args.confidence,
        mode=args.mode,
        grid=args.grid,
        n_probe=args.sample_size,
        max_points=args.max_points,
        precision=precision,
    )
    if not _is_leader():
        return 0
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        estimation.print_summary(summary)
    return 0


def _estimate_splitting(args, cfg, opts) -> int:
    if args.method != "splitting":
        raise config.ConfigError("--replicates needs --method splitting")
    replicates = 8 if args.replicates is None else args.replicates
    if replicates < 2:
        raise config.ConfigError(f"--replicates must be an integer >= 2, got {replicates}")
    if opts.trials < 2:
        raise config.ConfigError(f"--trials (particles) must be >= 2, got {opts.trials}")
    setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import rare

    summary = rare.splitting_summary(
        cfg,
        opts.trials,
        replicates,
        seed=opts.seed,
        confidence=args.confidence,
        max_points=rare.DEFAULT_MAX_POINTS if args.max_points == 1024 else args.max_points,
    )
    if not _is_leader():
        return 0
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        rare.print_splitting(summary)
    return 0


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run an experiment config (resumable) and store its results")
    p.add_argument("config", help="experiment TOML, e.g. experiments/shallow_width.toml")
    p.add_argument("--out", required=True, help="results directory (re-run to resume)")
    p.add_argument("--full", action="store_true", help="the GPU-sized [full] variant")
    p.add_argument("--overwrite", action="store_true", help="replace results of another config")
    p.add_argument("--no-report", action="store_true", help="skip writing tables and figures")
    p.add_argument(
        "--trials",
        type=int,
        help="trials per cell (default: the config's); more than stored grows the run",
    )
    from jaxnn_nonconv.experiments import PRECISION_OF

    _add_precision_flags(p, PRECISION_OF, 10**5)
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from jaxnn_nonconv import experiments

    exp = experiments.load(args.config, full=args.full)
    if args.trials is not None:
        if not 0 < args.trials <= config.MAX_TRIALS:
            raise config.ConfigError(f"--trials must be in [1, 2**31], got {args.trials}")
        exp = dataclasses.replace(exp, trials=args.trials)
    precision = _precision(args)
    float64 = any(exp.cell_config(cell).dtype == "float64" for cell in exp.cells())
    setup_jax(float64, args)
    out = experiments.run(exp, args.out, overwrite=args.overwrite, precision=precision)
    if not args.no_report and _is_leader():
        _print_report(out, json_output=False)
    return 0


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="tables and figures from stored results (no re-running)")
    p.add_argument("dir", help="results directory written by `run`")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    setup_jax(False)
    _print_report(args.dir, json_output=args.json)
    return 0


def _print_report(out_dir, json_output: bool) -> None:
    from jaxnn_nonconv.experiments import report

    summary = report.report(out_dir)
    if summary["warning"]:
        print(f"warning: {summary['warning']}", file=sys.stderr)
    if json_output:
        print(json.dumps(summary, indent=2, default=report.jsonable))
        return
    report.print_summary(summary)


def _add_bench(sub) -> None:
    from jaxnn_nonconv import bench

    p = sub.add_parser("bench", help="throughput vs a per-trial JAX loop and PyTorch (jaxnn_nonconv.bench)")
    bench.add_arguments(p)
    p.set_defaults(func=bench.main_from_args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxnn-nonconv",
        description="How likely is gradient training of a ReLU network to fail, and why?",
    )
    from jaxnn_nonconv import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_estimate, _add_run, _add_report, _add_bench):
        add(sub)
    for add in (cli_model.add_check, cli_model.add_advise):  # your own network and data
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except config.ConfigError as e:
        message = str(e)
    except Exception as e:  # a chunk too large for memory is bad input too, not a crash
        # Host MemoryError (NumPy's allocation errors included) or XLA's RESOURCE_EXHAUSTED.
        oom = isinstance(e, MemoryError) or (
            type(e).__name__ in ("JaxRuntimeError", "XlaRuntimeError")
            and "RESOURCE_EXHAUSTED" in str(e)
        )
        if not oom:
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        message = f"out of memory ({first}); use a smaller --chunk-size"
    message = " ".join(message.split())  # exactly one line, whatever the message holds
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
