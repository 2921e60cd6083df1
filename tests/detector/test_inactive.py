"""The inactive-neuron detector against brute force and an independent exact d = 1 analysis.

References used here, none of which shares code with :mod:`jaxnn_nonconv.detector`:

* ``corner_max``: the first-layer max by enumerating all ``2^d`` corners (NumPy, float64).
* ``dense_preacts``: every hidden pre-activation on a dense grid plus random points of the box,
  evaluated by the network itself (``nets.hidden_preactivations``, float32, what training sees)
  and by a NumPy float64 forward pass.
* ``affine_pieces_max``: for ``d = 1``, the exact max over ``[a, b]`` of every hidden
  pre-activation by symbolic affine pieces in float64: each piece carries the affine map
  ``x -> S x + T`` of a layer's output, split at the roots of the next layer's pre-activations
  (a different algorithm from the detector's point evaluation at interpolated breakpoints).

"Up to ties": float32 and float64 disagree on signs within a few ulps of 0, so comparisons with
float64 references allow ``TIE`` times the layer's scale; the IBP certificate includes float
rounding, so "IBP-inactive => never > 0 at a point of the box" is checked exactly, in float32.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets

TIE = 1e-4  # relative: |z| <= TIE * scale counts as a tie between float32 and float64
HYPO = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# Independent references (NumPy, float64)


def np_params(params):
    return [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in params]


def np_preacts(params, x):
    """float64 forward pass: list of ``(n, l_k)`` hidden pre-activations."""
    out, h = [], np.asarray(x, np.float64)
    for w, b in np_params(params)[:-1]:
        z = h @ w.T + b
        out.append(z)
        h = np.maximum(z, 0)
    return out


def np_realization(params, x):
    h = np.asarray(x, np.float64)
    ps = np_params(params)
    for w, b in ps[:-1]:
        h = np.maximum(h @ w.T + b, 0)
    w, b = ps[-1]
    return (h @ w.T + b)[:, 0]


def corner_max(w, c, lo, hi):
    """First-layer max over the box by enumerating all 2^d corners; also the argmax corners."""
    d = len(lo)
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(d, -1).T
    z = corners @ np.asarray(w, np.float64).T + np.asarray(c, np.float64)
    return z.max(axis=0), corners[z.argmax(axis=0)]


def affine_pieces_max(params, a, b):
    """Exact max over [a, b] of every hidden pre-activation (d = 1), by affine pieces.

    Returns ``(maxes, n_breakpoints)``: per layer ``(l_k,)`` maxes, and per layer the number of
    distinct points (``a``, ``b`` and breakpoints of the earlier layers) the layer is linear between.
    """
    pieces = [(float(a), float(b), np.ones(1), np.zeros(1))]  # h(x) = S x + T on [x0, x1]
    maxes, n_points = [], []
    for w, c in np_params(params)[:-1]:
        n_points.append(len({p[0] for p in pieces} | {float(b)}))
        layer_max = np.full(w.shape[0], -np.inf)
        new = []
        for x0, x1, s, t in pieces:
            slope, inter = w @ s, w @ t + c  # z(x) = slope x + inter on [x0, x1]
            layer_max = np.maximum(layer_max, np.maximum(slope * x0, slope * x1) + inter)
            with np.errstate(divide="ignore", invalid="ignore"):
                roots = -inter / slope
            roots = np.unique(roots[(slope != 0) & (roots > x0) & (roots < x1)])
            edges = [x0, *roots.tolist(), x1]
            for u, v in zip(edges[:-1], edges[1:]):
                on = slope * (u + v) / 2 + inter > 0
                new.append((u, v, np.where(on, slope, 0.0), np.where(on, inter, 0.0)))
        maxes.append(layer_max)
        pieces = new
    return maxes, n_points


def dense_points(lo, hi, rng, n_random=4000):
    """A dense grid of the box (endpoints included) plus uniform random points, float64."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    d = len(lo)
    per_axis = {1: 20001, 2: 141, 3: 27}[d]
    axes = [np.linspace(lo[j], hi[j], per_axis) for j in range(d)]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(d, -1).T
    return np.concatenate([grid, rng.uniform(lo, hi, (n_random, d))])


