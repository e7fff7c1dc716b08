"""Argument checks shared by gradlab's modules; every error is bilingual and says what to do.

Each function checks (and, where it helps, normalises) one kind of argument
and raises a ``TypeError`` or ``ValueError`` built with
:func:`gradlab._messages.bilingual`. ``caller`` is the public function the
learner called, so the message names it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.autograd.graph import GradientEdge

from gradlab._messages import bilingual

# --- Jacobian arguments: jacobian, compare_jacobians, vjp, check_grad ---------------------------------

Inputs = torch.Tensor | Sequence[torch.Tensor]
"""What ``inputs`` may be: one tensor, or a tuple (or list) of them."""


def check_method(method: object, methods: Sequence[str]) -> None:
    """Raise a ``ValueError`` unless ``method`` is one of ``methods`` (the Jacobian methods)."""
    if not isinstance(method, str) or method not in methods:
        raise ValueError(
            bilingual(
                f"不认识的 method={method!r}。",
                f"Unknown method={method!r}.",
                todo_zh="从这些里选一个：" + "、".join(repr(m) for m in methods) + "；不确定就用 'auto'。",
                todo_en="Use one of " + ", ".join(repr(m) for m in methods) + "; 'auto' when unsure.",
            )
        )


def as_methods(methods: object, allowed: Sequence[str]) -> tuple[str, ...]:
    """``methods`` of ``compare_jacobians`` as a non-empty tuple; one string counts as one method."""
    chosen = (methods,) if isinstance(methods, str) else methods
    if not isinstance(chosen, (tuple, list)):
        raise TypeError(
            bilingual(
                f"methods 应该是方法名的列表，但收到的是 {type(methods).__name__}。",
                f"methods must be a list of method names, not {type(methods).__name__}.",
                todo_zh="例如 methods=['rows', 'jacrev']，或只比较一个：methods='rows'。",
                todo_en="For example methods=['rows', 'jacrev'], or just one: methods='rows'.",
            )
        )
    if not chosen:
        raise ValueError(
            bilingual(
                "methods 是空的：没有要比较的方法。",
                "methods is empty: there is no method to compare.",
                todo_zh="至少给一个，例如 methods=['rows', 'jacrev']；省略它就比较全部。",
                todo_en="Give at least one, e.g. methods=['rows', 'jacrev']; leave it out to compare them all.",
            )
        )
    for method in chosen:
        check_method(method, allowed)
    return tuple(chosen)


def check_func(func: object, caller: str) -> None:
    """Raise a ``TypeError`` unless ``func`` is callable."""
    if not callable(func):
        raise TypeError(
            bilingual(
                f"{caller} 的第一个参数 func 应该是函数，但收到的是 {type(func).__name__}。",
                f"The first argument of {caller}, func, must be a function, not {type(func).__name__}.",
                todo_zh="传入函数本身，例如 lambda z: gradlab.softmax(z, dim=0)，而不是它算出来的张量。",
                todo_en="Pass the function itself, e.g. lambda z: gradlab.softmax(z, dim=0), "
                "not the tensor it returns.",
            )
        )


def as_inputs(inputs: object, caller: str) -> tuple[tuple[torch.Tensor, ...], bool]:
    """``inputs`` as a tuple of floating point tensors, and whether it was a tuple.

    Raises ``TypeError`` for a non-tensor, ``RuntimeError`` for an integer or
    bool tensor (chained to PyTorch's own "only Tensors of floating point
    dtype can require gradients") and for a complex one (as ``torch.func``).
    """
    is_tuple = isinstance(inputs, (tuple, list))
    items: tuple[object, ...] = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not items:
        raise ValueError(
            bilingual(
                f"{caller} 的 inputs 是空的：没有要求导的输入。",
                f"The inputs of {caller} are empty: there is nothing to differentiate with respect to.",
                todo_zh="传入一个张量，或张量元组，例如 (x, w)。",
                todo_en="Pass a tensor, or a tuple of tensors such as (x, w).",
            )
        )
    tensors = []
    for i, item in enumerate(items):
        where = f"inputs[{i}]" if is_tuple else "inputs"
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"{caller} 的 {where} 应该是张量，但收到的是 {type(item).__name__}。",
                    f"{where} of {caller} must be a tensor, not {type(item).__name__}.",
                    todo_zh="先用 torch.tensor([...]) 把数字变成浮点张量。",
                    todo_en="Turn the numbers into a float tensor with torch.tensor([...]) first.",
                )
            )
        if item.is_complex():
            raise RuntimeError(complex_message(f"{caller} 的 {where}", f"{where} of {caller}", item.dtype))
        if not item.is_floating_point():
            try:  # PyTorch's own refusal, chained below (torch.autograd.functional.jacobian raises the same)
                item.detach().requires_grad_()
            except RuntimeError as error:
                raise RuntimeError(
                    bilingual(
                        f"{caller} 的 {where} 的类型是 {item.dtype}：只有浮点张量才有导数（梯度是连续的变化率）。",
                        f"{where} of {caller} has dtype {item.dtype}: only floating point tensors have derivatives "
                        "(a gradient is a rate of change).",
                        todo_zh="转换成浮点数：x.float()（或 x.double()），或写 torch.tensor([1.0, 2.0])。",
                        todo_en="Convert it: x.float() (or x.double()), or write torch.tensor([1.0, 2.0]).",
                        cause=str(error).strip().splitlines()[0],
                    )
                ) from error
        tensors.append(item)
    return tuple(tensors), is_tuple


def complex_message(where_zh: str, where_en: str, dtype: torch.dtype) -> str:
    """Why the Jacobian tools refuse complex tensors, and what to do instead (not ``.float()``)."""
    return bilingual(
        f"{where_zh} 是复数张量（{dtype}）。gradlab 的雅可比工具只支持实数：复数函数的导数不是一个实数矩阵"
        "（PyTorch 的 torch.func.jacrev/jacfwd 同样拒绝复数）。",
        f"{where_en} is a complex tensor ({dtype}). gradlab's Jacobian tools support real numbers only: the "
        "derivative of a complex function is not one real matrix (PyTorch's torch.func.jacrev/jacfwd refuse "
        "complex tensors too).",
        todo_zh="把实部和虚部当作两个实数输入：torch.view_as_real(x)（最后一维是 [实部, 虚部]），或分别用 x.real 和 "
        "x.imag，在 func 里用 torch.complex(re, im) 拼回去；输出同理取 .real / .imag / .abs()。不要用 x.float()：它会丢掉虚部。",
        todo_en="Treat the real and imaginary parts as two real inputs: torch.view_as_real(x) (last dimension "
        "[real, imag]) or x.real and x.imag, rebuilt inside func with torch.complex(re, im); likewise return "
        ".real / .imag / .abs() of a complex output. Do not use x.float(): it drops the imaginary part.",
    )


def as_outputs(value: object, caller: str) -> tuple[tuple[torch.Tensor, ...], bool]:
    """What ``func`` returned as a tuple of floating point tensors, and whether it was a tuple."""
    is_tuple = isinstance(value, (tuple, list))
    items: tuple[object, ...] = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    tensors = []
    for i, item in enumerate(items):
        where = f"func(...)[{i}]" if is_tuple else "func(...)"
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"{caller}：{where} 返回的是 {type(item).__name__}，不是张量，所以没有雅可比矩阵。",
                    f"{caller}: {where} returned a {type(item).__name__}, not a tensor, so it has no Jacobian.",
                    todo_zh="让 func 返回张量（或张量元组）；不要在 func 里调用 .item()、.tolist() 或 .numpy()。",
                    todo_en="Make func return a tensor (or a tuple of tensors); do not call .item(), .tolist() "
                    "or .numpy() inside func.",
                )
            )
        if item.is_complex():
            raise RuntimeError(complex_message(f"{caller}：{where}", f"{caller}: {where}", item.dtype))
        if not item.is_floating_point():
            raise TypeError(
                bilingual(
                    f"{caller}：{where} 的类型是 {item.dtype}，整数或布尔输出没有导数。",
                    f"{caller}: {where} has dtype {item.dtype}; integer and bool outputs have no derivative.",
                    todo_zh="让 func 返回浮点结果，例如概率而不是 argmax 的类别编号。",
                    todo_en="Make func return a floating point result, e.g. the probabilities instead of the argmax.",
                )
            )
        tensors.append(item)
    if not tensors:
        raise TypeError(
            bilingual(
                f"{caller}：func 返回了空元组。",
                f"{caller}: func returned an empty tuple.",
                todo_zh="让 func 至少返回一个张量。",
                todo_en="Make func return at least one tensor.",
            )
        )
    return tuple(tensors), is_tuple


def check_dim(dim: object, input: torch.Tensor, caller: str) -> None:
    """Raise unless ``dim`` is an int that names a dimension of ``input`` (a 0-d input counts as 1-d)."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(
            bilingual(
                f"{caller} 的 dim 应该是整数，但收到的是 {type(dim).__name__}。",
                f"dim of {caller} must be an int, not {type(dim).__name__}.",
                todo_zh="一维向量写 dim=0；[batch, classes] 写 dim=-1。",
                todo_en="Use dim=0 for a vector; dim=-1 for [batch, classes].",
            )
        )
    ndim = max(input.dim(), 1)
    if not -ndim <= dim < ndim:
        raise ValueError(
            bilingual(
                f"dim={dim} 超出了范围：输入有 {input.dim()} 维。",
                f"dim={dim} is out of range for an input with {input.dim()} dimensions.",
                todo_zh=f"dim 取值在 {-ndim} 到 {ndim - 1} 之间；一维向量用 dim=0。",
                todo_en=f"Use a dim between {-ndim} and {ndim - 1}; dim=0 for a vector.",
            )
        )


