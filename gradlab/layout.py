"""Where each box and arrow of an autograd graph goes (Sugiyama style), with no painting.

:func:`layout_graph` turns a :class:`gradlab.Graph` into a :class:`Layout`:
boxes with their text lines and positions, and routes (polylines) for the
arrows. The painters in :mod:`gradlab.render` only read it. Every step is
deterministic, so the same graph gives the same layout on every run.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from gradlab._labels import grad_fn_line, saved_line
from gradlab._messages import bilingual
from gradlab._svg import text_width
from gradlab.graph import Graph, Node, gc_paused

__all__ = [
    "LINE",
    "MARGIN",
    "PAD_X",
    "PAD_Y",
    "READABLE",
    "SIZE",
    "Box",
    "Layout",
    "Route",
    "box_lines",
    "layout_graph",
    "pav",
    "warn_if_unreadable",
]

SIZE = 12.0  # font size (px in SVG, pt in matplotlib: the same drawing)
LINE = 15.0  # line height
PAD_X, PAD_Y = 8.0, 5.0
_H_GAP, _V_GAP = 22.0, 34.0  # between boxes in a layer; between layers
_DUMMY_GAP = 10.0  # between a long edge passing through a layer and its neighbours
MARGIN = 12.0
_SWEEPS = 4
_MULTI_START = 5000  # layered points; larger graphs get one ordering start (time)
_BUNDLE = 3  # long arrows into one box from this many boxes share one trunk (shared weights)
READABLE = 2000  # boxes; beyond this, draw() warns and suggests drawing less


@dataclass
class Box:
    node: Node
    lines: list[tuple[str, str]]  # (text, role): role is title, text, saved or freed
    w: float
    h: float
    x: float = 0.0  # centre
    y: float = 0.0  # top
    highlighted: bool = False


@dataclass
class Route:
    points: list[tuple[float, float]]
    highlighted: bool
    count: int
    arrow: bool = True  # False: the route joins a shared arrow (no arrowhead at its end)


@dataclass
class Layout:
    boxes: list[Box]
    routes: list[Route]
    width: float
    height: float


def box_lines(node: Node, graph: Graph, show_saved: bool, *, saved: list[Node] | None = None) -> list[tuple[str, str]]:
    """The (text, role) lines of ``node``'s box; ``saved``: its saved values, if already looked up."""
    label = node.label.split("\n")
    if node.kind != "function":
        return [(label[0], "title")] + [(line, "text") for line in label[1:]]
    lines = [(node.name, "title")]
    if node.tensor_name:
        lines.append((grad_fn_line(node.tensor_name), "text"))
    if show_saved:
        if saved is None:
            saved = [graph.nodes[child] for child in graph.children(node.id, saved=True)]
        for value in saved:
            if value.kind == "saved":
                lines.append((saved_line(value), "freed" if value.freed or value.stale else "saved"))
    return lines


def pav(targets: list[float], gaps: list[float], weights: list[float]) -> list[float]:
    """Positions closest (weighted least squares) to ``targets`` with ``x[i] - x[i-1] >= gaps[i]``.

    Pool-adjacent-violators on ``targets[i] - offset[i]``; linear time.
    """
    offsets = []
    total = 0.0
    for gap in gaps:
        total += gap
        offsets.append(total)
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for target, offset, weight in zip(targets, offsets, weights, strict=True):
        blocks.append([weight, weight * (target - offset), 1])
        while len(blocks) > 1 and blocks[-2][1] * blocks[-1][0] > blocks[-1][1] * blocks[-2][0]:
            w, s, c = blocks.pop()
            blocks[-1][0] += w
            blocks[-1][1] += s
            blocks[-1][2] += c
    result = []
    for w, s, c in blocks:
        result.extend([s / w] * int(c))
    return [y + offset for y, offset in zip(result, offsets, strict=True)]


