"""The tape's instructions along a core axis or along lines, compiled as a second C function on first need.

The families with a core axis (MIXTURE, DIRICHLET, MVNORMAL, CATEGORICAL), the stick-breaking and ordered
transforms (STICKBREAKING, ORDERED) and the products and cumulative sums along lines (PROD, CUMSUM, CUMPROD)
are rare in the models people write, and their code is about a fifth of the interpreter's. So they are not compiled into the
interpreter's C function (:mod:`nbvi.compiled.interpreter`): when it meets one of them it calls
:func:`axis_instruction` through the address of a C function of its own, compiled (or loaded from numba's
cache) when the first model that has such an instruction is built (:func:`axis_ops_address`). A fresh
install's first fit of a model without them does not wait for their compile.

The instructions' layout is the interpreter's (its module docstring); each adds its partial derivatives
straight into ``gw`` going forward, as loops of terms do, but the two transforms and the line ops, which have
a backward sweep.
"""
import math

import numpy as np
from numba import carray, cfunc, njit, types

from nbvi.compiled.addresses import float64_pointer, int64_pointer
from nbvi.compiled.interpreter import (
    AUX0,
    AUX1,
    BLOCK,
    CHOL,
    COV,
    CUMPROD,
    CUMSUM,
    DIRICHLET,
    FLAGS,
    MIXTURE,
    MVNORMAL,
    ORDERED,
    OUT,
    PRECISION,
    PROBABILITIES,
    PROD,
    STICKBREAKING,
    A,
    B,
    C,
    E,
)
from nbvi.distributions.bernoulli import log_sigmoid
from nbvi.distributions.normal import HALF_LOG_2PI
from nbvi.distributions.special import digamma
from nbvi.numerics import exp_nonpositive, log_positive_scratch

__all__ = ["axis_instruction", "axis_ops_address"]

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def axis_instruction(t, backward, first_draw, code, fparams, index, w, gw, reg):
    """Run instruction ``t`` (one of this module's opcodes) forward, or, ``backward``, its backward sweep
    (the two transforms and the line ops only: the others have none). Returns what it adds to logp: a term's
    value, a transform's log-Jacobian going forward, else 0.

    Parameters
    ----------
    t : int
        The instruction's row of ``code`` and ``fparams``.
    backward, first_draw : bool
        The sweep; whether this is the call's first point (a mixture keeps what depends on constants only).
    code, fparams, index, w, gw
        As the interpreter's (:func:`~nbvi.compiled.interpreter.tape_logp_dlogp`).
    reg : (R, BLOCK)
        The loops' registers, scratch for a mixture with shared parameters.
    """
    op = code[t, 0]
    if op == STICKBREAKING:
        return _stick_breaking(t, backward, code, w, gw)
    if op == ORDERED:
        return _ordered(t, backward, code, w, gw)
    if op == PROD or op == CUMSUM or op == CUMPROD:
        _lines(t, backward, code, index, w, gw)
        return 0.0
    if backward:
        return 0.0
    if op == MIXTURE:
        if code[t, AUX1]:  # the parameters are shared by every element
            return _mixture_shared(t, code, fparams, index, w, gw, reg)
        return _mixture(t, first_draw, code, fparams, index, w, gw)
    if op == DIRICHLET:
        return _dirichlet(t, code, fparams, index, w, gw)
    if op == MVNORMAL:
        return _mvnormal(t, code, fparams, index, w, gw)
    return _categorical(t, code, fparams, index, w, gw)


def _axis_instruction_at(t, backward, first_draw, code_at, n_code, code_columns, fparams_at, fparams_columns,
                         index_at, n_index, w_at, n_w, gw_at, n_gw, reg_at, n_registers):
    """:func:`axis_instruction` with every array given by the address of its first element and its shape: the
    body of the C function :func:`axis_ops_address` compiles."""
    code = carray(int64_pointer(code_at), (n_code, code_columns))
    fparams = carray(float64_pointer(fparams_at), (n_code, fparams_columns))
    index = carray(int64_pointer(index_at), (n_index,))
    w = carray(float64_pointer(w_at), (n_w,))
    gw = carray(float64_pointer(gw_at), (n_gw,))
    reg = carray(float64_pointer(reg_at), (n_registers, BLOCK))
    return axis_instruction(t, backward != 0, first_draw != 0, code, fparams, index, w, gw, reg)


