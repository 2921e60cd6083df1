"""Per-run references of the stored cells that train only some groups (biases, say), cached.

:func:`compute_bias_references` reads a run directory, and for every finished shallow ``d = 1``
cell with a ``trainable`` mask and an exact risk computes
:func:`jaxnn_nonconv.estimation.bias_references` (the runs' end points and ``starts`` draws of
the cell's init law, trial keys ``trial_key(seed + DRAW_SEED_OFFSET, j)``, disjoint from the
runs' own), and stores one JSON per cell and trainable set in ``DIR/levels``
(:func:`reference_path`), which :func:`load_bias_reference` (used by the report) reads.
Nothing is computed when reporting.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.estimation import BiasReference, bias_references
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.experiments import _spec as spec, _store as store

DRAW_SEED_OFFSET = 1_000_003  # init draws of the references: seeds far from the runs' own


def reference_path(out_dir: str | Path, index: int, trainable) -> Path:
    """``DIR/levels/bias-cell-<index>-<groups>.json``."""
    name = f"bias-{spec.part_name(index)}-{'_'.join(trainable)}.json"
    return Path(out_dir) / spec.LEVELS_DIR / name


def eligible(cfg) -> bool:
    """A shallow ``d = 1`` ReLU or clip cell with a trainable mask and an exact risk."""
    return (
        cfg.trainable is not None
        and len(cfg.arch) == 3
        and cfg.activation in ("relu", "clip")
        and exact_risk.supported(cfg.problem, cfg.activation, cfg.arch)
    )


def compute_bias_references(
    out_dir: str | Path,
    *,
    starts: int = 8,
    maxiter: int = 300,
    max_width: int | None = None,
    trainable: tuple[str, ...] | None = None,
    labels: tuple[str, ...] | None = None,
    progress: bool = False,
) -> list[Path]:
    """Compute and store the references of the eligible cells of a run directory.

    Args:
      out_dir: a run directory of :func:`jaxnn_nonconv.experiments.run_experiment`.
      starts: init-law draws per run besides its end point.
      maxiter: L-BFGS-B iterations per start.
      max_width: skip cells wider than this (``None``: none skipped).
      trainable: groups to optimize (default: the cell's own ``trainable``); must be a subset
        of them, e.g. ``("b2",)`` for what float32 training moves in setting 2.
      labels: only cells whose ``label`` is listed (``None``: all).
      progress: print one line per cell.

    Returns:
      The JSON files written (existing ones are kept, not recomputed).
    """
    out_dir = Path(out_dir)
    manifest = store.read_manifest(out_dir)
    exp = spec.Experiment.from_dict(manifest["config"])
    st = store.ResultStore(out_dir, manifest)
    done = set(st.parts())
    written = []
    for i, values in enumerate(manifest["cells"]):
        cfg = exp.cell_config(values)
        label = str(values.get("setting", {}).get("label", ""))
        if not eligible(cfg) or spec.part_name(i) not in done:
            continue
        if labels is not None and label not in labels:
            continue
        if max_width is not None and cfg.arch[1] > max_width:
            continue
        groups = tuple(cfg.trainable if trainable is None else trainable)
        if not set(groups) <= set(cfg.trainable):
            raise ValueError(f"trainable {groups} is not a subset of the cell's {cfg.trainable}")
        path = reference_path(out_dir, i, groups)
        if path.exists():
            written.append(path)
            continue
        arrays = st.load(spec.part_name(i))
        draws = np.stack(
            [
                np.asarray(
                    nets.to_flat(
                        engine.init_trial_params(
                            cfg, engine.trial_key(exp.seed + DRAW_SEED_OFFSET, j)
                        )
                    ),
                    np.float64,
                )
                for j in range(starts)
            ]
        )
        t0 = time.perf_counter()
        ref = bias_references(
            arrays["params"], draws, cfg.arch, cfg.problem, cfg.activation, groups, maxiter=maxiter
        )
        out = ref.to_dict() | {"label": label, "wall_s": time.perf_counter() - t0}
        out["jax_backend"] = jax.default_backend()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        tmp.replace(path)
        written.append(path)
        if progress:
            print(f"{label} ({'_'.join(groups)}): {out['wall_s']:.0f} s", flush=True)
    return written


def load_bias_reference(out_dir: str | Path, index: int, trainable) -> BiasReference | None:
    """The stored :class:`~jaxnn_nonconv.estimation.BiasReference` of cell ``index``, or ``None``."""
    path = reference_path(out_dir, index, tuple(trainable))
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    keep = {"best", "local", "end", "frozen_end", "frozen_local", "trainable", "starts", "maxiter"}
    return BiasReference.from_dict({k: v for k, v in d.items() if k in keep})
