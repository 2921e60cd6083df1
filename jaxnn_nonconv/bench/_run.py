"""Running a benchmark plan and the command line of ``jaxnn-nonconv bench``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from jaxnn_nonconv import stats
from jaxnn_nonconv.bench._machine import _loadavg, machine_info, peak_flops, probe, roofline
from jaxnn_nonconv.bench._measure import measure, measure_in_subprocess, now, run_worker
from jaxnn_nonconv.bench._report import _describe, format_report, plot, summarize
from jaxnn_nonconv.bench._workload import (
    ACCELERATOR_CHUNK,
    ARCH,
    BATCH,
    BOX,
    CPU_CHUNK,
    FULL,
    IMPLS,
    LEARNING_RATES,
    QUICK,
    TARGET,
    TORCH_IMPLS,
    Plan,
    Spec,
    bytes_per_net_step,
    flops_per_net_step,
)


def plan_specs(
    plan: Plan, *, seed: int = 0, chunk_size: int | None = None, cpu_devices: int | None = None
) -> list[Spec]:
    """The measurements of ``plan``, in order (smallest ``n`` first)."""
    specs = []
    for impl in plan.impls:
        ns = plan.ns + (plan.engine_ns if impl == "engine" else ())
        for n in sorted(set(ns)):
            for o in plan.optimizers:
                specs.append(
                    Spec(impl, o, n, plan.steps, seed, plan.budget_s, chunk_size, cpu_devices)
                )
    return specs


def run_benchmark(
    plan: Plan,
    *,
    seed: int = 0,
    chunk_size: int | None = None,
    cpu_devices: int | None = None,
    in_process: bool = False,
    probe_machine: bool = True,
    probe_kw: dict | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run ``plan``; return the report (the JSON written by ``--out`` and printed by ``--json``).

    Keys: ``machine``, ``peak``, ``measured`` (:func:`jaxnn_nonconv.bench._machine.probe`, run first
    in its own subprocess; ``None`` when ``probe_machine`` is false), ``workload``, ``results``
    (one entry per measurement: ``impl``, ``optimizer``, ``n``, ``steps``, ``net_steps_per_s``,
    ``compile_s``, ``peak_mem_mb``, ``measured_trials``, ``extrapolated``, ``fraction_of_peak``
    and the :func:`jaxnn_nonconv.bench._machine.roofline` fields ``gflops``, ``gbytes_per_s``,
    ``fraction_of_matmul``, ``fraction_of_bandwidth``, ``roofline_net_steps_per_s``,
    ``fraction_of_roofline``, ...), ``ratios``,
    ``targets``, ``notes``.
    """
    log = log or (lambda s: None)
    notes = []
    skipped = {}
    if importlib.util.find_spec("torch") is None:
        skipped = {i: "PyTorch is not installed" for i in plan.impls if i in TORCH_IMPLS}
    if skipped:
        notes.append(f"PyTorch is not installed: {', '.join(skipped)} skipped")
    plan = dataclasses.replace(plan, impls=tuple(i for i in plan.impls if i not in skipped))
    machine = machine_info()
    peak = peak_flops()
    specs = plan_specs(plan, seed=seed, chunk_size=chunk_size, cpu_devices=cpu_devices)
    results = []
    t_start = now()
    measured = _probe(in_process, log, probe_kw or {}) if probe_machine else None
    for k, spec in enumerate(specs, 1):
        try:
            r = measure(spec) if in_process else measure_in_subprocess(spec)
        except Exception as e:  # record it and go on with the other measurements
            r = {**dataclasses.asdict(spec), "error": f"{type(e).__name__}: {e}"}
            log(f"[{k}/{len(specs)}] {spec.impl} {spec.optimizer} N={spec.n}: FAILED {r['error']}")
            results.append(r)
            continue
        r.update(roofline(r, spec.optimizer, measured))
        r["fraction_of_peak"] = r["gflops"] / peak["gflops"] if peak["gflops"] else None
        results.append(r)
        log(f"[{k}/{len(specs)}] {_describe(r)}")
    machine["load_average_end"] = _loadavg()
    ratios, targets = summarize(results, plan)
    if plan.mode == "quick":
        notes.append(
            f"quick mode: {plan.steps} steps per trial, N in {list(plan.ns)} (engine also "
            f"{list(plan.engine_ns)}), {plan.budget_s:g} s per measurement; ratios are at "
            f"N={ratios['n']}"
        )
    notes.append(
        "engine trials also evaluate the initial and final risk on 8192 fresh samples and record "
        "16 losses and gradient norms; the other implementations only train"
    )
    notes.append(
        "jax_loop and torch_loop time a subset of the trials (measured_trials) within "
        f"{plan.budget_s:g} s per measurement and extrapolate net-steps/s to n; work done in less "
        "time is repeated while the budget lasts and the median pass is kept (passes)"
    )
    return {
        "benchmark": "jaxnn-nonconv bench",
        "mode": plan.mode,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_s": now() - t_start,
        "machine": machine,
        "peak": peak,
        "measured": measured,
        "workload": {
            "arch": list(ARCH),
            "activation": "relu",
            "init": "pytorch (U(+-1/sqrt(fan_in)))",
            "target": TARGET,
            "box": list(BOX),
            "batch_size": BATCH,
            "steps": plan.steps,
            "learning_rates": {o: LEARNING_RATES[o] for o in plan.optimizers},
            "ns": list(plan.ns),
            "engine_ns": list(plan.engine_ns),
            "flops_per_net_step": {o: flops_per_net_step(o) for o in plan.optimizers},
            "bytes_per_net_step": {o: bytes_per_net_step(o) for o in plan.optimizers},
        },
        "results": results,
        "ratios": ratios,
        "targets": targets,
        "skipped": skipped,
        "notes": notes,
    }


