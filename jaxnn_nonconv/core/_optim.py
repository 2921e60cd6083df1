"""The nine optimizers of the seed papers, through Optax, and learning-rate schedules.

Every optimizer is wrapped in :func:`optax.inject_hyperparams`, so its learning rate (and the other
numeric hyperparameters) live in the optimizer state as arrays: a vmapped run can give every trial
its own learning rate without recompiling. Defaults follow PyTorch where Optax's differ
(rmsprop: ``alpha = 0.99`` and ``eps`` outside the square root; adagrad: zero initial accumulator).
No optimizer here uses weight decay, so a parameter with zero gradient from the first step on
stays exactly unchanged (docs/theory.md sec. 3).

A schedule is a factor ``s(n)`` with ``s(0) = 1`` multiplying the update of step ``n`` (counted from
0); since each of these optimizers' update is linear in the learning rate, that is the same as the
learning rate ``lr * s(n)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import optax

# name -> (optax factory, default hyperparameters)
_OPTIMIZERS: dict[str, tuple[Callable[..., optax.GradientTransformation], dict]] = {
    "sgd": (optax.sgd, {}),
    "momentum": (optax.sgd, {"momentum": 0.9}),
    "nesterov": (optax.sgd, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (optax.adagrad, {"initial_accumulator_value": 0.0, "eps": 1e-10}),
    "rmsprop": (optax.rmsprop, {"decay": 0.99, "eps": 1e-8, "eps_in_sqrt": False}),
    "adam": (optax.adam, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "adamax": (optax.adamax, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "amsgrad": (optax.amsgrad, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "nadam": (optax.nadam, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
}
OPTIMIZERS: tuple[str, ...] = tuple(_OPTIMIZERS)
# Hyperparameters that select code paths rather than values: kept static, never traced.
_STATIC = ("nesterov", "eps_in_sqrt")

SCHEDULES: tuple[str, ...] = ("constant", "power", "step", "cosine")


def hyperparameters(name: str) -> dict:
    """Default hyperparameters of optimizer ``name`` (learning rate excluded).

    >>> hyperparameters("momentum")
    {'momentum': 0.9}
    """
    if name not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    return dict(_OPTIMIZERS[name][1])


def schedule(kind: str = "constant", **kw) -> Callable[[jnp.ndarray], jnp.ndarray]:
    """Learning-rate factor ``s(n)`` with ``s(0) = 1``.

    Kinds:
      ``constant``: 1.
      ``power``: ``(n + 1)^-gamma`` (the papers' ``lr * n^-gamma`` with ``n`` counted from 1).
      ``step``: ``factor^floor((n + offset) / every)``, ``offset`` an integer ``>= 0`` (default
      0). arXiv 2212.13111's code halves at ``floor((i + 1) / every)`` with its step ``i`` from 0,
      one step earlier than ``offset = 0``: ``offset = 1`` gives its numbers.
      ``cosine``: ``optax.cosine_decay_schedule(1, decay_steps, alpha)``.

    >>> s = schedule("step", factor=0.5, every=500)
    >>> [float(s(n)) for n in (0, 499, 500, 1000)]
    [1.0, 1.0, 0.5, 0.25]
    >>> s = schedule("step", factor=0.5, every=500, offset=1)
    >>> [float(s(n)) for n in (0, 498, 499, 999)]
    [1.0, 1.0, 0.5, 0.25]
    """
    if kind == "constant":
        _no_extra(kind, kw, ())
        return lambda n: jnp.ones((), jnp.float32)
    if kind == "power":
        _no_extra(kind, kw, ("gamma",))
        gamma = _positive(kw.get("gamma", 0.1), "gamma", allow_zero=True)
        return lambda n: jnp.power(jnp.asarray(n, jnp.float32) + 1.0, -gamma)
    if kind == "step":
        _no_extra(kind, kw, ("every", "factor", "offset"))
        factor = _positive(kw.get("factor", 0.5), "factor")
        every = int(_positive(kw.get("every", 500), "every"))
        offset = _positive(kw.get("offset", 0), "offset", allow_zero=True)
        if offset != int(offset):
            raise ValueError(f"offset must be an integer >= 0, got {offset}")
        off = int(offset)  # integer steps: offset 0 gives exactly the old factors
        return lambda n: jnp.power(
            jnp.float32(factor), jnp.asarray((n + off) // every, jnp.float32)
        )
    if kind == "cosine":
        _no_extra(kind, kw, ("decay_steps", "alpha"))
        decay_steps = int(_positive(kw.get("decay_steps", 1000), "decay_steps"))
        alpha = _positive(kw.get("alpha", 0.0), "alpha", allow_zero=True)
        return optax.cosine_decay_schedule(1.0, decay_steps, alpha)
    raise ValueError(f"unknown schedule {kind!r}; valid: {', '.join(SCHEDULES)}")


def _no_extra(kind: str, kw: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(set(kw) - set(allowed))
    if extra:
        valid = ", ".join(allowed) or "none"
        raise ValueError(f"schedule {kind!r} takes no parameter {extra[0]!r}; valid: {valid}")


def _positive(value, name: str, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


def make(
    name: str,
    learning_rate,
    *,
    schedule: Callable | None = None,
    trainable: Sequence[str] | None = None,
    **hyper,
) -> optax.GradientTransformation:
    """Optimizer ``name`` as an ``optax.GradientTransformation``.

    Args:
      name: one of :data:`OPTIMIZERS`.
      learning_rate: a float, or an array (a traced per-trial value inside ``vmap``).
      schedule: optional factor ``s(n)`` from :func:`schedule`.
      trainable: parameter groups that train (:func:`masked`); ``None``: all of them.
      **hyper: overrides of the defaults in :func:`hyperparameters`.

    >>> import jax
    >>> opt = make("sgd", 0.1)
    >>> p = {"w": jnp.ones(2)}
    >>> upd, _ = opt.update({"w": jnp.array([1.0, -2.0])}, opt.init(p), p)
    >>> upd["w"]
    Array([-0.1,  0.2], dtype=float32)
    """
    defaults = hyperparameters(name)
    unknown = sorted(set(hyper) - set(defaults))
    if unknown:
        valid = ", ".join(defaults) or "none"
        raise ValueError(f"optimizer {name!r} has no hyperparameter {unknown[0]!r}; valid: {valid}")
    factory = _OPTIMIZERS[name][0]
    kwargs = {**defaults, **hyper}
    static = tuple(k for k in _STATIC if k in kwargs)
    opt = optax.inject_hyperparams(factory, static_args=static)(
        learning_rate=learning_rate, **kwargs
    )
    if schedule is not None:
        opt = optax.chain(opt, optax.scale_by_schedule(schedule))
    return opt if trainable is None else masked(opt, trainable)


# Parameter groups: ``W1, b1, W2, b2, ...``, numbered by layer from 1 (layer L + 1 is the output).
_GROUP = re.compile(r"([Wb])([1-9][0-9]*)")


def parameter_groups(n_layers: int) -> tuple[str, ...]:
    """The group names of a net with ``n_layers`` affine layers (hidden layers + output).

    >>> parameter_groups(2)
    ('W1', 'b1', 'W2', 'b2')
    """
    return tuple(f"{kind}{k}" for k in range(1, n_layers + 1) for kind in "Wb")


def check_trainable(trainable: Sequence[str], n_layers: int | None = None) -> tuple[str, ...]:
    """Validate a list of trainable groups; return them sorted by layer (``W`` before ``b``).

    Args:
      trainable: group names such as ``("b1",)`` or ``("W2", "b1")``.
      n_layers: affine layers of the net (``len(arch) - 1``); ``None``: any layer number.

    Raises:
      ValueError: empty, a name that is not ``W<k>``/``b<k>``, a layer beyond ``n_layers``, or a
        repeated name.

    >>> check_trainable(["W2", "b1"], 2)
    ('b1', 'W2')
    """
    names = tuple(trainable)
    if not names:
        raise ValueError("trainable must name at least one parameter group (W1, b1, W2, ...)")
    for name in names:
        m = _GROUP.fullmatch(str(name))
        if m is None:
            raise ValueError(
                f"trainable group {name!r} is not of the form W<k> or b<k> (layers numbered from 1)"
            )
        if n_layers is not None and int(m.group(2)) > n_layers:
            valid = ", ".join(parameter_groups(n_layers))
            raise ValueError(f"trainable group {name!r}: the net has {n_layers} layers ({valid})")
    if len(set(names)) != len(names):
        raise ValueError(f"trainable names a group twice: {list(names)}")
    return tuple(sorted(names, key=lambda g: (int(g[1:]), g[0] != "W")))


def group_labels(params, trainable: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``"train"`` or ``"frozen"`` for each leaf of ``params`` (``((W_1, b_1), ...)``).

    >>> group_labels(((0, 0), (0, 0)), ["b1"])
    (('frozen', 'train'), ('frozen', 'frozen'))
    """
    chosen = set(trainable)
    return tuple(
        tuple("train" if f"{kind}{k}" in chosen else "frozen" for kind in "Wb")
        for k in range(1, len(params) + 1)
    )


def masked(opt: optax.GradientTransformation, trainable: Sequence[str]):
    """``opt`` on the groups in ``trainable`` only; the others get a zero update.

    Built on :func:`optax.multi_transform`: the frozen groups go through
    :func:`optax.set_to_zero` and hold no optimizer state (no moments, no accumulators), so an
    optimizer with state (Adam, AdaGrad, ...) sees exactly the trainable sub-tree, as a PyTorch
    optimizer given only those parameters does. The params must be ``((W_1, b_1), ...)``. The
    engine also keeps the frozen leaves themselves (:func:`keep_frozen`), so they stay
    bit-identical to their initial values (``x + 0.0`` would turn a ``-0.0`` into ``+0.0``).

    >>> params = ((jnp.ones((2, 1)), jnp.ones(2)), (jnp.ones((1, 2)), jnp.ones(1)))
    >>> opt = masked(optax.sgd(0.5), ["b1"])
    >>> upd, _ = opt.update(jax.tree.map(jnp.ones_like, params), opt.init(params), params)
    >>> [float(jnp.sum(u)) for u in jax.tree.leaves(upd)]
    [0.0, -1.0, 0.0, 0.0]
    """
    labels = tuple(trainable)
    return optax.multi_transform(
        {"train": opt, "frozen": optax.set_to_zero()}, lambda p: group_labels(p, labels)
    )


def keep_frozen(new, old, trainable: Sequence[str] | None):
    """``new`` params with the groups not in ``trainable`` taken from ``old`` (static choice).

    >>> keep_frozen(((1, 2),), ((0, 0),), ["W1"])
    ((1, 0),)
    """
    if trainable is None:
        return new
    labels = group_labels(new, trainable)
    return jax.tree.map(lambda n, o, lab: n if lab == "train" else o, new, old, labels)
