"""Single-path Pathfinder: Gaussians along an L-BFGS path, the one with the best ELBO kept.

Zhang, Carpenter, Gelman & Vehtari (2022), "Pathfinder: Parallel quasi-Newton variational inference", JMLR 23(306),
Algorithms 1, 3 and 4. Derivations in docs/pathfinder.md.

1. L-BFGS on f = -log p from the start (history size J), recording each iterate x_l and g_l = grad log p(x_l).
2. At each iterate, the L-BFGS estimate of the inverse Hessian of f from the last J pairs that pass the curvature
   condition, s_k = x_{k+1} - x_k, y_k = g_k - g_{k+1} (the change of grad f), kept when s^T y > eps |y|^2:

       H_l = diag(alpha) + beta gamma beta^T,     beta (ndim, 2m),  gamma (2m, 2m),  m <= J pairs

   (:func:`update_diagonal`, :func:`inverse_hessian_factors`).
3. The Gaussian q_l = N(mu_l, H_l) with mu_l = x_l + H_l g_l, one Newton step from x_l.
4. ELBO_l = mean_k [log p(theta_k) - log q_l(theta_k)] over K draws theta_k ~ q_l, all in one ``logp_dlogp`` call;
   the q_l with the largest ELBO is returned (non-finite log p at any draw makes ELBO_l = -inf).

Draws and log q use the factored form of Algorithm 4: with the thin QR  diag(alpha)^{-1/2} beta = Q R  and the
Cholesky factor  I + R gamma R^T = C C^T,

    H = diag(alpha)^{1/2} (I - Q Q^T + Q C C^T Q^T) diag(alpha)^{1/2},

so theta = mu + diag(alpha)^{1/2} (u + Q (C - I) Q^T u), u ~ N(0, I_ndim), is a draw, and
log det H = sum_i log alpha_i + 2 sum_j log C_jj. Nothing of size ndim x ndim is formed (except by ``cov()``).
"""
import math
import sys
import warnings
from typing import NamedTuple

import numpy as np

from nbvi import arguments
from nbvi.model import modelcontext
from nbvi.optimize import check_start, maximise, refuse_minibatches
from nbvi.variational.approximations import HALF_LOG_2PI_E, Approximation
from nbvi.variational.inference import METHODS, Inference, _start_flat, seeded_approximation

__all__ = ["GaussianFactors", "LBFGSHistory", "PathfinderApproximation", "PathfinderInference",
           "gaussian_factors", "inverse_hessian_factors", "update_diagonal"]

MAX_ITERATIONS = 1_000  # L-BFGS iterations of a fit without n (Stan's default)
HISTORY_SIZE = 6  # J, the (s, y) pairs of L-BFGS and of the inverse-Hessian estimate (the paper's default)
ELBO_DRAWS = 5  # K, draws per ELBO estimate (the paper's default)
JITTER = 2.0  # the start's uniform jitter in unconstrained space (pymc-extras' default)
CURVATURE = np.finfo(np.float64).eps  # a pair is kept when s^T y > CURVATURE |y|^2
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# -- Algorithm 3: the L-BFGS inverse Hessian ---------------------------------------------------------------------
def update_diagonal(alpha, s, y):
    """The diagonal of the inverse-Hessian estimate after the pair (s, y) (Algorithm 3 of the paper).

    With a = y^T diag(alpha) y, b = y^T s, c = s^T diag(alpha)^{-1} s: the Hessian's diagonal B = 1 / alpha is
    first scaled by a / b (Oren-Luenberger), then updated by BFGS, B+ = B - B s s^T B / s^T B s + y y^T / b, of
    which only the diagonal is kept (Gilbert & Lemarechal 1989):

        1 / alpha+_i = a / (b alpha_i) + y_i^2 / b - a s_i^2 / (b c alpha_i^2).

    Parameters
    ----------
    alpha : ndarray, shape (ndim,)
        Positive.
    s, y : ndarray, shape (ndim,)
        s = x_{k+1} - x_k, y = grad f(x_{k+1}) - grad f(x_k), with s^T y > 0.

    Returns
    -------
    ndarray, shape (ndim,)
    """
    a = y @ (alpha * y)
    b = y @ s
    c = s @ (s / alpha)
    return 1.0 / (a / (b * alpha) + y * y / b - a * s * s / (b * c * alpha * alpha))


