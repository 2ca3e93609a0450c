"""The PyMC3 "Variational API Quickstart" notebook, section by section, with nbvi.

    python scripts/quickstart.py [--out quickstart_figures/] [--quick]

Sections, in the notebook's order and at its sizes (RANDOM_SEED = 42 everywhere):

1. Setup: a two-component normal mixture sampled with NUTS (2 chains x 50,000 draws), x**2 and sin(x)
   as deterministics.
2. The same model fitted with mean-field ADVI (10,000 steps): one Gaussian, one mode.
3. Checking convergence: CheckParametersConvergence with relative, then absolute differences.
4. Tracking parameters with the object API: a Tracker of mean and std over fit(20,000), then
   refine(100,000).
5. The density of x: NUTS against ADVI, then against SVGD (1,000 particles, 300 steps of sgd(0.01)).
6. sample_node: x**2 under the SVGD approximation, 1,000 draws at every evaluation.
7. Multinomial logistic regression on iris with SVGD (500 particles): train and test accuracy tracked
   over 200 steps, then 400 more with adamax(0.1) (needs scikit-learn; skipped with a message without it).
8. Minibatches: a 40,000 x 100 normal model, full batch stopped after 100 steps, then Minibatch(500)
   with total_size.

Every figure of the notebook becomes one PNG in ``--out``; each section prints what it fitted, its key
numbers, the files it wrote and its time. ``--quick`` runs every section and writes every figure with
far fewer steps, draws, particles and data rows (the smoke test of tests/test_quickstart.py).
"""
import argparse
import os
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import nbvi  # noqa: E402
from nbvi import plots  # noqa: E402

RANDOM_SEED = 42
DPI = 90
LEFT_OF = 0.1  # the mixture's modes are at -0.3 and 0.5 (sd 0.1): x < 0.1 is the left one (weight 0.2)


@dataclass(frozen=True)
class Sizes:
    """Step counts, draws, particles and data sizes of a run."""

    nuts_draws: int = 50_000
    nuts_tune: int = 1000
    advi_steps: int = 10_000
    track_steps: int = 20_000
    refine_steps: int = 100_000
    svgd_particles: int = 1000
    svgd_steps: int = 300
    density_draws: int = 1000
    node_size: int = 1000
    iris_particles: int = 500
    iris_test_draws: int = 100
    iris_steps: int = 200
    iris_adamax_steps: int = 400
    data_rows: int = 40_000
    data_cols: int = 100
    batch_size: int = 500
    full_batch_stop: int = 100
    minibatch_steps: int = 10_000


FULL = Sizes()
QUICK = Sizes(nuts_draws=2000, nuts_tune=500, advi_steps=2000, track_steps=2000, refine_steps=5000,
              svgd_particles=100, svgd_steps=50, density_draws=500, node_size=200, iris_particles=100,
              iris_test_draws=20, iris_steps=40, iris_adamax_steps=80, data_rows=4000, full_batch_stop=20,
              minibatch_steps=1000)


