"""gradlab.jacobian against the closed form, torch.autograd.functional.jacobian and finite differences."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab
from gradlab.compare import compare_jacobians
from gradlab.gradcheck import check_grad
from gradlab.jacobians import auto_choice, jacobian, softmax_jacobian
from gradlab.vector_jacobian import vjp

METHODS = ["rows", "batched", "jacrev", "jacfwd", "auto"]
TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
SEED_LOGITS = [0.7728, 0.4713, 0.9653]


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.double() - b.double()).abs().max().item()


class _WrongSquare(torch.autograd.Function):
    """x², with a backward that forgets the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x  # wrong: should be 2 * x * grad_output


class _RightSquare(_WrongSquare):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_output


# --- the seed's numbers ------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_seed_rows_1_and_2(method):
    a = torch.tensor(SEED_LOGITS)
    J = jacobian(lambda z: gradlab.softmax(z, dim=0), a, method=method)
    assert J.shape == (3, 3)
    assert torch.equal(J[1].mul(1e4).round(), torch.tensor([-849.0, 1878.0, -1029.0]))
    assert torch.equal(J[2].mul(1e4).round(), torch.tensor([-1391.0, -1029.0, 2420.0]))


def test_seed_closed_form_matches_the_seed_loop():
    a = torch.tensor(SEED_LOGITS, requires_grad=True)
    p = gradlab.softmax(a, dim=0)
    seed = torch.stack([torch.autograd.grad(p[i], [a], retain_graph=True)[0] for i in range(3)])
    assert _max_diff(softmax_jacobian(a, dim=0), seed) < 1e-7
    assert torch.equal(softmax_jacobian(a, dim=0)[1].mul(1e4).round(), torch.tensor([-849.0, 1878.0, -1029.0]))


# --- every method against the closed form ----------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("method", METHODS)
def test_softmax_2d_every_method_matches_closed_form(method, dim, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g, dtype=dtype)
    J = jacobian(lambda z: torch.softmax(z, dim=dim), x, method=method)
    closed = softmax_jacobian(x, dim=dim, full=True)
    assert J.shape == closed.shape == (4, 5, 4, 5)
    assert J.dtype == dtype
    assert _max_diff(J, closed) < TOL[dtype]


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_jacobian_block_layout(dim):
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    block = softmax_jacobian(x, dim=dim)
    full = softmax_jacobian(x, dim=dim, full=True)
    K = x.shape[dim]
    assert block.shape == (*x.shape, K)
    for b in range(x.shape[1 if dim == 0 else 0]):
        if dim == 0:  # J[i, b, j] = ∂p[i, b] / ∂x[j, b]
            assert torch.equal(block[:, b, :], full[:, b, :, b])
        else:  # J[b, i, j] = ∂p[b, i] / ∂x[b, j]
            assert torch.equal(block[b], full[b, :, b, :])
    assert torch.equal(softmax_jacobian(x[0], dim=0), block[0] if dim == -1 else softmax_jacobian(x[0], dim=-1))


def _mlp_closed_form(x, W1, b1, W2, b2):
    """J of W2 tanh(W1 x + b1) + b2 with respect to x: W2 diag(1 − tanh²) W1."""
    h = torch.tanh(W1 @ x + b1)
    return W2 @ torch.diag(1 - h**2) @ W1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", METHODS)
def test_small_mlp_every_method_matches_closed_form(method, dtype):
    g = torch.Generator().manual_seed(2)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).to(dtype)
    with torch.no_grad():
        for p in mlp.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=dtype))
    x = torch.randn(6, generator=g, dtype=dtype)
    J = jacobian(mlp, x, method=method)
    closed = _mlp_closed_form(x, mlp[0].weight, mlp[0].bias, mlp[2].weight, mlp[2].bias).detach()
    assert J.shape == (3, 6)
    assert not J.requires_grad
    assert _max_diff(J, closed) < TOL[dtype]


