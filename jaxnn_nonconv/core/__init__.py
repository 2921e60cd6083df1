"""The model: networks, initializations, learning problems and optimizers.

Pure functions on pytrees; nothing here knows about training loops, detectors or statistics.

* :mod:`nets <jaxnn_nonconv.core._nets>`: ReLU networks as pure functions, the flat parameter
  vector (docs/theory.md sec. 1), stacks of equal-shape layers (``LayerStacks``).
* :mod:`inits <jaxnn_nonconv.core._inits>`: random initializations of fully connected layers.
* :mod:`width_power <jaxnn_nonconv.core._width_power>`: per-group ``H^a N(0,1)`` or
  ``H^a |N(0,1)|`` initializations (arXiv 2212.13111's code), as spec strings.
* :mod:`problems <jaxnn_nonconv.core._problems>`: targets, input boxes, reference risk levels.
* :mod:`distributions <jaxnn_nonconv.core._distributions>`: input laws beyond the uniform box
  (normal, piecewise-polynomial density in ``d = 1``).
* :mod:`data <jaxnn_nonconv.core._data>`: a data set shared by all trials: files, validation,
  the train/test split, empirical levels.
* :mod:`optim <jaxnn_nonconv.core._optim>`: the nine optimizers of the papers through Optax.
* :mod:`~jaxnn_nonconv.core._random`: random draws of any shape compiled as one flat vector
  (:func:`flat_draw`: the same values, a fraction of XLA's compile time).
* :mod:`rounding <jaxnn_nonconv.core._rounding>`: the float rounding bound (Higham's ``gamma_n``,
  generously) that every float-sound certificate uses.
"""

from jaxnn_nonconv.core import (
    _data as data,
    _distributions as distributions,
    _inits as inits,
    _nets as nets,
    _optim as optim,
    _problems as problems,
    _rounding as rounding,
    _width_power as width_power,
)
from jaxnn_nonconv.core._data import Dataset as Dataset
from jaxnn_nonconv.core._nets import (
    float_dtype as float_dtype,
    from_flat as from_flat,
    init_params as init_params,
    num_params as num_params,
    realization as realization,
    to_flat as to_flat,
)
from jaxnn_nonconv.core._problems import Problem as Problem, reference_levels as reference_levels
from jaxnn_nonconv.core._random import flat_draw as flat_draw
from jaxnn_nonconv.core._rounding import (
    rounding_gamma as rounding_gamma,
    unit_roundoff as unit_roundoff,
)

__all__ = [
    "Dataset",
    "Problem",
    "data",
    "distributions",
    "flat_draw",
    "float_dtype",
    "from_flat",
    "init_params",
    "inits",
    "nets",
    "num_params",
    "optim",
    "problems",
    "realization",
    "reference_levels",
    "rounding",
    "rounding_gamma",
    "to_flat",
    "unit_roundoff",
    "width_power",
]
