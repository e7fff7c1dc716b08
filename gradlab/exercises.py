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
    ✗ 2？可能有两个原因：这是 w = 2 时的梯度（w 已经改成了 3）；或者你漏了平方求导得到的因子 2：2·(3 − 1)·1，不是 (3 − 1)·1。
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gradlab._exercise import Exercise, Feedback, Solution, digest
from gradlab._format import plain

__all__ = ["EXERCISES", "Exercise", "Feedback", "Solution", "check", "hint", "show", "solution"]

RTOL = 1e-2
"""Relative tolerance of :func:`check` for numeric answers (a prediction of 0.333 for 1/3 is right)."""
ATOL = 5e-3
"""Absolute tolerance of :func:`check` for numeric answers."""


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
    if digest(exercise.id, letter) == exercise.choice_digest:
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
        result: optionally, what your "run" cell computed with autograd. Your
            answer is judged on its own; if ``result`` differs from the
            exercise's value (the run cell was skipped, so ``result`` is left
            over from an earlier exercise, or a variable was changed),
            ``check`` adds a note that says so.

    Returns:
        A :class:`Feedback`; ``feedback.ok`` is True only for a right answer.
        Numbers count as equal within ``ATOL + RTOL·|expected|``.

    Example:
        >>> print(check("01.1", ...).text.splitlines()[1])
        … Write your prediction first: replace the ... in answer = ... with your answer, then run the cells again.
        >>> check("02.2", "b").ok
        True
        >>> stale = check("01.2", 30.0, result=torch.tensor([4.0]))  # result left over from 01.1
        >>> stale.ok, "还没运行这道题的“运行”单元格" in stale.text
        (True, True)
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
    feedback = _check_number(exercise, answer, expected)
    if result is None or isinstance(result, BaseException):
        return feedback
    computed = _numbers(result)
    if computed is None or _close(computed, expected):
        return feedback
    # The answer is judged on its own; a run cell that disagrees only adds a note (never a false ✗).
    return Feedback(
        feedback.ok,
        f"{feedback.text}\n"
        f"注意：result = {_show(result)} 不是这道题“运行”单元格的结果：你可能还没运行这道题的“运行”单元格"
        f"（result 还是上一道题留下的），或者改过这道题的变量。请运行这道题的“运行”单元格再检查。\n"
        f"Note: result = {_show(result)} is not what this exercise's run cell computes: perhaps you have not run "
        f"this exercise's run cell yet (result is left over from an earlier exercise), or a variable was changed. "
        f"Run this exercise's run cell, then check again.",
    )


def _check_number(exercise: Exercise, answer: Any, expected: list[float]) -> Feedback:
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


def _pending(answer: Any) -> bool:
    """True while the answer cell still holds its placeholder (``...``, or a function that returns ``...``)."""
    if answer is ... or answer is None:
        return True
    if callable(answer):
        try:
            return answer(torch.zeros(2)) is ...
        except Exception:  # a half-written function is an answer being written: show the result
            return False
    return False


def show(answer: Any, result: Any) -> None:
    """Print what a "run" cell computed, once a prediction has been written; until then, a reminder.

    The run step is visible, and a notebook saved before anyone answered shows no result that
    would give the answer away. An error caught by the run cell is printed as its first line.

    Example:
        >>> show(..., torch.tensor([4.0]))
        … 先在上面写下你的预测，再运行这个单元格，看 autograd 算出的结果。
        … Write your prediction above first, then run this cell to see what autograd computes.
        >>> show(4.0, torch.tensor([4.0]))
        运行结果 / result: tensor([4.])
        >>> show("c", RuntimeError("element 0 of tensors does not require grad\\nmore"))
        运行结果 / result: RuntimeError: element 0 of tensors does not require grad
    """
    if _pending(answer):
        print(
            "… 先在上面写下你的预测，再运行这个单元格，看 autograd 算出的结果。\n"
            "… Write your prediction above first, then run this cell to see what autograd computes."
        )
    elif isinstance(result, BaseException):
        first = (str(result).strip().splitlines() or [""])[0]
        print(f"运行结果 / result: {type(result).__name__}: {first}")
    else:
        print(f"运行结果 / result: {result}")


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


def _load() -> dict[str, Exercise]:
    """Every ``gradlab/_exercises_NN.py`` module's exercises, in notebook order (adding a notebook needs no edit here)."""
    package = Path(__file__).parent
    names = sorted(p.stem for p in package.glob("_exercises_[0-9][0-9].py"))
    return {
        exercise.id: exercise for name in names for exercise in importlib.import_module(f"gradlab.{name}").EXERCISES
    }


EXERCISES: dict[str, Exercise] = _load()
"""Every exercise by id, from the per-notebook modules ``gradlab/_exercises_NN.py``."""
