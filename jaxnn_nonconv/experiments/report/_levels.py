"""Reports on the convergence event itself: exact risks against the risk levels ``R_k``.

Used by :mod:`jaxnn_nonconv.experiments.report` for stored experiment cells that carry ``risk_exact``
(:mod:`jaxnn_nonconv.exact.risk`) and whose run directory holds cached levels
(:mod:`jaxnn_nonconv.estimation.levels`, written by
:func:`jaxnn_nonconv.experiments.run_experiment`). Nothing is trained or computed anew here.
Source: arXiv 2402.05155 (Sec. 3.6, Thm 4.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import stats
from jaxnn_nonconv.estimation import levels as risk_levels
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.experiments import _spec as experiments


def cell_levels(exp: experiments.Experiment, cfg, out_dir: str | Path):
    """The cached :class:`~jaxnn_nonconv.estimation.levels.RiskLevels` ``R_0..R_H`` of a shallow cell, or
    ``None`` (no ``levels`` settings, not a shallow ``d = 1`` cell, or not computed yet)."""
    if exp.levels is None or len(cfg.arch) != 3:
        return None
    if not exact_risk.supported(cfg.problem, cfg.activation, cfg.arch):
        return None
    if cfg.activation != "relu" or getattr(cfg, "trainable", None) is not None:
        return None  # R_0..R_H are the levels of a fully trained ReLU net (docs/theory.md)
    settings, max_width = experiments.level_settings(exp)
    if cfg.arch[1] > max_width:
        return None
    return risk_levels.cached(
        cfg.problem, cfg.arch[1], settings, Path(out_dir) / experiments.LEVELS_DIR
    )


def bound_levels(exp: experiments.Experiment, cfg, out_dir: str | Path):
    """Cached levels ``R_0..R_K`` of a fully trained ReLU cell *without* its own levels, or ``None``.

    For a shallow cell wider than ``levels.max_width`` or a deep cell ``[1, l_1, ..., 1]``, the
    levels of the same problem found for narrower shallow cells bound its unknown ones (docs/
    theory.md sec. 3c): ``R_k`` is nonincreasing in ``k``, so ``R_H <= R_(H-1) <= R_K <= R_K(found)``
    for ``K < H``, and a deep net with ``l_1 > K`` (even with one dead first-layer neuron)
    realizes every ``[1, K, 1]`` net on the box. ``K`` is the largest cached width with
    ``K <= min(max_width, l_1 - 1)``; used by :func:`jaxnn_nonconv.experiments.report._six.classify_bounded`.
    """
    if (
        exp.levels is None
        or cfg.activation != "relu"
        or getattr(cfg, "trainable", None) is not None
    ):
        return None
    if not exact_risk.supported(cfg.problem, cfg.activation, cfg.arch):
        return None
    settings, max_width = experiments.level_settings(exp)
    if len(cfg.arch) == 3 and cfg.arch[1] <= max_width:
        return None  # the cell's own levels R_0..R_H (cell_levels)
    for k in range(min(max_width, cfg.arch[1] - 1), 0, -1):
        found = risk_levels.cached(cfg.problem, k, settings, Path(out_dir) / experiments.LEVELS_DIR)
        if found is not None:
            return found
    return None


def level_stats(c: dict) -> dict[str, Any]:
    """``not_global`` (Wilson ``ci``), level counts and ``R_H`` of one cell with exact risks.

    ``not_global``: diverged, or exact risk above ``R_H + tol_H`` (:func:`levels.classify_levels`);
    trials whose exact risk overflowed are left out of both counts and reported as ``unsure``.
    """
    lv = c.get("levels")
    if lv is None or "risk_exact" not in c:
        return {}
    ok = ~c["diverged"]
    exact = np.asarray(c["risk_exact"], np.float64)
    cls = risk_levels.classify_levels(exact, lv.levels)
    unsure = ok & ~np.isfinite(exact)
    fail = (~ok | ~cls["reached_global"]) & ~unsure
    n = int((~unsure).sum())
    width = len(lv.levels) - 1
    counts = np.bincount(cls["level"][ok & ~unsure] + 1, minlength=width + 2)
    p = c.get("theory_p")
    return {
        "not_global": stats.json_entry(stats.proportion(int(fail.sum()), n), interval="wilson"),
        "not_global_unsure": int(unsure.sum()),
        "levels": list(lv.levels),
        "level_spread": list(lv.spread),
        "level_source": list(lv.source),
        "R_H": lv.levels[-1],
        "R_H_tol": float(risk_levels.tolerances(lv.levels)[-1]),
        "below_levels": int((cls["below_levels"] & ok).sum()),
        "level_counts": {"between": int(counts[0])}
        | {str(k): int(counts[k + 1]) for k in range(width + 1)},
        "mechanism_bound": None if p is None else 1 - (1 - p) ** width,
    }


def fig_risk_levels(exp, cells, rows, fig_dir: Path, formats) -> dict[str, Any]:
    """Final exact risks against the ``R_k`` lines, one panel per cell, coloured by active
    neurons; ``extra`` holds the table of P(not_global) by optimizer and width."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(cells)
    ncol = 2 if n % 2 == 0 else min(n, 3)  # e.g. one row per width, one column per optimizer
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.2 * ncol, 2.9 * nrow), squeeze=False, constrained_layout=True
    )
    table = []
    rng = np.random.default_rng(0)
    wmax = max(c["cfg"].arch[1] for c in cells)  # one colour scale for every panel
    for ax, c, row in zip(axes.ravel(), cells, rows):
        ok = ~c["diverged"]
        width = c["cfg"].arch[1]
        risk = np.asarray(c.get("risk_exact", c["risk"]), np.float64)[ok]
        active = (width - c["end_inactive"][ok, 0]).astype(int)
        jitter = active + rng.uniform(-0.3, 0.3, active.size)
        sc = ax.scatter(
            jitter, np.maximum(risk, 1e-16), c=active, cmap="viridis", s=4, vmin=0, vmax=wmax
        )
        lv = c.get("levels")
        if lv is not None:
            for k, r in enumerate(lv.levels):
                ax.axhline(r, color="k" if k == width else "0.6", lw=0.6, ls="--")
            # The best affine risk: a critical level too (every kink outside the box).
            ax.axhline(lv.affine, color="tab:red", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_title(f"{row['label']}", fontsize=8)
        ax.set_xlabel("active neurons at the end", fontsize=8)
        ax.set_ylabel("final exact risk" if "risk_exact" in c else "final risk (MC)", fontsize=7)
        ax.tick_params(labelsize=7)
        if "not_global" in row:
            table.append(
                {
                    "optimizer": row["optimizer"],
                    "width": width,
                    "not_global": row["not_global"]["estimate"],
                    "ci": row["not_global"]["ci"],
                    "mechanism_bound": row["mechanism_bound"],
                    "inactive_end": row["inactive_at_end"]["estimate"],
                    "risk_gap_fail": row["fail"]["estimate"],
                    "level_counts": row["level_counts"],
                }
            )
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.colorbar(sc, ax=axes.ravel().tolist(), shrink=0.6, label="active neurons")
    fig.suptitle(
        "Final exact risks vs the levels R_k (dashed; R_H black; best affine risk dotted red), "
        "arXiv 2402.05155 Sec. 3.6",
        fontsize=9,
    )
    paths = []
    for fmt in formats:
        path = fig_dir / f"risk_levels_exact.{fmt}"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return {"paths": paths, "extra": {"not_global_table": table}}
