"""The autograd graph as plain data: what ``backward()`` will walk, node by node.

:func:`build_graph` follows ``grad_fn.next_functions`` from one or more output
tensors and returns a :class:`Graph`: a list of :class:`Node` and a list of
:class:`Edge`, plain dataclasses that a notebook can print and a test can
compare. :func:`gradlab.draw` turns the same graph into a picture.

The walk uses a stack, not recursion, so a chain of any length works. Node ids
come from a counter in the order of the walk, never from ``id()``, so the same
code gives the same graph (and the same picture) on every run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from gradlab._labels import clean, cut, grad_fn_line, saved_line, shape_of, tensor_lines, tensor_text, value_text
from gradlab._messages import bilingual
from gradlab._names import caller_names, check_names, flatten_outputs
from gradlab._saved import plain, read_saved, small_copy

__all__ = ["Edge", "Graph", "Node", "build_graph"]

#: Node kinds, in the order the legend lists them.
KINDS = ("output", "function", "accumulate", "leaf", "saved")


@dataclass
class Node:
    """One box of the graph.

    Attributes:
        id: position in the walk (0, 1, 2, ...); the same on every run.
        kind: ``"output"`` (a tensor passed to :func:`build_graph`),
            ``"function"`` (a backward function such as ``MulBackward0``),
            ``"accumulate"`` (``AccumulateGrad``, which writes a leaf's ``.grad``),
            ``"leaf"`` (a tensor created by the user with ``requires_grad=True``) or
            ``"saved"`` (a tensor or value a function saved for the backward pass).
        name: the variable name (``"w"``), the class name (``"MulBackward0"``),
            the attribute (``"_saved_self"``) or a readable fallback (``"leaf #1"``).
        label: the text drawn in the box (several lines; names as written, no
            control characters, no memory addresses).
        shape: the tensor's shape, when the node is a tensor (``None`` for a nested tensor).
        dtype: the tensor's dtype without ``torch.`` (``"float32"``).
        device: the tensor's device (``"cpu"``, ``"cuda:0"``).
        value: for an output or a leaf, the detached tensor (on its own device;
            not a copy). For a saved value: a copy of a small tensor (at most 6
            elements), or a number, string or tuple of numbers; ``None`` for
            larger tensors and other objects (their text is in ``label``), so a
            live graph does not keep a function's saved activations alive
            after ``backward()``. ``None`` for functions and freed values.
        grad: a detached ``.grad`` of a leaf, or ``None`` while backward has not run.
        freed: ``True`` for a saved tensor that ``backward()`` freed, and for a
            function whose saved tensors were freed.
        stale: ``True`` for a saved tensor that was changed in place after it
            was saved (``backward()`` will raise), and for its function.
        hooked: for a saved tensor packed by ``saved_tensors_hooks`` (e.g.
            non-reentrant ``torch.utils.checkpoint``), what unpacking would do
            (``"recomputed on backward"``); such a value is not read, since
            reading it would run the hook (or the checkpointed forward again).
        tensor_name: for a saved tensor, the variable that holds it; for a
            function, the variable whose ``grad_fn`` it is.
        obj: the output or leaf tensor, or the autograd node (not shown, not
            compared); ``None`` for a saved value.

    ``==`` compares everything but ``value``, ``grad`` and ``obj`` (the label
    shows the values).
    """

    id: int
    kind: str
    name: str
    label: str = ""
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    device: str | None = None
    value: Any = field(default=None, compare=False)
    grad: torch.Tensor | None = field(default=None, compare=False)
    freed: bool = False
    stale: bool = False
    hooked: str = ""
    tensor_name: str | None = None
    obj: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Edge:
    """An arrow from ``src`` to ``dst``, in the direction ``backward()`` walks.

    Attributes:
        src: id of the node the arrow starts at.
        dst: id of the node it points to.
        kind: ``"grad_fn"`` (output tensor → its ``grad_fn``), ``"next"``
            (function → one of its ``next_functions``), ``"variable"``
            (``AccumulateGrad`` → its leaf) or ``"saved"`` (function → a value it saved).
        index: the position in ``next_functions`` (or 0).
        grad: the gradient that flowed along this arrow during a traced
            backward (:func:`gradlab.trace_backward`), detached; ``None`` where
            nothing flowed or nothing was traced. Not compared by ``==``.
    """

    src: int
    dst: int
    kind: str
    index: int = 0
    grad: torch.Tensor | None = field(default=None, compare=False)


@dataclass(repr=False)
class Graph:
    """Nodes and edges of an autograd graph, in walk order.

    Attributes:
        nodes: every node; ``nodes[i].id == i``.
        edges: every arrow, in walk order.
        outputs: ids of the output nodes, one per tensor passed, in that order
            (a tensor passed twice is one node, listed twice).
        hidden: how many nodes of the whole graph were left out (by ``depth``
            or :meth:`subgraph`); 0 for a whole graph.
    """

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    hidden: int = 0

    def __repr__(self) -> str:
        kinds = ", ".join(f"{sum(n.kind == k for n in self.nodes)} {k}" for k in KINDS)
        more = f"; {self.hidden} more not shown" if self.hidden else ""
        return f"Graph({len(self.nodes)} nodes: {kinds}; {len(self.edges)} edges{more})"

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def find(self, name: str) -> Node:
        """The first node called ``name`` (a variable, class or attribute name).

        Raises:
            KeyError: no node has that name.
        """
        for node in self.nodes:
            if node.name in (name, clean(name)):  # a name with control characters is stored escaped
                return node
        raise KeyError(
            bilingual(
                f"图里没有名为 {name!r} 的节点。",
                f"No node is called {name!r} in this graph.",
                todo_zh="用 [n.name for n in graph.nodes] 查看所有名字。",
                todo_en="List the names with [n.name for n in graph.nodes].",
            )
        )

    def node_for(self, obj: object) -> Node | None:
        """The node of a tensor or autograd function (by identity), or None."""
        for node in self.nodes:
            if node.obj is obj and node.kind != "saved":
                return node
        if isinstance(obj, torch.Tensor) and obj.grad_fn is not None:
            return self.node_for(obj.grad_fn)
        return None

    def children(self, node_id: int, *, saved: bool = False) -> list[int]:
        """Ids that ``node_id`` points to, in order (saved values only if ``saved``)."""
        return [e.dst for e in self.edges if e.src == node_id and (saved or e.kind != "saved")]

    def path_to(self, *targets: object) -> set[int]:
        """Ids of the nodes on the paths from the outputs to ``targets``.

        This is the part of the graph that ``torch.autograd.grad(outputs, inputs=targets)``
        walks. A target is a tensor, an autograd function, a node name or a node id.
        A saved value (``"_saved_self"``) is not a box of its own: it stands for
        the function that saved it.

        Raises:
            TypeError: a target is none of these.
            ValueError: a target is not in this graph.
        """
        wanted: set[int] = set()
        for target in targets:
            if isinstance(target, int) and not isinstance(target, bool):
                node = self.nodes[target] if 0 <= target < len(self.nodes) else None
            elif isinstance(target, str):
                node = next((n for n in self.nodes if n.name in (target, clean(target))), None)
            elif isinstance(target, (torch.Tensor, torch.autograd.graph.Node)):
                node = self.node_for(target)
            else:
                raise TypeError(
                    bilingual(
                        f"路径的终点应该是张量、grad_fn、节点名或节点编号，但收到的是 {type(target).__name__}。",
                        f"A target must be a tensor, a grad_fn, a node name or a node id, not {type(target).__name__}.",
                        todo_zh="例如 graph.path_to(a)。",
                        todo_en="For example graph.path_to(a).",
                    )
                )
            if node is None:
                what = type(target).__name__
                raise ValueError(
                    bilingual(
                        f"要高亮的对象（{what}）不在这张计算图里。",
                        f"The object to highlight ({what}) is not part of this graph.",
                        todo_zh="传入图里的张量（例如叶子张量 a）、grad_fn 或节点编号。",
                        todo_en="Pass a tensor of this graph (e.g. the leaf a), a grad_fn, or a node id.",
                    )
                )
            if node.kind == "saved":  # drawn as a line inside its function's box
                node = self.nodes[next(e.src for e in self.edges if e.dst == node.id and e.kind == "saved")]
            wanted.add(node.id)
        parents: dict[int, list[int]] = {}
        for edge in self.edges:
            if edge.kind != "saved":
                parents.setdefault(edge.dst, []).append(edge.src)
        seen = set(wanted)
        stack = list(wanted)
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def within(self, depth: int) -> set[int]:
        """Ids of the nodes at most ``depth`` arrows below an output (saved values not counted).

        Example:
            >>> x = torch.ones(1, requires_grad=True)
            >>> graph = build_graph((x * 2).exp())
            >>> sorted(graph.nodes[i].name for i in graph.within(1))
            ['ExpBackward0', 'output #1']
        """
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(
                bilingual(
                    f"depth 应该是 0 或正整数，但收到的是 {depth!r}。",
                    f"depth must be 0 or a positive whole number, not {depth!r}.",
                    todo_zh="例如 depth=3 只画离输出最多 3 步的节点。",
                    todo_en="For example depth=3 draws only the nodes at most 3 steps below the outputs.",
                )
            )
        down: dict[int, list[int]] = {}
        for edge in self.edges:
            down.setdefault(edge.src, []).append(edge.dst)
        seen = set(self.outputs)
        level = list(self.outputs)
        for _ in range(depth):
            below = []
            for v in level:
                for child in down.get(v, ()):
                    if child not in seen and self.nodes[child].kind != "saved":
                        seen.add(child)
                        below.append(child)
            level = below
        return seen

    def subgraph(self, ids: Iterable[int]) -> Graph:
        """The nodes ``ids`` (and the arrows between them) as a new graph, numbered again from 0.

        A kept function keeps its saved values. ``hidden`` counts the nodes
        left out. The nodes are copies; the tensors and functions they point
        to are the same objects.

        Example:
            >>> x = torch.ones(1, requires_grad=True)
            >>> graph = build_graph((x * 2).exp())
            >>> graph.subgraph(graph.within(1))
            Graph(3 nodes: 1 output, 1 function, 0 accumulate, 0 leaf, 1 saved; 2 edges; 4 more not shown)
        """
        chosen = set(ids)
        for edge in self.edges:
            if edge.kind == "saved" and edge.src in chosen:
                chosen.add(edge.dst)
        keep = sorted(chosen)
        new_id = {old: new for new, old in enumerate(keep)}
        return Graph(
            nodes=[replace(self.nodes[old], id=new) for new, old in enumerate(keep)],
            edges=[
                replace(e, src=new_id[e.src], dst=new_id[e.dst])
                for e in self.edges
                if e.src in new_id and e.dst in new_id
            ],
            outputs=[new_id[i] for i in self.outputs if i in new_id],
            hidden=self.hidden + len(self.nodes) - len(keep),
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a block that makes many objects, then resume it (if it ran).

    Each full collection also visits the autograd graph the tensors hold, so
    with the collector on, building a graph of n nodes costs about n squared.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


# --- The walk ----------------------------------------------------------------


class _Builder:
    def __init__(self, tensor_names: dict[int, str], fn_names: dict[int, str]) -> None:
        self.graph = Graph()
        self.tensor_names = tensor_names
        self.fn_names = fn_names
        self.seen_fn: dict[int, int] = {}  # id(autograd node) -> node id; objects kept alive by Node.obj
        self.seen_leaf: dict[int, int] = {}
        self.seen_output: dict[int, int] = {}  # id(tensor) -> node id; the tensors are held by the caller
        self.fallback = {"output": 0, "leaf": 0}

    def _new(self, kind: str, name: str, **fields: Any) -> Node:
        node = Node(id=len(self.graph.nodes), kind=kind, name=name, **fields)
        self.graph.nodes.append(node)
        return node

    def _name(self, tensor: torch.Tensor, kind: str) -> str:
        name = self.tensor_names.get(id(tensor))
        if name is None:
            self.fallback[kind] += 1
            name = f"{kind} #{self.fallback[kind]}"
        return clean(name)

    def _tensor_node(self, tensor: torch.Tensor, kind: str) -> Node:
        name = self._name(tensor, kind)
        show_grad = tensor.is_leaf or tensor.retains_grad  # .grad of a non-leaf is a warning, not a value
        return self._new(
            kind,
            name,
            label="\n".join(cut(line) for line in tensor_lines(name, tensor, show_grad=show_grad)),
            shape=shape_of(tensor),
            dtype=str(tensor.dtype).removeprefix("torch."),
            device=str(tensor.device),
            value=tensor.detach(),
            grad=None if not show_grad or tensor.grad is None else tensor.grad.detach(),
            obj=tensor,
        )

    def leaf(self, tensor: torch.Tensor) -> int:
        key = id(tensor)
        if key not in self.seen_leaf:
            self.seen_leaf[key] = self._tensor_node(tensor, "leaf").id
        return self.seen_leaf[key]

    def function(self, fn: Any) -> tuple[int, bool]:
        """The node id of ``fn`` and whether it is new."""
        key = id(fn)
        if key in self.seen_fn:
            return self.seen_fn[key], False
        graph = self.graph
        variable = getattr(fn, "variable", None)
        if isinstance(variable, torch.Tensor):  # AccumulateGrad
            node = self._new("accumulate", "AccumulateGrad", label="AccumulateGrad", obj=fn)
            self.seen_fn[key] = node.id
            graph.edges.append(Edge(node.id, self.leaf(variable), "variable"))
            return node.id, True
        name = clean(type(fn).__name__)
        tensor_name = self.fn_names.get(key)
        node = self._new("function", name, tensor_name=None if tensor_name is None else clean(tensor_name), obj=fn)
        self.seen_fn[key] = node.id
        lines = [name] + ([grad_fn_line(node.tensor_name)] if node.tensor_name else [])
        for attribute, value, state in read_saved(fn):
            saved = self._new("saved", attribute, freed=state == "freed", stale=state == "stale")
            if state not in ("", "freed", "stale"):
                saved.hooked = state
            self._fill_saved(saved, value, node)
            saved.label = saved_line(saved)  # made now, from the value, which the graph then need not keep
            lines.append(saved.label)
            node.freed = node.freed or saved.freed
            node.stale = node.stale or saved.stale
            graph.edges.append(Edge(node.id, saved.id, "saved"))
        node.label = "\n".join(cut(line) for line in lines)
        return node.id, True

    def _fill_saved(self, saved: Node, value: Any, function: Node) -> None:
        if isinstance(value, torch.Tensor):
            saved.shape = shape_of(value)
            saved.dtype = str(value.dtype).removeprefix("torch.")
            saved.device = str(value.device)
            saved.tensor_name = self.tensor_names.get(id(value))
            if saved.tensor_name is None and saved.name == "_saved_result":  # the function's own output
                saved.tensor_name = function.tensor_name
            elif saved.tensor_name is not None:
                saved.tensor_name = clean(saved.tensor_name)
            saved.label = cut(
                f"{saved.name} = {saved.tensor_name + ' ' if saved.tensor_name else ''}{tensor_text(value)}"
            )
            saved.value = small_copy(value)
        elif value is not None:
            saved.label = cut(f"{saved.name} = {value_text(value, saved.name)}")
            saved.value = value if plain(value) else None

    def walk(self, outputs: list[torch.Tensor]) -> Graph:
        graph = self.graph
        for tensor in outputs:
            if tensor.grad_fn is None:  # a leaf passed as output: a single node
                graph.outputs.append(self.leaf(tensor))
                continue
            if id(tensor) in self.seen_output:  # the same tensor passed twice: one box
                graph.outputs.append(self.seen_output[id(tensor)])
                continue
            out = self._tensor_node(tensor, "output")
            self.seen_output[id(tensor)] = out.id
            graph.outputs.append(out.id)
            root, new = self.function(tensor.grad_fn)
            graph.edges.append(Edge(out.id, root, "grad_fn"))
            if not new:
                continue
            # Iterative depth-first walk; children are numbered in next_functions order.
            # next_functions builds a new tuple on every access: read it once per function.
            stack: list[tuple[tuple[Any, ...], int, int]] = [(tensor.grad_fn.next_functions, root, 0)]
            while stack:
                nexts, fn_id, start = stack.pop()
                for index in range(start, len(nexts)):
                    child = nexts[index][0]
                    if child is None:
                        continue
                    child_id, new = self.function(child)
                    graph.edges.append(Edge(fn_id, child_id, "next", index))
                    if new:
                        stack.append((nexts, fn_id, index + 1))  # come back for the remaining inputs
                        stack.append((child.next_functions, child_id, 0))
                        break
        return graph


def build_graph(
    *outputs: torch.Tensor, names: dict[str, torch.Tensor] | None = None, depth: int | None = None
) -> Graph:
    """The autograd graph behind ``outputs``, as plain data.

    Walks ``grad_fn.next_functions`` from each output (iteratively, so any
    depth works) and records: the output tensors, every backward function,
    each ``AccumulateGrad`` and the leaf tensor behind it, and the values each
    function saved for the backward pass (``_saved_self``, ``_saved_result``,
    ...). A part shared by several outputs appears once. After a
    ``backward()`` without ``retain_graph=True`` the saved tensors are gone:
    their nodes have ``freed=True``.

    Names come from ``names`` first, then from the caller's variables (the
    innermost frame wins; names starting with ``_`` are skipped; a module ``m``
    names its parameters ``m.0.weight``, a list ``params`` its tensors
    ``params[0]``, a dict ``d`` its tensors ``d["w"]``), then a fallback
    (``"leaf #1"``). A tensor passed twice is one box.

    Args:
        *outputs: the tensor(s) whose graph to build, e.g. the loss. A list or
            tuple of tensors is accepted too.
        names: optional ``{"w": w, ...}`` to name tensors explicitly.
        depth: keep only the nodes at most ``depth`` arrows below an output
            (see :meth:`Graph.within`); ``hidden`` counts the rest. ``None``: all.

    Returns:
        A :class:`Graph`.

    Raises:
        TypeError: no tensor was given, an argument is not a tensor, or ``names`` is not ``{str: tensor}``.
        ValueError: a tensor has no graph (``requires_grad=False`` and no ``grad_fn``), or a bad ``depth``.

    Example:
        >>> import torch, torch.nn.functional as F
        >>> x = torch.ones(1)
        >>> w = torch.full([1], 2.).requires_grad_()
        >>> mse = F.mse_loss(torch.ones(1), x * w)
        >>> graph = build_graph(mse)
        >>> for node in graph.nodes:
        ...     print(node.id, node.kind, node.name)
        0 output mse
        1 function MseLossBackward0
        2 saved _saved_reduction
        3 saved _saved_self
        4 saved _saved_target
        5 function MulBackward0
        6 saved _saved_self
        7 accumulate AccumulateGrad
        8 leaf w
        >>> print(graph.find("w").label)
        w
        (1,) float32
        值 / value [2.]
        梯度还没算出 / grad: not computed yet
        >>> mse.backward()
        >>> [n.name for n in build_graph(mse).nodes if n.freed]
        ['MseLossBackward0', '_saved_self', '_saved_target', 'MulBackward0', '_saved_self']
    """
    tensors = flatten_outputs(outputs)
    explicit = check_names(names)
    keep: list[object] = []  # holds grad_fn objects while their id() is a key
    auto_tensors, fn_names = caller_names(keep)
    tensor_names = {**auto_tensors, **explicit}
    for name, tensor in reversed((names or {}).items()):  # an explicit name also names that tensor's grad_fn
        if tensor.grad_fn is not None:
            keep.append(tensor.grad_fn)
            fn_names[id(keep[-1])] = name
    with gc_paused():
        graph = _Builder(tensor_names, fn_names).walk(tensors)
    return graph if depth is None else graph.subgraph(graph.within(depth))
