"""Width-power initializations: each parameter group ``H^a`` times ``N(0,1)`` or ``|N(0,1)|``.

The numerics of arXiv 2212.13111 (Ibragimov, Jentzen & Riekert; public TensorFlow code, GitHub
``deeplearningmethods/overcome-bad-local-minima``, directory ``Codes/``) draw every parameter
group of a net as a power of the width times a standard normal or its absolute value (a
half-normal, so positive weights), e.g. in ``P_ReLU_SNN_inner_bias.py``::

    W1, W2 = H^(-4/15) |N(0,1)|,  b1, b2 = H^(-9/10) N(0,1)

No fan-in family of :mod:`jaxnn_nonconv.core.inits` draws these, so a spec string names one::

    width_power: W = H^(-4/15) |N|, b = H^(-9/10) N
    width_power: W1 = H^3 |N|, b1 = H^3 N, W2 = H^(-7/8) |N|, b2 = N

Groups: ``W`` (every weight matrix), ``b`` (every bias), ``W<k>``, ``b<k>`` (layer ``k``, from 1,
overriding ``W`` / ``b``); every group of the net must be covered. A term is ``H^a`` (``a`` a
number or a fraction ``p/q``, in parentheses when signed or a fraction) followed by ``N`` (standard
normal) or ``|N|`` (half-normal); ``N`` alone is ``H^0 N``. **``H`` is the first hidden width
``l_1`` for every layer**, as in the paper's code (``h`` in the ``[1,H,1]`` scripts, ``nns[1]``
for every layer in ``P_ReLU_SNN_all_params_Xavier_like.py``). ``init_scale`` multiplies every
group; ``zero_bias`` sets the biases to 0.

Layer ``k`` (from 0) draws from ``fold_in(key, k)``, split into a weight and a bias key, as every
family does (:func:`jaxnn_nonconv.core.inits.init_layer`), through
:func:`jaxnn_nonconv.core.flat_draw`; ``|N|`` is the absolute value of the same normal draw.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnn_nonconv.core._random import flat_draw

PREFIX = "width_power"
_GROUP = re.compile(r"^(W|b)(\d*)$")
_TERM = re.compile(
    r"^(?:H\s*\^\s*(?:\(\s*(?P<paren>[+-]?[\d.]+(?:\s*/\s*\d+)?)\s*\)|(?P<bare>[\d.]+))\s*\*?\s*)?"
    r"(?P<dist>\|\s*N\s*\||N)$"
)


class Term(NamedTuple):
    """One group's law: ``H^exponent`` times ``N(0,1)`` (``half=False``) or ``|N(0,1)|``."""

    exponent: Fraction
    half: bool

    def text(self) -> str:
        """The term in the spec's syntax (canonical: ``H^(a) N`` or ``H^(a) |N|``)."""
        return f"H^({self.exponent}) {'|N|' if self.half else 'N'}"


def is_spec(init: object) -> bool:
    """Whether ``init`` is a width-power spec (a string starting with ``width_power``).

    Args:
      init: an init family name, a spec, or anything else (then ``False``).

    Returns:
      ``True`` for a string that starts with ``width_power`` (well formed or not).

    >>> is_spec("width_power: W = N, b = N"), is_spec("normal")
    (True, False)
    """
    return isinstance(init, str) and init.strip().startswith(PREFIX)


def _exponent(text: str) -> Fraction:
    try:
        value = Fraction(text.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"bad exponent {text!r} in width_power spec") from None
    if abs(value) > 64:
        raise ValueError(f"exponent {value} in width_power spec is out of range [-64, 64]")
    return value


