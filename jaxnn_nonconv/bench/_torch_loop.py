"""``torch_loop``: one ``nn.Module`` and one ``torch.optim`` optimizer per trial, a Python loop over
steps: what a PyTorch user writes first."""

from __future__ import annotations

import numpy as np

from jaxnn_nonconv.bench._measure import time_per_trial
from jaxnn_nonconv.bench._workload import ARCH, BATCH, BOX, LEARNING_RATES, Spec


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


def measure_torch_loop(spec: Spec) -> dict:
    import torch

    torch.set_flush_denormal(True)  # as XLA does on CPU; Adam's moments otherwise go subnormal
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)

    def run_one(i: int) -> float:
        return torch_loop_trial(spec.optimizer, spec.steps, generator=gen)[1]

    return {**time_per_trial(run_one, spec), "torch_threads": torch.get_num_threads()}
