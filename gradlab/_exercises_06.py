"""The exercises of notebook 06 (build your own autograd; hooks; custom Functions), answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("06.1", answer)``.
"""

from __future__ import annotations

import torch

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


def _fan_out() -> float:
    a = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(a * a + a, [a])
    return grad.item()


def _clipped_in_flight() -> float:
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    y = x * x
    y.register_hook(lambda grad: grad.clamp(max=1.0))
    (grad,) = torch.autograd.grad(5 * y, [x])
    return grad.item()


_X = (-2.0, 0.0, 1.0)
_V = (1.0, 2.0, -1.0)


def _sigmoid_grad() -> list[float]:
    x = torch.tensor(_X, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad((torch.tensor(_V, dtype=torch.float64) * torch.sigmoid(x)).sum(), [x])
    return [float(g) for g in grad.tolist()]


def _sigmoid_wrong(kind: str) -> list[float]:
    s = torch.sigmoid(torch.tensor(_X, dtype=torch.float64))
    v = torch.tensor(_V, dtype=torch.float64)
    made = {
        "zeros": torch.zeros_like(s),
        "no grad_output": s * (1 - s),
        "sigma": v * s,
        "tanh": v * (1 - s**2),
    }[kind]
    return [float(g) for g in made.tolist()]


EXERCISES: list[Exercise] = [
    Exercise(
        id="06.1",
        kind="number",
        expected=_fan_out,
        right_zh="{answer} = 2a + 1：a 被用了三次（a * a 里两次，+ a 一次），三条箭头的梯度 (−2) + (−2) + 1 都加进了 a.grad。",
        right_en="{answer} = 2a + 1: a is used three times (twice in a * a, once in + a), and the gradients on the "
        "three arrows, (−2) + (−2) + 1, all add into a.grad.",
        hint_zh="数一数 a 有几条箭头通向使用它的运算：每条箭头送回一个梯度，_backward 用 += 把它们加起来。",
        hint_en="Count the arrows from a to the operations that use it: each arrow sends back a gradient, "
        "and _backward adds them with +=.",
        solution_zh="y = a·a + a，∂y/∂a = a + a + 1 = (−2) + (−2) + 1 = −3：乘法的两个输入都是 a，"
        "各送回另一个因子 −2；加法送回 1。",
        solution_en="y = a·a + a, ∂y/∂a = a + a + 1 = (−2) + (−2) + 1 = −3: both inputs of the product are a, "
        "each sends back the other factor, −2; the sum sends back 1.",
        code=("a = torch.tensor(-2., requires_grad=True)\n(a * a + a).backward()\nanswer = a.grad.item()  # -3.0"),
        wrong=(
            (
                -4.0,
                "你只算了 a * a 的 2a = −4，漏了 + a 那条箭头送回的 1。",
                "You counted only the 2a = −4 of a * a and missed the 1 sent back along the arrow of + a.",
            ),
            (
                -2.0,
                "这是把 += 写成 = 的引擎给出的数：后写的梯度覆盖了先写的，最后留在 a.grad 里的是乘法送回的 a = −2。"
                "三条箭头的梯度要加起来。",
                "That is what an engine with = instead of += gives: each gradient overwrites the one before, and the "
                "last one written is the product's a = −2. The three arrows' gradients must be added.",
            ),
            (
                1.0,
                "这只是加法那条箭头送回的梯度；乘法 a * a 的两条箭头也通向 a。",
                "That is only the gradient from the sum's arrow; the two arrows of the product a * a lead to a too.",
            ),
            (
                -1.0,
                "a * a 有两条箭头通向 a，各送回 −2；你只算了其中一条。",
                "a * a has two arrows into a, each sending back −2; you counted only one of them.",
            ),
            (
                2.0,
                "这是 y = a * a + a 的值 4 − 2 = 2，不是梯度。",
                "That is the value of y = a * a + a, 4 − 2 = 2, not its gradient.",
            ),
        ),
    ),
    Exercise(
        id="06.2",
        kind="number",
        expected=_clipped_in_flight,
        right_zh="{answer}：钩子在梯度流过 y 时把 5 截成 1，之后的链式法则用的是截过的值：1 · 2x = 6。",
        right_en="{answer}: the hook clips the 5 to 1 while the gradient passes y, and the rest of the chain rule "
        "uses the clipped value: 1 · 2x = 6.",
        hint_zh="先算到达 y 的梯度 ∂loss/∂y，让钩子处理它，再乘上 ∂y/∂x = 2x。",
        hint_en="First the gradient ∂loss/∂y that reaches y, let the hook change it, then multiply by ∂y/∂x = 2x.",
        solution_zh="到达 y 的梯度是 5，钩子返回 clamp(5, max=1) = 1，它替换了原来的梯度继续往回传：x.grad = 1 · 2 · 3 = 6。",
        solution_en="The gradient reaching y is 5; the hook returns clamp(5, max=1) = 1, which replaces it on the "
        "way back: x.grad = 1 · 2 · 3 = 6.",
        code=(
            "x = torch.tensor(3., requires_grad=True)\n"
            "y = x * x\n"
            "y.register_hook(lambda grad: grad.clamp(max=1.0))  # 5 → 1\n"
            "(5 * y).backward()\n"
            "answer = x.grad.item()  # 6.0"
        ),
        wrong=(
            (
                30.0,
                "这是没有钩子时的梯度 5 · 2x。钩子的返回值会替换流过 y 的梯度。",
                "That is the gradient without the hook, 5 · 2x. The hook's return value replaces the gradient "
                "passing through y.",
            ),
            (
                1.0,
                "钩子截的是流过 y 的梯度，不是 x.grad：截完之后还要乘 ∂y/∂x = 2x。",
                "The hook clips the gradient passing through y, not x.grad: after clipping it is still "
                "multiplied by ∂y/∂x = 2x.",
            ),
            (
                3.0,
                "x * x 的两个输入都是 x，两条箭头各送回 1 · x = 3，加起来是 6。",
                "Both inputs of x * x are x: each of the two arrows sends back 1 · x = 3, and they add up to 6.",
            ),
            (
                5.0,
                "5 是钩子处理之前到达 y 的梯度 ∂loss/∂y；钩子把它换成 1，之后还要乘 ∂y/∂x = 2x。",
                "5 is the gradient ∂loss/∂y reaching y before the hook; the hook replaces it with 1, "
                "which is then multiplied by ∂y/∂x = 2x.",
            ),
        ),
    ),
    Exercise(
        id="06.3",
        kind="choice",
        choices=("a", "b", "c", "d"),
        choice_digest="bd731f8ae9eafe0c98abd83cb8e05fe98daa3fd7ab1b53ad7043282ba34e8f53",
        right_zh="forward 有两个张量输入，backward 就必须返回两个梯度（不需要的位置写 None）。少一个，PyTorch 立刻报错："
        "returned an incorrect number of gradients (expected 2, got 1)。",
        right_en="forward has two tensor inputs, so backward must return two gradients (None where none is needed). "
        "With one missing PyTorch raises at once: returned an incorrect number of gradients (expected 2, got 1).",
        hint_zh="backward 返回的每一项对应 forward 的一个输入。PyTorch 会不会替你补上缺的那一个？",
        hint_en="Each item backward returns belongs to one input of forward. Does PyTorch fill in the missing one for you?",
        solution_zh="b：backward 的返回值个数必须等于 forward 的输入个数（ctx 不算），"
        "PyTorch 报 RuntimeError: function MulBackward returned an incorrect number of gradients (expected 2, got 1)。",
        solution_en="b: backward must return as many values as forward has inputs (ctx not counted); PyTorch raises "
        "RuntimeError: function MulBackward returned an incorrect number of gradients (expected 2, got 1).",
        code='answer = "b"',
        wrong=(
            (
                "a",
                "PyTorch 不会悄悄跳过 b：返回值的个数不对，它就报错。",
                "PyTorch does not silently skip b: with the wrong number of return values it raises.",
            ),
            (
                "c",
                "PyTorch 不会把缺的梯度当成 0：个数不对就报错。真想说“没有梯度”，要明确返回 None。",
                "PyTorch does not treat the missing gradient as 0: the wrong count raises. To say "
                "\u201cno gradient\u201d, return None explicitly.",
            ),
            (
                "d",
                "这个错误不用 gradcheck 也会出现：backward 一运行，PyTorch 就检查返回值的个数。",
                "This error shows without gradcheck: PyTorch checks the number of return values as soon as "
                "backward runs.",
            ),
        ),
    ),
    Exercise(
        id="06.4",
        kind="number",
        expected=_sigmoid_grad,
        right_zh="{answer}：你的 backward 和 autograd 对 torch.sigmoid 求出的梯度一致，"
        "grad_output · σ(x)(1 − σ(x))，只用保存下来的 s 就能算。",
        right_en="{answer}: your backward agrees with autograd's gradient of torch.sigmoid, "
        "grad_output · σ(x)(1 − σ(x)), computed from the saved s alone.",
        hint_zh="对 σ(x) = 1/(1 + e^(−x)) 求导，再用 e^(−x) = (1 − s)/s 把结果只用 s 写出来；"
        "链式法则还要乘上从后面传来的 grad_output。",
        hint_en="Differentiate σ(x) = 1/(1 + e^(−x)), then write the result with s alone using e^(−x) = (1 − s)/s; "
        "the chain rule also multiplies by grad_output, which arrives from later in the graph.",
        solution_zh="backward 返回 grad_output * s * (1 - s)。这里 grad_output = v = (1, 2, −1)，"
        "所以 x.grad = v · s(1 − s) ≈ (0.105, 0.5, −0.1966)。",
        solution_en="backward returns grad_output * s * (1 - s). Here grad_output = v = (1, 2, −1), "
        "so x.grad = v · s(1 − s) ≈ (0.105, 0.5, −0.1966).",
        code=(
            "class MySigmoid(torch.autograd.Function):\n"
            "    @staticmethod\n"
            "    def forward(ctx, x):\n"
            "        s = 1 / (1 + torch.exp(-x))\n"
            "        ctx.save_for_backward(s)\n"
            "        return s\n"
            "\n"
            "    @staticmethod\n"
            "    def backward(ctx, grad_output):\n"
            "        (s,) = ctx.saved_tensors\n"
            "        return grad_output * s * (1 - s)\n"
            "\n"
            "x = torch.tensor([-2., 0., 1.], requires_grad=True)\n"
            "v = torch.tensor([1., 2., -1.])\n"
            "(v * MySigmoid.apply(x)).sum().backward()\n"
            "answer = x.grad"
        ),
        wrong=(
            (
                lambda: _sigmoid_wrong("zeros"),
                "你的 backward 还在返回 0：把 torch.zeros_like(s) 换成 σ 的导数乘 grad_output。",
                "Your backward still returns zeros: replace torch.zeros_like(s) with the derivative of σ "
                "times grad_output.",
            ),
            (
                lambda: _sigmoid_wrong("no grad_output"),
                "局部导数 s(1 − s) 对了，但忘了乘 grad_output（这里是 v = (1, 2, −1)）。",
                "The local derivative s(1 − s) is right, but you forgot to multiply by grad_output "
                "(here v = (1, 2, −1)).",
            ),
            (
                lambda: _sigmoid_wrong("sigma"),
                "你返回的是 grad_output · s，即 σ 本身；σ 的导数是 s(1 − s)。",
                "You returned grad_output · s, σ itself; the derivative of σ is s(1 − s).",
            ),
            (
                lambda: _sigmoid_wrong("tanh"),
                "1 − s² 是 tanh 的导数（用输出写）；σ 的导数是 s(1 − s)。",
                "1 − s² is the derivative of tanh (written with its output); the derivative of σ is s(1 − s).",
            ),
        ),
    ),
]
