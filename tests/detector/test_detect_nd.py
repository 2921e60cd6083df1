"""The d > 1 detector (backward linear bounds, exact d = 2 layer 2, branch and bound) against
independent references.

References, none sharing code with the modules under test:

* dense-grid brute force: every hidden pre-activation of the float32 network itself
  (``nets.hidden_preactivations``) on a dense grid plus random points of the box;
* ``lp_layer2_max``: the exact float64 maximum of a layer-2 pre-activation in ``d = 2`` by one
  linear program per activation pattern of the first layer (``scipy.optimize.linprog``), a
  different algorithm from vertex enumeration;
* the closed form ``(2^d0 + 1) / 4^(d0 + 1) = 0.078125`` of arXiv 2412.06829 for layer 2 of
  ``[2, 3, ...]`` nets with N(0, 1) weights and biases on large boxes.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.optimize import linprog

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import nets, problems

HYPO = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**31 - 1)


def random_net(seed, arch, scale=1.0, shift=-0.3):
    """float32 Gaussian nets, biases shifted down, some layer-2+ rows sign-dead, some zeros."""
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:])):
        w = rng.standard_normal((n_out, n_in)) * scale
        b = rng.standard_normal(n_out) * scale + shift * scale
        if 0 < k < len(arch) - 2:
            dead = rng.random(n_out) < 0.1
            w[dead], b[dead] = -np.abs(w[dead]), -np.abs(b[dead])
        w[rng.random(w.shape) < 0.05] = 0.0
        params.append((jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32)))
    return tuple(params)


def random_box(rng, d, wide=False):
    half = rng.choice([1.0, 10.0, 1e3]) if wide else rng.uniform(0.3, 3.0)
    center = rng.uniform(-1.0, 1.0, d) * half * 0.5
    lo, hi = center - half * rng.uniform(0.5, 1.0, d), center + half * rng.uniform(0.5, 1.0, d)
    return np.asarray(lo, np.float32), np.asarray(hi, np.float32)


def dense_points(lo, hi, rng):
    d = len(lo)
    per_axis = {1: 4001, 2: 201, 3: 31, 4: 13}[d]
    axes = [np.linspace(lo[j], hi[j], per_axis, dtype=np.float32) for j in range(d)]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(d, -1).T
    rand = rng.uniform(lo, hi, (3000, d)).astype(np.float32)
    return np.concatenate([grid, rand, lo[None], hi[None]])


@functools.cache
def jit_preacts(arch):
    del arch
    return jax.jit(nets.hidden_preactivations)


def preacts(params, x):
    """The float32 network's own pre-activations at float32 points."""
    fn = jit_preacts(nets.arch_of(params))
    return [np.asarray(z) for z in fn(params, jnp.asarray(x, jnp.float32))]


def lp_layer2_max(params, lo, hi):
    """Exact float64 max of every layer-2 pre-activation, d = 2: one LP per activation pattern."""
    (w, c), (v, b) = ((np.asarray(a, np.float64) for a in layer) for layer in params[:2])
    n1 = w.shape[0]
    best = np.full(v.shape[0], -np.inf)
    arg = np.zeros((v.shape[0], 2))
    for pattern in itertools.product([0, 1], repeat=n1):
        s = np.array(pattern, np.float64)
        # on: w x + c >= 0  <=>  -w x <= c; off: w x <= -c
        a_ub = np.where(s[:, None] == 1, -w, w)
        b_ub = np.where(s == 1, c, -c)
        for i in range(v.shape[0]):
            grad = (v[i] * s) @ w
            const = (v[i] * s) @ c + b[i]
            res = linprog(-grad, A_ub=a_ub, b_ub=b_ub, bounds=list(zip(lo, hi)), method="highs")
            if res.status == 0 and const - res.fun > best[i]:
                best[i] = const - res.fun
                arg[i] = res.x
    return best, arg


def scale_of(params, lo, hi):
    r = np.maximum(np.abs(lo), np.abs(hi)).astype(np.float64)
    out = []
    for w, b in params[:-1]:
        r = np.abs(np.asarray(w, np.float64)) @ r + np.abs(np.asarray(b, np.float64))
        out.append(r + 1e-6)
    return out


# ---------------------------------------------------------------------------------------------
# 1. Backward linear bounds dominate the float network on a dense grid

ARCHS_CROWN = [(2, 5, 4, 3, 1), (4, 3, 3, 3, 3, 1)]
jit_crown = jax.jit(detector.crown_bounds)


