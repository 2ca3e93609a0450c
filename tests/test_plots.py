"""nbvi.plots: the helpers (moving average, KDE) against brute force and scipy, and every plot's axes,
lines, labels, scales, ``ax=``, input checks, and that inputs are left as they were."""
import importlib
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import nbvi
from nbvi.plots import (
    gaussian_kde,
    moving_average,
    plot_densities,
    plot_hist,
    plot_lines,
    plot_trace,
    plot_tracker,
    scott_bandwidth,
)

matplotlib.use("Agg")
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def colours(lines):
    return {to_hex(line.get_color()) for line in lines}


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("window", [1, 2, 4, 5, 50])
def test_moving_average_is_a_centred_mean_shrinking_at_the_ends(window):
    x = RNG.normal(size=23)
    expected = [x[max(i - (window - 1) // 2, 0):i + window // 2 + 1].mean() for i in range(len(x))]
    np.testing.assert_allclose(moving_average(x, window), expected, rtol=1e-12)


def test_kde_matches_scipy_with_scotts_bandwidth():
    from scipy.stats import gaussian_kde as scipy_kde

    draws = RNG.normal(1.0, 2.0, size=5000)  # more than one chunk of 4096 draws
    grid, density = gaussian_kde(draws)
    np.testing.assert_allclose(density, scipy_kde(draws)(grid), rtol=1e-10)
    assert grid.shape == density.shape == (256,)
    area = np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid))
    assert area == pytest.approx(1.0, abs=1e-3)  # the grid spans +-3 bandwidths


def test_kde_of_constant_draws_is_a_finite_spike():
    assert scott_bandwidth([2.0, 2.0, 2.0]) == pytest.approx(2e-3)
    assert scott_bandwidth([5.0]) == pytest.approx(5e-3)
    grid, density = gaussian_kde(np.full(10, 2.0))
    assert np.all(np.isfinite(density)) and grid[np.argmax(density)] == pytest.approx(2.0, abs=1e-3)


@pytest.mark.parametrize("draws", [[], [[1.0, 2.0]], [1.0, np.nan]])
def test_kde_rejects_bad_draws(draws):
    with pytest.raises(ValueError, match="gaussian_kde"):
        gaussian_kde(np.array(draws))


def test_lazy_access_and_import_error_message(monkeypatch):
    assert nbvi.plots.plot_hist is plot_hist
    monkeypatch.delitem(sys.modules, "nbvi.plots")
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # as if matplotlib were not installed
    with pytest.raises(ImportError, match=r"nbvi.plots needs matplotlib: pip install matplotlib"):
        importlib.import_module("nbvi.plots")


# ---------------------------------------------------------------------------------------------------------
# plot_hist and plot_lines
# ---------------------------------------------------------------------------------------------------------

HIST = 1000.0 * np.exp(-np.arange(300) / 50.0) + 10.0 + RNG.normal(size=300)


def test_plot_hist_draws_the_loss_per_step():
    fig = plot_hist(HIST, title="ADVI")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 301))
    np.testing.assert_array_equal(line.get_ydata(), HIST)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "ADVI")
    assert ax.get_yscale() == "linear" and ax.get_legend() is None


def test_plot_hist_smooth_draws_a_moving_average_over_the_faint_raw_curve():
    ax = plot_hist(HIST, smooth=20, label="advi").axes[0]
    raw, smoothed = ax.get_lines()
    assert raw.get_alpha() < 1 and smoothed.get_alpha() is None
    assert raw.get_color() == smoothed.get_color()
    np.testing.assert_allclose(smoothed.get_ydata(), moving_average(HIST, 20))
    assert legend_texts(ax) == ["advi"]


def test_plot_hist_log_scale_is_symlog_when_a_loss_is_not_positive():
    assert plot_hist(HIST, log=True).axes[0].get_yscale() == "log"
    assert plot_hist(HIST - 20.0, log=True).axes[0].get_yscale() == "symlog"


