"""The project's set-up files agree with each other, and importing gradlab changes nothing."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

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
    conda_part = text.split("dependencies:", 1)[1].split("- pip:", 1)[0]
    for line in conda_part.splitlines():
        match = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if match:
            name = canonical(match.group(1))
            names.add(CONDA_NAMES.get(name, name))
    return names - CONDA_ONLY


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert environment_names() == pyproject_names()


def test_environment_yml_has_graphviz():
    assert re.search(r"^\s*-\s+graphviz\b", (ROOT / "environment.yml").read_text(), re.MULTILINE)


def test_constraints_pin_every_direct_dependency_with_a_reason():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)\s+#\s*(\S.*)", line)
        assert match, f"not a pin with a reason: {line!r}"
        pins[canonical(match.group(1))] = match.group(2)
    assert pins["torch"] == "2.13.0"
    assert pyproject_names() <= set(pins)


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
