"""One encoded message to many page sockets, through NiceGUI's socket.io server.

NiceGUI sends each tab its own messages (its outbox encodes them per tab). A live channel's messages are the same
for every tab, so they are encoded once here, as the engine.io packet of a socket.io ``rc`` event, and that one
packet object is queued on each tab's socket. Everything this module reads of python-socketio and python-engineio
is named here, and nowhere else: the sockets of a NiceGUI client (its socket.io room, named after the client id),
the engine.io socket behind one, how many packets wait in that socket's send queue, and uvicorn's connection under
it (a tab that stopped reading lets packets pile up, then its connection stops taking writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from typing import Protocol

from engineio import packet as eio_packet
from nicegui import core
from nicegui.server import Server as NiceGuiServer

EVENT = "rc"
NAMESPACE = "/"


class Connection(Protocol):
    """uvicorn's protocol object of one websocket connection, as far as this module reads it."""

    @property
    def client(self) -> tuple[str, int] | None: ...

    @property
    def writable(self) -> asyncio.Event: ...


def encode(payload: bytes) -> eio_packet.Packet:
    """The engine.io packet of the socket.io event ``rc`` carrying ``payload`` (a JSON object, already encoded)."""
    return eio_packet.Packet(eio_packet.MESSAGE, data=f'2["{EVENT}",{payload.decode()}]')


def sockets(client_id: str) -> list[tuple[str, str]]:
    """(socket.io id, engine.io id) of a NiceGUI client's live sockets (normally one; none while it reconnects)."""
    sio = core.sio
    rooms = sio.manager.rooms.get(NAMESPACE, {}) if sio is not None else {}
    if client_id not in rooms:
        return []
    return list(sio.manager.get_participants(NAMESPACE, client_id))


def engine_sockets(client_id: str) -> Iterator[str]:
    """The engine.io ids of a NiceGUI client's live sockets."""
    return (eio_sid for _sid, eio_sid in sockets(client_id))


def backed_up(eio_sid: str, max_queued: int) -> bool | None:
    """Whether a socket's reader is behind: more than ``max_queued`` packets wait in its engine.io queue, or its
    connection stopped taking writes (uvicorn pauses a connection whose unsent bytes passed the transport's high-water
    mark; engine.io's writer then waits, holding what it took from the queue). None when the socket is gone."""
    socket = core.sio.eio.sockets.get(eio_sid)
    if socket is None or socket.closed:
        return None
    if socket.queue.qsize() > max_queued:
        return True
    writable = getattr(_connection(eio_sid), "writable", None)
    return writable is not None and not writable.is_set()


def _connection(eio_sid: str) -> Connection | None:
    """uvicorn's protocol object of a socket's connection (found by the client address of its ASGI scope), or None
    (no uvicorn server: NiceGUI's simulated users)."""
    connection = _by_socket.get(eio_sid)
    if connection is None:
        scope = (core.sio.environ.get(eio_sid) or {}).get("asgi.scope") or {}
        address = tuple(scope.get("client") or ())
        connection = next((c for c in websocket_connections() if tuple(c.client or ()) == address), None)
        if connection is not None:
            _by_socket[eio_sid] = connection
    return connection


_by_socket: weakref.WeakValueDictionary[str, Connection] = weakref.WeakValueDictionary()
"""Connections already found (they go with their protocol objects)."""


def websocket_connections() -> list[Connection]:
    """uvicorn's open websocket connections (protocol objects: ``client``, ``transport``, ``writable``)."""
    server = getattr(NiceGuiServer, "instance", None)
    state = getattr(server, "server_state", None)
    if state is None:
        return []
    return [c for c in list(state.connections) if isinstance(getattr(c, "writable", None), asyncio.Event)]


def stalled(connection: Connection) -> bool:
    """Whether a connection stopped taking writes (its reader stopped reading)."""
    return not connection.writable.is_set()


def socket_addresses() -> set[tuple[object, ...]]:
    """The client addresses of the engine.io sockets still open (a connection without one is an orphan: engine.io
    gave up on it, e.g. its pings went unanswered, while uvicorn still holds it)."""
    addresses: set[tuple[object, ...]] = set()
    for eio_sid, socket in list(core.sio.eio.sockets.items()):
        scope = (core.sio.environ.get(eio_sid) or {}).get("asgi.scope") or {}
        if not socket.closed and scope.get("client"):
            addresses.add(tuple(scope["client"]))
    return addresses


def address(connection: Connection) -> tuple[object, ...]:
    """A connection's client address."""
    return tuple(getattr(connection, "client", None) or ())


def abort(connection: Connection) -> None:
    """Close a connection at once, dropping what it could not send."""
    transport = getattr(connection, "transport", None)
    if transport is not None:
        transport.abort()  # also when closing: a close waits for the unsent bytes


async def send(eio_sid: str, pkt: eio_packet.Packet) -> bool:
    """Queue ``pkt`` on one socket; False when the socket is gone."""
    socket = core.sio.eio.sockets.get(eio_sid)
    if socket is None or socket.closed:
        return False
    await socket.send(pkt)
    return True


async def drop(eio_sid: str) -> None:
    """Close a socket at once, dropping what it could not send (its reader stopped reading).

    engine.io's own close would wait for the queue to drain, and a closed TCP connection whose peer does not read
    is kept until its buffers drain, which may be never: the connection itself is aborted too.
    """
    socket = core.sio.eio.sockets.get(eio_sid)
    connection = _connection(eio_sid)
    if socket is not None and not socket.closed:
        with contextlib.suppress(Exception):
            await socket.close(wait=False, abort=True)  # NiceGUI hears the disconnect
    if connection is not None:
        abort(connection)
