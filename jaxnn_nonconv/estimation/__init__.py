"""Failure probabilities with confidence intervals, at initialization and after training.

* :mod:`~jaxnn_nonconv.estimation._counting`: inactive-neuron counts of many random
  initializations (or given parameters) in padded chunks of one fixed shape
  (:func:`counts_at_init`, :func:`counts_of_params`).
* :mod:`~jaxnn_nonconv.estimation._init_summary`: tallies and summaries at initialization
  (:func:`estimate_at_init`, :class:`InitSummary`) and their table.
* :mod:`~jaxnn_nonconv.estimation._frozen`: P(first-layer ``clip`` neuron frozen, dead or
  saturated) at initialization (:func:`first_layer_frozen_estimate`), the frozen neurons of
  ``clip`` nets at any depth (:func:`frozen_counts_of_params`, the ``train`` criteria
  ``frozen_at_init`` / ``frozen_at_end``) and their bound (:func:`any_frozen_bound`).
* :mod:`~jaxnn_nonconv.estimation._bias_reference`: per-run reference risks of cells that train
  only some groups (:func:`bias_references`, :class:`BiasReference`): the lowest exact risk found
  over the trainable coordinates, the frozen ones at the run's values.
* :mod:`~jaxnn_nonconv.estimation._criteria`: P(failure) of trained nets by each criterion
  (:func:`failure_after_training`, :class:`FailureEstimate`).
* :mod:`~jaxnn_nonconv.estimation._on_data`: inactivity on a data set's points, per trial
  (:func:`counts_on_data`) and at initialization (:func:`data_at_init`).
* :mod:`~jaxnn_nonconv.estimation._training`: :func:`train_failure`: train M networks and
  answer how likely training failed, by each criterion.
* :mod:`empirical_levels <jaxnn_nonconv.estimation._empirical_levels>`: the minimum empirical
  risk of ``[1, H, 1]`` nets on ``n`` points, bracketed, and P(not reaching it).
* :mod:`levels <jaxnn_nonconv.estimation._levels>`: the risk levels ``R_k`` of a ``d = 1``
  problem and the level a trained net reached.
"""

from jaxnn_nonconv.estimation import _empirical_levels as empirical_levels, _levels as levels
from jaxnn_nonconv.estimation._bias_reference import (
    BiasReference as BiasReference,
    bias_references as bias_references,
    first_layer_frozen as first_layer_frozen,
    trainable_index as trainable_index,
)
from jaxnn_nonconv.estimation._counting import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
    counts_at_init as counts_at_init,
    counts_of_params as counts_of_params,
    default_chunk as default_chunk,
    iter_init_counts as iter_init_counts,
    require_hidden as require_hidden,
)
from jaxnn_nonconv.estimation._criteria import (
    FailureEstimate as FailureEstimate,
    failure_after_training as failure_after_training,
)
from jaxnn_nonconv.estimation._frozen import (
    any_frozen_bound as any_frozen_bound,
    first_layer_frozen_counts as first_layer_frozen_counts,
    first_layer_frozen_estimate as first_layer_frozen_estimate,
    frozen_counts_of_params as frozen_counts_of_params,
)
from jaxnn_nonconv.estimation._init_summary import (
    InitSummary as InitSummary,
    Tally as Tally,
    estimate_at_init as estimate_at_init,
    print_summary as print_summary,
    summarize as summarize,
)
from jaxnn_nonconv.estimation._on_data import (
    counts_on_data as counts_on_data,
    data_at_init as data_at_init,
    print_summary_on_data as print_summary_on_data,
)
from jaxnn_nonconv.estimation._training import (
    TrainFailure as TrainFailure,
    print_train as print_train,
    train_failure as train_failure,
)

__all__ = [
    "DEFAULT_CHUNK",
    "BiasReference",
    "FailureEstimate",
    "InitSummary",
    "Tally",
    "TrainFailure",
    "any_frozen_bound",
    "bias_references",
    "counts_at_init",
    "counts_of_params",
    "counts_on_data",
    "data_at_init",
    "default_chunk",
    "empirical_levels",
    "estimate_at_init",
    "failure_after_training",
    "first_layer_frozen",
    "first_layer_frozen_counts",
    "first_layer_frozen_estimate",
    "frozen_counts_of_params",
    "iter_init_counts",
    "levels",
    "print_summary",
    "print_summary_on_data",
    "print_train",
    "require_hidden",
    "summarize",
    "train_failure",
    "trainable_index",
]
