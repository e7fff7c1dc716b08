"""Slider step latency in a real kernel: gradlab's explorers vs ``interact`` + inline matplotlib.

A step is ``slider.value = v`` in the kernel until the callback has finished:
the numbers recomputed and the new picture handed to the widget (for the
baseline: the figure drawn, rendered to PNG and displayed into interact's
Output widget). Both run in the same fresh ipykernel, one after the other, so
the comm messages to the (absent) frontend are serialised and sent as in
JupyterLab. Browser-side latency is measured by tests/browser.

Run: ``.venv/bin/python bench/bench_widgets.py [--steps 40]``. Prints a table;
asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]

KERNEL_CODE = r"""
import json, statistics, time
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
import ipywidgets as widgets
import torch
from IPython.display import display
from gradlab.widgets import descent_explorer, mse_explorer, softmax_explorer

STEPS = __STEPS__
WARMUP = 3

def values(lo, hi, count):
    # A zigzag through the range, so that every step changes the value.
    span = hi - lo
    return [round(lo + span * ((k * 0.37) % 1.0), 2) for k in range(1, count + 1)]

def time_steps(slider, vals):
    for v in vals[:WARMUP]:
        slider.value = v
    out = []
    for v in vals[WARMUP:]:
        t0 = time.perf_counter()
        slider.value = v
        out.append((time.perf_counter() - t0) * 1000)
    return out

def summary(ms):
    ms = sorted(ms)
    return {"median": statistics.median(ms), "p90": ms[int(0.9 * (len(ms) - 1))], "n": len(ms)}

results = {}

# Baseline: interact + an inline matplotlib redraw of the same picture.
def plot_mse(w=2.0):
    x, target = 1.0, 1.0
    w_t = torch.tensor(w, requires_grad=True)
    loss = (target - x * w_t) ** 2
    (grad,) = torch.autograd.grad(loss, [w_t])
    ws = torch.linspace(-4, 4, 81)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(ws, (target - x * ws) ** 2)
    ax.plot([w], [loss.item()], "o")
    ax.plot([w - 1.2, w + 1.2], [loss.item() - 1.2 * grad.item(), loss.item() + 1.2 * grad.item()])
    ax.set_title(f"loss = {loss.item():.4f}, dL/dw = {grad.item():.4f}")
    plt.show()

baseline = widgets.interact(plot_mse, w=widgets.FloatSlider(value=2.0, min=-4.0, max=4.0, step=0.05))
results["interact + inline matplotlib (baseline)"] = summary(
    time_steps(baseline.widget.children[0], values(-4.0, 4.0, STEPS + WARMUP))
)

explorer = mse_explorer()
display(explorer)
results["mse_explorer"] = summary(time_steps(explorer.sliders["w"], values(-4.0, 4.0, STEPS + WARMUP)))

explorer = softmax_explorer()
display(explorer)
results["softmax_explorer (3 classes)"] = summary(time_steps(explorer.sliders["a0"], values(-5.0, 5.0, STEPS + WARMUP)))

explorer = softmax_explorer(logits=[0.1 * k for k in range(8)])
display(explorer)
results["softmax_explorer (8 classes)"] = summary(time_steps(explorer.sliders["a0"], values(-5.0, 5.0, STEPS + WARMUP)))

explorer = descent_explorer(steps=30)
display(explorer)
results["descent_explorer (30 steps)"] = summary(time_steps(explorer.sliders["lr"], values(0.01, 1.0, STEPS + WARMUP)))

print("RESULTS " + json.dumps(results))
"""


def run_in_kernel(code: str, timeout: float = 300) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT), env=env)
    client = manager.client()
    client.start_channels()
    lines: list[str] = []
    errors: list[str] = []

    def hook(msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            lines.extend(content["text"].splitlines())
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))

    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(code, output_hook=hook, timeout=timeout)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    if errors:
        raise RuntimeError("the benchmark failed in the kernel:\n" + "\n".join(errors))
    for line in lines:
        if line.startswith("RESULTS "):
            return json.loads(line.removeprefix("RESULTS "))
    raise RuntimeError("no results from the kernel:\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed slider steps per row (default 40)")
    args = parser.parse_args()

    started = time.perf_counter()
    results = run_in_kernel(KERNEL_CODE.replace("__STEPS__", str(args.steps)))
    baseline = results["interact + inline matplotlib (baseline)"]["median"]

    import torch  # only for the version line

    print(
        f"Slider step in the kernel (slider.value = v until the picture is updated), median of {args.steps} steps; "
        f"{platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    name_width = max(len(name) for name in results)
    print(f"| {'approach':<{name_width}} | median ms | p90 ms | speed-up vs baseline |")
    print(f"|{'-' * (name_width + 2)}|----------:|-------:|---------------------:|")
    for name, row in results.items():
        speedup = baseline / row["median"] if row["median"] > 0 else float("inf")
        print(f"| {name:<{name_width}} | {row['median']:9.2f} | {row['p90']:6.2f} | {speedup:19.1f}x |")
    print()
    print(f"(whole run {time.perf_counter() - started:.1f} s, kernel start and imports included)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
