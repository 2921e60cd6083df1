"""Splitting sweeps inside experiments: tiny probabilities of ``depth_width`` and ``shallow_width``.

An optional ``[experiment.splitting]`` table (or ``splitting = {...}`` inline in ``[experiment]``,
replaced as a whole by ``[full.splitting]`` under ``--full``) makes
:func:`jaxnn_nonconv.experiments.run_experiment` estimate, by multilevel splitting
(:func:`jaxnn_nonconv.rare.rare_event`), ``P(event)`` at initialization for every
``(width, depth)`` of its own small sweep, far below what the Monte Carlo cells can see:

* ``event``: ``not_constant`` (default for ``depth_width``, arXiv 2006.07075) or ``no_inactive``
  (default otherwise, arXiv 2402.05155 Thm 4.2 for one hidden layer);
* ``width``, ``depth``: lists; every pair gives the net ``[d, width x depth, 1]`` with the
  ``[train]`` setting's input dimension, init and box;
* ``particles``, ``replicates``, ``group``, ``max_points``, ``confidence``: see
  :func:`~jaxnn_nonconv.rare.rare_event`;
* ``dtype``: ``float64`` (default; run under ``jax.enable_x64``) or ``float32``. With ``N(0, 1)``
  weights the image of the box grows like ``sqrt(N/2)`` per layer, past float32's range (``3e38``)
  within a few hundred layers for widths ``>= 3``; float64 holds it to depth 512 for widths up to 16.

Every cell is stored as its own JSON file ``DIR/splitting/w<width>-d<depth>.json`` (the
:class:`~jaxnn_nonconv.rare.RareEventResult` entry plus the theory's bound and, where known, the
exact value), written atomically; a rerun skips cells whose stored settings match. Every cell
uses the experiment's ``seed`` (keys folded from it as in :mod:`jaxnn_nonconv.rare`). The sweep is
not part of the run's config hash, so adding or changing it never invalidates trained cells.
:mod:`jaxnn_nonconv.experiments.report` draws the figures.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path
from typing import Any

import jax

from jaxnn_nonconv import rare
from jaxnn_nonconv.experiments import _config as config
from jaxnn_nonconv.stats import theory

SPLITTING_DIR = "splitting"  # per-cell JSON results inside a run directory
_INT_KEYS = {"particles": 2, "replicates": 2, "group": 1, "max_points": 2}
_DEFAULTS = {
    "particles": 1024,
    "replicates": 4,
    "group": 1,
    "max_points": rare.DEFAULT_MAX_POINTS,
    "confidence": 0.95,
    "dtype": "float64",
}
_KEYS = ("event", "width", "depth", *_DEFAULTS)


def settings(value: Any, kind: str) -> dict[str, Any] | None:
    """The validated ``splitting`` table of an experiment (``None``: no splitting sweep).

    Raises:
      ConfigError: not a table, an unknown key, a bad event, empty or non-positive width/depth
        lists, integers out of range, or a ``group`` that does not divide every width.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise config.ConfigError("splitting must be a table of splitting settings")
    for key in value:
        if key not in _KEYS:
            raise config.ConfigError(
                f"unknown key {key!r}{config.suggest(key, _KEYS)} in splitting "
                f"(valid: {', '.join(_KEYS)})"
            )
    out = {**_DEFAULTS, "event": "not_constant" if kind == "depth_width" else "no_inactive"}
    out.update(value)
    out["event"] = config.check_name("splitting event", out["event"], rare.EVENTS)
    for key in ("width", "depth"):
        vals = out.get(key, [1] if key == "depth" else None)
        if not isinstance(vals, list) or not vals or not all(_is_int(v, 1) for v in vals):
            raise config.ConfigError(f"splitting.{key} must be a non-empty list of integers >= 1")
        out[key] = sorted(set(vals))
    for key, least in _INT_KEYS.items():
        if not _is_int(out[key], least):
            raise config.ConfigError(f"splitting.{key} must be an integer >= {least}")
    out["dtype"] = config.check_name("splitting dtype", out["dtype"], ("float32", "float64"))
    conf = out["confidence"]
    if not (isinstance(conf, float) and 0 < conf < 1):
        raise config.ConfigError(f"splitting.confidence must be in (0, 1), got {conf!r}")
    if out["event"] == "no_inactive" and any(w % out["group"] for w in out["width"]):
        raise config.ConfigError("splitting.group must divide every splitting width")
    return out