@HYPO
@given(
    seed=seeds,
    arch=st.sampled_from(ARCHS_CROWN),
    scale=st.sampled_from([1.0, 30.0]),
    wide=st.booleans(),
)
def test_crown_bounds_dominate_dense_grid(seed, arch, scale, wide):
    rng = np.random.default_rng(seed)
    params = random_net(seed, arch, scale)
    lo, hi = random_box(rng, arch[0], wide)
    bnd = jax.tree.map(np.asarray, jit_crown(params, jnp.asarray(lo), jnp.asarray(hi)))
    z = preacts(params, dense_points(lo, hi, rng))
    for k, zk in enumerate(z):
        assert np.all(zk.max(0) <= bnd.upper[k]), f"layer {k + 1}: upper bound violated"
        assert np.all(zk.min(0) >= bnd.lower[k]), f"layer {k + 1}: lower bound violated"
        assert np.all(bnd.lower[k] <= bnd.upper[k])


def test_crown_is_exact_on_layer_one_and_tighter_than_ibp_on_average():
    rng = np.random.default_rng(0)
    ratios = []
    for seed in range(10):
        params = random_net(seed, (2, 6, 6, 6, 1))
        lo, hi = np.full(2, -1.0, np.float32), np.full(2, 1.0, np.float32)
        bnd = jit_crown(params, jnp.asarray(lo), jnp.asarray(hi))
        exact1 = detector.first_layer_max(params, jnp.asarray(lo), jnp.asarray(hi))
        # layer 1: the exact corner formula, widened by rounding only
        assert np.all(np.asarray(bnd.upper[0]) >= np.asarray(exact1))
        np.testing.assert_allclose(bnd.upper[0], exact1, rtol=1e-4, atol=1e-4)
        ibp = detector.ibp_upper(params, jnp.asarray(lo), jnp.asarray(hi), 1)
        zmax = [z.max(0) for z in preacts(params, dense_points(lo, hi, rng))]
        for k in (1, 2):
            ratios.append(np.mean(np.asarray(bnd.upper[k]) - zmax[k]))
            ratios[-1] /= np.mean(np.asarray(ibp[k]) - zmax[k])
    assert np.mean(ratios) < 0.9  # the linear relaxation beats intervals


# ---------------------------------------------------------------------------------------------
# 2. Exact d = 2 layer 2: vertex enumeration vs linear programs vs the dense grid

jit_layer2 = jax.jit(detector.layer2_max)


@HYPO
@given(seed=seeds, n1=st.sampled_from([1, 3, 4]), wide=st.booleans())
def test_layer2_max_matches_lp_and_grid(seed, n1, wide):
    rng = np.random.default_rng(seed)
    params = random_net(seed, (2, n1, 3, 1), shift=0.0)
    lo, hi = random_box(rng, 2, wide)
    r = jax.tree.map(np.asarray, jit_layer2(params, jnp.asarray(lo), jnp.asarray(hi)))
    ref, _ = lp_layer2_max(params, lo, hi)
    scale = scale_of(params, lo, hi)[1]
    assert not r.unreliable
    # value is attained (a box point), upper is sound: value <= ref <= upper up to float64 ties
    assert np.all(r.value <= ref + 1e-5 * scale)
    assert np.all(ref <= r.upper + 1e-9 * scale)
    assert np.all(r.upper - r.value <= 1e-3 * scale)
    zmax = preacts(params, dense_points(lo, hi, rng))[1].max(0)
    assert np.all(zmax <= r.upper) and np.all(zmax <= r.value + 1e-4 * scale)
    assert np.all((r.vertices >= lo) & (r.vertices <= hi))


def test_layer2_ties_are_never_certified_wrongly():
    """Shift each layer-2 bias so the exact max is 0 (a tie): nothing may be certified inactive
    where the float network is > 0 at the LP maximizer or a float neighbour of it."""
    rng = np.random.default_rng(1)
    for seed in range(12):
        params = random_net(seed, (2, 4, 3, 1), scale=[1.0, 100.0][seed % 2], shift=0.0)
        lo, hi = random_box(rng, 2, wide=True)
        ref, arg = lp_layer2_max(params, lo, hi)
        (w1, b1), (w2, b2), out = params
        b2 = b2 - jnp.asarray(ref, jnp.float32)
        params = ((w1, b1), (w2, b2), out)
        ref, arg = lp_layer2_max(params, lo, hi)
        r = jit_layer2(params, jnp.asarray(lo), jnp.asarray(hi))
        near = []
        for x in arg:
            x32 = x.astype(np.float32)
            for steps in itertools.product([-2, -1, 0, 1, 2], repeat=2):
                p = x32.copy()
                for j, s in enumerate(steps):
                    for _ in range(abs(s)):
                        p[j] = np.nextafter(p[j], np.float32(np.sign(s) * np.inf))
                near.append(np.clip(p, lo, hi))
        zmax = preacts(params, np.array(near))[1].max(0)
        certified = np.asarray(r.upper) <= 0
        assert not np.any(certified & (zmax > 0))
        assert np.all(np.asarray(r.value) <= zmax.max() + 1e-3 * np.abs(ref).max() + 1)


