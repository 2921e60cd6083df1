"""Adversarial soundness of every detector mode: never a wrong certificate.

A certificate is wrong when a neuron is called ``inactive`` although the float network (the
library's own ``nets.hidden_preactivations``, what training evaluates) is ``> 0`` at some float
input of the box, or ``active`` although the real network's maximum over the box is clearly
``< 0`` (below ``-TOL_EPS * eps * scale``, the rounding any float evaluation may add).

References, independent of the detector code:

* ``pieces_1d``: ``d = 1`` affine pieces in exact rational arithmetic (``fractions.Fraction``,
  the float parameters and box taken as exact rationals) or float64: every breakpoint of every
  layer and the exact maximum of every hidden pre-activation;
* ``lp_layer2_max``: ``d = 2``, layer 2, one linear program per first-layer activation pattern;
* a search of the box for a float input where a claimed-inactive neuron is ``> 0``: a dense grid,
  the corners, the breakpoints above (or, in ``d = 2``, the vertices of the first-layer lines)
  rounded to the dtype with their ``nextafter`` neighbours, and a local pattern search from the
  best points down to one ulp (for every neuron in ``d > 1``, where the grid may miss a bump).

Adversaries: wide boxes (up to ``[-1e6, 1e6]``), large weights, exact zeros and zero biases,
narrow bumps whose peak is ``0`` or ``+-1e-6`` / ``+-1e-3`` relative, first-layer sums that round
to exactly 0 at a corner (where a fused multiply-add in the network gives the other sign), bounds
that overflow to NaN on part of the box, and "planted" near-ties: a random neuron's bias shifted
so that its real maximum is about 0.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.optimize import linprog

from jaxnn_nonconv import detector
from jaxnn_nonconv.core import nets

TOL_EPS = 256  # "clearly < 0": below -TOL_EPS * eps * scale (generous rounding of any evaluation)
MODES_BY_D = {1: ("exact", "ibp", "crown"), 2: ("exact", "ibp", "crown"), 3: ("ibp", "crown")}
FAST = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRONG = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# Networks as NumPy float64 arrays whose values are exactly representable in the dtype


def representable(params, dtype):
    """Round every parameter to ``dtype`` (the returned float64 values are exact in it)."""
    return [
        (np.asarray(w, dtype).astype(np.float64), np.asarray(b, dtype).astype(np.float64))
        for w, b in params
    ]


def to_jax(params, dtype):
    return tuple((jnp.asarray(w, dtype), jnp.asarray(b, dtype)) for w, b in params)


def gaussian_net(rng, arch, scale=1.0, shift=0.0, zero_frac=0.1, zero_bias=False):
    params = []
    for n_in, n_out in zip(arch[:-1], arch[1:]):
        w = rng.standard_normal((n_out, n_in)) * scale
        b = (rng.standard_normal(n_out) + shift) * scale
        w[rng.random(w.shape) < zero_frac] = 0.0
        if zero_bias:
            b[:] = 0.0
        params.append((w, b))
    return params


def bump_net(center, k, peak, depth, d=1, extra=0, rng=None):
    """Layer 2 neuron 0 is ``peak - k sum_i |x_i - c_i|`` (max ``peak`` at ``x = c``, a bump of
    width ``~1/k``); layers ``3..depth`` pass it on as ``relu(y)``. ``extra`` random neurons are
    added to every hidden layer (the bump neurons ignore them)."""
    rng = rng or np.random.default_rng(0)
    c = np.asarray(center, np.float64).reshape(d)
    w1 = np.concatenate([np.eye(d), -np.eye(d)])
    b1 = np.concatenate([-c, c])
    layers = [(w1, b1)]
    v = np.full((1, 2 * d), -float(k))
    layers.append((v, np.array([float(peak)])))
    for _ in range(depth - 2):
        # y_m = relu(y_{m-1}) + (peak - peak_prev): the peak value stays ``peak``
        layers.append((np.ones((1, 1)), np.zeros(1)))
    out = []
    for i, (w, b) in enumerate(layers):
        n_out, n_in = w.shape
        add_in = 0 if i == 0 else extra
        add_out = extra
        w2 = rng.standard_normal((n_out + add_out, n_in + add_in))
        w2[:n_out, :n_in] = w
        w2[:n_out, n_in:] = 0.0  # the bump neuron ignores the extra neurons
        b2 = np.concatenate([b, rng.standard_normal(add_out)])
        out.append((w2, b2))
    out.append((np.ones((1, out[-1][0].shape[0])), np.zeros(1)))
    return out


def issue_example():
    """Issue 10: ``relu(x - 0.5), relu(0.5 - x)``, then ``1 - 1000 h1 - 1000 h2`` on +-1e6."""
    return [
        (np.array([[1.0], [-1.0]]), np.array([-0.5, 0.5])),
        (np.array([[-1000.0, -1000.0]]), np.array([1.0])),
        (np.ones((1, 1)), np.zeros(1)),
    ]


# ---------------------------------------------------------------------------------------------
# Independent references


def pieces_1d(params, a, b, exact=True):
    """Affine pieces of a d = 1 net on ``[a, b]``: ``(maxes, breakpoints)``.

    ``maxes``: per hidden layer, a list of the exact (Fraction) or float64 maxima of every
    pre-activation; ``breakpoints``: every point where some hidden neuron changes sign.
    """
    num = Fraction if exact else float
    ps = [
        ([num(float(v)) for v in w.ravel()], w.shape, [num(float(v)) for v in bb])
        for w, bb in params[:-1]
    ]
    pieces = [(num(float(a)), num(float(b)), [num(1)], [num(0)])]  # h = S x + T on [x0, x1]
    maxes, breaks = [], []
    for flat, (n_out, n_in), bias in ps:
        best = [None] * n_out
        new = []
        for x0, x1, s, t in pieces:
            slope = [sum(flat[i * n_in + j] * s[j] for j in range(n_in)) for i in range(n_out)]
            inter = [
                sum(flat[i * n_in + j] * t[j] for j in range(n_in)) + bias[i] for i in range(n_out)
            ]
            roots = set()
            for i in range(n_out):
                top = max(slope[i] * x0, slope[i] * x1) + inter[i]
                best[i] = top if best[i] is None else max(best[i], top)
                if slope[i] != 0:
                    r = -inter[i] / slope[i]
                    if x0 < r < x1:
                        roots.add(r)
            breaks.extend(roots)
            edges = [x0, *sorted(roots), x1]
            for u, v in zip(edges[:-1], edges[1:]):
                mid = (u + v) / 2
                on = [slope[i] * mid + inter[i] > 0 for i in range(n_out)]
                new.append(
                    (
                        u,
                        v,
                        [slope[i] if on[i] else num(0) for i in range(n_out)],
                        [inter[i] if on[i] else num(0) for i in range(n_out)],
                    )
                )
        maxes.append(best)
        pieces = new
    return maxes, breaks


def lp_layer2_max(params, lo, hi):
    """d = 2: exact (float64) max of every layer-2 pre-activation, one LP per pattern."""
    (w, c), (v, b) = params[0], params[1]
    best = np.full(v.shape[0], -np.inf)
    arg = np.zeros((v.shape[0], 2))
    for pattern in itertools.product([0.0, 1.0], repeat=w.shape[0]):
        s = np.array(pattern)
        a_ub = np.where(s[:, None] == 1, -w, w)
        b_ub = np.where(s == 1, c, -c)
        for i in range(v.shape[0]):
            res = linprog(
                -((v[i] * s) @ w), A_ub=a_ub, b_ub=b_ub, bounds=list(zip(lo, hi)), method="highs"
            )
            val = (v[i] * s) @ c + b[i] - res.fun if res.status == 0 else -np.inf
            if val > best[i]:
                best[i], arg[i] = val, res.x
    return best, arg


def np_preacts(params, x):
    """float64 forward pass: list of ``(n, l_k)``."""
    out, h = [], np.asarray(x, np.float64)
    for w, b in params[:-1]:
        z = h @ w.T + b
        out.append(z)
        h = np.maximum(z, 0)
    return out


def layer_scales(params, lo, hi):
    """Per hidden layer, ``(l_k,)`` magnitude of the terms of its pre-activation on the box."""
    r = np.maximum(np.abs(lo), np.abs(hi))
    out = []
    for w, b in params[:-1]:
        r = np.abs(w) @ r + np.abs(b)
        out.append(r)
    return out


@functools.cache
def _jit_preacts(arch, dtype):
    del arch, dtype  # one compilation per architecture and dtype
    return jax.jit(nets.hidden_preactivations)


def float_preacts(params, x, dtype):
    """The library's float network at float inputs ``x: (n, d)`` of ``dtype``."""
    fn = _jit_preacts(nets.arch_of(to_jax(params, dtype)), dtype)
    out = [np.zeros((0, w.shape[0])) for w, _ in params[:-1]]
    for s in range(0, len(x), 65536):
        z = fn(to_jax(params, dtype), jnp.asarray(x[s : s + 65536], dtype))
        out = [np.concatenate([o, np.asarray(v, np.float64)]) for o, v in zip(out, z)]
    return out


