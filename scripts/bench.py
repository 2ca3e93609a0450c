"""The benchmark workloads of ../shared/WORKLOADS.md, run with nbvi; one JSON line each.

    python scripts/bench.py W1 W3 ...      (or `all`; default: all that nbvi implements so far)

For W7 (NUTS) ``iters_per_s`` is draws + tune per second over both chains, as in the WORKLOADS table.

Timings exclude model construction and numba compilation: each workload first runs a few warm-up steps
on a throwaway inference of the same kind (reported as ``compile_s``: compile or cache load), then times
the real run from a fresh inference with RANDOM_SEED = 42.
"""
import json
import sys
import time

import numpy as np

import nbvi

RANDOM_SEED = 42


def mixture_model():
    w = np.array([0.2, 0.8])
    mu = np.array([-0.3, 0.5])
    sd = np.ones_like(mu) * 0.1
    with nbvi.Model() as model:
        x = nbvi.NormalMixture("x", w=w, mu=mu, sigma=sd)
    return model, x


def warm(make, steps, **fit_kwargs):
    start = time.perf_counter()
    make().fit(steps, progressbar=False, **fit_kwargs)
    return time.perf_counter() - start


def w1():
    model, _ = mixture_model()
    compile_s = warm(lambda: nbvi.ADVI(model=model, random_seed=0), 50)
    advi = nbvi.ADVI(model=model, random_seed=RANDOM_SEED)
    start = time.perf_counter()
    approx = advi.fit(10_000, progressbar=False)
    seconds = time.perf_counter() - start
    return {"workload": "W1 mixture-advi", "iters": 10_000, "seconds": seconds, "compile_s": compile_s,
            "final_avg_loss": float(np.mean(approx.hist[-1000:])),
            "mean_x": float(approx.mean.eval()[0]), "std_x": float(approx.std.eval()[0])}


def w2():
    model, _ = mixture_model()
    compile_s = warm(lambda: nbvi.ADVI(model=model, random_seed=0), 50)
    advi = nbvi.ADVI(model=model, random_seed=RANDOM_SEED)
    tracker = nbvi.callbacks.Tracker(mean=advi.approx.mean.eval, std=advi.approx.std.eval)
    start = time.perf_counter()
    advi.fit(20_000, callbacks=[tracker], progressbar=False)
    advi.refine(100_000, progressbar=False)
    seconds = time.perf_counter() - start
    return {"workload": "W2 mixture-advi-tracker", "iters": 120_000, "seconds": seconds, "compile_s": compile_s,
            "tracked": len(tracker["mean"]), "mean_x": float(advi.approx.mean.eval()[0]),
            "std_x": float(advi.approx.std.eval()[0])}


def w3():
    model, _ = mixture_model()
    compile_s = warm(lambda: nbvi.SVGD(n_particles=1000, model=model, random_seed=0), 3,
                     obj_optimizer=nbvi.sgd(learning_rate=0.01))
    svgd = nbvi.SVGD(n_particles=1000, model=model, random_seed=RANDOM_SEED)
    start = time.perf_counter()
    approx = svgd.fit(300, obj_optimizer=nbvi.sgd(learning_rate=0.01), progressbar=False)
    seconds = time.perf_counter() - start
    x = approx.sample(1000, random_seed=RANDOM_SEED)["x"]
    return {"workload": "W3 mixture-svgd", "iters": 300, "seconds": seconds, "compile_s": compile_s,
            "left_mode_fraction": float(np.mean(x < 0.1)),
            "both_modes": bool(np.any(x < -0.1) and np.any(x > 0.3))}


