"""Drawing the autograd graph: an SVG made here, no Graphviz needed.

:func:`draw` builds the graph (:func:`gradlab.build_graph`), places it in
layers (Sugiyama style: longest-path layers, barycenter sweeps to untangle
the edges, least-squares positions that keep the boxes apart) and returns a
:class:`GraphView`, which Jupyter displays as SVG. Every step is
deterministic, so the same graph gives byte-identical SVG text on every run.

The picture is described once (``_paint``) and painted by either painter
of :mod:`gradlab._paint`: SVG text, or a matplotlib figure that
``GraphView.save`` writes as ``.png`` or ``.pdf`` (matplotlib is imported
only then). Colours and legend words come from :mod:`gradlab._style`.

Graphviz is optional: ``GraphView.to_dot()`` gives its source
(:mod:`gradlab.dot`), and ``renderer="graphviz"`` uses the ``dot`` program
when it is installed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import torch

from gradlab._messages import bilingual
from gradlab._paint import MplPainter, Painter
from gradlab._style import COLORS, EDGE, FREED, HIGHLIGHT, ROLE_COLORS, TEXT, edge_style, legend_entries, node_style
from gradlab._svg import Point, Svg, text_width
from gradlab.dot import need_dot, run_dot, to_dot
from gradlab.graph import Graph, Node, build_graph, saved_line

__all__ = ["GraphView", "draw"]

# Colours, the node style rule and the legend's words: gradlab._style (shared with gradlab.dot).

_SIZE = 12.0  # font size (px in SVG, pt in matplotlib: the same drawing)
_LINE = 15.0  # line height
_PAD_X, _PAD_Y = 8.0, 5.0
_H_GAP, _V_GAP = 22.0, 34.0  # between boxes in a layer; between layers
_DUMMY_GAP = 10.0  # between a long edge passing through a layer and its neighbours
_MARGIN = 12.0
_SWEEPS = 4
_LEGEND_GAP = 28.0
_FONT_MPL = "DejaVu Sans Mono"  # ships with matplotlib; the SVG's first font choice

_RENDERERS = ("svg", "graphviz")


# --- Layout ------------------------------------------------------------------


@dataclass
class _Box:
    node: Node
    lines: list[tuple[str, str]]  # (text, role): role is title, text, saved or freed
    w: float
    h: float
    x: float = 0.0  # centre
    y: float = 0.0  # top
    highlighted: bool = False


@dataclass
class _Route:
    points: list[tuple[float, float]]
    highlighted: bool
    count: int


@dataclass
class _Layout:
    boxes: list[_Box]
    routes: list[_Route]
    width: float
    height: float
    legend: list[tuple[str, str]] = field(default_factory=list)  # (swatch, text)
    legend_x: float = 0.0


def _lines(node: Node, graph: Graph, show_saved: bool) -> list[tuple[str, str]]:
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


def _pav(targets: list[float], gaps: list[float], weights: list[float]) -> list[float]:
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


def _layout(graph: Graph, show_saved: bool, highlighted: set[int], legend: bool) -> _Layout:
    visible = [n for n in graph.nodes if n.kind != "saved"]
    index = {n.id: i for i, n in enumerate(visible)}
    boxes = []
    for node in visible:
        lines = _lines(node, graph, show_saved)
        width = max(text_width(text, _SIZE) for text, _ in lines) + 2 * _PAD_X
        boxes.append(_Box(node, lines, width, len(lines) * _LINE + 2 * _PAD_Y, highlighted=node.id in highlighted))

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
        placed = _pav([0.0] * len(row), gaps, [1.0] * len(row))
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
                placed = _pav(targets, gaps_by_row[level], [weights[v] for v in row])
                for v, value in zip(row, placed, strict=True):
                    x[v] = value
    left = min((x[v] - width[v] / 2 for v in range(total)), default=0.0)
    shift = _MARGIN - left
    x = [value + shift for value in x]

    # Vertical positions: one row per layer, boxes centred in their row.
    y = [0.0] * total
    top = _MARGIN
    row_mid = []
    for row in rows:
        row_h = max((height[v] for v in row), default=0.0)
        for v in row:
            y[v] = top + (row_h - height[v]) / 2
        row_mid.append(top + row_h / 2)
        top += row_h + _V_GAP
    graph_h = top - _V_GAP + _MARGIN
    graph_w = max((x[v] + width[v] / 2 for v in range(total)), default=0.0) + _MARGIN

    for i, box in enumerate(boxes):
        box.x, box.y = x[i], y[i]
    routes = []
    for chain, count in chains:
        a, b = chain[0], chain[-1]
        points = [(x[a], y[a] + height[a])]
        points.extend((x[v], row_mid[layer[v]]) for v in chain[1:-1])
        points.append((x[b], y[b]))
        routes.append(_Route(points, boxes[a].highlighted and boxes[b].highlighted, count))

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
    legend_x = graph_w + _LEGEND_GAP - _MARGIN
    if entries:
        legend_w = 34 + max(text_width(text, _SIZE) for _, text in entries)
        legend_h = _MARGIN * 2 + len(entries) * 20
        graph_w = legend_x + legend_w + _MARGIN
        graph_h = max(graph_h, legend_h)
    return _Layout(boxes, routes, graph_w, graph_h, entries, legend_x)


# --- Painting: one description of the picture, painted as SVG or by matplotlib ---

_LEGEND_ROW = 20.0  # height of one legend row
_SWATCH = 34.0  # from a legend row's swatch to its words

_P = TypeVar("_P", bound=Painter)


@dataclass
class _Legend:
    """The legend's rows ``(swatch, words, colour)``, one line of words each, at ``x`` right of the graph."""

    rows: list[tuple[str, str, str]]
    x: float

    @property
    def width(self) -> float:
        return _SWATCH + max(text_width(words, _SIZE) for _, words, _ in self.rows)

    @property
    def height(self) -> float:
        return _MARGIN * 2 + len(self.rows) * _LEGEND_ROW