def ulp_neighbours(x, lo, hi, dtype, steps):
    """``x: (n, d)`` rounded to ``dtype`` and its ``nextafter`` neighbours, ``+-steps`` ulps per
    coordinate (all combinations for ``d <= 2``, one coordinate at a time otherwise)."""
    x = np.clip(np.asarray(x, dtype), np.asarray(lo, dtype), np.asarray(hi, dtype))
    d = x.shape[1]
    offs = range(-steps, steps + 1)
    moves = (
        list(itertools.product(offs, repeat=d))
        if d <= 2
        else [tuple(o if j == i else 0 for j in range(d)) for i in range(d) for o in offs]
    )
    out = []
    for move in moves:
        y = x.copy()
        for j, m in enumerate(move):
            for _ in range(abs(m)):
                y[:, j] = np.nextafter(y[:, j], np.asarray(hi if m > 0 else lo, dtype)[j])
        out.append(y)
    y = np.concatenate(out)
    return np.clip(y, np.asarray(lo, dtype), np.asarray(hi, dtype))


def local_search(params, k, j, starts, lo, hi, dtype, rounds=40):
    """Pattern search maximizing the float64 net's neuron ``j`` of layer ``k`` from ``starts``,
    steps shrinking from a tenth of the box to one ulp; returns the visited best points."""
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    x = np.array(starts, np.float64)
    d = x.shape[1]
    step = (hi64 - lo64) / 10
    rng = np.random.default_rng(0)
    dirs = np.concatenate([np.eye(d), -np.eye(d), rng.standard_normal((4 * d, d))])
    floor = np.maximum(np.abs(lo64), np.abs(hi64)) * np.finfo(dtype).eps
    for _ in range(rounds):
        cand = np.clip(x[:, None, :] + dirs[None] * step[None, None, :], lo64, hi64)
        cand = np.concatenate([x[:, None, :], cand], axis=1)  # (n, 1 + D, d)
        vals = np_preacts(params, cand.reshape(-1, d))[k][:, j].reshape(cand.shape[:2])
        x = cand[np.arange(len(x)), np.argmax(vals, axis=1)]
        step = np.maximum(step / 2, floor)
    return x


