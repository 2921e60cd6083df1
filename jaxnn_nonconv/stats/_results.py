"""Typed results: a probability with its intervals, and how to print one so it can be read.

:class:`ProbabilityEstimate` is what every estimate of the package returns (per criterion, per
layer). It is a frozen dataclass with attributes for library users and :meth:`~ProbabilityEstimate.to_dict`
for JSON; ``est["ci"]`` reads the same JSON view, so code written against the earlier plain dicts
keeps working.

Interval conventions: ``ci`` is Clopper-Pearson (``method='exact'``), ``ci_wilson`` Wilson, both
from ``scipy.stats.binomtest``. When some neurons are ``unknown`` a probability is only bracketed
between ``lower`` (certified) and ``upper`` (possible) counts; ``ci`` then runs from the lower
interval end of the lower count to the upper interval end of the upper count.

JSON types never depend on the data (docs/api.md, "JSON contracts"): ``estimate`` and ``count``
are always numbers (``null`` where undefined), never pairs. A bracket lives only in ``bracket``
(``[lower, upper]`` probabilities) and ``count_bracket`` (``[k_low, k_high]`` counts), which are
always present, with equal ends when nothing was undecided. The one rule for every point value:
it is the value at the bracket's midpoint: ``estimate = (bracket[0] + bracket[1]) / 2``,
``count = (k_low + k_high) / 2`` (the int ``k`` when decided, a float otherwise) and, where log10
values are given (:func:`json_entry`), ``log10_estimate = log10(estimate)`` with
``log10_bracket`` the log10 of the ends (:func:`log10_midpoint`).

Formatting (:func:`format_probability`): a probability above 1/2 is shown through its complement,
so ``P(some neuron inactive) = 1 - 6.2e-06`` is printed as ``P(no inactive neuron) 6.2e-06``
rather than as ``1 (1, 1)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import scipy

DEFAULT_CONFIDENCE = 0.95


def midpoint(lo: float, hi: float) -> float:
    """``(lo + hi) / 2``: the point value of a bracket (``lo`` itself, exactly, when equal).

    >>> midpoint(0.2, 0.5), midpoint(0.1, 0.1)
    (0.35, 0.1)
    """
    return (lo + hi) / 2


def log10_or_none(x: float | None) -> float | None:
    """``log10(x)``, or ``None`` where ``x`` is 0 (or ``None``)."""
    return None if x is None or not x > 0 else math.log10(x)


def log10_midpoint(lo: float | None, hi: float | None) -> float | None:
    """``log10((10^lo + 10^hi) / 2)`` without leaving log space (``None`` stands for log10 0).

    The log10 of a bracket's midpoint even where the probabilities underflow a float
    (``1e-400``); ``lo`` itself when both ends are equal.

    >>> round(log10_midpoint(-400.0, -400.0 + math.log10(3)), 6), log10_midpoint(-2.0, -2.0)
    (-399.69897, -2.0)
    >>> round(log10_midpoint(None, -2.0), 6), log10_midpoint(None, None)
    (-2.30103, None)
    """
    if lo == hi:
        return lo
    if lo is None or hi is None:
        return (hi if lo is None else lo) - math.log10(2)
    top, low = max(lo, hi), min(lo, hi)
    return top + math.log10((1 + 10.0 ** (low - top)) / 2)


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


def finite_json(x):
    """``x`` made valid JSON: NaN and infinities become ``None`` (``null``), NumPy scalars and
    arrays Python numbers and lists, tuples lists, objects with ``to_dict()`` their dict; recursive.

    JSON has no NaN or infinity (RFC 8259 sec. 6): ``json.dumps`` would write ``NaN``, which
    strict parsers reject, e.g. a diverged run's ``best_risk``.

    >>> finite_json({"a": float("nan"), "b": (1.0, np.float32(np.inf)), "c": np.arange(2)})
    {'a': None, 'b': [1.0, None], 'c': [0, 1]}
    """
    if hasattr(x, "to_dict"):
        x = x.to_dict()
    if isinstance(x, Mapping):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_json(v) for v in x]
    if isinstance(x, np.ndarray):
        return finite_json(x.tolist())
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def dumps_json(obj, **kwargs) -> str:
    """``json.dumps`` of :func:`finite_json` ``(obj)``, with ``allow_nan=False`` as a guard: every
    JSON this package prints or writes goes through here."""
    return json.dumps(finite_json(obj), allow_nan=False, **kwargs)


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
      estimate: always a float (``None`` when ``n = 0``): ``k / n``, or the midpoint of
        :attr:`bracket` when only bracketed.
      bracket: ``(k_low / n, k_high / n)`` (equal ends when exact; ``None`` when ``n = 0``).
      ci: Clopper-Pearson interval ``(low, high)`` at level ``confidence``.
      ci_wilson: Wilson interval ``(low, high)``.
      count: ``k`` (an int) when exact, the midpoint ``(k_low + k_high) / 2`` (a float) when
        bracketed; ``None`` when not applicable.
      n: number of Bernoulli samples (trials, or neurons for pooled neuron probabilities).
      confidence: interval level.
      extra: further JSON fields of this entry (``theory``, ``bound``, ``layer``, ...), in order.
      count_bracket: ``(k_low, k_high)``; defaults to ``(count, count)``.
    """

    estimate: float | None
    bracket: tuple[float, float] | None
    ci: tuple[float, float] | None
    ci_wilson: tuple[float, float] | None
    count: int | float | None
    n: int
    confidence: float = DEFAULT_CONFIDENCE
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)
    count_bracket: tuple[int, int] | None = None

    def __post_init__(self):
        if self.count_bracket is None and self.count is not None:
            object.__setattr__(self, "count_bracket", (int(self.count), int(self.count)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: ``estimate``, ``bracket``, ``ci``, ``ci_wilson``, ``count``,
        ``count_bracket``, ``n``, then the ``extra`` fields (``confidence`` is given once per
        summary, not per entry). ``estimate`` and ``count`` are numbers (or ``null``), never
        pairs: the bracket is in ``bracket`` and ``count_bracket``."""
        out = {
            "estimate": self.estimate,
            "bracket": to_json(self.bracket),
            "ci": to_json(self.ci),
            "ci_wilson": to_json(self.ci_wilson),
            "count": self.count,
            "count_bracket": to_json(self.count_bracket),
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
        return self.count_bracket is None or self.count_bracket[0] == self.count_bracket[1]

    @property
    def counts(self) -> tuple[int, int]:
        """``(k_low, k_high)``; equal when exact."""
        return self.count_bracket if self.count_bracket is not None else (None, None)

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
        shown = min(self.estimate, 1 - self.estimate)
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
    test = scipy.stats.binomtest(k, n)
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

    ``estimate`` is the bracket's midpoint and ``count`` the midpoint count (see the module
    docstring); the ends are in ``bracket`` and ``count_bracket``.

    >>> r = bracketed(2, 5, 10)
    >>> r.estimate, r.bracket, r.count, r.count_bracket, [round(v, 4) for v in r.ci]
    (0.35, (0.2, 0.5), 3.5, (2, 5), [0.0252, 0.8129])
    >>> bracketed(4, 4, 10).estimate
    0.4
    """
    if not 0 <= int(k_low) <= int(k_high):
        raise ValueError(f"need 0 <= k_low <= k_high, got k_low={k_low}, k_high={k_high}")
    lo, hi = proportion(k_low, n, confidence), proportion(k_high, n, confidence)
    if int(k_low) == int(k_high) or n <= 0:
        return lo
    return ProbabilityEstimate(
        estimate=midpoint(lo.estimate, hi.estimate),
        bracket=(lo.estimate, hi.estimate),
        ci=(lo.ci[0], hi.ci[1]),
        ci_wilson=(lo.ci_wilson[0], hi.ci_wilson[1]),
        count=midpoint(int(k_low), int(k_high)),
        n=int(n),
        confidence=confidence,
        count_bracket=(int(k_low), int(k_high)),
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
            entry = {"bracket": [1 - hi, 1 - lo], "ci": [1 - c1, 1 - c0]}
    (lo, hi), ci = entry["bracket"], entry["ci"]
    point = format_value(lo) if lo == hi else f"[{format_value(lo)}, {format_value(hi)}]"
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


def table_row(
    labels: tuple[str, str],
    entry: ProbabilityEstimate | Mapping,
    theory_value: float | None = None,
    relation: str = "",
) -> tuple[str, str, str]:
    """The cells ``(quantity, measured (interval), theory)`` of one probability in a table.

    ``labels`` names the event and its complement; a probability above 1/2 is shown through the
    complement (:func:`complement_shown`), its theory value turned around with it.

    >>> table_row(("P(dead)", "P(alive)"), proportion(999_994, 1_000_000), 0.9999938, ">= ")
    ('P(alive)', '6e-06  (2.202e-06, 1.306e-05)', '<= 6.2e-06')
    """
    flip = complement_shown(entry)
    return (
        labels[1] if flip else labels[0],
        format_probability(entry, complement=flip),
        format_bound(theory_value, relation, complement=flip),
    )


def json_entry(
    est: ProbabilityEstimate, *, interval: str = "clopper_pearson", log10: bool = False
) -> dict[str, Any]:
    """The JSON entry of a proportion in a report table: :meth:`ProbabilityEstimate.to_dict`, with
    the interval the table shows as ``ci`` and, with ``log10``, the log10 values.

    Args:
      est: the proportion (:func:`proportion` or :func:`bracketed`).
      interval: ``"clopper_pearson"`` (``ci`` as in ``to_dict``) or ``"wilson"`` (``ci`` is the
        Wilson interval, the Clopper-Pearson one moves to ``ci_clopper_pearson``).
      log10: add ``log10_estimate`` (log10 of the midpoint), ``log10_bracket`` and ``log10_ci``
        (``None`` where a value is 0), as the entries of ``--method splitting``.

    Raises:
      ValueError: unknown ``interval``.

    >>> e = json_entry(proportion(3, 8), interval="wilson")
    >>> [round(v, 4) for v in e["ci"]], [round(v, 4) for v in e["ci_clopper_pearson"]]
    ([0.1368, 0.6943], [0.0852, 0.7551])
    >>> e = json_entry(bracketed(0, 10, 1000), log10=True)
    >>> e["estimate"], e["log10_bracket"][0], round(e["log10_estimate"], 4)
    (0.005, None, -2.301)
    """
    if interval not in ("clopper_pearson", "wilson"):
        raise ValueError(f"interval must be 'clopper_pearson' or 'wilson', got {interval!r}")
    out = est.to_dict()
    if interval == "wilson":
        out = {**out, "ci": out["ci_wilson"], "ci_clopper_pearson": out["ci"]}
    if log10:
        lo, hi = est.bracket if est.bracket is not None else (None, None)
        ci = est.ci if est.ci is not None else (None, None)
        out["log10_estimate"] = log10_or_none(est.estimate)
        out["log10_bracket"] = [log10_or_none(lo), log10_or_none(hi)]
        out["log10_ci"] = [log10_or_none(ci[0]), log10_or_none(ci[1])]
    return out
