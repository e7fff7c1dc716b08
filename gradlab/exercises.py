"""Exercises that check the learner: predict → run → check.

Each exercise in notebooks 01–03 has an id such as ``"01.1"``. The learner
writes a prediction, runs a cell that computes the answer with autograd, and
asks :func:`check` whether the prediction was right. :func:`check` answers in
Chinese first, then English: ``✓`` for a right answer, specific feedback for
typical wrong answers, a generic hint otherwise. :func:`hint` and
:func:`solution` reveal more, only when asked.

The answers live here, not in the notebooks' visible text: numeric answers are
computed by autograd when :func:`check` runs, and multiple-choice answers are
stored as SHA-256 digests.

Example:
    >>> from gradlab import exercises
    >>> print(exercises.check("01.1", 4.0))
    ✓ 对！4 就是 autograd 算出的梯度。
    ✓ Right! 4 is the gradient autograd computes.
    >>> print(exercises.check("01.1", 2.0).text.splitlines()[0])
    ✗ 2？这是 w = 2 时的梯度。w 改成了 3，pred = x·w 变了，误差也变了。
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from gradlab._format import plain

__all__ = ["EXERCISES", "Exercise", "Feedback", "Solution", "check", "hint", "solution"]

RTOL = 1e-2
"""Relative tolerance of :func:`check` for numeric answers (a prediction of 0.333 for 1/3 is right)."""
ATOL = 5e-3
"""Absolute tolerance of :func:`check` for numeric answers."""


@dataclass(frozen=True)
class Feedback:
    """What :func:`check` says: ``ok`` is True only for a right answer; ``text`` is Chinese first, then English."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Solution:
    """A worked solution: ``answer`` passes :func:`check`; ``code`` computes it with autograd.

    In a notebook it shows as a collapsed ``<details>`` block (GitHub, nbviewer) and as
    plain text elsewhere. The first line of both names the exercise and nothing more,
    because a collapsed output in JupyterLab still shows its first line.
    """

    exercise_id: str
    answer: Any
    zh: str
    en: str
    code: str

    def __str__(self) -> str:
        # The first line names the exercise only: JupyterLab shows it on a collapsed output.
        return f"解答 {self.exercise_id} / Solution {self.exercise_id}\n{self.zh}\n{self.en}\n\n{self.code}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return (
            f"<details><summary>解答 {self.exercise_id} / Solution {self.exercise_id}（点击展开 / click to open）"
            f"</summary>\n<p>{html.escape(self.zh)}</p><p>{html.escape(self.en)}</p>"
            f"<pre>{html.escape(self.code)}</pre></details>"
        )


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    ``expected`` computes the right answer (numbers: with autograd, when asked);
    ``choice_digest`` is set instead for multiple-choice exercises. ``wrong`` holds
    typical wrong answers with their feedback ``(answer, zh, en)``.
    """

    id: str
    kind: str
    right_zh: str
    right_en: str
    hint_zh: str
    hint_en: str
    solution_zh: str
    solution_en: str
    code: str
    wrong: tuple[tuple[Any, str, str], ...]
    expected: Callable[[], Any] | None = None
    choice_digest: str = ""
    choices: tuple[str, ...] = field(default=())


def _digest(exercise_id: str, choice: str) -> str:
    return hashlib.sha256(f"gradlab:{exercise_id}:{choice.strip().lower()}".encode()).hexdigest()


def _numbers(value: Any) -> list[float] | None:
    """Flatten a number, tensor, or (nested) tuple/list of them into floats; None if it is not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return None
        return [float(v) for v in value.detach().double().flatten().tolist()]
    if isinstance(value, (tuple, list)):
        out: list[float] = []
        for item in value:
            numbers = _numbers(item)
            if numbers is None:
                return None
            out.extend(numbers)
        return out
    return None


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        math.isfinite(x) and abs(x - y) <= ATOL + RTOL * abs(y) for x, y in zip(a, b, strict=True)
    )


def _show(value: Any) -> str:
    numbers = _numbers(value)
    if numbers is None:
        return repr(value) if isinstance(value, str) else type(value).__name__
    shown = ", ".join(plain(round(v, 4)) for v in numbers)
    return shown if len(numbers) == 1 else f"({shown})"


def _ok(exercise: Exercise, answer: Any) -> Feedback:
    return Feedback(
        True, f"✓ 对！{exercise.right_zh.format(answer=answer)}\n✓ Right! {exercise.right_en.format(answer=answer)}"
    )


def _generic(exercise: Exercise, shown: str) -> Feedback:
    return Feedback(
        False,
        f"✗ {shown}？还不对。提示：{exercise.hint_zh} 还想要更多提示：exercises.hint({exercise.id!r})。\n"
        f"✗ {shown}? Not yet. Hint: {exercise.hint_en} More help: exercises.hint({exercise.id!r}).",
    )


def _specific(shown: str, zh: str, en: str) -> Feedback:
    return Feedback(False, f"✗ {shown}？{zh}\n✗ {shown}? {en}")


