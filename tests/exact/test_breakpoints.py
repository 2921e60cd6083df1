"""The exact d = 1 mode is sound in float32 and its capacity ladder changes no result.

Independent references: the float32 network itself (``nets.hidden_preactivations``, not the
detector's scan) at a dense grid and at every breakpoint of a float64 affine-pieces analysis
(``test_inactive.affine_pieces_max``'s algorithm) and its float32 neighbours; ``inits.init_layer``
called once per layer for the initialization.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import Problem, inits, nets
from jaxnn_nonconv.estimation import _counting as counting, _criteria as criteria
from jaxnn_nonconv.exact import breakpoints

HYPO = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ARCHS = [(1, 2, 2, 1), (1, 3, 4, 3, 1), (1, 2, 2, 2, 2, 2, 1)]


def bump(c, k, half):
    """Layer 2 = ``1 - k relu(x - c) - k relu(c - x)``: max 1 at ``x = c``, a bump of width ~1/k."""
    c = np.float32(c)
    return (
        (jnp.array([[1.0], [-1.0]]), jnp.array([-c, c], jnp.float32)),
        (jnp.array([[-k, -k]], jnp.float32), jnp.array([1.0])),
        (jnp.ones((1, 1)), jnp.zeros(1)),
    ), np.float32(half)


@functools.cache
def jit_classify(arch, max_points=1024):
    del arch

    def fn(params, lo, hi, sample):
        status = detector.classify_neurons(
            params,
            lo,
            hi,
            sample,
            settings=detector.DetectorSettings(mode="exact", max_points=max_points),
        )
        cap = breakpoints.point_bound([w.shape[0] for w, _ in params[:-1]], max_points)
        return status, breakpoints.analyze(params, lo[0], hi[0], cap).points

    return jax.jit(fn)


def classify(params, lo, hi):
    sample = detector.sample_points(np.array([lo]), np.array([hi]))
    fn = jit_classify(nets.arch_of(params))
    args = [jnp.asarray(v, jnp.float32) for v in (np.array([lo]), np.array([hi]), sample)]
    status, points = fn(params, *args)
    return jax.tree.map(np.asarray, status), np.asarray(points), np.asarray(args[2])


@functools.cache
def _jit_preacts(arch):
    del arch
    return jax.jit(nets.hidden_preactivations)


def f32_preacts(params, x):
    x = jnp.asarray(np.asarray(x, np.float32).reshape(-1, 1))
    return [np.asarray(z) for z in _jit_preacts(nets.arch_of(params))(params, x)]


def breakpoints64(params, a, b):
    """Every breakpoint of every layer on ``[a, b]``, by float64 affine pieces."""
    pieces = [(float(a), float(b), np.ones(1), np.zeros(1))]
    found = []
    for w, c in [(np.asarray(w, np.float64), np.asarray(c, np.float64)) for w, c in params[:-1]]:
        new = []
        for x0, x1, s, t in pieces:
            slope, inter = w @ s, w @ t + c
            with np.errstate(divide="ignore", invalid="ignore"):
                roots = -inter / slope
            roots = np.unique(roots[(slope != 0) & (roots > x0) & (roots < x1)])
            found.extend(roots.tolist())
            edges = [x0, *roots.tolist(), x1]
            for u, v in zip(edges[:-1], edges[1:]):
                on = slope * (u + v) / 2 + inter > 0
                new.append((u, v, np.where(on, slope, 0.0), np.where(on, inter, 0.0)))
        pieces = new
    return np.array(found)


def adversarial_points(params, lo, hi, n_grid=4001):
    """A dense float32 grid plus every float64 breakpoint and its 8 float32 neighbours each side."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    pts = [np.linspace(lo32, hi32, n_grid, dtype=np.float32)]
    bp = breakpoints64(params, lo, hi).astype(np.float32)
    for direction in (hi32, lo32):
        cur = bp
        for _ in range(8):
            pts.append(cur)
            cur = np.nextafter(cur, direction)
    x = np.concatenate(pts)
    return x[(x >= lo32) & (x <= hi32)]