@pytest.mark.parametrize("method", METHODS)
def test_large_softmax_every_method_matches_closed_form(method):
    x = torch.randn(200, generator=torch.Generator().manual_seed(3))
    J = jacobian(lambda z: torch.softmax(z, dim=0), x, method=method)
    assert _max_diff(J, softmax_jacobian(x, dim=0)) < 1e-6


# --- layout: same as torch.autograd.functional.jacobian -----------------------------


def _two_in_two_out(x, w):
    return x @ w, (x.sin() * w[0]).sum()


@pytest.mark.parametrize("method", METHODS)
def test_tuple_layouts_match_torch(method):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, generator=g, dtype=torch.float64)
    w = torch.randn(3, generator=g, dtype=torch.float64)
    cases = [
        (_two_in_two_out, (x, w)),
        (lambda x, w: x @ w, (x, w)),
        (lambda x: (x.exp(), x.sum()), x),
        (lambda x: (x.exp(), x.sum()), [x]),
    ]
    for func, inputs in cases:
        ours = jacobian(func, inputs, method=method)
        torch_inputs = tuple(inputs) if isinstance(inputs, list) else inputs
        theirs = torch.autograd.functional.jacobian(func, torch_inputs)
        assert _structure(ours) == _structure(theirs)
        for a, b in zip(_leaves(ours), _leaves(theirs), strict=True):
            assert _max_diff(a, b) < 1e-12


def _structure(value):
    """The nesting and shapes, e.g. ((shape, shape), (shape, shape))."""
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    assert isinstance(value, tuple)
    return tuple(_structure(item) for item in value)


def _leaves(value):
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for item in value for t in _leaves(item)]


@pytest.mark.parametrize("method", METHODS)
def test_unused_input_and_constant_output_give_zeros(method):
    x = torch.randn(3, dtype=torch.float64)
    y = torch.randn(2, dtype=torch.float64)
    J = jacobian(lambda x, y: (x * 2, torch.ones(4, dtype=torch.float64)), (x, y), method=method)
    assert torch.equal(J[0][0], 2 * torch.eye(3, dtype=torch.float64))
    assert torch.equal(J[0][1], torch.zeros(3, 2, dtype=torch.float64))
    assert torch.equal(J[1][0], torch.zeros(4, 3, dtype=torch.float64))
    assert torch.equal(J[1][1], torch.zeros(4, 2, dtype=torch.float64))


def test_inputs_that_require_grad_are_left_alone():
    a = torch.tensor(SEED_LOGITS, requires_grad=True)
    J = jacobian(lambda z: torch.softmax(z, dim=0), a, method="rows")
    assert a.grad is None
    assert not J.requires_grad


# --- "auto" ------------------------------------------------------------------------


def test_auto_never_picks_rows_beyond_one_output():
    assert auto_choice(1, 1000) == "rows"
    for n_out in range(2, 3000, 7):
        for n_in in (1, n_out // 3 + 1, n_out, 5 * n_out):
            assert auto_choice(n_out, n_in) != "rows"
    assert auto_choice(1000, 1000) == "jacrev"
    assert auto_choice(1000, 10) == "jacfwd"
    assert auto_choice(10, 10) == "batched"


def test_auto_falls_back_when_torch_func_cannot_transform():
    x = torch.randn(100, dtype=torch.float64)
    # An old-style custom autograd.Function (no setup_context): torch.func refuses it, plain autograd does not.
    J = jacobian(_RightSquare.apply, x, method="auto")
    assert torch.equal(J, torch.diag(2 * x))
    for method in ("jacrev", "jacfwd"):
        with pytest.raises(RuntimeError, match=rf"(?s)torch\.func\.{method}.*method='batched'"):
            jacobian(_RightSquare.apply, x, method=method)


# --- properties on random shapes ---------------------------------------------------

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_softmax_jacobian_properties(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = 3 * torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    J = softmax_jacobian(x, dim=dim)
    assert J.shape == (*shape, shape[dim])
    blocks = J.movedim(dim % len(shape), -2)  # [..., K, K]
    assert blocks.sum(dim=-1).abs().max() < 1e-12  # rows sum to 0
    assert blocks.sum(dim=-2).abs().max() < 1e-12  # and so do columns
    assert torch.equal(blocks, blocks.transpose(-1, -2))  # symmetric
    full = softmax_jacobian(x, dim=dim, full=True)
    theirs = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, dim=dim), x)
    assert _max_diff(full, theirs) < 1e-12
    method = data.draw(st.sampled_from(METHODS))
    assert _max_diff(jacobian(lambda z: torch.softmax(z, dim=dim), x, method=method), theirs) < 1e-12


