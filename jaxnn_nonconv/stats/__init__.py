"""Statistics: typed probability estimates, precision targets, the papers' closed forms and rates.

No JAX computation here: these modules turn counts into estimates with intervals and put them next to theory.

* :mod:`results <jaxnn_nonconv.stats._results>`: :class:`ProbabilityEstimate` (Clopper-Pearson
  and Wilson intervals, brackets for undecided trials), its JSON entry and table row.
* :mod:`precision <jaxnn_nonconv.stats._precision>`: precision targets (``--rel-error``,
  ``--ci-width``) and the loop that adds chunks until one is met.
* :mod:`tables <jaxnn_nonconv.stats._tables>`: tables that fit 80 columns without cutting a
  number, the footer that explains their notation, the binomial test against theory.
* :mod:`theory <jaxnn_nonconv.stats._theory>`: closed forms and bounds of docs/theory.md
  sec. 3 and 4.
* :mod:`frozen <jaxnn_nonconv.stats._frozen>`: closed forms for the clipping activation,
  P(first-layer neuron frozen: dead or saturated) at initialization (docs/theory.md sec. 3b).
* :mod:`rates <jaxnn_nonconv.stats._rates>`: exponential rates in width and depth and the number
  of initializations they demand.
"""

from jaxnn_nonconv.stats import (
    _frozen as frozen,
    _precision as precision,
    _rates as rates,
    _results as results,
    _tables as tables,
    _theory as theory,
)
from jaxnn_nonconv.stats._precision import (
    Precision as Precision,
    UntilPrecise as UntilPrecise,
    progress_line as progress_line,
)
from jaxnn_nonconv.stats._results import (
    DEFAULT_CONFIDENCE as DEFAULT_CONFIDENCE,
    ProbabilityEstimate as ProbabilityEstimate,
    bracketed as bracketed,
    complement_shown as complement_shown,
    dumps_json as dumps_json,
    finite_json as finite_json,
    format_bound as format_bound,
    format_probability as format_probability,
    format_value as format_value,
    json_entry as json_entry,
    log10_midpoint as log10_midpoint,
    log10_or_none as log10_or_none,
    midpoint as midpoint,
    proportion as proportion,
    table_row as table_row,
    to_json as to_json,
)
from jaxnn_nonconv.stats._tables import (
    TEST_HEADER as TEST_HEADER,
    consistency_cell as consistency_cell,
    consistency_notation as consistency_notation,
    measured_cell as measured_cell,
    notation as notation,
    print_table as print_table,
    probability_cells as probability_cells,
    theory_test as theory_test,
    undecided_note as undecided_note,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "TEST_HEADER",
    "Precision",
    "ProbabilityEstimate",
    "UntilPrecise",
    "bracketed",
    "complement_shown",
    "consistency_cell",
    "consistency_notation",
    "dumps_json",
    "finite_json",
    "format_bound",
    "format_probability",
    "format_value",
    "frozen",
    "json_entry",
    "log10_midpoint",
    "log10_or_none",
    "measured_cell",
    "midpoint",
    "notation",
    "precision",
    "print_table",
    "probability_cells",
    "progress_line",
    "proportion",
    "rates",
    "results",
    "table_row",
    "tables",
    "theory",
    "theory_test",
    "to_json",
    "undecided_note",
]