class Report:
    """Prints a section's header, lines, files and time; saves and closes figures."""

    def __init__(self, out):
        self.out = out
        self.files = []
        self.times = {}  # section title -> seconds
        self.title, self.start = None, None

    def section(self, title):
        self.title = title
        self.start = time.perf_counter()
        print(f"\n== {title} ==", flush=True)

    def line(self, text):
        print(f"  {text}", flush=True)

    def save(self, fig, name):
        path = os.path.join(self.out, name)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        self.files.append(path)
        self.line(f"wrote {path}")
        return path

    def write_text(self, text, name):
        path = os.path.join(self.out, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.files.append(path)
        self.line(f"wrote {path}")

    def done(self):
        seconds = time.perf_counter() - self.start
        self.times[self.title] = seconds
        self.line(f"[{seconds:.1f} s]")


def left_fraction(x):
    return float(np.mean(np.asarray(x) < LEFT_OF))


def mixture_model():
    """The notebook's model: x ~ 0.2 N(-0.3, 0.1) + 0.8 N(0.5, 0.1), and two expressions of x."""
    w = nbvi.floatX([0.2, 0.8])
    mu = nbvi.floatX([-0.3, 0.5])
    sd = nbvi.floatX([0.1, 0.1])
    with nbvi.Model() as model:
        x = nbvi.NormalMixture("x", w=w, mu=mu, sigma=sd)
        x2 = x**2
        sin_x = nbvi.math.sin(x)
    return model, x, x2, sin_x


def draw_graph(report, model, name):
    """The model graph as a PNG, and its DOT source next to it."""
    report.save(nbvi.draw_model_graph(model), f"{name}.png")
    dot = nbvi.model_to_graphviz(model)
    report.write_text(getattr(dot, "source", dot), f"{name}.dot")  # graphviz.Source or DOT text


# -- 1. Setup: NUTS -------------------------------------------------------------------------------------
def section_nuts(report, sizes, progressbar):
    report.section(f"1. NUTS on the mixture: 2 chains x {sizes.nuts_draws:,} draws, {sizes.nuts_tune:,} tune")
    model, x, x2, sin_x = mixture_model()
    with model:
        nbvi.Deterministic("x2", x2)
        nbvi.Deterministic("sin_x", sin_x)
        trace = nbvi.sample(sizes.nuts_draws, tune=sizes.nuts_tune, chains=2, random_seed=RANDOM_SEED,
                            progressbar=progressbar)
    for row in nbvi.summary(trace).to_string().splitlines():
        report.line(row)
    divergences = int(trace.sample_stats["diverging"].sum())
    report.line(f"mass in the left mode {left_fraction(trace['x']):.3f} (true 0.2); {divergences} divergences; "
                f"a low ESS: the chains seldom cross between the modes")
    report.save(plots.plot_trace(trace, var_names=["x", "x2", "sin_x"]), "01_nuts_trace.png")
    report.done()
    return trace


# -- 2. ADVI ----------------------------------------------------------------------------------------------
def section_advi(report, sizes, progressbar):
    report.section(f"2. Mean-field ADVI on the mixture: fit({sizes.advi_steps:,})")
    model = mixture_model()[0]  # no deterministics: expressions of x are evaluated afterwards (section 6)
    with model:
        mean_field = nbvi.fit(sizes.advi_steps, method="advi", random_seed=RANDOM_SEED, progressbar=progressbar)
    draws = mean_field.sample(sizes.density_draws)
    report.line(f"q(x): mean {mean_field.mean.eval()[0]:.3f}, std {mean_field.std.eval()[0]:.3f}; "
                f"average loss of the last 1,000 steps {np.mean(mean_field.hist[-1000:]):.3f}")
    report.line(f"mass in the left mode {left_fraction(draws['x']):.3f}: one Gaussian cannot hold two modes")
    report.save(plots.plot_trace(draws), "02_advi_trace.png")
    report.done()
    return model


# -- 3. Checking convergence --------------------------------------------------------------------------
CHANGE = {"relative": nbvi.callbacks.relative, "absolute": nbvi.callbacks.absolute}


def section_convergence(report, sizes, model, progressbar):
    report.section("3. Checking convergence: CheckParametersConvergence, relative then absolute")
    for diff, name in [("relative", "03_hist_relative.png"), ("absolute", "04_hist_absolute.png")]:
        # the parameters every 100 steps, where the convergence check compares them (a Tracker callable may
        # take the callback arguments (approx, losses, i)); first in the list, so it records the last step too
        params = nbvi.callbacks.Tracker(every=100, params=lambda approx, losses, i: approx.params.copy())
        with model:
            mean_field = nbvi.fit(sizes.advi_steps, method="advi", random_seed=RANDOM_SEED,
                                  callbacks=[params, nbvi.callbacks.CheckParametersConvergence(diff=diff)],
                                  progressbar=progressbar)
        steps = len(mean_field.hist)
        recorded = np.asarray(params["params"])
        change = CHANGE[diff](recorded[1:], recorded[:-1]).max(axis=1)  # the callback's inf-norm of the change
        smallest = change.min(initial=np.inf)
        stopped = f"converged at step {steps:,}" if steps < sizes.advi_steps else "never stopped"
        report.line(f"diff={diff!r}: {stopped} of {sizes.advi_steps:,}; smallest {diff} change between "
                    f"checks {smallest:.4f} (tolerance 0.001); q(x) mean {mean_field.mean.eval()[0]:.3f}, std "
                    f"{mean_field.std.eval()[0]:.3f}")
        fig = plots.plot_hist(mean_field.hist, smooth=100, title=f"CheckParametersConvergence(diff={diff!r})")
        report.save(fig, name)
    report.done()


# -- 4. Tracking parameters -----------------------------------------------------------------------------
def section_tracking(report, sizes, model, progressbar):
    report.section(f"4. Tracking mean and std: ADVI().fit({sizes.track_steps:,}), then refine({sizes.refine_steps:,})")
    with model:
        advi = nbvi.ADVI(random_seed=RANDOM_SEED)
    report.line(f"{advi.approx!r}; shared_params {sorted(advi.approx.shared_params)}; start: mean "
                f"{advi.approx.mean.eval()}, std {advi.approx.std.eval()}")
    tracker = nbvi.callbacks.Tracker(mean=advi.approx.mean.eval, std=advi.approx.std.eval)
    approx = advi.fit(sizes.track_steps, callbacks=[tracker], progressbar=progressbar)
    report.line(f"after fit: mean {approx.mean.eval()[0]:.3f}, std {approx.std.eval()[0]:.3f}, "
                f"{len(tracker['mean']):,} steps tracked")
    report.save(plots.plot_tracker(tracker, hist=advi.hist, smooth=1000), "05_tracker_fit.png")
    advi.refine(sizes.refine_steps, progressbar=progressbar)
    means = np.array([m[0] for m in tracker["mean"]])
    report.line(f"after refine: mean {approx.mean.eval()[0]:.3f}, std {approx.std.eval()[0]:.3f}, "
                f"{len(means):,} steps tracked; the mean still wanders over "
                f"[{means[sizes.track_steps:].min():.3f}, {means[sizes.track_steps:].max():.3f}] during refine")
    report.save(plots.plot_tracker(tracker, hist=advi.hist, smooth=1000), "06_tracker_refine.png")
    report.done()
    return approx


# -- 5. Densities: NUTS, ADVI, SVGD ---------------------------------------------------------------------
def section_densities(report, sizes, model, trace, advi_approx, progressbar):
    report.section(f"5. Density of x: NUTS vs ADVI, then SVGD ({sizes.svgd_particles:,} particles, "
                   f"{sizes.svgd_steps} steps of sgd(0.01))")
    rng = np.random.default_rng(RANDOM_SEED)
    samples = {"NUTS": rng.choice(trace["x"], sizes.density_draws),
               "ADVI": advi_approx.sample(sizes.density_draws)["x"]}
    report.save(plots.plot_densities(samples, title="$x$ posterior", xlabel="x"), "07_density_nuts_advi.png")
    start = time.perf_counter()
    with model:
        svgd_approx = nbvi.fit(sizes.svgd_steps, method="svgd", inf_kwargs={"n_particles": sizes.svgd_particles},
                               obj_optimizer=nbvi.sgd(learning_rate=0.01), random_seed=RANDOM_SEED,
                               progressbar=progressbar)
    report.line(f"SVGD fit: {time.perf_counter() - start:.1f} s")
    samples["SVGD"] = svgd_approx.sample(sizes.density_draws)["x"]
    for label, draws in samples.items():
        report.line(f"{label:4s}: mean {draws.mean():.3f}, sd {draws.std():.3f}, "
                    f"mass in the left mode {left_fraction(draws):.3f} (true 0.2)")
    report.save(plots.plot_densities(samples, title="$x$ posterior", xlabel="x"), "08_density_nuts_advi_svgd.png")
    report.done()
    return svgd_approx


# -- 6. sample_node ---------------------------------------------------------------------------------------
def section_sample_node(report, sizes, model, svgd_approx):
    report.section(f"6. sample_node: x**2 under SVGD, size={sizes.node_size:,}")
    x = model["x"]
    a = x**2
    a_sample = svgd_approx.sample_node(a)
    report.line("three evaluations of one draw: " + ", ".join(f"{float(a_sample.eval()):.4f}" for _ in range(3)))
    a_samples = svgd_approx.sample_node(a, size=sizes.node_size)
    values = a_samples.eval()
    variance = float(a_samples.var(axis=0).eval())  # each eval draws afresh, as in the notebook
    mean = float(a_samples.mean(axis=0).eval())
    report.line(f"x**2: mean {mean:.4f}, variance {variance:.4f} (notebook: 0.2503 and 0.0982)")
    report.save(plots.plot_densities({"SVGD": values}, title="$x^2$ distribution", xlabel="$x^2$"),
                "09_x2_density.png")
    report.done()


# -- 7. Iris: multinomial logistic regression with SVGD --------------------------------------------------
def load_iris_split():
    """The iris data split as the notebook does, or None when scikit-learn is missing."""
    try:
        from sklearn.datasets import load_iris
        from sklearn.model_selection import train_test_split
    except ImportError:
        return None
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, random_state=RANDOM_SEED)