def check_sound(params, lo, hi):
    """No wrong certificate: inactive => the float32 net is never > 0 at the adversarial points;
    active (layers >= 2) <=> the float32 net is > 0 at one of the detector's points."""
    status, points, _ = classify(params, lo, hi)
    z_adv = f32_preacts(params, adversarial_points(params, lo, hi))
    z_wit = f32_preacts(params, points)
    for k in range(len(params) - 1):
        ina, act = status.inactive[k], status.active[k]
        assert not np.any(ina & act)
        assert np.all(z_adv[k].max(axis=0)[ina] <= 0), f"layer {k + 1}: wrong inactive"
        if k > 0:
            np.testing.assert_array_equal(act, z_wit[k].max(axis=0) > 0)
    return status


def test_wide_box_narrow_bump_of_the_issue_is_never_inactive():
    """Issue 10's example: the float32 breakpoint misses the peak by one spacing on [-1e6, 1e6]."""
    params, half = bump(0.5, 1000.0, 1e6)
    status, _, _ = classify(params, -half, half)
    # The float32 network is 1 > 0 at x = 0.5: unknown or active, never inactive.
    assert not status.inactive[1][0]


@HYPO
@given(
    c=st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False, width=32),
    log_k=st.floats(1.0, 6.0, allow_subnormal=False),
    log_half=st.floats(2.0, 7.0, allow_subnormal=False),
)
def test_narrow_bumps_on_wide_boxes_are_never_certified_inactive(c, log_k, log_half):
    params, half = bump(c, np.float32(10.0**log_k), 10.0**log_half)
    status = check_sound(params, -half, half)
    # the float32 network is exactly 1 > 0 at x = c: never inactive
    assert not status.inactive[1][0]


@HYPO
@given(
    seed=st.integers(0, 2**31 - 1),
    arch=st.sampled_from(ARCHS),
    log_scale=st.floats(-1.0, 3.0, allow_subnormal=False),
    log_half=st.floats(-1.0, 6.0, allow_subnormal=False),
    shift=st.floats(-1.0, 1.0, allow_subnormal=False),
)
def test_random_nets_large_weights_wide_boxes_no_wrong_certificate(
    seed, arch, log_scale, log_half, shift
):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(arch[:-1], arch[1:]):
        w = rng.standard_normal((n_out, n_in)) * 10.0**log_scale
        b = (rng.standard_normal(n_out) + shift) * 10.0**log_scale
        w[rng.random(w.shape) < 0.1] = 0.0
        params.append((jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32)))
    half = 10.0**log_half
    center = rng.uniform(-1, 1) * half
    check_sound(tuple(params), center - half, center + half)


def test_unknowns_are_rare_on_normal_inits():
    """Soundness costs few decisions: at most 1e-3 of deep neurons unknown for N(0,1) nets."""
    cfg = engine.TrainConfig(
        arch=(1, 3, 3, 3, 3, 3, 3, 1), init="normal", problem=Problem("x^2", ((-1.0, 1.0),))
    ).validate()
    c = counting.counts_at_init(cfg, 2000, chunk_size=1024)
    assert c["unknown"].sum() <= 1e-3 * 2000 * 18
    assert c["inactive"][:, 1:].sum() > 100  # deep inactive neurons are certified


@pytest.mark.slow  # RAI's Beta draws compile slowly; the default families: tests/core/test_nets.py
# ::test_init_params_draws_layer_k_with_fold_in_k
def test_init_runs_are_bit_identical_to_one_draw_per_layer():
    arch = (1, 3, 3, 3, 1)  # one vmapped run (3 -> 3, twice) between single layers
    keys = jax.random.split(jax.random.key(3), 3)
    for init in ("rai",):  # normal rows, a randint and a Beta draw per neuron

        def per_layer(key, init=init):
            pairs = zip(arch[:-1], arch[1:])
            return tuple(
                inits.init_layer(jax.random.fold_in(key, k), init, a, b)
                for k, (a, b) in enumerate(pairs)
            )

        got = jax.jit(jax.vmap(lambda k, init=init: nets.init_params(k, arch, init)))(keys)
        want = jax.jit(jax.vmap(per_layer))(keys)
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


