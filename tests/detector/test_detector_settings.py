"""DetectorSettings: checked once where it is made (one-line ConfigError), resolved per input
dimension exactly as the mode rule and the default grid say, and one cache key for the compiled
detector whatever way the defaults are spelled."""

import dataclasses

import pytest

import jaxnn_nonconv as jn
from jaxnn_nonconv import detector
from jaxnn_nonconv.errors import ConfigError


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"mode": "exakt"}, "unknown detector mode 'exakt'"),
        ({"grid": 0}, "grid must be a positive integer"),
        ({"grid": 2.0}, "grid must be a positive integer"),
        ({"n_probe": 0}, "n_probe must be a positive integer"),
        ({"n_probe": True}, "n_probe must be a positive integer"),
        ({"max_points": 1}, "max_points must be an integer >= 2"),
        ({"max_points": "1024"}, "max_points must be an integer >= 2"),
    ],
)
def test_bad_settings_raise_one_line_config_errors(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        detector.DetectorSettings(**kw)
    assert "\n" not in str(e.value)


def test_exact_mode_needs_d_at_most_2():
    s = detector.DetectorSettings(mode="exact")
    assert s.validate(1) is s and s.validate(2) is s
    with pytest.raises(ConfigError, match="exact mode needs input dimension 1 or 2, got 3"):
        s.resolved(3)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
@pytest.mark.parametrize("mode", ["auto", "ibp", "crown"])
def test_resolved_agrees_with_resolve_mode_and_default_grid(mode, d):
    r = detector.DetectorSettings(mode=mode).resolved(d)
    assert r.mode == detector.resolve_mode(mode, d)
    assert r.grid == (detector.default_grid(d) if r.mode == "ibp" else None)
    assert r.resolved(d) == r  # idempotent
    given = detector.DetectorSettings(mode=mode, grid=3).resolved(d)
    assert given.grid == (3 if given.mode == "ibp" else None)
    out = detector.DetectorSettings(mode=mode).to_dict(d)
    exact_1d = out["mode"] == "exact" and d == 1
    assert out == {
        "mode": r.mode,
        "grid": r.grid,
        "n_probe": detector.DEFAULT_PROBES,
        "max_points": detector.DEFAULT_MAX_POINTS if exact_1d else None,
    }


def test_frozen_hashable_and_one_compiled_detector_for_equal_settings():
    s = detector.DetectorSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mode = "ibp"  # type: ignore[misc]
    assert hash(s) == hash(detector.DetectorSettings(mode="auto", grid=None))
    box = ((0.0, 1.0),)
    a = detector.make_detector(box)
    b = detector.make_detector(box, detector.DetectorSettings(mode="exact"))
    assert a is b  # "auto" resolves to "exact" for d = 1: one compilation
    assert jn.DetectorSettings is detector.DetectorSettings
    assert jn.classify is detector.classify_neurons
