"""The ``python`` blocks of docs/your-model.md run, in order and in one namespace (PyTorch training
on scikit-learn's bundled diabetes data with the training monitor, ``check``, the CLI, the JAX
monitor), and their results match what the page says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.pages import pagerun

pytest.importorskip("torch")
pytest.importorskip("sklearn")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "your-model.md"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return pagerun.run_page(PAGE, tmp_path_factory.mktemp("your_model"))


@pytest.fixture(scope="module")
def ns(run):
    return run.namespace


def test_shown_outputs_are_the_run_s(run):
    """Every output the page shows is what its block prints now (numbers within the page's
    tolerance; the `advise` table is `slow`: tests/pages/test_docs_pages.py); `make docs-outputs`
    rewrites them."""
    assert sum(b.output is not None for b in run.blocks) >= 5
    assert pagerun.differences(run) == []
    assert set(pagerun.figures(run)) == {"your-model-dead-neurons.png"}


def test_monitor_history_dead_neurons_appear_and_never_come_back(ns):
    hist = ns["mon"].history
    assert [r["step"] for r in hist] == list(range(0, 601, 50))
    first = np.array([r["inactive"][0] for r in hist])
    assert np.all(np.diff(first) >= 0)  # first-layer dead neurons are permanent
    total = np.array([sum(r["inactive"]) for r in hist])
    assert total[-1] > total[0]  # some die during training


def test_check_matches_monitor_and_data(ns):
    result, hist = ns["result"], ns["mon"].history
    # check adds certificates to the monitor's detector (grid bounds, witness search): never fewer.
    for layer, n_dead, n_unknown in zip(
        result.layers, hist[-1]["inactive"], hist[-1]["unknown"], strict=True
    ):
        assert len(layer.inactive) >= n_dead
        assert len(layer.unknown) <= n_unknown  # the data points are extra witnesses
    for layer in result.layers:
        assert set(layer.inactive) <= set(layer.never_fired)
    l1 = result.layers[0]
    assert l1.permanent == l1.inactive
    assert len(l1.never_fired) > len(l1.inactive)  # the finite-batch count over-reports here
    assert 0 < result.frozen_parameter_fraction < 1 and result.constant is False


def test_cli_and_jax_monitor(ns):
    assert ns["rc"] == 0
    assert set(ns["out"]) >= {"layers", "constant", "frozen_parameter_fraction", "domain"}
    dead = np.asarray(ns["dead"])
    assert dead.shape == (2,) and dead[0] >= int(
        ns["mon_jax"](
            ns["nets"].init_params(ns["jax"].random.key(0), (10, 32, 32, 1), init="pytorch")
        ).inactive[0]
    )


def test_page_has_the_figure():
    text = PAGE.read_text()
    assert "figures/your-model-dead-neurons.png" in text
    assert (PAGE.parent / "figures" / "your-model-dead-neurons.png").is_file()


def test_equinox_block(ns):
    from jaxnn_nonconv import models

    r = models.check(ns["mlp"], ns["dom"])
    assert [len(layer.inactive) for layer in r.layers] == [4, 6]
