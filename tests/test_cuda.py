"""gradlab on a CUDA device: the same answers as PyTorch, results on the device, the device in the labels.

The README says gradlab works with CUDA tensors; these tests hold it to that on
a machine with a GPU and are skipped (cleanly, at collection) everywhere else.
Nothing here touches CUDA at import time: the module imports and collects on a
CPU-only machine.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET

import pytest
import torch
import torch.nn.functional as F

import gradlab
from gradlab import GradAccumulationWarning
from gradlab.jacobians import METHODS

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available())")

DEVICE = "cuda:0"


def seed(device: str = DEVICE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The seed's example on ``device``: mse = (1 - x*w)^2 with x = 1, w = 2."""
    x = torch.ones(1, device=device)
    w = torch.full([1], 2.0, device=device, requires_grad=True)
    return x, w, F.mse_loss(torch.ones(1, device=device), x * w)


def notices(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [c for c in caught if issubclass(c.category, GradAccumulationWarning)]


# --- grad / backward ---------------------------------------------------------------


def test_grad_matches_torch_and_stays_on_the_device():
    _, w, mse = seed()
    (ours,) = gradlab.grad(mse, [w], retain_graph=True)
    (theirs,) = torch.autograd.grad(mse, [w])
    assert ours.device == w.device and ours.device.type == "cuda"
    torch.testing.assert_close(ours, theirs)
    assert ours.tolist() == [2.0]
    assert w.grad is None


def test_backward_fills_a_cuda_grad():
    _, w, mse = seed()
    gradlab.backward(mse)
    assert w.grad is not None and w.grad.device.type == "cuda"
    assert w.grad.tolist() == [2.0]


def test_accumulation_notice_with_a_cuda_grad():
    x, w, _ = seed()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(F.mse_loss(torch.ones(1, device=DEVICE), x * w))
        assert notices(caught) == []  # the first backward writes into an empty .grad
        gradlab.backward(F.mse_loss(torch.ones(1, device=DEVICE), x * w))
    told = notices(caught)
    assert len(told) == 1
    text = str(told[0].message)
    assert "累加" in text and "ADDED" in text and "zero_()" in text
    assert w.grad.device.type == "cuda" and w.grad.tolist() == [4.0]  # PyTorch's behaviour: 2 + 2
    w.grad.zero_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlab.backward(F.mse_loss(torch.ones(1, device=DEVICE), x * w))
    assert notices(caught) == []  # zeroed: nothing accumulates
    assert w.grad.tolist() == [2.0]


def test_backward_over_many_cuda_parameters_matches_torch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(DEVICE)
    x = torch.randn(32, 8, device=DEVICE)
    gradlab.backward(model(x).pow(2).mean(), inputs=list(model.parameters()))
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    torch.autograd.backward(model(x).pow(2).mean())
    for mine, p in zip(ours, model.parameters(), strict=True):
        assert mine.device.type == "cuda"
        torch.testing.assert_close(mine, p.grad)


# --- Jacobians, check_grad, vjp ---------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_jacobian_every_method_on_cuda(method):
    a = torch.tensor([0.7728, 0.4713, 0.9653], dtype=torch.float64, device=DEVICE)
    J = gradlab.jacobian(lambda z: torch.softmax(z, dim=0), a, method=method)
    assert J.device.type == "cuda" and J.shape == (3, 3) and not J.requires_grad
    torch.testing.assert_close(J, gradlab.softmax_jacobian(a, dim=0))
    assert gradlab.softmax_jacobian(a, dim=0).device.type == "cuda"
    cpu = gradlab.jacobian(lambda z: torch.softmax(z, dim=0), a.cpu(), method=method)
    torch.testing.assert_close(J.cpu(), cpu)


@pytest.mark.parametrize("method", METHODS)
def test_per_sample_jacobian_on_cuda(method):
    torch.manual_seed(0)
    logits = torch.randn(6, 5, dtype=torch.float64, device=DEVICE)
    blocks = gradlab.jacobian(lambda z: torch.softmax(z, dim=-1), logits, method=method, batch_dim=0)
    assert blocks.device.type == "cuda" and blocks.shape == (6, 5, 5)
    torch.testing.assert_close(blocks, gradlab.softmax_jacobian(logits, dim=-1))


def test_jacobian_with_two_inputs_and_two_outputs_on_cuda():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, device=DEVICE)
    y = torch.tensor([3.0, -1.0], dtype=torch.float64, device=DEVICE)
    for method in METHODS:
        (jxx, jxy), (jyx, jyy) = gradlab.jacobian(lambda a, b: (a * b, a.sum() + b), (x, y), method=method)
        torch.testing.assert_close(jxx, torch.diag(y))
        torch.testing.assert_close(jxy, torch.diag(x))
        torch.testing.assert_close(jyx, torch.ones(2, 2, dtype=torch.float64, device=DEVICE))
        torch.testing.assert_close(jyy, torch.eye(2, dtype=torch.float64, device=DEVICE))
        assert all(t.device.type == "cuda" for t in (jxx, jxy, jyx, jyy))


def test_jacobian_under_inference_mode_on_cuda():
    a = torch.tensor([0.7728, 0.4713, 0.9653], dtype=torch.float64, device=DEVICE)
    with torch.inference_mode():
        for method in METHODS:
            J = gradlab.jacobian(lambda z: torch.softmax(z, dim=0), a, method=method)
            torch.testing.assert_close(J, gradlab.softmax_jacobian(a, dim=0))


