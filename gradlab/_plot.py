"""A small plotting library for the explorers: ticks, axes and curves, drawn through the ``Svg`` painter.

探索器用的小型绘图库：刻度、坐标轴和曲线。

Only the painter's methods (``rect``, ``line``, ``text``, ``polyline``,
``open_clip``, ``close_group``) are called, so any painter with them can draw
these plots. What is drawn inside the axes is clipped to the frame with a real
clip path (``Svg.open_clip``): a curve that leaves the data range is cut at the
frame, not squeezed into it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from gradlab._format import fixed, plain
from gradlab._paint import Painter

__all__ = ["Axes", "clip_segment", "tick_labels", "tick_values", "widen"]

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)  # a tick step is one of these times a power of ten
_TICK_COLOUR, _GRID_COLOUR = "#444", "#eee"


def widen(lo: float, hi: float) -> tuple[float, float]:
    """The range ``lo`` to ``hi`` in order, widened around its value when it has zero width.

    Example:
        >>> widen(0.0, 0.0), widen(3.0, 3.0), widen(2.0, -1.0)
        ((-1.0, 1.0), (1.5, 4.5), (-1.0, 2.0))
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"an axis range must be finite, not ({lo}, {hi})")
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi)):
        half = max(abs(lo), 2.0) / 2
        return lo - half, hi + half
    return lo, hi


def _step(lo: float, hi: float, count: int, integer: bool) -> float:
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in _STEPS if m * magnitude >= raw)
    return float(max(1, math.ceil(step))) if integer else step


def _decimals(step: float) -> int:
    """Decimals that show every multiple of ``step`` exactly (2.5 needs one more than 2 or 5)."""
    digits = -math.floor(math.log10(step) + 1e-12)
    mantissa = step / 10.0 ** (-digits)
    return max(0, digits + (0 if abs(mantissa - round(mantissa)) < 1e-9 else 1))


