"""Low-rank plus diagonal Gaussian approximation and its ADVI step.

q(theta) = N(m, Sigma) with Sigma = D^2 + U U^T, D = diag(d) positive and U (ndim, rank): a draw is

    theta = m + d * z1 + U z2,        z1 ~ N(0, I_ndim),  z2 ~ N(0, I_rank)

(Ong, Nott & Smith 2018, "Gaussian variational approximation with a factor covariance structure", JCGS 27;
NumPyro's ``AutoLowRankMultivariateNormal``). It captures the ``rank`` strongest directions of posterior
correlation with ndim (2 + rank) parameters, between mean-field's 2 ndim and full-rank's ndim (ndim + 3) / 2.

d = softplus(rho) as in :class:`~nbvi.variational.approximations.MeanField`, so the first 2 ndim parameters
are laid out, and mean, exactly as MeanField's. Everything about Sigma goes through the r x r matrix

    K = I_r + W^T W,      W = D^-1 U  (ndim, rank)

    log det Sigma = 2 sum_i log d_i + log det K                       (matrix determinant lemma)
    Sigma^-1      = D^-2 - D^-2 U K^-1 U^T D^-2                       (Woodbury)

so nothing of size ndim x ndim is formed. The loss of a step is the negative ELBO with closed-form entropy
H[q] = sum_i log d_i + log det K / 2 + ndim (1 + log 2 pi) / 2; its gradient is derived in
docs/lowrank_advi.md and written beside the code in :func:`loss_and_gradients`.
"""
import math

import numpy as np

from nbvi import arguments
from nbvi.variational.advi import meanfield_sigma
from nbvi.variational.approximations import (
    HALF_LOG_2PI_E,
    Approximation,
    _flat_start,
    softplus,
    softplus_inverse,
)

__all__ = ["LowRank", "LowRankObjective", "draw_width", "loss_and_gradients", "lowrank_loss_grad", "lowrank_step",
           "lowrank_theta"]

INIT_SCALE = 0.1  # U starts at INIT_SCALE * (a standard normal matrix) * each row's scale: small, not 0


def check_rank(rank, ndim):
    """``rank`` as an int in [1, ndim]; TypeError or ValueError naming it otherwise."""
    rank = arguments.integer(rank, "rank", minimum=1)
    if rank > ndim:
        raise ValueError(f"rank={rank} is more than the model's {ndim} unconstrained dimensions; use rank <= {ndim} "
                         f"(rank = ndim already allows any covariance: method='fullrank_advi' does that with fewer "
                         f"parameters)")
    return rank


