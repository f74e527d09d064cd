"""The live pages' runtime: one per app, installed by :func:`install` and reached with :func:`hub`.

It keeps the shared page models (one :class:`LiveRelease` per watched release, one :class:`LiveReleaseList`), the
tabs' :class:`LiveTab` objects, and one background task for all of them: every SWEEP_SECONDS it catches up tabs that
drained their sockets and disconnects tabs whose sockets stayed backed up; every HEARTBEAT_SECONDS it sends each
channel's freshness (when the data was last confirmed with Temporal), so clocks on pages move without a timer per
tab and a page whose heartbeat stops sees its data go stale by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger
from nicegui import Client, app

from ...core.config import Settings
from ...core.tasks import cancel_and_wait
from ...runtime.metrics import ConsoleMetrics, Figure
from . import transport
from .channel import Channel
from .guard import RefusedMessages, guard_socket_events
from .tab import LiveTab
from .ticker import Ticker

if TYPE_CHECKING:
    from ...readpath.mirror import ReleaseMirror
    from ...readpath.release_list import ReleaseList
    from .list_model import LiveReleaseList
    from .release_model import LiveRelease

LIVE_FIGURES = (
    Figure("ui_live_channels", "Live page channels (a release, a view of the release list) with open tabs.",
           counter=False),
    Figure("ui_live_tabs", "Open tabs subscribed to live channels.", counter=False),
    Figure("ui_live_messages_sent", "Live messages sent to tabs (one encoded message, queued per tab)."),
    Figure("ui_live_catch_ups", "Catch-up messages: a tab that was hidden, slow or reconnecting got the latest state."),
    Figure("ui_live_left_behind", "Messages a tab did not get at once (hidden, not reading, reconnecting)."),
    Figure("ui_tabs_dropped", "Page connections dropped because they took no data for UI_TAB_DROP_SECONDS."),
    Figure("ui_socket_messages_refused", "Page sockets closed for sending what no page sends."),
)
SWEEP_SECONDS = 1.0
HEARTBEAT_SECONDS = 2.0
STATE_KEY = "release_console_live"


@dataclass
class DroppedTabs:
    """Tabs disconnected because their sockets stayed backed up (for /metrics)."""

    count: int = 0


class LiveHub:
    """Shared page models, tabs, and the one task that serves them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ticker = Ticker(settings.ACCOUNTS_REFRESH_SECONDS)
        """Every open page's session check (ui/auth.py), one task for all."""
        self.drop_after = settings.UI_TAB_DROP_SECONDS
        self.tabs: dict[str, LiveTab] = {}
        self.releases: dict[str, LiveRelease] = {}
        self.release_list: LiveReleaseList | None = None
        self.dropped = DroppedTabs()
        self._stalled_since: dict[int, float] = {}
        """Page connections that stopped taking writes, by id, since when."""
        self.retired: Counter[str] = Counter()
        """Counters of channels that closed (their tabs all left), kept for /metrics."""
        self.refused = RefusedMessages()
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live pages")
        self.ticker.start()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.ticker.stop()
        for model in list(self.releases.values()):
            model.close()
        self.releases.clear()
        if self.release_list is not None:
            self.release_list.close()
            self.release_list = None

    # ---- tabs and models ------------------------------------------------------------------------------------------
    def tab(self, client: Client) -> LiveTab:
        """The live side of ``client`` (created on first use)."""
        tab = self.tabs.get(client.id)
        if tab is None:
            tab = self.tabs[client.id] = LiveTab(client, self.forget_tab)
        return tab

    def forget_tab(self, tab: LiveTab) -> None:
        self.tabs.pop(tab.id, None)

    def release(self, mirror: ReleaseMirror) -> LiveRelease:
        """The shared page model of a mirrored release (a new one when the registry replaced the mirror)."""
        from .release_model import LiveRelease

        model = self.releases.get(mirror.release_id)
        if model is None or model.mirror is not mirror:
            if model is not None:
                model.close()
            model = self.releases[mirror.release_id] = LiveRelease(mirror, on_idle=self._release_idle)
        return model

    def _release_idle(self, model: LiveRelease) -> None:
        """The last tab of a release left: stop following its mirror (it may then be reaped as idle)."""
        if self.releases.get(model.release_id) is model:
            del self.releases[model.release_id]
        model.close()
        self.retire(model.channel)

    def retire(self, channel: Channel) -> None:
        """A channel closed: keep its counts for /metrics."""
        self.retired.update(vars(channel.counters))

    def list_model(
        self, source: ReleaseList, temporal_url: Callable[[str], str | None], show_types: bool = False
    ) -> LiveReleaseList:
        """The shared model of the release list page (``show_types``: rows name their workflow type)."""
        from .list_model import LiveReleaseList

        if self.release_list is None or self.release_list.source is not source:
            if self.release_list is not None:
                self.release_list.close()
            self.release_list = LiveReleaseList(source, temporal_url, on_closed=self.retire, show_types=show_types)
        return self.release_list

    def channels(self) -> Iterator[tuple[Channel, LiveRelease | LiveReleaseList]]:
        """Every channel with the model that feeds it."""
        for model in list(self.releases.values()):
            yield model.channel, model
        if self.release_list is not None:
            for channel in self.release_list.channels():
                yield channel, self.release_list

    # ---- the one task ---------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        last_heartbeat = 0.0
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            try:
                await self.sweep(now)
                if now - last_heartbeat >= HEARTBEAT_SECONDS:
                    last_heartbeat = now
                    for channel, model in self.channels():
                        await channel.broadcast(model.heartbeat(channel))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live pages: sweep failed")

    async def sweep(self, now: float) -> None:
        """Catch up drained tabs; drop page connections that took no data for UI_TAB_DROP_SECONDS.

        A tab on a channel is left behind as soon as its socket backs up (its channel stops sending to it). The drop
        looks at every page connection: one that stopped taking writes, and one whose socket engine.io gave up on
        (its pings went unanswered, NiceGUI deleted its page) while uvicorn still holds the connection and what it
        could not send. A reader that stopped reading keeps such a connection open for good otherwise."""
        for channel, _model in self.channels():
            await channel.sweep()
        open_connections = transport.websocket_connections()
        sockets = transport.socket_addresses()
        seen = {id(c) for c in open_connections}
        self._stalled_since = {k: v for k, v in self._stalled_since.items() if k in seen}
        for connection in open_connections:
            orphan = transport.address(connection) not in sockets
            if not orphan and not transport.stalled(connection):
                self._stalled_since.pop(id(connection), None)
                continue
            since = self._stalled_since.setdefault(id(connection), now)
            if now - since > self.drop_after:
                self._stalled_since.pop(id(connection), None)
                transport.abort(connection)
                self.dropped.count += 1
                why = "its socket was given up" if orphan else "it took no data"
                logger.warning("dropped a page connection from {}: {} {:.0f} s ago", _address(connection), why,
                               now - since)

    # ---- figures --------------------------------------------------------------------------------------------------
    def figures(self) -> dict[str, int]:
        """The LIVE_FIGURES, for /metrics (the counts of channels gone are kept in ``self.retired``)."""
        totals = Counter(self.retired)
        channels = tabs = 0
        for channel, _model in self.channels():
            channels += 1
            tabs += len(channel.subscribers)
            totals.update(vars(channel.counters))
        return {"ui_live_channels": channels, "ui_live_tabs": tabs, "ui_live_messages_sent": totals["sent"],
                "ui_live_catch_ups": totals["caught_up"], "ui_live_left_behind": totals["left_behind"],
                "ui_tabs_dropped": self.dropped.count, "ui_socket_messages_refused": self.refused.count}


def _address(connection: transport.Connection) -> str:
    client = getattr(connection, "client", None)
    return f"{client[0]}:{client[1]}" if client else "an unknown address"


def install(settings: Settings, metrics: ConsoleMetrics | None) -> LiveHub:
    """A fresh hub for this app start, started and stopped with the app (its figures in ``metrics``)."""
    live = LiveHub(settings)
    setattr(app.state, STATE_KEY, live)
    guard_socket_events(live.refused)
    if metrics is not None:
        metrics.add_figures(LIVE_FIGURES, live.figures)
    app.on_startup(live.start)
    app.on_shutdown(live.stop)
    return live


def hub() -> LiveHub:
    """The running app's hub."""
    live = getattr(app.state, STATE_KEY, None)
    if live is None:
        raise RuntimeError("the live pages are not installed (release_console.app.setup)")
    return live

