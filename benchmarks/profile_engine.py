"""Where the engine's time goes: compile vs run, and the run split into RNG, matmuls, reductions,
elementwise fusions and the rest, from a profiler trace of one compiled chunk.

``python -m benchmarks.profile_engine [--optimizer sgd] [--chunk 256] [--steps 1000] [--json]``

Method: the chunk program of :func:`jaxnn_nonconv.engine.run` is compiled (timed), run once to warm
up and timed over ``--repeat`` calls, then run once more under :func:`jax.profiler.trace`. XLA's CPU
runtime records one trace event per executed HLO instruction (a fusion, a dot, a loop); each
event's self time (its duration minus that of the events nested in it) is put in a category by the
instruction's optimized HLO:

* ``rng``: anything inside a threefry loop (JAX lowers threefry on CPU as a rolled 5-iteration
  ``while``), and fusions with 32-bit shifts (threefry rounds, bits-to-float conversion);
* ``matmul``: ``dot`` instructions and fusions containing one;
* ``reduction``: fusions containing a ``reduce`` (sums over the batch: bias gradients, the loss);
* ``elementwise``: the other fusions (activations, masks, optimizer updates);
* ``other``: copies, loop bookkeeping, parameter and tuple handling.

Profiling adds a constant cost per event, so the shares are of the profiled run; the unprofiled
time is printed next to them.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import sys
import tempfile
import time

CATEGORIES = ("rng", "matmul", "reduction", "elementwise", "other")
# "  %name = <type, which may hold '=' and '('> opcode(operands), attributes"
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (.*?)\s([a-z][a-z0-9\-]*)\(")


def hlo_categories(hlo_text: str) -> tuple[dict[str, str], set[str]]:
    """``(category of each instruction name, names of threefry while loops)`` from optimized HLO."""
    computations: dict[str, list[str]] = {}
    current = None
    for line in hlo_text.splitlines():
        head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
        if head and not line.startswith(" "):
            current = head.group(1)
            computations[current] = []
        elif current is not None and line.startswith("  "):
            computations[current].append(line)

    def opcodes(comp: str, seen: frozenset = frozenset()) -> set[str]:
        ops = set()
        for line in computations.get(comp, ()):
            m = _INSTRUCTION.match(line)
            if m:
                ops.add(m.group(3))
            for callee in re.findall(r"(?:calls|to_apply)=%?([\w.\-]+)", line):
                if callee not in seen:
                    ops |= opcodes(callee, seen | {comp})
        return ops

    category: dict[str, str] = {}
    rng_loops: set[str] = set()
    for lines in computations.values():
        for line in lines:
            m = _INSTRUCTION.match(line)
            if not m:
                continue
            name, out_type, op = m.groups()
            integer_out = "u32[" in out_type and "f32[" not in out_type and "f64[" not in out_type
            called = re.findall(r"(?:calls|body)=%?([\w.\-]+)", line)
            inner = set().union(*(opcodes(c) for c in called)) if called else set()
            shifts = {"shift-left", "shift-right-logical"} & (inner | {op})
            if op == "while":  # a threefry loop: shifts in its body, no loop nested in it
                if shifts and "while" not in inner:
                    rng_loops.add(name)
                category[name] = "rng" if name in rng_loops else "other"
            elif shifts and integer_out:  # threefry rounds (random bits are uint32)
                category[name] = "rng"
            elif op == "dot" or (op == "fusion" and "dot" in inner):
                category[name] = "matmul"
            elif op == "fusion" and "reduce" in inner:
                category[name] = "reduction"
            elif op == "fusion":
                category[name] = "elementwise"
            else:
                category[name] = "other"
    return category, rng_loops


def self_times(events: list[dict]) -> list[tuple[dict, float, list[str]]]:
    """``(event, self time in us, names of enclosing events)`` of complete (``X``) trace events."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[(e.get("pid"), e.get("tid"))].append(e)
    out = []
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack: list[list] = []  # [event, child time]
        done = []
        for e in evs:
            while stack and e["ts"] >= stack[-1][0]["ts"] + stack[-1][0]["dur"]:
                done.append(stack.pop())
            ancestors = [s[0]["name"] for s in stack]
            if stack:
                stack[-1][1] += e["dur"]
            stack.append([e, 0.0, ancestors])
        done.extend(stack)
        out.extend((e, max(e["dur"] - child, 0.0), anc) for e, child, anc in done)
    return out


