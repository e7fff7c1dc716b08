"""Autograd checked against central finite differences, entry by entry, in float64.

:func:`check_grad` is the numeric reference behind every derivative gradlab
teaches: the notebooks use it on the seed's MSE, and the tests use it to catch
a custom ``autograd.Function`` whose ``backward`` is wrong.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import torch

from gradlab import _format
from gradlab._checks import (
    Inputs,
    as_inputs,
    as_outputs,
    check_eps,
    check_func,
    check_tolerance,
)
from gradlab._messages import bilingual
from gradlab._style import TABLE
from gradlab.jacobians import by_rows, explained, fresh, grad_recording

# Elements per chunk: check_grad never holds more than about this many float64 numbers
# per batched call (perturbed inputs, their outputs, basis vectors): ~2 MB each.
_CHUNK_ELEMENTS = 1 << 18

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


class _Entries(Sequence[GradCheckEntry]):
    """Every :class:`GradCheckEntry`, made on demand from the float64 Jacobians (memory: a few numbers per entry).

    Order: output by output, then row by row (output element), then input by
    input, then input element; the same as a list built with those loops.
    """

    def __init__(
        self,
        analytic: torch.Tensor,
        numeric: torch.Tensor,
        atol: float,
        rtol: float,
        blocks: list[tuple[str, torch.Size, list[tuple[str, torch.Size]]]],
    ) -> None:
        self.analytic, self.numeric, self.atol = analytic, numeric, atol
        self.ok = (analytic - numeric).abs_() <= atol + rtol * numeric.abs()
        self._blocks = blocks  # per output: its name, shape, and (name, shape) of each input
        self._starts: list[int] = []
        start = 0
        for _, out_shape, ins in blocks:
            self._starts.append(start)
            start += out_shape.numel() * sum(shape.numel() for _, shape in ins)
        self._len = start

    def __len__(self) -> int:
        return self._len

    def _name(self, k: int) -> str:
        i = max(n for n, s in enumerate(self._starts) if s <= k)
        out_name, out_shape, ins = self._blocks[i]
        o, rest = divmod(k - self._starts[i], sum(shape.numel() for _, shape in ins))
        for in_name, shape in ins:
            if rest < shape.numel():
                return f"∂{out_name}{_index(out_shape, o)}/∂{in_name}{_index(shape, rest)}"
            rest -= shape.numel()
        raise AssertionError(k)

    @property
    def abs_error(self) -> torch.Tensor:
        """Every ``|autograd − numeric|`` (made when asked, not kept)."""
        return (self.analytic - self.numeric).abs_()

    @property
    def rel_error(self) -> torch.Tensor:
        """Every ``abs_error / max(|autograd|, |numeric|, atol)`` (made when asked, not kept)."""
        scale = torch.maximum(self.analytic.abs(), self.numeric.abs()).clamp_(min=self.atol)
        return self.abs_error.div_(scale)

    def _entry(self, k: int) -> GradCheckEntry:
        a, n = float(self.analytic[k]), float(self.numeric[k])
        err = abs(a - n)
        return GradCheckEntry(self._name(k), a, n, err, err / max(abs(a), abs(n), self.atol), bool(self.ok[k]))

    @overload
    def __getitem__(self, index: int) -> GradCheckEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[GradCheckEntry]: ...

    def __getitem__(self, index: int | slice) -> GradCheckEntry | list[GradCheckEntry]:
        if isinstance(index, slice):
            return [self._entry(k) for k in range(*index.indices(self._len))]
        k = index.__index__()
        if k < 0:
            k += self._len
        if not 0 <= k < self._len:
            raise IndexError(index)
        return self._entry(k)

    def __iter__(self) -> Iterator[GradCheckEntry]:
        return (self._entry(k) for k in range(self._len))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Entries):
            other = list(other)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._len} check_grad entries>"


@dataclass(repr=False)
class GradCheck:
    """What :func:`check_grad` found; shows as a table (HTML in a notebook).

    Attributes:
        passed: whether every entry is within tolerance.
        entries: every :class:`GradCheckEntry`: a sequence (``len``, index,
            iterate) that makes each entry when it is read, so that a check
            with a million entries stays small.
        notes: bilingual notes (e.g. that float32 inputs were upcast).
        upcast: whether some input was not float64 and was converted.
        eps, atol, rtol: the settings used.
    """

    passed: bool
    entries: Sequence[GradCheckEntry]
    notes: list[str]
    upcast: bool
    eps: float
    atol: float
    rtol: float
    shown: int = 20

    @property
    def max_abs_error(self) -> float:
        if isinstance(self.entries, _Entries):
            return float(self.entries.abs_error.max()) if len(self.entries) else 0.0
        return max((e.abs_error for e in self.entries), default=0.0)

    @property
    def max_rel_error(self) -> float:
        if isinstance(self.entries, _Entries):
            return float(self.entries.rel_error.max()) if len(self.entries) else 0.0
        return max((e.rel_error for e in self.entries), default=0.0)

    def _shown_entries(self) -> list[GradCheckEntry]:
        if len(self.entries) <= self.shown:
            return list(self.entries)
        if isinstance(self.entries, _Entries):  # the largest errors, ties in order, without making every entry
            order = torch.sort(self.entries.abs_error, descending=True, stable=True).indices[: self.shown]
            return [self.entries[int(k)] for k in sorted(order.tolist())]
        worst = sorted(range(len(self.entries)), key=lambda i: -self.entries[i].abs_error)[: self.shown]
        return [self.entries[i] for i in sorted(worst)]

    def _summary(self) -> str:
        verdict = TABLE["passed"] if self.passed else TABLE["failed"]
        good = int(self.entries.ok.sum()) if isinstance(self.entries, _Entries) else sum(e.ok for e in self.entries)
        agree = TABLE["agree"].format(good=good, total=len(self.entries))
        return (
            f"check_grad: {verdict}: {agree} "
            f"(|autograd − numeric| ≤ {self.atol:g} + {self.rtol:g}·|numeric|; eps={self.eps:g}, float64)"
        )

    def _more(self) -> str:
        hidden = len(self.entries) - len(self._shown_entries())
        return TABLE["more"].format(hidden=hidden, total=len(self.entries)) if hidden else ""

    @staticmethod
    def _header() -> tuple[str, ...]:
        return (TABLE["entry"], "autograd", TABLE["numeric"], TABLE["abs_err"], TABLE["rel_err"], TABLE["status"])

    def __str__(self) -> str:
        cells = [
            (
                e.entry,
                f"{e.autograd:.6g}",
                f"{e.numeric:.6g}",
                _format.error(e.abs_error),
                _format.error(e.rel_error),
                TABLE["ok"] if e.ok else TABLE["wrong"],
            )
            for e in self._shown_entries()
        ]
        lines = [self._summary(), *self.notes, *_format.columns([self._header(), *cells])]
        if self._more():
            lines.append(self._more())
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        ok, wrong = esc(TABLE["ok"]), f"<b>{esc(TABLE['wrong'])}</b>"
        body = "".join(
            f"<tr><td style='text-align:left'>{esc(e.entry)}</td><td>{e.autograd:.6g}</td><td>{e.numeric:.6g}</td>"
            f"<td>{_format.error(e.abs_error)}</td><td>{_format.error(e.rel_error)}</td>"
            f"<td>{ok if e.ok else wrong}</td></tr>"
            for e in self._shown_entries()
        )
        entry, *rest = (esc(words) for words in self._header())
        head = f"<th style='text-align:left'>{entry}</th>" + "".join(f"<th>{words}</th>" for words in rest)
        notes = "".join(f"<p>{esc(n).replace(chr(10), '<br>')}</p>" for n in self.notes)
        more = f"<p>{esc(self._more())}</p>" if self._more() else ""
        return (
            f"<div class='gradlab-check-grad'><p><b>{esc(self._summary())}</b></p>{notes}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
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


def _analytic(
    outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...], blocks: list[list[torch.Tensor]]
) -> None:
    """Fill ``blocks[i][j]`` (``[out_i.numel(), x_j.numel()]``, float64) with autograd's Jacobian, in chunks.

    Each chunk is one ``autograd.grad`` with ``is_grads_batched=True`` over a
    block of rows of the identity; a backward that cannot be batched (an
    ``autograd.Function`` without vmap support) falls back to the row loop.
    """
    for out, row in zip(outputs, blocks, strict=True):
        rows = out.numel()
        if not rows or not out.requires_grad:
            continue
        chunk = max(1, _CHUNK_ELEMENTS // max(rows, *(x.numel() for x in leaves)))
        try:
            for start in range(0, rows, chunk):
                count = min(chunk, rows - start)
                basis = torch.zeros(count, rows, dtype=out.dtype, device=out.device)
                basis[torch.arange(count), start + torch.arange(count)] = 1
                grads = torch.autograd.grad(
                    out,
                    leaves,
                    grad_outputs=basis.reshape(count, *out.shape),
                    retain_graph=True,
                    allow_unused=True,
                    is_grads_batched=True,
                )
                for block, g in zip(row, grads, strict=True):
                    if g is not None:
                        block[start : start + count] = g.reshape(count, -1)
        except RuntimeError:  # e.g. a custom autograd.Function whose backward vmap cannot batch
            for block, g in zip(row, by_rows((out,), leaves)[0], strict=True):
                block.copy_(g.reshape(rows, -1))


def _numeric(
    func: Callable[..., Any], x64: tuple[torch.Tensor, ...], eps: float, blocks: list[list[torch.Tensor]]
) -> None:
    """Fill ``blocks[i][j]`` (``[out_i.numel(), x_j.numel()]``) with central differences, many per call.

    Each call evaluates ``func`` on a chunk of perturbed copies at once with
    ``torch.func.vmap`` (at most about ``_CHUNK_ELEMENTS`` numbers per chunk);
    a ``func`` that vmap cannot run (``.item()``, data-dependent ``if``,
    randomness, an ``autograd.Function`` without ``setup_context``) is called
    once per perturbation instead.
    """
    sizes = [row[0].shape[0] for row in blocks]
    with torch.no_grad():
        for j, x in enumerate(x64):
            n = x.numel()

            def at(xj: torch.Tensor, j: int = j) -> tuple[torch.Tensor, ...]:
                args = tuple(xj if k == j else y.clone() for k, y in enumerate(x64))
                outputs, _ = as_outputs(_call_float64(func, args), "check_grad")
                return outputs

            chunk = max(1, _CHUNK_ELEMENTS // (2 * max(n, *sizes, 1)))
            batched = True
            for start in range(0, n, chunk):
                count = min(chunk, n - start)
                steps = torch.zeros(count, n, dtype=torch.float64, device=x.device)
                steps[torch.arange(count), start + torch.arange(count)] = eps
                points = torch.cat([x.reshape(1, n) + steps, x.reshape(1, n) - steps]).reshape(2 * count, *x.shape)
                del steps
                outs: list[torch.Tensor] | None = None
                if batched:
                    try:
                        outs = list(torch.func.vmap(at)(points))
                    except (RuntimeError, TypeError, ValueError):
                        batched = False  # vmap cannot run func: one call per perturbation
                if outs is None:
                    per_point = [at(p.clone()) for p in points]
                    outs = [torch.stack([o[i] for o in per_point]) for i in range(len(sizes))]
                del points
                for i, out in enumerate(outs):
                    flat = out.reshape(2 * count, -1).double()
                    blocks[i][j][:, start : start + count] = ((flat[:count] - flat[count:]) / (2 * eps)).T
                del outs


def _blocks(
    flat: torch.Tensor, outputs: tuple[torch.Tensor, ...], x64: tuple[torch.Tensor, ...]
) -> list[list[torch.Tensor]]:
    """Views ``[out_i.numel(), x_j.numel()]`` into ``flat``, laid out output by output, row by row."""
    width = sum(x.numel() for x in x64)
    blocks, start = [], 0
    for out in outputs:
        block = flat[start : start + out.numel() * width].view(out.numel(), width)
        columns, col = [], 0
        for x in x64:
            columns.append(block[:, col : col + x.numel()])
            col += x.numel()
        blocks.append(columns)
        start += out.numel() * width
    return blocks


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
    side runs the function's own backward (a custom ``autograd.Function`` is
    checked through its ``backward``), for many rows at once
    (``is_grads_batched=True``, the row loop when that cannot run).

    Vectorised and memory-bounded: the perturbations go through ``func`` in
    chunks with ``torch.func.vmap`` (one call per perturbation when ``func``
    cannot be vmapped), and no chunk holds more than about a million
    numbers. The entries are made when read.

    Works whatever the caller's grad mode (``no_grad``, ``inference_mode``).

    Args:
        func: a function of the input tensor(s) returning a tensor or a tuple
            of tensors; it is called with float64 copies of ``inputs``.
        inputs: a floating point tensor, or a tuple of them.
        eps: the finite-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance; an entry is ok when
            ``|autograd − numeric| <= atol + rtol·|numeric|`` (as in
            ``torch.autograd.gradcheck``).

    Raises:
        TypeError: ``eps``, ``atol`` or ``rtol`` is not a number (a bool
            included), as ``torch.autograd.gradcheck`` for ``None``; ``func``
            mixes float64 with another dtype (gradlab's check).
        RuntimeError: ``atol`` or ``rtol`` is negative or nan
            (``torch.isclose``'s error, chained, as in
            ``torch.autograd.gradcheck``); an integer, bool or complex input
            (see :func:`gradlab.jacobian`).
        ValueError: ``eps`` is not a positive finite number; ``atol`` or
            ``rtol`` is inf (gradlab's checks).

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
    check_tolerance("atol", atol)
    check_tolerance("rtol", rtol)
    upcast = any(x.dtype != torch.float64 for x in input_tuple)
    notes = [_upcast_note(input_tuple, eps)] if upcast else []
    # Whatever the caller's mode (no_grad, inference_mode): record a graph, on normal float64 copies.
    with grad_recording(), explained("check_grad"):
        x64 = tuple(fresh(x).to(torch.float64) for x in input_tuple)
        leaves = tuple(x.clone().requires_grad_() for x in x64)
        outputs, _ = as_outputs(_call_float64(func, tuple(x.clone() for x in leaves)), "check_grad")
        # Both Jacobians live in one flat float64 tensor each, in the entries' order
        # (output, output element, input, input element); blocks[i][j] are views into it.
        width = sum(x.numel() for x in x64)
        total = sum(o.numel() for o in outputs) * width
        analytic, numeric = torch.zeros(total, dtype=torch.float64), torch.zeros(total, dtype=torch.float64)
        analytic_blocks, numeric_blocks = _blocks(analytic, outputs, x64), _blocks(numeric, outputs, x64)
        _analytic(outputs, leaves, analytic_blocks)
        _numeric(func, x64, eps, numeric_blocks)
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
    out_names = [f"out{i}" if len(outputs) > 1 else "out" for i in range(len(outputs))]
    in_names = [(f"in{j}" if inputs_tuple else "in", x.shape) for j, x in enumerate(x64)]
    entries = _Entries(
        analytic,
        numeric,
        float(atol),
        float(rtol),
        [(name, out.shape, in_names) for name, out in zip(out_names, outputs, strict=True)],
    )
    return GradCheck(
        passed=bool(entries.ok.all()),
        entries=entries,
        notes=notes,
        upcast=upcast,
        eps=float(eps),
        atol=float(atol),
        rtol=float(rtol),
    )
