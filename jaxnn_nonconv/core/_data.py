"""A data set shared by all trials: loading, validation and the train/test split.

The data-driven setting of arXiv 2410.10533: every trial trains on the same points
``(x_i, y_i)``, ``i = 1..n``, and minimizes the empirical risk ``(1/n) sum_i (N(x_i) - y_i)^2``
(docs/data.md). A :class:`Dataset` holds the points as float64 NumPy arrays, the column names and
an optional test split; it is hashable by content (a SHA-256 digest), so that a training config
holding it can key compiled programs and stored runs.

Sources: NumPy arrays (:func:`from_arrays`) or files (:func:`load`): ``.npy`` (a 2-D table),
``.npz`` (arrays ``x``/``X`` and ``y``/``Y``, or one 2-D table), ``.csv`` with a header line, and
``.parquet`` (read with pyarrow, an optional dependency). ``features`` and ``target`` pick columns
by name (for ``.npy`` / ``.npz`` tables, by column number ``"0"``, ``"1"``, ...); the default target
is the last column, the default features all others. Every bad input raises :class:`DataError`, a
:class:`~jaxnn_nonconv.errors.ConfigError` with a one-line message (the command line prints it and
exits with code 2): a missing file, an unknown suffix, a non-numeric column, a missing, NaN or
infinite value (its row and column named), wrong shapes, no rows, a single row.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ConfigError

SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".csv", ".parquet")


class DataError(ConfigError):
    """A data set that cannot be used; the message is one line meant for the user."""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Training points shared by every trial, and an optional test split.

    Attributes:
      x: ``(n, d)`` float64 training inputs, ``n >= 2``.
      y: ``(n,)`` float64 training targets.
      features: ``d`` column names.
      target: the target column's name.
      source: where the data came from (a file name, or ``"arrays"``).
      x_test, y_test: ``(m, d)`` and ``(m,)`` test points, or ``None``.

    Equality and hash are by content (:attr:`digest`), not identity.
    """

    x: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    target: str = "y"
    source: str = "arrays"
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_test(self) -> int:
        return 0 if self.x_test is None else int(self.x_test.shape[0])

    @property
    def digest(self) -> str:
        """SHA-256 of the arrays and names: two data sets are equal when their digests are."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            h = hashlib.sha256()
            for a in (self.x, self.y, self.x_test, self.y_test):
                h.update(b"-" if a is None else np.ascontiguousarray(a, np.float64).tobytes())
                h.update(b"|" if a is None else repr(a.shape).encode())
            h.update("\x00".join((*self.features, self.target)).encode())
            cached = h.hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached

    def __eq__(self, other) -> bool:
        return isinstance(other, Dataset) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def box(self) -> tuple[tuple[float, float], ...]:
        """The training inputs' bounding box ``((min x_j, max x_j), ...)``; a constant column
        ``c`` gets ``(c - 1/2, c + 1/2)`` (a box must have ``a < b``; a larger box only makes its
        certificates stronger statements, never wrong ones about the data).

        >>> from_arrays(np.array([[0.0, 1.0], [2.0, 1.0]]), np.zeros(2)).box()
        ((0.0, 2.0), (0.5, 1.5))
        """
        lo, hi = self.x.min(axis=0), self.x.max(axis=0)
        same = ~(lo < hi)
        lo, hi = np.where(same, lo - 0.5, lo), np.where(same, hi + 0.5, hi)
        return tuple((float(a), float(b)) for a, b in zip(lo, hi))

    def to_dict(self) -> dict[str, Any]:
        """JSON: ``source``, ``n``, ``n_test``, ``dim``, ``features``, ``target``, ``digest``."""
        return {
            "source": self.source,
            "n": self.n,
            "n_test": self.n_test,
            "dim": self.dim,
            "features": list(self.features),
            "target": self.target,
            "digest": self.digest,
        }


def no_target(x):
    """The target of a data set's problem: unknown. ``(batch, d) -> (batch,)`` NaN, so that a
    population risk is never computed from a target that is not there."""
    import jax.numpy as jnp

    return jnp.full(x.shape[:-1], jnp.nan, x.dtype)


no_target.__name__ = "data"


def _check_matrix(a: Any, name: str, source: str, columns: Sequence[str] | None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise DataError(f"{source}: {name} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        row = int(bad[0][0])
        what = "NaN" if np.isnan(arr[tuple(bad[0])]) else "infinite"
        col = ""
        if arr.ndim == 2:
            c = int(bad[0][1])
            col = f", column {columns[c]!r}" if columns else f", column {c}"
        raise DataError(f"{source}: {what} value in {name} at row {row}{col}")
    return arr


def from_arrays(
    x: Any,
    y: Any,
    *,
    x_test: Any = None,
    y_test: Any = None,
    features: Sequence[str] | None = None,
    target: str = "y",
    source: str = "arrays",
) -> Dataset:
    """A validated :class:`Dataset` from arrays.

    Args:
      x: ``(n, d)`` inputs (``(n,)`` is ``d = 1``); y: ``(n,)`` targets (or ``(n, 1)``).
      x_test, y_test: an optional test set of the same ``d``.
      features: ``d`` names (default ``x0, x1, ...``); target: the target's name.
      source: a label for messages.

    Raises:
      DataError: non-numeric, NaN or infinite values, wrong shapes, fewer than 2 training rows,
        no feature, an empty test set.

    >>> ds = from_arrays([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0])
    >>> ds.n, ds.dim, ds.features, ds.box()
    (3, 1, ('x0',), ((0.0, 2.0),))
    >>> from_arrays([[0.0]], [1.0])
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.core._data.DataError: arrays: need at least 2 training rows, got 1
    """
    xs, ys = _xy(x, y, source, features, "")
    d = xs.shape[1]
    names = tuple(f"x{j}" for j in range(d)) if features is None else tuple(map(str, features))
    if len(names) != d:
        raise DataError(f"{source}: {len(names)} feature names for {d} input columns")
    if xs.shape[0] < 2:
        raise DataError(f"{source}: need at least 2 training rows, got {xs.shape[0]}")
    xt = yt = None
    if (x_test is None) != (y_test is None):
        raise DataError(f"{source}: give both x_test and y_test, or neither")
    if x_test is not None:
        xt, yt = _xy(x_test, y_test, source, names, "test ")
        if xt.shape[1] != d:
            raise DataError(f"{source}: test inputs have {xt.shape[1]} columns, training {d}")
    return Dataset(xs, ys, names, str(target), source, xt, yt)


def _xy(x, y, source: str, names, which: str) -> tuple[np.ndarray, np.ndarray]:
    xs = _check_matrix(x, f"{which}inputs", source, names)
    if xs.ndim == 1:
        xs = xs[:, None]
    ys = _check_matrix(y, f"{which}targets", source, None)
    if ys.ndim == 2 and ys.shape[1] == 1:
        ys = ys[:, 0]
    if xs.ndim != 2 or xs.shape[1] == 0:
        raise DataError(f"{source}: {which}inputs must be an (n, d) array, got shape {xs.shape}")
    if ys.ndim != 1:
        raise DataError(f"{source}: {which}targets must be an (n,) array, got shape {ys.shape}")
    if xs.shape[0] == 0:
        raise DataError(f"{source}: no {which}rows")
    if ys.shape[0] != xs.shape[0]:
        raise DataError(
            f"{source}: {xs.shape[0]} {which}input rows but {ys.shape[0]} {which}targets"
        )
    return xs, ys


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Header names and the float table; a cell that is not a number names its column."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{path}: empty file")
    header = [c.strip() for c in rows[0]]
    if all(_is_float(c) for c in header):
        raise DataError(f"{path}: the first line must be a header of column names")
    body = rows[1:]
    table = np.empty((len(body), len(header)))
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataError(
                f"{path}: row {i} has {len(r)} fields, the header {len(header)} (line {i + 2})"
            )
        for j, cell in enumerate(r):
            cell = cell.strip()
            if cell == "":
                raise DataError(f"{path}: missing value at row {i}, column {header[j]!r}")
            try:
                table[i, j] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path}: column {header[j]!r} is not numeric (row {i}: {cell[:30]!r})"
                ) from None
    return header, table


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_parquet(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise DataError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
    try:
        table = pq.read_table(path)
    except Exception as e:
        raise DataError(f"{path}: not a readable .parquet file ({_one_line(e)})") from None
    names = [str(n) for n in table.column_names]
    cols = []
    for name, col in zip(names, table.columns):
        if not (pat.is_integer(col.type) or pat.is_floating(col.type) or pat.is_boolean(col.type)):
            raise DataError(f"{path}: column {name!r} is not numeric (type {col.type})")
        if col.null_count:
            row = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise DataError(f"{path}: missing value at row {row}, column {name!r}")
        cols.append(np.asarray(col.to_numpy(zero_copy_only=False), np.float64))
    if not cols:
        raise DataError(f"{path}: no columns")
    return names, np.column_stack(cols)


def _read_numpy(path: Path, suffix: str) -> tuple[list[str] | None, Any, Any]:
    """``(names, table, None)`` for a table, ``(None, x, y)`` for an ``.npz`` with ``x`` and ``y``."""
    try:
        if suffix == ".npy":
            return None, np.load(path, allow_pickle=False), None
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            xk = next((k for k in ("x", "X") if k in files), None)
            yk = next((k for k in ("y", "Y") if k in files), None)
            if xk and yk:
                return None, z[xk], z[yk]
            if len(files) == 1:
                return None, z[z.files[0]], None
            raise DataError(f"{path}: arrays {sorted(files)}: need 'x' and 'y', or one table")
    except DataError:
        raise
    except Exception as e:
        raise DataError(f"{path}: not a readable {suffix} file ({_one_line(e)})") from None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


def _pick(
    names: list[str], table: np.ndarray, features, target, path
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """Select the feature and target columns of a table by name."""
    if table.ndim != 2:
        raise DataError(f"{path}: need a 2-D table (rows x columns), got shape {table.shape}")
    if table.shape[1] < 2 and (features is None or target is None):
        raise DataError(f"{path}: need at least 2 columns (features and a target)")

    def col(name: str, what: str) -> int:
        if name not in names:
            raise DataError(f"{path}: no {what} column {name!r} (columns: {', '.join(names)})")
        return names.index(name)

    t = col(str(target), "target") if target is not None else len(names) - 1
    if features is None:
        f = [j for j in range(len(names)) if j != t]
    else:
        f = [col(str(name), "feature") for name in features]
        if not f:
            raise DataError(f"{path}: no feature columns given")
        if t in f:
            raise DataError(f"{path}: column {names[t]!r} is both a feature and the target")
    return table[:, f], table[:, t], tuple(names[j] for j in f), names[t]


def read_table(path: str | Path) -> tuple[list[str] | None, Any, Any]:
    """``(names, table, y)`` of a data file: ``names`` is ``None`` for NumPy files (columns are
    numbered), ``y`` is not ``None`` only for an ``.npz`` holding ``x`` and ``y``.

    Raises:
      DataError: a missing file, an unknown suffix, unreadable or non-numeric content.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return (*_read_csv(path), None)
    if suffix == ".parquet":
        return (*_read_parquet(path), None)
    if suffix in (".npy", ".npz"):
        return _read_numpy(path, suffix)
    raise DataError(f"{path}: unknown data file type {suffix!r}; use {', '.join(SUFFIXES)}")


