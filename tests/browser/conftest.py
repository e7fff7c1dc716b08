"""Fixtures for the browser tests: a real JupyterLab on a temporary copy of the notebooks, and headless Chromium.

The server listens on 127.0.0.1 only, on a free port, with a random token and
fresh config, runtime and workspace directories (the news popup disabled). It
serves a COPY of the notebooks, because JupyterLab autosaves outputs into the
files it has open. Chromium is Debian's (``apt-get install chromium``):
Playwright cannot download its own browsers here. With ``CI=true`` a missing
Chromium or Playwright fails the tests; otherwise they are skipped with the
install command. ``GRADLAB_CHROMIUM=/path/to/chromium`` picks another binary.
The server gets the ``--config`` file that ``make lab`` passes (read from the
Makefile: TCP_NODELAY on kernel websockets), so the latencies measured are the
ones learners get.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_CHROMIUM = "sudo apt-get install -y chromium (Debian/Ubuntu; Playwright cannot download browsers here)"

# (notebook, explorer, control, milliseconds) for every keypress, filled by the tests.
LATENCIES: list[tuple[str, str, str, float]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real JupyterLab in headless Chromium (needs chromium)")


def _missing(what: str, fix: str) -> None:
    message = f"{what}. Install it with: {fix}"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{message} (CI=true: a missing browser is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, or skip (fail with CI=true)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright for Python is not installed", "pip install playwright")
    override = os.environ.get("GRADLAB_CHROMIUM")  # a different browser binary; it alone is tried
    candidates = (override,) if override else (*CHROMIUM_CANDIDATES, shutil.which("chromium"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    _missing(f"Chromium was not found (looked for {', '.join(filter(None, candidates))})", INSTALL_CHROMIUM)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Stop the kernels the pages started, so they do not slow the next notebook down."""
        with urllib.request.urlopen(f"{self.url}/api/kernels?token={self.token}", timeout=10) as response:
            kernels = json.load(response)
        for kernel in kernels:
            request = urllib.request.Request(
                f"{self.url}/api/kernels/{kernel['id']}?token={self.token}", method="DELETE"
            )
            urllib.request.urlopen(request, timeout=30).close()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def lab_config() -> Path:
    """The ``--config`` file of the Makefile's ``lab`` recipe (deploy/local/lab_config.py)."""
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    found = re.search(r"--config=(\S+)", recipe.group(1)) if recipe else None
    if found is None:
        pytest.fail("The Makefile's lab recipe passes no --config file; the browser tests start JupyterLab as it does")
    return ROOT / found.group(1)


def notebooks_to_serve() -> list[Path]:
    """Every notebook of the project, and this folder's test notebook."""
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(Path(__file__).parent.glob("*.ipynb"))


@pytest.fixture(scope="session")
def lab(chromium_path: str, tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server for this test session, on a temporary copy of the notebooks."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    root.mkdir()
    for notebook in notebooks_to_serve():
        shutil.copy2(notebook, root / notebook.name)
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "IPYTHONDIR": str(base / "ipython"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--config={lab_config()}",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("w") as log_stream:
        server = subprocess.Popen(
            command, env=env, cwd=root, stdout=log_stream, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    lab = Lab(url=url, token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{lab.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 60 s:\n{lab.log_tail()}", pytrace=False)
            time.sleep(0.25)
        yield lab
    finally:
        server.send_signal(signal.SIGINT)  # a clean stop: the server shuts its kernels down
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the group this fixture started
            server.wait(timeout=5)


@pytest.fixture(scope="session")
def latency_log() -> list[tuple[str, str, str, float]]:
    return LATENCIES


def _latency_report() -> list[str]:
    lines = ["keypress -> visible change in JupyterLab (headless Chromium), per slider step:"]
    lines += [
        f"  {notebook:<32} {explorer:<18} {control:<8} {ms:7.1f} ms" for notebook, explorer, control, ms in LATENCIES
    ]
    by_notebook: dict[str, list[float]] = {}
    for notebook, _, _, ms in LATENCIES:
        by_notebook.setdefault(notebook, []).append(ms)
    for notebook, values in by_notebook.items():
        lines.append(f"median {notebook}: {statistics.median(values):.1f} ms over {len(values)} steps")
    all_ms = [ms for *_, ms in LATENCIES]
    lines.append(f"median over all: {statistics.median(all_ms):.1f} ms, max {max(all_ms):.1f} ms, {len(all_ms)} steps")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not LATENCIES:
        return
    lines = _latency_report()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-latency.txt").write_text("\n".join(lines) + "\n")
    terminalreporter.section("browser latency")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(written to {ARTIFACTS / 'browser-latency.txt'})")
