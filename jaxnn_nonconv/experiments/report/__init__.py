"""Tables and figures from stored experiment results; nothing is trained or re-run here.

* :mod:`~jaxnn_nonconv.experiments.report._report`: :func:`report`, per-cell statistics, the
  statistics and each experiment's figures.
* :mod:`~jaxnn_nonconv.experiments.report._table`: the summary table, 80 columns wide.
* :mod:`~jaxnn_nonconv.experiments.report._levels`: exact risks against the risk levels ``R_k``.
* :mod:`~jaxnn_nonconv.experiments.report._six`: the six settings of 2212.13111: figures per
  setting and each run classified against the levels (at ``R_H``, good band, bad critical value).
* :mod:`~jaxnn_nonconv.experiments.report._rare`: figures and rows of a splitting sweep.
* :mod:`~jaxnn_nonconv.experiments.report._data_driven`: P(not reaching the empirical minimum)
  of ``[1, H, 1]`` nets on ``n`` points (the ``data_driven`` kind).
"""

from jaxnn_nonconv.experiments.report._report import (
    cell_stats as cell_stats,
    jsonable as jsonable,
    load_cells as load_cells,
    report as report,
)
from jaxnn_nonconv.experiments.report._table import print_summary as print_summary

__all__ = [
    "cell_stats",
    "jsonable",
    "load_cells",
    "print_summary",
    "report",
]
