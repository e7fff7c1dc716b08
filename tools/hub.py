"""Start a JupyterHub for a class on this machine (``make hub``).

    make hub                                   # class list: deploy/local/class-list.txt
    python tools/hub.py --class-list my-class.txt --port 8000 --teacher teacher
    python tools/hub.py --reset zhang.san      # a new password for one account

What it does, in order:

1. reads the class list (one name per line, ``#`` starts a comment);
2. generates a password for every name that has none yet (and for each
   ``--reset`` name), keeps only its scrypt hash in the state folder, and
   writes the new passwords ONCE to a handout file outside the repository,
   readable by you only (0600). Hand them out, then delete that file: no
   other copy of them exists. Passwords are not printed, so they stay out of
   terminal scroll-back and of any log the hub's output is piped into;
3. starts JupyterHub (deploy/local/jupyterhub_config.py) with its proxy,
   configurable-http-proxy from ``npm ci`` in deploy/local, on 127.0.0.1.

Running it again keeps every password, account and student file: only new
names get passwords, and each student's notebooks are merged by nbgitpuller,
never replaced. State (hub database, cookie secret, homes, password hashes):
``.hub/`` by default, ignored by git. Stop the hub with Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local"
CONFIG = LOCAL / "jupyterhub_config.py"
PROXY = LOCAL / "node_modules" / ".bin" / "configurable-http-proxy"
EXAMPLE = LOCAL / "class-list.example.txt"
CLASS_LIST = LOCAL / "class-list.txt"
STATE = ROOT / ".hub"
TARGET = "gradlab"  # the folder each student's copy of the repository is pulled into
# JupyterHub lower-cases names; plain ASCII keeps homes, URLs and logs simple (Chinese names: pinyin).
NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")

sys.path[:0] = [str(LOCAL), str(ROOT / "tools")]
from class_link import git_pull_path  # noqa: E402
from classlist_auth import hash_password, new_password, read_hashes, write_hashes  # noqa: E402


class HubError(RuntimeError):
    """A problem the teacher can fix; the message says how (Chinese, then English)."""


def _error(zh: str, en: str, todo_zh: str, todo_en: str) -> HubError:
    from gradlab._messages import bilingual  # imported here: gradlab imports torch (2 s)

    return HubError(bilingual(zh, en, todo_zh=todo_zh, todo_en=todo_en))


# --- the class list and the passwords ------------------------------------------------


def read_class_list(path: Path) -> list[str]:
    """The names in a class list file: one per line; blank lines and ``# comments`` are skipped.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "c.txt").write_text("# 一班\\nzhang.san\\n\\nli.si  # 组长\\n")
    ...     read_class_list(Path(tmp, "c.txt"))
    ['zhang.san', 'li.si']
    """
    names: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not NAME.fullmatch(name):
            raise _error(
                f"名单 {path} 第 {number} 行的名字 {name!r} 不能用作账号。",
                f"Line {number} of the class list {path}: {name!r} cannot be an account name.",
                "只用小写字母、数字和 . _ -，以字母开头，最多 32 个字符（中文名请用拼音，如 zhang.san）。",
                "Use lower-case letters, digits and . _ - only, starting with a letter, at most 32 characters "
                "(e.g. zhang.san).",
            )
        if name in names:
            raise _error(
                f"名单 {path} 里 {name!r} 出现了两次。",
                f"{name!r} appears twice in the class list {path}.",
                "每个学生只写一行；同名的学生请加区分，如 wang.fang2。",
                "One line per student; tell namesakes apart, e.g. wang.fang2.",
            )
        names.append(name)
    return names


def update_passwords(hash_file: Path, names: list[str], reset: tuple[str, ...] = ()) -> dict[str, str]:
    """Give each name without a password (and each ``reset`` name) a new one; forget names not in ``names``.

    Only the hashes are written (to ``hash_file``, 0600). Returns the NEW
    passwords, name -> password: the only copy of them.
    """
    unknown = [name for name in reset if name not in names]
    if unknown:
        raise _error(
            f"要重置密码的 {unknown} 不在名单里。",
            f"{unknown} to reset are not on the class list.",
            "先把名字加进名单，或检查拼写。",
            "Add them to the class list first, or check the spelling.",
        )
    hashes = {name: stored for name, stored in read_hashes(hash_file).items() if name in names}
    fresh = {name: new_password() for name in names if name not in hashes or name in reset}
    hashes.update({name: hash_password(password) for name, password in fresh.items()})
    write_hashes(hash_file, hashes)
    return fresh


def write_handout(path: Path, passwords: dict[str, str], url: str, teacher: str) -> None:
    """Write the new passwords once, to a new file only its owner can read (0600), outside the repository."""
    path = path.resolve()
    if path.is_relative_to(ROOT):
        raise _error(
            f"密码单 {path} 在仓库里面，可能被提交。",
            f"The password handout {path} is inside the repository, where it could be committed.",
            "用 --handout 指定仓库外的路径。",
            "Give a path outside the repository with --handout.",
        )
    lines = [
        "gradlab 课堂 JupyterHub 的账号（只写这一次：发给学生后请删除本文件）",
        "gradlab class JupyterHub accounts (written this once: delete this file after handing them out)",
        f"地址 / address: {url}",
        "",
        *(
            f"{name:<34}{password}" + ("   (老师/teacher, admin)" if name == teacher else "")
            for name, password in passwords.items()
        ),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


# --- the settings the JupyterHub config reads -----------------------------------------


def first_notebook(root: Path = ROOT) -> str:
    """The path of notebook 01 inside the repository, e.g. ``notebooks/01-autograd-grad-mse.ipynb``."""
    return sorted(root.glob("notebooks/01-*.ipynb"))[0].relative_to(root).as_posix()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Settings:
    """What deploy/local/jupyterhub_config.py reads (``<state>/settings.json``)."""

    state: str
    students: list[str]
    teacher: str
    default_url: str
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = field(default_factory=free_port)
    proxy_api_port: int = field(default_factory=free_port)
    proxy: str = str(PROXY)
    mem_limit: str = "1G"
    cpu_limit: float = 1.0
    cull_idle: int = 3600  # a student's server idle this long is stopped (jupyterhub-idle-culler)
    kernel_cull_idle: int = 1800  # a kernel without a browser tab, idle this long, is shut down
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("", "0.0.0.0") else self.ip
        return f"http://{host}:{self.port}"

    def write(self) -> Path:
        path = Path(self.state, "settings.json")
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path


def prepare(
    state: Path, students: list[str], teacher: str, repo: str, branch: str = "main", reset: tuple[str, ...] = ()
) -> tuple[dict[str, str], Settings]:
    """Create the state folder (0700), update the password hashes; return the new passwords and the settings."""
    if teacher in students:
        raise _error(
            f"老师的账号名 {teacher!r} 也在学生名单里。",
            f"The teacher's account {teacher!r} is on the class list too.",
            "从名单删掉它，或用 --teacher 换一个名字。",
            "Remove it from the class list, or choose another name with --teacher.",
        )
    if not NAME.fullmatch(teacher):
        raise _error(
            f"老师的账号名 {teacher!r} 不能用。",
            f"The teacher's account name {teacher!r} cannot be used.",
            "只用小写字母、数字和 . _ -，以字母开头。",
            "Use lower-case letters, digits and . _ -, starting with a letter.",
        )
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    (state / "homes").mkdir(mode=0o700, exist_ok=True)
    passwords = update_passwords(state / "password-hashes.json", [*students, teacher], reset)
    pull = git_pull_path(repo, branch, f"lab/tree/{TARGET}/{first_notebook()}", targetpath=TARGET)
    settings = Settings(str(state), students, teacher, pull)
    return passwords, settings


def check_branch(repo: Path, branch: str) -> None:
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], capture_output=True
    )
    if found.returncode != 0:
        raise _error(
            f"仓库 {repo} 没有分支 {branch}：学生的副本从这个分支拉取。",
            f"The repository {repo} has no branch {branch}: students' copies are pulled from it.",
            "提交到该分支，或用 --branch 指定另一个分支。",
            "Commit to that branch, or name another one with --branch.",
        )


# --- the hub process -------------------------------------------------------------------


# How the processes under the hub are told apart (their command lines).
KINDS = {
    "kernel": "ipykernel_launcher",
    "server": "singleuser.py",
    "proxy": "configurable-http-proxy",
    "culler": "jupyterhub_idle_culler",
    "hub": "jupyterhub -f",
}


class Hub:
    """JupyterHub and everything it starts (proxy, culler, students' servers, their kernels), stopped together.

    ``stop()`` sends SIGTERM to the hub (which stops its servers and proxy),
    waits, then kills whatever it had started that is still running:
    students' servers run in sessions of their own and would outlive a
    killed hub. Use it as a context manager so a failure stops it too.
    """

    def __init__(self, settings: Settings, log: Path | None = None, foreground: bool = False) -> None:
        self.settings = settings
        self.log_path = log
        self.foreground = foreground
        self.process: subprocess.Popen[bytes] | None = None
        self._known: dict[int, object] = {}  # pid -> psutil.Process, everything seen under the hub
        self._log_file: object = None

    @property
    def url(self) -> str:
        return self.settings.url

    def start(self, timeout: float = 60) -> Hub:
        env = {**os.environ, "GRADLAB_HUB_SETTINGS": str(self.settings.write())}
        out = open(self.log_path, "ab") if self.log_path else None  # closed in stop()
        self._log_file = out
        command = [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)]
        self.process = subprocess.Popen(
            command,
            cwd=self.settings.state,
            env=env,
            stdout=out,
            stderr=out and subprocess.STDOUT,
            start_new_session=not self.foreground,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the hub did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-size:].decode(errors="replace")

    def processes(self) -> list:  # list[psutil.Process]
        """The hub and every process under it now (remembered, so ``stop()`` can reach orphans)."""
        import psutil

        if self.process is None:
            return []
        try:
            hub = psutil.Process(self.process.pid)
            found = [hub, *hub.children(recursive=True)]
        except psutil.NoSuchProcess:
            found = []
        for p in found:
            self._known.setdefault(p.pid, p)
        return found

    @staticmethod
    def kind(process: object) -> str:
        """What a process under the hub is: hub, proxy, culler, server (a student's) or kernel."""
        command = " ".join(process.cmdline())  # type: ignore[attr-defined]
        return next((kind for kind, mark in KINDS.items() if mark in command), "other")

    def stop(self, timeout: float = 20) -> None:
        import psutil

        if self.process is None:
            return
        self.processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        leftover = [p for p in self._known.values() if p.is_running()]  # type: ignore[attr-defined]
        for p in leftover:
            try:
                p.kill()  # type: ignore[attr-defined]
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(leftover, timeout=5)  # type: ignore[arg-type]
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
        self.process = None

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- make hub ----------------------------------------------------------------------------


def _default_handout() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.home() / f"gradlab-hub-passwords-{stamp}.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-list", type=Path, default=CLASS_LIST, help="one student name per line")
    parser.add_argument("--teacher", default="teacher", help="the teacher's account, the only admin")
    parser.add_argument("--state", type=Path, default=STATE, help="hub database, homes, hashes (git ignores .hub/)")
    parser.add_argument("--ip", default="127.0.0.1", help="public address; the default keeps the class on this machine")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--branch", default="main", help="the branch of this repository students pull")
    parser.add_argument("--handout", type=Path, default=None, help="where new passwords are written (outside the repo)")
    parser.add_argument("--reset", action="append", default=[], metavar="NAME", help="give NAME a new password")
    parser.add_argument("--cull-idle", type=int, default=3600, help="stop a server idle this many seconds")
    args = parser.parse_args(argv)

    try:
        if not PROXY.exists():
            raise _error(
                f"没有找到代理 {PROXY}。",
                f"The proxy {PROXY} is missing.",
                "运行 make hub（它会在 deploy/local 里执行 npm ci）。",
                "Run make hub (it runs npm ci in deploy/local).",
            )
        if not args.class_list.exists():
            shutil.copyfile(EXAMPLE, args.class_list)
            raise _error(
                f"还没有班级名单：已把示例复制到 {args.class_list}。",
                f"No class list yet: the example was copied to {args.class_list}.",
                "在其中每行写一个学生的账号名，然后再运行 make hub。",
                "Write one student account name per line in it, then run make hub again.",
            )
        check_branch(ROOT, args.branch)
        students = read_class_list(args.class_list)
        passwords, settings = prepare(
            args.state.resolve(), students, args.teacher, ROOT.as_uri(), args.branch, tuple(args.reset)
        )
        settings.ip, settings.port, settings.cull_idle = args.ip, args.port, args.cull_idle
        login = f"{settings.url}/hub/login"
        if passwords:
            handout = args.handout or _default_handout()
            write_handout(handout, passwords, login, args.teacher)
            print(f"新密码 {len(passwords)} 个，只写在 / {len(passwords)} new passwords, written only to: {handout}")
            print("发给学生后请删除这个文件。/ Delete that file once you have handed them out.")
    except HubError as error:
        print(error, file=sys.stderr)
        return 2
    print(
        f"学生 {len(students)} 人，老师 {args.teacher}；打开 / {len(students)} students, teacher {args.teacher}; open {login}"
    )
    print("按 Ctrl-C 停止。/ Press Ctrl-C to stop.")
    hub = Hub(settings, foreground=True)
    try:
        hub.start()
        assert hub.process is not None
        hub.process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the hub too: let it stop its servers and proxy first
        try:
            if hub.process is not None:
                hub.process.wait(30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pass
    finally:
        hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
