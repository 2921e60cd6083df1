"""jaxnn_nonconv: how likely is gradient training of a ReLU network to fail, and why?

Modules, in the direction data flows:

* :mod:`~jaxnn_nonconv.inits`, :mod:`~jaxnn_nonconv.nets`: initializations and network realizations.
* :mod:`~jaxnn_nonconv.problems`: targets, input boxes, reference risk levels.
* :mod:`~jaxnn_nonconv.optim`: the nine optimizers of the papers (Optax) and schedules.
* :mod:`~jaxnn_nonconv.exact_risk`: exact risk of ``d = 1`` nets (Gauss-Legendre on linear pieces).
* :mod:`~jaxnn_nonconv.train`: vmapped, jit-compiled training of many independent nets.
* :mod:`~jaxnn_nonconv.levels`: risk levels ``R_k`` and the level a trained net reached.
* :mod:`~jaxnn_nonconv.config`, :mod:`~jaxnn_nonconv.cli`: validated input and the command line.
"""

__version__ = "0.1.0"
