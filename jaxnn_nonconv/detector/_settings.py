"""The detector's settings as one frozen value: mode, IBP grid, probe sample, breakpoint capacity.

The same four settings travel from the command line (``--mode``, ``--grid``, ``--sample-size``,
``--max-points``) through the estimates (:mod:`jaxnn_nonconv.estimation`), the model checks
(:mod:`jaxnn_nonconv.models`) and the experiments down to :func:`~jaxnn_nonconv.detector.make_detector`.
They travel as one :class:`DetectorSettings`: checked once when it is made (at the edge: the CLI
or a public entry point), hashable (a cache key of the compiled detectors), and resolved for an
input dimension ``d`` by :meth:`DetectorSettings.resolved` (``auto`` becomes a concrete mode, the
IBP grid its default). What each setting means: docs/detector.md.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxnn_nonconv.detector._intervals import DEFAULT_PROBES, default_grid
from jaxnn_nonconv.errors import ConfigError

MODES: tuple[str, ...] = ("auto", "exact", "ibp", "crown")
REFINE_FOR: tuple[str, ...] = ("neurons", "events")


DEFAULT_MAX_POINTS = 1024  # breakpoint capacity of the exact d = 1 mode


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class DetectorSettings:
    """How the inactive-neuron detector certifies (one frozen, hashable value).

    Attributes:
      mode: ``auto`` (``exact`` for ``d <= 2``, ``crown`` otherwise), ``exact`` (``d <= 2``),
        ``ibp`` or ``crown`` (see :func:`jaxnn_nonconv.detector.classify_neurons`).
      grid: IBP sub-boxes per coordinate; ``None``: :func:`~jaxnn_nonconv.detector.default_grid`.
      n_probe: size of the fixed random sample of the box (the empirical check; with the probe
        points also the active certificates of ``ibp`` mode).
      max_points: breakpoint capacity of the exact ``d = 1`` mode (the top of its ladder).
      refine_for: what branch and bound (``d > 1`` crown and exact modes) must decide:
        ``neurons`` (default: every undecided deep neuron) or ``events`` (only networks whose
        events ``some neuron inactive`` and ``network constant`` are still undecided; a network
        with a certified inactive neuron and a decided constancy is left as it is). ``events`` is
        what ``advise`` needs, at a fraction of the cost; per-layer counts then keep more
        ``unknown`` neurons. Never changes a certificate, only how many are sought.

    Raises:
      ConfigError: at construction, a mode outside :data:`MODES`, ``grid`` or ``n_probe`` not a
        positive integer, ``max_points`` not an integer ``>= 2``.

    >>> DetectorSettings()
    DetectorSettings(mode='auto', grid=None, n_probe=64, max_points=1024, refine_for='neurons')
    >>> DetectorSettings(mode="ibp").resolved(2)
    DetectorSettings(mode='ibp', grid=16, n_probe=64, max_points=1024, refine_for='neurons')
    >>> DetectorSettings(grid=0)
    Traceback (most recent call last):
    ...
    jaxnn_nonconv.errors.ConfigError: grid must be a positive integer or None, got 0
    """

    mode: str = "auto"
    grid: int | None = None
    n_probe: int = DEFAULT_PROBES
    max_points: int = DEFAULT_MAX_POINTS
    refine_for: str = "neurons"

    def __post_init__(self) -> None:
        if self.refine_for not in REFINE_FOR:
            raise ConfigError(f"refine_for must be one of {REFINE_FOR}, got {self.refine_for!r}")
        if self.mode not in MODES:
            raise ConfigError(f"unknown detector mode {self.mode!r}; valid: {', '.join(MODES)}")
        if self.grid is not None and not (_is_int(self.grid) and self.grid >= 1):
            raise ConfigError(f"grid must be a positive integer or None, got {self.grid!r}")
        if not (_is_int(self.n_probe) and self.n_probe >= 1):
            raise ConfigError(f"n_probe must be a positive integer, got {self.n_probe!r}")
        if not (_is_int(self.max_points) and self.max_points >= 2):
            raise ConfigError(f"max_points must be an integer >= 2, got {self.max_points!r}")

    def validate(self, d: int) -> DetectorSettings:
        """``self`` if it applies to input dimension ``d``.

        Raises:
          ConfigError: ``mode="exact"`` with ``d > 2``.

        >>> DetectorSettings(mode="exact").validate(3)
        Traceback (most recent call last):
        ...
        jaxnn_nonconv.errors.ConfigError: exact mode needs input dimension 1 or 2, got 3; use mode='crown'
        """
        if self.mode == "exact" and d > 2:
            raise ConfigError(f"exact mode needs input dimension 1 or 2, got {d}; use mode='crown'")
        return self

    def resolved(self, d: int) -> DetectorSettings:
        """The concrete settings for input dimension ``d``: ``auto`` is ``exact`` for ``d <= 2``
        and ``crown`` otherwise; ``grid`` is :func:`default_grid` ``(d)`` in ``ibp`` mode (unless
        given) and ``None`` in the others (they do not use it).

        Raises:
          ConfigError: as :meth:`validate`.

        >>> [DetectorSettings().resolved(d).mode for d in (1, 2, 3)]
        ['exact', 'exact', 'crown']
        """
        self.validate(d)
        mode = ("exact" if d <= 2 else "crown") if self.mode == "auto" else self.mode
        grid = (self.grid or default_grid(d)) if mode == "ibp" else None
        return dataclasses.replace(self, mode=mode, grid=grid)

    def to_dict(self, d: int) -> dict[str, Any]:
        """The ``detector`` entry of the JSON output for input dimension ``d``: the resolved mode
        and grid, ``n_probe``, and ``max_points`` where it applies (exact mode, ``d = 1``).

        >>> DetectorSettings().to_dict(1)
        {'mode': 'exact', 'grid': None, 'n_probe': 64, 'max_points': 1024}
        >>> DetectorSettings(mode="ibp").to_dict(3)["grid"]
        6
        """
        r = self.resolved(d)
        exact_1d = r.mode == "exact" and d == 1
        return {
            "mode": r.mode,
            "grid": r.grid,
            "n_probe": r.n_probe,
            "max_points": r.max_points if exact_1d else None,
        }
