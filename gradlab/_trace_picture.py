"""The picture of a backward trace: the gradient on every arrow, and the state after k steps.

``gradlab.draw(trace)`` and ``gradlab.draw(trace, step=k)`` return a
:class:`TraceView`. It lays the graph out exactly as :func:`gradlab.draw`
does (the same boxes in the same places for every step, so stepping does not
move anything) and paints on top of it:

- every arrow's gradient (:meth:`BackwardTrace.edge_grads`), written like the
  values in the boxes; none on arrows whose sender has not run yet;
- with ``step``, each function as done, current or not yet run
  (:func:`gradlab._style.step_node_style`), and beside the current one what it
  did: the chain rule in numbers (upstream × local derivative = downstream)
  for a function of single numbers, or the addition into ``.grad`` for
  ``AccumulateGrad``;
- a leaf's ``grad`` line as it is after the step.

One description, two painters (:class:`gradlab._svg.Svg`,
:class:`gradlab._paint.MplPainter`), as for the untraced picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from gradlab._labels import grad_line, is_grad_line, tensor_text
from gradlab._paint import Painter
from gradlab._style import (
    CURRENT,
    FREED,
    GRADIENT,
    HIDDEN,
    LEGEND,
    NOTE,
    ROLE_COLORS,
    STEP_LEGEND,
    TEXT,
    legend_entries,
    step_edge_style,
    step_node_style,
    step_text_color,
)
from gradlab._svg import text_width
from gradlab.graph import Node
from gradlab.layout import LINE, MARGIN, PAD_X, PAD_Y, SIZE, Box, Layout, Route
from gradlab.render import (
    _LEGEND_GAP,
    _P,
    GraphView,
    _arrow,
    _curve,
    _Legend,
    _paint_swatch,
)

if TYPE_CHECKING:
    from gradlab.trace import BackwardTrace

__all__ = ["TraceView", "arrow_labels", "step_notes"]

_LABEL_SIZE = 10.0
_NOTE_SIZE = 11.0
_NOTE_GAP = 12.0  # from the current box to its note
_SWATCH_NODE = Node(-1, "function", "", "")  # a function box, for the legend's swatches

Pair = tuple[int, int]  # (sender node id, receiver node id)


def arrow_labels(trace: BackwardTrace, step: int | None = None) -> dict[Pair, str]:
    """The text on each arrow after ``step`` steps (all of them if ``None``): its gradient, like a box value.

    Two arrows between the same boxes (``a + a``) show both gradients, joined by ``+``.

    Example:
        >>> import torch, gradlab
        >>> x, w = torch.tensor([1.0]), torch.tensor([2.0], requires_grad=True)
        >>> trace = gradlab.trace_backward(torch.nn.functional.mse_loss(torch.ones(1), x * w))
        >>> sorted(arrow_labels(trace).values())
        ['1.', '[2.]', '[2.]', '[2.]']
        >>> arrow_labels(trace, step=0)
        {(0, 1): '1.'}
    """
    grads = trace.edge_grads(len(trace.steps) if step is None else step)
    texts: dict[Pair, list[str]] = {}
    for edge, grad in zip(trace.graph.edges, grads, strict=True):
        if grad is not None and edge.kind != "saved":
            texts.setdefault((edge.src, edge.dst), []).append(tensor_text(grad))
    return {pair: " + ".join(parts) for pair, parts in texts.items()}


def _leaf_grads(trace: BackwardTrace, step: int) -> dict[int, torch.Tensor | None]:
    """Each leaf's ``.grad`` after ``step`` steps, for the leaves an ``AccumulateGrad`` step wrote so far."""
    held: dict[int, torch.Tensor | None] = {}
    for s in trace.steps[:step]:
        if s.leaf is not None:
            held[s.leaf] = s.grad_after
    return held


