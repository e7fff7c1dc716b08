"""Tests for draw(trace) and draw(trace, step=k): gradients on the arrows, the state after k steps."""

from __future__ import annotations

import re
import warnings
from html import unescape

import pytest
import torch
import torch.nn.functional as F
from test_trace import MODELS

import gradlab
from gradlab import _paint
from gradlab._labels import tensor_text
from gradlab._paint import MplPainter, english
from gradlab._style import NOTE
from gradlab._trace_picture import TraceView, arrow_labels, step_notes

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def seed_trace() -> gradlab.BackwardTrace:
    x = torch.tensor([1.0])
    w = torch.tensor([2.0], requires_grad=True)
    mse = F.mse_loss(torch.ones(1), x * w)
    return gradlab.trace_backward(mse)


def gradient_texts(svg: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<text[^>]*class="gradient"[^>]*>([^<]*)</text>', svg)]


def node_states(svg: str) -> dict[str, str]:
    """data-id -> state, from the boxes' classes."""
    return {i: c.split()[-1] for c, i in re.findall(r'<g class="node ([^"]*)" data-id="(\d+)"', svg)}


def test_every_arrow_shows_the_gradient_it_carried():
    trace = seed_trace()
    svg = gradlab.draw(trace).to_svg()
    carried = [e for e in trace.graph.edges if e.grad is not None]
    assert len(carried) == 4  # mse -> MseLoss -> Mul -> AccumulateGrad -> w
    assert sorted(gradient_texts(svg)) == sorted(tensor_text(e.grad) for e in carried)
    assert "梯度 / grad [2.]" in svg  # w's box shows .grad after the pass


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_carrying_arrow_is_labelled_on_every_model(name):
    outputs, _, kwargs = MODELS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # create_graph=True warns
        trace = gradlab.trace_backward(*outputs, **kwargs)
    labels = arrow_labels(trace)
    expected = {(e.src, e.dst) for e in trace.graph.edges if e.grad is not None and e.kind != "saved"}
    assert set(labels) == expected
    svg = gradlab.draw(trace).to_svg()
    assert sorted(gradient_texts(svg)) == sorted(labels.values())


def test_fan_out_shows_both_arrows_adding_up():
    a = torch.tensor(3.0, requires_grad=True)
    trace = gradlab.trace_backward(a + a)
    assert "1. + 1." in arrow_labels(trace).values()
    assert step_notes(trace, 2) == ["a.grad = 2. (之前没有 / it had none)"]


def test_steps_show_done_current_and_waiting():
    trace = seed_trace()
    names = {str(n.id): n.name for n in trace.graph.nodes}
    for k in range(len(trace.steps) + 1):
        svg = gradlab.draw(trace, step=k).to_svg()
        states = {
            names[i]: s
            for i, s in node_states(svg).items()
            if names[i] in ("MseLossBackward0", "MulBackward0", "AccumulateGrad")
        }
        expected = {
            s.name: ("done" if s.index < k - 1 else "current" if s.index == k - 1 else "waiting") for s in trace.steps
        }
        assert states == expected, k
        assert sorted(gradient_texts(svg)) == sorted(arrow_labels(trace, k).values())
    assert gradient_texts(gradlab.draw(trace, step=0).to_svg()) == ["1."]  # only the start: nothing ran yet
    assert "梯度还没算出 / grad: not computed yet" in gradlab.draw(trace, step=2).to_svg()
    assert "梯度 / grad [2.]" in gradlab.draw(trace, step=3).to_svg()


def test_a_step_rewrites_the_grad_line_and_not_a_leaf_named_grad():
    grad = torch.tensor([2.0], requires_grad=True)  # once its title "grad" was taken for the .grad line
    trace = gradlab.trace_backward((grad * 3).sum())
    before, after = (gradlab.draw(trace, step=k).to_svg() for k in (0, len(trace.steps)))
    assert ">grad</text>" in before and ">梯度还没算出 / grad: not computed yet</text>" in before
    assert ">grad</text>" in after and ">梯度 / grad [3.]</text>" in after
    assert english("梯度 / grad [3.]") == "grad [3.]"


def test_current_step_shows_the_chain_rule_in_numbers():
    trace = seed_trace()
    svg = unescape(gradlab.draw(trace, step=2).to_svg())
    assert "2. × x = 2. → w" in svg
    assert ">链式法则 / chain rule<" in svg
    assert ">上游 × 局部导数 = 下游 / upstream × local = downstream<" in svg
    assert "× x" not in unescape(gradlab.draw(trace, step=1).to_svg())


def test_non_scalar_step_notes_say_what_came_and_went():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    trace = gradlab.trace_backward((a * a).sum())
    assert step_notes(trace, 1) == ["收到 / got 1.", "传出 / sent [1., 1.] → MulBackward0"]


def _vector_trace() -> gradlab.BackwardTrace:
    """Steps of vectors (收到/传出 lines), then a first .grad (之前没有), in 4 steps."""
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    return gradlab.trace_backward((a.sin() * 3).sum())


def test_every_note_is_chinese_first_then_english():
    """Each worded line of every step's note is "中文 / English"; without Chinese it is its English."""
    notes = [
        line
        for trace in (_vector_trace(), seed_trace())  # the seed's steps are single numbers: the chain rule
        for k in range(1, len(trace.steps) + 1)
        for line in step_notes(trace, k)
    ]
    for words in NOTE.values():
        assert any(words in line for line in notes), words
    for line in notes:
        if CJK.search(line):
            zh, sep, _ = line.partition(" / ")
            assert sep and CJK.search(zh) and not CJK.search(english(line)), line
        else:
            assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", line), f"English words without Chinese: {line}"


def test_note_in_the_svg_has_chinese_and_english():
    svg = unescape(gradlab.draw(_vector_trace(), step=1).to_svg())
    assert ">收到 / got 1.<" in svg and ">传出 / sent [1., 1.] → MulBackward0<" in svg
    assert "Noto Sans Mono CJK SC" in svg  # a font stack with Chinese glyphs on every system


def _note_texts(painter: MplPainter) -> list[str]:
    return [a.get_text() for a in painter.artists if type(a).__name__ == "Text"]


def test_note_painted_by_matplotlib_is_bilingual_with_a_cjk_font():
    if _paint.cjk_font() is None:
        pytest.skip("no CJK font installed (CI installs fonts-wqy-microhei)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no missing glyph, no fallback notice
        texts = _note_texts(gradlab.draw(_vector_trace(), step=1)._paint(MplPainter))
    assert "收到 / got 1." in texts and "传出 / sent [1., 1.] → MulBackward0" in texts


@pytest.mark.parametrize(
    ("make", "step", "expected"),
    [
        (_vector_trace, 1, ["got 1.", "sent [1., 1.] → MulBackward0"]),
        (_vector_trace, 4, ["a.grad = [1.621, -1.248] (it had none)"]),
        (seed_trace, 2, ["chain rule", "upstream × local = downstream", "2. × x = 2. → w"]),
    ],
)
def test_note_painted_by_matplotlib_without_a_cjk_font_is_english_with_a_notice(make, step, expected, monkeypatch):
    monkeypatch.setattr(_paint, "cjk_font", lambda: None)
    with pytest.warns(UserWarning, match="No CJK font found") as caught:
        texts = _note_texts(gradlab.draw(make(), step=step)._paint(MplPainter))
    assert len(caught) == 1
    assert not any(CJK.search(t) for t in texts)
    assert all(line in texts for line in expected), texts


def test_picture_is_deterministic_and_paints_with_matplotlib(tmp_path):
    first = gradlab.draw(seed_trace(), step=2)
    assert first.to_svg() == gradlab.draw(seed_trace(), step=2).to_svg()
    assert isinstance(first, TraceView) and first.at(3).to_svg() == gradlab.draw(seed_trace(), step=3).to_svg()
    png = first.save(tmp_path / "step.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_stepping_keeps_every_box_in_place():
    trace = seed_trace()

    def boxes(svg: str) -> list[str]:
        return re.findall(r'<g class="node [^"]*" data-id="\d+"><title>[^<]*</title><rect x="([^"]+)" y="([^"]+)"', svg)

    pictures = [gradlab.draw(trace, step=k).to_svg() for k in range(4)]
    assert all(boxes(p) == boxes(pictures[0]) for p in pictures)


def test_untraced_draw_is_unchanged_by_tracing():
    x = torch.tensor([1.0])
    w = torch.tensor([2.0], requires_grad=True)
    mse = F.mse_loss(torch.ones(1), x * w)
    before = gradlab.draw(mse).to_svg()
    assert 'class="gradient"' not in before


@pytest.mark.parametrize("step", [-1, 4, 2.5, True])
def test_step_out_of_range_is_a_bilingual_error(step):
    with pytest.raises(IndexError) as error:
        gradlab.draw(seed_trace(), step=step)
    text = str(error.value)
    assert "step 应该是 0 到 3 之间的整数" in text and "step must be a whole number from 0 to 3" in text


def test_step_without_a_trace_and_unsupported_options_are_bilingual_errors():
    w = torch.tensor([2.0], requires_grad=True)
    with pytest.raises(TypeError, match="step 只能和反向传播记录一起用") as error:
        gradlab.draw(w * 2, step=1)
    assert "step works only with a backward trace" in str(error.value)
    with pytest.raises(TypeError, match="depth") as error:
        gradlab.draw(seed_trace(), depth=2)
    assert "cannot be used when drawing a backward trace" in str(error.value)


def test_highlight_and_options_work_on_a_trace():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = F.softmax(a, dim=0)
    trace = gradlab.trace_backward(p[1], inputs=[a])
    view = gradlab.draw(trace, highlight=[a], show_saved=False, legend=False)
    assert len(view.highlighted) == 5
    svg = view.to_svg()
    assert "_saved_" not in svg and 'class="legend"' not in svg
    assert len(gradient_texts(svg)) == 3  # output -> Select -> Softmax -> AccumulateGrad; grad stops at a


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_trace_draws_and_steps_like_the_cpu_one():
    def picture(device: str) -> list[str]:
        x = torch.tensor([1.0], device=device)
        w = torch.tensor([2.0], device=device, requires_grad=True)
        trace = gradlab.trace_backward(F.mse_loss(torch.ones(1, device=device), x * w))
        return [gradient_texts(gradlab.draw(trace, step=k).to_svg()) for k in range(len(trace.steps) + 1)]

    assert picture("cuda") == picture("cpu")
