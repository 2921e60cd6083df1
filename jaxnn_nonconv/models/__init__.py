"""Your own network and data: load models trained elsewhere and certify their dead neurons.

* :mod:`~jaxnn_nonconv.models._loaders`: PyTorch state dicts and modules, safetensors, npz, Flax,
  Equinox, as this project's parameters (:class:`Model`).
* :mod:`~jaxnn_nonconv.models._domain`: a box, or the box of a data file, and per-neuron firing
  rates.
* :mod:`~jaxnn_nonconv.models._check`: certified dead / alive / unknown neurons of one network.
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
from jaxnn_nonconv.models._loaders import (
    Model as Model,
    NoDeadNeurons as NoDeadNeurons,
    from_flax as from_flax,
    from_object as from_object,
    from_torch_module as from_torch_module,
    load as load,
    save_npz as save_npz,
)
from jaxnn_nonconv.models._monitor import (
    TorchMonitor as TorchMonitor,
    flax_params as flax_params,
    make_monitor as make_monitor,
)

__all__ = [
    "FAMILIES",
    "CheckResult",
    "Domain",
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
    "from_torch_module",
    "load",
    "load_data",
    "make_monitor",
    "permanent_and_frozen",
    "print_advice",
    "print_result",
    "restarts_needed",
    "save_npz",
    "shared_ranks",
]
