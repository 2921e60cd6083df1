"""Benchmarks of the training engine against a per-trial JAX loop and PyTorch (``jaxnn-nonconv bench``)."""
