"""gradlab.grad / backward / requires_grad_ against plain PyTorch, and the beginner mistakes."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

import gradlab
from gradlab import GradAccumulationWarning


def seed_mse(requires_grad: bool = True):
    """The seed's example: mse = (1 - x*w)^2 with x = 1, w = 2."""
    x = torch.ones(1)
    w = torch.full([1], 2.0)
    if requires_grad:
        w.requires_grad_()
    return x, w, F.mse_loss(torch.ones(1), x * w)


def assert_teaches(error: pytest.ExceptionInfo, zh: str, en: str, torch_type: type | None = None) -> None:
    """The message holds the hint in both languages, Chinese first, and PyTorch's error is chained."""
    text = str(error.value)
    chinese, english = text.splitlines()[:2]
    assert zh in chinese and "怎么办" in chinese, text
    assert en in english and "What to do" in english, text
    if torch_type is not None:
        assert isinstance(error.value.__cause__, torch_type)


# --- the seed's numbers, against plain PyTorch ------------------------------


def test_grad_matches_torch_on_seed():
    _, w, mse = seed_mse()
    ours = gradlab.grad(mse, [w], retain_graph=True)
    theirs = torch.autograd.grad(mse, [w])
    assert isinstance(ours, tuple) and len(ours) == 1
    torch.testing.assert_close(ours[0], theirs[0])
    torch.testing.assert_close(ours[0], torch.tensor([2.0]))


def test_grad_matches_hand_formula():
    for w_value in (-1.5, 0.0, 0.5, 2.0, 3.25):
        x = torch.tensor([0.7])
        w = torch.tensor([w_value], requires_grad=True)
        (g,) = gradlab.grad(F.mse_loss(torch.ones(1), x * w), [w])
        torch.testing.assert_close(g, 2 * x * (x * w_value - 1))


def test_grad_leaves_dot_grad_alone():
    _, w, mse = seed_mse()
    gradlab.grad(mse, [w])
    assert w.grad is None


def test_backward_matches_torch_on_seed():
    _, w, mse = seed_mse()
    result = gradlab.backward(mse)
    assert result is None
    torch.testing.assert_close(w.grad, torch.tensor([2.0]))


def test_backward_with_grad_tensors_is_vjp():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = gradlab.softmax(a, dim=0)
    v = torch.tensor([0.0, 1.0, 0.0])
    gradlab.backward(p, grad_tensors=v)
    torch.testing.assert_close(a.grad, torch.tensor([-0.0849, 0.1878, -0.1029]), atol=1e-4, rtol=0)


def test_backward_inputs_restricts_accumulation():
    x = torch.tensor([3.0], requires_grad=True)
    w = torch.tensor([2.0], requires_grad=True)
    gradlab.backward((x * w).sum(), inputs=[w])
    assert x.grad is None
    torch.testing.assert_close(w.grad, torch.tensor([3.0]))


def test_softmax_jacobian_rows_from_the_seed():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = gradlab.softmax(a, dim=0)
    torch.testing.assert_close(p, F.softmax(a, dim=0))
    (row1,) = gradlab.grad(p[1], [a], retain_graph=True)
    (row2,) = gradlab.grad(p[2], [a], retain_graph=True)
    assert torch.round(row1, decimals=4).tolist() == pytest.approx([-0.0849, 0.1878, -0.1029], abs=1e-6)
    assert torch.round(row2, decimals=4).tolist() == pytest.approx([-0.1391, -0.1029, 0.2420], abs=1e-6)


def test_create_graph_gives_second_derivative():
    w = torch.tensor([2.0], requires_grad=True)
    (g,) = gradlab.grad(F.mse_loss(torch.ones(1), w), [w], create_graph=True)
    (gg,) = gradlab.grad(g, [w])
    torch.testing.assert_close(gg, torch.tensor([2.0]))


# --- the beginner mistakes ----------------------------------------------------


def test_forgot_requires_grad():
    _, w, mse = seed_mse(requires_grad=False)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [w])
    assert_teaches(error, "requires_grad", "requires_grad_()", RuntimeError)


def test_one_input_does_not_require_grad():
    x = torch.ones(1)  # not requires_grad
    w = torch.full([1], 2.0, requires_grad=True)
    mse = F.mse_loss(torch.ones(1), x * w)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [w, x])
    assert_teaches(error, "没有设置 requires_grad", "does not require grad", RuntimeError)


def test_non_scalar_output_explains_vjp():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = gradlab.softmax(a, dim=0)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(p, [a])
    assert_teaches(error, "向量-雅可比积", "vector-Jacobian product", RuntimeError)
    assert "gradlab.jacobian" in str(error.value)
    with pytest.raises(RuntimeError) as error:
        gradlab.backward(p)
    assert_teaches(error, "grad_outputs", "grad_outputs", RuntimeError)


def test_second_backward_through_freed_graph():
    _, w, mse = seed_mse()
    gradlab.backward(mse)
    with pytest.raises(RuntimeError) as error:
        gradlab.backward(mse)
    assert_teaches(error, "retain_graph=True", "retain_graph=True", RuntimeError)
    _, w, mse = seed_mse()
    gradlab.grad(mse, [w])
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [w])
    assert_teaches(error, "计算图已经被释放", "already freed", RuntimeError)


def test_retain_graph_allows_second_call():
    _, w, mse = seed_mse()
    first = gradlab.grad(mse, [w], retain_graph=True)
    second = gradlab.grad(mse, [w])
    torch.testing.assert_close(first, second)


