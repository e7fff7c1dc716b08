"""``make hub``: a real JupyterHub with its proxy, on 127.0.0.1, driven as a student's browser would drive it.

One hub serves the module (a fresh state folder and a small git repository
holding notebook 01, both in a temporary folder; free ports): the smoke test
(log in through the form, start the server, pull the notebooks with
nbgitpuller, run a cell in a kernel through the proxy), the security tests
(wrong passwords, one student reaching another's server, listening sockets,
passwords in the repository and the logs) and nbgitpuller's merge rules
across a restart of the hub. The hub and everything it started are stopped
when the module ends, also on failure (tools/hub.py, ``Hub.stop``).

Needs the ``hub`` extra and the proxy (``make hub`` / ``make test`` run
``npm ci`` in deploy/local). Missing, the tests are skipped, except with
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import doctest
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / "deploy" / "local" / "node_modules" / ".bin" / "configurable-http-proxy"


def _missing(what: str) -> None:
    message = f"{what}: install with `make setup` (the hub extra) and `make test` (npm ci in deploy/local)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{message} (CI=true: a failure, not a skip)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


if importlib.util.find_spec("jupyterhub") is None or importlib.util.find_spec("aiohttp") is None:
    _missing("jupyterhub or aiohttp is not installed")
elif not PROXY.exists():
    _missing(f"the proxy {PROXY.relative_to(ROOT)} is not installed")

sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "deploy" / "local")]
import classlist_auth  # noqa: E402
import hub  # noqa: E402
import hub_client  # noqa: E402

STUDENTS = ["ana", "ben"]
TEACHER = "teacher"
GIT = ["git", "-c", "user.name=gradlab-test", "-c", "user.email=test@localhost", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(path: Path) -> Path:
    """A repository with notebook 01 on branch main: what the class pulls (a stand-in for this repository)."""
    (path / "notebooks").mkdir(parents=True)
    notebook = hub.first_notebook()
    shutil.copyfile(ROOT / notebook, path / notebook)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "notebook 01")
    return path


@dataclass
class Classroom:
    hub: hub.Hub
    settings: hub.Settings
    passwords: dict[str, str]
    repo: Path
    log: Path
    handout: Path

    def student(self, name: str, password: str | None = None) -> hub_client.Student:
        return hub_client.Student(self.hub.url, name, self.passwords[name] if password is None else password)

    @property
    def notebook(self) -> str:
        return f"{hub.TARGET}/{hub.first_notebook()}"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    tmp = tmp_path_factory.mktemp("hub")
    repo = make_repo(tmp / "repo")
    passwords, settings = hub.prepare(tmp / "state", STUDENTS, TEACHER, repo.as_uri())
    settings.port = hub.free_port()
    handout = tmp / "handout.txt"
    hub.write_handout(handout, passwords, settings.url, TEACHER)
    log = tmp / "hub.log"
    with hub.Hub(settings, log=log) as running:
        running.start()
        yield Classroom(running, settings, passwords, repo, log, handout)


def run(coroutine):  # type: ignore[no-untyped-def]
    """Run a coroutine to its end in a thread of its own: Playwright's sync API (the browser tests,
    earlier in the same pytest session) leaves an event loop running in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coroutine, timeout=240)).result()


async def _open_first_notebook(room: Classroom, student: hub_client.Student) -> hub_client.Kernel:
    assert await student.login()
    await student.start_server()
    await student.pull(room.settings.default_url)
    status, _ = await student.get(f"lab/tree/{room.notebook}")
    assert status == 200
    return await student.open_notebook(room.notebook)


# --- the smoke test (make test): log in, start the server, run one cell --------------------


def test_smoke_login_start_server_run_a_cell(classroom: Classroom) -> None:
    """One student: the login form, the server, the nbgitpuller link, notebook 01's first two cells in a kernel."""

    async def session() -> tuple[dict[str, object], hub_client.Reply, float]:
        start = time.monotonic()
        ana = classroom.student("ana")
        try:
            kernel = await _open_first_notebook(classroom, ana)
            status, model = await ana.api("GET", f"contents/{classroom.notebook}")
            assert status == 200
            install, cell = [c for c in model["content"]["cells"] if c["cell_type"] == "code"][:2]
            # The Colab install cell: gradlab is in the student's kernel, so it installs nothing and says nothing.
            quiet = await kernel.execute(install["source"])
            assert quiet.status == "ok" and quiet.outputs == [], (quiet.error, quiet.outputs)
            reply = await kernel.execute(cell["source"])
            await kernel.close()
        finally:
            await ana.close()
        return cell, reply, time.monotonic() - start

    cell, reply, seconds = run(session())
    assert reply.status == "ok", reply.error
    saved = [o["data"]["text/plain"] for o in cell["outputs"] if o["output_type"] == "execute_result"]  # type: ignore[index,union-attr]
    shown = [o["data"]["text/plain"] for o in reply.outputs if o["output_type"] == "execute_result"]
    assert shown == saved == ["tensor([1.])"]
    print(f"login -> server -> pull -> kernel -> first cell: {seconds:.1f} s")


