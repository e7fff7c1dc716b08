"""gradlab.exercises: right answers get ✓, typical wrong answers get specific Chinese-first feedback,
and every exercise in the notebooks runs where it stands (alone, or after the whole notebook)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from gradlab import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")
IDS = sorted(exercises.EXERCISES)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def exercise_cells(exercise_id: str) -> tuple[Path, list[dict]]:
    for path in NOTEBOOKS:
        found = [c for c in cells(path) if f"exercise-{exercise_id}" in tags(c)]
        if found:
            return path, found
    raise AssertionError(f"exercise {exercise_id} is in no notebook")


def run_cell(text: str, namespace: dict[str, Any]) -> Any:
    """Execute a cell like a kernel does: the value of a final expression is returned (IPython syntax such as %pip allowed)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(text))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)


def wrong_answers(exercise: exercises.Exercise) -> list[Any]:
    if exercise.kind == "implement":  # the stored wrong formulas are functions of p
        return [lambda a, make=make: make(F.softmax(a, dim=0)) for make, _, _ in exercise.wrong]
    return [w() if callable(w) else w for w, _, _ in exercise.wrong]


# --- the checker itself -------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", IDS)
def test_stored_solution_is_right(exercise_id: str):
    solution = exercises.solution(exercise_id)
    feedback = exercises.check(exercise_id, solution.answer)
    assert feedback.ok and feedback.text.startswith("✓"), feedback.text
    assert CJK.search(feedback.text.splitlines()[0]) and "Right!" in feedback.text.splitlines()[1]


@pytest.mark.parametrize("exercise_id", IDS)
def test_typical_wrong_answers_get_their_own_feedback_in_chinese_first(exercise_id: str):
    exercise = exercises.EXERCISES[exercise_id]
    answers = wrong_answers(exercise)
    assert len(answers) >= 2
    for answer, (_, zh, en) in zip(answers, exercise.wrong, strict=True):
        feedback = exercises.check(exercise_id, answer)
        assert not feedback.ok and feedback.text.startswith("✗"), feedback.text
        first, second = feedback.text.splitlines()[:2]
        assert zh in first and CJK.search(first), feedback.text
        assert en in second and not CJK.search(second), feedback.text


@pytest.mark.parametrize("exercise_id", IDS)
def test_any_other_wrong_answer_gets_a_generic_hint(exercise_id: str):
    exercise = exercises.EXERCISES[exercise_id]
    if exercise.kind == "choice":
        unused = [c for c in exercise.choices if not exercises.check(exercise_id, c).ok]
        other = "z"
        assert len(unused) == len(exercise.choices) - 1
    elif exercise.kind == "implement":
        other = lambda a: torch.eye(a.numel())  # noqa: E731
    else:
        expected = exercises.solution(exercise_id).answer
        other = (
            tuple(1234.5 for _ in range(torch.as_tensor(expected).numel()))
            if not isinstance(expected, float)
            else 1234.5
        )
    feedback = exercises.check(exercise_id, other)
    assert not feedback.ok and CJK.search(feedback.text.splitlines()[0]), feedback.text


@pytest.mark.parametrize("exercise_id", IDS)
def test_hint_and_solution_are_bilingual_and_only_the_solution_reveals_the_answer(exercise_id: str):
    hint = exercises.hint(exercise_id)
    zh, en = hint.splitlines()
    assert CJK.search(zh) and not CJK.search(en)
    solution = exercises.solution(exercise_id)
    assert CJK.search(solution.zh) and not CJK.search(solution.en)
    assert "<details>" in solution._repr_html_()


def test_not_answered_yet_is_not_a_tick_and_reveals_nothing():
    for exercise_id in IDS:
        feedback = exercises.check(exercise_id, ...)
        assert not feedback.ok and CJK.search(feedback.text)
        assert exercises.solution(exercise_id).zh not in feedback.text


def test_numbers_tensors_and_tuples_are_accepted_within_tolerance():
    assert exercises.check("01.1", 4).ok
    assert exercises.check("01.1", torch.tensor([4.0])).ok
    assert exercises.check("01.1", (torch.tensor([4.001]),)).ok
    assert not exercises.check("01.1", 4.2).ok
    assert exercises.check("01.3", (torch.tensor([30.0]), torch.tensor([20.0]))).ok
    assert exercises.check("03.2", (1 / 3, 2 / 9, -1 / 9)).ok
    assert exercises.check("03.2", (0.333, 0.222, -0.111)).ok
    assert exercises.check("02.2", " B ").ok


def test_a_changed_set_up_is_named_but_the_answer_is_judged_on_its_own():
    feedback = exercises.check("02.1", 6.0, result=torch.tensor([-3.9322]))
    assert feedback.ok and "改过" in feedback.text and "variable was changed" in feedback.text
    feedback = exercises.check("02.1", 2.0, result=torch.tensor([-3.9322]))
    assert not feedback.ok and "累加" in feedback.text and "运行" in feedback.text


