"""Step through a backward pass: back / forward buttons, a step slider, the picture and what each step did.

反向传播单步播放器：上一步 / 下一步按钮、步数滑块、图和每一步做了什么。

:func:`backward_stepper` takes a loss (it records ``trace_backward(loss)``,
which runs backward) or a :class:`gradlab.BackwardTrace` and returns a
:class:`BackwardStepper` widget. Each step shows ``gradlab.draw(trace, step=k)``
(done / current / not yet run, the gradient on every arrow that ran) and
explains the step in words and numbers, Chinese first: "MulBackward0 收到上游梯度
2，乘以局部导数 x = 1，传给 w 的梯度是 2".

Like the explorers in :mod:`gradlab.widgets`: ``.sliders["step"]`` is the
slider (set ``.value`` to drive it from Python; it has the keyboard focus
in JupyterLab), ``.state`` holds the current step's numbers, and outside a
live widget frontend the stepper shows a static picture of its current step.
The layout of the graph is computed once, so a step only repaints it.

This module imports ipywidgets; ``import gradlab`` does not import it.
"""

from __future__ import annotations

from html import escape
from typing import TypedDict

import ipywidgets as widgets
import torch

from gradlab._format import plain
from gradlab._labels import tensor_text
from gradlab._messages import bilingual
from gradlab._trace_picture import TraceView
from gradlab._widget_box import PictureBox
from gradlab.trace import BackwardTrace, trace_backward

__all__ = ["BackwardStepper", "StepperState", "backward_stepper"]


class StepperState(TypedDict):
    """``backward_stepper(...).state``: the numbers of the step shown.

    ``node`` is the name of the function that ran in this step (``None`` at step 0);
    ``upstream``, ``local`` and ``downstream`` are the chain rule's numbers where the
    function works on single numbers (one entry per arrow it sent a gradient along).
    """

    step: int
    total: int
    node: str | None
    node_id: int | None
    grad_outputs: list[str]
    grad_inputs: list[str]
    sent_to: list[str]
    upstream: float | None
    local: list[float | None]
    downstream: list[float]
    text_zh: str
    text_en: str


def _number(grad: torch.Tensor | None) -> str:
    """A gradient in a sentence: ``2`` for a single number, else as in the picture (``[1., 2.]``)."""
    if grad is None:
        return "None"
    if grad.numel() == 1 and not grad.is_complex():
        return plain(grad.item())
    return tensor_text(grad)


def _sentence(trace: BackwardTrace, step: int) -> tuple[str, str]:
    """What step ``step`` did, in Chinese and in English."""
    if step == 0:
        starts = ", ".join(_number(g) for g in trace.grad_outputs)
        names = ", ".join(trace.graph.nodes[i].name for i in trace.graph.outputs)
        return (
            f"还没有开始：反向传播从 {names} 出发，起始梯度是 {starts}。按“下一步”或方向键 → 前进。",
            f"Nothing has run yet: backward starts at {names} with the gradient {starts}. "
            "Press next or the → key to step.",
        )
    s = trace.steps[step - 1]
    arrived = ", ".join(_number(g) for g in s.grad_outputs if g is not None) or "None"
    if s.leaf is not None:
        leaf = trace.graph.nodes[s.leaf].name
        before, after = _number(s.grad_before), _number(s.grad_after)
        if s.grad_before is None:
            return (
                f"AccumulateGrad 收到梯度 {arrived}，{leaf}.grad 原来没有值，现在是 {after}。",
                f"AccumulateGrad received the gradient {arrived}; {leaf}.grad had none and is now {after}.",
            )
        return (
            f"AccumulateGrad 收到梯度 {arrived}，把它加进 {leaf}.grad：{before} + {arrived} = {after}（累加，不是替换）。",
            f"AccumulateGrad received the gradient {arrived} and added it into {leaf}.grad: "
            f"{before} + {arrived} = {after} (it accumulates, it does not replace).",
        )
    rules = trace.chain_rule(step - 1)
    if rules:
        zh, en = [], []
        for r in rules:
            local = f"{r.factor} = {plain(r.local)}" if r.factor and r.local is not None else _local(r.local)
            zh.append(f"乘以局部导数 {local}，传给 {r.into} 的梯度是 {plain(r.downstream)}")
            en.append(f"multiplied it by the local derivative {local} and sent {plain(r.downstream)} to {r.into}")
        return (
            f"{s.name} 收到上游梯度 {plain(rules[0].upstream)}，" + "；".join(zh) + "。",
            f"{s.name} received the upstream gradient {plain(rules[0].upstream)}, " + "; ".join(en) + ".",
        )
    sent = [(g, to) for g, to in zip(s.grad_inputs, s.sends_to, strict=True) if g is not None and to is not None]
    targets = [_receiver(trace, to) for _, to in sent]
    if not sent:
        return (
            f"{s.name} 收到上游梯度 {arrived}，没有往下传梯度。",
            f"{s.name} received the upstream gradient {arrived} and sent no gradient on.",
        )
    return (
        f"{s.name} 收到上游梯度 {arrived}，"
        + "；".join(f"传给 {t} 的梯度是 {_number(g)}" for (g, _), t in zip(sent, targets, strict=True))
        + "。",
        f"{s.name} received the upstream gradient {arrived} and sent "
        + "; ".join(f"{_number(g)} to {t}" for (g, _), t in zip(sent, targets, strict=True))
        + ".",
    )


