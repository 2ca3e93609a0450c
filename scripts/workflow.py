"""One regression through the Bayesian workflow with nbvi: the code of docs/workflow.md.

    python scripts/workflow.py

Fuel economy of the 32 cars of ``mtcars`` (Motor Trend, 1974) against weight and horsepower, with and
without their interaction, in the order a PyMC v5 user would go:

1. the data and the model, with coords, dims and ``nbvi.Data`` for the predictors;
2. a prior predictive check (``nbvi.sample_prior_predictive``);
3. the fit: ``nbvi.fit()`` (deterministic ADVI), ``approx.sample(..., return_inferencedata=True)``, and
   NUTS (``nbvi.sample``) to compare with;
4. a posterior predictive check (``nbvi.sample_posterior_predictive``);
5. PSIS-LOO with ArviZ (``nbvi.compute_log_likelihood``, ``arviz.loo``, ``arviz.compare``);
6. predictions for new cars (``nbvi.set_data`` and ``sample_posterior_predictive(..., predictions=True)``).

Figures go to docs/figures/workflow_*.png. Environment: ``NBVI_WORKFLOW_QUICK=1`` runs with far fewer
draws (a smoke run, tests/test_workflow_script.py); ``NBVI_WORKFLOW_OUT=DIR`` writes the figures into DIR.
Needs matplotlib and arviz (``pip install -e ".[test]"``).
"""
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import arviz as az  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import nbvi  # noqa: E402

QUICK = os.environ.get("NBVI_WORKFLOW_QUICK", "") not in ("", "0")
OUT = Path(os.environ.get("NBVI_WORKFLOW_OUT", Path(__file__).resolve().parents[1] / "docs" / "figures"))
DRAWS = 200 if QUICK else 1000  # NUTS draws per chain, and tuning steps
CHAINS = 4
VI_DRAWS = 800 if QUICK else 4000  # draws from the fitted q (as many as NUTS gives: 4 chains x 1000)
PRIOR_DRAWS = 100 if QUICK else 500
DPI = 90
START = time.perf_counter()
np.set_printoptions(precision=3, suppress=True)


def save(fig, name):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path.name}")


# -- 1. The data and the model --------------------------------------------------------------------------
# mtcars (Henderson and Velleman 1981, from Motor Trend 1974): miles per US gallon, weight (1000 lb) and
# gross horsepower of 32 cars.
MTCARS = """\
Mazda RX4           21.0 2.620 110 | Mazda RX4 Wag       21.0 2.875 110 | Datsun 710          22.8 2.320  93
Hornet 4 Drive      21.4 3.215 110 | Hornet Sportabout   18.7 3.440 175 | Valiant             18.1 3.460 105
Duster 360          14.3 3.570 245 | Merc 240D           24.4 3.190  62 | Merc 230            22.8 3.150  95
Merc 280            19.2 3.440 123 | Merc 280C           17.8 3.440 123 | Merc 450SE          16.4 4.070 180
Merc 450SL          17.3 3.730 180 | Merc 450SLC         15.2 3.780 180 | Cadillac Fleetwood  10.4 5.250 205
Lincoln Continental 10.4 5.424 215 | Chrysler Imperial   14.7 5.345 230 | Fiat 128            32.4 2.200  66
Honda Civic         30.4 1.615  52 | Toyota Corolla      33.9 1.835  65 | Toyota Corona       21.5 2.465  97
Dodge Challenger    15.5 3.520 150 | AMC Javelin         15.2 3.435 150 | Camaro Z28          13.3 3.840 245
Pontiac Firebird    19.2 3.845 175 | Fiat X1-9           27.3 1.935  66 | Porsche 914-2       26.0 2.140  91
Lotus Europa        30.4 1.513 113 | Ford Pantera L      15.8 3.170 264 | Ferrari Dino        19.7 2.770 175
Maserati Bora       15.0 3.570 335 | Volvo 142E          21.4 2.780 109"""
cars = [entry.rsplit(maxsplit=3) for line in MTCARS.splitlines() for entry in line.split("|")]
names = [car[0].strip() for car in cars]
mpg, weight, hp = (np.array([float(car[k]) for car in cars]) for k in (1, 2, 3))



def scaled(weight, hp):
    """Centred and scaled predictors: (0, 0) is a 3,000 lb, 150 hp car; slopes are per 1,000 lb and per 100 hp."""
    return weight - 3.0, (hp - 150.0) / 100.0


wt_c, hp_c = scaled(weight, hp)