@settings(max_examples=30, deadline=None)
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 6), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_every_method_matches_torch_on_random_maps(n_in, n_out, seed, data):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n_out, n_in, generator=g, dtype=torch.float64)
    x = torch.randn(n_in, generator=g, dtype=torch.float64)

    def func(z):
        return torch.tanh(W @ z) * z.sum()

    theirs = torch.autograd.functional.jacobian(func, x)
    method = data.draw(st.sampled_from(METHODS))
    assert _max_diff(jacobian(func, x, method=method), theirs) < 1e-12


# --- check_grad ----------------------------------------------------------------------


def test_check_grad_catches_a_wrong_backward():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    wrong = check_grad(_WrongSquare.apply, x)
    assert wrong.passed is False
    diagonal = [e for e in wrong.entries if e.entry in ("∂out[0]/∂in[0]", "∂out[1]/∂in[1]", "∂out[2]/∂in[2]")]
    assert [e.ok for e in diagonal] == [False, False, False]
    assert [round(e.autograd, 6) for e in diagonal] == [0.5, -1.0, 2.0]
    assert [round(e.numeric, 6) for e in diagonal] == [1.0, -2.0, 4.0]
    assert "FAILED" in str(wrong) and "WRONG" in str(wrong)
    assert "WRONG" in wrong._repr_html_()
    right = check_grad(_RightSquare.apply, x)
    assert right.passed is True
    assert right.max_abs_error < 1e-8


def test_check_grad_seed_softmax_and_upcast_note():
    a = torch.tensor(SEED_LOGITS)
    result = check_grad(lambda z: gradlab.softmax(z, dim=0), a)
    assert result.passed and result.upcast
    assert len(result.entries) == 9
    assert result.max_rel_error < 1e-8
    text = str(result)
    assert text.count("float32") >= 2 and "float64" in text
    assert "注意" in text and "Note" in text
    assert len(result.notes) == 1
    assert "PASSED" in text.splitlines()[0]
    exact = check_grad(lambda z: gradlab.softmax(z, dim=0), a.double())
    assert not exact.upcast and exact.notes == []
    assert [e.autograd for e in exact.entries] == [e.autograd for e in result.entries]


def test_check_grad_tuples_and_float32_model_hint():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, generator=g, dtype=torch.float64)
    w = torch.randn(3, generator=g, dtype=torch.float64)
    result = check_grad(_two_in_two_out, (x, w))
    assert result.passed
    assert len(result.entries) == (2 + 1) * (6 + 3)
    lin = torch.nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"(?s)float64.*model\.double\(\)"):
        check_grad(lin, torch.randn(3))
    assert check_grad(lin.double(), torch.randn(3)).passed


def test_check_grad_bad_eps():
    with pytest.raises(ValueError, match="eps"):
        check_grad(torch.sin, torch.ones(2), eps=0)


# --- compare_jacobians -----------------------------------------------------------------

SANITIZE = re.compile(r"\d+(\.\d+)? (ms|µs|s)\b")
RATIO = re.compile(r"\d+(\.\d+)?×")


