"""The installed version of the package (``jaxnn-nonconv --version``, recorded in run manifests)."""

from importlib import metadata as _metadata


def _version() -> str:
    try:
        return _metadata.version("jaxnn_nonconv")
    except _metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _version()
