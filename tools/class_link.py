"""nbgitpuller links for a class: one click logs a student in, copies the notebooks, opens one.

``make class-link HUB=https://hub.example.edu`` (or ``python tools/class_link.py --hub ...``)
prints the link to hand out. Clicking it, a student logs in to the hub; their server
runs ``git-pull`` (nbgitpuller): the first time it clones the repository into their
home directory, later it merges the teacher's new commits without overwriting the
student's own edits; then JupyterLab opens the notebook.

The link is made exactly as nbgitpuller's own link generator makes it
(``docs/_static/link_gen/link.js``, ``generateRegularUrl``, nbgitpuller 1.3.0):

- ``<hub>/hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...&targetPath=...``, parameters in
  that order, each only when given (``repo`` always);
- each value form-encoded as a browser's ``URLSearchParams`` does: letters, digits and
  ``*-._`` stay, a space becomes ``+``, every other byte of the UTF-8 text is ``%XX``;
- ``urlpath`` is ``lab/tree/<clone directory>/<path>``: nbgitpuller clones into ``targetPath``
  if given, else into the last part of ``repo`` (``handlers.py``: ``repo.split('/')[-1]``),
  relative to the server's root.

The repository comes from pyproject.toml (``[project.urls] Repository``), the one place
it is written. ``make hub`` links a local repository with :func:`git_pull_url` too.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = "notebooks"

__all__ = ["clone_dir", "form_encode", "git_pull_path", "git_pull_url", "lab_path", "repository"]


class LinkError(ValueError):
    """A link that cannot be made; the message says why and what to do, in Chinese and English."""


def repository(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The project's repository URL: ``[project.urls] Repository`` in pyproject.toml.

    Example:
        >>> repository()
        'https://github.com/gradlab/gradlab'
    """
    return str(tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"])


def form_encode(pairs: list[tuple[str, str]]) -> str:
    """``key=value&...`` encoded as ``URLSearchParams.toString()`` encodes it (what link.js uses).

    Example:
        >>> form_encode([("repo", "https://github.com/a/b"), ("branch", "week 1")])
        'repo=https%3A%2F%2Fgithub.com%2Fa%2Fb&branch=week+1'
        >>> form_encode([("x", "a~b*c é")])
        'x=a%7Eb*c+%C3%A9'
    """
    # quote_plus keeps letters, digits and "_.-~"; URLSearchParams keeps "*" and encodes "~".
    return "&".join(f"{quote_plus(k, safe='*')}={quote_plus(v, safe='*')}".replace("~", "%7E") for k, v in pairs)


def clone_dir(repo: str) -> str:
    """The directory nbgitpuller clones ``repo`` into: its last part, ``.git`` included.

    Example:
        >>> clone_dir("https://github.com/gradlab/gradlab"), clone_dir("/srv/class/gradlab/")
        ('gradlab', 'gradlab')
        >>> clone_dir("https://example.org/x/materials.git")
        'materials.git'
    """
    name = repo.rstrip("/").split("/")[-1]
    if not name:
        raise LinkError(
            f"仓库地址 {repo!r} 没有名字部分，nbgitpuller 不知道克隆到哪个文件夹。 怎么办：给出完整的仓库地址或路径。\n"
            f"The repository {repo!r} has no last part: nbgitpuller cannot tell which folder to clone into. "
            "What to do: give the full repository URL or path."
        )
    return name


def lab_path(repo: str, notebook: str = "") -> str:
    """JupyterLab's path to the cloned ``notebooks/`` folder, or to one notebook in it.

    Example:
        >>> lab_path("https://github.com/gradlab/gradlab")
        'lab/tree/gradlab/notebooks'
        >>> lab_path("https://github.com/gradlab/gradlab", "01-autograd-grad-mse.ipynb")
        'lab/tree/gradlab/notebooks/01-autograd-grad-mse.ipynb'
    """
    return "/".join(part for part in ("lab/tree", clone_dir(repo), NOTEBOOKS, notebook) if part)


def git_pull_path(repo: str, branch: str, urlpath: str, targetpath: str = "") -> str:
    """The single-user server's ``git-pull`` path: Z2JH's ``singleuser.defaultUrl``, TLJH's ``Spawner.default_url``.

    ``targetpath``: the folder to clone into, relative to the server's root (default: :func:`clone_dir`).

    Example:
        >>> git_pull_path("https://github.com/gradlab/gradlab", "main", "lab/tree/gradlab/notebooks")
        '/git-pull?repo=https%3A%2F%2Fgithub.com%2Fgradlab%2Fgradlab&urlpath=lab%2Ftree%2Fgradlab%2Fnotebooks&branch=main'
        >>> git_pull_path("file:///srv/c", "main", "lab/tree/my class/01.ipynb", targetpath="my class")
        '/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fc&urlpath=lab%2Ftree%2Fmy+class%2F01.ipynb&branch=main&targetPath=my+class'
    """
    # nbgitpuller's SyncHandler names the clone repo.split('/')[-1]: a trailing "/" would clone into "".
    repo = repo.rstrip("/")
    clone_dir(repo)
    given = [("repo", repo), ("urlpath", urlpath), ("branch", branch), ("targetPath", targetpath)]
    return "/git-pull?" + form_encode([(key, value) for key, value in given if value or key == "repo"])


def git_pull_url(hub: str, repo: str, branch: str = "main", urlpath: str = "", targetpath: str = "") -> str:
    """The link to hand out: log in at ``hub``, pull ``repo`` at ``branch`` into ``targetpath``, open ``urlpath``.

    Args:
        hub: the hub's address, ``https://hub.example.edu`` or with its base URL (``.../jupyter/``).
        repo: what ``git clone`` is given: a URL, or a path on the hub's machine.
        branch: the branch to pull (nbgitpuller's default is the repository's default branch).
        urlpath: where JupyterLab opens afterwards, relative to the server (:func:`lab_path`).
        targetpath: the folder to clone into, relative to the server's root (default: :func:`clone_dir`).

    Example:
        >>> git_pull_url("https://hub.example.edu", "https://github.com/gradlab/gradlab", "main",
        ...              "lab/tree/gradlab/notebooks/01-autograd-grad-mse.ipynb")
        'https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fgradlab%2Fgradlab&urlpath=lab%2Ftree%2Fgradlab%2Fnotebooks%2F01-autograd-grad-mse.ipynb&branch=main'
    """
    parts = urlsplit(hub)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise LinkError(
            f"HUB={hub!r} 不是 JupyterHub 的地址。 怎么办：写成 https://hub.example.edu 的样子（可带路径，不带 ? 或 #）。\n"
            f"HUB={hub!r} is not a JupyterHub address. "
            "What to do: write it like https://hub.example.edu (a path may follow; no ? or #)."
        )
    pull = git_pull_path(repo, branch, urlpath, targetpath)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/hub/user-redirect{pull}"


def find_notebook(name: str, folder: Path = ROOT / NOTEBOOKS) -> str:
    """The notebook file in ``folder`` that ``name`` names: its file name or a unique start (``01``).

    Example:
        >>> find_notebook("03")
        '03-softmax-jacobian.ipynb'
    """
    names = sorted(p.name for p in folder.glob("*.ipynb"))
    matches = [n for n in names if n == name] or [n for n in names if n.startswith(name)]
    if len(matches) != 1:
        raise LinkError(
            f"NOTEBOOK={name!r} 没有对应唯一的笔记本。 怎么办：从这些里选一个（写开头的编号即可）：{', '.join(names)}\n"
            f"NOTEBOOK={name!r} does not name exactly one notebook. "
            f"What to do: pick one of these (its number is enough): {', '.join(names)}"
        )
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", help="the hub's address, e.g. https://hub.example.edu")
    parser.add_argument("--repo", default=repository(), help="repository to pull (default: pyproject.toml's)")
    parser.add_argument("--branch", default="main", help="branch to pull (default: main)")
    parser.add_argument("--notebook", default="", help="notebook to open, e.g. 01 (default: the notebooks folder)")
    parser.add_argument("--server-path", action="store_true", help="print only the single-user /git-pull path")
    args = parser.parse_args(argv)
    try:
        notebook = find_notebook(args.notebook) if args.notebook else ""
        urlpath = lab_path(args.repo, notebook)
        if args.server_path:
            print(git_pull_path(args.repo, args.branch, urlpath))
        elif not args.hub:
            raise LinkError(
                "没有给出 HUB。 怎么办：make class-link HUB=https://你的-hub-地址（可加 NOTEBOOK=01 BRANCH=main）。\n"
                "No HUB given. What to do: make class-link HUB=https://your-hub-address (NOTEBOOK=01 BRANCH=main optional)."
            )
        else:
            print(git_pull_url(args.hub, args.repo, args.branch, urlpath))
    except LinkError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
