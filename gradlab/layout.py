"""Where each box and arrow of an autograd graph goes (Sugiyama style), with no painting.

:func:`layout_graph` turns a :class:`gradlab.Graph` into a :class:`Layout`:
boxes with their text lines and positions, and routes (polylines) for the
arrows. The painters in :mod:`gradlab.render` only read it. Every step is
deterministic, so the same graph gives the same layout on every run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from gradlab._svg import text_width
from gradlab.graph import Graph, Node, saved_line

__all__ = ["LINE", "MARGIN", "PAD_X", "PAD_Y", "SIZE", "Box", "Layout", "Route", "box_lines", "layout_graph", "pav"]

SIZE = 12.0  # font size (px in SVG, pt in matplotlib: the same drawing)
LINE = 15.0  # line height
PAD_X, PAD_Y = 8.0, 5.0
_H_GAP, _V_GAP = 22.0, 34.0  # between boxes in a layer; between layers
_DUMMY_GAP = 10.0  # between a long edge passing through a layer and its neighbours
MARGIN = 12.0
_SWEEPS = 4
_LEGEND_GAP = 28.0


@dataclass
class Box:
    node: Node
    lines: list[tuple[str, str]]  # (text, role): role is title, text, saved or freed
    w: float
    h: float
    x: float = 0.0  # centre
    y: float = 0.0  # top
    highlighted: bool = False


@dataclass
class Route:
    points: list[tuple[float, float]]
    highlighted: bool
    count: int


@dataclass
class Layout:
    boxes: list[Box]
    routes: list[Route]
    width: float
    height: float
    legend: list[tuple[str, str]] = field(default_factory=list)  # (swatch, text)
    legend_x: float = 0.0


def box_lines(node: Node, graph: Graph, show_saved: bool) -> list[tuple[str, str]]:
    label = node.label.split("\n")
    if node.kind != "function":
        return [(label[0], "title")] + [(line, "text") for line in label[1:]]
    lines = [(node.name, "title")]
    if node.tensor_name:
        lines.append((f"grad_fn of {node.tensor_name}", "text"))
    if show_saved:
        for child in graph.children(node.id, saved=True):
            saved = graph.nodes[child]
            if saved.kind == "saved":
                lines.append((saved_line(saved), "freed" if saved.freed or saved.stale else "saved"))
    return lines


def pav(targets: list[float], gaps: list[float], weights: list[float]) -> list[float]:
    """Positions closest (weighted least squares) to ``targets`` with ``x[i] - x[i-1] >= gaps[i]``.

    Pool-adjacent-violators on ``targets[i] - offset[i]``; linear time.
    """
    offsets = []
    total = 0.0
    for gap in gaps:
        total += gap
        offsets.append(total)
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for target, offset, weight in zip(targets, offsets, weights, strict=True):
        blocks.append([weight, weight * (target - offset), 1])
        while len(blocks) > 1 and blocks[-2][1] * blocks[-1][0] > blocks[-1][1] * blocks[-2][0]:
            w, s, c = blocks.pop()
            blocks[-1][0] += w
            blocks[-1][1] += s
            blocks[-1][2] += c
    result = []
    for w, s, c in blocks:
        result.extend([s / w] * int(c))
    return [y + offset for y, offset in zip(result, offsets, strict=True)]


def layout_graph(graph: Graph, show_saved: bool, highlighted: set[int], legend: bool) -> Layout:
    visible = [n for n in graph.nodes if n.kind != "saved"]
    index = {n.id: i for i, n in enumerate(visible)}
    boxes = []
    for node in visible:
        lines = box_lines(node, graph, show_saved)
        width = max(text_width(text, SIZE) for text, _ in lines) + 2 * PAD_X
        boxes.append(Box(node, lines, width, len(lines) * LINE + 2 * PAD_Y, highlighted=node.id in highlighted))

    # Edges between visible boxes, duplicates counted (x * x uses x twice).
    counts: dict[tuple[int, int], int] = {}
    for edge in graph.edges:
        if edge.kind != "saved":
            key = (index[edge.src], index[edge.dst])
            counts[key] = counts.get(key, 0) + 1
    n = len(boxes)
    down: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in counts:
        down[a].append(b)
        indegree[b] += 1

    # Longest-path layering (Kahn's order; outputs on top).
    layer = [0] * n
    ready = [i for i in range(n) if indegree[i] == 0]
    head = 0
    while head < len(ready):
        a = ready[head]
        head += 1
        for b in down[a]:
            layer[b] = max(layer[b], layer[a] + 1)
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)

    # Long edges pass through dummy points, one per layer crossed.
    width = [b.w for b in boxes]
    height = [b.h for b in boxes]
    up_nb: list[list[int]] = [[] for _ in range(n)]
    down_nb: list[list[int]] = [[] for _ in range(n)]
    chains: list[tuple[list[int], int]] = []  # (vertex chain, count)
    for (a, b), count in counts.items():
        chain = [a]
        for level in range(layer[a] + 1, layer[b]):
            layer.append(level)
            width.append(0.0)
            height.append(0.0)
            up_nb.append([])
            down_nb.append([])
            chain.append(len(layer) - 1)
        chain.append(b)
        for u, v in itertools.pairwise(chain):
            down_nb[u].append(v)
            up_nb[v].append(u)
        chains.append((chain, count))
    total = len(layer)
    dummy = [i >= n for i in range(total)]

    # Initial order: the walk order (ids), dummies after their source.
    key = [float(boxes[i].node.id) if i < n else 0.0 for i in range(total)]
    for chain, _ in chains:
        for v in chain[1:-1]:
            key[v] = key[chain[0]] + 0.5
    depth = max(layer) + 1 if layer else 0
    rows: list[list[int]] = [[] for _ in range(depth)]
    for v in sorted(range(total), key=lambda v: (key[v], v)):
        rows[layer[v]].append(v)

    # Barycenter sweeps.
    pos = [0] * total
    for row in rows:
        for i, v in enumerate(row):
            pos[v] = i
    for _ in range(_SWEEPS):
        for neighbours, order in ((up_nb, range(1, depth)), (down_nb, range(depth - 2, -1, -1))):
            for level in order:
                row = rows[level]
                bary = {}
                for v in row:
                    nb = neighbours[v]
                    bary[v] = sum(pos[u] for u in nb) / len(nb) if nb else float(pos[v])
                row.sort(key=lambda v: (bary[v], pos[v]))
                for i, v in enumerate(row):
                    pos[v] = i

    # Horizontal positions: pull towards the neighbours, keep the boxes apart.
    x = [0.0] * total
    gaps_by_row = []
    for row in rows:
        gaps = [0.0]
        for a, b in itertools.pairwise(row):
            gap = _DUMMY_GAP if dummy[a] or dummy[b] else _H_GAP
            gaps.append((width[a] + width[b]) / 2 + gap)
        gaps_by_row.append(gaps)
        placed = pav([0.0] * len(row), gaps, [1.0] * len(row))
        for v, value in zip(row, placed, strict=True):
            x[v] = value
    weights = [4.0 if d else 1.0 for d in dummy]  # long edges straight
    for _ in range(_SWEEPS * 2):
        for neighbours, order in ((up_nb, range(1, depth)), (down_nb, range(depth - 2, -1, -1))):
            for level in order:
                row = rows[level]
                targets = []
                for v in row:
                    nb = neighbours[v]
                    targets.append(sum(x[u] for u in nb) / len(nb) if nb else x[v])
                placed = pav(targets, gaps_by_row[level], [weights[v] for v in row])
                for v, value in zip(row, placed, strict=True):
                    x[v] = value
    left = min((x[v] - width[v] / 2 for v in range(total)), default=0.0)
    shift = MARGIN - left
    x = [value + shift for value in x]

    # Vertical positions: one row per layer, boxes centred in their row.
    y = [0.0] * total
    top = MARGIN
    row_mid = []
    for row in rows:
        row_h = max((height[v] for v in row), default=0.0)
        for v in row:
            y[v] = top + (row_h - height[v]) / 2
        row_mid.append(top + row_h / 2)
        top += row_h + _V_GAP
    graph_h = top - _V_GAP + MARGIN
    graph_w = max((x[v] + width[v] / 2 for v in range(total)), default=0.0) + MARGIN

    for i, box in enumerate(boxes):
        box.x, box.y = x[i], y[i]
    routes = []
    for chain, count in chains:
        a, b = chain[0], chain[-1]
        points = [(x[a], y[a] + height[a])]
        points.extend((x[v], row_mid[layer[v]]) for v in chain[1:-1])
        points.append((x[b], y[b]))
        routes.append(Route(points, boxes[a].highlighted and boxes[b].highlighted, count))

    entries: list[tuple[str, str]] = []
    if legend:
        kinds = {b.node.kind for b in boxes}
        entries = [("arrow", "arrow: the way backward() walks")]
        names = {
            "output": "output tensor (value)",
            "function": "backward function (grad_fn)",
            "accumulate": "AccumulateGrad: adds into .grad",
            "leaf": "leaf tensor (requires_grad=True)",
        }
        entries += [(kind, text) for kind, text in names.items() if kind in kinds]
        roles = {role for b in boxes for _, role in b.lines}
        if "saved" in roles:
            entries.append(("saved", "saved for backward (_saved_*)"))
        if any(b.node.freed for b in boxes):
            entries.append(("freed", "freed: backward() ran without"))
            entries.append(("", "retain_graph=True"))
        if any(b.node.stale for b in boxes):
            entries.append(("freed", "changed in place after saving"))
        if highlighted:
            entries.append(("highlight", "highlighted path"))
    legend_x = graph_w + _LEGEND_GAP - MARGIN
    if entries:
        legend_w = 34 + max(text_width(text, SIZE) for _, text in entries)
        legend_h = MARGIN * 2 + len(entries) * 20
        graph_w = legend_x + legend_w + MARGIN
        graph_h = max(graph_h, legend_h)
    return Layout(boxes, routes, graph_w, graph_h, entries, legend_x)
