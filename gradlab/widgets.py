"""Slider explorers: move a slider, see the loss, the gradient and the plots change at once.

滑块探索器：拖动滑块，立刻看到损失、梯度和图像的变化。

Three explorers, each an ``ipywidgets.VBox`` you display in JupyterLab:

- :func:`mse_explorer`: the loss curve L(w) = (target − x·w)², the point at
  ``w`` and the tangent whose slope is ``torch.autograd.grad(L, [w])``, next
  to the hand formula 2·x·(x·w − target).
- :func:`softmax_explorer`: a slider per logit, the probabilities p as bars
  and the Jacobian dp/da as a heatmap; choose i to highlight row i, which is
  what ``torch.autograd.grad(p[i], [a], retain_graph=True)`` returns.
- :func:`descent_explorer`: gradient descent on ``w`` with ``backward()`` and
  ``w.grad.zero_()``; the path on the loss curve and the ``.grad`` of each step.

Why it is fast: each step recomputes the numbers with torch (float64, about a
millisecond) and replaces two ``ipywidgets.HTML`` values with a hand-written
SVG picture and a readout; there is no matplotlib figure to render. A step
takes a few milliseconds in the kernel (``bench/bench_widgets.py``).

Every explorer has ``.sliders`` (name → slider; set ``.value`` to drive it
from Python) and ``.state`` (the current numbers, a dict). The readout marks
each number with ``<span class="gradlab-value" data-name="...">`` so tests can
find it in the page. Displayed outside a live widget frontend (a notebook
executed headless and viewed on GitHub or nbviewer), an explorer shows a
static SVG picture of its current state instead.

Numbers: ``_explorer_math``; the notes under them: ``_explorer_notes``;
pictures: ``_explorer_pictures`` and ``_plot``; argument checks: ``_checks``; the
display (live widget plus static picture, on ipywidgets 7.7 and 8): ``_widget_box``.
Here: the sliders and the readouts.

This module imports ipywidgets; ``import gradlab`` does not import it.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import ipywidgets as widgets

from gradlab._checks import as_logits, as_number, as_steps
from gradlab._explorer_math import (
    DescentNumbers,
    MseNumbers,
    SoftmaxNumbers,
    descent_numbers,
    mse_numbers,
    softmax_numbers,
)
from gradlab._explorer_notes import descent_note, mse_note
from gradlab._explorer_pictures import DESCENT_SIZE, MSE_SIZE, draw_descent, draw_mse, draw_softmax, softmax_size
from gradlab._format import fixed, plain
from gradlab._messages import bilingual
from gradlab._style import EXPLORER
from gradlab._svg import Svg, text_width, wrap
from gradlab._widget_box import PictureBox
from gradlab.stepper import BackwardStepper, StepperState, backward_stepper

__all__ = [
    "BackwardStepper",
    "DescentExplorer",
    "MseExplorer",
    "SoftmaxExplorer",
    "StepperState",
    "backward_stepper",
    "descent_explorer",
    "mse_explorer",
    "softmax_explorer",
]

# Slider ranges: values outside are clamped by the slider.
W_RANGE = (-4.0, 4.0, 0.05)
X_RANGE = (-3.0, 3.0, 0.1)
TARGET_RANGE = (-3.0, 3.0, 0.1)
LOGIT_RANGE = (-10.0, 10.0, 0.1)
LR_RANGE = (0.0, 1.2, 0.01)
STEPS_RANGE = (0, 30, 1)
MIN_CLASSES, MAX_CLASSES = 2, 8

_LABEL_STYLE = {"description_width": "150px"}
_SLIDER_LAYOUT = {"width": "460px"}


class MseState(MseNumbers):
    """``mse_explorer().state``: the numbers, whether autograd and the hand formula agree, and a note."""

    agree: bool
    note: str


class DescentState(DescentNumbers):
    """``descent_explorer().state``: the numbers and a note on how w moves."""

    note: str


SoftmaxState = SoftmaxNumbers  # ``softmax_explorer().state``
State = TypeVar("State", MseState, SoftmaxState, DescentState)


# --- text and pictures -------------------------------------------------------------


def _span(name: str, value: float, decimals: int = 4) -> str:
    return f'<span class="gradlab-value" data-name="{name}">{fixed(value, decimals)}</span>'


def _text_lines(s: Svg, x: float, y: float, lines: list[str], size: float = 12, gap: float = 18) -> None:
    for k, line in enumerate(lines):
        s.text(x, y + k * gap, line, size=size)


# --- the explorers ------------------------------------------------------------------


def _mark(slider: widgets.ValueWidget, name: str) -> widgets.ValueWidget:
    """Give ``slider`` the classes the browser test finds it by: ``gradlab-slider-<name>``."""
    slider.add_class("gradlab-slider")
    slider.add_class(f"gradlab-slider-{name}")
    return slider


def _float_slider(name: str, description: str, value: float, bounds: tuple[float, float, float]) -> widgets.FloatSlider:
    """A slider from ``lo`` to ``hi`` that keeps ``value`` (clamped) exactly, marked with ``name``.

    In the browser the slider snaps its value to the grid min + k·step and,
    with ``continuous_update``, sends the snapped value back to the kernel as
    soon as it is shown: the logit 0.7728 would silently become 0.8. So when
    the value is off the grid, the range is shifted by less than half a step
    to put it on the grid, and the readout shows 4 decimals instead of 2.
    """
    lo, hi, step = bounds
    value = min(max(value, lo), hi)
    offset = value - (lo + round((value - lo) / step) * step)
    if abs(offset) > 1e-9 * step:
        lo, hi = lo + offset, hi + offset
    slider = widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        readout_format=".2f" if round(value, 2) == value else ".4f",
        continuous_update=True,
        style=_LABEL_STYLE,
        layout=_SLIDER_LAYOUT,
    )
    return _mark(slider, name)


class _Explorer(PictureBox, Generic[State]):
    """Sliders on top; below them an SVG picture and a readout, both ``ipywidgets.HTML``."""

    kind = ""
    state: State

    def __init__(self, sliders: dict[str, widgets.ValueWidget], extra: list[widgets.Widget] | None = None) -> None:
        self.sliders: dict[str, widgets.ValueWidget] = sliders
        self._plot = widgets.HTML(layout={"width": "auto"})
        self._readout = widgets.HTML(layout={"width": "auto", "min_width": "300px"})
        controls: list[widgets.Widget] = [*sliders.values(), *(extra or [])]
        output = widgets.HBox(
            [self._plot, self._readout], layout={"flex_flow": "row wrap", "align_items": "flex-start"}
        )
        super().__init__([*controls, output])
        self.add_class("gradlab-explorer")
        self.add_class(f"gradlab-{self.kind}")
        for slider in sliders.values():
            slider.observe(self._on_change, names="value")
        self.refresh()

    def _on_change(self, change: dict[str, object]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``state`` from the controls and redraw the picture and readout."""
        self.state = self._compute()
        self._plot.value = self.svg()
        self._readout.value = self._readout_html()

    @property
    def values(self) -> dict[str, float]:
        """The sliders' current values."""
        return {name: slider.value for name, slider in self.sliders.items()}

    # Subclasses fill these in.
    def _compute(self) -> State:
        raise NotImplementedError

    def svg(self) -> str:
        """The live picture; its words are "中文 / English"."""
        raise NotImplementedError

    def _readout_html(self) -> str:
        raise NotImplementedError

    def static_svg(self) -> str:
        """The picture plus the readout as one SVG, for viewers without a widget frontend."""
        raise NotImplementedError


