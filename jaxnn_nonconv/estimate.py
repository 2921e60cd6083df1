"""Failure probabilities from M trials, with Wilson and Clopper-Pearson intervals (THEORY sec. 4).

* :func:`counts_at_init` draws the initial networks of trials ``0..M-1`` exactly as
  :func:`jaxnn_nonconv.train.run` does (:func:`~jaxnn_nonconv.train.init_trial_params` of
  ``train.trial_key(seed, i)``) and classifies their neurons with the jit-compiled, vmapped
  detector of :mod:`jaxnn_nonconv.inactive`, in padded chunks of one fixed shape, so trial ``i``'s
  result does not depend on ``M``. :func:`counts_of_params` does the same for given flat parameters
  (e.g. ``train.run``'s ``params0`` and ``params``).
* :func:`summarize` turns per-trial counts into probabilities, each with both intervals and the
  predictions of :mod:`jaxnn_nonconv.theory` next to it: the JSON of ``jaxnn-nonconv estimate``.
* :func:`failure_after_training` estimates P(failure) of trained nets by several criteria.

Interval conventions: ``ci`` is Clopper-Pearson (``method='exact'``), ``ci_wilson`` Wilson, both
from ``scipy.stats.binomtest``. When some neurons are ``unknown`` (deep layers, ``d > 1``) a
probability is only bracketed: ``estimate`` becomes ``[lower, upper]`` (certified vs possible),
``bracket`` holds the same pair, and ``ci`` runs from the lower interval end of the lower count to
the upper interval end of the upper count. ``bracket`` is always present (``[x, x]`` when exact).

Per-layer neuron probabilities: first-layer neurons of one net are independent (different rows),
so their pooled count is Binomial(M l_1, p). Deeper neurons of one net are dependent; their
interval uses one neuron per trial (neuron ``i mod l_k`` of trial ``i``), a Bernoulli sample of the
same probability by exchangeability, while the point estimate pools all neurons.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxnn_nonconv import distributed, inactive, nets, theory, train

DEFAULT_CHUNK = 2**14
DEFAULT_CONFIDENCE = 0.95


def proportion(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> dict[str, Any]:
    """Point estimate ``k / n`` with Clopper-Pearson (``ci``) and Wilson (``ci_wilson``) intervals.

    >>> r = proportion(3, 8)
    >>> r["estimate"], [round(v, 4) for v in r["ci"]], [round(v, 4) for v in r["ci_wilson"]]
    (0.375, [0.0852, 0.7551], [0.1368, 0.6943])
    """
    k, n = int(k), int(n)
    if n <= 0:
        return {
            "estimate": None,
            "bracket": None,
            "ci": None,
            "ci_wilson": None,
            "count": k,
            "n": n,
        }
    test = stats.binomtest(k, n)
    cp = test.proportion_ci(confidence_level=confidence, method="exact")
    wi = test.proportion_ci(confidence_level=confidence, method="wilson")
    return {
        "estimate": k / n,
        "bracket": [k / n, k / n],
        "ci": [float(cp.low), float(cp.high)],
        "ci_wilson": [float(wi.low), float(wi.high)],
        "count": k,
        "n": n,
    }


def bracketed(
    k_low: int, k_high: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> dict[str, Any]:
    """A proportion known only between ``k_low / n`` (certified) and ``k_high / n`` (possible).

    >>> r = bracketed(2, 5, 10)
    >>> r["estimate"], r["bracket"], [round(v, 4) for v in r["ci"]]
    ([0.2, 0.5], [0.2, 0.5], [0.0252, 0.8129])
    >>> bracketed(4, 4, 10)["estimate"]
    0.4
    """
    if not 0 <= int(k_low) <= int(k_high):
        raise ValueError(f"need 0 <= k_low <= k_high, got k_low={k_low}, k_high={k_high}")
    lo, hi = proportion(k_low, n, confidence), proportion(k_high, n, confidence)
    if int(k_low) == int(k_high) or n <= 0:
        return lo
    return {
        "estimate": [lo["estimate"], hi["estimate"]],
        "bracket": [lo["estimate"], hi["estimate"]],
        "ci": [lo["ci"][0], hi["ci"][1]],
        "ci_wilson": [lo["ci_wilson"][0], hi["ci_wilson"][1]],
        "count": [int(k_low), int(k_high)],
        "n": int(n),
    }


def _detector_kw(mode, grid, n_probe, max_points) -> dict:
    return {"mode": mode, "grid": grid, "n_probe": n_probe, "max_points": max_points}


@functools.lru_cache(maxsize=32)
def _compiled_init_chunk(cfg: train.TrainConfig, detector_kw: tuple) -> Any:
    """Jitted ``(base_key, indices: (chunk,)) -> Counts`` for the initial nets of ``cfg``.

    ``base_key`` is ``jax.random.key(seed)``, made outside so that any seed :func:`train.run`
    accepts gives the same keys: ``fold_in(base_key, i)`` is ``train.trial_key(seed, i)``.
    """
    detect = inactive.make_detector(cfg.problem.box, dtype=cfg.dtype, **dict(detector_kw))

    def chunk(base_key, indices):
        params = jax.vmap(lambda i: train.init_trial_params(cfg, jax.random.fold_in(base_key, i)))(
            indices
        )
        # Without the barrier XLA fuses the random draws into the detector and recomputes them;
        # the output layer stays outside it, so its unused draws are eliminated.
        hidden = jax.lax.optimization_barrier(params[:-1])
        return detect((*hidden, params[-1]), indices)

    return jax.jit(chunk)


def _collect(parts: list, n: int) -> dict[str, np.ndarray]:
    out = {
        k: np.concatenate([np.asarray(getattr(p, k)) for p in parts])[:n] for k in parts[0]._fields
    }
    return out


def counts_at_init(
    cfg: train.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = inactive.DEFAULT_PROBES,
    max_points: int = inactive.DEFAULT_MAX_POINTS,
    progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Per-trial :class:`~jaxnn_nonconv.inactive.Counts` of the initial nets of trials ``0..M-1``.

    Args:
      cfg: the setting (only arch, init, zero_bias, init_scale, box and dtype matter).
      n_trials: ``M``.
      seed: trial ``i`` uses ``train.trial_key(seed, i)``, as in :func:`train.run`.
      chunk_size: trials per compiled call (the last chunk is padded).
      mode, grid, n_probe, max_points: detector settings (:func:`inactive.make_detector`).
      progress: rich progress bar (default: when stderr is a terminal).

    Returns:
      Dict of NumPy arrays with leading axis ``M``: the fields of ``Counts`` plus ``trial``.

    >>> cfg = train.TrainConfig(arch=(1, 4, 1)).validate()
    >>> c = counts_at_init(cfg, 5, chunk_size=4)
    >>> c["inactive"].shape, c["trial"].tolist()
    ((5, 1), [0, 1, 2, 3, 4])
    """
    cfg = cfg.validate()
    train._check_dtype_enabled(cfg)
    train._check_count(n_trials, "n_trials")
    train._check_count(chunk_size, "chunk_size")
    kw = tuple(_detector_kw(mode, grid, n_probe, max_points).items())
    fn = _compiled_init_chunk(cfg, kw)
    n_chunks = -(-n_trials // chunk_size)
    base_key = jax.random.key(seed)  # as train.trial_key: every int seed, not only uint32 ones

    mine = distributed.my_chunks(range(n_chunks))  # all of them with one process

    def run_chunks():
        for c in mine:
            idx = jnp.arange(c * chunk_size, (c + 1) * chunk_size, dtype=jnp.uint32)
            yield c, fn(base_key, idx)

    parts = list(train.progress_iter(run_chunks(), len(mine), progress, "init chunks"))
    parts = [(c, {k: np.asarray(v) for k, v in p._asdict().items()}) for c, p in parts]
    out = {k: v[:n_trials] for k, v in distributed.merge_chunks(parts).items()}
    out["trial"] = np.arange(n_trials)
    return out


def counts_of_params(
    theta: np.ndarray | jax.Array,
    arch,
    box,
    *,
    trials: np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = inactive.DEFAULT_PROBES,
    max_points: int = inactive.DEFAULT_MAX_POINTS,
) -> dict[str, np.ndarray]:
    """Per-trial counts of ``M`` networks given as flat parameters ``theta: (M, P)``.

    Args:
      theta: e.g. ``train.run(...)["params"]`` (final) or ``["params0"]`` (initial).
      arch: the architecture.
      box: ``((a_1, b_1), ...)``, e.g. ``cfg.problem.box``.
      trials: ``(M,)`` trial indices (pick the sampled neuron); default ``0..M-1``.
      chunk_size, mode, grid, n_probe, max_points: as in :func:`counts_at_init`.

    >>> theta = np.zeros((3, nets.num_params((1, 4, 1))), np.float32)
    >>> counts_of_params(theta, (1, 4, 1), ((0.0, 1.0),))["inactive"][:, 0].tolist()
    [4, 4, 4]
    """
    theta = np.asarray(theta)
    arch = nets.check_arch(arch)
    if theta.ndim != 2 or theta.shape[0] == 0:
        raise ValueError(f"theta must have shape (M, P) with M >= 1, got {theta.shape}")
    m = theta.shape[0]
    trials = np.arange(m) if trials is None else np.asarray(trials)
    detect = inactive.make_detector(
        tuple((float(a), float(b)) for a, b in box),
        dtype=str(theta.dtype),
        **_detector_kw(mode, grid, n_probe, max_points),
    )
    chunk_size = min(chunk_size, max(m, 1))
    fn = _compiled_flat_chunk(detect, arch)
    parts = []
    for lo in range(0, m, chunk_size):
        rows = np.arange(lo, lo + chunk_size)
        rows = np.minimum(rows, m - 1)  # pad with the last trial; dropped below
        parts.append(fn(jnp.asarray(theta[rows]), jnp.asarray(trials[rows], jnp.uint32)))
    out = _collect(parts, m)
    out["trial"] = trials
    return out


@functools.lru_cache(maxsize=32)
def _compiled_flat_chunk(detect, arch: tuple[int, ...]):
    def chunk(theta, trials):
        return detect(jax.vmap(lambda t: nets.from_flat(t, arch))(theta), trials)

    return jax.jit(chunk)


def _py(x):
    """NumPy scalars -> Python numbers for JSON."""
    return x.item() if isinstance(x, np.generic) else x


def summarize(
    cfg: train.TrainConfig,
    counts: dict[str, np.ndarray],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Any]:
    """Probabilities, intervals and theory for per-trial counts (:func:`counts_at_init`).

    Returns a JSON-friendly dict with keys ``trials``, ``confidence``,
    ``first_layer_neuron_inactive`` (``estimate``, ``ci``, ``ci_wilson``, ``theory``),
    ``any_inactive`` (… ``bound``: theory's lower bound), ``constant_network`` (…
    ``lower_bound``), ``inactive_fraction_per_layer`` (one dict per hidden layer, with its
    ``sign_dead`` probability and theory ``q_k``, and the ``empirical`` never-active-on-a-sample
    fraction), ``unknown_fraction``, ``overflow_trials`` and ``theory``
    (:func:`jaxnn_nonconv.theory.summary`).

    >>> from jaxnn_nonconv import problems
    >>> box01 = problems.Problem("x^2", ((0.0, 1.0),))
    >>> cfg = train.TrainConfig(arch=(1, 8, 1), init="normal", problem=box01).validate()
    >>> s = summarize(cfg, counts_at_init(cfg, 2000, chunk_size=1024))
    >>> s["first_layer_neuron_inactive"]["theory"]
    0.375
    >>> lo, hi = s["first_layer_neuron_inactive"]["ci"]
    >>> bool(lo < 0.375 < hi)
    True
    """
    arch = cfg.arch
    widths = arch[1:-1]
    m = int(counts["inactive"].shape[0])
    inact = counts["inactive"].astype(np.int64)  # (M, L)
    unk = counts["unknown"].astype(np.int64)
    possible = inact + unk
    th = theory.summary(arch, cfg.init, cfg.problem.box, cfg.zero_bias)

    first = proportion(inact[:, 0].sum(), m * widths[0], confidence)
    first["theory"] = th["first_layer_p"]

    layers = []
    for k, width in enumerate(widths):
        if k == 0:
            entry = dict(first)
        else:
            entry = bracketed(
                counts["sampled_inactive"][:, k].sum(),
                (counts["sampled_inactive"][:, k] | counts["sampled_unknown"][:, k]).sum(),
                m,
                confidence,
            )
            lo, hi = inact[:, k].sum() / (m * width), possible[:, k].sum() / (m * width)
            entry["estimate"] = lo if lo == hi else [lo, hi]
            entry["bracket"] = [lo, hi]
            entry["interval_from"] = "one neuron per trial"
        entry["layer"] = k + 1
        entry["width"] = int(width)
        entry["theory"] = th["first_layer_p"] if k == 0 else None
        if k > 0:
            entry["sign_dead"] = proportion(counts["sign_dead"][:, k].sum(), m * width, confidence)
            entry["sign_dead"]["theory"] = th["sign_dead_q"][k]
        entry["empirical"] = float(counts["empirical"][:, k].sum() / (m * width))
        layers.append(entry)

    any_inactive = bracketed((inact.sum(1) > 0).sum(), (possible.sum(1) > 0).sum(), m, confidence)
    any_inactive["bound"] = th["any_inactive_lower_bound"]
    constant = bracketed(
        counts["dead_layer"].sum(), counts["dead_layer_possible"].sum(), m, confidence
    )
    constant["lower_bound"] = th["constant_network_lower_bound"]
    return {
        "trials": m,
        "confidence": confidence,
        "first_layer_neuron_inactive": first,
        "any_inactive": any_inactive,
        "constant_network": constant,
        "inactive_fraction_per_layer": layers,
        "unknown_fraction": float(unk.sum() / (m * sum(widths))),
        "overflow_trials": int(counts["overflow"].sum()),
        "theory": th,
    }


def estimate_at_init(
    cfg: train.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK,
    confidence: float = DEFAULT_CONFIDENCE,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = inactive.DEFAULT_PROBES,
    max_points: int = inactive.DEFAULT_MAX_POINTS,
    progress: bool | None = None,
) -> dict[str, Any]:
    """The summary printed by ``jaxnn-nonconv estimate``: :func:`summarize` of
    :func:`counts_at_init`, plus ``config``, ``seed``, ``chunk_size``, ``detector`` and ``wall_s``.

    >>> cfg = train.TrainConfig(arch=(1, 4, 4, 1)).validate()
    >>> s = estimate_at_init(cfg, 64, chunk_size=32)
    >>> s["trials"], len(s["inactive_fraction_per_layer"]), s["unknown_fraction"]
    (64, 2, 0.0)
    """
    cfg = cfg.validate()
    t0 = time.perf_counter()
    counts = counts_at_init(
        cfg,
        n_trials,
        seed=seed,
        chunk_size=chunk_size,
        mode=mode,
        grid=grid,
        n_probe=n_probe,
        max_points=max_points,
        progress=progress,
    )
    wall = time.perf_counter() - t0
    d = cfg.arch[0]
    resolved = inactive.resolve_mode(mode, d)
    detector = {
        "mode": resolved,
        "grid": (grid or inactive.default_grid(d)) if resolved == "ibp" else None,
        "n_probe": n_probe,
        "max_points": max_points if resolved == "exact" else None,
    }
    return {
        "config": cfg.to_dict(),
        "seed": seed,
        "chunk_size": chunk_size,
        "detector": detector,
        **summarize(cfg, counts, confidence=confidence),
        "wall_s": wall,
    }


def failure_after_training(
    cfg: train.TrainConfig,
    result: dict[str, np.ndarray],
    *,
    tol: float = 1e-3,
    confidence: float = DEFAULT_CONFIDENCE,
    chunk_size: int = DEFAULT_CHUNK,
    mode: str = "auto",
    grid: int | None = None,
    n_probe: int = inactive.DEFAULT_PROBES,
    max_points: int = inactive.DEFAULT_MAX_POINTS,
) -> dict[str, Any]:
    """P(failure) of trained nets by several criteria, from :func:`train.run`'s output.

    Criteria (a diverged trial fails by every one):
      ``risk_gap``: final risk above the best final risk of all trials plus ``tol``.
      ``inactive_at_end``: some neuron of the final net inactive on the box (bracketed if unknown).
      ``constant_at_end``: some hidden layer of the final net entirely inactive.
      ``inactive_at_init``: some neuron of the initial net inactive (first-layer ones are
      permanent, so for shallow nets this predicts ``inactive_at_end``).

    Each comes with both intervals; ``theory`` holds :func:`jaxnn_nonconv.theory.summary`, whose
    ``any_inactive_lower_bound`` lower-bounds P(failure) of a shallow net when the target's best
    risk strictly decreases with every extra neuron (THEORY.md sec. 4).

    >>> cfg = train.TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64).validate()
    >>> out = failure_after_training(cfg, train.run(cfg, 8, chunk_size=8))
    >>> sorted(out["criteria"])
    ['constant_at_end', 'inactive_at_end', 'inactive_at_init', 'risk_gap']
    """
    cfg = cfg.validate()
    m = int(result["risk"].shape[0])
    diverged = np.asarray(result["diverged"], bool)
    risk = np.asarray(result["risk"], np.float64)
    best = float(np.min(risk[~diverged])) if np.any(~diverged) else float("nan")
    fail_risk = diverged | ~(risk <= best + tol)
    kw = dict(
        trials=result.get("trial"),
        chunk_size=chunk_size,
        mode=mode,
        grid=grid,
        n_probe=n_probe,
        max_points=max_points,
    )
    end = counts_of_params(result["params"], cfg.arch, cfg.problem.box, **kw)
    init = counts_of_params(result["params0"], cfg.arch, cfg.problem.box, **kw)

    def any_inactive(c, fails):
        lo = (c["inactive"].sum(1) > 0) | fails
        hi = ((c["inactive"] + c["unknown"]).sum(1) > 0) | fails
        return bracketed(lo.sum(), hi.sum(), m, confidence)

    return {
        "trials": m,
        "tol": tol,
        "best_risk": best,
        "diverged": int(diverged.sum()),
        "criteria": {
            "risk_gap": proportion(fail_risk.sum(), m, confidence),
            "inactive_at_end": any_inactive(end, diverged),
            "constant_at_end": bracketed(
                (end["dead_layer"] | diverged).sum(),
                (end["dead_layer_possible"] | diverged).sum(),
                m,
                confidence,
            ),
            "inactive_at_init": any_inactive(init, np.zeros(m, bool)),
        },
        "theory": theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias),
    }


