"""Where time and memory go, one JSON line per measurement (docs/benchmarks.md quotes them).

    python scripts/bench_parts.py first-call     # import nbvi, then the first logp_dlogp of a process
    python scripts/bench_parts.py w3             # an SVGD step of W3 and its parts
    python scripts/bench_parts.py memory ROWS    # resident memory of a ROWS x 100 logistic model's tape

Each measurement wants a fresh process (``first-call`` times the import itself), so give one at a time.
"""
import json
import resource
import sys
import time

import numpy as np

START = time.perf_counter()
import nbvi  # noqa: E402

IMPORTED = time.perf_counter()


def first_call():
    """Seconds of ``import nbvi``, of the first ``logp_dlogp`` of a process (kernels cached on disk), and of
    the first call of a second, newly built model."""
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Normal("y", a + 0.5 * nbvi.math.tanh(a), s, observed=np.random.default_rng(0).normal(size=50))
    t0 = time.perf_counter()
    model.logp_dlogp(model.initial_point_flat()[None])
    t1 = time.perf_counter()
    with nbvi.Model() as second:
        b = nbvi.Normal("b", 0.0, 1.0, shape=3)
        nbvi.StudentT("y", 3.0, nbvi.math.sum(b) * 2.0, 1.0, observed=np.ones(10))
    t2 = time.perf_counter()
    second.logp_dlogp(second.initial_point_flat()[None])
    t3 = time.perf_counter()
    return {"measure": "first-call", "import_s": IMPORTED - START, "first_model_first_call_s": t1 - t0,
            "second_model_first_call_s": t3 - t2, "path": nbvi.explain(model).path}


def w3():
    """W3's SVGD (1,000 particles on the mixture, 300 steps of sgd) per step, then each part of a step alone
    at the final particles: the density, the median bandwidth, the Stein force, and the rest."""
    from bench import mixture_model

    from nbvi.variational import stein

    model, _ = mixture_model()
    nbvi.SVGD(n_particles=1000, model=model, random_seed=0).fit(5, obj_optimizer=nbvi.sgd(0.01), progressbar=False)
    svgd = nbvi.SVGD(n_particles=1000, model=model, random_seed=42)
    t0 = time.perf_counter()
    svgd.fit(300, obj_optimizer=nbvi.sgd(learning_rate=0.01), progressbar=False)
    step = (time.perf_counter() - t0) / 300
    x = svgd.approx.histogram.copy()
    _, g = model.logp_dlogp(x)
    h = stein.median_bandwidth(x)
    out = np.empty_like(x)
    parts = {}
    for name, call in (("density", lambda: model.logp_dlogp(x)), ("bandwidth", lambda: stein.median_bandwidth(x)),
                       ("force", lambda: stein.stein_force(x, g, h, out=out))):
        t0 = time.perf_counter()
        for _ in range(300):
            call()
        parts[f"{name}_us"] = (time.perf_counter() - t0) / 300 * 1e6
    rest = step * 1e6 - sum(parts.values())
    return {"measure": "w3-parts", "step_us": step * 1e6, **parts, "rest_us": rest}


def memory(rows):
    """GB resident after building a rows x 100 logistic regression's compiled density and calling it, and the
    peak, against the data's own size."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 100))
    y = (rng.random(rows) < 0.5).astype(float)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        b = nbvi.Normal("b", 0.0, 1.0, shape=100)
        nbvi.Bernoulli("y", logit_p=a + nbvi.math.dot(X, b), observed=y)
    model.logp_dlogp(model.initial_point_flat()[None])
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * resource.getpagesize() / 1e9
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # (kilobytes on Linux)
    return {"measure": "memory", "rows": rows, "data_gb": X.nbytes / 1e9, "resident_gb": resident, "peak_gb": peak,
            "path": nbvi.explain(model).path}


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "first-call"
    if what == "first-call":
        result = first_call()
    elif what == "w3":
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        result = w3()
    elif what == "memory":
        result = memory(int(sys.argv[2]) if len(sys.argv) > 2 else 400_000)
    else:
        raise SystemExit(f"unknown measurement {what!r}: first-call, w3 or memory ROWS")
    print(json.dumps(result))