def _check_choice(exercise: Exercise, answer: Any, result: Any = None) -> Feedback:
    if not isinstance(answer, str) or answer.strip().lower() not in exercise.choices:
        options = "、".join(exercise.choices)
        return Feedback(
            False,
            f'✗ 请用一个字母回答（{options}），例如 "{exercise.choices[0]}"。\n'
            f'✗ Answer with one letter ({", ".join(exercise.choices)}), e.g. "{exercise.choices[0]}".',
        )
    letter = answer.strip().lower()
    if _digest(exercise.id, letter) == exercise.choice_digest:
        feedback = _ok(exercise, letter)
    else:
        feedback = next(
            (_specific(letter, zh, en) for wrong, zh, en in exercise.wrong if wrong == letter),
            _generic(exercise, letter),
        )
    if isinstance(result, BaseException):
        first = (str(result).strip().splitlines() or [""])[0]
        raised = f"{type(result).__name__}: {first}"
        feedback = Feedback(feedback.ok, f"{feedback.text}\n运行结果 / The cell raised: {raised}")
    return feedback


def _check_function(exercise: Exercise, answer: Callable[..., Any]) -> Feedback:
    assert exercise.expected is not None
    points = exercise.expected()
    try:
        results = [answer(a.clone()) for a, _ in points]
    except Exception as error:  # the learner's code failed: say how, in both languages
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return Feedback(
            False,
            f"✗ 你的函数出错了：{type(error).__name__}: {first} 提示：{exercise.hint_zh}\n"
            f"✗ Your function raised {type(error).__name__}: {first} Hint: {exercise.hint_en}",
        )
    if any(r is ... for r in results):
        return Feedback(
            False,
            "… 先写出你的函数：把 return ... 换成雅可比矩阵的公式，再运行。\n"
            "… Write your function first: replace the ... in return ... with the formula for the Jacobian, then run.",
        )
    got = [_numbers(r) for r in results]
    if any(g is None for g in got):
        return Feedback(
            False,
            "✗ 你的函数要返回一个张量（K×K 的矩阵）。\n✗ Your function must return a tensor (a K×K matrix).",
        )
    if all(_close(g, _numbers(j) or []) for g, (_, j) in zip(got, points, strict=True)):  # type: ignore[arg-type]
        return _ok(exercise, "")
    for make_wrong, zh, en in exercise.wrong:
        if all(
            _close(g, _numbers(make_wrong(torch.softmax(a, dim=0))) or [])  # type: ignore[arg-type]
            for g, (a, _) in zip(got, points, strict=True)
        ):
            return _specific("J", zh, en)
    return _generic(exercise, "J")


def check(exercise_id: str, answer: Any, result: Any = None) -> Feedback:
    """Check a prediction for exercise ``exercise_id``; Chinese first, then English.

    Args:
        exercise_id: e.g. ``"02.1"``.
        answer: your prediction: a number, a tensor, a tuple of numbers/tensors,
            a letter for "predict the error" exercises, or a function for
            "implement it" exercises. ``...`` (not answered yet) asks you to predict first.
        result: optionally, what your "run" cell computed with autograd. If it
            differs from the exercise's value, your set-up has changed, and
            ``check`` says so.

    Returns:
        A :class:`Feedback`; ``feedback.ok`` is True only for a right answer.
        Numbers count as equal within ``ATOL + RTOL·|expected|``.

    Example:
        >>> print(check("01.1", ...).text.splitlines()[1])
        … Write your prediction first: replace the ... in answer = ... with your answer, then run the cells again.
        >>> check("02.2", "b").ok
        True
    """
    exercise = _get(exercise_id)
    if answer is ... or answer is None:
        return Feedback(
            False,
            "… 先写下你的预测：把 answer = ... 里的 ... 换成你的答案，再依次运行下面的单元格。\n"
            "… Write your prediction first: replace the ... in answer = ... with your answer, "
            "then run the cells again.",
        )
    if exercise.kind == "choice":
        return _check_choice(exercise, answer, result)
    if exercise.kind == "implement":
        if not callable(answer):
            return Feedback(
                False,
                "✗ 这里要交的是一个函数：def my_softmax_jacobian(a): ...，然后 check 这个函数本身。\n"
                "✗ Hand in a function: def my_softmax_jacobian(a): ..., then check the function itself.",
            )
        return _check_function(exercise, answer)
    assert exercise.expected is not None
    expected = _numbers(exercise.expected())
    assert expected is not None
    if result is not None and not isinstance(result, BaseException):
        computed = _numbers(result)
        if computed is not None and not _close(computed, expected):
            return Feedback(
                False,
                f"✗ 你的“运行”单元格算出了 {_show(result)}，和这道题的设置不一致：有变量被改过了。"
                f"请从这道题的第一个单元格（它自己的设置）重新运行。\n"
                f"✗ Your run cell computed {_show(result)}, which does not match this exercise's set-up: "
                f"a variable was changed. Run again from the exercise's first cell (its own set-up).",
            )
    got = _numbers(answer)
    shown = _show(answer)
    if got is None:
        return Feedback(
            False,
            f"✗ 请用数字、张量或数字的元组回答，而不是 {shown}。\n"
            f"✗ Answer with a number, a tensor or a tuple of numbers, not {shown}.",
        )
    if _close(got, expected):
        return _ok(exercise, shown)
    for wrong, zh, en in exercise.wrong:
        numbers = _numbers(wrong() if callable(wrong) else wrong)
        if numbers is not None and _close(got, numbers):
            return _specific(shown, zh, en)
    if len(got) != len(expected):
        return Feedback(
            False,
            f"✗ {shown}？答案有 {len(expected)} 个数，你给了 {len(got)} 个。提示：{exercise.hint_zh}\n"
            f"✗ {shown}? The answer has {len(expected)} number(s); you gave {len(got)}. Hint: {exercise.hint_en}",
        )
    return _generic(exercise, shown)


