"""How the pictures look: the graph's colours, the rule that styles a node, and every picture's words.

The built-in picture (:mod:`gradlab.render`, SVG or matplotlib) and the
Graphviz source (:mod:`gradlab.dot`) both take their colours and legend from
here, so the two can never explain the graph differently. The words of the
other pictures live here too: the notes of a backward trace (:data:`NOTE`) and
the explorers' labels (:data:`EXPLORER`). Each is "中文 / English"; a picture
painted without a CJK font keeps the English (:func:`gradlab._paint.english`).
So do the words of the printed tables, text and HTML (:data:`TABLE`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # only for the annotations: gradlab._labels imports this module, and gradlab.graph imports that
    from gradlab.graph import Node

__all__ = [
    "COLORS",
    "CURRENT",
    "EDGE",
    "EXPLORER",
    "FREED",
    "GRADIENT",
    "HIDDEN",
    "HIGHLIGHT",
    "LEGEND",
    "NODE",
    "NOTE",
    "ROLE_COLORS",
    "SAVED",
    "STEP_LEGEND",
    "TABLE",
    "TEXT",
    "EdgeStyle",
    "NodeStyle",
    "edge_style",
    "legend_entries",
    "node_style",
    "step_edge_style",
    "step_node_style",
    "step_text_color",
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
CURRENT = "#e65100"  # the function running in the shown step, and the arrows it just sent
GRADIENT = "#1565c0"  # a gradient written on an arrow
_FADED = "#bdbdbd"  # functions and arrows that have not run yet
_FADED_TEXT = "#9e9e9e"
ROLE_COLORS = {"saved": SAVED, "freed": FREED}  # text colour of a box line by its role; others are TEXT

# The legend's words, in the order the legend lists them: "中文 / English" (a picture painted
# without a CJK font keeps the English after " / "). A line break starts a second legend row.
LEGEND = {
    "arrow": "箭头：backward() 走的路 / arrow: the way backward() walks",
    "output": "输出张量（值） / output tensor (value)",
    "function": "反向函数 grad_fn / backward function (grad_fn)",
    "accumulate": "累加进 .grad / AccumulateGrad: adds into .grad",
    "leaf": "叶子张量 / leaf tensor (requires_grad=True)",
    "saved": "为 backward 保存 / saved for backward (_saved_*)",
    "freed": "已被 backward/grad 释放 / freed: backward()/grad() ran\nwithout retain_graph=True",
    "stale": "保存后被原地修改 / changed in place after saving",
    "highlight": "高亮的路径 / highlighted path",
    # The pictures of a backward trace (draw(trace), draw(trace, step=k)):
    "gradient": "箭头上的数：它带的梯度 / number on an arrow: the gradient it carried",
    "done": "已运行 / ran already",
    "current": "本步运行（链式法则在旁） / runs in this step (chain rule beside it)",
    "waiting": "还没运行 / not run yet",
    "skipped": "这次 backward 不运行 / not run in this backward pass",
}

#: The legend's first row when ``draw(..., depth=...)`` or ``only=...`` left nodes out, in parentheses.
HIDDEN = "还有 {n} 个节点没画 / {n} more nodes not drawn"

#: Words in the graph's boxes (gradlab._labels): what a tensor's lines hold (shape, value, ``.grad``), a
#: leaf's ``.grad`` before backward, saved values that cannot be shown, values that cannot be read. Those in
#: parentheses are written without them. Code stays code: dtypes, ``y.grad_fn``, ``mean=``, ``values()``.
NODE = {
    "scalar": "标量 / scalar",  # the shape of a 0-d tensor, e.g. "标量 / scalar float32"
    "value": "值 / value",  # before the values, e.g. "值 / value [2.]"
    "grad": "梯度 / grad",  # before the .grad, e.g. "梯度 / grad [-2.]"
    "no_grad": "梯度还没算出 / grad: not computed yet",
    "freed": "已被 backward/grad 释放 / freed by backward/grad",
    "stale": "保存后被原地修改，backward 会出错 / changed in place: backward fails",
    "recomputed on backward": "反向时重新计算，这里不读 / recomputed on backward, not read",  # checkpoint
    "unpacked by saved_tensors_hooks": "由 saved_tensors_hooks 解包，这里不读 / unpacked by saved_tensors_hooks, not read",
    "tensor": "共 1 个张量 / 1 tensor",  # a saved list of tensors (e.g. the indices of a[i, j])
    "tensors": "共 {n} 个张量 / {n} tensors",
    "meta": "元张量没有值 / meta tensor: no values",
    "unreadable": "读不出值 / values cannot be read",
}

#: The note beside the function that runs in a step of ``draw(trace, step=k)`` (gradlab._trace_picture).
NOTE = {
    "chain": "链式法则 / chain rule",
    "rule": "上游 × 局部导数 = 下游 / upstream × local = downstream",
    "got": "收到 / got",  # what arrived from upstream, e.g. "收到 / got 1."
    "sent": "传出 / sent",  # what it sent along an arrow, e.g. "传出 / sent [1., 1.] → MulBackward0"
    "first": "之前没有 / it had none",  # a leaf's .grad before its first gradient
}

#: The words on the explorers' pictures (gradlab._explorer_pictures and the explorers' static pictures).
#: Each starts with Chinese, so that without a CJK font it becomes its English after " / ".
EXPLORER = {
    "w": "权重 w / weight w",  # the x axis of a loss curve, and mse_explorer's w slider
    "loss": "损失 / loss L(w) = (target - x*w)²",
    "slope": "斜率 / slope dL/dw",
    "by_hand": "手算 / by hand 2*x*(x*w - target)",
    "p": "概率 / p = softmax(a)",
    "jacobian": "雅可比矩阵 / Jacobian J[i, j] = dp_i / da_j",
    "row": "下标 i={i} 的行 / row i={i}: autograd.grad(p[{i}], [a])",  # by index: "第 0 行" would be ambiguous
    "step": "第几步 / step",  # the x axis of the w.grad bars
    "grads": "每步的 w.grad / w.grad after backward()",
}


#: The words of the tables that print numbers, as text and as HTML: compare_jacobians (gradlab.compare),
#: check_grad (gradlab.gradcheck) and vjp (gradlab.vector_jacobian). Code stays code: autograd, v, ``v @ J``,
#: backward(gradient=v), method names. The columns are aligned by gradlab._format.width (CJK is two wide).
TABLE = {
    # compare_jacobians: the caption, the column headers, how the reference was obtained
    "reference": "参考 / reference",
    "inputs": "输入 / inputs",  # e.g. "<lambda>, 输入 / inputs [100], float32"
    "per_sample": "逐样本块 / per-sample blocks",  # with batch_dim=...
    "diagonal_blocks": "取其对角块 / its diagonal blocks",  # of PyTorch's full Jacobian
    "given": "给定的张量 / given tensor",
    "timed": "计时 / timed",  # reference() is timed too
    "method": "方法 / method",
    "max_diff": "与参考的最大绝对差 / max |Δ| vs reference",
    "median": "中位时间 / median time",
    "ratio_reference": "与参考之比 / ratio to reference",
    "ratio_fastest": "与最快之比 / ratio to fastest",
    # check_grad: the summary line, the column headers, an entry's status, the line under a cut table
    "passed": "通过 / PASSED",
    "failed": "未通过 / FAILED",
    "agree": "{total} 个条目中 {good} 个一致 / {good} of {total} entries agree",
    "entry": "条目 / entry",
    "numeric": "数值导数 / numeric",
    "abs_err": "绝对误差 / abs err",
    "rel_err": "相对误差 / rel err",
    "status": "结果 / ok",
    "ok": "正确 / ok",
    "wrong": "错误 / WRONG",
    "more": "… 还有 {hidden} 个误差更小的条目没列出（全部 {total} 个都在 .entries 里） / "
    "{hidden} entries with smaller errors not shown (all {total} are in .entries)",
    # vjp: the row names
    "vjp": "用 backward 算的 vᵀJ / vᵀJ via backward(gradient=v)",
    "via_jacobian": "用完整雅可比算的 v @ J / v @ J via the full Jacobian",
    "max_abs_diff": "最大绝对差 / max |difference|",
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
        [('arrow', '箭头：backward() 走的路 / arrow: the way backward() walks'), ('leaf', '叶子张量 / leaf tensor (requires_grad=True)')]
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


# --- A backward trace, step by step -------------------------------------------------

#: The legend rows of ``draw(trace, step=k)`` by state, in this order (words from :data:`LEGEND`).
STEP_LEGEND = ("done", "current", "waiting", "skipped")


def step_node_style(node: Node, state: str, highlighted: bool) -> NodeStyle:
    """The box of a function in the state ``state`` (``"done"``, ``"current"``, ``"waiting"``, ``"skipped"``).

    Done: its kind's colours. Current: a thick orange border. Waiting: white with a faded
    border. Skipped (the engine does not run it in this pass): white with a faded dotted border.

    Example:
        >>> from gradlab.graph import Node
        >>> step_node_style(Node(1, "function", "MulBackward0", "MulBackward0"), "current", False)
        NodeStyle(fill='#eeeeee', stroke='#e65100', width=3.5, dashed=False)
    """
    if state == "current":
        return NodeStyle(COLORS[node.kind][0], CURRENT, 3.5, False)
    if state in ("waiting", "skipped"):
        return NodeStyle("#ffffff", _FADED, 1.2, state == "skipped")
    return node_style(node, highlighted)


def step_text_color(state: str) -> str | None:
    """The text colour of a box in ``state``; ``None``: the usual colours."""
    return _FADED_TEXT if state in ("waiting", "skipped") else None


def step_edge_style(state: str, highlighted: bool) -> EdgeStyle:
    """An arrow of a trace: ``"sent"`` in this step (orange), ``"carried"`` earlier (as usual), or ``"waiting"``."""
    if state == "sent":
        return EdgeStyle(CURRENT, 2.5)
    if state == "waiting":
        return EdgeStyle(_FADED, 1.2)
    return edge_style(highlighted)
