"""Tables people can read at 80 columns: stacked cells, a notation footer, a test against theory.

Every table of the package (``estimate``, ``train``, ``check``, ``advise``, ``report``, the
splitting summary) goes through :func:`print_table`. Numbers are never cut: each numeric column is
given the width of its widest line, and only the text columns (the first, the row names) wrap, at
spaces, so a redirected output (``rich`` uses 80 columns when stdout is not a terminal) reads the
same as a terminal of 80 columns. A measured probability takes two lines, the value (or the bracket
``[lo, hi]`` when the detector left neurons undecided) above its interval ``(lo, hi)``
(:func:`measured_cell`); :func:`notation` is the footer that says so.

"Consistent with theory?" (:func:`theory_test`) is an exact binomial test (``scipy.stats.binomtest``)
of the count against theory's value: two-sided against a closed form (``=``), one-sided against a
bound (``>=``: small counts are the evidence against it; ``<=``: large ones). When neurons stayed
undecided the count is only known within ``[k_lo, k_hi]``; the p-value is then that of the count in
the bracket that agrees best with theory (the data cannot rule theory out more than that).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import scipy

from jaxnn_nonconv.stats._results import ProbabilityEstimate, complement_shown, format_value

#: The header of the test column of every table.
TEST_HEADER = "consistent with theory?"


def notation(confidence: float = 0.95, interval: str = "Clopper-Pearson") -> str:
    """The footer sentence that explains a measured cell (:func:`measured_cell`).

    >>> notation(0.95)[:58]
    'x (lo, hi): estimate and its 95% Clopper-Pearson interval;'
    """
    return (
        f"x (lo, hi): estimate and its {confidence:.0%} {interval} interval; [lo, hi]: bracket "
        "between the certified and the possible count when the detector left neurons undecided"
    )


def consistency_notation(alpha: float = 0.05) -> str:
    """The footer sentence that explains the test column (:func:`consistency_cell`).

    >>> consistency_notation(0.05)[-16:]
    'no when p < 0.05'
    """
    return (
        "consistent with theory?: exact binomial test of the count against the closed form (=) "
        f"or bound (>=, <=), no when p < {alpha:g}"
    )


def undecided_note(fraction: float | None, mode: str) -> str:
    """The detector footer: which mode and how many neurons it left undecided.

    >>> undecided_note(0.0735, "exact"), undecided_note(0.0, "crown")
    ('detector exact left 7.35% of neurons undecided', 'detector crown decided every neuron')
    """
    if not fraction:
        return f"detector {mode} decided every neuron"
    return f"detector {mode} left {format_value(100 * fraction)}% of neurons undecided"


def theory_test(
    entry: ProbabilityEstimate | Mapping[str, Any], value: float | None, relation: str = "= "
) -> float | None:
    """P-value of an exact binomial test of ``entry``'s count against theory's ``value``.

    Args:
      entry: a proportion with ``count_bracket`` ``(k_lo, k_hi)`` and ``n``.
      value: theory's probability of the event; ``None``: no theory, no test.
      relation: ``"= "`` (closed form: two-sided), ``">= "`` (theory's value is a lower bound:
        ``alternative='less'``) or ``"<= "`` (an upper bound: ``alternative='greater'``).

    Returns:
      The largest p-value over the counts in the bracket (the count most in agreement with
      theory), or ``None`` when there is no value or no count.

    Raises:
      ValueError: an unknown ``relation``.

    >>> round(theory_test({"count_bracket": [30, 30], "n": 100}, 0.5), 6)
    7.9e-05
    >>> theory_test({"count_bracket": [30, 60], "n": 100}, 0.5)
    1.0
    >>> round(theory_test({"count_bracket": [3, 3], "n": 100}, 0.1, ">= "), 4)
    0.0078
    """
    if relation.strip() not in ("=", ">=", "<="):
        raise ValueError(f"relation must be '= ', '>= ' or '<= ', got {relation!r}")
    counts, n = entry.get("count_bracket"), entry.get("n")
    if value is None or counts is None or not n or not math.isfinite(value):
        return None
    p = min(max(float(value), 0.0), 1.0)
    lo, hi = int(counts[0]), int(counts[1])
    rel = relation.strip()
    if rel == ">=":  # evidence against a lower bound is a small count: the largest one is best
        return float(scipy.stats.binomtest(hi, n, p, alternative="less").pvalue)
    if rel == "<=":
        return float(scipy.stats.binomtest(lo, n, p, alternative="greater").pvalue)
    candidates = {lo, hi} | {min(max(k, lo), hi) for k in (math.floor(n * p), math.ceil(n * p))}
    return max(float(scipy.stats.binomtest(k, n, p).pvalue) for k in candidates)


def consistency_cell(p_value: float | None, alpha: float = 0.05) -> str:
    """``yes`` / ``no`` above ``p = ...``; ``—`` without a test.

    >>> consistency_cell(0.4312), consistency_cell(1.2e-05), consistency_cell(None)
    ('yes\\np = 0.43', 'no\\np = 1.2e-05', '—')
    """
    if p_value is None:
        return "—"
    verdict = "no" if p_value < alpha else "yes"
    return f"{verdict}\np = {p_value:.2g}"


def measured_cell(entry: ProbabilityEstimate | Mapping[str, Any], complement: bool = False) -> str:
    """The value (or bracket) above its interval: two lines, each short enough for 80 columns.

    With ``complement`` the complementary event is shown, from the counts.

    >>> from jaxnn_nonconv.stats._results import bracketed, proportion
    >>> print(measured_cell(proportion(3, 8)))
    0.375
    (0.08523, 0.7551)
    >>> print(measured_cell(bracketed(2, 5, 10)))
    [0.2, 0.5]
    (0.02521, 0.8129)
    """
    if entry["estimate"] is None:
        return "n/a"
    if complement:
        lo_b, hi_b = entry["bracket"]
        c0, c1 = entry["ci"]
        if isinstance(entry, ProbabilityEstimate):
            entry = entry.complement()
        else:
            entry = {"bracket": [1 - hi_b, 1 - lo_b], "ci": [1 - c1, 1 - c0]}
    (lo, hi), ci = entry["bracket"], entry["ci"]
    point = format_value(lo) if lo == hi else f"[{format_value(lo)}, {format_value(hi)}]"
    return f"{point}\n({format_value(ci[0])}, {format_value(ci[1])})"


def probability_cells(
    labels: tuple[str, str],
    entry: ProbabilityEstimate | Mapping[str, Any],
    theory_value: float | None = None,
    relation: str = "",
    *,
    test: bool = True,
    alpha: float = 0.05,
) -> tuple[str, str, str, str]:
    """``(quantity, measured, theory, consistent with theory?)`` of one probability.

    Like :func:`~jaxnn_nonconv.stats.table_row` (a probability above 1/2 is shown through the
    complement named by ``labels[1]``, its theory value turned around), with the measured value
    stacked above its interval and the test of :func:`theory_test` (``test=False``: ``—``, where
    the count is not binomial, e.g. neurons of one net pooled).

    >>> from jaxnn_nonconv.stats._results import proportion
    >>> probability_cells(("P(dead)", "P(alive)"), proportion(999_994, 1_000_000), 0.9999938, ">= ")
    ('P(alive)', '6e-06\\n(2.202e-06, 1.306e-05)', '<= 6.2e-06', 'yes\\np = 0.59')
    """
    from jaxnn_nonconv.stats._results import format_bound

    flip = complement_shown(entry) if entry["estimate"] is not None else False
    p = theory_test(entry, theory_value, relation or "= ") if test else None
    return (
        labels[1] if flip else labels[0],
        measured_cell(entry, complement=flip),
        format_bound(theory_value, relation, complement=flip),
        consistency_cell(p, alpha),
    )


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in str(text).split("\n")), default=0)


def print_table(
    title: str,
    caption: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[str] | None],
    console: Any = None,
    *,
    text_columns: int | Sequence[int] = 1,
) -> None:
    """Print a rich table that never cuts a number.

    Args:
      title, caption: above and below the table (wrapped at spaces).
      header: column names.
      rows: cells (strings, ``\\n`` for stacked lines); ``None`` draws a section line.
      console: a ``rich.console.Console`` (default: a new one, 80 columns when not a terminal).
      text_columns: how many leading columns hold text (or their indices); they wrap (at
        spaces, folding a word only when it is wider than the column). Every other column is
        right-aligned at the width of its widest line (header words included), so no number is
        wrapped or cut.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not markup: a bracket such as "[lo, hi]" must print as written.
    t = Table(
        title=Text(title, style="table.title"),
        caption=None if caption is None else Text(caption, style="table.caption"),
        caption_justify="left",
    )
    body = [r for r in rows if r is not None]
    text = range(text_columns) if isinstance(text_columns, int) else text_columns
    for j, name in enumerate(header):
        if j in text:
            t.add_column(Text(name), overflow="fold")
            continue
        words = max((_width(w) for w in name.split()), default=1)
        width = max([words, *(_width(r[j]) for r in body)])
        t.add_column(Text(name), justify="right", width=width, overflow="fold")
    for r in rows:
        if r is None:
            t.add_section()
        else:
            t.add_row(*(Text(str(c)) for c in r))
    (console or Console()).print(t)