def tick_values(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """About ``count`` round numbers from ``lo`` to ``hi`` (steps of 1, 2, 2.5 or 5 times a power of ten).

    A range of zero width has one tick, its value. With ``integer`` the steps are
    whole numbers, unless the range holds no whole number.

    Example:
        >>> tick_values(0.0, 25.0)
        [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
        >>> tick_values(-0.5, 9.5, integer=True)
        [0.0, 2.0, 4.0, 6.0, 8.0]
        >>> tick_values(3.0, 3.0)
        [3.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"an axis range must be finite, not ({lo}, {hi})")
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi)):
        return [float(lo)]
    step = _step(lo, hi, count, integer)
    decimals = _decimals(step) + 1
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    if integer and first > last:  # no whole number in the range: ticks at fractions after all
        return tick_values(lo, hi, count)
    return [round(k * step, decimals) + 0.0 for k in range(first, last + 1)]


def tick_labels(values: list[float]) -> list[str]:
    """A label per tick, all different: the short form (``0.5``, ``25``) when it shows each tick exactly.

    When it does not (ticks that differ beyond its 6 significant digits), each
    label gets the decimals the spacing needs.

    Example:
        >>> tick_labels([0.0, 0.25, 0.5, 2.5, 100.0])
        ['0', '0.25', '0.5', '2.5', '100']
        >>> tick_labels([1000000.0, 1000000.5, 1000001.0])
        ['1.0000000e+06', '1.0000005e+06', '1.0000010e+06']
    """
    labels = [plain(v + 0.0) for v in values]  # + 0.0: no "-0"
    gaps = [abs(b - a) for a, b in itertools.pairwise(values) if b != a]
    exact = all(
        abs(float(label) - v) <= 1e-9 * min(gaps, default=abs(v)) for v, label in zip(values, labels, strict=True)
    )
    if len(values) < 2 or (exact and len(set(labels)) == len(labels)):
        return labels
    decimals = _decimals(min(gaps))
    return [_exact(v, decimals) for v in values]


def _exact(value: float, decimals: int) -> str:
    """``value`` to ``decimals`` decimals; ``fixed`` writes |value| ≥ 1e5 as mantissa and exponent."""
    if abs(value) < 1e5:
        return fixed(value, decimals)
    return fixed(value, decimals + math.floor(math.log10(abs(value))))


def clip_segment(
    x1: float, y1: float, x2: float, y2: float, xlim: tuple[float, float], ylim: tuple[float, float]
) -> tuple[float, float, float, float] | None:
    """The part of the segment inside the box ``xlim`` × ``ylim`` (Liang-Barsky), or None.

    Example:
        >>> clip_segment(-1.0, 0.5, 2.0, 0.5, (0.0, 1.0), (0.0, 1.0))
        (0.0, 0.5, 1.0, 0.5)
    """
    t0, t1 = 0.0, 1.0
    dx, dy = x2 - x1, y2 - y1
    for p, q in ((-dx, x1 - xlim[0]), (dx, xlim[1] - x1), (-dy, y1 - ylim[0]), (dy, ylim[1] - y1)):
        if p == 0:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return x1 + t0 * dx, y1 + t0 * dy, x1 + t1 * dx, y1 + t1 * dy


class Axes:
    """Maps data coordinates into a box of a painter and draws the frame, ticks, segments and curves.

    Example:
        >>> from gradlab._svg import Svg
        >>> s = Svg(200, 120)
        >>> ax = Axes(s, (30, 10, 160, 80), (0.0, 4.0), (0.0, 2.0))
        >>> ax.px(2.0), ax.py(2.0)
        (110.0, 10.0)
    """

    def __init__(
        self, svg: Painter, box: tuple[float, float, float, float], xlim: tuple[float, float], ylim: tuple[float, float]
    ) -> None:
        self.svg = svg
        self.left, self.top, self.width, self.height = box
        self.xlim, self.ylim = widen(*xlim), widen(*ylim)

    def px(self, x: float) -> float:
        lo, hi = self.xlim
        return self.left + (x - lo) / (hi - lo) * self.width

    def py(self, y: float) -> float:
        lo, hi = self.ylim
        return self.top + self.height - (y - lo) / (hi - lo) * self.height

    def inside(self, x: float, y: float) -> bool:
        return self.xlim[0] <= x <= self.xlim[1] and self.ylim[0] <= y <= self.ylim[1]

    def frame(self, xlabel: str, ylabel: str, integer_x: bool = False) -> None:
        """The white box, ticks with labels on both axes, light grid lines and the axis labels."""
        s, bottom = self.svg, self.top + self.height
        s.rect(self.left, self.top, self.width, self.height, fill="white", stroke=_TICK_COLOUR, stroke_width=1)
        xs = tick_values(*self.xlim, integer=integer_x)
        for t, label in zip(xs, tick_labels(xs), strict=True):
            x = self.px(t)
            s.line(x, bottom, x, bottom + 4, stroke=_TICK_COLOUR)
            s.text(x, bottom + 15, label, size=10, anchor="middle", fill=_TICK_COLOUR)
        self.y_ticks(tick_values(*self.ylim, count=4))
        s.text(self.left + self.width / 2, bottom + 30, xlabel, size=11, anchor="middle")
        s.text(self.left, self.top - 6, ylabel, size=11)

    def y_ticks(self, ys: list[float], marks: bool = True) -> None:
        """Labels on the left edge and light grid lines across at ``ys``, with tick marks if ``marks``."""
        s = self.svg
        for t, label in zip(ys, tick_labels(ys), strict=True):
            y = self.py(t)
            if marks:
                s.line(self.left - 4, y, self.left, y, stroke=_TICK_COLOUR)
            s.line(self.left, y, self.left + self.width, y, stroke=_GRID_COLOUR)
            s.text(self.left - 6, y + 3.5, label, size=10, anchor="end", fill=_TICK_COLOUR)

    def segment(self, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> None:
        """The part of a straight line inside the axes (computed, so it needs no clip path)."""
        clipped = clip_segment(x1, y1, x2, y2, self.xlim, self.ylim)
        if clipped is not None:
            a, b, c, d = clipped
            self.svg.line(self.px(a), self.py(b), self.px(c), self.py(d), **attrs)

    def curve(self, f: Callable[[float], float], samples: int = 81, **attrs: object) -> None:
        """``f`` over the x range as a polyline, clipped to the frame by a clip path.

        Points where ``f`` is not finite break the curve into pieces.
        """
        lo, hi = self.xlim
        pieces: list[list[tuple[float, float]]] = [[]]
        for k in range(samples):
            x = lo + (hi - lo) * k / (samples - 1)
            y = f(x)
            if math.isfinite(y):
                pieces[-1].append((self.px(x), self.py(y)))
            elif pieces[-1]:
                pieces.append([])
        self.svg.open_clip(self.left, self.top, self.width, self.height)
        for piece in pieces:
            if len(piece) > 1:
                self.svg.polyline(piece, **attrs)
        self.svg.close_group()
