"""Many processes, one run: JAX's multi-controller runtime (``jax.distributed``) over chunks.

Every process runs the same program. Trials are computed in chunks (:mod:`.train`), and process
``p`` of ``P`` computes the chunks ``c`` with ``c % P == p`` (then spreads them over its own local
devices). Since a trial's result depends only on its key ``fold_in(key(seed), i)`` and the chunk
shape, the merged results are bit-identical to a one-process run. Two ways to merge:

* in memory (``train``, ``estimate``): :func:`merge_chunks` gathers every process's chunks, in chunk
  order, onto every process (through the runtime's collectives: Gloo on CPU, NCCL on GPU, ICI on
  TPU); only process 0 prints;
* through a store (``run``): every process writes its own chunk files into one directory (a shared
  file system; chunk files are written atomically), process 0 alone writes the manifest, and
  :func:`leader_first` keeps the processes in step.

With one process every function here is a no-op (no runtime is needed). See ``docs/scaling.md``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from jaxnn_nonconv.errors import ConfigError

T = TypeVar("T")
DISABLE_ENV = "JAXNN_NONCONV_NO_DISTRIBUTED"
PEER_TIMEOUT = 300.0  # seconds to wait for the other processes (--peer-timeout)


def add_flags(parser) -> None:
    """Add ``--coordinator``, ``--num-processes`` and ``--process-id`` to an ``argparse`` parser."""
    g = parser.add_argument_group(
        "multi-process (jax.distributed; detected automatically under Slurm and on TPU pods)"
    )
    g.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordinator")
    g.add_argument("--num-processes", type=int, metavar="N", help="number of processes")
    g.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1")
    g.add_argument(
        "--peer-timeout",
        type=float,
        metavar="SECONDS",
        default=PEER_TIMEOUT,
        help="give up (exit 2) when the other processes have not all connected after this "
        f"long (default {PEER_TIMEOUT:g})",
    )


def _auto_detected(environ: Mapping[str, str]) -> bool:
    """Whether the environment is a multi-process job that ``jax.distributed.initialize()`` can
    configure by itself: a Slurm step (``srun``) of several tasks, a GKE TPU slice of several hosts,
    or an explicit ``JAX_COORDINATOR_ADDRESS``. (On Cloud TPU VMs JAX connects the hosts itself.)

    >>> _auto_detected({"SLURM_STEP_NODELIST": "n[1-2]", "SLURM_NTASKS": "4"})
    True
    >>> _auto_detected({"SLURM_NTASKS": "4"}), _auto_detected({"SLURM_STEP_NODELIST": "n1"})
    (False, False)
    >>> _auto_detected({"TPU_WORKER_HOSTNAMES": "h0,h1"}), _auto_detected({})
    (True, False)
    """
    if environ.get(DISABLE_ENV):
        return False
    if environ.get("JAX_COORDINATOR_ADDRESS"):
        return True
    tasks = environ.get("SLURM_NTASKS", "")
    if "SLURM_STEP_NODELIST" in environ and tasks.isdigit() and int(tasks) > 1:
        return True
    return "," in environ.get("TPU_WORKER_HOSTNAMES", "")


def check_flags(coordinator, num_processes, process_id) -> tuple | None:
    """Validate the three flags: ``None`` (none given) or ``(address, n, i)``.

    Raises:
      ConfigError: only some are given, or a value is out of range.

    >>> check_flags(None, None, None) is None
    True
    >>> check_flags("127.0.0.1:1234", 2, 1)
    ('127.0.0.1:1234', 2, 1)
    """
    given = [v is not None for v in (coordinator, num_processes, process_id)]
    if not any(given):
        return None
    if not all(given):
        raise ConfigError("--coordinator, --num-processes and --process-id go together")
    host, _, port = str(coordinator).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--coordinator must be HOST:PORT, got {coordinator!r}")
    if num_processes < 1:
        raise ConfigError(f"--num-processes must be a positive integer, got {num_processes}")
    if not 0 <= process_id < num_processes:
        raise ConfigError(f"--process-id must be in 0..{num_processes - 1}, got {process_id}")
    return str(coordinator), num_processes, process_id


def initialize(
    coordinator=None, num_processes=None, process_id=None, environ=None, timeout=PEER_TIMEOUT
) -> bool:
    """Start ``jax.distributed`` from the flags, or from the environment when JAX can detect it.

    Must run before any JAX array exists. Returns whether the runtime was started. Set
    ``JAXNN_NONCONV_NO_DISTRIBUTED=1`` to keep a process alone inside a Slurm step. While it waits
    for the other processes it says so on stderr; when they have not all connected after
    ``timeout`` seconds it prints one line and exits with code 2 (JAX itself would abort the
    process with a C++ stack trace, or wait for its own longer timeout).

    Raises:
      ConfigError: the flags are inconsistent, or ``timeout`` is not positive.
    """
    import jax

    flags = check_flags(coordinator, num_processes, process_id)
    environ = os.environ if environ is None else environ
    if flags is None and not _auto_detected(environ):
        return False
    if not timeout > 0:
        raise ConfigError(f"--peer-timeout must be a positive number of seconds, got {timeout}")
    if jax.distributed.is_initialized():
        return True
    if flags is not None and flags[1] == 1:
        return False
    if flags is None:
        whom = "the other processes of this job (detected from the environment)"
    else:
        others = ", ".join(str(i) for i in range(flags[1]) if i != flags[2])
        whom = f"process(es) {others} at {flags[0]} (process 0 runs the coordinator there)"
    print(
        f"process {'?' if flags is None else flags[2]}: waiting up to {timeout:g} s for {whom}",
        file=sys.stderr,
        flush=True,
    )
    watchdog = _watchdog(timeout, whom)
    try:
        jax_timeout = int(timeout) + 60  # ours fires first, with a readable message
        if flags is None:
            jax.distributed.initialize(initialization_timeout=jax_timeout)
        else:
            jax.distributed.initialize(
                flags[0],
                num_processes=flags[1],
                process_id=flags[2],
                initialization_timeout=jax_timeout,
            )
        _connect_quietly()
    finally:
        watchdog.cancel()
    return True


def _watchdog(timeout: float, whom: str):
    """A daemon timer that, after ``timeout`` seconds, prints one line and ends the process with
    exit code 2: the wait is inside JAX's C++ runtime, which a Python exception cannot interrupt."""
    import threading

    def give_up():
        print(
            f"jaxnn-nonconv: error: gave up after {timeout:g} s waiting for {whom}; start every "
            "process with the same --coordinator and --num-processes (ids 0..N-1), or raise "
            "--peer-timeout",
            file=sys.stderr,
            flush=True,
        )
        os._exit(2)

    timer = threading.Timer(timeout, give_up)
    timer.daemon = True
    timer.start()
    return timer


