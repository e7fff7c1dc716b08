"""The exercises of notebook 01 (autograd.grad on the seed's MSE), with the answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("01.1", answer)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


def _mse_grads(x: float, w: float, target: float = 1.0, *, wrt_x: bool = False) -> tuple[float, ...]:
    xt = torch.full([1], x, dtype=torch.float64, requires_grad=wrt_x)
    wt = torch.full([1], w, dtype=torch.float64, requires_grad=True)
    mse = F.mse_loss(torch.full([1], target, dtype=torch.float64), xt * wt)
    grads = torch.autograd.grad(mse, [wt, xt] if wrt_x else [wt])
    return tuple(g.item() for g in grads)


EXERCISES: list[Exercise] = [
    Exercise(
        id="01.1",
        kind="number",
        expected=lambda: _mse_grads(1.0, 3.0)[0],
        right_zh="{answer} 就是 autograd 算出的梯度。",
        right_en="{answer} is the gradient autograd computes.",
        hint_zh="链式法则：∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − target) · x。",
        hint_en="chain rule: ∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − target) · x.",
        solution_zh="由链式法则，∂mse/∂w = 2·x·(x·w − 1) = 2·1·(1·3 − 1) = 4。",
        solution_en="By the chain rule, ∂mse/∂w = 2·x·(x·w − 1) = 2·1·(1·3 − 1) = 4.",
        code=(
            "# 重新设置，再用 autograd 求梯度 / a fresh set-up, then the gradient by autograd\n"
            "x = torch.ones(1)\n"
            "w = torch.full([1], 3.).requires_grad_()\n"
            "mse = F.mse_loss(torch.ones(1), x * w)\n"
            "answer = torch.autograd.grad(mse, [w])[0].item()  # 4.0"
        ),
        wrong=(
            (
                2.0,
                "可能有两个原因：这是 w = 2 时的梯度（w 已经改成了 3）；"
                "或者你漏了平方求导得到的因子 2：2·(3 − 1)·1，不是 (3 − 1)·1。",
                "Two possible causes: that is the gradient at w = 2 (w is now 3); or you dropped the factor 2 "
                "from differentiating the square: 2·(3 − 1)·1, not (3 − 1)·1.",
            ),
            (
                6.0,
                "你算的是 2·x·w，少减了目标值：误差是 pred − target = 3 − 1。",
                "You computed 2·x·w and forgot to subtract the target: the error is pred − target = 3 − 1.",
            ),
            (
                -4.0,
                "符号反了：∂(target − pred)²/∂pred = 2(pred − target)，w 太大时梯度为正。",
                "The sign is flipped: ∂(target − pred)²/∂pred = 2(pred − target); when w is too large the gradient is positive.",
            ),
            (1.0, "这是 mse 在 w = 2 时的值，不是梯度。", "That is the value of mse at w = 2, not a gradient."),
        ),
    ),
    Exercise(
        id="01.2",
        kind="number",
        expected=lambda: _mse_grads(3.0, 2.0)[0],
        right_zh="{answer} = 2·(x·w − 1)·x：链式法则里的因子 x = 3 在这里看得见。",
        right_en="{answer} = 2·(x·w − 1)·x: the chain rule's factor x = 3 is visible here.",
        hint_zh="pred = x·w = 6，∂mse/∂pred = 2(pred − 1)，再乘上 ∂pred/∂w = x。",
        hint_en="pred = x·w = 6, ∂mse/∂pred = 2(pred − 1), then multiply by ∂pred/∂w = x.",
        solution_zh="由链式法则，∂mse/∂w = 2·x·(x·w − 1) = 2·3·(3·2 − 1) = 30，因子 x = 3 不能漏。",
        solution_en="By the chain rule, ∂mse/∂w = 2·x·(x·w − 1) = 2·3·(3·2 − 1) = 30; the factor x = 3 must not be dropped.",
        code=(
            "# x = 3：链式法则的因子 x 看得见 / x = 3 makes the chain rule's factor x visible\n"
            "x = torch.full([1], 3.)\n"
            "w = torch.full([1], 2.).requires_grad_()\n"
            "mse = F.mse_loss(torch.ones(1), x * w)\n"
            "answer = torch.autograd.grad(mse, [w])[0].item()  # 30.0"
        ),
        wrong=(
            (
                10.0,
                "你忘了 ∂pred/∂w = x：2(x·w − 1) = 10 只是 ∂mse/∂pred，还要乘 x = 3。",
                "You forgot ∂pred/∂w = x: 2(x·w − 1) = 10 is only ∂mse/∂pred; multiply by x = 3.",
            ),
            (2.0, "这是 x = 1 时的梯度。x 改成了 3。", "That is the gradient for x = 1. Here x = 3."),
            (
                -30.0,
                "符号反了：∂(target − pred)²/∂pred = 2(pred − target)，pred = 6 > 1，梯度为正。",
                "The sign is flipped: ∂(target − pred)²/∂pred = 2(pred − target); pred = 6 > 1, so the gradient is positive.",
            ),
            (
                15.0,
                "你漏了平方求导得到的因子 2：∂mse/∂w = 2(x·w − 1)·x。",
                "You dropped the factor 2 from differentiating the square: ∂mse/∂w = 2(x·w − 1)·x.",
            ),
            (
                90.0,
                "x 乘了两次：∂mse/∂w = 2(x·w − 1)·x，只有一个 x。",
                "You multiplied by x twice: ∂mse/∂w = 2(x·w − 1)·x has a single factor x.",
            ),
        ),
    ),
    Exercise(
        id="01.3",
        kind="number",
        expected=lambda: _mse_grads(3.0, 2.0, wrt_x=True),
        right_zh="返回一个元组 {answer}：顺序和 inputs 列表 [w, x] 一样，∂mse/∂w = 2(xw − 1)·x，∂mse/∂x = 2(xw − 1)·w。",
        right_en="It returns a tuple {answer}, in the order of the inputs list [w, x]: "
        "∂mse/∂w = 2(xw − 1)·x and ∂mse/∂x = 2(xw − 1)·w.",
        hint_zh="x 和 w 在 pred = x·w 里的地位对称：对 x 求导时，w 是因子。",
        hint_en="x and w play symmetric roles in pred = x·w: differentiating by x, the factor is w.",
        solution_zh="(2·(3·2 − 1)·3, 2·(3·2 − 1)·2) = (30, 20)：每个输入一个梯度，顺序同 inputs。",
        solution_en="(2·(3·2 − 1)·3, 2·(3·2 − 1)·2) = (30, 20): one gradient per input, in the order of inputs.",
        code=(
            "# x 也需要梯度 / x requires grad too\n"
            "x = torch.full([1], 3.).requires_grad_()\n"
            "w = torch.full([1], 2.).requires_grad_()\n"
            "mse = F.mse_loss(torch.ones(1), x * w)\n"
            "answer = tuple(g.item() for g in torch.autograd.grad(mse, [w, x]))  # (30.0, 20.0)"
        ),
        wrong=(
            (
                (20.0, 30.0),
                "顺序反了：返回值的顺序和 inputs 列表 [w, x] 一样，先 w 后 x。",
                "The order is reversed: the results come in the order of the inputs list [w, x], w first.",
            ),
            (
                (30.0, 0.0),
                "x 也设置了 requires_grad，它同样得到梯度 2(xw − 1)·w。",
                "x requires grad too, so it gets a gradient as well: 2(xw − 1)·w.",
            ),
            (
                30.0,
                "inputs 里有两个张量，所以返回一个有两个梯度的元组。",
                "There are two tensors in inputs, so the result is a tuple of two gradients.",
            ),
        ),
    ),
    Exercise(
        id="01.4",
        kind="choice",
        choices=("a", "b", "c", "d"),
        choice_digest="ebb97862b88785ba79d5e138b5fe1ccdc27d2ea20a4c8f1bef94866bf0c9b0a9",
        right_zh="计算 mse 时 w 还不需要梯度，PyTorch 没有记录计算图，mse 没有 grad_fn；"
        "之后再调用 requires_grad_() 也补不回来，所以报 RuntimeError。先标记 w，再做前向计算。",
        right_en="When mse was computed, w did not require grad yet, so PyTorch recorded no graph and mse has no "
        "grad_fn; calling requires_grad_() afterwards cannot add it, hence the RuntimeError. Mark w first, "
        "then run the forward pass.",
        hint_zh="计算图是什么时候记录的？计算 mse 的那一刻，w 需要梯度吗？",
        hint_en="When is the graph recorded? At the moment mse was computed, did w require grad?",
        solution_zh="c：计算图在前向计算时记录；那时 w 不需要梯度，mse 没有 grad_fn，"
        "报错 element 0 of tensors does not require grad and does not have a grad_fn。",
        solution_en="c: the graph is recorded during the forward pass; w did not require grad then, so mse has no "
        "grad_fn and PyTorch raises: element 0 of tensors does not require grad and does not have a grad_fn.",
        code='answer = "c"',
        wrong=(
            (
                "a",
                "requires_grad_() 不会回头补记计算图：计算 mse 时 w 还不需要梯度。",
                "requires_grad_() does not record the graph after the fact: w did not require grad when mse was computed.",
            ),
            (
                "b",
                "这里只调用了一次 autograd.grad，没有什么被释放；问题是根本没有记录计算图。",
                "autograd.grad is called only once here, so nothing was freed; no graph was recorded at all.",
            ),
            (
                "d",
                "PyTorch 不会悄悄返回 0：没有计算图，它就报错。",
                "PyTorch does not silently return 0: with no graph it raises an error.",
            ),
        ),
    ),
]
