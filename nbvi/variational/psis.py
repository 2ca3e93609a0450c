"""Pareto smoothed importance sampling (PSIS): how good is a variational approximation q?

Draw theta_s ~ q, s = 1..S, and weigh each by the importance ratio r_s = p(theta_s, y) / q(theta_s). When
q is close to the posterior the ratios are nearly equal; when q misses mass the posterior has, a few ratios
are huge. The right tail of the ratios is fitted with a generalized Pareto distribution (GPD); its shape k
says how heavy that tail is, and so whether q can be trusted (Yao, Vehtari, Simpson and Gelman 2018, "Yes,
but did it work?: Evaluating variational inference"):

* k-hat < 0.5: q is close to the posterior; importance-weighted estimates are reliable;
* 0.5 <= k-hat <= 0.7: usable with care (importance sampling corrects q, with slower convergence);
* k-hat > 0.7: q is not reliable as an approximation of the posterior, and importance sampling cannot
  correct it (the weights have too heavy a tail for any practical number of draws).

The fit and the smoothing follow Vehtari, Simpson, Gelman, Yao and Gabry (2024), "Pareto smoothed
importance sampling", JMLR 25(72); the GPD fit is the empirical Bayes estimate of Zhang and Stephens (2009),
"A new and efficient estimation method for the generalized Pareto distribution", Technometrics 51(3).
"""
import math
import warnings
from typing import NamedTuple

import numpy as np

from nbvi import arguments
from nbvi.variational.approximations import Approximation, Empirical, MeanField

RELIABLE_KHAT = 0.7  # above it q is not reliable and importance sampling cannot correct it
PRIOR_K, PRIOR_N = 0.5, 10  # the weakly informative prior on k: as 10 pseudo-observations of k = 0.5
MIN_DRAWS = 25  # so the tail holds at least 5 draws, the fewest the GPD fit is made for


class PSISWarning(UserWarning):
    """Pareto k-hat above 0.7: q is not reliable as an approximation of the posterior."""


class PSISResult(NamedTuple):
    """What ``psis_diagnostic`` returns.

    Attributes
    ----------
    khat : float
        Pareto shape of the importance ratios' right tail. Below 0.5 good, 0.5 to 0.7 usable with care,
        above 0.7 q is not reliable. ``-inf`` when the largest ratios are all equal (a bounded tail), NaN
        when too many of them tie for the fit.
    log_weights : ndarray, shape (S,)
        Pareto-smoothed log importance weights of the S draws, normalised (their exponentials sum to 1).
    ess : float
        Effective sample size of those weights, 1 / sum_s w_s^2 (between 1 and S).
    """

    khat: float
    log_weights: np.ndarray
    ess: float


def logsumexp(x):
    """log sum_i exp(x_i) for a 1-d array, shifted by its maximum so nothing overflows (numpy only: scipy.special
    costs a fifth of a second of ``import nbvi``)."""
    top = np.max(x)
    return float(top + np.log(np.sum(np.exp(x - top))))


def gpd_fit(x):
    """Fit a generalized Pareto distribution with location 0 to exceedances ``x``.

    Zhang and Stephens' (2009) empirical Bayes estimate: with b = -k / sigma, the profile log-likelihood
    of b is n (log(-b / k(b)) - k(b) - 1), where k(b) = mean log(1 - b x). Average b over a grid of m =
    30 + floor(sqrt(n)) points weighted by that likelihood, then k = k(b_post) and sigma = -k / b_post.
    Finally k is pulled toward 0.5 by a weakly informative prior worth 10 observations,
    k <- (n k + 10 * 0.5) / (n + 10) (Vehtari et al. 2024, appendix C); sigma keeps the unadjusted k.

    Parameters
    ----------
    x : ndarray, shape (n,)
        Exceedances over the threshold, sorted ascending, all >= 0; n >= 2.

    Returns
    -------
    k, sigma : float
        Shape and scale. NaN, NaN when the first quartile of ``x`` equals its minimum (ties: far from a GPD).
    """
    n = len(x)
    m = 30 + int(math.sqrt(n))
    first_quartile = x[int(n / 4 + 0.5) - 1]
    if first_quartile <= x[0]:
        return math.nan, math.nan
    j = np.arange(1, m + 1)
    b = 1.0 / x[-1] + (1.0 - np.sqrt(m / (j - 0.5))) / (3.0 * first_quartile)  # every b < 1 / max(x)
    k_of_b = np.mean(np.log1p(-b[:, None] * x[None, :]), axis=1)  # (m,)
    profile = n * (np.log(-b / k_of_b) - k_of_b - 1.0)
    weights = np.exp(profile - logsumexp(profile))
    b_post = float(np.sum(b * weights) / np.sum(weights))
    k = float(np.mean(np.log1p(-b_post * x)))
    sigma = -k / b_post
    k = (n * k + PRIOR_N * PRIOR_K) / (n + PRIOR_N)
    return k, sigma


