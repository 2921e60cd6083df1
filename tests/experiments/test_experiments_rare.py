"""Splitting sweeps inside experiments: `run` + `report` at tiny sizes, against closed forms.

* Point box (every neuron of every layer active with probability 1/2, independently given the
  previous layers): P(not constant) = (1 - 2^-N)^L exactly, so the fitted rate is -ln(1 - 2^-N).
* First layer on [0, 2] with the PyTorch init: P(no inactive) = (1 - p)^H with p = 5/16
  (arXiv 2402.05155 Thm 4.2).
* A rerun reuses the stored cells (rare_event is not called again); changed settings recompute.
"""

import json
import math
from pathlib import Path

import pytest

from jaxnn_nonconv import experiments, rare as rare_api
from jaxnn_nonconv.experiments import _splitting as experiments_rare, config, report
from jaxnn_nonconv.experiments.report import _rare as report_rare
from jaxnn_nonconv.rare import _splitting as rare

POINT = """
[experiment]
kind = "depth_width"
claim = "tiny splitting sweep"
trials = 64
seed = 0
chunk_size = 64

[experiment.splitting]
width = [2]
depth = [1, 3, 6]
particles = 512
replicates = 4

[train]
arch = [1, 2, 1]
init = "normal"
box = "0.5:0.5000001"

[sweep]
width = [2]
depth = [1]
"""

SHALLOW = """
[experiment]
kind = "depth_width"
claim = "first layer"
trials = 16
chunk_size = 16

[experiment.splitting]
event = "no_inactive"
width = [8, 64]
particles = 256
replicates = 4

[train]
arch = [1, 2, 1]
init = "pytorch"
box = "0:2"

[sweep]
width = [2]
"""


