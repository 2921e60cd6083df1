"""``jaxnn-nonconv train``: train M independent networks, P(training failed) by each criterion."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jaxnn_nonconv.cli._common import (
    _add_distributed_flags,
    _add_precision_flags,
    _add_setting_flags,
    _check_confidence,
    _chunk_size,
    _is_leader,
    _precision,
    _setting_from_args,
    emit,
    setup_jax,
)
from jaxnn_nonconv.experiments import config


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
        p,
        (
            "risk_gap",
            "inactive_at_end",
            "constant_at_end",
            "inactive_at_init",
            "inactive_on_data_at_init",
            "inactive_on_data_at_end",
            "constant_on_data_at_end",
        ),
        10**5,
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument(
        "--save",
        metavar="DIR",
        help="write the per-trial arrays (params0, params, empirical_risk, trial, ...) to "
        "DIR/trials.npz",
    )
    _add_distributed_flags(p)
    p.set_defaults(func=cmd_train)


SAVED = ("trial", "params0", "params", "empirical_risk", "empirical_risk0", "test_risk0")
SAVED += ("test_risk", "risk0", "risk", "diverged", "learning_rate")


def save_trials(directory, result) -> Path:
    """``directory/trials.npz`` with the per-trial arrays of :data:`SAVED` that ``result`` holds
    (``empirical_risk`` with a data set), written to a temporary name and renamed."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise config.ConfigError(
            f"--save {directory}: cannot create the folder ({e.strerror})"
        ) from None
    path = out / "trials.npz"
    tmp = out / "trials.npz.tmp.npz"
    np.savez(tmp, **{k: np.asarray(result[k]) for k in SAVED if k in result})
    os.replace(tmp, path)
    return path


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
        keep_result=args.save is not None,
    )
    if args.save is not None and _is_leader():
        save_trials(args.save, summary.result)
    return emit(summary, args.json, estimation.print_train)
