"""Data sets shared by all trials: every file format reads the same numbers, bad data is refused
in one line (a :class:`DataError`), the split and the empirical levels match NumPy."""

import numpy as np
import pytest

from jaxnn_nonconv.core import data
from jaxnn_nonconv.errors import ConfigError

RNG = np.random.default_rng(3)
X = RNG.normal(size=(9, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.25
NAMES = ["a", "b", "c", "y"]


def _write_csv(path, names, rows):
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    table = np.column_stack([X, Y])
    np.save(d / "t.npy", table)
    np.savez(d / "xy.npz", x=X, y=Y)
    np.savez(d / "t.npz", table=table)
    _write_csv(d / "t.csv", NAMES, [[repr(float(v)) for v in r] for r in table])
    return d


@pytest.mark.parametrize("name", ["t.npy", "xy.npz", "t.npz", "t.csv", "t.parquet"])
def test_every_format_reads_the_same_points(files, name):
    if name == "t.parquet":
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        table = np.column_stack([X, Y])
        pq.write_table(pa.table({n: table[:, j] for j, n in enumerate(NAMES)}), files / name)
    ds = data.load(files / name)
    np.testing.assert_array_equal(ds.x, X)
    np.testing.assert_array_equal(ds.y, Y)
    assert ds.n == 9 and ds.dim == 3


def test_columns_by_name(files):
    ds = data.load(files / "t.csv", features=["c", "a"], target="b")
    np.testing.assert_array_equal(ds.x, X[:, [2, 0]])
    np.testing.assert_array_equal(ds.y, X[:, 1])
    assert ds.features == ("c", "a") and ds.target == "b"
    ds = data.load(files / "t.npy", target="0")  # NumPy tables: columns by number
    np.testing.assert_array_equal(ds.y, X[:, 0])


def test_content_equality_and_hash(files):
    a, b = data.load(files / "t.csv"), data.load(files / "t.npy", target="3")
    assert a.features != b.features and a != b  # names are part of the content
    c = data.from_arrays(X, Y, features=["a", "b", "c"], target="y", source="elsewhere")
    assert a == c and hash(a) == hash(c) and a is not c


@pytest.mark.parametrize(
    ("rows", "kw", "needle"),
    [
        ([["1", "x", "2", "3"], ["1", "2", "3", "4"]], {}, "column 'b' is not numeric"),
        (
            [["1", "nan", "2", "3"], ["1", "2", "3", "4"]],
            {},
            "NaN value in data at row 0, column 'b'",
        ),
        ([["1", "2", "inf", "3"], ["1", "2", "3", "4"]], {}, "infinite value in data at row 0"),
        ([["1", "", "2", "3"], ["1", "2", "3", "4"]], {}, "missing value at row 0, column 'b'"),
        ([["1", "2", "3", "4"]], {}, "need at least 2 training rows, got 1"),
        ([], {}, "no rows"),
        ([["1", "2", "3"], ["1", "2", "3", "4"]], {}, "row 0 has 3 fields"),
        ([["1", "2", "3", "4"]] * 3, {"target": "z"}, "no target column 'z'"),
        ([["1", "2", "3", "4"]] * 3, {"features": ["a", "y"], "target": "y"}, "both a feature"),
    ],
)
def test_bad_csv_is_refused_in_one_line(tmp_path, rows, kw, needle):
    path = _write_csv(tmp_path / "bad.csv", NAMES, rows)
    with pytest.raises(data.DataError) as e:
        data.load(path, **kw)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, ConfigError)  # the CLI's exit code 2


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p.write_text("1,2\n3,4\n"), "header"),
        (lambda p: p.write_text(""), "empty file"),
        (lambda p: np.save(p.with_suffix(".npy"), np.zeros(4)), "1-D array"),
        (lambda p: np.save(p.with_suffix(".npy"), np.array(["a", "b"])), "must be numbers"),
        (lambda p: np.savez(p.with_suffix(".npz"), u=np.zeros(3), v=np.zeros(3)), "need 'x'"),
        (lambda p: p.with_suffix(".txt").write_text("1"), "unknown data file type"),
        (lambda p: p.with_suffix(".parquet").write_text("nope"), ".parquet"),
        (lambda p: None, "no such data file"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path, make, needle):
    path = tmp_path / "f.csv"
    make(path)
    target = next((p for p in tmp_path.iterdir()), path)
    with pytest.raises(data.DataError, match=needle) as e:
        data.load(target)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("x", "y", "needle"),
    [
        (np.zeros((3, 2)), np.zeros(4), "3 input rows but 4 targets"),
        (np.zeros((3, 2, 2)), np.zeros(3), "must be an (n, d) array"),
        (np.zeros((3, 0)), np.zeros(3), "must be an (n, d) array"),
        (np.zeros((3, 1)), np.zeros((3, 2)), "must be an (n,) array"),
        (np.array([[1.0], [np.inf]]), np.zeros(2), "infinite value in inputs at row 1"),
        (np.zeros((0, 1)), np.zeros(0), "no rows"),
    ],
)
def test_bad_arrays_are_refused(x, y, needle):
    with pytest.raises(data.DataError) as e:
        data.from_arrays(x, y)
    assert needle in str(e.value)


def test_split_is_a_fixed_partition_and_a_test_file_is_read(files):
    ds = data.load(files / "t.csv")
    s = data.split(ds, 1 / 3, seed=5)
    assert (s.n, s.n_test) == (6, 3)
    both = np.concatenate([s.x, s.x_test])
    np.testing.assert_array_equal(np.sort(both, axis=0), np.sort(X, axis=0))
    assert s == data.split(ds, 1 / 3, seed=5) and s != data.split(ds, 1 / 3, seed=6)
    t = data.load(files / "t.csv", test=files / "t.csv")
    np.testing.assert_array_equal(t.x_test, X)
    with pytest.raises(data.DataError, match="leaves 1 training"):
        data.split(data.from_arrays(X[:2], Y[:2]), 0.5)


def test_empirical_levels_match_numpy():
    ds = data.from_arrays(X[:, :1], Y)
    fit = np.polyval(np.polyfit(X[:, 0], Y, 1), X[:, 0])
    assert data.levels(ds)["affine"] == pytest.approx(np.mean((Y - fit) ** 2), rel=1e-10)
    assert data.levels(ds)["constant"] == pytest.approx(np.mean((Y - Y.mean()) ** 2), rel=1e-12)
    lv = data.levels(data.from_arrays(X, Y + RNG.normal(size=9)))
    assert 0 <= lv["affine"] <= lv["constant"]


def test_box_is_the_bounding_box_and_widens_constant_columns():
    ds = data.from_arrays(np.array([[0.0, 3.0], [2.0, 3.0], [1.0, 3.0]]), np.zeros(3))
    assert ds.box() == ((0.0, 2.0), (2.5, 3.5))
