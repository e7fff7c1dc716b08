"""The text in the graph's boxes: a tensor's shape and values, a saved value's line.

Short, ASCII, the same on every run; values are moved to the CPU for the text only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gradlab._format import short

if TYPE_CHECKING:
    from gradlab.graph import Node

__all__ = ["cut", "saved_line", "tensor_lines", "tensor_text", "value_text"]

_SMALL = 6  # tensors with at most this many elements are shown whole
_MAX_LINE = 60  # characters; longer label lines are cut with "..."
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return short(values)


def _shape_text(tensor: torch.Tensor) -> str:
    dtype = str(tensor.dtype).removeprefix("torch.")
    shape = (
        "scalar"
        if tensor.dim() == 0
        else "(" + ", ".join(map(str, tensor.shape)) + ("," if tensor.dim() == 1 else "") + ")"
    )
    device = "" if tensor.device.type == "cpu" else f" {tensor.device}"
    return f"{shape} {dtype}{device}"


def tensor_text(tensor: torch.Tensor) -> str:
    """A short text for a tensor's values: whole when small, a summary when large.

    Values are moved to the CPU for the text only.

    Example:
        >>> tensor_text(torch.tensor([2.0, 0.25]))
        '[2., 0.25]'
        >>> tensor_text(torch.arange(10.0))
        'mean=4.5 min=0. max=9.'
    """
    data = tensor.detach()
    if data.numel() == 0:
        return "[]"
    if data.numel() <= _SMALL:
        return _nested(data.cpu().tolist())
    if data.is_complex():
        return f"mean={short(complex(data.mean().item()))} |max|={short(data.abs().max().item())}"
    if data.is_floating_point():
        low, high = torch.aminmax(data)
        return f"mean={short(data.mean().item())} min={short(low.item())} max={short(high.item())}"
    low, high = torch.aminmax(data.to(torch.int64) if data.dtype == torch.bool else data)
    return f"min={short(low.item())} max={short(high.item())}"


def value_text(value: Any, attribute: str = "") -> str:
    if isinstance(value, torch.Tensor):
        return tensor_text(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return f"{len(value)} tensors"
    if attribute.endswith("reduction") and isinstance(value, int) and value in _REDUCTIONS:
        return f"{value} ({_REDUCTIONS[value]})"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**63:
        value -= 2**64  # PyTorch hands back dim=-1 as an unsigned 64-bit number
    if isinstance(value, (bool, int, float, complex)):
        return short(value)
    return str(value)


def cut(line: str) -> str:
    line = line.encode("ascii", "backslashreplace").decode("ascii") if not line.isascii() else line
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def tensor_lines(name: str, tensor: torch.Tensor, *, show_grad: bool) -> list[str]:
    lines = [name, _shape_text(tensor), f"value {tensor_text(tensor)}"]
    if show_grad:
        held = tensor.grad
        lines.append("grad: not computed yet" if held is None else f"grad {tensor_text(held)}")
    return lines


def saved_line(node: Node) -> str:
    """The line a saved value adds to its function's box, e.g. ``_saved_self = x [1.]``."""
    if node.freed:
        return f"{node.name} = (freed by backward)"
    if node.stale:
        return f"{node.name} = (changed in place: backward fails)"
    named = f"{node.tensor_name} " if node.tensor_name else ""
    return cut(f"{node.name} = {named}{value_text(node.value, node.name)}")
