"""The benchmark's workload, its plans and its arithmetic: FLOPs and bytes of one net-step.

Workload: ``[1, 32, 1]`` ReLU networks, target ``x^2`` on ``U[0, 2]``, a fresh batch of 64
samples per step, online SGD (learning rate 0.01) or Adam (1e-3), for ``N`` independent trials. The
unit is the **net-step**: one optimizer step of one network (forward, backward and update on one
batch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

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
# Parameter-sized arrays an update reads or writes: SGD reads p and g, writes p; Adam also reads
# and writes its two moments.
UPDATE_ARRAYS = {"sgd": 3, "adam": 7}
FLOAT_BYTES = 4


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one benchmark run measures.

    Attributes:
      mode: ``full`` or ``quick``.
      steps: optimizer steps per trial.
      ns: trial counts measured for every implementation.
      engine_ns: further trial counts for the engine alone.
      budget_s: time budget of one measurement: a per-trial loop times the trials that fit in it
        (then extrapolates); work that takes less is timed again while it lasts (median pass).
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


# The full plan's step count, so that every implementation is measured at the same 1000 steps and
# the engine's per-call costs weigh as in real runs (at 200 steps it measured a quarter of its
# 2000-step rate at N = 1000); fewer trial counts and a shorter budget keep it to a few minutes.
QUICK = Plan("quick", steps=1000, ns=(1, 1000), engine_ns=(10_000,), budget_s=3.0)


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


def engine_config(optimizer: str, steps: int):
    """The engine's :class:`~jaxnn_nonconv.engine.TrainConfig` of the workload (defaults otherwise)."""
    from jaxnn_nonconv import engine
    from jaxnn_nonconv.core import problems

    return engine.TrainConfig(
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


def bytes_per_net_step(
    optimizer: str, arch: Sequence[int] = ARCH, batch: int = BATCH, itemsize: int = FLOAT_BYTES
) -> int:
    """Bytes one net-step moves when every intermediate array goes through memory once.

    The traffic of an unfused, op-by-op execution: each operation reads its operands and writes its
    result once (forward: input, pre-activation, activation, output; loss: output, target,
    residual; backward: the gradients of each of those and the parameter gradients; the parameters
    read once and the update's :data:`UPDATE_ARRAYS`). A fused program that keeps a trial's
    activations in cache moves less; dividing the measured memory bandwidth by this gives the
    memory roof of the roofline (see ``docs/benchmarks.md``).

    >>> bytes_per_net_step("sgd"), bytes_per_net_step("adam")
    (93968, 95520)
    """
    layers = list(zip(arch[:-1], arch[1:]))
    floats = 3 * batch  # loss: read output and target, write the residual
    for k, (n_in, n_out) in enumerate(layers):
        floats += batch * (n_in + n_out)  # forward product: read the input, write the result
        floats += batch * n_out + batch * n_in  # weight gradient: read both
        floats += batch * n_out  # bias gradient
        if k > 0:
            floats += batch * (n_out + n_in)  # gradient w.r.t. the layer's input
        if k < len(layers) - 1:
            floats += 2 * batch * n_out  # activation: read pre-activation, write activation
            floats += 3 * batch * n_out  # its derivative: read mask and gradient, write
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in layers)
    floats += (1 + UPDATE_ARRAYS[optimizer]) * n_params  # forward reads theta; the update
    return floats * itemsize
