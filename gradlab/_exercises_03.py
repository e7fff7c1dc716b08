"""The exercises of notebook 03 (softmax and its Jacobian), with the answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("03.1", answer)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


_A = (0.7728, 0.4713, 0.9653)


def _ratio_row_sums() -> list[float]:
    a = torch.tensor([1.0, 3.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda a: a / a.sum(), a)
    row_sums: list[float] = jac.sum(dim=1).tolist()
    return row_sums


def _uniform_softmax() -> tuple[float, float, float]:
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    p = F.softmax(a, dim=0)
    (row0,) = torch.autograd.grad(p[0], [a])
    return p[0].item(), row0[0].item(), row0[1].item()


def _jacobian_points() -> list[tuple[torch.Tensor, torch.Tensor]]:
    from gradlab.jacobians import jacobian

    points = [
        torch.tensor(_A, dtype=torch.float64),
        torch.tensor([2.0, -1.0, 0.5, 0.0], dtype=torch.float64),
        torch.tensor([1.0, 3.0], dtype=torch.float64),
    ]
    return [(a, jacobian(lambda z: F.softmax(z, dim=0), a)) for a in points]


def _cross_entropy_grad() -> list[float]:
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(a.unsqueeze(0), torch.tensor([0]))
    (g,) = torch.autograd.grad(loss, [a])
    return g.tolist()


_THIRD = 1 / 3


EXERCISES: list[Exercise] = [
    Exercise(
        id="03.1",
        kind="number",
        expected=_ratio_row_sums,
        right_zh="行和是 {answer}，不是 0：f(a) = a/Σa 的输出和为 1，所以列和为 0；但它没有平移不变性，所以行和不为 0。",
        right_en="The row sums are {answer}, not 0: f(a) = a/Σa sums to 1, so its columns sum to 0; "
        "but it is not shift invariant, so its rows do not.",
        hint_zh="行和 Σⱼ ∂fᵢ/∂aⱼ 是所有输入一起加上同一个小量时 fᵢ 的变化率。a/Σa 在平移下不变吗？",
        hint_en="The row sum Σⱼ ∂fᵢ/∂aⱼ is how fᵢ changes when every input grows by the same amount. "
        "Is a/Σa unchanged by a shift?",
        solution_zh="∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S²，S = 4：行和 = 1/S − 2aᵢ/S² = (0.125, −0.125)；列和 = 1/S − S/S² = 0。",
        solution_en="∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S² with S = 4: row sums 1/S − 2aᵢ/S² = (0.125, −0.125); "
        "column sums 1/S − S/S² = 0.",
        code=(
            "import gradlab\n"
            "a = torch.tensor([1., 3.])\n"
            "J = gradlab.jacobian(lambda a: a / a.sum(), a)\n"
            "answer = J.sum(dim=1)  # 行和 / row sums"
        ),
        wrong=(
            (
                (0.0, 0.0),
                "那是列和：Σf = 1 让每一列的和为 0。行和为 0 需要平移不变性，a/Σa 没有。",
                "Those are the column sums: Σf = 1 makes every column sum to 0. Rows sum to 0 only under "
                "shift invariance, which a/Σa lacks.",
            ),
            (
                (-0.125, 0.125),
                "符号反了：∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S²，行和 = 1/S − 2aᵢ/S²；a₀ = 1 较小，所以第一个行和为正。",
                "The sign is flipped: ∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S², so the row sum is 1/S − 2aᵢ/S²; "
                "a₀ = 1 is the smaller one, so the first row sum is positive.",
            ),
            (
                (0.25, 0.75),
                "那是 f(a) 本身，不是雅可比矩阵的行和。",
                "That is f(a) itself, not the row sums of its Jacobian.",
            ),
        ),
    ),
    Exercise(
        id="03.2",
        kind="number",
        expected=_uniform_softmax,
        right_zh="{answer}：p = 1/3，J = diag(p) − ppᵀ，对角线 1/3 − 1/9 = 2/9，其余 −1/9。",
        right_en="{answer}: p = 1/3, J = diag(p) − ppᵀ, so 1/3 − 1/9 = 2/9 on the diagonal and −1/9 elsewhere.",
        hint_zh="三个 logit 相同，p 是均匀分布；再用 ∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ)。",
        hint_en="Three equal logits give a uniform p; then use ∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ).",
        solution_zh="三个 logit 相同，p 是均匀分布；(p₀, J₀₀, J₀₁) = (1/3, 1/3 − 1/9, −1/9) = (1/3, 2/9, −1/9) ≈ (0.3333, 0.2222, −0.1111)。",
        solution_en="Three equal logits give a uniform p; (p₀, J₀₀, J₀₁) = (1/3, 1/3 − 1/9, −1/9) = (1/3, 2/9, −1/9) ≈ (0.3333, 0.2222, −0.1111).",
        code=(
            "a = torch.ones(3, requires_grad=True)\n"
            "p = F.softmax(a, dim=0)\n"
            "(row0,) = torch.autograd.grad(p[0], [a])\n"
            "answer = (p[0].item(), row0[0].item(), row0[1].item())"
        ),
        wrong=(
            (
                (_THIRD, _THIRD, 0.0),
                "你只写了 diag(p)，忘了 −ppᵀ：提高一个 logit 会降低其他类别的概率。",
                "You wrote only diag(p) and forgot −ppᵀ: raising one logit lowers the other probabilities.",
            ),
            (
                (_THIRD, 2 / 9, 1 / 9),
                "非对角元的符号反了：∂pᵢ/∂aⱼ = −pᵢpⱼ < 0。",
                "The off-diagonal sign is flipped: ∂pᵢ/∂aⱼ = −pᵢpⱼ < 0.",
            ),
            (
                (1.0, 0.0, 0.0),
                "softmax 不是取最大值：三个相同的 logit 给出均匀分布 1/3。",
                "softmax is not an argmax: three equal logits give the uniform 1/3.",
            ),
        ),
    ),
    Exercise(
        id="03.3",
        kind="choice",
        choices=("a", "b", "c", "d"),
        choice_digest="b0081441f539bd75d7fe326a94ef483bfc373b157da0c51371771dc309ca5237",
        right_zh="softmax(a + c) = softmax(a)：分子分母都乘上 e^c。p 不变，J = diag(p) − ppᵀ 只依赖 p，也不变。",
        right_en="softmax(a + c) = softmax(a): numerator and denominator both gain a factor e^c. p is unchanged, "
        "and J = diag(p) − ppᵀ depends only on p, so it is unchanged too.",
        hint_zh="把 e^(aⱼ + 10) 写成 e^10 · e^(aⱼ)，分子分母里的 e^10 会怎样？",
        hint_en="Write e^(aⱼ + 10) as e^10 · e^(aⱼ): what happens to e^10 in the numerator and denominator?",
        solution_zh="a：p 和 J 都不变。e^(aⱼ + c) = e^c · e^(aⱼ)，分子分母里的 e^c 约掉，所以 softmax(a + c) = softmax(a)"
        "（平移不变性）；J = diag(p) − ppᵀ 只依赖 p，也不变。行和 Σⱼ ∂pᵢ/∂aⱼ 是所有输入同时加上同一个小量时 pᵢ 的变化率，"
        "p 不变，所以雅可比矩阵每一行之和为 0。",
        solution_en="a: neither p nor J changes. e^(aⱼ + c) = e^c · e^(aⱼ), and e^c cancels between numerator and "
        "denominator, so softmax(a + c) = softmax(a) (shift invariance); J = diag(p) − ppᵀ depends only on p, so it "
        "is unchanged too. The row sum Σⱼ ∂pᵢ/∂aⱼ is how pᵢ changes when every input grows by the same small amount; "
        "p does not change, so every row of J sums to 0.",
        code='answer = "a"',
        wrong=(
            (
                "b",
                "J = diag(p) − ppᵀ 只依赖 p；p 不变，J 也不变。",
                "J = diag(p) − ppᵀ depends on p alone; if p does not change, neither does J.",
            ),
            (
                "c",
                "分子分母都乘上了 e^10，约掉了，p 不变。",
                "The factor e^10 appears in numerator and denominator and cancels, so p does not change.",
            ),
            (
                "d",
                "p 是概率，总和为 1，不可能每个都加 10。",
                "p is a probability distribution summing to 1; its entries cannot all grow by 10.",
            ),
        ),
    ),
    Exercise(
        id="03.4",
        kind="implement",
        expected=_jacobian_points,
        right_zh="你的闭式解和 gradlab.jacobian 在三个测试点上一致。",
        right_en="Your closed form agrees with gradlab.jacobian at three test points.",
        hint_zh="∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ)：写成矩阵就是 diag(p) − ppᵀ；torch.diag 和 torch.outer 会有用。",
        hint_en="∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ): as a matrix, diag(p) − ppᵀ; torch.diag and torch.outer help.",
        solution_zh="先算 p = softmax(a, dim=0)，再写 J = diag(p) − ppᵀ，即 torch.diag(p) − torch.outer(p, p)。",
        solution_en="First p = softmax(a, dim=0), then J = diag(p) − ppᵀ, that is torch.diag(p) − torch.outer(p, p).",
        code=(
            "def my_softmax_jacobian(a):\n"
            "    p = F.softmax(a, dim=0)\n"
            "    return torch.diag(p) - torch.outer(p, p)\n"
            "answer = my_softmax_jacobian"
        ),
        wrong=(
            (lambda p: torch.diag(p), "你只写了 diag(p)，忘了 −ppᵀ。", "You wrote only diag(p) and forgot −ppᵀ."),
            (
                lambda p: torch.outer(p, p) - torch.diag(p),
                "符号反了：对角线应该为正，pᵢ(1 − pᵢ) > 0。",
                "The sign is flipped: the diagonal must be positive, pᵢ(1 − pᵢ) > 0.",
            ),
            (
                lambda p: torch.diag(p) - p * p,
                "p * p 是逐元素平方（一个向量），这里要的是外积 torch.outer(p, p)。",
                "p * p squares element-wise (a vector); here you need the outer product torch.outer(p, p).",
            ),
        ),
    ),
    Exercise(
        id="03.5",
        kind="number",
        expected=_cross_entropy_grad,
        right_zh="{answer} = p − y：p = (1/3, 1/3, 1/3)，真实类别 0 的独热向量 y = (1, 0, 0)。",
        right_en="{answer} = p − y: p = (1/3, 1/3, 1/3) and the one-hot y = (1, 0, 0) of class 0.",
        hint_zh="用 §4 推出的结果：∂L/∂a = p − y。",
        hint_en="Use the result derived in §4: ∂L/∂a = p − y.",
        solution_zh="梯度是 p − y，p 是均匀分布：(1/3 − 1, 1/3, 1/3) = (−2/3, 1/3, 1/3)。",
        solution_en="The gradient is p − y with a uniform p: (1/3 − 1, 1/3, 1/3) = (−2/3, 1/3, 1/3).",
        code=(
            "a = torch.ones(3, requires_grad=True)\n"
            "loss = F.cross_entropy(a.unsqueeze(0), torch.tensor([0]))\n"
            "answer = torch.autograd.grad(loss, [a])[0]"
        ),
        wrong=(
            (
                (_THIRD, _THIRD, _THIRD),
                "那是 p，还要减去真实类别的独热向量 y。",
                "That is p; subtract the one-hot vector y of the true class.",
            ),
            (
                (2 / 3, -_THIRD, -_THIRD),
                "符号反了：梯度是 p − y，不是 y − p。",
                "The sign is flipped: the gradient is p − y, not y − p.",
            ),
            (
                (-1.0, 0.0, 0.0),
                "那是 −y，你漏了 p：梯度是 p − y，p = (1/3, 1/3, 1/3)。",
                "That is −y; you left out p: the gradient is p − y with p = (1/3, 1/3, 1/3).",
            ),
        ),
    ),
]
