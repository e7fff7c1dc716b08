"""Write constraints.txt: every package in the current environment, pinned, each with its reason.

Run by ``make lock`` inside the project's .venv after changing pyproject.toml.
Direct pins carry the reason written in DIRECT below; the others say which
installed packages need them, like pip-compile's ``# via``.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

DIRECT = {
    "torch": "2.13.0 is the CPU wheel on this machine's disk; a newer or unpinned torch pulls a multi-GB CUDA build",
    "jupyterlab": "the JupyterLab the browser tests' selectors were verified against",
    "jupyterlab-language-pack-zh-cn": "Chinese interface for learners (Settings > Language)",
    "ipykernel": "the kernel nbval and JupyterLab start",
    "ipywidgets": "slider widgets; the widget model version saved in notebooks must match the lab's",
    "matplotlib": "PNG/PDF rendering; pinned so committed src_images/ rebuild byte-identically",
    "numpy": "matplotlib's array backend; last release for Python 3.11",
    "nbval": "notebook validation in strict mode (sanitize-file format)",
    "nbclient": "executes notebooks for make notebooks",
    "nbformat": "reads and writes notebooks",
    "pytest": "test runner",
    "pytest-timeout": "a hung kernel or browser fails a test instead of CI",
    "hypothesis": "property tests for softmax and Jacobians",
    "ruff": "lint; its rules change between releases",
    "playwright": "drives Debian's Chromium in the browser tests",
}
SKIP = {"gradlab", "pip", "setuptools", "wheel"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    dists = {canonical(d.metadata["Name"]): d for d in metadata.distributions()}
    needed_by: dict[str, set[str]] = {name: set() for name in dists}
    for name, dist in dists.items():
        for requirement in dist.requires or []:
            via = name + (" (extra)" if "extra ==" in requirement else "")
            target = canonical(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
            if target in needed_by:
                needed_by[target].add(via)
    lines = [
        "# Pinned versions for `make lab` / `make test` (pip install -c constraints.txt).",
        "# pyproject.toml keeps ranges, as a library should; this file fixes one tested set.",
        "# Regenerate with `make lock`; every pin says why it is here.",
    ]
    for name in sorted(n for n in dists if n not in SKIP):
        version = dists[name].version.split("+")[0]  # 2.13.0+cpu -> 2.13.0: the same pin on a GPU machine
        reason = DIRECT.get(name) or "via " + ", ".join(sorted(needed_by[name]) or ["(installed alongside)"])
        lines.append(f"{name}=={version}  # {reason}")
    Path(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
