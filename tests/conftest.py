"""Suite-wide JAX settings, as in Equinox: strict rank promotion and 4 simulated CPU devices; the
persistent compilation cache in a directory of this test run only (shared by its xdist workers and
their subprocesses, never by two runs of the suite, which may hold different code).

They must be set before JAX creates its backend, hence at import time of this conftest. Strict
*dtype* promotion is not global because Optax's own Adam-family code promotes float32 ** int32
internally; tests of this package's own numerics use the ``strict_dtypes`` fixture instead.
"""

import os
import tempfile
from pathlib import Path

import jax
import pytest

_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
if "JAXNN_NONCONV_TEST_CACHE" not in os.environ:  # set once per run, inherited by workers
    if _RUN:
        _DIR = Path(tempfile.gettempdir()) / f"jaxnn-nonconv-tests-{_RUN}"
        _DIR.mkdir(exist_ok=True)
    else:
        _DIR = Path(tempfile.mkdtemp(prefix="jaxnn-nonconv-tests-"))
    os.environ["JAXNN_NONCONV_TEST_CACHE"] = str(_DIR)
os.environ["JAXNN_NONCONV_CACHE"] = os.environ["JAXNN_NONCONV_TEST_CACHE"]
# Programs compiled by one worker or subprocess are reused by the others (the suite compiles the
# same engine and detector programs in many places; compilation is most of its time).
jax.config.update("jax_compilation_cache_dir", os.environ["JAXNN_NONCONV_TEST_CACHE"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker
def pytest_collection_modifyitems(config, items):
    """Mark the tests of ``tests/extended_tier.py`` ``extended``, and refuse a stale entry: a moved
    test or a cover that a collected file no longer has, or a cover outside the default suite."""
    from tests.extended_tier import EXTENDED, stale_entries

    for item in items:
        listed = item.nodeid in EXTENDED or item.nodeid.split("::")[0] in EXTENDED
        if listed and not item.get_closest_marker("slow"):  # a slow test stays in make test-slow
            item.add_marker(pytest.mark.extended)
    if any("::" in arg for arg in config.args):
        return  # a run of single tests: their files were not collected whole
    problems = stale_entries(
        {
            item.nodeid: any(item.get_closest_marker(m) for m in ("slow", "extended"))
            for item in items
        }
    )
    if problems:
        raise pytest.UsageError("tests/extended_tier.py: " + "; ".join(problems))


@pytest.fixture(scope="session", autouse=True)
def _one_device_by_default():
    """The package's runs use one of the 4 simulated devices unless a test asks for them all
    (``all_devices``): a chunk program compiles once per device it runs on, and compilation is
    most of the suite's time (tests/helpers.py, ``one_device``)."""
    from tests.helpers import one_device

    with one_device() as real_count:
        _REAL_DEVICE_COUNT.append(real_count)
        yield


_REAL_DEVICE_COUNT: list = []


@pytest.fixture
def all_devices():
    """Every simulated device for this test: ``engine.run`` without ``n_devices`` shards its
    chunks over all 4, as on a multi-device machine."""
    patched = jax.local_device_count
    jax.local_device_count = _REAL_DEVICE_COUNT[-1]
    yield
    jax.local_device_count = patched


@pytest.fixture
def strict_dtypes():
    """Run the test with ``jax_numpy_dtype_promotion='strict'``."""
    with jax.numpy_dtype_promotion("strict"):
        yield


@pytest.fixture
def torch_float64():
    """PyTorch's default dtype float64 for the test, so that its scalar optimizer state (step
    counts, NAdam's ``mu_product``) is float64 like the reference it is compared with."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
