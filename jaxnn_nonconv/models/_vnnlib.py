"""Input domains from a VNN-LIB property file (the VNN-COMP format), read with the ``vnnlib`` package.

A VNN-LIB property constrains the inputs ``X_0 .. X_{d-1}`` and the outputs. Its input
constraints are converted to boxes by ``vnnlib.compat.transform`` (one case per disjunct of the
property in disjunctive normal form); the output constraints do not matter for dead neurons and
are ignored. A disjunction of input boxes gives several domains, each checked on its own (a
neuron is dead on the union only when it is dead on every box). Equal boxes are listed once.
Zero-width coordinates (``X_j = c``, as in ACAS Xu property 4) are kept as they are.

The ``vnnlib`` package parses the VNN-LIB 2.0 syntax; files in the 1.0 syntax of the VNN-COMP
benchmarks (``(declare-const X_0 Real)``, variables ``X_i`` / ``Y_i``) are translated to it first
(:func:`to_version_2`). ``;`` comments are removed before parsing. Needs
``pip install 'jaxnn_nonconv[vnnlib]'``, imported only here.
"""

from __future__ import annotations

import decimal
import re
from pathlib import Path

import numpy as np

from jaxnn_nonconv.models import _domain as domain_lib

_EXPONENT = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d*)?[eE][-+]?\d+")
_DECLARE = re.compile(r"\(\s*declare-const\s+([XY])_(\d+)\s+(\w+)\s*\)")


def to_version_2(text: str) -> str:
    """A VNN-LIB 1.0 property (``declare-const X_i`` / ``Y_i``) in the 2.0 syntax; a text that
    declares no such constants is returned as it is.

    >>> print(to_version_2("(declare-const X_0 Real)\\n(declare-const Y_0 Real)\\n(assert (<= X_0 1))"))
    (vnnlib-version <2.0>)
    (declare-network N (declare-input X Real [1]) (declare-output Y Real [1]))
    <BLANKLINE>
    <BLANKLINE>
    (assert (<= X[0] 1))
    """
    decls = _DECLARE.findall(text)
    if not decls:
        return text
    n_in = 1 + max((int(i) for v, i, _ in decls if v == "X"), default=-1)
    n_out = max(1, 1 + max((int(i) for v, i, _ in decls if v == "Y"), default=-1))
    body = _DECLARE.sub("", text)
    body = re.sub(r"\b([XY])_(\d+)\b", r"\1[\2]", body)
    # The 2.0 grammar has no exponents: 1e-3 as the same decimal, exactly.
    body = _EXPONENT.sub(lambda m: format(decimal.Decimal(m.group(0)), "f"), body)
    head = (
        "(vnnlib-version <2.0>)\n(declare-network N (declare-input X Real "
        f"[{n_in}]) (declare-output Y Real [{n_out}]))\n"
    )
    return head + body


def read_boxes(path: str | Path) -> list[domain_lib.Domain]:
    """The input boxes of a VNN-LIB file, one :class:`~jaxnn_nonconv.models.Domain` each.

    Raises:
      DomainError: the ``vnnlib`` package is missing, the file is unreadable or not VNN-LIB, or
        its input constraints are not boxes (the message is the parser's, on one line).
    """
    path = Path(path)
    try:
        import vnnlib
        import vnnlib.compat
    except ImportError:
        raise domain_lib.DomainError(
            f"{path}: reading VNN-LIB needs the vnnlib package (pip install 'jaxnn_nonconv[vnnlib]')"
        ) from None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise domain_lib.DomainError(f"{path}: cannot read ({e})") from None
    text = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    try:
        cases = vnnlib.compat.transform(vnnlib.parse_query_string(to_version_2(text)))
    except Exception as e:
        msg = " ".join(str(e).split())[:200]
        raise domain_lib.DomainError(
            f"{path}: not a VNN-LIB property with box inputs ({msg})"
        ) from None
    boxes: list[tuple[tuple[float, float], ...]] = []
    for case in cases:
        box = tuple((float(a) + 0.0, float(b) + 0.0) for a, b in case.input_box)  # no -0.0
        if box not in boxes:
            boxes.append(box)
    if not boxes:
        raise domain_lib.DomainError(f"{path}: no input box found")
    out = []
    for k, box in enumerate(boxes):
        arr = np.asarray(box, np.float64)
        if not np.all(np.isfinite(arr)):
            raise domain_lib.DomainError(f"{path}: box {k} is unbounded in some input")
        dom = domain_lib.from_box(box)
        label = path.name if len(boxes) == 1 else f"{path.name}[{k}]"
        out.append(domain_lib.Domain(dom.lo, dom.hi, source=label))
    return out