def _legend(layout: _Layout, highlighted: bool) -> _Legend:
    rows = []
    for swatch, words in legend_entries(((box.node, box.lines) for box in layout.boxes), highlighted):
        color = FREED if swatch == "freed" else TEXT
        for i, line in enumerate(words.split("\n")):
            rows.append((swatch if i == 0 else "", line, color))
    return _Legend(rows, layout.width + _LEGEND_GAP - _MARGIN)


def _curve(points: list[Point]) -> tuple[Point, list[tuple[Point, Point, Point]]]:
    """Start and cubic Bezier pieces (control, control, end) through ``points``; the last ends at the arrow's base."""
    pieces = []
    for i, ((x1, y1), (x2, y2)) in enumerate(itertools.pairwise(points)):
        if i == len(points) - 2:
            y2 -= 7.0
        mid = (y2 - y1) / 2
        pieces.append(((x1, y1 + mid), (x2, y2 - mid), (x2, y2)))
    return points[0], pieces


def _arrow(x: float, y: float) -> list[Point]:
    """The arrowhead whose tip is at ``(x, y)``."""
    return [(x - 4, y - 8), (x + 4, y - 8), (x, y)]


def _paint_route(route: _Route, painter: Painter) -> None:
    color, width = edge_style(route.highlighted)
    start, pieces = _curve(route.points)
    painter.bezier(start, pieces, fill="none", stroke=color, stroke_width=width)
    end = route.points[-1]
    painter.polygon(_arrow(*end), fill=color)
    if route.count > 1:
        painter.text(end[0] + 6, end[1] - 8, f"x{route.count}", size=10, fill=color)


def _paint_box(box: _Box, painter: Painter) -> None:
    node = box.node
    style = node_style(node, box.highlighted)
    painter.open_group(class_=f"node {node.kind}", data_id=node.id)
    painter.title("\n".join(text for text, _ in box.lines))
    left = box.x - box.w / 2
    dash = "5 3" if style.dashed else None
    painter.rect(
        left,
        box.y,
        box.w,
        box.h,
        rx=5,
        fill=style.fill,
        stroke=style.stroke,
        stroke_width=style.width,
        stroke_dasharray=dash,
    )
    for i, (text, role) in enumerate(box.lines):
        y = box.y + _PAD_Y + (i + 1) * _LINE - 3.5
        weight = "bold" if role == "title" else None
        painter.text(left + _PAD_X, y, text, size=_SIZE, fill=ROLE_COLORS.get(role, TEXT), font_weight=weight)
    painter.close_group()


def _paint_swatch(swatch: str, x: float, top: float, painter: Painter) -> None:
    if swatch == "arrow":
        painter.line(x + 12, top, x + 12, top + 8, stroke=EDGE, stroke_width=1.2)
        painter.polygon(_arrow(x + 12, top + 16), fill=EDGE)
    elif swatch in COLORS:
        painter.rect(x, top + 2, 24, 12, rx=3, fill=COLORS[swatch][0], stroke=COLORS[swatch][1])
    elif swatch == "highlight":
        painter.rect(x, top + 2, 24, 12, rx=3, fill="white", stroke=HIGHLIGHT, stroke_width=3)
    elif swatch in ROLE_COLORS:
        painter.text(x, top + 12, "abc", size=_SIZE, fill=ROLE_COLORS[swatch])


