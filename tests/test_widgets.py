"""The slider explorers, driven from Python: numbers against torch and the hand formulas, bad input, pictures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html import unescape

import pytest
import torch

from gradlab._explorer_math import softmax_numbers
from gradlab._explorer_pictures import DESCENT_SIZE
from gradlab._style import EXPLORER
from gradlab._svg import text_width
from gradlab.widgets import (
    LR_RANGE,
    MAX_CLASSES,
    DescentExplorer,
    DescentState,
    MseExplorer,
    MseState,
    SoftmaxExplorer,
    SoftmaxState,
    _float_slider,
    backward_stepper,
    descent_explorer,
    mse_explorer,
    softmax_explorer,
)

CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def readout_values(explorer) -> dict[str, float]:
    """The numbers the readout shows, by their data-name, as the browser test reads them."""
    spans = re.findall(r'<span class="gradlab-value" data-name="([^"]+)">([^<]*)</span>', explorer._readout.value)
    return {name: float(text) for name, text in spans}


def torch_mse(x: float, w: float, target: float) -> tuple[float, float]:
    w_t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    loss = (target - x * w_t) ** 2
    loss.backward()
    return loss.item(), w_t.grad.item()


# --- mse_explorer ------------------------------------------------------------


@pytest.mark.parametrize(("x", "w", "target"), [(1.0, 2.0, 1.0), (-2.5, 0.35, 1.7), (3.0, -4.0, -3.0)])
def test_mse_state_matches_torch_and_hand_formula(x, w, target):
    explorer = mse_explorer(x=x, w=w, target=target)
    loss, grad = torch_mse(x, w, target)
    assert explorer.state["loss"] == pytest.approx(loss, abs=1e-12)
    assert explorer.state["grad"] == pytest.approx(grad, abs=1e-12)
    assert explorer.state["grad_formula"] == pytest.approx(2 * x * (x * w - target), abs=1e-12)
    assert explorer.state["grad"] == pytest.approx(explorer.state["grad_formula"], abs=1e-12)
    assert explorer.state["agree"] is True


def test_mse_slider_moves_update_state_and_readout():
    explorer = mse_explorer()
    assert set(explorer.sliders) == {"w", "x", "target"}
    before_svg = explorer._plot.value
    for w in (-3.0, -0.55, 0.8, 3.95):
        explorer.sliders["w"].value = w
        loss, grad = torch_mse(1.0, w, 1.0)
        assert explorer.state["w"] == w
        assert explorer.state["loss"] == pytest.approx(loss)
        assert explorer.state["grad"] == pytest.approx(grad)
        shown = readout_values(explorer)
        assert shown["loss"] == pytest.approx(loss, abs=5e-5)
        assert shown["grad"] == pytest.approx(grad, abs=5e-5)
        assert shown["grad_formula"] == pytest.approx(grad, abs=5e-5)
    assert explorer._plot.value != before_svg
    explorer.sliders["x"].value = -1.5
    explorer.sliders["target"].value = 2.0
    loss, grad = torch_mse(-1.5, 3.95, 2.0)
    assert explorer.state["loss"] == pytest.approx(loss)
    assert explorer.state["grad"] == pytest.approx(grad)


def test_mse_out_of_range_values_are_clamped():
    explorer = mse_explorer(x=100.0, w=-1e9, target=7)
    assert explorer.state["x"] == explorer.sliders["x"].max == 3.0
    assert explorer.state["w"] == explorer.sliders["w"].min == -4.0
    assert explorer.state["target"] == 3.0
    explorer.sliders["w"].value = 1e6
    assert explorer.state["w"] == explorer.sliders["w"].max
    loss, grad = torch_mse(3.0, 4.0, 3.0)
    assert explorer.state["loss"] == pytest.approx(loss)
    assert explorer.state["grad"] == pytest.approx(grad)


def test_mse_x_zero_gives_zero_gradient_and_says_so():
    explorer = mse_explorer(x=0.0, w=2.0, target=1.0)
    assert explorer.state["grad"] == 0.0
    assert explorer.state["grad_formula"] == 0.0
    assert explorer.state["loss"] == 1.0
    note = explorer.state["note"]
    assert "x = 0" in note and "梯度为 0" in note and "gradient is 0" in note
    assert "gradient is 0" in explorer._readout.value
    explorer.sliders["w"].value = -3.0  # w does not matter when x = 0
    assert explorer.state["grad"] == 0.0 and explorer.state["loss"] == 1.0
    explorer.sliders["x"].value = 1.0
    assert explorer.state["note"] == ""


def test_mse_minimum_is_named():
    explorer = mse_explorer(x=2.0, w=0.5, target=1.0)
    assert explorer.state["grad"] == 0.0
    assert "minimum" in explorer.state["note"]


def test_mse_minimum_needs_x_w_equal_to_target_not_a_small_gradient():
    # Once x=1e-13, w=2, target=1 said "w is exactly at the minimum" with the loss at 1.
    explorer = mse_explorer(x=1e-13, w=2.0, target=1.0)
    st = explorer.state
    assert st["loss"] == pytest.approx(1.0) and abs(st["grad"]) < 1e-12
    note = st["note"]
    assert "exactly" not in note and "正好" not in note
    assert "not at the minimum" in note and "不在最小值处" in note
    assert "w* = target/x = 1e+13" in note and "loss = 1." in note and "almost flat" in note
    assert note.index("不在最小值处") < note.index("not at the minimum")
    assert "not at the minimum" in " ".join(text for *_, text in svg_texts(explorer.static_svg()))


def test_mse_minimum_up_to_rounding_is_not_called_exact():
    # 0.7 · (−1.5/0.7) = −1.5 + 2.2e-16 in float64: at the minimum, but not exactly.
    explorer = mse_explorer(x=0.7, w=-1.5 / 0.7, target=-1.5)
    st = explorer.state
    assert st["x"] * st["w"] - st["target"] != 0
    assert st["loss"] < 1e-30
    assert "up to rounding" in st["note"] and "舍入误差" in st["note"] and "exactly" not in st["note"]


def test_mse_near_the_minimum_the_small_gradient_is_not_called_0():
    explorer = mse_explorer(x=1.0, w=1.00001, target=1.0)
    note = explorer.state["note"]
    assert readout_values(explorer)["grad"] == 0.0  # the readout rounds 2e-5 to 0.0000 ...
    assert "not at the minimum" in note and "w is close to it" in note  # ... the note says why it is not 0
    assert "almost flat" not in note


def test_descent_rejects_a_negative_learning_rate():
    # Once lr=-1 was clamped to 0 and shown as "the learning rate is 0".
    with pytest.raises(ValueError) as info:
        descent_explorer(lr=-1)
    message = str(info.value)
    assert "学习率 lr 不能是负数" in message.splitlines()[0] and "(got -1)" in message
    assert "cannot be negative" in message and "gradient ascent" in message and "What to do" in message
    explorer = descent_explorer(lr=0.0)
    assert explorer.state["lr"] == 0.0 and "learning rate is 0" in explorer.state["note"]
    assert explorer.sliders["lr"].min == 0.0  # and the slider cannot go below 0


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"w": "2"}, TypeError, "w must be a number"),
        ({"x": None}, TypeError, "x must be a number"),
        ({"target": True}, TypeError, "target must be a number"),
        ({"w": [1.0, 2.0]}, TypeError, "w must be a number"),
        ({"w": torch.ones(3)}, TypeError, "single number"),
        ({"x": float("nan")}, ValueError, "finite"),
        ({"w": float("inf")}, ValueError, "finite"),
    ],
)
def test_mse_bad_arguments_get_bilingual_errors(kwargs, error, fragment):
    with pytest.raises(error) as info:
        mse_explorer(**kwargs)
    message = str(info.value)
    assert fragment in message
    assert CJK.search(message.splitlines()[0]), "Chinese comes first"
    assert "What to do" in message


def test_mse_accepts_tensors_and_numpy_numbers():
    numpy = pytest.importorskip("numpy")
    explorer = mse_explorer(x=numpy.float32(1.5), w=torch.tensor(0.5), target=2)
    assert explorer.state["x"] == 1.5 and explorer.state["w"] == 0.5 and explorer.state["target"] == 2.0


def svg_texts(svg: str) -> list[tuple[float, float, str, str]]:
    """(x, y, anchor, text) of every <text> in a picture."""
    found = re.findall(
        r'<text x="([^"]+)" y="([^"]+)" font-size="[^"]+" text-anchor="([^"]+)"[^>]*>([^<]*)</text>', svg
    )
    return [(float(x), float(y), anchor, text) for x, y, anchor, text in found]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"x": 2.0, "w": 0.5, "target": 1.0}, "The gradient is 0: w is exactly at the minimum (x·w = target)."),
        ({"x": 0.0, "w": 2.0, "target": 1.0}, "x = 0: the loss does not depend on w, so the gradient is 0"),
    ],
)
def test_mse_static_picture_shows_the_whole_note(kwargs, expected):
    # Once it read "The gradient is 0: gradient 0" and "x = 0: gradient 0".
    explorer = mse_explorer(**kwargs)
    svg = explorer.static_svg()
    texts = svg_texts(svg)
    notes = [text for x, y, _, text in texts if x == 430 and y > 60 + 3 * 18]
    assert expected in " ".join(notes)
    assert "gradient 0" not in svg
    width = float(re.search(r'<svg [^>]*width="([^"]+)"', svg).group(1))
    assert all(x + text_width(text, 11) <= width for x, _, anchor, text in texts if anchor == "start" and x == 430)


# --- softmax_explorer ----------------------------------------------------------


def torch_softmax(logits: list[float], i: int) -> tuple[list[float], list[float]]:
    a = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(a, dim=0)
    (row,) = torch.autograd.grad(p[i], [a])
    return p.tolist(), row.tolist()


def test_softmax_defaults_match_the_notebook_numbers():
    explorer = softmax_explorer()
    assert set(explorer.sliders) == {"a0", "a1", "a2"}
    assert [round(v, 4) for v in explorer.state["p"]] == [0.3388, 0.2506, 0.4107]
    p, row = torch_softmax([0.7728, 0.4713, 0.9653], 0)
    assert explorer.state["p"] == pytest.approx(p)
    assert explorer.state["row"] == pytest.approx(row)
    assert explorer.state["i"] == 0


@pytest.mark.parametrize("n", [2, 3, 5, MAX_CLASSES])
def test_softmax_jacobian_matches_autograd_and_closed_form(n):
    logits = [0.3 * k - 0.5 * (k % 2) for k in range(n)]
    explorer = softmax_explorer(logits=logits)
    a = torch.tensor(logits, dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), a)
    jacobian = torch.tensor(explorer.state["jacobian"], dtype=torch.float64)
    torch.testing.assert_close(jacobian, expected)
    torch.testing.assert_close(torch.tensor(explorer.state["jacobian_formula"], dtype=torch.float64), expected)
    torch.testing.assert_close(jacobian.sum(dim=1), torch.zeros(n, dtype=torch.float64))  # rows sum to 0
    assert explorer.state["sum_p"] == pytest.approx(1.0)
    for i in range(n):
        explorer.chooser.value = i
        assert explorer.state["row"] == pytest.approx(torch_softmax(logits, i)[1])
        assert explorer.state["row_sum"] == pytest.approx(0.0, abs=1e-12)
        assert f'data-name="i">{i}<' in explorer._readout.value


def test_softmax_slider_move_updates_p_and_row():
    explorer = softmax_explorer()
    explorer.chooser.value = 2
    explorer.sliders["a1"].value = 2.5
    logits = [explorer.sliders[f"a{k}"].value for k in range(3)]
    assert logits[1] == 2.5
    p, row = torch_softmax(logits, 2)
    assert explorer.state["p"] == pytest.approx(p)
    assert explorer.state["row"] == pytest.approx(row)
    shown = readout_values(explorer)
    assert [shown[f"p{k}"] for k in range(3)] == pytest.approx(p, abs=5e-5)
    assert [shown[f"row{k}"] for k in range(3)] == pytest.approx(row, abs=5e-5)


def test_softmax_huge_logits_stay_finite():
    explorer = softmax_explorer(logits=(1e6, -1e6, 0.0))  # clamped to the slider range
    assert explorer.state["logits"] == [10.0, -10.0, 0.0]
    assert all(torch.isfinite(torch.tensor(explorer.state["jacobian"])).flatten())
    assert explorer.state["sum_p"] == pytest.approx(1.0)
    # The computation itself is stable, not only the clamped sliders.
    numbers = softmax_numbers([1000.0, 999.0, -1000.0], 0)
    p = torch.tensor(numbers["p"])
    assert torch.isfinite(p).all() and torch.isfinite(torch.tensor(numbers["jacobian"])).all()
    assert numbers["p"] == pytest.approx(
        torch.softmax(torch.tensor([1.0, 0.0, -2000.0], dtype=torch.float64), 0).tolist()
    )


def test_softmax_readout_gives_the_right_reasons_for_the_sums():
    explorer = softmax_explorer()
    text = explorer._readout.value
    # Rows sum to 0: softmax does not change when a constant is added to every logit (the rows are gradients).
    # Columns sum to 0: p sums to 1. J is symmetric, so both hold, for different reasons.
    assert "softmax is unchanged when the same constant is added to every a" in text
    assert "each column sums to 0 because p always sums to 1" in text
    assert "给所有 a 加同一个常数，softmax 不变" in text and "p 的和恒为 1" in text
    assert text.index("每一行") < text.index("Each row"), "Chinese first"
    jacobian = torch.tensor(explorer.state["jacobian"], dtype=torch.float64)
    a = torch.tensor(explorer.state["logits"], dtype=torch.float64)
    shifted = softmax_numbers((a + 5.0).tolist(), 0)
    torch.testing.assert_close(
        torch.tensor(shifted["p"], dtype=torch.float64), torch.tensor(explorer.state["p"], dtype=torch.float64)
    )
    torch.testing.assert_close(jacobian.sum(dim=0), torch.zeros(3, dtype=torch.float64))  # columns: Σp = 1
    torch.testing.assert_close(jacobian, jacobian.T)


@pytest.mark.parametrize(
    ("logits", "error", "fragment"),
    [
        ((1.0,), ValueError, "2 to 8 classes"),
        ((), ValueError, "2 to 8 classes"),
        (tuple(range(9)), ValueError, "but got 9 logits"),
        ("0.5, 1.0", TypeError, "sequence of numbers"),
        (3.0, TypeError, "sequence of numbers"),
        ((1.0, "a"), TypeError, "logits[1] must be a number"),
        ((1.0, float("nan")), ValueError, "finite"),
        (torch.zeros(2, 3), ValueError, "1-D"),
    ],
)
def test_softmax_bad_input_gets_bilingual_errors(logits, error, fragment):
    with pytest.raises(error) as info:
        softmax_explorer(logits=logits)
    message = str(info.value)
    assert fragment in message
    assert CJK.search(message.splitlines()[0])
    assert "What to do" in message


def test_softmax_accepts_a_tensor():
    explorer = softmax_explorer(torch.tensor([0.0, 1.0], requires_grad=True))
    assert explorer.state["logits"] == [0.0, 1.0]


# --- descent_explorer -------------------------------------------------------------


def torch_descent(x: float, w: float, target: float, lr: float, steps: int) -> tuple[list[float], list[float]]:
    w_t = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    ws, grads = [], []
    for _ in range(steps):
        ws.append(w_t.item())
        loss = (target - x * w_t) ** 2
        loss.backward()
        grads.append(w_t.grad.item())
        with torch.no_grad():
            w_t -= lr * w_t.grad
        w_t.grad.zero_()
    ws.append(w_t.item())
    return ws, grads


def test_descent_follows_backward_and_zero_grad():
    explorer = descent_explorer()
    assert set(explorer.sliders) == {"w", "lr", "steps", "x", "target"}
    ws, grads = torch_descent(1.0, -1.0, 1.0, 0.1, 10)
    assert explorer.state["path"] == pytest.approx(ws)
    assert explorer.state["grads"] == pytest.approx(grads)
    # closed form: w_k - w* = (1 - 2 lr x^2)^k (w_0 - w*)
    assert explorer.state["w_final"] == pytest.approx(1 + 0.8**10 * (-2))
    assert explorer.state["loss_final"] == pytest.approx((1 - explorer.state["w_final"]) ** 2)
    assert len(explorer.state["losses"]) == 11
    shown = readout_values(explorer)
    assert shown["w_final"] == pytest.approx(explorer.state["w_final"], abs=5e-5)
    assert shown["grad0"] == pytest.approx(-4.0)
    assert "grad10" not in shown  # no backward after the last step


def test_descent_sliders_rerun_the_loop():
    explorer = descent_explorer()
    explorer.sliders["lr"].value = 0.25
    explorer.sliders["steps"].value = 3
    explorer.sliders["x"].value = 2.0
    explorer.sliders["w"].value = 0.5
    ws, grads = torch_descent(2.0, 0.5, 1.0, 0.25, 3)
    assert explorer.state["path"] == pytest.approx(ws)
    assert explorer.state["grads"] == pytest.approx(grads)
    explorer.sliders["steps"].value = 0
    assert explorer.state["path"] == [0.5] and explorer.state["grads"] == []
    assert explorer.svg().startswith("<svg")


def test_descent_notes_divergence_and_zero_gradient():
    explorer = descent_explorer(x=3.0, lr=1.2, steps=30)
    assert "diverges" in explorer.state["note"] and "发散" in explorer.state["note"]
    assert all(map(lambda v: v == v and abs(v) != float("inf"), explorer.state["path"]))  # finite, plot still drawn
    assert explorer.svg().startswith("<svg")
    explorer.sliders["x"].value = 0.0
    assert explorer.state["grads"] == [0.0] * 30
    assert explorer.state["w_final"] == explorer.state["w"]
    assert "gradient is always 0" in explorer.state["note"]


@pytest.mark.parametrize(("x", "lr"), [(1.0, 1.0), (2.0, 0.25), (-1.0, 1.0)])
def test_descent_at_the_boundary_oscillates_and_says_so(x, lr):
    # lr·x² = 1: the factor 1 − 2·lr·x² is −1, so w jumps across the minimum at a constant distance.
    explorer = descent_explorer(x=x, w=-1.0, target=1.0, lr=lr, steps=6)
    st = explorer.state
    assert st["factor"] == -1.0
    w_star = 1.0 / x
    distances = [w - w_star for w in st["path"]]
    assert all(d == pytest.approx(-distances[k - 1]) for k, d in enumerate(distances) if k)  # constant amplitude
    note = st["note"]
    assert "oscillates" in note and "振荡" in note and "boundary" in note
    assert "(diverges)" not in note and "（发散）" not in note
    assert note.index("振荡") < note.index("oscillates")


def test_descent_beyond_the_boundary_diverges():
    explorer = descent_explorer(x=1.0, lr=1.01, steps=10)
    assert "diverges" in explorer.state["note"] and "发散" in explorer.state["note"]
    assert "1/x² = 1.00" in explorer.state["note"]
    distances = [abs(w - 1.0) for w in explorer.state["path"]]
    assert distances == sorted(distances) and distances[-1] > distances[0]
    assert "oscillates" not in descent_explorer(x=1.0, lr=0.99, steps=10).state["note"]


def test_descent_table_headers_are_chinese_first_then_english():
    headers = [unescape(h) for h in re.findall(r"<th>([^<]*)</th>", descent_explorer()._readout.value)]
    assert headers == ["第几步 / step", "w", "损失 / loss", "w.grad"]  # w and w.grad are code, as in the loop


def _assert_note_drawn(note: str, svg: str, x: float, below: float) -> None:
    """The static picture shows the whole note (its texts at ``x``, under ``below``), Chinese lines first."""
    zh, en = note.splitlines() if note else ("", "")
    lines = [unescape(text) for tx, y, _, text in svg_texts(svg) if tx == x and y > below]
    chinese = [line for line in lines if CJK.search(line)]
    english = [line for line in lines if not CJK.search(line)]
    assert "".join(chinese).replace(" ", "") == zh.replace(" ", "")  # the whole note, wrapped
    assert " ".join(english) == en
    assert lines == chinese + english  # Chinese first
    height = float(re.search(r'<svg [^>]*height="([^"]+)"', svg).group(1))
    assert all(y <= height - 8 for _, y, _, _ in svg_texts(svg))
    _fits(svg)


@pytest.mark.parametrize(
    "kwargs", [{"lr": 1.1}, {"x": 0.0}, {"lr": 1.0}, {"lr": 0.9}, {"x": 3.0, "lr": 1.2, "steps": 30}]
)
def test_descent_static_picture_shows_the_note_in_chinese_then_english(kwargs):
    explorer = descent_explorer(**kwargs)
    _assert_note_drawn(explorer.state["note"], explorer.static_svg(), x=10, below=DESCENT_SIZE[1] + 20)


def test_descent_static_picture_without_a_note_keeps_its_size():
    explorer = descent_explorer()
    assert explorer.state["note"] == ""
    height = float(re.search(r'<svg [^>]*height="([^"]+)"', explorer.static_svg()).group(1))
    assert height == DESCENT_SIZE[1] + 40


@pytest.mark.parametrize("kwargs", [{"x": 0.0}, {"steps": 0}])
def test_descent_gradient_axis_labels_are_distinct_when_every_gradient_is_0(kwargs):
    # Once the axis spanned ±1.1e-12 and its ticks were all labelled "0".
    explorer = descent_explorer(**kwargs)
    labels = [text for x, _, anchor, text in svg_texts(explorer.svg()) if anchor == "end" and x > 440]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert "0" in labels and "1" in labels and "-1" in labels


def test_float_slider_is_marked_with_its_name():
    # Once the name argument was ignored.
    slider = _float_slider("lr", "学习率 / learning rate", 0.1, LR_RANGE)
    assert "gradlab-slider-lr" in slider._dom_classes and "gradlab-slider" in slider._dom_classes
    assert slider.description == "学习率 / learning rate"


def test_descent_clamps_and_checks_arguments():
    explorer = descent_explorer(lr=50, steps=1000, w=9)
    assert explorer.state["lr"] == 1.2 and explorer.state["steps"] == 30 and explorer.state["w"] == 4.0
    with pytest.raises(TypeError, match="steps must be a whole number"):
        descent_explorer(steps=2.5)
    with pytest.raises(TypeError, match="lr must be a number"):
        descent_explorer(lr="0.1")
    assert descent_explorer(steps=4.0).state["steps"] == 4


# --- pictures, hooks and import hygiene ------------------------------------------------


EXPLORERS = [
    pytest.param(mse_explorer, id="mse"),
    pytest.param(softmax_explorer, id="softmax"),
    pytest.param(lambda: softmax_explorer(logits=range(8)), id="softmax8"),
    pytest.param(descent_explorer, id="descent"),
]


@pytest.mark.parametrize("make", EXPLORERS)
def test_mimebundle_has_a_static_picture_and_the_widget_view(make):
    explorer = make()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert bundle["text/plain"] == repr(explorer)
    assert "explorer(" in bundle["text/plain"]
    # Deterministic: nbval compares image/svg+xml and text/plain of the saved notebook.
    again = make()._repr_mimebundle_()
    assert again["image/svg+xml"] == svg and again["text/plain"] == bundle["text/plain"]


def _words(explorer) -> list[str]:
    """The "中文 / English" words the explorer's pictures must show, from gradlab._style.EXPLORER."""
    if explorer.kind == "softmax":
        return [EXPLORER["p"], EXPLORER["jacobian"], EXPLORER["row"].format(i=explorer.state["i"])]
    if explorer.kind == "mse":
        return [EXPLORER["w"], EXPLORER["loss"], EXPLORER["slope"]]
    return [EXPLORER["w"], EXPLORER["loss"], EXPLORER["step"], EXPLORER["grads"]]


