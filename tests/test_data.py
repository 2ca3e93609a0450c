"""nbvi.Data in PyMC v5's argument order, registered in its model, and nbvi.set_data."""
import numpy as np
import pytest

import nbvi


def test_both_argument_orders():
    old = nbvi.Data([1.0, 2.0], "x")
    keyword = nbvi.Data(value=[1.0, 2.0], name="x")
    new = nbvi.Data("x", [1.0, 2.0])
    new_keyword = nbvi.Data("x", value=[1.0, 2.0])
    for data in (old, keyword, new, new_keyword):
        assert data.name == "x"
        np.testing.assert_array_equal(data.get_value(), [1.0, 2.0])
    assert nbvi.Data(np.zeros(3)).name is None
    with pytest.raises(TypeError, match="name is given twice"):
        nbvi.Data("x", [1.0], name="y")
    with pytest.raises(TypeError, match="value is given twice"):
        nbvi.Data([1.0], value=[2.0])
    with pytest.raises(TypeError, match="needs a value"):
        nbvi.Data("x")
    with pytest.raises(TypeError, match="dims need a name and a model"):
        nbvi.Data("x", [1.0], dims="obs")


def test_data_is_registered_in_its_model():
    with nbvi.Model(coords={"obs_id": range(3)}) as model:
        x = nbvi.Data("x", [1.0, 2.0, 3.0], dims="obs_id")
        w = nbvi.Data(np.ones(2), name="w")  # the older order registers too
        nbvi.Data(np.ones(2))  # no name: not registered
        with pytest.raises(ValueError, match="already has a variable named 'x'"):
            nbvi.Normal("x", 0, 1)
        with pytest.raises(ValueError, match="'z' has 2 entries along dim 'obs_id'"):
            nbvi.Data("z", [1.0, 2.0], dims="obs_id")
    assert model["x"] is x and model["w"] is w
    assert model.named_vars_to_dims["x"] == ("obs_id",)
    assert set(model.named_vars) == {"x", "w"}


def regression(x, y, coords=None):
    with nbvi.Model(coords=coords) as model:
        xd = nbvi.Data("x", x, dims="obs_id")
        yd = nbvi.Data("y", y, dims="obs_id")
        a = nbvi.Normal("a", 0, 1)
        b = nbvi.Normal("b", 0, 1)
        s = nbvi.HalfNormal("s", 1)
        nbvi.Normal("obs", a + b * xd, s, observed=yd, dims="obs_id")
    return model


def test_set_data_changes_the_density():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    model = regression(x, y, coords={"obs_id": [f"o{i}" for i in range(30)]})
    theta = np.array([[0.3, -0.2, 0.1]])
    model.logp_dlogp(theta)  # compiled before the change
    with model:
        nbvi.set_data({"x": x[:12], "y": y[:12]}, coords={"obs_id": range(12)})
    assert model.coords["obs_id"] == tuple(range(12))
    assert model["x"].get_value().shape == (12,)
    fresh = regression(x[:12], y[:12])
    for got, want in zip(model.logp_dlogp(theta), fresh.logp_dlogp(theta)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with model:
        approx = nbvi.fit(50, random_seed=0, progressbar=False)
    assert approx.sample(5)["b"].shape == (5,)


def test_set_data_follows_a_made_up_index_dim():
    x, y = np.linspace(0, 1, 8), np.linspace(1, 2, 8)
    model = regression(x, y)  # obs_id made up as range(8)
    nbvi.set_data({"x": x[:5], "y": y[:5]}, model=model)
    assert model.coords["obs_id"] == tuple(range(5))


def test_set_data_errors():
    x, y = np.linspace(0, 1, 8), np.linspace(1, 2, 8)
    model = regression(x, y, coords={"obs_id": list("abcdefgh")})
    with model:
        with pytest.raises(ValueError, match="'nope' is not in the model; the model's Data are \\['x', 'y'\\]"):
            nbvi.set_data({"nope": x})
        with pytest.raises(ValueError, match="'a' is a variable, not a Data"):
            nbvi.set_data({"a": 1.0})
        with pytest.raises(ValueError, match="'x' gets 5 entries along dim 'obs_id'.*coords="):
            nbvi.set_data({"x": x[:5]})
        with pytest.raises(ValueError, match="coords\\['obs_id'\\] has 4 values"):
            nbvi.set_data({"x": x[:5]}, coords={"obs_id": range(4)})
        with pytest.raises(ValueError, match="rank"):
            nbvi.set_data({"x": np.ones((8, 2))})
        with pytest.raises(TypeError, match="new_data must be a dict"):
            nbvi.set_data([x])
    np.testing.assert_array_equal(model["x"].get_value(), x)  # refused: nothing changed
    assert len(model.coords["obs_id"]) == 8


def test_set_data_keeps_every_value_when_one_is_refused():
    with nbvi.Model(coords={"obs_id": range(3)}) as model:
        counts = nbvi.Data("counts", [1, 2, 3], dims="obs_id")
        other = nbvi.Data("other", [0.0, 0.0, 0.0], dims="obs_id")
        lam = nbvi.HalfNormal("lam", 1)
        nbvi.Poisson("k", lam, observed=counts)
        nbvi.Normal("z", lam, 1, observed=other)
        with pytest.raises(ValueError, match="does not fit Poisson variable 'k'"):
            nbvi.set_data({"other": [1.0, 1.0], "counts": [1, -2]}, coords={"obs_id": ["p", "q"]})
    np.testing.assert_array_equal(other.get_value(), [0.0, 0.0, 0.0])
    assert model.coords["obs_id"] == (0, 1, 2)


def test_set_data_refuses_a_new_length_for_a_free_variable_dim():
    with nbvi.Model(coords={"group": ["a", "b"]}) as model:
        nbvi.Data("g", [0.0, 1.0], dims="group")
        nbvi.Normal("effect", 0, 1, dims="group")
    with pytest.raises(ValueError, match="coord 'group' cannot change length.*'effect'"):
        nbvi.set_data({"g": [0.0, 1.0, 2.0]}, model=model, coords={"group": ["a", "b", "c"]})


def test_mutable_and_constant_data_as_pymc_v5():
    with nbvi.Model():
        x = nbvi.MutableData("x", np.ones(3))
        c = nbvi.ConstantData("c", np.ones(3))
        b = nbvi.Normal("b", 0.0, 1.0)
        nbvi.Normal("y", b * x + c, 1.0, observed=np.zeros(3))
        nbvi.set_data({"x": np.zeros(3)})
        with pytest.raises(TypeError, match="mutable=False"):
            nbvi.set_data({"x": np.full(3, 5.0), "c": np.zeros(3)})
        np.testing.assert_array_equal(x.get_value(), 0.0)  # all or nothing: x kept its value
        np.testing.assert_array_equal(c.get_value(), 1.0)
        with pytest.raises(TypeError, match="mutable must be"):
            nbvi.Data("d", np.ones(2), mutable="yes")
