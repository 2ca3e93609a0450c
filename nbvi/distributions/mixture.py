"""NormalMixture(w, mu, sigma): a mixture of K Gaussians with weights w along the last axis.

    log p(x | w, mu, sigma) = logsumexp_k (log w_k + log N(x | mu_k, sigma_k))

With the responsibilities r_k = w_k N(x | mu_k, sigma_k) / p(x) and z_k = (x - mu_k) / sigma_k:

    d/dx       = -sum_k r_k z_k / sigma_k
    d/dw_k     = N(x | mu_k, sigma_k) / p(x)        (= r_k / w_k, finite when w_k = 0)
    d/dmu_k    = r_k z_k / sigma_k
    d/dsigma_k = r_k (z_k^2 - 1) / sigma_k

The weights, means and scales carry a core axis of K components (``ndims_params = (1, 1, 1)``; one of
length 1 broadcasts over the components); the value is one number per element. The benchmark model is a
single scalar x evaluated at 1 point (ADVI) or 1000 (SVGD), so that case is one numba call with no
array reshaping around it.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, made_with_dist, require, resolve_sigma
from nbvi.distributions.layout import core_columns, core_lifted, from_core_columns

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, inline="always")
def mixture_constants(w, iw, sigma, i_sigma, log_c, inv_sigma):
    """Per-component constants of the parameter rows w[iw], sigma[i_sigma] (K or 1 entries; 1 broadcasts):
    log_c_k = log w_k - log sigma_k - log(2 pi) / 2 and 1 / sigma_k. False when w_k < 0 or sigma_k <= 0."""
    for k in range(log_c.shape[0]):
        wk = w[iw, min(k, w.shape[1] - 1)]
        sk = sigma[i_sigma, min(k, sigma.shape[1] - 1)]
        if not (wk >= 0.0 and sk > 0.0):
            return False
        log_c[k] = (math.log(wk) if wk > 0.0 else -np.inf) - math.log(sk) - HALF_LOG_2PI
        inv_sigma[k] = 1.0 / sk
    return True


@njit(cache=True, inline="always")
def normal_mixture_logp_grad(x, w, iw, mu, i_mu, log_c, inv_sigma, d_w, d_mu, d_sigma, partials):
    """log sum_k w_k N(x | mu_k, sigma_k) and d/dx, for the parameter rows w[iw], mu[i_mu] and the constants
    from ``mixture_constants``. With ``partials``, writes d/dw_k, d/dmu_k, d/dsigma_k into the rows d_w,
    d_mu, d_sigma (d_mu doubles as scratch for the terms a_k)."""
    n_comp = log_c.shape[0]
    m = -np.inf
    for k in range(n_comp):
        z = (x - mu[i_mu, min(k, mu.shape[1] - 1)]) * inv_sigma[k]
        d_mu[k] = log_c[k] - 0.5 * z * z  # a_k = log w_k + log N(x | mu_k, sigma_k)
        m = max(m, d_mu[k])
    if m == -np.inf:
        return -np.inf, 0.0
    total = 0.0
    for k in range(n_comp):
        d_mu[k] = math.exp(d_mu[k] - m)
        total += d_mu[k]
    logp = m + math.log(total)  # logsumexp_k a_k
    inv_total = 1.0 / total
    d_x = 0.0
    for k in range(n_comp):
        r = d_mu[k] * inv_total  # responsibility r_k = w_k N_k / p(x)
        z = (x - mu[i_mu, min(k, mu.shape[1] - 1)]) * inv_sigma[k]
        d_x -= r * z * inv_sigma[k]  # d/dx = -sum_k r_k z_k / sigma_k
        if partials:
            wk = w[iw, min(k, w.shape[1] - 1)]
            if wk > 0.0:
                d_w[k] = r / wk  # d/dw_k = N_k / p(x) = r_k / w_k
            else:
                d_w[k] = math.exp(-0.5 * z * z + math.log(inv_sigma[k]) - HALF_LOG_2PI - logp)
            d_mu[k] = r * z * inv_sigma[k]  # d/dmu_k = r_k z_k / sigma_k
            d_sigma[k] = r * (z * z - 1.0) * inv_sigma[k]  # d/dsigma_k = r_k (z_k^2 - 1) / sigma_k
    return logp, d_x


@njit(cache=True)
def normal_mixture_kernel(x, w, n_w, mu, n_mu, sigma, n_sigma, logp, g_x, g_w, g_mu, g_sigma):
    """Elementwise kernel. x (D_x, n_x); each parameter as rows (D_i n_i, K_i) with n_i in {1, n} and
    K_i in {1, K}: draw d, element j is row min(d, D_i - 1) n_i + min(j, n_i - 1). Gradients are laid out
    alike with D draws: g_x (D, n_x), g_w (D n_w, K_w)... Adds into logp (D,) and the gradients (zeros on
    entry); a gradient with no rows is not wanted and left alone.
    """
    n = max(x.shape[1], n_w, n_mu, n_sigma)
    n_comp = max(w.shape[1], mu.shape[1], sigma.shape[1])
    log_c = np.empty(n_comp)
    inv_sigma = np.empty(n_comp)
    d_w = np.empty(n_comp)
    d_mu = np.empty(n_comp)
    d_sigma = np.empty(n_comp)
    partials = g_w.shape[0] > 0 or g_mu.shape[0] > 0 or g_sigma.shape[0] > 0
    last_w, last_sigma, ok = -1, -1, True
    for d in range(logp.shape[0]):
        dx_ = min(d, x.shape[0] - 1)
        base_w = min(d, w.shape[0] // n_w - 1) * n_w
        base_mu = min(d, mu.shape[0] // n_mu - 1) * n_mu
        base_sigma = min(d, sigma.shape[0] // n_sigma - 1) * n_sigma
        for j in range(n):
            jx, jw, j_mu, j_sigma = min(j, x.shape[1] - 1), min(j, n_w - 1), min(j, n_mu - 1), min(j, n_sigma - 1)
            iw, i_sigma = base_w + jw, base_sigma + j_sigma
            if iw != last_w or i_sigma != last_sigma:  # the constants change only with the w or sigma row
                ok = mixture_constants(w, iw, sigma, i_sigma, log_c, inv_sigma)
                last_w, last_sigma = iw, i_sigma
            if not ok:
                logp[d] = -np.inf
                continue
            lp, dx = normal_mixture_logp_grad(x[dx_, jx], w, iw, mu, base_mu + j_mu, log_c, inv_sigma,
                                              d_w, d_mu, d_sigma, partials)
            logp[d] += lp
            if lp == -np.inf:
                continue
            if g_x.shape[0] > 0:
                g_x[d, jx] += dx
            if partials:
                for k in range(n_comp):
                    if g_w.shape[0] > 0:
                        g_w[d * n_w + jw, min(k, g_w.shape[1] - 1)] += d_w[k]
                    if g_mu.shape[0] > 0:
                        g_mu[d * n_mu + j_mu, min(k, g_mu.shape[1] - 1)] += d_mu[k]
                    if g_sigma.shape[0] > 0:
                        g_sigma[d * n_sigma + j_sigma, min(k, g_sigma.shape[1] - 1)] += d_sigma[k]


@njit(cache=True)
def normal_mixture_scalar_kernel(x, w, mu, sigma, logp, g_x, g_w, g_mu, g_sigma):
    """One scalar per draw: x (D_x,), parameters (D_i, K_i). Fills logp (D,) and g_x (D,) (shape (0,):
    not wanted) and adds into g_w, g_mu, g_sigma (D, K_i) (shape (0, 0): not wanted)."""
    column = np.empty((x.shape[0], 1))
    column[:, 0] = x
    logp[:] = 0.0
    g_column = np.zeros((logp.shape[0] if g_x.shape[0] > 0 else 0, 1))
    normal_mixture_kernel(column, w, 1, mu, 1, sigma, 1, logp, g_column, g_w, g_mu, g_sigma)
    if g_x.shape[0] > 0:
        g_x[:] = g_column[:, 0]


# Stand-ins for gradients that are not wanted (the kernels skip an output with no rows).
NO_GRAD_1 = np.zeros(0)
NO_GRAD_2 = np.zeros((0, 0))


def _components_aligned(param, rank):
    """A batched parameter (S_i, *s_i, K_i) with its element axes lifted to ``rank`` (the value's rank)."""
    return param.reshape(param.shape[:1] + (1,) * (rank + 2 - param.ndim) + param.shape[1:])


def _components(node):
    return node.shape[-1] if node.ndim else 1


class NormalMixture(Distribution):
    """Mixture of K normal distributions.

    Parameters
    ----------
    w : array or node (..., K)
        Mixture weights, >= 0, summing to 1 along the last axis.
    mu : array or node (..., K)
        Component means.
    sigma : array or node (..., K), > 0
        Component standard deviations (alias ``sd``), or give the precisions ``tau``.
    """

    params = ("w", "mu", "sigma")
    ndims_params = (1, 1, 1)
    support = "real"

    def __init__(self, w, mu, sigma=None, sd=None, tau=None):
        self.set_params(w=w, mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()))
        counts = {k: _components(n) for k, n in self.param_nodes.items()}
        self.n_components = max(counts.values())
        if any(c not in (1, self.n_components) for c in counts.values()):
            raise ValueError(
                f"{self.describe()}: w, mu and sigma must have the same number of components along their last "
                f"axis, got " + ", ".join(f"{k} {self.param_nodes[k].shape}" for k in self.params)
            )

    def check(self, w, mu, sigma):
        require(w >= 0, f"w must be >= 0, got {w}")
        require(np.isclose(np.sum(w, axis=-1), 1.0), f"w must sum to 1 along the last axis, got sums {np.sum(w, axis=-1)}")
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def moment(self, w, mu, sigma):
        return np.sum(np.atleast_1d(w) * np.atleast_1d(mu), axis=-1)  # the mixture mean sum_k w_k mu_k

    def sample(self, rng, size, w, mu, sigma):
        size = tuple(size)
        core = size + (self.n_components,)
        w, mu, sigma = (np.broadcast_to(np.atleast_1d(v), core) for v in (w, mu, sigma))
        u = rng.random(size + (1,))
        cdf = np.cumsum(w, axis=-1) / np.sum(w, axis=-1, keepdims=True)
        comp = np.minimum((cdf < u).sum(axis=-1), self.n_components - 1)[..., None]  # inverse CDF
        loc = np.take_along_axis(mu, comp, axis=-1)[..., 0]
        scale = np.take_along_axis(sigma, comp, axis=-1)[..., 0]
        return loc + scale * rng.standard_normal(size)

    def logp_elementwise(self, value, w, mu, sigma):
        """log p of each element: value (S, *shape), parameters (S_i, *s_i, K_i); returns (S, *shape)."""
        from scipy.special import logsumexp

        x = np.asarray(value, dtype=np.float64)
        rank = x.ndim - 1
        w, mu, sigma = (_components_aligned(np.asarray(v, dtype=np.float64), rank) for v in (w, mu, sigma))
        valid = np.all(w >= 0, axis=-1) & np.all(sigma > 0, axis=-1)
        sigma = np.where(sigma > 0, sigma, 1.0)
        z = (x[..., None] - mu) / sigma
        with np.errstate(divide="ignore"):
            terms = np.log(w) - 0.5 * z * z - np.log(sigma) - HALF_LOG_2PI
        return np.where(valid, logsumexp(terms, axis=-1), -np.inf)

    def logp_partials(self, values, needs):
        x, w, mu, sigma = values
        if x.ndim == 1 and w.ndim == 2 and mu.ndim == 2 and sigma.ndim == 2:
            # one scalar per draw, parameters (D_i, K_i): already the kernel's layout, one numba call
            draws = max(x.shape[0], w.shape[0], mu.shape[0], sigma.shape[0])
            logp = np.empty(draws)
            g_x = np.empty(draws) if needs[0] else NO_GRAD_1
            if needs[1] or needs[2] or needs[3]:
                grads = [np.zeros((draws, v.shape[1])) if need else NO_GRAD_2 for v, need in zip(values[1:], needs[1:])]
                normal_mixture_scalar_kernel(x, w, mu, sigma, logp, g_x, *grads)
                return logp, [g_x if needs[0] else None] + [g if need else None for g, need in zip(grads, needs[1:])]
            normal_mixture_scalar_kernel(x, w, mu, sigma, logp, g_x, NO_GRAD_2, NO_GRAD_2, NO_GRAD_2)
            return logp, [g_x if needs[0] else None, None, None, None]
        lifted, shape = core_lifted(values, (0, 1, 1, 1))
        n = int(np.prod(shape, dtype=np.int64))
        x_cols, *params = [core_columns(v.astype(np.float64, copy=False), shape, n) for v in lifted]
        draws = max(c.shape[0] for c in [x_cols, *params])
        logp = np.zeros(draws)
        g_x = np.zeros((draws, x_cols.shape[1])) if needs[0] else NO_GRAD_2
        grads = [np.zeros((draws,) + c.shape[1:]) if need else None for c, need in zip(params, needs[1:])]
        args = []
        for c in params:  # each parameter as rows (D_i n_i, K_i), and n_i
            args += [c.reshape(-1, c.shape[2]), c.shape[1]]
        normal_mixture_kernel(x_cols, *args, logp, g_x,
                              *[NO_GRAD_2 if g is None else g.reshape(-1, g.shape[2]) for g in grads])
        return logp, [
            from_core_columns(g, v, orig.shape, shape) if need else None
            for g, v, orig, need in zip([g_x, *grads], lifted, values, needs)
        ]