def _probe(in_process: bool, log: Callable[[str], None], kw: dict) -> dict:
    """:func:`jaxnn_nonconv.bench._machine.probe` (in a subprocess unless ``in_process``); on failure
    a dict with ``error``, so the measurements still run."""
    try:
        measured = probe(**kw) if in_process else run_worker("_probe_main", kw, module="machine")
    except Exception as e:
        log(f"machine probe FAILED: {type(e).__name__}: {e}")
        return {"error": f"{type(e).__name__}: {e}"}
    log(
        f"machine: copy {measured['bandwidth_gb_s']:.3g} GB/s, "
        f"matmul {measured['matmul_gflops']:.4g} GFLOP/s ({measured['backend']})"
    )
    return measured


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"trial counts must be positive integers, got {text!r}")
    return values


def _positive(kind: type) -> Callable:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``jaxnn-nonconv bench`` (and ``python -m jaxnn_nonconv.bench``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (about 4 minutes on 2 cores, more under load): 1000 steps as the full "
        "run, but N = 1, 1000 (engine also 10^4) and a 3 s budget per measurement instead of "
        "N = 1, 100, 1000, 10^4 (engine also 10^5) and 6 s",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (progress goes to stderr)"
    )
    parser.add_argument("--out", metavar="DIR", help="write bench.json, bench.png, bench.svg here")
    parser.add_argument(
        "--impl",
        action="append",
        choices=IMPLS,
        help="implementation to run (repeat for several; default: all)",
    )
    parser.add_argument(
        "--optimizer",
        action="append",
        choices=tuple(LEARNING_RATES),
        help="optimizer to run (repeat for several; default: sgd and adam)",
    )
    parser.add_argument(
        "--trials", type=_counts, help="trial counts N for every implementation, e.g. 1,100,1000"
    )
    parser.add_argument(
        "--engine-trials", type=_counts, help="further trial counts for the engine alone"
    )
    parser.add_argument("--steps", type=_positive(int), help="optimizer steps per trial")
    parser.add_argument(
        "--chunk-size",
        type=_positive(int),
        help=f"engine trials per device per compiled call (default: {CPU_CHUNK} on CPU, "
        f"{ACCELERATOR_CHUNK} on GPU/TPU, fewer when N is small)",
    )
    parser.add_argument(
        "--budget",
        type=_positive(float),
        help="seconds per measurement of the per-trial loops, which time a subset of the trials "
        f"and extrapolate (default {FULL.budget_s:g}; quick {QUICK.budget_s:g})",
    )
    parser.add_argument(
        "--cpu-devices",
        type=_positive(int),
        help="simulate this many JAX CPU devices; the engine shards its chunks over them "
        "(default: JAX's one device, whose large operations already use every core)",
    )
    parser.add_argument("--seed", type=int, default=0, help="trial seed (default 0)")
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="skip measuring the machine's copy bandwidth and matmul throughput (no roofline)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process instead of one subprocess per measurement (starts faster; "
        "peak memory then includes what earlier measurements left allocated)",
    )


def plan_from_args(args) -> Plan:
    """The :class:`Plan` selected by parsed ``args``."""
    plan = QUICK if args.quick else FULL
    changes = {
        "impls": tuple(dict.fromkeys(args.impl)) if args.impl else None,
        "optimizers": tuple(dict.fromkeys(args.optimizer)) if args.optimizer else None,
        "ns": args.trials,
        "engine_ns": args.engine_trials,
        "steps": args.steps,
        "budget_s": args.budget,
    }
    return dataclasses.replace(plan, **{k: v for k, v in changes.items() if v is not None})


def main_from_args(args) -> int:
    """Run the benchmark selected by ``args`` (from :func:`add_arguments`); return the exit code:
    0, or 1 when a measurement failed."""
    plan = plan_from_args(args)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    n_meas = len(plan_specs(plan))
    log(f"bench ({plan.mode}): {n_meas} measurements, one subprocess each; progress below")
    report = run_benchmark(
        plan,
        seed=args.seed,
        chunk_size=args.chunk_size,
        cpu_devices=args.cpu_devices,
        in_process=args.in_process,
        probe_machine=not args.no_probe,
        log=log,
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(stats.dumps_json(report, indent=2) + "\n")
        paths = plot(report, out / "bench")
        log(f"wrote {out / 'bench.json'}, {', '.join(str(p) for p in paths)}")
    if args.json:
        print(stats.dumps_json(report, indent=2))
    else:
        print(format_report(report))
    return 1 if any("error" in r for r in report["results"]) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m jaxnn_nonconv.bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m jaxnn_nonconv.bench", description=sys.modules["jaxnn_nonconv.bench"].__doc__
    )
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))