def inverse_hessian_factors(alpha, S, Y):
    """The compact form of the BFGS inverse Hessian built from diag(alpha) by the pairs (Byrd, Nocedal &
    Schnabel 1994, eq. 3.13; Algorithm 3 of the paper):

        H = diag(alpha) + beta gamma beta^T,   beta = [diag(alpha) Y, S],
        gamma = [[0, -R^{-1}], [-R^{-T}, R^{-T} (D + Y^T diag(alpha) Y) R^{-1}]],

    R = the upper triangle of S^T Y (R_ij = s_i^T y_j, i <= j), D = diag(s_i^T y_i). H equals the m BFGS updates
    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T, rho = 1 / s^T y, applied to diag(alpha) oldest pair first.

    Parameters
    ----------
    alpha : ndarray, shape (ndim,)
    S, Y : ndarray, shape (ndim, m)
        The kept pairs as columns, oldest first; m may be 0.

    Returns
    -------
    beta : ndarray, shape (ndim, 2m)
    gamma : ndarray, shape (2m, 2m)
    """
    m = S.shape[1]
    StY = S.T @ Y
    R_inv = np.linalg.inv(np.triu(StY)) if m else np.zeros((0, 0))
    alpha_Y = alpha[:, None] * Y
    middle = np.diag(np.diag(StY)) + Y.T @ alpha_Y  # D + Y^T diag(alpha) Y
    gamma = np.zeros((2 * m, 2 * m))
    gamma[:m, m:] = -R_inv
    gamma[m:, :m] = -R_inv.T
    gamma[m:, m:] = R_inv.T @ middle @ R_inv
    return np.hstack([alpha_Y, S]), gamma


class LBFGSHistory:
    """The state of Algorithm 3 along a path: the last iterate and gradient, the diagonal alpha (updated by every
    kept pair) and the last J kept pairs.

    Parameters
    ----------
    x, g : ndarray, shape (ndim,)
        The start and grad log p there.
    history_size : int
        J.
    """

    def __init__(self, x, g, history_size):
        self.x, self.g = np.array(x, dtype=np.float64), np.array(g, dtype=np.float64)
        self.history_size = history_size
        self.alpha = np.ones(self.x.size)
        self.pairs = []  # [(s, y)], oldest first, at most history_size
        self.rejected = 0  # pairs that failed the curvature condition

    def append(self, x, g):
        """Move to the next iterate x (ndim,) with grad log p = g; keep its pair if s^T y > eps |y|^2."""
        s = x - self.x
        y = self.g - g  # grad f(x_new) - grad f(x_old), f = -log p
        if s @ y > CURVATURE * (y @ y):
            self.alpha = update_diagonal(self.alpha, s, y)
            self.pairs = (self.pairs + [(s, y)])[-self.history_size:]
        else:
            self.rejected += 1
        self.x, self.g = np.array(x, dtype=np.float64), np.array(g, dtype=np.float64)

    def factors(self):
        """(alpha (ndim,), beta (ndim, 2m), gamma (2m, 2m)) of the inverse Hessian at the current iterate."""
        S = np.column_stack([s for s, _ in self.pairs]) if self.pairs else np.zeros((self.x.size, 0))
        Y = np.column_stack([y for _, y in self.pairs]) if self.pairs else np.zeros((self.x.size, 0))
        return (self.alpha.copy(),) + inverse_hessian_factors(self.alpha, S, Y)


# -- Algorithm 4: the Gaussian at an iterate ---------------------------------------------------------------------
class GaussianFactors(NamedTuple):
    """q = N(mu, H) with H = diag(alpha)^{1/2} (I - Q Q^T + Q C C^T Q^T) diag(alpha)^{1/2}.

    Attributes
    ----------
    mu : ndarray, shape (ndim,)
    alpha : ndarray, shape (ndim,)
    Q : ndarray, shape (ndim, r)
        Orthonormal columns, r = min(2m, ndim).
    C : ndarray, shape (r, r)
        Lower triangular, C C^T = I + R gamma R^T.
    half_log_det : float
        log det H / 2 = sum_i log alpha_i / 2 + sum_j log C_jj.
    """

    mu: np.ndarray
    alpha: np.ndarray
    Q: np.ndarray
    C: np.ndarray
    half_log_det: float


def gaussian_factors(x, g, alpha, beta, gamma):
    """The Gaussian of an iterate: mean x + H g and the factors of H = diag(alpha) + beta gamma beta^T.

    Parameters
    ----------
    x, g : ndarray, shape (ndim,)
        The iterate and grad log p there.
    alpha, beta, gamma
        As :func:`inverse_hessian_factors` (alpha (ndim,), beta (ndim, 2m), gamma (2m, 2m)).

    Returns
    -------
    GaussianFactors, or None when I + R gamma R^T is not positive definite (H is not, through round-off).
    """
    mu = x + alpha * g + beta @ (gamma @ (beta.T @ g))  # x + H g
    Q, R = np.linalg.qr(beta / np.sqrt(alpha)[:, None])  # diag(alpha)^{-1/2} beta = Q R, Q (ndim, r)
    try:
        C = np.linalg.cholesky(np.eye(Q.shape[1]) + R @ gamma @ R.T)
    except np.linalg.LinAlgError:
        return None
    half_log_det = 0.5 * float(np.sum(np.log(alpha))) + float(np.sum(np.log(np.diag(C))))
    if not (np.all(np.isfinite(mu)) and math.isfinite(half_log_det)):
        return None
    return GaussianFactors(mu, alpha, Q, C, half_log_det)