def test_check_grad_on_cuda_passes_a_right_function_and_fails_a_wrong_one():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, device=DEVICE)
    result = gradlab.check_grad(lambda t: t.sin() * t, x)
    assert result.passed and len(result.entries) == 9 and not result.upcast
    assert result.max_abs_error < 1e-8

    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return g * t  # should be 2·t

    wrong = gradlab.check_grad(WrongSquare.apply, x)
    assert not wrong.passed
    assert [e.ok for e in wrong.entries] == [False, True, True, True, False, True, True, True, False]


def test_check_grad_upcasts_a_float32_cuda_input():
    x = torch.tensor([0.5, 1.5], device=DEVICE)
    result = gradlab.check_grad(torch.exp, x)
    assert result.passed and result.upcast


def test_vjp_on_cuda_is_what_backward_leaves_in_grad():
    x = torch.tensor([0.5, -1.0, 2.0], device=DEVICE)
    v = torch.tensor([1.0, 0.0, -2.0], device=DEVICE)
    output, vjp = gradlab.vjp(lambda t: torch.softmax(t, dim=0), x, v)
    assert output.device.type == "cuda" and vjp.device.type == "cuda"
    leaf = x.clone().requires_grad_()
    torch.softmax(leaf, dim=0).backward(gradient=v)
    torch.testing.assert_close(vjp, leaf.grad)
    result = gradlab.vjp(lambda t: torch.softmax(t, dim=0), x, v)
    torch.testing.assert_close(result.via_jacobian, vjp)
    assert result.max_abs_diff < 1e-6


# --- graphs and pictures ------------------------------------------------------------------


def test_build_graph_records_the_device():
    _, w, mse = seed()  # names come from the caller's variables: w must be one
    graph = gradlab.build_graph(mse)
    leaf = graph.find("w")
    assert leaf.obj is w and leaf.device == DEVICE
    assert DEVICE in leaf.label
    assert graph.find("mse").device == DEVICE
    saved = [node for node in graph if node.kind == "saved" and node.device is not None]
    assert saved and all(node.device == DEVICE for node in saved)


def test_draw_shows_the_device_and_is_valid_svg():
    _, w, mse = seed()
    svg = gradlab.draw(mse).to_svg()
    ET.fromstring(svg)  # parses as XML
    assert DEVICE in svg
    assert not re.search(r"0x[0-9a-fA-F]{6,}", svg)  # no memory address
    mse.backward(retain_graph=True)
    assert w.grad.device.type == "cuda"  # w: also the name build_graph finds for the leaf
    after = gradlab.draw(mse).to_svg()  # .grad on the device is read for the label
    ET.fromstring(after)
    assert "梯度 / grad [2.]" in after
    assert gradlab.build_graph(mse).find("w").label == f"w\n(1,) float32 {DEVICE}\n值 / value [2.]\n梯度 / grad [2.]"


def seed_labels(device: str) -> list[str]:
    _, _, mse = seed(device)
    return [node.label for node in gradlab.build_graph(mse)]


def test_a_cuda_graph_is_drawn_like_the_cpu_one_but_for_the_device():
    on_cuda = seed_labels(DEVICE)
    assert any(DEVICE in label for label in on_cuda)
    assert [label.replace(f" {DEVICE}", "") for label in on_cuda] == seed_labels("cpu")


def test_trace_backward_on_cuda():
    _, w, mse = seed()
    trace = gradlab.trace_backward(mse)
    assert [s.name for s in trace.steps] == ["MseLossBackward0", "MulBackward0", "AccumulateGrad"]
    graph = trace.graph
    flowed = [e.grad for e in graph.edges if e.grad is not None]
    assert flowed and all(g.device.type == "cuda" for g in flowed)
    grads = {
        (graph.nodes[e.src].name, graph.nodes[e.dst].name): e.grad.tolist() for e in graph.edges if e.grad is not None
    }
    assert grads[("MulBackward0", "AccumulateGrad")] == [2.0]
    assert grads[("AccumulateGrad", "w")] == [2.0]
    assert w.grad.device.type == "cuda" and w.grad.tolist() == [2.0]
    acc = trace.steps[-1]
    assert acc.grad_before is None and acc.grad_after.tolist() == [2.0]


def test_trace_backward_with_inputs_on_cuda_matches_torch_grad():
    _, w, mse = seed()
    trace = gradlab.trace_backward(mse, inputs=[w], retain_graph=True)
    (theirs,) = torch.autograd.grad(mse, [w])
    assert trace.grads is not None
    torch.testing.assert_close(trace.grads[0], theirs)
    assert trace.grads[0].device.type == "cuda" and w.grad is None


# --- the explorers --------------------------------------------------------------------------


EXPLORER_MOVES = [  # (constructor name, keyword arguments, slider, new value)
    ("mse_explorer", {"x": 1.5, "w": 0.5, "target": 2.0}, "w", -1.0),
    ("softmax_explorer", {"logits": [0.3, -1.2, 2.0]}, "a1", 0.9),
    ("descent_explorer", {"x": 1.5, "w": -2.0, "target": 1.0, "lr": 0.2, "steps": 5}, "lr", 0.35),
]


@pytest.mark.parametrize(("make", "kwargs", "name", "value"), EXPLORER_MOVES)
def test_explorers_are_unaffected_by_a_cuda_default_device(make, kwargs, name, value):
    widgets = pytest.importorskip("gradlab.widgets")
    expected = getattr(widgets, make)(**kwargs)
    built = expected.state
    expected.sliders[name].value = value
    torch.set_default_device(DEVICE)
    try:
        explorer = getattr(widgets, make)(**kwargs)  # construction
        assert explorer.state == built
        explorer.sliders[name].value = value  # a slider move
    finally:
        torch.set_default_device(None)
    assert explorer.state == expected.state
    assert explorer._readout.value == expected._readout.value