def as_vectors(v: object, outputs: tuple[torch.Tensor, ...], outputs_tuple: bool) -> tuple[torch.Tensor, ...]:
    """``v`` of :func:`gradlab.vjp` as one floating point tensor per output, shaped like it."""
    v_tuple = isinstance(v, (tuple, list))
    vs: tuple[object, ...] = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(vs) != len(outputs) or v_tuple != outputs_tuple:
        raise ValueError(
            bilingual(
                f"func 返回了 {len(outputs)} 个{'张量元组' if outputs_tuple else '张量'}，但 v 有 {len(vs)} 个。",
                f"func returned {len(outputs)} tensor(s){' as a tuple' if outputs_tuple else ''}, "
                f"but {len(vs)} v were given{' as a tuple' if v_tuple else ''}.",
                todo_zh="每个输出给一个 v：单个输出传一个张量，元组输出传同样长度的元组。",
                todo_en="Give one v per output: a tensor for a single output, a tuple of the same length "
                "for a tuple of outputs.",
            )
        )
    tensors = []
    for i, (vi, out) in enumerate(zip(vs, outputs, strict=True)):
        where = f"v[{i}]" if outputs_tuple else "v"
        if not isinstance(vi, torch.Tensor) or not vi.is_floating_point():
            kind = vi.dtype if isinstance(vi, torch.Tensor) else type(vi).__name__
            raise TypeError(
                bilingual(
                    f"{where} 应该是浮点张量，但收到的是 {kind}。",
                    f"{where} must be a floating point tensor, not {kind}.",
                    todo_zh="例如 v = torch.ones_like(output)。",
                    todo_en="For example v = torch.ones_like(output).",
                )
            )
        if vi.shape != out.shape:
            raise ValueError(
                bilingual(
                    f"{where} 的形状是 {list(vi.shape)}，但输出的形状是 {list(out.shape)}：v 要给每个输出元素一个数。",
                    f"{where} has shape {list(vi.shape)} but the output has shape {list(out.shape)}: "
                    "v needs one number per output element (it is the gradient= of backward).",
                    todo_zh=f"传入形状为 {list(out.shape)} 的张量，例如 torch.ones_like(output)。",
                    todo_en=f"Pass a tensor of shape {list(out.shape)}, e.g. torch.ones_like(output).",
                )
            )
        tensors.append(vi)
    return tuple(tensors)


