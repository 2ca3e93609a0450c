"""NUTS with a whole trajectory per compiled call (a compiled density's ``nuts_trajectory``), and the draws
and warm-up in compiled blocks of transitions (``nuts_draws``, tape and fused), draw exactly what the loop from
Python draws with the same seed, statistics included."""
import signal

import numpy as np
import pytest

import nbvi
from nbvi.sampling import sample as sample_module


def eight_schools(centered):
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        if centered:
            theta = nbvi.Normal("theta", mu, tau, shape=8)
        else:
            theta = mu + tau * nbvi.Normal("eta", 0.0, 1.0, shape=8)
        nbvi.Normal("y", theta, sigma, observed=y)
        nbvi.Normal("fixed", 0.0, 1.0, observed=0.3)  # a term without free variables
    return model


@pytest.mark.parametrize("init", ["jitter+adapt_diag", "jitter+adapt_full"])
@pytest.mark.parametrize("centered, path", [(True, "fused"), (False, "tape")])
def test_compiled_trajectories_draw_what_the_python_loop_draws(centered, path, init, monkeypatch):
    model = eight_schools(centered)
    assert nbvi.explain(model).path == path and model.compiled_density().nuts_trajectory() is not None
    assert model.compiled_density().nuts_draws() is not None
    options = dict(draws=600, tune=150, chains=1, random_seed=5, progressbar=False, model=model, init=init)
    with np.errstate(over="ignore"):
        compiled = nbvi.sample(**options)
        monkeypatch.setattr(sample_module, "_compiled_draws", lambda model: None)  # transitions from Python
        per_transition = nbvi.sample(**options)
        monkeypatch.setattr(sample_module, "_compiled_trajectory", lambda model: None)  # steps from Python
        python = nbvi.sample(**options)
    for name in ("mu", "tau"):
        np.testing.assert_array_equal(compiled[name], per_transition[name])
    for name in per_transition.sample_stats:
        np.testing.assert_array_equal(compiled.sample_stats[name], per_transition.sample_stats[name])
    for name in ("mu", "tau"):
        np.testing.assert_array_equal(compiled[name], python[name])
    np.testing.assert_array_equal(compiled.sample_stats["tree_depth"], python.sample_stats["tree_depth"])


def test_a_model_with_an_overridden_density_steps_from_python():
    class Own(nbvi.Model):
        def logp_dlogp(self, theta):
            return super().logp_dlogp(theta)

    with Own() as model:
        nbvi.Normal("x", 0.0, 1.0)
    assert sample_module._compiled_trajectory(model) is None
    draws = nbvi.sample(draws=200, tune=200, chains=1, random_seed=1, model=model, progressbar=False)
    assert abs(draws["x"].mean()) < 0.5


def test_ctrl_c_while_sampling_returns_the_draws_made(monkeypatch):
    model = eight_schools(False)
    density = model.compiled_density()
    make_runner = density.nuts_draws

    def runner_with_ctrl_c():
        run = make_runner()
        calls = []

        def run_then_ctrl_c(*args):
            result = run(*args)
            calls.append(result)
            if len(calls) == 6:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives during the sixth compiled block
            return result

        return run_then_ctrl_c

    monkeypatch.setattr(density, "nuts_draws", runner_with_ctrl_c)
    with pytest.warns(UserWarning, match="interrupted"):
        trace = nbvi.sample(draws=2000, tune=100, chains=2, random_seed=5, progressbar=False, model=model)
    made = len(trace["mu"])
    assert 0 < made < 2000 and set(trace.chain) == {0}
    assert len(trace.sample_stats["diverging"]) == made
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_transition_uses_the_trajectory_it_is_given():
    from nbvi.sampling.nuts import NUTSState, make_workspace, transition

    model = eight_schools(False)
    run = model.compiled_density().nuts_trajectory()
    calls = []
    ws = make_workspace(model.ndim)
    q = model.initial_point_flat()
    logp, grad = model.logp_dlogp(q[None])
    rng = np.random.default_rng(0)
    transition(ws, model.logp_dlogp, NUTSState(q, float(logp[0]), grad[0]), 0.3, np.ones(model.ndim),
               rng.standard_normal(model.ndim), rng.random(ws.n_uniforms),
               trajectory=lambda ws, uniforms: calls.append(1) or run(ws, uniforms))
    assert calls == [1]
