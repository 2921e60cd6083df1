"""The inactive-neuron detector: which neurons are dead on the whole input box, certified.

A certificate is never wrong: "inactive" and "active" hold for the floating-point network on the
whole box; when unsure the status is unknown and estimates are bracketed (docs/detector.md).

* :mod:`~jaxnn_nonconv.detector._detect`: the front door: :func:`classify_neurons` (one network),
  :func:`make_detector` (a batch of trials), :func:`detect_flat` (flat parameter vectors), the
  per-neuron :class:`Status` and per-trial :class:`Counts`.
* :mod:`~jaxnn_nonconv.detector._activations`: which activations it certifies (``relu``,
  ``repu:P``, ``clip``), the settings deep ``repu:P`` and ``clip`` nets use, and the first-layer
  ``clip`` neurons that are frozen (dead or saturated) on the box.
* :mod:`~jaxnn_nonconv.detector._deep_activations`: deep ``clip`` and ``repu:P`` nets, every layer
  certified by interval bounds on a sub-box grid (dead, saturated) and float witnesses (active,
  below one).
* :mod:`~jaxnn_nonconv.detector._settings`: :class:`DetectorSettings`, the detector's settings
  (mode, grid, probe sample, breakpoint capacity) as one frozen value, checked where it is made.
* :mod:`~jaxnn_nonconv.detector._intervals`: interval bound propagation on a grid of sub-boxes,
  sign-dead rows, the fixed probe sample.
* :mod:`~jaxnn_nonconv.detector._first_layer`: the first layer's exact maximum and its
  rounding-aware inactive/active tests.
* :mod:`~jaxnn_nonconv.detector._linear_bounds`: backward linear bounds (CROWN), sound in floats,
  optionally from prior bounds, and with optimizable lower slopes (alpha-CROWN).
* :mod:`~jaxnn_nonconv.detector._vertices`: the exact layer-2 maximum in ``d = 2`` by vertex
  enumeration.
* :mod:`~jaxnn_nonconv.detector._bab`: branch and bound on sub-boxes, on a fixed budget.
* :mod:`~jaxnn_nonconv.detector._on_data`: neurons inactive on every point of a data set
  (:func:`classify_on_data`, :class:`DataCounts`), sound in floats.
* :mod:`~jaxnn_nonconv.detector._refine`: the ``d > 1`` modes ``exact`` and ``crown`` (the two
  modules above, stage by stage).

The exact ``d = 1`` analysis it uses lives in :mod:`jaxnn_nonconv.exact.breakpoints`.
"""

from jaxnn_nonconv.detector._activations import (
    first_layer_frozen as first_layer_frozen,
    first_layer_saturated as first_layer_saturated,
    for_activation as for_activation,
    not_applicable as not_applicable,
    uses_intervals as uses_intervals,
)
from jaxnn_nonconv.detector._bab import DEFAULT_ROUNDS as DEFAULT_ROUNDS, decide as decide
from jaxnn_nonconv.detector._deep_activations import (
    ActivationStatus as ActivationStatus,
    classify_activation as classify_activation,
    ibp_bounds as ibp_bounds,
    post_interval as post_interval,
)
from jaxnn_nonconv.detector._detect import (
    Counts as Counts,
    Status as Status,
    capacities as capacities,
    classify_neurons as classify_neurons,
    counts as counts,
    detect_flat as detect_flat,
    exact_1d_max as exact_1d_max,
    make_detector as make_detector,
    resolve_mode as resolve_mode,
)
from jaxnn_nonconv.detector._first_layer import (
    first_layer_inactive as first_layer_inactive,
    first_layer_max as first_layer_max,
)
from jaxnn_nonconv.detector._intervals import (
    DEFAULT_PROBES as DEFAULT_PROBES,
    PROBE_SEED as PROBE_SEED,
    dead_inputs_closure as dead_inputs_closure,
    default_grid as default_grid,
    grid_cells as grid_cells,
    ibp_upper as ibp_upper,
    probe_points as probe_points,
    sample_points as sample_points,
    sign_dead as sign_dead,
)
from jaxnn_nonconv.detector._linear_bounds import (
    adaptive_slopes as adaptive_slopes,
    crown_bounds as crown_bounds,
    crown_upper as crown_upper,
)
from jaxnn_nonconv.detector._on_data import (
    DataCounts as DataCounts,
    classify_on_data as classify_on_data,
    data_bounds as data_bounds,
)
from jaxnn_nonconv.detector._refine import classify_deep as classify_deep
from jaxnn_nonconv.detector._settings import (
    DEFAULT_MAX_POINTS as DEFAULT_MAX_POINTS,
    MODES as MODES,
    DetectorSettings as DetectorSettings,
)
from jaxnn_nonconv.detector._vertices import layer2_max as layer2_max

__all__ = [
    "DEFAULT_MAX_POINTS",
    "DEFAULT_PROBES",
    "DEFAULT_ROUNDS",
    "MODES",
    "PROBE_SEED",
    "ActivationStatus",
    "Counts",
    "DataCounts",
    "DetectorSettings",
    "Status",
    "adaptive_slopes",
    "capacities",
    "classify_activation",
    "classify_deep",
    "classify_neurons",
    "classify_on_data",
    "counts",
    "crown_bounds",
    "crown_upper",
    "data_bounds",
    "dead_inputs_closure",
    "decide",
    "default_grid",
    "detect_flat",
    "exact_1d_max",
    "first_layer_frozen",
    "first_layer_inactive",
    "first_layer_max",
    "first_layer_saturated",
    "for_activation",
    "grid_cells",
    "ibp_bounds",
    "ibp_upper",
    "layer2_max",
    "make_detector",
    "not_applicable",
    "post_interval",
    "probe_points",
    "resolve_mode",
    "sample_points",
    "sign_dead",
    "uses_intervals",
]
