"""Benchmark: gradlab.backward against torch.autograd.backward on a large model.

Run with ``.venv/bin/python bench/bench_backward.py`` (or ``make bench``).
Prints a table; not a test. Each variant runs in a fresh subprocess so that
its peak resident memory (``ru_maxrss``) is its own. The model is a stack of
``Linear(2048, 2048)`` layers (about 200 MB of float32 parameters) and the
timed call is the SECOND backward, when every ``.grad`` already holds values
and gradlab checks them to tell about accumulation.

Goal (hardening issue): gradlab ≤ 1.1× torch's time and ≤ 1.05× its peak memory.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

LAYERS = 12
WIDTH = 2048
RUNS = 5


def _child(variant: str) -> None:
    import warnings

    import torch

    import gradlab

    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    x = torch.randn(8, WIDTH)
    run = torch.autograd.backward if variant == "torch.autograd.backward" else gradlab.backward
    warnings.simplefilter("ignore")  # gradlab's accumulation notice is the point here, not its text
    times = []
    for _ in range(RUNS + 1):
        loss = model(x).square().mean()
        start = time.perf_counter()
        run(loss)
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    params_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    print(json.dumps({"ms": statistics.median(times[1:]) * 1000, "peak_mb": peak_mb, "params_mb": params_mb}))


def main() -> None:
    results = {}
    for variant in ("torch.autograd.backward", "gradlab.backward"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", variant], check=True, capture_output=True, text=True
        ).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
    base = results["torch.autograd.backward"]
    print(
        f"backward on {LAYERS} x Linear({WIDTH}, {WIDTH}) ({base['params_mb']:.0f} MB of parameters), "
        f"median of {RUNS} accumulating calls"
    )
    print(f"{'variant':<26}{'time ms':>10}{'x torch':>10}{'peak RSS MB':>14}{'x torch':>10}")
    for variant, r in results.items():
        print(
            f"{variant:<26}{r['ms']:>10.1f}{r['ms'] / base['ms']:>10.2f}"
            f"{r['peak_mb']:>14.0f}{r['peak_mb'] / base['peak_mb']:>10.3f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main()
