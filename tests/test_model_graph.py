"""model_to_graphviz: every variable, its family, plates by shape, and the dependency edges, as DOT text and
as a graphviz.Digraph (the matplotlib drawing: test_model_graph_drawing.py)."""
import contextlib
import sys
import types

import numpy as np
import pytest

import nbvi


def iris_like_model(as_data=True):
    """The quickstart's iris model, on 20 random rows."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    with nbvi.Model() as model:
        Xt = nbvi.Data(X, name="Xt") if as_data else X
        beta = nbvi.Normal("beta", 0, 100, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(nbvi.math.dot(Xt, beta) + a)
        nbvi.Categorical("obs", p=p, observed=y)
    return model


def minibatch_model():
    """The quickstart's minibatch model, on 2000 rows instead of 40000."""
    data = np.random.default_rng(0).random((2000, 100))
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(100,))
        sd = nbvi.HalfNormal("sd", shape=(100,))
        nbvi.Normal("lik", mu, sd, observed=nbvi.Minibatch(data, batch_size=500), total_size=data.shape)
    return model


def regression_model():
    """Data, a deterministic in a plate, and an edge (sigma -> y) that passes the deterministics' layer."""
    rng = np.random.default_rng(1)
    with nbvi.Model() as model:
        X = nbvi.Data(rng.normal(size=(50, 3)), name="X")
        alpha = nbvi.Normal("alpha", 0, 1)
        beta = nbvi.Normal("beta", 0, 1, shape=3)
        sigma = nbvi.HalfNormal("sigma", 1)
        mu = nbvi.Deterministic("mu", alpha + X.dot(beta))
        nbvi.Normal("y", mu, sigma, observed=rng.normal(size=50))
        nbvi.Deterministic("beta_sum", beta.sum())
    return model


# -- DOT text ------------------------------------------------------------------------------------------

def test_iris_graph_has_every_variable_plates_and_edges():
    dot = nbvi.model_to_graphviz(iris_like_model())
    assert isinstance(dot, str) and dot.startswith("digraph {")  # graphviz (the package) is not installed here
    assert '"beta" [label="beta\\n~\\nNormal" shape=ellipse]' in dot
    assert '"a" [label="a\\n~\\nFlat" shape=ellipse]' in dot
    assert '"obs" [label="obs\\n~\\nCategorical" shape=ellipse style=filled fillcolor=gray]' in dot
    assert '"Xt" [label="Xt\\n~\\nData" shape=box style=rounded]' in dot
    for plate in ['label="4 x 3"', 'label="3"', 'label="20"', 'label="20 x 4"']:
        assert plate in dot, plate
    for edge in ['"beta" -> "obs"', '"a" -> "obs"', '"Xt" -> "obs"']:
        assert edge in dot, edge
    assert '"obs" -> ' not in dot and '-> "Xt"' not in dot


def test_iris_with_an_array_has_no_data_node():
    dot = nbvi.model_to_graphviz(iris_like_model(as_data=False))
    assert "Data" not in dot and 'label="20 x 4"' not in dot
    assert dot.count(" -> ") == 2


def test_minibatch_model_shows_the_minibatch():
    dot = nbvi.model_to_graphviz(minibatch_model())
    assert '"Minibatch" [label="Minibatch\\n~\\nMinibatch" shape=box style=rounded]' in dot
    for text in ['"mu" [label="mu\\n~\\nFlat"', '"sd" [label="sd\\n~\\nHalfNormal"', '"lik" [label="lik\\n~\\nNormal"',
                 'label="100"', 'label="500 x 100"', '"Minibatch" -> "lik"', '"mu" -> "lik"', '"sd" -> "lik"']:
        assert text in dot, text


def test_two_minibatches_with_the_default_name_are_two_nodes():
    rng = np.random.default_rng(0)
    with nbvi.Model() as model:
        xb = nbvi.Minibatch(rng.normal(size=(40, 2)), batch_size=10)
        yb = nbvi.Minibatch(rng.normal(size=40), batch_size=10)
        nbvi.Normal("o", xb.sum(axis=1), 1.0, observed=yb, total_size=40)
    dot = nbvi.model_to_graphviz(model)
    assert '"Minibatch" [label="Minibatch\\n~\\nMinibatch"' in dot
    assert '"Minibatch_2" [label="Minibatch\\n~\\nMinibatch"' in dot
    assert '"Minibatch" -> "o"' in dot and '"Minibatch_2" -> "o"' in dot


