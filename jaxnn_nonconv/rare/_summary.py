"""JSON entries and tables for tiny probabilities: plain Monte Carlo complements with log10
values, the ``--method splitting`` summary (:func:`jaxnn_nonconv.rare.rare_event`), and the
``3.2e-13 (2.9e-13, 3.6e-13)`` format that never shows a small probability as 0 or 1.
"""

from __future__ import annotations

import math
import time
from typing import Any

from jaxnn_nonconv import engine, stats
from jaxnn_nonconv.rare import _splitting as rare
from jaxnn_nonconv.stats import bracketed, json_entry, rates, theory


def complement_entry(k_low: int, k_high: int, n: int, confidence: float = 0.95) -> dict[str, Any]:
    """Plain Monte Carlo entry for the complement of an event seen ``k_low..k_high`` times in ``n``.

    E.g. ``not_constant`` from the ``constant_network`` counts: the complement is seen
    ``n - k_high .. n - k_low`` times. Clopper-Pearson intervals; the same fields and types as a
    ``--method splitting`` entry (``estimate`` the midpoint of ``bracket``, ``log10_estimate`` its
    log10, ``count`` the midpoint count; :func:`jaxnn_nonconv.stats.json_entry`). A zero count
    gives ``log10_estimate: None`` and ``log10_ci: [None, log10 of the upper end]``.

    >>> e = complement_entry(1000, 1000, 1000)
    >>> e["estimate"], e["log10_estimate"], e["log10_ci"][0], round(e["log10_ci"][1], 3)
    (0.0, None, None, -2.434)
    >>> e = complement_entry(990, 1000, 1000)
    >>> e["estimate"], e["bracket"], e["count"], e["count_bracket"]
    (0.005, [0.0, 0.01], 5.0, [0, 10])
    """
    e = json_entry(bracketed(n - int(k_high), n - int(k_low), n, confidence), log10=True)
    keys = ("estimate", "ci", "log10_estimate", "log10_ci", "bracket", "log10_bracket", "count")
    return {**{k: e[k] for k in keys}, "count_bracket": e["count_bracket"], "n": n, "method": "mc"}


def mc_entries(summary: dict[str, Any]) -> dict[str, Any]:
    """``not_constant`` and ``no_inactive`` entries of a plain Monte Carlo summary
    (:func:`jaxnn_nonconv.estimation.summarize`): complements of ``constant_network`` and
    ``any_inactive``."""
    conf, n = summary["confidence"], summary["trials"]
    out = {}
    for key, src in (("not_constant", "constant_network"), ("no_inactive", "any_inactive")):
        k_lo, k_hi = summary[src]["count_bracket"]
        out[key] = complement_entry(k_lo, k_hi, n, conf)
    return out


def splitting_summary(
    cfg: engine.TrainConfig,
    n_particles: int = rare.DEFAULT_PARTICLES,
    replicates: int = rare.DEFAULT_REPLICATES,
    *,
    seed: int = 0,
    confidence: float = 0.95,
    max_points: int = rare.DEFAULT_MAX_POINTS,
    events: tuple[str, ...] = rare.EVENTS,
) -> dict[str, Any]:
    """The JSON of ``jaxnn-nonconv estimate --method splitting``: one :func:`rare_event` entry per
    event, with the theory's upper bound (``upper_bound``, arXiv 2006.07075 / 2410.10533) and the
    initializations ``K`` needed for an even chance (:mod:`jaxnn_nonconv.stats.rates`)."""
    cfg = cfg.validate()
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    bounds = log10_bounds(cfg, th["first_layer_p"])
    out: dict[str, Any] = {
        "config": cfg.to_dict(),
        "method": "splitting",
        "seed": seed,
        "particles": n_particles,
        "replicates": replicates,
        "confidence": confidence,
    }
    t0 = time.perf_counter()
    for event in events:
        entry = rare.rare_event(
            cfg,
            event,
            n_particles,
            replicates,
            seed=seed,
            confidence=confidence,
            max_points=max_points,
        ).to_dict()
        entry["log10_upper_bound"] = bounds[event]
        entry["upper_bound"] = None if bounds[event] is None else 10.0 ** bounds[event]
        entry["initializations_needed"] = rates.initializations_needed(entry)
        out[event] = entry
    out["theory"] = th
    out["wall_s"] = time.perf_counter() - t0
    return out


