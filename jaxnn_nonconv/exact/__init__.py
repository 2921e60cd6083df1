"""Exact analysis of ``d = 1`` ReLU networks: breakpoints, inactive neurons and exact risks.

For ``d = 1`` a ReLU network is piecewise linear in ``x``; both modules propagate its breakpoints
layer by layer with float error bounds.

* :mod:`breakpoints <jaxnn_nonconv.exact._breakpoints>`: the detector's exact mode: every
  neuron's maximum over the interval, float-sound, with a capacity ladder.
* :mod:`risk <jaxnn_nonconv.exact._risk>`: the exact risk ``E[(N(X) - f(X))^2]`` by
  Gauss-Legendre quadrature on the linear pieces.
"""

from jaxnn_nonconv.exact import _breakpoints as breakpoints, _risk as risk

__all__ = ["breakpoints", "risk"]
