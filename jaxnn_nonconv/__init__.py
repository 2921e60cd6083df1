"""jaxnn_nonconv: how likely is gradient training of a ReLU network to fail, and why?

Modules, in the direction data flows:

* :mod:`~jaxnn_nonconv.inits`, :mod:`~jaxnn_nonconv.nets`: initializations and network realizations.
* :mod:`~jaxnn_nonconv.problems`: targets, input boxes, reference risk levels.
* :mod:`~jaxnn_nonconv.optim`: the nine optimizers of the papers (Optax) and schedules.
* :mod:`~jaxnn_nonconv.train`: vmapped, jit-compiled training of many independent nets.
* :mod:`~jaxnn_nonconv.rare`, :mod:`~jaxnn_nonconv.rates`: tiny probabilities by splitting over
  depth (``estimate.rare_event``), their exponential rates and the initializations they demand;
  :mod:`~jaxnn_nonconv.rare_summary`: their JSON entries and tables.
* :mod:`~jaxnn_nonconv.config`, :mod:`~jaxnn_nonconv.cli`: validated input and the command line.
"""

__version__ = "0.1.0"
