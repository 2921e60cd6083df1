"""Random initializations of fully connected layers.

Every family draws the weight matrix ``W: (fan_out, fan_in)`` and the bias ``b: (fan_out,)`` of one
layer. Biases are drawn from the same distribution as that layer's weights (so the zero-bias switch
has a meaning for every family) unless ``zero_bias`` is set.

| name | weights (and biases) | std for ``scale=1`` |
|---|---|---|
| ``pytorch`` | U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as ``torch.nn.Linear`` | 1/sqrt(3 fan_in) |
| ``he_normal`` | N(0, 2/fan_in) | sqrt(2/fan_in) |
| ``he_uniform`` | U(-sqrt(6/fan_in), sqrt(6/fan_in)) | sqrt(2/fan_in) |
| ``glorot_normal`` | N(0, 2/(fan_in+fan_out)) | sqrt(2/(fan_in+fan_out)) |
| ``glorot_uniform`` | U(+-sqrt(6/(fan_in+fan_out))) | sqrt(2/(fan_in+fan_out)) |
| ``normal`` | N(0, 1) | 1 |
| ``rai`` | randomized asymmetric init (Lu et al. 2019, arXiv 1903.06733) | see :func:`rai` |

``scale`` multiplies the standard deviation (the uniform bounds) of every family.

Besides these named families (:data:`INITS`), an init may be a *width-power spec*, a string such
as ``"width_power: W = H^(-4/15) |N|, b = H^(-9/10) N"``: every parameter group a power of the
first hidden width times ``N(0,1)`` or ``|N(0,1)|``, the initializations of arXiv 2212.13111's
code (:mod:`jaxnn_nonconv.core._width_power`). It depends on the architecture (the width, the
layer index), so it is drawn by :func:`jaxnn_nonconv.core.nets.init_stacks`, not by
:func:`init_layer`; it has no single spread (:func:`layer_std` raises) and no closed-form
P(inactive) (:func:`jaxnn_nonconv.stats.theory.first_layer_p` is ``None``). :func:`check_init`
validates both kinds of init.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core import _width_power as width_power
from jaxnn_nonconv.core._random import flat_draw

# RAI's variance constant 0.6007^2 (Lu et al. 2019, Sec. 6), per unit of fan_in.
RAI_SIGMA = 0.6007


def _normal(key, shape, std, dtype):
    return std * flat_draw(jax.random.normal, key, shape, dtype)


def _uniform(key, shape, bound, dtype):
    return flat_draw(jax.random.uniform, key, shape, dtype, minval=-bound, maxval=bound)


def layer_std(name: str, fan_in: int, fan_out: int, scale: float = 1.0) -> float:
    """Standard deviation of one weight of a layer under init family ``name``.

    >>> round(layer_std("he_normal", 8, 4), 4)
    0.5
    >>> round(layer_std("pytorch", 3, 1) ** 2, 6)  # U(+-1/sqrt 3) has variance 1/9
    0.111111
    """
    if name == "pytorch":
        return scale / math.sqrt(3.0 * fan_in)
    if name in ("he_normal", "he_uniform"):
        return scale * math.sqrt(2.0 / fan_in)
    if name in ("glorot_normal", "glorot_uniform"):
        return scale * math.sqrt(2.0 / (fan_in + fan_out))
    if name == "normal":
        return scale
    if name == "rai":
        return scale * RAI_SIGMA / math.sqrt(fan_in)
    _raise_unknown(name)


def _symmetric(family: str) -> Callable:
    draw = _uniform if family == "uniform" else _normal

    def init_layer(key, name, fan_in, fan_out, zero_bias, scale, dtype, spread=None):
        kw, kb = jax.random.split(key)
        if spread is None:
            spread = layer_spread(name, fan_in, fan_out, scale)
        w = draw(kw, (fan_out, fan_in), spread, dtype)
        if zero_bias is True:
            return w, jnp.zeros((fan_out,), dtype)
        b = draw(kb, (fan_out,), spread, dtype)
        return w, b if zero_bias is False else jnp.where(zero_bias, jnp.zeros_like(b), b)

    return init_layer


def rai(key, name, fan_in, fan_out, zero_bias, scale, dtype, spread=None):
    """Randomized asymmetric initialization (RAI) of one layer.

    Each neuron's row ``[w, b]`` (``[w]`` with zero bias) is drawn i.i.d. ``N(0, (scale 0.6007)^2 /
    fan_in)``; then one entry of the row, chosen uniformly, is replaced by a ``Beta(2, 1)`` draw,
    made by inversion (``sqrt(U)``, ``U ~ U(0, 1)``: the CDF of ``Beta(2, 1)`` is ``x^2``), which
    compiles in a fraction of the time of ``jax.random.beta``'s rejection sampler. The positive
    entry makes a neuron that sees non-negative inputs unlikely to be born dead. ``spread`` is not
    used (RAI has no single spread parameter; :func:`draw_kind` is ``"rai"``).

    With and without zero bias the same ``(fan_out, fan_in + 1)`` normal rows are drawn; zero bias
    only confines the positive entry to the ``fan_in`` weight columns and drops the bias column,
    so ``zero_bias`` may be a traced boolean and one compiled program draws both.
    """
    del name, spread
    k_normal, k_index, k_positive = jax.random.split(key, 3)
    rows = _normal(k_normal, (fan_out, fan_in + 1), scale * RAI_SIGMA / math.sqrt(fan_in), dtype)
    n_cols = fan_in + 1 - jnp.asarray(zero_bias, jnp.int32)
    col = jax.random.randint(k_index, (fan_out,), 0, n_cols)
    positive = jnp.sqrt(flat_draw(jax.random.uniform, k_positive, (fan_out,), dtype))
    rows = jnp.where(jnp.arange(fan_in + 1)[None, :] == col[:, None], positive[:, None], rows)
    b = rows[:, fan_in]
    return rows[:, :fan_in], jnp.where(zero_bias, jnp.zeros_like(b), b)


_UNIFORM = ("pytorch", "he_uniform", "glorot_uniform")
_INIT_LAYER: dict[str, Callable] = {
    "pytorch": _symmetric("uniform"),
    "he_normal": _symmetric("normal"),
    "he_uniform": _symmetric("uniform"),
    "glorot_normal": _symmetric("normal"),
    "glorot_uniform": _symmetric("uniform"),
    "normal": _symmetric("normal"),
    "rai": rai,
}
INITS: tuple[str, ...] = tuple(_INIT_LAYER)


def draw_kind(name: str) -> str:
    """``"uniform"``, ``"normal"`` or ``"rai"``: families of one kind draw the same random numbers
    and differ only in their spread (:func:`layer_spread`), so one compiled program with the
    spread as an argument draws them all (``advise`` compiles 3 programs for 14 families).

    >>> draw_kind("pytorch"), draw_kind("glorot_normal"), draw_kind("rai")
    ('uniform', 'normal', 'rai')
    """
    if width_power.is_spec(name):
        return "width_power"
    if name not in _INIT_LAYER:
        _raise_unknown(name)
    return "rai" if name == "rai" else ("uniform" if name in _UNIFORM else "normal")


def _raise_unknown(name: str):
    if width_power.is_spec(name):
        raise ValueError(
            "a width_power init has no single per-layer spread (it depends on the parameter "
            "group and the net's width); this path needs a named family: " + ", ".join(INITS)
        )
    raise ValueError(f"unknown init {name!r}; valid: {', '.join(INITS)}, or a width_power spec")


def check_init(name: str, arch: tuple[int, ...] | None = None) -> str:
    """Validate an init: a family of :data:`INITS` or a width-power spec.

    Args:
      name: a family name, or a spec ``"width_power: GROUP = TERM, ..."``
        (:mod:`jaxnn_nonconv.core._width_power`; arXiv 2212.13111's initializations).
      arch: the architecture whose parameter groups a spec must cover; ``None``: syntax only.

    Returns:
      ``name`` for a family; a spec in its canonical spelling (one config hash per init).

    Raises:
      ValueError: an unknown family, a malformed spec, or a spec that misses a group of ``arch``.

    >>> check_init("he_normal"), check_init("width_power: W=|N|, b=H^(-1/2) N", (1, 5, 1))
    ('he_normal', 'width_power: W = H^(0) |N|, b = H^(-1/2) N')
    """
    if width_power.is_spec(name):
        return width_power.check(name, arch)
    if not isinstance(name, str) or name not in _INIT_LAYER:
        _raise_unknown(name)
    return name


def layer_spread(name: str, fan_in: int, fan_out: int, scale: float = 1.0) -> float:
    """The parameter a symmetric family draws with: the bound of ``U(-bound, bound)`` (uniform
    kind) or the standard deviation (normal kind); :func:`init_layer` with ``spread=`` this value
    draws exactly what it draws without.

    >>> round(layer_spread("pytorch", 4, 3), 6), layer_spread("normal", 4, 3, scale=2.0)
    (0.5, 2.0)
    """
    factor = math.sqrt(3.0) if draw_kind(name) == "uniform" else 1.0
    return factor * layer_std(name, fan_in, fan_out, scale)


def init_layer(
    key: jax.Array,
    name: str,
    fan_in: int,
    fan_out: int,
    *,
    zero_bias: bool = False,
    scale: float = 1.0,
    dtype=None,
    spread: float | jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Draw one layer's ``(W: (fan_out, fan_in), b: (fan_out,))`` from init family ``name``.

    ``dtype=None`` is JAX's default float (``float64`` under ``jax_enable_x64``, else ``float32``),
    as for ``jax.random``. ``spread`` (symmetric families) replaces :func:`layer_spread`, e.g. by a
    traced scalar of ``dtype`` so that one compiled program serves every family of a kind.
    A width-power spec is drawn by :func:`jaxnn_nonconv.core.nets.init_stacks` (it needs the
    net's width and the layer index), not here.

    Args:
      key: the layer's PRNG key.
      name: a family of :data:`INITS`.
      fan_in: inputs of the layer.
      fan_out: outputs of the layer.
      zero_bias: set the bias to 0; a Python bool, or a traced boolean scalar (one compiled
        program for both: the weights do not depend on it).
      scale: multiplies the family's standard deviation.
      dtype: float dtype (``None``: JAX's default float).
      spread: replaces :func:`layer_spread` (symmetric families).

    Returns:
      ``(W, b)``.

    Raises:
      ValueError: an unknown family, or a width-power spec.

    >>> w, b = init_layer(jax.random.key(0), "pytorch", 4, 3)
    >>> w.shape, b.shape, bool(jnp.all(jnp.abs(w) <= 0.5))
    ((3, 4), (3,), True)
    """
    if dtype is None:  # JAX's default float: float64 under jax_enable_x64
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    try:
        fn = _INIT_LAYER[name]
    except (KeyError, TypeError):
        _raise_unknown(name)
    return fn(key, name, fan_in, fan_out, zero_bias, scale, dtype, spread)
