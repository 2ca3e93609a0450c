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


@pytest.mark.parametrize("n, error", [(2.5, ValueError), ("10", TypeError), (-1, ValueError),
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
                                            ({"progressbar": "yes"}, "progressbar must be True or False"),
                                            ({"cores": 0}, "cores must be >= 1")])
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


def test_model_and_data_names_must_be_strings():
    with pytest.raises(TypeError, match="Model name must be a string"):
        nbvi.Model(name=1)
    with pytest.raises(TypeError, match="Data name must be a non-empty string"):
        nbvi.Data([1.0], name=1)
    with pytest.raises(TypeError, match="Minibatch: name must be a non-empty string"):
        nbvi.Minibatch(np.zeros((10, 2)), batch_size=5, name=1)


@pytest.mark.parametrize("options, error, match", [({"dtype": "str"}, TypeError, "dtype must be a real number type"),
                                                   ({"dtype": "bogus"}, TypeError, "dtype 'bogus' is not"),
                                                   ({"random_seed": "a"}, TypeError, "random_seed must be an integer"),
                                                   ({"random_seed": -1}, ValueError, "random_seed must be >= 0"),
                                                   ({"update_shared_f": 1}, TypeError, "update_shared_f must be callable")])
def test_minibatch_options_are_checked(options, error, match):
    with pytest.raises(error, match=f"Minibatch 'X': {match}"):
        nbvi.Minibatch(np.zeros((10, 2)), batch_size=5, name="X", **options)


@pytest.mark.parametrize("value, match", [(None, "must be real numbers, got None"),
                                          ([[1.0, 2.0], [3.0]], "must be a rectangular array")])
def test_data_that_is_not_an_array_of_numbers_is_named(value, match):
    with pytest.raises(TypeError, match=f"Data X: the value {match}"):
        nbvi.Data(value, name="X")


@pytest.mark.parametrize("value, error", [("abc", TypeError), (np.nan, ValueError)])
def test_a_deterministic_of_bad_numbers_is_refused(value, error):
    with nbvi.Model() as m:
        with pytest.raises(error, match="Deterministic 'd'"):
            nbvi.Deterministic("d", value)
    assert "d" not in m.named_vars


def test_something_that_is_not_a_model_is_named():
    for call in (lambda: nbvi.fit(10, model=1, progressbar=False), lambda: nbvi.ADVI(model="m"),
                 lambda: nbvi.sample(10, tune=10, model=1, progressbar=False)):
        with pytest.raises(TypeError, match="model must be an nbvi.Model"):
            call()


@pytest.mark.parametrize("start, match", [({"x": np.nan}, "start: value of 'x' contains NaN"),
                                          ({"x": "a"}, "start: value of 'x' must be real numbers"),
                                          ({"s": -1.0}, "start: value of 's' lies outside its support"),
                                          (np.array([np.nan, 0.0]), r"start contains NaN or inf at positions \[0\]")])
def test_a_start_point_that_is_not_finite_or_outside_the_support_is_refused_before_fitting(start, match):
    with pytest.raises((TypeError, ValueError), match=match):
        nbvi.fit(10, model=model(), start=start, progressbar=False)
    if isinstance(start, dict):
        with pytest.raises((TypeError, ValueError), match=match):
            nbvi.sample(10, tune=10, chains=1, model=model(), start=start, progressbar=False)


def test_sample_starts_unnamed_variables_at_the_initial_point():
    trace = nbvi.sample(5, tune=5, chains=1, model=model(), start={"x": 0.5}, random_seed=1, progressbar=False)
    assert trace["x"].shape == (5,)
    with pytest.raises(TypeError, match="start must be a dict"):
        nbvi.sample(5, tune=5, chains=1, model=model(), start="abc", progressbar=False)


@pytest.mark.parametrize("depth, error", [(True, TypeError), ("3", TypeError), (2.5, ValueError), (0, ValueError)])
def test_max_treedepth_must_be_a_positive_count(depth, error):
    with pytest.raises(error, match="max_treedepth must be"):
        nbvi.sample(5, tune=5, chains=1, model=model(), max_treedepth=depth, progressbar=False)


def test_fit_options_that_configure_nothing_are_refused():
    with pytest.raises(TypeError, match="inf_kwargs must be a dict"):
        nbvi.fit(10, model=model(), inf_kwargs=[("obj_n_mc", 2)], progressbar=False)
    with pytest.raises(TypeError, match="unexpected options"):
        nbvi.fit(10, model=model(), foo=1, progressbar=False)