def _fits(svg: str) -> None:
    """Every text lies inside the picture (estimated widths, as the layout estimates them)."""
    width = float(re.search(r'<svg [^>]*width="([^"]+)"', svg).group(1))
    found = re.findall(
        r'<text x="([^"]+)" y="[^"]+" font-size="([^"]+)" text-anchor="([^"]+)"[^>]*>([^<]*)</text>', svg
    )
    for x, size, anchor, text in found:
        w = text_width(unescape(text), float(size))
        left = {"start": float(x), "middle": float(x) - w / 2, "end": float(x) - w}[anchor]
        assert 0 <= left and left + w <= width, f"{text!r} overflows: {left:g} to {left + w:g} of {width:g}"


def _stepper():
    x, w = torch.tensor([1.0]), torch.tensor([2.0], requires_grad=True)
    return backward_stepper((x * w - 1).pow(2).sum())


@pytest.mark.parametrize("make", [*EXPLORERS, pytest.param(_stepper, id="stepper")])
def test_ipython_displays_the_live_widget_and_its_picture(make):
    """What a notebook shows: IPython's own formatter, on ipywidgets 8 and on 7.7 (Colab's, `make test`'s .venv-ipyw7).

    ipywidgets 7 displays a widget by itself (``_ipython_display_``) with the live view and text only;
    gradlab's widgets decline that, so IPython asks ``_repr_mimebundle_``, as on ipywidgets 8.
    """
    from IPython.core.formatters import DisplayFormatter

    widget = make()
    data, _ = DisplayFormatter().format(widget)
    assert set(data) == {"application/vnd.jupyter.widget-view+json", "image/svg+xml", "text/plain"}
    assert data == widget._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id


