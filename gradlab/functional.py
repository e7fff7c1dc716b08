"""``softmax`` with a required ``dim``.

``F.softmax(a)`` without ``dim`` warns and guesses a dimension: dim 0 for
0-, 1- and 3-D input, dim 1 otherwise. For a vector or a [batch, classes]
matrix the guess is right; for 3-D logits such as [batch, sequence, classes]
it normalises over the batch, a wrong answer behind a mere warning. gradlab
asks for ``dim`` every time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlab._messages import bilingual, reraise_with_hint

__all__ = ["softmax"]


def softmax(
    input: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``F.softmax(input, dim)``, with ``dim`` required.

    .. math:: \\sigma(z)_j = \\frac{e^{z_j}}{\\sum_k e^{z_k}}

    Computed stably by PyTorch (the largest logit is subtracted first), so
    huge logits give finite probabilities.

    Args:
        input: the logits.
        dim: the dimension to normalise over (the classes); required.
        _stacklevel: unused, PyTorch's own (deprecated) parameter, kept so that
            the positional order is ``F.softmax``'s.
        dtype: cast ``input`` to this dtype first, as in ``F.softmax``.

    Raises:
        NotImplementedError: for integer, bool or complex logits, as PyTorch
            (with what to do).
        TypeError: when ``dim`` is missing (a check PyTorch only warns about).

    Returns:
        Probabilities of the same shape, summing to 1 along ``dim``.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
        >>> softmax(a, dim=0)
        tensor([0.3388, 0.2506, 0.4107], grad_fn=<SoftmaxBackward0>)
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(
            bilingual(
                f"softmax 需要一个张量，但收到的是 {type(input).__name__}。",
                f"softmax needs a tensor, not {type(input).__name__}.",
                todo_zh="先用 torch.tensor([...]) 把数字变成浮点张量。",
                todo_en="Turn the numbers into a float tensor with torch.tensor([...]) first.",
            )
        )
    if dim is None:
        raise TypeError(
            bilingual(
                "softmax 需要 dim 参数：要在哪个维度上归一化（哪个维度是类别）。不写 dim 时 PyTorch 会发出警告并猜一个维度："
                "一维和二维输入猜得对，三维输入（例如 [batch, 序列, 类别]）猜的是 dim=0，结果是错的。",
                "softmax needs dim: the dimension to normalise over (the classes). Without it PyTorch warns "
                "and guesses: right for 1-D and 2-D input, but for 3-D input (e.g. [batch, sequence, classes]) "
                "it picks dim=0, which is wrong.",
                todo_zh="一维向量写 softmax(a, dim=0)；形状为 [batch, classes] 的张量写 dim=-1。",
                todo_en="Write softmax(a, dim=0) for a vector; dim=-1 for a [batch, classes] tensor.",
            )
        )
    if not input.is_floating_point() and dtype is None:
        kind = "复数" if input.is_complex() else "整数或布尔"
        kind_en = "complex" if input.is_complex() else "integer or bool"
        raise NotImplementedError(
            bilingual(
                f"softmax 需要实数浮点张量，但输入的类型是 {input.dtype}（{kind}）。",
                f"softmax needs a real floating point tensor, but the input has dtype {input.dtype} ({kind_en}).",
                todo_zh="整数请先转换：input.float()，或写 torch.tensor([1.0, 2.0])；"
                "复数没有 softmax，先决定用实部 input.real 还是模 input.abs()。",
                todo_en="Convert integers first: input.float(), or write torch.tensor([1.0, 2.0]); "
                "complex numbers have no softmax: decide whether you mean input.real or input.abs().",
            )
        )
    try:
        return F.softmax(input, dim=dim, dtype=dtype)
    except (IndexError, RuntimeError) as error:
        reraise_with_hint(error)
