"""Suite-wide JAX settings, as in Equinox: strict rank promotion and 4 simulated CPU devices; the
CLI's persistent compilation cache off (also for subprocesses), so that test processes never share
one on disk.

They must be set before JAX creates its backend, hence at import time of this conftest. Strict
*dtype* promotion is not global because Optax's own Adam-family code promotes float32 ** int32
internally; tests of this package's own numerics use the ``strict_dtypes`` fixture instead.
"""

import os

import jax
import pytest

os.environ["JAXNN_NONCONV_CACHE"] = ""

jax.config.update("jax_num_cpu_devices", 4)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def strict_dtypes():
    """Run the test with ``jax_numpy_dtype_promotion='strict'``."""
    with jax.numpy_dtype_promotion("strict"):
        yield
