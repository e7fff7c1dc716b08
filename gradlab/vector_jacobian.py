"""vᵀJ: what ``output.backward(gradient=v)`` computes, shown beside the full Jacobian.

``backward`` never builds the Jacobian J. For a non-scalar output it needs a
vector ``v`` shaped like the output and computes ``vᵀJ`` in one backward pass.
:func:`vjp` does exactly that and keeps what is needed to show ``v @ J`` from
the full Jacobian next to it: the same numbers.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from gradlab import _format
from gradlab._checks import Inputs, as_inputs, as_outputs, as_vectors, check_func
from gradlab._style import TABLE
from gradlab.jacobians import (
    Jacobian,
    explained,
    flatten,
    fresh,
    grad_recording,
    jacobian,
    jacobian_parts,
    max_abs_diff,
)

__all__ = ["VJPResult", "vjp"]


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
    def jacobian(self) -> Jacobian:
        return jacobian(self.func, self.inputs if self.inputs_tuple else self.inputs[0], method="auto")

    @cached_property
    def via_jacobian(self) -> Any:
        jac, outputs_tuple, _, _ = jacobian_parts(self.func, self.inputs, "auto", "vjp")
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
        return max_abs_diff(self.vjp, self.via_jacobian)

    def _lines(self) -> list[tuple[str, str]]:
        def show(value: Any) -> str:
            return " ".join(str(t) for t in flatten(value))

        return [
            ("v", show(self.v)),
            (TABLE["vjp"], show(self.vjp)),
            (TABLE["via_jacobian"], show(self.via_jacobian)),
            (TABLE["max_abs_diff"], _format.error(self.max_abs_diff)),
        ]

    def __str__(self) -> str:
        lines = self._lines()
        # a tensor's second line starts under its first: the values form one column
        width = max(_format.width(k) for k, _ in lines) + 2
        return "\n".join(_format.pad(k, width) + v.replace("\n", "\n" + " " * width) for k, v in lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td><pre>{esc(v)}</pre></td></tr>" for k, v in self._lines()
        )
        return f"<table class='gradlab-vjp'>{body}</table>"


def vjp(func: Callable[..., Any], inputs: Inputs, v: torch.Tensor | Sequence[torch.Tensor]) -> VJPResult:
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
        RuntimeError: an integer, bool or complex input or output; see :func:`jacobian`.

    Like :func:`jacobian`, it records a graph whatever the caller's grad mode
    (``no_grad``, ``inference_mode``), and ``func`` gets a copy of the inputs.

    Example:
        >>> a = torch.tensor([0.7728, 0.4713, 0.9653])
        >>> result = vjp(lambda z: torch.softmax(z, dim=0), a, torch.tensor([0., 1., 0.]))
        >>> result.vjp                      # row 1 of the Jacobian: v picks it
        tensor([-0.0849,  0.1878, -0.1029])
        >>> result.max_abs_diff < 1e-7
        True
    """
    check_func(func, "vjp")
    input_tuple, inputs_tuple = as_inputs(inputs, "vjp")
    # Whatever the caller's mode (no_grad, inference_mode): record a graph, on normal copies of the inputs.
    with grad_recording(), explained("vjp"):
        leaves = tuple(fresh(x).requires_grad_() for x in input_tuple)
        outputs, outputs_tuple = as_outputs(func(*(x.clone() for x in leaves)), "vjp")
        vs = as_vectors(v, outputs, outputs_tuple)
        grad_outputs = tuple(vi.detach().to(out.dtype) for vi, out in zip(vs, outputs, strict=True))
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
