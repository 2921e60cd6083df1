"""Certified dead-neuron counts during training, for JAX/Optax loops and PyTorch.

* :func:`make_monitor` returns a jit-compiled ``params -> Counts`` for ONE network in the project's
  layout (``((W_1, b_1), ...)``, ``W: (out, in)``): call it inside or outside a jitted training
  step, every few hundred steps. For Flax params, :func:`flax_params` rearranges a ``Dense``
  variables dict (jittable, no copies beyond the transposes).
* :class:`TorchMonitor` is a callback for a PyTorch training loop: ``monitor(step)`` reads the
  module's current weights, certifies its neurons and appends a row to ``monitor.history``.

Example (PyTorch; see ``docs/your-model.md`` for a full run)::

    mon = TorchMonitor(model, box)
    for step in range(steps):
        ...  # forward, backward, optimizer.step()
        if step % 100 == 0:
            mon(step)
    mon.history  # [{"step": 0, "inactive": [0, 1], "unknown": [0, 3], ...}, ...]

Counts are those of :func:`jaxnn_nonconv.detector.counts` (``inactive``, ``unknown``,
``empirical``, ``dead_layer``, ...); the detector is ``detector.make_detector(box, settings)``
(default settings: ``mode="auto"``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector
from jaxnn_nonconv.models import _loaders as loaders


def make_monitor(
    box: tuple[tuple[float, float], ...],
    *,
    dtype: str = "float32",
    settings: detector.DetectorSettings | None = None,
) -> Callable[[Any], detector.Counts]:
    """Jitted ``params -> Counts`` of one network on ``box`` (cached per setting).

    Args:
      box: ``((a_1, b_1), ...)``.
      dtype: the parameters' dtype.
      settings: a :class:`~jaxnn_nonconv.detector.DetectorSettings` (default
        ``DetectorSettings()``), as in :func:`jaxnn_nonconv.detector.make_detector`.

    Returns:
      ``monitor(params) -> Counts`` with ``inactive: (L,)`` etc.; jittable (it is a jitted
      function), so it can run inside a ``lax.scan`` training loop too.

    >>> from jaxnn_nonconv.core import nets
    >>> mon = make_monitor(((0.0, 1.0),))
    >>> params = ((-jnp.ones((3, 1)), jnp.array([-1.0, 1.0, 0.0])), (jnp.ones((1, 3)), jnp.zeros(1)))
    >>> mon(params).inactive.tolist()  # -x - 1 and -x are <= 0 on [0, 1]
    [2]
    """
    box = tuple((float(a), float(b)) for a, b in box)
    detect = detector.make_detector(box, settings, dtype=dtype)

    @jax.jit
    def monitor(params):
        batch = jax.tree.map(lambda a: a[None], params)
        return jax.tree.map(lambda a: a[0], detect(batch, jnp.zeros(1, jnp.uint32)))

    return monitor


def flax_params(variables: Mapping[str, Any]) -> tuple:
    """A Flax ``Dense`` stack's variables as the project's params (``W = kernel.T``); jittable.

    Layers in the dict's order; a missing bias is zero.

    >>> v = {"params": {"Dense_0": {"kernel": jnp.ones((3, 4)), "bias": jnp.zeros(4)}}}
    >>> [w.shape for w, _ in flax_params(v)]
    [(4, 3)]
    """
    tree = variables.get("params", variables)
    out = []
    for leaf in tree.values():
        k = leaf["kernel"]
        out.append((k.T, leaf.get("bias", jnp.zeros(k.shape[1], k.dtype))))
    return tuple(out)


class TorchMonitor:
    """Callback that certifies the dead neurons of a PyTorch ``nn.Sequential`` during training.

    Args:
      module: ``nn.Sequential`` of ``Linear`` / ``ReLU`` (see :func:`loaders.from_torch_module`).
      box: the input domain ``((a_1, b_1), ...)``.
      settings: the detector's :class:`~jaxnn_nonconv.detector.DetectorSettings`, passed to
        :func:`make_monitor`.

    Attributes:
      history: one dict per call: ``step``, ``inactive``, ``unknown``, ``empirical`` (lists, one
        entry per hidden layer) and ``dead_layer``.

    Each call copies the weights to NumPy (``loaders.from_torch_module``) and runs the compiled
    monitor; the first call compiles it.
    """

    def __init__(self, module: Any, box, *, settings: detector.DetectorSettings | None = None):
        self.module = module
        self.box = tuple((float(a), float(b)) for a, b in box)
        self.settings = (settings or detector.DetectorSettings()).validate(len(self.box))
        self.history: list[dict[str, Any]] = []
        self._monitor = None

    def counts(self) -> detector.Counts:
        """Counts of the module's current weights."""
        model = loaders.from_torch_module(self.module)
        if self._monitor is None:
            self._monitor = make_monitor(self.box, dtype=str(model.dtype), settings=self.settings)
        params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in model.params)
        return jax.tree.map(np.asarray, self._monitor(params))

    def __call__(self, step: int) -> dict[str, Any]:
        c = self.counts()
        row = {
            "step": int(step),
            "inactive": c.inactive.tolist(),
            "unknown": c.unknown.tolist(),
            "empirical": c.empirical.tolist(),
            "dead_layer": bool(c.dead_layer),
        }
        self.history.append(row)
        return row
