"""Risk levels ``R_0 > R_1 > ... > R_H`` of a ``d = 1`` problem, and the level a trained net reached.

A shallow net ``[1, H, 1]`` with ``k`` active hidden neurons realizes what a ``[1, k, 1]`` net
does, so its risk is at least ``R_k``, the best risk of ``[1, k, 1]`` nets (arXiv 2402.05155,
Sec. 3.6): ``R_0 = Var f(X)`` (the best constant) and ``R_H`` is the global minimum value of
width ``H``. ``X`` is uniform on the box or has the problem's piecewise-polynomial density (the
exact risk integrates against it, :mod:`jaxnn_nonconv.exact.risk`). :func:`compute_levels` finds
``R_k`` with the engine itself:

1. ``restarts`` independent ``[1, k, 1]`` nets trained by :func:`jaxnn_nonconv.engine.run`
   (Adam, online batches, learning rate halved ``halvings`` times over ``steps``);
2. the ``polish`` best of them by exact risk, plus ``warm_starts`` warm starts (the best
   ``[1, k-1, 1]`` net with one extra neuron of zero output weight and a random kink in the box,
   so ``R_k <= R_(k-1)`` by construction), and two uniform-knot starts, are
   polished deterministically in float64 by L-BFGS (``scipy.optimize``) on the exact risk of
   :mod:`jaxnn_nonconv.exact.risk` with ``jax`` gradients;
3. ``R_k`` is the lowest polished risk; ``spread[k]`` is the range of the ``polish`` lowest ones,
   so a small spread means several independent restarts agree on the level.

The result is cached per problem and settings as JSON (:func:`load_or_compute`); a cache for a
larger ``H`` serves every smaller one (level ``k`` does not depend on ``H``).

:func:`classify_levels` gives each trained net the level its exact risk matches within ``frac`` of the
distance to the neighbouring levels (and of the level itself), or ``-1`` (between levels, not
converged), and whether it reached ``R_H``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import nets, problems
from jaxnn_nonconv.exact import risk as exact_risk

LEVEL_TOL = 0.1  # default tolerance: this fraction of the gap to the nearest neighbouring level


@dataclasses.dataclass(frozen=True)
class LevelSettings:
    """How hard :func:`compute_levels` searches (defaults: affordable on a CPU).

    Attributes:
      restarts: independent trained ``[1, k, 1]`` nets per ``k``.
      steps, batch_size, learning_rate, halvings: Adam training of each restart (the rate is
        halved ``halvings`` times, evenly spaced over ``steps``).
      init: initialization family of the restarts.
      polish: best restarts polished by L-BFGS in float64 (and used for ``spread``).
      warm_starts: warm starts from the best ``[1, k-1, 1]`` net (a new neuron at random kinks).
      spline_starts: also polish the two "uniform knot" starts: ``k`` neurons all facing right
        (or all left) with kinks at ``a + (b - a) i / (k + 1)`` and output weights 0.
      maxiter: L-BFGS iterations per polish.
      seed: seed of the restarts (trial ``i`` of width ``k`` uses ``fold_in(key(seed + k), i)``).
    """

    restarts: int = 32
    steps: int = 3000
    batch_size: int = 256
    learning_rate: float = 0.01
    halvings: int = 6
    init: str = "pytorch"
    polish: int = 4
    warm_starts: int = 4
    spline_starts: bool = True
    maxiter: int = 1000
    seed: int = 0


FULL = LevelSettings(restarts=512, steps=20000, polish=16, maxiter=5000)


@dataclasses.dataclass(frozen=True)
class RiskLevels:
    """Levels of one problem.

    Attributes:
      levels: ``(H + 1,)`` ``R_0..R_H`` (noise variance included).
      spread: ``(H + 1,)`` range of the ``polish`` best polished restarts (0 for ``R_0``).
      best: per ``k`` the polished risks of the ``polish`` best restarts, sorted.
      affine: best affine risk (:func:`jaxnn_nonconv.core.problems.reference_levels`).
      params: per ``k >= 1`` the flat ``theta`` of the best ``[1, k, 1]`` net found.
      wall_s: seconds per level.
      source: per level where ``R_k`` came from: ``exact`` (``R_0``), ``restart`` (a trained
        restart, polished), ``warm`` (a warm start from ``R_(k-1)``'s net, polished) or
        ``spline`` (a uniform-knot start, polished).
    """

    problem: dict
    settings: dict
    levels: tuple[float, ...]
    spread: tuple[float, ...]
    best: tuple[tuple[float, ...], ...]
    affine: float
    params: tuple[tuple[float, ...], ...]
    wall_s: tuple[float, ...]
    source: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return len(self.levels) - 1

    def truncate(self, width: int) -> RiskLevels:
        """Levels ``0..width`` only."""
        n = width + 1
        return dataclasses.replace(
            self,
            levels=self.levels[:n],
            spread=self.spread[:n],
            best=self.best[:n],
            params=self.params[:width],
            wall_s=self.wall_s[:n],
            source=self.source[:n],
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RiskLevels:
        tup = lambda v: tuple(tuple(x) if isinstance(x, list) else x for x in v)  # noqa: E731
        return cls(**{k: tup(v) if isinstance(v, list) else v for k, v in d.items()})


def _problem_dict(problem: problems.Problem) -> dict:
    out = {"target": problem.target, "box": [list(b) for b in problem.box], "noise": problem.noise}
    dist = problem.distribution
    if dist is not None:  # absent for the uniform law: caches made before densities keep their key
        out["distribution"] = {
            "law": type(dist).__name__,
            **{k: json.loads(json.dumps(v)) for k, v in dataclasses.asdict(dist).items()},
        }
    return out


def _polish(theta0: np.ndarray, problem: problems.Problem, arch, maxiter: int):
    """L-BFGS on the exact float64 risk; returns ``(risk, theta)`` (the start if it is better)."""
    rule = exact_risk.rule_for(problem)
    vg = _value_and_grad(problem, tuple(arch), rule)
    with jax.enable_x64(True):

        def fun(t):
            v, g = vg(jnp.asarray(t, jnp.float64))
            v, g = float(v), np.asarray(g, np.float64)
            if not np.isfinite(v):
                return np.inf, np.zeros_like(g)
            return v, g

        start = fun(theta0)[0]
        res = scipy.optimize.minimize(
            fun,
            np.asarray(theta0, np.float64),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": maxiter, "ftol": 1e-16, "gtol": 1e-14, "maxcor": 30},
        )
        end = fun(res.x)[0]
    if end <= start:
        return end, np.asarray(res.x)
    return start, np.asarray(theta0, np.float64)


_VG_CACHE: dict = {}


def _value_and_grad(problem, arch, rule):
    key = (problem, arch)
    if key not in _VG_CACHE:

        def f(t):
            return exact_risk.risk(nets.from_flat(t, arch), problem, rule)[0]

        _VG_CACHE[key] = jax.jit(jax.value_and_grad(f))
    return _VG_CACHE[key]


def _warm_start(prev: np.ndarray, k: int, box, rng: np.random.Generator) -> np.ndarray:
    """Best ``[1, k-1, 1]`` net plus a neuron with a kink inside the box and output weight 0."""
    (a, b) = box
    w1, b1 = prev[: k - 1], prev[k - 1 : 2 * (k - 1)]
    w2, c = prev[2 * (k - 1) : 3 * (k - 1)], prev[-1:]
    sign = rng.choice([-1.0, 1.0])
    kink = rng.uniform(a, b)
    return np.concatenate([w1, [sign], b1, [-sign * kink], w2, [0.0], c])


def _spline_start(k: int, box, sign: float) -> np.ndarray:
    """``k`` neurons ``relu(sign (x - c_i))`` with uniform kinks ``c_i`` in the box, output 0."""
    (a, b) = box
    kinks = a + (b - a) * np.arange(1, k + 1) / (k + 1)
    return np.concatenate([np.full(k, sign), -sign * kinks, np.zeros(k), [0.0]])


def compute_levels(
    problem: problems.Problem,
    width: int,
    settings: LevelSettings = LevelSettings(),
    *,
    progress: bool | None = None,
) -> RiskLevels:
    """``R_0..R_width`` of ``problem`` by restarts, training and float64 polish (module docstring).

    Args:
      problem: a ``d = 1`` problem with an exact rule (:func:`jaxnn_nonconv.exact.risk.rule_for`).
      width: the largest ``k``.
      settings: search effort.
      progress: progress bar over ``k = 1..width`` on stderr (default: stderr is a terminal).

    Returns:
      :class:`RiskLevels`.

    Raises:
      ValueError: ``width < 1`` or no exact risk for ``problem``.
    """
    problem = problem.validate()
    if not exact_risk.supported(problem):
        raise ValueError("risk levels need d = 1 and a built-in target (exact risk)")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    ref = problems.reference_levels(problem)
    levels, spread, best, params, walls = [ref.constant], [0.0], [(ref.constant,)], [], [0.0]
    source = ["exact"]
    s = settings
    rng = np.random.default_rng(s.seed)
    for k in engine.progress_iter(range(1, width + 1), width, progress, "risk levels R_k"):
        t0 = time.perf_counter()
        arch = (1, k, 1)
        cfg = engine.TrainConfig(
            arch=arch,
            init=s.init,
            problem=problem,
            optimizer="adam",
            learning_rate=s.learning_rate,
            schedule="step",
            schedule_kw=(("every", max(s.steps // (s.halvings + 1), 1)), ("factor", 0.5)),
            steps=s.steps,
            batch_size=s.batch_size,
            eval_size=64,
        )
        res = engine.run(cfg, s.restarts, seed=s.seed + k, chunk_size=s.restarts, progress=False)
        risk, _ = exact_risk.risks_of_params(res["params"], arch, problem)
        risk = np.where(np.isfinite(risk), risk, np.inf)
        order = np.argsort(risk, kind="stable")[: s.polish]
        starts = [res["params"][i].astype(np.float64) for i in order if np.isfinite(risk[i])]
        polished = [_polish(t, problem, arch, s.maxiter) for t in starts]
        warm = [
            _polish(
                _warm_start(np.asarray(params[-1]), k, problem.box[0], rng),
                problem,
                arch,
                s.maxiter,
            )
            for _ in range(s.warm_starts if k > 1 else 0)
        ]
        splines = [
            _polish(_spline_start(k, problem.box[0], sign), problem, arch, s.maxiter)
            for sign in ((1.0, -1.0) if s.spline_starts else ())
        ]
        ranked = sorted(polished, key=lambda rt: rt[0])
        top = [r for r, _ in ranked[: s.polish]]
        candidates = (
            [(r, t, "restart") for r, t in ranked]
            + [(r, t, "warm") for r, t in warm]
            + [(r, t, "spline") for r, t in splines]
        )
        r_k, theta, src = min(candidates, key=lambda c: c[0])
        source.append(src)
        levels.append(float(r_k))
        spread.append(float(max(top) - min(top)) if top else math.nan)
        best.append(tuple(float(v) for v in top))
        params.append(tuple(float(v) for v in theta))
        walls.append(time.perf_counter() - t0)
    return RiskLevels(
        problem=_problem_dict(problem),
        settings=dataclasses.asdict(settings),
        levels=tuple(levels),
        spread=tuple(spread),
        best=tuple(best),
        affine=float(ref.affine),
        params=tuple(params),
        wall_s=tuple(walls),
        source=tuple(source),
    )


def cache_key(problem: problems.Problem, settings: LevelSettings) -> str:
    """Hash of the problem and the settings (not of the width: a larger cache serves smaller)."""
    blob = json.dumps(
        {"problem": _problem_dict(problem.validate()), "settings": dataclasses.asdict(settings)},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cache_path(problem, settings: LevelSettings, cache_dir) -> Path:
    return Path(cache_dir) / f"levels-{cache_key(problem, settings)}.json"


def cached(
    problem: problems.Problem, width: int, settings: LevelSettings, cache_dir: str | Path
) -> RiskLevels | None:
    """Levels ``0..width`` from the cache, or ``None`` when none with that many are stored."""
    path = _cache_path(problem.validate(), settings, cache_dir)
    if not path.exists():
        return None
    found = RiskLevels.from_dict(json.loads(path.read_text()))
    return found.truncate(width) if found.width >= width else None


def load_or_compute(
    problem: problems.Problem,
    width: int,
    settings: LevelSettings = LevelSettings(),
    cache_dir: str | Path | None = None,
    *,
    progress: bool | None = None,
) -> RiskLevels:
    """:func:`compute_levels`, cached as ``cache_dir/levels-<hash>.json`` (no cache: ``None``).

    A cached file for the same problem and settings with at least ``width`` levels is reused.
    """
    problem = problem.validate()
    if cache_dir is None:
        return compute_levels(problem, width, settings, progress=progress)
    found = cached(problem, width, settings, cache_dir)
    if found is not None:
        return found
    out = compute_levels(problem, width, settings, progress=progress)
    path = _cache_path(problem, settings, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out.to_dict(), indent=1))
    tmp.replace(path)
    return out


def tolerances(levels, frac: float = LEVEL_TOL) -> np.ndarray:
    """Per level, ``frac`` times the smaller of the gap to its nearest neighbour and the level
    itself (when ``R_k > 0``): ``(H + 1,)``.

    The gap alone would be too coarse where it is large: for ``H = 1`` the gap ``R_0 - R_1`` can be
    many times ``R_1``, and other critical values (e.g. the best affine risk) lie inside it. With
    ``frac < 1/2`` the windows ``[R_k - tol_k, R_k + tol_k]`` never overlap.

    >>> tolerances([1.0, 0.5, 0.4], 0.1).round(6).tolist()
    [0.05, 0.01, 0.01]
    >>> tolerances([1.0, 0.02], 0.1).round(6).tolist()  # 0.1 * R_1, not 0.1 * (R_0 - R_1)
    [0.098, 0.002]
    """
    lv = np.asarray(levels, np.float64)
    gaps = np.abs(np.diff(lv))
    left = np.concatenate([[np.inf], gaps])
    right = np.concatenate([gaps, [np.inf]])
    nearest = np.minimum(left, right)
    return frac * np.where(lv > 0, np.minimum(nearest, lv), nearest)


def classify_levels(
    risk_exact: np.ndarray, levels, frac: float = LEVEL_TOL
) -> dict[str, np.ndarray]:
    """The level each net's exact risk reached.

    Args:
      risk_exact: ``(M,)`` exact risks (NaN: diverged or overflowed).
      levels: ``R_0..R_H``.
      frac: tolerance as a fraction of the gap to the nearest level (:func:`tolerances`).

    Returns:
      ``level``: ``(M,)`` int, the ``k`` with ``|risk - R_k| <= tol_k``, ``H`` for a risk below
      ``R_H`` (the level search missed a better net), ``-1`` between levels or NaN;
      ``reached_global``: ``(M,)`` bool, ``risk <= R_H + tol_H``;
      ``below_levels``: ``(M,)`` bool, ``risk < R_H - tol_H``.

    >>> out = classify_levels(np.array([1.0, 0.505, 0.45, 0.3, np.nan]), [1.0, 0.5, 0.4])
    >>> out["level"].tolist(), out["reached_global"].tolist()
    ([0, 1, -1, 2, -1], [False, False, False, True, False])
    """
    lv = np.asarray(levels, np.float64)
    tol = tolerances(lv, frac)
    r = np.asarray(risk_exact, np.float64)
    hit = np.abs(r[:, None] - lv[None, :]) <= tol[None, :]
    level = np.where(hit.any(1), np.argmax(hit, 1), -1)
    below = r < lv[-1] - tol[-1]
    level = np.where(below, len(lv) - 1, level)
    return {
        "level": level.astype(np.int64),
        "reached_global": r <= lv[-1] + tol[-1],
        "below_levels": below,
    }


def levels_both(
    problem: problems.Problem,
    width: int,
    settings: LevelSettings | None = LevelSettings(),
    *,
    lsq_starts: int = 4,
    lsq_maxiter: int = 300,
    cache_dir: str | Path | None = None,
    progress: bool | None = None,
) -> dict:
    """``R_0..R_width`` by both ways: the search of :func:`compute_levels` and least squares
    over the output layer with a minimum over kinks (:func:`jaxnn_nonconv.exact.lsq.lsq_levels`);
    each level keeps the lower (both are risks of explicit nets, so both are upper bounds).

    Args:
      problem: ``d = 1`` with an exact rule.
      width: the largest ``k``.
      settings: effort of the search; ``None`` skips it (least squares only).
      lsq_starts, lsq_maxiter: random starts per orientation pattern, L-BFGS-B iterations.
      cache_dir: cache of the search (:func:`load_or_compute`).
      progress: progress bar of the search.

    Returns:
      ``levels``: one ``{width, risk, method}`` per ``k = 0..width`` (``method`` is ``exact``
      for ``k = 0``, else ``search`` or ``least_squares``, whichever is lower; a tie keeps
      ``search``); ``search`` and ``least_squares``: the ``width + 1`` values of each way
      (``None`` where not computed); ``lsq``: the :class:`~jaxnn_nonconv.exact.lsq.LsqLevel`
      of each ``k >= 1``.

    Raises:
      ValueError: as :func:`compute_levels`.
    """
    problem = problem.validate()
    if not exact_risk.supported(problem):
        raise ValueError("risk levels need d = 1 and a built-in target (exact risk)")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    from jaxnn_nonconv.exact import lsq

    var_f = problems.reference_levels(problem).constant
    ls = lsq.lsq_levels(problem, width, starts=lsq_starts, maxiter=lsq_maxiter, seed=0)
    lsq_values = [var_f] + [lv.risk + problem.noise**2 for lv in ls]
    search = [None] * (width + 1)
    if settings is not None:
        found = load_or_compute(problem, width, settings, cache_dir, progress=progress)
        search = list(found.levels)
    levels = [{"width": 0, "risk": var_f, "method": "exact"}]
    for k in range(1, width + 1):
        s, q = search[k], lsq_values[k]
        if s is not None and s <= q:
            levels.append({"width": k, "risk": float(s), "method": "search"})
        else:
            levels.append({"width": k, "risk": float(q), "method": "least_squares"})
    return {"levels": levels, "search": search, "least_squares": lsq_values, "lsq": ls}