def test_plot_hist_into_a_given_axes_overlays_fits():
    fig, ax = plt.subplots()
    assert plot_hist(HIST, ax=ax, label="advi") is fig
    assert plot_hist(HIST / 2, ax=ax, label="fullrank") is fig
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 2
    assert legend_texts(ax) == ["advi", "fullrank"]


@pytest.mark.parametrize("hist, smooth, match", [([], None, "hist must be a non-empty 1-D"),
                                                 ([[1.0, 2.0]], None, "hist must be a non-empty 1-D"),
                                                 (HIST, 0, "smooth must be"),
                                                 (HIST, 2.5, "smooth must be"),
                                                 (HIST, True, "smooth must be")])
def test_plot_hist_rejects_bad_input(hist, smooth, match):
    with pytest.raises(ValueError, match=match):
        plot_hist(hist, smooth=smooth)


def test_plot_hist_and_plot_lines_leave_inputs_unchanged():
    hist = HIST.copy()
    series = {"train": np.linspace(0.5, 0.9, 50), "test": [0.4, 0.5, 0.6]}
    plot_hist(hist, smooth=5, log=True)
    plot_lines(series, smooth=3)
    np.testing.assert_array_equal(hist, HIST)
    np.testing.assert_array_equal(series["train"], np.linspace(0.5, 0.9, 50))
    assert series["test"] == [0.4, 0.5, 0.6]


def test_plot_lines_one_labelled_line_per_series():
    series = {"train": np.linspace(0.5, 0.9, 50), "test": np.linspace(0.4, 0.8, 40)}
    fig = plot_lines(series, title="accuracy", ylabel="accuracy")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 2
    assert legend_texts(ax) == ["train", "test"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "accuracy", "accuracy")
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [50, 40]


def test_plot_lines_smooth_and_given_axes():
    fig, ax = plt.subplots()
    series = {"train": RNG.uniform(size=100), "test": RNG.uniform(size=100)}
    assert plot_lines(series, smooth=10, xlabel="epoch", ax=ax) is fig
    lines = ax.get_lines()
    assert len(lines) == 4 and legend_texts(ax) == ["train", "test"]  # raw lines carry no label
    np.testing.assert_allclose(lines[3].get_ydata(), moving_average(series["test"], 10))
    assert ax.get_xlabel() == "epoch"


@pytest.mark.parametrize("series, match", [({}, "series must be a non-empty dict"),
                                           ([1.0, 2.0], "series must be a non-empty dict"),
                                           ({"train": []}, r"series\['train'\] must be")])
def test_plot_lines_rejects_bad_input(series, match):
    with pytest.raises(ValueError, match=match):
        plot_lines(series)


# ---------------------------------------------------------------------------------------------------------
# plot_densities
# ---------------------------------------------------------------------------------------------------------

