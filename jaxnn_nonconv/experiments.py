"""Config-driven experiments that reproduce the papers' claims (THEORY.md sec. 4, 5).

An experiment file (``experiments/*.toml``) has a ``[experiment]`` table (``kind``, ``claim``,
``trials``, ``seed``, ``chunk_size``, ``tolerance``), a ``[train]`` table with the base setting (keys
of :func:`jaxnn_nonconv.config.build`), a ``[sweep]`` table of lists whose cartesian product gives
the cells, and a ``[full]`` table of overrides for the GPU-sized ``--full`` run (``trials`` and
``sweep.<key>`` lists). Sweep keys are ``[train]`` keys, plus ``width`` (every hidden layer's width)
and ``depth`` (number of hidden layers), which rebuild ``arch``, and ``setting``: a list of inline
tables of ``[train]`` keys applied together (with an optional ``label``), e.g. to compare full-batch
GD with online SGD.

:func:`run` trains every cell (resumably, through :mod:`jaxnn_nonconv.store`), certifies inactive
neurons at initialization and at the end (:mod:`jaxnn_nonconv.inactive`) and stores per-trial
arrays. :func:`jaxnn_nonconv.report.report` turns stored arrays into tables and figures without
training anything.
Every cell uses the same ``seed``: trial ``i`` of two cells shares its key (common random numbers),
which makes differences between cells less noisy.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import config, distributed, estimate, inactive, store, train

KINDS = (
    "shallow_width",
    "deep_width_depth",
    "risk_levels",
    "critical_points",
    "depth_width",
    "a_priori",
)
# Kinds that only look at initialization (a dead layer at init stays dead: no training needed).
_INIT_ONLY = frozenset({"depth_width"})
_EXPERIMENT_KEYS = ("kind", "claim", "trials", "seed", "chunk_size", "tolerance", "max_points")
_SWEEP_EXTRA = ("width", "depth", "setting")


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A sweep over training settings; see the module docstring for the file format."""

    name: str
    kind: str
    claim: str
    base: dict[str, Any]
    sweep: tuple[tuple[str, tuple], ...]
    trials: int
    seed: int = 0
    chunk_size: int = 256
    tolerance: float = 1e-3
    max_points: int = inactive.DEFAULT_MAX_POINTS

    def cells(self) -> list[dict[str, Any]]:
        """The swept values of every cell, in sweep order (last key fastest)."""
        keys = [k for k, _ in self.sweep]
        return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in self.sweep))]

    def cell_config(self, cell: dict[str, Any]) -> train.TrainConfig:
        """The validated training setting of one cell."""
        setting = {k: v for k, v in cell.get("setting", {}).items() if k != "label"}
        values = {**self.base, **setting}
        values.update({k: v for k, v in cell.items() if k not in _SWEEP_EXTRA})
        if "width" in cell or "depth" in cell:
            arch = (
                config.parse_arch(values["arch"]) if isinstance(values.get("arch"), str) else None
            )
            arch = arch or tuple(values.get("arch", train.TrainConfig().arch))
            width = cell.get("width", arch[1] if len(arch) > 2 else 1)
            depth = cell.get("depth", len(arch) - 2)
            values["arch"] = (arch[0], *([width] * depth), 1)
        cfg, _ = config.build(values)
        return cfg

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "claim": self.claim,
            "base": self.base,
            "sweep": {k: list(v) for k, v in self.sweep},
            "trials": self.trials,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
            "tolerance": self.tolerance,
            "max_points": self.max_points,
        }


def load(path: str | Path, full: bool = False) -> Experiment:
    """Read and validate an experiment file; ``full`` applies its ``[full]`` overrides.

    Raises :class:`~jaxnn_nonconv.config.ConfigError` naming the file, line and key.
    """
    path = Path(path)
    data, text = config.load(path, tables=("experiment", "train", "sweep", "full"))
    try:
        exp = _from_tables(path.stem, data, full)
        for cell in exp.cells():  # validate every cell now, not hours into the run
            exp.cell_config(cell)
    except config.ConfigError as e:
        raise config.with_line(e, path, text) from None
    return exp


