"""The input domain of a user's network: a box given directly, or the box of a data set.

A :class:`Domain` is a box ``[lo_j, hi_j]`` per input coordinate, optionally with the data points
it came from. From data (:func:`from_data`) the box is the bounding box of the points, optionally
clipped to quantiles (robust to outliers; then some points lie outside the box) and padded by a
fraction of each coordinate's range. The points inside the box are valid witnesses for "active on
the domain"; every point gives each neuron's fraction of points on which it is active
(:func:`active_fraction`): the finite-batch count that other tools report, next to the
certificate.

Data files (:func:`load_data`): ``.csv`` (comma separated numbers, an optional header line),
``.npy`` and ``.npz`` (one array, or the array ``X``; ``allow_pickle=False``), shape ``(n, d)``
(a 1-D array is ``n`` points of ``d = 1``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ModelError

DATA_SUFFIXES: tuple[str, ...] = (".csv", ".npy", ".npz")


class DomainError(ModelError):
    """Bad box or data file; the message is one line meant for the user."""


@dataclasses.dataclass(frozen=True)
class Domain:
    """A box, and the data points it was built from (if any).

    Attributes:
      lo, hi: ``(d,)`` float64 box bounds, ``lo <= hi``.
      source: ``"box"`` or the data file's name (``"data"`` for an in-memory array).
      points: ``(n, d)`` float64 data points, or ``None``.
      pad: fraction of each coordinate's range added on both sides.
      quantile: the box spans the ``[quantile, 1 - quantile]`` quantiles of the data (0: min/max).
    """

    lo: np.ndarray
    hi: np.ndarray
    source: str = "box"
    points: np.ndarray | None = None
    pad: float = 0.0
    quantile: float = 0.0

    @property
    def dim(self) -> int:
        return int(self.lo.shape[0])

    @property
    def box(self) -> tuple[tuple[float, float], ...]:
        """``((a_1, b_1), ...)`` as the detector takes it."""
        return tuple((float(a), float(b)) for a, b in zip(self.lo, self.hi))

    def inside(self) -> np.ndarray:
        """``(m, d)`` the data points inside the box (all of them unless clipped), or ``(0, d)``."""
        if self.points is None:
            return np.zeros((0, self.dim))
        keep = np.all((self.points >= self.lo) & (self.points <= self.hi), axis=1)
        return self.points[keep]

    def to_dict(self) -> dict[str, Any]:
        """JSON: ``box`` (list of ``[a, b]``), ``source``, and for data ``n_points``,
        ``n_points_inside``, ``pad``, ``quantile``."""
        out: dict[str, Any] = {"box": [list(p) for p in self.box], "source": self.source}
        if self.points is not None:
            out.update(
                n_points=int(self.points.shape[0]),
                n_points_inside=int(self.inside().shape[0]),
                pad=self.pad,
                quantile=self.quantile,
            )
        return out


def from_box(box: Sequence[Sequence[float]]) -> Domain:
    """A domain from ``((a_1, b_1), ...)``.

    Raises:
      DomainError: empty box, non-finite bounds or ``a > b``.

    >>> from_box([(-1, 1), (0, 2)]).box
    ((-1.0, 1.0), (0.0, 2.0))
    """
    try:
        arr = np.asarray(box, np.float64)
    except (TypeError, ValueError):
        raise DomainError(f"box {box!r}: expected pairs (a, b)") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise DomainError(f"box must be a non-empty list of (a, b) pairs, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DomainError("box bounds must be finite")
    bad = np.flatnonzero(arr[:, 0] > arr[:, 1])
    if bad.size:
        raise DomainError(f"box coordinate {bad[0]}: need a <= b, got {arr[bad[0]].tolist()}")
    return Domain(arr[:, 0].copy(), arr[:, 1].copy())


def from_data(
    points: Any, *, pad: float = 0.0, quantile: float = 0.0, source: str = "data"
) -> Domain:
    """The box of a data set.

    Args:
      points: ``(n, d)`` array (``(n,)`` is ``d = 1``).
      pad: add ``pad * (hi - lo)`` on both sides of every coordinate (``>= 0``).
      quantile: clip to the ``[quantile, 1 - quantile]`` quantiles (``0 <= quantile < 0.5``).
      source: label (the file name).

    Raises:
      DomainError: no points, a non-finite value, or bad ``pad`` / ``quantile``.

    >>> x = np.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.0]])
    >>> from_data(x).box
    ((0.0, 2.0), (-1.0, 1.0))
    >>> from_data(x, pad=0.5).box
    ((-1.0, 3.0), (-2.0, 2.0))
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DomainError(f"{source}: need an (n, d) array with n >= 1, got shape {x.shape}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        raise DomainError(f"{source}: non-finite value at row {bad[0][0]}, column {bad[0][1]}")
    if not (np.isfinite(pad) and pad >= 0):
        raise DomainError(f"pad must be a finite number >= 0, got {pad}")
    if not 0 <= quantile < 0.5:
        raise DomainError(f"quantile must be in [0, 0.5), got {quantile}")
    if quantile > 0:
        lo, hi = np.quantile(x, [quantile, 1 - quantile], axis=0)
    else:
        lo, hi = x.min(axis=0), x.max(axis=0)
    width = hi - lo
    return Domain(lo - pad * width, hi + pad * width, source, x, float(pad), float(quantile))


def load_data(path: str | Path) -> np.ndarray:
    """Read ``(n, d)`` float64 points from ``.csv``, ``.npy`` or ``.npz``.

    Raises:
      DomainError: missing file, unknown suffix, unreadable or non-numeric content, several arrays
        in an ``.npz`` without one named ``X``.
    """
    path = Path(path)
    if not path.is_file():
        raise DomainError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            x = _read_csv(path)
        elif suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if len(z.files) == 1:
                    x = z[z.files[0]]
                elif "X" in z.files:
                    x = z["X"]
                else:
                    raise DomainError(f"{path}: several arrays {z.files} and none named 'X'")
        else:
            raise DomainError(
                f"{path}: unknown data file type {suffix!r}; use {', '.join(DATA_SUFFIXES)}"
            )
    except DomainError:
        raise
    except Exception as e:
        msg = " ".join(str(e).split())[:200]
        raise DomainError(f"{path}: not a readable {suffix} data file ({msg})") from None
    if not np.issubdtype(np.asarray(x).dtype, np.number):
        raise DomainError(f"{path}: data must be numbers, got dtype {np.asarray(x).dtype}")
    x = np.asarray(x, np.float64)
    return x[:, None] if x.ndim == 1 else x


def _read_csv(path: Path) -> np.ndarray:
    """Comma-separated numbers; a first line that is not numeric is a header."""
    with open(path) as f:
        first = f.readline()
    try:
        [float(v) for v in first.split(",")]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=np.float64)


