"""gradlab's wrappers accept what PyTorch accepts, fail as PyTorch fails, and cost what PyTorch costs.

Hardening: the signatures are PyTorch's, generators/dicts/GradientEdges work,
sparse gradients work, the accumulation notice keeps its state off the
tensor and re-arms after zero_grad, and graphs computed with grad mode off
are named as such.
"""

from __future__ import annotations

import inspect
import io
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.graph import get_gradient_edge

import gradlab
from gradlab import GradAccumulationWarning


def _notices(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(c.message) for c in caught if issubclass(c.category, GradAccumulationWarning)]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (gradlab.grad, torch.autograd.grad),
        (gradlab.backward, torch.autograd.backward),
        (gradlab.softmax, F.softmax),
    ],
)
def test_signatures_are_pytorchs(ours, theirs):
    """Same parameter names, order, kinds and defaults: positional calls mean the same."""
    mine = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
    torch_params = [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert mine == torch_params


def test_generator_inputs_like_model_parameters():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    loss = model(torch.ones(4, 3)).pow(2).mean()
    ours = gradlab.grad(loss, model.parameters(), retain_graph=True)
    theirs = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    assert len(ours) == 2
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)
    gradlab.backward(loss, inputs=model.parameters())
    for p, g in zip(model.parameters(), theirs, strict=True):
        torch.testing.assert_close(p.grad, g)


def test_dict_inputs_return_a_dict():
    w = torch.tensor([2.0], requires_grad=True)
    b = torch.tensor([1.0], requires_grad=True)
    loss = (3 * w + b).sum()
    result = gradlab.grad(loss, {"w": w, "b": b})
    assert isinstance(result, dict) and list(result) == ["w", "b"]
    torch.testing.assert_close(result["w"], torch.tensor([3.0]))
    torch.testing.assert_close(result["b"], torch.tensor([1.0]))


def test_gradient_edge_inputs():
    w = torch.tensor([2.0], requires_grad=True)
    h = w * 5
    loss = (h * h).sum()
    (g,) = gradlab.grad(loss, get_gradient_edge(h), retain_graph=True)
    torch.testing.assert_close(g, torch.tensor([20.0]))  # d(h²)/dh = 2h
    (g,) = gradlab.grad(loss, [get_gradient_edge(w)])
    torch.testing.assert_close(g, torch.tensor([100.0]))  # 2h · 5


def test_deprecated_positional_arguments_pass_through_as_in_pytorch():
    w = torch.tensor([2.0], requires_grad=True)
    loss = (w * w).sum()
    # grad's 6th positional argument is only_inputs, as in torch
    assert gradlab.grad(loss, [w], None, True, False, True, False) == torch.autograd.grad(
        (w * w).sum(), [w], None, True, False, True, False
    )


def test_nested_list_input_raises_pytorchs_type():
    w = torch.tensor([2.0], requires_grad=True)
    loss = (w * 3).sum()
    with pytest.raises(RuntimeError) as torch_error:
        torch.autograd.grad(loss, [[w]], retain_graph=True)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(loss, [[w]])
    assert type(error.value) is type(torch_error.value)
    text = str(error.value)
    assert "inputs[0]" in text and "张量" in text and "list" in text
    with pytest.raises(RuntimeError, match="inputs\\[0\\]"):
        gradlab.grad(loss, [2.0])


