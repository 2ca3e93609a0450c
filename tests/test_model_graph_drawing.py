"""draw_model_graph: the model graph drawn with matplotlib (nodes, plates, edges, styles, layout)."""
import sys

import pytest
from test_model_graph import iris_like_model, minibatch_model, regression_model

import nbvi


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
