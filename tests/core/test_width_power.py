"""Width-power initializations (arXiv 2212.13111's code, GitHub
deeplearningmethods/overcome-bad-local-minima): the law of every group, its width exponent, the
key discipline, and the spec's parsing and errors in the config, the engine and the CLI."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

from jaxnn_nonconv import cli, engine, estimation, rare
from jaxnn_nonconv.core import inits, nets, optim, problems, width_power
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import config
from jaxnn_nonconv.stats import theory

SETTING_1 = "width_power: W = H^(-4/15) |N|, b = H^(-9/10) N"
SETTING_2 = "width_power: W1 = H^3 |N|, b1 = H^3 N, W2 = H^(-7/8) |N|, b2 = N"


def _flat(params):
    return [np.asarray(v, np.float64) for wb in params for v in wb]


def test_laws_half_normal_and_normal_ks():
    """At width 4000, ``W1 / H^(-4/15)`` is half-normal (nonnegative) and ``b1 / H^(-9/10)``
    standard normal (KS test); the swapped laws are rejected, so the test can fail."""
    h = 4000
    (w1, b1), (w2, _) = nets.init_params(jax.random.key(3), (1, h, 1), SETTING_1)
    zw = np.asarray(w1).ravel() / h ** (-4 / 15)
    zb = np.asarray(b1) / h ** (-9 / 10)
    assert (zw >= 0).all() and (np.asarray(w2) >= 0).all()
    assert sps.kstest(zw, sps.halfnorm.cdf).pvalue > 1e-3
    assert sps.kstest(zb, sps.norm.cdf).pvalue > 1e-3
    assert sps.kstest(zb, sps.halfnorm.cdf).pvalue < 1e-6  # the test sees a wrong law
    assert sps.kstest(zw, sps.norm.cdf).pvalue < 1e-6
    assert abs(zb.mean()) < 0.1 and abs(zb.std() - 1) < 0.05
    assert abs(zw.mean() - np.sqrt(2 / np.pi)) < 0.05


@pytest.mark.parametrize("h", [5, 20, 100])
def test_width_exponent_per_group(h):
    """Each group is exactly ``H^a`` times the unit draw of the same key (``H`` the hidden width),
    and a per-layer group overrides the all-layer one."""
    key = jax.random.key(7)
    unit = _flat(nets.init_params(key, (1, h, 1), "width_power: W = |N|, b = N"))
    got = _flat(nets.init_params(key, (1, h, 1), SETTING_2))
    for value, base, a in zip(got, unit, [3, 3, -7 / 8, 0]):
        np.testing.assert_allclose(value, base * h**a, rtol=2e-6)
    assert (got[0] >= 0).all() and (got[2] >= 0).all() and (got[1] < 0).any()


def test_first_hidden_width_scales_every_layer_of_a_deep_net():
    """``H = l_1`` for every layer (``nns[1]`` in the paper's Xavier-like script); a stack of
    equal-shape layers (vmapped) draws what one layer at a time draws."""
    arch, spec = (1, 4, 4, 4, 1), "width_power: W = |N|, W3 = H^2 N, b = H^(-1/2) N"
    key = jax.random.key(0)
    params = nets.init_params(key, arch, spec)
    factors = width_power.layer_factors(spec, arch)
    assert [f[0] for f in factors] == [1.0, 1.0, 16.0, 1.0] and factors[0][2] == 0.5
    for k, (w, b) in enumerate(params):
        w1, b1 = width_power.draw_layer(
            jax.random.fold_in(key, k), w.shape[1], w.shape[0], factors[k], dtype=w.dtype
        )
        assert jnp.array_equal(w, w1) and jnp.array_equal(b, b1)
    assert (params[1][0] >= 0).all() and (params[2][0] < 0).any()


def test_key_discipline_reproducible_and_trial_keys():
    cfg = engine.TrainConfig(arch=(1, 5, 1), init=SETTING_1).validate()
    a = engine.init_trial_stacks(cfg, engine.trial_key(0, 3))
    b = engine.init_trial_stacks(cfg, engine.trial_key(0, 3))
    c = engine.init_trial_stacks(cfg, engine.trial_key(0, 4))
    assert all(jnp.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    assert not jnp.array_equal(a[0][0], c[0][0])
    direct = nets.init_stacks(
        jax.random.fold_in(jax.random.fold_in(jax.random.key(0), 3), 0), (1, 5, 1), cfg.init
    )
    assert all(jnp.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(direct)))


def test_zero_bias_and_scale():
    key = jax.random.key(1)
    (w, b), (_, c) = nets.init_params(key, (1, 6, 1), SETTING_1, zero_bias=True)
    assert not b.any() and not c.any() and (w > 0).all()
    (w2, _), _ = nets.init_params(key, (1, 6, 1), SETTING_1, scale=2.0)
    np.testing.assert_allclose(w2, 2 * w, rtol=1e-6)


def test_existing_families_unchanged_by_the_check():
    for name in inits.INITS:
        assert inits.check_init(name) == name
    assert inits.draw_kind(SETTING_1) == "width_power"
    with pytest.raises(ValueError, match="no single per-layer spread"):
        inits.layer_std(SETTING_1, 1, 5)
    with pytest.raises(ValueError, match="unknown init"):
        inits.check_init("he_norml")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("width_power W = N, b = N", "needs ':'"),
        ("width_power: W = N", "does not cover group b1"),
        ("width_power: W = N, b = N, W3 = N", "has 2 layers"),
        ("width_power: W = N, W = |N|, b = N", "given twice"),
        ("width_power: W0 = N, W = N, b = N", "bad group"),
        ("width_power: V = N, W = N, b = N", "bad group"),
        ("width_power: W = H^-1 N, b = N", "bad term"),
        ("width_power: W = H^(1/0) N, b = N", "bad exponent"),
        ("width_power: W = 2 N, b = N", "bad term"),
        ("width_power: W = H^(100) N, b = N", "out of range"),
        ("width_power: W = N,, b = N", "empty group"),
    ],
)
def test_bad_specs_are_config_errors(spec, match):
    with pytest.raises(ConfigError, match=match):
        config.build({"arch": [1, 5, 1], "init": spec})


def test_config_canonical_spelling_and_sweep_value():
    cfg, _ = config.build({"arch": [1, 5, 1], "init": "width_power:b=H^(-9/10)N,W=H^(-4/15)|N|"})
    assert cfg.init == "width_power: W = H^(-4/15) |N|, b = H^(-9/10) N"
    assert cfg.to_dict()["init"] == cfg.init
    with pytest.raises(ConfigError, match="unknown init"):
        config.build({"init": "width-power: W = N"})


def test_cli_bad_spec_exits_2(capsys):
    code = cli.main(
        ["estimate", "--arch", "1,5,1", "--init", "width_power: W = N", "--trials", "4"]
    )
    assert code == 2
    assert "does not cover group b1" in capsys.readouterr().err


def test_cli_accepts_a_spec(capsys):
    argv = ["estimate", "--arch", "1,5,1", "--box", "0:1", "--init", SETTING_1, "--trials", "8"]
    assert cli.main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["init"] == SETTING_1 and out["theory"]["first_layer_p"] is None


def test_no_closed_form_and_estimate_runs():
    """No closed form for P(inactive): None, not a wrong number; the estimate still counts."""
    s = theory.summary((1, 5, 1), SETTING_1, [(0.0, 1.0)])
    assert s["first_layer_p"] is None and s["shallow_success_upper_bound"] is None
    assert theory.sign_dead_q(5, SETTING_1) is None
    assert theory.summary((1, 3, 3, 1), SETTING_1, [(0.0, 1.0)])["no_inactive_upper_bound"] is None
    box01 = problems.Problem("x^2", ((0.0, 1.0),))
    cfg = engine.TrainConfig(arch=(1, 5, 1), init=SETTING_1, problem=box01).validate()
    est = estimation.estimate_at_init(cfg, 64, progress=False)
    assert est.theory["first_layer_p"] is None
    # positive inner weights on [0, 1]: neuron j inactive iff b_j + w_j <= 0 (both b_j <= 0)
    stacks = jax.vmap(lambda i: engine.init_trial_stacks(cfg, engine.trial_key(0, i)))(
        jnp.arange(64)
    )
    w, b = stacks[0][0][:, 0, :, 0], stacks[0][1][:, 0]  # (trials, H)
    dead = np.asarray((b <= 0) & (b + w <= 0))
    assert 0 < dead.any(axis=1).mean() == pytest.approx(est.probabilities["any_inactive"].estimate)


def test_step_schedule_offset_is_the_papers_halving():
    """``offset = 1``: ``0.5^floor((n + 1) / k)`` as in the paper's code; ``offset = 0`` is the
    schedule without the key, value for value."""
    paper = optim.schedule("step", factor=0.5, every=150, offset=1)
    plain = optim.schedule("step", factor=0.5, every=150)
    zero = optim.schedule("step", factor=0.5, every=150, offset=0)
    n = jnp.arange(1000)
    np.testing.assert_array_equal(paper(n), 0.5 ** ((np.arange(1000) + 1) // 150))
    assert jnp.array_equal(plain(n), zero(n)) and float(plain(149)) == 1.0 == 2 * float(paper(149))
    with pytest.raises(ValueError, match="offset"):
        optim.schedule("step", offset=0.5)


def test_rare_event_refuses_a_spec_before_computing():
    cfg = engine.TrainConfig(arch=(1, 4, 1), init=SETTING_1)
    with pytest.raises(ValueError, match="width_power init is not supported"):
        rare.rare_event(cfg, "not_constant", 8, 2)
