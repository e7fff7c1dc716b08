"""tools/class_link.py makes nbgitpuller links exactly as nbgitpuller's own link generator does."""

from __future__ import annotations

import doctest
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import _tool  # tests/_tool.py: tools/ scripts loaded as modules
import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


class_link = _tool.load("class_link")

# What nbgitpuller 1.3.0's link generator gives, run in Node 20: generateRegularUrl(hub, "", urlpath, repo, branch, "")
# from docs/_static/link_gen/link.js (github.com/jupyterhub/nbgitpuller, commit f7dce435044a769dfab00ed1214a7851f0b60797).
LINK_JS = [
    (
        (
            "https://hub.example.edu",
            "https://github.com/gradlab/gradlab",
            "main",
            "lab/tree/gradlab/notebooks/01-autograd-grad-mse.ipynb",
        ),
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fgradlab%2Fgradlab"
        "&urlpath=lab%2Ftree%2Fgradlab%2Fnotebooks%2F01-autograd-grad-mse.ipynb&branch=main",
    ),
    (
        (
            "https://hub.example.edu/jupyter/",
            "https://github.com/gradlab/gradlab",
            "main",
            "lab/tree/gradlab/notebooks",
        ),
        "https://hub.example.edu/jupyter/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fgradlab%2Fgradlab"
        "&urlpath=lab%2Ftree%2Fgradlab%2Fnotebooks&branch=main",
    ),
    (
        ("http://127.0.0.1:8000", "/srv/my class/gradlab", "第1周", "lab/tree/gradlab/notebooks/a+b~c*d é.ipynb"),
        "http://127.0.0.1:8000/hub/user-redirect/git-pull?repo=%2Fsrv%2Fmy+class%2Fgradlab"
        "&urlpath=lab%2Ftree%2Fgradlab%2Fnotebooks%2Fa%2Bb%7Ec*d+%C3%A9.ipynb&branch=%E7%AC%AC1%E5%91%A8",
    ),
]


def test_targetpath_link_is_the_one_nbgitpullers_link_generator_makes():
    """generateRegularUrl(hub, "", urlpath, repo, "main", "my class"), same link.js and Node as above."""
    link = class_link.git_pull_url(
        "http://127.0.0.1:8000",
        "file:///srv/my class/gradlab",
        "main",
        "lab/tree/my class/notebooks/01-a.ipynb",
        "my class",
    )
    assert link == (
        "http://127.0.0.1:8000/hub/user-redirect/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fmy+class%2Fgradlab"
        "&urlpath=lab%2Ftree%2Fmy+class%2Fnotebooks%2F01-a.ipynb&branch=main&targetPath=my+class"
    )


def test_doctests_pass():
    result = doctest.testmod(class_link, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize(("args", "expected"), LINK_JS)
def test_link_is_the_one_nbgitpullers_link_generator_makes(args, expected):
    assert class_link.git_pull_url(*args) == expected


@given(st.text(min_size=1), st.text())
def test_every_value_comes_back_as_it_went_in(repo, branch):
    query = urlsplit(class_link.git_pull_url("https://hub.example.edu", repo + "x", branch, "lab/tree/x")).query
    assert set(query) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._%+=&")
    expected = [("repo", (repo + "x").rstrip("/")), ("urlpath", "lab/tree/x")] + (
        [("branch", branch)] if branch else []
    )
    assert parse_qsl(query, keep_blank_values=True) == expected


def test_urlpath_opens_the_folder_nbgitpuller_clones_into():
    """nbgitpuller's handlers.py clones into repo.split('/')[-1] under the server's root; urlpath must start there."""
    for repo in ("https://github.com/gradlab/gradlab", "/home/teacher/class/gradlab/", "https://example.org/m.git"):
        link = dict(
            parse_qsl(
                urlsplit(class_link.git_pull_url("https://h.example", repo, "main", class_link.lab_path(repo))).query
            )
        )
        assert link["urlpath"] == f"lab/tree/{link['repo'].split('/')[-1]}/notebooks"


def test_repository_is_read_from_pyproject(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://example.org/teach/course"\n')
    assert class_link.repository(pyproject) == "https://example.org/teach/course"
    assert class_link.lab_path(class_link.repository(pyproject), "01.ipynb") == "lab/tree/course/notebooks/01.ipynb"


@pytest.mark.parametrize(
    "hub", ["hub.example.edu", "ftp://hub.example.edu", "https://hub.example.edu/?x=1", "https://"]
)
def test_a_bad_hub_address_is_refused_in_both_languages(hub):
    with pytest.raises(class_link.LinkError, match=r"(?s)HUB=.*怎么办.*What to do"):
        class_link.git_pull_url(hub, "https://github.com/gradlab/gradlab")


def test_a_repository_without_a_name_is_refused():
    with pytest.raises(class_link.LinkError, match="nbgitpuller"):
        class_link.git_pull_path("/", "main", "")


def run_make(*args: str) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", "-s", "class-link", f"PYTHON={sys.executable}", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_make_class_link_prints_the_link_for_a_notebook_named_by_its_number():
    result = run_make("HUB=https://hub.example.edu/", "NOTEBOOK=03", "BRANCH=main")
    assert result.returncode == 0, result.stderr
    repo = class_link.repository()
    urlpath = class_link.lab_path(repo, "03-softmax-jacobian.ipynb")
    assert result.stdout == class_link.git_pull_url("https://hub.example.edu", repo, "main", urlpath) + "\n"


def test_make_class_link_without_hub_or_with_an_unknown_notebook_says_what_to_do():
    missing = run_make()
    assert missing.returncode != 0 and "HUB" in missing.stderr and "What to do" in missing.stderr
    unknown = run_make("HUB=https://hub.example.edu", "NOTEBOOK=99")
    assert unknown.returncode != 0 and "01-autograd-grad-mse.ipynb" in unknown.stderr


def test_the_link_opens_the_notebook_nbgitpuller_cloned(tmp_path: Path):
    """The real nbgitpuller in a real Jupyter server: the link's urlpath is where the pull puts the notebook."""
    pytest.importorskip("nbgitpuller", reason="installed by make setup (pyproject.toml, lab extra)")
    repo, home = tmp_path / "src" / "course", tmp_path / "home"
    (repo / "notebooks").mkdir(parents=True)
    home.mkdir()
    (repo / "notebooks" / "01-start.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notebooks"], check=True)
    token, port = secrets.token_hex(16), free_port()
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    command += [f"--ServerApp.root_dir={home}", f"--IdentityProvider.token={token}", "--allow-root"]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/status?token={token}", server)
        urlpath = class_link.lab_path(str(repo), "01-start.ipynb")
        path = class_link.git_pull_path(str(repo), "main", urlpath)
        with urllib.request.urlopen(f"{base}{path}&token={token}", timeout=60) as page:
            assert urlpath in page.read().decode()  # the status page sends the browser there when the pull is done
        with urllib.request.urlopen(
            f"{base}{path.replace('/git-pull?', '/git-pull/api?')}&token={token}", timeout=120
        ) as pull:
            assert '"phase": "finished"' in pull.read().decode()
        assert (home / urlpath.removeprefix("lab/tree/")).is_file()
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Jupyter server exited"
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)
