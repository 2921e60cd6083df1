"""The benchmark's machinery at tiny sizes: its four implementations train the same networks (given
the same initial parameters and batches, they end at the same parameters), its FLOP count agrees
with XLA's own, and its report keeps the JSON contract with ratios computed from its results.

Float tolerances: the engine and the per-trial JAX loop differ only in batch shapes (XLA's summation
order), ``RTOL = 1e-5``; PyTorch's kernels differ from XLA's, and 20 steps compound it: ``TORCH_RTOL
= 1e-4`` relative to the parameters' scale (about 1).
"""

import json

import jax
import numpy as np
import pytest

from jaxnn_nonconv import bench, engine
from jaxnn_nonconv.core import nets, optim

STEPS = 20
TRIALS = 3
RTOL, ATOL = 1e-5, 1e-6
TORCH_RTOL, TORCH_ATOL = 1e-4, 1e-5
OPTIMIZERS = tuple(bench.LEARNING_RATES)


@pytest.fixture(scope="module", params=OPTIMIZERS)
def engine_run(request):
    """``(cfg, engine.run result)`` of the benchmark's engine setting, ``TRIALS`` trials."""
    cfg = bench.engine_config(request.param, STEPS)
    return cfg, engine.run(cfg, TRIALS, chunk_size=4, n_devices=1, progress=False)


def _batches(cfg, i):
    return tuple(np.asarray(a) for a in bench.engine_batches(cfg, 0, i))


def _check_trained(theta, res, i, rtol, atol):
    """``theta`` equals the engine's final parameters of trial ``i``, which training moved."""
    assert np.max(np.abs(res["params"][i] - res["params0"][i])) > 100 * (atol + rtol)
    np.testing.assert_allclose(theta, res["params"][i], rtol=rtol, atol=atol)


def test_engine_batches_are_the_engines(engine_run):
    """The batches handed to the other implementations are the ones the engine trained on: the
    engine's recorded first loss is the initial network's loss on batch 0."""
    cfg, res = engine_run
    for i in range(TRIALS):
        xs, ys = _batches(cfg, i)
        assert xs.shape == (STEPS, bench.BATCH, 1) and np.all((xs >= 0) & (xs <= 2))
        np.testing.assert_array_equal(ys, xs[..., 0] ** 2)
        params0 = nets.from_flat(res["params0"][i], bench.ARCH)
        loss0 = float(engine.mse(params0, xs[0], ys[0]))
        np.testing.assert_allclose(res["loss_traj"][i, 0], loss0, rtol=RTOL)


def test_jax_loop_equals_engine(engine_run):
    cfg, res = engine_run
    one = bench.make_jax_trial(cfg, seed=0)
    for i in range(TRIALS):
        theta, losses = one(np.uint32(i))
        _check_trained(np.asarray(theta), res, i, RTOL, ATOL)
        np.testing.assert_allclose(losses[-1], res["loss_traj"][i, -1], rtol=RTOL)


def test_torch_loop_equals_engine(engine_run):
    pytest.importorskip("torch")
    cfg, res = engine_run
    for i in range(TRIALS):
        xs, ys = _batches(cfg, i)
        theta, loss = bench.torch_loop_trial(
            cfg.optimizer, STEPS, params0=res["params0"][i], xs=xs, ys=ys
        )
        _check_trained(theta, res, i, TORCH_RTOL, TORCH_ATOL)
        np.testing.assert_allclose(loss, res["loss_traj"][i, -1], rtol=TORCH_RTOL)


