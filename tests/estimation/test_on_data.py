"""Inactivity on the training points (detector._on_data, estimation._on_data): never wrong
against brute force in float64, and in d = 1 the first layer's P(dead on the data) equals the
closed form on [min x, max x] (arXiv 2402.05155 Lemma 3.1)."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.stats import theory
from tests import helpers


def _brute(params, x):
    """Per hidden layer: max over the points of each pre-activation, in float64 NumPy."""
    a, out = np.asarray(x, np.float64), []
    for w, b in params[:-1]:
        z = a @ np.asarray(w, np.float64).T + np.asarray(b, np.float64)
        out.append(z.max(0))
        a = np.maximum(z, 0)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_certificate_agrees_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    arch = (3, 8, 6, 1)
    params = tuple(
        (
            rng.normal(size=(o, i)).astype(np.float32),
            (rng.normal(size=o) - rng.uniform(0, 2)).astype(np.float32),
        )
        for i, o in zip(arch[:-1], arch[1:])
    )
    x = rng.normal(size=(40, 3)).astype(np.float32)
    c = detector.classify_on_data(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params), x)
    lo, up = detector.data_bounds(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params), x)
    for k, zmax in enumerate(_brute(params, x)):
        inactive, active = np.asarray(up[k]) <= 0, np.asarray(lo[k]) > 0
        assert np.all(zmax[inactive] <= 0) and np.all(zmax[active] > 0)  # never wrong
        # ... and decided wherever the float64 value is not within rounding of 0
        far = np.abs(zmax) > 1e-3
        assert np.all((inactive | active)[far])
        assert int(c.inactive[k]) == int(inactive.sum())


def test_counts_on_data_of_constructed_nets():
    """The nets of tests/helpers.py: layer-1 neurons 0, 1 and layer-2 neurons 0, 1 dead on the
    box [-1, 1]^3, so on any points inside it; the others fire only near their corners."""
    params = helpers.constructed(3)
    theta = np.asarray(nets.to_flat(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)))
    corners = np.sign(params[0][0][2:])  # where layer-1 neurons 2..5 fire
    x = np.vstack([np.random.default_rng(0).uniform(-1, 1, (30, 3)), corners])
    c = estimation.counts_on_data(theta[None], (3, 6, 5, 1), x)
    assert c["inactive"].tolist() == [[2, 2]] and not c["dead_layer"][0]
    # without the corners, the neurons alive only there are dead on the data
    c = estimation.counts_on_data(theta[None], (3, 6, 5, 1), x[:30])
    want = [int((z <= 0).sum()) for z in _brute(params, x[:30].astype(np.float32))]
    assert c["inactive"][0].tolist() == want and want[0] > 2


def test_first_layer_on_the_data_is_the_closed_form_on_min_max():
    x = np.random.default_rng(1).uniform(0.3, 1.7, (25, 1))
    cfg = engine.TrainConfig(arch=(1, 8, 1), init="pytorch").validate()
    out = estimation.data_at_init(cfg, 3000, x, seed=2, confidence=0.999)
    p = theory.first_layer_p("pytorch", ((float(x.min()), float(x.max())),))
    first = out["first_layer_neuron_inactive"]
    assert first["theory"] == p and first["bracket"][0] == first["bracket"][1]
    assert helpers.within(p, first["ci"])
    # ... and far from the closed form on the wider box [0, 2]
    assert not helpers.within(theory.first_layer_p("pytorch", ((0.0, 2.0),)), first["ci"])
