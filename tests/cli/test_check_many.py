"""``check`` on several models, a directory, a VNN-LIB property, a zero-width ``--box``; the
out-of-memory hint names flags ``check`` has."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxnn_nonconv import models
from jaxnn_nonconv.cli import main
from tests.helpers import constructed

D = 3


def run_json(argv, capsys):
    assert main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out)


def verdicts(d):
    return [(la["inactive"], la["active"], la["unknown"]) for la in d["layers"]]


def test_many_models_and_a_directory_give_a_list(tmp_path, capsys):
    params = constructed(D)
    other = constructed(D, seed=5)
    models.save_npz(tmp_path / "a.npz", params)
    models.save_npz(tmp_path / "b.npz", other)
    models.save_nnet(tmp_path / "c.nnet", params)
    (tmp_path / "notes.txt").write_text("not a model")
    one = run_json(["check", tmp_path / "a.npz", "--box=-1:1", "--json"], capsys)
    out = run_json(
        ["check", tmp_path / "a.npz", tmp_path / "b.npz", "--box=-1:1", "--json"], capsys
    )
    assert isinstance(out, list) and [o["file"] for o in out] == [
        str(tmp_path / "a.npz"),
        str(tmp_path / "b.npz"),
    ]
    assert verdicts(out[0]) == verdicts(one)
    listed = run_json(["check", tmp_path, "--box=-1:1", "--json"], capsys)
    assert [o["file"].rsplit("/", 1)[1] for o in listed] == ["a.npz", "b.npz", "c.nnet"]
    assert verdicts(listed[2]) == verdicts(one)  # the .nnet of the same weights


def test_zero_width_box_and_vnnlib_agree(tmp_path, capsys):
    pytest.importorskip("vnnlib")
    models.save_npz(tmp_path / "a.npz", constructed(D))
    box = run_json(["check", tmp_path / "a.npz", "--box=-1:1,0:0,-0.5:1", "--json"], capsys)
    lines = [f"(declare-const X_{j} Real)" for j in range(D)] + ["(declare-const Y_0 Real)"]
    for j, (a, b) in enumerate([(-1, 1), (0, 0), (-0.5, 1)]):
        lines += [f"(assert (>= X_{j} {float(a)}))", f"(assert (<= X_{j} {float(b)}))"]
    (tmp_path / "p.vnnlib").write_text("\n".join(lines) + "\n")
    prop = run_json(
        ["check", tmp_path / "a.npz", "--vnnlib", tmp_path / "p.vnnlib", "--json"], capsys
    )
    assert len(prop) == 1 and verdicts(prop[0]) == verdicts(box)
    assert box["domain"]["box"][1] == [0.0, 0.0]


def test_out_of_memory_hint_names_flags_check_has(tmp_path, capsys, monkeypatch):
    models.save_npz(tmp_path / "a.npz", constructed(D))

    def boom(*args, **kwargs):
        raise MemoryError("cannot allocate 117 GB")

    monkeypatch.setattr(models, "check", boom)
    assert main(["check", str(tmp_path / "a.npz"), "--box=-1:1"]) == 2
    err = capsys.readouterr().err
    assert "out of memory" in err and "--grid" in err and "--chunk-size" not in err
    check_flags = [a.option_strings for a in _check_parser()._actions]
    assert ["--grid"] in check_flags and ["--chunk-size"] not in check_flags


def _check_parser():
    from jaxnn_nonconv.cli._main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["check"]


def test_zero_width_everywhere_in_the_python_api():
    r = models.check(constructed(D), [(0.5, 0.5)] * D)  # a single point: all decided
    assert all(not layer.unknown for layer in r.layers)
    x = np.full((1, D), 0.5)
    z = x @ constructed(D)[0][0].T.astype(np.float64) + constructed(D)[0][1]
    assert list(r.layers[0].active) == np.flatnonzero(z[0] > 0).tolist()