def test_torch_batched_equals_engine(engine_run):
    pytest.importorskip("torch")
    cfg, res = engine_run
    xs, ys = (np.stack(a) for a in zip(*(_batches(cfg, i) for i in range(TRIALS))))
    theta, loss = bench.torch_batched_trials(
        cfg.optimizer, TRIALS, STEPS, params0=res["params0"], xs=xs, ys=ys
    )
    for i in range(TRIALS):
        _check_trained(theta[i], res, i, TORCH_RTOL, TORCH_ATOL)
    np.testing.assert_allclose(loss, res["loss_traj"][:, -1], rtol=TORCH_RTOL)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_flop_count_agrees_with_xla(optimizer):
    """Our count of one net-step against XLA's cost analysis of the compiled step (which counts a
    few more elementwise operations): within 15%."""
    opt = optim.make(optimizer, bench.LEARNING_RATES[optimizer])
    params = nets.init_params(jax.random.key(0), bench.ARCH)
    x = jax.random.uniform(jax.random.key(1), (bench.BATCH, 1))
    step = jax.jit(lambda p, s, x, y: engine.step(p, s, x, y, opt)[:3])
    cost = step.lower(params, opt.init(params), x, x[:, 0] ** 2).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    ours = bench.flops_per_net_step(optimizer)
    assert abs(ours - cost["flops"]) / cost["flops"] < 0.15, (ours, cost["flops"])


PLAN = bench.Plan("quick", steps=5, ns=(2,), engine_ns=(), budget_s=0.05, optimizers=("sgd",))


@pytest.fixture(scope="module")
def report():
    """A whole benchmark at tiny sizes, in this process."""
    return bench.run_benchmark(PLAN, in_process=True, probe_kw={"copy_mb": 8, "matmul_n": 128})


def test_report_keeps_the_json_contract(report):
    report = json.loads(json.dumps(report))  # JSON-serializable as is
    assert {"machine", "results", "ratios", "targets", "peak", "workload", "measured"} <= set(
        report
    )
    assert {"cpu_model", "cores", "versions"} <= set(report["machine"])
    assert report["machine"]["versions"]["jax"] == jax.__version__
    impls = [i for i in bench.IMPLS if i not in report["skipped"]]
    expected = {(i, "sgd", n) for i in impls for n in PLAN.ns}
    assert {(r["impl"], r["optimizer"], r["n"]) for r in report["results"]} == expected
    keys = {"impl", "optimizer", "n", "steps", "net_steps_per_s", "compile_s", "peak_mem_mb"}
    for r in report["results"]:
        assert keys <= set(r), r
        assert r["steps"] == PLAN.steps and r["net_steps_per_s"] > 0 and r["compile_s"] >= 0
        assert 1 <= r["measured_trials"] <= r["n"]
        assert r["extrapolated"] == (r["measured_trials"] < r["n"])
        assert r["net_steps_per_s"] == pytest.approx(r["measured_trials"] * r["steps"] / r["run_s"])
        assert r["fraction_of_peak"] == pytest.approx(
            r["net_steps_per_s"] * bench.flops_per_net_step("sgd") / 1e9 / report["peak"]["gflops"]
        )
        assert np.isfinite(r["mean_final_loss"])


def test_roofline_fractions_follow_the_probe(report):
    """Each result's roofline fields recomputed by hand from the probe's figures."""
    mm = report["measured"]
    assert mm["copy_mb"] == 8 and mm["matmul_n"] == 128
    assert mm["bandwidth_gb_s"] > 0 and mm["matmul_gflops"] > 0
    flops, nbytes = bench.flops_per_net_step("sgd"), bench.bytes_per_net_step("sgd")
    assert report["workload"]["bytes_per_net_step"]["sgd"] == nbytes
    for r in report["results"]:
        rate = r["net_steps_per_s"]
        assert r["gflops"] == pytest.approx(rate * flops / 1e9)
        assert r["gbytes_per_s"] == pytest.approx(rate * nbytes / 1e9)
        assert r["fraction_of_matmul"] == pytest.approx(rate * flops / 1e9 / mm["matmul_gflops"])
        assert r["fraction_of_bandwidth"] == pytest.approx(
            rate * nbytes / 1e9 / mm["bandwidth_gb_s"]
        )
        roof = min(mm["matmul_gflops"] * 1e9 / flops, mm["bandwidth_gb_s"] * 1e9 / nbytes)
        assert r["fraction_of_roofline"] == pytest.approx(rate / roof)