class MseExplorer(_Explorer[MseState]):
    """The explorer :func:`mse_explorer` returns."""

    kind = "mse"

    def __init__(self, x: float = 1.0, w: float = 2.0, target: float = 1.0) -> None:
        x, w, target = as_number(x, "x"), as_number(w, "w"), as_number(target, "target")
        super().__init__(
            {
                "w": _float_slider("w", EXPLORER["w"], w, W_RANGE),
                "x": _float_slider("x", "输入 x / input x", x, X_RANGE),
                "target": _float_slider("target", "目标 / target", target, TARGET_RANGE),
            }
        )

    def _compute(self) -> MseState:
        v = self.values
        n = mse_numbers(v["x"], v["w"], v["target"])
        agree = abs(n["grad"] - n["grad_formula"]) <= 1e-9 * (1 + abs(n["grad_formula"]))
        note = mse_note(n)
        return MseState(**n, agree=agree, note=note)

    def svg(self) -> str:
        s = Svg(*MSE_SIZE)
        draw_mse(s, self.state)
        return str(s)

    def _readout_html(self) -> str:
        st = self.state
        note = st["note"].replace("\n", "<br>")
        return (
            '<div class="gradlab-readout" data-explorer="mse" style="font-family: monospace; line-height: 1.7">'
            f"<div>x = {_span('x', st['x'])}, w = {_span('w', st['w'])}, target = {_span('target', st['target'])}</div>"
            f"<div>损失 / loss L = (target − x·w)² = {_span('loss', st['loss'])}</div>"
            f"<div>autograd.grad(L, [w]) = {_span('grad', st['grad'])}</div>"
            f"<div>手算 / by hand 2·x·(x·w − target) = {_span('grad_formula', st['grad_formula'])}</div>"
            f"<div>{'✓ 一致 / they agree' if st['agree'] else '✗ 不一致 / they differ'}</div>"
            f'<div class="gradlab-note" data-name="note" style="max-width: 420px; color: #a33">{note}</div>'
            "</div>"
        )

    def static_svg(self) -> str:
        st = self.state
        lines = [
            f"x = {fixed(st['x'])}   w = {fixed(st['w'])}   target = {fixed(st['target'])}",
            f"{EXPLORER['loss']} = {fixed(st['loss'])}",
            f"autograd.grad(L, [w]) = {fixed(st['grad'])}",
            f"{EXPLORER['by_hand']} = {fixed(st['grad_formula'])}",
        ]
        width = max(720, max(text_width(line, 11) for line in lines) + MSE_SIZE[0] + 10)
        for line in st["note"].splitlines():  # the note in full: its Chinese line, then its English line
            lines += wrap(line, width - MSE_SIZE[0] - 10, 11)
        s = Svg(width, max(MSE_SIZE[1], 60 + 18 * len(lines)))
        draw_mse(s, self.state)
        _text_lines(s, MSE_SIZE[0], 60, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            f"mse_explorer(x={fixed(st['x'], 2)}, w={fixed(st['w'], 2)}, target={fixed(st['target'], 2)}): "
            f"损失 / loss = {fixed(st['loss'])}, autograd.grad = {fixed(st['grad'])}, "
            f"手算 / by hand = {fixed(st['grad_formula'])}"
        )


