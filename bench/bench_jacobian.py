"""Time every gradlab.jacobian method beside the softmax closed form.

Run: ``.venv/bin/python bench/bench_jacobian.py`` (or ``make bench``).
Options: ``--threads N`` (default 1: on a shared or small machine, several
threads make the small cases noisy), ``--min-time S`` per measurement.

One table, measured in one run: for softmax over K = 3, 10, 100, 1000 logits
and over a [64, 100] batch (dim=-1), each method's median time per call and
its ratio to the closed form ``gradlab.softmax_jacobian`` (ratio < 1: faster).
The goal from the issue: "auto" within 2× of the closed form at K = 1000.

The [64, 100] case is different in kind: the generic methods compute the
full Jacobian, [64, 100, 64, 100], mostly zeros between different rows of the
batch, while the closed form returns only the 64 blocks, [64, 100, 100]. The
extra rows show what closing that gap costs (``full=True``), the generic
way to get only the blocks (``torch.func.vmap(torch.func.jacrev(...))``), and
gradlab's way: ``gradlab.jacobian(..., batch_dim=0)``, which calls ``func``
on the whole batch and checks that samples do not mix.

A second table: ``gradlab.check_grad`` against ``torch.autograd.gradcheck``
(its default, full mode) on softmax over 1,000 float64 inputs (a
1,000 × 1,000 Jacobian, a million entries), measured in the same run: median
time per call, and the peak resident memory each call adds (each measured
in a fresh child process after a small warm-up call, from Linux's VmHWM,
reset through /proc/self/clear_refs), with check_grad's ratio to gradcheck.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import gradlab
from gradlab.jacobians import auto_choice  # the rule "auto" applies (no timing)

METHODS = ("rows", "batched", "jacrev", "jacfwd", "auto")
CASES: list[tuple[str, tuple[int, ...]]] = [
    ("K=3", (3,)),
    ("K=10", (10,)),
    ("K=100", (100,)),
    ("K=1000", (1000,)),
    ("[64, 100]", (64, 100)),
]


def median_time(run: Callable[[], object], min_time: float) -> float:
    """Median seconds per call: one warm-up, then at least 3 calls and about ``min_time`` in all."""
    run()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < 200):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt_time(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    raise AssertionError


def literal_closed_form(x: torch.Tensor) -> torch.Tensor:
    """diag(p) − p pᵀ written as in the issue: three K×K tensors."""
    p = torch.softmax(x, dim=0)
    return torch.diag(p) - torch.outer(p, p)


def measure(min_time: float) -> tuple[list[str], dict[str, dict[str, tuple[float, float]]], dict[str, str]]:
    """{row label: {case: (median seconds, ratio to the closed form)}}, and what "auto" chose per case."""
    results: dict[str, dict[str, tuple[float, float]]] = {}
    chosen: dict[str, str] = {}
    g = torch.Generator().manual_seed(0)
    for case, shape in CASES:
        x = torch.randn(shape, generator=g)

        def func(z: torch.Tensor) -> torch.Tensor:
            return torch.softmax(z, dim=-1)

        closed = gradlab.softmax_jacobian(x, dim=-1, full=False)
        base = median_time(lambda x=x: gradlab.softmax_jacobian(x, dim=-1), min_time)
        timings: dict[str, float] = {"closed form (softmax_jacobian)": base}
        if len(shape) == 1:
            check = literal_closed_form(x)
            assert torch.allclose(check, closed, atol=1e-6)
            timings["closed form, literal diag(p) − ppᵀ"] = median_time(lambda x=x: literal_closed_form(x), min_time)
        else:
            timings["closed form, full=True"] = median_time(
                lambda x=x: gradlab.softmax_jacobian(x, dim=-1, full=True), min_time
            )
            per_row = torch.func.vmap(torch.func.jacrev(func))
            assert torch.allclose(per_row(x), closed, atol=1e-6)
            timings["vmap(jacrev) per row, blocks only"] = median_time(lambda x=x, f=per_row: f(x), min_time)
            for method in ("batched", "jacrev", "auto"):
                blocks = gradlab.jacobian(func, x, method=method, batch_dim=0)
                assert (blocks - closed).abs().max().item() < 1e-6, (case, method)
                timings[f"jacobian(batch_dim=0), {method}"] = median_time(
                    lambda x=x, method=method: gradlab.jacobian(func, x, method=method, batch_dim=0), min_time
                )
        full = gradlab.softmax_jacobian(x, dim=-1, full=True) if len(shape) > 1 else closed
        for method in METHODS:
            J = gradlab.jacobian(func, x, method=method)
            err = (J - full).abs().max().item()
            assert err < 1e-6, (case, method, err)
            timings[method] = median_time(lambda x=x, method=method: gradlab.jacobian(func, x, method=method), min_time)
            del J
        n = x.numel()
        chosen[case] = auto_choice(n, n)
        for label, seconds in timings.items():
            results.setdefault(label, {})[case] = (seconds, seconds / base)
    order = list(results)
    return order, results, chosen


CHECK_GRAD_N = 1000


def _check_grad_case(n: int) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    x = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return (lambda z: torch.softmax(z, dim=0)), x


def _run_check(tool: str, n: int) -> None:
    func, x = _check_grad_case(n)
    if tool == "gradcheck":
        assert torch.autograd.gradcheck(func, x.requires_grad_())
    else:
        assert gradlab.check_grad(func, x).passed


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(tool: str) -> None:
    """Print the KiB of resident memory one call of ``tool`` adds at its peak (run in a fresh process)."""
    _run_check(tool, 10)  # warm-up: load the code paths, not the memory
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM (the peak) to the current resident size
    before = _rss_kib("VmRSS")
    _run_check(tool, CHECK_GRAD_N)
    print(_rss_kib("VmHWM") - before)


def peak_extra_mib(tool: str, threads: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", tool, "--threads", str(threads)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def check_grad_table(min_time: float, threads: int) -> None:
    """check_grad against torch.autograd.gradcheck at 1,000 inputs: time and peak memory, as ratios."""
    seconds = {tool: median_time(lambda tool=tool: _run_check(tool, CHECK_GRAD_N), min_time) for tool in TOOLS}
    memory = {tool: peak_extra_mib(tool, threads) for tool in TOOLS}
    print()
    print(
        f"check_grad vs torch.autograd.gradcheck: softmax over {CHECK_GRAD_N:,} float64 inputs "
        f"({CHECK_GRAD_N**2:,} entries), same run"
    )
    rows = [("tool", "median time", "ratio", "peak extra memory", "ratio")]
    for tool, label in TOOLS.items():
        rows.append(
            (
                label,
                fmt_time(seconds[tool]),
                f"{seconds[tool] / seconds['gradcheck']:.2f}×",
                f"{memory[tool]:.1f} MiB",
                f"{memory[tool] / memory['gradcheck']:.2f}×" if memory["gradcheck"] > 0 else "—",
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


TOOLS = {"gradcheck": "torch.autograd.gradcheck", "check_grad": "gradlab.check_grad"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--min-time", type=float, default=0.25, help="seconds per measurement (default 0.25)")
    parser.add_argument("--memory-child", choices=["gradcheck", "check_grad"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child)
        return
    start = time.perf_counter()
    order, results, chosen = measure(args.min_time)

    print(f"softmax Jacobian, float32, CPU, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("median time per call (ratio to the closed form softmax_jacobian); — : not measured for that case")
    cases = [case for case, _ in CASES]
    cells = {
        label: [
            f"{fmt_time(results[label][c][0])} ({results[label][c][1]:.1f}×)" if c in results[label] else "—"
            for c in cases
        ]
        for label in order
    }
    width0 = max(len("method"), *(len(label) for label in order))
    widths = [max(len(c), *(len(cells[label][i]) for label in order)) for i, c in enumerate(cases)]
    print("  ".join(["method".ljust(width0), *(c.ljust(w) for c, w in zip(cases, widths, strict=True))]).rstrip())
    for label in order:
        row = [label.ljust(width0), *(cell.ljust(w) for cell, w in zip(cells[label], widths, strict=True))]
        print("  ".join(row).rstrip())
    print("auto chose: " + ", ".join(f"{c} → {chosen[c]}" for c in cases))
    full, blocks = results["auto"]["[64, 100]"][0], results["jacobian(batch_dim=0), auto"]["[64, 100]"][0]
    print(f"[64, 100]: jacobian(batch_dim=0) (blocks) is {full / blocks:.0f}× faster than the full Jacobian (auto)")
    ratio = results["auto"]["K=1000"][1]
    literal = results["auto"]["K=1000"][0] / results["closed form, literal diag(p) − ppᵀ"]["K=1000"][0]
    verdict = "met" if ratio <= 2 else "NOT met"
    print(
        f"goal: auto within 2× of the closed form at K=1000: {ratio:.1f}× ({verdict}); "
        f"{literal:.1f}× the literal diag(p) − ppᵀ"
    )
    check_grad_table(args.min_time, args.threads)
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