def step_notes(trace: BackwardTrace, step: int) -> list[str]:
    """The note beside the function that ran in step ``step`` (1 to ``len(trace.steps)``): what it did, in numbers.

    Its words are "中文 / English" (:data:`gradlab._style.NOTE`).

    Example:
        >>> import torch, gradlab
        >>> x, w = torch.tensor([1.0]), torch.tensor([2.0], requires_grad=True)
        >>> trace = gradlab.trace_backward(torch.nn.functional.mse_loss(torch.ones(1), x * w))
        >>> step_notes(trace, 1)
        ['链式法则 / chain rule', '上游 × 局部导数 = 下游 / upstream × local = downstream', '1. × 2. = 2. → MulBackward0']
        >>> step_notes(trace, 3)
        ['w.grad = [2.] (之前没有 / it had none)']
        >>> step_notes(gradlab.trace_backward((w * torch.ones(2)).sum()), 1)
        ['收到 / got 1.', '传出 / sent [1., 1.] → MulBackward0']
    """
    s = trace.steps[step - 1]
    if s.leaf is not None:
        name = trace.graph.nodes[s.leaf].name
        after = "None" if s.grad_after is None else tensor_text(s.grad_after)
        if s.grad_before is None:
            return [f"{name}.grad = {after} ({NOTE['first']})"]
        arrived = "None" if not s.grad_outputs or s.grad_outputs[0] is None else tensor_text(s.grad_outputs[0])
        return [f"{name}.grad = {tensor_text(s.grad_before)} + {arrived} = {after}"]
    rules = trace.chain_rule(step - 1)
    if rules:
        return [NOTE["chain"], NOTE["rule"], *(str(rule) for rule in rules)]
    got = ", ".join("None" if g is None else tensor_text(g) for g in s.grad_outputs)
    lines = [f"{NOTE['got']} {got}"]
    for grad, to in zip(s.grad_inputs, s.sends_to, strict=True):
        if grad is not None and to is not None:
            lines.append(f"{NOTE['sent']} {tensor_text(grad)} → {trace.graph.nodes[to].name}")
    return lines


def _route_pairs(layout: Layout) -> list[Pair | None]:
    """The (sender, receiver) node ids of each route; ``None`` for a shared trunk (its branches get the label)."""
    bottoms = {(b.x, b.y + b.h): b.node.id for b in layout.boxes}
    tops = {(b.x, b.y): b.node.id for b in layout.boxes}
    trunk_target: dict[tuple[float, float], int] = {}
    for _ in range(2):  # a trunk split in two: the lower piece first tells the upper one its target
        for route in layout.routes:
            if route.points[0] in bottoms:
                continue
            target = tops.get(route.points[-1]) if route.arrow else trunk_target.get(route.points[-1])
            if target is not None:
                for point in route.points:
                    trunk_target[point] = target
    pairs: list[Pair | None] = []
    for route in layout.routes:
        src = bottoms.get(route.points[0])
        dst = tops.get(route.points[-1]) if route.arrow else trunk_target.get(route.points[-1])
        pairs.append(None if src is None or dst is None else (src, dst))
    return pairs


def _label_anchor(route: Route) -> tuple[float, float]:
    (x1, y1), (x2, y2) = route.points[0], route.points[1]
    return (x1 + x2) / 2 + 5, (y1 + y2) / 2 + 3.5


class TraceView(GraphView):
    """A drawn backward trace: :class:`gradlab.GraphView` with gradients on the arrows and, with ``step``,
    the state after ``step`` steps. Made by :func:`gradlab.draw` given a :class:`gradlab.BackwardTrace`.

    Attributes:
        trace: the :class:`gradlab.BackwardTrace` it draws.
        step: how many steps have run in the picture (``None``: the finished pass, no states).
    """

    def __init__(
        self,
        trace: BackwardTrace,
        step: int | None = None,
        *,
        show_saved: bool = True,
        highlighted: set[int] | frozenset[int] = frozenset(),
        legend: bool = True,
    ) -> None:
        super().__init__(trace.graph, show_saved=show_saved, highlighted=highlighted, legend=legend)
        if step is not None:
            trace.status(step)  # checks the range, with a bilingual error
        self.trace = trace
        self.step = step
        self._right: float | None = None  # with :meth:`steady`: the right end fitting every step's note

    def __repr__(self) -> str:
        return f"TraceView({self.trace!r}, step={self.step!r})"

    def at(self, step: int | None) -> TraceView:
        """The same picture after ``step`` steps; the layout is reused, so stepping is cheap and nothing moves."""
        view = TraceView(self.trace, step, show_saved=self.show_saved, highlighted=self.highlighted, legend=self.legend)
        view._layout, view._legend, view._right = self._get_layout(), self._legend, self._right
        return view

    def steady(self) -> TraceView:
        """Make every :meth:`at` picture the same size, wide enough for each step's note (so stepping
        does not move the legend); costs one pass over all the steps, once."""
        layout = self._get_layout()
        right = _labels_right(layout, arrow_labels(self.trace), _route_pairs(layout))
        boxes = {b.node.id: b for b in layout.boxes}
        for s in self.trace.steps:
            right = max(right, _note_right(self, boxes[s.node], s.index + 1))
        self._right = right + MARGIN
        return self

    def _paint(self, painter_class: Callable[..., _P]) -> _P:
        return _paint_trace(self, painter_class)