def gpd_quantile(p, k, sigma, location):
    """Quantiles of GPD(location, sigma, k): location + sigma ((1 - p)^(-k) - 1) / k (k = 0: -sigma log(1 - p))."""
    if k == 0:
        return location - sigma * np.log1p(-p)
    return location + sigma * np.expm1(-k * np.log1p(-p)) / k


def tail_length(n_draws):
    """How many of the largest ratios the GPD is fitted to: M = floor(min(S / 5, 3 sqrt(S)))."""
    return int(math.floor(min(n_draws / 5.0, 3.0 * math.sqrt(n_draws))))


def psis_smooth(log_ratios):
    """Pareto-smooth log importance ratios.

    The M largest ratios (``tail_length``) minus the largest of the rest (the threshold u) are fitted with a
    GPD (``gpd_fit``); each is then replaced, in the same order, by the GPD quantile at (i - 1/2) / M,
    i = 1..M, plus u, and capped at the largest raw ratio (Vehtari et al. 2024, sec. 3).

    Parameters
    ----------
    log_ratios : ndarray, shape (S,)
        log p(theta_s) - log q(theta_s); -inf allowed (a ratio of 0), S >= 25.

    Returns
    -------
    log_weights : ndarray, shape (S,)
        Smoothed log weights, normalised so that their exponentials sum to 1.
    khat : float
        The fitted (prior-adjusted) shape; see ``PSISResult.khat``.
    """
    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    n_draws = len(log_ratios)
    lw = log_ratios - np.max(log_ratios)  # ratios scaled so the largest is 1
    n_tail = tail_length(n_draws)
    order = np.argsort(lw)
    tail = order[n_draws - n_tail:]
    cutoff = math.exp(lw[order[n_draws - n_tail - 1]])
    exceedances = np.exp(lw[tail]) - cutoff  # ascending
    if exceedances[-1] <= 0.0:  # the tail equals the threshold: bounded, nothing to smooth
        khat = -math.inf
    else:
        khat, sigma = gpd_fit(exceedances)
        if np.isfinite(khat):
            quantiles = gpd_quantile((np.arange(n_tail) + 0.5) / n_tail, khat, sigma, cutoff)
            lw[tail] = np.minimum(np.log(quantiles), 0.0)  # 0 = the largest raw log ratio
    return lw - logsumexp(lw), khat


def psis_diagnostic(approx, draws=1000, random_seed=None):
    """Pareto k-hat of the importance ratios p / q over draws from an approximation.

    Draws theta_s ~ q in the model's unconstrained space, takes log r_s = log p(theta_s, y) - log q(theta_s)
    (log-Jacobians of the transforms in p, so both are densities on the same space) and Pareto-smooths them
    (``psis_smooth``). Warns with :class:`PSISWarning` when k-hat > 0.7. See docs/psis.md.

    Parameters
    ----------
    approx : MeanField or FullRank
        A fitted approximation with a density ``logq``. Empirical (SVGD's particles) has none: TypeError.
    draws : int
        S, the number of draws from q; at least 25 (the tail fit needs 5 draws). Larger S estimates
        k-hat with less noise.
    random_seed : int, optional
        A fresh generator for the draws; by default the approximation's own generator.

    Returns
    -------
    PSISResult
        ``khat``, the smoothed normalised ``log_weights`` (S,) and their effective sample size ``ess``.
    """
    _check_density(approx, "psis_diagnostic")
    draws = arguments.integer(draws, "draws", minimum=MIN_DRAWS)
    rng = approx.rng if random_seed is None else np.random.default_rng(arguments.seed(random_seed))
    _, result = importance_weights(approx, draws, rng)
    warn_if_unreliable(result.khat, approx, stacklevel=2)
    return result


