"""Colab: every notebook's install cell and badges are what tools/colab_binder.py makes from pyproject.toml,
the install cell installs only where gradlab is missing, and Colab's own packages meet gradlab's requirements."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# What Colab's runtime has (googlecolab/backend-info, pip-freeze.txt and os-info.txt, August 2026).
COLAB = {"python": "3.13", "torch": "2.11.0", "matplotlib": "3.10.0", "ipywidgets": "7.7.1"}


tool = _tool.load("colab_binder")


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_is_the_generated_install_cell_right_after_the_title(path: Path):
    title, install, *_ = cells(path)
    assert title["cell_type"] == "markdown" and source(title).startswith("# ")
    assert install["cell_type"] == "code" and install["id"] == tool.INSTALL_ID
    assert source(install) == tool.install_cell()
    assert install["outputs"] == []  # run by nbval and make notebooks, where gradlab is installed: silent


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_title_cell_carries_this_notebooks_badges(path: Path):
    paragraphs = re.split(r"\n\s*\n", source(cells(path)[0]))
    assert paragraphs[1] == tool.badges(path.name)
    assert f"blob/main/notebooks/{path.name})" in paragraphs[1]
    assert f"urlpath=lab/tree/notebooks/{path.name})" in paragraphs[1]
    assert sum(source(c).count(tool.COLAB_BADGE) for c in cells(path)) == 1


def test_the_readme_carries_the_badges_of_the_first_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.split("\n\n")[1] == tool.badges(NOTEBOOKS[0].name, images="src_images/")


def test_the_badge_pictures_are_drawn_by_tools_figures_and_need_no_network():
    figures = (ROOT / "tools" / "figures.py").read_text()
    for name in (tool.COLAB_BADGE, tool.BINDER_BADGE):
        assert f'"{name}": badge_' in figures  # tests/test_figures.py checks the committed file is what it draws
        svg = (ROOT / "src_images" / name).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_the_tool_finds_nothing_to_change():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "colab_binder.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_link_comes_from_pyprojects_repository():
    repository = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    assert tool.repository() == repository
    fork = "https://github.com/someone/gradlab-fork"
    made = tool.badges("02-backward.ipynb", fork) + tool.install_cell(fork)
    assert "gradlab/gradlab" not in made
    assert made.count("someone/gradlab-fork") == 3  # Colab, Binder, pip
    assert "https://colab.research.google.com/github/someone/gradlab-fork/blob/main/notebooks/02-backward.ipynb" in made
    assert "https://mybinder.org/v2/gh/someone/gradlab-fork/main?urlpath=lab/tree/notebooks/02-backward.ipynb" in made
    assert '"gradlab @ git+https://github.com/someone/gradlab-fork@main"' in made


class _Shell:
    """Stands in for get_ipython(): records the magics a cell runs."""

    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line))


def _run_install_cell(monkeypatch: pytest.MonkeyPatch, gradlab_missing: bool) -> tuple[list[tuple[str, str]], str]:
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(tool.install_cell())  # %pip becomes get_ipython().run_line_magic
    if gradlab_missing:
        monkeypatch.setitem(sys.modules, "gradlab", None)  # import gradlab raises ImportError
    shell = _Shell()
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(compile(code, "<install cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.magics, printed.getvalue()


def test_the_install_cell_is_silent_and_runs_no_pip_where_gradlab_is_installed(monkeypatch):
    assert _run_install_cell(monkeypatch, gradlab_missing=False) == ([], "")


def test_the_install_cell_installs_from_the_repository_where_gradlab_is_missing(monkeypatch):
    magics, _ = _run_install_cell(monkeypatch, gradlab_missing=True)
    assert magics == [("pip", 'install --quiet "gradlab @ git+https://github.com/gradlab/gradlab@main"')]


def test_colabs_own_packages_meet_gradlabs_requirements():
    """So pip, installing gradlab on Colab, installs gradlab alone: it keeps Colab's torch and its ipywidgets 7.7."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert Version(COLAB["python"]) in Requirement(f"python{project['requires-python']}").specifier
    requirements = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert set(requirements) == {"torch", "matplotlib", "ipywidgets"}
    for name, requirement in requirements.items():
        assert Version(COLAB[name]) in requirement.specifier, (name, COLAB[name], str(requirement))


# --- the second test environment: the widget tests under Colab's ipywidgets 7.7 ----------------------


def _pins(lock: str) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (ROOT / lock).read_text(), re.MULTILINE):
        pins.setdefault(name.lower(), set()).add(version)
    return pins


def test_the_ipywidgets7_lock_is_colabs_widget_stack_and_the_main_lock_stays_on_8():
    source_text = (ROOT / "tools" / "lock_ipywidgets7.py").read_text()
    held = dict(re.findall(r'^    "([\w-]+)": \("([\d.]+)"', source_text, re.MULTILINE))
    seven, main = _pins("constraints-ipywidgets7.txt"), _pins("constraints.txt")
    assert held["ipywidgets"] == COLAB["ipywidgets"]
    for name, version in held.items():
        assert seven[name] == {version}, name
    assert seven["torch"] == main["torch"]
    assert all(v.startswith("8.1.") for v in main["ipywidgets"]), main["ipywidgets"]


def _torch_hashes(lock: str) -> list[str]:
    text = (ROOT / lock).read_text()
    block = re.search(r"^torch==.*?(?=^\S)", text, re.MULTILINE | re.DOTALL)
    assert block
    return re.findall(r"sha256:([0-9a-f]{64})", block.group(0))


def test_the_second_environment_reuses_the_main_locks_torch_files():
    assert _torch_hashes("constraints-ipywidgets7.txt") == _torch_hashes("constraints.txt")


def test_make_test_runs_every_widget_test_in_the_ipywidgets7_environment():
    makefile = (ROOT / "Makefile").read_text()
    listed = set(re.search(r"^WIDGET_TESTS := (.*)$", makefile, re.MULTILINE).group(1).split())
    assert re.search(r"^test:.*\n(?:\t.*\n)*\t.*\$\(MAKE\).* test-ipywidgets7$", makefile, re.MULTILINE)
    uses_widgets = re.compile(r"^\s*(import ipywidgets|from gradlab\.(widgets|stepper|_widget_box) import)", re.M)
    needed = {
        str(path.relative_to(ROOT))
        for folder in ("gradlab", "tests")
        for path in (ROOT / folder).glob("*.py")
        if uses_widgets.search(path.read_text(encoding="utf-8")) and path.name != "test_cuda.py"  # CUDA only
    }
    assert needed and needed <= listed, sorted(needed - listed)
    assert ".venv-ipyw7/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "$(VENV7)" in re.search(r"^clean:.*\n\t(.*)", makefile, re.MULTILINE).group(1)
