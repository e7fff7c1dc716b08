"""The explorers' pictures, drawn from their numbers through a painter (no widgets).

探索器的图：由数值画出（不含控件）。

Their words are "中文 / English" (:data:`gradlab._style.EXPLORER`): the SVG shows
both; matplotlib (:class:`gradlab._paint.MplPainter`) shows both with a CJK font,
else the English.
"""

from __future__ import annotations

from gradlab._explorer_math import DescentNumbers, MseNumbers, SoftmaxNumbers
from gradlab._format import fixed
from gradlab._paint import Painter
from gradlab._plot import Axes
from gradlab._style import EXPLORER
from gradlab._svg import text_width

__all__ = ["DESCENT_SIZE", "MSE_SIZE", "draw_descent", "draw_mse", "draw_softmax", "softmax_size"]

W_LIMITS = (-4.0, 4.0)  # the w slider's range: the loss curve is drawn over it
MSE_SIZE = (430.0, 290.0)  # width, height of draw_mse's picture
DESCENT_SIZE = (720.0, 290.0)  # width, height of draw_descent's picture

# Colours (colour-blind safe, Okabe-Ito).
BLUE, ORANGE, RED, GREEN, GREY = "#0072B2", "#E69F00", "#D55E00", "#009E73", "#888888"

Box = tuple[float, float, float, float]  # left, top, width, height


def loss_curve_axes(s: Painter, box: Box, x: float, target: float) -> Axes:
    """Axes for L(w) = (target − x·w)² over the w slider's range, with the curve drawn (and clipped)."""
    lo, hi = W_LIMITS
    top = max((target - x * lo) ** 2, (target - x * hi) ** 2, 1.0)
    ax = Axes(s, box, (lo, hi), (0.0, top * 1.08))
    ax.frame(EXPLORER["w"], EXPLORER["loss"])
    ax.curve(lambda w: (target - x * w) ** 2, stroke=BLUE, stroke_width=2)
    return ax


def draw_mse(s: Painter, st: MseNumbers, left: float = 0, top: float = 0) -> None:
    """The loss curve, the point at w and the tangent whose slope is the gradient.

    Example:
        >>> from gradlab._explorer_math import mse_numbers
        >>> from gradlab._svg import Svg
        >>> s = Svg(430, 290)
        >>> draw_mse(s, mse_numbers(1.0, 2.0, 1.0))
        >>> "clipPath" in str(s)
        True
    """
    x, w, target, loss, grad = st["x"], st["w"], st["target"], st["loss"], st["grad"]
    ax = loss_curve_axes(s, (left + 50, top + 40, 360, 210), x, target)
    ax.segment(w - 1.2, loss - 1.2 * grad, w + 1.2, loss + 1.2 * grad, stroke=ORANGE, stroke_width=2)
    ax.segment(w, 0, w, loss, stroke=GREY, stroke_dasharray="3 3")
    if ax.inside(w, loss):
        s.circle(ax.px(w), ax.py(loss), 5, fill=RED, stroke="white")
    s.text(left + 50, top + 12, f"w = {fixed(w, 2)}   L = {fixed(loss)}   {EXPLORER['slope']} = {fixed(grad)}", size=11)


def _softmax_bars(s: Painter, st: SoftmaxNumbers, box: Box) -> None:
    """p as bars, bar i in orange, with their values."""
    p, i = st["p"], st["i"]
    n = len(p)
    ax = Axes(s, box, (0, n), (0.0, 1.0))
    s.rect(box[0], box[1], box[2], box[3], fill="white", stroke="#444")
    ax.y_ticks([0, 0.25, 0.5, 0.75, 1.0], marks=False)
    for k in range(n):
        x0 = ax.px(k + 0.15)
        s.rect(x0, ax.py(p[k]), ax.px(k + 0.85) - x0, ax.py(0) - ax.py(p[k]), fill=ORANGE if k == i else BLUE)
        s.text(ax.px(k + 0.5), ax.py(p[k]) - 4, fixed(p[k], 3), size=9, anchor="middle")
        s.text(ax.px(k + 0.5), ax.py(0) + 14, f"p{k}", size=10, anchor="middle")


def _heat_colour(value: float, biggest: float) -> tuple[str, float]:
    """The cell colour (white to blue for ≥ 0, white to orange for < 0) and its strength 0..1."""
    strength = min(abs(value) / biggest, 1.0)
    rgb = (0, 114, 178) if value >= 0 else (213, 94, 0)
    mixed = tuple(round(255 + (ch - 255) * strength) for ch in rgb)
    return "#{:02x}{:02x}{:02x}".format(*mixed), strength


