"""Precision targets: run chunks of trials until a chosen estimate's interval is tight enough.

A Monte Carlo user wants an interval of a given width, not a given number of trials. A
:class:`Precision` names the estimate (e.g. ``any_inactive``), the target (``rel_error`` or
``ci_width``, on the Clopper-Pearson interval) and a cap on trials. Drivers
(:func:`jaxnn_nonconv.estimation.estimate_at_init`, :func:`jaxnn_nonconv.estimation.train_failure`,
:func:`jaxnn_nonconv.experiments.run_experiment`) add whole chunks of trials and stop at the first chunk
count whose estimate meets the target; since trial ``i`` does not depend on the number of trials,
the trials computed are exactly the first ones of any longer run. :class:`UntilPrecise` is that
loop, written once for the drivers that consume a stream of chunks.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from jaxnn_nonconv.stats._results import ProbabilityEstimate, format_value

T = TypeVar("T")

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

        >>> from jaxnn_nonconv.stats import proportion
        >>> round(Precision("p", ci_width=0.1).reached(proportion(50, 100)), 4)
        0.2034
        """
        return est.rel_error() if self.rel_error is not None else est.ci_width()

    def met(self, est: ProbabilityEstimate) -> bool:
        """Whether ``est`` is precise enough.

        >>> from jaxnn_nonconv.stats import proportion
        >>> Precision("p", ci_width=0.25).met(proportion(50, 100))
        True
        """
        goal = self.rel_error if self.rel_error is not None else self.ci_width
        return self.reached(est) <= goal

    def check_of(self, names: Iterable[str], command: str) -> None:
        """Raise ``ValueError`` unless :attr:`of` is one of ``names`` (the estimates of
        ``command``).

        >>> Precision("p", ci_width=0.1).check_of(["q"], "estimate")
        Traceback (most recent call last):
        ...
        ValueError: precision target of 'p': estimate has q
        """
        names = list(names)
        if self.of not in names:
            raise ValueError(f"precision target of {self.of!r}: {command} has {', '.join(names)}")

    def describe(self) -> str:
        """``'rel_error 0.1 of any_inactive'``, for progress lines."""
        if self.rel_error is not None:
            return f"rel_error {self.rel_error:g} of {self.of}"
        return f"ci_width {self.ci_width:g} of {self.of}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def progress_line(precision: Precision, est: ProbabilityEstimate, trials: int) -> str:
    """One progress line: trials so far, the estimate and how far from the target it is.

    >>> from jaxnn_nonconv.stats import proportion
    >>> progress_line(Precision("p", ci_width=0.1), proportion(50, 100), 100)
    'trials 100: p 0.5, ci_width 0.2034 (target 0.1)'
    """
    goal = precision.rel_error if precision.rel_error is not None else precision.ci_width
    what = "rel_error" if precision.rel_error is not None else "ci_width"
    lo, hi = est.bracket if est.bracket is not None else (math.nan, math.nan)
    point = format_value(lo) if lo == hi else f"[{format_value(lo)}, {format_value(hi)}]"
    return (
        f"trials {trials}: {precision.of} {point}, "
        f"{what} {precision.reached(est):.4g} (target {goal:g})"
    )


class UntilPrecise(Iterable[T]):
    """Chunks of a stream until a precision target is met: the loop every precision driver runs.

    Iterating yields the chunks of ``chunks`` one by one; the consumer folds each into its running
    totals in the loop body. Before the next chunk is drawn, ``estimate()`` is asked for the
    targeted estimate of the totals so far and the trials they hold; the iteration stops (without
    drawing another chunk) once ``precision`` is met, and :attr:`stopped` says why it ended.
    Without a ``precision`` every chunk is yielded and nothing is estimated.

    Args:
      chunks: the stream, in trial order (a prefix of it is a shorter run).
      precision: the target, or ``None`` to take every chunk.
      estimate: ``() -> (estimate, trials)`` of the chunks consumed so far (called after each).
      show: print :func:`progress_line` to stderr after each chunk (default: stderr is a TTY).
      prefix: text put before each progress line.

    Attributes:
      stopped: ``"target met"`` or ``"max_trials reached"`` once iteration ended with a
        ``precision``; ``None`` without one (or before the end).

    >>> from jaxnn_nonconv.stats import proportion
    >>> total = []
    >>> run = UntilPrecise(range(1, 100), Precision("p", ci_width=0.5),
    ...                    lambda: (proportion(sum(total), 2 * len(total)), 2 * len(total)),
    ...                    show=False)
    >>> for k in run:
    ...     total.append(k % 2)
    >>> len(total), run.stopped
    (7, 'target met')
    """

    def __init__(
        self,
        chunks: Iterable[T],
        precision: Precision | None,
        estimate: Callable[[], tuple[ProbabilityEstimate, int]],
        *,
        show: bool | None = None,
        prefix: str = "",
    ):
        self.chunks, self.precision, self.estimate = chunks, precision, estimate
        self.show = sys.stderr.isatty() if show is None else show
        self.prefix = prefix
        self.stopped: str | None = None

    def __iter__(self) -> Iterator[T]:
        for chunk in self.chunks:
            yield chunk
            if self.precision is None:
                continue
            est, trials = self.estimate()
            if self.show:
                print(self.prefix + progress_line(self.precision, est, trials), file=sys.stderr)
            if self.precision.met(est):
                self.stopped = "target met"
                return
        if self.precision is not None:
            self.stopped = "max_trials reached"
