"""ONNX, ``.nnet``, ``.skops``, ``.keras`` and ``.npz`` with activation: the same verdicts.

The networks of :func:`tests.helpers.constructed` (dead and alive neurons known by construction)
are written in each format by the format's own tools (``onnx.helper``, scikit-learn + ``skops``,
Keras 3), read back, and must give exactly the verdicts of the ``.npz`` of the same weights. The
ONNX reading is checked against an independent forward pass: ``onnxruntime`` on the file.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from jaxnn_nonconv import models
from tests.helpers import ACTIVE, INACTIVE, constructed

D = 3


def box(d=D):
    return [(-1.0, 1.0)] * d


def write_onnx(path, params, *, gemm=False, shift=None, extra=None):
    """The network as an ONNX graph built node by node with ``onnx.helper``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    d = params[0][0].shape[1]
    nodes, inits, cur = [], [], "x"
    if shift is not None:
        inits.append(numpy_helper.from_array(np.asarray(shift, np.float32), "shift"))
        nodes.append(helper.make_node("Sub", [cur, "shift"], ["xs"]))
        cur = "xs"
    nodes.append(helper.make_node("Flatten", [cur], ["xf"]))
    cur = "xf"
    for k, (w, b) in enumerate(params):
        if gemm:
            inits += [numpy_helper.from_array(w, f"W{k}"), numpy_helper.from_array(b, f"b{k}")]
            nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"b{k}"], [f"y{k}"], transB=1))
        else:
            inits += [numpy_helper.from_array(w.T.copy(), f"W{k}")]
            inits += [numpy_helper.from_array(b, f"b{k}")]
            nodes.append(helper.make_node("MatMul", [cur, f"W{k}"], [f"m{k}"]))
            nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [f"y{k}"]))
        cur = f"y{k}"
        if k < len(params) - 1:
            nodes.append(helper.make_node("Relu", [cur], [f"h{k}"]))
            cur = f"h{k}"
    if extra is not None:
        nodes.append(helper.make_node(extra, [cur], ["z"]))
        cur = "z"
    nodes.append(helper.make_node("Identity", [cur], ["out"]))
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, d])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, params[-1][0].shape[0]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def forward(params, x):
    """NumPy forward pass of the read model (float32, as the file)."""
    h = x
    for k, (w, b) in enumerate(params):
        h = h @ w.T + b
        if k < len(params) - 1:
            h = np.maximum(h, 0)
    return h


def assert_verdicts(r, ref):
    for a, b in zip(r.layers, ref.layers, strict=True):
        assert (a.inactive, a.active, a.unknown) == (b.inactive, b.active, b.unknown)
    assert [list(la.inactive) for la in r.layers] == list(INACTIVE)
    assert [list(la.active) for la in r.layers] == list(ACTIVE)


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    params = constructed(D)
    path = tmp_path_factory.mktemp("npz") / "m.npz"
    models.save_npz(path, params)
    return params, models.check(path, box())


def test_npz_carries_its_activation_and_says_when_relu_was_assumed(ref, tmp_path):
    params, r = ref
    assert r.notes == ()  # save_npz writes activation = "relu"
    arrays = {f"{n}{k}": a for k, pair in enumerate(params) for n, a in zip("Wb", pair)}
    np.savez(tmp_path / "bare.npz", **arrays)
    bare = models.check(tmp_path / "bare.npz", box())
    assert "ReLU was assumed" in bare.notes[0] and "ReLU was assumed" in bare.to_dict()["notes"][0]
    assert_verdicts(bare, r)
    np.savez(tmp_path / "tanh.npz", activation=np.array("tanh"), **arrays)
    with pytest.raises(models.NoDeadNeurons, match="tanh"):
        models.load(tmp_path / "tanh.npz")


@pytest.mark.parametrize("gemm", [False, True])
def test_onnx_matches_onnxruntime_and_the_npz_verdicts(ref, tmp_path, gemm):
    ort = pytest.importorskip("onnxruntime")
    params, r = ref
    write_onnx(tmp_path / "m.onnx", params, gemm=gemm)
    m = models.load(tmp_path / "m.onnx")
    x = np.random.default_rng(0).uniform(-1, 1, (64, D)).astype(np.float32)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_allclose(forward(m.params, x), y, rtol=1e-5, atol=1e-5)
    assert_verdicts(models.check(tmp_path / "m.onnx", box()), r)