class SoftmaxExplorer(_Explorer[SoftmaxState]):
    """The explorer :func:`softmax_explorer` returns."""

    kind = "softmax"

    def __init__(self, logits: object = (0.7728, 0.4713, 0.9653)) -> None:
        values = as_logits(logits, MIN_CLASSES, MAX_CLASSES)
        self.n = len(values)
        self.chooser = widgets.ToggleButtons(
            options=[(f"i = {k}", k) for k in range(self.n)],
            value=0,
            description="行 i / row i",
            style={"description_width": "150px", "button_width": "56px"},
        )
        self.chooser.add_class("gradlab-chooser")
        self.chooser.observe(self._on_change, names="value")
        sliders = {
            f"a{k}": _float_slider(f"a{k}", f"分数 a{k} / logit a{k}", v, LOGIT_RANGE) for k, v in enumerate(values)
        }
        super().__init__(sliders, [self.chooser])

    def _compute(self) -> SoftmaxState:
        return softmax_numbers([self.sliders[f"a{k}"].value for k in range(self.n)], self.chooser.value)

    def svg(self) -> str:
        s = Svg(*softmax_size(self.n))
        draw_softmax(s, self.state)
        return str(s)

    def _readout_html(self) -> str:
        st = self.state
        i = st["i"]
        p = ", ".join(_span(f"p{k}", v) for k, v in enumerate(st["p"]))
        row = ", ".join(_span(f"row{k}", v) for k, v in enumerate(st["row"]))
        return (
            '<div class="gradlab-readout" data-explorer="softmax" style="font-family: monospace; line-height: 1.7">'
            f"<div>概率 / p = softmax(a, dim=0) = [{p}]</div>"
            f"<div>sum(p) = {_span('sum_p', st['sum_p'])}</div>"
            f'<div>雅可比矩阵下标 i=<span class="gradlab-value" data-name="i">{i}</span> 的行 / '
            f"row i={i} of the Jacobian:</div>"
            f"<div>autograd.grad(p[{i}], [a], retain_graph=True) = [{row}]</div>"
            f"<div>行和 / row sum = {_span('row_sum', st['row_sum'])}</div>"
            '<div class="gradlab-note" style="max-width: 520px; color: #555; line-height: 1.4">'
            "每一行的和为 0：给所有 a 加同一个常数，softmax 不变。每一列的和为 0：p 的和恒为 1。"
            "J 是对称的，所以两者都成立，但原因不同。<br>"
            "Each row sums to 0 because softmax is unchanged when the same constant is added to every a; "
            "each column sums to 0 because p always sums to 1. J is symmetric, so both hold, "
            "but for different reasons.</div>"
            "</div>"
        )

    def static_svg(self) -> str:
        st = self.state
        width, height = softmax_size(self.n)
        lines = [
            f"{EXPLORER['p']} = [" + ", ".join(fixed(v) for v in st["p"]) + "]",
            f"autograd.grad(p[{st['i']}], [a]) = [" + ", ".join(fixed(v) for v in st["row"]) + "]",
        ]
        s = Svg(max(width, max(text_width(line, 11) for line in lines) + 20), height + 50)
        draw_softmax(s, self.state)
        _text_lines(s, 10, height + 10, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            "softmax_explorer(logits=(" + ", ".join(fixed(v, 2) for v in st["logits"]) + ")): "
            f"{EXPLORER['p']} = [" + ", ".join(fixed(v) for v in st["p"]) + "]"
        )


