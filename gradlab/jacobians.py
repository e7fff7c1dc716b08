"""Jacobians four ways, and the softmax Jacobian in closed form.

The seed notebook builds the softmax Jacobian one row at a time, one
``torch.autograd.grad(p[i], [a], retain_graph=True)`` per output. That is the
right way to *teach* a Jacobian and the slowest way to *compute* one. This
module puts the row loop beside what PyTorch offers instead:

* :func:`jacobian` with ``method="rows"`` (the seed's loop), ``"batched"``
  (one call with ``is_grads_batched=True``), ``"jacrev"`` / ``"jacfwd"``
  (``torch.func``), or ``"auto"`` (picked from the shapes, never the row loop
  beyond one output);
* :func:`softmax_jacobian`, the closed form ``diag(p) − p pᵀ``.

:func:`gradlab.compare_jacobians` (in ``gradlab.compare``) times every method
beside a reference; :func:`gradlab.vjp` (in ``gradlab.vector_jacobian``) shows
what ``backward(gradient=v)`` computes: ``vᵀJ``.

Layout (as in ``torch.autograd.functional.jacobian``): the Jacobian of an
output of shape ``S_out`` with respect to an input of shape ``S_in`` has shape
``S_out + S_in``; entry ``J[o..., i...]`` is ``∂out[o...] / ∂in[i...]``. A
single tensor input and a single tensor output give one tensor; a tuple of
inputs gives a tuple (one per input), a tuple of outputs a tuple (one per
output), both give ``J[out][in]``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from gradlab._checks import (
    Inputs,
    as_inputs,
    as_outputs,
    check_dim,
    check_func,
    check_method,
    complex_message,
)
from gradlab._messages import bilingual

__all__ = ["METHODS", "jacobian", "softmax_jacobian"]

METHODS: tuple[str, ...] = ("rows", "batched", "jacrev", "jacfwd", "auto")
"""Every value :func:`jacobian` accepts for ``method``."""

Jacobian = Any
"""J: a tensor, a tuple of tensors, or a tuple of tuples of tensors."""

# "auto" rule, from bench/bench_jacobian.py (CPU, one thread): one output: the
# gradient itself, one autograd.grad call; up to this many outputs: one batched
# call (no torch.func start-up cost, ~0.1 ms); more: torch.func reverse mode,
# or forward mode when the inputs are fewer than half the outputs.
_AUTO_BATCHED_MAX_OUTPUTS = 64


# --- recording a graph whatever the caller's mode; PyTorch's errors from func explained ---


@contextlib.contextmanager
def grad_recording() -> Iterator[None]:
    """Record a graph whatever the caller's mode: inside ``inference_mode(False)`` and ``enable_grad()``.

    Under ``torch.inference_mode()`` plain ``enable_grad()`` records nothing
    (every new tensor is an inference tensor), so autograd would see no graph.
    """
    with torch.inference_mode(False), torch.enable_grad():
        yield


def fresh(x: torch.Tensor) -> torch.Tensor:
    """A detached copy of ``x``: a normal tensor even when ``x`` is an inference tensor (call inside
    :func:`grad_recording`), and one that ``func`` may change in place without touching the caller's."""
    return x.detach().clone()


INFERENCE_TENSOR_SAVED = "Inference tensors cannot be saved for backward"