@pytest.mark.parametrize("make", [*EXPLORERS, pytest.param(_stepper, id="stepper")])
def test_only_ipywidgets_own_widgets_so_colab_needs_no_custom_widget_manager(make):
    """Colab draws ipywidgets' own widgets; enable_custom_widget_manager() is for third-party ones."""
    kinds, todo = set(), [make()]
    while todo:
        widget = todo.pop()
        kinds.add(next(c.__name__ for c in type(widget).__mro__ if c.__module__.startswith("ipywidgets.")))
        for module in (widget._model_module, widget._view_module):
            assert module in {"@jupyter-widgets/controls", "@jupyter-widgets/base"}, (type(widget), module)
        todo += getattr(widget, "children", ())
    core = {"VBox", "HBox", "HTML", "FloatSlider", "IntSlider", "ToggleButtons", "Button"}
    assert {"VBox", "HBox", "HTML"} < kinds <= core


def test_the_ipywidgets_this_run_was_built_for():
    """`make test` runs the widget tests a second time in .venv-ipyw7 and says which ipywidgets it must have."""
    import ipywidgets

    expected = os.environ.get("GRADLAB_EXPECT_IPYWIDGETS")
    if expected:
        assert ipywidgets.__version__ == expected
    else:
        assert ipywidgets.__version__.split(".")[0] in {"7", "8"}


