"""jaxnn_nonconv: how likely is gradient training of a ReLU network to fail, and why?

Modules, in the direction data flows:

* :mod:`~jaxnn_nonconv.inits`, :mod:`~jaxnn_nonconv.nets`: initializations and network realizations.
* :mod:`~jaxnn_nonconv.problems`: targets, input boxes, reference risk levels.
* :mod:`~jaxnn_nonconv.optim`: the nine optimizers of the papers (Optax) and schedules.
* :mod:`~jaxnn_nonconv.train`: vmapped, jit-compiled training of many independent nets.
* :mod:`~jaxnn_nonconv.config`, :mod:`~jaxnn_nonconv.cli`: validated input and the command line.

Your own network and data (``jaxnn-nonconv check`` / ``advise``, docs/your-model.md):

* :mod:`~jaxnn_nonconv.loaders`: PyTorch state dicts and modules, safetensors, npz, Flax, Equinox.
* :mod:`~jaxnn_nonconv.domain`: a box, or the box of a data file, and per-neuron firing rates.
* :mod:`~jaxnn_nonconv.check`: certified dead / alive / unknown neurons of one network.
* :mod:`~jaxnn_nonconv.monitor`: dead-neuron counts inside JAX/Optax and PyTorch training loops.
* :mod:`~jaxnn_nonconv.advise`: init families ranked by P(dead neuron at init).
"""

__version__ = "0.1.0"