@functools.cache
def _jit_preacts(arch):
    del arch  # one compilation per architecture
    return jax.jit(lambda params, x: nets.hidden_preactivations(params, x))


def f32_preacts(params, x):
    """The network's own float32 pre-activations at ``x`` (points rounded to float32)."""
    return [np.asarray(z) for z in _jit_preacts(nets.arch_of(params))(params, jnp.asarray(x))]


def f32_box(lo, hi):
    return np.asarray(lo, np.float32), np.asarray(hi, np.float32)


# ---------------------------------------------------------------------------------------------
# Random networks with many inactive neurons


def random_net(seed, arch, bias_shift=-0.3, dead_rows=0.15, zero_frac=0.1):
    """float32 params: Gaussian layers, biases shifted down; some rows of layers >= 2 made
    sign-dead, some entries zeroed (exact zeros are the ties sign tests must get right)."""
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:])):
        w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        b = rng.standard_normal(n_out) * 0.7 + (bias_shift if k < len(arch) - 2 else 0.0)
        if 0 < k < len(arch) - 2:
            dead = rng.random(n_out) < dead_rows
            w[dead] = -np.abs(w[dead])
            b[dead] = -np.abs(b[dead])
        w[rng.random(w.shape) < zero_frac] = 0.0
        params.append((jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32)))
    return tuple(params)


def random_box(rng, d):
    lo = rng.uniform(-2.0, 1.5, d)
    return lo, lo + rng.uniform(0.2, 3.0, d)


# ---------------------------------------------------------------------------------------------
# 1. First layer: exact formula vs corner enumeration and dense sampling


@pytest.mark.parametrize("d", [1, 2, 3])
def test_first_layer_matches_brute_force(d):
    rng = np.random.default_rng(100 + d)
    n_inactive = n_active = 0
    for trial in range(6):
        lo, hi = f32_box(*random_box(rng, d))
        params = random_net(1000 * d + trial, (d, 24, 1), bias_shift=-0.5)
        w, c = (np.asarray(v) for v in params[0])
        zmax = np.asarray(detector.first_layer_max(params, jnp.asarray(lo), jnp.asarray(hi)))
        dead = np.asarray(detector.first_layer_inactive(params, jnp.asarray(lo), jnp.asarray(hi)))
        ref_max, corner = corner_max(w, c, lo, hi)
        scale = np.abs(w) @ np.maximum(np.abs(lo), np.abs(hi)) + np.abs(c)
        np.testing.assert_allclose(zmax, ref_max, atol=1e-6 * scale.max(), rtol=1e-6)
        np.testing.assert_array_equal(
            dead[np.abs(ref_max) > TIE * scale], (ref_max <= 0)[np.abs(ref_max) > TIE * scale]
        )
        z = f32_preacts(params, dense_points(lo, hi, rng))[0]  # (n, l_1), float32 network
        tie = TIE * scale
        # inactive: no point of the box is active (d = 1: exactly, the corner is the same product)
        assert np.all(z[:, dead] <= (0 if d == 1 else tie[dead]))
        # active: the maximizing corner is a witness
        zc = np.array([f32_preacts(params, corner[j : j + 1])[0][0, j] for j in range(len(c))])
        assert np.all(zc[~dead] > -tie[~dead])
        assert np.all((zc > 0)[~dead & (ref_max > tie)])
        n_inactive += int(dead.sum())
        n_active += int((~dead).sum())
    assert n_inactive > 10 and n_active > 10  # both outcomes exercised


def test_first_layer_zero_bias_on_unit_cube_is_sign_test():
    params = random_net(3, (3, 64, 1))
    params = ((params[0][0], jnp.zeros(64)), params[1])
    dead = detector.first_layer_inactive(params, jnp.zeros(3), jnp.ones(3))
    np.testing.assert_array_equal(np.asarray(dead), np.all(np.asarray(params[0][0]) <= 0, axis=1))


# ---------------------------------------------------------------------------------------------
# Helpers shared by the three-valued tests

ARCHS_1D = [(1, 5, 3, 4, 1), (1, 3, 6, 2, 3, 1)]
ARCHS_ND = [(2, 4, 4, 1), (3, 4, 3, 3, 1)]
EXACT_MAX_POINTS = 1024


