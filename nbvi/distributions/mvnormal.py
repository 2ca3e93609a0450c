"""MvNormal(mu, cov | chol | tau): the multivariate normal over the last axis (K coordinates).

With r = x - mu, Sigma = cov = L L^T (L lower triangular, its Cholesky factor) and alpha = Sigma^-1 r:

    log p(x | mu, Sigma) = -r^T alpha / 2 - sum_i log L_ii - K log(2 pi) / 2

    d/dx     = -alpha
    d/dmu    = alpha
    d/dSigma = (alpha alpha^T - Sigma^-1) / 2                             (symmetric)
    d/dL     = tril(alpha u^T) - diag(1 / L_ii),  u = L^-1 r             (given chol = L; upper part unused)
    d/dTau   = (Tau^-1 - r r^T) / 2                                       (given the precision Tau = Sigma^-1)

A covariance or precision is used through its symmetric part (M + M^T) / 2, so the density is defined
for every square matrix and the symmetric gradients above are its exact partial derivatives (a finite
difference of one entry moves the matrix off the symmetric ones). A matrix that is not positive definite
gives logp = -inf. Plain batched NumPy: the matrices are small and few.
"""
import math

import numpy as np

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.layout import core_lifted, sum_to

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _transpose(a):
    return np.swapaxes(a, -1, -2)


def _diagonal(a):
    return np.diagonal(a, axis1=-2, axis2=-1)


def cholesky(matrices):
    """Lower Cholesky factors of a stack of symmetric matrices (..., K, K) and a mask of the positive
    definite ones (...); a failed factor is replaced by the identity (its density is -inf anyway)."""
    k = matrices.shape[-1]
    try:
        factor = np.linalg.cholesky(matrices)
        ok = np.all(np.isfinite(factor), axis=(-2, -1))
    except np.linalg.LinAlgError:  # some matrix is not positive definite: factor them one by one
        flat = matrices.reshape(-1, k, k)
        factor = np.empty_like(flat)
        ok = np.ones(flat.shape[0], dtype=bool)
        for i, m in enumerate(flat):
            try:
                factor[i] = np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                ok[i] = False
        factor, ok = factor.reshape(matrices.shape), ok.reshape(matrices.shape[:-2])
        ok &= np.all(np.isfinite(factor), axis=(-2, -1))
    return np.where(ok[..., None, None], factor, np.eye(k)), ok


