"""Tables and figures from stored experiment results; nothing is trained or re-run here.

:func:`cell_stats` turns one cell's per-trial arrays into probabilities with Wilson intervals next
to the theory; :func:`report` writes one table (``summary.json``) and the kind's figures (PNG and
SVG) into ``DIR/figures``.

Criteria, per trial (diverged trials count as failures and are excluded from risk statistics):

* ``fail``: final risk above ``best + tolerance``, where ``best`` is the lowest final risk found over
  all trials of all cells with the same architecture and problem (the global minimum is unknown).
* ``inactive_at_init`` / ``inactive_at_end``: some hidden neuron certified inactive at init / at the end.
* ``constant_at_init`` / ``constant_at_end``: some hidden layer entirely certified inactive
  (constant network).
* ``not_global`` (cells with exact risks and cached levels, :mod:`jaxnn_nonconv.experiments.report`):
  exact final risk above the level ``R_H`` plus a fraction of ``min(R_(H-1) - R_H, R_H)``.

Where a cell stores the exact ``d = 1`` risk ``risk_exact``, it replaces the Monte Carlo ``risk``
(kept as ``risk_mc``) in every criterion.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import engine, stats
from jaxnn_nonconv.core import data as datasets, problems
from jaxnn_nonconv.experiments import _bias as bias, _spec as experiments, _store as store
from jaxnn_nonconv.experiments.report import (
    _data_driven as report_data,
    _levels as report_levels,
    _rare as report_rare,
    _six as report_six,
)
from jaxnn_nonconv.stats import theory

FORMATS = ("png", "svg")


def load_cells(out_dir: str | Path) -> tuple[dict, experiments.Experiment, list[dict[str, Any]]]:
    """``(manifest, experiment, cells)``; each cell holds its ``values``, ``cfg`` and arrays."""
    manifest = store.read_manifest(out_dir)
    exp = experiments.Experiment.from_dict(manifest["config"])
    st = store.ResultStore(Path(out_dir), manifest)
    done = set(st.parts())
    cells = []
    for i, values in enumerate(manifest["cells"]):
        part = experiments.part_name(i)
        det = part + "-inactive"
        if det not in done:
            continue  # not finished yet: report what is there
        arrays = dict(st.load(det))
        if part in done:
            arrays.update(st.load(part))
        if "risk_exact" in arrays and "risk" in arrays:  # exact d = 1 risk serves every criterion
            exact, arrays["risk_mc"] = arrays["risk_exact"], arrays["risk"]
            arrays["risk"] = np.where(np.isfinite(exact), exact, arrays["risk"])
        cfg = exp.cell_config(values)
        levels = report_levels.cell_levels(exp, cfg, out_dir)
        bound = report_levels.bound_levels(exp, cfg, out_dir)
        cells.append(
            {"index": i, "values": values, "cfg": cfg, "levels": levels, **arrays}
            | ({} if bound is None else {"bound_levels": bound})
            | _bias_references(out_dir, i, cfg)
        )
    return manifest, exp, cells


def _bias_references(out_dir, i: int, cfg) -> dict[str, Any]:
    """``{"bias_references": {"b1_b2": ref, "b2": ref, ...}}`` stored for cell ``i``, or ``{}``."""
    if not bias.eligible(cfg):
        return {}
    groups = cfg.trainable
    subsets = [
        tuple(g for j, g in enumerate(groups) if (m >> j) & 1) for m in range(1, 2 ** len(groups))
    ]
    refs = {"_".join(s): bias.load_bias_reference(out_dir, i, s) for s in subsets}
    refs = {k: v for k, v in refs.items() if v is not None}
    return {"bias_references": refs} if refs else {}


def proportion(k: int, n: int) -> dict[str, Any]:
    """``k / n`` with its 95% Wilson interval as ``ci`` (the figures' bars) and the
    Clopper-Pearson interval as ``ci_clopper_pearson`` (:func:`jaxnn_nonconv.stats.json_entry`)."""
    return stats.json_entry(stats.proportion(int(k), int(n)), interval="wilson")


def _label(values: dict) -> str:
    parts = []
    for k, v in values.items():
        if k == "setting":
            v = v.get("label") or ",".join(f"{a}={b}" for a, b in v.items())
            parts.append(str(v))
        else:
            parts.append(f"{k}={v}")
    return " ".join(parts)


def cell_stats(exp: experiments.Experiment, cells: list[dict]) -> list[dict[str, Any]]:
    """Per-cell probabilities with intervals, and the theory next to them."""
    best = {}
    for c in cells:
        if "risk" in c:
            key = _group(c["cfg"])
            ok = ~c["diverged"]
            if ok.any():
                best[key] = min(best.get(key, math.inf), float(c["risk"][ok].min()))
    rows = []
    for c in cells:
        cfg = c["cfg"]
        n = len(c["init_dead_layer"])
        hidden = cfg.arch[1:-1]
        row = {
            "cell": c["index"],
            "label": _label(c["values"]),
            "arch": list(cfg.arch),
            "width": hidden[0],
            "depth": len(hidden),
            "optimizer": cfg.optimizer,
            "trials": n,
            "inactive_at_init": proportion((c["init_inactive"].sum(1) > 0).sum(), n),
            "first_layer_inactive_at_init": proportion((c["init_inactive"][:, 0] > 0).sum(), n),
            "constant_at_init": proportion(c["init_dead_layer"].sum(), n),
            "constant_at_init_possible": proportion(c["init_dead_layer_possible"].sum(), n),
        }
        pred = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
        row["theory_p"] = pred["first_layer_p"]
        row["theory_no_inactive_bound"] = pred["no_inactive_upper_bound"]
        row["theory_constant_lower_bound"] = pred["constant_network_lower_bound"]
        if "risk" in c:
            row.update(_trained_stats(c, best.get(_group(cfg), math.nan), exp.tolerance))
            row.update(report_levels.level_stats({**c, "theory_p": row["theory_p"]}))
        rows.append(row)
    return rows


def _group(cfg) -> tuple:
    return (cfg.arch, cfg.problem)


def _trained_stats(c: dict, best: float, tol: float) -> dict[str, Any]:
    ok = ~c["diverged"]
    n = len(ok)
    risk = c["risk"]
    fail = ~ok | ~(risk <= best + tol)
    if c["cfg"].data is not None:  # the data's empirical levels (no target function)
        levels = problems.Levels(**datasets.levels(c["cfg"].data))
    else:
        levels = problems.reference_levels(c["cfg"].problem)
    risk_ok = risk[ok]
    return {
        "diverged": int((~ok).sum()),
        "best_risk_found": best,
        "fail": proportion(fail.sum(), n),
        "success": proportion((~fail).sum(), n),
        "inactive_at_end": proportion((ok & (c["end_inactive"].sum(1) > 0)).sum(), n),
        "constant_at_end": proportion((ok & c["end_dead_layer"]).sum(), n),
        "risk_median": float(np.median(risk_ok)) if risk_ok.size else None,
        "var_f": levels.constant,
        "at_or_below_var_f": proportion((risk_ok <= levels.constant).sum(), int(ok.sum())),
    }


def report(out_dir: str | Path, formats=FORMATS) -> dict[str, Any]:
    """Compute the tables, write ``summary.json`` and the figures; return the summary."""
    out_dir = Path(out_dir)
    manifest, exp, cells = load_cells(out_dir)
    rows = cell_stats(exp, cells)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    figures = _FIGURES[exp.kind](exp, cells, rows, fig_dir, formats)
    if split := report_rare.report_splitting(out_dir, fig_dir, formats):  # DIR/splitting cells
        figures["paths"] = [*figures["paths"], *split["paths"]]
        figures["extra"] = {**figures.get("extra", {}), "splitting": split["extra"]}
    summary = {
        "experiment": exp.name,
        "kind": exp.kind,
        "claim": exp.claim,
        "complete": manifest.get("status") == "complete",
        "cells_done": len(cells),
        "cells_total": len(manifest["cells"]),
        "warning": store.check_version(manifest),
        "rows": rows,
        "extra": figures.pop("extra", {}),
        "figures": [str(p.relative_to(out_dir)) for p in figures["paths"]],
    }
    (out_dir / "summary.json").write_text(stats.dumps_json(summary, indent=2))
    return summary


def jsonable(x):
    if isinstance(x, (np.integer, np.floating, np.bool_)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


# ---- figures ---------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, fig_dir: Path, name: str, formats) -> list[Path]:
    paths = []
    for fmt in formats:
        path = fig_dir / f"{name}.{fmt}"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    _plt().close(fig)
    return paths


def _errorbar(ax, x, props: list[dict], **kw):
    """Points with asymmetric Wilson interval bars; a zero count (``estimate == 0``, off a log
    axis) is drawn as what it is, an upper bound: a ``v`` marker at its interval's upper end,
    with no bar or line down to the axis floor."""
    x = np.asarray(x, float)
    est = np.array([p["estimate"] for p in props], float)
    lo = np.array([p["ci"][0] for p in props], float)
    hi = np.array([p["ci"][1] for p in props], float)
    zero = est == 0
    shown = np.where(zero, np.nan, est)  # NaN: no point, and the line breaks there
    line = ax.errorbar(
        x,
        shown,
        yerr=[np.where(zero, 0, est - lo), np.where(zero, 0, hi - est)],
        capsize=3,
        marker="o",
        ms=4,
        **kw,
    )
    if zero.any():
        color = line[0].get_color()
        ax.plot(x[zero], hi[zero], "v", color=color, ms=6, ls="none", mfc="none")


def _log_floor(ax, rows: list[dict]) -> None:
    """Log y axis whose floor shows the resolution 1/M of M trials."""
    ax.set_yscale("log")
    n = max(r["trials"] for r in rows)
    ax.set_ylim(bottom=0.3 / n, top=1.5)
    ax.axhline(1.0 / n, color="0.8", lw=0.8, ls=":", label=f"resolution 1/M (M={n})")


def _by(rows, key):
    groups: dict[Any, list] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return groups


def _fig_shallow_width(exp, cells, rows, fig_dir, formats):
    """The bound's event against the bound: P(no inactive neuron at init) (measured) and
    P(global minimum reached) (``1 - not_global``, from the risk levels, where the cell has them)
    next to ``(1-p)^H`` (001, Thm 4.2); the looser "final risk within tol of the best found" is
    drawn apart and labelled as what it is. Zero counts are upper bounds (``v`` markers at the
    95% interval's upper end); the legend sits outside the axes."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    groups = {k: sorted(g, key=lambda r: r["width"]) for k, g in _by(rows, "optimizer").items()}
    shift = dict(zip(groups, (0.94, 1.06, 0.9, 1.1)))
    for label, group in groups.items():
        with_levels = [r for r in group if r.get("not_global") is not None]
        if with_levels:
            _errorbar(
                ax,
                [r["width"] * shift[label] for r in with_levels],
                [_complement(r["not_global"]) for r in with_levels],
                label=f"P(global minimum reached), {label}",
            )
    for label, group in groups.items():
        _errorbar(
            ax,
            [r["width"] * shift[label] for r in group],
            [r["success"] for r in group],
            label=f"P(final risk <= best found + tol), {label} (not the bound's event)",
            ls=":",
            alpha=0.5,
        )
    first = next(iter(groups.values()))
    widths = np.array([r["width"] for r in first])
    _errorbar(
        ax,
        widths,
        [_complement(r["first_layer_inactive_at_init"]) for r in first],
        label="P(no inactive neuron at init), measured",
        color="k",
        ls="--",
    )
    if first[0]["theory_p"] is not None:
        p = first[0]["theory_p"]
        ax.plot(widths, (1 - p) ** widths, "r-", label=f"bound (1-p)^H, p={p:.4g}")
    _log_floor(ax, rows)
    ax.plot([], [], "v", color="0.3", mfc="none", ls="none", label="zero count: 95% upper bound")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden width H of [1, H, 1]")
    ax.set_ylabel("probability (95% Wilson intervals)")
    ax.set_title(
        "Shallow nets: P(global minimum) and P(no inactive neuron) vs (1-p)^H (001, Thm 4.2)"
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return {"paths": _save(fig, fig_dir, "shallow_width", formats)}


def _complement(prop: dict) -> dict:
    lo, hi = prop["ci"]
    return {**prop, "estimate": 1 - prop["estimate"], "ci": [1 - hi, 1 - lo]}


def _heatmap(ax, rows, value, title):
    widths = sorted({r["width"] for r in rows})
    depths = sorted({r["depth"] for r in rows})
    grid = np.full((len(depths), len(widths)), np.nan)
    for r in rows:
        grid[depths.index(r["depth"]), widths.index(r["width"])] = value(r)
    im = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(widths)), widths)
    ax.set_yticks(range(len(depths)), depths)
    ax.set_xlabel("width")
    ax.set_ylabel("depth (hidden layers)")
    ax.set_title(title, fontsize=8)
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="w" if v < 0.5 else "k",
            )
    return im


