"""gradlab.softmax against F.softmax, the closed form, and properties (hypothesis)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, width=64)
logits = st.lists(finite, min_size=1, max_size=12)


def test_seed_probabilities():
    a = torch.tensor([0.7728, 0.4713, 0.9653])
    p = gradlab.softmax(a, dim=0)
    e = torch.exp(a)
    torch.testing.assert_close(p, e / e.sum())
    torch.testing.assert_close(p, F.softmax(a, dim=0))


@settings(max_examples=60, deadline=None)
@given(logits)
def test_rows_sum_to_one(values):
    p = gradlab.softmax(torch.tensor(values, dtype=torch.float64), dim=0)
    assert abs(p.sum().item() - 1.0) < 1e-12
    assert bool((p >= 0).all())


@settings(max_examples=60, deadline=None)
@given(logits, st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_invariant_to_adding_a_constant(values, shift):
    a = torch.tensor(values, dtype=torch.float64)
    torch.testing.assert_close(gradlab.softmax(a + shift, dim=0), gradlab.softmax(a, dim=0), atol=1e-12, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 1), st.integers(0, 2**16))
def test_matches_torch_on_any_dim(rows, cols, dim, seed):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(rows, cols, generator=generator) * 5
    torch.testing.assert_close(gradlab.softmax(a, dim=dim), F.softmax(a, dim=dim), atol=0, rtol=0)
    torch.testing.assert_close(gradlab.softmax(a, dim=-1).sum(-1), torch.ones(rows))


def test_huge_logits_stay_finite():
    p = gradlab.softmax(torch.tensor([1000.0, 0.0, -1000.0]), dim=0)
    assert bool(torch.isfinite(p).all())
    torch.testing.assert_close(p, torch.tensor([1.0, 0.0, 0.0]))


def test_dim_is_required():
    with pytest.raises(TypeError) as error:
        gradlab.softmax(torch.ones(3))
    text = str(error.value)
    assert "dim=0" in text and "需要 dim" in text and "needs dim" in text


def test_dim_message_says_what_pytorch_really_does():
    """Without dim PyTorch warns; its guess is right for 2-D input and wrong for 3-D, as the message says."""
    with pytest.raises(TypeError) as error:
        gradlab.softmax(torch.ones(3))
    text = str(error.value)
    assert "警告" in text and "warns" in text and "3-D" in text and "三维" in text
    logits = torch.arange(24.0).reshape(2, 3, 4) / 10
    with pytest.warns(UserWarning, match="Implicit dimension"):
        guessed_2d = F.softmax(logits[0])
    torch.testing.assert_close(guessed_2d, F.softmax(logits[0], dim=-1))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        guessed_3d = F.softmax(logits)
    torch.testing.assert_close(guessed_3d, F.softmax(logits, dim=0))
    assert not torch.allclose(guessed_3d, F.softmax(logits, dim=-1))


def test_dim_out_of_range():
    with pytest.raises(IndexError) as error:
        gradlab.softmax(torch.ones(3), dim=1)
    assert "dim=0" in str(error.value) and "超出" in str(error.value)
    assert isinstance(error.value.__cause__, IndexError)


def test_not_a_tensor_and_integer_input():
    with pytest.raises(TypeError, match=r"torch\.tensor"):
        gradlab.softmax([1.0, 2.0], dim=0)
    for logits in (torch.tensor([1, 2]), torch.tensor([True, False]), torch.tensor([1 + 1j, 2j])):
        with pytest.raises(NotImplementedError) as torch_error:
            F.softmax(logits, dim=0)  # the type PyTorch raises
        with pytest.raises(type(torch_error.value)) as error:
            gradlab.softmax(logits, dim=0)
        chinese, english = str(error.value).splitlines()[:2]
        assert str(logits.dtype) in chinese and "怎么办" in chinese
        assert "float()" in english and "What to do" in english
    torch.testing.assert_close(
        gradlab.softmax(torch.tensor([1, 2]), dim=0, dtype=torch.float32), F.softmax(torch.tensor([1.0, 2.0]), dim=0)
    )
