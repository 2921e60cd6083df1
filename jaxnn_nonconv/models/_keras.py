"""Read a Keras 3 ``.keras`` file of ``Dense`` / ReLU layers, without importing Keras.

A ``.keras`` file is a zip archive holding ``config.json`` (the model's architecture) and
``model.weights.h5`` (its weights). The layers are taken from the config of a ``Sequential``
model, or of a ``Functional`` one whose layers form a chain, in order: ``Dense`` with activation
``relu`` (a hidden layer) or ``linear`` (the output layer, or a layer followed by an
``Activation("relu")`` / ``ReLU()`` layer); ``InputLayer``, ``Dropout`` and ``Flatten`` (on a flat
input) are identities at inference. Any other layer or activation is refused, naming it (an
activation with no zero-gradient region raises :class:`~jaxnn_nonconv.models.NoDeadNeurons`).

Weights are read with ``h5py`` from ``layers/<name>/vars/0`` (kernel, ``(in, out)``, transposed
here) and ``vars/1`` (bias), where Keras names each layer by its class in snake case with a
counter (``dense``, ``dense_1``, ...), in the order of the model's layers. Needs ``h5py``
(``pip install 'jaxnn_nonconv[keras]'``), imported only here.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import _loaders as loaders

_SKIP = ("InputLayer", "Dropout", "Flatten")


def _snake(name: str) -> str:
    """Keras' ``to_snake_case`` for class names: ``Dense`` -> ``dense``, ``ReLU`` -> ``re_lu``.

    >>> _snake("Dense"), _snake("ReLU"), _snake("InputLayer")
    ('dense', 're_lu', 'input_layer')
    """
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _activation(value) -> str:
    if isinstance(value, dict):  # a serialized activation object
        value = value.get("config", {}).get("name") or value.get("class_name", "")
    return str(value or "linear").lower()


def load_file(path: str | Path) -> loaders.Model:
    """Read a ``.keras`` file (see the module docstring).

    Raises:
      NoDeadNeurons: a non-ReLU activation with a nonzero derivative everywhere.
      ModelError: not a readable Keras 3 archive, ``h5py`` missing, a layer that is not
        ``Dense`` / ReLU (named), or a network :func:`jaxnn_nonconv.models.load` refuses.
    """
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            weights = z.read("model.weights.h5")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as e:
        raise ModelError(
            f"{path}: not a readable Keras 3 .keras archive ({loaders._one_line(e)})"
        ) from None
    try:
        import h5py
    except ImportError:
        raise ModelError(
            f"{path}: reading .keras files needs h5py (pip install 'jaxnn_nonconv[keras]')"
        ) from None
    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional"):
        raise ModelError(f"{path}: a {kind} model; only Sequential/Functional chains are read")
    specs = config.get("config", {}).get("layers", [])
    counters: dict[str, int] = {}
    layers, pending = [], False  # pending: the last Dense has no activation yet
    with h5py.File(io.BytesIO(weights), "r") as f:
        for spec in specs:
            cls, cfg = spec.get("class_name"), spec.get("config", {})
            name = cfg.get("name", cls)
            if cls == "InputLayer":
                continue
            snake = _snake(cls)
            n = counters.get(snake, 0)
            counters[snake] = n + 1
            key = f"layers/{snake}" + (f"_{n}" if n else "")
            inbound = spec.get("inbound_nodes") or []
            if kind == "Functional" and len(inbound) > 1:
                raise ModelError(f"layer {name!r}: is called more than once (not a chain)")
            if cls in _SKIP:
                continue
            if cls == "Dense":
                if pending:
                    raise ModelError(f"layer {name!r}: Dense follows a Dense without a ReLU")
                act = _activation(cfg.get("activation"))
                if act not in ("relu", "linear"):
                    loaders.check_activation_name(act, f"layer {name!r}'s activation")
                vars_ = f[f"{key}/vars"]
                kernel = np.asarray(vars_["0"])
                bias = np.asarray(vars_["1"]) if cfg.get("use_bias", True) else None
                layers.append((name, kernel.T, bias))
                pending = act == "linear"
            elif cls in ("Activation", "ReLU"):
                act = "relu" if cls == "ReLU" else _activation(cfg.get("activation"))
                if cls == "ReLU" and (
                    cfg.get("negative_slope", 0) or cfg.get("max_value") or cfg.get("threshold", 0)
                ):
                    raise ModelError(f"layer {name!r}: a ReLU with slope/cap/threshold")
                loaders.check_activation_name(act, f"layer {name!r}")
                if not pending:
                    raise ModelError(f"layer {name!r}: a ReLU must follow a linear Dense layer")
                pending = False
            else:
                raise ModelError(
                    f"layer {name!r}: Keras layer {cls} is not supported (only Dense/ReLU stacks)"
                )
    if layers and not pending:
        raise ModelError("the last Dense layer must be linear (an affine output), found a ReLU")
    return loaders.build(layers, "keras", "relu")
