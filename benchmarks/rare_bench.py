"""Measured figures of the splitting estimator for ``docs/results.md``.

Run: ``python -m benchmarks.rare_bench [--quick]``. Prints one JSON line per measurement: the
performance target (P(not constant) of width-2, depth-100 nets), the first-layer closed form to
``H = 1024``, and a depth sweep with fitted rates next to the bound's rate (arXiv 2006.07075).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

from jaxnn_nonconv import engine, rare
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.stats import rates


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _row(name, cfg, event, n, r, truth=None, **kw):
    c0, t0 = _cpu(), time.perf_counter()
    res = rare.rare_event(cfg, event, n, r, **kw)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    lo, hi = res.log10_ci
    out = {
        "case": name,
        "event": event,
        "particles": n,
        "replicates": r,
        "log10_estimate": res.log10_estimate,
        "log10_ci": [lo, hi],
        "rel_halfwidth": (10 ** ((hi - lo) / 2) - 1),
        "log10_truth": truth,
        "unknown_fraction": res.unknown_fraction,
        "overflow_fraction": res.overflow_fraction,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
    }
    print(json.dumps(out), flush=True)
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="only the depth sweep with rate fits")
    ap.add_argument("--shallow", action="store_true", help="only [1,H,1] vs (1-p)^H to H=1024")
    args = ap.parse_args(argv)
    point = problems.Problem("x^2", ((0.5 - 5e-8, 0.5 + 5e-8),))
    unit = problems.Problem("x^2", ((0.0, 1.0),))
    deep = (1,) + (2,) * 100 + (1,)
    n, r = (1024, 4) if args.quick else (2048, 8)
    if args.sweep:
        _sweep(unit)
        return
    if args.shallow:
        box02 = problems.Problem("x^2", ((0.0, 2.0),))
        for h in (16, 64, 256, 1024):
            cfg = engine.TrainConfig(arch=(1, h, 1), problem=box02).validate()
            truth = h * math.log10(0.6875)
            _row(f"[1,{h},1] pytorch [0,2]", cfg, "no_inactive", 1024, 4, truth, max_points=2)
        return
    for name, prob, truth in (("point box", point, 100 * math.log10(0.75)), ("[0,1]", unit, None)):
        cfg = engine.TrainConfig(arch=deep, init="normal", problem=prob).validate()
        _row(f"width 2 depth 100 {name} (compile+run)", cfg, "not_constant", n, r, truth)
        _row(f"width 2 depth 100 {name} (run)", cfg, "not_constant", n, r, truth, seed=1)
    cfg = engine.TrainConfig(arch=(1, 1024, 1), problem=problems.Problem("x^2", ((0.0, 2.0),)))
    _row(
        "[1,1024,1] pytorch [0,2]",
        cfg.validate(),
        "no_inactive",
        1024,
        4,
        1024 * math.log10(0.6875),
        max_points=2,
    )


def _sweep(unit) -> None:
    """Depth sweep at widths 2..4 on [0, 1], N(0, 1) init: fitted rate vs the bound's rate."""
    for width in (2, 3, 4):
        depths, ys, ses = [], [], []
        for depth in (8, 16, 32, 64):
            cfg = engine.TrainConfig(
                arch=(1,) + (width,) * depth + (1,), init="normal", problem=unit
            ).validate()
            res = _row(f"sweep width {width} depth {depth}", cfg, "not_constant", 1024, 4)
            est = res.log10_bracket[1]  # the upper end (undecided neurons counted alive)
            depths.append(depth)
            ys.append(est)
            ses.append((res.log10_ci[1] - res.log10_ci[0]) / (2 * 3.182))
        fit = rates.fit_rate(depths, ys, ses)
        fit["width"] = width
        fit["bound_rate"] = rates.bound_rate_depth(width)
        print(json.dumps({"fit": fit}), flush=True)


if __name__ == "__main__":
    main()
