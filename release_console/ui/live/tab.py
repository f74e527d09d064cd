"""The live side of one open page (a NiceGUI client): the channels it joined, whether it is visible, its resumes.

The page reports its visibility (the same ``rc_visibility`` event the session keep-alive listens to) and, after a
reconnect, which message of each channel it has (``rc_resume``, sent by rc_live.js). A hidden tab is sent nothing;
shown again, or resumed, it gets one catch-up per channel.
"""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger
from nicegui import Client, background_tasks, ui
from nicegui.events import GenericEventArguments

from .channel import UNKNOWN, Channel

VISIBILITY_EVENT = "rc_visibility"
RESUME_EVENT = "rc_resume"
ASK_VISIBILITY = "emitEvent('rc_visibility', document.visibilityState)"
MAX_RESUMED_CHANNELS = 16


class LiveTab:
    """One client's channels; created by the first live component on its page (``LiveHub.tab``)."""

    def __init__(self, client: Client, on_gone: Callable[[LiveTab], None]) -> None:
        self.client = client
        self.on_gone = on_gone
        self.channels: dict[str, Channel] = {}
        self.visible = True
        """Until the page says otherwise (it is asked at once)."""
        self._connected_once = client.has_socket_connection
        client.on_connect(self._on_connect)
        client.on_delete(self._on_delete)
        with client:
            ui.on(VISIBILITY_EVENT, self._on_visibility)
            ui.on(RESUME_EVENT, self._on_resume)
            ui.run_javascript(ASK_VISIBILITY)

    @property
    def id(self) -> str:
        return self.client.id

    def join(self, channel: Channel, seq: int) -> None:
        """Receive ``channel`` from message ``seq`` on (what the page was drawn with)."""
        self.channels[channel.name] = channel
        channel.subscribe(self.id, seq).visible = self.visible

    def leave(self, channel: Channel) -> None:
        if self.channels.pop(channel.name, None) is not None:
            channel.unsubscribe(self.id)

    # ---- page events ----------------------------------------------------------------------------------------------
    def _on_visibility(self, event: GenericEventArguments) -> None:
        args = event.args
        visible = args == "visible" or args == ["visible"]
        if visible == self.visible:
            return
        self.visible = visible
        for channel in self.channels.values():
            subscriber = channel.subscribers.get(self.id)
            if subscriber is not None:
                subscriber.visible = visible
                if visible:
                    background_tasks.create(channel.catch_up_one(self.id), name=f"catch up {channel.name}")

    def _on_resume(self, event: GenericEventArguments) -> None:
        """After a reconnect the page says which message of each channel it has: catch up from there."""
        seqs = event.args
        if not isinstance(seqs, dict) or len(seqs) > MAX_RESUMED_CHANNELS:
            logger.warning("ignored a malformed resume from client {}", self.id)
            return
        for name, seq in seqs.items():
            channel = self.channels.get(name) if isinstance(name, str) else None
            if channel is None or type(seq) is not int or not -1 <= seq <= channel.seq + 1_000_000:
                continue
            background_tasks.create(channel.catch_up_one(self.id, delivered=seq), name=f"resume {name}")

    def _on_connect(self) -> None:
        """A reconnect (not the first connect): what was sent meanwhile is lost; wait for the page's resume."""
        if not self._connected_once:
            self._connected_once = True
            return
        for channel in self.channels.values():
            subscriber = channel.subscribers.get(self.id)
            if subscriber is not None:
                subscriber.delivered = UNKNOWN

    def _on_delete(self) -> None:
        for channel in list(self.channels.values()):
            self.leave(channel)
        self.on_gone(self)
