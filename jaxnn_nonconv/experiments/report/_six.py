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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import engine, stats
from jaxnn_nonconv.estimation import levels as risk_levels

CLASSES = ("at_R_H", "good_band", "bad_critical", "between")


def _proportion(k: int, n: int) -> dict[str, Any]:
    return stats.json_entry(stats.proportion(int(k), int(n)), interval="wilson")


def classify_runs(risk_exact: np.ndarray, diverged: np.ndarray, levels) -> dict[str, np.ndarray]:
    """Boolean masks of :data:`CLASSES` (disjoint, covering every run) from exact final risks.

    >>> out = classify_runs(np.array([0.1, 0.12, 0.5, 0.8, 0.3]), np.zeros(5, bool), [1.0, 0.5, 0.1])
    >>> [out[k].astype(int).tolist() for k in CLASSES]
    [[1, 0, 0, 0, 0], [0, 1, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]
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
    return {"at_R_H": at, "good_band": good, "bad_critical": bad, "between": ~(at | good | bad)}


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
                ax_h.axvline(lv.levels[-1], color="k", lw=0.8, ls="--")
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
