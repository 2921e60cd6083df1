"""``DetectorSettings(refine_for="events")`` (what ``advise`` uses): branch and bound only on the
networks whose two events are undecided gives, trial by trial, the same "some neuron inactive"
and "network constant" brackets as the full refinement, and never a certificate the full one
lacks (it only seeks fewer)."""

import numpy as np
import pytest

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.errors import ConfigError


def _counts(refine_for):
    cfg = engine.TrainConfig(
        arch=(3, 8, 8, 1), init="pytorch", problem=problems.Problem("x^2", ((-0.2, 0.3),) * 3)
    ).validate()
    settings = detector.DetectorSettings(mode="crown", refine_for=refine_for)
    return estimation.counts_at_init(cfg, 256, chunk_size=256, settings=settings, progress=False)


@pytest.mark.slow
def test_events_refinement_keeps_the_events_of_the_full_one():
    """Slow (two branch-and-bound programs compiled); no fast test compiles them: the property is
    checked here only, and ``advise``'s own tests run the events mode."""
    full, events = _counts("neurons"), _counts("events")
    for c in (full, events):
        c["any"] = c["inactive"].sum(1) > 0
        c["any_possible"] = (c["inactive"] + c["unknown"]).sum(1) > 0
    for key in ("any", "any_possible", "dead_layer", "dead_layer_possible"):
        np.testing.assert_array_equal(full[key], events[key], err_msg=key)
    assert np.all(events["inactive"] <= full["inactive"])  # fewer sought, none invented
    assert events["unknown"].sum() > full["unknown"].sum()  # the test is not vacuous


def test_refine_for_is_checked():
    with pytest.raises(ConfigError, match="refine_for"):
        detector.DetectorSettings(refine_for="all")