def test_parallel_lines_are_unreliable_or_exact():
    # two exactly parallel, distinct first-layer lines and a third one
    w1 = jnp.array([[1.0, 2.0], [2.0, 4.0], [1.0, -1.0]])
    b1 = jnp.array([0.1, -0.3, 0.0])
    params = (
        (w1, b1),
        (jnp.array([[1.0, -1.0, -1.0]]), jnp.array([-0.2])),
        (jnp.ones((1, 1)), jnp.zeros(1)),
    )
    r = jit_layer2(params, -jnp.ones(2), jnp.ones(2))
    assert bool(r.unreliable) and bool(jnp.isinf(r.upper[0]))


# ---------------------------------------------------------------------------------------------
# 3. Three-valued soundness of the modes (hypothesis): never a wrong certificate

ARCHS_ND = [(2, 4, 4, 1), (2, 3, 4, 3, 1), (3, 4, 3, 3, 1), (4, 3, 3, 1)]


@functools.cache
def jit_classify(arch, mode):
    del arch

    def fn(params, lo, hi, sample, probe):
        return detector.classify_neurons(
            params, lo, hi, sample, probe=probe, settings=detector.DetectorSettings(mode=mode)
        )

    return jax.jit(fn)


def classify(params, lo, hi, mode):
    sample = jnp.asarray(detector.sample_points(lo, hi), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)
    fn = jit_classify(nets.arch_of(params), mode)
    return jax.tree.map(np.asarray, fn(params, jnp.asarray(lo), jnp.asarray(hi), sample, probe))


def check_modes(seed, arch, mode, scale, wide):
    if mode == "exact" and arch[0] != 2:
        mode = "crown"
    rng = np.random.default_rng(seed)
    params = random_net(seed, arch, scale)
    lo, hi = random_box(rng, arch[0], wide)
    status = classify(params, lo, hi, mode)
    z = preacts(params, dense_points(lo, hi, rng))
    for k, zk in enumerate(z):
        ina, act = status.inactive[k], status.active[k]
        assert not np.any(ina & act)
        # inactive: never > 0 at a point of the box, exactly in float32
        assert np.all(zk.max(0)[ina] <= 0), f"layer {k + 1}: inactive but > 0 at a box point"
    if arch[0] == 2 and mode == "exact":
        ref, _ = lp_layer2_max(params, lo, hi)
        tie = 1e-4 * scale_of(params, lo, hi)[1]
        decided = np.abs(ref) > tie
        # active: the LP (float64) max is > 0 up to ties; every decided neuron agrees with it
        assert np.all(ref[status.active[1]] > -tie[status.active[1]])
        assert np.all(status.inactive[1][decided] == (ref <= 0)[decided])
        assert np.all(status.active[1][decided] == (ref > 0)[decided])
    return status


@HYPO
@given(seed=seeds, scale=st.sampled_from([1.0, 50.0]), wide=st.booleans())
def test_exact_2d_mode_never_certifies_wrongly(seed, scale, wide):
    check_modes(seed, (2, 3, 4, 3, 1), "exact", scale, wide)


@pytest.mark.slow
@HYPO
@given(
    seed=seeds,
    arch=st.sampled_from(ARCHS_ND),
    mode=st.sampled_from(["exact", "crown"]),
    scale=st.sampled_from([1.0, 50.0]),
    wide=st.booleans(),
)
def test_modes_never_certify_wrongly(seed, arch, mode, scale, wide):
    check_modes(seed, arch, mode, scale, wide)


def test_three_valued_outcomes_all_occur():
    """The random nets above exercise every outcome in deep layers (else the tests could not
    fail)."""
    seen = set()
    for seed in range(6):
        st_ = check_modes(seed, (2, 3, 4, 3, 1), "exact", 1.0, False)
        for k in (1, 2):
            seen |= {"inactive"} if st_.inactive[k].any() else set()
            seen |= {"active"} if st_.active[k].any() else set()
    assert seen == {"inactive", "active"}