DEEP = engine.TrainConfig(
    arch=(1, 16, 16, 16, 1), init="normal", problem=Problem("x^2", ((-4.0, 4.0),))
).validate()
DEEP_MAX_POINTS = 128  # ladder (16, 64, 128): most trials overflow the first rung


def _compiled(cap):
    return counting._compiled_init_chunk(DEEP, detector.DetectorSettings(max_points=cap))


def test_capacity_ladder_redoes_overflows_and_results_do_not_depend_on_chunking():
    ladder = detector.capacities(DEEP.arch, "auto", DEEP_MAX_POINTS)
    assert ladder[0] == breakpoints.START_CAPACITY and ladder[-1] == DEEP_MAX_POINTS
    idx = jnp.arange(256, dtype=jnp.uint32)
    over = np.asarray(_compiled(ladder[0])(jax.random.key(0), idx)[0].overflow)
    assert over.any(), "the first rung must overflow for some trials, else the ladder is untested"
    deep = detector.DetectorSettings(max_points=DEEP_MAX_POINTS)
    a = counting.counts_at_init(DEEP, 256, chunk_size=256, settings=deep)
    # (independence of the chunk size itself: tests/estimation/test_estimate.py)
    b = counting.counts_at_init(DEEP, 100, chunk_size=256, settings=deep)
    top = _compiled(ladder[-1])(jax.random.key(0), idx)[0]
    for k in a:
        np.testing.assert_array_equal(a[k][:100], b[k])
        if k != "trial":  # the ladder gives what the top capacity alone gives
            np.testing.assert_array_equal(a[k], np.asarray(getattr(top, k)))


@pytest.mark.parametrize(
    "many, want_calls",
    [
        # 3 overflow at 20: fewer than 64 // 4, so one small call of 64 // 16 = 4, then trial 29
        # alone at 400 in a call of max(1, 12 // 16) = 1
        (False, [(20, 40), (80, 4), (400, 1)]),
        # 22 overflow at 20: one large call of 256 * 20 // 80 = 64, then trial 29 alone
        (True, [(20, 40), (80, 64), (400, 1)]),
    ],
)
def test_refine_overflow_only_redoes_overflowing_trials(many, want_calls):
    idx = np.arange(40)
    need = np.full(40, 10)  # breakpoints each trial needs
    need[[3, 17]] = 50
    if many:
        need[20:] = 50
    need[29] = 300
    calls = []

    def run(cap, rows):
        calls.append((cap, rows.size))
        return {"overflow": need[rows] > cap, "value": rows * 1000 + cap}

    out = breakpoints.refine_overflow(run, idx, run(20, idx), (20, 80, 400), batch=256)
    want_cap = np.where(need <= 20, 20, np.where(need <= 80, 80, 400))
    np.testing.assert_array_equal(out["value"], idx * 1000 + want_cap)
    assert not out["overflow"].any()
    assert calls == want_calls


def test_leaky_relu_and_softplus_get_no_relu_verdicts():
    """Issue 10's example: [1,1,1], W1 = 1, b1 = -3 on [0, 2] is not inactive for leaky ReLU."""
    for activation in ("leaky_relu", "softplus"):
        cfg = engine.TrainConfig(arch=(1, 1, 1), activation=activation, steps=2).validate()
        res = engine.run(cfg, 4, chunk_size=4)
        out = criteria.failure_after_training(cfg, res)
        for name in ("inactive_at_end", "constant_at_end", "inactive_at_init"):
            assert out["criteria"][name]["estimate"] is None
            assert "nonzero derivative" in out["criteria"][name]["not_applicable"]
        assert out["criteria"]["risk_gap"]["estimate"] is not None
        with pytest.raises(ValueError, match="nonzero derivative"):
            counting.counts_at_init(cfg, 4)
