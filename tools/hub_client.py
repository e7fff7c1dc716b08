"""A student's browser, as far as the hub can tell: the login form, cookies, the REST API, kernel websockets.

Used by tests/test_hub.py and bench/bench_classroom.py. Everything goes
through the hub's public address (the proxy): the login form with its
``_xsrf`` field, the hub API to start the server, the single-user server's
OAuth hand-shake, the nbgitpuller link, the Jupyter server REST API (with the
``X-XSRFToken`` header a page sends) and the kernel's websocket, where a
widget's slider is moved with the ``comm_msg`` a browser sends. The
websocket speaks JupyterLab 4's protocol, ``v1.kernel.websocket.jupyter.org``
(binary frames: offsets, channel, header, parent header, metadata, content),
which jupyter_server forwards to the kernel without re-encoding the messages.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import aiohttp

XSRF_FIELD = re.compile(r'name="_xsrf"\s+value="([^"]+)"')
XSRF_DATA = re.compile(r'data-xsrf="([^"]*)"')  # nbgitpuller's page hands its script the token this way
# The fetch metadata a browser sends: pages are navigations, scripts' API calls same-origin fetches.
PROTOCOL = "v1.kernel.websocket.jupyter.org"  # what JupyterLab 4 asks for
PAGE = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"}
FETCH = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}


class StudentError(RuntimeError):
    """A step of a student's session failed (what and the HTTP status or kernel error)."""


