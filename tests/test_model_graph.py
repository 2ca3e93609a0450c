"""model_to_graphviz: every variable, its family, plates by shape, and the dependency edges."""
import numpy as np

import nbvi


def iris_like_model():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    with nbvi.Model() as model:
        Xt = nbvi.Data(X, name="Xt")
        beta = nbvi.Normal("beta", 0, 100, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(Xt.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y)
    return model


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