_AXIS_OPS = []  # the C function, compiled (or loaded from numba's cache) at the first call below


def axis_ops_address():
    """The address of :func:`axis_instruction` compiled as a C function (``double f(int64 x 16)``, the
    arguments of :func:`_axis_instruction_at`), for the interpreter; valid in this process only."""
    if not _AXIS_OPS:
        signature = types.float64(*[types.int64] * 16)
        _AXIS_OPS.append(cfunc(signature, cache=True, error_model="numpy")(_axis_instruction_at))
    return _AXIS_OPS[0].address


@njit(cache=True, error_model="numpy", inline="always")
def _mixture(t, first_draw, code, fparams, index, w, gw):
    """A NormalMixture term: sum_j log sum_k w_jk N(x_j | mu_jk, sigma_jk); partials into gw (see
    :mod:`nbvi.distributions.mixture` for the math). Scratch (out): a_k, log c_k, 1 / sigma_k, z_k, then
    the positions of the w and sigma rows that log c and 1 / sigma were computed for (kept from draw to
    draw when w and sigma are constants)."""
    n, n_comp, flags, scale = code[t, 1], code[t, AUX0], code[t, FLAGS], fparams[t, 0]
    s0 = code[t, OUT]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0, bs, bm = code[t, B], code[t, B + 1], code[t, B + 2]
    c0, cs, cm = code[t, C], code[t, C + 1], code[t, C + 2]
    e0, es, em = code[t, E], code[t, E + 1], code[t, E + 2]
    af, bf, cf, ef = min(am, 1), min(bm, 1), min(cm, 1), min(em, 1)
    total = 0.0
    last_w, last_sigma, ok = -1, -1, True
    if not (first_draw or flags & 10):  # constant w and sigma: the constants of the last row still hold
        last_w, last_sigma = int(w[s0 + 4 * n_comp]), int(w[s0 + 4 * n_comp + 1])
    for j in range(n):
        pa = a0 + as_ * j + index[am + af * j]
        x = w[pa]
        first = j * n_comp
        pw, ps = b0 + bs * first + index[bm + bf * first], e0 + es * first + index[em + ef * first]
        if pw != last_w or ps != last_sigma:  # log c_k = log w_k - log sigma_k - log(2 pi)/2 change with the rows
            last_w, last_sigma, ok = pw, ps, True
            for k in range(n_comp):
                e = first + k
                wk, sk = w[b0 + bs * e + index[bm + bf * e]], w[e0 + es * e + index[em + ef * e]]
                if not (wk >= 0.0 and sk > 0.0):
                    ok = False
                    break
                w[s0 + n_comp + k] = (math.log(wk) if wk > 0.0 else -math.inf) - math.log(sk) - HALF_LOG_2PI
                w[s0 + 2 * n_comp + k] = 1.0 / sk
            w[s0 + 4 * n_comp], w[s0 + 4 * n_comp + 1] = (pw, ps) if ok else (-1, -1)
        if not ok:
            return -math.inf
        top = -math.inf
        for k in range(n_comp):  # a_k = log w_k + log N(x | mu_k, sigma_k)
            e = first + k
            z = (x - w[c0 + cs * e + index[cm + cf * e]]) * w[s0 + 2 * n_comp + k]
            w[s0 + 3 * n_comp + k] = z
            w[s0 + k] = w[s0 + n_comp + k] - 0.5 * z * z
            top = max(top, w[s0 + k])
        if top == -math.inf:
            return -math.inf
        sum_exp = 0.0
        for k in range(n_comp):
            w[s0 + k] = math.exp(w[s0 + k] - top)
            sum_exp += w[s0 + k]
        logp = top + math.log(sum_exp)  # logsumexp_k a_k
        total += logp
        d_x = 0.0
        for k in range(n_comp):
            e = first + k
            r = w[s0 + k] / sum_exp  # the responsibility of component k
            inv_sigma, z = w[s0 + 2 * n_comp + k], w[s0 + 3 * n_comp + k]
            d_x -= r * z * inv_sigma  # d/dx = -sum_k r_k z_k / sigma_k
            if flags & 2:  # d/dw_k = N_k / p(x) = r_k / w_k
                pw = b0 + bs * e + index[bm + bf * e]
                wk = w[pw]
                gw[pw] += scale * (r / wk if wk > 0.0 else
                                   math.exp(-0.5 * z * z + math.log(inv_sigma) - HALF_LOG_2PI - logp))
            if flags & 4:  # d/dmu_k = r_k z_k / sigma_k
                gw[c0 + cs * e + index[cm + cf * e]] += scale * r * z * inv_sigma
            if flags & 8:  # d/dsigma_k = r_k (z_k^2 - 1) / sigma_k
                gw[e0 + es * e + index[em + ef * e]] += scale * r * (z * z - 1.0) * inv_sigma
        if flags & 1:
            gw[pa] += scale * d_x
    return scale * total


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _mixture_shared(t, code, fparams, index, w, gw, reg):
    """A NormalMixture term whose K weights, means and scales are shared by every element (each operand b,
    c, e reads K numbers at stride 1, or one at stride 0): sum_j log sum_k w_k N(x_j | mu_k, sigma_k).

    Block by block of elements, component by component, so that every loop vectorises: z_k = (x - mu_k) /
    sigma_k, a_k = log w_k - log sigma_k - log(2 pi) / 2 - z_k^2 / 2, m = max_k a_k, e_k = e^{a_k - m} (the
    exp of :mod:`nbvi.numerics`, exact 1 at the top), log p = m + log sum_k e_k, responsibilities
    r_k = e_k / sum_l e_l; gradients as in :mod:`nbvi.distributions.mixture`, summed over the elements in
    the scratch region (out) and added to gw once. Registers: z (K rows), e (K rows), m, sum, log sum, dx,
    and two for the exp's and log's bits. Scratch: per component log c_k, 1 / sigma_k, then the sums of r_k,
    r_k z_k / sigma_k, r_k (z_k^2 - 1) / sigma_k and N_k / p (for w_k = 0, where d/dw_k is not r_k / w_k).
    """
    n, n_comp, flags, scale = code[t, 1], code[t, AUX0], code[t, FLAGS], fparams[t, 0]
    s0 = code[t, OUT]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0, bs = code[t, B], code[t, B + 1]
    c0, cs = code[t, C], code[t, C + 1]
    e0, es = code[t, E], code[t, E + 1]
    log_c, inv = s0, s0 + n_comp
    r_sum, mu_sum, sigma_sum, zero_sum = s0 + 2 * n_comp, s0 + 3 * n_comp, s0 + 4 * n_comp, s0 + 5 * n_comp
    top_row, sum_row, log_row, dx_row, bits_row = 2 * n_comp, 2 * n_comp + 1, 2 * n_comp + 2, 2 * n_comp + 3, 2 * n_comp + 4
    exponent_row = 2 * n_comp + 5
    for k in range(n_comp):
        wk, sk = w[b0 + bs * k], w[e0 + es * k]
        if not (wk >= 0.0 and sk > 0.0):
            return -math.inf
        w[log_c + k] = (math.log(wk) if wk > 0.0 else -math.inf) - math.log(sk) - HALF_LOG_2PI
        w[inv + k] = 1.0 / sk
        w[r_sum + k] = w[mu_sum + k] = w[sigma_sum + k] = w[zero_sum + k] = 0.0
    total = 0.0
    af = min(am, 1)
    for j0 in range(0, n, BLOCK):
        nb = min(BLOCK, n - j0)
        for i in range(nb):  # x, in the dx row for now
            j = j0 + i
            reg[dx_row, i] = w[a0 + as_ * j + index[am + af * j]]
        for k in range(n_comp):
            mu_k, inv_k, log_c_k = w[c0 + cs * k], w[inv + k], w[log_c + k]
            for i in range(nb):
                z = (reg[dx_row, i] - mu_k) * inv_k
                reg[k, i] = z
                reg[n_comp + k, i] = log_c_k - 0.5 * z * z
        for i in range(nb):
            reg[top_row, i] = reg[n_comp, i]
        for k in range(1, n_comp):
            for i in range(nb):
                reg[top_row, i] = max(reg[top_row, i], reg[n_comp + k, i])
        for i in range(nb):
            if reg[top_row, i] == -math.inf:
                return -math.inf
            reg[sum_row, i] = 0.0
        for k in range(n_comp):
            for i in range(nb):
                reg[n_comp + k, i] -= reg[top_row, i]
            exp_nonpositive(reg[n_comp + k, :nb], reg[bits_row, :nb].view(np.int64))
            for i in range(nb):
                reg[sum_row, i] += reg[n_comp + k, i]
        for i in range(nb):
            reg[log_row, i] = reg[sum_row, i]
        log_positive_scratch(reg[log_row, :nb], reg[bits_row, :nb].view(np.int64),
                             reg[exponent_row, :nb].view(np.int64))
        for i in range(nb):
            total += reg[top_row, i] + reg[log_row, i]  # log p = m + log sum_k e_k
            reg[dx_row, i] = 0.0
            reg[sum_row, i] = 1.0 / reg[sum_row, i]
        for k in range(n_comp):
            inv_k = w[inv + k]
            r_k = mu_k = sigma_k = 0.0
            for i in range(nb):
                r = reg[n_comp + k, i] * reg[sum_row, i]  # the responsibility of component k
                z = reg[k, i]
                reg[dx_row, i] -= r * z * inv_k  # d/dx = -sum_k r_k z_k / sigma_k
                r_k += r
                mu_k += r * z
                sigma_k += r * (z * z - 1.0)
            w[r_sum + k] += r_k
            w[mu_sum + k] += mu_k * inv_k
            w[sigma_sum + k] += sigma_k * inv_k
            if w[b0 + bs * k] == 0.0 and flags & 2:  # N_k / p(x), with log p = m + log sum
                for i in range(nb):
                    z = reg[k, i]
                    w[zero_sum + k] += math.exp(-0.5 * z * z + math.log(inv_k) - HALF_LOG_2PI
                                                - reg[top_row, i] - reg[log_row, i])
        if flags & 1:
            for i in range(nb):
                j = j0 + i
                gw[a0 + as_ * j + index[am + af * j]] += scale * reg[dx_row, i]
    for k in range(n_comp):
        if flags & 2:  # d/dw_k = sum_j r_jk / w_k
            wk = w[b0 + bs * k]
            gw[b0 + bs * k] += scale * (w[r_sum + k] / wk if wk > 0.0 else w[zero_sum + k])
        if flags & 4:
            gw[c0 + cs * k] += scale * w[mu_sum + k]
        if flags & 8:
            gw[e0 + es * k] += scale * w[sigma_sum + k]
    return scale * total


