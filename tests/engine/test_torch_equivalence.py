"""``engine.fit`` against a PyTorch training loop, in float64, for all nine optimizers.

Both sides start from the same weights (``nets.init_params``, copied into ``torch.nn.Linear``
layers, whose ``weight`` has our ``W_k: (l_k, l_{k-1})`` layout) and see the same batches; PyTorch
computes its own gradients (autograd through ``nn.ReLU``, which also has ``relu'(0) = 0``) and applies
``torch.optim``. The JAX side is ``jit(vmap(fit))`` over three trials with their own weights, batches
and learning rates, so the test also shows that ``fit`` is vmappable and jittable.

Hyperparameter conventions of ``optim.make`` (Optax) against ``torch.optim`` (ours: PyTorch):

* sgd: ``SGD(lr)``; momentum: ``SGD(lr, momentum=0.9)``; nesterov: ``SGD(lr, momentum=0.9,
  nesterov=True)``; rmsprop: ``RMSprop(lr, alpha=0.99, eps=1e-8)`` (``optim`` sets
  ``eps_in_sqrt=False``); adam: ``Adam(lr, betas=(0.9, 0.999), eps=1e-8)``; adamax: ``Adamax`` with
  the same. All exact.
* adagrad: ``Adagrad(lr, eps)``. ``eps`` is inside the root here (``g / sqrt(G + eps)``), outside in
  PyTorch (``g / (sqrt(G) + eps)``); exact with ``eps = 1e-30`` on both sides.
* amsgrad: ``Adam(..., amsgrad=True)``. We take the max of the bias-corrected ``v^``, PyTorch the max
  of the raw ``v`` (divided by the current ``1 - b2^t`` afterwards); exact only for ``b2 = 0``.
* nadam: ``NAdam(..., momentum_decay=1e12)``. PyTorch multiplies ``b1`` by ``1 - 0.5 * 0.96^(t psi)``;
  ``psi = 1e12`` makes that exactly 1, which is Dozat's Nadam as in Optax.

Measured on this problem (``[2, 8, 6, 1]``, three trials of 150 steps, float64): with the settings
above the final parameters agree to about 1e-15 relative and the batch losses to about 1e-14 (bound
used: 1e-12). With our *defaults* against PyTorch's own classes at the same nominal
hyperparameters (``test_default_mismatch_with_torch``; "param": the largest parameter difference
relative to the largest parameter; "loss": relative difference of the mean batch loss of the last
10 steps):

* adagrad: param 1e-4 to 4e-3, loss 6e-7 to 5e-6 (``eps = 1e-10`` inside vs outside the root
  matters where ``G`` is tiny).
* nadam: param 0.1 to 1.0, loss 2e-2 to 6e-2 (PyTorch's default ``momentum_decay = 4e-3``).
* amsgrad: param 0.08 to 0.35, loss 2e-2 to 0.10 (our max keeps the large first-step ``v^``, so our
  steps are smaller). PyTorch's AMSGrad stays within 2e-4 to 3e-2 of plain Adam, ours is 0.08 to
  0.36 away.

Adam-type steps are about ``lr sign(g)``, so coordinates with tiny gradients drift apart freely:
parameters differ much more than losses. Our defaults are checked exactly against PyTorch loops that
apply our conventions (``test_defaults_match_torch_with_our_conventions``).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, optim

NINE = list(optim.OPTIMIZERS)
ARCH = (2, 8, 6, 1)
STEPS, BATCH, N_TRIALS = 150, 16, 3
LR = {
    "sgd": 0.05,
    "momentum": 0.02,
    "nesterov": 0.02,
    "adagrad": 0.05,
    "rmsprop": 0.003,
    "adam": 0.005,
    "adamax": 0.005,
    "amsgrad": 0.005,
    "nadam": 0.005,
}
LR_FACTORS = (1.0, 0.5, 2.0)  # trial i trains with LR[name] * LR_FACTORS[i]
# Our hyperparameters that make the PyTorch class in `torch_optimizer` the same algorithm.
EQUIVALENT = {name: {} for name in NINE} | {"adagrad": {"eps": 1e-30}, "amsgrad": {"b2": 0.0}}
# First-layer neuron 0 of trial 0 is made inactive on the box [-1, 1]^2: max of w.x + c is
# 0.3 + 0.2 - 0.6 < 0. Its parameters must never move, on either side.
DEAD_W, DEAD_B = (0.3, -0.2), -0.6
RTOL = 1e-12


def _batches(i: int) -> tuple[np.ndarray, np.ndarray]:
    """Trial ``i``'s batches: ``x: (STEPS, BATCH, 2)`` uniform on [-1, 1]^2, ``y = sum sin(3 x_j)``."""
    rng = np.random.default_rng(100 + i)
    xs = rng.uniform(-1.0, 1.0, size=(STEPS, BATCH, ARCH[0]))
    return xs, np.sin(3 * xs).sum(axis=-1)


