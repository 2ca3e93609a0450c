"""Trace: a read-only mapping of draws by variable name, built by ``approx.sample``; export to ArviZ."""
import sys
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np
import pytest

import nbvi
from nbvi.trace import Trace


def make_trace(**kwargs):
    samples = {"mu": np.arange(6.0), "beta": np.arange(24.0).reshape(6, 4, 1)}
    return Trace(samples, **kwargs), samples


def test_mapping_semantics():
    trace, samples = make_trace()
    assert isinstance(trace, Mapping)
    assert len(trace) == 2 and list(trace) == ["mu", "beta"] and trace.varnames == ["mu", "beta"]
    assert "mu" in trace and "sigma" not in trace
    np.testing.assert_array_equal(trace["beta"], samples["beta"])
    assert dict(trace.items()).keys() == {"mu", "beta"}
    assert trace.get("sigma") is None
    assert trace.n_draws == 6 and trace.n_chains == 1
    np.testing.assert_array_equal(trace.chain, np.zeros(6))
    assert "6 draws" in repr(trace) and "beta: (4, 1)" in repr(trace)


def test_unknown_name_lists_the_known_ones():
    trace, _ = make_trace()
    with pytest.raises(KeyError, match=r"'sigma'.*\['beta', 'mu'\]"):
        trace["sigma"]


def test_samples_are_copied():
    trace, samples = make_trace()
    samples["mu"][0] = 100.0
    assert trace["mu"][0] == 0.0


def test_validation():
    with pytest.raises(ValueError, match="same number of draws"):
        Trace({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="chain"):
        Trace({"a": np.zeros(3)}, chain=[0, 1])
    empty = Trace({})
    assert empty.n_draws == 0 and empty.n_chains == 0 and len(empty) == 0


def test_chains_and_sample_stats():
    trace, _ = make_trace(chain=[0, 0, 0, 1, 1, 1], sample_stats={"diverging": np.zeros(6, dtype=bool)})
    assert trace.n_chains == 2
    assert trace.sample_stats["diverging"].shape == (6,)


def test_trace_from_an_approximation_includes_deterministics():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=(2,))
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Deterministic("x2", x**2)
        nbvi.Deterministic("total", x.sum() + s)
    trace = nbvi.MeanField(model).sample(30, random_seed=0)
    assert trace.varnames == ["x", "s", "x2", "total"]
    assert trace["x"].shape == (30, 2) and trace["s"].shape == (30,) and trace["total"].shape == (30,)
    assert trace.n_draws == 30
    np.testing.assert_allclose(trace["x2"], trace["x"] ** 2)
    np.testing.assert_allclose(trace["total"], trace["x"].sum(axis=1) + trace["s"])


def test_to_inference_data_without_arviz_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "arviz", None)  # makes `import arviz` fail even where it is installed
    trace, _ = make_trace()
    with pytest.raises(ImportError, match=r'pip install "nbvi\[arviz\]"'):
        trace.to_inference_data()


@pytest.mark.parametrize("version", ["0.23.4", "1.3.0"])
def test_to_inference_data_calls_either_arviz(monkeypatch, version):
    """With a stand-in arviz: arviz 0.x takes one keyword per group, arviz 1.x one dict of groups; the
    posterior gets a (chain, draw, *shape) layout, draws kept in order."""
    calls = []

    def from_dict(*args, **kwargs):
        calls.append((args, kwargs))
        return "idata"

    monkeypatch.setitem(sys.modules, "arviz", SimpleNamespace(from_dict=from_dict, __version__=version))
    trace, samples = make_trace(chain=[0, 1, 0, 1, 0, 1])
    assert trace.to_inference_data() == "idata"
    ((args, kwargs),) = calls
    posterior = args[0]["posterior"] if version.startswith("1.") else kwargs["posterior"]
    assert posterior["beta"].shape == (2, 3, 4, 1)
    np.testing.assert_array_equal(posterior["mu"], [[0, 2, 4], [1, 3, 5]])
    assert kwargs["coords"] == {} and kwargs["dims"] == {}
