"""Inactive neurons on the input box: exact, certified and empirical detectors (docs/theory.md sec. 3).

A hidden neuron is *inactive on the box* when its pre-activation is ``<= 0`` at every input of the
box; then it and its incoming and outgoing weights get zero gradient. Every function here acts on
the parameters of ONE network (a tuple of ``(W_k: (l_k, l_{k-1}), b_k: (l_k,))``, see
:mod:`jaxnn_nonconv.core.nets`); :func:`make_detector` gives the jit-compiled version vmapped over a
leading trial axis.

Certificates, per hidden neuron:

* first layer, in every mode: the maximum of ``w.x + c`` over the box is
  ``c + sum_j max(a_j w_j, b_j w_j)`` (:func:`first_layer_max`), attained at a corner (a witness).
  The float network may round ``w.x + c`` to either side of a float tie (a fused multiply-add
  does), so: ``d = 1``, inactive iff the real max is ``<= 0``, decided exactly; ``d > 1``, inactive
  iff it is ``<= 0`` with a margin for rounding, active iff ``> 0`` by that margin; unknown only at
  ties (:func:`first_layer_inactive`, :func:`first_layer_active`).
* ``sign_dead`` (layers ``k >= 2``): every incoming weight and the bias ``<= 0``; since the inputs
  are post-ReLU, hence ``>= 0``, inactive for any upstream parameters, and forever.
* ``mode="ibp"`` (any ``d``): inactive when an upper bound of the pre-activation over the box is
  ``<= 0``. The bound is interval bound propagation on each sub-box of a fixed ``grid^d`` grid (max
  over the sub-boxes), with every bound widened by the worst-case float rounding error of its dot
  product, so the certificate also holds for the float network. Active when the pre-activation is
  ``> 0`` at some point of a fixed sample plus the box's corners and grid-cell centers. Neither:
  ``unknown``.
* ``mode="exact"`` (``d = 1``): the network is piecewise linear in ``x``. On the intervals between
  the breakpoints of layers ``< k`` (points where an earlier neuron changes sign) the
  pre-activations of layer ``k`` are linear, so their maximum over ``[a, b]`` is their maximum over
  those breakpoints and ``a, b`` (:mod:`jaxnn_nonconv.exact.breakpoints`). Inactive only with a margin
  covering float rounding, active only on a positive float evaluation at a breakpoint: unknown
  only within rounding of 0, or when the breakpoints overflow ``max_points`` (reported). Small
  capacities are tried first (:func:`capacities`).
* ``mode="exact"`` (``d = 2``) and ``mode="crown"`` (any ``d``): exact layer-2 vertex enumeration
  (``d = 2``), backward linear bounds and branch and bound on sub-boxes for deeper layers, all
  sound for the float network; see :mod:`jaxnn_nonconv.detector`. ``auto`` is ``exact`` for
  ``d <= 2`` and ``crown`` otherwise.
* ``empirical_inactive``: the practitioner's check, never ``> 0`` on a fixed random sample of the
  box (not a certificate: it over-reports neurons active only on a small part of the box).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv.core import nets
from jaxnn_nonconv.detector import _deep_activations as deep_act, _refine as detect_nd
from jaxnn_nonconv.detector._first_layer import (
    first_layer_active,
    first_layer_inactive,
)
from jaxnn_nonconv.detector._intervals import (
    _sign_dead_rows,
    dead_inputs_closure,
    default_grid,
    ibp_upper,
    probe_points,
    sample_points,
    sign_dead,
)
from jaxnn_nonconv.detector._settings import DEFAULT_MAX_POINTS, MODES, DetectorSettings
from jaxnn_nonconv.exact import breakpoints


class Status(NamedTuple):
    """Per hidden layer ``k = 1..L``, one ``(l_k,)`` bool mask per field (batched: trials first).

    ``unknown = ~inactive & ~active``.
    """

    inactive: tuple[jax.Array, ...]  # certified: pre-activation <= 0 on the whole box
    active: tuple[jax.Array, ...]  # certified: > 0 at some input of the box
    sign_dead: tuple[jax.Array, ...]  # incoming weights and bias <= 0 (layers >= 2; layer 1 False)
    empirical_inactive: tuple[jax.Array, ...]  # never > 0 on the random sample
    overflow: (
        jax.Array
    )  # () bool: the exact mode dropped breakpoints (its deep results are partial)


class Counts(NamedTuple):
    """Network-level summary of a :class:`Status` (shapes for one net; batched: ``(M, ...)``).

    Attributes:
      inactive: ``(L,)`` int, certified inactive neurons per hidden layer.
      unknown: ``(L,)`` int, neither certified inactive nor certified active.
      sign_dead: ``(L,)`` int.
      empirical: ``(L,)`` int, never active on the random sample.
      sampled_inactive: ``(L,)`` bool, certified inactive status of ONE neuron per layer
        (neuron ``trial mod l_k``), an exchangeable Bernoulli sample for per-layer intervals.
      sampled_unknown: ``(L,)`` bool, the same neuron is unknown.
      dead_layer: ``()`` bool, some hidden layer is entirely certified inactive (constant net).
      dead_layer_possible: ``()`` bool, some hidden layer has no certified active neuron.
      overflow: ``()`` bool, the exact mode ran out of breakpoint capacity.
    """

    inactive: jax.Array
    unknown: jax.Array
    sign_dead: jax.Array
    empirical: jax.Array
    sampled_inactive: jax.Array
    sampled_unknown: jax.Array
    dead_layer: jax.Array
    dead_layer_possible: jax.Array
    overflow: jax.Array


def exact_1d_max(
    params: nets.Params, a: jax.Array, b: jax.Array, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]]:
    """Maximum over ``[a, b]`` of every hidden pre-activation of a ``d = 1`` network.

    The computed maxima of :func:`jaxnn_nonconv.exact.breakpoints.analyze` (exact up to float rounding; the
    detector certifies with that function's sound ``upper`` bounds instead).

    Args:
      params: one network with input dimension 1.
      a, b: scalars, ``a < b``.
      max_points: capacity of the breakpoint array (a static size).

    Returns:
      ``(maxes, overflow)``: per hidden layer an ``(l_k,)`` max and a ``()`` bool that is True when
      breakpoints were dropped for lack of capacity (then ``maxes`` is only a lower bound).

    Raises:
      ValueError: if the input dimension is not 1.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[-1.0, -1.0]]), jnp.array([0.5])),
    ...           (jnp.ones((1, 1)), jnp.zeros(1)))
    >>> maxes, _ = exact_1d_max(params, jnp.array(-1.0), jnp.array(1.0))
    >>> [m.tolist() for m in maxes]
    [[1.0, 1.0], [0.5]]
    """
    cap = breakpoints.point_bound([w.shape[0] for w, _ in params[:-1]], max_points)
    result = breakpoints.analyze(params, a, b, cap)
    return result.maxes, result.overflow


def resolve_mode(mode: str, d: int) -> str:
    """``auto`` is ``exact`` for ``d <= 2`` and ``crown`` otherwise.

    >>> resolve_mode("auto", 1), resolve_mode("auto", 2), resolve_mode("auto", 3)
    ('exact', 'exact', 'crown')
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "auto":
        return "exact" if d <= 2 else "crown"
    if mode == "exact" and d > 2:
        raise ValueError(f"exact mode needs input dimension 1 or 2, got {d}; use mode='crown'")
    return mode