def test_refine_checks_its_arguments_before_any_step():
    inference = nbvi.ADVI(model=model(), random_seed=1)
    inference.fit(5, progressbar=False)
    before = inference.approx.params.copy()
    with pytest.raises(TypeError, match="progressbar must be True or False"):
        inference.refine(5, progressbar="no")
    with pytest.raises(ValueError, match="n must be an integer"):
        inference.refine(2.5)
    np.testing.assert_array_equal(inference.approx.params, before)
    assert len(inference.hist) == 5


@pytest.mark.parametrize("temperature, error", [("1", TypeError), (np.nan, ValueError), (np.inf, ValueError),
                                                (0.0, ValueError)])
def test_asvgd_temperature_must_be_a_positive_number(temperature, error):
    with pytest.raises(error, match="temperature must be"):
        nbvi.ASVGD(model=model(), temperature=temperature)


def test_clone_needs_a_node_and_a_dict():
    x = nbvi.Data(np.ones(3), name="X")
    with pytest.raises(TypeError, match="clone needs a graph node"):
        nbvi.clone(1, {})
    with pytest.raises(TypeError, match="replacements must be a dict"):
        nbvi.clone(x * 2, [(x, np.zeros(3))])
    with pytest.raises(TypeError, match="the key 'X' must be a graph node"):
        nbvi.clone(x * 2, {"X": np.zeros(3)})


def test_a_trace_is_made_of_a_dict():
    with pytest.raises(TypeError, match="samples must be a dict"):
        nbvi.Trace([1, 2])


def test_options_that_would_be_ignored_are_refused():
    with nbvi.Model():
        with pytest.raises(ValueError, match="transform of 'y' applies to free variables only"):
            nbvi.HalfNormal("y", 1.0, observed=[1.0], transform=nbvi.transforms.log)
    inference = nbvi.ADVI(model=model())
    with pytest.raises(ValueError, match="model is not the model of the Inference"):
        nbvi.fit(5, method=inference, model=model(), progressbar=False)


def test_graph_expressions_take_numbers_only():
    x = nbvi.Data(np.ones(3), name="X")
    with pytest.raises(TypeError, match="a constant in the graph must be real numbers"):
        x + "a"
    with pytest.raises(TypeError, match="a constant in the graph must be real numbers"):
        nbvi.math.exp("a")
    with pytest.raises(TypeError, match="the key 'X' must be a graph node"):
        (x * 2).eval({"X": np.zeros(3)})


# -- the last entry points of the audit -------------------------------------------------------------------------

def test_an_axis_that_is_not_an_integer_is_named():
    with nbvi.Model():
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
    for axis in (1.5, "0", True, (0, 0.5)):
        with pytest.raises(TypeError, match="axis must be"):
            nbvi.math.sum(x, axis=axis)


def test_an_index_out_of_bounds_names_the_nodes_own_axis():
    with nbvi.Model():
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
    with pytest.raises(IndexError, match="axis 0 with size 3"):
        x[5]


def test_floatx_of_text_is_named():
    with pytest.raises(TypeError, match="floatX's argument"):
        nbvi.floatX("a")
    assert nbvi.floatX([1, 2]).dtype == np.float64


def test_approximations_built_directly_check_their_start_and_particles():
    from nbvi.variational.approximations import Empirical, FullRank, MeanField

    m = model()
    for kind in (MeanField, FullRank):
        with pytest.raises(ValueError, match=r"start must have shape \(2,\)"):
            kind(m, start=np.zeros(3))
        with pytest.raises(ValueError, match="NaN or inf"):
            kind(m, start=np.array([0.0, np.nan]))
        with pytest.raises(TypeError, match="start"):
            kind(m, start="origin")
    with pytest.raises(ValueError, match="particles must have shape"):
        Empirical(m, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        Empirical(m, np.full((4, 2), np.inf))


def test_minibatch_resample_takes_a_generator():
    batch = nbvi.Minibatch(np.arange(10.0), batch_size=2)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        batch.resample(3)
    batch.resample(np.random.default_rng(0))


def test_sample_takes_pymcs_cores():
    trace = nbvi.sample(20, tune=20, chains=2, cores=2, model=model(), random_seed=1, progressbar=False)
    assert trace.n_chains == 2
