"""Certify the dead (inactive) neurons of a user's ReLU network on a user's domain.

:func:`check` loads any model :mod:`jaxnn_nonconv.models` reads, classifies every hidden neuron
with the detector of :mod:`jaxnn_nonconv.detector` (``detector.classify_neurons``, ``mode="auto"``:
exact for ``d = 1``, interval bounds with float rounding for ``d > 1``) and returns a
:class:`CheckResult`:

* per hidden layer, the indices of neurons certified **inactive** (pre-activation ``<= 0`` at every
  point of the box), certified **active** (``> 0`` at some point of the box: a probe point, a point
  of the fixed random sample, or a data point inside the box) and **unknown** (neither: a bracket,
  never a guess);
* ``permanent``: the inactive neurons that stay inactive under any further gradient training on
  inputs from the box: every first-layer one (its inputs are the raw data and its weights get zero
  gradient), a deeper one whose incoming weights and bias are all ``<= 0`` (its inputs are ``>= 0``),
  and every inactive neuron at or just after an entirely inactive layer (everything upstream of
  that layer gets zero gradient). A deeper inactive neuron outside these cases can be revived by
  changes upstream;
* ``constant``: ``True`` when some hidden layer is entirely inactive (the network is constant on
  the box, and stays so), ``False`` when every hidden layer has a certified active neuron, ``None``
  when undecided;
* ``frozen_parameter_fraction``: parameters whose gradient is zero for every input of the box and
  every loss, now and for the rest of gradient training: incoming weights, bias and outgoing weights
  of permanent neurons, and all parameters up to an entirely inactive layer. (Optimizers with
  momentum or weight decay can still move them by their own state.)

With ``per_neuron`` (the default) the per-neuron stage (:mod:`~jaxnn_nonconv.models._neurons`:
grid bounds, witness search) and then, for ReLU nets, an input-splitting branch and bound on a
budget of sub-boxes (``bab_boxes``, :mod:`~jaxnn_nonconv.models._split`) add certificates to the
detector's.

With data (:func:`jaxnn_nonconv.models.from_data`) each neuron also gets the fraction of data points
on which it is active, so "certified dead on the domain" stands beside "never fired on your data".

``clip`` and ``repu:P`` nets (``activation=``, or the one the model states:
:mod:`~jaxnn_nonconv.models._activation_check`) are certified by interval bounds on a sub-box grid
at any depth: ``inactive`` is dead (``<= 0`` on the box), and a ``clip`` layer also lists its
**saturated** (``>= 1`` on the box), **frozen** (dead or saturated) and **moving** (neither, by
float witnesses) neurons; a saturated neuron's outgoing weights still train, so they are not
counted as frozen parameters. Per-neuron bounds are the interval bounds; no witness search, and no
mixed-integer completion (it models ReLU).

Background: inactive neurons as the failure mechanism, Jentzen & Riekert, arXiv 2402.05155 and
Do, Hannibal & Jentzen, arXiv 2410.10533; constant nets, Cheridito, Jentzen & Rossmannek, arXiv
2006.07075; dying ReLU, Lu et al., arXiv 1903.06733. See ``docs/theory-to-code.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn_nonconv import detector, stats
from jaxnn_nonconv.models import (
    _activation_check as act_check,
    _domain as domain_lib,
    _formats as formats,
    _loaders as loaders,
    _neurons as neurons,
    _split as split,
)

MAX_WITNESSES = 2**16  # data points used as active witnesses (a fixed subset beyond this)


@dataclasses.dataclass(frozen=True)
class LayerCheck:
    """One hidden layer's verdicts; index lists are sorted neuron indices (0-based rows of ``W``)."""

    layer: int  # 1-based hidden layer number
    name: str  # the source's name of the layer
    width: int
    inactive: tuple[int, ...]
    active: tuple[int, ...]
    unknown: tuple[int, ...]
    permanent: tuple[int, ...]  # subset of inactive that no gradient training can revive
    active_fraction: tuple[float, ...] | None = None  # per neuron, on the data (None: no data)
    lower: tuple[float, ...] = ()  # per neuron, certified bounds of the pre-activation on the box
    upper: tuple[float, ...] = ()
    witness: tuple[tuple[float, ...] | None, ...] = ()  # per neuron: an input where it is > 0
    always_active: tuple[int, ...] = ()  # certified > 0 on the whole box (stable ReLUs)
    saturated: tuple[int, ...] | None = None  # clip only: >= 1 on the whole box
    moving: tuple[int, ...] | None = None  # clip only: neither dead nor saturated (witnessed)
    permanent_saturated: tuple[int, ...] | None = None  # clip only: saturated for good

    @property
    def never_fired(self) -> tuple[int, ...] | None:
        """Neurons active on no data point (``None`` without data)."""
        if self.active_fraction is None:
            return None
        return tuple(i for i, f in enumerate(self.active_fraction) if f == 0)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "layer": self.layer,
            "name": self.name,
            "width": self.width,
            "inactive": list(self.inactive),
            "active": list(self.active),
            "unknown": list(self.unknown),
            "permanent": list(self.permanent),
            "always_active": list(self.always_active),
            "bounds": [[_finite(a), _finite(b)] for a, b in zip(self.lower, self.upper)],
            "witness": [None if w is None else list(w) for w in self.witness],
        }
        if self.saturated is not None:  # clip: frozen = dead or saturated
            out["saturated"] = list(self.saturated)
            out["frozen"] = sorted({*self.inactive, *self.saturated})
            out["moving"] = list(self.moving or ())
            frozen_or_moving = {*self.inactive, *self.saturated, *(self.moving or ())}
            out["frozen_unknown"] = [i for i in range(self.width) if i not in frozen_or_moving]
            out["permanent_saturated"] = list(self.permanent_saturated or ())
        if self.active_fraction is not None:
            out["never_fired"] = list(self.never_fired)
            out["active_fraction"] = list(self.active_fraction)
        return out


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None  # JSON: never NaN or inf


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found; :meth:`to_dict` is the JSON of ``jaxnn-nonconv check --json``."""

    layers: tuple[LayerCheck, ...]
    constant: bool | None
    frozen_parameter_fraction: float
    frozen_parameters: int
    num_parameters: int
    domain: domain_lib.Domain
    arch: tuple[int, ...]
    source: str
    dtype: str
    detector: dict[str, Any]
    notes: tuple[str, ...] = ()
    constant_on_data: bool | None = None  # the network's output is one value on every data point
    activation: str = "relu"  # the hidden activation checked

    def to_dict(self) -> dict[str, Any]:
        """Keys ``layers``, ``constant``, ``frozen_parameter_fraction``, ``domain`` (the contract),
        plus ``frozen_parameters``, ``num_parameters``, ``model``, ``detector`` and ``notes``
        (what was assumed or mapped: an activation, an input normalization)."""
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "constant": self.constant,
            "frozen_parameter_fraction": self.frozen_parameter_fraction,
            "frozen_parameters": self.frozen_parameters,
            "num_parameters": self.num_parameters,
            "domain": self.domain.to_dict(),
            "model": {
                "arch": list(self.arch),
                "source": self.source,
                "dtype": self.dtype,
                "activation": self.activation,
            },
            "detector": self.detector,
            "notes": list(self.notes),
            "constant_on_data": self.constant_on_data,
        }


@functools.lru_cache(maxsize=8)
def _compiled_classify(settings: detector.DetectorSettings):
    return jax.jit(functools.partial(detector.classify_neurons, settings=settings))


def permanent_and_frozen(params, inactive_masks, sign_dead_masks) -> tuple[list[np.ndarray], int]:
    """Permanent inactive neurons and the number of parameters that can no longer change.

    Args:
      params: one network, NumPy or JAX pairs.
      inactive_masks, sign_dead_masks: per hidden layer ``(l_k,)`` bool.

    Returns:
      ``(permanent, n_frozen)``: per hidden layer an ``(l_k,)`` bool mask, and the count of
      parameters (weights and biases of all layers) with zero gradient from now on.

    >>> params = ((np.ones((2, 1)), np.zeros(2)), (np.ones((1, 2)), np.zeros(1)))
    >>> perm, n = permanent_and_frozen(params, [np.array([True, False])], [np.zeros(2, bool)])
    >>> perm[0].tolist(), n  # neuron 0: its weight, its bias, its outgoing weight
    ([True, False], 3)
    """
    masks = [np.asarray(m, bool) for m in inactive_masks]
    dead_layers = [k for k, m in enumerate(masks) if m.all()]
    last_dead = max(dead_layers, default=-2)  # 0-based; -2: none
    permanent = []
    for k, m in enumerate(masks):
        keep = k == 0 or last_dead >= k - 1
        permanent.append(m & (keep | np.asarray(sign_dead_masks[k], bool)))
    frozen_w = [np.zeros(np.shape(w), bool) for w, _ in params]
    frozen_b = [np.zeros(np.shape(b), bool) for _, b in params]
    for k, p in enumerate(permanent):
        frozen_w[k][p, :] = True
        frozen_b[k][p] = True
        frozen_w[k + 1][:, p] = True
    for k in range(last_dead + 1):  # zero gradient up to an entirely inactive layer
        frozen_w[k][:] = True
        frozen_b[k][:] = True
    return permanent, int(sum(m.sum() for m in frozen_w + frozen_b))


def _as_domain(dom, dim: int) -> domain_lib.Domain:
    if not isinstance(dom, domain_lib.Domain):
        dom = domain_lib.from_box(dom)
    if dom.dim != dim:
        raise domain_lib.DomainError(
            f"the domain has {dom.dim} coordinate(s) but the model's input dimension is {dim}"
        )
    return dom


def _network_domain(m: loaders.Model, dom: domain_lib.Domain, notes: list) -> domain_lib.Domain:
    """The domain in the network's input units (the model's input map applied, rounded outward)."""
    if m.input_map is None:
        return dom
    lo, hi = m.input_map.box(dom.lo, dom.hi)
    notes.append(
        "checked on the network's input box "
        + ", ".join(f"[{a:.6g}, {b:.6g}]" for a, b in zip(lo, hi))
    )
    points = None if dom.points is None else m.input_map.points(dom.points)
    return dataclasses.replace(dom, lo=lo, hi=hi, points=points)


def _witnesses(dom: domain_lib.Domain, limit: int) -> np.ndarray:
    pts = dom.inside()
    if pts.shape[0] > limit:  # a fixed subset: witnesses only ever add certificates
        idx = np.random.default_rng(detector.PROBE_SEED).choice(pts.shape[0], limit, replace=False)
        pts = pts[np.sort(idx)]
    return pts


def check(
    model: Any,
    domain: domain_lib.Domain | Any,
    *,
    settings: detector.DetectorSettings | None = None,
    max_witnesses: int = MAX_WITNESSES,
    per_neuron: bool = True,
    complete: bool = False,
    complete_time: float = 5.0,
    activation: str | None = None,
    bab_boxes: int = split.DEFAULT_BOXES,
) -> CheckResult:
    """Certify the dead, alive and undecided neurons of ``model`` on ``domain``.

    Args:
      model: anything :func:`jaxnn_nonconv.models.from_object` reads (a path, project params, a
        Flax variables dict, an ``eqx.nn.MLP``, a torch ``nn.Sequential``, a state dict).
      domain: a :class:`~jaxnn_nonconv.models.Domain` or a box ``((a_1, b_1), ...)``.
      settings: a :class:`~jaxnn_nonconv.detector.DetectorSettings` (default
        ``DetectorSettings()``): ``mode``, ``grid``, ``max_points`` as in
        :func:`jaxnn_nonconv.detector.classify_neurons`; ``n_probe`` the size of the detector's
        fixed random sample of the box.
      max_witnesses: data points inside the box used as active witnesses.
      per_neuron: also compute each neuron's certified bounds, a float-verified witness for the
        active ones and the always-active ones (:mod:`jaxnn_nonconv.models._neurons`); its
        witness search and grid bounds can only add certificates to the detector's.
      complete: with ``per_neuron``, decide what is still undecided by a mixed-integer program
        per neuron (:mod:`jaxnn_nonconv.models._milp`; nets of at most 2000 hidden neurons),
        ``complete_time`` seconds each.
      bab_boxes: with ``per_neuron`` (ReLU nets), sub-boxes of input-splitting branch and bound
        for the neurons still undecided after the per-neuron stage
        (:mod:`jaxnn_nonconv.models._split`); ``0`` skips it.
      activation: ``relu``, ``clip`` or ``repu:P``; ``None``: the model's own (a ``.npz`` may
        store one; torch modules, ONNX, ... are ReLU), else ``relu`` (said in the notes).

    Returns:
      A :class:`CheckResult`. Float64 weights are checked in float64 (x64 is enabled for the
      call); the box is rounded outward to the weights' dtype, so it contains the given one.

    Raises:
      loaders.ModelError: unsupported or malformed model (``domain.DomainError`` for the domain),
        an ``activation`` that contradicts the model's own, ``complete`` with ``clip``/``repu:P``.

    >>> params = ((np.array([[1.0], [-1.0], [2.0]]), np.array([-3.0, 0.5, 0.0])),
    ...           (np.ones((1, 3)), np.zeros(1)))
    >>> r = check(params, [(-1.0, 1.0)])
    >>> r.layers[0].inactive, r.layers[0].active, r.constant
    ((0,), (1, 2), False)
    >>> r.frozen_parameters, r.num_parameters  # neuron 0: weight, bias, outgoing weight
    (3, 10)
    """
    m = formats.from_object(model)
    dom = _as_domain(domain, m.arch[0])
    settings = (settings or detector.DetectorSettings()).resolved(dom.dim)
    act, model_notes = act_check.resolve(m, activation)
    if act != "relu":
        if complete:
            raise loaders.ModelError(
                f"--complete solves mixed-integer programs of ReLU nets; not for {act} nets"
            )
        grid = settings.grid or detector.default_grid(dom.dim)  # every depth: interval bounds
        settings = dataclasses.replace(settings, mode="ibp", grid=grid)
    dtype = np.dtype(m.dtype)
    notes = list(model_notes)
    net_dom = _network_domain(m, dom, notes)
    x64 = jax.enable_x64(True) if dtype == np.float64 else contextlib.nullcontext()
    with x64:
        lo, hi = domain_lib.cast_outward(net_dom.lo, net_dom.hi, dtype)
        sample = detector.sample_points(lo, hi, settings.n_probe).astype(dtype)
        witnesses = _witnesses(net_dom, max_witnesses)
        probe = np.concatenate([detector.probe_points(lo, hi), witnesses]).astype(dtype)
        params = tuple((jnp.asarray(w, dtype), jnp.asarray(b, dtype)) for w, b in m.params)
        if act != "relu":
            box = (lo, hi, sample, probe)
            return _check_activation(m, dom, net_dom, params, box, settings, act, notes)
        classify = _compiled_classify(settings)
        st = classify(
            params, jnp.asarray(lo), jnp.asarray(hi), jnp.asarray(sample), probe=jnp.asarray(probe)
        )
        st = jax.tree.map(np.asarray, st)
        frac, on_data = None, None
        if dom.points is not None:
            frac = domain_lib.active_fraction(params, net_dom.points)
            on_data = neurons.constant_on(params, net_dom.points)
        if per_neuron:
            info = neurons.analyse(params, lo, hi, probe)
            if bab_boxes > 0:
                info, _ = split.refine(params, lo, hi, st, info, bab_boxes)
            if complete:
                info = neurons.complete(params, lo, hi, st, info, complete_time)
            st, per = neurons.merge(st, info)
        else:
            per = [{} for _ in st.inactive]
    permanent, n_frozen = permanent_and_frozen(m.params, st.inactive, st.sign_dead)
    if m.input_map is not None and per_neuron:
        notes.append("witnesses are given in the network's input units")
    layers = []
    for k, (ina, act) in enumerate(zip(st.inactive, st.active)):
        layers.append(LayerCheck(**_verdicts(m, k, ina, act, permanent[k], frac), **per[k]))
    if any(len(layer.inactive) == layer.width for layer in layers):
        constant = True
    elif all(layer.active for layer in layers):
        constant = False
    else:
        constant = None
    used = settings.to_dict(dom.dim)
    used = {
        "mode": used["mode"],
        "grid": used["grid"],
        "n_probe": used["n_probe"],
        "witnesses": int(witnesses.shape[0]),
        "overflow": bool(st.overflow),
        "per_neuron": per_neuron,
        "complete": bool(complete and per_neuron),
        "bab_boxes": int(bab_boxes) if per_neuron else 0,
    }
    return CheckResult(
        layers=tuple(layers),
        constant=constant,
        frozen_parameter_fraction=n_frozen / m.num_params,
        frozen_parameters=n_frozen,
        num_parameters=m.num_params,
        domain=dom,
        arch=m.arch,
        source=m.source,
        dtype=str(dtype),
        detector=used,
        notes=tuple(notes),
        constant_on_data=on_data,
    )


def _verdicts(m, k: int, inactive, active, permanent, frac) -> dict:
    """The :class:`LayerCheck` fields of hidden layer ``k`` (0-based) that every activation has:
    neuron indices by verdict (``active`` excludes the inactive ones) and the on-data fractions."""
    return dict(
        layer=k + 1,
        name=m.layer_names[k],
        width=int(inactive.shape[0]),
        inactive=tuple(np.flatnonzero(inactive).tolist()),
        active=tuple(np.flatnonzero(active & ~inactive).tolist()),
        unknown=tuple(np.flatnonzero(~inactive & ~active).tolist()),
        permanent=tuple(np.flatnonzero(permanent).tolist()),
        active_fraction=None if frac is None else tuple(frac[k].tolist()),
    )


def _check_activation(m, dom, net_dom, params, box, settings, act, notes) -> CheckResult:
    """:func:`check` of a ``clip`` / ``repu:P`` net (inside the dtype's context): interval bounds
    and float witnesses (:mod:`~jaxnn_nonconv.models._activation_check`)."""
    lo, hi, sample, probe = box
    st, lower, upper = act_check.classify(params, lo, hi, sample, probe, settings, act)
    frac = None
    if net_dom.points is not None:
        frac = domain_lib.active_fraction(params, net_dom.points, activation=act)
    perm_dead, perm_sat, n_frozen = act_check.permanent_and_frozen(
        m.params, st.inactive, st.saturated, st.sign_dead
    )
    clip = act == "clip"
    layers = []
    for k, (ina, a) in enumerate(zip(st.inactive, st.active)):
        sat, moving = st.saturated[k], st.active[k] & st.below_one[k]
        layers.append(
            LayerCheck(
                **_verdicts(m, k, ina, a, perm_dead[k], frac),
                lower=tuple(lower[k].tolist()),
                upper=tuple(np.where(ina, np.minimum(upper[k], 0), upper[k]).tolist()),
                saturated=tuple(np.flatnonzero(sat).tolist()) if clip else None,
                moving=tuple(np.flatnonzero(moving).tolist()) if clip else None,
                permanent_saturated=tuple(np.flatnonzero(perm_sat[k]).tolist()) if clip else None,
            )
        )
    frozen = [set(x.inactive) | set(x.saturated or ()) for x in layers]
    if any(len(f) == x.width for f, x in zip(frozen, layers)):
        constant = True  # a layer of constant outputs (0 or 1)
    elif all((x.moving if clip else x.active) for x in layers):
        constant = False
    else:
        constant = None
    used = {
        "mode": "ibp",
        "grid": settings.grid,
        "n_probe": settings.n_probe,
        "witnesses": int(probe.shape[0] - detector.probe_points(lo, hi).shape[0]),
        "overflow": False,
        "per_neuron": False,
        "complete": False,
        "bab_boxes": 0,
    }
    return CheckResult(
        layers=tuple(layers),
        constant=constant,
        frozen_parameter_fraction=n_frozen / m.num_params,
        frozen_parameters=n_frozen,
        num_parameters=m.num_params,
        domain=dom,
        arch=m.arch,
        source=m.source,
        dtype=str(np.dtype(m.dtype)),
        detector=used,
        notes=tuple(notes),
        constant_on_data=None,
        activation=act,
    )


def _indices(ix: tuple[int, ...], limit: int = 12) -> str:
    if not ix:
        return "—"
    shown = ", ".join(map(str, ix[:limit]))
    return shown + (f" and {len(ix) - limit} more" if len(ix) > limit else "")


def print_result(result: CheckResult, console: Any = None, title_prefix: str = "") -> None:
    """Rich table of a :class:`CheckResult`, one row per hidden layer, 80 columns wide
    (``title_prefix``: e.g. the file name when several models are checked); the footer says how
    many neurons the detector left undecided; the result's notes below it."""
    from rich.console import Console

    if result.domain.dim <= 3:
        box = "box " + ", ".join(f"[{a:.4g}, {b:.4g}]" for a, b in result.domain.box)
    else:
        box = f"the {result.domain.dim}-dimensional box of {result.domain.source}"
    data = result.layers and result.layers[0].active_fraction is not None
    constant = {True: "yes", False: "no", None: "undecided"}[result.constant]
    total = sum(layer.width for layer in result.layers)
    unknown = sum(len(layer.unknown) for layer in result.layers)
    header = ["layer", "width", "certified dead", "certified alive", "unknown"]
    if data:
        header.append("never fired on data")
    header.append("dead neurons")
    rows = []
    for layer in result.layers:
        row = [
            f"{layer.layer} ({layer.name})",
            str(layer.width),
            str(len(layer.inactive)),
            str(len(layer.active)),
            str(len(layer.unknown)),
        ]
        if data:
            row.append(str(len(layer.never_fired)))
        row.append(_indices(layer.inactive))
        rows.append(row)
    console = console or Console()
    stats.print_table(
        f"{title_prefix}{result.source} model {result.arch} on {box}",
        f"constant on the domain: {constant}; frozen parameters: "
        f"{result.frozen_parameters}/{result.num_parameters} "
        f"({result.frozen_parameter_fraction:.2%}); "
        + stats.undecided_note(unknown / total if total else 0.0, result.detector["mode"])
        + (f" ({unknown} of {total})" if unknown else ""),
        header,
        rows,
        console,
        text_columns=(0, len(header) - 1),
    )
    if result.activation != "relu":
        console.print(f"activation: {result.activation}", markup=False, highlight=False)
    for layer in result.layers:
        if layer.saturated is not None:  # clip: frozen = dead or saturated
            # The table's "unknown" is dead-vs-alive only; frozen-vs-moving has its own undecided.
            frozen_unknown = len(layer.to_dict()["frozen_unknown"])
            console.print(
                f"layer {layer.layer}: saturated {_indices(layer.saturated)}; "
                f"moving {len(layer.moving or ())} of {layer.width}; "
                f"frozen or moving undecided: {frozen_unknown}",
                markup=False,
                highlight=False,
            )
    for note in result.notes:  # below the table: what was assumed or mapped
        console.print(f"note: {note}", markup=False, highlight=False)
