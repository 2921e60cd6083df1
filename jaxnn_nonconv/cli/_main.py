"""Command-line interface ``jaxnn-nonconv``.

Each subcommand is an ``_add_<name>(subparsers)`` that declares its flags and a ``cmd_<name>(args)``
that runs it. Bad input raises :class:`~jaxnn_nonconv.errors.ConfigError` (or argparse's own
error), which :func:`main` turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from jaxnn_nonconv.cli import _models as cli_model
from jaxnn_nonconv.cli._common import EXIT_USAGE, _Parser
from jaxnn_nonconv.cli._estimate import _add_estimate
from jaxnn_nonconv.cli._experiments import _add_report, _add_run
from jaxnn_nonconv.cli._export import add_export
from jaxnn_nonconv.cli._flow import add_flow, add_levels
from jaxnn_nonconv.cli._train import _add_train
from jaxnn_nonconv.experiments import config


def _add_bench(sub) -> None:
    from jaxnn_nonconv import bench

    p = sub.add_parser(
        "bench", help="throughput vs a per-trial JAX loop and PyTorch (jaxnn_nonconv.bench)"
    )
    bench.add_arguments(p)
    p.set_defaults(func=bench.main_from_args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxnn-nonconv",
        description="How likely is gradient training of a ReLU network to fail, and why?",
    )
    from jaxnn_nonconv.version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_estimate, _add_run, _add_report, _add_bench):
        add(sub)
    for add in (cli_model.add_check, cli_model.add_advise):  # your own network and data
        add(sub)
    add_export(sub)  # a run directory as one table
    for add in (add_flow, add_levels):  # gradient flow on the exact risk, the levels R_k
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except config.ConfigError as e:
        message = str(e)
    except Exception as e:  # a chunk too large for memory is bad input too, not a crash
        # Host MemoryError (NumPy's allocation errors included) or XLA's RESOURCE_EXHAUSTED.
        import jax  # loaded already: only a computation can run out of memory

        oom = isinstance(e, MemoryError) or (
            isinstance(e, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(e)
        )
        if not oom:
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        hint = getattr(args, "oom_hint", None)  # a hint that names flags the command has
        if hint is None:
            hint = "use a smaller --chunk-size" if hasattr(args, "chunk_size") else "use less"
        message = f"out of memory ({first}); {hint}"
    message = " ".join(message.split())  # exactly one line, whatever the message holds
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
