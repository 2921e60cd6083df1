"""Per-neuron results of ``check``: bounds, witnesses, always-active neurons, constant on the data;
zero-width boxes and VNN-LIB boxes.

Checked against brute force: the float network evaluated (NumPy) at many points of the box must
stay inside the certified bounds, be positive at each witness, and be positive everywhere for an
always-active neuron; the neurons of :func:`tests.helpers.constructed` that are positive on the
whole box by construction (layer 2, neurons 2 and 3) must be found always active.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxnn_nonconv import models
from tests.helpers import constructed

D = 3


def preacts(params, x):
    """NumPy pre-activations of every hidden layer at ``x: (n, d)``, float64 arithmetic."""
    out, h = [], x
    for w, b in params[:-1]:
        z = h @ w.astype(np.float64).T + b.astype(np.float64)
        out.append(z)
        h = np.maximum(z, 0)
    return out


@pytest.fixture(scope="module")
def result():
    params = constructed(D)
    return params, models.check(params, [(-1.0, 1.0)] * D)


def test_bounds_contain_sampled_preactivations_and_witnesses_are_positive(result):
    params, r = result
    x = np.random.default_rng(0).uniform(-1, 1, (20000, D))
    x = np.concatenate([x, np.sign(x[:64])])  # corners too
    for layer, z in zip(r.layers, preacts(params, x), strict=True):
        lo, hi = np.array(layer.lower), np.array(layer.upper)
        tol = 1e-5 * (1 + np.abs(z).max())  # NumPy's float64 vs the float32 network
        assert np.all(z >= lo - tol) and np.all(z <= hi + tol)
        for j in layer.inactive:
            assert hi[j] <= 0
        for j in layer.active:
            w = layer.witness[j]
            assert w is not None
            assert np.all(np.abs(w) <= 1)
        assert all(layer.witness[j] is None for j in layer.inactive)
    # Witnesses are positive in the network's float32 arithmetic.
    import jax.numpy as jnp

    from jaxnn_nonconv.core import nets

    pj = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    for k, layer in enumerate(r.layers):
        for j in layer.active:
            z = nets.hidden_preactivations(pj, jnp.asarray([layer.witness[j]], jnp.float32))[k]
            assert float(z[0, j]) > 0


def test_always_active_is_found_and_holds(result):
    params, r = result
    assert list(r.layers[1].always_active) == [2, 3]  # w, b > 0 on post-ReLU inputs
    x = np.random.default_rng(1).uniform(-1, 1, (20000, D))
    for layer, z in zip(r.layers, preacts(params, x), strict=True):
        for j in layer.always_active:
            assert layer.lower[j] > 0 and np.all(z[:, j] > 0)
    d = r.to_dict()["layers"][1]
    assert d["always_active"] == [2, 3] and len(d["bounds"]) == 5 and len(d["witness"]) == 5


@pytest.mark.slow
def test_constant_on_data_while_not_constant_on_the_box():
    """Slow (two data domains: two more compilations); the doctest of
    ``jaxnn_nonconv.models._neurons.constant_on`` covers the flag fast."""
    params = constructed(D)
    # Layer-1 neurons fire only near corners: data near the center fires none of them.
    x = np.random.default_rng(2).uniform(-0.05, 0.05, (200, D))
    r = models.check(params, models.from_data(x, pad=0.0))
    assert r.constant_on_data is True
    assert all(len(layer.never_fired) == layer.width for layer in r.layers[:1])
    corners = np.sign(params[0][0][2:]).astype(np.float64)  # where layer-1 neurons 2..5 fire
    wide = models.check(params, models.from_data(np.concatenate([x, corners])))
    assert wide.constant_on_data is False
    assert models.check(params, [(-1.0, 1.0)] * D).constant_on_data is None  # no data


def test_zero_width_coordinate_is_a_box_like_any_other():
    params = constructed(D)
    point = [(-1.0, 1.0), (0.0, 0.0), (-1.0, 1.0)]
    r = models.check(params, point)
    x = np.random.default_rng(3).uniform(-1, 1, (20000, D))
    x[:, 1] = 0.0
    for layer, z in zip(r.layers, preacts(params, x), strict=True):
        assert np.all(z.max(0)[list(layer.inactive)] <= 0)
        for j in layer.active:
            assert layer.witness[j][1] == 0.0


def test_vnnlib_box_agrees_with_box(tmp_path):
    pytest.importorskip("vnnlib")
    params = constructed(D)
    text = "; a property\n" + "".join(f"(declare-const X_{j} Real)\n" for j in range(D))
    text += "(declare-const Y_0 Real)\n(assert (<= X_0 1.0))\n(assert (>= X_0 -1.0))\n"
    text += "(assert (<= X_1 0.0))\n(assert (>= X_1 0.0))\n"
    text += "(assert (or (and (<= X_2 1.0) (>= X_2 0.0)) (and (<= X_2 0.0) (>= X_2 -1.0))))\n"
    text += "(assert (<= Y_0 0.0))\n"
    (tmp_path / "p.vnnlib").write_text(text)
    doms = models.read_vnnlib(tmp_path / "p.vnnlib")
    boxes = sorted(d.box for d in doms)
    assert boxes == [((-1.0, 1.0), (0.0, 0.0), (-1.0, 0.0)), ((-1.0, 1.0), (0.0, 0.0), (0.0, 1.0))]
    for dom in doms:
        a = models.check(params, dom)
        b = models.check(params, dom.box)
        for la, lb in zip(a.layers, b.layers, strict=True):
            assert (la.inactive, la.active, la.unknown) == (lb.inactive, lb.active, lb.unknown)
