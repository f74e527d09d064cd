"""Local receivers for notifications: a webhook (Apprise's ``json://``) and an SMTP server (Apprise's ``mailto://``).

Both run in threads of their own, so they answer whatever the test's event loop is doing; the webhook can be told to
answer an error status, and be stopped and started again on the same port (a receiver that goes down and comes back).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.helpers import free_port


@dataclass
class Received:
    """One request the webhook took (accepted or not)."""

    at: float
    """time.time() when it arrived."""
    status: int
    """What the webhook answered."""
    body: dict[str, Any]
    """Apprise's JSON envelope (version, title, message, type)."""
    authorization: str | None = None

    @property
    def document(self) -> dict[str, Any]:
        """The notification's own JSON document (sent as the envelope's ``message``)."""
        return json.loads(self.body["message"])


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class Webhook:
    """``json://127.0.0.1:<port>/hook``: records every POST; ``status`` is what it answers (200 by default)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.status = 200
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, credentials: str = "", path: str = "/hook") -> str:
        return f"json://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}{path}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Webhook:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = webhook.status
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsed": raw.decode(errors="replace")}
                with webhook._lock:
                    webhook.requests.append(Received(time.time(), status, body, self.headers.get("Authorization")))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"webhook-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering (connections are refused) until :meth:`start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def delivered(self, event: str | None = None, release: str | None = None) -> list[dict[str, Any]]:
        """The documents of the requests it accepted (2xx), optionally of one event and release."""
        with self._lock:
            taken = [r for r in self.requests if 200 <= r.status < 300]
        docs = [r.document for r in taken]
        return [d for d in docs
                if (event is None or d["event"] == event) and (release is None or d["release"] == release)]

    def refused(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if not 200 <= r.status < 300]


@dataclass
class _Collect:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        message["X-Envelope-From"] = envelope.mail_from
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


class Mailbox:
    """A plain SMTP server (no TLS, no login) on 127.0.0.1 that keeps every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _Collect()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._handler.messages)

    def url(self, to: str = "rm@example.com") -> str:
        """Apprise's ``mailto://`` (not ``mailtos``: plain SMTP, no STARTTLS, no login) to this server."""
        return f"mailto://127.0.0.1:{self.port}?from=console@example.com&to={to}"

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""