def regression(interaction=True):
    with nbvi.Model(coords={"car": names}) as model:
        x_wt = nbvi.Data("wt", wt_c, dims="car")
        x_hp = nbvi.Data("hp", hp_c, dims="car")
        intercept = nbvi.Normal("intercept", 20.0, 10.0)  # mpg of a 3,000 lb, 150 hp car
        b_wt = nbvi.Normal("b_wt", 0.0, 5.0)  # mpg per 1,000 lb
        b_hp = nbvi.Normal("b_hp", 0.0, 5.0)  # mpg per 100 hp
        mu = intercept + b_wt * x_wt + b_hp * x_hp
        if interaction:
            b_wt_hp = nbvi.Normal("b_wt_hp", 0.0, 5.0)  # change of b_hp per 1,000 lb
            mu = mu + b_wt_hp * x_wt * x_hp
        sigma = nbvi.HalfNormal("sigma", 5.0)
        mu = nbvi.Deterministic("mu", mu, dims="car")
        nbvi.Normal("mpg", mu, sigma, observed=mpg, dims="car")
    return model


model = regression(interaction=True)
print(f"{len(mpg)} cars: mpg {mpg.min()} - {mpg.max()}, weight {weight.min()} - {weight.max()} (1000 lb), "
      f"horsepower {hp.min():.0f} - {hp.max():.0f}")


def least_squares(w, h):
    """Least-squares coefficients of mpg on (1, w, h, w h), and the largest correlation between two of them."""
    X = np.column_stack([np.ones_like(w), w, h, w * h])
    cov = np.linalg.inv(X.T @ X)  # the coefficients' covariance, up to sigma^2
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    return np.linalg.solve(X.T @ X, X.T @ mpg), np.abs(corr - np.eye(4)).max()


ls_coef, ls_corr = least_squares(wt_c, hp_c)
print(f"least squares: intercept {ls_coef[0]:.3f}, b_wt {ls_coef[1]:.3f}, b_hp {ls_coef[2]:.3f}, "
      f"b_wt_hp {ls_coef[3]:.3f}")
print(f"largest correlation of two least-squares coefficients: {ls_corr:.2f} "
      f"({least_squares(weight, hp)[1]:.2f} with the raw predictors)")

# -- 2. Prior predictive check ----------------------------------------------------------------------------
print("\n== 2. Prior predictive check ==")
with model:
    prior = nbvi.sample_prior_predictive(PRIOR_DRAWS, random_seed=1, return_inferencedata=True)
prior_mpg = prior["prior_predictive"]["mpg"].values.reshape(-1, len(mpg))  # (draws, cars)
print(f"prior predictive mpg: median {np.median(prior_mpg):.1f}, 94% interval "
      f"[{np.quantile(prior_mpg, 0.03):.1f}, {np.quantile(prior_mpg, 0.97):.1f}]; "
      f"{np.mean(prior_mpg < 0):.1%} of the draws below 0 mpg, {np.mean(prior_mpg > 60):.1%} above 60")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
hp_grid = np.arange(50.0, 341.0, 5.0)  # 50, 55, ..., 340 hp
a = prior["prior"]["intercept"].values.ravel()
b = prior["prior"]["b_hp"].values.ravel()
for i in range(50):  # 50 prior regression lines for a 3,000 lb car
    axes[0].plot(hp_grid, a[i] + b[i] * scaled(3.0, hp_grid)[1], color="C0", alpha=0.25, lw=1)
axes[0].scatter(hp, mpg, color="k", s=12, zorder=3, label="the 32 cars")
axes[0].set(xlabel="horsepower", ylabel="mpg", title="50 prior regression lines (3,000 lb)")
axes[0].legend()
bins = np.linspace(-40, 80, 61)
axes[1].hist(prior_mpg.ravel(), bins=bins, density=True, color="C0", alpha=0.5, label="prior predictive")
axes[1].hist(mpg, bins=bins, density=True, color="k", alpha=0.6, label="observed")
axes[1].set(xlabel="mpg", ylabel="density", title="prior predictive mpg against the data")
axes[1].legend()
save(fig, "workflow_prior_predictive.png")

# -- 3. Fit: deterministic ADVI (mean-field, then full-rank), and NUTS to compare ---------------------------
print("\n== 3. Fit ==")
with model:
    approx = nbvi.fit(random_seed=2)  # the default: deterministic mean-field ADVI, run until it converges
    approx_fr = nbvi.fit(method="fullrank_advi", random_seed=2)
    idata_nuts = nbvi.sample(DRAWS, tune=DRAWS, chains=CHAINS, random_seed=3, return_inferencedata=True,
                             idata_kwargs={"log_likelihood": True})
