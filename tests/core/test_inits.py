"""Every init family against its stated law (module docstring of :mod:`jaxnn_nonconv.core.inits`).

The expected laws are written out again here, independently of ``inits.layer_std``. Each check
draws many layers with a fixed seed, so it is deterministic; the significance level ``ALPHA`` is
chosen so that the correct law passes, while a standard deviation off by a factor sqrt(2) gives a
KS p-value below 1e-20 at these sample sizes (checked by perturbing the expected law).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxnn_nonconv.core import inits

FAN_IN, FAN_OUT = 3, 5
N_LAYERS = 4000  # 60000 weights, 20000 biases per case
N_ROWS = 20000  # neurons of one RAI layer
ALPHA = 1e-3
RAI_SIGMA = 0.6007  # Lu et al. 2019: N(0, 0.6007^2 / fan_in)


def _law(name: str, scale: float, fan_in: int = FAN_IN, fan_out: int = FAN_OUT):
    """``(family, spread)``: uniform on ``[-spread, spread]`` or normal with std ``spread``."""
    return {
        "pytorch": ("uniform", scale / math.sqrt(fan_in)),
        "he_normal": ("normal", scale * math.sqrt(2 / fan_in)),
        "he_uniform": ("uniform", scale * math.sqrt(6 / fan_in)),
        "glorot_normal": ("normal", scale * math.sqrt(2 / (fan_in + fan_out))),
        "glorot_uniform": ("uniform", scale * math.sqrt(6 / (fan_in + fan_out))),
        "normal": ("normal", scale),
    }[name]


@functools.lru_cache(maxsize=64)
def _draw(name: str, zero_bias: bool, scale: float, fan_in=FAN_IN, fan_out=FAN_OUT, seed=0):
    """``N_LAYERS`` layers from independent keys: ``w: (N_LAYERS, fan_out, fan_in)``."""
    keys = jax.random.split(jax.random.key(seed), N_LAYERS)
    w, b = jax.vmap(
        lambda k: inits.init_layer(k, name, fan_in, fan_out, zero_bias=zero_bias, scale=scale)
    )(keys)
    assert w.shape == (N_LAYERS, fan_out, fan_in) and b.shape == (N_LAYERS, fan_out)
    assert w.dtype == b.dtype == jnp.float32
    return np.asarray(w, np.float64), np.asarray(b, np.float64)


def _check_law(x: np.ndarray, family: str, spread: float) -> None:
    """Moments within 5 standard errors, then a KS test, of i.i.d. draws ``x``."""
    x = x.ravel()
    n = x.size
    std = spread / math.sqrt(3) if family == "uniform" else spread
    # Var of the sample variance: (mu4 - sigma^4)/n, mu4 = 9/5 sigma^4 (uniform), 3 sigma^4 (normal).
    kurt = 1.8 if family == "uniform" else 3.0
    assert abs(x.mean()) < 5 * std / math.sqrt(n)
    assert abs(x.var() - std**2) < 5 * std**2 * math.sqrt((kurt - 1) / n)
    if family == "uniform":
        assert np.all(np.abs(x) <= spread)
        p = stats.kstest(x, "uniform", args=(-spread, 2 * spread)).pvalue
    else:
        p = stats.kstest(x, "norm", args=(0.0, spread)).pvalue
    assert p > ALPHA, f"KS p-value {p:.2e}"


@pytest.mark.parametrize("scale", [1.0, 0.3])
@pytest.mark.parametrize("zero_bias", [False, True])
@pytest.mark.parametrize("name", [n for n in inits.INITS if n != "rai"])
def test_symmetric_init_law(name, zero_bias, scale, strict_dtypes):
    family, spread = _law(name, scale)
    w, b = _draw(name, zero_bias, scale)
    _check_law(w, family, spread)
    if zero_bias:
        assert np.all(b == 0.0)
    else:
        _check_law(b, family, spread)  # biases follow the weights' law
    # layer_std agrees with the stated law.
    std = spread / math.sqrt(3) if family == "uniform" else spread
    assert inits.layer_std(name, FAN_IN, FAN_OUT, scale) == pytest.approx(std, rel=1e-12)


@pytest.mark.parametrize("name", [n for n in inits.INITS if n != "rai"])
def test_detects_wrong_variance(name):
    """Power check: the same draws rejected when the expected std is off by a factor sqrt(2)."""
    family, spread = _law(name, 1.0)
    w, _ = _draw(name, False, 1.0)
    with pytest.raises(AssertionError):
        _check_law(w, family, spread * math.sqrt(2))
    with pytest.raises(AssertionError):
        _check_law(w, family, spread / math.sqrt(2))


def test_weights_are_independent_across_entries():
    """Correlation between neighbouring entries of a row and between weight and bias is ~0."""
    w, b = _draw("he_normal", False, 1.0)
    n = w.shape[0] * w.shape[1]
    r_ww = np.corrcoef(w[..., 0].ravel(), w[..., 1].ravel())[0, 1]
    r_wb = np.corrcoef(w[..., 0].ravel(), b.ravel())[0, 1]
    assert abs(r_ww) < 5 / math.sqrt(n) and abs(r_wb) < 5 / math.sqrt(n)


# ---------------------------------------------------------------- RAI


@functools.lru_cache(maxsize=8)
def _rai_rows(zero_bias: bool, scale: float, fan_in: int = FAN_IN, seed: int = 1) -> np.ndarray:
    """Augmented rows ``[w, b]`` (``[w]`` with zero bias) of one wide layer: ``(N_ROWS, n_cols)``.

    Rows (neurons) are i.i.d.; one wide layer is much faster than vmapped Beta sampling.
    """
    w, b = inits.init_layer(
        jax.random.key(seed), "rai", fan_in, N_ROWS, zero_bias=zero_bias, scale=scale
    )
    w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
    if zero_bias:
        assert np.all(b == 0.0)
        return w
    return np.concatenate([w, b[:, None]], axis=1)


@pytest.mark.parametrize("zero_bias", [False, True])
def test_rai_structure(zero_bias, strict_dtypes):
    """Exactly one entry per augmented row is a Beta(2,1) draw, at a uniform position; the rest are
    N(0, (scale 0.6007)^2 / fan_in).

    The replaced entry is identified without looking inside the implementation: the normal part is
    ``scale * sigma * Z`` while the Beta(2,1) draw does not depend on ``scale``, so with the same key
    at two scales exactly the replaced entry is unchanged.
    """
    rows1 = _rai_rows(zero_bias, 1.0)
    rows2 = _rai_rows(zero_bias, 0.5)
    same = rows1 == rows2
    assert np.all(same.sum(axis=1) == 1), "exactly one entry per row must be scale-free"
    replaced = rows1[same]
    normal_part = rows1[~same]
    n_cols = rows1.shape[1]
    assert n_cols == (FAN_IN if zero_bias else FAN_IN + 1)
    # Replaced entries ~ Beta(2, 1): density 2x on (0, 1), mean 2/3, variance 1/18.
    assert np.all((replaced > 0) & (replaced < 1))
    assert abs(replaced.mean() - 2 / 3) < 5 * math.sqrt(1 / 18 / replaced.size)
    assert stats.kstest(replaced, stats.beta(2, 1).cdf).pvalue > ALPHA
    # Its column is uniform over the row (bias included unless zero_bias).
    counts = np.bincount(np.argmax(same, axis=1), minlength=n_cols)
    assert stats.chisquare(counts).pvalue > ALPHA
    # The rest: the stated normal law, including its variance.
    _check_law(normal_part, "normal", RAI_SIGMA / math.sqrt(FAN_IN))
    # And the scaled draw's normal part is exactly scale times smaller in law.
    _check_law(rows2[~same], "normal", 0.5 * RAI_SIGMA / math.sqrt(FAN_IN))


def test_rai_marginal_is_the_stated_mixture():
    """Without identifying the replaced entry: every entry of a row is Beta(2,1) with probability
    1/n_cols and N(0, 0.6007^2/fan_in) otherwise (a KS test against the mixture CDF)."""
    fan_in = FAN_IN
    rows = _rai_rows(False, 1.0)
    n_cols = fan_in + 1
    sigma = RAI_SIGMA / math.sqrt(fan_in)

    def mixture(sigma_):
        def cdf(x):
            return stats.beta(2, 1).cdf(x) / n_cols + (1 - 1 / n_cols) * stats.norm.cdf(
                x, 0, sigma_
            )

        return cdf

    for j in range(n_cols):
        assert stats.kstest(rows[:, j], mixture(sigma)).pvalue > ALPHA
    # Power: a sigma off by sqrt(2) is rejected.
    assert stats.kstest(rows[:, 0], mixture(sigma * math.sqrt(2))).pvalue < 1e-6
    # Born-dead rows (all entries <= 0) are impossible: one entry is always > 0.
    assert np.all(rows.max(axis=1) > 0)


def test_rai_single_input_zero_bias_is_pure_beta():
    """fan_in = 1 with zero bias: the row has one entry, always the Beta(2,1) draw."""
    w = _rai_rows(True, 1.0, fan_in=1, seed=4)
    assert stats.kstest(w.ravel(), stats.beta(2, 1).cdf).pvalue > ALPHA


def test_pytorch_init_matches_torch_nn_linear():
    """``pytorch`` against ``torch.nn.Linear``'s own default initialization (an independent
    implementation, not our reading of its documentation): two-sample KS tests of the weights and
    of the biases. Power: the same torch draws reject ``he_uniform`` (bound sqrt(6/fan_in))."""
    import torch

    torch.manual_seed(0)
    n_rows = N_LAYERS * FAN_OUT  # one wide layer, as many rows as the vmapped draws of _draw
    lin = torch.nn.Linear(FAN_IN, n_rows)
    tw = lin.weight.detach().numpy().astype(np.float64).ravel()
    tb = lin.bias.detach().numpy().astype(np.float64)
    w, b = _draw("pytorch", False, 1.0)
    assert stats.ks_2samp(w.ravel(), tw).pvalue > ALPHA
    assert stats.ks_2samp(b.ravel(), tb).pvalue > ALPHA
    assert np.abs(tw).max() <= 1 / math.sqrt(FAN_IN) and np.abs(tb).max() <= 1 / math.sqrt(FAN_IN)
    w_he, b_he = _draw("he_uniform", False, 1.0)
    assert stats.ks_2samp(w_he.ravel(), tw).pvalue < 1e-20
    assert stats.ks_2samp(b_he.ravel(), tb).pvalue < 1e-20


def test_unknown_init_raises():
    with pytest.raises(ValueError, match="valid"):
        inits.init_layer(jax.random.key(0), "kaiming", 2, 2)
