"""How gradlab writes numbers: one place for every label, readout and figure.

Three styles, each for one kind of text:

- ``short``: a graph label, like torch prints a value (``2.``, 4 significant digits);
- ``fixed``: a slider readout, fixed decimals so the text does not jump as it changes;
- ``plain``: a figure caption, Python's shortest ``g`` form (``2``, ``0.25``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fixed", "plain", "short"]


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
