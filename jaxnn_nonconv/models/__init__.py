"""Your own network and data: load models trained elsewhere and certify their dead neurons.

* :mod:`~jaxnn_nonconv.models._loaders`: PyTorch state dicts and modules, safetensors, npz, Flax,
  Equinox, as this project's parameters (:class:`Model`).
* :mod:`~jaxnn_nonconv.models._formats`: one door for every format (``load``, ``from_object``).
* :mod:`~jaxnn_nonconv.models._onnx`: ONNX graphs of Gemm/MatMul/Add/Sub/Relu chains.
* :mod:`~jaxnn_nonconv.models._nnet`: the ``.nnet`` format (ACAS Xu), its input normalization.
* :mod:`~jaxnn_nonconv.models._sklearn`: scikit-learn MLPs and ``.skops`` files (safe loader).
* :mod:`~jaxnn_nonconv.models._keras`: Keras 3 ``.keras`` files of Dense/ReLU layers.
* :mod:`~jaxnn_nonconv.models._vnnlib`: input boxes of a VNN-LIB property.
* :mod:`~jaxnn_nonconv.models._domain`: a box, or the box of a data file, and per-neuron firing
  rates.
* :mod:`~jaxnn_nonconv.models._check`: certified dead / alive / unknown neurons of one network.
* :mod:`~jaxnn_nonconv.models._activation_check`: the activation a check uses, and ``clip`` /
  ``repu:P`` nets: dead, saturated and moving neurons, frozen parameters.
* :mod:`~jaxnn_nonconv.models._neurons`: per-neuron bounds, float-verified witnesses, stably
  active neurons, constant output on the data.
* :mod:`~jaxnn_nonconv.models._split`: input-splitting branch and bound on a budget of sub-boxes for the
  neurons the per-neuron stage leaves undecided (``check --bab-boxes``).
* :mod:`~jaxnn_nonconv.models._milp`: exact completion of undecided neurons by a mixed-integer
  program per neuron, certificates only beyond the solver's tolerances.
* :mod:`~jaxnn_nonconv.models._monitor`: dead-neuron counts inside JAX/Optax and PyTorch loops.
* :mod:`~jaxnn_nonconv.models._advise`: init families ranked by P(dead neuron at init).
"""

from jaxnn_nonconv.errors import ModelError as ModelError
from jaxnn_nonconv.models._advise import (
    FAMILIES as FAMILIES,
    advise as advise,
    print_advice as print_advice,
    restarts_needed as restarts_needed,
    shared_ranks as shared_ranks,
)
from jaxnn_nonconv.models._check import (
    CheckResult as CheckResult,
    check as check,
    permanent_and_frozen as permanent_and_frozen,
    print_result as print_result,
)
from jaxnn_nonconv.models._domain import (
    Domain as Domain,
    from_box as from_box,
    from_data as from_data,
    load_data as load_data,
)
from jaxnn_nonconv.models._formats import (
    FILE_SUFFIXES as FILE_SUFFIXES,
    from_object as from_object,
    load as load,
)
from jaxnn_nonconv.models._loaders import (
    InputMap as InputMap,
    Model as Model,
    NoDeadNeurons as NoDeadNeurons,
    from_flax as from_flax,
    from_torch_module as from_torch_module,
    save_npz as save_npz,
)
from jaxnn_nonconv.models._monitor import (
    TorchMonitor as TorchMonitor,
    flax_params as flax_params,
    make_monitor as make_monitor,
)
from jaxnn_nonconv.models._nnet import save_nnet as save_nnet
from jaxnn_nonconv.models._onnx import from_onnx as from_onnx
from jaxnn_nonconv.models._sklearn import from_sklearn as from_sklearn
from jaxnn_nonconv.models._vnnlib import read_boxes as read_vnnlib

__all__ = [
    "FAMILIES",
    "FILE_SUFFIXES",
    "CheckResult",
    "Domain",
    "InputMap",
    "Model",
    "ModelError",
    "NoDeadNeurons",
    "TorchMonitor",
    "advise",
    "check",
    "flax_params",
    "from_box",
    "from_data",
    "from_flax",
    "from_object",
    "from_onnx",
    "from_sklearn",
    "from_torch_module",
    "load",
    "load_data",
    "make_monitor",
    "permanent_and_frozen",
    "print_advice",
    "print_result",
    "read_vnnlib",
    "restarts_needed",
    "save_nnet",
    "save_npz",
    "shared_ranks",
]
