"""The nine optimizers against textbook formulas in NumPy float64 and against ``torch.optim``.

Definitions used here (``t`` counts steps from 1, ``g`` the gradient, hyperparameters from
``optim.hyperparameters``):

* sgd: ``theta -= lr g``.
* momentum (heavy ball, PyTorch form, no dampening): ``m = mu m + g``, ``theta -= lr m``.
* nesterov (PyTorch/Sutskever form): ``m = mu m + g``, ``theta -= lr (g + mu m)``.
* adagrad: ``G += g^2``, ``theta -= lr g / sqrt(G + eps)`` (Optax puts ``eps`` inside the root;
  PyTorch uses ``g / (sqrt(G) + eps)``).
* rmsprop (PyTorch): ``v = alpha v + (1 - alpha) g^2``, ``theta -= lr g / (sqrt(v) + eps)``.
* adam: ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``, ``m^ = m/(1-b1^t)``, ``v^ = v/(1-b2^t)``,
  ``theta -= lr m^ / (sqrt(v^) + eps)``.
* adamax: ``u = max(b2 u, |g| + eps)``, ``theta -= lr m^ / u`` (Kingma & Ba with ``eps`` inside the
  max, as Optax and PyTorch do).
* amsgrad (Optax): ``v_max = max(v_max, v^)`` of the *bias-corrected* ``v^``,
  ``theta -= lr m^ / (sqrt(v_max) + eps)``. PyTorch instead keeps the max of the *raw* ``v`` and
  divides by the current ``1 - b2^t``; the two agree while ``v`` and ``v^`` are nondecreasing.
* nadam (Dozat 2016 as in Optax and Keras, no momentum schedule):
  ``theta -= lr (b1 m/(1-b1^(t+1)) + (1-b1) g/(1-b1^t)) / (sqrt(v^) + eps)``. PyTorch's NAdam
  multiplies ``b1`` by the schedule ``1 - 0.5 * 0.96^(t psi)`` (``psi = momentum_decay = 4e-3``);
  with ``psi`` huge the schedule is exactly 1 and the two agree.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

from jaxnn_nonconv.core import optim

NINE = list(optim.OPTIMIZERS)
LR = 0.1
# Three steps of gradients for a 5-vector. Coordinate 0 is always 0 (it must never move); coordinate
# 1 shrinks after step 1, so v^ decreases and AMSGrad's max matters; coordinate 3 starts at 0.
GRADS = np.array(
    [
        [0.0, 2.0, -0.5, 0.0, 1.0],
        [0.0, 0.1, -1.5, 0.7, -1.0],
        [0.0, -0.05, 3.0, -0.2, 0.5],
    ]
)
THETA0 = np.array([0.3, -1.0, 2.0, 0.5, -0.25])


def test_there_are_nine():
    assert NINE == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamax",
        "amsgrad",
        "nadam",
    ]


def reference(name: str, theta0, grads, lrs, hyper: dict) -> np.ndarray:
    """Textbook updates in float64; returns the parameters after each step, ``(steps, P)``."""
    theta = np.array(theta0, np.float64)
    zeros = np.zeros_like(theta)
    m, v, u, vmax, acc = zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy()
    out = []
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = np.asarray(g, np.float64)
        if name == "sgd":
            upd = g
        elif name in ("momentum", "nesterov"):
            mu = hyper["momentum"]
            m = mu * m + g
            upd = g + mu * m if name == "nesterov" else m
        elif name == "adagrad":
            acc = acc + g**2
            upd = g / np.sqrt(acc + hyper["eps"])
        elif name == "rmsprop":
            v = hyper["decay"] * v + (1 - hyper["decay"]) * g**2
            upd = g / (np.sqrt(v) + hyper["eps"])
        else:
            b1, b2, eps = hyper["b1"], hyper["b2"], hyper["eps"]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            if name == "adam":
                upd = m_hat / (np.sqrt(v_hat) + eps)
            elif name == "adamax":
                u = np.maximum(b2 * u, np.abs(g) + eps)
                upd = m_hat / u
            elif name == "amsgrad":
                vmax = np.maximum(vmax, v_hat)
                upd = m_hat / (np.sqrt(vmax) + eps)
            elif name == "nadam":
                m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
                upd = m_bar / (np.sqrt(v_hat) + eps)
            else:
                raise AssertionError(name)
        theta = theta - lr * upd
        out.append(theta.copy())
    return np.stack(out)


def run_optax(opt: optax.GradientTransformation, theta0, grads) -> np.ndarray:
    """Apply ``opt`` to the given gradient sequence; parameters after each step."""
    theta = jnp.asarray(theta0)
    state = opt.init(theta)
    out = []
    for g in grads:
        upd, state = opt.update(jnp.asarray(g, theta.dtype), state, theta)
        theta = optax.apply_updates(theta, upd)
        out.append(np.asarray(theta))
    return np.stack(out)


@pytest.mark.parametrize("name", NINE)
def test_three_steps_match_textbook_float64(name):
    with jax.enable_x64(True):
        got = run_optax(optim.make(name, LR), THETA0, GRADS)
    assert got.dtype == np.float64
    want = reference(name, THETA0, GRADS, [LR] * 3, optim.hyperparameters(name))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    # No movement without gradient (docs/theory.md sec. 3): exactly, not approximately.
    assert np.all(got[:, 0] == THETA0[0])


@pytest.mark.parametrize("name", NINE)
def test_three_steps_match_textbook_float32(name):
    got = run_optax(optim.make(name, LR), THETA0.astype(np.float32), GRADS.astype(np.float32))
    assert got.dtype == np.float32
    want = reference(name, THETA0, GRADS, [LR] * 3, optim.hyperparameters(name))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    assert np.all(got[:, 0] == np.float32(THETA0[0]))


@pytest.mark.parametrize("name", NINE)
def test_reference_tells_optimizers_apart(name):
    """The textbook check has power: every other optimizer's formula gives different numbers."""
    want = reference(name, THETA0, GRADS, [LR] * 3, optim.hyperparameters(name))
    for other in NINE:
        if other != name:
            alt = reference(other, THETA0, GRADS, [LR] * 3, optim.hyperparameters(other))
            assert np.max(np.abs(alt - want)) > 1e-4, other