def test_a_result_left_over_from_the_previous_exercise_never_marks_a_right_answer_wrong():
    """The run cell of 01.2 was skipped: result still holds 01.1's gradient 4."""
    stale = torch.tensor([4.0])
    right = exercises.check("01.2", 30, stale)
    assert right.ok and right.text.startswith("✓")
    zh, en = right.text.splitlines()[2:4]
    assert "还没运行这道题的“运行”单元格" in zh and not CJK.search(en) and "run cell" in en
    wrong = exercises.check("01.2", 10, stale)
    assert not wrong.ok and "∂pred/∂w = x" in wrong.text and "还没运行" in wrong.text
    # a result that matches adds nothing
    assert exercises.check("01.2", 30, torch.tensor([30.0])).text == exercises.check("01.2", 30).text


def test_the_run_step_shows_its_result_only_after_a_prediction(capsys: pytest.CaptureFixture[str]):
    exercises.show(..., torch.tensor([4.0]))
    reminder = capsys.readouterr().out
    assert reminder.startswith("… 先") and "4" not in reminder
    exercises.show(4.0, torch.tensor([4.0]))
    assert capsys.readouterr().out == "运行结果 / result: tensor([4.])\n"
    exercises.show("b", RuntimeError("One of the differentiated Tensors appears to not have been used\nmore"))
    assert capsys.readouterr().out.endswith(
        "RuntimeError: One of the differentiated Tensors appears to not have been used\n"
    )

    def unwritten(a: torch.Tensor) -> Any:
        return ...

    exercises.show(unwritten, torch.eye(3))
    assert capsys.readouterr().out.startswith("… 先")
    exercises.show(lambda a: torch.diag(a), torch.eye(3))
    assert "tensor" in capsys.readouterr().out


def test_choice_answers_are_not_stored_in_plain_text():
    text = (ROOT / "gradlab" / "exercises.py").read_text(encoding="utf-8")
    assert not re.search(r"choice_answer|correct\s*=", text)
    for exercise in exercises.EXERCISES.values():
        if exercise.kind == "choice":
            assert re.fullmatch(r"[0-9a-f]{64}", exercise.choice_digest)


def test_unknown_exercise_is_a_bilingual_key_error():
    with pytest.raises(KeyError, match="没有编号"):
        exercises.check("09.9", 1.0)


# --- the exercises in the notebooks ----------------------------------------------------


def notebook_exercise_ids() -> list[str]:
    found = set()
    for path in NOTEBOOKS:
        for cell in cells(path):
            found.update(t.removeprefix("exercise-") for t in tags(cell) if t.startswith("exercise-"))
    return sorted(found)


def test_every_exercise_is_in_a_notebook_and_every_notebook_exercise_exists():
    assert notebook_exercise_ids() == IDS
    for path in NOTEBOOKS:
        assert any(t.startswith("exercise-") for c in cells(path) for t in tags(c)), path.name


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercise_is_predict_run_check_with_a_hidden_solution(exercise_id: str):
    _, found = exercise_cells(exercise_id)
    roles = [next(t for t in tags(c) if t in ("answer", "run", "check", "solution")) for c in found]
    assert roles in (["answer", "run", "check", "solution"], ["answer", "check", "solution"]), roles
    answer, check, solution = found[0], found[-2], found[-1]
    assert re.search(r"^answer = ", source(answer), re.MULTILINE)
    assert f'exercises.check("{exercise_id}", answer' in source(check)
    assert source(solution) == f'exercises.solution("{exercise_id}")'
    hidden = solution["metadata"]["jupyter"]
    assert hidden == {"source_hidden": True, "outputs_hidden": True}
    # the stored notebook shows no tick and no answer before the learner has answered
    shown = json.dumps(check["outputs"], ensure_ascii=False)
    assert "✓" not in shown


def _run_exercise(exercise_id: str, namespace: dict[str, Any]) -> exercises.Feedback:
    _, found = exercise_cells(exercise_id)
    feedback = None
    for cell in found:
        if "answer" in tags(cell):
            run_cell(source(cell), namespace)  # the learner's cell must run as stored
            namespace["answer"] = exercises.solution(exercise_id).answer  # ... then the stored solution
        elif "check" in tags(cell):
            feedback = run_cell(source(cell), namespace)
        elif "run" in tags(cell):
            run_cell(source(cell), namespace)
    assert isinstance(feedback, exercises.Feedback)
    return feedback


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercise_runs_alone(exercise_id: str):
    feedback = _run_exercise(exercise_id, {})
    assert feedback.ok, feedback.text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_run_after_the_whole_notebook(path: Path):
    namespace: dict[str, Any] = {}
    for cell in cells(path):
        if cell["cell_type"] == "code" and "_explorer(" not in source(cell):
            run_cell(source(cell), namespace)
    ids = sorted({t.removeprefix("exercise-") for c in cells(path) for t in tags(c) if t.startswith("exercise-")})
    assert ids
    for exercise_id in ids:
        feedback = _run_exercise(exercise_id, namespace)
        assert feedback.ok, (exercise_id, feedback.text)
