"""The ``python`` blocks of docs/data.md run, in order and in one namespace (scikit-learn's bundled
diabetes and Linnerud data, no download), and their results match what the page says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_page

pytest.importorskip("sklearn")
# Minutes on 2 cores (it trains three settings and compiles the detectors); the fast tests of the
# same properties are tests/cli/test_data_cli.py and tests/estimation/test_on_data.py.
pytestmark = pytest.mark.slow

PAGE = Path(__file__).resolve().parents[2] / "docs" / "data.md"


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    return run_page(PAGE, tmp_path_factory.mktemp("data_page"), "data_page")


def test_diabetes_nets_start_and_end_dead_on_the_data(ns):
    crit = ns["out"].failure.criteria
    assert crit["inactive_on_data_at_init"].estimate == 1.0
    # dead on the box implies dead on the data
    assert crit["inactive_on_data_at_end"].bracket[1] >= crit["inactive_at_end"].bracket[0]
    assert ns["out"].test_risk["median"] > 0 and ns["ds"].n_test == 88
    assert (ns["_work"] / "diabetes.csv").is_file()


def test_zero_bias_families_rarely_start_dead_on_the_data(ns):
    c = ns["c"]
    assert c.zero_bias  # the loop's last family
    on = ns["on"]
    assert on["any_inactive"]["ci"][1] < 0.5


def test_linnerud_is_the_second_data_set(ns):
    assert ns["lin_ds"].n == 20 and ns["lin_ds"].dim == 3
    est = ns["lin_out"].failure.criteria["inactive_on_data_at_init"].estimate
    assert 0 < est < 1 and np.isfinite(ns["lin_out"].empirical_risk["median"])
