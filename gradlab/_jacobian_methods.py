"""How :func:`gradlab.jacobian` computes ``J[out][in]``: the four methods, the "auto" rule, the layout.

雅可比矩阵的四种算法、"auto" 的选择规则和结果的排列方式。

Each method returns ``jac[out][in]``, a list (per output) of lists (per
input) of tensors of shape ``output.shape + input.shape``; :func:`as_layout`
arranges them as ``torch.autograd.functional.jacobian`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gradlab._checks import Inputs, as_inputs, as_outputs, check_func, check_method
from gradlab._messages import bilingual
from gradlab._recording import INFERENCE_TENSOR_SAVED, explained, fresh, func_error, grad_recording

__all__ = ["METHODS", "Jacobian", "as_layout", "auto_choice", "by_rows", "jacobian_parts"]

METHODS: tuple[str, ...] = ("rows", "batched", "jacrev", "jacfwd", "auto")
"""Every value :func:`jacobian` accepts for ``method``."""

Jacobian = Any
"""J: a tensor, a tuple of tensors, or a tuple of tuples of tensors."""

# "auto" rule, from bench/bench_jacobian.py (CPU, one thread): one output: the
# gradient itself, one autograd.grad call; up to this many outputs: one batched
# call (no torch.func start-up cost, ~0.1 ms); more: torch.func reverse mode,
# or forward mode when the inputs are fewer than half the outputs.
_AUTO_BATCHED_MAX_OUTPUTS = 64


# --- layout ---------------------------------------------------------------------------


def as_layout(jac: list[list[torch.Tensor]], outputs_tuple: bool, inputs_tuple: bool) -> Jacobian:
    """Arrange ``jac[out][in]`` as ``torch.autograd.functional.jacobian`` does."""
    if outputs_tuple and inputs_tuple:
        return tuple(tuple(row) for row in jac)
    if inputs_tuple:
        return tuple(jac[0])
    if outputs_tuple:
        return tuple(row[0] for row in jac)
    return jac[0][0]


# --- the four methods -----------------------------------------------------------


def by_rows(outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...]) -> list[list[torch.Tensor]]:
    """The seed's loop: one ``autograd.grad`` per output element, ``retain_graph=True``."""
    jac = []
    for out in outputs:
        flat = out.reshape(-1)
        rows: list[list[torch.Tensor]] = [[] for _ in leaves]
        for k in range(flat.numel() if out.requires_grad else 0):
            grads = torch.autograd.grad(flat[k], leaves, retain_graph=True, allow_unused=True, materialize_grads=True)
            for j, g in enumerate(grads):
                rows[j].append(g)
        jac.append(
            [
                torch.stack(r).reshape(out.shape + x.shape)
                if r
                else torch.zeros(out.shape + x.shape, dtype=out.dtype, device=out.device)
                for r, x in zip(rows, leaves, strict=True)
            ]
        )
    return jac


def _batched(outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...]) -> list[list[torch.Tensor]]:
    """One ``autograd.grad`` per output tensor: ``grad_outputs`` = identity, ``is_grads_batched=True``."""
    jac = []
    for n, out in enumerate(outputs):
        count = out.numel()
        if count == 0 or not out.requires_grad:
            jac.append([torch.zeros(out.shape + x.shape, dtype=out.dtype, device=out.device) for x in leaves])
            continue
        basis = torch.eye(count, dtype=out.dtype, device=out.device).reshape((count, *out.shape))
        grads = torch.autograd.grad(
            out,
            leaves,
            grad_outputs=basis,
            retain_graph=n < len(outputs) - 1,
            allow_unused=True,
            materialize_grads=True,
            is_grads_batched=True,
        )
        row = []
        for g, x in zip(grads, leaves, strict=True):
            if g.shape != (count, *x.shape):  # an unused input: materialize_grads gives one unbatched zero
                g = torch.zeros((count, *x.shape), dtype=out.dtype, device=out.device)
            row.append(g.reshape(out.shape + x.shape))
        jac.append(row)
    return jac


