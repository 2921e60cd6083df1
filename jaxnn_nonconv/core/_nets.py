"""Fully connected networks as pure functions over pytrees.

A network with architecture ``arch = (l_0, l_1, ..., l_L, l_{L+1})`` (input dim ``l_0 = d``, hidden
widths ``l_1..l_L``, output ``l_{L+1} = 1``) has parameters ``params``: a tuple of ``(W_k, b_k)``, one
pair per layer, ``W_k: (l_k, l_{k-1})`` as in PyTorch's ``nn.Linear``. Hidden layers apply the
activation, the output layer is affine (docs/theory.md sec. 1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import _inits as inits

Params = tuple[tuple[jax.Array, jax.Array], ...]
# Layer stacks: consecutive layers of equal shape, stacked: ``(W, b)`` with
# ``W: (count, l_out, l_in)`` and ``b: (count, l_out)`` per stack (:func:`layer_stacks`); deep
# nets then trace and compile in time independent of depth (one ``lax.scan`` per stack).
LayerStacks = tuple[tuple[jax.Array, jax.Array], ...]


def clip(x: jax.Array) -> jax.Array:
    """The clipping activation ``min(max(x, 0), 1)`` of arXiv 2212.13111 (setting 2).

    Its derivative is 1 on the open interval ``(0, 1)`` and 0 elsewhere, at ``x = 0`` and ``x = 1``
    included (as ``relu'(0) = 0``): a neuron whose pre-activation stays ``<= 0`` (dead) or ``>= 1``
    (saturated) on the whole box gets exactly zero gradient (docs/theory.md sec. 3b).

    >>> clip(jnp.array([-1.0, 0.0, 0.25, 1.0, 2.0]))
    Array([0.  , 0.  , 0.25, 1.  , 1.  ], dtype=float32)
    >>> jax.vmap(jax.grad(clip))(jnp.array([-1.0, 0.0, 0.25, 1.0, 2.0]))
    Array([0., 0., 1., 0., 0.], dtype=float32)
    """
    return jnp.where(x <= 0, jnp.zeros_like(x), jnp.where(x >= 1, jnp.ones_like(x), x))


def repu(power: int) -> Callable[[jax.Array], jax.Array]:
    """Power ReLU ``max(x, 0)^P`` (arXiv 2402.05155, Cor. 3.15), ``P >= 2`` an integer.

    Zero with zero derivative exactly where ReLU is (``x <= 0``), so a neuron is inactive for
    ``repu:P`` exactly when it is for ReLU (docs/theory.md sec. 3b).

    >>> repu(2)(jnp.array([-1.0, 0.0, 3.0]))
    Array([0., 0., 9.], dtype=float32)
    """

    def act(x: jax.Array) -> jax.Array:
        return jax.lax.integer_pow(jax.nn.relu(x), power)

    return act


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    # jax.nn.relu has relu'(0) = 0 (PyTorch's convention); jnp.maximum(x, 0) would give 1/2.
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,
    "softplus": jax.nn.softplus,
    "clip": clip,
}
# Names an activation may take: those of ACTIVATIONS and ``repu:P`` (power ReLU, P >= 2).
ACTIVATION_NAMES: tuple[str, ...] = (*ACTIVATIONS, "repu:P")
MAX_REPU_POWER = 16  # beyond this the powers over- or underflow float32 for ordinary inputs


def repu_power(activation: str) -> int | None:
    """The power ``P`` of ``repu:P``; ``None`` for any other activation.

    >>> repu_power("repu:3"), repu_power("relu")
    (3, None)
    """
    if not activation.startswith("repu:"):
        return None
    text = activation[len("repu:") :]
    if not text.isdigit() or not 2 <= int(text) <= MAX_REPU_POWER:
        raise ValueError(
            f"activation {activation!r}: repu:P needs an integer power 2 <= P <= "
            f"{MAX_REPU_POWER}, e.g. repu:2"
        )
    return int(text)


def check_activation(activation: str) -> str:
    """Return ``activation`` if it names a hidden activation, else raise ``ValueError``.

    >>> check_activation("repu:2")
    'repu:2'
    """
    if not isinstance(activation, str):
        raise ValueError(f"activation must be a string, got {activation!r}")
    if activation in ACTIVATIONS or repu_power(activation) is not None:
        return activation
    raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATION_NAMES)}")


def activation_fn(activation: str) -> Callable[[jax.Array], jax.Array]:
    """The function of a hidden activation name (:data:`ACTIVATION_NAMES`).

    >>> activation_fn("repu:3")(jnp.array([2.0]))
    Array([8.], dtype=float32)
    """
    power = repu_power(check_activation(activation))
    return repu(power) if power is not None else ACTIVATIONS[activation]


def check_arch(arch: Sequence[int]) -> tuple[int, ...]:
    """Validate an architecture and return it as a tuple of ints.

    >>> check_arch([1, 32, 1])
    (1, 32, 1)
    """
    arch = tuple(int(n) for n in arch)
    if len(arch) < 2:
        raise ValueError(f"architecture needs at least input and output sizes, got {arch}")
    if any(n <= 0 for n in arch):
        raise ValueError(f"every layer width must be a positive integer, got {arch}")
    if arch[-1] != 1:
        raise ValueError(f"output dimension must be 1, got {arch[-1]}")
    return arch


def num_params(arch: Sequence[int]) -> int:
    """Length of the flat parameter vector, ``sum_k l_k (l_{k-1} + 1)``.

    >>> num_params((1, 32, 1))
    97
    """
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(arch[:-1], arch[1:]))


def layer_stacks(arch: Sequence[int]) -> list[tuple[int, int, int]]:
    """Consecutive layers of equal shape, grouped: ``(count, l_in, l_out)`` per stack.

    >>> layer_stacks((1, 3, 3, 3, 1))
    [(1, 1, 3), (2, 3, 3), (1, 3, 1)]
    """
    return [
        (len(list(g)), n_in, n_out)
        for (n_in, n_out), g in itertools.groupby(zip(arch[:-1], arch[1:]))
    ]


def init_stacks(
    key: jax.Array,
    arch: Sequence[int],
    init: str = "pytorch",
    zero_bias: bool = False,
    *,
    scale: float = 1.0,
    dtype=None,
    spreads: Sequence | None = None,
) -> LayerStacks:
    """Draw one network's parameters as stacks of equal-shape layers (:data:`LayerStacks`).

    The same draws as :func:`init_params` (which unstacks these), with one vmap over the layer
    index per stack, so that neither tracing nor compilation grows with depth.

    Args:
      key: PRNG key; layer ``k`` uses ``fold_in(key, k)``.
      arch: ``(d, l_1, ..., l_L, 1)``.
      init: an init family of :mod:`jaxnn_nonconv.core.inits`, or a width-power spec
        (:mod:`jaxnn_nonconv.core._width_power`, arXiv 2212.13111's initializations).
      zero_bias: set every bias to 0 (a traced boolean scalar works too: the weights do not
        depend on it).
      scale: multiplies the family's standard deviation (every group's factor of a spec).
      dtype: float dtype of the parameters (as in :func:`init_params`).
      spreads: one ``spread`` per stack of :func:`layer_stacks` (see
        :func:`~jaxnn_nonconv.core.inits.init_layer`); default from ``init`` and ``scale``.
        Not used by a width-power spec (it has no single spread).

    Returns:
      One ``(W, b)`` per stack of :func:`layer_stacks`, ``W: (count, l_out, l_in)``, ``b: (count, l_out)``.

    >>> [w.shape for w, _ in init_stacks(jax.random.key(0), (1, 3, 3, 3, 1))]
    [(1, 3, 1), (2, 3, 3), (1, 1, 3)]
    """
    arch = tuple(arch)
    dtype = float_dtype(dtype)
    if inits.width_power.is_spec(init):
        return _width_power_stacks(key, arch, init, zero_bias, scale, dtype)
    stacks, k = [], 0
    for i, (count, n_in, n_out) in enumerate(layer_stacks(arch)):

        def draw(index, n_in=n_in, n_out=n_out, spread=None if spreads is None else spreads[i]):
            return inits.init_layer(
                jax.random.fold_in(key, index),
                init,
                n_in,
                n_out,
                zero_bias=zero_bias,
                scale=scale,
                dtype=dtype,
                spread=spread,
            )

        if count == 1:  # drawn without vmap, as ever (bit-identical either way; tested)
            stacks.append(jax.tree.map(lambda v: v[None], draw(k)))
        else:
            stacks.append(jax.vmap(draw)(jnp.arange(k, k + count, dtype=jnp.uint32)))
        k += count
    return tuple(stacks)


def _width_power_stacks(key, arch, spec, zero_bias, scale, dtype) -> LayerStacks:
    """:func:`init_stacks` for a width-power spec (:mod:`jaxnn_nonconv.core._width_power`): layer
    ``k`` from ``fold_in(key, k)``; a stack's per-layer factors are indexed by the vmapped layer
    index, so the draws are the same numbers as one layer at a time (tested)."""
    factors = inits.width_power.layer_factors(spec, arch, scale)
    stacks, k = [], 0
    for count, n_in, n_out in layer_stacks(arch):

        def draw(index, row, n_in=n_in, n_out=n_out):
            return inits.width_power.draw_layer(
                jax.random.fold_in(key, index), n_in, n_out, row, zero_bias=zero_bias, dtype=dtype
            )

        if count == 1:
            stacks.append(jax.tree.map(lambda v: v[None], draw(k, factors[k])))
        else:
            rows = factors[k : k + count]
            table = (
                jnp.asarray([r[0] for r in rows], dtype),
                jnp.asarray([r[1] for r in rows]),
                jnp.asarray([r[2] for r in rows], dtype),
                jnp.asarray([r[3] for r in rows]),
            )
            stacks.append(jax.vmap(draw)(jnp.arange(k, k + count, dtype=jnp.uint32), table))
        k += count
    return tuple(stacks)


def init_params(
    key: jax.Array,
    arch: Sequence[int],
    init: str = "pytorch",
    zero_bias: bool = False,
    *,
    scale: float = 1.0,
    dtype=None,
) -> Params:
    """Draw one network's parameters.

    Args:
      key: PRNG key; layer ``k`` uses ``fold_in(key, k)``.
      arch: ``(d, l_1, ..., l_L, 1)``.
      init: an init family of :mod:`jaxnn_nonconv.core.inits`, or a width-power spec.
      zero_bias: set every bias to 0.
      scale: multiplies the family's standard deviation.
      dtype: float dtype of the parameters; ``None`` (default) is JAX's default float:
        ``float64`` when ``jax_enable_x64`` is on, else ``float32``.

    Returns:
      ``((W_1, b_1), ..., (W_{L+1}, b_{L+1}))`` with ``W_k: (l_k, l_{k-1})``.

    >>> params = init_params(jax.random.key(0), (2, 8, 1))
    >>> [w.shape for w, _ in params]
    [(8, 2), (1, 8)]
    """
    return unstack_layers(init_stacks(key, arch, init, zero_bias, scale=scale, dtype=dtype))


def unstack_layers(stacks: LayerStacks) -> Params:
    """:data:`LayerStacks` as one ``(W_k, b_k)`` pair per layer (:data:`Params`)."""
    return tuple((w[r], b[r]) for w, b in stacks for r in range(w.shape[0]))


def stack_layers(params: Params) -> LayerStacks:
    """:data:`Params` grouped into :data:`LayerStacks` (inverse of :func:`unstack_layers`).

    >>> params = init_params(jax.random.key(0), (1, 3, 3, 3, 1))
    >>> back = unstack_layers(stack_layers(params))
    >>> all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(back)))
    True
    """
    out = []
    for _, group in itertools.groupby(params, key=lambda wb: wb[0].shape):
        ws, bs = zip(*group, strict=True)
        out.append((jnp.stack(ws), jnp.stack(bs)))
    return tuple(out)


def slice_stacks(stacks: LayerStacks, start: int, stop: int) -> LayerStacks:
    """The layers ``start .. stop - 1`` of ``stacks`` (static indices), still as :data:`LayerStacks`.

    One slice per stack, so the cost does not grow with depth.

    >>> stacks = init_stacks(jax.random.key(0), (1, 3, 3, 3, 1))
    >>> [w.shape for w, _ in slice_stacks(stacks, 1, 3)]
    [(2, 3, 3)]
    """
    out, k = [], 0
    for w, b in stacks:
        count = w.shape[0]
        lo, hi = max(start - k, 0), min(stop - k, count)
        if lo < hi:
            out.append((w[lo:hi], b[lo:hi]) if (lo, hi) != (0, count) else (w, b))
        k += count
    return tuple(out)


def float_dtype(dtype=None) -> jnp.dtype:
    """The float dtype to compute in: ``dtype``, or JAX's default float for ``None``.

    Raises:
      ValueError: ``dtype`` is ``float64`` while 64-bit JAX is off (it would silently become
        ``float32``).

    >>> float_dtype("float32")
    dtype('float32')
    """
    if dtype is None:
        return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))
    dt = jnp.dtype(dtype)
    if not jnp.issubdtype(dt, jnp.floating):
        raise ValueError(f"dtype must be a float dtype, got {dt}")
    if dt.itemsize == 8 and not jax.config.jax_enable_x64:
        raise ValueError(
            "float64 needs 64-bit JAX: call jax.config.update('jax_enable_x64', True) before "
            "creating any array, or cast the input to float32 yourself"
        )
    return dt


def float_input(x, name: str = "input") -> np.ndarray | jax.Array:
    """``x`` as an array in its own float dtype, never narrowed: integers become JAX's default
    float; ``float64`` without 64-bit JAX raises instead of silently becoming ``float32``.

    Raises:
      ValueError: ``x`` is ``float64`` while 64-bit JAX is off, or not numeric.
    """
    arr = x if isinstance(x, jax.Array) else np.asarray(x)
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == np.bool_:
        return arr.astype(float_dtype())
    try:
        float_dtype(arr.dtype)
    except ValueError:
        raise ValueError(
            f"{name} is float64 but 64-bit JAX is off, so it would be silently rounded to float32: "
            "call jax.config.update('jax_enable_x64', True) first, or pass float32 explicitly"
        ) from None
    return arr


def arch_of(params: Params) -> tuple[int, ...]:
    """Architecture of ``params`` (of one network, no trial axis)."""
    return (params[0][0].shape[-1], *(w.shape[-2] for w, _ in params))


def hidden_preactivations(
    params: Params, x: jax.Array, activation: str = "relu"
) -> list[jax.Array]:
    """Pre-activations of every hidden layer.

    Args:
      params: one network.
      x: ``(batch, d)`` inputs.

    Returns:
      List of ``(batch, l_k)`` arrays, ``k = 1..L``.
    """
    act = activation_fn(activation)
    pre = []
    h = x
    for w, b in params[:-1]:
        z = h @ w.T + b[None, :]
        pre.append(z)
        h = act(z)
    return pre


def realization(params: Params, x: jax.Array, activation: str = "relu") -> jax.Array:
    """Realization ``N_theta(x)`` of one network.

    Args:
      params: one network (see module docstring).
      x: ``(batch, d)`` inputs.
      activation: a name of :data:`ACTIVATION_NAMES` (``relu``, ``leaky_relu``, ``softplus``,
        ``clip``, ``repu:P``).

    Returns:
      ``(batch,)`` outputs.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[1.0, 1.0]]), jnp.array([0.5])))
    >>> realization(params, jnp.array([[-2.0], [3.0]]))  # |x| + 0.5
    Array([2.5, 3.5], dtype=float32)
    """
    act = activation_fn(activation)
    h = x
    for w, b in params[:-1]:
        h = act(h @ w.T + b[None, :])
    w, b = params[-1]
    return (h @ w.T + b[None, :])[:, 0]


def to_flat(params: Params) -> jax.Array:
    """The papers' flat ``theta``: layer by layer, ``W_k`` row-major then ``b_k``.

    >>> params = init_params(jax.random.key(1), (1, 3, 1))
    >>> to_flat(params).shape
    (10,)
    """
    return jnp.concatenate([jnp.concatenate([w.reshape(-1), b]) for w, b in params])


def from_flat(theta: jax.Array, arch: Sequence[int]) -> Params:
    """Inverse of :func:`to_flat` for architecture ``arch``.

    >>> params = init_params(jax.random.key(1), (2, 3, 1))
    >>> back = from_flat(to_flat(params), (2, 3, 1))
    >>> all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(back)))
    True
    """
    arch = tuple(arch)
    if theta.shape != (num_params(arch),):
        raise ValueError(f"theta has shape {theta.shape}, arch {arch} needs ({num_params(arch)},)")
    out, pos = [], 0
    for n_in, n_out in zip(arch[:-1], arch[1:]):
        w = theta[pos : pos + n_out * n_in].reshape(n_out, n_in)
        pos += n_out * n_in
        b = theta[pos : pos + n_out]
        pos += n_out
        out.append((w, b))
    return tuple(out)


def from_flat_stacks(theta: jax.Array, arch: Sequence[int]) -> LayerStacks:
    """:func:`from_flat` as :data:`LayerStacks`: one reshape per stack of equal-shape layers.

    >>> params = init_params(jax.random.key(1), (1, 3, 3, 3, 1))
    >>> stacks = from_flat_stacks(to_flat(params), (1, 3, 3, 3, 1))
    >>> all(bool(jnp.array_equal(a, b))
    ...     for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(unstack_layers(stacks))))
    True
    """
    arch = tuple(arch)
    if theta.shape != (num_params(arch),):
        raise ValueError(f"theta has shape {theta.shape}, arch {arch} needs ({num_params(arch)},)")
    out, pos = [], 0
    for count, n_in, n_out in layer_stacks(arch):
        size = n_out * (n_in + 1)  # a layer's W (row-major) then its b, as to_flat writes them
        block = theta[pos : pos + count * size].reshape(count, size)
        out.append((block[:, : n_out * n_in].reshape(count, n_out, n_in), block[:, n_out * n_in :]))
        pos += count * size
    return tuple(out)
