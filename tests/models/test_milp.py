"""Exact completion by mixed-integer programs: never a wrong certificate.

A planted neuron whose maximum (``-1e-10``) is far inside the solver's tolerance and the float32
network's rounding must stay undecided (the solver's bound alone cannot tell it from 0); in
float64 the same neuron is provably dead (rounding is far below 1e-10) and must be found so; on
random small nets every neuron the completion decides is checked by brute force on a dense sample
of the box.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxnn_nonconv import models
from jaxnn_nonconv.models import _milp as milp

pytest.importorskip("scipy.optimize")


def planted(dtype=np.float32):
    """Layer 2, neuron 0: relu(x) - relu(x) - 1e-10 (max -1e-10); neuron 1: relu(x) - 0.5."""
    w1 = np.array([[1.0], [1.0]])
    b1 = np.zeros(2)
    w2 = np.array([[1.0, -1.0], [1.0, 0.0]])
    b2 = np.array([-1e-10, -0.5])
    w3 = np.ones((1, 2))
    return tuple((w.astype(dtype), b.astype(dtype)) for w, b in ((w1, b1), (w2, b2), (w3, b1[:1])))


def test_planted_solver_tolerance_case_stays_undecided():
    assert list(models.check(planted(np.float64), [(-1.0, 1.3)]).layers[1].inactive) == [0]
    params = planted()
    r = models.check(params, [(-1.0, 1.3)], complete=True)
    assert r.detector["complete"] is True
    layer = r.layers[1]
    assert 0 in layer.unknown and 0 not in layer.inactive
    assert 1 in layer.active
    # The solver's own bound is within its tolerance of 0: no certificate from it.
    lower = [np.array([-1.0, -1.0]), np.array([-2.0, -1.5])]
    upper = [np.array([1.0, 1.0]), np.array([1.0, 0.5])]
    lo, hi = np.array([-1.0]), np.array([1.0])
    bound, _ = milp.max_preactivation(params, lo, hi, lower, upper, 1, 0)
    assert bound > -milp.margin(params, np.ones(1), lower, upper, 1, 0)


def preacts(params, x):
    out, h = [], x
    for w, b in params[:-1]:
        z = h @ w.T + b
        out.append(z)
        h = np.maximum(z, 0)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_completion_is_sound_on_random_nets(seed):
    """Slow (new compilations and solver time); the fast test_planted_solver_tolerance_case_stays_
    undecided covers the margin rule."""
    rng = np.random.default_rng(seed)
    arch = (3, 8, 8, 8, 1)
    params = tuple(
        (rng.normal(size=(o, i)) / np.sqrt(i), rng.normal(size=o) * 0.3)
        for i, o in zip(arch[:-1], arch[1:], strict=True)
    )
    box = [(-1.0, 1.0), (0.0, 0.0), (-0.5, 1.0)]  # a zero-width coordinate too
    plain = models.check(params, box)
    full = models.check(params, box, complete=True, complete_time=1.0)
    lo, hi = np.array(box).T
    x = rng.uniform(lo, hi, (200000, 3))
    for a, b, z in zip(plain.layers, full.layers, preacts(params, x), strict=True):
        assert set(a.inactive) <= set(b.inactive) and set(a.active) <= set(b.active)
        assert len(b.unknown) <= len(a.unknown)
        assert np.all(z[:, list(b.inactive)] <= 0)
        for j in b.active:
            w = np.array(b.witness[j])
            assert np.all(w >= lo) and np.all(w <= hi)
            assert preacts(params, w[None, :])[b.layer - 1][0, j] > 0
