"""Tests for gradlab.layout: crossings, best order across sweeps, long arrows, shared weights, drawing less."""

from __future__ import annotations

import itertools
import random
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import gradlab.layout
from gradlab import build_graph, draw
from gradlab.layout import (
    _best_sweep,
    _boxes,
    _edge_counts,
    _Grid,
    _grid,
    _initial_rows,
    _layers,
    _order,
    _sweeps,
    _transpose,
    crossings,
    layout_graph,
)


def random_products(seed: int, leaves: int = 6, ops: int = 30) -> torch.Tensor:
    """Products of randomly chosen earlier values: many arrows that cross."""
    rng = random.Random(seed)
    values = [torch.tensor(1.0 + i / 10, requires_grad=True) for i in range(leaves)]
    for _ in range(ops):
        a, b = rng.sample(values, 2)
        values.append(a * b)
    return sum(values[-4:])  # type: ignore[return-value]


def rnn(steps: int) -> torch.Tensor:
    """An RNN unrolled ``steps`` times: the same W, U and b at every step."""
    torch.manual_seed(0)
    w = torch.randn(3, 3, requires_grad=True)
    u = torch.randn(3, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    h = torch.zeros(1, 3)
    for _ in range(steps):
        h = torch.tanh(torch.randn(1, 3) @ w + h @ u + b)
    return h.sum()


def grid_of(output: torch.Tensor) -> tuple[_Grid, list]:
    graph = build_graph(output)
    boxes = _boxes(graph, False, set())
    counts = _edge_counts(graph, boxes)
    return _grid(boxes, counts, _layers(len(boxes), counts)), boxes


def brute_crossings(rows: list[list[int]], down: list[list[int]]) -> int:
    total = 0
    for row, below in itertools.pairwise(rows):
        where = {v: i for i, v in enumerate(below)}
        arrows = [(i, where[w]) for i, v in enumerate(row) for w in down[v]]
        total += sum((a0 - a1) * (b0 - b1) < 0 for (a0, b0), (a1, b1) in itertools.combinations(arrows, 2))
    return total


# --- Crossings ----------------------------------------------------------------


@given(st.integers(1, 7), st.integers(1, 7), st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=25))
def test_crossings_match_counting_every_pair(top, bottom, pairs):
    rows = [list(range(top)), list(range(top, top + bottom))]
    down: list[list[int]] = [[] for _ in range(top + bottom)]
    for a, b in {(a % top, top + b % bottom) for a, b in pairs}:
        down[a].append(b)
    assert crossings(rows, down) == brute_crossings(rows, down)


# --- Ordering: the best order found is kept -----------------------------------


def test_sweeps_keep_the_order_with_fewest_crossings():
    grid, boxes = grid_of(random_products(2))
    history = [crossings(rows, grid.down) for rows in [_initial_rows(grid, boxes)]]
    history += [crossings(rows, grid.down) for rows in _sweeps(grid, _initial_rows(grid, boxes))]
    # This graph's sweeps go 63, 39, 22, 27, ... and end worse than their best.
    assert history[-1] > min(history)
    best, count = _best_sweep(grid, _initial_rows(grid, boxes))
    assert crossings(best, grid.down) == count == min(history)
    assert sorted(map(sorted, best)) == sorted(map(sorted, _initial_rows(grid, boxes)))  # same boxes per row
    final = _order(grid, boxes)  # other starts and neighbour swaps only ever lower it
    assert crossings(final, grid.down) <= count
    assert [sorted(row) for row in final] == [sorted(row) for row in best]


@pytest.mark.parametrize("seed", range(12))
def test_order_is_never_worse_than_the_start_or_any_sweep(seed):
    grid, boxes = grid_of(random_products(seed))
    every = [crossings(_initial_rows(grid, boxes), grid.down)]
    every += [crossings(r, grid.down) for r in _sweeps(grid, _initial_rows(grid, boxes))]
    mirrored = [row[::-1] for row in _initial_rows(grid, boxes)]
    every += [crossings(r, grid.down) for r in _sweeps(grid, mirrored)]
    assert crossings(_order(grid, boxes), grid.down) <= min(every)


def test_neighbour_swaps_only_remove_crossings():
    grid, boxes = grid_of(random_products(3))
    rows = _initial_rows(grid, boxes)
    before = crossings(rows, grid.down)
    _transpose(grid, rows)
    assert crossings(rows, grid.down) < before


# --- Long arrows --------------------------------------------------------------


def test_arrow_over_several_layers_passes_beside_the_boxes():
    x = torch.tensor([2.0], requires_grad=True)
    y = x.exp().sin().cos() * x  # x's AccumulateGrad: one arrow from MulBackward0 over 3 layers
    layout = layout_graph(build_graph(y), False, set())
    box_of = {b.node.id: b for b in layout.boxes}
    mul = next(b for b in layout.boxes if b.node.name == "MulBackward0")
    acc = next(b for b in layout.boxes if b.node.kind == "accumulate")
    route = next(r for r in layout.routes if r.points[0] == (mul.x, mul.y + mul.h) and r.points[-1] == (acc.x, acc.y))
    assert len(route.points) == 2 + 3  # one point in each of the 3 layers it crosses
    ys = [p[1] for p in route.points]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    for px, py in route.points[1:-1]:  # beside every box of the layer it passes
        for box in box_of.values():
            if box.y <= py <= box.y + box.h:
                assert abs(px - box.x) >= box.w / 2 + gradlab.layout._DUMMY_GAP - 1e-9
    assert route.arrow and route.count == 1