def profile(optimizer: str = "sgd", chunk: int = 256, steps: int = 1000, repeat: int = 3) -> dict:
    """Compile and run one engine chunk; return timings and the per-category breakdown."""
    import jax
    import jax.numpy as jnp

    from jaxnn_nonconv import bench
    from jaxnn_nonconv.engine import _driver as driver, _kernel as kernel

    jax.config.update("jax_enable_compilation_cache", False)
    cfg = bench.engine_config(optimizer, steps)
    fn = driver._compiled_chunk(cfg, chunk)
    args = (
        jax.random.key(0),
        jnp.arange(chunk, dtype=jnp.uint32),
        jnp.full(chunk, cfg.learning_rate, jnp.float32),
    )
    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        runs.append(time.perf_counter() - t0)
    category, rng_loops = hlo_categories(compiled.as_text())
    with tempfile.TemporaryDirectory() as d:
        with jax.profiler.trace(d, create_perfetto_trace=True):
            t0 = time.perf_counter()
            jax.block_until_ready(compiled(*args))
            profiled_s = time.perf_counter() - t0
        (path,) = glob.glob(f"{d}/**/perfetto_trace.json.gz", recursive=True)
        with gzip.open(path) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    timed = [
        (e, self_us, ancestors)
        for e, self_us, ancestors in self_times(events)
        if e["name"] in category  # not the runtime's own events (executor, Python)
    ]
    # Per-step work runs `steps` times or more, the drawing of a block of steps' batches
    # steps / draw_block times (the chunk / 8 evaluation blocks usually fewer); work done once
    # (initialization, evaluation, a single block's drawing) is outside the loop.
    per_block = max(2, steps // kernel.draw_block(steps, kernel.block_limit(chunk, cfg.batch_size)))
    counts = collections.Counter(e["name"] for e, _, _ in timed)
    totals = collections.Counter()
    in_loop = 0.0
    for e, self_us, ancestors in timed:
        cat = "rng" if any(a in rng_loops for a in ancestors) else category[e["name"]]
        totals[cat] += self_us / 1e6
        if counts[e["name"]] >= per_block:
            in_loop += self_us / 1e6
    total = sum(totals.values())
    return {
        "optimizer": optimizer,
        "chunk": chunk,
        "steps": steps,
        "compile_s": compile_s,
        "run_s": min(runs),
        "net_steps_per_s": chunk * steps / min(runs),
        "profiled_run_s": profiled_s,
        "seconds": {c: totals[c] for c in CATEGORIES},
        "share": {c: totals[c] / total if total else None for c in CATEGORIES},
        "training_loop_share": in_loop / total if total else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_engine", description=__doc__
    )
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    parser.add_argument("--chunk", type=int, default=256, help="trials in the chunk (default 256)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (the fastest is kept)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    r = profile(args.optimizer, args.chunk, args.steps, args.repeat)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(
        f"{r['optimizer']}, chunk {r['chunk']}, {r['steps']} steps: compile {r['compile_s']:.2f} s, "
        f"run {r['run_s']:.3f} s ({r['net_steps_per_s']:.3g} net-steps/s); "
        f"profiled run {r['profiled_run_s']:.3f} s:"
    )
    for c in CATEGORIES:
        print(f"  {c:<12} {r['seconds'][c]:8.3f} s  {100 * r['share'][c]:5.1f} %")
    print(
        f"  the training loop (all categories) takes {100 * r['training_loop_share']:.1f} %; "
        "the rest is initialization and the evaluation on the eval sample"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
