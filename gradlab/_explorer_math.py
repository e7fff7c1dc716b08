"""The numbers behind the slider explorers, computed with torch in float64: no widgets, no drawing.

探索器背后的数值：用 torch（float64）计算，不含控件和绘图。

Each function returns a ``TypedDict`` (a plain ``dict`` at run time), so an
explorer's ``.state`` stays a dict that tests and notebooks index by name,
and ``mypy`` knows the type of every entry.
"""

from __future__ import annotations

from typing import TypedDict

import torch

from gradlab._recording import grad_recording
from gradlab.functional import softmax
from gradlab.jacobians import softmax_jacobian

__all__ = [
    "DTYPE",
    "DescentNumbers",
    "MseNumbers",
    "SoftmaxNumbers",
    "descent_numbers",
    "mse_numbers",
    "softmax_numbers",
]

DTYPE = torch.float64  # float64, so autograd and the hand formula agree to ~1e-15
DEVICE = torch.device("cpu")  # a few scalars: the CPU, whatever torch.set_default_device says

# An explorer computes when it is built and again on every slider move, maybe long after a
# later cell ran torch.set_grad_enabled(False), or inside no_grad() / inference_mode(): each
# computation below runs inside grad_recording(), which records a graph whatever the caller's
# mode and restores that mode afterwards.


class MseNumbers(TypedDict):
    """L(w) = (target − x·w)² at one ``w``: the loss, autograd's gradient and the hand formula's."""

    x: float
    w: float
    target: float
    loss: float
    grad: float
    grad_formula: float


class SoftmaxNumbers(TypedDict):
    """p = softmax(a), its Jacobian (autograd, row by row, and the closed form) and row ``i``."""

    logits: list[float]
    p: list[float]
    sum_p: float
    i: int
    jacobian: list[list[float]]
    jacobian_formula: list[list[float]]
    row: list[float]
    row_sum: float


class DescentNumbers(TypedDict):
    """``steps`` steps of gradient descent on w: w before each step and at the end, and each ``w.grad``."""

    x: float
    w: float
    target: float
    lr: float
    steps: int
    path: list[float]
    losses: list[float]
    grads: list[float]
    w_final: float
    loss_final: float
    factor: float


def mse_numbers(x: float, w: float, target: float) -> MseNumbers:
    """Loss and gradient at ``w``: autograd and the hand formula 2·x·(x·w − target).

    Example:
        >>> n = mse_numbers(1.0, 2.0, 1.0)
        >>> n["loss"], n["grad"], n["grad_formula"]
        (1.0, 2.0, 2.0)
    """
    with grad_recording():
        w_t = torch.tensor(w, dtype=DTYPE, device=DEVICE, requires_grad=True)
        loss = (target - x * w_t) ** 2
        (grad,) = torch.autograd.grad(loss, [w_t])
    return {
        "x": x,
        "w": w,
        "target": target,
        "loss": loss.item(),
        "grad": grad.item(),
        "grad_formula": 2 * x * (x * w - target),
    }


def softmax_numbers(logits: list[float], i: int) -> SoftmaxNumbers:
    """p = softmax(a) (computed stably) and its Jacobian, row by row with ``autograd.grad``.

    Example:
        >>> n = softmax_numbers([0.0, 0.0], 0)
        >>> n["p"], n["row"], n["row_sum"]
        ([0.5, 0.5], [0.25, -0.25], 0.0)
    """
    with grad_recording():
        a = torch.tensor(logits, dtype=DTYPE, device=DEVICE, requires_grad=True)
        p = softmax(a, dim=0)
        rows = [torch.autograd.grad(p[k], [a], retain_graph=True)[0] for k in range(len(logits))]
        jacobian = torch.stack(rows)
        p_ = p.detach()
        formula = softmax_jacobian(a, dim=0)  # closed form diag(p) - p pᵀ
    return {
        "logits": list(logits),
        "p": p_.tolist(),
        "sum_p": p_.sum().item(),
        "i": i,
        "jacobian": jacobian.tolist(),
        "jacobian_formula": formula.tolist(),
        "row": jacobian[i].tolist(),
        "row_sum": jacobian[i].sum().item(),
    }


def descent_numbers(x: float, w: float, target: float, lr: float, steps: int) -> DescentNumbers:
    """Run ``steps`` steps of gradient descent on w, as a training loop does.

    Each step: ``loss.backward()``, ``w -= lr * w.grad`` under ``torch.no_grad()``,
    ``w.grad.zero_()``. The distance to the minimum, w − w*, is multiplied by
    ``factor`` = 1 − 2·lr·x² at each step.

    Example:
        >>> n = descent_numbers(1.0, -1.0, 1.0, 0.1, 1)
        >>> n["grads"], n["path"], n["factor"]
        ([-4.0], [-1.0, -0.6], 0.8)
    """
    with grad_recording():
        w_t = torch.tensor(w, dtype=DTYPE, device=DEVICE, requires_grad=True)
        path: list[float] = []
        losses: list[float] = []
        grads: list[float] = []
        for _ in range(steps):
            loss = (target - x * w_t) ** 2
            loss.backward()  # w.grad = dL/dw
            assert w_t.grad is not None  # backward() filled it
            path.append(w_t.item())
            losses.append(loss.item())
            grads.append(w_t.grad.item())
            with torch.no_grad():
                w_t -= lr * w_t.grad
            w_t.grad.zero_()  # otherwise the next backward() adds to it
        with torch.no_grad():
            final_loss = ((target - x * w_t) ** 2).item()
    path.append(w_t.item())
    losses.append(final_loss)
    return {
        "x": x,
        "w": w,
        "target": target,
        "lr": lr,
        "steps": steps,
        "path": path,
        "losses": losses,
        "grads": grads,
        "w_final": path[-1],
        "loss_final": final_loss,
        "factor": 1 - 2 * lr * x * x,
    }
