"""``experiments/input_density.toml``: ``input_dist`` as a ``[sweep]`` key reaches every cell's
problem, and each law gets its own levels (the level cache keys differ)."""

from pathlib import Path

from jaxnn_nonconv import experiments
from jaxnn_nonconv.core import distributions
from jaxnn_nonconv.estimation import levels

PATH = Path(__file__).resolve().parents[2] / "experiments" / "input_density.toml"


def test_the_sweep_over_input_laws():
    exp = experiments.load(PATH)
    laws = [exp.cell_config(c).problem.distribution for c in exp.cells()]
    assert laws[0] is None
    assert [type(law) for law in laws[1:]] == [distributions.PiecewisePolynomial] * 2
    assert laws[2].coeffs == ((1.0, -0.5),)  # 2 - x on [0, 2] has mass 2: (2 - x) / 2
    problems = [exp.cell_config(c).problem for c in exp.cells()]
    keys = {levels.cache_key(p, levels.LevelSettings()) for p in problems}
    assert len(keys) == 3
