"""Every command's table at 80 columns (what a redirected output gets): no line wider than 80, no
ellipsis, every number of every cell whole on one line, the notation explained in the footer, the
detector's undecided neurons counted there; the "consistent with theory?" test against scipy.

The summaries are built by hand in the JSON layout of each command, with the widest numbers the
formats produce (brackets of tiny probabilities, long layer names, wide architectures), so the
tests need no compilation.
"""

import io
import math
import re

import pytest
from rich.console import Console
from scipy import stats as sps

from jaxnn_nonconv import estimation, models, rare, stats
from jaxnn_nonconv.experiments import report
from jaxnn_nonconv.models._check import LayerCheck  # built by hand: no model to load

WIDTH = 80
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def _render(printer, summary) -> str:
    buf = io.StringIO()
    printer(summary, Console(file=buf, width=WIDTH, force_terminal=False, color_system=None))
    return buf.getvalue()


def _numbers(entry) -> list[str]:
    """The numbers a measured cell shows: bracket ends (or the value) and interval ends."""
    cell = stats.measured_cell(entry, complement=stats.complement_shown(entry))
    return NUMBER.findall(cell)


def _assert_readable(text: str, numbers=()) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, text
    assert "…" not in text, text
    tokens = {t for line in lines for t in NUMBER.findall(line)}
    for n in numbers:  # whole on one line: a wrapped or cut number is not a token of any line
        assert n in tokens, (n, text)


def _wilson(k, n):
    """A report entry: ``ci`` is the Wilson interval (experiments.report)."""
    return stats.json_entry(stats.proportion(k, n), interval="wilson")


def _entry(k_lo, k_hi, n, **extra):
    return stats.bracketed(k_lo, k_hi, n).with_extra(**extra).to_dict()


CONFIG = {
    "arch": [1, 64, 64, 64, 1],
    "init": "glorot_uniform",
    "zero_bias": True,
    "problem": {"target": "x^2", "box": [[-1.0, 5.0]]},
    "optimizer": "adam",
    "learning_rate": 0.001,
    "steps": 1000,
}


def _estimate_summary(unknown=0.0735):
    layer2 = _entry(3, 1_999_993, 2_000_000, layer=2, width=64)
    layer2["sign_dead"] = _entry(7, 7, 128_000_000, theory=6.205e-06)
    return {
        "config": CONFIG,
        "trials": 2_000_000,
        "confidence": 0.95,
        "detector": {"mode": "exact"},
        "wall_s": 1234.5,
        "first_layer_neuron_inactive": _entry(7, 7, 128_000_000, theory=6.205e-08),
        "inactive_fraction_per_layer": [{}, layer2, layer2],
        "any_inactive": _entry(1_999_981, 1_999_999, 2_000_000, bound=0.9999938),
        "constant_network": _entry(13, 1_999_987, 2_000_000, lower_bound=6.842e-17),
        "unknown_fraction": unknown,
    }


def _train_summary():
    failure = {
        "risk_gap": {**_entry(13, 13, 2000), "tol": 0.001},
        "inactive_at_end": _entry(1999, 1999, 2000, bound=0.9999937949),
        "constant_at_end": _entry(1, 1, 2000, bound=6.842e-17),
        "inactive_at_init": _entry(1999, 2000, 2000, bound=0.9999937949),
    }
    return {
        "config": CONFIG,
        "trials": 2000,
        "confidence": 0.95,
        "wall_s": 8.34,
        "failure": failure,
        "risk": {"min": 0.00293509, "q05": 0.00491392, "median": 0.00945196, "max": 0.068938},
        "risk_exact": {"min": 0.00296367, "median": 0.00948052},
        "best_risk": 0.00296367,
        "levels": {"constant": 1.42222, "affine": 0.0888889},
        "fraction_at_or_below_constant_level": 0.999,
        "diverged": 0,
    }


def test_estimate_table_fits_80_columns_and_explains_itself():
    s = _estimate_summary()
    text = _render(estimation.print_summary, s)
    numbers = [n for k in ("any_inactive", "constant_network") for n in _numbers(s[k])]
    _assert_readable(text, [*numbers, *_numbers(s["inactive_fraction_per_layer"][1])])
    flat = " ".join(text.split())
    assert "[lo, hi]: bracket" in flat and "95% Clopper-Pearson interval" in flat
    assert "detector exact left 7.35% of neurons undecided" in flat  # not "detector exact"
    assert "consistent with theory?" in flat


def test_train_table_fits_80_columns():
    s = _train_summary()
    text = _render(estimation.print_train, s)
    _assert_readable(text, [n for e in s["failure"].values() for n in _numbers(e)] + ["6.205e-06"])
    assert "[lo, hi]: bracket" in " ".join(text.split())


