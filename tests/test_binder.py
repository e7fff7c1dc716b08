"""Binder: repo2docker builds this repository from the top-level environment.yml, and the Binder links open real notebooks.

The image itself is not built here (no Docker, no mybinder.org; README, "Colab and Binder"). These tests
read the files as repo2docker does. Its rules, from jupyterhub/repo2docker (app.py, buildpacks/, docs
use/repository.md and configuration/):

- a ``binder/`` or ``.binder/`` folder, if there is one, is the only place it reads configuration
  files (top-level ones are then ignored); both folders at once is an error;
- the first build pack whose file is there wins, in this order: Dockerfile, Julia (Project.toml,
  JuliaProject.toml, REQUIRE), Nix (default.nix), R (runtime.txt ``r-<date>``, or DESCRIPTION at
  the top), conda (environment.yml or .yaml), Pipfile, then Python (requirements.txt, setup.py,
  runtime.txt ``python-x.y``);
- with environment.yml, requirements.txt is ignored, and so is a runtime.txt Python version;
- apt.txt (Debian packages) and postBuild (run after the environment is built) go with any of
  them; postBuild is made executable and run, and only its last command's failure stops the
  build unless it ``set -e``;
- a local pip requirement in environment.yml (``-e .``) makes repo2docker copy the repository in
  before it installs the environment.
"""

from __future__ import annotations

import re
import stat
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Build packs in repo2docker's order (app.py), each with the files that select it.
BUILD_PACKS = [
    ("docker", ("Dockerfile",)),
    ("julia", ("Project.toml", "JuliaProject.toml", "REQUIRE")),
    ("nix", ("default.nix",)),
    ("r", ()),  # runtime.txt "r-..." or a top-level DESCRIPTION: see repo2docker_choice
    ("conda", ("environment.yml", "environment.yaml")),
    ("pipfile", ("Pipfile", "Pipfile.lock")),
    ("python", ("requirements.txt", "setup.py")),
]
# Python versions with a conda base environment in repo2docker (buildpacks/conda/environment.py-X.Y-linux-64.lock)
# in which JupyterLab and the kernel share one environment (kernel_env_cutoff_version = "3.7").
REPO2DOCKER_PYTHONS = {f"3.{minor}" for minor in range(7, 15)}


def repo2docker_choice(root: Path) -> tuple[str, str]:
    """(the folder repo2docker reads its files from, relative to root; the build pack it picks)."""
    folders = [name for name in ("binder", ".binder") if (root / name).is_dir()]
    if len(folders) > 1:
        raise RuntimeError("both binder/ and .binder/: repo2docker refuses to build")
    folder = folders[0] if folders else ""
    here = root / folder
    runtime = (here / "runtime.txt").read_text().strip() if (here / "runtime.txt").exists() else ""
    for name, files in BUILD_PACKS:
        if name == "r":
            if runtime.startswith("r-") or (not folder and (root / "DESCRIPTION").exists()):
                return folder, name
        elif name == "python" and runtime.startswith("python-"):
            return folder, name
        elif any((here / f).exists() for f in files):
            return folder, name
    return folder, "python"  # repo2docker's default


def postbuild_problems(path: Path) -> list[str]:
    """Why a postBuild would let a failing step pass, or not run as a script."""
    problems = []
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not lines or not lines[0].startswith("#!"):
        problems.append("no #! line")
    commands = [line for line in lines[1:] if not line.startswith("#")]
    if not commands or not re.fullmatch(r"set -[a-z]*e[a-z]*( .*)?|set -o errexit", commands[0]):
        problems.append("its first command is not set -e")
    return problems


def environment_yml() -> str:
    return (ROOT / "environment.yml").read_text(encoding="utf-8")


# --- the model of repo2docker's rules, on made-up repositories ------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["environment.yml", "requirements.txt", "runtime.txt=python-3.12"], ("", "conda")),
        (["environment.yml", "Dockerfile"], ("", "docker")),
        (["environment.yml", "binder/requirements.txt"], ("binder", "python")),
        (["Dockerfile", ".binder/environment.yml"], (".binder", "conda")),
        (["requirements.txt", "Pipfile"], ("", "pipfile")),
        (["environment.yml", "runtime.txt=r-2024-01-01"], ("", "r")),
        (["README.md"], ("", "python")),
    ],
)
def test_the_model_of_repo2dockers_choice(tmp_path: Path, files: list[str], expected: tuple[str, str]):
    for spec in files:
        name, _, text = spec.partition("=")
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert repo2docker_choice(tmp_path) == expected


def test_the_model_refuses_both_binder_folders(tmp_path: Path):
    (tmp_path / "binder").mkdir()
    (tmp_path / ".binder").mkdir()
    with pytest.raises(RuntimeError, match="both"):
        repo2docker_choice(tmp_path)


def test_a_postbuild_without_set_e_is_caught(tmp_path: Path):
    script = tmp_path / "postBuild"
    script.write_text("#!/bin/bash\n# comment\nset -euo pipefail\njupyter lab build\n")
    assert postbuild_problems(script) == []
    script.write_text("#!/bin/bash\njupyter lab build\nset -e\n")
    assert postbuild_problems(script) == ["its first command is not set -e"]
    script.write_text("jupyter lab build\n")
    assert len(postbuild_problems(script)) == 2