_FUNC_ERRORS: list[tuple[tuple[str, ...], str, str, str, str]] = [
    (
        (INFERENCE_TENSOR_SAVED,),
        "func 用到了在 torch.inference_mode() 里创建的张量（推理张量）。PyTorch 不能为它记录计算图，所以无法求导。",
        "func uses a tensor created under torch.inference_mode() (an inference tensor). PyTorch cannot record "
        "a graph through it, so there is no derivative.",
        "在 inference_mode 之外创建这个张量（例如模型参数），或在 inference_mode 之外用 t.clone() 得到普通张量再用；"
        "jacobian 也可以用 method='jacrev' 或 'jacfwd'（torch.func 把它当常数）。",
        "Create that tensor (e.g. the model's parameters) outside inference_mode, or use t.clone() outside "
        "inference_mode to get a normal tensor; for jacobian, method='jacrev' or 'jacfwd' also works "
        "(torch.func treats it as a constant).",
    ),
    (
        ("is being used in an in-place operation", "would mutate a captured Tensor"),
        "func 原地修改了它从外面拿来的张量（例如它用到的参数 w.add_(1)，或训练模式下 BatchNorm 更新的 running 统计量）。"
        "求导时 PyTorch 不允许这样做，因为会破坏计算图。（func 原地修改自己的参数是可以的：gradlab 传给 func 的是副本。）",
        "func changes in place a tensor from outside it (e.g. a parameter it uses: w.add_(1), or the running "
        "statistics BatchNorm updates in training mode). PyTorch forbids this while differentiating because it "
        "would break the graph. (Changing func's own argument in place is fine: gradlab passes func a copy.)",
        "改成非原地写法：w = w + 1 而不是 w.add_(1)；或在调用之前，在 torch.no_grad() 里修改参数；模型先 model.eval()。",
        "Write it out of place: w = w + 1 instead of w.add_(1); or change the parameter before the call, "
        "under torch.no_grad(); for a model, call model.eval() first.",
    ),
    (
        ("modified by an inplace operation",),
        "反向传播需要的一个张量在 func 里被原地修改了（例如 y = x.sin(); y.mul_(2)），保存的值已经不对了。",
        "func modified in place a tensor that the backward pass needs (e.g. y = x.sin(); y.mul_(2)), so its "
        "saved value is no longer valid.",
        "改用非原地操作（y = y * 2 而不是 y.mul_(2)），或在修改前先 .clone()。",
        "Use an out-of-place operation (y = y * 2 instead of y.mul_(2)), or .clone() the tensor before changing it.",
    ),
]


def func_error(error: RuntimeError, caller: str) -> RuntimeError | None:
    """A bilingual ``RuntimeError`` for a known PyTorch error raised while differentiating ``func``, or None."""
    text = str(error)
    for needles, zh, en, todo_zh, todo_en in _FUNC_ERRORS:
        if any(needle in text for needle in needles):
            first = text.strip().splitlines()[0]
            return RuntimeError(
                bilingual(f"{caller}：{zh}", f"{caller}: {en}", todo_zh=todo_zh, todo_en=todo_en, cause=first)
            )
    return None


@contextlib.contextmanager
def explained(caller: str) -> Iterator[None]:
    """Re-raise a known PyTorch ``RuntimeError`` from ``func`` or ``autograd.grad`` as a bilingual one, chained."""
    try:
        yield
    except RuntimeError as error:
        better = func_error(error, caller)
        if better is None:
            raise
        raise better from error


# --- layout ---------------------------------------------------------------------------


def _layout(jac: list[list[torch.Tensor]], outputs_tuple: bool, inputs_tuple: bool) -> Jacobian:
    """Arrange ``jac[out][in]`` as ``torch.autograd.functional.jacobian`` does."""
    if outputs_tuple and inputs_tuple:
        return tuple(tuple(row) for row in jac)
    if inputs_tuple:
        return tuple(jac[0])
    if outputs_tuple:
        return tuple(row[0] for row in jac)
    return jac[0][0]


def flatten(jac: Jacobian) -> list[torch.Tensor]:
    """Every tensor of ``jac`` (a tensor or nested tuples of them), in order; a bilingual error otherwise."""
    if isinstance(jac, torch.Tensor):
        return [jac]
    if isinstance(jac, (tuple, list)):
        return [t for item in jac for t in flatten(item)]
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


def max_abs_diff(jac: Jacobian, reference: Jacobian) -> float:
    """The largest ``|jac − reference|`` entry, in float64; a bilingual error when the shapes differ."""
    got, want = flatten(jac), flatten(reference)
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


