"""``export`` / ``load_trials``: one row per trial, equal to the stored arrays."""

from __future__ import annotations

import numpy as np
import pytest

from jaxnn_nonconv import cli, experiments
from jaxnn_nonconv.experiments import store
from tests.experiments.test_experiments import SHALLOW

pd = pytest.importorskip("pandas")

# test_experiments' SHALLOW at a third of the trials: the same shapes, so its compiled programs.
TINY = SHALLOW.replace("trials = 96", "trials = 32")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    (tmp / "tiny.toml").write_text(TINY)
    out = tmp / "run"
    experiments.run_experiment(experiments.load(tmp / "tiny.toml"), out, progress=False)
    return out


def test_rows_equal_the_stored_arrays(run_dir):
    df = experiments.load_trials(run_dir)
    assert len(df) == 64 and list(df["cell"]) == [0] * 32 + [1] * 32
    assert list(df["width"]) == [1] * 32 + [3] * 32 and set(df["seed"]) == {1}
    st = store.ResultStore(run_dir, store.read_manifest(run_dir))
    for i in (0, 1):
        rows = df[df["cell"] == i]
        train, det = st.load(f"cell-{i:03d}"), st.load(f"cell-{i:03d}-inactive")
        np.testing.assert_array_equal(rows["trial"], train["trial"])
        for key in ("learning_rate", "risk0", "risk", "diverged"):
            np.testing.assert_array_equal(rows[key], train[key])
        for key in ("end_inactive", "init_inactive"):
            for k in range(det[key].shape[1]):
                np.testing.assert_array_equal(rows[f"{key}_{k + 1}"], det[key][:, k])
        for key in ("init_dead_layer", "end_dead_layer", "risk_exact", "risk0_exact"):
            np.testing.assert_array_equal(rows[key], det[key])
    assert "params" not in df and "loss_traj" not in df


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_cli_writes_the_same_table(run_dir, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"trials{suffix}"
    assert cli.main(["export", str(run_dir), "--out", str(out)]) == 0
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    want = experiments.load_trials(run_dir)
    assert list(got.columns) == list(want.columns)
    for col in want.columns:  # CSV keeps the shortest text of each value: exact in its dtype
        np.testing.assert_array_equal(np.asarray(got[col]).astype(want[col].dtype), want[col])


def test_export_refuses_other_suffixes_and_non_runs(run_dir, tmp_path, capsys):
    assert cli.main(["export", str(run_dir), "--out", str(tmp_path / "t.xlsx")]) == 2
    assert ".parquet or .csv" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 2