def _fig_deep_width_depth(exp, cells, rows, fig_dir, formats):
    plt = _plt()
    groups = _by(rows, "optimizer")
    n = len(groups) + 1
    cols = min(n, 5)
    fig, axes = plt.subplots(
        -(-n // cols), cols, figsize=(3.2 * cols, 2.8 * -(-n // cols)), squeeze=False
    )
    flat = axes.ravel()
    im = _heatmap(
        flat[0],
        next(iter(groups.values())),
        lambda r: r["constant_at_init"]["estimate"],
        "P(constant net) at init",
    )
    for ax, (opt, group) in zip(flat[1:], groups.items()):
        _heatmap(ax, group, lambda r: r["fail"]["estimate"], f"P(failure), {opt}")
    for ax in flat[n:]:
        ax.axis("off")
    fig.subplots_adjust(wspace=0.45, hspace=0.5)
    fig.colorbar(im, ax=axes, shrink=0.6, label="probability")
    fig.suptitle("Deep nets: failure and constant-net probabilities over width x depth (000)")
    paths = _save(fig, fig_dir, "deep_width_depth", formats)
    return {"paths": paths, "extra": {"rates": _fit_rates(next(iter(groups.values())))}}


def _fit_rates(rows) -> list[dict]:
    """Exponential rate of P(no inactive neuron at init) in the width, per depth, with a 95% CI.

    Weighted least squares of ``log p_hat`` on the width (weights ``k / (1 - p_hat)``, the inverse
    delta-method variance); cells with ``k = 0`` or ``k = n`` carry no slope information.
    """
    out = []
    for depth, group in sorted(_by(rows, "depth").items()):
        pts = []
        for r in group:
            prop = _complement(r["inactive_at_init"])
            k, n = round(prop["estimate"] * r["trials"]), r["trials"]
            if 0 < k < n:
                pts.append((r["width"], math.log(k / n), k / (1 - k / n)))
        if len(pts) < 2:
            out.append({"depth": depth, "rate": None, "ci": None})
            continue
        x, y, w = (np.array(v, float) for v in zip(*pts))
        design = np.column_stack([np.ones_like(x), x])
        cov = np.linalg.inv(design.T @ (w[:, None] * design))
        coef = cov @ design.T @ (w * y)
        se = math.sqrt(cov[1, 1])
        out.append(
            {"depth": depth, "rate": -coef[1], "ci": [-coef[1] - 1.96 * se, -coef[1] + 1.96 * se]}
        )
    return out


def _fig_risk_levels(exp, cells, rows, fig_dir, formats):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    c = cells[0]
    ok = ~c["diverged"]
    width = c["cfg"].arch[1]
    active = width - c["end_inactive"][ok, 0]
    risk = c["risk"][ok]
    bins = np.geomspace(max(risk.min(), 1e-12), risk.max() * 1.01, 60)
    data = [risk[active == k] for k in range(width + 1)]
    labels = [f"{k} active" for k in range(width + 1)]
    ax.hist(data, bins=bins, stacked=True, label=labels)
    ax.set_xscale("log")
    ax.set_xlabel("final risk (log scale)")
    ax.set_ylabel("number of trained nets")
    var_f = problems.reference_levels(c["cfg"].problem).constant
    ax.axvline(var_f, color="k", ls="--", lw=1, label="Var f(X)")
    ax.set_title(
        f"Final risks of {ok.sum()} trained {list(c['cfg'].arch)} nets by active neurons "
        "(001 Sec. 3.6)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    near = risk <= risk.min() + exp.tolerance
    extra = {
        "levels": [
            {
                "active": k,
                "trials": int((active == k).sum()),
                "median_risk": float(np.median(risk[active == k])) if (active == k).any() else None,
            }
            for k in range(width + 1)
        ],
        "near_min_trials": int(near.sum()),
        "near_min_with_inactive": int((near & (active < width)).sum()),
    }
    out = {"paths": _save(fig, fig_dir, "risk_levels", formats), "extra": extra}
    if any(c.get("levels") is not None for c in cells):  # exact risks against the levels R_k
        exact = report_levels.fig_risk_levels(exp, cells, rows, fig_dir, formats)
        out["paths"] += exact["paths"]
        out["extra"].update(exact["extra"])
    return out


def _fig_critical_points(exp, cells, rows, fig_dir, formats):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_label: dict[str, list] = {}
    for c, r in zip(cells, rows):
        name = _label({k: v for k, v in c["values"].items() if k != "width"})
        ok = ~c["diverged"]
        gap = c["risk"][ok] - r["best_risk_found"]
        by_label.setdefault(name, []).append((r["width"], np.quantile(gap, [0.25, 0.5, 0.75])))
    extra = {}
    for name, pts in by_label.items():
        pts.sort()
        w = np.array([p[0] for p in pts])
        q = np.array([p[1] for p in pts])
        ax.errorbar(
            w,
            q[:, 1],
            yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]],
            marker="o",
            capsize=3,
            label=name,
        )
        extra[name] = {"width": w.tolist(), "median_gap": q[:, 1].tolist()}
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")  # gaps are >= 0 (the best is the minimum); medians are > 0
    ax.set_xlabel("hidden width H")
    ax.set_ylabel("final risk - best risk found (median, IQR)")
    ax.set_title("Good non-optimal critical points: gap to the best risk found (002)")
    ax.legend(fontsize=7)
    return {"paths": _save(fig, fig_dir, "critical_points", formats), "extra": extra}


