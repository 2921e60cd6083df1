"""Experiment files with a ``[data]`` table and the ``data`` sweep key: the run stores
``empirical_risk`` per trial next to ``params0`` and ``params`` and the inactivity on the data, and
the ``data_driven`` report brackets P(not reaching the empirical minimum)."""

import numpy as np

from jaxnn_nonconv import cli
from jaxnn_nonconv.experiments import _store as store, load
from jaxnn_nonconv.experiments.report import report

TOML = """
[experiment]
kind = "data_driven"
trials = 4
chunk_size = 4

[train]
arch = [1, 2, 1]
optimizer = "adam"
learning_rate = 0.01
steps = 5

[data]
path = "a.csv"

[sweep]
data = [{ path = "a.csv" }, { path = "b.csv", target_column = "y" }]
"""


def test_data_experiment_stores_empirical_risks_and_reports(tmp_path):
    x = np.linspace(-1, 1, 5)
    for name, y in (("a.csv", x**2), ("b.csv", np.abs(x))):
        rows = "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y))
        (tmp_path / name).write_text("x,y\n" + rows + "\n")
    (tmp_path / "d.toml").write_text(TOML)
    exp = load(tmp_path / "d.toml")
    cfgs = [exp.cell_config(c) for c in exp.cells()]
    assert [c.data.source for c in cfgs] == ["a.csv", "b.csv"]
    out = tmp_path / "out"
    assert cli.main(["run", str(tmp_path / "d.toml"), "--out", str(out), "--no-report"]) == 0
    st = store.ResultStore(out, store.read_manifest(out))
    part = st.load("cell-000")
    assert {"params0", "params", "empirical_risk"} <= set(part)
    np.testing.assert_array_equal(part["empirical_risk"], part["risk"])
    det = st.load("cell-000-inactive")
    assert det["init_data_inactive"].shape == (4, 1)
    rows = report(out)["rows"]
    entry = rows[1]["not_reaching_empirical_min"]
    assert entry["n"] == 4 and entry["bracket"][0] <= entry["bracket"][1]
    assert rows[1]["empirical_levels"]["lower"] <= rows[1]["empirical_levels"]["upper"]
