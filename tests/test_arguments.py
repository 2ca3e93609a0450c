"""Bad arguments, as a user meets them: the call that receives one raises at once, naming it, and leaves
every object as it was (issue "Reliability")."""
import numpy as np
import pytest

import nbvi
from nbvi import arguments


def model():
    with nbvi.Model() as m:
        nbvi.Normal("x", 0.0, 1.0)
        nbvi.HalfNormal("s", 1.0)
    return m


@pytest.mark.parametrize("n, error", [(2.5, ValueError), ("10", TypeError), (None, TypeError), (-1, ValueError),
                                      (True, TypeError)])
def test_fit_refuses_a_step_count_that_is_not_a_count(n, error):
    inference = nbvi.ADVI(model=model(), random_seed=1)
    before = inference.approx.params.copy()
    with pytest.raises(error, match="n must be"):
        inference.fit(n, progressbar=False)
    np.testing.assert_array_equal(inference.approx.params, before)
    assert len(inference.approx.hist) == 0


def test_an_integral_float_step_count_is_fine():
    approx = nbvi.fit(1e2, model=model(), random_seed=1, progressbar=False)
    assert len(approx.hist) == 100


def test_a_callback_that_is_not_callable_is_refused_before_any_step():
    inference = nbvi.ADVI(model=model(), random_seed=1)
    before = inference.approx.params.copy()
    with pytest.raises(TypeError, match=r"callbacks\[1\] must be callable"):
        inference.fit(10, callbacks=[lambda *a: None, 1], progressbar=False)
    np.testing.assert_array_equal(inference.approx.params, before)
    with pytest.raises(TypeError, match="callbacks must be a list"):
        inference.fit(10, callbacks=lambda *a: None, progressbar=False)


@pytest.mark.parametrize("stl", ["no", 1, None])
def test_stl_must_be_a_bool(stl):
    with pytest.raises(TypeError, match="stl must be True or False"):
        nbvi.ADVI(model=model(), stl=stl)


@pytest.mark.parametrize("options, match", [({"jitter": np.nan}, "jitter must be finite"),
                                            ({"jitter": -1.0}, "jitter must be >= 0"),
                                            ({"n_particles": 2.5}, "n_particles must be an integer"),
                                            ({"n_particles": 0}, "n_particles must be >= 1"),
                                            ({"temperature": 0.0}, "temperature must be > 0")])
def test_svgd_options_are_checked_when_it_is_built(options, match):
    with pytest.raises((TypeError, ValueError), match=match):
        nbvi.SVGD(model=model(), **options)


@pytest.mark.parametrize("seed", ["abc", 1.5, -3])
def test_a_random_seed_that_numpy_cannot_use_is_named(seed):
    with pytest.raises((TypeError, ValueError), match="random_seed"):
        nbvi.ADVI(model=model(), random_seed=seed)
    with pytest.raises((TypeError, ValueError), match="random_seed"):
        nbvi.sample(10, tune=10, chains=1, model=model(), random_seed=seed, progressbar=False)


def test_a_typo_in_start_is_named_in_fit_and_sample():
    with pytest.raises(ValueError, match=r"\['xx'\].*not free variables"):
        nbvi.fit(10, model=model(), start={"xx": 1.0}, progressbar=False)
    with pytest.raises(ValueError, match=r"\['xx'\].*not free variables"):
        nbvi.sample(10, tune=10, chains=1, model=model(), start={"xx": 1.0}, progressbar=False)


@pytest.mark.parametrize("options, match", [({"target_accept": "0.8"}, "target_accept must be a number"),
                                            ({"draws": 10.5}, "draws must be an integer"),
                                            ({"chains": 0}, "chains must be >= 1"),
                                            ({"progressbar": "yes"}, "progressbar must be True or False")])
def test_sample_checks_its_options(options, match):
    kwargs = dict(draws=10, tune=10, chains=1, progressbar=False) | options
    with pytest.raises((TypeError, ValueError), match=match):
        nbvi.sample(model=model(), **kwargs)


@pytest.mark.parametrize("shape", [2.5, (2, 1.5), -1, "3"])
def test_a_shape_that_is_not_made_of_counts_is_refused_naming_the_variable(shape):
    with nbvi.Model():
        with pytest.raises((TypeError, ValueError), match="'x': shape"):
            nbvi.Normal("x", 0.0, 1.0, shape=shape)


