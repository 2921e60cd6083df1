"""Throughput of the training engine against a per-trial JAX loop and PyTorch (``jaxnn-nonconv bench``).

One idea per module:

* :mod:`~jaxnn_nonconv.bench._workload`: the workload, plans, FLOPs and bytes of a net-step.
* one module per implementation: :mod:`~jaxnn_nonconv.bench._engine`,
  :mod:`~jaxnn_nonconv.bench._jax_loop`, :mod:`~jaxnn_nonconv.bench._torch_loop`,
  :mod:`~jaxnn_nonconv.bench._torch_batched`.
* :mod:`~jaxnn_nonconv.bench._measure`: timing, memory, one subprocess per measurement.
* :mod:`~jaxnn_nonconv.bench._machine`: the machine, its measured copy bandwidth and matmul
  throughput, the roofline.
* :mod:`~jaxnn_nonconv.bench._report`: ratios, targets, table, plot.
* :mod:`~jaxnn_nonconv.bench._run`: the plan runner and the command line (also
  ``python -m jaxnn_nonconv.bench``).

Workload: ``[1, 32, 1]`` ReLU networks, target ``x^2`` on ``U[0, 2]``, a fresh batch of 64
samples per step, 1000 steps of online SGD (learning rate 0.01) or Adam (1e-3), for ``N`` independent
trials. Implementations, measured one after the other on the same machine:

* ``engine``: :func:`jaxnn_nonconv.engine.run` (vmapped ``lax.scan`` over chunks of trials, sharded
  over the local devices). It does more than the others: per trial it also evaluates the initial
  and final risk on 8192 fresh samples and records 16 losses and gradient norms.
* ``jax_loop``: :func:`jaxnn_nonconv.engine.fit` of one network under ``jit``, called once per trial
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

from jaxnn_nonconv.bench._jax_loop import engine_batches, make_jax_trial
from jaxnn_nonconv.bench._machine import machine_info, peak_flops, probe, roofline
from jaxnn_nonconv.bench._measure import measure, measure_in_subprocess
from jaxnn_nonconv.bench._report import format_report, plot, summarize
from jaxnn_nonconv.bench._run import (
    add_arguments,
    main,
    main_from_args,
    plan_from_args,
    plan_specs,
    run_benchmark,
)
from jaxnn_nonconv.bench._torch_batched import torch_batched_trials
from jaxnn_nonconv.bench._torch_loop import torch_loop_trial
from jaxnn_nonconv.bench._workload import (
    ACCELERATOR_CHUNK,
    ARCH,
    BATCH,
    BOX,
    CPU_CHUNK,
    FULL,
    IMPLS,
    LEARNING_RATES,
    QUICK,
    TARGET,
    TORCH_CHUNK,
    TORCH_IMPLS,
    Plan,
    Spec,
    bytes_per_net_step,
    engine_config,
    engine_layout,
    flops_per_net_step,
)

__all__ = [
    "ACCELERATOR_CHUNK",
    "ARCH",
    "BATCH",
    "BOX",
    "CPU_CHUNK",
    "FULL",
    "IMPLS",
    "LEARNING_RATES",
    "QUICK",
    "TARGET",
    "TORCH_CHUNK",
    "TORCH_IMPLS",
    "Plan",
    "Spec",
    "add_arguments",
    "bytes_per_net_step",
    "engine_batches",
    "engine_config",
    "engine_layout",
    "flops_per_net_step",
    "format_report",
    "machine_info",
    "main",
    "main_from_args",
    "make_jax_trial",
    "measure",
    "measure_in_subprocess",
    "peak_flops",
    "plan_from_args",
    "plan_specs",
    "plot",
    "probe",
    "roofline",
    "run_benchmark",
    "summarize",
    "torch_batched_trials",
    "torch_loop_trial",
]
