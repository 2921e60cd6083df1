"""Time, compile time and unknown fraction of the d = 1 detector against depth (docs/detector.md).

For each depth, ``counts_at_init`` of ``[1, w, ..., w, 1]`` nets is called twice on the same
trials: the first call includes compilation, the second is the steady state. Prints one JSON line
per depth: ``depth``, ``trials``, ``first_s``, ``steady_s``, ``compile_s`` (first minus steady),
``per_1e5_s`` (steady time scaled to 10^5 trials), ``cpu_s`` (user + sys of the steady call),
``unknown_fraction``, ``overflow_trials``.

Run (from the repository root, with the package on ``PYTHONPATH``)::

    python -m benchmarks.detector_depth --width 3 --depths 1,2,4,8,16 --trials 4096 --box=-1:1
"""

from __future__ import annotations

import argparse
import json
import os
import time


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=3)
    p.add_argument("--depths", default="1,2,4,8,16")
    p.add_argument("--trials", type=int, default=4096)
    p.add_argument("--chunk-size", type=int, default=4096)
    p.add_argument("--init", default="normal")
    p.add_argument("--box", default="-1:1")
    p.add_argument("--max-points", type=int, default=1024)
    args = p.parse_args(argv)

    from jaxnn_nonconv import detector, estimation
    from jaxnn_nonconv.experiments import config

    settings = detector.DetectorSettings(max_points=args.max_points)

    for depth in (int(v) for v in args.depths.split(",")):
        arch = ",".join(["1", *[str(args.width)] * depth, "1"])
        cfg, _ = config.build({"arch": arch, "init": args.init, "box": args.box})
        kw = dict(chunk_size=args.chunk_size, settings=settings, progress=False)
        t0 = time.perf_counter()
        estimation.counts_at_init(cfg, args.trials, **kw)
        first = time.perf_counter() - t0
        c0, t0 = _cpu(), time.perf_counter()
        counts = estimation.counts_at_init(cfg, args.trials, **kw)
        steady, cpu = time.perf_counter() - t0, _cpu() - c0
        n_hidden = args.trials * args.width * depth
        row = {
            "depth": depth,
            "width": args.width,
            "trials": args.trials,
            "first_s": round(first, 3),
            "steady_s": round(steady, 3),
            "compile_s": round(first - steady, 3),
            "per_1e5_s": round(steady / args.trials * 1e5, 3),
            "cpu_s": round(cpu, 3),
            "unknown_fraction": float(counts["unknown"].sum() / n_hidden),
            "overflow_trials": int(counts["overflow"].sum()),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
