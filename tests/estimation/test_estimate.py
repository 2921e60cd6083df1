"""Estimates at initialization and after training, their intervals, and the CLI's JSON contract.

Independent references: closed-form interval formulas (Beta quantiles, Wilson's formula) and exact
binomial coverage sums; docs/theory.md's closed forms (:mod:`jaxnn_nonconv.stats.theory`, itself checked by
quadrature and Monte Carlo in ``test_theory.py``) within 99.9% Clopper-Pearson intervals; the
exact probabilities of the sign events the deep bounds are built from; per-trial recomputation
from ``engine.init_trial_params`` and ``engine.run``'s ``params0``; bit-for-bit parameter
comparisons after training with every optimizer.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxnn_nonconv import detector, engine, estimation
from jaxnn_nonconv.core import inits, nets, optim, problems
from jaxnn_nonconv.exact import risk as exact_risk
from jaxnn_nonconv.stats import results, theory
from tests import helpers
from tests.helpers import within

CONF = 0.999


def cfg_of(arch, box, init="pytorch", zero_bias=False, **kw):
    box = tuple((float(a), float(b)) for a, b in box)
    return engine.TrainConfig(
        arch=arch, init=init, zero_bias=zero_bias, problem=problems.Problem("x^2", box), **kw
    ).validate()


# ---------------------------------------------------------------------------------------------
# Intervals


@pytest.mark.parametrize("n", [1, 7, 50, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999])
def test_proportion_matches_closed_forms(n, confidence):
    alpha = 1 - confidence
    z = stats.norm.ppf(1 - alpha / 2)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        r = results.proportion(k, n, confidence)
        assert r["estimate"] == k / n and r["bracket"] == [k / n, k / n]
        assert (r["count"], r["n"]) == (k, n)
        cp_lo = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
        cp_hi = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
        np.testing.assert_allclose(r["ci"], [cp_lo, cp_hi], rtol=1e-6, atol=1e-12)
        ph = k / n
        center = (ph + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n))
        np.testing.assert_allclose(r["ci_wilson"], [center - half, center + half], atol=1e-9)
        assert r["ci"][0] <= r["estimate"] <= r["ci"][1]


def interval_table(n, confidence, method):
    """Intervals for every outcome k = 0..n: arrays (lo, hi) of shape (n + 1,)."""
    key = "ci" if method == "exact" else "ci_wilson"
    rows = [results.proportion(k, n, confidence)[key] for k in range(n + 1)]
    return np.array(rows).T


def exact_coverage(lo, hi, n, p):
    """P(lo[K] <= p <= hi[K]) for K ~ Binomial(n, p), summed exactly over k."""
    k = np.arange(n + 1)
    return float(np.sum(stats.binom.pmf(k, n, p) * ((lo <= p) & (p <= hi))))


P_GRID = np.linspace(0.005, 0.995, 199)


@pytest.mark.parametrize("n", [10, 37, 120])
@pytest.mark.parametrize("confidence", [0.95, 0.999])
def test_interval_coverage_exact(n, confidence):
    """Clopper-Pearson covers at least the nominal level for every p (it is conservative);
    Wilson covers close to nominal on average over p in (0, 1), not always above it."""
    cp = interval_table(n, confidence, "exact")
    wi = interval_table(n, confidence, "wilson")
    cov_cp = np.array([exact_coverage(*cp, n, p) for p in P_GRID])
    cov_wi = np.array([exact_coverage(*wi, n, p) for p in P_GRID])
    assert cov_cp.min() >= confidence - 1e-9
    assert abs(cov_wi.mean() - confidence) < 0.015
    assert cov_wi.min() < cov_cp.min()  # Wilson is not conservative everywhere ...
    assert np.mean(cov_wi) < np.mean(cov_cp)  # ... and shorter on average
    widths_cp, widths_wi = cp[1] - cp[0], wi[1] - wi[0]
    assert np.mean(widths_wi) < np.mean(widths_cp)


@pytest.mark.parametrize("n,p", [(25, 0.03), (200, 0.3), (60, 0.9)])
def test_interval_coverage_simulated(n, p):
    """The same on simulated binomials (4000 replicates; 4 standard errors of slack)."""
    rng = np.random.default_rng(n)
    ks = rng.binomial(n, p, 4000)
    for method, floor in (("exact", 0.95), ("wilson", 0.93)):
        lo, hi = interval_table(n, 0.95, method)
        cov = np.mean((lo[ks] <= p) & (p <= hi[ks]))
        assert cov >= floor - 4 * math.sqrt(0.95 * 0.05 / len(ks)), (method, cov)


def test_bracketed_semantics():
    r = results.bracketed(2, 5, 10)
    lo, hi = results.proportion(2, 10), results.proportion(5, 10)
    assert r["bracket"] == [0.2, 0.5] and r["estimate"] == (0.2 + 0.5) / 2
    assert r["ci"] == [lo["ci"][0], hi["ci"][1]]
    assert r["ci_wilson"] == [lo["ci_wilson"][0], hi["ci_wilson"][1]]
    assert r["count_bracket"] == [2, 5] and r["count"] == 3.5 and r["n"] == 10
    assert r.counts == (2, 5) and not r.exact and results.proportion(2, 10).exact
    assert results.bracketed(4, 4, 10) == results.proportion(4, 10)  # exact: a plain proportion
    assert results.bracketed(0, 0, 0)["estimate"] is None
    with pytest.raises(ValueError, match="k_low <= k_high"):
        results.bracketed(5, 2, 10)


def test_bracketed_interval_covers_when_truth_is_inside_the_bracket():
    """If certified <= true <= possible counts, the bracketed interval still covers p at the
    nominal level (each end is a monotone function of its count)."""
    rng = np.random.default_rng(1)
    n, p, reps = 80, 0.35, 3000
    lo_t, _ = interval_table(n, 0.95, "exact")
    _, hi_t = interval_table(n, 0.95, "exact")
    k = rng.binomial(n, p, reps)
    k_low = k - rng.binomial(k, 0.3)
    k_high = k + rng.binomial(n - k, 0.3)
    covered = (lo_t[k_low] <= p) & (p <= hi_t[k_high])
    assert covered.mean() >= 0.95 - 4 * math.sqrt(0.05 * 0.95 / reps)
    r = results.bracketed(int(k_low[0]), int(k_high[0]), n)
    assert r["ci"] == [lo_t[k_low[0]], hi_t[k_high[0]]]


# ---------------------------------------------------------------------------------------------
# Estimates at init vs docs/theory.md's closed forms (99.9% intervals)

SHALLOW = [
    ((1, 4, 1), [(0, 1)], "normal", False),
    ((1, 4, 1), [(-0.5, 2)], "pytorch", False),
    ((1, 4, 1), [(1, 2)], "pytorch", True),
    ((2, 4, 1), [(0, 1), (0, 1)], "pytorch", False),
    ((3, 4, 1), [(-1, 1)] * 3, "he_uniform", False),
    ((3, 4, 1), [(0, 1)] * 3, "normal", True),
]
SHALLOW_SLOW = [
    ((1, 4, 1), [(1, 3)], "glorot_uniform", False),
    ((2, 4, 1), [(-1, 0), (0, 2)], "he_normal", True),
    ((1, 4, 1), [(-1, 1)], "normal", False),
    ((1, 4, 1), [(-3, -1)], "he_normal", False),
    ((1, 4, 1), [(0, 2)], "pytorch", False),
    ((1, 4, 1), [(-2, 2)], "pytorch", False),
    ((1, 4, 1), [(0, 0.5)], "pytorch", False),
    ((1, 4, 1), [(-1, 1)], "normal", True),
    ((4, 4, 1), [(0, 1)] * 4, "pytorch", False),
    ((2, 4, 1), [(-1, 1)] * 2, "glorot_uniform", False),
]
M_INIT = 20_000


def check_shallow_against_theory(arch, box, init, zero_bias):
    cfg = cfg_of(arch, box, init, zero_bias)
    counts = estimation.counts_at_init(cfg, M_INIT, chunk_size=4096)
    s = estimation.summarize(cfg, counts, confidence=CONF)
    p = theory.first_layer_p(init, box, zero_bias)
    assert p is not None and s["first_layer_neuron_inactive"]["theory"] == p
    assert within(p, s["first_layer_neuron_inactive"]["ci"]), (s["first_layer_neuron_inactive"], p)
    # shallow, first layer exact: P(some neuron inactive) = 1 - (1-p)^H, P(constant) = p^H
    h = arch[1]
    assert s["any_inactive"]["bound"] == pytest.approx(1 - (1 - p) ** h)
    assert within(1 - (1 - p) ** h, s["any_inactive"]["ci"]), s["any_inactive"]
    assert s["constant_network"]["lower_bound"] == pytest.approx(p**h)
    assert within(p**h, s["constant_network"]["ci"]), s["constant_network"]
    assert s["unknown_fraction"] == 0.0
    # the neuron count is Binomial(M H, p): its dispersion over trials is binomial too
    per_trial = counts["inactive"][:, 0]
    assert per_trial.var() == pytest.approx(h * p * (1 - p), rel=0.1)


@pytest.mark.parametrize("arch,box,init,zero_bias", SHALLOW, ids=str)
def test_shallow_estimates_reproduce_closed_forms(arch, box, init, zero_bias):
    check_shallow_against_theory(arch, box, init, zero_bias)


@pytest.mark.slow
@pytest.mark.parametrize("arch,box,init,zero_bias", SHALLOW_SLOW, ids=str)
def test_shallow_estimates_reproduce_closed_forms_more(arch, box, init, zero_bias):
    check_shallow_against_theory(arch, box, init, zero_bias)


DEEP = [
    ((1, 2, 2, 2, 1), [(0, 2)], "pytorch", False),
    ((2, 2, 3, 1), [(0, 1), (0, 1)], "normal", True),
]


@pytest.mark.parametrize("arch,box,init,zero_bias", DEEP, ids=str)
def test_deep_estimates_against_theory(arch, box, init, zero_bias):
    """Per-layer sign-dead fractions reproduce ``q_k``; the deep bounds are the exact
    probabilities of their sign events (first layer inactive / layers sign-dead), and lower-bound
    the measured any-inactive and constant-network probabilities."""
    cfg = cfg_of(arch, box, init, zero_bias)
    m = M_INIT
    counts = estimation.counts_at_init(cfg, m, chunk_size=4096)
    s = estimation.summarize(cfg, counts, confidence=CONF)
    p = theory.first_layer_p(init, box, zero_bias)
    assert within(p, s["first_layer_neuron_inactive"]["ci"])
    widths = arch[1:-1]
    for k in range(1, len(widths)):
        entry = s["inactive_fraction_per_layer"][k]
        q = theory.sign_dead_q(arch[k], init, zero_bias)
        assert entry["sign_dead"]["theory"] == q
        assert within(q, entry["sign_dead"]["ci"]), entry["sign_dead"]
        # sign-dead neurons are certified inactive: the inactive fraction is at least q
        assert entry["bracket"][1] >= q - 5 * math.sqrt(q / (m * widths[k]))
    first_any = counts["inactive"][:, 0] > 0
    first_all = counts["inactive"][:, 0] == widths[0]
    sd = counts["sign_dead"][:, 1:]
    event_any = first_any | np.any(sd > 0, axis=1)
    event_all = first_all | np.any(sd == np.array(widths[1:]), axis=1)
    any_bound = s["any_inactive"]["bound"]
    const_bound = s["constant_network"]["lower_bound"]
    assert within(any_bound, results.proportion(event_any.sum(), m, CONF)["ci"])
    assert within(const_bound, results.proportion(event_all.sum(), m, CONF)["ci"])
    # the measured probabilities dominate their bounds (their upper interval ends are above)
    assert s["any_inactive"]["ci"][1] >= any_bound
    assert s["constant_network"]["ci"][1] >= const_bound
    # the sign events are certified: where one holds, the detector reports a dead layer
    assert np.all(counts["dead_layer"][event_all])
    assert np.all((counts["inactive"].sum(1) > 0)[event_any])


def test_summary_brackets_when_unknowns_remain():
    """IBP on the whole box (grid 1) leaves unknowns: estimates become [certified, possible]."""
    cfg = cfg_of((2, 3, 4, 1), [(-1, 1), (0, 2)], "normal", False)
    m = 1000
    counts = estimation.counts_at_init(
        cfg, m, chunk_size=500, settings=detector.DetectorSettings(mode="ibp", grid=1)
    )
    s = estimation.summarize(cfg, counts, confidence=0.95)
    assert counts["unknown"][:, 1].sum() > 0 and counts["unknown"][:, 0].sum() == 0
    layer2 = s["inactive_fraction_per_layer"][1]
    lo = counts["inactive"][:, 1].sum() / (4 * m)
    hi = (counts["inactive"][:, 1] + counts["unknown"][:, 1]).sum() / (4 * m)
    assert layer2["bracket"] == [lo, hi] and layer2["estimate"] == (lo + hi) / 2
    k_lo = counts["sampled_inactive"][:, 1].sum()
    k_hi = (counts["sampled_inactive"][:, 1] | counts["sampled_unknown"][:, 1]).sum()
    assert layer2["ci"] == results.bracketed(k_lo, k_hi, m)["ci"]
    # sampled neuron i mod l_k of trial i: a fair sample of the pooled fraction
    assert within(lo, results.proportion(k_lo, m, CONF)["ci"])
    anyi = s["any_inactive"]
    k_any = [
        int((counts["inactive"].sum(1) > 0).sum()),
        int(((counts["inactive"] + counts["unknown"]).sum(1) > 0).sum()),
    ]
    assert anyi["count_bracket"] == k_any and anyi["count"] == sum(k_any) / 2
    assert s["unknown_fraction"] == pytest.approx(counts["unknown"].sum() / (m * 7))
    # certified constant <= possibly constant
    c = s["constant_network"]
    assert c["bracket"][0] <= c["bracket"][1]


# ---------------------------------------------------------------------------------------------
# Per-trial reproducibility and agreement with engine.run's networks

CLI_CFG = cfg_of((1, 32, 1), [(0, 2)], "pytorch", False)


def assert_same_counts(a, b, rows):
    for k in a:
        np.testing.assert_array_equal(a[k][rows], b[k][rows], err_msg=k)


def check_trial_counts_independent(cfg):
    ref = estimation.counts_at_init(cfg, 1000, chunk_size=256)
    odd = estimation.counts_at_init(cfg, 777, chunk_size=100)
    assert_same_counts(ref, odd, slice(0, 777))
    assert ref["inactive"].std() > 0  # distinct networks


def test_trial_counts_do_not_depend_on_trials_or_chunk_size():
    check_trial_counts_independent(CLI_CFG)


@pytest.mark.slow
@pytest.mark.parametrize(
    "cfg",
    [cfg_of((1, 4, 4, 1), [(0, 2)]), cfg_of((2, 3, 3, 1), [(0, 1), (-1, 1)])],
    ids=["deep-exact", "deep-ibp"],
)
def test_trial_counts_do_not_depend_on_trials_or_chunk_size_deep(cfg):
    check_trial_counts_independent(cfg)


def test_detector_in_cpu_groups_equals_one_vmap():
    """On a CPU the detector classifies the networks in groups (``lax.map``, the last one short:
    100 = 3 * 32 + 4) to keep the per-point pre-activations in cache; every trial's counts are
    those of one vmap over all of them, as an accelerator runs it (``ibp``: no branch and bound,
    cheap to compile)."""
    arch, box = (3, 8, 8, 1), ((-0.2, 0.3), (0.0, 1.0), (-1.0, 0.5))
    settings = detector.DetectorSettings(mode="ibp", grid=2)
    rng = np.random.default_rng(3)
    batch = tuple(
        (
            jnp.asarray(rng.uniform(-0.6, 0.6, (100, n_out, n_in)), jnp.float32),
            jnp.asarray(rng.uniform(-0.6, 0.6, (100, n_out)), jnp.float32),
        )
        for n_in, n_out in zip(arch[:-1], arch[1:], strict=True)
    )
    trials = jnp.arange(100)
    got = detector.make_detector(box, settings)(batch, trials)
    lo, hi = (np.array(v, np.float32) for v in zip(*box, strict=True))
    sample = jnp.asarray(detector.sample_points(lo, hi), jnp.float32)
    probe = jnp.asarray(detector.probe_points(lo, hi), jnp.float32)

    @jax.jit
    def one_vmap(batch):
        st = jax.vmap(
            lambda p: detector.classify_neurons(
                p, jnp.asarray(lo), jnp.asarray(hi), sample, probe=probe, settings=settings
            )
        )(batch)
        return jax.vmap(detector.counts)(st, trials)

    want = one_vmap(batch)
    for name, value in want._asdict().items():
        np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)
    assert np.asarray(got.unknown).sum() > 0 and np.asarray(got.inactive).sum() > 0


@pytest.mark.parametrize("seed", [0, 7, 2**32 + 5])
def test_counts_at_init_are_those_of_train_init_params(seed):
    """Trial i's initial net is ``engine.init_trial_params(cfg, engine.trial_key(seed, i))``,
    for any seed ``engine.run`` accepts (also beyond uint32)."""
    cfg = CLI_CFG
    n = 200
    got = estimation.counts_at_init(cfg, n, seed=seed, chunk_size=256)
    rows = np.array([0, 1, 57, 199])
    theta = np.stack(
        [
            np.asarray(nets.to_flat(engine.init_trial_params(cfg, engine.trial_key(seed, int(i)))))
            for i in rows
        ]
    )
    want = estimation.counts_of_params(theta, cfg.arch, cfg.problem.box, trials=rows)
    for k in want:
        np.testing.assert_array_equal(got[k][rows], want[k], err_msg=k)


def test_counts_of_params_rejects_empty():
    with pytest.raises(ValueError, match="M >= 1"):
        estimation.counts_of_params(np.zeros((0, 13), np.float32), (1, 4, 1), ((0.0, 1.0),))


# ---------------------------------------------------------------------------------------------
# Invariance: inactive neurons keep their parameters under every optimizer


@pytest.mark.parametrize(
    "optimizer",
    [
        o if o in ("sgd", "adam") else pytest.param(o, marks=pytest.mark.slow)
        for o in optim.OPTIMIZERS
    ],
)
def test_inactive_neurons_keep_their_parameters(optimizer):
    """docs/theory.md sec. 3: a first-layer neuron inactive on the box gets zero gradient in its
    incoming weights, bias and outgoing weight at every step, and none of the nine optimizers
    (zero initial state, no weight decay) moves a parameter whose gradient is always zero.

    The default suite runs sgd (no state) and adam (moment estimates; a training compile each);
    the seven others run in the slow suite, and tests/engine/test_masks.py checks every optimizer
    leaves a parameter without updates bit-identical."""
    cfg = engine.TrainConfig(
        arch=(1, 8, 1),
        init="pytorch",
        problem=problems.Problem("x^2", ((0.0, 2.0),)),
        optimizer=optimizer,
        learning_rate=0.01,
        steps=1000,
        batch_size=16,
        eval_size=64,
        n_record=2,
    ).validate()
    res = engine.run(cfg, 8, chunk_size=8, n_devices=1)
    arch = cfg.arch
    lo, hi = (jnp.asarray(v, jnp.float32) for v in zip(*cfg.problem.box))
    n_dead = 0
    for t0, t1 in zip(res["params0"], res["params"]):
        p0, p1 = nets.from_flat(jnp.asarray(t0), arch), nets.from_flat(jnp.asarray(t1), arch)
        dead = np.asarray(detector.first_layer_inactive(p0, lo, hi))
        (w0, b0), (v0, _) = jax.tree.map(np.asarray, p0)
        (w1, b1), (v1, _) = jax.tree.map(np.asarray, p1)
        np.testing.assert_array_equal(w1[dead], w0[dead])
        np.testing.assert_array_equal(b1[dead], b0[dead])
        np.testing.assert_array_equal(v1[:, dead], v0[:, dead])
        # permanent: still inactive at the end
        assert np.all(np.asarray(detector.first_layer_inactive(p1, lo, hi))[dead])
        # the test can fail: training did move the parameters of active neurons
        assert np.any(w1[~dead] != w0[~dead]) or np.any(v1[:, ~dead] != v0[:, ~dead])
        n_dead += int(dead.sum())
    assert n_dead >= 5
    # the detector's counts agree with the per-neuron masks used above
    c0 = estimation.counts_of_params(res["params0"], arch, cfg.problem.box)
    assert c0["inactive"][:, 0].sum() == n_dead
    if cfg.optimizer == "sgd":  # here, not in a second test: one compiled run per optimizer
        check_failure_after_training(cfg, res)


def check_failure_after_training(cfg, res):
    """Bookkeeping of :func:`estimation.failure_after_training` on a real run (sgd)."""
    out = estimation.failure_after_training(cfg, res, confidence=0.95)
    init = estimation.counts_of_params(res["params0"], cfg.arch, cfg.problem.box)
    end = estimation.counts_of_params(res["params"], cfg.arch, cfg.problem.box)
    crit = out["criteria"]
    assert crit["inactive_at_init"]["count"] == int((init["inactive"].sum(1) > 0).sum())
    # first-layer inactivity is permanent: inactive at init => inactive at the end
    assert np.all(end["inactive"][:, 0] >= init["inactive"][:, 0])
    at_end = crit["inactive_at_end"]["count_bracket"][0]
    assert at_end >= crit["inactive_at_init"]["count"]
    # d = 1: the criteria read the exact risk (exact_risk), not the Monte Carlo one
    exact, _ = exact_risk.risks_of_params(res["params"], cfg.arch, cfg.problem)
    risk = np.where(np.isfinite(exact), exact, res["risk"])
    assert out["risk_source"] == "exact"
    best = float(np.min(risk))
    assert out["best_risk"] == best
    assert crit["risk_gap"]["count"] == int(np.sum(risk > best + out["tol"]))
    # the initial nets of engine.run are those of counts_at_init
    assert_same_counts(estimation.counts_at_init(cfg, 8, chunk_size=8), init, slice(None))


# ---------------------------------------------------------------------------------------------
# CLI JSON contract

CLI_ARGS = ["estimate", "--arch", "1,32,1", "--init", "pytorch", "--box", "0:2"]
CLI_ARGS += ["--trials", "1000", "--seed", "0", "--json"]


@pytest.fixture(scope="module")
def cli_json():
    return {
        name: helpers.cli_json(CLI_ARGS + extra)
        for name, extra in (("default", []), ("chunked", ["--chunk-size", "256"]))
    }


def test_cli_estimate_json_contract(cli_json):
    s = cli_json["default"]
    for key in (
        "config",
        "trials",
        "first_layer_neuron_inactive",
        "any_inactive",
        "constant_network",
        "inactive_fraction_per_layer",
        "unknown_fraction",
    ):
        assert key in s, key
    assert s["trials"] == 1000
    assert s["config"]["arch"] == [1, 32, 1] and s["config"]["init"] == "pytorch"
    assert s["config"]["problem"]["box"] == [[0.0, 2.0]]
    first, anyi, const = s["first_layer_neuron_inactive"], s["any_inactive"], s["constant_network"]
    assert {"estimate", "ci", "theory"} <= set(first)
    assert {"estimate", "ci", "bound"} <= set(anyi)
    assert {"estimate", "ci", "lower_bound"} <= set(const)
    assert first["theory"] == theory.p_uniform_1d(0, 2) == 0.3125
    assert anyi["bound"] == pytest.approx(1 - (1 - 0.3125) ** 32)
    assert const["lower_bound"] == pytest.approx(0.3125**32, rel=1e-9)
    for entry in (first, anyi, const):
        assert entry["ci"][0] <= entry["estimate"] <= entry["ci"][1]
    # the numbers are those of the per-trial counts
    counts = estimation.counts_at_init(CLI_CFG, 1000)
    assert first["count"] == int(counts["inactive"].sum()) and first["n"] == 32_000
    assert anyi["count"] == int((counts["inactive"][:, 0] > 0).sum())
    assert const["count"] == int(counts["dead_layer"].sum())
    layers = s["inactive_fraction_per_layer"]
    assert len(layers) == 1 and layers[0]["layer"] == 1 and layers[0]["width"] == 32
    assert layers[0]["estimate"] == first["estimate"]
    assert s["unknown_fraction"] == 0.0
    assert within(0.3125, results.proportion(first["count"], 32_000, CONF)["ci"])


def test_cli_estimate_does_not_depend_on_chunk_size(cli_json):
    a, b = dict(cli_json["default"]), dict(cli_json["chunked"])
    # default: the smallest chunk of the ladder that holds the 1000 trials
    assert (a.pop("chunk_size"), b.pop("chunk_size")) == (estimation.default_chunk(1000), 256)
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b


@pytest.mark.parametrize(
    "init, zero_bias, scale",
    [
        ("he_normal", False, 2.0),
        ("glorot_uniform", True, 0.5),
        ("pytorch", True, 1.0),
        ("rai", False, 1.0),
        ("rai", True, 1.5),
    ],
)
def test_shared_draw_program_draws_each_family_s_nets(init, zero_bias, scale):
    """The estimates draw a family's nets with its kind's shared program (spreads and the
    zero-bias switch as arguments): bit for bit what a program of that family alone draws
    (``engine.init_trial_stacks`` compiled for it, as the training does; an eager, op-by-op
    evaluation may differ in the last bit)."""
    from jaxnn_nonconv.estimation import _counting

    cfg = engine.TrainConfig(
        arch=(2, 5, 5, 1),
        init=init,
        zero_bias=zero_bias,
        init_scale=scale,
        problem=problems.Problem("x^2", ((0.0, 1.0),) * 2),
    ).validate()
    key, idx = jax.random.key(3), jnp.arange(7, dtype=jnp.uint32)
    shared = _counting._compiled_init_draws(cfg)(key, idx)
    own = jax.jit(jax.vmap(lambda i: engine.init_trial_stacks(cfg, jax.random.fold_in(key, i))))(
        idx
    )
    for got, want in zip(jax.tree.leaves(shared), jax.tree.leaves(own), strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_every_family_is_drawn_by_one_of_three_programs():
    """The 14 (family, zero bias) rows of ``advise`` share one compiled draw program per kind
    (uniform, normal, RAI); the shared programs' numbers are checked by the test above."""
    from jaxnn_nonconv.estimation import _counting

    programs = set()
    for name in inits.INITS:
        for zero_bias in (False, True):
            cfg = engine.TrainConfig(
                arch=(2, 5, 5, 1),
                init=name,
                zero_bias=zero_bias,
                problem=problems.Problem("x^2", ((0.0, 1.0),) * 2),
            ).validate()
            programs.add(_counting._compiled_init_draws(cfg).func)
    assert len(programs) == 3