def _from_tables(name: str, data: dict, full: bool) -> Experiment:
    meta = dict(data.get("experiment", {}))
    for key in meta:
        if key not in _EXPERIMENT_KEYS:
            raise config.ConfigError(
                f"unknown key {key!r}{config.suggest(key, _EXPERIMENT_KEYS)} in [experiment]"
            )
    sweep = dict(data.get("sweep", {}))
    if full:
        overrides = dict(data.get("full", {}))
        sweep.update(overrides.pop("sweep", {}))
        for key, value in overrides.items():
            if key not in _EXPERIMENT_KEYS:
                raise config.ConfigError(f"unknown key {key!r} in [full]")
            meta[key] = value
    kind = config.check_name("experiment kind", meta.get("kind", ""), KINDS)
    for key, values in sweep.items():
        if key not in config._TRAIN_KEYS + _SWEEP_EXTRA:
            valid = config._TRAIN_KEYS + _SWEEP_EXTRA
            raise config.ConfigError(f"unknown key {key!r}{config.suggest(key, valid)} in [sweep]")
        if not isinstance(values, list) or not values:
            raise config.ConfigError(f"sweep key {key!r} must be a non-empty list")
        if key == "setting" and not all(isinstance(v, dict) for v in values):
            raise config.ConfigError("sweep key 'setting' must be a list of inline tables")
    opts = config._run_options({k: meta[k] for k in ("trials", "seed", "chunk_size") if k in meta})
    tolerance = meta.get("tolerance", 1e-3)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise config.ConfigError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    max_points = meta.get("max_points", inactive.DEFAULT_MAX_POINTS)
    if not (isinstance(max_points, int) and not isinstance(max_points, bool) and max_points >= 2):
        raise config.ConfigError(f"max_points must be an integer >= 2, got {max_points!r}")
    return Experiment(
        name=name,
        kind=kind,
        claim=str(meta.get("claim", "")),
        base=dict(data.get("train", {})),
        sweep=tuple((k, tuple(v)) for k, v in sweep.items()),
        trials=opts.trials,
        seed=opts.seed,
        chunk_size=opts.chunk_size,
        tolerance=float(tolerance),
        max_points=max_points,
    )


def _part(i: int) -> str:
    return f"cell-{i:03d}"


def run(
    exp: Experiment, out_dir: str | Path, *, overwrite: bool = False, progress: bool | None = None
) -> Path:
    """Run every cell of ``exp`` into ``out_dir`` (resuming finished chunks); return the path."""
    cells = exp.cells()
    manifest = {"config": exp.to_dict(), "cells": cells}
    st = store.open_run(out_dir, manifest, overwrite=overwrite)
    t0 = time.perf_counter()
    for i, cell in enumerate(cells):
        cfg = exp.cell_config(cell)
        part, det_part = _part(i), _part(i) + "-inactive"
        # Under jax.distributed every process trains its share; process 0 writes the detection.
        leader = distributed.is_leader()
        if exp.kind in _INIT_ONLY:
            if 0 not in st.done(det_part):
                counts = _detect_init(cfg, exp)  # every process: its chunks are gathered
                if leader:
                    st.write_chunk(det_part, 0, counts)
            distributed.barrier(f"detect:{det_part}")
            continue
        res = store.run_trials(
            st, part, cfg, exp.trials, seed=exp.seed, chunk_size=exp.chunk_size, progress=progress
        )
        if leader and 0 not in st.done(det_part):
            st.write_chunk(det_part, 0, _detect_trained(cfg, res, exp.max_points))
    distributed.barrier("experiments.run")
    st.finish(wall_s=time.perf_counter() - t0 + st.manifest.get("wall_s", 0.0))
    return st.path


def _detect_init(cfg: train.TrainConfig, exp: Experiment) -> dict[str, np.ndarray]:
    """Per-trial inactivity at initialization, without training."""
    counts = estimate.counts_at_init(
        cfg, exp.trials, seed=exp.seed, chunk_size=exp.chunk_size, max_points=exp.max_points
    )
    return {f"init_{k}": v for k, v in counts.items() if k != "trial"}


def _detect_trained(
    cfg: train.TrainConfig, res: dict[str, np.ndarray], max_points: int
) -> dict[str, np.ndarray]:
    """Per-trial inactivity of the initial and the final parameters of stored trials.

    Diverged trials have non-finite parameters; their end status is meaningless and is masked in
    the report through the ``diverged`` flag.
    """
    out = {}
    for when, key in (("init", "params0"), ("end", "params")):
        theta = np.nan_to_num(res[key], nan=0.0, posinf=0.0, neginf=0.0)
        counts = estimate.counts_of_params(theta, cfg.arch, cfg.problem.box, max_points=max_points)
        out.update({f"{when}_{k}": v for k, v in counts.items() if k != "trial"})
    return out
