"""Helpers shared by several test files (fixtures shared by several files live in conftest.py)."""

import contextlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np

from jaxnn_nonconv import cli

REPO = Path(__file__).resolve().parents[1]


def strict_json(text: str):
    """``json.loads`` that refuses ``NaN``/``Infinity``, which are not JSON."""

    def bad(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=bad)


def cli_json(argv: list[str]) -> dict:
    """Run ``jaxnn-nonconv ARGV`` in-process (without touching the persistent compilation cache);
    check exit code 0; return its stdout parsed as strict JSON."""
    old = os.environ.get("JAXNN_NONCONV_CACHE")
    os.environ["JAXNN_NONCONV_CACHE"] = ""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            assert cli.main([str(a) for a in argv]) == 0
    finally:
        if old is None:
            del os.environ["JAXNN_NONCONV_CACHE"]
        else:
            os.environ["JAXNN_NONCONV_CACHE"] = old
    return strict_json(buf.getvalue())


def usage_error(argv, capsys) -> str:
    """Run the CLI; check exit code 2, nothing on stdout, one line on stderr; return that line."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    return lines[0]


@contextlib.contextmanager
def one_device():
    """Within it, ``engine.run`` (and what calls it) uses one JAX device by default, as a reader's
    CPU has: it compiles its chunk program once for each device it runs on, so on the suite's 4
    simulated CPU devices an expensive run whose results do not depend on the device count (they
    never do: tests/engine/test_train.py checks it) would compile up to 4 times. tests/conftest.py
    holds it for the whole suite; the ``all_devices`` fixture lifts it."""
    import jax

    old = jax.local_device_count
    jax.local_device_count = lambda *args, **kwargs: 1
    try:
        yield old
    finally:
        jax.local_device_count = old


def python_blocks(path: Path) -> list[str]:
    """The ```` ```python ```` blocks of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), re.S | re.M)


def within(value, ci) -> bool:
    """``ci[0] <= value <= ci[1]``."""
    return ci[0] <= value <= ci[1]


def run_page(page: Path, work: Path, name: str) -> dict:
    """Execute the python blocks of ``page`` in order, in one namespace, with ``work`` as the
    current directory (as a reader copying them into one session would); return the namespace."""
    old = Path.cwd()
    os.chdir(work)
    namespace: dict = {"__name__": name}
    try:
        for i, block in enumerate(python_blocks(page)):
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
    finally:
        os.chdir(old)
    namespace["_work"] = work
    return namespace


# --- networks whose dead and alive neurons are known by construction -------------------------
# Every network of :func:`constructed` has, on the box ``[-1, 1]^d``:
#
# * layer 1: neurons 0, 1 with a very negative bias (``b = -|w|_1 - 1``: max over the box is -1),
#   neurons 2..5 alive, each only near its corner ``sign(w)`` (``b = 0.5 - |w|_1``: max 0.5);
# * layer 2: neuron 0 with every incoming weight and its bias ``<= 0`` (dead for any input),
#   neuron 1 with mixed weights and bias -1000 (dead by the interval bound), neurons 2, 3 with
#   weights and bias ``> 0`` (active everywhere), neuron 4 active only where layer-1 neuron 2
#   exceeds 0.25, i.e. near one corner of the box (witness: that corner).

INACTIVE = ([0, 1], [0, 1])
ACTIVE = ([2, 3, 4, 5], [2, 3, 4])


def constructed(d: int, seed: int = 0, dtype=np.float32):
    """``((W1, b1), (W2, b2), (W3, b3))`` with ``W: (out, in)``; see the module docstring."""
    rng = np.random.default_rng(seed + d)
    w1 = rng.normal(size=(6, d))
    w1[np.abs(w1) < 0.1] = 0.5  # no zero weights: the witness corner is unique
    b1 = np.empty(6)
    b1[:2] = -np.abs(w1[:2]).sum(1) - 1.0
    b1[2:] = 0.5 - np.abs(w1[2:]).sum(1)
    w2 = rng.normal(size=(5, 6))
    b2 = np.empty(5)
    w2[0], b2[0] = -np.abs(w2[0]), -0.1
    b2[1] = -1000.0
    w2[2:4], b2[2:4] = np.abs(w2[2:4]) + 0.1, 0.5
    w2[4], b2[4] = 0.0, -0.25
    w2[4, 2] = 1.0  # z = h_2 - 0.25 > 0 only near the corner sign(w1[2])
    w3, b3 = rng.normal(size=(1, 5)), np.zeros(1)
    return tuple((w.astype(dtype), b.astype(dtype)) for w, b in ((w1, b1), (w2, b2), (w3, b3)))


def corner(params) -> np.ndarray:
    """The witness of layer-2 neuron 4: the corner ``sign(w1[2])`` of ``[-1, 1]^d``."""
    return np.sign(params[0][0][2]).astype(np.float64)


def to_torch(params):
    """The network as a PyTorch ``nn.Sequential`` of ``Linear`` and ``ReLU`` layers."""
    import torch

    layers = []
    for w, b in params:
        lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.from_numpy(w).dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def to_flax_dict(params):
    """The network as Flax ``Dense`` variables (``kernel: (in, out)``)."""
    return {"params": {f"Dense_{k}": {"kernel": w.T, "bias": b} for k, (w, b) in enumerate(params)}}


def to_equinox(params):
    """The network as an ``eqx.nn.MLP`` (with a dead-by-sign 6th row in layer 2)."""
    import pytest

    eqx = pytest.importorskip("equinox")
    import jax
    import jax.numpy as jnp

    d, width = params[0][0].shape[1], params[0][0].shape[0]
    mlp = eqx.nn.MLP(d, 1, width, 2, key=jax.random.key(0))
    # eqx.nn.MLP has equal hidden widths; give layer 2 a 6th, dead-by-sign row where needed.
    (w1, b1), (w2, b2), (w3, b3) = params
    w2 = np.vstack([w2, -np.ones((1, 6), w2.dtype)])
    b2 = np.append(b2, w2.dtype.type(-1))
    w3 = np.hstack([w3, np.zeros((1, 1), w3.dtype)])
    new = [(w1, b1), (w2, b2), (w3, b3)]
    for k, (w, b) in enumerate(new):
        mlp = eqx.tree_at(
            lambda m, k=k: (m.layers[k].weight, m.layers[k].bias),
            mlp,
            (jnp.asarray(w), jnp.asarray(b)),
        )
    return mlp