def test_onnx_input_shift_maps_the_domain(ref, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    params, r = ref
    shift = np.array([2.0, -1.0, 0.5], np.float32)
    write_onnx(tmp_path / "s.onnx", params, shift=shift)
    m = models.load(tmp_path / "s.onnx")
    x = np.random.default_rng(1).uniform(-1, 1, (16, D)).astype(np.float32)
    (y,) = ort.InferenceSession(str(tmp_path / "s.onnx")).run(None, {"x": x + shift})
    np.testing.assert_allclose(forward(m.params, x), y, rtol=1e-5, atol=1e-5)
    shifted = models.check(tmp_path / "s.onnx", [(s - 1.0, s + 1.0) for s in shift])
    assert_verdicts(shifted, r)
    assert any("offset" in n for n in shifted.notes)


@pytest.mark.parametrize("op", ["Sigmoid", "Tanh"])
def test_onnx_refuses_other_nodes_by_name(ref, tmp_path, op):
    pytest.importorskip("onnx")
    write_onnx(tmp_path / "x.onnx", ref[0], extra=op)
    with pytest.raises(models.ModelError, match=op):
        models.load(tmp_path / "x.onnx")


def test_nnet_round_trip_and_normalization(ref, tmp_path):
    params, r = ref
    models.save_nnet(tmp_path / "m.nnet", params)
    m = models.load(tmp_path / "m.nnet")
    for (w, b), (w2, b2) in zip(params, m.params, strict=True):
        np.testing.assert_array_equal(w.astype(np.float64), w2)
        np.testing.assert_array_equal(b.astype(np.float64), b2)
    got = models.check(tmp_path / "m.nnet", box())
    assert_verdicts(got, r)
    assert "normalization" in got.notes[0]
    # With a normalization, the raw box mean +- range is the network's [-1, 1]^d.
    mean, scale = np.array([10.0, -3.0, 0.25]), np.array([4.0, 2.0, 0.5])
    models.save_nnet(tmp_path / "n.nnet", params, mean=mean, scale=scale)
    normed = models.check(tmp_path / "n.nnet", list(zip(mean - scale, mean + scale)))
    assert_verdicts(normed, r)
    # Clipping: raw inputs beyond max are clipped, so a box past it maps onto the same box.
    models.save_nnet(tmp_path / "c.nnet", params, lo=-np.ones(D), hi=np.ones(D))
    clipped = models.check(tmp_path / "c.nnet", [(-5.0, 7.0)] * D)
    assert_verdicts(clipped, r)


def _mlp(cls, params, activation="relu"):
    sk = pytest.importorskip("sklearn.neural_network")
    est = getattr(sk, cls)(hidden_layer_sizes=(6, 5), activation=activation, max_iter=1)
    x = np.random.default_rng(0).uniform(-1, 1, (8, D))
    y = np.arange(8) % 2 if cls == "MLPClassifier" else x[:, 0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x, y)
    est.coefs_ = [w.T.copy() for w, _ in params]  # float32: the .npz's dtype
    est.intercepts_ = [b.copy() for _, b in params]
    return est


@pytest.mark.parametrize("cls", ["MLPRegressor", "MLPClassifier"])
def test_sklearn_object_and_skops_file(ref, tmp_path, cls):
    sio = pytest.importorskip("skops.io")
    params, r = ref
    est = _mlp(cls, params)
    assert_verdicts(models.check(est, box()), r)
    sio.dump(est, tmp_path / "m.skops")
    assert_verdicts(models.check(tmp_path / "m.skops", box()), r)
    tanh = _mlp(cls, params, "tanh")
    with pytest.raises(models.NoDeadNeurons):
        models.check(tanh, box())
    sio.dump(tanh, tmp_path / "t.skops")
    with pytest.raises(models.NoDeadNeurons):
        models.load(tmp_path / "t.skops")


def test_skops_file_of_another_model_is_refused(tmp_path):
    sio = pytest.importorskip("skops.io")
    lin = pytest.importorskip("sklearn.linear_model")
    sio.dump(lin.LinearRegression().fit(np.eye(3), np.ones(3)), tmp_path / "lin.skops")
    with pytest.raises(models.ModelError, match="LinearRegression"):
        models.load(tmp_path / "lin.skops")


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _keras_model(keras, params, *, separate_relu=False, act="relu"):
    layers = [keras.Input((D,))]
    for k, (w, _) in enumerate(params):
        last = k == len(params) - 1
        a = "linear" if last or separate_relu else act
        layers.append(keras.layers.Dense(w.shape[0], activation=a))
        if separate_relu and not last:
            layers.append(keras.layers.ReLU())
    model = keras.Sequential(layers)
    for layer, (w, b) in zip([x for x in model.layers if x.weights], params, strict=True):
        layer.set_weights([w.T, b])
    return model


@pytest.mark.parametrize("separate_relu", [False, True])
def test_keras_file(ref, tmp_path, keras, separate_relu):
    params, r = ref
    import jax

    model = _keras_model(keras, params, separate_relu=separate_relu)
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(2).uniform(-1, 1, (16, D)).astype(np.float32)
    m = models.load(tmp_path / "m.keras")
    with jax.numpy_rank_promotion("allow"):  # Keras broadcasts its biases
        y = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(forward(m.params, x), y, rtol=1e-5, atol=1e-5)
    assert_verdicts(models.check(tmp_path / "m.keras", box()), r)


def test_keras_refuses_other_activations(ref, tmp_path, keras):
    _keras_model(keras, ref[0], act="tanh").save(tmp_path / "t.keras")
    with pytest.raises(models.NoDeadNeurons, match="tanh"):
        models.load(tmp_path / "t.keras")
    seq = keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(4), keras.layers.LayerNormalization()]
    )
    seq.save(tmp_path / "n.keras")
    with pytest.raises(models.ModelError, match="LayerNormalization"):
        models.load(tmp_path / "n.keras")
