"""``jaxnn-nonconv estimate``: P(inactive neurons) and P(constant net) at initialization, vs
theory; ``--method splitting`` for probabilities far too small for plain Monte Carlo.
"""

from __future__ import annotations

from jaxnn_nonconv.cli._common import (
    _add_distributed_flags,
    _add_init_flags,
    _add_precision_flags,
    _check_confidence,
    _chunk_size,
    _precision,
    _setting_from_args,
    add_data_flags,
    add_detector_flags,
    detector_settings,
    emit,
    setup_jax,
)
from jaxnn_nonconv.estimation import require_hidden
from jaxnn_nonconv.experiments import config


def _add_estimate(sub) -> None:
    p = sub.add_parser(
        "estimate", help="P(inactive neurons) and P(constant net) at initialization, vs theory"
    )
    p.add_argument("config", nargs="?", help="TOML config with [train] and [run] tables")
    g = p.add_argument_group("setting (override the config file)")
    _add_init_flags(g)
    g.add_argument(
        "--activation",
        help="relu (default); repu:P (inactive exactly as relu) and clip (also reports "
        "first_layer_neuron_frozen: dead or saturated); deeper layers of repu:P and clip nets "
        "are certified by interval bounds (--mode ibp)",
    )
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
    add_data_flags(p, test=False)
    d = add_detector_flags(p)
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
    require_hidden(cfg.arch, "estimate")
    _check_confidence(args)
    precision = _precision(args)
    n = precision.max_trials if precision else opts.trials
    chunk = _chunk_size(args, opts, n, largest=2**14, smallest=2**8)
    settings = detector_settings(args)
    if args.mode == "exact" and cfg.arch[0] > 2:
        raise config.ConfigError(f"--mode exact needs input dimension 1 or 2, got {cfg.arch[0]}")
    if args.method == "splitting" and precision is not None:
        raise config.ConfigError(
            "--rel-error / --ci-width work with --method mc only; with splitting, raise --trials "
            "(particles) or --replicates instead"
        )
    if cfg.data is not None and (args.method == "splitting" or precision is not None):
        raise config.ConfigError("--data works with --method mc and a fixed --trials")
    if detector_deep(cfg) and (args.method == "splitting" or cfg.data is not None):
        raise config.ConfigError(
            f"--method splitting and --data model ReLU after the first layer; {cfg.activation} "
            "nets with more than one hidden layer work with --method mc on the box"
        )
    if args.method == "splitting" or args.replicates is not None:
        return _estimate_splitting(args, cfg, opts)
    setup_jax(cfg.dtype == "float64", args)
    from jaxnn_nonconv import detector, estimation

    if reason := detector.not_applicable(cfg.activation, cfg.arch):
        raise config.ConfigError(f"estimate counts inactive ReLU neurons, but {reason}")
    summary = estimation.estimate_at_init(
        cfg,
        opts.trials,
        seed=opts.seed,
        chunk_size=chunk,
        confidence=args.confidence,
        settings=settings,
        precision=precision,
    )
    if cfg.data is not None:  # the data as the domain, next to its bounding box
        on_data = estimation.data_at_init(
            cfg,
            opts.trials,
            cfg.data.x,
            seed=opts.seed,
            chunk_size=chunk,
            confidence=args.confidence,
        )
        out = {**summary.to_dict(), "data": cfg.data.to_dict(), "on_data": on_data}
        return emit(out, args.json, estimation.print_summary_on_data)
    return emit(summary, args.json, estimation.print_summary)


def detector_deep(cfg) -> bool:
    """A ``clip`` or ``repu:P`` net with more than one hidden layer (interval bounds)."""
    act = cfg.activation
    return (act == "clip" or act.startswith("repu:")) and len(cfg.arch) > 3


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
    return emit(summary, args.json, rare.print_splitting)
