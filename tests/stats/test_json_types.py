"""JSON types never depend on the data (docs/api.md, "JSON contracts"): every ``estimate``,
``log10_estimate``, ``count`` (and ``log10_K``) is a number or ``null``, never a list, also when
neurons stay undecided; the bracket lives in ``bracket`` / ``log10_bracket`` / ``count_bracket``
and the point value is its midpoint.

The JSON trees are walked recursively, so an entry added later is checked too. Brackets are
checked against counts known independently: a hand-made tally whose counts are set here, and the
detector's own per-trial counts for the CLI run.
"""

import json
import math

import numpy as np
import pytest

from jaxnn_nonconv import cli, engine, estimation
from jaxnn_nonconv.core import problems

POINT_KEYS = ("estimate", "log10_estimate", "count", "log10_K")
PAIRS = {
    "estimate": "bracket",
    "log10_estimate": "log10_bracket",
    "count": "count_bracket",
    "log10_K": "log10_K_bracket",
}


def _entries(tree, path="$"):
    """Every dict of ``tree`` with its JSON path."""
    if isinstance(tree, dict):
        yield path, tree
        for k, v in tree.items():
            yield from _entries(v, f"{path}.{k}")
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _entries(v, f"{path}[{i}]")


def _log10_mid(a, b):
    """log10 of the midpoint of ``10^a, 10^b`` by a route other than the library's (natural logs,
    the larger end factored out; ``None`` is log10 0)."""
    if a is None and b is None:
        return None
    vals = [v for v in (a, b) if v is not None]
    top = max(vals)
    s = sum(math.exp((v - top) * math.log(10)) for v in vals)
    return top + math.log(s / 2) / math.log(10)


def check_types(tree) -> int:
    """Assert the contract on every entry; return how many entries were bracketed."""
    undecided = 0
    for path, d in _entries(tree):
        for key in POINT_KEYS:
            if key not in d:
                continue
            v = d[key]
            assert v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)), (
                path,
                key,
                v,
            )
            pair = PAIRS[key]
            if key == "estimate" and "bracket" not in d:
                continue  # e.g. restarts without an entry of its own are checked via "bracket"
            assert pair in d, (path, key, "no", pair)
            b = d[pair]
            if v is None:
                continue
            assert isinstance(b, list) and len(b) == 2, (path, pair, b)
            if key == "log10_estimate":
                assert v == pytest.approx(_log10_mid(*b), abs=1e-12), (path, v, b)
            elif key == "log10_K":
                assert min(x for x in b if x is not None) <= v + 1e-12
            elif path.endswith(".restarts"):
                assert b[0] <= v <= b[1]
            else:
                assert v == (b[0] + b[1]) / 2, (path, key, v, b)
                undecided += b[0] != b[1]
            if key == "count" and b[0] == b[1]:
                assert isinstance(v, int), (path, v)  # decided: the exact count
    return undecided


def test_summary_of_a_tally_with_unknowns():
    """A hand-made tally: counts known by construction, so brackets and midpoints are known."""
    cfg = engine.TrainConfig(
        arch=(1, 4, 2, 1), problem=problems.Problem("x^2", ((0.0, 1.0),))
    ).validate()
    m = 100
    t = estimation.Tally(
        trials=m,
        inactive=np.array([30, 10]),
        unknown=np.array([0, 7]),
        sign_dead=np.array([0, 5]),
        empirical=np.array([30, 12]),
        sampled_inactive=np.array([30, 6]),
        sampled_possible=np.array([30, 9]),
        any_inactive=25,
        any_possible=31,
        dead_layer=2,
        dead_layer_possible=5,
        overflow=0,
    )
    s = json.loads(json.dumps(estimation.summarize(cfg, t).to_dict()))
    assert check_types(s) >= 4  # any_inactive, constant_network, layer 2, both complements
    assert s["any_inactive"]["count_bracket"] == [25, 31] and s["any_inactive"]["count"] == 28.0
    assert s["any_inactive"]["bracket"] == [0.25, 0.31]
    assert s["constant_network"]["count"] == 3.5
    layer2 = s["inactive_fraction_per_layer"][1]
    assert layer2["bracket"] == [10 / 200, 17 / 200]
    assert layer2["estimate"] == (10 / 200 + 17 / 200) / 2
    nc = s["not_constant"]  # complement: seen m - 5 .. m - 2 times
    assert nc["count_bracket"] == [95, 98] and nc["bracket"] == [0.95, 0.98]
    assert nc["log10_bracket"] == [math.log10(0.95), math.log10(0.98)]
    assert s["first_layer_neuron_inactive"]["count"] == 30  # decided: an int


def test_cli_estimate_with_undecided_neurons(capsys):
    # (It used d = 1, --arch 1,4,2,1, until issue 24 decided those exact zeros; in d = 2 a
    # zero-bias layer-2 neuron that is exactly 0 on a whole cone is still left undecided.)
    argv = "estimate --arch 2,4,4,1 --init glorot_uniform --zero-bias --box=-1:5,-1:5 --trials 2000"
    assert cli.main([*argv.split(), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["unknown_fraction"] > 0.01  # the setting leaves neurons undecided
    assert check_types(s) >= 1
    cfg = engine.TrainConfig(
        arch=(2, 4, 4, 1),
        init="glorot_uniform",
        zero_bias=True,
        problem=problems.Problem("x^2", ((-1.0, 5.0), (-1.0, 5.0))),
    ).validate()
    c = estimation.counts_at_init(cfg, 2000)
    k_lo = int((c["inactive"].sum(1) > 0).sum())
    k_hi = int(((c["inactive"] + c["unknown"]).sum(1) > 0).sum())
    assert s["any_inactive"]["count_bracket"] == [k_lo, k_hi]
    assert s["no_inactive"]["count_bracket"] == [2000 - k_hi, 2000 - k_lo]


def test_cli_estimate_splitting(capsys):
    """d = 2: the certified bounds leave neurons unknown, so both events are bracketed."""
    argv = "estimate --arch 2,4,4,1 --init normal --box 0:1,0:1 --method splitting --json"
    assert cli.main([*argv.split(), "--trials", "64", "--replicates", "2"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert check_types(s) >= 1
    for event in ("not_constant", "no_inactive"):
        e = s[event]
        assert e["method"] == "splitting"
        assert isinstance(e["initializations_needed"]["log10_K_bracket"], list)
