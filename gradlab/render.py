"""Drawing the autograd graph: an SVG made here, no Graphviz needed.

:func:`draw` builds the graph (:func:`gradlab.build_graph`), places it in
layers (Sugiyama style: longest-path layers, barycenter sweeps to untangle
the edges, least-squares positions that keep the boxes apart) and returns a
:class:`GraphView`, which Jupyter displays as SVG. Every step is
deterministic, so the same graph gives byte-identical SVG text on every run.

Graphviz is optional: ``GraphView.to_dot()`` gives its source, and
``renderer="graphviz"`` uses the ``dot`` program when it is installed.

matplotlib is imported only by ``GraphView.save`` for ``.png`` and ``.pdf``.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from html import escape
from pathlib import Path
from typing import Any

import torch

from gradlab._messages import bilingual
from gradlab._svg import Svg, fmt, text_width
from gradlab.graph import Graph, build_graph
from gradlab.layout import LINE as _LINE
from gradlab.layout import MARGIN as _MARGIN
from gradlab.layout import PAD_X as _PAD_X
from gradlab.layout import PAD_Y as _PAD_Y
from gradlab.layout import SIZE as _SIZE
from gradlab.layout import Layout as _Layout
from gradlab.layout import box_lines as _lines
from gradlab.layout import layout_graph as _layout
from gradlab.layout import warn_if_unreadable

__all__ = ["GraphView", "draw"]

# Colours (fill, border) by node kind; explained in the legend and in ``draw``'s docstring.
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

_LEGEND_GAP = 28.0
_FONT_MPL = "DejaVu Sans Mono"  # ships with matplotlib; the SVG's first font choice

_RENDERERS = ("svg", "graphviz")


def _add_legend(layout: _Layout, highlighted: bool, hidden: int) -> None:
    """Put the legend's (swatch, text) rows right of the graph, and widen the picture for them."""
    boxes = layout.boxes
    kinds = {b.node.kind for b in boxes}
    entries = [("arrow", "arrow: the way backward() walks")]
    if hidden:
        entries.append(("", f"({hidden} more nodes not drawn)"))
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
    layout.legend = entries
    layout.legend_x = layout.width + _LEGEND_GAP - _MARGIN
    legend_w = 34 + max(text_width(text, _SIZE) for _, text in entries)
    layout.width = layout.legend_x + legend_w + _MARGIN
    layout.height = max(layout.height, _MARGIN * 2 + len(entries) * 20)


def _segments(points: list[tuple[float, float]]) -> list[tuple[tuple[float, float], ...]]:
    """Cubic Bezier pieces (start, control, control, end) through ``points``; the last ends at the arrow's base."""
    pieces = []
    for i, ((x1, y1), (x2, y2)) in enumerate(itertools.pairwise(points)):
        if i == len(points) - 2:
            y2 -= 7.0
        mid = (y2 - y1) / 2
        pieces.append(((x1, y1), (x1, y1 + mid), (x2, y2 - mid), (x2, y2)))
    return pieces


# --- SVG ---------------------------------------------------------------------


def _arrow(x: float, y: float) -> str:
    return f"M{fmt(x - 4)},{fmt(y - 8)} L{fmt(x + 4)},{fmt(y - 8)} L{fmt(x)},{fmt(y)} Z"


