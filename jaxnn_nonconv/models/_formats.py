"""One door for every model format: :func:`load` (files) and :func:`from_object` (Python objects).

The formats of :mod:`~jaxnn_nonconv.models._loaders` (PyTorch, safetensors, ``.npz``, Flax,
Equinox, the project's params) and those with their own modules: ONNX
(:mod:`~jaxnn_nonconv.models._onnx`), ``.nnet`` (:mod:`~jaxnn_nonconv.models._nnet`),
scikit-learn MLPs and ``.skops`` (:mod:`~jaxnn_nonconv.models._sklearn`) and Keras 3 ``.keras``
(:mod:`~jaxnn_nonconv.models._keras`). Each optional package is imported only when its format
is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import (
    _keras as keras_format,
    _loaders as loaders,
    _nnet as nnet,
    _onnx as onnx_format,
    _sklearn as sklearn_format,
)

_READERS = {
    ".onnx": onnx_format.load_file,
    ".nnet": nnet.load_file,
    ".skops": sklearn_format.load_file,
    ".keras": keras_format.load_file,
}
FILE_SUFFIXES: tuple[str, ...] = (*loaders.FILE_SUFFIXES, *_READERS)


def load(path: str | Path) -> loaders.Model:
    """Read a model file of any format (by its suffix, one of :data:`FILE_SUFFIXES`).

    Raises:
      ModelError: missing or unreadable file, unknown suffix, a missing optional package, or an
        unsupported network (the message names the layer or node).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        if suffix not in loaders.FILE_SUFFIXES and path.is_file():
            raise ModelError(
                f"{path}: unknown model file type {suffix!r}; use {', '.join(FILE_SUFFIXES)}"
            )
        return loaders.load(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    return _READERS[suffix](path)


def from_object(obj: Any) -> loaders.Model:
    """Any supported Python object or file path: a scikit-learn MLP, an ``onnx.ModelProto``, or
    what :func:`jaxnn_nonconv.models._loaders.from_object` reads.

    >>> import numpy as np
    >>> from_object(((np.ones((2, 1)), np.zeros(2)), (np.ones((1, 2)), np.zeros(1)))).arch
    (1, 2, 1)
    """
    if isinstance(obj, (str, Path)):
        return load(obj)
    mod = type(obj).__module__ or ""
    if mod.startswith("sklearn"):
        return sklearn_format.from_sklearn(obj)
    if mod.startswith("onnx"):
        return onnx_format.from_onnx(obj)
    return loaders.from_object(obj)
