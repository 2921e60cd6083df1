"""Config-driven experiments that reproduce the papers' claims (docs/theory.md sec. 4, 5).

An experiment file (``experiments/*.toml``) has a ``[experiment]`` table (``kind``, ``claim``,
``trials``, ``seed``, ``chunk_size``, ``tolerance``), a ``[train]`` table with the base setting (keys
of :func:`jaxnn_nonconv.experiments.config.build`), a ``[sweep]`` table of lists whose cartesian product gives
the cells, and a ``[full]`` table of overrides for the GPU-sized ``--full`` run (``trials`` and
``sweep.<key>`` lists). Sweep keys are ``[train]`` keys, plus ``width`` (every hidden layer's width)
and ``depth`` (number of hidden layers), which rebuild ``arch``, and ``setting``: a list of inline
tables of ``[train]`` keys applied together (with an optional ``label``), e.g. to compare full-batch
GD with online SGD. An optional ``levels`` inline table in ``[experiment]`` (fields of
:class:`jaxnn_nonconv.estimation.levels.LevelSettings` plus ``max_width``) makes
:func:`run_experiment` compute the risk levels ``R_0..R_H`` of every shallow ``d = 1`` problem into
``DIR/levels``; every ``d = 1`` cell stores exact risks (``risk_exact``, ``risk0_exact``) next to
the Monte Carlo ones. An optional ``splitting`` table adds a
rare-event sweep (:mod:`jaxnn_nonconv.experiments`). An optional ``[data]`` table (keys of
:func:`jaxnn_nonconv.experiments.config.data_from`, paths relative to the file) trains every cell
on a data set, and the sweep key ``data`` (a list of inline ``[data]`` tables) sweeps over data
sets; such cells also store their inactivity on the data (``init_data_*``, ``end_data_*``) and
their chunks ``empirical_risk``.

:func:`run_experiment` trains every cell (resumably, through
:mod:`jaxnn_nonconv.experiments.store`), certifies inactive neurons at initialization and at the
end (:mod:`jaxnn_nonconv.detector`) and stores per-trial arrays.
:func:`jaxnn_nonconv.experiments.report.report` turns stored arrays into tables and figures without
training anything.
Every cell uses the same ``seed``: trial ``i`` of two cells shares its key (common random numbers),
which makes differences between cells less noisy.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.estimation import levels as risk_levels
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.experiments import (
    _config as config,
    _splitting as experiments_rare,
    _store as store,
    _trials as trials,
)
from jaxnn_nonconv.stats import Precision, ProbabilityEstimate, UntilPrecise, proportion

KINDS = (
    "shallow_width",
    "deep_width_depth",
    "risk_levels",
    "critical_points",
    "depth_width",
    "a_priori",
    "six_settings",
    "data_driven",
)
# Kinds that only look at initialization (a dead layer at init stays dead: no training needed).
_INIT_ONLY = frozenset({"depth_width"})
_EXPERIMENT_KEYS = (
    "kind",
    "claim",
    "trials",
    "seed",
    "chunk_size",
    "tolerance",
    "max_points",
    "levels",
    "splitting",
)
_SWEEP_EXTRA = ("width", "depth", "setting", "data")
LEVELS_DIR = "levels"  # cache of risk levels inside a run directory


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
    max_points: int = detector.DEFAULT_MAX_POINTS
    levels: dict[str, Any] | None = None  # LevelSettings fields: compute R_k (d = 1 shallow cells)
    # Splitting sweep (module experiments_rare); not in to_dict: never changes the config hash.
    splitting: dict[str, Any] | None = None
    data: dict[str, Any] | None = None  # the [data] table
    data_dir: str = "."  # the folder its relative paths start from (the file's)

    @property
    def detector_settings(self) -> detector.DetectorSettings:
        """The detector's settings for every cell (the file's ``max_points``, defaults else)."""
        return detector.DetectorSettings(max_points=self.max_points)

    def cells(self) -> list[dict[str, Any]]:
        """The swept values of every cell, in sweep order (last key fastest)."""
        keys = [k for k, _ in self.sweep]
        return [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in self.sweep))]

    def cell_config(self, cell: dict[str, Any]) -> engine.TrainConfig:
        """The validated training setting of one cell."""
        setting = {k: v for k, v in cell.get("setting", {}).items() if k != "label"}
        values = {**self.base, **setting}
        values.update({k: v for k, v in cell.items() if k not in _SWEEP_EXTRA})
        if "width" in cell or "depth" in cell:
            arch = (
                config.parse_arch(values["arch"]) if isinstance(values.get("arch"), str) else None
            )
            arch = arch or tuple(values.get("arch", engine.TrainConfig().arch))
            width = cell.get("width", arch[1] if len(arch) > 2 else 1)
            depth = cell.get("depth", len(arch) - 2)
            values["arch"] = (arch[0], *([width] * depth), 1)
        table = None
        if self.data is not None or "data" in cell:
            table = {**(self.data or {}), **cell.get("data", {})}
        ds = None if table is None else config.data_from(table, self.data_dir)
        cfg, _ = config.build(values, data=ds)
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
            "levels": self.levels,
            **({} if self.data is None else {"data": self.data, "data_dir": self.data_dir}),
        }

    @classmethod
    def from_dict(cls, config: dict) -> Experiment:
        """The inverse of :meth:`to_dict` (e.g. a run directory's ``manifest["config"]``)."""
        return cls(**{**config, "sweep": tuple((k, tuple(v)) for k, v in config["sweep"].items())})


def load(path: str | Path, full: bool = False) -> Experiment:
    """Read and validate an experiment file; ``full`` applies its ``[full]`` overrides.

    Raises :class:`~jaxnn_nonconv.errors.ConfigError` naming the file, line and key.
    """
    path = Path(path)
    data, text = config.load(path, tables=("experiment", "train", "sweep", "full", "data"))
    try:
        exp = _from_tables(path.stem, data, full)
        if "data" in data:
            exp = dataclasses.replace(exp, data=dict(data["data"]))
        exp = dataclasses.replace(exp, data_dir=str(path.parent))
        for cell in exp.cells() + experiments_rare.cells(exp):  # validate every cell now
            cfg = exp.cell_config(cell)
            if reason := detector.not_applicable(cfg.activation, cfg.arch):
                raise config.ConfigError(f"experiments report inactive ReLU neurons, but {reason}")
            if detector.uses_intervals(cfg.activation, cfg.arch):  # data and splitting cells
                raise config.ConfigError(  # model ReLU after the first layer
                    f"experiments support {cfg.activation} nets with one hidden layer only; "
                    f"got arch {tuple(cfg.arch)} (estimate and train take deeper ones)"
                )
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
        if key not in config.TRAIN_KEYS + _SWEEP_EXTRA:
            valid = config.TRAIN_KEYS + _SWEEP_EXTRA
            raise config.ConfigError(f"unknown key {key!r}{config.suggest(key, valid)} in [sweep]")
        if not isinstance(values, list) or not values:
            raise config.ConfigError(f"sweep key {key!r} must be a non-empty list")
        if key in ("setting", "data") and not all(isinstance(v, dict) for v in values):
            raise config.ConfigError(f"sweep key {key!r} must be a list of inline tables")
    opts = config.run_options({k: meta[k] for k in ("trials", "seed", "chunk_size") if k in meta})
    tolerance = meta.get("tolerance", 1e-3)
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise config.ConfigError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    # Checked as the detector's settings are (ConfigError: an integer >= 2).
    max_points = detector.DetectorSettings(
        max_points=meta.get("max_points", detector.DEFAULT_MAX_POINTS)
    ).max_points
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
        levels=_level_settings(meta.get("levels")),
        splitting=experiments_rare.settings(meta.get("splitting"), kind),
    )