def _is_int(v: Any, least: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= least


def cells(exp) -> list[dict[str, int]]:
    """The ``{"width", "depth"}`` cells of ``exp``'s splitting sweep (none without one)."""
    s = exp.splitting
    if s is None:
        return []
    return [{"width": w, "depth": d} for w, d in itertools.product(s["width"], s["depth"])]


def cell_path(out_dir: str | Path, width: int, depth: int) -> Path:
    """The JSON file of one splitting cell."""
    return Path(out_dir) / SPLITTING_DIR / f"w{width}-d{depth}.json"


def exact_log10(event: str, arch: tuple[int, ...], init: str, box, zero_bias: bool):
    """log10 of the closed form for one hidden layer (``None`` when unknown or deeper).

    ``no_inactive``: ``H log10(1 - p)``; ``not_constant``: ``log10(1 - p^H)`` with ``p`` the
    first-layer inactivity probability (arXiv 2402.05155 Thm 4.2, 2006.07075).
    """
    p = theory.first_layer_p(init, box, zero_bias)
    if len(arch) != 3 or p is None or p >= 1:
        return None
    h = arch[1]
    val = h * math.log1p(-p) if event == "no_inactive" else math.log1p(-(p**h))
    return val / math.log(10)


def run_splitting(exp, out_dir: str | Path, progress: bool = False) -> list[dict[str, Any]]:
    """Compute (or reuse) every splitting cell of ``exp`` into ``DIR/splitting``; return them.

    Args:
      exp: an :class:`~jaxnn_nonconv.experiments.Experiment` with ``splitting`` settings.
      out_dir: the run directory.
      progress: print one line per computed cell to stderr.

    Returns:
      The stored entries, in ``(width, depth)`` order.
    """
    s = exp.splitting
    out = []
    for cell in cells(exp):
        width, depth = cell["width"], cell["depth"]
        cfg = exp.cell_config({**cell, "dtype": s["dtype"]})
        key = {
            "config": cfg.to_dict(),
            "seed": exp.seed,
            **{k: s[k] for k in ("event", *_DEFAULTS)},
        }
        key = json.loads(json.dumps(key))
        path = cell_path(out_dir, width, depth)
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("settings") == key:
                out.append(old)
                continue
        with jax.enable_x64(s["dtype"] == "float64" or jax.config.jax_enable_x64):
            res = rare.rare_event(
                cfg,
                s["event"],
                s["particles"],
                s["replicates"],
                seed=exp.seed,
                confidence=s["confidence"],
                group=s["group"],
                max_points=s["max_points"],
            ).to_dict()
        th = theory.summary(cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias)
        bound = rare.log10_bounds(cfg, th["first_layer_p"])[s["event"]]
        entry = {
            "width": width,
            "depth": depth,
            "arch": list(cfg.arch),
            "settings": key,
            **res,
            "log10_upper_bound": bound,
            "log10_exact": exact_log10(
                s["event"], cfg.arch, cfg.init, cfg.problem.box, cfg.zero_bias
            ),
            "first_layer_p": th["first_layer_p"],
            "sign_dead_q": theory.sign_dead_q(width, cfg.init, cfg.zero_bias),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry, indent=1))
        os.replace(tmp, path)
        if progress:
            import sys

            print(
                f"splitting w{width} d{depth}: P = {rare.fmt_small(entry)} "
                f"({entry['wall_s']:.1f} s)",
                file=sys.stderr,
            )
        out.append(entry)
    index = Path(out_dir) / SPLITTING_DIR / "sweep.json"  # the current sweep's cells, for report
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps({"cells": [cell_path(out_dir, **c).name for c in cells(exp)]}))
    return out


def load_splitting(out_dir: str | Path) -> list[dict[str, Any]]:
    """The stored cells of the run directory's latest splitting sweep, in ``(width, depth)`` order
    (cells of an earlier sweep with other widths or depths stay on disk but are left out)."""
    d = Path(out_dir) / SPLITTING_DIR
    if not d.is_dir():
        return []
    paths = sorted(d.glob("w*-d*.json"))
    if (d / "sweep.json").exists():
        names = set(json.loads((d / "sweep.json").read_text())["cells"])
        paths = [p for p in paths if p.name in names]
    entries = [json.loads(p.read_text()) for p in paths]
    return sorted(entries, key=lambda e: (e["width"], e["depth"]))
