"""The No-U-Turn Sampler (NUTS), recursive, in plain NumPy: read this before nbvi/sampling/nuts.py.

This is the sampler of Stan and of ``nbvi.sample``, written as the recursion of Hoffman & Gelman (2014),
"The No-U-Turn Sampler", JMLR 15 (Alg. 3 and 6), with the changes of Betancourt (2017), "A Conceptual
Introduction to Hamiltonian Monte Carlo", arXiv:1701.02434 (App. A) that Stan 2.2x makes. The model is
seen only through ``logp_dlogp``, on the unconstrained space.

Hamiltonian, with a diagonal metric M^-1 = diag(inv_mass) that approximates the posterior variances:

    H(q, p) = -log p(q) + 1/2 p^T M^-1 p,          p ~ N(0, M)

or a dense one, M^-1 = L L^T (the Cholesky factor L of the posterior covariance, passed as ``inv_mass``
(ndim, ndim)). Then the momentum is kept whitened, p = L^T p_q ~ N(0, I) (p_q: the momentum of q): the
leapfrog step takes the gradient as L^T grad and moves q by L p, the kinetic energy is |p|^2 / 2, and the
no-U-turn products (M^-1 p_q,a) . rho_q equal p_a . rho, so the tree is built as with the unit metric.

A transition draws p, then doubles a trajectory of leapfrog steps, each time forward or backward in time
at random, until it turns back on itself. The doubling at depth j builds a subtree of 2**j steps beyond
one end of the trajectory, by building two subtrees of 2**(j-1) steps one after the other (``build_tree``).

* Multinomial sampling (Betancourt App. A.3). Every point z has the weight w(z) = exp(H0 - H(z)), and the
  draw is a point of the trajectory with probability proportional to w, chosen as the trajectory grows.
  Where two halves of a subtree merge, the second half's proposal wins with probability
  W_second / (W_first + W_second) (W: the summed weights of a tree). Where a finished subtree joins the
  trajectory, its proposal wins with probability min(1, W_subtree / W_trajectory): biased progressive
  sampling (App. A.3.2), which favours the new, far part. Hoffman & Gelman's slice variable is gone.
* The generalised no-U-turn criterion (Betancourt App. A.4.2; Betancourt 2016, arXiv:1601.00225). A tree
  with summed momentum rho keeps going while the velocities M^-1 p at both its ends point along rho.
  Whenever trees L and R (R later in time) merge, Stan >= 2.23 checks the merged tree and two spans across
  the seam: all of L with the first point of R, and the last point of L with all of R (``_no_u_turn``).
  A subtree that U-turns inside, or whose energy error H - H0 exceeds 1000 (a divergence), is discarded
  whole and ends the transition; a subtree that joined and then U-turns with the trajectory has already
  been sampled from, and ends it too.

The random numbers, and the order they are used in, are nbvi's: one N(0, I) draw for the momentum, then
uniforms taken one at a time from an iterator: the direction of each doubling (forward when > 0.5), one
per merge inside a subtree (drawn before its U-turn check), one per join (drawn even when the new
subtree outweighs the trajectory and wins outright; Stan draws none then). A uniform the transition does
not need is left for the next one.

Fed the same numbers, nbvi's ``transition`` (an iterative stack machine in numba, with the same merges in
the same order) makes the same decisions and returns the same draws, bit for bit in the tests
(tests/reference/test_nuts.py asks for 1e-10); so does ``sample`` against nbvi's chain, warm-up included.
For that, ``hamiltonian`` sums the kinetic energy term by term, in nbvi's order: a last-bit difference in
the acceptance statistic would move the adapted step size, and a chain amplifies it. What still rounds
differently cannot change a number, only a decision, and only at a tie within ~1e-16: the criterion's dot
products (``np.dot`` here, a loop in nbvi) and the energies of the step-size search (nbvi uses ``np.dot``).
Here ``transition`` evaluates ``logp_dlogp`` at its starting point once more (nbvi carries it over from
the last transition); ``n_steps`` does not count it.

``sample`` is the warm-up and sampling loop of nbvi.sampling.sample.run_chain, with Stan's adaptation
(nbvi/reference/nuts_adaptation.py). As nbvi and nutpie, and unlike Stan, it searches the step size anew
and restarts its averaging after the first metric window only (docs/nuts.md, section 6, says why).
"""
import itertools
import math
from typing import NamedTuple