def log10_bounds(cfg: engine.TrainConfig, p: float | None) -> dict[str, float | None]:
    """log10 of the theory's upper bounds (None: unknown), without cancellation near 1:
    ``P(not constant) <= (1 - p^l_1) prod_{k>=2} (1 - q_k^l_k)`` (arXiv 2006.07075) and
    ``P(no inactive) <= (1 - p)^l_1 prod_{k>=2} (1 - q_k)^l_k`` (arXiv 2410.10533)."""
    arch = cfg.arch
    log_nc = 0.0 if p is None else math.log1p(-(p ** arch[1])) if p < 1 else -math.inf
    for k in range(2, len(arch) - 1):
        q = theory.sign_dead_q(arch[k - 1], cfg.init, cfg.zero_bias)
        if q is None:
            log_nc = None
            break
        log_nc += math.log1p(-(q ** arch[k]))
    log_ni = theory.log_no_inactive(arch, cfg.init, cfg.zero_bias, p)
    if len(arch) == 3 and p is None:
        log_ni = None

    def to10(v):
        return None if v is None or v == -math.inf else v / math.log(10)

    return {"not_constant": to10(log_nc), "no_inactive": to10(log_ni)}


def fmt_small(entry: dict[str, Any]) -> str:
    """``3.2e-13 (2.9e-13, 3.6e-13)`` from log10 values, so that no probability shows as 0 or 1;
    a bracket (``log10_bracket`` with unequal ends) is shown as ``[lower, upper]``.

    >>> fmt_small({"log10_estimate": -12.49, "log10_ci": [-12.54, -12.44]})
    '3.2e-13 (2.9e-13, 3.6e-13)'
    >>> fmt_small({"log10_estimate": None, "log10_ci": [None, -2.43]})
    '0 (0, 3.7e-03)'
    >>> fmt_small({"log10_estimate": -400.15, "log10_bracket": [-400.2, -400.1],
    ...            "log10_ci": [-400.3, -400.0]})
    '[6.3e-401, 7.9e-401] (5.0e-401, 1.0e-400)'
    """

    def one(v: float | None) -> str:
        if v is None:
            return "0"
        if v >= -1:  # 0.1 and up: plain decimals, enough digits not to round to 1
            return f"{10.0**v:.4g}"
        e = math.floor(v)
        m = 10.0 ** (v - e)
        if m >= 9.95:
            m, e = m / 10, e + 1
        return f"{m:.1f}e{e:+03d}"

    lo_b, hi_b = entry.get("log10_bracket") or (entry["log10_estimate"],) * 2
    point = one(entry["log10_estimate"]) if lo_b == hi_b else f"[{one(lo_b)}, {one(hi_b)}]"
    lo, hi = entry["log10_ci"]
    return f"{point} ({one(lo)}, {one(hi)})"


def print_splitting(summary: dict[str, Any], console: Any = None) -> None:
    """Rich table of :func:`splitting_summary`, 80 columns wide (value above interval)."""
    c = summary["config"]
    box = ",".join(f"{a:g}:{b:g}" for a, b in c["problem"]["box"])
    rows = []
    names = {"not_constant": "P(network not constant)", "no_inactive": "P(no inactive neuron)"}
    for event, name in names.items():
        if event not in summary:
            continue
        e = summary[event]
        k = e["initializations_needed"]["log10_K"]
        k_txt = "—" if k is None else f"{k:.2f}"
        bound = e["log10_upper_bound"]
        bound_txt = (
            "—"
            if bound is None
            else "<= "
            + fmt_small({"log10_estimate": bound, "log10_ci": [bound, bound]}).split(" ")[0]
        )
        point, interval = fmt_small(e).rsplit(" (", 1)
        rows.append((name, f"{point}\n({interval}", bound_txt, k_txt))
    stats.print_table(
        f"splitting: {summary['replicates']} x {summary['particles']} particles, "
        f"{c['arch']}, {c['init']}, box {box}",
        f"x (lo, hi): estimate and its {summary['confidence']:.0%} interval from the replicates; "
        "[lo, hi]: bracket when the detector left neurons undecided; "
        f"{summary['wall_s']:.1f} s",
        ("quantity", "measured", "theory", "log10 K for 1/2"),
        rows,
        console,
    )
