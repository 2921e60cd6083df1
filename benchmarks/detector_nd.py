"""Detector modes on the same nets for ``d > 1``: unknown fraction, bracket width, time per 10^5.

For each architecture, box and mode, draws ``--trials`` initial networks (``--init``, trial ``i``
from ``fold_in(key(0), i)``) with :func:`jaxnn_nonconv.estimation.counts_at_init`, once to compile
and once timed, and prints one JSON line: ``unknown`` (unknown deep neurons / all hidden neurons),
``bracket`` (width of the pooled layer-2 inactive-fraction bracket), ``layer2`` (its low end),
``s_per_1e5`` (steady-state wall seconds per 10^5 trials), ``cpu_per_1e5`` (process CPU seconds,
user + system, per 10^5), ``compile_s`` (first call minus the timed call, scaled).

Example::

    python -m benchmarks.detector_nd --arch 2,3,4,1 --box=-1:1,-1:1 --modes ibp,exact,crown
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.experiments import config


def measure(arch, box, mode, trials, chunk, init="normal") -> dict:
    cfg = engine.TrainConfig(arch=arch, init=init, problem=problems.Problem("x^2", box)).validate()
    kw = {"settings": detector.DetectorSettings(mode=mode), "chunk_size": chunk, "progress": False}
    t0 = time.perf_counter()
    estimation.counts_at_init(cfg, chunk, **kw)
    first = time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    out = estimation.counts_at_init(cfg, trials, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    widths = np.array(arch[1:-1])
    unknown = out["unknown"].sum() / (trials * widths.sum())
    layer2 = None
    bracket = None
    if len(widths) > 1:
        n = trials * widths[1]
        k_low = out["inactive"][:, 1].sum()
        bracket = float(out["unknown"][:, 1].sum() / n)
        layer2 = float(k_low / n)
    scale = 1e5 / trials
    return {
        "arch": list(arch),
        "box": [list(b) for b in box],
        "mode": mode,
        "trials": trials,
        "unknown": float(unknown),
        "layer2": layer2,
        "bracket": bracket,
        "s_per_1e5": round(wall * scale, 2),
        "cpu_per_1e5": round(cpu * scale, 2),
        "compile_s": round(first - wall * chunk / trials, 2),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", action="append", required=True, help="e.g. 2,3,4,1 (repeatable)")
    p.add_argument("--box", action="append", required=True, help="e.g. -1:1,-1:1 (repeatable)")
    p.add_argument("--modes", default="ibp,exact,crown")
    p.add_argument("--trials", type=int, default=65536)
    p.add_argument("--chunk", type=int, default=16384)
    p.add_argument("--init", default="normal")
    a = p.parse_args(argv)
    for arch_s in a.arch:
        arch = tuple(int(v) for v in arch_s.split(","))
        for box_s in a.box:
            box = config.parse_box(box_s)
            if len(box) != arch[0]:
                continue
            for mode in a.modes.split(","):
                if mode == "exact" and arch[0] > 2:
                    continue
                r = measure(arch, box, mode, a.trials, a.chunk, a.init)
                print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