@pytest.mark.parametrize("make", EXPLORERS)
def test_pictures_carry_chinese_and_english(make):
    """The live and the static picture show each word as "中文 / English", in every state, and fit."""
    explorer = make()
    for _ in range(2):
        assert explorer._plot.value == explorer.svg()
        for svg in (explorer.svg(), explorer.static_svg()):
            texts = [unescape(text) for *_, text in svg_texts(svg)]
            for words in _words(explorer):
                assert any(words in text for text in texts), words
            assert "Noto Sans Mono CJK SC" in svg and "Microsoft YaHei" in svg  # a font with Chinese glyphs
            _fits(svg)
        first = next(iter(explorer.sliders.values()))
        first.value = first.min  # also in other states (notes, x = 0 ...)
    assert CJK.search(explorer._readout.value)  # the readout is bilingual too


@pytest.mark.parametrize(
    "kwargs", [{"x": 1e-13, "w": 2.0, "target": 1.0}, {"x": 0.0, "w": 2.0, "target": 1.0}, {"x": 3.0, "w": -4.0}]
)
def test_mse_static_picture_shows_the_note_in_chinese_then_english(kwargs):
    explorer = mse_explorer(**kwargs)
    _assert_note_drawn(explorer.state["note"], explorer.static_svg(), x=430, below=60 + 3 * 18)


