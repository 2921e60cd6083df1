"""Throughput of the training engine against a per-trial JAX loop and PyTorch (``jaxnn-nonconv bench``).

Workload (issue 6): ``[1, 32, 1]`` ReLU networks, target ``x^2`` on ``U[0, 2]``, a fresh batch of 64
samples per step, 1000 steps of online SGD (learning rate 0.01) or Adam (1e-3), for ``N`` independent
trials. Implementations, measured one after the other on the same machine:

* ``engine``: :func:`jaxnn_nonconv.train.run` (vmapped ``lax.scan`` over chunks of trials, sharded
  over the local devices). It does more than the others: per trial it also evaluates the initial
  and final risk on 8192 fresh samples and records 16 losses and gradient norms.
* ``jax_loop``: :func:`jaxnn_nonconv.train.fit` of one network under ``jit``, called once per trial
  from Python, on the same random streams as the engine (so the two agree trial by trial).
* ``torch_loop``: one ``nn.Module`` and one ``torch.optim`` optimizer per trial, a Python loop over
  steps: what a PyTorch user writes first.
* ``torch_batched``: the trials' parameters stacked, ``torch.baddbmm`` forward, autograd backward,
  one ``torch.optim`` optimizer over the stacked tensors (SGD and Adam act elementwise, so this is
  exactly ``N`` independent trainings).

The unit is the **net-step**: one optimizer step of one network (forward, backward and update on one
batch). Each measurement is a warm-up call (compilation and first-call costs) followed by a timed
run; ``compile_s`` is the warm-up time minus the steady-state time of the same work. The per-trial
loops measure as many trials as fit in a time budget and extrapolate their per-trial throughput
(``measured_trials < n`` in the results). Each measurement runs in its own subprocess, so its peak
memory (``VmHWM`` minus ``VmRSS`` before the timed work, from ``/proc/self/status``) is its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ARCH = (1, 32, 1)
BATCH = 64
BOX = (0.0, 2.0)
TARGET = "x^2"
LEARNING_RATES = {"sgd": 0.01, "adam": 1e-3}
IMPLS = ("engine", "jax_loop", "torch_loop", "torch_batched")
TORCH_IMPLS = ("torch_loop", "torch_batched")
# Engine chunk (trials per device per compiled call): on CPU a chunk's activations,
# (chunk, 64, 32) float32, should stay in cache (256 trials: 2 MiB); accelerators want big chunks.
CPU_CHUNK = 512
ACCELERATOR_CHUNK = 1024
# torch_batched trains at most this many trials at once (measured on 2 cores: 2.0e5 net-steps/s
# for 1000 stacked trials, 0.8e5 for 10^4 at once, out of cache), so chunking helps it too.
TORCH_CHUNK = 1024
# Optimizer-update FLOPs per parameter (multiply-add = 2): SGD p - lr g; Adam's two moment updates,
# bias corrections, sqrt, eps, division, scaling and the add.
UPDATE_FLOPS = {"sgd": 2, "adam": 14}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one benchmark run measures.

    Attributes:
      mode: ``full`` or ``quick``.
      steps: optimizer steps per trial.
      ns: trial counts measured for every implementation.
      engine_ns: further trial counts for the engine alone.
      budget_s: time budget of one measurement of a per-trial loop (then extrapolated).
      impls, optimizers: what to run.
    """

    mode: str
    steps: int
    ns: tuple[int, ...]
    engine_ns: tuple[int, ...]
    budget_s: float
    impls: tuple[str, ...] = IMPLS
    optimizers: tuple[str, ...] = tuple(LEARNING_RATES)


FULL = Plan("full", steps=1000, ns=(1, 100, 1000, 10_000), engine_ns=(100_000,), budget_s=6.0)
QUICK = Plan("quick", steps=200, ns=(1, 100, 1000), engine_ns=(10_000,), budget_s=1.0)


@dataclasses.dataclass(frozen=True)
class Spec:
    """One measurement: an implementation, an optimizer and a number of trials."""

    impl: str
    optimizer: str
    n: int
    steps: int
    seed: int = 0
    budget_s: float = 6.0
    chunk_size: int | None = None  # engine: None = automatic (engine_layout)
    cpu_devices: int | None = None  # JAX CPU devices to simulate (None: JAX's default, one)