@njit(cache=True, error_model="numpy")
def _dirichlet(t, code, fparams, index, w, gw):
    """A Dirichlet term over n rows of K: log p = lgamma(sum a) - sum_k lgamma(a_k) + sum_k (a_k - 1) log x_k,
    d/dx_k = (a_k - 1) / x_k, d/da_k = digamma(sum a) - digamma(a_k) + log x_k; partials into gw."""
    n, n_comp, flags, scale = code[t, 1], code[t, AUX0], code[t, FLAGS], fparams[t, 0]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0, bs, bm = code[t, B], code[t, B + 1], code[t, B + 2]
    af, bf = min(am, 1), min(bm, 1)
    total = 0.0
    for j in range(n):
        alpha_sum, log_norm = 0.0, 0.0
        for k in range(n_comp):
            e = j * n_comp + k
            alpha = w[b0 + bs * e + index[bm + bf * e]]
            if not alpha > 0.0:
                return -math.inf
            alpha_sum += alpha
            log_norm -= math.lgamma(alpha)
        total += log_norm + math.lgamma(alpha_sum)
        psi_sum = digamma(alpha_sum)
        for k in range(n_comp):
            e = j * n_comp + k
            pa, pb = a0 + as_ * e + index[am + af * e], b0 + bs * e + index[bm + bf * e]
            x, alpha = w[pa], w[pb]
            if not (x > 0.0 and x < 1.0):
                return -math.inf
            log_x = math.log(x)
            total += (alpha - 1.0) * log_x
            if flags & 1:
                gw[pa] += scale * (alpha - 1.0) / x
            if flags & 2:
                gw[pb] += scale * (psi_sum - digamma(alpha) + log_x)
    return scale * total


