"""Gradient flow and full-batch gradient descent on the exact ``d = 1`` risk (arXiv 2112.09684;
2402.05155 Sec. 5): trajectories, their invariants, the critical values they stop at, and rates.

* :mod:`dynamics <jaxnn_nonconv.flow._dynamics>`: the vector field ``-grad R``, the conserved
  quantities ``||out_j||^2 - ||in_j||^2``, slopes and kinks of what a net realizes.
* :mod:`integrate_mod <jaxnn_nonconv.flow._integrate>`: trajectories by diffrax (``ode``) or GD
  (``gd``), vmapped in padded chunks (:class:`FlowSettings`, :func:`run_flow`, :func:`integrate`).
* :mod:`limits <jaxnn_nonconv.flow._limits>`: the ladder of critical values (``var_f``,
  ``affine``, ``R_k``), where each trajectory stopped, fitted rates, the ``flow`` summary.
* :mod:`study <jaxnn_nonconv.flow._study>`: ``experiments/gradient_flow.toml`` (limits, rates,
  existence, random initializations, GD steps, speed); ``python -m jaxnn_nonconv.flow``.
* :mod:`figures <jaxnn_nonconv.flow._figures>`: the study's figures.
"""

from jaxnn_nonconv.flow import (
    _dynamics as dynamics,
    _integrate as integrate_mod,
    _limits as limits,
    _study as study,
)
from jaxnn_nonconv.flow._integrate import (
    METHODS as METHODS,
    FlowSettings as FlowSettings,
    integrate as integrate,
    run_flow as run_flow,
    save_times as save_times,
)
from jaxnn_nonconv.flow._limits import (
    classify as classify,
    ladder as ladder,
    summarize as summarize,
)

__all__ = [
    "METHODS",
    "FlowSettings",
    "classify",
    "dynamics",
    "integrate",
    "integrate_mod",
    "ladder",
    "limits",
    "run_flow",
    "save_times",
    "study",
    "summarize",
]
