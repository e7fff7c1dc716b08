"""``jacobian(..., batch_dim=)``: only the per-sample diagonal blocks of a Jacobian, and the check that they suffice.

逐样本的雅可比矩阵（对角块），以及检查 func 没有把批次里的样本混在一起。
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gradlab._checks import Inputs, as_inputs, as_outputs, check_func, check_method
from gradlab._jacobian_methods import METHODS, Jacobian, as_layout, auto_choice, jacobian_parts
from gradlab._messages import bilingual
from gradlab._recording import explained, fresh, grad_recording

__all__ = ["diagonal_blocks", "per_sample_parts"]


def _batch_dims(batch_dim: object, tensors: tuple[torch.Tensor, ...], names: list[str], caller: str) -> list[int]:
    """``batch_dim`` as a non-negative dimension of each tensor; a bilingual error when one lacks it."""
    if not isinstance(batch_dim, int) or isinstance(batch_dim, bool):
        raise TypeError(
            bilingual(
                f"{caller} 的 batch_dim 应该是整数（或 None），但收到的是 {type(batch_dim).__name__}。",
                f"batch_dim of {caller} must be an int (or None), not {type(batch_dim).__name__}.",
                todo_zh="[batch, features] 的输入写 batch_dim=0；要完整的雅可比矩阵就不写。",
                todo_en="Use batch_dim=0 for [batch, features] inputs; leave it out for the full Jacobian.",
            )
        )
    dims = []
    for t, name in zip(tensors, names, strict=True):
        if not -t.dim() <= batch_dim < t.dim():
            raise ValueError(
                bilingual(
                    f"batch_dim={batch_dim}，但 {name} 的形状是 {list(t.shape)}，没有这一维。",
                    f"batch_dim={batch_dim}, but {name} has shape {list(t.shape)}, without that dimension.",
                    todo_zh="每个输入和输出都要在 batch_dim 上有批次维；否则不写 batch_dim，求完整的雅可比矩阵。",
                    todo_en="Every input and output needs the batch dimension at batch_dim; otherwise leave "
                    "batch_dim out for the full Jacobian.",
                )
            )
        dims.append(batch_dim % t.dim())
    sizes = {t.shape[d] for t, d in zip(tensors, dims, strict=True)}
    if len(sizes) > 1:
        found = ", ".join(f"{n}: {t.shape[d]}" for t, n, d in zip(tensors, names, dims, strict=True))
        raise ValueError(
            bilingual(
                f"batch_dim={batch_dim} 上的批次大小不一样（{found}）。",
                f"The batch sizes along batch_dim={batch_dim} differ ({found}).",
                todo_zh="每个输入和输出在 batch_dim 上要有同样多的样本。",
                todo_en="Every input and output needs the same number of samples along batch_dim.",
            )
        )
    return dims


def _check_per_sample(
    jac: list[list[torch.Tensor]],
    outputs: tuple[torch.Tensor, ...],
    leaves: tuple[torch.Tensor, ...],
    out_dims: list[int],
    in_dims: list[int],
    caller: str,
) -> None:
    """Raise a ``ValueError`` when ``func`` mixes samples, so that the blocks would be wrong.

    One backward pass with a fixed random ``v``: ``vᵀJ`` from autograd must
    equal ``vᵀJ`` from the blocks alone; a sample that depends on another
    makes them differ (with probability 1, by far more than rounding).
    """
    pairs = [(i, o) for i, o in enumerate(outputs) if o.requires_grad and o.numel()]
    if not pairs:
        return
    generator = torch.Generator().manual_seed(0)
    vs = {i: torch.randn(o.shape, generator=generator, dtype=o.dtype).to(o.device) for i, o in pairs}
    grads = torch.autograd.grad(
        [o for _, o in pairs], leaves, [vs[i] for i, _ in pairs], allow_unused=True, materialize_grads=True
    )
    for j, (x, g) in enumerate(zip(leaves, grads, strict=True)):
        batch = x.shape[in_dims[j]]
        want = g.movedim(in_dims[j], 0).reshape(batch, -1)
        got = torch.zeros_like(want)
        scale = torch.zeros_like(want)
        for i, _ in pairs:
            v = vs[i].movedim(out_dims[i], 0).reshape(batch, 1, -1)
            block = jac[i][j].reshape(batch, v.shape[2], -1)
            got += torch.bmm(v, block).squeeze(1)
            scale += torch.bmm(v.abs(), block.abs()).squeeze(1)
        tolerance = 1e3 * torch.finfo(x.dtype).eps * max(float(scale.max()), float(want.abs().max()), 1e-30)
        if float((want - got).abs().max()) > tolerance:
            raise ValueError(
                bilingual(
                    f"{caller}：func 把批次里的样本混在了一起（例如训练模式的 BatchNorm，或对批次求平均）："
                    "out[b] 也依赖别的样本 x[b′]，所以逐样本的雅可比矩阵（对角块）描述不了它。",
                    f"{caller}: func mixes the samples of the batch (e.g. BatchNorm in training mode, or a mean "
                    "over the batch): out[b] also depends on other samples x[b′], so the per-sample Jacobian "
                    "(the diagonal blocks) does not describe it.",
                    todo_zh="不写 batch_dim，求完整的雅可比矩阵；或先 model.eval()，让每个样本独立。",
                    todo_en="Leave batch_dim out for the full Jacobian; or call model.eval() first so that "
                    "samples are independent.",
                )
            )


def from_layout(jac: Jacobian, outputs_tuple: bool, inputs_tuple: bool) -> list[list[torch.Tensor]]:
    """``jac[out][in]`` from :func:`jacobian`'s layout (the inverse of :func:`_layout`)."""
    if outputs_tuple and inputs_tuple:
        return [list(row) for row in jac]
    if inputs_tuple:
        return [list(jac)]
    if outputs_tuple:
        return [[J] for J in jac]
    return [[jac]]


