"""The painter interface: one description, painted as SVG text or as a matplotlib figure, the same shapes."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import matplotlib.colors as mcolors
import pytest
import torch
import torch.nn.functional as F

import gradlab
from gradlab import _paint
from gradlab._paint import MplPainter, _parse_path, english
from gradlab._style import EXPLORER, HIDDEN, LEGEND, NODE, NOTE
from gradlab._svg import Svg

_ELEMENT = re.compile(r"<(rect|path|line|circle|polyline|text)\b([^>]*?)/?>(?:([^<]*)</text>)?")
_KINDS = {
    "Rectangle": "rect",
    "FancyBboxPatch": "rect",
    "PathPatch": "path",
    "Line2D": "line",
    "Circle": "circle",
    "Text": "text",
}


def _svg_shapes(svg: str) -> list[dict[str, str]]:
    shapes = []
    body = re.sub(r"<clipPath .*?</clipPath>", "", svg.split("\n", 1)[1])  # a clip's rect is not painted
    for kind, attrs, text in _ELEMENT.findall(body):
        shape = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        shape["kind"] = "line" if kind == "polyline" else kind
        if kind == "text":
            shape["text"] = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        shapes.append(shape)
    return shapes


def _color(value: str | None, default: str) -> str:
    value = default if value is None else value
    return "none" if value == "none" else mcolors.to_hex(value)


def _mpl_color(rgba) -> str:
    return "none" if mcolors.to_rgba(rgba)[3] == 0 else mcolors.to_hex(rgba)


def _assert_same_picture(svg: Svg, mpl: MplPainter) -> None:
    shapes = _svg_shapes(str(svg))
    assert [s["kind"] for s in shapes] == [_KINDS[type(a).__name__] for a in mpl.artists]
    assert [a.get_zorder() for a in mpl.artists] == sorted(a.get_zorder() for a in mpl.artists)  # SVG's order
    for shape, artist in zip(shapes, mpl.artists, strict=True):
        kind = shape["kind"]
        if kind == "text":  # without a CJK font, matplotlib paints the English of "中文 / English"
            assert artist.get_text() == (shape["text"] if _paint.cjk_font() else english(shape["text"]))
            assert artist.get_position() == pytest.approx((float(shape["x"]), float(shape["y"])), abs=0.006)
            assert mcolors.to_hex(artist.get_color()) == _color(shape.get("fill"), "black")
            assert artist.get_fontsize() == float(shape["font-size"])
            assert (artist.get_weight() == "bold") == (shape.get("font-weight") == "bold")
        elif kind == "line":
            assert mcolors.to_hex(artist.get_color()) == _color(shape.get("stroke"), "none")
            assert artist.get_linewidth() == float(shape.get("stroke-width", 1))
        else:
            assert _mpl_color(artist.get_facecolor()) == _color(shape.get("fill"), "black")
            stroke = _color(shape.get("stroke"), "none")
            assert _mpl_color(artist.get_edgecolor()) == stroke
            if stroke != "none":
                assert artist.get_linewidth() == float(shape.get("stroke-width", 1))
                assert (artist.get_linestyle() not in ("-", "solid")) == ("stroke-dasharray" in shape)
        if kind == "rect":
            box = (artist.get_x(), artist.get_y(), artist.get_width(), artist.get_height())
            assert box == pytest.approx([float(shape[k]) for k in ("x", "y", "width", "height")], abs=0.006)
            assert (type(artist).__name__ == "FancyBboxPatch") == ("rx" in shape)


def _graphs() -> dict[str, gradlab.GraphView]:
    a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)
    p = F.softmax(a, dim=0)
    loss = p[1] * p[1]  # one arrow marked x2
    loss.backward()  # freed buffers: red text, dashed borders
    w = torch.full([1], 2.0, requires_grad=True)
    b = torch.tensor([1.0, 2.0], requires_grad=True)
    c = b * 2
    d = c.sin()
    c.add_(1)  # changed in place after saving
    return {
        "freed, highlighted, x2": gradlab.draw(loss, highlight=[a]),
        "saved values": gradlab.draw(F.mse_loss(torch.ones(1), torch.ones(1) * w)),
        "stale": gradlab.draw(d.sum()),
        "no legend": gradlab.draw(d.sum(), show_saved=False, legend=False),
    }


@pytest.mark.parametrize("name", ["freed, highlighted, x2", "saved values", "stale", "no legend"])
def test_graph_painted_by_matplotlib_has_the_svg_shapes(name):
    view = _graphs()[name]
    _assert_same_picture(view._paint(Svg), view._paint(MplPainter))


def test_explorer_style_shapes_paint_the_same():
    def describe(p):
        p.rect(0, 0, 120, 80, fill="white", stroke="#444", stroke_width=1)
        p.line(10, 70, 110, 70, stroke="#eee")
        p.polyline([(10, 60), (50, 20), (110, 40)], stroke="#2563eb", stroke_width=2)
        p.circle(50, 20, 4, fill="#d81b60")
        p.rect(20, 30, 10, 20, rx=2, fill="#dcfce7", stroke="#16a34a", stroke_dasharray="5 3")
        p.polygon([(0, 0), (4, 0), (2, 3)], fill="#666666")
        p.bezier((0, 0), [((0, 5), (10, 5), (10, 10))], fill="none", stroke="#666666", stroke_width=1.2)
        p.path("M1,1 L5,5 Z", fill="#222")
        p.text(60, 75, "w = 2 <x>", size=11, anchor="middle", font_weight="bold")
        p.open_group(class_="g")
        p.title("a tooltip")
        p.close_group()

    svg, mpl = Svg(120, 80), MplPainter(120, 80)
    describe(svg)
    describe(mpl)
    _assert_same_picture(svg, mpl)
    assert mpl.artists[-1].get_horizontalalignment() == "center"


def test_svg_polygon_and_bezier_parse_back_to_their_points():
    svg = Svg(10, 10)
    svg.polygon([(0, 0), (4.5, 0), (2, 3.25)])
    svg.bezier((0, 1), [((0, 5), (10, 5), (10, 10)), ((10, 12), (3, 12), (3, 14))])
    first, second = re.findall(r'd="([^"]*)"', str(svg))
    assert first == "M0,0 L4.5,0 L2,3.25 Z"
    assert _parse_path(first) == ([(0, 0), (4.5, 0), (2, 3.25), (0, 0)], [1, 2, 2, 79])
    vertices, codes = _parse_path(second)
    assert vertices == [(0, 1), (0, 5), (10, 5), (10, 10), (10, 12), (3, 12), (3, 14)]
    assert codes == [1] + [4] * 6


def test_matplotlib_painter_refuses_what_it_cannot_paint():
    painter = MplPainter(10, 10)
    with pytest.raises(TypeError, match="filter") as info:
        painter.rect(0, 0, 5, 5, filter="blur")
    assert "不认识" in str(info.value)
    with pytest.raises(ValueError, match="does not know: A"):
        painter.path("M0,0 A 1 1 0 0 1 5 5")
    painter.text(1, 1, "$x$ costs $2")  # SVG shows dollars as written; so does matplotlib
    assert painter.artists[-1].get_text() == "$x$ costs $2"


def test_png_pixels_of_the_graph_match_the_svg_layout(tmp_path):
    """The saved PNG is the painted figure: same size as the SVG canvas (72 units per inch, 2x at dpi 144)."""
    view = _graphs()["saved values"]
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', view.to_svg()).groups())
    import matplotlib.image as mimage

    pixels = mimage.imread(view.save(tmp_path / "g.png", dpi=144))
    assert abs(pixels.shape[0] - height * 2) <= 1 and abs(pixels.shape[1] - width * 2) <= 1


#: Every word gradlab draws into a picture: the graph's legend and box words, a trace's notes, the explorers' labels.
WORDS = [*LEGEND.values(), HIDDEN, *NODE.values(), *NOTE.values(), *EXPLORER.values()]


@pytest.mark.parametrize("words", WORDS)
def test_every_picture_word_is_chinese_first_then_english(words):
    first = words.split("\n")[0]
    zh, sep, en = first.partition(" / ")
    assert sep and any(ord(ch) > 0x2E80 for ch in zh) and re.search("[A-Za-z]{2,}", en), words
    assert not any(ord(ch) > 0x2E80 for ch in en), words
    assert english(first) == en  # without a CJK font the picture shows exactly the English


def test_english_keeps_the_english_of_each_bilingual_piece():
    assert english("w = (已被 backward/grad 释放 / freed by backward/grad)") == "w = (freed by backward/grad)"
    assert english("a.grad = 2. (之前没有 / it had none)") == "a.grad = 2. (it had none)"
    assert english("J[i, j] = dp_i / da_j") == "J[i, j] = dp_i / da_j"  # no Chinese: kept as it is
    assert english("损失") == "损失"  # a name, not a bilingual piece: kept


def _freed_chinese_graph() -> gradlab.GraphView:
    w = torch.tensor([2.0], requires_grad=True)
    损失 = (w * w).sum()
    损失.backward()
    return gradlab.draw(损失)


def _texts(painter: MplPainter) -> list[str]:
    return [a.get_text() for a in painter.artists if type(a).__name__ == "Text"]


def test_png_uses_a_cjk_font_when_one_is_found(tmp_path):
    if _paint.cjk_font() is None:
        pytest.skip("no CJK font installed (CI installs fonts-wqy-microhei)")
    view = _freed_chinese_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph missing" warning, no fallback notice
        painter = view._paint(MplPainter)
        view.save(tmp_path / "g.png")
    texts = _texts(painter)
    assert "损失" in texts and LEGEND["arrow"] in texts
    assert "_saved_self = (已被 backward/grad 释放 / freed by backward/grad)" in texts
    families = {a.get_text(): a.get_fontfamily() for a in painter.artists if type(a).__name__ == "Text"}
    assert families["损失"] == ["DejaVu Sans Mono", _paint.cjk_font()]  # Latin from DejaVu, Chinese from the CJK font
    assert families["MulBackward0"] == ["DejaVu Sans Mono"]


@pytest.mark.filterwarnings("ignore:Glyph .* missing")  # the name 损失 itself has no English
def test_png_without_a_cjk_font_falls_back_to_english_with_a_notice(tmp_path, monkeypatch):
    import matplotlib.image as mimage

    view = _freed_chinese_graph()
    with_font = mimage.imread(view.save(tmp_path / "cjk.png"))
    monkeypatch.setattr(_paint, "cjk_font", lambda: None)
    with pytest.warns(UserWarning, match=r"^没有找到中文字体.* / No CJK font found") as caught:
        painter = view._paint(MplPainter)
    assert len([w for w in caught if "CJK" in str(w.message)]) == 1  # one notice per picture
    assert "\n" not in str(caught[0].message)  # one line
    texts = _texts(painter)
    assert "arrow: the way backward() walks" in texts and LEGEND["arrow"] not in texts
    assert "_saved_self = (freed by backward/grad)" in texts
    assert not any(" / " in t and any(ord(ch) > 0x2E80 for ch in t) for t in texts)
    with pytest.warns(UserWarning, match="No CJK font found"):
        english_only = mimage.imread(view.save(tmp_path / "en.png"))
    assert english_only.shape != with_font.shape or (english_only != with_font).any()


def _string_constants(path: Path) -> list[str]:
    """String literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


