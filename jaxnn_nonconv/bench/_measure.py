"""Measuring one implementation: timing, peak memory, one subprocess per measurement.

Each measurement is a warm-up call (compilation and first-call costs) followed by timed passes
over the work; ``compile_s`` is the warm-up time minus the steady-state time of the same work. The
per-trial loops measure as many trials as fit in a time budget and extrapolate their per-trial
throughput (``measured_trials < n`` in the results). A pass shorter than the budget (all ``n``
trials done) is repeated while the budget lasts, and the median pass is kept (``passes`` in the
results): a single pass of a few milliseconds, e.g. one trial, is at the mercy of the scheduler.
Each measurement runs in its own subprocess, so its peak memory (``VmHWM`` minus ``VmRSS``
before the timed work, from ``/proc/self/status``) is its own.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from jaxnn_nonconv.bench._workload import LEARNING_RATES, Spec


def now() -> float:
    return time.perf_counter()


def _status_kb(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (Linux), else ``None``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0); ``False`` where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(spec: Spec) -> dict:
    """Run one measurement in this process; return its result entry (see
    :func:`jaxnn_nonconv.bench._run.run_benchmark`)."""
    rss0 = _status_kb("VmRSS")
    exact_peak = _reset_peak_rss()
    cpu0 = time.process_time()
    module = importlib.import_module(f"jaxnn_nonconv.bench._{spec.impl}")
    out = getattr(module, f"measure_{spec.impl}")(spec)
    cpu_s = time.process_time() - cpu0
    hwm = _status_kb("VmHWM")
    run_s = out.pop("run_s")
    first_s = out.pop("first_call_s")
    steady_unit_s = out.pop("steady_unit_s")  # steady-state time of the warm-up's work
    m = out["measured_trials"]
    return {
        "impl": spec.impl,
        "optimizer": spec.optimizer,
        "learning_rate": LEARNING_RATES[spec.optimizer],
        "n": spec.n,
        "steps": spec.steps,
        "net_steps_per_s": m * spec.steps / run_s,
        "compile_s": max(first_s - steady_unit_s, 0.0),
        "first_call_s": first_s,
        "run_s": run_s,
        "cpu_s": cpu_s,
        "extrapolated": m < spec.n,
        "peak_mem_mb": None if hwm is None or rss0 is None else (hwm - rss0) / 1024,
        "peak_mem_method": "VmHWM - VmRSS before" if exact_peak else "VmHWM since process start",
        **out,
    }


def _timed_loop(
    run_one: Callable[[int], float], n: int, budget_s: float
) -> tuple[int, float, list]:
    """Run trials ``0, 1, ...`` until ``n`` are done or ``budget_s`` has passed (at least one)."""
    losses = []
    t0 = now()
    while len(losses) < n:
        losses.append(run_one(len(losses)))
        if now() - t0 >= budget_s:
            break
    return len(losses), now() - t0, losses


def median_pass(
    run_pass: Callable[[], float], budget_s: float, first: float | None = None
) -> tuple[float, int]:
    """``(median time, number of passes)`` of ``run_pass()``, which returns its own time: one pass
    (or ``first``, the time of one already run), then more while the passes so far and one more fit
    in ``budget_s``."""
    times = [run_pass() if first is None else first]
    while sum(times) + float(np.median(times)) <= budget_s:
        times.append(run_pass())
    return float(np.median(times)), len(times)


def time_per_trial(run_one, spec: Spec) -> dict:
    """Time a per-trial Python loop: the first call (compile/warm-up) apart, then trials until
    ``spec.n`` or the time budget, extrapolated per trial; when all ``spec.n`` trials were done
    within the budget, they are timed again while it lasts (:func:`median_pass`)."""
    t0 = now()
    run_one(0)
    first = now() - t0
    m, run_s, losses = _timed_loop(run_one, spec.n, spec.budget_s)
    passes = 1
    if m == spec.n:

        def again() -> float:
            return _timed_loop(run_one, m, float("inf"))[1]

        run_s, passes = median_pass(again, spec.budget_s, first=run_s)
    return {
        "measured_trials": m,
        "run_s": run_s,
        "passes": passes,
        "first_call_s": first,
        "steady_unit_s": run_s / m,
        "mean_final_loss": float(np.mean(losses)),
    }


def setup_jax(cpu_devices: int | None) -> None:
    """Worker-process JAX settings: no persistent compilation cache (compile time is measured);
    optionally several simulated CPU devices. (One CPU device already runs XLA's larger operations
    on every core: on 2 cores, 2 devices measured no faster.)"""
    import jax

    jax.config.update("jax_enable_compilation_cache", False)
    if cpu_devices:
        jax.config.update("jax_num_cpu_devices", cpu_devices)


def _worker_main() -> None:
    """Subprocess entry: measure the :class:`Spec` given as JSON in ``argv[1]``, print one JSON line."""
    spec = Spec(**json.loads(sys.argv[1]))
    # Import and initialize the libraries first: peak memory is then the measurement's own.
    if spec.impl in ("engine", "jax_loop"):
        setup_jax(spec.cpu_devices)
        import jax

        jax.numpy.zeros(1).block_until_ready()  # creates the backend
    else:
        import torch

        torch.zeros(1).sum()
    print(json.dumps(measure(spec)))


def measure_in_subprocess(spec: Spec, timeout_s: float | None = None) -> dict:
    """:func:`measure` in a fresh Python process (isolated peak memory, no shared caches)."""
    return run_worker("_worker_main", dataclasses.asdict(spec), timeout_s)


def run_worker(
    entry: str, arg: dict, timeout_s: float | None = None, module: str = "measure"
) -> dict:
    """Run ``entry()`` of ``jaxnn_nonconv.bench._<module>`` in a fresh Python process with ``arg`` as
    JSON in ``argv[1]``; return its last stdout line, parsed as JSON."""
    code = f"from jaxnn_nonconv.bench._{module} import {entry}; {entry}()"
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(arg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"worker exited with code {proc.returncode}: {tail}")
    return json.loads(lines[-1])
