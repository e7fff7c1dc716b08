"""The exercises of notebook 04 (turning gradients off, and what breaks), with the answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("04.1", answer)``.
"""

from __future__ import annotations

import torch

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


def _used_twice(a: float) -> float:
    """d(a * a + a)/da by autograd: a is used three times, so three gradients add up."""
    at = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    (at * at + at).backward()
    assert at.grad is not None
    return at.grad.item()


def _half_detached(w: float) -> float:
    """d(w * w.detach())/dw by autograd: only the first factor is in the graph."""
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    (wt * wt.detach()).backward()
    assert wt.grad is not None
    return wt.grad.item()


def _kinks_at_zero() -> float:
    """d(relu(z) + |z|)/dz at z = 0 by autograd: PyTorch's choice at the kink."""
    z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (torch.relu(z) + z.abs()).sum().backward()
    assert z.grad is not None
    return z.grad.item()


EXERCISES: list[Exercise] = [
    Exercise(
        id="04.1",
        kind="number",
        expected=lambda: _used_twice(3.0),
        right_zh="{answer} = 3 + 3 + 1：a 在 a * a + a 里用了三次，三条箭头送回的梯度加在一起。",
        right_en="{answer} = 3 + 3 + 1: a is used three times in a * a + a, and the three arrows' gradients add up.",
        hint_zh="数一数 a 被用了几次，每一次使用送回多少梯度？多元链式法则把它们加起来。",
        hint_en="Count how often a is used and what each use sends back; the multivariable chain rule adds them.",
        solution_zh="a * a 的两条箭头各送回另一个因子 a = 3，+ a 送回 1，AccumulateGrad 把它们加起来：3 + 3 + 1 = 7 = 2a + 1。",
        solution_en="The two arrows of a * a each send back the other factor a = 3, + a sends back 1, "
        "and AccumulateGrad adds them: 3 + 3 + 1 = 7 = 2a + 1.",
        code=(
            "# a 用了三次 / a is used three times\n"
            "a = torch.tensor(3., requires_grad=True)\n"
            "(a * a + a).backward()\n"
            "answer = a.grad.item()  # 7.0"
        ),
        wrong=(
            (
                6.0,
                "这是 a * a 的导数 2a。别忘了 + a 这一次使用，它送回 1。",
                "That is the derivative 2a of a * a. Do not forget the use in + a, which sends back 1.",
            ),
            (
                4.0,
                "a * a 里 a 用了两次，每次送回另一个因子 3，不是只算一次。",
                "In a * a, a is used twice, and each use sends back the other factor 3: count both.",
            ),
            (
                12.0,
                "这是 a * a + a 的值，不是梯度。",
                "That is the value of a * a + a, not its gradient.",
            ),
        ),
    ),
    Exercise(
        id="04.2",
        kind="number",
        expected=lambda: _half_detached(3.0),
        right_zh="{answer}：w.detach() 在图里只是一个常数 3，只有第一个因子 w 送回梯度。",
        right_en="{answer}: in the graph w.detach() is just the constant 3; only the first factor w sends a gradient back.",
        hint_zh="detach() 之后的张量不在计算图里，对 autograd 来说它是常数。",
        hint_en="A detached tensor is not in the graph: to autograd it is a constant.",
        solution_zh="y = w · c，其中 c = w.detach() = 3 是常数，所以 dy/dw = c = 3，而不是 d(w²)/dw = 2w = 6。",
        solution_en="y = w · c with the constant c = w.detach() = 3, so dy/dw = c = 3, not d(w²)/dw = 2w = 6.",
        code=(
            "# 一个因子被 detach / one factor is detached\n"
            "w = torch.tensor(3., requires_grad=True)\n"
            "(w * w.detach()).backward()\n"
            "answer = w.grad.item()  # 3.0"
        ),
        wrong=(
            (
                6.0,
                "这是 w * w 的导数 2w：detach() 的那个因子不传回梯度。",
                "That is the derivative 2w of w * w: the detached factor sends no gradient back.",
            ),
            (
                0.0,
                "只有一个因子被 detach，另一个 w 仍在图里，仍有梯度。",
                "Only one factor is detached; the other w is still in the graph and still gets a gradient.",
            ),
            (
                9.0,
                "这是 w * w.detach() 的值，不是梯度。",
                "That is the value of w * w.detach(), not its gradient.",
            ),
        ),
    ),
    Exercise(
        id="04.3",
        kind="choice",
        choices=("a", "b", "c", "d"),
        choice_digest="048dfee6547b5f7ddec3e975fd9d3cc59838acb422eccecd7134054c4382f4a7",
        right_zh="b * b 保存了 b（版本 0），b += 1 把 b 的版本号变成 1；backward 发现保存的张量已被原地修改，报错。"
        "b 不是叶子，所以原地修改本身是允许的，出错的是之后的 backward。",
        right_en="b * b saved b (version 0), and b += 1 bumped b's version to 1; backward finds that a saved tensor was "
        "modified in place and raises. b is not a leaf, so the in-place change itself is allowed; the later "
        "backward is what fails.",
        hint_zh="b * b 的反向函数保存了什么？b += 1 之后 b._version 是多少？b 是叶子吗？",
        hint_en="What did the backward function of b * b save? What is b._version after b += 1? Is b a leaf?",
        solution_zh="b：MulBackward0 保存了 b，b += 1 让 b._version 从 0 变成 1，backward 时 PyTorch 报错："
        "one of the variables needed for gradient computation has been modified by an inplace operation。",
        solution_en="b: MulBackward0 saved b, b += 1 moved b._version from 0 to 1, and backward raises: one of the "
        "variables needed for gradient computation has been modified by an inplace operation.",
        code='answer = "b"',
        wrong=(
            (
                "a",
                "b * b 的梯度要用到保存的 b，而 b 已经被原地改成了 b + 1：PyTorch 不会用错的值悄悄算下去。",
                "The gradient of b * b needs the saved b, which was changed in place to b + 1: "
                "PyTorch does not silently compute with the wrong value.",
            ),
            (
                "c",
                "b = a * 2 不是叶子，原地修改非叶子是允许的；这个报错只针对需要梯度的叶子（比如 a）。",
                "b = a * 2 is not a leaf, and changing a non-leaf in place is allowed; that error is only for "
                "a leaf that requires grad (such as a).",
            ),
            (
                "d",
                "这里只调用了一次 backward，没有什么被释放。",
                "backward is called only once here, so nothing was freed.",
            ),
        ),
    ),
    Exercise(
        id="04.4",
        kind="number",
        expected=_kinks_at_zero,
        right_zh="{answer}：在 0 这个尖点，PyTorch 对 relu 和 abs 都取导数 0（次梯度中的一个）。",
        right_en="{answer}: at the kink 0, PyTorch takes the derivative of both relu and abs to be 0 (one subgradient).",
        hint_zh="relu 和 abs 在 0 处不可导；PyTorch 在那里各自选了一个数。看本节上面打印的结果。",
        hint_en="relu and abs are not differentiable at 0; PyTorch picks one number for each there. "
        "Look at what the section above printed.",
        solution_zh="PyTorch 规定 relu'(0) = 0、abs'(0) = sign(0) = 0，所以 0 + 0 = 0。",
        solution_en="PyTorch defines relu'(0) = 0 and abs'(0) = sign(0) = 0, so 0 + 0 = 0.",
        code=(
            "# 两个尖点 / two kinks at 0\n"
            "z = torch.zeros(1, requires_grad=True)\n"
            "(torch.relu(z) + z.abs()).sum().backward()\n"
            "answer = z.grad.item()  # 0.0"
        ),
        wrong=(
            (
                1.0,
                "PyTorch 不取 relu'(0) = 1：它规定 relu'(0) = 0，abs'(0) = 0。",
                "PyTorch does not take relu'(0) = 1: it defines relu'(0) = 0 and abs'(0) = 0.",
            ),
            (
                0.5,
                "PyTorch 不取左右导数的平均：relu'(0) = 0，abs'(0) = 0。",
                "PyTorch does not average the one-sided derivatives: relu'(0) = 0 and abs'(0) = 0.",
            ),
            (
                2.0,
                "这是 z 略大于 0 时的导数 1 + 1；恰好在 0 处两者都取 0。",
                "That is the derivative 1 + 1 just right of 0; exactly at 0 both are taken to be 0.",
            ),
        ),
    ),
]
