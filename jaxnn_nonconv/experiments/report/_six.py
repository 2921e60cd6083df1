"""The six settings of arXiv 2212.13111 (``experiments/six_settings.toml``): figures and classes.

Per setting (the number before ``:`` in a cell's label) one figure with the paper's figure kinds
that the stored arrays allow: the histogram of the final risks (exact where the risk is exact) and
the RMS over trials of the minibatch gradient norm against the step (``grad_norm_traj`` at the
log-spaced recorded steps). The third kind, the RMS distance to the limit point against the step,
is a second figure per setting (``six_settings_<setting>_distance``), drawn for cells run with
parameter snapshots (``n_snapshots`` in ``[train]``, :func:`rms_distance_to_last`): the limit
point of a run is not known, so its final parameters ``theta_N`` stand in for it, and the curve is
``sqrt(mean over runs of |theta_n - theta_N|^2)`` at the snapshot steps ``n < N``.

Where the levels ``R_0 > ... > R_H`` exist (fully trained shallow ReLU cells with an exact risk,
:mod:`jaxnn_nonconv.experiments.report._levels`), each run is classified (:func:`classify_runs`):
*at R_H* (within ``tol_H`` of it), in the *good band* (above that, but below ``R_(H-1) - tol``:
better than any net with an inactive neuron can be), at a *bad critical value* (within ``tol_k`` of
a level ``R_k``, ``k < H``), or *between* upper levels (not converged to a level); diverged runs
count as between. Fractions with 95% intervals (Wilson ``ci``, Clopper-Pearson next to it).

Fully trained ReLU cells without their own levels (a shallow width ``H`` above
``levels.max_width``, or a deep net) get the levels ``R_0..R_K`` of narrower shallow cells of the
same problem as bounds (:func:`jaxnn_nonconv.experiments.report._levels.bound_levels`,
:func:`classify_bounded`): ``R_K(found) >= R_K >= R_(H-1) >= R_H``, so a run above
``R_K(found) + tol_K`` is neither at ``R_H`` nor in the good band; it is at a bad critical value
when within ``tol_k`` of ``R_k`` (shallow: any ``k < K``; deep: ``R_0`` only, the one level known
to be a critical value of the deep class), else between; runs at or below that cut are
*unclassified*.

Cells that train only some groups (settings 1, 2) have no levels: each run solves its own problem
(its frozen weights are random). Where ``DIR/levels`` holds per-run references
(:func:`jaxnn_nonconv.experiments._bias.compute_bias_references`: ``best``, an upper bound on the
run's global minimum, and ``local``, the critical value L-BFGS-B reaches from the run's end
point), :func:`classify_bias` puts each run *at the best found* (within ``LEVEL_TOL`` of
``best``), at a *bad critical value* (above that, its risk within ``LEVEL_TOL`` of ``local``:
converged; split by whether the polished point has a frozen neuron) or *between* (not
converged); there is no good band without levels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import engine, stats
from jaxnn_nonconv.estimation import levels as risk_levels

CLASSES = ("at_R_H", "good_band", "bad_critical", "between", "unclassified")


def _proportion(k: int, n: int) -> dict[str, Any]:
    return stats.json_entry(stats.proportion(int(k), int(n)), interval="wilson")


def classify_runs(risk_exact: np.ndarray, diverged: np.ndarray, levels) -> dict[str, np.ndarray]:
    """Boolean masks of :data:`CLASSES` (disjoint, covering every run) from exact final risks.

    >>> out = classify_runs(np.array([0.1, 0.12, 0.5, 0.8, 0.3]), np.zeros(5, bool), [1.0, 0.5, 0.1])
    >>> [out[k].astype(int).tolist() for k in CLASSES]
    [[1, 0, 0, 0, 0], [0, 1, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]
    """
    lv = np.asarray(levels, np.float64)
    tol = risk_levels.tolerances(lv)
    r = np.where(np.asarray(diverged, bool), np.nan, np.asarray(risk_exact, np.float64))
    cls = risk_levels.classify_levels(r, lv)
    h = len(lv) - 1
    at = cls["reached_global"]
    bad = (cls["level"] >= 0) & (cls["level"] < h) & ~at
    upper = lv[h - 1] - tol[h - 1] if h >= 1 else np.inf
    good = ~at & ~bad & (r < upper)
    none = np.zeros(r.shape, bool)
    between = ~(at | good | bad)
    return {"at_R_H": at, "good_band": good, "bad_critical": bad, "between": between} | {
        "unclassified": none
    }


def classify_bounded(
    risk_exact: np.ndarray, diverged: np.ndarray, levels, deep: bool
) -> dict[str, np.ndarray]:
    """Masks of :data:`CLASSES` for a cell whose own levels are unknown, from ``R_0..R_K(found)``.

    Args:
      risk_exact: ``(M,)`` exact final risks.
      diverged: ``(M,)`` diverged runs (counted as between, as in :func:`classify_runs`).
      levels: ``R_0..R_K`` found for ``[1, k, 1]`` nets, ``K`` below the cell's first width.
      deep: a deep cell: only ``R_0`` counts as a bad critical value.

    Returns:
      Disjoint masks covering every run; ``at_R_H`` and ``good_band`` are all ``False`` (no run
      above ``(1 + LEVEL_TOL) R_K(found)`` can be in them, and the others are ``unclassified``).

    >>> lv, dv = [1.0, 0.5, 0.1], np.zeros(5, bool)
    >>> out = classify_bounded(np.array([0.105, 0.3, 0.5, 1.0, 0.05]), dv, lv, deep=False)
    >>> [out[k].astype(int).tolist() for k in CLASSES[2:]]
    [[0, 0, 1, 1, 0], [0, 1, 0, 0, 0], [1, 0, 0, 0, 1]]
    >>> classify_bounded(np.array([0.5, 1.0]), np.zeros(2, bool), lv, deep=True)["bad_critical"]
    array([False,  True])
    """
    lv = np.asarray(levels, np.float64)
    tol = risk_levels.tolerances(lv)
    dv = np.asarray(diverged, bool)
    r = np.where(dv, np.nan, np.asarray(risk_exact, np.float64))
    # A run at R_H, in the good band or at R_k (K < k < H) has risk <= (1 + LEVEL_TOL) R_k
    # for some k >= K (tolerances never exceed LEVEL_TOL times the level), so <= this cut.
    cut = (1 + risk_levels.LEVEL_TOL) * lv[-1]
    unclassified = r <= cut  # NaN (diverged, overflowed): False, so between
    near = np.abs(r[:, None] - lv[None, :]) <= tol[None, :]
    bad = ~unclassified & (near[:, 0] if deep else near.any(axis=1))
    none = np.zeros(r.shape, bool)
    return {"at_R_H": none, "good_band": none.copy(), "bad_critical": bad} | {
        "between": ~(bad | unclassified),
        "unclassified": unclassified,
    }


BIAS_CLASSES = ("at_best", "bad_critical_frozen", "bad_critical_moving", "between")


def classify_bias(ref, diverged: np.ndarray, frac: float = risk_levels.LEVEL_TOL):
    """Masks of :data:`BIAS_CLASSES` (disjoint, covering every run) from per-run references.

    Args:
      ref: a :class:`~jaxnn_nonconv.estimation.BiasReference` (``end``, ``best``, ``local``,
        ``frozen_local``).
      diverged: ``(M,)`` diverged runs (between).
      frac: relative tolerance: ``end <= (1 + frac) best`` is at the best found, and
        ``|end - local| <= frac local`` is converged.

    Returns:
      ``{name: (M,) bool}``.

    >>> from types import SimpleNamespace as NS
    >>> ref = NS(end=np.array([1.05, 2.0, 2.0, 3.0]), best=np.ones(4),
    ...          local=np.array([1.0, 1.9, 2.0, 2.0]), frozen_local=np.array([0, 1, 0, 1]))
    >>> out = classify_bias(ref, np.zeros(4, bool))
    >>> [np.flatnonzero(out[k]).tolist() for k in BIAS_CLASSES]
    [[0], [1], [2], [3]]
    """
    end = np.where(np.asarray(diverged, bool), np.nan, np.asarray(ref.end, np.float64))
    best, local = np.asarray(ref.best, np.float64), np.asarray(ref.local, np.float64)
    at = end <= (1 + frac) * best
    converged = ~at & (np.abs(end - local) <= frac * local)
    frozen = np.asarray(ref.frozen_local) > 0
    return {
        "at_best": at,
        "bad_critical_frozen": converged & frozen,
        "bad_critical_moving": converged & ~frozen,
        "between": ~(at | converged),
    }


def _levels_hit(risk_exact, masks, levels) -> dict[str, int]:
    """``{"R_k": runs}`` over the bad-critical runs, by the level within tolerance."""
    hit = risk_levels.classify_levels(np.asarray(risk_exact, np.float64), levels)["level"]
    ks, counts = np.unique(hit[masks["bad_critical"]], return_counts=True)
    return {f"R_{k}": int(n) for k, n in zip(ks, counts)}


def rms_distance_to_last(param_traj: np.ndarray, diverged: np.ndarray | None = None) -> np.ndarray:
    """RMS over runs of the Euclidean distance of each snapshot to the run's last one.

    The last snapshot (the final parameters ``theta_N``) is the proxy of the run's limit point.

    Args:
      param_traj: ``(M, S, P)`` flat parameters after each snapshot step (``param_traj``).
      diverged: ``(M,)`` runs to leave out, or ``None``.

    Returns:
      ``(S,)`` float64: ``sqrt(mean_m |theta_m,n - theta_m,N|_2^2)``; the last entry is 0; NaN
      when no run is left.

    >>> traj = np.array([[[3.0, 4.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])  # 2 runs, 2 snaps
    >>> rms_distance_to_last(traj).tolist()  # sqrt((25 + 0) / 2)
    [3.5355339059327378, 0.0]
    """
    traj = np.asarray(param_traj, np.float64)
    if diverged is not None:
        traj = traj[~np.asarray(diverged, bool)]
    if traj.shape[0] == 0:
        return np.full(traj.shape[1], np.nan)
    dist2 = np.sum((traj - traj[:, -1:, :]) ** 2, axis=2)  # (M, S)
    return np.sqrt(dist2.mean(axis=0))


def _setting_of(label: str) -> str:
    return label.split(":", 1)[0].strip() if ":" in label else label


def fig_six_settings(exp, cells, rows, fig_dir: Path, formats) -> dict[str, Any]:
    """One figure per setting (histograms, RMS gradient norm), and one of the RMS distance to the
    final parameters where the cells have snapshots; ``extra``: a row per cell with the risk
    quantiles, the distance curve (``rms_distance_to_last``: ``steps`` and ``rms``, where
    snapshots exist) and, where levels exist, the fractions of :data:`CLASSES`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list] = {}
    for c, row in zip(cells, rows):
        groups.setdefault(_setting_of(row["label"]), []).append((c, row))
    paths, table = [], []
    for setting, members in groups.items():
        labels = {row["label"] for _, row in members}
        fig, (ax_h, ax_g) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
        for c, row in members:
            ok = ~c["diverged"]
            risk = np.asarray(c["risk"], np.float64)[ok]  # exact where available (load_cells)
            positive = np.maximum(risk, 1e-12)
            bins = np.geomspace(positive.min(), positive.max() * 1.0001 + 1e-12, 30)
            ax_h.hist(positive, bins=bins, alpha=0.5, label=row["label"])
            cfg = c["cfg"]
            steps = engine.record_steps(cfg.steps, cfg.n_record) + 1
            g = np.asarray(c["grad_norm_traj"], np.float64)[ok]
            ax_g.loglog(steps, np.sqrt(np.nanmean(g**2, axis=0)), marker=".", label=row["label"])
            entry = {
                "label": row["label"],
                "trials": len(ok),
                "diverged": int((~ok).sum()),
                "risk_exact": "risk_exact" in c,
                "risk_quantiles": dict(
                    zip(("q05", "q50", "q95"), np.quantile(risk, [0.05, 0.5, 0.95]).tolist())
                )
                if risk.size
                else None,
                "best_risk_found": float(risk.min()) if risk.size else None,
            }
            if "param_traj" in c:
                snaps = engine.snapshot_steps(cfg.steps, cfg.n_snapshots)
                rms = rms_distance_to_last(c["param_traj"], c["diverged"])
                entry["rms_distance_to_last"] = {"steps": snaps.tolist(), "rms": rms.tolist()}
            lv = c.get("levels")
            if lv is not None and "risk_exact" in c:
                masks = classify_runs(c["risk_exact"], c["diverged"], lv.levels)
                n = len(ok)
                entry["R_H"] = float(lv.levels[-1])
                entry["R_H_minus_1"] = float(lv.levels[-2])
                entry.update({k: _proportion(masks[k].sum(), n) for k in CLASSES})
                entry["bad_critical_levels"] = _levels_hit(c["risk_exact"], masks, lv.levels)
                ax_h.axvline(lv.levels[-1], color="k", lw=0.8, ls="--")
            bound = c.get("bound_levels")
            if bound is not None and "risk_exact" in c:
                deep = len(cfg.arch) > 3
                masks = classify_bounded(c["risk_exact"], c["diverged"], bound.levels, deep)
                entry["levels_bound"] = {"K": bound.width, "R_K_found": float(bound.levels[-1])}
                entry["levels_bound"]["cut"] = (1 + risk_levels.LEVEL_TOL) * bound.levels[-1]
                entry["levels_bound"]["bad_levels"] = "R_0" if deep else f"R_0..R_{bound.width - 1}"
                entry.update({k: _proportion(masks[k].sum(), len(ok)) for k in CLASSES})
                entry["bad_critical_levels"] = _levels_hit(c["risk_exact"], masks, bound.levels)
                ax_h.axvline(bound.levels[-1], color="0.5", lw=0.8, ls=":")
            for groups, ref in c.get("bias_references", {}).items():
                masks = classify_bias(ref, c["diverged"])
                ratio = np.asarray(ref.end) / np.asarray(ref.best)
                entry.setdefault("bias_reference", {})[groups] = {
                    "starts": ref.starts,
                    "maxiter": ref.maxiter,
                    "end_over_best_quantiles": np.quantile(ratio, [0.05, 0.5, 0.95]).tolist(),
                    "frozen_at_end": _proportion((np.asarray(ref.frozen_end) > 0).sum(), len(ok)),
                } | {k: _proportion(masks[k].sum(), len(ok)) for k in BIAS_CLASSES}
            table.append(entry)
        ax_h.set_xscale("log")
        ax_h.set_xlabel("final risk (exact where available; dashed: R_H)")
        ax_h.set_ylabel("runs")
        ax_h.legend(fontsize=7)
        ax_g.set_xlabel("step")
        ax_g.set_ylabel("RMS over runs of the minibatch gradient norm")
        ax_g.legend(fontsize=7)
        fig.suptitle(f"2212.13111 setting {setting}", fontsize=10)
        paths += _save(fig, fig_dir / f"six_settings_{setting}", formats)
        paths += _fig_distance(
            setting, [e for e in table if e["label"] in labels], fig_dir, formats
        )
    return {"paths": paths, "extra": {"cells": table}}


def _fig_distance(setting: str, entries: list[dict], fig_dir: Path, formats) -> list[Path]:
    """The RMS distance to the last snapshot against the step, log-log, one line per cell of the
    setting that has snapshots (the last step, at distance 0, is left out); no figure if none."""
    import matplotlib.pyplot as plt

    entries = [e for e in entries if "rms_distance_to_last" in e]
    if not entries:
        return []
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for e in entries:
        curve = e["rms_distance_to_last"]
        ax.loglog(curve["steps"][:-1], curve["rms"][:-1], marker=".", label=e["label"])
    ax.set_xlabel("step n")
    ax.set_ylabel("RMS over runs of |theta_n - theta_N|")
    ax.legend(fontsize=7)
    ax.set_title(f"2212.13111 setting {setting}: distance to the final parameters", fontsize=9)
    return _save(fig, fig_dir / f"six_settings_{setting}_distance", formats)


def _save(fig, stem: Path, formats) -> list[Path]:
    """Write ``fig`` as ``stem.<fmt>`` for each format, then close it."""
    import matplotlib.pyplot as plt

    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