def hint(exercise_id: str) -> str:
    """A hint for ``exercise_id`` (Chinese, then English) that does not give the answer away.

    Example:
        >>> print(hint("01.1").splitlines()[1])
        Hint: chain rule: ∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − target) · x.
    """
    exercise = _get(exercise_id)
    return f"提示：{exercise.hint_zh}\nHint: {exercise.hint_en}"


def solution(exercise_id: str) -> Solution:
    """The worked solution of ``exercise_id``: the answer, why, and code that computes it.

    Example:
        >>> solution("01.1").answer
        4.0
    """
    exercise = _get(exercise_id)
    namespace: dict[str, Any] = {"torch": torch, "F": F}
    exec(exercise.code, namespace)  # the solution's own code computes the answer
    return Solution(exercise.id, namespace["answer"], exercise.solution_zh, exercise.solution_en, exercise.code)


def _get(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        known = ", ".join(EXERCISES)
        raise KeyError(
            f"没有编号为 {exercise_id!r} 的练习；已有：{known}。\nThere is no exercise {exercise_id!r}; known: {known}."
        ) from None


# --- The answers, computed with autograd ---------------------------------------------


def _mse_grads(x: float, w: float, target: float = 1.0, *, wrt_x: bool = False) -> tuple[float, ...]:
    xt = torch.full([1], x, dtype=torch.float64, requires_grad=wrt_x)
    wt = torch.full([1], w, dtype=torch.float64, requires_grad=True)
    mse = F.mse_loss(torch.full([1], target, dtype=torch.float64), xt * wt)
    grads = torch.autograd.grad(mse, [wt, xt] if wrt_x else [wt])
    return tuple(g.item() for g in grads)


def _accumulated(times: int) -> float:
    w = torch.full([1], 2.0, dtype=torch.float64, requires_grad=True)
    for _ in range(times):
        F.mse_loss(torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64) * w).backward()
    assert w.grad is not None
    return w.grad.item()


_A = (0.7728, 0.4713, 0.9653)


def _square_backward() -> list[float]:
    a = torch.tensor(_A, dtype=torch.float64, requires_grad=True)
    (a**2).backward(gradient=torch.ones(3, dtype=torch.float64))
    assert a.grad is not None
    return a.grad.tolist()


def _descent(steps: int = 5, lr: float = 0.1, *, zero: bool = True) -> float:
    x = torch.ones(1)
    w = torch.full([1], -1.0, requires_grad=True)
    for _ in range(steps):
        loss = F.mse_loss(torch.ones(1), x * w)
        loss.backward()
        with torch.no_grad():
            assert w.grad is not None
            w -= lr * w.grad
        if zero:
            assert w.grad is not None
            w.grad.zero_()
    return w.item()