@pytest.mark.parametrize("i", [0, 2])
def test_softmax_readout_names_row_i_as_the_picture_does(i):
    # Indices start at 0 (notebook 03): "第 0 行" would call the first row the 0th; both say "下标 i=0 的行".
    explorer = softmax_explorer()
    explorer.chooser.value = i
    said = unescape(re.sub(r"<[^>]+>", "", explorer._readout.value))
    zh, en = f"下标 i={i} 的行", f"row i={i}"
    assert zh in said and en in said and said.index(zh) < said.index(en)
    assert not re.search(r"第\s*\d+\s*行", said)
    for svg in (explorer.svg(), explorer.static_svg()):
        assert any(zh in text and en in text for *_, text in svg_texts(unescape(svg)))


def test_summaries_are_short_and_chinese_first_then_english():
    """What ``repr`` and a viewer without widgets print (text/plain): one line, prose words in both languages."""
    assert repr(mse_explorer()) == (
        "mse_explorer(x=1.00, w=2.00, target=1.00): "
        "损失 / loss = 1.0000, autograd.grad = 2.0000, 手算 / by hand = 2.0000"
    )
    assert repr(softmax_explorer()) == (
        "softmax_explorer(logits=(0.77, 0.47, 0.97)): 概率 / p = softmax(a) = [0.3388, 0.2506, 0.4107]"
    )
    assert repr(descent_explorer()) == (
        "descent_explorer(x=1.00, w=-1.00, target=1.00, lr=0.10, steps=10): "
        "最终 / final w = 0.7853, 损失 / loss = 0.0461"
    )


