"""Train M networks and answer the question the tool exists for: how likely did training fail?

:func:`train_failure` trains trials chunk by chunk (:func:`jaxnn_nonconv.engine.iter_chunks`),
classifies the neurons of each chunk's initial and final nets as the chunk arrives
(:func:`jaxnn_nonconv.estimation.counts_of_params`), and returns a :class:`TrainFailure`: P(failure)
by every criterion of :func:`jaxnn_nonconv.estimation.failure_after_training`, each with both
intervals and theory's bound, plus the risk quantiles and reference levels. With a
:class:`~jaxnn_nonconv.stats.precision.Precision` it keeps adding chunks until the chosen criterion's
interval is tight enough. This is the JSON and the table of ``jaxnn-nonconv train``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import data as datasets, problems
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.estimation import (
    _counting as counting,
    _criteria as criteria,
    _frozen as frozen_est,
    _on_data as on_data,
)
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.stats import (
    DEFAULT_CONFIDENCE,
    TEST_HEADER,
    Precision,
    UntilPrecise,
    consistency_notation,
    format_value,
    notation,
    print_table,
    probability_cells,
    theory,
    to_json,
)

DEFAULT_TOL = 1e-3
# Failure criteria, in table order: name -> (event, complementary event).
CRITERIA = {
    "risk_gap": ("P(final risk > best found + tol)", "P(final risk <= best found + tol)"),
    "inactive_at_end": ("P(some neuron inactive at the end)", "P(no inactive neuron at the end)"),
    "constant_at_end": ("P(network constant at the end)", "P(network not constant at the end)"),
    "inactive_at_init": ("P(some neuron inactive at init)", "P(no inactive neuron at init)"),
    "inactive_on_data_at_init": (
        "P(some neuron dead on the data at init)",
        "P(no neuron dead on the data at init)",
    ),
    "inactive_on_data_at_end": (
        "P(some neuron dead on the data at the end)",
        "P(no neuron dead on the data at the end)",
    ),
    "constant_on_data_at_end": (
        "P(network constant on the data at the end)",
        "P(network not constant on the data at the end)",
    ),
    # clip nets only: frozen = dead or saturated on the box
    "frozen_at_init": ("P(some neuron frozen at init)", "P(no frozen neuron at init)"),
    "frozen_at_end": ("P(some neuron frozen at the end)", "P(no frozen neuron at the end)"),
}


def quantiles(x: np.ndarray) -> dict[str, float]:
    """``min``, ``q05``, ``median``, ``q95``, ``max`` of ``x`` (empty dict for no data)."""
    if x.size == 0:
        return {}
    q = np.quantile(x, [0.0, 0.05, 0.5, 0.95, 1.0])
    return {k: float(v) for k, v in zip(("min", "q05", "median", "q95", "max"), q)}


@dataclasses.dataclass(frozen=True)
class TrainFailure:
    """What ``jaxnn-nonconv train`` reports.

    Attributes:
      failure: :class:`~jaxnn_nonconv.estimation.FailureEstimate` (criteria with intervals).
      risk: quantiles of the final (Monte Carlo) risk of the non-diverged trials.
      risk_exact: the same for the exact ``d = 1`` risk, which the criteria use where available
        (``None`` for other problems).
      levels: reference risks ``constant`` (Var f(X)) and ``affine``.
      fraction_at_or_below_constant_level: of the non-diverged trials (``None`` if none).
      meta: ``config``, ``trials``, ``seed``, ``chunk_size``, ``wall_s`` (and ``precision``).
      result: per-trial arrays of :func:`jaxnn_nonconv.engine.run`, only when asked for.
      empirical_risk, test_risk: with a data set, quantiles of the final empirical risk (the
        training objective) and of the final test risk (``None`` without a test set) of the
        non-diverged trials.
    """

    failure: criteria.FailureEstimate
    risk: Mapping[str, float]
    levels: Mapping[str, float]
    fraction_at_or_below_constant_level: float | None
    meta: Mapping[str, Any]
    risk_exact: Mapping[str, float] | None = None
    result: Mapping[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)
    empirical_risk: Mapping[str, float] | None = None
    test_risk: Mapping[str, float] | None = None
    data: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``jaxnn-nonconv train``: run facts, ``diverged``, ``risk``, ``levels``,
        ``fraction_at_or_below_constant_level``, ``best_risk``, ``risk_source`` (``"exact"`` when
        the exact ``d = 1`` risk replaced the Monte Carlo one), ``confidence``, ``theory`` and
        ``failure``: criterion -> ``estimate``, ``bracket``, ``ci``, ``ci_wilson``, ``count``,
        ``count_bracket``, ``n``, ``bound`` (``risk_gap`` also ``tol`` and ``best_risk``);
        ``estimate`` and ``count`` are numbers, the midpoints of their brackets. With a data set
        also ``empirical_risk`` and ``test_risk`` (quantiles, or ``null`` without a test set),
        and the criteria ``inactive_on_data_at_init``, ``inactive_on_data_at_end``,
        ``constant_on_data_at_end``."""
        f = self.failure
        return {
            **{k: to_json(v) for k, v in self.meta.items()},
            "diverged": f.diverged,
            "risk": dict(self.risk),
            **({} if self.risk_exact is None else {"risk_exact": dict(self.risk_exact)}),
            **(
                {
                    "empirical_risk": dict(self.empirical_risk or {}),
                    "test_risk": None if self.test_risk is None else dict(self.test_risk),
                }
                if self.data
                else {}
            ),
            "levels": dict(self.levels),
            "fraction_at_or_below_constant_level": self.fraction_at_or_below_constant_level,
            "best_risk": f.best_risk,
            "risk_source": f.risk_source,
            "confidence": next(iter(f.criteria.values())).confidence,
            "failure": {k: v.to_dict() for k, v in f.criteria.items()},
            "theory": to_json(f.theory),
        }

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def _counts(theta: np.ndarray, trials: np.ndarray, cfg, chunk_size: int, kw) -> dict:
    """Counts of a chunk's nets, padded to ``chunk_size`` rows so that one compilation serves all."""
    n = len(trials)
    rows = np.minimum(np.arange(chunk_size), n - 1)
    if kw.get("data") is not None:  # inactivity on the training points
        out = on_data.counts_on_data(theta[rows], cfg.arch, kw["data"], chunk_size=chunk_size)
    else:
        out = counting.counts_of_params(
            theta[rows], cfg.arch, cfg.problem.box, trials=trials[rows], chunk_size=chunk_size, **kw
        )
    return {k: v[:n] for k, v in out.items()}