import numpy as np

from nbvi.reference.nuts_adaptation import (
    dual_average_init,
    dual_average_update,
    metric_windows,
    regularized_covariance,
    regularized_variance,
)

__all__ = ["Chain", "Info", "Point", "find_reasonable_step_size", "fresh_randoms", "hamiltonian", "leapfrog", "sample",
           "transition"]


class Point(NamedTuple):
    """A point of phase space: position q, momentum p, log p(q) and its gradient."""

    q: np.ndarray
    p: np.ndarray
    logp: float
    grad: np.ndarray


class Tree(NamedTuple):
    """A stretch of the trajectory."""

    left: Point  # its earliest point in time
    right: Point  # its latest point in time
    rho: np.ndarray  # the sum of its points' momenta
    log_w: float  # log of its summed weights exp(H0 - H(z))
    proposal: Point  # a point of it, drawn with probability proportional to its weight


class Info(NamedTuple):
    """What one transition did (Stan's sampler diagnostics, as nbvi.sampling.nuts.NUTSInfo)."""

    accept_stat: float  # mean of min(1, exp(H0 - H)) over all leapfrog points; drives step-size adaptation
    tree_depth: int  # number of subtrees joined to the trajectory
    n_steps: int  # leapfrog steps (gradient evaluations)
    diverging: bool  # some point had H - H0 > max_energy_error
    energy: float  # H at the draw
    energy_error: float  # H(draw) - H0
    logp: float  # log p at the draw


def _diagonal(inv_mass):
    """The diagonal metric that the momentum sees: inv_mass itself, or ones for a dense metric (whitened p)."""
    return inv_mass if inv_mass.ndim == 1 else np.ones(inv_mass.shape[0])


def hamiltonian(z, inv_mass):
    """H = -log p(q) + 1/2 p^T M^-1 p; +inf where it is NaN. Summed term by term as nbvi does, to round alike."""
    h = -z.logp
    for m, p in zip(_diagonal(inv_mass).tolist(), z.p.tolist()):
        h += 0.5 * m * p * p
    return math.inf if math.isnan(h) else h


def _lower_times(chol, x):
    """L x for a lower-triangular L (n, n), each sum over j <= i in ascending j (nbvi's order, to round alike)."""
    return np.array([sum(chol[i, j] * x[j] for j in range(i + 1)) for i in range(len(x))])


def _lower_transposed_times(chol, x):
    """L^T x for a lower-triangular L (n, n): (L^T x)_i = sum over j >= i of L[j, i] x[j], ascending j."""
    return np.array([sum(chol[j, i] * x[j] for j in range(i, len(x))) for i in range(len(x))])


def leapfrog(logp_dlogp, z, eps, inv_mass):
    """One leapfrog step of size eps from z (eps < 0 integrates backward in time)."""
    if inv_mass.ndim == 2:  # dense metric, whitened momentum: p += eps/2 L^T grad; q += eps L p
        p = z.p + 0.5 * eps * _lower_transposed_times(inv_mass, z.grad)
        q = z.q + eps * _lower_times(inv_mass, p)
        logp, grad = logp_dlogp(q[None])
        p = p + 0.5 * eps * _lower_transposed_times(inv_mass, grad[0])
        return Point(q, p, float(logp[0]), grad[0])
    p = z.p + 0.5 * eps * z.grad  # half a step of momentum
    q = z.q + eps * inv_mass * p  # a whole step of position, at the velocity M^-1 p
    logp, grad = logp_dlogp(q[None])
    p = p + 0.5 * eps * grad[0]  # the other half step of momentum, with the gradient at the new q
    return Point(q, p, float(logp[0]), grad[0])


def _persists(p_a, p_b, rho, inv_mass):
    """The generalised no-U-turn criterion: the velocities M^-1 p_a and M^-1 p_b both point along rho."""
    m = _diagonal(inv_mass)
    return np.dot(m * p_a, rho) > 0.0 and np.dot(m * p_b, rho) > 0.0


