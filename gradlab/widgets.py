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

This module imports ipywidgets; ``import gradlab`` does not import it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

import ipywidgets as widgets
import torch

from gradlab._format import fixed
from gradlab._messages import bilingual
from gradlab._svg import Svg, text_width
from gradlab.functional import softmax
from gradlab.jacobians import softmax_jacobian

__all__ = [
    "DescentExplorer",
    "MseExplorer",
    "SoftmaxExplorer",
    "descent_explorer",
    "mse_explorer",
    "softmax_explorer",
]

DTYPE = torch.float64  # the explorers compute in float64, so autograd and the hand formula agree to ~1e-15

# Slider ranges: values outside are clamped by the slider.
W_RANGE = (-4.0, 4.0, 0.05)
X_RANGE = (-3.0, 3.0, 0.1)
TARGET_RANGE = (-3.0, 3.0, 0.1)
LOGIT_RANGE = (-10.0, 10.0, 0.1)
LR_RANGE = (0.0, 1.2, 0.01)
STEPS_RANGE = (0, 30, 1)
MIN_CLASSES, MAX_CLASSES = 2, 8

# Colours (colour-blind safe, Okabe-Ito).
BLUE, ORANGE, RED, GREEN, GREY = "#0072B2", "#E69F00", "#D55E00", "#009E73", "#888888"
_LABEL_STYLE = {"description_width": "150px"}
_SLIDER_LAYOUT = {"width": "460px"}


# --- checking arguments ------------------------------------------------------


