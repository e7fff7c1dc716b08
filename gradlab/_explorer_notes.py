"""The notes under an explorer's numbers: what the gradient says here, and how gradient descent moves.

探索器数值下方的说明：此处的梯度意味着什么，梯度下降如何移动。

Each note is bilingual (Chinese line, then English line), or ``""`` when there
is nothing to add. The static picture shows both lines, the Chinese first.
"""

from __future__ import annotations

from gradlab._explorer_math import DescentNumbers, MseNumbers
from gradlab._format import fixed, short
from gradlab._messages import bilingual

__all__ = ["descent_note", "mse_note"]


def mse_note(n: MseNumbers) -> str:
    """What the gradient says at w, for L(w) = (target − x·w)².

    A minimum w* = target/x exists only when x ≠ 0. w is at it when
    x·w = target, exactly or up to rounding (relative to the sizes of x·w and
    target), not merely when the gradient 2·x·(x·w − target) is small: with
    x near 0 it is small everywhere, far from w*.

    Example:
        >>> from gradlab._explorer_math import mse_numbers
        >>> print(mse_note(mse_numbers(2.0, 0.5, 1.0)).splitlines()[1])
        The gradient is 0: w is exactly at the minimum (x·w = target).
        >>> print(mse_note(mse_numbers(1e-13, 2.0, 1.0)).splitlines()[1])
        The gradient -2e-13 is almost 0, but w is not at the minimum (w* = target/x = 1e+13, \
x·w − target = -1., loss = 1.). x is close to 0: the curve is almost flat, so gradient descent barely moves.
    """
    x, w, target, grad = n["x"], n["w"], n["target"], n["grad"]
    if x == 0:
        return bilingual(
            "x = 0：loss 不依赖 w，所以梯度为 0，改变 w 不会改变 loss。",
            "x = 0: the loss does not depend on w, so the gradient is 0 and changing w changes nothing.",
        )
    residual = x * w - target
    if residual == 0:
        return bilingual(
            "梯度为 0：w 正好在最小值处（x·w = target）。",
            "The gradient is 0: w is exactly at the minimum (x·w = target).",
        )
    if abs(residual) <= 1e-12 * max(abs(x * w), abs(target)):
        return bilingual(
            f"w 在最小值 w* = target/x 处（只差舍入误差：x·w − target = {short(residual)}），梯度几乎为 0。",
            f"w is at the minimum w* = target/x up to rounding (x·w − target = {short(residual)}), "
            "so the gradient is almost 0.",
        )
    if abs(grad) < 5e-5:  # the readout shows it as 0.0000, yet w is not at w*
        where = f"w* = target/x = {short(target / x)}, x·w − target = {short(residual)}, loss = {short(n['loss'])}"
        flat = abs(x) <= abs(residual)  # grad = 2·x·(x·w − target) is small because x is
        return bilingual(
            f"梯度 {short(grad)} 几乎为 0，但 w 不在最小值处（{where}）。"
            + ("x 接近 0：曲线几乎是平的，梯度下降几乎不动。" if flat else "w 离最小值很近。"),
            f"The gradient {short(grad)} is almost 0, but w is not at the minimum ({where}). "
            + (
                "x is close to 0: the curve is almost flat, so gradient descent barely moves."
                if flat
                else "w is close to it."
            ),
        )
    return ""


def descent_note(n: DescentNumbers) -> str:
    """How w moves, read from the factor 1 − 2·lr·x² that multiplies w − w* at each step.

    Example:
        >>> from gradlab._explorer_math import descent_numbers
        >>> print(descent_note(descent_numbers(1.0, -1.0, 1.0, 0.0, 3)).splitlines()[1])
        The learning rate is 0: w never moves.
    """
    factor, x, lr = n["factor"], n["x"], n["lr"]
    if x == 0:
        return bilingual("x = 0：梯度一直是 0，w 不会动。", "x = 0: the gradient is always 0, so w never moves.")
    if lr == 0:
        return bilingual("学习率为 0：w 不会动。", "The learning rate is 0: w never moves.")
    size, boundary = fixed(abs(factor), 2), fixed(1 / (x * x), 2)  # |factor| = 1 at lr = 1/x²
    if abs(abs(factor) - 1) <= 1e-9:
        return bilingual(
            f"学习率正好在边界上（lr = 1/x² = {boundary}）：|1 − 2·lr·x²| = {size}，w 每一步都跳到最小值的另一边、"
            "距离不变：来回振荡，既不收敛也不发散。学习率再大就会发散。",
            f"The learning rate is exactly at the boundary (lr = 1/x² = {boundary}): |1 − 2·lr·x²| = {size}, "
            "so each step jumps to the other side of the minimum at the same distance: w oscillates, "
            "neither converging nor diverging. A larger learning rate diverges.",
        )
    if abs(factor) > 1:
        return bilingual(
            f"学习率太大（超过 1/x² = {boundary}）：|1 − 2·lr·x²| = {size} > 1，每一步都跳过最小值而且越跳越远（发散）。",
            f"The learning rate is too large (above 1/x² = {boundary}): |1 − 2·lr·x²| = {size} > 1, so each step "
            "overshoots the minimum by more (diverges).",
        )
    if factor < 0:
        return bilingual("w 在最小值两边来回跳，但会收敛。", "w jumps from side to side of the minimum, but converges.")
    return ""