def check_tolerance(name: str, value: object) -> None:
    """Raise unless ``value`` (``atol`` or ``rtol`` of ``check_grad``) is a finite number ≥ 0.

    As ``torch.autograd.gradcheck``: ``TypeError`` for a non-number (here a
    bool too), ``RuntimeError`` for a negative or nan value (chained to
    ``torch.isclose``'s own error); gradlab adds ``ValueError`` for inf,
    which would pass every entry.
    """
    zero = torch.zeros(1, dtype=torch.float64)
    todo_zh = "默认值 atol=1e-5、rtol=1e-3 适合 float64；要更严格就用更小的正数，不要用负数、nan 或 inf。"
    todo_en = "The defaults atol=1e-5, rtol=1e-3 suit float64; for a stricter check use smaller positive numbers, never negative, nan or inf."
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        cause: TypeError | None = None
        try:
            torch.isclose(zero, zero, **{name: value})  # type: ignore[arg-type]
        except TypeError as error:
            cause = error
        raise TypeError(
            bilingual(
                f"check_grad 的 {name} 应该是一个 ≥ 0 的数，但收到的是 {type(value).__name__}（{value!r}）。",
                f"{name} of check_grad must be a number ≥ 0, not {type(value).__name__} ({value!r}).",
                todo_zh=todo_zh,
                todo_en=todo_en,
                cause=str(cause).strip().splitlines()[0] if cause else "",
            )
        ) from cause
    try:
        torch.isclose(zero, zero, **{name: float(value)})  # type: ignore[arg-type]
    except RuntimeError as error:
        raise RuntimeError(
            bilingual(
                f"check_grad 的 {name}={value!r}：容差必须 ≥ 0（nan 不是数），否则每个元素都会被判为错，即使导数是对的。",
                f"{name}={value!r} of check_grad: a tolerance must be ≥ 0 (nan is not a number); otherwise every "
                "entry would fail, even a right derivative.",
                todo_zh=todo_zh,
                todo_en=todo_en,
                cause=str(error).strip().splitlines()[0],
            )
        ) from error
    if value == float("inf"):
        raise ValueError(
            bilingual(
                f"check_grad 的 {name}=inf：无穷大的容差会让任何导数都通过，包括错的。",
                f"{name}=inf of check_grad: an infinite tolerance passes every derivative, wrong ones included.",
                todo_zh=todo_zh,
                todo_en=todo_en,
            )
        )


