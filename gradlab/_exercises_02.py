"""The exercises of notebook 02 (backward, .grad and accumulation), with the answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("02.1", answer)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


def _accumulated(times: int) -> float:
    w = torch.full([1], 2.0, dtype=torch.float64, requires_grad=True)
    for _ in range(times):
        F.mse_loss(torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64) * w).backward()
    assert w.grad is not None
    return w.grad.item()


_A = (0.7728, 0.4713, 0.9653)


def _square_backward() -> list[float]:
    a = torch.tensor(_A, dtype=torch.float64, requires_grad=True)
    (a**2).backward(gradient=torch.ones(3, dtype=torch.float64))
    assert a.grad is not None
    return a.grad.tolist()


def _descent(steps: int = 5, lr: float = 0.1, *, zero: bool = True) -> float:
    x = torch.ones(1)
    w = torch.full([1], -1.0, requires_grad=True)
    for _ in range(steps):
        loss = F.mse_loss(torch.ones(1), x * w)
        loss.backward()
        with torch.no_grad():
            assert w.grad is not None
            w -= lr * w.grad
        if zero:
            assert w.grad is not None
            w.grad.zero_()
    return w.item()


EXERCISES: list[Exercise] = [
    Exercise(
        id="02.1",
        kind="number",
        expected=lambda: _accumulated(3),
        right_zh="{answer}：每次 backward 把 2 加到 .grad 上，2 + 2 + 2 = 6。",
        right_en="{answer}: every backward adds 2 into .grad, 2 + 2 + 2 = 6.",
        hint_zh="backward 不替换 .grad，而是把新梯度加上去。每一次的梯度是多少？",
        hint_en="backward does not replace .grad; it adds the new gradient. What is each gradient?",
        solution_zh="每次前向 + backward 的梯度都是 2，三次累加得 6。",
        solution_en="Each forward + backward gives 2; three of them add up to 6.",
        code=(
            "x = torch.ones(1)\n"
            "w = torch.full([1], 2.).requires_grad_()\n"
            "for _ in range(3):\n"
            "    F.mse_loss(torch.ones(1), x * w).backward()  # 没有 zero_() / no zero_()\n"
            "answer = w.grad.item()  # 6.0"
        ),
        wrong=(
            (
                2.0,
                "backward 不会替换 .grad，而是累加：三次 backward，三个 2 加在一起。",
                "backward does not replace .grad, it accumulates: three backward calls add three 2s.",
            ),
            (4.0, "数一数：三次 backward，不是两次。", "Count again: three backward calls, not two."),
            (
                8.0,
                "累加是加法，不是翻倍：每次 backward 都加上同样的 2。",
                "Accumulation adds, it does not double: every backward adds the same 2.",
            ),
        ),
    ),
    Exercise(
        id="02.2",
        kind="choice",
        choices=("a", "b", "c", "d"),
        choice_digest="c9137826ebf5c894b594b63261cc4a85094b1db039ef0fa355c17cbffe7574ae",
        right_zh="w = w * 2 让名字 w 指向一个新张量，它不在 mse 的计算图里，所以 PyTorch 报 RuntimeError"
        "（appears to not have been used in the graph）。重新做一次前向计算就好了。",
        right_en="w = w * 2 makes the name w point to a new tensor that is not in mse's graph, so PyTorch raises "
        "RuntimeError (appears to not have been used in the graph). A new forward pass fixes it.",
        hint_zh="w = w * 2 之后，名字 w 指向的还是计算 mse 时用的那个张量吗？",
        hint_en="After w = w * 2, does the name w still refer to the tensor mse was computed from?",
        solution_zh="b：重新赋值后的 w 是一个新张量，没有参与 mse 的计算。先用新的 w 重新计算 mse，再求梯度。",
        solution_en="b: the re-assigned w is a new tensor that was not used to compute mse. "
        "Recompute mse with the new w, then ask for the gradient.",
        code='answer = "b"',
        wrong=(
            (
                "a",
                "mse 是用旧的 w 算的；PyTorch 不会因为你改了名字 w 就重新计算 mse。",
                "mse was computed from the old w; PyTorch does not recompute mse because the name w changed.",
            ),
            (
                "c",
                "新的 w = w * 2 仍然需要梯度（它由需要梯度的张量算出），问题不在 requires_grad。",
                "The new w = w * 2 still requires grad (it comes from a tensor that does); requires_grad is not the problem.",
            ),
            (
                "d",
                "autograd.grad 只返回梯度，不写 .grad；而且这里它根本没有算出梯度。",
                "autograd.grad only returns gradients and never writes .grad; and here it computes none.",
            ),
        ),
    ),
    Exercise(
        id="02.3",
        kind="number",
        expected=_square_backward,
        right_zh="{answer} = 2a：1ᵀJ 就是 y.sum() 的梯度，J = diag(2a)。",
        right_en="{answer} = 2a: 1ᵀJ is the gradient of y.sum(), with J = diag(2a).",
        hint_zh="backward(gradient=v) 算 vᵀJ；y = a² 的 J 是对角矩阵 diag(2a)。",
        hint_en="backward(gradient=v) computes vᵀJ; for y = a² the Jacobian is diag(2a).",
        solution_zh="1ᵀ·diag(2a) = 2a，等于标量 y.sum() = Σ aᵢ² 的梯度。",
        solution_en="1ᵀ·diag(2a) = 2a, the gradient of the scalar y.sum() = Σ aᵢ².",
        code=(
            "a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)\n"
            "(a ** 2).backward(gradient=torch.ones(3))\n"
            "answer = a.grad  # 2a"
        ),
        wrong=(
            (_A, "你忘了因子 2：d(a²)/da = 2a。", "You forgot the factor 2: d(a²)/da = 2a."),
            (
                tuple(v * v for v in _A),
                "那是 y = a² 的值，不是梯度：backward 算的是 vᵀJ，J = diag(2a)。",
                "That is the value y = a², not a gradient: backward computes vᵀJ with J = diag(2a).",
            ),
            (
                (1.0, 1.0, 1.0),
                "那是 v 本身；backward 算的是 vᵀJ，要乘上 J = diag(2a)。",
                "That is v itself; backward computes vᵀJ, so multiply by J = diag(2a).",
            ),
            (
                4.4188,
                "a.grad 和 a 形状相同（3 个数），不是一个标量。",
                "a.grad has the shape of a (three numbers), not a single number.",
            ),
        ),
    ),
    Exercise(
        id="02.4",
        kind="number",
        expected=lambda: _descent(),
        right_zh="修好了：每一步之后 w.grad.zero_()，5 步后 w = {answer}。",
        right_en="Fixed: with w.grad.zero_() after every step, w = {answer} after 5 steps.",
        hint_zh="每一步 backward 之后，.grad 里留下了什么？下一步的 backward 会怎样对待它？",
        hint_en="What is left in .grad after each step's backward? What does the next backward do with it?",
        solution_zh="在更新 w 之后加 w.grad.zero_()：否则 .grad 把以前每一步的梯度都累加起来，步子越迈越大。",
        solution_en="Add w.grad.zero_() after updating w: otherwise .grad adds up the gradients of every "
        "earlier step, and the steps grow too large.",
        code=(
            "x = torch.ones(1)\n"
            "w = torch.full([1], -1.).requires_grad_()\n"
            "for step in range(5):\n"
            "    loss = F.mse_loss(torch.ones(1), x * w)\n"
            "    loss.backward()\n"
            "    with torch.no_grad():\n"
            "        w -= 0.1 * w.grad\n"
            "    w.grad.zero_()  # 修复 / the fix\n"
            "answer = w.item()"
        ),
        wrong=(
            (
                lambda: _descent(zero=False),
                "这是缺少 zero_() 的结果：梯度在累加，每一步都用上了以前所有步的梯度。",
                "That is the loop without zero_(): the gradients accumulate, so each step uses all earlier gradients.",
            ),
            (
                -1.0,
                "w 没有动：更新要写在 with torch.no_grad(): 里，并且原地修改 w（w -= ...）。",
                "w did not move: update it in place (w -= ...) inside with torch.no_grad():.",
            ),
        ),
    ),
]
