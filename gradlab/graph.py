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
import inspect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from gradlab._format import short
from gradlab._messages import bilingual

__all__ = ["Edge", "Graph", "Node", "build_graph"]

#: Node kinds, in the order the legend lists them.
KINDS = ("output", "function", "accumulate", "leaf", "saved")

_SMALL = 6  # tensors with at most this many elements are shown whole
_MAX_LINE = 60  # characters; longer label lines are cut with "..."
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
_OUR_FILES = frozenset(__file__.removesuffix("graph.py") + f for f in ("graph.py", "render.py"))


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
        label: the text drawn in the box (ASCII, several lines).
        shape: the tensor's shape, when the node is a tensor.
        dtype: the tensor's dtype without ``torch.`` (``"float32"``).
        device: the tensor's device (``"cpu"``, ``"cuda:0"``).
        value: a detached tensor (on its own device; not a copy) or a plain value;
            ``None`` for functions and for freed saved tensors.
        grad: a detached ``.grad`` of a leaf, or ``None`` while backward has not run.
        freed: ``True`` for a saved tensor that ``backward()`` freed, and for a
            function whose saved tensors were freed.
        stale: ``True`` for a saved tensor that was changed in place after it
            was saved (``backward()`` will raise), and for its function.
        tensor_name: for a saved tensor, the variable that holds it; for a
            function, the variable whose ``grad_fn`` it is.
        obj: the underlying tensor or autograd node (not shown, not compared).

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
    """

    src: int
    dst: int
    kind: str
    index: int = 0


@dataclass(repr=False)
class Graph:
    """Nodes and edges of an autograd graph, in walk order.

    Attributes:
        nodes: every node; ``nodes[i].id == i``.
        edges: every arrow, in walk order.
        outputs: ids of the output nodes, in the order they were passed.
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
            if node.name == name:
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

        Raises:
            TypeError: a target is none of these.
            ValueError: a target is not in this graph.
        """
        wanted: set[int] = set()
        for target in targets:
            if isinstance(target, int) and not isinstance(target, bool):
                node = self.nodes[target] if 0 <= target < len(self.nodes) else None
            elif isinstance(target, str):
                node = next((n for n in self.nodes if n.name == target), None)
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


# --- Labels ------------------------------------------------------------------


def _nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return short(values)


def _shape_text(tensor: torch.Tensor) -> str:
    dtype = str(tensor.dtype).removeprefix("torch.")
    shape = (
        "scalar"
        if tensor.dim() == 0
        else "(" + ", ".join(map(str, tensor.shape)) + ("," if tensor.dim() == 1 else "") + ")"
    )
    device = "" if tensor.device.type == "cpu" else f" {tensor.device}"
    return f"{shape} {dtype}{device}"


def tensor_text(tensor: torch.Tensor) -> str:
    """A short text for a tensor's values: whole when small, a summary when large.

    Values are moved to the CPU for the text only.

    Example:
        >>> tensor_text(torch.tensor([2.0, 0.25]))
        '[2., 0.25]'
        >>> tensor_text(torch.arange(10.0))
        'mean=4.5 min=0. max=9.'
    """
    data = tensor.detach()
    if data.numel() == 0:
        return "[]"
    if data.numel() <= _SMALL:
        return _nested(data.cpu().tolist())
    if data.is_complex():
        return f"mean={short(complex(data.mean().item()))} |max|={short(data.abs().max().item())}"
    if data.is_floating_point():
        low, high = torch.aminmax(data)
        return f"mean={short(data.mean().item())} min={short(low.item())} max={short(high.item())}"
    low, high = torch.aminmax(data.to(torch.int64) if data.dtype == torch.bool else data)
    return f"min={short(low.item())} max={short(high.item())}"


def _value_text(value: Any, attribute: str = "") -> str:
    if isinstance(value, torch.Tensor):
        return tensor_text(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return f"{len(value)} tensors"
    if attribute.endswith("reduction") and isinstance(value, int) and value in _REDUCTIONS:
        return f"{value} ({_REDUCTIONS[value]})"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**63:
        value -= 2**64  # PyTorch hands back dim=-1 as an unsigned 64-bit number
    if isinstance(value, (bool, int, float, complex)):
        return short(value)
    return str(value)


def _cut(line: str) -> str:
    line = line.encode("ascii", "backslashreplace").decode("ascii") if not line.isascii() else line
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def _tensor_lines(name: str, tensor: torch.Tensor, *, show_grad: bool) -> list[str]:
    lines = [name, _shape_text(tensor), f"value {tensor_text(tensor)}"]
    if show_grad:
        held = tensor.grad
        lines.append("grad: not computed yet" if held is None else f"grad {tensor_text(held)}")
    return lines


def saved_line(node: Node) -> str:
    """The line a saved value adds to its function's box, e.g. ``_saved_self = x [1.]``."""
    if node.freed:
        return f"{node.name} = (freed by backward)"
    if node.stale:
        return f"{node.name} = (changed in place: backward fails)"
    named = f"{node.tensor_name} " if node.tensor_name else ""
    return _cut(f"{node.name} = {named}{_value_text(node.value, node.name)}")


