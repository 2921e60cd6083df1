"""Exact zeros in ``d > 1`` (issue 24): a neuron that is exactly 0 on part of the box, because
the inputs it weighs positively are exactly 0 there, is inactive in every mode, not undecided.

The net, on ``[0, 1]^2``: ``A = relu(x_1 - x_2)``, ``B = relu(-x_1 - x_2)`` (zero bias: 0 on the
whole box, its maximum 0 at the corner ``0``), and ``y = -A + 2 B``: ``y = -A <= 0``, exactly 0 on
the half ``x_1 <= x_2``, in real and in float arithmetic (by sign: ``B`` is exactly 0, ``-A <= 0``).
Every rounding margin at a point of that half makes ``y`` undecided; the exact sign argument
(:func:`jaxnn_nonconv.detector.dead_inputs_closure`) decides it.
"""

import jax
import jax.numpy as jnp
import pytest

from jaxnn_nonconv import detector

PARAMS = (
    (jnp.array([[1.0, -1.0], [-1.0, -1.0]]), jnp.zeros(2)),
    (jnp.array([[-1.0, 2.0]]), jnp.zeros(1)),
    (jnp.ones((1, 1)), jnp.zeros(1)),
)


@pytest.mark.parametrize("mode", ["exact", "crown"])
def test_exact_zero_region_is_inactive(mode):
    """Before: undecided in the exact and crown modes (ibp decided this net by its grid)."""
    lo, hi = jnp.zeros(2), jnp.ones(2)
    sample = jnp.array([[0.25, 0.75], [0.75, 0.25], [0.5, 0.5]])
    settings = detector.DetectorSettings(mode=mode)
    st = jax.jit(
        lambda p: detector.classify_neurons(p, lo, hi, sample, settings=settings, refine=False)
    )(PARAMS)
    assert st.inactive[0].tolist() == [False, True] and st.active[0].tolist() == [True, False]
    assert st.inactive[1].tolist() == [True] and st.active[1].tolist() == [False]