def diagonal_blocks(
    full: Jacobian,
    outputs: tuple[torch.Tensor, ...],
    outputs_tuple: bool,
    inputs: tuple[torch.Tensor, ...],
    inputs_tuple: bool,
    batch_dim: int,
) -> Jacobian:
    """The per-sample blocks ``[B, *out_sample, *in_sample]`` cut out of a full Jacobian, in the same layout.

    ``full`` is in :func:`jacobian`'s layout (``output.shape + input.shape``
    per pair); block ``b`` is the part where both batch indices equal ``b``.
    """
    cut = [
        [
            torch.diagonal(J.movedim(batch_dim % o.dim(), 0), dim1=0, dim2=o.dim() + batch_dim % x.dim()).movedim(-1, 0)
            for J, x in zip(row, inputs, strict=True)
        ]
        for row, o in zip(from_layout(full, outputs_tuple, inputs_tuple), outputs, strict=True)
    ]
    return as_layout(cut, outputs_tuple, inputs_tuple)


def per_sample_parts(
    func: Callable[..., Any], inputs: Inputs, method: str, batch_dim: int, caller: str
) -> tuple[list[list[torch.Tensor]], bool, bool, str]:
    """The diagonal blocks ``jac[out][in]`` of shape ``[B, *out_sample, *in_sample]``, and the method used.

    Reverse methods differentiate ``func(x).sum(batch_dim)`` (one pass per
    *sample* output element); forward mode differentiates
    ``u ↦ func(x + u)`` with ``u`` broadcast over the batch (one pass per
    sample input element). Both equal the blocks when samples are
    independent, which :func:`_check_per_sample` verifies.
    """
    check_method(method, METHODS)
    check_func(func, caller)
    input_tuple, inputs_tuple = as_inputs(inputs, caller)
    names = [f"inputs[{j}]" if inputs_tuple else "inputs" for j in range(len(input_tuple))]
    in_dims = _batch_dims(batch_dim, input_tuple, names, caller)
    with grad_recording():
        copies = tuple(fresh(x) for x in input_tuple)
        leaves = tuple(x.clone().requires_grad_() for x in copies)
        with explained(caller):
            outputs, outputs_tuple = as_outputs(func(*(x.clone() for x in leaves)), caller)
        out_names = [f"func(...)[{i}]" if outputs_tuple else "func(...)" for i in range(len(outputs))]
        out_dims = _batch_dims(batch_dim, input_tuple + outputs, names + out_names, caller)[len(input_tuple) :]
        batch = input_tuple[0].shape[in_dims[0]]
        used = method
        if method == "auto":
            per_out = sum(o.numel() for o in outputs) // max(batch, 1)
            per_in = sum(x.numel() for x in input_tuple) // max(batch, 1)
            used = auto_choice(per_out, per_in)

        def summed(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outs, _ = as_outputs(func(*xs), caller)
            return tuple(o.sum(d) for o, d in zip(outs, out_dims, strict=True))

        def shifted(*us: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outs, _ = as_outputs(
                func(*(x + u.unsqueeze(d) for x, u, d in zip(copies, us, in_dims, strict=True))), caller
            )
            return outs

        jac: list[list[torch.Tensor]] = []
        if used == "jacfwd":
            try:
                zeros = tuple(torch.zeros_like(x.select(d, 0)) for x, d in zip(copies, in_dims, strict=True))
                parts = jacobian_parts(shifted, zeros, "jacfwd", caller)[0]
                jac = [[J.movedim(d, 0) for J in row] for row, d in zip(parts, out_dims, strict=True)]
            except RuntimeError:
                if method != "auto":
                    raise
                used = "batched"  # torch.func cannot transform func: plain autograd can
        if not jac:
            try:
                parts = jacobian_parts(summed, copies, used, caller)[0]
            except RuntimeError:
                if method != "auto" or used != "jacrev":
                    raise
                used = "batched"
                parts = jacobian_parts(summed, copies, used, caller)[0]
            jac = [
                [J.movedim(o.dim() - 1 + d, 0) for J, d in zip(row, in_dims, strict=True)]
                for row, o in zip(parts, outputs, strict=True)
            ]
        with explained(caller):
            _check_per_sample(jac, outputs, leaves, out_dims, in_dims, caller)
    return jac, outputs_tuple, inputs_tuple, used