def capacities(arch: Sequence[int], mode: str, max_points: int) -> tuple[int, ...]:
    """Breakpoint capacities to try in turn (exact ``d = 1`` mode), or ``(max_points,)``.

    See :func:`jaxnn_nonconv.exact.breakpoints.capacity_ladder`; trials that overflow one capacity are redone
    at the next (:func:`jaxnn_nonconv.exact.breakpoints.refine_overflow`).

    >>> capacities((1, 3, 3, 3, 3, 3, 1), "auto", 1024), capacities((2, 3, 1), "auto", 1024)
    ((16, 64, 257), (1024,))
    """
    arch = tuple(arch)
    if resolve_mode(mode, arch[0]) != "exact" or arch[0] != 1:
        return (int(max_points),)
    return breakpoints.capacity_ladder(max_points, breakpoints.point_bound(arch[1:-1], max_points))


def full_precision_products(fn):
    """Trace ``fn`` with full-precision float products (``jax.default_matmul_precision``).

    On GPUs JAX's default lets XLA compute float32 products in TF32 (about ``1e-3`` relative
    error) and on TPUs in bfloat16, far beyond the certificates' rounding margins; on a CPU this
    changes nothing.
    """

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapped


@full_precision_products
def classify_neurons(
    params: nets.Params,
    lo: jax.Array,
    hi: jax.Array,
    sample: jax.Array,
    *,
    probe: jax.Array | None = None,
    settings: DetectorSettings | None = None,
    refine: bool = True,
    activation: str = "relu",
) -> Status:
    """Three-valued status of every hidden neuron of one network (see the module docstring).

    Args:
      params: one network.
      lo, hi: ``(d,)`` box bounds.
      sample: ``(S, d)`` points of the box (e.g. a training batch): the empirical check, and an
        active certificate.
      probe: optional ``(P, d)`` extra points of the box (:func:`probe_points`), used as active
        certificates in every mode but the ``d = 1`` exact one.
      settings: a :class:`DetectorSettings` (default ``DetectorSettings()``): ``mode`` is
        ``auto``, ``exact`` (``d <= 2``), ``ibp`` or ``crown`` (backward linear bounds with branch
        and bound, :mod:`jaxnn_nonconv.detector`); ``grid`` the IBP sub-boxes per coordinate;
        ``max_points`` the breakpoint capacity of the exact mode (``n_probe`` is not used here:
        ``sample`` is given).
      refine: ``d > 1`` exact and crown modes: run branch and bound on undecided neurons
        (``False``: leave that to :func:`jaxnn_nonconv.detector._refine.refine`, as the detector does).
      activation: the hidden activation, ``relu`` (default), ``clip`` or ``repu:P``. With more
        than one hidden layer, ``clip`` and ``repu:P`` nets are certified by interval bounds on
        the grid (``settings.grid`` or :func:`default_grid`) whatever the mode, and ``probe`` is
        used as witnesses (:func:`jaxnn_nonconv.detector._deep_activations.classify_activation`;
        ``inactive`` is dead, ``active`` is ``> 0`` somewhere).

    Returns:
      A :class:`Status`.

    Raises:
      ConfigError: ``mode="exact"`` with ``d > 2``.

    >>> params = ((jnp.array([[1.0], [-1.0]]), jnp.array([0.0, 0.0])),
    ...           (jnp.array([[1.0, 1.0], [-1.0, -1.0]]), jnp.array([-1.5, 0.5])),
    ...           (jnp.ones((1, 2)), jnp.zeros(1)))  # layer 2: |x| - 1.5 and 0.5 - |x|
    >>> lo, hi = jnp.array([-1.0]), jnp.array([1.0])
    >>> exact = DetectorSettings(mode="exact")
    >>> st = classify_neurons(params, lo, hi, jnp.array([[0.3]]), settings=exact)
    >>> st.inactive[1].tolist(), st.active[1].tolist(), st.empirical_inactive[1].tolist()
    ([True, False], [False, True], [True, False])
    """
    d = lo.shape[0]
    settings = (settings or DetectorSettings()).resolved(d)
    mode = settings.mode
    hidden = params[:-1]
    if activation != "relu" and len(hidden) > 1:
        return _activation_status(params, lo, hi, sample, probe, settings, activation)
    if mode == "exact" and d == 1:
        blocks = exact_1d_blocks(
            hidden[0], nets.stack_layers(hidden[1:]), lo, hi, sample, settings.max_points
        )
        *masks, overflow = blocks
        return Status(*(tuple(r for block in m for r in block) for m in masks), overflow)
    n_sample = sample.shape[0]
    if (mode != "exact" or d > 1) and probe is not None and len(hidden) > 1:
        points = jnp.concatenate([sample, probe.astype(sample.dtype)])
    else:
        points = sample
    if len(hidden) == 1 and d == 1:
        # A linear function's max over a 1-D sample is at the sample's extreme points.
        x = jnp.stack([jnp.min(sample[:, 0]), jnp.max(sample[:, 0])])
        z_points = [nets.hidden_preactivations(params, x[:, None])[0]]
    else:
        z_points = nets.hidden_preactivations(params, points)
    empirical = tuple(~jnp.any(z[:n_sample] > 0, axis=0) for z in z_points)
    witnessed = [jnp.any(z > 0, axis=0) for z in z_points]
    dead_sign = sign_dead(params)
    first = first_layer_inactive(params, lo, hi)
    inactive, active = [first], [first_layer_active(params, lo, hi)]
    overflow = jnp.zeros((), bool)
    if mode == "crown" or (mode == "exact" and d > 1):
        if len(hidden) > 1:  # d > 1 exact and crown modes: see ``detect_nd``
            deep = detect_nd.classify_deep(
                params, lo, hi, mode, witnessed, dead_sign, refine=refine
            )
            inactive.extend(deep[0])
            active.extend(deep[1])
    elif mode == "ibp":
        ups = ibp_upper(params, lo, hi, settings.grid)
        for k in range(1, len(hidden)):
            inactive.append((ups[k] <= 0) | dead_sign[k])
            active.append(witnessed[k])
    inactive = dead_inputs_closure(params, tuple(inactive))
    return Status(inactive, tuple(active), dead_sign, empirical, overflow)


