"""The machine: what it is (CPU, cores, versions), what it can do (a measured large copy and dense
matmul, an assumed peak), and the roofline that judges each implementation against it.

A figure from one machine says little on another: 10^6 net-steps/s is fast on a 2-core VM that
copies 1.8 GB/s and slow on a GPU. So every ``bench`` run measures, in the same run and on the
engine's own device, the bandwidth of a large streaming copy and the throughput of a large
``jnp.dot`` (:func:`probe`), and reports each implementation's achieved FLOP/s and bytes/s as
fractions of those (:func:`roofline`).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from collections.abc import Mapping

from jaxnn_nonconv.bench._workload import bytes_per_net_step, flops_per_net_step

# Probe sizes per backend: a copy far larger than any cache; a matmul large enough to run at speed.
COPY_MB = {"cpu": 256, "gpu": 4096, "tpu": 4096}
MATMUL_N = {"cpu": 2048, "gpu": 8192, "tpu": 8192}
PROBE_REPEATS = 3


def probe(copy_mb: int | None = None, matmul_n: int | None = None) -> dict:
    """Measure the default JAX device: streaming-copy bandwidth and float32 matmul throughput.

    The copy is ``jit(lambda a: a + 1)`` over ``copy_mb`` MiB of float32 (each element read and
    written once: ``2 x copy_mb`` MiB moved); the matmul is ``jit(jnp.dot)`` of two ``(n, n)``
    float32 matrices (``2 n^3`` FLOPs). Each is compiled and run once, then the best of
    :data:`PROBE_REPEATS` runs is kept (the least disturbed on a shared machine).

    Returns:
      ``backend``, ``device``, ``copy_mb``, ``bandwidth_gb_s`` (10^9 bytes/s), ``matmul_n``,
      ``matmul_gflops``, ``probe_s``.
    """
    import jax
    import jax.numpy as jnp

    t_start = time.perf_counter()
    backend = jax.default_backend()
    copy_mb = copy_mb or COPY_MB.get(backend, 256)
    n = matmul_n or MATMUL_N.get(backend, 2048)
    x = jnp.zeros(copy_mb * 2**20 // 4, jnp.float32)
    copy_s = _best_time(jax.jit(lambda a: a + 1.0), x)
    del x
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    dot_s = _best_time(jax.jit(jnp.dot), a, b)
    return {
        "backend": backend,
        "device": jax.devices()[0].device_kind,
        "copy_mb": copy_mb,
        "bandwidth_gb_s": 2 * copy_mb * 2**20 / copy_s / 1e9,
        "matmul_n": n,
        "matmul_gflops": 2 * n**3 / dot_s / 1e9,
        "probe_s": time.perf_counter() - t_start,
    }


def _best_time(fn, *args) -> float:
    fn(*args).block_until_ready()  # compile and first run
    best = float("inf")
    for _ in range(PROBE_REPEATS):
        t0 = time.perf_counter()
        fn(*args).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return best


def _probe_main() -> None:
    """Subprocess entry (see :func:`jaxnn_nonconv.bench._measure.run_worker`): print :func:`probe`."""
    import json
    import sys

    print(json.dumps(probe(**json.loads(sys.argv[1]))))


def roofline(result: Mapping, optimizer: str, measured: Mapping | None) -> dict:
    """Roofline fields of one result entry, from its net-steps/s and the :func:`probe` figures.

    Returns ``gflops`` (achieved, :func:`jaxnn_nonconv.bench._workload.flops_per_net_step`),
    ``gbytes_per_s`` (:func:`jaxnn_nonconv.bench._workload.bytes_per_net_step`: the traffic of an
    unfused execution), ``fraction_of_matmul`` and ``fraction_of_bandwidth`` (those over the
    measured matmul and copy), ``roofline_net_steps_per_s`` (the lower of the two roofs:
    ``min(matmul / FLOPs, bandwidth / bytes)`` per net-step) and ``fraction_of_roofline``.
    Fractions are ``None`` without a probe.

    >>> r = roofline({"net_steps_per_s": 1e6}, "sgd", {"matmul_gflops": 100, "bandwidth_gb_s": 10})
    >>> round(r["fraction_of_matmul"], 3), round(r["fraction_of_bandwidth"], 2)
    (0.293, 9.4)
    """
    rate = result["net_steps_per_s"]
    flops, nbytes = flops_per_net_step(optimizer), bytes_per_net_step(optimizer)
    out = {"gflops": rate * flops / 1e9, "gbytes_per_s": rate * nbytes / 1e9}
    if not measured or not measured.get("matmul_gflops") or not measured.get("bandwidth_gb_s"):
        none = ("fraction_of_matmul", "fraction_of_bandwidth", "roofline_net_steps_per_s")
        return {**out, **dict.fromkeys(none), "fraction_of_roofline": None}
    roof = min(measured["matmul_gflops"] * 1e9 / flops, measured["bandwidth_gb_s"] * 1e9 / nbytes)
    return {
        **out,
        "fraction_of_matmul": out["gflops"] / measured["matmul_gflops"],
        "fraction_of_bandwidth": out["gbytes_per_s"] / measured["bandwidth_gb_s"],
        "roofline_net_steps_per_s": roof,
        "fraction_of_roofline": rate / roof,
    }


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cpuinfo() -> dict:
    """Model, vendor, family, MHz and flags of the first CPU in ``/proc/cpuinfo`` (Linux)."""
    info: dict = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def peak_flops(cpuinfo: dict | None = None, cores: int | None = None) -> dict:
    """Assumed float32 peak of this CPU: ``cores x GHz x FLOPs/cycle``.

    FLOPs/cycle per core = SIMD lanes x 2 (fused multiply-add) x 2 FMA pipes (assumed: true of
    recent server cores). Lanes from ``/proc/cpuinfo`` flags: 16 with ``avx512f`` (8 on AMD family
    25, Zen 4, whose AVX-512 runs on 256-bit units), 8 with ``avx``, else 4. GHz is the reported
    ``cpu MHz`` (in a VM, the nominal clock; turbo would raise the peak). An upper bound.

    >>> peak_flops({"cpu MHz": "2500", "flags": "sse avx fma avx512f"}, cores=2)["gflops"]
    320.0
    """
    info = _cpuinfo() if cpuinfo is None else cpuinfo
    cores = cores or _cores()
    flags = set(info.get("flags", "").split())
    if "avx512f" in flags and not (
        info.get("vendor_id") == "AuthenticAMD" and info.get("cpu family") == "25"
    ):
        lanes = 16
    elif "avx" in flags:
        lanes = 8
    else:
        lanes = 4
    fma = 2 if "fma" in flags else 1
    per_cycle = lanes * fma * 2
    try:
        ghz = round(float(info["cpu MHz"]) / 1000, 3)
    except (KeyError, ValueError):
        ghz = None
    return {
        "cores": cores,
        "ghz": ghz,
        "fp32_flops_per_cycle_per_core": per_cycle,
        "gflops": None if ghz is None else round(cores * ghz * per_cycle, 1),
        "derivation": (
            f"{cores} cores x {ghz} GHz (cpu MHz) x {per_cycle} FLOPs/cycle "
            f"({lanes} fp32 lanes x {fma} (FMA) x 2 FMA pipes, assumed)"
        ),
    }


def machine_info() -> dict:
    """CPU, cores, memory, load and library versions (from metadata: imports nothing heavy)."""
    info = _cpuinfo()
    versions = {}
    for name in ("jax", "jaxlib", "numpy", "optax", "torch", "matplotlib"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    mem_kb = None
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu_model": info.get("model name") or platform.processor() or platform.machine(),
        "cpu_vendor": info.get("vendor_id"),
        "cpu_family": info.get("cpu family"),
        "cpu_mhz": float(info["cpu MHz"]) if "cpu MHz" in info else None,
        "cores": _cores(),
        "memory_gb": None if mem_kb is None else round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "load_average_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
