"""Teaching wrappers around ``torch.autograd.grad`` and ``torch.autograd.backward``.

Same names, arguments, defaults and return values as PyTorch, so what a
student learns here works unchanged with plain ``torch``. The difference is
in the mistakes: the classic beginner errors are raised as the same exception
type PyTorch raises (``except RuntimeError`` still works), chained to
PyTorch's own error, with a message that says what happened and what to do,
in Chinese and in English.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from gradlab._messages import bilingual, reraise_with_hint

__all__ = ["GradAccumulationWarning", "backward", "grad", "requires_grad_"]

_TensorOrTensors = torch.Tensor | Sequence[torch.Tensor]


class GradAccumulationWarning(UserWarning):
    """``backward`` is adding to a ``.grad`` that already holds values.

    PyTorch accumulates (``+=``) into ``.grad``; in a training loop you
    usually want ``w.grad.zero_()`` (or ``optimizer.zero_grad()``) first.
    """


def _tensors(value: object, argument: str) -> tuple[torch.Tensor, ...]:
    """``value`` as a tuple of tensors, or a bilingual TypeError naming ``argument``."""
    items = (value,) if isinstance(value, torch.Tensor) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            bilingual(
                f"{argument} 应该是张量或张量列表，但收到的是 {type(value).__name__}。",
                f"{argument} must be a tensor or a list of tensors, not {type(value).__name__}.",
                todo_zh=f"传入张量，例如 {argument}=[w]；数字请先用 torch.tensor(...) 变成张量。",
                todo_en=f"Pass tensors, e.g. {argument}=[w]; turn numbers into tensors with torch.tensor(...) first.",
            )
        )
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"{argument}[{i}] 应该是张量，但收到的是 {type(item).__name__}。",
                    f"{argument}[{i}] must be a tensor, not {type(item).__name__}.",
                    todo_zh="列表里只能放张量；数字请先用 torch.tensor(...) 变成张量。",
                    todo_en="Put only tensors in the list; turn numbers into tensors with torch.tensor(...) first.",
                )
            )
    return tuple(items)


def _check_differentiable(inputs: tuple[torch.Tensor, ...]) -> None:
    """Explain integer/bool inputs, which PyTorch only reports as 'does not require grad'."""
    for i, tensor in enumerate(inputs):
        if not (tensor.is_floating_point() or tensor.is_complex()):
            raise RuntimeError(
                bilingual(
                    f"inputs[{i}] 的类型是 {tensor.dtype}：整数或布尔张量不能求梯度，梯度只对浮点数（或复数）有意义。",
                    f"inputs[{i}] has dtype {tensor.dtype}: integer and bool tensors cannot have gradients; "
                    "a gradient only makes sense for floating point (or complex) numbers.",
                    todo_zh="用浮点数创建它，例如 torch.tensor([1.0, 2.0]) 或 x.float()，调用 requires_grad_() 后重新计算输出。",
                    todo_en="Create it with floats, e.g. torch.tensor([1.0, 2.0]) or x.float(), call requires_grad_(), "
                    "then recompute the output.",
                )
            )


def grad(
    outputs: _TensorOrTensors,
    inputs: _TensorOrTensors,
    grad_outputs: _TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[torch.Tensor | None, ...]:
    """``torch.autograd.grad`` with errors that teach.

    Computes and returns the gradients of ``outputs`` with respect to
    ``inputs``. Unlike :func:`backward`, it does not touch ``.grad``.

    Args:
        outputs: the tensor(s) to differentiate, e.g. a scalar loss.
        inputs: the tensor(s) to differentiate with respect to, e.g. ``[w]``.
        grad_outputs: the vector ``v`` of the vector-Jacobian product ``vᵀJ``;
            needed when an output is not a scalar.
        retain_graph: keep the graph so that it can be differentiated again;
            defaults to ``create_graph``.
        create_graph: record the gradient computation itself, for higher
            derivatives.
        allow_unused: return ``None`` for inputs that the outputs do not use
            instead of raising.
        is_grads_batched: treat the first dimension of ``grad_outputs`` as a
            batch of vectors (one ``vᵀJ`` each).
        materialize_grads: return zeros instead of ``None`` for unused inputs.

    Returns:
        A tuple with one gradient per input, exactly what PyTorch returns.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x = torch.ones(1)
        >>> w = torch.full([1], 2.).requires_grad_()
        >>> mse = F.mse_loss(torch.ones(1), x * w)
        >>> grad(mse, [w])
        (tensor([2.]),)
    """
    if not _tensors(outputs, "outputs"):
        raise RuntimeError(
            bilingual(
                "outputs 是空的：没有要求导的输出。",
                "outputs is empty: there is nothing to differentiate.",
                todo_zh="传入损失张量，例如 torch.autograd.grad(mse, [w])。",
                todo_en="Pass the loss tensor, e.g. torch.autograd.grad(mse, [w]).",
            )
        )
    input_tuple = _tensors(inputs, "inputs")
    _check_differentiable(input_tuple)
    try:
        return torch.autograd.grad(
            outputs,
            inputs,
            grad_outputs=grad_outputs,
            retain_graph=retain_graph,
            create_graph=create_graph,
            allow_unused=allow_unused,
            is_grads_batched=is_grads_batched,
            materialize_grads=materialize_grads,
        )
    except (RuntimeError, TypeError, ValueError) as error:
        reraise_with_hint(error)


def _leaves_reached(tensors: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """The leaf tensors whose ``.grad`` a backward from ``tensors`` writes (iterative walk)."""
    leaves: list[torch.Tensor] = []
    seen: set[int] = set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    leaves.extend(t for t in tensors if t.grad_fn is None and t.requires_grad)
    while stack:
        node = stack.pop()
        key = id(node)  # identity within this walk only; never shown to anyone
        if key in seen:
            continue
        seen.add(key)
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            leaves.append(variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return leaves


# The attribute that marks a tensor whose accumulation was already told about
# (torch.Tensor declares no such attribute, hence getattr/setattr).
_TOLD = "_gradlab_accumulation_told"


def _holding_values(leaves: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(leaf, a copy of its .grad) for leaves whose .grad holds non-zero values not yet told about."""
    return [
        (leaf, leaf.grad.detach().cpu().clone())
        for leaf in leaves
        if leaf.grad is not None and not getattr(leaf, _TOLD, False) and bool(torch.any(leaf.grad != 0))
    ]


