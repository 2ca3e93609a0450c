"""Bad options of optimizers, callbacks and approximations, as a user meets them: refused where they are
given, naming the option, never converted (a string is not a learning rate) (issue "Reliability")."""
import numpy as np
import pytest

import nbvi
from nbvi.callbacks import CheckParametersConvergence, Tracker

FACTORIES = [nbvi.sgd, nbvi.momentum, nbvi.nesterov_momentum, nbvi.adagrad, nbvi.adagrad_window, nbvi.rmsprop,
             nbvi.adadelta, nbvi.adam, nbvi.adamax]


@pytest.mark.parametrize("factory", FACTORIES, ids=[f.__name__ for f in FACTORIES])
@pytest.mark.parametrize("option", ["learning_rate", "max_grad_norm"])
def test_a_string_is_not_a_number(factory, option):
    with pytest.raises(TypeError, match=f"{option} must be a number; got '0.1'"):
        factory(**{option: "0.1"})


def test_settings_given_as_strings_are_refused():
    with pytest.raises(TypeError, match="beta2 must be a number"):
        nbvi.adam(beta2="0.9")
    with pytest.raises(TypeError, match="momentum must be a number"):
        nbvi.momentum(momentum="0.5")
    with pytest.raises(TypeError, match="size must be an integer"):
        nbvi.adam().init(2.5)


@pytest.mark.parametrize("options, error, match", [
    ({"every": 2.5}, ValueError, "every must be an integer"), ({"every": "10"}, TypeError, "every must be an integer"),
    ({"every": True}, TypeError, "every must be an integer"), ({"every": 0}, ValueError, "every must be >= 1"),
    ({"tolerance": -1.0}, ValueError, "tolerance must be > 0"), ({"tolerance": np.nan}, ValueError, "tolerance must be finite"),
    ({"tolerance": "1e-3"}, TypeError, "tolerance must be a number"),
    ({"diff": "rel"}, ValueError, r"diff must be one of \['relative', 'absolute'\]"),
    ({"ord": "foo"}, TypeError, "ord must be None or a number"),
])
def test_check_parameters_convergence_checks_its_options(options, error, match):
    with pytest.raises(error, match=match):
        CheckParametersConvergence(**options)


@pytest.mark.parametrize("every, error", [(2.5, ValueError), ("2", TypeError), (0, ValueError)])
def test_tracker_every_must_be_a_count(every, error):
    with pytest.raises(error, match="Tracker: every must be"):
        Tracker(every=every, mean=lambda: 0.0)


@pytest.fixture(scope="module")
def fitted():
    X = nbvi.Data(np.ones(3), name="X")
    with nbvi.Model() as m:
        w = nbvi.Normal("w", 0.0, 1.0)
        nbvi.Normal("y", w * X, 1.0, observed=np.zeros(3))
    return nbvi.fit(10, model=m, random_seed=1, progressbar=False), w, X


@pytest.mark.parametrize("draws, error", [(0, ValueError), (2.5, ValueError), ("10", TypeError), (True, TypeError),
                                          (None, TypeError)])
def test_approx_sample_draws_must_be_a_positive_count(fitted, draws, error):
    approx, _, _ = fitted
    with pytest.raises(error, match="draws must be"):
        approx.sample(draws)


def test_approx_sample_names_a_bad_random_seed(fitted):
    approx, _, _ = fitted
    with pytest.raises((TypeError, ValueError), match="random_seed"):
        approx.sample(10, random_seed="a")


@pytest.mark.parametrize("value, error, match", [(np.array(["a", "b", "c"]), TypeError, "must be real numbers"),
                                                 (None, TypeError, "must be real numbers, got None"),
                                                 (np.zeros((3, 2)), ValueError, r"has shape \(3, 2\); it must have the rank"),
                                                 (np.zeros(()), ValueError, "must have the rank")])
def test_sample_node_refuses_a_replacement_the_graph_cannot_take(fitted, value, error, match):
    approx, w, X = fitted
    with pytest.raises(error, match=f"more_replacements: the value for <Data X.*{match}"):
        approx.sample_node(w * X, more_replacements={X: value})


def test_sample_node_takes_new_rows(fitted):
    approx, w, X = fitted
    assert approx.sample_node(w * X, more_replacements={X: np.zeros(5)}, size=2).eval().shape == (2, 5)
