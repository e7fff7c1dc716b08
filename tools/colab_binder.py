"""Write the Colab and Binder links: each notebook's install cell and badges, and the README's badges.

One source: pyproject.toml's ``[project.urls] Repository`` (a GitHub address) and BRANCH
below. A fork changes that line and runs ``python tools/colab_binder.py``; ``--check``
only reports what differs, and tests/test_colab.py fails until the files match.

- Each notebook's first code cell, right after its title cell, installs gradlab from the
  repository when ``import gradlab`` fails (Colab) and does nothing where gradlab is
  installed (``make lab``, Binder, nbval): no output, no pip. pip keeps the torch,
  matplotlib and ipywidgets 7.7 that Colab has, since they meet gradlab's requirements;
  gradlab's widgets are ipywidgets' own, which Colab draws without
  ``enable_custom_widget_manager()`` (that is for third-party widgets).
- Each notebook's title cell and the README carry an "Open in Colab" and a "Launch Binder"
  badge, as plain Markdown images with links; the README's open the first notebook. The
  pictures are src_images/badge_*.svg (tools/figures.py), so pages show them offline; only
  Colab, which opens a notebook file alone, shows their alt text instead.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"  # the branch Colab and Binder open
INSTALL_ID = "install-gradlab"  # the install cell's id in every notebook
# The badges' pictures, drawn by tools/figures.py into src_images/ (no network needed to show them).
COLAB_BADGE, BINDER_BADGE = "badge_colab.svg", "badge_binder.svg"
BADGE_LINE = re.compile(
    r"^\[!\[[^\]]*\]\([^)]*\)\]\((?:https://colab\.research\.google\.com|https://mybinder\.org)/.*$", re.M
)


def repository() -> str:
    """The repository's address, from pyproject.toml."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Repository"]


def owner_and_name(url: str) -> tuple[str, str]:
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if not match:
        sys.exit(f"Colab and Binder open GitHub repositories; pyproject.toml's Repository is {url!r}")
    return match.group(1), match.group(2)


def colab_url(notebook: str, url: str | None = None) -> str:
    owner, name = owner_and_name(url or repository())
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str, url: str | None = None) -> str:
    owner, name = owner_and_name(url or repository())
    return f"https://mybinder.org/v2/gh/{owner}/{name}/{BRANCH}?urlpath=lab/tree/notebooks/{notebook}"


def badges(notebook: str, url: str | None = None, images: str = "../src_images/") -> str:
    """One Markdown line: the Colab and Binder badges of one notebook (a file name in notebooks/).

    ``images`` is the way from the page to src_images/: ``../src_images/`` from a notebook,
    ``src_images/`` from the README.
    """
    return (
        f"[![在 Colab 中打开 / Open in Colab]({images}{COLAB_BADGE})]({colab_url(notebook, url)}) "
        f"[![在 Binder 中启动 / Launch Binder]({images}{BINDER_BADGE})]({binder_url(notebook, url)})"
    )


def install_cell(url: str | None = None) -> str:
    """The source of every notebook's install cell."""
    return (
        "# 没有 gradlab 时才安装（如 Colab）/ Installs gradlab only if missing (e.g. Colab)\n"
        "try:\n"
        "    import gradlab\n"
        "except ImportError:\n"
        f'    %pip install --quiet "gradlab @ git+{url or repository()}@{BRANCH}"'
    )


def with_badges(text: str, line: str) -> str:
    """``text`` (Markdown starting with a title) with ``line`` as the paragraph after the title, once."""
    title, _, rest = BADGE_LINE.sub("", text).partition("\n")
    return f"{title}\n\n{line}\n\n{rest.lstrip(chr(10))}"


def update_notebook(notebook: nbformat.NotebookNode, name: str, url: str | None = None) -> None:
    """Put the badges into the title cell and the install cell right after it."""
    title = next(k for k, cell in enumerate(notebook.cells) if cell.cell_type == "markdown")
    notebook.cells[title].source = with_badges(notebook.cells[title].source, badges(name, url))
    notebook.cells = [cell for cell in notebook.cells if cell.get("id") != INSTALL_ID]
    cell = nbformat.v4.new_code_cell(install_cell(url))
    cell.id = INSTALL_ID
    notebook.cells.insert(title + 1, cell)


def first_notebook() -> str:
    return sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file differs")
    args = parser.parse_args()
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        before = nbformat.writes(notebook)
        old = {cell.get("id"): cell for cell in notebook.cells}
        update_notebook(notebook, path.name)
        for cell in notebook.cells:  # an unchanged install cell keeps its run (execution count, outputs)
            same = old.get(cell.get("id"))
            if cell.get("id") == INSTALL_ID and same is not None and same.source == cell.source:
                cell.update(execution_count=same.execution_count, outputs=same.outputs)
        if nbformat.writes(notebook) != before:
            stale.append(path)
            if not args.check:
                nbformat.write(notebook, path)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = with_badges(text, badges(first_notebook(), images="src_images/"))
    if new != text:
        stale.append(readme)
        if not args.check:
            readme.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