jit_ibp_upper = jax.jit(detector.ibp_upper, static_argnums=3)
jit_grid_cells = jax.jit(detector.grid_cells, static_argnums=2)


@functools.cache
def jit_classify(arch, mode, max_points=EXACT_MAX_POINTS, grid=None):
    """One compilation per (arch, mode, ...): params, box, sample and probe are traced.

    Returns ``(status, exact_maxes)``; the maxes of :func:`detector.exact_1d_max` in exact mode.
    """
    del arch

    def fn(params, lo, hi, sample, probe):
        status = detector.classify_neurons(
            params,
            lo,
            hi,
            sample,
            probe=probe,
            settings=detector.DetectorSettings(mode=mode, grid=grid, max_points=max_points),
        )
        maxes = None
        if mode == "exact":
            maxes = detector.exact_1d_max(params, lo[0], hi[0], max_points)
        return status, maxes

    return jax.jit(fn)


def run_classify(params, lo, hi, mode, max_points=EXACT_MAX_POINTS, grid=None, maxes=False):
    sample = detector.sample_points(lo, hi)
    probe = detector.probe_points(lo, hi)
    fn = jit_classify(nets.arch_of(params), mode, max_points, grid)
    args = [jnp.asarray(v, jnp.float32) for v in (lo, hi, sample, probe)]
    status, exact = jax.tree.map(np.asarray, fn(params, *args))
    out = (status, np.asarray(args[2]), np.asarray(args[3]))
    return (*out, exact) if maxes else out


def layer_scales(params, lo, hi):
    """A generous scale of every hidden pre-activation (IBP-style bound of |z|) for tie tolerances."""
    r = np.maximum(np.abs(lo), np.abs(hi)).astype(np.float64)
    out = []
    for w, b in np_params(params)[:-1]:
        s = np.abs(w) @ r + np.abs(b)
        out.append(s + 1e-3)
        r = s
    return out


def check_three_valued(params, lo, hi, status, sample, probe, rng, mode):
    """Invariants that hold in every mode."""
    n_layers = len(params) - 1
    pts = dense_points(lo, hi, rng)
    z32 = f32_preacts(params, pts)
    z_sample = f32_preacts(params, sample)
    z_witness = f32_preacts(params, np.concatenate([sample, probe]))
    scales = layer_scales(params, lo, hi)
    for k in range(n_layers):
        ina, act, sd = status.inactive[k], status.active[k], status.sign_dead[k]
        assert not np.any(ina & act), f"layer {k + 1}: both inactive and active"
        # inactive: never active at a point of the box (layers >= 2: exactly, IBP/sign certified;
        # the exact d = 1 mode and layer 1 up to ties)
        zmax = z32[k].max(axis=0)
        strict = k > 0 and mode == "ibp"  # the IBP bound includes float rounding: no ties
        tol = 0.0 if strict else TIE * scales[k][ina]
        assert np.all(zmax[ina] <= tol), f"layer {k + 1} inactive but active somewhere"
        # sign-dead: recomputed from the weights; implies inactive, and exactly never > 0
        w, b = (np.asarray(v) for v in params[k])
        expect_sd = np.all(w <= 0, axis=1) & (b <= 0) if k > 0 else np.zeros_like(sd)
        np.testing.assert_array_equal(sd, expect_sd)
        assert np.all(ina[sd]) and np.all(zmax[sd] <= 0)
        # empirical: never > 0 on the fixed sample
        np.testing.assert_array_equal(status.empirical_inactive[k], ~np.any(z_sample[k] > 0, 0))
        # active in ibp mode (layers >= 2): a genuine witness among the detector's points
        # (exact mode: checked against the affine-pieces reference instead)
        if k > 0 and mode == "ibp":
            np.testing.assert_array_equal(act, np.any(z_witness[k] > 0, axis=0))
    # dead layer => the realization is constant on the box
    c = detector.counts(jax.tree.map(jnp.asarray, status))
    if bool(c.dead_layer):
        out = f32_realization(params, pts)
        assert np.ptp(out) <= 1e-6 * (1 + np.abs(out).max())
        assert np.ptp(np_realization(params, pts)) <= 1e-5 * (1 + np.abs(out).max())
    return c


_jit_realization = jax.jit(nets.realization)


def f32_realization(params, x):
    return np.asarray(_jit_realization(params, jnp.asarray(x, jnp.float32)))


