"""Initialization advisor: which init family is least likely to start with dead neurons?

For an architecture and an input box, :func:`advise` measures, for every init family of
:mod:`jaxnn_nonconv.core.inits` with and without zero biases, at initialization:

* ``any_inactive``: P(some hidden neuron inactive on the box) (certified; bracketed when the
  detector leaves neurons unknown), with Clopper-Pearson and Wilson intervals;
* ``constant_network``: P(some hidden layer entirely inactive: the net is constant on the box);
* ``restarts``: the number ``K`` of independent initializations needed for a 95% chance that at
  least one has no inactive neuron, ``K = ceil(log(0.05) / log(P(any_inactive)))``, with the
  interval obtained by putting the ends of P's interval in (``K`` increases with P; ``None``
  means unbounded: P may be 1).

The numbers are those of :func:`jaxnn_nonconv.estimation.estimate_at_init` (same trials, same keys),
read through one small adapter, :func:`_at_init`. Rows are ranked by P(some neuron inactive), then
P(constant); rows with exactly equal estimates share a rank (:func:`shared_ranks`). Theory:
Jentzen & Riekert, arXiv 2402.05155 (shallow nets: ``1 - (1 - p)^l``);
Cheridito, Jentzen & Rossmannek, arXiv 2006.07075 (constant nets); RAI: Lu et al., arXiv 1903.06733.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxnn_nonconv import detector, engine, estimation, stats
from jaxnn_nonconv.core import inits, problems

FAMILIES: tuple[tuple[str, bool], ...] = tuple(
    (name, zb) for name in inits.INITS for zb in (False, True)
)


def restarts_needed(p: float | None, success: float = 0.95) -> int | None:
    """Smallest ``K`` with ``1 - p^K >= success`` (``p`` = P(a draw has a dead neuron)).

    Returns ``None`` when ``p >= 1`` (no ``K`` suffices) and ``1`` when ``p == 0``.

    >>> restarts_needed(0.5), restarts_needed(0.0), restarts_needed(1.0), restarts_needed(0.05)
    (5, 1, None, 1)
    """
    if p is None or p >= 1:
        return None
    if p <= 0:
        return 1
    k = math.log(1 - success) / math.log(p)
    return max(1, math.ceil(k - 1e-12))


def _at_init(cfg: engine.TrainConfig, trials: int, **kw: Any) -> tuple[dict, dict]:
    """The adapter to :mod:`jaxnn_nonconv.estimation`: ``(any_inactive, constant_network)`` entries, each with
    ``bracket`` ``[lo, hi]`` and ``ci`` ``[lo, hi]``."""
    s = estimation.estimate_at_init(cfg, trials, progress=False, **kw)
    return s["any_inactive"], s["constant_network"]


def _entry(e: dict) -> dict[str, Any]:
    return {
        "estimate": e["estimate"],
        "bracket": e["bracket"],
        "ci": e["ci"],
        "ci_wilson": e["ci_wilson"],
        "count": e["count"],
        "count_bracket": e["count_bracket"],
    }


def shared_ranks(keys: list) -> list[int]:
    """Ranks of sorted ``keys`` where equal keys share a rank ("1224" competition ranking): three
    exactly equal estimates are one rank, not three.

    >>> shared_ranks([(0.1, 0.0), (0.2, 0.0), (0.2, 0.0), (0.3, 0.0)])
    [1, 2, 2, 4]
    """
    ranks = []
    for i, key in enumerate(keys):
        ranks.append(ranks[-1] if i and key == keys[i - 1] else i + 1)
    return ranks


def advise(
    arch: Sequence[int],
    box: Sequence[Sequence[float]],
    *,
    trials: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    success: float = 0.95,
    families: Sequence[tuple[str, bool]] = FAMILIES,
    dtype: str = "float32",
    chunk_size: int = estimation.DEFAULT_CHUNK,
    settings: detector.DetectorSettings | None = None,
    points: np.ndarray | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Rank init families by P(dead neuron at init), P(constant net) and restarts needed.

    Args:
      arch: ``(d, l_1, ..., l_L, 1)``.
      box: ``((a_1, b_1), ...)``, ``d`` pairs.
      trials: initializations per family.
      seed: trial ``i`` uses ``fold_in(key(seed), i)`` (as ``estimate``).
      confidence: interval level.
      success: target chance of at least one initialization without dead neurons (for ``K``).
      families: ``(init, zero_bias)`` pairs (default: every family, both bias variants).
      dtype: parameter dtype.
      chunk_size: trials per compiled call.
      settings: the detector's :class:`~jaxnn_nonconv.detector.DetectorSettings` (default
        ``DetectorSettings()``; see ``estimate``), used with ``refine_for="events"``.
      points: ``(n, d)`` data points (``advise --data``): each row also gets
        ``any_inactive_on_data`` and ``constant_on_data`` (the same initializations, dead on
        every point, :func:`jaxnn_nonconv.estimation.data_at_init`), rows are ranked by them
        first, and ``restarts`` counts initializations with no neuron dead on the data.
      progress: a progress bar over the families on stderr (default: when stderr is a
        terminal; a redirected stderr stays quiet).

    Returns:
      JSON-friendly dict: ``arch``, ``box``, ``trials``, ``seed``, ``confidence``, ``wall_s`` and
      ``rows`` (ranked; each ``rank``, ``init``, ``zero_bias``, ``any_inactive``,
      ``constant_network``, ``restarts`` with ``estimate`` (``K`` at the bracket's midpoint, an
      int or ``None`` for infinite), ``bracket`` (``[K_lo, K_hi]``, equal ends when decided) and
      ``interval``).

    Raises:
      ConfigError: an architecture without a hidden layer.
      ValueError: bad arch, box or init name.

    >>> out = advise((1, 4, 1), [(0.0, 2.0)], trials=64, families=[("normal", True)])
    >>> row = out["rows"][0]
    >>> row["init"], row["any_inactive"]["bracket"] == [row["any_inactive"]["estimate"]] * 2
    ('normal', True)
    """
    t0 = time.perf_counter()
    estimation.require_hidden(arch, "advise")
    # Only the two events are read here: branch and bound for them alone (a fraction of the cost).
    settings = dataclasses.replace(settings or detector.DetectorSettings(), refine_for="events")
    problem = problems.Problem("x^2", tuple((float(a), float(b)) for a, b in box)).validate()
    rows = []
    for name, zero_bias in engine.progress_iter(families, len(families), progress, "init families"):
        cfg = engine.TrainConfig(
            arch=tuple(arch), init=name, zero_bias=bool(zero_bias), problem=problem, dtype=dtype
        ).validate()
        anyi, const = _at_init(
            cfg,
            trials,
            seed=seed,
            confidence=confidence,
            chunk_size=min(chunk_size, trials),  # per-trial results do not depend on it
            settings=settings,
        )
        on = None
        if points is not None:
            on = estimation.data_at_init(
                cfg,
                trials,
                points,
                seed=seed,
                confidence=confidence,
                chunk_size=min(chunk_size, trials),
            )
        ranked = anyi if on is None else on["any_inactive"]
        lo, hi = ranked["bracket"]
        k_lo, k_hi = restarts_needed(lo, success), restarts_needed(hi, success)
        rows.append(
            {
                "init": name,
                "zero_bias": bool(zero_bias),
                "any_inactive": _entry(anyi),
                "constant_network": _entry(const),
                "restarts": {
                    # the value at the midpoint, as every point value (docs/api.md)
                    "estimate": restarts_needed(ranked["estimate"], success),
                    "bracket": [k_lo, k_hi],
                    "interval": [
                        restarts_needed(ranked["ci"][0], success),
                        restarts_needed(ranked["ci"][1], success),
                    ],
                },
                **(
                    {}
                    if on is None
                    else {
                        "any_inactive_on_data": _entry(on["any_inactive"]),
                        "constant_on_data": _entry(on["constant_network"]),
                    }
                ),
            }
        )

    def order(r):
        return (
            *(
                (r["any_inactive_on_data"]["bracket"][1], r["constant_on_data"]["bracket"][1])
                if points is not None
                else ()
            ),
            r["any_inactive"]["bracket"][1],
            r["constant_network"]["bracket"][1],
            r["any_inactive"]["bracket"][0],
        )

    rows.sort(key=order)
    for r, rank in zip(rows, shared_ranks([order(r) for r in rows]), strict=True):
        r["rank"] = rank
    return {
        "arch": list(arch),
        "box": [list(map(float, p)) for p in box],
        "trials": trials,
        "seed": seed,
        "confidence": confidence,
        "success": success,
        "rows": rows,
        **({} if points is None else {"n_points": int(np.asarray(points).shape[0])}),
        "wall_s": time.perf_counter() - t0,
    }