def _paint(layout: _Layout, legend: _Legend | None, painter_class: Callable[..., _P]) -> _P:
    """The graph picture described once, painted by ``painter_class`` (:class:`Svg` or :class:`MplPainter`)."""
    width, height = layout.width, layout.height
    if legend is not None:
        width, height = legend.x + legend.width + _MARGIN, max(height, legend.height)
    painter = painter_class(width, height, class_="gradlab-graph")
    painter.rect(0, 0, width, height, fill="white")
    painter.open_group(class_="edges")
    for route in layout.routes:
        _paint_route(route, painter)
    painter.close_group()
    painter.open_group(class_="nodes")
    for box in layout.boxes:
        _paint_box(box, painter)
    painter.close_group()
    if legend is not None:
        painter.open_group(class_="legend")
        for i, (swatch, words, color) in enumerate(legend.rows):
            top = _MARGIN + i * _LEGEND_ROW
            _paint_swatch(swatch, legend.x, top, painter)
            painter.text(legend.x + _SWATCH, top + 12, words, size=_SIZE, fill=color)
        painter.close_group()
    return painter


# --- Public API --------------------------------------------------------------


class GraphView:
    """A drawn autograd graph: displays itself in Jupyter, saves to a file.

    Made by :func:`draw`. The layout is computed once, on first use.

    Attributes:
        graph: the :class:`gradlab.Graph` it draws.
        highlighted: ids of the highlighted nodes.
        show_saved: whether saved values are listed in the function boxes.
        renderer: ``"svg"`` (built in) or ``"graphviz"`` (the ``dot`` program).
    """

    def __init__(
        self,
        graph: Graph,
        *,
        show_saved: bool = True,
        highlighted: set[int] | frozenset[int] = frozenset(),
        renderer: str = "svg",
        legend: bool = True,
    ) -> None:
        self.graph = graph
        self.show_saved = show_saved
        self.highlighted = frozenset(highlighted)
        self.renderer = renderer
        self.legend = legend
        self._layout: _Layout | None = None
        self._legend: _Legend | None = None
        self._svg: str | None = None

    def __repr__(self) -> str:
        return f"GraphView({self.graph!r}, renderer={self.renderer!r})"

    def _get_layout(self) -> _Layout:
        if self._layout is None:
            self._layout = _layout(self.graph, self.show_saved, set(self.highlighted), legend=False)
            if self.legend:
                self._legend = _legend(self._layout, bool(self.highlighted))
        return self._layout

    def _paint(self, painter_class: Callable[..., _P]) -> _P:
        return _paint(self._get_layout(), self._legend, painter_class)

    def to_svg(self) -> str:
        """The picture as SVG text; the same graph gives the same text on every run."""
        if self._svg is None:
            if self.renderer == "graphviz":
                self._svg = run_dot(self.to_dot(), "svg").decode()
            else:
                self._svg = str(self._paint(Svg))
        return self._svg

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def to_dot(self) -> str:
        """Graphviz source of the same graph (``dot -Tsvg`` draws it); node ids are ``n0, n1, ...``."""
        labels = {n.id: _lines(n, self.graph, self.show_saved) for n in self.graph.nodes if n.kind != "saved"}
        return to_dot(self.graph, labels, highlighted=self.highlighted, legend=self.legend)

    def save(self, path: str | Path, *, dpi: float = 144) -> Path:
        """Write the picture to ``path``; the format comes from the extension.

        Args:
            path: a ``.svg``, ``.png``, ``.pdf`` or ``.dot`` file name.
            dpi: resolution of a ``.png`` (the drawing is 72 units per inch).

        Returns:
            The path written, as a :class:`pathlib.Path`.

        Raises:
            ValueError: the extension is not one of the above.
        """
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            target.write_text(self.to_svg(), encoding="utf-8")
        elif suffix in (".dot", ".gv"):
            target.write_text(self.to_dot(), encoding="utf-8")
        elif suffix in (".png", ".pdf"):
            if self.renderer == "graphviz":
                target.write_bytes(run_dot(self.to_dot(), suffix[1:]))
            else:
                self._paint(MplPainter).save(target, suffix[1:], dpi)
        else:
            raise ValueError(
                bilingual(
                    f"不支持的文件类型 {suffix or '（没有扩展名）'}。",
                    f"Unsupported file type {suffix or '(no extension)'}.",
                    todo_zh="文件名以 .svg、.png、.pdf 或 .dot 结尾，例如 view.save('graph.svg')。",
                    todo_en="End the file name with .svg, .png, .pdf or .dot, e.g. view.save('graph.svg').",
                )
            )
        return target


