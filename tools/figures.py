"""Every figure in ``src_images/``, rebuilt from code: ``python tools/figures.py src_images``.

``make images`` runs this; it is a tool that writes repository files, so it
lives in ``tools/``, outside the package. ``tests/test_figures.py`` rebuilds the figures into
a temporary folder and checks that the committed files are byte-identical, so
a figure can never drift from the code that draws it.

The numbers written on the figures are computed with PyTorch here, not typed in.
Figures carry Chinese and English ("中文 / English"); ``gradient_API.png`` is painted
with the CJK font CI installs (fonts-wqy-microhei), so the committed PNG is reproducible.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

import gradlab
from gradlab._format import plain
from gradlab._paint import MplPainter, Painter
from gradlab._svg import Point, Svg, fmt, text_width

__all__ = [
    "FIGURES",
    "badge_binder",
    "badge_colab",
    "build_all",
    "gradient_api",
    "mse_backward",
    "mse_explorer",
    "mse_graph",
]


@dataclass(frozen=True)
class _Seed:
    """The seed's MSE example, computed: x = 1, w = 2, target 1; the gradients read off a backward trace."""

    x: float
    w: float
    pred: float
    mse: float
    dmse_dmse: float
    dmse_dpred: float
    dpred_dw: float
    dmse_dw: float
    grad_repr: str
    w_grad_repr: str


def _seed_numbers() -> _Seed:
    """The forward values, and the backward half from ``gradlab.trace_backward``: what arrived at
    ``MulBackward0`` (∂mse/∂pred), its local derivative (∂pred/∂w) and what it sent to ``w``."""
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    pred = x * w
    mse = F.mse_loss(torch.ones(1), pred)
    grad_call = gradlab.trace_backward(mse, inputs=[w], retain_graph=True)  # torch.autograd.grad(mse, [w])
    trace = gradlab.trace_backward(mse)  # mse.backward()
    (mul,) = (s.index for s in trace.steps if s.name == "MulBackward0")
    (rule,) = trace.chain_rule(mul)
    assert rule.local is not None and w.grad is not None and grad_call.grads is not None
    return _Seed(
        x.item(), w.item(), pred.item(), mse.item(), trace.grad_outputs[0].item(), rule.upstream, rule.local,
        rule.downstream, repr(grad_call.grads), repr(w.grad),
    )  # fmt: skip


# gradient_API is laid out on a 10 x 5.2 grid (y up), 72 painter units per grid unit.
_W, _H, _UNIT = 10.0, 5.2, 72.0
_HEAD_LENGTH, _HEAD_WIDTH, _SHRINK = 8.0, 7.0, 2.0  # arrowheads, painter units


def _xy(x: float, y: float) -> Point:
    return x * _UNIT, (_H - y) * _UNIT


def _box(p: Painter, cx: float, cy: float, lines: list[str], face: str, edge: str, width: float) -> None:
    """A rounded box of ``width`` grid units centred on ``(cx, cy)``, its lines centred in it."""
    left, top = _xy(cx - width / 2 - 0.04, cy + 0.42)
    p.rect(left, top, (width + 0.08) * _UNIT, 0.84 * _UNIT, rx=0.12 * _UNIT, fill=face, stroke=edge, stroke_width=1.6)
    x, y = _xy(cx, cy)
    for k, line in enumerate(lines):
        baseline = y + (k - (len(lines) - 1) / 2) * 1.25 * 11 + 0.35 * 11
        p.text(x, baseline, line, size=11, anchor="middle", fill="#111827")


def _arrow(p: Painter, start: Point, end: Point, color: str, rad: float = 0.0) -> None:
    """An arrow from ``start`` to ``end`` (grid units), bent like matplotlib's ``arc3,rad=rad``."""
    (x0, y0), (x2, y2) = _xy(*start), _xy(*end)
    qx, qy = (x0 + x2) / 2 - rad * (y2 - y0), (y0 + y2) / 2 + rad * (x2 - x0)  # y down: the bend flips sign
    ux, uy = x2 - qx, y2 - qy
    norm = math.hypot(ux, uy)
    ux, uy = ux / norm, uy / norm
    tip = (x2 - _SHRINK * ux, y2 - _SHRINK * uy)
    base = (tip[0] - _HEAD_LENGTH * ux, tip[1] - _HEAD_LENGTH * uy)
    vx, vy = x0 - qx, y0 - qy
    norm = math.hypot(vx, vy)
    first = (x0 - _SHRINK * vx / norm, y0 - _SHRINK * vy / norm)
    control = (
        (first[0] + 2 * (qx - first[0]) / 3, first[1] + 2 * (qy - first[1]) / 3),
        (base[0] + 2 * (qx - base[0]) / 3, base[1] + 2 * (qy - base[1]) / 3),
    )
    p.bezier(first, [(control[0], control[1], base)], fill="none", stroke=color, stroke_width=1.8)
    half = _HEAD_WIDTH / 2
    p.polygon([(base[0] - half * uy, base[1] + half * ux), tip, (base[0] + half * uy, base[1] - half * ux)], fill=color)


