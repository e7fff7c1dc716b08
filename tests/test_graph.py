"""Tests for gradlab.build_graph and gradlab.draw.

Every graph is compared with a reference traversal written independently
here (a breadth-first walk over ``next_functions`` that keeps the autograd
objects themselves), so a node the builder misses, duplicates or invents
fails the test.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import gradlab
import gradlab.dot
import gradlab.render
from gradlab import Graph, GraphView, build_graph, draw
from gradlab._paint import english
from gradlab.layout import pav as _pav

# --- Reference traversal ------------------------------------------------------


def reference(*outputs: torch.Tensor) -> dict:
    """Functions, leaves, edges and saved attribute names reachable from ``outputs`` (BFS, by identity)."""
    functions: list = []
    edges: set = set()
    queue = [t.grad_fn for t in outputs if t.grad_fn is not None]
    for fn in queue:
        if not any(fn is f for f in functions):
            functions.append(fn)
    head = 0
    while head < len(queue):
        fn = queue[head]
        head += 1
        for index, (child, _) in enumerate(fn.next_functions):
            if child is None:
                continue
            edges.add((id(fn), id(child), index))
            if not any(child is f for f in functions):
                functions.append(child)
                queue.append(child)
    leaves = [f.variable for f in functions if hasattr(f, "variable")]
    leaves += [t for t in outputs if t.grad_fn is None]
    saved = {}
    for fn in functions:
        names = set()
        for attribute in dir(fn):
            if attribute.startswith("_saved_"):
                try:
                    if getattr(fn, attribute) is None:
                        continue
                except RuntimeError:
                    pass  # freed: still a node
                names.add(attribute)
        saved[id(fn)] = names
    return {"functions": functions, "edges": edges, "leaves": leaves, "saved": saved}


def assert_matches_reference(graph: Graph, *outputs: torch.Tensor) -> None:
    ref = reference(*outputs)
    fn_nodes = [n for n in graph.nodes if n.kind in ("function", "accumulate")]
    assert len(fn_nodes) == len(ref["functions"])  # each function exactly once
    assert {id(n.obj) for n in fn_nodes} == {id(f) for f in ref["functions"]}
    for node in fn_nodes:
        assert node.name == ("AccumulateGrad" if node.kind == "accumulate" else type(node.obj).__name__)
    leaf_nodes = [n for n in graph.nodes if n.kind == "leaf"]
    assert len(leaf_nodes) == len({id(t) for t in ref["leaves"]})
    assert {id(n.obj) for n in leaf_nodes} == {id(t) for t in ref["leaves"]}
    by_id = {n.id: n for n in graph.nodes}
    next_edges = {(id(by_id[e.src].obj), id(by_id[e.dst].obj), e.index) for e in graph.edges if e.kind == "next"}
    assert next_edges == ref["edges"]
    for node in fn_nodes:
        if node.kind == "function" and not isinstance(node.obj, torch.autograd.function.BackwardCFunction):
            names = {by_id[c].name for c in graph.children(node.id, saved=True) if by_id[c].kind == "saved"}
            assert names == ref["saved"][id(node.obj)], node.name
    outputs_with_fn = [t for t in outputs if t.grad_fn is not None]
    assert sum(n.kind == "output" for n in graph.nodes) == len(outputs_with_fn)
    assert [n.id for n in graph.nodes] == list(range(len(graph.nodes)))
    for edge in graph.edges:
        assert 0 <= edge.src < len(graph.nodes) and 0 <= edge.dst < len(graph.nodes)


# --- Graphs from the course ---------------------------------------------------


def test_seed_mse_graph_matches_reference_and_reads_well():
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    graph = build_graph(mse)
    assert_matches_reference(graph, mse)
    assert [n.kind for n in graph.nodes] == [
        "output", "function", "saved", "saved", "saved", "function", "saved", "accumulate", "leaf",
    ]  # fmt: skip
    assert [n.name for n in graph.nodes if n.kind != "saved"] == [
        "mse", "MseLossBackward0", "MulBackward0", "AccumulateGrad", "w",
    ]  # fmt: skip
    out = graph.find("mse")
    assert out.label.splitlines() == ["mse", "标量 / scalar float32", "值 / value 1."]
    leaf = graph.find("w")
    assert leaf.label.splitlines() == ["w", "(1,) float32", "值 / value [2.]", "梯度还没算出 / grad: not computed yet"]
    assert leaf.grad is None and torch.equal(leaf.value, torch.tensor([2.0]))
    saved = {n.name: n for n in graph.nodes if n.kind == "saved"}
    assert saved["_saved_reduction"].value == 1
    assert "1 (mean)" in saved["_saved_reduction"].label
    mul_saved = graph.nodes[6]
    assert mul_saved.name == "_saved_self" and mul_saved.tensor_name == "x"
    assert graph.find("MseLossBackward0").tensor_name == "mse"
    assert not any(n.freed for n in graph.nodes)
    assert graph.outputs == [0]

    mse.backward()
    after = build_graph(mse)
    assert after.find("w").label.splitlines()[-1] == "梯度 / grad [2.]"
    assert torch.equal(after.find("w").grad, torch.tensor([2.0]))


def test_softmax_jacobian_graph_and_highlighted_path():
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = F.softmax(a, dim=0)
    out = p[1]
    graph = build_graph(out)
    assert_matches_reference(graph, out)
    assert [n.name for n in graph.nodes if n.kind != "saved"] == [
        "out", "SelectBackward0", "SoftmaxBackward0", "AccumulateGrad", "a",
    ]  # fmt: skip
    result = next(n for n in graph.nodes if n.name == "_saved_result")
    assert result.tensor_name == "p"
    assert "[0.3388, 0.2506, 0.4107]" in result.label

    view = draw(out, highlight=[a])
    names = sorted(view.graph.nodes[i].name for i in view.highlighted)
    assert names == ["AccumulateGrad", "SelectBackward0", "SoftmaxBackward0", "a", "out"]
    svg = view.to_svg()
    assert svg.count(gradlab.render.HIGHLIGHT) >= 5 + 4  # 5 boxes, 4 arrows
    assert "highlighted path" in svg
    # highlighting by name or id gives the same set
    assert draw(out, highlight="a").highlighted == view.highlighted
    assert draw(out, highlight=graph.find("a").id).highlighted == view.highlighted


def test_two_layer_mlp_matches_reference_and_names_parameters():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    xb = torch.randn(5, 3)
    loss = F.mse_loss(model(xb), torch.zeros(5, 1))
    graph = build_graph(loss)
    assert_matches_reference(graph, loss)
    leaves = sorted(n.name for n in graph.nodes if n.kind == "leaf")
    assert leaves == ["model.0.bias", "model.0.weight", "model.2.bias", "model.2.weight"]
    weight = graph.find("model.0.weight")
    assert weight.shape == (4, 3)
    assert weight.label.splitlines()[2].startswith("值 / value mean=")  # 12 numbers: a summary
    svg = draw(loss).to_svg()
    assert "AddmmBackward0" in svg and "TanhBackward0" in svg


def test_double_backward_graph():
    x = torch.tensor(2.0, requires_grad=True)
    y = x**3
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    assert dy.grad_fn is not None
    graph = build_graph(dy)
    assert_matches_reference(graph, dy)
    assert graph.find("dy").label.splitlines()[-1] == "值 / value 12."
    both = build_graph(y, dy)
    assert_matches_reference(both, y, dy)
    assert sum(n.kind == "leaf" for n in both.nodes) == 1  # x appears once
    assert both.find("x").label.splitlines()[1] == "标量 / scalar float32"
    (d2y,) = torch.autograd.grad(dy, x)
    assert d2y.item() == 12.0
    assert "freed by backward" in draw(dy).to_svg()


def test_two_outputs_share_a_subgraph_once():
    x = torch.tensor([1.0, 2.0])
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    h = x * w
    s = h.sin().sum()
    c = h.cos().sum()
    graph = build_graph(s, c)
    assert_matches_reference(graph, s, c)
    assert [graph.nodes[i].name for i in graph.outputs] == ["s", "c"]
    assert sum(n.name == "MulBackward0" for n in graph.nodes) == 1
    mul = graph.find("MulBackward0")
    assert mul.tensor_name == "h"
    parents = [e.src for e in graph.edges if e.dst == mul.id]
    assert len(parents) == 2  # reached from both outputs
    assert build_graph([s, c]).nodes == graph.nodes  # a list works too
    # the same tensor twice is two outputs over one graph
    twice = build_graph(s, s)
    assert len(twice.outputs) == 2 and sum(n.kind == "function" for n in twice.nodes) == 3


# --- After backward -----------------------------------------------------------


def test_drawing_after_backward_marks_freed_buffers():
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    before = draw(mse).to_svg()
    assert "freed" not in before
    mse.backward()
    graph = build_graph(mse)
    assert_matches_reference(graph, mse)
    freed = [n.name for n in graph.nodes if n.freed]
    assert freed == ["MseLossBackward0", "_saved_self", "_saved_target", "MulBackward0", "_saved_self"]
    assert graph.find("_saved_reduction").freed is False  # plain attributes stay
    assert all(n.value is None for n in graph.nodes if n.kind == "saved" and n.freed)
    view = draw(mse)
    svg = view.to_svg()
    assert svg.count("(已被 backward/grad 释放 / freed by backward/grad)</text>") == 3
    assert "retain_graph=True" in svg  # the legend explains it
    assert 'stroke-dasharray="5 3"' in svg
    assert "dashed" in view.to_dot()


def test_retain_graph_keeps_saved_tensors():
    w = torch.full([1], 2.0).requires_grad_()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    graph = build_graph(loss)
    assert not any(n.freed for n in graph.nodes)
    assert "freed" not in draw(loss).to_svg()


# --- Determinism ---------------------------------------------------------------

_SCRIPT = textwrap.dedent(
    """
    import sys, torch, torch.nn.functional as F, gradlab
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = F.softmax(a, dim=0)
    loss = F.mse_loss(model(torch.randn(5, 3)), torch.zeros(5, 1)) + p[1]
    view = gradlab.draw(loss, highlight=[a])
    sys.stdout.write(view.to_svg() + view.to_dot())
    """
)


def test_same_graph_same_svg_across_processes():
    runs = [
        subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True) for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith("<svg")
    assert "0x" not in runs[0].stdout  # no memory addresses


def test_same_graph_same_svg_in_one_process(tmp_path):
    def make() -> GraphView:
        x = torch.ones(1)
        w = torch.full([1], 2.0).requires_grad_()
        mse = F.mse_loss(torch.ones(1), x * w)
        return draw(mse)

    first, second = make(), make()
    assert first.to_svg() == second.to_svg()
    assert first.to_dot() == second.to_dot()
    for suffix in (".png", ".pdf", ".svg"):
        a = first.save(tmp_path / f"a{suffix}").read_bytes()
        b = second.save(tmp_path / f"b{suffix}").read_bytes()
        assert a == b, suffix
        assert len(a) > 500
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "a.svg").read_text() == first.to_svg()


# --- Names ----------------------------------------------------------------------


def _inner_draw(inner_name: torch.Tensor) -> Graph:
    return build_graph(inner_name)  # the innermost frame's name wins


def test_automatic_names_explicit_names_and_fallbacks():
    weight = torch.tensor([3.0], requires_grad=True)
    _hidden = torch.tensor([1.0], requires_grad=True)
    total = (weight * _hidden).sum()
    graph = build_graph(total)
    leaves = [n.name for n in graph.nodes if n.kind == "leaf"]
    assert leaves == ["weight", "leaf #1"]  # names starting with _ are skipped
    assert graph.nodes[0].name == "total"
    assert build_graph(total, names={"b": _hidden}).nodes[-1].name == "b"
    assert build_graph(total, names={"L": total}).nodes[0].name == "L"
    assert build_graph(total.exp()).nodes[0].name == "output #1"
    assert _inner_draw(total).nodes[0].name == "inner_name"


def test_chinese_names_are_drawn_as_written_everywhere():
    w = torch.tensor([1.0], requires_grad=True)
    损失 = (w * 2).sum()
    view = draw(损失, names={"权重": w})
    assert [n.name for n in view.graph.nodes if n.kind in ("output", "leaf")] == ["损失", "权重"]
    assert view.graph.nodes[0].label.splitlines()[0] == "损失"
    assert "损失.grad_fn" in view.graph.nodes[1].label
    for text in (view.to_svg(), view.to_dot()):
        assert "损失" in text and "权重" in text and "损失.grad_fn" in text
        assert "\\u" not in text and "\\\\" not in text  # no escapes, not double-escaped


def test_legend_and_node_text_are_chinese_first_then_english():
    x = torch.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    svg = draw(y, names={"输入": x}).to_svg()
    words = _svg_legend_words(svg)
    assert words[0] == "箭头：backward() 走的路 / arrow: the way backward() walks"
    for line in words:
        if line != "without retain_graph=True":  # the second row of the freed entry is code
            zh, sep, en = line.partition(" / ")
            assert sep and any(ord(ch) > 0x2E80 for ch in zh) and en.isascii(), line
    assert "_saved_self = (已被 backward/grad 释放 / freed by backward/grad)</text>" in svg
    assert ">输入</text>" in svg and ">梯度 / grad [6.]</text>" in svg
    assert "Noto Sans Mono CJK SC" in svg.split(">", 1)[0]  # the font stack names CJK fonts


def test_box_words_are_chinese_first_then_english_and_code_stays_code():
    x = torch.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    graph = build_graph(y, names={"输入": x})
    out, total, leaf = graph.find("y"), graph.find("SumBackward0"), graph.find("输入")
    assert out.label.splitlines() == ["y", "标量 / scalar float32", "值 / value 9."]
    assert leaf.label.splitlines() == ["输入", "(1,) float32", "值 / value [3.]", "梯度 / grad [6.]"]
    assert total.label.splitlines()[:2] == ["SumBackward0", "y.grad_fn"]  # code, the same in both languages
    # Without a CJK font the picture keeps the English, which is the words before they were bilingual.
    assert [english(line) for line in out.label.splitlines()] == ["y", "scalar float32", "value 9."]
    assert [english(line) for line in leaf.label.splitlines()[2:]] == ["value [3.]", "grad [6.]"]
    for line in out.label.splitlines()[1:] + leaf.label.splitlines()[2:]:  # both languages, Chinese first
        zh, sep, en = line.partition(" / ")
        assert sep and re.search("[\u4e00-\u9fff]", zh) and re.fullmatch("[ -~]+", en), line
    svg = draw(y, names={"输入": x}).to_svg()
    for line in ("标量 / scalar float32", "值 / value 9.", "y.grad_fn", "梯度 / grad [6.]"):
        assert f">{line}</text>" in svg


def test_a_grad_fn_line_is_python_that_names_the_function():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    outs = [x * 2]
    d = {"w": x.sin()}
    graph = build_graph(outs[0], d["w"])
    lines = {n.name: n.label.splitlines()[1] for n in graph.nodes if n.kind == "function"}
    assert lines["MulBackward0"] == "outs[0].grad_fn"
    assert lines["SinBackward0"] == 'd["w"].grad_fn'
    product = x * 3
    named = build_graph(product, names={"x·3 + 0": product})  # not a Python name: in parentheses
    assert named.nodes[1].label.splitlines()[1] == "(x·3 + 0).grad_fn"


# --- Size ----------------------------------------------------------------------


def test_ten_thousand_op_chain_no_recursion_error():
    x = torch.tensor([1.0], requires_grad=True)
    h = x
    for _ in range(10_000):
        h = h * 1.0001
    graph = build_graph(h)
    functions = [n for n in graph.nodes if n.kind == "function"]
    assert len(functions) == 10_000
    assert graph.nodes[-1].kind == "leaf" and graph.nodes[-1].name == "x"
    # the walk follows the chain: ids grow along it
    assert [e.dst for e in graph.edges if e.kind == "next"][:3] == sorted(
        e.dst for e in graph.edges if e.kind == "next"
    )[:3]
    assert sum(e.kind == "next" for e in graph.edges) == 10_000


def test_long_chain_draws_without_recursion():
    x = torch.tensor([1.0], requires_grad=True)
    h = x
    for _ in range(2_000):
        h = torch.sin(h)
    svg = draw(h, show_saved=False).to_svg()
    assert svg.count(">SinBackward0</text>") == 2_000
    assert "_saved_" not in svg.split('class="legend"')[0]


# --- Kinds of tensors and operations -------------------------------------------


def test_views_and_in_place_operations():
    leaf = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = leaf * 2
    y[0:2].mul_(3)  # in place on a view: CopySlices
    y.add_(1)
    z = y.view(3, 1).t()
    graph = build_graph(z)
    assert_matches_reference(graph, z)
    names = [n.name for n in graph.nodes if n.kind == "function"]
    assert "CopySlices" in names and "AddBackward0" in names and "ViewBackward0" in names
    assert graph.find("z").shape == (1, 3)
    assert draw(z).to_svg().count('class="node ') == sum(n.kind != "saved" for n in graph.nodes)


def test_negative_dim_is_shown_as_written():
    a = torch.tensor([[0.5, 1.0]], requires_grad=True)
    p = F.softmax(a, dim=-1)
    graph = build_graph(p)
    assert graph.find("_saved_dim").label == "_saved_dim = -1"


def test_saved_tensor_changed_in_place_is_marked():
    w = torch.ones(2, requires_grad=True)
    a = w * 2
    b = a.sin()
    a.add_(1)  # SinBackward0 saved a; now backward would fail
    graph = build_graph(b)
    sin = graph.find("SinBackward0")
    assert sin.stale and not sin.freed
    saved = graph.find("_saved_self")
    assert saved.stale and saved.value is None
    svg = draw(b).to_svg()
    assert "_saved_self = (保存后被原地修改，backward 会出错 / changed in place: backward fails)</text>" in svg
    assert "changed in place after saving" in svg
    with pytest.raises(RuntimeError, match="inplace"):
        b.sum().backward()


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ctx.power = 2
        return a * a

    @staticmethod
    def backward(ctx, grad_output):
        (a,) = ctx.saved_tensors
        return 2 * a * grad_output


def test_custom_autograd_function():
    a = torch.tensor([1.5, -2.0], requires_grad=True)
    out = Square.apply(a).sum()
    graph = build_graph(out)
    assert_matches_reference(graph, out)
    fn = graph.find("SquareBackward")
    saved = [graph.nodes[c] for c in graph.children(fn.id, saved=True) if graph.nodes[c].kind == "saved"]
    assert [(s.name, s.tensor_name) for s in saved] == [("saved_tensors[0]", "a"), ("ctx.power", None)]
    assert "saved_tensors[0] = a [1.5, -2.]" in fn.label
    out.backward()
    after = build_graph(out)
    assert after.find("SquareBackward").freed
    assert "saved_tensors = (已被 backward/grad 释放 / freed by backward/grad)" in draw(out).to_svg()


def test_complex_and_float64_values():
    z = torch.tensor([1 + 2j, -0.5j], requires_grad=True)
    r = (z * z).abs().sum()
    graph = build_graph(r)
    assert_matches_reference(graph, r)
    leaf = graph.find("z")
    assert leaf.dtype == "complex64"
    assert leaf.label.splitlines()[1:3] == ["(2,) complex64", "值 / value [1+2j, 0-0.5j]"]
    d = torch.linspace(0, 1, 11, dtype=torch.float64, requires_grad=True)
    m = (d**2).mean()
    g = build_graph(m)
    assert g.find("d").label.splitlines()[1:3] == ["(11,) float64", "值 / value mean=0.5 min=0. max=1."]
    assert g.find("m").dtype == "float64"
    svg = english(draw(r, m, legend=False).to_svg())  # the box words' English
    assert svg.isascii()  # the numbers: no escapes, no odd characters


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_values_are_moved_to_cpu_for_labels_only():
    w = torch.tensor([2.0, 3.0], device="cuda", requires_grad=True)
    loss = (w * w).sum()
    graph = build_graph(loss)
    assert_matches_reference(graph, loss)
    leaf = graph.find("w")
    assert leaf.device == "cuda:0" and leaf.value.is_cuda
    assert leaf.label.splitlines()[1:3] == ["(2,) float32 cuda:0", "值 / value [2., 3.]"]
    loss.backward()
    assert build_graph(loss).find("w").label.splitlines()[-1] == "梯度 / grad [4., 6.]"
    assert "cuda:0" in draw(loss).to_svg()


def test_leaf_output_is_a_single_node():
    w = torch.tensor([2.0], requires_grad=True)
    graph = build_graph(w)
    assert [(n.kind, n.name) for n in graph.nodes] == [("leaf", "w")]
    assert graph.edges == [] and graph.outputs == [0]
    assert "<svg" in draw(w).to_svg()


# --- Bad input ------------------------------------------------------------------


def _is_bilingual(message: str) -> bool:
    first, second = message.splitlines()[:2]
    return any(ord(ch) > 0x2E80 for ch in first) and second.isascii()


def test_tensor_without_graph_is_explained():
    plain = torch.ones(3)
    with pytest.raises(ValueError, match=r"requires_grad_\(\)") as info:
        build_graph(plain * 2)
    assert _is_bilingual(str(info.value))
    assert "nothing to draw" in str(info.value)
    w = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        frozen = w * 2
    with pytest.raises(ValueError, match="no_grad"):
        draw(frozen)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: build_graph(), TypeError, "No tensor was given"),
        (lambda: draw(), TypeError, "No tensor was given"),
        (lambda: build_graph([]), TypeError, "No tensor was given"),
        (lambda: build_graph(3.0), TypeError, "must be a tensor, not float"),
        (lambda: build_graph([1, 2]), TypeError, "must be a tensor, not int"),
        (lambda: build_graph(torch.ones(1, requires_grad=True), names=["w"]), TypeError, "names must be a dict"),
        (lambda: build_graph(torch.ones(1, requires_grad=True), names={"w": 2.0}), TypeError, "maps to float"),
        (lambda: draw(torch.ones(1, requires_grad=True), renderer="png"), ValueError, "Unknown renderer"),
        (lambda: draw(torch.ones(1, requires_grad=True), highlight=2.5), TypeError, "highlight must be"),
        (
            lambda: draw(torch.ones(1, requires_grad=True), highlight=torch.ones(1)),
            ValueError,
            "not part of this graph",
        ),
        (lambda: draw(torch.ones(1, requires_grad=True), highlight=7), ValueError, "not part of this graph"),
        (lambda: draw(torch.ones(1, requires_grad=True), show_saved="yes"), TypeError, "True or False"),
    ],
)
def test_bad_arguments_get_clear_errors(call, error, text):
    with pytest.raises(error, match=text) as info:
        call()
    assert _is_bilingual(str(info.value))


def test_bad_file_type(tmp_path):
    view = draw(torch.ones(1, requires_grad=True) * 2)
    with pytest.raises(ValueError, match=r"\.jpg") as info:
        view.save(tmp_path / "graph.jpg")
    assert _is_bilingual(str(info.value))
    assert not (tmp_path / "graph.jpg").exists()


def test_find_unknown_name():
    graph = build_graph(torch.ones(1, requires_grad=True) * 2)
    with pytest.raises(KeyError, match="No node is called"):
        graph.find("nope")


def test_graphviz_renderer_without_dot_fails_at_once(monkeypatch):
    monkeypatch.setattr(gradlab.dot.shutil, "which", lambda name: None)
    w = torch.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        draw(w * 2, renderer="graphviz")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "conda install graphviz" in message
    assert _is_bilingual(message)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_graphviz_renderer_with_dot(tmp_path):
    w = torch.ones(1, requires_grad=True)
    view = draw((w * 2).sum(), renderer="graphviz")
    assert "<svg" in view.to_svg() and "AccumulateGrad" in view.to_svg()
    assert view.save(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


# --- The picture and the package ------------------------------------------------


def test_svg_has_legend_colours_and_values():
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    view = draw(mse)
    svg = view._repr_svg_()
    assert svg == view.to_svg()
    for text in ("output tensor", "backward function (grad_fn)", "AccumulateGrad: adds into .grad", "leaf tensor"):
        assert text in svg
    for kind, (fill, _) in gradlab.render.COLORS.items():
        assert f'fill="{fill}"' in svg, kind
    assert "grad: not computed yet" in svg and "_saved_self = x [1.]" in svg
    assert "_saved_" not in draw(mse, show_saved=False, legend=False).to_svg()
    dot = view.to_dot()
    assert dot.startswith("digraph autograd {") and dot.count(" -> ") == 4
    assert "n0 -> n1;" in dot
    assert repr(view).startswith("GraphView(Graph(9 nodes")


def _svg_legend_words(svg: str) -> list[str]:
    """The legend's words in the SVG: its texts right of the swatches (the "abc" swatches are left of them)."""
    group = svg.split('<g class="legend">')[1].split("</g>")[0]
    texts = [(float(x), text) for x, text in re.findall(r'<text x="([\d.]+)"[^>]*>([^<]*)</text>', group)]
    right = max(x for x, _ in texts)
    return [html.unescape(text) for x, text in texts if x == right]


