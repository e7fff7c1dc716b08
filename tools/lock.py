"""Write constraints.txt: resolve pyproject.toml's [lab,test,book] set with uv, with markers and hashes.

Run by ``make lock`` (``make`` puts uv in its own small venv, never in the project's
.venv). The resolver is ``uv pip compile --universal --generate-hashes``:

- every pin carries environment markers where it applies to some platforms or
  Pythons only, the SHA-256 of every file of that release, and uv's ``# via``;
- the versions in PINS below are held, each with its reason; everything else is
  the newest release that fits, preferring the versions already in the lock file;
- the build back-end (``[build-system] requires``) and pip are locked too, so
  ``make setup`` installs every file, gradlab's build included, hash-checked.

torch: PyPI's Linux wheels of torch are the CUDA builds and pull several GB of
nvidia-*/cuda-*/triton wheels. They are left out of the lock, and the hash of the
CPU wheel on this machine's disk (found in pip's find-links) is added to torch's
hashes. On Linux, torch therefore comes from that wheel or is installed before
``make setup`` (README, "On a GPU machine"); an installed torch 2.13.0 is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/simple"
EXTRAS = ("lab", "test", "book", "hub")

# name: (held version or None, why). Every direct dependency has a reason.
PINS: dict[str, tuple[str | None, str]] = {
    "torch": ("2.13.0", "the CPU wheel on this machine's disk; a newer or unpinned torch pulls a multi-GB CUDA build"),
    "matplotlib": ("3.11.2", "PNG/PDF rendering; held so committed src_images/ rebuild byte-identically"),
    "ipywidgets": ("8.1.9", "slider widgets; the widget model version saved in notebooks must match the lab's"),
    "jupyterlab": ("4.6.6", "the JupyterLab the browser tests' selectors were verified against"),
    "jupyterlab-language-pack-zh-cn": (None, "Chinese interface for learners (Settings > Language)"),
    "ipykernel": (None, "the kernel nbval and JupyterLab start"),
    "nbval": ("0.11.0", "notebook validation in strict mode (sanitize-file format)"),
    "nbclient": (None, "executes notebooks for make notebooks"),
    "nbformat": (None, "reads and writes notebooks"),
    "pytest": (None, "test runner"),
    "pytest-timeout": (None, "a hung kernel or browser fails a test instead of CI"),
    "hypothesis": (None, "property tests for softmax and Jacobians"),
    "ruff": ("0.17.5", "lint; its rules change between releases"),
    "mypy": ("2.4.1", "type check of gradlab/; its inference changes between releases"),
    "packaging": (None, "the packaging test reads the lock's environment markers"),
    "playwright": ("1.65.2", "drives Debian's Chromium in the browser tests; the API the tests use"),
    "nbgitpuller": ("1.3.0", "class links (deploy/, make class-link): each student's own copy, edits kept"),
    "jsonschema": (None, "tests/test_deploy.py checks the Helm values against the Zero to JupyterHub chart's schema"),
    "pyyaml": (None, "tests/test_deploy.py reads the Helm values and the chart's schema"),
    "sphinx": ("9.0.4", "make book: the static site's builder; one version on every Python (9.1 needs Python 3.12)"),
    "myst-nb": ("1.4.0", "make book reads the notebooks' saved outputs; book/collapsed.py plugs into its reader"),
    "sphinx-book-theme": (
        "1.4.0",
        "make book's theme; its Colab/Binder links are what tests/browser/test_book.py checks",
    ),
    "sphinx-mathjax-offline": ("0.0.2", "MathJax 3.2.2 copied into the site, so math typesets without the internet"),
    "setuptools": (None, "gradlab's build back-end ([build-system] requires)"),
    "pip": (None, "the installer make setup runs; upgraded from the venv's bundled one"),
    # make hub (the hub extra)
    "jupyterhub": ("6.1.1", "make hub: the hub, its login, its spawner; tested with 6.1 (tests/test_hub.py)"),
    "jupyterhub-idle-culler": ("2.0.0", "make hub: stops idle students' servers (a service the hub starts)"),
    "aiohttp": (None, "tests/test_hub.py's and bench_classroom's client: login form, cookies, kernel websockets"),
    "psutil": (None, "make hub stops every process the hub started; the hub tests read sockets and memory"),
}
# What PyPI's Linux torch wheel adds to the CPU wheel's requirements.
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
HEADER = """\
# The one tested set of packages for `make lab` / `make test` / `make book`, resolved from pyproject.toml's
# [{extras}] extras by `uv pip compile --universal --generate-hashes`. Regenerate with `make lock`
# (tools/lock.py); do not edit by hand. `make setup` installs it with `pip install --require-hashes -r`.
# Markers: pins that hold on some platforms or Pythons only say so (`; sys_platform == 'win32'`).
# Hashes: every file of each pinned release. torch lists PyPI's files plus the CPU wheel on this
# machine's disk:
#   {cpu_wheels}
# torch's CUDA-only packages (nvidia-*, cuda-*, triton) are left out, so on a Linux machine without
# that wheel install torch 2.13.0 before `make setup` (README: "On a GPU machine").
# `# why:` says why a package is a direct dependency and, where a version is held, why that version.
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_links() -> list[Path]:
    """The local folders pip searches for wheels (PIP_FIND_LINKS and pip's configuration)."""
    values = os.environ.get("PIP_FIND_LINKS", "").split()
    config = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    for line in config.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".find-links"):
            values += shlex.split(value.strip().strip("'\""))
    folders = []
    for value in values:
        path = Path(value.removeprefix("file://"))
        if path.is_dir() and path not in folders:
            folders.append(path)
    return folders