def _level_settings(value) -> dict[str, Any] | None:
    """The ``levels`` table: :class:`~jaxnn_nonconv.estimation.levels.LevelSettings` fields plus
    ``max_width`` (levels are computed for cells up to that width only)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise config.ConfigError("levels must be an inline table of level settings")
    value = dict(value)
    max_width = value.pop("max_width", None)
    if max_width is not None and (not isinstance(max_width, int) or max_width < 1):
        raise config.ConfigError(f"levels.max_width must be an integer >= 1, got {max_width!r}")
    try:
        settings = dataclasses.asdict(risk_levels.LevelSettings(**value))
    except TypeError:
        valid = [f.name for f in dataclasses.fields(risk_levels.LevelSettings)] + ["max_width"]
        raise config.ConfigError(f"levels: unknown key; valid: {', '.join(valid)}") from None
    return {**settings, "max_width": max_width}


def level_settings(exp: Experiment) -> tuple[risk_levels.LevelSettings, int]:
    """``(settings, max_width)`` of ``exp.levels`` (which must not be ``None``)."""
    value = dict(exp.levels)
    max_width = value.pop("max_width", None) or 10**9
    return risk_levels.LevelSettings(**value), max_width


def level_widths(exp: Experiment) -> dict[Any, int]:
    """Per problem of a shallow ``d = 1`` cell with an exact risk, the largest width (for R_k)."""
    out: dict[Any, int] = {}
    for cell in exp.cells():
        cfg = exp.cell_config(cell)
        fully_trained_relu = cfg.activation == "relu" and cfg.trainable is None
        if len(cfg.arch) == 3 and fully_trained_relu and exact_risk.supported(cfg.problem):
            out[cfg.problem] = max(out.get(cfg.problem, 0), cfg.arch[1])
    return out


def part_name(i: int) -> str:
    return f"cell-{i:03d}"


# Per-cell estimates a precision target of ``run_experiment`` can apply to: name -> (when, count key).
PRECISION_OF = ("inactive_at_end", "inactive_at_init", "constant_at_end", "constant_at_init")
# The names of earlier versions, still accepted with a warning: the same quantities are now named
# as in ``train`` (``inactive_at_end``, ...), in the flag, the report and its JSON alike.
DEPRECATED_PRECISION_OF = {
    "any_inactive_end": "inactive_at_end",
    "any_inactive_init": "inactive_at_init",
    "constant_end": "constant_at_end",
    "constant_init": "constant_at_init",
}


def run_experiment(
    exp: Experiment,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
    precision: Precision | None = None,
) -> Path:
    """Run every cell of ``exp`` into ``out_dir`` (resuming finished chunks); return the path.

    A larger ``exp.trials`` than stored grows every cell: only the new chunks are trained and
    detected. With ``precision`` (``precision.of`` in :data:`PRECISION_OF`), each cell grows chunk
    by chunk until its estimate meets the target or reaches ``precision.max_trials`` trials; the
    cap is then the config's ``trials``.
    """
    if precision is not None and precision.of in DEPRECATED_PRECISION_OF:
        new = DEPRECATED_PRECISION_OF[precision.of]
        warnings.warn(
            f"precision target {precision.of!r} is deprecated; use {new!r}",
            FutureWarning,
            stacklevel=2,
        )
        precision = dataclasses.replace(precision, of=new)
    if precision is not None:
        precision.check_of(PRECISION_OF, "run")
        exp = dataclasses.replace(exp, trials=precision.max_trials)
    cells = exp.cells()
    if precision is not None and distributed.process_count() > 1:
        raise config.ConfigError(
            "a precision target adds chunks in order, on one process: drop --rel-error / "
            "--ci-width or the multi-process flags"
        )
    manifest = {"config": exp.to_dict(), "cells": cells}
    if precision is not None:
        manifest["precision"] = precision.to_dict()
    st = store.open_run(out_dir, manifest, overwrite=overwrite)
    t0 = time.perf_counter()
    for i, cell in enumerate(cells):
        cfg = exp.cell_config(cell)
        if precision is None:
            _run_cell(st, i, cfg, exp, exp.trials, progress)
        else:
            _grow_cell(st, i, cfg, exp, precision, progress)
    if exp.levels is not None and distributed.is_leader():  # R_0..R_H per problem, cached
        settings, max_width = level_settings(exp)
        for problem, width in level_widths(exp).items():
            width = min(width, max_width)
            risk_levels.load_or_compute(problem, width, settings, st.path / LEVELS_DIR)
    if exp.splitting is not None and distributed.is_leader():  # one JSON per splitting cell
        verbose = progress or (progress is None and sys.stderr.isatty())
        experiments_rare.run_splitting(exp, st.path, bool(verbose))
    distributed.barrier("experiments.run_experiment")
    st.finish(wall_s=time.perf_counter() - t0 + st.manifest.get("wall_s", 0.0))
    return st.path


def _grow_cell(st: store.ResultStore, i: int, cfg, exp: Experiment, precision, progress) -> None:
    """Cell ``i`` grown a chunk at a time (from what is stored) until ``precision`` is met or the
    cell holds ``exp.trials`` trials (:class:`~jaxnn_nonconv.stats.UntilPrecise`)."""
    cell: dict = {}

    def sizes():
        stored = (st.manifest.get("parts", {}).get(part_name(i)) or {}).get("n_trials", 0)
        n = max(exp.chunk_size, -(-stored // exp.chunk_size) * exp.chunk_size)
        while True:
            n = min(n, exp.trials)
            cell["n"], cell["det"] = n, _run_cell(st, i, cfg, exp, n, progress)
            yield n
            if n >= exp.trials:
                return
            n += exp.chunk_size

    def estimate():
        return _cell_estimate(cell["det"], precision.of), cell["n"]

    for _ in UntilPrecise(sizes(), precision, estimate, show=progress, prefix=f"{part_name(i)}: "):
        pass


def _cell_estimate(det: dict[str, np.ndarray], of: str) -> ProbabilityEstimate:
    """The certified estimate ``of`` (a name in :data:`PRECISION_OF`) from a cell's detection."""
    when = of.rsplit("_", 1)[1]
    if of.startswith("inactive"):
        k = (det[f"{when}_inactive"].sum(1) > 0).sum()
    else:
        k = det[f"{when}_dead_layer"].sum()
    return proportion(int(k), len(det[f"{when}_dead_layer"]))


