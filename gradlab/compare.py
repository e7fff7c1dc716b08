"""Every Jacobian method side by side: its error against a reference and its median time.

:func:`compare_jacobians` runs each :func:`gradlab.jacobian` method on the
same function and inputs, so a notebook can show with numbers why PyTorch
offers more than the seed's row loop. The result prints as a table whose
run-to-run varying numbers (times, ratios) come last on each line.
"""

from __future__ import annotations

import html
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from gradlab import _format
from gradlab._checks import Inputs, as_inputs, as_methods, check_func
from gradlab._style import TABLE
from gradlab.jacobians import (
    METHODS,
    Jacobian,
    diagonal_blocks,
    flatten,
    fresh,
    grad_recording,
    jacobian,
    jacobian_parts,
    max_abs_diff,
    per_sample_parts,
)

__all__ = ["JacobianComparison", "MethodResult", "compare_jacobians"]


def _median_time(run: Callable[[], Any], min_time: float, max_repeat: int = 100) -> tuple[float, list[float]]:
    """Median seconds per call: one warm-up call, then at least 3 timed calls, up to ``min_time`` in all."""
    run()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < max_repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


@dataclass(frozen=True)
class MethodResult:
    """One row of :class:`JacobianComparison`.

    Attributes:
        method: ``"rows"``, ``"batched"``, ``"jacrev"``, ``"jacfwd"``,
            ``"auto"`` or ``"reference"``.
        max_abs_diff: the largest ``|J − reference|`` entry (0 for the reference).
        median_s: median seconds per call.
        ratio: ``median_s`` divided by the reference's (when it was timed) or
            by the fastest method's.
        times_s: every timed call, in seconds.
        chose: for ``"auto"``, the method it used; otherwise ``""``.
    """

    method: str
    max_abs_diff: float
    median_s: float
    ratio: float
    times_s: tuple[float, ...] = field(repr=False)
    chose: str = ""

    @property
    def label(self) -> str:
        return f"auto → {self.chose}" if self.chose else self.method