def _svg(layout: _Layout) -> str:
    svg = Svg(layout.width, layout.height, class_="gradlab-graph")
    svg.rect(0, 0, layout.width, layout.height, fill="white")
    svg.open_group(class_="edges")
    for route in layout.routes:
        color = HIGHLIGHT if route.highlighted else EDGE
        d = "".join(
            (f"M{fmt(p0[0])},{fmt(p0[1])} " if i == 0 else "")
            + f"C{fmt(c1[0])},{fmt(c1[1])} {fmt(c2[0])},{fmt(c2[1])} {fmt(p1[0])},{fmt(p1[1])} "
            for i, (p0, c1, c2, p1) in enumerate(_segments(route.points))
        ).strip()
        svg.path(d, fill="none", stroke=color, stroke_width=2.5 if route.highlighted else 1.2)
        end = route.points[-1]
        svg.path(_arrow(*end), fill=color)
        if route.count > 1:
            svg.text(end[0] + 6, end[1] - 8, f"x{route.count}", size=10, fill=color)
    svg.close_group()
    svg.open_group(class_="nodes")
    for box in layout.boxes:
        node = box.node
        fill, stroke = COLORS[node.kind]
        svg.open_group(class_=f"node {node.kind}", data_id=node.id)
        svg.raw(f"<title>{escape(chr(10).join(text for text, _ in box.lines), quote=False)}</title>")
        svg.rect(
            box.x - box.w / 2,
            box.y,
            box.w,
            box.h,
            rx=5,
            fill=fill,
            stroke=HIGHLIGHT if box.highlighted else stroke,
            stroke_width=3 if box.highlighted else 1.2,
            stroke_dasharray="5 3" if node.freed or node.stale else None,
        )
        for i, (text, role) in enumerate(box.lines):
            svg.text(
                box.x - box.w / 2 + _PAD_X,
                box.y + _PAD_Y + (i + 1) * _LINE - 3.5,
                text,
                size=_SIZE,
                fill={"saved": SAVED, "freed": FREED}.get(role, TEXT),
                font_weight="bold" if role == "title" else None,
            )
        svg.close_group()
    svg.close_group()
    if layout.legend:
        svg.open_group(class_="legend")
        for i, (swatch, text) in enumerate(layout.legend):
            top = _MARGIN + i * 20
            x0 = layout.legend_x
            if swatch == "arrow":
                svg.line(x0 + 12, top, x0 + 12, top + 8, stroke=EDGE, stroke_width=1.2)
                svg.path(_arrow(x0 + 12, top + 16), fill=EDGE)
            elif swatch in COLORS:
                svg.rect(x0, top + 2, 24, 12, rx=3, fill=COLORS[swatch][0], stroke=COLORS[swatch][1])
            elif swatch == "highlight":
                svg.rect(x0, top + 2, 24, 12, rx=3, fill="white", stroke=HIGHLIGHT, stroke_width=3)
            elif swatch in ("saved", "freed"):
                svg.text(x0, top + 12, "abc", size=_SIZE, fill=SAVED if swatch == "saved" else FREED)
            color = FREED if swatch == "freed" or (swatch == "" and i and layout.legend[i - 1][0] == "freed") else TEXT
            svg.text(x0 + 34, top + 12, text, size=_SIZE, fill=color)
        svg.close_group()
    return str(svg)


# --- matplotlib (PNG, PDF) ---------------------------------------------------


