"""A durable, resumable results store: one directory per run, one ``.npz`` file per finished chunk.

Monte Carlo runs take hours, so nothing finished may be lost and nothing half-written may be read.
Layout of a run directory ``DIR``::

    DIR/manifest.json                    # config, its hash, versions, device, status, parts
    DIR/parts/<part>/chunk-000012.npz    # one finished chunk of one part (e.g. a sweep cell)
    DIR/.lock                            # held (flock) by the process writing DIR

Every file is written to a temporary name in its own directory, flushed, ``fsync``-ed, renamed over
its final name with ``os.replace`` (atomic on POSIX), and the directory is ``fsync``-ed: after a
crash or ``kill -9`` a chunk file either exists complete or does not exist. Leftover temporary
files (``.tmp-*``) are ignored and removed the next time the directory is opened.

A run is identified by :func:`run_hash` of its config: the config without its number of trials
(:data:`GROWABLE`). :func:`open_run` on a directory that holds the same config resumes it; a larger
number of trials *grows* the run (only the new chunks are computed, the stored ones are kept
bit for bit), a smaller one is refused. The store knows nothing of training: the resumable trial
loop that fills it is :func:`jaxnn_nonconv.experiments.run_trials`.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv import engine
from jaxnn_nonconv.engine import distributed
from jaxnn_nonconv.errors import ConfigError
from jaxnn_nonconv.version import __version__

MANIFEST = "manifest.json"


PARTS = "parts"


LOCK = ".lock"


_TMP_PREFIX = ".tmp-"


_CHUNK_RE = re.compile(r"^chunk-(\d+)\.npz$")


_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


# np.savez's own parameters: an array under one of these names would be taken as the option.
_RESERVED_KEYS = ("file", "allow_pickle")


# Directories this process holds the lock of: real path -> lock file descriptor.
_HELD: dict[str, int] = {}


def config_hash(obj: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``obj`` (sorted keys, no spaces, no NaN).

    Tuples hash like lists; ``1`` and ``1.0`` hash differently (as in JSON).

    >>> config_hash({"b": [1, 2], "a": "x"}) == config_hash({"a": "x", "b": (1, 2)})
    True
    >>> config_hash({"a": 1})[:12]
    '015abd7f5cc5'
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


GROWABLE = ("trials",)  # config keys that may grow on resume; not part of a run's identity


def run_hash(config: Any) -> str:
    """:func:`config_hash` of ``config`` without the :data:`GROWABLE` keys: two configs that differ
    only in their number of trials are the same run, the larger one a continuation.

    >>> run_hash({"a": 1, "trials": 10}) == run_hash({"a": 1, "trials": 20})
    True
    """
    if isinstance(config, Mapping):
        config = {k: v for k, v in config.items() if k not in GROWABLE}
    return config_hash(config)


def _stored_hash(old: Mapping) -> str | None:
    """The run hash of an existing manifest (recomputed: older manifests hashed the trials too)."""
    if isinstance(old.get("config"), Mapping):
        try:
            return run_hash(old["config"])
        except (TypeError, ValueError):
            return None
    return old.get("config_hash")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _environment() -> dict[str, str]:
    """Versions and device of this process, as recorded in a manifest."""
    import jax

    devices = jax.devices()
    d0 = devices[0]
    return {
        "package_version": __version__,
        "stream_version": engine.STREAM_VERSION,
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "device": f"{len(devices)}x {d0.device_kind} ({d0.platform})",
    }


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write) -> None:
    """Write ``path`` via a temp file in the same directory: ``write(f)``, fsync, rename, fsync dir.

    On any error the temp file is removed and ``path`` is left as it was.
    """
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _write_json(path: Path, obj: Mapping) -> None:
    data = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    _atomic_write(path, lambda f: f.write(data))


def _remove_tmp(directory: Path) -> None:
    """Delete leftover ``.tmp-*`` files of interrupted writes in ``directory``."""
    with contextlib.suppress(OSError):
        for p in directory.glob(f"{_TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                p.unlink()


def _ours(name: str) -> bool:
    """Whether a directory entry is the store's own bookkeeping (ignored when judging emptiness)."""
    return name == LOCK or name.startswith(_TMP_PREFIX)