def test_advise_table_fits_80_columns_two_lines_per_row():
    row = {
        "init": "glorot_uniform",
        "zero_bias": True,
        "any_inactive": _entry(3, 1997, 2000),
        "constant_network": _entry(0, 1233, 2000),
        "restarts": {"bracket": [1, None], "interval": [1, None]},
        "rank": 13,
    }
    out = {
        "arch": [10, 32, 32, 1],
        "box": [[-0.11, 0.2]] * 10,
        "trials": 2000,
        "confidence": 0.95,
        "success": 0.95,
        "rows": [row] * 3,
        "wall_s": 60.2,
    }
    text = _render(models.print_advice, out)
    _assert_readable(text, ["0.0015", "0.9985", "0.6165"])
    body = [ln for ln in text.splitlines() if ln.startswith("│")]
    assert len(body) == 2 * 3  # value over interval, never four lines


def test_check_table_fits_80_columns_and_counts_undecided():
    layer = LayerCheck(
        layer=1,
        name="encoder.layers.0.feed_forward.linear1",
        width=4096,
        inactive=tuple(range(100)),
        active=tuple(range(3000)),
        unknown=tuple(range(996)),
        permanent=(),
        active_fraction=(0.5,) * 4096,
    )
    result = models.CheckResult(
        layers=(layer, layer),
        constant=None,
        frozen_parameter_fraction=0.0244,
        frozen_parameters=12345678,
        num_parameters=505050505,
        domain=models.from_box([(-1.0, 1.0)] * 3),
        arch=(3, 4096, 4096, 1),
        source="pytorch",
        dtype="float32",
        detector={"mode": "crown"},
    )
    text = _render(models.print_result, result)
    _assert_readable(text, ["4096", "3000", "996", "12345678", "505050505"])
    assert "left 24.32% of neurons undecided (1992 of 8192)" in " ".join(text.split())


def test_splitting_table_fits_80_columns():
    e = {
        "log10_estimate": -400.15,
        "log10_bracket": [-400.2, -400.1],
        "log10_ci": [-400.3, -400.0],
        "log10_upper_bound": -399.5,
        "initializations_needed": {"log10_K": 399.85},
    }
    s = {
        "config": CONFIG,
        "replicates": 8,
        "particles": 2048,
        "confidence": 0.95,
        "wall_s": 12.0,
        "not_constant": e,
        "no_inactive": e,
    }
    _assert_readable(_render(rare.print_splitting, s), ["6.3e-401", "7.9e-401", "5.0e-401"])


def test_report_table_fits_80_columns_one_block_per_cell():
    def row(label, depth):
        return {
            "label": label,
            "depth": depth,
            "theory_p": 0.3125,
            "theory_no_inactive_bound": 6.205e-06,
            "theory_constant_lower_bound": 6.842e-17,
            "inactive_at_init": _wilson(1999, 2000),
            "constant_at_init": _wilson(0, 2000),
            "success": _wilson(13, 2000),
            "fail": _wilson(1987, 2000),
            "not_global": _wilson(1990, 2000),
            "mechanism_bound": 0.9999938,
            "risk_median": 0.00945196,
        }

    labels = ["width=1024 optimizer=adam", "width=1024 optimizer=nesterov"]
    summary = {
        "experiment": "shallow_width",
        "kind": "width",
        "claim": "P(success) <= (1-p)^H: training fails with high probability",
        "rows": [row(labels[0], 1), row(labels[1], 2)],
        "extra": {},
        "cells_done": 2,
        "cells_total": 2,
        "figures": ["figures/shallow_width.png"],
    }
    buf = io.StringIO()
    console = Console(file=buf, width=WIDTH, force_terminal=False, color_system=None)
    report.print_summary(summary, console)
    text = buf.getvalue()
    _assert_readable(text, ["0.0005", "6.205e-06", "0.0065"])
    words = set(text.split())
    for label in labels:  # the first column never hides which cell a row is: words kept whole
        assert set(label.split()) <= words, label


@pytest.mark.parametrize(
    ("k_lo", "k_hi", "n", "value", "relation"),
    [
        (30, 30, 100, 0.5, "= "),
        (3, 3, 100, 0.1, ">= "),
        (20, 20, 100, 0.1, "<= "),
        (30, 60, 100, 0.5, "= "),
        (3, 9, 100, 0.2, ">= "),
        (0, 0, 2000, 6.205e-06, "= "),
    ],
)
def test_theory_test_is_scipy_binomtest_at_the_best_count(k_lo, k_hi, n, value, relation):
    """The p-value is the largest one over the counts of the bracket (brute force here)."""
    alternative = {"= ": "two-sided", ">= ": "less", "<= ": "greater"}[relation]
    want = max(
        sps.binomtest(k, n, value, alternative=alternative).pvalue for k in range(k_lo, k_hi + 1)
    )
    got = stats.theory_test({"count_bracket": [k_lo, k_hi], "n": n}, value, relation)
    assert math.isclose(got, want, rel_tol=1e-12)


def test_theory_test_says_no_when_the_closed_form_is_far():
    e = stats.proportion(400, 1000).to_dict()
    p = stats.theory_test(e, 0.3125, "= ")
    assert p < 1e-6 and stats.consistency_cell(p).startswith("no")
    assert stats.theory_test(e, None) is None and stats.consistency_cell(None) == "—"