@pytest.mark.parametrize("make", EXPLORERS)
def test_dom_hooks_for_the_browser_test(make):
    explorer = make()
    assert "gradlab-explorer" in explorer._dom_classes
    assert f"gradlab-{explorer.kind}" in explorer._dom_classes
    for name, slider in explorer.sliders.items():
        assert f"gradlab-slider-{name}" in slider._dom_classes
    assert f'data-explorer="{explorer.kind}"' in explorer._readout.value
    assert readout_values(explorer)


@pytest.mark.parametrize(
    ("make", "state_type"),
    [(mse_explorer, MseState), (softmax_explorer, SoftmaxState), (descent_explorer, DescentState)],
)
def test_state_is_a_plain_dict_with_the_declared_keys(make, state_type):
    state = make().state
    assert type(state) is dict  # notebooks and tests index it by name
    assert set(state) == state_type.__required_keys__


@pytest.mark.parametrize(("make", "frame"), [(mse_explorer, "50_40_360_210"), (descent_explorer, "50_40_340_210")])
def test_the_loss_curve_is_clipped_to_its_frame(make, frame):
    svg = make(x=3.0, target=-3.0).svg()
    assert (
        f'<clipPath id="gradlab-clip-{frame}"><rect x="50" y="40" width="{frame.split("_")[2]}" height="210"/>' in svg
    )
    assert f'<g clip-path="url(#gradlab-clip-{frame})">\n<polyline' in svg