def _no_u_turn(left, right, inv_mass):
    """Stan's three checks where trees ``left`` and ``right`` (later in time) meet: the whole, and the seam."""
    return (_persists(left.left.p, right.right.p, left.rho + right.rho, inv_mass)
            and _persists(left.left.p, right.left.p, left.rho + right.left.p, inv_mass)
            and _persists(left.right.p, right.right.p, left.right.p + right.rho, inv_mass))


def _join(old, new, direction, u, biased, inv_mass):
    """Join tree ``new``, built after ``old`` going in ``direction``: returns (tree, whether it persists).

    ``new``'s proposal wins with probability W_new / (W_old + W_new), or, ``biased``, min(1, W_new / W_old).
    """
    log_w = np.logaddexp(old.log_w, new.log_w)
    if biased:
        wins = new.log_w > old.log_w or u < math.exp(new.log_w - old.log_w)
    else:
        wins = u < math.exp(new.log_w - log_w)
    left, right = (old, new) if direction > 0 else (new, old)
    tree = Tree(left.left, right.right, old.rho + new.rho, log_w, new.proposal if wins else old.proposal)
    return tree, _no_u_turn(left, right, inv_mass)


@np.errstate(over="ignore", invalid="ignore")  # a divergent trajectory may overflow: it is caught as a divergence
def transition(logp_dlogp, q, step_size, inv_mass, normal, uniforms, max_depth=10, max_energy_error=1000.0):
    """One NUTS transition from ``q`` (ndim,); returns (the next q, :class:`Info`).

    ``logp_dlogp`` is a model or its function theta (1, ndim) -> (logp (1,), grad (1, ndim)); ``normal``
    (ndim,) is N(0, I) and makes the momentum p = M^(1/2) normal (the whitened momentum p = normal when
    ``inv_mass`` is a dense metric's Cholesky factor (ndim, ndim)); ``uniforms``, an iterable of Uniform(0, 1)
    numbers, is read one at a time as the tree needs them (an iterator is left at the first one unused).
    """
    logp_dlogp = getattr(logp_dlogp, "logp_dlogp", logp_dlogp)
    uniforms = iter(uniforms)
    logp, grad = logp_dlogp(q[None])
    z0 = Point(q, normal / np.sqrt(_diagonal(inv_mass)), float(logp[0]), grad[0])
    h0 = hamiltonian(z0, inv_mass)
    n_steps, sum_accept, diverging = 0, 0.0, False

    def build_tree(z, depth, direction):
        """2**depth leapfrog steps on from z, as a Tree; None when they diverge or U-turn."""
        nonlocal n_steps, sum_accept, diverging
        if depth == 0:
            z = leapfrog(logp_dlogp, z, direction * step_size, inv_mass)
            log_w = h0 - hamiltonian(z, inv_mass)
            n_steps += 1
            sum_accept += math.exp(min(log_w, 0.0))  # this point's Metropolis acceptance probability
            if -log_w > max_energy_error:
                diverging = True
                return None
            return Tree(z, z, z.p, log_w, z)
        first = build_tree(z, depth - 1, direction)
        if first is None:
            return None
        second = build_tree(first.right if direction > 0 else first.left, depth - 1, direction)
        if second is None:
            return None
        tree, persists = _join(first, second, direction, next(uniforms), False, inv_mass)
        return tree if persists else None

    trajectory, depth = Tree(z0, z0, z0.p, 0.0, z0), 0  # w(z0) = exp(H0 - H0) = 1
    while depth < max_depth:
        direction = 1 if next(uniforms) > 0.5 else -1
        subtree = build_tree(trajectory.right if direction > 0 else trajectory.left, depth, direction)
        if subtree is None:  # divergence or U-turn inside the new subtree: it is never proposed
            break
        trajectory, persists = _join(trajectory, subtree, direction, next(uniforms), True, inv_mass)
        depth += 1
        if not persists:
            break
    z = trajectory.proposal
    h = hamiltonian(z, inv_mass)
    return z.q, Info(sum_accept / n_steps, depth, n_steps, diverging, h, h - h0, z.logp)


