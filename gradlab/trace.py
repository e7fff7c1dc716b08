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

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from gradlab._format import short
from gradlab._labels import tensor_text
from gradlab._messages import bilingual, reraise_with_hint
from gradlab.graph import Edge, Graph, build_graph

__all__ = ["BackwardTrace", "ChainRule", "Step", "trace_backward"]

_Grads = tuple[torch.Tensor | None, ...]

#: The states :meth:`BackwardTrace.status` reports, in the order a function goes through them.
STATES = ("waiting", "current", "done", "skipped")

#: For a product, the local derivative of each input slot is a value the function saved:
#: d(self * other)/d(self) = other, d(self * other)/d(other) = self.
_FACTORS = {"MulBackward0": ("_saved_other", "_saved_self")}


@dataclass(eq=False)
class Step:
    """One autograd function running during backward.

    Attributes:
        index: position in the order the engine ran the functions (0, 1, 2, ...).
        node: id of the function's node in ``trace.graph``.
        name: the function's name (``"MulBackward0"``, ``"AccumulateGrad"``).
        grad_outputs: what arrived from upstream, one entry per output of the
            forward operation (detached copies; ``None`` where nothing arrived).
        grad_inputs: what the function sent on, one entry per slot of its
            ``next_functions`` (detached copies; ``None`` where the slot is empty
            or nothing was sent). Empty for ``AccumulateGrad``.
        sends_to: for each slot, the id of the node the gradient was sent to
            (``None`` for an empty slot).
        leaf: for ``AccumulateGrad``, the id of the leaf whose ``.grad`` it writes.
        grad_before: for ``AccumulateGrad``, a copy of the leaf's ``.grad``
            before this step (``None`` if it had none).
        grad_after: for ``AccumulateGrad``, a copy of the leaf's ``.grad`` after
            this step added ``grad_outputs[0]`` to it.
    """

    index: int
    node: int
    name: str
    grad_outputs: _Grads
    grad_inputs: _Grads
    sends_to: tuple[int | None, ...]
    leaf: int | None = None
    grad_before: torch.Tensor | None = None
    grad_after: torch.Tensor | None = None

    def __repr__(self) -> str:
        def text(grads: _Grads) -> str:
            return "(" + ", ".join("None" if g is None else tensor_text(g) for g in grads) + ")"

        extra = ""
        if self.name == "AccumulateGrad":
            before = "None" if self.grad_before is None else tensor_text(self.grad_before)
            after = "None" if self.grad_after is None else tensor_text(self.grad_after)
            extra = f", grad {before} -> {after}"
        return (
            f"Step({self.index}: {self.name} #{self.node}, "
            f"grad_outputs={text(self.grad_outputs)}, grad_inputs={text(self.grad_inputs)}{extra})"
        )


@dataclass(frozen=True)
class ChainRule:
    """The chain rule in numbers for one arrow out of a scalar function.

    ``upstream × local = downstream``: the gradient that arrived, times the
    local derivative of this output with respect to that input, is the gradient
    sent along the arrow.

    Attributes:
        slot: the position in ``next_functions`` of the arrow.
        to: id of the node the gradient was sent to.
        into: the name of what receives it: the leaf's name for ``AccumulateGrad``,
            otherwise the variable (or function) name of the receiving node.
        upstream: the gradient that arrived.
        local: the local derivative, ``downstream / upstream`` (``None`` when
            ``upstream`` is 0, where it cannot be read off).
        downstream: the gradient sent along the arrow.
        factor: the name of the saved value that IS the local derivative, where
            gradlab knows it (the other factor of a product), else ``None``.
    """

    slot: int
    to: int
    into: str
    upstream: float
    local: float | None
    downstream: float
    factor: str | None = None

    def __str__(self) -> str:
        local = self.factor if self.factor is not None else ("?" if self.local is None else short(self.local))
        return f"{short(self.upstream)} × {local} = {short(self.downstream)} → {self.into}"


