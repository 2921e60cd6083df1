"""A run directory as one tidy table: one row per trial (``export`` and :func:`load_trials`).

A run of :func:`~jaxnn_nonconv.experiments.run_experiment` stores, per sweep cell ``i``, the
training part ``cell-00i`` (``trial``, ``learning_rate``, ``risk0``, ``risk``, ``diverged``,
parameters and trajectories) and the detection part ``cell-00i-inactive`` (``init_*`` and
``end_*`` counts per hidden layer, ``risk0_exact`` / ``risk_exact`` when exact). The table has
one row per (cell, trial) with the columns

* ``cell`` (the cell's index), then the cell's swept parameters as in the manifest (``width``,
  ``optimizer``, ...; a nested value as its JSON text), ``seed``;
* every per-trial value of the two parts (1-D arrays of the trial count): ``trial``,
  ``learning_rate``, ``risk0``, ``risk`` (Monte Carlo), ``risk0_exact``, ``risk_exact`` and any
  empirical risk where stored, ``diverged``, the constant flags ``init_dead_layer`` /
  ``end_dead_layer``, ...;
* per-layer values (``(M, L)`` arrays) as one column per hidden layer, ``<name>_<k>`` with ``k``
  from 1: ``init_inactive_1``, ``end_inactive_1``, ``end_unknown_2``, ...

Parameters and trajectories (``params0``, ``params``, ``loss_traj``, ``grad_norm_traj``,
``param_traj``) are left out: they are not per-trial scalars. Values are copied from the stored
arrays unchanged (dtype included). Needs pandas (and pyarrow for Parquet):
``pip install 'jaxnn_nonconv[tables]'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments import _store as store

SKIPPED = ("params0", "params", "loss_traj", "grad_norm_traj", "record_steps", "param_traj")


def _cell_value(v: Any) -> Any:
    return v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)


def trial_columns(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The table of the module docstring as ``column -> (rows,)`` NumPy arrays (no pandas).

    Raises:
      ConfigError: not a run directory, or a cell whose parts disagree on the trials.
    """
    path = Path(run_dir)
    manifest = store.read_manifest(path)
    cells = manifest.get("cells") or [{}]
    seed = (manifest.get("config") or {}).get("seed")
    parts_dir = path / store.PARTS
    names = sorted(p.name for p in parts_dir.iterdir() if p.is_dir()) if parts_dir.is_dir() else []
    reader = store.ResultStore(path, manifest)  # reading only: no lock taken, nothing written
    blocks: list[dict[str, np.ndarray]] = []
    for i, cell in enumerate(cells):
        part = f"cell-{i:03d}"
        cols: dict[str, np.ndarray] = {}
        for name in (part, part + "-inactive"):
            if name not in names:
                continue
            for key, arr in reader.load(name).items():
                if key in SKIPPED:
                    continue
                if arr.ndim == 1:
                    cols[key] = arr
                elif arr.ndim == 2:
                    for k in range(arr.shape[1]):
                        cols[f"{key}_{k + 1}"] = arr[:, k]
        if not cols:
            continue
        n = {len(v) for v in cols.values()}
        if len(n) != 1:
            raise ConfigError(f"{path}: cell {i}: its stored parts hold different trial counts {n}")
        m = n.pop()
        if "trial" not in cols:  # an init-only cell: the detection part's rows are trials 0..m-1
            cols["trial"] = np.arange(m)
        seed_i = (manifest.get("parts") or {}).get(part, {}).get("seed", seed)
        head = {"cell": np.full(m, i)}
        for key, v in cell.items():
            head[key] = np.array([_cell_value(v)] * m)
        head["seed"] = np.array([seed_i] * m)
        blocks.append({**head, **cols})
    if not blocks:
        raise ConfigError(f"{path}: no stored trials")
    keys: list[str] = []
    for b in blocks:
        keys += [k for k in b if k not in keys]
    out = {}
    for k in keys:
        parts = []
        for b in blocks:
            m = len(b["cell"])
            parts.append(b[k] if k in b else np.full(m, np.nan))
        out[k] = np.concatenate(parts)
    return out


def load_trials(run_dir: str | Path):
    """The table of the module docstring as a pandas ``DataFrame`` (one row per trial).

    Raises:
      ConfigError: as :func:`trial_columns`, or pandas is not installed.
    """
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError(
            "load_trials needs pandas (pip install 'jaxnn_nonconv[tables]')"
        ) from None
    return pd.DataFrame(trial_columns(run_dir))


def export(run_dir: str | Path, out: str | Path) -> int:
    """Write :func:`load_trials` to ``out`` (``.parquet`` with pyarrow, or ``.csv``); return the
    number of rows.

    Raises:
      ConfigError: another suffix, a missing package, or as :func:`trial_columns`.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError(f"{out}: the table is written as .parquet or .csv, got {suffix!r}")
    df = load_trials(run_dir)
    if suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"{out}: Parquet needs pyarrow (pip install 'jaxnn_nonconv[tables]')"
            ) from None
        df.to_parquet(out, index=False)
    return len(df)