def _fig_depth_width(exp, cells, rows, fig_dir, formats):
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    extra = []
    for width, group in sorted(_by(rows, "width").items()):
        group = sorted(group, key=lambda r: r["depth"])
        depths = [r["depth"] for r in group]
        line = ax.errorbar(
            depths,
            [r["constant_at_init"]["estimate"] for r in group],
            yerr=_yerr([r["constant_at_init"] for r in group]),
            marker="o",
            ms=3,
            capsize=2,
            label=f"width {width}",
        )
        ax.plot(
            depths,
            [r["theory_constant_lower_bound"] for r in group],
            ls="--",
            color=line[0].get_color(),
            lw=0.8,
        )
        ks = [_k_needed(r["constant_at_init"]["estimate"]) for r in group]
        ks_bound = [_k_needed(r["theory_constant_lower_bound"]) for r in group]
        ax2.plot(
            depths,
            [np.nan if k is None else k for k in ks],
            marker="o",
            ms=3,
            color=line[0].get_color(),
            label=f"width {width}",
        )
        extra.append({"width": width, "depth": depths, "K_measured": ks, "K_bound": ks_bound})
    ax.set_xscale("log", base=2)
    ax.set_xlabel("depth L (hidden layers)")
    ax.set_ylabel("P(constant net at init), 95% Wilson")
    ax.set_title("Depth >> width: constant nets (003); dashed: lower bound", fontsize=9)
    ax.legend(fontsize=7)
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("depth L (hidden layers)")
    ax2.set_ylabel("initializations K for a 95% chance")
    ax2.set_title("K so that some initialization is non-constant w.p. 0.95", fontsize=9)
    return {"paths": _save(fig, fig_dir, "depth_width", formats), "extra": {"K": extra}}