@njit(cache=True, error_model="numpy")
def _mvnormal(t, code, fparams, index, w, gw):
    """A MvNormal term over n rows of K coordinates; partials into gw (see :mod:`nbvi.distributions.mvnormal`).

    With r = x - mu, the matrix M read through its symmetric part (cov, precision) or its lower triangle
    (chol), L the lower Cholesky factor of the covariance (of the precision for PRECISION), u = L^-1 r and
    alpha = Sigma^-1 r:

        cov:        log p = -u.u / 2 - sum_i log L_ii - K log(2 pi) / 2,  d/dM = (alpha alpha^T - M^-1) / 2
        chol:       the same with L = tril(M),                             d/dL = tril(alpha u^T) - diag(1 / L_ii)
        precision:  log p = -r.M r / 2 + sum_i log L_ii - K log(2 pi) / 2, d/dM = (M^-1 - r r^T) / 2
        d/dx = -alpha, d/dmu = alpha

    Scratch (out): L, L^-1 (K x K each), r, u (K each), alpha (K). A matrix that is not positive definite
    gives -inf.
    """
    n, k_dim, kind, flags, scale = code[t, 1], code[t, AUX0], code[t, AUX1], code[t, FLAGS], fparams[t, 0]
    s0 = code[t, OUT]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0, bs, bm = code[t, B], code[t, B + 1], code[t, B + 2]
    c0, cs, cm = code[t, C], code[t, C + 1], code[t, C + 2]
    af, bf, cf = min(am, 1), min(bm, 1), min(cm, 1)
    lo, inv, r0 = s0, s0 + k_dim * k_dim, s0 + 2 * k_dim * k_dim
    u0, al0 = r0 + k_dim, r0 + 2 * k_dim
    total = 0.0
    for j in range(n):
        row, mat = j * k_dim, j * k_dim * k_dim
        # L: the Cholesky factor of sym(M), or tril(M) itself
        for p in range(k_dim):
            for q in range(k_dim):
                e = mat + p * k_dim + q
                if kind == CHOL:
                    w[lo + p * k_dim + q] = w[c0 + cs * e + index[cm + cf * e]] if q <= p else 0.0
                else:
                    e_t = mat + q * k_dim + p
                    w[lo + p * k_dim + q] = 0.5 * (w[c0 + cs * e + index[cm + cf * e]]
                                                   + w[c0 + cs * e_t + index[cm + cf * e_t]])
        log_diag = 0.0
        for p in range(k_dim):
            if kind != CHOL:  # Cholesky-Banachiewicz, in place in the lower triangle
                for q in range(p + 1):
                    acc = w[lo + p * k_dim + q]
                    for m in range(q):
                        acc -= w[lo + p * k_dim + m] * w[lo + q * k_dim + m]
                    if p == q:
                        if not acc > 0.0:
                            return -math.inf
                        w[lo + p * k_dim + p] = math.sqrt(acc)
                    else:
                        w[lo + p * k_dim + q] = acc / w[lo + q * k_dim + q]
                for q in range(p + 1, k_dim):
                    w[lo + p * k_dim + q] = 0.0
            elif not w[lo + p * k_dim + p] > 0.0:
                return -math.inf
            log_diag += math.log(w[lo + p * k_dim + p])
        # L^-1 by forward substitution, column by column
        for q in range(k_dim):
            for p in range(k_dim):
                acc = 1.0 if p == q else 0.0
                for m in range(q, p):
                    acc -= w[lo + p * k_dim + m] * w[inv + m * k_dim + q]
                w[inv + p * k_dim + q] = acc / w[lo + p * k_dim + p] if p >= q else 0.0
        for p in range(k_dim):
            e = row + p
            w[r0 + p] = w[a0 + as_ * e + index[am + af * e]] - w[b0 + bs * e + index[bm + bf * e]]
        if kind == PRECISION:  # alpha = M r (sym part), log p = -r.alpha / 2 + log det(L)
            quad = 0.0
            for p in range(k_dim):
                acc = 0.0
                for q in range(k_dim):
                    e, e_t = mat + p * k_dim + q, mat + q * k_dim + p
                    acc += 0.5 * (w[c0 + cs * e + index[cm + cf * e]] + w[c0 + cs * e_t + index[cm + cf * e_t]]) * w[r0 + q]
                w[al0 + p] = acc
                quad += w[r0 + p] * acc
            total += -0.5 * quad + log_diag - k_dim * HALF_LOG_2PI
        else:  # u = L^-1 r, alpha = L^-T u
            quad = 0.0
            for p in range(k_dim):
                acc = 0.0
                for q in range(p + 1):
                    acc += w[inv + p * k_dim + q] * w[r0 + q]
                w[u0 + p] = acc
                quad += acc * acc
            for p in range(k_dim):
                acc = 0.0
                for q in range(p, k_dim):
                    acc += w[inv + q * k_dim + p] * w[u0 + q]
                w[al0 + p] = acc
            total += -0.5 * quad - log_diag - k_dim * HALF_LOG_2PI
        for p in range(k_dim):
            e = row + p
            if flags & 1:
                gw[a0 + as_ * e + index[am + af * e]] -= scale * w[al0 + p]
            if flags & 2:
                gw[b0 + bs * e + index[bm + bf * e]] += scale * w[al0 + p]
        if flags & 4:
            for p in range(k_dim):
                for q in range(k_dim):
                    inverse = 0.0  # (M^-1)_pq = sum_m L^-1_mp L^-1_mq for the covariance L L^T
                    for m in range(max(p, q), k_dim):
                        inverse += w[inv + m * k_dim + p] * w[inv + m * k_dim + q]
                    if kind == COV:
                        g = 0.5 * (w[al0 + p] * w[al0 + q] - inverse)
                    elif kind == PRECISION:
                        g = 0.5 * (inverse - w[r0 + p] * w[r0 + q])
                    elif q <= p:
                        g = w[al0 + p] * w[u0 + q] - (1.0 / w[lo + p * k_dim + p] if p == q else 0.0)
                    else:
                        g = 0.0
                    e = mat + p * k_dim + q
                    gw[c0 + cs * e + index[cm + cf * e]] += scale * g
    return scale * total