def test_compare_jacobians_table():
    a = torch.tensor(SEED_LOGITS)
    table = compare_jacobians(
        lambda z: gradlab.softmax(z, dim=0), a, reference=lambda: softmax_jacobian(a, dim=0), min_time=0.001
    )
    assert [r.method for r in table.rows] == ["reference", "rows", "batched", "jacrev", "jacfwd", "auto"]
    assert table["auto"].chose == "batched"
    assert table["reference"].ratio == 1.0
    for row in table.rows:
        assert row.max_abs_diff < 1e-6
        assert row.median_s > 0 and len(row.times_s) >= 3
        assert row.ratio == pytest.approx(row.median_s / table["reference"].median_s)
    text = str(table)
    assert repr(table) == text
    lines = text.splitlines()
    assert len(lines) == 2 + len(table.rows)
    for line, row in zip(lines[2:], table.rows, strict=True):
        assert line.startswith(row.label)
        assert len(SANITIZE.findall(line)) == 1
        assert len(RATIO.findall(line)) == 1
        assert re.search(r"\s(0|\de-\d\d)\s", line)  # one significant digit
    html = table._repr_html_()
    assert html.startswith("<table") and html.count("<tr>") == 1 + len(table.rows)


def test_compare_jacobians_text_is_stable_once_times_are_sanitized():
    a = torch.tensor(SEED_LOGITS)

    def run():
        table = compare_jacobians(lambda z: gradlab.softmax(z, dim=0), a, min_time=0.001)
        return RATIO.sub("RATIO", SANITIZE.sub("TIME", str(table))), table

    first, table = run()
    second, _ = run()
    assert first == second
    assert "TIME  RATIO" in first
    assert table.ratio_to == "fastest" and min(r.ratio for r in table.rows) == 1.0
    assert "torch.autograd.functional.jacobian" in first


def test_compare_jacobians_given_tensor_and_bad_reference():
    x = torch.randn(3, 4, dtype=torch.float64)
    f = lambda z: torch.softmax(z, dim=-1)  # noqa: E731
    table = compare_jacobians(f, x, reference=softmax_jacobian(x, -1, full=True), methods=["batched"], min_time=0)
    assert table["batched"].max_abs_diff < 1e-12
    with pytest.raises(ValueError, match=r"(?s)full=True"):
        compare_jacobians(f, x, reference=softmax_jacobian(x, -1), methods=["batched"], min_time=0)
    with pytest.raises(TypeError, match="reference"):
        compare_jacobians(f, x, reference=[1.0], methods=["batched"], min_time=0)


def test_compare_jacobians_accepts_a_list_of_inputs_like_jacobian():
    x, w = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0])
    table = compare_jacobians(lambda a, b: a * b, [x, w], methods=["batched", "auto"], min_time=0)
    assert table.reference == "torch.autograd.functional.jacobian"
    assert table["batched"].max_abs_diff == 0.0
    assert table["auto"].max_abs_diff == 0.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.234e-4, "123 µs"), (1.5e-7, "0.150 µs"), (0.0123, "12.3 ms"), (0.00123, "1.23 ms"), (2.5, "2.50 s")],
)
def test_time_format(seconds, text):
    from gradlab._format import duration

    assert duration(seconds) == text
    assert SANITIZE.fullmatch(text)


# --- vjp -----------------------------------------------------------------------------


def test_vjp_is_what_backward_computes():
    a = torch.tensor(SEED_LOGITS, requires_grad=True)
    v = torch.tensor([0.3, -1.0, 2.0])
    p = gradlab.softmax(a, dim=0)
    p.backward(gradient=v)
    result = vjp(lambda z: gradlab.softmax(z, dim=0), a, v)
    assert torch.equal(result.vjp, a.grad)
    output, g = result
    assert torch.equal(g, a.grad) and torch.equal(output, p.detach())
    assert _max_diff(result.via_jacobian, v @ softmax_jacobian(a, dim=0)) < 1e-6
    assert result.max_abs_diff < 1e-6
    text = str(result)
    assert "backward(gradient=v)" in text and "v @ J" in text
    assert "<table" in result._repr_html_()