idata_mf = approx.sample(VI_DRAWS, random_seed=4, return_inferencedata=True)
idata_fr = approx_fr.sample(VI_DRAWS, random_seed=4, return_inferencedata=True)
print(f"mean-field: {len(approx.hist)} L-BFGS iterations, Pareto k-hat {approx.khat:.2f}; "
      f"full-rank: {len(approx_fr.hist)} iterations, k-hat {approx_fr.khat:.2f}")

params = ["intercept", "b_wt", "b_hp", "b_wt_hp", "sigma"]
nuts_summary = az.summary(idata_nuts, var_names=params)
print(f"NUTS: {CHAINS} chains x {DRAWS} draws, {int(idata_nuts['sample_stats']['diverging'].sum())} divergences, "
      f"largest R-hat {nuts_summary['r_hat'].max():.2f}, smallest bulk ESS {nuts_summary['ess_bulk'].min():.0f}")
draws = np.array([idata_nuts["posterior"][name].values.ravel() for name in params])
corr = np.corrcoef(draws)
pairs = [(corr[i, j], f"{params[i]} & {params[j]}") for i in range(len(params)) for j in range(i)]
print("NUTS posterior correlations beyond 0.5: " + ", ".join(f"{pair} {r:.2f}" for r, pair in pairs if abs(r) > 0.5))
fits = {"mean-field": idata_mf, "full-rank": idata_fr, "NUTS": idata_nuts}
print(f"{'':10s}" + "".join(f"{label:>20s}" for label in fits))
print(f"{'':10s}" + "        mean      sd" * len(fits))
for name in params:
    print(f"{name:10s}" + "".join(f"{fit['posterior'][name].values.mean():12.3f}{fit['posterior'][name].values.std():8.3f}"
                                  for fit in fits.values()))

# -- 4. Posterior predictive check -------------------------------------------------------------------------
print("\n== 4. Posterior predictive check ==")
with model:
    nbvi.sample_posterior_predictive(idata_fr, random_seed=5, extend_inferencedata=True)