class LowRank(Approximation):
    """A Gaussian with covariance D^2 + U U^T: theta = mu + softplus(rho) * z1 + U z2.

    Parameters
    ----------
    model : Model
    rank : int
        Columns of U, 1 <= rank <= ndim.
    start : (ndim,) array, optional
        Where ``mu`` starts (default: the model's initial point).
    random_seed : int or Generator, optional
        Draws U's starting values, then seeds ``sample`` and ``sample_node``.

    ``shared_params``: ``mu`` (ndim,), ``rho`` (ndim,), ``U`` (ndim, rank), laid out in that order in
    ``params`` (U row-major). ``rho`` starts at 0 (each d_i = log 2, as MeanField) and U at small random
    values, INIT_SCALE * N(0, 1) * log 2: U = 0 is a stationary point of the ELBO in U (a saddle when the
    posterior is correlated; docs/lowrank_advi.md section 4), and random columns are distinct, so no two of
    them move alike.
    """

    def __init__(self, model, rank=1, start=None, random_seed=None):
        ndim = model.ndim
        self.rank = check_rank(rank, ndim)
        mu = model.initial_point_flat() if start is None else _flat_start(model, start)
        rng = np.random.default_rng(random_seed)
        U = small_factor(np.full(ndim, math.log(2.0)), self.rank, rng)
        super().__init__(model, {"mu": mu, "rho": np.zeros(ndim), "U": U}, rng)

    def start_from_mean_field(self, mean_field, rng):
        """Set mu and d to a MeanField's mean and standard deviations and U to ``small_factor`` of them:
        where a deterministic fit starts (U = 0 would be a stationary point; docs/lowrank_advi.md section 4)."""
        self.shared_params["mu"][:] = mean_field.shared_params["mu"]
        self.shared_params["rho"][:] = mean_field.shared_params["rho"]
        self.shared_params["U"][:] = small_factor(mean_field.std_array(), self.rank, rng)

    def diagonal(self):
        """d = softplus(rho), (ndim,): the square roots of D^2."""
        return softplus(self.shared_params["rho"])

    def cov_array(self):
        """Sigma = D^2 + U U^T, (ndim, ndim)."""
        U = self.shared_params["U"]
        return np.diag(self.diagonal() ** 2) + U @ U.T

    def mean_array(self):
        return self.shared_params["mu"].copy()

    def std_array(self):
        """sqrt(Sigma_ii) = sqrt(d_i^2 + sum_k U_ik^2), (ndim,)."""
        U = self.shared_params["U"]
        return np.sqrt(self.diagonal() ** 2 + np.einsum("ik,ik->i", U, U))

    def draw(self, draws, rng):
        eps = rng.standard_normal((draws, self.ndim + self.rank))
        return lowrank_points(self.shared_params["mu"], self.diagonal(), self.shared_params["U"], eps)

    def entropy(self):
        """H[q] = sum_i log d_i + log det K / 2 + ndim (1 + log 2 pi) / 2."""
        d = self.diagonal()
        _, chol = _woodbury(d, self.shared_params["U"])
        return float(np.sum(np.log(d)) + np.sum(np.log(np.diag(chol)))) + self.ndim * HALF_LOG_2PI_E

    def logq(self, theta):
        """log q(theta) for theta (D, ndim) -> (D,).

        With v = theta - mu and a = v / d: ``v^T Sigma^-1 v = |a|^2 - b^T K^-1 b``, ``b = W^T a`` (Woodbury), and
        log det Sigma = 2 sum log d + log det K.
        """
        d = self.diagonal()
        W, chol = _woodbury(d, self.shared_params["U"])
        a = (np.atleast_2d(theta) - self.shared_params["mu"]) / d
        c = np.linalg.solve(chol, (a @ W).T)  # L^-1 b, K = L L^T, so b^T K^-1 b = |L^-1 b|^2
        quad = np.sum(a * a, axis=1) - np.sum(c * c, axis=0)
        half_log_det = np.sum(np.log(d)) + np.sum(np.log(np.diag(chol)))
        return -0.5 * quad - half_log_det - 0.5 * self.ndim * math.log(2 * math.pi)

    def param_slice(self, name, where, values=None):
        if name == "U":  # the rows of U belong to the variable at those positions of theta
            values = self.shared_params[name] if values is None else values
            return values[where]
        return super().param_slice(name, where, values)


def small_factor(scale, rank, rng):
    """U's start, (ndim, rank): INIT_SCALE * scale_i * N(0, 1) entries, small beside D but not 0, and with
    distinct random columns (equal columns would move alike and stay equal)."""
    return INIT_SCALE * scale[:, None] * rng.standard_normal((scale.size, rank))


def _woodbury(d, U):
    """W = D^-1 U (ndim, rank) and the lower Cholesky factor of K = I + W^T W (rank, rank)."""
    W = U / d[:, None]
    return W, np.linalg.cholesky(np.eye(U.shape[1]) + W.T @ W)


def lowrank_points(mu, d, U, eps):
    """theta_s = mu + d * z1_s + U z2_s for eps (S, ndim + rank) = [z1, z2]: a new (S, ndim) array."""
    ndim = mu.size
    return mu + d * eps[:, :ndim] + eps[:, ndim:] @ U.T


