"""The autograd graph as Graphviz source, and the ``dot`` program when it is installed.

``GraphView.to_dot()`` and ``draw(..., renderer="graphviz")`` use this
module. The boxes, colours and legend words are the built-in picture's
(:mod:`gradlab._style`); only the placement is Graphviz's own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Collection, Mapping
from html import escape

from gradlab._messages import bilingual
from gradlab._style import COLORS, EDGE, FREED, HIGHLIGHT, SAVED, TEXT, edge_style, legend_entries, node_style
from gradlab.graph import Graph

__all__ = ["need_dot", "run_dot", "to_dot"]

_FONT = "DejaVu Sans Mono"
_TIMEOUT = 120.0  # seconds dot may run before draw gives up


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _legend_row(swatch: str, words: str) -> str:
    """One row of the legend table: a swatch cell and the words (HTML-like label)."""
    color = FREED if swatch == "freed" else TEXT
    text = '<BR ALIGN="LEFT"/>'.join(escape(line) for line in words.split("\n"))
    if swatch in COLORS:
        fill, stroke = COLORS[swatch]
        cell = f'<TD BGCOLOR="{fill}" COLOR="{stroke}" BORDER="1" WIDTH="24"> </TD>'
    elif swatch == "highlight":
        cell = f'<TD BGCOLOR="white" COLOR="{HIGHLIGHT}" BORDER="3" WIDTH="24"> </TD>'
    elif swatch == "arrow":
        cell = f'<TD><FONT COLOR="{EDGE}">&#8595;</FONT></TD>'
    else:  # saved or freed: coloured text, as in the boxes
        cell = f'<TD><FONT COLOR="{SAVED if swatch == "saved" else FREED}">abc</FONT></TD>'
    return f'<TR>{cell}<TD ALIGN="LEFT"><FONT COLOR="{color}">{text}</FONT></TD></TR>'


def to_dot(
    graph: Graph,
    labels: Mapping[int, list[tuple[str, str]]],
    *,
    highlighted: Collection[int] = (),
    legend: bool = True,
) -> str:
    """Graphviz source of ``graph`` (``dot -Tsvg`` draws it); node ids are ``n0, n1, ...``.

    Args:
        graph: the graph; its saved-tensor nodes are listed inside their function's box.
        labels: the lines ``(text, role)`` of each drawn box, by node id.
        highlighted: ids of the nodes on the highlighted path.
        legend: add the legend as a table node.

    Returns:
        The source text (UTF-8: names are written as they are, e.g. Chinese), ending with a newline.

    Example:
        >>> import torch
        >>> import gradlab
        >>> w = torch.ones(1, requires_grad=True)
        >>> g = gradlab.build_graph(w * 2, names={"w": w})
        >>> labels = {n.id: [(n.name, "title")] for n in g.nodes if n.kind != "saved"}
        >>> for line in to_dot(g, labels, legend=False).splitlines()[-4:]:
        ...     print(line)
          n0 -> n1;
          n3 -> n4;
          n1 -> n3;
        }
    """
    out = [
        "digraph autograd {",
        f'  graph [rankdir=TB, nodesep=0.25, ranksep=0.4, fontname="{_FONT}"];',
        f'  node [shape=box, style="rounded,filled", fontname="{_FONT}", fontsize=11];',
        f'  edge [color="{EDGE}", arrowsize=0.7];',
    ]
    drawn = [node for node in graph.nodes if node.kind != "saved"]
    for node in drawn:
        label = "".join(_quote(text) + "\\l" for text, _ in labels[node.id])
        style = node_style(node, node.id in highlighted)
        attrs = [f'label="{label}"', f'fillcolor="{style.fill}"', f'color="{style.stroke}"']
        if node.id in highlighted:
            attrs.append(f"penwidth={style.width:g}")
        if style.dashed:
            attrs.append('style="rounded,filled,dashed"')
        out.append(f"  n{node.id} [{', '.join(attrs)}];")
    for edge in graph.edges:
        if edge.kind == "saved":
            continue
        if edge.src in highlighted and edge.dst in highlighted:
            color, width = edge_style(True)
            out.append(f'  n{edge.src} -> n{edge.dst} [color="{color}", penwidth={width:g}];')
        else:
            out.append(f"  n{edge.src} -> n{edge.dst};")
    if legend:
        entries = legend_entries(((node, labels[node.id]) for node in drawn), bool(highlighted))
        rows = "".join(_legend_row(swatch, words) for swatch, words in entries)
        out.append(f'  legend [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLSPACING="2">{rows}</TABLE>>];')
    out.append("}")
    return "\n".join(out) + "\n"


def need_dot() -> str:
    """The path of Graphviz's ``dot`` program; a bilingual error that says how to install it if missing."""
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


def run_dot(source: str, fmt_name: str) -> bytes:
    """``dot -T<fmt_name>`` on ``source``: the picture's bytes (``"svg"``, ``"png"``, ``"pdf"``).

    Raises:
        RuntimeError: dot failed, or ran longer than 120 seconds (a graph of
            about a thousand boxes); the message says what to do instead.
    """
    try:
        done = subprocess.run(
            [need_dot(), f"-T{fmt_name}"],
            input=source.encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        boxes = source.count(" [label=")
        raise RuntimeError(
            bilingual(
                f"Graphviz 的 dot 程序 {_TIMEOUT:g} 秒内没有画完这张图（{boxes} 个框），已被停止。",
                f"The Graphviz program dot did not finish this graph ({boxes} boxes) within {_TIMEOUT:g} seconds "
                "and was stopped.",
                todo_zh='改用默认的 renderer="svg"（快得多），或者只画一部分：draw(loss, depth=5) 或 draw(loss, only=[w])。',
                todo_en='Use the default renderer="svg" (much faster), or draw a part: draw(loss, depth=5) or '
                "draw(loss, only=[w]).",
            )
        ) from error
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
