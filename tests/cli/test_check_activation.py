"""``check --activation {relu,clip,repu:P}``: which activation, and a ``clip`` net's frozen neurons.

* The default is the activation the model file stores (a ``.npz``), else ``relu`` (a state dict;
  the note says so); a flag that contradicts the stored one, or an unknown name, exits 2 with one
  line.
* A constructed ``clip`` net: its dead, saturated and moving neurons (layers 1 and 2) are found
  and listed in the JSON (``saturated``, ``frozen``, ``moving``, ``model.activation``).
* Frozen parameters against an independent computation: the gradient (``jax.grad``) of the
  output at 4001 points of the box is zero for every parameter ``check`` counts as frozen, and
  nonzero for a saturated neuron's outgoing weight (it still trains).
* ``repu:2``: the first layer's verdicts are ReLU's.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_nonconv import cli
from jaxnn_nonconv.core import nets
from tests.helpers import usage_error

# On [-1, 1]. Layer 1: 2.5 + x (saturated, >= 1.5), -3 - x (dead), x and 2x - 1 (moving).
# Layer 2 reads h = (1, 0, clip(x), clip(2x - 1)): 1.5 + h0 - h2 + 0.5 h3 >= 1.5 (saturated) and
# h2 + h3 - 0.5 (moving: -0.5 at x = 0, 1.5 at x = 1) and -h0 - h2 (dead by sign).
W1 = np.array([[1.0], [-1.0], [1.0], [2.0]], np.float32)
B1 = np.array([2.5, -3.0, 0.0, -1.0], np.float32)
W2 = np.array([[1.0, 1.0, -1.0, 0.5], [0.0, 0.0, 1.0, 1.0], [-1.0, 0.0, -1.0, 0.0]], np.float32)
B2 = np.array([1.5, -0.5, 0.0], np.float32)
W3, B3 = np.ones((1, 3), np.float32), np.zeros(1, np.float32)
PARAMS = ((W1, B1), (W2, B2), (W3, B3))


def _save(path, activation=None):
    arrays = {"W0": W1, "b0": B1, "W1": W2, "b1": B2, "W2": W3, "b2": B3}
    if activation is not None:
        arrays["activation"] = np.array(activation)
    np.savez(path, **arrays)
    return str(path)


def _run(argv, capsys) -> dict:
    assert cli.main([str(a) for a in argv] + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("act")
    return {"clip": _save(d / "clip.npz", "clip"), "none": _save(d / "none.npz")}


def test_clip_net_frozen_neurons(files, capsys):
    out = _run(["check", files["clip"], "--box=-1:1"], capsys)
    assert out["model"]["activation"] == "clip"
    l1, l2 = out["layers"]
    assert (l1["inactive"], l1["saturated"], l1["moving"]) == ([1], [0], [2, 3])
    assert l1["frozen"] == [0, 1] and l1["frozen_unknown"] == []
    assert (l2["inactive"], l2["saturated"], l2["moving"]) == ([2], [0], [1])
    assert l1["permanent_saturated"] == [0] and l2["permanent"] == [2]
    assert out["constant"] is False
    # Frozen: layer 1 neuron 0 (w, b), neuron 1 (w, b and its 3 outgoing weights); layer 2
    # neuron 2 (sign dead: 4 weights, bias, outgoing weight), one weight shared with neuron 1's.
    # Not layer 2 neuron 0 (saturated, but revivable from upstream).
    assert out["frozen_parameters"] == 2 + 5 + 6 - 1
    # The text output counts the frozen-vs-moving undecided neurons too (not only dead-vs-alive).
    assert cli.main(["check", files["clip"], "--box=-1:1"]) == 0
    text = capsys.readouterr().out
    for layer in out["layers"]:
        want = f"frozen or moving undecided: {len(layer['frozen_unknown'])}"
        assert f"layer {layer['layer']}: saturated" in text and want in text, text


def test_frozen_parameters_have_zero_gradient(files, capsys):
    """Independent check: ``jax.grad`` of the output over a dense grid of the box."""
    out = _run(["check", files["clip"], "--box=-1:1"], capsys)
    x = jnp.linspace(-1.0, 1.0, 4001, dtype=jnp.float32)[:, None]
    params = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in PARAMS)

    def per_point(p, xi):
        return nets.realization(p, xi[None, :], "clip")[0]

    grads = jax.vmap(jax.grad(per_point), in_axes=(None, 0))(params, x)
    moves = [tuple(np.any(np.asarray(g) != 0, axis=0) for g in layer) for layer in grads]
    zero = sum(int((~m).sum()) for layer in moves for m in layer)
    assert out["frozen_parameters"] <= zero
    w1_moves, b1_moves = moves[0]
    assert not w1_moves[[0, 1]].any() and not b1_moves[[0, 1]].any()  # incoming: frozen
    assert moves[1][0][1, 0]  # the saturated layer-1 neuron's weight into a moving one trains
    assert moves[2][0][0, 0]  # so does the saturated layer-2 neuron's


def test_default_is_stored_else_relu(files, capsys):
    relu = _run(["check", files["none"], "--box=-1:1"], capsys)
    assert relu["model"]["activation"] == "relu"
    assert any("ReLU was assumed" in n for n in relu["notes"])
    assert "saturated" not in relu["layers"][0]
    given = _run(["check", files["none"], "--box=-1:1", "--activation", "clip"], capsys)
    assert given["model"]["activation"] == "clip"
    assert any("clip as given" in n for n in given["notes"])
    stored = _run(["check", files["clip"], "--box=-1:1"], capsys)
    assert given["layers"] == stored["layers"]


@pytest.mark.parametrize(
    "flag, words",
    [("relu", "contradicts the model's own activation clip"), ("clipp", "'clipp'")],
)
def test_bad_activation_flag(files, flag, words, capsys):
    line = usage_error(["check", files["clip"], "--box=-1:1", "--activation", flag], capsys)
    assert words in line


def test_repu_first_layer_is_relus(files, capsys):
    relu = _run(["check", files["none"], "--box=-1:1"], capsys)
    repu = _run(["check", files["none"], "--box=-1:1", "--activation", "repu:2"], capsys)
    assert repu["model"]["activation"] == "repu:2"
    for key in ("inactive", "active", "unknown"):
        assert repu["layers"][0][key] == relu["layers"][0][key]
    assert repu["layers"][1]["inactive"] == [2]  # sign dead, whatever the activation
