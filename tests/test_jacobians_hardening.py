"""Issue 10 for the Jacobian tools: every input a learner brings gives the right answer or a clear error.

Items 1 (grad modes), 14 (complex), 15 (PyTorch's exception types), 17 (in-place
and inference tensors), 18 (compare_jacobians' methods) and 19 (check_grad's
tolerances and its vectorised, memory-bounded report).
"""

from __future__ import annotations

import contextlib
import math

import pytest
import torch

import gradlab.gradcheck
from gradlab.compare import compare_jacobians
from gradlab.gradcheck import GradCheckEntry, check_grad
from gradlab.jacobians import jacobian, softmax_jacobian
from gradlab.vector_jacobian import vjp

METHODS = ["rows", "batched", "jacrev", "jacfwd", "auto"]
SEED = [0.7728, 0.4713, 0.9653]
MODES = {
    "inference_mode": torch.inference_mode,
    "no_grad": torch.no_grad,
    "set_grad_enabled(False)": lambda: torch.set_grad_enabled(False),
}


def _softmax(z: torch.Tensor) -> torch.Tensor:
    return torch.softmax(z, dim=0)


def _bilingual(text: str) -> None:
    """Chinese first, then English, and what to do in both."""
    assert "怎么办" in text and "What to do" in text
    assert text.index("怎么办") < text.index("What to do")


