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


def test_the_notebooks_exist_in_order():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-autograd-grad-mse",
        "02-backward",
        "03-softmax-jacobian",
        "04-turning-gradients-off",
        "05-higher-order-and-torch-func",
        "06-build-your-own-autograd",
    ]


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
        # top-level functions only: a method such as Value.backward does not redefine gradlab.backward
        assert not re.search(rf"^def {name}\(", text, re.MULTILINE), f"{path.name} redefines gradlab.{name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_collapsed_solutions(path: Path):
    """Source AND outputs collapsed in Jupyter; on GitHub/nbviewer the answer sits in a closed <details>."""
    solutions = [c for c in cells(path) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert solutions
    for cell in solutions:
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True
        assert cell["metadata"].get("jupyter", {}).get("outputs_hidden") is True
        assert cell["outputs"], "solutions run under nbval, so they carry outputs"
        # the source names the exercise and nothing else: no answer in the visible text
        assert re.fullmatch(r'exercises\.solution\("\d\d\.\d"\)', source(cell)), source(cell)
        html = "".join(cell["outputs"][0]["data"]["text/html"])
        assert html.startswith("<details>") and "<details open" not in html
        # JupyterLab shows the first line of a collapsed output: it must name the exercise, not answer it
        for data in cell["outputs"][0]["data"].values():
            first = "".join(data).splitlines()[0]
            assert re.fullmatch(r"(<details><summary>)?解答 \d\d\.\d / Solution \d\d\.\d\S*", first.split("（")[0]), (
                first
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_answer_is_visible_outside_the_solutions(path: Path):
    """Outside the collapsed solution cells, no output shows a tick or a worked solution."""
    for cell in cells(path):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        blob = json.dumps(cell.get("outputs", []), ensure_ascii=False)
        assert "✓" not in blob and "解答" not in blob, source(cell)[:80]


@pytest.mark.parametrize("path", NOTEBOOKS[:3], ids=lambda p: p.stem)
def test_committed_run_and_check_cells_say_not_answered_yet(path: Path):
    """Committed run and check outputs give nothing away (no result, no ✗ with a diagnosis): the answer is a placeholder."""
    checks = [c for c in cells(path) if {"run", "check"} & set(c.get("metadata", {}).get("tags", []))]
    assert checks
    for cell in checks:
        text = "".join("".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])
        assert text.startswith("… ") and "✗" not in text, (source(cell), text[:120])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_bilingual_glossary(path: Path):
    glossary = [source(c) for c in cells(path) if c["cell_type"] == "markdown" and "术语表" in source(c)]
    assert len(glossary) == 1
    text = glossary[0]
    for zh, en in [
        ("自动微分", "Automatic differentiation"),
        ("计算图", "Computational graph"),
        ("叶子张量", "Leaf tensor"),
        ("雅可比矩阵", "Jacobian"),
        ("向量-雅可比积", "Vector-Jacobian product"),
        ("雅可比-向量积", "Jacobian-vector product"),
        ("detach", "detach"),
        ("梯度累加", "Gradient accumulation"),
    ]:
        assert zh in text and en in text, (zh, en)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_words_the_review_found_wrong_are_gone(path: Path):
    text = "\n".join(source(c) for c in cells(path))
    assert "手动计算梯度" not in text and "向后传播" not in text
    assert "自动微分" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_outputs_hold_no_memory_addresses_and_chinese_pictures_name_a_cjk_font(path: Path):
    for cell in cells(path):
        for output in cell.get("outputs", []):
            blob = json.dumps(output)
            assert not re.search(r"object at 0x[0-9a-f]{6,}", blob)
            svg = output.get("data", {}).get("image/svg+xml", "")
            svg = "".join(svg) if isinstance(svg, list) else svg
            if CJK.search(svg):  # Chinese in a picture is drawn with a font that has it, on any system
                assert "Noto Sans Mono CJK SC" in svg and "Microsoft YaHei" in svg and "PingFang SC" in svg


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


# (notebook, the taught line, the changed line, what nbval must then report: any of these)
MUTATIONS = [
    (
        "01-autograd-grad-mse.ipynb",
        "w = torch.full([1], 2.)",
        "w = torch.full([1], 2.5)",
        ("tensor([2.5000])", "tensor([3.])"),
    ),
    (
        "04-turning-gradients-off.ipynb",
        "w2 = torch.full([1], 0.5)",
        "w2 = torch.full([1], 0.25)",
        ("tensor([0.7500])",),
    ),
    ("05-higher-order-and-torch-func.ipynb", "x = torch.full([1], 3.)", "x = torch.full([1], 4.)", ("tensor([56.])",)),
    ("06-build-your-own-autograd.ipynb", "b = Value(-0.5)", "b = Value(-0.25)", ("= -0.375",)),
]


@pytest.mark.parametrize("name, taught_line, changed_line, reported", MUTATIONS, ids=[m[0][:2] for m in MUTATIONS])
def test_nbval_fails_when_a_taught_number_changes(
    tmp_path: Path, name: str, taught_line: str, changed_line: str, reported: tuple[str, ...]
):
    """Change a taught number without re-executing the notebook: nbval must report the changed result."""
    original = ROOT / "notebooks" / name
    notebook = json.loads(original.read_text(encoding="utf-8"))
    taught = [c for c in notebook["cells"] if c["cell_type"] == "code" and taught_line in source(c)]
    assert taught, f"{name} has {taught_line}"
    cell = taught[0]  # the lesson's own value, not an exercise's
    assert not [t for t in cell.get("metadata", {}).get("tags", []) if t.startswith("exercise-")]
    cell["source"] = source(cell).replace(taught_line, changed_line)
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
    assert any(text in result.stdout for text in reported), result.stdout[-3000:]
