"""Teaching wrappers around ``torch.autograd.grad`` and ``torch.autograd.backward``.

Same names, arguments, defaults and return values as PyTorch, so what a
student learns here works unchanged with plain ``torch``. The difference is
in the mistakes: the classic beginner errors are raised as the same exception
type PyTorch raises (``except RuntimeError`` still works), chained to
PyTorch's own error, with a message that says what happened and what to do,
in Chinese and in English.

Checks gradlab adds where PyTorch has none: an output that is not a tensor
raises ``TypeError`` (PyTorch: a bare ``AssertionError``); ``outputs`` that is
empty raises ``RuntimeError``.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.autograd.graph import GradientEdge

from gradlab._checks import as_autograd_inputs as _inputs
from gradlab._checks import as_autograd_outputs as _outputs
from gradlab._format import short
from gradlab._messages import bilingual, hint_for, reraise_with_hint

__all__ = ["GradAccumulationWarning", "backward", "explain", "grad", "requires_grad_"]

_TensorOrTensors = torch.Tensor | GradientEdge | Sequence[torch.Tensor] | Sequence[GradientEdge]
_Inputs = _TensorOrTensors | dict[str, torch.Tensor] | Iterable[torch.Tensor]
_Grads = torch.Tensor | Sequence[torch.Tensor | None] | None


class GradAccumulationWarning(UserWarning):
    """``backward`` is adding to a ``.grad`` that already holds values.

    PyTorch accumulates (``+=``) into ``.grad``; in a training loop you
    usually want ``w.grad.zero_()`` (or ``optimizer.zero_grad()``) first.
    """


def _recorded_nothing(outputs: tuple[Any, ...], inputs: tuple[Any, ...], error: BaseException) -> None:
    """If the outputs were computed with grad mode off, say so before PyTorch's generic hint.

    An output with no ``grad_fn`` although an input requires grad was computed
    under ``torch.no_grad()`` / ``torch.inference_mode()`` (or after ``.detach()``).
    """
    untracked = [t for t in outputs if isinstance(t, torch.Tensor) and not t.requires_grad]
    if not untracked:
        return
    wanted = any(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs)
    if any(t.is_inference() for t in untracked):
        zh, en = "torch.inference_mode() 里", "inside torch.inference_mode()"
    elif wanted:
        zh, en = (
            "torch.no_grad()（或 inference_mode）里，或在 .detach() 之后",
            ("inside torch.no_grad() (or inference_mode), or after .detach()"),
        )
    else:
        return
    raise RuntimeError(
        bilingual(
            f"这个输出没有 grad_fn：它是在 {zh}计算的，那时 PyTorch 不记录计算图"
            + ("，尽管输入已经 requires_grad=True。" if wanted else "。"),
            f"This output has no grad_fn: it was computed {en}, where PyTorch records no graph"
            + (", although the inputs require grad." if wanted else "."),
            todo_zh="在 with torch.no_grad()/inference_mode() 块之外重新计算输出（不要 detach），再求梯度。",
            todo_en="Recompute the output outside the with torch.no_grad()/inference_mode() block "
            "(without detach), then ask for the gradient again.",
            cause=str(error).strip().splitlines()[0] if str(error).strip() else "",
        )
    ) from error


def grad(
    outputs: _TensorOrTensors,
    inputs: _Inputs,
    grad_outputs: _Grads = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[torch.Tensor | None, ...] | dict[str, torch.Tensor | None]:
    """``torch.autograd.grad`` with errors that teach.

    Computes and returns the gradients of ``outputs`` with respect to
    ``inputs``. Unlike :func:`backward`, it does not touch ``.grad``.

    Args:
        outputs: the tensor(s) to differentiate, e.g. a scalar loss.
        inputs: the tensor(s) to differentiate with respect to, e.g. ``[w]``;
            any iterable (``model.parameters()``), a dict of tensors (the
            result is then a dict with the same keys) or ``GradientEdge``\\ s.
        grad_outputs: the vector ``v`` of the vector-Jacobian product ``vᵀJ``;
            needed when an output is not a scalar.
        retain_graph: keep the graph so that it can be differentiated again;
            defaults to ``create_graph``.
        create_graph: record the gradient computation itself, for higher
            derivatives.
        only_inputs: deprecated and ignored by PyTorch (it warns); kept so the
            positional order is PyTorch's.
        allow_unused: return ``None`` for inputs that the outputs do not use
            instead of raising.
        is_grads_batched: treat the first dimension of ``grad_outputs`` as a
            batch of vectors (one ``vᵀJ`` each).
        materialize_grads: return zeros instead of ``None`` for unused inputs.

    Returns:
        A tuple with one gradient per input (a dict for dict inputs), exactly
        what PyTorch returns.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x = torch.ones(1)
        >>> w = torch.full([1], 2.).requires_grad_()
        >>> mse = F.mse_loss(torch.ones(1), x * w)
        >>> grad(mse, [w])
        (tensor([2.]),)
    """
    output_tuple = _outputs(outputs, "outputs")
    if not output_tuple:
        raise RuntimeError(
            bilingual(
                "outputs 是空的：没有要求导的输出。",
                "outputs is empty: there is nothing to differentiate.",
                todo_zh="传入损失张量，例如 torch.autograd.grad(mse, [w])。",
                todo_en="Pass the loss tensor, e.g. torch.autograd.grad(mse, [w]).",
            )
        )
    input_tuple = _inputs(inputs, "inputs")
    passed: Any = inputs if isinstance(inputs, (torch.Tensor, GradientEdge, dict)) else input_tuple
    extra = {} if only_inputs is True else {"only_inputs": only_inputs}  # PyTorch warns when it is given
    try:
        result: tuple[torch.Tensor | None, ...] | dict[str, torch.Tensor | None] = torch.autograd.grad(
            output_tuple,
            passed,
            grad_outputs=grad_outputs,
            retain_graph=retain_graph,
            create_graph=create_graph,
            allow_unused=allow_unused,
            is_grads_batched=is_grads_batched,
            materialize_grads=materialize_grads,
            **extra,
        )
    except (RuntimeError, TypeError, ValueError) as error:
        _recorded_nothing(output_tuple, input_tuple, error)
        reraise_with_hint(error)
    return result


def _leaves_reached(tensors: tuple[Any, ...]) -> list[torch.Tensor]:
    """The leaf tensors whose ``.grad`` a backward from ``tensors`` writes (iterative walk)."""
    leaves: list[torch.Tensor] = [
        t for t in tensors if isinstance(t, torch.Tensor) and t.grad_fn is None and t.requires_grad
    ]
    roots = [t.grad_fn if isinstance(t, torch.Tensor) else t.node for t in tensors]
    stack = [node for node in roots if node is not None]
    seen: set[int] = set()
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


# Which leaves were already told about accumulation, kept outside the tensors
# (nothing is written onto a learner's tensor): id(leaf) -> (weak leaf, weak
# .grad, .grad's version counter when told). Weak references, so a freed
# tensor drops out and a new tensor at the same id is new to us.
_Told = tuple["weakref.ref[torch.Tensor]", "weakref.ref[torch.Tensor]", int]
_told: dict[int, _Told] = {}


def _told_and_untouched(leaf: torch.Tensor) -> bool:
    """Told already, and its ``.grad`` is the same tensor, unchanged since (no need to look at it)."""
    entry = _told.get(id(leaf))
    if entry is None or entry[0]() is not leaf:
        return False
    held = leaf.grad
    return held is not None and entry[1]() is held and held._version == entry[2]


def _tell(leaf: torch.Tensor, told: bool) -> None:
    key = id(leaf)

    def forget(_ref: weakref.ref[torch.Tensor]) -> None:
        _told.pop(key, None)

    if told and leaf.grad is not None:
        _told[key] = (
            weakref.ref(leaf, forget),
            weakref.ref(leaf.grad),
            leaf.grad._version,
        )
    else:
        _told.pop(key, None)


def _is_told(leaf: torch.Tensor) -> bool:
    entry = _told.get(id(leaf))
    return entry is not None and entry[0]() is leaf


def _nonzero_flag(held: torch.Tensor) -> torch.Tensor:
    """A 0-d bool tensor on ``held``'s device: does it hold any non-zero value? (no copy, no sync)"""
    if held.layout == torch.sparse_coo:
        return held._values().any()
    if held.layout in (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
        return held.values().any()
    return held.any()


def _accumulating(leaves: list[torch.Tensor]) -> list[tuple[torch.Tensor, str]]:
    """(leaf, a short text of its .grad) for leaves about to be added to, not yet told.

    A ``.grad`` that is ``None`` or all zeros re-arms the notice (after
    ``zero_grad()`` a new accident is reported again). Memory is O(1) per leaf:
    one flag per leaf, read with one host sync per device; the text is made
    only for the leaves that will be told, from at most a few values. A leaf
    told before whose ``.grad`` is untouched since (same tensor, same version
    counter) is not read at all.
    """
    candidates = [leaf for leaf in leaves if leaf.grad is not None and not _told_and_untouched(leaf)]
    for leaf in leaves:
        if leaf.grad is None:
            _tell(leaf, False)
    if not candidates:
        return []
    by_device: dict[torch.device, list[int]] = {}
    for i, leaf in enumerate(candidates):
        by_device.setdefault(leaf.grad.device, []).append(i)  # type: ignore[union-attr]
    flags = [False] * len(candidates)
    for indices in by_device.values():
        stacked = torch.stack([_nonzero_flag(candidates[i].grad) for i in indices])  # type: ignore[arg-type]
        for i, flag in zip(indices, stacked.tolist(), strict=True):
            flags[i] = bool(flag)
    result = []
    for leaf, flag in zip(candidates, flags, strict=True):
        if not flag:
            _tell(leaf, False)
        elif not _is_told(leaf):
            result.append((leaf, _held_text(leaf.grad)))  # type: ignore[arg-type]
    return result


def _remember_versions(leaves: list[torch.Tensor]) -> None:
    """After backward: note the version of every told leaf's .grad, so the next call can skip it."""
    for leaf in leaves:
        if _is_told(leaf):
            _tell(leaf, True)


def _held_text(held: torch.Tensor) -> str:
    if held.layout == torch.strided and held.numel() <= 6:
        return "[" + ", ".join(short(v) for v in held.detach().reshape(-1).tolist()) + "]"
    return f"{held.numel()} 个值 / values"


def _tell_about_accumulation(holding: list[tuple[torch.Tensor, str]]) -> None:
    for leaf, held in holding:
        _tell(leaf, True)  # once, until .grad is zeroed or set to None again
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
    grad_tensors: _Grads = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: _Grads = None,
    inputs: _Inputs | None = None,
) -> None:
    """``torch.autograd.backward`` with errors that teach.

    Computes the gradients of ``tensors`` and ADDS them to the ``.grad`` of
    the leaf tensors (or of ``inputs`` when given). ``mse.backward()`` is
    ``backward(mse)``. When a ``.grad`` already holds values, a
    :class:`GradAccumulationWarning` says so, once until that ``.grad`` is
    zeroed or set to ``None``; PyTorch's behaviour is unchanged.

    Args:
        tensors: the tensor(s) to differentiate, e.g. a scalar loss.
        grad_tensors: the vector ``v`` of ``vᵀJ`` for non-scalar tensors
            (``gradient=`` in ``Tensor.backward``).
        retain_graph: keep the graph for another backward; defaults to
            ``create_graph``.
        create_graph: record the gradient computation, for higher derivatives.
        grad_variables: deprecated name of ``grad_tensors``; kept so the
            positional order is PyTorch's.
        inputs: accumulate only into these tensors' ``.grad`` (any iterable,
            e.g. ``model.parameters()``).

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
    tensor_tuple = _outputs(tensors, "tensors")
    input_tuple: tuple[Any, ...] = ()
    if inputs is not None:
        input_tuple = _inputs(inputs, "inputs")
        leaves = [t for t in input_tuple if isinstance(t, torch.Tensor) and t.is_leaf]
    else:
        leaves = _leaves_reached(tensor_tuple)
    holding = _accumulating(leaves)
    extra = {} if grad_variables is None else {"grad_variables": grad_variables}  # PyTorch's own warning
    try:
        torch.autograd.backward(
            tensor_tuple,
            grad_tensors=grad_tensors,
            retain_graph=retain_graph,
            create_graph=create_graph,
            inputs=None if inputs is None else input_tuple,
            **extra,
        )
    except (RuntimeError, TypeError, ValueError) as error:
        _recorded_nothing(tensor_tuple, input_tuple, error)
        reraise_with_hint(error)
    _tell_about_accumulation(holding)
    _remember_versions(leaves)


def requires_grad_(tensor: torch.Tensor, requires_grad: bool = True) -> torch.Tensor:
    """``tensor.requires_grad_()`` with errors that teach, for integer tensors and for non-leaf tensors.

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