def _boxes(graph: Graph, show_saved: bool, highlighted: set[int]) -> list[Box]:
    """One box per node that is not a saved value, in walk order, sized to its text."""
    saved: dict[int, list[Node]] = {}
    if show_saved:
        for edge in graph.edges:
            if edge.kind == "saved":
                saved.setdefault(edge.src, []).append(graph.nodes[edge.dst])
    boxes = []
    for node in graph.nodes:
        if node.kind == "saved":
            continue
        lines = box_lines(node, graph, show_saved, saved=saved.get(node.id, []))
        w = max(text_width(text, SIZE) for text, _ in lines) + 2 * PAD_X
        boxes.append(Box(node, lines, w, len(lines) * LINE + 2 * PAD_Y, highlighted=node.id in highlighted))
    return boxes


def _edge_counts(graph: Graph, boxes: list[Box]) -> dict[tuple[int, int], int]:
    """Arrows between boxes (box indices), duplicates counted (``x * x`` uses ``x`` twice)."""
    index = {box.node.id: i for i, box in enumerate(boxes)}
    counts: dict[tuple[int, int], int] = {}
    for edge in graph.edges:
        if edge.kind != "saved":
            pair = (index[edge.src], index[edge.dst])
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def _layers(n: int, counts: dict[tuple[int, int], int]) -> list[int]:
    """Longest-path layering (Kahn's order): outputs on top, each box below all that point to it."""
    down: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in counts:
        down[a].append(b)
        indegree[b] += 1
    layer = [0] * n
    ready = [i for i in range(n) if indegree[i] == 0]
    head = 0
    while head < len(ready):
        a = ready[head]
        head += 1
        for b in down[a]:
            layer[b] = max(layer[b], layer[a] + 1)
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    return layer


@dataclass
class _Grid:
    """The layered graph: boxes ``0..n-1``, then one dummy point per layer a long arrow crosses."""

    n: int
    layer: list[int]
    width: list[float]
    height: list[float]
    up: list[list[int]] = field(default_factory=list)  # neighbours one layer up
    down: list[list[int]] = field(default_factory=list)  # neighbours one layer down
    chains: list[tuple[list[int], int, bool]] = field(default_factory=list)  # (vertices, count, arrowhead)

    def dummy(self, level: int) -> int:
        self.layer.append(level)
        self.width.append(0.0)
        self.height.append(0.0)
        self.up.append([])
        self.down.append([])
        return len(self.layer) - 1

    def link(self, chain: list[int], count: int, arrow: bool = True) -> None:
        for u, v in itertools.pairwise(chain):
            self.down[u].append(v)
            self.up[v].append(u)
        self.chains.append((chain, count, arrow))


def _grid(boxes: list[Box], counts: dict[tuple[int, int], int], layer: list[int]) -> _Grid:
    """Boxes and arrows, long arrows split into dummy points, one per layer crossed.

    When long arrows from ``_BUNDLE`` or more boxes go into one box (a weight
    shared by every step of a loop), they join one trunk of dummy points, so
    the points grow with the layers, not with layers times uses.
    """
    n = len(boxes)
    grid = _Grid(
        n, list(layer), [b.w for b in boxes], [b.h for b in boxes], [[] for _ in range(n)], [[] for _ in range(n)]
    )
    sources: dict[int, list[int]] = {}
    for a, b in counts:
        if layer[b] - layer[a] > 1:
            sources.setdefault(b, []).append(a)
    trunks: dict[int, dict[int, int]] = {}  # target -> layer -> dummy point
    for (a, b), count in counts.items():
        if len(sources.get(b, ())) < _BUNDLE or layer[b] - layer[a] <= 1:
            chain = [a] + [grid.dummy(level) for level in range(layer[a] + 1, layer[b])] + [b]
            grid.link(chain, count)
            continue
        if b not in trunks:
            top = min(layer[s] for s in sources[b]) + 1
            trunks[b] = {level: grid.dummy(level) for level in range(top, layer[b])}
            total = sum(counts[s, b] for s in sources[b])
            grid.link([*trunks[b].values(), b], total)
        grid.link([a, trunks[b][layer[a] + 1]], count, arrow=False)
    return grid


