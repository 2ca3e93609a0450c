"""A first look at nbvi until the full quickstart (scripts/quickstart.py) lands.

Builds a small linear regression the PyMC way, shows the contract every inference algorithm sees
(``ndim``, ``initial_point_flat``, ``logp_dlogp``, ``unravel``), then fits it with mean-field ADVI and
compares the posterior means with the true values.
"""
import numpy as np

import nbvi

rng = np.random.default_rng(42)
true_slope, true_intercept, true_noise = 1.7, -0.4, 0.5
x = rng.normal(size=200)
y = true_intercept + true_slope * x + rng.normal(scale=true_noise, size=200)

with nbvi.Model() as model:
    intercept = nbvi.Normal("intercept", 0.0, 10.0)
    slope = nbvi.Normal("slope", 0.0, 10.0)
    noise = nbvi.HalfNormal("noise", 1.0)
    nbvi.Deterministic("mean_fit", (intercept + slope * x).mean())
    nbvi.Normal("y", intercept + slope * x, noise, observed=y)

theta = model.initial_point_flat()[None]
logp, grad = model.logp_dlogp(theta)
print(f"{model.ndim} unconstrained parameters; at the initial point logp = {logp[0]:.2f}, "
      f"gradient {np.round(grad[0], 2)}")

with model:
    approx = nbvi.fit(20_000, method="advi", obj_optimizer=nbvi.adam(learning_rate=0.01), random_seed=42)
trace = approx.sample(2000, random_seed=1)
for name, truth in [("intercept", true_intercept), ("slope", true_slope), ("noise", true_noise)]:
    print(f"{name:9s} posterior mean {trace[name].mean():.3f} +- {trace[name].std():.3f}   (true {truth})")
print(f"final average loss {approx.hist[-1000:].mean():.2f}")
