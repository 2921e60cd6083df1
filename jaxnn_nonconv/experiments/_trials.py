"""The resumable trial loop: train a part of a run chunk by chunk into a results store.

:func:`run_trials` trains the trials of one part (e.g. a sweep cell) into a
:class:`~jaxnn_nonconv.experiments.store.ResultStore`, writing each chunk as soon as it is computed
and computing only the chunks that are missing, so a killed run resumes where it stopped and a run
asked for more trials grows. Trial ``i``'s result does not depend on when or where its chunk was
computed (:mod:`jaxnn_nonconv.engine`), so a resumed run is bit-identical to an uninterrupted one,
provided the chunk size is the same (it is recorded per part and a different one is refused).

Example:
    >>> import tempfile
    >>> from jaxnn_nonconv import engine
    >>> from jaxnn_nonconv.experiments import store
    >>> cfg = engine.TrainConfig(arch=(1, 4, 1), steps=20, eval_size=64)
    >>> out = tempfile.mkdtemp()
    >>> st = store.open_run(out, {"config": cfg.to_dict()})
    >>> res = run_trials(st, "cell-000", cfg, 5, seed=0, chunk_size=2)
    >>> res["trial"].tolist(), sorted(st.done("cell-000"))
    ([0, 1, 2, 3, 4], [0, 1, 2])
    >>> st.finish()
    >>> store.read_manifest(out)["status"]
    'complete'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from jaxnn_nonconv import engine
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.experiments._store import PARTS, ResultStore, config_hash, read_manifest


def _lr_hash(learning_rates) -> str | None:
    if learning_rates is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(learning_rates, np.float64).tobytes()).hexdigest()


def run_trials(
    store: ResultStore,
    part: str,
    cfg: engine.TrainConfig,
    n_trials: int,
    *,
    seed: int,
    chunk_size: int,
    learning_rates: Sequence[float] | np.ndarray | None = None,
    progress: bool | None = None,
    n_devices: int | None = None,
) -> dict[str, np.ndarray]:
    """Train ``n_trials`` networks of ``cfg`` into ``part`` of ``store``, resuming where it stopped.

    Chunks already stored are kept and not recomputed when they form a prefix (the usual case after
    an interruption); computation restarts at the first missing chunk, and each chunk is written as
    soon as it is computed. The part's ``n_trials``, ``seed``, ``chunk_size``, training config and
    learning rates are recorded in ``store.manifest["parts"][part]``; resuming with any of them
    different is refused, since the stored chunks would not match, except ``n_trials``: a larger
    one grows the part (a partial last chunk is recomputed, then only new chunks), a smaller one
    is refused.

    Args:
      store: from :func:`open_run`.
      part: part name, e.g. ``"cell-003"``.
      cfg, n_trials, seed, chunk_size, learning_rates, n_devices: as in :func:`engine.run`.
      progress: show a progress bar (default: when stderr is a terminal).

    Returns:
      As :func:`engine.run`: ``trial: (M,)``, ``learning_rate: (M,)``, ``params0: (M, P)``,
      ``params: (M, P)``, ``risk0: (M,)``, ``risk: (M,)``, ``loss_traj: (M, R)``,
      ``grad_norm_traj: (M, R)``, ``diverged: (M,)`` and ``record_steps: (R,)`` (the latter not
      stored in chunks); with ``cfg.n_snapshots > 0`` also ``param_traj: (M, S, P)`` (stored) and
      ``snapshot_steps: (S,)`` (not stored).

    Raises:
      ConfigError: the part was started with other settings, or its stored chunks are inconsistent.
    """
    cfg = cfg.validate()
    return _run_trials(
        store, part, cfg, n_trials, seed, chunk_size, learning_rates, progress, n_devices
    )


def _run_trials(
    store: ResultStore,
    part: str,
    cfg: engine.TrainConfig,
    n_trials: int,
    seed: int,
    chunk_size: int,
    learning_rates: Sequence[float] | np.ndarray | None,
    progress: bool | None,
    n_devices: int | None,
) -> dict[str, np.ndarray]:
    """:func:`run_trials` of a validated ``cfg`` (as :meth:`Experiment.cell_config
    <jaxnn_nonconv.experiments.Experiment.cell_config>` gives; not checked again)."""
    engine.check_count(n_trials, "n_trials")
    engine.check_count(chunk_size, "chunk_size")
    n_chunks = -(-n_trials // chunk_size)
    record = {
        "n_trials": n_trials,
        "seed": seed,
        "chunk_size": chunk_size,
        "n_chunks": n_chunks,
        "train_config_hash": config_hash(cfg.to_dict()),
        "learning_rates_hash": _lr_hash(learning_rates),
    }
    distributed.leader_first(
        lambda: _start_part(store, part, record),
        lambda: setattr(store, "manifest", read_manifest(store.path)),
    )
    done = store.done(part)
    if any(i >= n_chunks for i in done):
        raise ConfigError(
            f"part {part!r} in {store.path} has chunks beyond the {n_chunks} expected"
        )
    todo = distributed.my_chunks(i for i in range(n_chunks) if i not in done)
    if todo:
        chunks = engine.iter_chunks(
            cfg,
            n_trials,
            seed=seed,
            chunk_size=chunk_size,
            learning_rates=learning_rates,
            n_devices=n_devices,
            chunks=todo,
        )
        for index, res in engine.progress_iter(chunks, len(todo), progress, label=part):
            store.write_chunk(part, index, res)
    distributed.barrier(f"run_trials:{part}")  # every process's chunks are on disk

    out = store.load(part)
    if not np.array_equal(out.get("trial"), np.arange(n_trials)):
        raise ConfigError(f"part {part!r} in {store.path}: stored trials are not 0..{n_trials - 1}")
    parts = dict(store.manifest.get("parts") or {})
    parts[part] = {**record, "complete": True}
    store.update(parts=parts)
    out["record_steps"] = engine.record_steps(cfg.steps, cfg.n_record)
    if cfg.n_snapshots:
        out["snapshot_steps"] = engine.snapshot_steps(cfg.steps, cfg.n_snapshots)
    return out


def _start_part(store: ResultStore, part: str, record: dict) -> None:
    """Check ``record`` against the part's stored one, or record it; raise ConfigError if they
    differ."""
    parts = dict(store.manifest.get("parts") or {})
    old = parts.get(part)
    n_trials, chunk_size = record["n_trials"], record["chunk_size"]
    if old is None and store.done(part):
        raise ConfigError(
            f"{store.path / PARTS / part} holds chunks but the manifest has no record of them"
        )
    if old is not None:
        grows = ("n_trials", "n_chunks")
        differ = [k for k in record if k in old and k not in grows and old[k] != record[k]]
        if differ:
            k = differ[0]
            raise ConfigError(
                f"part {part!r} in {store.path} was started with {k}={old[k]!r}, now "
                f"{record[k]!r}; resuming would mix incompatible chunks (use the same settings, "
                "--overwrite or another --out)"
            )
        if old.get("n_trials", n_trials) > n_trials:
            raise ConfigError(
                f"part {part!r} in {store.path} holds {old['n_trials']} trials; {n_trials} would "
                f"drop finished trials (runs grow, never shrink): ask for >= {old['n_trials']}"
            )
        if old.get("n_trials", n_trials) < n_trials:  # grow
            last = -(-old["n_trials"] // chunk_size) - 1
            if old["n_trials"] % chunk_size:  # the old last chunk is partial: recompute it
                stale = store.chunk_files(part).get(last)
                if stale is not None:
                    stale.unlink()
            old = None
    if old is None:
        parts[part] = {**record, "complete": False}
        store.update(parts=parts)