def _save_matplotlib(layout: _Layout, path: Path, fmt_name: str, dpi: float) -> None:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon, Rectangle
    from matplotlib.path import Path as MplPath

    with matplotlib.rc_context({"svg.hashsalt": "gradlab", "pdf.fonttype": 42}):
        fig = Figure(figsize=(layout.width / 72, layout.height / 72), dpi=72, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, layout.width)
        ax.set_ylim(layout.height, 0)
        ax.set_axis_off()

        def arrow(x: float, y: float, color: str) -> None:
            ax.add_patch(Polygon([(x - 4, y - 8), (x + 4, y - 8), (x, y)], closed=True, color=color, lw=0))

        for route in layout.routes:
            color = HIGHLIGHT if route.highlighted else EDGE
            vertices: list[tuple[float, float]] = []
            codes: list[int] = []
            for p0, c1, c2, p1 in _segments(route.points):
                if not vertices:
                    vertices.append(p0)
                    codes.append(MplPath.MOVETO)
                vertices += [c1, c2, p1]
                codes += [MplPath.CURVE4] * 3
            ax.add_patch(
                PathPatch(MplPath(vertices, codes), fill=False, edgecolor=color, lw=2.5 if route.highlighted else 1.2)
            )
            arrow(*route.points[-1], color)
            if route.count > 1:
                end = route.points[-1]
                ax.text(end[0] + 6, end[1] - 8, f"x{route.count}", fontsize=10, family=_FONT_MPL, color=color)
        for box in layout.boxes:
            fill, stroke = COLORS[box.node.kind]
            ax.add_patch(
                FancyBboxPatch(
                    (box.x - box.w / 2, box.y),
                    box.w,
                    box.h,
                    boxstyle="round,pad=0,rounding_size=5",
                    facecolor=fill,
                    edgecolor=HIGHLIGHT if box.highlighted else stroke,
                    lw=3 if box.highlighted else 1.2,
                    linestyle=(0, (5, 3)) if box.node.freed or box.node.stale else "solid",
                )
            )
            for i, (text, role) in enumerate(box.lines):
                ax.text(
                    box.x - box.w / 2 + _PAD_X,
                    box.y + _PAD_Y + (i + 1) * _LINE - 3.5,
                    text,
                    fontsize=_SIZE,
                    family=_FONT_MPL,
                    color={"saved": SAVED, "freed": FREED}.get(role, TEXT),
                    weight="bold" if role == "title" else "normal",
                    va="baseline",
                )
        for i, (swatch, text) in enumerate(layout.legend):
            top = _MARGIN + i * 20
            x0 = layout.legend_x
            if swatch == "arrow":
                ax.plot([x0 + 12, x0 + 12], [top, top + 8], color=EDGE, lw=1.2)
                arrow(x0 + 12, top + 16, EDGE)
            elif swatch in COLORS:
                ax.add_patch(Rectangle((x0, top + 2), 24, 12, facecolor=COLORS[swatch][0], edgecolor=COLORS[swatch][1]))
            elif swatch == "highlight":
                ax.add_patch(Rectangle((x0, top + 2), 24, 12, facecolor="white", edgecolor=HIGHLIGHT, lw=3))
            elif swatch in ("saved", "freed"):
                color = SAVED if swatch == "saved" else FREED
                ax.text(x0, top + 12, "abc", fontsize=_SIZE, family=_FONT_MPL, color=color, va="baseline")
            color = FREED if swatch == "freed" or (swatch == "" and i and layout.legend[i - 1][0] == "freed") else TEXT
            ax.text(x0 + 34, top + 12, text, fontsize=_SIZE, family=_FONT_MPL, color=color, va="baseline")
        metadata: dict[str, Any] = {"Software": None} if fmt_name == "png" else {"CreationDate": None, "Producer": None}
        fig.savefig(path, format=fmt_name, dpi=dpi, metadata=metadata, facecolor="white")


# --- Graphviz ----------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _need_dot() -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            bilingual(
                'renderer="graphviz" 需要 Graphviz 的 dot 程序，但系统里没有找到它。',
                'renderer="graphviz" needs the Graphviz program dot, which was not found on this system.',
                todo_zh="安装 Graphviz：Ubuntu/Debian 上运行 sudo apt-get install graphviz，conda 环境里运行 "
                'conda install graphviz；或者不传 renderer，使用默认的 renderer="svg"（不需要 Graphviz）。',
                todo_en="Install Graphviz: sudo apt-get install graphviz on Ubuntu/Debian, or conda install graphviz "
                'in a conda environment; or leave renderer out and use the default renderer="svg" (no Graphviz needed).',
            )
        )
    return exe


