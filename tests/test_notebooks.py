"""The teaching notebooks follow the project's rules, and nbval really guards their numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")
IGNORE = "nbval-ignore-output"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_the_three_notebooks_exist_in_order():
    assert [p.stem for p in NOTEBOOKS] == ["01-autograd-grad-mse", "02-backward", "03-softmax-jacobian"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_is_chinese_first_then_english(path: Path):
    for cell in cells(path):
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        first_cjk = CJK.search(text)
        assert first_cjk, f"no Chinese in: {text[:80]!r}"
        # the English half: a paragraph after the Chinese one with no Chinese in it
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        english = [i for i, p in enumerate(paragraphs) if not CJK.search(p) and re.search(r"[A-Za-z]{3,}", p)]
        chinese = [i for i, p in enumerate(paragraphs) if CJK.search(p)]
        assert english and chinese and min(chinese) < max(english), f"Chinese then English expected: {text[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executed_top_to_bottom_from_a_fresh_kernel(path: Path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"], source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_only_widget_cells_ignore_their_output(path: Path):
    for cell in cells(path):
        if IGNORE in cell.get("metadata", {}).get("tags", []):
            assert "_explorer(" in source(cell), f"only explorer cells may be {IGNORE}: {source(cell)[:80]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_from_gradlab_and_redefines_nothing(path: Path):
    text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
    assert "import gradlab" in text or "from gradlab" in text
    import gradlab

    for name in gradlab.__all__:
        assert not re.search(rf"^\s*def {name}\(", text, re.MULTILINE), f"{path.name} redefines gradlab.{name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_collapsed_solutions(path: Path):
    solutions = [c for c in cells(path) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert solutions
    for cell in solutions:
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True
        assert cell["outputs"], "solutions run under nbval, so they carry outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_hold_no_memory_addresses_and_pictures_no_chinese(path: Path):
    for cell in cells(path):
        for output in cell.get("outputs", []):
            blob = json.dumps(output)
            assert not re.search(r"object at 0x[0-9a-f]{6,}", blob)
            svg = output.get("data", {}).get("image/svg+xml", "")
            svg = "".join(svg) if isinstance(svg, list) else svg
            assert not CJK.search(svg), "plots carry no CJK text"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_embedded_images_exist(path: Path):
    for cell in cells(path):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", source(cell)):
            assert (path.parent / target).resolve().exists(), target


def test_widget_cells_show_a_static_picture():
    for path in NOTEBOOKS:
        for cell in cells(path):
            if "_explorer(" in source(cell):
                data = [o.get("data", {}) for o in cell["outputs"]]
                assert any("image/svg+xml" in d or "text/html" in d for d in data), path.name


def test_nbval_fails_when_a_taught_number_changes(tmp_path: Path):
    """Change w = 2. to 2.5 in notebook 01 without re-executing it: nbval must report the changed gradient."""
    original = ROOT / "notebooks" / "01-autograd-grad-mse.ipynb"
    notebook = json.loads(original.read_text(encoding="utf-8"))
    changed = 0
    for cell in notebook["cells"]:
        text = source(cell)
        if cell["cell_type"] == "code" and "w = torch.full([1], 2.)" in text:
            cell["source"] = text.replace("w = torch.full([1], 2.)", "w = torch.full([1], 2.5)")
            changed += 1
    assert changed == 1
    copy = tmp_path / original.name
    copy.write_text(json.dumps(notebook), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(ROOT / "notebooks" / "sanitize.cfg"),
            str(copy),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=240,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "tensor([2.5000])" in result.stdout or "tensor([3.])" in result.stdout, result.stdout[-3000:]