def _softmax_heatmap(s: Painter, jac: list[list[float]], i: int, hx: float, hy: float, cell: float) -> None:
    """The Jacobian as coloured cells with their numbers, row i framed."""
    n = len(jac)
    biggest = max(abs(v) for row in jac for v in row) or 1.0
    font = min(11.0, cell * 0.85 / (6 * 0.6))
    for r in range(n):
        for c in range(n):
            colour, strength = _heat_colour(jac[r][c], biggest)
            s.rect(hx + c * cell, hy + r * cell, cell, cell, fill=colour, stroke="white")
            s.text(
                hx + (c + 0.5) * cell,
                hy + (r + 0.5) * cell + font * 0.35,
                fixed(jac[r][c], 3),
                size=font,
                anchor="middle",
                fill="white" if strength > 0.6 else "black",
            )
    for k in range(n):
        s.text(hx - 4, hy + (k + 0.5) * cell + 3.5, f"i={k}", size=10, anchor="end")
        s.text(hx + (k + 0.5) * cell, hy + n * cell + 13, f"j={k}", size=10, anchor="middle")
    s.rect(hx - 1.5, hy + i * cell - 1.5, n * cell + 3, cell + 3, fill="none", stroke="#222", stroke_width=3)


def _cell(n: int) -> float:
    return min(54.0, 320.0 / n)


def _heat_left(n: int) -> float:
    """Where the heatmap starts: right of the bars and of their title."""
    return 42 + max(36 * n + 60, text_width(EXPLORER["p"], 11) + 24)


def softmax_size(n: int) -> tuple[float, float]:
    """Width and height of the softmax picture for ``n`` classes."""
    right = _heat_left(n) + max(
        n * _cell(n),
        text_width(EXPLORER["jacobian"], 11),
        text_width(EXPLORER["row"].format(i=n - 1), 11),
    )
    return right + 10, max(260.0, 30 + n * _cell(n) + 40)


def draw_softmax(s: Painter, st: SoftmaxNumbers, left: float = 0, top: float = 0) -> None:
    """p as bars and the Jacobian as a heatmap with row i framed."""
    n, i = len(st["p"]), st["i"]
    bar_box = (left + 42, top + 30, 36 * n, 200)
    _softmax_bars(s, st, bar_box)
    s.text(bar_box[0], top + 14, EXPLORER["p"], size=11)
    cell = _cell(n)
    hx, hy = left + _heat_left(n), top + 30
    _softmax_heatmap(s, st["jacobian"], i, hx, hy, cell)
    s.text(hx, top + 14, EXPLORER["jacobian"], size=11)
    s.text(hx, hy + n * cell + 30, EXPLORER["row"].format(i=i), size=11)


def _descent_path(s: Painter, st: DescentNumbers, left: float, top: float) -> None:
    """The loss curve with the path of w: a dot per step, numbered for the first few and the last."""
    path, losses = st["path"], st["losses"]
    ax = loss_curve_axes(s, (left + 50, top + 40, 340, 210), st["x"], st["target"])
    for k in range(len(path) - 1):
        ax.segment(path[k], losses[k], path[k + 1], losses[k + 1], stroke=ORANGE, stroke_width=1.5)
    for k, (w, loss) in enumerate(zip(path, losses, strict=True)):
        if ax.inside(w, loss):
            last = k == len(path) - 1
            s.circle(ax.px(w), ax.py(loss), 5 if last or k == 0 else 3.5, fill=RED if last else ORANGE, stroke="white")
            if k < 4 or last:
                s.text(ax.px(w) + 6, ax.py(loss) - 6, str(k), size=9)
    s.text(left + 50, top + 12, f"w: {fixed(path[0], 2)} -> {fixed(path[-1])}   L = {fixed(losses[-1])}", size=11)


def _descent_grads(s: Painter, grads: list[float], box: Box) -> None:
    """``w.grad`` of each step as a bar; when every gradient is 0 (x = 0) the axis spans ±1."""
    biggest = max([abs(g) for g in grads], default=0.0) or 1 / 1.1
    gax = Axes(s, box, (-0.5, max(len(grads), 1) - 0.5), (-biggest * 1.1, biggest * 1.1))
    gax.frame(EXPLORER["step"], EXPLORER["grads"], integer_x=True)
    s.line(box[0], gax.py(0), box[0] + box[2], gax.py(0), stroke="#444")
    width = min(14.0, box[2] / max(len(grads), 1) * 0.7)
    for k, g in enumerate(grads):
        y0, y1 = gax.py(0), gax.py(g)
        s.rect(gax.px(k) - width / 2, min(y0, y1), width, abs(y1 - y0), fill=GREEN)


def draw_descent(s: Painter, st: DescentNumbers, left: float = 0, top: float = 0) -> None:
    """The path of w on the loss curve, and the ``w.grad`` of each step."""
    _descent_path(s, st, left, top)
    _descent_grads(s, st["grads"], (left + 450, top + 40, 200, 210))