def plot_accuracy(tracker, title):
    series = {"test": np.mean(np.asarray(tracker["test_accuracy"]), axis=1),  # mean over the test draws
              "train": np.asarray(tracker["train_accuracy"], dtype=np.float64)}
    smooth = max(1, len(series["test"]) // 10)  # the notebook smooths with lowess over 10% of the steps
    fig = plots.plot_lines(series, smooth=smooth, title=title, xlabel="fitting step", ylabel="accuracy")
    fig.axes[0].set_ylim(0, 1)
    return fig


def section_iris(report, sizes, progressbar):
    report.section(f"7. Iris: multinomial logistic regression, SVGD with {sizes.iris_particles} particles")
    split = load_iris_split()
    if split is None:
        report.line("scikit-learn is not installed (pip install scikit-learn): skipping the iris section")
        report.done()
        return None
    X_train, X_test, y_train, y_test = split
    num_features, num_classes = X_train.shape[1], len(np.unique(y_train))
    Xt = nbvi.Data(X_train, name="Xt")
    with nbvi.Model() as iris_model:
        beta = nbvi.Normal("beta", 0, 100, shape=(num_features, num_classes))  # coefficients of the features
        a = nbvi.Flat("a", shape=(num_classes,))
        p = nbvi.math.softmax(Xt.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y_train)
    draw_graph(report, iris_model, "10_iris_model_graph")

    with iris_model:
        inference = nbvi.SVGD(n_particles=sizes.iris_particles, jitter=1, random_seed=RANDOM_SEED)
    approx = inference.approx
    train_probs = approx.sample_node(p)
    test_probs = approx.sample_node(p, more_replacements={Xt: X_test}, size=sizes.iris_test_draws)
    test_accuracy = nbvi.math.eq(test_probs.argmax(-1), y_test).mean(-1)
    train_accuracy = nbvi.math.eq(train_probs.argmax(-1), y_train).mean(-1)
    eval_tracker = nbvi.callbacks.Tracker(test_accuracy=test_accuracy.eval, train_accuracy=train_accuracy.eval)

    def last(name, k=20):
        return float(np.mean(eval_tracker[name][-k:]))

    start = time.perf_counter()
    inference.fit(sizes.iris_steps, callbacks=[eval_tracker], progressbar=progressbar)
    report.line(f"fit({sizes.iris_steps}) with the default adagrad_window: {time.perf_counter() - start:.1f} s; "
                f"accuracy over the last 20 steps: train {last('train_accuracy'):.3f}, "
                f"test {last('test_accuracy'):.3f}")
    report.save(plot_accuracy(eval_tracker, f"SVGD, {sizes.iris_steps} steps of adagrad_window"),
                "11_iris_accuracy.png")
    start = time.perf_counter()
    inference.fit(sizes.iris_adamax_steps, obj_optimizer=nbvi.adamax(learning_rate=0.1), callbacks=[eval_tracker],
                  progressbar=progressbar)
    accuracy = {"train": last("train_accuracy"), "test": last("test_accuracy")}
    report.line(f"fit({sizes.iris_adamax_steps}) with adamax(0.1): {time.perf_counter() - start:.1f} s; "
                f"accuracy over the last 20 steps: train {accuracy['train']:.3f}, test {accuracy['test']:.3f}")
    report.save(plot_accuracy(eval_tracker, f"then {sizes.iris_adamax_steps} steps of adamax(0.1)"),
                "12_iris_accuracy_adamax.png")
    report.done()
    return accuracy


# -- 8. Minibatches -------------------------------------------------------------------------------------
def stop_after(n):
    """A callback that ends the fit after step ``n`` (the notebook's ``stop_after_100`` for n = 100)."""

    def stop(approx, loss_history, i):
        if i == n:
            raise StopIteration("Stopping approximation.")

    return stop


def section_minibatch(report, sizes, progressbar):
    rows, cols = sizes.data_rows, sizes.data_cols
    report.section(f"8. Minibatches: a {rows:,} x {cols} normal model, full batch then Minibatch({sizes.batch_size})")
    rng = np.random.default_rng(RANDOM_SEED)
    data = rng.random((rows, cols))
    data *= rng.integers(1, 10, size=(cols,))
    data += rng.random(cols) * 10

    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(cols,))
        sd = nbvi.HalfNormal("sd", shape=(cols,))
        nbvi.Normal("lik", mu, sd, observed=data)
    start = time.perf_counter()
    with model:
        full = nbvi.fit(callbacks=[stop_after(sizes.full_batch_stop)], random_seed=RANDOM_SEED,
                        progressbar=progressbar)
    seconds = time.perf_counter() - start
    report.line(f"full batch: stopped after {len(full.hist)} of 10,000 steps, {seconds:.2f} s "
                f"({1000 * seconds / len(full.hist):.1f} ms a step); average loss {np.mean(full.hist):.4g}")

    X_batch = nbvi.Minibatch(data, batch_size=sizes.batch_size)
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(cols,))
        sd = nbvi.HalfNormal("sd", shape=(cols,))
        nbvi.Normal("likelihood", mu, sd, observed=X_batch, total_size=data.shape)
    draw_graph(report, model, "13_minibatch_model_graph")
    start = time.perf_counter()
    with model:
        advifit = nbvi.fit(sizes.minibatch_steps, random_seed=RANDOM_SEED, progressbar=progressbar)
    seconds = time.perf_counter() - start
    column_means = data.mean(axis=0)
    mu_mean = advifit.mean.eval()[:cols]  # mu comes first in the flat vector, then log(sd)
    error = np.abs(mu_mean - column_means) / np.abs(column_means)
    report.line(f"minibatch: {len(advifit.hist):,} steps, {seconds:.2f} s ({1000 * seconds / len(advifit.hist):.2f} "
                f"ms a step); average loss of the last 1,000 steps {np.mean(advifit.hist[-1000:]):.4g}")
    floor = np.sum(rows * (0.5 * np.log(2 * np.pi * data.var(axis=0)) + 0.5))
    report.line(f"(the negative log-likelihood at the column means and sds, about where the loss levels off: "
                f"{floor:.4g})")
    report.line(f"q(mu) mean vs the column means: relative error median {np.median(error):.4f}, max {error.max():.4f} "
                f"(the default for minibatches: Adam(0.1), its step size decaying over the second half, whose "
                f"iterates are averaged)")
    report.save(plots.plot_hist(advifit.hist, smooth=100, log=True, title=f"ADVI with Minibatch({sizes.batch_size})"),
                "14_minibatch_hist.png")
    report.done()
    return float(np.median(error))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="quickstart_figures/", help="folder for the PNG files")
    parser.add_argument("--quick", action="store_true", help="far fewer steps: a smoke run of every section")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    progressbar = not args.quick
    os.makedirs(args.out, exist_ok=True)
    report = Report(args.out)
    start = time.perf_counter()

    trace = section_nuts(report, sizes, progressbar)
    model = section_advi(report, sizes, progressbar)
    section_convergence(report, sizes, model, progressbar)
    advi_approx = section_tracking(report, sizes, model, progressbar)
    svgd_approx = section_densities(report, sizes, model, trace, advi_approx, progressbar)
    section_sample_node(report, sizes, model, svgd_approx)
    section_iris(report, sizes, progressbar)
    section_minibatch(report, sizes, progressbar)

    total = time.perf_counter() - start
    print(f"\nTotal {total:.1f} s, {len(report.files)} files in {args.out}")
    for title, seconds in report.times.items():
        print(f"  {seconds:6.1f} s  {title}")
    return report


if __name__ == "__main__":
    main()