@dataclass(repr=False)
class JacobianComparison:
    """What :func:`compare_jacobians` measured; shows as a table (HTML in a notebook).

    Attributes:
        rows: one :class:`MethodResult` per method (the reference first when timed).
        reference: how the reference was obtained.
        ratio_to: what the ratios divide by: ``"reference"`` or ``"fastest"``.
        shape: a short description of the output and input shapes and dtype.
    """

    rows: list[MethodResult]
    reference: str
    ratio_to: str
    shape: str

    def __getitem__(self, method: str) -> MethodResult:
        for row in self.rows:
            if row.method == method:
                return row
        raise KeyError(method)

    def _title(self) -> str:
        return f"compare_jacobians: {self.shape}; {TABLE['reference']}: {self.reference}"

    def _header(self) -> tuple[str, str, str, str]:
        ratio = TABLE["ratio_reference"] if self.ratio_to == "reference" else TABLE["ratio_fastest"]
        return TABLE["method"], TABLE["max_diff"], TABLE["median"], ratio

    def __str__(self) -> str:
        # Times and ratios vary from run to run, so they come last and unpadded:
        # once a notebook checker replaces them, every line is the same again.
        method, diff, median, ratio = self._header()
        rows = [(method, diff, f"{median}  {ratio}")]
        for r in self.rows:
            timing = f"{_format.duration(r.median_s)}  {_format.ratio(r.ratio)}"
            rows.append((r.label, _format.error(r.max_abs_diff), timing))
        return "\n".join([self._title(), *_format.columns(rows)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><td style='text-align:left'>{esc(r.label)}</td><td>{esc(_format.error(r.max_abs_diff))}</td>"
            f"<td>{esc(_format.duration(r.median_s))}</td><td>{esc(_format.ratio(r.ratio))}</td></tr>"
            for r in self.rows
        )
        method, diff, median, ratio = (esc(words) for words in self._header())
        return (
            "<table class='gradlab-compare-jacobians'>"
            f"<caption>{esc(self._title())}</caption>"
            f"<thead><tr><th style='text-align:left'>{method}</th><th>{diff}</th>"
            f"<th>{median}</th><th>{ratio}</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )


def _describe(func: Callable[..., Any], inputs: tuple[torch.Tensor, ...]) -> str:
    shapes = ", ".join(str(list(x.shape)) for x in inputs)
    dtypes = sorted({str(x.dtype).replace("torch.", "") for x in inputs})
    name = getattr(func, "__name__", type(func).__name__)
    return f"{name}, {TABLE['inputs']} {shapes}, {'/'.join(dtypes)}"


def compare_jacobians(
    func: Callable[..., Any],
    inputs: Inputs,
    reference: Jacobian | Callable[[], Jacobian] | None = None,
    *,
    methods: Sequence[str] | str = METHODS,
    min_time: float = 0.05,
    batch_dim: int | None = None,
) -> JacobianComparison:
    """Run every :func:`jacobian` method; report each one's error and median time.

    Args:
        func: as in :func:`jacobian`.
        inputs: as in :func:`jacobian`.
        reference: the right answer, in :func:`jacobian`'s layout: a tensor
            (or tuple), or a function with no arguments returning it, e.g.
            ``lambda: softmax_jacobian(a, dim=0)`` (then it is timed too and
            the ratios are to it). ``None``: PyTorch's own
            ``torch.autograd.functional.jacobian(func, inputs)``, untimed.
        methods: which methods to run (default: all of :data:`METHODS`); a
            list, or one name such as ``"rows"``.
        min_time: seconds to spend timing each method (at least 3 calls after
            one warm-up call).
        batch_dim: as in :func:`jacobian`: compare the per-sample blocks
            ``[B, *out_sample, *in_sample]``. A given reference is in that
            layout; the default one is cut out of PyTorch's full Jacobian.

    Raises:
        ValueError: ``methods`` is empty or names an unknown method.
        TypeError: ``methods`` is not a string or a list of them; see
            :func:`jacobian` for ``func`` and ``inputs``.

    Returns:
        A :class:`JacobianComparison`: ``.rows`` holds the numbers; printed
        (or shown in a notebook) it is a table. Times are printed like
        ``0.123 ms`` and ratios like ``12.3×``; errors with one significant
        digit (``3e-08``) so that they print the same on every run.

    Example:
        >>> from gradlab.jacobians import softmax_jacobian
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> table = compare_jacobians(lambda z: torch.softmax(z, dim=0), a,
        ...                           reference=lambda: softmax_jacobian(a, dim=0), min_time=0.001)
        >>> [row.label for row in table.rows]
        ['reference', 'rows', 'batched', 'jacrev', 'jacfwd', 'auto → batched']
        >>> all(row.max_abs_diff < 1e-6 for row in table.rows)
        True
    """
    chosen = as_methods(methods, METHODS)
    check_func(func, "compare_jacobians")
    input_tuple, inputs_tuple = as_inputs(inputs, "compare_jacobians")
    rows: list[MethodResult] = []
    reference_time: float | None = None
    if reference is None:
        label = "torch.autograd.functional.jacobian"
        with grad_recording():  # whatever the caller's mode, as jacobian() does
            # as a tuple: torch.autograd.functional.jacobian rejects the list that jacobian() accepts
            copies = tuple(fresh(x) for x in input_tuple)
            reference_value = torch.autograd.functional.jacobian(
                func, copies if inputs_tuple else copies[0], vectorize=batch_dim is not None
            )
            if batch_dim is not None:
                label += f", {TABLE['diagonal_blocks']} (batch_dim={batch_dim})"
                value = func(*copies)
                outputs_tuple = isinstance(value, (tuple, list))
                outputs = tuple(value) if outputs_tuple else (value,)
                reference_value = diagonal_blocks(
                    reference_value, outputs, outputs_tuple, copies, inputs_tuple, batch_dim
                )
    elif callable(reference):
        label = f"reference() ({TABLE['timed']})"
        reference_value = reference()
        reference_time, times = _median_time(reference, min_time)
        rows.append(MethodResult("reference", 0.0, reference_time, 1.0, tuple(times)))
    else:
        label = TABLE["given"]
        reference_value = reference
    flatten(reference_value)  # a bilingual TypeError if it is not tensors

    measured = []
    for method in chosen:
        value = jacobian(func, inputs, method=method, batch_dim=batch_dim)
        diff = max_abs_diff(value, reference_value)
        median, times = _median_time(partial(jacobian, func, inputs, method=method, batch_dim=batch_dim), min_time)
        chose = ""
        if method == "auto" and batch_dim is None:
            chose = jacobian_parts(func, inputs, "auto", "compare_jacobians")[3]
        elif method == "auto" and batch_dim is not None:
            chose = per_sample_parts(func, inputs, "auto", batch_dim, "compare_jacobians")[3]
        measured.append((method, diff, median, times, chose))
    base = reference_time if reference_time is not None else min(m[2] for m in measured)
    for method, diff, median, times, chose in measured:
        rows.append(MethodResult(method, diff, median, median / base if base > 0 else math.inf, tuple(times), chose))
    return JacobianComparison(
        rows=rows,
        reference=label,
        ratio_to="reference" if reference_time is not None else "fastest",
        shape=_describe(func, input_tuple)
        + (f"; {TABLE['per_sample']}, batch_dim={batch_dim}" if batch_dim is not None else ""),
    )
