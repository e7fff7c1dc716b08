"""The explorers' plotting: ticks, their labels, axes and clipping (gradlab._plot)."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab._plot import Axes, clip_segment, tick_labels, tick_values, widen
from gradlab._svg import Svg

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
widths = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-9, max_value=1e9),
    st.sampled_from([1e-12, 1e-6, 0.1, 1.0, 2.5, 27.0, 225.0]),
)


@settings(max_examples=400, deadline=None)
@given(lo=finite, width=widths, count=st.sampled_from([4, 5]), integer=st.booleans())
def test_ticks_lie_in_the_range_and_have_distinct_labels(lo, width, count, integer):
    hi = lo + width
    ticks = tick_values(lo, hi, count=count, integer=integer)
    labels = tick_labels(ticks)
    assert ticks, "at least one tick"
    assert len(set(labels)) == len(labels), f"labels repeat: {labels}"
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
    slack = 1e-8 * max(abs(lo), abs(hi), hi - lo, 1.0 if integer else 0.0)  # a tick may sit 1e-9 steps outside
    assert all(lo - slack <= t <= hi + slack for t in ticks), (lo, hi, ticks)
    assert len(ticks) <= 2 * count + 1
    if len(ticks) > 1:  # each label reads back as its tick, to a small part of the spacing
        gap = min(b - a for a, b in itertools.pairwise(ticks))
        assert all(abs(float(label) - t) <= 1e-6 * gap for t, label in zip(ticks, labels, strict=True)), labels
    assert all(label not in ("-0", "-0.0") for label in labels)


@settings(max_examples=200, deadline=None)
@given(lo=finite, width=widths)
def test_an_axis_never_has_zero_width(lo, width):
    a, b = widen(lo, lo + width)
    assert b > a
    ax = Axes(Svg(100, 100), (0, 0, 100, 100), (lo, lo + width), (lo, lo + width))
    ax.frame("x", "y")  # draws without dividing by zero
    assert math.isfinite(ax.px(lo)) and math.isfinite(ax.py(lo))


def test_zero_width_ranges():
    assert tick_values(0.0, 0.0) == [0.0]
    assert tick_values(3.0, 3.0) == [3.0]
    assert tick_labels(tick_values(-1.1e-12, 1.1e-12)) == ["-1e-12", "-5e-13", "0", "5e-13", "1e-12"]
    assert widen(0.0, 0.0) == (-1.0, 1.0)


def test_labels_look_like_before_for_ordinary_ranges():
    assert tick_labels(tick_values(0.0, 27.0)) == ["0", "10", "20"]
    assert tick_labels(tick_values(-4.0, 4.0)) == ["-4", "-2", "0", "2", "4"]
    assert tick_labels(tick_values(-4.4, 4.4, count=4)) == ["-2.5", "0", "2.5"]
    assert tick_labels(tick_values(-0.5, 9.5, integer=True)) == ["0", "2", "4", "6", "8"]
    assert tick_labels([0.0, 2.5, 5.0, 7.5]) == ["0", "2.5", "5", "7.5"]


def test_labels_get_more_digits_when_the_short_form_repeats():
    ticks = tick_values(1e6, 1e6 + 1)
    labels = tick_labels(ticks)
    assert len(set(labels)) == len(labels) == len(ticks)
    assert labels[0] == "1.0000000e+06" and labels[1] == "1.0000002e+06"
    assert tick_labels([1.5e-4, 2e-4]) == ["0.00015", "0.0002"]  # once both "2e-04"
    assert tick_labels([123456.5, 123457.0]) == ["1.234565e+05", "1.234570e+05"]  # not "123456", "123457"


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ((-1.0, 0.5, 2.0, 0.5), (0.0, 0.5, 1.0, 0.5)),  # crosses both sides
        ((0.25, 0.25, 0.75, 0.75), (0.25, 0.25, 0.75, 0.75)),  # inside: unchanged
        ((0.5, 0.5, 0.5, 3.0), (0.5, 0.5, 0.5, 1.0)),  # vertical, leaves at the top
        ((-1.0, -1.0, 2.0, 2.0), (0.0, 0.0, 1.0, 1.0)),  # the diagonal
        ((2.0, 0.0, 3.0, 1.0), None),  # outside
        ((0.5, 1.5, 0.7, 1.5), None),  # parallel to the top, above it
    ],
)
def test_clip_segment(segment, expected):
    got = clip_segment(*segment, (0.0, 1.0), (0.0, 1.0))
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_a_curve_is_clipped_by_a_clip_path_not_capped():
    s = Svg(200, 200)
    ax = Axes(s, (20, 10, 160, 100), (-4.0, 4.0), (0.0, 4.0))
    ax.curve(lambda x: x * x, samples=9)  # leaves the frame: x² reaches 16 > 4
    svg = str(s)
    clip = re.search(r'<clipPath id="([^"]+)"><rect x="20" y="10" width="160" height="100"/></clipPath>', svg)
    assert clip, "the clip rectangle is the frame"
    group = re.search(rf'<g clip-path="url\(#{clip.group(1)}\)">\n(<polyline[^>]*>)\n</g>', svg)
    assert group, "the curve is drawn inside the clipped group"
    points = [tuple(map(float, p.split(","))) for p in re.search(r'points="([^"]+)"', group.group(1)).group(1).split()]
    # Not capped: the point at x = -4 (y = 16) is drawn where it is, 3 frame heights above the top.
    assert points[0] == (ax.px(-4.0), pytest.approx(ax.py(16.0)))
    assert points[0][1] == pytest.approx(10 - 3 * 100)
    assert points[4] == (ax.px(0.0), ax.py(0.0))


def test_two_clips_of_one_rectangle_share_one_clip_path():
    s = Svg(100, 100)
    ax = Axes(s, (10, 10, 80, 80), (0.0, 1.0), (0.0, 1.0))
    ax.curve(lambda x: x)
    ax.curve(lambda x: 1 - x)
    svg = str(s)
    assert svg.count("<clipPath") == 1 and svg.count('clip-path="url(#') == 2


def test_a_curve_breaks_where_the_function_is_not_finite():
    s = Svg(100, 100)
    ax = Axes(s, (0, 0, 100, 100), (-1.0, 1.0), (-10.0, 10.0))
    ax.curve(lambda x: 1 / x if x != 0 else math.inf, samples=5)
    assert str(s).count("<polyline") == 2
