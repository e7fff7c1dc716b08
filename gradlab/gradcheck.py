"""Autograd checked against central finite differences, entry by entry, in float64.

:func:`check_grad` is the numeric reference behind every derivative gradlab
teaches: the notebooks use it on the seed's MSE, and the tests use it to catch
a custom ``autograd.Function`` whose ``backward`` is wrong.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from gradlab import _format
from gradlab._checks import Inputs, as_inputs, as_outputs, check_eps, check_func
from gradlab._messages import bilingual
from gradlab.jacobians import by_rows

__all__ = ["GradCheck", "GradCheckEntry", "check_grad"]


@dataclass(frozen=True)
class GradCheckEntry:
    """One Jacobian entry compared by :func:`check_grad`.

    Attributes:
        entry: which entry, e.g. ``"∂out[1]/∂in[2]"``.
        autograd: what autograd (the backward functions) says.
        numeric: the central difference ``(f(x + eps) − f(x − eps)) / (2 eps)``.
        abs_error: ``|autograd − numeric|``.
        rel_error: ``abs_error / max(|autograd|, |numeric|, atol)``.
        ok: ``abs_error <= atol + rtol * |numeric|``.
    """

    entry: str
    autograd: float
    numeric: float
    abs_error: float
    rel_error: float
    ok: bool


@dataclass(repr=False)
class GradCheck:
    """What :func:`check_grad` found; shows as a table (HTML in a notebook).

    Attributes:
        passed: whether every entry is within tolerance.
        entries: every :class:`GradCheckEntry`.
        notes: bilingual notes (e.g. that float32 inputs were upcast).
        upcast: whether some input was not float64 and was converted.
        eps, atol, rtol: the settings used.
    """

    passed: bool
    entries: list[GradCheckEntry]
    notes: list[str]
    upcast: bool
    eps: float
    atol: float
    rtol: float
    shown: int = 20

    @property
    def max_abs_error(self) -> float:
        return max((e.abs_error for e in self.entries), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((e.rel_error for e in self.entries), default=0.0)

    def _shown_entries(self) -> list[GradCheckEntry]:
        if len(self.entries) <= self.shown:
            return self.entries
        worst = sorted(range(len(self.entries)), key=lambda i: -self.entries[i].abs_error)[: self.shown]
        return [self.entries[i] for i in sorted(worst)]

    def _summary(self) -> str:
        verdict = "通过 PASSED" if self.passed else "未通过 FAILED"
        good = sum(e.ok for e in self.entries)
        return (
            f"check_grad: {verdict}: {good} of {len(self.entries)} entries agree "
            f"(|autograd − numeric| ≤ {self.atol:g} + {self.rtol:g}·|numeric|; eps={self.eps:g}, float64)"
        )

    def _more(self) -> str:
        hidden = len(self.entries) - len(self._shown_entries())
        return (
            f"… {hidden} entries with smaller errors not shown (all {len(self.entries)} are in .entries)"
            if hidden
            else ""
        )

    def __str__(self) -> str:
        cells = [
            (
                e.entry,
                f"{e.autograd:.6g}",
                f"{e.numeric:.6g}",
                _format.error(e.abs_error),
                _format.error(e.rel_error),
                "ok" if e.ok else "WRONG",
            )
            for e in self._shown_entries()
        ]
        header = ("entry", "autograd", "numeric", "abs err", "rel err", "ok")
        widths = [max(len(header[c]), *(len(row[c]) for row in cells)) if cells else len(header[c]) for c in range(6)]
        lines = [self._summary(), *self.notes]
        for row in (header, *cells):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if self._more():
            lines.append(self._more())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><td style='text-align:left'>{esc(e.entry)}</td><td>{e.autograd:.6g}</td><td>{e.numeric:.6g}</td>"
            f"<td>{_format.error(e.abs_error)}</td><td>{_format.error(e.rel_error)}</td>"
            f"<td>{'ok' if e.ok else '<b>WRONG</b>'}</td></tr>"
            for e in self._shown_entries()
        )
        notes = "".join(f"<p>{esc(n).replace(chr(10), '<br>')}</p>" for n in self.notes)
        more = f"<p>{esc(self._more())}</p>" if self._more() else ""
        return (
            f"<div class='gradlab-check-grad'><p><b>{esc(self._summary())}</b></p>{notes}"
            "<table><thead><tr><th style='text-align:left'>entry</th><th>autograd</th><th>numeric</th>"
            f"<th>abs err</th><th>rel err</th><th>ok</th></tr></thead><tbody>{body}</tbody></table>{more}</div>"
        )


def _index(shape: torch.Size, flat: int) -> str:
    if not shape:
        return ""
    idx = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        idx.append(rest)
    return "[" + ", ".join(str(i) for i in reversed(idx)) + "]"


def _call_float64(func: Callable[..., Any], args: tuple[torch.Tensor, ...]) -> Any:
    try:
        return func(*args)
    except RuntimeError as error:
        text = str(error)
        if "Double" in text or "dtype" in text:
            raise TypeError(
                bilingual(
                    "check_grad 用 float64 计算，但 func 里还有别的类型（常见：模型参数是 float32）。",
                    "check_grad computes in float64, but func mixes in another dtype (often float32 model parameters).",
                    todo_zh="先把模型转成 float64：model.double()；或在 func 里把用到的张量都 .double()。",
                    todo_en="Convert the model first with model.double(), or .double() the tensors func uses.",
                    cause=text.strip().splitlines()[0],
                )
            ) from error
        raise


def _upcast_note(inputs: tuple[torch.Tensor, ...], eps: float) -> str:
    dtypes = "/".join(sorted({str(x.dtype).replace("torch.", "") for x in inputs if x.dtype != torch.float64}))
    return bilingual(
        f"注意：输入是 {dtypes}。{dtypes} 只有约 7 位有效数字，步长 eps={eps:g} 的有限差分误差会到 1e-1 左右，"
        "比较没有意义，所以已转换为 float64 再比较。",
        f"Note: the inputs were {dtypes}. With ~7 significant digits a finite difference with eps={eps:g} "
        "is off by ~1e-1, so the comparison would mean nothing; they were converted to float64.",
    )


def _central_differences(
    func: Callable[..., Any], x64: tuple[torch.Tensor, ...], eps: float
) -> list[list[list[torch.Tensor]]]:
    """``numeric[j][e][i]``: output ``i``, flattened, differentiated by element ``e`` of input ``j``."""
    numeric: list[list[list[torch.Tensor]]] = []
    with torch.no_grad():
        for x in x64:
            cols = []
            for e in range(x.numel()):
                plus, minus = x.clone(), x.clone()
                plus.view(-1)[e] += eps
                minus.view(-1)[e] -= eps
                args_p = tuple(plus if y is x else y for y in x64)
                args_m = tuple(minus if y is x else y for y in x64)
                out_p, _ = as_outputs(_call_float64(func, args_p), "check_grad")
                out_m, _ = as_outputs(_call_float64(func, args_m), "check_grad")
                cols.append(
                    [(p.double() - m.double()).reshape(-1) / (2 * eps) for p, m in zip(out_p, out_m, strict=True)]
                )
            numeric.append(cols)
    return numeric


def _entries(
    outputs: tuple[torch.Tensor, ...],
    x64: tuple[torch.Tensor, ...],
    analytic: list[list[torch.Tensor]],
    numeric: list[list[list[torch.Tensor]]],
    inputs_tuple: bool,
    atol: float,
    rtol: float,
) -> list[GradCheckEntry]:
    """One :class:`GradCheckEntry` per Jacobian entry, output by output, row by row."""
    out_names = [f"out{i}" if len(outputs) > 1 else "out" for i in range(len(outputs))]
    in_names = [f"in{j}" if inputs_tuple else "in" for j in range(len(x64))]
    entries = []
    for i, out in enumerate(outputs):
        for o in range(out.numel()):
            for j, x in enumerate(x64):
                flat_analytic = analytic[i][j].reshape(out.numel(), x.numel()).double()
                for e in range(x.numel()):
                    a = float(flat_analytic[o, e])
                    n = float(numeric[j][e][i][o])
                    err = abs(a - n)
                    rel = err / max(abs(a), abs(n), atol)
                    ok = err <= atol + rtol * abs(n)
                    name = f"∂{out_names[i]}{_index(out.shape, o)}/∂{in_names[j]}{_index(x.shape, e)}"
                    entries.append(GradCheckEntry(name, a, n, err, rel, ok))
    return entries


def check_grad(
    func: Callable[..., Any],
    inputs: Inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> GradCheck:
    """Compare autograd with central finite differences, entry by entry, in float64.

    For every input element x_j, ``(f(x + eps·e_j) − f(x − eps·e_j)) / (2 eps)``
    estimates column j of the Jacobian with an error of about ``eps²`` (from
    the curvature) plus ``machine epsilon / eps`` (from rounding). In float64
    with eps = 1e-6 that is ~1e-10; in float32 the rounding term alone is
    ~1e-1, which makes the comparison meaningless, so float32 (or lower)
    inputs are converted to float64 first, and a note says so. Autograd's
    side is the seed's row loop, so a custom ``autograd.Function`` is checked
    through its own ``backward``.

    Args:
        func: a function of the input tensor(s) returning a tensor or a tuple
            of tensors; it is called with float64 copies of ``inputs``.
        inputs: a floating point tensor, or a tuple of them.
        eps: the finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance; an entry is ok when
            ``|autograd − numeric| <= atol + rtol·|numeric|`` (as in
            ``torch.autograd.gradcheck``).

    Returns:
        A :class:`GradCheck`: ``.passed`` is the verdict, ``.entries`` every
        comparison; printed (or shown in a notebook) it is a table.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653], dtype=torch.float64)
        >>> result = check_grad(lambda z: torch.softmax(z, dim=0), a)
        >>> result.passed, len(result.entries)
        (True, 9)
        >>> result.entries[0].entry
        '∂out[0]/∂in[0]'
    """
    check_func(func, "check_grad")
    input_tuple, inputs_tuple = as_inputs(inputs, "check_grad")
    check_eps(eps)
    upcast = any(x.dtype != torch.float64 for x in input_tuple)
    notes = [_upcast_note(input_tuple, eps)] if upcast else []
    x64 = tuple(x.detach().to(torch.float64) for x in input_tuple)
    with torch.enable_grad():
        leaves = tuple(x.clone().requires_grad_() for x in x64)
        outputs, _ = as_outputs(_call_float64(func, leaves), "check_grad")
        analytic = by_rows(outputs, leaves)
    if any(o.dtype != torch.float64 for o in outputs):
        notes.append(
            bilingual(
                "注意：输入是 float64，但 func 返回的不是 float64，有限差分的精度因此受限，结果可能不可信。",
                "Note: func returned a non-float64 result for float64 inputs, so the finite differences "
                "are imprecise and the verdict may be wrong.",
                todo_zh="让 func 全程用 float64 计算（例如 model.double()）。",
                todo_en="Make func compute in float64 throughout (e.g. model.double()).",
            )
        )
    numeric = _central_differences(func, x64, eps)
    entries = _entries(outputs, x64, analytic, numeric, inputs_tuple, atol, rtol)
    return GradCheck(
        passed=all(e.ok for e in entries),
        entries=entries,
        notes=notes,
        upcast=upcast,
        eps=float(eps),
        atol=float(atol),
        rtol=float(rtol),
    )
