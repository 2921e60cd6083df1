"""How long a command takes the first time and the second time (the persistent compilation cache).

Runs each command twice in fresh processes with an empty cache directory
(``JAXNN_NONCONV_CACHE``): the first run compiles and fills the cache, the second loads its
programs. Prints one JSON line per command: wall seconds and CPU seconds (user + system of the
child process) of each run. The cache is on by default for every command (``cli.setup_jax``); the
aim is a second run of the same shapes in under 3 s on a quiet machine. (The durations the docs
pages quote are measured by ``docs/timings.py``, not here.)

Example::

    python -m benchmarks.cli_startup                     # every command, first vs second run
    python -m benchmarks.cli_startup --only estimate     # one of them
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS = {
    "estimate": ["estimate", "--arch", "1,32,1", "--trials", "10000"],
    "estimate_d3": ["estimate", "--arch", "3,16,16,1", "--box=-1:1", "--trials", "2000"],
    "train": ["train", "--arch", "1,8,1", "--steps", "200", "--trials", "256"],
    "advise_small": ["advise", "--arch", "2,8,8,1", "--box=-1:1", "--trials", "256"],
}


def timed(argv: list[str], cache: str) -> dict[str, float]:
    """Wall and CPU seconds of ``python -m jaxnn_nonconv.cli ARGV`` in a fresh process."""
    env = {**os.environ, "JAXNN_NONCONV_CACHE": cache, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "jaxnn_nonconv.cli", *argv],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{argv}: exit {out.returncode}: {out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated names of commands to run")
    args = p.parse_args(argv)
    commands = dict(COMMANDS)
    if args.only:
        commands = {k: v for k, v in commands.items() if k in args.only.split(",")}
    for name, cmd in commands.items():
        with tempfile.TemporaryDirectory() as tmp:
            cache = str(Path(tmp) / "cache")
            first = timed(cmd, cache)
            second = timed(cmd, cache)
            print(json.dumps({"command": name, "argv": cmd, "first": first, "second": second}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