# --- Names -------------------------------------------------------------------


def _caller_names(keep: list[object]) -> tuple[dict[int, str], dict[int, str]]:
    """Variable names of tensors (by ``id``) and of their grad_fns, innermost frame first.

    Only used inside one call, while the frames (and ``keep``, which holds the
    grad_fn objects) keep the objects alive, so the ``id`` keys cannot be
    reused. Names starting with ``_`` are skipped.
    """
    tensors: dict[int, str] = {}
    functions: dict[int, str] = {}
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename in _OUR_FILES:
        frame = frame.f_back
    try:
        while frame is not None:
            for var, value in list(frame.f_locals.items()):
                if not isinstance(var, str) or var.startswith("_"):
                    continue
                if isinstance(value, torch.Tensor):
                    tensors.setdefault(id(value), var)
                    fn = value.grad_fn
                    if fn is not None:
                        keep.append(fn)
                        functions.setdefault(id(fn), var)
                elif isinstance(value, torch.nn.Module):
                    for pname, param in value.named_parameters():
                        tensors.setdefault(id(param), f"{var}.{pname}")
            frame = frame.f_back
    finally:
        del frame
    return tensors, functions


# --- Arguments ---------------------------------------------------------------


def _flatten_outputs(outputs: tuple[object, ...]) -> list[torch.Tensor]:
    items: list[object] = []
    for item in outputs:
        if isinstance(item, (list, tuple)):
            items.extend(item)
        else:
            items.append(item)
    if not items:
        raise TypeError(
            bilingual(
                "没有传入要画的张量。",
                "No tensor was given, so there is no graph to build.",
                todo_zh="传入输出张量，例如 gradlab.draw(mse) 或 gradlab.build_graph(loss)。",
                todo_en="Pass the output tensor, e.g. gradlab.draw(mse) or gradlab.build_graph(loss).",
            )
        )
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"第 {i} 个参数应该是张量，但收到的是 {type(item).__name__}。",
                    f"Argument {i} must be a tensor, not {type(item).__name__}.",
                    todo_zh="传入 PyTorch 张量（例如损失 mse）；数字请先用 torch.tensor(...) 变成张量。",
                    todo_en="Pass PyTorch tensors (e.g. the loss mse); turn numbers into tensors with torch.tensor(...) first.",
                )
            )
        if item.grad_fn is None and not item.requires_grad:
            raise ValueError(
                bilingual(
                    f"第 {i} 个张量没有计算图：它不需要梯度（requires_grad=False），也没有 grad_fn，没有东西可画。",
                    f"Tensor {i} has no graph: it does not require grad (requires_grad=False) and has no grad_fn, "
                    "so there is nothing to draw.",
                    todo_zh="是不是忘了 requires_grad_()？在计算之前对参数调用 w.requires_grad_()，然后重新计算，再画图。"
                    "（在 torch.no_grad() 里算出的张量也没有计算图。）",
                    todo_en="Did you forget requires_grad_()? Call w.requires_grad_() on the parameter BEFORE the "
                    "computation, recompute, then draw again. (Tensors computed inside torch.no_grad() have no graph either.)",
                )
            )
    return items  # type: ignore[return-value]


def _check_names(names: object) -> dict[int, str]:
    if names is None:
        return {}
    if not isinstance(names, dict):
        raise TypeError(
            bilingual(
                f"names 应该是字典 {{名字: 张量}}，但收到的是 {type(names).__name__}。",
                f"names must be a dict {{name: tensor}}, not {type(names).__name__}.",
                todo_zh='例如 names={"w": w, "x": x}。',
                todo_en='For example names={"w": w, "x": x}.',
            )
        )
    by_id: dict[int, str] = {}
    for key, value in names.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise TypeError(
                bilingual(
                    f"names 的每一项都应该是 名字(str): 张量，但 {key!r} 对应的是 {type(value).__name__}。",
                    f"Each entry of names must be name (str): tensor, but {key!r} maps to {type(value).__name__}.",
                    todo_zh='例如 names={"w": w}。',
                    todo_en='For example names={"w": w}.',
                )
            )
        by_id.setdefault(id(value), key)
    return by_id


# --- The walk ----------------------------------------------------------------

_saved_names_cache: dict[type, tuple[str, ...]] = {}