def _ratio_row_sums() -> list[float]:
    a = torch.tensor([1.0, 3.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda a: a / a.sum(), a)
    row_sums: list[float] = jac.sum(dim=1).tolist()
    return row_sums


def _ratio_column_sums() -> list[float]:
    a = torch.tensor([1.0, 3.0], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda a: a / a.sum(), a)
    column_sums: list[float] = jac.sum(dim=0).tolist()
    return column_sums


def _uniform_softmax() -> tuple[float, float, float]:
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    p = F.softmax(a, dim=0)
    (row0,) = torch.autograd.grad(p[0], [a])
    return p[0].item(), row0[0].item(), row0[1].item()


def _jacobian_points() -> list[tuple[torch.Tensor, torch.Tensor]]:
    from gradlab.jacobians import jacobian

    points = [
        torch.tensor(_A, dtype=torch.float64),
        torch.tensor([2.0, -1.0, 0.5, 0.0], dtype=torch.float64),
        torch.tensor([1.0, 3.0], dtype=torch.float64),
    ]
    return [(a, jacobian(lambda z: F.softmax(z, dim=0), a)) for a in points]


def _cross_entropy_grad() -> list[float]:
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(a.unsqueeze(0), torch.tensor([0]))
    (g,) = torch.autograd.grad(loss, [a])
    return g.tolist()


_THIRD = 1 / 3

EXERCISES: dict[str, Exercise] = {
    exercise.id: exercise
    for exercise in [
        Exercise(
            id="01.1",
            kind="number",
            expected=lambda: _mse_grads(1.0, 3.0)[0],
            right_zh="{answer} 就是 autograd 算出的梯度。",
            right_en="{answer} is the gradient autograd computes.",
            hint_zh="链式法则：∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − target) · x。",
            hint_en="chain rule: ∂mse/∂w = ∂mse/∂pred · ∂pred/∂w = 2(x·w − target) · x.",
            solution_zh="由链式法则，∂mse/∂w = 2·x·(x·w − 1) = 2·1·(1·3 − 1) = 4。",
            solution_en="By the chain rule, ∂mse/∂w = 2·x·(x·w − 1) = 2·1·(1·3 − 1) = 4.",
            code=(
                "# 重新设置，再用 autograd 求梯度 / a fresh set-up, then the gradient by autograd\n"
                "x = torch.ones(1)\n"
                "w = torch.full([1], 3.).requires_grad_()\n"
                "mse = F.mse_loss(torch.ones(1), x * w)\n"
                "answer = torch.autograd.grad(mse, [w])[0].item()  # 4.0"
            ),
            wrong=(
                (
                    2.0,
                    "这是 w = 2 时的梯度。w 改成了 3，pred = x·w 变了，误差也变了。",
                    "That is the gradient at w = 2. With w = 3 the prediction x·w changes, and so does the error.",
                ),
                (
                    6.0,
                    "你算的是 2·x·w，少减了目标值：误差是 pred − target = 3 − 1。",
                    "You computed 2·x·w and forgot to subtract the target: the error is pred − target = 3 − 1.",
                ),
                (
                    -4.0,
                    "符号反了：∂(target − pred)²/∂pred = 2(pred − target)，w 太大时梯度为正。",
                    "The sign is flipped: ∂(target − pred)²/∂pred = 2(pred − target); when w is too large the gradient is positive.",
                ),
                (1.0, "这是 mse 在 w = 2 时的值，不是梯度。", "That is the value of mse at w = 2, not a gradient."),
            ),
        ),
        Exercise(
            id="01.2",
            kind="number",
            expected=lambda: _mse_grads(3.0, 2.0)[0],
            right_zh="{answer} = 2·(x·w − 1)·x：链式法则里的因子 x = 3 在这里看得见。",
            right_en="{answer} = 2·(x·w − 1)·x: the chain rule's factor x = 3 is visible here.",
            hint_zh="pred = x·w = 6，∂mse/∂pred = 2(pred − 1)，再乘上 ∂pred/∂w = x。",
            hint_en="pred = x·w = 6, ∂mse/∂pred = 2(pred − 1), then multiply by ∂pred/∂w = x.",
            solution_zh="由链式法则，∂mse/∂w = 2·x·(x·w − 1) = 2·3·(3·2 − 1) = 30，因子 x = 3 不能漏。",
            solution_en="By the chain rule, ∂mse/∂w = 2·x·(x·w − 1) = 2·3·(3·2 − 1) = 30; the factor x = 3 must not be dropped.",
            code=(
                "# x = 3：链式法则的因子 x 看得见 / x = 3 makes the chain rule's factor x visible\n"
                "x = torch.full([1], 3.)\n"
                "w = torch.full([1], 2.).requires_grad_()\n"
                "mse = F.mse_loss(torch.ones(1), x * w)\n"
                "answer = torch.autograd.grad(mse, [w])[0].item()  # 30.0"
            ),
            wrong=(
                (
                    10.0,
                    "你忘了 ∂pred/∂w = x：2(x·w − 1) = 10 只是 ∂mse/∂pred，还要乘 x = 3。",
                    "You forgot ∂pred/∂w = x: 2(x·w − 1) = 10 is only ∂mse/∂pred; multiply by x = 3.",
                ),
                (2.0, "这是 x = 1 时的梯度。x 改成了 3。", "That is the gradient for x = 1. Here x = 3."),
                (
                    90.0,
                    "x 乘了两次：∂mse/∂w = 2(x·w − 1)·x，只有一个 x。",
                    "You multiplied by x twice: ∂mse/∂w = 2(x·w − 1)·x has a single factor x.",
                ),
            ),
        ),
        Exercise(
            id="01.3",
            kind="number",
            expected=lambda: _mse_grads(3.0, 2.0, wrt_x=True),
            right_zh="返回一个元组 {answer}：顺序和 inputs 列表 [w, x] 一样，∂mse/∂w = 2(xw − 1)·x，∂mse/∂x = 2(xw − 1)·w。",
            right_en="It returns a tuple {answer}, in the order of the inputs list [w, x]: "
            "∂mse/∂w = 2(xw − 1)·x and ∂mse/∂x = 2(xw − 1)·w.",
            hint_zh="x 和 w 在 pred = x·w 里的地位对称：对 x 求导时，w 是因子。",
            hint_en="x and w play symmetric roles in pred = x·w: differentiating by x, the factor is w.",
            solution_zh="(2·(3·2 − 1)·3, 2·(3·2 − 1)·2) = (30, 20)：每个输入一个梯度，顺序同 inputs。",
            solution_en="(2·(3·2 − 1)·3, 2·(3·2 − 1)·2) = (30, 20): one gradient per input, in the order of inputs.",
            code=(
                "# x 也需要梯度 / x requires grad too\n"
                "x = torch.full([1], 3.).requires_grad_()\n"
                "w = torch.full([1], 2.).requires_grad_()\n"
                "mse = F.mse_loss(torch.ones(1), x * w)\n"
                "answer = tuple(g.item() for g in torch.autograd.grad(mse, [w, x]))  # (30.0, 20.0)"
            ),
            wrong=(
                (
                    (20.0, 30.0),
                    "顺序反了：返回值的顺序和 inputs 列表 [w, x] 一样，先 w 后 x。",
                    "The order is reversed: the results come in the order of the inputs list [w, x], w first.",
                ),
                (
                    (30.0, 0.0),
                    "x 也设置了 requires_grad，它同样得到梯度 2(xw − 1)·w。",
                    "x requires grad too, so it gets a gradient as well: 2(xw − 1)·w.",
                ),
                (
                    30.0,
                    "inputs 里有两个张量，所以返回一个有两个梯度的元组。",
                    "There are two tensors in inputs, so the result is a tuple of two gradients.",
                ),
            ),
        ),
        Exercise(
            id="01.4",
            kind="choice",
            choices=("a", "b", "c", "d"),
            choice_digest="ebb97862b88785ba79d5e138b5fe1ccdc27d2ea20a4c8f1bef94866bf0c9b0a9",
            right_zh="计算 mse 时 w 还不需要梯度，PyTorch 没有记录计算图，mse 没有 grad_fn；"
            "之后再调用 requires_grad_() 也补不回来，所以报 RuntimeError。先标记 w，再做前向计算。",
            right_en="When mse was computed, w did not require grad yet, so PyTorch recorded no graph and mse has no "
            "grad_fn; calling requires_grad_() afterwards cannot add it, hence the RuntimeError. Mark w first, "
            "then run the forward pass.",
            hint_zh="计算图是什么时候记录的？计算 mse 的那一刻，w 需要梯度吗？",
            hint_en="When is the graph recorded? At the moment mse was computed, did w require grad?",
            solution_zh="c：计算图在前向计算时记录；那时 w 不需要梯度，mse 没有 grad_fn，"
            "报错 element 0 of tensors does not require grad and does not have a grad_fn。",
            solution_en="c: the graph is recorded during the forward pass; w did not require grad then, so mse has no "
            "grad_fn and PyTorch raises: element 0 of tensors does not require grad and does not have a grad_fn.",
            code='answer = "c"',
            wrong=(
                (
                    "a",
                    "requires_grad_() 不会回头补记计算图：计算 mse 时 w 还不需要梯度。",
                    "requires_grad_() does not record the graph after the fact: w did not require grad when mse was computed.",
                ),
                (
                    "b",
                    "这里只调用了一次 autograd.grad，没有什么被释放；问题是根本没有记录计算图。",
                    "autograd.grad is called only once here, so nothing was freed; no graph was recorded at all.",
                ),
                (
                    "d",
                    "PyTorch 不会悄悄返回 0：没有计算图，它就报错。",
                    "PyTorch does not silently return 0: with no graph it raises an error.",
                ),
            ),
        ),
        Exercise(
            id="02.1",
            kind="number",
            expected=lambda: _accumulated(3),
            right_zh="{answer}：每次 backward 把 2 加到 .grad 上，2 + 2 + 2 = 6。",
            right_en="{answer}: every backward adds 2 into .grad, 2 + 2 + 2 = 6.",
            hint_zh="backward 不替换 .grad，而是把新梯度加上去。每一次的梯度是多少？",
            hint_en="backward does not replace .grad; it adds the new gradient. What is each gradient?",
            solution_zh="每次前向 + backward 的梯度都是 2，三次累加得 6。",
            solution_en="Each forward + backward gives 2; three of them add up to 6.",
            code=(
                "x = torch.ones(1)\n"
                "w = torch.full([1], 2.).requires_grad_()\n"
                "for _ in range(3):\n"
                "    F.mse_loss(torch.ones(1), x * w).backward()  # 没有 zero_() / no zero_()\n"
                "answer = w.grad.item()  # 6.0"
            ),
            wrong=(
                (
                    2.0,
                    "backward 不会替换 .grad，而是累加：三次 backward，三个 2 加在一起。",
                    "backward does not replace .grad, it accumulates: three backward calls add three 2s.",
                ),
                (4.0, "数一数：三次 backward，不是两次。", "Count again: three backward calls, not two."),
                (
                    8.0,
                    "累加是加法，不是翻倍：每次 backward 都加上同样的 2。",
                    "Accumulation adds, it does not double: every backward adds the same 2.",
                ),
            ),
        ),
        Exercise(
            id="02.2",
            kind="choice",
            choices=("a", "b", "c", "d"),
            choice_digest="c9137826ebf5c894b594b63261cc4a85094b1db039ef0fa355c17cbffe7574ae",
            right_zh="w = w * 2 让名字 w 指向一个新张量，它不在 mse 的计算图里，所以 PyTorch 报 RuntimeError"
            "（appears to not have been used in the graph）。重新做一次前向计算就好了。",
            right_en="w = w * 2 makes the name w point to a new tensor that is not in mse's graph, so PyTorch raises "
            "RuntimeError (appears to not have been used in the graph). A new forward pass fixes it.",
            hint_zh="w = w * 2 之后，名字 w 指向的还是计算 mse 时用的那个张量吗？",
            hint_en="After w = w * 2, does the name w still refer to the tensor mse was computed from?",
            solution_zh="b：重新赋值后的 w 是一个新张量，没有参与 mse 的计算。先用新的 w 重新计算 mse，再求梯度。",
            solution_en="b: the re-assigned w is a new tensor that was not used to compute mse. "
            "Recompute mse with the new w, then ask for the gradient.",
            code='answer = "b"',
            wrong=(
                (
                    "a",
                    "mse 是用旧的 w 算的；PyTorch 不会因为你改了名字 w 就重新计算 mse。",
                    "mse was computed from the old w; PyTorch does not recompute mse because the name w changed.",
                ),
                (
                    "c",
                    "新的 w = w * 2 仍然需要梯度（它由需要梯度的张量算出），问题不在 requires_grad。",
                    "The new w = w * 2 still requires grad (it comes from a tensor that does); requires_grad is not the problem.",
                ),
                (
                    "d",
                    "autograd.grad 只返回梯度，不写 .grad；而且这里它根本没有算出梯度。",
                    "autograd.grad only returns gradients and never writes .grad; and here it computes none.",
                ),
            ),
        ),
        Exercise(
            id="02.3",
            kind="number",
            expected=_square_backward,
            right_zh="{answer} = 2a：1ᵀJ 就是 y.sum() 的梯度，J = diag(2a)。",
            right_en="{answer} = 2a: 1ᵀJ is the gradient of y.sum(), with J = diag(2a).",
            hint_zh="backward(gradient=v) 算 vᵀJ；y = a² 的 J 是对角矩阵 diag(2a)。",
            hint_en="backward(gradient=v) computes vᵀJ; for y = a² the Jacobian is diag(2a).",
            solution_zh="1ᵀ·diag(2a) = 2a，等于标量 y.sum() = Σ aᵢ² 的梯度。",
            solution_en="1ᵀ·diag(2a) = 2a, the gradient of the scalar y.sum() = Σ aᵢ².",
            code=(
                "a = torch.tensor([0.7728, 0.4713, 0.9653], requires_grad=True)\n"
                "(a ** 2).backward(gradient=torch.ones(3))\n"
                "answer = a.grad  # 2a"
            ),
            wrong=(
                (_A, "你忘了因子 2：d(a²)/da = 2a。", "You forgot the factor 2: d(a²)/da = 2a."),
                (
                    (1.0, 1.0, 1.0),
                    "那是 v 本身；backward 算的是 vᵀJ，要乘上 J = diag(2a)。",
                    "That is v itself; backward computes vᵀJ, so multiply by J = diag(2a).",
                ),
                (
                    4.4188,
                    "a.grad 和 a 形状相同（3 个数），不是一个标量。",
                    "a.grad has the shape of a (three numbers), not a single number.",
                ),
            ),
        ),
        Exercise(
            id="02.4",
            kind="number",
            expected=lambda: _descent(),
            right_zh="修好了：每一步之后 w.grad.zero_()，5 步后 w = {answer}。",
            right_en="Fixed: with w.grad.zero_() after every step, w = {answer} after 5 steps.",
            hint_zh="每一步 backward 之后，.grad 里留下了什么？下一步的 backward 会怎样对待它？",
            hint_en="What is left in .grad after each step's backward? What does the next backward do with it?",
            solution_zh="在更新 w 之后加 w.grad.zero_()：否则 .grad 把以前每一步的梯度都累加起来，步子越迈越大。",
            solution_en="Add w.grad.zero_() after updating w: otherwise .grad adds up the gradients of every "
            "earlier step, and the steps grow too large.",
            code=(
                "x = torch.ones(1)\n"
                "w = torch.full([1], -1.).requires_grad_()\n"
                "for step in range(5):\n"
                "    loss = F.mse_loss(torch.ones(1), x * w)\n"
                "    loss.backward()\n"
                "    with torch.no_grad():\n"
                "        w -= 0.1 * w.grad\n"
                "    w.grad.zero_()  # 修复 / the fix\n"
                "answer = w.item()"
            ),
            wrong=(
                (
                    lambda: _descent(zero=False),
                    "这是缺少 zero_() 的结果：梯度在累加，每一步都用上了以前所有步的梯度。",
                    "That is the loop without zero_(): the gradients accumulate, so each step uses all earlier gradients.",
                ),
                (
                    -1.0,
                    "w 没有动：更新要写在 with torch.no_grad(): 里，并且原地修改 w（w -= ...）。",
                    "w did not move: update it in place (w -= ...) inside with torch.no_grad():.",
                ),
            ),
        ),
        Exercise(
            id="03.1",
            kind="number",
            expected=_ratio_row_sums,
            right_zh="行和是 {answer}，不是 0：f(a) = a/Σa 的输出和为 1，所以列和为 0；但它没有平移不变性，所以行和不为 0。",
            right_en="The row sums are {answer}, not 0: f(a) = a/Σa sums to 1, so its columns sum to 0; "
            "but it is not shift invariant, so its rows do not.",
            hint_zh="行和 Σⱼ ∂fᵢ/∂aⱼ 是所有输入一起加上同一个小量时 fᵢ 的变化率。a/Σa 在平移下不变吗？",
            hint_en="The row sum Σⱼ ∂fᵢ/∂aⱼ is how fᵢ changes when every input grows by the same amount. "
            "Is a/Σa unchanged by a shift?",
            solution_zh="∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S²，S = 4：行和 = 1/S − 2aᵢ/S² = (0.125, −0.125)；列和 = 1/S − S/S² = 0。",
            solution_en="∂fᵢ/∂aⱼ = δᵢⱼ/S − aᵢ/S² with S = 4: row sums 1/S − 2aᵢ/S² = (0.125, −0.125); "
            "column sums 1/S − S/S² = 0.",
            code=(
                "import gradlab\n"
                "a = torch.tensor([1., 3.])\n"
                "J = gradlab.jacobian(lambda a: a / a.sum(), a)\n"
                "answer = J.sum(dim=1)  # 行和 / row sums"
            ),
            wrong=(
                (
                    (0.0, 0.0),
                    "那是列和：Σf = 1 让每一列的和为 0。行和为 0 需要平移不变性，a/Σa 没有。",
                    "Those are the column sums: Σf = 1 makes every column sum to 0. Rows sum to 0 only under "
                    "shift invariance, which a/Σa lacks.",
                ),
                (
                    (0.25, 0.75),
                    "那是 f(a) 本身，不是雅可比矩阵的行和。",
                    "That is f(a) itself, not the row sums of its Jacobian.",
                ),
            ),
        ),
        Exercise(
            id="03.2",
            kind="number",
            expected=_uniform_softmax,
            right_zh="{answer}：p = 1/3，J = diag(p) − ppᵀ，对角线 1/3 − 1/9 = 2/9，其余 −1/9。",
            right_en="{answer}: p = 1/3, J = diag(p) − ppᵀ, so 1/3 − 1/9 = 2/9 on the diagonal and −1/9 elsewhere.",
            hint_zh="三个 logit 相同，p 是均匀分布；再用 ∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ)。",
            hint_en="Three equal logits give a uniform p; then use ∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ).",
            solution_zh="三个 logit 相同，p 是均匀分布；(p₀, J₀₀, J₀₁) = (1/3, 1/3 − 1/9, −1/9) = (1/3, 2/9, −1/9) ≈ (0.3333, 0.2222, −0.1111)。",
            solution_en="Three equal logits give a uniform p; (p₀, J₀₀, J₀₁) = (1/3, 1/3 − 1/9, −1/9) = (1/3, 2/9, −1/9) ≈ (0.3333, 0.2222, −0.1111).",
            code=(
                "a = torch.ones(3, requires_grad=True)\n"
                "p = F.softmax(a, dim=0)\n"
                "(row0,) = torch.autograd.grad(p[0], [a])\n"
                "answer = (p[0].item(), row0[0].item(), row0[1].item())"
            ),
            wrong=(
                (
                    (_THIRD, _THIRD, 0.0),
                    "你只写了 diag(p)，忘了 −ppᵀ：提高一个 logit 会降低其他类别的概率。",
                    "You wrote only diag(p) and forgot −ppᵀ: raising one logit lowers the other probabilities.",
                ),
                (
                    (_THIRD, 2 / 9, 1 / 9),
                    "非对角元的符号反了：∂pᵢ/∂aⱼ = −pᵢpⱼ < 0。",
                    "The off-diagonal sign is flipped: ∂pᵢ/∂aⱼ = −pᵢpⱼ < 0.",
                ),
                (
                    (1.0, 0.0, 0.0),
                    "softmax 不是取最大值：三个相同的 logit 给出均匀分布 1/3。",
                    "softmax is not an argmax: three equal logits give the uniform 1/3.",
                ),
            ),
        ),
        Exercise(
            id="03.3",
            kind="choice",
            choices=("a", "b", "c", "d"),
            choice_digest="b0081441f539bd75d7fe326a94ef483bfc373b157da0c51371771dc309ca5237",
            right_zh="softmax(a + c) = softmax(a)：分子分母都乘上 e^c。p 不变，J = diag(p) − ppᵀ 只依赖 p，也不变。",
            right_en="softmax(a + c) = softmax(a): numerator and denominator both gain a factor e^c. p is unchanged, "
            "and J = diag(p) − ppᵀ depends only on p, so it is unchanged too.",
            hint_zh="把 e^(aⱼ + 10) 写成 e^10 · e^(aⱼ)，分子分母里的 e^10 会怎样？",
            hint_en="Write e^(aⱼ + 10) as e^10 · e^(aⱼ): what happens to e^10 in the numerator and denominator?",
            solution_zh="a：p 和 J 都不变。这也是雅可比矩阵每一行之和为 0 的原因（平移不变性）。",
            solution_en="a: neither p nor J changes. This shift invariance is also why every row of J sums to 0.",
            code='answer = "a"',
            wrong=(
                (
                    "b",
                    "J = diag(p) − ppᵀ 只依赖 p；p 不变，J 也不变。",
                    "J = diag(p) − ppᵀ depends on p alone; if p does not change, neither does J.",
                ),
                (
                    "c",
                    "分子分母都乘上了 e^10，约掉了，p 不变。",
                    "The factor e^10 appears in numerator and denominator and cancels, so p does not change.",
                ),
                (
                    "d",
                    "p 是概率，总和为 1，不可能每个都加 10。",
                    "p is a probability distribution summing to 1; its entries cannot all grow by 10.",
                ),
            ),
        ),
        Exercise(
            id="03.4",
            kind="implement",
            expected=_jacobian_points,
            right_zh="你的闭式解和 gradlab.jacobian 在三个测试点上一致。",
            right_en="Your closed form agrees with gradlab.jacobian at three test points.",
            hint_zh="∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ)：写成矩阵就是 diag(p) − ppᵀ；torch.diag 和 torch.outer 会有用。",
            hint_en="∂pᵢ/∂aⱼ = pᵢ(δᵢⱼ − pⱼ): as a matrix, diag(p) − ppᵀ; torch.diag and torch.outer help.",
            solution_zh="先算 p = softmax(a, dim=0)，再写 J = diag(p) − ppᵀ，即 torch.diag(p) − torch.outer(p, p)。",
            solution_en="First p = softmax(a, dim=0), then J = diag(p) − ppᵀ, that is torch.diag(p) − torch.outer(p, p).",
            code=(
                "def my_softmax_jacobian(a):\n"
                "    p = F.softmax(a, dim=0)\n"
                "    return torch.diag(p) - torch.outer(p, p)\n"
                "answer = my_softmax_jacobian"
            ),
            wrong=(
                (lambda p: torch.diag(p), "你只写了 diag(p)，忘了 −ppᵀ。", "You wrote only diag(p) and forgot −ppᵀ."),
                (
                    lambda p: torch.outer(p, p) - torch.diag(p),
                    "符号反了：对角线应该为正，pᵢ(1 − pᵢ) > 0。",
                    "The sign is flipped: the diagonal must be positive, pᵢ(1 − pᵢ) > 0.",
                ),
                (
                    lambda p: torch.diag(p) - p * p,
                    "p * p 是逐元素平方（一个向量），这里要的是外积 torch.outer(p, p)。",
                    "p * p squares element-wise (a vector); here you need the outer product torch.outer(p, p).",
                ),
            ),
        ),
        Exercise(
            id="03.5",
            kind="number",
            expected=_cross_entropy_grad,
            right_zh="{answer} = p − y：p = (1/3, 1/3, 1/3)，真实类别 0 的独热向量 y = (1, 0, 0)。",
            right_en="{answer} = p − y: p = (1/3, 1/3, 1/3) and the one-hot y = (1, 0, 0) of class 0.",
            hint_zh="用 §4 推出的结果：∂L/∂a = p − y。",
            hint_en="Use the result derived in §4: ∂L/∂a = p − y.",
            solution_zh="梯度是 p − y，p 是均匀分布：(1/3 − 1, 1/3, 1/3) = (−2/3, 1/3, 1/3)。",
            solution_en="The gradient is p − y with a uniform p: (1/3 − 1, 1/3, 1/3) = (−2/3, 1/3, 1/3).",
            code=(
                "a = torch.ones(3, requires_grad=True)\n"
                "loss = F.cross_entropy(a.unsqueeze(0), torch.tensor([0]))\n"
                "answer = torch.autograd.grad(loss, [a])[0]"
            ),
            wrong=(
                (
                    (_THIRD, _THIRD, _THIRD),
                    "那是 p，还要减去真实类别的独热向量 y。",
                    "That is p; subtract the one-hot vector y of the true class.",
                ),
                (
                    (2 / 3, -_THIRD, -_THIRD),
                    "符号反了：梯度是 p − y，不是 y − p。",
                    "The sign is flipped: the gradient is p − y, not y − p.",
                ),
            ),
        ),
    ]
}
