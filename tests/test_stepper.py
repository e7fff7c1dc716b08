"""Tests for gradlab.widgets.backward_stepper, driven from Python."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gradlab
from gradlab._trace_picture import TraceView
from gradlab.widgets import BackwardStepper, backward_stepper


def _boxes(svg: str) -> str:
    """The boxes and the arrows' gradients of a picture, without its size and legend."""
    return svg.split('<g class="edges">')[1].split('<g class="legend">')[0]


def seed():
    x = torch.tensor([1.0])
    w = torch.tensor([2.0], requires_grad=True)
    return F.mse_loss(torch.ones(1), x * w), w


def test_seed_step_by_step_numbers_and_words():
    x = torch.tensor([1.0])
    w = torch.tensor([2.0], requires_grad=True)
    mse = F.mse_loss(torch.ones(1), x * w)  # x and w named here: the words name them
    stepper = backward_stepper(mse)
    assert torch.equal(w.grad, torch.tensor([2.0]))  # recording ran backward
    slider = stepper.sliders["step"]
    assert (slider.min, slider.max, slider.value) == (0, 3, 0)
    assert stepper.state["node"] is None and "mse" in stepper.state["text_en"]
    expected = {1: "MseLossBackward0", 2: "MulBackward0", 3: "AccumulateGrad"}
    for k, name in expected.items():
        slider.value = k
        assert stepper.state["node"] == name and stepper.state["step"] == k
    slider.value = 2
    st = stepper.state
    assert (st["upstream"], st["local"], st["downstream"], st["sent_to"]) == (2.0, [1.0], [2.0], ["w"])
    assert st["text_zh"] == "MulBackward0 收到上游梯度 2，乘以局部导数 x = 1，传给 w 的梯度是 2。"
    assert st["text_en"] == (
        "MulBackward0 received the upstream gradient 2, multiplied it by the local derivative x = 1 and sent 2 to w."
    )
    slider.value = 1
    assert stepper.state["upstream"] == 1.0 and stepper.state["downstream"] == [2.0]  # d mse / d(x*w) = 2(xw - 1)
    slider.value = 3
    assert "w.grad" in stepper.state["text_en"] and stepper.state["grad_outputs"] == ["2"]


def test_buttons_move_one_step_and_stop_at_the_ends():
    stepper = backward_stepper(seed()[0])
    assert stepper.back.disabled and not stepper.forward.disabled
    for k in (1, 2, 3, 3):
        stepper.forward.click()
        assert stepper.sliders["step"].value == k
    assert stepper.forward.disabled
    stepper.back.click()
    assert stepper.state["node"] == "MulBackward0"


def test_picture_and_words_follow_the_slider():
    mse, _ = seed()
    trace = gradlab.trace_backward(mse)
    stepper = backward_stepper(trace)
    for k in range(4):
        stepper.sliders["step"].value = k
        drawn = gradlab.draw(trace, step=k).to_svg()
        assert stepper._plot.value == TraceView(trace).steady().at(k).to_svg()
        assert _boxes(stepper._plot.value) == _boxes(drawn)  # the same picture, only wider
        assert stepper.state["text_zh"] in stepper._text.value.replace("&quot;", '"')
    bundle = stepper._repr_mimebundle_()
    assert bundle["image/svg+xml"] == TraceView(trace).steady().at(3).to_svg()
    assert bundle["text/plain"].splitlines() == [  # what a viewer without widgets prints: both languages
        "backward_stepper(第 3 / 3 步 · step 3 of 3):",
        stepper.state["text_zh"],
        stepper.state["text_en"],
    ]


def test_accumulation_words_say_it_adds():
    a = torch.tensor(3.0, requires_grad=True)
    (a * 2).backward()
    stepper = backward_stepper(a + a)
    stepper.sliders["step"].value = 2
    assert stepper.state["text_zh"] == "AccumulateGrad 收到梯度 2，把它加进 a.grad：2 + 2 = 4（累加，不是替换）。"
    stepper.sliders["step"].value = 1
    assert stepper.state["sent_to"] == ["a", "a"]  # the fan-out: two arrows
    assert stepper.state["upstream"] == 1.0 and stepper.state["downstream"] == [1.0, 1.0]


def test_vector_steps_say_what_was_sent():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    stepper = backward_stepper(gradlab.trace_backward((a * a).sum()))
    stepper.sliders["step"].value = 1
    assert stepper.state["upstream"] is None
    assert (
        stepper.state["text_en"] == "SumBackward0 received the upstream gradient 1 and sent [1., 1.] to MulBackward0."
    )


def test_bad_input_is_a_bilingual_error():
    with pytest.raises(TypeError) as error:
        backward_stepper([1.0])
    text = str(error.value)
    assert "backward_stepper 需要一个张量" in text and "backward_stepper needs a tensor" in text
    with pytest.raises(RuntimeError, match="grad_fn"):
        backward_stepper(torch.ones(2))
    assert isinstance(backward_stepper(seed()[0]), BackwardStepper)


def test_every_step_has_the_same_picture_size():
    import re

    stepper = backward_stepper(seed()[0])
    sizes = set()
    for k in range(4):
        stepper.sliders["step"].value = k
        sizes.add(re.search(r'viewBox="([^"]+)"', stepper._plot.value).group(1))
    assert len(sizes) == 1