def _box_texts(box: Box, leaf_grad: dict[int, torch.Tensor | None]) -> list[tuple[str, str]]:
    if box.node.id not in leaf_grad:
        return box.lines
    line = grad_line(leaf_grad[box.node.id])
    return [(line, role) if role != "title" and is_grad_line(text) else (text, role) for text, role in box.lines]


def _paint_box(box: Box, state: str, lines: list[tuple[str, str]], painter: Painter) -> None:
    node = box.node
    style = step_node_style(node, state, box.highlighted)
    faded = step_text_color(state)
    width = box.w if lines is box.lines else max(box.w, max(text_width(t, SIZE) for t, _ in lines) + 2 * PAD_X)
    left = box.x - width / 2
    painter.open_group(class_=f"node {node.kind} {state}", data_id=node.id)
    painter.title("\n".join(text for text, _ in lines))
    dash = ("2 3" if state == "skipped" else "5 3") if style.dashed else None
    painter.rect(
        left, box.y, width, box.h, rx=5, fill=style.fill, stroke=style.stroke, stroke_width=style.width,
        stroke_dasharray=dash,
    )  # fmt: skip
    for i, (text, role) in enumerate(lines):
        y = box.y + PAD_Y + (i + 1) * LINE - 3.5
        color = faded or ROLE_COLORS.get(role, TEXT)
        painter.text(left + PAD_X, y, text, size=SIZE, fill=color, font_weight="bold" if role == "title" else None)
    painter.close_group()


def _paint_arrow(route: Route, state: str, painter: Painter) -> None:
    color, width = step_edge_style(state, route.highlighted)
    start, pieces = _curve(route.points, route.arrow)
    painter.bezier(start, pieces, fill="none", stroke=color, stroke_width=width)
    if route.arrow:
        end = route.points[-1]
        painter.polygon(_arrow(*end), fill=color)
        if route.count > 1:
            painter.text(end[0] + 6, end[1] - 8, f"x{route.count}", size=10, fill=color)


def _paint_label(x: float, y: float, text: str, color: str, painter: Painter) -> float:
    """A gradient on a white patch at ``(x, y)`` (baseline); returns its right end."""
    width = text_width(text, _LABEL_SIZE)
    painter.rect(x - 2, y - _LABEL_SIZE + 1, width + 4, _LABEL_SIZE + 3, fill="white", opacity=0.85)
    painter.text(x, y, text, size=_LABEL_SIZE, fill=color, class_="gradient")
    return x + width + 2


def _paint_note(box: Box, lines: list[str], painter: Painter) -> float:
    """The current step's note in an orange-bordered box right of ``box``; returns its right end."""
    left = box.x + box.w / 2 + _NOTE_GAP
    width = max(text_width(line, _NOTE_SIZE) for line in lines) + 2 * PAD_X
    height = len(lines) * LINE + 2 * PAD_Y
    painter.open_group(class_="note")
    painter.rect(left, box.y, width, height, rx=5, fill="#fff8f0", stroke=CURRENT, stroke_width=1.5)
    for i, line in enumerate(lines):
        weight = "bold" if i == 0 and line == NOTE["chain"] else None
        y = box.y + PAD_Y + (i + 1) * LINE - 3.5
        painter.text(left + PAD_X, y, line, size=_NOTE_SIZE, fill=TEXT, font_weight=weight)
    painter.close_group()
    return left + width


def _labels_right(layout: Layout, labels: dict[Pair, str], pairs: list[Pair | None]) -> float:
    """How far right the boxes and the arrows' gradients reach."""
    right = layout.width - MARGIN
    for route, pair in zip(layout.routes, pairs, strict=True):
        if pair is not None and pair in labels:
            right = max(right, _label_anchor(route)[0] + text_width(labels[pair], _LABEL_SIZE) + 2)
    return right