def test_sparse_gradients_accumulate_like_torch():
    torch.manual_seed(0)
    ours, theirs = nn.Embedding(10, 3, sparse=True), nn.Embedding(10, 3, sparse=True)
    theirs.load_state_dict(ours.state_dict())
    index = torch.tensor([1, 2, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            gradlab.backward(ours(index).sum())
            torch.autograd.backward(theirs(index).sum())
    torch.testing.assert_close(ours.weight.grad.to_dense(), theirs.weight.grad.to_dense())
    assert len(_notices(caught)) == 1


def test_accumulation_state_is_not_written_on_the_tensor():
    w = torch.full([1], 2.0, requires_grad=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        gradlab.backward((w * w).sum())
        gradlab.backward((w * w).sum())
    assert not [name for name in vars(w) if "gradlab" in name]
    buffer = io.BytesIO()
    torch.save(w, buffer)
    buffer.seek(0)
    assert not [name for name in vars(torch.load(buffer)) if "gradlab" in name]


@pytest.mark.parametrize("reset", ["zero_", "none"])
def test_notice_rearms_after_grad_is_cleared(reset):
    w = torch.full([1], 2.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward((w * w).sum())
        gradlab.backward((w * w).sum())  # accident 1: told
        gradlab.backward((w * w).sum())  # same accident continues: not told again
        assert len(_notices(caught)) == 1
        if reset == "zero_":
            w.grad.zero_()
        else:
            w.grad = None
        gradlab.backward((w * w).sum())  # a clean step: nothing to tell
        assert len(_notices(caught)) == 1
        gradlab.backward((w * w).sum())  # accident 2, after a zero_grad: told again
    notices = _notices(caught)
    assert len(notices) == 2
    assert "[4.]" in notices[1]  # the value it held: one clean step of 2w = 4
    torch.testing.assert_close(w.grad, torch.tensor([8.0]))


def test_notice_does_not_read_grad_of_non_leaf_inputs():
    w = torch.tensor([2.0], requires_grad=True)
    y = w * 3
    z = (y * y).sum()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(z, inputs=[y])
    assert not [c for c in caught if "non-leaf" in str(c.message)]
    torch.testing.assert_close(y.grad, torch.tensor([12.0]))


def test_large_grad_notice_does_not_print_every_value():
    w = torch.ones(1000, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(w.sum())
        gradlab.backward(w.sum())
    (notice,) = _notices(caught)
    assert "1000" in notice and len(notice) < 600


@pytest.mark.parametrize("mode", ["no_grad", "set_grad_enabled"])
def test_loss_computed_without_grad_names_no_grad(mode):
    w = torch.tensor([2.0], requires_grad=True)
    context = torch.no_grad() if mode == "no_grad" else torch.set_grad_enabled(False)
    with context:
        loss = (w * w).sum()
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(loss, [w])
    chinese, english = str(error.value).splitlines()[:2]
    assert "no_grad" in chinese and "怎么办" in chinese
    assert "no_grad" in english and "requires_grad_()" not in english
    assert isinstance(error.value.__cause__, RuntimeError)


def test_loss_computed_in_inference_mode_names_inference_mode():
    w = torch.tensor([2.0], requires_grad=True)
    with torch.inference_mode():
        loss = (w * w).sum()
    for call in (lambda: gradlab.grad(loss, [w]), lambda: gradlab.backward(loss)):
        with pytest.raises(RuntimeError) as error:
            call()
        chinese, english = str(error.value).splitlines()[:2]
        assert "inference_mode" in chinese and "inference_mode" in english
        assert isinstance(error.value.__cause__, RuntimeError)


def test_missing_requires_grad_still_gets_the_requires_grad_hint():
    w = torch.tensor([2.0])  # no requires_grad at all: grad mode was on
    loss = (w * w).sum()
    with pytest.raises(RuntimeError) as error:
        gradlab.backward(loss)
    assert "requires_grad_()" in str(error.value)


def _raised(call) -> BaseException:
    try:
        call()
    except Exception as error:  # what PyTorch raised, as a learner's except clause would catch it
        return error
    raise AssertionError("expected PyTorch to raise")


def _inplace_leaf() -> None:
    w = torch.tensor([2.0], requires_grad=True)
    w -= 0.1


def _inference_saved() -> None:
    w = torch.tensor([2.0], requires_grad=True)
    with torch.inference_mode():
        h = torch.ones(1)
    (h * w).sum().backward()


class _OneGradForTwo(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return grad


def _wrong_count() -> None:
    a, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    _OneGradForTwo.apply(a, b).sum().backward()


def _hook_on_non_leaf() -> None:
    y = torch.tensor([2.0], requires_grad=True) * 2
    y.register_post_accumulate_grad_hook(lambda t: None)


@pytest.mark.parametrize(
    ("call", "zh", "en"),
    [
        (_inplace_leaf, "原地修改一个需要梯度的叶子", "torch.no_grad()"),
        (_inference_saved, "推理张量", "clone()"),
        (_wrong_count, "梯度个数不对", "one value for each input"),
        (_hook_on_non_leaf, "只能用在叶子张量上", "retain_grad()"),
    ],
    ids=["inplace-leaf", "inference-saved", "wrong-gradient-count", "post-accumulate-hook-non-leaf"],
)
def test_explain_errors_raised_outside_the_wrappers(call, zh, en):
    """PyTorch raises these in the operation itself; gradlab.explain(error) gives the bilingual hint."""
    error = _raised(call)
    chinese, english, cause = gradlab.explain(error).splitlines()
    assert zh in chinese and "怎么办" in chinese
    assert en in english and "What to do" in english
    assert cause == f"(PyTorch: {str(error).strip().splitlines()[0]})"


def test_explain_unknown_error_and_wrong_argument():
    text = gradlab.explain(ValueError("something else"))
    assert text.splitlines()[0].startswith("gradlab 对这个错误没有专门的解释")
    assert text.endswith("(PyTorch: something else)")
    with pytest.raises(TypeError, match="explain"):
        gradlab.explain("not an error")
