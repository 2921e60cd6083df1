"""Typed results: a probability with its intervals, and how to print one so it can be read.

:class:`ProbabilityEstimate` is what every estimate of the package returns (per criterion, per
layer). It is a frozen dataclass with attributes for library users and :meth:`~ProbabilityEstimate.to_dict`
for JSON; ``est["ci"]`` reads the same JSON view, so code written against the earlier plain dicts
keeps working.

Interval conventions: ``ci`` is Clopper-Pearson (``method='exact'``), ``ci_wilson`` Wilson, both
from ``scipy.stats.binomtest``. When some neurons are ``unknown`` a probability is only bracketed:
``estimate`` is ``(lower, upper)`` (certified vs possible), ``bracket`` the same pair, and ``ci``
runs from the lower interval end of the lower count to the upper interval end of the upper count.
``bracket`` is always present (``(x, x)`` when exact).

Formatting (:func:`format_probability`): a probability above 1/2 is shown through its complement,
so ``P(some neuron inactive) = 1 - 6.2e-06`` is printed as ``P(no inactive neuron) 6.2e-06``
rather than as ``1 (1, 1)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any

from scipy import stats

DEFAULT_CONFIDENCE = 0.95


def _pair(x) -> tuple[float, float] | None:
    return None if x is None else (float(x[0]), float(x[1]))


def to_json(x):
    """Tuples -> lists, recursively (the JSON layout of the CLI)."""
    if isinstance(x, tuple):
        return [to_json(v) for v in x]
    if isinstance(x, list):
        return [to_json(v) for v in x]
    if isinstance(x, Mapping):
        return {k: to_json(v) for k, v in x.items()}
    if hasattr(x, "to_dict"):
        return x.to_dict()
    return x


class _JSONView:
    """Read-only mapping access to :meth:`to_dict` (``r["ci"]``, ``{**r}``, ``"ci" in r``)."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __getitem__(self, key: str):
        return self.to_dict()[key]

    def keys(self):
        return self.to_dict().keys()

    def __contains__(self, key) -> bool:
        return key in self.to_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def get(self, key: str, default=None):
        return self.to_dict().get(key, default)