def _connect_quietly() -> None:
    """Connect the processes' collectives now, with stdout sent to stderr meanwhile: Gloo (CPU)
    prints a line to stdout when it connects, which would break ``--json`` output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        barrier("jaxnn_nonconv.connect")
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def process_index() -> int:
    """This process's index (0 without ``jax.distributed``)."""
    import jax

    return jax.process_index()


def process_count() -> int:
    """Number of processes (1 without ``jax.distributed``)."""
    import jax

    return jax.process_count()


def is_leader() -> bool:
    """Whether this is process 0, the one that writes manifests and prints."""
    return process_index() == 0


def my_chunks(chunks: Iterable[int]) -> list[int]:
    """This process's share of the chunk indices: those with ``c % process_count() == index``.

    >>> my_chunks(range(5))  # one process: all of them
    [0, 1, 2, 3, 4]
    """
    p, n = process_index(), process_count()
    return [c for c in chunks if c % n == p]


def _to_bytes(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return np.frombuffer(buf.getvalue(), np.uint8)


def _from_bytes(data: np.ndarray) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data.tobytes()), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _allgather_bytes(data: np.ndarray) -> list[np.ndarray]:
    """Every process's ``uint8`` buffer, in process order (lengths may differ)."""
    from jax.experimental import multihost_utils

    lengths = np.asarray(multihost_utils.process_allgather(np.array([data.size], np.int32)))
    padded = np.zeros(int(lengths.max()), np.uint8)
    padded[: data.size] = data
    gathered = np.asarray(multihost_utils.process_allgather(padded))
    return [gathered[p, : int(lengths[p, 0])] for p in range(len(lengths))]


def merge_chunks(local: Sequence[tuple[int, Mapping[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """Concatenate the chunks of all processes along axis 0, in chunk order, on every process.

    Args:
      local: this process's ``(chunk_index, arrays)`` pairs; arrays share their leading axis.

    Returns:
      ``name -> array``: all chunks of all processes, ordered by chunk index. The arrays travel as
      their ``.npy`` bytes, so every dtype (float64, int64, bool) arrives bit for bit.

    >>> merge_chunks([(1, {"a": np.array([2])}), (0, {"a": np.array([0, 1])})])["a"].tolist()
    [0, 1, 2]
    """
    pairs = [(int(c), dict(a)) for c, a in local]
    if process_count() > 1:
        index = np.array([c for c, _ in pairs], np.int64)
        mine = {"_chunk": index}
        for j, (_, arrays) in enumerate(pairs):
            mine.update({f"{j}/{k}": np.asarray(v) for k, v in arrays.items()})
        pairs = []
        for data in _allgather_bytes(_to_bytes(mine)):
            got = _from_bytes(data)
            for j, c in enumerate(got.pop("_chunk").tolist()):
                prefix = f"{j}/"
                pairs.append(
                    (c, {k[len(prefix) :]: v for k, v in got.items() if k.startswith(prefix)})
                )
    if not pairs:
        return {}
    pairs.sort(key=lambda ca: ca[0])
    return {k: np.concatenate([a[k] for _, a in pairs]) for k in pairs[0][1]}


def _broadcast_text(text: str) -> str:
    """Process 0's ``text`` on every process."""
    from jax.experimental import multihost_utils

    data = np.frombuffer(text.encode(), np.uint8)
    n = int(np.asarray(multihost_utils.broadcast_one_to_all(np.array([data.size], np.int32)))[0])
    padded = np.zeros(max(n, 1), np.uint8)
    padded[: min(n, data.size)] = data[:n]
    out = np.asarray(multihost_utils.broadcast_one_to_all(padded))[:n]
    return out.tobytes().decode()


def leader_first(fn: Callable[[], T], follow: Callable[[], T] | None = None) -> T:
    """Run ``fn`` on process 0 first, then ``follow`` (default ``fn``) on the other processes.

    Used for the steps only one process may do (create or update a manifest): the others wait, and
    if process 0 raised a :class:`ConfigError` they raise the same message instead of running.
    With one process this is ``fn()``.
    """
    if process_count() == 1:
        return fn()
    follow = fn if follow is None else follow
    if is_leader():
        try:
            out = fn()
        except BaseException as e:
            plain = isinstance(e, ConfigError)
            _broadcast_text(
                (str(e) or "error") if plain else f"process 0 failed: {type(e).__name__}: {e}"
            )
            raise
        _broadcast_text("")
        return out
    error = _broadcast_text("")
    if error:
        raise ConfigError(error)
    return follow()


def barrier(name: str) -> None:
    """Wait until every process reaches this point (no-op with one process)."""
    if process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