# --- security --------------------------------------------------------------------------------


def test_wrong_password_and_unknown_names_are_refused(classroom: Classroom) -> None:
    async def attempts() -> list[tuple[bool, int]]:
        results = []
        for name, password in [
            ("ana", classroom.passwords["ben"]),  # another student's password
            ("ana", classroom.passwords["ana"][:-1]),
            ("ana", ""),
            ("zoe", classroom.passwords["ana"]),  # not on the class list
            (TEACHER, classroom.passwords["ana"]),
        ]:
            student = classroom.student(name, password)
            try:
                accepted = await student.login()
                async with student.session.get(f"{classroom.hub.url}/hub/api/user", headers=hub_client.FETCH) as reply:
                    results.append((accepted, reply.status))
            finally:
                await student.close()
        return results

    assert run(attempts()) == [(False, 403)] * 5


def test_no_sign_up_and_the_teacher_alone_is_admin(classroom: Classroom) -> None:
    async def check() -> tuple[int, dict[str, bool], int]:
        signup_status = 0
        admins = {}
        for name in [*STUDENTS, TEACHER]:
            person = classroom.student(name)
            try:
                assert await person.login()
                status, me = await person.hub_api("GET", "/user")
                assert status == 200
                admins[name] = me["admin"]
                if name == "ana":
                    async with person.session.get(f"{classroom.hub.url}/hub/signup") as page:
                        signup_status = page.status
                    async with person.session.get(f"{classroom.hub.url}/hub/admin") as page:
                        admin_page = page.status
            finally:
                await person.close()
        return signup_status, admins, admin_page

    signup_status, admins, admin_page = run(check())
    assert signup_status == 404
    assert admins == {"ana": False, "ben": False, TEACHER: True}
    assert admin_page == 403


def test_a_student_cannot_reach_another_students_server(classroom: Classroom) -> None:
    async def attack() -> dict[str, object]:
        ana, ben = classroom.student("ana"), classroom.student("ben")
        seen: dict[str, object] = {}
        try:
            kernel = await _open_first_notebook(classroom, ana)  # ana's server and kernel are running
            _, sessions = await ana.api("GET", "sessions")
            kernel_id = sessions[0]["kernel"]["id"]
            assert await ben.login()
            other = f"{classroom.hub.url}/user/ana"
            for path in ("lab", f"api/contents/{classroom.notebook}", "api/kernels"):
                async with ben.session.get(f"{other}/{path}", headers=hub_client.PAGE) as reply:
                    seen[path] = reply.status
            status, token = await ben.hub_api("POST", "/users/ben/tokens", json={"note": "test"})
            assert status == 201
            auth = {"Authorization": f"token {token['token']}"}
            async with ben.session.get(f"{other}/api/contents", headers=auth, allow_redirects=False) as reply:
                seen["api with ben's token"] = reply.status
            for method in ("GET", "POST", "DELETE"):
                path = "/users/ana" if method == "GET" else "/users/ana/server"
                seen[f"hub {method} {path}"] = (await ben.hub_api(method, path, json={}))[0]
            ws_url = f"{other}/api/kernels/{kernel_id}/channels".replace("http", "ws", 1)
            try:
                ws = await ben.session.ws_connect(ws_url, origin=classroom.hub.url)
                await ws.close()
                seen["kernel websocket"] = "connected"
            except Exception as error:  # aiohttp's handshake error: the server refused
                seen["kernel websocket"] = type(error).__name__
            status, _ = await ana.api("GET", "sessions")  # ana's server is still hers and running
            seen["ana still served"] = status
            await kernel.close()
        finally:
            await ana.close()
            await ben.close()
        return seen

    seen = run(attack())
    assert seen == {
        "lab": 403,
        f"api/contents/{classroom.notebook}": 403,
        "api/kernels": 403,
        "api with ben's token": 403,
        "hub GET /users/ana": 404,
        "hub POST /users/ana/server": 404,
        "hub DELETE /users/ana/server": 404,
        "kernel websocket": "WSServerHandshakeError",
        "ana still served": 200,
    }, seen


