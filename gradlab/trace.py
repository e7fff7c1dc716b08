"""Backward, step by step: the gradient that flowed along every arrow.

:func:`trace_backward` runs the same backward pass as ``torch.autograd.backward``
(or ``torch.autograd.grad`` when ``inputs`` is given) and records what each
autograd function received and sent, with the public hooks on autograd nodes
(``Node.register_prehook`` / ``Node.register_hook``). The hooks run inside
PyTorch's engine, so gradlab only records there (detached copies) and builds
the :class:`BackwardTrace` afterwards; every hook is removed before
:func:`trace_backward` returns, also when PyTorch raises.

The trace is plain data: ``trace.graph`` is the :class:`~gradlab.graph.Graph`
that :func:`gradlab.build_graph` gives (same ids), with the gradient on every
arrow (``Edge.grad``), and ``trace.steps`` lists the functions in the order the
engine ran them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from gradlab._checks import as_autograd_inputs
from gradlab._messages import bilingual, reraise_with_hint
from gradlab._trace_steps import STATES, ChainRule, Grads, Step, TraceViews
from gradlab.graph import Edge, Graph, build_graph

__all__ = ["STATES", "BackwardTrace", "ChainRule", "Step", "trace_backward"]


@dataclass(repr=False)
class BackwardTrace(TraceViews):
    """What one backward pass did, arrow by arrow and step by step.

    Attributes:
        graph: the graph of the outputs as :func:`gradlab.build_graph` gives it
            (built before backward ran, so the saved values are readable), with
            ``Edge.grad`` set on every arrow a gradient flowed along: a
            ``"next"`` arrow carries the sender's ``grad_inputs[edge.index]``, a
            ``"grad_fn"`` arrow the gradient backward started with, a
            ``"variable"`` arrow the gradient ``AccumulateGrad`` added into the leaf.
            Its nodes show the graph as it was before backward (a leaf's label
            and ``Node.grad`` hold the ``.grad`` it had then).
        steps: the functions in the order the engine ran them.
        grads: with ``inputs`` given, what ``torch.autograd.grad`` returned;
            ``None`` otherwise (the gradients are in the leaves' ``.grad``).
        grad_outputs: the gradient each output started with (``1`` for a
            scalar output unless ``grad_outputs`` was given), detached.
    """

    graph: Graph
    steps: list[Step] = field(default_factory=list)
    grads: tuple[torch.Tensor | None, ...] | dict[str, torch.Tensor | None] | None = None
    grad_outputs: Grads = ()

    def __repr__(self) -> str:
        carried = sum(e.grad is not None for e in self.graph.edges)
        return f"BackwardTrace({len(self.steps)} steps, {carried} of {len(self.graph.edges)} arrows carried a gradient)"

    def __len__(self) -> int:
        return len(self.steps)

    def step_of(self, node: int) -> Step | None:
        """The step in which node ``node`` ran, or ``None`` if the engine did not run it."""
        for step in self.steps:
            if step.node == node:
                return step
        return None


# --- Recording (runs inside the engine: copy and append, nothing else) --------


class _Recorder:
    """Collects what the hooks see. Holds the gradients it copied until the trace is built."""

    def __init__(self) -> None:
        self.records: list[tuple[int, Grads, Grads, torch.Tensor | None, torch.Tensor | None]] = []
        self.before: dict[int, torch.Tensor | None] = {}
        # id -> (weak reference to the gradient, its version, its copy): the same gradient is
        # usually sent by one function and received by the next; copy it once. The weak reference
        # tells a reused id apart and lets the engine free its gradients as usual.
        self.copies: dict[int, tuple[weakref.ref[torch.Tensor], int, torch.Tensor]] = {}

    def copy(self, grad: torch.Tensor | None) -> torch.Tensor | None:
        if grad is None:
            return None
        hit = self.copies.get(id(grad))
        if hit is not None and hit[0]() is grad and hit[1] == grad._version:
            return hit[2]
        copied = grad.detach().clone()
        self.copies[id(grad)] = (weakref.ref(grad), grad._version, copied)
        return copied

    def function_ran(self, node: int, grad_inputs: Sequence[Any], grad_outputs: Sequence[Any]) -> None:
        copy = self.copy
        self.records.append((node, tuple(map(copy, grad_outputs)), tuple(map(copy, grad_inputs)), None, None))

    def accumulate_starts(self, node: int, leaf: torch.Tensor, grad_outputs: Sequence[Any]) -> None:
        held = leaf.grad
        self.before[node] = None if held is None else held.detach().clone()

    def accumulate_ran(
        self, node: int, leaf: torch.Tensor, grad_inputs: Sequence[Any], grad_outputs: Sequence[Any]
    ) -> None:
        held = leaf.grad
        after = None if held is None else held.detach().clone()
        before = self.before.pop(node, None)
        self.records.append((node, tuple(map(self.copy, grad_outputs)), (), before, after))


# --- Arguments -------------------------------------------------------------------


def _outputs(outputs: tuple[object, ...]) -> list[torch.Tensor]:
    items: list[object] = []
    for item in outputs:
        items.extend(item if isinstance(item, (list, tuple)) else [item])
    if not items:
        raise TypeError(
            bilingual(
                "没有传入要反向传播的张量。",
                "No tensor was given, so there is nothing to run backward from.",
                todo_zh="传入输出张量，例如 gradlab.trace_backward(mse)。",
                todo_en="Pass the output tensor, e.g. gradlab.trace_backward(mse).",
            )
        )
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"outputs[{i}] 应该是张量，但收到的是 {type(item).__name__}。",
                    f"outputs[{i}] must be a tensor, not {type(item).__name__}.",
                    todo_zh="传入 PyTorch 张量（例如损失 mse）；数字请先用 torch.tensor(...) 变成张量。",
                    todo_en="Pass PyTorch tensors (e.g. the loss mse); turn numbers into tensors with torch.tensor(...) first.",
                )
            )
        if item.grad_fn is None:
            if item.requires_grad:
                zh = f"outputs[{i}] 是叶子张量（你自己创建的、requires_grad=True 的张量），它没有 grad_fn，没有可以追踪的反向计算。"
                en = (
                    f"outputs[{i}] is a leaf tensor (one you created with requires_grad=True): it has no grad_fn, "
                    "so there is no backward computation to trace."
                )
            else:
                zh = f"outputs[{i}] 没有 grad_fn：计算它的时候，没有任何输入张量设置了 requires_grad，所以 PyTorch 没有记录计算图。"
                en = (
                    f"outputs[{i}] has no grad_fn: none of the tensors it was computed from required grad, "
                    "so PyTorch recorded no graph."
                )
            raise RuntimeError(
                bilingual(
                    zh,
                    en,
                    todo_zh="传入由参数计算出来的输出（例如损失 mse）；如果忘了 requires_grad_()，"
                    "在计算之前对参数调用 w.requires_grad_()，然后重新计算。",
                    todo_en="Pass an output computed from the parameters (e.g. the loss mse); if you forgot "
                    "requires_grad_(), call w.requires_grad_() BEFORE the computation and recompute.",
                )
            )
    return items  # type: ignore[return-value]


def _grad_outputs(value: object) -> list[torch.Tensor | None] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, torch.Tensor) else value
    if not isinstance(items, (list, tuple)) or not all(g is None or isinstance(g, torch.Tensor) for g in items):
        raise TypeError(
            bilingual(
                "grad_outputs 应该是张量，或每个输出一个张量（或 None）的列表。",
                "grad_outputs must be a tensor, or a list with one tensor (or None) per output.",
                todo_zh="例如 grad_outputs=torch.ones_like(y)；数字请先用 torch.tensor(...) 变成张量。",
                todo_en="For example grad_outputs=torch.ones_like(y); turn numbers into tensors with torch.tensor(...) first.",
            )
        )
    return list(items)


# --- The trace ------------------------------------------------------------------


def trace_backward(
    *outputs: torch.Tensor,
    inputs: torch.Tensor | Iterable[torch.Tensor] | dict[str, torch.Tensor] | None = None,
    grad_outputs: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> BackwardTrace:
    """Run backward and record the gradient on every arrow, step by step.

    With ``inputs=None`` this runs what ``torch.autograd.backward(outputs,
    grad_outputs, retain_graph, create_graph)`` runs: every leaf's ``.grad``
    ends up exactly as after plain ``backward()``. With ``inputs=[...]`` it
    runs what ``torch.autograd.grad(outputs, inputs, grad_outputs, ...)`` runs:
    the result is in ``trace.grads``, no ``.grad`` is touched, and only the
    functions that call executes are recorded.

    Recording uses the public hooks of autograd nodes; all of them are removed
    before this returns. PyTorch's errors (a second backward through a freed
    graph, a non-scalar output without ``grad_outputs``) are raised as the same
    type, chained to PyTorch's, with a bilingual hint.

    Memory: the trace holds a detached copy of each gradient (once, even when
    it is both sent and received) and, through ``trace.graph``, the autograd
    nodes as :func:`gradlab.build_graph` does. During backward the recorder
    also keeps the gradients it copied alive.

    Args:
        *outputs: the tensor(s) to differentiate, e.g. the loss; a list or tuple works too.
        inputs: differentiate with respect to these tensors only, as
            ``torch.autograd.grad`` does.
        grad_outputs: the vector ``v`` of ``vᵀJ``, one per output; needed for a
            non-scalar output.
        retain_graph: keep the graph for another backward; defaults to ``create_graph``.
        create_graph: record the gradient computation too, for higher derivatives.

    Returns:
        A :class:`BackwardTrace`.

    Raises:
        TypeError: an output, input or ``grad_outputs`` entry is not a tensor.
        RuntimeError: an output has no ``grad_fn``; an input is an integer or
            bool tensor; or PyTorch refused (graph
            already freed: use ``retain_graph=True``; non-scalar output without
            ``grad_outputs``; ...).

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x = torch.ones(1)
        >>> w = torch.full([1], 2.).requires_grad_()
        >>> mse = F.mse_loss(torch.ones(1), x * w)
        >>> trace = trace_backward(mse)
        >>> for step in trace.steps:
        ...     print(step.index, step.name, step.grad_outputs, step.grad_inputs)
        0 MseLossBackward0 (tensor(1.),) (None, tensor([2.]))
        1 MulBackward0 (tensor([2.]),) (None, tensor([2.]))
        2 AccumulateGrad (tensor([2.]),) ()
        >>> graph = trace.graph
        >>> accumulate = graph.find("AccumulateGrad").id
        >>> [e.grad for e in graph.edges if e.dst == accumulate]  # the arrow into w
        [tensor([2.])]
        >>> trace.steps[2].grad_before, trace.steps[2].grad_after, w.grad
        (None, tensor([2.]), tensor([2.]))
        >>> print(trace.chain_rule(1)[0])  # MulBackward0: upstream × local derivative = downstream
        2. × x = 2. → w
        >>> trace.status(2)[graph.find("MulBackward0").id]
        'current'

        Fan-out: ``a + a`` sends two gradients into one ``AccumulateGrad``, which adds them.

        >>> a = torch.tensor(3., requires_grad=True)
        >>> trace = trace_backward(a + a)
        >>> [(e.index, e.grad) for e in trace.graph.edges if e.kind == "next"]
        [(0, tensor(1.)), (1, tensor(1.))]
        >>> trace.steps[-1].grad_outputs, a.grad
        ((tensor(2.),), tensor(2.))
    """
    tensors = _outputs(outputs)
    seeds = _grad_outputs(grad_outputs)
    wanted: Any = None
    if inputs is not None:
        read = as_autograd_inputs(inputs, "inputs")  # a generator is read once, here
        wanted = inputs if isinstance(inputs, (torch.Tensor, dict)) else read
    # build_graph names tensors after the variables of the innermost frame that holds them:
    # drop the parameters that may be tensors, so names come from the caller (a, not inputs).
    del inputs, grad_outputs
    # Built BEFORE backward, while the saved tensors are still readable.
    graph = build_graph(*tensors)
    recorder = _Recorder()
    grads = None
    failure: BaseException | None = None
    handles = _register(graph, recorder)
    try:
        if wanted is None:
            torch.autograd.backward(tensors, grad_tensors=seeds, retain_graph=retain_graph, create_graph=create_graph)
        else:
            grads = torch.autograd.grad(
                tensors, wanted, grad_outputs=seeds, retain_graph=retain_graph, create_graph=create_graph
            )
    except (RuntimeError, TypeError, ValueError) as error:
        failure = error
    finally:
        for handle in handles:
            handle.remove()
    if failure is not None:
        # The error (kept by a notebook as the last traceback) must not keep the graph or the copies alive.
        del graph, recorder, handles
        reraise_with_hint(failure)
    return _assemble(graph, recorder, tensors, seeds, grads)


def _register(graph: Graph, recorder: _Recorder) -> list[Any]:
    """Put the recorder's hooks on every function of ``graph``; the handles remove them."""
    handles = []
    try:
        for node in graph.nodes:
            if node.kind == "function":
                handles.append(node.obj.register_hook(partial(recorder.function_ran, node.id)))
            elif node.kind == "accumulate":
                leaf = node.obj.variable
                handles.append(node.obj.register_prehook(partial(recorder.accumulate_starts, node.id, leaf)))
                handles.append(node.obj.register_hook(partial(recorder.accumulate_ran, node.id, leaf)))
    except BaseException:
        for handle in handles:
            handle.remove()
        raise
    return handles