@dataclass
class Student:
    """One student's browser session on the hub at ``url`` (``http://127.0.0.1:PORT``)."""

    url: str
    name: str
    password: str
    session: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        # unsafe=True: keep cookies set by an IP address (127.0.0.1), as a browser does.
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    @property
    def server(self) -> str:
        return f"{self.url}/user/{quote(self.name)}"

    def _xsrf(self, path: str) -> str:
        """The ``_xsrf`` cookie the page at ``path`` set (hub pages: /hub/; a server: /user/<name>/)."""
        for cookie in self.session.cookie_jar:
            if cookie.key == "_xsrf" and path.startswith(cookie["path"] or "/") and cookie["path"] != "/":
                return cookie.value
        for cookie in self.session.cookie_jar:
            if cookie.key == "_xsrf":
                return cookie.value
        raise StudentError(f"{self.name}: no _xsrf cookie for {path}")

    async def login(self) -> bool:
        """Fill in and post the hub's login form; True when the hub accepts the password."""
        async with self.session.get(f"{self.url}/hub/login", headers=PAGE) as page:
            match = XSRF_FIELD.search(await page.text())
        if match is None:
            raise StudentError(f"{self.name}: the login page has no _xsrf field")
        form = {"username": self.name, "password": self.password, "_xsrf": match.group(1)}
        async with self.session.post(f"{self.url}/hub/login", data=form, headers=PAGE, allow_redirects=False) as reply:
            if reply.status != 302 or "/hub/login" in reply.headers.get("Location", "/hub/login"):
                return False
        async with self.session.get(
            f"{self.url}/hub/home", headers=PAGE
        ) as home:  # as the browser lands: a fresh _xsrf cookie
            return home.status == 200

    async def hub_api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Call the hub's REST API as the logged-in student (cookie + X-XSRFToken, as the hub's pages do)."""
        headers = {**FETCH, "X-XSRFToken": self._xsrf("/hub/")}
        async with self.session.request(method, f"{self.url}/hub/api{path}", headers=headers, **kwargs) as reply:
            text = await reply.text()
            return reply.status, json.loads(text) if text else None

    async def start_server(self, timeout: float = 120) -> None:
        """Ask the hub to start this student's server and wait until it is ready."""
        status, body = await self.hub_api("POST", f"/users/{quote(self.name)}/server", json={})
        if status not in (201, 202, 400):  # 400: already running
            raise StudentError(f"{self.name}: starting the server answered {status} {body}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.hub_api("GET", f"/users/{quote(self.name)}")
            server = (body or {}).get("servers", {}).get("", {})
            if server.get("ready"):
                return
            if status == 200 and not server.get("pending") and not server:
                raise StudentError(f"{self.name}: the server stopped while starting")
            await asyncio.sleep(0.25)
        raise StudentError(f"{self.name}: the server was not ready within {timeout:.0f} s")

    async def get(self, path: str) -> tuple[int, str]:
        """GET a page of the student's server through the proxy (following the OAuth hand-shake)."""
        async with self.session.get(f"{self.server}/{path.lstrip('/')}", headers=PAGE) as reply:
            return reply.status, await reply.text()

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Call the student's Jupyter server REST API (cookie + X-XSRFToken)."""
        headers = {**FETCH, "X-XSRFToken": self._xsrf(f"/user/{self.name}/")}
        url = f"{self.server}/api/{path.lstrip('/')}"
        async with self.session.request(method, url, headers=headers, **kwargs) as reply:
            text = await reply.text()
            return reply.status, json.loads(text) if text else None

    async def pull(self, link: str, timeout: float = 120) -> list[str]:
        """Open the nbgitpuller link (``/git-pull?...``) and run the pull its page starts; return git's output.

        The page's script reads ``git-pull/api`` (with the page's ``_xsrf``
        token) as an event stream until the phase ``finished``; an ``error``
        phase raises.
        """
        status, page = await self.get(link)
        token = XSRF_DATA.search(page)
        if status != 200 or token is None:
            raise StudentError(f"{self.name}: the nbgitpuller page answered {status}")
        query = dict(parse_qsl(urlsplit(link).query))
        query.pop("urlpath", None)
        if "targetPath" in query:  # the page's UIHandler reads both spellings, its API only "targetpath"
            query.setdefault("targetpath", query.pop("targetPath"))
        query["_xsrf"] = unquote(html.unescape(token.group(1)))
        lines: list[str] = []
        url = f"{self.server}/git-pull/api"
        wait = aiohttp.ClientTimeout(total=timeout)
        async with self.session.get(url, params=query, headers=FETCH, timeout=wait) as reply:
            async for raw in reply.content:
                line = raw.decode().strip()
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("output"):
                    lines.append(event["output"].rstrip())
                if event.get("phase") == "error":
                    raise StudentError(f"{self.name}: nbgitpuller failed: {event.get('message')}")
                if event.get("phase") == "finished":
                    return lines
        raise StudentError(f"{self.name}: nbgitpuller's stream ended before 'finished'")

    async def open_notebook(self, path: str) -> Kernel:
        """Start a kernel for the notebook at ``path`` (a session, as JupyterLab does) and connect to it."""
        body = {"path": path, "name": path.rsplit("/", 1)[-1], "type": "notebook", "kernel": {"name": "python3"}}
        status, reply = await self.api("POST", "sessions", json=body)
        if status != 201:
            raise StudentError(f"{self.name}: creating the session answered {status} {reply}")
        kernel_id = reply["kernel"]["id"]
        session_id = uuid.uuid4().hex
        ws_url = f"{self.server}/api/kernels/{kernel_id}/channels?session_id={session_id}".replace("http", "ws", 1)
        headers = {"Sec-Fetch-Mode": "websocket", "Sec-Fetch-Site": "same-origin"}
        ws = await self.session.ws_connect(
            ws_url, origin=self.url, headers=headers, protocols=(PROTOCOL,), max_msg_size=0, heartbeat=30
        )
        if ws.protocol != PROTOCOL:
            raise StudentError(f"{self.name}: the server did not accept the websocket protocol {PROTOCOL}")
        kernel = Kernel(ws, session_id, self.name)
        await kernel.wait_ready()
        return kernel


@dataclass
class Reply:
    """What one execute request produced."""

    status: str
    outputs: list[dict[str, Any]]
    error: str = ""


def encode(message: dict[str, Any]) -> bytes:
    """A message as a v1 websocket frame: the part count, the offsets (8 bytes each, little-endian), the parts."""
    parts = [message["channel"].encode()]
    parts += [json.dumps(message[key]).encode() for key in ("header", "parent_header", "metadata", "content")]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join(n.to_bytes(8, "little") for n in [len(offsets), *offsets]) + b"".join(parts)


def decode(frame: bytes) -> dict[str, Any]:
    """A v1 websocket frame as a message (binary buffers after the content are left out).

    >>> message = {"channel": "shell", "header": {"msg_id": "1"}, "parent_header": {}, "metadata": {}, "content": {}}
    >>> decode(encode(message)) == message
    True
    """
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    parts = [frame[offsets[i] : offsets[i + 1]] for i in range(min(count - 1, 5))]
    keys = ("header", "parent_header", "metadata", "content")
    return {"channel": parts[0].decode(), **{key: json.loads(part) for key, part in zip(keys, parts[1:], strict=True)}}


class Kernel:
    """A kernel's websocket (JupyterLab's v1 protocol): run cells, and move widgets as JupyterLab does."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session_id: str, user: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self.user = user
        self.comms: dict[str, dict[str, Any]] = {}  # comm id -> the widget model's state
        self._waiting: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()

    def _message(self, channel: str, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": self.user,
            "session": self.session_id,
            "date": "",
            "version": "5.3",
        }
        return {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": channel}

    async def _send(self, message: dict[str, Any]) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting[message["header"]["msg_id"]] = queue
        await self.ws.send_bytes(encode(message))
        return queue

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.BINARY:
                continue
            msg = decode(frame.data)
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "comm_open":
                self.comms[content["comm_id"]] = dict(content["data"].get("state", {}))
            elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
                self.comms.setdefault(content["comm_id"], {}).update(content["data"].get("state", {}))
            queue = self._waiting.get(msg["parent_header"].get("msg_id", ""))
            if queue is not None:
                queue.put_nowait(msg)
        for queue in self._waiting.values():  # the socket closed: wake every waiter
            queue.put_nowait({"header": {"msg_type": "closed"}, "content": {}, "channel": "closed"})

    async def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the kernel answers a kernel_info_request (it may still be starting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queue = await self._send(self._message("shell", "kernel_info_request", {}))
            try:
                while True:
                    msg = await asyncio.wait_for(queue.get(), timeout=2)
                    if msg["header"]["msg_type"] == "kernel_info_reply":
                        return
                    if msg["header"]["msg_type"] == "closed":
                        raise StudentError(f"{self.user}: the kernel's websocket closed")
            except TimeoutError:
                continue
        raise StudentError(f"{self.user}: the kernel did not answer within {timeout:.0f} s")

    async def execute(self, code: str, timeout: float = 120) -> Reply:
        """Run ``code``; return the reply status, the outputs and the error (``ename: evalue``)."""
        request = self._message("shell", "execute_request", {"code": code, "silent": False, "store_history": True})
        request["content"].update({"user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
        queue = await self._send(request)
        reply, idle, outputs, error = "", False, [], ""
        deadline = time.monotonic() + timeout
        while not (reply and idle):
            msg = await asyncio.wait_for(queue.get(), timeout=max(0.0, deadline - time.monotonic()))
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "closed":
                raise StudentError(f"{self.user}: the kernel's websocket closed")
            if kind == "execute_reply":
                reply = content["status"]
                if reply == "error":
                    error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append({"output_type": kind, **content})
        return Reply(reply, outputs, error)

    async def move(self, comm_id: str, value: float, until: set[str], timeout: float = 30) -> float:
        """Set a widget's value as the browser does; seconds until every comm in ``until`` has sent an update.

        The browser sends ``comm_msg`` with ``{"method": "update", "state":
        {"value": ...}, "buffer_paths": []}`` to the widget's comm; the
        kernel's reply updates (the explorer's picture and readout) carry this
        message as their parent.
        """
        content = {"comm_id": comm_id, "data": {"method": "update", "state": {"value": value}, "buffer_paths": []}}
        start = time.perf_counter()
        queue = await self._send(self._message("shell", "comm_msg", content))
        pending = set(until)
        deadline = time.monotonic() + timeout
        while pending:
            msg = await asyncio.wait_for(queue.get(), timeout=max(0.0, deadline - time.monotonic()))
            if msg["header"]["msg_type"] == "closed":
                raise StudentError(f"{self.user}: the kernel's websocket closed")
            if msg["header"]["msg_type"] == "comm_msg" and msg["content"]["data"].get("method") == "update":
                pending.discard(msg["content"]["comm_id"])
        return time.perf_counter() - start


def explorer_parts(kernel: Kernel, model_id: str) -> tuple[str, str, str]:
    """The comm ids of an mse explorer's ``w`` slider, its picture and its readout (from the widget states).

    The explorer is a VBox: its sliders (``_dom_classes`` ``gradlab-slider-w``, ...)
    and an HBox of two HTML widgets, the picture and the readout.
    """

    def children(comm_id: str) -> list[str]:
        return [child.removeprefix("IPY_MODEL_") for child in kernel.comms[comm_id].get("children", [])]

    parts = children(model_id)
    slider = next(c for c in parts if "gradlab-slider-w" in kernel.comms[c].get("_dom_classes", []))
    output = next(c for c in parts if kernel.comms[c].get("_model_name") == "HBoxModel")
    picture, readout = children(output)
    return slider, picture, readout
