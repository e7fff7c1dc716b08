"""Every figure in ``src_images/``, rebuilt from code: ``python tools/figures.py src_images``.

``make images`` runs this; it is a tool that writes repository files, so it
lives in ``tools/``, outside the package. ``tests/test_figures.py`` rebuilds the figures into
a temporary folder and checks that the committed files are byte-identical, so
a figure can never drift from the code that draws it.

The numbers written on the figures are computed with PyTorch here, not typed in.
Figures carry no Chinese text (no CJK font is guaranteed on every machine);
the notebooks explain them in Chinese and English.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

import gradlab
from gradlab._format import plain

__all__ = ["FIGURES", "build_all", "gradient_api", "mse_explorer", "mse_graph"]


def _seed_numbers() -> dict[str, float | str]:
    """The seed's MSE example, computed: x = 1, w = 2, target 1."""
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    pred = x * w
    pred.retain_grad()
    mse = F.mse_loss(torch.ones(1), pred)
    (dmse_dpred,) = gradlab.grad(mse, [pred], retain_graph=True)
    (dmse_dw,) = gradlab.grad(mse, [w])
    return {
        "x": x.item(),
        "w": w.item(),
        "pred": pred.item(),
        "mse": mse.item(),
        "dmse_dpred": dmse_dpred.item(),
        "dpred_dw": x.item(),
        "dmse_dw": dmse_dw.item(),
        "grad_repr": repr((dmse_dw,)),
        "w_grad_repr": repr(dmse_dw),
    }


def gradient_api(path: Path) -> None:
    """The figure the seed calls ``gradient_API.png``.

    The graph of ``mse = (1 - x*w)^2`` drawn left to right (forward, black),
    with the gradient flowing back from ``mse`` to ``w`` (red) and the chain
    rule worked out under it, for the seed's values x = 1, w = 2.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    n = _seed_numbers()
    fig = Figure(figsize=(10, 5.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.2)
    ax.axis("off")

    def box(cx: float, cy: float, text: str, face: str, edge: str, width: float = 1.7) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (cx - width / 2, cy - 0.38),
                width,
                0.76,
                boxstyle="round,pad=0.04,rounding_size=0.12",
                facecolor=face,
                edgecolor=edge,
                linewidth=1.6,
            )
        )
        ax.text(cx, cy, text, ha="center", va="center", fontsize=11, family="DejaVu Sans")

    def arrow(start: tuple[float, float], end: tuple[float, float], color: str, rad: float = 0.0) -> None:
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=16,
                color=color,
                linewidth=1.8,
                connectionstyle=f"arc3,rad={rad}",
            )
        )

    blue, blue_edge = "#dbeafe", "#2563eb"
    grey, grey_edge = "#f3f4f6", "#6b7280"
    green, green_edge = "#dcfce7", "#16a34a"
    red = "#dc2626"

    ax.text(
        5,
        4.85,
        "Forward: build the graph      Backward: the gradient flows back to w",
        ha="center",
        fontsize=13,
        weight="bold",
        family="DejaVu Sans",
    )
    # forward row
    box(0.95, 3.75, f"x = {plain(n['x'])}", grey, grey_edge, 1.4)
    box(0.95, 2.55, f"w = {plain(n['w'])}\nrequires_grad=True", blue, blue_edge, 1.75)
    box(3.35, 3.15, f"pred = x * w = {plain(n['pred'])}", grey, grey_edge, 2.1)
    box(6.15, 3.15, "mse_loss(1, pred)", grey, grey_edge, 2.0)
    box(8.75, 3.15, f"mse = {plain(n['mse'])}", green, green_edge, 1.6)
    arrow((1.65, 3.7), (2.3, 3.3), "black")
    arrow((1.85, 2.65), (2.3, 3.0), "black")
    arrow((4.4, 3.15), (5.15, 3.15), "black")
    arrow((7.15, 3.15), (7.95, 3.15), "black")
    # backward arrows under the boxes
    arrow((8.75, 2.75), (6.4, 2.75), red, rad=-0.25)
    arrow((5.9, 2.75), (3.6, 2.75), red, rad=-0.25)
    arrow((3.1, 2.75), (1.9, 2.3), red, rad=-0.2)
    ax.text(7.55, 2.2, r"$\partial mse/\partial mse = 1$", color=red, ha="center", fontsize=11)
    ax.text(
        4.75,
        2.2,
        rf"$\partial mse/\partial pred = 2(pred-1) = {plain(n['dmse_dpred'])}$",
        color=red,
        ha="center",
        fontsize=11,
    )
    ax.text(
        2.55, 1.75, rf"$\partial pred/\partial w = x = {plain(n['dpred_dw'])}$", color=red, ha="center", fontsize=11
    )
    # the derivation
    ax.text(
        5,
        0.95,
        rf"$\frac{{\partial\, mse}}{{\partial w}} = \frac{{\partial\, mse}}{{\partial\, pred}}\cdot"
        rf"\frac{{\partial\, pred}}{{\partial w}} = 2\,(x w - 1)\cdot x = 2\,({plain(n['x'])}\cdot{plain(n['w'])}-1)"
        rf"\cdot {plain(n['x'])} = {plain(n['dmse_dw'])}$",
        ha="center",
        fontsize=15,
    )
    ax.text(
        5,
        0.3,
        f"torch.autograd.grad(mse, [w])  ->  {n['grad_repr']}        mse.backward();  w.grad  ->  {n['w_grad_repr']}",
        ha="center",
        fontsize=11,
        family="DejaVu Sans Mono",
        color="#111827",
    )
    fig.savefig(path, metadata={"Software": None})


def mse_graph(path: Path) -> None:
    """The seed's MSE graph drawn by ``gradlab.draw`` after ``backward()``: values, ``.grad``, freed buffers."""
    x = torch.ones(1)
    w = torch.full([1], 2.0).requires_grad_()
    mse = F.mse_loss(torch.ones(1), x * w)
    mse.backward()
    gradlab.draw(mse, names={"x": x, "w": w, "mse": mse}).save(path)


def mse_explorer(path: Path) -> None:
    """The static picture of ``mse_explorer()`` in its initial state (what GitHub shows for the widget)."""
    from gradlab.widgets import mse_explorer as explorer

    path.write_text(explorer(x=1.0, w=2.0, target=1.0).static_svg(), encoding="utf-8")


FIGURES: dict[str, Callable[[Path], None]] = {
    "gradient_API.png": gradient_api,
    "mse_graph.svg": mse_graph,
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
