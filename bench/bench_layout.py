"""Benchmark: how build_graph and the graph layout scale, and how many arrows cross.

Run with ``.venv/bin/python bench/bench_layout.py`` (or ``make bench``). Prints
tables; every ratio is measured in the same run. Not a test.

Goals (issue 9):

- ``build_graph`` linear in nodes + edges: a fan-in of 5,000 inputs (10,000
  nodes) takes at most 2x a 10,000-op chain;
- ``draw`` at most n log n: a 20,000-op chain takes at most 15x a 2,000-op
  chain; memory linear;
- shared weights (an RNN unrolled with the same W, U, b at every step): time
  and SVG size at 200 steps at most 2.5x those at 100 steps; 100 steps under 0.3 s;
- crossings on named graphs never more than the better of grandalf's
  Sugiyama runs on the same layers.

The grandalf column needs the ``grandalf`` package, which is NOT a gradlab
dependency: install it apart, e.g. ``pip install --target /tmp/bench-site -r
bench/requirements.txt`` and run with ``PYTHONPATH=/tmp/bench-site``. Without
it that column says so.
"""

from __future__ import annotations

import gc
import itertools
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import gradlab
import gradlab.layout
from gradlab.layout import _boxes, _edge_counts, _grid, _initial_rows, _layers, _order, crossings