def _gradient_api_picture(p: Painter, n: _Seed) -> None:
    """The graph of ``mse = (1 - x*w)^2`` forward (black), the gradient flowing back (red), the chain rule."""
    blue, blue_edge = "#dbeafe", "#2563eb"
    grey, grey_edge = "#f3f4f6", "#6b7280"
    green, green_edge = "#dcfce7", "#16a34a"
    red, ink = "#dc2626", "#111827"
    p.rect(0, 0, _W * _UNIT, _H * _UNIT, fill="white")
    title = "前向建图，梯度反向流回 w / Forward builds the graph, the gradient flows back to w"
    p.text(*_xy(5, 4.85), title, size=13, anchor="middle", fill=ink)
    _box(p, 0.95, 3.75, [f"x = {plain(n.x)}"], grey, grey_edge, 1.4)
    _box(p, 0.95, 2.55, [f"w = {plain(n.w)}", "requires_grad=True"], blue, blue_edge, 1.75)
    _box(p, 3.35, 3.15, [f"pred = x * w = {plain(n.pred)}"], grey, grey_edge, 2.3)
    _box(p, 6.15, 3.15, ["mse_loss(1, pred)"], grey, grey_edge, 2.0)
    _box(p, 8.75, 3.15, [f"mse = {plain(n.mse)}"], green, green_edge, 1.6)
    for start, end in (((1.65, 3.7), (2.2, 3.3)), ((1.85, 2.65), (2.2, 3.0)), ((4.5, 3.15), (5.15, 3.15))):
        _arrow(p, start, end, "black")
    _arrow(p, (7.15, 3.15), (7.95, 3.15), "black")
    _arrow(p, (8.75, 2.73), (6.4, 2.73), red, rad=-0.25)  # the gradient flows back, under the boxes
    _arrow(p, (5.9, 2.73), (3.6, 2.73), red, rad=-0.25)
    _arrow(p, (3.1, 2.73), (1.9, 2.3), red, rad=-0.2)
    p.text(*_xy(7.55, 2.2), f"∂mse/∂mse = {plain(n.dmse_dmse)}", size=11, anchor="middle", fill=red)
    p.text(*_xy(4.75, 2.2), f"∂mse/∂pred = 2(pred − 1) = {plain(n.dmse_dpred)}", size=11, anchor="middle", fill=red)
    p.text(*_xy(2.55, 1.75), f"∂pred/∂w = x = {plain(n.dpred_dw)}", size=11, anchor="middle", fill=red)
    chain = (
        f"∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − 1)·x = 2({plain(n.x)}·{plain(n.w)} − 1)·{plain(n.x)}"
        f" = {plain(n.dmse_dw)}"
    )
    p.text(*_xy(5, 1.35), "链式法则 / chain rule", size=11, anchor="middle", fill=ink)
    p.text(*_xy(5, 0.95), chain, size=14, anchor="middle", fill=ink)
    api = f"torch.autograd.grad(mse, [w])  ->  {n.grad_repr}      mse.backward();  w.grad  ->  {n.w_grad_repr}"
    p.text(*_xy(5, 0.3), api, size=11, anchor="middle", fill=ink)


def gradient_api(path: Path) -> None:
    """The figure the seed calls ``gradient_API.png``, for the seed's values x = 1, w = 2.

    Described once through the painter interface (so it could be an SVG too),
    painted by matplotlib at 110 dpi: 1100 x 572 px.
    """
    painter = MplPainter(_W * _UNIT, _H * _UNIT)
    _gradient_api_picture(painter, _seed_numbers())
    painter.save(path, "png", dpi=110)


def mse_graph(path: Path) -> None:
    """The seed's MSE graph drawn by ``gradlab.draw`` after ``backward()``: values, ``.grad``, freed buffers."""
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    mse.backward()
    gradlab.draw(mse, names={"x": x, "w": w, "mse": mse}).save(path)


def mse_backward(path: Path) -> None:
    """The seed's backward pass after 2 of its 3 steps, drawn by ``gradlab.draw(trace, step=2)``:
    ``MulBackward0`` runs, its note reads the chain rule in numbers, 2 × x = 2 into ``w``."""
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    trace = gradlab.trace_backward(mse)
    gradlab.draw(trace, step=2).save(path)


def mse_explorer(path: Path) -> None:
    """The static picture of ``mse_explorer()`` in its initial state (what GitHub shows for the widget)."""
    from gradlab.widgets import mse_explorer as explorer

    path.write_text(explorer(x=1.0, w=2.0, target=1.0).static_svg(), encoding="utf-8")


def _badge(path: Path, left: str, right: str, color: str) -> None:
    """A two-part badge, grey then ``color``, white words: the Colab and Binder links' pictures.

    Drawn here rather than loaded from colab.research.google.com or mybinder.org, so a page
    that shows it needs no network (JupyterLab offline, the book site, its browser test).
    """
    size, pad, height = 11, 6, 20
    a, b = text_width(left, size) + 2 * pad, text_width(right, size) + 2 * pad
    s = Svg(a + b, height)
    s.rect(0, 0, a + b, height, rx=3, fill="#555")
    s.path(f"M{fmt(a)} 0h{fmt(b - 3)}a3 3 0 0 1 3 3v14a3 3 0 0 1-3 3h-{fmt(b - 3)}z", fill=color)
    s.text(a / 2, 14, left, size=size, anchor="middle", fill="#fff")
    s.text(a + b / 2, 14, right, size=size, anchor="middle", fill="#fff")
    path.write_text(str(s), encoding="utf-8")


def badge_colab(path: Path) -> None:
    """The "open in Colab" badge of the README and each notebook (tools/colab_binder.py writes the links)."""
    _badge(path, "Colab", "打开 / Open", "#c26100")


def badge_binder(path: Path) -> None:
    """The "launch Binder" badge of the README and each notebook (tools/colab_binder.py writes the links)."""
    _badge(path, "Binder", "启动 / Launch", "#33689a")


FIGURES: dict[str, Callable[[Path], None]] = {
    "badge_binder.svg": badge_binder,
    "badge_colab.svg": badge_colab,
    "gradient_API.png": gradient_api,
    "mse_graph.svg": mse_graph,
    "mse_backward.svg": mse_backward,
    "mse_explorer.svg": mse_explorer,
}


def build_all(folder: Path) -> list[Path]:
    """Draw every figure into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        draw(folder / name)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for written_path in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "src_images")):
        print(written_path)
