"""``check`` on networks whose dead and alive neurons are known by construction.

Every network of :func:`tests.helpers.constructed` has, on the box ``[-1, 1]^d``:

* layer 1: neurons 0, 1 with a very negative bias (``b = -|w|_1 - 1``: max over the box is -1),
  neurons 2..5 alive, each only near its corner ``sign(w)`` (``b = 0.5 - |w|_1``: max 0.5);
* layer 2: neuron 0 with every incoming weight and its bias ``<= 0`` (dead for any input),
  neuron 1 with mixed weights and bias -1000 (dead by the interval bound), neurons 2, 3 with
  weights and bias ``> 0`` (active everywhere), neuron 4 active only where layer-1 neuron 2
  exceeds 0.25, i.e. near one corner of the box (witness: that corner).

The same weights go through PyTorch (module object, ``.pt`` state dict, ``.safetensors``), Flax
(variables dict in Flax's layout, and a real ``flax.linen`` module when Flax is installed),
Equinox (``eqx.nn.MLP``), ``.npz`` and the project's params, in ``d = 1, 3, 10``, and ``check``
must report exactly those neurons as inactive / active.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxnn_nonconv import detector, models
from tests.helpers import ACTIVE, INACTIVE, constructed, corner, to_equinox, to_flax_dict, to_torch

torch = pytest.importorskip("torch")

DIMS = (1, 3, 10)


def save_all(params, tmp_path) -> dict[str, object]:
    """Every supported source of the same network (files as paths)."""
    from safetensors.numpy import save_file

    model = to_torch(params)
    sd = model.state_dict()
    torch.save(sd, tmp_path / "m.pt")
    torch.save({"epoch": 3, "model_state_dict": sd}, tmp_path / "ckpt.pth")
    save_file({k: v.numpy() for k, v in sd.items()}, str(tmp_path / "m.safetensors"))
    models.save_npz(tmp_path / "m.npz", params)
    return {
        "torch module": model,
        "state_dict object": sd,
        ".pt": tmp_path / "m.pt",
        ".pth checkpoint": tmp_path / "ckpt.pth",
        ".safetensors": tmp_path / "m.safetensors",
        ".npz": tmp_path / "m.npz",
        "flax dict": to_flax_dict(params),
        "project params": params,
    }


def box(d):
    return [(-1.0, 1.0)] * d


def assert_constructed(r: models.CheckResult, extra_dead=()):
    (l1, l2) = r.layers
    assert list(l1.inactive) == INACTIVE[0] and list(l1.active) == ACTIVE[0] and not l1.unknown
    assert list(l2.inactive) == INACTIVE[1] + list(extra_dead)
    assert list(l2.active) == ACTIVE[1] and not l2.unknown
    assert r.constant is False


@pytest.mark.parametrize("d", [1, 3, pytest.param(10, marks=pytest.mark.slow)])
def test_every_source_reports_exactly_the_constructed_neurons(d, tmp_path):
    params = constructed(d)
    for name, src in save_all(params, tmp_path).items():
        r = models.check(src, box(d))
        assert r.arch == (d, 6, 5, 1), name
        assert_constructed(r)
        # Permanent: layer 1's dead ones and the sign-dead one; not the one dead by its bias only.
        assert list(r.layers[0].permanent) == [0, 1] and list(r.layers[1].permanent) == [0], name
        # By hand: layer-1 rows + biases, their outgoing columns in W2, W2 row 0 (minus the two
        # entries already counted) + b2[0], and W3[0, 0].
        assert r.frozen_parameters == 2 * (d + 1) + 2 * 5 + (6 - 2 + 1) + 1, name
        assert r.num_parameters == 6 * (d + 1) + 5 * 7 + 6
        assert r.to_dict()["frozen_parameter_fraction"] == pytest.approx(
            (2 * d + 18) / (6 * d + 47)
        )


# d = 3 by default (the reader does not depend on d; d = 1 and 10 compile their own detectors)
@pytest.mark.parametrize(
    "d", [pytest.param(d, marks=pytest.mark.slow) if d != 3 else d for d in DIMS]
)
def test_equinox_mlp(d):
    r = models.check(to_equinox(constructed(d)), box(d))
    assert r.source == "equinox"
    assert_constructed(r, extra_dead=[5])


@pytest.mark.parametrize("d", (3,))
def test_real_flax_module(d):
    """A ``flax.linen`` Dense/relu stack; skipped when Flax (an optional extra) is absent."""
    pytest.importorskip("flax")
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Dense(6)(x))
            x = nn.relu(nn.Dense(5)(x))
            return nn.Dense(1)(x)

    params = constructed(d)
    variables = MLP().init(jax.random.key(0), jnp.ones((1, d)))
    variables = jax.tree.map(lambda a: a, variables)
    for k, (w, b) in enumerate(params):
        variables["params"][f"Dense_{k}"] = {"kernel": jnp.asarray(w.T), "bias": jnp.asarray(b)}
    # The Flax forward pass is the project's forward pass of the converted params.
    x = np.random.default_rng(0).uniform(-1, 1, (16, d)).astype(np.float32)
    from jaxnn_nonconv.core import nets

    model = models.from_object(variables)
    ours = nets.realization(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in model.params), x)
    np.testing.assert_allclose(MLP().apply(variables, x)[:, 0], ours, rtol=1e-5, atol=1e-5)
    assert_constructed(models.check(variables, box(d)))


def test_float64_weights_are_checked_in_float64(tmp_path):
    params = constructed(3, dtype=np.float64)
    models.save_npz(tmp_path / "m.npz", params)
    r = models.check(tmp_path / "m.npz", box(3))
    assert r.dtype == "float64"
    assert_constructed(r)


@pytest.mark.parametrize("d", DIMS)
def test_data_path_agrees_with_box_path(d):
    params = constructed(d)
    rng = np.random.default_rng(1)
    x = np.vstack([rng.uniform(-1, 1, (300, d)), corner(params)[None, :], -np.ones((1, d))])
    dom = models.from_data(x)
    r_data, r_box = models.check(params, dom), models.check(params, dom.box)
    for a, b in zip(r_data.layers, r_box.layers):
        assert a.inactive == b.inactive and a.permanent == b.permanent
        assert set(b.active) <= set(a.active)
        # A certified dead neuron never fires on data inside the box; "never fired" may say more.
        assert set(a.inactive) <= set(a.never_fired)
        assert all(a.active_fraction[i] == 0 for i in a.inactive)
    assert_constructed(r_data)
    assert r_data.to_dict()["domain"]["n_points"] == 302


def test_never_fired_over_reports_and_the_certificate_does_not():
    """Layer-2 neuron 4 is alive only near a corner: a batch that misses the corner says it never
    fired; the certificate says active (the corner is a probe point)."""
    params = constructed(3)
    c = corner(params)
    c[0] = -c[0]  # c and -c span the box [-1, 1]^3 but are not the witness corner sign(w)
    x = np.vstack([np.random.default_rng(2).uniform(-0.2, 0.2, (200, 3)), c, -c])
    r = models.check(params, models.from_data(x))
    l2 = r.layers[1]
    assert 4 in l2.never_fired and 4 in l2.active
    assert_constructed(r)


def test_quantile_clipping_leaves_outliers_outside_the_box():
    x = np.concatenate([np.linspace(-0.1, 0.1, 99), [5.0]])
    dom = models.from_data(x, quantile=0.02)
    assert dom.hi[0] < 5.0 and dom.inside().shape[0] < 100
    assert dom.to_dict()["n_points_inside"] == dom.inside().shape[0]


def test_constant_network_and_frozen_fraction():
    params = list(constructed(3))
    w2, b2 = params[1]
    params[1] = (-np.abs(w2), -np.ones_like(b2))  # every layer-2 neuron dead by sign
    r = models.check(tuple(params), box(3))
    assert r.constant is True
    assert list(r.layers[1].inactive) == list(range(5)) == list(r.layers[1].permanent)
    # Everything up to the dead layer and its outgoing weights: all but the output bias.
    assert r.frozen_parameters == r.num_parameters - 1


def test_brute_force_on_random_nets():
    """Random 2-D nets: every certified-inactive neuron is <= 0 on a fine grid, every certified
    active one is > 0 somewhere (the detector's witnesses are points of the box)."""
    from jaxnn_nonconv.core import nets

    g = np.linspace(-1, 1, 201)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        params = (
            (rng.normal(size=(8, 2)), rng.normal(size=8) - 1.0),
            (rng.normal(size=(8, 8)), rng.normal(size=8) - 1.0),
            (rng.normal(size=(1, 8)), np.zeros(1)),
        )
        params = tuple((w.astype(np.float32), b.astype(np.float32)) for w, b in params)
        r = models.check(params, box(2))
        zs = nets.hidden_preactivations(params, grid.astype(np.float32))
        for layer, z in zip(r.layers, zs):
            z = np.asarray(z)
            assert np.all(z[:, list(layer.inactive)] <= 0)
            fired = set(np.flatnonzero(np.any(z > 0, axis=0)).tolist())
            assert not fired & set(layer.inactive)
            assert sorted(layer.inactive + layer.active + layer.unknown) == list(range(8))
        n_known = sum(len(layer.inactive) + len(layer.active) for layer in r.layers)
        assert n_known >= 14  # the detector decides almost everything on these small nets


@pytest.mark.parametrize("d", (1, 3))
def test_frozen_parameters_have_zero_gradient_everywhere(d):
    """Independent of the counting code: autograd (JAX) of a loss over many points of the box is
    exactly zero on every parameter that ``permanent_and_frozen`` calls frozen, also for a net with
    an entirely dead layer."""
    import jax
    import jax.numpy as jnp

    from jaxnn_nonconv.core import nets

    base = constructed(d)
    w2, b2 = base[1]
    collapsed = (base[0], (-np.abs(w2), -np.ones_like(b2)), base[2])
    x = np.random.default_rng(0).uniform(-1, 1, (4096, d)).astype(np.float32)
    x = np.vstack([x, corner(base)[None, :].astype(np.float32)])
    y = jnp.asarray(np.random.default_rng(1).normal(size=x.shape[0]), jnp.float32)
    for params in (base, collapsed):
        r = models.check(params, box(d))
        perm = [np.isin(np.arange(layer.width), layer.permanent) for layer in r.layers]
        ina = [np.isin(np.arange(layer.width), layer.inactive) for layer in r.layers]
        sign = [np.zeros(6, bool), np.all(params[1][0] <= 0, 1) & (params[1][1] <= 0)]
        _, n_frozen = models.permanent_and_frozen(params, ina, sign)
        assert n_frozen == r.frozen_parameters
        pj = tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in params)
        grads = jax.grad(lambda p: jnp.mean((nets.realization(p, x) - y) ** 2))(pj)
        zero = sum(int(np.sum(np.asarray(g) == 0)) for pair in grads for g in pair)
        # Zero gradient now: the same rule with every inactive neuron (not only the permanent
        # ones); a few more entries can be zero by coincidence (e.g. W2[4, j] where layer-1
        # neuron j and layer-2 neuron 4 never fire together).
        _, n_now = models.permanent_and_frozen(params, ina, [np.ones(6, bool), np.ones(5, bool)])
        assert zero >= n_now >= n_frozen, (zero, n_now, n_frozen)
        (gw1, gb1), (gw2, gb2), (gw3, gb3) = (tuple(map(np.asarray, g)) for g in grads)
        assert np.all(gw1[perm[0]] == 0) and np.all(gb1[perm[0]] == 0)
        assert np.all(gw2[perm[1]] == 0) and np.all(gb2[perm[1]] == 0)
        assert np.all(gw2[:, perm[0]] == 0) and np.all(gw3[:, perm[1]] == 0)
        if r.constant:  # everything but the output bias: gradient exactly zero
            assert n_frozen == zero == r.num_parameters - 1 and np.all(gb3 != 0)


def test_high_dimensional_input_and_data_witnesses():
    """d = 100 (no corner probes): layer-2 neuron 4 fires only near the corner sign(w); with the
    box alone interval bounds leave it undecided, with that corner in the data it is certified
    active; the default backward bounds find that corner themselves (their maximizing corner is
    evaluated as a witness)."""
    d = 100
    params = constructed(d)
    c = corner(params)
    x = np.vstack([np.random.default_rng(0).uniform(-1, 1, (50, d)), c, -c])
    dom = models.from_data(x)
    assert dom.box == tuple([(-1.0, 1.0)] * d)
    assert_constructed(models.check(params, dom))
    ibp = detector.DetectorSettings(mode="ibp")
    r_box = models.check(params, dom.box, settings=ibp, per_neuron=False)
    assert list(r_box.layers[1].inactive) == INACTIVE[1]
    assert 4 not in r_box.layers[1].active
    # The per-neuron witness search (on by default) finds that corner by local ascent.
    assert 4 in models.check(params, dom.box, settings=ibp).layers[1].active
    r_crown = models.check(params, dom.box)
    assert list(r_crown.layers[1].inactive) == INACTIVE[1]
    assert 4 in r_crown.layers[1].active
