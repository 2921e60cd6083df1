"""Figures and table rows of an experiment's splitting sweep (:mod:`jaxnn_nonconv.experiments`).

Nothing is computed anew: the stored cells ``DIR/splitting/*.json`` become

* ``not_constant`` (``depth_width``, arXiv 2006.07075): ``log10 P(not constant)`` against the depth
  with its interval band per width, and the rate ``lambda(N)`` of ``P ~ exp(-lambda L)`` fitted per
  width (:func:`jaxnn_nonconv.stats.rates.fit_rate`) with its interval, next to the rate
  ``-ln(1 - q^N)`` of the sign-dead bound (``q = 2^-(N+1)`` for symmetric inits);
* ``no_inactive`` with one hidden layer (``shallow_width``, arXiv 2402.05155 Thm 4.2):
  ``log10 P(no inactive neuron)`` against ``H`` with the exact ``H log10(1 - p)`` line,
  the difference to it, and the fitted rate ``mu`` in ``H`` next to ``-ln(1 - p)``.

A bracketed cell (unknown neurons) enters a fit at its ``log10_estimate``, the log10 of its
bracket's midpoint (docs/api.md, JSON contracts), with a standard error from its whole interval.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import stats
from jaxnn_nonconv.experiments import _splitting as experiments_rare
from jaxnn_nonconv.stats import rates

_Z = 1.959963984540054


def _point(e: dict) -> float | None:
    v = e["log10_estimate"]
    if isinstance(v, list):  # a cell stored before log10_estimate was always a number
        return None if None in v else stats.log10_midpoint(*v)
    return v


def rows(entries: list[dict]) -> list[dict[str, Any]]:
    """One flat row per stored cell (the summary's ``splitting.rows``)."""
    keys = (
        "width",
        "depth",
        "event",
        "log10_estimate",
        "log10_ci",
        "log10_upper_bound",
        "log10_exact",
        "n_particles",
        "replicates",
        "unknown_fraction",
        "overflow_fraction",
        "wall_s",
    )
    return [{k: e.get(k) for k in keys} for e in entries]


def fit(entries: list[dict], along: str) -> dict[str, Any] | None:
    """:func:`~jaxnn_nonconv.stats.rates.fit_rate` of ``log10 P`` along ``depth`` or ``width``
    (``None`` with fewer than 2 usable points)."""
    xs, ys, ses = [], [], []
    for e in entries:
        y, (lo, hi) = _point(e), e["log10_ci"]
        if y is None or lo is None or hi is None:
            continue  # extinct: no finite estimate to fit
        xs.append(e[along])
        ys.append(y)
        ses.append(max((hi - lo) / (2 * _Z), 1e-9))
    if len(xs) < 2:
        return None
    return rates.fit_rate(xs, ys, ses)


def rate_table(entries: list[dict]) -> list[dict[str, Any]]:
    """Per width (``not_constant``) or over widths (one hidden layer): the fitted rate next to
    the theory's (the summary's ``splitting.rates``)."""
    out = []
    if not entries:
        return out
    if entries[0]["event"] == "not_constant":
        for width in sorted({e["width"] for e in entries}):
            group = [e for e in entries if e["width"] == width]
            f = fit(group, "depth")
            q = group[0].get("sign_dead_q")
            bound = None if q is None else -math.log1p(-(q**width))
            out.append({"width": width, "along": "depth", "fit": f, "bound_rate": bound})
    else:
        for depth in sorted({e["depth"] for e in entries}):
            group = [e for e in entries if e["depth"] == depth]
            f = fit(group, "width")
            p = group[0].get("first_layer_p")
            exact = -math.log1p(-p) if depth == 1 and p is not None and p < 1 else None
            out.append({"depth": depth, "along": "width", "fit": f, "exact_rate": exact})
    return out


def report_splitting(out_dir: str | Path, fig_dir: Path, formats) -> dict[str, Any] | None:
    """``{"paths", "extra"}`` of the splitting figure and table, or ``None`` without cells."""
    entries = experiments_rare.load_splitting(out_dir)
    if not entries:
        return None
    table = rate_table(entries)
    extra = {"event": entries[0]["event"], "rows": rows(entries), "rates": table}
    if entries[0]["event"] == "not_constant":
        fig = _fig_depth(entries, table)
        name = "splitting_depth"
    else:
        fig = _fig_width(entries, table)
        name = "splitting_width"
    paths = []
    for fmt in formats:
        path = Path(fig_dir) / f"{name}.{fmt}"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"paths": paths, "extra": extra}


