"""Rare events: probabilities far too small for plain Monte Carlo, by splitting over depth.

* :mod:`~jaxnn_nonconv.rare._splitting`: :func:`rare_event`: P(not constant) and P(no inactive
  neuron) down to 1e-100 and below, with a log-normal interval from replicates.
* :mod:`~jaxnn_nonconv.rare._summary`: their JSON entries (``--method splitting``), the plain
  Monte Carlo complements with log10 values, and tables.
"""

from jaxnn_nonconv.rare._splitting import (
    DEFAULT_MAX_POINTS as DEFAULT_MAX_POINTS,
    EVENTS as EVENTS,
    RareEventResult as RareEventResult,
    rare_event as rare_event,
)
from jaxnn_nonconv.rare._summary import (
    fmt_small as fmt_small,
    log10_bounds as log10_bounds,
    mc_entries as mc_entries,
    print_splitting as print_splitting,
    splitting_summary as splitting_summary,
)

__all__ = [
    "DEFAULT_MAX_POINTS",
    "EVENTS",
    "RareEventResult",
    "fmt_small",
    "log10_bounds",
    "mc_entries",
    "print_splitting",
    "rare_event",
    "splitting_summary",
]