def test_bab_decides_what_one_bound_cannot():
    """Layer 2: ``min(max(x1, 0), 0.5) - 0.51 <= -0.01`` and ``... - 0.49`` (max 0.01 for
    ``x1 >= 0.5``): one bound over the box is > 0 for both; splitting certifies the first and a
    witness the second."""
    w1 = jnp.array([[1.0, 0.0], [1.0, 0.0]])
    b1 = jnp.array([0.0, -0.5])
    w2 = jnp.array([[1.0, -1.0], [1.0, -1.0]])
    b2 = jnp.array([-0.51, -0.49])
    params = ((w1, b1), (w2, b2), (jnp.ones((1, 2)), jnp.zeros(1)))
    lo, hi = jnp.array([-1.0, -1.0]), jnp.array([1.0, 1.0])
    one = detector.crown_bounds(params, lo, hi)
    assert np.all(np.asarray(one.upper[1]) > 0)  # one bound over the box is not enough
    dec = detector.decide(params, lo, hi, jnp.zeros(2, bool))
    assert dec.inactive.tolist() == [True, False]
    assert dec.active.tolist() == [False, True]
    assert 0 < int(dec.rounds) <= detector.DEFAULT_ROUNDS


# ---------------------------------------------------------------------------------------------
# 4. Batched detector = per-network classify; estimates against exact references

BOX2 = ((-1.0, 1.0), (-1.0, 1.0))


@pytest.mark.parametrize(
    "arch, box, mode",
    [
        pytest.param((2, 3, 4, 3, 1), BOX2, "exact", marks=pytest.mark.slow),
        pytest.param((3, 4, 3, 1), ((-1.0, 1.0),) * 3, "crown", marks=pytest.mark.slow),
    ],
    ids=["exact-d2", "crown-d3"],
)
def test_make_detector_equals_per_network_classify(arch, box, mode):
    keys = jax.random.split(jax.random.key(0), 48)
    batch = jax.vmap(lambda k: nets.init_params(k, arch, "normal"))(keys)
    got = detector.make_detector(box, detector.DetectorSettings(mode=mode))(batch, jnp.arange(48))
    lo, hi = (np.array(v, np.float32) for v in zip(*box))
    fn = jit_classify(arch, mode)
    sample = jnp.asarray(detector.sample_points(lo, hi), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)
    for i in range(48):
        p = jax.tree.map(lambda x, i=i: x[i], batch)
        st_i = fn(p, jnp.asarray(lo), jnp.asarray(hi), sample, probe)
        want = detector.counts(st_i, i)
        for name in ("inactive", "unknown", "dead_layer"):
            np.testing.assert_array_equal(getattr(got, name)[i], getattr(want, name))


def test_resolve_mode_d_gt_1():
    assert detector.resolve_mode("auto", 2) == "exact"
    assert detector.resolve_mode("auto", 4) == "crown"
    assert detector.resolve_mode("crown", 1) == "crown"
    with pytest.raises(ValueError, match="mode 'ibp' is not"):
        detector.classify_deep(
            random_net(0, (2, 3, 3, 1)), -jnp.ones(2), jnp.ones(2), "ibp", [], []
        )


@pytest.mark.parametrize(
    "arch, box", [pytest.param((2, 3, 4, 1), 1.0, marks=pytest.mark.slow), ((2, 4, 4, 1), 10.0)]
)
def test_estimate_matches_lp_reference(arch, box):
    """Done-when setting: unknown < 1e-3, layer-2 bracket < 0.002 and the estimate's interval
    covers the LP reference's proportion on the same nets (trial i's net is rebuilt here)."""
    cfg = engine.TrainConfig(
        arch=arch, init="normal", problem=problems.Problem("x^2", ((-box, box),) * 2)
    ).validate()
    n = 60
    s = estimation.estimate_at_init(cfg, n, chunk_size=128, progress=False)
    layer2 = s["inactive_fraction_per_layer"][1]
    assert s["detector"]["mode"] == "exact"
    assert s["unknown_fraction"] < 1e-3
    lo_b, hi_b = layer2["bracket"]
    assert hi_b - lo_b < 0.002
    lo, hi = np.full(2, -box), np.full(2, box)
    ref_inactive = 0
    for i in range(n):
        params = engine.init_trial_params(cfg, engine.trial_key(0, i))
        ref, _ = lp_layer2_max(params, lo, hi)
        ref_inactive += int(np.sum(ref <= 0))
    ref_p = ref_inactive / (n * arch[2])
    assert lo_b - 1e-12 <= ref_p <= hi_b + 1e-12


@pytest.mark.slow
def test_layer2_closed_form_on_large_boxes():
    """arXiv 2412.06829: P(layer-2 neuron of [2, 3, ...] inactive) -> (2^2 + 1) / 4^3."""
    cfg = engine.TrainConfig(
        arch=(2, 3, 2, 1), init="normal", problem=problems.Problem("x^2", ((-1e3, 1e3),) * 2)
    ).validate()
    s = estimation.estimate_at_init(cfg, 100_000, progress=False, confidence=0.999)
    layer2 = s["inactive_fraction_per_layer"][1]
    assert layer2["ci"][0] <= 0.078125 <= layer2["ci"][1]
    assert s["unknown_fraction"] < 3e-3