class DescentExplorer(_Explorer[DescentState]):
    """The explorer :func:`descent_explorer` returns."""

    kind = "descent"

    def __init__(self, x: float = 1.0, w: float = -1.0, target: float = 1.0, lr: float = 0.1, steps: int = 10) -> None:
        x, w, target, lr = as_number(x, "x"), as_number(w, "w"), as_number(target, "target"), as_number(lr, "lr")
        if lr < 0:
            raise ValueError(
                bilingual(
                    f"学习率 lr 不能是负数（收到 {plain(lr)}）：负的学习率让 w 沿梯度方向走、loss 变大（梯度上升），"
                    "这个探索器演示的是梯度下降。",
                    f"The learning rate lr cannot be negative (got {plain(lr)}): a negative lr moves w along "
                    "the gradient, so the loss grows (gradient ascent); this explorer shows gradient descent.",
                    todo_zh="传入 0 到 1.2 之间的 lr，例如 lr=0.1。",
                    todo_en="Pass an lr from 0 to 1.2, e.g. lr=0.1.",
                )
            )
        lo, hi, _ = STEPS_RANGE
        steps_slider = widgets.IntSlider(
            value=min(max(as_steps(steps), lo), hi),
            min=lo,
            max=hi,
            description="步数 / steps",
            continuous_update=True,
            style=_LABEL_STYLE,
            layout=_SLIDER_LAYOUT,
        )
        super().__init__(
            {
                "w": _float_slider("w", "起点 w₀ / start w₀", w, W_RANGE),
                "lr": _float_slider("lr", "学习率 / learning rate", lr, LR_RANGE),
                "steps": _mark(steps_slider, "steps"),
                "x": _float_slider("x", "输入 x / input x", x, X_RANGE),
                "target": _float_slider("target", "目标 / target", target, TARGET_RANGE),
            }
        )

    def _compute(self) -> DescentState:
        v = self.values
        n = descent_numbers(v["x"], v["w"], v["target"], v["lr"], int(v["steps"]))
        return DescentState(**n, note=descent_note(n))

    def svg(self) -> str:
        s = Svg(*DESCENT_SIZE)
        draw_descent(s, self.state)
        return str(s)

    def _readout_html(self) -> str:
        st = self.state
        rows = []
        for k, (w, loss) in enumerate(zip(st["path"], st["losses"], strict=True)):
            grad = _span(f"grad{k}", st["grads"][k]) if k < len(st["grads"]) else ""
            rows.append(
                f"<tr><td>{k}</td><td>{_span(f'w{k}', w)}</td><td>{_span(f'loss{k}', loss)}</td><td>{grad}</td></tr>"
            )
        note = st["note"].replace("\n", "<br>")
        return (
            '<div class="gradlab-readout" data-explorer="descent" style="font-family: monospace; line-height: 1.5">'
            f"<div>最终 / final w = {_span('w_final', st['w_final'])}, "
            f"损失 / loss = {_span('loss_final', st['loss_final'])}</div>"
            f'<div class="gradlab-note" data-name="note" style="max-width: 520px; color: #a33">{note}</div>'
            '<pre style="margin: 4px 0">for step in range(steps):\n'
            "    loss = (target - x * w) ** 2\n"
            "    loss.backward()        # w.grad = dL/dw\n"
            "    with torch.no_grad():\n"
            "        w -= lr * w.grad\n"
            "    w.grad.zero_()         # 清零 / zero it, or the next backward() adds to it</pre>"
            "<style>.gradlab-steps td, .gradlab-steps th {padding: 0 0.7em; text-align: right}</style>"
            '<div style="max-height: 200px; overflow-y: auto"><table class="gradlab-steps">'
            f"<tr><th>{EXPLORER['step']}</th><th>w</th><th>损失 / loss</th><th>w.grad</th></tr>"
            + "".join(rows)
            + "</table></div></div>"
        )

    def static_svg(self) -> str:
        st = self.state
        summary = (
            f"x = {fixed(st['x'], 2)}, target = {fixed(st['target'], 2)}, lr = {fixed(st['lr'], 2)}, steps = {st['steps']}: "
            f"w {fixed(st['path'][0])} -> {fixed(st['w_final'])}, "
            f"损失 / loss {fixed(st['losses'][0])} -> {fixed(st['loss_final'])}"
        )
        width = max(DESCENT_SIZE[0], text_width(summary, 11) + 20)
        lines = [summary]
        for line in st["note"].splitlines():  # the note in full, under the numbers: Chinese line, then English
            lines += wrap(line, width - 20, 11)
        s = Svg(width, DESCENT_SIZE[1] + 22 + 18 * len(lines))
        draw_descent(s, self.state)
        _text_lines(s, 10, DESCENT_SIZE[1] + 20, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            f"descent_explorer(x={fixed(st['x'], 2)}, w={fixed(st['path'][0], 2)}, target={fixed(st['target'], 2)}, "
            f"lr={fixed(st['lr'], 2)}, steps={st['steps']}): 最终 / final w = {fixed(st['w_final'])}, "
            f"损失 / loss = {fixed(st['loss_final'])}"
        )


