"""P(training failed) of trained networks by several criteria (a :class:`FailureEstimate`).

:func:`failure_after_training` takes per-trial arrays of trained nets (``engine.run``'s) and
estimates, with intervals, the probability of each failure criterion: a risk gap to the best run,
inactive neurons or a constant network at the end, inactive neurons at initialization, and (with
risk levels) not reaching the global level (docs/theory.md sec. 4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.estimation import _levels as risk_levels
from jaxnn_nonconv.estimation._counting import DEFAULT_CHUNK, counts_of_params
from jaxnn_nonconv.estimation._frozen import any_frozen_bound, frozen_counts_of_params
from jaxnn_nonconv.estimation._on_data import counts_on_data
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.stats import (
    DEFAULT_CONFIDENCE,
    ProbabilityEstimate,
    bracketed,
    theory,
    to_json,
)


@dataclasses.dataclass(frozen=True)
class FailureEstimate:
    """P(failure) of trained nets by several criteria (:func:`failure_after_training`).

    Attributes:
      trials: ``M``.
      tol: tolerance of ``risk_gap``.
      best_risk: lowest final risk of the non-diverged trials.
      diverged: number of diverged trials.
      criteria: criterion name -> :class:`ProbabilityEstimate` (with theory's lower ``bound`` of
        the probability where one applies, else ``None``).
      theory: :func:`jaxnn_nonconv.stats.theory.summary` of the setting.
      risk_source: ``"exact"`` when the criteria used exact ``d = 1`` risks, else ``"monte_carlo"``.
      level_tol: the tolerance above ``R_H`` of ``not_global`` (only with ``levels``).
    """

    trials: int
    tol: float
    best_risk: float
    diverged: int
    criteria: Mapping[str, ProbabilityEstimate]
    theory: Mapping[str, Any]
    risk_source: str = "monte_carlo"
    level_tol: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "trials": self.trials,
            "tol": self.tol,
            "risk_source": self.risk_source,
            "best_risk": self.best_risk,
            "diverged": self.diverged,
            "criteria": {k: v.to_dict() for k, v in self.criteria.items()},
            "theory": to_json(self.theory),
        }
        if self.level_tol is not None:
            out["level_tol"] = self.level_tol
        return out

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def _any_inactive(c: Mapping[str, np.ndarray], fails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = (c["inactive"].sum(1) > 0) | fails
    hi = ((c["inactive"] + c["unknown"]).sum(1) > 0) | fails
    return lo, hi


def failure_flags(
    end: Mapping[str, np.ndarray] | None,
    init: Mapping[str, np.ndarray] | None,
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-trial ``(certain, possible)`` failure flags of every criterion.

    Args:
      end, init: per-trial counts of the final and the initial nets (:func:`counts_of_params`);
        ``None`` gives the ``risk_gap`` flags only.
      risk: ``(M,)`` final risks; diverged: ``(M,)`` bool; tol: tolerance of ``risk_gap``.
    """
    diverged = np.asarray(diverged, bool)
    risk = np.asarray(risk, np.float64)
    best = float(np.min(risk[~diverged])) if np.any(~diverged) else float("nan")
    fail_risk = diverged | ~(risk <= best + tol)
    if end is None:  # no detection (non-ReLU nets): only the risk criterion
        return {"risk_gap": (fail_risk, fail_risk)}
    return {
        "risk_gap": (fail_risk, fail_risk),
        "inactive_at_end": _any_inactive(end, diverged),
        "constant_at_end": (
            np.asarray(end["dead_layer"], bool) | diverged,
            np.asarray(end["dead_layer_possible"], bool) | diverged,
        ),
        "inactive_at_init": _any_inactive(init, np.zeros(len(risk), bool)),
    }


DATA_CRITERIA = ("inactive_on_data_at_init", "inactive_on_data_at_end", "constant_on_data_at_end")