def search_points(params, lo, hi, dtype, extra=()):
    """Float inputs of the box where a positive pre-activation is most likely (see module)."""
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    d = len(lo64)
    per_axis = {1: 4001, 2: 161, 3: 25}[d]
    axes = [np.linspace(lo64[i], hi64[i], per_axis) for i in range(d)]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(d, -1).T
    corners = np.array(list(itertools.product(*zip(lo64, hi64))))
    sample = detector.sample_points(lo64, hi64)
    pts = [grid, corners, sample, *(np.asarray(e, np.float64).reshape(-1, d) for e in extra)]
    if d == 2:
        pts.append(arrangement_vertices(params[0][0], params[0][1], lo64, hi64))
    near = np.concatenate([p for p in pts[1:] if len(p)])
    if d > 1:  # no exact reference for every layer: climb every neuron from its best points
        base = np.concatenate([grid, near])
        z = np_preacts(params, base)
        near = np.concatenate(
            [near]
            + [
                local_search(params, k, j, base[np.argsort(zk[:, j])[-8:]], lo, hi, dtype)
                for k, zk in enumerate(z)
                for j in range(zk.shape[1])
            ]
        )
    return np.concatenate([np.asarray(grid, dtype), ulp_neighbours(near, lo, hi, dtype, 2)])


def arrangement_vertices(w, c, lo, hi):
    """d = 2: intersections of the first-layer lines with each other and with the box edges."""
    out = []
    for j in range(w.shape[0]):
        for a in (0, 1):
            o = 1 - a
            if w[j, o] != 0:
                for e in (lo[a], hi[a]):
                    p = np.zeros(2)
                    p[a], p[o] = e, -(c[j] + w[j, a] * e) / w[j, o]
                    out.append(p)
    for i, j in itertools.combinations(range(w.shape[0]), 2):
        m = np.array([w[i], w[j]])
        if abs(np.linalg.det(m)) > 1e-300:
            out.append(np.linalg.solve(m, -np.array([c[i], c[j]])))
    out = np.array(out).reshape(-1, 2)
    ok = np.all(np.isfinite(out), 1)
    return np.clip(out[ok], lo, hi)