@njit(cache=True, error_model="numpy")
def _categorical(t, code, fparams, index, w, gw):
    """A Categorical term over n elements of K classes (class y_j in a, row j of b); partials into gw.

    probabilities p: log p = log p_y - log sum_k p_k (p normalised), d/dp_k = [k == y] / p_y - 1 / sum_k p_k;
    log-odds l: log p = l_y - logsumexp_k l_k, d/dl_k = [k == y] - softmax(l)_k. A value that is not a class
    index, a negative p or p_y = 0 give -inf (the graph walk's kernels: nbvi.distributions.categorical)."""
    n, n_classes, kind, flags, scale = code[t, 1], code[t, AUX0], code[t, AUX1], code[t, FLAGS], fparams[t, 0]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0, bs, bm = code[t, B], code[t, B + 1], code[t, B + 2]
    af, bf = min(am, 1), min(bm, 1)
    total = 0.0
    for j in range(n):
        y = w[a0 + as_ * j + index[am + af * j]]
        k = int(y) if 0.0 <= y < n_classes else -1
        if k != y:
            return -math.inf
        row = j * n_classes
        if kind == PROBABILITIES:
            norm = 0.0
            for c in range(n_classes):
                e = row + c
                pc = w[b0 + bs * e + index[bm + bf * e]]
                if pc < 0.0:
                    return -math.inf
                norm += pc
            e = row + k
            p_y = w[b0 + bs * e + index[bm + bf * e]]
            if not (norm > 0.0 and p_y > 0.0):
                return -math.inf
            total += math.log(p_y / norm)
            if flags & 2:
                for c in range(n_classes):
                    e = row + c
                    gw[b0 + bs * e + index[bm + bf * e]] += scale * ((1.0 / p_y if c == k else 0.0) - 1.0 / norm)
            continue
        top = -math.inf
        for c in range(n_classes):
            e = row + c
            top = max(top, w[b0 + bs * e + index[bm + bf * e]])
        sum_exp = 0.0
        for c in range(n_classes):
            e = row + c
            sum_exp += math.exp(w[b0 + bs * e + index[bm + bf * e]] - top)
        e = row + k
        log_norm = top + math.log(sum_exp)
        total += w[b0 + bs * e + index[bm + bf * e]] - log_norm
        if flags & 2:
            for c in range(n_classes):
                e = row + c
                p = b0 + bs * e + index[bm + bf * e]
                gw[p] += scale * ((1.0 if c == k else 0.0) - math.exp(w[p] - log_norm))
    return scale * total


