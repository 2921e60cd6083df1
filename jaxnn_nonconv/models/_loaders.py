"""Load fully connected ReLU networks trained elsewhere as this project's parameters.

Every loader returns a :class:`Model`: the parameters as a tuple of ``(W_k: (l_k, l_{k-1}),
b_k: (l_k,))`` NumPy pairs (PyTorch's ``nn.Linear`` layout, see :mod:`jaxnn_nonconv.core.nets`) plus
the names of the layers they came from, so that messages can point at a layer.

Sources:

* files (:func:`load`): a PyTorch ``state_dict`` (``.pt`` / ``.pth``, read with
  ``torch.load(weights_only=True)``: arbitrary pickled objects are never unpickled; a checkpoint
  dict holding the state dict under ``state_dict``, ``model_state_dict`` or ``model`` works too), a
  ``.safetensors`` file, and a ``.npz`` of ``W0, b0, W1, b1, ...`` (``allow_pickle=False``).
  A state dict carries no activations: it is read as a ``Linear`` / ``ReLU`` stack.
* Python objects (:func:`from_object`): the project's own params, a Flax ``Dense`` parameter dict
  (``kernel`` is ``(in, out)``, transposed here), an Equinox ``eqx.nn.MLP``, a PyTorch module
  (``nn.Sequential`` of ``Linear`` / ``ReLU``, nested ``Sequential``, ``Flatten``, ``Identity`` and
  ``Dropout`` allowed) or a ``state_dict``-like mapping.
* other formats, each in its own module, all behind :mod:`~jaxnn_nonconv.models._formats`
  (``models.load`` and ``models.from_object``): ONNX, ``.nnet``, scikit-learn and ``.skops``,
  Keras 3 ``.keras``.

A ``.npz`` may carry its activation (a string array ``activation``: ``relu``, ``clip`` or
``repu:P``, :attr:`Model.activation`); without one, and for a state dict, the model's
:attr:`Model.notes` say that ReLU was assumed. Formats whose layers name their activation (torch
modules, Equinox, ONNX, ``.nnet``, Keras, scikit-learn) are ReLU, checked.

PyTorch, safetensors, Flax and Equinox are optional and imported only when a source needs them.
Anything else (convolutions, normalization layers, other activations, shapes that do not chain,
non-finite weights) raises :class:`ModelError` with a one-line message naming the layer; a network
whose activation has no zero-gradient region (leaky ReLU, softplus, ...) raises
:class:`NoDeadNeurons`, a :class:`ModelError` that says so.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ModelError

Pairs = tuple[tuple[np.ndarray, np.ndarray], ...]
FILE_SUFFIXES: tuple[str, ...] = (".pt", ".pth", ".safetensors", ".npz")
RELU_ASSUMED = "the file stores no activation: ReLU was assumed"
# Activations whose derivative is nonzero everywhere (or almost): no neuron can be dead.
_NEVER_DEAD = (
    "leakyrelu",
    "leaky_relu",
    "softplus",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "tanh",
    "sigmoid",
    "prelu",
    "rrelu",
    "logistic",
)
_IDENTITY = ("identity", "linear")


class NoDeadNeurons(ModelError):
    """The network's activation has a nonzero derivative (almost) everywhere: nothing can be dead."""


