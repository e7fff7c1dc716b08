"""The project's set-up files agree with each other, and importing gradlab changes nothing."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import Marker

import gradlab

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
CONDA_ONLY = {"python", "pip", "graphviz"}  # not Python packages of ours (graphviz: the `dot` binary)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[ ;<>=!~\[(]", requirement.strip(), maxsplit=1)[0])


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {requirement_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {requirement_name(r) for r in extra}
    return names


def environment_names() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    conda_part, _, pip_part = text.split("dependencies:", 1)[1].partition("- pip:")
    for line in (conda_part + pip_part).splitlines():  # pip: the packages conda-forge lacks, and `-e .`
        match = re.match(r"\s*-\s+([A-Za-z0-9_.][A-Za-z0-9_.\-]*)", line)
        if match:
            name = canonical(match.group(1))
            names.add(CONDA_NAMES.get(name, name))
    return names - CONDA_ONLY


# pyproject extras environment.yml leaves out: it is the students' environment (Binder, repo2docker's image).
NOT_IN_ENVIRONMENT_YML = {"hub": "make hub runs the hub on the teacher's machine; an image gets its hub from the chart"}


def test_environment_yml_names_the_same_packages_as_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    hub_only = {requirement_name(r) for extra in NOT_IN_ENVIRONMENT_YML for r in extras[extra]}
    assert environment_names() == pyproject_names() - hub_only


def test_environment_yml_has_graphviz():
    assert re.search(r"^\s*-\s+graphviz\b", (ROOT / "environment.yml").read_text(), re.MULTILINE)


def lock_pins() -> list[dict]:
    """constraints.txt as one dict per pin: name, version, marker, hashes, why (the `# why:` above it)."""
    pins: list[dict] = []
    why = None
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.startswith("# why: "):
            why = line.removeprefix("# why: ")
        elif re.match(r"[A-Za-z0-9]", line):
            match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)(?: ; (.+?))?(?: \\)?$", line)
            assert match, f"not a pin: {line!r}"
            name, version, marker = match.groups()
            pins.append({"name": canonical(name), "version": version, "marker": marker, "hashes": [], "why": why})
            why = None
        elif line.strip().startswith("--hash="):
            pins[-1]["hashes"].append(re.match(r"\s*--hash=sha256:([0-9a-f]{64})(?: \\)?$", line).group(1))
    return pins


def pins_here() -> dict[str, str]:
    """The pins whose markers hold on this machine's Python: what `make setup` installs here."""
    here = {}
    for pin in lock_pins():
        if pin["marker"] is None or Marker(pin["marker"]).evaluate():
            assert pin["name"] not in here, f"two pins of {pin['name']} hold here"
            here[pin["name"]] = pin["version"]
    return here


def test_lock_pins_every_direct_dependency_with_a_reason():
    pins = {pin["name"]: pin for pin in lock_pins()}
    assert pyproject_names() <= set(pins)
    for name in pyproject_names():
        assert pins[name]["why"], f"{name} has no `# why:` line"
    assert pins["torch"]["version"] == "2.13.0"
    assert pins["torch"]["marker"] is None


def test_lock_hashes_every_pin():
    for pin in lock_pins():
        assert pin["hashes"], f"{pin['name']} has no hash: pip install --require-hashes would refuse the file"
        assert len(set(pin["hashes"])) == len(pin["hashes"]), pin["name"]


def test_lock_has_markers_and_one_version_of_each_package_here():
    pins = {pin["name"]: pin for pin in lock_pins()}
    assert pins["colorama"]["marker"] == "sys_platform == 'win32'"
    assert pins["appnope"]["marker"] == "sys_platform == 'darwin'"
    here = pins_here()
    assert "colorama" not in here and "appnope" not in here
    assert pyproject_names() <= set(here)


def test_lock_leaves_out_torchs_cuda_packages():
    """On this CPU machine `make setup` must not pull PyPI's CUDA build's several GB of libraries."""
    cuda = [pin["name"] for pin in lock_pins() if re.match(r"(nvidia-|cuda-|triton$)", pin["name"])]
    assert cuda == []


