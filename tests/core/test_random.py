"""core.flat_draw gives the values of the multi-dimensional draw it replaces (the stored results,
docs outputs and trial keys of earlier versions depend on it), under both Threefry variants."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv.core import flat_draw


def _draws(draw, key, shape, dtype):
    """Every sampler the package uses, as ``draw(sampler, key, shape, dtype, **params)``."""
    lo = jnp.linspace(-2.0, 0.5, shape[-1]).astype(dtype)
    hi = lo + jnp.arange(1, shape[-1] + 1).astype(dtype)
    keys = jax.random.split(key, 4)
    return (
        draw(jax.random.normal, keys[0], shape, dtype),
        draw(jax.random.uniform, keys[1], shape, dtype),
        draw(jax.random.uniform, keys[2], shape, dtype, minval=-0.3, maxval=0.7),
        draw(jax.random.uniform, keys[3], shape, dtype, minval=lo, maxval=hi),
    )


def _direct(sample, key, shape, dtype, **params):
    return sample(key, shape, dtype, **params)


@pytest.mark.parametrize(
    "shape, dtype, partitionable",
    [
        ((3, 4), jnp.float32, True),
        ((2, 3, 5), jnp.float16, True),
        ((7, 1, 2, 3), jnp.float32, False),
    ],
    ids=str,
)
def test_flat_draw_equals_the_direct_draw(shape, dtype, partitionable):
    key = jax.random.key(123)
    with jax.threefry_partitionable(partitionable):
        direct = jax.jit(lambda k: _draws(_direct, k, shape, dtype))(key)
        flat = jax.jit(lambda k: _draws(flat_draw, k, shape, dtype))(key)
    for a, b in zip(flat, direct, strict=True):
        assert a.shape == b.shape == shape and a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_flat_draw_under_vmap_over_keys():
    """The initializations draw under ``vmap`` over trial keys: the same values there too."""
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(6))
    direct = jax.vmap(lambda k: jax.random.normal(k, (4, 3)))(keys)
    flat = jax.vmap(lambda k: flat_draw(jax.random.normal, k, (4, 3)))(keys)
    np.testing.assert_array_equal(np.asarray(flat), np.asarray(direct))