seeds = st.integers(0, 2**31 - 1)
shifts = st.sampled_from([-1.0, -0.5, -0.2, 0.0, 0.3])


# ---------------------------------------------------------------------------------------------
# 2. Three-valued soundness (hypothesis)


@HYPO
@given(seed=seeds, arch=st.sampled_from(ARCHS_1D), shift=shifts)
def test_exact_1d_against_affine_pieces_and_grid(seed, arch, shift):
    rng = np.random.default_rng(seed)
    params = random_net(seed, arch, bias_shift=shift)
    lo, hi = f32_box(*random_box(rng, 1))
    status, sample, probe, (maxes, overflow) = run_classify(params, lo, hi, "exact", maxes=True)
    c = check_three_valued(params, lo, hi, status, sample, probe, rng, "exact")
    ref, _ = affine_pieces_max(params, lo[0], hi[0])
    scales = layer_scales(params, lo, hi)
    assert not status.overflow
    # the detector's own maxima agree with the affine-pieces maxima
    assert not any(bool(o) for o in overflow)
    for k in range(len(arch) - 2):
        np.testing.assert_allclose(np.asarray(maxes[k]), ref[k], atol=TIE * scales[k].max())
        decided = np.abs(ref[k]) > TIE * scales[k]
        # exact mode decides every neuron, as the float64 reference does (up to ties)
        assert not np.any(~status.inactive[k] & ~status.active[k])
        np.testing.assert_array_equal(status.inactive[k][decided], (ref[k] <= 0)[decided])
        # dense-grid brute force: active on the grid => active; inactive => never > 0 on the grid
        zgrid = np_preacts(params, dense_points(lo, hi, rng))[k].max(axis=0)
        assert np.all(status.active[k][zgrid > TIE * scales[k]])
        assert np.all(zgrid[status.inactive[k]] <= TIE * scales[k][status.inactive[k]])
    assert np.asarray(c.unknown).sum() == 0


grids = st.sampled_from([1, None])  # the whole box (many unknowns) or the default grid


@HYPO
@given(seed=seeds, arch=st.sampled_from(ARCHS_1D), shift=shifts, grid=grids)
def test_ibp_1d_never_contradicts_exact(seed, arch, shift, grid):
    """IBP is never ``active`` where the exact analysis says inactive, nor ``inactive`` where it
    says active; it may say ``unknown``."""
    rng = np.random.default_rng(seed)
    params = random_net(seed, arch, bias_shift=shift)
    lo, hi = f32_box(*random_box(rng, 1))
    status, sample, probe = run_classify(params, lo, hi, "ibp", grid=grid)
    check_three_valued(params, lo, hi, status, sample, probe, rng, "ibp")
    ref, _ = affine_pieces_max(params, lo[0], hi[0])
    scales = layer_scales(params, lo, hi)
    for k in range(len(arch) - 2):
        tie = TIE * scales[k]
        assert np.all(ref[k][status.active[k]] > -tie[status.active[k]])
        assert np.all(ref[k][status.inactive[k]] <= tie[status.inactive[k]])


@HYPO
@given(seed=seeds, arch=st.sampled_from(ARCHS_ND), shift=shifts, grid=grids)
def test_ibp_nd_sound_on_dense_samples(seed, arch, shift, grid):
    rng = np.random.default_rng(seed)
    params = random_net(seed, arch, bias_shift=shift)
    lo, hi = f32_box(*random_box(rng, arch[0]))
    status, sample, probe = run_classify(params, lo, hi, "ibp", grid=grid)
    check_three_valued(params, lo, hi, status, sample, probe, rng, "ibp")


