"""Destinations through Apprise: one URL syntax for Slack, Teams, e-mail, webhooks, PagerDuty and the rest.

``check_url`` accepts a URL Apprise can use and this console allows (NOTIFICATION_SCHEMES) and describes it without
its secrets; ``send`` delivers one message in a worker thread and says whether a failure is worth retrying.
Apprise reports failures only through its log, so each send collects the warnings logged on its behalf
(through a context variable: Apprise sends from its own pool threads), without the URL's secret parts.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import json
import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import apprise

from ..workflows.delivery import Message

MAX_URL = 2048
WEBHOOK_SCHEMES = frozenset({"json", "jsons"})
"""Channels that get the message as a JSON document rather than text."""
_STATUS = re.compile(r"\berror=([1-5]\d\d)\b")
"""The HTTP status in Apprise's failure lines ("Failed to send … notification: Bad Request, error=400.")."""
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,19}$")
"""What a scheme looks like: only such a text is named back in an error (anything else may be part of a secret)."""
_URL_DELIMITERS = re.compile(r"[/:@?&=#;,+\s]+")
RETRYABLE_4XX = frozenset({408, 425, 429})


class InvalidChannelUrl(ValueError):
    """A URL Apprise cannot use, or one this console does not allow."""


@dataclass(frozen=True, slots=True)
class ChannelUrl:
    """A checked URL: its service, and a form that is safe to show."""

    kind: str
    masked: str


@dataclass(frozen=True, slots=True)
class SendResult:
    delivered: bool
    reason: str = ""
    permanent: bool = False


def check_url(url: object, allowed_schemes: frozenset[str]) -> ChannelUrl:
    """The URL's service and masked form; InvalidChannelUrl (never echoing the URL) when it cannot be used."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidChannelUrl("url must be a non-empty Apprise URL, for example json://hooks.example.com/path")
    url = url.strip()
    if len(url) > MAX_URL or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidChannelUrl(f"url must be one line of at most {MAX_URL} printable characters")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in allowed_schemes:
        allowed = ", ".join(sorted(allowed_schemes))
        if not _SCHEME.match(scheme):  # no scheme, or text that may hold credentials ("user:pass@host://…")
            raise InvalidChannelUrl(f"url must start with a service scheme and ://; use one of: {allowed}")
        raise InvalidChannelUrl(f"url scheme {scheme!r} is not allowed here; use one of: {allowed}")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise InvalidChannelUrl(f"Apprise cannot use this {scheme}:// URL (see https://github.com/caronc/apprise/wiki "
                                "for its form)")
    return ChannelUrl(kind=scheme, masked=_mask(plugin.url(privacy=True)))


def _mask(private_url: str) -> str:
    """Scheme, masked credentials, host and port: paths and queries often hold tokens, so they are not shown."""
    parts = urlsplit(private_url)
    shown = f"{parts.scheme}://{parts.netloc}"
    return shown + ("/…" if parts.path.strip("/") or parts.query else "")


def _shown(sender: apprise.Apprise) -> str:
    """The masked URL of the one service in ``sender`` ("" when it cannot be told: then nothing counts as shown)."""
    try:
        return _mask(sender[0].url(privacy=True))
    except (IndexError, ValueError):
        return ""


def _scrub(text: str, url: str, shown: str) -> str:
    """``text`` without the pieces of ``url`` that its masked form ``shown`` hides (passwords, tokens, paths,
    queries): some Apprise services name the address they sent to in their log lines (ntfy names its topic)."""
    visible = set(_URL_DELIMITERS.split(shown.split("://", 1)[-1]))
    pieces = {piece for raw in _URL_DELIMITERS.split(url.split("://", 1)[-1]) for piece in (raw, unquote(raw))
              if len(piece) >= 3 and piece not in visible}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "****")
    return text


class _SendLog(logging.Handler):
    """Apprise's warnings, kept apart per send while it runs: a send sets ``_collected`` and Apprise runs each
    service in its own pool thread with a copy of the caller's context, so the lines are found through it (the
    thread that logs is not the one that called ``notify``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _collected.get()
        if lines is not None:
            lines.append(record.getMessage())


_collected: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("apprise_send_lines", default=None)
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_SendLog())
_apprise_log.propagate = False  # Apprise logs whole URLs (secrets included) when it cannot parse one: never further


SEND_THREADS = 4
"""Sends at once: their own threads, so a slow receiver never holds the threads the read path decodes in."""
_sends = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="notification-send")


def internal_address(url: str) -> str | None:
    """Why ``url`` may not be used by a personal channel (its host is this machine or an internal network: a user
    must not make the console call what only it can reach), or None. Blocks: it resolves the host."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    host = getattr(plugin, "host", None) if plugin is not None else None
    if not host:
        return None  # the service's own public endpoint (Slack, Teams, PagerDuty …)
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None  # unresolvable: the send fails on its own, and retries
    for address in addresses:
        if not ipaddress.ip_address(str(address).split("%", 1)[0]).is_global:
            return ("the channel's host is an internal address; personal channels may only reach public ones "
                    "(an admin can add a shared channel, or allow it with NOTIFY_PRIVATE_ADDRESSES)")
    return None


def _send_blocking(url: str, message: Message, allow_internal: bool) -> SendResult:
    if not allow_internal:
        refusal = internal_address(url)
        if refusal is not None:
            return SendResult(False, refusal, permanent=True)
    lines: list[str] = []
    token = _collected.set(lines)
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            return SendResult(False, "the channel's URL is no longer usable", permanent=True)
        scheme = url.split("://", 1)[0].lower()
        body = json.dumps(message.document, ensure_ascii=False) if scheme in WEBHOOK_SCHEMES else message.text
        delivered = bool(sender.notify(
            body=body, title=message.title,
            notify_type=apprise.NotifyType.FAILURE if message.failure else apprise.NotifyType.INFO,
        ))
        shown = "" if delivered else _shown(sender)
    finally:
        _collected.reset(token)
    if delivered:
        return SendResult(True)
    reason = _scrub(" ".join(lines), url, shown)[-400:] or "the service did not accept the message"
    statuses = [int(s) for s in _STATUS.findall(reason)]
    permanent = any(400 <= s < 500 and s not in RETRYABLE_4XX for s in statuses)
    return SendResult(False, reason, permanent)


async def send(url: str, message: Message, *, allow_internal: bool) -> SendResult:
    """Deliver ``message`` to ``url`` on one of the send threads (Apprise blocks); ``allow_internal`` False
    refuses hosts on internal networks (checked again at each send: a name can point elsewhere later)."""
    return await asyncio.get_running_loop().run_in_executor(_sends, _send_blocking, url, message, allow_internal)
