"""Jacobians four ways, the softmax closed form, and vᵀJ.

The seed notebook builds the softmax Jacobian one row at a time, one
``torch.autograd.grad(p[i], [a], retain_graph=True)`` per output. That is the
right way to *teach* a Jacobian and the slowest way to *compute* one. This
module puts the row loop beside what PyTorch offers instead, so a notebook can
show with numbers why those exist:

* :func:`jacobian` with ``method="rows"`` (the seed's loop), ``"batched"``
  (one call with ``is_grads_batched=True``), ``"jacrev"`` / ``"jacfwd"``
  (``torch.func``), or ``"auto"`` (picked from the shapes, never the row loop
  beyond one output);
* :func:`softmax_jacobian`, the closed form ``diag(p) − p pᵀ``;
* :func:`compare_jacobians`, a table of every method's error and time;
* :func:`vjp`, what ``backward(gradient=v)`` computes: ``vᵀJ``.

Layout (as in ``torch.autograd.functional.jacobian``): the Jacobian of an
output of shape ``S_out`` with respect to an input of shape ``S_in`` has shape
``S_out + S_in``; entry ``J[o..., i...]`` is ``∂out[o...] / ∂in[i...]``. A
single tensor input and a single tensor output give one tensor; a tuple of
inputs gives a tuple (one per input), a tuple of outputs a tuple (one per
output), both give ``J[out][in]``.
"""

from __future__ import annotations

import html
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from gradlab._messages import bilingual

__all__ = [
    "METHODS",
    "JacobianComparison",
    "MethodResult",
    "VJPResult",
    "compare_jacobians",
    "jacobian",
    "softmax_jacobian",
    "vjp",
]

METHODS: tuple[str, ...] = ("rows", "batched", "jacrev", "jacfwd", "auto")
"""Every value :func:`jacobian` accepts for ``method``."""

_Inputs = torch.Tensor | Sequence[torch.Tensor]
# J: a tensor, a tuple of tensors, or a tuple of tuples of tensors.
_Jacobian = Any

# "auto" rule, from bench/bench_jacobian.py (CPU, one thread): one output: the
# gradient itself, one autograd.grad call; up to this many outputs: one batched
# call (no torch.func start-up cost, ~0.1 ms); more: torch.func reverse mode,
# or forward mode when the inputs are fewer than half the outputs.
_AUTO_BATCHED_MAX_OUTPUTS = 64


# --- argument checks ---------------------------------------------------------


def _check_method(method: object) -> None:
    if method not in METHODS:
        raise ValueError(
            bilingual(
                f"不认识的 method={method!r}。",
                f"Unknown method={method!r}.",
                todo_zh="从这些里选一个：" + "、".join(repr(m) for m in METHODS) + "；不确定就用 'auto'。",
                todo_en="Use one of " + ", ".join(repr(m) for m in METHODS) + "; 'auto' when unsure.",
            )
        )


def _check_func(func: object, caller: str) -> None:
    if not callable(func):
        raise TypeError(
            bilingual(
                f"{caller} 的第一个参数 func 应该是函数，但收到的是 {type(func).__name__}。",
                f"The first argument of {caller}, func, must be a function, not {type(func).__name__}.",
                todo_zh="传入函数本身，例如 lambda z: gradlab.softmax(z, dim=0)，而不是它算出来的张量。",
                todo_en="Pass the function itself, e.g. lambda z: gradlab.softmax(z, dim=0), "
                "not the tensor it returns.",
            )
        )