def _highlight_targets(highlight: object) -> list[object]:
    if highlight is None:
        return []
    items = list(highlight) if isinstance(highlight, (list, tuple, set, frozenset)) else [highlight]
    for item in items:
        ok = isinstance(item, (torch.Tensor, torch.autograd.graph.Node, str)) or (
            isinstance(item, int) and not isinstance(item, bool)
        )
        if not ok:
            raise TypeError(
                bilingual(
                    f"highlight 的每一项应该是张量、grad_fn、节点名或节点编号，但收到的是 {type(item).__name__}。",
                    f"Each item of highlight must be a tensor, a grad_fn, a node name or a node id, not {type(item).__name__}.",
                    todo_zh="例如 highlight=[a] 高亮 autograd.grad(p[1], [a]) 走过的路径。",
                    todo_en="For example highlight=[a] marks the path that autograd.grad(p[1], [a]) walks.",
                )
            )
    return items


def draw(
    *outputs: torch.Tensor,
    names: dict[str, torch.Tensor] | None = None,
    show_saved: bool = True,
    highlight: object = None,
    renderer: str = "svg",
    legend: bool = True,
) -> GraphView:
    """Draw the autograd graph behind ``outputs``: values, gradients, saved and freed tensors.

    Arrows point the way ``backward()`` walks: from the output, through each
    backward function, to ``AccumulateGrad``, which adds the gradient into
    the leaf's ``.grad``. Colours (also in the legend on the figure):

    - green box: an output tensor, with its value;
    - grey box: a backward function (the ``grad_fn``), with the values it saved
      for the backward pass (``_saved_self = ...``) in orange;
    - yellow box: ``AccumulateGrad``;
    - blue box: a leaf tensor (``requires_grad=True``) with its value and its
      ``.grad`` ("not computed yet" before backward);
    - red text and a dashed border: saved tensors that ``backward()`` freed
      because it ran without ``retain_graph=True`` (or that were changed in
      place after being saved, so that ``backward()`` would fail);
    - thick magenta: the highlighted path.

    Args:
        *outputs: the tensor(s) to draw, e.g. the loss.
        names: optional ``{"w": w, ...}``; otherwise the caller's variable names are used.
        show_saved: list the saved values in the function boxes.
        highlight: a tensor, ``grad_fn``, node name or node id, or a list of them:
            marks the paths from the outputs to them, i.e. what
            ``torch.autograd.grad(outputs, inputs=highlight)`` walks.
        renderer: ``"svg"`` (built in, no system program) or ``"graphviz"``
            (needs the ``dot`` program; checked at once).
        legend: draw the legend.

    Returns:
        A :class:`GraphView`; Jupyter displays it, ``.save("graph.png")`` writes it.

    Raises:
        TypeError: bad outputs, names or highlight.
        ValueError: a tensor has no graph, a highlight target is not in it, or an unknown renderer.
        RuntimeError: ``renderer="graphviz"`` and Graphviz is not installed.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
        >>> p = F.softmax(a, dim=0)
        >>> view = draw(p[1], highlight=[a])
        >>> sorted(view.graph.nodes[i].name for i in view.highlighted)
        ['AccumulateGrad', 'SelectBackward0', 'SoftmaxBackward0', 'a', 'output #1']
        >>> view.to_svg().startswith("<svg")
        True
    """
    if renderer not in _RENDERERS:
        raise ValueError(
            bilingual(
                f"未知的 renderer {renderer!r}。",
                f"Unknown renderer {renderer!r}.",
                todo_zh='用 renderer="svg"（默认，不需要 Graphviz）或 renderer="graphviz"。',
                todo_en='Use renderer="svg" (the default, no Graphviz needed) or renderer="graphviz".',
            )
        )
    if not isinstance(show_saved, bool) or not isinstance(legend, bool):
        raise TypeError(
            bilingual(
                "show_saved 和 legend 应该是 True 或 False。",
                "show_saved and legend must be True or False.",
                todo_zh="例如 draw(loss, show_saved=False)。",
                todo_en="For example draw(loss, show_saved=False).",
            )
        )
    targets = _highlight_targets(highlight)
    if renderer == "graphviz":
        need_dot()
    graph = build_graph(*outputs, names=names)
    highlighted = graph.path_to(*targets) if targets else set()
    return GraphView(graph, show_saved=show_saved, highlighted=highlighted, renderer=renderer, legend=legend)