def _initial_rows(grid: _Grid, boxes: list[Box], *, by_target: bool = False) -> list[list[int]]:
    """Each layer in walk order (node ids); a dummy point right after the box its arrow starts at,
    or, ``by_target``, right before the box its arrow ends at."""
    total = len(grid.layer)
    key = [float(boxes[i].node.id) if i < grid.n else 0.0 for i in range(total)]
    for chain, _, _ in grid.chains:
        if by_target:
            for v in chain[1:-1]:
                key[v] = key[chain[-1]] - 0.5
        elif chain[0] < grid.n:
            for v in chain[1:]:
                if v >= grid.n:
                    key[v] = key[chain[0]] + 0.5
    if not by_target:
        for chain, _, _ in grid.chains:  # a trunk: right after the first box that joins it
            if chain[0] >= grid.n:
                for v in chain[1:-1]:
                    key[v] = key[chain[0]]
    rows: list[list[int]] = [[] for _ in range(max(grid.layer) + 1 if grid.layer else 0)]
    for v in sorted(range(total), key=lambda v: (key[v], v)):
        rows[grid.layer[v]].append(v)
    return rows


def crossings(rows: list[list[int]], down: list[list[int]]) -> int:
    """How many pairs of arrows cross between neighbouring rows (arrows join neighbouring rows only).

    Counts inversions with a Fenwick tree: O(E log V) per pair of rows.

    Example:
        >>> crossings([[0, 1], [2, 3]], [[3], [2], [], []])  # 0->3 and 1->2 cross once
        1
    """
    total = 0
    pos: dict[int, int] = {}
    for row, below in itertools.pairwise(rows):
        if len(row) < 2 or len(below) < 2:
            continue  # one box above or below: nothing can cross
        for i, v in enumerate(below):
            pos[v] = i + 1
        size = len(below)
        tree = [0] * (size + 1)
        seen = 0
        for v in row:
            for p in sorted(pos[w] for w in down[v]):
                i, not_after = p, 0
                while i > 0:  # arrows already placed that end at or left of p
                    not_after += tree[i]
                    i -= i & -i
                total += seen - not_after
                seen += 1
                i = p
                while i <= size:
                    tree[i] += 1
                    i += i & -i
    return total


def _sweeps(grid: _Grid, rows: list[list[int]]) -> Iterator[list[list[int]]]:
    """Barycenter sweeps, down then up: yields the rows (reordered in place) after each half sweep."""
    depth = len(rows)
    pos = [0] * len(grid.layer)
    for row in rows:
        for i, v in enumerate(row):
            pos[v] = i
    for _ in range(_SWEEPS):
        for neighbours, order in ((grid.up, range(1, depth)), (grid.down, range(depth - 2, -1, -1))):
            for level in order:
                row = rows[level]
                bary = {}
                for v in row:
                    nb = neighbours[v]
                    bary[v] = sum(pos[u] for u in nb) / len(nb) if nb else float(pos[v])
                row.sort(key=lambda v: (bary[v], pos[v]))
                for i, v in enumerate(row):
                    pos[v] = i
            yield rows


def _best_sweep(grid: _Grid, rows: list[list[int]]) -> tuple[list[list[int]], int]:
    """The order with the fewest crossings among ``rows`` and every half sweep from it (the latest on a tie)."""
    best = [row[:] for row in rows]
    fewest = crossings(rows, grid.down)
    for current in _sweeps(grid, rows):
        count = crossings(current, grid.down)
        if count <= fewest:
            best, fewest = [row[:] for row in current], count
    return best, fewest