def parse(spec: str) -> dict[str, Term]:
    """Parse a width-power spec into ``{group: Term}``.

    Args:
      spec: ``"width_power: W = H^(-4/15) |N|, b = H^(-9/10) N"`` (module docstring).

    Returns:
      One :class:`Term` per group named, in the order given.

    Raises:
      ValueError: not a spec, a bad group name, a repeated group, or a term that does not parse.

    >>> t = parse("width_power: W = H^(-4/15) |N|, b2 = N")
    >>> t["W"].exponent, t["W"].half, t["b2"]
    (Fraction(-4, 15), True, Term(exponent=Fraction(0, 1), half=False))
    """
    if not is_spec(spec):
        raise ValueError(f"not a width_power spec: {spec!r}")
    body = spec.strip()[len(PREFIX) :].strip()
    if not body.startswith(":"):
        raise ValueError(
            f"width_power spec needs ':' and groups, e.g. 'width_power: W = H^(-1/7) |N|, "
            f"b = H^(-1/2) N'; got {spec!r}"
        )
    terms: dict[str, Term] = {}
    for item in body[1:].split(","):
        if not item.strip():
            raise ValueError(f"empty group in width_power spec {spec!r}")
        group, eq, law = item.partition("=")
        group, law = group.strip(), law.strip()
        m = _GROUP.match(group)
        if not eq or m is None or m.group(2).startswith("0"):
            raise ValueError(
                f"bad group {item.strip()!r} in width_power spec: want GROUP = TERM with GROUP one "
                "of W, b (every layer) or W1, b1, W2, ... (one layer)"
            )
        if group in terms:
            raise ValueError(f"group {group!r} given twice in width_power spec")
        t = _TERM.match(law)
        if t is None:
            raise ValueError(
                f"bad term {law!r} for {group} in width_power spec: want H^(a) N, H^(a) |N|, "
                "N or |N| (a a number or p/q)"
            )
        exp = t.group("paren") or t.group("bare") or "0"
        terms[group] = Term(_exponent(exp), t.group("dist") != "N")
    return terms


def canonical(spec: str) -> str:
    """The spec in one canonical spelling (groups sorted: ``W``, ``b``, then by layer), so that
    two spellings of one init give one config hash.

    Args:
      spec: a width-power spec.

    Returns:
      ``"width_power: W = H^(a) |N|, b = H^(c) N, ..."`` with every exponent a reduced fraction.

    Raises:
      ValueError: as :func:`parse`.

    >>> canonical("width_power:b=N, W = H^(-2/4)|N|")
    'width_power: W = H^(-1/2) |N|, b = H^(0) N'
    """
    terms = parse(spec)

    def order(group: str) -> tuple[int, int, str]:
        return (int(group[1:] or 0), 0 if group[0] == "W" else 1, group)

    body = ", ".join(f"{g} = {terms[g].text()}" for g in sorted(terms, key=order))
    return f"{PREFIX}: {body}"


def layer_terms(spec: str, arch: tuple[int, ...]) -> tuple[tuple[Term, Term], ...]:
    """The ``(weight, bias)`` terms of every layer of ``arch`` under ``spec``.

    Args:
      spec: a width-power spec.
      arch: ``(d, l_1, ..., l_L, 1)``.

    Returns:
      One ``(Term, Term)`` per layer, layer ``k`` from group ``W<k>`` / ``b<k>`` else ``W`` / ``b``.

    Raises:
      ValueError: a group is not covered, or a layer index exceeds the net's depth.

    >>> [w.exponent for w, _ in layer_terms("width_power: W = N, W2 = H^2 N, b = N", (1, 4, 1))]
    [Fraction(0, 1), Fraction(2, 1)]
    """
    terms = parse(spec)
    n_layers = len(arch) - 1
    for group in terms:
        if group[1:] and int(group[1:]) > n_layers:
            raise ValueError(
                f"width_power group {group!r}: the net {tuple(arch)} has {n_layers} layers"
            )
    out = []
    for k in range(1, n_layers + 1):
        pair = []
        for kind in ("W", "b"):
            term = terms.get(f"{kind}{k}", terms.get(kind))
            if term is None:
                raise ValueError(
                    f"width_power spec does not cover group {kind}{k} (give {kind}{k} or {kind})"
                )
            pair.append(term)
        out.append(tuple(pair))
    return tuple(out)


