"""The training monitor (JAX and PyTorch) and the initialization advisor."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn_nonconv import engine, estimation, models
from jaxnn_nonconv.core import nets, problems
from tests.helpers import constructed, to_flax_dict


@pytest.mark.parametrize("d", (1, 3))
def test_monitor_counts_match_check(d):
    params = constructed(d)
    box = [(-1.0, 1.0)] * d
    r = models.check(params, box)
    c = models.make_monitor(box)(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params))
    assert c.inactive.tolist() == [len(layer.inactive) for layer in r.layers]
    assert c.unknown.tolist() == [len(layer.unknown) for layer in r.layers]
    assert not bool(c.dead_layer)
    flax = models.flax_params(to_flax_dict(params))
    m = models.from_flax(to_flax_dict(params))
    for (w, b), (w2, b2) in zip(flax, m.params):
        np.testing.assert_array_equal(np.asarray(w), w2)
        np.testing.assert_array_equal(np.asarray(b), b2)


def test_monitor_inside_a_jitted_optax_loop():
    """Counts every 10 steps from inside ``lax.scan``; first-layer dead neurons stay dead."""
    box = ((0.0, 2.0),)
    mon = models.make_monitor(box)
    params = nets.init_params(jax.random.key(3), (1, 16, 1), init="normal")
    opt = optax.sgd(0.05)
    x = jnp.linspace(0.0, 2.0, 64)[:, None]
    y = x[:, 0] ** 2

    def loss(p):
        return jnp.mean((nets.realization(p, x) - y) ** 2)

    def block(carry, _):
        def step(c, _):
            p, s = c
            g = jax.grad(loss)(p)
            u, s = opt.update(g, s)
            return (optax.apply_updates(p, u), s), None

        carry, _ = jax.lax.scan(step, carry, None, length=10)
        return carry, mon(carry[0]).inactive

    @jax.jit
    def run(p):
        return jax.lax.scan(block, (p, opt.init(p)), None, length=20)

    (final, _), dead = run(params)
    dead = np.asarray(dead)[:, 0]
    first = int(mon(params).inactive[0])
    assert dead.shape == (20,) and np.all(dead >= first)
    assert np.all(np.diff(dead) >= 0)  # d = 1, one hidden layer: dead neurons never come back
    assert int(mon(final).inactive[0]) == dead[-1]


def test_torch_monitor_history():
    torch = pytest.importorskip("torch")
    from tests.helpers import to_torch

    model = to_torch(constructed(3))
    mon = models.TorchMonitor(model, [(-1.0, 1.0)] * 3)
    mon(0)
    with torch.no_grad():
        model[2].bias[2:] = -1000.0  # kill the rest of layer 2: constant net
    row = mon(1)
    assert mon.history[0]["inactive"] == [2, 2] and mon.history[0]["dead_layer"] is False
    assert row == {**row, "step": 1, "inactive": [2, 5], "dead_layer": True}


def test_restarts_needed_closed_form():
    for p in (0.01, 0.3125, 0.5, 0.9):
        k = models.restarts_needed(p)
        assert 1 - p**k >= 0.95 and (k == 1 or 1 - p ** (k - 1) < 0.95)


def _compare_with_estimate(families, trials=256):
    out = models.advise((1, 4, 1), [(0.0, 2.0)], trials=trials, families=families)
    assert len(out["rows"]) == len(families)
    keys = [
        (r["any_inactive"]["bracket"][1], r["constant_network"]["bracket"][1]) for r in out["rows"]
    ]
    assert keys == sorted(keys)
    for r in out["rows"]:
        cfg = engine.TrainConfig(
            arch=(1, 4, 1),
            init=r["init"],
            zero_bias=r["zero_bias"],
            problem=problems.Problem("x^2", ((0.0, 2.0),)),
        )
        s = estimation.estimate_at_init(cfg, trials, progress=False)
        for key in ("any_inactive", "constant_network"):
            for field in ("estimate", "bracket", "ci", "ci_wilson", "count"):
                assert r[key][field] == s[key][field], (r["init"], key, field)
        assert r["restarts"]["estimate"] == models.restarts_needed(s["any_inactive"]["estimate"])
        lo, hi = s["any_inactive"]["ci"]
        assert r["restarts"]["interval"] == [models.restarts_needed(lo), models.restarts_needed(hi)]
        # Shallow nets: P(some neuron inactive) = 1 - (1 - p)^4 exactly (theory's bound).
        bound = s["any_inactive"]["bound"]
        if bound is not None and s["theory"]["first_layer_p"] is not None:
            assert lo - 0.02 <= bound <= hi + 0.02


def test_advise_agrees_with_estimate():
    _compare_with_estimate([("pytorch", False), ("rai", True), ("he_normal", True)])


@pytest.mark.slow
def test_advise_agrees_with_estimate_for_every_family():
    _compare_with_estimate(models.FAMILIES, trials=2000)
