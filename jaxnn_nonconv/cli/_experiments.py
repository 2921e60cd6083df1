"""``jaxnn-nonconv run`` (a resumable experiment file) and ``jaxnn-nonconv report`` (its tables
and figures, nothing re-run).
"""

from __future__ import annotations

import dataclasses
import sys

from jaxnn_nonconv.cli._common import (
    _add_distributed_flags,
    _add_precision_flags,
    _is_leader,
    _precision,
    setup_jax,
)
from jaxnn_nonconv.experiments import config


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
    from jaxnn_nonconv.experiments import DEPRECATED_PRECISION_OF, PRECISION_OF

    _add_precision_flags(p, PRECISION_OF, 10**5, tuple(DEPRECATED_PRECISION_OF))
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_run)


EXIT_INTERRUPTED = 130  # 128 + SIGINT


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
    try:
        out = experiments.run_experiment(
            exp, args.out, overwrite=args.overwrite, precision=precision
        )
    except KeyboardInterrupt:
        # Ctrl-C: every finished chunk is already on disk (written atomically), so say how to go
        # on instead of printing a traceback; 130 = 128 + SIGINT, the shell's convention.
        print(
            f"interrupted: the finished chunks are kept in {args.out}; run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
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
        from jaxnn_nonconv.stats import dumps_json

        print(dumps_json(summary, indent=2))
        return
    report.print_summary(summary)