def _note_right(view: TraceView, box: Box, step: int) -> float:
    """How far right the note of step ``step`` (beside ``box``) reaches."""
    note = step_notes(view.trace, step)
    return box.x + box.w / 2 + _NOTE_GAP + max(text_width(t, _NOTE_SIZE) for t in note) + 2 * PAD_X


def _extent(
    view: TraceView, layout: Layout, labels: dict[Pair, str], pairs: list[Pair | None], step: int | None
) -> float:
    """How far right the picture reaches after ``step`` steps: the boxes, the arrows' gradients, the step's note."""
    right = _labels_right(layout, labels, pairs)
    if step:
        node = view.trace.steps[step - 1].node
        right = max(right, _note_right(view, next(b for b in layout.boxes if b.node.id == node), step))
    return right + MARGIN


def _trace_legend(view: TraceView, layout: Layout, x: float, states: set[str]) -> _Legend:
    rows = [("", f"({HIDDEN.format(n=view.graph.hidden)})", TEXT)] if view.graph.hidden else []
    for swatch, words in legend_entries(((b.node, b.lines) for b in layout.boxes), bool(view.highlighted)):
        for i, line in enumerate(words.split("\n")):
            rows.append((swatch if i == 0 else "", line, FREED if swatch == "freed" else TEXT))
    rows.append(("gradient", LEGEND["gradient"], TEXT))
    rows.extend((state, LEGEND[state], TEXT) for state in STEP_LEGEND if state in states)
    return _Legend(rows, x + _LEGEND_GAP - MARGIN)


def _paint_legend(legend: _Legend, painter: Painter) -> None:
    painter.open_group(class_="legend")
    for i, (swatch, words, color) in enumerate(legend.rows):
        top = MARGIN + i * 20.0
        x = legend.x
        if swatch == "gradient":
            painter.text(x, top + 12, "[2.]", size=_LABEL_SIZE, fill=GRADIENT)
        elif swatch in STEP_LEGEND:
            style = step_node_style(_SWATCH_NODE, swatch, False)
            dash = ("2 3" if swatch == "skipped" else "5 3") if style.dashed else None
            painter.rect(
                x, top + 2, 24, 12, rx=3, fill=style.fill, stroke=style.stroke, stroke_width=min(style.width, 2.5),
                stroke_dasharray=dash,
            )  # fmt: skip
        else:
            _paint_swatch(swatch, x, top, painter)
        painter.text(x + 34.0, top + 12, words, size=SIZE, fill=color)
    painter.close_group()


def _paint_trace(view: TraceView, painter_class: Callable[..., _P]) -> _P:
    """The trace picture described once, painted by ``painter_class``."""
    trace, step = view.trace, view.step
    layout = view._get_layout()
    total = len(trace.steps)
    done = total if step is None else step
    states = trace.status(done) if step is not None else {}
    labels = arrow_labels(trace, done)
    current = trace.steps[step - 1].node if step else None
    pairs = _route_pairs(layout)
    right = view._right if view._right is not None else _extent(view, layout, labels, pairs, step)
    legend = _trace_legend(view, layout, right, set(states.values())) if view.legend else None
    width, height = right, layout.height
    if legend is not None:
        width, height = legend.x + legend.width + MARGIN, max(height, legend.height)
    painter = painter_class(width, height, class_="gradlab-graph gradlab-trace")
    painter.rect(0, 0, width, height, fill="white")
    painter.open_group(class_="edges")
    for route, pair in zip(layout.routes, pairs, strict=True):
        carried = pair is None or pair in labels
        state = "sent" if pair is not None and pair[0] == current and carried else "carried"
        _paint_arrow(route, state if carried or step is None else "waiting", painter)
    painter.close_group()
    painter.open_group(class_="nodes")
    leaf_grad = _leaf_grads(trace, done)
    for box in layout.boxes:
        _paint_box(box, states.get(box.node.id, "done"), _box_texts(box, leaf_grad), painter)
    painter.close_group()
    painter.open_group(class_="gradients")
    for route, pair in zip(layout.routes, pairs, strict=True):
        if pair is not None and pair in labels:
            color = CURRENT if pair[0] == current else GRADIENT
            _paint_label(*_label_anchor(route), labels[pair], color, painter)
    painter.close_group()
    if step:
        box = next(b for b in layout.boxes if b.node.id == current)
        _paint_note(box, step_notes(trace, step), painter)
    if legend is not None:
        _paint_legend(legend, painter)
    return painter