def _band(ax, xs, group, **kw):
    """``log10 P`` with its interval as a band (bracket ends: the band spans both)."""
    ys = [_point(e) for e in group]
    lo = [np.nan if e["log10_ci"][0] is None else e["log10_ci"][0] for e in group]
    hi = [np.nan if e["log10_ci"][1] is None else e["log10_ci"][1] for e in group]
    (line,) = ax.plot(xs, [np.nan if y is None else y for y in ys], marker="o", ms=3, **kw)
    ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    open_ = [(x, h) for x, y, h in zip(xs, ys, hi) if y is None and not np.isnan(h)]
    if open_:  # no finite lower end (extinct or overflowed): mark the interval's upper end
        ax.plot(*zip(*open_), "v", color=line.get_color(), ms=6, ls="none")
    return line


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fig_depth(entries, table):
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    s = entries[0]
    for width in sorted({e["width"] for e in entries}):
        group = [e for e in entries if e["width"] == width]
        depths = [e["depth"] for e in group]
        line = _band(ax, depths, group, label=f"width {width}")
        bounds = [e["log10_upper_bound"] for e in group]
        if all(b is not None for b in bounds):
            ax.plot(depths, bounds, ls="--", lw=0.8, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("depth L (hidden layers)")
    ax.set_ylabel(f"log10 P(not constant), {s['confidence']:.0%} band")
    ax.set_title(
        f"Splitting ({s['replicates']} x {s['n_particles']} particles); dashed: upper bound "
        "(2006.07075)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ok = [r for r in table if r["fit"] is not None]
    if ok:
        w = np.array([r["width"] for r in ok], float)
        lam = np.array([r["fit"]["rate"] for r in ok])
        lo = np.array([r["fit"]["rate_ci"][0] for r in ok])
        hi = np.array([r["fit"]["rate_ci"][1] for r in ok])
        pos = lam > 0
        ax2.errorbar(
            w[pos],
            lam[pos],
            yerr=[lam[pos] - np.maximum(lo[pos], lam[pos] * 1e-3), hi[pos] - lam[pos]],
            marker="o",
            ms=4,
            capsize=3,
            label="measured lambda(N), 95% interval",
        )
    bw = [(r["width"], r["bound_rate"]) for r in table if r["bound_rate"]]
    if bw:
        ax2.plot(*zip(*bw), ls="--", marker="s", ms=3, color="k", label="bound -ln(1 - q^N)")
    ax2.set_yscale("log")
    ax2.set_xlabel("width N")
    ax2.set_ylabel("rate per layer (P ~ exp(-lambda L))")
    ax2.set_title("Rate in the depth: measured vs the sign-dead bound's", fontsize=9)
    ax2.legend(fontsize=7)
    return fig


def _fig_width(entries, table):
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    s = entries[0]
    for depth in sorted({e["depth"] for e in entries}):
        group = [e for e in entries if e["depth"] == depth]
        hs = [e["width"] for e in group]
        line = _band(ax, hs, group, label=f"splitting, depth {depth}")
        ex = [e["log10_exact"] for e in group]
        if all(v is not None for v in ex):
            hh = np.linspace(0, max(hs), 64)
            p = group[0]["first_layer_p"]
            ax.plot(hh, hh * math.log10(1 - p), ls="--", color="k", lw=0.8, label="(1-p)^H")
            y = np.array([_point(e) if _point(e) is not None else np.nan for e in group])
            lo = np.array([np.nan if e["log10_ci"][0] is None else e["log10_ci"][0] for e in group])
            hi = np.array([np.nan if e["log10_ci"][1] is None else e["log10_ci"][1] for e in group])
            ex = np.array(ex)
            ax2.errorbar(
                hs,
                y - ex,
                yerr=[y - lo, hi - y],
                marker="o",
                ms=4,
                capsize=3,
                color=line.get_color(),
                label=f"depth {depth}",
            )
    ax.set_xlabel("width H (linear: (1-p)^H is a straight line)")
    ax.set_ylabel(f"log10 P(no inactive neuron), {s['confidence']:.0%} band")
    ax.set_title(
        f"Splitting ({s['replicates']} x {s['n_particles']} particles) vs (1-p)^H (2402.05155)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("width H")
    ax2.set_ylabel("measured - exact, decades")
    ax2.set_title("Difference to the closed form, with the 95% interval", fontsize=9)
    return fig