def _functorch(
    func: Callable[..., Any], inputs: tuple[torch.Tensor, ...], method: str, caller: str
) -> tuple[list[list[torch.Tensor]], bool]:
    """``torch.func.jacrev`` or ``jacfwd`` with respect to every input (call inside ``grad_recording``)."""
    returned_tuple = [False]
    ours: list[BaseException] = []  # gradlab's own error about what func returned: raised as it is

    def as_tuple(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # a copy, as under "rows"/"batched": func may change its argument in place
        value = func(*(a.clone() for a in args))
        try:
            outputs, returned_tuple[0] = as_outputs(value, caller)
        except (TypeError, RuntimeError) as error:
            ours.append(error)
            raise
        return outputs

    transform = torch.func.jacrev if method == "jacrev" else torch.func.jacfwd
    argnums = tuple(range(len(inputs)))
    copies = tuple(fresh(x) for x in inputs)
    try:
        jac = transform(as_tuple, argnums=argnums)(*copies)
    except RuntimeError as error:
        if error in ours:
            raise
        known = func_error(error, caller)
        if known is not None:
            raise known from error
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(
            bilingual(
                f"torch.func.{method} 无法变换这个 func。常见原因：func 里用了 .item()、NumPy、"
                "按张量的值走的 if/for、对外部张量的原地修改，或没有 setup_context 的自定义 autograd.Function。",
                f"torch.func.{method} could not transform this func. Common causes: .item(), NumPy, "
                "if/for on tensor values, in-place changes to captured tensors, or a custom "
                "autograd.Function without setup_context.",
                todo_zh="改用 method='batched' 或 method='rows'（它们用普通的 autograd.grad），或去掉上面这些写法。",
                todo_en="Use method='batched' or method='rows' (plain autograd.grad), or remove the constructs above.",
                cause=first,
            )
        ) from error
    return [[t.detach() for t in row] for row in jac], returned_tuple[0]


def auto_choice(n_outputs: int, n_inputs: int) -> str:
    """The method "auto" uses for these sizes (number of output and input elements)."""
    if n_outputs <= 1:
        return "rows"  # a single output: its gradient, one autograd.grad call
    if n_outputs <= _AUTO_BATCHED_MAX_OUTPUTS:
        return "batched"
    if 2 * n_inputs < n_outputs:
        return "jacfwd"  # forward mode: one pass per INPUT element
    return "jacrev"  # reverse mode: one pass per OUTPUT element


def jacobian_parts(
    func: Callable[..., Any], inputs: Inputs, method: str, caller: str
) -> tuple[list[list[torch.Tensor]], bool, bool, str]:
    """``jac[out][in]``, whether outputs/inputs were tuples, and the method used."""
    check_method(method, METHODS)
    check_func(func, caller)
    input_tuple, inputs_tuple = as_inputs(inputs, caller)
    # Whatever the caller's mode (no_grad, inference_mode): record a graph, on normal copies of the inputs.
    with grad_recording():
        if method in ("jacrev", "jacfwd"):
            jac, outputs_tuple = _functorch(func, input_tuple, method, caller)
            return jac, outputs_tuple, inputs_tuple, method
        leaves = tuple(fresh(x).requires_grad_() for x in input_tuple)
        try:
            with explained(caller):
                # func gets non-leaf copies: it may change them in place, and never touches the caller's tensors
                outputs, outputs_tuple = as_outputs(func(*(x.clone() for x in leaves)), caller)
        except RuntimeError as error:
            if method == "auto" and INFERENCE_TENSOR_SAVED in str(error.__cause__):
                # autograd cannot save a captured inference tensor; torch.func uses it as a constant
                jac, outputs_tuple = _functorch(func, input_tuple, "jacrev", caller)
                return jac, outputs_tuple, inputs_tuple, "jacrev"
            raise
        used = method
        if method == "auto":
            used = auto_choice(sum(o.numel() for o in outputs), sum(x.numel() for x in leaves))
            if used in ("jacrev", "jacfwd"):
                try:
                    jac, _ = _functorch(func, input_tuple, used, caller)
                    return jac, outputs_tuple, inputs_tuple, used
                except RuntimeError:  # torch.func cannot transform func: plain autograd can
                    used = "batched"
        with explained(caller):
            jac = by_rows(outputs, leaves) if used == "rows" else _batched(outputs, leaves)
    return jac, outputs_tuple, inputs_tuple, used