def test_mixture_and_deterministic():
    with nbvi.Model() as model:
        x = nbvi.NormalMixture("x", w=np.array([0.2, 0.8]), mu=np.array([-0.3, 0.5]), sigma=np.ones(2) * 0.1)
        nbvi.Deterministic("x2", x ** 2)
        same = nbvi.Deterministic("x_again", x)  # naming a variable again must not rename it
    dot = nbvi.model_to_graphviz(model)
    assert '"x" [label="x\\n~\\nNormalMixture" shape=ellipse]' in dot
    assert '"x2" [label="x2\\n~\\nDeterministic" shape=box]' in dot
    assert '"x" -> "x2"' in dot and '"x" -> "x_again"' in dot
    assert x.name == "x" and same.name == "x_again"
    assert "cluster" not in dot  # scalars only: no plate


def test_hierarchical_edges_follow_parameters():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        tau = nbvi.HalfNormal("tau", 1.0)
        theta = nbvi.Normal("theta", mu, tau, shape=8)
        nbvi.Normal("y", theta, 1.0, observed=np.zeros(8))
    dot = nbvi.model_to_graphviz(model)
    for edge in ['"mu" -> "theta"', '"tau" -> "theta"', '"theta" -> "y"']:
        assert edge in dot
    assert '"mu" -> "y"' not in dot  # only direct parents, not ancestors
    assert 'label="8"' in dot


def test_plate_labels_as_pymc_writes_them():
    with nbvi.Model() as model:
        nbvi.Normal("one", 0.0, 1.0, shape=1)  # shape (1,) is a scalar to PyMC: no plate
        nbvi.Normal("many", 0.0, 1.0, shape=(1500, 2))
    dot = nbvi.model_to_graphviz(model)
    assert 'label="1,500 x 2"' in dot and "subgraph cluster1500_2 {" in dot
    assert dot.count("subgraph") == 1


# -- graphviz.Digraph, with a stand-in graphviz module (the package is not installed here) -------------

class FakeDigraph:
    """Records what graphviz.Digraph is asked to hold."""

    def __init__(self, name=None):
        self.name, self.nodes, self.edges, self.attrs, self.subgraphs = name, {}, [], {}, []

    def node(self, name, label=None, **attrs):
        self.nodes[name] = (label, attrs)

    def edge(self, tail_name, head_name):
        self.edges.append((tail_name, head_name))

    def attr(self, **attrs):
        self.attrs.update(attrs)

    @contextlib.contextmanager
    def subgraph(self, name=None):
        sub = FakeDigraph(name)
        yield sub
        self.subgraphs.append(sub)


@pytest.fixture
def fake_graphviz(monkeypatch):
    module = types.ModuleType("graphviz")
    module.Digraph = FakeDigraph
    monkeypatch.setitem(sys.modules, "graphviz", module)
    return module


def test_with_graphviz_installed_a_digraph_with_the_same_graph(fake_graphviz, monkeypatch):
    model = iris_like_model()
    digraph = nbvi.model_to_graphviz(model)
    assert isinstance(digraph, FakeDigraph)
    assert digraph.nodes == {}  # every variable of the iris model is in a plate
    plates = {sub.name: sub for sub in digraph.subgraphs}
    assert set(plates) == {"cluster20_4", "cluster4_3", "cluster3", "cluster20"}
    assert plates["cluster4_3"].nodes == {"beta": ("beta\n~\nNormal", {"shape": "ellipse"})}
    assert plates["cluster4_3"].attrs == {"label": "4 x 3", "labeljust": "r", "labelloc": "b", "style": "rounded"}
    assert plates["cluster20"].nodes["obs"] == ("obs\n~\nCategorical",
                                                {"shape": "ellipse", "style": "filled", "fillcolor": "gray"})
    assert plates["cluster20_4"].nodes["Xt"] == ("Xt\n~\nData", {"shape": "box", "style": "rounded"})
    assert digraph.edges == [("Xt", "obs"), ("beta", "obs"), ("a", "obs")]

    monkeypatch.delitem(sys.modules, "graphviz")  # the same model without graphviz: the DOT text, same edges
    dot = nbvi.model_to_graphviz(model)
    assert [line.strip() for line in dot.splitlines() if "->" in line] == [f'"{a}" -> "{b}"' for a, b in digraph.edges]


def test_digraph_scalar_nodes_and_deterministics(fake_graphviz):
    with nbvi.Model("m") as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Deterministic("x2", x ** 2)
    digraph = nbvi.model_to_graphviz(model)
    assert digraph.name == "m" and digraph.subgraphs == []
    assert digraph.nodes == {"x": ("x\n~\nNormal", {"shape": "ellipse"}),
                             "x2": ("x2\n~\nDeterministic", {"shape": "box"})}
    assert digraph.edges == [("x", "x2")]


# -- matplotlib drawing --------------------------------------------------------------------------------