def _k_needed(p_constant: float | None) -> int | None:
    """Independent initializations for a 95% chance that one is not constant (None: never)."""
    if p_constant is None:
        return None
    k = theory.initializations_needed(p_constant, delta=0.05)
    return None if math.isinf(k) else int(k)


def _yerr(props):
    est = np.array([p["estimate"] for p in props])
    return [
        est - np.array([p["ci"][0] for p in props]),
        np.array([p["ci"][1] for p in props]) - est,
    ]


def _fig_a_priori(exp, cells, rows, fig_dir, formats):
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = [r["label"] or r["optimizer"] for r in rows]
    props = [r["at_or_below_var_f"] for r in rows]
    x = np.arange(len(rows))
    est = np.array([p["estimate"] for p in props])
    ax.bar(x, est, yerr=_yerr(props), capsize=3, color="tab:blue")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of non-diverged trials with risk <= Var f(X)")
    ax.set_title("A priori bound (001 Sec. 5): final risk at or below Var f(X)", fontsize=9)
    for c, label in zip(cells, labels):
        ok = ~c["diverged"]
        traj = c["grad_norm_traj"][ok]
        steps = engine.record_steps(c["cfg"].steps, c["cfg"].n_record) + 1
        ax2.plot(steps, np.median(traj, axis=0), marker=".", label=label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("training step")
    ax2.set_ylabel("median gradient norm")
    ax2.set_title("Gradient-norm decay along trajectories", fontsize=9)
    ax2.legend(fontsize=7)
    return {"paths": _save(fig, fig_dir, "a_priori", formats)}


_FIGURES = {
    "shallow_width": _fig_shallow_width,
    "deep_width_depth": _fig_deep_width_depth,
    "risk_levels": _fig_risk_levels,
    "critical_points": _fig_critical_points,
    "depth_width": _fig_depth_width,
    "a_priori": _fig_a_priori,
    "six_settings": report_six.fig_six_settings,
    "data_driven": report_data.fig_data_driven,
}
