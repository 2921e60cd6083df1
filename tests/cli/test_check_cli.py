"""Loaders' refusals and the ``check`` / ``advise`` command lines: malformed files and unsupported
layers exit 2 with one line naming the layer; ``--data`` agrees with ``--box`` on the data's box."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxnn_nonconv import cli, models
from tests.helpers import usage_error

torch = pytest.importorskip("torch")
from tests.helpers import INACTIVE, constructed, corner, to_torch  # noqa: E402

nn = torch.nn


def run_json(argv, capsys) -> dict:
    assert cli.main([str(a) for a in argv] + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "module, phrase",
    [
        (nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Conv1d(4, 4, 1)), "layer '2': Conv1d"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)), "layer '1' is tanh"),
        (nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(), nn.Linear(4, 1)), "no neuron can be dead"),
        (nn.Sequential(nn.Linear(2, 4), nn.Softplus(), nn.Linear(4, 1)), "no neuron can be dead"),
        (nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)), "BatchNorm1d"),
        (nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1)), "without a ReLU"),
        (nn.Sequential(nn.Linear(2, 4), nn.ReLU()), "must be Linear"),
    ],
)
def test_unsupported_torch_modules(module, phrase):
    with pytest.raises(models.ModelError, match=phrase):
        models.from_torch_module(module)


def test_leaky_and_softplus_are_told_no_neuron_can_be_dead():
    eqx = pytest.importorskip("equinox")
    import jax

    for act in (jax.nn.leaky_relu, jax.nn.softplus):
        mlp = eqx.nn.MLP(2, 1, 4, 1, activation=act, key=jax.random.key(0))
        with pytest.raises(models.NoDeadNeurons, match="no neuron can be dead"):
            models.from_object(mlp)


def test_flax_layout_refusals():
    conv = {"params": {"Conv_0": {"kernel": np.ones((3, 3, 1, 4)), "bias": np.zeros(4)}}}
    with pytest.raises(models.ModelError, match=r"layer .Conv_0.*convolutions"):
        models.from_flax(conv)
    bn = {"params": {"Dense_0": {"kernel": np.ones((2, 4))}, "BatchNorm_0": {"scale": np.ones(4)}}}
    with pytest.raises(models.ModelError, match="layer 'BatchNorm_0'"):
        models.from_flax(bn)


def write_bad_files(tmp, params) -> dict[str, tuple]:
    """name -> (path, phrase of the one-line error)."""
    sd = to_torch(params).state_dict()
    bad = {}
    (tmp / "garbage.pt").write_bytes(b"not a zip file at all")
    bad["garbage .pt"] = (tmp / "garbage.pt", "not a readable state_dict")
    torch.save(to_torch(params), tmp / "module.pt")  # a pickled module: weights_only refuses it
    bad["pickled module"] = (tmp / "module.pt", "not a readable state_dict")
    (tmp / "trunc.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    bad["truncated safetensors"] = (tmp / "trunc.safetensors", "not a readable safetensors")
    conv = dict(sd)
    conv["0.weight"] = torch.ones(6, 1, 3, 3)
    torch.save(conv, tmp / "conv.pt")
    bad["conv weight"] = (tmp / "conv.pt", "layer '0': weight has shape (6, 1, 3, 3)")
    bn = dict(sd)
    bn["1.running_mean"] = torch.zeros(6)
    torch.save(bn, tmp / "bn.pt")
    bad["batchnorm"] = (tmp / "bn.pt", "layer '1': 'running_mean'")
    mism = dict(sd)
    mism["2.weight"] = torch.ones(5, 7)
    torch.save(mism, tmp / "mism.pt")
    bad["mismatch"] = (tmp / "mism.pt", "layer '2': weight has 7 inputs")
    nan = dict(sd)
    nan["2.bias"] = torch.full((5,), float("nan"))
    torch.save(nan, tmp / "nan.pt")
    bad["nan"] = (tmp / "nan.pt", "layer '2': weights contain NaN")
    np.savez(tmp / "obj.npz", W0=np.array([object()], dtype=object))
    bad["object npz"] = (tmp / "obj.npz", "not a readable .npz")
    np.savez(tmp / "names.npz", kernel=np.ones((2, 2)))
    bad["npz names"] = (tmp / "names.npz", "expected W0, b0")
    (tmp / "m.h5").write_bytes(b"x")
    bad["suffix"] = (tmp / "m.h5", "unknown model file type")
    (tmp / "m.onnx").write_bytes(b"x")
    bad["onnx"] = (tmp / "m.onnx", "not a readable ONNX file")
    bad["missing"] = (tmp / "nope.pt", "no such file")
    return bad


def test_malformed_model_files_exit_2_with_one_line(tmp_path, capsys):
    params = constructed(3)
    for name, (path, phrase) in write_bad_files(tmp_path, params).items():
        line = usage_error(["check", path, "--box=-1:1"], capsys)
        assert phrase in line, (name, line)
        assert line.startswith("jaxnn-nonconv: error:")


def test_bad_data_and_box_exit_2(tmp_path, capsys):
    params = constructed(3)
    models.save_npz(tmp_path / "m.npz", params)
    (tmp_path / "text.csv").write_text("a,b,c\n1,2,x\n")
    np.save(tmp_path / "two.npy", np.ones((4, 2)))
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan, 1.0]]))
    m = tmp_path / "m.npz"
    cases = [
        (["--data", tmp_path / "text.csv"], "not a readable .csv"),
        (["--data", tmp_path / "two.npy"], "data has 2 column(s)"),
        (["--data", tmp_path / "nan.npy"], "non-finite value at row 0, column 1"),
        (["--data", tmp_path / "nope.csv"], "no such file"),
        (["--box", "0:1,0:1"], "box has 2 coordinate(s)"),
        (["--box", "1:0"], "reversed"),
        ([], "one of the arguments --box --data --vnnlib is required"),
        (["--box", "0:1", "--pad", "0.1"], "--pad and --quantile apply to --data only"),
        (["--data", tmp_path / "two.npy", "--box", "0:1"], "not allowed with"),
    ]
    for flags, phrase in cases:
        assert phrase in usage_error(["check", m, *flags], capsys), flags


@pytest.mark.parametrize("fmt", ["csv", "npy", "npz"])
def test_cli_data_agrees_with_box_on_bounding_box(fmt, tmp_path, capsys):
    d = 3
    params = constructed(d)
    torch.save(to_torch(params).state_dict(), tmp_path / "m.pt")
    rng = np.random.default_rng(0)
    x = np.vstack([rng.uniform(-0.9, 0.8, (100, d)), corner(params) * 0.85])
    path = tmp_path / f"x.{fmt}"
    if fmt == "csv":
        np.savetxt(path, x, delimiter=",", header="f0,f1,f2", comments="")
    elif fmt == "npy":
        np.save(path, x)
    else:
        np.savez(path, X=x, y=np.zeros(len(x)))
    with_data = run_json(["check", tmp_path / "m.pt", "--data", path], capsys)
    lo, hi = x.min(0), x.max(0)
    box = ",".join(f"{float(a)!r}:{float(b)!r}" for a, b in zip(lo, hi))
    with_box = run_json(["check", tmp_path / "m.pt", f"--box={box}"], capsys)
    assert with_data["domain"]["box"] == with_box["domain"]["box"]
    assert with_data["domain"]["n_points"] == 101
    for a, b in zip(with_data["layers"], with_box["layers"]):
        assert a["inactive"] == b["inactive"] and a["width"] == b["width"]
        assert set(b["active"]) <= set(a["active"])
        assert set(a["inactive"]) <= set(a["never_fired"])
    for key in ("layers", "constant", "frozen_parameter_fraction", "domain"):
        assert key in with_box
    assert set(INACTIVE[0]) <= set(with_box["layers"][0]["inactive"])  # the box is smaller


def test_cli_table(tmp_path, capsys):
    models.save_npz(tmp_path / "m.npz", constructed(1))
    assert cli.main(["check", str(tmp_path / "m.npz"), "--box=-1:1"]) == 0
    out = capsys.readouterr().out
    words = " ".join(out.split())  # the 80-column table wraps its headers and footer at spaces
    assert "certified" in words and "frozen parameters" in words


def test_advise_cli(capsys):
    out = run_json(
        ["advise", "--arch", "1,4,1", "--box", "0:2", "--trials", "64", "--inits", "normal"],
        capsys,
    )
    assert sorted((r["init"], r["zero_bias"]) for r in out["rows"]) == [
        ("normal", False),
        ("normal", True),
    ]
    assert [r["rank"] for r in out["rows"]] == [1, 2]
    assert "unknown init 'rleu'" in usage_error(
        ["advise", "--arch", "1,4,1", "--box", "0:2", "--inits", "rleu"], capsys
    )
    assert "box has 2" in usage_error(["advise", "--arch", "1,4,1", "--box", "0:1,0:1"], capsys)
