"""The inactive-neuron detector: which neurons are dead on the whole input box, certified.

A certificate is never wrong: "inactive" and "active" hold for the floating-point network on the
whole box; when unsure the status is unknown and estimates are bracketed (docs/detector.md).

* :mod:`~jaxnn_nonconv.detector._inactive`: the front door: :func:`classify` (one network),
  :func:`make_detector` (a batch of trials), :func:`detect_flat` (flat parameter vectors),
  :class:`Status` and :class:`Counts`; interval bound propagation.
* :mod:`~jaxnn_nonconv.detector._first_layer`: the first layer's exact maximum and its
  rounding-aware inactive/active tests.
* :mod:`~jaxnn_nonconv.detector._linear_bounds`: backward linear bounds (CROWN), sound in floats.
* :mod:`~jaxnn_nonconv.detector._vertices`: the exact layer-2 maximum in ``d = 2`` by vertex
  enumeration.
* :mod:`~jaxnn_nonconv.detector._bab`: branch and bound on sub-boxes, on a fixed budget.
* :mod:`~jaxnn_nonconv.detector._refine`: the ``d > 1`` modes ``exact`` and ``crown``.
"""

from jaxnn_nonconv.detector._bab import DEFAULT_ROUNDS as DEFAULT_ROUNDS
from jaxnn_nonconv.detector._bab import decide as decide
from jaxnn_nonconv.detector._first_layer import (
    first_layer_inactive as first_layer_inactive,
)
from jaxnn_nonconv.detector._first_layer import (
    first_layer_max as first_layer_max,
)
from jaxnn_nonconv.detector._inactive import (
    DEFAULT_MAX_POINTS as DEFAULT_MAX_POINTS,
)
from jaxnn_nonconv.detector._inactive import (
    DEFAULT_PROBES as DEFAULT_PROBES,
)
from jaxnn_nonconv.detector._inactive import (
    MODES as MODES,
)
from jaxnn_nonconv.detector._inactive import (
    PROBE_SEED as PROBE_SEED,
)
from jaxnn_nonconv.detector._inactive import (
    Counts as Counts,
)
from jaxnn_nonconv.detector._inactive import (
    Status as Status,
)
from jaxnn_nonconv.detector._inactive import (
    capacities as capacities,
)
from jaxnn_nonconv.detector._inactive import (
    classify as classify,
)
from jaxnn_nonconv.detector._inactive import (
    counts as counts,
)
from jaxnn_nonconv.detector._inactive import (
    default_grid as default_grid,
)
from jaxnn_nonconv.detector._inactive import (
    detect_flat as detect_flat,
)
from jaxnn_nonconv.detector._inactive import (
    exact_1d_max as exact_1d_max,
)
from jaxnn_nonconv.detector._inactive import (
    grid_cells as grid_cells,
)
from jaxnn_nonconv.detector._inactive import (
    ibp_upper as ibp_upper,
)
from jaxnn_nonconv.detector._inactive import (
    make_detector as make_detector,
)
from jaxnn_nonconv.detector._inactive import (
    not_applicable as not_applicable,
)
from jaxnn_nonconv.detector._inactive import (
    probe_points as probe_points,
)
from jaxnn_nonconv.detector._inactive import (
    resolve_mode as resolve_mode,
)
from jaxnn_nonconv.detector._inactive import (
    sample_points as sample_points,
)
from jaxnn_nonconv.detector._linear_bounds import crown_bounds as crown_bounds
from jaxnn_nonconv.detector._refine import classify_deep as classify_deep
from jaxnn_nonconv.detector._vertices import layer2_max as layer2_max

__all__ = [
    "DEFAULT_MAX_POINTS",
    "DEFAULT_PROBES",
    "DEFAULT_ROUNDS",
    "MODES",
    "PROBE_SEED",
    "Counts",
    "Status",
    "capacities",
    "classify",
    "classify_deep",
    "counts",
    "crown_bounds",
    "decide",
    "default_grid",
    "detect_flat",
    "exact_1d_max",
    "first_layer_inactive",
    "first_layer_max",
    "grid_cells",
    "ibp_upper",
    "layer2_max",
    "make_detector",
    "not_applicable",
    "probe_points",
    "resolve_mode",
    "sample_points",
]
