"""A first look at nbvi until the full quickstart (scripts/quickstart.py) lands.

Builds a small hierarchical regression the PyMC way, then uses the contract every inference algorithm
sees (``ndim``, ``initial_point_flat``, ``logp_dlogp``, ``unravel``) to find the posterior mode by plain
gradient ascent in unconstrained space.
"""
import numpy as np

import nbvi

rng = np.random.default_rng(42)
true_slope, true_intercept = 1.7, -0.4
x = rng.normal(size=200)
y = true_intercept + true_slope * x + rng.normal(scale=0.5, size=200)

with nbvi.Model() as model:
    intercept = nbvi.Normal("intercept", 0.0, 10.0)
    slope = nbvi.Normal("slope", 0.0, 10.0)
    mu = nbvi.Deterministic("mu_mean", (intercept + slope * x).mean())
    nbvi.Normal("y", intercept + slope * x, 0.5, observed=y)

theta = model.initial_point_flat()[None]
print(f"model with {model.ndim} unconstrained parameters, initial point {model.unravel(theta)}")
step = 1e-3
for i in range(500):
    logp, grad = model.logp_dlogp(theta)
    theta = theta + step * grad
    if i % 100 == 0:
        print(f"step {i:4d}  log-density {logp[0]: .3f}")
point = model.unravel(theta)
print(f"posterior mode: intercept {point['intercept'][0]:.3f} (true {true_intercept}), "
      f"slope {point['slope'][0]:.3f} (true {true_slope})")