def test_long_arrows_without_crossings_stay_uncrossed():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], requires_grad=True)
    out = (a.exp().exp() * b).exp() * b  # the outer MulBackward0's arrow to b spans three layers
    grid, boxes = grid_of(out)
    assert any(len(chain) > 3 for chain, _, _ in grid.chains)
    assert crossings(_order(grid, boxes), grid.down) == 0


# --- Shared weights -----------------------------------------------------------


def test_shared_weights_join_one_trunk_per_weight():
    grid, _ = grid_of(rnn(20))
    arrows_per_step = 3  # W, U, b: one arrow each into their AccumulateGrad
    branches = [c for c, _, arrow in grid.chains if not arrow]
    trunks = [c for c, _, arrow in grid.chains if arrow and c[0] >= grid.n]
    assert len(trunks) == 3
    assert len(branches) >= arrows_per_step * (20 - 2)
    depth = max(grid.layer) + 1
    assert len(grid.layer) - grid.n <= 3 * depth  # dummy points: one per layer per trunk
    for chain in branches:
        assert len(chain) == 2 and chain[1] >= grid.n  # a short arrow onto a trunk point
        assert grid.layer[chain[1]] == grid.layer[chain[0]] + 1


def test_shared_weights_grow_linearly():
    points = []
    for steps in (20, 40):
        layout = layout_graph(build_graph(rnn(steps)), True, set())
        points.append(sum(len(r.points) for r in layout.routes))
    assert points[1] <= 2.2 * points[0]


def test_trunk_counts_every_use_and_highlights_only_below_the_highlighted_branch():
    steps = 8
    torch.manual_seed(0)
    w = torch.randn(3, 3, requires_grad=True)
    h = torch.randn(1, 3, requires_grad=True)
    first = None
    for step in range(steps):
        h = torch.tanh(h @ w)
        if step == 3:
            first = h
    view = draw(h, highlight=[first], show_saved=False)  # highlights nothing below `first`'s path
    layout = view._get_layout()
    trunk = [r for r in layout.routes if r.arrow and r.count > 1]
    assert len(trunk) == 1 and trunk[0].count == steps - 1  # every use but the last, short one
    assert not trunk[0].highlighted


def test_trunk_is_highlighted_from_the_highest_highlighted_branch_down():
    torch.manual_seed(0)
    w = torch.randn(3, 3, requires_grad=True)
    h = torch.randn(1, 3)
    for _ in range(6):
        h = torch.tanh(h @ w)
    graph = build_graph(h)
    mms = [n.id for n in graph.nodes if n.name == "MmBackward0"]  # top step first
    accumulate = graph.find("AccumulateGrad").id
    hot = {mms[2], accumulate, accumulate + 1}  # any set of boxes: here the third step's use of w
    layout = layout_graph(graph, False, hot)
    trunk = [r for r in layout.routes if r.points[0] not in {(b.x, b.y + b.h) for b in layout.boxes}]
    assert [r.highlighted for r in trunk] == [False, True]  # the part above the join, then below it
    assert trunk[0].points[-1] == trunk[1].points[0] and not trunk[0].arrow and trunk[1].arrow
    branches = [r for r in layout.routes if not r.arrow and r not in trunk]
    assert [r.highlighted for r in branches].count(True) == 1
    assert trunk[1].points[0] in [r.points[-1] for r in branches if r.highlighted]


# --- Drawing less -------------------------------------------------------------


def test_depth_keeps_the_top_and_counts_the_rest():
    out = rnn(10)
    whole = build_graph(out)
    top = build_graph(out, depth=3)
    assert [n.name for n in top.nodes if n.kind != "saved"] == ["out", "SumBackward0", "TanhBackward0", "AddBackward0"]
    assert top.hidden == len(whole) - len(top)
    assert top.find("TanhBackward0").label == whole.find("TanhBackward0").label
    assert "more not shown" in repr(top)
    svg = draw(out, depth=3).to_svg()
    assert f"(还有 {top.hidden} 个节点没画 / {top.hidden} more nodes not drawn)" in svg
    assert len(build_graph(out, depth=0)) == 1


def test_only_keeps_the_paths_to_the_named_tensors():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], requires_grad=True)
    c = torch.tensor([3.0], requires_grad=True)
    loss = (a * b).exp() + c.sin()
    view = draw(loss, only=[c])
    names = [n.name for n in view.graph.nodes if n.kind != "saved"]
    assert names == ["loss", "AddBackward0", "SinBackward0", "AccumulateGrad", "c"]
    assert view.graph.hidden > 0
    assert draw(loss, only=c).graph.nodes == view.graph.nodes


@pytest.mark.parametrize("depth", [-1, 1.5, True, "2"])
def test_bad_depth_is_explained(depth):
    with pytest.raises(ValueError, match="depth"):
        build_graph(rnn(2), depth=depth)


def test_big_graph_warns_once_and_says_how_to_draw_less(monkeypatch):
    monkeypatch.setattr(gradlab.layout, "READABLE", 20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        view = draw(rnn(10))
        draw(rnn(10), depth=5)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.index("框") < message.index("boxes")  # Chinese first
    assert "depth=" in message and "only=" in message
    assert view.to_svg().startswith("<svg")
