"""SVGD and ASVGD in plain NumPy (the textbook version).

Liu & Wang (2016), "Stein Variational Gradient Descent: A General Purpose Bayesian Inference Algorithm",
NeurIPS, eq. (8) and Algorithm 1. Particles x_1..x_n move along the Stein force

    phi(x_i) = (1/n) sum_j [ k(x_j, x_i) grad log p(x_j) / T  +  grad_{x_j} k(x_j, x_i) ]      (eq. 8)
    x_i <- x_i + lr * phi(x_i)

with the RBF kernel k(x, y) = exp(-||x - y||^2 / (2 h)), so grad_{x_j} k(x_j, x_i) = k(x_j, x_i) (x_i - x_j) / h,
and PyMC3's median bandwidth h = 0.5 median(H) / log(n + 1), H the n x n matrix of squared distances
(its diagonal zeros included). The first term pulls the particles toward high density, the second pushes
them apart. T (the temperature) divides the pull only.

ASVGD (Feng, Wang & Liu 2017, "Learning to Draw Samples with Amortized Stein Variational Gradient
Descent", UAI, sec. 3), as PyMC3 defines it: the particles are S draws theta_s = mu + softplus(rho) eps_s
of a mean-field Gaussian, each is moved by phi, and the move is pushed back to q's parameters through
d theta_s / d(mu, rho), summed (not averaged) over the draws:  eta <- eta + lr sum_s (d theta_s / d eta)^T phi(theta_s).

The optimizers descend, so a step hands them -phi (SVGD) or -sum_s (d theta_s / d eta)^T phi (ASVGD).
The fast version is :mod:`nbvi.variational.stein` (one numba kernel over symmetric pairs, no n x n x d
array) with the ``SVGD`` and ``ASVGD`` classes of :mod:`nbvi.variational.inference`;
tests/reference/test_svgd.py binds them to this file.
"""
import numpy as np

from nbvi.reference.advi import HALF_LOG_2PI_E, adagrad_window, meanfield_init, sigmoid, softplus


def median_bandwidth(x):
    """h = 0.5 median(||x_i - x_j||^2 over all n^2 pairs) / log(n + 1)."""
    sq_dists = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    return 0.5 * np.median(sq_dists) / np.log(len(x) + 1.0)


def stein_force(x, grad_logp, h, temperature=1.0):
    """phi(x_i) of eq. (8) for particles x (n, d) with grad log p at each, grad_logp (n, d)."""
    diff = x[:, None, :] - x[None, :, :]                       # diff[j, i] = x_j - x_i
    sq_dists = np.sum(diff ** 2, axis=-1)
    if h > 0:
        K = np.exp(-sq_dists / (2.0 * h))                      # K[j, i] = k(x_j, x_i)
    else:                                                      # the limit h -> 0+: only coincident particles,
        K, h = (sq_dists == 0.0).astype(float), np.inf         # and no repulsion
    drive = K.T @ grad_logp / temperature                      # sum_j k(x_j, x_i) grad log p(x_j)
    repulse = -np.sum(K[:, :, None] * diff, axis=0) / h        # sum_j k(x_j, x_i) (x_i - x_j) / h
    return (drive + repulse) / len(x)


def svgd_step(model, particles, opt_state, update, temperature=1.0):
    """One SVGD step: returns (particles, opt_state, loss), loss = -mean log p(particles) (for monitoring)."""
    logp, dlogp = model.logp_dlogp(particles)
    phi = stein_force(particles, dlogp, median_bandwidth(particles), temperature)
    particles, opt_state = update(particles, -phi, opt_state)  # the optimizer descends -phi
    return particles, opt_state, -np.mean(logp)


def asvgd_step(model, params, opt_state, update, eps, temperature=1.0):
    """One ASVGD step on q's [mu, rho] with the draws eps (S, ndim): returns (params, opt_state, loss),
    loss = -mean log p(theta_s) - H[q] (the negative ELBO estimate, for monitoring)."""
    ndim = model.ndim
    mu, rho = params[:ndim], params[ndim:]
    sigma = softplus(rho)
    theta = mu + sigma * eps
    logp, dlogp = model.logp_dlogp(theta)
    phi = stein_force(theta, dlogp, median_bandwidth(theta), temperature)
    grad = -np.concatenate([phi.sum(axis=0), (phi * eps).sum(axis=0) * sigmoid(rho)])  # d theta/d rho = sigmoid(rho) eps
    loss = -np.mean(logp) - (np.sum(np.log(sigma)) + ndim * HALF_LOG_2PI_E)
    params, opt_state = update(params, grad, opt_state)
    return params, opt_state, loss


def svgd(model, particles, steps, optimizer=None, temperature=1.0):
    """Run ``steps`` SVGD steps from ``particles`` (n, ndim); returns (particles, losses)."""
    init, update = optimizer if optimizer is not None else adagrad_window()
    state, losses = init(particles), []
    for _ in range(steps):
        particles, state, loss = svgd_step(model, particles, state, update, temperature)
        losses.append(loss)
    return particles, np.array(losses)


def asvgd(model, noise, optimizer=None, temperature=1.0, params=None):
    """Run one ASVGD step per entry of ``noise`` (steps, S, ndim) from [mu, rho] (default: the model's
    initial point and rho = 0); returns (params, losses)."""
    init, update = optimizer if optimizer is not None else adagrad_window()
    params = meanfield_init(model) if params is None else params
    state, losses = init(params), []
    for eps in noise:
        params, state, loss = asvgd_step(model, params, state, update, eps, temperature)
        losses.append(loss)
    return params, np.array(losses)