def read_manifest(out_dir: str | os.PathLike) -> dict:
    """The manifest of run directory ``out_dir``.

    Raises:
      ConfigError: the directory or its ``manifest.json`` is missing, unreadable or not a JSON
        object.
    """
    path = Path(out_dir) / MANIFEST
    try:
        text = path.read_text()
    except FileNotFoundError:
        if not Path(out_dir).is_dir():
            raise ConfigError(f"{out_dir}: no such directory") from None
        raise ConfigError(f"{out_dir} holds no {MANIFEST}: not a results directory") from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: corrupt manifest ({e})") from None
    if not isinstance(manifest, dict):
        raise ConfigError(f"{path}: corrupt manifest (not a JSON object)")
    return manifest


def check_version(manifest: Mapping) -> str | None:
    """A warning when results in ``manifest`` were written by another package or JAX version.

    Looks at the top-level versions and those of every resume in ``manifest["history"]``: a run
    resumed under another version may mix chunks of both. Returns ``None`` when all match.

    >>> check_version({"package_version": __version__}) is None
    True
    >>> print(check_version({"package_version": "0.0.1"}))  # doctest: +ELLIPSIS
    results were written by jaxnn_nonconv 0.0.1, this is ...; numbers may differ from a fresh run
    """
    import jax

    current = {"package_version": __version__, "jax_version": jax.__version__}
    names = {"package_version": "jaxnn_nonconv", "jax_version": "JAX"}
    records = [manifest, *(manifest.get("history") or [])]
    notes = []
    for key, name in names.items():
        seen = []
        for r in records:
            v = r.get(key) if isinstance(r, Mapping) else None
            if v is not None and v != current[key] and v not in seen:
                seen.append(v)
        if seen:
            notes.append(f"{name} {', '.join(map(str, seen))}, this is {current[key]}")
    if not notes:
        return None
    return f"results were written by {'; '.join(notes)}; numbers may differ from a fresh run"