def _number(value: object, name: str) -> float:
    """``value`` as a finite float, or a bilingual TypeError/ValueError naming ``name``."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(
                bilingual(
                    f"{name} 应该是一个数字，但收到的是有 {value.numel()} 个元素的张量。",
                    f"{name} must be a single number, not a tensor with {value.numel()} elements.",
                    todo_zh=f"传入一个数字，例如 {name}=1.0，或单个元素 t[0].item()。",
                    todo_en=f"Pass one number, e.g. {name}=1.0, or one element such as t[0].item().",
                )
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            bilingual(
                f"{name} 应该是一个数字，但收到的是 {type(value).__name__}（{value!r}）。",
                f"{name} must be a number, not {type(value).__name__} ({value!r}).",
                todo_zh=f"传入一个数字，例如 {name}=1.0（不要加引号）。",
                todo_en=f"Pass a number, e.g. {name}=1.0 (without quotes).",
            )
        )
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(
            bilingual(
                f"{name} 必须是有限的数字，但收到的是 {result}。",
                f"{name} must be a finite number, not {result}.",
                todo_zh="传入一个普通的数字；超出滑块范围的值会被截断到边界。",
                todo_en="Pass an ordinary number; values outside the slider's range are clamped to its ends.",
            )
        )
    return result


def _logits(logits: object) -> list[float]:
    """``logits`` as 2 to 8 floats, or a bilingual TypeError/ValueError."""
    if isinstance(logits, torch.Tensor):
        if logits.dim() != 1:
            raise ValueError(
                bilingual(
                    f"logits 应该是一维的（每个类别一个数），但张量的形状是 {tuple(logits.shape)}。",
                    f"logits must be 1-D (one number per class), but the tensor has shape {tuple(logits.shape)}.",
                    todo_zh="传入一个向量，例如 torch.tensor([0.77, 0.47, 0.97])；一批数据请取其中一行 a[0]。",
                    todo_en="Pass a vector, e.g. torch.tensor([0.77, 0.47, 0.97]); for a batch take one row, a[0].",
                )
            )
        logits = logits.detach().tolist()
    if isinstance(logits, (str, bytes)) or not isinstance(logits, Iterable):
        raise TypeError(
            bilingual(
                f"logits 应该是一串数字（每个类别一个），但收到的是 {type(logits).__name__}（{logits!r}）。",
                f"logits must be a sequence of numbers (one per class), not {type(logits).__name__} ({logits!r}).",
                todo_zh="例如 softmax_explorer(logits=(0.77, 0.47, 0.97))。",
                todo_en="For example softmax_explorer(logits=(0.77, 0.47, 0.97)).",
            )
        )
    values = [_number(v, f"logits[{k}]") for k, v in enumerate(logits)]
    if not MIN_CLASSES <= len(values) <= MAX_CLASSES:
        raise ValueError(
            bilingual(
                f"softmax_explorer 需要 {MIN_CLASSES} 到 {MAX_CLASSES} 个类别，但收到了 {len(values)} 个 logits。",
                f"softmax_explorer needs {MIN_CLASSES} to {MAX_CLASSES} classes, but got {len(values)} logits.",
                todo_zh=f"传入 {MIN_CLASSES} 到 {MAX_CLASSES} 个数，例如 logits=(0.77, 0.47, 0.97)。",
                todo_en=f"Pass {MIN_CLASSES} to {MAX_CLASSES} numbers, e.g. logits=(0.77, 0.47, 0.97).",
            )
        )
    return values


def _steps(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        number = _number(value, "steps")  # a clear error for strings etc.
        if number != int(number):
            raise TypeError(
                bilingual(
                    f"steps 应该是整数（要走多少步），但收到的是 {value!r}。",
                    f"steps must be a whole number (how many steps to take), not {value!r}.",
                    todo_zh="例如 steps=10。",
                    todo_en="For example steps=10.",
                )
            )
        return int(number)
    return int(value)


# --- numbers -------------------------------------------------------------------


def _mse_numbers(x: float, w: float, target: float) -> dict[str, float]:
    """Loss and gradient at ``w``: autograd and the hand formula."""
    w_t = torch.tensor(w, dtype=DTYPE, requires_grad=True)
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


def _softmax_numbers(logits: list[float], i: int) -> dict[str, object]:
    """p = softmax(a) (computed stably) and its Jacobian, row by row with autograd.grad."""
    a = torch.tensor(logits, dtype=DTYPE, requires_grad=True)
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


def _descent_numbers(x: float, w: float, target: float, lr: float, steps: int) -> dict[str, object]:
    """Run ``steps`` steps of gradient descent on w, as a training loop does."""
    w_t = torch.tensor(w, dtype=DTYPE, requires_grad=True)
    path, losses, grads = [], [], []
    for _ in range(steps):
        loss = (target - x * w_t) ** 2
        loss.backward()  # w.grad = dL/dw
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
    factor = 1 - 2 * lr * x * x  # w - w* is multiplied by this each step
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
        "factor": factor,
    }


# --- formatting ------------------------------------------------------------------


def _span(name: str, value: float, decimals: int = 4) -> str:
    return f'<span class="gradlab-value" data-name="{name}">{fixed(value, decimals)}</span>'


def _tick_values(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1, math.ceil(step))
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + 1e-9 * step:
        ticks.append(round(k * step, 10))
        k += 1
    return ticks


def _tick_label(value: float) -> str:
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.0e}"
    text = f"{round(value, 6):g}"
    return "0" if text == "-0" else text


class _Axes:
    """Maps data coordinates into a box of an :class:`Svg` and draws the frame."""

    def __init__(
        self, svg: Svg, box: tuple[float, float, float, float], xlim: tuple[float, float], ylim: tuple[float, float]
    ):
        self.svg = svg
        self.left, self.top, self.width, self.height = box
        self.xlim, self.ylim = xlim, ylim

    def px(self, x: float) -> float:
        lo, hi = self.xlim
        return self.left + (x - lo) / (hi - lo) * self.width

    def py(self, y: float) -> float:
        lo, hi = self.ylim
        return self.top + self.height - (y - lo) / (hi - lo) * self.height

    def inside(self, x: float, y: float) -> bool:
        return self.xlim[0] <= x <= self.xlim[1] and self.ylim[0] <= y <= self.ylim[1]

    def frame(self, xlabel: str, ylabel: str, integer_x: bool = False) -> None:
        s = self.svg
        s.rect(self.left, self.top, self.width, self.height, fill="white", stroke="#444", stroke_width=1)
        for t in _tick_values(*self.xlim, integer=integer_x):
            x = self.px(t)
            s.line(x, self.top + self.height, x, self.top + self.height + 4, stroke="#444")
            s.text(x, self.top + self.height + 15, _tick_label(t), size=10, anchor="middle", fill="#444")
        for t in _tick_values(*self.ylim, count=4):
            y = self.py(t)
            s.line(self.left - 4, y, self.left, y, stroke="#444")
            s.line(self.left, y, self.left + self.width, y, stroke="#eee")
            s.text(self.left - 6, y + 3.5, _tick_label(t), size=10, anchor="end", fill="#444")
        s.text(self.left + self.width / 2, self.top + self.height + 30, xlabel, size=11, anchor="middle")
        s.text(self.left, self.top - 6, ylabel, size=11)

    def clip(self, x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float] | None:
        """The part of the segment inside the axes (Liang-Barsky), or None."""
        t0, t1 = 0.0, 1.0
        dx, dy = x2 - x1, y2 - y1
        for p, q in (
            (-dx, x1 - self.xlim[0]),
            (dx, self.xlim[1] - x1),
            (-dy, y1 - self.ylim[0]),
            (dy, self.ylim[1] - y1),
        ):
            if p == 0:
                if q < 0:
                    return None
                continue
            r = q / p
            if p < 0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
            if t0 > t1:
                return None
        return x1 + t0 * dx, y1 + t0 * dy, x1 + t1 * dx, y1 + t1 * dy

    def segment(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        clipped = self.clip(x1, y1, x2, y2)
        if clipped is not None:
            a, b, c, d = clipped
            self.svg.line(self.px(a), self.py(b), self.px(c), self.py(d), **attrs)

    def curve(self, f: Callable[[float], float], samples: int = 81, **attrs: object) -> None:
        lo, hi = self.xlim
        xs = [lo + (hi - lo) * k / (samples - 1) for k in range(samples)]
        self.svg.polyline([(self.px(x), self.py(min(f(x), self.ylim[1] * 10))) for x in xs], **attrs)


def _mse_curve_axes(s: Svg, box: tuple[float, float, float, float], x: float, target: float) -> _Axes:
    """Axes for L(w) over the w slider's range, with the curve drawn."""
    lo, hi = W_RANGE[0], W_RANGE[1]
    top = max((target - x * lo) ** 2, (target - x * hi) ** 2, 1.0)
    ax = _Axes(s, box, (lo, hi), (0.0, top * 1.08))
    ax.frame("w", "L(w) = (target - x*w)²")
    ax.curve(lambda w: (target - x * w) ** 2, stroke=BLUE, stroke_width=2)
    return ax