def load(
    path: str | Path,
    *,
    features: Sequence[str] | None = None,
    target: str | None = None,
    test: str | Path | None = None,
) -> Dataset:
    """A validated :class:`Dataset` from a file (module docstring), with an optional test file
    of the same columns.

    Args:
      path: ``.npy``, ``.npz``, ``.csv`` (with a header) or ``.parquet``.
      features: the input columns (default: all but the target).
      target: the target column (default: the last one).
      test: a test file read with the same columns.

    Raises:
      DataError: as :func:`read_table` and :func:`from_arrays`, and unknown column names.
    """
    x, y, names, tname = _load_xy(path, features, target)
    xt = yt = None
    if test is not None:
        xt, yt, tnames, _ = _load_xy(test, names if features is not None else None, target)
        if tuple(tnames) != tuple(names):
            raise DataError(f"{test}: columns {list(tnames)} differ from the training file's")
    return from_arrays(
        x, y, x_test=xt, y_test=yt, features=names, target=tname, source=Path(path).name
    )


def _load_xy(path, features, target):
    names, table, y = read_table(path)
    if y is not None:  # an .npz with x and y
        if features is not None or target is not None:
            raise DataError(
                f"{path}: holds arrays x and y; --features/--target-column pick table columns"
            )
        x = np.asarray(table)
        d = 1 if x.ndim == 1 else x.shape[-1]
        return table, y, tuple(f"x{j}" for j in range(d)), "y"
    table = _check_matrix(table, "data", str(path), names)
    if names is None:
        if table.ndim == 1:
            raise DataError(f"{path}: a 1-D array has no target column; save an (n, d + 1) table")
        names = [str(j) for j in range(table.shape[1] if table.ndim == 2 else 0)]
    return _pick(names, table, features, target, path)


