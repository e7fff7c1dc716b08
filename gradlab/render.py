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
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from gradlab._messages import bilingual
from gradlab._paint import MplPainter, Painter
from gradlab._style import (
    COLORS,
    EDGE,
    FREED,
    HIDDEN,
    HIGHLIGHT,
    ROLE_COLORS,
    TEXT,
    edge_style,
    legend_entries,
    node_style,
)
from gradlab._svg import Point, Svg, text_width
from gradlab.dot import need_dot, run_dot, to_dot
from gradlab.graph import Graph, build_graph
from gradlab.layout import LINE as _LINE
from gradlab.layout import MARGIN as _MARGIN
from gradlab.layout import PAD_X as _PAD_X
from gradlab.layout import PAD_Y as _PAD_Y
from gradlab.layout import SIZE as _SIZE
from gradlab.layout import Box as _Box
from gradlab.layout import Layout as _Layout
from gradlab.layout import Route as _Route
from gradlab.layout import box_lines as _lines
from gradlab.layout import layout_graph as _layout
from gradlab.layout import warn_if_unreadable
from gradlab.trace import BackwardTrace

__all__ = ["GraphView", "draw"]

# Colours, the node style rule and the legend's words: gradlab._style (shared with gradlab.dot).

_LEGEND_GAP = 28.0

_RENDERERS = ("svg", "graphviz")


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


def _legend(layout: _Layout, highlighted: bool, hidden: int = 0) -> _Legend:
    rows = [("", f"({HIDDEN.format(n=hidden)})", TEXT)] if hidden else []
    for swatch, words in legend_entries(((box.node, box.lines) for box in layout.boxes), highlighted):
        color = FREED if swatch == "freed" else TEXT
        for i, line in enumerate(words.split("\n")):
            rows.append((swatch if i == 0 else "", line, color))
    return _Legend(rows, layout.width + _LEGEND_GAP - _MARGIN)


def _curve(points: list[Point], arrow: bool = True) -> tuple[Point, list[tuple[Point, Point, Point]]]:
    """Start and cubic Bezier pieces (control, control, end) through ``points``; with ``arrow``, the last
    ends at the arrow's base."""
    pieces = []
    for i, ((x1, y1), (x2, y2)) in enumerate(itertools.pairwise(points)):
        if arrow and i == len(points) - 2:
            y2 -= 7.0
        mid = (y2 - y1) / 2
        pieces.append(((x1, y1 + mid), (x2, y2 - mid), (x2, y2)))
    return points[0], pieces


def _arrow(x: float, y: float) -> list[Point]:
    """The arrowhead whose tip is at ``(x, y)``."""
    return [(x - 4, y - 8), (x + 4, y - 8), (x, y)]


def _paint_route(route: _Route, painter: Painter) -> None:
    color, width = edge_style(route.highlighted)
    start, pieces = _curve(route.points, route.arrow)
    painter.bezier(start, pieces, fill="none", stroke=color, stroke_width=width)
    end = route.points[-1]
    if not route.arrow:  # a branch that joins a shared weight's trunk: no arrowhead
        return
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
            self._layout = _layout(self.graph, self.show_saved, set(self.highlighted))
            if self.legend:
                self._legend = _legend(self._layout, bool(self.highlighted), self.graph.hidden)
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


def _draw_trace(
    trace: BackwardTrace, step: int | None, show_saved: bool, legend: bool, highlight: object, **given: object
) -> GraphView:
    """``draw(trace, step=k)``: the picture of a :class:`gradlab.BackwardTrace` (see :mod:`gradlab._trace_picture`)."""
    from gradlab._trace_picture import TraceView

    unsupported = [name for name, value in given.items() if value is not None]
    if unsupported:
        raise TypeError(
            bilingual(
                f"画反向传播记录时不能用 {', '.join(unsupported)}。",
                f"{', '.join(unsupported)} cannot be used when drawing a backward trace.",
                todo_zh="去掉这些参数：draw(trace) 或 draw(trace, step=2)；要只画一部分，先 draw(loss, only=...) 看图。",
                todo_en="Leave them out: draw(trace) or draw(trace, step=2); to draw part of a graph, use "
                "draw(loss, only=...) on the tensor.",
            )
        )
    targets = _highlight_targets(highlight)
    highlighted = trace.graph.path_to(*targets) if targets else set()
    return TraceView(trace, step, show_saved=show_saved, highlighted=highlighted, legend=legend)


def draw(
    *outputs: torch.Tensor,
    names: dict[str, torch.Tensor] | None = None,
    show_saved: bool = True,
    highlight: object = None,
    renderer: str = "svg",
    legend: bool = True,
    depth: int | None = None,
    only: object = None,
    step: int | None = None,
) -> GraphView:
    """Draw the autograd graph behind ``outputs``: values, gradients, saved and freed tensors.

    Given a :class:`gradlab.BackwardTrace` (from :func:`gradlab.trace_backward`)
    instead of tensors, it draws what that backward pass did: every arrow
    labelled with the gradient it carried and, with ``step=k``, the state after
    ``k`` steps (done, current, not yet run; the current function shows the
    chain rule in numbers).

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
        depth: draw only the nodes at most ``depth`` arrows below the outputs
            (the legend counts the rest); ``None``: all.
        only: a tensor, ``grad_fn``, node name or node id, or a list of them:
            draw only the paths from the outputs to them.
        step: only with a trace: draw the state after this many steps
            (``0`` to ``len(trace.steps)``); ``None`` draws the finished pass.

    A graph of more than 2,000 boxes is hard to read and slow to draw:
    ``draw`` warns once and suggests ``depth`` or ``only``.

    Returns:
        A :class:`GraphView`; Jupyter displays it, ``.save("graph.png")`` writes it.

    Raises:
        TypeError: bad outputs, names or highlight.
        ValueError: a tensor has no graph, a highlight or ``only`` target is not in it, a bad ``depth``,
            or an unknown renderer.
        IndexError: ``step`` is out of range for the trace.
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
    if len(outputs) == 1 and isinstance(outputs[0], BackwardTrace):
        graphviz = renderer if renderer != "svg" else None
        given = {"names": names, "depth": depth, "only": only, "renderer": graphviz}
        return _draw_trace(outputs[0], step, show_saved, legend, highlight, **given)
    if step is not None:
        raise TypeError(
            bilingual(
                "step 只能和反向传播记录一起用。",
                "step works only with a backward trace.",
                todo_zh="先记录：trace = gradlab.trace_backward(loss)，再 gradlab.draw(trace, step=2)。",
                todo_en="Record one first: trace = gradlab.trace_backward(loss), then gradlab.draw(trace, step=2).",
            )
        )
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
    graph = build_graph(*outputs, names=names, depth=depth)
    if only is not None:
        graph = graph.subgraph(graph.path_to(*(only if isinstance(only, (list, tuple, set, frozenset)) else [only])))
    warn_if_unreadable(graph)
    highlighted = graph.path_to(*targets) if targets else set()
    return GraphView(graph, show_saved=show_saved, highlighted=highlighted, renderer=renderer, legend=legend)