_PACKAGE = Path(gradlab.__file__).parent
_MODULES = sorted(p.name for p in _PACKAGE.glob("*.py") if p.name != "_style.py")


def test_legend_words_live_in_style():
    constants = _string_constants(_PACKAGE / "_style.py")
    for words in WORDS:
        assert words in constants


@pytest.mark.parametrize("module", _MODULES)
def test_no_other_module_writes_legend_words(module):
    """The legend's, the trace notes' and the explorers' words are written once, in _style."""
    constants = _string_constants(_PACKAGE / module)
    for words in WORDS:
        first = words.split("\n")[0]  # a second line may be plain code, e.g. retain_graph=True
        # As a whole piece: "值 / value" is not in "3 个值 / values" (autograd.py's count of values).
        piece = re.compile(f"(?<![\\w\u2e80-\u9fff]){re.escape(first)}(?!\\w)")
        assert not any(piece.search(constant) for constant in constants), first


def _explorer_picture(name: str) -> tuple:
    """An explorer's drawing function, its numbers and its size."""
    from gradlab import _explorer_math as em
    from gradlab import _explorer_pictures as ep

    return {
        "mse": (ep.draw_mse, em.mse_numbers(3.0, 2.0, 1.0), ep.MSE_SIZE),
        "softmax": (ep.draw_softmax, em.softmax_numbers([0.7728, 0.4713, 0.9653], 1), ep.softmax_size(3)),
        "descent": (ep.draw_descent, em.descent_numbers(1.0, -1.0, 1.0, 0.9, 10), ep.DESCENT_SIZE),
    }[name]


