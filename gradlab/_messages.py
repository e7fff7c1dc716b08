"""Bilingual (Chinese first, then English) messages for errors a learner sees.

Every error gradlab raises on purpose is built here, so they all read the
same way: what happened, then what to do, in Chinese and then in English.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["bilingual", "hint_for", "reraise_with_hint"]


def bilingual(zh: str, en: str, *, todo_zh: str = "", todo_en: str = "", cause: str = "") -> str:
    """Format a message in Chinese first, then English.

    Args:
        zh: what happened, in Chinese.
        en: what happened, in English.
        todo_zh: what to do, in Chinese (optional).
        todo_en: what to do, in English (optional).
        cause: the first line of the underlying PyTorch error, if any.

    Returns:
        The message, one paragraph per language.

    Example:
        >>> print(bilingual("出错了。", "Something went wrong.", todo_zh="再试一次。", todo_en="Try again."))
        出错了。 怎么办：再试一次。
        Something went wrong. What to do: Try again.
    """
    zh_line = zh + (f" 怎么办：{todo_zh}" if todo_zh else "")
    en_line = en + (f" What to do: {todo_en}" if todo_en else "")
    text = f"{zh_line}\n{en_line}"
    if cause:
        text += f"\n(PyTorch: {cause})"
    return text


# --- Translating PyTorch's errors into hints -------------------------------
#
# Each entry: a piece of PyTorch's message, then what happened and what to do,
# in Chinese and English. The first entry whose text occurs in the error wins.
_HINTS: list[tuple[str, str, str, str, str]] = [
    (
        "does not require grad and does not have a grad_fn",
        "这个输出没有 grad_fn：计算它的时候，没有任何输入张量设置了 requires_grad，所以 PyTorch 没有记录计算图。",
        "This output has no grad_fn: none of the tensors it was computed from required grad, "
        "so PyTorch recorded no graph.",
        "先对参数调用 w.requires_grad_()（在计算 loss 之前），然后重新计算 loss，再求梯度。",
        "Call w.requires_grad_() on the parameter BEFORE computing the loss, recompute the loss, "
        "then ask for the gradient again.",
    ),
    (
        "One of the differentiated Tensors does not require grad",
        "inputs 里有一个张量没有设置 requires_grad，PyTorch 不会对它求梯度。",
        "One of the inputs does not require grad, so PyTorch cannot differentiate with respect to it.",
        "对这个输入调用 .requires_grad_()，然后重新计算输出（计算图是在前向计算时记录的）。",
        "Call .requires_grad_() on that input, then recompute the output "
        "(the graph is recorded during the forward computation).",
    ),
    (
        "grad can be implicitly created only for scalar outputs",
        "输出不是标量（只有一个元素的张量）。对向量输出求梯度，PyTorch 需要一个向量 v 来计算 vᵀJ（向量-雅可比积）。",
        "The output is not a scalar. For a vector output PyTorch needs a vector v and computes "
        "vᵀJ, the vector-Jacobian product.",
        "传入 grad_outputs（backward 中叫 grad_tensors/gradient），例如 torch.ones_like(output)；"
        "或对一个元素求梯度，如 p[1]；要整个雅可比矩阵，用 gradlab.jacobian。",
        "Pass grad_outputs (grad_tensors / gradient for backward), e.g. torch.ones_like(output); "
        "or differentiate one element such as p[1]; for the whole Jacobian use gradlab.jacobian.",
    ),
    (
        "Trying to backward through the graph a second time",
        "计算图已经被释放：第一次 backward/grad 之后，PyTorch 默认释放了反向传播需要的中间结果（saved tensors）。",
        "The graph was already freed: after the first backward/grad call PyTorch frees the "
        "intermediate results (saved tensors) that the backward pass needs.",
        "如果要在同一张图上多次求梯度，在前面的调用里加 retain_graph=True；否则重新做一次前向计算。",
        "Pass retain_graph=True to the earlier calls if you need the same graph again; "
        "otherwise recompute the forward pass.",
    ),
    (
        "appears to not have been used in the graph",
        "inputs 里有一个张量没有参与输出的计算，所以它不在计算图里。"
        "最常见的原因：这个变量在计算输出之后被重新赋值了（例如 w = w * 2），名字指向了一个新张量。",
        "One of the inputs was not used to compute the output, so it is not part of the graph. "
        "The usual cause: the variable was re-assigned after the output was computed (e.g. w = w * 2), "
        "so its name now points to a new tensor.",
        "如果重新赋值过，用新的张量重新做一次前向计算（重新计算输出），再求梯度。"
        "如果这个输入确实没用到，才传 allow_unused=True（它的梯度返回 None）或 materialize_grads=True（返回 0）。",
        "If you re-assigned it, run the forward pass again with the new tensor (recompute the output), "
        "then ask for the gradient. Only if the input really is unused, pass allow_unused=True "
        "(its gradient comes back as None) or materialize_grads=True (zeros).",
    ),
    (
        "can require gradients",
        "整数或布尔张量不能求梯度：梯度是连续的变化率，只对浮点数（或复数）有意义。",
        "Integer and bool tensors cannot require grad: a gradient is a rate of change and only "
        "makes sense for floating point (or complex) numbers.",
        "用浮点数创建张量，例如 torch.tensor([1.0, 2.0]) 或 x.float()，再调用 requires_grad_()。",
        "Create the tensor with floats, e.g. torch.tensor([1.0, 2.0]) or x.float(), then call requires_grad_().",
    ),
    (
        "you can only change requires_grad flags of leaf variables",
        "只能修改叶子张量（你自己创建的张量）的 requires_grad：这个张量是计算出来的（有 grad_fn），"
        "它是否需要梯度由它的输入决定。",
        "Only a leaf tensor's requires_grad can be changed (a tensor you created): this one was computed "
        "(it has a grad_fn), so whether it requires grad follows from its inputs.",
        "不想让它参与求导：用 y.detach()（一个不记录计算图的新张量）。想从它开始重新求梯度：用 "
        "y = y.detach().requires_grad_()。想对参数求梯度：在计算之前对叶子张量（例如 w）调用 requires_grad_()。",
        "To stop tracking it: y.detach() (a new tensor without a graph). To differentiate with respect to it "
        "as a new starting point: y = y.detach().requires_grad_(). To differentiate with respect to a parameter: "
        "call requires_grad_() on the leaf (e.g. w) BEFORE the computation.",
    ),
    (
        "modified by an inplace operation",
        "反向传播需要的一个张量在前向计算之后被原地修改了（例如 x += 1 或 x.zero_()），保存的值已经不对了。",
        "A tensor that the backward pass needs was modified in place after the forward pass "
        "(e.g. x += 1 or x.zero_()), so its saved value is no longer valid.",
        "改用非原地操作（x = x + 1 而不是 x += 1），或在修改前先 .clone()。",
        "Use an out-of-place operation (x = x + 1 instead of x += 1), or .clone() the tensor before modifying it.",
    ),
    (
        "a leaf Variable that requires grad is being used in an in-place operation",
        "你在原地修改一个需要梯度的叶子张量（例如 w -= lr * w.grad 或 w += 1）。PyTorch 拒绝记录它：否则 w 就不再是叶子，"
        "下一次 backward 会穿过之前所有的更新。",
        "You changed a leaf tensor that requires grad in place (e.g. w -= lr * w.grad or w += 1). PyTorch refuses to "
        "record it: w would stop being a leaf, and the next backward would run back through every earlier update.",
        "参数更新写在 with torch.no_grad(): 里面（不记录计算图）；或者用非原地写法 w = w - ... 得到一个新张量。",
        "Do the update inside with torch.no_grad(): (nothing is recorded); or write it out of place, w = w - ..., "
        "which makes a new tensor.",
    ),
    (
        "Inference tensors cannot be saved for backward",
        "这个张量是在 torch.inference_mode() 里创建的（推理张量），反向传播不能保存它。",
        "This tensor was created inside torch.inference_mode() (an inference tensor), and backward cannot save it.",
        "用 t.clone() 得到一个普通张量再参与计算；或者在需要梯度的地方用 torch.no_grad() 代替 inference_mode()。",
        "Use t.clone() to get a normal tensor for the computation; or use torch.no_grad() instead of "
        "inference_mode() where gradients are needed later.",
    ),
    (
        "returned an incorrect number of gradients",
        "自定义 autograd.Function 的 backward 返回的梯度个数不对：forward 有几个输入（ctx 除外），backward 就要返回几个值。",
        "A custom autograd.Function's backward returned the wrong number of gradients: it must return one value for "
        "each input of forward (ctx excluded).",
        "每个输入返回一个梯度；不需要梯度的输入（比如整数参数）返回 None。",
        "Return one gradient per input; return None for an input that needs none (an integer argument, say).",
    ),
    (
        "post accumulate grad hooks cannot be registered on non-leaf tensors",
        "register_post_accumulate_grad_hook 只能用在叶子张量上：只有叶子的 .grad 会被累加。",
        "register_post_accumulate_grad_hook works on leaf tensors only: only a leaf's .grad is accumulated into.",
        "对叶子（例如参数 w）注册；要看一个中间结果的梯度，用 y.register_hook(...) 或 y.retain_grad()。",
        "Register it on a leaf (a parameter such as w); to see an intermediate result's gradient use "
        "y.register_hook(...) or y.retain_grad().",
    ),
    (
        "cannot be empty",
        "inputs 是空的：没有告诉 PyTorch 要对哪个张量求梯度。",
        "inputs is empty: PyTorch was not told which tensors to differentiate with respect to.",
        "传入至少一个张量，例如 torch.autograd.grad(mse, [w])。",
        "Pass at least one tensor, e.g. torch.autograd.grad(mse, [w]).",
    ),
    (
        "Dimension out of range",
        "dim 超出了张量的维度范围。",
        "dim is out of range for this tensor.",
        "dim 取值在 -input.dim() 到 input.dim()-1 之间；一维向量用 dim=0。",
        "Use a dim between -input.dim() and input.dim()-1; for a 1-D vector use dim=0.",
    ),
]


def hint_for(error: BaseException) -> str | None:
    """The bilingual hint for a PyTorch error, or None if gradlab has none.

    Example:
        >>> print(hint_for(RuntimeError("`inputs` argument to `grad()` cannot be empty.")).splitlines()[1])
        inputs is empty: PyTorch was not told which tensors to differentiate with respect to. \
What to do: Pass at least one tensor, e.g. torch.autograd.grad(mse, [w]).
    """
    text = str(error)
    for needle, zh, en, todo_zh, todo_en in _HINTS:
        if needle in text:
            first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
            return bilingual(zh, en, todo_zh=todo_zh, todo_en=todo_en, cause=first)
    return None


def reraise_with_hint(error: BaseException) -> NoReturn:
    """Raise ``error`` again, as the same type with a hint, chained to it.

    If gradlab has no hint for it, the original error is raised unchanged.
    """
    message = hint_for(error)
    if message is None:
        raise error
    try:
        better = type(error)(message)
    except Exception:  # an exception type with an unusual constructor
        raise error from None
    raise better from error