def test_three_valued_outcomes_all_occur():
    """The random networks above do exercise every outcome (else the tests could not fail)."""
    rng = np.random.default_rng(0)
    seen = {"inactive_deep": 0, "not_sign_dead": 0, "active_deep": 0, "unknown_ibp": 0, "dead": 0}
    for seed in range(40):
        arch = ARCHS_1D[seed % len(ARCHS_1D)]
        params = random_net(seed, arch, bias_shift=[-1.0, -0.5, 0.0][seed % 3])
        lo, hi = f32_box(*random_box(rng, 1))
        ex, _, _ = run_classify(params, lo, hi, "exact")
        ib, _, _ = run_classify(params, lo, hi, "ibp", grid=1 if seed % 2 else None)
        for k in range(1, len(arch) - 2):
            seen["inactive_deep"] += int(ex.inactive[k].sum())
            seen["not_sign_dead"] += int((ex.inactive[k] & ~ex.sign_dead[k]).sum())
            seen["active_deep"] += int(ex.active[k].sum())
            seen["unknown_ibp"] += int((~ib.inactive[k] & ~ib.active[k]).sum())
        seen["dead"] += int(detector.counts(jax.tree.map(jnp.asarray, ex)).dead_layer)
    assert all(v > 0 for v in seen.values()), seen


def test_exact_overflow_is_reported_and_stays_sound():
    """With too little breakpoint capacity the exact mode flags overflow and certifies no deep
    neuron inactive unless it is sign-dead."""
    arch = (1, 6, 6, 6, 1)
    hits = 0
    for seed in range(6):
        params = random_net(seed, arch, bias_shift=0.0, dead_rows=0.0)
        lo, hi = f32_box(-2.0, 2.0)
        lo, hi = np.atleast_1d(lo), np.atleast_1d(hi)
        status, _, _ = run_classify(params, lo, hi, "exact", max_points=8)
        _, n_points = affine_pieces_max(params, lo[0], hi[0])
        if abs(max(n_points) - 8) <= 1:
            continue  # float32 and float64 may count a near-double root differently
        assert bool(status.overflow) == (max(n_points) > 8)
        if status.overflow:
            hits += 1
            k_over = [k for k, n in enumerate(n_points) if n > 8]
            for k in k_over:
                np.testing.assert_array_equal(status.inactive[k], status.sign_dead[k])
    assert hits > 0


# ---------------------------------------------------------------------------------------------
# Pieces: IBP, grid cells, probes, counts, the vmapped detector


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ibp_upper_bounds_dense_max_and_tightens(d):
    rng = np.random.default_rng(d)
    params = random_net(d, (d, 5, 5, 1), bias_shift=0.0)
    lo, hi = f32_box(*random_box(rng, d))
    zmax = [z.max(axis=0) for z in f32_preacts(params, dense_points(lo, hi, rng))]
    coarse = jit_ibp_upper(params, jnp.asarray(lo), jnp.asarray(hi), 1)
    fine = jit_ibp_upper(params, jnp.asarray(lo), jnp.asarray(hi), {1: 256, 2: 16, 3: 6}[d])
    for k in range(2):
        assert np.all(np.asarray(fine[k]) >= zmax[k])
        assert np.all(np.asarray(coarse[k]) >= zmax[k])
    # layer 1 on the whole box is the exact max (plus a rounding margin)
    np.testing.assert_allclose(
        np.asarray(coarse[0]), corner_max(*params[0], lo, hi)[0], rtol=1e-5, atol=1e-5
    )
    # splitting tightens layer 2 (sum of bounds strictly smaller for these generic nets)
    assert float(jnp.sum(fine[1])) < float(jnp.sum(coarse[1]))


@pytest.mark.parametrize("d,grid", [(1, 7), (2, 5), (3, 3)])
def test_grid_cells_cover_the_box(d, grid):
    rng = np.random.default_rng(d)
    lo, hi = f32_box(*random_box(rng, d))
    clo, chi = (np.asarray(v) for v in jit_grid_cells(jnp.asarray(lo), jnp.asarray(hi), grid))
    assert clo.shape == chi.shape == (grid**d, d)
    assert np.all(clo < chi)
    np.testing.assert_array_equal(clo.min(0), lo)
    np.testing.assert_array_equal(chi.max(0), hi)
    x = np.concatenate([rng.uniform(lo, hi, (2000, d)), np.stack([lo, hi])]).astype(np.float32)
    inside = np.all((x[:, None, :] >= clo[None]) & (x[:, None, :] <= chi[None]), axis=2)
    assert np.all(inside.any(axis=1))
    # total volume equals the box volume
    np.testing.assert_allclose(np.prod(chi - clo, axis=1).sum(), np.prod(hi - lo), rtol=1e-5)


