"""How gradlab writes numbers: one place for every label, readout and figure.

Three styles, each for one kind of text:

- ``short``: a graph label, like torch prints a value (``2.``, 4 significant digits);
- ``fixed``: a slider readout, fixed decimals so the text does not jump as it changes;
- ``plain``: a figure caption, Python's shortest ``g`` form (``2``, ``0.25``).

And three for the tables that compare numbers (``compare_jacobians``, ``vjp``,
``check_grad``):

- ``error``: a difference, one significant digit (``3e-08``), the same on every run;
- ``duration``: a time, three significant digits and a unit (``0.123 ms``);
- ``ratio``: a time ratio (``12.3×``).

And the tables' columns, which hold "中文 / English" words: ``width`` counts a CJK
character as two columns (as a monospace font draws it), ``pad`` and ``columns``
align by it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = ["columns", "duration", "error", "fixed", "pad", "plain", "ratio", "short", "width"]


def short(value: Any) -> str:
    """One number, short: ``2.`` for a whole float (as torch prints it), 4 significant digits.

    Example:
        >>> short(2.0), short(0.123456), short(-0.0), short(3), short(1+2j)
        ('2.', '0.1235', '0.', '3', '1+2j')
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, complex):
        re, im = short(value.real).rstrip("."), short(value.imag).rstrip(".")
        return f"{re}{'' if im.startswith('-') else '+'}{im}j"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        value = 0.0  # no "-0."
    text = f"{value:.4g}"
    if "." not in text and "e" not in text:
        text += "."
    return text


def fixed(value: float, decimals: int = 4) -> str:
    """A readout number: fixed decimals, scientific when huge, ASCII minus, never -0.

    Example:
        >>> fixed(2.0), fixed(-0.00001), fixed(123456.0, 2)
        ('2.0000', '0.0000', '1.23e+05')
    """
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e5:
        return f"{value:.{decimals}e}"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def plain(value: float) -> str:
    """A caption number in Python's shortest ``g`` form.

    Example:
        >>> plain(2.0), plain(0.25)
        ('2', '0.25')
    """
    return f"{value:g}"


# --- differences and timings ------------------------------------------------------

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"))


def error(value: float) -> str:
    """A difference with one significant digit in scientific notation, or ``0``.

    Example:
        >>> error(3.2e-08), error(0.0), error(float("nan"))
        ('3e-08', '0', 'nan')
    """
    if value == 0:
        return "0"
    if math.isnan(value):
        return "nan"
    return f"{value:.0e}"


def duration(seconds: float) -> str:
    """Three significant digits and a unit: ``1.23 s``, ``0.123 ms``, ``12.3 µs``.

    Example:
        >>> duration(1.234e-4), duration(2.5)
        ('123 µs', '2.50 s')
    """
    for scale, unit in _TIME_UNITS:
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            if value >= 100:
                return f"{value:.0f} {unit}"
            if value >= 10:
                return f"{value:.1f} {unit}"
            return f"{value:.2f} {unit}" if value >= 1 else f"{value:.3f} {unit}"
    raise AssertionError("unreachable")


def ratio(value: float) -> str:
    """A time ratio with one decimal and a times sign.

    Example:
        >>> ratio(12.345)
        '12.3×'
    """
    return f"{value:.1f}×"


# --- table columns ------------------------------------------------------------------


def width(text: str) -> int:
    """The columns ``text`` takes in a monospace font: a wide (CJK) character takes two.

    Example:
        >>> width("ok"), width("正确 / ok"), width("max |Δ|")
        (2, 9, 7)
    """
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """``text`` with spaces after it up to ``columns`` columns (``str.ljust`` by :func:`width`).

    Example:
        >>> pad("正确 / ok", 11) + "|"
        '正确 / ok  |'
    """
    return text + " " * max(columns - width(text), 0)


def columns(rows: Sequence[Sequence[str]], gap: int = 2) -> list[str]:
    """Rows of cells as aligned lines: every column but the last padded to its widest cell.

    The last cell is not padded, so that a cell whose
    text varies from run to run (a time) changes nothing else on its line.

    Example:
        >>> print("\\n".join(columns([("条目 / entry", "正确 / ok"), ("x[0]", "错误 / WRONG")])))
        条目 / entry  正确 / ok
        x[0]          错误 / WRONG
    """
    if not rows:
        return []
    widths = [max(width(row[c]) for row in rows if c < len(row)) + gap for c in range(max(map(len, rows)))]
    return ["".join(pad(cell, w) for cell, w in zip(row[:-1], widths, strict=False)) + row[-1] for row in rows]