def loss_and_gradients(mu, d, U, eps, logp, dlogp, stl=False):
    """Negative ELBO over the draws and its gradient with respect to m, d and U.

    Parameters
    ----------
    mu, d : (ndim,)
        Mean and diagonal scale (d > 0).
    U : (ndim, rank)
    eps : (S, ndim + rank)
        The draws [z1, z2] at which theta_s = mu + d * z1_s + U z2_s was evaluated.
    logp : (S,), dlogp : (S, ndim)
        The model's log-density and gradient g_s at theta_s.
    stl : bool
        Sticking the landing: use g_s + Sigma^-1 (theta_s - mu) (the path derivative of log p - log q) and
        drop the entropy's gradient (Roeder et al. 2017).

    Returns
    -------
    loss : float
        -(1/S) sum_s log p(theta_s) - H[q].
    g_mu : (ndim,), g_d : (ndim,), g_U : (ndim, rank)
        d loss / d mu, d loss / d d, d loss / d U.
    """
    draws, ndim = dlogp.shape
    z1, z2 = eps[:, :ndim], eps[:, ndim:]
    W, chol = _woodbury(d, U)
    K_inv = np.linalg.solve(chol.T, np.linalg.solve(chol, np.eye(chol.shape[0])))
    entropy = np.sum(np.log(d)) + np.sum(np.log(np.diag(chol))) + ndim * HALF_LOG_2PI_E
    loss = -float(np.mean(logp)) - float(entropy)
    g = dlogp
    if stl:
        # -grad_theta log q = Sigma^-1 v, v = theta - mu = d z1 + U z2; with a = v / d^2 (Woodbury):
        # Sigma^-1 v = a - D^-2 U K^-1 U^T a
        a = (d * z1 + z2 @ U.T) / (d * d)
        g = g + a - ((a @ U) @ K_inv) @ U.T / (d * d)
    # d theta/d mu = I, d theta_i/d d_i = z1_i, d theta_i/d U_ik = z2_k
    g_mu = -g.sum(axis=0) / draws
    g_d = -(g * z1).sum(axis=0) / draws
    g_U = -(g.T @ z2) / draws
    if not stl:
        # dH/dSigma = Sigma^-1 / 2, so dH/dU = Sigma^-1 U = D^-2 U K^-1 = D^-1 W K^-1 and
        # dH/dd_i = Sigma^-1_ii d_i = (1 - (W K^-1 W^T)_ii) / d_i
        WK = W @ K_inv
        g_d -= (1.0 - np.einsum("ik,ik->i", WK, W)) / d
        g_U -= WK / d[:, None]
    return loss, g_mu, g_d, g_U


# -- deterministic ADVI (nbvi.variational.deterministic): the loss over fixed draws, in the parameters L-BFGS moves


def draw_width(approx):
    """Columns of the standard normal noise one draw of ``approx`` takes: ndim + rank for LowRank ([z1, z2]),
    else ndim."""
    return approx.ndim + approx.rank if isinstance(approx, LowRank) else approx.ndim


