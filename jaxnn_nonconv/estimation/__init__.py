"""Failure probabilities with confidence intervals, at initialization and after training.

* :mod:`~jaxnn_nonconv.estimation._estimate`: counting inactive neurons of many random
  initializations in chunks (:func:`counts_at_init`), tallies and summaries
  (:func:`estimate_at_init`), and the failure criteria after training.
* :mod:`~jaxnn_nonconv.estimation._training`: :func:`train_failure`: train M networks and
  answer how likely training failed, by each criterion.
* :mod:`levels <jaxnn_nonconv.estimation._levels>`: the risk levels ``R_k`` of a ``d = 1``
  problem and the level a trained net reached.
"""

from jaxnn_nonconv.estimation import _levels as levels
from jaxnn_nonconv.estimation._estimate import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
)
from jaxnn_nonconv.estimation._estimate import (
    FailureEstimate as FailureEstimate,
)
from jaxnn_nonconv.estimation._estimate import (
    InitSummary as InitSummary,
)
from jaxnn_nonconv.estimation._estimate import (
    Tally as Tally,
)
from jaxnn_nonconv.estimation._estimate import (
    counts_at_init as counts_at_init,
)
from jaxnn_nonconv.estimation._estimate import (
    counts_of_params as counts_of_params,
)
from jaxnn_nonconv.estimation._estimate import (
    default_chunk as default_chunk,
)
from jaxnn_nonconv.estimation._estimate import (
    estimate_at_init as estimate_at_init,
)
from jaxnn_nonconv.estimation._estimate import (
    failure_after_training as failure_after_training,
)
from jaxnn_nonconv.estimation._estimate import (
    iter_init_counts as iter_init_counts,
)
from jaxnn_nonconv.estimation._estimate import (
    print_summary as print_summary,
)
from jaxnn_nonconv.estimation._estimate import (
    summarize as summarize,
)
from jaxnn_nonconv.estimation._training import (
    TrainFailure as TrainFailure,
)
from jaxnn_nonconv.estimation._training import (
    print_train as print_train,
)
from jaxnn_nonconv.estimation._training import (
    train_failure as train_failure,
)

__all__ = [
    "DEFAULT_CHUNK",
    "FailureEstimate",
    "InitSummary",
    "Tally",
    "TrainFailure",
    "counts_at_init",
    "counts_of_params",
    "default_chunk",
    "estimate_at_init",
    "failure_after_training",
    "iter_init_counts",
    "levels",
    "print_summary",
    "print_train",
    "summarize",
    "train_failure",
]
