"""The command line ``jaxnn-nonconv``.

* :mod:`~jaxnn_nonconv.cli._main`: the parser, ``train``, ``estimate``, ``run``, ``report``,
  ``bench`` and :func:`main` (one line on stderr and exit code 2 for bad input).
* :mod:`~jaxnn_nonconv.cli._models`: ``check`` and ``advise`` (your own network and data).
"""

from jaxnn_nonconv.cli._main import EXIT_USAGE as EXIT_USAGE
from jaxnn_nonconv.cli._main import main as main

__all__ = ["EXIT_USAGE", "main"]