def test_plot_densities_one_labelled_kde_per_sample_set():
    samples = {"NUTS": RNG.normal(0, 1, 500), "ADVI": RNG.normal(0.2, 0.8, 500), "SVGD": RNG.normal(3, 1, 100)}
    copies = {k: v.copy() for k, v in samples.items()}
    fig = plot_densities(samples, title="mu", xlabel="mu")
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 3
    assert legend_texts(ax) == ["NUTS", "ADVI", "SVGD"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("mu", "density", "mu")
    svgd = ax.get_lines()[2]
    assert svgd.get_xdata()[np.argmax(svgd.get_ydata())] == pytest.approx(3.0, abs=0.5)
    for k in samples:
        np.testing.assert_array_equal(samples[k], copies[k])


def test_plot_densities_into_a_given_axes():
    fig, ax = plt.subplots()
    assert plot_densities({"a": RNG.normal(size=50)}, ax=ax) is fig
    assert len(ax.get_lines()) == 1 and ax.get_xlabel() == ""


@pytest.mark.parametrize("samples, match", [({}, "samples must be a non-empty dict"),
                                            ({"ADVI": np.zeros((10, 2))}, r"samples\['ADVI'\] must be"),
                                            ({"ADVI": [0.0, np.inf]}, r"samples\['ADVI'\] contains NaN")])
def test_plot_densities_rejects_bad_input(samples, match):
    with pytest.raises(ValueError, match=match):
        plot_densities(samples)


# ---------------------------------------------------------------------------------------------------------
# plot_trace
# ---------------------------------------------------------------------------------------------------------

def two_chain_trace():
    n = 200
    return nbvi.Trace({"mu": RNG.normal(size=2 * n), "w": RNG.normal(size=(2 * n, 3)),
                       "count": RNG.poisson(3.0, size=2 * n)}, chain=np.repeat([0, 1], n))


def test_plot_trace_one_row_per_variable_chains_coloured():
    trace = two_chain_trace()
    fig = plot_trace(trace, var_names=["w", "mu"])
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    w_density, w_trace, mu_density, mu_trace = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["w", "w", "mu", "mu"]
    assert len(w_density.get_lines()) == len(w_trace.get_lines()) == 2 * 3  # chains x elements
    assert len(mu_density.get_lines()) == len(mu_trace.get_lines()) == 2
    c0, c1 = (line.get_color() for line in mu_trace.get_lines())
    assert c0 != c1
    np.testing.assert_array_equal(mu_trace.get_lines()[1].get_ydata(), trace["mu"][trace.chain == 1])
    np.testing.assert_array_equal(mu_trace.get_lines()[1].get_xdata(), np.arange(200))  # index within chain
    assert colours(w_density.get_lines()) == colours(mu_trace.get_lines())  # same colour per chain
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["chain 0", "chain 1"]
    assert (mu_trace.get_xlabel(), mu_density.get_ylabel()) == ("draw", "density")


def test_plot_trace_caps_elements_and_histograms_integer_draws():
    fig = plot_trace(two_chain_trace(), var_names=["w", "count"], max_elements=2)
    w_density, w_trace, count_density, count_trace = fig.axes
    assert len(w_trace.get_lines()) == 2 * 2 and w_trace.get_title() == "w (first 2 of 3)"
    assert len(count_density.get_lines()) == 0 and len(count_density.patches) == 2  # a step histogram per chain
    assert len(count_trace.get_lines()) == 2


def test_plot_trace_of_a_dict_is_one_chain_and_leaves_it_unchanged():
    draws = {"x": RNG.normal(size=100), "y": RNG.normal(size=(100, 2, 2))}
    copies = {k: v.copy() for k, v in draws.items()}
    fig = plot_trace(draws)
    assert len(fig.axes) == 4 and not fig.legends
    assert len(fig.axes[3].get_lines()) == 4 and len(colours(fig.axes[3].get_lines())) == 1
    for k in draws:
        np.testing.assert_array_equal(draws[k], copies[k])


def test_plot_trace_rejects_bad_input():
    with pytest.raises(ValueError, match=r"no variable 'z' in the trace; it has \['mu', 'w', 'count'\]"):
        plot_trace(two_chain_trace(), var_names=["mu", "z"])
    with pytest.raises(ValueError, match="max_elements"):
        plot_trace(two_chain_trace(), max_elements=0)
    with pytest.raises(ValueError, match="different numbers of draws"):
        plot_trace({"a": np.zeros(10), "b": np.zeros(5)})
    with pytest.raises(ValueError, match="'a' has NaN"):
        plot_trace({"a": np.array([0.0, np.nan])})


# ---------------------------------------------------------------------------------------------------------
# plot_tracker
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted_tracker():
    with nbvi.Model():
        nbvi.Normal("x", 0.0, 1.0)
        advi = nbvi.ADVI(random_seed=1)
        tracker = nbvi.callbacks.Tracker(every=5, mean=advi.approx.mean.eval, std=advi.approx.std.eval)
        advi.fit(200, callbacks=[tracker], progressbar=False)
    return tracker, advi.approx.hist


def test_plot_tracker_panels_of_a_real_tracker_and_the_loss(fitted_tracker):
    tracker, hist = fitted_tracker
    fig = plot_tracker(tracker, hist=hist, smooth=10)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    mean_ax, std_ax, loss_ax = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["mean", "std", "loss"]
    (mean_line,) = mean_ax.get_lines()
    np.testing.assert_array_equal(mean_line.get_xdata(), np.arange(5, 201, 5))  # Tracker(every=5)
    np.testing.assert_array_equal(mean_line.get_ydata(), np.ravel(tracker["mean"]))
    assert len(loss_ax.get_lines()) == 2 and loss_ax.get_ylabel() == "loss"
    assert mean_ax.get_xlabel() == std_ax.get_xlabel() == "step"


def test_plot_tracker_names_select_and_order_without_touching_the_tracker(fitted_tracker):
    tracker, _ = fitted_tracker
    fig = plot_tracker(tracker, names=["std"])
    assert [ax.get_title() for ax in fig.axes] == ["std"]
    with pytest.raises(ValueError, match=r"no tracked quantity 'sd'; the tracker has \['mean', 'std'\]"):
        plot_tracker(tracker, names=["std", "sd"])
    assert sorted(tracker.hist) == ["mean", "std"]  # the failed lookup added no key


def test_plot_tracker_of_a_dict_one_line_per_element_capped_at_20():
    tracked = {"w": [np.arange(30.0).reshape(5, 6) + k for k in range(4)], "a": [1.0, 2.0], "b": np.ones((3, 2)),
               "c": [0.0]}
    fig = plot_tracker(tracked, hist=HIST)
    assert len(fig.axes) == 5  # 5 panels in a 2 x 3 grid, the sixth removed
    w_ax, a_ax, b_ax = fig.axes[:3]
    assert len(w_ax.get_lines()) == 20 and w_ax.get_title() == "w (first 20 of 30)" and w_ax.get_legend() is None
    np.testing.assert_array_equal(w_ax.get_lines()[7].get_ydata(), 7.0 + np.arange(4))
    np.testing.assert_array_equal(a_ax.get_lines()[0].get_xdata(), [1, 2])  # a dict records every step
    assert legend_texts(b_ax) == ["b[0]", "b[1]"]
    assert tracked["a"] == [1.0, 2.0]


@pytest.mark.parametrize("tracked, match", [({}, "nothing to plot"),
                                            ({"a": []}, "nothing was recorded for 'a'"),
                                            ({"a": [1.0, [1.0, 2.0]]}, "change size")])
def test_plot_tracker_rejects_bad_input(tracked, match):
    with pytest.raises(ValueError, match=match):
        plot_tracker(tracked)
    with pytest.raises(ValueError, match="smooth"):
        plot_tracker({"a": [1.0]}, hist=HIST, smooth=-1)


def test_plot_options_are_checked_where_they_are_given():
    with pytest.raises(TypeError, match="log must be True or False"):
        plot_hist(np.arange(1.0, 5.0), log="yes")
    with pytest.raises(TypeError, match="hist must be real numbers"):
        plot_hist("abc")
    with pytest.raises(ValueError, match="max_elements must be an integer"):
        plot_trace(two_chain_trace(), max_elements=2.5)
    with pytest.raises(ValueError, match="window must be >= 1"):
        moving_average(np.arange(5.0), 0)
    with pytest.raises(ValueError, match="n_points must be >= 2"):
        gaussian_kde(np.arange(5.0), n_points=0)


def test_plot_trace_takes_one_name_without_splitting_it():
    fig = plot_trace(two_chain_trace(), var_names="mu")
    assert [ax.get_title() for ax in fig.axes] == ["mu", "mu"]