def _dot_legend_words(dot: str) -> list[str]:
    cells = re.findall(r'<TD ALIGN="LEFT"><FONT COLOR="[^"]*">(.*?)</FONT></TD>', dot)
    return [html.unescape(line) for cell in cells for line in cell.split('<BR ALIGN="LEFT"/>')]


def _legend_graphs() -> dict[str, GraphView]:
    x = torch.tensor([3.0], requires_grad=True)
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    loss = F.softmax(a, dim=0)[1]
    loss.backward()
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    c = b * 2
    d = c.sin()
    c.add_(1)
    return {
        "x*x": draw(x * x),
        "freed, highlighted": draw(loss, highlight=[a]),
        "stale": draw(d.sum()),
        "no saved values": draw(d.sum(), show_saved=False),
    }


def test_dot_and_svg_legends_say_the_same_words():
    for name, view in _legend_graphs().items():
        words = _svg_legend_words(view.to_svg())
        assert words == _dot_legend_words(view.to_dot()), name
        assert words[0] == "箭头：backward() 走的路 / arrow: the way backward() walks"
    views = _legend_graphs()
    assert "高亮的路径 / highlighted path" not in _svg_legend_words(views["x*x"].to_svg())
    assert "已被 backward/grad 释放 / freed: backward()/grad() ran" not in _svg_legend_words(views["x*x"].to_svg())
    assert "为 backward 保存 / saved for backward (_saved_*)" in _svg_legend_words(views["x*x"].to_svg())
    assert "为 backward 保存 / saved for backward (_saved_*)" not in _svg_legend_words(
        views["no saved values"].to_svg()
    )
    assert "保存后被原地修改 / changed in place after saving" in _dot_legend_words(views["stale"].to_dot())
    freed = _dot_legend_words(views["freed, highlighted"].to_dot())
    assert freed[-3:] == [
        "已被 backward/grad 释放 / freed: backward()/grad() ran",
        "without retain_graph=True",
        "高亮的路径 / highlighted path",
    ]