@np.errstate(over="ignore", invalid="ignore")  # a far too large trial step may overflow: it only says "halve"
def find_reasonable_step_size(logp_dlogp, q, step_size, inv_mass, rng):
    """Stan's ``init_stepsize`` (Hoffman & Gelman's Alg. 4 with the threshold 0.8, not 0.5).

    One leapfrog step from q with a fresh momentum: while its acceptance exp(H0 - H) stays above 0.8,
    double the step size; if it starts below, halve it while it stays below. The first trial only picks
    the direction, and Stan then retries the same step size.
    """
    if step_size == 0 or step_size > 1e7 or math.isnan(step_size):
        return step_size
    logp, grad = logp_dlogp(q[None])

    def log_accept(eps):
        z = Point(q, rng.standard_normal(q.shape[0]) / np.sqrt(_diagonal(inv_mass)), float(logp[0]), grad[0])
        return hamiltonian(z, inv_mass) - hamiltonian(leapfrog(logp_dlogp, z, eps, inv_mass), inv_mass)

    grow = log_accept(step_size) > math.log(0.8)
    while True:
        a = log_accept(step_size)
        if (grow and not a > math.log(0.8)) or (not grow and not a < math.log(0.8)):
            return step_size
        step_size = 2.0 * step_size if grow else 0.5 * step_size
        if step_size > 1e7 or step_size == 0:
            raise ValueError(f"no reasonable step size (reached {step_size}): is the posterior proper and smooth?")


class Chain(NamedTuple):
    """A chain after warm-up: draws (draws, ndim) in unconstrained space (``model.unravel`` names them),
    one :class:`Info` per draw, and the adapted step size and inverse metric (its diagonal (ndim,), or with
    ``dense`` the Cholesky factor L (ndim, ndim) of M^-1 = L L^T)."""

    draws: np.ndarray
    infos: list
    step_size: float
    inv_mass: np.ndarray


def fresh_randoms(rng, ndim):
    """Iterators of the momentum draws N(0, I) (ndim,), one per transition, and of uniforms, one by one."""
    return (rng.standard_normal(ndim) for _ in itertools.count()), (rng.random() for _ in itertools.count())


def sample(model, draws=1000, tune=1000, seed=None, target_accept=0.8, max_depth=10, start=None,
           randoms=fresh_randoms, dense=False):
    """One NUTS chain: ``tune`` warm-up transitions with Stan's adaptation, then ``draws`` kept ones.

    The metric is diagonal (Stan's ``diag_e``: the windows' variances), or with ``dense`` the windows'
    covariance (``dense_e``), starting from the identity.

    It starts at ``start`` (ndim,), or at the model's initial point plus Uniform(-1, 1) jitter (nbvi retries
    up to 10 jitters where log p is not finite). ``randoms(rng, ndim)`` gives the random numbers of the
    transitions (see :func:`fresh_randoms`; the tests pass nbvi's block stream to reproduce its chain).
    """
    rng = np.random.default_rng(seed)
    logp_dlogp, ndim = model.logp_dlogp, model.ndim
    q = start if start is not None else model.initial_point_flat() + rng.uniform(-1.0, 1.0, ndim)
    inv_mass = np.eye(ndim) if dense else np.ones(ndim)
    step_size = find_reasonable_step_size(logp_dlogp, q, 1.0, inv_mass, rng)
    averaging = dual_average_init(step_size)
    windows = metric_windows(tune)
    normals, uniforms = randoms(rng, ndim)
    warmup, kept, infos = np.empty((tune, ndim)), np.empty((draws, ndim)), []
    for i in range(tune + draws):
        q, info = transition(logp_dlogp, q, step_size, inv_mass, next(normals), uniforms, max_depth)
        if i >= tune:
            kept[i - tune] = q
            infos.append(info)
            continue
        warmup[i] = q
        averaging, step_size = dual_average_update(averaging, info.accept_stat, target_accept)
        for k, (first, stop) in enumerate(windows):
            if i == stop - 1:  # the end of a slow window: a new metric from its draws
                window = warmup[first:stop]
                inv_mass = np.linalg.cholesky(regularized_covariance(window)) if dense else regularized_variance(window)
                if k == 0:  # after the first window only: search the step size anew, restart the averaging
                    step_size = find_reasonable_step_size(logp_dlogp, q, step_size, inv_mass, rng)
                    averaging = dual_average_init(step_size)
        if i == tune - 1:
            step_size = math.exp(averaging.x_bar)  # the averaged step size, frozen for sampling
    return Chain(kept, infos, step_size, inv_mass)