def check_eps(eps: object) -> None:
    """Raise unless ``eps`` (a finite-difference step) is a positive finite number.

    ``TypeError`` for a non-number (a bool included), ``ValueError`` for
    zero, a negative number, nan or inf.
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(
            bilingual(
                f"eps 应该是一个正数，但收到的是 {type(eps).__name__}（{eps!r}）。",
                f"eps must be a positive number, not {type(eps).__name__} ({eps!r}).",
                todo_zh="用 float64 时 eps=1e-6 通常最合适。",
                todo_en="eps=1e-6 usually works best in float64.",
            )
        )
    if not 0 < eps < float("inf"):  # nan fails too
        raise ValueError(
            bilingual(
                f"eps 应该是正数，但收到的是 {eps!r}。",
                f"eps must be a positive number, not {eps!r}.",
                todo_zh="用 float64 时 eps=1e-6 通常最合适。",
                todo_en="eps=1e-6 usually works best in float64.",
            )
        )


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


# --- autograd arguments: gradlab.grad, gradlab.backward, gradlab.trace_backward ------------------------


def _bad_container(value: object, argument: str) -> TypeError:
    return TypeError(
        bilingual(
            f"{argument} 应该是张量或张量列表，但收到的是 {type(value).__name__}。",
            f"{argument} must be a tensor or a list of tensors, not {type(value).__name__}.",
            todo_zh=f"传入张量，例如 {argument}=[w]；数字请先用 torch.tensor(...) 变成张量。",
            todo_en=f"Pass tensors, e.g. {argument}=[w]; turn numbers into tensors with torch.tensor(...) first.",
        )
    )


def _bad_item(item: object, argument: str, i: int, error_type: type[Exception]) -> Exception:
    return error_type(
        bilingual(
            f"{argument}[{i}] 应该是张量，但收到的是 {type(item).__name__}。",
            f"{argument}[{i}] must be a tensor, not {type(item).__name__}.",
            todo_zh="列表里只能放张量（不要嵌套列表）；数字请先用 torch.tensor(...) 变成张量。",
            todo_en="Put only tensors in the list (no nested lists); turn numbers into tensors with "
            "torch.tensor(...) first.",
        )
    )


def _autograd_items(value: object, argument: str) -> tuple[Any, ...]:
    """``value`` as a tuple, read once: a tensor, a GradientEdge, a dict's values or any iterable.

    Generators such as ``model.parameters()`` are consumed here, so the caller
    must pass the returned tuple on to PyTorch, not ``value`` itself.
    """
    if isinstance(value, (torch.Tensor, GradientEdge)):
        return (value,)
    if isinstance(value, dict):
        return tuple(value.values())
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _bad_container(value, argument)
    return tuple(value)


def as_autograd_outputs(value: object, argument: str) -> tuple[Any, ...]:
    """What ``torch.autograd.grad``/``backward`` take as outputs, read once; a non-tensor item is a TypeError
    (PyTorch raises a bare AssertionError)."""
    items = _autograd_items(value, argument)
    for i, item in enumerate(items):
        if not isinstance(item, (torch.Tensor, GradientEdge)):
            raise _bad_item(item, argument, i, TypeError)  # PyTorch: a bare AssertionError
    return items


def as_autograd_inputs(value: object, argument: str) -> tuple[Any, ...]:
    """What ``torch.autograd.grad``/``backward`` take as inputs (any iterable, a dict's values, GradientEdges),
    read once; a non-tensor item or an integer tensor is a RuntimeError, the type PyTorch raises."""
    items = _autograd_items(value, argument)
    for i, item in enumerate(items):
        if not isinstance(item, (torch.Tensor, GradientEdge)):
            raise _bad_item(item, argument, i, RuntimeError)  # the type PyTorch raises
        if isinstance(item, torch.Tensor) and not (item.is_floating_point() or item.is_complex()):
            raise RuntimeError(
                bilingual(
                    f"{argument}[{i}] 的类型是 {item.dtype}：整数或布尔张量不能求梯度，梯度只对浮点数（或复数）有意义。",
                    f"{argument}[{i}] has dtype {item.dtype}: integer and bool tensors cannot have gradients; "
                    "a gradient only makes sense for floating point (or complex) numbers.",
                    todo_zh="用浮点数创建它，例如 torch.tensor([1.0, 2.0]) 或 x.float()，调用 requires_grad_() 后重新计算输出。",
                    todo_en="Create it with floats, e.g. torch.tensor([1.0, 2.0]) or x.float(), call requires_grad_(), "
                    "then recompute the output.",
                )
            )
    return items
