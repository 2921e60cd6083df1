"""Deep ``clip`` and ``repu:P`` nets in the detector: interval bounds on a grid, float witnesses.

* Soundness against dense sampling: on random deep nets, every neuron certified dead is ``<= 0``
  in the float network (``nets.hidden_preactivations``, what training evaluates) at 10^4 points
  of the box (a grid with the corners, plus uniform points), every one certified saturated is
  ``>= 1`` there, and every one called active (moving) has a point of the box where it is ``> 0``
  (and ``< 1``): the detector's own probe points, re-evaluated here.
* Constructed nets: layer-2 and layer-3 neurons dead, saturated or moving by construction are
  found (and a dead neuron stays undecided rather than wrong when its maximum is exactly 0).
* Settings: deep ``clip`` / ``repu:P`` nets use ``ibp``; ``exact`` and ``crown`` are refused.

The wiring (first-layer verdicts equal ReLU's, the batched detectors): test_deep_activation_wiring.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.errors import ConfigError

N_DENSE = 10_000
# One compilation per (shapes, grid, activation): eager op-by-op evaluation is the slow part.
_classify_jit = jax.jit(detector.classify_activation, static_argnums=(5, 6))
_preact_jit = jax.jit(nets.hidden_preactivations, static_argnums=2)


def _dense_points(lo: np.ndarray, hi: np.ndarray, seed: int) -> jnp.ndarray:
    """10^4 points of the box: a regular grid (corners included) and uniform points."""
    d = lo.shape[0]
    side = int(np.floor((N_DENSE // 2) ** (1 / d)))
    axes = [np.linspace(lo[j], hi[j], side) for j in range(d)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    uniform = np.random.default_rng(seed).uniform(lo, hi, size=(N_DENSE - grid.shape[0], d))
    return jnp.asarray(np.concatenate([grid, uniform]), jnp.float32)


def _classify(params, lo, hi, activation, grid=None):
    sample = jnp.asarray(detector.sample_points(lo, hi, 64), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)
    grid = grid or detector.default_grid(lo.shape[0])
    st = _classify_jit(
        params,
        jnp.asarray(lo, jnp.float32),
        jnp.asarray(hi, jnp.float32),
        sample,
        probe,
        grid,
        activation,
    )
    return st, jnp.concatenate([sample, probe])


SETTINGS = [  # (arch, box, init, scale): deep d = 1 and d = 2 nets, wide enough to saturate
    ((1, 12, 12, 12, 1), (-1.0, 1.0), "he_normal", 1.0),
    ((1, 16, 16, 1), (-2.0, 2.0), "normal", 1.0),
    ((2, 10, 10, 1), (-1.0, 1.0), "normal", 2.0),
]
FAST = {("1d-depth3", "clip"), ("1d-depth3", "repu:2"), ("2d", "clip")}
CASES = [
    pytest.param(
        activation,
        setting,
        id=f"{name}-{activation}",
        marks=() if (name, activation) in FAST else pytest.mark.slow,
    )
    for name, setting in zip(("1d-depth3", "1d-wide-box", "2d"), SETTINGS)
    for activation in ("clip", "repu:2")
]


@pytest.mark.parametrize(("activation", "setting"), CASES)
def test_certificates_hold_at_dense_points(activation, setting):
    """(The slow cases: a wider box and ``repu:2`` in ``d = 2``; the fast ones cover both
    activations, depth 3 and ``d = 2``.)"""
    arch, (a, b), init, scale = setting
    d = arch[0]
    lo, hi = np.full(d, a), np.full(d, b)
    dense = _dense_points(lo, hi, seed=0)
    n = {"dead": 0, "sat": 0, "active": 0, "moving": 0, "neurons": 0, "unknown": 0}
    for seed in range(3):
        params = nets.init_params(jax.random.key(seed), arch, init, scale=scale)
        st, probes = _classify(params, lo, hi, activation)
        z_dense = _preact_jit(params, dense, activation)
        z_probe = _preact_jit(params, probes, activation)
        for k, (zd, zp) in enumerate(zip(z_dense, z_probe)):
            dead, act = np.asarray(st.inactive[k]), np.asarray(st.active[k])
            sat, below = np.asarray(st.saturated[k]), np.asarray(st.below_one[k])
            zd, zp = np.asarray(zd), np.asarray(zp)
            assert np.all(zd[:, dead] <= 0), (seed, k)
            assert np.all(zd[:, sat] >= 1), (seed, k)
            assert not np.any(dead & act) and not np.any(sat & below)
            assert np.all(np.any(zp[:, act] > 0, axis=0))  # a witness in the box
            if activation == "clip":
                moving = act & below
                # > 0 at one point and < 1 at another: neither dead nor saturated (not frozen)
                lo_hit, hi_hit = np.any(zp > 0, axis=0), np.any(zp < 1, axis=0)
                assert np.all((lo_hit & hi_hit)[moving])
                n["moving"] += int(moving.sum())
            else:
                assert not sat.any() and below.all()
            if k > 0:
                n["dead"] += int(dead.sum())
                n["sat"] += int(sat.sum())
                n["active"] += int(act.sum())
                n["neurons"] += dead.size
                n["unknown"] += int((~dead & ~act).sum())
    # Every verdict is exercised in the deep layers, and few neurons stay undecided.
    assert n["dead"] > 0 and n["active"] > 0
    if activation == "clip":
        assert n["sat"] > 0 and n["moving"] > 0
    assert n["unknown"] <= 0.3 * n["neurons"], n


def _constructed(activation: str):
    """Layer 1: ``act(x), act(-x)`` on ``[-1, 1]``; layer 2: ``s = h1 + h2`` is ``|x|`` (clip,
    relu) or ``x^P`` (repu), in ``[0, 1]``; layer 2 neurons ``s - 2`` (dead, though not by sign),
    ``2.2 - s`` (saturated for clip), ``s - 0.5`` (moving), ``-s`` (dead with maximum exactly 0,
    via the sign closure); layer 3 reads the saturated neuron (exactly 1 for clip): ``0.5 - t``
    (dead) and ``2 t - 0.5`` (saturated)."""
    w1 = jnp.array([[1.0], [-1.0]])
    b1 = jnp.zeros(2)
    w2 = jnp.array([[1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, -1.0]])
    b2 = jnp.array([-2.0, 2.2, -0.5, 0.0])
    w3 = jnp.array([[0.0, -1.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    b3 = jnp.array([0.5, -0.5])
    return ((w1, b1), (w2, b2), (w3, b3), (jnp.ones((1, 2)), jnp.zeros(1)))


def test_constructed_clip_net():
    params = _constructed("clip")
    st, _ = _classify(params, np.array([-1.0]), np.array([1.0]), "clip", grid=64)
    assert np.asarray(st.inactive[1]).tolist() == [True, False, False, True]
    assert np.asarray(st.saturated[1]).tolist() == [False, True, False, False]
    moving = np.asarray(st.active[1] & st.below_one[1])
    assert moving.tolist() == [False, False, True, False]
    assert np.asarray(st.inactive[2]).tolist() == [True, False]
    assert np.asarray(st.saturated[2]).tolist() == [False, True]


@pytest.mark.parametrize("activation", ["repu:2", "repu:4"])
def test_constructed_repu_net(activation):
    params = _constructed(activation)
    st, _ = _classify(params, np.array([-1.0]), np.array([1.0]), activation, grid=64)
    assert np.asarray(st.inactive[1]).tolist() == [True, False, False, True]
    assert np.asarray(st.active[1]).tolist() == [False, True, True, False]
    assert not np.asarray(st.saturated[1]).any()
    # 2.2 - x^P >= 1.2 > 0 feeds layer 3 as (2.2 - x^P)^P in [1.2^P, 2.2^P]: 0.5 - t is dead.
    assert np.asarray(st.inactive[2]).tolist() == [True, False]


def test_saturation_touching_one_is_not_certified():
    """``1 + s`` with ``s = clip(x) + clip(-x) = |x|`` touches 1 at ``x = 0``: saturated (``>= 1``)
    in real arithmetic, but the bound keeps a rounding margin; ``1.01 + s`` is certified."""
    w1, b1 = jnp.array([[1.0], [-1.0]]), jnp.zeros(2)
    w2, b2 = jnp.array([[1.0, 1.0], [1.0, 1.0]]), jnp.array([1.0, 1.01])
    params = ((w1, b1), (w2, b2), (jnp.ones((1, 2)), jnp.zeros(1)))
    st, _ = _classify(params, np.array([-1.0]), np.array([1.0]), "clip", grid=64)
    assert np.asarray(st.saturated[1]).tolist() == [False, True]


def test_settings_for_deep_activations():
    deep, shallow = (1, 8, 8, 1), (1, 8, 1)
    assert detector.for_activation(detector.DetectorSettings(), "clip", deep).mode == "ibp"
    assert detector.for_activation(detector.DetectorSettings(), "clip", shallow).mode == "auto"
    assert detector.for_activation(detector.DetectorSettings(), "relu", deep).mode == "auto"
    with pytest.raises(ConfigError, match="models ReLU only"):
        detector.for_activation(detector.DetectorSettings(mode="crown"), "repu:2", deep)