def test_vjp_tuples():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 3, generator=g, dtype=torch.float64)
    w = torch.randn(3, generator=g, dtype=torch.float64)
    vs = (torch.randn(2, generator=g, dtype=torch.float64), torch.tensor(1.5, dtype=torch.float64))
    result = vjp(_two_in_two_out, (x, w), vs)
    _, theirs = torch.autograd.functional.vjp(_two_in_two_out, (x, w), vs)
    for a, b in zip(result.vjp, theirs, strict=True):
        assert _max_diff(a, b) < 1e-12
    assert result.max_abs_diff < 1e-12


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_func_returning_a_non_tensor(method):
    with pytest.raises(TypeError, match=r"(?s)不是张量.*not a tensor.*What to do"):
        jacobian(lambda z: z.sum().item(), torch.ones(3), method=method)


@pytest.mark.parametrize("method", METHODS)
def test_func_returning_an_integer_tensor(method):
    with pytest.raises(TypeError, match=r"(?s)整数.*integer.*What to do"):
        jacobian(lambda z: z.argmax(), torch.ones(3), method=method)


@pytest.mark.parametrize("call", [jacobian, check_grad, compare_jacobians])
def test_integer_inputs(call):
    # PyTorch raises RuntimeError here (torch.autograd.functional.jacobian, requires_grad_): so does gradlab, chained
    with pytest.raises(RuntimeError, match=r"(?s)int64.*浮点.*int64.*floating point.*x\.float\(\)") as info:
        call(torch.sin, torch.tensor([1, 2, 3]))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "floating point dtype can require gradients" in str(info.value.__cause__)
    with pytest.raises(RuntimeError, match=r"(?s)inputs\[1\].*int64"):
        call(torch.add, (torch.ones(2), torch.tensor([1, 2])))


def test_non_tensor_inputs_and_func():
    with pytest.raises(TypeError, match=r"(?s)inputs.*list.*torch\.tensor"):
        jacobian(torch.sin, [[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"(?s)func.*Tensor.*function itself"):
        jacobian(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="empty"):
        jacobian(torch.sin, ())


def test_unknown_method():
    with pytest.raises(ValueError, match=r"(?s)不认识.*Unknown method='fast'.*'auto'"):
        jacobian(torch.sin, torch.ones(3), method="fast")
    with pytest.raises(ValueError, match="Unknown method"):
        compare_jacobians(torch.sin, torch.ones(3), methods=["rows", "fast"])


def test_vjp_v_shape_and_type_mismatch():
    f = lambda z: torch.softmax(z, dim=0)  # noqa: E731
    with pytest.raises(ValueError, match=r"(?s)形状是 \[2\].*shape \[2\] but the output has shape \[3\].*ones_like"):
        vjp(f, torch.ones(3), torch.ones(2))
    with pytest.raises(TypeError, match=r"(?s)floating point.*ones_like"):
        vjp(f, torch.ones(3), torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match=r"(?s)one v per output"):
        vjp(f, torch.ones(3), (torch.ones(3), torch.ones(3)))


def test_softmax_jacobian_bad_dim_and_input():
    with pytest.raises(ValueError, match=r"(?s)dim=2.*between -2 and 1"):
        softmax_jacobian(torch.ones(2, 3), dim=2)
    with pytest.raises(NotImplementedError, match=r"(?s)int64.*浮点.*int64.*floating point") as info:
        softmax_jacobian(torch.tensor([1, 2]), dim=0)  # as torch.softmax raises
    assert isinstance(info.value.__cause__, NotImplementedError)
    with pytest.raises(TypeError, match="dim"):
        softmax_jacobian(torch.ones(3), dim=None)


def test_public_names():
    for name in ("jacobian", "softmax_jacobian", "compare_jacobians", "check_grad", "vjp"):
        assert name in gradlab.__all__
        assert callable(getattr(gradlab, name))
