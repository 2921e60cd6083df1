"""``torch_batched``: the trials' parameters stacked, ``torch.baddbmm`` forward, autograd backward,
one ``torch.optim`` optimizer over the stacked tensors (SGD and Adam act elementwise, so this is
exactly ``N`` independent trainings)."""

from __future__ import annotations

import math

import numpy as np

from jaxnn_nonconv.bench._measure import median_pass, now
from jaxnn_nonconv.bench._torch_loop import _split_flat, _torch_optimizer
from jaxnn_nonconv.bench._workload import ARCH, BATCH, BOX, LEARNING_RATES, TORCH_CHUNK, Spec


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


def measure_torch_batched(spec: Spec) -> dict:
    import torch

    torch.set_flush_denormal(True)  # as XLA does on CPU
    gen = torch.Generator().manual_seed(spec.seed)
    chunk = min(spec.n, TORCH_CHUNK)
    warm_steps = min(spec.steps, 5)
    t0 = now()
    torch_batched_trials(spec.optimizer, chunk, warm_steps, generator=gen)
    first = now() - t0
    losses = []

    def run_pass() -> float:
        losses.clear()
        t0 = now()
        for lo in range(0, spec.n, chunk):
            size = min(chunk, spec.n - lo)
            losses.append(torch_batched_trials(spec.optimizer, size, spec.steps, generator=gen)[1])
        return now() - t0

    run_s, passes = median_pass(run_pass, spec.budget_s)
    return {
        "measured_trials": spec.n,
        "run_s": run_s,
        "passes": passes,
        "first_call_s": first,
        "steady_unit_s": run_s * chunk / spec.n * warm_steps / spec.steps,
        "mean_final_loss": float(np.mean(np.concatenate(losses))),
        "chunk_size": chunk,
        "torch_threads": torch.get_num_threads(),
    }