class Mixture(Distribution):
    """A mixture of scalar families, as ``pm.Mixture(name, w, comp_dists)``.

    log p(x | w, components) = logsumexp_k (log w_k + log p_k(x))

    The term is a graph expression: each component's log-density of each element
    (:class:`~nbvi.distributions.pointwise.PointwiseLogp`), the log weights added, a logsumexp over the
    component axis; the compiled tape runs it, and the gradient is those ops' VJPs: with the
    responsibilities r_k = w_k p_k(x) / p(x), d/dw_k = r_k / w_k and d/dtheta_k = r_k d log p_k / d theta_k.

    Parameters
    ----------
    w : array or node (..., K)
        Mixture weights along the last axis, >= 0, summing to 1; leading axes give weights per element
        (e.g. (N, K) for N observations).
    comp_dists : list of K distributions, or one distribution
        Scalar families made with ``.dist(...)`` (e.g. ``[nbvi.Normal.dist(0, 1), nbvi.StudentT.dist(3, 0,
        5)]``), or one whose last axis is the K components (``nbvi.Poisson.dist(mu=[1.0, 10.0])``); its
        parameters (..., K) broadcast with ``w``, and the variable's shape is the broadcast batch shape (...).

    Notes
    -----
    A free mixture takes its components' transform (they must agree, or give ``transform=``); a mixture
    with a discrete component is observed only.
    """

    def __init__(self, w, comp_dists):
        single = isinstance(comp_dists, Distribution)
        components = [comp_dists] if single else comp_dists
        if not isinstance(components, (list, tuple)) or not components:
            raise TypeError(f"{self.describe()}: comp_dists must be a distribution made with .dist(...) or a "
                            f"non-empty list of them, got {type(comp_dists).__name__}")
        for k, comp in enumerate(components):
            made_with_dist(comp, f"{self.describe()}: comp_dists[{k}]")
            if comp.family is None:
                raise TypeError(f"{self.describe()}: comp_dists[{k}] is {type(comp).__name__}; the components must "
                                f"be scalar families (Normal, Poisson, StudentT, ...)")
        self.single = single
        self.components = list(components)
        self.discrete = any(c.discrete for c in components)
        self.observed_only = any(c.observed_only for c in components)
        self.support = components[0].support
        names = {"w": w}
        self.component_params = []  # per component: (its parameter names, the mixture's names for them)
        for k, comp in enumerate(components):
            prefix = "comp_" if single else f"comp{k}_"
            own = [prefix + p for p in comp.params]
            self.component_params.append((comp.params, own))
            names.update(zip(own, comp.param_nodes.values()))
        self.params = tuple(names)
        # the weights and a single component's parameters carry the component axis; a list's do not
        self.ndims_params = (1,) + (1 if single else 0,) * (len(names) - 1)
        self.set_params(**names)
        n_w = self.param_nodes["w"].shape[-1] if self.param_nodes["w"].ndim else 1
        n_comp = components[0].shape[-1] if single and components[0].shape else len(components)
        if n_w != n_comp:
            raise ValueError(f"{self.describe()}: w has {n_w} weights along its last axis but there are {n_comp} "
                             f"components")
        self.n_components = n_comp

    def _component_values(self, values, k):
        """The parameter values of component ``k`` by its own names, from the mixture's ``values``."""
        own, mine = self.component_params[k]
        return {p: values[m] for p, m in zip(own, mine)}

    def check(self, w, **params):
        require(np.asarray(w) >= 0, f"w must be >= 0, got {w}")
        require(np.isclose(np.sum(w, axis=-1), 1.0), f"w must sum to 1 along the last axis, got sums {np.sum(w, axis=-1)}")

    def in_support(self, value):
        value = np.asarray(value)
        if self.single:  # the value against the component axis (..., K); a family without a rule: all inside
            inside = self.components[0].in_support(value[..., None])
            if inside is None:
                return None
            return np.any(np.broadcast_to(inside, value.shape + (self.n_components,)), axis=-1)
        inside = [c.in_support(value) for c in self.components]
        inside = [np.ones(value.shape, dtype=bool) if i is None else np.asarray(i) for i in inside]
        return np.any(np.stack([np.broadcast_to(i, value.shape) for i in inside]), axis=0)

    def support_rule(self):
        return self.components[0].support_rule()

    def default_transform(self):
        transforms = [c.default_transform() for c in self.components]
        first = transforms[0]
        if any(type(t) is not type(first) or repr(t) != repr(first) for t in transforms[1:]):
            raise TypeError(f"{self.describe()}: the components have different supports ({transforms}); give the "
                            f"mixture's transform= yourself")
        return first

    def moment(self, w, **params):
        w = np.asarray(w, dtype=np.float64)
        if self.single:
            means = np.asarray(self.components[0].moment(**self._component_values(params, 0)), dtype=np.float64)
        else:
            means = np.stack([np.broadcast_to(np.asarray(c.moment(**self._component_values(params, k)),
                                                         dtype=np.float64), self.shape)
                              for k, c in enumerate(self.components)], axis=-1)
        mean = np.sum(w * means, axis=-1)  # sum_k w_k moment_k
        return np.floor(mean).astype(np.int64) if self.discrete else mean

    def sample(self, rng, size, w, **params):
        size = tuple(size)
        k = self.n_components
        w = np.broadcast_to(np.asarray(w, dtype=np.float64), size + (k,))
        cdf = np.cumsum(w, axis=-1) / np.sum(w, axis=-1, keepdims=True)
        chosen = np.minimum((cdf < rng.random(size + (1,))).sum(axis=-1), k - 1)[..., None]  # inverse CDF
        if self.single:
            draws = np.asarray(self.components[0].sample(rng, size + (k,), **self._component_values(params, 0)))
        else:
            draws = np.stack([np.broadcast_to(c.sample(rng, size, **self._component_values(params, j)), size)
                              for j, c in enumerate(self.components)], axis=-1)
        return np.take_along_axis(draws, chosen, axis=-1)[..., 0]

    def _component_logps(self, value):
        """Node (..., K): each component's log-density of each element of ``value``."""
        from nbvi.distributions.pointwise import pointwise_logp
        from nbvi.graph import ops

        if self.single:
            return pointwise_logp(self.components[0], ops.reshape(value, tuple(value.shape) + (1,)))
        return ops.stack([pointwise_logp(c, value) for c in self.components], axis=-1)

    def logp_terms(self, value, scale=None):
        """One potential: logsumexp_k(log w_k + log p_k(x)) summed over the elements."""
        from nbvi.graph import ops
        from nbvi.potential import PotentialTerm

        comps = self._component_logps(value)
        each = ops.logsumexp(ops.log(self.param_nodes["w"]) + comps, axis=-1)
        if tuple(each.shape) != tuple(value.shape):  # (parameters of a larger shape than the value)
            raise ValueError(f"{self.describe()}: the components' parameters broadcast to {each.shape}, larger than "
                             f"the value's shape {value.shape}")
        if scale is not None:
            each = each * scale(tuple(value.shape))
        return [PotentialTerm()(each)]

    def logp_elementwise(self, value, w, **params):
        """log p of each element: value (S, *shape), parameters batched; returns (S, *shape)."""
        from scipy.special import logsumexp

        x = np.asarray(value, dtype=np.float64)
        rank = x.ndim - 1
        w = _components_aligned(np.asarray(w, dtype=np.float64), rank)
        if self.single:
            comp_params = {p: _components_aligned(np.asarray(v, dtype=np.float64), rank)
                           for p, v in self._component_values(params, 0).items()}
            comps = self.components[0].logp_elementwise(x[..., None], **comp_params)
        else:
            comps = np.stack([c.logp_elementwise(x, **self._component_values(params, k))
                              for k, c in enumerate(self.components)], axis=-1)
        with np.errstate(divide="ignore"):
            return logsumexp(np.log(w) + comps, axis=-1)
