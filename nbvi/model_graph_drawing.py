"""The model graph of :mod:`nbvi.model_graph` drawn with matplotlib, for users without Graphviz.

Layered top to bottom by dependency depth (parents above children), each plate placed as one block so
that its frame holds only its own nodes, nodes drawn as PyMC draws them.
"""
from typing import NamedTuple

from nbvi.model_graph import describe_model

# -- layout for matplotlib -----------------------------------------------------------------------------
# Lengths are in inches: the figure is as large as the drawing, so text and shapes keep their proportions.

_NODE_H = 0.62       # node height
_H_GAP = 0.3         # horizontal space between nodes and between plates
_LAYER_H = 1.45      # vertical distance between layers
_PAD = 0.15          # plate margin around its nodes (sides and top)
_LABEL_PAD = 0.34    # plate margin below its nodes, where the size label goes
_CHAR_W = 0.09       # width of a character at 10 pt (DejaVu Sans, a little generous)


def _links(graph):
    """``(parents, children)``: ``{key: [keys]}`` each, from the edges."""
    parents = {node.key: [] for node in graph.nodes}
    children = {node.key: [] for node in graph.nodes}
    for parent, child in graph.edges:
        parents[child].append(parent)
        children[parent].append(child)
    return parents, children


def _layers(graph, parents):
    """``{key: layer}``: 0 for nodes without parents, else one more than the deepest parent."""
    layers = {}

    def layer(key):
        if key not in layers:
            layers[key] = 1 + max((layer(p) for p in parents[key]), default=-1)
        return layers[key]

    for node in graph.nodes:
        layer(node.key)
    return layers


class _Block(NamedTuple):
    """What is placed side by side: a plate with all its nodes, or one node outside any plate.
    ``rows`` maps a layer to the keys of the block's nodes in that layer."""

    plate: str
    rows: dict

    @property
    def top(self):
        return min(self.rows)

    @property
    def bottom(self):
        return max(self.rows)

    def keys(self):
        return [key for layer in sorted(self.rows) for key in self.rows[layer]]

    def half_width(self, node_w):
        slots = max(len(keys) for keys in self.rows.values())
        return (slots * node_w + (slots - 1) * _H_GAP) / 2 + (_PAD if self.plate else 0.0)


def _blocks(graph, layers):
    """One block per plate, one per node outside a plate, in order of first appearance."""
    blocks, by_plate = [], {}
    for node in graph.nodes:
        if node.plate in by_plate:
            block = by_plate[node.plate]
        else:
            block = _Block(node.plate, {})
            blocks.append(block)
            if node.plate:
                by_plate[node.plate] = block
        block.rows.setdefault(layers[node.key], []).append(node.key)
    return blocks


def _outside_links(block, links):
    """The keys outside ``block`` that its nodes link to (``links`` is the parents or the children)."""
    inside = block.keys()
    return [other for key in inside for other in links[key] if other not in inside]


def _mean_x(keys, x):
    """Mean position of those of ``keys`` already placed; None when none is."""
    xs = [x[key] for key in keys if key in x]
    return sum(xs) / len(xs) if xs else None


def _free_spot(target, half, block, placed):
    """The centre nearest ``target`` where a block of half-width ``half`` overlaps no placed block that
    shares a layer with it. ``placed`` holds ``(left, right, top, bottom)``; ``target`` None means to the
    right of everything on the block's layers."""
    beside = [(left, right) for left, right, top, bottom in placed if top <= block.bottom and block.top <= bottom]
    if target is None:
        target = max((right for _, right in beside), default=-_H_GAP) + _H_GAP + half
    candidates = [target] + [right + _H_GAP + half for _, right in beside] + [left - _H_GAP - half for left, _ in beside]

    def fits(c):
        return all(c + half + _H_GAP <= left + 1e-9 or c - half - _H_GAP >= right - 1e-9 for left, right in beside)

    return min((c for c in candidates if fits(c)), key=lambda c: (abs(c - target), -c))


