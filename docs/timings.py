"""Measure the durations the docs pages quote, on this machine, into docs/timings.json.

A page quotes a measured duration as the number right before a ``<!-- timing KEY -->`` comment
(``takes 61<!-- timing advise.cpu_s --> s of CPU time``); ``tests/pages/test_docs_pages.py``
checks that every such number is ``docs/timings.json``'s value of ``KEY`` as :func:`shown` writes
it, and ``python docs/timings.py --pages`` rewrites the numbers on the pages from the JSON
(without measuring again). Measuring runs the commands the pages name, each in a fresh process
with the persistent compilation cache off (a first run, as a newcomer's), and records process CPU
seconds (user + system of the command and its children) and wall seconds, with the machine (CPU
model, cores, load average before the run) next to them. The whole measurement takes about as long
as the commands (about half an hour of CPU on a 2-core machine today).

Usage::

    python docs/timings.py                # measure everything, write docs/timings.json and the pages
    python docs/timings.py advise         # measure one entry again (others kept)
    python docs/timings.py quick.a_priori # one shipped config at its quick size
    python docs/timings.py --pages        # rewrite the pages' numbers from the JSON only
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
JSON = DOCS / "timings.json"
TIMING = re.compile(r"(\d[\d.]*)(<!-- timing ([\w.-]+) -->)")

# name -> the command line (after ``jaxnn-nonconv``) a page quotes; "{tmp}" is a scratch directory.
COMMANDS = {
    "advise": ["advise", "--arch", "10,32,32,1", "--box=-0.11:0.2", "--trials", "2000"],
    "estimate_1e6": ["estimate", "--arch", "1,32,1", "--trials", "1000000", "--json"],
}
# Every shipped config at its quick size (docs/results.md quotes them): "quick.NAME".
CONFIGS = sorted(p.stem for p in (REPO / "experiments").glob("*.toml"))
for _name in CONFIGS:
    COMMANDS[f"quick.{_name}"] = ["run", f"experiments/{_name}.toml", "--out", f"{{tmp}}/{_name}"]
# The gradient-flow config is run by its own module, not by ``jaxnn-nonconv run``.
COMMANDS["quick.gradient_flow"] = [
    "-m",
    "jaxnn_nonconv.flow",
    "experiments/gradient_flow.toml",
    "--out",
    "{tmp}/gradient_flow",
]

# The per-call cost of models.make_monitor's jitted function, after compilation (docs/your-model.md).
MONITOR = """
import time, jax, numpy as np
from jaxnn_nonconv import models
from jaxnn_nonconv.core import nets
out = {}
for name, arch, box in (("10-32-32-1", (10, 32, 32, 1), [(-0.11, 0.2)] * 10),
                        ("784-256-256-10", (784, 256, 256, 10), [(0.0, 1.0)] * 784),
                        ("1-64-64-64-1", (1, 64, 64, 64, 1), [(0.0, 2.0)])):
    mon = models.make_monitor(box)
    params = nets.init_params(jax.random.key(0), arch, init="pytorch")
    jax.block_until_ready(mon(params))
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < 2.0:
        jax.block_until_ready(mon(params)); n += 1
    out[name] = 1e3 * (time.process_time() - t0) / n
print(json.dumps(out))
"""


def machine() -> dict:
    """The CPU model, core count and load average: what a duration depends on."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform()}


def _run(argv: list[str]) -> dict:
    """Run ``argv`` in a fresh process; its CPU seconds (children's user + system) and wall."""
    env = {**os.environ, "JAXNN_NONCONV_CACHE": "", "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": cpu, "wall_s": wall, "load_before": load, "stdout": done.stdout}


def measure(name: str) -> dict:
    """One entry of docs/timings.json."""
    if name == "monitor_ms":
        r = _run([sys.executable, "-c", "import json\n" + MONITOR])
        return {**json.loads(r["stdout"]), "command": "models.make_monitor(box)(params)"}
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.replace("{tmp}", tmp) for a in COMMANDS[name]]
        module = [] if args[0] == "-m" else ["-m", "jaxnn_nonconv.cli"]
        r = _run([sys.executable, *module, *args])
    shown_command = " ".join(COMMANDS[name]).replace("{tmp}/", "runs/")
    entry = {
        "command": ("python " if module == [] else "jaxnn-nonconv ") + shown_command,
        "cpu_s": r["cpu_s"],
        "wall_s": r["wall_s"],
        "load_before": r["load_before"],
    }
    if name == "estimate_1e6":
        entry["inner_wall_s"] = json.loads(r["stdout"])["wall_s"]
    return entry


def shown(value: float) -> str:
    """How a page writes a duration: 2 significant digits, whole numbers from 10 up."""
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}" if value >= 0.1 else f"{value:.1g}"


def lookup(data: dict, key: str) -> float:
    """``data["a"]["b"]`` for the key ``a.b``."""
    for part in key.split("."):
        data = data[part]
    return float(data)


def rewrite_pages(data: dict) -> None:
    """Put the JSON's values into every page's timing comments."""
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        new = TIMING.sub(lambda m: shown(lookup(data, m.group(3))) + m.group(2), text)
        if new != text:
            page.write_text(new)


def main(argv: list[str]) -> int:
    data = json.loads(JSON.read_text()) if JSON.exists() else {}
    if "--pages" not in argv:
        names = [a for a in argv if not a.startswith("-")] or [*COMMANDS, "monitor_ms"]
        for name in names:
            entry = measure(name)
            entry["machine"] = machine()
            entry["date"] = datetime.date.today().isoformat()
            *outer, last = name.split(".")  # "quick.NAME" is data["quick"]["NAME"], as lookup reads
            node = data
            for part in outer:
                node = node.setdefault(part, {})
            node[last] = entry
            print(name, json.dumps(entry), file=sys.stderr)
            JSON.write_text(json.dumps(data, indent=2) + "\n")
    rewrite_pages(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