def test_explorer_types():
    assert isinstance(mse_explorer(), MseExplorer)
    assert isinstance(softmax_explorer(), SoftmaxExplorer)
    assert isinstance(descent_explorer(), DescentExplorer)


def test_importing_gradlab_does_not_import_ipywidgets():
    code = "import sys, gradlab; assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_off_grid_values_are_kept_exactly():
    # The browser snaps a slider's value to min + k*step and sends it back; 0.7728 must not become 0.8.
    explorer = softmax_explorer()
    for value, slider in zip((0.7728, 0.4713, 0.9653), explorer.sliders.values(), strict=True):
        assert slider.value == value
        k = (slider.value - slider.min) / slider.step
        assert k == pytest.approx(round(k), abs=1e-6), "the value lies on the slider's grid"
        assert abs(slider.min - (-10.0)) < slider.step / 2 and abs(slider.max - 10.0) < slider.step / 2
        assert slider.readout_format == ".4f"
    on_grid = mse_explorer().sliders["w"]
    assert (on_grid.min, on_grid.max, on_grid.readout_format) == (-4.0, 4.0, ".2f")


# --- grad modes: an explorer computes with grad enabled whatever the caller's mode ---------------

GRAD_OFF = [
    pytest.param(torch.no_grad, id="no_grad"),
    pytest.param(torch.inference_mode, id="inference_mode"),
    pytest.param(lambda: torch.set_grad_enabled(False), id="set_grad_enabled"),
]
MOVES = [  # (make, slider, value): a later slider move
    pytest.param(lambda: mse_explorer(x=1.5, w=0.5, target=2.0), "w", -1.25, id="mse"),
    pytest.param(lambda: softmax_explorer(logits=[0.3, -1.2, 2.0]), "a1", 0.9, id="softmax"),
    pytest.param(lambda: descent_explorer(x=1.5, w=-2.0, target=1.0, lr=0.2, steps=5), "lr", 0.35, id="descent"),
]