def layer_factors(
    spec: str, arch: tuple[int, ...], scale: float = 1.0
) -> tuple[tuple[float, bool, float, bool], ...]:
    """Per layer ``(weight factor, weight half-normal?, bias factor, bias half-normal?)``.

    The factor is ``scale H^a`` with ``H = arch[1]``, the first hidden width (for ``[1, H, 1]``
    nets the hidden width of both layers, as in arXiv 2212.13111's code).

    Args:
      spec: a width-power spec.
      arch: ``(d, l_1, ..., l_L, 1)``.
      scale: multiplies every factor (``init_scale``).

    Returns:
      One ``(float, bool, float, bool)`` per layer.

    Raises:
      ValueError: as :func:`layer_terms`.

    >>> layer_factors("width_power: W = H^(1/2) |N|, b = H^(-1) N", (1, 4, 1))
    ((2.0, True, 0.25, False), (2.0, True, 0.25, False))
    """
    width = int(arch[1])
    return tuple(
        (scale * width ** float(w.exponent), w.half, scale * width ** float(b.exponent), b.half)
        for w, b in layer_terms(spec, tuple(arch))
    )


def _law(z: jax.Array, factor, half) -> jax.Array:
    """``factor * |z|`` or ``factor * z``; ``half`` a Python bool or a traced boolean."""
    if isinstance(half, jax.Array):
        return factor * jnp.where(half, jnp.abs(z), z)
    return factor * (jnp.abs(z) if half else z)


def draw_layer(
    key: jax.Array,
    fan_in: int,
    fan_out: int,
    factors: tuple,
    *,
    zero_bias: bool = False,
    dtype=None,
) -> tuple[jax.Array, jax.Array]:
    """Draw one layer's ``(W: (fan_out, fan_in), b: (fan_out,))`` under a width-power init.

    Args:
      key: the layer's key (``fold_in(net_key, k)`` for layer ``k`` from 0).
      fan_in: inputs of the layer.
      fan_out: outputs of the layer.
      factors: one row of :func:`layer_factors`; its entries may be traced scalars (the half
        flags then booleans), so one vmapped program draws a stack of equal-shape layers.
      zero_bias: set the bias to 0.
      dtype: float dtype (``None``: JAX's default float).

    Returns:
      ``(W, b)``; ``W = w_factor * Z`` (or ``|Z|``), ``Z`` standard normal from the weight key.

    >>> w, b = draw_layer(jax.random.key(0), 1, 3, (2.0, True, 1.0, False))
    >>> w.shape, b.shape, bool((w >= 0).all())
    ((3, 1), (3,), True)
    """
    if dtype is None:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    w_factor, w_half, b_factor, b_half = factors
    kw, kb = jax.random.split(key)
    w = _law(flat_draw(jax.random.normal, kw, (fan_out, fan_in), dtype), w_factor, w_half)
    if zero_bias:
        return w.astype(dtype), jnp.zeros((fan_out,), dtype)
    b = _law(flat_draw(jax.random.normal, kb, (fan_out,), dtype), b_factor, b_half)
    return w.astype(dtype), b.astype(dtype)


def check(spec: str, arch: tuple[int, ...] | None = None) -> str:
    """Validate ``spec`` (against ``arch`` when given) and return its canonical spelling.

    Args:
      spec: a width-power spec.
      arch: the architecture whose groups the spec must cover, or ``None`` (syntax only).

    Returns:
      :func:`canonical` of ``spec``.

    Raises:
      ValueError: a syntax error, an uncovered group, or an ``H^a`` that overflows.

    >>> check("width_power: W = |N|, b = N", (1, 3, 1))
    'width_power: W = H^(0) |N|, b = H^(0) N'
    """
    text = canonical(spec)
    if arch is not None:
        for row in layer_factors(text, tuple(arch)):
            if not all(math.isfinite(f) for f in (row[0], row[2])):
                raise ValueError(f"width_power spec overflows at width {arch[1]}: {text}")
    return text
