"""model_to_graphviz and draw_model_graph: every variable, its family, plates by shape, and the dependency
edges, as DOT text, as a graphviz.Digraph, and drawn with matplotlib."""
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

@pytest.fixture
def plt():
    pyplot = pytest.importorskip("matplotlib.pyplot")
    yield pyplot
    pyplot.close("all")


def node_texts(fig):
    return {t.get_text(): t.get_position() for t in fig.axes[0].texts}


def patches_by_gid(fig):
    return {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}


def check_drawing(fig, graph):
    """One Axes with no axis lines; a label text and a patch per node, a label and a patch per plate;
    one arrow per edge."""
    from matplotlib.patches import FancyArrowPatch

    assert len(fig.axes) == 1 and not fig.axes[0].axison
    texts, patches = node_texts(fig), patches_by_gid(fig)
    for node in graph.nodes:
        assert f"{node.name}\n~ {node.family}" in texts, node
        assert f"node:{node.key}" in patches, node
    for plate in graph.plates():
        assert plate in texts and f"plate:{plate}" in patches, plate
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(graph.edges)


def check_no_overlap(fig, graph):
    """No two nodes overlap, and a plate overlaps no node outside it."""
    fig.canvas.draw()
    patches = patches_by_gid(fig)
    boxes = {node.key: patches[f"node:{node.key}"].get_window_extent() for node in graph.nodes}
    keys = list(boxes)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    for plate, members in graph.plates().items():
        box = patches[f"plate:{plate}"].get_window_extent()
        inside = {node.key for node in members}
        for key in keys:
            assert (key in inside) == box.overlaps(boxes[key]), (plate, key)


@pytest.mark.parametrize("make_model", [iris_like_model, minibatch_model, regression_model])
def test_drawing_has_every_node_plate_and_edge(plt, make_model):
    model = make_model()
    graph = nbvi.model_graph.describe_model(model)
    fig = nbvi.draw_model_graph(model)
    check_drawing(fig, graph)
    check_no_overlap(fig, graph)


def test_a_node_is_not_put_on_an_edge_that_passes_its_layer(plt):
    from matplotlib.path import Path

    fig = nbvi.draw_model_graph(regression_model())
    fig.canvas.draw()
    ax, texts = fig.axes[0], node_texts(fig)
    sigma_to_y = Path(ax.transData.transform([texts["sigma\n~ HalfNormal"], texts["y\n~ Normal"]]))
    beta_sum = patches_by_gid(fig)["node:beta_sum"].get_window_extent()
    assert not sigma_to_y.intersects_bbox(beta_sum)


def test_drawing_styles_by_kind(plt):
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Ellipse, FancyBboxPatch, Rectangle

    fig = nbvi.draw_model_graph(regression_model())
    patches = patches_by_gid(fig)
    assert isinstance(patches["node:alpha"], Ellipse) and to_rgb(patches["node:alpha"].get_facecolor()) == (1, 1, 1)
    observed = to_rgb(patches["node:y"].get_facecolor())
    assert isinstance(patches["node:y"], Ellipse) and observed[0] == observed[1] == observed[2] < 0.9  # grey
    assert isinstance(patches["node:mu"], Rectangle) and isinstance(patches["node:beta_sum"], Rectangle)
    assert isinstance(patches["node:X"], FancyBboxPatch)  # Data: a rounded box
    assert "round" in type(patches["node:X"].get_boxstyle()).__name__.lower()
    assert isinstance(patches["plate:50"], FancyBboxPatch)


def test_parents_are_drawn_above_children(plt):
    texts = node_texts(nbvi.draw_model_graph(regression_model()))
    y = {label.split("\n")[0]: xy[1] for label, xy in texts.items() if "\n~ " in label}
    for parent, child in [("alpha", "mu"), ("X", "mu"), ("beta", "mu"), ("mu", "y"), ("sigma", "y"),
                          ("beta", "beta_sum")]:
        assert y[parent] > y[child], (parent, child)
    assert y["alpha"] == y["beta"] == y["sigma"] == y["X"]  # no parents: the top layer
    assert y["mu"] == y["beta_sum"]  # longest path of one edge


def test_plate_label_in_the_lower_right_corner(plt):
    fig = nbvi.draw_model_graph(minibatch_model())
    fig.canvas.draw()
    box = patches_by_gid(fig)["plate:500 x 100"].get_window_extent()
    label = next(t for t in fig.axes[0].texts if t.get_text() == "500 x 100").get_window_extent()
    assert box.contains(label.x1, label.y0) and label.x0 > (box.x0 + box.x1) / 2 and label.y1 < (box.y0 + box.y1) / 2


def test_drawing_into_a_given_axes(plt):
    fig, ax = plt.subplots()
    assert nbvi.draw_model_graph(iris_like_model(), ax=ax) is fig
    assert len(fig.axes) == 1 and len(ax.texts) == 4 + 4  # four nodes, four plates


def test_figure_size_grows_with_layers_and_width(plt):
    with nbvi.Model() as chain:
        a = nbvi.Normal("a", 0.0, 1.0)
        b = nbvi.Normal("b", a, 1.0)
        nbvi.Normal("c", b, 1.0)
    with nbvi.Model() as wide:
        for name in "abcde":
            nbvi.Normal(name, 0.0, 1.0)
    chain_w, chain_h = nbvi.draw_model_graph(chain).get_size_inches()
    wide_w, wide_h = nbvi.draw_model_graph(wide).get_size_inches()
    assert chain_h > 2.5 * wide_h and wide_w > 4 * chain_w


def test_without_matplotlib_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        nbvi.draw_model_graph(iris_like_model())


def test_an_empty_model(plt):
    assert nbvi.model_to_graphviz(nbvi.Model()) == "digraph {\n}"
    fig = nbvi.draw_model_graph(nbvi.Model())
    assert len(fig.axes) == 1 and len(fig.axes[0].texts) == 0