class ResultStore:
    """An open run directory; create it with :func:`open_run`.

    Attributes:
      path: the run directory.
      manifest: the manifest as last written (mutate it only through :meth:`update`).
      resumed: whether :func:`open_run` found this config's earlier results.
      warning: :func:`check_version` of the manifest found on resume, else ``None``.
    """

    def __init__(self, path: Path, manifest: dict, *, resumed: bool = False, warning=None):
        self.path = path
        self.manifest = manifest
        self.resumed = resumed
        self.warning = warning

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, status={self.manifest.get('status')!r})"

    # -- chunks ------------------------------------------------------------------------------

    def _part_dir(self, part: str) -> Path:
        if not isinstance(part, str) or not _PART_RE.match(part) or part in (".", ".."):
            raise ValueError(
                f"part name {part!r}: use letters, digits, '.', '_' and '-' (e.g. 'cell-003')"
            )
        return self.path / PARTS / part

    def chunk_files(self, part: str) -> dict[int, Path]:
        d = self._part_dir(part)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return {}
        out = {}
        for name in names:
            m = _CHUNK_RE.match(name)
            if m:
                out[int(m.group(1))] = d / name
        return out

    def done(self, part: str) -> set[int]:
        """Indices of the chunks of ``part`` already stored (complete files only)."""
        return set(self.chunk_files(part))

    def write_chunk(self, part: str, index: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Store chunk ``index`` of ``part`` atomically as ``parts/<part>/chunk-<index>.npz``.

        Args:
          part: part name, e.g. ``"cell-003"`` (letters, digits, ``.``, ``_``, ``-``).
          index: chunk index ``>= 0``.
          arrays: name -> array; arrays of one part should share their leading (trial) axis.
            Object arrays are refused (chunks are loaded with ``allow_pickle=False``).

        A crash at any point leaves either the complete new file or no file (an existing chunk
        file is replaced atomically).
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"chunk index must be an integer >= 0, got {index!r}")
        plain = {}
        for key, value in arrays.items():
            if not isinstance(key, str) or not key or key in _RESERVED_KEYS:
                raise ValueError(f"array name {key!r} cannot be stored in an .npz chunk")
            arr = np.asarray(value)
            if arr.dtype.hasobject:
                raise TypeError(f"array {key!r} has dtype object; store plain numeric arrays")
            if arr.ndim == 0:
                raise ValueError(f"array {key!r} is a scalar; chunks are concatenated along axis 0")
            plain[key] = arr
        d = self._part_dir(part)
        d.mkdir(parents=True, exist_ok=True)
        _atomic_write(d / f"chunk-{int(index):06d}.npz", lambda f: np.savez(f, **plain))

    def load(self, part: str) -> dict[str, np.ndarray]:
        """All stored chunks of ``part`` concatenated along axis 0 in index order.

        Returns ``{}`` when nothing is stored yet.

        Raises:
          ConfigError: chunks ``0..k`` are not all present (a gap), a chunk file is corrupt, or
            chunks disagree on their array names.
        """
        files = self.chunk_files(part)
        if not files:
            return {}
        missing = sorted(set(range(max(files) + 1)) - set(files))
        if missing:
            raise ConfigError(
                f"{self._part_dir(part)}: chunk(s) {missing[:5]} missing before chunk "
                f"{max(files)}; re-run to compute them"
            )
        chunks = []
        for i in sorted(files):
            try:
                with np.load(files[i], allow_pickle=False) as z:
                    chunks.append({k: z[k] for k in z.files})
                bad = [k for k, v in chunks[-1].items() if not isinstance(v, np.ndarray)]
                if bad:
                    raise ValueError(f"{bad[0]!r} is not an .npy array")
            except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, EOFError, ...
                raise ConfigError(
                    f"corrupt chunk file {files[i]} ({type(e).__name__}: {e}); delete it and "
                    "re-run to recompute it"
                ) from None
            if set(chunks[-1]) != set(chunks[0]):
                raise ConfigError(
                    f"{files[i]} holds arrays {sorted(chunks[-1])}, "
                    f"chunk 0 holds {sorted(chunks[0])}"
                )
        try:
            return {k: np.concatenate([c[k] for c in chunks], axis=0) for k in chunks[0]}
        except ValueError as e:
            raise ConfigError(f"{self._part_dir(part)}: chunks do not fit together ({e})") from None

    def parts(self) -> list[str]:
        """Names of the parts that have a directory (possibly with no finished chunk yet)."""
        try:
            return sorted(p.name for p in (self.path / PARTS).iterdir() if p.is_dir())
        except FileNotFoundError:
            return []

    # -- manifest ----------------------------------------------------------------------------

    def update(self, **fields) -> None:
        """Merge ``fields`` into the manifest and rewrite ``manifest.json`` atomically.

        Under ``jax.distributed`` only process 0 writes the file; the others keep the merged copy.
        """
        manifest = {**self.manifest, **fields}
        if distributed.is_leader():
            _write_json(self.path / MANIFEST, manifest)
        self.manifest = manifest

    def finish(self, **fields) -> None:
        """Mark the run complete: ``update(status="complete", finished=<ISO time>, **fields)``."""
        self.update(status="complete", finished=_now(), **fields)

    def close(self) -> None:
        """Release the directory lock (also released when the process exits)."""
        key = os.path.realpath(self.path)
        fd = _HELD.pop(key, None)
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cannot_write(path: Path, e: OSError) -> ConfigError:
    reason = e.strerror or str(e)
    if isinstance(e, NotADirectoryError) or (e.errno == errno.EEXIST and not path.is_dir()):
        reason = "a file of that name (or of a parent directory's name) exists"
    return ConfigError(f"cannot write to {path}: {reason}")


def _lock(path: Path) -> None:
    """Take an exclusive ``flock`` on ``DIR/.lock`` for this process (re-entrant)."""
    key = os.path.realpath(path)
    if key in _HELD:
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        return
    fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"{path} is being written by another running process; wait for it or use another --out"
        ) from None
    except OSError:  # a file system without flock: go on unlocked
        os.close(fd)
        return
    _HELD[key] = fd


def open_run(
    out_dir: str | os.PathLike, manifest: Mapping, *, overwrite: bool = False
) -> ResultStore:
    """Open (create or resume) the run directory ``out_dir`` for the config in ``manifest``.

    Under ``jax.distributed`` process 0 opens (and locks) the directory as below; the other
    processes then read its manifest, and write only their own chunk files (:func:`run_trials`).

    Args:
      out_dir: the run directory; created with its parents if missing.
      manifest: JSON-able, at least ``{"config": ...}``. Added: ``config_hash``,
        ``package_version``, ``stream_version``, ``jax_version``, ``numpy_version``, ``device``, ``created``,
        ``status="running"``, ``parts`` (per-part records of :func:`run_trials`) and ``history``
        (one entry per creation or resume, with the versions and device of that session).
      overwrite: remove the old results of a *different* config (or a corrupt manifest) first.

    Returns:
      A :class:`ResultStore`. On resume (same ``config_hash``), the finished chunks, ``created`` and
      ``parts`` are kept, and ``store.warning`` says whether they came from another version.

    Raises:
      ConfigError: ``out_dir`` holds results of a different config, or of another
        :data:`~jaxnn_nonconv.engine.STREAM_VERSION` (``stream_version``; 1 when not recorded),
        and ``overwrite`` is false;
        ``out_dir`` is not empty and holds no manifest (never cleared, even with ``overwrite``:
        it may be a directory of the user's own files); another process is writing ``out_dir``;
        ``out_dir`` cannot be created or written.
    """
    if "config" not in manifest:
        raise ValueError("manifest needs a 'config' entry")
    return distributed.leader_first(
        lambda: _open_run(Path(out_dir), manifest, overwrite),
        lambda: ResultStore(Path(out_dir), read_manifest(out_dir)),
    )


