"""Write constraints-ipywidgets7.txt: the second test environment's lock, Colab's widget stack.

Colab ships ipywidgets 7.7.1 with IPython 7 and ipykernel 6 (googlecolab/backend-info,
pip-freeze.txt), where JupyterLab and the main lock have ipywidgets 8. ``make test`` runs
the widget tests again in ``.venv-ipyw7``, installed from this file with
``pip install --require-hashes``. Run by ``make lock`` after tools/lock.py; resolved
like the main lock (``uv pip compile --universal --generate-hashes``, torch's CUDA-only
packages left out, torch's CPU wheel on this machine's disk hashed in), so torch is the
main lock's torch and its wheel is reused.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import lock  # tools/lock.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
# name: (held version, why). Colab's versions, where a package is on Colab.
PINS: dict[str, tuple[str | None, str]] = {
    "torch": (lock.PINS["torch"][0], "the main lock's torch: its CPU wheel on this machine's disk is reused"),
    "ipywidgets": ("7.7.1", "what Colab ships (googlecolab/backend-info pip-freeze.txt); the widget tests run on it"),
    "widgetsnbextension": ("3.6.10", "Colab's; ipywidgets 7.7 requires 3.6.x"),
    "jupyterlab-widgets": ("3.0.16", "Colab's; ipywidgets 7.7 requires it"),
    "ipython": ("7.34.0", "Colab's kernel: IPython 7's display formatter decides what a widget cell shows"),
    "ipykernel": ("6.17.1", "Colab's kernel (its Comm carries the widgets' messages)"),
    "traitlets": ("5.7.1", "Colab's; the widgets' traits and observe()"),
    "jupyter-client": ("7.4.9", "Colab's; ipykernel 6.17 and notebook 6.5 need a 7.x"),
    "notebook": ("6.5.7", "Colab's; widgetsnbextension 3.6 requires the notebook package (7.x would bring JupyterLab)"),
    "numpy": (None, "on Colab too; torch warns without it, and a widget test feeds the explorers numpy numbers"),
    "pytest": (None, "test runner"),
    "pytest-timeout": (None, "pyproject.toml's timeout = 300"),
}
HEADER = """\
# The second test environment, .venv-ipyw7: gradlab's widget tests under Colab's ipywidgets 7.7.
# Written by tools/lock_ipywidgets7.py (`make lock`); do not edit by hand. `make test` installs it
# with `pip install --require-hashes -r` after torch (as .venv: an installed torch 2.13.0 is kept).
# Resolved by `uv pip compile --universal --generate-hashes`; torch's hashes: PyPI's files plus
#   {cpu_wheels}
# `# why:` says why a package is here and why that version.
"""


def compile_lock(uv: str, output: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        wanted = Path(tmp, "ipywidgets7.in")
        wanted.write_text("".join(f"{name}=={v}\n" if v else f"{name}\n" for name, (v, _) in PINS.items()))
        # uv prefers the versions already in its output file: this lock's, else the main lock's (shared packages agree)
        previous = Path(tmp, "previous.txt")
        previous.write_text((output if output.exists() else ROOT / "constraints.txt").read_text())
        command = [uv, "pip", "compile", str(wanted), "-o", str(previous), "--universal", "--python-version", "3.11"]
        command += ["--generate-hashes", "--no-config", "--quiet", "--no-header", "--index-url", lock.INDEX]
        subprocess.run(command, cwd=ROOT, check=True)
        return previous.read_text().replace(str(wanted), "tools/lock_ipywidgets7.py PINS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="constraints-ipywidgets7.txt", type=Path)
    parser.add_argument("--uv", default="uv", help="the uv program (make lock passes .venv-lock/bin/uv)")
    args = parser.parse_args()

    _, blocks = lock.split_blocks(compile_lock(args.uv, args.output))
    blocks = [b for b in blocks if not lock.CUDA_ONLY.match(lock.block_name(b))]
    names = {lock.block_name(b) for b in blocks}
    wheels = lock.cpu_torch_wheels(PINS["torch"][0] or "")
    if not wheels:
        sys.exit(f"no torch CPU wheel in pip's find-links {lock.find_links()}: cannot hash it")
    for wheel in wheels:
        missing = lock.wheel_requirements(wheel) - names
        if missing:
            sys.exit(f"{wheel.name} requires {sorted(missing)}, which the lock lacks")
    lines = HEADER.format(cpu_wheels=", ".join(w.name for w in wheels)).splitlines()
    for block in blocks:
        name = lock.block_name(block)
        if name in PINS:
            lines.append(f"# why: {PINS[name][1]}")
        lines += lock.torch_block(block, wheels) if name == "torch" else block
    args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