def test_dot_marks_the_highlighted_path_and_freed_boxes_like_the_svg():
    view = _legend_graphs()["freed, highlighted"]
    dot = view.to_dot()
    assert "\\u" not in dot and dot.endswith("}\n")  # Chinese legend words are written as they are
    hot = re.findall(r"n(\d+) -> n(\d+) \[color=\"#d81b60\", penwidth=2.5\];", dot)
    assert len(hot) == 4  # output -> Select -> Softmax -> AccumulateGrad -> a
    assert {int(i) for edge in hot for i in edge} == set(view.highlighted)
    for node_id in view.highlighted:
        assert re.search(rf'n{node_id} \[label="[^"]*", fillcolor="#[0-9a-f]+", color="#d81b60", penwidth=3', dot)
    freed = [n.id for n in view.graph.nodes if n.kind == "function" and n.freed]
    assert freed and all(re.search(rf"n{i} \[[^\n]*dashed", dot) for i in freed)
    assert "legend" not in GraphView(view.graph, legend=False).to_dot()


def test_x_times_x_draws_one_arrow_marked_twice():
    x = torch.tensor([3.0], requires_grad=True)
    y = x * x
    graph = build_graph(y)
    mul = graph.find("MulBackward0")
    assert graph.children(mul.id) == [graph.find("AccumulateGrad").id] * 2
    assert ">x2</text>" in draw(y).to_svg()