def _open_run(path: Path, manifest: Mapping, overwrite: bool) -> ResultStore:
    manifest = json.loads(json.dumps(dict(manifest)))  # a detached, JSON-able copy
    new_hash = run_hash(manifest["config"])
    try:
        path.mkdir(parents=True, exist_ok=True)
        entries = [n for n in os.listdir(path) if not _ours(n)]
    except OSError as e:
        raise _cannot_write(path, e) from None

    old = None
    if MANIFEST in entries:
        try:
            old = read_manifest(path)
        except ConfigError as e:
            if not overwrite:
                raise ConfigError(f"{e}; use --overwrite to replace it or another --out") from None
            old = {"config_hash": "corrupt"}
        else:
            old["config_hash"] = _stored_hash(old)
    elif entries:
        raise ConfigError(
            f"{path} is not empty and holds no {MANIFEST} (not a results directory); "
            "choose another --out (it is never cleared, even with --overwrite)"
        )
    if old is not None and old.get("config_hash") != new_hash and not overwrite:
        raise ConfigError(
            f"{path} holds results of a different config (hash {str(old.get('config_hash'))[:12]} "
            f"vs {new_hash[:12]}); use --overwrite or another --out"
        )
    if old is not None and old.get("config_hash") == new_hash:
        _check_growth(path, old.get("config"), manifest["config"])
    stream = None if old is None else old.get("stream_version", 1)  # 1: before it was recorded
    if stream is not None and stream != engine.STREAM_VERSION and not overwrite:
        raise ConfigError(
            f"{path} holds results of training stream version {stream}, this is version "
            f"{engine.STREAM_VERSION}: resuming would mix trials computed two ways; use --overwrite "
            "to recompute them, another --out, or the jaxnn_nonconv version that wrote them"
        )

    try:
        _lock(path)
        stale = old is not None and stream != engine.STREAM_VERSION
        if old is not None and (old.get("config_hash") != new_hash or stale):  # overwrite
            for name in os.listdir(path):
                if name == LOCK:
                    continue
                p = path / name
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            old = None
        _remove_tmp(path)
        parts_dir = path / PARTS
        if parts_dir.is_dir():
            for d in parts_dir.iterdir():
                if d.is_dir():
                    _remove_tmp(d)

        env = _environment()
        now = _now()
        resumed = old is not None
        if resumed:
            record = {
                **old,
                **manifest,
                "created": old.get("created", now),
                "parts": old.get("parts", {}),
                "history": [*old.get("history", []), {"event": "resumed", "time": now, **env}],
            }
            warning = check_version(old)
        else:
            record = {**manifest, "created": now, "parts": {}}
            record["history"] = [{"event": "created", "time": now, **env}]
            warning = None
        record.update(env, config_hash=new_hash, status="running")
        record.pop("finished", None)
        _write_json(path / MANIFEST, record)
    except OSError as e:
        raise _cannot_write(path, e) from None
    return ResultStore(path, record, resumed=resumed, warning=warning)


def _check_growth(path: Path, old_config, new_config) -> None:
    """Refuse fewer trials than stored: a run grows, it never drops finished trials."""
    if not (isinstance(old_config, Mapping) and isinstance(new_config, Mapping)):
        return
    for key in GROWABLE:
        old, new = old_config.get(key), new_config.get(key)
        if isinstance(old, int) and isinstance(new, int) and new < old:
            raise ConfigError(
                f"{path} holds {key} = {old}; {new} would drop finished trials (runs grow, never "
                f"shrink): ask for {key} >= {old}, or use --overwrite or another --out"
            )