def _run_cell(st: store.ResultStore, i: int, cfg, exp: Experiment, n: int, progress) -> dict:
    """Train (unless init-only) and detect ``n`` trials of cell ``i``; return the detection."""
    part, det_part = part_name(i), part_name(i) + "-inactive"
    res = None
    if exp.kind not in _INIT_ONLY:
        # ``cfg`` comes validated from ``exp.cell_config``: not validated again.
        res = trials._run_trials(st, part, cfg, n, exp.seed, exp.chunk_size, None, progress, None)
    size = exp.chunk_size
    n_chunks = -(-n // size)
    if not distributed.is_leader():  # under jax.distributed, process 0 detects and writes
        distributed.barrier(f"detect:{det_part}")
        return {}
    done = st.done(det_part)
    for c in range(n_chunks):
        lo, hi = c * size, min(n, (c + 1) * size)
        if c in done and _chunk_len(st, det_part, c) == hi - lo:
            continue  # detection is stored per training chunk: only new chunks are computed
        if res is None:
            arrays = _detect_init(cfg, exp, n, c)
        else:
            chunk = {k: v[lo:hi] for k, v in res.items()}
            arrays = _detect_trained(cfg, chunk, exp.detector_settings)
        st.write_chunk(det_part, c, arrays)
    distributed.barrier(f"detect:{det_part}")
    return st.load(det_part)


def _chunk_len(st: store.ResultStore, part: str, index: int) -> int:
    with np.load(st.chunk_files(part)[index], allow_pickle=False) as z:
        return len(z[z.files[0]])


def _detect_init(cfg: engine.TrainConfig, exp: Experiment, n: int, c: int) -> dict[str, np.ndarray]:
    """Inactivity at initialization of chunk ``c`` of ``n`` trials, without training."""
    chunks = estimation.iter_init_counts(
        cfg,
        n,
        seed=exp.seed,
        chunk_size=exp.chunk_size,
        chunks=[c],
        settings=exp.detector_settings,
    )
    _, counts = next(iter(chunks))
    return {f"init_{k}": v for k, v in counts.items() if k != "trial"}


def _detect_trained(
    cfg: engine.TrainConfig, res: dict[str, np.ndarray], settings: detector.DetectorSettings
) -> dict[str, np.ndarray]:
    """Per-trial inactivity of the initial and the final parameters of stored trials.

    Diverged trials have non-finite parameters; their end status is meaningless and is masked in
    the report through the ``diverged`` flag.
    """
    out = {}
    for when, key in (("init", "params0"), ("end", "params")):
        theta = np.nan_to_num(res[key], nan=0.0, posinf=0.0, neginf=0.0)
        counts = estimation.counts_of_params(
            theta,
            cfg.arch,
            cfg.problem.box,
            trials=res["trial"],
            settings=settings,
            activation=cfg.activation,
        )
        out.update({f"{when}_{k}": v for k, v in counts.items() if k != "trial"})
        if cfg.data is not None:  # inactive on every training point
            on = estimation.counts_on_data(theta, cfg.arch, cfg.data.x)
            out.update({f"{when}_data_{k}": v for k, v in on.items()})
    out.update(exact_risk.add_exact(cfg, res))  # risk0_exact, risk_exact (d = 1)
    return out
