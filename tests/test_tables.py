"""The printed tables of compare_jacobians, check_grad and vjp: "中文 / English" words, columns aligned.

Learners read the tables in the notebooks' outputs, as text and as HTML. Each header and status word
carries Chinese first, then its English; a CJK character takes two columns in a monospace font, and the
text tables are aligned by that (gradlab._format.width).
"""

from __future__ import annotations

import re

import pytest
import torch

import gradlab
from gradlab._format import columns, pad, width
from gradlab.jacobians import softmax_jacobian

SEED = [0.7728, 0.4713, 0.9653]
_CJK = re.compile("[\u4e00-\u9fff]")


def _bilingual(cell: str, english: str) -> bool:
    """``cell`` is "中文 / <english>": some Chinese, then " / ", then the English words."""
    chinese, sep, rest = cell.partition(" / ")
    return bool(sep) and bool(_CJK.search(chinese)) and rest == english


def _cells(line: str) -> list[tuple[int, str]]:
    """The cells of a text table line (separated by two spaces or more) with the column each starts at."""
    return [(width(line[: m.start()]), m.group()) for m in re.finditer(r"\S+(?: \S+)*", line)]


class _WrongSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2x


# --- the width helper ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "columns_"),
    [("ok", 2), ("正确", 4), ("正确 / ok", 9), ("（全部）", 8), ("max |Δ|", 7), ("12.3×", 5), ("123 µs", 6), ("", 0)],
)
def test_width_counts_a_cjk_character_as_two_columns(text, columns_):
    assert width(text) == columns_


def test_pad_and_columns_align_by_width():
    assert pad("错误", 6) == "错误  " and pad("WRONG", 3) == "WRONG"
    lines = columns([("条目 / entry", "x"), ("∂out/∂in[0]", "错误 / WRONG"), ("a", "b")])
    assert [start for start, _ in _cells(lines[0])] == [0, 14]
    assert all([start for start, _ in _cells(line)] == [0, 14] for line in lines)
    assert columns([]) == []


# --- compare_jacobians -----------------------------------------------------------------


def _comparison(**kwargs):
    a = torch.tensor(SEED)
    return gradlab.compare_jacobians(lambda z: torch.softmax(z, dim=0), a, min_time=0, **kwargs)


COMPARE_HEADER = ["method", "max |Δ| vs reference", "median time"]


@pytest.mark.parametrize("timed", [True, False])
def test_compare_jacobians_headers_are_chinese_then_english(timed):
    a = torch.tensor(SEED)
    table = _comparison(reference=(lambda: softmax_jacobian(a, dim=0)) if timed else None)
    ratio = "ratio to reference" if timed else "ratio to fastest"
    caption, header, *_ = str(table).splitlines()
    cells = [cell for _, cell in _cells(header)]
    assert len(cells) == 4, cells
    for cell, english in zip(cells, [*COMPARE_HEADER, ratio], strict=True):
        assert _bilingual(cell, english), cell
    assert caption.startswith("compare_jacobians: <lambda>, 输入 / inputs [3], float32; 参考 / reference: ")
    html = table._repr_html_()
    ths = re.findall(r"<th[^>]*>(.*?)</th>", html)
    assert len(ths) == 4
    for th, english in zip(ths, [*COMPARE_HEADER, ratio], strict=True):
        assert _bilingual(th, english), th
    assert "参考 / reference" in re.search(r"<caption>(.*?)</caption>", html).group(1)


def test_compare_jacobians_columns_line_up_under_their_headers():
    table = _comparison()
    _, header, *rows = str(table).splitlines()
    starts = [start for start, _ in _cells(header)][:3]  # times and ratios come last, unpadded
    for line in rows:
        assert [start for start, _ in _cells(line)][:3] == starts, line