# --- public constructors --------------------------------------------------------------


def mse_explorer(x: float = 1.0, w: float = 2.0, target: float = 1.0) -> MseExplorer:
    """Explore L(w) = (target − x·w)² and its gradient with sliders for ``w``, ``x`` and ``target``.

    Shows the loss curve, the point at ``w`` and the tangent whose slope is
    ``torch.autograd.grad(L, [w])``, with the loss, the autograd gradient and
    the hand formula 2·x·(x·w − target) as live text.

    Args:
        x: the input (slider range -3 to 3; values outside are clamped).
        w: the weight (slider range -4 to 4).
        target: the target (slider range -3 to 3).

    Returns:
        An :class:`MseExplorer` widget: ``.sliders`` has ``"w"``, ``"x"``,
        ``"target"``; ``.state`` has ``x``, ``w``, ``target``, ``loss``,
        ``grad`` (autograd), ``grad_formula``, ``agree`` and ``note``.

    Example:
        >>> explorer = mse_explorer(x=1.0, w=2.0, target=1.0)
        >>> explorer.state["loss"], explorer.state["grad"], explorer.state["grad_formula"]
        (1.0, 2.0, 2.0)
        >>> explorer.sliders["w"].value = 3.0
        >>> explorer.state["grad"]
        4.0
    """
    return MseExplorer(x=x, w=w, target=target)


