"""Read and write the ``.nnet`` text format (ACAS Xu, Marabou, Reluplex), input normalization included.

Layout (after ``//`` comment lines; values comma separated, trailing commas allowed): the numbers
of layers, inputs, outputs and the largest layer size; the layer sizes ``d, l_1, ..., l_out``; a
flag (unused); the inputs' minimum and maximum; the means and ranges of the inputs and of the
output (``d + 1`` values each); then per layer its weight rows (``l_k`` rows of ``l_{k-1}``
values) and its biases (one per line). Every hidden layer is ReLU, the last is affine.

The network sees ``(clip(x, min, max) - mean) / range``: that normalization is the model's
:class:`~jaxnn_nonconv.models.InputMap`, so a domain is given in the file's raw input units (as in
Marabou's properties) and mapped to the network's units (rounded outward); the output says so.
The output's de-normalization (``y * range + mean``) does not change which neurons are dead.
Weights are read as float64 (the file's decimals parsed as doubles, as the format's tools do).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import _loaders as loaders


def _rows(path: Path) -> list[list[float]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: not a readable .nnet file ({loaders._one_line(e)})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            rows.append([float(v) for v in line.split(",") if v.strip()])
        except ValueError:
            raise ModelError(f"{path}, line {n}: expected comma-separated numbers") from None
    return rows


def load_file(path: str | Path) -> loaders.Model:
    """Read a ``.nnet`` file (see the module docstring).

    Raises:
      ModelError: a malformed file (the message names the line or the layer), non-finite
        weights, a range ``<= 0``.
    """
    path = Path(path)
    rows = _rows(path)
    try:
        n_layers, d, n_out = (int(v) for v in rows[0][:3])
        sizes = [int(v) for v in rows[1]]
        lo, hi = np.array(rows[3], np.float64), np.array(rows[4], np.float64)
        means, ranges = np.array(rows[5], np.float64), np.array(rows[6], np.float64)
    except (IndexError, ValueError):
        raise ModelError(f"{path}: truncated .nnet header") from None
    if len(sizes) != n_layers + 1 or sizes[0] != d or sizes[-1] != n_out:
        raise ModelError(f"{path}: layer sizes {sizes} do not match the header {rows[0][:3]}")
    if lo.shape != (d,) or hi.shape != (d,) or means.shape[0] < d or ranges.shape[0] < d:
        raise ModelError(f"{path}: the min/max/mean/range lines need {d} input values")
    if not np.all(ranges[:d] > 0):
        raise ModelError(f"{path}: input ranges must be > 0, got {ranges[:d].tolist()}")
    at, layers = 7, []
    for k in range(n_layers):
        n_in, n_o = sizes[k], sizes[k + 1]
        block = rows[at : at + n_o]
        bias = rows[at + n_o : at + 2 * n_o]
        if len(block) != n_o or len(bias) != n_o or any(len(r) != n_in for r in block):
            raise ModelError(f"{path}: layer {k}: expected {n_o} rows of {n_in} weights and biases")
        w = np.array(block, np.float64)
        b = np.array([r[0] for r in bias], np.float64)
        layers.append((str(k), w, b))
        at += 2 * n_o
    model = loaders.build(layers, "nnet", "relu")
    imap = loaders.InputMap(
        shift=means[:d].copy(),
        scale=ranges[:d].copy(),
        lo=lo,
        hi=hi,
        text=".nnet input normalization: the network sees (clip(x, min, max) - mean) / range with "
        f"min {lo.tolist()}, max {hi.tolist()}, mean {means[:d].tolist()}, range "
        f"{ranges[:d].tolist()}; the domain is in raw input units",
    )
    return dataclasses.replace(model, input_map=imap, notes=(imap.text,))


def save_nnet(
    path: str | Path,
    model,
    *,
    lo=None,
    hi=None,
    mean=None,
    scale=None,
) -> None:
    """Write any supported model as ``.nnet`` (weights as ``repr`` of float64: exact round trip).

    Args:
      path: the file.
      model: anything :func:`jaxnn_nonconv.models.from_object` reads.
      lo, hi, mean, scale: ``(d,)`` input normalization (default: no clipping within
        ``+-1e30``, mean 0, range 1); the output's mean and range are written as 0 and 1.

    >>> import tempfile, os
    >>> m = loaders.build([("0", np.ones((3, 2)), np.zeros(3)), ("1", np.ones((1, 3)), None)], "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_nnet(os.path.join(tmp, "m.nnet"), m)
    ...     load_file(os.path.join(tmp, "m.nnet")).arch
    (2, 3, 1)
    """
    m = loaders.from_object(model)
    d = m.arch[0]
    full = np.full(d, 1e30)
    lo = -full if lo is None else np.asarray(lo, np.float64)
    hi = full if hi is None else np.asarray(hi, np.float64)
    mean = np.zeros(d) if mean is None else np.asarray(mean, np.float64)
    scale = np.ones(d) if scale is None else np.asarray(scale, np.float64)

    def line(values) -> str:
        return ",".join(repr(float(v)) for v in values) + ","

    out = ["// written by jaxnn_nonconv", f"{len(m.params)},{d},{m.arch[-1]},{max(m.arch)},"]
    out += [",".join(map(str, m.arch)) + ",", "0,", line(lo), line(hi)]
    out += [line([*mean, 0.0]), line([*scale, 1.0])]
    for w, b in m.params:
        out += [line(r) for r in np.asarray(w, np.float64)]
        out += [line([v]) for v in np.asarray(b, np.float64)]
    Path(path).write_text("\n".join(out) + "\n")
