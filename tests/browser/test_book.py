"""The static book site (``make book``), built into a temporary folder and read in headless Chromium.

The fixture builds the site the way ``make book`` does (Sphinx + MyST-NB, nothing
executed), checks that notebooks/ is left as it was, and opens each page from
``file://`` with every request that is not a file aborted and recorded: the site
must read offline, MathJax included. For every notebook the page must show:

- its title in Chinese and in English (the notebook's two ``#`` headings);
- every SVG picture the notebook saved, visible and loaded, among them the static
  pictures of the explorers and the stepper, and no "Loading widget..." or widget repr;
- typeset math: every math element holds MathJax's output, no MathJax error, no ``$`` left;
- no broken image: every ``<img>`` loaded (naturalWidth > 0);
- Colab and Binder links to this notebook in the repository pyproject.toml names,
  reachable from the launch menu;
- each exercise solution collapsed, and readable after opening it.

One full-page screenshot per page goes to ``test-artifacts/book/``, with the build's
wall time (``build-time.txt``). Without Sphinx or MyST-NB (``make setup`` installs
them) the tests skip, and fail with ``CI=true``, like a missing Chromium.
"""

from __future__ import annotations

import doctest
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import _missing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "book"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_CALL = re.compile(r"^[^#\n]*\b(\w+_explorer|backward_stepper)\(", re.MULTILINE)
CJK = re.compile(r"[\u4e00-\u9fff]")


def build_command(out: Path) -> list[str]:
    """What ``make book`` runs, with the output in ``out``: warnings are errors."""
    options = ["-W", "--keep-going", "-q", "-b", "html", "-d", str(out / "doctrees")]
    return [sys.executable, "-m", "sphinx", *options, str(ROOT / "book"), str(out / "html")]


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book built into a temporary folder; the html folder."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        if importlib.util.find_spec(module) is None:
            _missing(f"{module} is not installed (the book extra)", "make setup (installs constraints.txt)")
    out = tmp_path_factory.mktemp("book")
    before = fingerprint(ROOT / "notebooks")
    start = time.monotonic()
    result = subprocess.run(build_command(out), cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    assert result.returncode == 0, f"the book did not build:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert fingerprint(ROOT / "notebooks") == before, "building the book changed notebooks/"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "build-time.txt").write_text(f"sphinx build of the book, cold, in this test: {seconds:.1f} s wall\n")
    return out / "html"


@pytest.fixture
def page(browser, site: Path):
    """A page whose requests other than file:// are aborted and listed in ``page.outside``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.outside = []

    def only_files(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    yield page
    context.close()


def notebook_facts(path: Path) -> dict:
    """What the page of this notebook must show, read from the notebook itself."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"])
    titles = [line[2:].replace("`", "").strip() for line in first.splitlines() if line.startswith("# ")]
    code = [c for c in cells if c["cell_type"] == "code"]
    shown = [c for c in code if not c.get("metadata", {}).get("jupyter", {}).get("outputs_hidden")]
    svgs = sum("image/svg+xml" in o.get("data", {}) for c in shown for o in c.get("outputs", []))
    widgets = [c for c in code if WIDGET_CALL.search("".join(c["source"]))]
    for cell in widgets:
        assert any("image/svg+xml" in o.get("data", {}) for o in cell["outputs"]), "a widget cell saved no picture"
    solutions = ["".join(c["source"]) for c in code if "exercises.solution(" in "".join(c["source"])]
    return {"titles": titles, "svgs": svgs, "widgets": len(widgets), "solutions": len(solutions)}


def launch_links(name: str) -> dict[str, str]:
    """The Colab and Binder addresses of notebooks/<name>, from pyproject.toml and book/conf.py's branch."""
    repository = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    owner_repo = repository.removeprefix("https://github.com/").strip("/")
    branch = re.search(r'^BRANCH = "([^"]+)"', (ROOT / "book" / "conf.py").read_text(), re.MULTILINE).group(1)
    return {
        "colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{name}",
        "binder": f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/notebooks/{name}",
    }


READ_PAGE = """() => {
    const shown = el => el.checkVisibility() && el.getBoundingClientRect().width > 0
        && el.getBoundingClientRect().height > 0;
    const article = document.querySelector('article.bd-article');
    const text = [];
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {acceptNode: node =>
        node.parentElement.closest('pre, code, mjx-container, script, style')
            ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
    while (walker.nextNode()) text.push(walker.currentNode.textContent);
    const outputSvgs = [...article.querySelectorAll('.cell_output img')].filter(i => /\\.svg$/.test(i.src));
    const widgetCells = [...article.querySelectorAll('.cell')].filter(cell => {
        const input = cell.querySelector('.cell_input');
        return input && /^[^#\\n]*\\b(\\w+_explorer|backward_stepper)\\(/m.test(input.innerText);
    });
    return {
        h1: [...article.querySelectorAll('h1')].filter(shown).map(h => h.innerText.replace(/#$/, '').trim()),
        outputSvgs: outputSvgs.map(i => ({shown: shown(i), natural: i.naturalWidth})),
        widgetPictures: widgetCells.map(cell => [...cell.querySelectorAll('.cell_output img')]
            .filter(i => /\\.svg$/.test(i.src) && shown(i) && i.naturalWidth > 0).length),
        images: [...document.images].map(i => ({src: i.getAttribute('src'), complete: i.complete,
                                                natural: i.naturalWidth})),
        math: article.querySelectorAll('.math').length,
        typeset: [...article.querySelectorAll('.math')].filter(m => m.querySelector('mjx-container')).length,
        mjxErrors: article.querySelectorAll('mjx-merror').length,
        prose: text.join(''),
        body: document.body.innerText,
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    };
}"""

