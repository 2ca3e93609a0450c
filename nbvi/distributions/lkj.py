"""LKJCorr and LKJCholeskyCov: the LKJ(eta) prior on correlation matrices, built from graph expressions.

A correlation matrix C = L L^T (n x n) is kept as m = n(n-1)/2 unconstrained reals z, one per entry below
the diagonal of its Cholesky factor L (row by row), through Stan's construction: the canonical partial
correlations c = tanh(z) fill each row of L as a stick of unit length,

    L[i, j] = c_ij sqrt(s_ij)  (j < i),    L[i, i] = sqrt(s_ii),    s_ij = prod_{k<j} (1 - c_ik^2).

Within a row L[i, j] depends on c_ik for k <= j only, so the Jacobian of z -> L is triangular:

    log |det dL/dz| = sum_{i>j} [ log(s_ij) / 2 + log(1 - c_ij^2) ].

Stan's LKJ density of the Cholesky factor (rows i from 0),

    log p(L) = log c_n(eta) + sum_{i=1}^{n-1} (n - i - 1 + 2 eta - 2) log L_ii,

plus that log-Jacobian is a sum of one term per coordinate (the powers of each 1 - c_ik^2 add up to b_k):

    log p(z) = sum_{i>j} [ b_j log(1 - c_ij^2) - (2 b_j - 1) log 2 - log B(b_j, b_j) ],
    b_j = eta + (n - 2 - j) / 2,

the log-density of c ~ Beta(b_j, b_j) stretched onto (-1, 1), with the Jacobian of tanh. Its constants
add up to LKJ's normalising constant log c_n(eta) (Lewandowski, Kurowicka & Joe 2009, eq. 16). The partial
correlations are independent (LKJ's vine method), which is how ``sample`` draws them. The free variable is
z (untransformed), so the compiled tape runs all of it with the ops it has (tanh, logaddexp, cumsum, exp,
gammaln, indexing, dot); the gradients are theirs. docs/distributions.md has the derivation.
"""
import math

import numpy as np

from nbvi import arguments
from nbvi.distributions.distribution import Distribution, made_with_dist, require
from nbvi.graph import ops
from nbvi.graph.node import Node
from nbvi.potential import PotentialTerm
from nbvi.transforms import Interval, LogOddsTransform, LogTransform, LowerBound

LOG2 = math.log(2.0)


def _dimension(n, what):
    n = arguments.integer(n, f"{what}: n")
    if n < 2:
        raise ValueError(f"{what}: n must be >= 2 (a correlation matrix of one variable is the number 1), got {n}")
    return n


