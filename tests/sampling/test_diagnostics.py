"""R-hat, ESS, HDI and summary against a plain NumPy reference written from Vehtari et al. (2021)."""
from statistics import NormalDist

import numpy as np
import pytest

from nbvi.sampling.diagnostics import Summary, effective_sample_size, ess_bulk, ess_tail, hdi, rhat, summary
from nbvi.trace import Trace


# -- reference: direct sums and explicit loops, no FFT, no scipy ---------------------------------------------
def ref_split(x):
    half = x.shape[1] // 2
    return np.vstack([x[:, :half], x[:, -half:]])


def ref_ranks(x):
    """Average ranks (1-based) of the pooled draws, ties sharing their mean rank."""
    flat = x.ravel()
    ranks = np.empty(flat.size)
    order = np.argsort(flat, kind="stable")
    i = 0
    while i < flat.size:
        j = i
        while j + 1 < flat.size and flat[order[j + 1]] == flat[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks.reshape(x.shape)


def ref_z(x):
    inv = np.vectorize(NormalDist().inv_cdf)
    return inv((ref_ranks(x) - 0.375) / (x.size + 0.25))


def ref_rhat_basic(x):
    m, n = x.shape
    means = x.mean(axis=1)
    w = np.mean([np.sum((c - c.mean()) ** 2) / (n - 1) for c in x])
    b = n * np.sum((means - means.mean()) ** 2) / (m - 1)
    return np.sqrt(((n - 1) / n * w + b / n) / w)


def ref_ess_basic(x):
    m, n = x.shape
    acov = np.array([[np.sum((c[:n - t] - c.mean()) * (c[t:] - c.mean())) / n for t in range(n)] for c in x])
    w = acov[:, 0].mean() * n / (n - 1)
    var_plus = w * (n - 1) / n + np.var(x.mean(axis=1), ddof=1)
    rho = 1 - (w - acov.mean(axis=0)) / var_plus
    # Stan's loop: pairs while positive, the first dropped pair's even term if positive, then monotone
    kept = np.zeros(n)
    kept[:2] = rho[:2]
    t, even, odd = 1, 1.0, rho[1]
    while t < n - 3 and even + odd > 0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0:
            kept[t + 1], kept[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        kept[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if kept[t + 1] + kept[t + 2] > kept[t - 1] + kept[t]:
            kept[t + 1] = kept[t + 2] = (kept[t - 1] + kept[t]) / 2
        t += 2
    tau = -1 + 2 * kept[:max_t + 1].sum() + kept[max_t + 1]
    return m * n / max(tau, 1 / np.log10(m * n))


def ar1_chains(m, n, phi, seed, shift=None):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((m, n))
    x = np.empty((m, n))
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi ** 2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x if shift is None else x + np.asarray(shift)[:, None]


CASES = [ar1_chains(4, 301, 0.0, 1), ar1_chains(2, 400, 0.7, 2), ar1_chains(3, 250, -0.4, 3),
         ar1_chains(4, 200, 0.9, 4, shift=[0, 0, 0, 2.0]), np.round(ar1_chains(2, 300, 0.5, 5), 1)]


@pytest.mark.parametrize("x", CASES)
def test_against_reference(x):
    s = ref_split(x)
    assert rhat(x) == pytest.approx(max(ref_rhat_basic(ref_z(s)), ref_rhat_basic(ref_z(np.abs(s - np.median(s))))),
                                    rel=1e-10)
    assert ess_bulk(x) == pytest.approx(ref_ess_basic(ref_z(s)), rel=1e-8)
    tail = min(ref_ess_basic((s <= np.quantile(s, p)).astype(float)) for p in (0.05, 0.95))
    assert ess_tail(x) == pytest.approx(tail, rel=1e-8)
    assert effective_sample_size(x, method="basic") == pytest.approx(ref_ess_basic(s), rel=1e-8)
    assert effective_sample_size(x) == ess_bulk(x) and effective_sample_size(x, "tail") == ess_tail(x)


def test_ess_matches_theory_for_ar1():
    # AR(1) with coefficient phi: ESS = S (1 - phi) / (1 + phi); iid: S. The estimators' own spread is ~10%
    x = ar1_chains(4, 5000, 0.8, 7)
    assert effective_sample_size(x, "basic") == pytest.approx(20000 * 0.2 / 1.8, rel=0.15)
    iid = ar1_chains(4, 2000, 0.0, 8)
    assert ess_bulk(iid) == pytest.approx(8000, rel=0.1)
    assert ess_tail(iid) == pytest.approx(8000, rel=0.15)


def test_rhat_flags_disagreeing_chains():
    assert rhat(ar1_chains(4, 1000, 0.3, 9)) < 1.01
    assert rhat(ar1_chains(4, 1000, 0.3, 9, shift=[0, 0, 0, 1.0])) > 1.05
    # same location, different scale: only the folded (tail) R-hat sees it
    x = ar1_chains(4, 1000, 0.0, 10)
    x[3] *= 3
    assert rhat(x) > 1.05
    # a chain that drifts: only split R-hat sees it
    drift = ar1_chains(2, 1000, 0.0, 11) + np.linspace(0, 3, 1000)
    assert rhat(drift) > 1.1


def test_hdi():
    x = np.random.default_rng(0).standard_normal(200_000)
    lo, hi = hdi(x, 0.94)
    assert lo == pytest.approx(-1.881, abs=0.02) and hi == pytest.approx(1.881, abs=0.02)
    # skewed: the HDI of an exponential starts at its mode, 0
    lo, hi = hdi(np.random.default_rng(1).exponential(size=100_000), 0.9)
    assert lo == pytest.approx(0.0, abs=1e-3) and hi == pytest.approx(-np.log(0.1), rel=0.02)


def test_bad_shapes_and_methods():
    with pytest.raises(ValueError, match="method"):
        effective_sample_size(np.zeros((2, 10)), method="mean")
    with pytest.raises(ValueError, match="chains, draws"):
        rhat(np.zeros((2, 3, 4)))
    assert ess_bulk(np.ones((2, 100))) == 200  # constant draws


def test_summary_of_a_trace():
    rng = np.random.default_rng(0)
    n = 500
    trace = Trace({"a": rng.normal(1.0, 2.0, size=2 * n), "b": rng.normal(size=(2 * n, 2, 3))},
                  chain=np.repeat([0, 1], n))
    table = summary(trace)
    assert set(table) == {"a", "b"} and isinstance(table["a"], Summary)
    assert set(table["a"].keys()) == {"mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat"}
    assert table["b"]["mean"].shape == (2, 3)
    a = trace["a"].reshape(2, n)
    assert table["a"]["mean"] == pytest.approx(a.mean()) and table["a"]["sd"] == pytest.approx(a.std(ddof=1))
    assert table["a"]["ess_bulk"] == pytest.approx(ess_bulk(a)) and table["a"]["r_hat"] == pytest.approx(rhat(a))
    assert (table["a"]["hdi_3%"], table["a"]["hdi_97%"]) == hdi(a)
    b01 = trace["b"][:, 0, 1].reshape(2, n)
    assert table["b"]["ess_tail"][0, 1] == pytest.approx(ess_tail(b01))
    text = repr(table["b"])
    assert "b[1][2]" in text and "r_hat" in text and len(text.splitlines()) == 7
    assert set(summary(trace, var_names=["a"])) == {"a"}
    whole = repr(table).splitlines()  # every variable in one table: one header, a row per element
    assert len(whole) == 1 + 1 + 6 and whole[0].split() == ["mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk",
                                                            "ess_tail", "r_hat"]
    assert whole[1].startswith("a ") and whole[-1].startswith("b[1][2]")
    assert float(whole[1].split()[1]) == pytest.approx(a.mean(), abs=5e-4)