# --- this repository ------------------------------------------------------------------------------


def test_repo2docker_builds_this_repository_from_the_top_level_environment_yml():
    assert repo2docker_choice(ROOT) == ("", "conda")
    assert not (ROOT / "environment.yaml").exists()  # .yml is read first; two files would be one too many
    # Files repo2docker would ignore beside environment.yml: none, so nobody edits one in vain.
    for ignored in ("requirements.txt", "runtime.txt", "Pipfile", "setup.py"):
        assert not (ROOT / ignored).exists(), f"{ignored} is ignored by repo2docker next to environment.yml"


def test_the_environment_installs_gradlab_from_the_repository_with_jupyterlab_and_widgets():
    text = environment_yml()
    pip_section = re.search(r"^  - pip:\n((?:      - .*\n)+)", text, re.MULTILINE)
    assert pip_section, "no pip: list in environment.yml"
    pip_lines = [line.strip()[2:].split("#")[0].strip() for line in pip_section.group(1).splitlines()]
    assert "-e ." in pip_lines  # a local requirement: repo2docker copies the repository in before it installs
    for name in ("jupyterlab", "ipywidgets", "ipykernel", "pip"):
        assert re.search(rf"^  - {name}\b", text, re.MULTILINE), name


def test_the_python_version_is_one_repo2docker_supports_and_the_locks():
    (version,) = re.findall(r"^  - python\s*=+\s*([\d.]+)", environment_yml(), re.MULTILINE)  # its PYTHON_REGEX
    assert version in REPO2DOCKER_PYTHONS
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == f">={version}"
    (locked,) = re.findall(r'"--python-version", "([\d.]+)"', (ROOT / "tools" / "lock.py").read_text())
    assert locked == version  # the lock is resolved for the Python Binder runs


def test_binders_widget_stack_is_the_locks_series():
    """Binder runs JupyterLab from this file: its ipywidgets and JupyterLab are the series make lab tests."""
    lock = (ROOT / "constraints.txt").read_text()
    for conda_name, pip_name in (("ipywidgets", "ipywidgets"), ("jupyterlab", "jupyterlab"), ("pytorch", "torch")):
        (series,) = re.findall(rf"^  - {conda_name}=([\d.]+)", environment_yml(), re.MULTILINE)
        (locked,) = re.findall(rf"^{pip_name}==([\d.]+)", lock, re.MULTILINE)
        assert locked.startswith(series + "."), (conda_name, series, locked)


def _git_mode(path: Path) -> str:
    listed = subprocess.run(
        ["git", "ls-files", "-s", "--", str(path.relative_to(ROOT))], cwd=ROOT, capture_output=True, text=True
    ).stdout
    return listed.split(" ", 1)[0]


def test_postbuild_start_and_apt_txt_if_any_follow_repo2dockers_rules():
    """None is needed today: JupyterLab 4 ships the widget extension prebuilt, conda has Graphviz, and the
    lessons' pictures are SVG, drawn with the learner's own fonts."""
    assert (_git_mode(ROOT / ".ci" / "run"), _git_mode(ROOT / "Makefile")) == ("100755", "100644")  # the check works
    folder, _ = repo2docker_choice(ROOT)
    here = ROOT / folder
    for script in ("postBuild", "start"):
        path = here / script
        if path.exists():
            assert postbuild_problems(path) == [], script
            assert _git_mode(path) == "100755", f"{script} must be executable in git"
            assert path.stat().st_mode & stat.S_IXUSR
    if (here / "apt.txt").exists():
        for line in (here / "apt.txt").read_text().splitlines():
            package = line.partition("#")[0].strip()
            assert not package or re.fullmatch(r"[a-z0-9.+-]+", package), package


def _links(text: str, prefix: str) -> list[str]:
    return re.findall(rf"\]\(({re.escape(prefix)}[^)\s]+)\)", text)


def _sources() -> list[tuple[str, str]]:
    texts = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        texts.append((path.name, path.read_text(encoding="utf-8")))
    return texts


def test_every_binder_and_colab_link_opens_a_notebook_of_this_repository_on_main():
    tool = _tool.load("colab_binder")
    owner, name = tool.owner_and_name(tool.repository())
    seen = 0
    for where, text in _sources():
        for url in _links(text, "https://mybinder.org/v2/gh/"):
            parts = urlsplit(url)
            assert parts.path == f"/v2/gh/{owner}/{name}/main", (where, url)
            (urlpath,) = parse_qs(parts.query)["urlpath"]
            assert urlpath.startswith("lab/tree/"), (where, url)  # JupyterLab, which environment.yml installs
            target = ROOT / urlpath.removeprefix("lab/tree/")
            assert target.suffix == ".ipynb" and target.is_file(), (where, url)
            seen += 1
        for url in _links(text, "https://colab.research.google.com/github/"):
            prefix = f"https://colab.research.google.com/github/{owner}/{name}/blob/main/"
            assert url.startswith(prefix) and (ROOT / url.removeprefix(prefix)).is_file(), (where, url)
    assert seen == 1 + len(list((ROOT / "notebooks").glob("*.ipynb")))
