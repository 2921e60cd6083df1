"""The shared 1-D kernel (``exact.pieces``) against slow, obvious numpy loops on random inputs.

Each function is compared with a per-cell, per-neuron Python loop that states its definition
directly (strict sign change, interpolated zero, sorted distinct points, first ``cap`` kept
entries), including capacities too small for the result (overflow) and padded (repeated) points.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.exact import pieces
from jaxnn_nonconv.rare import _splitting as rare


def slow_crossings(z):
    """Per cell and neuron: strict sign change, and the zero's fraction of the cell."""
    cells, n = z.shape[0] - 1, z.shape[1]
    cross = np.zeros((cells, n), bool)
    t = np.zeros((cells, n), z.dtype)
    for m in range(cells):
        for j in range(n):
            a, b = z[m, j], z[m + 1, j]
            if (a < 0 < b) or (b < 0 < a):
                cross[m, j] = True
                t[m, j] = a / (a - b)
    return cross, t


def slow_compact(keep, cap, fill):
    kept = [i for i, k in enumerate(keep) if k]
    src = (kept + [fill] * cap)[:cap]
    return np.array(src), len(kept)


def slow_refine(pts, z, cap):
    """Sorted distinct points and interior crossings, the first ``cap``, padded with ``pts[-1]``."""
    found = {}  # value -> (parent cell, is crossing); the first occurrence in order wins
    for m in range(len(pts)):
        found.setdefault(pts[m], (m, False))
        if m + 1 == len(pts):
            break
        x0, x1 = pts[m], pts[m + 1]
        xs = []
        for j in range(z.shape[1]):
            a, b = z[m, j], z[m + 1, j]
            if (a < 0 < b) or (b < 0 < a):
                xc = x0 + (x1 - x0) * (a / (a - b))
                if x0 < xc < x1:
                    xs.append(xc)
        for xc in sorted(xs):
            found.setdefault(xc, (m, True))
    values = sorted(found)
    keep = values[:cap] + [None] * max(cap - len(values), 0)
    last = len(pts) - 1
    points = np.array([pts[last] if v is None else v for v in keep], pts.dtype)
    parent = np.array([last if v is None else found[v][0] for v in keep])
    is_cross = np.array([False if v is None else found[v][1] for v in keep])
    return points, parent, is_cross, len(values) > cap


def random_case(rng, n_pts, width, pad):
    """Sorted distinct points (then ``pad`` repeats of the last), values away from 0 at them.

    Duplicate neuron columns give equal crossings in a cell (kept once); values bounded away
    from 0 keep every crossing well inside its cell, so float details cannot decide membership.
    """
    pts = np.sort(rng.choice(np.arange(-400, 400), n_pts, replace=False)).astype(np.float32) / 64
    pts = np.concatenate([pts, np.repeat(pts[-1:], pad)])
    z = rng.uniform(0.25, 2.0, (n_pts + pad, width)) * rng.choice([-1.0, 1.0], (n_pts + pad, width))
    z[n_pts:] = z[n_pts - 1]  # the padding repeats the last point's values
    z[:, -1] = z[:, 0]  # a duplicate neuron
    return pts, z.astype(np.float32)


@functools.cache
def jit_refine(cap):
    return jax.jit(lambda p, z: pieces.refine(p, z, cap))


def test_sign_change_is_strict():
    z0 = jnp.array([-1.0, 1.0, 0.0, -0.0, 0.0, jnp.nan, -jnp.inf, 2.0, -3.0])
    z1 = jnp.array([1.0, -1.0, 1.0, -1.0, 0.0, 1.0, 1.0, 3.0, -1.0])
    want = [True, True, False, False, False, False, True, False, False]
    assert pieces.sign_change(z0, z1).tolist() == want
    assert pieces.sign_change(z1, z0).tolist() == want


@pytest.mark.parametrize("seed", range(4))
def test_crossings_match_a_loop(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(33, 7)).astype(np.float32)
    z[rng.random(z.shape) < 0.1] = 0.0  # exact zeros at points: no crossing
    cross, t = jax.jit(pieces.crossings)(z)
    want_cross, want_t = slow_crossings(z)
    np.testing.assert_array_equal(cross, want_cross)
    np.testing.assert_allclose(np.where(want_cross, t, 0.0), want_t, rtol=1e-6, atol=0)
    t = np.asarray(t)[want_cross]
    assert np.all((t >= 0) & (t <= 1))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cap", [1, 5, 40, 200])
def test_compact_matches_a_loop(seed, cap):
    rng = np.random.default_rng(seed)
    keep = rng.random(100) < [0.0, 0.03, 0.2, 0.5, 0.9, 1.0][seed]
    src, count = pieces.compact(jnp.asarray(keep), cap, 123)
    want_src, want_count = slow_compact(keep, cap, 123)
    np.testing.assert_array_equal(src, want_src)
    assert int(count) == want_count


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("cap_factor", [0.5, 1.0, 8.0])
def test_refine_matches_a_loop_including_overflow(seed, cap_factor):
    rng = np.random.default_rng(seed)
    width = [1, 3, 4, 12][seed % 4]  # 12: wider than the sorting network
    pts, z = random_case(rng, n_pts=[2, 5, 9][seed % 3], width=width, pad=seed % 3)
    cap = max(int(cap_factor * len(pts) * 2), 1)
    got = jit_refine(cap)(pts, z)
    want = slow_refine(pts, z, cap)
    np.testing.assert_allclose(got.points, want[0], rtol=1e-6, atol=0)
    np.testing.assert_array_equal(got.parent, want[1])
    np.testing.assert_array_equal(got.is_cross, want[2])
    assert bool(got.overflow) == want[3]


def test_refine_overflow_keeps_the_smallest_points():
    # Two cells, one crossing each: 5 distinct points.
    pts = np.array([0.0, 1.0, 2.0], np.float32)
    z = np.array([[-1.0], [1.0], [-1.0]], np.float32)
    full = jit_refine(5)(pts, z)
    assert full.points.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0] and not bool(full.overflow)
    short = jit_refine(3)(pts, z)
    assert short.points.tolist() == [0.0, 0.5, 1.0] and bool(short.overflow)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cap", [3, 30])
def test_rare_compact_pads_with_the_last_kept_row(seed, cap):
    rng = np.random.default_rng(seed)
    vals = rng.normal(size=(20, 3)).astype(np.float32)
    valid = rng.random(20) < [0.0, 0.1, 0.5, 1.0][seed]
    flags = rng.random(20) < 0.5  # carried along with their rows (the corner flags)
    out, out_flags, count = rare._compact(
        jnp.asarray(vals), jnp.asarray(flags), jnp.asarray(valid), cap
    )
    rows = [(v, f) for v, f, ok in zip(vals, flags, valid, strict=True) if ok]
    zero = (np.zeros(3, np.float32), False)
    want = (rows + [rows[-1]] * cap)[:cap] if rows else [zero] * cap
    np.testing.assert_array_equal(out, np.array([v for v, _ in want]))
    np.testing.assert_array_equal(out_flags, np.array([f for _, f in want]))
    assert int(count) == len(rows)