def _order(grid: _Grid, boxes: list[Box]) -> list[list[int]]:
    """Rows ordered to untangle the arrows: barycenter sweeps from up to four starts (walk order,
    mirrored, long arrows by their target, mirrored), the fewest crossings kept (the first on a tie),
    then neighbours swapped wherever that removes crossings. Beyond ``_MULTI_START`` points, one start."""
    best, fewest = _best_sweep(grid, _initial_rows(grid, boxes))
    if fewest and len(grid.layer) <= _MULTI_START:
        for by_target, mirror in ((False, True), (True, False), (True, True)):
            rows = _initial_rows(grid, boxes, by_target=by_target)
            order, count = _best_sweep(grid, [row[::-1] for row in rows] if mirror else rows)
            if count < fewest:
                best, fewest = order, count
    if fewest:
        _transpose(grid, best)
    return best


def _pair_crossings(left: list[int], right: list[int]) -> int:
    """Crossings between the arrows of two neighbours, ``left`` placed first (their ends' positions)."""
    return sum(a > b for a in left for b in right)


def _transpose(grid: _Grid, rows: list[list[int]], passes: int = 8) -> None:
    """Swap neighbours in a row while that strictly lowers the crossings with the rows above and below."""
    pos = [0] * len(grid.layer)
    for row in rows:
        for i, v in enumerate(row):
            pos[v] = i
    for _ in range(passes):
        improved = False
        for row in rows:
            for i in range(len(row) - 1):
                u, v = row[i], row[i + 1]
                up_u, up_v = [pos[w] for w in grid.up[u]], [pos[w] for w in grid.up[v]]
                dn_u, dn_v = [pos[w] for w in grid.down[u]], [pos[w] for w in grid.down[v]]
                kept = _pair_crossings(up_u, up_v) + _pair_crossings(dn_u, dn_v)
                swapped = _pair_crossings(up_v, up_u) + _pair_crossings(dn_v, dn_u)
                if swapped < kept:
                    row[i], row[i + 1] = v, u
                    pos[u], pos[v] = i + 1, i
                    improved = True
        if not improved:
            return


def _x_positions(grid: _Grid, rows: list[list[int]]) -> list[float]:
    """Box centres: pulled towards their neighbours (least squares), kept apart, long arrows straight."""
    width = grid.width
    dummy = [v >= grid.n for v in range(len(grid.layer))]
    x = [0.0] * len(grid.layer)
    gaps_by_row = []
    for row in rows:
        gaps = [0.0]
        for a, b in itertools.pairwise(row):
            gap = _DUMMY_GAP if dummy[a] or dummy[b] else _H_GAP
            gaps.append((width[a] + width[b]) / 2 + gap)
        gaps_by_row.append(gaps)
        placed = pav([0.0] * len(row), gaps, [1.0] * len(row))
        for v, value in zip(row, placed, strict=True):
            x[v] = value
    weights = [4.0 if d else 1.0 for d in dummy]
    depth = len(rows)
    for _ in range(_SWEEPS * 2):
        for neighbours, order in ((grid.up, range(1, depth)), (grid.down, range(depth - 2, -1, -1))):
            for level in order:
                row = rows[level]
                if len(row) == 1:  # alone in its row: right under (or over) its neighbours
                    nb = neighbours[row[0]]
                    if nb:
                        x[row[0]] = sum(x[u] for u in nb) / len(nb)
                    continue
                targets = []
                for v in row:
                    nb = neighbours[v]
                    targets.append(sum(x[u] for u in nb) / len(nb) if nb else x[v])
                placed = pav(targets, gaps_by_row[level], [weights[v] for v in row])
                for v, value in zip(row, placed, strict=True):
                    x[v] = value
    left = min((x[v] - width[v] / 2 for v in range(len(x))), default=0.0)
    shift = MARGIN - left
    return [value + shift for value in x]


def _y_positions(grid: _Grid, rows: list[list[int]]) -> tuple[list[float], list[float], float]:
    """Tops of the boxes (centred in their row), the middle of each row, and the graph's height."""
    y = [0.0] * len(grid.layer)
    top = MARGIN
    row_mid = []
    for row in rows:
        row_h = max((grid.height[v] for v in row), default=0.0)
        for v in row:
            y[v] = top + (row_h - grid.height[v]) / 2
        row_mid.append(top + row_h / 2)
        top += row_h + _V_GAP
    return y, row_mid, top - _V_GAP + MARGIN