def draw_from(factors, u):
    """theta = mu + diag(alpha)^{1/2} (u + Q (C - I) Q^T u) for u (D, ndim) ~ N(0, I): draws of N(mu, H), (D, ndim).

    (I - Q Q^T + Q C Q^T) is a square root of I - Q Q^T + Q C C^T Q^T, since Q^T Q = I.
    """
    mu, alpha, Q, C, _ = factors
    projected = u @ Q  # rows: Q^T u
    return mu + np.sqrt(alpha) * (u + (projected @ (C - np.eye(C.shape[0])).T) @ Q.T)


def log_density(factors, theta):
    """log N(theta | mu, H) for theta (D, ndim) -> (D,).

    Inverting the map of :func:`draw_from`: w = diag(alpha)^{-1/2} (theta - mu), then
    |u|^2 = |w|^2 - |Q^T w|^2 + |C^{-1} Q^T w|^2 and log q = -|u|^2 / 2 - log det H / 2 - ndim log(2 pi) / 2.
    """
    mu, alpha, Q, C, half_log_det = factors
    w = (np.atleast_2d(theta) - mu) / np.sqrt(alpha)
    projected = w @ Q  # rows: Q^T w
    back = np.linalg.solve(C, projected.T) if C.size else projected.T  # C^{-1} Q^T w, columns
    squared = np.sum(w * w, axis=1) - np.sum(projected * projected, axis=1) + np.sum(back * back, axis=0)
    return -0.5 * squared - half_log_det - mu.size * HALF_LOG_2PI


def elbo(logp_dlogp, factors, u):
    """ELBO estimate mean_k [log p(theta_k) - log q(theta_k)] at the draws theta_k of u (K, ndim), one call of
    ``logp_dlogp``; -inf when log p is not finite at some draw."""
    theta = draw_from(factors, u)
    logp, _ = logp_dlogp(theta)
    logq = -0.5 * np.sum(u * u, axis=1) - factors.half_log_det - u.shape[1] * HALF_LOG_2PI  # q at its own draws
    value = float(np.mean(logp - logq))
    return value if math.isfinite(value) else -math.inf


# -- the approximation and the Inference shell -------------------------------------------------------------------
class PathfinderApproximation(Approximation):
    """q = N(mu, H), H = diag(alpha) + beta gamma beta^T the L-BFGS inverse Hessian at the selected iterate, kept in
    the factored form of Algorithm 4 (O(ndim J) numbers; ``cov()`` forms the dense (ndim, ndim) matrix on demand).

    ``shared_params``: ``mu`` (ndim,) and ``alpha`` (ndim,); ``Q`` (ndim, r) and ``C`` (r, r) are attributes.
    Before a fit q = N(start, I). After one: ``iteration`` is the selected iterate (1 = after the first L-BFGS
    iteration; 0 = the start, when no iteration moved), ``elbo`` its ELBO estimate, ``hist`` the negated ELBO
    estimate of q_l at each L-BFGS iteration l (+inf where it was not finite), and ``factors`` the
    (alpha, beta, gamma) of Algorithm 3 there.
    """

    def __init__(self, model, start=None, random_seed=None):
        mu = model.initial_point_flat() if start is None else np.asarray(start, dtype=np.float64)
        super().__init__(model, {"mu": mu, "alpha": np.ones(model.ndim)}, random_seed)
        self.Q, self.C = np.zeros((self.ndim, 0)), np.zeros((0, 0))
        self.iteration, self.elbo, self.factors = None, None, None

    def set_gaussian(self, gaussian):
        """Make q the Gaussian of :class:`GaussianFactors` ``gaussian``."""
        self.shared_params["mu"][:] = gaussian.mu
        self.shared_params["alpha"][:] = gaussian.alpha
        self.Q, self.C = gaussian.Q.copy(), gaussian.C.copy()

    def gaussian(self):
        """q as :class:`GaussianFactors`."""
        alpha = self.shared_params["alpha"]
        half_log_det = 0.5 * float(np.sum(np.log(alpha))) + float(np.sum(np.log(np.abs(np.diag(self.C)))))
        return GaussianFactors(self.shared_params["mu"], alpha, self.Q, self.C, half_log_det)

    def cov_array(self):
        """H = diag(alpha)^{1/2} (I + Q (C C^T - I) Q^T) diag(alpha)^{1/2}, (ndim, ndim)."""
        root = np.sqrt(self.shared_params["alpha"])
        inner = np.eye(self.ndim) + self.Q @ (self.C @ self.C.T - np.eye(self.C.shape[0])) @ self.Q.T
        return root[:, None] * inner * root[None, :]

    def mean_array(self):
        return self.shared_params["mu"].copy()

    def std_array(self):
        """``sqrt(H_ii) = sqrt(alpha_i (1 + |(Q C)_i|^2 - |Q_i|^2))``, (ndim,)."""
        QC = self.Q @ self.C
        inner = 1.0 + np.sum(QC * QC, axis=1) - np.sum(self.Q * self.Q, axis=1)
        return np.sqrt(self.shared_params["alpha"] * inner)

    def draw(self, draws, rng):
        return draw_from(self.gaussian(), rng.standard_normal((draws, self.ndim)))

    def entropy(self):
        """H[q] = log det H / 2 + ndim (1 + log 2 pi) / 2."""
        return self.gaussian().half_log_det + self.ndim * HALF_LOG_2PI_E

    def logq(self, theta):
        """log q(theta) for theta (D, ndim) -> (D,)."""
        return log_density(self.gaussian(), theta)


