"""The persistent compilation cache is on by default for every command (``cli.setup_jax``), in
the directory ``JAXNN_NONCONV_CACHE`` names (empty: off); its effect on a second run's start is
measured by ``benchmarks/cli_startup.py``, not here (no timing asserts)."""

import subprocess
import sys
from pathlib import Path

import jax
import pytest

from jaxnn_nonconv.cli import _common

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_cache_config():
    keys = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )
    old = {k: getattr(jax.config, k) for k in keys}
    yield
    for k, v in old.items():
        jax.config.update(k, v)


def test_cache_dir_default_override_and_off(monkeypatch, tmp_path):
    monkeypatch.delenv("JAXNN_NONCONV_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _common.cache_dir() == str(tmp_path / "jaxnn_nonconv")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _common.cache_dir() == str(Path.home() / ".cache" / "jaxnn_nonconv")
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", str(tmp_path / "c"))
    assert _common.cache_dir() == str(tmp_path / "c")
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", "")
    assert _common.cache_dir() is None


def test_setup_jax_points_jax_at_the_cache(monkeypatch, tmp_path, restore_cache_config):
    monkeypatch.setenv("JAXNN_NONCONV_CACHE", str(tmp_path))
    _common.setup_jax(False)
    assert jax.config.jax_compilation_cache_dir == str(tmp_path)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0


@pytest.mark.slow
def test_a_command_writes_its_programs_to_the_cache(tmp_path):
    """A real command in a fresh process fills the directory (the cache is used, not only set).
    Slow (a fresh process imports JAX and compiles); the fast test of the same setting is
    ``test_setup_jax_points_jax_at_the_cache``."""
    cache = tmp_path / "cache"
    env = {"JAXNN_NONCONV_CACHE": str(cache), "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    argv = ["-m", "jaxnn_nonconv.cli", "estimate", "--arch", "1,2,1", "--trials", "4", "--json"]
    out = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert any(cache.iterdir())