def cast_outward(lo: np.ndarray, hi: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Round ``lo`` down and ``hi`` up to ``dtype``, so the cast box contains the float64 one.

    >>> lo, hi = cast_outward(np.array([0.1]), np.array([0.1]), np.float32)
    >>> bool(lo[0] <= 0.1 <= hi[0]), lo.dtype
    (True, dtype('float32'))
    """
    dt = np.dtype(dtype)
    lo_c, hi_c = lo.astype(dt), hi.astype(dt)
    lo_c = np.where(lo_c.astype(np.float64) > lo, np.nextafter(lo_c, dt.type(-np.inf)), lo_c)
    hi_c = np.where(hi_c.astype(np.float64) < hi, np.nextafter(hi_c, dt.type(np.inf)), hi_c)
    return lo_c.astype(dt), hi_c.astype(dt)


def active_fraction(
    params, points: np.ndarray, chunk: int = 8192, activation: str = "relu"
) -> list[np.ndarray]:
    """Per hidden layer, ``(l_k,)``: the fraction of ``points`` where the neuron's pre-activation is
    ``> 0`` (the finite-batch statistic; ``0`` means "never fired on your data").

    Args:
      params: one network (tuple of ``(W, b)``, any array type).
      points: ``(n, d)``.
      chunk: points per forward pass.
      activation: the hidden activation (``relu``, ``clip``, ``repu:P``).

    >>> params = ((np.array([[1.0], [-1.0]]), np.array([0.0, -5.0])), (np.ones((1, 2)), np.zeros(1)))
    >>> [f.tolist() for f in active_fraction(params, np.array([[-1.0], [1.0], [2.0], [3.0]]))]
    [[0.75, 0.0]]
    """
    import jax.numpy as jnp

    from jaxnn_nonconv.core import nets

    dt = jnp.asarray(params[0][0]).dtype
    pj = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
    totals = [np.zeros(w.shape[0], np.int64) for w, _ in params[:-1]]
    for start in range(0, points.shape[0], chunk):
        x = jnp.asarray(points[start : start + chunk], dt)
        for t, z in zip(totals, nets.hidden_preactivations(pj, x, activation)):
            t += np.asarray(jnp.sum(z > 0, axis=0))
    return [t / points.shape[0] for t in totals]