def _activation_status(params, lo, hi, sample, probe, settings, activation) -> Status:
    """:class:`Status` of a deep ``clip`` or ``repu:P`` net, from interval bounds (see
    :mod:`jaxnn_nonconv.detector._deep_activations`)."""
    grid = settings.grid or default_grid(lo.shape[0])
    st = deep_act.classify_activation(params, lo, hi, sample, probe, grid, activation)
    return Status(st.inactive, st.active, st.sign_dead, st.empirical_inactive, jnp.zeros((), bool))


def exact_1d_blocks(
    first: tuple[jax.Array, jax.Array],
    stacks: nets.LayerStacks,
    lo: jax.Array,
    hi: jax.Array,
    sample: jax.Array,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple:
    """The exact ``d = 1`` mode's status, per block of hidden layers (flat in depth).

    Args:
      first: the first hidden layer ``(W_1: (l_1, 1), b_1)``.
      stacks: hidden layers ``2..L`` as :data:`jaxnn_nonconv.core.nets.LayerStacks`.
      lo, hi: ``(1,)`` box bounds.
      sample: ``(S, 1)`` points of the box, for the empirical check.
      max_points: breakpoint capacity.

    Returns:
      ``(inactive, active, sign_dead, empirical_inactive, overflow)``: the first four are tuples of
      ``(k, l)`` bool blocks (the first layer, then one block per stack, as
      :class:`jaxnn_nonconv.exact.breakpoints.Analysis`), ``overflow`` a ``()`` bool. Inactive from
      sound upper bounds, active from float evaluations at the breakpoints (see
      :mod:`jaxnn_nonconv.exact.breakpoints`).
    """
    widths = [first[0].shape[0], *(w.shape[1] for w, _ in stacks for _ in range(w.shape[0]))]
    cap = breakpoints.point_bound(widths, max_points)
    res = breakpoints.analyze_stacks(first, stacks, lo[0], hi[0], cap)
    in1 = first_layer_inactive((first,), lo, hi)[None]
    act1 = first_layer_active((first,), lo, hi)[None]
    sign = (jnp.zeros_like(in1), *(_sign_dead_rows(w, b) for w, b in stacks))
    inact = (in1, *((u <= 0) | sd for u, sd in zip(res.upper[1:], sign[1:], strict=True)))
    # The float net at the final points (every breakpoint) certifies active.
    witness = breakpoints.forward_max_stacks(first, stacks, res.points[:, None], float_network=True)
    act = (act1, *(v > 0 for v in witness[1:]))
    sample_max = breakpoints.forward_max_stacks(first, stacks, sample.astype(res.points.dtype))
    empirical = tuple(~(m > 0) for m in sample_max)
    return inact, act, sign, empirical, jnp.any(jnp.concatenate(res.overflow))


def block_counts(
    inact: Sequence[jax.Array],
    act: Sequence[jax.Array],
    sign: Sequence[jax.Array],
    empirical: Sequence[jax.Array],
    overflow: jax.Array,
    trial: jax.Array | int = 0,
) -> Counts:
    """:class:`Counts` of masks given per block of layers, each ``(k, l)`` (see :func:`counts`)."""
    unknown = [~i & ~a for i, a in zip(inact, act, strict=True)]

    def per_layer(masks):
        return jnp.concatenate([jnp.sum(m, axis=-1, dtype=jnp.int32) for m in masks])

    def sampled(masks):
        return jnp.concatenate([m[:, jnp.asarray(trial) % m.shape[-1]] for m in masks])

    return Counts(
        inactive=per_layer(inact),
        unknown=per_layer(unknown),
        sign_dead=per_layer(sign),
        empirical=per_layer(empirical),
        sampled_inactive=sampled(inact),
        sampled_unknown=sampled(unknown),
        dead_layer=jnp.any(jnp.concatenate([jnp.all(m, axis=-1) for m in inact])),
        dead_layer_possible=jnp.any(jnp.concatenate([~jnp.any(m, axis=-1) for m in act])),
        overflow=overflow,
    )


def counts(status: Status, trial: jax.Array | int = 0) -> Counts:
    """Network-level :class:`Counts` of one network's :class:`Status`.

    ``trial`` picks the sampled neuron ``trial mod l_k`` of each layer.

    >>> st = Status((jnp.array([True, False]), jnp.array([True])),
    ...             (jnp.array([False, True]), jnp.array([False])),
    ...             (jnp.array([False, False]), jnp.array([True])),
    ...             (jnp.array([True, False]), jnp.array([True])), jnp.array(False))
    >>> c = counts(st)
    >>> c.inactive.tolist(), c.unknown.tolist(), bool(c.dead_layer)
    ([1, 1], [0, 0], True)
    """
    *masks, overflow = status
    return block_counts(*([m[None] for m in field] for field in masks), overflow, trial)


def make_detector(
    box: tuple[tuple[float, float], ...],
    settings: DetectorSettings | None = None,
    *,
    dtype: str = "float32",
    stacks: bool = False,
    activation: str = "relu",
):
    """Jit-compiled, trial-vmapped detector ``(params_batch, trials: (M,)) -> Counts``.

    Args:
      box: ``((a_1, b_1), ..., (a_d, b_d))``.
      settings: a :class:`DetectorSettings` (default ``DetectorSettings()``); ``n_probe`` is the
        size of the fixed random sample (:func:`sample_points`): the empirical check; with
        :func:`probe_points` also the active certificates of ibp mode. See
        :func:`classify_neurons` for the others.
      dtype: ``float32`` or ``float64`` (the parameters' dtype).
      stacks: ``params_batch`` is given as :data:`jaxnn_nonconv.core.nets.LayerStacks` (batched);
        the exact ``d = 1`` mode then traces and compiles in time independent of depth.
      activation: the hidden activation (``relu``, ``clip``, ``repu:P``); deep ``clip`` and
        ``repu:P`` nets are certified by interval bounds whatever the mode (see
        :func:`classify_neurons`; :func:`jaxnn_nonconv.detector.for_activation` gives the
        settings to report).

    Raises:
      ConfigError: ``mode="exact"`` with ``d > 2``.

    >>> arch = (1, 8, 1)
    >>> keys = jax.random.split(jax.random.key(0), 5)
    >>> batch = jax.vmap(lambda k: nets.init_params(k, arch))(keys)
    >>> c = make_detector(((0.0, 2.0),))(batch, jnp.arange(5))
    >>> c.inactive.shape, c.dead_layer.shape
    ((5, 1), (5,))
    """
    box = tuple((float(a), float(b)) for a, b in box)
    settings = (settings or DetectorSettings()).resolved(len(box))
    return _make_detector(box, settings, str(jnp.dtype(dtype)), bool(stacks), str(activation))


@functools.lru_cache(maxsize=32)
def _make_detector(
    box: tuple[tuple[float, float], ...],
    settings: DetectorSettings,
    dtype: str,
    stacks: bool,
    activation: str = "relu",
):
    """:func:`make_detector` of resolved ``settings``, compiled once per distinct argument."""
    dt = jnp.dtype(dtype)
    lo_np, hi_np = (np.array(v, np.float64) for v in zip(*box, strict=True))
    d = len(box)
    mode, max_points = settings.mode, settings.max_points
    sample_np = sample_points(lo_np, hi_np, settings.n_probe)
    probe_np = probe_points(lo_np, hi_np)

    @full_precision_products
    def detect(params_batch, trials):
        lo, hi = jnp.asarray(lo_np, dt), jnp.asarray(hi_np, dt)
        sample, probe = jnp.asarray(sample_np, dt), jnp.asarray(probe_np, dt)
        n_layers = sum(w.shape[1] for w, _ in params_batch) if stacks else len(params_batch)
        depth = n_layers - 1
        if activation != "relu" and depth > 1:  # deep clip / repu:P: interval bounds

            def one_act(params):
                return _activation_status(params, lo, hi, sample, probe, settings, activation)

            if stacks:
                params_batch = jax.vmap(nets.unstack_layers)(params_batch)
            return jax.vmap(counts)(jax.vmap(one_act)(params_batch), trials)
        if stacks and mode == "exact" and d == 1:

            def one_1d(net, trial):
                n_hidden = sum(w.shape[0] for w, _ in net) - 1
                w0, b0 = nets.slice_stacks(net, 0, 1)[0]
                deep = nets.slice_stacks(net, 1, n_hidden)
                blocks = exact_1d_blocks((w0[0], b0[0]), deep, lo, hi, sample, max_points)
                return block_counts(*blocks, trial)

            return jax.vmap(one_1d)(params_batch, trials)
        if stacks:
            params_batch = jax.vmap(nets.unstack_layers)(params_batch)

        def one(params):
            return classify_neurons(
                params, lo, hi, sample, probe=probe, settings=settings, refine=False
            )

        st = _map_nets(one, params_batch)
        deep_nd = mode == "crown" or (mode == "exact" and d > 1)
        if deep_nd and detect_nd.uses_bab(mode, len(params_batch) - 1):
            # Branch and bound only on the networks with undecided neurons (see detect_nd).
            ins, act = detect_nd.refine(
                params_batch,
                st.inactive,
                st.active,
                lo,
                hi,
                events_only=settings.refine_for == "events",
            )
            ins = jax.vmap(dead_inputs_closure)(params_batch, ins)  # newly decided inputs
            st = st._replace(inactive=ins, active=act)
        return jax.vmap(counts)(st, trials)

    return jax.jit(detect)


CPU_BATCH = 32  # networks classified at once on a CPU (see _map_nets)


def _map_nets(fn, params_batch):
    """``jax.vmap(fn)(params_batch)``; on a CPU in groups of :data:`CPU_BATCH` networks.

    Each network is evaluated at every sample and probe point (1088 points at ``d = 10``): vmapped
    over a whole chunk, those pre-activations are hundreds of MB that stream through memory, while
    a CPU gains nothing from the wider batch, and a group fits in its caches (twice as fast at
    2000 networks). An accelerator keeps the one vmap. Each network's result is the same.
    """
    if jax.default_backend() != "cpu":
        return jax.vmap(fn)(params_batch)
    return jax.lax.map(fn, params_batch, batch_size=CPU_BATCH)


def detect_flat(
    theta: jax.Array | np.ndarray,
    arch: Sequence[int],
    box: tuple[tuple[float, float], ...],
    *,
    trials: np.ndarray | None = None,
    settings: DetectorSettings | None = None,
    activation: str = "relu",
) -> Counts:
    """:class:`Counts` of ``M`` networks given as flat vectors ``theta: (M, P)`` (as ``engine.run``).

    ``settings`` and ``activation`` as in :func:`make_detector`. ``trials: (M,)`` are the rows'
    trial indices (they pick the sampled neuron), default ``0..M-1``. In the exact ``d = 1`` mode
    the breakpoint capacities of :func:`capacities` are tried smallest first, and only the
    networks that overflow one are redone at the next.

    >>> theta = jnp.zeros((3, nets.num_params((1, 4, 1))))  # all-zero nets: every neuron inactive
    >>> detect_flat(theta, (1, 4, 1), ((0.0, 1.0),)).inactive[:, 0].tolist()
    [4, 4, 4]
    """
    theta = jnp.asarray(nets.float_input(theta, "theta"))  # float64 without x64 raises
    arch = tuple(arch)
    settings = settings or DetectorSettings()
    rows = np.arange(theta.shape[0])
    trials = rows if trials is None else np.asarray(trials)
    ladder = capacities(arch, settings.mode, settings.max_points)
    stacks = jax.vmap(lambda t: nets.from_flat_stacks(t, arch))(theta)

    def run(cap, sel):
        at_cap = dataclasses.replace(settings, max_points=cap)
        fn = make_detector(
            tuple(box), at_cap, dtype=str(theta.dtype), stacks=True, activation=activation
        )
        picked = jax.tree.map(lambda v: v[sel], stacks)
        counts = fn(picked, jnp.asarray(trials[sel], jnp.uint32))
        return {k: np.asarray(v) for k, v in counts._asdict().items()}

    out = breakpoints.refine_overflow(run, rows, run(ladder[0], rows), ladder, rows.size)
    return Counts(**{k: jnp.asarray(v) for k, v in out.items()})
