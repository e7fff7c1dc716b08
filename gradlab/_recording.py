"""Recording a graph whatever the caller's grad mode, and PyTorch's errors from ``func`` explained.

求导时无论调用者处于哪种梯度模式都记录计算图；把 ``func`` 引起的 PyTorch 错误解释成中英双语。

Shared by the Jacobian tools (``jacobians``, ``compare``, ``vector_jacobian``,
``gradcheck``) and the slider explorers (``_explorer_math``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from gradlab._messages import bilingual

__all__ = ["INFERENCE_TENSOR_SAVED", "explained", "fresh", "func_error", "grad_recording"]


@contextlib.contextmanager
def grad_recording() -> Iterator[None]:
    """Record a graph whatever the caller's mode: inside ``inference_mode(False)`` and ``enable_grad()``.

    Under ``torch.inference_mode()`` plain ``enable_grad()`` records nothing
    (every new tensor is an inference tensor), so autograd would see no graph.

    Example:
        >>> with torch.inference_mode():
        ...     with grad_recording():
        ...         print(torch.is_grad_enabled(), torch.is_inference_mode_enabled())
        ...     print(torch.is_grad_enabled(), torch.is_inference_mode_enabled())
        True False
        False True
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


def fresh(x: torch.Tensor) -> torch.Tensor:
    """A detached copy of ``x``: a normal tensor even when ``x`` is an inference tensor (call inside
    :func:`grad_recording`), and one that ``func`` may change in place without touching the caller's."""
    return x.detach().clone()


INFERENCE_TENSOR_SAVED = "Inference tensors cannot be saved for backward"

_FUNC_ERRORS: list[tuple[tuple[str, ...], str, str, str, str]] = [
    (
        (INFERENCE_TENSOR_SAVED,),
        "func 用到了在 torch.inference_mode() 里创建的张量（推理张量）。PyTorch 不能为它记录计算图，所以无法求导。",
        "func uses a tensor created under torch.inference_mode() (an inference tensor). PyTorch cannot record "
        "a graph through it, so there is no derivative.",
        "在 inference_mode 之外创建这个张量（例如模型参数），或在 inference_mode 之外用 t.clone() 得到普通张量再用；"
        "jacobian 也可以用 method='jacrev' 或 'jacfwd'（torch.func 把它当常数）。",
        "Create that tensor (e.g. the model's parameters) outside inference_mode, or use t.clone() outside "
        "inference_mode to get a normal tensor; for jacobian, method='jacrev' or 'jacfwd' also works "
        "(torch.func treats it as a constant).",
    ),
    (
        ("is being used in an in-place operation", "would mutate a captured Tensor"),
        "func 原地修改了它从外面拿来的张量（例如它用到的参数 w.add_(1)，或训练模式下 BatchNorm 更新的 running 统计量）。"
        "求导时 PyTorch 不允许这样做，因为会破坏计算图。（func 原地修改自己的参数是可以的：gradlab 传给 func 的是副本。）",
        "func changes in place a tensor from outside it (e.g. a parameter it uses: w.add_(1), or the running "
        "statistics BatchNorm updates in training mode). PyTorch forbids this while differentiating because it "
        "would break the graph. (Changing func's own argument in place is fine: gradlab passes func a copy.)",
        "改成非原地写法：w = w + 1 而不是 w.add_(1)；或在调用之前，在 torch.no_grad() 里修改参数；模型先 model.eval()。",
        "Write it out of place: w = w + 1 instead of w.add_(1); or change the parameter before the call, "
        "under torch.no_grad(); for a model, call model.eval() first.",
    ),
    (
        ("modified by an inplace operation",),
        "反向传播需要的一个张量在 func 里被原地修改了（例如 y = x.sin(); y.mul_(2)），保存的值已经不对了。",
        "func modified in place a tensor that the backward pass needs (e.g. y = x.sin(); y.mul_(2)), so its "
        "saved value is no longer valid.",
        "改用非原地操作（y = y * 2 而不是 y.mul_(2)），或在修改前先 .clone()。",
        "Use an out-of-place operation (y = y * 2 instead of y.mul_(2)), or .clone() the tensor before changing it.",
    ),
]


def func_error(error: RuntimeError, caller: str) -> RuntimeError | None:
    """A bilingual ``RuntimeError`` for a known PyTorch error raised while differentiating ``func``, or None."""
    text = str(error)
    for needles, zh, en, todo_zh, todo_en in _FUNC_ERRORS:
        if any(needle in text for needle in needles):
            first = text.strip().splitlines()[0]
            return RuntimeError(
                bilingual(f"{caller}：{zh}", f"{caller}: {en}", todo_zh=todo_zh, todo_en=todo_en, cause=first)
            )
    return None


@contextlib.contextmanager
def explained(caller: str) -> Iterator[None]:
    """Re-raise a known PyTorch ``RuntimeError`` from ``func`` or ``autograd.grad`` as a bilingual one, chained."""
    try:
        yield
    except RuntimeError as error:
        better = func_error(error, caller)
        if better is None:
            raise
        raise better from error
