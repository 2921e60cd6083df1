"""``jaxnn-nonconv flow``: gradient flow (or full-batch GD) on the exact ``d = 1`` risk, where
the trajectories stop and how fast; ``jaxnn-nonconv levels``: the risk levels ``R_0..R_H`` by the
search and by least squares, the lower kept.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from jaxnn_nonconv.cli._common import emit, setup_jax
from jaxnn_nonconv.core import distributions
from jaxnn_nonconv.experiments import config


def _problem(args):
    from jaxnn_nonconv.core import problems

    config.check_name("target", args.target, problems.TARGETS)
    box = config.parse_box(args.box)
    if len(box) != 1:
        raise config.ConfigError(
            f"--box: gradient flow on the exact risk needs d = 1, got {args.box}"
        )
    law = None
    if getattr(args, "input_dist", None) is not None:  # ``levels`` only
        law = config.parse_input_dist(args.input_dist, box)
    try:
        return problems.Problem(args.target, box, distribution=law).validate()
    except ValueError as e:
        raise config.ConfigError(str(e)) from None


def _positive(name: str, value, integer: bool = False) -> None:
    ok = value is not None and math.isfinite(value) and value > 0
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        need = "a positive integer" if integer else "a finite number > 0"
        raise config.ConfigError(f"--{name} must be {need}, got {value}")


def add_flow(sub) -> None:
    p = sub.add_parser(
        "flow", help="gradient flow / full-batch GD on the exact d = 1 risk: limits and rates"
    )
    p.add_argument("--arch", default="1,4,1", help="widths, input and output 1 (default 1,4,1)")
    p.add_argument("--target", default="x^2", help="built-in target (default x^2)")
    p.add_argument("--box", default="0:2", help="input interval a:b (default 0:2; --box=-1:1)")
    p.add_argument("--trials", type=int, default=64, help="trajectories (default 64)")
    p.add_argument("--method", choices=("ode", "gd"), default="ode", help="ode (default) or gd")
    p.add_argument("--step", type=float, default=0.005, help="GD step eta (default 0.005)")
    p.add_argument("--t-max", type=float, default=200.0, help="end time (default 200)")
    p.add_argument("--grad-tol", type=float, default=1e-10, help="stop at ||grad R|| < this")
    p.add_argument("--init", default="pytorch", help="initialization family (default pytorch)")
    p.add_argument("--init-scale", type=float, default=1.0, help="init std multiplier")
    p.add_argument(
        "--output-offset", type=float, default=0.0, help="added to the output bias at t = 0"
    )
    p.add_argument("--seed", type=int, default=0, help="trial i uses fold_in(key(seed), i)")
    p.add_argument("--chunk-size", type=int, default=64, help="trajectories per compiled call")
    p.add_argument(
        "--slope-bound",
        type=float,
        default=1e3,
        help="bounded_fraction counts ends with max_j |v_j| ||w_j|| <= this (default 1e3)",
    )
    p.add_argument("--save", metavar="DIR", help="write DIR/flow.npz (per-trial arrays)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_flow)


def cmd_flow(args) -> int:
    arch = config.parse_arch(args.arch)
    if arch[0] != 1 or len(arch) < 3:
        raise config.ConfigError(f"--arch must be 1,...,1 with a hidden layer, got {args.arch}")
    problem = _problem(args)
    for name in ("trials", "chunk_size"):
        _positive(name.replace("_", "-"), getattr(args, name), integer=True)
    if args.trials > 10**7:
        raise config.ConfigError(f"--trials must be at most 1e7, got {args.trials}")
    for name in ("step", "t_max", "grad_tol", "init_scale", "slope_bound"):
        _positive(name.replace("_", "-"), getattr(args, name))
    if not (0 <= args.seed < config.SEED_BOUND):
        raise config.ConfigError(f"--seed must be in [0, 2**32), got {args.seed}")
    setup_jax(False)
    from jaxnn_nonconv import flow

    settings = flow.FlowSettings(
        method=args.method,
        step=args.step,
        t_max=args.t_max,
        grad_tol=args.grad_tol,
        init=args.init,
        init_scale=args.init_scale,
        output_offset=args.output_offset,
        seed=args.seed,
        chunk_size=args.chunk_size,
    )
    try:
        settings.validate()
        result = flow.run_flow(arch, problem, args.trials, settings)
    except ValueError as e:
        raise config.ConfigError(str(e)) from None
    rungs = flow.ladder(problem, arch)
    summary = flow.summarize(result, arch, problem, settings, rungs, slope_bound=args.slope_bound)
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(
            out / "flow.npz",
            params0=result["params0"],
            params=result["params"],
            risk_final=result["risk_final"],
            grad_norm_final=result["grad_norm_final"],
            t_final=result["t_final"],
        )
    return emit(summary, args.json, _print_flow)


def _print_flow(s: dict) -> None:
    print(f"{s['trials']} trajectories, method {s['method']}")
    print("limits on the ladder of critical values:")
    for lim in s["limits"]:
        risk = "-" if lim["risk"] is None else f"{lim['risk']:.8g}"
        print(f"  {lim['name']:>9}  risk {risk:>14}  count {lim['count']}")
    r = s["rate"]
    print(
        f"rate: R - R_inf ~ t^{r['risk_exponent']} {r['risk_interval']}, "
        f"||grad R|| ~ t^{r['grad_exponent']} {r['grad_interval']} ({r['fitted']} fitted)"
    )
    print(
        f"bounded fraction {s['bounded_fraction']:.3g}; invariant drift max {s['invariant_drift_max']}"
    )
    q = s["risk_final"]
    print(f"final risk min {q['min']} median {q['median']} max {q['max']}")
    g = s["grad_norm_final"]
    print(f"final ||grad R|| min {g['min']} median {g['median']} max {g['max']}")


def add_levels(sub) -> None:
    p = sub.add_parser(
        "levels", help="risk levels R_0..R_H of [1,k,1] nets: search and least squares"
    )
    p.add_argument("--target", default="x^2", help="built-in target (default x^2)")
    p.add_argument("--box", default="0:2", help="input interval a:b (default 0:2)")
    p.add_argument(
        "--input-dist",
        help="law of X: uniform (default) or piecewise:E0,...,Em:P1;...;Pm, a density with "
        "support = the box (levels need an exact risk: no normal law)",
    )
    p.add_argument("--max-width", type=int, default=8, help="largest width H (default 8)")
    p.add_argument("--restarts", type=int, default=32, help="search: restarts per width")
    p.add_argument("--steps", type=int, default=3000, help="search: Adam steps per restart")
    p.add_argument("--no-search", action="store_true", help="least squares only (fast)")
    p.add_argument("--lsq-starts", type=int, default=4, help="least squares: random starts")
    p.add_argument("--cache", metavar="DIR", help="cache the search as DIR/levels-<hash>.json")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_levels)


def cmd_levels(args) -> int:
    problem = _problem(args)
    if isinstance(problem.distribution, distributions.Normal):
        raise config.ConfigError(
            f"--input-dist {args.input_dist}: levels need an exact risk, and a normal law has "
            "none (use uniform or piecewise)"
        )
    for name in ("max_width", "restarts", "steps", "lsq_starts"):
        _positive(name.replace("_", "-"), getattr(args, name), integer=True)
    if args.max_width > 64:
        raise config.ConfigError(f"--max-width must be at most 64, got {args.max_width}")
    setup_jax(False)
    from jaxnn_nonconv.estimation import levels

    settings = None
    if not args.no_search:
        settings = levels.LevelSettings(restarts=args.restarts, steps=args.steps)
    both = levels.levels_both(
        problem,
        args.max_width,
        settings,
        lsq_starts=args.lsq_starts,
        cache_dir=args.cache,
        progress=False,
    )
    out = {k: both[k] for k in ("levels", "search", "least_squares")}
    return emit(out, args.json, _print_levels)


def _print_levels(out: dict) -> None:
    print(
        f"{'width':>5}  {'R_k (kept)':>14}  {'method':>13}  {'search':>14}  {'least squares':>14}"
    )
    for lv, s, q in zip(out["levels"], out["search"], out["least_squares"]):
        s = "-" if s is None else f"{s:.8g}"
        print(f"{lv['width']:>5}  {lv['risk']:>14.8g}  {lv['method']:>13}  {s:>14}  {q:>14.8g}")