def split(data: Dataset, test_fraction: float, seed: int = 0) -> Dataset:
    """Hold out ``round(test_fraction * n)`` random training rows as the test set (a permutation
    from ``numpy.random.default_rng(seed)``: the same split for every trial and every run).

    Raises:
      DataError: a fraction outside ``(0, 1)``, a data set that has a test set already, or a split
        that leaves fewer than 2 training rows or no test row.

    >>> ds = split(from_arrays(np.arange(10.0), np.arange(10.0)), 0.3)
    >>> ds.n, ds.n_test
    (7, 3)
    """
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise DataError(f"test fraction must be in (0, 1), got {test_fraction!r}")
    if data.x_test is not None:
        raise DataError(f"{data.source}: has a test set already; give a test file or a fraction")
    m = round(test_fraction * data.n)
    if m < 1 or data.n - m < 2:
        raise DataError(
            f"{data.source}: test fraction {test_fraction} of {data.n} rows leaves {data.n - m} "
            f"training and {m} test rows (need >= 2 and >= 1)"
        )
    perm = np.random.default_rng(seed).permutation(data.n)
    tr, te = np.sort(perm[m:]), np.sort(perm[:m])
    return dataclasses.replace(
        data, x=data.x[tr], y=data.y[tr], x_test=data.x[te], y_test=data.y[te]
    )


def levels(data: Dataset) -> dict[str, float]:
    """Empirical reference risks on the training points: ``constant`` (the variance of ``y``, the
    best constant predictor's empirical risk) and ``affine`` (least squares on ``[1, x]``).

    >>> lv = levels(from_arrays([[0.0], [1.0], [2.0]], [0.0, 1.0, 4.0]))
    >>> round(lv["constant"] * 9, 9), round(lv["affine"] * 9, 9)
    (26.0, 2.0)
    """
    design = np.column_stack([np.ones(data.n), data.x])
    coef, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    affine = float(np.mean((data.y - design @ coef) ** 2))
    return {"constant": float(np.var(data.y)), "affine": max(affine, 0.0)}
