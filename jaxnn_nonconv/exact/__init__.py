"""Exact analysis of ``d = 1`` ReLU networks: breakpoints, inactive neurons and exact risks.

For ``d = 1`` a ReLU network is piecewise linear in ``x``; the modules below propagate its
breakpoints layer by layer, with float error bounds where a certificate needs them.

* :mod:`pieces <jaxnn_nonconv.exact._pieces>`: the shared 1-D kernel: sign changes between
  consecutive breakpoints, their crossings, compaction into a fixed capacity with an overflow
  count (also used by the image curves of :mod:`jaxnn_nonconv.rare`).
* :mod:`breakpoints <jaxnn_nonconv.exact._breakpoints>`: the detector's exact mode: every
  neuron's maximum over the interval, float-sound, with a capacity ladder.
* :mod:`risk <jaxnn_nonconv.exact._risk>`: the exact risk ``E[(N(X) - f(X))^2]`` by
  Gauss-Legendre quadrature on the linear pieces.
* :mod:`lsq <jaxnn_nonconv.exact._lsq>`: the best output layer by least squares (exact Gram
  matrices) and the levels ``R_H`` of ``[1, H, 1]`` nets as a minimum over kinks.
"""

from jaxnn_nonconv.exact import (
    _breakpoints as breakpoints,
    _lsq as lsq,
    _pieces as pieces,
    _risk as risk,
)

__all__ = ["breakpoints", "lsq", "pieces", "risk"]
