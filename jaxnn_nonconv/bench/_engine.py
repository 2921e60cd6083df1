"""``engine``: :func:`jaxnn_nonconv.engine.run`, vmapped ``lax.scan`` over chunks of trials.

It does more than the other implementations: per trial it also evaluates the initial and final risk
on 8192 fresh samples and records 16 losses and gradient norms.
"""

from __future__ import annotations

import math

import numpy as np

from jaxnn_nonconv.bench._measure import median_pass, now
from jaxnn_nonconv.bench._workload import Spec, engine_config, engine_layout


def measure_engine(spec: Spec) -> dict:
    import jax

    from jaxnn_nonconv import engine

    cfg = engine_config(spec.optimizer, spec.steps)
    chunk, n_dev = engine_layout(
        spec.n, jax.local_device_count(), spec.chunk_size, jax.default_backend()
    )
    kw = dict(seed=spec.seed, chunk_size=chunk, n_devices=n_dev, progress=False)
    engine.clear_compiled()  # compile afresh (matters only in-process)
    jax.clear_caches()
    t0 = now()
    engine.run(cfg, min(spec.n, chunk * n_dev), **kw)  # one compiled call: compile + run
    first = now() - t0
    res = {}

    def run_pass() -> float:
        t0 = now()
        res.update(engine.run(cfg, spec.n, **kw))
        return now() - t0

    run_s, passes = median_pass(run_pass, spec.budget_s)
    n_chunks = math.ceil(spec.n / chunk)
    calls = math.ceil(n_chunks / n_dev)
    return {
        "measured_trials": spec.n,
        "run_s": run_s,
        "passes": passes,
        "first_call_s": first,
        "steady_unit_s": run_s / calls,
        "mean_final_loss": float(np.mean(res["loss_traj"][:, -1])),
        "chunk_size": chunk,
        "n_devices": n_dev,
        "backend": jax.default_backend(),
        **_device_peak_mb(jax),
    }


def _device_peak_mb(jax) -> dict:
    """Accelerator memory peak where the backend reports it (GPU/TPU; not CPU)."""
    try:
        stats = jax.local_devices()[0].memory_stats() or {}
    except Exception:  # backends without memory_stats raise various errors
        stats = {}
    if "peak_bytes_in_use" not in stats:
        return {}
    return {"device_peak_mem_mb": stats["peak_bytes_in_use"] / 2**20}
