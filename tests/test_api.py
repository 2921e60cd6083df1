"""The package as a library: re-exports, typed results, readable probabilities, dtypes that follow
JAX's x64 convention, ``--version``, messages for odd config files, and no reference to anything
outside the repository."""

import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import jax
import numpy as np
import pytest

import jaxnn_nonconv as jn
from jaxnn_nonconv import cli, estimation
from jaxnn_nonconv.core import nets
from jaxnn_nonconv.stats import results

ROOT = Path(__file__).resolve().parents[1]


def test_public_api_is_reexported():
    for name in jn.__all__:
        assert hasattr(jn, name), name
    for name in ("estimate_at_init", "failure_after_training", "counts_of_params", "summarize"):
        assert getattr(jn, name) is getattr(estimation, name)
    assert jn.TrainConfig().arch == (1, 32, 1)
    # every re-exported name is documented on the reference page
    api = (ROOT / "docs" / "api.md").read_text()
    missing = [n for n in jn.__all__ if n != "__version__" and f"`{n}" not in api]
    assert not missing, missing


def test_version_agrees_with_metadata(capsys):
    assert jn.__version__ == metadata.version("jaxnn_nonconv")
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"jaxnn-nonconv {jn.__version__}"


def test_probability_formatting_reads_small_complements():
    p = results.proportion(999_994, 1_000_000)
    assert results.complement_shown(p)
    text = results.format_probability(p, complement=True)
    assert text.startswith("6e-06  (")
    assert results.format_value(1 - 6.2e-06) != "1"
    assert results.format_bound(1 - 6.205e-06, ">= ", complement=True) == "<= 6.205e-06"
    for v in (0.5, 0.123456, 1e-9, 0.9999999):
        assert float(results.format_value(v)) not in (0.0, 1.0)
    c = p.complement()
    assert c.count == 6 and c.n == 1_000_000 and c.ci[0] <= 6e-6 <= c.ci[1]


def test_estimate_table_shows_complement(capsys):
    from rich.console import Console

    cfg = jn.TrainConfig(arch=(1, 32, 1)).validate()
    s = estimation.estimate_at_init(cfg, 300, chunk_size=256)
    assert s.any_inactive.estimate == s["any_inactive"]["estimate"] == 1.0
    console = Console(width=120, record=True)
    estimation.print_summary(s, console=console)
    out = console.export_text()
    assert "P(no inactive neuron)" in out and "= 6.205e-06" in out
    assert ">= 1" not in out and "1  (1, 1)" not in out


def test_float64_without_x64_raises():
    theta = np.array([[1.0, -2.0 + 1e-12, 1.0, 0.0]])  # [1,1,1] on [0, 2]: active at x = 2
    assert theta.dtype == np.float64 and not jax.config.jax_enable_x64
    with pytest.raises(ValueError, match="float64 but 64-bit JAX is off"):
        estimation.counts_of_params(theta, (1, 1, 1), ((0.0, 2.0),))
    with pytest.raises(ValueError, match="64-bit JAX"):
        nets.init_params(jax.random.key(0), (1, 2, 1), dtype="float64")
    # float32 passes, and integers are taken as JAX's default float
    c = estimation.counts_of_params(theta.astype(np.float32), (1, 1, 1), ((0.0, 2.0),))
    assert c["inactive"].tolist() == [[1]]  # -2 + 1e-12 rounds to -2 in float32: inactive
    assert nets.init_params(jax.random.key(0), (1, 2, 1))[0][0].dtype == np.float32


def test_float64_defaults_under_x64():
    """In a fresh process with x64 on: defaults are float64, and the 1e-12 margin is kept."""
    code = textwrap.dedent(
        """
        import jax
        jax.config.update("jax_enable_x64", True)
        import numpy as np
        from jaxnn_nonconv import estimation
        from jaxnn_nonconv.core import inits
        from jaxnn_nonconv.core import nets
        from jaxnn_nonconv.core import problems
        p = nets.init_params(jax.random.key(0), (1, 2, 1))
        w, b = inits.init_layer(jax.random.key(0), "pytorch", 2, 3)
        x, y = problems.sample(jax.random.key(0), problems.Problem("x^2", ((0.0, 1.0),)), 4)
        theta = np.array([[1.0, -2.0 + 1e-12, 1.0, 0.0]])
        c = estimation.counts_of_params(theta, (1, 1, 1), ((0.0, 2.0),))
        print(p[0][0].dtype, w.dtype, x.dtype, y.dtype, c["inactive"].tolist())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"},
    ).stdout.split()
    assert out == ["float64", "float64", "float64", "float64", "[[0]]"]


def test_bom_config_gets_a_clear_message(tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[run]\ntrials = 3\n")
    assert cli.main(["estimate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "byte order mark" in err and err.count("\n") == 1


REFERENCE = re.compile(r"THEORY|\.\./shared|/work/|/home/\w+|/Users/\w+")


def test_no_reference_outside_the_repository():
    """Docs, docstrings, comments and tests point into the repository only (docs/theory.md,
    arXiv numbers), never to a file that does not ship with the project or a machine's path."""
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "Makefile"]
    for folder, pattern in (
        ("jaxnn_nonconv", "*.py"),
        ("tests", "*.py"),
        ("benchmarks", "*.py"),
        ("docs", "*.md"),
        ("experiments", "*.toml"),
    ):
        files += sorted((ROOT / folder).rglob(pattern))
    hits = []
    for f in files:
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if REFERENCE.search(line) and f.name != "test_api.py":
                hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)
    assert (ROOT / "docs" / "theory.md").is_file()
