"""Browser tabs without a browser: what a NiceGUI page does over HTTP and its websocket, and nothing more.

A :class:`Browser` holds one session cookie (signed in through the real login page, as a person does it); a
:class:`Tab` opens a page the way a browser opens it: GET the page with the cookie, then connect socket.io
(``/_nicegui_ws/socket.io``, websocket transport, permessage-deflate offered as browsers do) with the query the page
itself carries (implicit handshake), answer the server's pings, and report the tab visible. Every frame the tab
receives is timed: :meth:`Tab.expect` registers a text, and the tab remembers when a frame first carried it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
MESSAGE_ID = re.compile(r'"_id":(\d+)\}\]$')
ACK_SECONDS = 3.0
"""NiceGUI's page acknowledges the messages it got this often, so the server can forget them."""
QUERY = re.compile(r"query: (\{.*?\}),\n", re.S)
SOCKET_PATH = "/_nicegui_ws/socket.io/"


def page_elements(html: str) -> dict[str, Any]:
    """The element tree a NiceGUI page embeds in its HTML."""
    match = ELEMENTS.search(html)
    if match is None:
        raise RuntimeError("no NiceGUI element tree in the page")
    return dict(json.loads(match.group(1)))


def page_query(html: str) -> dict[str, Any]:
    """The socket query a NiceGUI page carries (client id, next message id, implicit handshake)."""
    match = QUERY.search(html)
    if match is None:
        raise RuntimeError("no socket query in the page")
    text = match.group(1).replace("'", '"').replace("True", "true").replace("False", "false")
    return dict(json.loads(text))


def listeners(elements: dict[str, Any], element_id: str, event_type: str) -> list[str]:
    """The listener ids of one event of one element (the browser fires each of them)."""
    found = [str(e["listener_id"]) for e in elements[element_id].get("events", []) if e["type"] == event_type]
    if not found:
        raise KeyError(f"element {element_id} has no {event_type} listener")
    return found


def find_element(elements: dict[str, Any], tag: str, label: str) -> str:
    """The id of the first element with this tag whose label (or text) is ``label``."""
    for element_id, element in elements.items():
        if element.get("tag") == tag and label in (element.get("props", {}).get("label"), element.get("text")):
            return element_id
    raise KeyError(f"no {tag} labelled {label!r} on the page")


