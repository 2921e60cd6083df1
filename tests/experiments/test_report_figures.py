"""The shallow_width figure compares like with like: zero counts drawn as upper bounds (a ``v``
marker at the interval's upper end, no point or bar at 0), the bound's event labelled apart from
the looser "within tol of the best found", the legend outside the axes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from jaxnn_nonconv import stats
from jaxnn_nonconv.experiments.report import _report


def _wilson(k, n):
    return stats.json_entry(stats.proportion(k, n), interval="wilson")


def test_zero_count_is_an_upper_bound_marker():
    fig, ax = plt.subplots()
    props = [_wilson(5, 100), _wilson(0, 100), _wilson(2, 100)]
    _report._errorbar(ax, [1, 2, 4], props, label="x")
    lines = ax.get_lines()
    main = lines[0]
    y = np.asarray(main.get_ydata(), float)
    assert np.isnan(y[1]) and y[0] == 0.05  # no point (and no line) at a zero count
    markers = [ln for ln in lines if ln.get_marker() == "v"]
    assert len(markers) == 1
    assert np.allclose(markers[0].get_ydata(), [props[1]["ci"][1]])  # at the upper end
    plt.close(fig)


def _row(width, optimizer, fails, not_global):
    n = 100
    return {
        "width": width,
        "optimizer": optimizer,
        "trials": n,
        "theory_p": 0.3125,
        "success": _wilson(n - fails, n),
        "not_global": _wilson(not_global, n),
        "first_layer_inactive_at_init": _wilson(n - round(n * 0.6875**width), n),
    }


def test_shallow_width_figure_labels_events_and_keeps_legend_outside(tmp_path, monkeypatch):
    rows = [
        _row(w, o, 50, 100 - round(100 * 0.6875**w)) for w in (1, 2, 4) for o in ("sgd", "adam")
    ]
    seen = {}
    real_save = _report._save

    def save(fig, fig_dir, name, formats):
        ax = fig.axes[0]
        seen["labels"] = [t.get_text() for t in ax.get_legend().get_texts()]
        fig.canvas.draw()
        legend = ax.get_legend().get_window_extent()
        seen["outside"] = legend.x0 >= ax.get_window_extent().x1
        return real_save(fig, fig_dir, name, formats)

    monkeypatch.setattr(_report, "_save", save)
    _report._fig_shallow_width(None, [], rows, tmp_path, ("png",))
    labels = seen["labels"]
    assert any(t.startswith("P(global minimum reached), sgd") for t in labels)
    assert any("best found + tol" in t and "not the bound's event" in t for t in labels)
    assert not any(t.startswith("P(success)") for t in labels)
    assert seen["outside"]
    assert (tmp_path / "shallow_width.png").exists()
