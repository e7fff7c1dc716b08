"""The explorers in a real JupyterLab, driven with the keyboard in headless Chromium.

For every notebook that calls an explorer (``notebooks/*.ipynb`` and this
folder's ``explorers.ipynb``): open it, Run All, then for each explorer focus
each slider handle and press ArrowRight. The numbers the explorer then shows
must be the ones torch computes for the new slider values. The time from the
keydown to the first frame after the readout changed is printed, written to
``test-artifacts/browser-latency.txt`` and reported, not asserted. Screenshots
go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
EXPLORER_CALL = re.compile(r"^[^#\n]*\b\w+_explorer\(", re.MULTILINE)


def explorer_calls(path: Path) -> int:
    """How many explorers the notebook's code cells create (one per call, not counting comments)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return sum(len(EXPLORER_CALL.findall(source)) for source in sources)


# The same notebooks the `lab` fixture serves (conftest.notebooks_to_serve), those with an explorer.
SERVED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(Path(__file__).parent.glob("*.ipynb"))
NOTEBOOKS = [path for path in SERVED if explorer_calls(path)]


# --- what torch says the explorer must show -----------------------------------------


def expected_mse(v: dict[str, float], i: int) -> dict[str, float]:
    w = torch.tensor(v["w"], dtype=torch.float64, requires_grad=True)
    loss = (v["target"] - v["x"] * w) ** 2
    (grad,) = torch.autograd.grad(loss, [w])
    return {"loss": loss.item(), "grad": grad.item(), "grad_formula": grad.item(), **v}


def expected_softmax(v: dict[str, float], i: int) -> dict[str, float]:
    a = torch.tensor([v[f"a{k}"] for k in range(len(v))], dtype=torch.float64, requires_grad=True)
    p = torch.softmax(a, dim=0)
    (row,) = torch.autograd.grad(p[i], [a])
    shown = {f"p{k}": value for k, value in enumerate(p.tolist())}
    shown.update({f"row{k}": value for k, value in enumerate(row.tolist())})
    shown.update({"sum_p": 1.0, "row_sum": 0.0, "i": float(i)})
    return shown


def expected_descent(v: dict[str, float], i: int) -> dict[str, float]:
    x, target, lr, steps = v["x"], v["target"], v["lr"], round(v["steps"])
    w = torch.tensor(v["w"], dtype=torch.float64, requires_grad=True)
    shown = {}
    for k in range(steps):
        loss = (target - x * w) ** 2
        loss.backward()
        shown.update({f"w{k}": w.item(), f"loss{k}": loss.item(), f"grad{k}": w.grad.item()})
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    final_loss = (target - x * w.detach()) ** 2
    shown.update({f"w{steps}": w.item(), f"loss{steps}": final_loss.item()})
    shown.update({"w_final": w.item(), "loss_final": final_loss.item()})
    return shown


EXPECTED = {"mse": expected_mse, "softmax": expected_softmax, "descent": expected_descent}


def assert_shown(shown: dict[str, str], expected: dict[str, float], where: str) -> None:
    missing = sorted(set(expected) - set(shown))
    unexpected = sorted(set(shown) - set(expected))
    assert not missing and not unexpected, f"{where}: readout names differ: missing {missing}, extra {unexpected}"
    for name, value in expected.items():
        got = float(shown[name])
        tolerance = 6e-5 + 1e-3 * abs(value)  # 4 decimals, or 5 significant digits when huge
        assert abs(got - value) <= tolerance, f"{where}: {name} shows {shown[name]}, torch says {value:.6f}"


# --- the page -------------------------------------------------------------------------

READ_VALUES = """root => Object.fromEntries(
    [...root.querySelectorAll('.gradlab-readout .gradlab-value')].map(e => [e.dataset.name, e.textContent]))"""

# The slider's own readout: it has every digit of the value (the steps are 0.01 or coarser, shown with 2
# decimals), where aria-valuenow is rounded to 1 decimal. Negative numbers use U+2212.
READ_SLIDERS = """root => Object.fromEntries([...root.querySelectorAll('.gradlab-slider')].map(s => [
    [...s.classList].find(c => c.startsWith('gradlab-slider-')).slice('gradlab-slider-'.length),
    s.querySelector('.widget-readout').textContent.trim().replace('\u2212', '-')]))"""

# Times the next keydown (or click) and the first animation frame after the readout changed.
ARM_TIMER = """root => {
    const target = root.querySelector('.gradlab-readout').parentElement;
    const t = {start: null, changed: null, painted: null};
    window.__gradlabTiming = t;
    const begin = () => { if (t.start === null) t.start = performance.now(); };
    document.addEventListener('keydown', begin, {capture: true, once: true});
    document.addEventListener('pointerdown', begin, {capture: true, once: true});
    const observer = new MutationObserver(() => {
        if (t.changed !== null || t.start === null) return;
        t.changed = performance.now();
        observer.disconnect();
        requestAnimationFrame(() => { t.painted = performance.now(); });
    });
    observer.observe(target, {childList: true, subtree: true, characterData: true});
}"""


