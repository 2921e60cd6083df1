"""The report: ratios between implementations, the issue's targets, a text table and a plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn_nonconv.bench._workload import BATCH, IMPLS, LEARNING_RATES, Plan


def _find(results: list[dict], impl: str, optimizer: str, n: int) -> dict | None:
    for r in results:
        if (r["impl"], r["optimizer"], r["n"]) == (impl, optimizer, n) and "error" not in r:
            return r
    return None


def summarize(results: list[dict], plan: Plan) -> tuple[dict, list[dict]]:
    """``(ratios, targets)`` from the result entries.

    ``ratios`` holds, at the largest ``n`` measured for the engine and all others, engine
    net-steps/s over each other's, per optimizer (``by_optimizer``) and, as the top-level
    ``vs_<impl>`` values, the smallest over the optimizers (the worst case).
    """
    others = [i for i in ("jax_loop", "torch_loop", "torch_batched") if i in plan.impls]
    common = [
        n
        for n in plan.ns
        if all(_find(results, i, o, n) for i in ("engine", *others) for o in plan.optimizers)
    ]
    n_star = max(common) if common and others else None
    by_opt: dict = {}
    for o in plan.optimizers:
        eng = _find(results, "engine", o, n_star) if n_star else None
        by_opt[o] = {
            f"vs_{i}": eng["net_steps_per_s"] / _find(results, i, o, n_star)["net_steps_per_s"]
            for i in others
            if eng
        }
    ratios: dict = {"n": n_star}
    for i in others:
        values = [by_opt[o][f"vs_{i}"] for o in plan.optimizers if f"vs_{i}" in by_opt[o]]
        ratios[f"vs_{i}"] = min(values) if values else None
    ratios["by_optimizer"] = by_opt
    ratios["definition"] = (
        "engine net-steps/s divided by the other implementation's, at n; top-level values are "
        "the minimum over optimizers"
    )
    return ratios, _targets(results, plan, ratios)


def _targets(results: list[dict], plan: Plan, ratios: dict) -> list[dict]:
    """The issue's targets, each with its measured value (worst case over optimizers)."""
    out = []
    n_star = ratios["n"]
    for impl, goal in (("torch_loop", 100.0), ("torch_batched", 5.0), ("jax_loop", 2.0)):
        value = ratios.get(f"vs_{impl}")
        if value is not None:
            out.append(_target(f"engine / {impl} at N={n_star}", value, goal))

    def worst(impl_a, n_a, impl_b, n_b):
        values = []
        for o in plan.optimizers:
            a, b = _find(results, impl_a, o, n_a), _find(results, impl_b, o, n_b)
            if a and b:
                values.append(a["net_steps_per_s"] / b["net_steps_per_s"])
        return min(values) if len(values) == len(plan.optimizers) else None

    value = worst("engine", 1, "jax_loop", 1)
    if value is not None:  # "within 1.5x of the naive loop at N=1": engine >= jax_loop / 1.5
        out.append(_target("engine / jax_loop at N=1", value, 1 / 1.5))
    big = [n for n in plan.engine_ns if n > 10_000]
    if big and 10_000 in plan.ns + plan.engine_ns:
        value = worst("engine", max(big), "engine", 10_000)
        if value is not None:
            out.append(_target(f"engine N={max(big)} / engine N=10000", value, 0.9))
    return out


def _target(name: str, value: float, goal: float) -> dict:
    return {"name": name, "value": value, "goal": f">= {goal:.3g}", "met": bool(value >= goal)}


def _describe(r: dict) -> str:
    sub = f" ({r['measured_trials']} measured)" if r["extrapolated"] else ""
    mem = "" if r["peak_mem_mb"] is None else f", peak +{r['peak_mem_mb']:.0f} MB"
    return (
        f"{r['impl']} {r['optimizer']} N={r['n']}{sub}: {r['net_steps_per_s']:.3g} net-steps/s, "
        f"compile {r['compile_s']:.2f} s{mem}"
    )