class _WrongSquare(torch.autograd.Function):
    """x², with a backward that forgets the factor 2 (old style: torch.func cannot vmap it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x


# --- item 1: the caller's grad mode changes nothing -----------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", METHODS)
def test_jacobian_is_right_whatever_the_grad_mode(mode, method):
    a = torch.tensor(SEED)
    expected = softmax_jacobian(a, dim=0)
    with MODES[mode]():
        J = jacobian(_softmax, a, method=method)
    assert (J - expected).abs().max() < 1e-6
    assert J.abs().sum() > 0.5  # not the zeros inference_mode used to give


@pytest.mark.parametrize("mode", MODES)
def test_vjp_check_grad_and_compare_whatever_the_grad_mode(mode):
    a = torch.tensor(SEED)
    v = torch.tensor([0.0, 1.0, 0.0])
    with MODES[mode]():
        result = vjp(_softmax, a, v)
        right = check_grad(_softmax, a.double())
        wrong = check_grad(_WrongSquare.apply, a.double())
        table = compare_jacobians(_softmax, a, min_time=0.0)  # reference: torch.autograd.functional.jacobian
    assert torch.allclose(result.vjp, softmax_jacobian(a, dim=0)[1], atol=1e-7)
    assert result.max_abs_diff < 1e-7
    assert right.passed and right.max_abs_error < 1e-8
    assert not wrong.passed  # a wrong backward is still caught
    assert [e.ok for e in wrong.entries if e.entry == "∂out[0]/∂in[0]"] == [False]
    assert all(row.max_abs_diff < 1e-6 for row in table.rows)


@pytest.mark.parametrize("method", METHODS)
def test_an_inference_tensor_input_works_under_every_method(method):
    with torch.inference_mode():
        a = torch.tensor(SEED)
    assert a.is_inference()
    J = jacobian(_softmax, a, method=method)
    assert (J - softmax_jacobian(torch.tensor(SEED), dim=0)).abs().max() < 1e-6
    assert not J.is_inference()
    assert vjp(_softmax, a, torch.ones(3)).max_abs_diff < 1e-7
    assert check_grad(_softmax, a).passed


def test_a_captured_inference_tensor_is_explained_or_used_as_a_constant():
    with torch.inference_mode():
        w = torch.tensor([1.0, 2.0, 3.0])
    a = torch.tensor(SEED)

    def f(z):
        return (z * w).sin()

    expected = torch.diag(w * torch.cos(a * w))
    for method in ("jacrev", "jacfwd", "auto"):  # torch.func: w is a constant
        assert (jacobian(f, a, method=method) - expected).abs().max() < 1e-6
    for call in (
        lambda: jacobian(f, a, method="rows"),
        lambda: jacobian(f, a, method="batched"),
        lambda: vjp(f, a, torch.ones(3)),
        lambda: check_grad(f, a),
    ):
        with pytest.raises(
            RuntimeError, match=r"(?s)inference_mode.*推理张量.*inference tensor.*method='jacrev'"
        ) as info:
            call()
        _bilingual(str(info.value))
        assert isinstance(info.value.__cause__, RuntimeError)
        assert "Inference tensors cannot be saved for backward" in str(info.value.__cause__)


# --- item 17: a func that changes its input in place ---------------------------------------------------


def _doubles_in_place(z):
    z.mul_(2)
    return z.sin()


@pytest.mark.parametrize("method", METHODS)
def test_a_func_changing_its_input_in_place_gives_the_same_right_answer(method):
    a = torch.tensor(SEED, dtype=torch.float64)
    before = a.clone()
    J = jacobian(_doubles_in_place, a, method=method)
    assert torch.allclose(J, torch.diag(2 * torch.cos(2 * before)), atol=1e-12)
    assert torch.equal(a, before)  # the caller's tensor is never changed (jacfwd used to change it)


def test_vjp_and_check_grad_accept_a_func_changing_its_input_in_place():
    a = torch.tensor(SEED, dtype=torch.float64)
    before = a.clone()
    result = vjp(_doubles_in_place, a, torch.ones(3, dtype=torch.float64))
    assert torch.allclose(result.vjp, 2 * torch.cos(2 * before))
    assert check_grad(_doubles_in_place, a).passed
    assert torch.equal(a, before)


@pytest.mark.parametrize("method", METHODS)
def test_changing_a_captured_parameter_in_place_is_a_bilingual_error(method):
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def f(z):
        w.add_(1)
        return z * w

    with pytest.raises(RuntimeError, match=r"(?s)原地修改.*w = w \+ 1.*in place.*w = w \+ 1") as info:
        jacobian(f, torch.tensor(SEED), method=method)
    _bilingual(str(info.value))
    assert isinstance(info.value.__cause__, RuntimeError)  # PyTorch's own error, chained
    assert torch.equal(w.detach(), torch.tensor([1.0, 2.0, 3.0]))


# --- item 14: complex tensors -------------------------------------------------------------------


def _complex_advice(text: str) -> None:
    _bilingual(text)
    assert "复数" in text and "complex" in text
    assert "view_as_real" in text and ".real" in text and ".imag" in text
    assert "不要用 x.float()" in text and "Do not use x.float()" in text


@pytest.mark.parametrize("method", METHODS)
def test_complex_inputs_and_outputs_are_refused_with_the_right_advice(method):
    c = torch.tensor([1 + 1j, 2 - 1j])
    with pytest.raises(RuntimeError) as info:  # torch.func.jacrev raises RuntimeError too
        jacobian(lambda z: z * z, c, method=method)
    _complex_advice(str(info.value))
    with pytest.raises(RuntimeError) as info:
        jacobian(lambda x: x * 1j, torch.ones(2), method=method)
    _complex_advice(str(info.value))
    assert "func(...)" in str(info.value)


def test_complex_is_refused_by_every_jacobian_tool():
    c = torch.tensor([1 + 1j, 2 - 1j])
    for call in (
        lambda: vjp(torch.sin, c, torch.ones(2)),
        lambda: check_grad(torch.sin, c),
        lambda: compare_jacobians(torch.sin, c),
        lambda: check_grad(lambda x: x * 1j, torch.ones(2)),
    ):
        with pytest.raises(RuntimeError) as info:
            call()
        _complex_advice(str(info.value))
    with pytest.raises(NotImplementedError) as info:  # as torch.softmax
        softmax_jacobian(c, dim=0)
    _complex_advice(str(info.value))
    assert isinstance(info.value.__cause__, NotImplementedError)
    with pytest.raises(NotImplementedError):
        torch.softmax(c, dim=0)


def test_the_advice_for_complex_works():
    # |z|² through torch.view_as_real: ∂/∂(re, im) = 2 (re, im)
    c = torch.tensor([1 + 2j, -3 + 0.5j], dtype=torch.complex128)
    parts = torch.view_as_real(c)
    J = jacobian(lambda r: torch.view_as_complex(r.contiguous()).abs() ** 2, parts)
    assert torch.allclose(J, torch.stack([torch.diag_embed(2 * parts[:, k]) for k in (0, 1)], dim=-1))


# --- item 15: PyTorch's exception types -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_integer_and_bool_inputs_raise_what_pytorch_raises(dtype):
    x = torch.tensor([1, 0, 1]).to(dtype)
    with pytest.raises(RuntimeError) as theirs:
        torch.autograd.functional.jacobian(torch.sin, x)
    for call in (jacobian, check_grad, compare_jacobians, lambda f, x: vjp(f, x, torch.ones(3))):
        with pytest.raises(RuntimeError) as ours:
            call(torch.sin, x)
        _bilingual(str(ours.value))
        assert str(dtype) in str(ours.value) and "x.float()" in str(ours.value)
        assert type(ours.value.__cause__) is type(theirs.value)
        assert str(ours.value.__cause__) == str(theirs.value)


def test_softmax_jacobian_raises_what_torch_softmax_raises():
    x = torch.tensor([1, 2, 3])
    with pytest.raises(NotImplementedError) as theirs:
        torch.softmax(x, dim=0)
    with pytest.raises(NotImplementedError) as ours:
        softmax_jacobian(x, dim=0)
    _bilingual(str(ours.value))
    assert str(ours.value.__cause__) == str(theirs.value)


def test_the_exception_types_are_documented():
    for func, names in (
        (jacobian, ("ValueError", "TypeError", "RuntimeError")),
        (softmax_jacobian, ("NotImplementedError",)),
        (check_grad, ("TypeError", "RuntimeError", "ValueError")),
        (compare_jacobians, ("ValueError", "TypeError")),
        (vjp, ("ValueError", "TypeError", "RuntimeError")),
    ):
        doc = func.__doc__ or ""
        assert "Raises:" in doc
        for name in names:
            assert f"{name}:" in doc or f"{name}," in doc, (func.__name__, name)


# --- item 18: compare_jacobians' methods ---------------------------------------------------------------


def test_compare_jacobians_methods_as_one_string_a_tuple_or_empty():
    a = torch.tensor(SEED)
    table = compare_jacobians(_softmax, a, methods="rows", min_time=0.0)
    assert [row.method for row in table.rows] == ["rows"]
    table = compare_jacobians(_softmax, a, methods=("jacrev", "batched"), min_time=0.0)
    assert [row.method for row in table.rows] == ["jacrev", "batched"]
    with pytest.raises(ValueError, match=r"(?s)methods 是空的.*methods is empty") as info:
        compare_jacobians(_softmax, a, methods=[])
    _bilingual(str(info.value))
    with pytest.raises(ValueError, match=r"(?s)不认识的 method='fast'.*Unknown method='fast'"):
        compare_jacobians(_softmax, a, methods="fast")
    with pytest.raises(ValueError, match=r"Unknown method=3"):
        compare_jacobians(_softmax, a, methods=["rows", 3])
    with pytest.raises(TypeError, match=r"(?s)methods.*int.*methods='rows'") as info:
        compare_jacobians(_softmax, a, methods=3)
    _bilingual(str(info.value))


def test_compare_jacobians_with_a_list_and_a_tuple_of_inputs():
    x, w = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    for inputs in ([x, w], (x, w)):
        table = compare_jacobians(torch.mul, inputs, methods=["rows", "jacrev"], min_time=0.0)
        assert all(row.max_abs_diff < 1e-12 for row in table.rows)


# --- item 19: check_grad's tolerances ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "ours", "torch_raises"),
    [
        ({"atol": -1}, RuntimeError, RuntimeError),
        ({"atol": math.nan}, RuntimeError, RuntimeError),
        ({"rtol": -0.5}, RuntimeError, RuntimeError),
        ({"rtol": None}, TypeError, TypeError),
        ({"atol": "1e-5"}, TypeError, TypeError),
    ],
)
def test_check_grad_tolerances_raise_as_gradcheck_does(kwargs, ours, torch_raises):
    x = torch.tensor(SEED, dtype=torch.float64)
    with pytest.raises(torch_raises):
        torch.autograd.gradcheck(torch.sin, x.clone().requires_grad_(), **kwargs)
    name = next(iter(kwargs))
    with pytest.raises(ours, match=rf"(?s){name}.*{name}") as info:
        check_grad(torch.sin, x, **kwargs)
    _bilingual(str(info.value))
    assert isinstance(info.value.__cause__, torch_raises)  # torch.isclose's own error, chained


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"atol": math.inf}, ValueError),
        ({"rtol": True}, TypeError),
        ({"eps": True}, TypeError),
        ({"eps": None}, TypeError),
        ({"eps": 0}, ValueError),
        ({"eps": -1e-6}, ValueError),
        ({"eps": math.nan}, ValueError),
        ({"eps": math.inf}, ValueError),
    ],
)
def test_check_grad_checks_gradlab_adds(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))) as info:
        check_grad(torch.sin, torch.tensor(SEED, dtype=torch.float64), **kwargs)
    _bilingual(str(info.value))


def test_check_grad_accepts_zero_and_integer_tolerances():
    x = torch.tensor(SEED, dtype=torch.float64)
    assert check_grad(lambda z: 3 * z, x, atol=1e-9, rtol=0).passed
    assert check_grad(torch.sin, x, atol=1, rtol=0).atol == 1.0


# --- item 19: the vectorised check gives the report the entry-by-entry loop gives -------------------


def _loop_reference(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """What check_grad reported before, rebuilt here entry by entry: rows of autograd, one perturbation per call."""
    xs = tuple(x.detach().double() for x in inputs)
    leaves = tuple(x.clone().requires_grad_() for x in xs)
    outputs = func(*leaves)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    entries = []
    for i, out in enumerate(outputs):
        for o in range(out.numel()):
            grads = torch.autograd.grad(out.reshape(-1)[o], leaves, retain_graph=True, allow_unused=True)
            for j, x in enumerate(xs):
                for e in range(x.numel()):
                    a = 0.0 if grads[j] is None else float(grads[j].reshape(-1)[e])
                    plus, minus = x.clone(), x.clone()
                    plus.view(-1)[e] += eps
                    minus.view(-1)[e] -= eps
                    with torch.no_grad():
                        fp = func(*(plus if k == j else y for k, y in enumerate(xs)))
                        fm = func(*(minus if k == j else y for k, y in enumerate(xs)))
                    fp, fm = (fp if isinstance(fp, tuple) else (fp,)), (fm if isinstance(fm, tuple) else (fm,))
                    n = float((fp[i].reshape(-1)[o] - fm[i].reshape(-1)[o]) / (2 * eps))
                    err = abs(a - n)
                    entries.append((a, n, err, err / max(abs(a), abs(n), atol), err <= atol + rtol * abs(n)))
    return entries


def _two_outputs(x, w):
    return (x * w).sum(dim=1), torch.tanh(x).T @ w[:2]


@pytest.mark.parametrize("chunk", [1, 5, 1 << 20])
def test_check_grad_matches_the_entry_by_entry_loop(monkeypatch, chunk):
    monkeypatch.setattr(gradlab.gradcheck, "_CHUNK_ELEMENTS", chunk)  # chunk boundaries everywhere
    g = torch.Generator().manual_seed(3)
    x, w = torch.randn(2, 3, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    result = check_grad(_two_outputs, (x, w))
    expected = _loop_reference(_two_outputs, (x, w))
    assert len(result.entries) == len(expected) == (2 + 3) * (6 + 3)
    for got, (a, n, err, rel, ok) in zip(result.entries, expected, strict=True):
        assert abs(got.autograd - a) < 1e-12 and abs(got.numeric - n) < 1e-8
        assert abs(got.abs_error - err) < 1e-8 and abs(got.rel_error - rel) < 1e-3
        assert got.ok == ok
    names = [e.entry for e in result.entries]
    assert names[:3] == ["∂out0[0]/∂in0[0, 0]", "∂out0[0]/∂in0[0, 1]", "∂out0[0]/∂in0[0, 2]"]
    assert names[6] == "∂out0[0]/∂in1[0]" and names[-1] == "∂out1[2]/∂in1[2]"


def test_check_grad_falls_back_for_a_func_vmap_cannot_run():
    x = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=torch.float64)

    def branchy(z):  # data-dependent control flow: vmap refuses it
        return z**3 if z.sum() > 0 else -z

    result = check_grad(branchy, x)
    assert result.passed and len(result.entries) == 16
    wrong = check_grad(_WrongSquare.apply, x)  # an old-style Function: neither vmap nor batched grads run it
    expected = _loop_reference(_WrongSquare.apply, (x,))
    assert [e.ok for e in wrong.entries] == [ok for *_, ok in expected]
    assert "WRONG" in str(wrong)


def test_check_grad_entries_behave_as_a_list():
    result = check_grad(_WrongSquare.apply, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    entries = list(result.entries)
    assert len(result.entries) == 9 and all(isinstance(e, GradCheckEntry) for e in entries)
    assert result.entries[-1] == entries[-1] == result.entries[8]
    assert result.entries[2:5] == entries[2:5]
    assert result.entries == entries
    with pytest.raises(IndexError):
        result.entries[9]
    assert result.max_abs_error == max(e.abs_error for e in entries)
    assert result.max_rel_error == max(e.rel_error for e in entries)


def test_check_grad_shows_the_worst_entries_first_found():
    x = torch.linspace(-1, 1, 30, dtype=torch.float64)
    result = check_grad(_WrongSquare.apply, x)  # 900 entries, 29 wrong (x = 0 is not), the worst 20 shown
    lines = str(result).splitlines()
    shown = [line for line in lines if line.startswith("∂")]
    assert len(shown) == 20 and all(line.endswith("WRONG") for line in shown)
    worst = sorted(range(900), key=lambda k: -result.entries[k].abs_error)[:20]
    assert [line.split()[0] for line in shown] == [result.entries[k].entry for k in sorted(worst)]
    assert lines[-1].startswith("… 还有 880 个误差更小的条目没列出")
    assert "880 entries with smaller errors not shown (all 900 are in .entries)" in lines[-1]


def test_check_grad_on_a_thousand_inputs_stays_small():
    # 1,000 × 1,000 entries: made when read, so the report holds tensors, not a million objects
    x = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    result = check_grad(_softmax, x)
    assert result.passed and len(result.entries) == 1_000_000
    assert result.entries[1001].entry == "∂out[1]/∂in[1]"
    assert abs(result.entries[1001].autograd - float(torch.softmax(x, 0)[1] * (1 - torch.softmax(x, 0)[1]))) < 1e-12
    assert len(str(result).splitlines()) == 1 + 1 + 20 + 1


@contextlib.contextmanager
def _no_vmap(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("vmap refused (test)")

    monkeypatch.setattr(torch.func, "vmap", refuse)
    yield


def test_check_grad_without_vmap_gives_the_same_report(monkeypatch):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    f = lambda z: torch.softmax(z, dim=1)  # noqa: E731
    vectorised = check_grad(f, x)
    with _no_vmap(monkeypatch):
        looped = check_grad(f, x)
    assert str(vectorised) == str(looped)
    assert [(e.entry, e.ok) for e in vectorised.entries] == [(e.entry, e.ok) for e in looped.entries]


# --- issue 13: per-sample (block-diagonal) Jacobians with batch_dim --------------------------------------


def _diagonal_blocks(full: torch.Tensor, out_dim: int, out_batch: int, in_batch: int) -> torch.Tensor:
    """Block b of a full Jacobian (output.shape + input.shape): both batch indices equal b."""
    moved = full.movedim(out_batch, 0)
    return torch.diagonal(moved, dim1=0, dim2=out_dim + in_batch).movedim(-1, 0)


@pytest.mark.parametrize("method", METHODS)
def test_batch_dim_gives_the_full_jacobians_diagonal_blocks(method):
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    f = lambda z: torch.softmax(z, dim=-1)  # noqa: E731
    blocks = jacobian(f, x, method=method, batch_dim=0)
    full = jacobian(f, x, method="jacrev")
    assert blocks.shape == (6, 5, 5)
    assert torch.allclose(blocks, _diagonal_blocks(full, 2, 0, 0), atol=1e-14)
    assert torch.allclose(blocks, softmax_jacobian(x, dim=-1), atol=1e-14)
    # the batch along dim 1, and negative batch_dim
    xt = x.T.contiguous()
    g = lambda z: torch.softmax(z, dim=0)  # noqa: E731
    for batch_dim in (1, -1):
        blocks_t = jacobian(g, xt, method=method, batch_dim=batch_dim)
        assert torch.allclose(blocks_t, _diagonal_blocks(jacobian(g, xt, method="jacrev"), 2, 1, 1), atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_batch_dim_with_tuples_of_inputs_and_outputs(method):
    g = torch.Generator().manual_seed(8)
    W = torch.randn(5, 3, dtype=torch.float64, generator=g)

    def f(a, b):
        return torch.tanh(a @ W) * b[:, :1], (a**2).sum(1)

    a, b = torch.randn(7, 5, dtype=torch.float64, generator=g), torch.randn(7, 2, dtype=torch.float64, generator=g)
    blocks = jacobian(f, (a, b), method=method, batch_dim=0)
    full = torch.autograd.functional.jacobian(f, (a, b))
    outs = f(a, b)
    for i in range(2):
        for j, x in enumerate((a, b)):
            want = _diagonal_blocks(full[i][j], outs[i].dim(), 0, 0)
            assert blocks[i][j].shape == (7, *outs[i].shape[1:], *x.shape[1:])
            assert torch.allclose(blocks[i][j], want, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_batch_dim_refuses_a_func_that_mixes_samples(method):
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(9))
    with pytest.raises(ValueError, match=r"(?s)混在了一起.*mixes the samples.*batch_dim") as info:
        jacobian(lambda z: z - z.mean(0), x, method=method, batch_dim=0)
    _bilingual(str(info.value))
    batch_norm = torch.nn.BatchNorm1d(4).train()
    if method in ("jacrev", "jacfwd"):  # torch.func refuses the running statistics' in-place update first
        with pytest.raises(RuntimeError, match=r"(?s)BatchNorm.*model\.eval\(\).*BatchNorm.*model\.eval\(\)") as info:
            jacobian(batch_norm, x, method=method, batch_dim=0)
        assert isinstance(info.value.__cause__, RuntimeError)
    else:
        with pytest.raises(ValueError, match=r"(?s)混在了一起.*BatchNorm.*mixes the samples.*model\.eval\(\)") as info:
            jacobian(batch_norm, x, method=method, batch_dim=0)
    _bilingual(str(info.value))
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Tanh()).eval()
    blocks = jacobian(model, x, method=method, batch_dim=0)  # eval mode: samples are independent
    assert torch.allclose(blocks, _diagonal_blocks(jacobian(model, x, method="jacrev"), 2, 0, 0), atol=1e-6)


def test_batch_dim_errors():
    x = torch.randn(4, 3)
    with pytest.raises(TypeError, match=r"(?s)batch_dim.*int.*batch_dim=0"):
        jacobian(torch.sin, x, batch_dim="0")
    with pytest.raises(ValueError, match=r"(?s)batch_dim=2.*\[4, 3\].*batch_dim=2") as info:
        jacobian(torch.sin, x, batch_dim=2)
    _bilingual(str(info.value))
    with pytest.raises(ValueError, match=r"(?s)批次大小不一样.*batch sizes.*differ"):
        jacobian(torch.add, (x, torch.randn(5, 3)), batch_dim=0)
    with pytest.raises(ValueError, match=r"(?s)func\(\.\.\.\).*\[\]"):
        jacobian(lambda z: z.sum(), x, batch_dim=0)  # the output has no batch dimension


def test_compare_jacobians_shows_the_per_sample_blocks():
    x = torch.randn(8, 10, generator=torch.Generator().manual_seed(10))
    f = lambda z: torch.softmax(z, dim=-1)  # noqa: E731
    table = compare_jacobians(f, x, batch_dim=0, min_time=0.0)
    assert "batch_dim=0" in str(table).splitlines()[0]
    assert "diagonal blocks" in table.reference
    assert all(row.max_abs_diff < 1e-6 for row in table.rows)
    assert table["auto"].chose in METHODS
    closed = compare_jacobians(
        f, x, reference=lambda: softmax_jacobian(x, dim=-1), methods="batched", batch_dim=0, min_time=0.0
    )
    assert closed["batched"].max_abs_diff < 1e-6
