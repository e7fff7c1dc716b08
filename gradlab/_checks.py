"""Argument checks shared by gradlab's modules: each gives a bilingual error that says what to do.

参数检查：出错时给出中英双语的说明和解决办法。
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import torch

from gradlab._messages import bilingual

__all__ = ["as_logits", "as_number", "as_steps"]


# --- explorer arguments (gradlab.widgets) ------------------------------------
#
# The slider explorers take plain numbers: a float for a slider, 2 to 8 logits,
# a whole number of steps. Tensors with one element and numpy numbers are
# accepted; anything else gets a bilingual TypeError/ValueError naming the argument.


def as_number(value: object, name: str) -> float:
    """``value`` as a finite float, or a bilingual TypeError/ValueError naming ``name``.

    Example:
        >>> as_number(torch.tensor(2), "w"), as_number(3, "x")
        (2.0, 3.0)
        >>> as_number("2", "w")
        Traceback (most recent call last):
        ...
        TypeError: w 应该是一个数字，但收到的是 str（'2'）。 怎么办：传入一个数字，例如 w=1.0（不要加引号）。
        w must be a number, not str ('2'). What to do: Pass a number, e.g. w=1.0 (without quotes).
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(
                bilingual(
                    f"{name} 应该是一个数字，但收到的是有 {value.numel()} 个元素的张量。",
                    f"{name} must be a single number, not a tensor with {value.numel()} elements.",
                    todo_zh=f"传入一个数字，例如 {name}=1.0，或单个元素 t[0].item()。",
                    todo_en=f"Pass one number, e.g. {name}=1.0, or one element such as t[0].item().",
                )
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            bilingual(
                f"{name} 应该是一个数字，但收到的是 {type(value).__name__}（{value!r}）。",
                f"{name} must be a number, not {type(value).__name__} ({value!r}).",
                todo_zh=f"传入一个数字，例如 {name}=1.0（不要加引号）。",
                todo_en=f"Pass a number, e.g. {name}=1.0 (without quotes).",
            )
        )
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(
            bilingual(
                f"{name} 必须是有限的数字，但收到的是 {result}。",
                f"{name} must be a finite number, not {result}.",
                todo_zh="传入一个普通的数字；超出滑块范围的值会被截断到边界。",
                todo_en="Pass an ordinary number; values outside the slider's range are clamped to its ends.",
            )
        )
    return result


def as_logits(logits: object, min_classes: int, max_classes: int) -> list[float]:
    """``logits`` as ``min_classes`` to ``max_classes`` floats, or a bilingual TypeError/ValueError.

    Example:
        >>> as_logits(torch.tensor([0.5, 1.0]), 2, 8)
        [0.5, 1.0]
    """
    if isinstance(logits, torch.Tensor):
        if logits.dim() != 1:
            raise ValueError(
                bilingual(
                    f"logits 应该是一维的（每个类别一个数），但张量的形状是 {tuple(logits.shape)}。",
                    f"logits must be 1-D (one number per class), but the tensor has shape {tuple(logits.shape)}.",
                    todo_zh="传入一个向量，例如 torch.tensor([0.77, 0.47, 0.97])；一批数据请取其中一行 a[0]。",
                    todo_en="Pass a vector, e.g. torch.tensor([0.77, 0.47, 0.97]); for a batch take one row, a[0].",
                )
            )
        logits = logits.detach().tolist()
    if isinstance(logits, (str, bytes)) or not isinstance(logits, Iterable):
        raise TypeError(
            bilingual(
                f"logits 应该是一串数字（每个类别一个），但收到的是 {type(logits).__name__}（{logits!r}）。",
                f"logits must be a sequence of numbers (one per class), not {type(logits).__name__} ({logits!r}).",
                todo_zh="例如 softmax_explorer(logits=(0.77, 0.47, 0.97))。",
                todo_en="For example softmax_explorer(logits=(0.77, 0.47, 0.97)).",
            )
        )
    values = [as_number(v, f"logits[{k}]") for k, v in enumerate(logits)]
    if not min_classes <= len(values) <= max_classes:
        raise ValueError(
            bilingual(
                f"softmax_explorer 需要 {min_classes} 到 {max_classes} 个类别，但收到了 {len(values)} 个 logits。",
                f"softmax_explorer needs {min_classes} to {max_classes} classes, but got {len(values)} logits.",
                todo_zh=f"传入 {min_classes} 到 {max_classes} 个数，例如 logits=(0.77, 0.47, 0.97)。",
                todo_en=f"Pass {min_classes} to {max_classes} numbers, e.g. logits=(0.77, 0.47, 0.97).",
            )
        )
    return values


def as_steps(value: object) -> int:
    """``value`` as a whole number of steps (``4.0`` is fine, ``2.5`` is not).

    Example:
        >>> as_steps(4.0), as_steps(torch.tensor(3))
        (4, 3)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        number = as_number(value, "steps")  # a clear error for strings etc.
        if number != int(number):
            raise TypeError(
                bilingual(
                    f"steps 应该是整数（要走多少步），但收到的是 {value!r}。",
                    f"steps must be a whole number (how many steps to take), not {value!r}.",
                    todo_zh="例如 steps=10。",
                    todo_en="For example steps=10.",
                )
            )
        return int(number)
    return int(value)