def test_input_not_in_graph():
    _, w, mse = seed_mse()
    b = torch.zeros(1, requires_grad=True)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [w, b])
    assert_teaches(error, "allow_unused=True", "allow_unused=True", RuntimeError)
    _, w, mse = seed_mse()
    gw, gb = gradlab.grad(mse, [w, b], allow_unused=True)
    assert gb is None
    torch.testing.assert_close(gw, torch.tensor([2.0]))


def test_input_not_in_graph_names_a_reassigned_variable_first():
    """The usual cause is `w = w * 2` after the forward pass: the hint names it before allow_unused."""
    _, w, mse = seed_mse()
    w = w * 2
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [w])
    text = str(error.value)
    assert text.index("重新赋值") < text.index("allow_unused=True")
    english = text.splitlines()[1]
    assert english.index("re-assigned") < english.index("allow_unused=True")
    assert "w = w * 2" in text and "forward pass again" in text


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError) as error:
        gradlab.requires_grad_(torch.tensor([1, 2, 3]))
    assert_teaches(error, "整数或布尔张量不能求梯度", "Integer and bool tensors cannot require grad", RuntimeError)
    with pytest.raises(RuntimeError) as error:
        gradlab.requires_grad_(torch.tensor([True]))
    assert_teaches(error, "x.float()", "x.float()", RuntimeError)


def test_requires_grad_on_a_non_leaf_teaches_detach():
    # Once PyTorch's English-only "you can only change requires_grad flags of leaf variables".
    w = torch.full([1], 2.0, requires_grad=True)
    y = w * 3
    with pytest.raises(RuntimeError) as error:
        gradlab.requires_grad_(y, False)
    assert_teaches(error, "叶子张量", "Only a leaf tensor's requires_grad can be changed", RuntimeError)
    text = str(error.value)
    assert (
        "y.detach().requires_grad_()" in text.splitlines()[0] and "y.detach().requires_grad_()" in text.splitlines()[1]
    )
    assert "BEFORE the computation" in text and "leaf variables" in str(error.value.__cause__)
    assert y.requires_grad and y.grad_fn is not None  # nothing changed
    fresh = gradlab.requires_grad_(y.detach())  # what the hint says works
    assert fresh.is_leaf and fresh.requires_grad


def test_integer_input_to_grad():
    w = torch.full([1], 2.0, requires_grad=True)
    n = torch.tensor([3])
    with pytest.raises(RuntimeError) as error:
        gradlab.grad((w * n).sum(), [n])
    assert_teaches(error, "torch.int64", "torch.int64")


def test_requires_grad_returns_same_tensor():
    w = torch.full([1], 2.0)
    assert gradlab.requires_grad_(w) is w and w.requires_grad
    assert gradlab.requires_grad_(w, False) is w and not w.requires_grad


def test_inplace_modification_of_saved_tensor():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = gradlab.softmax(a, dim=0)  # softmax saves its result p for backward
    p.mul_(2)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(p.sum(), [a])
    assert_teaches(error, "原地修改", "modified in place", RuntimeError)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda w, mse: gradlab.grad([1.0], [w]), "outputs[0]"),
        (lambda w, mse: gradlab.grad(mse, 2.0), "inputs"),
        (lambda w, mse: gradlab.backward("mse"), "tensors"),
        (lambda w, mse: gradlab.requires_grad_([1.0]), "requires_grad_"),
    ],
)
def test_wrong_types(call, argument):
    _, w, mse = seed_mse()
    with pytest.raises(TypeError) as error:
        call(w, mse)
    assert argument in str(error.value)
    assert "torch.tensor" in str(error.value)
    assert "张量" in str(error.value)


def test_empty_inputs():
    _, w, mse = seed_mse()
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(mse, [])
    assert_teaches(error, "inputs 是空的", "inputs is empty", RuntimeError)
    with pytest.raises(RuntimeError) as error:
        gradlab.grad([], [w])
    assert "outputs is empty" in str(error.value)


def test_errors_without_a_hint_pass_through_unchanged():
    w = torch.ones(2, requires_grad=True)
    out = (w * 2).sum()
    with pytest.raises(RuntimeError) as error:
        gradlab.grad(out, [w], grad_outputs=[torch.ones(5)])
    assert "What to do" not in str(error.value)


# --- .grad accumulation notice -----------------------------------------------


def test_backward_tells_once_about_accumulation():
    x = torch.ones(1)
    w = torch.full([1], 2.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(F.mse_loss(torch.ones(1), x * w))
        assert caught == []  # the first backward writes into an empty .grad
        gradlab.backward(F.mse_loss(torch.ones(1), x * w))
        gradlab.backward(F.mse_loss(torch.ones(1), x * w))
    notices = [c for c in caught if issubclass(c.category, GradAccumulationWarning)]
    assert len(notices) == 1
    text = str(notices[0].message)
    assert "zero_()" in text and "累加" in text and "ADDED" in text
    # PyTorch's behaviour is unchanged: three backward calls accumulate 2 + 2 + 2
    torch.testing.assert_close(w.grad, torch.tensor([6.0]))


def test_no_notice_after_zero_():
    x = torch.ones(1)
    w = torch.full([1], 2.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(F.mse_loss(torch.ones(1), x * w))
        w.grad.zero_()
        gradlab.backward(F.mse_loss(torch.ones(1), x * w))
    assert not [c for c in caught if issubclass(c.category, GradAccumulationWarning)]
    torch.testing.assert_close(w.grad, torch.tensor([2.0]))


def test_backward_finds_leaves_in_deep_graph_without_recursion():
    w = torch.ones(1, requires_grad=True)
    y = w
    for _ in range(5000):
        y = y * 1.0
    gradlab.backward(y.sum())
    torch.testing.assert_close(w.grad, torch.ones(1))