def _local(local: float | None) -> str:
    return "(上游是 0，读不出 / upstream is 0, cannot be read off)" if local is None else plain(local)


def _receiver(trace: BackwardTrace, node_id: int) -> str:
    """Who gets the gradient: the leaf's name for ``AccumulateGrad``, else the variable or function name."""
    return trace.receiver_name(node_id)


def step_state(trace: BackwardTrace, step: int) -> StepperState:
    """The numbers and the words of step ``step`` (0 to ``len(trace.steps)``).

    Raises:
        IndexError: ``step`` is out of range (bilingual).

    Example:
        >>> import torch, torch.nn.functional as F, gradlab
        >>> x, w = torch.tensor([1.0]), torch.tensor([2.0], requires_grad=True)
        >>> trace = gradlab.trace_backward(F.mse_loss(torch.ones(1), x * w))
        >>> st = step_state(trace, 2)
        >>> st["node"], st["upstream"], st["local"], st["downstream"]
        ('MulBackward0', 2.0, [1.0], [2.0])
        >>> st["text_zh"]
        'MulBackward0 收到上游梯度 2，乘以局部导数 x = 1，传给 w 的梯度是 2。'
    """
    trace.status(step)  # checks the range, with a bilingual error
    zh, en = _sentence(trace, step)
    empty = StepperState(
        step=step, total=len(trace.steps), node=None, node_id=None, grad_outputs=[], grad_inputs=[],
        sent_to=[], upstream=None, local=[], downstream=[], text_zh=zh, text_en=en,
    )  # fmt: skip
    if step == 0:
        return empty
    s = trace.steps[step - 1]
    rules = trace.chain_rule(step - 1) if s.leaf is None else []
    return StepperState(
        step=step,
        total=len(trace.steps),
        node=s.name,
        node_id=s.node,
        grad_outputs=[_number(g) for g in s.grad_outputs],
        grad_inputs=[_number(g) for g in s.grad_inputs],
        sent_to=[
            _receiver(trace, to)
            for g, to in zip(s.grad_inputs, s.sends_to, strict=True)
            if g is not None and to is not None
        ],
        upstream=rules[0].upstream if rules else None,
        local=[r.local for r in rules],
        downstream=[r.downstream for r in rules],
        text_zh=zh,
        text_en=en,
    )


