"""The backward stepper in a real JupyterLab, stepped through the seed by keyboard in headless Chromium.

Open ``stepper.ipynb`` (this folder), Run All, focus the step slider's handle
and press ArrowRight until the last step, then ArrowLeft back to the start.
After each key the page must show what gradlab computes in this process for
the same seed: the step number, the node that ran, the words (Chinese and
English), the current box and the gradients on the arrows. The time from the
keydown to the first frame after the words changed is recorded like the
explorers' (``test-artifacts/browser-latency.txt``), reported, not asserted.
The screenshot is ``test-artifacts/browser-stepper.png``.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_explorers_browser import ARM_TIMER, KERNEL_READY, wait_for_change

import gradlab
from gradlab.stepper import step_state

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "stepper.ipynb"

READ_PAGE = """root => ({
    step: root.querySelector('.gradlab-readout .gradlab-value[data-name=step]').textContent,
    zh: root.querySelector('.gradlab-note[data-name=text_zh]').textContent,
    en: root.querySelector('.gradlab-note[data-name=text_en]').textContent,
    slider: Number(root.querySelector('.gradlab-slider-step .noUi-handle').getAttribute('aria-valuenow')),
    current: [...root.querySelectorAll('svg .node.current')].map(g => g.dataset.id),
    gradients: [...root.querySelectorAll('svg text.gradient')].map(t => t.textContent).sort(),
})"""


def seed_trace() -> gradlab.BackwardTrace:
    """The notebook's seed, traced here: what the page must show."""
    x = torch.tensor([1.0])
    w = torch.tensor([2.0], requires_grad=True)
    mse = F.mse_loss(torch.ones(1), x * w)
    return gradlab.trace_backward(mse)


def expected_at(trace: gradlab.BackwardTrace, step: int) -> dict[str, object]:
    state = step_state(trace, step)
    svg = gradlab.draw(trace, step=step).to_svg()
    return {
        "step": str(step),
        "zh": state["text_zh"],
        "en": state["text_en"],
        "slider": float(step),
        "current": [] if state["node_id"] is None else [str(state["node_id"])],
        "gradients": sorted(unescape(t) for t in re.findall(r'class="gradient"[^>]*>([^<]*)<', svg)),
    }


def open_and_run_all(page, lab) -> None:
    page.goto(lab.notebook_url(NOTEBOOK))
    page.wait_for_function(KERNEL_READY, timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-NotebookPanel .gradlab-stepper .gradlab-readout').length === 1",
        timeout=60_000,
    )
    page.wait_for_function(
        """() => ![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))""",
        timeout=60_000,
    )


def test_stepper_follows_the_keyboard_through_the_seed(lab, browser, latency_log):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-stepper-FAILED.png").unlink(missing_ok=True)
    trace = seed_trace()
    total = len(trace.steps)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        open_and_run_all(page, lab)
        root = page.locator(".jp-NotebookPanel .gradlab-stepper").first
        root.scroll_into_view_if_needed()
        assert root.evaluate(READ_PAGE) == expected_at(trace, 0)
        handle = root.locator(".gradlab-slider-step .noUi-handle")
        handle.focus()
        keys = ["ArrowRight"] * total + ["ArrowLeft"] * total
        step = 0
        for key in keys:
            step += 1 if key == "ArrowRight" else -1
            root.evaluate(ARM_TIMER)
            page.keyboard.press(key)
            ms = wait_for_change(page, f"{NOTEBOOK}, {key} to step {step}")
            page.wait_for_timeout(50)  # the words and the picture come as separate messages
            shown = root.evaluate(READ_PAGE)
            assert shown == expected_at(trace, step), f"after {key} to step {step}"
            latency_log.append((NOTEBOOK, "stepper#0", f"{key[5:].lower()}->{step}", ms))
            print(f"{NOTEBOOK}: {key} -> step {step} ({shown['en'][:40]}...): {ms:.1f} ms")
            if step == 2 and key == "ArrowRight":  # the chain rule in numbers: keep this picture
                root.screenshot(path=str(ARTIFACTS / "browser-stepper.png"))
        page.screenshot(path=str(ARTIFACTS / "browser-stepper-page.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "browser-stepper-FAILED.png"))
        raise
    finally:
        page.close()
        lab.shutdown_kernels()
