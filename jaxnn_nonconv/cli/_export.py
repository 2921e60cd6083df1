"""``jaxnn-nonconv export RUN_DIR --out trials.parquet`` (or ``.csv``): one row per trial.

The table of :func:`jaxnn_nonconv.experiments.load_trials` (swept parameters, seed, trial,
learning rate, risks, inactive counts per layer at init and at the end, constant flags,
diverged), written with pandas (Parquet through pyarrow). Bad input is a
:class:`~jaxnn_nonconv.errors.ConfigError`: one line on stderr, exit code 2.
"""

from __future__ import annotations

import sys


def add_export(sub) -> None:
    p = sub.add_parser("export", help="a run directory as one table: one row per trial")
    p.add_argument("run_dir", help="results directory of 'jaxnn-nonconv run'")
    p.add_argument("--out", required=True, help="table file: .parquet or .csv")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from jaxnn_nonconv.experiments import export

    n = export(args.run_dir, args.out)
    print(f"wrote {n} rows to {args.out}", file=sys.stderr)
    return 0
