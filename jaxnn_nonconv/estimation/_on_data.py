"""Inactivity on a data set, of many networks: counts per trial and P(dead on the data) at init.

* :func:`counts_on_data`: per-trial :class:`~jaxnn_nonconv.detector.DataCounts` of flat
  parameters (e.g. ``engine.run``'s ``params0`` and ``params``) on the training points, in padded
  chunks of one fixed shape (one compilation per chunk shape).
* :func:`data_at_init`: the initial networks of trials ``0..M-1`` (the nets ``engine.run`` starts
  from) classified on the points: ``P(some neuron dead on the data)``, ``P(constant on the
  data)`` and ``P(a first-layer neuron dead on the data)``, with intervals and theory's bounds on
  the points' bounding box (data inside a box: dead on the box implies dead on the data, so the
  box's lower bounds hold; in ``d = 1`` the first layer's probability equals the box's, arXiv
  2402.05155 Lemma 3.1 on ``[min x, max x]``). ``estimate --data`` and ``advise --data``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.stats import DEFAULT_CONFIDENCE, bracketed, theory

_NET_BLOCK = 8  # nets classified at once inside a chunk: each holds (n, width) bounds


@functools.lru_cache(maxsize=32)
def _compiled(arch: tuple[int, ...], chunk_size: int):
    def chunk(theta, x):
        return jax.lax.map(
            lambda t: detector.classify_on_data(nets.from_flat(t, arch), x),
            theta,
            batch_size=_NET_BLOCK,
        )

    return jax.jit(chunk)


@functools.lru_cache(maxsize=32)
def _compiled_init(cfg: engine.TrainConfig, chunk_size: int):
    """Jitted ``(base_key, indices) -> theta: (chunk, P)``: the initial nets ``engine.run`` starts
    from (trial ``i``'s key ``fold_in(base_key, i)``, i.e. ``engine.trial_key(seed, i)``)."""

    def draw(base_key, indices):
        return jax.vmap(
            lambda i: nets.to_flat(engine.init_trial_params(cfg, jax.random.fold_in(base_key, i)))
        )(indices)

    return jax.jit(draw)


def counts_on_data(
    theta: np.ndarray | jax.Array, arch: Sequence[int], x: np.ndarray, *, chunk_size: int = 1024
) -> dict[str, np.ndarray]:
    """Per-trial inactivity on the points ``x: (n, d)`` of nets ``theta: (M, P)``.

    ``x`` is cast to ``theta``'s dtype, the dtype the nets were trained in (then the points are
    exact). Non-finite parameters (diverged trials) must be replaced before (they would be
    neither inactive nor active).

    Returns:
      ``inactive``, ``unknown`` ``(M, L)`` int; ``dead_layer``, ``dead_layer_possible`` ``(M,)``.

    >>> theta = np.zeros((3, nets.num_params((1, 4, 1))), np.float32)
    >>> counts_on_data(theta, (1, 4, 1), np.array([[0.0], [1.0]]))["inactive"][:, 0].tolist()
    [4, 4, 4]
    """
    theta = np.asarray(nets.float_input(theta, "theta"))
    arch = nets.check_arch(arch)
    if theta.ndim != 2 or theta.shape[0] == 0:
        raise ValueError(f"theta must have shape (M, P) with M >= 1, got {theta.shape}")
    m = theta.shape[0]
    chunk_size = min(chunk_size, m)
    fn = _compiled(tuple(arch), chunk_size)
    xj = jnp.asarray(np.asarray(x), theta.dtype)
    parts = []
    for lo in range(0, m, chunk_size):
        rows = np.minimum(np.arange(lo, lo + chunk_size), m - 1)  # padded; dropped below
        parts.append({k: np.asarray(v) for k, v in fn(theta[rows], xj)._asdict().items()})
    return {k: np.concatenate([p[k] for p in parts])[:m] for k in parts[0]}


def any_inactive_flags(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(certain, possible)``: some neuron inactive on the data."""
    return c["inactive"].sum(1) > 0, (c["inactive"] + c["unknown"]).sum(1) > 0


def data_at_init(
    cfg: engine.TrainConfig,
    n_trials: int,
    x: np.ndarray,
    *,
    seed: int = 0,
    chunk_size: int = 1024,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Any]:
    """P(dead on the data) of the initial nets of ``cfg`` (module docstring).

    Args:
      cfg: the setting (its ``arch``, ``init``, ``zero_bias``, ``init_scale``, ``dtype``).
      n_trials: ``M`` initial nets, trial ``i`` from ``engine.trial_key(seed, i)``.
      x: ``(n, d)`` points.

    Returns:
      JSON-ready dict: ``n_points``, ``box`` (the points' bounding box), ``any_inactive``,
      ``constant_network`` and ``first_layer_neuron_inactive`` (a pooled per-neuron proportion
      over the ``M l_1`` first-layer neurons), each an entry with ``estimate``, ``bracket``,
      ``ci``, ``ci_wilson``, ``count``, ``n`` and theory's ``bound`` (``theory`` for the first
      layer: its closed form on the box, equal in ``d = 1``).

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1)).validate()
    >>> out = data_at_init(cfg, 16, np.array([[0.0], [2.0]]))
    >>> sorted(out)[:3], out["first_layer_neuron_inactive"]["n"]
    (['any_inactive', 'box', 'constant_network'], 64)
    """
    cfg = cfg.validate()
    engine.check_dtype_enabled(cfg)
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != cfg.arch[0] or x.shape[0] == 0:
        raise ValueError(f"points must be (n, {cfg.arch[0]}) with n >= 1, got {x.shape}")
    chunk_size = min(chunk_size, n_trials)
    draw = _compiled_init(cfg, chunk_size)
    parts = []
    for lo in range(0, n_trials, chunk_size):  # one chunk of initial nets at a time
        idx = np.arange(lo, lo + chunk_size, dtype=np.uint32)  # the last chunk padded
        theta = np.asarray(draw(jax.random.key(seed), idx))
        parts.append(counts_on_data(theta, cfg.arch, x, chunk_size=chunk_size))
    c = {k: np.concatenate([p[k] for p in parts])[:n_trials] for k in parts[0]}
    lo_b, hi_b = x.min(0), x.max(0)
    # A constant column c gets (c - 1/2, c + 1/2), as Dataset.box(): a larger box, so its lower
    # bounds still hold; the first layer's closed form is exact only on the true interval.
    box = tuple(
        (float(a), float(b)) if b > a else (float(a) - 0.5, float(b) + 0.5)
        for a, b in zip(lo_b, hi_b)
    )
    exact_1d = cfg.arch[0] == 1 and bool(np.all(hi_b > lo_b))
    th = theory.summary(cfg.arch, cfg.init, box, cfg.zero_bias)
    lo, hi = any_inactive_flags(c)
    anyi = bracketed(int(lo.sum()), int(hi.sum()), n_trials, confidence)
    const = bracketed(
        int(c["dead_layer"].sum()), int(c["dead_layer_possible"].sum()), n_trials, confidence
    )
    l1 = cfg.arch[1]
    first = bracketed(
        int(c["inactive"][:, 0].sum()),
        int((c["inactive"][:, 0] + c["unknown"][:, 0]).sum()),
        n_trials * l1,
        confidence,
    )
    return {
        "n_points": int(x.shape[0]),
        "box": [[float(a), float(b)] for a, b in zip(lo_b, hi_b)],
        "any_inactive": anyi.with_extra(bound=th["any_inactive_lower_bound"]).to_dict(),
        "constant_network": const.with_extra(bound=th["constant_network_lower_bound"]).to_dict(),
        "first_layer_neuron_inactive": first.with_extra(
            theory=th["first_layer_p"] if exact_1d else None,
            bound=th["first_layer_p"],
        ).to_dict(),
    }


_ROWS = {
    "any_inactive": ("P(some neuron dead on the data)", "P(no neuron dead on the data)"),
    "constant_network": ("P(net constant on the data)", "P(net not constant on the data)"),
    "first_layer_neuron_inactive": (
        "P(a first-layer neuron dead on the data)",
        "P(a first-layer neuron alive on the data)",
    ),
}


def print_summary_on_data(summary: dict[str, Any], console: Any = None) -> None:
    """``estimate --data``: the box table of :func:`print_summary`, then the data's own table."""
    from rich.console import Console
    from rich.table import Table

    from jaxnn_nonconv.estimation._init_summary import print_summary
    from jaxnn_nonconv.stats import table_row

    console = console or Console()
    print_summary(summary, console)
    on = summary["on_data"]
    d = summary["data"]
    t = Table(
        title=f"Dead on the data at initialization: {d['source']}, {on['n_points']} points "
        f"({summary['trials']} initializations)",
        caption="inactive on every data point, certified in floats; theory: the bounds on the "
        "data's bounding box (equal for the first layer in d = 1)",
    )
    t.add_column("event")
    t.add_column("measured (interval)", justify="right")
    t.add_column("theory", justify="right")
    for name, labels in _ROWS.items():
        e = on[name]
        theory_value = e.get("theory")
        if theory_value is not None:
            t.add_row(*table_row(labels, e, theory_value))
        else:
            t.add_row(*table_row(labels, e, e.get("bound"), ">= "))
    console.print(t)
