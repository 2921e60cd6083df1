"""Rare-event estimation by splitting over depth: P(not constant) and P(no inactive neuron) down
to 1e-100 and below, with intervals.

Plain Monte Carlo with ``M`` trials cannot see a probability below about ``3.7 / M``. Here the
networks are drawn *layer by layer* (and, for ``no_inactive``, neuron by neuron), as in
sequential Monte Carlo / multilevel splitting (Webb et al. 2019, arXiv 1811.07209). Given the
image of the box through layers ``< k``, the neurons of layer ``k`` are i.i.d., so

    P(event) = prod_s P(stage s survives | stages < s survived),

and each factor is estimated by the surviving fraction of a population of ``N`` partial networks
("particles"), resampled (systematically) from the survivors after every stage. The product of
the fractions is an unbiased estimate of P(event) (Del Moral 2004). Intervals come from ``R``
independent replicate runs (:func:`replicate_interval`).

Events (``EVENTS``):

* ``not_constant``: no hidden layer is entirely inactive on the box (the complement of the
  constant network of arXiv 2006.07075); one stage per hidden layer.
* ``no_inactive``: every hidden neuron is active somewhere on the box (the event whose
  probability bounds P(reaching a global minimizer) in arXiv 2402.05155 and 2410.10533); one stage
  per group of ``group`` neurons, so that no stage has a tiny survival fraction.

Certificates (per drawn neuron, three-valued as in :mod:`jaxnn_nonconv.detector`):

* ``d = 1``: the image of ``[a, b]`` through layers ``< k`` is a polygonal curve; each particle
  keeps its vertices (``max_points`` of them at most). A neuron's pre-activation is linear along
  each edge, so its maximum over the box is its maximum over the vertices: exact. New vertices
  are the zero crossings of the layer's pre-activations along each edge (the shared kernel
  :mod:`jaxnn_nonconv.exact.pieces`). Maxima within a rounding margin of 0 (``MARGIN_ULPS / 2``
  times the generous dot-product bound :func:`jaxnn_nonconv.core.rounding_gamma`, i.e.
  ``MARGIN_ULPS (n + 2) eps``, times the sum of absolute terms at the vertex times the layer
  index: a heuristic margin, not a proof) are ``unknown``. The margin is per vertex (a vertex
  evaluated directly, i.e. a box corner's image or any first-layer vertex, whose zeros are
  ``-c / w``: its own scale; an interpolated crossing: the curve's largest), so an exact 0 (a
  zero-bias net at ``x = 0``: value and scale 0) is decided, not a tie. When a particle's curve
  needs more than ``max_points`` vertices it falls back to the certified bounds below.
* ``d > 1`` (and overflow): inactive when the interval bound (IBP on ``cells`` sub-boxes, widened
  by the float rounding of every dot product) is ``<= 0`` or the neuron is sign-dead; active when
  its pre-activation is ``> 0`` at a fixed probe point; otherwise unknown. Layer 1 is exact in any
  dimension (the box's corners).

Unknown neurons give a bracket: the run counts them as alive (upper end); each particle carries a
flag "every stage so far was certified", and the final fraction of flagged particles times the
upper estimate is the lower end (unknown counted as dead).

Randomness: replicate ``r``, stage ``s`` uses ``fold_in(fold_in(key(seed), r), s)``; particle
``n`` draws its neurons from ``fold_in(fold_in(that, 0), n)`` and the resampling uses
``fold_in(that, 1)``. Results are bit-identical for a given ``(seed, N, R, group)``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy

from jaxnn_nonconv import detector, engine
from jaxnn_nonconv.core import inits, rounding_gamma
from jaxnn_nonconv.exact import pieces
from jaxnn_nonconv.stats import log10_midpoint, midpoint

EVENTS: tuple[str, ...] = ("not_constant", "no_inactive")
DEFAULT_PARTICLES = 4096
DEFAULT_REPLICATES = 8
DEFAULT_MAX_POINTS = 32  # vertex capacity of a particle's image curve (d = 1)
DEFAULT_PROBES = 32
MARGIN_ULPS = 8.0  # rounding margin: MARGIN_ULPS / 2 times core.rounding_gamma, per layer


class Particles(NamedTuple):
    """Population of partial networks (leading axis: particles; one more with replicates).

    Attributes:
      pts: ``(P, l)`` post-activations of the last drawn layer at the vertices of the image curve
        (``d = 1``; padded by repeating the last vertex), ``(1, l)`` zeros when unused.
      n_pts: ``()`` int, number of vertices in ``pts``.
      corner: ``(P,)`` bool, the vertex is the image of a corner of the box, evaluated directly
        (its rounding is relative to its own values; a crossing's is relative to its edge's).
      exact: ``()`` bool, ``pts`` still holds every vertex (no overflow).
      probe: ``(S, l)`` post-activations at the fixed probe points (active certificates).
      cell_lo, cell_hi: ``(C, l)`` certified bounds of the post-activations on each sub-box.
      rows: ``(l_k, l_{k-1} + 1)`` neurons of the layer being drawn (``[w | b]``).
      certain: ``()`` bool, every stage so far was certified (not only possibly) survived.
    """

    pts: jax.Array
    n_pts: jax.Array
    corner: jax.Array
    exact: jax.Array
    probe: jax.Array
    cell_lo: jax.Array
    cell_hi: jax.Array
    rows: jax.Array
    certain: jax.Array


@dataclasses.dataclass(frozen=True)
class RareEventResult:
    """Result of :func:`rare_event`; :meth:`to_dict` is the JSON entry.

    Attributes:
      event: one of :data:`EVENTS`.
      estimate: probability: the midpoint of :attr:`bracket` (a float, never a pair).
      ci: interval of the probability (from the lower end's to the upper end's).
      log10_estimate: log10 of :attr:`estimate`, computed in log space
        (:func:`jaxnn_nonconv.stats.log10_midpoint`; ``None`` where the probability is 0).
      log10_ci: the interval in log10 (``None`` for an end at 0).
      bracket: ``[lower, upper]`` estimates (lower: undecided neurons counted as dead; equal
        ends when nothing was unknown).
      log10_bracket: the same in log10.
      log10_replicates: ``(R,)`` log10 of each replicate's upper estimate.
      n_particles, replicates, group, stages: run sizes.
      unknown_fraction: fraction of drawn neurons that were neither certified (all stages).
      overflow_fraction: fraction of final particles whose curve overflowed ``max_points``.
      wall_s: seconds.
    """

    event: str
    estimate: float
    ci: list[float | None]
    log10_estimate: float | None
    log10_ci: list[float | None]
    bracket: list[float]
    log10_bracket: list[float | None]
    log10_replicates: list[float]
    n_particles: int
    replicates: int
    group: int
    stages: int
    confidence: float
    unknown_fraction: float
    overflow_fraction: float
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["method"] = "splitting"
        return out


def replicate_interval(
    log_z: np.ndarray, confidence: float = 0.95
) -> tuple[float, list[float | None], float | None, list[float | None]]:
    """Estimate and interval of ``P`` from ``R`` independent unbiased estimates ``Z_r``.

    The estimate is the mean of ``Z_r`` (unbiased). The interval treats ``Z_r`` as lognormal
    (the log of a splitting estimate is close to normal, arXiv 1811.07209 sec. 3) and is Cox's
    interval for a lognormal mean: ``ln P in ybar + s^2/2 +- t_{R-1} sqrt(s^2/R + s^4/(2(R-1)))``
    with ``ybar, s^2`` the mean and variance of ``ln Z_r``.
    When some ``Z_r = 0`` (extinct runs) it is a t interval on the linear scale, cut at 0.

    Args:
      log_z: ``(R,)`` natural logs of the replicate estimates (``-inf`` for 0), ``R >= 2``.
      confidence: interval level.

    Returns:
      ``(estimate, ci, log10_estimate, log10_ci)``; log10 entries are ``None`` for 0.

    >>> est, ci, l10, l10ci = replicate_interval(np.log([1e-10, 2e-10, 1.5e-10, 1e-10]))
    >>> round(l10, 3), [round(v, 3) for v in l10ci]
    (-9.862, [-10.098, -9.613])
    """
    log_z = np.asarray(log_z, np.float64)
    r = log_z.shape[0]
    if r < 2:
        raise ValueError(f"need at least 2 replicates for an interval, got {r}")
    t = float(scipy.stats.t.ppf(0.5 + confidence / 2, r - 1))
    if not np.any(np.isfinite(log_z)):
        return 0.0, [0.0, None], None, [None, None]
    top = float(np.max(log_z))
    mean_ln = top + math.log(float(np.mean(np.exp(log_z - top))))
    est, l10 = math.exp(mean_ln), mean_ln / math.log(10)
    if np.all(np.isfinite(log_z)):
        # Cox's interval for a lognormal mean: ln E Z = mean(ln Z) + s^2 / 2.
        s2 = float(np.var(log_z, ddof=1))
        center = float(np.mean(log_z)) + s2 / 2
        half = t * math.sqrt(s2 / r + s2**2 / (2 * (r - 1)))
        l10ci = [(center - half) / math.log(10), (center + half) / math.log(10)]
        return est, [10.0 ** l10ci[0], 10.0 ** l10ci[1]], l10, l10ci
    rel = np.exp(log_z - mean_ln)  # Z_r / mean
    half = t * float(np.std(rel, ddof=1)) / math.sqrt(r)
    hi_l10 = l10 + math.log10(1 + half)
    lo_l10 = l10 + math.log10(1 - half) if half < 1 else None
    lo = 0.0 if lo_l10 is None else 10.0**lo_l10
    return est, [lo, 10.0**hi_l10], l10, [lo_l10, hi_l10]


class _DrawSpec(NamedTuple):
    """The fields of a config that the draws depend on (a small compile-cache key)."""

    init: str
    zero_bias: bool
    init_scale: float
    dtype: str


def _draw_rows(cfg: _DrawSpec, key, fan_in: int, fan_out: int, n: int, dt) -> jax.Array:
    """``n`` i.i.d. neurons ``[w | b]: (n, fan_in + 1)`` of a ``fan_in -> fan_out`` layer.

    Rows of every init family are i.i.d.; only the spread depends on ``fan_out`` (Glorot), which
    the scale corrects.
    """
    scale = cfg.init_scale
    if n != fan_out:
        scale *= inits.layer_std(cfg.init, fan_in, fan_out) / inits.layer_std(cfg.init, fan_in, n)
    w, b = inits.init_layer(
        key, cfg.init, fan_in, n, zero_bias=cfg.zero_bias, scale=scale, dtype=dt
    )
    return jnp.concatenate([w, b[:, None]], axis=1)


def _gamma(n_terms: int, dt, layer) -> jax.Array:
    """The relative margin ``MARGIN_ULPS (n_terms + 2) eps`` times the layer index ``layer: ()``.

    A heuristic that grows with depth (the vertices themselves carry rounding from every earlier
    layer); ``MARGIN_ULPS / 2`` times :func:`jaxnn_nonconv.core.rounding_gamma`, exactly.
    """
    return (MARGIN_ULPS / 2 * rounding_gamma(n_terms, dt)) * layer.astype(dt)


def _neuron_status(p: Particles, rows, layer, first: bool, d: int):
    """``(inactive, active)`` certificates, each ``(n,)`` bool, of neurons ``rows: (n, l+1)``."""
    w, b = rows[:, :-1], rows[:, -1]
    fan_in = w.shape[1]
    dt = w.dtype
    gamma = _gamma(fan_in, dt, layer)
    # Vertices: exact maximum over the image curve (layer 1: the box's corners).
    # A corner's image is evaluated directly, so its rounding is relative to its own values: its
    # margin is its own scale, and a corner where the value is exactly 0 with scale 0 (x = 0 of
    # a zero-bias net on [0, b]) is decided as the exact 0 it is. A crossing's values are
    # interpolated along an edge, so it keeps the largest scale of the curve as its margin.
    z = p.pts @ w.T + b[None, :]  # (P, n)
    scale = jnp.abs(p.pts) @ jnp.abs(w).T + jnp.abs(b)[None, :]  # (P, n)
    margin = gamma * jnp.where(p.corner[:, None], scale, jnp.max(scale, axis=0)[None, :])
    z_up, z_low = jnp.max(z + margin, axis=0), jnp.max(z - margin, axis=0)
    exact = p.exact if (d == 1 or first) else jnp.zeros((), bool)
    # Certified bounds: IBP over the cells, widened by rounding.
    wp, wn = jnp.maximum(w, 0), jnp.minimum(w, 0)
    up_terms = p.cell_hi @ wp.T + p.cell_lo @ wn.T + b[None, :]  # (C, n)
    err = gamma * (jnp.abs(p.cell_hi) @ jnp.abs(w).T + jnp.abs(b)[None, :])
    ibp_up = jnp.max(up_terms + err, axis=0)
    sign_dead = jnp.all(w <= 0, axis=1) & (b <= 0) if not first else jnp.zeros(b.shape, bool)
    zp = p.probe @ w.T + b[None, :]
    mp = gamma * (jnp.abs(p.probe) @ jnp.abs(w).T + jnp.abs(b)[None, :])
    witnessed = jnp.any(zp > mp, axis=0)
    # Overflowed values (e.g. float32 at depth) certify nothing: -inf <= -inf must not count.
    ok_exact = (z_up <= 0) & jnp.all(jnp.isfinite(margin), axis=0)
    ok_ibp = (ibp_up <= 0) & jnp.isfinite(ibp_up)
    inactive_ = jnp.where(exact, ok_exact, ok_ibp) | sign_dead
    active = jnp.where(exact, z_low > 0, False) | witnessed
    return inactive_, active


def _propagate(p: Particles, layer, d: int, max_points: int, first: bool = False) -> Particles:
    """Push the image of the box through the completed layer ``p.rows`` (one particle)."""
    w, b = p.rows[:, :-1], p.rows[:, -1]
    dt = w.dtype
    gamma = _gamma(w.shape[1], dt, layer)
    # IBP, widened by rounding.
    wp, wn = jnp.maximum(w, 0), jnp.minimum(w, 0)
    err = gamma * (jnp.abs(p.cell_hi) @ jnp.abs(w).T + jnp.abs(b)[None, :])
    hi = p.cell_hi @ wp.T + p.cell_lo @ wn.T + b[None, :] + err
    lo = p.cell_lo @ wp.T + p.cell_hi @ wn.T + b[None, :] - err
    probe = jax.nn.relu(p.probe @ w.T + b[None, :])
    if d == 1:
        pts, corner, n_pts, fits = _propagate_curve(
            p.pts, p.corner, p.n_pts, w, b, max_points, first=first
        )
        exact = fits & p.exact
    else:
        pts, n_pts, exact = jnp.zeros((1, w.shape[0]), dt), p.n_pts, jnp.zeros((), bool)
        corner = p.corner[:1]
    return p._replace(
        pts=pts,
        corner=corner,
        n_pts=n_pts,
        exact=exact,
        probe=probe,
        cell_lo=jax.nn.relu(lo),
        cell_hi=jax.nn.relu(hi),
        rows=jnp.zeros((0, w.shape[0] + 1), dt),
    )


def _compact(vals, flags, valid, cap: int):
    """Valid rows of ``vals: (K, l)`` and ``flags: (K,)`` in order, padded by repeating the last:
    ``((cap, l), (cap,), count)``.

    No valid row gives zeros (and False).
    """
    src, count = pieces.compact(valid, cap, vals.shape[0])  # fill: out of range
    last = src[jnp.clip(count - 1, 0, cap - 1)]
    src = jnp.where(jnp.arange(cap) >= count, last, src)
    return (
        vals.at[src].get(mode="fill", fill_value=0),
        flags.at[src].get(mode="fill", fill_value=False),
        count,
    )


def _propagate_curve(pts, corner, n_pts, w, b, cap: int, *, first: bool = False):
    """Vertices of the image curve after the layer ``relu(W h + b)``: ``(pts, corner, n_pts,
    fits)`` (``corner``: :attr:`Particles.corner`; a crossing is no corner).

    Along edge ``j`` (from vertex ``j`` to ``j+1``) the pre-activation is linear; every neuron
    whose sign changes strictly along it adds a vertex at its zero crossing. The new vertices
    are gathered straight into ``cap`` slots (``O(cap l)`` memory, not ``O(P l^2)``); equal
    consecutive vertices (e.g. runs clipped to 0) are then merged.

    ``first`` (the first layer, ``d = 1``: ``pts`` are inputs ``x``, increasing): the zeros are
    ``-b / w`` (exactly 0 for a zero bias) and every vertex is the layer evaluated at its ``x``
    directly, an image of a point of the box like a corner (``corner`` True), not interpolated.
    """
    z = pts @ w.T + b[None, :]  # (P, l)
    z0, z1 = z[:-1], z[1:]  # (P-1, l)
    n_edges, width = z0.shape
    cross, t = pieces.crossings(z)
    if first:
        x0, x1 = pts[:-1, :1], pts[1:, :1]  # (P-1, 1)
        root = (-b / jnp.where(w[:, 0] != 0, w[:, 0], 1.0))[None, :]
        # A zero that rounds onto or past an end is that end (within an ulp): no new vertex.
        xs = jnp.sort(jnp.where(cross & (root > x0) & (root < x1), root, jnp.inf), axis=1)
        t = jnp.where(jnp.isfinite(xs), (xs - x0) / jnp.where(x1 > x0, x1 - x0, 1.0), 2.0)
        x_flat = jnp.concatenate(
            [
                jnp.concatenate([x0, jnp.where(jnp.isfinite(xs), xs, x0)], axis=1).reshape(-1),
                pts[-1],
            ]
        )
    else:
        t = jnp.where(cross, t, 2.0)
    t = jnp.sort(jnp.clip(t, 0.0, 2.0), axis=1)  # (P-1, l): each edge's crossings, in order
    # Candidates, in curve order: per edge its start (t = 0) then its crossings; then the end.
    t_flat = jnp.concatenate(
        [
            jnp.concatenate([jnp.zeros((n_edges, 1), t.dtype), t], axis=1).reshape(-1),
            jnp.ones(1, t.dtype),
        ]
    )
    edge = jnp.concatenate(
        [jnp.repeat(jnp.arange(n_edges), width + 1), jnp.full((1,), n_edges - 1)]
    )
    valid = (t_flat <= 1.0) & jnp.concatenate([edge[:-1] < n_pts - 1, jnp.ones((1,), bool)])
    room = 2 * cap  # merged below, so gather more than fits
    src, count = pieces.compact(valid, room, t_flat.shape[0] - 1)  # past the count: the end
    j, tj = edge[src], t_flat[src]
    # t = 0 and 1 are the edge's own vertices: their values are taken, not interpolated.
    t_col = tj[:, None]
    vals = jnp.where(
        t_col == 0, z0[j], jnp.where(t_col == 1, z1[j], z0[j] + t_col * (z1[j] - z0[j]))
    )
    vals = jax.nn.relu(vals)  # (cap, l); slots >= count: the end
    flags = ((tj == 0) & corner[j]) | ((src == t_flat.shape[0] - 1) & corner[n_edges])
    if first:
        vals = jax.nn.relu(x_flat[src][:, None] * w[None, :, 0] + b[None, :])
        flags = jnp.ones_like(flags)
    dup = jnp.concatenate([jnp.zeros((1,), bool), jnp.all(vals[1:] == vals[:-1], axis=1)])
    vals, flags, n_kept = _compact(vals, flags, ~dup, room)
    # A vertex inside a run along which only one coordinate changes, monotonically, lies on the
    # segment joining its neighbours: dropping it leaves the curve's point set unchanged (exact,
    # no tolerance). Dropping all such vertices at once is safe: consecutive ones share the
    # coordinate and the direction.
    step_prev, step_next = vals[1:-1] - vals[:-2], vals[2:] - vals[1:-1]
    varying = (step_prev != 0) | (step_next != 0)
    monotone = jnp.all(step_prev * step_next >= 0, axis=1)
    inner = jnp.arange(1, room - 1) < n_kept - 1
    drop = inner & monotone & (jnp.sum(varying, axis=1) <= 1)
    keep = jnp.concatenate([jnp.ones((1,), bool), ~drop, jnp.ones((1,), bool)])
    keep = keep & (jnp.arange(room) < n_kept)
    new, flags, n_new = _compact(vals, flags, keep, room)
    return new[:cap], flags[:cap], jnp.minimum(n_new, cap), (count <= room) & (n_new <= cap)


def _resample(key, alive, p: Particles) -> Particles:
    """Systematic resampling of the population from the ``alive: (N,)`` particles."""
    n = alive.shape[0]
    count = jnp.sum(alive)
    c = jnp.cumsum(alive)
    u = jax.random.uniform(key, ())
    j = jnp.floor((u + jnp.arange(n)) * jnp.maximum(count, 1) / n)
    idx = jnp.searchsorted(c, j + 1, side="left")
    idx = jnp.where(count > 0, jnp.clip(idx, 0, n - 1), jnp.arange(n))
    return jax.tree.map(lambda x: x[idx], p)


def _stage(cfg, event, layer, first, fan_in, width, start, group, d, rkey, s, p: Particles):
    """One stage for one replicate: draw ``group`` neurons (or the whole layer), test, resample.

    Returns the new population, ``(log fraction alive, unknown neurons, neurons drawn)``.
    """
    n = p.exact.shape[0]
    skey = jax.random.fold_in(rkey, s)
    dkey, rskey = jax.random.fold_in(skey, 0), jax.random.fold_in(skey, 1)
    dt = engine.DTYPES[cfg.dtype]
    k = width if event == "not_constant" else group
    new = jax.vmap(lambda i: _draw_rows(cfg, jax.random.fold_in(dkey, i), fan_in, width, k, dt))(
        jnp.arange(n)
    )  # (N, k, fan_in + 1)
    inact, act = jax.vmap(lambda q, r: _neuron_status(q, r, layer, first, d))(p, new)
    if event == "not_constant":
        alive, sure = jnp.any(~inact, axis=1), jnp.any(act, axis=1)
    else:
        alive, sure = jnp.all(~inact, axis=1), jnp.all(act, axis=1)
    unknown = jnp.sum(~inact & ~act)
    at = jnp.asarray(start, jnp.int32)  # one index type, also under jax_enable_x64
    rows = jax.lax.dynamic_update_slice(p.rows, new, (jnp.int32(0), at, jnp.int32(0)))
    p = p._replace(rows=rows, certain=p.certain & sure)
    frac = jnp.mean(alive.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32))
    return _resample(rskey, alive, p), (jnp.log(frac), unknown, jnp.asarray(inact.size))


@functools.lru_cache(maxsize=64)
def _compiled_layer(cfg, event, first, last, fan_in, width, group, d, max_points):
    """Jitted ``(rkeys: (R,), layer, stage0, particles) -> (particles, logs)`` for one layer."""

    def one(rkey, layer, s0, p):
        n = p.exact.shape[0]
        p = p._replace(rows=jnp.zeros((n, width, fan_in + 1), p.probe.dtype))
        if event == "not_constant":
            p, out = _stage(cfg, event, layer, first, fan_in, width, 0, width, d, rkey, s0, p)
            outs = jax.tree.map(lambda x: x[None], out)
        else:
            n_st = width // group

            def body(p, g):
                return _stage(
                    cfg, event, layer, first, fan_in, width, g * group, group, d, rkey, s0 + g, p
                )

            p, outs = jax.lax.scan(body, p, jnp.arange(n_st, dtype=jnp.int32))
        if not last:
            p = jax.vmap(lambda q: _propagate(q, layer, d, max_points, first))(p)
        return p, outs

    return jax.jit(jax.vmap(one, in_axes=(0, None, None, 0)))


def _initial(cfg: engine.TrainConfig, n: int, r: int, max_points: int, cells: int, n_probe: int):
    """Population before layer 1: the box itself, ``(R, N, ...)`` arrays."""
    dt = engine.DTYPES[cfg.dtype]
    lo, hi = (np.array(v, np.float64) for v in zip(*cfg.problem.box, strict=True))
    d = lo.shape[0]
    corners = detector.probe_points(lo, hi, grid=0)  # (2^d, d)
    exact = d <= 10
    if d == 1:
        pts = np.concatenate([corners, np.repeat(corners[-1:], max_points - 2, 0)])
    else:
        pts = corners if exact else np.zeros((1, d))
    probe = np.concatenate([detector.sample_points(lo, hi, n_probe), detector.probe_points(lo, hi)])
    clo, chi = detector.grid_cells(
        jnp.asarray(lo, dt), jnp.asarray(hi, dt), detector.default_grid(d, cells)
    )
    one = Particles(
        pts=jnp.asarray(pts, dt),
        n_pts=jnp.asarray(len(corners), jnp.int32),
        corner=jnp.ones((pts.shape[0],), bool),
        exact=jnp.asarray(exact),
        probe=jnp.asarray(probe, dt),
        cell_lo=clo,
        cell_hi=chi,
        rows=jnp.zeros((0, d + 1), dt),
        certain=jnp.ones((), bool),
    )
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (r, n, *x.shape)), one)


def rare_event(
    cfg: engine.TrainConfig,
    event: str = "not_constant",
    n_particles: int = DEFAULT_PARTICLES,
    replicates: int = DEFAULT_REPLICATES,
    *,
    seed: int = 0,
    confidence: float = 0.95,
    group: int = 1,
    max_points: int = DEFAULT_MAX_POINTS,
    cells: int | None = None,
    n_probe: int = DEFAULT_PROBES,
) -> RareEventResult:
    """P(``event``) at initialization of ``cfg``'s networks by splitting over depth.

    Args:
      cfg: the setting (arch, init, zero_bias, init_scale, box and dtype matter).
      event: ``not_constant`` or ``no_inactive`` (see the module docstring).
      n_particles: population size ``N`` of each replicate.
      replicates: ``R >= 2`` independent runs; the interval comes from their spread.
      seed: see the module docstring for the key of each replicate, stage and particle.
      confidence: interval level.
      group: neurons per stage for ``no_inactive`` (must divide every hidden width).
      max_points: vertex capacity of each particle's image curve (``d = 1``).
      cells: IBP sub-boxes (default 16 for ``d = 1``, 64 otherwise).
      n_probe: random probe points (active certificates where the curve is not exact).

    Returns:
      A :class:`RareEventResult` (probabilities and their log10; cost ``O(R N sum_k l_k l_{k-1})``
      per vertex).

    Raises:
      ValueError: unknown event, ``replicates < 2``, ``n_particles < 2``, bad ``group``, a
        width-power init (:mod:`jaxnn_nonconv.core.width_power`).

    Example (point box: every neuron is active with probability 1/2, so P = (3/4)^3):

    >>> from jaxnn_nonconv.core import problems
    >>> cfg = engine.TrainConfig(arch=(1, 2, 2, 2, 1), init="normal",
    ...     problem=problems.Problem("x^2", ((0.5, 0.5000001),))).validate()
    >>> r = rare_event(cfg, "not_constant", 512, 4)
    >>> bool(r.ci[0] < 0.75**3 < r.ci[1])
    True
    """
    cfg = cfg.validate()
    engine.check_dtype_enabled(cfg)
    if inits.draw_kind(cfg.init) == "width_power":
        raise ValueError(
            "rare_event needs an init family with one spread per layer (its particles resample "
            "neurons at other layer sizes); a width_power init is not supported: use estimate"
        )
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; valid: {', '.join(EVENTS)}")
    for name, value, least in (("n_particles", n_particles, 2), ("replicates", replicates, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    widths = cfg.arch[1:-1]
    if event == "no_inactive" and (group < 1 or any(w % group for w in widths)):
        raise ValueError(f"group must be >= 1 and divide every hidden width {widths}, got {group}")
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    d = cfg.arch[0]
    cells = cells or (16 if d == 1 else 64)
    t0 = time.perf_counter()
    p = _initial(cfg, n_particles, replicates, max_points, cells, n_probe)
    base = jax.random.key(seed)
    rkeys = jax.vmap(lambda r: jax.random.fold_in(base, r))(
        jnp.arange(replicates, dtype=jnp.uint32)
    )
    logs, unknown, drawn, stage = [], 0, 0, 0
    for k, width in enumerate(widths, start=1):
        fan_in = cfg.arch[k - 1]
        fn = _compiled_layer(
            _DrawSpec(cfg.init, cfg.zero_bias, cfg.init_scale, cfg.dtype),
            event,
            k == 1,
            k == len(widths),
            fan_in,
            width,
            group,
            d,
            max_points,
        )
        p, (lf, unk, nd) = fn(rkeys, jnp.asarray(k, jnp.int32), jnp.asarray(stage, jnp.int32), p)
        logs.append(np.asarray(lf, np.float64))  # (R, stages of this layer)
        unknown += int(np.sum(unk))
        drawn += int(np.sum(nd))
        stage += 1 if event == "not_constant" else width // group
    log_up = np.sum(np.concatenate(logs, axis=1), axis=1)  # (R,)
    certain = np.asarray(p.certain).mean(axis=1)
    with np.errstate(divide="ignore"):
        log_lo = log_up + np.log(certain)
    est_hi, ci_hi, l10_hi, l10ci_hi = replicate_interval(log_up, confidence)
    if unknown == 0:
        est_lo, ci_lo, l10_lo, l10ci_lo = est_hi, ci_hi, l10_hi, l10ci_hi
    else:
        est_lo, ci_lo, l10_lo, l10ci_lo = replicate_interval(log_lo, confidence)
    # One rule for every point value (docs/api.md): the bracket's midpoint.
    est, l10 = midpoint(est_lo, est_hi), log10_midpoint(l10_lo, l10_hi)
    ci, l10ci = [ci_lo[0], ci_hi[1]], [l10ci_lo[0], l10ci_hi[1]]
    return RareEventResult(
        event=event,
        estimate=est,
        ci=ci,
        log10_estimate=l10,
        log10_ci=l10ci,
        bracket=[est_lo, est_hi],
        log10_bracket=[l10_lo, l10_hi],
        log10_replicates=[float(v) / math.log(10) for v in log_up],
        n_particles=n_particles,
        replicates=replicates,
        group=group,
        stages=stage,
        confidence=confidence,
        unknown_fraction=unknown / max(drawn, 1),
        overflow_fraction=float(1.0 - np.asarray(p.exact).mean()) if d == 1 else 0.0,
        wall_s=time.perf_counter() - t0,
    )