def format_report(report: dict) -> str:
    """Human-readable table, ratios and targets."""
    m, pk, mm = report["machine"], report["peak"], report.get("measured") or {}
    lines = [
        f"{m['cpu_model']}, {m['cores']} cores; jax {m['versions']['jax']}, "
        f"torch {m['versions']['torch']}; assumed fp32 peak {pk['gflops']} GFLOP/s",
        _measured_line(mm),
        f"workload: [1,32,1] ReLU, x^2 on U[0,2], batch {BATCH}, {report['workload']['steps']} "
        f"steps ({report['mode']} mode)",
        "",
        f"{'impl':<14} {'opt':<5} {'N':>7} {'measured':>8} {'net-steps/s':>12} "
        f"{'compile s':>9} {'peak MB':>8} {'% peak':>7} {'% mm':>6} {'% bw':>6} {'% roof':>6}",
    ]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"{r['impl']:<14} {r['optimizer']:<5} {r['n']:>7}  error: {r['error']}")
            continue
        mem = "-" if r["peak_mem_mb"] is None else f"{r['peak_mem_mb']:.0f}"
        frac = "-" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.2f}"
        roof = " ".join(
            f"{_percent(r.get(k)):>6}"
            for k in ("fraction_of_matmul", "fraction_of_bandwidth", "fraction_of_roofline")
        )
        lines.append(
            f"{r['impl']:<14} {r['optimizer']:<5} {r['n']:>7} {r['measured_trials']:>8} "
            f"{r['net_steps_per_s']:>12.4g} {r['compile_s']:>9.2f} {mem:>8} {frac:>7} {roof}"
        )
    ratios = report["ratios"]
    lines.append("")
    if ratios["n"] is not None:
        parts = [
            f"{k[3:]} {v:.3g}x" for k, v in ratios.items() if k.startswith("vs_") and v is not None
        ]
        lines.append(f"engine speed-up at N={ratios['n']} (worst optimizer): " + ", ".join(parts))
    for t in report["targets"]:
        lines.append(
            f"  {'met   ' if t['met'] else 'MISSED'} {t['name']}: {t['value']:.3g} ({t['goal']})"
        )
    lines.extend(f"note: {note}" for note in report["notes"])
    return "\n".join(lines)


def _percent(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _measured_line(mm: dict) -> str:
    if not mm.get("matmul_gflops"):
        return f"machine probe: {mm.get('error', 'not run')}"
    return (
        f"measured on {mm['backend']}: copy {mm['bandwidth_gb_s']:.3g} GB/s ({mm['copy_mb']} MiB), "
        f"matmul {mm['matmul_gflops']:.4g} GFLOP/s (n={mm['matmul_n']}); % mm, % bw, % roof: "
        "achieved FLOP/s and unfused bytes/s over those, and net-steps/s over the roofline"
    )


def plot(report: dict, path_stem: Path) -> list[Path]:
    """Net-steps/s against N on log-log axes, one panel per optimizer; writes PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optimizers = list(report["workload"]["learning_rates"])
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5.2 * len(optimizers), 4.2), sharey=True)
    axes = np.atleast_1d(axes)
    styles = {"engine": "o-", "jax_loop": "s--", "torch_loop": "^:", "torch_batched": "D-."}
    for ax, o in zip(axes, optimizers):
        for impl in IMPLS:
            rows = sorted(
                (r for r in report["results"] if r["impl"] == impl and r["optimizer"] == o),
                key=lambda r: r["n"],
            )
            rows = [r for r in rows if "error" not in r]
            if not rows:
                continue
            (line,) = ax.plot(
                [r["n"] for r in rows],
                [r["net_steps_per_s"] for r in rows],
                styles[impl],
                label=impl,
            )
            extra = [r for r in rows if r["extrapolated"]]
            if extra:  # hollow markers: extrapolated from a measured subset of the trials
                ax.plot(
                    [r["n"] for r in extra],
                    [r["net_steps_per_s"] for r in extra],
                    styles[impl][0],
                    color="white",
                    markeredgecolor=line.get_color(),
                    markersize=5,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (independent trials)")
        ax.set_title(f"{o}, lr {LEARNING_RATES[o]:g}")
        ax.grid(True, which="major", alpha=0.4)
    axes[0].set_ylabel("net-steps per second")
    axes[0].legend(loc="lower right", fontsize=8)
    m = report["machine"]
    fig.suptitle(
        f"[1,32,1] ReLU, batch {BATCH}, {report['workload']['steps']} steps — "
        f"{m['cpu_model']}, {m['cores']} cores (hollow: extrapolated)",
        fontsize=9,
    )
    fig.tight_layout()
    paths = [path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p, dpi=150)
    plt.close(fig)
    return paths