def cpu_torch_wheels(version: str) -> list[Path]:
    return sorted(w for folder in find_links() for w in folder.glob(f"torch-{version}+cpu-*.whl"))


def linux_hashes(name: str, version: str) -> set[str]:
    """The SHA-256 of the index's Linux wheels of one release (PEP 691 JSON)."""
    request = urllib.request.Request(f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    prefix = f"{name}-{version}-"
    return {f["hashes"]["sha256"] for f in files if f["filename"].startswith(prefix) and "linux" in f["filename"]}


def wheel_requirements(wheel: Path) -> set[str]:
    """The names a wheel requires outside any extra."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            names.add(canonical(re.split(r"[ ;<>=!~\[(]", line.split(":", 1)[1].strip(), maxsplit=1)[0]))
    return names


def split_blocks(text: str) -> tuple[list[str], list[list[str]]]:
    """uv's output as (leading comment lines, one block of lines per pin)."""
    head: list[str] = []
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if re.match(r"[A-Za-z0-9]", line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            head.append(line)
    return head, blocks


def block_name(block: list[str]) -> str:
    return canonical(re.match(r"[A-Za-z0-9_.\-]+", block[0]).group(0))


def via(block: list[str]) -> set[str]:
    """The packages uv says need this one (its ``# via`` lines)."""
    names = set()
    for line in block:
        match = re.match(r"\s*#\s+(?:via\s+)?([A-Za-z0-9_.\-]+)$", line)
        if match and match.group(1) != "via":
            names.add(canonical(match.group(1)))
    return names


def torch_block(block: list[str], wheels: list[Path]) -> list[str]:
    """torch's pin with PyPI's Linux (CUDA) hashes replaced by the CPU wheels' own.

    pip prefers a file whose index-given hash is allowed; leaving PyPI's CUDA hashes in
    would make it download the CUDA wheel instead of the CPU wheel on disk.
    """
    cuda = linux_hashes("torch", PINS["torch"][0] or "")
    if not cuda:
        sys.exit("found no Linux torch wheels on the index: cannot tell the CUDA hashes apart")
    kept = [
        h.strip().rstrip(" \\") for h in block if h.strip().startswith("--hash=") and h.split(":")[1][:64] not in cuda
    ]
    kept += [f"--hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}" for w in wheels]
    kept = list(dict.fromkeys(kept))  # the CPU wheel's hash may come back from the previous lock
    comments = [line for line in block[1:] if line.lstrip().startswith("#")]
    return [block[0], *(f"    {h} \\" for h in kept[:-1]), f"    {kept[-1]}", *comments]


def compile_lock(uv: str, output: Path) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp, "build-system.txt")
        build.write_text("\n".join([*pyproject["build-system"]["requires"], "pip"]) + "\n")
        held = Path(tmp, "held.txt")
        held.write_text("".join(f"{name}=={version}\n" for name, (version, _) in PINS.items() if version))
        previous = Path(tmp, "previous.txt")  # uv prefers the versions already in its output file
        if output.exists():
            previous.write_text(output.read_text())
        command = [uv, "pip", "compile", "pyproject.toml", str(build), "-c", str(held), "-o", str(previous)]
        command += [arg for extra in EXTRAS for arg in ("--extra", extra)]
        command += ["--universal", "--python-version", "3.11", "--generate-hashes", "--no-config", "--quiet"]
        command += ["--no-header", "--index-url", INDEX]
        subprocess.run(command, cwd=ROOT, check=True)
        text = previous.read_text()
        return text.replace(str(build), "pyproject.toml [build-system]").replace(str(held), "tools/lock.py PINS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="constraints.txt", type=Path)
    parser.add_argument("--uv", default="uv", help="the uv program (make lock passes .venv-lock/bin/uv)")
    args = parser.parse_args()

    _, blocks = split_blocks(compile_lock(args.uv, args.output))
    dropped = {block_name(b) for b in blocks if CUDA_ONLY.match(block_name(b))}
    for block in blocks:
        if block_name(block) in dropped and not via(block) <= dropped | {"torch"}:
            sys.exit(f"{block_name(block)} is needed by more than torch's CUDA build: {sorted(via(block))}")
    blocks = [b for b in blocks if block_name(b) not in dropped]
    names = {block_name(b) for b in blocks}

    torch_version = PINS["torch"][0]
    wheels = cpu_torch_wheels(torch_version)
    if not wheels:
        sys.exit(f"no torch-{torch_version}+cpu wheel in pip's find-links {find_links()}: cannot hash it")
    for wheel in wheels:
        missing = wheel_requirements(wheel) - names
        if missing:
            sys.exit(f"{wheel.name} requires {sorted(missing)}, which the lock lacks")

    lines = HEADER.format(cpu_wheels=", ".join(w.name for w in wheels), extras=",".join(EXTRAS)).splitlines()
    for block in blocks:
        name = block_name(block)
        if name in PINS:
            lines.append(f"# why: {PINS[name][1]}")
        if name == "torch":
            block = torch_block(block, wheels)
        lines += block
    unexplained = set(PINS) - names
    if unexplained:
        sys.exit(f"PINS names packages the resolver did not pin: {sorted(unexplained)}")
    args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
