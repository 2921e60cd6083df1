"""Splitting estimator against independent references: the point-box closed forms,
the first-layer closed form ``(1-p)^H``, plain Monte Carlo, and interval coverage."""

import math

import numpy as np
import pytest

from jaxnn_nonconv import cli, detector, engine, estimation
from jaxnn_nonconv.core import problems
from jaxnn_nonconv.rare import _splitting as rare
from jaxnn_nonconv.stats import rates

POINT_BOX = problems.Problem("x^2", ((0.5 - 5e-8, 0.5 + 5e-8),))  # width 1e-7 around 0.5


def _cfg(arch, init="normal", problem=POINT_BOX):
    return engine.TrainConfig(arch=tuple(arch), init=init, problem=problem).validate()


def _covers(result, log10_truth, slack=0.0):
    lo, hi = result.log10_ci
    return lo - slack <= log10_truth <= hi + slack


@pytest.mark.parametrize(
    "widths",
    [
        pytest.param((2,) * 12, marks=pytest.mark.slow),
        (2,) * 6,
        pytest.param((3,) * 6, marks=pytest.mark.slow),
        pytest.param((1, 4, 2, 5), marks=pytest.mark.slow),
    ],
)
def test_point_box_not_constant(widths):
    # On a point every neuron is active with probability 1/2, independently: a layer of width l
    # is entirely dead with probability 2^-l. The default suite runs (2,) * 6 (the program of
    # width 2, 512 particles and 4 replicates is shared by every default test of this module);
    # other widths (a compilation each) run in the slow suite.
    truth = sum(math.log10(1 - 2.0**-w) for w in widths)
    r = rare.rare_event(_cfg((1, *widths, 1)), "not_constant", 512, 4, seed=3)
    assert r.unknown_fraction < 1e-3
    assert _covers(r, truth), (r.log10_estimate, r.log10_ci, truth)


@pytest.mark.parametrize("widths", [(2,) * 6, pytest.param((4, 3, 5), marks=pytest.mark.slow)])
def test_point_box_no_inactive(widths):
    truth = -sum(widths) * math.log10(2)
    r = rare.rare_event(_cfg((1, *widths, 1)), "no_inactive", 512, 4, seed=5)
    assert _covers(r, truth), (r.log10_estimate, r.log10_ci, truth)


@pytest.mark.slow
def test_point_box_width2_depth100():
    truth = 100 * math.log10(0.75)  # 3.2e-13
    r = rare.rare_event(_cfg((1,) + (2,) * 100 + (1,)), "not_constant", 2048, 8)
    assert _covers(r, truth), (r.log10_estimate, r.log10_ci, truth)
    assert r.log10_ci[1] - r.log10_ci[0] < 0.2


@pytest.mark.slow  # closed forms of no_inactive in the default suite: test_point_box_no_inactive
def test_first_layer_closed_form_h1024():
    # PyTorch init on [0, 2]: p = 1/4 + 1/16, P(no inactive) = (1 - p)^H ~ 10^-166.6.
    cfg = _cfg((1, 1024, 1), "pytorch", problems.Problem("x^2", ((0.0, 2.0),)))
    truth = 1024 * math.log10(1 - 0.3125)
    r = rare.rare_event(cfg, "no_inactive", 512, 8, max_points=2, seed=1)
    assert _covers(r, truth), (r.log10_estimate, r.log10_ci, truth)
    assert r.log10_ci[1] - r.log10_ci[0] < 1.5


@pytest.mark.slow
def test_agrees_with_plain_monte_carlo():
    # Both can measure ~1e-2: width-2, depth-16 nets on [0, 1] (exact d = 1 detector for MC).
    cfg = _cfg((1,) + (2,) * 16 + (1,), "normal", problems.Problem("x^2", ((0.0, 1.0),)))
    mc = estimation.estimate_at_init(
        cfg, 8000, chunk_size=4096, settings=detector.DetectorSettings(max_points=64)
    )["not_constant"]
    sp = rare.rare_event(cfg, "not_constant", 1024, 4, seed=2)
    assert 3e-3 < mc["estimate"] < 3e-2
    assert mc["ci"][0] <= sp.ci[1] and sp.ci[0] <= mc["ci"][1], (mc["ci"], sp.ci)
    assert sp.ci[1] / sp.ci[0] < 1.6


@pytest.mark.slow  # 40 splitting runs; coverage is also recorded in docs/results.md
def test_interval_coverage_over_seeds():
    # Nominal 95%; 40 seeds of a case with a known answer: (3/4)^10 on a point box.
    cfg = _cfg((1,) + (2,) * 10 + (1,))
    truth = 10 * math.log10(0.75)
    hits = [_covers(rare.rare_event(cfg, "not_constant", 64, 8, seed=s), truth) for s in range(40)]
    assert 0.8 <= np.mean(hits) <= 1.0, np.mean(hits)


def test_reproducible_and_seed_dependent():
    cfg = _cfg((1,) + (2,) * 10 + (1,))  # the program of test_point_box_not_constant
    a = rare.rare_event(cfg, "not_constant", 512, 4, seed=7)
    b = rare.rare_event(cfg, "not_constant", 512, 4, seed=7)
    c = rare.rare_event(cfg, "not_constant", 512, 4, seed=8)
    assert a.log10_replicates == b.log10_replicates != c.log10_replicates