def _below_diagonal(n):
    """Per entry of an n x n matrix, the index of its coordinate (entries below the diagonal, row by row),
    and m = n(n-1)/2 elsewhere (the slot of a padding 0)."""
    index = np.full((n, n), n * (n - 1) // 2, dtype=np.int64)
    index[np.tril_indices(n, -1)] = np.arange(n * (n - 1) // 2)
    return index


def _log1m_tanh2(z):
    """log(1 - tanh(z)^2) = -2 log cosh z = 2 log 2 - 2 logaddexp(z, -z): no cancellation for large |z|."""
    return 2.0 * LOG2 - 2.0 * ops.logaddexp(z, -z)


def cholesky_corr(z, n):
    """The Cholesky factor L (n, n) of a correlation matrix, as a graph expression of its coordinates z (m,).

    With c = tanh(z) laid below the diagonal (row by row) and w = log(1 - c^2) likewise (0 elsewhere), the
    stick left before column j of row i is exp(sum_{k<j} w_ik / 2): an exclusive cumulative sum along the
    row. L = (c + I) * that stick; above the diagonal c = 0.
    """
    index = _below_diagonal(n)
    pad = np.zeros(1)
    cpc = ops.concatenate([ops.tanh(z), pad])[index] + np.eye(n)
    log_w = ops.concatenate([_log1m_tanh2(z), pad])[index]
    stick = ops.cumsum(log_w, axis=-1) - log_w  # sum_{k<j} log(1 - c_ik^2)
    return cpc * ops.exp(0.5 * stick)


def correlation(chol_corr, n):
    """L L^T with its diagonal set to exactly 1 (the rows of L have unit length up to rounding)."""
    return ops.where(np.eye(n, dtype=bool), 1.0, ops.dot(chol_corr, chol_corr.T))


def expand_packed_triangular(n, packed, lower=True):
    """The n x n triangular matrix whose entries, row by row, are ``packed`` (n(n+1)/2,), as PyMC's
    ``pm.expand_packed_triangular``; ``lower=False`` gives its transpose (the upper triangle)."""
    n = arguments.integer(n, "expand_packed_triangular: n", minimum=1)
    packed = ops.reshape(packed, (-1,)) if isinstance(packed, Node) else np.asarray(packed, dtype=np.float64)
    if packed.shape != (n * (n + 1) // 2,):
        raise ValueError(f"expand_packed_triangular: a packed triangle of a {n} x {n} matrix has "
                         f"{n * (n + 1) // 2} entries, got shape {packed.shape}")
    index = np.full((n, n), n * (n + 1) // 2, dtype=np.int64)
    index[np.tril_indices(n)] = np.arange(n * (n + 1) // 2)
    matrix = ops.concatenate([packed, np.zeros(1)])[index]
    return matrix if lower else matrix.T


class LKJCorrCoordinates(Distribution):
    """The m = n(n-1)/2 unconstrained coordinates z of an LKJ(eta) correlation matrix (see the module).

    The free variable behind :func:`LKJCorr` and :func:`LKJCholeskyCov`; :func:`cholesky_corr` maps it to
    the Cholesky factor. Real support, no transform; the initial point z = 0 is the identity matrix.

    Parameters
    ----------
    eta : float or scalar node, > 0
    n : int >= 2
    """

    params = ("eta",)
    ndim_supp = 1
    ndims_params = (0,)
    support = "real"

    def __init__(self, eta, n):
        self.n = _dimension(n, self.describe())
        self.set_params(eta=eta)
        if self.param_nodes["eta"].shape != ():
            raise ValueError(f"{self.describe()}: eta must be a scalar, got shape {self.param_nodes['eta'].shape}")
        _rows, cols = np.tril_indices(self.n, -1)
        self.offsets = (self.n - 2 - cols) / 2.0  # b = eta + offset, per coordinate (its column j)

    def event_shape(self):
        return (self.n * (self.n - 1) // 2,)

    def check(self, eta):
        require(eta > 0, f"eta must be > 0, got {eta}")

    def moment(self, eta):
        return np.zeros(self.event_shape())

    def sample(self, rng, size, eta):
        """LKJ's vine method: independent partial correlations c ~ 2 Beta(b, b) - 1, z = arctanh(c)."""
        b = np.asarray(eta, dtype=np.float64)[..., None] + self.offsets
        c = 2.0 * rng.beta(b, b, size=tuple(size)) - 1.0
        edge = np.nextafter(1.0, 0.0)  # (a draw of exactly +-1 would give an infinite z)
        return np.arctanh(np.clip(c, -edge, edge))

    def logp_terms(self, value, scale=None):
        """One potential: sum over coordinates of b log(1 - c^2) - (2b - 1) log 2 - log B(b, b)."""
        b = self.param_nodes["eta"] + self.offsets
        per_coordinate = (b * _log1m_tanh2(value) - (2.0 * b - 1.0) * LOG2
                          - 2.0 * ops.gammaln(b) + ops.gammaln(2.0 * b))
        if scale is not None:
            per_coordinate = per_coordinate * scale(tuple(value.shape))
        return [PotentialTerm()(per_coordinate)]

    def logp_elementwise(self, value, eta):
        """log p of each draw's coordinates: value (S, m), eta (S_i,) or (S_i, 1); returns (S,)."""
        z = np.asarray(value, dtype=np.float64)
        b = np.asarray(eta, dtype=np.float64).reshape(-1, 1) + self.offsets
        log_w = 2.0 * LOG2 - 2.0 * np.logaddexp(z, -z)
        from scipy.special import gammaln  # (scipy.special is imported on first use: import nbvi stays fast)

        terms = b * log_w - (2.0 * b - 1.0) * LOG2 - 2.0 * gammaln(b) + gammaln(2.0 * b)
        return terms.sum(axis=-1)


def _names_are_free(model, names):
    for name in names:
        model._check_name(name)


def _coordinates_name(name):
    return f"{name}_cholesky_corr__"


def LKJCorr(name, n, eta, *, return_matrix=False, model=None):
    """An LKJ(eta) prior on an n x n correlation matrix, as PyMC v5's ``pm.LKJCorr(name, n, eta)``.

    Parameters
    ----------
    name : str
        The packed correlations (the upper triangle, row by row: ``C[np.triu_indices(n, 1)]``) are the
        Deterministic ``name`` in traces.
    n : int >= 2
        The dimension.
    eta : float or scalar node, > 0
        1 is uniform over correlation matrices; larger values concentrate on the identity.
    return_matrix : bool
        Return the n x n correlation matrix (a node, not stored) instead of the packed correlations.
    model : Model, optional
        By default the model of the innermost ``with`` block.

    Returns
    -------
    Node
        The packed correlations ``(n(n-1)/2,)``, or the matrix ``(n, n)``.

    Notes
    -----
    The free variable is ``{name}_cholesky_corr__``: the n(n-1)/2 unconstrained coordinates z (reals) of
    the correlation matrix's Cholesky factor (:class:`LKJCorrCoordinates`). Each correlation has the
    marginal Beta(eta - 1 + n/2, eta - 1 + n/2) on (r + 1)/2.
    """
    from nbvi.model import Deterministic, Model, modelcontext

    if not isinstance(name, str):
        raise TypeError(f"LKJCorr takes the variable's name first, e.g. LKJCorr('corr', n=3, eta=2), got {name!r}")
    model = Model.get_context(f"LKJCorr variable '{name}'") if model is None else modelcontext(model)
    n = _dimension(n, f"LKJCorr variable '{name}'")
    return_matrix = arguments.flag(return_matrix, f"LKJCorr variable '{name}': return_matrix")
    _names_are_free(model, [name, _coordinates_name(name)])
    z = LKJCorrCoordinates(_coordinates_name(name), eta=eta, n=n, model=model)
    corr = correlation(cholesky_corr(z, n), n)
    packed = Deterministic(name, corr[np.triu_indices(n, 1)], model=model)
    return corr if return_matrix else packed


def _positive_support(dist):
    transform = dist.default_transform()
    if isinstance(transform, (LogTransform, LogOddsTransform)):
        return True
    return isinstance(transform, (Interval, LowerBound)) and bool(np.all(transform.lower >= 0))


def _stds_distribution(sd_dist, n, name, what):
    """``sd_dist`` (a positive scalar family made with ``.dist``, scalar or of shape (n,)) as a distribution
    of shape (n,) named ``name``: a copy, so the caller's object stays as it was."""
    made_with_dist(sd_dist, f"{what}: sd_dist", example="nbvi.Exponential.dist(1.0, shape=n)")
    if sd_dist.family is None or sd_dist.discrete:
        raise TypeError(f"{what}: sd_dist must be a continuous scalar family (Exponential, HalfNormal, ...), got "
                        f"{type(sd_dist).__name__}")
    if tuple(sd_dist.shape) not in ((), (n,)):
        raise ValueError(f"{what}: sd_dist must be a scalar or have shape ({n},), got shape {sd_dist.shape}")
    if not _positive_support(sd_dist):
        raise ValueError(f"{what}: sd_dist must have a positive support (standard deviations), got "
                         f"{type(sd_dist).__name__} with support {sd_dist.support}")
    dist = object.__new__(type(sd_dist))  # (a copy: Distribution.__new__ would register a variable)
    dist.__dict__.update(sd_dist.__dict__, name=name, _layouts={})
    dist._finish((n,))
    return dist


def LKJCholeskyCov(name, eta, n, sd_dist, *, compute_corr=True, store_in_trace=True, model=None):
    """A covariance matrix with LKJ(eta) correlations and standard deviations from ``sd_dist``, as PyMC v5's
    ``pm.LKJCholeskyCov(name, eta, n, sd_dist)``.

    Parameters
    ----------
    name : str
        The packed Cholesky factor of the covariance (its lower triangle row by row,
        ``chol[np.tril_indices(n)]``) is the Deterministic ``name`` in traces.
    eta : float or scalar node, > 0
    n : int >= 2
    sd_dist : Distribution
        A positive scalar family made with ``.dist(...)``, scalar or of shape ``(n,)``, e.g.
        ``nbvi.Exponential.dist(1.0, shape=n)``: the standard deviations, the free variable
        ``{name}_stds`` (with the family's transform, e.g. log).
    compute_corr : bool
        Return ``(chol, corr, stds)``; else only the packed Cholesky factor.
    store_in_trace : bool
        With ``compute_corr``: the correlation matrix is the Deterministic ``{name}_corr``.
    model : Model, optional
        By default the model of the innermost ``with`` block.

    Returns
    -------
    (chol, corr, stds) or packed_chol
        ``chol`` (n, n) lower triangular with ``chol chol^T`` the covariance (for ``MvNormal(chol=chol)``),
        ``corr`` (n, n), ``stds`` (n,); ``packed_chol`` (n(n+1)/2,).

    Notes
    -----
    The free variables are ``{name}_cholesky_corr__`` (the correlation's coordinates, see :func:`LKJCorr`)
    and ``{name}_stds``; ``chol = diag(stds) L``. The prior density is LKJ's on the correlation matrix
    times ``sd_dist``'s on the standard deviations, as in PyMC. The standard deviations are in traces
    whatever ``store_in_trace`` says: they are a free variable.
    """
    from nbvi.model import Deterministic, Model, modelcontext

    if not isinstance(name, str):
        raise TypeError(f"LKJCholeskyCov takes the variable's name first, e.g. LKJCholeskyCov('chol', eta=2, n=3, "
                        f"sd_dist=...), got {name!r}")
    what = f"LKJCholeskyCov variable '{name}'"
    model = Model.get_context(what) if model is None else modelcontext(model)
    n = _dimension(n, what)
    compute_corr = arguments.flag(compute_corr, f"{what}: compute_corr")
    store_in_trace = arguments.flag(store_in_trace, f"{what}: store_in_trace")
    stds_dist = _stds_distribution(sd_dist, n, f"{name}_stds", what)
    names = [name, _coordinates_name(name), f"{name}_stds"] + ([f"{name}_corr"] if compute_corr and store_in_trace else [])
    _names_are_free(model, names)
    z = LKJCorrCoordinates(_coordinates_name(name), eta=eta, n=n, model=model)
    stds = model.register_rv(f"{name}_stds", stds_dist)
    chol_corr = cholesky_corr(z, n)
    chol = ops.reshape(stds, (n, 1)) * chol_corr
    packed = Deterministic(name, chol[np.tril_indices(n)], model=model)
    if not compute_corr:
        return packed
    corr = correlation(chol_corr, n)
    if store_in_trace:
        corr = Deterministic(f"{name}_corr", corr, model=model)
    return chol, corr, stds


__all__ = ["LKJCholeskyCov", "LKJCorr", "expand_packed_triangular"]