def _fmt_p(entry: dict[str, Any]) -> str:
    """``0.3124 [0.3119, 0.3129]``, or ``[lo, hi]`` bracket then interval when unknowns remain."""
    est, ci = entry["estimate"], entry["ci"]
    if est is None:
        return "n/a"
    point = f"[{est[0]:.4g}, {est[1]:.4g}]" if isinstance(est, list) else f"{est:.4g}"
    return f"{point}  ({ci[0]:.4g}, {ci[1]:.4g})"


def _fmt_theory(value: float | None, relation: str = "") -> str:
    return "—" if value is None else f"{relation}{value:.4g}"


def print_summary(summary: dict[str, Any], console: Any = None) -> None:
    """Rich table of :func:`estimate_at_init`'s summary: measured (Clopper-Pearson interval) next
    to THEORY.md's closed form or bound."""
    from rich.console import Console
    from rich.table import Table

    c = summary["config"]
    box = ",".join(f"{a:g}:{b:g}" for a, b in c["problem"]["box"])
    zb = ", zero bias" if c["zero_bias"] else ""
    t = Table(
        title=f"{summary['trials']} initializations of {c['arch']}, {c['init']}{zb}, box {box}",
        caption=f"{summary['confidence']:.0%} Clopper-Pearson intervals; "
        f"detector {summary['detector']['mode']}; {summary['wall_s']:.2f} s",
    )
    t.add_column("quantity")
    t.add_column("measured (interval)", justify="right")
    t.add_column("theory", justify="right")
    first = summary["first_layer_neuron_inactive"]
    t.add_row("P(first-layer neuron inactive)", _fmt_p(first), _fmt_theory(first["theory"], "= "))
    for layer in summary["inactive_fraction_per_layer"][1:]:
        t.add_row(
            f"P(layer {layer['layer']} neuron inactive)",
            _fmt_p(layer),
            _fmt_theory(layer["sign_dead"]["theory"], ">= "),
        )
    anyi = summary["any_inactive"]
    t.add_row("P(some neuron inactive)", _fmt_p(anyi), _fmt_theory(anyi["bound"], ">= "))
    const = summary["constant_network"]
    t.add_row(
        "P(network constant on the box)", _fmt_p(const), _fmt_theory(const["lower_bound"], ">= ")
    )
    t.add_row("fraction of neurons unknown", f"{summary['unknown_fraction']:.4g}", "")
    (console or Console()).print(t)
