"""Where NUTS chains start, and with which metric, for PyMC's ADVI inits of ``nbvi.sample``.

PyMC's ``init="advi"`` runs ADVI, starts each chain at one draw from the mean-field approximation q and
uses q's variances as the diagonal inverse metric, fixed for all the run (only the step size is adapted
during warm-up); ``"advi+adapt_diag"`` starts the same way but takes q's variances as the first metric of
the adapted one; ``"advi_map"`` is ``"advi"`` with ADVI started at the MAP (``find_MAP``).

PyMC runs 200,000 stochastic steps of ``adagrad_window`` (with a convergence callback). nbvi runs its
default fit, deterministic ADVI until it converges (docs/advi.md, "The default fit"): usually well under a
second on the models NUTS is run on, and the same seed gives the same q. The draws are made in the
unconstrained space, ``mu + sd * z`` with ``z ~ N(0, I)``, which is what ``approx.sample`` draws before
mapping to constrained values.
"""
import warnings

import numpy as np

__all__ = ["ADVI_INITS", "advi_start"]

ADVI_INITS = ("advi", "advi+adapt_diag", "advi_map")


def advi_start(model, init, chains, seed, start=None, progressbar=False):
    """ADVI's starting points of ``chains`` chains and its diagonal inverse metric.

    Parameters
    ----------
    model : Model
    init : {"advi", "advi+adapt_diag", "advi_map"}
        "advi_map" starts ADVI at the MAP (itself searched from ``start``).
    chains : int
    seed : numpy SeedSequence or int
        Seeds ADVI and then the draws of the starting points.
    start : ndarray (ndim,), optional
        Where ADVI (or, for "advi_map", the search of the MAP) starts; default the model's initial point.
    progressbar : bool

    Returns
    -------
    points : ndarray (chains, ndim)
        One draw from q per chain, in the unconstrained space.
    inv_metric : ndarray (ndim,)
        q's variances, ``sd ** 2``.
    """
    from nbvi.optimize import find_MAP  # (imported here: the sampler does not need them otherwise)
    from nbvi.variational.inference import fit
    from nbvi.variational.psis import PSISWarning

    if init not in ADVI_INITS:
        raise ValueError(f"init must be one of {ADVI_INITS}, got {init!r}")
    rng = np.random.default_rng(seed)
    if init == "advi_map":
        point = find_MAP(start=start, model=model, progressbar=progressbar, include_transformed=False)
        start = {rv.name: point[rv.name] for rv in model.free_RVs}
    with warnings.catch_warnings():  # (q only has to start the chains near the posterior: its k-hat is no concern)
        warnings.simplefilter("ignore", PSISWarning)
        approx = fit(model=model, random_seed=int(rng.integers(2**63)), start=start, progressbar=progressbar)
    mean = np.asarray(approx.mean.eval(), dtype=np.float64).reshape(-1)
    sd = np.asarray(approx.std.eval(), dtype=np.float64).reshape(-1)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        raise ValueError(f"init={init!r}: ADVI ended with a non-finite mean or standard deviation; use "
                         f"init=\"jitter+adapt_diag\" or give initvals")
    points = mean + sd * rng.standard_normal((chains, mean.size))
    return points, sd ** 2