def _load(tmp_path: Path, text: str, name: str = "exp"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return experiments.load(path)


@pytest.fixture(scope="module")
def point_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("split")
    exp = _load(tmp, POINT)  # 512 particles, 4 replicates, width 2: tests/rare's program
    out = experiments.run_experiment(exp, tmp / "run")
    return exp, out, report.report(out, formats=("png",))


def test_point_box_matches_closed_form(point_run):
    _, out, summary = point_run
    rows = summary["extra"]["splitting"]["rows"]
    assert [(r["width"], r["depth"]) for r in rows] == [(2, 1), (2, 3), (2, 6)]
    for r in rows:
        exact = r["depth"] * math.log10(0.75)
        assert r["log10_ci"][0] < exact < r["log10_ci"][1], r
        assert abs(r["log10_estimate"] - exact) < 0.1
    # Depth 1: the stored closed form log10(1 - p^H), p = 1/2 on a point box.
    assert rows[0]["log10_exact"] == pytest.approx(math.log10(0.75))
    (rate,) = summary["extra"]["splitting"]["rates"]
    lo, hi = rate["fit"]["rate_ci"]
    assert lo < -math.log(0.75) < hi
    assert rate["bound_rate"] == pytest.approx(-math.log1p(-(2.0**-6)))  # q = 2^-(N+1), N = 2
    assert (out / "figures" / "splitting_depth.png").stat().st_size > 0
    assert "figures/splitting_depth.png" in summary["figures"]


def test_rerun_reuses_cells_and_changes_recompute(point_run, monkeypatch, tmp_path):
    exp, out, _ = point_run
    before = {p.name: p.read_text() for p in (out / "splitting").glob("w*.json")}
    assert len(before) == 3

    def boom(*a, **k):
        raise AssertionError("recomputed a stored splitting cell")

    monkeypatch.setattr(rare_api, "rare_event", boom)
    experiments.run_experiment(exp, out)
    assert {p.name: p.read_text() for p in (out / "splitting").glob("w*.json")} == before
    calls = []
    monkeypatch.setattr(rare_api, "rare_event", lambda *a, **k: calls.append(a) or boom())
    more = _load(tmp_path, POINT.replace("particles = 512", "particles = 128"))
    with pytest.raises(AssertionError):
        experiments.run_experiment(more, out)  # same training config: resumes; splitting recomputes
    assert len(calls) == 1
    # A narrower sweep: report shows only its cells (the others stay on disk).
    monkeypatch.undo()
    fewer = _load(tmp_path, POINT.replace("depth = [1, 3, 6]", "depth = [1, 3]"))
    experiments.run_experiment(fewer, out)
    assert [e["depth"] for e in experiments_rare.load_splitting(out)] == [1, 3]
    assert len(list((out / "splitting").glob("w*.json"))) == 3


def test_first_layer_matches_one_minus_p_to_the_h(tmp_path):
    exp = _load(tmp_path, SHALLOW)
    entries = experiments_rare.run_splitting(exp, tmp_path / "run")
    for e in entries:
        exact = e["width"] * math.log10(1 - 5 / 16)
        assert e["log10_exact"] == pytest.approx(exact)
        assert e["log10_ci"][0] < exact < e["log10_ci"][1], e
    summary = report_rare.report_splitting(tmp_path / "run", tmp_path, ("png",))
    (rate,) = summary["extra"]["rates"]
    assert rate["exact_rate"] == pytest.approx(-math.log(11 / 16))
    assert abs(rate["fit"]["rate"] - rate["exact_rate"]) < 0.03
    assert (tmp_path / "splitting_width.png").exists()


@pytest.mark.parametrize(
    "table, msg",
    [
        ("width = [2]\nbogus = 1", "unknown key 'bogus'"),
        ('width = [2]\nevent = "nope"', "splitting event"),
        ("width = []", "splitting.width"),
        ("width = [2]\nparticles = 1", "splitting.particles"),
        ('width = [3]\nevent = "no_inactive"\ngroup = 2', "group must divide"),
    ],
)
def test_bad_splitting_tables(tmp_path, table, msg):
    text = POINT.split("[experiment.splitting]")[0] + "[experiment.splitting]\n" + table + "\n"
    text += "[train]" + POINT.split("[train]")[1]
    with pytest.raises(config.ConfigError, match=msg):
        _load(tmp_path, text)


def test_splitting_not_in_config_hash(tmp_path):
    exp = _load(tmp_path, POINT)
    assert "splitting" not in exp.to_dict()
    assert json.dumps(exp.to_dict())  # the run's manifest stays JSON-able


def test_shipped_configs_quick_and_full_sizes():
    root = Path(__file__).resolve().parents[2] / "experiments"
    dw, dw_full = (experiments.load(root / "depth_width.toml", full=f) for f in (False, True))
    assert dw.splitting["event"] == "not_constant" and max(dw.splitting["depth"]) <= 512
    assert dw_full.splitting["width"] == [2, 3, 4, 6, 8, 12, 16]
    assert max(dw_full.splitting["depth"]) == 512
    sw = experiments.load(root / "shallow_width.toml", full=True)
    assert sw.splitting["event"] == "no_inactive" and max(sw.splitting["width"]) == 1024


def test_overflowed_image_certifies_nothing():
    """A vertex at +inf (float32 overflow deep in an N(0,1) net) must not make a neuron
    'inactive' through -inf <= -inf; before the fix, float32 sweeps at depth 512 gave
    brackets below the float64 ones."""
    import jax.numpy as jnp

    f = jnp.float32
    p = rare.Particles(
        pts=jnp.array([[jnp.inf, 1.0], [jnp.inf, 2.0]], f),
        n_pts=jnp.asarray(2, jnp.int32),
        corner=jnp.array([True, True]),
        exact=jnp.asarray(True),
        probe=jnp.array([[0.0, 1.0]], f),
        cell_lo=jnp.array([[0.0, 1.0]], f),
        cell_hi=jnp.array([[jnp.inf, 1.0]], f),
        rows=jnp.zeros((0, 3), f),
        certain=jnp.asarray(True),
    )
    rows = jnp.array([[-1.0, 1.0, -10.0]], f)  # not sign-dead: max over a finite box is unknown
    inact, _ = rare._neuron_status(p, rows, jnp.asarray(2, jnp.int32), False, 1)
    assert not bool(inact[0])
