"""The gradient-flow study of ``experiments/gradient_flow.toml``: limits and rates of long flows,
existence of minimizers against ``H`` and time, random initializations, 2402.05155 Sec. 5 for
GD, and the speed of vmapped trajectories against a per-trajectory ``scipy`` loop.

Run it with ``python -m jaxnn_nonconv.flow experiments/gradient_flow.toml --out DIR [--full]``;
it writes ``DIR/gradient_flow.json`` and the figures ``DIR/flow_*.png``. Sections:

* ``flows``: per case (target, box, arch) ``trials`` gradient flows to ``t_max``: the ``flow``
  summary (:func:`jaxnn_nonconv.flow.summarize`) and ``R - R_inf`` against ``t``.
* ``existence`` (arXiv 2112.09684): the least-squares best nets ``[1, H, 1]``
  (:func:`jaxnn_nonconv.exact.lsq.lsq_levels`) of each target for ``H = 1..max_width``: their
  level, largest slope ``max_j |v_j| |w_j|`` and closest kink distance; and for the ``step``
  target flows of ``[1, 2, 1]`` to growing ``t_max``: the slope against optimization time.
* ``random_init``: from a ``flows`` case, ``P(best of K within eps of R_H)`` estimated without
  replacement (``1 - C(n - s, K) / C(n, K)`` with ``s`` of ``n`` trajectories within ``eps``),
  beside ``1 - (1 - p_hat)^K``.
* ``gd_steps`` (arXiv 2402.05155 Sec. 5, Prop. 2.10): GD from ``R(theta_0) > Var f`` (output bias
  offset) over a sweep of steps: ``limsup R`` (the largest recorded risk over the second half of
  the times), the fraction diverging, ``max ||theta_n||``, and ``R <= Var f`` at the ends with
  ``||grad R|| < 1e-10`` (true critical points only).
* ``bench``: trajectories per second of the vmapped ODE (compiled) and of GD, against
  ``scipy.integrate.solve_ivp`` (RK45, same tolerances) called per trajectory on a few.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import problems
from jaxnn_nonconv.flow import _dynamics, _integrate, _limits


def _problem(case: dict) -> problems.Problem:
    a, b = (float(v) for v in str(case["box"]).split(":"))
    return problems.Problem(case["target"], ((a, b),)).validate()


def _clean(x):
    """JSON-ready: NaN and infinities become ``None``, arrays lists."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def flows(cfg: dict, seed: int) -> tuple[list[dict], dict]:
    """The ``flows`` section; also returns the raw results by case label."""
    out, raw = [], {}
    for case in cfg["case"]:
        prob, arch = _problem(case), tuple(case["arch"])
        s = _integrate.FlowSettings(
            t_max=cfg["t_max"], seed=seed, chunk_size=cfg["chunk_size"], n_save=cfg["n_save"]
        )
        t0 = time.perf_counter()
        res = _integrate.run_flow(arch, prob, cfg["trials"], s)
        wall = time.perf_counter() - t0
        rungs = _limits.ladder(prob, arch)
        summary = _limits.summarize(res, arch, prob, s, rungs)
        label = f"{case['target']} on [{case['box']}], {list(arch)}"
        raw[label] = (res, rungs, prob, arch, s)
        out.append({"case": label, "wall_s": wall, "ladder": rungs, **summary})
    return out, raw


def existence(cfg: dict, seed: int) -> dict:
    """Least-squares best nets against ``H``, and ``step`` flows against time."""
    from jaxnn_nonconv.exact import lsq

    table = []
    for case in cfg["case"]:
        prob = _problem(case)
        for lv in lsq.lsq_levels(prob, cfg["max_width"], starts=cfg["starts"], seed=seed):
            t = np.sort(np.asarray(lv.kinks))
            gap = float(np.diff(t).min()) if len(t) > 1 else math.nan
            table.append(
                {
                    "target": case["target"],
                    "box": case["box"],
                    "width": lv.width,
                    "risk": lv.risk,
                    "max_slope": float(np.max(np.abs(lv.coef[1:]))),
                    "min_kink_gap": gap,
                }
            )
    prob = _problem(cfg["time_case"])
    arch = tuple(cfg["time_case"]["arch"])
    in_time = []
    with jax.enable_x64(True):
        base = _integrate.FlowSettings(seed=seed, chunk_size=cfg["time_trials"], n_save=8)
        theta0 = _integrate.initial_params(arch, prob, base, np.arange(cfg["time_trials"]))
    for t_max in cfg["times"]:
        res = _integrate.integrate(theta0, arch, prob, dataclasses.replace(base, t_max=t_max))
        slope = _dynamics.max_slope(res["params"], arch)
        in_time.append(
            {
                "t": t_max,
                "risk_median": float(np.median(res["risk_final"])),
                "risk_min": float(res["risk_final"].min()),
                "max_slope_median": float(np.median(slope)),
                "max_slope_max": float(slope.max()),
            }
        )
    return {"by_width": table, "by_time": in_time, "time_case": cfg["time_case"]}


def best_of_k(within: np.ndarray, ks) -> list[dict]:
    """``P(best of K within eps)`` without replacement and ``1 - (1 - p_hat)^K``.

    >>> [round(r["without_replacement"], 4) for r in best_of_k(np.array([1, 0, 0, 0]), [1, 2])]
    [0.25, 0.5]
    """
    n, s = len(within), int(np.sum(within))
    p = s / n
    rows = []
    for k in ks:
        if k > n:
            continue
        miss = math.comb(n - s, k) / math.comb(n, k)
        rows.append({"K": k, "without_replacement": 1 - miss, "independent": 1 - (1 - p) ** k})
    return rows