def test_lock_hashes_the_cpu_torch_wheel_pip_finds_here():
    text = (ROOT / "constraints.txt").read_text()
    wheel = re.search(r"^#\s+(torch-2\.13\.0\+cpu-\S+\.whl)$", text, re.MULTILINE).group(1)
    spec = importlib.util.spec_from_file_location("lock", ROOT / "tools" / "lock.py")
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    found = [folder / wheel for folder in lock.find_links() if (folder / wheel).is_file()]
    if not found:
        pytest.skip(f"{wheel} is not on this machine's disk")
    torch = next(pin for pin in lock_pins() if pin["name"] == "torch")
    assert hashlib.sha256(found[0].read_bytes()).hexdigest() in torch["hashes"]


def test_makefile_installs_the_lock_with_hashes_and_restamps_when_it_changes(tmp_path: Path):
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes())
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / f".installed-{digest.hexdigest()[:16]}").touch()

    def dry_run() -> str:
        return subprocess.run(["make", "-n", "setup"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    assert "pip install" not in dry_run()  # up to date: nothing to do
    with (tmp_path / "constraints.txt").open("a") as lock:
        lock.write("# changed\n")
    commands = dry_run()
    assert "pip install --quiet --require-hashes -r constraints.txt" in commands
    assert "--no-deps --no-build-isolation -e ." in commands


def test_environment_yml_versions_are_the_locks():
    here = pins_here()
    text = (ROOT / "environment.yml").read_text().split("- pip:", 1)[0]
    pinned = re.findall(r"^\s*-\s+([A-Za-z0-9_.\-]+)=([0-9][0-9.]*)", text, re.MULTILINE)
    assert len(pinned) >= 5
    for name, version in pinned:
        name = CONDA_NAMES.get(canonical(name), canonical(name))
        if name == "python":
            assert sys.version.startswith(version + ".")
        else:
            assert here[name] == version or here[name].startswith(version + "."), (name, version, here[name])


# Declared dependencies that no code imports, and where each is used instead.
USED_WITHOUT_IMPORT = {
    "jupyterlab": ("Makefile", "jupyter lab"),
    "jupyterlab-language-pack-zh-cn": ("tests/test_packaging.py", "zh_CN"),
    "ipykernel": ("notebooks/01-autograd-grad-mse.ipynb", "Python 3 (ipykernel)"),
    "nbval": ("Makefile", "--nbval"),
    "pytest-timeout": ("pyproject.toml", "timeout = "),
    "ruff": ("Makefile", "ruff check"),
    "mypy": ("pyproject.toml", "[tool.mypy]"),
    "nbgitpuller": ("deploy/z2jh/values.yaml", 'defaultUrl: "/git-pull?'),
    "sphinx": ("Makefile", "-m sphinx"),
    "myst-nb": ("book/conf.py", '"myst_nb"'),
    "sphinx-book-theme": ("book/conf.py", '"sphinx_book_theme"'),
    "sphinx-mathjax-offline": ("book/conf.py", '"sphinx-mathjax-offline"'),
    "jupyterhub": ("tools/hub.py", '"-m", "jupyterhub"'),
    "jupyterhub-idle-culler": ("deploy/local/jupyterhub_config.py", '"-m", "jupyterhub_idle_culler"'),
}
# Imported, yet not declared: each is optional or comes with a declared package.
IMPORTED_UNDECLARED = {
    "graphviz": "bench/bench_graph.py's torchviz columns; they say why they are empty without it",
    "torchviz": "bench/bench_graph.py's torchviz columns; they say why they are empty without it",
    "jupyter-client": "bench/bench_widgets.py; installed with ipykernel and nbclient",
    "ipython": "tests/test_widgets.py asks IPython's formatter what a notebook shows; installed with ipywidgets",
    "grandalf": "bench/bench_layout.py's crossing columns; make bench installs bench/requirements.txt apart, in .bench-site",
}


def imported_modules(folder: str) -> dict[str, str]:
    """Top-level third-party modules imported by the .py files and notebooks under a folder: module -> a file."""
    sources = [(path, path.read_text()) for path in (ROOT / folder).rglob("*.py")]
    for path in (ROOT / folder).rglob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        # an IPython line (%pip, !ls) becomes `pass`, indented as it was (the install cell's %pip sits in an except)
        sources.append((path, "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", cell, flags=re.M) for cell in code)))
    found = {}
    for path, source in sources:
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                # a module of this repository: a sibling, or a tool's module (tools/, deploy/local/ put on the path)
                local = any(
                    (d / f"{top}.py").exists() for d in (path.parent, ROOT / "tools", ROOT / "deploy" / "local")
                )
                if top not in sys.stdlib_module_names and top != "gradlab" and not local:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@functools.cache
