"""One transition of the multinomial No-U-Turn Sampler (NUTS) with a diagonal or dense metric, as Stan does it.

References: Hoffman & Gelman (2014), "The No-U-Turn Sampler", JMLR 15, Alg. 3 (the recursive doubling);
Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo", arXiv:1701.02434, Sec. 4 and
App. A (multinomial sampling, the generalised no-U-turn criterion); Stan's ``base_nuts.hpp``.

Hamiltonian on the unconstrained space, with M^-1 = diag(inv_mass) (``inv_mass`` ~ posterior variance):

    H(q, p) = -log p(q) + 1/2 p^T M^-1 p,          p ~ N(0, M)

Leapfrog step of size e (e < 0 integrates backward in time):

    p <- p + e/2 grad log p(q);   q <- q + e M^-1 p;   p <- p + e/2 grad log p(q)

Dense metric, M^-1 = L L^T (L lower triangular, the Cholesky factor of the adapted covariance). The
momentum is kept whitened, p_w = L^T p ~ N(0, I), while q stays in the model's coordinates, so the
gradient is still evaluated at q. In (q, p_w) the leapfrog step and the Hamiltonian read

    p_w <- p_w + e/2 L^T grad;   q <- q + e L p_w;   p_w <- p_w + e/2 L^T grad;   K = 1/2 |p_w|^2

and the velocity M^-1 p = L p_w, the summed momentum rho = L^-T rho_w, so every no-U-turn product
(M^-1 p_a) . rho = p_w,a . rho_w: the trajectory is built exactly as with the unit diagonal metric on p_w,
and only the two half steps above differ (``_begin_step``, ``extend``). The workspace of a dense metric
holds L (``make_workspace(..., dense=True)``, :func:`kernel_inv_mass`), so the compiled callers of
``extend`` do not change.

A transition draws p, then doubles the trajectory, forward or backward at random, until it turns back on
itself or reaches ``2**max_depth - 1`` leapfrog steps. Each point z of the trajectory has weight
w(z) = exp(H0 - H(z)). The sample is drawn from the trajectory with these weights:

* within a new subtree, uniformly-multinomially: when two halves merge, the later-built half's proposal
  wins with probability w_final / (w_init + w_final);
* when a finished subtree joins the trajectory, with a bias toward the new part (biased progressive
  sampling, Betancourt App. A.3.2): its proposal wins with probability min(1, w_subtree / w_old).

Generalised no-U-turn criterion (Betancourt (2016), "Identifying the Optimal Integration Time in
Hamiltonian Monte Carlo", arXiv:1601.00225; Stan's ``compute_criterion``): a trajectory with
summed momentum rho and velocities p#_- = M^-1 p_- (backward end), p#_+ = M^-1 p_+ (forward end) keeps
going while p#_- . rho > 0 and p#_+ . rho > 0. When two trees L (earlier in time) and R merge, Stan checks
the merged tree and two overlapping spans across the seam, which catches U-turns that a pure doubling
misses (Stan >= 2.23):

    crit(p#_L-, p#_R+, rho_L + rho_R),  crit(p#_L-, p#_R-, rho_L + p_R-),  crit(p#_L+, p#_R+, p_L+ + rho_R)

How the recursion is unrolled. The gradient comes from ``model.logp_dlogp``, a Python call, so Stan's
recursive ``build_tree`` is turned inside out: Python loops ``logp, grad = logp_dlogp(q)`` then
``extend(...)``, a numba function that finishes that leapfrog step, adds the new point to the tree and
starts the next step. The subtree being built is a stack of completed sub-subtrees, like the digits of a
binary counter: each new leaf is pushed with level 0, and while the two top entries have the same level
they are merged (``_merge_in_subtree``), exactly the merges that the recursion performs on its way back
up, in the same order. When one entry of level ``depth`` remains, the subtree is complete and joins the
trajectory. All state lives in a few preallocated arrays (the ``Workspace``), so one step costs one
``logp_dlogp`` call plus one compiled call.
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["NUTSInfo", "NUTSState", "Workspace", "draw_momentum", "kernel_inv_mass", "kinetic_energy", "leapfrog",
           "make_workspace", "transition"]

# Rows of ``Workspace.vecs``, each a vector of length ndim.
Q, P, G = 0, 1, 2  # the integrator's point: position, momentum, grad log p(q)
Q_LEFT, P_LEFT, G_LEFT = 3, 4, 5  # backward end of the whole trajectory
Q_RIGHT, P_RIGHT, G_RIGHT = 6, 7, 8  # forward end of the whole trajectory
RHO = 9  # sum of the momenta of the whole trajectory
Q_SAMPLE, G_SAMPLE = 10, 11  # the point the transition will return
INV_MASS = 12  # diagonal of M^-1 (ones for a dense metric: the momentum is whitened)
N_VECS = 13
# Only in the workspace of a dense metric: L^T grad at the integrator's point, then the rows of L.
G_WHITE = 13
CHOL = 14
# Rows of a subtree on the stack, ``stack_v[k, row]``: its ends' momenta (in time order), summed
# momentum and proposal.
S_P_LEFT, S_P_RIGHT, S_RHO, S_Q, S_G = 0, 1, 2, 3, 4
# Scalars of a subtree, ``stack_s[k, col]``: log of its summed weight, its proposal's logp and H, its level.
S_LOG_W, S_LOGP, S_H, S_LEVEL = 0, 1, 2, 3
# ``Workspace.fs`` (floats) and ``Workspace.ints``.
EPS, H0, LOG_W, SUM_ACCEPT, LOGP, LOGP_LEFT, LOGP_RIGHT, LOGP_SAMPLE, H_SAMPLE, MAX_ENERGY_ERROR = range(10)
DIRECTION, DEPTH, MAX_DEPTH, N_STEPS, N_STACK, DIVERGENT, U_NEXT = range(7)


class NUTSState(NamedTuple):
    """A point of the chain: position ``q`` (ndim,), ``logp`` and its gradient ``grad`` (ndim,)."""

    q: np.ndarray
    logp: float
    grad: np.ndarray


class NUTSInfo(NamedTuple):
    """What one transition did (Stan's sampler diagnostics)."""

    accept_stat: float  # mean over all leapfrog points of min(1, exp(H0 - H)); drives step-size adaptation
    tree_depth: int  # number of successful doublings
    n_steps: int  # leapfrog steps taken (the gradient evaluations)
    diverging: bool  # some point had H - H0 > max_energy_error
    energy: float  # H at the returned point
    energy_error: float  # H(sample) - H0
    uniforms_used: int  # how many of the ``uniforms`` given to ``transition`` it consumed


class Workspace(NamedTuple):
    """Preallocated arrays of one chain's trajectory (see the row/column constants of this module)."""

    vecs: np.ndarray  # (N_VECS, ndim), or (CHOL + ndim, ndim) for a dense metric
    stack_v: np.ndarray  # (max_depth + 1, 5, ndim)
    stack_s: np.ndarray  # (max_depth + 1, 4)
    fs: np.ndarray  # (10,)
    ints: np.ndarray  # (7,) int64
    q_eval: np.ndarray  # (1, ndim) view of vecs[Q]: where the next gradient is wanted
    n_uniforms: int  # uniforms one transition may need


def make_workspace(ndim, max_depth=10, max_energy_error=1000.0, dense=False):
    """Allocate the arrays of a trajectory of at most ``2**max_depth - 1`` leapfrog steps; with ``dense``, also
    the rows of a dense metric's Cholesky factor (see :func:`kernel_inv_mass`)."""
    vecs = np.zeros((CHOL + ndim if dense else N_VECS, ndim))
    fs = np.zeros(10)
    fs[MAX_ENERGY_ERROR] = max_energy_error
    ints = np.zeros(7, dtype=np.int64)
    ints[MAX_DEPTH] = max_depth
    # directions and top-level merges: 2 per doubling; merges inside subtrees: < 2**max_depth in all
    n_uniforms = 2 ** max_depth + 2 * max_depth + 1
    return Workspace(vecs, np.zeros((max_depth + 1, 5, ndim)), np.zeros((max_depth + 1, 4)), fs, ints,
                     vecs[Q:Q + 1], n_uniforms)


def kernel_inv_mass(ws, inv_mass):
    """The (ndim,) ``inv_mass`` argument of the compiled functions for the metric ``inv_mass``.

    A diagonal M^-1 (ndim,) is its own argument. A dense metric is given by the lower Cholesky factor L
    (ndim, ndim) of M^-1 = L L^T: L is copied into the workspace ``ws`` (made with ``dense=True``) and the
    argument is ones (the momentum is whitened, see the module's docstring).
    """
    if inv_mass.ndim == 1:
        if ws.vecs.shape[0] != N_VECS:
            raise ValueError("a diagonal metric needs a workspace made with dense=False")
        return inv_mass
    if ws.vecs.shape[0] != CHOL + inv_mass.shape[0]:
        raise ValueError("a dense metric needs a workspace made with dense=True")
    ws.vecs[CHOL:] = inv_mass
    return np.ones(inv_mass.shape[0])


def draw_momentum(normal, inv_mass):
    """p ~ N(0, M) from ``normal`` ~ N(0, I): p = normal / sqrt(inv_mass); for a dense metric (the factor L,
    (ndim, ndim)) the whitened momentum L^T p = normal."""
    return normal if inv_mass.ndim == 2 else normal / np.sqrt(inv_mass)


def kinetic_energy(p, inv_mass):
    """K(p) = 1/2 p^T M^-1 p; for a dense metric (L, (ndim, ndim)) and a whitened p, 1/2 |p|^2."""
    if inv_mass.ndim == 2:
        return 0.5 * float(np.dot(p, p))
    return 0.5 * float(np.dot(p * inv_mass, p))


def leapfrog(logp_dlogp, q, p, grad, step_size, inv_mass):
    """One leapfrog step in plain NumPy (used by the step-size heuristic); returns (q, p, logp, grad).

    For a dense metric (``inv_mass`` the factor L (ndim, ndim) of M^-1 = L L^T), p is whitened: the
    gradient enters as L^T grad and the velocity is L p.
    """
    if inv_mass.ndim == 2:
        p = p + 0.5 * step_size * (inv_mass.T @ grad)
        q = q + step_size * (inv_mass @ p)
        logp, grad = logp_dlogp(q[None])
        p = p + 0.5 * step_size * (inv_mass.T @ grad[0])
        return q, p, float(logp[0]), grad[0]
    p = p + 0.5 * step_size * grad
    q = q + step_size * inv_mass * p
    logp, grad = logp_dlogp(q[None])
    p = p + 0.5 * step_size * grad[0]
    return q, p, float(logp[0]), grad[0]


# -- compiled pieces --------------------------------------------------------------------------------------
@njit(cache=True)
def _logaddexp(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    hi = max(a, b)
    return hi + math.log1p(math.exp(min(a, b) - hi))


@njit(cache=True)
def _persists(p_a, p_b, rho_1, rho_2, inv_mass):
    """Generalised no-U-turn criterion: (M^-1 p_a) . rho > 0 and (M^-1 p_b) . rho > 0, rho = rho_1 + rho_2."""
    da, db = 0.0, 0.0
    for i in range(rho_1.shape[0]):
        r = rho_1[i] + rho_2[i]
        da += inv_mass[i] * p_a[i] * r
        db += inv_mass[i] * p_b[i] * r
    return da > 0.0 and db > 0.0


@njit(cache=True)
def _persists_merged(pl_L, pr_L, rho_L, pl_R, pr_R, rho_R, inv_mass):
    """Stan's three checks when tree L (earlier in time) and tree R (later) merge: whole, and across the seam."""
    return (_persists(pl_L, pr_R, rho_L, rho_R, inv_mass)
            and _persists(pl_L, pl_R, rho_L, pl_R, inv_mass)
            and _persists(pr_L, pr_R, pr_L, rho_R, inv_mass))


@njit(cache=True)
def _whiten_gradient(vecs):
    """vecs[G_WHITE] = L^T vecs[G] (dense metric): (L^T g)_i = sum_{j >= i} L[j, i] g[j], j ascending."""
    g, gw, chol = vecs[G], vecs[G_WHITE], vecs[CHOL:]
    gw[:] = 0.0
    for j in range(g.shape[0]):
        gj = g[j]
        for i in range(j + 1):
            gw[i] += chol[j, i] * gj


@njit(cache=True)
def _begin_step(vecs, e):
    """First half of a leapfrog step: p += e/2 grad; q += e M^-1 p (the gradient at the new q comes next).

    Dense metric: p_w += e/2 L^T grad (``vecs[G_WHITE]``, already computed); q += e L p_w."""
    q, p, g, m = vecs[Q], vecs[P], vecs[G], vecs[INV_MASS]
    if vecs.shape[0] > N_VECS:
        gw, chol = vecs[G_WHITE], vecs[CHOL:]
        for i in range(q.shape[0]):
            p[i] += 0.5 * e * gw[i]
        for i in range(q.shape[0]):
            s = 0.0
            for j in range(i + 1):
                s += chol[i, j] * p[j]
            q[i] += e * s
        return
    for i in range(q.shape[0]):
        p[i] += 0.5 * e * g[i]
        q[i] += e * m[i] * p[i]


@njit(cache=True)
def _start_doubling(vecs, fs, ints, uniforms):
    """Pick the direction of the next doubling and move the integrator to that end of the trajectory."""
    direction = 1 if uniforms[ints[U_NEXT]] > 0.5 else -1
    ints[U_NEXT] += 1
    ints[DIRECTION] = direction
    ints[N_STACK] = 0
    if direction > 0:
        vecs[Q], vecs[P], vecs[G], fs[LOGP] = vecs[Q_RIGHT], vecs[P_RIGHT], vecs[G_RIGHT], fs[LOGP_RIGHT]
    else:
        vecs[Q], vecs[P], vecs[G], fs[LOGP] = vecs[Q_LEFT], vecs[P_LEFT], vecs[G_LEFT], fs[LOGP_LEFT]
    if vecs.shape[0] > N_VECS:
        _whiten_gradient(vecs)
    _begin_step(vecs, direction * fs[EPS])


@njit(cache=True)
def begin_trajectory(vecs, fs, ints, q, logp, grad, step_size, inv_mass, normal, uniforms):
    """Start a transition at (q, logp, grad): draw p = M^(1/2) z from ``normal`` z ~ N(0, I), begin step 1.

    ``inv_mass`` (ndim,) is the diagonal of M^-1, or ones with a dense metric in ``vecs`` (then p = z is the
    whitened momentum; see :func:`kernel_inv_mass`)."""
    n = q.shape[0]
    for i in range(n):
        vecs[INV_MASS, i] = inv_mass[i]
        vecs[P, i] = normal[i] / math.sqrt(inv_mass[i])
    vecs[Q], vecs[G] = q, grad
    h0 = -logp
    for i in range(n):
        h0 += 0.5 * inv_mass[i] * vecs[P, i] * vecs[P, i]
    fs[EPS], fs[H0], fs[LOG_W], fs[SUM_ACCEPT] = step_size, h0, 0.0, 0.0  # w(z0) = exp(H0 - H0) = 1
    fs[LOGP] = fs[LOGP_LEFT] = fs[LOGP_RIGHT] = fs[LOGP_SAMPLE] = logp
    fs[H_SAMPLE] = h0
    vecs[Q_LEFT], vecs[P_LEFT], vecs[G_LEFT] = vecs[Q], vecs[P], vecs[G]
    vecs[Q_RIGHT], vecs[P_RIGHT], vecs[G_RIGHT] = vecs[Q], vecs[P], vecs[G]
    vecs[RHO], vecs[Q_SAMPLE], vecs[G_SAMPLE] = vecs[P], vecs[Q], vecs[G]
    ints[DEPTH] = ints[N_STEPS] = ints[DIVERGENT] = 0
    ints[U_NEXT] = 0
    _start_doubling(vecs, fs, ints, uniforms)


@njit(cache=True)
def _merge_in_subtree(stack_v, stack_s, a, b, direction, inv_mass, u):
    """Merge stack entry b (built second) into a (built first); False when the merged tree U-turns.

    Uniform multinomial sampling: b's proposal replaces a's with probability w_b / (w_a + w_b).
    """
    if direction > 0:  # a is earlier in time
        keep_going = _persists_merged(stack_v[a, S_P_LEFT], stack_v[a, S_P_RIGHT], stack_v[a, S_RHO],
                                      stack_v[b, S_P_LEFT], stack_v[b, S_P_RIGHT], stack_v[b, S_RHO], inv_mass)
        stack_v[a, S_P_RIGHT] = stack_v[b, S_P_RIGHT]
    else:  # b is earlier in time
        keep_going = _persists_merged(stack_v[b, S_P_LEFT], stack_v[b, S_P_RIGHT], stack_v[b, S_RHO],
                                      stack_v[a, S_P_LEFT], stack_v[a, S_P_RIGHT], stack_v[a, S_RHO], inv_mass)
        stack_v[a, S_P_LEFT] = stack_v[b, S_P_LEFT]
    log_w = _logaddexp(stack_s[a, S_LOG_W], stack_s[b, S_LOG_W])
    if u < math.exp(stack_s[b, S_LOG_W] - log_w):
        stack_v[a, S_Q], stack_v[a, S_G] = stack_v[b, S_Q], stack_v[b, S_G]
        stack_s[a, S_LOGP], stack_s[a, S_H] = stack_s[b, S_LOGP], stack_s[b, S_H]
    stack_v[a, S_RHO] += stack_v[b, S_RHO]
    stack_s[a, S_LOG_W] = log_w
    stack_s[a, S_LEVEL] += 1
    return keep_going


@njit(cache=True)
def _join_trajectory(vecs, stack_v, stack_s, fs, ints, uniforms):
    """Join the finished subtree (stack entry 0) to the trajectory; False when the trajectory U-turns.

    Biased progressive sampling: the subtree's proposal becomes the sample with probability
    min(1, w_subtree / w_trajectory).
    """
    m = vecs[INV_MASS]
    log_w_sub = stack_s[0, S_LOG_W]
    u = uniforms[ints[U_NEXT]]
    ints[U_NEXT] += 1
    if log_w_sub > fs[LOG_W] or u < math.exp(log_w_sub - fs[LOG_W]):
        vecs[Q_SAMPLE], vecs[G_SAMPLE] = stack_v[0, S_Q], stack_v[0, S_G]
        fs[LOGP_SAMPLE], fs[H_SAMPLE] = stack_s[0, S_LOGP], stack_s[0, S_H]
    fs[LOG_W] = _logaddexp(fs[LOG_W], log_w_sub)
    if ints[DIRECTION] > 0:  # the subtree lies after the trajectory; its last point is the new forward end
        keep_going = _persists_merged(vecs[P_LEFT], vecs[P_RIGHT], vecs[RHO],
                                      stack_v[0, S_P_LEFT], stack_v[0, S_P_RIGHT], stack_v[0, S_RHO], m)
        vecs[Q_RIGHT], vecs[P_RIGHT], vecs[G_RIGHT], fs[LOGP_RIGHT] = vecs[Q], vecs[P], vecs[G], fs[LOGP]
    else:
        keep_going = _persists_merged(stack_v[0, S_P_LEFT], stack_v[0, S_P_RIGHT], stack_v[0, S_RHO],
                                      vecs[P_LEFT], vecs[P_RIGHT], vecs[RHO], m)
        vecs[Q_LEFT], vecs[P_LEFT], vecs[G_LEFT], fs[LOGP_LEFT] = vecs[Q], vecs[P], vecs[G], fs[LOGP]
    vecs[RHO] += stack_v[0, S_RHO]
    ints[DEPTH] += 1
    return keep_going


@njit(cache=True)
def extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp_new, grad_new):
    """Finish the pending leapfrog step with ``logp_new`` (1,), ``grad_new`` (1, ndim) at q = vecs[Q].

    Returns True when the trajectory goes on (the next step has begun: its q is in vecs[Q]), False when the
    transition is over (U-turn, divergence or maximum depth).
    """
    q, p, g, m = vecs[Q], vecs[P], vecs[G], vecs[INV_MASS]
    e = ints[DIRECTION] * fs[EPS]
    logp = logp_new[0]
    h = -logp
    if vecs.shape[0] > N_VECS:  # dense metric: p_w += e/2 L^T grad; K = 1/2 |p_w|^2 (m is ones)
        for i in range(q.shape[0]):
            g[i] = grad_new[0, i]
        _whiten_gradient(vecs)
        gw = vecs[G_WHITE]
        for i in range(q.shape[0]):
            p[i] += 0.5 * e * gw[i]
            h += 0.5 * m[i] * p[i] * p[i]
    else:
        for i in range(q.shape[0]):
            g[i] = grad_new[0, i]
            p[i] += 0.5 * e * g[i]
            h += 0.5 * m[i] * p[i] * p[i]
    if math.isnan(h):
        h = np.inf
    fs[LOGP] = logp
    ints[N_STEPS] += 1
    log_w = fs[H0] - h  # log weight of this point
    fs[SUM_ACCEPT] += 1.0 if log_w > 0.0 else math.exp(log_w)  # Metropolis acceptance of this point
    if -log_w > fs[MAX_ENERGY_ERROR]:
        ints[DIVERGENT] = 1
        return False
    # push the point as a subtree of level 0, then merge equal levels (the recursion's way back up)
    k = ints[N_STACK]
    stack_v[k, S_P_LEFT], stack_v[k, S_P_RIGHT], stack_v[k, S_RHO] = p, p, p
    stack_v[k, S_Q], stack_v[k, S_G] = q, g
    stack_s[k, S_LOG_W], stack_s[k, S_LOGP], stack_s[k, S_H], stack_s[k, S_LEVEL] = log_w, logp, h, 0.0
    k += 1
    while k >= 2 and stack_s[k - 1, S_LEVEL] == stack_s[k - 2, S_LEVEL]:
        u = uniforms[ints[U_NEXT]]
        ints[U_NEXT] += 1
        if not _merge_in_subtree(stack_v, stack_s, k - 2, k - 1, ints[DIRECTION], m, u):
            return False
        k -= 1
    ints[N_STACK] = k
    if k > 1 or stack_s[0, S_LEVEL] < ints[DEPTH]:  # the subtree of 2**depth points is not complete yet
        _begin_step(vecs, e)
        return True
    if not _join_trajectory(vecs, stack_v, stack_s, fs, ints, uniforms) or ints[DEPTH] >= ints[MAX_DEPTH]:
        return False
    _start_doubling(vecs, fs, ints, uniforms)
    return True


# -- a transition's record, in compiled blocks of draws (nbvi.compiled.trajectory, nbvi.fused.trajectory) ----
# columns of the statistics a block of draws writes per transition (nbvi.sampling.sample.STAT_COLUMNS)
STAT_STEP_SIZE, STAT_LP, STAT_TREE_DEPTH, STAT_N_STEPS, STAT_DIVERGING, STAT_ENERGY, STAT_ENERGY_ERROR, STAT_ACCEPT = range(8)
# the dual averaging of log(step size) during warm-up, as nbvi.sampling.adaptation.DualAverageState
AVG_COUNTER, AVG_S_BAR, AVG_X_BAR, AVG_MU = range(4)


@njit(cache=True, error_model="numpy", inline="always")
def finish_transition(vecs, fs, ints, q, grad, theta, stats, k, step_size, averaging, target_accept):
    """After a trajectory has ended: its sample into ``q``, ``grad`` and ``theta[k]``, its statistics into
    ``stats[k]``, and, during warm-up (``averaging``, the float state (counter, s_bar, x_bar, mu), has 4
    entries; updated in place), the step size of :func:`~nbvi.sampling.adaptation.dual_average_update`
    with the same operations (gamma 0.05, t0 10, kappa 0.75). Returns (the sample's logp, the step size)."""
    n_steps = ints[N_STEPS]
    q[:] = vecs[Q_SAMPLE]
    grad[:] = vecs[G_SAMPLE]
    logp = fs[LOGP_SAMPLE]
    theta[k] = q
    accept = fs[SUM_ACCEPT] / n_steps
    stats[k, STAT_STEP_SIZE], stats[k, STAT_LP], stats[k, STAT_TREE_DEPTH] = step_size, logp, ints[DEPTH]
    stats[k, STAT_N_STEPS], stats[k, STAT_DIVERGING] = n_steps, ints[DIVERGENT]
    stats[k, STAT_ENERGY], stats[k, STAT_ENERGY_ERROR] = fs[H_SAMPLE], fs[H_SAMPLE] - fs[H0]
    stats[k, STAT_ACCEPT] = accept
    if averaging.shape[0] == 4:
        t = averaging[AVG_COUNTER] + 1.0
        eta = 1.0 / (t + 10.0)
        s_bar = (1.0 - eta) * averaging[AVG_S_BAR] + eta * (target_accept - min(accept, 1.0))
        x = averaging[AVG_MU] - s_bar * math.sqrt(t) / 0.05
        x_eta = t ** -0.75
        averaging[AVG_X_BAR] = (1.0 - x_eta) * averaging[AVG_X_BAR] + x_eta * x
        averaging[AVG_COUNTER], averaging[AVG_S_BAR] = t, s_bar
        step_size = math.exp(x)
    return logp, step_size


# -- the transition, as Python sees it ------------------------------------------------------------------
def transition(ws, logp_dlogp, state, step_size, inv_mass, normal, uniforms, trajectory=None):
    """One NUTS transition from ``state``.

    Parameters
    ----------
    ws : Workspace
        From :func:`make_workspace`; overwritten.
    logp_dlogp : callable
        theta (1, ndim) -> (logp (1,), grad (1, ndim)), e.g. ``model.logp_dlogp``.
    state : NUTSState
    step_size : float
    inv_mass : ndarray (ndim,) or (ndim, ndim)
        Diagonal of M^-1, or the lower Cholesky factor L of a dense M^-1 = L L^T (``ws`` made with
        ``dense=True``).
    normal : ndarray (ndim,)
        Standard normal draws for the momentum.
    uniforms : ndarray (at least ws.n_uniforms,)
        Uniform(0, 1) draws for the directions and the multinomial choices, used from the start;
        ``info.uniforms_used`` says how many.
    trajectory : callable, optional
        ``trajectory(ws, uniforms)`` runs the begun trajectory to its end in one compiled call, with the
        same log-density as ``logp_dlogp`` (a compiled density's ``nuts_trajectory()``); by default the
        loop below alternates ``logp_dlogp`` and :func:`extend` from Python.

    Returns
    -------
    state : NUTSState
    info : NUTSInfo
    """
    vecs, stack_v, stack_s, fs, ints, q_eval, _ = ws
    inv_mass = kernel_inv_mass(ws, inv_mass)
    begin_trajectory(vecs, fs, ints, state.q, state.logp, state.grad, step_size, inv_mass, normal, uniforms)
    if trajectory is not None:
        trajectory(ws, uniforms)
    else:
        going = True
        while going:
            logp, grad = logp_dlogp(q_eval)
            going = extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp, grad)
    n_steps = int(ints[N_STEPS])
    info = NUTSInfo(fs[SUM_ACCEPT] / n_steps, int(ints[DEPTH]), n_steps, bool(ints[DIVERGENT]),
                    fs[H_SAMPLE], fs[H_SAMPLE] - fs[H0], int(ints[U_NEXT]))
    return NUTSState(vecs[Q_SAMPLE].copy(), float(fs[LOGP_SAMPLE]), vecs[G_SAMPLE].copy()), info