def _run_dot(source: str, fmt_name: str) -> bytes:
    done = subprocess.run(
        [_need_dot(), f"-T{fmt_name}"], input=source.encode(), capture_output=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(
            bilingual(
                "Graphviz 的 dot 程序运行失败。",
                "The Graphviz program dot failed.",
                todo_zh='改用默认的 renderer="svg"。',
                todo_en='Use the default renderer="svg" instead.',
                cause=done.stderr.decode(errors="replace").strip()[:200],
            )
        )
    return done.stdout


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
        self._svg: str | None = None

    def __repr__(self) -> str:
        return f"GraphView({self.graph!r}, renderer={self.renderer!r})"

    def _get_layout(self) -> _Layout:
        if self._layout is None:
            self._layout = _layout(self.graph, self.show_saved, set(self.highlighted))
            if self.legend:
                _add_legend(self._layout, bool(self.highlighted), self.graph.hidden)
        return self._layout

    def to_svg(self) -> str:
        """The picture as SVG text; the same graph gives the same text on every run."""
        if self._svg is None:
            if self.renderer == "graphviz":
                self._svg = _run_dot(self.to_dot(), "svg").decode()
            else:
                self._svg = _svg(self._get_layout())
        return self._svg

    def _repr_svg_(self) -> str:
        return self.to_svg()

    def to_dot(self) -> str:
        """Graphviz source of the same graph (``dot -Tsvg`` draws it); node ids are ``n0, n1, ...``."""
        out = [
            "digraph autograd {",
            '  graph [rankdir=TB, nodesep=0.25, ranksep=0.4, fontname="DejaVu Sans Mono"];',
            '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans Mono", fontsize=11];',
            f'  edge [color="{EDGE}", arrowsize=0.7];',
        ]
        for node in self.graph.nodes:
            if node.kind == "saved":
                continue
            lines = _lines(node, self.graph, self.show_saved)
            label = "".join(_dot_quote(text) + "\\l" for text, _ in lines)
            fill, stroke = COLORS[node.kind]
            attrs = [f'label="{label}"', f'fillcolor="{fill}"']
            if node.id in self.highlighted:
                attrs += [f'color="{HIGHLIGHT}"', "penwidth=3"]
            else:
                attrs.append(f'color="{stroke}"')
            if node.freed or node.stale:
                attrs.append('style="rounded,filled,dashed"')
            out.append(f"  n{node.id} [{', '.join(attrs)}];")
        for edge in self.graph.edges:
            if edge.kind == "saved":
                continue
            hot = edge.src in self.highlighted and edge.dst in self.highlighted
            out.append(f"  n{edge.src} -> n{edge.dst}" + (f' [color="{HIGHLIGHT}", penwidth=2.5];' if hot else ";"))
        if self.legend:
            rows = "".join(
                f'<TR><TD BGCOLOR="{fill}" WIDTH="24"> </TD><TD ALIGN="LEFT">{text}</TD></TR>'
                for fill, text in (
                    (COLORS["output"][0], "output tensor"),
                    (COLORS["function"][0], "backward function (grad_fn)"),
                    (COLORS["accumulate"][0], "AccumulateGrad: adds into .grad"),
                    (COLORS["leaf"][0], "leaf tensor (requires_grad=True)"),
                    ("white", "dashed: saved tensors freed by backward()"),
                )
            )
            out.append(
                f'  legend [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLSPACING="2">{rows}</TABLE>>];'
            )
        out.append("}")
        return "\n".join(out) + "\n"

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
                target.write_bytes(_run_dot(self.to_dot(), suffix[1:]))
            else:
                _save_matplotlib(self._get_layout(), target, suffix[1:], dpi)
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
    depth: int | None = None,
    only: object = None,
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
        depth: draw only the nodes at most ``depth`` arrows below the outputs
            (the legend counts the rest); ``None``: all.
        only: a tensor, ``grad_fn``, node name or node id, or a list of them:
            draw only the paths from the outputs to them.

    A graph of more than 2,000 boxes is hard to read and slow to draw:
    ``draw`` warns once and suggests ``depth`` or ``only``.

    Returns:
        A :class:`GraphView`; Jupyter displays it, ``.save("graph.png")`` writes it.

    Raises:
        TypeError: bad outputs, names or highlight.
        ValueError: a tensor has no graph, a highlight or ``only`` target is not in it, a bad ``depth``,
            or an unknown renderer.
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
        _need_dot()
    graph = build_graph(*outputs, names=names, depth=depth)
    if only is not None:
        graph = graph.subgraph(graph.path_to(*(only if isinstance(only, (list, tuple, set, frozenset)) else [only])))
    warn_if_unreadable(graph)
    highlighted = graph.path_to(*targets) if targets else set()
    return GraphView(graph, show_saved=show_saved, highlighted=highlighted, renderer=renderer, legend=legend)