def distributions() -> dict[str, list[str]]:
    return packages_distributions()


def distribution(module: str) -> str:
    return canonical(distributions().get(module, [module])[0])


def test_gradlab_imports_only_its_declared_runtime_dependencies():
    runtime = {
        requirement_name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    imported = {distribution(module) for module in imported_modules("gradlab")}
    assert imported <= runtime, f"imported but not in [project] dependencies: {sorted(imported - runtime)}"


def test_every_declared_dependency_is_used_and_every_import_declared():
    imported = {}
    for folder in ("gradlab", "tests", "tools", "bench", "notebooks"):
        for module, path in imported_modules(folder).items():
            imported.setdefault(distribution(module), path)
    declared = pyproject_names()
    undeclared = set(imported) - declared - set(IMPORTED_UNDECLARED)
    assert not undeclared, (
        f"imported but not declared in pyproject.toml: {[(n, imported[n]) for n in sorted(undeclared)]}"
    )
    for name in sorted(declared - set(imported)):
        assert name in USED_WITHOUT_IMPORT, f"{name} is declared in pyproject.toml but nothing imports or runs it"
        path, needle = USED_WITHOUT_IMPORT[name]
        assert needle in (ROOT / path).read_text(), f"{name}: {needle!r} is no longer in {path}"
    assert not set(IMPORTED_UNDECLARED) & declared, "declared now: drop it from IMPORTED_UNDECLARED"


def test_pyproject_keeps_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" not in requirement, requirement


def test_import_changes_no_global_state():
    code = """
import sys, torch
seed = torch.initial_seed()
state = torch.get_rng_state().clone()
import gradlab
assert torch.initial_seed() == seed
assert torch.equal(torch.get_rng_state(), state)
heavy = sorted(m for m in ("matplotlib", "ipywidgets", "IPython", "numpy.random._pickle") if m in sys.modules)
print(",".join(heavy))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_makefile_lab_is_local_and_keeps_the_token():
    makefile = (ROOT / "Makefile").read_text()
    lab = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert "--ip=127.0.0.1" in lab
    assert "token=''" not in lab and 'token=""' not in lab and "--NotebookApp.token" not in lab
    assert "0.0.0.0" not in lab


def test_make_lab_starts_jupyterlab_on_localhost(tmp_path: Path):
    """The README's first command: `make lab` serves JupyterLab on 127.0.0.1, token required, Chinese available."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_TOKEN": token,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "BROWSER": "true",  # do not try to open a browser
    }
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                time.sleep(0.5)
                continue
            break
        assert server.poll() is None, server.stdout.read()
        assert status == 403, f"expected the token to be required, got HTTP {status}"
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/lab/api/translations/zh_CN?token={token}", timeout=30) as response:
            chinese = json.load(response)["data"]["jupyterlab"]
        assert chinese["Run All Cells"] == ["运行所有单元格"]  # the zh-CN language pack is installed
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_version_has_one_source():
    """pyproject.toml reads the version from gradlab.__version__ instead of repeating it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gradlab.__version__"}
    init = (ROOT / "gradlab" / "__init__.py").read_text()
    versions = re.findall(r'^__version__ = "(\d+\.\d+\.\d+)"$', init, re.MULTILINE)
    assert len(versions) == 1, "gradlab/__init__.py must assign __version__ once, to a literal setuptools can read"
    assert gradlab.__version__ == versions[0]
