"""A live channel: what every open tab of one page view shares, sent once encoded to each of them.

A channel's model numbers its messages (``seq``) and builds them. Each subscriber (a NiceGUI client, i.e. one tab)
records the last one it was sent. A message goes, the same packet object, to every subscriber that is up to date,
visible and reading its socket; one that is not is left behind and later gets a *catch-up*: one message with the
current state of everything that changed since its last one (never every intermediate step). That happens when
the tab is shown again (a hidden tab gets nothing meanwhile), when its socket drained (a slow tab), and when the
page asks after a reconnect (messages sent to a lost socket are lost with it). A connection that takes no data for
UI_TAB_DROP_SECONDS (a setting) is dropped by the hub.

Publishing walks the subscribers in chunks and yields between them, so a crowd of tabs never holds the event loop
in one long slice: each chunk's sends are a few microseconds each, and the sockets' writers run in later slices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from . import transport

CHUNK = 50
"""Subscribers served between two yields to the event loop."""
MAX_BACKLOG = 4
"""A socket with more packets than this waiting (or whose connection stopped taking writes) is behind with its
reader: it is left behind instead of sent more."""
UNKNOWN = -2
"""A subscriber's position after a reconnect, until its page says which message it has."""

CatchUp = Callable[[int], tuple[int, bytes]]
"""``catch_up(since)``: (its number, one message) bringing a tab that has message ``since`` to the current state."""


@dataclass(eq=False, slots=True)
class Subscriber:
    """One tab on a channel."""

    client_id: str
    delivered: int
    """The last message this tab was sent (UNKNOWN after a reconnect)."""
    visible: bool = True


@dataclass
class ChannelCounters:
    """What a channel did, for /metrics."""

    sent: int = 0
    caught_up: int = 0
    left_behind: int = 0
    dropped: int = 0


@dataclass(eq=False)
class Channel:
    """The subscribers of one page view and the numbered messages they share."""

    name: str
    catch_up: CatchUp
    seq: int = 0
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    counters: ChannelCounters = field(default_factory=ChannelCounters)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # ---- subscribers ----------------------------------------------------------------------------------------------
    def subscribe(self, client_id: str, delivered: int) -> Subscriber:
        """Add a tab that shows the channel's state as of message ``delivered``."""
        subscriber = self.subscribers.get(client_id)
        if subscriber is None:
            subscriber = self.subscribers[client_id] = Subscriber(client_id, delivered)
        else:
            subscriber.delivered = delivered
        return subscriber

    def unsubscribe(self, client_id: str) -> None:
        self.subscribers.pop(client_id, None)

    # ---- sending --------------------------------------------------------------------------------------------------
    async def publish(self, seq: int, payload: bytes) -> None:
        """Send message ``seq`` to every tab that has the one before; catch up those further behind."""
        async with self._lock:
            self.seq = max(self.seq, seq)
            packet = transport.encode(payload)
            catch_ups: dict[int, tuple[int, object]] = {}
            for index, subscriber in enumerate(list(self.subscribers.values())):
                if index and index % CHUNK == 0:
                    await asyncio.sleep(0)
                if subscriber.delivered >= seq:
                    continue  # a catch-up already brought it there
                if subscriber.delivered == seq - 1:
                    if await self._send(subscriber, packet):
                        subscriber.delivered = seq
                else:
                    await self._catch_up(subscriber, catch_ups)

    async def broadcast(self, payload: bytes) -> None:
        """Send an unnumbered message (a heartbeat) to the tabs that are up to date; the others miss nothing."""
        async with self._lock:
            packet = transport.encode(payload)
            for index, subscriber in enumerate(list(self.subscribers.values())):
                if index and index % CHUNK == 0:
                    await asyncio.sleep(0)
                if subscriber.delivered >= self.seq:
                    await self._send(subscriber, packet, count=False)

    async def catch_up_one(self, client_id: str, delivered: int | None = None) -> None:
        """Bring one tab up to date now (it was shown again, or says after a reconnect which message it has)."""
        async with self._lock:
            subscriber = self.subscribers.get(client_id)
            if subscriber is None:
                return
            if delivered is not None:
                subscriber.delivered = delivered
            await self._catch_up(subscriber, {})

    async def sweep(self) -> None:
        """Look at every tab's socket: catch up those that were behind and drained."""
        async with self._lock:
            for index, subscriber in enumerate(list(self.subscribers.values())):
                if index and index % CHUNK == 0:
                    await asyncio.sleep(0)
                if not self._backed_up(subscriber) and UNKNOWN != subscriber.delivered < self.seq:
                    await self._catch_up(subscriber, {})

    @staticmethod
    def _backed_up(subscriber: Subscriber) -> bool:
        """Whether any of the tab's sockets is behind with its reader."""
        sockets = transport.engine_sockets(subscriber.client_id)
        return any(transport.backed_up(eio_sid, MAX_BACKLOG) for eio_sid in sockets)

    async def _catch_up(self, subscriber: Subscriber, cache: dict[int, tuple[int, object]]) -> None:
        if subscriber.delivered == UNKNOWN or not subscriber.visible:
            self.counters.left_behind += 1
            return
        if subscriber.delivered >= self.seq:
            return
        since = subscriber.delivered
        if since not in cache:
            seq, payload = self.catch_up(since)
            cache[since] = (seq, transport.encode(payload))
        seq, packet = cache[since]
        if await self._send(subscriber, packet, count=False):
            subscriber.delivered = seq
            self.counters.caught_up += 1

    async def _send(self, subscriber: Subscriber, packet: object, *, count: bool = True) -> bool:
        """Queue ``packet`` on the tab's sockets; False (the tab stays behind) when hidden, backed up or offline."""
        if not subscriber.visible or self._backed_up(subscriber):
            if count:
                self.counters.left_behind += 1
            return False
        sent = False
        for eio_sid in transport.engine_sockets(subscriber.client_id):
            sent = await transport.send(eio_sid, packet) or sent
        if sent and count:
            self.counters.sent += 1
        return sent