def data_flags(
    end: Mapping[str, np.ndarray], init: Mapping[str, np.ndarray], diverged: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``(certain, possible)`` flags of the data criteria from per-trial inactivity on the data
    (:func:`jaxnn_nonconv.estimation.counts_on_data` of the final and initial nets): some neuron
    inactive on every training point at init / at the end, some layer inactive on every point at
    the end (the net is constant on the data). A diverged trial fails the two at the end."""
    diverged = np.asarray(diverged, bool)

    def some(c, fails):
        lo = (np.asarray(c["inactive"]).sum(1) > 0) | fails
        return lo, ((np.asarray(c["inactive"]) + np.asarray(c["unknown"])).sum(1) > 0) | fails

    return {
        "inactive_on_data_at_init": some(init, np.zeros_like(diverged)),
        "inactive_on_data_at_end": some(end, diverged),
        "constant_on_data_at_end": (
            np.asarray(end["dead_layer"], bool) | diverged,
            np.asarray(end["dead_layer_possible"], bool) | diverged,
        ),
    }


def failure_of_flags(
    flags: Mapping[str, tuple[np.ndarray, np.ndarray]],
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
    th: Mapping[str, Any],
    confidence: float = DEFAULT_CONFIDENCE,
) -> FailureEstimate:
    """:class:`FailureEstimate` from :func:`failure_flags`."""
    diverged = np.asarray(diverged, bool)
    risk = np.asarray(risk, np.float64)
    m = len(risk)
    best = float(np.min(risk[~diverged])) if np.any(~diverged) else float("nan")
    bounds = {
        # Inactivity at init of first-layer and sign-dead neurons is permanent (their parameters
        # get zero gradient), and so is a dead layer: theory's lower bounds at init bound the
        # probabilities at the end too. risk_gap has none: "within tol of the best found" is
        # not "at a global minimum" (arXiv 2402.05155 Thm 4.2 bounds the latter).
        "inactive_at_end": th["any_inactive_lower_bound"],
        "constant_at_end": th["constant_network_lower_bound"],
        "risk_gap": None,
        "inactive_at_init": th["any_inactive_lower_bound"],
        # The data lie in the box (cfg.problem.box is their bounding box): a neuron or layer
        # inactive on the box is inactive on the data, so the box's lower bounds hold.
        "inactive_on_data_at_init": th["any_inactive_lower_bound"],
        "inactive_on_data_at_end": th["any_inactive_lower_bound"],
        "constant_on_data_at_end": th["constant_network_lower_bound"],
        # A net with an inactive first-layer neuron cannot reach R_H when the levels strictly
        # decrease (arXiv 2402.05155 sec. 3.6), so the same bound holds for not_global.
        "not_global": th["any_inactive_lower_bound"],
        # clip: a first-layer neuron frozen at init stays frozen (zero gradient for its incoming
        # weights and bias), so 1 - (1 - p_frozen)^H bounds both (docs/theory.md sec. 3b).
        "frozen_at_init": th.get("any_frozen_lower_bound"),
        "frozen_at_end": th.get("any_frozen_lower_bound"),
    }
    criteria = {}
    for name, (lo, hi) in flags.items():
        est = bracketed(int(lo.sum()), int(hi.sum()), m, confidence).with_extra(
            bound=bounds.get(name)
        )
        if name == "risk_gap":
            est = est.with_extra(tol=tol, best_risk=best)
        criteria[name] = est
    return FailureEstimate(m, tol, best, int(diverged.sum()), criteria, th)


def failure_after_training(
    cfg: engine.TrainConfig,
    result: Mapping[str, np.ndarray],
    *,
    tol: float = 1e-3,
    confidence: float = DEFAULT_CONFIDENCE,
    chunk_size: int = DEFAULT_CHUNK,
    settings: detector.DetectorSettings | None = None,
    levels: Sequence[float] | None = None,
    level_tol: float = risk_levels.LEVEL_TOL,
) -> FailureEstimate:
    """P(failure) of trained nets by several criteria, from :func:`engine.run`'s output.

    The exact ``d = 1`` risk ``risk_exact`` (:mod:`jaxnn_nonconv.exact.risk`) replaces the Monte
    Carlo ``risk`` wherever it is finite: it is taken from ``result`` or computed here when the
    problem has an exact rule (``risk_source`` says which was used).

    Criteria (a diverged trial fails by every one but ``inactive_at_init``):
      ``risk_gap``: final risk above the best final risk of all trials plus ``tol``.
      ``inactive_at_end``: some neuron of the final net inactive on the box (bracketed if unknown).
      ``constant_at_end``: some hidden layer of the final net entirely inactive.
      ``inactive_at_init``: some neuron of the initial net inactive (first-layer ones are
      permanent, so for shallow nets this predicts ``inactive_at_end``).
      ``not_global`` (with ``levels`` ``R_0..R_H`` and exact risks): exact risk above
      ``R_H + level_tol min(R_(H-1) - R_H, R_H)`` (:func:`jaxnn_nonconv.estimation.levels.classify_levels`); a
      trial whose exact risk overflowed is counted only in the upper end of the bracket.
      ``frozen_at_init``, ``frozen_at_end`` (``clip`` nets): some hidden neuron frozen, dead or
      saturated on the box (:func:`frozen_flags`), bound ``1 - (1 - p_frozen)^H``.
      With a data set (``cfg.data``), also ``inactive_on_data_at_init``,
      ``inactive_on_data_at_end`` and ``constant_on_data_at_end`` (:func:`data_flags`).
      For ``leaky_relu`` and ``softplus`` nets the three inactive-based criteria are ``not
      applicable``: their entries have ``estimate: None`` and the reason in ``not_applicable``.

    Each comes with both intervals and theory's lower ``bound`` where one applies
    (:func:`jaxnn_nonconv.stats.theory.summary`; for a shallow net ``any_inactive_lower_bound`` bounds
    P(failure) when the target's best risk strictly decreases with every extra neuron,
    arXiv 2402.05155 Thm 4.2).

    The nets are classified by the detector with ``settings`` (a
    :class:`~jaxnn_nonconv.detector.DetectorSettings`, default ``DetectorSettings()``) in chunks of
    ``chunk_size``.

    Raises:
      ValueError: float64 parameters while 64-bit JAX is off.
      ConfigError: ``settings`` do not apply to ``cfg``'s input dimension.

    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64).validate()
    >>> out = failure_after_training(cfg, engine.run(cfg, 8, chunk_size=8))
    >>> sorted(out.criteria)
    ['constant_at_end', 'inactive_at_end', 'inactive_at_init', 'risk_gap']
    """
    cfg = cfg.validate()
    settings = (settings or detector.DetectorSettings()).validate(cfg.arch[0])
    if levels is not None and len(levels) != cfg.arch[1] + 1:
        raise ValueError(f"levels must be R_0..R_H for width H = {cfg.arch[1]}, got {len(levels)}")
    if detector.not_applicable(cfg.activation, cfg.arch):
        return not_applicable_failure(cfg, result["risk"], result["diverged"], tol, confidence)
    kw = dict(
        trials=result.get("trial"),
        chunk_size=chunk_size,
        settings=settings,
        activation=cfg.activation,
    )
    theta = nets.float_input(result["params"], "params")
    theta = np.nan_to_num(np.asarray(theta), nan=0.0, posinf=0.0, neginf=0.0)  # diverged trials
    end = counts_of_params(theta, cfg.arch, cfg.problem.box, **kw)
    init = counts_of_params(result["params0"], cfg.arch, cfg.problem.box, **kw)
    risk = np.asarray(result["risk"], np.float64)
    exact = result.get("risk_exact")
    if exact is None and exact_risk.supported(cfg.problem, cfg.activation, cfg.arch):
        exact = exact_risk.risks_of_params(
            result["params"], cfg.arch, cfg.problem, activation=cfg.activation
        )[0]
    if exact is not None:
        exact = np.asarray(exact, np.float64)
        risk = np.where(np.isfinite(exact), exact, risk)
    flags = failure_flags(end, init, risk, result["diverged"], tol)
    if cfg.data is not None:  # inactive on every training point (docs/data.md)
        on = {
            w: counts_on_data(t, cfg.arch, cfg.data.x, chunk_size=chunk_size)
            for w, t in (("end", theta), ("init", np.asarray(result["params0"])))
        }
        flags.update(data_flags(on["end"], on["init"], result["diverged"]))
    level_tol_h = None
    if levels is not None and exact is not None:
        flags["not_global"] = not_global_flags(exact, result["diverged"], levels, level_tol)
        level_tol_h = float(risk_levels.tolerances(levels, level_tol)[-1])
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    if cfg.activation == "clip":  # frozen = dead or saturated, every layer
        ends = frozen_counts_of_params(theta, cfg.arch, cfg.problem.box, settings=settings)
        inits = frozen_counts_of_params(
            np.asarray(result["params0"]), cfg.arch, cfg.problem.box, settings=settings
        )
        flags.update(frozen_flags(ends, inits, result["diverged"]))
        th = {**th, "any_frozen_lower_bound": any_frozen_bound(cfg)}
    out = failure_of_flags(flags, risk, result["diverged"], tol, th, confidence)
    return dataclasses.replace(
        out, risk_source="monte_carlo" if exact is None else "exact", level_tol=level_tol_h
    )


INACTIVE_CRITERIA = ("inactive_at_end", "constant_at_end", "inactive_at_init")
FROZEN_CRITERIA = ("frozen_at_init", "frozen_at_end")  # clip nets only


def frozen_flags(end, init, diverged) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``(certain, possible)`` flags of ``frozen_at_end`` and ``frozen_at_init`` of ``clip`` nets
    from :func:`jaxnn_nonconv.estimation.frozen_counts_of_params` ``(frozen, possibly_frozen)``
    of the final and initial nets: some hidden neuron dead or saturated on the box (a diverged
    trial fails ``frozen_at_end``)."""
    diverged = np.asarray(diverged, bool)
    return {
        "frozen_at_init": (np.asarray(init[0]) > 0, np.asarray(init[1]) > 0),
        "frozen_at_end": (
            (np.asarray(end[0]) > 0) | diverged,
            (np.asarray(end[1]) > 0) | diverged,
        ),
    }