def timed(fns: list[Callable[[], object]], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) median seconds of each of ``fns``, run in turn so that a busy machine slows all alike."""
    for fn in fns:
        fn()  # warm up
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[i].append(time.perf_counter() - wall)
            cpus[i].append(time.process_time() - cpu)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus, strict=True)]


def peak_mb(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


# --- Graphs --------------------------------------------------------------------


def chain(ops: int) -> torch.Tensor:
    h = torch.tensor([1.0], requires_grad=True)
    for _ in range(ops):
        h = h * 1.0001
    return h


def fan_in(inputs: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    xs = [torch.tensor([float(i)], requires_grad=True) for i in range(inputs)]
    return torch.stack(xs).sum(), xs  # the inputs stay alive with the caller


def rnn(steps: int) -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.randn(3, 3, requires_grad=True)
    u = torch.randn(3, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    h = torch.zeros(1, 3)
    for _ in range(steps):
        h = torch.tanh(torch.randn(1, 3) @ w + h @ u + b)
    return h.sum()


def attention_block() -> torch.Tensor:
    torch.manual_seed(0)
    t, d = 4, 8
    x = torch.randn(t, d, requires_grad=True)
    wq, wk, wv, wo = (torch.randn(d, d, requires_grad=True) for _ in range(4))
    q, k, v = x @ wq, x @ wk, x @ wv
    att = torch.softmax(q @ k.T / d**0.5, dim=-1)
    out = F.layer_norm(att @ v @ wo + x, (d,))
    return out.pow(2).mean()


def mlp() -> torch.Tensor:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
    )
    return F.mse_loss(net(torch.randn(5, 4)), torch.zeros(5, 1))


def lstm_cell(steps: int) -> torch.Tensor:
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(4, 8)
    h, c = torch.zeros(1, 8), torch.zeros(1, 8)
    for _ in range(steps):
        h, c = cell(torch.randn(1, 4), (h, c))
    return h.sum()


def random_products(seed: int, leaves: int = 6, ops: int = 30) -> torch.Tensor:
    rng = random.Random(seed)
    values = [torch.tensor(1.0 + i / 10, requires_grad=True) for i in range(leaves)]
    for _ in range(ops):
        a, b = rng.sample(values, 2)
        values.append(a * b)
    return sum(values[-4:])  # type: ignore[return-value]


# --- Scale ---------------------------------------------------------------------


def scale_tables() -> None:
    fan, _inputs = fan_in(5_000)
    long = chain(10_000)
    fan_nodes, chain_nodes = len(gradlab.build_graph(fan)), len(gradlab.build_graph(long))
    (fan_wall, fan_cpu), (chain_wall, chain_cpu) = timed(
        [lambda: gradlab.build_graph(fan), lambda: gradlab.build_graph(long)], 5
    )
    print("build_graph: fan-in against a chain (goal: CPU ratio <= 2); median of 5, run in turn")
    print(f"{'graph':34} {'nodes':>7} {'wall ms':>9} {'CPU ms':>9}")
    print(f"{'fan-in, 5,000 inputs summed':34} {fan_nodes:>7} {fan_wall * 1000:9.1f} {fan_cpu * 1000:9.1f}")
    print(f"{'chain, 10,000 ops':34} {chain_nodes:>7} {chain_wall * 1000:9.1f} {chain_cpu * 1000:9.1f}")
    print(f"ratio fan-in / chain: CPU {fan_cpu / chain_cpu:.2f}x, wall {fan_wall / chain_wall:.2f}x\n")

    small, large = chain(2_000), chain(20_000)

    def draw_small() -> str:
        return with_warnings_off(lambda: gradlab.draw(small).to_svg())

    def draw_large() -> str:
        return with_warnings_off(lambda: gradlab.draw(large).to_svg())

    times = timed([draw_small, draw_large], 3)
    memory = [peak_mb(draw_small), peak_mb(draw_large)]
    print("draw to SVG (build + layout + SVG text), chain of 2,000 against 20,000 ops")
    print("(goal: CPU ratio <= 15; memory linear); median of 3, run in turn")
    print(f"{'graph':34} {'boxes':>7} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'SVG MB':>8}")
    for name, tensor, (wall, cpu), mib, svg in (
        ("chain, 2,000 ops", small, times[0], memory[0], draw_small()),
        ("chain, 20,000 ops", large, times[1], memory[1], draw_large()),
    ):
        boxes = sum(n.kind != "saved" for n in gradlab.build_graph(tensor).nodes)
        print(f"{name:34} {boxes:>7} {wall:8.2f} {cpu:8.2f} {mib:9.1f} {len(svg) / 1e6:8.2f}")
    print(
        f"ratio 20,000 / 2,000: CPU {times[1][1] / times[0][1]:.1f}x, wall {times[1][0] / times[0][0]:.1f}x, "
        f"peak memory {memory[1] / memory[0]:.1f}x\n"
    )


def with_warnings_off(fn: Callable[[], Any]) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def shared_weight_table() -> None:
    print("shared weights: RNN unrolled with the same W, U, b")
    print("(goal: 200/100 <= 2.5x in time and SVG size; 100 steps < 0.3 s); draw + SVG, median of 5, run in turn")
    outs = [rnn(100), rnn(200)]
    times = timed([lambda o=out: gradlab.draw(o).to_svg() for out in outs], 5)
    print(f"{'steps':>6} {'boxes':>6} {'route points':>13} {'wall s':>7} {'CPU s':>7} {'SVG KB':>8} {'height px':>10}")
    sizes = []
    for steps, out, (wall, cpu) in zip((100, 200), outs, times, strict=True):
        view = gradlab.draw(out)
        svg = view.to_svg()
        layout = view._get_layout()
        points = sum(len(r.points) for r in layout.routes)
        sizes.append(len(svg))
        print(
            f"{steps:>6} {len(layout.boxes):>6} {points:>13} {wall:7.3f} {cpu:7.3f} {len(svg) / 1000:8.1f} "
            f"{layout.height:10.0f}"
        )
    print(
        f"ratio 200 / 100: CPU {times[1][1] / times[0][1]:.2f}x, wall {times[1][0] / times[0][0]:.2f}x, "
        f"SVG {sizes[1] / sizes[0]:.2f}x\n"
    )


# --- Crossings -----------------------------------------------------------------


def gradlab_crossings(out: torch.Tensor, bundle: int) -> tuple[int, int, list[int]]:
    """(start order, gradlab's order) crossings, and the layers, with trunks from ``bundle`` long arrows."""
    saved = gradlab.layout._BUNDLE
    gradlab.layout._BUNDLE = bundle
    try:
        graph = gradlab.build_graph(out)
        boxes = _boxes(graph, False, set())
        counts = _edge_counts(graph, boxes)
        layer = _layers(len(boxes), counts)
        grid = _grid(boxes, counts, layer)
        start = crossings(_initial_rows(grid, boxes), grid.down)
        return start, crossings(_order(grid, boxes), grid.down), layer
    finally:
        gradlab.layout._BUNDLE = saved


def grandalf_crossings(out: torch.Tensor, layer: list[int], rounds: float) -> tuple[int, bool]:
    """Crossings after grandalf's Sugiyama ordering (``rounds`` as in its ``draw(N)``), and whether its layers are ours."""
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class View:
        w, h = 10.0, 10.0

    graph = gradlab.build_graph(out)
    boxes = _boxes(graph, False, set())
    counts = _edge_counts(graph, boxes)
    vertices = [Vertex(i) for i in range(len(boxes))]
    for v in vertices:
        v.view = View()
    edges = [Edge(vertices[a], vertices[b]) for a, b in counts]
    component = Graph(vertices, edges).C[0]
    sug = SugiyamaLayout(component)
    sug.init_all(roots=[vertices[i] for i in range(len(boxes)) if layer[i] == 0])
    n = rounds
    while n > 0.5:
        for _ in sug.ordering_step():
            pass
        n -= 1
    if n > 0:
        for _ in sug.ordering_step(oneway=True):
            pass
    same_layers = all(sug.grx[v].rank == layer[i] for i, v in enumerate(vertices))
    number: dict[Any, int] = {}
    rows = [[number.setdefault(v, len(number)) for v in level] for level in sug.layers]
    down: list[list[int]] = [[] for _ in range(len(number))]
    for e in edges:
        ctrl = sug.ctrls.get(e)
        path = [ctrl[r] for r in sorted(ctrl)] if ctrl else list(e.v)
        for u, v in itertools.pairwise(path):
            down[number[u]].append(number[v])
    return crossings(rows, down), same_layers


def crossing_table() -> None:
    try:
        import grandalf  # noqa: F401

        missing = ""
    except ImportError:
        missing = "grandalf not installed"
    graphs = [
        ("attention block", attention_block()),
        ("MLP, 3 Linear layers + MSE", mlp()),
        ("LSTM cell, 1 step", lstm_cell(1)),
        ("LSTM cell, 3 steps", lstm_cell(3)),
        ("RNN, 10 steps (shared weights)", rnn(10)),
    ] + [(f"random products, seed {seed}", random_products(seed)) for seed in range(6)]
    print("crossings (fewer is better) on the same layers; 'plain' = every long arrow drawn apart, as grandalf does;")
    print("'drawn' = with shared-weight trunks, as gradlab draws it (fewer arrows, so not comparable to the rest);")
    print("grandalf: its Sugiyama ordering after draw(N=1.5) (its default) and after 8 rounds, the best of 3 runs")
    print("(its order changes from run to run); verdict: 'plain' against the better grandalf column")
    header = f"{'graph':32} {'start':>6} {'plain':>6} {'drawn':>6} {'grandalf 1.5':>13} {'grandalf 8':>11} {'layers':>7} {'verdict':>8}"
    print(header)
    print("-" * len(header))
    for name, out in graphs:
        start, plain, layer = gradlab_crossings(out, bundle=10**9)
        drawn = gradlab_crossings(out, bundle=gradlab.layout._BUNDLE)[1]
        if missing:
            g15 = g8 = same = verdict = "-"
        else:
            runs15 = [grandalf_crossings(out, layer, 1.5) for _ in range(3)]
            runs8 = [grandalf_crossings(out, layer, 8) for _ in range(3)]
            c15, ok15 = min(c for c, _ in runs15), all(ok for _, ok in runs15)
            c8, ok8 = min(c for c, _ in runs8), all(ok for _, ok in runs8)
            g15, g8, same = str(c15), str(c8), "same" if ok15 and ok8 else "differ"
            verdict = "ok" if plain <= min(c15, c8) else "WORSE"
        print(f"{name:32} {start:>6} {plain:>6} {drawn:>6} {g15:>13} {g8:>11} {same:>7} {verdict:>8}")
    if missing:
        print(f"\nnote: grandalf columns skipped ({missing}); see bench/requirements.txt")
    print()


def main() -> None:
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}\n")
    scale_tables()
    shared_weight_table()
    crossing_table()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
