"""Read a fully connected ReLU network from an ONNX graph (the format of VNN-COMP benchmarks).

The graph must be one chain from its single input to its single output made of ``Gemm``,
``MatMul``, ``Add``, ``Sub``, ``Relu``, ``Flatten``, ``Reshape`` and ``Identity`` nodes (``Constant``
nodes may supply their constant operands); any other node is refused, naming it. Each ``Gemm``
or ``MatMul`` (constant weight) starts an affine layer; ``Add`` / ``Sub`` of a constant after it
form its bias; ``Relu`` ends a hidden layer; ``Flatten``, ``Reshape`` and ``Identity`` on a flat
vector are identities. Two matrix products without a ``Relu`` between them are refused (merging
them would change the network's float arithmetic). An ``Add`` / ``Sub`` of a constant before the
first matrix product shifts the input: it becomes the model's
:class:`~jaxnn_nonconv.models.InputMap` (the domain is mapped, rounded outward, and the output
says so), never folded into the weights.

Needs the ``onnx`` package (``pip install 'jaxnn_nonconv[onnx]'``), imported only here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import _loaders as loaders

_PASS = ("Flatten", "Reshape", "Identity")


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ModelError(
            "reading .onnx files needs the onnx package (pip install 'jaxnn_nonconv[onnx]')"
        ) from None
    return onnx


def load_file(path: str | Path) -> loaders.Model:
    """Read an ``.onnx`` file (see the module docstring).

    Raises:
      ModelError: unreadable file, a node that is not part of a fully connected ReLU chain
        (named), or a network :func:`jaxnn_nonconv.models.load` refuses.
    """
    onnx = _import_onnx()
    try:
        proto = onnx.load(str(path))
    except Exception as e:
        raise ModelError(f"{path}: not a readable ONNX file ({loaders._one_line(e)})") from None
    return from_onnx(proto)


def _node_name(node) -> str:
    return f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node"


def from_onnx(proto: Any) -> loaders.Model:
    """An ``onnx.ModelProto`` as a :class:`~jaxnn_nonconv.models.Model` (see the module docstring).

    Raises:
      ModelError: as :func:`load_file`.
    """
    _import_onnx()
    from onnx import numpy_helper

    graph = proto.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            value = next((a for a in node.attribute if a.name == "value"), None)
            if value is None:
                raise ModelError(f"{_node_name(node)}: only tensor constants are supported")
            consts[node.output[0]] = numpy_helper.to_array(value.t)
    inputs = [i.name for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelError(
            f"the ONNX graph has {len(inputs)} input(s) and {len(graph.output)} output(s); "
            "a fully connected network has one of each"
        )
    current = inputs[0]
    layers: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    open_layer = False  # an affine layer is being built (no Relu yet)
    shift = None  # the network sees x - shift: offsets before the first matrix product
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        if current not in node.input:
            raise ModelError(
                f"{_node_name(node)} does not continue the chain from {current!r} "
                "(only a single chain of layers is supported)"
            )
        others = [consts.get(n) for n in node.input if n != current]
        if any(o is None for o in others) and node.op_type not in _PASS:
            raise ModelError(f"{_node_name(node)}: its other operand must be a constant")
        op = node.op_type
        if op in ("Gemm", "MatMul"):
            if open_layer:
                raise ModelError(
                    f"{_node_name(node)}: a matrix product follows another without a Relu "
                    "between them"
                )
            w, b = _matrix(node, current, consts)
            layers.append((node.name or f"{op}_{len(layers)}", w, b))
            open_layer = True
        elif op in ("Add", "Sub"):
            c = np.asarray(others[0], np.float64 if others[0].dtype == np.float64 else np.float32)
            if op == "Sub" and node.input[0] != current:
                raise ModelError(f"{_node_name(node)}: constant minus the input is not supported")
            c = -c if op == "Sub" else c
            if not layers:
                shift = (0.0 if shift is None else shift) - c.reshape(-1).astype(np.float64)
            elif not open_layer:
                raise ModelError(f"{_node_name(node)}: an offset after a Relu is not supported")
            else:
                name, w, b = layers[-1]
                vec = np.broadcast_to(c.reshape(-1), (w.shape[0],)).astype(w.dtype)
                layers[-1] = (name, w, vec if b is None else b + vec)
        elif op == "Relu":
            if not open_layer:
                raise ModelError(f"{_node_name(node)}: a Relu must follow an affine layer")
            open_layer = False
        elif op in _PASS:
            pass
        else:
            raise ModelError(
                f"{_node_name(node)}: ONNX operator {op!r} is not supported (only Gemm, MatMul, "
                "Add, Sub, Relu, Flatten, Reshape, Identity chains)"
            )
        current = node.output[0]
    if current != graph.output[0].name:
        raise ModelError(f"the chain ends at {current!r}, not at the graph output")
    if not open_layer:
        raise ModelError("the last layer must be affine (an output layer), found a Relu")
    model = loaders.build(layers, "onnx", "relu")
    if shift is None:
        return model
    d = model.arch[0]
    shift = np.broadcast_to(shift, (d,)).astype(np.float64)
    imap = loaders.InputMap(
        shift=shift,
        scale=np.ones(d),
        lo=np.full(d, -np.inf),
        hi=np.full(d, np.inf),
        text="ONNX input offset before the first layer: the network sees x - shift "
        f"(shift {np.round(shift, 6).tolist()}); the domain is in the graph's input units",
    )
    return dataclasses.replace(model, input_map=imap, notes=(imap.text,))


def _matrix(node, current: str, consts: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """``(W: (out, in), b or None)`` of a ``Gemm`` or ``MatMul`` node with a constant weight."""
    attrs = {a.name: a for a in node.attribute}
    if node.op_type == "MatMul":
        if node.input[0] != current:
            raise ModelError(f"{_node_name(node)}: the weight must be the right operand")
        return np.asarray(consts[node.input[1]]).T, None
    ta = attrs["transA"].i if "transA" in attrs else 0
    tb = attrs["transB"].i if "transB" in attrs else 0
    alpha = attrs["alpha"].f if "alpha" in attrs else 1.0
    beta = attrs["beta"].f if "beta" in attrs else 1.0
    if node.input[0] != current or ta:
        raise ModelError(f"{_node_name(node)}: the input must be the first operand, untransposed")
    if alpha != 1.0 or (len(node.input) > 2 and beta != 1.0):
        raise ModelError(
            f"{_node_name(node)}: alpha/beta other than 1 are not supported (scaling the weights "
            "would change the network's float arithmetic)"
        )
    w = np.asarray(consts[node.input[1]])
    w = w if tb else w.T
    b = np.asarray(consts[node.input[2]]).reshape(-1) if len(node.input) > 2 else None
    if b is not None and b.size == 1 and w.shape[0] > 1:
        b = np.full(w.shape[0], b[0], b.dtype)
    return w, b