class BackwardStepper(PictureBox):
    """The widget :func:`backward_stepper` returns: buttons and a step slider, the picture, the words."""

    state: StepperState

    def __init__(self, trace: BackwardTrace) -> None:
        self.trace = trace
        self._view = TraceView(trace, None).steady()  # one size for every step: nothing moves
        total = len(trace.steps)
        slider = widgets.IntSlider(
            value=0, min=0, max=total, step=1, description="步 / step", continuous_update=True,
            style={"description_width": "80px"}, layout={"width": "420px"},
        )  # fmt: skip
        slider.add_class("gradlab-slider")
        slider.add_class("gradlab-slider-step")
        self.sliders: dict[str, widgets.IntSlider] = {"step": slider}
        self.back = widgets.Button(description="◀ 上一步 / back", layout={"width": "150px"})
        self.forward = widgets.Button(description="下一步 / next ▶", layout={"width": "150px"})
        self.back.add_class("gradlab-back")
        self.forward.add_class("gradlab-forward")
        self.back.on_click(lambda _: self._move(-1))
        self.forward.on_click(lambda _: self._move(1))
        self._text = widgets.HTML(layout={"width": "auto"})
        self._plot = widgets.HTML(layout={"width": "auto"})
        super().__init__([widgets.HBox([self.back, slider, self.forward]), self._text, self._plot])
        self.add_class("gradlab-stepper")  # not gradlab-explorer: the explorers' browser test counts those
        slider.observe(self._on_change, names="value")
        self.refresh()

    def _move(self, by: int) -> None:
        slider = self.sliders["step"]
        slider.value = min(max(slider.value + by, slider.min), slider.max)

    def _on_change(self, change: dict[str, object]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``state`` for the slider's step and repaint the picture and the words."""
        step = self.sliders["step"].value
        self.state = step_state(self.trace, step)
        self.back.disabled = step == 0
        self.forward.disabled = step == self.state["total"]
        self._plot.value = self.svg()
        self._text.value = self._text_html()

    def svg(self) -> str:
        """The picture of the current step: ``gradlab.draw(trace, step=k)``."""
        return self._view.at(self.state["step"]).to_svg()

    def _text_html(self) -> str:
        st = self.state
        node = "" if st["node"] is None else f" · {escape(st['node'])}"
        return (
            '<div class="gradlab-readout" data-explorer="stepper" style="line-height: 1.6; max-width: 760px">'
            f'<div><b>第 <span class="gradlab-value" data-name="step">{st["step"]}</span> / {st["total"]} 步'
            f" · step {st['step']} of {st['total']}{node}</b></div>"
            f'<div class="gradlab-note" data-name="text_zh">{escape(st["text_zh"])}</div>'
            f'<div class="gradlab-note" data-name="text_en">{escape(st["text_en"])}</div>'
            "</div>"
        )

    def static_svg(self) -> str:
        """The picture of the current step, for viewers without a widget frontend."""
        return self.svg()

    def _summary(self) -> str:
        st = self.state
        return f"backward_stepper(第 {st['step']} / {st['total']} 步 · step {st['step']} of {st['total']}):\n{st['text_zh']}\n{st['text_en']}"


def backward_stepper(loss_or_trace: object) -> BackwardStepper:
    """Step through a backward pass with buttons, a slider or the arrow keys.

    Args:
        loss_or_trace: a :class:`gradlab.BackwardTrace`, or a tensor with a graph
            (e.g. the loss): then ``gradlab.trace_backward(loss)`` is recorded first,
            which runs backward (the leaves' ``.grad`` is filled as by ``loss.backward()``).

    Returns:
        A :class:`BackwardStepper` widget: ``.sliders["step"]`` goes from 0 (nothing ran)
        to ``len(trace.steps)``; ``.state`` holds the current step's numbers and words.

    Raises:
        TypeError: neither a tensor nor a trace (bilingual); the errors of
            :func:`gradlab.trace_backward` for a tensor without a graph.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x, w = torch.tensor([1.0]), torch.tensor([2.0], requires_grad=True)
        >>> stepper = backward_stepper(F.mse_loss(torch.ones(1), x * w))
        >>> stepper.sliders["step"].value = 2
        >>> stepper.state["node"], stepper.state["text_en"]
        ('MulBackward0', 'MulBackward0 received the upstream gradient 2, multiplied it by the local derivative x = 1 and sent 2 to w.')
    """
    if isinstance(loss_or_trace, BackwardTrace):
        return BackwardStepper(loss_or_trace)
    if isinstance(loss_or_trace, torch.Tensor):
        # The boxes are named after the caller's variables (mse), so this frame must not name the tensor.
        _loss = loss_or_trace
        del loss_or_trace
        return BackwardStepper(trace_backward(_loss))
    raise TypeError(
        bilingual(
            f"backward_stepper 需要一个张量（例如 loss）或 gradlab.trace_backward 的结果，但收到的是 {type(loss_or_trace).__name__}。",
            f"backward_stepper needs a tensor (e.g. the loss) or what gradlab.trace_backward returned, "
            f"not {type(loss_or_trace).__name__}.",
            todo_zh="例如 backward_stepper(mse) 或 backward_stepper(gradlab.trace_backward(mse))。",
            todo_en="For example backward_stepper(mse) or backward_stepper(gradlab.trace_backward(mse)).",
        )
    )