class MvNormal(Distribution):
    """Multivariate normal distribution with mean ``mu`` and one of ``cov``, ``chol`` or ``tau``.

    Parameters
    ----------
    mu : array or node (..., K)
    cov : array or node (..., K, K), symmetric positive definite
    chol : array or node (..., K, K), lower triangular with a positive diagonal: cov = chol chol^T
    tau : array or node (..., K, K), symmetric positive definite precision: cov = tau^-1
    """

    params = ("mu", "cov")
    ndim_supp = 1
    ndims_params = (1, 2)
    support = "real"

    def __init__(self, mu, cov=None, chol=None, tau=None):
        given = {k: v for k, v in (("cov", cov), ("chol", chol), ("tau", tau)) if v is not None}
        if len(given) != 1:
            raise ValueError(f"{self.describe()}: give exactly one of cov, chol and tau")
        (self.kind, matrix), = given.items()
        self.params = ("mu", self.kind)
        self.set_params(mu=mu, **{self.kind: matrix})
        m = self.param_nodes[self.kind]
        if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
            raise ValueError(f"{self.describe()}: {self.kind} must be a square matrix (..., K, K), got shape {m.shape}")
        mu_node = self.param_nodes["mu"]
        if mu_node.ndim and mu_node.shape[-1] not in (1, m.shape[-1]):
            raise ValueError(
                f"{self.describe()}: mu has {mu_node.shape[-1]} coordinates but {self.kind} is {m.shape[-2:]}"
            )

    def event_shape(self):
        return self.param_nodes[self.kind].shape[-1:]

    def check(self, mu, **matrix):
        m = matrix[self.kind]
        if self.kind == "chol":
            require(np.triu(m, 1) == 0, f"chol must be lower triangular, got {m}")
            require(_diagonal(m) > 0, f"chol must have a positive diagonal, got {m}")
            return
        require(np.allclose(m, _transpose(m)), f"{self.kind} must be symmetric, got {m}")
        _, ok = cholesky(m)
        require(ok, f"{self.kind} must be positive definite, got {m}")

    def factor(self, **matrix):
        """The lower Cholesky factor of the covariance."""
        m = matrix[self.kind]
        if self.kind == "chol":
            return np.tril(m)
        if self.kind == "tau":
            return np.linalg.cholesky(np.linalg.inv(m))
        return np.linalg.cholesky(m)

    def moment(self, mu, **matrix):
        return mu

    def sample(self, rng, size, mu, **matrix):
        z = rng.standard_normal(tuple(size))
        return mu + (self.factor(**matrix) @ z[..., None])[..., 0]  # x = mu + L z, z ~ N(0, I)

    def logp_elementwise(self, value, mu, **matrix):
        """log p of each event: value (S, *batch, K), mu (S_i, ..., K), the matrix (S_i, ..., K, K);
        returns (S, *batch)."""
        values = [np.asarray(v, dtype=np.float64) for v in (value, mu, matrix[self.kind])]
        (x, mu, m), _ = core_lifted(values, (1, 1, 2))
        k = m.shape[-1]
        if self.kind == "chol":
            lower = np.tril(m)
            ok = np.all(_diagonal(lower) > 0, axis=-1)
            lower = np.where(ok[..., None, None], lower, np.eye(k))
        else:  # of the covariance, or of the precision Tau = L L^T
            lower, ok = cholesky(0.5 * (m + _transpose(m)))
        r = x - mu
        log_diag = np.sum(np.log(_diagonal(lower)), axis=-1)
        if self.kind == "tau":  # r^T Tau r = |L^T r|^2 and log det Sigma = -2 sum log L_ii
            u = (_transpose(lower) @ r[..., None])[..., 0]
            lp = -0.5 * np.sum(u * u, axis=-1) + log_diag - k * HALF_LOG_2PI
        else:
            u = np.linalg.solve(lower, r[..., None])[..., 0]  # L^-1 r
            lp = -0.5 * np.sum(u * u, axis=-1) - log_diag - k * HALF_LOG_2PI
        return np.broadcast_to(np.where(ok, lp, -np.inf), lp.shape).copy()

    def logp_partials(self, values, needs):
        (x, mu, m), _ = core_lifted(values, (1, 1, 2))
        k = m.shape[-1]
        r = x - mu  # (D, *B, K)
        if self.kind == "chol":
            lower = np.tril(m)
            ok = np.all(_diagonal(lower) > 0, axis=-1)
            lower = np.where(ok[..., None, None], lower, np.eye(k))
        else:
            lower, ok = cholesky(0.5 * (m + _transpose(m)))
        inv_lower = np.linalg.inv(lower)
        log_diag = np.sum(np.log(_diagonal(lower)), axis=-1)  # log det(M) / 2
        grad_m = None
        if self.kind == "tau":
            alpha = (0.5 * (m + _transpose(m)) @ r[..., None])[..., 0]  # Tau r
            lp = -0.5 * np.sum(r * alpha, axis=-1) + log_diag - k * HALF_LOG_2PI
            if needs[2]:  # d/dTau = (Tau^-1 - r r^T) / 2
                grad_m = 0.5 * (_transpose(inv_lower) @ inv_lower - r[..., :, None] * r[..., None, :])
        else:
            u = (inv_lower @ r[..., None])[..., 0]  # u = L^-1 r
            alpha = (_transpose(inv_lower) @ u[..., None])[..., 0]  # alpha = L^-T u = Sigma^-1 r
            lp = -0.5 * np.sum(u * u, axis=-1) - log_diag - k * HALF_LOG_2PI
            if needs[2] and self.kind == "cov":  # d/dSigma = (alpha alpha^T - Sigma^-1) / 2
                grad_m = 0.5 * (alpha[..., :, None] * alpha[..., None, :] - _transpose(inv_lower) @ inv_lower)
            elif needs[2]:  # d/dL = tril(alpha u^T) - diag(1 / L_ii)
                grad_m = np.tril(alpha[..., :, None] * u[..., None, :]) - np.eye(k) / _diagonal(lower)[..., None, :]
        lp = np.where(ok, lp, -np.inf)
        draws = lp.shape[0]
        logp = lp.reshape(draws, -1).sum(axis=1)
        mask = ok[..., None]
        grads = [-alpha * mask if needs[0] else None, alpha * mask if needs[1] else None,
                 grad_m * mask[..., None] if grad_m is not None else None]
        lifted = (x, mu, m)
        return logp, [
            sum_to(np.broadcast_to(g, (draws,) + g.shape[1:]), v, orig.shape) if g is not None else None
            for g, v, orig in zip(grads, lifted, values)
        ]