class Browser:
    """One browser profile: its own cookie jar, signed in as one user."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    async def sign_in(self, username: str, password: str, timeout: float = 30) -> None:
        """Log in through the real login page: type the credentials, click, follow the one-time ticket."""
        tab = Tab(self, "/login")
        await tab.open(ready_text=None, timeout=timeout)
        try:
            elements = tab.elements
            user_input = find_element(elements, "nicegui-input", "Username")
            password_input = find_element(elements, "nicegui-input", "Password")
            button = find_element(elements, "q-btn", "Log in")
            await tab.emit_event(user_input, "update:value", [json.dumps(username)])
            await tab.emit_event(password_input, "update:value", [json.dumps(password)])
            ticket = tab.expect("/login/session?ticket=")
            await tab.emit_event(button, "click", [])
            frame = await tab.wait_frame(ticket, timeout)
        finally:
            await tab.close()
        path = re.search(r'"(/login/session\?ticket=[^"]+)"', frame)
        if path is None:
            raise RuntimeError(f"no login ticket in {frame[:200]}")
        response = await self.http.get(path.group(1), follow_redirects=False)
        if response.status_code != 303:
            raise RuntimeError(f"the login ticket was refused: {response.status_code}")

    async def close(self) -> None:
        await self.http.aclose()


class Tab:
    """One open page: its HTTP load and its live websocket."""

    def __init__(self, browser: Browser, path: str, *, receive_buffer: int | None = None) -> None:
        self.browser = browser
        self.path = path
        self.receive_buffer = receive_buffer
        """A small SO_RCVBUF, for a tab that stops reading: the server's writes then back up quickly."""
        self.elements: dict[str, Any] = {}
        self.query: dict[str, Any] = {}
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.acker: asyncio.Task[None] | None = None
        self.next_message_id = 0
        self.opened_s: float | None = None
        """Seconds from the GET to the first frame carrying the page's ready text."""
        self.bytes_received = 0
        self.frames_received = 0
        self.closed_by_server = False
        self.close_reason = ""
        self.reading = asyncio.Event()
        self.reading.set()
        self._expected: dict[str, float | None] = {}
        self._frames_with: dict[str, str] = {}
        self._arrived = asyncio.Event()

    # ---- opening --------------------------------------------------------------------------------------------------
    async def open(self, *, ready_text: str | None, timeout: float = 60) -> float:
        """GET the page, connect its socket, report it visible; wait for ``ready_text`` in a frame (or the HTML)."""
        started = time.perf_counter()
        response = await self.browser.http.get(self.path, follow_redirects=False, timeout=timeout)
        if response.status_code != 200:
            raise RuntimeError(f"GET {self.path}: {response.status_code} {response.headers.get('location', '')}")
        html = response.text
        self.elements = page_elements(html)
        self.query = page_query(html)
        ready = self.expect(ready_text) if ready_text else None
        if ready is not None and ready_text in html:
            self._expected[ready] = time.perf_counter()
        await self._connect()
        if ready is not None:
            await self.wait_frame(ready, timeout)
        self.opened_s = time.perf_counter() - started
        return self.opened_s

    async def _connect(self) -> None:
        params = {**{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.query.items()},
                  "document_id": str(uuid.uuid4()), "tab_id": str(uuid.uuid4()), "EIO": "4",
                  "transport": "websocket"}
        base = urlsplit(self.browser.base_url)
        url = f"ws://{base.netloc}{SOCKET_PATH}?{urlencode(params)}"
        cookie = self.browser.cookie_header
        sock = None
        if self.receive_buffer is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (base.hostname, base.port))
        self.ws = await connect(url, additional_headers={"Cookie": cookie}, max_size=None, ping_interval=None,
                                open_timeout=60, sock=sock, max_queue=4 if sock is not None else 16)
        opening = json.loads(str(await self.ws.recv())[1:])
        if not isinstance(opening, dict) or "sid" not in opening:
            raise RuntimeError(f"unexpected engine.io opening: {opening}")
        await self.ws.send("40")
        self.reader = asyncio.create_task(self._read(), name=f"tab {self.path}")
        self.acker = asyncio.create_task(self._ack(), name=f"ack {self.path}")

    # ---- receiving ------------------------------------------------------------------------------------------------
    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                await self.reading.wait()
                text = message if isinstance(message, str) else message.decode(errors="replace")
                self.bytes_received += len(text)
                self.frames_received += 1
                if text == "2":
                    await self.ws.send("3")
                    continue
                if text == "1" or text.startswith("41"):  # engine.io close / socket.io disconnect
                    self.closed_by_server = True
                    self.close_reason = "closed by the server's socket.io"
                    return
                if text.startswith("44"):
                    raise RuntimeError(f"the socket was refused: {text}")
                if text.startswith("42") and '"update"' in text[:12]:
                    self._track_events(text)
                if (numbered := MESSAGE_ID.search(text[-24:])) is not None:
                    self.next_message_id = max(self.next_message_id, int(numbered.group(1)) + 1)
                self._match(text)
        except ConnectionClosed as exc:
            self.closed_by_server = True
            self.close_reason = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else "no close frame"

    async def _ack(self) -> None:
        """What NiceGUI's page does every ACK_SECONDS: tell the server which messages arrived."""
        while self.ws is not None:
            await asyncio.sleep(ACK_SECONDS)
            if self.reading.is_set():
                message = {"client_id": self.query["client_id"], "next_message_id": self.next_message_id}
                with contextlib.suppress(ConnectionClosed):
                    await self.ws.send("42" + json.dumps(["ack", message]))

    def _track_events(self, frame: str) -> None:
        """Keep the event listeners of updated elements (the session keep-alive adds its own after connect)."""
        if '"events"' not in frame:
            return
        with contextlib.suppress(ValueError, IndexError, KeyError):
            for element_id, element in json.loads(frame[2:])[1].items():
                if isinstance(element, dict) and "events" in element:
                    self.elements.setdefault(element_id, {})["events"] = element["events"]

    def _match(self, frame: str) -> None:
        now = time.perf_counter()
        hit = False
        for text, seen in self._expected.items():
            if seen is None and text in frame:
                self._expected[text] = now
                self._frames_with[text] = frame
                hit = True
        if hit:
            self._arrived.set()

    def expect(self, text: str) -> str:
        """Remember when a frame first carries ``text`` (from now on)."""
        self._expected.setdefault(text, None)
        return text

    def seen_at(self, text: str) -> float | None:
        """``time.perf_counter()`` when a frame first carried ``text``, or None."""
        return self._expected.get(text)

    def forget(self, texts: Iterable[str]) -> None:
        for text in texts:
            self._expected.pop(text, None)
            self._frames_with.pop(text, None)

    async def wait_frame(self, text: str, timeout: float) -> str:
        """The first frame that carried ``text`` (waits for it)."""
        deadline = time.monotonic() + timeout
        while self._expected.get(text) is None:
            if self.reader is not None and self.reader.done():
                self.reader.result()
                raise RuntimeError(f"the socket of {self.path} closed ({self.close_reason}) before {text!r} arrived")
            self._arrived.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{text!r} did not reach the tab of {self.path} within {timeout:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))
        return self._frames_with.get(text, "")

    # ---- sending --------------------------------------------------------------------------------------------------
    async def emit_event(self, element_id: str, event_type: str, args: list[str]) -> None:
        """What the browser sends when an element's event fires (``args`` JSON-encoded, as NiceGUI's JS does)."""
        assert self.ws is not None
        for listener_id in listeners(self.elements, element_id, event_type):
            message = {"id": int(element_id), "client_id": self.query["client_id"], "listener_id": listener_id,
                       "args": args}
            await self.ws.send("42" + json.dumps(["event", message]))

    async def report_visible(self, visible: bool = True, timeout: float = 10) -> bool:
        """Tell the page the tab is (not) visible, as the page's own hook does (its listener arrives with the first
        update after connect); False when the page has no such hook."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.emit_event("0", "rc_visibility", [json.dumps("visible" if visible else "hidden")])
            except KeyError:
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.05)
            else:
                return True

    def pause_reading(self) -> None:
        """Stop reading the socket (a laptop closed mid-incident): the server's writes back up."""
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    async def close(self) -> None:
        for task in (self.reader, self.acker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