def test_the_checks_themselves():
    assert arguments.integer(3.0, "k") == 3 and isinstance(arguments.integer(np.int64(2), "k"), int)
    assert arguments.number(np.float32(0.5), "a", minimum=0.0) == 0.5
    assert arguments.functions(None, "f") == [] and arguments.flag(np.bool_(True), "b") is True
    rng = np.random.default_rng(0)
    assert arguments.seed(rng) is rng and arguments.seed([1, 2]) == [1, 2]


def test_parameter_errors_name_the_variable():
    with nbvi.Model():
        with pytest.raises(ValueError, match="Normal variable 'y': tau must be > 0"):
            nbvi.Normal("y", 0.0, tau=-1.0)
        with pytest.raises(ValueError, match="Binomial variable 'k': n must be non-negative integers"):
            nbvi.Binomial("k", n=2.5, p=0.5, observed=1)
        with pytest.raises(ValueError, match="HalfNormal variable 'h': give only one of sigma, sd and tau"):
            nbvi.HalfNormal("h", sigma=1.0, tau=1.0)


@pytest.mark.parametrize("data, error, match", [(np.array(["a", "b"]), TypeError, "real numbers"),
                                                (np.array([1 + 2j]), TypeError, "real numbers"),
                                                (np.array([]), ValueError, "is empty")])
def test_observed_data_must_be_real_numbers_and_not_empty(data, error, match):
    with nbvi.Model():
        with pytest.raises(error, match=f"observed data of 'y'.*{match}"):
            nbvi.Normal("y", 0.0, 1.0, observed=data)


def test_data_takes_real_numbers_of_its_own_kind():
    with pytest.raises(TypeError, match="Data X: the value must be real numbers"):
        nbvi.Data(np.array(["a"]), name="X")
    with pytest.raises(TypeError, match="real numbers"):
        nbvi.Data(np.array([1j]))
    x = nbvi.Data(np.arange(3.0), name="X")
    with pytest.raises(TypeError, match="real numbers"):
        x.set_value(["a", "b", "c"])
    with pytest.raises(TypeError, match="dtype int64, the graph was built for float64"):
        x.set_value(np.arange(3))
    np.testing.assert_array_equal(x.get_value(), np.arange(3.0))  # left as it was


def test_a_transform_that_is_not_one_is_named():
    with nbvi.Model():
        with pytest.raises(TypeError, match="transform of 'x' must be None"):
            nbvi.HalfNormal("x", 1.0, transform="nonsense")


def test_a_model_without_free_variables_has_nothing_to_fit():
    with nbvi.Model() as empty:
        nbvi.Normal("y", 0.0, 1.0, observed=np.array([0.1]))
    for method in ("advi", "svgd"):
        with pytest.raises(ValueError, match="no free variables"):
            nbvi.fit(10, method=method, model=empty, progressbar=False)


def test_sample_node_checks_its_replacements():
    X = nbvi.Data(np.ones(3), name="X")
    other = nbvi.Data(np.ones(3), name="other")
    with nbvi.Model() as m:
        w = nbvi.Normal("w", 0.0, 1.0)
        nbvi.Normal("y", w * X, 1.0, observed=np.zeros(3))
    approx = nbvi.fit(10, model=m, random_seed=1, progressbar=False)
    prediction = w * X
    with pytest.raises(TypeError, match="must be a dict"):
        approx.sample_node(prediction, more_replacements=[(X, np.zeros(3))])
    with pytest.raises(TypeError, match="must be a graph node"):
        approx.sample_node(prediction, more_replacements={"X": np.zeros(3)})
    with pytest.raises(ValueError, match="not in the graph"):
        approx.sample_node(prediction, more_replacements={other: np.zeros(3)})
    with pytest.raises(ValueError, match="NaN or inf"):
        approx.sample_node(prediction, more_replacements={X: np.array([0.0, np.nan, 1.0])})
    with pytest.raises(ValueError, match="size must be >= 1"):
        approx.sample_node(prediction, size=0)
    swapped = approx.sample_node(prediction, more_replacements={X: np.zeros(3)}).eval()
    assert np.all(swapped == 0.0)


def test_a_total_size_smaller_than_the_batch_is_refused():
    data = np.random.default_rng(0).normal(size=(100, 2))
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 1.0)
        batch = nbvi.Minibatch(data, batch_size=25)
        with pytest.raises(ValueError, match=r"total_size 10 of 'y' is smaller .* axis 0 \(25"):
            nbvi.Normal("y", mu, 1.0, observed=batch, total_size=10)
        with pytest.raises(ValueError, match="smaller"):
            nbvi.Normal("z", mu, 1.0, observed=batch, total_size=(100, 1))