def not_applicable_failure(
    cfg: engine.TrainConfig,
    risk: np.ndarray,
    diverged: np.ndarray,
    tol: float,
    confidence: float = DEFAULT_CONFIDENCE,
) -> FailureEstimate:
    """:class:`FailureEstimate` of a net whose activation has no inactive neurons (leaky ReLU,
    softplus): ``risk_gap`` only; the inactive-based criteria have ``estimate: None`` and the
    reason in ``not_applicable`` (never a ReLU verdict for a non-ReLU net)."""
    reason = detector.not_applicable(cfg.activation, cfg.arch)
    m = len(risk)
    flags = {"risk_gap": failure_flags(None, None, risk, diverged, tol)["risk_gap"]}
    th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
    out = failure_of_flags(flags, risk, diverged, tol, th, confidence)
    na = ProbabilityEstimate(None, None, None, None, None, m, confidence)
    na = na.with_extra(not_applicable=reason)
    return dataclasses.replace(
        out,
        criteria={
            **out.criteria,
            **dict.fromkeys(INACTIVE_CRITERIA, na),
            **dict.fromkeys(DATA_CRITERIA if cfg.data is not None else (), na),
        },
    )


def not_global_flags(
    exact: np.ndarray, diverged: np.ndarray, levels: Sequence[float], level_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(certain, possible)`` flags of ``not_global``: diverged, or exact risk above ``R_H`` plus
    its tolerance (:func:`jaxnn_nonconv.estimation.levels.classify_levels`); a trial whose exact
    risk overflowed (NaN) is only possibly failed."""
    exact, diverged = np.asarray(exact, np.float64), np.asarray(diverged, bool)
    reached = risk_levels.classify_levels(exact, levels, level_tol)["reached_global"]
    unsure = ~np.isfinite(exact) & ~diverged
    certain = (diverged | ~reached) & ~unsure
    return certain, certain | unsure
