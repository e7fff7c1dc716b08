"""One drawing, two painters: SVG text (:class:`gradlab._svg.Svg`) or a matplotlib figure.

A picture is described once, as calls on a :class:`Painter` (``rect``,
``line``, ``text``, ...), in SVG's coordinates: units are px, ``y`` grows
downwards. :class:`Svg` writes the calls as SVG elements; :class:`MplPainter`
adds the same shapes to a matplotlib figure (72 units per inch), which saves
PNG and PDF. Styles are SVG's attribute names (``fill``, ``stroke``,
``stroke_width``, ``stroke_dasharray``, ``rx``, ``font_weight``, ``opacity``)
with SVG's defaults (a shape is filled black and not stroked unless told).

Groups, tooltips (``title``) and ``class_``/``data_*`` attributes only give
the SVG its structure; the matplotlib painter has nothing to draw for them.
Shapes are painted in the order they are described, as in SVG.

Text is "中文 / English" where gradlab writes both. matplotlib draws the Chinese
with the first CJK font it finds (:func:`cjk_font`, e.g. WenQuanYi Micro Hei);
without one it paints only the English (:func:`english`) and warns once.

matplotlib is imported when a :class:`MplPainter` is made, never on import.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from gradlab._messages import bilingual
from gradlab._svg import CJK, Point, Svg

__all__ = ["CJK_FONTS", "MPL_FONT", "MplPainter", "Painter", "Svg", "cjk_font", "english"]

MPL_FONT = "DejaVu Sans Mono"  # ships with matplotlib; the SVG's first font choice
#: Fonts with Chinese glyphs, the first one found is used (Linux, Windows, macOS).
CJK_FONTS = (
    "WenQuanYi Micro Hei Mono",
    "Noto Sans Mono CJK SC",
    "Sarasa Mono SC",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Microsoft YaHei",
    "PingFang SC",
)
_CJK_FILES = ("wqy", "notosansmonocjk", "notosanscjk", "sarasa", "msyh", "pingfang")  # their files' names
# A bilingual piece: from its first Chinese character up to " / " (its English follows).
_CHINESE_PART = re.compile(f"[{CJK}][^\n]*? / ")
_ANCHOR = {"start": "left", "middle": "center", "end": "right"}
_STRUCTURE = ("class_", "id", "data_")  # SVG-only attributes: names and ids for scripts and tests


class Painter(Protocol):
    """What a picture may ask of a painter; :class:`Svg` and :class:`MplPainter` both do all of it."""

    def rect(self, x: float, y: float, width: float, height: float, **attrs: object) -> None: ...
    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None: ...
    def circle(self, cx: float, cy: float, r: float, **attrs: object) -> None: ...
    def polyline(self, points: list[tuple[float, float]], **attrs: object) -> None: ...
    def polygon(self, points: Sequence[Point], **attrs: object) -> None: ...
    def bezier(self, start: Point, pieces: Sequence[tuple[Point, Point, Point]], **attrs: object) -> None: ...
    def path(self, d: str, **attrs: object) -> None: ...
    def text(
        self, x: float, y: float, text: str, *, size: float = 12, anchor: str = "start", **attrs: object
    ) -> None: ...
    def title(self, text: str) -> None: ...
    def open_group(self, **attrs: object) -> None: ...
    def close_group(self) -> None: ...
    def open_clip(self, x: float, y: float, width: float, height: float) -> None: ...


def _number(value: object) -> float:
    """An SVG length or number given as int, float or text (``2``, ``1.5``, ``"3"``)."""
    return float(value) if isinstance(value, (int, float)) else float(str(value))


def _parse_path(d: str) -> tuple[list[Point], list[int]]:
    """Vertices and matplotlib path codes of an SVG path made of absolute ``M``, ``L``, ``C`` and ``Z``.

    Example:
        >>> _parse_path("M0,0 L4,0 L2,3 Z")
        ([(0.0, 0.0), (4.0, 0.0), (2.0, 3.0), (0.0, 0.0)], [1, 2, 2, 79])
    """
    moveto, lineto, curve4, close = 1, 2, 4, 79  # matplotlib.path.Path codes
    tokens = re.findall(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", d)
    vertices: list[Point] = []
    codes: list[int] = []
    command, start, i = "", (0.0, 0.0), 0
    while i < len(tokens):
        if tokens[i] in ("M", "L", "C", "Z"):
            command = tokens[i]
            i += 1
            if command == "Z":
                vertices.append(start)
                codes.append(close)
            continue
        if command not in ("M", "L", "C") or tokens[i].isalpha():
            raise ValueError(
                bilingual(
                    f"路径 {d!r} 里有画笔不认识的命令 {tokens[i]}。",
                    f"The path {d!r} has a command the painter does not know: {tokens[i]}.",
                    todo_zh="只用绝对坐标的 M、L、C、Z；或者用 polygon / bezier / polyline。",
                    todo_en="Use only absolute M, L, C and Z; or use polygon / bezier / polyline.",
                )
            )
        point = (float(tokens[i]), float(tokens[i + 1]))
        i += 2
        vertices.append(point)
        codes.append({"M": moveto, "L": lineto, "C": curve4}[command])
        if command == "M":
            start, command = point, "L"  # SVG: coordinates after a moveto are linetos
    return vertices, codes


def english(text: str) -> str:
    """``text`` with each "中文 / English" piece cut to its English (for a picture without a CJK font).

    A piece starts at its first Chinese character and ends at " / ".

    Example:
        >>> english("已运行 / ran already")
        'ran already'
        >>> english("_saved_self = (已被 backward/grad 释放 / freed by backward/grad)")
        '_saved_self = (freed by backward/grad)'
        >>> english("dp_i / da_j")
        'dp_i / da_j'
    """
    return _CHINESE_PART.sub("", text)


@functools.cache
def cjk_font() -> str | None:
    """The name of the first font of :data:`CJK_FONTS` matplotlib can use, or ``None``.

    Fonts installed after matplotlib built its font cache are found by their files' names.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    names = {font.name for font in manager.ttflist}
    if not names.intersection(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower().replace("-", "") for hint in _CJK_FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {font.name for font in manager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def _has_cjk(text: str) -> bool:
    return re.search(f"[{CJK}]", text) is not None


class MplPainter:
    """Paints a described picture on a matplotlib figure of ``width`` x ``height`` px (72 per inch).

    Example:
        >>> p = MplPainter(40, 20)
        >>> p.rect(0, 0, 40, 20, fill="white", stroke="#444")
        >>> p.text(20, 14, "w=2", anchor="middle")
        >>> [type(a).__name__ for a in p.artists]
        ['Rectangle', 'Text']
    """

    def __init__(self, width: float, height: float, **attrs: object) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.width = width
        self.height = height
        self.figure = Figure(figsize=(width / 72, height / 72), dpi=72, facecolor="white")
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.add_axes((0, 0, 1, 1))
        self.axes.set_xlim(0, width)
        self.axes.set_ylim(height, 0)
        self.axes.set_axis_off()
        self.artists: list[Any] = []
        self._clips: list[Any] = []  # one entry per open group: its clip rectangle, or None
        cjk = cjk_font()
        self._cjk = cjk
        self._warned = cjk is not None

    def _add(self, artist: Any) -> None:
        """Put ``artist`` (already on the axes) above everything painted before it, as in SVG."""
        artist.set_zorder(len(self.artists) + 1)
        clip = next((c for c in reversed(self._clips) if c is not None), None)
        if clip is not None:
            artist.set_clip_path(clip)
        self.artists.append(artist)

    @staticmethod
    def _style(attrs: dict[str, object], fill: object = "black") -> dict[str, Any]:
        """matplotlib keyword arguments for SVG's style attributes."""
        attrs = {k: v for k, v in attrs.items() if v is not None}  # as Svg: None means "not given"
        known = {"fill", "stroke", "stroke_width", "stroke_dasharray", "opacity", "rx"}
        unknown = [k for k in attrs if k not in known and not k.startswith(_STRUCTURE)]
        if unknown:
            raise TypeError(
                bilingual(
                    f"matplotlib 画笔不认识这些属性：{', '.join(sorted(unknown))}。",
                    f"The matplotlib painter does not know these attributes: {', '.join(sorted(unknown))}.",
                    todo_zh=f"只用 {', '.join(sorted(known))}，两个画笔画出的图才会一样。",
                    todo_en=f"Use only {', '.join(sorted(known))}, so that both painters draw the same picture.",
                )
            )
        dash = attrs.get("stroke_dasharray")
        style: dict[str, Any] = {
            "facecolor": attrs.get("fill", fill),
            "edgecolor": attrs.get("stroke", "none"),
            "linewidth": _number(attrs.get("stroke_width", 1)),
            "linestyle": (0, tuple(float(v) for v in str(dash).split())) if dash else "solid",
        }
        if "opacity" in attrs:
            style["alpha"] = _number(attrs["opacity"])
        return style

    def rect(self, x: float, y: float, width: float, height: float, **attrs: object) -> None:
        from matplotlib.patches import FancyBboxPatch, Rectangle

        style = self._style(attrs)
        rx = _number(attrs.get("rx", 0))
        if rx:
            box = FancyBboxPatch((x, y), width, height, boxstyle=f"round,pad=0,rounding_size={rx:g}", **style)
            self._add(self.axes.add_patch(box))
        else:
            self._add(self.axes.add_patch(Rectangle((x, y), width, height, **style)))

    def circle(self, cx: float, cy: float, r: float, **attrs: object) -> None:
        from matplotlib.patches import Circle

        self._add(self.axes.add_patch(Circle((cx, cy), r, **self._style(attrs))))

    def _path(self, vertices: Sequence[Point], codes: list[int], attrs: dict[str, object], fill: object) -> None:
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath

        self._add(self.axes.add_patch(PathPatch(MplPath(vertices, codes), **self._style(attrs, fill))))

    def path(self, d: str, **attrs: object) -> None:
        vertices, codes = _parse_path(d)
        self._path(vertices, codes, attrs, "black")

    def polygon(self, points: Sequence[Point], **attrs: object) -> None:
        self._path([*points, points[0]], [1] + [2] * (len(points) - 1) + [79], attrs, "black")

    def bezier(self, start: Point, pieces: Sequence[tuple[Point, Point, Point]], **attrs: object) -> None:
        vertices = [start] + [point for piece in pieces for point in piece]
        self._path(vertices, [1] + [4] * (3 * len(pieces)), attrs, "black")

    def _line2d(self, points: Sequence[Point], attrs: dict[str, object]) -> None:
        from matplotlib.lines import Line2D

        style = self._style(attrs, "none")
        line = Line2D(
            [x for x, _ in points],
            [y for _, y in points],
            color=style["edgecolor"],
            linewidth=style["linewidth"],
            linestyle=style["linestyle"],
            alpha=style.get("alpha"),
            solid_capstyle="butt",
            dash_capstyle="butt",
            solid_joinstyle="miter",
        )
        self._add(self.axes.add_line(line))

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        self._line2d([(x1, y1), (x2, y2)], attrs)

    def polyline(self, points: list[tuple[float, float]], **attrs: object) -> None:
        attrs.pop("fill", None)  # SVG polylines here are never filled (Svg writes fill="none")
        self._line2d(points, attrs)

    def text(self, x: float, y: float, text: str, *, size: float = 12, anchor: str = "start", **attrs: object) -> None:
        weight = str(attrs.pop("font_weight", None) or "normal")
        style = self._style(attrs)
        chinese = _has_cjk(text)
        if chinese and self._cjk is None:
            text = english(text)
            if not self._warned:
                self._warned = True
                warnings.warn(
                    "没有找到中文字体，PNG/PDF 里的文字只用英文（可安装 fonts-wqy-microhei）。 / "
                    "No CJK font found: the PNG/PDF text is in English only (install fonts-wqy-microhei).",
                    stacklevel=2,
                )
        self._add(
            self.axes.text(
                x,
                y,
                text,
                fontsize=size,
                family=[MPL_FONT, self._cjk] if chinese and self._cjk else MPL_FONT,  # Chinese glyphs from cjk
                color=style["facecolor"],
                alpha=style.get("alpha"),
                weight=weight,
                va="baseline",
                ha=_ANCHOR[anchor],
                parse_math=False,
            )
        )

    def title(self, text: str) -> None:
        """Nothing to paint: a tooltip exists only in SVG."""

    def open_group(self, **attrs: object) -> None:
        """Nothing to paint: groups only give the SVG its structure."""
        self._clips.append(None)

    def close_group(self) -> None:
        """Ends the group (and its clip, if it was opened by ``open_clip``)."""
        self._clips.pop()

    def open_clip(self, x: float, y: float, width: float, height: float) -> None:
        """What is painted until ``close_group`` is clipped to the rectangle, as SVG's ``clipPath``."""
        from matplotlib.patches import Rectangle

        self._clips.append(Rectangle((x, y), width, height, transform=self.axes.transData))

    def save(self, path: Path, fmt_name: str, dpi: float) -> None:
        """Write the figure as ``fmt_name`` (``"png"``, ``"pdf"``); no dates or versions, so the bytes repeat."""
        import matplotlib

        metadata: dict[str, Any] = {"Software": None} if fmt_name == "png" else {"CreationDate": None, "Producer": None}
        with matplotlib.rc_context({"svg.hashsalt": "gradlab", "pdf.fonttype": 42}):
            self.figure.savefig(path, format=fmt_name, dpi=dpi, metadata=metadata, facecolor="white")