@dataclass(repr=False)
class BackwardTrace:
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
    grads: tuple[torch.Tensor | None, ...] | None = None
    grad_outputs: _Grads = ()

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

    def _check_step(self, step: object) -> int:
        total = len(self.steps)
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= total:
            raise IndexError(
                bilingual(
                    f"step 应该是 0 到 {total} 之间的整数（这次反向传播一共 {total} 步），但收到的是 {step!r}。",
                    f"step must be a whole number from 0 to {total} (this backward pass has {total} steps), "
                    f"not {step!r}.",
                    todo_zh=f"step=0 表示还没有开始，step={total} 表示全部完成。",
                    todo_en=f"step=0 is before anything ran, step={total} is when everything has run.",
                )
            )
        return step

    def status(self, step: int) -> dict[int, str]:
        """The state of every function after ``step`` steps, by node id.

        ``"done"`` (ran before the last step), ``"current"`` (the step-th one,
        which just ran), ``"waiting"`` (runs later) or ``"skipped"`` (the engine
        does not run it in this pass, e.g. off the path of ``inputs``).

        Raises:
            IndexError: ``step`` is not between 0 and ``len(trace.steps)``.
        """
        step = self._check_step(step)
        state = {n.id: "skipped" for n in self.graph.nodes if n.kind in ("function", "accumulate")}
        for s in self.steps:
            state[s.node] = "done" if s.index < step - 1 else "current" if s.index == step - 1 else "waiting"
        return state

    def edge_grads(self, step: int) -> list[torch.Tensor | None]:
        """The gradient on each arrow of ``graph.edges`` after ``step`` steps.

        An arrow shows its gradient once its sender has run; the arrows from the
        outputs carry the starting gradient from step 0 on.

        Raises:
            IndexError: ``step`` is not between 0 and ``len(trace.steps)``.
        """
        step = self._check_step(step)
        ran = {s.node for s in self.steps[:step]}
        return [e.grad if e.kind == "grad_fn" or e.src in ran else None for e in self.graph.edges]

    def chain_rule(self, index: int) -> list[ChainRule]:
        """The chain rule in numbers for step ``index``, one entry per arrow it sent a gradient along.

        Only for a function whose gradients are all single numbers (one
        gradient arrived, each one sent is a single number); otherwise ``[]``.

        Raises:
            IndexError: ``index`` is not the index of a step.
        """
        total = len(self.steps)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < total:
            raise IndexError(
                bilingual(
                    f"index 应该是 0 到 {total - 1} 之间的整数（这次反向传播一共 {total} 步），但收到的是 {index!r}。",
                    f"index must be a whole number from 0 to {total - 1} (this backward pass has {total} steps), "
                    f"not {index!r}.",
                    todo_zh="trace.steps[index] 是第 index 步（从 0 开始数）。",
                    todo_en="trace.steps[index] is the step it explains (counting from 0).",
                )
            )
        step = self.steps[index]
        arrived = [g for g in step.grad_outputs if g is not None]
        if len(arrived) != 1 or not _is_real_number(arrived[0]):
            return []
        sent = [
            (slot, g, to)
            for slot, (g, to) in enumerate(zip(step.grad_inputs, step.sends_to, strict=True))
            if g is not None
        ]
        if not sent or not all(_is_real_number(g) for _, g, _ in sent):
            return []
        upstream = arrived[0].item()
        rules = []
        for slot, grad, to in sent:
            assert to is not None  # a gradient is only sent along a real arrow
            downstream = grad.item()
            local = downstream / upstream if upstream != 0 else None
            rules.append(
                ChainRule(
                    slot=slot,
                    to=to,
                    into=self.receiver_name(to),
                    upstream=upstream,
                    local=local,
                    downstream=downstream,
                    factor=self._factor(step, slot, local),
                )
            )
        return rules

    def receiver_name(self, node_id: int) -> str:
        """The name of what a gradient sent to node ``node_id`` reaches: the leaf's name for
        ``AccumulateGrad``, otherwise the node's variable name or its function name."""
        node = self.graph.nodes[node_id]
        if node.kind == "accumulate":
            leaf = next(e.dst for e in self.graph.edges if e.src == node_id and e.kind == "variable")
            return self.graph.nodes[leaf].name
        return node.tensor_name or node.name

    def _factor(self, step: Step, slot: int, local: float | None) -> str | None:
        attributes = _FACTORS.get(step.name)
        if attributes is None or local is None or slot >= len(attributes):
            return None
        for edge in self.graph.edges:
            saved = self.graph.nodes[edge.dst]
            if edge.src == step.node and edge.kind == "saved" and saved.name == attributes[slot]:
                value = saved.value
                if (
                    saved.tensor_name
                    and isinstance(value, torch.Tensor)
                    and _is_real_number(value)
                    and math.isclose(value.item(), local, rel_tol=1e-5, abs_tol=1e-12)
                ):
                    return saved.tensor_name
        return None


def _is_real_number(tensor: torch.Tensor) -> bool:
    return tensor.numel() == 1 and not tensor.is_complex()


# --- Recording (runs inside the engine: copy and append, nothing else) --------


class _Recorder:
    """Collects what the hooks see. Holds the gradients it copied until the trace is built."""

    def __init__(self) -> None:
        self.records: list[tuple[int, _Grads, _Grads, torch.Tensor | None, torch.Tensor | None]] = []
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


def _inputs(value: object) -> tuple[torch.Tensor, ...]:
    items = (value,) if isinstance(value, torch.Tensor) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            bilingual(
                f"inputs 应该是张量或张量列表，但收到的是 {type(value).__name__}。",
                f"inputs must be a tensor or a list of tensors, not {type(value).__name__}.",
                todo_zh="传入张量，例如 inputs=[w]。",
                todo_en="Pass tensors, e.g. inputs=[w].",
            )
        )
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"inputs[{i}] 应该是张量，但收到的是 {type(item).__name__}。",
                    f"inputs[{i}] must be a tensor, not {type(item).__name__}.",
                    todo_zh="列表里只能放张量；数字请先用 torch.tensor(...) 变成张量。",
                    todo_en="Put only tensors in the list; turn numbers into tensors with torch.tensor(...) first.",
                )
            )
        if not (item.is_floating_point() or item.is_complex()):
            raise RuntimeError(
                bilingual(
                    f"inputs[{i}] 的类型是 {item.dtype}：整数或布尔张量不能求梯度，梯度只对浮点数（或复数）有意义。",
                    f"inputs[{i}] has dtype {item.dtype}: integer and bool tensors cannot have gradients; "
                    "a gradient only makes sense for floating point (or complex) numbers.",
                    todo_zh="用浮点数创建它，例如 torch.tensor([1.0, 2.0])，调用 requires_grad_() 后重新计算输出。",
                    todo_en="Create it with floats, e.g. torch.tensor([1.0, 2.0]), call requires_grad_(), "
                    "then recompute the output.",
                )
            )
    return tuple(items)


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
    inputs: torch.Tensor | Sequence[torch.Tensor] | None = None,
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
    wanted = None if inputs is None else _inputs(inputs)
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
    grads: tuple[torch.Tensor, ...] | None,
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