@njit(cache=True, error_model="numpy")
def _stick_breaking(t, backward, code, w, gw):
    """x = stick-breaking(u) row by row (:class:`~nbvi.transforms.StickBreaking`), returning the log-Jacobian
    sum_k [log z_k + (K-1-k) log(1 - z_k)]; or, ``backward``, gw[u] += (dx/du)^T gw[x] + d log|J| / du.

    With v_k = u_k - log(K-1-k), z_k = sigmoid(v_k), r_0 = 1, r_{k+1} = r_k (1 - z_k): x_k = r_k z_k and
    x_{K-1} = r_{K-1}. Backward: g_u_k = x_k g_k - z_k S_k with S_k = sum_{j>=k} x_j g_j, and
    d log|J| / du_k = 1 - (K-k) z_k.
    """
    n, n_comp = code[t, 1], code[t, AUX0]
    x0, u0 = code[t, OUT], code[t, A]
    m = n_comp - 1
    log_jac = 0.0
    for j in range(n):
        u_row, x_row = u0 + j * m, x0 + j * n_comp
        if not backward:
            log_r = 0.0  # log of the stick left
            for k in range(m):
                v = w[u_row + k] - math.log(m - k)
                log_z, log_1mz = log_sigmoid(v), log_sigmoid(-v)
                w[x_row + k] = math.exp(log_r + log_z)
                log_r += log_1mz
                log_jac += log_z + (m - k) * log_1mz
            w[x_row + m] = math.exp(log_r)
            continue
        tail = w[x_row + m] * gw[x_row + m]  # S_k, the reverse cumulative sum of x_j g_j
        for k in range(m - 1, -1, -1):
            xg = w[x_row + k] * gw[x_row + k]
            tail += xg
            z = math.exp(log_sigmoid(w[u_row + k] - math.log(m - k)))
            gw[u_row + k] += xg - z * tail + 1.0 - (n_comp - k) * z
    return log_jac