@pytest.mark.parametrize(("make", "name", "value"), MOVES)
@pytest.mark.parametrize("mode", GRAD_OFF)
def test_explorers_compute_under_every_grad_mode(mode, make, name, value):
    # Once every explorer raised "element 0 of tensors does not require grad" here.
    expected = make()
    expected.sliders[name].value = value
    with mode():
        explorer = make()  # construction
        assert not torch.is_grad_enabled()
        explorer.sliders[name].value = value  # a slider move
        assert not torch.is_grad_enabled(), "the caller's mode is restored"
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert explorer.state == expected.state
    assert explorer._readout.value == expected._readout.value


@pytest.mark.parametrize(("make", "name", "value"), MOVES)
def test_explorers_keep_working_after_a_later_cell_turns_grad_off(make, name, value):
    explorer = make()
    expected = make()
    expected.sliders[name].value = value
    torch.set_grad_enabled(False)  # a later cell, global: the next slider move happens in this mode
    try:
        explorer.sliders[name].value = value
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    assert explorer.state == expected.state


def test_explorer_numbers_match_torch_under_inference_mode():
    with torch.inference_mode():
        mse = mse_explorer(x=-2.5, w=0.35, target=1.7).state
        descent = descent_explorer(x=1.0, w=-1.0, target=1.0, lr=0.1, steps=1).state
    loss, grad = torch_mse(-2.5, 0.35, 1.7)
    assert mse["loss"] == pytest.approx(loss, abs=1e-12) and mse["grad"] == pytest.approx(grad, abs=1e-12)
    assert descent["grads"] == [-4.0] and descent["w_final"] == pytest.approx(-0.6)


@pytest.mark.parametrize(("make", "name", "value"), MOVES)
def test_explorers_compute_on_the_cpu_whatever_the_default_device(make, name, value):
    # torch.set_default_device("cuda") in a notebook must not move the explorers' scalars;
    # "meta" (no values at all) shows it on any machine.
    expected = make()
    expected.sliders[name].value = value
    torch.set_default_device("meta")
    try:
        explorer = make()
        explorer.sliders[name].value = value
    finally:
        torch.set_default_device(None)
    assert explorer.state == expected.state