def softmax_explorer(logits: object = (0.7728, 0.4713, 0.9653)) -> SoftmaxExplorer:
    """Explore p = softmax(a) and its Jacobian with a slider per logit (2 to 8 classes).

    Shows p as bars and the Jacobian J[i, j] = ∂p_i/∂a_j as a heatmap with
    its numbers, computed row by row with
    ``torch.autograd.grad(p[i], [a], retain_graph=True)``. The chooser
    ``.chooser`` selects i and highlights row i.

    Args:
        logits: 2 to 8 numbers (or a 1-D tensor); the slider range is -10
            to 10 and values outside are clamped. softmax is computed stably.

    Returns:
        A :class:`SoftmaxExplorer` widget: ``.sliders`` has ``"a0"``,
        ``"a1"``, ...; ``.state`` has ``logits``, ``p``, ``sum_p``, ``i``,
        ``jacobian``, ``jacobian_formula`` (diag(p) − p pᵀ), ``row`` (row i)
        and ``row_sum``.

    Example:
        >>> explorer = softmax_explorer()
        >>> [round(v, 4) for v in explorer.state["p"]]
        [0.3388, 0.2506, 0.4107]
    """
    return SoftmaxExplorer(logits=logits)


def descent_explorer(
    x: float = 1.0, w: float = -1.0, target: float = 1.0, lr: float = 0.1, steps: int = 10
) -> DescentExplorer:
    """Explore gradient descent on w for L(w) = (target − x·w)².

    Each step is what a training loop does: ``loss.backward()`` fills
    ``w.grad``, ``w -= lr * w.grad`` (under ``torch.no_grad()``), then
    ``w.grad.zero_()``. Shows the path on the loss curve and the ``.grad``
    of each step.

    Args:
        x: the input (slider range -3 to 3).
        w: the starting weight (slider range -4 to 4).
        target: the target (slider range -3 to 3).
        lr: the learning rate (slider range 0 to 1.2; above 1.2 is clamped, a
            negative lr, gradient ascent, raises a bilingual ``ValueError``).
        steps: how many steps (slider range 0 to 30).

    Returns:
        A :class:`DescentExplorer` widget: ``.sliders`` has ``"w"``, ``"lr"``,
        ``"steps"``, ``"x"``, ``"target"``; ``.state`` has those values and
        ``path`` (w before each step and at the end), ``losses``, ``grads``
        (``w.grad`` of each step), ``w_final``, ``loss_final``, ``factor``
        (1 − 2·lr·x²) and ``note``.

    Example:
        >>> explorer = descent_explorer(steps=1)
        >>> explorer.state["grads"], explorer.state["w_final"]
        ([-4.0], -0.6)
    """
    return DescentExplorer(x=x, w=w, target=target, lr=lr, steps=steps)
