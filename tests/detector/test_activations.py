"""Power ReLU and clipping in the detector, the closed forms and ``estimate``.

* Soundness: a first-layer ``clip`` neuron certified saturated (or frozen) is ``>= 1`` (or
  ``<= 0`` / ``>= 1``) in the float network at every point of a dense grid of the box, endpoints
  included; one certified moving has a grid point strictly inside ``(0, 1)``.
* Closed forms (docs/theory.md sec. 3b) against Monte Carlo: P(frozen) = p + P(saturated) inside
  the measured 99.9% interval, for normal and uniform families, with and without bias.
* ``repu:P`` is inactive exactly as ReLU: ``estimate`` gives the same counts.
"""

import jax
import jax.numpy as jnp
import pytest

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.stats import frozen
from tests import helpers


def test_frozen_certificates_are_sound_on_a_dense_grid():
    arch, box = (1, 1024, 1), (-0.5, 1.5)
    lo, hi = jnp.array([box[0]], jnp.float32), jnp.array([box[1]], jnp.float32)
    grid = jnp.concatenate([jnp.linspace(box[0], box[1], 2001, dtype=jnp.float32), lo, hi])
    n_frozen = n_moving = 0
    for seed in range(1):
        params = nets.init_params(jax.random.key(seed), arch, "normal", scale=1.5)
        f, m = detector.first_layer_frozen(params, lo, hi)
        sat = detector.first_layer_saturated(params, lo, hi)
        z = nets.hidden_preactivations(params, grid[:, None], "clip")[0]  # float net, (G, l_1)
        assert bool(jnp.all(jnp.where(sat, jnp.all(z >= 1, axis=0), True)))
        dead_or_sat = jnp.all(z <= 0, axis=0) | jnp.all(z >= 1, axis=0)
        assert bool(jnp.all(jnp.where(f, dead_or_sat, True)))
        inside = jnp.any((z > 0) & (z < 1), axis=0)
        assert bool(jnp.all(jnp.where(m, inside, True)))
        assert not bool(jnp.any(f & m))
        n_frozen += int(f.sum())
        n_moving += int(m.sum())
        assert int(jnp.sum(~f & ~m)) == 0  # no ties at these random draws: all decided
    assert n_frozen > 100 and n_moving > 100  # both verdicts were exercised


def test_saturated_exactly_at_one_is_certified_only_with_margin():
    """``z = x + 1`` on ``[0, 1]`` touches 1 at ``x = 0``: saturated (>= 1) in real arithmetic;
    the certificate keeps a rounding margin, so it says unknown rather than risk a wrong verdict,
    while ``z = x + 1.01`` is certified."""
    params = ((jnp.array([[1.0], [1.0]]), jnp.array([1.0, 1.01])), (jnp.ones((1, 2)), jnp.zeros(1)))
    sat = detector.first_layer_saturated(params, jnp.array([0.0]), jnp.array([1.0]))
    assert sat.tolist() == [False, True]


CASES = [
    ("normal", (-1.0, 2.0), False),
    ("he_uniform", (-3.0, -0.5), True),
]
SLOW_CASES = [  # the fast CASES cover the normal and uniform forms, with and without bias
    ("he_uniform", (-0.5, 1.0), False),
    ("normal", (0.0, 1.0), False),
    ("pytorch", (0.5, 2.0), False),
    ("normal", (0.5, 2.0), True),
]


@pytest.mark.parametrize(
    "init, box, zero_bias",
    CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_CASES],
)
def test_p_frozen_closed_form_matches_monte_carlo(init, box, zero_bias):
    cfg = engine.TrainConfig(
        arch=(1, 8, 1),
        init=init,
        zero_bias=zero_bias,
        activation="clip",
        problem=problems.Problem("x^2", (box,)),
    ).validate()
    est = estimation.first_layer_frozen_estimate(cfg, 3000, chunk_size=1024, confidence=0.999)
    theory = frozen.p_frozen(init, (box,), zero_bias, width=8)
    assert est.extra["theory"] == theory
    assert est.bracket[0] == est.bracket[1]  # every neuron decided
    assert helpers.within(theory, est.ci), (theory, est.ci)
    sat = frozen.p_saturated(init, (box,), zero_bias, width=8)
    assert sat > 0.005  # the saturated part is really tested


def test_estimate_clip_json_and_repu_like_relu():
    common = ["estimate", "--arch", "1,6,1", "--init", "normal", "--box", "0:1", "--trials", "300"]
    clip = helpers.cli_json([*common, "--activation", "clip", "--json"])
    keys = list(clip)
    i = keys.index("first_layer_neuron_inactive")
    assert keys[i + 1] == "first_layer_neuron_frozen"
    fr, dead = clip["first_layer_neuron_frozen"], clip["first_layer_neuron_inactive"]
    assert fr["estimate"] >= dead["estimate"]
    assert fr["theory"] == pytest.approx(0.375 + frozen.p_saturated("normal", [(0.0, 1.0)]))
    repu = helpers.cli_json([*common, "--activation", "repu:2", "--json"])
    for key in ("first_layer_neuron_inactive", "any_inactive", "constant_network"):
        # the first layer does not depend on the activation: ReLU's counts, for both
        assert repu[key]["count"] == clip[key]["count"]
    assert "first_layer_neuron_frozen" not in repu


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--activation", "clip", "--arch", "1,4,4,1", "--mode", "crown"], "models ReLU only"),
        (["--activation", "repu:2", "--arch", "1,4,4,1", "--method", "splitting"], "--method mc"),
        (["--activation", "repu:1"], "2 <= P"),
        (["--activation", "softplus"], "nonzero derivative"),
        (["--activation", "clipp"], "did you mean 'clip'"),
    ],
)
def test_estimate_refuses_what_it_cannot_certify(argv, words, capsys):
    line = helpers.usage_error(["estimate", "--trials", "5", *argv], capsys)
    assert words in line