def _edge_crossings(edges, x, layers, skip):
    """Where the edges between placed nodes (none of them in ``skip``) pass the layers between their
    ends, as extents ``(left, right, layer, layer)``: a node put there would sit on the edge."""
    crossings = []
    for parent, child in edges:
        if parent not in x or child not in x or parent in skip or child in skip:
            continue
        top, bottom = layers[parent], layers[child]
        for layer in range(top + 1, bottom):
            band = [layer + side * _NODE_H / 2 / _LAYER_H for side in (-1, 1)]  # a node's height, in layers
            xs = [x[parent] + (x[child] - x[parent]) * (t - top) / (bottom - top) for t in band]
            crossings.append((min(xs), max(xs), layer, layer))
    return crossings


def _layout(graph, node_w):
    """``{key: (x, y)}`` node centres.

    Layers top to bottom by dependency depth (longest path from a node without parents). Blocks (plates,
    lone nodes) are placed in order of their top layer, each as near the mean position of its parents
    as the blocks and the edges already placed allow, so a plate never overlaps another block on the
    layers it spans and a node is not put on an edge that passes its layer. Then each block without
    parents moves over the mean position of its children where there is room.
    """
    parents, children = _links(graph)
    layers = _layers(graph, parents)
    blocks = _blocks(graph, layers)
    x, placed, roots = {}, {}, []

    def place(i, target):
        taken = list(placed.values()) + _edge_crossings(graph.edges, x, layers, set(blocks[i].keys()))
        placed[i] = _place_block(blocks[i], target, taken, parents, x, node_w)
    for top in sorted({block.top for block in blocks}):
        group = [i for i, block in enumerate(blocks) if block.top == top]
        targets = {i: _mean_x(_outside_links(blocks[i], parents), x) for i in group}
        for i in sorted(group, key=lambda i: (targets[i] is None, targets[i] or 0.0, i)):
            if targets[i] is None:
                roots.append(i)
            place(i, targets[i])
    for i in roots:
        target = _mean_x(_outside_links(blocks[i], children), x)
        if target is not None:
            del placed[i]
            place(i, target)
    return {key: (x[key], -layers[key] * _LAYER_H) for key in x}


def _place_block(block, target, placed, parents, x, node_w):
    """Put ``block``'s nodes in ``x`` at the free spot nearest ``target``; returns its extent
    ``(left, right, top, bottom)``. Within a row, nodes are ordered by the mean position of their parents."""
    half = block.half_width(node_w)
    centre = _free_spot(target, half, block, placed)
    step = node_w + _H_GAP
    for layer in sorted(block.rows):
        keys = block.rows[layer]

        def parents_or_centre(key):
            mean = _mean_x(parents[key], x)
            return centre if mean is None else mean

        ordered = sorted(keys, key=parents_or_centre)  # a stable sort: ties keep the order of definition
        for i, key in enumerate(ordered):
            x[key] = centre + (i - (len(keys) - 1) / 2) * step
    return centre - half, centre + half, block.top, block.bottom


def _node_width(graph):
    """One width for every node: room for the longest label line inside an ellipse."""
    longest = max((max(len(node.name), len(node.family) + 2) for node in graph.nodes), default=0)
    return max(1.2, 1.3 * _CHAR_W * longest + 0.3)


# -- drawing with matplotlib ---------------------------------------------------------------------------

def _import_matplotlib():
    try:
        import matplotlib.pyplot as plt
        from matplotlib import patches
    except ImportError as err:
        raise ImportError("draw_model_graph needs matplotlib: pip install matplotlib (or pip install nbvi[plots]); "
                          "model_to_graphviz needs neither") from err
    return plt, patches


def _node_patch(patches, node, xy, node_w):
    """Ellipse (free), grey ellipse (observed), rectangle (deterministic), rounded box (data)."""
    x, y = xy
    style = {"edgecolor": "black", "linewidth": 1.0, "gid": f"node:{node.key}"}
    if node.kind in ("free", "observed"):
        face = "silver" if node.kind == "observed" else "white"  # silver is Graphviz's gray, #c0c0c0
        return patches.Ellipse(xy, node_w, _NODE_H, facecolor=face, **style)
    if node.kind == "deterministic":
        return patches.Rectangle((x - node_w / 2, y - _NODE_H / 2), node_w, _NODE_H, facecolor="white", **style)
    return patches.FancyBboxPatch((x - node_w / 2, y - _NODE_H / 2), node_w, _NODE_H, facecolor="white",
                                  boxstyle="round,pad=0,rounding_size=0.15", **style)


