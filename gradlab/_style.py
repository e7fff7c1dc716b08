"""How the autograd graph looks: its colours, the rule that styles a node, and the legend's words.

The built-in picture (:mod:`gradlab.render`, SVG or matplotlib) and the
Graphviz source (:mod:`gradlab.dot`) both take their colours and legend from
here, so the two can never explain the graph differently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from gradlab.graph import Node

__all__ = [
    "COLORS",
    "EDGE",
    "FREED",
    "HIGHLIGHT",
    "LEGEND",
    "ROLE_COLORS",
    "SAVED",
    "TEXT",
    "EdgeStyle",
    "NodeStyle",
    "edge_style",
    "legend_entries",
    "node_style",
]

# (fill, border) by node kind; ``draw``'s docstring says what each colour means.
COLORS = {
    "output": ("#d9f2d0", "#3d7a2a"),
    "function": ("#eeeeee", "#6b6b6b"),
    "accumulate": ("#fff1b8", "#9a7b00"),
    "leaf": ("#d3e5f8", "#2c6aa6"),
}
SAVED = "#b35c00"
FREED = "#c62828"
HIGHLIGHT = "#d81b60"
EDGE = "#666666"
TEXT = "#222222"
ROLE_COLORS = {"saved": SAVED, "freed": FREED}  # text colour of a box line by its role; others are TEXT

# The legend's words, in the order the legend lists them. A line break starts a second legend row.
LEGEND = {
    "arrow": "arrow: the way backward() walks",
    "output": "output tensor (value)",
    "function": "backward function (grad_fn)",
    "accumulate": "AccumulateGrad: adds into .grad",
    "leaf": "leaf tensor (requires_grad=True)",
    "saved": "saved for backward (_saved_*)",
    "freed": "freed: backward() ran without\nretain_graph=True",
    "stale": "changed in place after saving",
    "highlight": "highlighted path",
}


class NodeStyle(NamedTuple):
    fill: str
    stroke: str
    width: float  # border width
    dashed: bool  # its saved tensors were freed, or changed in place


class EdgeStyle(NamedTuple):
    color: str
    width: float


def node_style(node: Node, highlighted: bool) -> NodeStyle:
    """The box of ``node``: its kind's colours, a thick magenta border on the highlighted path.

    Example:
        >>> from gradlab.graph import Node
        >>> node_style(Node(0, "leaf", "w", "w"), highlighted=True)
        NodeStyle(fill='#d3e5f8', stroke='#d81b60', width=3.0, dashed=False)
    """
    fill, stroke = COLORS[node.kind]
    return NodeStyle(fill, HIGHLIGHT if highlighted else stroke, 3.0 if highlighted else 1.2, node.freed or node.stale)


def edge_style(highlighted: bool) -> EdgeStyle:
    """An arrow: grey, or thick magenta on the highlighted path."""
    return EdgeStyle(HIGHLIGHT, 2.5) if highlighted else EdgeStyle(EDGE, 1.2)


def legend_entries(labelled: Iterable[tuple[Node, list[tuple[str, str]]]], highlighted: bool) -> list[tuple[str, str]]:
    """The legend for the drawn boxes: ``(swatch, words)`` for each thing the picture shows.

    Args:
        labelled: each drawn node with its label lines ``(text, role)``.
        highlighted: whether a path is highlighted.

    Returns:
        ``(swatch, words)`` pairs in :data:`LEGEND`'s order; the swatch is ``"arrow"``,
        a node kind, ``"saved"``, ``"freed"`` or ``"highlight"``.

    Example:
        >>> from gradlab.graph import Node
        >>> legend_entries([(Node(0, "leaf", "w", "w"), [("w", "title")])], highlighted=False)
        [('arrow', 'arrow: the way backward() walks'), ('leaf', 'leaf tensor (requires_grad=True)')]
    """
    pairs = list(labelled)
    kinds = {node.kind for node, _ in pairs}
    shown = {"arrow"} | kinds
    if any(role == "saved" for _, lines in pairs for _, role in lines):
        shown.add("saved")
    if any(node.freed for node, _ in pairs):
        shown.add("freed")
    if any(node.stale for node, _ in pairs):
        shown.add("stale")
    if highlighted:
        shown.add("highlight")
    return [("freed" if key == "stale" else key, words) for key, words in LEGEND.items() if key in shown]
