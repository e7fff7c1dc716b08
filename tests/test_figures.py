"""The committed figures are exactly what the code draws now (``make images``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC_IMAGES = ROOT / "src_images"


figures = _tool.load("figures")
FIGURES = figures.FIGURES


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The figures drawn by the command ``make images`` runs, into a temporary folder."""
    folder = tmp_path_factory.mktemp("figures")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "figures.py"), str(folder)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [str(folder / name) for name in FIGURES]
    return folder


def test_make_images_runs_the_tool():
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nimages:")[1].splitlines()[1]
    assert recipe.strip() == "$(PY) tools/figures.py src_images"
    assert not (ROOT / "gradlab" / "figures.py").exists()  # a tool that writes repository files is not shipped


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_committed_figure_is_up_to_date(rebuilt: Path, name: str):
    committed = SRC_IMAGES / name
    assert committed.exists(), f"{committed} is missing: run `make images`"
    assert committed.read_bytes() == (rebuilt / name).read_bytes(), f"{name} is stale: run `make images` and commit"


def test_every_image_in_src_images_is_built_by_code():
    committed = {p.name for p in SRC_IMAGES.iterdir() if p.suffix in {".png", ".svg", ".jpg", ".gif"}}
    assert committed <= set(FIGURES), f"images with no code that draws them: {committed - set(FIGURES)}"


def test_figures_carry_chinese_and_english():
    from gradlab._paint import MplPainter

    for name in ("mse_graph.svg", "mse_backward.svg"):
        text = (SRC_IMAGES / name).read_text(encoding="utf-8")
        assert "箭头：backward() 走的路 / arrow: the way backward() walks" in text, name
    painter = MplPainter(720, 374)
    figures._gradient_api_picture(painter, figures._seed_numbers())
    texts = [a.get_text() for a in painter.artists if type(a).__name__ == "Text"]
    assert "链式法则 / chain rule" in texts
    assert any(t.startswith("前向建图") and "Forward builds the graph" in t for t in texts)


def test_gradient_api_is_one_description_for_both_painters():
    from test_paint import _assert_same_picture

    from gradlab._paint import MplPainter
    from gradlab._svg import Svg

    numbers = figures._seed_numbers()
    svg, mpl = Svg(720, 374.4), MplPainter(720, 374.4)
    figures._gradient_api_picture(svg, numbers)
    figures._gradient_api_picture(mpl, numbers)
    _assert_same_picture(svg, mpl)
    texts = [a.get_text() for a in mpl.artists if type(a).__name__ == "Text"]
    assert "∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − 1)·x = 2(1·2 − 1)·1 = 2" in texts  # computed, not typed
    assert f"w = {numbers.w:g}" in texts and numbers.dmse_dw == 2.0


def test_mse_backward_is_the_seeds_trace_at_step_2():
    from html import unescape

    svg = unescape((SRC_IMAGES / "mse_backward.svg").read_text(encoding="utf-8"))
    assert "2. × x = 2. → w" in svg  # the chain rule in numbers, beside MulBackward0
    assert 'class="node function current" data-id="5"' in svg
    assert "grad: not computed yet" in svg  # AccumulateGrad has not run yet: w.grad is still empty


def test_gradient_api_backward_numbers_come_from_a_trace(monkeypatch):
    """Change what the trace says and the figure's backward half changes with it: nothing is typed in."""
    import gradlab

    real = gradlab.trace_backward

    def doubled(*args, **kwargs):
        trace = real(*args, **kwargs)
        trace.grad_outputs = tuple(2 * g for g in trace.grad_outputs)
        return trace

    monkeypatch.setattr(gradlab, "trace_backward", doubled)
    assert figures._seed_numbers().dmse_dmse == 2.0
