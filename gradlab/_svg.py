"""A tiny, deterministic SVG writer shared by the graph views and the explorers.

Plain strings, no ids, no timestamps: the same drawing gives byte-identical
text on every run, and building a few hundred elements takes well under a
millisecond. Text uses a monospace font so its width can be estimated
(``text_width``) without a font library.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

__all__ = ["CJK", "FONT", "Point", "Svg", "fmt", "text_width", "wrap"]

Point = tuple[float, float]

# A monospace font first (Linux, macOS, Windows), then fonts with Chinese glyphs on each system
# (a browser takes each glyph from the first font in the list that has it).
FONT = (
    "DejaVu Sans Mono, Menlo, Consolas, Noto Sans Mono CJK SC, Sarasa Mono SC, Microsoft YaHei Mono, "
    "Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei Mono, monospace"
)
_CHAR_WIDTH = 0.6  # em, for the monospace fonts above; a CJK glyph is about twice as wide
# What a line may break between: spaces, each Chinese character (with the punctuation that may not
# start a line after it, and the brackets that may not end one before it), a run of other characters.
CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # Chinese characters and full-width forms, for a [...] class
_OPENING, _CLOSING = "（「『", "，。、；：）」』！？"
_TOKEN = re.compile(f"\\s+|[{_OPENING}]*(?:[{CJK}]|[^\\s{CJK}]+)[{_CLOSING}]*")


def fmt(value: float) -> str:
    """A coordinate or length with at most 2 decimals and no trailing zeros.

    Example:
        >>> fmt(1.0), fmt(2.345), fmt(-0.0)
        ('1', '2.35', '0')
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` at font size ``size`` (CJK counts double).

    Example:
        >>> text_width("abc", 10)
        18.0
    """
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return units * _CHAR_WIDTH * size


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` broken into lines of at most ``width`` px at font size ``size`` (:func:`text_width`).

    English breaks at spaces, Chinese between characters (never before "，" or "。");
    a word wider than ``width`` gets a line of its own.

    Example:
        >>> wrap("The gradient is 0: w is at the minimum.", 110, 10)
        ['The gradient is 0:', 'w is at the', 'minimum.']
        >>> wrap("梯度为 0：w 正好在最小值处。", 96, 10)
        ['梯度为 0：w 正好', '在最小值处。']
    """
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(text):
        if line and not token.isspace() and text_width(line.rstrip() + token, size) > width:
            lines.append(line.rstrip())
            line = ""
        if line or not token.isspace():
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = fmt(value)
        parts.append(f' {key.rstrip("_").replace("_", "-")}="{escape(str(value), quote=True)}"')
    return "".join(parts)


class Svg:
    """Collects SVG elements; ``str(svg)`` gives the document.

    Keyword arguments become attributes (``stroke_width=2`` → ``stroke-width="2"``;
    a trailing underscore is dropped, so ``class_="x"`` → ``class="x"``).

    Example:
        >>> s = Svg(40, 20)
        >>> s.rect(0, 0, 40, 20, fill="white")
        >>> s.text(20, 14, "w=2", anchor="middle")
        >>> print(str(s).splitlines()[1])
        <rect x="0" y="0" width="40" height="20" fill="white"/>
    """

    def __init__(self, width: float, height: float, **attrs: object) -> None:
        self.width = width
        self.height = height
        self.attrs = attrs
        self.parts: list[str] = []

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def rect(self, x: float, y: float, width: float, height: float, **attrs: object) -> None:
        self.parts.append(
            f"<rect{_attrs({'x': float(x), 'y': float(y), 'width': float(width), 'height': float(height), **attrs})}/>"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        self.parts.append(
            f"<line{_attrs({'x1': float(x1), 'y1': float(y1), 'x2': float(x2), 'y2': float(y2), **attrs})}/>"
        )

    def circle(self, cx: float, cy: float, r: float, **attrs: object) -> None:
        self.parts.append(f"<circle{_attrs({'cx': float(cx), 'cy': float(cy), 'r': float(r), **attrs})}/>")

    def polyline(self, points: list[tuple[float, float]], **attrs: object) -> None:
        joined = " ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)
        self.parts.append(f"<polyline{_attrs({'points': joined, 'fill': 'none', **attrs})}/>")

    def path(self, d: str, **attrs: object) -> None:
        self.parts.append(f"<path{_attrs({'d': d, **attrs})}/>")

    def polygon(self, points: Sequence[Point], **attrs: object) -> None:
        """A closed shape through ``points``, written as a ``<path>`` (``M x,y L x,y ... Z``)."""
        d = "M" + " L".join(f"{fmt(x)},{fmt(y)}" for x, y in points) + " Z"
        self.path(d, **attrs)

    def bezier(self, start: Point, pieces: Sequence[tuple[Point, Point, Point]], **attrs: object) -> None:
        """Cubic Bezier curves from ``start``; each piece is (control, control, end), as SVG's ``C``."""
        d = f"M{fmt(start[0])},{fmt(start[1])} " + " ".join(
            f"C{fmt(c1[0])},{fmt(c1[1])} {fmt(c2[0])},{fmt(c2[1])} {fmt(end[0])},{fmt(end[1])}"
            for c1, c2, end in pieces
        )
        self.path(d, **attrs)

    def title(self, text: str) -> None:
        """A tooltip for the enclosing group (``<title>``); shown when the pointer rests on it."""
        self.parts.append(f"<title>{escape(text, quote=False)}</title>")

    def text(self, x: float, y: float, text: str, *, size: float = 12, anchor: str = "start", **attrs: object) -> None:
        a = {"x": float(x), "y": float(y), "font_size": fmt(size), "text_anchor": anchor, **attrs}
        self.parts.append(f"<text{_attrs(a)}>{escape(text, quote=False)}</text>")

    def open_group(self, **attrs: object) -> None:
        self.parts.append(f"<g{_attrs(attrs)}>")

    def close_group(self) -> None:
        self.parts.append("</g>")

    def __str__(self) -> str:
        head = _attrs(
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "width": fmt(self.width),
                "height": fmt(self.height),
                "viewBox": f"0 0 {fmt(self.width)} {fmt(self.height)}",
                "font_family": FONT,
                **self.attrs,
            }
        )
        return f"<svg{head}>\n" + "\n".join(self.parts) + "\n</svg>\n"

    def open_clip(self, x: float, y: float, width: float, height: float) -> None:
        """Open a group whose drawing is clipped to a rectangle (an SVG ``clipPath``); end it with ``close_group``.

        The clip's id is made from the rectangle, so it is the same on every run, and
        two pictures inlined in one page that share an id also share the rectangle.
        """
        box = [fmt(v) for v in (x, y, width, height)]
        key = "gradlab-clip-" + "_".join(v.replace("-", "m").replace(".", "p") for v in box)
        if not any(f'<clipPath id="{key}">' in part for part in self.parts):
            rect = f'<rect x="{box[0]}" y="{box[1]}" width="{box[2]}" height="{box[3]}"/>'
            self.parts.append(f'<clipPath id="{key}">{rect}</clipPath>')
        self.parts.append(f'<g clip-path="url(#{key})">')
