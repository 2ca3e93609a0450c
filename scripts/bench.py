"""The benchmark workloads of ../shared/WORKLOADS.md, run with nbvi; one JSON line each.

    python scripts/bench.py W1 W3 ...      (or `all`; default: all that nbvi implements so far)
    python scripts/bench.py models [NAME ...]

For W7 (NUTS) ``iters_per_s`` is draws + tune per second over both chains, as in the WORKLOADS table.

Timings exclude model construction and numba compilation: each workload first runs a few warm-up steps
on a throwaway inference of the same kind (reported as ``compile_s``: compile or cache load), then times
the real run from a fresh inference with RANDOM_SEED = 42.

``models`` (only as the first argument; ``all`` means W1-W7 only) times ``model.logp_dlogp(theta)`` on the
small models of ``bench_models.py`` (the names after ``models`` select some; default: all), one JSON line
each: ``ndim``; ``logp_dlogp_us``, the median over 5 batches of about 0.2 s of the microseconds per call at
one fixed point theta (1, ndim) near the initial point; ``first_call_s``, the first call on the fresh model
(planning plus numba compile or cache load); ``path``, ``nbvi.explain(model).path``. Models
with a hand-written numba yardstick (``bench_models.HANDWRITTEN``) are checked against it to 1e-8 relative
at a few points, which it then times alike on an extra line ``models/<name>-handwritten``; the model's
line gets ``vs_handwritten``, its time over the yardstick's.
"""
import json
import sys
import time

import bench_models
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


def time_per_call(f, theta, batches=5, batch_s=0.2):
    """Median over ``batches`` of the seconds per call of ``f(theta)``, each batch calling it for about
    ``batch_s`` seconds (in chunks sized to about 1 ms, so reading the clock costs nothing)."""
    for _ in range(3):
        f(theta)
    chunk, start = 0, time.perf_counter()
    while time.perf_counter() - start < 1e-3:
        f(theta)
        chunk += 1
    per_call = []
    for _ in range(batches):
        calls, start = 0, time.perf_counter()
        while True:
            for _ in range(chunk):
                f(theta)
            calls += chunk
            elapsed = time.perf_counter() - start
            if elapsed >= batch_s:
                break
        per_call.append(elapsed / calls)
    return float(np.median(per_call))


def check_handwritten(model, hand, theta, rng, points=4, rtol=1e-8):
    """Assert that ``hand`` and ``model.logp_dlogp`` agree at theta and a few points around it: logp to
    ``rtol`` relative, each gradient entry to ``rtol`` relative to the largest entry of that gradient."""
    thetas = np.vstack([theta, theta + 0.5 * rng.standard_normal((points - 1, model.ndim))])
    for point in thetas:
        logp, grad = model.logp_dlogp(point[None])
        hand_logp, hand_grad = hand(point[None])
        np.testing.assert_allclose(hand_logp, logp, rtol=rtol, atol=0)
        np.testing.assert_allclose(hand_grad, grad, rtol=rtol, atol=rtol * np.max(np.abs(grad)))


def bench_model(name):
    """The JSON results (one or two dicts) of the ``models`` workload for one model of bench_models."""
    model = bench_models.MODELS[name]()
    rng = np.random.default_rng(RANDOM_SEED)
    theta = model.initial_point_flat()[None] + 0.1 * rng.standard_normal((1, model.ndim))
    start = time.perf_counter()
    model.logp_dlogp(theta)
    first_call_s = time.perf_counter() - start
    seconds = time_per_call(model.logp_dlogp, theta)
    result = {"workload": f"models/{name}", "ndim": model.ndim, "logp_dlogp_us": seconds * 1e6,
              "first_call_s": first_call_s,
              "path": nbvi.explain(model).path}
    if name not in bench_models.HANDWRITTEN:
        return [result]
    hand = bench_models.HANDWRITTEN[name]()
    check_handwritten(model, hand, theta, rng)
    hand_seconds = time_per_call(hand, theta)
    result["vs_handwritten"] = seconds / hand_seconds
    return [result, {"workload": f"models/{name}-handwritten", "ndim": model.ndim,
                     "logp_dlogp_us": hand_seconds * 1e6}]


def print_json(result):
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}), flush=True)


def main(names):
    if names and names[0] == "models":
        for name in names[1:] or list(bench_models.MODELS):
            for result in bench_model(name):
                print_json(result)
        return
    if not names or names == ["all"]:
        names = list(WORKLOADS)
    for name in names:
        result = WORKLOADS[name.upper()]()
        result = {"workload": result.pop("workload"), "system": "nbvi", **result}
        result["iters_per_s"] = result["iters"] / result["seconds"]
        print_json(result)


if __name__ == "__main__":
    main(sys.argv[1:])
