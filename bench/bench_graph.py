"""Benchmark: gradlab.build_graph / gradlab.draw, and torchviz + Graphviz on the same graphs.

Run with ``.venv/bin/python bench/bench_graph.py`` (or ``make bench``). Prints a
table of medians; not a test. The torchviz columns need the ``torchviz`` and
``graphviz`` Python packages and the ``dot`` program, which are NOT gradlab
dependencies; without them those columns say why they are missing.

Targets from the issue: build_graph of a 10,000-op chain < 1 s; drawing the
seed's MSE graph < 150 ms; a 1,000-node graph to SVG < 2 s.
"""

from __future__ import annotations

import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import gradlab


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def seed_mse() -> torch.Tensor:
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    return F.mse_loss(torch.ones(1), x * w)


def chain(length: int) -> torch.Tensor:
    h = torch.tensor([1.0], requires_grad=True)
    for _ in range(length):
        h = h * 1.0001
    return h


def deep_mlp(layers: int) -> torch.Tensor:
    """tanh(h @ W + b) repeated: 7 drawn nodes per layer."""
    torch.manual_seed(0)
    h = torch.randn(4, 8)
    for _ in range(layers):
        weight = torch.randn(8, 8, requires_grad=True)
        bias = torch.zeros(8, requires_grad=True)
        h = torch.tanh(h @ weight + bias)
    return h.sum()


def torchviz_status() -> str | None:
    """None when torchviz + dot are usable, else why not."""
    try:
        import graphviz  # noqa: F401
        import torchviz  # noqa: F401
    except ImportError as error:
        return f"torchviz/graphviz not installed ({error.name})"
    if shutil.which("dot") is None:
        return "Graphviz 'dot' not on PATH"
    return None


def torchviz_svg(tensor: torch.Tensor, show_saved: bool = False) -> bytes:
    import torchviz

    return torchviz.make_dot(tensor, show_saved=show_saved).pipe(format="svg")


def torchviz_source(tensor: torch.Tensor) -> str:
    import torchviz

    return torchviz.make_dot(tensor).source


def try_ms(fn: Callable[[], object], runs: int) -> tuple[float | None, str]:
    try:
        return median_ms(fn, runs), ""
    except RecursionError:
        return None, "RecursionError"
    except Exception as error:  # report, do not stop the table
        return None, f"{type(error).__name__}"


def main() -> None:
    missing = torchviz_status()
    mse = seed_mse()
    long_chain = chain(10_000)
    big = deep_mlp(143)
    drawn = sum(n.kind != "saved" for n in gradlab.build_graph(big).nodes)

    rows = [
        (
            "build_graph, 10,000-op chain",
            "< 1000",
            lambda: gradlab.build_graph(long_chain),
            lambda: torchviz_source(long_chain),
            "torchviz: make_dot source only",
            5,
        ),
        (
            "draw seed MSE graph to SVG",
            "< 150",
            lambda: gradlab.draw(mse).to_svg(),
            lambda: torchviz_svg(mse),
            "torchviz: make_dot + dot -Tsvg",
            20,
        ),
        (
            f"{drawn}-node graph to SVG",
            "< 2000",
            lambda: gradlab.draw(big).to_svg(),
            lambda: torchviz_svg(big),
            "torchviz: make_dot + dot -Tsvg",
            5,
        ),
    ]

    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}")
    print("median wall time in ms (lower is better); ratio = torchviz / gradlab\n")
    header = f"{'case':34} {'target':>8} {'gradlab':>9} {'torchviz':>16} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    notes = set()
    for name, target, ours, theirs, note, runs in rows:
        ours_ms = median_ms(ours, runs)
        if missing:
            other, ratio = "skipped", "-"
        else:
            their_ms, error = try_ms(theirs, max(3, runs // 4))
            other = error if their_ms is None else f"{their_ms:.1f}"
            ratio = "-" if their_ms is None else f"{their_ms / ours_ms:.1f}x"
            notes.add(note)
        print(f"{name:34} {target:>8} {ours_ms:9.1f} {other:>16} {ratio:>7}")

    # Drawing after backward() with the saved tensors shown.
    mse.backward()
    print()
    ok = "ok" if "(freed by backward)" in gradlab.draw(mse, show_saved=True).to_svg() else "NOT MARKED"
    print(f"draw after backward(), show_saved=True: gradlab {ok} (freed buffers marked)", end="")
    if missing:
        print()
    else:
        _, error = try_ms(lambda: torchviz_svg(mse, show_saved=True), 1)
        print(f"; torchviz {error or 'ok'}")

    print()
    if missing:
        print(f"note: torchviz columns skipped: {missing}. To compare, install them into the venv only")
        print("      (never a gradlab dependency): apt-get install graphviz; .venv/bin/pip install torchviz graphviz")
    else:
        for note in sorted(notes):
            print(f"note: {note}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