SOLUTIONS = """() => [...document.querySelectorAll('article .cell.tag_solution')].map(cell => ({
    toggles: [...cell.querySelectorAll(':scope > details')].map(d => d.open),
    inner: [...cell.querySelectorAll('.cell_output details')].map(d => d.open),
    visible: [...cell.querySelectorAll('.cell_output p, .cell_input pre')].some(e => e.checkVisibility()),
}))"""


def open_page(page, site: Path, relative: str, math: bool = True) -> dict:
    """Open a page of the site and read it, once MathJax (on pages with math) has typeset it."""
    page.goto((site / relative).as_uri())
    if math:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=30_000)
        except PlaywrightTimeout:
            pytest.fail(f"MathJax did not load from the site; requests outside it: {page.outside}", pytrace=False)
        page.evaluate("() => MathJax.startup.promise.then(() => true)")
    return page.evaluate(READ_PAGE)


def test_index_lists_the_notebooks_in_lesson_order(page, site: Path):
    shown = open_page(page, site, "index.html", math=False)
    lessons = [link for link in dict.fromkeys(shown["links"]) if "/notebooks/" in link and "#" not in link]
    assert [Path(link).stem for link in lessons] == [path.stem for path in NOTEBOOKS]
    intro = shown["prose"]
    assert CJK.search(intro) and "read-only web version" in intro
    assert intro.index("只读网页版") < intro.index("read-only web version"), "Chinese first, then English"
    assert page.outside == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_page(page, site: Path, notebook: Path):
    facts = notebook_facts(notebook)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shown = open_page(page, site, f"notebooks/{notebook.stem}.html")
    page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}.png"), full_page=True)

    # The title, in Chinese and in English.
    assert len(facts["titles"]) == 2 and CJK.search(facts["titles"][0]) and not CJK.search(facts["titles"][1])
    assert shown["h1"][:2] == facts["titles"]
    assert facts["titles"][0] in page.title()

    # Every saved SVG picture, shown and loaded; the widgets' static pictures among them.
    assert len(shown["outputSvgs"]) == facts["svgs"] >= 1
    assert all(svg["shown"] and svg["natural"] > 0 for svg in shown["outputSvgs"]), shown["outputSvgs"]
    assert shown["widgetPictures"] == [1] * facts["widgets"]
    assert "Loading widget" not in shown["body"]
    assert not re.search(r"\b(VBox|HBox|Box)\(", shown["body"]), "a widget's text repr instead of its picture"

    # Math typeset by the MathJax that comes with the site.
    assert shown["math"] > 0 and shown["typeset"] == shown["math"] and shown["mjxErrors"] == 0
    assert not re.search(r"\$[^$\s][^$]*\$|\\\(|\\\[", shown["prose"]), "raw TeX left in the page"

    # No broken image, and nothing asked of the internet.
    broken = [image["src"] for image in shown["images"] if not (image["complete"] and image["natural"] > 0)]
    assert broken == []
    local = {link.split("#")[0] for link in shown["links"] if link.startswith("file://")}
    assert [link for link in local if not Path(unquote(urlparse(link).path)).exists()] == [], "a link to no file"
    assert page.outside == []

    # Colab and Binder open this notebook; the launch menu shows them.
    links = launch_links(notebook.name)
    assert links["colab"] in shown["links"] and links["binder"] in shown["links"]
    page.locator(".dropdown-launch-buttons button").click()
    for href in links.values():
        assert page.locator(f'.dropdown-launch-buttons a[href="{href}"]').is_visible()
    page.keyboard.press("Escape")

    # Each solution collapsed, and readable once opened (the cell's toggle, then the solution's own).
    solutions = page.evaluate(SOLUTIONS)
    assert len(solutions) == facts["solutions"] >= 1
    assert all(s["toggles"] == [False] and s["inner"] == [False] and not s["visible"] for s in solutions)
    first = page.locator("article .cell.tag_solution").first
    first.locator(":scope > details > summary").click()
    first.locator(".cell_output details > summary").click()
    assert first.locator(".cell_output details p").first.is_visible()


def test_collapsed_cells_are_tagged_for_myst_nb():
    """book/collapsed.py (its doctest, and the real notebooks): every solution cell is hidden whole."""
    spec = importlib.util.spec_from_file_location("book_collapsed", ROOT / "book" / "collapsed.py")
    collapsed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collapsed)
    assert doctest.testmod(collapsed).failed == 0
    for path in NOTEBOOKS:
        cells = collapsed.read(path.read_text(encoding="utf-8")).cells
        code = [c for c in cells if c.cell_type == "code"]
        solutions = [c for c in code if "exercises.solution(" in c.source]
        others = [c for c in cells if c not in solutions]
        assert solutions and all("hide-cell" in c.metadata.get("tags", []) for c in solutions), path.name
        hidden = [c.source[:40] for c in others if any(t.startswith("hide-") for t in c.metadata.get("tags", []))]
        assert hidden == [], f"{path.name}: cells other than the solutions are collapsed"