@njit(cache=True, error_model="numpy")
def _lines(t, backward, code, index, w, gw):
    """PROD, CUMSUM or CUMPROD along aux0 lines of aux1 elements (element k of line l is j = l aux1 + k, read
    at p_a(j)), or, ``backward``, their gradients (g = d logp / d out):

    PROD: out_l = prod_k a_k; d/da_k = (prod_{s < k} a_s) (prod_{s > k} a_s), the products after a_k computed
    first into the scratch b (no division: exact where elements are 0).
    CUMSUM: out_k = sum_{s <= k} a_s; d/da_s = sum_{k >= s} g_k, summed from the end.
    CUMPROD: out_k = prod_{s <= k} a_s; d/da_s = out_{s-1} R_s with R_s = g_s + a_{s+1} R_{s+1} (out_{-1} = 1).
    """
    op, lines, length = code[t, 0], code[t, AUX0], code[t, AUX1]
    o0, os, om = code[t, OUT], code[t, OUT + 1], code[t, OUT + 2]
    a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
    b0 = code[t, B]
    of, af = min(om, 1), min(am, 1)
    for line in range(lines):
        first = line * length
        if op == PROD:
            po = o0 + os * line + index[om + of * line]
            if not backward:
                acc = 1.0
                for k in range(length):
                    j = first + k
                    acc *= w[a0 + as_ * j + index[am + af * j]]
                w[po] = acc
                continue
            g = gw[po]
            after = 1.0
            for k in range(length - 1, -1, -1):
                w[b0 + k] = after
                j = first + k
                after *= w[a0 + as_ * j + index[am + af * j]]
            before = 1.0
            for k in range(length):
                j = first + k
                pa = a0 + as_ * j + index[am + af * j]
                gw[pa] += g * (before * w[b0 + k])
                before *= w[pa]
        elif not backward:
            acc = 0.0 if op == CUMSUM else 1.0
            for k in range(length):
                j = first + k
                value = w[a0 + as_ * j + index[am + af * j]]
                acc = acc + value if op == CUMSUM else acc * value
                w[o0 + os * j + index[om + of * j]] = acc
        elif op == CUMSUM:
            acc = 0.0
            for k in range(length - 1, -1, -1):
                j = first + k
                acc += gw[o0 + os * j + index[om + of * j]]
                gw[a0 + as_ * j + index[am + af * j]] += acc
        else:  # CUMPROD
            tail = 0.0
            for k in range(length - 1, -1, -1):
                j = first + k
                g = gw[o0 + os * j + index[om + of * j]]
                tail = g + w[a0 + as_ * (j + 1) + index[am + af * (j + 1)]] * tail if k + 1 < length else g + tail
                if k > 0:
                    gw[a0 + as_ * j + index[am + af * j]] += w[o0 + os * (j - 1) + index[om + of * (j - 1)]] * tail
                else:
                    gw[a0 + as_ * j + index[am + af * j]] += tail


