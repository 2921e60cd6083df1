"""Prior bounds and optimizable lower slopes of the backward linear bounds (``_linear_bounds``).

A child box's bounds computed from its parent's (``crown_bounds(..., prior)``) are never looser
than the parent's, mostly tighter than the child's own, and still contain every pre-activation of
the float network sampled in the child;
``crown_upper`` is sound for any lower slopes (it is the function alpha-CROWN optimizes).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector

jit_crown = jax.jit(detector.crown_bounds)
jit_upper = jax.jit(detector.crown_upper)


def random_net(seed: int, widths):
    rng = np.random.default_rng(seed)
    return tuple(
        (
            jnp.asarray(rng.normal(0, 1.2 / np.sqrt(a), (b, a)), jnp.float32),
            jnp.asarray(rng.normal(0, 0.3, b), jnp.float32),
        )
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    )


def preacts(params, x):
    """Float32 pre-activations of every hidden layer at ``x: (n, d)``, one array per layer."""
    out, h = [], x.astype(np.float32)
    for w, b in params[:-1]:
        z = h @ np.asarray(w).T + np.asarray(b)
        out.append(z)
        h = np.maximum(z, 0)
    return out


# (2, 8, 8, 8, 8, 1): layers 3-4 in the scan; (3, 6, 5, 4, 1): every layer unrolled
ARCHS = [(2, 8, 8, 8, 8, 1), (3, 6, 5, 4, 1)]


def test_prior_bounds_never_loosen_and_contain_samples():
    tighter = looser = 0
    for seed in range(4):
        arch = ARCHS[seed % 2]
        params = random_net(seed, arch)
        rng = np.random.default_rng(seed)
        d = arch[0]
        lo, hi = np.full(d, -1.0, np.float32), np.full(d, 1.0, np.float32)
        prior = jit_crown(params, jnp.asarray(lo), jnp.asarray(hi))
        for step in range(6):  # halve a side, keep one half, bound it from the previous bounds
            i = step % d
            mid = (lo[i] + hi[i]) / 2
            lo[i], hi[i] = (mid, hi[i]) if step % 2 else (lo[i], mid)
            box = (jnp.asarray(lo), jnp.asarray(hi))
            own = jit_crown(params, *box)
            both = jit_crown(params, *box, (prior.lower, prior.upper))
            z = preacts(params, rng.uniform(lo, hi, (5_000, d)))
            for k, zk in enumerate(z):
                lw, up = np.asarray(both.lower[k]), np.asarray(both.upper[k])
                assert np.all(up <= np.asarray(prior.upper[k])), "never looser than the prior"
                assert np.all(lw >= np.asarray(prior.lower[k]))
                assert np.all(zk.max(0) <= up) and np.all(zk.min(0) >= lw), f"layer {k + 1}"
                tighter += int(np.sum(up < np.asarray(own.upper[k]) - 1e-6))
                looser += int(np.sum(up > np.asarray(own.upper[k]) + 1e-6))
            prior = both
    # Tighter intermediate bounds can flip CROWN's choice of lower slope, so a bound may come
    # out looser than the box's own one; on these nested boxes far more come out tighter.
    assert tighter > 3 * looser


def test_crown_upper_is_sound_for_any_slopes():
    params = random_net(3, ARCHS[0])
    rng = np.random.default_rng(1)
    lo, hi = np.full(2, -1.0, np.float32), np.full(2, 1.0, np.float32)
    b = jit_crown(params, jnp.asarray(lo), jnp.asarray(hi))
    layer = jnp.asarray(np.repeat(np.arange(4), 8), jnp.int32)
    index = jnp.asarray(np.tile(np.arange(8), 4), jnp.int32)
    z = np.concatenate(preacts(params, rng.uniform(lo, hi, (50_000, 2))), axis=1).max(0)
    base = jit_upper(params, jnp.asarray(lo), jnp.asarray(hi), (b.lower, b.upper), layer, index)
    assert np.all(np.asarray(base) >= z)
    # layer 1 rows: the exact corner formula; deeper rows: CROWN's bound before intervals
    assert np.all(np.asarray(base) >= np.concatenate([np.asarray(u) for u in b.upper]) - 1e-5)
    for trial in range(4):
        slopes = tuple(
            jnp.asarray(
                rng.uniform(-0.5, 1.5, (32, 8)) if trial else rng.integers(0, 2, (32, 8))
            ).astype(jnp.float32)
            for _ in range(4)
        )
        u = jit_upper(
            params, jnp.asarray(lo), jnp.asarray(hi), (b.lower, b.upper), layer, index, slopes
        )
        assert np.all(np.asarray(u) >= z), "sound for every slope, even outside [0, 1]"
