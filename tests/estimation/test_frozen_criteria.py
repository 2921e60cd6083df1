"""``train`` criteria of ``clip`` nets: ``frozen_at_init`` / ``frozen_at_end`` (dead or saturated).

* :func:`estimation.frozen_counts_of_params` brackets the frozen neurons found by dense sampling:
  for one hidden layer in ``d = 1`` the pre-activation is affine, so a neuron is frozen on the box
  exactly when it is ``<= 0`` (or ``>= 1``) at both ends, and the grid decides it; deep nets:
  certified ``<=`` sampled (sampling can only over-report frozen neurons).
* ``train --activation clip --json``: both criteria next to the inactive ones, with the bound
  ``1 - (1 - p_frozen)^H``; with one hidden layer the first-layer neurons are independent, so
  P(some neuron frozen at init) *equals* the bound, and its 99.9% interval must contain it.
* ReLU nets have no such criteria.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import estimation
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.stats import frozen
from tests import helpers


def _sampled_frozen(theta, arch, lo, hi):
    x = jnp.linspace(lo, hi, 4001, dtype=jnp.float32)[:, None]

    def one(t):
        zs = nets.hidden_preactivations(nets.from_flat(t, arch), x, "clip")
        return sum(jnp.sum(jnp.all(z <= 0, 0) | jnp.all(z >= 1, 0)) for z in zs)

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(theta)))


@pytest.mark.parametrize("arch", [(1, 16, 1), (1, 8, 8, 1)])
def test_frozen_counts_bracket_dense_sampling(arch):
    keys = jax.random.split(jax.random.key(1), 8)
    theta = np.asarray(jax.vmap(lambda k: nets.to_flat(nets.init_params(k, arch, "normal")))(keys))
    f, p = estimation.frozen_counts_of_params(theta, arch, ((-1.0, 1.0),))
    sampled = _sampled_frozen(theta, arch, -1.0, 1.0)
    assert np.all(f <= sampled)
    if len(arch) == 3:  # affine: the ends decide, so the sample is exact
        assert np.all(sampled <= p)
        assert np.array_equal(f, sampled)
    assert f.sum() > 0


def test_train_clip_frozen_criteria_and_bound():
    box, width, trials = (-1.0, 1.0), 2, 400
    out = helpers.cli_json(
        [
            "train", "--arch", f"1,{width},1", "--activation", "clip", f"--box={box[0]}:{box[1]}",
            "--init", "normal", "--steps", "2", "--trials", str(trials), "--confidence", "0.999",
            "--json",
        ]
    )  # fmt: skip
    fail = out["failure"]
    p = frozen.p_frozen("normal", [box], width=width)
    bound = 1 - (1 - p) ** width
    for name in ("frozen_at_init", "frozen_at_end"):
        assert fail[name]["bound"] == pytest.approx(bound)
        assert fail[name]["count"] >= fail[name.replace("frozen", "inactive")]["count"]
    lo, hi = fail["frozen_at_init"]["ci"]
    assert lo <= bound <= hi  # one hidden layer: the probability is the bound itself
    assert out["theory"]["any_frozen_lower_bound"] == pytest.approx(bound)


@pytest.mark.slow
def test_relu_train_has_no_frozen_criteria():
    """(Slow: a second training run; the fast test above covers the clip criteria.)"""
    out = helpers.cli_json(["train", "--arch", "1,2,1", "--steps", "2", "--trials", "8", "--json"])
    assert "frozen_at_init" not in out["failure"] and "inactive_at_init" in out["failure"]