@dataclasses.dataclass(frozen=True, eq=True)
class ProbabilityEstimate(_JSONView):
    """A Monte Carlo probability ``count / n`` with Clopper-Pearson and Wilson intervals.

    Attributes:
      estimate: ``k / n``; ``(k_low / n, k_high / n)`` when only bracketed; ``None`` when ``n = 0``.
      bracket: ``(k_low / n, k_high / n)`` (equal ends when exact).
      ci: Clopper-Pearson interval ``(low, high)`` at level ``confidence``.
      ci_wilson: Wilson interval ``(low, high)``.
      count: ``k``, or ``(k_low, k_high)`` when bracketed.
      n: number of Bernoulli samples (trials, or neurons for pooled neuron probabilities).
      confidence: interval level.
      extra: further JSON fields of this entry (``theory``, ``bound``, ``layer``, ...), in order.
    """

    estimate: float | tuple[float, float] | None
    bracket: tuple[float, float] | None
    ci: tuple[float, float] | None
    ci_wilson: tuple[float, float] | None
    count: int | tuple[int, int]
    n: int
    confidence: float = DEFAULT_CONFIDENCE
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: ``estimate``, ``bracket``, ``ci``, ``ci_wilson``, ``count``, ``n``,
        then the ``extra`` fields (``confidence`` is given once per summary, not per entry)."""
        out = {
            "estimate": to_json(self.estimate),
            "bracket": to_json(self.bracket),
            "ci": to_json(self.ci),
            "ci_wilson": to_json(self.ci_wilson),
            "count": to_json(self.count),
            "n": self.n,
        }
        out.update({k: to_json(v) for k, v in self.extra.items()})
        return out

    def with_extra(self, **fields) -> ProbabilityEstimate:
        """A copy with ``fields`` added to (or replacing those of) :attr:`extra`."""
        return dataclasses.replace(self, extra={**self.extra, **fields})

    @property
    def exact(self) -> bool:
        """Whether the count is known exactly (no unknown neurons)."""
        return not isinstance(self.count, tuple)

    @property
    def counts(self) -> tuple[int, int]:
        """``(k_low, k_high)``; equal when exact."""
        return self.count if isinstance(self.count, tuple) else (self.count, self.count)

    def complement(self) -> ProbabilityEstimate:
        """The estimate of the complementary event, recomputed from the counts ``n - k`` (so a
        value of ``1 - 6e-06`` comes back as ``6e-06`` to full precision), without ``extra``.

        >>> proportion(999_994, 1_000_000).complement().estimate
        6e-06
        """
        lo, hi = self.counts
        return bracketed(self.n - hi, self.n - lo, self.n, self.confidence)

    def ci_width(self, wilson: bool = False) -> float:
        """``ci[1] - ci[0]`` (of ``ci_wilson`` when ``wilson``); ``inf`` when ``n = 0``."""
        ci = self.ci_wilson if wilson else self.ci
        return math.inf if ci is None else ci[1] - ci[0]

    def rel_error(self, wilson: bool = False) -> float:
        """Half the interval width relative to the point estimate of the rarer of the event and its
        complement (the value :func:`format_probability` shows): ``inf`` while it is 0.

        >>> round(proportion(50, 100).rel_error(), 3)
        0.203
        """
        if self.estimate is None:
            return math.inf
        lo, hi = self.bracket
        mid = (lo + hi) / 2
        shown = min(mid, 1 - mid)
        return math.inf if shown <= 0 else self.ci_width(wilson) / 2 / shown


def proportion(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> ProbabilityEstimate:
    """Point estimate ``k / n`` with Clopper-Pearson (``ci``) and Wilson (``ci_wilson``) intervals.

    >>> r = proportion(3, 8)
    >>> r.estimate, [round(v, 4) for v in r.ci], [round(v, 4) for v in r.ci_wilson]
    (0.375, [0.0852, 0.7551], [0.1368, 0.6943])
    """
    k, n = int(k), int(n)
    if n <= 0:
        return ProbabilityEstimate(None, None, None, None, k, n, confidence)
    test = stats.binomtest(k, n)
    cp = test.proportion_ci(confidence_level=confidence, method="exact")
    wi = test.proportion_ci(confidence_level=confidence, method="wilson")
    return ProbabilityEstimate(
        estimate=k / n,
        bracket=(k / n, k / n),
        ci=(float(cp.low), float(cp.high)),
        ci_wilson=(float(wi.low), float(wi.high)),
        count=k,
        n=n,
        confidence=confidence,
    )


def bracketed(
    k_low: int, k_high: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> ProbabilityEstimate:
    """A proportion known only between ``k_low / n`` (certified) and ``k_high / n`` (possible).

    >>> r = bracketed(2, 5, 10)
    >>> r.estimate, r.bracket, [round(v, 4) for v in r.ci]
    ((0.2, 0.5), (0.2, 0.5), [0.0252, 0.8129])
    >>> bracketed(4, 4, 10).estimate
    0.4
    """
    if not 0 <= int(k_low) <= int(k_high):
        raise ValueError(f"need 0 <= k_low <= k_high, got k_low={k_low}, k_high={k_high}")
    lo, hi = proportion(k_low, n, confidence), proportion(k_high, n, confidence)
    if int(k_low) == int(k_high) or n <= 0:
        return lo
    return ProbabilityEstimate(
        estimate=(lo.estimate, hi.estimate),
        bracket=(lo.estimate, hi.estimate),
        ci=(lo.ci[0], hi.ci[1]),
        ci_wilson=(lo.ci_wilson[0], hi.ci_wilson[1]),
        count=(int(k_low), int(k_high)),
        n=int(n),
        confidence=confidence,
    )


# ---------------------------------------------------------------------------------------------
# Formatting


def format_value(p: float) -> str:
    """A probability with enough digits: 4 significant ones, and never ``1`` for a value below 1.

    >>> format_value(0.3124567), format_value(6.2e-06), format_value(0.0), format_value(1.0)
    ('0.3125', '6.2e-06', '0', '1')
    >>> format_value(0.99999)
    '0.99999'
    """
    p = float(p)
    if p in (0.0, 1.0):
        return f"{p:.0f}"
    for digits in range(4, 17):
        text = f"{p:.{digits}g}"
        if float(text) not in (0.0, 1.0):
            return text
    return repr(p)


def complement_shown(entry: ProbabilityEstimate | Mapping) -> bool:
    """Whether :func:`format_probability` shows ``entry`` through its complement (mid-bracket
    above 1/2)."""
    lo, hi = entry["bracket"] if entry["bracket"] is not None else (0.0, 0.0)
    return (lo + hi) / 2 > 0.5


def format_probability(entry: ProbabilityEstimate | Mapping, complement: bool = False) -> str:
    """``0.3124  (0.3119, 0.3129)``; a bracket ``[lo, hi]`` then the interval when unknowns remain.

    With ``complement``, shows the complementary event (``1 - p``, interval ``(1 - hi, 1 - lo)``),
    from the counts where they are known so that small complements keep their digits.

    >>> print(format_probability(proportion(999_994, 1_000_000), complement=True))
    6e-06  (2.202e-06, 1.306e-05)
    >>> print(format_probability(bracketed(2, 5, 10)))
    [0.2, 0.5]  (0.02521, 0.8129)
    """
    if entry["estimate"] is None:
        return "n/a"
    if complement:
        if isinstance(entry, ProbabilityEstimate):
            entry = entry.complement()
        else:
            lo, hi = entry["bracket"]
            c0, c1 = entry["ci"]
            est = [1 - hi, 1 - lo] if lo != hi else 1 - lo
            entry = {"estimate": est, "ci": [1 - c1, 1 - c0]}
    est, ci = entry["estimate"], entry["ci"]
    if isinstance(est, (list, tuple)):
        point = f"[{format_value(est[0])}, {format_value(est[1])}]"
    else:
        point = format_value(est)
    return f"{point}  ({format_value(ci[0])}, {format_value(ci[1])})"


def format_bound(value: float | None, relation: str = "", complement: bool = False) -> str:
    """A theory value next to a measurement: ``= 0.3125``, ``>= 0.25`` or ``—`` when none.

    With ``complement`` the bound is turned around for the complementary event
    (``>= 1 - x`` becomes ``<= x``).

    >>> format_bound(0.9999938, ">= ", complement=True)
    '<= 6.2e-06'
    """
    if value is None:
        return "—"
    if complement:
        value = 1.0 - value
        relation = {">= ": "<= ", "<= ": ">= "}.get(relation, relation)
    return f"{relation}{format_value(value)}"