@pytest.mark.parametrize("name", NINE)
def test_schedule_scales_each_step_update(name):
    """``make(..., schedule=s)``: step ``n`` (from 0) uses learning rate ``lr s(n)``."""
    sched = optim.schedule("step", factor=0.5, every=1)
    with jax.enable_x64(True):
        got = run_optax(optim.make(name, LR, schedule=sched), THETA0, GRADS)
    want = reference(name, THETA0, GRADS, [LR, LR / 2, LR / 4], optim.hyperparameters(name))
    # The schedule factor is computed in float32, exact for powers of 2.
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NINE)
def test_per_trial_learning_rate_under_vmap(name):
    """A traced learning rate per trial (``vmap`` over it) gives each trial its own textbook run."""
    lrs = np.array([0.001, 0.01, 0.3])

    def one(lr):
        opt = optim.make(name, lr)
        theta = jnp.asarray(THETA0)
        state = opt.init(theta)
        traj = []
        for g in GRADS:
            upd, state = opt.update(jnp.asarray(g), state, theta)
            theta = optax.apply_updates(theta, upd)
            traj.append(theta)
        return jnp.stack(traj)

    with jax.enable_x64(True):
        got = np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(lrs)))
    for lr, g in zip(lrs, got):
        want = reference(name, THETA0, GRADS, [lr] * 3, optim.hyperparameters(name))
        np.testing.assert_allclose(g, want, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- PyTorch


def torch_optimizer(name: str, params, lr: float):
    """``torch.optim`` configured to agree with ``optim.make(name, lr, **OVERRIDES[name])``."""
    h = optim.hyperparameters(name)
    o = torch.optim
    betas = (h.get("b1"), h.get("b2"))
    return {
        "sgd": lambda: o.SGD(params, lr=lr),
        "momentum": lambda: o.SGD(params, lr=lr, momentum=h["momentum"]),
        "nesterov": lambda: o.SGD(params, lr=lr, momentum=h["momentum"], nesterov=True),
        # eps placement differs (inside vs outside the root): make it negligible in both.
        "adagrad": lambda: o.Adagrad(params, lr=lr, eps=1e-30),
        "rmsprop": lambda: o.RMSprop(params, lr=lr, alpha=h["decay"], eps=h["eps"]),
        "adam": lambda: o.Adam(params, lr=lr, betas=betas, eps=h["eps"]),
        "adamax": lambda: o.Adamax(params, lr=lr, betas=betas, eps=h["eps"]),
        "amsgrad": lambda: o.Adam(params, lr=lr, betas=betas, eps=h["eps"], amsgrad=True),
        # momentum_decay huge => torch's schedule 1 - 0.5 * 0.96^(t psi) is exactly 1.
        "nadam": lambda: o.NAdam(params, lr=lr, betas=betas, eps=h["eps"], momentum_decay=1e12),
    }[name]()


OVERRIDES = {name: {} for name in NINE} | {"adagrad": {"eps": 1e-30}}
# Nondecreasing |g| per coordinate: v and v^ both nondecreasing, where Optax's and PyTorch's AMSGrad
# agree (see module docstring). Used for every optimizer, with a zero coordinate.
GROWING = np.array(
    [
        [0.0, 0.5, -0.2, 1.0],
        [0.0, -0.7, 0.3, 1.0],
        [0.0, 0.9, -0.6, -1.5],
    ]
)


def run_torch(name: str, theta0, grads, lr: float) -> np.ndarray:
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    opt = torch_optimizer(name, [p], lr)
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.stack(out)


@pytest.mark.parametrize("name", NINE)
def test_three_steps_match_torch(name, torch_float64):
    theta0 = THETA0[:4]
    with jax.enable_x64(True):
        got = run_optax(optim.make(name, LR, **OVERRIDES[name]), theta0, GROWING)
    want = run_torch(name, theta0, GROWING, LR)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_torch_differences_are_real(torch_float64):
    """Where the definitions differ, they really differ (so the configuration above matters):
    PyTorch's default NAdam schedule, and AMSGrad when ``v^`` decreases (``GRADS``)."""
    h = optim.hyperparameters("nadam")
    p = torch.nn.Parameter(torch.tensor(THETA0[:4]))
    opt = torch.optim.NAdam([p], lr=LR, betas=(h["b1"], h["b2"]), eps=h["eps"])
    for g in GROWING:
        p.grad = torch.tensor(g)
        opt.step()
    with jax.enable_x64(True):
        ours = run_optax(optim.make("nadam", LR), THETA0[:4], GROWING)[-1]
    assert np.max(np.abs(p.detach().numpy() - ours)) > 1e-4
    with jax.enable_x64(True):
        ours = run_optax(optim.make("amsgrad", LR), THETA0, GRADS)
    theirs = run_torch("amsgrad", THETA0, GRADS, LR)
    assert np.max(np.abs(ours - theirs)) > 1e-4


# ---------------------------------------------------------------- schedules and errors


@pytest.mark.parametrize(
    "kind, kw, formula",
    [
        ("constant", {}, lambda n: 1.0),
        ("power", {"gamma": 0.1}, lambda n: (n + 1.0) ** -0.1),
        ("power", {"gamma": 0.5}, lambda n: (n + 1.0) ** -0.5),
        ("step", {"factor": 0.5, "every": 500}, lambda n: 0.5 ** (n // 500)),
        ("step", {"factor": 0.3, "every": 7}, lambda n: 0.3 ** (n // 7)),
        (
            "cosine",
            {"decay_steps": 100, "alpha": 0.1},
            lambda n: 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(n, 100) / 100)),
        ),
        ("cosine", {"decay_steps": 40}, lambda n: 0.5 * (1 + np.cos(np.pi * min(n, 40) / 40))),
    ],
)
def test_schedule_formulas(kind, kw, formula):
    s = optim.schedule(kind, **kw)
    ns = [0, 1, 2, 6, 7, 39, 40, 41, 99, 100, 101, 499, 500, 1000, 1501]
    got = np.array([float(s(jnp.asarray(n, jnp.int32))) for n in ns])
    want = np.array([formula(n) for n in ns])
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    assert got[0] == 1.0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: optim.make("adamw", 0.1), "unknown optimizer"),
        (lambda: optim.make("adam", 0.1, momentum=0.9), "no hyperparameter"),
        (lambda: optim.schedule("linear"), "unknown schedule"),
        (lambda: optim.schedule("step", gamma=0.1), "no parameter"),
        (lambda: optim.schedule("step", factor=0.0), "factor"),
        (lambda: optim.schedule("cosine", decay_steps=-1), "decay_steps"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