def random_init(cfg: dict, raw: dict) -> list[dict]:
    out = []
    for label in cfg["cases"]:
        res, rungs, *_ = raw[label]
        r_h = rungs[-1][1]
        within = res["risk_final"] <= r_h + cfg["eps"]
        out.append(
            {
                "case": label,
                "R_H": r_h,
                "eps": cfg["eps"],
                "p_hat": float(within.mean()),
                "curve": best_of_k(within, cfg["K"]),
            }
        )
    return out


def gd_steps(cfg: dict, seed: int) -> list[dict]:
    prob, arch = _problem(cfg), tuple(cfg["arch"])
    var_f = problems.reference_levels(prob).constant
    rows = []
    for eta in cfg["steps"]:
        s = _integrate.FlowSettings(
            method="gd",
            step=eta,
            t_max=cfg["t_max"],
            output_offset=cfg["output_offset"],
            seed=seed,
            chunk_size=cfg["chunk_size"],
            n_save=cfg["n_save"],
        )
        res = _integrate.run_flow(arch, prob, cfg["trials"], s)
        late = res["ts"] >= cfg["t_max"] / 2
        ok = ~res["diverged"]
        limsup = np.max(np.where(late[None, :], res["risk_traj"], -np.inf), axis=1)
        critical = ok & (res["grad_norm_final"] < 1e-10)
        rows.append(
            {
                "step": eta,
                "var_f": var_f,
                "risk0_min": float(res["risk_traj"][:, 0].min()),
                "diverged_fraction": float(np.mean(~ok)),
                "limsup_risk_max": float(limsup[ok].max()) if ok.any() else math.nan,
                "limsup_above_var_f": int(np.sum(limsup[ok] > var_f + cfg["eps"])),
                "norm_max": float(res["norm_max"][ok].max()) if ok.any() else math.nan,
                "critical": int(critical.sum()),
                # Prop. 2.10: R <= Var f at a critical point (up to float rounding of R)
                "critical_above_var_f": int(
                    np.sum(res["risk_final"][critical] > var_f * (1 + 1e-12))
                ),
                "critical_risk_max": float(res["risk_final"][critical].max())
                if critical.any()
                else math.nan,
            }
        )
    return rows


def bench(cfg: dict, seed: int) -> dict:
    from scipy import integrate as sp_integrate

    prob, arch = _problem(cfg), tuple(cfg["arch"])
    out = {}
    for method in ("ode", "gd"):
        s = _integrate.FlowSettings(
            method=method, t_max=cfg["t_max"], seed=seed, chunk_size=cfg["trials"], n_save=4
        )
        _integrate.run_flow(arch, prob, cfg["trials"], s)  # compile
        t0 = time.perf_counter()
        _integrate.run_flow(arch, prob, cfg["trials"], s)
        out[f"{method}_per_s"] = cfg["trials"] / (time.perf_counter() - t0)
    vg = _dynamics.risk_and_grad(prob, arch)
    with jax.enable_x64(True):
        grad = jax.jit(lambda t: vg(t)[1])
        s = _integrate.FlowSettings(seed=seed, chunk_size=cfg["trials"])
        theta0 = _integrate.initial_params(arch, prob, s, np.arange(cfg["scipy_trials"]))
        grad(jnp.asarray(theta0[0]))
        t0 = time.perf_counter()
        for th in theta0:
            sp_integrate.solve_ivp(
                lambda t, y: -np.asarray(grad(jnp.asarray(y))),
                (0.0, cfg["t_max"]),
                th,
                method="RK45",
                rtol=s.rtol,
                atol=s.atol,
            )
        out["scipy_per_s"] = len(theta0) / (time.perf_counter() - t0)
    out["speedup_ode_vs_scipy"] = out["ode_per_s"] / out["scipy_per_s"]
    out.update(trials=cfg["trials"], scipy_trials=cfg["scipy_trials"], t_max=cfg["t_max"])
    return out


def run_study(config: dict, full: bool = False) -> dict:
    """All sections of a parsed ``gradient_flow.toml`` (``[full]`` overrides merged)."""
    cfg = json.loads(json.dumps(config))
    if full:
        for section, values in cfg.get("full", {}).items():
            cfg[section].update(values)
    seed = int(cfg.get("seed", 0))
    result = {}
    t0 = time.perf_counter()
    result["flows"], raw = flows(cfg["flows"], seed)
    result["random_init"] = random_init(cfg["random_init"], raw)
    result["gd_steps"] = gd_steps(cfg["gd_steps"], seed)
    result["existence"] = existence(cfg["existence"], seed)
    if "bench" in cfg:
        result["bench"] = bench(cfg["bench"], seed)
    result["wall_s"] = time.perf_counter() - t0
    result["_raw"] = raw
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m jaxnn_nonconv.flow", description=__doc__)
    p.add_argument("config")
    p.add_argument("--out", required=True)
    p.add_argument("--full", action="store_true")
    args = p.parse_args(argv)
    config = tomllib.loads(Path(args.config).read_text())
    result = run_study(config, args.full)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    raw = result.pop("_raw")
    (out / "gradient_flow.json").write_text(json.dumps(_clean(result), indent=1))
    from jaxnn_nonconv.flow import _figures

    _figures.save_all(result, raw, out)
    print(json.dumps(_clean({k: v for k, v in result.items() if k != "flows"}), indent=1))
    return 0