@dataclasses.dataclass(frozen=True)
class InputMap:
    """A per-coordinate map from the user's inputs to the network's: ``(clip(x, lo, hi) - shift)
    / scale`` (a ``.nnet`` file's normalization, an ONNX ``Sub`` before the first layer).

    Attributes:
      shift, scale: ``(d,)`` float64, ``scale > 0``.
      lo, hi: ``(d,)`` float64 clip bounds (``-inf`` / ``inf``: no clipping).
      text: one line for the output (where it came from, what it does).
    """

    shift: np.ndarray
    scale: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    text: str

    def box(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The image of the box ``[lo, hi]`` (float64), rounded outward by one float64 ulp per
        operation, so it contains every value the map takes on the box. The map is monotone in
        each coordinate (``scale > 0``), so the image is the box of the images of the ends.

        >>> m = InputMap(np.array([1.0]), np.array([2.0]), np.array([-np.inf]), np.array([2.0]), "")
        >>> [float(v) for v in np.concatenate(m.box(np.array([0.0]), np.array([5.0])))]
        [-0.5000000000000002, 0.5000000000000002]
        """
        a = np.clip(np.asarray(lo, np.float64), self.lo, self.hi)
        b = np.clip(np.asarray(hi, np.float64), self.lo, self.hi)
        down, up = -np.inf, np.inf
        a = np.nextafter(np.nextafter(a - self.shift, down) / self.scale, down)
        b = np.nextafter(np.nextafter(b - self.shift, up) / self.scale, up)
        return a, b

    def points(self, x: np.ndarray) -> np.ndarray:
        """``(n, d)`` points mapped (float64)."""
        return (np.clip(x, self.lo, self.hi) - self.shift) / self.scale


@dataclasses.dataclass(frozen=True)
class Model:
    """A loaded ReLU MLP.

    Attributes:
      params: ``((W_1, b_1), ..., (W_{L+1}, b_{L+1}))``, NumPy, ``W_k: (l_k, l_{k-1})``; the last
        pair is the (affine) output layer.
      layer_names: one name per pair, as in the source (``"0"``, ``"Dense_1"``, ``"layers[2]"``).
      source: where it came from (``"state_dict"``, ``"safetensors"``, ``"npz"``, ``"flax"``, ...).
      notes: lines the output must show (an assumed activation, an input normalization).
      input_map: the map from the user's inputs to the network's (``None``: the identity); the
        domain is given in the user's units and mapped by :meth:`InputMap.box`.
      activation: the hidden activation the source states (``relu``, ``clip``, ``repu:P``), or
        ``None`` when it states none (a state dict, a bare parameter tuple: ReLU unless told).
    """

    params: Pairs
    layer_names: tuple[str, ...]
    source: str
    notes: tuple[str, ...] = ()
    input_map: InputMap | None = None
    activation: str | None = None

    @property
    def arch(self) -> tuple[int, ...]:
        """``(d, l_1, ..., l_L, l_out)``."""
        return (self.params[0][0].shape[1], *(w.shape[0] for w, _ in self.params))

    @property
    def dtype(self) -> np.dtype:
        """The widest float dtype of the weights (float32 unless a weight is float64)."""
        return np.result_type(*(a.dtype for pair in self.params for a in pair))

    @property
    def num_params(self) -> int:
        return sum(w.size + b.size for w, b in self.params)


def _natural_key(name: str) -> list:
    """``"layers.10"`` after ``"layers.2"``: digit runs compare as numbers."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _float_array(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == np.float64:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise ModelError(f"layer {name!r}: weights must be floats, got dtype {arr.dtype}")
    return arr.astype(np.float32)  # float16 / bfloat16 widen exactly


def _transposed(name: str, w: np.ndarray) -> str:
    """The message for a weight stored ``(in, out)``, as scikit-learn's ``coefs_`` and Keras
    kernels are, instead of PyTorch's ``(out, in)``."""
    n_in, n_out = w.shape
    return (
        f"layer {name!r}: weights look transposed: got (in, out) = ({n_in}, {n_out}), expected "
        f"(out, in) = ({n_out}, {n_in}); transpose W (scikit-learn's coefs_ and Keras kernels "
        "are stored (in, out))"
    )


def build(
    layers: Sequence[tuple[str, Any, Any]], source: str, activation: str | None = None
) -> Model:
    """Validate ``(name, W: (out, in), b: (out,) or None)`` triples into a :class:`Model`.

    A missing bias (``nn.Linear(bias=False)``) is zero. ``activation``: the hidden activation the
    source states (:attr:`Model.activation`; ``None``: it states none).

    Raises:
      ModelError: fewer than two layers, a weight that is not a matrix, a bias of the wrong
        shape, shapes that do not chain, or a non-finite entry; the message names the layer.

    >>> m = build([("0", np.ones((3, 2)), np.zeros(3)), ("2", np.ones((1, 3)), None)], "demo")
    >>> m.arch, m.num_params
    ((2, 3, 1), 13)
    >>> build([("0", np.ones((3, 2)), None), ("2", np.ones((1, 4)), None)], "demo")
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.errors.ModelError: layer '2': weight has 4 inputs but layer '0' has 3 outputs
    >>> build([("0", np.ones((2, 16)), np.zeros(16)), ("1", np.ones((16, 1)), None)], "sk")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.errors.ModelError: layer '0': weights look transposed: got (in, out) = (2, 16), ...
    """
    if len(layers) < 2:
        raise ModelError(
            f"need at least one hidden layer and an output layer, found {len(layers)} linear layer(s)"
        )
    out, prev = [], None
    for name, w, b in layers:
        w = _float_array(w, name)
        if w.ndim != 2:
            raise ModelError(
                f"layer {name!r}: weight has shape {w.shape}, not a fully connected layer "
                "(convolutions and other layers are not supported)"
            )
        b = np.zeros(w.shape[0], w.dtype) if b is None else _float_array(b, name)
        if b.shape != (w.shape[0],):
            if b.shape == (w.shape[1],):  # scikit-learn's coefs_ and Keras kernels are (in, out)
                raise ModelError(_transposed(name, w))
            raise ModelError(f"layer {name!r}: bias has shape {b.shape}, expected ({w.shape[0]},)")
        if prev is not None and w.shape[1] != prev[1].shape[0]:
            if w.shape[0] == prev[1].shape[0]:
                raise ModelError(_transposed(name, w))
            raise ModelError(
                f"layer {name!r}: weight has {w.shape[1]} inputs but layer {prev[0]!r} has "
                f"{prev[1].shape[0]} outputs"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ModelError(f"layer {name!r}: weights contain NaN or inf")
        out.append((w, b))
        prev = (name, w)
    names = tuple(n for n, _, _ in layers)
    return Model(tuple(out), names, source, activation=activation)


def from_params(params: Sequence[tuple[Any, Any]], source: str = "params") -> Model:
    """The project's own params (one network, e.g. ``nets.init_params(...)``).

    >>> import jax
    >>> from jaxnn_nonconv.core import nets
    >>> from_params(nets.init_params(jax.random.key(0), (3, 5, 1))).arch
    (3, 5, 1)
    """
    return build([(str(k), w, b) for k, (w, b) in enumerate(params)], source)


def from_state_dict(state: Mapping[str, Any], source: str = "state_dict", *, sort=False) -> Model:
    """A ``state_dict`` (``"<layer>.weight"`` / ``"<layer>.bias"``) of a ``Linear``/``ReLU`` stack.

    Args:
      state: name -> array (torch tensors are converted with ``.numpy()``).
      source: label for messages.
      sort: order the layers by their names with digit runs compared as numbers (for files that
        do not keep the insertion order, such as ``.safetensors``); else the mapping's order.

    Raises:
      ModelError: a key that is not ``weight`` / ``bias`` (normalization buffers, ...), a layer
        without weight, or any :func:`build` error.

    >>> sd = {"0.weight": np.ones((4, 3)), "0.bias": np.zeros(4), "2.weight": np.ones((1, 4))}
    >>> from_state_dict(sd).layer_names
    ('0', '2')
    >>> from_state_dict({"0.weight": np.ones((4, 3)), "1.running_mean": np.zeros(4)})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.errors.ModelError: layer '1': 'running_mean' is not a Linear parameter ...
    """
    groups: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ModelError(
                f"layer {prefix or key!r}: {leaf!r} is not a Linear parameter "
                "(only Linear/ReLU stacks are supported)"
            )
        groups.setdefault(prefix, {})[leaf] = _to_numpy(value, key)
    names = sorted(groups, key=_natural_key) if sort else list(groups)
    layers = []
    for name in names:
        if "weight" not in groups[name]:
            raise ModelError(f"layer {name!r}: has a bias but no weight")
        layers.append((name, groups[name]["weight"], groups[name].get("bias")))
    return build(layers, source)


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    arr = np.asarray(value)
    if arr.dtype == object:
        raise ModelError(f"layer {name!r}: not a numeric array")
    return arr


def from_flax(variables: Mapping[str, Any]) -> Model:
    """A Flax ``Dense`` stack's variables, ``{"params": {"Dense_0": {"kernel", "bias"}, ...}}``.

    The ``"params"`` wrapper is optional; ``kernel: (in, out)`` is transposed to ``W: (out, in)``.
    Layers are taken in the dict's order (Flax records them in call order). Activations are not
    part of a parameter dict: the stack is read as ``Dense`` / ``relu``.

    >>> v = {"params": {"Dense_0": {"kernel": np.ones((3, 4)), "bias": np.zeros(4)},
    ...                 "Dense_1": {"kernel": np.ones((4, 1)), "bias": np.zeros(1)}}}
    >>> from_flax(v).arch
    (3, 4, 1)
    """
    tree = variables.get("params", variables) if isinstance(variables, Mapping) else variables
    if not isinstance(tree, Mapping):
        raise ModelError(f"Flax variables must be a dict of layers, got {type(tree).__name__}")
    layers = []
    for name, leaf in tree.items():
        if not isinstance(leaf, Mapping) or "kernel" not in leaf:
            keys = sorted(leaf) if isinstance(leaf, Mapping) else type(leaf).__name__
            raise ModelError(f"layer {name!r}: not a Dense layer (has {keys})")
        extra = set(leaf) - {"kernel", "bias"}
        if extra:
            raise ModelError(f"layer {name!r}: not a Dense layer (has {sorted(extra)})")
        kernel = np.asarray(leaf["kernel"])
        if kernel.ndim != 2:
            raise ModelError(
                f"layer {name!r}: kernel has shape {kernel.shape}, not a Dense layer "
                "(convolutions are not supported)"
            )
        layers.append((str(name), kernel.T, leaf.get("bias")))
    return build(layers, "flax")


def _activation_name(fn: Any) -> str:
    """A lowercase name for an activation callable (``jax.nn.relu`` is a ``custom_jvp``) or module."""
    name = getattr(fn, "__name__", None) or getattr(getattr(fn, "fun", None), "__name__", None)
    return str(name or type(fn).__name__).lower()


def check_activation_name(name: str, where: str) -> None:
    """Accept ``relu``; refuse anything else with a one-line message.

    Raises:
      NoDeadNeurons: an activation with a nonzero derivative (almost) everywhere (tanh, leaky
        ReLU, identity, ...): no neuron can be dead.
      ModelError: any other activation.

    >>> check_activation_name("relu", "x")
    >>> check_activation_name("tanh", "the hidden activation")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.models._loaders.NoDeadNeurons: the hidden activation is tanh: ...
    """
    name = name.lower()
    if name == "relu":
        return
    if name in _NEVER_DEAD or name.replace("_", "") in _NEVER_DEAD or name in _IDENTITY:
        raise NoDeadNeurons(
            f"{where} is {name}: its derivative is nonzero (almost) everywhere, so no neuron "
            "can be dead; the dead-neuron check applies to ReLU networks"
        )
    raise ModelError(f"{where} is {name!r}: only ReLU activations are supported")


def stored_activation(name: str, where: str) -> str:
    """A stored activation name as the detector's: ``relu``, ``clip`` or ``repu:P``; raises as
    :func:`check_activation_name` (ModelError for a ``repu:P`` with a bad power).

    >>> stored_activation("clip", "x"), stored_activation("ReLU", "x"), stored_activation("repu:3", "x")
    ('clip', 'relu', 'repu:3')
    """
    from jaxnn_nonconv.core import nets

    low = name.strip().lower()
    try:
        if low == "clip" or nets.repu_power(low) is not None:
            return low
    except ValueError as e:
        raise ModelError(f"{where}: {e}") from None
    check_activation_name(low, where)
    return "relu"


def _check_activation(fn: Any, where: str) -> None:
    import jax

    if fn is jax.nn.relu:
        return
    name = _activation_name(fn)
    if name in _NEVER_DEAD or name.replace("_", "") in _NEVER_DEAD:
        raise NoDeadNeurons(
            f"{where} is {name}: its derivative is nonzero (almost) everywhere, so no neuron "
            "can be dead; the dead-neuron check applies to ReLU networks"
        )
    if name != "relu":
        raise ModelError(f"{where} is {name!r}: only ReLU activations are supported")


def from_equinox(mlp: Any) -> Model:
    """An Equinox ``eqx.nn.MLP`` (hidden activation ``jax.nn.relu``).

    Raises:
      NoDeadNeurons: leaky ReLU, softplus, ... hidden activation.
      ModelError: another activation.
    """
    _check_activation(mlp.activation, "the hidden activation")
    layers = [(f"layers[{k}]", lin.weight, lin.bias) for k, lin in enumerate(mlp.layers)]
    return build(layers, "equinox", "relu")


def _torch_modules(module: Any, prefix: str = ""):
    """Leaf modules of nested ``nn.Sequential`` with their dotted names."""
    import torch

    if isinstance(module, torch.nn.Sequential):
        for name, child in module.named_children():
            yield from _torch_modules(child, f"{prefix}{name}.")
    else:
        yield prefix.rstrip("."), module


def from_torch_module(module: Any) -> Model:
    """A PyTorch ``nn.Sequential`` of ``Linear`` and ``ReLU`` layers (``Flatten``, ``Identity``,
    ``Dropout`` are skipped: identities on a flat input at evaluation).

    Raises:
      NoDeadNeurons: a leaky ReLU, softplus, ... layer.
      ModelError: any other layer (named), two ``Linear`` without ``ReLU`` between them, a
        ``ReLU`` before the first ``Linear`` or after the last.
    """
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise ModelError(
            f"expected an nn.Sequential of Linear/ReLU layers, got {type(module).__name__} "
            "(pass its state_dict() instead)"
        )
    nn = torch.nn
    skip = (nn.Flatten, nn.Identity, nn.Dropout)
    layers, pending_relu = [], False
    for name, m in _torch_modules(module):
        kind = type(m).__name__
        if isinstance(m, nn.Linear):
            if layers and not pending_relu:
                raise ModelError(f"layer {name!r}: Linear follows a Linear without a ReLU between")
            layers.append((name, _to_numpy(m.weight, name), _maybe(m.bias, name)))
            pending_relu = False
        elif isinstance(m, nn.ReLU):
            if not layers or pending_relu:
                raise ModelError(f"layer {name!r}: ReLU must follow a Linear layer")
            pending_relu = True
        elif isinstance(m, skip):
            continue
        elif kind.lower() in _NEVER_DEAD:
            _check_activation(m, f"layer {name!r}")
        else:
            raise ModelError(f"layer {name!r}: {kind} is not supported (only Linear/ReLU stacks)")
    if pending_relu:
        raise ModelError("the last layer must be Linear (an affine output), found a ReLU")
    return build(layers, "torch", "relu")


def _maybe(t: Any, name: str) -> np.ndarray | None:
    return None if t is None else _to_numpy(t, name)


def from_object(obj: Any) -> Model:
    """Any supported Python object: see the module docstring.

    >>> import jax
    >>> from jaxnn_nonconv.core import nets
    >>> from_object(nets.init_params(jax.random.key(0), (2, 3, 1))).source
    'params'
    """
    if isinstance(obj, Model):
        return obj
    if isinstance(obj, (str, Path)):
        return load(obj)
    kind = type(obj)
    mod = kind.__module__ or ""
    if mod.startswith("torch"):
        return from_torch_module(obj)
    if mod.startswith("equinox") or (hasattr(obj, "layers") and hasattr(obj, "activation")):
        return from_equinox(obj)
    if isinstance(obj, Mapping):
        values = list(obj.values())
        if (values and all(isinstance(v, Mapping) for v in values)) or "params" in obj:
            return from_flax(obj)
        return from_state_dict(obj)
    if isinstance(obj, (tuple, list)):
        return from_params(obj)
    raise ModelError(f"unsupported model object of type {kind.__name__}")


def _one_line(e: BaseException) -> str:
    """The first sentence of an exception's message, on one line."""
    text = " ".join((str(e) or type(e).__name__).split())
    return text.split(". ")[0][:160]


def _load_torch(path: Path) -> Model:
    try:
        import torch
    except ImportError:
        raise ModelError(
            f"{path}: reading .pt/.pth files needs PyTorch (pip install 'jaxnn_nonconv[torch]')"
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, truncated zip, an object weights_only refuses
        raise ModelError(
            f"{path}: not a readable state_dict ({type(e).__name__}: {_one_line(e)}); "
            "save model.state_dict() with torch.save"
        ) from None
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping):
        raise ModelError(f"{path}: holds a {type(obj).__name__}, expected a state_dict")
    return dataclasses.replace(from_state_dict(obj, "state_dict"), notes=(RELU_ASSUMED,))


def _load_safetensors(path: Path) -> Model:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ModelError(
            f"{path}: reading .safetensors needs safetensors (pip install 'jaxnn_nonconv[models]')"
        ) from None
    try:
        state = load_file(path)
    except Exception as e:
        raise ModelError(f"{path}: not a readable safetensors file ({_one_line(e)})") from None
    model = from_state_dict(state, "safetensors", sort=True)
    return dataclasses.replace(model, notes=(RELU_ASSUMED,))


def _load_npz(path: Path) -> Model:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise ModelError(f"{path}: not a readable .npz file ({_one_line(e)})") from None
    ws = {int(k[1:]): k for k in arrays if re.fullmatch(r"W\d+", k)}
    activation = arrays.pop("activation", None)
    other = sorted(k for k in arrays if not re.fullmatch(r"[Wb]\d+", k))
    if other:
        raise ModelError(f"{path}: unexpected array(s) {other}; expected W0, b0, W1, b1, ...")
    if sorted(ws) != list(range(len(ws))):
        raise ModelError(f"{path}: weights must be W0, W1, ... without gaps, got {sorted(arrays)}")
    for k in arrays:
        if k.startswith("b") and int(k[1:]) not in ws:
            raise ModelError(f"layer {k[1:]}: bias {k} has no weight W{k[1:]}")
    notes: tuple[str, ...] = (RELU_ASSUMED,)
    stored = None
    if activation is not None:
        if activation.dtype.kind != "U" or activation.ndim != 0:
            raise ModelError(f"{path}: 'activation' must be a string, got {activation.dtype}")
        stored = stored_activation(str(activation), "the stored activation")
        notes = ()
    layers = [(str(k), arrays[f"W{k}"], arrays.get(f"b{k}")) for k in range(len(ws))]
    return dataclasses.replace(build(layers, "npz"), notes=notes, activation=stored)


def load(path: str | Path) -> Model:
    """Read a model file: ``.pt``, ``.pth``, ``.safetensors``, ``.npz`` (every format:
    :func:`jaxnn_nonconv.models.load`).

    Raises:
      ModelError: missing or unreadable file, unknown suffix, or an unsupported network.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".pt", ".pth"):
        return _load_torch(path)
    if suffix == ".safetensors":
        return _load_safetensors(path)
    if suffix == ".npz":
        return _load_npz(path)
    raise ModelError(f"{path}: unknown model file type {suffix!r}; use {', '.join(FILE_SUFFIXES)}")


def save_npz(path: str | Path, model: Any, activation: str | None = None) -> None:
    """Write any supported model as ``W0, b0, W1, b1, ...`` and its ``activation`` (the
    ``.npz`` layout :func:`load` reads): the one given, else the model's, else ``relu``. A model
    with an input map is refused (the ``.npz`` has no place for it).

    >>> import tempfile, os
    >>> m = build([("0", np.ones((3, 2)), np.zeros(3)), ("1", np.ones((1, 3)), np.zeros(1))], "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_npz(os.path.join(tmp, "m.npz"), m)
    ...     load(os.path.join(tmp, "m.npz")).arch
    (2, 3, 1)
    """
    m = from_object(model)
    if m.input_map is not None:
        raise ModelError("this model has an input normalization, which a .npz cannot hold")
    name = stored_activation(activation or m.activation or "relu", "the activation")
    arrays: dict[str, Any] = {"activation": np.array(name)}
    for k, (w, b) in enumerate(m.params):
        arrays[f"W{k}"], arrays[f"b{k}"] = w, b
    np.savez(path, **arrays)