def test_probe_and_sample_points_lie_in_the_box():
    lo, hi = np.array([-1.0, 0.5, 2.0]), np.array([0.0, 3.0, 2.5])
    for pts in (detector.probe_points(lo, hi), detector.sample_points(lo, hi, 500)):
        assert np.all((pts >= lo) & (pts <= hi))
    probe = detector.probe_points(lo, hi, grid=4)
    assert len(probe) == 8 + 64
    np.testing.assert_array_equal(detector.sample_points(lo, hi), detector.sample_points(lo, hi))


def test_counts_match_status_by_hand():
    rng = np.random.default_rng(0)
    for trial in range(20):
        masks = {
            f: tuple(rng.random(n) < 0.4 for n in (3, 5, 2))
            for f in ("inactive", "active", "sign_dead", "empirical_inactive")
        }
        masks["active"] = tuple(a & ~i for a, i in zip(masks["active"], masks["inactive"]))
        if trial % 4 == 0:
            masks["inactive"] = (np.ones(3, bool), *masks["inactive"][1:])
        status = detector.Status(**masks, overflow=np.bool_(trial % 5 == 0))
        c = jax.tree.map(np.asarray, detector.counts(jax.tree.map(jnp.asarray, status), trial))
        unknown = [~i & ~a for i, a in zip(masks["inactive"], masks["active"])]
        np.testing.assert_array_equal(c.inactive, [m.sum() for m in masks["inactive"]])
        np.testing.assert_array_equal(c.unknown, [m.sum() for m in unknown])
        np.testing.assert_array_equal(c.sign_dead, [m.sum() for m in masks["sign_dead"]])
        np.testing.assert_array_equal(c.empirical, [m.sum() for m in masks["empirical_inactive"]])
        picks = [trial % n for n in (3, 5, 2)]
        np.testing.assert_array_equal(
            c.sampled_inactive, [m[j] for m, j in zip(masks["inactive"], picks)]
        )
        np.testing.assert_array_equal(c.sampled_unknown, [m[j] for m, j in zip(unknown, picks)])
        assert c.dead_layer == any(m.all() for m in masks["inactive"])
        assert c.dead_layer_possible == any(not m.any() for m in masks["active"])
        assert c.overflow == (trial % 5 == 0)


@pytest.mark.parametrize(
    "box,arch,mode",
    [(((-1.0, 2.0),), ARCHS_1D[0], "exact"), (((-1.0, 2.0), (0.0, 1.0)), ARCHS_ND[0], "ibp")],
)
def test_make_detector_equals_per_network_classify(box, arch, mode):
    """The jit-compiled, vmapped detector returns, per trial, :func:`counts` of
    :func:`classify_neurons`."""
    nets_list = [random_net(s, arch, bias_shift=-0.4) for s in range(12)]
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *nets_list)
    trials = jnp.arange(100, 112)
    detect = detector.make_detector(
        box, detector.DetectorSettings(mode=mode, max_points=EXACT_MAX_POINTS)
    )
    got = jax.tree.map(np.asarray, detect(batch, trials))
    lo, hi = (np.array(v) for v in zip(*box))
    for i, params in enumerate(nets_list):
        status, _, _ = run_classify(params, lo, hi, mode)
        want = detector.counts(jax.tree.map(jnp.asarray, status), 100 + i)
        for field in want._fields:
            np.testing.assert_array_equal(getattr(got, field)[i], np.asarray(getattr(want, field)))


def test_detect_flat_matches_make_detector():
    arch = (1, 5, 1)
    theta = jnp.stack([nets.to_flat(random_net(s, arch)) for s in range(7)])
    got = detector.detect_flat(theta, arch, ((0.0, 2.0),))
    want = [
        int(np.sum(corner_max(*nets.from_flat(t, arch)[0], [0.0], [2.0])[0] <= 0)) for t in theta
    ]
    assert np.asarray(got.inactive[:, 0]).tolist() == want


def test_resolve_mode_errors():
    with pytest.raises(ValueError, match="unknown mode"):
        detector.resolve_mode("fast", 1)
    with pytest.raises(ValueError, match="dimension 1 or 2"):
        detector.resolve_mode("exact", 3)
    with pytest.raises(ValueError, match="dimension 1"):
        detector.exact_1d_max(random_net(0, (2, 3, 1)), jnp.array(0.0), jnp.array(1.0))
