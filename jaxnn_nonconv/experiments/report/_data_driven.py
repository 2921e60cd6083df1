"""The ``data_driven`` experiment's table and figure: P(not reaching the empirical minimum).

Each cell trains ``[1, H, 1]`` nets on one data set of ``n`` points (the sweep key ``data``, see
:mod:`jaxnn_nonconv.experiments`). For every cell the minimum empirical risk is bracketed by
:func:`jaxnn_nonconv.estimation.empirical_levels.empirical_levels` (segmented least squares below;
the constant, affine, interpolating nets and the best trial of all cells of that data set and
width above), and ``P(final empirical risk > minimum + tol)`` is bracketed accordingly, with
``tol = tolerance * Var y`` (the experiment's ``tolerance``, relative to the data's variance).
Theory (arXiv 2402.05155 Thm 4.2, there for the population risk): ``P(success) <= (1 - p)^H``
with ``p`` the first-layer inactivity probability on ``[min x, max x]`` (the data's box) when the
levels strictly decrease, which fails in the interpolating regime ``H >= n - 1``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.core import data as datasets
from jaxnn_nonconv.estimation import empirical_levels as el


def data_driven_rows(cells: list[dict], rows: list[dict], tolerance: float) -> None:
    """Add ``n``, ``empirical_levels``, ``not_reaching_empirical_min`` and ``dead_on_data_*`` to
    the rows of ``d = 1`` shallow cells with a data set (in place)."""
    best: dict[tuple, float] = {}
    for c in cells:
        cfg = c["cfg"]
        if cfg.data is None or "risk" not in c:
            continue
        key = (cfg.data.digest, cfg.arch)
        ok = ~c["diverged"]
        if ok.any():
            best[key] = min(best.get(key, math.inf), float(c["risk"][ok].min()))
    for c, row in zip(cells, rows):
        cfg = c["cfg"]
        if cfg.data is None or "risk" not in c:
            continue
        n = len(c["diverged"])
        row["n"] = cfg.data.n
        for when in ("init", "end"):
            if f"{when}_data_inactive" in c:
                dead = (c[f"{when}_data_inactive"].sum(1) > 0).sum()
                row[f"dead_on_data_{when}"] = {"estimate": float(dead / n), "count": int(dead)}
        if cfg.arch[0] != 1 or len(cfg.arch) != 3:
            continue
        lv = el.empirical_levels(
            cfg.data.x[:, 0], cfg.data.y, cfg.arch[1], best.get((cfg.data.digest, cfg.arch))
        )
        tol = tolerance * datasets.levels(cfg.data)["constant"]
        row["empirical_levels"] = {**lv, "tol": tol}
        row["not_reaching_empirical_min"] = el.not_reaching(c["risk"], c["diverged"], lv, tol)


def fig_data_driven(exp, cells, rows, fig_dir: Path, formats) -> dict[str, Any]:
    """P(not reaching the empirical minimum) against ``H``, one line per ``n`` and optimizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_driven_rows(cells, rows, exp.tolerance)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups: dict[tuple, list] = {}
    for r in rows:
        if "not_reaching_empirical_min" in r:
            groups.setdefault((r["n"], r["optimizer"]), []).append(r)
    for (n, opt), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["width"])
        h = np.array([r["width"] for r in rs])
        lo = np.array([r["not_reaching_empirical_min"]["bracket"][0] for r in rs])
        hi = np.array([r["not_reaching_empirical_min"]["bracket"][1] for r in rs])
        line = ax.plot(h, (lo + hi) / 2, marker="o", ms=4, label=f"n = {n}, {opt}")[0]
        ax.fill_between(h, lo, hi, color=line.get_color(), alpha=0.2)
        ax.axvline(n - 1, color=line.get_color(), lw=0.6, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width H (dotted: H = n - 1, interpolation)")
    ax.set_ylabel("P(not reaching the empirical minimum)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("[1, H, 1] on n points: bracket between certain and possible failures", fontsize=9)
    ax.legend(fontsize=7)
    paths = []
    for fmt in formats:
        paths.append(fig_dir / f"data_driven.{fmt}")
        fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close(fig)
    return {"paths": paths}