def test_every_process_listens_on_loopback_only(classroom: Classroom) -> None:
    """The hub, the proxy (public and API ports), a student's server and its kernel: 127.0.0.1 only."""
    import psutil

    async def open_kernel() -> None:
        ben = classroom.student("ben")
        try:
            kernel = await _open_first_notebook(classroom, ben)
            await kernel.close()  # the kernel keeps running in ben's server
        finally:
            await ben.close()

    run(open_kernel())
    listening: dict[str, set[str]] = {}
    for process in classroom.hub.processes():
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                listening.setdefault(hub.Hub.kind(process), set()).add(connection.laddr.ip)
    assert {"hub", "proxy", "server", "kernel"} <= listening.keys(), listening
    assert all(addresses == {"127.0.0.1"} for addresses in listening.values()), listening


def test_idle_servers_and_left_kernels_are_culled(classroom: Classroom) -> None:
    """jupyterhub-idle-culler runs as the hub's service and may list the users (its role's scopes);
    each student's server runs its kernel culler for kernels whose tab was closed."""
    commands = {hub.Hub.kind(p): " ".join(p.cmdline()) for p in classroom.hub.processes()}
    assert f"--timeout={classroom.settings.cull_idle}" in commands["culler"]
    assert f"--MappingKernelManager.cull_idle_timeout={classroom.settings.kernel_cull_idle}" in commands["server"]
    calls = re.findall(r"(\d{3}) (\w+ \S+) \(idle-culler@127\.0\.0\.1\)", classroom.log.read_text(errors="replace"))
    assert ("200", "GET /hub/api/users?state=[secret]") in calls
    assert {status for status, _ in calls} == {"200"}, calls  # no call refused