def explain(error: BaseException) -> str:
    """What a PyTorch autograd error means and what to do, Chinese first, then English.

    For the errors that PyTorch raises outside ``grad``/``backward`` (an in-place
    update of a leaf, an inference tensor saved for backward, a custom
    ``Function`` returning the wrong number of gradients, ...), where gradlab's
    wrappers cannot add their hint: catch the error and print ``explain(error)``.
    An error gradlab has no hint for is explained by PyTorch's own first line.

    Args:
        error: the exception PyTorch raised.

    Returns:
        The bilingual explanation, ending with PyTorch's first line.

    Example:
        >>> w = torch.tensor([2.0], requires_grad=True)
        >>> try:
        ...     w -= 0.1
        ... except RuntimeError as error:
        ...     print(explain(error).splitlines()[1][:58])
        You changed a leaf tensor that requires grad in place (e.g
    """
    if not isinstance(error, BaseException):
        raise TypeError(
            bilingual(
                f"explain 需要一个异常对象，但收到的是 {type(error).__name__}。",
                f"explain needs an exception, not {type(error).__name__}.",
                todo_zh="写 try: ... except RuntimeError as error: print(gradlab.explain(error))。",
                todo_en="Write try: ... except RuntimeError as error: print(gradlab.explain(error)).",
            )
        )
    hint = hint_for(error)
    if hint is not None:
        return hint
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return bilingual(
        "gradlab 对这个错误没有专门的解释；下面是 PyTorch 的原话。",
        "gradlab has no explanation of its own for this error; here is PyTorch's.",
        cause=first,
    )
