"""Precision targets: run chunks of trials until a chosen estimate's interval is tight enough.

A Monte Carlo user wants an interval of a given width, not a given number of trials. A
:class:`Precision` names the estimate (e.g. ``any_inactive``), the target (``rel_error`` or
``ci_width``, on the Clopper-Pearson interval) and a cap on trials. Drivers
(:func:`jaxnn_nonconv.estimation.estimate_at_init`, :func:`jaxnn_nonconv.estimation.train_failure`,
:func:`jaxnn_nonconv.experiments.run_experiment`) add whole chunks of trials and stop at the first chunk
count whose estimate meets the target; since trial ``i`` does not depend on the number of trials,
the trials computed are exactly the first ones of any longer run.
"""

from __future__ import annotations

import dataclasses
import math

from jaxnn_nonconv.stats._results import ProbabilityEstimate

DEFAULT_MAX_TRIALS = 10**7


@dataclasses.dataclass(frozen=True)
class Precision:
    """Stop once ``estimate(of)`` meets ``rel_error`` or ``ci_width`` (or ``max_trials`` is reached).

    Attributes:
      of: name of the estimate the target applies to (a summary key or a failure criterion).
      rel_error: half the Clopper-Pearson interval width over the point estimate of the rarer of
        the event and its complement (:meth:`ProbabilityEstimate.rel_error`); e.g. ``0.1``.
      ci_width: full width of the Clopper-Pearson interval; e.g. ``0.01``.
      max_trials: the most trials to run, whatever the precision reached.
    """

    of: str
    rel_error: float | None = None
    ci_width: float | None = None
    max_trials: int = DEFAULT_MAX_TRIALS

    def __post_init__(self):
        if (self.rel_error is None) == (self.ci_width is None):
            raise ValueError("give exactly one of rel_error and ci_width")
        for name in ("rel_error", "ci_width"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        m = self.max_trials
        if isinstance(m, bool) or not isinstance(m, int) or m <= 0:
            raise ValueError(f"max_trials must be a positive integer, got {m!r}")

    def reached(self, est: ProbabilityEstimate) -> float:
        """The current value of the targeted quantity (relative error or interval width).

        >>> from jaxnn_nonconv.stats.results import proportion
        >>> round(Precision("p", ci_width=0.1).reached(proportion(50, 100)), 4)
        0.2034
        """
        return est.rel_error() if self.rel_error is not None else est.ci_width()

    def met(self, est: ProbabilityEstimate) -> bool:
        """Whether ``est`` is precise enough.

        >>> from jaxnn_nonconv.stats.results import proportion
        >>> Precision("p", ci_width=0.25).met(proportion(50, 100))
        True
        """
        goal = self.rel_error if self.rel_error is not None else self.ci_width
        return self.reached(est) <= goal

    def describe(self) -> str:
        """``'rel_error 0.1 of any_inactive'``, for progress lines."""
        if self.rel_error is not None:
            return f"rel_error {self.rel_error:g} of {self.of}"
        return f"ci_width {self.ci_width:g} of {self.of}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def progress_line(precision: Precision, est: ProbabilityEstimate, trials: int) -> str:
    """One progress line: trials so far, the estimate and how far from the target it is.

    >>> from jaxnn_nonconv.stats.results import proportion
    >>> progress_line(Precision("p", ci_width=0.1), proportion(50, 100), 100)
    'trials 100: p 0.5, ci_width 0.2034 (target 0.1)'
    """
    from jaxnn_nonconv.stats._results import format_value

    goal = precision.rel_error if precision.rel_error is not None else precision.ci_width
    what = "rel_error" if precision.rel_error is not None else "ci_width"
    lo, hi = est.bracket if est.bracket is not None else (math.nan, math.nan)
    point = format_value(lo) if lo == hi else f"[{format_value(lo)}, {format_value(hi)}]"
    return (
        f"trials {trials}: {precision.of} {point}, "
        f"{what} {precision.reached(est):.4g} (target {goal:g})"
    )