def test_no_password_in_the_repository_the_state_or_the_logs(classroom: Classroom) -> None:
    """The generated passwords are only in the handout (0600, outside the repository): not in git's
    files (tracked or not), the state folder (hashes, database, homes) or the hub's log, which holds
    the proxy's and every student server's output too. Runs after the log-ins above."""
    passwords = list(classroom.passwords.values())
    assert classroom.log.stat().st_size > 10_000  # the log really has the servers' output
    handout = classroom.handout.read_text(encoding="utf-8")
    assert all(p in handout for p in passwords)
    assert stat.S_IMODE(classroom.handout.stat().st_mode) == 0o600
    assert not classroom.handout.resolve().is_relative_to(ROOT)

    found = subprocess.run(
        ["git", "-C", str(ROOT), "grep", "--untracked", "-l", "-F", *(a for p in passwords for a in ("-e", p))],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1 and found.stdout == "", found.stdout  # 1: no match
    for path in [classroom.log, *Path(classroom.settings.state).rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert not [p for p in passwords if p.encode() in data], path


# --- nbgitpuller's merge rules across a restart ---------------------------------------------


def test_a_students_edit_survives_a_new_commit_and_a_restart_of_the_hub(classroom: Classroom) -> None:
    """ana edits notebook 01; the repository gets a commit changing that notebook too, and a new file;
    the hub is stopped and started again (the launcher keeps her password); her next pull merges:
    her edit stays, the new file and the other change arrive."""
    edit = "# ana's own note: w moves the loss\n"

    async def edit_notebook() -> None:
        ana = classroom.student("ana")
        try:
            assert await ana.login()
            await ana.start_server()
            await ana.get("lab")
            status, model = await ana.api("GET", f"contents/{classroom.notebook}")
            cells = model["content"]["cells"]
            first = next(c for c in cells if c["cell_type"] == "code")
            first["source"] = edit + first["source"]
            body = {"type": "notebook", "format": "json", "content": model["content"]}
            status, _ = await ana.api("PUT", f"contents/{classroom.notebook}", json=body)
            assert status == 200
        finally:
            await ana.close()

    run(edit_notebook())
    notebook = classroom.repo / hub.first_notebook()
    upstream = json.loads(notebook.read_text(encoding="utf-8"))
    upstream["cells"][-1]["source"] = ["# 老师的更正 / the teacher's correction\n", *upstream["cells"][-1]["source"]]
    notebook.write_text(json.dumps(upstream, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (classroom.repo / "notebooks" / "02-new.md").write_text("下一课 / next lesson\n", encoding="utf-8")
    git(classroom.repo, "add", ".")
    git(classroom.repo, "commit", "-q", "-m", "teacher: a correction and a new file")

    classroom.hub.stop()
    again, settings = hub.prepare(
        Path(classroom.settings.state), STUDENTS, TEACHER, classroom.repo.as_uri()
    )  # make hub, run twice
    assert again == {}  # no password changes
    settings.port, settings.hub_port, settings.proxy_api_port = (
        classroom.settings.port,
        classroom.settings.hub_port,
        classroom.settings.proxy_api_port,
    )
    classroom.hub.settings = settings
    classroom.hub.start()

    async def pull_again() -> tuple[list[str], dict[str, object]]:
        ana = classroom.student("ana")
        try:
            kernel = await _open_first_notebook(classroom, ana)  # the default URL's pull, after the restart
            await kernel.close()
            _, model = await ana.api("GET", f"contents/{classroom.notebook}")
            status, new = await ana.api("GET", f"contents/{hub.TARGET}/notebooks/02-new.md")
            assert status == 200, new
            return [c["source"] for c in model["content"]["cells"]], new
        finally:
            await ana.close()

    sources, new = run(pull_again())
    assert any(s.startswith(edit) for s in sources)
    assert sources[-1].startswith("# 老师的更正 / the teacher's correction\n")
    assert new["content"] == "下一课 / next lesson\n"


# --- the launcher's pieces -------------------------------------------------------------------


def test_doctests_of_the_launcher_and_the_authenticator() -> None:
    for module in (hub, classlist_auth):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failed == 0, module.__name__


def test_class_list_comments_and_bad_names(tmp_path: Path) -> None:
    path = tmp_path / "class.txt"
    path.write_text("# 二班 / class 2\n\nzhang.san\nli_si   # 组长\nwang-fang2\n", encoding="utf-8")
    assert hub.read_class_list(path) == ["zhang.san", "li_si", "wang-fang2"]
    for bad, why in [
        ("Zhang.San", "不能用作账号"),
        ("张三", "不能用作账号"),
        ("a b", "不能用作账号"),
        ("li.si\nli.si", "两次"),
    ]:
        path.write_text(bad + "\n", encoding="utf-8")
        with pytest.raises(hub.HubError, match=why) as error:
            hub.read_class_list(path)
        assert "What to do" in str(error.value)


def test_passwords_are_kept_added_reset_and_forgotten(tmp_path: Path) -> None:
    hashes = tmp_path / "password-hashes.json"
    first = hub.update_passwords(hashes, ["ana", "ben"])
    assert sorted(first) == ["ana", "ben"] and first["ana"] != first["ben"]
    assert stat.S_IMODE(hashes.stat().st_mode) == 0o600
    stored = classlist_auth.read_hashes(hashes)
    assert classlist_auth.verify_password(first["ana"], stored["ana"])
    assert first["ana"] not in hashes.read_text()

    assert hub.update_passwords(hashes, ["ana", "ben"]) == {}  # run twice: nothing changes
    assert classlist_auth.read_hashes(hashes) == stored
    added = hub.update_passwords(hashes, ["ana", "ben", "cai"])
    assert list(added) == ["cai"]
    reset = hub.update_passwords(hashes, ["ana", "cai"], reset=("ana",))  # ben left the class
    assert list(reset) == ["ana"] and reset["ana"] != first["ana"]
    assert sorted(classlist_auth.read_hashes(hashes)) == ["ana", "cai"]
    with pytest.raises(hub.HubError, match="不在名单里"):
        hub.update_passwords(hashes, ["ana", "cai"], reset=("zoe",))


def test_the_handout_is_written_once_outside_the_repository(tmp_path: Path) -> None:
    handout = tmp_path / "passwords.txt"
    hub.write_handout(handout, {"ana": "abcd-efgh-jkmn"}, "http://127.0.0.1:8000/hub/login", TEACHER)
    assert "ana" in handout.read_text(encoding="utf-8") and stat.S_IMODE(handout.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):  # never overwritten
        hub.write_handout(handout, {"ana": "other"}, "", TEACHER)
    with pytest.raises(hub.HubError, match="在仓库里面"):
        hub.write_handout(ROOT / "passwords.txt", {"ana": "x"}, "", TEACHER)
    assert not (ROOT / "passwords.txt").exists()


def test_the_authenticator_checks_the_hash_file(tmp_path: Path) -> None:
    hashes = tmp_path / "password-hashes.json"
    passwords = hub.update_passwords(hashes, ["ana", "ben"])
    auth = classlist_auth.ClassListAuthenticator(password_file=str(hashes))

    def login(name: str, password: str) -> str | None:
        return run(auth.authenticate(None, {"username": name, "password": password}))

    assert login("ana", passwords["ana"]) == "ana"
    assert login("ANA", passwords["ana"]) == "ana"  # JupyterHub's names are lower-case
    assert login("ana", passwords["ben"]) is None
    assert login("zoe", passwords["ana"]) is None
    assert login("ana", "") is None
    hub.update_passwords(hashes, ["ana", "ben"], reset=("ana",))  # a reset applies without a restart
    assert login("ana", passwords["ana"]) is None
    assert not classlist_auth.verify_password("x", "scrypt$bad")
    assert not classlist_auth.verify_password("x", "md5$1$2$3$4$5")
