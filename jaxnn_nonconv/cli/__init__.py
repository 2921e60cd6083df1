"""The command line ``jaxnn-nonconv``: one module per group of commands.

* :mod:`~jaxnn_nonconv.cli._main`: the parser and :func:`main` (one line on stderr and exit
  code 2 for bad input, a chunk too large for memory included).
* :mod:`~jaxnn_nonconv.cli._common`: what every command shares: the setting flags and their
  validation, JAX setup, precision and multi-process flags, the one output path (``emit``).
* :mod:`~jaxnn_nonconv.cli._train`: ``train``.
* :mod:`~jaxnn_nonconv.cli._estimate`: ``estimate`` (Monte Carlo and ``--method splitting``).
* :mod:`~jaxnn_nonconv.cli._experiments`: ``run`` and ``report``.
* :mod:`~jaxnn_nonconv.cli._models`: ``check`` and ``advise`` (your own network and data).
* :mod:`~jaxnn_nonconv.cli._export`: ``export`` (a run directory as one table).
* :mod:`~jaxnn_nonconv.cli._flow`: ``flow`` (gradient flow / GD on the exact risk) and ``levels``.
"""

from jaxnn_nonconv.cli._common import EXIT_USAGE as EXIT_USAGE, setup_jax as setup_jax
from jaxnn_nonconv.cli._main import build_parser as build_parser, main as main

__all__ = ["EXIT_USAGE", "build_parser", "main", "setup_jax"]