def w4():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=RANDOM_SEED)
    with nbvi.Model() as model:
        Xt = nbvi.Data(X_train)
        beta = nbvi.Normal("beta", 0, 100, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(Xt.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y_train)
    compile_s = warm(lambda: nbvi.SVGD(n_particles=500, jitter=1, model=model, random_seed=0), 3)
    inference = nbvi.SVGD(n_particles=500, jitter=1, model=model, random_seed=RANDOM_SEED)
    approx = inference.approx
    train_probs = approx.sample_node(p)
    test_probs = approx.sample_node(p, more_replacements={Xt: X_test}, size=100)
    test_accuracy = nbvi.math.eq(test_probs.argmax(-1), y_test).mean(-1)
    train_accuracy = nbvi.math.eq(train_probs.argmax(-1), y_train).mean(-1)
    tracker = nbvi.callbacks.Tracker(test_accuracy=test_accuracy.eval, train_accuracy=train_accuracy.eval)
    start = time.perf_counter()
    inference.fit(200, callbacks=[tracker], progressbar=False)
    tracked_s = time.perf_counter() - start
    inference.fit(400, obj_optimizer=nbvi.adamax(learning_rate=0.1), callbacks=[tracker], progressbar=False)
    seconds = time.perf_counter() - start
    return {"workload": "W4 iris-svgd", "iters": 600, "seconds": seconds, "compile_s": compile_s,
            "first_200_tracked_s": tracked_s,
            "final_test_accuracy": float(np.mean(tracker["test_accuracy"][-1]))}


def normal_data():
    np.random.seed(RANDOM_SEED)
    return np.random.rand(40000, 100) * np.random.randint(1, 10, size=(100,)) + np.random.rand(100) * 10


def w5():
    data = normal_data()
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(100,))
        sd = nbvi.HalfNormal("sd", shape=(100,))
        nbvi.Normal("lik", mu, sd, observed=data)
    compile_s = warm(lambda: nbvi.ADVI(model=model, random_seed=0), 5)
    # the fused density reads the data once, when it is built (in the warm-up above), and keeps per-column
    # statistics; time that pass on its own so the figure with it can be reported too
    from nbvi.fused.density import FusedDensity

    start = time.perf_counter()
    FusedDensity.build(model)
    statistics_s = time.perf_counter() - start
    advi = nbvi.ADVI(model=model, random_seed=RANDOM_SEED)
    start = time.perf_counter()
    advi.fit(100, progressbar=False)
    seconds = time.perf_counter() - start
    return {"workload": "W5 normal-fullbatch", "iters": 100, "seconds": seconds, "compile_s": compile_s,
            "statistics_pass_s": statistics_s, "iters_per_s_with_statistics_pass": 100 / (seconds + statistics_s),
            "final_loss": float(advi.hist[-1])}


def w6():
    data = normal_data()
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(data, batch_size=500)
        mu = nbvi.Flat("mu", shape=(100,))
        sd = nbvi.HalfNormal("sd", shape=(100,))
        nbvi.Normal("lik", mu, sd, observed=batch, total_size=data.shape)
    compile_s = warm(lambda: nbvi.ADVI(model=model, random_seed=0), 20)
    advi = nbvi.ADVI(model=model, random_seed=RANDOM_SEED)
    start = time.perf_counter()
    approx = advi.fit(10_000, progressbar=False)
    seconds = time.perf_counter() - start
    column_means = data.mean(axis=0)
    error = np.max(np.abs(approx.mean.eval()[:100] - column_means) / np.abs(column_means))
    return {"workload": "W6 normal-minibatch", "iters": 10_000, "seconds": seconds, "compile_s": compile_s,
            "max_rel_error_mu": float(error), "final_avg_loss": float(np.mean(approx.hist[-1000:]))}


def w7(draws=50_000, tune=1000, chains=2):
    """NUTS reference sampler on the mixture; ``iters`` counts draws + tune of all chains."""
    from nbvi.sampling.diagnostics import ess_bulk, rhat

    model, _ = mixture_model()
    start = time.perf_counter()
    nbvi.sample(draws=50, tune=50, chains=1, random_seed=0, progressbar=False, model=model)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    trace = nbvi.sample(draws=draws, tune=tune, chains=chains, random_seed=RANDOM_SEED, progressbar=False,
                        model=model)
    seconds = time.perf_counter() - start
    x = trace["x"].reshape(chains, draws)
    stats = trace.sample_stats
    return {"workload": "W7 mixture-nuts", "iters": chains * (draws + tune), "seconds": seconds,
            "compile_s": compile_s, "mean_n_steps": float(stats["n_steps"].mean()),
            "divergences": int(stats["diverging"].sum()), "mean_x": float(x.mean()), "sd_x": float(x.std()),
            "left_mode_fraction": float(np.mean(x < 0.1)), "ess_bulk": float(ess_bulk(x)), "r_hat": float(rhat(x))}


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7}


def main(names):
    if not names or names == ["all"]:
        names = list(WORKLOADS)
    for name in names:
        result = WORKLOADS[name.upper()]()
        result = {"workload": result.pop("workload"), "system": "nbvi", **result}
        result["iters_per_s"] = result["iters"] / result["seconds"]
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
