"""The exercises of notebook 05 (higher-order gradients and torch.func), with the answers computed by autograd.

Registered by :mod:`gradlab.exercises`; learners call ``exercises.check("05.1", answer)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlab._exercise import Exercise

__all__ = ["EXERCISES"]


def _second_derivative() -> float:
    x = torch.full([1], 2.0, dtype=torch.float64)
    w = torch.full([1], 5.0, dtype=torch.float64, requires_grad=True)
    mse = F.mse_loss(torch.ones(1, dtype=torch.float64), x * w)
    (g,) = torch.autograd.grad(mse, [w], create_graph=True)
    (h,) = torch.autograd.grad(g, [w])
    return h.item()


def _f(a: torch.Tensor) -> torch.Tensor:
    return torch.stack([a[0] * a[1], a[1] ** 2, a[0] + a[2]])


def _jvp_column() -> list[float]:
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    u = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    column: list[float] = torch.func.jvp(_f, (a,), (u,))[1].tolist()
    return column


def _batch_gradient() -> float:
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    mse = F.mse_loss(x * w, torch.zeros(3, dtype=torch.float64))
    return torch.autograd.grad(mse, [w])[0].item()


def _passes() -> tuple[int, int]:
    a = torch.ones(1000, dtype=torch.float64)
    jac = torch.func.jacrev(lambda z: torch.stack([z.sum(), (z**2).sum(), z.prod()]))(a)
    return jac.shape[0], jac.shape[1]  # reverse: one pass per row; forward: one pass per column


EXERCISES: list[Exercise] = [
    Exercise(
        id="05.1",
        kind="number",
        expected=_second_derivative,
        right_zh="{answer} = 2x²：二阶导数只看 x，不看 w，也不看目标值。",
        right_en="{answer} = 2x²: the second derivative depends on x only, not on w or the target.",
        hint_zh="先写出一阶导数 ∂mse/∂w = 2x(xw − 1)，它是 w 的一次函数；再对 w 求一次导。",
        hint_en="First write the first derivative ∂mse/∂w = 2x(xw − 1), a linear function of w; differentiate it by w once more.",
        solution_zh="∂mse/∂w = 2x(xw − 1) = 2x²w − 2x，再对 w 求导得 2x² = 2·2² = 8，与 w = 5 无关。",
        solution_en="∂mse/∂w = 2x(xw − 1) = 2x²w − 2x; differentiating by w again gives 2x² = 2·2² = 8, "
        "whatever w is (here 5).",
        code=(
            "# create_graph=True：梯度本身也有计算图 / create_graph=True: the gradient has a graph too\n"
            "x = torch.full([1], 2.)\n"
            "w = torch.full([1], 5.).requires_grad_()\n"
            "mse = F.mse_loss(torch.ones(1), x * w)\n"
            "(g,) = torch.autograd.grad(mse, [w], create_graph=True)  # 2x(xw - 1) = 36\n"
            "answer = torch.autograd.grad(g, [w])[0].item()  # 2x² = 8.0"
        ),
        wrong=(
            (
                36.0,
                "这是一阶导数 2x(xw − 1) = 36；题目问的是再求一次导。",
                "That is the first derivative 2x(xw − 1) = 36; the question asks for one more derivative.",
            ),
            (
                4.0,
                "2x 漏了一个 x：一阶导数 2x²w − 2x 里 w 的系数是 2x²。",
                "2x misses one x: in the first derivative 2x²w − 2x the coefficient of w is 2x².",
            ),
            (
                0.0,
                "加了 create_graph=True，梯度 g 是 w 的函数，它的导数不是 0。",
                "With create_graph=True the gradient g is a function of w, and its derivative is not 0.",
            ),
            (
                18.0,
                "18 = 2·3² 是第 1 节 x = 3 时的二阶导数；这道题里 x = 2。",
                "18 = 2·3² is the second derivative of section 1, where x = 3; in this exercise x = 2.",
            ),
        ),
    ),
    Exercise(
        id="05.2",
        kind="number",
        expected=_jvp_column,
        right_zh="{answer} 是 J 的第 0 列 J e₀：jvp 给出一列，vjp 给出一行。",
        right_en="{answer} is column 0 of J, J e₀: jvp gives a column, vjp gives a row.",
        hint_zh="J = [[a₁, a₀, 0], [0, 2a₁, 0], [1, 0, 1]]。jvp 算的是 J u，u = e₀ 取出的是哪一部分？",
        hint_en="J = [[a₁, a₀, 0], [0, 2a₁, 0], [1, 0, 1]]. jvp computes J u; which part of J does u = e₀ pick?",
        solution_zh="J u = J e₀ 是 J 的第 0 列 (a₁, 0, 1) = (2, 0, 1)；vjp(e₀) 才是第 0 行 (a₁, a₀, 0) = (2, 1, 0)。",
        solution_en="J u = J e₀ is column 0 of J, (a₁, 0, 1) = (2, 0, 1); vjp with e₀ gives row 0, "
        "(a₁, a₀, 0) = (2, 1, 0).",
        code=(
            "def f(a):\n"
            "    return torch.stack([a[0] * a[1], a[1] ** 2, a[0] + a[2]])\n"
            "a = torch.tensor([1., 2., 3.])\n"
            "u = torch.tensor([1., 0., 0.])\n"
            "y, Ju = torch.func.jvp(f, (a,), (u,))\n"
            "answer = Ju  # tensor([2., 0., 1.])"
        ),
        wrong=(
            (
                (2.0, 1.0, 0.0),
                "这是第 0 行 e₀ᵀJ，是 vjp 的结果；jvp 算的是 J u，一列。",
                "That is row 0, e₀ᵀJ, what vjp gives; jvp computes J u, a column.",
            ),
            (
                (2.0, 4.0, 4.0),
                "这是 f(a) 的值；jvp 返回 (f(a), J u)，这里问的是第二个。",
                "That is the value f(a); jvp returns (f(a), J u), and the question asks for the second one.",
            ),
        ),
    ),
    Exercise(
        id="05.3",
        kind="number",
        expected=_batch_gradient,
        right_zh="{answer} = (2 + 8 + 18) / 3：mse 对批次取平均，批次梯度就是逐样本梯度的平均。",
        right_en="{answer} = (2 + 8 + 18) / 3: mse averages over the batch, so the batch gradient is the "
        "mean of the per-sample gradients.",
        hint_zh="每个样本的梯度是 2xᵢ(xᵢw − 0)。F.mse_loss 默认 reduction='mean'：求和之后还要做什么？",
        hint_en="Each sample's gradient is 2xᵢ(xᵢw − 0). F.mse_loss has reduction='mean' by default: "
        "what comes after the sum?",
        solution_zh="逐样本梯度 2xᵢ²w = (2, 8, 18)；mse 是平均，梯度也带着 1/N：(2 + 8 + 18)/3 = 28/3 ≈ 9.333。",
        solution_en="The per-sample gradients 2xᵢ²w are (2, 8, 18); mse is a mean, so its gradient carries "
        "the 1/N: (2 + 8 + 18)/3 = 28/3 ≈ 9.333.",
        code=(
            "x = torch.tensor([1., 2., 3.])\n"
            "w = torch.tensor(1.).requires_grad_()\n"
            "mse = F.mse_loss(x * w, torch.zeros(3))\n"
            "answer = torch.autograd.grad(mse, [w])[0].item()  # 28/3 ≈ 9.333"
        ),
        wrong=(
            (
                28.0,
                "这是逐样本梯度之和；mse 默认求平均，还要乘 1/N = 1/3。",
                "That is the sum of the per-sample gradients; mse takes the mean, so multiply by 1/N = 1/3.",
            ),
            (
                (2.0, 8.0, 18.0),
                "这是 vmap 给出的逐样本梯度；w 只有一个数，它的梯度也只有一个数：它们的平均。",
                "Those are the per-sample gradients vmap gives; w is one number and so is its gradient: their mean.",
            ),
            (
                4.0,
                "2·(1 + 2 + 3)/3 = 4 少乘了一个 xᵢ：每个样本的梯度是 2xᵢ·xᵢw。",
                "2·(1 + 2 + 3)/3 = 4 misses a factor xᵢ: each sample's gradient is 2xᵢ·xᵢw.",
            ),
            (
                44.0 / 3.0,
                "44/3 是第 3.5 节的批次梯度（目标值 1，w = 2）；这里目标值是 0、w = 1，逐样本梯度是 (2, 8, 18)。",
                "44/3 is the batch gradient of section 3.5 (targets 1, w = 2); here the targets are 0 and w = 1, "
                "so the per-sample gradients are (2, 8, 18).",
            ),
        ),
    ),
    Exercise(
        id="05.4",
        kind="number",
        expected=_passes,
        right_zh="{answer}：反向模式每遍得到一行（3 个输出，3 遍），前向模式每遍得到一列（1000 个输入，1000 遍）。",
        right_en="{answer}: reverse mode gets one row per pass (3 outputs, 3 passes), forward mode one column "
        "per pass (1000 inputs, 1000 passes).",
        hint_zh="J 的形状是 [输出个数, 输入个数]。vjp 一次给出 J 的一行，jvp 一次给出 J 的一列。",
        hint_en="J has shape [number of outputs, number of inputs]. One vjp gives a row of J, one jvp a column.",
        solution_zh="J 是 3 × 1000：jacrev 要 3 次 vjp（每行一次），jacfwd 要 1000 次 jvp（每列一次），"
        "所以输入多、输出少时反向模式便宜。",
        solution_en="J is 3 × 1000: jacrev needs 3 vjps (one per row), jacfwd 1000 jvps (one per column), "
        "so reverse mode is cheaper when there are many inputs and few outputs.",
        code=(
            "a = torch.ones(1000)\n"
            "J = torch.func.jacrev(lambda z: torch.stack([z.sum(), (z ** 2).sum(), z.prod()]))(a)\n"
            "answer = (J.shape[0], J.shape[1])  # (rows = vjp passes, columns = jvp passes) = (3, 1000)"
        ),
        wrong=(
            (
                (1000.0, 3.0),
                "反了：反向模式（vjp）每遍得到一行，行数是输出的个数 3。",
                "Swapped: reverse mode (vjp) gets one row per pass, and there are as many rows as outputs, 3.",
            ),
            (
                (1.0, 1.0),
                "jacrev 和 jacfwd 都是一次调用，但里面每行（或每列）各算一遍，只是用 vmap 并在一起了。",
                "jacrev and jacfwd are one call each, but inside they compute one pass per row (or column), "
                "merely batched together with vmap.",
            ),
        ),
    ),
]
