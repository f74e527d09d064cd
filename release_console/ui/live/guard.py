"""Page sockets that send what no page sends are disconnected; the other tabs see nothing of it.

NiceGUI's socket.io handlers trust their input: a malformed message raises inside them, an event naming another
page's client is handled as that client's, an unknown element id is skipped. :func:`guard_socket_events` wraps them
(and catches every other event name): a message of the wrong shape, for a client that is not this socket's, for an
element that never existed on the page, or with a listener the element does not have, closes the sending socket
(logged and counted). An event for an element that existed but was removed meanwhile is a normal race (a click on a
row that a change just replaced): it is dropped quietly, as NiceGUI drops it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from loguru import logger
from nicegui import Client, core

from .transport import NAMESPACE, sockets

MAX_ID_LENGTH = 64
MAX_ARGS = 64
MAX_EVENT_BYTES = 64 * 1024
MAX_LOG_MESSAGE = 2000
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})
GUARDED = "_release_console_guarded"
PAGE_EVENTS = ("event", "javascript_response", "ack", "log")


@dataclass
class RefusedMessages:
    """Sockets closed for sending what no page sends (for /metrics)."""

    count: int = 0


def _is_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def _own_client(sid: str, message: object) -> Client | str:
    """The client a message names, if the sending socket belongs to it; otherwise why not."""
    if not isinstance(message, dict) or not _is_id(message.get("client_id")):
        return "not a message of a page"
    client = Client.instances.get(message["client_id"])
    if client is None:
        return "no such page"  # a page the server already forgot (not necessarily forged): see _problem
    if sid not in {own for own, _ in sockets(client.id)}:
        return "a message for another page's client"
    return client


def _problem(event: str, sid: str, args: tuple[object, ...]) -> str | None:
    """Why a page message is refused (None: it is well-formed and this socket's own)."""
    if len(args) != 1:
        return f"{event} with {len(args)} arguments"
    message = args[0]
    owner = _own_client(sid, message)
    if owner == "no such page":
        return None  # the page was deleted meanwhile: NiceGUI ignores it
    if isinstance(owner, str) or not isinstance(message, dict):  # a client: the message is a dict (_own_client)
        return owner if isinstance(owner, str) else "not a message of a page"
    if event == "event":
        element_id, listener_id, event_args = message.get("id"), message.get("listener_id"), message.get("args", [])
        if type(element_id) is not int or not _is_id(listener_id):
            return "an event without an element id or listener"
        if not isinstance(event_args, list) or len(event_args) > MAX_ARGS or not all(
            a is None or isinstance(a, str) for a in event_args
        ) or sum(len(a) for a in event_args if a) > MAX_EVENT_BYTES:
            return "an event with malformed arguments"
        element = owner.elements.get(element_id)
        if element is None:
            return "an event for an element the page never had" if element_id >= owner.next_element_id else None
        if listener_id not in element._event_listeners:
            return "an event for a listener the element does not have"
    elif event == "ack":
        if type(message.get("next_message_id")) is not int:
            return "a malformed ack"
    elif event == "log":
        if message.get("level") not in LOG_LEVELS or not isinstance(message.get("message"), str):
            return "a malformed log message"
        message["message"] = message["message"][:MAX_LOG_MESSAGE]
    elif event == "javascript_response" and not isinstance(message.get("request_id"), str):
        return "a malformed javascript response"
    return None


def guard_socket_events(refused: RefusedMessages) -> None:
    """Wrap NiceGUI's page-message handlers (idempotent: NiceGUI's test fixtures set the app up again)."""
    handlers = core.sio.handlers.setdefault(NAMESPACE, {})
    for event in PAGE_EVENTS:
        original = handlers.get(event)
        if original is None or getattr(original, GUARDED, False):
            continue
        handlers[event] = _guarded(event, original, refused)
    if not getattr(handlers.get("*"), GUARDED, False):

        async def unknown(event: str, sid: str, *_args: object) -> None:
            await _refuse(sid, f"an unknown event {str(event)[:40]!r}", refused)

        setattr(unknown, GUARDED, True)
        handlers["*"] = unknown


def _guarded(event: str, original: Callable[..., object], refused: RefusedMessages) -> Callable[..., Awaitable[object]]:
    async def handler(sid: str, *args: object) -> object:
        reason = _problem(event, sid, args)
        if reason is not None:
            await _refuse(sid, reason, refused)
            return None
        return original(sid, *args)

    setattr(handler, GUARDED, True)
    return handler


async def _refuse(sid: str, reason: str, refused: RefusedMessages) -> None:
    refused.count += 1
    logger.warning("closed a page socket that sent {}", reason)
    with contextlib.suppress(Exception):
        await core.sio.disconnect(sid)