def _fmt(e: dict) -> str:
    lo, hi = e["bracket"]
    point = f"{lo:.4f}" if lo == hi else f"[{lo:.4f}, {hi:.4f}]"
    return f"{point}\n({e['ci'][0]:.4f}, {e['ci'][1]:.4f})"


def _fmt_k(r: dict) -> str:
    def k(v):
        return "∞" if v is None else str(v)

    (lo, hi), (a, b) = r["bracket"], r["interval"]
    point = k(lo) if lo == hi else f"[{k(lo)}, {k(hi)}]"
    return f"{point}\n({k(a)}, {k(b)})"


def print_advice(out: dict[str, Any], console: Any = None) -> None:
    """Rich table of :func:`advise`'s output, best family first, 80 columns wide: each cell the
    value (or bracket) above its interval."""
    pairs = {tuple(p) for p in out["box"]}
    if len(pairs) == 1 and len(out["box"]) > 1:
        ((a, b),) = pairs
        box = f"[{a:g}, {b:g}]^{len(out['box'])}"
    else:
        box = " x ".join(f"[{a:g}, {b:g}]" for a, b in out["box"])
    data = "n_points" in out
    rows = []
    for r in out["rows"]:
        name = r["init"] + (",\nzero bias" if r["zero_bias"] else "")
        on = [_fmt(r["any_inactive_on_data"]), _fmt(r["constant_on_data"])] if data else []
        rows.append(
            (
                str(r["rank"]),
                name,
                *on,
                _fmt(r["any_inactive"]),
                _fmt(r["constant_network"]),
                _fmt_k(r["restarts"]),
            )
        )
    caption = (
        f"{stats.notation(out['confidence'])}; K: initializations for a {out['success']:.0%} "
        f"chance of one with no dead neuron; {out.get('wall_s', 0.0):.1f} s"
    )
    header = ["rank", "init", "P(some neuron dead)", "P(constant net)", "K restarts"]
    if data:  # on the data: dead on all n points, ranked first
        header[2:2] = ["P(dead on data)", "P(const. on data)"]
        caption += f"; on data: on all {out['n_points']} points, ranked first"
    stats.print_table(
        f"Init families for {tuple(out['arch'])} on box {box} "
        f"({out['trials']} initializations each)",
        caption,
        tuple(header),
        rows,
        console,
        text_columns=2,
    )
