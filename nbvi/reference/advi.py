"""ADVI in plain NumPy: mean-field and full-rank, one step at a time (the textbook version).

Kucukelbir, Tran, Ranganath, Gelman & Blei (2017), "Automatic Differentiation Variational Inference",
JMLR 18(14). In the model's unconstrained space q is a Gaussian, theta = mu + S eps with eps ~ N(0, I)
(sec. 2.5 and 3), and the loss is the negative ELBO, estimated from S draws (eq. 8-10):

    loss       = -(1/S) sum_s log p(theta_s) - H[q]                   H[q] = log|det S| + ndim (1 + log 2 pi) / 2
    d loss/dmu = -(1/S) sum_s grad log p(theta_s)                     (eq. 8)
    d loss/dS  = -(1/S) sum_s grad log p(theta_s) eps_s^T - dH/dS     (eq. 9, 10; dH/dS = S^-T)

Mean field: S = diag(sigma), sigma = softplus(rho) (nbvi's choice; the paper writes exp(omega)), so
d loss/drho = d loss/dsigma * sigmoid(rho). Full rank: S = L, lower triangular, packed row by row.
"Sticking the landing" (Roeder, Wu & Duvenaud 2017) drops dH/dS and adds -grad_theta log q(theta_s)
to grad log p(theta_s): the same gradient in expectation, with zero variance when q is the posterior.

Parameters are one flat vector, laid out as nbvi's MeanField ([mu, rho]) and FullRank ([mu, L_tril]).
The fast version is :mod:`nbvi.variational.advi` (numba kernels) and, for whole blocks of steps,
``model.compiled_density().advi_steps``; tests/reference/test_advi.py binds them to this file.
"""
import math

import numpy as np

HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2.0 * math.pi))  # the entropy of N(0, 1)


def softplus(rho):
    return np.logaddexp(0.0, rho)  # log(1 + e^rho), stable


def sigmoid(rho):
    return np.exp(-np.logaddexp(0.0, -rho))  # d softplus(rho) / d rho


def meanfield_init(model):
    """[mu, rho]: mu at the model's initial point, rho = 0 (sigma = log 2)."""
    return np.concatenate([model.initial_point_flat(), np.zeros(model.ndim)])


def softplus_inverse(sigma):
    return np.log(np.expm1(sigma))


def fullrank_init(model):
    """[mu, L_tril]: mu at the model's initial point, L = I (diagonal entries lambda with softplus(lambda) = 1)."""
    rows, cols = np.tril_indices(model.ndim)
    return np.concatenate([model.initial_point_flat(), np.where(rows == cols, softplus_inverse(1.0), 0.0)])


def meanfield_loss_grad(model, params, eps, stl=False):
    """Negative ELBO and its gradient with respect to [mu, rho], for the draws eps (S, ndim)."""
    ndim = model.ndim
    mu, rho = params[:ndim], params[ndim:]
    sigma = softplus(rho)
    theta = mu + sigma * eps                                   # the reparameterisation, (S, ndim)
    logp, dlogp = model.logp_dlogp(theta)
    entropy = np.sum(np.log(sigma)) + ndim * HALF_LOG_2PI_E
    loss = -np.mean(logp) - entropy
    if stl:
        dlogp = dlogp + eps / sigma                            # -grad_theta log q(theta) = eps / sigma
    grad_mu = -np.mean(dlogp, axis=0)                          # d theta / d mu = 1
    grad_sigma = -np.mean(dlogp * eps, axis=0)                 # d theta / d sigma = eps
    if not stl:
        grad_sigma -= 1.0 / sigma                              # dH / d sigma = 1 / sigma
    return loss, np.concatenate([grad_mu, grad_sigma * sigmoid(rho)])


def fullrank_loss_grad(model, params, eps, stl=False):
    """Negative ELBO and its gradient with respect to [mu, L_tril], for the draws eps (S, ndim); the diagonal
    entries of L_tril are lambda_i, L_ii = softplus(lambda_i)."""
    ndim = model.ndim
    rows, cols = np.tril_indices(ndim)
    diagonal = rows == cols
    mu = params[:ndim]
    packed = params[ndim:]
    L = np.zeros((ndim, ndim))
    L[rows, cols] = np.where(diagonal, softplus(packed), packed)
    theta = mu + eps @ L.T                                     # theta_s = mu + L eps_s
    logp, dlogp = model.logp_dlogp(theta)
    entropy = np.sum(np.log(np.diag(L))) + ndim * HALF_LOG_2PI_E
    loss = -np.mean(logp) - entropy
    if stl:
        dlogp = dlogp + np.linalg.solve(L.T, eps.T).T          # -grad_theta log q(theta) = L^-T eps
    grad_mu = -np.mean(dlogp, axis=0)
    grad_L = -dlogp.T @ eps / len(eps)                         # d theta_i / d L_ij = eps_j
    if not stl:
        grad_L -= np.diag(1.0 / np.diag(L))                    # dH / dL = L^-T, whose lower triangle is diag(1/L_ii)
    grad_packed = grad_L[rows, cols]
    grad_packed[diagonal] *= sigmoid(packed[diagonal])         # d L_ii / d lambda_i = sigmoid(lambda_i)
    return loss, np.concatenate([grad_mu, grad_packed])


# -- optimizers: (init, update); state = init(params), params, state = update(params, grad, state). Both
#    descend the loss, elementwise, so params may be any array (SVGD's particles are (n, d)).


def sgd(learning_rate=1e-3):
    """p <- p - lr g."""
    return (lambda params: None), (lambda params, grad, state: (params - learning_rate * grad, state))


def adagrad_window(learning_rate=1e-3, epsilon=0.1, n_win=10):
    """Adagrad over the squared gradients of the last n_win steps (Kucukelbir et al. 2017, sec. 3.3, with a
    window in place of the decaying average; PyMC3's and nbvi's default):

        w[t mod n_win] = g_t^2,   p <- p - lr g_t / sqrt(sum_k w[k] + epsilon)
    """
    def init(params):
        return 0, np.zeros((n_win,) + params.shape)            # (position in the window, the window)

    def update(params, grad, state):
        position, window = state
        window = window.copy()
        window[position] = grad * grad
        params = params - learning_rate * grad / np.sqrt(window.sum(axis=0) + epsilon)
        return params, ((position + 1) % n_win, window)
    return init, update


def fit(model, noise, family="meanfield", optimizer=None, stl=False, params=None):
    """Run one ADVI step per entry of ``noise`` (steps, S, ndim); returns (params, losses)."""
    loss_grad = {"meanfield": meanfield_loss_grad, "fullrank": fullrank_loss_grad}[family]
    init, update = optimizer if optimizer is not None else adagrad_window()
    if params is None:
        params = {"meanfield": meanfield_init, "fullrank": fullrank_init}[family](model)
    state = init(params)
    losses = []
    for eps in noise:
        loss, grad = loss_grad(model, params, eps, stl)
        params, state = update(params, grad, state)
        losses.append(loss)
    return params, np.array(losses)