def _routes(grid: _Grid, boxes: list[Box], x: list[float], y: list[float], row_mid: list[float]) -> list[Route]:
    """One polyline per arrow: from the bottom of its box, through its dummy points, to the top of the next.

    A trunk (see :func:`_grid`) is one polyline from its first dummy point to
    its box, highlighted from the highest highlighted branch down; each branch
    ends on the trunk without an arrowhead.
    """

    def point(v: int, start: bool) -> tuple[float, float]:
        if v >= grid.n:
            return x[v], row_mid[grid.layer[v]]
        return x[v], y[v] + (grid.height[v] if start else 0.0)

    def box_below(v: int) -> int:  # the box a trunk point leads to
        while v >= grid.n:
            v = grid.down[v][0]
        return v

    hot_from: dict[int, int] = {}  # trunk's box -> highest layer where a highlighted branch joins
    routes = []
    for chain, count, arrow in grid.chains:
        a, b = chain[0], chain[-1]
        points = [point(a, True)] + [point(v, True) for v in chain[1:-1]] + [point(b, False)]
        if a < grid.n:
            hot = boxes[a].highlighted and boxes[box_below(b)].highlighted
            routes.append(Route(points, hot, count, arrow))
            if hot and not arrow:
                target = box_below(b)
                hot_from[target] = min(hot_from.get(target, grid.layer[b]), grid.layer[b])
    for chain, count, _ in grid.chains:
        if chain[0] < grid.n:
            continue
        b = chain[-1]
        points = [point(v, True) for v in chain[:-1]] + [point(b, False)]
        split = next((i for i, v in enumerate(chain) if grid.layer[v] >= hot_from.get(b, grid.layer[b])), len(chain))
        if split > 0 and split < len(chain) - 1:
            routes.append(Route(points[: split + 1], False, count, arrow=False))
        routes.append(Route(points[split:] if split < len(chain) - 1 else points, split < len(chain) - 1, count))
    return routes


def layout_graph(graph: Graph, show_saved: bool, highlighted: set[int]) -> Layout:
    """Boxes and arrow routes of ``graph``: layering, ordering, positions, routes (the legend is the painter's)."""
    with gc_paused():
        boxes = _boxes(graph, show_saved, highlighted)
        counts = _edge_counts(graph, boxes)
        grid = _grid(boxes, counts, _layers(len(boxes), counts))
        rows = _order(grid, boxes)
        x = _x_positions(grid, rows)
        y, row_mid, height = _y_positions(grid, rows)
        width = max((x[v] + grid.width[v] / 2 for v in range(len(x))), default=0.0) + MARGIN
        for i, box in enumerate(boxes):
            box.x, box.y = x[i], y[i]
        return Layout(boxes, _routes(grid, boxes, x, y, row_mid), width, height)


def warn_if_unreadable(graph: Graph) -> None:
    """Warn (once per call) when ``graph`` has more boxes than a person can read, and say how to draw less."""
    boxes = sum(node.kind != "saved" for node in graph.nodes)
    if boxes > READABLE:
        warnings.warn(
            bilingual(
                f"这张图有 {boxes} 个框，多到看不清（超过 {READABLE} 个），画出来也会很慢。",
                f"This graph has {boxes} boxes, more than anyone can read (over {READABLE}); drawing it is slow too.",
                todo_zh="只画一部分：draw(loss, depth=5) 只画离输出最多 5 步的节点；"
                "draw(loss, only=[w]) 只画从输出到 w 的路径；show_saved=False 让框更小。",
                todo_en="Draw less: draw(loss, depth=5) keeps the nodes at most 5 steps below the outputs; "
                "draw(loss, only=[w]) keeps the paths from the outputs to w; show_saved=False makes the boxes smaller.",
            ),
            stacklevel=3,
        )