def _plate_box(members, xy, node_w):
    """``(left, bottom, right, top)`` of the plate around the nodes ``members``."""
    xs = [xy[node.key][0] for node in members]
    ys = [xy[node.key][1] for node in members]
    return (min(xs) - node_w / 2 - _PAD, min(ys) - _NODE_H / 2 - _LABEL_PAD,
            max(xs) + node_w / 2 + _PAD, max(ys) + _NODE_H / 2 + _PAD)


def _draw_plate(ax, patches, plate, box):
    left, bottom, right, top = box
    ax.add_patch(patches.FancyBboxPatch((left, bottom), right - left, top - bottom, facecolor="none",
                                        edgecolor="black", linewidth=1.0, gid=f"plate:{plate}",
                                        boxstyle="round,pad=0,rounding_size=0.12"))
    ax.text(right - 0.1, bottom + 0.07, plate, ha="right", va="bottom", fontsize=9,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})  # arrows pass behind the label


def _bounds(xy, boxes, node_w):
    """``(left, bottom, right, top)`` around every node and plate."""
    lefts = [x - node_w / 2 for x, _ in xy.values()] + [box[0] for box in boxes]
    bottoms = [y - _NODE_H / 2 for _, y in xy.values()] + [box[1] for box in boxes]
    rights = [x + node_w / 2 for x, _ in xy.values()] + [box[2] for box in boxes]
    tops = [y + _NODE_H / 2 for _, y in xy.values()] + [box[3] for box in boxes]
    return min(lefts, default=0.0), min(bottoms, default=0.0), max(rights, default=0.0), max(tops, default=0.0)


def draw_model_graph(model=None, ax=None):
    """The model's graph drawn with matplotlib only, for users without Graphviz.

    The same graph as :func:`model_to_graphviz`: nodes ``name ~ Family`` as ellipses (free variables),
    grey ellipses (observed), rectangles (deterministics) and rounded boxes (Data, Minibatch); arrows from
    parent to child; a rounded plate around the variables of each non-scalar shape, with the shape in its
    lower-right corner. Parents sit above their children (layers by dependency depth).

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)
    ax : matplotlib Axes, optional
        Draw into this Axes; by default a new pyplot figure sized to the graph, so that text and shapes
        keep their proportions (close it with ``plt.close(fig)`` when you make many).

    Returns
    -------
    matplotlib.figure.Figure
        Each node's patch has gid ``"node:<key>"`` and each plate's ``"plate:<label>"``.

    Raises
    ------
    ImportError
        When matplotlib is not installed.
    """
    plt, patches = _import_matplotlib()
    graph = describe_model(model)
    node_w = _node_width(graph)
    xy = _layout(graph, node_w)
    boxes = {plate: _plate_box(members, xy, node_w) for plate, members in graph.plates().items()}
    left, bottom, right, top = _bounds(xy, boxes.values(), node_w)
    margin = 0.1
    if ax is None:
        fig = plt.figure(figsize=(right - left + 2 * margin, top - bottom + 2 * margin))
        ax = fig.add_axes((0, 0, 1, 1))
    for plate, box in boxes.items():
        _draw_plate(ax, patches, plate, box)
    node_patches = {}
    for node in graph.nodes:
        node_patches[node.key] = ax.add_patch(_node_patch(patches, node, xy[node.key], node_w))
        ax.text(*xy[node.key], f"{node.name}\n~ {node.family}", ha="center", va="center", fontsize=10)
    for parent, child in graph.edges:
        ax.add_patch(patches.FancyArrowPatch(xy[parent], xy[child], arrowstyle="-|>", mutation_scale=12,
                                             patchA=node_patches[parent], patchB=node_patches[child],
                                             shrinkA=0, shrinkB=1, color="black", linewidth=1.0))
    ax.set_xlim(left - margin, right + margin)
    ax.set_ylim(bottom - margin, top + margin)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.figure