def test_compare_jacobians_caption_says_how_the_reference_was_obtained_in_both_languages():
    a = torch.tensor(SEED)
    given = _comparison(reference=softmax_jacobian(a, dim=0))
    assert given.reference == "给定的张量 / given tensor"
    timed = _comparison(reference=lambda: softmax_jacobian(a, dim=0))
    assert timed.reference == "reference() (计时 / timed)"
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    blocks = gradlab.compare_jacobians(lambda z: torch.softmax(z, dim=-1), x, batch_dim=0, methods="rows", min_time=0)
    assert blocks.reference == "torch.autograd.functional.jacobian, 取其对角块 / its diagonal blocks (batch_dim=0)"
    assert blocks.shape.endswith("; 逐样本块 / per-sample blocks, batch_dim=0")


# --- check_grad ------------------------------------------------------------------------

CHECK_HEADER = ["entry", "autograd", "numeric", "abs err", "rel err", "ok"]


def test_check_grad_headers_and_status_words_are_chinese_then_english():
    wrong = gradlab.check_grad(_WrongSquare.apply, torch.tensor([0.5, -1.0], dtype=torch.float64))
    summary, header, *rows = str(wrong).splitlines()
    assert summary.startswith("check_grad: 未通过 / FAILED: 4 个条目中 2 个一致 / 2 of 4 entries agree (")
    cells = [cell for _, cell in _cells(header)]
    assert cells[1] == "autograd"  # code stays code
    for cell, english in zip(cells, CHECK_HEADER, strict=True):
        assert english == "autograd" or _bilingual(cell, english), cell
    statuses = [_cells(line)[-1][1] for line in rows]
    assert statuses == ["错误 / WRONG", "正确 / ok", "正确 / ok", "错误 / WRONG"]
    html = wrong._repr_html_()
    ths = re.findall(r"<th[^>]*>(.*?)</th>", html)
    assert len(ths) == 6
    for th, english in zip(ths, CHECK_HEADER, strict=True):
        assert english == "autograd" or _bilingual(th, english), th
    assert html.count("<b>错误 / WRONG</b>") == 2 and html.count("<td>正确 / ok</td>") == 2
    right = gradlab.check_grad(lambda z: z**2, torch.tensor([0.5, -1.0], dtype=torch.float64))
    assert str(right).startswith("check_grad: 通过 / PASSED: 4 个条目中 4 个一致 / 4 of 4 entries agree (")


def test_check_grad_columns_line_up_under_their_headers():
    x = torch.linspace(-1, 1, 4, dtype=torch.float64)
    result = gradlab.check_grad(_WrongSquare.apply, x)
    _, header, *rows = str(result).splitlines()
    starts = [start for start, _ in _cells(header)]
    assert len(starts) == 6
    for line in rows:
        assert [start for start, _ in _cells(line)] == starts, line


# --- vjp -------------------------------------------------------------------------------

VJP_ROWS = ["vᵀJ via backward(gradient=v)", "v @ J via the full Jacobian", "max |difference|"]


def test_vjp_rows_are_chinese_then_english_and_the_values_form_one_column():
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -2.0]])
    result = gradlab.vjp(lambda z: torch.softmax(z, dim=-1), x, torch.ones(2, 3))
    lines = str(result).splitlines()
    named = [line for line in lines if not line.startswith(" ")]
    keys = [_cells(line)[0][1] for line in named]
    assert keys[0] == "v"
    for key, english in zip(keys[1:], VJP_ROWS, strict=True):
        assert _bilingual(key, english), key
    value_starts = {_cells(line)[1][0] for line in named}
    assert len(value_starts) == 1 and len(lines) == 7  # four rows, three of them tensors of two lines
    start = value_starts.pop()
    for line in lines:  # a tensor's second line sits under its first, as torch indents it
        assert line.startswith(" ") == (line[start:].startswith("        [")), line
    ths = re.findall(r"<th[^>]*>(.*?)</th>", result._repr_html_())
    assert ths[0] == "v" and [_bilingual(th, en) for th, en in zip(ths[1:], VJP_ROWS, strict=True)] == [True] * 3