def importance_weights(approx, draws, rng):
    """``draws`` points from q and their Pareto-smoothed importance weights.

    Parameters
    ----------
    approx : Approximation with ``logq``
    draws : int
    rng : numpy.random.Generator

    Returns
    -------
    theta : ndarray, shape (draws, ndim)
    result : PSISResult
    """
    theta = approx.draw(draws, rng)
    logp, _ = approx.model.logp_dlogp(theta)
    log_ratios = logp - approx.logq(theta)
    if np.isnan(log_ratios).any() or np.isposinf(log_ratios).any():
        bad = int(np.sum(np.isnan(log_ratios) | np.isposinf(log_ratios)))
        raise FloatingPointError(f"log p - log q is NaN or +inf at {bad} of {draws} draws from q; "
                                 f"importance weights need a finite log-density")
    if np.isneginf(log_ratios).all():
        raise FloatingPointError(f"log p is -inf at all {draws} draws from q: q has no mass where p has")
    log_weights, khat = psis_smooth(log_ratios)
    ess = float(1.0 / np.sum(np.exp(2.0 * log_weights)))
    return theta, PSISResult(khat, log_weights, ess)


def psis_resample(approx, draws, rng):
    """``draws`` points resampled from PSIS-reweighted draws of q (what ``approx.sample(psis=True)`` returns).

    Draws S = max(4 draws, 1000) proposals from q, Pareto-smooths their importance weights and picks
    ``draws`` of them by systematic resampling: one uniform u, the points (u + i) / draws, i = 0..draws-1,
    on the cumulative weights. Each proposal is then picked floor(draws w_s) or ceil(draws w_s) times, its
    expected count, which adds the least resampling noise of the unbiased schemes (multinomial draws
    the counts at random). Having four times more proposals than picks keeps repeated picks rare when the
    weights are even. The picks are returned in random order. Warns with :class:`PSISWarning` when
    k-hat > 0.7.

    Parameters
    ----------
    approx : MeanField or FullRank
    draws : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (draws, ndim)
        Points in the unconstrained space.
    """
    _check_density(approx, "sample(psis=True)")
    theta, result = importance_weights(approx, max(4 * draws, 1000), rng)
    warn_if_unreliable(result.khat, approx, stacklevel=3)
    cumulative = np.cumsum(np.exp(result.log_weights))
    cumulative /= cumulative[-1]
    points = (rng.random() + np.arange(draws)) / draws
    picks = np.minimum(np.searchsorted(cumulative, points, side="right"), len(theta) - 1)
    return theta[rng.permutation(picks)]


def warn_if_unreliable(khat, approx=None, stacklevel=1):
    """PSISWarning when ``khat`` > 0.7 or could not be estimated (NaN); ``stacklevel`` counts from the caller.
    The advice depends on ``approx``: a mean-field q may do better as a full-rank one."""
    if khat > RELIABLE_KHAT:
        richer = "a richer approximation (fullrank_advi), " if approx is None or isinstance(approx, MeanField) else ""
        warnings.warn(f"Pareto k-hat = {khat:.2f} > {RELIABLE_KHAT}: q is not reliable as an approximation of the "
                      f"posterior; importance sampling cannot correct it. Try {richer}a longer fit or NUTS.",
                      PSISWarning, stacklevel=stacklevel + 1)
    elif math.isnan(khat):
        warnings.warn("Pareto k-hat could not be estimated: the largest importance ratios tie too often for a "
                      "tail fit; q cannot be judged by PSIS.", PSISWarning, stacklevel=stacklevel + 1)


def _check_density(approx, caller):
    """TypeError unless ``approx`` is an approximation with a density q; ValueError for a minibatch model."""
    if isinstance(approx, Empirical):
        raise TypeError(f"{caller} needs an approximation with a density q (MeanField or FullRank); an Empirical "
                        f"approximation (SVGD's particles) is a set of points without one, so importance ratios "
                        f"p / q are not defined")
    if not isinstance(approx, Approximation) or not callable(getattr(approx, "logq", None)):
        raise TypeError(f"{caller}: approx must be a MeanField or FullRank approximation (e.g. from nbvi.fit), "
                        f"got {type(approx).__name__}")
    if approx.model.minibatches():
        raise ValueError(f"{caller}: the model reads a Minibatch, so its log-density is a one-batch estimate; "
                         f"importance ratios need the full-data density (build the model on the full Data)")
