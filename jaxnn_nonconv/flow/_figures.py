"""Figures of the gradient-flow study (:mod:`jaxnn_nonconv.flow._study`): ``R - R_inf`` against
``t`` (log-log, fitted exponents), the limits on the ladder of critical values, and the slopes of
minimizing sequences against ``H`` and against optimization time. matplotlib is imported here
only (Agg backend, files only)."""

from __future__ import annotations

from pathlib import Path


def save_all(result: dict, raw: dict, out: Path) -> list[Path]:
    """Write ``flow_rates.png``, ``flow_limits.png``, ``flow_existence.png`` into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    cases = result["flows"]
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.6), squeeze=False)
    for ax, case in zip(axes[0], cases):
        res, rungs, *_ = raw[case["case"]]
        value = dict(rungs)
        names = _names(res, rungs)
        ts = res["ts"]
        for i in range(len(res["risk_final"])):
            r_inf = value.get(names[i], res["risk_final"][i])
            gap = res["risk_traj"][i] - r_inf
            keep = (ts > 0) & (ts <= res["t_final"][i]) & (gap > 1e-14)
            ax.loglog(ts[keep], gap[keep], lw=0.6, alpha=0.5)
        rate = case["rate"]
        ax.set_title(f"{case['case']}\nmedian exponent {_fmt(rate['risk_exponent'])}", fontsize=8)
        ax.set_xlabel("t")
        ax.set_ylabel("R(theta_t) - R_inf")
    fig.tight_layout()
    paths.append(out / "flow_rates.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.6), squeeze=False)
    for ax, case in zip(axes[0], cases):
        labels = [f"{lim['name']}\n{_risk(lim['risk'])}" for lim in case["limits"]]
        ax.bar(range(len(labels)), [lim["count"] for lim in case["limits"]])
        ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=90)
        ax.set_title(case["case"], fontsize=8)
        ax.set_ylabel("trajectories")
    fig.tight_layout()
    paths.append(out / "flow_limits.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    ex = result["existence"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    targets = sorted({(r["target"], r["box"]) for r in ex["by_width"]})
    for target, box in targets:
        rows = [r for r in ex["by_width"] if r["target"] == target and r["box"] == box]
        a1.semilogy([r["width"] for r in rows], [r["max_slope"] for r in rows], "o-", label=target)
    a1.set_xlabel("H")
    a1.set_ylabel("max_j |v_j w_j| of the best net")
    a1.legend(fontsize=7)
    rows = ex["by_time"]
    a2.loglog([r["t"] for r in rows], [r["max_slope_max"] for r in rows], "o-", label="max")
    a2.loglog([r["t"] for r in rows], [r["max_slope_median"] for r in rows], "s--", label="median")
    tc = ex["time_case"]
    a2.set_title(f"{tc['target']} on [{tc['box']}], {tc['arch']}: flows", fontsize=8)
    a2.set_xlabel("t_max")
    a2.set_ylabel("max_j |v_j w_j| at t_max")
    a2.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "flow_existence.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def _names(res, rungs):
    from jaxnn_nonconv.flow import _limits

    return _limits.classify(res["risk_final"], res["diverged"], rungs, res["grad_norm_final"])


def _risk(v):
    return "-" if v is None else f"{v:.3g}"


def _fmt(v):
    return "n/a" if v is None else f"{v:.2f}"
