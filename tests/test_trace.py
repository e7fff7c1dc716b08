"""Tests for gradlab.trace_backward.

Every trace is checked against a recorder written independently here: it
walks ``next_functions`` itself, puts its own hooks on every autograd node,
runs plain ``torch.autograd.backward`` / ``torch.autograd.grad`` on the same
graph (kept with ``retain_graph=True``) and keeps what each node sent. So an
arrow whose gradient the trace gets wrong, misses or invents fails the test.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradlab
import gradlab.trace
from gradlab import BackwardTrace, build_graph, trace_backward

# --- Independent reference ------------------------------------------------------


def autograd_nodes(outputs: tuple[torch.Tensor, ...]) -> list:
    """Every autograd node reachable from ``outputs`` (breadth first, by identity)."""
    found: list = []
    queue = [t.grad_fn for t in outputs if t.grad_fn is not None]
    while queue:
        fn = queue.pop(0)
        if any(fn is f for f in found):
            continue
        found.append(fn)
        queue.extend(child for child, _ in fn.next_functions if child is not None)
    return found


def record_plain(outputs: tuple[torch.Tensor, ...], kwargs: dict) -> tuple[list, dict, object]:
    """Run plain PyTorch with hooks of our own: (order, {id(fn): grad_inputs}, what grad returned)."""
    order: list = []
    sent: dict = {}

    def hook_for(fn):
        def hook(grad_inputs, grad_outputs):
            order.append(fn)
            sent[id(fn)] = tuple(None if g is None else g.detach().clone() for g in grad_inputs)

        return hook

    handles = [fn.register_hook(hook_for(fn)) for fn in autograd_nodes(outputs)]
    try:
        kwargs = dict(kwargs, retain_graph=True)
        inputs = kwargs.pop("inputs", None)
        grad_outputs = kwargs.pop("grad_outputs", None)
        if inputs is None:
            torch.autograd.backward(outputs, grad_tensors=grad_outputs, **kwargs)
            returned = None
        else:
            returned = torch.autograd.grad(outputs, inputs, grad_outputs=grad_outputs, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return order, sent, returned


def same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.device == b.device and torch.allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.fixture
def recorders(monkeypatch) -> list:
    """Weak references to every recorder trace_backward creates: dead once no hook holds them.

    Autograd nodes expose no hook dictionary (torch 2.13: no ``_backward_hooks`` on C++ nodes nor
    on custom Function nodes), so "no hook left" is checked this way: every hook trace_backward
    registers holds its recorder, so a recorder that is garbage after the call has no hook on any node.
    """
    refs: list = []
    original = gradlab.trace._Recorder.__init__

    def init(self):
        original(self)
        refs.append(weakref.ref(self))

    monkeypatch.setattr(gradlab.trace._Recorder, "__init__", init)
    return refs


def assert_no_hook_left(refs: list) -> None:
    gc.collect()
    assert refs, "trace_backward created no recorder"
    assert all(ref() is None for ref in refs), "a hook still holds the recorder"


# --- Models -----------------------------------------------------------------------
# Each returns (outputs, leaves, keyword arguments for trace_backward).


def seed_mse():
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    return (mse,), [w], {}


def softmax_row():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    p = torch.softmax(a * b, dim=0)
    return (p[1],), [a, b], {"inputs": [a]}


def fan_out():
    a = torch.tensor(3.0, requires_grad=True)
    return (a + a,), [a], {}


def mlp_cross_entropy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(5, 4)
    y = torch.tensor([0, 2, 1, 1, 0])
    loss = F.cross_entropy(model(x), y)
    return (loss,), list(model.parameters()), {}


def lstm_unrolled():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    h = torch.zeros(2, 4)
    c = torch.zeros(2, 4)
    xs = torch.randn(3, 2, 3)
    for t in range(3):
        h, c = cell(xs[t], (h, c))
    loss = h.square().sum()
    return (loss,), list(cell.parameters()), {}


def conv_batchnorm():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(18, 1))
    x = torch.randn(4, 1, 5, 5)
    loss = net(x).square().mean()
    return (loss,), list(net.parameters()), {}


def double_backward():
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y = (x**3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)  # g = 3 x², itself a graph
    out = (g * x).sum()
    return (out,), [x], {}


def create_graph_trace():
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y = (torch.sin(x) * x).sum()
    return (y,), [x], {"create_graph": True}


def shared_subgraph():
    torch.manual_seed(0)
    x = torch.randn(3, 4)
    weight = torch.randn(4, 2, requires_grad=True)
    h = torch.tanh(x @ weight)
    y1 = h.sum()
    y2 = (h * h).mean()
    return (y1, y2), [weight], {}


def views_in_place():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    w = torch.tensor(0.5, requires_grad=True)
    a = x.clone()
    a[:2].mul_(w)  # in place on a view: CopySlices
    b = a.view(2, 2).t()
    b.relu_()
    out = b.sum(dim=1).pow(2).sum()
    return (out,), [x, w], {}


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


def custom_function():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    out = Cube.apply(x * w).sum()
    return (out,), [x, w], {}


def vector_output():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.exp(x)
    return (y,), [x], {"grad_outputs": torch.tensor([1.0, 0.0, -1.0])}


MODELS: dict[str, Callable] = {
    "seed_mse": seed_mse,
    "softmax_row": softmax_row,
    "fan_out": fan_out,
    "mlp_cross_entropy": mlp_cross_entropy,
    "lstm_unrolled": lstm_unrolled,
    "conv_batchnorm": conv_batchnorm,
    "double_backward": double_backward,
    "create_graph_trace": create_graph_trace,
    "shared_subgraph": shared_subgraph,
    "views_in_place": views_in_place,
    "custom_function": custom_function,
    "vector_output": vector_output,
}


def check_trace(outputs, leaves, kwargs, refs) -> BackwardTrace:
    """Trace (keeping the graph), then replay with the reference recorder, and compare everything."""
    expected = build_graph(*outputs)
    before = [None if leaf.grad is None else leaf.grad.clone() for leaf in leaves]

    trace = trace_backward(*outputs, retain_graph=True, **kwargs)
    assert_no_hook_left(refs)
    traced_grads = [None if leaf.grad is None else leaf.grad.detach().clone() for leaf in leaves]
    for leaf, held in zip(leaves, before, strict=True):
        leaf.grad = held

    order, sent, returned = record_plain(outputs, kwargs)

    # trace.graph is build_graph's graph: same ids, kinds, names, labels and arrows.
    assert trace.graph.nodes == expected.nodes
    assert trace.graph.edges == expected.edges
    assert trace.graph.outputs == expected.outputs

    # The engine order, node for node.
    assert [trace.graph.nodes[s.node].obj for s in trace.steps] == order
    assert [s.index for s in trace.steps] == list(range(len(order)))

    # Every arrow carries what the sender sent along that slot.
    carried = 0
    for edge in trace.graph.edges:
        if edge.kind == "next":
            sender = trace.graph.nodes[edge.src].obj
            want = sent[id(sender)][edge.index] if id(sender) in sent else None
            assert same(edge.grad, want), (edge, want)
            carried += want is not None
        elif edge.kind == "saved":
            assert edge.grad is None
    assert carried > 0

    # Detached copies, never the engine's own tensors.
    for step in trace.steps:
        for g in (*step.grad_outputs, *step.grad_inputs, step.grad_before, step.grad_after):
            assert g is None or (g.grad_fn is None and not g.requires_grad)

    # No function runs before one that feeds it.
    position = {s.node: s.index for s in trace.steps}
    for edge in trace.graph.edges:
        if edge.kind == "next" and edge.src in position and edge.dst in position:
            assert position[edge.src] < position[edge.dst], edge

    # The leaves end up exactly as plain PyTorch leaves them.
    for leaf, traced in zip(leaves, traced_grads, strict=True):
        assert same(traced, leaf.grad)
    if kwargs.get("inputs") is None:
        assert trace.grads is None
    else:
        assert len(trace.grads) == len(returned)
        for ours, theirs in zip(trace.grads, returned, strict=True):
            assert same(ours, theirs)
        for leaf, held in zip(leaves, before, strict=True):
            assert same(leaf.grad, held)  # autograd.grad touches no .grad
    return trace


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_arrow_matches_an_independent_recorder(name, recorders):
    outputs, leaves, kwargs = MODELS[name]()
    check_trace(outputs, leaves, kwargs, recorders)


def test_ids_and_names_are_build_graphs(recorders):
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    expected = [(n.id, n.kind, n.name, n.tensor_name) for n in build_graph(mse).nodes]
    trace = trace_backward(mse)
    assert [(n.id, n.kind, n.name, n.tensor_name) for n in trace.graph.nodes] == expected
    assert trace.graph.find("w").kind == "leaf"
    assert "x" in [n.tensor_name for n in trace.graph.nodes]  # MulBackward0 saved x: named from our frame
    assert_no_hook_left(recorders)


def test_names_come_from_the_caller_not_from_trace_backward():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = torch.tensor([0.0, 1.0, 0.0])
    p = torch.softmax(a, dim=0)
    trace = trace_backward(p, inputs=a, grad_outputs=v)  # a single tensor, not a list
    assert trace.graph.find("a").kind == "leaf"
    assert trace.graph.find("p").kind == "output"
    assert "inputs" not in [n.name for n in trace.graph.nodes]
    assert torch.allclose(trace.grads[0], torch.autograd.grad(torch.softmax(a, 0)[1], a)[0])


def test_a_non_leaf_input_stops_the_engine_there():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    loss = (h * h).sum()
    trace = trace_backward(loss, inputs=[h])
    graph = trace.graph
    assert torch.allclose(trace.grads[0], 2 * h.detach())
    h_fn = graph.node_for(h).id
    assert trace.status(len(trace))[h_fn] == "skipped"  # the gradient stops at h
    into_h = [e.grad for e in graph.edges if e.dst == h_fn and e.kind == "next"]
    assert into_h and all(g is not None for g in into_h)
    assert x.grad is None


# --- The seed, number by number --------------------------------------------------


def test_seed_steps_and_arrows():
    (mse,), (w,), _ = seed_mse()
    trace = trace_backward(mse)
    graph = trace.graph
    assert [s.name for s in trace.steps] == ["MseLossBackward0", "MulBackward0", "AccumulateGrad"]
    mse_step, mul_step, acc_step = trace.steps
    assert mse_step.grad_outputs[0].item() == 1.0
    assert mse_step.grad_inputs[0] is None and mse_step.grad_inputs[1].tolist() == [2.0]
    assert mul_step.sends_to == (None, graph.find("AccumulateGrad").id)
    assert acc_step.leaf == graph.find("w").id
    assert acc_step.grad_before is None and acc_step.grad_after.tolist() == [2.0]
    grads = {(graph.nodes[e.src].name, graph.nodes[e.dst].name): e.grad for e in graph.edges if e.grad is not None}
    assert {k: v.tolist() for k, v in grads.items()} == {
        ("mse", "MseLossBackward0"): 1.0,
        ("MseLossBackward0", "MulBackward0"): [2.0],
        ("MulBackward0", "AccumulateGrad"): [2.0],
        ("AccumulateGrad", "w"): [2.0],
    }
    assert w.grad.tolist() == [2.0]
    # The graph was freed, as after plain backward().
    with pytest.raises(RuntimeError, match="second time"):
        mse.backward()


def test_chain_rule_in_numbers_for_the_seed():
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    trace = trace_backward(mse)
    (rule,) = trace.chain_rule(1)  # MulBackward0
    assert (rule.upstream, rule.local, rule.downstream) == (2.0, 1.0, 2.0)
    assert rule.factor == "x" and rule.into == "w" and rule.slot == 1
    assert str(rule) == "2. × x = 2. → w"
    (first,) = trace.chain_rule(0)  # MseLossBackward0: 1 × 2(xw − 1) = 2
    assert (first.upstream, first.local, first.downstream, first.factor) == (1.0, 2.0, 2.0, None)
    assert first.into == "MulBackward0"
    assert trace.chain_rule(2) == []  # AccumulateGrad sends nothing on


def test_chain_rule_only_for_single_numbers():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    trace = trace_backward((x * 3).sum())
    assert [s.name for s in trace.steps[:2]] == ["SumBackward0", "MulBackward0"]
    assert trace.chain_rule(0) == []  # sends a vector
    assert trace.chain_rule(1) == []  # receives a vector
    y = torch.tensor(0.0, requires_grad=True)
    trace = trace_backward(y * y)  # upstream 1, downstream 0: local 0
    assert [r.local for r in trace.chain_rule(0)] == [0.0, 0.0]
    z = torch.tensor(2.0, requires_grad=True)
    trace = trace_backward((z * 0.0) ** 2)  # MulBackward0 receives 2·0 = 0: no local derivative to read off
    zero_upstream = [r for i in range(len(trace)) for r in trace.chain_rule(i) if r.upstream == 0.0]
    assert zero_upstream and all(r.local is None and r.factor is None for r in zero_upstream)
    assert all("?" in str(r) for r in zero_upstream)


@pytest.mark.parametrize(
    ("op", "derivative"),
    [
        (torch.sin, torch.cos),
        (torch.exp, torch.exp),
        (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
        (lambda x: x**2, lambda x: 2 * x),
        (torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    ],
)
def test_chain_rule_local_derivative_is_the_closed_form(op, derivative):
    x0 = torch.tensor(0.7, dtype=torch.float64)
    w = x0.clone().requires_grad_()
    out = op(w) * 3.0  # upstream into op is 3, not 1
    trace = trace_backward(out)
    (rule,) = trace.chain_rule(1)
    assert rule.upstream == 3.0
    assert rule.local == pytest.approx(derivative(x0).item(), rel=1e-12)
    assert rule.downstream == pytest.approx(3.0 * derivative(x0).item(), rel=1e-12)
    assert rule.into == "w"


def test_status_and_edge_grads_step_by_step():
    outputs, _, _ = seed_mse()
    trace = trace_backward(*outputs)
    graph = trace.graph
    mse_fn, mul, acc = (graph.find(n).id for n in ("MseLossBackward0", "MulBackward0", "AccumulateGrad"))
    assert trace.status(0) == {mse_fn: "waiting", mul: "waiting", acc: "waiting"}
    assert trace.status(1) == {mse_fn: "current", mul: "waiting", acc: "waiting"}
    assert trace.status(2) == {mse_fn: "done", mul: "current", acc: "waiting"}
    assert trace.status(3) == {mse_fn: "done", mul: "done", acc: "current"}
    shown = [
        sorted(e.kind for e, g in zip(graph.edges, trace.edge_grads(k), strict=True) if g is not None) for k in range(4)
    ]
    assert shown == [
        ["grad_fn"],
        ["grad_fn", "next"],
        ["grad_fn", "next", "next"],
        ["grad_fn", "next", "next", "variable"],
    ]
    assert all(g is e.grad for g, e in zip(trace.edge_grads(3), graph.edges, strict=True))
    assert (
        trace.step_of(mul) is trace.steps[1]
        and trace.step_of(next(n.id for n in graph.nodes if n.kind == "leaf")) is None
    )


def test_skipped_nodes_off_the_path_of_inputs():
    outputs, (a, b), kwargs = softmax_row()
    trace = trace_backward(*outputs, **kwargs)
    graph = trace.graph
    state = trace.status(len(trace))
    acc_a, acc_b = (graph.node_for(leaf.grad_fn) for leaf in (a, b))  # leaves have no grad_fn
    assert acc_a is None and acc_b is None
    accumulators = [n.id for n in graph.nodes if n.kind == "accumulate"]
    assert [state[i] for i in accumulators] == ["skipped", "skipped"]  # autograd.grad stops at the inputs
    arrows = {graph.nodes[graph.children(e.dst)[0]].name: e.grad for e in graph.edges if e.dst in accumulators}
    assert arrows["b"] is None  # b is off the path: nothing flowed to it
    assert torch.equal(arrows["a"], trace.grads[0])
    assert a.grad is None and b.grad is None


# --- Fan-out, accumulation, retain_graph ------------------------------------------


def test_fan_out_two_arrows_add_up():
    a = torch.tensor(3.0, requires_grad=True)
    trace = trace_backward(a + a)
    graph = trace.graph
    acc = graph.find("AccumulateGrad").id
    into = [e for e in graph.edges if e.dst == acc]
    assert [(e.index, e.grad.item()) for e in into] == [(0, 1.0), (1, 1.0)]
    assert trace.steps[-1].grad_outputs[0].item() == 2.0  # the engine summed the two arrows
    assert trace.steps[-1].grad_after.item() == 2.0 == a.grad.item()


def test_retain_graph_then_a_second_trace_accumulates():
    outputs, (w,), _ = seed_mse()
    first = trace_backward(*outputs, retain_graph=True)
    second = trace_backward(*outputs)
    assert first.steps[-1].grad_before is None and first.steps[-1].grad_after.tolist() == [2.0]
    assert second.steps[-1].grad_before.tolist() == [2.0] and second.steps[-1].grad_after.tolist() == [4.0]
    assert w.grad.tolist() == [4.0]
    assert [e.kind for e in first.graph.edges] == [e.kind for e in second.graph.edges]
    with pytest.raises(RuntimeError, match="retain_graph"):
        trace_backward(*outputs)


def test_trace_does_not_change_when_grad_changes_afterwards():
    outputs, (w,), _ = seed_mse()
    trace = trace_backward(*outputs)
    w.grad.mul_(10)  # e.g. an optimizer step or zero_()
    assert trace.steps[-1].grad_after.tolist() == [2.0]
    assert trace.steps[-1].grad_outputs[0].tolist() == [2.0]


def test_each_gradient_is_copied_once_and_the_engines_are_let_go():
    h = torch.tensor([1.0], requires_grad=True)
    engine_grads: list = []
    out = h
    for _ in range(50):
        out = out * 2
        out.register_hook(lambda g: engine_grads.append(weakref.ref(g)))
    alive_at_the_end: list = []
    h.register_hook(lambda g: alive_at_the_end.append(sum(ref() is not None for ref in engine_grads)))
    trace = trace_backward(out)
    assert alive_at_the_end[0] <= 2  # while backward runs, the engine frees gradients it no longer needs
    # What one function sends is what the next receives: one copy, shared.
    for sender, receiver in zip(trace.steps, trace.steps[1:], strict=False):
        assert receiver.grad_outputs[0] is sender.grad_inputs[0]
    copies = {id(g) for s in trace.steps for g in (*s.grad_outputs, *s.grad_inputs) if g is not None}
    assert len(copies) == len(trace.steps)
    gc.collect()
    assert len(engine_grads) == 50 and all(ref() is None for ref in engine_grads)  # the trace holds only copies


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True:UserWarning")
def test_create_graph_then_trace_the_gradient():
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    y = (x**3).sum()
    first = trace_backward(y, inputs=[x], create_graph=True)
    (g,) = first.grads
    assert g.grad_fn is not None  # a graph of its own, as torch.autograd.grad returns it
    assert torch.allclose(g, 3 * x.detach() ** 2)
    second = trace_backward(g.sum())
    assert torch.allclose(x.grad, 6 * x.detach())
    assert any(s.name == "PowBackward1" or s.name.startswith("Mul") for s in second.steps)


def test_a_non_scalar_output_with_grad_outputs_starts_with_them():
    outputs, (x,), kwargs = vector_output()
    trace = trace_backward(*outputs, **kwargs)
    start = next(e for e in trace.graph.edges if e.kind == "grad_fn")
    assert start.grad.tolist() == [1.0, 0.0, -1.0]
    assert trace.grad_outputs[0].tolist() == [1.0, 0.0, -1.0]
    assert torch.allclose(x.grad, torch.exp(x.detach()) * torch.tensor([1.0, 0.0, -1.0]))


def test_repr_is_short_and_deterministic():
    outputs, _, _ = seed_mse()
    trace = trace_backward(*outputs)
    assert repr(trace) == "BackwardTrace(3 steps, 4 of 8 arrows carried a gradient)"
    assert repr(trace.steps[1]) == "Step(1: MulBackward0 #5, grad_outputs=([2.]), grad_inputs=(None, [2.]))"
    assert repr(trace.steps[2]).endswith("grad None -> [2.])")


# --- Bad input ---------------------------------------------------------------------


def bilingual_text(error: BaseException, zh: str, en: str) -> str:
    text = str(error)
    assert zh in text and en in text, text
    assert text.index(zh) < text.index(en)  # Chinese first
    return text


def test_error_no_grad_fn(recorders):
    with pytest.raises(RuntimeError) as info:
        trace_backward(torch.ones(2) * 3)
    bilingual_text(info.value, "没有 grad_fn", "has no grad_fn")
    assert "requires_grad_()" in str(info.value)
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        trace_backward(w)
    bilingual_text(info.value, "叶子张量", "leaf tensor")
    assert recorders == []  # refused before any hook was registered


def test_error_freed_graph_says_retain_graph(recorders):
    outputs, _, _ = seed_mse()
    outputs[0].backward()
    with pytest.raises(RuntimeError) as info:
        trace_backward(*outputs)
    text = bilingual_text(info.value, "计算图已经被释放", "The graph was already freed")
    assert "retain_graph=True" in text
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "second time" in str(info.value.__cause__)  # chained to PyTorch's own error
    assert_no_hook_left(recorders)  # hooks removed although PyTorch raised


def test_error_non_scalar_without_grad_outputs(recorders):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        trace_backward(x * 2)
    bilingual_text(info.value, "输出不是标量", "The output is not a scalar")
    assert "implicitly created only for scalar outputs" in str(info.value.__cause__)
    assert x.grad is None
    assert_no_hook_left(recorders)


@pytest.mark.parametrize(
    ("call", "zh", "en"),
    [
        (lambda x: trace_backward(3.0), "应该是张量", "must be a tensor, not float"),
        (lambda x: trace_backward([x.sum(), "loss"]), "outputs[1] 应该是张量", "outputs[1] must be a tensor, not str"),
        (lambda x: trace_backward(), "没有传入", "No tensor was given"),
        (lambda x: trace_backward(x.sum(), grad_outputs="one"), "grad_outputs 应该是张量", "grad_outputs must be"),
    ],
)
def test_error_non_tensor(call, zh, en):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as info:
        call(x)
    bilingual_text(info.value, zh, en)
    assert x.grad is None


def test_error_integer_input(recorders):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        trace_backward(x.sum(), inputs=[torch.tensor([1, 2])])
    bilingual_text(info.value, "整数或布尔张量不能求梯度", "integer and bool tensors cannot have gradients")
    with pytest.raises(RuntimeError) as info:  # the type torch.autograd.grad raises
        trace_backward(x.sum(), inputs=[1.0])
    bilingual_text(info.value, "inputs[0] 应该是张量", "inputs[0] must be a tensor")
    with pytest.raises(TypeError) as info:
        trace_backward(x.sum(), inputs=2.0)
    bilingual_text(info.value, "inputs 应该是张量或张量列表", "inputs must be a tensor or a list of tensors, not float")
    assert recorders == [] and x.grad is None


def test_inputs_as_generator_or_dict_like_autograd_grad():
    """trace_backward takes what gradlab.grad takes: model.parameters() and dicts (the result is then a dict)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.ones(2, 3)
    expected = torch.autograd.grad(model(x).sum(), list(model.parameters()))
    trace = trace_backward(model(x).sum(), inputs=model.parameters())
    assert isinstance(trace.grads, tuple) and len(trace.grads) == 2
    for ours, theirs in zip(trace.grads, expected, strict=True):
        torch.testing.assert_close(ours, theirs)
    trace = trace_backward(model(x).sum(), inputs={"weight": model.weight, "bias": model.bias})
    assert isinstance(trace.grads, dict) and list(trace.grads) == ["weight", "bias"]
    torch.testing.assert_close(trace.grads["bias"], expected[1])
    assert model.weight.grad is None