#: The words each explorer's picture shows (gradlab._style.EXPLORER).
EXPLORER_WORDS = {
    "mse": [EXPLORER["w"], EXPLORER["loss"], EXPLORER["slope"]],
    "softmax": [EXPLORER["p"], EXPLORER["jacobian"], EXPLORER["row"].format(i=1)],
    "descent": [EXPLORER["w"], EXPLORER["loss"], EXPLORER["step"], EXPLORER["grads"]],
}


@pytest.mark.parametrize("name", ["mse", "softmax", "descent"])
def test_explorer_pictures_painted_by_matplotlib_are_bilingual_with_a_cjk_font(name):
    if _paint.cjk_font() is None:
        pytest.skip("no CJK font installed (CI installs fonts-wqy-microhei)")
    draw, numbers, size = _explorer_picture(name)
    painter = MplPainter(*size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Glyph missing" warning, no fallback notice
        draw(painter, numbers)
        painter.figure.canvas.draw()  # glyphs are looked up when the text is drawn
    texts = " | ".join(_texts(painter))
    assert all(words in texts for words in EXPLORER_WORDS[name]), texts


@pytest.mark.parametrize("name", ["mse", "softmax", "descent"])
def test_explorer_pictures_without_a_cjk_font_are_english_with_a_notice(name, monkeypatch):
    monkeypatch.setattr(_paint, "cjk_font", lambda: None)
    draw, numbers, size = _explorer_picture(name)
    painter = MplPainter(*size)
    with pytest.warns(UserWarning, match=r"^没有找到中文字体.* / No CJK font found") as caught:
        draw(painter, numbers)
    assert len(caught) == 1  # one notice per picture
    texts = _texts(painter)
    assert not any(ord(ch) > 0x2E80 for text in texts for ch in text), texts
    joined = " | ".join(texts)
    assert all(words.partition(" / ")[2] in joined for words in EXPLORER_WORDS[name]), joined


@pytest.mark.parametrize("name", ["mse", "softmax", "descent"])
def test_explorer_pictures_paint_the_same_with_matplotlib(name):
    """The explorers' pictures are described once; matplotlib paints the SVG's shapes, clipped alike."""
    draw, numbers, size = _explorer_picture(name)
    svg, mpl = Svg(*size), MplPainter(*size)
    draw(svg, numbers)
    draw(mpl, numbers)
    _assert_same_picture(svg, mpl)
    if name != "softmax":  # the loss curves are clipped to the frame, in both painters
        assert "clipPath" in str(svg)
        frame = mpl.axes.bbox.bounds  # matplotlib turns a Rectangle clip into a clip box
        assert any(a.get_clip_box() is not None and a.get_clip_box().bounds != frame for a in mpl.artists)