def test_bytes_per_net_step_by_hand():
    """[1, 2, 1], batch 3: the arrays of an unfused step counted one by one (float32)."""
    # loss 3*3; layer 1 (1 -> 2, hidden): forward 3*(1+2), weight grad 3*(2+1), bias grad 3*2,
    # activation 2*3*2, its derivative 3*3*2; layer 2 (2 -> 1): forward 3*(2+1), weight grad
    # 3*(1+2), bias grad 3*1, input grad 3*(1+2); 7 parameters read once and 3 times by SGD.
    floats = 9 + (9 + 9 + 6 + 12 + 18) + (9 + 9 + 3 + 9) + 4 * 7
    assert bench.bytes_per_net_step("sgd", (1, 2, 1), 3) == 4 * floats
    assert bench.bytes_per_net_step("adam", (1, 2, 1), 3) == 4 * (floats + 4 * 7)


def test_ratios_are_those_of_the_results(report):
    ratios = report["ratios"]
    assert ratios["n"] == max(PLAN.ns)
    rate = {(r["impl"], r["n"]): r["net_steps_per_s"] for r in report["results"]}
    others = {r["impl"] for r in report["results"]} - {"engine"}
    assert {f"vs_{i}" for i in others} <= set(ratios)
    for impl in others:
        expected = rate["engine", ratios["n"]] / rate[impl, ratios["n"]]
        assert ratios[f"vs_{impl}"] == pytest.approx(expected)
        assert ratios["by_optimizer"]["sgd"][f"vs_{impl}"] == pytest.approx(expected)
    assert len(report["targets"]) == len(others)
    for t in report["targets"]:
        impl = t["name"].split()[2]
        assert t["value"] == pytest.approx(ratios[f"vs_{impl}"])
        assert t["met"] == (t["value"] >= float(t["goal"].split()[-1]))


def test_report_text_and_plot(report, tmp_path):
    text = bench.format_report(report)
    assert "net-steps/s" in text and "engine" in text
    for path in bench.plot(report, tmp_path / "bench"):
        assert path.stat().st_size > 1000


def test_measurement_in_a_subprocess():
    """A worker process measures its own peak memory."""
    spec = bench.Spec("jax_loop", "sgd", n=2, steps=5, budget_s=0.05)
    r = bench.measure_in_subprocess(spec, timeout_s=120)
    assert r["impl"] == "jax_loop" and r["n"] == 2 and r["net_steps_per_s"] > 0
    assert r["peak_mem_mb"] is None or r["peak_mem_mb"] >= 0


def test_command_line_flags():
    import argparse

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    assert bench.plan_from_args(parser.parse_args([])) == bench.FULL
    assert bench.plan_from_args(parser.parse_args(["--quick"])) == bench.QUICK
    args = parser.parse_args(["--trials", "1,10", "--impl", "engine", "--optimizer", "adam"])
    plan = bench.plan_from_args(args)
    assert (plan.ns, plan.impls, plan.optimizers) == ((1, 10), ("engine",), ("adam",))
    for bad in (["--trials", "0,10"], ["--trials", "x"], ["--steps", "-1"], ["--impl", "keras"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_short_work_is_timed_again_and_the_median_pass_kept():
    """Passes of known length: repeated while the passes so far and one more (at their median)
    fit in the budget; the median is returned."""
    from jaxnn_nonconv.bench._measure import median_pass

    times = iter([0.5, 0.1, 0.3, 0.2, 0.9])
    # 0.5 (+0.5 <= 1.9) -> 0.1 (0.6 + 0.3 <= 1.9) -> 0.3 (0.9 + 0.3) -> 0.2 (1.1 + 0.25) -> 0.9
    # (2.0 > 1.9): five passes, median 0.3.
    assert median_pass(lambda: next(times), 1.9) == (0.3, 5)
    assert median_pass(lambda: 5.0, 1.0) == (5.0, 1)  # longer than the budget: one pass
    assert median_pass(lambda: 0.4, 1.0, first=0.5) == (0.45, 2)  # 0.5 + 0.5 <= 1; 0.9 + 0.45 > 1
