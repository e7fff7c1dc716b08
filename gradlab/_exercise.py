"""The parts of an exercise: what it holds (:class:`Exercise`), what a check says
(:class:`Feedback`) and a worked :class:`Solution`. The exercises themselves live
in ``gradlab/_exercises_NN.py``, one module per notebook; :mod:`gradlab.exercises`
checks answers against them.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exercise", "Feedback", "Solution", "digest"]


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


def digest(exercise_id: str, choice: str) -> str:
    return hashlib.sha256(f"gradlab:{exercise_id}:{choice.strip().lower()}".encode()).hexdigest()
