"""A page's live banner (the data is stale, the release closed or was deleted), drawn in the browser."""

from __future__ import annotations

from ..live.channel import Channel
from ..live.element import LiveElement


class LiveBanner(LiveElement, component="live_banner.js"):
    """The ``banner`` lines (``[[kind, text], …]``) of the channel's shared meta."""

    def __init__(self, channel: Channel, seq: int, meta: dict[str, object]) -> None:
        super().__init__(channel, seq)
        self.share(meta=meta)
        self.classes("w-full").mark("live-banner")

    @property
    def lines(self) -> list[list[str]]:
        """The lines shown (the server's copy)."""
        return list(self.shared("meta").get("banner", []))
