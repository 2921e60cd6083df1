"""Command-line interface ``jaxnn-nonconv``.

Each subcommand is an ``_add_<name>(subparsers)`` that declares its flags and a ``cmd_<name>(args)``
that runs it. Bad input raises :class:`~jaxnn_nonconv.config.ConfigError` (or argparse's own
error), which :func:`main` turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from jaxnn_nonconv import config

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line: raises :class:`ConfigError` instead of printing the
    usage and exiting, so :func:`main` reports every bad input the same way. Subcommand parsers
    inherit the class."""

    def error(self, message: str):
        if "expected one argument" in message:
            message += " (write a value that starts with '-' as --flag=VALUE, e.g. --box=-1:1)"
        raise config.ConfigError(f"{message} (see '{self.prog} --help')")


def _setup_jax(float64: bool, args=None) -> None:
    """Global JAX settings, and ``jax.distributed`` when ``args`` asks for it or the environment
    is a multi-process job; must run before any array exists."""
    import jax

    if args is not None and hasattr(args, "num_processes"):
        from jaxnn_nonconv import distributed

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


def _quantiles(x: np.ndarray) -> dict:
    if x.size == 0:
        return {}
    q = np.quantile(x, [0.0, 0.05, 0.5, 0.95, 1.0])
    return {k: float(v) for k, v in zip(("min", "q05", "median", "q95", "max"), q)}


def _add_distributed_flags(p: argparse.ArgumentParser) -> None:
    """``--coordinator --num-processes --process-id`` (``run``, ``train``, ``estimate``)."""
    from jaxnn_nonconv import distributed

    distributed.add_flags(p)


def _is_leader() -> bool:
    """Whether this process prints (process 0 under ``jax.distributed``, else always)."""
    from jaxnn_nonconv import distributed

    return distributed.is_leader()


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train M independent networks and summarize their final risks")
    p.add_argument("config", nargs="?", help="TOML config with [train] and [run] tables")
    _add_setting_flags(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    cfg, opts = _setting_from_args(args)
    _setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import problems, train

    levels = problems.reference_levels(cfg.problem)
    t0 = time.perf_counter()
    res = train.run(cfg, opts.trials, seed=opts.seed, chunk_size=opts.chunk_size)
    wall = time.perf_counter() - t0
    ok = ~res["diverged"]
    risk = res["risk"][ok]
    summary = {
        "config": cfg.to_dict(),
        "trials": opts.trials,
        "seed": opts.seed,
        "chunk_size": opts.chunk_size,
        "wall_s": wall,
        "diverged": int(res["diverged"].sum()),
        "risk": _quantiles(risk),
        "levels": {"constant": levels.constant, "affine": levels.affine},
        "fraction_at_or_below_constant_level": float(np.mean(risk <= levels.constant))
        if risk.size
        else None,
    }
    if not _is_leader():
        return 0
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_train(summary)
    return 0


def _print_train(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    c = s["config"]
    t = Table(title=f"{s['trials']} trials of {c['arch']} {c['optimizer']} lr={c['learning_rate']}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for k, v in s["risk"].items():
        t.add_row(f"final risk {k}", f"{v:.6g}")
    t.add_row("best constant risk Var f(X)", f"{s['levels']['constant']:.6g}")
    t.add_row("best affine risk", f"{s['levels']['affine']:.6g}")
    frac = s["fraction_at_or_below_constant_level"]
    t.add_row("fraction at or below Var f(X)", "n/a" if frac is None else f"{frac:.4f}")
    t.add_row("diverged trials", str(s["diverged"]))
    t.add_row("wall time (s)", f"{s['wall_s']:.2f}")
    Console().print(t)


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
    g.add_argument("--chunk-size", type=int, help="trials per compiled call (default 16384)")
    d = p.add_argument_group("detector")
    d.add_argument(
        "--mode",
        choices=("auto", "exact", "ibp"),
        default="auto",
        help="exact (d = 1, decides every neuron) or ibp; auto picks (default)",
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
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_estimate)


def cmd_estimate(args) -> int:
    if args.chunk_size is None and not getattr(args, "config", None):
        args.chunk_size = 2**14
    cfg, opts = _setting_from_args(args)
    if not 0 < args.confidence < 1:
        raise config.ConfigError(f"confidence must be in (0, 1), got {args.confidence}")
    for name, least in (("grid", 1), ("sample_size", 1), ("max_points", 2)):
        value = getattr(args, name)
        if value is not None and value < least:
            need = "a positive integer" if least == 1 else f"an integer >= {least}"
            raise config.ConfigError(f"--{name.replace('_', '-')} must be {need}")
    if args.mode == "exact" and cfg.arch[0] != 1:
        raise config.ConfigError(f"--mode exact needs input dimension 1, got {cfg.arch[0]}")
    _setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import estimate

    summary = estimate.estimate_at_init(
        cfg,
        opts.trials,
        seed=opts.seed,
        chunk_size=opts.chunk_size,
        confidence=args.confidence,
        mode=args.mode,
        grid=args.grid,
        n_probe=args.sample_size,
        max_points=args.max_points,
    )
    if not _is_leader():
        return 0
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        estimate.print_summary(summary)
    return 0


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run an experiment config (resumable) and store its results")
    p.add_argument("config", help="experiment TOML, e.g. experiments/shallow_width.toml")
    p.add_argument("--out", required=True, help="results directory (re-run to resume)")
    p.add_argument("--full", action="store_true", help="the GPU-sized [full] variant")
    p.add_argument("--overwrite", action="store_true", help="replace results of another config")
    p.add_argument("--no-report", action="store_true", help="skip writing tables and figures")
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from jaxnn_nonconv import experiments

    exp = experiments.load(args.config, full=args.full)
    _setup_jax(False, args)
    out = experiments.run(exp, args.out, overwrite=args.overwrite)
    if not args.no_report and _is_leader():
        _print_report(out, json_output=False)
    return 0


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="tables and figures from stored results (no re-running)")
    p.add_argument("dir", help="results directory written by `run`")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    _setup_jax(False)
    _print_report(args.dir, json_output=args.json)
    return 0


def _print_report(out_dir, json_output: bool) -> None:
    from jaxnn_nonconv import report

    summary = report.report(out_dir)
    if summary["warning"]:
        print(f"warning: {summary['warning']}", file=sys.stderr)
    if json_output:
        print(json.dumps(summary, indent=2, default=report._jsonable))
        return
    report.print_summary(summary)


def _add_bench(sub) -> None:
    from benchmarks import bench

    p = sub.add_parser("bench", help="throughput vs a per-trial JAX loop and PyTorch (benchmarks/)")
    bench.add_arguments(p)
    p.set_defaults(func=bench.main_from_args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxnn-nonconv",
        description="How likely is gradient training of a ReLU network to fail, and why?",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_estimate, _add_run, _add_report, _add_bench):
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