def wait_for_change(page, what: str) -> float:
    """Milliseconds from the keydown/click to the frame that shows the change."""
    try:
        page.wait_for_function(
            "() => window.__gradlabTiming && window.__gradlabTiming.painted !== null", timeout=10_000
        )
    except Exception as error:  # Playwright's TimeoutError; say what did not happen
        raise AssertionError(f"{what}: the readout did not change within 10 s") from error
    timing = page.evaluate("() => window.__gradlabTiming")
    return timing["painted"] - timing["start"]


KERNEL_READY = """() => {
    const bar = document.querySelector('#jp-main-statusbar');
    return !!document.querySelector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']")
        && document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length > 0
        && !!bar && bar.innerText.includes('| Idle') && !bar.innerText.includes('No Kernel');
}"""


def open_and_run_all(page, lab, notebook: Path, count: int) -> None:
    page.goto(lab.notebook_url(notebook.name))
    # The execution indicator reads 'idle' while the notebook is still loading; wait for the kernel too
    # (Run All before the session exists opens a "Select Kernel" dialog).
    page.wait_for_function(KERNEL_READY, timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():  # a kernel chooser after all: take the preferred kernel
        dialog.first.click()
    try:
        page.wait_for_function(
            """n => document.querySelectorAll('.gradlab-explorer .gradlab-readout .gradlab-value').length > 0
                 && document.querySelectorAll('.gradlab-explorer').length >= n""",
            arg=count,
            timeout=60_000,
        )
    except Exception as error:
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts()
        raise AssertionError(
            f"{notebook.name}: {count} explorer(s) expected after Run All, "
            f"found {page.locator('.gradlab-explorer').count()}; errors in the page: {errors[:3]}\n{lab.log_tail()}"
        ) from error
    # Let the rest of the notebook finish so slider messages are not queued behind running cells.
    page.wait_for_function(
        """() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))""",
        timeout=60_000,
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_explorers_follow_the_keyboard(notebook: Path, lab, browser, latency_log):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"browser-{notebook.stem}-FAILED.png").unlink(missing_ok=True)
    count = explorer_calls(notebook)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        open_and_run_all(page, lab, notebook, count)
        explorers = page.locator(".jp-NotebookPanel .gradlab-explorer")
        assert explorers.count() == count
        for e in range(count):
            root = explorers.nth(e)
            root.scroll_into_view_if_needed()
            kind = next(c for c in root.get_attribute("class").split() if c in {f"gradlab-{k}" for k in EXPECTED})
            kind = kind.removeprefix("gradlab-")
            label = f"{notebook.name} explorer {e} ({kind})"
            handle_names = list(root.evaluate(READ_SLIDERS))
            assert handle_names, f"{label}: no sliders found"
            # Shown before any keypress: the slider values the page shows are the ones the kernel used.
            shown = root.evaluate(READ_VALUES)
            sliders = {k: float(v) for k, v in root.evaluate(READ_SLIDERS).items()}
            assert_shown(shown, EXPECTED[kind](sliders, round(float(shown.get("i", 0)))), f"{label}, as displayed")
            for name in handle_names:
                handle = root.locator(f".gradlab-slider-{name} .noUi-handle")
                before_sliders = {k: float(v) for k, v in root.evaluate(READ_SLIDERS).items()}
                before = root.evaluate(READ_VALUES)
                handle.scroll_into_view_if_needed()
                handle.focus()
                root.evaluate(ARM_TIMER)
                page.keyboard.press("ArrowRight")
                ms = wait_for_change(page, f"{label}, slider {name}")
                # The readout may be replaced by one message per changed widget; wait until it is settled.
                page.wait_for_timeout(50)
                sliders = {k: float(v) for k, v in root.evaluate(READ_SLIDERS).items()}
                assert sliders[name] > before_sliders[name], f"{label}: ArrowRight did not move slider {name}"
                shown = root.evaluate(READ_VALUES)
                i = round(float(shown.get("i", 0)))
                assert_shown(shown, EXPECTED[kind](sliders, i), f"{label}, after ArrowRight on {name}")
                assert shown != before, f"{label}: the readout did not change after moving {name}"
                latency_log.append((notebook.name, f"{kind}#{e}", name, ms))
                print(f"{label}: slider {name} {before_sliders[name]:g} -> {sliders[name]:g}: {ms:.1f} ms")
            if kind == "softmax":  # the chooser highlights another row
                n = len(handle_names)
                choice = (round(float(root.evaluate(READ_VALUES)["i"])) + 1) % n
                root.evaluate(ARM_TIMER)
                root.locator(".gradlab-chooser button", has_text=re.compile(rf"^i = {choice}$")).click()
                ms = wait_for_change(page, f"{label}, chooser i = {choice}")
                page.wait_for_timeout(50)
                shown = root.evaluate(READ_VALUES)
                assert round(float(shown["i"])) == choice
                sliders = {k: float(v) for k, v in root.evaluate(READ_SLIDERS).items()}
                assert_shown(shown, expected_softmax(sliders, choice), f"{label}, after choosing i = {choice}")
                latency_log.append((notebook.name, f"{kind}#{e}", f"i={choice}", ms))
            root.screenshot(path=str(ARTIFACTS / f"browser-{notebook.stem}-{e}-{kind}.png"))
        page.screenshot(path=str(ARTIFACTS / f"browser-{notebook.stem}.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"browser-{notebook.stem}-FAILED.png"))
        raise
    finally:
        page.close()
        lab.shutdown_kernels()
