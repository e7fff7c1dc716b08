"""The parts of a backward trace: its steps, the chain rule in numbers, and the views after k steps.

:class:`Step` and :class:`ChainRule` are plain data; :class:`TraceViews` gives
:class:`gradlab.BackwardTrace` (in :mod:`gradlab.trace`, which records them)
its derived views: :meth:`~TraceViews.status`, :meth:`~TraceViews.edge_grads`
and :meth:`~TraceViews.chain_rule`. They only read ``trace.graph`` and
``trace.steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gradlab._format import short
from gradlab._labels import tensor_text
from gradlab._messages import bilingual
from gradlab.graph import Graph

__all__ = ["STATES", "ChainRule", "Step", "TraceViews"]

Grads = tuple[torch.Tensor | None, ...]

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
    grad_outputs: Grads
    grad_inputs: Grads
    sends_to: tuple[int | None, ...]
    leaf: int | None = None
    grad_before: torch.Tensor | None = None
    grad_after: torch.Tensor | None = None

    def __repr__(self) -> str:
        def text(grads: Grads) -> str:
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


class TraceViews:
    """What a trace looks like after k steps; mixed into :class:`gradlab.BackwardTrace`."""

    graph: Graph
    steps: list[Step]

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
