"""Engine against the per-trial JAX loop, interleaved in one process: wall and CPU time.

``python -m benchmarks.engine_vs_loop [--optimizer sgd] [--steps 200] [--chunk 512] [--repeat 3]``

On a machine shared with other busy processes, measurements taken one after the other (as
``bench`` does, each in its own subprocess) see different loads. This script compiles the engine's
chunk program (for ``--chunk`` trials and for 1 trial) and the ``jax_loop`` trial once, then times
them in turn, ``--repeat`` rounds, and keeps each one's best round. Besides wall-clock net-steps/s it
reports net-steps per CPU-second (``time.process_time``, all threads), which a busy machine
disturbs far less: it is what the implementation costs, whatever the load.
"""

from __future__ import annotations

import argparse
import json
import time


def compare(optimizer: str = "sgd", steps: int = 200, chunk: int = 512, repeat: int = 3) -> dict:
    """Best-of-``repeat`` wall and CPU throughput of ``engine`` (chunk and 1 trial) and ``jax_loop``.

    Returns ``{"net_steps_per_s": {name: x}, "net_steps_per_cpu_s": {name: x}, "ratios": ...}``
    with names ``engine`` (``chunk`` trials per call), ``engine_1`` (one trial per call) and
    ``jax_loop`` (one trial per call, its result fetched as a user would).
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxnn_nonconv import bench
    from jaxnn_nonconv.engine import _driver as driver

    jax.config.update("jax_enable_compilation_cache", False)
    cfg = bench.engine_config(optimizer, steps)
    calls = {}
    for name, n in (("engine", chunk), ("engine_1", 1)):
        args = (
            jax.random.key(0),
            jnp.arange(n, dtype=jnp.uint32),
            jnp.full(n, cfg.learning_rate, jnp.float32),
        )
        compiled = driver._compiled_chunk(cfg, n).lower(*args).compile()
        jax.block_until_ready(compiled(*args))
        calls[name] = (n, lambda r, c=compiled, a=args: jax.block_until_ready(c(*a)))
    one = bench.make_jax_trial(cfg, 0)
    float(one(np.uint32(0))[1][-1])
    calls["jax_loop"] = (1, lambda r: float(one(np.uint32(r))[1][-1]))
    per_call = {"engine": 1, "engine_1": 20, "jax_loop": 20}
    wall = {k: 0.0 for k in calls}
    cpu = {k: 0.0 for k in calls}
    for _ in range(repeat):
        for name, (n, call) in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            for r in range(per_call[name]):
                call(r)
            net_steps = per_call[name] * n * steps
            wall[name] = max(wall[name], net_steps / (time.perf_counter() - t0))
            cpu[name] = max(cpu[name], net_steps / (time.process_time() - c0))
    return {
        "optimizer": optimizer,
        "steps": steps,
        "chunk": chunk,
        "net_steps_per_s": wall,
        "net_steps_per_cpu_s": cpu,
        "ratios": {
            f"{a}/jax_loop {unit}": d[a] / d["jax_loop"]
            for a in ("engine", "engine_1")
            for unit, d in (("wall", wall), ("cpu", cpu))
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine_vs_loop", description=__doc__
    )
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.optimizer, args.steps, args.chunk, args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