pp_mpg = idata_fr["posterior_predictive"]["mpg"].values.reshape(-1, len(mpg))  # (draws, cars)
low, high = np.quantile(pp_mpg, [0.03, 0.97], axis=0)  # each car's 94% predictive interval
inside = np.mean((mpg >= low) & (mpg <= high))
print(f"{inside:.0%} of the cars inside their 94% predictive interval")
for label, statistic in [("min", np.min), ("max", np.max), ("sd", np.std)]:
    replicated = statistic(pp_mpg, axis=1)
    print(f"{label:>3s}: observed {statistic(mpg):5.2f}, replicated data sets {np.median(replicated):5.2f} "
          f"(median); P(replicated >= observed) = {np.mean(replicated >= statistic(mpg)):.2f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
rng = np.random.default_rng(6)
for k, i in enumerate(rng.choice(len(pp_mpg), 50, replace=False)):  # the densities of 50 replicated data sets
    axes[0].plot(*nbvi.plots.gaussian_kde(pp_mpg[i]), color="C0", alpha=0.2, lw=1,
                 label="replicated data" if k == 0 else None)
axes[0].plot(*nbvi.plots.gaussian_kde(mpg), color="k", lw=2, label="observed")
axes[0].set(xlabel="mpg", ylabel="density", title="observed mpg and 50 replicated data sets")
axes[0].legend()
order = np.argsort(pp_mpg.mean(axis=0))
x = np.arange(len(mpg))
axes[1].vlines(x, low[order], high[order], color="C0", alpha=0.5, lw=3, label="94% predictive interval")
axes[1].scatter(x, mpg[order], color="k", s=12, zorder=3, label="observed")
axes[1].set(xlabel="car, by predicted mpg", ylabel="mpg", title="each car against its predictive interval")
axes[1].legend()
save(fig, "workflow_posterior_predictive.png")

# -- 5. LOO: with and without the interaction --------------------------------------------------------------
print("\n== 5. LOO ==")
with model:
    nbvi.compute_log_likelihood(idata_fr)  # adds the log_likelihood group: log p(mpg_i | theta) per draw, car
loo_fr = az.loo(idata_fr, pointwise=True)
print(loo_fr)
k_fr = loo_fr.pareto_k.values
k_nuts = az.loo(idata_nuts, pointwise=True).pareto_k.values
print(f"largest Pareto k: {k_fr.max():.2f} from the full-rank draws, {k_nuts.max():.2f} from the NUTS draws")
print("cars with k > 0.7 from the full-rank draws, and their k from the NUTS draws:")
for i in np.flatnonzero(k_fr > 0.7):
    print(f"  {names[i]:17s} {mpg[i]:4.1f} mpg, {1000 * weight[i]:5.0f} lb, {hp[i]:3.0f} hp: "
          f"k {k_fr[i]:.2f} (ADVI), {k_nuts[i]:.2f} (NUTS)")
sigma_fr, sigma_nuts = (fit["posterior"]["sigma"].values.ravel() for fit in (idata_fr, idata_nuts))
print(f"sigma, 0.1% and 1% quantiles: ADVI {np.quantile(sigma_fr, 0.001):.2f}, {np.quantile(sigma_fr, 0.01):.2f}; "
      f"NUTS {np.quantile(sigma_nuts, 0.001):.2f}, {np.quantile(sigma_nuts, 0.01):.2f}")

additive = regression(interaction=False)
with additive:
    approx_add = nbvi.fit(method="fullrank_advi", random_seed=2)
    idata_nuts_add = nbvi.sample(DRAWS, tune=DRAWS, chains=CHAINS, random_seed=3, return_inferencedata=True,
                                 idata_kwargs={"log_likelihood": True})
idata_fr_add = approx_add.sample(VI_DRAWS, random_seed=4, return_inferencedata=True,
                                 idata_kwargs={"log_likelihood": True})
print("full-rank ADVI draws:")
print(az.compare({"interaction": idata_fr, "additive": idata_fr_add}).round(2).to_string())
print("NUTS draws:")
print(az.compare({"interaction": idata_nuts, "additive": idata_nuts_add}).round(2).to_string())

# -- 6. Predictions for new cars ------------------------------------------------------------------------------
print("\n== 6. Predictions ==")
new_weight = np.repeat([2.0, 3.0, 4.0], len(hp_grid))  # 3 weights x 59 horsepowers: 177 made-up cars
new_hp = np.tile(hp_grid, 3)
labels = [f"{w:.0f},000 lb, {h:.0f} hp" for w, h in zip(new_weight, new_hp)]
new_wt_c, new_hp_c = scaled(new_weight, new_hp)
with model:
    nbvi.set_data({"wt": new_wt_c, "hp": new_hp_c}, coords={"car": labels})
    nbvi.sample_posterior_predictive(idata_fr, var_names=["mpg", "mu"], predictions=True,
                                     extend_inferencedata=True, random_seed=7)
pred_mpg = idata_fr["predictions"]["mpg"].values.reshape(-1, len(labels))  # (draws, new cars)
pred_mu = idata_fr["predictions"]["mu"].values.reshape(-1, len(labels))
for w in (2.0, 3.0, 4.0):
    for h in (100.0, 250.0):
        i = labels.index(f"{w:.0f},000 lb, {h:.0f} hp")
        lo, hi = np.quantile(pred_mpg[:, i], [0.03, 0.97])
        print(f"{labels[i]}: mean mpg {pred_mu[:, i].mean():4.1f} (sd {pred_mu[:, i].std():.1f}); "
              f"a new car's mpg, 94% interval [{lo:.1f}, {hi:.1f}]")

fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
for ax, color, w in zip(axes, ["C0", "C1", "C3"], (2.0, 3.0, 4.0)):
    rows = new_weight == w
    lo, hi = np.quantile(pred_mpg[:, rows], [0.03, 0.97], axis=0)
    mu_lo, mu_hi = np.quantile(pred_mu[:, rows], [0.03, 0.97], axis=0)
    ax.fill_between(hp_grid, lo, hi, color=color, alpha=0.2, label="94%, a new car")
    ax.fill_between(hp_grid, mu_lo, mu_hi, color=color, alpha=0.45, label="94%, the mean")
    ax.plot(hp_grid, pred_mu[:, rows].mean(axis=0), color=color, lw=2, label="posterior mean")
    near = np.abs(weight - w) <= 0.5
    ax.scatter(hp[near], mpg[near], color="k", s=15, zorder=3, label="cars within 500 lb")
    ax.set(xlabel="horsepower", title=f"{w:.0f},000 lb", ylim=(0, 40))
axes[0].set_ylabel("mpg")
axes[0].legend(loc="lower left")
save(fig, "workflow_predictions.png")
print(f"\ntotal {time.perf_counter() - START:.1f} s")
