"""Deep ``clip`` and ``repu:P`` nets through the detector's front doors.

* ``repu:P`` (and ``clip``) first-layer verdicts are ReLU's (the first layer is affine in the
  input whatever the activation);
* with ``relu``, the activation-aware interval bounds are the ReLU detector's own, bit for bit;
* ``detect_flat`` (``make_detector``, batched) agrees with
  :func:`~jaxnn_nonconv.detector.classify_neurons` net by net, whatever the rows around a net.

Soundness and constructed nets: test_deep_activations.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets


@pytest.mark.parametrize("activation", ["repu:2", "clip"])
def test_first_layer_verdicts_are_relus(activation):
    arch, lo, hi = (2, 16, 8, 1), np.array([-1.0, 0.0]), np.array([1.0, 2.0])
    sample = jnp.asarray(detector.sample_points(lo, hi, 64), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)
    ibp = detector.DetectorSettings(mode="ibp")
    args = (jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32), sample)
    relu_fn = jax.jit(lambda p: detector.classify_neurons(p, *args, probe=probe, settings=ibp))
    other_fn = jax.jit(
        lambda p: detector.classify_neurons(
            p, *args, probe=probe, settings=ibp, activation=activation
        )
    )
    for seed in range(3):
        params = nets.init_params(jax.random.key(seed), arch, "normal")
        relu, other = relu_fn(params), other_fn(params)
        assert np.array_equal(relu.inactive[0], other.inactive[0])
        assert np.array_equal(relu.active[0], other.active[0])


def test_relu_intervals_match_the_relu_ibp():
    """With ``relu``, :func:`detector.ibp_bounds` gives the ReLU detector's own IBP bounds."""
    params = nets.init_params(jax.random.key(3), (1, 8, 8, 1), "he_normal")
    lo, hi = jnp.array([-1.0]), jnp.array([1.0])
    _, ups = jax.jit(detector.ibp_bounds, static_argnums=(3, 4))(params, lo, hi, 16, "relu")
    for a, b in zip(ups, jax.jit(detector.ibp_upper, static_argnums=3)(params, lo, hi, 16)):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_batched_detectors_agree_with_classify_neurons():
    arch, box = (1, 8, 8, 1), ((-1.0, 1.0),)
    keys = jax.random.split(jax.random.key(7), 6)
    theta = jax.vmap(lambda k: nets.to_flat(nets.init_params(k, arch, "he_normal")))(keys)
    ibp = detector.DetectorSettings(mode="ibp", grid=32)
    whole = detector.detect_flat(theta, arch, box, settings=ibp, activation="clip")
    lo, hi = np.array([-1.0]), np.array([1.0])
    sample = jnp.asarray(detector.sample_points(lo, hi, 64), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)
    args = (jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32), sample)
    classify = jax.jit(
        lambda p: detector.classify_neurons(p, *args, probe=probe, settings=ibp, activation="clip")
    )
    for i in range(6):
        c = detector.counts(classify(nets.from_flat(theta[i], arch)), i)
        assert np.array_equal(np.asarray(c.inactive), np.asarray(whole.inactive[i]))
        assert np.array_equal(np.asarray(c.unknown), np.asarray(whole.unknown[i]))
    rows = np.array([5, 4, 3, 5, 4, 3])  # other rows in the batch (same shape): same verdicts
    part = detector.detect_flat(
        theta[rows], arch, box, trials=rows, settings=ibp, activation="clip"
    )
    assert np.array_equal(np.asarray(part.inactive), np.asarray(whole.inactive[rows]))