@njit(cache=True, error_model="numpy")
def _ordered(t, backward, code, w, gw):
    """x = ordered(u) row by row (:class:`~nbvi.transforms.Ordered`), returning the log-Jacobian
    sum_{k>=1} u_k; or, ``backward``, gw[u] += (dx/du)^T gw[x] + d log|J| / du.

    x_0 = u_0, x_k = x_{k-1} + e^{u_k}. Backward, with S_k = sum_{j>=k} g_j (g = gw[x]):
    g_u_0 = S_0 and g_u_k = e^{u_k} S_k + 1 (the 1 from the log-Jacobian) for k >= 1.
    """
    n, k_dim = code[t, 1], code[t, AUX0]
    x0, u0 = code[t, OUT], code[t, A]
    log_jac = 0.0
    for j in range(n):
        x_row, u_row = x0 + j * k_dim, u0 + j * k_dim
        if not backward:
            w[x_row] = w[u_row]
            for k in range(1, k_dim):
                w[x_row + k] = w[x_row + k - 1] + math.exp(w[u_row + k])
                log_jac += w[u_row + k]
            continue
        tail = 0.0
        for k in range(k_dim - 1, 0, -1):
            tail += gw[x_row + k]
            gw[u_row + k] += math.exp(w[u_row + k]) * tail + 1.0
        gw[u_row] += tail + gw[x_row]
    return log_jac