def _as_inputs(inputs: object, caller: str) -> tuple[tuple[torch.Tensor, ...], bool]:
    """``inputs`` as a tuple of floating point tensors, and whether it was a tuple."""
    is_tuple = isinstance(inputs, (tuple, list))
    items = tuple(inputs) if is_tuple else (inputs,)  # type: ignore[arg-type]
    if not items:
        raise ValueError(
            bilingual(
                f"{caller} 的 inputs 是空的：没有要求导的输入。",
                f"The inputs of {caller} are empty: there is nothing to differentiate with respect to.",
                todo_zh="传入一个张量，或张量元组，例如 (x, w)。",
                todo_en="Pass a tensor, or a tuple of tensors such as (x, w).",
            )
        )
    for i, item in enumerate(items):
        where = f"inputs[{i}]" if is_tuple else "inputs"
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"{caller} 的 {where} 应该是张量，但收到的是 {type(item).__name__}。",
                    f"{where} of {caller} must be a tensor, not {type(item).__name__}.",
                    todo_zh="先用 torch.tensor([...]) 把数字变成浮点张量。",
                    todo_en="Turn the numbers into a float tensor with torch.tensor([...]) first.",
                )
            )
        if not item.is_floating_point():
            raise TypeError(
                bilingual(
                    f"{caller} 的 {where} 的类型是 {item.dtype}：只有浮点张量才有导数（梯度是连续的变化率）。",
                    f"{where} of {caller} has dtype {item.dtype}: only floating point tensors have derivatives "
                    "(a gradient is a rate of change).",
                    todo_zh="转换成浮点数：x.float()（或 x.double()），或写 torch.tensor([1.0, 2.0])。",
                    todo_en="Convert it: x.float() (or x.double()), or write torch.tensor([1.0, 2.0]).",
                )
            )
    return items, is_tuple


def _as_outputs(value: object, caller: str) -> tuple[tuple[torch.Tensor, ...], bool]:
    """What ``func`` returned as a tuple of floating point tensors, and whether it was a tuple."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)  # type: ignore[arg-type]
    for i, item in enumerate(items):
        where = f"func(...)[{i}]" if is_tuple else "func(...)"
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"{caller}：{where} 返回的是 {type(item).__name__}，不是张量，所以没有雅可比矩阵。",
                    f"{caller}: {where} returned a {type(item).__name__}, not a tensor, so it has no Jacobian.",
                    todo_zh="让 func 返回张量（或张量元组）；不要在 func 里调用 .item()、.tolist() 或 .numpy()。",
                    todo_en="Make func return a tensor (or a tuple of tensors); do not call .item(), .tolist() "
                    "or .numpy() inside func.",
                )
            )
        if not item.is_floating_point():
            raise TypeError(
                bilingual(
                    f"{caller}：{where} 的类型是 {item.dtype}，整数或布尔输出没有导数。",
                    f"{caller}: {where} has dtype {item.dtype}; integer and bool outputs have no derivative.",
                    todo_zh="让 func 返回浮点结果，例如概率而不是 argmax 的类别编号。",
                    todo_en="Make func return a floating point result, e.g. the probabilities instead of the argmax.",
                )
            )
    if not items:
        raise TypeError(
            bilingual(
                f"{caller}：func 返回了空元组。",
                f"{caller}: func returned an empty tuple.",
                todo_zh="让 func 至少返回一个张量。",
                todo_en="Make func return at least one tensor.",
            )
        )
    return items, is_tuple


def _layout(jac: list[list[torch.Tensor]], outputs_tuple: bool, inputs_tuple: bool) -> _Jacobian:
    """Arrange ``jac[out][in]`` as ``torch.autograd.functional.jacobian`` does."""
    if outputs_tuple and inputs_tuple:
        return tuple(tuple(row) for row in jac)
    if inputs_tuple:
        return tuple(jac[0])
    if outputs_tuple:
        return tuple(row[0] for row in jac)
    return jac[0][0]


# --- the four methods -----------------------------------------------------------


def _rows(outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...]) -> list[list[torch.Tensor]]:
    """The seed's loop: one ``autograd.grad`` per output element, ``retain_graph=True``."""
    jac = []
    for out in outputs:
        flat = out.reshape(-1)
        rows: list[list[torch.Tensor]] = [[] for _ in leaves]
        for k in range(flat.numel() if out.requires_grad else 0):
            grads = torch.autograd.grad(flat[k], leaves, retain_graph=True, allow_unused=True, materialize_grads=True)
            for j, g in enumerate(grads):
                rows[j].append(g)
        jac.append(
            [
                torch.stack(r).reshape(out.shape + x.shape)
                if r
                else torch.zeros(out.shape + x.shape, dtype=out.dtype, device=out.device)
                for r, x in zip(rows, leaves, strict=True)
            ]
        )
    return jac