def test_curve_propagation_matches_dense_forward():
    # The vertices of the image curve give the same layer maxima as a dense grid of inputs
    # (which can only be lower), and never miss a grid value by more than rounding.
    import jax
    import jax.numpy as jnp

    from jaxnn_nonconv.core import nets

    arch = (1, 3, 3, 3, 1)
    params = nets.init_params(jax.random.key(4), arch, "normal")
    x = jnp.linspace(-1.0, 1.0, 20001)[:, None]
    dense = nets.hidden_preactivations(params, x)
    pts = jnp.concatenate([jnp.array([[-1.0], [1.0]]), jnp.ones((30, 1))])
    n, corner = jnp.int32(2), jnp.ones((32,), bool)
    # one compiled program (op-by-op, each primitive of the curve step compiles on its own)
    propagate = jax.jit(lambda *a: rare._propagate_curve(*a, 32))
    for k, (w, b) in enumerate(params[:-1]):
        z = pts @ w.T + b[None, :]
        vmax = jnp.max(jnp.where(jnp.arange(pts.shape[0])[:, None] < n, z, -jnp.inf), axis=0)
        assert np.all(np.asarray(vmax) >= np.asarray(jnp.max(dense[k], axis=0)) - 1e-5)
        assert np.allclose(vmax, jnp.max(dense[k], axis=0), atol=1e-3)
        pts, corner, n, fits = propagate(pts, corner, n, w, b)
        assert bool(fits)


def test_bad_arguments():
    cfg = _cfg((1, 2, 1))
    with pytest.raises(ValueError, match="event"):
        rare.rare_event(cfg, "dead", 8, 2)
    with pytest.raises(ValueError, match="replicates"):
        rare.rare_event(cfg, "not_constant", 8, 1)
    with pytest.raises(ValueError, match="group"):
        rare.rare_event(_cfg((1, 3, 1)), "no_inactive", 8, 2, group=2)


def test_mc_keys_and_zero_count():
    cfg = _cfg((1, 64, 1), "pytorch", problems.Problem("x^2", ((0.0, 2.0),)))
    s = estimation.estimate_at_init(cfg, 200, chunk_size=256)
    assert s["method"] == "mc"
    ni = s["no_inactive"]
    assert ni["estimate"] == 0.0 and ni["log10_estimate"] is None
    assert ni["log10_ci"][0] is None
    assert ni["log10_ci"][1] == pytest.approx(math.log10(1 - 0.025 ** (1 / 200)))
    nc = s["not_constant"]
    assert nc["estimate"] == pytest.approx(1 - s["constant_network"]["estimate"])


def test_rates_fit_and_k():
    depth = np.array([10, 20, 40, 80])
    fit = rates.fit_rate(depth, depth * math.log10(0.75) + 0.1, [0.02] * 4)
    assert fit["rate"] == pytest.approx(-math.log(0.75))
    assert fit["rate_ci"][0] <= fit["rate"] <= fit["rate_ci"][1]
    # K for an even chance with p = 2^-10: ln 2 / -ln(1 - p) ~ 709.4, so 710.
    assert 10 ** rates.log10_initializations_needed(-10 * math.log10(2)) == pytest.approx(710)


def test_cli_splitting(capsys):
    # 512 particles and 4 replicates: the programs of the point-box tests above, not new ones
    argv = "estimate --arch 1,2,2,1 --init normal --box 0:1 --trials 512 --method splitting"
    code = cli.main([*argv.split(), "--replicates", "4", "--json"])
    assert code == 0
    import json

    out = json.loads(capsys.readouterr().out)
    for key in ("not_constant", "no_inactive"):
        assert {"estimate", "ci", "log10_estimate", "log10_ci"} <= set(out[key])
    assert out["method"] == "splitting"
    assert (
        cli.main(["estimate", "--arch", "1,2,1", "--method", "splitting", "--replicates", "1"]) == 2
    )


def test_zero_bias_exact_zero_is_decided():
    # Issue 24: with zero biases every pre-activation is exactly 0 at x = 0, the corner of [0, 1];
    # that is an exact value, not a tie (it left half the neurons undecided). By homogeneity a
    # neuron is active iff it is > 0 at x = 1: probability 1/2 each, so P(no inactive) = 2^-6.
    cfg = engine.TrainConfig(
        arch=(1, 2, 2, 2, 1),
        init="normal",
        zero_bias=True,
        problem=problems.Problem("x^2", ((0.0, 1.0),)),
    ).validate()
    r = rare.rare_event(cfg, "no_inactive", 512, 4, seed=4)
    assert r.unknown_fraction < 1e-3
    assert _covers(r, -6 * math.log10(2)), (r.log10_estimate, r.log10_ci)


@pytest.mark.slow
def test_zero_bias_exact_zero_inside_the_box():
    """0 strictly inside the box: the first layer's zeros are -c / w = 0 exactly. Slow; the fast
    test_zero_bias_exact_zero_is_decided covers the per-vertex margin at an exact 0."""
    # Reference by homogeneity: a layer-2 neuron of [1, 2, 2, 1] is inactive on [-1, 1] iff
    # sum_{w_i > 0} v_i w_i <= 0 and sum_{w_i < 0} v_i |w_i| <= 0 (NumPy, 10^6 nets).
    rng = np.random.default_rng(0)
    w, v = rng.standard_normal((10**6, 2)), rng.standard_normal((10**6, 2, 2))
    up = np.einsum("nji,ni->nj", v, np.maximum(w, 0))
    down = np.einsum("nji,ni->nj", v, np.maximum(-w, 0))
    truth = np.mean(np.all((up > 0) | (down > 0), axis=1))
    cfg = engine.TrainConfig(
        arch=(1, 2, 2, 1),
        init="normal",
        zero_bias=True,
        problem=problems.Problem("x^2", ((-1.0, 1.0),)),
    ).validate()
    r = rare.rare_event(cfg, "no_inactive", 512, 4, seed=6)
    assert r.unknown_fraction < 1e-3
    assert _covers(r, math.log10(truth), slack=0.01), (r.log10_ci, truth)