_KEEP = ("inactive", "unknown", "dead_layer", "dead_layer_possible")


def train_failure(
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int = 0,
    chunk_size: int = engine.DEFAULT_CHUNK,
    tol: float = DEFAULT_TOL,
    confidence: float = DEFAULT_CONFIDENCE,
    precision: Precision | None = None,
    keep_result: bool = False,
    progress: bool | None = None,
    n_devices: int | None = None,
    settings: detector.DetectorSettings | None = None,
) -> TrainFailure:
    """Train ``n_trials`` nets of ``cfg`` and estimate P(failure) by every criterion.

    Args:
      cfg, seed, chunk_size, n_devices: as in :func:`jaxnn_nonconv.engine.run`; trial ``i`` is
        bit-identical to ``engine.run``'s trial ``i`` with the same chunk size.
      n_trials: ``M``; with ``precision``, ignored in favour of ``precision.max_trials``.
      tol: tolerance of the ``risk_gap`` criterion.
      confidence: interval level.
      precision: stop at the first chunk count whose criterion ``precision.of`` meets the target.
      keep_result: also keep the per-trial arrays (``params`` included) in ``.result``.
      progress: progress bar, or one line per chunk with ``precision`` (default: stderr is a TTY).
      settings: the detector's :class:`~jaxnn_nonconv.detector.DetectorSettings` (default
        ``DetectorSettings()``).

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64)
    >>> out = train_failure(cfg, 8, chunk_size=8)
    >>> sorted(out.failure.criteria), out.meta["trials"]
    (['constant_at_end', 'inactive_at_end', 'inactive_at_init', 'risk_gap'], 8)
    """
    cfg = cfg.validate()
    settings = (settings or detector.DetectorSettings()).validate(cfg.arch[0])
    if precision is not None:
        precision.check_of(CRITERIA, "train")
        if precision.of in criteria.INACTIVE_CRITERIA and detector.not_applicable(
            cfg.activation, cfg.arch
        ):
            raise ValueError(
                f"precision target of {precision.of!r}: not applicable to "
                f"{cfg.activation} nets (no neuron is ever inactive)"
            )
        if precision.of in criteria.FROZEN_CRITERIA and cfg.activation != "clip":
            raise ValueError(f"precision target of {precision.of!r}: clip nets only")
        if precision.of in criteria.DATA_CRITERIA and cfg.data is None:
            raise ValueError(f"precision target of {precision.of!r}: needs a data set")
        n_trials = precision.max_trials
    if cfg.data is not None and detector.uses_intervals(cfg.activation, cfg.arch):
        raise ValueError(
            f"inactivity on training points models ReLU after the first layer; {cfg.activation} "
            "nets with more than one hidden layer are checked on the box only (drop the data set)"
        )
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    kw = {"settings": settings, "activation": cfg.activation}
    t0 = time.perf_counter()
    n_chunks = -(-n_trials // chunk_size)
    # Under jax.distributed each process trains its share of the chunks, gathered below (a
    # precision target needs the chunks in order, so there every process computes all of them).
    mine = distributed.my_chunks(range(n_chunks)) if precision is None else None
    chunks = engine.iter_chunks(
        cfg, n_trials, seed=seed, chunk_size=chunk_size, n_devices=n_devices, chunks=mine
    )
    if precision is None:
        chunks = engine.progress_iter(chunks, len(mine), progress, "train chunks")
    kept: list[dict] = []
    results: list[dict] = []
    relu = detector.not_applicable(cfg.activation, cfg.arch) is None

    def estimate():
        fe = _estimate(cfg, [p for _, p in kept], tol, th, confidence)
        return fe.criteria[precision.of], fe.trials

    run = UntilPrecise(chunks, precision, estimate, show=progress)
    for c, res in run:
        if relu:
            theta = np.nan_to_num(res["params"], nan=0.0, posinf=0.0, neginf=0.0)  # diverged
            end = _counts(theta, res["trial"], cfg, chunk_size, kw)
            init = _counts(res["params0"], res["trial"], cfg, chunk_size, kw)
            if cfg.activation == "clip":  # frozen: dead or saturated, every layer
                box, s = cfg.problem.box, settings
                for out, t in ((end, theta), (init, res["params0"])):
                    f, p = frozen_est.frozen_counts_of_params(t, cfg.arch, box, settings=s)
                    out.update(frozen_any=f, frozen_possible=p)
            if cfg.data is not None:
                dkw = {"data": cfg.data.x}
                for out, t in ((end, theta), (init, res["params0"])):
                    on = _counts(t, res["trial"], cfg, chunk_size, dkw)
                    out.update({f"data_{k}": v for k, v in on.items()})
        else:  # leaky ReLU / softplus: no neuron is ever inactive, nothing to detect
            end = init = {}
        # The exact d = 1 risk replaces the Monte Carlo one wherever it is finite.
        exact = exact_risk.add_exact(cfg, res).get("risk_exact")
        risk = res["risk"] if exact is None else np.where(np.isfinite(exact), exact, res["risk"])
        part = {"risk": risk, "risk_mc": res["risk"], "diverged": res["diverged"]}
        part["trial"] = res["trial"]
        if "test_risk" in res:
            part["test_risk"] = res["test_risk"]
        keep = (*_KEEP, *(f"data_{k}" for k in _KEEP), "frozen_any", "frozen_possible")
        part.update({f"end_{k}": v for k, v in end.items() if k in keep})
        part.update({f"init_{k}": v for k, v in init.items() if k in keep})
        if keep_result:
            results.append((c, res))
        kept.append((c, part))
    wall = time.perf_counter() - t0
    if precision is None:
        kept = [(0, distributed.merge_chunks(kept))]
        results = [(0, distributed.merge_chunks(results))] if keep_result else []
    kept = [p for _, p in kept]
    fe = _estimate(cfg, kept, tol, th, confidence)
    if exact_risk.supported(cfg.problem, cfg.activation, cfg.arch):
        fe = dataclasses.replace(fe, risk_source="exact")
    risk = np.concatenate([p["risk_mc"] for p in kept])
    diverged = np.concatenate([p["diverged"] for p in kept])
    if cfg.data is not None:  # the empirical levels of the training points
        levels = problems.Levels(**datasets.levels(cfg.data))
    else:
        levels = problems.reference_levels(cfg.problem)
    ok_risk = risk[~diverged]
    risk_exact = None
    if fe.risk_source == "exact":
        risk_exact = quantiles(np.concatenate([p["risk"] for p in kept])[~diverged])
    meta = {
        "config": cfg.to_dict(),
        "trials": fe.trials,
        "seed": seed,
        "chunk_size": chunk_size,
        "wall_s": wall,
    }
    if precision is not None:
        meta["precision"] = {**precision.to_dict(), "stopped": run.stopped}
    result = None
    if keep_result:
        result = distributed.merge_chunks(results)
        result["record_steps"] = engine.record_steps(cfg.steps, cfg.n_record)
    test_q = None
    if "test_risk" in kept[0]:
        test_q = quantiles(np.concatenate([p["test_risk"] for p in kept])[~diverged])
    return TrainFailure(
        data=cfg.data is not None,
        empirical_risk=quantiles(ok_risk) if cfg.data is not None else None,
        test_risk=test_q,
        failure=fe,
        risk=quantiles(ok_risk),
        risk_exact=risk_exact,
        levels={"constant": levels.constant, "affine": levels.affine},
        fraction_at_or_below_constant_level=float(np.mean(ok_risk <= levels.constant))
        if ok_risk.size
        else None,
        meta=meta,
        result=result,
    )


def _estimate(cfg, kept: list[dict], tol, th, confidence) -> criteria.FailureEstimate:
    if "end_inactive" not in kept[0]:
        risk = np.concatenate([p["risk"] for p in kept])
        diverged = np.concatenate([p["diverged"] for p in kept])
        return criteria.not_applicable_failure(cfg, risk, diverged, tol, confidence)
    names = ["risk", "diverged", *(f"{w}_{k}" for w in ("end", "init") for k in _KEEP)]
    cat = {k: np.concatenate([p[k] for p in kept]) for k in names}
    end = {k: cat[f"end_{k}"] for k in _KEEP}
    init = {k: cat[f"init_{k}"] for k in _KEEP}
    flags = criteria.failure_flags(end, init, cat["risk"], cat["diverged"], tol)
    if "end_data_inactive" in kept[0]:
        dend, dinit = (
            {k: np.concatenate([p[f"{w}_data_{k}"] for p in kept]) for k in _KEEP}
            for w in ("end", "init")
        )
        flags.update(criteria.data_flags(dend, dinit, cat["diverged"]))
    if "end_frozen_any" in kept[0]:  # clip: frozen = dead or saturated
        fend, finit = (
            tuple(np.concatenate([p[f"{w}_frozen_{k}"] for p in kept]) for k in ("any", "possible"))
            for w in ("end", "init")
        )
        flags.update(criteria.frozen_flags(fend, finit, cat["diverged"]))
        th = {**th, "any_frozen_lower_bound": frozen_est.any_frozen_bound(cfg)}
    return criteria.failure_of_flags(flags, cat["risk"], cat["diverged"], tol, th, confidence)


def print_train(summary: TrainFailure | Mapping[str, Any], console: Any = None) -> None:
    """Rich table, 80 columns wide: P(failure) by each criterion (measured above its interval,
    theory, an exact binomial test against theory), then the risks."""
    s = summary.to_dict() if hasattr(summary, "to_dict") else summary
    c = s["config"]
    on_data = "data" in c  # a data set: empirical risks and levels
    what = f"data {c['data']['source']}" if on_data else f"target {c['problem']['target']}"
    stop = s.get("precision", {}).get("stopped")
    alpha = 1 - s["confidence"]
    caption = "; ".join(
        [
            notation(s["confidence"]),
            consistency_notation(alpha),
            "a probability above 1/2 is shown through its complement",
            "a diverged trial counts as a failure",
            f"tol = {s['failure']['risk_gap']['tol']:g}",
            f"{s['wall_s']:.2f} s",
            *([stop] if stop else []),
        ]
    )
    shallow = len(c["arch"]) == 3  # P(inactive at init) is then theory's closed form
    rows = []
    for name, entry in s["failure"].items():
        labels = CRITERIA.get(name, (f"P({name})", f"P(not {name})"))
        rel = "= " if shallow and name == "inactive_at_init" else ">= "
        rows.append(probability_cells(labels, entry, entry.get("bound"), rel, alpha=alpha))
    rows.append(None)
    risk_name = "final empirical risk" if on_data else "final risk"
    for k, v in s["risk"].items():
        rows.append((f"{risk_name} {k}", format_number(v), "", ""))
    for k, v in (s.get("test_risk") or {}).items():
        rows.append((f"final test risk {k}", format_number(v), "", ""))
    for k in ("min", "median"):  # empty quantiles when every trial diverged
        if k in s.get("risk_exact", {}):
            rows.append((f"final exact risk {k}", format_number(s["risk_exact"][k]), "", ""))
    best = s["best_risk"]
    finite = best is not None and math.isfinite(best)
    rows.append(
        ("best final risk found", format_number(best) if finite else "n/a (all diverged)", "", "")
    )
    var = "Var y" if on_data else "Var f(X)"
    rows.append((f"best constant risk {var}", "", format_number(s["levels"]["constant"]), ""))
    rows.append(("best affine risk", "", format_number(s["levels"]["affine"]), ""))
    frac = s["fraction_at_or_below_constant_level"]
    rows.append(
        (f"fraction at or below {var}", "n/a" if frac is None else format_value(frac), "", "")
    )
    rows.append(("diverged trials", str(s["diverged"]), "", ""))
    print_table(
        "How likely did training fail?\n"
        f"{s['trials']} trained nets {c['arch']}, {c['init']} init, {c['optimizer']} "
        f"lr={c['learning_rate']}, {c['steps']} steps, {what}",
        caption,
        ("event", "measured", "theory", TEST_HEADER),
        rows,
        console,
    )


def format_number(v: float | None) -> str:
    """A risk in a table: 6 significant digits, ``n/a`` for ``None`` or a non-finite value.

    >>> format_number(0.00293509123), format_number(None), format_number(float("nan"))
    ('0.00293509', 'n/a', 'n/a')
    """
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.6g}"