def _batched(outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...]) -> list[list[torch.Tensor]]:
    """One ``autograd.grad`` per output tensor: ``grad_outputs`` = identity, ``is_grads_batched=True``."""
    jac = []
    for n, out in enumerate(outputs):
        count = out.numel()
        if count == 0 or not out.requires_grad:
            jac.append([torch.zeros(out.shape + x.shape, dtype=out.dtype, device=out.device) for x in leaves])
            continue
        basis = torch.eye(count, dtype=out.dtype, device=out.device).reshape((count, *out.shape))
        grads = torch.autograd.grad(
            out,
            leaves,
            grad_outputs=basis,
            retain_graph=n < len(outputs) - 1,
            allow_unused=True,
            materialize_grads=True,
            is_grads_batched=True,
        )
        row = []
        for g, x in zip(grads, leaves, strict=True):
            if g.shape != (count, *x.shape):  # an unused input: materialize_grads gives one unbatched zero
                g = torch.zeros((count, *x.shape), dtype=out.dtype, device=out.device)
            row.append(g.reshape(out.shape + x.shape))
        jac.append(row)
    return jac


def _functorch(
    func: Callable[..., Any], inputs: tuple[torch.Tensor, ...], method: str
) -> tuple[list[list[torch.Tensor]], bool]:
    """``torch.func.jacrev`` or ``jacfwd`` with respect to every input."""
    returned_tuple = [False]

    def as_tuple(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs, returned_tuple[0] = _as_outputs(func(*args), "jacobian")
        return outputs

    transform = torch.func.jacrev if method == "jacrev" else torch.func.jacfwd
    argnums = tuple(range(len(inputs)))
    detached = tuple(x.detach() for x in inputs)
    try:
        jac = transform(as_tuple, argnums=argnums)(*detached)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(
            bilingual(
                f"torch.func.{method} 无法变换这个 func。常见原因：func 里用了 .item()、NumPy、"
                "按张量的值走的 if/for、对外部张量的原地修改，或没有 setup_context 的自定义 autograd.Function。",
                f"torch.func.{method} could not transform this func. Common causes: .item(), NumPy, "
                "if/for on tensor values, in-place changes to captured tensors, or a custom "
                "autograd.Function without setup_context.",
                todo_zh="改用 method='batched' 或 method='rows'（它们用普通的 autograd.grad），或去掉上面这些写法。",
                todo_en="Use method='batched' or method='rows' (plain autograd.grad), or remove the constructs above.",
                cause=first,
            )
        ) from error
    return [[t.detach() for t in row] for row in jac], returned_tuple[0]


def _auto_choice(n_outputs: int, n_inputs: int) -> str:
    """The method "auto" uses for these sizes (number of output and input elements)."""
    if n_outputs <= 1:
        return "rows"  # a single output: its gradient, one autograd.grad call
    if n_outputs <= _AUTO_BATCHED_MAX_OUTPUTS:
        return "batched"
    if 2 * n_inputs < n_outputs:
        return "jacfwd"  # forward mode: one pass per INPUT element
    return "jacrev"  # reverse mode: one pass per OUTPUT element


def _jacobian(
    func: Callable[..., Any], inputs: _Inputs, method: str, caller: str
) -> tuple[list[list[torch.Tensor]], bool, bool, str]:
    """``jac[out][in]``, whether outputs/inputs were tuples, and the method used."""
    _check_method(method)
    _check_func(func, caller)
    input_tuple, inputs_tuple = _as_inputs(inputs, caller)
    if method in ("jacrev", "jacfwd"):
        jac, outputs_tuple = _functorch(func, input_tuple, method)
        return jac, outputs_tuple, inputs_tuple, method
    with torch.enable_grad():
        leaves = tuple(x.detach().requires_grad_() for x in input_tuple)
        outputs, outputs_tuple = _as_outputs(func(*leaves), caller)
        used = method
        if method == "auto":
            used = _auto_choice(sum(o.numel() for o in outputs), sum(x.numel() for x in leaves))
            if used in ("jacrev", "jacfwd"):
                try:
                    jac, _ = _functorch(func, input_tuple, used)
                    return jac, outputs_tuple, inputs_tuple, used
                except RuntimeError:  # torch.func cannot transform func: plain autograd can
                    used = "batched"
        jac = _rows(outputs, leaves) if used == "rows" else _batched(outputs, leaves)
    return jac, outputs_tuple, inputs_tuple, used


def jacobian(func: Callable[..., Any], inputs: _Inputs, method: str = "auto") -> _Jacobian:
    """The Jacobian of ``func`` at ``inputs``, by the method you choose.

    Every method gives the same numbers (up to rounding); they differ in how
    many passes through the graph they make, and so in time:

    * ``"rows"``: the seed's loop, one ``torch.autograd.grad(p[i], inputs,
      retain_graph=True)`` per output element: N backward passes.
    * ``"batched"``: one ``torch.autograd.grad`` with ``grad_outputs`` = the
      identity and ``is_grads_batched=True``: the N passes are vectorised.
    * ``"jacrev"``: ``torch.func.jacrev`` (reverse mode, vectorised vᵀJ).
    * ``"jacfwd"``: ``torch.func.jacfwd`` (forward mode, vectorised Jv: one
      pass per *input* element; wins when inputs are few and outputs many).
    * ``"auto"``: chosen from the sizes, without timing anything: a single
      output → ``"rows"`` (that is just its gradient); up to 64 outputs →
      ``"batched"``; more → ``"jacfwd"`` if the inputs are fewer than half the
      outputs, else ``"jacrev"`` (falling back to ``"batched"`` when
      ``torch.func`` cannot transform ``func``).

    Args:
        func: a function of the input tensor(s) returning a tensor or a tuple
            of tensors.
        inputs: a floating point tensor, or a tuple of them; passed to
            ``func`` as positional arguments.
        method: one of ``"rows"``, ``"batched"``, ``"jacrev"``, ``"jacfwd"``,
            ``"auto"``.

    Returns:
        As ``torch.autograd.functional.jacobian``: for one input and one output
        a tensor of shape ``output.shape + input.shape`` with
        ``J[o..., i...] = ∂output[o...] / ∂input[i...]``; a tuple per input
        and/or per output otherwise (``J[out][in]`` when both are tuples).
        The result does not require grad.

    Raises:
        ValueError: an unknown ``method``.
        TypeError: ``func`` is not callable or returns something that is not a
            floating point tensor; an input is not a floating point tensor.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> J = jacobian(lambda z: torch.softmax(z, dim=0), a, method="rows")
        >>> J[1]
        tensor([-0.0849,  0.1878, -0.1029])
        >>> torch.allclose(J, jacobian(lambda z: torch.softmax(z, dim=0), a, method="jacrev"))
        True
    """
    jac, outputs_tuple, inputs_tuple, _ = _jacobian(func, inputs, method, "jacobian")
    return _layout(jac, outputs_tuple, inputs_tuple)


# --- the closed form -------------------------------------------------------------


def softmax_jacobian(input: torch.Tensor, dim: int, *, full: bool = False) -> torch.Tensor:
    """The Jacobian of ``softmax(input, dim)`` in closed form: ``diag(p) − p pᵀ``.

    With ``p = softmax(z)`` over K classes, ``∂p_i/∂z_j = p_i (δ_ij − p_j)``:
    the diagonal holds ``p_i (1 − p_i)``, every other entry ``−p_i p_j``. The
    matrix is symmetric and each row sums to 0 (the probabilities always sum
    to 1, so no change of z can change their sum).

    Layout: softmax mixes only the K entries along ``dim``; the other
    dimensions are a batch. The result has shape ``input.shape + (K,)``:
    ``J[..., i, ..., j]`` (``i`` at position ``dim``, ``j`` last) is
    ``∂p[..., i, ...] / ∂z[..., j, ...]`` within the same batch position. For
    a 1-D input that is the ``[K, K]`` matrix; for ``[B, K]`` logits with
    ``dim=-1`` it is ``[B, K, K]``, one matrix per row; for ``dim=0`` of a
    ``[K, B]`` input it is ``[K, B, K]``.

    Args:
        input: the logits (floating point).
        dim: the dimension softmax normalises over (the classes).
        full: return instead the full Jacobian in :func:`jacobian`'s layout,
            ``input.shape + input.shape``, with zeros between different batch
            positions (memory grows with the square of the batch).

    Returns:
        The Jacobian, without a graph (it does not require grad).

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> J = softmax_jacobian(a, dim=0)
        >>> J
        tensor([[ 0.2240, -0.0849, -0.1391],
                [-0.0849,  0.1878, -0.1029],
                [-0.1391, -0.1029,  0.2420]])
        >>> J.sum(dim=1).abs().max() < 1e-7
        tensor(True)
        >>> softmax_jacobian(torch.zeros(4, 10), dim=-1).shape
        torch.Size([4, 10, 10])
    """
    (input,), _ = _as_inputs(input, "softmax_jacobian")
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(
            bilingual(
                f"softmax_jacobian 的 dim 应该是整数，但收到的是 {type(dim).__name__}。",
                f"dim of softmax_jacobian must be an int, not {type(dim).__name__}.",
                todo_zh="一维向量写 dim=0；[batch, classes] 写 dim=-1。",
                todo_en="Use dim=0 for a vector; dim=-1 for [batch, classes].",
            )
        )
    ndim = max(input.dim(), 1)
    if not -ndim <= dim < ndim:
        raise ValueError(
            bilingual(
                f"dim={dim} 超出了范围：输入有 {input.dim()} 维。",
                f"dim={dim} is out of range for an input with {input.dim()} dimensions.",
                todo_zh=f"dim 取值在 {-ndim} 到 {ndim - 1} 之间；一维向量用 dim=0。",
                todo_en=f"Use a dim between {-ndim} and {ndim - 1}; dim=0 for a vector.",
            )
        )
    if input.dim() == 0:
        return torch.zeros((), dtype=input.dtype, device=input.device)  # one class: p = 1 whatever z is
    dim = dim % input.dim()
    last = dim == input.dim() - 1
    p = torch.softmax(input.detach(), dim=dim)
    if not last:
        p = p.movedim(dim, -1)  # [..., K]
    block = p.unsqueeze(-1) * p.unsqueeze(-2)  # p_i p_j, [..., K, K]
    block.neg_()  # − p pᵀ
    block.diagonal(dim1=-2, dim2=-1).add_(p)  # + diag(p)
    if not full:
        return block if last else block.movedim(-2, dim)
    batch, k = p.shape[:-1], p.shape[-1]
    m = math.prod(batch)
    eye = torch.eye(m, dtype=p.dtype, device=p.device)
    dense = torch.einsum("aij,ab->aibj", block.reshape(m, k, k), eye)  # zeros between batch rows
    dense = dense.reshape((*batch, k, *batch, k))
    nb = len(batch)
    return dense.movedim(nb, dim).movedim(nb + 1 + nb, nb + 1 + dim)


# --- compare every method ------------------------------------------------------------

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"))


def _format_time(seconds: float) -> str:
    """``0.123 ms``, ``12.3 µs``, ``1.23 s``: three significant digits and a unit."""
    for scale, unit in _TIME_UNITS:
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            if value >= 100:
                return f"{value:.0f} {unit}"
            if value >= 10:
                return f"{value:.1f} {unit}"
            return f"{value:.2f} {unit}" if value >= 1 else f"{value:.3f} {unit}"
    raise AssertionError("unreachable")


def _format_ratio(ratio: float) -> str:
    return f"{ratio:.1f}×"


def _format_error(value: float) -> str:
    """One significant digit in scientific notation (``3e-08``), or ``0``."""
    if value == 0:
        return "0"
    if math.isnan(value):
        return "nan"
    return f"{value:.0e}"


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


def _flatten(jac: _Jacobian) -> list[torch.Tensor]:
    if isinstance(jac, torch.Tensor):
        return [jac]
    if isinstance(jac, (tuple, list)):
        return [t for item in jac for t in _flatten(item)]
    raise TypeError(
        bilingual(
            f"reference 应该是张量（或张量元组），但收到的是 {type(jac).__name__}。",
            f"reference must be a tensor (or a tuple of tensors), not {type(jac).__name__}.",
            todo_zh="传入与 jacobian(func, inputs) 形状相同的张量，或返回它的无参函数，例如 "
            "lambda: gradlab.softmax_jacobian(a, dim=0)。",
            todo_en="Pass a tensor shaped like jacobian(func, inputs), or a no-argument function returning it, "
            "e.g. lambda: gradlab.softmax_jacobian(a, dim=0).",
        )
    )


def _max_abs_diff(jac: _Jacobian, reference: _Jacobian) -> float:
    got, want = _flatten(jac), _flatten(reference)
    shapes_got = [tuple(t.shape) for t in got]
    shapes_want = [tuple(t.shape) for t in want]
    if shapes_got != shapes_want:
        raise ValueError(
            bilingual(
                f"reference 的形状 {shapes_want} 和雅可比矩阵的形状 {shapes_got} 不一样。",
                f"The reference has shape(s) {shapes_want} but the Jacobian has {shapes_got}.",
                todo_zh="reference 要用 jacobian() 的布局：output.shape + input.shape。对一批 softmax，"
                "用 gradlab.softmax_jacobian(x, dim, full=True)。",
                todo_en="Give the reference in jacobian()'s layout, output.shape + input.shape. For softmax "
                "over a batch use gradlab.softmax_jacobian(x, dim, full=True).",
            )
        )
    diffs = [
        (g.detach().double() - w.detach().double()).abs().max().item()
        for g, w in zip(got, want, strict=True)
        if g.numel()
    ]
    return max(diffs, default=0.0)


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
        return f"compare_jacobians: {self.shape}; reference: {self.reference}"

    def __str__(self) -> str:
        # Times and ratios vary from run to run, so they come last and unpadded:
        # once a notebook checker replaces them, every line is the same again.
        width = max(len("method"), *(len(r.label) for r in self.rows)) + 2
        head = "max |Δ| vs reference"
        err_width = max(len(head), *(len(_format_error(r.max_abs_diff)) for r in self.rows)) + 2
        lines = [
            self._title(),
            f"{'method':<{width}}{head:<{err_width}}median time, ratio to {self.ratio_to}",
        ]
        for r in self.rows:
            err = _format_error(r.max_abs_diff)
            lines.append(f"{r.label:<{width}}{err:<{err_width}}{_format_time(r.median_s)}  {_format_ratio(r.ratio)}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><td style='text-align:left'>{esc(r.label)}</td><td>{esc(_format_error(r.max_abs_diff))}</td>"
            f"<td>{esc(_format_time(r.median_s))}</td><td>{esc(_format_ratio(r.ratio))}</td></tr>"
            for r in self.rows
        )
        return (
            "<table class='gradlab-compare-jacobians'>"
            f"<caption>{esc(self._title())}</caption>"
            "<thead><tr><th style='text-align:left'>method</th><th>max |Δ| vs reference</th>"
            f"<th>median time</th><th>ratio to {esc(self.ratio_to)}</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )


def _describe(func: Callable[..., Any], inputs: tuple[torch.Tensor, ...]) -> str:
    shapes = ", ".join(str(list(x.shape)) for x in inputs)
    dtypes = sorted({str(x.dtype).replace("torch.", "") for x in inputs})
    name = getattr(func, "__name__", type(func).__name__)
    return f"{name} at {shapes}, {'/'.join(dtypes)}"


def compare_jacobians(
    func: Callable[..., Any],
    inputs: _Inputs,
    reference: _Jacobian | Callable[[], _Jacobian] | None = None,
    *,
    methods: Sequence[str] = METHODS,
    min_time: float = 0.05,
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
        methods: which methods to run (default: all of :data:`METHODS`).
        min_time: seconds to spend timing each method (at least 3 calls after
            one warm-up call).

    Returns:
        A :class:`JacobianComparison`: ``.rows`` holds the numbers; printed
        (or shown in a notebook) it is a table. Times are printed like
        ``0.123 ms`` and ratios like ``12.3×``; errors with one significant
        digit (``3e-08``) so that they print the same on every run.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> table = compare_jacobians(lambda z: torch.softmax(z, dim=0), a,
        ...                           reference=lambda: softmax_jacobian(a, dim=0), min_time=0.001)
        >>> [row.label for row in table.rows]
        ['reference', 'rows', 'batched', 'jacrev', 'jacfwd', 'auto → batched']
        >>> all(row.max_abs_diff < 1e-6 for row in table.rows)
        True
    """
    for method in methods:
        _check_method(method)
    _check_func(func, "compare_jacobians")
    input_tuple, _ = _as_inputs(inputs, "compare_jacobians")
    rows: list[MethodResult] = []
    reference_time: float | None = None
    if reference is None:
        label = "torch.autograd.functional.jacobian"
        with torch.enable_grad():
            reference_value = torch.autograd.functional.jacobian(func, inputs)  # type: ignore[arg-type]
    elif callable(reference):
        label = "reference() (timed)"
        reference_value = reference()
        reference_time, times = _median_time(reference, min_time)
        rows.append(MethodResult("reference", 0.0, reference_time, 1.0, tuple(times)))
    else:
        label = "given tensor"
        reference_value = reference
    _flatten(reference_value)  # a bilingual TypeError if it is not tensors

    measured = []
    for method in methods:
        value = jacobian(func, inputs, method=method)
        diff = _max_abs_diff(value, reference_value)
        median, times = _median_time(lambda method=method: jacobian(func, inputs, method=method), min_time)
        chose = _jacobian(func, inputs, "auto", "compare_jacobians")[3] if method == "auto" else ""
        measured.append((method, diff, median, times, chose))
    base = reference_time if reference_time is not None else min(m[2] for m in measured)
    for method, diff, median, times, chose in measured:
        rows.append(MethodResult(method, diff, median, median / base if base > 0 else math.inf, tuple(times), chose))
    return JacobianComparison(
        rows=rows,
        reference=label,
        ratio_to="reference" if reference_time is not None else "fastest",
        shape=_describe(func, input_tuple),
    )


# --- vector-Jacobian product ---------------------------------------------------------


@dataclass(repr=False)
class VJPResult:
    """What :func:`vjp` computed; unpacks as ``output, vjp`` like ``torch.autograd.functional.vjp``.

    Attributes:
        output: ``func(*inputs)``, detached.
        vjp: ``vᵀJ`` as ``backward(gradient=v)`` leaves it in ``.grad``: one
            tensor per input, shaped like it (a tuple when inputs was a tuple).
        v: the vector(s) ``v``, shaped like the output(s).
        jacobian: the full Jacobian (computed on first use, by
            ``jacobian(method="auto")``).
        via_jacobian: ``v @ J`` computed from the full Jacobian.
        max_abs_diff: the largest ``|vjp − v @ J|``: rounding only.
    """

    output: Any
    vjp: Any
    v: Any
    func: Callable[..., Any] = field(repr=False)
    inputs: tuple[torch.Tensor, ...] = field(repr=False)
    inputs_tuple: bool = False

    def __iter__(self) -> Iterator[Any]:
        return iter((self.output, self.vjp))

    @cached_property
    def jacobian(self) -> _Jacobian:
        return jacobian(self.func, self.inputs if self.inputs_tuple else self.inputs[0], method="auto")

    @cached_property
    def via_jacobian(self) -> Any:
        jac, outputs_tuple, _, _ = _jacobian(self.func, self.inputs, "auto", "vjp")
        vs = self.v if outputs_tuple else (self.v,)
        products = []
        for j, x in enumerate(self.inputs):
            total = torch.zeros(x.shape, dtype=torch.result_type(x, vs[0]), device=x.device)
            for i, v in enumerate(vs):
                total = total + torch.tensordot(v.to(jac[i][j].dtype), jac[i][j], dims=v.dim())
            products.append(total)
        return tuple(products) if self.inputs_tuple else products[0]

    @property
    def max_abs_diff(self) -> float:
        return _max_abs_diff(self.vjp, self.via_jacobian)

    def _lines(self) -> list[tuple[str, str]]:
        def show(value: Any) -> str:
            return " ".join(str(t) for t in _flatten(value))

        return [
            ("v", show(self.v)),
            ("vᵀJ via backward(gradient=v)", show(self.vjp)),
            ("v @ J via the full Jacobian", show(self.via_jacobian)),
            ("max |difference|", _format_error(self.max_abs_diff)),
        ]

    def __str__(self) -> str:
        lines = self._lines()
        width = max(len(k) for k, _ in lines) + 2
        out = []
        for key, value in lines:
            pad = "\n" + " " * width
            out.append(f"{key:<{width}}" + value.replace("\n", pad))
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td><pre>{esc(v)}</pre></td></tr>" for k, v in self._lines()
        )
        return f"<table class='gradlab-vjp'>{body}</table>"


def vjp(func: Callable[..., Any], inputs: _Inputs, v: torch.Tensor | Sequence[torch.Tensor]) -> VJPResult:
    """``vᵀJ``: what ``output.backward(gradient=v)`` puts in ``inputs.grad``.

    ``backward`` never builds the Jacobian J. For a non-scalar output it
    needs a vector ``v`` shaped like the output and computes ``vᵀJ`` (one
    number per input element) in one backward pass. The result shows this
    next to ``v @ J`` from the full Jacobian: the same numbers.

    Args:
        func: a function of the input tensor(s) returning a tensor or a tuple
            of tensors.
        inputs: a floating point tensor, or a tuple of them.
        v: the ``gradient=`` of ``backward`` (``grad_outputs`` of
            ``autograd.grad``): a tensor shaped like the output, or a tuple
            with one per output.

    Returns:
        A :class:`VJPResult`; ``output, g = vjp(func, inputs, v)`` unpacks it
        like ``torch.autograd.functional.vjp``. Printed, it shows ``v``,
        ``vᵀJ``, ``v @ J`` and their largest difference.

    Raises:
        ValueError: ``v`` is not shaped like the output.
        TypeError: ``v`` is not a floating point tensor; see :func:`jacobian`.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> result = vjp(lambda z: torch.softmax(z, dim=0), a, torch.tensor([0., 1., 0.]))
        >>> result.vjp                      # row 1 of the Jacobian: v picks it
        tensor([-0.0849,  0.1878, -0.1029])
        >>> result.max_abs_diff < 1e-7
        True
    """
    _check_func(func, "vjp")
    input_tuple, inputs_tuple = _as_inputs(inputs, "vjp")
    with torch.enable_grad():
        leaves = tuple(x.detach().requires_grad_() for x in input_tuple)
        outputs, outputs_tuple = _as_outputs(func(*leaves), "vjp")
        vs_given = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        if len(vs_given) != len(outputs) or (isinstance(v, (tuple, list)) != outputs_tuple):
            raise ValueError(
                bilingual(
                    f"func 返回了 {len(outputs)} 个{'张量元组' if outputs_tuple else '张量'}，"
                    f"但 v 有 {len(vs_given)} 个。",
                    f"func returned {len(outputs)} tensor(s){' as a tuple' if outputs_tuple else ''}, "
                    f"but {len(vs_given)} v were given{' as a tuple' if isinstance(v, (tuple, list)) else ''}.",
                    todo_zh="每个输出给一个 v：单个输出传一个张量，元组输出传同样长度的元组。",
                    todo_en="Give one v per output: a tensor for a single output, a tuple of the same length "
                    "for a tuple of outputs.",
                )
            )
        for i, (vi, out) in enumerate(zip(vs_given, outputs, strict=True)):
            where = f"v[{i}]" if outputs_tuple else "v"
            if not isinstance(vi, torch.Tensor) or not vi.is_floating_point():
                kind = vi.dtype if isinstance(vi, torch.Tensor) else type(vi).__name__
                raise TypeError(
                    bilingual(
                        f"{where} 应该是浮点张量，但收到的是 {kind}。",
                        f"{where} must be a floating point tensor, not {kind}.",
                        todo_zh="例如 v = torch.ones_like(output)。",
                        todo_en="For example v = torch.ones_like(output).",
                    )
                )
            if vi.shape != out.shape:
                raise ValueError(
                    bilingual(
                        f"{where} 的形状是 {list(vi.shape)}，但输出的形状是 {list(out.shape)}：v 要给每个输出元素一个数。",
                        f"{where} has shape {list(vi.shape)} but the output has shape {list(out.shape)}: "
                        "v needs one number per output element (it is the gradient= of backward).",
                        todo_zh=f"传入形状为 {list(out.shape)} 的张量，例如 torch.ones_like(output)。",
                        todo_en=f"Pass a tensor of shape {list(out.shape)}, e.g. torch.ones_like(output).",
                    )
                )
        grad_outputs = tuple(vi.detach().to(out.dtype) for vi, out in zip(vs_given, outputs, strict=True))
        differentiable = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
        if differentiable:
            torch.autograd.backward(
                [o for o, _ in differentiable], grad_tensors=[g for _, g in differentiable], inputs=list(leaves)
            )
    grads = tuple(x.grad if x.grad is not None else torch.zeros_like(x) for x in leaves)
    output = tuple(o.detach() for o in outputs) if outputs_tuple else outputs[0].detach()
    return VJPResult(
        output=output,
        vjp=grads if inputs_tuple else grads[0],
        v=grad_outputs if outputs_tuple else grad_outputs[0],
        func=func,
        inputs=tuple(x.detach() for x in input_tuple),
        inputs_tuple=inputs_tuple,
    )
