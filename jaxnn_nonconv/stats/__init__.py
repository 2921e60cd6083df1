"""Statistics: typed probability estimates, precision targets, the papers' closed forms and rates.

No JAX here: these modules turn counts into estimates with intervals and put them next to theory.

* :mod:`results <jaxnn_nonconv.stats._results>`: :class:`ProbabilityEstimate` (Clopper-Pearson
  and Wilson intervals, brackets for undecided trials) and how to print one.
* :mod:`precision <jaxnn_nonconv.stats._precision>`: precision targets (``--rel-error``,
  ``--ci-width``) and the loop that adds chunks until one is met.
* :mod:`theory <jaxnn_nonconv.stats._theory>`: closed forms and bounds of docs/theory.md
  sec. 3 and 4.
* :mod:`rates <jaxnn_nonconv.stats._rates>`: exponential rates in width and depth and the number
  of initializations they demand.
"""

from jaxnn_nonconv.stats import _precision as precision
from jaxnn_nonconv.stats import _rates as rates
from jaxnn_nonconv.stats import _results as results
from jaxnn_nonconv.stats import _theory as theory
from jaxnn_nonconv.stats._precision import Precision as Precision
from jaxnn_nonconv.stats._precision import progress_line as progress_line
from jaxnn_nonconv.stats._results import (
    DEFAULT_CONFIDENCE as DEFAULT_CONFIDENCE,
)
from jaxnn_nonconv.stats._results import (
    ProbabilityEstimate as ProbabilityEstimate,
)
from jaxnn_nonconv.stats._results import (
    bracketed as bracketed,
)
from jaxnn_nonconv.stats._results import (
    complement_shown as complement_shown,
)
from jaxnn_nonconv.stats._results import (
    format_bound as format_bound,
)
from jaxnn_nonconv.stats._results import (
    format_probability as format_probability,
)
from jaxnn_nonconv.stats._results import (
    format_value as format_value,
)
from jaxnn_nonconv.stats._results import (
    proportion as proportion,
)
from jaxnn_nonconv.stats._results import (
    to_json as to_json,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "Precision",
    "ProbabilityEstimate",
    "bracketed",
    "complement_shown",
    "format_bound",
    "format_probability",
    "format_value",
    "precision",
    "progress_line",
    "proportion",
    "rates",
    "results",
    "theory",
    "to_json",
]