def test_import_gradlab_does_not_import_matplotlib():
    code = "import sys, gradlab; gradlab.draw; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_public_names():
    for name in ("build_graph", "draw", "Graph", "GraphView"):
        assert name in gradlab.__all__ and hasattr(gradlab, name)


@given(
    st.lists(st.tuples(st.floats(-100, 100), st.floats(0, 30), st.floats(0.5, 4)), min_size=1, max_size=12),
)
def test_pav_keeps_gaps_and_is_no_worse_than_packing(items):
    targets = [t for t, _, _ in items]
    gaps = [0.0] + [g for _, g, _ in items[1:]]
    weights = [w for _, _, w in items]
    x = _pav(targets, gaps, weights)
    for i in range(1, len(x)):
        assert x[i] - x[i - 1] >= gaps[i] - 1e-6
    if all(targets[i] - targets[i - 1] >= gaps[i] for i in range(1, len(x))):
        assert x == pytest.approx(targets)  # already feasible: unchanged

    def cost(xs):
        return sum(w * (a - t) ** 2 for a, t, w in zip(xs, targets, weights, strict=True))

    packed = [targets[0]]
    for i in range(1, len(x)):
        packed.append(max(targets[i], packed[-1] + gaps[i]))
    assert cost(x) <= cost(packed) + 1e-6