class PathfinderInference(Inference):
    """Single-path Pathfinder as an Inference: ``fit`` runs L-BFGS from ``start`` and keeps the Gaussian of the
    iterate with the best ELBO estimate (see the module's text and docs/pathfinder.md).

    Parameters
    ----------
    model : Model, optional
    random_seed : int, optional
        Seeds the ELBO draws and the approximation's generator.
    start : dict or array, optional
        Where the path starts (default: the model's initial point).
    """

    def __init__(self, model=None, random_seed=None, start=None):
        model = modelcontext(model)
        refuse_minibatches(model, "Pathfinder")
        self.start = _start_flat(model, start)
        super().__init__(*seeded_approximation(PathfinderApproximation, model, random_seed, self.start))
        self._path = None  # (LBFGSHistory, best ELBO so far) of the last fit, for refine

    def fit(self, n=None, callbacks=None, obj_optimizer=None, progressbar=True, total_grad_norm_constraint=None,
            maxiter=None, history_size=HISTORY_SIZE, num_elbo_draws=ELBO_DRAWS, jitter=JITTER, **kwargs):
        """Run a path from ``start`` and set q to its best Gaussian; returns the approximation.

        Parameters
        ----------
        n, maxiter : int >= 1, optional
            At most this many L-BFGS iterations (MAX_ITERATIONS when None); give one of the two.
        callbacks : list of callables ``(approx, losses, i)``
            Called after every L-BFGS iteration i with the best q so far and ``losses`` = ``hist`` so far;
            raising StopIteration ends the path there, keeping the best q so far. So does Ctrl-C.
        progressbar : bool
            The bar shows -log p at the iterates.
        history_size : int >= 1
            J, the (s, y) pairs of L-BFGS and of each inverse-Hessian estimate.
        num_elbo_draws : int >= 1
            K, the draws of each ELBO estimate.
        jitter : float >= 0
            The path starts at ``start`` plus Uniform(-jitter, jitter) in every unconstrained coordinate (as
            pymc-extras' ``jitter``): the initial point is often stationary (a prior's mode), where L-BFGS
            would not move. 0: at ``start`` itself.
        obj_optimizer, total_grad_norm_constraint
            Options of the stochastic optimizer of ADVI and SVGD, refused here (ValueError).

        Raises
        ------
        SamplingError
            The log-density is not finite at the start.
        ValueError
            No Gaussian along the path has a finite ELBO estimate.
        """
        if n is not None and maxiter is not None:
            raise ValueError(f"n and maxiter both limit the L-BFGS iterations; give one, got n={n!r} and "
                             f"maxiter={maxiter!r}")
        limit, name = (maxiter, "maxiter") if maxiter is not None else (n, "n")
        max_iterations = MAX_ITERATIONS if limit is None else arguments.integer(limit, name, minimum=1)
        history_size = arguments.integer(history_size, "history_size", minimum=1)
        num_elbo_draws = arguments.integer(num_elbo_draws, "num_elbo_draws", minimum=1)
        jitter = arguments.number(jitter, "jitter", minimum=0.0)
        callbacks = arguments.functions(callbacks, "callbacks")
        progressbar = arguments.flag(progressbar, "progressbar")
        for option, value in (("obj_optimizer", obj_optimizer),
                              ("total_grad_norm_constraint", total_grad_norm_constraint)):
            if value is not None:
                raise ValueError(f"{option} configures the stochastic optimizer of ADVI and SVGD; Pathfinder follows "
                                 f"an L-BFGS path and takes no {option}")
        self.set_options(**kwargs)
        model, approx = self.model, self.approx
        start = self.start + self.rng.uniform(-jitter, jitter, size=self.start.shape) if jitter else self.start
        check_start(model, start, "Pathfinder")
        logp, grad = model.logp_dlogp(start[None])
        path = LBFGSHistory(start, grad[0], history_size)
        approx.hist = np.empty(0)
        approx.set_gaussian(GaussianFactors(start, np.ones(model.ndim), np.zeros((model.ndim, 0)),
                                            np.zeros((0, 0)), 0.0))
        approx.iteration, approx.elbo, approx.factors = None, -math.inf, None
        self._path = (path, num_elbo_draws, callbacks)
        self._run(max_iterations, progressbar)
        if approx.iteration is None:
            self._settle_at_start(logp[0])
        return approx

    def refine(self, n, progressbar=True):
        """At most ``n`` more L-BFGS iterations from the last iterate of the path, with its pairs, diagonal,
        ELBO draws per iterate and callbacks; q becomes the best Gaussian of the whole path."""
        n = arguments.integer(n, "n", minimum=1)
        progressbar = arguments.flag(progressbar, "progressbar")
        if self._path is None:
            raise ValueError("refine() continues a previous fit(); call fit() first")
        if self.approx.iteration == 0:
            raise ValueError("refine() cannot go on: the last fit's path ended at its start, where the gradient is "
                             "~0; fit() again with jitter > 0 or another start")
        return self._run(n, progressbar)

    def _run(self, max_iterations, progressbar):
        """Extend the path by at most ``max_iterations`` L-BFGS iterations, keeping the best Gaussian in approx."""
        approx, model = self.approx, self.model
        path, draws, callbacks = self._path
        last = {}  # the last evaluation of the objective: scipy's iterate is the last point it evaluated

        def recorded(theta):
            logp, grad = model.logp_dlogp(theta)
            last.update(x=theta[0].copy(), grad=grad[0].copy())
            return logp, grad

        def on_iteration(x, losses):
            if "x" in last and np.array_equal(last["x"], x):
                g = last["grad"]
            else:
                g = model.logp_dlogp(np.ascontiguousarray(x)[None])[1][0]
            path.append(x, g)
            self._consider(path, len(approx.hist) + 1, draws)
            try:
                for callback in callbacks:
                    callback(approx, approx.hist.copy(), len(approx.hist))
            except StopIteration as stop:
                if str(stop):
                    print(str(stop), file=sys.stderr)
                return True
            return False

        maximise(recorded, path.x, max_iterations=max_iterations, on_iteration=on_iteration,
                 progressbar=progressbar, label="Pathfinder", history_size=path.history_size)
        if approx.iteration is not None and not math.isfinite(approx.elbo):
            raise ValueError(f"Pathfinder: no Gaussian along the path of {len(approx.hist)} L-BFGS iterations has a "
                             f"finite ELBO estimate (log p is not finite at some of its draws, or the inverse-Hessian "
                             f"estimate is not positive definite); try another start, or check the model")
        return approx

    def _consider(self, path, iteration, draws):
        """Form q at the path's current iterate, estimate its ELBO, append -ELBO to hist and keep q if best."""
        approx = self.approx
        factors = path.factors()
        gaussian = gaussian_factors(path.x, path.g, *factors)
        value = -math.inf
        if gaussian is not None:
            value = elbo(self.model.logp_dlogp, gaussian, self.rng.standard_normal((draws, self.model.ndim)))
        approx.hist = np.append(approx.hist, -value)
        if approx.iteration is None or value > approx.elbo:
            approx.iteration, approx.elbo = iteration, value
            if gaussian is not None:
                approx.set_gaussian(gaussian)
                approx.factors = factors

    def _settle_at_start(self, logp):
        """No L-BFGS iteration moved (the start is stationary): q = N(start, I), with a warning."""
        self.approx.iteration = 0
        warnings.warn(f"Pathfinder: L-BFGS ended at the start (log p = {float(logp):.6g}, its gradient ~0), so no "
                      f"curvature was learned and q = N(start, I); give another start", UserWarning, stacklevel=3)


METHODS["pathfinder"] = PathfinderInference  # nbvi.fit(method="pathfinder")
