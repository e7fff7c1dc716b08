"""Benchmark: gradlab.trace_backward against build_graph + backward() on the same graphs.

Run with ``.venv/bin/python bench/bench_trace.py`` (or ``make bench``). Prints a
table of medians; not a test. Each run gets a fresh graph (built outside the
timer), because backward frees it; the two contenders take turns.

Goal from issue 11: tracing a 10,000-op chain costs at most 3× building its
graph and running backward(), and hits no recursion limit; drawing a traced
1,000-node graph (``draw(trace)``, gradients on every arrow) costs under 2×
drawing the untraced one (``draw(loss)``).
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch

import gradlab


def medians_ms(
    make: Callable[[], torch.Tensor], runs: int, *contenders: Callable[[torch.Tensor], object]
) -> list[float]:
    """Median time of each contender; the contenders take turns, so a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in contenders]
    for turn in range(runs + 1):
        for run, spent in zip(contenders, times, strict=True):
            output = make()
            start = time.perf_counter()
            run(output)
            if turn:  # the first turn warms up
                spent.append(time.perf_counter() - start)
    return [statistics.median(spent) * 1000 for spent in times]


def chain(length: int = 10_000) -> torch.Tensor:
    h = torch.tensor([1.0], requires_grad=True)
    for _ in range(length):
        h = h * 1.0001
    return h


def deep_mlp(layers: int = 143) -> torch.Tensor:
    """tanh(h @ W + b) repeated: 7 drawn nodes per layer, about 1,000 in all."""
    torch.manual_seed(0)
    h = torch.randn(4, 8)
    for _ in range(layers):
        weight = torch.randn(8, 8, requires_grad=True)
        bias = torch.zeros(8, requires_grad=True)
        h = torch.tanh(h @ weight + bias)
    return h.sum()


def held_by(trace: gradlab.BackwardTrace) -> str:
    """How many gradient copies the trace holds, and their size."""
    copies = {id(g): g for s in trace.steps for g in (*s.grad_outputs, *s.grad_inputs, s.grad_before, s.grad_after)}
    copies.pop(id(None), None)
    size = sum(g.numel() * g.element_size() for g in copies.values() if g is not None)
    return f"{len(copies)} / {size / 1024:.0f} KiB"


def baseline(output: torch.Tensor) -> None:
    gradlab.build_graph(output)
    output.backward()


def main() -> None:
    sample = deep_mlp()
    drawn = sum(n.kind != "saved" for n in gradlab.build_graph(sample).nodes)
    steps = len(gradlab.trace_backward(sample).steps)
    cases = [
        ("10,000-op chain", chain, "<= 3x", 7),
        (f"{drawn}-node MLP graph ({steps} steps)", deep_mlp, "-", 7),
    ]
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}")
    print("median wall time in ms (lower is better); ratio = trace_backward / (build_graph + backward())\n")
    header = f"{'case':36} {'build+backward':>15} {'trace_backward':>15} {'ratio':>7} {'goal':>6} {'copies held':>16}"
    print(header)
    print("-" * len(header))
    for name, make, goal, runs in cases:
        try:
            base, traced = medians_ms(make, runs, baseline, gradlab.trace_backward)
        except RecursionError:
            print(f"{name:36} {'-':>15} {'RecursionError':>15} {'-':>7} {goal:>6}")
            continue
        held = held_by(gradlab.trace_backward(make()))
        print(f"{name:36} {base:15.1f} {traced:15.1f} {traced / base:6.2f}x {goal:>6} {held:>16}")
    sys.stdout.flush()
    drawing(drawn)


def drawing(drawn: int, runs: int = 5) -> None:
    """draw(trace) and draw(trace, step=k) against draw(loss) on the same 1,000-node graph (SVG text).

    Both start from what the learner holds: the loss for ``draw(loss)`` (which builds its graph), the
    recorded trace for ``draw(trace)`` (its graph is built already, so recording is left out of the timer).
    """
    print("\nmedian wall time in ms; ratio = drawing the trace / drawing the untraced graph\n")
    header = f"{'case':36} {'draw(loss)':>15} {'draw(trace)':>15} {'ratio':>7} {'goal':>6}"
    print(header)
    print("-" * len(header))
    times: list[list[float]] = [[], [], []]
    for turn in range(runs + 1):
        loss, trace = deep_mlp(), gradlab.trace_backward(deep_mlp())
        for spent, run in zip(
            times,
            (
                lambda loss=loss: gradlab.draw(loss).to_svg(),
                lambda trace=trace: gradlab.draw(trace).to_svg(),
                lambda trace=trace: gradlab.draw(trace, step=len(trace.steps) // 2).to_svg(),
            ),
            strict=True,
        ):
            start = time.perf_counter()
            run()
            if turn:
                spent.append(time.perf_counter() - start)
    base, full, half = (statistics.median(spent) * 1000 for spent in times)
    for name, spent in ((f"draw {drawn}-node traced graph", full), ("  the same at step = half", half)):
        print(f"{name:36} {base:15.1f} {spent:15.1f} {spent / base:6.2f}x {'< 2x':>6}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
