"""Time one ``model.logp_dlogp(theta)`` call on the foundation's three benchmark models.

    python scripts/bench_logp.py [w5] [mixture] [iris]      (default: all three)

Prints one JSON line per model: microseconds per call (median of several timed batches, after warm-up),
the number of calls timed, and the time of the first call (numba compile or cache load, model planning).
The models are those of ../shared/WORKLOADS.md: W5's data model (40000 x 100 Normal observed, D = 1),
the quickstart mixture (D = 1), and the iris multinomial regression (D = 500, the SVGD particle count).
"""
import json
import sys
import time

import numpy as np

import nbvi

RANDOM_SEED = 42


def w5_model():
    np.random.seed(RANDOM_SEED)
    data = np.random.rand(40000, 100) * np.random.randint(1, 10, size=(100,)) + np.random.rand(100) * 10
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(100,))
        sd = nbvi.HalfNormal("sd", shape=(100,))
        nbvi.Normal("lik", mu, sd, observed=data)
    return model, 1


def mixture_model():
    w = np.array([0.2, 0.8])
    mu = np.array([-0.3, 0.5])
    sigma = np.ones_like(mu) * 0.1
    with nbvi.Model() as model:
        nbvi.NormalMixture("x", w=w, mu=mu, sigma=sigma)
    return model, 1


def iris_model():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, random_state=RANDOM_SEED)
    with nbvi.Model() as model:
        inputs = nbvi.Data(X_train)
        beta = nbvi.Normal("beta", mu=0, sigma=1e2, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(inputs.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y_train)
    return model, 500


MODELS = {"w5": w5_model, "mixture": mixture_model, "iris": iris_model}


def bench(name):
    model, draws = MODELS[name]()
    rng = np.random.default_rng(RANDOM_SEED)
    theta = model.initial_point_flat()[None] + 0.1 * rng.normal(size=(draws, model.ndim))
    start = time.perf_counter()
    model.logp_dlogp(theta)
    first_call = time.perf_counter() - start
    for _ in range(3):
        model.logp_dlogp(theta)
    # size each batch to about 0.2 s, then take the median of 7 batches
    start = time.perf_counter()
    model.logp_dlogp(theta)
    once = time.perf_counter() - start
    calls = max(1, int(0.2 / max(once, 1e-7)))
    per_call = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            model.logp_dlogp(theta)
        per_call.append((time.perf_counter() - start) / calls)
    return {
        "workload": f"logp_dlogp-{name}",
        "system": "nbvi",
        "D": draws,
        "ndim": model.ndim,
        "us_per_call": round(float(np.median(per_call)) * 1e6, 2),
        "calls_per_batch": calls,
        "first_call_s": round(first_call, 3),
    }


if __name__ == "__main__":
    names = [a.lower() for a in sys.argv[1:]] or list(MODELS)
    for name in names:
        print(json.dumps(bench(name)), flush=True)