def test_error_unused_input_is_pytorchs_with_a_hint(recorders):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    unused = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        trace_backward(x.sum(), inputs=[unused])
    bilingual_text(info.value, "没有参与输出的计算", "was not used to compute the output")
    assert info.value.__cause__ is not None
    assert_no_hook_left(recorders)


@pytest.mark.parametrize("step", [-1, 4, 1.5, True, "1"])
def test_error_step_out_of_range(step):
    outputs, _, _ = seed_mse()
    trace = trace_backward(*outputs)
    for method in (trace.status, trace.edge_grads):
        with pytest.raises(IndexError) as info:
            method(step)
        bilingual_text(info.value, "step 应该是 0 到 3 之间的整数", "step must be a whole number from 0 to 3")
    with pytest.raises(IndexError) as info:
        trace.chain_rule(3)
    bilingual_text(info.value, "index 应该是 0 到 2 之间的整数", "index must be a whole number from 0 to 2")


# --- Size and devices ----------------------------------------------------------------


def test_a_10000_op_chain_needs_no_recursion():
    h = torch.tensor([1.0], requires_grad=True)
    leaf = h
    for _ in range(10_000):
        h = h * 1.0001
    trace = trace_backward(h)
    assert len(trace.steps) == 10_001
    assert trace.steps[-1].name == "AccumulateGrad"
    assert torch.allclose(leaf.grad, h.detach(), rtol=1e-4)  # h = leaf · 1.0001¹⁰⁰⁰⁰ with leaf = 1
    assert torch.equal(trace.steps[-1].grad_after, leaf.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors(recorders):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).cuda()
    x = torch.randn(5, 4, device="cuda")
    y = torch.tensor([0, 2, 1, 1, 0], device="cuda")
    loss = F.cross_entropy(model(x), y)
    trace = check_trace((loss,), list(model.parameters()), {}, recorders)
    assert all(e.grad.device.type == "cuda" for e in trace.graph.edges if e.grad is not None)
    assert all(s.grad_after.is_cuda for s in trace.steps if s.name == "AccumulateGrad")