def _assemble(
    graph: Graph,
    recorder: _Recorder,
    tensors: list[torch.Tensor],
    seeds: list[torch.Tensor | None] | None,
    grads: tuple[torch.Tensor | None, ...] | dict[str, torch.Tensor | None] | None,
) -> BackwardTrace:
    sends_to: dict[int, list[int | None]] = {}
    leaf_of: dict[int, int] = {}
    for edge in graph.edges:
        if edge.kind == "next":
            slots = sends_to.setdefault(edge.src, [])
            slots.extend([None] * (edge.index + 1 - len(slots)))
            slots[edge.index] = edge.dst
        elif edge.kind == "variable":
            leaf_of[edge.src] = edge.dst
    steps = []
    for index, (node, arrived, sent, before, after) in enumerate(recorder.records):
        slots = sends_to.get(node, [])
        slots.extend([None] * (len(sent) - len(slots)))
        steps.append(
            Step(
                index=index,
                node=node,
                name=graph.nodes[node].name,
                grad_outputs=arrived,
                grad_inputs=sent,
                sends_to=tuple(slots[: len(sent)]),
                leaf=leaf_of.get(node),
                grad_before=before,
                grad_after=after,
            )
        )
    recorder.copies.clear()
    start: list[torch.Tensor | None] = []
    for i, tensor in enumerate(tensors):
        given = seeds[i] if seeds is not None and i < len(seeds) else None
        start.append(given.detach().clone() if given is not None else torch.ones_like(tensor.detach()))
    seed_of = dict(zip(graph.outputs, start, strict=True))
    by_node = {s.node: s for s in steps}
    edges: list[Edge] = []
    for edge in graph.edges:
        grad: torch.Tensor | None = None
        if edge.kind == "grad_fn":
            grad = seed_of.get(edge.src)
        elif edge.kind == "next":
            step = by_node.get(edge.src)
            if step is not None and edge.index < len(step.grad_inputs):
                grad = step.grad_inputs[edge.index]
        elif edge.kind == "variable":
            step = by_node.get(edge.src)
            if step is not None and step.grad_outputs:
                grad = step.grad_outputs[0]
        edges.append(edge if grad is None else Edge(edge.src, edge.dst, edge.kind, edge.index, grad))
    graph.edges = edges
    return BackwardTrace(graph=graph, steps=steps, grads=grads, grad_outputs=tuple(start))