def _text_lines(s: Svg, x: float, y: float, lines: list[str], size: float = 12, gap: float = 18) -> None:
    for k, line in enumerate(lines):
        s.text(x, y + k * gap, line, size=size)


# --- the explorers ------------------------------------------------------------------


def _float_slider(name: str, description: str, value: float, bounds: tuple[float, float, float]) -> widgets.FloatSlider:
    """A slider from ``lo`` to ``hi`` that keeps ``value`` (clamped) exactly.

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
    return widgets.FloatSlider(
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


class _Explorer(widgets.VBox):
    """Sliders on top; below them an SVG picture and a readout, both ``ipywidgets.HTML``."""

    kind = ""

    def __init__(self, sliders: dict[str, widgets.ValueWidget], extra: list[widgets.Widget] | None = None) -> None:
        self.sliders = sliders
        self.state: dict[str, object] = {}
        self._plot = widgets.HTML(layout={"width": "auto"})
        self._readout = widgets.HTML(layout={"width": "auto", "min_width": "300px"})
        controls = [*sliders.values(), *(extra or [])]
        output = widgets.HBox(
            [self._plot, self._readout], layout={"flex_flow": "row wrap", "align_items": "flex-start"}
        )
        super().__init__([*controls, output])
        self.add_class("gradlab-explorer")
        self.add_class(f"gradlab-{self.kind}")
        for name, slider in sliders.items():
            slider.add_class("gradlab-slider")
            slider.add_class(f"gradlab-slider-{name}")
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
    def _compute(self) -> dict[str, object]:
        raise NotImplementedError

    def svg(self) -> str:
        """The live picture (no CJK text)."""
        raise NotImplementedError

    def _readout_html(self) -> str:
        raise NotImplementedError

    def static_svg(self) -> str:
        """The picture plus the readout as one SVG, for viewers without a widget frontend."""
        raise NotImplementedError

    def _summary(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._summary()
        bundle["image/svg+xml"] = self.static_svg()
        return bundle


class MseExplorer(_Explorer):
    """The explorer :func:`mse_explorer` returns."""

    kind = "mse"

    def __init__(self, x: float = 1.0, w: float = 2.0, target: float = 1.0) -> None:
        x, w, target = _number(x, "x"), _number(w, "w"), _number(target, "target")
        super().__init__(
            {
                "w": _float_slider("w", "权重 w / weight w", w, W_RANGE),
                "x": _float_slider("x", "输入 x / input x", x, X_RANGE),
                "target": _float_slider("target", "目标 / target", target, TARGET_RANGE),
            }
        )

    def _compute(self) -> dict[str, object]:
        v = self.values
        state: dict[str, object] = _mse_numbers(v["x"], v["w"], v["target"])
        state["agree"] = abs(state["grad"] - state["grad_formula"]) <= 1e-9 * (1 + abs(state["grad_formula"]))
        if v["x"] == 0:
            state["note"] = bilingual(
                "x = 0：loss 不依赖 w，所以梯度为 0，改变 w 不会改变 loss。",
                "x = 0: the loss does not depend on w, so the gradient is 0 and changing w changes nothing.",
            )
        elif abs(state["grad"]) < 1e-12:
            state["note"] = bilingual(
                "梯度为 0：w 正好在最小值处（x·w = target）。",
                "The gradient is 0: w is exactly at the minimum (x·w = target).",
            )
        else:
            state["note"] = ""
        return state

    def _draw(self, s: Svg, left: float, top: float) -> None:
        st = self.state
        x, w, target, loss, grad = st["x"], st["w"], st["target"], st["loss"], st["grad"]
        ax = _mse_curve_axes(s, (left + 50, top + 40, 360, 210), x, target)
        ax.segment(w - 1.2, loss - 1.2 * grad, w + 1.2, loss + 1.2 * grad, stroke=ORANGE, stroke_width=2)
        ax.segment(w, 0, w, loss, stroke=GREY, stroke_dasharray="3 3")
        if ax.inside(w, loss):
            s.circle(ax.px(w), ax.py(loss), 5, fill=RED, stroke="white")
        s.text(left + 50, top + 12, f"w = {fixed(w, 2)}   L = {fixed(loss)}   slope dL/dw = {fixed(grad)}", size=11)

    def svg(self) -> str:
        s = Svg(430, 290)
        self._draw(s, 0, 0)
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
        s = Svg(720, 290)
        self._draw(s, 0, 0)
        lines = [
            f"x = {fixed(st['x'])}   w = {fixed(st['w'])}   target = {fixed(st['target'])}",
            f"loss L = (target - x*w)² = {fixed(st['loss'])}",
            f"autograd.grad(L, [w]) = {fixed(st['grad'])}",
            f"by hand 2*x*(x*w - target) = {fixed(st['grad_formula'])}",
        ]
        if st["note"]:
            lines.append(st["note"].splitlines()[-1].split(":")[0] + ": gradient 0")
        _text_lines(s, 430, 60, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            f"mse_explorer(x={fixed(st['x'], 2)}, w={fixed(st['w'], 2)}, target={fixed(st['target'], 2)}): "
            f"loss={fixed(st['loss'])}, grad={fixed(st['grad'])}, 2·x·(x·w − target)={fixed(st['grad_formula'])}"
        )


class SoftmaxExplorer(_Explorer):
    """The explorer :func:`softmax_explorer` returns."""

    kind = "softmax"

    def __init__(self, logits: object = (0.7728, 0.4713, 0.9653)) -> None:
        values = _logits(logits)
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

    def _compute(self) -> dict[str, object]:
        return _softmax_numbers([self.sliders[f"a{k}"].value for k in range(self.n)], self.chooser.value)

    def _draw(self, s: Svg, left: float, top: float) -> None:
        st = self.state
        n, p, jac, i = self.n, st["p"], st["jacobian"], st["i"]
        # Bars of p.
        bar_box = (left + 42, top + 30, 36 * n, 200)
        ax = _Axes(s, bar_box, (0, n), (0.0, 1.0))
        s.rect(bar_box[0], bar_box[1], bar_box[2], bar_box[3], fill="white", stroke="#444")
        for t in (0, 0.25, 0.5, 0.75, 1.0):
            y = ax.py(t)
            s.line(bar_box[0], y, bar_box[0] + bar_box[2], y, stroke="#eee")
            s.text(bar_box[0] - 6, y + 3.5, _tick_label(t), size=10, anchor="end", fill="#444")
        for k in range(n):
            x0 = ax.px(k + 0.15)
            s.rect(x0, ax.py(p[k]), ax.px(k + 0.85) - x0, ax.py(0) - ax.py(p[k]), fill=ORANGE if k == i else BLUE)
            s.text(ax.px(k + 0.5), ax.py(p[k]) - 4, fixed(p[k], 3), size=9, anchor="middle")
            s.text(ax.px(k + 0.5), ax.py(0) + 14, f"p{k}", size=10, anchor="middle")
        s.text(bar_box[0], top + 14, "p = softmax(a)", size=11)
        # Heatmap of the Jacobian, row i highlighted.
        cell = min(54.0, 320.0 / n)
        hx, hy = bar_box[0] + bar_box[2] + 60, top + 30
        biggest = max(abs(v) for row in jac for v in row) or 1.0
        font = min(11.0, cell * 0.85 / (6 * 0.6))
        for r in range(n):
            for c in range(n):
                v = jac[r][c]
                strength = min(abs(v) / biggest, 1.0)
                rgb = (0, 114, 178) if v >= 0 else (213, 94, 0)
                mixed = tuple(round(255 + (ch - 255) * strength) for ch in rgb)
                s.rect(
                    hx + c * cell, hy + r * cell, cell, cell, fill="#{:02x}{:02x}{:02x}".format(*mixed), stroke="white"
                )
                s.text(
                    hx + (c + 0.5) * cell,
                    hy + (r + 0.5) * cell + font * 0.35,
                    fixed(v, 3),
                    size=font,
                    anchor="middle",
                    fill="white" if strength > 0.6 else "black",
                )
        for k in range(n):
            s.text(hx - 4, hy + (k + 0.5) * cell + 3.5, f"i={k}", size=10, anchor="end")
            s.text(hx + (k + 0.5) * cell, hy + n * cell + 13, f"j={k}", size=10, anchor="middle")
        s.rect(hx - 1.5, hy + i * cell - 1.5, n * cell + 3, cell + 3, fill="none", stroke="#222", stroke_width=3)
        s.text(hx, top + 14, "Jacobian J[i, j] = dp_i / da_j", size=11)
        s.text(hx, hy + n * cell + 30, f"row i={i}: autograd.grad(p[{i}], [a])", size=11)

    def _size(self) -> tuple[float, float]:
        n = self.n
        cell = min(54.0, 320.0 / n)
        heat_left = 42 + 36 * n + 60
        right = heat_left + max(
            n * cell,
            text_width("Jacobian J[i, j] = dp_i / da_j", 11),
            text_width(f"row i={n - 1}: autograd.grad(p[{n - 1}], [a])", 11),
        )
        return right + 10, max(260.0, 30 + n * cell + 40)

    def svg(self) -> str:
        s = Svg(*self._size())
        self._draw(s, 0, 0)
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
            f'<div>第 <span class="gradlab-value" data-name="i">{i}</span> 行 / row i of the Jacobian:</div>'
            f"<div>autograd.grad(p[{i}], [a], retain_graph=True) = [{row}]</div>"
            f"<div>行和 / row sum = {_span('row_sum', st['row_sum'])}（p 的和恒为 1 / p always sums to 1）</div>"
            "</div>"
        )

    def static_svg(self) -> str:
        st = self.state
        width, height = self._size()
        lines = [
            "p = softmax(a) = [" + ", ".join(fixed(v) for v in st["p"]) + "]",
            f"autograd.grad(p[{st['i']}], [a]) = [" + ", ".join(fixed(v) for v in st["row"]) + "]",
        ]
        s = Svg(max(width, max(text_width(line, 11) for line in lines) + 20), height + 50)
        self._draw(s, 0, 0)
        _text_lines(s, 10, height + 10, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            "softmax_explorer(logits=(" + ", ".join(fixed(v, 2) for v in st["logits"]) + ")): "
            "p=[" + ", ".join(fixed(v) for v in st["p"]) + "]"
        )


class DescentExplorer(_Explorer):
    """The explorer :func:`descent_explorer` returns."""

    kind = "descent"

    def __init__(self, x: float = 1.0, w: float = -1.0, target: float = 1.0, lr: float = 0.1, steps: int = 10) -> None:
        x, w, target, lr = _number(x, "x"), _number(w, "w"), _number(target, "target"), _number(lr, "lr")
        steps = _steps(steps)
        lo, hi, _ = STEPS_RANGE
        super().__init__(
            {
                "w": _float_slider("w", "起点 w₀ / start w₀", w, W_RANGE),
                "lr": _float_slider("lr", "学习率 / learning rate", lr, LR_RANGE),
                "steps": widgets.IntSlider(
                    value=min(max(steps, lo), hi),
                    min=lo,
                    max=hi,
                    description="步数 / steps",
                    continuous_update=True,
                    style=_LABEL_STYLE,
                    layout=_SLIDER_LAYOUT,
                ),
                "x": _float_slider("x", "输入 x / input x", x, X_RANGE),
                "target": _float_slider("target", "目标 / target", target, TARGET_RANGE),
            }
        )

    def _compute(self) -> dict[str, object]:
        v = self.values
        state = _descent_numbers(v["x"], v["w"], v["target"], v["lr"], int(v["steps"]))
        factor = abs(state["factor"])
        if v["x"] == 0:
            note = bilingual("x = 0：梯度一直是 0，w 不会动。", "x = 0: the gradient is always 0, so w never moves.")
        elif v["lr"] == 0:
            note = bilingual("学习率为 0：w 不会动。", "The learning rate is 0: w never moves.")
        elif factor >= 1:
            note = bilingual(
                f"学习率太大：|1 − 2·lr·x²| = {factor:.2f} ≥ 1，每一步都跳过最小值而且越跳越远（发散）。",
                f"The learning rate is too large: |1 − 2·lr·x²| = {factor:.2f} ≥ 1, so each step overshoots "
                "the minimum by more (diverges).",
            )
        elif state["factor"] < 0:
            note = bilingual(
                "w 在最小值两边来回跳，但会收敛。",
                "w jumps from side to side of the minimum, but converges.",
            )
        else:
            note = ""
        state["note"] = note
        return state

    def _draw(self, s: Svg, left: float, top: float) -> None:
        st = self.state
        x, target, path, losses, grads = st["x"], st["target"], st["path"], st["losses"], st["grads"]
        ax = _mse_curve_axes(s, (left + 50, top + 40, 340, 210), x, target)
        for k in range(len(path) - 1):
            ax.segment(path[k], losses[k], path[k + 1], losses[k + 1], stroke=ORANGE, stroke_width=1.5)
        for k, (w, loss) in enumerate(zip(path, losses, strict=True)):
            if ax.inside(w, loss):
                last = k == len(path) - 1
                s.circle(
                    ax.px(w), ax.py(loss), 5 if last or k == 0 else 3.5, fill=RED if last else ORANGE, stroke="white"
                )
                if k < 4 or last:
                    s.text(ax.px(w) + 6, ax.py(loss) - 6, str(k), size=9)
        s.text(left + 50, top + 12, f"w: {fixed(path[0], 2)} -> {fixed(path[-1])}   L = {fixed(losses[-1])}", size=11)
        # w.grad of each step.
        gx = left + 450
        box = (gx, top + 40, 200, 210)
        biggest = max([abs(g) for g in grads] + [1e-12])
        gax = _Axes(s, box, (-0.5, max(len(grads), 1) - 0.5), (-biggest * 1.1, biggest * 1.1))
        gax.frame("step", "w.grad after backward()", integer_x=True)
        s.line(box[0], gax.py(0), box[0] + box[2], gax.py(0), stroke="#444")
        width = min(14.0, box[2] / max(len(grads), 1) * 0.7)
        for k, g in enumerate(grads):
            y0, y1 = gax.py(0), gax.py(g)
            s.rect(gax.px(k) - width / 2, min(y0, y1), width, abs(y1 - y0), fill=GREEN)

    def svg(self) -> str:
        s = Svg(670, 290)
        self._draw(s, 0, 0)
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
            f"loss = {_span('loss_final', st['loss_final'])}</div>"
            f'<div class="gradlab-note" data-name="note" style="max-width: 520px; color: #a33">{note}</div>'
            '<pre style="margin: 4px 0">for step in range(steps):\n'
            "    loss = (target - x * w) ** 2\n"
            "    loss.backward()        # w.grad = dL/dw\n"
            "    with torch.no_grad():\n"
            "        w -= lr * w.grad\n"
            "    w.grad.zero_()         # 清零 / zero it, or the next backward() adds to it</pre>"
            "<style>.gradlab-steps td, .gradlab-steps th {padding: 0 0.7em; text-align: right}</style>"
            '<div style="max-height: 200px; overflow-y: auto"><table class="gradlab-steps">'
            "<tr><th>step</th><th>w</th><th>loss</th><th>w.grad</th></tr>" + "".join(rows) + "</table></div></div>"
        )

    def static_svg(self) -> str:
        st = self.state
        lines = [
            f"x = {fixed(st['x'], 2)}, target = {fixed(st['target'], 2)}, lr = {fixed(st['lr'], 2)}, steps = {st['steps']}: "
            f"w {fixed(st['path'][0])} -> {fixed(st['w_final'])}, loss {fixed(st['losses'][0])} -> {fixed(st['loss_final'])}",
        ]
        s = Svg(max(670, text_width(lines[0], 11) + 20), 330)
        self._draw(s, 0, 0)
        _text_lines(s, 10, 310, lines, size=11)
        return str(s)

    def _summary(self) -> str:
        st = self.state
        return (
            f"descent_explorer(x={fixed(st['x'], 2)}, w={fixed(st['path'][0], 2)}, target={fixed(st['target'], 2)}, "
            f"lr={fixed(st['lr'], 2)}, steps={st['steps']}): w_final={fixed(st['w_final'])}, "
            f"loss_final={fixed(st['loss_final'])}"
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
        lr: the learning rate (slider range 0 to 1.2).
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
