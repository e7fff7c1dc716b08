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

import math
from collections.abc import Callable
from typing import Any

import torch

from gradlab._checks import Inputs, as_inputs, check_dim, complex_message
from gradlab._jacobian_methods import METHODS as METHODS
from gradlab._jacobian_methods import Jacobian as Jacobian
from gradlab._jacobian_methods import as_layout
from gradlab._jacobian_methods import auto_choice as auto_choice
from gradlab._jacobian_methods import by_rows as by_rows
from gradlab._jacobian_methods import jacobian_parts as jacobian_parts
from gradlab._messages import bilingual
from gradlab._per_sample import diagonal_blocks as diagonal_blocks
from gradlab._per_sample import per_sample_parts as per_sample_parts
from gradlab._recording import explained as explained
from gradlab._recording import fresh as fresh
from gradlab._recording import grad_recording as grad_recording

__all__ = ["METHODS", "jacobian", "softmax_jacobian"]

# The machinery lives in private modules and is re-exported here for compare, vector_jacobian
# and gradcheck: _recording (grad modes, func's errors), _jacobian_methods (the four methods,
# "auto", the layout), _per_sample (batch_dim).


# --- comparing with a reference ------------------------------------------------------


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


# --- the public function ------------------------------------------------------------


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
    return as_layout(jac, outputs_tuple, inputs_tuple)


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