# ---------------------------------------------------------------- the implementations


def engine_config(optimizer: str, steps: int):
    """The engine's :class:`~jaxnn_nonconv.train.TrainConfig` of the workload (defaults otherwise)."""
    from jaxnn_nonconv import problems, train

    return train.TrainConfig(
        arch=ARCH,
        activation="relu",
        init="pytorch",
        problem=problems.Problem(TARGET, (BOX,)),
        optimizer=optimizer,
        learning_rate=LEARNING_RATES[optimizer],
        steps=steps,
        batch_size=BATCH,
    ).validate()


def engine_layout(n: int, n_devices: int, chunk_size: int | None, backend: str) -> tuple[int, int]:
    """``(chunk_size, n_devices)`` for ``n`` trials: no more devices than trials, and chunks no
    larger than needed (one trial is not padded to a chunk of 256).

    >>> engine_layout(1, 2, None, "cpu"), engine_layout(100, 2, None, "cpu")
    ((1, 1), (50, 2))
    >>> engine_layout(10_000, 2, None, "cpu"), engine_layout(10_000, 1, None, "gpu")
    ((512, 2), (1024, 1))
    """
    devices = max(1, min(n_devices, n))
    cap = chunk_size or (CPU_CHUNK if backend == "cpu" else ACCELERATOR_CHUNK)
    return min(cap, -(-n // devices)), devices


def engine_batches(cfg, seed: int, index):
    """The online batches of engine trial ``index``: ``(xs: (steps, batch, d), ys: (steps, batch))``,
    batch ``n`` drawn from ``fold_in(data_key, n)`` as in :func:`jaxnn_nonconv.train.make_trial`."""
    import jax
    import jax.numpy as jnp

    from jaxnn_nonconv import problems, train

    k_data = jax.random.fold_in(train.trial_key(seed, index), 1)
    return jax.vmap(
        lambda n: problems.sample(
            jax.random.fold_in(k_data, n), cfg.problem, cfg.batch_size, train.DTYPES[cfg.dtype]
        )
    )(jnp.arange(cfg.steps))


def make_jax_trial(cfg, seed: int) -> Callable:
    """The naive JAX baseline: a jitted ``index -> (theta, losses)`` training one network of ``cfg``
    with :func:`~jaxnn_nonconv.train.fit` (one ``lax.scan``), on engine trial ``index``'s initial
    parameters and batches. Called once per trial from Python."""
    import jax

    from jaxnn_nonconv import nets, optim, train

    opt = optim.make(cfg.optimizer, cfg.learning_rate)

    @jax.jit
    def one(index):
        params0 = train.init_trial_params(cfg, train.trial_key(seed, index))
        xs, ys = engine_batches(cfg, seed, index)
        final, losses = train.fit(params0, opt, xs, ys, cfg.activation)
        return nets.to_flat(final), losses

    return one


def _torch_optimizer(torch, name: str, params, lr: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"no PyTorch optimizer for {name!r}")


def torch_loop_trial(
    optimizer: str,
    steps: int,
    *,
    generator=None,
    params0: np.ndarray | None = None,
    xs: np.ndarray | None = None,
    ys: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Train one ``nn.Sequential`` with ``torch.optim``, step by step from Python.

    Args:
      optimizer: ``sgd`` or ``adam`` (learning rate from :data:`LEARNING_RATES`).
      steps: optimizer steps.
      generator: ``torch.Generator`` for the batches (when ``xs`` is not given).
      params0: optional flat initial theta ``(P,)`` (the package's layout); default PyTorch's init.
      xs, ys: optional batches ``(steps, batch, 1)`` and ``(steps, batch)``; default fresh
        ``U[0, 2]`` batches of 64 from ``generator``.

    Returns:
      ``(theta, loss)``: final flat parameters and the batch loss before the last update.
    """
    import torch

    model = torch.nn.Sequential(
        torch.nn.Linear(ARCH[0], ARCH[1]), torch.nn.ReLU(), torch.nn.Linear(ARCH[1], ARCH[2])
    )
    flat = [model[0].weight, model[0].bias, model[2].weight, model[2].bias]
    if params0 is not None:
        _load_flat(torch, flat, params0)
    opt = _torch_optimizer(torch, optimizer, model.parameters(), LEARNING_RATES[optimizer])
    lo, hi = BOX
    for s in range(steps):
        if xs is None:
            x = torch.rand(BATCH, ARCH[0], generator=generator) * (hi - lo) + lo
            y = (x * x).sum(dim=1)
        else:
            x, y = torch.tensor(np.asarray(xs[s])), torch.tensor(np.asarray(ys[s]))
        loss = torch.mean((model(x)[:, 0] - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return torch.cat([p.detach().reshape(-1) for p in flat]).numpy(), loss.item()


def torch_batched_trials(
    optimizer: str,
    n: int,
    steps: int,
    *,
    generator=None,
    params0: np.ndarray | None = None,
    xs: np.ndarray | None = None,
    ys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Train ``n`` networks at once: stacked parameters, ``baddbmm``, autograd, ``torch.optim``.

    Args are those of :func:`torch_loop_trial` with a leading trial axis ``n`` on ``params0``
    ``(n, P)``, ``xs`` ``(n, steps, batch, 1)`` and ``ys`` ``(n, steps, batch)``.

    Returns:
      ``(theta: (n, P), loss: (n,))``.
    """
    import torch

    d, width, _ = ARCH
    if params0 is None:  # nn.Linear's default init: U(+-1/sqrt(fan_in)) for weights and biases
        shapes = (((n, width, d), d), ((n, width), d), ((n, 1, width), width), ((n, 1), width))
        tensors = [
            (torch.rand(shape, generator=generator) * 2 - 1) / math.sqrt(fan_in)
            for shape, fan_in in shapes
        ]
    else:
        tensors = _split_flat(torch, np.asarray(params0))
    w1, b1, w2, b2 = (t.requires_grad_() for t in tensors)
    opt = _torch_optimizer(torch, optimizer, [w1, b1, w2, b2], LEARNING_RATES[optimizer])
    lo, hi = BOX
    for s in range(steps):
        if xs is None:
            x = torch.rand(n, BATCH, d, generator=generator) * (hi - lo) + lo
            y = (x * x).sum(dim=2)
        else:
            x, y = torch.tensor(np.asarray(xs[:, s])), torch.tensor(np.asarray(ys[:, s]))
        h = torch.relu(torch.baddbmm(b1[:, None, :], x, w1.transpose(1, 2)))  # (n, batch, width)
        out = torch.baddbmm(b2[:, None, :], h, w2.transpose(1, 2))[..., 0]  # (n, batch)
        loss = torch.mean((out - y) ** 2, dim=1)  # (n,): each trial's own loss
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # the sum's gradient w.r.t. trial i's parameters is trial i's
        opt.step()
    theta = torch.cat([t.detach().reshape(n, -1) for t in (w1, b1, w2, b2)], dim=1)
    return theta.numpy(), loss.detach().numpy()


def _split_flat(torch, theta: np.ndarray) -> list:
    """Flat thetas ``(n, P)`` of ``ARCH`` -> ``[W1 (n, l1, d), b1 (n, l1), W2 (n, 1, l1), b2 (n, 1)]``."""
    d, width, out = ARCH
    sizes = (width * d, width, out * width, out)
    shapes = ((width, d), (width,), (out, width), (out,))
    parts = np.split(theta.astype(np.float32), np.cumsum(sizes)[:-1], axis=-1)
    return [
        torch.from_numpy(np.ascontiguousarray(p.reshape(*theta.shape[:-1], *s)))
        for p, s in zip(parts, shapes)
    ]


def _load_flat(torch, params: list, theta: np.ndarray) -> None:
    with torch.no_grad():
        for p, value in zip(params, _split_flat(torch, np.asarray(theta))):
            p.copy_(value)


# ---------------------------------------------------------------- measuring


def _now() -> float:
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
    """Run one measurement in this process; return its result entry (see :func:`run_benchmark`)."""
    rss0 = _status_kb("VmRSS")
    exact_peak = _reset_peak_rss()
    cpu0 = time.process_time()
    fn = {
        "engine": _measure_engine,
        "jax_loop": _measure_jax_loop,
        "torch_loop": _measure_torch_loop,
        "torch_batched": _measure_torch_batched,
    }[spec.impl]
    out = fn(spec)
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


def _measure_engine(spec: Spec) -> dict:
    import jax

    from jaxnn_nonconv import train

    cfg = engine_config(spec.optimizer, spec.steps)
    chunk, n_dev = engine_layout(
        spec.n, jax.local_device_count(), spec.chunk_size, jax.default_backend()
    )
    kw = dict(seed=spec.seed, chunk_size=chunk, n_devices=n_dev, progress=False)
    train._compiled_chunk.cache_clear()  # compile afresh (matters only in-process)
    jax.clear_caches()
    t0 = _now()
    train.run(cfg, min(spec.n, chunk * n_dev), **kw)  # one compiled call: compile + run
    first = _now() - t0
    t0 = _now()
    res = train.run(cfg, spec.n, **kw)
    run_s = _now() - t0
    n_chunks = math.ceil(spec.n / chunk)
    calls = math.ceil(n_chunks / n_dev)
    return {
        "measured_trials": spec.n,
        "run_s": run_s,
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


def _timed_loop(
    run_one: Callable[[int], float], n: int, budget_s: float
) -> tuple[int, float, list]:
    """Run trials ``0, 1, ...`` until ``n`` are done or ``budget_s`` has passed (at least one)."""
    losses = []
    t0 = _now()
    while len(losses) < n:
        losses.append(run_one(len(losses)))
        if _now() - t0 >= budget_s:
            break
    return len(losses), _now() - t0, losses


def _measure_jax_loop(spec: Spec) -> dict:
    import jax

    cfg = engine_config(spec.optimizer, spec.steps)
    jax.clear_caches()
    one = make_jax_trial(cfg, spec.seed)

    def run_one(i: int) -> float:
        _, losses = one(np.uint32(i))
        return float(losses[-1])  # a user keeps each trial's result: waits for it

    return {**_time_per_trial(run_one, spec), "backend": jax.default_backend()}


def _time_per_trial(run_one, spec: Spec) -> dict:
    """Time a per-trial Python loop: the first call (compile/warm-up) apart, then trials until
    ``spec.n`` or the time budget, extrapolated per trial."""
    t0 = _now()
    run_one(0)
    first = _now() - t0
    m, run_s, losses = _timed_loop(run_one, spec.n, spec.budget_s)
    return {
        "measured_trials": m,
        "run_s": run_s,
        "first_call_s": first,
        "steady_unit_s": run_s / m,
        "mean_final_loss": float(np.mean(losses)),
    }


def _measure_torch_loop(spec: Spec) -> dict:
    import torch

    torch.set_flush_denormal(True)  # as XLA does on CPU; Adam's moments otherwise go subnormal
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)

    def run_one(i: int) -> float:
        return torch_loop_trial(spec.optimizer, spec.steps, generator=gen)[1]

    return {**_time_per_trial(run_one, spec), "torch_threads": torch.get_num_threads()}


def _measure_torch_batched(spec: Spec) -> dict:
    import torch

    torch.set_flush_denormal(True)  # as XLA does on CPU
    gen = torch.Generator().manual_seed(spec.seed)
    chunk = min(spec.n, TORCH_CHUNK)
    warm_steps = min(spec.steps, 5)
    t0 = _now()
    torch_batched_trials(spec.optimizer, chunk, warm_steps, generator=gen)
    first = _now() - t0
    losses = []
    t0 = _now()
    for lo in range(0, spec.n, chunk):
        size = min(chunk, spec.n - lo)
        losses.append(torch_batched_trials(spec.optimizer, size, spec.steps, generator=gen)[1])
    run_s = _now() - t0
    return {
        "measured_trials": spec.n,
        "run_s": run_s,
        "first_call_s": first,
        "steady_unit_s": run_s * chunk / spec.n * warm_steps / spec.steps,
        "mean_final_loss": float(np.mean(np.concatenate(losses))),
        "chunk_size": chunk,
        "torch_threads": torch.get_num_threads(),
    }


def _setup_jax(cpu_devices: int | None) -> None:
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
        _setup_jax(spec.cpu_devices)
        import jax

        from jaxnn_nonconv import train  # noqa: F401

        jax.numpy.zeros(1).block_until_ready()  # creates the backend
    else:
        import torch

        torch.zeros(1).sum()
    print(json.dumps(measure(spec)))


def measure_in_subprocess(spec: Spec, timeout_s: float | None = None) -> dict:
    """:func:`measure` in a fresh Python process (isolated peak memory, no shared caches)."""
    code = "from benchmarks.bench import _worker_main; _worker_main()"
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(dataclasses.asdict(spec))],
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


# ---------------------------------------------------------------- machine, FLOPs, summary


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


def flops_per_net_step(optimizer: str, arch: Sequence[int] = ARCH, batch: int = BATCH) -> int:
    """FLOPs of one net-step: forward, backward and update on one batch, counting a multiply-add
    as 2 FLOPs (an ``m x k`` by ``k x n`` product is ``2 m k n``) and an activation, its
    derivative mask, a bias add or a loss term as 1 per element. Random numbers and the engine's
    bookkeeping (gradient norms, evaluation) are not counted.

    >>> flops_per_net_step("sgd"), flops_per_net_step("adam")
    (29314, 30478)
    """
    layers = list(zip(arch[:-1], arch[1:]))
    total = 3 * batch + 2 * batch  # loss: residual, square, sum; its gradient 2 r / batch
    for k, (n_in, n_out) in enumerate(layers):
        hidden = k < len(layers) - 1
        total += 2 * batch * n_in * n_out + batch * n_out  # forward product and bias
        total += 2 * batch * n_in * n_out + batch * n_out  # weight and bias gradients
        if k > 0:
            total += 2 * batch * n_in * n_out  # gradient w.r.t. the layer's input
        if hidden:
            total += 2 * batch * n_out  # activation and its derivative mask
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in layers)
    return total + UPDATE_FLOPS[optimizer] * n_params


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


def _find(results: list[dict], impl: str, optimizer: str, n: int) -> dict | None:
    for r in results:
        if (r["impl"], r["optimizer"], r["n"]) == (impl, optimizer, n) and "error" not in r:
            return r
    return None


def summarize(results: list[dict], plan: Plan) -> tuple[dict, list[dict]]:
    """``(ratios, targets)`` from the result entries.

    ``ratios`` holds, at the largest ``n`` measured for the engine and all others, engine
    net-steps/s over each other's, per optimizer (``by_optimizer``) and, as the top-level
    ``vs_<impl>`` values, the smallest over the optimizers (the worst case).
    """
    others = [i for i in ("jax_loop", "torch_loop", "torch_batched") if i in plan.impls]
    common = [
        n
        for n in plan.ns
        if all(_find(results, i, o, n) for i in ("engine", *others) for o in plan.optimizers)
    ]
    n_star = max(common) if common and others else None
    by_opt: dict = {}
    for o in plan.optimizers:
        eng = _find(results, "engine", o, n_star) if n_star else None
        by_opt[o] = {
            f"vs_{i}": eng["net_steps_per_s"] / _find(results, i, o, n_star)["net_steps_per_s"]
            for i in others
            if eng
        }
    ratios: dict = {"n": n_star}
    for i in others:
        values = [by_opt[o][f"vs_{i}"] for o in plan.optimizers if f"vs_{i}" in by_opt[o]]
        ratios[f"vs_{i}"] = min(values) if values else None
    ratios["by_optimizer"] = by_opt
    ratios["definition"] = (
        "engine net-steps/s divided by the other implementation's, at n; top-level values are "
        "the minimum over optimizers"
    )
    return ratios, _targets(results, plan, ratios)


def _targets(results: list[dict], plan: Plan, ratios: dict) -> list[dict]:
    """The issue's targets, each with its measured value (worst case over optimizers)."""
    out = []
    n_star = ratios["n"]
    for impl, goal in (("torch_loop", 100.0), ("torch_batched", 5.0), ("jax_loop", 2.0)):
        value = ratios.get(f"vs_{impl}")
        if value is not None:
            out.append(_target(f"engine / {impl} at N={n_star}", value, goal))

    def worst(impl_a, n_a, impl_b, n_b):
        values = []
        for o in plan.optimizers:
            a, b = _find(results, impl_a, o, n_a), _find(results, impl_b, o, n_b)
            if a and b:
                values.append(a["net_steps_per_s"] / b["net_steps_per_s"])
        return min(values) if len(values) == len(plan.optimizers) else None

    value = worst("engine", 1, "jax_loop", 1)
    if value is not None:  # "within 1.5x of the naive loop at N=1": engine >= jax_loop / 1.5
        out.append(_target("engine / jax_loop at N=1", value, 1 / 1.5))
    big = [n for n in plan.engine_ns if n > 10_000]
    if big and 10_000 in plan.ns + plan.engine_ns:
        value = worst("engine", max(big), "engine", 10_000)
        if value is not None:
            out.append(_target(f"engine N={max(big)} / engine N=10000", value, 0.9))
    return out


def _target(name: str, value: float, goal: float) -> dict:
    return {"name": name, "value": value, "goal": f">= {goal:.3g}", "met": bool(value >= goal)}


# ---------------------------------------------------------------- running and reporting


def plan_specs(
    plan: Plan, *, seed: int = 0, chunk_size: int | None = None, cpu_devices: int | None = None
) -> list[Spec]:
    """The measurements of ``plan``, in order (smallest ``n`` first)."""
    specs = []
    for impl in plan.impls:
        ns = plan.ns + (plan.engine_ns if impl == "engine" else ())
        for n in sorted(set(ns)):
            for o in plan.optimizers:
                specs.append(
                    Spec(impl, o, n, plan.steps, seed, plan.budget_s, chunk_size, cpu_devices)
                )
    return specs


def run_benchmark(
    plan: Plan,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    cpu_devices: int | None = None,
    in_process: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run ``plan``; return the report (the JSON written by ``--out`` and printed by ``--json``).

    Keys: ``machine``, ``peak``, ``workload``, ``results`` (one entry per measurement: ``impl``,
    ``optimizer``, ``n``, ``steps``, ``net_steps_per_s``, ``compile_s``, ``peak_mem_mb``,
    ``measured_trials``, ``extrapolated``, ``gflops``, ``fraction_of_peak``, ...), ``ratios``,
    ``targets``, ``notes``.
    """
    log = log or (lambda s: None)
    notes = []
    skipped = {}
    if importlib.util.find_spec("torch") is None:
        skipped = {i: "PyTorch is not installed" for i in plan.impls if i in TORCH_IMPLS}
    if skipped:
        notes.append(f"PyTorch is not installed: {', '.join(skipped)} skipped")
    plan = dataclasses.replace(plan, impls=tuple(i for i in plan.impls if i not in skipped))
    machine = machine_info()
    peak = peak_flops()
    specs = plan_specs(plan, seed=seed, chunk_size=chunk_size, cpu_devices=cpu_devices)
    results = []
    t_start = _now()
    for k, spec in enumerate(specs, 1):
        try:
            r = measure(spec) if in_process else measure_in_subprocess(spec)
        except Exception as e:  # record it and go on with the other measurements
            r = {**dataclasses.asdict(spec), "error": f"{type(e).__name__}: {e}"}
            log(f"[{k}/{len(specs)}] {spec.impl} {spec.optimizer} N={spec.n}: FAILED {r['error']}")
            results.append(r)
            continue
        gflops = r["net_steps_per_s"] * flops_per_net_step(spec.optimizer) / 1e9
        r["gflops"] = gflops
        r["fraction_of_peak"] = gflops / peak["gflops"] if peak["gflops"] else None
        results.append(r)
        log(f"[{k}/{len(specs)}] {_describe(r)}")
    machine["load_average_end"] = _loadavg()
    ratios, targets = summarize(results, plan)
    if plan.mode == "quick":
        notes.append(
            f"quick mode: {plan.steps} steps per trial (not 1000) and N up to {max(plan.ns)} "
            f"(engine {max(plan.ns + plan.engine_ns)}); ratios are at N={ratios['n']}"
        )
    notes.append(
        "engine trials also evaluate the initial and final risk on 8192 fresh samples and record "
        "16 losses and gradient norms; the other implementations only train"
    )
    notes.append(
        "jax_loop and torch_loop time a subset of the trials (measured_trials) within "
        f"{plan.budget_s:g} s per measurement and extrapolate net-steps/s to n"
    )
    return {
        "benchmark": "jaxnn-nonconv bench",
        "mode": plan.mode,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_s": _now() - t_start,
        "machine": machine,
        "peak": peak,
        "workload": {
            "arch": list(ARCH),
            "activation": "relu",
            "init": "pytorch (U(+-1/sqrt(fan_in)))",
            "target": TARGET,
            "box": list(BOX),
            "batch_size": BATCH,
            "steps": plan.steps,
            "learning_rates": {o: LEARNING_RATES[o] for o in plan.optimizers},
            "ns": list(plan.ns),
            "engine_ns": list(plan.engine_ns),
            "flops_per_net_step": {o: flops_per_net_step(o) for o in plan.optimizers},
        },
        "results": results,
        "ratios": ratios,
        "targets": targets,
        "skipped": skipped,
        "notes": notes,
    }


def _describe(r: dict) -> str:
    sub = f" ({r['measured_trials']} measured)" if r["extrapolated"] else ""
    mem = "" if r["peak_mem_mb"] is None else f", peak +{r['peak_mem_mb']:.0f} MB"
    return (
        f"{r['impl']} {r['optimizer']} N={r['n']}{sub}: {r['net_steps_per_s']:.3g} net-steps/s, "
        f"compile {r['compile_s']:.2f} s{mem}"
    )


def format_report(report: dict) -> str:
    """Human-readable table, ratios and targets."""
    m, pk = report["machine"], report["peak"]
    lines = [
        f"{m['cpu_model']}, {m['cores']} cores; jax {m['versions']['jax']}, "
        f"torch {m['versions']['torch']}; assumed fp32 peak {pk['gflops']} GFLOP/s",
        f"workload: [1,32,1] ReLU, x^2 on U[0,2], batch {BATCH}, {report['workload']['steps']} "
        f"steps ({report['mode']} mode)",
        "",
        f"{'impl':<14} {'opt':<5} {'N':>7} {'measured':>8} {'net-steps/s':>12} "
        f"{'compile s':>9} {'peak MB':>8} {'% peak':>7}",
    ]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"{r['impl']:<14} {r['optimizer']:<5} {r['n']:>7}  error: {r['error']}")
            continue
        mem = "-" if r["peak_mem_mb"] is None else f"{r['peak_mem_mb']:.0f}"
        frac = "-" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.2f}"
        lines.append(
            f"{r['impl']:<14} {r['optimizer']:<5} {r['n']:>7} {r['measured_trials']:>8} "
            f"{r['net_steps_per_s']:>12.4g} {r['compile_s']:>9.2f} {mem:>8} {frac:>7}"
        )
    ratios = report["ratios"]
    lines.append("")
    if ratios["n"] is not None:
        parts = [
            f"{k[3:]} {v:.3g}x" for k, v in ratios.items() if k.startswith("vs_") and v is not None
        ]
        lines.append(f"engine speed-up at N={ratios['n']} (worst optimizer): " + ", ".join(parts))
    for t in report["targets"]:
        lines.append(
            f"  {'met   ' if t['met'] else 'MISSED'} {t['name']}: {t['value']:.3g} ({t['goal']})"
        )
    lines.extend(f"note: {note}" for note in report["notes"])
    return "\n".join(lines)


def plot(report: dict, path_stem: Path) -> list[Path]:
    """Net-steps/s against N on log-log axes, one panel per optimizer; writes PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optimizers = list(report["workload"]["learning_rates"])
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5.2 * len(optimizers), 4.2), sharey=True)
    axes = np.atleast_1d(axes)
    styles = {"engine": "o-", "jax_loop": "s--", "torch_loop": "^:", "torch_batched": "D-."}
    for ax, o in zip(axes, optimizers):
        for impl in IMPLS:
            rows = sorted(
                (r for r in report["results"] if r["impl"] == impl and r["optimizer"] == o),
                key=lambda r: r["n"],
            )
            rows = [r for r in rows if "error" not in r]
            if not rows:
                continue
            (line,) = ax.plot(
                [r["n"] for r in rows],
                [r["net_steps_per_s"] for r in rows],
                styles[impl],
                label=impl,
            )
            extra = [r for r in rows if r["extrapolated"]]
            if extra:  # hollow markers: extrapolated from a measured subset of the trials
                ax.plot(
                    [r["n"] for r in extra],
                    [r["net_steps_per_s"] for r in extra],
                    styles[impl][0],
                    color="white",
                    markeredgecolor=line.get_color(),
                    markersize=5,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (independent trials)")
        ax.set_title(f"{o}, lr {LEARNING_RATES[o]:g}")
        ax.grid(True, which="major", alpha=0.4)
    axes[0].set_ylabel("net-steps per second")
    axes[0].legend(loc="lower right", fontsize=8)
    m = report["machine"]
    fig.suptitle(
        f"[1,32,1] ReLU, batch {BATCH}, {report['workload']['steps']} steps — "
        f"{m['cpu_model']}, {m['cores']} cores (hollow: extrapolated)",
        fontsize=9,
    )
    fig.tight_layout()
    paths = [path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p, dpi=150)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------- command line


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"trial counts must be positive integers, got {text!r}")
    return values


def _positive(kind: type) -> Callable:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``jaxnn-nonconv bench`` (and ``python -m benchmarks.bench``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (under 3 minutes on 2 cores): 200 steps, N = 1, 100, 1000 (engine also "
        "10^4) instead of 1000 steps, N = 1, 100, 1000, 10^4 (engine also 10^5)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (progress goes to stderr)"
    )
    parser.add_argument("--out", metavar="DIR", help="write bench.json, bench.png, bench.svg here")
    parser.add_argument(
        "--impl",
        action="append",
        choices=IMPLS,
        help="implementation to run (repeat for several; default: all)",
    )
    parser.add_argument(
        "--optimizer",
        action="append",
        choices=tuple(LEARNING_RATES),
        help="optimizer to run (repeat for several; default: sgd and adam)",
    )
    parser.add_argument(
        "--trials", type=_counts, help="trial counts N for every implementation, e.g. 1,100,1000"
    )
    parser.add_argument(
        "--engine-trials", type=_counts, help="further trial counts for the engine alone"
    )
    parser.add_argument("--steps", type=_positive(int), help="optimizer steps per trial")
    parser.add_argument(
        "--chunk-size",
        type=_positive(int),
        help=f"engine trials per device per compiled call (default: {CPU_CHUNK} on CPU, "
        f"{ACCELERATOR_CHUNK} on GPU/TPU, fewer when N is small)",
    )
    parser.add_argument(
        "--budget",
        type=_positive(float),
        help="seconds per measurement of the per-trial loops, which time a subset of the trials "
        f"and extrapolate (default {FULL.budget_s:g}; quick {QUICK.budget_s:g})",
    )
    parser.add_argument(
        "--cpu-devices",
        type=_positive(int),
        help="simulate this many JAX CPU devices; the engine shards its chunks over them "
        "(default: JAX's one device, whose large operations already use every core)",
    )
    parser.add_argument("--seed", type=int, default=0, help="trial seed (default 0)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process instead of one subprocess per measurement (starts faster; "
        "peak memory then includes what earlier measurements left allocated)",
    )


def plan_from_args(args) -> Plan:
    """The :class:`Plan` selected by parsed ``args``."""
    plan = QUICK if args.quick else FULL
    changes = {
        "impls": tuple(dict.fromkeys(args.impl)) if args.impl else None,
        "optimizers": tuple(dict.fromkeys(args.optimizer)) if args.optimizer else None,
        "ns": args.trials,
        "engine_ns": args.engine_trials,
        "steps": args.steps,
        "budget_s": args.budget,
    }
    return dataclasses.replace(plan, **{k: v for k, v in changes.items() if v is not None})


def main_from_args(args) -> int:
    """Run the benchmark selected by ``args`` (from :func:`add_arguments`); return the exit code:
    0, or 1 when a measurement failed."""
    plan = plan_from_args(args)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    n_meas = len(plan_specs(plan))
    log(f"bench ({plan.mode}): {n_meas} measurements, one subprocess each; progress below")
    report = run_benchmark(
        plan,
        seed=args.seed,
        chunk_size=args.chunk_size,
        cpu_devices=args.cpu_devices,
        in_process=args.in_process,
        log=log,
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        paths = plot(report, out / "bench")
        log(f"wrote {out / 'bench.json'}, {', '.join(str(p) for p in paths)}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 1 if any("error" in r for r in report["results"]) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