class LowRankObjective:
    """The sample-average loss L of a LowRank approximation over fixed draws [z1_j, z2_j] (M, ndim + rank),
    in x = [m, log d, U row-major]; the counterpart of
    :class:`~nbvi.variational.deterministic.DeterministicObjective`, with the same methods.

    theta_j = m + d * z1_j + U z2_j and, through K = I + W^T W, W = D^-1 U (:func:`loss_and_gradients`):

        L = -(1/M) sum_j log p(theta_j) - sum_i log d_i - log det K / 2 - ndim (1 + log 2 pi) / 2
        dL/dm = -(1/M) sum_j g_j,     dL/dU = -(1/M) sum_j g_j z2_j^T - D^-1 W K^-1,
        dL/d log d_i = -(1/M) sum_j g_ji z1_ji d_i - (1 - (W K^-1 W^T)_ii)

    Parameters
    ----------
    approx : LowRank
    logp_dlogp : callable, theta (D, ndim) -> (logp (D,), grad (D, ndim))
    draws : (M, ndim + rank)
    """

    fullrank, lowrank = False, True

    def __init__(self, approx, logp_dlogp, draws):
        self.approx, self.logp_dlogp, self.draws = approx, logp_dlogp, draws
        self.infeasible = 1e10  # raised above every finite L evaluated (see loss_grad)
        self.ndim, self.rank = approx.ndim, approx.rank
        self.diagonal = np.arange(self.ndim * (1 + self.rank)) < self.ndim  # the log d entries of x[ndim:]

    def split(self, x):
        """(m (ndim,), d (ndim,), U (ndim, rank)) of x."""
        ndim = self.ndim
        return x[:ndim], np.exp(x[ndim:2 * ndim]), x[2 * ndim:].reshape(ndim, self.rank)

    def x_from_approx(self):
        """x of the approximation's current parameters."""
        params = self.approx.shared_params
        return np.concatenate([params["mu"], np.log(self.approx.diagonal()), params["U"].ravel()])

    def write(self, x):
        """Set the approximation's parameters (in place) to those of x."""
        m, d, U = self.split(x)
        params = self.approx.shared_params
        params["mu"][:] = m
        params["rho"][:] = softplus_inverse(d)
        params["U"][:] = U

    def points(self, x):
        """theta_j = m + d * z1_j + U z2_j, (M, ndim)."""
        return lowrank_points(*self.split(x), self.draws)

    def loss_grad(self, x):
        """(L(x), dL/dx). Where L or its gradient is not finite (log p at some draw, d overflowing or 0),
        ``self.infeasible``, a value far above any L met so far, with a zero gradient: L-BFGS's line search
        then steps back."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            m, d, U = self.split(x)
            logp, g = self.logp_dlogp(np.ascontiguousarray(self.points(x)))
            try:
                loss, g_m, g_d, g_U = loss_and_gradients(m, d, U, self.draws, logp, g)
            except np.linalg.LinAlgError:  # K not positive definite: d underflowed to 0
                return self.infeasible, np.zeros_like(x)
            grad = np.concatenate([g_m, g_d * d, g_U.ravel()])  # d d_i / d log d_i = d_i
        if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
            return self.infeasible, np.zeros_like(x)
        self.infeasible = max(self.infeasible, 2.0 * abs(loss) + 1e10)
        return loss, grad

    def stationary(self, x, grad):
        """Whether ``grad`` is zero in the units of q (as ``DeterministicObjective.stationary``): each mean's
        entry times that coordinate's standard deviation under q, each log d entry as it is, each U_ik entry
        times the standard deviation of coordinate i, at most ``deterministic.STATIONARY``."""
        from nbvi.variational.deterministic import STATIONARY  # (deterministic imports this module)

        _, d, U = self.split(x)
        sd = np.sqrt(d * d + np.einsum("ik,ik->i", U, U))
        in_units = np.concatenate([sd, np.ones(self.ndim), np.repeat(sd, self.rank)])
        return bool(np.all(np.abs(grad) * in_units <= STATIONARY))


def lowrank_theta(params, eps, theta):
    """theta_s = mu + softplus(rho) * z1_s + U z2_s into theta (S, ndim), for params [mu, rho, U] and
    eps (S, ndim + rank) = [z1, z2]."""
    ndim = theta.shape[1]
    d = np.empty(ndim)
    meanfield_sigma(params, d, np.empty(ndim))  # d = softplus(rho), as the loss computes it
    theta[:] = lowrank_points(params[:ndim], d, params[2 * ndim:].reshape(ndim, -1), eps)


def lowrank_loss_grad(params, eps, logp, dlogp, stl, grad):
    """Negative ELBO and its gradient with respect to [mu, rho, U], written into ``grad``.

    Parameters
    ----------
    params : (ndim (2 + rank),) mu, rho, then U row-major
    eps : (S, ndim + rank) the noise [z1, z2] of this step
    logp : (S,), dlogp : (S, ndim) the model's log-density and gradient at theta_s
    stl : bool, use the sticking-the-landing estimator
    grad : (ndim (2 + rank),) output
    """
    ndim = dlogp.shape[1]
    d, dd_drho = np.empty(ndim), np.empty(ndim)
    meanfield_sigma(params, d, dd_drho)  # d = softplus(rho), d d / d rho = sigmoid(rho)
    U = params[2 * ndim:].reshape(ndim, -1)
    loss, g_mu, g_d, g_U = loss_and_gradients(params[:ndim], d, U, eps, logp, dlogp, stl)
    grad[:ndim] = g_mu
    grad[ndim:2 * ndim] = g_d * dd_drho
    grad[2 * ndim:] = g_U.ravel()
    return loss


def lowrank_step(logp_dlogp, params, eps, theta, grad, stl=False):
    """One low-rank ADVI gradient: draws theta, asks the model, returns the loss; gradient in ``grad``."""
    lowrank_theta(params, eps, theta)
    logp, dlogp = logp_dlogp(theta)
    return lowrank_loss_grad(params, eps, logp, dlogp, stl, grad)