# ---------------------------------------------------------------------------------------------
# The detector, and the check


@functools.cache
def _jit_classify(arch, mode, dtype):
    del arch, dtype

    def fn(params, lo, hi, sample, probe):
        return detector.classify_neurons(
            params, lo, hi, sample, probe=probe, settings=detector.DetectorSettings(mode=mode)
        )

    return jax.jit(fn)


def run_detector(params, lo, hi, mode, dtype):
    lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    args = [
        jnp.asarray(v, dtype)
        for v in (lo, hi, detector.sample_points(lo64, hi64), detector.probe_points(lo64, hi64))
    ]
    fn = _jit_classify(nets.arch_of(to_jax(params, dtype)), mode, dtype)
    return jax.tree.map(np.asarray, fn(to_jax(params, dtype), *args))


def references(params, lo, hi, dtype):
    """``(real_max, extra_points)``: per hidden layer the real max (``None`` where unknown) and
    points near the maximizers / breakpoints."""
    d = len(lo)
    n_hidden = len(params) - 1
    if d == 1:
        small = sum(w.size for w, _ in params) <= 40
        maxes, breaks = pieces_1d(params, lo[0], hi[0], exact=small)
        real = [np.array([float(m) for m in layer]) for layer in maxes]
        return real, np.array([float(x) for x in breaks], np.float64).reshape(-1, 1)
    real = [None] * n_hidden
    if d == 2 and n_hidden >= 2:
        real[1], arg = lp_layer2_max(params, lo, hi)
        return real, arg
    return real, np.zeros((0, d))


def check(params, lo, hi, dtype, modes=None, require_active_ref=False):
    """Run every mode on ``params`` (float64 values exact in ``dtype``) over ``[lo, hi]`` and
    assert that no certificate is wrong. Returns ``{mode: status}``."""
    dtype = np.dtype(dtype)
    lo, hi = np.asarray(lo, dtype), np.asarray(hi, dtype)
    params = representable(params, dtype)
    d = len(lo)
    real, extra = references(params, lo, hi, dtype)
    pts = search_points(params, lo, hi, dtype, extra=[extra])
    z = float_preacts(params, pts, dtype)
    scales = layer_scales(params, lo.astype(np.float64), hi.astype(np.float64))
    tol = [TOL_EPS * float(np.finfo(dtype).eps) * s for s in scales]
    statuses = {}
    for mode in modes or MODES_BY_D[d]:
        status = run_detector(params, lo, hi, mode, dtype)
        statuses[mode] = status
        for k in range(len(params) - 1):
            ina, act = status.inactive[k], status.active[k]
            assert not np.any(ina & act), f"{mode}: layer {k + 1} both inactive and active"
            zmax = z[k].max(axis=0)
            for j in np.flatnonzero(ina):
                # float inputs near the best points found, refined down to one ulp
                top = pts[np.argsort(z[k][:, j])[-4:]]
                fine = local_search(params, k, j, top, lo, hi, dtype)
                zj = float_preacts(params, ulp_neighbours(fine, lo, hi, dtype, 3), dtype)[k][:, j]
                best = max(zmax[j], zj.max())
                assert best <= 0, (
                    f"{mode} ({dtype}): layer {k + 1} neuron {j} certified inactive, but the "
                    f"float network is {best!r} > 0 at an input of the box"
                )
            witnessed = zmax > -tol[k]
            if real[k] is not None:
                witnessed |= real[k] > -tol[k]
            bad = act & ~witnessed
            assert not np.any(bad), (
                f"{mode} ({dtype}): layer {k + 1} neurons {np.flatnonzero(bad)} certified active, "
                f"but the real max {real[k][bad] if real[k] is not None else zmax[bad]} is < 0"
            )
    return statuses