def _saved_attributes(fn: object) -> tuple[str, ...]:
    kind = type(fn)
    names = _saved_names_cache.get(kind)
    if names is None:
        names = tuple(n for n in dir(fn) if n.startswith("_saved_"))
        _saved_names_cache[kind] = names
    return names


def _read_saved(fn: object) -> Iterable[tuple[str, Any, str]]:
    """(attribute, value, state) for each value ``fn`` saved; state is "", "freed" or "stale".

    None values (nothing was saved) are left out.
    """
    for attribute in _saved_attributes(fn):
        try:
            value = getattr(fn, attribute)
        except RuntimeError as error:
            text = str(error)
            if "freed" in text or "second time" in text:
                yield attribute, None, "freed"
            elif "inplace" in text:
                yield attribute, None, "stale"
            continue
        if value is not None:
            yield attribute, value, ""
    if isinstance(fn, torch.autograd.function.BackwardCFunction):  # a custom autograd.Function
        try:
            saved = fn.saved_tensors
        except RuntimeError as error:
            yield "saved_tensors", None, "stale" if "inplace" in str(error) else "freed"
        else:
            for i, tensor in enumerate(saved):
                if tensor is not None:
                    yield f"saved_tensors[{i}]", tensor, ""
        for attribute, value in vars(fn).items():
            if not attribute.startswith("_"):
                yield f"ctx.{attribute}", value, ""


class _Builder:
    def __init__(self, tensor_names: dict[int, str], fn_names: dict[int, str]) -> None:
        self.graph = Graph()
        self.tensor_names = tensor_names
        self.fn_names = fn_names
        self.seen_fn: dict[int, int] = {}  # id(autograd node) -> node id; objects kept alive by Node.obj
        self.seen_leaf: dict[int, int] = {}
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
        return name

    def _tensor_node(self, tensor: torch.Tensor, kind: str) -> Node:
        name = self._name(tensor, kind)
        show_grad = tensor.is_leaf or tensor.retains_grad  # .grad of a non-leaf is a warning, not a value
        return self._new(
            kind,
            name,
            label="\n".join(_cut(line) for line in _tensor_lines(name, tensor, show_grad=show_grad)),
            shape=tuple(tensor.shape),
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
        name = type(fn).__name__
        node = self._new("function", name, tensor_name=self.fn_names.get(key), obj=fn)
        self.seen_fn[key] = node.id
        lines = [name] + ([f"grad_fn of {node.tensor_name}"] if node.tensor_name else [])
        for attribute, value, state in _read_saved(fn):
            saved = self._new("saved", attribute, freed=state == "freed", stale=state == "stale")
            if isinstance(value, torch.Tensor):
                saved.shape = tuple(value.shape)
                saved.dtype = str(value.dtype).removeprefix("torch.")
                saved.device = str(value.device)
                saved.value = value.detach()
                saved.tensor_name = self.tensor_names.get(id(value))
                if saved.tensor_name is None and attribute == "_saved_result":  # the function's own output
                    saved.tensor_name = node.tensor_name
                saved.obj = value
            else:
                saved.value = value
            saved.label = saved_line(saved)
            lines.append(saved.label)
            node.freed = node.freed or saved.freed
            node.stale = node.stale or saved.stale
            graph.edges.append(Edge(node.id, saved.id, "saved"))
        node.label = "\n".join(_cut(line) for line in lines)
        return node.id, True

    def walk(self, outputs: list[torch.Tensor]) -> Graph:
        graph = self.graph
        for tensor in outputs:
            if tensor.grad_fn is None:  # a leaf passed as output: a single node
                graph.outputs.append(self.leaf(tensor))
                continue
            out = self._tensor_node(tensor, "output")
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
    names its parameters ``m.0.weight``), then a fallback (``"leaf #1"``).

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
        value [2.]
        grad: not computed yet
        >>> mse.backward()
        >>> [n.name for n in build_graph(mse).nodes if n.freed]
        ['MseLossBackward0', '_saved_self', '_saved_target', 'MulBackward0', '_saved_self']
    """
    tensors = _flatten_outputs(outputs)
    explicit = _check_names(names)
    keep: list[object] = []  # holds grad_fn objects while their id() is a key
    auto_tensors, fn_names = _caller_names(keep)
    tensor_names = {**auto_tensors, **explicit}
    for name, tensor in reversed((names or {}).items()):  # an explicit name also names that tensor's grad_fn
        if tensor.grad_fn is not None:
            keep.append(tensor.grad_fn)
            fn_names[id(keep[-1])] = name
    with gc_paused():
        graph = _Builder(tensor_names, fn_names).walk(tensors)
    return graph if depth is None else graph.subgraph(graph.within(depth))
