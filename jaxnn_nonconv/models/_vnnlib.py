"""Input domains from a VNN-LIB property file (the VNN-COMP format), read with the ``vnnlib`` package.

A VNN-LIB property constrains the inputs ``X_0 .. X_{d-1}`` and the outputs. Its input
constraints are converted to boxes by ``vnnlib.compat.transform`` (one case per disjunct of the
property in disjunctive normal form); the output constraints do not matter for dead neurons and
are ignored. A disjunction of input boxes gives several domains, each checked on its own (a
neuron is dead on the union only when it is dead on every box). Equal boxes are listed once.
Zero-width coordinates (``X_j = c``, as in ACAS Xu property 4) are kept as they are.

``;`` comments are removed before parsing. Needs ``pip install 'jaxnn_nonconv[vnnlib]'``,
imported only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxnn_nonconv.models import _domain as domain_lib


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
        cases = vnnlib.compat.transform(vnnlib.parse_query_string(text))
    except Exception as e:
        msg = " ".join(str(e).split())[:200]
        raise domain_lib.DomainError(
            f"{path}: not a VNN-LIB property with box inputs ({msg})"
        ) from None
    boxes: list[tuple[tuple[float, float], ...]] = []
    for case in cases:
        box = tuple((float(a), float(b)) for a, b in case.input_box)
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
