"""The text in the graph's boxes: a tensor's shape and values, a saved value's line.

Short, the same on every run, and safe to put in SVG or DOT: names are kept as
written (Chinese stays Chinese), control characters are written as escapes
(``\\x00``) and no memory address (``at 0x7f...``) reaches a label. Values are
moved to the CPU for the text only; summaries are computed in float64, so
huge float32 values do not overflow. Every layout and dtype autograd supports
gets a label: sparse (COO, CSR, ...), nested, meta, float8.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import torch

from gradlab._format import short
from gradlab._style import NODE

if TYPE_CHECKING:
    from gradlab.graph import Node

__all__ = [
    "NO_GRAD",
    "clean",
    "cut",
    "grad_fn_line",
    "grad_line",
    "is_grad_line",
    "saved_line",
    "shape_of",
    "tensor_lines",
    "tensor_text",
    "value_text",
]

_SMALL = 6  # tensors with at most this many elements are shown whole
_MAX_LINE = 60  # characters; longer label lines are cut with "..."
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_REFERENCE = re.compile(r"[^\W\d]\w*(?:\.\w+|\[[^\[\]]+\])*")  # y, model.0.weight, outs[0], d["w"]
#: A leaf's grad line before backward wrote its ``.grad`` ("中文 / English", see gradlab._paint.english).
NO_GRAD = NODE["no_grad"]


def clean(text: str) -> str:
    """``text`` without memory addresses, its control characters written as escapes.

    Example:
        >>> clean("a\\x00b"), clean("损失"), clean(repr(object()))
        ('a\\\\x00b', '损失', '<object object>')
    """
    text = _ADDRESS.sub("", text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return short(values)


def _dims(shape: Any) -> str:
    dims = list(shape)
    return NODE["scalar"] if not dims else "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def shape_of(tensor: torch.Tensor) -> tuple[int, ...] | None:
    """``tuple(tensor.shape)``; ``None`` for a nested tensor, whose parts differ in shape."""
    return None if tensor.is_nested else tuple(tensor.shape)


def _shape_text(tensor: torch.Tensor) -> str:
    dtype = str(tensor.dtype).removeprefix("torch.")
    if tensor.is_nested:
        shape = "nested [" + ", ".join(_dims(part.shape) for part in tensor.unbind()) + "]"
    else:
        shape = _dims(tensor.shape)
    layout = "" if tensor.layout in (torch.strided, torch.jagged) else " " + str(tensor.layout).removeprefix("torch.")
    device = "" if tensor.device.type == "cpu" else f" {tensor.device}"
    return f"{shape} {dtype}{layout}{device}"


def _summary(data: torch.Tensor) -> str:
    """The values of a strided tensor: whole when small, else mean/min/max computed in float64."""
    if data.numel() == 0:
        return "[]"
    if data.numel() <= _SMALL:
        return _nested(data.cpu().tolist())
    if data.is_complex():
        mean = data.mean(dtype=torch.complex128).item()
        return f"mean={short(complex(mean))} |max|={short(data.abs().max().item())}"
    if data.is_floating_point():
        mean = data.mean(dtype=torch.float64).item()
        low, high = torch.aminmax(data.float() if data.element_size() == 1 else data)  # float8 has no aminmax
        return f"mean={short(mean)} min={short(low.item())} max={short(high.item())}"
    if data.dtype == torch.uint64:
        low, high = torch.aminmax(data.to(torch.float64))
    else:
        low, high = torch.aminmax(
            data if data.dtype in (torch.int8, torch.int16, torch.int32, torch.int64) else data.long()
        )
    return f"min={short(low.item())} max={short(high.item())}"


def tensor_text(tensor: torch.Tensor) -> str:
    """A short text for a tensor's values: whole when small, a summary when large.

    Values are moved to the CPU for the text only. Sparse tensors show their
    stored values (``values()``), nested tensors all their parts' values, meta tensors none.

    Example:
        >>> tensor_text(torch.tensor([2.0, 0.25]))
        '[2., 0.25]'
        >>> tensor_text(torch.arange(10.0))
        'mean=4.5 min=0. max=9.'
        >>> tensor_text(torch.full((10,), 3e38))
        'mean=3e+38 min=3e+38 max=3e+38'
        >>> tensor_text(torch.eye(3).to_sparse())
        'nnz=3 values() [1., 1., 1.]'
        >>> tensor_text(torch.empty(4, device="meta"))
        '(元张量没有值 / meta tensor: no values)'
    """
    data = tensor.detach()
    if data.device.type == "meta":
        return f"({NODE['meta']})"
    try:
        if data.is_nested:
            return _summary(torch.cat([part.reshape(-1) for part in data.unbind()]))
        if data.layout == torch.strided:
            return _summary(data)
        if data.numel() <= _SMALL:
            return _summary(data.to_dense())
        stored = data.coalesce().values() if data.layout == torch.sparse_coo else data.values()
        return f"nnz={stored.numel()} values() {_summary(stored)}"
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return f"({NODE['unreadable']})"


def value_text(value: Any, attribute: str = "") -> str:
    """The text of a saved value: a tensor's values, a number, or the value's text without addresses."""
    if isinstance(value, torch.Tensor):
        return tensor_text(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return NODE["tensor"] if len(value) == 1 else NODE["tensors"].format(n=len(value))
    if attribute.endswith("reduction") and isinstance(value, int) and value in _REDUCTIONS:
        return f"{value} ({_REDUCTIONS[value]})"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**63:
        value -= 2**64  # PyTorch hands back dim=-1 as an unsigned 64-bit number
    if isinstance(value, (bool, int, float, complex)):
        return short(value)
    return clean(str(value)[: _MAX_LINE * 4])


def cut(line: str) -> str:
    """``line`` made safe (:func:`clean`) and cut to 60 characters."""
    line = clean(line)
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def grad_line(grad: torch.Tensor | None) -> str:
    """The line of a leaf's ``.grad``: its values, or that backward has not written it yet.

    Example:
        >>> grad_line(torch.tensor([-2.0])), grad_line(None)
        ('梯度 / grad [-2.]', '梯度还没算出 / grad: not computed yet')
    """
    return NO_GRAD if grad is None else f"{NODE['grad']} {tensor_text(grad)}"


def is_grad_line(line: str) -> bool:
    """Whether a box line is a :func:`grad_line` (possibly cut)."""
    return line == NO_GRAD or line.startswith(NODE["grad"] + " ")


def grad_fn_line(tensor_name: str) -> str:
    """The line naming the tensor a function box is the ``grad_fn`` of, written as code.

    Example:
        >>> grad_fn_line("mse"), grad_fn_line('d["w"]'), grad_fn_line("x*w")
        ('mse.grad_fn', 'd["w"].grad_fn', '(x*w).grad_fn')
    """
    return f"{tensor_name}.grad_fn" if _REFERENCE.fullmatch(tensor_name) else f"({tensor_name}).grad_fn"


def tensor_lines(name: str, tensor: torch.Tensor, *, show_grad: bool) -> list[str]:
    """The lines of a tensor's box: its name, shape and dtype, values, and ``.grad`` if ``show_grad``.

    Example:
        >>> tensor_lines("w", torch.tensor([2.0], requires_grad=True), show_grad=True)
        ['w', '(1,) float32', '值 / value [2.]', '梯度还没算出 / grad: not computed yet']
        >>> tensor_lines("y", torch.tensor(1.0), show_grad=False)
        ['y', '标量 / scalar float32', '值 / value 1.']
    """
    lines = [name, _shape_text(tensor), f"{NODE['value']} {tensor_text(tensor)}"]
    if show_grad:
        lines.append(grad_line(tensor.grad))
    return lines


def saved_line(node: Node) -> str:
    """The line a saved value adds to its function's box, e.g. ``_saved_self = x [1.]``.

    The line is made once, when the graph is built (``node.label``), so the
    graph need not hold the saved tensor itself.
    """
    if node.label:
        return node.label
    if node.freed:
        return f"{node.name} = ({NODE['freed']})"
    if node.stale:
        return f"{node.name} = ({NODE['stale']})"
    if node.hooked:
        return f"{node.name} = ({NODE.get(node.hooked, f'{node.hooked}, not read')})"
    named = f"{node.tensor_name} " if node.tensor_name else ""
    return cut(f"{node.name} = {named}{value_text(node.value, node.name)}")
