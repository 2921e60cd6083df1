"""Random draws of any shape, compiled as one flat vector.

JAX's default PRNG (partitionable Threefry, the default since JAX 0.5) counts the elements of a
draw in row-major order, so ``sample(key, (m, n))`` equals ``sample(key, (m * n,)).reshape(m, n)``
value for value. XLA's CPU backend, however, takes several seconds to compile the counter
arithmetic of a multi-dimensional draw (measured: 4.9 s of CPU for ``normal(key, (32, 10))`` under
``vmap`` over 2048 keys, against 0.6 s for the flat draw; jax 0.10.2), and every initialization and
training program holds such draws. :func:`flat_draw` draws flat and reshapes: the same numbers
(tested for every sampler used here, both settings of ``jax_threefry_partitionable``), a fraction
of the compilation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp


def flat_draw(
    sample: Callable, key: jax.Array, shape: Sequence[int], dtype=None, **params
) -> jax.Array:
    """``sample(key, shape, dtype, **params)``, drawn as a flat vector and reshaped.

    Args:
      sample: a ``jax.random`` sampler taking ``(key, shape, dtype, **params)`` whose values are
        elementwise functions of the random bits (``normal``, ``uniform``).
      key: a PRNG key.
      shape: the output shape.
      dtype: the output dtype (``None``: the sampler's default).
      params: the sampler's parameters; arrays (e.g. ``uniform``'s per-coordinate ``minval``) are
        broadcast to ``shape`` and flattened with the draw.

    Returns:
      An array of ``shape``, equal to ``sample(key, shape, dtype, **params)``.

    >>> k = jax.random.key(0)
    >>> a = flat_draw(jax.random.normal, k, (3, 4))
    >>> bool((a == jax.random.normal(k, (3, 4))).all())
    True
    """
    shape = tuple(int(s) for s in shape)
    size = math.prod(shape)
    flat = {
        name: jnp.broadcast_to(value, shape).reshape(size) if jnp.ndim(value) else value
        for name, value in params.items()
    }
    return sample(key, (size,), dtype, **flat).reshape(shape)
