"""``make notebooks`` twice in a row changes nothing but measured timings (issue 14, section 4)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "run_notebooks.py"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def measured_patterns() -> list[re.Pattern[str]]:
    """The sanitize.cfg rules whose replacement is TIME or RATIO: the numbers a run measures."""
    text = (ROOT / "notebooks" / "sanitize.cfg").read_text(encoding="utf-8")
    pairs = re.findall(r"^regex: (.*)\nreplace: (.*)$", text, re.MULTILINE)
    patterns = [re.compile(regex) for regex, replace in pairs if replace.strip() in {"TIME", "RATIO"}]
    assert len(patterns) == 2, pairs
    return patterns


def without_measurements(line: str) -> str:
    for pattern in measured_patterns():
        line = pattern.sub("MEASURED", line)
    return line


def test_the_normalisation_drops_what_changes_between_runs():
    tool = _tool.load("run_notebooks")
    view = {"version_major": 2, "version_minor": 0, "model_id": "9f2c4e0b7a6d4f1e8c3b2a1d0e9f8c7b"}
    cell = nbformat.v4.new_code_cell("explorer", execution_count=1)
    cell.metadata["execution"] = {"iopub.execute_input": "2026-11-29T06:10:11.328461Z"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text="/tmp/ipykernel_15979/1037291786.py:2: GradAccumulationWarning: 已经有值 / held\n",
        ),
        nbformat.v4.new_output(
            "execute_result", data={WIDGET_VIEW: view, "image/svg+xml": "<svg/>", "text/plain": "x"}, execution_count=1
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})
    tool.keep_what_does_not_change(notebook)
    assert "widgets" not in notebook.metadata and "execution" not in cell.metadata
    assert [(o.output_type, o.get("name")) for o in cell.outputs] == [
        ("stream", "stdout"),
        ("stream", "stderr"),
        ("execute_result", None),
    ]
    assert cell.outputs[0].text == "a\nb\n"
    assert cell.outputs[1].text == "GradAccumulationWarning: 已经有值 / held\n"
    assert set(cell.outputs[2].data) == {"image/svg+xml", "text/plain"}
    nbformat.validate(notebook)


def test_two_runs_differ_only_in_timings_and_keep_the_static_picture(tmp_path: Path):
    notebook = tmp_path / "01-autograd-grad-mse.ipynb"
    shutil.copy(ROOT / "notebooks" / notebook.name, notebook)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    runs = []
    for _ in range(2):
        subprocess.run([sys.executable, str(TOOL), str(notebook)], check=True, capture_output=True, env=env)
        runs.append(notebook.read_text(encoding="utf-8"))
    first, second = (run.splitlines() for run in runs)
    assert len(first) == len(second)
    changed = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert [without_measurements(a) for a, _ in changed] == [without_measurements(b) for _, b in changed]

    saved = json.loads(runs[1])
    assert "widgets" not in saved["metadata"]
    widget_cells = [
        c for c in saved["cells"] if re.search(r"^(\w+_explorer|backward_stepper)\(", "".join(c["source"]), re.M)
    ]
    assert len(widget_cells) == 2  # backward_stepper(trace), mse_explorer(...)
    for cell in saved["cells"]:
        assert "execution" not in cell["metadata"]
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {})
    for cell in widget_cells:
        (picture,) = [o["data"] for o in cell["outputs"] if "image/svg+xml" in o.get("data", {})]
        assert "".join(picture["image/svg+xml"]).lstrip().startswith("<svg")
        assert "".join(picture["text/plain"]).strip()