def _initial_params(i: int) -> list[tuple[np.ndarray, np.ndarray]]:
    # float32 draws on both sides (under x64 the default would be float64 draws)
    params = nets.init_params(jax.random.key(i), ARCH, "pytorch", dtype="float32")
    out = [(np.array(w, np.float64), np.array(b, np.float64)) for w, b in params]
    if i == 0:
        out[0][0][0], out[0][1][0] = DEAD_W, DEAD_B
    return out


def _flat(params) -> np.ndarray:
    return np.concatenate([np.concatenate([np.ravel(w), np.ravel(b)]) for w, b in params])


@functools.cache
def _program(name: str, hyper_names: tuple[str, ...]):
    """``jit(vmap(fit))`` with the learning rate per trial and the named hyperparameters as traced
    inputs, so our defaults and the PyTorch-equivalent values share one compilation."""

    def one(p, x, y, lr, hyper_values):
        opt = optim.make(name, lr, **dict(zip(hyper_names, hyper_values)))
        return engine.fit(p, opt, x, y)

    return jax.jit(jax.vmap(one, in_axes=(0, 0, 0, 0, None)))


@functools.cache
def jax_fit(name: str, hyper: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
    """Our three trials: ``theta: (N_TRIALS, P)``, ``losses: (N_TRIALS, STEPS)``. ``hyper``:
    ``(name, value)`` overrides of the defaults."""
    values = {k: v for k, v in optim.hyperparameters(name).items() if k in ("eps", "b2")}
    values |= dict(hyper)
    names = tuple(sorted(values)) if name in ("adagrad", "amsgrad") else ()
    with jax.enable_x64(True):
        stack = lambda *a: jnp.asarray(np.stack(a), jnp.float64)  # noqa: E731
        params = jax.tree.map(stack, *[_initial_params(i) for i in range(N_TRIALS)])
        xs, ys = (stack(*a) for a in zip(*[_batches(i) for i in range(N_TRIALS)]))
        lrs = jnp.asarray([LR[name] * f for f in LR_FACTORS], jnp.float64)
        traced = tuple(jnp.asarray(values[k], jnp.float64) for k in names)
        final, losses = _program(name, names)(params, xs, ys, lrs, traced)
        assert losses.dtype == jnp.float64
        theta = np.asarray(jax.vmap(nets.to_flat)(final))
        return theta, np.asarray(losses)


# ---------------------------------------------------------------- PyTorch side


pytestmark = pytest.mark.usefixtures("torch_float64")  # scalar optimizer state in float64 too


def torch_optimizer(name: str, params, lr: float, *, torch_defaults: bool = False):
    """The ``torch.optim`` class for ``name`` with our default hyperparameters; with
    ``torch_defaults=False`` also configured to equal ``optim.make(name, lr, **EQUIVALENT[name])``."""
    h = optim.hyperparameters(name)
    o = torch.optim
    betas = (h.get("b1"), h.get("b2"))
    if name == "adagrad":
        return o.Adagrad(params, lr=lr, eps=h["eps"] if torch_defaults else 1e-30)
    if name == "amsgrad":
        b2 = h["b2"] if torch_defaults else EQUIVALENT["amsgrad"]["b2"]
        return o.Adam(params, lr=lr, betas=(h["b1"], b2), eps=h["eps"], amsgrad=True)
    if name == "nadam":
        decay = {} if torch_defaults else {"momentum_decay": 1e12}
        return o.NAdam(params, lr=lr, betas=betas, eps=h["eps"], **decay)
    return {
        "sgd": lambda: o.SGD(params, lr=lr),
        "momentum": lambda: o.SGD(params, lr=lr, momentum=h["momentum"]),
        "nesterov": lambda: o.SGD(params, lr=lr, momentum=h["momentum"], nesterov=True),
        "rmsprop": lambda: o.RMSprop(params, lr=lr, alpha=h["decay"], eps=h["eps"]),
        "adam": lambda: o.Adam(params, lr=lr, betas=betas, eps=h["eps"]),
        "adamax": lambda: o.Adamax(params, lr=lr, betas=betas, eps=h["eps"]),
    }[name]()


class AdagradEpsInRoot(torch.optim.Optimizer):
    """Adagrad with our (Optax's) ``eps`` placement: ``theta -= lr g / sqrt(G + eps)``, and no
    update where ``G = 0``."""

    def __init__(self, params, lr, eps):
        super().__init__(params, {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                acc = self.state[p].setdefault("sum", torch.zeros_like(p))
                acc += p.grad**2
                scale = torch.where(acc > 0, 1 / torch.sqrt(acc + group["eps"]), 0.0)
                p -= group["lr"] * p.grad * scale


class AMSGradBiasCorrectedMax(torch.optim.Optimizer):
    """AMSGrad as Optax defines it: ``v_max = max(v_max, v / (1 - b2^t))``,
    ``theta -= lr (m / (1 - b1^t)) / (sqrt(v_max) + eps)``."""

    def __init__(self, params, lr, b1, b2, eps):
        super().__init__(params, {"lr": lr, "b1": b1, "b2": b2, "eps": eps})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["b1"], group["b2"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                    st["v_max"] = torch.zeros_like(p)
                st["t"] += 1
                st["m"] = b1 * st["m"] + (1 - b1) * p.grad
                st["v"] = b2 * st["v"] + (1 - b2) * p.grad**2
                st["v_max"] = torch.maximum(st["v_max"], st["v"] / (1 - b2 ** st["t"]))
                m_hat = st["m"] / (1 - b1 ** st["t"])
                p -= group["lr"] * m_hat / (torch.sqrt(st["v_max"]) + group["eps"])


def torch_fit(i: int, make_optimizer) -> tuple[np.ndarray, np.ndarray]:
    """Trial ``i`` trained by a plain PyTorch loop; ``(theta: (P,), losses: (STEPS,))``."""
    layers = []
    for k, (w, b) in enumerate(_initial_params(i)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if k < len(ARCH) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = make_optimizer(model.parameters())
    losses = []
    for x, y in zip(*_batches(i)):
        opt.zero_grad()
        loss = torch.mean((model(torch.from_numpy(x))[:, 0] - torch.from_numpy(y)) ** 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    theta = _flat([(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linear])
    return theta, np.array(losses)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _dead_slots() -> np.ndarray:
    """Flat indices of the dead neuron's parameters: its 2 weights, its bias, its outgoing
    weights (column 0 of ``W_2``)."""
    n1, d = ARCH[1], ARCH[0]
    w2_start = n1 * d + n1
    return np.array([0, 1, n1 * d, *(w2_start + r * n1 for r in range(ARCH[2]))])


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("name", NINE)
def test_fit_matches_torch_training_loop(name):
    theta, losses = jax_fit(name, tuple(EQUIVALENT[name].items()))
    for i, factor in enumerate(LR_FACTORS):
        lr = LR[name] * factor
        want_theta, want_losses = torch_fit(i, lambda p, lr=lr: torch_optimizer(name, p, lr))
        assert _rel(theta[i], want_theta) < RTOL, _rel(theta[i], want_theta)
        np.testing.assert_allclose(losses[i], want_losses, rtol=RTOL)
        # The comparison has content: the nets trained, far from their start.
        theta0 = _flat(_initial_params(i))
        assert np.linalg.norm(want_theta - theta0) > 0.05 * np.linalg.norm(theta0)
        assert want_losses[-10:].mean() < 0.6 * want_losses[:10].mean()
    # The inactive neuron of trial 0 and its outgoing weights never moved, on either side.
    dead = _dead_slots()
    theta0 = _flat(_initial_params(0))
    assert np.array_equal(theta[0][dead], theta0[dead])
    want_theta, _ = torch_fit(0, lambda p: torch_optimizer(name, p, LR[name]))
    assert np.array_equal(want_theta[dead], theta0[dead])


@pytest.mark.parametrize(
    "name, make",
    [
        ("adagrad", lambda p, lr, h: AdagradEpsInRoot(p, lr, h["eps"])),
        ("amsgrad", lambda p, lr, h: AMSGradBiasCorrectedMax(p, lr, h["b1"], h["b2"], h["eps"])),
    ],
)
def test_defaults_match_torch_with_our_conventions(name, make):
    """Our *default* adagrad and amsgrad, against PyTorch loops that apply our conventions (the
    two optimizers with no equivalent ``torch.optim`` configuration at these hyperparameters)."""
    h = optim.hyperparameters(name)
    theta, losses = jax_fit(name)
    for i, factor in enumerate(LR_FACTORS):
        lr = LR[name] * factor
        want_theta, want_losses = torch_fit(i, lambda p, lr=lr: make(p, lr, h))
        assert _rel(theta[i], want_theta) < RTOL, _rel(theta[i], want_theta)
        np.testing.assert_allclose(losses[i], want_losses, rtol=RTOL)


# name -> (least parameter difference, bounds of the final-loss difference), both relative; the
# measured values (module docstring) lie well inside.
MISMATCH = {
    "adagrad": (1e-5, (0.0, 1e-4)),
    "nadam": (1e-2, (1e-3, 0.2)),
    "amsgrad": (1e-2, (1e-3, 0.2)),
}


@pytest.mark.parametrize("name", list(MISMATCH))
def test_default_mismatch_with_torch(name):
    """Our defaults against PyTorch's own classes at the same nominal hyperparameters: a real,
    bounded difference (numbers in the module docstring). The lower bounds show that the difference
    is real (so the equivalent settings above matter), the upper that it is no larger than
    documented. The final loss is the mean batch loss of the last 10 steps."""
    least_param, (loss_low, loss_high) = MISMATCH[name]
    theta, losses = jax_fit(name)
    adam, _ = jax_fit("adam")
    for i, factor in enumerate(LR_FACTORS):
        lr = LR[name] * factor
        want, want_losses = torch_fit(
            i, lambda p, lr=lr: torch_optimizer(name, p, lr, torch_defaults=True)
        )
        final, want_final = losses[i][-10:].mean(), want_losses[-10:].mean()
        assert _rel(theta[i], want) > least_param
        assert loss_low <= abs(final - want_final) / want_final < loss_high
        if name == "amsgrad":
            # PyTorch's AMSGrad (max of the raw v) stays near plain Adam; ours does not.
            assert _rel(theta[i], adam[i]) > 5 * _rel(want, adam[i])
