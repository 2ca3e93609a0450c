"""Coords and dims, PyMC v5's way of naming axes: Model(coords=...), dims= on variables, size=."""
import numpy as np
import pytest

import nbvi


def radon_like(seed=0, counties=4, n=40):
    rng = np.random.default_rng(seed)
    names = [f"county {i}" for i in range(counties)]
    county = rng.integers(0, counties, n)
    floor = rng.integers(0, 2, n).astype(float)
    y = rng.normal(size=counties)[county] - 0.5 * floor + 0.3 * rng.normal(size=n)
    return names, county, floor, y


def test_varying_intercept_model_with_coords_and_dims():
    names, county, floor, log_radon = radon_like()
    coords = {"county": names, "obs_id": range(len(county))}
    with nbvi.Model(coords=coords) as model:  # PyMC v5's radon notebook, pm -> nbvi
        floor_idx = nbvi.Data("floor_idx", floor, dims="obs_id")
        mu_a = nbvi.Normal("mu_a", mu=0.0, sigma=10.0)
        sigma_a = nbvi.Exponential("sigma_a", 1)
        alpha = nbvi.Normal("alpha", mu=mu_a, sigma=sigma_a, dims="county")
        beta = nbvi.Normal("beta", mu=0.0, sigma=10.0)
        sigma_y = nbvi.Exponential("sigma_y", 1)
        y_hat = alpha[county] + beta * floor_idx
        nbvi.Normal("y_like", mu=y_hat, sigma=sigma_y, observed=log_radon, dims="obs_id")
    assert model.coords["county"] == tuple(names)
    assert model.coords["obs_id"] == tuple(range(40))
    assert alpha.shape == (4,)
    assert model.named_vars_to_dims == {"floor_idx": ("obs_id",), "alpha": ("county",), "y_like": ("obs_id",)}
    assert model["floor_idx"] is floor_idx
    with model:
        approx = nbvi.fit(100, random_seed=1, progressbar=False)
    trace = approx.sample(30)
    assert trace["alpha"].shape == (30, 4)
    assert trace["mu_a"].shape == (30,)


def test_add_coord_and_dims_tuple():
    with nbvi.Model() as model:
        model.add_coord("row", ["a", "b"])
        model.add_coord("col", np.arange(3))
        model.add_coord("row", ("a", "b"))  # the same values again: nothing changes
        x = nbvi.Normal("x", 0, 1, dims=("row", "col"))
        nbvi.Deterministic("xt", x.T, dims=("col", "row"))
    assert x.shape == (2, 3)
    assert model.coords == {"row": ("a", "b"), "col": (0, 1, 2)}
    assert model.named_vars_to_dims["xt"] == ("col", "row")
    with pytest.raises(ValueError, match="already has a coord 'row'"):
        model.add_coord("row", ["a", "b", "c"])
    with pytest.raises(TypeError, match="coord 'z'"):
        model.add_coord("z", "abc")


def test_observed_dims_unknown_to_the_model_become_index_coords():
    with nbvi.Model() as model:
        nbvi.Normal("y", 0, 1, observed=np.zeros(5), dims="obs")
    assert model.coords["obs"] == (0, 1, 2, 3, 4)


def test_dims_errors_name_the_variable():
    with nbvi.Model(coords={"county": ["a", "b", "c"]}):
        with pytest.raises(ValueError, match=r"'a'.*dims \('county',\) give shape \(3,\).*\(4,\)"):
            nbvi.Normal("a", 0, 1, dims="county", shape=4)
        with pytest.raises(ValueError, match="'b'.*'state' is not a coord"):
            nbvi.Normal("b", 0, 1, dims="state")
        with pytest.raises(ValueError, match="'y' has 4 entries along dim 'county'"):
            nbvi.Normal("y", 0, 1, observed=np.zeros(4), dims="county")
        with pytest.raises(ValueError, match="dims .* of 'z' name 2 axes"):
            nbvi.Normal("z", 0, 1, observed=np.zeros(3), dims=("county", "other"))
        with pytest.raises(TypeError, match="dims of 'w'"):
            nbvi.Normal("w", 0, 1, dims=3)
        ok = nbvi.Normal("ok", 0, 1, dims="county", shape=3)
    assert ok.shape == (3,)


def test_size_is_the_batch_shape():
    with nbvi.Model():
        x = nbvi.Normal("x", 0, 1, size=3)
        v = nbvi.MvNormal("v", np.zeros(2), np.eye(2), size=4)
        both = nbvi.Normal("both", 0, 1, size=(2, 3), shape=(2, 3))
        with pytest.raises(ValueError, match="size 3 and shape 4 disagree"):
            nbvi.Normal("bad", 0, 1, size=3, shape=4)
    assert x.shape == (3,)
    assert v.shape == (4, 2)
    assert both.shape == (2, 3)


def test_masked_observations_are_refused():
    data = np.ma.masked_array([1.0, 2.0, 3.0, 4.0], mask=[False, True, False, True])
    with nbvi.Model():
        with pytest.raises(ValueError, match="'y' is a masked array with 2 masked entries.*PyMC imputes"):
            nbvi.Normal("y", 0, 1, observed=data)
        y = nbvi.Normal("y2", 0, 1, observed=np.ma.masked_array([1.0, 2.0], mask=False))
    np.testing.assert_array_equal(y.value()[0], [1.0, 2.0])