def _tell_about_accumulation(holding: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for leaf, held in holding:
        setattr(leaf, _TOLD, True)  # tell the learner once per tensor
        warnings.warn(
            bilingual(
                f"这个张量（形状 {tuple(leaf.shape)}）的 .grad 里已经有值 {held}，"
                "backward 把新梯度加了上去（累加），而不是替换。",
                f"The .grad of this tensor (shape {tuple(leaf.shape)}) held {held}; "
                "backward ADDED the new gradient to it instead of replacing it.",
                todo_zh="如果这不是你想要的，在 backward 之前调用 w.grad.zero_()（训练循环里用 optimizer.zero_grad()）。",
                todo_en="If that is not what you want, call w.grad.zero_() before backward "
                "(optimizer.zero_grad() in a training loop).",
            ),
            GradAccumulationWarning,
            stacklevel=3,
        )


def backward(
    tensors: _TensorOrTensors,
    grad_tensors: _TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: _TensorOrTensors | None = None,
) -> None:
    """``torch.autograd.backward`` with errors that teach.

    Computes the gradients of ``tensors`` and ADDS them to the ``.grad`` of
    the leaf tensors (or of ``inputs`` when given). ``mse.backward()`` is
    ``backward(mse)``. When a ``.grad`` already holds values, a
    :class:`GradAccumulationWarning` says so, once per tensor; PyTorch's
    behaviour is unchanged.

    Args:
        tensors: the tensor(s) to differentiate, e.g. a scalar loss.
        grad_tensors: the vector ``v`` of ``vᵀJ`` for non-scalar tensors
            (``gradient=`` in ``Tensor.backward``).
        retain_graph: keep the graph for another backward; defaults to
            ``create_graph``.
        create_graph: record the gradient computation, for higher derivatives.
        inputs: accumulate only into these tensors' ``.grad``.

    Returns:
        None. The gradients are in ``.grad``.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x = torch.ones(1)
        >>> w = torch.full([1], 2.).requires_grad_()
        >>> mse = F.mse_loss(torch.ones(1), x * w)
        >>> backward(mse)
        >>> w.grad
        tensor([2.])
    """
    tensor_tuple = _tensors(tensors, "tensors")
    if inputs is not None:
        input_tuple = _tensors(inputs, "inputs")
        _check_differentiable(input_tuple)
        leaves = list(input_tuple)
    else:
        leaves = _leaves_reached(tensor_tuple)
    holding = _holding_values(leaves)
    try:
        torch.autograd.backward(
            tensors,
            grad_tensors=grad_tensors,
            retain_graph=retain_graph,
            create_graph=create_graph,
            inputs=inputs,
        )
    except (RuntimeError, TypeError, ValueError) as error:
        reraise_with_hint(error)
    _tell_about_accumulation(holding)


def requires_grad_(tensor: torch.Tensor, requires_grad: bool = True) -> torch.Tensor:
    """``tensor.requires_grad_()`` with an error that teaches for integer tensors.

    Args:
        tensor: a leaf tensor.
        requires_grad: whether autograd should record operations on it.

    Returns:
        The same tensor, changed in place, as PyTorch returns it.

    Example:
        >>> w = requires_grad_(torch.full([1], 2.))
        >>> w
        tensor([2.], requires_grad=True)
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(
            bilingual(
                f"requires_grad_ 需要一个张量，但收到的是 {type(tensor).__name__}。",
                f"requires_grad_ needs a tensor, not {type(tensor).__name__}.",
                todo_zh="先用 torch.tensor([...]) 创建浮点张量。",
                todo_en="Create a float tensor first with torch.tensor([...]).",
            )
        )
    try:
        return tensor.requires_grad_(requires_grad)
    except RuntimeError as error:
        reraise_with_hint(error)