def plant_tie(params, lo, hi, layer, neuron, rel, dtype):
    """Shift one bias so that the neuron's real max is about ``rel * scale`` (0: a tie)."""
    params = representable(params, dtype)
    real, extra = references(params, lo, hi, dtype)
    if real[layer] is None:
        pts = search_points(params, lo, hi, dtype, extra=[extra])
        m = np_preacts(params, pts)[layer][:, neuron].max()
    else:
        m = real[layer][neuron]
    scale = layer_scales(params, np.asarray(lo, np.float64), np.asarray(hi, np.float64))[layer]
    w, b = params[layer]
    b = b.copy()
    b[neuron] = b[neuron] - m + rel * scale[neuron]
    params[layer] = (w, b)
    return representable(params, dtype)


def x64(dtype):
    return jax.enable_x64(np.dtype(dtype) == np.float64)


# ---------------------------------------------------------------------------------------------
# Fixed adversaries (default suite)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_issue_wide_box_example_is_never_certified_inactive(dtype):
    with x64(dtype):
        statuses = check(issue_example(), [-1e6], [1e6], dtype)
    for mode, status in statuses.items():
        assert not status.inactive[1][0], mode  # the float network is 1 > 0 at x = 0.5


@pytest.mark.parametrize("d", [1, 2])
def test_first_layer_sum_rounding_to_zero_is_not_certified_inactive(d):
    """Regression: at the maximizing corner ``fl(w.x) + c`` is exactly 0 while the float network
    (fused multiply-add on CPU) computes ``w.x + c`` correctly rounded, > 0 for half of these."""
    rng = np.random.default_rng(7 + d)
    n = 24
    w = np.abs(rng.standard_normal((n, d))).astype(np.float32) + np.float32(0.1)
    hi = rng.uniform(0.5, 3.0, d).astype(np.float32)
    lo = hi - np.float32(1.0)
    c = -(w[:, 0] * hi[0]) if d == 1 else -((w[:, 0] * hi[0]) + (w[:, 1] * hi[1]))  # float32
    params = [(w, c.astype(np.float32)), (np.ones((1, n)), np.zeros(1))]
    z = float_preacts(representable(params, np.float32), hi[None].astype(np.float32), "float32")
    assert np.any(z[0] > 0)  # the adversary works: some of these neurons are active at hi
    check(params, lo, hi, "float32")


@pytest.mark.parametrize(
    "d, rel, dtype",
    [
        (1, 0.0, "float32"),
        (1, -1e-6, "float64"),
        (1, 1e-6, "float32"),
        (2, 0.0, "float32"),
        (2, -1e-3, "float32"),
    ],
)
def test_narrow_bumps_near_zero_on_wide_boxes(d, rel, dtype):
    rng = np.random.default_rng(11)
    center = np.float32(rng.uniform(-0.9, 0.9, d) * 1e5)
    with x64(dtype):
        params = bump_net(center, 1e3, 0.0, 2, d=d)
        lo, hi = np.full(d, -1e6), np.full(d, 1e6)
        params = plant_tie(params, lo, hi, 1, 0, rel, dtype)
        statuses = check(params, lo, hi, dtype)
    if rel == -1e-3:  # clearly negative: some mode does certify it (else the test is vacuous)
        assert any(s.inactive[1][0] for s in statuses.values())


def overflow_net():
    """float32 net whose backward bounds overflow (``0 * inf`` = NaN) on sub-boxes with ``x > 0``
    while the network stays finite; the last neuron is ``> 0`` only in a bump at ``x = 0.3`` and
    every other neuron is witnessed active at a probe point."""
    h = [  # layer 1: relu(1e13 x) twice, relu(x - 0.3), relu(0.3 - x), relu(-x - 0.9)
        (np.array([[1e13], [1e13], [1.0], [-1.0], [-1.0]]), np.array([0, 0, -0.3, 0.3, -0.9])),
        # y1 = 1e13 (h1 - h2) + 1 (= 1, bound 1e26), y2 = bump at 0.3 + 1e5 h5, y3 = h5
        (
            np.array([[1e13, -1e13, 0, 0, 0], [0, 0, -1e3, -1e3, 1e5], [0, 0, 0, 0, 1]]),
            np.array([1.0, 1.0, 0.0]),
        ),
        # t1 = 1e13 relu(y1) + 1 (bound overflows to inf), t2 = relu(y2) - 0.5, t3 = relu(y3)
        (np.diag([1e13, 1.0, 1.0]), np.array([1.0, -0.5, 0.0])),
        # u = 0 relu(t1) + relu(t2) - 1e6 relu(t3) - 0.1: max 0.4 at x = 0.3, < 0 for x < 0
        (np.array([[0.0, 1.0, -1e6]]), np.array([-0.1])),
        (np.ones((1, 1)), np.zeros(1)),
    ]
    return h