# --- the four methods -----------------------------------------------------------


def by_rows(outputs: tuple[torch.Tensor, ...], leaves: tuple[torch.Tensor, ...]) -> list[list[torch.Tensor]]:
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
    func: Callable[..., Any], inputs: tuple[torch.Tensor, ...], method: str, caller: str
) -> tuple[list[list[torch.Tensor]], bool]:
    """``torch.func.jacrev`` or ``jacfwd`` with respect to every input (call inside ``grad_recording``)."""
    returned_tuple = [False]
    ours: list[BaseException] = []  # gradlab's own error about what func returned: raised as it is

    def as_tuple(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # a copy, as under "rows"/"batched": func may change its argument in place
        value = func(*(a.clone() for a in args))
        try:
            outputs, returned_tuple[0] = as_outputs(value, caller)
        except (TypeError, RuntimeError) as error:
            ours.append(error)
            raise
        return outputs

    transform = torch.func.jacrev if method == "jacrev" else torch.func.jacfwd
    argnums = tuple(range(len(inputs)))
    copies = tuple(fresh(x) for x in inputs)
    try:
        jac = transform(as_tuple, argnums=argnums)(*copies)
    except RuntimeError as error:
        if error in ours:
            raise
        known = func_error(error, caller)
        if known is not None:
            raise known from error
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


def auto_choice(n_outputs: int, n_inputs: int) -> str:
    """The method "auto" uses for these sizes (number of output and input elements)."""
    if n_outputs <= 1:
        return "rows"  # a single output: its gradient, one autograd.grad call
    if n_outputs <= _AUTO_BATCHED_MAX_OUTPUTS:
        return "batched"
    if 2 * n_inputs < n_outputs:
        return "jacfwd"  # forward mode: one pass per INPUT element
    return "jacrev"  # reverse mode: one pass per OUTPUT element


def jacobian_parts(
    func: Callable[..., Any], inputs: Inputs, method: str, caller: str
) -> tuple[list[list[torch.Tensor]], bool, bool, str]:
    """``jac[out][in]``, whether outputs/inputs were tuples, and the method used."""
    check_method(method, METHODS)
    check_func(func, caller)
    input_tuple, inputs_tuple = as_inputs(inputs, caller)
    # Whatever the caller's mode (no_grad, inference_mode): record a graph, on normal copies of the inputs.
    with grad_recording():
        if method in ("jacrev", "jacfwd"):
            jac, outputs_tuple = _functorch(func, input_tuple, method, caller)
            return jac, outputs_tuple, inputs_tuple, method
        leaves = tuple(fresh(x).requires_grad_() for x in input_tuple)
        try:
            with explained(caller):
                # func gets non-leaf copies: it may change them in place, and never touches the caller's tensors
                outputs, outputs_tuple = as_outputs(func(*(x.clone() for x in leaves)), caller)
        except RuntimeError as error:
            if method == "auto" and INFERENCE_TENSOR_SAVED in str(error.__cause__):
                # autograd cannot save a captured inference tensor; torch.func uses it as a constant
                jac, outputs_tuple = _functorch(func, input_tuple, "jacrev", caller)
                return jac, outputs_tuple, inputs_tuple, "jacrev"
            raise
        used = method
        if method == "auto":
            used = auto_choice(sum(o.numel() for o in outputs), sum(x.numel() for x in leaves))
            if used in ("jacrev", "jacfwd"):
                try:
                    jac, _ = _functorch(func, input_tuple, used, caller)
                    return jac, outputs_tuple, inputs_tuple, used
                except RuntimeError:  # torch.func cannot transform func: plain autograd can
                    used = "batched"
        with explained(caller):
            jac = by_rows(outputs, leaves) if used == "rows" else _batched(outputs, leaves)
    return jac, outputs_tuple, inputs_tuple, used


def _batch_dims(batch_dim: object, tensors: tuple[torch.Tensor, ...], names: list[str], caller: str) -> list[int]:
    """``batch_dim`` as a non-negative dimension of each tensor; a bilingual error when one lacks it."""
    if not isinstance(batch_dim, int) or isinstance(batch_dim, bool):
        raise TypeError(
            bilingual(
                f"{caller} 的 batch_dim 应该是整数（或 None），但收到的是 {type(batch_dim).__name__}。",
                f"batch_dim of {caller} must be an int (or None), not {type(batch_dim).__name__}.",
                todo_zh="[batch, features] 的输入写 batch_dim=0；要完整的雅可比矩阵就不写。",
                todo_en="Use batch_dim=0 for [batch, features] inputs; leave it out for the full Jacobian.",
            )
        )
    dims = []
    for t, name in zip(tensors, names, strict=True):
        if not -t.dim() <= batch_dim < t.dim():
            raise ValueError(
                bilingual(
                    f"batch_dim={batch_dim}，但 {name} 的形状是 {list(t.shape)}，没有这一维。",
                    f"batch_dim={batch_dim}, but {name} has shape {list(t.shape)}, without that dimension.",
                    todo_zh="每个输入和输出都要在 batch_dim 上有批次维；否则不写 batch_dim，求完整的雅可比矩阵。",
                    todo_en="Every input and output needs the batch dimension at batch_dim; otherwise leave "
                    "batch_dim out for the full Jacobian.",
                )
            )
        dims.append(batch_dim % t.dim())
    sizes = {t.shape[d] for t, d in zip(tensors, dims, strict=True)}
    if len(sizes) > 1:
        found = ", ".join(f"{n}: {t.shape[d]}" for t, n, d in zip(tensors, names, dims, strict=True))
        raise ValueError(
            bilingual(
                f"batch_dim={batch_dim} 上的批次大小不一样（{found}）。",
                f"The batch sizes along batch_dim={batch_dim} differ ({found}).",
                todo_zh="每个输入和输出在 batch_dim 上要有同样多的样本。",
                todo_en="Every input and output needs the same number of samples along batch_dim.",
            )
        )
    return dims


def _check_per_sample(
    jac: list[list[torch.Tensor]],
    outputs: tuple[torch.Tensor, ...],
    leaves: tuple[torch.Tensor, ...],
    out_dims: list[int],
    in_dims: list[int],
    caller: str,
) -> None:
    """Raise a ``ValueError`` when ``func`` mixes samples, so that the blocks would be wrong.

    One backward pass with a fixed random ``v``: ``vᵀJ`` from autograd must
    equal ``vᵀJ`` from the blocks alone; a sample that depends on another
    makes them differ (with probability 1, by far more than rounding).
    """
    pairs = [(i, o) for i, o in enumerate(outputs) if o.requires_grad and o.numel()]
    if not pairs:
        return
    generator = torch.Generator().manual_seed(0)
    vs = {i: torch.randn(o.shape, generator=generator, dtype=o.dtype).to(o.device) for i, o in pairs}
    grads = torch.autograd.grad(
        [o for _, o in pairs], leaves, [vs[i] for i, _ in pairs], allow_unused=True, materialize_grads=True
    )
    for j, (x, g) in enumerate(zip(leaves, grads, strict=True)):
        batch = x.shape[in_dims[j]]
        want = g.movedim(in_dims[j], 0).reshape(batch, -1)
        got = torch.zeros_like(want)
        scale = torch.zeros_like(want)
        for i, _ in pairs:
            v = vs[i].movedim(out_dims[i], 0).reshape(batch, 1, -1)
            block = jac[i][j].reshape(batch, v.shape[2], -1)
            got += torch.bmm(v, block).squeeze(1)
            scale += torch.bmm(v.abs(), block.abs()).squeeze(1)
        tolerance = 1e3 * torch.finfo(x.dtype).eps * max(float(scale.max()), float(want.abs().max()), 1e-30)
        if float((want - got).abs().max()) > tolerance:
            raise ValueError(
                bilingual(
                    f"{caller}：func 把批次里的样本混在了一起（例如训练模式的 BatchNorm，或对批次求平均）："
                    "out[b] 也依赖别的样本 x[b′]，所以逐样本的雅可比矩阵（对角块）描述不了它。",
                    f"{caller}: func mixes the samples of the batch (e.g. BatchNorm in training mode, or a mean "
                    "over the batch): out[b] also depends on other samples x[b′], so the per-sample Jacobian "
                    "(the diagonal blocks) does not describe it.",
                    todo_zh="不写 batch_dim，求完整的雅可比矩阵；或先 model.eval()，让每个样本独立。",
                    todo_en="Leave batch_dim out for the full Jacobian; or call model.eval() first so that "
                    "samples are independent.",
                )
            )


def _unlayout(jac: Jacobian, outputs_tuple: bool, inputs_tuple: bool) -> list[list[torch.Tensor]]:
    """``jac[out][in]`` from :func:`jacobian`'s layout (the inverse of :func:`_layout`)."""
    if outputs_tuple and inputs_tuple:
        return [list(row) for row in jac]
    if inputs_tuple:
        return [list(jac)]
    if outputs_tuple:
        return [[J] for J in jac]
    return [[jac]]


def diagonal_blocks(
    full: Jacobian,
    outputs: tuple[torch.Tensor, ...],
    outputs_tuple: bool,
    inputs: tuple[torch.Tensor, ...],
    inputs_tuple: bool,
    batch_dim: int,
) -> Jacobian:
    """The per-sample blocks ``[B, *out_sample, *in_sample]`` cut out of a full Jacobian, in the same layout.

    ``full`` is in :func:`jacobian`'s layout (``output.shape + input.shape``
    per pair); block ``b`` is the part where both batch indices equal ``b``.
    """
    cut = [
        [
            torch.diagonal(J.movedim(batch_dim % o.dim(), 0), dim1=0, dim2=o.dim() + batch_dim % x.dim()).movedim(-1, 0)
            for J, x in zip(row, inputs, strict=True)
        ]
        for row, o in zip(_unlayout(full, outputs_tuple, inputs_tuple), outputs, strict=True)
    ]
    return _layout(cut, outputs_tuple, inputs_tuple)


def per_sample_parts(
    func: Callable[..., Any], inputs: Inputs, method: str, batch_dim: int, caller: str
) -> tuple[list[list[torch.Tensor]], bool, bool, str]:
    """The diagonal blocks ``jac[out][in]`` of shape ``[B, *out_sample, *in_sample]``, and the method used.

    Reverse methods differentiate ``func(x).sum(batch_dim)`` (one pass per
    *sample* output element); forward mode differentiates
    ``u ↦ func(x + u)`` with ``u`` broadcast over the batch (one pass per
    sample input element). Both equal the blocks when samples are
    independent, which :func:`_check_per_sample` verifies.
    """
    check_method(method, METHODS)
    check_func(func, caller)
    input_tuple, inputs_tuple = as_inputs(inputs, caller)
    names = [f"inputs[{j}]" if inputs_tuple else "inputs" for j in range(len(input_tuple))]
    in_dims = _batch_dims(batch_dim, input_tuple, names, caller)
    with grad_recording():
        copies = tuple(fresh(x) for x in input_tuple)
        leaves = tuple(x.clone().requires_grad_() for x in copies)
        with explained(caller):
            outputs, outputs_tuple = as_outputs(func(*(x.clone() for x in leaves)), caller)
        out_names = [f"func(...)[{i}]" if outputs_tuple else "func(...)" for i in range(len(outputs))]
        out_dims = _batch_dims(batch_dim, input_tuple + outputs, names + out_names, caller)[len(input_tuple) :]
        batch = input_tuple[0].shape[in_dims[0]]
        used = method
        if method == "auto":
            per_out = sum(o.numel() for o in outputs) // max(batch, 1)
            per_in = sum(x.numel() for x in input_tuple) // max(batch, 1)
            used = auto_choice(per_out, per_in)

        def summed(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outs, _ = as_outputs(func(*xs), caller)
            return tuple(o.sum(d) for o, d in zip(outs, out_dims, strict=True))

        def shifted(*us: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outs, _ = as_outputs(
                func(*(x + u.unsqueeze(d) for x, u, d in zip(copies, us, in_dims, strict=True))), caller
            )
            return outs

        jac: list[list[torch.Tensor]] = []
        if used == "jacfwd":
            try:
                zeros = tuple(torch.zeros_like(x.select(d, 0)) for x, d in zip(copies, in_dims, strict=True))
                parts = jacobian_parts(shifted, zeros, "jacfwd", caller)[0]
                jac = [[J.movedim(d, 0) for J in row] for row, d in zip(parts, out_dims, strict=True)]
            except RuntimeError:
                if method != "auto":
                    raise
                used = "batched"  # torch.func cannot transform func: plain autograd can
        if not jac:
            try:
                parts = jacobian_parts(summed, copies, used, caller)[0]
            except RuntimeError:
                if method != "auto" or used != "jacrev":
                    raise
                used = "batched"
                parts = jacobian_parts(summed, copies, used, caller)[0]
            jac = [
                [J.movedim(o.dim() - 1 + d, 0) for J, d in zip(row, in_dims, strict=True)]
                for row, o in zip(parts, outputs, strict=True)
            ]
        with explained(caller):
            _check_per_sample(jac, outputs, leaves, out_dims, in_dims, caller)
    return jac, outputs_tuple, inputs_tuple, used


def jacobian(
    func: Callable[..., Any], inputs: Inputs, method: str = "auto", *, batch_dim: int | None = None
) -> Jacobian:
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
      ``torch.func`` cannot transform ``func``, and to ``"jacrev"`` when
      ``func`` uses a tensor made under ``inference_mode``, which autograd
      cannot record).

    Args:
        func: a function of the input tensor(s) returning a tensor or a tuple
            of tensors.
        inputs: a real floating point tensor, or a tuple (or list) of them;
            passed to ``func`` as positional arguments.
        method: one of ``"rows"``, ``"batched"``, ``"jacrev"``, ``"jacfwd"``,
            ``"auto"``.
        batch_dim: ``None`` (default): the full Jacobian. An int: every input
            and every output has a batch of B samples along this dimension,
            and sample ``b`` of the output depends only on sample ``b`` of
            the inputs (softmax over classes, an MLP in eval mode); then the
            full Jacobian is zero between different samples, and only its
            B diagonal blocks are computed, with ``func`` still called on
            the whole batch: ``[B, *out_sample, *in_sample]``, as
            ``torch.func.vmap(torch.func.jacrev(f))`` gives. For a [64, 100]
            softmax that is [64, 100, 100] instead of [64, 100, 64, 100],
            and far fewer passes. A ``func`` that mixes samples (BatchNorm
            in training, a mean over the batch) is detected with one extra
            backward pass and refused (``ValueError``).

    Returns:
        As ``torch.autograd.functional.jacobian``: for one input and one output
        a tensor of shape ``output.shape + input.shape`` with
        ``J[o..., i...] = ∂output[o...] / ∂input[i...]``; a tuple per input
        and/or per output otherwise (``J[out][in]`` when both are tuples).
        The result does not require grad. With ``batch_dim``, each tensor
        is ``[B, *out_sample, *in_sample]``: ``J[b] = ∂output[b] / ∂input[b]``
        (the batch dimension removed from both).

    Whatever the caller's grad mode (``torch.no_grad()``,
    ``torch.inference_mode()``, ``set_grad_enabled(False)``), every method
    records its own graph and gives the same numbers; inference tensors are
    accepted as inputs. ``func`` is called with copies of the inputs, so it
    may change its argument in place (``z.mul_(2)``) under every method, and
    the caller's tensors are never changed.

    Real numbers only: complex inputs or outputs raise (as in ``torch.func``);
    split them with ``torch.view_as_real(x)`` or ``x.real`` / ``x.imag``
    (``x.float()`` would drop the imaginary part).

    Raises:
        ValueError: an unknown ``method``; with ``batch_dim``: batch sizes
            that differ, or a ``func`` that mixes samples (gradlab's checks).
        TypeError: ``batch_dim`` is not an int (or a dimension an input or
            output lacks: ``ValueError``); ``func`` is not callable, an input is not a tensor, or
            ``func`` returns something that is not a tensor, or an integer or
            bool tensor (gradlab's checks).
        RuntimeError: an integer or bool input (PyTorch's "only Tensors of
            floating point dtype can require gradients", chained); a complex
            input or output (as ``torch.func.jacrev``); ``func`` changes in
            place a tensor that requires grad, or uses a tensor created under
            ``inference_mode`` (PyTorch's error, chained, with what to do).

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> J = jacobian(lambda z: torch.softmax(z, dim=0), a, method="rows")
        >>> J[1]
        tensor([-0.0849,  0.1878, -0.1029])
        >>> torch.allclose(J, jacobian(lambda z: torch.softmax(z, dim=0), a, method="jacrev"))
        True
        >>> logits = torch.randn(64, 100)
        >>> blocks = jacobian(lambda z: torch.softmax(z, dim=-1), logits, batch_dim=0)
        >>> blocks.shape                    # one [100, 100] block per sample, not [64, 100, 64, 100]
        torch.Size([64, 100, 100])
        >>> torch.allclose(blocks, softmax_jacobian(logits, dim=-1), atol=1e-6)
        True
    """
    if batch_dim is not None:
        jac, outputs_tuple, inputs_tuple, _ = per_sample_parts(func, inputs, method, batch_dim, "jacobian")
    else:
        jac, outputs_tuple, inputs_tuple, _ = jacobian_parts(func, inputs, method, "jacobian")
    return _layout(jac, outputs_tuple, inputs_tuple)


# --- the closed form -------------------------------------------------------------


def _softmax_refuses(input: torch.Tensor, dim: object) -> None:
    """Raise ``torch.softmax``'s own ``NotImplementedError`` for a non-floating ``input``, chained, bilingual."""
    try:
        torch.softmax(input.detach(), dim=dim if isinstance(dim, int) else -1)
    except NotImplementedError as error:
        cause = str(error).strip().splitlines()[0]
        if input.is_complex():
            message = complex_message("softmax_jacobian 的 input", "input of softmax_jacobian", input.dtype)
            raise NotImplementedError(f"{message}\n(PyTorch: {cause})") from error
        raise NotImplementedError(
            bilingual(
                f"softmax_jacobian 的 input 的类型是 {input.dtype}：softmax 只对浮点数有定义（PyTorch 也拒绝）。",
                f"input of softmax_jacobian has dtype {input.dtype}: softmax is defined for floating point "
                "numbers only (PyTorch refuses it too).",
                todo_zh="先转换成浮点数：x.float()，或写 torch.tensor([1.0, 2.0])。",
                todo_en="Convert it first: x.float(), or write torch.tensor([1.0, 2.0]).",
                cause=cause,
            )
        ) from error


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

    Raises:
        NotImplementedError: an integer, bool or complex ``input``, as
            ``torch.softmax`` raises (its error chained).
        TypeError, ValueError: ``input`` is not a tensor, or ``dim`` is not
            an int naming one of its dimensions (gradlab's checks).

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
    if isinstance(input, torch.Tensor) and not input.is_floating_point():
        _softmax_refuses(input, dim)
    (input,), _ = as_inputs(input, "softmax_jacobian")
    check_dim(dim, input, "softmax_jacobian")
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