def test_nan_bounds_never_drop_a_sub_box():
    """Regression (bab): a NaN bound on a sub-box made the neuron look closed there, the sub-box
    was dropped and the neuron certified inactive from the other sub-boxes."""
    params = overflow_net()
    lo, hi = np.array([-1.0], np.float32), np.array([1.0], np.float32)
    statuses = check(params, lo, hi, "float32", modes=("crown",))
    assert not statuses["crown"].inactive[3][0]


@pytest.mark.slow
def test_nan_bounds_batched_detector():
    """The same through the batched detector (branch and bound on the hard networks only)."""
    params = to_jax(representable(overflow_net(), np.float32), "float32")
    batch = jax.tree.map(lambda v: jnp.stack([v, v]), params)
    counts = detector.make_detector(((-1.0, 1.0),), detector.DetectorSettings(mode="crown"))(
        batch, jnp.arange(2)
    )
    assert np.all(np.asarray(counts.inactive[:, 3]) == 0)


# ---------------------------------------------------------------------------------------------
# Hypothesis search


# d = 1, 2, 3; depths 2-5; widths 1-4 (a fixed list: each one compiles every mode once).
ARCH = st.sampled_from(
    [
        (1, 2, 2, 1),
        (1, 4, 1, 3, 1),
        (1, 3, 4, 3, 1),
        (1, 2, 3, 2, 4, 1),
        (1, 2, 2, 2, 2, 2, 1),
        (2, 3, 4, 1),
        (2, 1, 4, 1),
        (2, 4, 2, 3, 1),
        (2, 2, 3, 3, 2, 1),
        (3, 3, 3, 1),
        (3, 4, 2, 3, 1),
        (3, 2, 2, 2, 2, 1),
    ]
)


@st.composite
def adversary(draw, archs=ARCH, extra=True, float64_d=(1, 2, 3)):
    """A random or bump net over a random box, and a planted near-tie (see the module)."""
    arch = draw(archs)
    d = arch[0]
    dtype = draw(st.sampled_from(["float32", "float64"] if d in float64_d else ["float32"]))
    kind = draw(st.sampled_from(["gaussian", "bump", "tie"]))
    seed = draw(st.integers(0, 2**31 - 1))
    log_half = draw(st.sampled_from([-1.0, 0.0, 1.0, 3.0, 6.0]))
    rng = np.random.default_rng(seed)
    half = 10.0**log_half
    center = rng.uniform(-1, 1, d) * half * draw(st.sampled_from([0.0, 0.5]))
    lo, hi = center - half, center + half
    if kind == "bump":
        depth = len(arch) - 2
        params = bump_net(
            rng.uniform(lo, hi),
            10.0 ** rng.uniform(0, 4),
            0.0,
            depth,
            d=d,
            extra=1 if extra else 0,
            rng=rng,
        )
        layer, neuron = int(rng.integers(1, depth)), 0
    else:
        params = gaussian_net(
            rng,
            arch,
            scale=10.0 ** draw(st.sampled_from([-1.0, 0.0, 3.0])),
            shift=draw(st.sampled_from([-0.5, 0.0, 0.5])),
            zero_frac=draw(st.sampled_from([0.0, 0.2])),
            zero_bias=draw(st.booleans()),
        )
        layer = int(rng.integers(0, len(arch) - 2))
        neuron = int(rng.integers(0, arch[layer + 1]))
    rel = draw(st.sampled_from([0.0, 1e-6, -1e-6, 1e-3, -1e-3]))
    return params, lo, hi, dtype, (kind != "gaussian", layer, neuron, rel)


def run_adversary(case):
    params, lo, hi, dtype, (plant, layer, neuron, rel) = case
    with x64(dtype):
        if plant:
            params = plant_tie(params, lo, hi, layer, neuron, rel, dtype)
        check(params, lo, hi, dtype)


# The architectures of the fixed tests above (one compilation each per mode and dtype).
SMALL_ARCH = st.sampled_from([(1, 2, 1, 1), (2, 4, 1, 1)])


@FAST
@given(case=adversary(SMALL_ARCH, extra=False, float64_d=(1,)))
def test_no_wrong_certificate_small_search(case):
    run_adversary(case)


@pytest.mark.slow
@STRONG
@given(case=adversary())
def test_no_wrong_certificate_strong_search(case):
    run_adversary(case)
